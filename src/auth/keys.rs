//! Where verification keys come from, with the algorithms each key may be used with.
//!
//! A key is only ever paired with algorithms of its own family, so an RSA public key can never
//! verify an HS256 signature, and `none` is not an algorithm here at all.

use std::{
    collections::HashMap,
    hash::{Hash, Hasher},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use jsonwebtoken::{
    Algorithm, DecodingKey,
    jwk::{AlgorithmParameters, EllipticCurve, JwkSet},
};
use parking_lot::{Mutex, RwLock};
use url::Url;

#[derive(Clone)]
pub struct VerificationKey {
    pub key: DecodingKey,
    pub algorithm: Algorithm,
}

pub enum KeySource {
    /// Dev mode only: one shared HS256 secret.
    DevSecret(VerificationKey),
    /// A PEM public key (RSA → RS256, EC P-256 → ES256).
    Pem(VerificationKey),
    Jwks(Arc<JwksCache>),
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the PEM is neither an RSA nor an EC public key")]
    UnsupportedPem,
    #[error("JWKS fetch from {url} failed: {reason}")]
    JwksFetch { url: String, reason: String },
}

impl KeySource {
    pub fn dev_secret(secret: &str) -> Self {
        Self::DevSecret(VerificationKey {
            key: DecodingKey::from_secret(secret.as_bytes()),
            algorithm: Algorithm::HS256,
        })
    }

    pub fn pem(pem: &[u8]) -> Result<Self, KeyError> {
        if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
            return Ok(Self::Pem(VerificationKey { key, algorithm: Algorithm::RS256 }));
        }
        if let Ok(key) = DecodingKey::from_ec_pem(pem) {
            return Ok(Self::Pem(VerificationKey { key, algorithm: Algorithm::ES256 }));
        }
        Err(KeyError::UnsupportedPem)
    }

    /// Identifies the current key set: a verdict reached under another generation is stale.
    pub fn generation(&self) -> u64 {
        match self {
            Self::DevSecret(_) | Self::Pem(_) => 0,
            Self::Jwks(cache) => cache.generation(),
        }
    }
}

/// JWKS keys by `kid`, refreshed in the background and on an unknown `kid` (rate limited).
pub struct JwksCache {
    url: Url,
    http: reqwest::Client,
    /// How long an unknown `kid` must wait before it may trigger another fetch.
    min_refetch_interval: Duration,
    keys: RwLock<HashMap<String, VerificationKey>>,
    /// Hash of the last JWKS document fetched: it changes with the key set, so verdicts cached
    /// under another set (see `Authenticator`) are not trusted, while a periodic refetch of the
    /// same document keeps them.
    document_hash: AtomicU64,
    last_fetch: Mutex<Option<Instant>>,
    fetch_lock: tokio::sync::Mutex<()>,
}

impl JwksCache {
    pub fn new(url: Url, http: reqwest::Client, min_refetch_interval: Duration) -> Self {
        Self {
            url,
            http,
            min_refetch_interval,
            keys: RwLock::new(HashMap::new()),
            document_hash: AtomicU64::new(0),
            last_fetch: Mutex::new(None),
            fetch_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The key for `kid` (or the only key, when the token names none).
    pub async fn key(&self, kid: Option<&str>) -> Option<VerificationKey> {
        if let Some(key) = self.lookup(kid) {
            return Some(key);
        }
        // Unknown kid: the issuer may have rotated keys. Refetch, but at most once a minute so a
        // flood of forged kids cannot turn the gateway into a JWKS hammer.
        let _guard = self.fetch_lock.lock().await;
        if let Some(key) = self.lookup(kid) {
            return Some(key);
        }
        let may_fetch = self.last_fetch.lock().is_none_or(|at| at.elapsed() >= self.min_refetch_interval);
        if may_fetch && let Err(error) = self.fetch().await {
            tracing::warn!(error = %error, "jwks refetch failed");
        }
        self.lookup(kid)
    }

    fn lookup(&self, kid: Option<&str>) -> Option<VerificationKey> {
        let keys = self.keys.read();
        match kid {
            Some(kid) => keys.get(kid).cloned(),
            None if keys.len() == 1 => keys.values().next().cloned(),
            None => None,
        }
    }

    /// Fetches the JWKS and replaces the key set (keys dropped by the issuer stop working).
    pub async fn fetch(&self) -> Result<usize, KeyError> {
        *self.last_fetch.lock() = Some(Instant::now());
        let fail = |reason: String| KeyError::JwksFetch { url: self.url.to_string(), reason };
        let response = self
            .http
            .get(self.url.clone())
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        if !response.status().is_success() {
            return Err(fail(format!("status {}", response.status())));
        }
        let document = response.bytes().await.map_err(|e| fail(e.to_string()))?;
        let set: JwkSet = serde_json::from_slice(&document).map_err(|e| fail(e.to_string()))?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let algorithm = match (&jwk.algorithm, jwk.common.key_algorithm) {
                (AlgorithmParameters::RSA(_), None) => Algorithm::RS256,
                (AlgorithmParameters::EllipticCurve(ec), None) if ec.curve == EllipticCurve::P256 => Algorithm::ES256,
                (AlgorithmParameters::EllipticCurve(ec), None) if ec.curve == EllipticCurve::P384 => Algorithm::ES384,
                (_, Some(alg)) => match alg.to_string().parse::<Algorithm>() {
                    Ok(alg) => alg,
                    Err(_) => continue,
                },
                _ => continue,
            };
            // Symmetric keys never come from a public JWKS.
            if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_))
                || matches!(algorithm, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
            {
                continue;
            }
            let Ok(key) = DecodingKey::from_jwk(jwk) else {
                continue;
            };
            if key.family() != algorithm.family() {
                continue;
            }
            let kid = jwk.common.key_id.clone().unwrap_or_default();
            keys.insert(kid, VerificationKey { key, algorithm });
        }
        let count = keys.len();
        *self.keys.write() = keys;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        document.hash(&mut hasher);
        self.document_hash.store(hasher.finish(), Ordering::Release);
        Ok(count)
    }

    /// Changes whenever the key set does.
    pub fn generation(&self) -> u64 {
        self.document_hash.load(Ordering::Acquire)
    }

    /// Refreshes every `interval` until the cache is dropped.
    pub fn spawn_refresh(self: &Arc<Self>, interval: Duration) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let Some(cache) = weak.upgrade() else { break };
                if let Err(error) = cache.fetch().await {
                    tracing::warn!(error = %error, "jwks refresh failed");
                }
            }
        });
    }
}
