//! The capture draft builder: the officer's screen fills it field by field. Each setter
//! checks its field at once (so the UI can mark it); the catalogue rules are checked by
//! `OfficerSession::validate` and again when the case is sealed.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use fieldseal_core::capture::CaseDraft;
use fieldseal_core::domain::{ObservedAt, Place, Vehicle, check_notes};
use fieldseal_core::photo::{self, PhotoSettings, ProcessedPhoto};
use fieldseal_core::seal::hex_lower;
use fieldseal_core::wire::envelope::MAX_PHOTOS;
use zeroize::{Zeroize as _, Zeroizing};

use crate::error::FieldsealError;
use crate::records::{PhotoInfo, count};

/// Locks a mutex; a panic in another call leaves the data consistent here (every change is
/// one assignment), so a poisoned lock is used as is.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Default)]
pub(crate) struct DraftState {
    pub(crate) vehicle: Option<Vehicle>,
    pub(crate) offence_codes: Vec<String>,
    pub(crate) place: Option<Place>,
    pub(crate) observed_at: Option<ObservedAt>,
    pub(crate) notes: Zeroizing<String>,
    pub(crate) photos: Vec<ProcessedPhoto>,
    /// The stored draft this one was opened from or saved as.
    pub(crate) stored_id: Option<i64>,
    /// The ticket it was sealed as; a sealed draft cannot be sealed again (double tap).
    pub(crate) sealed_as: Option<String>,
}

impl DraftState {
    pub(crate) fn from_case(draft: CaseDraft, stored_id: i64) -> Self {
        Self {
            vehicle: Some(draft.vehicle.clone()),
            offence_codes: draft.offence_codes.clone(),
            place: Some(draft.place.clone()),
            observed_at: Some(draft.observed_at),
            notes: Zeroizing::new(draft.notes.clone()),
            photos: draft.photos.clone(),
            stored_id: Some(stored_id),
            sealed_as: None,
        }
    }

    fn check_open(&self) -> Result<(), FieldsealError> {
        match &self.sealed_as {
            Some(ticket) => Err(FieldsealError::InvalidInput(format!(
                "this draft was sealed already as ticket {ticket}; start a new draft for another case"
            ))),
            None => Ok(()),
        }
    }

    /// The complete draft, or which field is missing.
    pub(crate) fn to_case(&self) -> Result<CaseDraft, FieldsealError> {
        self.check_open()?;
        let missing = |what: &str| FieldsealError::DraftIncomplete(format!("the draft has no {what} yet"));
        Ok(CaseDraft {
            vehicle: self.vehicle.clone().ok_or_else(|| missing("vehicle (set_vehicle)"))?,
            offence_codes: self.offence_codes.clone(),
            place: self.place.clone().ok_or_else(|| missing("place (set_place)"))?,
            observed_at: self.observed_at.ok_or_else(|| missing("observation time (set_observed_at)"))?,
            notes: self.notes.to_string(),
            photos: self.photos.clone(),
        })
    }

    /// Forgets the case data once it is sealed.
    pub(crate) fn mark_sealed(&mut self, ticket: String) {
        *self = Self { sealed_as: Some(ticket), ..Self::default() };
    }
}

/// A case being captured. Build it field by field, then hand it to `OfficerSession::capture`
/// (or save it with `OfficerSession::save_draft` if the officer is interrupted).
#[derive(uniffi::Object)]
pub struct CaptureDraft {
    pub(crate) state: Mutex<DraftState>,
}

impl CaptureDraft {
    pub(crate) fn from_state(state: DraftState) -> Arc<Self> {
        Arc::new(Self { state: Mutex::new(state) })
    }
}

#[uniffi::export]
impl CaptureDraft {
    /// An empty draft.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Self::from_state(DraftState::default())
    }

    /// The vehicle: plate as read, nationality (ISO 3166-1 alpha-2, e.g. `DE`), make, colour.
    pub fn set_vehicle(
        &self,
        plate: String,
        nationality: String,
        make: String,
        colour: String,
    ) -> Result<(), FieldsealError> {
        let mut plate = plate;
        let vehicle = Vehicle::new(&plate, &nationality, &make, &colour);
        plate.zeroize();
        let vehicle = vehicle?;
        let mut s = lock(&self.state);
        s.check_open()?;
        s.vehicle = Some(vehicle);
        Ok(())
    }

    /// Adds an offence by catalogue code (checked against the catalogue when validated or sealed).
    pub fn add_offence(&self, code: String) -> Result<(), FieldsealError> {
        let mut s = lock(&self.state);
        s.check_open()?;
        if !s.offence_codes.contains(&code) {
            s.offence_codes.push(code);
        }
        Ok(())
    }

    /// Removes an offence; removing one that is not there does nothing.
    pub fn remove_offence(&self, code: String) -> Result<(), FieldsealError> {
        let mut s = lock(&self.state);
        s.check_open()?;
        s.offence_codes.retain(|c| c != &code);
        Ok(())
    }

    /// The offence codes chosen so far.
    pub fn offence_codes(&self) -> Vec<String> {
        lock(&self.state).offence_codes.clone()
    }

    /// Where: WGS84 position, GPS accuracy in metres, and the street address.
    pub fn set_place(&self, lat: f64, lon: f64, accuracy_m: f64, address: String) -> Result<(), FieldsealError> {
        let place = Place::new(lat, lon, accuracy_m, &address)?;
        let mut s = lock(&self.state);
        s.check_open()?;
        s.place = Some(place);
        Ok(())
    }

    /// When: the device clock (Unix ms), its offset to the server clock from the last sync
    /// (ms, 0 if unknown), and the local UTC offset in minutes.
    pub fn set_observed_at(
        &self,
        device_unix_ms: i64,
        server_offset_ms: i64,
        utc_offset_minutes: i32,
    ) -> Result<(), FieldsealError> {
        // Kotlin's Int; a value past i16 is past ±14 h too, and the core refuses it as such.
        let utc_offset =
            i16::try_from(utc_offset_minutes).unwrap_or(if utc_offset_minutes < 0 { i16::MIN } else { i16::MAX });
        let at = ObservedAt::new(device_unix_ms, server_offset_ms, utc_offset)?;
        let mut s = lock(&self.state);
        s.check_open()?;
        s.observed_at = Some(at);
        Ok(())
    }

    /// The officer's notes (may be empty).
    pub fn set_notes(&self, notes: String) -> Result<(), FieldsealError> {
        let mut notes = notes;
        let checked = check_notes(&notes);
        notes.zeroize();
        let checked = checked?;
        let mut s = lock(&self.state);
        s.check_open()?;
        s.notes = Zeroizing::new(checked);
        Ok(())
    }

    /// Adds a photo as the camera wrote it (JPEG or PNG bytes). It is decoded under strict
    /// limits, turned upright, downscaled and re-encoded without metadata before it is kept.
    pub fn add_photo(&self, image: Vec<u8>) -> Result<PhotoInfo, FieldsealError> {
        let mut image = image;
        let processed = photo::process(&image, &PhotoSettings::default());
        image.zeroize();
        let processed = processed?;
        let mut s = lock(&self.state);
        s.check_open()?;
        if s.photos.len() >= usize::from(MAX_PHOTOS) {
            return Err(FieldsealError::InvalidInput(format!("a case may carry at most {MAX_PHOTOS} photos")));
        }
        let info = PhotoInfo {
            index: count(s.photos.len()),
            width: count(processed.width),
            height: count(processed.height),
            sha256_original: hex_lower(&processed.sha256_original),
        };
        s.photos.push(processed);
        Ok(info)
    }

    /// Removes the photo at `index`; later photos move up by one.
    pub fn remove_photo(&self, index: i32) -> Result<(), FieldsealError> {
        let mut s = lock(&self.state);
        s.check_open()?;
        let i = usize::try_from(index).unwrap_or(usize::MAX);
        if i >= s.photos.len() {
            return Err(FieldsealError::NotFound(format!("the draft has no photo {index}")));
        }
        s.photos.remove(i);
        Ok(())
    }

    /// Photos kept so far.
    pub fn photo_count(&self) -> i32 {
        count(lock(&self.state).photos.len())
    }

    /// The id it is stored under on the device, once saved or opened.
    pub fn stored_id(&self) -> Option<i64> {
        lock(&self.state).stored_id
    }

    /// The ticket number it was sealed as, once sealed.
    pub fn sealed_as(&self) -> Option<String> {
        lock(&self.state).sealed_as.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_names_its_first_missing_field_and_a_sealed_one_takes_no_changes() {
        let d = CaptureDraft::new();
        let missing = |d: &CaptureDraft| match lock(&d.state).to_case() {
            Err(FieldsealError::DraftIncomplete(m)) => m,
            other => panic!("expected DraftIncomplete, got {:?}", other.map(|_| ())),
        };
        assert!(missing(&d).contains("vehicle"));
        d.set_vehicle("M-AB 123".into(), "DE".into(), "VW".into(), "rot".into()).expect("valid vehicle");
        assert!(missing(&d).contains("place"));
        d.set_place(48.1, 11.6, 5.0, "Marienplatz 1".into()).expect("valid place");
        assert!(missing(&d).contains("observation time"));
        d.set_observed_at(1_700_000_000_000, 0, 60).expect("valid time");
        assert!(lock(&d.state).to_case().is_ok());

        lock(&d.state).mark_sealed("0001-0000-0001".into());
        assert_eq!(d.sealed_as().as_deref(), Some("0001-0000-0001"));
        assert!(lock(&d.state).vehicle.is_none(), "case data is dropped once sealed");
        for refused in [d.add_offence("112402".into()), d.set_notes("more".into())] {
            assert!(matches!(refused, Err(FieldsealError::InvalidInput(m)) if m.contains("sealed already")));
        }
    }

    #[test]
    fn an_offence_is_listed_once() {
        let d = CaptureDraft::new();
        for code in ["112402", "112402", "141312"] {
            d.add_offence(code.into()).expect("open draft");
        }
        d.remove_offence("999999".into()).expect("removing a missing code is fine");
        assert_eq!(d.offence_codes(), ["112402", "141312"]);
    }
}
