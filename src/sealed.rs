//! Sealed values: a serde value encrypted and authenticated (AES-256-GCM, aws-lc-rs) into an
//! opaque URL-safe string, for handles the gateway gives callers and takes back (billing export
//! ids; page tokens may follow). A caller can neither read nor change what is inside: any edit,
//! a value sealed for another purpose, or one sealed with another key fails to open.
//!
//! Each [`Sealer`] serves one purpose. Its key is derived with HKDF-SHA256 from a shared secret
//! (`paging.token_secret`, so replicas and restarts agree) and the purpose label, so two purposes
//! never share a key even when they share the secret; without a secret the key is random (values
//! then open only in the process that sealed them). The purpose is also the AEAD's associated
//! data. Every seal takes a fresh random 96-bit nonce.
//!
//! Format: base64url (no padding) of `version (1 byte) ‖ nonce (12) ‖ ciphertext ‖ tag (16)`;
//! the plaintext is the value's JSON.

use aws_lc_rs::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    hkdf,
    rand::{SecureRandom, SystemRandom},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Serialize, de::DeserializeOwned};

use crate::error::{Error, Result};

const VERSION: u8 = 1;
const TAG_LEN: usize = 16;
/// HKDF salt: fixed, so the same secret and purpose always give the same key.
const SALT: &[u8] = b"partner-center-gateway/sealed/v1";

/// Why a sealed string did not open. Callers turn this into their own answer (a 404 for an
/// unknown handle, a 400 for a bad token); the distinction is never shown to a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("not a sealed value (encoding or length)")]
    Malformed,
    #[error("sealed with another key or purpose, or altered")]
    Forged,
    #[error("the sealed value has another shape")]
    Shape,
}

/// Seals and opens values for one purpose.
pub struct Sealer {
    key: LessSafeKey,
    purpose: &'static str,
    random: SystemRandom,
    max_len: usize,
}

struct KeyLen;

impl hkdf::KeyType for KeyLen {
    fn len(&self) -> usize {
        32
    }
}

impl Sealer {
    /// A sealer for `purpose` (a label such as `billing-export-id/v1`), keyed from `secret`, or
    /// randomly when there is none. Sealed strings longer than `max_len` are refused unopened.
    pub fn new(secret: Option<&[u8]>, purpose: &'static str, max_len: usize) -> Result<Self> {
        let random = SystemRandom::new();
        let mut key = [0u8; 32];
        match secret {
            Some(secret) => hkdf::Salt::new(hkdf::HKDF_SHA256, SALT)
                .extract(secret)
                .expand(&[purpose.as_bytes()], KeyLen)
                .and_then(|okm| okm.fill(&mut key))
                .map_err(|_| Error::internal("deriving a sealing key failed"))?,
            None => random.fill(&mut key).map_err(|_| Error::internal("no randomness for a sealing key"))?,
        }
        let key = UnboundKey::new(&AES_256_GCM, &key).map_err(|_| Error::internal("bad sealing key length"))?;
        Ok(Self { key: LessSafeKey::new(key), purpose, random, max_len })
    }

    /// `value` as an opaque string.
    pub fn seal<T: Serialize>(&self, value: &T) -> Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random.fill(&mut nonce).map_err(|_| Error::internal("no randomness for a nonce"))?;
        let mut in_out = serde_json::to_vec(value).map_err(Error::internal)?;
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(self.purpose.as_bytes()),
                &mut in_out,
            )
            .map_err(|_| Error::internal("sealing failed"))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + in_out.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&in_out);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    /// The value inside `sealed`, if this sealer sealed it and nobody changed it.
    pub fn open<T: DeserializeOwned>(&self, sealed: &str) -> std::result::Result<T, OpenError> {
        if sealed.len() > self.max_len {
            return Err(OpenError::Malformed);
        }
        let bytes = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| OpenError::Malformed)?;
        if bytes.len() < 1 + NONCE_LEN + TAG_LEN || bytes[0] != VERSION {
            return Err(OpenError::Malformed);
        }
        let nonce = Nonce::try_assume_unique_for_key(&bytes[1..=NONCE_LEN]).map_err(|_| OpenError::Malformed)?;
        let mut in_out = bytes[1 + NONCE_LEN..].to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(self.purpose.as_bytes()), &mut in_out)
            .map_err(|_| OpenError::Forged)?;
        serde_json::from_slice(plain).map_err(|_| OpenError::Shape)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Handle {
        partner: String,
        operation: String,
    }

    fn handle() -> Handle {
        Handle { partner: "contoso".into(), operation: "6fe687d7-1e0f-4bd6-9091-4672691f64bc".into() }
    }

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn a_value_round_trips_and_hides_its_content() {
        let sealer = Sealer::new(Some(SECRET), "test/v1", 1024).expect("key");
        let sealed = sealer.seal(&handle()).expect("seal");
        assert!(!sealed.contains("contoso") && !sealed.contains("6fe687d7"), "{sealed}");
        assert!(sealed.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "url-safe: {sealed}");
        assert_eq!(sealer.open::<Handle>(&sealed), Ok(handle()));
        assert_ne!(sealer.seal(&handle()).expect("seal"), sealed, "a fresh nonce every time");
    }

    #[test]
    fn the_same_secret_opens_across_processes_but_not_across_purposes() {
        let a = Sealer::new(Some(SECRET), "exports/v1", 1024).expect("key");
        let restarted = Sealer::new(Some(SECRET), "exports/v1", 1024).expect("key");
        let other_purpose = Sealer::new(Some(SECRET), "pages/v1", 1024).expect("key");
        let other_secret = Sealer::new(Some(b"another secret, also 32 bytes long"), "exports/v1", 1024).expect("key");
        let random = Sealer::new(None, "exports/v1", 1024).expect("key");
        let sealed = a.seal(&handle()).expect("seal");
        assert_eq!(restarted.open::<Handle>(&sealed), Ok(handle()));
        assert_eq!(other_purpose.open::<Handle>(&sealed), Err(OpenError::Forged));
        assert_eq!(other_secret.open::<Handle>(&sealed), Err(OpenError::Forged));
        assert_eq!(random.open::<Handle>(&sealed), Err(OpenError::Forged));
    }

    #[test]
    fn every_flipped_bit_and_every_malformed_string_is_refused() {
        let sealer = Sealer::new(Some(SECRET), "test/v1", 1024).expect("key");
        let bytes = URL_SAFE_NO_PAD.decode(sealer.seal(&handle()).expect("seal")).expect("base64");
        for index in 0..bytes.len() {
            let mut edited = bytes.clone();
            edited[index] ^= 0x01;
            assert!(sealer.open::<Handle>(&URL_SAFE_NO_PAD.encode(&edited)).is_err(), "bit flip at {index}");
        }
        for bad in ["", "!!!", "AAAA", &"A".repeat(2000)] {
            assert_eq!(sealer.open::<Handle>(bad), Err(OpenError::Malformed), "{bad:?}");
        }
        let truncated = URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() - 1]);
        assert!(sealer.open::<Handle>(&truncated).is_err());
        let sealed_other_shape = sealer.seal(&42u32).expect("seal");
        assert_eq!(sealer.open::<Handle>(&sealed_other_shape), Err(OpenError::Shape));
    }
}
