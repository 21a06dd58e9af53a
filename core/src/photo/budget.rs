//! The process-wide budget of memory for photos decoded at once, in bytes. Every decode
//! reserves its estimated peak before it allocates a pixel and gives it back when done; when
//! the budget is spent, further decodes wait. Device, portal and tests all go through
//! [`super::process`], so all of them are bound by it.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use super::PhotoError;

/// The budget a process starts with: three 12-MP photos of a ticket at once (about 43 MB each
/// at the default long edge), or one large progressive JPEG, but never hundreds of megabytes.
pub const DEFAULT_DECODE_BUDGET_BYTES: u64 = 128 << 20;

struct State {
    capacity: u64,
    in_use: u64,
}

struct Budget {
    state: Mutex<State>,
    freed: Condvar,
}

static BUDGET: Budget =
    Budget { state: Mutex::new(State { capacity: DEFAULT_DECODE_BUDGET_BYTES, in_use: 0 }), freed: Condvar::new() };

fn lock() -> MutexGuard<'static, State> {
    BUDGET.state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The bytes all photos decoded at once may take, together.
pub fn decode_budget_bytes() -> u64 {
    lock().capacity
}

/// Sets the bytes all photos decoded at once may take, together (a server with many cores and
/// little memory may lower it). A photo that needs more than the whole budget is refused.
pub fn set_decode_budget_bytes(bytes: u64) {
    lock().capacity = bytes;
    BUDGET.freed.notify_all();
}

/// Bytes reserved from the budget; given back when dropped.
#[must_use = "the reservation ends when this is dropped"]
pub(crate) struct Grant {
    bytes: u64,
}

/// Whether a reservation waits while other decodes hold the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// Wait until the bytes are free.
    Yes,
    /// Answer `None` at once when they are not (the caller has other work to do first).
    No,
}

/// Reserves `bytes`, waiting while other decodes hold the budget. Refuses at once what could
/// never fit.
#[cfg(test)]
fn reserve(bytes: u64) -> Result<Grant, PhotoError> {
    reserve_if(bytes, Wait::Yes)?.ok_or(PhotoError::MemoryLimit)
}

/// Reserves `bytes`, waiting while other decodes hold the budget unless `wait` is [`Wait::No`]
/// (then `None` when they are not free now). Refuses at once what could never fit.
fn reserve_if(bytes: u64, wait: Wait) -> Result<Option<Grant>, PhotoError> {
    let mut s = lock();
    loop {
        if bytes > s.capacity {
            return Err(PhotoError::MemoryLimit);
        }
        if s.in_use.saturating_add(bytes) <= s.capacity {
            s.in_use += bytes;
            return Ok(Some(Grant { bytes }));
        }
        if wait == Wait::No {
            return Ok(None);
        }
        s = BUDGET.freed.wait(s).unwrap_or_else(PoisonError::into_inner);
    }
}

impl Drop for Grant {
    fn drop(&mut self) {
        if self.bytes > 0 {
            let mut s = lock();
            s.in_use = s.in_use.saturating_sub(self.bytes);
            drop(s);
            BUDGET.freed.notify_all();
        }
    }
}

/// Bytes one photo will need at most, in two parts: the decoder's buffers (given back once the
/// pixels are resized) and the output stages. Refuses what is over the per-photo limit; `None`
/// when the bytes are not free now and `wait` is [`Wait::No`].
pub(crate) fn reserve_for(
    decoder: u64,
    output: u64,
    max_alloc: u64,
    wait: Wait,
) -> Result<Option<(Grant, Grant)>, PhotoError> {
    let total = decoder.saturating_add(output);
    if total > max_alloc {
        return Err(PhotoError::MemoryLimit);
    }
    let Some(whole) = reserve_if(total, wait)? else { return Ok(None) };
    // Split the one reservation so the decoder's part goes back early, without a second wait.
    let bytes = whole.bytes;
    std::mem::forget(whole);
    Ok(Some((Grant { bytes: bytes - output }, Grant { bytes: output })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reservation_over_the_whole_budget_is_refused_and_others_wait_their_turn() {
        let capacity = decode_budget_bytes();
        assert_eq!(reserve(capacity + 1).err(), Some(PhotoError::MemoryLimit));
        assert_eq!(reserve_for(10, 10, 15, Wait::Yes).err(), Some(PhotoError::MemoryLimit), "per-photo limit");
        // Other tests may hold part of the budget meanwhile: take what is left in small steps
        // until a request would have to wait, then show that it does, and is let in on release.
        let held = reserve(capacity / 2).expect("half fits when nothing else is in flight for long");
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let g = reserve(capacity / 2 + 1).expect("fits once the first half is back");
            tx.send(()).expect("main thread waits");
            drop(g);
        });
        assert!(rx.recv_timeout(std::time::Duration::from_millis(200)).is_err(), "must wait while half is held");
        // Asked not to wait, the same request answers at once that the bytes are busy.
        assert!(reserve_for(capacity / 2 + 1, 0, u64::MAX, Wait::No).expect("could fit").is_none());
        drop(held);
        rx.recv_timeout(std::time::Duration::from_secs(10)).expect("let in after release");
        waiter.join().expect("no panic");
    }
}
