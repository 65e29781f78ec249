//! AES-256-GCM for secrets the gateway keeps in the shared store (rotated refresh tokens).
//!
//! A sealed value is `v1.` + base64(nonce ‖ ciphertext ‖ tag), with a random 96-bit nonce per
//! value. The associated data is the Redis key the value is stored under, so a value copied to
//! another partner's key does not open.

use aws_lc_rs::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    rand::{SecureRandom, SystemRandom},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use secrecy::{ExposeSecret, SecretString};

const PREFIX: &str = "v1.";

/// The key, never printed.
pub struct SealingKey {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey([redacted])")
    }
}

impl SealingKey {
    /// From the text of a key file: 32 bytes as base64 (44 characters) or hex (64 characters),
    /// surrounding whitespace ignored. The error never repeats the text.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32).map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16)).collect::<Result<Vec<u8>, _>>().ok()
        } else {
            STANDARD.decode(text).ok()
        };
        let bytes = bytes.filter(|b| b.len() == 32).ok_or("must hold 32 bytes as base64 or 64 hex digits")?;
        let key = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| "is not a usable AES-256 key")?;
        Ok(Self { key: LessSafeKey::new(key), rng: SystemRandom::new() })
    }

    /// Encrypts `secret`, bound to `context` (the storage key).
    pub fn seal(&self, context: &str, secret: &SecretString) -> Result<String, &'static str> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| "no randomness for a nonce")?;
        let mut in_out = secret.expose_secret().as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(context.as_bytes()), &mut in_out)
            .map_err(|_| "encryption failed")?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&in_out);
        Ok(format!("{PREFIX}{}", STANDARD.encode(sealed)))
    }

    /// Decrypts a value [`seal`](Self::seal) made for the same `context`.
    pub fn open(&self, context: &str, sealed: &str) -> Result<SecretString, &'static str> {
        let encoded = sealed.strip_prefix(PREFIX).ok_or("unknown format")?;
        let mut bytes = STANDARD.decode(encoded).map_err(|_| "not base64")?;
        if bytes.len() < NONCE_LEN {
            return Err("too short");
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&bytes[..NONCE_LEN]);
        let plain = self
            .key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(context.as_bytes()), &mut bytes[NONCE_LEN..])
            .map_err(|_| "does not open with this key (another key, or altered)")?;
        let text = String::from_utf8(plain.to_vec()).map_err(|_| "not text")?;
        Ok(SecretString::from(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_context() {
        let key = SealingKey::parse(KEY_B64).expect("base64 key");
        let sealed = key.seal("pcg:{contoso}:refresh", &SecretString::from("rt-secret")).expect("seal");
        assert!(!sealed.contains("rt-secret"));
        assert_eq!(key.open("pcg:{contoso}:refresh", &sealed).expect("open").expose_secret(), "rt-secret");
        assert!(key.open("pcg:{northwind}:refresh", &sealed).is_err(), "bound to its key name");
        let other = SealingKey::parse(&"ab".repeat(32)).expect("hex key");
        assert!(other.open("pcg:{contoso}:refresh", &sealed).is_err(), "another key");
        let again = key.seal("pcg:{contoso}:refresh", &SecretString::from("rt-secret")).expect("seal");
        assert_ne!(sealed, again, "a fresh nonce each time");
    }

    #[test]
    fn keys_must_be_32_bytes_and_errors_do_not_repeat_them() {
        for bad in ["", "short", &"ab".repeat(31), "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd"] {
            let error = SealingKey::parse(bad).expect_err(bad);
            assert!(bad.is_empty() || !error.contains(bad));
        }
        assert!(format!("{:?}", SealingKey::parse(KEY_B64).expect("key")).contains("redacted"));
    }
}
