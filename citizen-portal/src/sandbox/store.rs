//! The sandbox's ledger in memory: checkout sessions, idempotency keys and charges.
//!
//! Pure state changes with the clock passed in; the HTTP layer holds it behind a mutex, so a
//! check-then-charge is one step and a double submit cannot charge twice.

use std::collections::HashMap;

use super::wire::{Charge, CreateSession, EVENT_CHECKOUT_COMPLETED, Event, EventData, Session, SessionStatus};
use crate::pay::SESSION_ID_PLACEHOLDER;

/// How long a session can be paid.
pub const SESSION_TTL_MS: i64 = 30 * 60 * 1000;

/// The test card that pays.
pub const CARD_OK: &str = "4242424242424242";
/// The test card that is declined.
pub const CARD_DECLINED: &str = "4000000000000002";

/// One checkout session with everything given at creation.
#[derive(Clone)]
pub struct StoredSession {
    pub id: String,
    pub request: CreateSession,
    pub expires_at_ms: i64,
    state: State,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    Paid { at_ms: i64 },
    Cancelled,
}

impl StoredSession {
    /// The status at `now_ms` (an open session past its expiry is expired).
    pub fn status(&self, now_ms: i64) -> SessionStatus {
        match self.state {
            State::Open if now_ms >= self.expires_at_ms => SessionStatus::Expired,
            State::Open => SessionStatus::Open,
            State::Paid { .. } => SessionStatus::Paid,
            State::Cancelled => SessionStatus::Cancelled,
        }
    }

    pub fn paid_at_ms(&self) -> Option<i64> {
        match self.state {
            State::Paid { at_ms } => Some(at_ms),
            _ => None,
        }
    }

    /// `success_url` with the session id in place of the placeholder.
    pub fn success_url(&self) -> String {
        self.request.success_url.replace(SESSION_ID_PLACEHOLDER, &self.id)
    }

    /// The API's view; `base` is the sandbox's own `http://host:port`.
    pub fn to_wire(&self, base: &str, now_ms: i64) -> Session {
        Session {
            id: self.id.clone(),
            url: format!("{base}/pay/{}", self.id),
            status: self.status(now_ms),
            reference: self.request.reference.clone(),
            amount_cents: self.request.amount_cents,
            currency: self.request.currency.clone(),
            paid_at_ms: self.paid_at_ms(),
            expires_at_ms: self.expires_at_ms,
        }
    }
}

/// A create call reused an idempotency key with a different body.
#[derive(Debug, PartialEq, Eq)]
pub struct IdempotencyConflict;

/// What paying a session did.
pub enum PayOutcome {
    NotFound,
    /// Money was taken now; send the webhook, then the browser to `success_url`.
    Charged {
        success_url: String,
        event: Event,
    },
    /// Paid before: nothing charged now; the browser goes to `success_url` again.
    AlreadyPaid {
        success_url: String,
    },
    /// Cancelled or expired; cannot be paid.
    Closed {
        session: Box<StoredSession>,
        status: SessionStatus,
    },
    /// The test card for "declined": nothing charged.
    Declined {
        session: Box<StoredSession>,
    },
    /// Not a test card number: nothing charged.
    InvalidCard {
        session: Box<StoredSession>,
    },
}

/// The ledger.
#[derive(Default)]
pub struct Store {
    sessions: HashMap<String, StoredSession>,
    /// Idempotency key -> (the request it came with, the session it made).
    idempotency: HashMap<String, (CreateSession, String)>,
    charges: Vec<Charge>,
}

impl Store {
    /// Creates a session, or returns the one this key made before (`true`: a replay).
    /// `new_id` is used only when a session is created.
    pub fn create(
        &mut self,
        idempotency_key: &str,
        request: CreateSession,
        now_ms: i64,
        new_id: String,
    ) -> Result<(&StoredSession, bool), IdempotencyConflict> {
        let (id, replayed) = match self.idempotency.get(idempotency_key) {
            Some((earlier, id)) if *earlier == request => (id.clone(), true),
            Some(_) => return Err(IdempotencyConflict),
            None => {
                self.idempotency.insert(idempotency_key.to_owned(), (request.clone(), new_id.clone()));
                let session = StoredSession {
                    id: new_id.clone(),
                    request,
                    expires_at_ms: now_ms.saturating_add(SESSION_TTL_MS),
                    state: State::Open,
                };
                self.sessions.insert(new_id.clone(), session);
                (new_id, false)
            }
        };
        // Inserted above or recorded with its key: always present.
        self.sessions.get(&id).map(|s| (s, replayed)).ok_or(IdempotencyConflict)
    }

    pub fn get(&self, id: &str) -> Option<&StoredSession> {
        self.sessions.get(id)
    }

    /// Pays session `id` with `card` (spaces and dashes ignored). Charges at most once per session.
    pub fn pay(&mut self, id: &str, card: &str, now_ms: i64, charge_id: String, event_id: String) -> PayOutcome {
        let Some(session) = self.sessions.get_mut(id) else {
            return PayOutcome::NotFound;
        };
        match session.status(now_ms) {
            SessionStatus::Paid => return PayOutcome::AlreadyPaid { success_url: session.success_url() },
            status @ (SessionStatus::Cancelled | SessionStatus::Expired) => {
                return PayOutcome::Closed { session: Box::new(session.clone()), status };
            }
            SessionStatus::Open => {}
        }
        let digits: String = card.chars().filter(|c| *c != ' ' && *c != '-').collect();
        if digits == CARD_DECLINED {
            return PayOutcome::Declined { session: Box::new(session.clone()) };
        }
        if digits != CARD_OK {
            return PayOutcome::InvalidCard { session: Box::new(session.clone()) };
        }
        session.state = State::Paid { at_ms: now_ms };
        let request = &session.request;
        self.charges.push(Charge {
            id: charge_id,
            session_id: session.id.clone(),
            amount_cents: request.amount_cents,
            reference: request.reference.clone(),
            at_ms: now_ms,
        });
        let event = Event {
            id: event_id,
            kind: EVENT_CHECKOUT_COMPLETED.to_owned(),
            data: EventData {
                session_id: session.id.clone(),
                reference: request.reference.clone(),
                amount_cents: request.amount_cents,
                currency: request.currency.clone(),
                paid_at_ms: now_ms,
            },
        };
        PayOutcome::Charged { success_url: session.success_url(), event }
    }

    /// Cancels an open session; returns where the browser goes (`None`: no such session).
    /// A paid session stays paid and sends the browser to its success page.
    pub fn cancel(&mut self, id: &str, now_ms: i64) -> Option<String> {
        let session = self.sessions.get_mut(id)?;
        Some(match session.status(now_ms) {
            SessionStatus::Open => {
                session.state = State::Cancelled;
                session.request.cancel_url.clone()
            }
            SessionStatus::Paid => session.success_url(),
            SessionStatus::Cancelled | SessionStatus::Expired => session.request.cancel_url.clone(),
        })
    }

    pub fn charges(&self) -> &[Charge] {
        &self.charges
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000;

    fn request(amount_cents: u64) -> CreateSession {
        CreateSession {
            reference: "20260001".to_owned(),
            amount_cents,
            currency: "EUR".to_owned(),
            description: "Traffic ticket".to_owned(),
            success_url: "http://portal.test/paid?session={CHECKOUT_SESSION_ID}".to_owned(),
            cancel_url: "http://portal.test/cancelled".to_owned(),
        }
    }

    fn open(store: &mut Store, key: &str, id: &str) {
        store.create(key, request(2500), NOW, id.to_owned()).expect("created");
    }

    fn pay(store: &mut Store, id: &str, card: &str, now_ms: i64) -> PayOutcome {
        store.pay(id, card, now_ms, format!("ch_{now_ms}"), format!("evt_{now_ms}"))
    }

    #[test]
    fn same_key_same_body_returns_the_same_session() {
        let mut store = Store::default();
        let (first, replayed) = store.create("k1", request(2500), NOW, "cs_a".to_owned()).expect("created");
        assert_eq!((first.id.as_str(), replayed), ("cs_a", false));
        let (again, replayed) = store.create("k1", request(2500), NOW + 5, "cs_b".to_owned()).expect("replayed");
        assert_eq!((again.id.as_str(), replayed), ("cs_a", true));
        assert!(store.get("cs_b").is_none());
    }

    #[test]
    fn same_key_other_body_is_a_conflict() {
        let mut store = Store::default();
        open(&mut store, "k1", "cs_a");
        assert!(store.create("k1", request(2600), NOW, "cs_b".to_owned()).is_err());
        assert!(store.get("cs_b").is_none());
    }

    #[test]
    fn test_card_pays_once() {
        let mut store = Store::default();
        open(&mut store, "k1", "cs_a");
        match pay(&mut store, "cs_a", "4242 4242 4242 4242", NOW + 1) {
            PayOutcome::Charged { success_url, event } => {
                assert_eq!(success_url, "http://portal.test/paid?session=cs_a");
                assert_eq!(event.data.paid_at_ms, NOW + 1);
                assert_eq!(event.kind, EVENT_CHECKOUT_COMPLETED);
            }
            _ => panic!("expected a charge"),
        }
        assert!(matches!(pay(&mut store, "cs_a", CARD_OK, NOW + 2), PayOutcome::AlreadyPaid { .. }));
        assert_eq!(store.charges().len(), 1);
        let session = store.get("cs_a").expect("present");
        assert_eq!(session.status(NOW + SESSION_TTL_MS * 2), SessionStatus::Paid);
        assert_eq!(session.paid_at_ms(), Some(NOW + 1));
    }

    #[test]
    fn declined_and_invalid_cards_charge_nothing() {
        let mut store = Store::default();
        open(&mut store, "k1", "cs_a");
        assert!(matches!(pay(&mut store, "cs_a", "4000-0000-0000-0002", NOW), PayOutcome::Declined { .. }));
        assert!(matches!(pay(&mut store, "cs_a", "4242", NOW), PayOutcome::InvalidCard { .. }));
        assert!(matches!(pay(&mut store, "cs_a", "", NOW), PayOutcome::InvalidCard { .. }));
        assert!(store.charges().is_empty());
        assert_eq!(store.get("cs_a").expect("present").status(NOW), SessionStatus::Open);
    }

    #[test]
    fn expired_session_cannot_be_paid() {
        let mut store = Store::default();
        open(&mut store, "k1", "cs_a");
        let later = NOW + SESSION_TTL_MS;
        assert!(matches!(
            pay(&mut store, "cs_a", CARD_OK, later),
            PayOutcome::Closed { status: SessionStatus::Expired, .. }
        ));
        assert!(store.charges().is_empty());
    }

    #[test]
    fn cancelled_session_cannot_be_paid() {
        let mut store = Store::default();
        open(&mut store, "k1", "cs_a");
        assert_eq!(store.cancel("cs_a", NOW).as_deref(), Some("http://portal.test/cancelled"));
        assert!(matches!(
            pay(&mut store, "cs_a", CARD_OK, NOW),
            PayOutcome::Closed { status: SessionStatus::Cancelled, .. }
        ));
        assert!(store.charges().is_empty());
    }

    #[test]
    fn cancelling_a_paid_session_keeps_it_paid() {
        let mut store = Store::default();
        open(&mut store, "k1", "cs_a");
        assert!(matches!(pay(&mut store, "cs_a", CARD_OK, NOW), PayOutcome::Charged { .. }));
        assert_eq!(store.cancel("cs_a", NOW).as_deref(), Some("http://portal.test/paid?session=cs_a"));
        assert_eq!(store.get("cs_a").expect("present").status(NOW), SessionStatus::Paid);
    }

    #[test]
    fn unknown_session() {
        let mut store = Store::default();
        assert!(matches!(pay(&mut store, "cs_x", CARD_OK, NOW), PayOutcome::NotFound));
        assert_eq!(store.cancel("cs_x", NOW), None);
    }
}
