//! The photo pipeline: decode under hard limits, apply EXIF orientation, downscale, re-encode
//! without any metadata, and hash the original and the result.

use std::fmt;
use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use zeroize::{Zeroize, Zeroizing};

/// Limits and output settings of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhotoSettings {
    /// Largest input file accepted, in bytes.
    pub max_input_bytes: usize,
    /// Largest width or height accepted, in pixels.
    pub max_dimension: u32,
    /// Largest decoded size, in megapixels.
    pub max_megapixels: u32,
    /// Most memory the decoder may allocate, in bytes.
    pub max_alloc_bytes: u64,
    /// Long edge of the output, in pixels (smaller inputs are not enlarged).
    pub long_edge: u32,
    /// JPEG quality of the output (1–100).
    pub jpeg_quality: u8,
}

impl Default for PhotoSettings {
    fn default() -> Self {
        Self {
            max_input_bytes: 30 << 20,
            max_dimension: 12_000,
            max_megapixels: 50,
            max_alloc_bytes: 256 << 20,
            long_edge: 2048,
            jpeg_quality: 85,
        }
    }
}

/// Why a photo was refused. No variant carries image content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    /// Empty input.
    #[error("the photo is empty")]
    Empty,
    /// Over the byte limit.
    #[error("the photo file is {got} bytes; at most {max} are accepted")]
    FileTooLarge { got: usize, max: usize },
    /// Neither JPEG nor PNG.
    #[error("the photo is not a JPEG or PNG image")]
    UnsupportedFormat,
    /// Over the dimension or pixel limits (typical of decompression bombs).
    #[error(
        "the photo is {width}x{height} pixels, over the limit of {max_dimension} px per side and {max_megapixels} MP"
    )]
    TooManyPixels { width: u32, height: u32, max_dimension: u32, max_megapixels: u32 },
    /// Decoding would need more memory than allowed.
    #[error("decoding the photo would need more memory than allowed")]
    MemoryLimit,
    /// A side is longer than allowed (found before the pixels are decoded).
    #[error("the photo is wider or taller than {max_dimension} pixels")]
    DimensionsOverLimit { max_dimension: u32 },
    /// Corrupt or truncated data.
    #[error("the photo is damaged or truncated and cannot be decoded")]
    Corrupt,
    /// The output could not be encoded (should not happen).
    #[error("the photo could not be re-encoded")]
    Encode,
}

/// A photo after the pipeline: upright, downscaled, metadata-free JPEG.
#[derive(Clone, PartialEq, Eq)]
pub struct ProcessedPhoto {
    /// The JPEG bytes, zeroized on drop.
    pub jpeg: Zeroizing<Vec<u8>>,
    /// Output width.
    pub width: u32,
    /// Output height.
    pub height: u32,
    /// SHA-256 of the input file as captured.
    pub sha256_original: [u8; 32],
    /// SHA-256 of `jpeg`.
    pub sha256_processed: [u8; 32],
}

impl fmt::Debug for ProcessedPhoto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProcessedPhoto({}x{}, {} bytes)", self.width, self.height, self.jpeg.len())
    }
}

/// Runs the whole pipeline on one captured photo.
pub fn process(input: &[u8], settings: &PhotoSettings) -> Result<ProcessedPhoto, PhotoError> {
    let sha256_original = crate::hazmat::sha256(&[input]);
    let img = decode_upright(input, settings)?;
    let rgb = downscale(img.into_rgb8(), settings.long_edge)?;
    let mut jpeg = Zeroizing::new(Vec::with_capacity(rgb.len() / 8));
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut *jpeg), settings.jpeg_quality);
    rgb.write_with_encoder(encoder).map_err(|_| PhotoError::Encode)?;
    let (width, height) = rgb.dimensions();
    rgb.into_raw().zeroize();
    Ok(ProcessedPhoto { sha256_processed: crate::hazmat::sha256(&[&jpeg]), width, height, jpeg, sha256_original })
}

/// Scales so the long edge is at most `long_edge` (Lanczos3, SIMD); never enlarges.
pub fn downscale(rgb: image::RgbImage, long_edge: u32) -> Result<image::RgbImage, PhotoError> {
    use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer, images::Image};
    let (w, h) = rgb.dimensions();
    let long = w.max(h);
    if long <= long_edge {
        return Ok(rgb);
    }
    let scale = f64::from(long_edge) / f64::from(long);
    let nw = ((f64::from(w) * scale).round() as u32).max(1);
    let nh = ((f64::from(h) * scale).round() as u32).max(1);
    let src = Image::from_vec_u8(w, h, rgb.into_raw(), PixelType::U8x3).map_err(|_| PhotoError::Encode)?;
    let mut dst = Image::new(nw, nh, PixelType::U8x3);
    Resizer::new()
        .resize(&src, &mut dst, &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3)))
        .map_err(|_| PhotoError::Encode)?;
    src.into_vec().zeroize();
    image::RgbImage::from_raw(nw, nh, dst.into_vec()).ok_or(PhotoError::Encode)
}

/// Decodes under the limits and applies the EXIF orientation.
pub fn decode_upright(input: &[u8], settings: &PhotoSettings) -> Result<DynamicImage, PhotoError> {
    if input.is_empty() {
        return Err(PhotoError::Empty);
    }
    if input.len() > settings.max_input_bytes {
        return Err(PhotoError::FileTooLarge { got: input.len(), max: settings.max_input_bytes });
    }
    let format = image::guess_format(input).map_err(|_| PhotoError::UnsupportedFormat)?;
    if !matches!(format, ImageFormat::Jpeg | ImageFormat::Png) {
        return Err(PhotoError::UnsupportedFormat);
    }
    if format == ImageFormat::Jpeg && !jpeg_is_complete(input) {
        return Err(PhotoError::Corrupt);
    }
    let mut reader = ImageReader::with_format(Cursor::new(input), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(settings.max_dimension);
    limits.max_image_height = Some(settings.max_dimension);
    limits.max_alloc = Some(settings.max_alloc_bytes);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| map_error(&e, settings))?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > u64::from(settings.max_megapixels) * 1_000_000 {
        return Err(too_many_pixels(width, height, settings));
    }
    // A broken EXIF block is no reason to lose the evidence: treat it as "no rotation".
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| map_error(&e, settings))?;
    img.apply_orientation(orientation);
    Ok(img)
}

/// Walks the JPEG marker structure to its end-of-image marker. The decoder fills a truncated
/// scan with grey and reports success, so a missing EOI is the reliable sign of a cut file.
/// Bytes after EOI (phone makers append trailers) are ignored.
fn jpeg_is_complete(b: &[u8]) -> bool {
    if b.len() < 4 || b[0..2] != [0xFF, 0xD8] {
        return false;
    }
    let mut i = 2;
    loop {
        // Skip fill bytes before a marker.
        while i < b.len() && b[i] == 0xFF && b.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        if i + 1 >= b.len() || b[i] != 0xFF {
            return false;
        }
        let marker = b[i + 1];
        match marker {
            0xD9 => return true,
            0xD0..=0xD7 | 0x01 => i += 2,
            _ => {
                let Some(len) = b.get(i + 2..i + 4).map(|l| usize::from(u16::from_be_bytes([l[0], l[1]]))) else {
                    return false;
                };
                if len < 2 {
                    return false;
                }
                i += 2 + len;
                if marker == 0xDA {
                    // Entropy-coded data runs to the next marker that is not a stuffed 0xFF00
                    // or a restart marker.
                    loop {
                        match (b.get(i), b.get(i + 1)) {
                            (Some(0xFF), Some(0x00 | 0xD0..=0xD7)) => i += 2,
                            (Some(0xFF), Some(_)) => break,
                            (Some(_), _) => i += 1,
                            (None, _) => return false,
                        }
                    }
                }
            }
        }
    }
}

fn too_many_pixels(width: u32, height: u32, s: &PhotoSettings) -> PhotoError {
    PhotoError::TooManyPixels { width, height, max_dimension: s.max_dimension, max_megapixels: s.max_megapixels }
}

fn map_error(e: &image::ImageError, settings: &PhotoSettings) -> PhotoError {
    use image::error::{ImageError, LimitErrorKind};
    match e {
        ImageError::Limits(l) => match l.kind() {
            LimitErrorKind::DimensionError => PhotoError::DimensionsOverLimit { max_dimension: settings.max_dimension },
            _ => PhotoError::MemoryLimit,
        },
        ImageError::Unsupported(_) => PhotoError::UnsupportedFormat,
        _ => PhotoError::Corrupt,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::hazmat::tests::testdata_dir;

    pub(crate) fn sample(name: &str) -> Vec<u8> {
        let p = testdata_dir().join("samples/photos").join(name);
        std::fs::read(&p).unwrap_or_else(|e| panic!("sample photo {} is missing: {e}", p.display()))
    }

    /// The JPEG segments (marker, payload) up to the start of scan.
    fn jpeg_segments(jpeg: &[u8]) -> Vec<(u8, Vec<u8>)> {
        assert_eq!(&jpeg[..2], [0xFF, 0xD8], "starts with SOI");
        let mut out = Vec::new();
        let mut i = 2;
        while i + 4 <= jpeg.len() {
            assert_eq!(jpeg[i], 0xFF, "segment marker at {i}");
            let marker = jpeg[i + 1];
            let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
            out.push((marker, jpeg[i + 4..i + 2 + len].to_vec()));
            if marker == 0xDA {
                break;
            }
            i += 2 + len;
        }
        out
    }

    #[test]
    fn output_carries_no_metadata_at_all() {
        let input = sample("gps_samsung_SM-N920T.jpg");
        // The input really has EXIF with GPS: the test would notice if it did not.
        let input_markers: Vec<u8> = jpeg_segments(&input).iter().map(|(m, _)| *m).collect();
        assert!(input_markers.contains(&0xE1), "the sample has an APP1/EXIF block");
        let out = process(&input, &PhotoSettings::default()).expect("processes");
        for (marker, payload) in jpeg_segments(&out.jpeg) {
            let allowed = matches!(marker, 0xE0 | 0xDB | 0xC0 | 0xC2 | 0xC4 | 0xDA | 0xDD);
            assert!(allowed, "unexpected segment 0x{marker:02X} in output");
            if marker == 0xE0 {
                assert!(payload.starts_with(b"JFIF\0"), "APP0 is plain JFIF");
            }
        }
        let text = String::from_utf8_lossy(&out.jpeg);
        for needle in ["Exif", "GPS", "samsung", "SM-N920T", "2018:04:28"] {
            assert!(!text.contains(needle), "{needle} survived");
        }
        // Still a real image of the same shape.
        let decoded = image::load_from_memory(&out.jpeg).expect("output decodes");
        assert_eq!((decoded.width(), decoded.height()), (920, 570));
        assert_eq!(out.sha256_original, crate::hazmat::sha256(&[&input]));
        assert_eq!(out.sha256_processed, crate::hazmat::sha256(&[&out.jpeg]));
    }

    /// Mean absolute difference of two same-sized images, per channel, 0..255.
    fn mean_abs_diff(a: &DynamicImage, b: &DynamicImage) -> f64 {
        let (a, b) = (a.to_rgb8(), b.to_rgb8());
        assert_eq!(a.dimensions(), b.dimensions());
        let sum: u64 = a.as_raw().iter().zip(b.as_raw()).map(|(x, y)| u64::from(x.abs_diff(*y))).sum();
        sum as f64 / a.as_raw().len() as f64
    }

    #[test]
    fn all_eight_exif_orientations_come_out_upright() {
        let small = PhotoSettings { long_edge: 300, ..PhotoSettings::default() };
        let reference =
            image::load_from_memory(&process(&sample("Portrait_1.jpg"), &small).expect("ok").jpeg).expect("decodes");
        assert_eq!((reference.width(), reference.height()), (200, 300), "portrait");
        for n in 2..=8 {
            let raw = sample(&format!("Portrait_{n}.jpg"));
            let out = process(&raw, &small).expect("processes");
            let img = image::load_from_memory(&out.jpeg).expect("decodes");
            assert_eq!((img.width(), img.height()), (200, 300), "orientation {n} gives a portrait");
            let diff = mean_abs_diff(&img, &reference);
            assert!(diff < 6.0, "orientation {n}: upright result differs from reference by {diff:.1}");

            // The same pixels without the EXIF transform are far off, so the check has teeth.
            let naive = image::load_from_memory(&raw).expect("decodes");
            let naive = naive.resize_exact(200, 300, image::imageops::FilterType::Triangle);
            let naive_diff = mean_abs_diff(&naive, &reference);
            assert!(naive_diff > 3.0 * diff.max(5.0), "orientation {n}: ignoring EXIF should differ ({naive_diff:.1})");
        }
    }

    #[test]
    fn downscales_to_the_long_edge_and_keeps_aspect() {
        let out =
            process(&sample("Portrait_6.jpg"), &PhotoSettings { long_edge: 1024, ..Default::default() }).expect("ok");
        assert_eq!((out.width, out.height), (683, 1024));
        let out = process(&sample("Portrait_6.jpg"), &PhotoSettings::default()).expect("ok");
        assert_eq!((out.width, out.height), (1200, 1800), "never enlarged");
    }

    #[test]
    fn truncated_jpeg_fails_clearly() {
        let err = process(&sample("bad/truncated_jpeg.jpg"), &PhotoSettings::default()).expect_err("refused");
        assert_eq!(err, PhotoError::Corrupt);
        let good = sample("Portrait_3.jpg");
        for cut in [10, 200, good.len() / 2] {
            assert!(process(&good[..cut], &PhotoSettings::default()).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn png_metadata_bomb_is_bounded() {
        // zTXt chunks that inflate to 2 MiB each: refused, or decoded as the 1x1 image it is,
        // but never inflated without bound.
        match process(&sample("bad/png_decompression_dos.png"), &PhotoSettings::default()) {
            Ok(p) => assert_eq!((p.width, p.height), (1, 1)),
            Err(e) => assert!(matches!(e, PhotoError::MemoryLimit | PhotoError::Corrupt), "{e:?}"),
        }
    }

    #[test]
    fn pixel_bombs_are_refused_before_decoding() {
        let err =
            process(&crate::demo::pixel_bomb_png(60_000, 60_000), &PhotoSettings::default()).expect_err("refused");
        assert_eq!(err, PhotoError::DimensionsOverLimit { max_dimension: 12_000 });
        let err =
            process(&crate::demo::pixel_bomb_png(10_000, 10_000), &PhotoSettings::default()).expect_err("refused");
        assert!(matches!(err, PhotoError::TooManyPixels { width: 10_000, .. }), "{err:?}");
        // A JPEG whose frame header claims 65,000 x 65,000.
        let mut jpeg = sample("Portrait_1.jpg");
        let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0] || w == [0xFF, 0xC2]).expect("has SOF");
        jpeg[sof + 5..sof + 9].copy_from_slice(&[0xFD, 0xE8, 0xFD, 0xE8]);
        let err = process(&jpeg, &PhotoSettings::default()).expect_err("refused");
        assert!(matches!(err, PhotoError::DimensionsOverLimit { .. } | PhotoError::MemoryLimit), "{err:?}");
    }

    #[test]
    fn other_inputs_are_refused_clearly() {
        let s = PhotoSettings::default();
        assert_eq!(process(&[], &s), Err(PhotoError::Empty));
        assert_eq!(process(b"GIF89a....", &s), Err(PhotoError::UnsupportedFormat));
        assert_eq!(process(b"not an image", &s), Err(PhotoError::UnsupportedFormat));
        let small = PhotoSettings { max_input_bytes: 1000, ..s };
        assert!(matches!(process(&sample("Portrait_1.jpg"), &small), Err(PhotoError::FileTooLarge { .. })));
    }
}
