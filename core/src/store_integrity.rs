//! The device store's self-check: re-verifies every promise the store makes, from its own
//! tables, so a crash, a bug or direct tampering shows up as a named inconsistency.

use crate::seal::{self, OpenError};
use crate::store::{DeviceStore, StoreError, array, corrupt};
use crate::ticket::TicketNumber;
use crate::wire::envelope::Id16;

/// What [`DeviceStore::verify_integrity`] checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrityReport {
    /// Envelopes in the outbox, all verified.
    pub envelopes: u64,
    /// Photo blobs, all matching their headers.
    pub blobs: u64,
    /// Drafts waiting.
    pub drafts: u64,
}

impl DeviceStore {
    /// Re-checks everything the store promises: the chain is gapless and linked, every
    /// envelope verifies with this device's key, every blob matches its signed header, every
    /// issued ticket number is in the outbox, and nothing is half-written.
    pub fn verify_integrity(&self) -> Result<IntegrityReport, StoreError> {
        let drafts: u64 = self.conn.query_row("SELECT count(*) FROM drafts", [], |r| r.get(0))?;
        let orphans: u64 = self.conn.query_row(
            "SELECT count(*) FROM draft_photos WHERE draft_id NOT IN (SELECT id FROM drafts)",
            [],
            |r| r.get(0),
        )?;
        if orphans > 0 {
            return Err(corrupt("draft photos without a draft"));
        }
        let Some(enrolled) = self.enrolled.as_ref() else {
            let n: u64 = self.conn.query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))?;
            return if n == 0 {
                Ok(IntegrityReport { envelopes: 0, blobs: 0, drafts })
            } else {
                Err(corrupt("outbox without enrolment"))
            };
        };
        let (next_sequence, head): (u64, Vec<u8>) =
            self.conn.query_row("SELECT next_sequence, head_hash FROM chain WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        let mut stmt = self
            .conn
            .prepare("SELECT envelope_id, sequence, ticket_number, envelope, envelope_hash, photo_count FROM outbox ORDER BY sequence")?;
        let mut rows = stmt.query([])?;
        let mut expected_seq = 1u64;
        let mut prev_hash = [0u8; 32];
        let mut blobs = 0u64;
        while let Some(r) = rows.next()? {
            let id = Id16(array(r.get(0)?, "envelope id")?);
            let seq: u64 = r.get(1)?;
            let ticket: String = r.get(2)?;
            let envelope: Vec<u8> = r.get(3)?;
            let hash: [u8; 32] = array(r.get(4)?, "envelope hash")?;
            let photo_count: usize = r.get(5)?;
            if seq != expected_seq {
                return Err(corrupt(format!("sequence gap: expected {expected_seq}, found {seq}")));
            }
            let header = seal::verify(&envelope, &enrolled.identity.verifying_key)
                .map_err(|e: OpenError| corrupt(format!("envelope {seq} does not verify: {e}")))?;
            if header.sequence != seq || header.envelope_id != id || header.device_id != enrolled.identity.device_id {
                return Err(corrupt(format!("envelope {seq} header differs from its outbox row")));
            }
            if header.prev_hash != prev_hash {
                return Err(corrupt(format!("envelope {seq} does not link to its predecessor")));
            }
            if seal::envelope_hash(&envelope) != hash {
                return Err(corrupt(format!("envelope {seq} hash differs")));
            }
            let expected_ticket =
                TicketNumber::issue(enrolled.identity.device_prefix, u32::try_from(seq).unwrap_or(u32::MAX))
                    .map_err(|_| corrupt("sequence beyond the ticket range"))?;
            if ticket != expected_ticket.digits() {
                return Err(corrupt(format!("envelope {seq} carries the wrong ticket number")));
            }
            if header.photos.len() != photo_count {
                return Err(corrupt(format!("envelope {seq} photo count differs")));
            }
            let mut bstmt =
                self.conn.prepare_cached("SELECT idx, blob FROM outbox_blobs WHERE envelope_id = ?1 ORDER BY idx")?;
            let found: Vec<(u16, Vec<u8>)> =
                bstmt.query_map([id.0], |b| Ok((b.get(0)?, b.get(1)?)))?.collect::<Result<_, _>>()?;
            if found.len() != photo_count {
                return Err(corrupt(format!("envelope {seq} has {} of {photo_count} blobs", found.len())));
            }
            for (idx, blob) in &found {
                seal::check_blob(&header, *idx, blob)
                    .map_err(|e| corrupt(format!("envelope {seq} blob {idx}: {e}")))?;
            }
            blobs += found.len() as u64;
            prev_hash = hash;
            expected_seq += 1;
        }
        if next_sequence != expected_seq {
            return Err(corrupt(format!(
                "chain says next sequence {next_sequence} but the outbox ends at {}",
                expected_seq - 1
            )));
        }
        if head.as_slice() != prev_hash {
            return Err(corrupt("chain head differs from the last envelope's hash"));
        }
        Ok(IntegrityReport { envelopes: expected_seq - 1, blobs, drafts })
    }
}
