//! A case draft and the step that turns it into a sealed envelope plus the notice.

use std::fmt;

use zeroize::Zeroize;

use crate::catalogue::Catalogue;
use crate::domain::{CaptureError, ObservedAt, Place, Vehicle, check_notes};
use crate::notice::{EpcError, EpcTransfer, Notice, NoticeClaim, NoticeOffence, PayeeConfig, portal_link};
use crate::photo::ProcessedPhoto;
use crate::seal::{self, EnclavePublicKey, SealRequest, SealedCase, SigningKey};
use crate::ticket::{AccessCode, TicketNumber};
use crate::wire::envelope::{Id16, MAX_PHOTOS};
use crate::wire::record::{CaseRecord, ChargedOffence, MAX_OFFENCES, PhotoMeta, RECORD_FORMAT};

/// Everything an officer has captured for one case, before sealing. Plaintext: it lives only
/// in memory and (encrypted) in the device store's draft table, and is zeroized when sealed.
#[derive(Clone, PartialEq)]
pub struct CaseDraft {
    /// The vehicle.
    pub vehicle: Vehicle,
    /// Offence codes from the catalogue.
    pub offence_codes: Vec<String>,
    /// The place.
    pub place: Place,
    /// The time.
    pub observed_at: ObservedAt,
    /// Officer notes (may be empty).
    pub notes: String,
    /// Photos after the pipeline.
    pub photos: Vec<ProcessedPhoto>,
}

impl fmt::Debug for CaseDraft {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaseDraft")
            .field("offence_codes", &self.offence_codes)
            .field("photos", &self.photos.len())
            .field("personal_data", &"<redacted>")
            .finish()
    }
}

impl Drop for CaseDraft {
    fn drop(&mut self) {
        self.notes.zeroize();
        // Vehicle and place zeroize themselves; photos are `Zeroizing` buffers.
    }
}

impl CaseDraft {
    /// Checks the draft against the catalogue; returns the charged offences.
    pub fn validate(&self, catalogue: &Catalogue) -> Result<Vec<ChargedOffence>, CaptureError> {
        if self.offence_codes.is_empty() {
            return Err(CaptureError::NoOffence);
        }
        if self.offence_codes.len() > MAX_OFFENCES {
            return Err(CaptureError::TooManyOffences { max: MAX_OFFENCES });
        }
        if self.photos.len() > usize::from(MAX_PHOTOS) {
            return Err(CaptureError::TooManyPhotos { max: usize::from(MAX_PHOTOS) });
        }
        check_notes(&self.notes)?;
        let mut charged = Vec::with_capacity(self.offence_codes.len());
        for code in &self.offence_codes {
            let offence = catalogue.get(code).ok_or_else(|| CaptureError::UnknownOffence { code: code.clone() })?;
            if charged.iter().any(|c: &ChargedOffence| &c.code == code) {
                return Err(CaptureError::DuplicateOffence { code: code.clone() });
            }
            if offence.photo_required && self.photos.is_empty() {
                return Err(CaptureError::MissingPhoto { code: code.clone() });
            }
            charged.push(ChargedOffence { code: code.clone(), amount_cents: offence.amount_cents });
        }
        Ok(charged)
    }
}

/// Where in the device's chain the new envelope goes, and which numbers it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainPosition {
    /// The device.
    pub device_id: Id16,
    /// Its next sequence number.
    pub sequence: u64,
    /// Hash of its previous envelope.
    pub prev_hash: [u8; 32],
}

/// The keys and settings sealing needs.
pub struct SealContext<'a> {
    /// Verified catalogue.
    pub catalogue: &'a Catalogue,
    /// Payee and portal settings.
    pub payee: &'a PayeeConfig,
    /// The attested enclave key.
    pub enclave: &'a EnclavePublicKey,
    /// The device's signing key.
    pub device: &'a SigningKey,
}

/// Why a draft could not be sealed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealDraftError {
    /// The draft breaks a rule.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// The envelope could not be built.
    #[error(transparent)]
    Seal(#[from] seal::SealError),
    /// The payee settings cannot make a valid bank-transfer payload.
    #[error("the payee settings are invalid: {0}")]
    Payee(#[from] EpcError),
}

/// Validates, numbers, seals and signs a draft, and builds its notice.
pub fn seal_draft(
    draft: &CaseDraft,
    ctx: &SealContext<'_>,
    chain: ChainPosition,
    ticket_number: TicketNumber,
) -> Result<(SealedCase, Notice), SealDraftError> {
    let offences = draft.validate(ctx.catalogue)?;
    let total_cents: u64 = offences.iter().map(|o| o.amount_cents).sum();
    let due_date = draft.observed_at.local().date().saturating_add(time::Duration::days(i64::from(ctx.payee.due_days)));
    let access_code = AccessCode::make_random();
    let record = CaseRecord {
        format: RECORD_FORMAT,
        ticket_number: ticket_number.clone(),
        access_code: access_code.clone(),
        catalogue_id: ctx.catalogue.id().to_owned(),
        catalogue_version: ctx.catalogue.version().to_owned(),
        offences,
        total_cents,
        due_date: due_date.to_string(),
        vehicle: draft.vehicle.clone(),
        place: draft.place.clone(),
        observed_at: draft.observed_at,
        notes: draft.notes.clone(),
        photos: draft
            .photos
            .iter()
            .map(|p| PhotoMeta {
                width: p.width,
                height: p.height,
                sha256_original: seal::hex_lower(&p.sha256_original),
                sha256_processed: seal::hex_lower(&p.sha256_processed),
            })
            .collect(),
    };
    let record_bytes = record.to_bytes();
    let photos: Vec<&[u8]> = draft.photos.iter().map(|p| p.jpeg.as_slice()).collect();
    let sealed = seal::seal(
        &SealRequest {
            envelope_id: Id16::make_random(),
            device_id: chain.device_id,
            sequence: chain.sequence,
            prev_hash: chain.prev_hash,
            record: &record_bytes,
            photos: &photos,
        },
        ctx.enclave,
        ctx.device,
    )?;
    drop(record_bytes);
    drop(record);

    let claim = NoticeClaim { ticket_number: &ticket_number, total_cents, due_date, iban: &ctx.payee.iban };
    let signature = claim.sign(ctx.device);
    let epc_payload = EpcTransfer {
        bic: ctx.payee.bic.clone(),
        name: ctx.payee.name.clone(),
        iban: ctx.payee.iban.clone(),
        amount_cents: Some(total_cents),
        remittance: ticket_number.grouped(),
        ..Default::default()
    }
    .to_payload()?;
    let offences = draft
        .offence_codes
        .iter()
        .filter_map(|c| ctx.catalogue.get(c))
        .map(|o| NoticeOffence {
            code: o.code.clone(),
            title_de: o.title_de.clone(),
            title_en: o.title_en.clone(),
            amount_cents: o.amount_cents,
        })
        .collect();
    let notice = Notice {
        portal_url: portal_link(&ctx.payee.portal_base_url, &ticket_number, &signature),
        ticket_number,
        access_code,
        offences,
        total_cents,
        due_date,
        epc_payload,
        payee_name: ctx.payee.name.clone(),
        iban: ctx.payee.iban.clone(),
    };
    Ok((sealed, notice))
}
