//! The sealed envelope's binary layout: parsing and writing, no cryptography.
//!
//! See `docs/envelope.md` for the byte-by-byte description. Parsing checks every length
//! before it reads, refuses unknown versions, and never allocates more than the input.

use std::fmt;

/// Format version written first in every envelope.
pub const ENVELOPE_VERSION: u8 = 1;
/// Cipher suite 1: HPKE base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305.
pub const SUITE_X25519_SHA256_CHACHA20POLY1305: u8 = 1;
/// Bytes of the header before the per-photo table.
pub const HEADER_FIXED_LEN: usize = 1 + 1 + 16 + 16 + 8 + 32 + 32 + 4 + 1;
/// Bytes of one photo table entry (sealed length + SHA-256 of the sealed blob).
pub const PHOTO_ENTRY_LEN: usize = 4 + 32;
/// Ed25519 signature length.
pub const SIGNATURE_LEN: usize = 64;
/// Hard cap on the sealed record (the record itself is a few KiB).
pub const MAX_RECORD_CIPHERTEXT: u32 = 1 << 20;
/// Hard cap on photos per case.
pub const MAX_PHOTOS: u8 = 16;
/// Hard cap on one sealed photo blob.
pub const MAX_BLOB_LEN: u32 = 32 << 20;
/// Hard cap on a whole envelope (header + record + signature).
pub const MAX_ENVELOPE_LEN: usize =
    HEADER_FIXED_LEN + MAX_PHOTOS as usize * PHOTO_ENTRY_LEN + MAX_RECORD_CIPHERTEXT as usize + SIGNATURE_LEN;

/// A 16-byte random identifier (envelope or device).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id16(pub [u8; 16]);

impl Id16 {
    /// A fresh random identifier.
    pub fn make_random() -> Self {
        Self(crate::hazmat::random_array())
    }
    /// Lower-case hex, 32 characters.
    pub fn to_hex(&self) -> String {
        crate::seal::hex_lower(&self.0)
    }
    /// Parses 32 hex characters.
    pub fn from_hex(s: &str) -> Option<Self> {
        crate::seal::decode_hex(s).and_then(|v| v.try_into().ok()).map(Self)
    }
}

impl serde::Serialize for Id16 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        super::hex_array::serialize(&self.0, s)
    }
}

impl<'de> serde::Deserialize<'de> for Id16 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        super::hex_array::deserialize(d).map(Self)
    }
}

impl fmt::Debug for Id16 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}
impl fmt::Display for Id16 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// One entry of the photo table: what the sealed blob must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhotoEntry {
    /// Length in bytes of the sealed blob.
    pub sealed_len: u32,
    /// SHA-256 of the sealed blob bytes.
    pub sha256: [u8; 32],
}

/// The clear header. It holds no personal data: identifiers, counters, hashes and sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeHeader {
    /// Random per case; the idempotency key of sync.
    pub envelope_id: Id16,
    /// The device that sealed and signed it.
    pub device_id: Id16,
    /// Per-device sequence number, 1 for the first envelope.
    pub sequence: u64,
    /// SHA-256 of the device's previous envelope (all zero for sequence 1).
    pub prev_hash: [u8; 32],
    /// HPKE encapsulated key.
    pub enc: [u8; 32],
    /// Length of the record ciphertext.
    pub record_len: u32,
    /// Sealed photo blobs belonging to this envelope, in index order.
    pub photos: Vec<PhotoEntry>,
}

/// Why bytes are not a well-formed envelope (before any cryptography).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Fewer bytes than the layout needs.
    #[error("envelope is truncated: needs at least {needed} bytes, has {got}")]
    Truncated { needed: usize, got: usize },
    /// More bytes than the layout says.
    #[error("envelope has {extra} unexpected trailing bytes")]
    TrailingBytes { extra: usize },
    /// A version this build does not know (probably written by a newer app).
    #[error(
        "envelope format version {0} is not supported by this build (it reads version {ENVELOPE_VERSION}); update the software"
    )]
    UnsupportedVersion(u8),
    /// A cipher suite this build does not know.
    #[error("envelope cipher suite {0} is not supported")]
    UnsupportedSuite(u8),
    /// A declared size is over its hard limit.
    #[error("envelope field {field} is over its limit ({value} > {limit})")]
    OverLimit { field: &'static str, value: u64, limit: u64 },
    /// A field holds a value the format forbids.
    #[error("envelope field {field} is invalid: {reason}")]
    Invalid { field: &'static str, reason: &'static str },
}

/// A parsed envelope borrowing the input bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeView<'a> {
    /// The decoded header.
    pub header: EnvelopeHeader,
    /// The exact header bytes (HPKE associated data, and signed).
    pub header_bytes: &'a [u8],
    /// The HPKE ciphertext of the record.
    pub ciphertext: &'a [u8],
    /// The device's Ed25519 signature.
    pub signature: [u8; SIGNATURE_LEN],
}

impl EnvelopeHeader {
    /// Serialises the header exactly as it is authenticated and signed.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_FIXED_LEN + self.photos.len() * PHOTO_ENTRY_LEN);
        out.push(ENVELOPE_VERSION);
        out.push(SUITE_X25519_SHA256_CHACHA20POLY1305);
        out.extend_from_slice(&self.envelope_id.0);
        out.extend_from_slice(&self.device_id.0);
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.prev_hash);
        out.extend_from_slice(&self.enc);
        out.extend_from_slice(&self.record_len.to_be_bytes());
        out.push(u8::try_from(self.photos.len()).expect("photo count is checked against MAX_PHOTOS before sealing"));
        for p in &self.photos {
            out.extend_from_slice(&p.sealed_len.to_be_bytes());
            out.extend_from_slice(&p.sha256);
        }
        out
    }
}

/// A cursor that refuses to read past the end.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FormatError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or(FormatError::Truncated { needed: self.pos.saturating_add(n), got: self.bytes.len() })?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], FormatError> {
        Ok(self.take(N)?.try_into().expect("take returned N bytes"))
    }
    fn u8(&mut self) -> Result<u8, FormatError> {
        Ok(self.take(1)?[0])
    }
}

/// Parses an envelope's layout. Checks sizes and versions; checks no signature.
pub fn parse(bytes: &[u8]) -> Result<EnvelopeView<'_>, FormatError> {
    if bytes.len() > MAX_ENVELOPE_LEN {
        return Err(FormatError::OverLimit {
            field: "envelope",
            value: bytes.len() as u64,
            limit: MAX_ENVELOPE_LEN as u64,
        });
    }
    let mut r = Reader { bytes, pos: 0 };
    let version = r.u8()?;
    if version != ENVELOPE_VERSION {
        return Err(FormatError::UnsupportedVersion(version));
    }
    let suite = r.u8()?;
    if suite != SUITE_X25519_SHA256_CHACHA20POLY1305 {
        return Err(FormatError::UnsupportedSuite(suite));
    }
    let envelope_id = Id16(r.array()?);
    let device_id = Id16(r.array()?);
    let sequence = u64::from_be_bytes(r.array()?);
    if sequence == 0 {
        return Err(FormatError::Invalid { field: "sequence", reason: "sequence numbers start at 1" });
    }
    let prev_hash = r.array()?;
    if sequence == 1 && prev_hash != [0u8; 32] {
        return Err(FormatError::Invalid { field: "prev_hash", reason: "the first envelope has no predecessor" });
    }
    let enc = r.array()?;
    let record_len = u32::from_be_bytes(r.array()?);
    if record_len > MAX_RECORD_CIPHERTEXT {
        return Err(FormatError::OverLimit {
            field: "record_len",
            value: record_len.into(),
            limit: MAX_RECORD_CIPHERTEXT.into(),
        });
    }
    if record_len < 16 {
        return Err(FormatError::Invalid { field: "record_len", reason: "shorter than an AEAD tag" });
    }
    let count = r.u8()?;
    if count > MAX_PHOTOS {
        return Err(FormatError::OverLimit { field: "photo_count", value: count.into(), limit: MAX_PHOTOS.into() });
    }
    let mut photos = Vec::with_capacity(count.into());
    for _ in 0..count {
        let sealed_len = u32::from_be_bytes(r.array()?);
        if sealed_len > MAX_BLOB_LEN {
            return Err(FormatError::OverLimit {
                field: "photo_len",
                value: sealed_len.into(),
                limit: MAX_BLOB_LEN.into(),
            });
        }
        if (sealed_len as usize) < BLOB_PREFIX_LEN + 16 {
            return Err(FormatError::Invalid { field: "photo_len", reason: "shorter than a blob prefix and tag" });
        }
        photos.push(PhotoEntry { sealed_len, sha256: r.array()? });
    }
    let header_bytes = &bytes[..r.pos];
    let ciphertext = r.take(record_len as usize)?;
    let signature = r.array()?;
    if r.pos != bytes.len() {
        return Err(FormatError::TrailingBytes { extra: bytes.len() - r.pos });
    }
    Ok(EnvelopeView {
        header: EnvelopeHeader { envelope_id, device_id, sequence, prev_hash, enc, record_len, photos },
        header_bytes,
        ciphertext,
        signature,
    })
}

/// Format version of a sealed photo blob.
pub const BLOB_VERSION: u8 = 1;
/// Bytes before a blob's ciphertext: version, envelope id, photo index.
pub const BLOB_PREFIX_LEN: usize = 1 + 16 + 2;

/// A parsed sealed photo blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobView<'a> {
    /// The envelope this blob belongs to.
    pub envelope_id: Id16,
    /// Its index in the envelope's photo table.
    pub index: u16,
    /// The clear prefix (associated data).
    pub prefix: &'a [u8],
    /// ChaCha20-Poly1305 ciphertext and tag.
    pub ciphertext: &'a [u8],
}

/// Writes a blob's clear prefix.
pub fn blob_prefix(envelope_id: &Id16, index: u16) -> [u8; BLOB_PREFIX_LEN] {
    let mut p = [0u8; BLOB_PREFIX_LEN];
    p[0] = BLOB_VERSION;
    p[1..17].copy_from_slice(&envelope_id.0);
    p[17..19].copy_from_slice(&index.to_be_bytes());
    p
}

/// Parses a sealed photo blob's layout.
pub fn parse_blob(bytes: &[u8]) -> Result<BlobView<'_>, FormatError> {
    if bytes.len() > MAX_BLOB_LEN as usize {
        return Err(FormatError::OverLimit { field: "blob", value: bytes.len() as u64, limit: MAX_BLOB_LEN.into() });
    }
    let mut r = Reader { bytes, pos: 0 };
    let version = r.u8()?;
    if version != BLOB_VERSION {
        return Err(FormatError::UnsupportedVersion(version));
    }
    let envelope_id = Id16(r.array()?);
    let index = u16::from_be_bytes(r.array()?);
    if bytes.len() < BLOB_PREFIX_LEN + 16 {
        return Err(FormatError::Truncated { needed: BLOB_PREFIX_LEN + 16, got: bytes.len() });
    }
    Ok(BlobView { envelope_id, index, prefix: &bytes[..BLOB_PREFIX_LEN], ciphertext: &bytes[BLOB_PREFIX_LEN..] })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_header(photos: usize) -> EnvelopeHeader {
        EnvelopeHeader {
            envelope_id: Id16([0x11; 16]),
            device_id: Id16([0x22; 16]),
            sequence: 7,
            prev_hash: [0x33; 32],
            enc: [0x44; 32],
            record_len: 40,
            photos: (0..photos).map(|i| PhotoEntry { sealed_len: 100 + i as u32, sha256: [i as u8; 32] }).collect(),
        }
    }

    fn sample_envelope(photos: usize) -> Vec<u8> {
        let h = sample_header(photos);
        let mut out = h.to_bytes();
        out.extend(vec![0xAB; h.record_len as usize]);
        out.extend([0xCD; SIGNATURE_LEN]);
        out
    }

    #[test]
    fn header_round_trips_through_parse() {
        for n in [0, 1, 3, 16] {
            let bytes = sample_envelope(n);
            let view = parse(&bytes).expect("parses");
            assert_eq!(view.header, sample_header(n));
            assert_eq!(view.header_bytes, &sample_header(n).to_bytes()[..]);
            assert_eq!(view.ciphertext.len(), 40);
        }
    }

    #[test]
    fn every_truncation_is_refused() {
        let bytes = sample_envelope(2);
        for cut in 0..bytes.len() {
            assert!(
                matches!(parse(&bytes[..cut]), Err(FormatError::Truncated { .. })),
                "cut at {cut} gave {:?}",
                parse(&bytes[..cut])
            );
        }
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = sample_envelope(1);
        bytes.push(0);
        assert_eq!(parse(&bytes), Err(FormatError::TrailingBytes { extra: 1 }));
    }

    #[test]
    fn future_version_is_refused_clearly() {
        let mut bytes = sample_envelope(0);
        bytes[0] = 2;
        let err = parse(&bytes).expect_err("refused");
        assert_eq!(err, FormatError::UnsupportedVersion(2));
        assert!(err.to_string().contains("update the software"));
    }

    #[test]
    fn oversize_declarations_are_refused_before_reading() {
        let mut bytes = sample_envelope(0);
        let off = HEADER_FIXED_LEN - 5;
        bytes[off..off + 4].copy_from_slice(&(MAX_RECORD_CIPHERTEXT + 1).to_be_bytes());
        assert!(matches!(parse(&bytes), Err(FormatError::OverLimit { field: "record_len", .. })));
        let mut bytes = sample_envelope(0);
        bytes[HEADER_FIXED_LEN - 1] = MAX_PHOTOS + 1;
        assert!(matches!(parse(&bytes), Err(FormatError::OverLimit { field: "photo_count", .. })));
    }

    #[test]
    fn impossible_header_values_are_invalid() {
        let with = |f: &dyn Fn(&mut EnvelopeHeader)| {
            let mut h = sample_header(1);
            f(&mut h);
            let mut out = h.to_bytes();
            out.extend(vec![0xAB; h.record_len as usize]);
            out.extend([0xCD; SIGNATURE_LEN]);
            parse(&out).map(|_| ())
        };
        let invalid = |r: Result<(), FormatError>| matches!(r, Err(FormatError::Invalid { .. }));
        assert!(invalid(with(&|h| h.sequence = 0)));
        assert!(invalid(with(&|h| h.sequence = 1)), "sequence 1 with a predecessor hash");
        assert!(
            with(&|h| {
                h.sequence = 1;
                h.prev_hash = [0; 32];
            })
            .is_ok()
        );
        assert!(invalid(with(&|h| h.record_len = 15)));
        assert!(invalid(with(&|h| h.photos[0].sealed_len = (BLOB_PREFIX_LEN + 15) as u32)));
    }

    #[test]
    fn id_hex_round_trips() {
        let id = Id16::make_random();
        assert_eq!(Id16::from_hex(&id.to_hex()), Some(id));
        assert_eq!(Id16::from_hex("zz"), None);
        assert_eq!(Id16::from_hex(&format!("+{}", &id.to_hex()[1..])), None, "no second spelling");
    }

    #[test]
    fn blob_prefix_parses_back() {
        let id = Id16([9; 16]);
        let mut blob = blob_prefix(&id, 3).to_vec();
        blob.extend([0u8; 20]);
        let v = parse_blob(&blob).expect("parses");
        assert_eq!((v.envelope_id, v.index, v.ciphertext.len()), (id, 3, 20));
        assert!(matches!(parse_blob(&blob[..BLOB_PREFIX_LEN + 3]), Err(FormatError::Truncated { .. })));
    }
}
