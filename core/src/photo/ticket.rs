//! The photos of one ticket on all cores: decode first, finish as threads come free, and pixel
//! buffers handed on from photo to photo.

use std::sync::{Mutex, PoisonError};

use fast_image_resize::Resizer;
use zeroize::Zeroize;

use super::budget::Wait;
use super::{
    Decoded, PhotoError, PhotoSettings, ProcessedPhoto, StageTimes, decode_and_finish, decode_stage, finish_stage,
};

/// Runs the pipeline on the photos of one case in parallel, on as many threads as the platform
/// has cores (at most one per photo). Each photo is decoded, then finished (resized, turned,
/// encoded, hashed); a free thread decodes the next photo first, so three photos on two cores
/// take about two decodes and two finishes rather than two whole photos. A decode that would
/// have to wait for memory gives way to finishing a decoded photo, which gives memory back; it
/// waits only when there is nothing to finish, so the threads never all wait on each other.
/// Every decode still reserves its memory from the process-wide budget. Pixel buffers are handed
/// from one photo to the next, zeroized in between, so later photos do not fault in fresh pages
/// (two threads faulting at once slow each other). Results keep the order.
pub fn process_all(inputs: &[&[u8]], settings: &PhotoSettings) -> Vec<Result<ProcessedPhoto, PhotoError>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(inputs.len());
    let buffers = Buffers::default();
    if threads <= 1 {
        let mut resizer = Resizer::new();
        let mut times = StageTimes::default();
        return inputs
            .iter()
            .map(|input| decode_and_finish(input, settings, Some(&buffers), &mut resizer, &mut times))
            .collect();
    }
    let queue = Mutex::new(Queue {
        to_decode: (0..inputs.len()).collect(),
        decoded: Vec::new(),
        results: inputs.iter().map(|_| None).collect(),
    });
    let lock = || queue.lock().unwrap_or_else(PoisonError::into_inner);
    let work = || {
        let mut gave_way = false;
        let mut resizer = Resizer::new();
        loop {
            let task = {
                let mut q = lock();
                let finish = if gave_way || q.to_decode.is_empty() { q.decoded.pop() } else { None };
                if let Some(d) = finish {
                    Task::Finish(d)
                } else if !q.to_decode.is_empty() {
                    let i = q.to_decode.remove(0);
                    // With a photo waiting to be finished, a decode must not wait for memory.
                    Task::Decode(i, if q.decoded.is_empty() { Wait::Yes } else { Wait::No })
                } else {
                    return;
                }
            };
            gave_way = false;
            let mut times = StageTimes::default();
            match task {
                Task::Decode(i, wait) => match decode_stage(inputs[i], settings, wait, Some(&buffers), &mut times) {
                    Ok(Some(d)) => lock().decoded.push((i, d)),
                    Ok(None) => {
                        lock().to_decode.insert(0, i);
                        gave_way = true;
                    }
                    Err(e) => lock().results[i] = Some(Err(e)),
                },
                Task::Finish((i, d)) => {
                    let done = finish_stage(inputs[i], d, settings, Some(&buffers), &mut resizer, &mut times);
                    lock().results[i] = Some(done);
                }
            }
        }
    };
    std::thread::scope(|s| {
        let helpers: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
        work();
        for h in helpers {
            // A panicking helper is a bug in a decoder: let it surface here as it would have
            // without threads.
            h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        }
    });
    let results = queue.into_inner().unwrap_or_else(PoisonError::into_inner).results;
    results.into_iter().map(|r| r.unwrap_or(Err(PhotoError::Encode))).collect()
}

/// What the threads of [`process_all`] share.
struct Queue {
    /// Photos not decoded yet, in order.
    to_decode: Vec<usize>,
    /// Decoded photos waiting to be finished.
    decoded: Vec<(usize, Decoded)>,
    /// Each photo's result, once there is one.
    results: Vec<Option<Result<ProcessedPhoto, PhotoError>>>,
}

/// One step of [`process_all`].
enum Task {
    Decode(usize, Wait),
    Finish((usize, Decoded)),
}

/// Zeroized pixel buffers the photos of one ticket hand on to each other: at most
/// [`MAX_HELD`], freed when the ticket is done. They are memory the budget has been given back
/// for, so a ticket may hold up to that many pixel buffers beyond it while it runs.
#[derive(Default)]
pub(super) struct Buffers(Mutex<Vec<Vec<u8>>>);

/// Most buffers [`Buffers`] keeps: a decoded and a resized picture for each of two photos.
const MAX_HELD: usize = 4;

/// A buffer of `len` zero bytes: the smallest one `buffers` holds that is large enough, or a new
/// one.
pub(super) fn take(buffers: Option<&Buffers>, len: usize) -> Vec<u8> {
    let found = buffers.and_then(|b| {
        let mut held = b.0.lock().unwrap_or_else(PoisonError::into_inner);
        let best = held.iter().enumerate().filter(|(_, v)| v.capacity() >= len).min_by_key(|(_, v)| v.capacity())?.0;
        Some(held.swap_remove(best))
    });
    let mut v = found.unwrap_or_default();
    v.resize(len, 0);
    v
}

/// Zeroizes `v` and hands it to `buffers` for the next photo (or frees it).
pub(super) fn give(buffers: Option<&Buffers>, mut v: Vec<u8>) {
    v.zeroize();
    if let Some(b) = buffers {
        let mut held = b.0.lock().unwrap_or_else(PoisonError::into_inner);
        if held.len() < MAX_HELD {
            held.push(v);
        }
    }
}
