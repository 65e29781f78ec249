//! Settings, loaded in layers: code defaults, an optional TOML file (`--config` / `GATEWAY_CONFIG`),
//! environment variables (`GATEWAY_` prefix, `__` between levels, e.g. `GATEWAY_REST__LISTEN`), then
//! command-line flags (`--set key=value` for any key). Unknown keys and bad values fail at start with
//! a message naming the key; [`Settings::validate`] then checks what types alone cannot.
//!
//! `docs/configuration.md` documents every key; a test fails when one is missing there.

use std::{fmt, net::SocketAddr, path::PathBuf, str::FromStr, time::Duration};

use figment::{
    Figment,
    providers::{Format, Toml},
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;
use uuid::Uuid;

/// A setting that is wrong, named by its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self { key: key.into(), message: message.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid setting {}: {}", self.key, self.message)
    }
}

impl std::error::Error for ConfigError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// Human-readable logs; the built-in simulator and dev auth are allowed.
    #[default]
    Development,
    /// JSON logs; no simulator unless asked for, no dev auth.
    Production,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// `development` or `production`.
    pub environment: Environment,
    pub rest: RestSettings,
    pub grpc: GrpcSettings,
    pub auth: AuthSettings,
    pub partner_center: PartnerCenterSettings,
    /// Microsoft Graph (billing exports).
    pub graph: GraphSettings,
    pub catalog: CatalogSettings,
    pub paging: PagingSettings,
    pub commerce: CommerceSettings,
    pub limits: LimitSettings,
    pub cors: CorsSettings,
    pub log: LogSettings,
    pub tracing: TracingSettings,
    pub metrics: MetricsSettings,
    pub simulator: SimulatorSettings,
    pub redis: RedisSettings,
    pub runtime: RuntimeSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RestSettings {
    /// Address of the REST (HTTP/1.1 and h2c) listener.
    pub listen: SocketAddr,
    /// Longest a REST request may take, upstream retries included.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Largest accepted request body.
    pub body_limit_bytes: usize,
    /// How long shutdown waits for in-flight requests.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// On shutdown, how long the gateway keeps serving while reporting not-ready, so load
    /// balancers stop sending before the listeners close.
    #[serde(with = "humantime_serde")]
    pub shutdown_delay: Duration,
    /// Serve the OpenAPI document at `/openapi.json`.
    pub openapi_json: bool,
    /// Serve Swagger UI at `/swagger-ui/` (needs `openapi_json`).
    pub swagger_ui: bool,
}

impl Default for RestSettings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            request_timeout: Duration::from_secs(30),
            body_limit_bytes: 1024 * 1024,
            shutdown_grace: Duration::from_secs(25),
            shutdown_delay: Duration::ZERO,
            openapi_json: true,
            swagger_ui: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcSettings {
    /// Address of the gRPC (h2c) listener.
    pub listen: SocketAddr,
    /// Deadline applied when the caller sends no `grpc-timeout`.
    #[serde(with = "humantime_serde")]
    pub default_timeout: Duration,
    /// Largest request message accepted (the gateway's requests are small; this bounds what one
    /// stream may make it buffer).
    pub max_message_bytes: usize,
}

impl Default for GrpcSettings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            default_timeout: Duration::from_secs(30),
            max_message_bytes: 64 * 1024,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// HS256 tokens signed with `auth.dev_secret` (see `partner-center-gateway dev-token`).
    Dev,
    /// Tokens from a real issuer: `auth.jwks_url` or `auth.public_key_file` / `auth.public_key_pem`.
    Jwt,
}

/// A development-only signing secret, so `cargo run` and `dev-token` agree out of the box.
pub const DEFAULT_DEV_SECRET: &str = "partner-center-gateway-development-secret-do-not-use-in-production";
pub const DEFAULT_DEV_ISSUER: &str = "partner-center-gateway-dev";
pub const DEFAULT_DEV_AUDIENCE: &str = "partner-center-gateway";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// `dev` or `jwt`; unset means `dev` with the built-in simulator and `jwt` otherwise.
    pub mode: Option<AuthMode>,
    /// Required `iss` claim.
    pub issuer: Option<String>,
    /// Required `aud` claim.
    pub audience: Option<String>,
    /// Clock skew allowed on `exp` and `nbf` (at most 60 s).
    #[serde(with = "humantime_serde")]
    pub leeway: Duration,
    /// HS256 secret for dev mode only.
    pub dev_secret: Option<SecretString>,
    /// PEM public key (RSA or EC) given inline.
    pub public_key_pem: Option<String>,
    /// PEM public key (RSA or EC) read from a file.
    pub public_key_file: Option<PathBuf>,
    /// JWKS document URL; keys are cached and refetched on an unknown `kid` at most once a minute.
    pub jwks_url: Option<Url>,
    /// How often the JWKS is refreshed in the background.
    #[serde(with = "humantime_serde")]
    pub jwks_refresh_interval: Duration,
    /// Least time between two JWKS fetches caused by tokens with an unknown `kid`.
    #[serde(with = "humantime_serde")]
    pub jwks_min_refetch_interval: Duration,
    /// Bearer tokens longer than this are rejected before parsing.
    pub max_token_bytes: usize,
    /// Tokens that live longer than this (`exp` − `iat`, or `exp` − now without `iat`) are
    /// refused: a leaked long-lived token is a standing key.
    #[serde(with = "humantime_serde")]
    pub max_token_lifetime: Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            mode: None,
            issuer: None,
            audience: None,
            leeway: Duration::from_secs(30),
            dev_secret: None,
            public_key_pem: None,
            public_key_file: None,
            jwks_url: None,
            jwks_refresh_interval: Duration::from_secs(600),
            jwks_min_refetch_interval: Duration::from_secs(60),
            max_token_bytes: 8 * 1024,
            max_token_lifetime: Duration::from_secs(24 * 3600),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PartnerCenterSettings {
    /// Partner Center API root, e.g. `https://api.partnercenter.microsoft.com`. Unset: the built-in simulator.
    pub base_url: Option<Url>,
    /// Azure AD authority; tokens come from `{authority}/{tenant}/oauth2/token`.
    pub authority: Option<Url>,
    /// Resource (audience) requested for Partner Center tokens.
    pub resource: String,
    /// The partner tenants this gateway acts for.
    pub partners: Vec<PartnerSettings>,
    /// Timeout of opening a connection to Partner Center or Azure AD.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Timeout of one upstream attempt.
    #[serde(with = "humantime_serde")]
    pub attempt_timeout: Duration,
    /// Retries of failed upstream calls.
    pub retry: RetrySettings,
    /// Per-partner circuit breaker.
    pub circuit_breaker: CircuitBreakerSettings,
    /// Requests per minute the gateway lets through per partner tenant and throttled resource
    /// (orders, subscriptions, customers, product upgrades); Partner Center's documented limit is
    /// 500. 0 turns the budget off.
    pub budget_per_minute: u32,
    /// How many of those may go at once; the rest are spread over the minute.
    pub budget_burst: u32,
    /// The fraction of that budget one caller may spend (0 < share ≤ 1), so one caller cannot
    /// leave the others of its partner throttled.
    pub caller_budget_share: f64,
    /// A cached token is renewed this long before it expires.
    #[serde(with = "humantime_serde")]
    pub token_refresh_skew: Duration,
    /// Concurrent identical reads (same partner, URL, headers and locale) share one upstream call.
    pub coalesce_reads: bool,
    /// Short-lived caching of chosen reads, opted in per operation.
    pub response_cache: ResponseCacheSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResponseCacheSettings {
    /// How long the answers of each opted-in read operation are kept, e.g.
    /// `{ "customers.list" = "60s", "agreements.metadata" = "300s" }`. Empty: nothing is cached.
    /// Keys are the operation names of `gateway_upstream_requests_total`.
    pub ttl: std::collections::BTreeMap<String, humantime_serde::Serde<Duration>>,
    /// Bytes of cached answers kept at most per replica (least recently used go first).
    pub max_bytes: u64,
}

impl Default for ResponseCacheSettings {
    fn default() -> Self {
        Self { ttl: std::collections::BTreeMap::new(), max_bytes: 64 * 1024 * 1024 }
    }
}

pub const PARTNER_CENTER_RESOURCE: &str = "https://api.partnercenter.microsoft.com";
pub const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";

impl Default for PartnerCenterSettings {
    fn default() -> Self {
        Self {
            base_url: None,
            authority: None,
            resource: PARTNER_CENTER_RESOURCE.to_owned(),
            partners: Vec::new(),
            connect_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(20),
            retry: RetrySettings::default(),
            circuit_breaker: CircuitBreakerSettings::default(),
            budget_per_minute: 500,
            budget_burst: 50,
            caller_budget_share: 0.5,
            token_refresh_skew: Duration::from_secs(300),
            coalesce_reads: true,
            response_cache: ResponseCacheSettings::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GraphSettings {
    /// Microsoft Graph root with its version. Unset: `https://graph.microsoft.com/v1.0/`, or the
    /// built-in simulator's Graph when the gateway runs against it.
    pub base_url: Option<Url>,
    /// Resource (audience) requested for Graph tokens (client credentials, from the partner's
    /// app, which needs the application permission `PartnerBilling.Read.All`).
    pub resource: String,
    /// Hosts export manifests and data files may be downloaded from, over HTTPS only: DNS names
    /// or `*.` wildcards. The Graph host is always allowed.
    pub allowed_hosts: Vec<String>,
    /// Exact `http://host:port` origins also allowed (development only, e.g. a simulator started
    /// with `partner-center-gateway simulate`; the built-in simulator's are added by themselves).
    pub allowed_http_origins: Vec<Url>,
    /// Wait between polls of a running export when Graph sends no `Retry-After`.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// Longest a read of a running export waits for it to finish when the caller set no deadline.
    #[serde(with = "humantime_serde")]
    pub read_wait: Duration,
    /// How long an export's manifest (and its access signature) is reused.
    #[serde(with = "humantime_serde")]
    pub manifest_ttl: Duration,
    /// Export readers kept open between two page requests (each holds one download).
    pub resume_capacity: u64,
    /// How long such a reader waits for the next page request.
    #[serde(with = "humantime_serde")]
    pub resume_ttl: Duration,
}

pub const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";

impl Default for GraphSettings {
    fn default() -> Self {
        Self {
            base_url: None,
            resource: GRAPH_RESOURCE.to_owned(),
            allowed_hosts: vec!["*.blob.core.windows.net".to_owned()],
            allowed_http_origins: Vec::new(),
            poll_interval: Duration::from_secs(10),
            read_wait: Duration::from_secs(120),
            manifest_ttl: Duration::from_secs(600),
            resume_capacity: 64,
            resume_ttl: Duration::from_secs(120),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetrySettings {
    /// Attempts per logical call, the first included.
    pub max_attempts: u32,
    /// First backoff; doubles per attempt, with full jitter.
    #[serde(with = "humantime_serde")]
    pub base_delay: Duration,
    /// Longest single wait, `Retry-After` included; a longer `Retry-After` is returned to the caller.
    #[serde(with = "humantime_serde")]
    pub max_delay: Duration,
    /// Retries per partner may add at most this fraction of its first attempts over
    /// `budget_window` (Envoy's retry budget); beyond it a failed call fails at once.
    pub budget_ratio: f64,
    /// Retries per partner and window always allowed, whatever the traffic.
    pub budget_min_retries: u32,
    /// The sliding window of the retry budget.
    #[serde(with = "humantime_serde")]
    pub budget_window: Duration,
}

impl Default for RetrySettings {
    fn default() -> Self {
        // When 30% of calls fail, seven attempts fail 0.3^7 ≈ 0.02% of reads: 2 in 10,000, so the
        // 99.9% target holds run after run (six would average 7 of the 10 failures allowed).
        Self {
            max_attempts: 7,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
            // 30 % random faults need about 0.43 retries per call; a dead upstream gets at most
            // 1.5 attempts per call once 40 calls a window fail (the floor keeps a quiet
            // partner's few calls, or few shared reads, retrying).
            budget_ratio: 0.5,
            budget_min_retries: 20,
            budget_window: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CircuitBreakerSettings {
    /// Consecutive failed calls (retries exhausted) that open a partner tenant's circuit.
    pub failure_threshold: u32,
    /// How long an open circuit refuses calls before one probe call is let through.
    #[serde(with = "humantime_serde")]
    pub open_for: Duration,
}

impl Default for CircuitBreakerSettings {
    fn default() -> Self {
        Self { failure_threshold: 5, open_for: Duration::from_secs(10) }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitSettings {
    /// Requests in flight (REST and gRPC together) beyond which new ones are shed with 503.
    pub max_in_flight: usize,
    /// Requests and streams one caller may have in flight at once: its share of `max_in_flight`.
    pub max_in_flight_per_caller: usize,
    /// Requests per minute per caller (token subject); 0 turns the limit off.
    pub caller_requests_per_minute: u32,
    /// How many of those a caller may send at once.
    pub caller_burst: u32,
    /// Open connections per listener; beyond it new connections are closed at once.
    pub max_connections: usize,
    /// How long a new connection may take to send its first complete request, and an HTTP/1
    /// request its headers.
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// How long a connection may stay open without a request in flight.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// How long a request body may take to arrive.
    #[serde(with = "humantime_serde")]
    pub request_body_timeout: Duration,
    /// Concurrent HTTP/2 streams per connection (REST over h2c and gRPC).
    pub max_streams_per_connection: u32,
    /// HTTP/2 keep-alive pings: how often, and how long to wait for the answer before closing.
    #[serde(with = "humantime_serde")]
    pub keepalive_interval: Duration,
    #[serde(with = "humantime_serde")]
    pub keepalive_timeout: Duration,
    /// A streamed answer (gRPC stream, NDJSON, statement) whose reader takes nothing for this
    /// long is ended, with its connection.
    #[serde(with = "humantime_serde")]
    pub stream_idle_timeout: Duration,
    /// The longest a streamed answer may last.
    #[serde(with = "humantime_serde")]
    pub stream_max_duration: Duration,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            max_in_flight: 1024,
            max_in_flight_per_caller: 64,
            caller_requests_per_minute: 3000,
            caller_burst: 200,
            max_connections: 1000,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(75),
            request_body_timeout: Duration::from_secs(10),
            max_streams_per_connection: 100,
            keepalive_interval: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(10),
            stream_idle_timeout: Duration::from_secs(60),
            stream_max_duration: Duration::from_secs(3600),
        }
    }
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerSettings {
    /// The name callers use in the `partner` claim.
    pub id: String,
    /// The partner's Azure AD tenant id.
    pub tenant_id: Uuid,
    /// The Azure AD application (client) id.
    pub client_id: String,
    /// The application's client secret, inline (prefer `client_secret_file`).
    pub client_secret: Option<SecretString>,
    /// File holding the client secret (e.g. a mounted Kubernetes Secret); re-read on every token
    /// request, so a rotated Secret takes effect without a restart.
    pub client_secret_file: Option<PathBuf>,
    /// App+user refresh token (secure application model), for operations Partner Center serves only that way.
    pub refresh_token: Option<SecretString>,
    /// File holding the refresh token; re-read on every token request (a changed file wins over a
    /// token Azure AD rotated in memory).
    pub refresh_token_file: Option<PathBuf>,
}

impl fmt::Debug for PartnerSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartnerSettings")
            .field("id", &self.id)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "[redacted]"))
            .field("client_secret_file", &self.client_secret_file)
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "[redacted]"))
            .field("refresh_token_file", &self.refresh_token_file)
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CatalogSettings {
    /// How long catalog reads (products, SKUs, availabilities, the Azure plan item) are cached.
    #[serde(with = "humantime_serde")]
    pub cache_ttl: Duration,
    /// Most catalog entries kept.
    pub cache_capacity: u64,
    /// Catalog product id of the Azure plan.
    pub azure_plan_product_id: String,
    /// SKU id of the Azure plan.
    pub azure_plan_sku_id: String,
    /// Segment of the Azure plan availability to buy.
    pub azure_plan_segment: String,
}

impl Default for CatalogSettings {
    fn default() -> Self {
        Self {
            cache_ttl: Duration::from_secs(3600),
            cache_capacity: 10_000,
            azure_plan_product_id: "DZH318Z0BPS6".to_owned(),
            azure_plan_sku_id: "0001".to_owned(),
            azure_plan_segment: "commercial".to_owned(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PagingSettings {
    /// HMAC key for page tokens (≥ 32 bytes). Replicas must share it; unset: random per process.
    pub token_secret: Option<SecretString>,
    /// Page size when a request names none.
    pub default_page_size: u32,
    /// Largest page size a request may ask for.
    pub max_page_size: u32,
}

impl Default for PagingSettings {
    fn default() -> Self {
        Self { token_secret: None, default_page_size: 100, max_page_size: 1000 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CommerceSettings {
    /// How long Azure plan purchase records (idempotency keys) are kept.
    #[serde(with = "humantime_serde")]
    pub idempotency_retention: Duration,
    /// How long orders created through the gateway are merged into order lists (Partner Center
    /// lists new orders only after up to 15 minutes).
    #[serde(with = "humantime_serde")]
    pub recent_orders_window: Duration,
    /// Send `PartnerOnRecordAttestationAccepted: true` on every cart: the partner confirms that
    /// the partner of record attestation is complete, which Partner Center's create-cart request
    /// lists as required.
    pub partner_on_record_attestation: bool,
    /// How long a customer's purchase facts (billing-profile country, accepted Microsoft
    /// Customer Agreement, no MS-AZR-0145P subscription) are remembered; 0 checks every time.
    #[serde(with = "humantime_serde")]
    pub purchase_checks_ttl: Duration,
}

impl Default for CommerceSettings {
    fn default() -> Self {
        Self {
            idempotency_retention: Duration::from_secs(24 * 3600),
            recent_orders_window: Duration::from_secs(30 * 60),
            partner_on_record_attestation: true,
            purchase_checks_ttl: Duration::from_secs(3600),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorsSettings {
    /// Origins (`https://app.example.com`) whose browsers may call the REST API.
    pub allowed_origins: Vec<String>,
    /// Also allow `http://localhost:<port>` and `http://127.0.0.1:<port>`, any port; unset: on in
    /// development, off in production.
    pub allow_localhost: Option<bool>,
    /// How long browsers may cache a preflight answer.
    #[serde(with = "humantime_serde")]
    pub max_age: Duration,
}

impl Default for CorsSettings {
    fn default() -> Self {
        Self { allowed_origins: Vec::new(), allow_localhost: None, max_age: Duration::from_secs(600) }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TracingSettings {
    /// OTLP/gRPC collector, e.g. `http://otel-collector:4317`; unset: no export. Needs a build
    /// with the `otlp` feature.
    pub otlp_endpoint: Option<Url>,
    /// `service.name` of exported spans.
    pub service_name: String,
    /// Share of new traces exported (0.0–1.0); callers' sampling decisions are kept.
    pub sample_ratio: f64,
}

impl Default for TracingSettings {
    fn default() -> Self {
        Self { otlp_endpoint: None, service_name: "partner-center-gateway".to_owned(), sample_ratio: 1.0 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Text,
}

/// Where Prometheus scrapes `/metrics`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSettings {
    /// A separate listener for `/metrics` (e.g. `0.0.0.0:9090`), reachable only from inside the
    /// cluster; the REST listener then answers 404 there. Unset: `/metrics` on the REST listener.
    pub listen: Option<SocketAddr>,
}

/// The async runtime the gateway's requests run on.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeSettings {
    /// Threads serving requests. One event loop, as an nginx worker or linkerd2-proxy by default:
    /// a request and its upstream call stay on one thread, without the cross-thread wake-ups that
    /// cost a second worker half as much CPU again per request (BENCHMARKS.md).
    pub worker_threads: usize,
}

/// Most worker threads accepted (a typo guard, not a tuning hint).
pub const MAX_WORKER_THREADS: usize = 256;

impl Default for RuntimeSettings {
    fn default() -> Self {
        Self { worker_threads: 1 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// `json` or `text`; unset: text in development, JSON in production.
    pub format: Option<LogFormat>,
    /// tracing `EnvFilter` directives, e.g. `info,partner_center_gateway=debug`.
    pub filter: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self { format: None, filter: "info".to_owned() }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimulatorSettings {
    /// Address of the built-in simulator (its Partner Center API, token endpoint and
    /// `/_simulator/...` control API); port 0 picks a free port.
    pub listen: SocketAddr,
    /// A simulator running in another process (`partner-center-gateway simulate`), e.g.
    /// `http://127.0.0.1:8090`: used instead of starting the built-in one, with dev tokens, so its
    /// state survives gateway restarts. The gateway checks at start that it is a simulator.
    pub url: Option<Url>,
    /// How long a new order stays out of the customer's order list, as in Partner Center.
    #[serde(with = "humantime_serde")]
    pub order_list_delay: Duration,
    /// Lifetime of the access tokens the simulated Azure AD issues.
    #[serde(with = "humantime_serde")]
    pub token_lifetime: Duration,
    /// Run the simulator in production mode (demo deployments only).
    pub allow_in_production: bool,
}

impl Default for SimulatorSettings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8090)),
            url: None,
            order_list_delay: Duration::from_secs(15 * 60),
            token_lifetime: Duration::from_secs(3599),
            allow_in_production: false,
        }
    }
}

/// The store replicas share. Unset `url`: everything stays in this process, as for one replica.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisSettings {
    /// `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS (system roots).
    pub url: Option<SecretString>,
    /// File holding the URL (with its password), e.g. a mounted Kubernetes Secret; read at start.
    pub url_file: Option<PathBuf>,
    /// Prepended to every key, so several gateways can share one Redis.
    pub key_prefix: String,
    /// Timeout of opening a connection to Redis.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Timeout of one Redis command (round trip); beyond it Redis counts as unreachable.
    #[serde(with = "humantime_serde")]
    pub command_timeout: Duration,
    /// Replicas the budget is split between while Redis is unreachable: each replica then lets
    /// `partner_center.budget_per_minute / expected_replicas` through.
    pub expected_replicas: u32,
    /// File holding the AES-256-GCM key (32 bytes, base64 or hex) that seals rotated refresh
    /// tokens in Redis; unset: rotated refresh tokens stay in each replica.
    pub encryption_key_file: Option<PathBuf>,
    /// PEM file of the CA certificate(s) trusted for `rediss://` instead of the system's roots.
    pub tls_ca_file: Option<PathBuf>,
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            url: None,
            url_file: None,
            key_prefix: "pcg:".to_owned(),
            connect_timeout: Duration::from_secs(2),
            command_timeout: Duration::from_millis(500),
            expected_replicas: 1,
            encryption_key_file: None,
            tls_ca_file: None,
        }
    }
}

impl RedisSettings {
    pub fn enabled(&self) -> bool {
        self.url.is_some() || self.url_file.is_some()
    }

    /// Checks a Redis URL (from `key`) without ever repeating it: it may hold a password.
    pub fn check_url(key: &str, url: &str) -> Result<(), ConfigError> {
        match Url::parse(url.trim()) {
            Ok(parsed) if matches!(parsed.scheme(), "redis" | "rediss") && parsed.host().is_some() => Ok(()),
            Ok(_) => Err(ConfigError::new(key, "must be a redis:// or rediss:// URL with a host")),
            Err(e) => Err(ConfigError::new(key, format!("is not a URL ({e})"))),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.url.is_some() && self.url_file.is_some() {
            return Err(ConfigError::new("redis.url", "give at most one of url, url_file"));
        }
        if let Some(url) = &self.url {
            Self::check_url("redis.url", url.expose_secret())?;
        }
        let prefix_ok = !self.key_prefix.is_empty()
            && self.key_prefix.len() <= 64
            && self.key_prefix.bytes().all(|b| b.is_ascii_graphic() && b != b'{' && b != b'}');
        if !prefix_ok {
            return Err(ConfigError::new(
                "redis.key_prefix",
                "must be 1-64 visible ASCII characters without '{' or '}' (those mark Redis Cluster hash tags)",
            ));
        }
        if self.connect_timeout.is_zero() {
            return Err(ConfigError::new("redis.connect_timeout", "must be greater than 0"));
        }
        if self.command_timeout.is_zero() {
            return Err(ConfigError::new("redis.command_timeout", "must be greater than 0"));
        }
        if self.expected_replicas == 0 {
            return Err(ConfigError::new("redis.expected_replicas", "must be at least 1"));
        }
        if self.encryption_key_file.is_some() && !self.enabled() {
            return Err(ConfigError::new("redis.encryption_key_file", "needs redis.url or redis.url_file"));
        }
        if let Some(url) = &self.url
            && self.tls_ca_file.is_some()
            && !url.expose_secret().trim().starts_with("rediss://")
        {
            return Err(ConfigError::new("redis.tls_ca_file", "needs a rediss:// URL"));
        }
        if self.tls_ca_file.is_some() && !self.enabled() {
            return Err(ConfigError::new("redis.tls_ca_file", "needs redis.url or redis.url_file"));
        }
        Ok(())
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            environment: Environment::Development,
            rest: RestSettings::default(),
            grpc: GrpcSettings::default(),
            auth: AuthSettings::default(),
            partner_center: PartnerCenterSettings::default(),
            graph: GraphSettings::default(),
            catalog: CatalogSettings::default(),
            paging: PagingSettings::default(),
            commerce: CommerceSettings::default(),
            limits: LimitSettings::default(),
            cors: CorsSettings::default(),
            log: LogSettings::default(),
            tracing: TracingSettings::default(),
            metrics: MetricsSettings::default(),
            runtime: RuntimeSettings::default(),
            simulator: SimulatorSettings::default(),
            redis: RedisSettings::default(),
        }
    }
}

/// Where the settings come from, outermost last.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    pub file: Option<PathBuf>,
    /// Environment variables as (name, value); the process environment in production, a map in tests.
    pub env: Vec<(String, String)>,
    /// `key=value` overrides, `key` dotted (`rest.listen`).
    pub overrides: Vec<(String, String)>,
}

impl Sources {
    pub fn from_process_env(file: Option<PathBuf>, overrides: Vec<(String, String)>) -> Self {
        Self { file, env: std::env::vars().collect(), overrides }
    }
}

impl Settings {
    pub fn load(sources: &Sources) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(file) = &sources.file {
            if !file.is_file() {
                return Err(ConfigError::new("config", format!("file {} does not exist", file.display())));
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        let env: Vec<(String, String)> =
            sources.env.iter().filter(|(k, _)| k.starts_with("GATEWAY_") && k != "GATEWAY_CONFIG").cloned().collect();
        figment = figment.merge(EnvMap(env));
        for (key, value) in &sources.overrides {
            let value = figment::value::Value::from_str(value).unwrap_or_else(|never| match never {});
            figment = figment.merge((key.as_str(), value));
        }
        let settings: Settings = figment.extract().map_err(|e| figment_error(e, sources))?;
        settings.validate()?;
        Ok(settings)
    }

    pub fn uses_simulator(&self) -> bool {
        self.partner_center.base_url.is_none()
    }

    pub fn auth_mode(&self) -> AuthMode {
        self.auth.mode.unwrap_or(if self.uses_simulator() { AuthMode::Dev } else { AuthMode::Jwt })
    }

    pub fn log_format(&self) -> LogFormat {
        self.log.format.unwrap_or(match self.environment {
            Environment::Development => LogFormat::Text,
            Environment::Production => LogFormat::Json,
        })
    }

    /// `cors.allow_localhost`, or its default: on in development, off in production.
    pub fn cors_allows_localhost(&self) -> bool {
        self.cors.allow_localhost.unwrap_or(self.environment == Environment::Development)
    }

    pub fn dev_secret(&self) -> &str {
        self.auth.dev_secret.as_ref().map_or(DEFAULT_DEV_SECRET, |s| s.expose_secret())
    }

    /// Checks that span several keys or need more than a type.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let production = self.environment == Environment::Production;
        if self.rest.listen == self.grpc.listen && self.rest.listen.port() != 0 {
            return Err(ConfigError::new("grpc.listen", "must differ from rest.listen"));
        }
        if let Some(metrics) = self.metrics.listen
            && metrics.port() != 0
            && (metrics == self.rest.listen || metrics == self.grpc.listen)
        {
            return Err(ConfigError::new("metrics.listen", "must differ from rest.listen and grpc.listen"));
        }
        if self.rest.body_limit_bytes == 0 {
            return Err(ConfigError::new("rest.body_limit_bytes", "must be greater than 0"));
        }
        if self.rest.swagger_ui && !self.rest.openapi_json {
            return Err(ConfigError::new(
                "rest.swagger_ui",
                "needs rest.openapi_json (Swagger UI reads the document from /openapi.json); turn both off",
            ));
        }
        if self.rest.request_timeout.is_zero() {
            return Err(ConfigError::new("rest.request_timeout", "must be greater than 0"));
        }
        if self.auth.leeway > Duration::from_secs(60) {
            return Err(ConfigError::new("auth.leeway", "must be at most 60s"));
        }
        if self.uses_simulator() {
            if !cfg!(feature = "simulator") {
                return Err(ConfigError::new(
                    "partner_center.base_url",
                    "is required: this build has no built-in simulator",
                ));
            }
            if let Some(url) = &self.simulator.url
                && !matches!(url.scheme(), "http" | "https")
            {
                return Err(ConfigError::new("simulator.url", "must be an http:// or https:// URL"));
            }
            if production && !self.simulator.allow_in_production {
                return Err(ConfigError::new(
                    "partner_center.base_url",
                    "is required in production (or set simulator.allow_in_production for a demo)",
                ));
            }
        } else if self.simulator.url.is_some() {
            return Err(ConfigError::new(
                "simulator.url",
                "cannot be combined with partner_center.base_url (the gateway talks to one upstream)",
            ));
        } else if self.partner_center.partners.is_empty() {
            return Err(ConfigError::new("partner_center.partners", "must list at least one partner tenant"));
        }
        match self.auth_mode() {
            AuthMode::Dev => {
                if production {
                    return Err(ConfigError::new("auth.mode", "dev is not allowed in production"));
                }
                if !self.uses_simulator() {
                    return Err(ConfigError::new(
                        "auth.mode",
                        "dev is only allowed with the built-in simulator; configure jwks_url or a public key",
                    ));
                }
                if self.dev_secret().len() < 32 {
                    return Err(ConfigError::new("auth.dev_secret", "must be at least 32 bytes"));
                }
            }
            AuthMode::Jwt => {
                let sources = [
                    self.auth.jwks_url.is_some(),
                    self.auth.public_key_file.is_some(),
                    self.auth.public_key_pem.is_some(),
                ];
                match sources.iter().filter(|s| **s).count() {
                    0 => {
                        return Err(ConfigError::new(
                            "auth.jwks_url",
                            "jwt mode needs one key source: jwks_url, public_key_file or public_key_pem",
                        ));
                    }
                    1 => {}
                    _ => {
                        return Err(ConfigError::new(
                            "auth.jwks_url",
                            "give only one of jwks_url, public_key_file, public_key_pem",
                        ));
                    }
                }
                if self.auth.issuer.as_deref().is_none_or(str::is_empty) {
                    return Err(ConfigError::new("auth.issuer", "is required in jwt mode"));
                }
                if self.auth.audience.as_deref().is_none_or(str::is_empty) {
                    return Err(ConfigError::new("auth.audience", "is required in jwt mode"));
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (index, partner) in self.partner_center.partners.iter().enumerate() {
            let key = |field: &str| format!("partner_center.partners[{index}].{field}");
            if partner.id.is_empty() || !seen.insert(partner.id.clone()) {
                return Err(ConfigError::new(key("id"), "must be non-empty and unique"));
            }
            if partner.client_id.is_empty() {
                return Err(ConfigError::new(key("client_id"), "must not be empty"));
            }
            if partner.client_secret.is_some() == partner.client_secret_file.is_some() {
                return Err(ConfigError::new(
                    key("client_secret"),
                    "give exactly one of client_secret, client_secret_file",
                ));
            }
            if partner.refresh_token.is_some() && partner.refresh_token_file.is_some() {
                return Err(ConfigError::new(
                    key("refresh_token"),
                    "give at most one of refresh_token, refresh_token_file",
                ));
            }
        }
        if let Some(secret) = &self.paging.token_secret
            && secret.expose_secret().len() < 32
        {
            return Err(ConfigError::new("paging.token_secret", "must be at least 32 bytes"));
        }
        if self.paging.default_page_size == 0 || self.paging.default_page_size > self.paging.max_page_size {
            return Err(ConfigError::new("paging.default_page_size", "must be between 1 and paging.max_page_size"));
        }
        for (index, origin) in self.cors.allowed_origins.iter().enumerate() {
            let parsed = Url::parse(origin).ok().filter(|u| {
                matches!(u.scheme(), "http" | "https") && u.host().is_some() && u.path() == "/" && u.query().is_none()
            });
            if parsed.is_none() || origin.ends_with('/') {
                return Err(ConfigError::new(
                    format!("cors.allowed_origins[{index}]"),
                    "must be an origin like https://app.example.com (scheme, host, optional port; no path)",
                ));
            }
        }
        if self.tracing.otlp_endpoint.is_some() && !cfg!(feature = "otlp") {
            return Err(ConfigError::new("tracing.otlp_endpoint", "needs a build with the `otlp` feature"));
        }
        if !(0.0..=1.0).contains(&self.tracing.sample_ratio) {
            return Err(ConfigError::new("tracing.sample_ratio", "must be between 0.0 and 1.0"));
        }
        if !(1..=MAX_WORKER_THREADS).contains(&self.runtime.worker_threads) {
            return Err(ConfigError::new(
                "runtime.worker_threads",
                format!("must be between 1 and {MAX_WORKER_THREADS}"),
            ));
        }
        if self.limits.max_in_flight == 0 {
            return Err(ConfigError::new("limits.max_in_flight", "must be at least 1"));
        }
        if self.limits.max_in_flight_per_caller == 0 {
            return Err(ConfigError::new("limits.max_in_flight_per_caller", "must be at least 1"));
        }
        if self.limits.max_connections == 0 {
            return Err(ConfigError::new("limits.max_connections", "must be at least 1"));
        }
        if self.limits.max_streams_per_connection == 0 {
            return Err(ConfigError::new("limits.max_streams_per_connection", "must be at least 1"));
        }
        for (key, value) in [
            ("limits.header_read_timeout", self.limits.header_read_timeout),
            ("limits.idle_timeout", self.limits.idle_timeout),
            ("limits.request_body_timeout", self.limits.request_body_timeout),
            ("limits.keepalive_interval", self.limits.keepalive_interval),
            ("limits.keepalive_timeout", self.limits.keepalive_timeout),
            ("limits.stream_idle_timeout", self.limits.stream_idle_timeout),
            ("limits.stream_max_duration", self.limits.stream_max_duration),
        ] {
            if value.is_zero() {
                return Err(ConfigError::new(key, "must be greater than 0"));
            }
        }
        let retry = &self.partner_center.retry;
        if !(retry.budget_ratio.is_finite() && retry.budget_ratio >= 0.0) {
            return Err(ConfigError::new("partner_center.retry.budget_ratio", "must be a number of at least 0"));
        }
        if retry.budget_window < Duration::from_secs(1) {
            return Err(ConfigError::new("partner_center.retry.budget_window", "must be at least 1s"));
        }
        // The operation names are checked where the client is built (`app::response_cache_policy`).
        for (operation, ttl) in &self.partner_center.response_cache.ttl {
            if !(Duration::from_secs(1)..=Duration::from_secs(3600)).contains(&**ttl) {
                let key = format!("partner_center.response_cache.ttl.{operation}");
                return Err(ConfigError::new(key, "must be between 1s and 1h"));
            }
        }
        if !(self.partner_center.caller_budget_share > 0.0 && self.partner_center.caller_budget_share <= 1.0) {
            return Err(ConfigError::new("partner_center.caller_budget_share", "must be above 0 and at most 1"));
        }
        if self.partner_center.budget_per_minute > 0
            && self.partner_center.budget_burst >= self.partner_center.budget_per_minute
        {
            return Err(ConfigError::new(
                "partner_center.budget_burst",
                "must be below partner_center.budget_per_minute",
            ));
        }
        if self.limits.caller_requests_per_minute > 0
            && self.limits.caller_burst >= self.limits.caller_requests_per_minute
        {
            return Err(ConfigError::new("limits.caller_burst", "must be below limits.caller_requests_per_minute"));
        }
        if let Err(pattern) = crate::graph::urls::UrlPolicy::new(&self.graph.allowed_hosts) {
            return Err(ConfigError::new(
                "graph.allowed_hosts",
                format!("{pattern:?} is not a DNS name or a `*.` wildcard of one (e.g. *.blob.core.windows.net)"),
            ));
        }
        if !self.graph.allowed_http_origins.is_empty() && production {
            return Err(ConfigError::new("graph.allowed_http_origins", "is for development only"));
        }
        let mut http_origins = crate::graph::urls::UrlPolicy::default();
        for (index, origin) in self.graph.allowed_http_origins.iter().enumerate() {
            if http_origins.allow_http_origin(origin).is_err() || origin.path() != "/" {
                return Err(ConfigError::new(
                    format!("graph.allowed_http_origins[{index}]"),
                    "must be an http origin like http://127.0.0.1:10000",
                ));
            }
        }
        if let Some(base) = &self.graph.base_url
            && ((base.scheme() != "https" && production) || base.host().is_none())
        {
            return Err(ConfigError::new(
                "graph.base_url",
                "must be an https URL like https://graph.microsoft.com/v1.0/",
            ));
        }
        // Client secrets, refresh tokens and access tokens travel to these: never in clear.
        if production {
            for (key, url) in [
                ("partner_center.base_url", &self.partner_center.base_url),
                ("partner_center.authority", &self.partner_center.authority),
                ("auth.jwks_url", &self.auth.jwks_url),
            ] {
                if let Some(url) = url
                    && url.scheme() != "https"
                {
                    return Err(ConfigError::new(key, "must be an https URL in production"));
                }
            }
        }
        if self.graph.poll_interval.is_zero() {
            return Err(ConfigError::new("graph.poll_interval", "must be greater than 0"));
        }
        if self.partner_center.retry.max_attempts == 0 {
            return Err(ConfigError::new("partner_center.retry.max_attempts", "must be at least 1"));
        }
        crate::model::catalog::Segment::parse("catalog.azure_plan_segment", &self.catalog.azure_plan_segment)
            .map_err(|e| ConfigError::new("catalog.azure_plan_segment", e.detail().to_owned()))?;
        tracing_subscriber::EnvFilter::try_new(&self.log.filter)
            .map_err(|e| ConfigError::new("log.filter", e.to_string()))?;
        self.redis.validate()?;
        Ok(())
    }
}

/// Environment variables from an explicit list, `GATEWAY_A__B` → `a.b` (tests never touch the process env).
struct EnvMap(Vec<(String, String)>);

impl figment::Provider for EnvMap {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named("environment variables")
    }

    fn data(&self) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        let mut figment = Figment::new();
        for (name, value) in &self.0 {
            let key = name.trim_start_matches("GATEWAY_").to_ascii_lowercase().replace("__", ".");
            let value = figment::value::Value::from_str(value).unwrap_or_else(|never| match never {});
            figment = figment.merge((key, value));
        }
        figment.data()
    }
}

/// The key figment failed on, what is wrong in plain words (figment's own texts quote with
/// backticks and repeat the key), and where the value came from.
fn figment_error(error: figment::Error, sources: &Sources) -> ConfigError {
    use figment::error::Kind;
    let mut path = error.path.clone();
    // The key itself, once: figment's path may or may not end with the field already.
    let mut with_field = |field: &str| {
        if path.last().map(String::as_str) != Some(field) {
            path.push(field.to_owned());
        }
    };
    let message = match &error.kind {
        Kind::UnknownField(field, expected) => {
            with_field(field);
            if expected.is_empty() {
                "no such setting".to_owned()
            } else {
                format!("no such setting; the settings here are {}", expected.join(", "))
            }
        }
        Kind::MissingField(field) => {
            with_field(field);
            "is required".to_owned()
        }
        Kind::DuplicateField(field) => {
            with_field(field);
            "is given twice".to_owned()
        }
        Kind::UnknownVariant(value, expected) => format!("{value:?} is not one of {}", expected.join(", ")),
        Kind::InvalidType(actual, expected) => format!("expected {expected}, found {actual}"),
        Kind::InvalidValue(actual, expected) => format!("expected {expected}, found {actual}"),
        Kind::InvalidLength(length, expected) => format!("expected {expected}, found {length} items"),
        other => other.to_string(),
    };
    let message = message.replace('`', "");
    let key = path.join(".");
    if key.is_empty() {
        return ConfigError::new("config", message);
    }
    let env_name = format!("GATEWAY_{}", key.to_ascii_uppercase().replace('.', "__"));
    let origin = if sources.overrides.iter().any(|(k, _)| *k == key) {
        format!("--set {key}")
    } else if sources.env.iter().any(|(k, _)| *k == env_name) {
        format!("environment variable {env_name}")
    } else if let Some(file) = &sources.file {
        format!("file {}", file.display())
    } else {
        "defaults".to_owned()
    };
    ConfigError::new(key, format!("{message} (from {origin})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(env: &[(&str, &str)], overrides: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let overrides = upstream().iter().chain(overrides).map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Settings::load(&Sources {
            file: None,
            env: env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            overrides,
        })
    }

    /// A build without the simulator needs a real upstream to start at all; these tests are about
    /// layering and validation, so they get one (their own overrides still win).
    fn upstream() -> &'static [(&'static str, &'static str)] {
        if cfg!(feature = "simulator") {
            return &[];
        }
        &[
            ("partner_center.base_url", "https://api.partnercenter.microsoft.com"),
            (
                "partner_center.partners",
                r#"[{id="p", tenant_id="3f2504e0-4f89-11d3-9a0c-0305e82c3301", client_id="c", client_secret="s"}]"#,
            ),
            ("auth.mode", "jwt"),
            ("auth.jwks_url", "https://login.example.com/keys"),
            ("auth.issuer", "i"),
            ("auth.audience", "a"),
        ]
    }

    #[test]
    #[cfg(not(feature = "simulator"))]
    fn without_the_simulator_an_upstream_is_required() {
        let error = Settings::load(&Sources::default()).expect_err("no upstream");
        assert_eq!(error.key, "partner_center.base_url");
    }

    #[test]
    #[cfg(feature = "simulator")]
    fn defaults_start_the_simulator_in_dev_mode() {
        let settings = load(&[], &[]).expect("defaults are valid");
        assert!(settings.uses_simulator());
        assert_eq!(settings.auth_mode(), AuthMode::Dev);
        assert_eq!(settings.rest.listen.port(), 8080);
        assert_eq!(settings.grpc.listen.port(), 50051);
        assert_eq!(settings.simulator.listen.port(), 8090);
        assert_eq!(settings.log_format(), LogFormat::Text);
    }

    #[test]
    #[cfg(feature = "simulator")]
    fn a_simulator_url_keeps_dev_mode_and_excludes_a_real_upstream() {
        let settings = load(&[], &[("simulator.url", "http://127.0.0.1:8090")]).expect("valid");
        assert!(settings.uses_simulator());
        assert_eq!(settings.auth_mode(), AuthMode::Dev);
        let both = [("simulator.url", "http://127.0.0.1:8090"), ("partner_center.base_url", "https://pc.example.com")];
        assert_eq!(load(&[], &both).expect_err("two upstreams").key, "simulator.url");
        assert_eq!(load(&[], &[("simulator.url", "ftp://127.0.0.1/")]).expect_err("scheme").key, "simulator.url");
    }

    #[test]
    fn env_and_flags_override_in_order() {
        let settings = load(
            &[("GATEWAY_REST__LISTEN", "127.0.0.1:9000"), ("GATEWAY_CATALOG__CACHE_TTL", "5m")],
            &[("rest.listen", "127.0.0.1:9001")],
        )
        .expect("valid");
        assert_eq!(settings.rest.listen.port(), 9001);
        assert_eq!(settings.catalog.cache_ttl, Duration::from_secs(300));
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let error = load(&[("GATEWAY_REST__LISTEN", "not-an-address")], &[]).expect_err("invalid");
        assert_eq!(error.key, "rest.listen");
        assert!(error.message.contains("GATEWAY_REST__LISTEN"), "{error}");
    }

    #[test]
    fn response_cache_ttls_name_cacheable_reads() {
        let settings =
            load(&[], &[("partner_center.response_cache.ttl", r#"{"customers.list"="60s", "invoices.list"="2m"}"#)])
                .expect("valid");
        let ttl = &settings.partner_center.response_cache.ttl;
        assert_eq!(ttl.get("customers.list").map(|t| **t), Some(Duration::from_secs(60)));
        assert_eq!(ttl.get("invoices.list").map(|t| **t), Some(Duration::from_secs(120)));

        let error =
            load(&[], &[("partner_center.response_cache.ttl", r#"{"customers.list"="2h"}"#)]).expect_err("too long");
        assert!(error.message.contains("between 1s and 1h"), "{error}");
        let error = load(&[], &[("partner_center.retry.budget_ratio", "-1")]).expect_err("negative");
        assert_eq!(error.key, "partner_center.retry.budget_ratio");
    }

    #[test]
    fn worker_threads_default_to_one_event_loop_and_are_bounded() {
        assert_eq!(load(&[], &[]).expect("defaults").runtime.worker_threads, 1);
        let settings = load(&[("GATEWAY_RUNTIME__WORKER_THREADS", "4")], &[]).expect("valid");
        assert_eq!(settings.runtime.worker_threads, 4);
        for bad in ["0", "257"] {
            let error = load(&[], &[("runtime.worker_threads", bad)]).expect_err("out of range");
            assert_eq!(error.key, "runtime.worker_threads", "{error}");
        }
    }

    #[test]
    fn an_unknown_key_is_refused() {
        let error = load(&[], &[("rest.lisen", "127.0.0.1:1")]).expect_err("unknown key");
        assert!(error.to_string().contains("lisen"), "{error}");
    }

    #[test]
    #[cfg(feature = "simulator")]
    fn production_refuses_the_simulator_and_dev_auth() {
        let error = load(&[("GATEWAY_ENVIRONMENT", "production")], &[]).expect_err("no upstream");
        assert_eq!(error.key, "partner_center.base_url");
    }

    #[test]
    #[cfg(feature = "simulator")]
    fn a_real_upstream_needs_partners_and_a_key_source() {
        let error =
            load(&[], &[("partner_center.base_url", "https://api.partnercenter.microsoft.com")]).expect_err("invalid");
        assert_eq!(error.key, "partner_center.partners");
    }

    #[test]
    #[cfg(feature = "simulator")]
    fn production_logs_json_unless_told_otherwise() {
        let demo = [("GATEWAY_ENVIRONMENT", "production"), ("GATEWAY_SIMULATOR__ALLOW_IN_PRODUCTION", "true")];
        // A demo in production mode still refuses dev auth, so give it a key source.
        let jwt = [
            ("auth.mode", "jwt"),
            ("auth.jwks_url", "https://login.example.com/keys"),
            ("auth.issuer", "i"),
            ("auth.audience", "a"),
        ];
        assert_eq!(load(&demo, &jwt).expect("valid").log_format(), LogFormat::Json);
        let text = [jwt.as_slice(), &[("log.format", "text")]].concat();
        assert_eq!(load(&demo, &text).expect("valid").log_format(), LogFormat::Text);
    }

    #[test]
    fn cors_allows_localhost_in_development_only_unless_told() {
        assert!(load(&[], &[]).expect("dev").cors_allows_localhost());
        let demo = [("GATEWAY_ENVIRONMENT", "production"), ("GATEWAY_SIMULATOR__ALLOW_IN_PRODUCTION", "true")];
        let production = load(
            &demo,
            &[
                ("auth.mode", "jwt"),
                ("auth.issuer", "i"),
                ("auth.audience", "a"),
                ("auth.jwks_url", "https://issuer.example.com/jwks"),
            ],
        );
        match production {
            Ok(settings) => assert!(!settings.cors_allows_localhost()),
            Err(error) => panic!("{error}"),
        }
        assert!(!load(&[], &[("cors.allow_localhost", "false")]).expect("off").cors_allows_localhost());
    }

    #[test]
    fn swagger_ui_needs_the_openapi_document() {
        let error = load(&[], &[("rest.openapi_json", "false")]).expect_err("swagger without document");
        assert_eq!(error.key, "rest.swagger_ui");
        let settings = load(&[], &[("rest.openapi_json", "false"), ("rest.swagger_ui", "false")]).expect("both off");
        assert!(!settings.rest.openapi_json && !settings.rest.swagger_ui);
    }

    #[test]
    fn unknown_keys_and_bad_values_read_plainly() {
        let error = load(&[], &[("rest.lisen", "127.0.0.1:1")]).expect_err("typo");
        assert_eq!(error.key, "rest.lisen");
        assert!(error.message.starts_with("no such setting; the settings here are listen, "), "{error}");
        assert_eq!(error.to_string().matches("lisen").count(), 2, "key and origin only: {error}");
        assert!(!error.to_string().contains('`'), "{error}");
        let error = load(&[], &[("environment", "staging")]).expect_err("variant");
        assert_eq!(error.key, "environment");
        assert!(error.message.starts_with("\"staging\" is not one of development, production"), "{error}");
    }

    #[test]
    fn cors_origins_must_be_bare_origins() {
        let settings =
            load(&[], &[("cors.allowed_origins", r#"["https://app.example.com", "http://localhost:3000"]"#)])
                .expect("valid origins");
        assert_eq!(settings.cors.allowed_origins.len(), 2);
        for bad in
            [r#"["https://app.example.com/"]"#, r#"["https://app.example.com/spa"]"#, r#"["*"]"#, r#"["ftp://x"]"#]
        {
            let error = load(&[], &[("cors.allowed_origins", bad)]).expect_err(bad);
            assert_eq!(error.key, "cors.allowed_origins[0]", "{bad}");
        }
    }

    #[test]
    fn trace_sampling_is_a_ratio() {
        let error = load(&[], &[("tracing.sample_ratio", "1.5")]).expect_err("out of range");
        assert_eq!(error.key, "tracing.sample_ratio");
    }

    #[test]
    fn redis_settings_are_checked_and_never_repeat_the_url() {
        let settings = load(&[], &[("redis.url", "rediss://:pa55word@redis.example.com:6380/0")]).expect("valid");
        assert!(settings.redis.enabled());
        assert!(!format!("{settings:?}").contains("pa55word"), "the password is redacted");
        for (key, value, named) in [
            ("redis.url", "http://:pa55word@redis.example.com", "redis.url"),
            ("redis.url", "not a url pa55word", "redis.url"),
            ("redis.key_prefix", "a{b}", "redis.key_prefix"),
            ("redis.key_prefix", "", "redis.key_prefix"),
            ("redis.command_timeout", "0s", "redis.command_timeout"),
            ("redis.expected_replicas", "0", "redis.expected_replicas"),
        ] {
            let mut overrides = vec![(key, value)];
            if key != "redis.url" {
                overrides.push(("redis.url", "redis://127.0.0.1:6379"));
            }
            let error = load(&[], &overrides).expect_err(value);
            assert_eq!(error.key, named, "{value}");
            assert!(!error.message.contains("pa55word"), "{error}");
        }
        let both = load(&[], &[("redis.url", "redis://h"), ("redis.url_file", "/run/redis-url")]).expect_err("both");
        assert_eq!(both.key, "redis.url");
        let orphan = load(&[], &[("redis.encryption_key_file", "/run/key")]).expect_err("no redis");
        assert_eq!(orphan.key, "redis.encryption_key_file");
        assert!(!load(&[], &[]).expect("defaults").redis.enabled(), "cargo run needs no Redis");
    }

    #[test]
    fn partner_secrets_are_redacted_in_debug_output() {
        let settings = load(
            &[],
            &[(
                "partner_center.partners",
                r#"[{id="p", tenant_id="3f2504e0-4f89-11d3-9a0c-0305e82c3301", client_id="c", client_secret="s3cr3t-value"}]"#,
            )],
        )
        .expect("valid");
        let printed = format!("{settings:?}");
        assert!(!printed.contains("s3cr3t-value"), "{printed}");
    }
}
