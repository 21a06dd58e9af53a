//! JPEG input: the marker walk that proves a file complete and reads its frame header and EXIF
//! block, and the decode at reduced scale (n/8 in the DCT domain, the smallest that still covers
//! the output) by libjpeg-turbo, with its memory counted from the header first.

use image::RgbImage;
use image::metadata::Orientation;
use turbojpeg::{Decompressor, Image, PixelFormat, ScalingFactor};

use super::budget::Wait;
use super::ticket::Buffers;
use super::{Decoded, PhotoError, PhotoSettings, budget, check_dimensions, output_size, output_stage_bytes};

/// Most scans a progressive JPEG may have: cameras write about ten; a file with thousands of
/// tiny scans costs minutes of CPU (the limit libjpeg-turbo's own tools recommend).
const MAX_SCANS: u32 = 500;

/// What the frame header says, read before any pixel is decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FrameHeader {
    pub width: u32,
    pub height: u32,
    pub progressive: bool,
    /// Sample precision in bits (8 for every camera).
    pub precision: u8,
    /// Horizontal and vertical sampling factor of each component.
    pub sampling: Vec<(u8, u8)>,
    /// Lossless JPEG (SOF3 and kin), which cannot be scaled in the DCT domain.
    pub lossless: bool,
    /// Where the first EXIF block's TIFF data lies in the file, if there is one.
    pub exif: Option<std::ops::Range<usize>>,
}

/// Walks the JPEG marker structure to its end-of-image marker and returns the first frame
/// header. The decoder fills a truncated scan with grey and reports success, so a missing EOI is
/// the reliable sign of a cut file. Bytes after EOI (phone makers append trailers) are ignored.
pub(super) fn frame_header(b: &[u8]) -> Result<FrameHeader, PhotoError> {
    if b.len() < 4 || b[0..2] != [0xFF, 0xD8] {
        return Err(PhotoError::Corrupt);
    }
    let mut frame: Option<FrameHeader> = None;
    let mut exif = None;
    let mut i = 2;
    loop {
        // Skip fill bytes before a marker.
        while i < b.len() && b[i] == 0xFF && b.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        if i + 1 >= b.len() || b[i] != 0xFF {
            return Err(PhotoError::Corrupt);
        }
        let marker = b[i + 1];
        match marker {
            0xD9 => return frame.map(|f| FrameHeader { exif, ..f }).ok_or(PhotoError::Corrupt),
            0xD0..=0xD7 | 0x01 => i += 2,
            _ => {
                let Some(len) = b.get(i + 2..i + 4).map(|l| usize::from(u16::from_be_bytes([l[0], l[1]]))) else {
                    return Err(PhotoError::Corrupt);
                };
                if len < 2 {
                    return Err(PhotoError::Corrupt);
                }
                let body = b.get(i + 4..i + 2 + len).ok_or(PhotoError::Corrupt)?;
                if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) && frame.is_none() {
                    frame = Some(parse_sof(marker, body)?);
                }
                if marker == 0xE1 && exif.is_none() && body.starts_with(b"Exif\0\0") {
                    exif = Some(i + 4 + 6..i + 2 + len);
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
                            (None, _) => return Err(PhotoError::Corrupt),
                        }
                    }
                }
            }
        }
    }
}

fn parse_sof(marker: u8, body: &[u8]) -> Result<FrameHeader, PhotoError> {
    let [precision, h0, h1, w0, w1, count, rest @ ..] = body else { return Err(PhotoError::Corrupt) };
    let count = usize::from(*count);
    if !(1..=4).contains(&count) || rest.len() < 3 * count {
        return Err(PhotoError::Corrupt);
    }
    let sampling: Vec<(u8, u8)> = rest.chunks_exact(3).take(count).map(|c| (c[1] >> 4, c[1] & 0x0F)).collect();
    if sampling.iter().any(|&(h, v)| !(1..=4).contains(&h) || !(1..=4).contains(&v)) {
        return Err(PhotoError::Corrupt);
    }
    Ok(FrameHeader {
        width: u32::from(u16::from_be_bytes([*w0, *w1])),
        height: u32::from(u16::from_be_bytes([*h0, *h1])),
        progressive: matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE),
        precision: *precision,
        sampling,
        lossless: matches!(marker, 0xC3 | 0xC7 | 0xCB | 0xCF),
        exif: None,
    })
}

/// The DCT scale (out of 8) for an output of `tw` x `th`: the smallest whose result is at least
/// as large in one axis (libjpeg-turbo scales by n/8 for n = 1..=8 and rounds up).
fn idct_size(width: u32, height: u32, tw: u32, th: u32) -> u32 {
    let scaled = |len: u32, s: u32| (len * s).div_ceil(8);
    (1..8).find(|&s| scaled(width, s) >= tw || scaled(height, s) >= th).unwrap_or(8)
}

impl FrameHeader {
    /// Peak bytes of the decoder at DCT scale `s`/8: the coefficients of a progressive image
    /// (two bytes each, kept at full size until the last scan), the rows libjpeg-turbo works on
    /// (a few rows of blocks per component, counted as four at full size to bound them), and the
    /// interleaved RGB result with the resizer's intermediate rows.
    fn decoder_bytes(&self, s: u32) -> u64 {
        let hmax = u64::from(self.sampling.iter().map(|p| p.0).max().unwrap_or(1));
        let vmax = u64::from(self.sampling.iter().map(|p| p.1).max().unwrap_or(1));
        let mcu_cols = u64::from(self.width).div_ceil(8 * hmax);
        let mcu_rows = u64::from(self.height).div_ceil(8 * vmax);
        let mut total = 0u64;
        for &(h, v) in &self.sampling {
            if self.progressive {
                total += mcu_cols * u64::from(h) * mcu_rows * u64::from(v) * 64 * 2;
            }
            total += 4 * mcu_cols * u64::from(h) * u64::from(v) * 64;
        }
        let (ow, oh) = (u64::from(self.width * s).div_ceil(8), u64::from(self.height * s).div_ceil(8));
        total + ow * oh * 3 * 2
    }
}

/// Decodes at the smallest DCT scale that covers the output, under the budget. JPEGs taken
/// another way (CMYK, two components, 12-bit, lossless) go the full-size way, also under the
/// budget. `None` when the memory is not free now and `wait` is [`Wait::No`].
pub(super) fn decode_for(
    input: &[u8],
    settings: &PhotoSettings,
    wait: Wait,
    buffers: Option<&Buffers>,
) -> Result<Option<Decoded>, PhotoError> {
    let header = frame_header(input)?;
    check_dimensions(header.width, header.height, settings)?;
    if header.width == 0 || header.height == 0 {
        return Err(PhotoError::Corrupt);
    }
    if header.precision != 8 || header.lossless || !matches!(header.sampling.len(), 1 | 3) {
        return super::full::decode_for(input, settings, wait);
    }
    let (tw, th) = output_size(header.width, header.height, settings.long_edge);
    let s = idct_size(header.width, header.height, tw, th);
    let Some((decoder_grant, grant)) =
        budget::reserve_for(header.decoder_bytes(s), output_stage_bytes(tw, th), settings.max_alloc_bytes, wait)?
    else {
        return Ok(None);
    };

    let mut decoder = Decompressor::new().map_err(|_| PhotoError::Corrupt)?;
    decoder.set_scan_limit(MAX_SCANS).map_err(|_| PhotoError::Corrupt)?;
    let scale = ScalingFactor::new(s as usize, 8);
    let read = decoder.read_header(input).map_err(|_| PhotoError::Corrupt)?;
    // libjpeg-turbo read the same frame the marker walk did; a file that says otherwise is
    // crafted to make the two disagree.
    if (read.width, read.height) != (header.width as usize, header.height as usize) {
        return Err(PhotoError::Corrupt);
    }
    let out = read.scaled(scale);
    decoder.set_scaling_factor(scale).map_err(|_| PhotoError::UnsupportedFormat)?;
    let w = u32::try_from(out.width).map_err(|_| PhotoError::Corrupt)?;
    let h = u32::try_from(out.height).map_err(|_| PhotoError::Corrupt)?;
    let mut rgb = RgbImage::from_raw(w, h, super::ticket::take(buffers, 3 * out.width * out.height))
        .ok_or(PhotoError::Corrupt)?;
    let image = Image {
        pixels: &mut *rgb,
        width: out.width,
        pitch: 3 * out.width,
        height: out.height,
        format: PixelFormat::RGB,
    };
    if decoder.decompress(input, image).is_err() {
        // The rows decoded before the error are wiped with the rest.
        super::ticket::give(buffers, rgb.into_raw());
        return Err(PhotoError::Corrupt);
    }
    // A broken EXIF block is no reason to lose the evidence: treat it as "no rotation".
    let orientation = header
        .exif
        .and_then(|r| input.get(r))
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    Ok(Some(Decoded { rgb, target: (tw, th), orientation, grant_until_resized: decoder_grant, grant }))
}
