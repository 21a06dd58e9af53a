//! Tests of the photo pipeline: pictures, orientation, metadata, hostile input.

use super::*;
use crate::hazmat::tests::testdata_dir;
use image::DynamicImage;

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
    let out = process(&sample("Portrait_6.jpg"), &PhotoSettings { long_edge: 1024, ..Default::default() }).expect("ok");
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
    let err = process(&crate::demo::pixel_bomb_png(60_000, 60_000), &PhotoSettings::default()).expect_err("refused");
    assert_eq!(err, PhotoError::DimensionsOverLimit { max_dimension: 12_000 });
    let err = process(&crate::demo::pixel_bomb_png(10_000, 10_000), &PhotoSettings::default()).expect_err("refused");
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

#[test]
fn an_image_that_does_not_compress_still_encodes() {
    // Noise at quality 100 takes more than the one byte a pixel the encoder tries first, so
    // this goes through the second, worst-case buffer; the result must still be a whole JPEG.
    let (w, h) = (256u32, 192u32);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let noise = RgbImage::from_fn(w, h, |_, _| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let [a, b, c, ..] = state.to_le_bytes();
        image::Rgb([a, b, c])
    });
    let jpeg = encode(&noise, 100).expect("encodes");
    assert!(
        jpeg.len() > (w * h) as usize,
        "{} bytes: the first buffer was enough, the test proves nothing",
        jpeg.len()
    );
    let back = image::load_from_memory(&jpeg).expect("decodes");
    assert_eq!((back.width(), back.height()), (w, h));
    // A typical picture fits the first buffer.
    let photo = process(&sample("Portrait_1.jpg"), &PhotoSettings::default()).expect("processes");
    assert!(photo.jpeg.len() < (photo.width * photo.height) as usize);
}
