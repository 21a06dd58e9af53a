//! Sample material for `fieldseal demo`, benchmarks and tests: synthetic street photos and
//! realistic drafts, made here so a plain clone needs no outside files.

use std::io::Cursor;

use image::{Rgb, RgbImage};

use crate::attestation::{AttestationBody, AttestationDocument, AttestationPolicy, PinnedRoot, SIMULATED_PLATFORM};
use crate::capture::{CaseDraft, ChainPosition, SealContext, SealDraftError, seal_draft};
use crate::catalogue::{Catalogue, CatalogueBody};
use crate::domain::{CaptureError, ObservedAt, Place, Vehicle};
use crate::notice::Notice;
use crate::notice::PayeeConfig;
use crate::photo::{self, PhotoError, PhotoSettings};
use crate::seal::{EnclavePublicKey, SealedCase, SigningKey};
use crate::ticket::TicketNumber;
use crate::wire::envelope::Id16;

/// A deterministic pseudo-random sequence (xorshift), for varied but repeatable pictures.
struct Xorshift(u64);
impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u32) -> u32 {
        (self.next() % u64::from(n.max(1))) as u32
    }
}

/// A synthetic photo of a parked car (sky, street, car body, wheels, a plate), as a JPEG.
pub fn street_photo(seed: u64, width: u32, height: u32) -> Vec<u8> {
    let mut rng = Xorshift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let car: [u8; 3] = [[180, 30, 30], [30, 60, 160], [200, 200, 200], [20, 20, 20]][rng.below(4) as usize];
    let horizon = height * 2 / 5;
    let (cx0, cx1) = (width / 6 + rng.below(width / 10), width * 5 / 6 - rng.below(width / 10));
    let (cy0, cy1) = (height / 2, height * 5 / 6);
    let img = RgbImage::from_fn(width, height, |x, y| {
        let noise = (x.wrapping_mul(31) ^ y.wrapping_mul(17)) % 7;
        if (cx0..cx1).contains(&x) && (cy0..cy1).contains(&y) {
            let (px0, px1, py0, py1) = (width * 2 / 5, width * 3 / 5, cy1 - height / 10, cy1 - height / 30);
            if (px0..px1).contains(&x) && (py0..py1).contains(&y) {
                // The plate: white with dark "characters".
                return if (x / (width / 60).max(1)).is_multiple_of(3) && y > py0 + 4 && y + 4 < py1 {
                    Rgb([15, 15, 15])
                } else {
                    Rgb([245, 245, 240])
                };
            }
            let shade = u8::try_from(noise).unwrap_or(0);
            return Rgb([car[0].saturating_add(shade), car[1].saturating_add(shade), car[2].saturating_add(shade)]);
        }
        let wheel = |wx: u32| {
            let (dx, dy) = (i64::from(x) - i64::from(wx), i64::from(y) - i64::from(cy1));
            dx * dx + dy * dy < i64::from(height / 14).pow(2)
        };
        if wheel(cx0 + width / 10) || wheel(cx1 - width / 10) {
            return Rgb([10, 10, 10]);
        }
        if y < horizon {
            let b = 200u8.saturating_sub(u8::try_from(y * 80 / horizon.max(1)).unwrap_or(80));
            Rgb([110, 160, b.saturating_add(40)])
        } else {
            let g = 90 + u8::try_from(noise * 3).unwrap_or(0);
            Rgb([g, g, g])
        }
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut out), 90)
        .encode_image(&img)
        .expect("encoding an in-memory image cannot fail");
    out
}

/// Payee settings of the fictional town used by the demo.
pub fn demo_payee(portal_base_url: &str) -> PayeeConfig {
    PayeeConfig {
        name: "Stadtkasse Musterstadt".into(),
        iban: "DE71110220330123456789".into(),
        bic: "BHBLDEHHXXX".into(),
        portal_base_url: portal_base_url.into(),
        due_days: 7,
    }
}

const STREETS: [&str; 6] = [
    "Hauptstraße 12, 10115 Musterstadt",
    "Bahnhofstraße 3, 10117 Musterstadt",
    "Am Markt 1, 10178 Musterstadt",
    "Schillerplatz 7, 10119 Musterstadt",
    "Lindenallee 44, 10115 Musterstadt",
    "Kirchgasse 2, 10178 Musterstadt",
];

/// Why a demo draft could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A field was refused.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// A photo was refused.
    #[error(transparent)]
    Photo(#[from] PhotoError),
}

/// A realistic draft: the `n`-th case of a shift, with `photos` (raw camera files) run
/// through the pipeline in parallel.
pub fn demo_draft(
    catalogue: &Catalogue,
    n: u64,
    plate: &str,
    photos: &[Vec<u8>],
    now_ms: i64,
) -> Result<CaseDraft, DemoError> {
    let offences = catalogue.offences();
    let offence = &offences[(n as usize * 7) % offences.len()];
    let street = STREETS[n as usize % STREETS.len()];
    let settings = PhotoSettings::default();
    let inputs: Vec<&[u8]> = photos.iter().map(Vec::as_slice).collect();
    let processed = photo::process_all(&inputs, &settings).into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(CaseDraft {
        vehicle: Vehicle::new(
            plate,
            "DE",
            ["VW", "BMW", "Opel", "Ford"][n as usize % 4],
            ["rot", "blau", "silber", "schwarz"][n as usize % 4],
        )?,
        offence_codes: vec![offence.code.clone()],
        place: Place::new(
            52.52 + (n % 50) as f64 * 0.0011,
            13.405 + (n % 30) as f64 * 0.0013,
            4.0 + (n % 9) as f64,
            street,
        )?,
        observed_at: ObservedAt::new(now_ms, 0, 60)?,
        notes: format!("Fahrzeug ohne Fahrer angetroffen, Fall {n}."),
        photos: processed,
    })
}

/// A hostile PNG for tests and fuzz seeds: its header claims `width` x `height` pixels, its
/// body is a few bytes (a "pixel bomb"). A decoder without limits would allocate for all of them.
pub fn pixel_bomb_png(width: u32, height: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend(u32::try_from(data.len()).expect("small chunk").to_be_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        out.extend(kind);
        out.extend(data);
        out.extend(crc.finalize().to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A SIMULATED platform's attestation of `enclave` running code `measurement`, valid a day from
/// `now_ms`, and the device policy that pins exactly that platform key and measurement.
pub fn simulated_attestation(
    enclave: &EnclavePublicKey,
    measurement: [u8; 32],
    platform_key: &SigningKey,
    now_ms: i64,
) -> (AttestationDocument, AttestationPolicy) {
    let body = AttestationBody::new(SIMULATED_PLATFORM, &measurement, enclave, now_ms - 60_000, now_ms + 86_400_000);
    let policy = AttestationPolicy {
        roots: vec![PinnedRoot { platform: SIMULATED_PLATFORM.into(), key: platform_key.verifying_key() }],
        measurements: vec![measurement],
        accept_simulated: true,
    };
    (body.sign(platform_key), policy)
}

/// A sealed sample case for tests, benchmarks and fuzz seeds: the `sequence`-th case of device
/// `device_id` with ticket prefix `device_prefix`, chained to `prev_hash`, with two small
/// synthetic photos and `plate`.
pub fn sealed_case(
    enclave: &EnclavePublicKey,
    device: &SigningKey,
    device_id: Id16,
    device_prefix: u16,
    sequence: u64,
    prev_hash: [u8; 32],
    plate: &str,
) -> Result<(SealedCase, Notice), SealedCaseError> {
    let catalogue = CatalogueBody::german_default().sign(device).verify(&device.verifying_key())?;
    let photos = [street_photo(sequence * 2 + 1, 320, 240), street_photo(sequence * 2 + 2, 240, 320)];
    let draft = demo_draft(&catalogue, sequence, plate, &photos, now_ms())?;
    let payee = demo_payee("http://127.0.0.1:8080");
    let ctx = SealContext { catalogue: &catalogue, payee: &payee, enclave, device };
    let counter = u32::try_from(sequence).map_err(|_| SealedCaseError::Sequence)?;
    let ticket = TicketNumber::issue(device_prefix, counter).map_err(|_| SealedCaseError::Sequence)?;
    Ok(seal_draft(&draft, &ctx, ChainPosition { device_id, sequence, prev_hash }, ticket)?)
}

/// Why a sample case could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SealedCaseError {
    /// The built-in catalogue was refused.
    #[error(transparent)]
    Catalogue(#[from] crate::catalogue::CatalogueError),
    /// The sample draft was refused (an impossible plate?).
    #[error(transparent)]
    Draft(#[from] DemoError),
    /// Sealing refused.
    #[error(transparent)]
    Seal(#[from] SealDraftError),
    /// The prefix or sequence number does not fit a ticket number.
    #[error("the device prefix or sequence number is out of the ticket number range")]
    Sequence,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
