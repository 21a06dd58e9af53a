//! The previous pipeline, kept as the reference: full-size decode through the `image` crate,
//! EXIF orientation on the full image, Lanczos3 to the output size, the `image` crate's JPEG
//! encoder. The tests compare the new pipeline's pictures with it; the benchmark prints its
//! time beside the new one's. Its memory is reserved from the same budget, counted for the
//! full-size image.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat};
use zeroize::{Zeroize, Zeroizing};

use super::{PhotoError, PhotoSettings, ProcessedPhoto, budget, check_dimensions, check_input, downscale, full};

/// The previous pipeline, whole: decode in full, orient, downscale, re-encode, hash.
pub fn process(input: &[u8], settings: &PhotoSettings) -> Result<ProcessedPhoto, PhotoError> {
    let sha256_original = crate::hazmat::sha256(&[input]);
    let img = decode_upright(input, settings)?;
    let rgb = downscale(img.into_rgb8(), settings.long_edge)?;
    let jpeg = encode(&rgb, settings.jpeg_quality)?;
    let (width, height) = rgb.dimensions();
    rgb.into_raw().zeroize();
    Ok(ProcessedPhoto { sha256_processed: crate::hazmat::sha256(&[&jpeg]), width, height, jpeg, sha256_original })
}

/// The `image` crate's JPEG encoder, as the previous pipeline used it.
pub fn encode(rgb: &image::RgbImage, quality: u8) -> Result<Zeroizing<Vec<u8>>, PhotoError> {
    let mut jpeg = Zeroizing::new(Vec::with_capacity(rgb.len() / 8));
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut *jpeg), quality);
    rgb.write_with_encoder(encoder).map_err(|_| PhotoError::Encode)?;
    Ok(jpeg)
}

/// Decodes in full under the limits and applies the EXIF orientation to the full image. While
/// it decodes, the full-size image's bytes (twice: orientation copies it) are reserved from the
/// decode budget (bounded by the whole budget, not the per-photo limit, which a full-size
/// 12-MP decode exceeds); the caller holds the result unbudgeted: for tests and benchmarks.
pub fn decode_upright(input: &[u8], settings: &PhotoSettings) -> Result<DynamicImage, PhotoError> {
    let format = check_input(input, settings)?;
    let progressive_components = if format == ImageFormat::Jpeg {
        let h = super::jpeg::frame_header(input)?;
        if h.progressive { h.sampling.len() as u64 } else { 0 }
    } else {
        0
    };
    let mut decoder = full::decoder(input, format, settings)?;
    let (width, height) = decoder.dimensions();
    check_dimensions(width, height, settings)?;
    let bpp = u64::from(decoder.color_type().bytes_per_pixel());
    let bytes =
        full::decoder_bytes(width, height, bpp, progressive_components) + u64::from(width) * u64::from(height) * bpp;
    let _grant = budget::reserve_for(bytes, 0, settings.max_alloc_bytes.max(bytes), budget::Wait::Yes)?;
    // A broken EXIF block is no reason to lose the evidence: treat it as "no rotation".
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| full::map_error(&e, settings))?;
    img.apply_orientation(orientation);
    Ok(img)
}
