//! Azure AD tokens towards Partner Center (and Microsoft Graph), cached per (partner, flow).
//!
//! - Single-flight per key: N concurrent requests on a cold key cause one token request, and one
//!   partner's slow token endpoint never blocks another partner.
//! - A token is used until `skew` before it expires; past half its life (with jitter) the next
//!   request triggers a background refresh, so callers rarely wait.
//! - An upstream 401 drops exactly the token that was rejected (`invalidate`), never a newer one.
//! - App+user tokens come from the refresh-token grant; Azure AD may rotate the refresh token and
//!   the newest one is kept, and shared with the other replicas when a
//!   [`RefreshTokenStore`] is attached (see its doc for which token wins).
//! - Tokens and secrets live in `SecretString`s and are never logged or shown in errors.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use parking_lot::{Mutex, RwLock};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::time::Instant;
use url::Url;

use crate::{
    error::{Error, ErrorKind, Reason, Result},
    shared_state::RefreshTokenStore,
};

/// The resource (audience) of Microsoft Graph tokens.
pub const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";

/// Tries of one token request before Azure AD is reported unavailable.
const TOKEN_ATTEMPTS: u32 = 3;

/// Which Azure AD flow a Partner Center operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenFlow {
    /// Client credentials.
    AppOnly,
    /// Refresh-token grant of the secure application model.
    AppUser,
    /// Client credentials for Microsoft Graph (billing exports): the same app, resource
    /// `https://graph.microsoft.com`, application permission `PartnerBilling.Read.All`.
    Graph,
}

impl TokenFlow {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AppOnly => "app_only",
            Self::AppUser => "app_user",
            Self::Graph => "graph",
        }
    }
}

/// A secret given inline or as a file that is re-read, so a rotated Kubernetes Secret takes effect
/// without a restart.
#[derive(Clone)]
pub enum SecretSource {
    Inline(SecretString),
    File(PathBuf),
}

impl SecretSource {
    async fn read(&self, what: &str) -> Result<SecretString> {
        match self {
            Self::Inline(secret) => Ok(secret.clone()),
            Self::File(path) => {
                tokio::fs::read_to_string(path).await.map(|s| SecretString::from(s.trim().to_owned())).map_err(|e| {
                    Error::new(ErrorKind::Internal, "the gateway could not read its partner credentials")
                        .with_source(format!("reading the {what} file {}: {e}", path.display()))
                })
            }
        }
    }
}

/// One partner tenant's credentials.
pub struct PartnerCredentials {
    pub id: Arc<str>,
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: SecretSource,
    /// Absent when the app+user flow is not configured for this partner.
    pub refresh_token: Option<RefreshToken>,
}

/// The newest refresh token; a changed file (operator rotation) wins over the one we hold.
pub struct RefreshToken {
    source: SecretSource,
    /// The token in use and the fingerprint of the configured token it descends from (its lineage).
    current: Mutex<Option<(SecretString, Option<String>)>>,
    shared: Option<SharedRefreshToken>,
}

/// Where replicas share this partner's rotations.
struct SharedRefreshToken {
    partner: Arc<str>,
    store: Arc<dyn RefreshTokenStore>,
    /// A rotation that could not be stored (the store was down): ours is newer than the store's.
    unsynced: std::sync::atomic::AtomicBool,
}

impl RefreshToken {
    pub fn new(source: SecretSource) -> Self {
        Self { source, current: Mutex::new(None), shared: None }
    }

    /// Shares rotations with other replicas (and restarts) through `store`.
    pub fn with_shared_store(mut self, partner: Arc<str>, store: Arc<dyn RefreshTokenStore>) -> Self {
        self.shared = Some(SharedRefreshToken { partner, store, unsynced: std::sync::atomic::AtomicBool::new(false) });
        self
    }

    /// The token to redeem and its lineage. With a shared store: the stored token when it descends
    /// from the configured one (or the configured one was superseded elsewhere), else the
    /// configured token, which then becomes the stored lineage (an operator rotation wins). When
    /// the store cannot be read, the local rule alone.
    async fn get(&self) -> Result<(SecretString, String)> {
        let from_source = self.source.read("refresh token").await?;
        let fingerprint = fingerprint(from_source.expose_secret());
        let mut adopt = false;
        if let Some(shared) = &self.shared {
            let unsynced = shared.unsynced.load(std::sync::atomic::Ordering::Acquire);
            match shared.store.load(&shared.partner).await {
                Ok(Some(stored))
                    if (stored.lineage == fingerprint && !unsynced) || stored.superseded.contains(&fingerprint) =>
                {
                    *self.current.lock() = Some((stored.token.clone(), Some(stored.lineage.clone())));
                    return Ok((stored.token, stored.lineage));
                }
                Ok(_) => adopt = true,
                Err(error) => {
                    tracing::warn!(partner = %shared.partner, error = %error.chain(), "shared refresh token unavailable; using this replica's");
                }
            }
        }
        let token = {
            let mut current = self.current.lock();
            match &*current {
                Some((rotated, Some(seen))) if *seen == fingerprint => rotated.clone(),
                _ => {
                    *current = Some((from_source.clone(), Some(fingerprint.clone())));
                    from_source
                }
            }
        };
        if adopt && let Some(shared) = &self.shared {
            self.share(shared, &fingerprint, &token).await;
        }
        Ok((token, fingerprint))
    }

    /// Azure AD returned a new refresh token for one of `lineage`: keep it (the source still shows
    /// the old one) and share it.
    async fn rotate(&self, newest: SecretString, lineage: String) {
        *self.current.lock() = Some((newest.clone(), Some(lineage.clone())));
        if let Some(shared) = &self.shared {
            self.share(shared, &lineage, &newest).await;
        }
    }

    async fn share(&self, shared: &SharedRefreshToken, lineage: &str, token: &SecretString) {
        use std::sync::atomic::Ordering;
        match shared.store.store(&shared.partner, lineage, token).await {
            Ok(true) => shared.unsynced.store(false, Ordering::Release),
            Ok(false) => {
                shared.unsynced.store(false, Ordering::Release);
                tracing::info!(partner = %shared.partner, "an operator replaced this refresh token elsewhere; the shared one wins");
            }
            Err(error) => {
                shared.unsynced.store(true, Ordering::Release);
                tracing::warn!(partner = %shared.partner, error = %error.chain(), "a rotated refresh token was not shared; kept in this replica");
            }
        }
    }
}

/// `hit`: a fresh token served; `refresh`: a token served while a background refresh starts;
/// `miss`: the caller waited for Azure AD.
fn record_lookup(partner: &str, flow: TokenFlow, outcome: &'static str) {
    static HANDLES: std::sync::LazyLock<
        crate::telemetry::HandleCache<(&'static str, TokenFlow, &'static str), metrics::Counter>,
    > = std::sync::LazyLock::new(crate::telemetry::HandleCache::new);
    let key = (crate::telemetry::intern(partner), flow, outcome);
    HANDLES
        .get(key, |&(partner, flow, outcome)| {
            metrics::counter!("gateway_token_cache_total", "partner" => partner, "flow" => flow.as_str(), "outcome" => outcome)
        })
        .increment(1);
}

fn fingerprint(secret: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.as_bytes());
    digest.as_ref().iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// A bearer token for Partner Center. `generation` identifies it for [`TokenCache::invalidate`].
/// Held as the ready `Authorization` value, marked sensitive (it prints as `Sensitive`): every
/// request clones it, which is a reference count, not a copy of the secret.
#[derive(Clone, Debug)]
pub struct AccessToken {
    header: http::HeaderValue,
    generation: u64,
}

impl AccessToken {
    fn new(secret: &str, generation: u64) -> Result<Self> {
        let mut header = http::HeaderValue::try_from(format!("Bearer {secret}")).map_err(|_| {
            Error::new(ErrorKind::UpstreamUnavailable, "Azure AD returned an access token that is not header text")
                .with_reason(Reason::UpstreamTokenFailed)
        })?;
        header.set_sensitive(true);
        Ok(Self { header, generation })
    }

    /// The `Authorization` header value.
    pub fn bearer(&self) -> http::HeaderValue {
        self.header.clone()
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }
}

struct CachedToken {
    token: AccessToken,
    issued_at: Instant,
    expires_at: Instant,
    /// Past this instant a request starts a background refresh.
    refresh_at: Instant,
}

#[derive(Default)]
struct Slot {
    current: RwLock<Option<Arc<CachedToken>>>,
    refresh: tokio::sync::Mutex<()>,
}

type SlotKey = (Arc<str>, TokenFlow);

pub struct TokenCache {
    http: reqwest::Client,
    authority: Url,
    resource: String,
    /// Resource of [`TokenFlow::Graph`] tokens.
    graph_resource: String,
    skew: Duration,
    partners: HashMap<Arc<str>, Arc<PartnerCredentials>>,
    slots: RwLock<HashMap<SlotKey, Arc<Slot>>>,
    generations: AtomicU64,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(deserialize_with = "number_or_string")]
    expires_in: u64,
    #[serde(default)]
    refresh_token: Option<String>,
}

#[derive(Deserialize)]
struct TokenErrorResponse {
    error: String,
}

/// Azure AD v1 writes numbers as strings ("3599"); v2 as numbers.
fn number_or_string<'de, D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Number(u64),
        Text(String),
    }
    match Either::deserialize(deserializer)? {
        Either::Number(n) => Ok(n),
        Either::Text(s) => s.trim().parse().map_err(serde::de::Error::custom),
    }
}

impl TokenCache {
    pub fn new(
        http: reqwest::Client,
        authority: Url,
        resource: String,
        skew: Duration,
        partners: impl IntoIterator<Item = PartnerCredentials>,
    ) -> Self {
        Self {
            http,
            authority,
            resource,
            graph_resource: GRAPH_RESOURCE.to_owned(),
            skew,
            partners: partners.into_iter().map(|p| (p.id.clone(), Arc::new(p))).collect(),
            slots: RwLock::new(HashMap::new()),
            generations: AtomicU64::new(1),
        }
    }

    /// Asks Azure AD for Graph tokens with this resource (default `https://graph.microsoft.com`).
    pub fn with_graph_resource(mut self, resource: String) -> Self {
        self.graph_resource = resource;
        self
    }

    /// A valid token for `partner` and `flow`, from the cache when possible.
    pub async fn get(self: &Arc<Self>, partner: &str, flow: TokenFlow) -> Result<AccessToken> {
        let credentials = self.credentials(partner)?;
        if flow == TokenFlow::AppUser && credentials.refresh_token.is_none() {
            return Err(Error::new(
                ErrorKind::NotConfigured,
                format!(
                    "this operation needs Partner Center's app+user authentication; set \
                     partner_center.partners[id={partner}].refresh_token (or refresh_token_file)"
                ),
            )
            .with_reason(Reason::AppUserFlowNotConfigured));
        }
        let slot = self.slot(&credentials.id, flow);
        let now = Instant::now();
        if let Some(cached) = Self::usable(&slot, now, self.skew) {
            let outcome = if now >= cached.refresh_at {
                self.refresh_in_background(credentials.clone(), flow, slot.clone());
                "refresh"
            } else {
                "hit"
            };
            record_lookup(&credentials.id, flow, outcome);
            return Ok(cached.token.clone());
        }
        let _guard = slot.refresh.lock().await;
        // Whoever held the lock before us may have fetched one already: that is the single flight.
        if let Some(cached) = Self::usable(&slot, Instant::now(), self.skew) {
            record_lookup(&credentials.id, flow, "hit");
            return Ok(cached.token.clone());
        }
        record_lookup(&credentials.id, flow, "miss");
        self.fetch_into(&credentials, flow, &slot).await
    }

    /// Drops `token` if it is still the cached one (Partner Center answered 401 to it).
    pub fn invalidate(&self, partner: &str, flow: TokenFlow, token: &AccessToken) {
        let slot = self.slots.read().get(&(Arc::from(partner), flow)).cloned();
        if let Some(slot) = slot {
            let mut current = slot.current.write();
            if current.as_ref().is_some_and(|c| c.token.generation == token.generation) {
                *current = None;
            }
        }
    }

    fn credentials(&self, partner: &str) -> Result<Arc<PartnerCredentials>> {
        self.partners.get(partner).cloned().ok_or_else(|| {
            Error::new(ErrorKind::Internal, "the gateway has no credentials for this partner")
                .with_source(format!("unknown partner {partner}"))
        })
    }

    fn slot(&self, partner: &Arc<str>, flow: TokenFlow) -> Arc<Slot> {
        let key = (partner.clone(), flow);
        if let Some(slot) = self.slots.read().get(&key) {
            return slot.clone();
        }
        self.slots.write().entry(key).or_default().clone()
    }

    fn usable(slot: &Slot, now: Instant, skew: Duration) -> Option<Arc<CachedToken>> {
        let current = slot.current.read();
        current.as_ref().filter(|c| c.is_usable(now, skew)).cloned()
    }

    fn refresh_in_background(self: &Arc<Self>, credentials: Arc<PartnerCredentials>, flow: TokenFlow, slot: Arc<Slot>) {
        let cache = self.clone();
        tokio::spawn(async move {
            // Someone is already refreshing: nothing to do.
            let Ok(_guard) = slot.refresh.try_lock() else {
                return;
            };
            let still_due = slot.current.read().as_ref().is_none_or(|c| Instant::now() >= c.refresh_at);
            if still_due && let Err(error) = cache.fetch_into(&credentials, flow, &slot).await {
                tracing::warn!(partner = %credentials.id, flow = flow.as_str(), error = %error.chain(), "background token refresh failed");
            }
        });
    }

    async fn fetch_into(&self, credentials: &PartnerCredentials, flow: TokenFlow, slot: &Slot) -> Result<AccessToken> {
        let started = Instant::now();
        let response = self.request_token(credentials, flow).await;
        metrics::counter!("gateway_token_requests_total", "partner" => credentials.id.to_string(), "flow" => flow.as_str(), "outcome" => if response.is_ok() { "ok" } else { "error" }).increment(1);
        let response = response?;
        let lifetime = Duration::from_secs(response.expires_in.max(1));
        let jitter = rand::rng().random_range(0.0..0.1);
        let cached = CachedToken {
            token: AccessToken::new(&response.access_token, self.generations.fetch_add(1, Ordering::Relaxed))?,
            issued_at: started,
            expires_at: started + lifetime,
            refresh_at: started + lifetime.mul_f64(0.5 + jitter),
        };
        let token = cached.token.clone();
        *slot.current.write() = Some(Arc::new(cached));
        tracing::debug!(partner = %credentials.id, flow = flow.as_str(), expires_in = lifetime.as_secs(), "partner center token acquired");
        Ok(token)
    }

    async fn request_token(&self, credentials: &PartnerCredentials, flow: TokenFlow) -> Result<TokenResponse> {
        let client_secret = credentials.client_secret.read("client secret").await?;
        let url = self
            .authority
            .join(&format!("{}/oauth2/token", credentials.tenant_id))
            .map_err(|e| Error::internal(format!("token endpoint url: {e}")))?;
        let mut form: Vec<(&str, String)> = vec![
            ("client_id", credentials.client_id.clone()),
            ("client_secret", client_secret.expose_secret().to_owned()),
            ("resource", if flow == TokenFlow::Graph { self.graph_resource.clone() } else { self.resource.clone() }),
        ];
        let refresh = match (flow, &credentials.refresh_token) {
            (TokenFlow::AppOnly | TokenFlow::Graph, _) => {
                form.push(("grant_type", "client_credentials".to_owned()));
                None
            }
            (TokenFlow::AppUser, Some(refresh)) => {
                let (token, lineage) = refresh.get().await?;
                form.push(("grant_type", "refresh_token".to_owned()));
                form.push(("refresh_token", token.expose_secret().to_owned()));
                form.push(("scope", "openid".to_owned()));
                Some((refresh, lineage))
            }
            (TokenFlow::AppUser, None) => {
                return Err(Error::internal("app+user flow without a refresh token"));
            }
        };
        let audience = if flow == TokenFlow::Graph { "Microsoft Graph" } else { "Partner Center" };
        let unavailable = |what: String| {
            Error::new(ErrorKind::UpstreamUnavailable, format!("Azure AD did not issue a token for {audience}"))
                .with_reason(Reason::UpstreamTokenFailed)
                .with_source(what)
        };
        // Azure AD blips (no answer, 5xx, 429) are retried; a refusal is final. Re-sending is safe:
        // Azure AD keeps a redeemed refresh token valid, so a lost answer costs nothing.
        let mut attempt = 0;
        let (status, body) = loop {
            attempt += 1;
            let sent = self.http.post(url.clone()).form(&form).timeout(Duration::from_secs(15)).send().await;
            let outcome = match sent {
                Ok(response) => {
                    let status = response.status();
                    response.bytes().await.map(|body| (status, body))
                }
                Err(error) => Err(error),
            };
            match outcome {
                Ok((status, _)) if (status.is_server_error() || status.as_u16() == 429) && attempt < TOKEN_ATTEMPTS => {
                }
                Ok(answer) => break answer,
                Err(_) if attempt < TOKEN_ATTEMPTS => {}
                Err(error) => return Err(unavailable(format!("token request failed: {}", error.without_url()))),
            }
            tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
        };
        if !status.is_success() {
            // Only Azure AD's error code: its description may echo request details.
            let code = serde_json::from_slice::<TokenErrorResponse>(&body).map(|e| e.error).unwrap_or_default();
            tracing::error!(partner = %credentials.id, flow = flow.as_str(), %status, aad_error = %code, "azure ad refused the partner credentials");
            return Err(unavailable(format!("azure ad answered {status} {code}")));
        }
        let parsed: TokenResponse =
            serde_json::from_slice(&body).map_err(|e| unavailable(format!("token response is malformed: {e}")))?;
        if let (Some((refresh, lineage)), Some(newest)) = (refresh, &parsed.refresh_token) {
            refresh.rotate(SecretString::from(newest.clone()), lineage).await;
        }
        Ok(parsed)
    }
}

impl CachedToken {
    fn lifetime(&self) -> Duration {
        self.expires_at.saturating_duration_since(self.issued_at)
    }

    /// Usable until `skew` before expiry (for short-lived tokens, until half their life).
    fn is_usable(&self, now: Instant, skew: Duration) -> bool {
        now + skew.min(self.lifetime() / 2) < self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(lifetime: Duration) -> (CachedToken, Instant) {
        let issued_at = Instant::now();
        let cached = CachedToken {
            token: AccessToken::new("t", 1).expect("token"),
            issued_at,
            expires_at: issued_at + lifetime,
            refresh_at: issued_at + lifetime / 2,
        };
        (cached, issued_at)
    }

    #[test]
    fn an_hour_token_is_used_until_five_minutes_before_expiry() {
        let skew = Duration::from_secs(300);
        let (cached, t0) = token(Duration::from_secs(3600));
        assert!(cached.is_usable(t0, skew));
        assert!(cached.is_usable(t0 + Duration::from_secs(54 * 60), skew));
        assert!(!cached.is_usable(t0 + Duration::from_secs(55 * 60), skew));
        assert!(!cached.is_usable(t0 + Duration::from_secs(3600), skew));
    }

    #[test]
    fn a_short_token_is_used_for_half_its_life() {
        let skew = Duration::from_secs(300);
        let (cached, t0) = token(Duration::from_secs(120));
        assert!(cached.is_usable(t0 + Duration::from_secs(59), skew));
        assert!(!cached.is_usable(t0 + Duration::from_secs(60), skew));
    }

    fn token_file(content: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!("pcg-refresh-token-{}", uuid::Uuid::new_v4()));
        std::fs::write(&path, content).expect("write");
        path
    }

    async fn current(token: &RefreshToken) -> String {
        token.get().await.expect("token").0.expose_secret().to_owned()
    }

    #[tokio::test]
    async fn rotations_are_shared_newest_wins_and_an_operator_rotation_wins_over_the_stored_one() {
        use crate::shared_state::InMemoryRefreshTokens;
        let store: Arc<dyn RefreshTokenStore> = Arc::new(InMemoryRefreshTokens::default());
        let (file_a, file_b) = (token_file("rt-0"), token_file("rt-0"));
        let replica = |file: &PathBuf| {
            RefreshToken::new(SecretSource::File(file.clone())).with_shared_store(Arc::from("p"), store.clone())
        };
        let (a, b) = (replica(&file_a), replica(&file_b));

        let (_, lineage) = a.get().await.expect("token");
        a.rotate(SecretString::from("rt-1".to_owned()), lineage).await;
        assert_eq!(current(&b).await, "rt-1", "B redeems what A was given");
        let (_, lineage) = b.get().await.expect("token");
        b.rotate(SecretString::from("rt-2".to_owned()), lineage).await;
        assert_eq!(current(&a).await, "rt-2", "the newest rotation wins");
        assert_eq!(current(&replica(&file_a)).await, "rt-2", "a restarted replica too");

        // The operator puts a new token in A's Secret; B's volume still shows the old one.
        std::fs::write(&file_a, "op-1").expect("write");
        assert_eq!(current(&a).await, "op-1", "the operator's token wins over the stored rotation");
        assert_eq!(current(&b).await, "op-1", "a replica with the superseded file uses the operator's token");
        let old_lineage = fingerprint("rt-0");
        let refused = store.store("p", &old_lineage, &SecretString::from("late".to_owned())).await.expect("store");
        assert!(!refused, "a write of the superseded lineage is refused");
        assert_eq!(current(&a).await, "op-1");
        let (_, lineage) = b.get().await.expect("token");
        b.rotate(SecretString::from("op-1-rotated".to_owned()), lineage).await;
        assert_eq!(current(&a).await, "op-1-rotated", "rotations of the operator's token are shared");
        for file in [file_a, file_b] {
            let _ = std::fs::remove_file(file);
        }
    }

    /// A store that is down.
    struct Unreachable;

    #[async_trait::async_trait]
    impl RefreshTokenStore for Unreachable {
        async fn load(&self, _: &str) -> Result<Option<crate::shared_state::StoredRefreshToken>> {
            Err(crate::shared_state::unavailable("down"))
        }
        async fn store(&self, _: &str, _: &str, _: &SecretString) -> Result<bool> {
            Err(crate::shared_state::unavailable("down"))
        }
    }

    #[tokio::test]
    async fn without_the_store_a_replica_keeps_its_own_rotation() {
        let token = RefreshToken::new(SecretSource::Inline(SecretString::from("rt-0".to_owned())))
            .with_shared_store(Arc::from("p"), Arc::new(Unreachable));
        let (_, lineage) = token.get().await.expect("the configured token");
        token.rotate(SecretString::from("rt-1".to_owned()), lineage).await;
        assert_eq!(current(&token).await, "rt-1");
    }

    #[test]
    fn access_tokens_print_only_as_the_header_value() {
        let token = AccessToken::new("eyJ-the-actual-token", 7).expect("token");
        assert_eq!(token.bearer(), "Bearer eyJ-the-actual-token");
        assert!(token.bearer().is_sensitive());
        assert!(!format!("{token:?}").contains("the-actual-token"));
        assert!(AccessToken::new("line\nbreak", 8).is_err(), "not header text");
    }
}
