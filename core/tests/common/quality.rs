//! Picture quality against a careful reference, shared by the quality test and the capture
//! benchmark (included with `#[path]`): the 12-MP test photos, the reference (full decode, EXIF
//! orientation, Lanczos3 to the output size) and SSIM by `dssim-core`.
#![allow(dead_code)]

use std::io::Cursor;
use std::path::Path;

use fieldseal_core::photo::{self, PhotoSettings, reference};

/// The samples the 12-MP photos are made from.
const BASES: [&str; 3] = ["Portrait_5.jpg", "gps_samsung_SM-N920T.jpg", "Portrait_2.jpg"];

/// A 4242 x 2828 (12.0 MP) camera-like JPEG (quality 92) made from sample photo `n % 3`.
pub fn twelve_megapixel_jpeg(n: usize) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/samples/photos").join(BASES[n % BASES.len()]);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{} is missing: {e}", path.display()));
    let base = image::load_from_memory(&bytes).expect("sample decodes");
    let big = base.resize_exact(4242, 2828, image::imageops::FilterType::Triangle).into_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut out), 92).encode_image(&big).expect("encodes");
    out
}

/// The careful reference for `input`: decoded in full, turned by its EXIF orientation, Lanczos3
/// to the long edge of `settings`.
pub fn reference_rgb(input: &[u8], settings: &PhotoSettings) -> image::RgbImage {
    let img = reference::decode_upright(input, settings).expect("reference decodes");
    photo::downscale(img.into_rgb8(), settings.long_edge).expect("reference resizes")
}

/// SSIM (1 = identical) of `jpeg` against `reference`, from dssim-core's multi-scale DSSIM
/// (DSSIM = 1/SSIM - 1).
pub fn ssim(reference: &image::RgbImage, jpeg: &[u8]) -> f64 {
    use rgb::FromSlice;
    let out = image::load_from_memory(jpeg).expect("output decodes").into_rgb8();
    assert_eq!(out.dimensions(), reference.dimensions(), "same size as the reference");
    let (w, h) = (reference.width() as usize, reference.height() as usize);
    let d = dssim_core::Dssim::new();
    let a = d.create_image_rgb(reference.as_raw().as_rgb(), w, h).expect("reference image");
    let b = d.create_image_rgb(out.as_raw().as_rgb(), w, h).expect("output image");
    let (dssim, _) = d.compare(&a, b);
    1.0 / (1.0 + f64::from(dssim))
}
