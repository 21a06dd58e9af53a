//! Webhook delivery: each event posted, signed, to the configured URL until it answers 2xx.
//!
//! Runs in a background task per event: waits the configured delay, then tries up to
//! [`MAX_ATTEMPTS`] times with doubling pauses (0.5 s, 1 s, 2 s, …). Every attempt is signed
//! afresh (a new timestamp) and carries the same event id, so the receiver can deduplicate.

use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use super::wire::{Event, SIGNATURE_HEADER};
use crate::pay::webhook;

/// Attempts per event before giving up.
pub const MAX_ATTEMPTS: u32 = 8;
/// Pause after the first failed attempt; doubles after each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Each attempt's whole HTTP exchange.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and how events are sent.
pub struct Delivery {
    url: String,
    secret: Zeroizing<Vec<u8>>,
    delay: Duration,
    agent: ureq::Agent,
}

impl Delivery {
    pub fn new(url: String, secret: Zeroizing<Vec<u8>>, delay: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(ATTEMPT_TIMEOUT))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .new_agent();
        Delivery { url, secret, delay, agent }
    }

    /// Sends `event` in the background (needs a tokio runtime).
    pub fn schedule(self: &Arc<Self>, event: Event) {
        let this = Arc::clone(self);
        tokio::spawn(async move { this.deliver(event).await });
    }

    async fn deliver(self: Arc<Self>, event: Event) {
        let body = match serde_json::to_vec(&event) {
            Ok(body) => Arc::new(body),
            Err(e) => {
                tracing::error!(event = %event.id, "cannot serialize webhook event: {e}");
                return;
            }
        };
        tokio::time::sleep(self.delay).await;
        let mut pause = FIRST_BACKOFF;
        for attempt in 1..=MAX_ATTEMPTS {
            let this = Arc::clone(&self);
            let body = Arc::clone(&body);
            let outcome = tokio::task::spawn_blocking(move || this.post(&body)).await;
            match outcome {
                Ok(Ok(status)) if (200..300).contains(&status) => {
                    tracing::info!(event = %event.id, attempt, status, "webhook delivered");
                    return;
                }
                Ok(Ok(status)) => tracing::warn!(event = %event.id, attempt, status, "webhook answered with an error"),
                Ok(Err(e)) => tracing::warn!(event = %event.id, attempt, "webhook not delivered: {e}"),
                Err(e) => tracing::error!(event = %event.id, attempt, "webhook task failed: {e}"),
            }
            if attempt < MAX_ATTEMPTS {
                tokio::time::sleep(pause).await;
                pause = pause.saturating_mul(2);
            }
        }
        tracing::warn!(event = %event.id, "webhook given up after {MAX_ATTEMPTS} attempts");
    }

    /// One attempt, signed now; the answer's status.
    fn post(&self, body: &[u8]) -> Result<u16, ureq::Error> {
        let header = webhook::sign(&self.secret, now_s(), body);
        let mut response = self
            .agent
            .post(&self.url)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, &header)
            .send(body)?;
        // Read (a bounded part of) the answer so the connection can be reused.
        let _ = response.body_mut().with_config().limit(64 * 1024).read_to_vec();
        Ok(response.status().as_u16())
    }
}

fn now_s() -> i64 {
    super::now_ms().div_euclid(1000)
}
