//! A case opened for one signed-in session, kept in memory while that session lives, so that
//! looking at the case again does not fetch and decrypt it again. Inside the sealed zone this
//! memory is the zone's; nothing of it is written anywhere. All sessions together keep at most
//! [`BUDGET`] bytes of opened cases: past it, a page opens the case for that request only, as
//! before.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use fieldseal_core::wire::enclave::CaseView;

/// Most bytes of opened cases (their photos, mostly) kept for all sessions together.
pub const BUDGET: usize = 256 << 20;

/// An opened case, counted against the budget until the last session copy drops it.
pub struct OpenedCase {
    view: CaseView,
    bytes: usize,
    held: Option<Arc<AtomicUsize>>,
}

impl OpenedCase {
    /// The case kept for a session, if the budget `held` (bytes kept now) has room for it.
    pub fn keep(view: CaseView, held: &Arc<AtomicUsize>) -> Option<Arc<Self>> {
        let bytes = size_of(&view);
        held.fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| now.checked_add(bytes).filter(|n| *n <= BUDGET))
            .ok()?;
        Some(Arc::new(Self { view, bytes, held: Some(Arc::clone(held)) }))
    }

    /// The case for one request only (not counted, not kept).
    pub fn for_request(view: CaseView) -> Arc<Self> {
        Arc::new(Self { view, bytes: 0, held: None })
    }
}

fn size_of(view: &CaseView) -> usize {
    view.photos.iter().map(|p| p.len()).sum::<usize>() + 4096
}

impl std::ops::Deref for OpenedCase {
    type Target = CaseView;

    fn deref(&self) -> &CaseView {
        &self.view
    }
}

impl Drop for OpenedCase {
    fn drop(&mut self) {
        if let Some(held) = &self.held {
            held.fetch_sub(self.bytes, Ordering::AcqRel);
        }
    }
}
