//! The process-wide budget of memory for photos decoded at once, in bytes. Every decode
//! reserves its estimated peak before it allocates a pixel and gives it back when done; when
//! the budget is spent, further decodes wait. Device, portal and tests all go through
//! [`super::process`], so all of them are bound by it.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use super::PhotoError;

/// The budget a process starts with: three 12-MP photos of a ticket at once (about 25 MB
/// each), or one large progressive JPEG, but never hundreds of megabytes.
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

/// Reserves `bytes`, waiting while other decodes hold the budget. Refuses at once what could
/// never fit.
pub(crate) fn reserve(bytes: u64) -> Result<Grant, PhotoError> {
    let mut s = lock();
    loop {
        if bytes > s.capacity {
            return Err(PhotoError::MemoryLimit);
        }
        if s.in_use.saturating_add(bytes) <= s.capacity {
            s.in_use += bytes;
            return Ok(Grant { bytes });
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
/// pixels are resized) and the output stages. Refuses what is over the per-photo limit.
pub(crate) fn reserve_for(decoder: u64, output: u64, max_alloc: u64) -> Result<(Grant, Grant), PhotoError> {
    let total = decoder.saturating_add(output);
    if total > max_alloc {
        return Err(PhotoError::MemoryLimit);
    }
    let whole = reserve(total)?;
    // Split the one reservation so the decoder's part goes back early, without a second wait.
    let bytes = whole.bytes;
    std::mem::forget(whole);
    Ok((Grant { bytes: bytes - output }, Grant { bytes: output }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reservation_over_the_whole_budget_is_refused_and_others_wait_their_turn() {
        let capacity = decode_budget_bytes();
        assert_eq!(reserve(capacity + 1).err(), Some(PhotoError::MemoryLimit));
        assert_eq!(reserve_for(10, 10, 15).err(), Some(PhotoError::MemoryLimit), "per-photo limit");
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
        drop(held);
        rx.recv_timeout(std::time::Duration::from_secs(10)).expect("let in after release");
        waiter.join().expect("no panic");
    }
}
