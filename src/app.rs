//! Wiring: [`Application::build`] turns [`Settings`] into bound listeners and a shared
//! [`AppState`]; [`Application::run_until_stopped`] serves until the shutdown future resolves.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use url::Url;

use crate::{
    auth::{
        Authenticator,
        dev::{self, DevTokenRequest},
        jwt::{PartnerName, TokenRules},
        keys::{JwksCache, KeySource},
    },
    config::{
        AuthMode, ConfigError, DEFAULT_AUTHORITY, DEFAULT_DEV_AUDIENCE, DEFAULT_DEV_ISSUER, RedisSettings, Settings,
    },
    edge::{AppState, AppStateInner, CallerSlots, Readiness, StreamLimits},
    facade::{
        CatalogCache, Facade, FacadeOptions, FacadeParts,
        exports::{ExportOptions, Exports},
        paging::PageTokens,
        state::{IdempotencyStore, InMemoryIdempotency, InMemoryRecentOrders, RecentOrders},
    },
    graph::{GraphClient, GraphOptions, urls::UrlPolicy},
    limits::{Admission, InMemoryRateBudget, RateBudget},
    model::catalog::Segment,
    partner_center::{
        CallerShare, PartnerCenter, PartnerCenterClient, TokenCache,
        client::RetryPolicy,
        retry_budget::RetryBudgetPolicy,
        shared_reads::{CACHEABLE_OPERATIONS, ResponseCachePolicy, SharedReads},
        token::{PartnerCredentials, RefreshToken, SecretSource},
        transport::{TransportSettings, UpstreamHttp},
    },
    server,
    shared_state::{
        RefreshTokenStore, SharedStateHealth,
        crypto::SealingKey,
        redis::{RedisIdempotency, RedisOptions, RedisRateBudget, RedisRecentOrders, RedisRefreshTokens, RedisStore},
    },
    telemetry,
};

/// How long one Azure plan purchase may hold its idempotency key before another call may resume it.
const IDEMPOTENCY_LEASE: Duration = Duration::from_secs(120);
/// How often a replica pings Redis, so it notices an outage's end (and start) on its own.
const REDIS_HEALTH_CHECK_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot listen on {addr} (setting `{key}`): {source}")]
    Bind { key: &'static str, addr: SocketAddr, source: std::io::Error },
    #[error("{0}")]
    Setup(String),
}

pub struct Application {
    settings: Settings,
    state: AppState,
    rest_listener: TcpListener,
    grpc_listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    #[cfg(feature = "simulator")]
    simulator: Option<partner_center_simulator::SimulatorHandle>,
    /// The simulator's root (built-in or `simulator.url`), when the gateway runs against one.
    simulator_url: Option<Url>,
}

/// Where Partner Center is, and which partners the gateway acts for.
struct Upstream {
    base_url: Url,
    authority: Url,
    partners: Vec<PartnerCredentials>,
    /// Microsoft Graph's root, and the http origins (the simulator's) its answers may point to.
    graph_base_url: Url,
    graph_http_origins: Vec<Url>,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        settings.validate()?;
        #[cfg(feature = "simulator")]
        let external = match &settings.simulator.url {
            Some(url) if settings.uses_simulator() => Some(external_simulator(url).await?),
            _ => None,
        };
        #[cfg(feature = "simulator")]
        let external_url = external.as_ref().map(|urls| urls.base.clone());
        #[cfg(feature = "simulator")]
        let simulator = if settings.uses_simulator() && external.is_none() {
            let config = partner_center_simulator::SimulatorConfig {
                order_list_delay: settings.simulator.order_list_delay,
                token_lifetime: settings.simulator.token_lifetime,
                ..Default::default()
            };
            Some(partner_center_simulator::start(settings.simulator.listen, config).await.map_err(|source| {
                StartError::Bind { key: "simulator.listen", addr: settings.simulator.listen, source }
            })?)
        } else {
            None
        };
        #[cfg(feature = "simulator")]
        let mut upstream = upstream(
            &settings,
            simulator
                .as_ref()
                .map(|sim| SimulatorUrls {
                    base: sim.base_url(),
                    graph: sim.graph_base_url(),
                    blob: sim.blob_base_url(),
                })
                .or(external),
        )?;
        #[cfg(not(feature = "simulator"))]
        let mut upstream = upstream(&settings, None)?;
        let redis = redis_store(&settings)?;
        if let Some((store, sealing)) = &redis {
            match sealing {
                Some(sealing) => {
                    let shared: Arc<dyn RefreshTokenStore> =
                        Arc::new(RedisRefreshTokens::new(store.clone(), sealing.clone()));
                    for partner in &mut upstream.partners {
                        if let Some(refresh) = partner.refresh_token.take() {
                            partner.refresh_token = Some(refresh.with_shared_store(partner.id.clone(), shared.clone()));
                        }
                    }
                }
                None if upstream.partners.iter().any(|p| p.refresh_token.is_some()) => tracing::warn!(
                    "redis.encryption_key_file is not set: refresh tokens Azure AD rotates stay in each replica"
                ),
                None => {}
            }
            if !store.ping().await {
                tracing::warn!("redis is unreachable at start: serving degraded until it answers");
            }
            store.spawn_health_check(REDIS_HEALTH_CHECK_INTERVAL);
        }

        let http = reqwest::Client::builder()
            .connect_timeout(settings.partner_center.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            // Retries are ours (with Partner Center's rules); Partner Center does not redirect API
            // calls, and a redirect must not carry the partner's token elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            .user_agent(concat!("partner-center-gateway/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| StartError::Setup(format!("http client: {e}")))?;
        let partner_names: Vec<PartnerName> = upstream
            .partners
            .iter()
            .map(|p| PartnerName { id: p.id.clone(), tenant_id: p.tenant_id.clone() })
            .collect();
        let tokens = Arc::new(
            TokenCache::new(
                http.clone(),
                upstream.authority,
                settings.partner_center.resource.clone(),
                settings.partner_center.token_refresh_skew,
                upstream.partners,
            )
            .with_graph_resource(settings.graph.resource.clone()),
        );
        let retry = RetryPolicy {
            max_attempts: settings.partner_center.retry.max_attempts,
            base_delay: settings.partner_center.retry.base_delay,
            max_delay: settings.partner_center.retry.max_delay,
        };
        let graph = graph_client(
            &settings,
            &upstream.graph_base_url,
            &upstream.graph_http_origins,
            http.clone(),
            tokens.clone(),
            retry.clone(),
        )?;
        let partner_center_http = UpstreamHttp::new(
            &upstream.base_url,
            TransportSettings {
                connect_timeout: settings.partner_center.connect_timeout,
                pool_idle_timeout: Duration::from_secs(90),
            },
        )
        .map_err(|e| StartError::Setup(format!("partner center client: {e}")))?;
        if let Some(proxy) = partner_center_http.proxy() {
            tracing::info!(proxy, "partner center calls go through the environment's proxy (HTTPS_PROXY)");
        }
        let mut client = PartnerCenterClient::new(
            partner_center_http,
            &upstream.base_url,
            tokens,
            retry,
            settings.partner_center.attempt_timeout,
        )
        .with_circuit_breaker(
            settings.partner_center.circuit_breaker.failure_threshold,
            settings.partner_center.circuit_breaker.open_for,
        )
        .with_retry_budget(RetryBudgetPolicy {
            ratio: settings.partner_center.retry.budget_ratio,
            min_retries: settings.partner_center.retry.budget_min_retries,
            window: settings.partner_center.retry.budget_window,
        })
        .with_shared_reads(SharedReads::new(response_cache_policy(&settings.partner_center)?));
        let (per_minute, burst) = (settings.partner_center.budget_per_minute, settings.partner_center.budget_burst);
        if per_minute > 0 {
            let budget = |per_minute: u32, burst: u32| -> Arc<dyn RateBudget> {
                match &redis {
                    Some((store, _)) => Arc::new(RedisRateBudget::per_minute(
                        store.clone(),
                        per_minute,
                        burst,
                        settings.redis.expected_replicas,
                    )),
                    None => Arc::new(InMemoryRateBudget::per_minute(per_minute, burst)),
                }
            };
            let share = settings.partner_center.caller_budget_share;
            let caller_share = (share < 1.0).then(|| {
                let scaled = |n: u32| ((f64::from(n) * share).floor() as u32).max(1);
                CallerShare {
                    budget: budget(scaled(per_minute).max(2), scaled(burst).min(scaled(per_minute).max(2) - 1)),
                    reserve: f64::from(burst) * (1.0 - share),
                }
            });
            client = client.with_budget(budget(per_minute, burst), caller_share);
        }
        let (idempotency, recent_orders): (Arc<dyn IdempotencyStore>, Arc<dyn RecentOrders>) = match &redis {
            Some((store, _)) => (
                Arc::new(RedisIdempotency::new(
                    store.clone(),
                    IDEMPOTENCY_LEASE,
                    settings.commerce.idempotency_retention,
                )),
                Arc::new(RedisRecentOrders::new(store.clone(), settings.commerce.recent_orders_window)),
            ),
            None => (
                Arc::new(InMemoryIdempotency::new(IDEMPOTENCY_LEASE, settings.commerce.idempotency_retention)),
                Arc::new(InMemoryRecentOrders::new(settings.commerce.recent_orders_window)),
            ),
        };
        let pages = PageTokens::new(
            settings.paging.token_secret.as_ref().map(|s| secrecy::ExposeSecret::expose_secret(s).as_bytes()),
        )
        .map_err(|e| StartError::Setup(e.detail().to_owned()))?;
        if settings.paging.token_secret.is_none() && settings.environment == crate::config::Environment::Production {
            tracing::warn!("paging.token_secret is not set: page tokens only work on the replica that issued them");
        }
        let token_secret =
            settings.paging.token_secret.as_ref().map(|s| secrecy::ExposeSecret::expose_secret(s).as_bytes());
        let exports = Exports::new(Arc::new(graph), token_secret, export_options(&settings))
            .map_err(|e| StartError::Setup(e.detail().to_owned()))?;
        let facade = Facade::new(
            FacadeParts {
                pc: Arc::new(
                    PartnerCenter::new(client).with_cart_attestation(settings.commerce.partner_on_record_attestation),
                ),
                catalog: CatalogCache::new(settings.catalog.cache_ttl, settings.catalog.cache_capacity),
                pages,
                idempotency,
                recent_orders,
            },
            facade_options(&settings)?,
        )
        .with_exports(exports);
        // The recorder first: the series registered at zero go to it.
        let metrics = telemetry::metrics_handle();
        crate::metrics_catalog::register_at_zero(&partner_names.iter().map(|p| &*p.id).collect::<Vec<_>>());
        let authenticator = authenticator(&settings, http, partner_names).await?;
        let rest_listener = TcpListener::bind(settings.rest.listen).await.map_err(|source| StartError::Bind {
            key: "rest.listen",
            addr: settings.rest.listen,
            source,
        })?;
        let grpc_listener = TcpListener::bind(settings.grpc.listen).await.map_err(|source| StartError::Bind {
            key: "grpc.listen",
            addr: settings.grpc.listen,
            source,
        })?;
        let metrics_listener = match settings.metrics.listen {
            Some(addr) => Some(TcpListener::bind(addr).await.map_err(|source| StartError::Bind {
                key: "metrics.listen",
                addr,
                source,
            })?),
            None => None,
        };
        let state = AppState::new(AppStateInner {
            facade: Arc::new(facade),
            authenticator: Arc::new(authenticator),
            readiness: Arc::new(Readiness::default()),
            metrics,
            rest_timeout: settings.rest.request_timeout,
            grpc_default_timeout: settings.grpc.default_timeout,
            admission: Admission::new(settings.limits.max_in_flight),
            caller_slots: Arc::new(CallerSlots::new(
                settings.limits.max_in_flight_per_caller.min(settings.limits.max_in_flight),
            )),
            streams: StreamLimits {
                idle_timeout: settings.limits.stream_idle_timeout,
                max_duration: settings.limits.stream_max_duration,
            },
            shared_state: redis.as_ref().map(|(store, _)| store.health().clone()),
            metrics_elsewhere: metrics_listener.is_some(),
            caller_budget: (settings.limits.caller_requests_per_minute > 0).then(|| {
                Arc::new(InMemoryRateBudget::per_minute(
                    settings.limits.caller_requests_per_minute,
                    settings.limits.caller_burst,
                )) as Arc<dyn RateBudget>
            }),
        });
        #[cfg(feature = "simulator")]
        let simulator_url =
            simulator.as_ref().map(partner_center_simulator::SimulatorHandle::base_url).or(external_url);
        #[cfg(not(feature = "simulator"))]
        let simulator_url = None;
        Ok(Self {
            settings,
            state,
            rest_listener,
            grpc_listener,
            metrics_listener,
            #[cfg(feature = "simulator")]
            simulator,
            simulator_url,
        })
    }

    pub fn rest_addr(&self) -> SocketAddr {
        self.rest_listener.local_addr().unwrap_or(self.settings.rest.listen)
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_listener.local_addr().unwrap_or(self.settings.grpc.listen)
    }

    /// The separate `/metrics` listener, when `metrics.listen` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref().and_then(|listener| listener.local_addr().ok())
    }

    /// Where the built-in simulator listens, when the gateway runs against it.
    pub fn simulator_addr(&self) -> Option<SocketAddr> {
        #[cfg(feature = "simulator")]
        return self.simulator.as_ref().map(partner_center_simulator::SimulatorHandle::addr);
        #[cfg(not(feature = "simulator"))]
        None
    }

    /// The root of the simulator the gateway talks to (`/_simulator/...` is its control API):
    /// the built-in one, or the one `simulator.url` names.
    pub fn simulator_url(&self) -> Option<&Url> {
        self.simulator_url.as_ref()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The embedded simulator, when the gateway runs against it.
    #[cfg(feature = "simulator")]
    pub fn simulator(&self) -> Option<&partner_center_simulator::SimulatorHandle> {
        self.simulator.as_ref()
    }

    /// A token the dev auth mode accepts, with every permission on every customer of the first
    /// partner; `None` outside dev mode.
    pub fn dev_token(&self) -> Option<String> {
        if self.settings.auth_mode() != AuthMode::Dev {
            return None;
        }
        let mut request = DevTokenRequest::all_access("dev-user");
        request.partner =
            self.settings.partner_center.partners.first().map(|p| p.id.clone()).or_else(default_partner_id);
        mint_dev_token(&self.settings, &request).ok()
    }

    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let listeners =
            server::Listeners { rest: self.rest_listener, grpc: self.grpc_listener, metrics: self.metrics_listener };
        let result = server::serve(listeners, self.state, &self.settings, shutdown).await;
        #[cfg(feature = "simulator")]
        if let Some(simulator) = self.simulator {
            simulator.shutdown().await;
        }
        result
    }
}

/// The Graph client: base URL, retries and which hosts manifests may send it to.
fn graph_client(
    settings: &Settings,
    base_url: &Url,
    http_origins: &[Url],
    http: reqwest::Client,
    tokens: Arc<TokenCache>,
    retry: RetryPolicy,
) -> Result<GraphClient, StartError> {
    let mut urls = UrlPolicy::new(&settings.graph.allowed_hosts).map_err(|pattern| {
        StartError::Config(ConfigError::new("graph.allowed_hosts", format!("bad pattern {pattern:?}")))
    })?;
    for origin in settings.graph.allowed_http_origins.iter().chain(http_origins) {
        urls.allow_http_origin(origin).map_err(|origin| {
            StartError::Config(ConfigError::new(
                "graph.allowed_http_origins",
                format!("{origin} is not an http origin"),
            ))
        })?;
    }
    // The Graph host itself, also when it is plain http (the simulator in development).
    if base_url.scheme() == "http" {
        urls.allow_http_origin(base_url).map_err(|origin| StartError::Setup(format!("graph base url {origin}")))?;
    }
    let options = GraphOptions {
        base_url: base_url.clone(),
        retry,
        attempt_timeout: settings.partner_center.attempt_timeout,
        urls,
    };
    Ok(GraphClient::new(http, tokens, options))
}

fn export_options(settings: &Settings) -> ExportOptions {
    ExportOptions {
        poll_interval: settings.graph.poll_interval,
        read_wait: settings.graph.read_wait,
        manifest_ttl: settings.graph.manifest_ttl,
        resume_capacity: settings.graph.resume_capacity,
        resume_ttl: settings.graph.resume_ttl,
        default_page_size: settings.paging.default_page_size,
        max_page_size: settings.paging.max_page_size,
    }
}

/// The Redis connection and the key sealing refresh tokens (when configured).
type RedisSetup = (RedisStore, Option<Arc<SealingKey>>);

/// Redis, when configured: the connection (opened lazily, so a Redis outage does not stop the
/// start) and the key sealing refresh tokens. Errors name the setting, never the URL.
fn redis_store(settings: &Settings) -> Result<Option<RedisSetup>, StartError> {
    let redis = &settings.redis;
    let (key, url) = match (&redis.url, &redis.url_file) {
        (Some(url), _) => ("redis.url", url.expose_secret().trim().to_owned()),
        (None, Some(file)) => {
            let text = std::fs::read_to_string(file).map_err(|e| {
                StartError::Config(ConfigError::new("redis.url_file", format!("cannot read {}: {e}", file.display())))
            })?;
            let url = text.trim().to_owned();
            RedisSettings::check_url("redis.url_file", &url)?;
            ("redis.url_file", url)
        }
        (None, None) => return Ok(None),
    };
    let tls_ca = match &redis.tls_ca_file {
        Some(file) => {
            if !url.starts_with("rediss://") {
                return Err(StartError::Config(ConfigError::new("redis.tls_ca_file", "needs a rediss:// URL")));
            }
            Some(std::fs::read(file).map_err(|e| {
                StartError::Config(ConfigError::new(
                    "redis.tls_ca_file",
                    format!("cannot read {}: {e}", file.display()),
                ))
            })?)
        }
        None => None,
    };
    let options = RedisOptions {
        key_prefix: redis.key_prefix.clone(),
        connect_timeout: redis.connect_timeout,
        command_timeout: redis.command_timeout,
        tls_ca,
    };
    let store = RedisStore::new(&url, options, Arc::new(SharedStateHealth::new()))
        .map_err(|problem| StartError::Config(ConfigError::new(key, problem)))?;
    let sealing = match &redis.encryption_key_file {
        Some(file) => {
            let invalid = |problem: String| StartError::Config(ConfigError::new("redis.encryption_key_file", problem));
            let text =
                std::fs::read_to_string(file).map_err(|e| invalid(format!("cannot read {}: {e}", file.display())))?;
            Some(Arc::new(SealingKey::parse(&text).map_err(|problem| invalid(problem.to_owned()))?))
        }
        None => None,
    };
    Ok(Some((store, sealing)))
}

/// The facade's options from the settings (validated already, so a failure names the key).
fn facade_options(settings: &Settings) -> Result<FacadeOptions, StartError> {
    let invalid = |key: &'static str| {
        move |e: crate::error::Error| {
            let problem = e.field_violations().first().map_or(e.detail(), |v| v.description.as_str()).to_owned();
            StartError::Config(ConfigError::new(key, problem))
        }
    };
    Ok(FacadeOptions {
        default_page_size: settings.paging.default_page_size,
        max_page_size: settings.paging.max_page_size,
        azure_plan_product_id: settings.catalog.azure_plan_product_id.clone(),
        azure_plan_sku_id: settings.catalog.azure_plan_sku_id.clone(),
        azure_plan_segment: Segment::parse("catalog.azure_plan_segment", &settings.catalog.azure_plan_segment)
            .map_err(invalid("catalog.azure_plan_segment"))?,
        purchase_checks_ttl: settings.commerce.purchase_checks_ttl,
    })
}

#[cfg(feature = "simulator")]
fn default_partner_id() -> Option<String> {
    Some(partner_center_simulator::seed::CONTOSO_PARTNER_ID.to_owned())
}

#[cfg(not(feature = "simulator"))]
fn default_partner_id() -> Option<String> {
    None
}

/// Mints a dev-mode token with the configured dev secret, issuer and audience.
pub fn mint_dev_token(settings: &Settings, request: &DevTokenRequest) -> Result<String, StartError> {
    let issuer = settings.auth.issuer.as_deref().unwrap_or(DEFAULT_DEV_ISSUER);
    let audience = settings.auth.audience.as_deref().unwrap_or(DEFAULT_DEV_AUDIENCE);
    dev::mint(settings.dev_secret(), issuer, audience, request)
        .map_err(|e| StartError::Setup(format!("minting a dev token: {e}")))
}

/// A simulator in another process (`simulator.url`): asks its `/_simulator/info` where its
/// listeners are, and refuses to start against anything that does not answer as a simulator, so
/// dev tokens never reach a real Partner Center.
#[cfg(feature = "simulator")]
async fn external_simulator(url: &Url) -> Result<SimulatorUrls, StartError> {
    use partner_center_simulator::SimulatorInfo;
    let refuse = |problem: String| StartError::Config(ConfigError::new("simulator.url", problem));
    let info_url = with_trailing_slash(url.clone())
        .join("_simulator/info")
        .map_err(|e| refuse(format!("{url} cannot take a path: {e}")))?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| StartError::Setup(format!("http client: {e}")))?;
    let not_a_simulator = |why: String| {
        refuse(format!(
            "{url} is not a running simulator ({why}); start one with `partner-center-gateway simulate --listen {}`",
            url.host_str().zip(url.port()).map_or_else(|| "127.0.0.1:8090".to_owned(), |(h, p)| format!("{h}:{p}"))
        ))
    };
    let response =
        http.get(info_url.clone()).send().await.map_err(|e| not_a_simulator(format!("GET {info_url}: {e}")))?;
    if !response.status().is_success() {
        return Err(not_a_simulator(format!("GET {info_url} answered {}", response.status())));
    }
    let info: SimulatorInfo =
        response.json().await.map_err(|e| not_a_simulator(format!("GET {info_url} is not simulator info: {e}")))?;
    if info.service != SimulatorInfo::SERVICE {
        return Err(not_a_simulator(format!("GET {info_url} names service {:?}", info.service)));
    }
    let parse = |field: &str, value: &str| {
        Url::parse(value).map_err(|e| not_a_simulator(format!("its {field} {value:?} is not a URL: {e}")))
    };
    Ok(SimulatorUrls {
        base: with_trailing_slash(url.clone()),
        graph: parse("graphBaseUrl", &info.graph_base_url)?,
        blob: parse("blobBaseUrl", &info.blob_base_url)?,
    })
}

/// Where the simulator's listeners are.
struct SimulatorUrls {
    base: Url,
    graph: Url,
    blob: Url,
}

fn upstream(settings: &Settings, simulator: Option<SimulatorUrls>) -> Result<Upstream, StartError> {
    let default_graph = || Url::parse(crate::graph::DEFAULT_BASE_URL).map_err(|e| StartError::Setup(e.to_string()));
    let graph_base_url = match (&settings.graph.base_url, &simulator) {
        (Some(url), _) => with_trailing_slash(url.clone()),
        (None, Some(sim)) => sim.graph.join("v1.0/").map_err(|e| StartError::Setup(e.to_string()))?,
        (None, None) => default_graph()?,
    };
    let graph_http_origins =
        simulator.as_ref().map(|sim| vec![sim.graph.clone(), sim.blob.clone()]).unwrap_or_default();
    let configured = || -> Result<Vec<PartnerCredentials>, StartError> {
        Ok(settings
            .partner_center
            .partners
            .iter()
            .map(|p| PartnerCredentials {
                id: Arc::from(p.id.as_str()),
                tenant_id: p.tenant_id.to_string(),
                client_id: p.client_id.clone(),
                client_secret: match (&p.client_secret, &p.client_secret_file) {
                    (Some(secret), _) => SecretSource::Inline(secret.clone()),
                    (None, Some(file)) => SecretSource::File(file.clone()),
                    (None, None) => SecretSource::Inline(SecretString::from(String::new())),
                },
                refresh_token: match (&p.refresh_token, &p.refresh_token_file) {
                    (Some(token), _) => Some(RefreshToken::new(SecretSource::Inline(token.clone()))),
                    (None, Some(file)) => Some(RefreshToken::new(SecretSource::File(file.clone()))),
                    (None, None) => None,
                },
            })
            .collect())
    };
    match (simulator, &settings.partner_center.base_url) {
        (_, Some(base_url)) => Ok(Upstream {
            graph_base_url,
            graph_http_origins,
            base_url: with_trailing_slash(base_url.clone()),
            authority: with_trailing_slash(
                settings
                    .partner_center
                    .authority
                    .clone()
                    .unwrap_or(Url::parse(DEFAULT_AUTHORITY).map_err(|e| StartError::Setup(e.to_string()))?),
            ),
            partners: configured()?,
        }),
        (Some(simulator), None) => {
            let partners =
                if settings.partner_center.partners.is_empty() { simulator_partners() } else { configured()? };
            Ok(Upstream {
                base_url: simulator.base.clone(),
                authority: simulator.base,
                partners,
                graph_base_url,
                graph_http_origins,
            })
        }
        (None, None) => Err(StartError::Config(ConfigError::new(
            "partner_center.base_url",
            "is required: this build has no built-in simulator",
        ))),
    }
}

#[cfg(feature = "simulator")]
fn simulator_partners() -> Vec<PartnerCredentials> {
    partner_center_simulator::seed::PARTNERS
        .iter()
        .map(|p| PartnerCredentials {
            id: Arc::from(p.id),
            tenant_id: p.tenant_id.to_owned(),
            client_id: p.client_id.to_owned(),
            client_secret: SecretSource::Inline(SecretString::from(p.client_secret.to_owned())),
            refresh_token: Some(RefreshToken::new(SecretSource::Inline(SecretString::from(
                p.refresh_token.to_owned(),
            )))),
        })
        .collect()
}

#[cfg(not(feature = "simulator"))]
fn simulator_partners() -> Vec<PartnerCredentials> {
    Vec::new()
}

fn with_trailing_slash(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

async fn authenticator(
    settings: &Settings,
    http: reqwest::Client,
    partners: Vec<PartnerName>,
) -> Result<Authenticator, StartError> {
    let rules = |issuer: String, audience: String| TokenRules {
        issuer,
        audience,
        leeway: settings.auth.leeway,
        max_token_bytes: settings.auth.max_token_bytes,
        max_lifetime: settings.auth.max_token_lifetime,
    };
    match settings.auth_mode() {
        AuthMode::Dev => Ok(Authenticator::new(
            KeySource::dev_secret(settings.dev_secret()),
            rules(
                settings.auth.issuer.clone().unwrap_or_else(|| DEFAULT_DEV_ISSUER.to_owned()),
                settings.auth.audience.clone().unwrap_or_else(|| DEFAULT_DEV_AUDIENCE.to_owned()),
            ),
            partners,
        )),
        AuthMode::Jwt => {
            let keys = if let Some(url) = &settings.auth.jwks_url {
                let cache = Arc::new(JwksCache::new(url.clone(), http, settings.auth.jwks_min_refetch_interval));
                match cache.fetch().await {
                    Ok(count) => tracing::info!(keys = count, "jwks loaded"),
                    // Start anyway: the issuer may be briefly down; unknown kids refetch.
                    Err(error) => tracing::warn!(%error, "jwks not loaded at start"),
                }
                cache.spawn_refresh(settings.auth.jwks_refresh_interval);
                KeySource::Jwks(cache)
            } else {
                let pem = match (&settings.auth.public_key_pem, &settings.auth.public_key_file) {
                    (Some(pem), _) => pem.clone().into_bytes(),
                    (None, Some(file)) => std::fs::read(file).map_err(|e| {
                        StartError::Config(ConfigError::new(
                            "auth.public_key_file",
                            format!("cannot read {}: {e}", file.display()),
                        ))
                    })?,
                    (None, None) => {
                        return Err(StartError::Config(ConfigError::new("auth.jwks_url", "no key source")));
                    }
                };
                KeySource::pem(&pem)
                    .map_err(|e| StartError::Config(ConfigError::new("auth.public_key_pem", e.to_string())))?
            };
            let issuer = settings.auth.issuer.clone().unwrap_or_default();
            let audience = settings.auth.audience.clone().unwrap_or_default();
            Ok(Authenticator::new(keys, rules(issuer, audience), partners))
        }
    }
}

/// The response cache's options: each opted-in operation (one of [`CACHEABLE_OPERATIONS`]) with
/// its time to live, and whether identical reads in flight are shared.
fn response_cache_policy(settings: &crate::config::PartnerCenterSettings) -> Result<ResponseCachePolicy, StartError> {
    let mut ttl = std::collections::HashMap::new();
    for (operation, time) in &settings.response_cache.ttl {
        let Some(known) = CACHEABLE_OPERATIONS.iter().find(|known| **known == operation.as_str()) else {
            return Err(StartError::Config(ConfigError::new(
                format!("partner_center.response_cache.ttl.{operation}"),
                format!("is not a cacheable read; choose from {}", CACHEABLE_OPERATIONS.join(", ")),
            )));
        };
        ttl.insert(*known, **time);
    }
    Ok(ResponseCachePolicy { ttl, max_bytes: settings.response_cache.max_bytes, coalesce: settings.coalesce_reads })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn only_cacheable_reads_may_be_cached() {
        let mut settings = crate::config::PartnerCenterSettings::default();
        settings.response_cache.ttl.insert("customers.list".to_owned(), Duration::from_secs(60).into());
        let policy = response_cache_policy(&settings).expect("a read");
        assert_eq!(policy.ttl.get("customers.list"), Some(&Duration::from_secs(60)));

        settings.response_cache.ttl.insert("carts.checkout".to_owned(), Duration::from_secs(60).into());
        let Err(StartError::Config(error)) = response_cache_policy(&settings) else {
            panic!("a write is never cached");
        };
        let text = error.to_string();
        assert!(text.contains("partner_center.response_cache.ttl.carts.checkout"), "{text}");
        assert!(text.contains("customers.list"), "the valid names are listed: {text}");
    }
}
