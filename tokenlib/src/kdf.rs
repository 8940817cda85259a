//! HKDF and HMAC primitives, all over SHA-256, shared by tokens and Hawk.

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Length of every derived key and every MAC here.
pub(crate) const OUTPUT_LEN: usize = 32;

/// HKDF-SHA256 producing one SHA-256 block of key material.
pub(crate) fn hkdf_sha256(ikm: &[u8], salt: Option<&[u8]>, info: &[u8]) -> [u8; OUTPUT_LEN] {
    let mut okm = [0u8; OUTPUT_LEN];
    Hkdf::<Sha256>::new(salt, ikm)
        .expand(info, &mut okm)
        // RFC 5869 allows up to 255 hash blocks; one block always fits.
        .expect("hkdf can expand to one hash length");
    okm
}

fn keyed(key: &[u8], data: &[u8]) -> HmacSha256 {
    // HMAC hashes long keys and pads short ones, so no key length is rejected.
    let mut mac = HmacSha256::new_from_slice(key).expect("hmac accepts keys of any length");
    mac.update(data);
    mac
}

/// HMAC-SHA256 of `data` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; OUTPUT_LEN] {
    keyed(key, data).finalize().into_bytes().into()
}

/// Whether `tag` is the HMAC-SHA256 of `data` under `key`, compared in constant time.
pub(crate) fn hmac_sha256_matches(key: &[u8], data: &[u8], tag: &[u8]) -> bool {
    keyed(key, data).verify_slice(tag).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hkdf_matches_rfc5869_case_1_prefix() {
        // RFC 5869 appendix A.1, first 32 bytes of the 42-byte OKM.
        let ikm = [0x0bu8; 22];
        let salt: Vec<u8> = (0x00..=0x0c).collect();
        let info: Vec<u8> = (0xf0..=0xf9).collect();
        let okm = hkdf_sha256(&ikm, Some(&salt), &info);
        assert_eq!(hex::encode(okm), "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf");
    }

    #[test]
    fn hmac_verification_rejects_other_tags() {
        let tag = hmac_sha256(b"key", b"data");
        assert!(hmac_sha256_matches(b"key", b"data", &tag));
        assert!(!hmac_sha256_matches(b"key", b"datb", &tag));
        assert!(!hmac_sha256_matches(b"key", b"data", &tag[..31]));
    }
}
