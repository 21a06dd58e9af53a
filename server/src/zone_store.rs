//! The host's side of the zone's store line: the host dials the zone's store socket, keeps a
//! few connections open, and answers what the zone's pages ask of its storage — index, ledger,
//! sealed bytes, checkouts, payments, sealed objections, the payment provider's calls, and the
//! back office's questions ([`crate::office_store`]). It
//! never receives an access code or anything opened: it answers by ticket number and keeps
//! what it is given sealed.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use fieldseal_portal::backend::{BackendError, Ledger as _};
use fieldseal_portal::pay::PaymentProvider;
use fieldseal_portal::remote::{Answer, Ask, SealedCaseHead, ZoneSettings, decode, encode, read_frame, write_frame};
use tokio::net::UnixStream;

use crate::db::NewEntry;
use crate::portal::ServerPortal;
use crate::relay::{Relay, now_ms};

/// Connections the host keeps open to the zone (each carries one exchange at a time).
pub const CONNECTIONS: usize = 32;

/// An ask on the line: the portal's or the office's (their names differ).
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum LineAsk {
    Portal(Ask),
    Office(fieldseal_office::store::OfficeAsk),
}

/// What answering needs.
pub struct StoreService {
    relay: Arc<Relay>,
    portal: ServerPortal,
    provider: Option<Arc<dyn PaymentProvider>>,
    settings: ZoneSettings,
}

fn failed(e: BackendError) -> Answer {
    match e {
        BackendError::Unavailable(m) => Answer::Failed { unavailable: true, message: m },
        BackendError::Internal(m) => {
            tracing::error!(detail = %m, "answering the zone failed");
            Answer::Failed { unavailable: false, message: "the host failed; its log has the details".into() }
        }
    }
}

impl StoreService {
    /// A service over `relay`, answering settings with `settings`.
    pub fn new(relay: Arc<Relay>, provider: Option<Arc<dyn PaymentProvider>>, settings: ZoneSettings) -> Arc<Self> {
        let portal = ServerPortal::new(Arc::clone(&relay));
        Arc::new(Self { relay, portal, provider, settings })
    }

    /// Keeps [`CONNECTIONS`] connections to the zone's store socket open for ever, dialling
    /// again after one closes or fails.
    pub fn run(self: &Arc<Self>, socket: PathBuf) -> Vec<tokio::task::JoinHandle<()>> {
        (0..CONNECTIONS)
            .map(|_| {
                let (this, socket) = (Arc::clone(self), socket.clone());
                tokio::spawn(async move {
                    let mut pause = Duration::from_millis(20);
                    loop {
                        match UnixStream::connect(&socket).await {
                            Ok(stream) => {
                                pause = Duration::from_millis(20);
                                this.serve(stream).await;
                            }
                            Err(e) => tracing::debug!(error = %e, "the zone's store socket does not answer yet"),
                        }
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(Duration::from_secs(2));
                    }
                })
            })
            .collect()
    }

    async fn serve(&self, mut stream: UnixStream) {
        loop {
            let payload = match read_frame(&mut stream).await {
                Ok(Some(p)) => p,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "the zone's store line broke");
                    return;
                }
            };
            let reply = match decode::<LineAsk>(&payload) {
                Ok((LineAsk::Portal(ask), parts)) => {
                    let (answer, parts) = self.answer(ask, parts).await;
                    encode(&answer, &parts)
                }
                Ok((LineAsk::Office(ask), parts)) => {
                    let (answer, parts) = crate::office_store::answer(&self.relay.db, &self.portal, ask, parts).await;
                    encode(&answer, &parts)
                }
                Err(e) => encode(
                    &Answer::Failed { unavailable: false, message: format!("the host cannot read that: {e}") },
                    &[],
                ),
            };
            if write_frame(&mut stream, &reply).await.is_err() {
                return;
            }
        }
    }

    async fn answer(&self, ask: Ask, mut parts: Vec<Vec<u8>>) -> (Answer, Vec<Vec<u8>>) {
        let p = &self.portal;
        let answer = match ask {
            Ask::Settings => Answer::Settings(Box::new(self.settings.clone())),
            Ask::Summary { ticket } => p.summary(&ticket).await.map_or_else(failed, Answer::Summary),
            Ask::SealedCase { ticket } => return self.sealed_case(&ticket).await,
            Ask::DeviceKey { prefix } => p.device_key(prefix).await.map_or_else(failed, Answer::DeviceKey),
            Ask::Checkouts { ticket } => p.checkouts(&ticket).await.map_or_else(failed, Answer::Checkouts),
            Ask::Checkout { session_id } => p.checkout(&session_id).await.map_or_else(failed, Answer::Checkout),
            Ask::InsertCheckout { checkout } => {
                p.insert_checkout(&checkout).await.map_or_else(failed, |()| Answer::Done)
            }
            Ask::RecordPayment { payment } => match payment.to_new_payment() {
                Some(payment) => p.record_payment(&payment).await.map_or_else(failed, Answer::Recorded),
                None => Answer::Failed { unavailable: false, message: "a payment method is online or transfer".into() },
            },
            Ask::RecordObjection { ticket, at_ms } => match (parts.len(), parts.pop()) {
                (1, Some(sealed)) => {
                    p.record_objection(&ticket, sealed, at_ms).await.map_or_else(failed, Answer::Recorded)
                }
                _ => Answer::Failed { unavailable: false, message: "an objection is one sealed attachment".into() },
            },
            Ask::Released { ticket, photos } => {
                // Every release of personal data is on the audit log, the citizen's own included.
                let detail = serde_json::json!({ "photos": photos });
                let entry = NewEntry {
                    at_ms: now_ms(),
                    actor: "citizen",
                    action: "personal_data.released",
                    subject: ticket.digits(),
                    detail: &detail,
                };
                match self.relay.db.audit(&entry).await {
                    Ok(_) => Answer::Done,
                    Err(e) => failed(BackendError::Internal(e.to_string())),
                }
            }
            Ask::CreateCheckout { request } => {
                self.provider_call(move |pr| pr.create_checkout(&request).map(Answer::Created)).await
            }
            Ask::CheckoutState { session_id } => {
                self.provider_call(move |pr| pr.checkout_state(&session_id).map(Answer::State)).await
            }
        };
        (answer, vec![])
    }

    async fn sealed_case(&self, ticket: &fieldseal_core::ticket::TicketNumber) -> (Answer, Vec<Vec<u8>>) {
        let case = match self.relay.db.sealed_case(ticket).await {
            Ok(Some(case)) => case,
            Ok(None) => return (Answer::SealedCase(None), vec![]),
            Err(e) => return (failed(BackendError::Internal(e.to_string())), vec![]),
        };
        let blobs = match self.relay.sealed_photos(case.envelope_id, case.photo_count).await {
            Ok(b) => b,
            Err(e) => return (failed(BackendError::Internal(e)), vec![]),
        };
        let head = SealedCaseHead { device_key: case.device_key, photos: blobs.len() };
        let mut parts = Vec::with_capacity(1 + blobs.len());
        parts.push(case.envelope);
        parts.extend(blobs);
        (Answer::SealedCase(Some(head)), parts)
    }

    async fn provider_call(
        &self,
        f: impl FnOnce(&dyn PaymentProvider) -> Result<Answer, fieldseal_portal::pay::ProviderError> + Send + 'static,
    ) -> Answer {
        let Some(provider) = self.provider.clone() else {
            return Answer::Failed { unavailable: false, message: "no payment provider is configured".into() };
        };
        match tokio::task::spawn_blocking(move || f(provider.as_ref())).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => Answer::Provider(e),
            Err(_) => failed(BackendError::Internal("a provider call stopped unexpectedly".into())),
        }
    }
}
