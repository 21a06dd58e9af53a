//! QR code images for the bank-transfer page (EPC069-12 asks for error correction level M).

use std::io::Cursor;

use qrcode::{EcLevel, QrCode};

/// A QR code could not be made.
#[derive(Debug, thiserror::Error)]
pub enum QrError {
    /// The payload does not fit a QR code.
    #[error("the payload does not fit a QR code: {0}")]
    Encode(String),
    /// PNG encoding failed.
    #[error("the QR code image could not be encoded: {0}")]
    Png(String),
}

/// The payload as a black-on-white PNG with a quiet zone, 4 pixels per module.
pub fn png(payload: &str) -> Result<Vec<u8>, QrError> {
    let code = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M)
        .map_err(|e| QrError::Encode(e.to_string()))?;
    let image = code.render::<image::Luma<u8>>().module_dimensions(4, 4).quiet_zone(true).build();
    let mut out = Vec::new();
    image.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png).map_err(|e| QrError::Png(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldseal_core::notice::EpcTransfer;

    #[test]
    fn the_png_decodes_back_to_the_epc_payload() {
        let payload = EpcTransfer {
            bic: String::new(),
            name: "Stadtkasse Musterstadt".into(),
            iban: "DE02120300000000202051".into(),
            amount_cents: Some(2_500),
            remittance: "0042-0000-0071".into(),
            ..Default::default()
        }
        .to_payload()
        .expect("valid transfer");
        let png = png(&payload).expect("renders");
        let img = image::load_from_memory(&png).expect("a PNG").to_luma8();
        let mut prepared = rqrr::PreparedImage::prepare(img);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, content) = grids[0].decode().expect("decodes");
        assert_eq!(content, payload);
    }
}
