//! The photo pipeline: decode under a memory budget, downscale, apply the EXIF orientation,
//! re-encode without any metadata, and hash the original and the result.
//!
//! A JPEG is decoded by libjpeg-turbo at n/8 of its size in the DCT domain, the smallest n that
//! still covers the output (`jpeg`), then resized to the exact size; a PNG is decoded in full
//! (`full`). The orientation is applied to the small result. Every decode first reserves its estimated peak
//! memory, counting bytes per pixel and every conversion, from one process-wide budget
//! (`budget`), so a few kilobytes of hostile input can never buy hundreds of megabytes, however
//! many photos are decoded at once. [`reference`] keeps the previous full-size pipeline: the
//! quality reference of the tests and the baseline of the benchmark.

mod budget;
mod full;
mod jpeg;
pub mod reference;
#[cfg(test)]
pub(crate) mod tests;
mod ticket;

use std::fmt;
use std::time::{Duration, Instant};

use fast_image_resize::Resizer;
use image::metadata::Orientation;
use image::{ImageFormat, RgbImage};
use zeroize::{Zeroize, Zeroizing};

use budget::Wait;
pub use budget::{DEFAULT_DECODE_BUDGET_BYTES, decode_budget_bytes, set_decode_budget_bytes};
use ticket::Buffers;
pub use ticket::process_all;

/// Limits and output settings of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhotoSettings {
    /// Largest input file accepted, in bytes.
    pub max_input_bytes: usize,
    /// Largest width or height accepted, in pixels.
    pub max_dimension: u32,
    /// Largest decoded size, in megapixels.
    pub max_megapixels: u32,
    /// Most memory one photo may take while it is processed, in bytes: every buffer of the
    /// decoder (at its bytes per pixel) and every conversion, estimated from the header before
    /// any pixel is decoded. A photo over it is refused with [`PhotoError::MemoryLimit`].
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
            max_alloc_bytes: 96 << 20,
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

/// Where one photo's time went (for the benchmark).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageTimes {
    /// Header checks, budget and decode (at reduced scale where possible).
    pub decode: Duration,
    /// Resize to the exact output size.
    pub resize: Duration,
    /// EXIF orientation, on the small image.
    pub orient: Duration,
    /// JPEG encode.
    pub encode: Duration,
    /// SHA-256 of input and output.
    pub hash: Duration,
}

impl std::ops::AddAssign for StageTimes {
    fn add_assign(&mut self, o: Self) {
        self.decode += o.decode;
        self.resize += o.resize;
        self.orient += o.orient;
        self.encode += o.encode;
        self.hash += o.hash;
    }
}

/// Runs the whole pipeline on one captured photo.
pub fn process(input: &[u8], settings: &PhotoSettings) -> Result<ProcessedPhoto, PhotoError> {
    process_timed(input, settings).map(|(p, _)| p)
}

/// [`process`], with the time of each stage.
pub fn process_timed(input: &[u8], settings: &PhotoSettings) -> Result<(ProcessedPhoto, StageTimes), PhotoError> {
    let mut times = StageTimes::default();
    let photo = decode_and_finish(input, settings, None, &mut Resizer::new(), &mut times)?;
    Ok((photo, times))
}

/// Both stages of one photo on this thread, waiting for memory if need be.
fn decode_and_finish(
    input: &[u8],
    settings: &PhotoSettings,
    buffers: Option<&Buffers>,
    resizer: &mut Resizer,
    times: &mut StageTimes,
) -> Result<ProcessedPhoto, PhotoError> {
    let decoded = decode_stage(input, settings, Wait::Yes, buffers, times)?.ok_or(PhotoError::MemoryLimit)?;
    finish_stage(input, decoded, settings, buffers, resizer, times)
}

/// Checks and decodes (at reduced scale where possible) under the budget; `None` when the memory
/// is not free now and `wait` is [`Wait::No`].
fn decode_stage(
    input: &[u8],
    settings: &PhotoSettings,
    wait: Wait,
    buffers: Option<&Buffers>,
    times: &mut StageTimes,
) -> Result<Option<Decoded>, PhotoError> {
    let t = Instant::now();
    let format = check_input(input, settings)?;
    let decoded = match format {
        ImageFormat::Jpeg => jpeg::decode_for(input, settings, wait, buffers)?,
        _ => full::decode_for(input, settings, wait)?,
    };
    times.decode = t.elapsed();
    Ok(decoded)
}

/// Resizes, turns, encodes and hashes a decoded photo; every pixel copy is zeroized on the way
/// (and handed to `buffers` for the next photo, when there are such).
fn finish_stage(
    input: &[u8],
    decoded: Decoded,
    settings: &PhotoSettings,
    buffers: Option<&Buffers>,
    resizer: &mut Resizer,
    times: &mut StageTimes,
) -> Result<ProcessedPhoto, PhotoError> {
    let t = Instant::now();
    let (tw, th) = decoded.target;
    let rgb = resize_exact(decoded.rgb, tw, th, buffers, resizer)?;
    drop(decoded.grant_until_resized);
    times.resize = t.elapsed();
    let t = Instant::now();
    let rgb = orient(rgb, decoded.orientation);
    times.orient = t.elapsed();
    let t = Instant::now();
    let jpeg = encode(&rgb, settings.jpeg_quality);
    let (width, height) = rgb.dimensions();
    ticket::give(buffers, rgb.into_raw());
    let jpeg = jpeg?;
    drop(decoded.grant);
    times.encode = t.elapsed();
    let t = Instant::now();
    let photo = ProcessedPhoto {
        sha256_original: crate::hazmat::sha256(&[input]),
        sha256_processed: crate::hazmat::sha256(&[&jpeg]),
        width,
        height,
        jpeg,
    };
    times.hash = t.elapsed();
    Ok(photo)
}

/// A decoded photo on its way through the pipeline, with the memory it holds reserved.
struct Decoded {
    /// The pixels, at least as large as the output in one axis (or the whole image).
    rgb: RgbImage,
    /// The output size before orientation.
    target: (u32, u32),
    /// The EXIF orientation, still to be applied.
    orientation: Orientation,
    /// Memory of the decoder's buffers that live until the resize is done.
    grant_until_resized: budget::Grant,
    /// Memory of the output stages (resized, oriented, encoded).
    grant: budget::Grant,
}

/// Size, length and format checks before any decoding.
fn check_input(input: &[u8], settings: &PhotoSettings) -> Result<ImageFormat, PhotoError> {
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
    Ok(format)
}

/// Refuses sides over `max_dimension`, then images over `max_megapixels`.
fn check_dimensions(width: u32, height: u32, s: &PhotoSettings) -> Result<(), PhotoError> {
    if width > s.max_dimension || height > s.max_dimension {
        return Err(PhotoError::DimensionsOverLimit { max_dimension: s.max_dimension });
    }
    if u64::from(width) * u64::from(height) > u64::from(s.max_megapixels) * 1_000_000 {
        return Err(PhotoError::TooManyPixels {
            width,
            height,
            max_dimension: s.max_dimension,
            max_megapixels: s.max_megapixels,
        });
    }
    Ok(())
}

/// The output size for an image of `width` x `height`: long edge at most `long_edge`, aspect
/// kept, never enlarged.
pub fn output_size(width: u32, height: u32, long_edge: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= long_edge {
        return (width, height);
    }
    let scale = f64::from(long_edge) / f64::from(long);
    (((f64::from(width) * scale).round() as u32).max(1), ((f64::from(height) * scale).round() as u32).max(1))
}

/// Bytes the output stages hold at most for an output of `w` x `h`: the resized pixels, the
/// oriented copy and the encoded JPEG (never larger than the pixels at these settings).
fn output_stage_bytes(w: u32, h: u32) -> u64 {
    3 * 3 * u64::from(w) * u64::from(h)
}

/// Scales so the long edge is at most `long_edge` (Lanczos3, SIMD); never enlarges.
pub fn downscale(rgb: RgbImage, long_edge: u32) -> Result<RgbImage, PhotoError> {
    let (w, h) = rgb.dimensions();
    let (nw, nh) = output_size(w, h, long_edge);
    resize_exact(rgb, nw, nh, None, &mut Resizer::new())
}

/// Resizes to exactly `nw` x `nh` (Lanczos3, SIMD) with `resizer`; the source pixels are zeroized
/// (and handed to `buffers`, which also gives the output's, when there are such).
fn resize_exact(
    rgb: RgbImage,
    nw: u32,
    nh: u32,
    buffers: Option<&Buffers>,
    resizer: &mut Resizer,
) -> Result<RgbImage, PhotoError> {
    use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, images::Image};
    let (w, h) = rgb.dimensions();
    if (w, h) == (nw, nh) {
        return Ok(rgb);
    }
    let src = Image::from_vec_u8(w, h, rgb.into_raw(), PixelType::U8x3).map_err(|_| PhotoError::Encode)?;
    let out = ticket::take(buffers, 3 * nw as usize * nh as usize);
    let mut dst = Image::from_vec_u8(nw, nh, out, PixelType::U8x3).map_err(|_| PhotoError::Encode)?;
    let resized =
        resizer.resize(&src, &mut dst, &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3)));
    ticket::give(buffers, src.into_vec());
    if resized.is_err() {
        ticket::give(buffers, dst.into_vec());
        return Err(PhotoError::Encode);
    }
    RgbImage::from_raw(nw, nh, dst.into_vec()).ok_or(PhotoError::Encode)
}

/// Applies the EXIF orientation; the unturned pixels are zeroized.
fn orient(mut rgb: RgbImage, orientation: Orientation) -> RgbImage {
    use image::imageops::{flip_horizontal_in_place, flip_vertical_in_place, rotate90, rotate180_in_place, rotate270};
    let turned = match orientation {
        Orientation::NoTransforms => return rgb,
        Orientation::Rotate180 => {
            rotate180_in_place(&mut rgb);
            return rgb;
        }
        Orientation::FlipHorizontal => {
            flip_horizontal_in_place(&mut rgb);
            return rgb;
        }
        Orientation::FlipVertical => {
            flip_vertical_in_place(&mut rgb);
            return rgb;
        }
        Orientation::Rotate90 => rotate90(&rgb),
        Orientation::Rotate270 => rotate270(&rgb),
        Orientation::Rotate90FlipH => {
            let mut t = rotate90(&rgb);
            flip_horizontal_in_place(&mut t);
            t
        }
        Orientation::Rotate270FlipH => {
            let mut t = rotate270(&rgb);
            flip_horizontal_in_place(&mut t);
            t
        }
    };
    rgb.into_raw().zeroize();
    turned
}

/// Encodes as a baseline JFIF JPEG with 4:2:0 chroma (libjpeg-turbo, SIMD) and nothing else: no
/// EXIF, no ICC, no comment. The standard Huffman tables: optimised ones made a real photo 1.5%
/// smaller for twice the encoding time (and a second copy of every coefficient). The bytes are
/// written into a buffer of ours, so they are zeroized like every other copy.
fn encode(rgb: &RgbImage, quality: u8) -> Result<Zeroizing<Vec<u8>>, PhotoError> {
    use turbojpeg::{Compressor, Image, OutputBuf, PixelFormat, Subsamp};
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    let mut compressor = Compressor::new().map_err(|_| PhotoError::Encode)?;
    compressor.set_quality(i32::from(quality)).map_err(|_| PhotoError::Encode)?;
    compressor.set_subsamp(Subsamp::Sub2x2).map_err(|_| PhotoError::Encode)?;
    let image = Image { pixels: rgb.as_raw().as_slice(), width: w, pitch: 3 * w, height: h, format: PixelFormat::RGB };
    // One byte a pixel first (a photo at these settings takes a sixth of that); the worst case
    // libjpeg-turbo names only if that is too small, so a photo holds no second pixel-sized copy.
    let worst = turbojpeg::compressed_buf_len(w, h, Subsamp::Sub2x2).map_err(|_| PhotoError::Encode)?;
    for room in [(w * h).min(worst), worst] {
        let mut out = Zeroizing::new(vec![0u8; room]);
        let written = {
            let mut buf = OutputBuf::borrowed(&mut out);
            compressor.compress(image, &mut buf).map(|()| buf.len())
        };
        if let Ok(len) = written {
            out.truncate(len);
            return Ok(out);
        }
    }
    Err(PhotoError::Encode)
}
