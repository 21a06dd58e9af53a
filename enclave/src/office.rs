//! The back office, served inside the zone. Its backend asks the host (over [`HostLink`]) for
//! what the host keeps — ledger, bank entries, clerk accounts, the audit log, sealed bytes — and
//! opens here, with the zone's key, what a clerk asks for with a purpose. Statements are parsed
//! here, so payer names, accounts and remittance text reach the host only sealed. Sessions and
//! sign-in limits live in this process's memory.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use fieldseal_core::catalogue::Offence;
use fieldseal_core::payer::BankDetails;
use fieldseal_core::seal::{EnclavePublicKey, VerifyingKey};
use fieldseal_core::ticket::TicketNumber;
use fieldseal_core::vault::VaultKey;
use fieldseal_core::wire::enclave::CaseView;
use fieldseal_office::store::{OfficeAnswer, OfficeAsk, StoreError};
use fieldseal_office::web::backend::{OfficeBackend, OpenedObjection};
use fieldseal_office::web::{Office, OfficeConfig};
use fieldseal_portal::remote::{Answer, Ask, ZoneSettings};

use crate::handler::Enclave;
use crate::host_link::{HostLink, LinkError};
use crate::platform::Platform;

/// The office's backend inside the zone.
pub struct ZoneOffice<P: Platform> {
    enclave: Arc<Enclave<P>>,
    link: Arc<HostLink>,
    offences: HashMap<String, Offence>,
    authority_name: String,
    authority_key: Option<VerifyingKey>,
    vault: VaultKey,
}

fn failed(e: LinkError) -> StoreError {
    match e {
        LinkError::Unavailable(m) => StoreError::Unavailable(m),
        LinkError::Remote(r) => StoreError::Internal(r.to_string()),
    }
}

/// Runs a CPU-bound opening off the page threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, String> + Send + 'static) -> Result<T, String> {
    tokio::task::spawn_blocking(f).await.map_err(|_| "opening stopped unexpectedly".to_owned())?
}

impl<P: Platform + 'static> OfficeBackend for ZoneOffice<P> {
    async fn ask(&self, ask: OfficeAsk, attachments: Vec<Vec<u8>>) -> Result<(OfficeAnswer, Vec<Vec<u8>>), StoreError> {
        self.link.exchange(&ask, &attachments).await.map_err(failed)
    }

    async fn open_case(&self, ticket: &TicketNumber, purpose: &str, actor: &str) -> Result<Option<CaseView>, String> {
        let (answer, mut parts) =
            self.link.ask(&Ask::SealedCase { ticket: ticket.clone() }, &[]).await.map_err(|e| e.to_string())?;
        let head = match answer {
            Answer::SealedCase(Some(head)) => head,
            Answer::SealedCase(None) => return Ok(None),
            Answer::Failed { message, .. } => return Err(message),
            _ => return Err("the host answered with another kind than asked".into()),
        };
        if parts.len() != head.photos + 1 {
            return Err("the host sent a sealed case without its parts".into());
        }
        let envelope = parts.remove(0);
        let (enclave, purpose, actor) = (Arc::clone(&self.enclave), purpose.to_owned(), actor.to_owned());
        blocking(move || {
            enclave
                .clerk_view(&envelope, &head.device_key, &purpose, &actor, &parts)
                .map(Some)
                .map_err(|e| e.to_string())
        })
        .await
    }

    async fn open_objection(
        &self,
        ticket: &TicketNumber,
        sealed: Vec<u8>,
        purpose: &str,
        actor: &str,
    ) -> Result<OpenedObjection, String> {
        let (enclave, ticket, purpose, actor) =
            (Arc::clone(&self.enclave), ticket.clone(), purpose.to_owned(), actor.to_owned());
        blocking(move || {
            let o = enclave.clerk_objection(&ticket, &sealed, &purpose, &actor).map_err(|e| e.to_string())?;
            Ok((o.statement, o.photo))
        })
        .await
    }

    fn open_bank_details(
        &self,
        entry_key: &str,
        sealed: Vec<u8>,
        purpose: &str,
        actor: &str,
    ) -> Result<BankDetails, String> {
        self.enclave.clerk_bank_details(entry_key, &sealed, purpose, actor).map_err(|e| e.to_string())
    }

    fn enclave_key(&self) -> EnclavePublicKey {
        self.enclave.public_key()
    }

    fn offence(&self, code: &str) -> Option<Offence> {
        self.offences.get(code).cloned()
    }

    fn authority_name(&self) -> &str {
        &self.authority_name
    }

    fn authority_key(&self) -> Option<VerifyingKey> {
        self.authority_key
    }

    fn vault(&self) -> &VaultKey {
        &self.vault
    }
}

/// The office pages over `link`, with the host's `settings`; `authority` is the key this zone
/// pinned (the first administrator's statement must carry its signature).
pub fn router<P: Platform + 'static>(
    enclave: Arc<Enclave<P>>,
    link: Arc<HostLink>,
    settings: &ZoneSettings,
    authority: Option<VerifyingKey>,
) -> axum::Router {
    let vault = enclave.vault_key();
    let backend = ZoneOffice {
        enclave,
        link,
        offences: settings.offences.iter().map(|o| (o.code.clone(), o.clone())).collect(),
        authority_name: settings.payee.name.clone(),
        authority_key: authority,
        vault,
    };
    let config = OfficeConfig { idle: Duration::from_secs(settings.idle_secs.clamp(1, 24 * 3600)) };
    fieldseal_office::web::router(Office::new(backend, config))
}
