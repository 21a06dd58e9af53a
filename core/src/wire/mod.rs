//! Wire types shared by device, server and enclave: the envelope layout, the sealed record,
//! the device–server API bodies with their receipts, the enclave protocol, and the web relay's
//! preamble.

pub mod enclave;
pub mod envelope;
pub mod record;
pub mod relay;
pub mod web;

/// Serde for fixed-size byte arrays as lower-case hex strings (`#[serde(with = "hex_array")]`).
pub(crate) mod hex_array {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub(crate) fn serialize<S: Serializer, const N: usize>(bytes: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::seal::hex_lower(bytes))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>, const N: usize>(d: D) -> Result<[u8; N], D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        crate::seal::decode_hex(&s)
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| D::Error::custom(format_args!("expected {} bytes of lower-case hex", N)))
    }
}

/// Serde for a list of 32-byte digests as hex strings.
pub(crate) mod hex_digests {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _, ser::SerializeSeq as _};

    pub(crate) fn serialize<S: Serializer>(list: &[[u8; 32]], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(list.len()))?;
        for d in list {
            seq.serialize_element(&crate::seal::hex_lower(d))?;
        }
        seq.end()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[u8; 32]>, D::Error> {
        let list = Vec::<String>::deserialize(d)?;
        list.iter()
            .map(|s| {
                crate::seal::decode_hex(s)
                    .and_then(|v| v.try_into().ok())
                    .ok_or_else(|| D::Error::custom("expected 32 bytes of lower-case hex"))
            })
            .collect()
    }
}
