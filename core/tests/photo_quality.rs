//! The pipeline's pictures against a careful reference (full decode, EXIF orientation,
//! Lanczos3 to the same size): every sample photo and the 12-MP benchmark photos keep an SSIM
//! of at least 0.98, and a ticket's bytes do not grow beside the previous pipeline.

#[path = "common/quality.rs"]
mod quality;

use fieldseal_core::photo::{self, PhotoSettings, reference};
use quality::{reference_rgb, ssim, twelve_megapixel_jpeg};

const MIN_SSIM: f64 = 0.98;

fn samples() -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/samples/photos");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("sample folder")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".jpg") || n.ends_with(".png"))
        .collect();
    names.sort();
    assert!(names.len() >= 9, "the eight orientations and the GPS sample: {names:?}");
    names.into_iter().map(|n| (n.clone(), std::fs::read(dir.join(&n)).expect("reads"))).collect()
}

#[test]
fn every_sample_photo_keeps_ssim_against_the_careful_reference() {
    // 2048: as captured (no resize); 600 and 300: decoded at 1/2 and 1/4 scale, then resized.
    for long_edge in [2048, 600, 300] {
        let settings = PhotoSettings { long_edge, ..PhotoSettings::default() };
        for (name, bytes) in samples() {
            let reference = reference_rgb(&bytes, &settings);
            let out = photo::process(&bytes, &settings).expect("processes");
            let s = ssim(&reference, &out.jpeg);
            println!("{name} at {long_edge}: {}x{}, {} bytes, SSIM {s:.4}", out.width, out.height, out.jpeg.len());
            assert!(s >= MIN_SSIM, "{name} at {long_edge}: SSIM {s:.4} under {MIN_SSIM}");
        }
    }
}

#[test]
fn twelve_megapixel_photos_keep_ssim_and_do_not_grow() {
    let settings = PhotoSettings::default();
    for n in 0..3 {
        let input = twelve_megapixel_jpeg(n);
        let reference = reference_rgb(&input, &settings);
        let new = photo::process(&input, &settings).expect("processes");
        let old = reference::process(&input, &settings).expect("previous pipeline processes");
        assert_eq!((new.width, new.height), (old.width, old.height));
        let (s_new, s_old) = (ssim(&reference, &new.jpeg), ssim(&reference, &old.jpeg));
        println!(
            "12-MP photo {n}: {} bytes, SSIM {s_new:.4} (previous: {} bytes, SSIM {s_old:.4})",
            new.jpeg.len(),
            old.jpeg.len()
        );
        assert!(s_new >= MIN_SSIM, "photo {n}: SSIM {s_new:.4} under {MIN_SSIM}");
        assert!(new.jpeg.len() <= old.jpeg.len(), "photo {n}: {} bytes, previously {}", new.jpeg.len(), old.jpeg.len());
    }
}

#[test]
fn the_check_has_teeth_a_blurred_picture_falls_under_the_bar() {
    // The same sample, downscaled to a quarter and back up: visibly soft, and SSIM says so.
    let settings = PhotoSettings { long_edge: 1024, ..PhotoSettings::default() };
    let bytes = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/samples/photos/Portrait_5.jpg"),
    )
    .expect("reads");
    let reference = reference_rgb(&bytes, &settings);
    let (w, h) = reference.dimensions();
    let soft = image::imageops::resize(
        &image::imageops::resize(&reference, w / 4, h / 4, image::imageops::FilterType::Triangle),
        w,
        h,
        image::imageops::FilterType::Triangle,
    );
    let blurred = reference::encode(&soft, 95).expect("encodes");
    let s = ssim(&reference, &blurred);
    assert!(s < MIN_SSIM, "a blurred picture must fail the bar, SSIM {s:.4}");
}
