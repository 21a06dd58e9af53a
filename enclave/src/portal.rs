//! The citizen portal, served inside the zone. Its [`Backend`] asks the host (over
//! [`HostLink`]) for what the host keeps — index, ledger, sealed bytes, checkouts — and does
//! everything personal here: the access code is checked against the opened record, the case is
//! rendered from it, objections are processed and sealed before they leave. Sessions and
//! sign-in limits live in this process's memory. The payment provider's calls go through the
//! host, which holds the provider's keys; its webhooks go to the host's own address.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use fieldseal_core::catalogue::Offence;
use fieldseal_core::notice::PayeeConfig;
use fieldseal_core::seal::{EnclavePublicKey, VerifyingKey};
use fieldseal_core::ticket::{AccessCode, TicketNumber};
use fieldseal_core::wire::enclave::ErrorCode;
use fieldseal_portal::backend::{
    Backend, BackendError, CaseSummary, CheckoutRecord, Ledger, NewPayment, Recorded, Release,
};
use fieldseal_portal::pay::{
    Checkout, CheckoutRequest, CheckoutState, PaymentEvent, PaymentProvider, ProviderError, WebhookError,
};
use fieldseal_portal::remote::{Answer, Ask, PaymentFacts, ZoneSettings};
use fieldseal_portal::{Portal, PortalConfig};

use crate::handler::Enclave;
use crate::host_link::{HostLink, LinkError};
use crate::platform::Platform;

/// The portal's backend inside the zone.
pub struct ZoneBackend<P: Platform> {
    enclave: Arc<Enclave<P>>,
    link: Arc<HostLink>,
    payee: PayeeConfig,
    offences: HashMap<String, Offence>,
}

fn failed(e: LinkError) -> BackendError {
    match e {
        LinkError::Unavailable(m) => BackendError::Unavailable(m),
        LinkError::Remote(r) => BackendError::Internal(r.to_string()),
    }
}

fn refused(unavailable: bool, message: String) -> BackendError {
    if unavailable { BackendError::Unavailable(message) } else { BackendError::Internal(message) }
}

fn unexpected(answer: &Answer) -> BackendError {
    match answer {
        Answer::Failed { unavailable, message } => refused(*unavailable, message.clone()),
        _ => BackendError::Internal("the host answered with another kind than asked".into()),
    }
}

impl<P: Platform> ZoneBackend<P> {
    async fn ask(&self, ask: Ask) -> Result<Answer, BackendError> {
        self.link.ask(&ask, &[]).await.map(|(a, _)| a).map_err(failed)
    }

    async fn done(&self, ask: Ask, attachments: &[Vec<u8>]) -> Result<(), BackendError> {
        match self.link.ask(&ask, attachments).await.map_err(failed)?.0 {
            Answer::Done => Ok(()),
            other => Err(unexpected(&other)),
        }
    }
}

impl<P: Platform + 'static> Ledger for ZoneBackend<P> {
    async fn checkout(&self, session_id: &str) -> Result<Option<CheckoutRecord>, BackendError> {
        match self.ask(Ask::Checkout { session_id: session_id.to_owned() }).await? {
            Answer::Checkout(c) => Ok(c.filter(|c| c.session_id == session_id)),
            other => Err(unexpected(&other)),
        }
    }

    async fn record_payment(&self, payment: &NewPayment) -> Result<Recorded, BackendError> {
        match self.ask(Ask::RecordPayment { payment: PaymentFacts::from(payment) }).await? {
            Answer::Recorded(r) => Ok(r),
            other => Err(unexpected(&other)),
        }
    }
}

impl<P: Platform + 'static> Backend for ZoneBackend<P> {
    async fn summary(&self, ticket: &TicketNumber) -> Result<Option<CaseSummary>, BackendError> {
        match self.ask(Ask::Summary { ticket: ticket.clone() }).await? {
            Answer::Summary(Some(s)) if s.ticket == *ticket => Ok(Some(s)),
            Answer::Summary(Some(_)) => Err(BackendError::Internal("the host answered for another ticket".into())),
            Answer::Summary(None) => Ok(None),
            other => Err(unexpected(&other)),
        }
    }

    async fn release(&self, ticket: &TicketNumber, code: &AccessCode) -> Result<Release, BackendError> {
        let (answer, mut parts) =
            self.link.ask(&Ask::SealedCase { ticket: ticket.clone() }, &[]).await.map_err(failed)?;
        let head = match answer {
            Answer::SealedCase(Some(head)) => head,
            Answer::SealedCase(None) => return Ok(Release::Denied),
            other => return Err(unexpected(&other)),
        };
        if parts.len() != head.photos + 1 {
            return Err(BackendError::Internal("the host sent a sealed case without its parts".into()));
        }
        let envelope = parts.remove(0);
        let enclave = Arc::clone(&self.enclave);
        let code = zeroize::Zeroizing::new(code.expose().to_owned());
        // Opening and decrypting photos is CPU work: off the page threads.
        let opened =
            tokio::task::spawn_blocking(move || enclave.citizen_view(&envelope, &head.device_key, &code, &parts))
                .await
                .map_err(|_| BackendError::Internal("opening the case stopped unexpectedly".into()))?;
        match opened {
            Ok(view) if view.ticket_number == *ticket => {
                self.done(Ask::Released { ticket: ticket.clone(), photos: view.photos.len() }, &[]).await?;
                Ok(Release::Granted(Box::new(view)))
            }
            // The host answered with another ticket's envelope: never shown.
            Ok(_) => Err(BackendError::Internal("the host sent another ticket's envelope".into())),
            Err(e) if e.code == ErrorCode::AccessDenied => Ok(Release::Denied),
            Err(e) => Err(BackendError::Internal(format!("the stored case does not open: {e}"))),
        }
    }

    async fn device_key(&self, prefix: u16) -> Result<Option<VerifyingKey>, BackendError> {
        match self.ask(Ask::DeviceKey { prefix }).await? {
            Answer::DeviceKey(key) => Ok(key),
            other => Err(unexpected(&other)),
        }
    }

    async fn enclave_key(&self) -> Result<EnclavePublicKey, BackendError> {
        Ok(self.enclave.public_key())
    }

    async fn checkouts(&self, ticket: &TicketNumber) -> Result<Vec<CheckoutRecord>, BackendError> {
        match self.ask(Ask::Checkouts { ticket: ticket.clone() }).await? {
            Answer::Checkouts(list) => Ok(list.into_iter().filter(|c| c.ticket == *ticket).collect()),
            other => Err(unexpected(&other)),
        }
    }

    async fn insert_checkout(&self, checkout: &CheckoutRecord) -> Result<(), BackendError> {
        self.done(Ask::InsertCheckout { checkout: checkout.clone() }, &[]).await
    }

    async fn record_objection(
        &self,
        ticket: &TicketNumber,
        sealed: Vec<u8>,
        at_ms: i64,
    ) -> Result<Recorded, BackendError> {
        match self.link.ask(&Ask::RecordObjection { ticket: ticket.clone(), at_ms }, &[sealed]).await.map_err(failed)?.0
        {
            Answer::Recorded(r) => Ok(r),
            other => Err(unexpected(&other)),
        }
    }

    fn payee(&self) -> &PayeeConfig {
        &self.payee
    }

    fn offence(&self, code: &str) -> Option<Offence> {
        self.offences.get(code).cloned()
    }
}

/// The payment provider as the zone reaches it: through the host. Its calls block (the portal
/// runs them on blocking threads), so each waits on the zone's runtime for the host's answer.
struct HostProvider {
    name: String,
    origin: String,
    link: Arc<HostLink>,
    runtime: tokio::runtime::Handle,
}

impl HostProvider {
    fn ask(&self, ask: Ask) -> Result<Answer, ProviderError> {
        self.runtime
            .block_on(self.link.ask(&ask, &[]))
            .map(|(a, _)| a)
            .map_err(|e| ProviderError::Unreachable(e.to_string()))
    }
}

impl PaymentProvider for HostProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn checkout_origin(&self) -> String {
        self.origin.clone()
    }

    fn create_checkout(&self, req: &CheckoutRequest) -> Result<Checkout, ProviderError> {
        match self.ask(Ask::CreateCheckout { request: req.clone() })? {
            Answer::Created(c) => Ok(c),
            Answer::Provider(e) => Err(e),
            _ => Err(ProviderError::BadAnswer("the host answered with another kind than asked".into())),
        }
    }

    fn checkout_state(&self, session_id: &str) -> Result<CheckoutState, ProviderError> {
        match self.ask(Ask::CheckoutState { session_id: session_id.to_owned() })? {
            Answer::State(s) if s.session_id == session_id => Ok(s),
            Answer::Provider(e) => Err(e),
            _ => Err(ProviderError::BadAnswer("the host answered with another kind than asked".into())),
        }
    }

    fn verify_webhook(&self, _: Option<&str>, _: &[u8], _: i64) -> Result<PaymentEvent, WebhookError> {
        Err(WebhookError::BadPayload("webhooks go to the host's address, which holds the provider's secret".into()))
    }

    fn signature_header_name(&self) -> &'static str {
        "x-unused"
    }
}

/// Asks the host for the portal's settings, waiting for it to connect.
pub async fn settings(link: &HostLink) -> ZoneSettings {
    let mut pause = Duration::from_millis(20);
    loop {
        match link.ask(&Ask::Settings, &[]).await {
            Ok((Answer::Settings(s), _)) => return *s,
            Ok((other, _)) => eprintln!("fieldseal-enclave: the host answered settings with {:?}", unexpected(&other)),
            Err(e) => eprintln!("fieldseal-enclave: waiting for the host's settings: {e}"),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

/// The citizen pages over `link`, with the host's `settings`.
pub fn router<P: Platform + 'static>(
    enclave: Arc<Enclave<P>>,
    link: Arc<HostLink>,
    settings: ZoneSettings,
) -> axum::Router {
    let provider = settings.provider.map(|p| {
        Arc::new(HostProvider {
            name: p.name,
            origin: p.checkout_origin,
            link: Arc::clone(&link),
            runtime: tokio::runtime::Handle::current(),
        }) as Arc<dyn PaymentProvider>
    });
    let backend = ZoneBackend {
        enclave,
        link,
        payee: settings.payee,
        offences: settings.offences.into_iter().map(|o| (o.code.clone(), o)).collect(),
    };
    let portal = Portal::new(
        Arc::new(backend),
        provider,
        PortalConfig {
            idle: Duration::from_secs(settings.idle_secs.clamp(1, 24 * 3600)),
            public_base_url: settings.public_base_url,
            ..PortalConfig::default()
        },
    );
    fieldseal_portal::router(portal)
}
