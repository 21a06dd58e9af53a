//! Full-size decode through the `image` crate, for PNG and for the JPEGs the scaled decoder does
//! not take. Its memory is counted at the image's own bytes per pixel (16-bit RGBA is 8 bytes
//! a pixel) plus the conversion to 8-bit RGB, before any pixel is decoded.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

use super::budget::Wait;
use super::{Decoded, PhotoError, PhotoSettings, budget, check_dimensions, output_size, output_stage_bytes};

/// Peak bytes of a full decode of `width` x `height` at `bytes_per_pixel`, converted to 8-bit
/// RGB and resized: the decoded image, the converted copy (unless it is 8-bit RGB already), the
/// resizer's intermediate rows, and for a progressive JPEG its coefficients (2 bytes each).
pub(super) fn decoder_bytes(width: u32, height: u32, bytes_per_pixel: u64, progressive_components: u64) -> u64 {
    let px = u64::from(width) * u64::from(height);
    let conversion = if bytes_per_pixel == 3 { 0 } else { 3 };
    px * (bytes_per_pixel + conversion + 3 + 2 * progressive_components)
}

/// Decodes in full under the limits and the budget; orientation is read, not yet applied.
/// `None` when the memory is not free now and `wait` is [`Wait::No`].
pub(super) fn decode_for(input: &[u8], settings: &PhotoSettings, wait: Wait) -> Result<Option<Decoded>, PhotoError> {
    let format = image::guess_format(input).map_err(|_| PhotoError::UnsupportedFormat)?;
    let progressive_components = match format {
        ImageFormat::Jpeg => {
            let h = super::jpeg::frame_header(input)?;
            if h.progressive { h.sampling.len() as u64 } else { 0 }
        }
        _ => 0,
    };
    let mut decoder = decoder(input, format, settings)?;
    let (width, height) = decoder.dimensions();
    check_dimensions(width, height, settings)?;
    let (tw, th) = output_size(width, height, settings.long_edge);
    let bpp = u64::from(decoder.color_type().bytes_per_pixel());
    let Some((decoder_grant, grant)) = budget::reserve_for(
        decoder_bytes(width, height, bpp, progressive_components),
        output_stage_bytes(tw, th),
        settings.max_alloc_bytes,
        wait,
    )?
    else {
        return Ok(None);
    };
    // A broken EXIF block is no reason to lose the evidence: treat it as "no rotation".
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let img = DynamicImage::from_decoder(decoder).map_err(|e| map_error(&e, settings))?;
    let rgb = match img {
        DynamicImage::ImageRgb8(rgb) => rgb,
        other => {
            let rgb = other.to_rgb8();
            zeroize::Zeroize::zeroize(&mut other.into_bytes());
            rgb
        }
    };
    Ok(Some(Decoded { rgb, target: (tw, th), orientation, grant_until_resized: decoder_grant, grant }))
}

/// The `image` crate's decoder for `format`, with its own limits as a second guard.
pub(super) fn decoder<'a>(
    input: &'a [u8],
    format: ImageFormat,
    settings: &PhotoSettings,
) -> Result<impl ImageDecoder + use<'a>, PhotoError> {
    let mut reader = ImageReader::with_format(Cursor::new(input), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(settings.max_dimension);
    limits.max_image_height = Some(settings.max_dimension);
    limits.max_alloc = Some(settings.max_alloc_bytes);
    reader.limits(limits);
    reader.into_decoder().map_err(|e| map_error(&e, settings))
}

pub(super) fn map_error(e: &image::ImageError, settings: &PhotoSettings) -> PhotoError {
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
