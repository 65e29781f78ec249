//! A stand-in for Partner Center and its Azure AD token endpoint, on one loopback port, plus
//! Microsoft Graph's partner billing exports and the Azure Storage blob host they point at, on two
//! more ([`graph`]).
//!
//! Same paths, casing, collection envelope, paging and error bodies as the real service (see
//! `shared/partner-center-api.md`), stateful in memory, seeded by [`seed`]. `/_simulator/...`
//! reports counters and injects faults (429 with `Retry-After`, 5xx, delays, dropped connections,
//! our token rejected). `cargo run` and the tests use it; production points at the real host.
//!
//! Commerce: [`agreements`] (MCA), [`commerce`] (carts, checkout, orders), [`subscriptions`]
//! (with Azure entitlements), [`upgrades`] (MS-AZR-0145P → Azure plan), with clock-driven
//! provisioning, and [`idempotency`] (`MS-RequestId` replay for POST/PUT/PATCH).

pub mod aad;
pub mod agreements;
pub mod billing_data;
pub mod catalog;
pub mod commerce;
pub mod common;
pub mod control;
pub mod customers;
pub mod faults;
pub mod graph;
pub mod idempotency;
pub mod invoices;
pub mod seed;
pub mod state;
pub mod subscriptions;
pub mod upgrades;
pub mod usage;
pub mod wire;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{Router, middleware};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

pub use control::{Counters, FaultKind, FaultRule, SeenCall, SimulatorInfo};
pub use state::SimState;

/// How the simulator behaves.
#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    /// Lifetime of issued access tokens.
    pub token_lifetime: Duration,
    /// How long a new order stays out of the customer's order list.
    pub order_list_delay: Duration,
    /// How long a cart can be updated and checked out after its creation.
    pub cart_lifetime: Duration,
    /// How long (simulated clock) an order stays `pending` before it completes and its
    /// subscriptions become active.
    pub provisioning_delay: Duration,
    /// How long (simulated clock) a product upgrade stays `InProgress` before it completes.
    pub upgrade_duration: Duration,
    /// How long (real time) a checkout takes while the cart is marked as being processed; a second
    /// checkout in that window gets 409/800064. Zero by default.
    pub checkout_processing_time: Duration,
    /// Where the simulated Microsoft Graph listens; `None` picks a free port on the main
    /// listener's address.
    pub graph_listen: Option<SocketAddr>,
    /// Where the simulated Azure Storage blob host listens; `None` as for Graph.
    pub blob_listen: Option<SocketAddr>,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            token_lifetime: Duration::from_secs(3599),
            order_list_delay: Duration::from_secs(15 * 60),
            cart_lifetime: commerce::DEFAULT_CART_LIFETIME,
            provisioning_delay: Duration::from_secs(5),
            upgrade_duration: Duration::from_secs(30),
            checkout_processing_time: Duration::ZERO,
            graph_listen: None,
            blob_listen: None,
        }
    }
}

/// A running simulator. Dropping the handle does not stop it; call [`SimulatorHandle::shutdown`].
pub struct SimulatorHandle {
    addr: SocketAddr,
    state: Arc<SimState>,
    graph: Arc<graph::GraphService>,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl SimulatorHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:port/`: both the Partner Center API root and the Azure AD authority.
    pub fn base_url(&self) -> url::Url {
        // A SocketAddr always forms a valid http URL.
        url::Url::parse(&format!("http://{}/", self.addr)).unwrap_or_else(|_| unreachable!("socket address url"))
    }

    pub fn state(&self) -> &Arc<SimState> {
        &self.state
    }

    /// `http://127.0.0.1:port/`, standing in for `https://graph.microsoft.com/`: the exports live
    /// under `v1.0/reports/partners/billing/` (and `beta/...`). Tokens come from [`Self::base_url`]'s
    /// token endpoint with `resource=https://graph.microsoft.com` (v1) or
    /// `scope=https://graph.microsoft.com/.default` (v2).
    pub fn graph_base_url(&self) -> url::Url {
        url::Url::parse(&self.graph.graph_base_url()).unwrap_or_else(|_| unreachable!("socket address url"))
    }

    /// `http://127.0.0.1:port/`, the blob host the manifests' `rootDirectory` points at.
    pub fn blob_base_url(&self) -> url::Url {
        url::Url::parse(&self.graph.blob_base_url()).unwrap_or_else(|_| unreachable!("socket address url"))
    }

    /// The simulated Graph and blob host: settings, counters, operations (also reachable over
    /// `/_simulator/graph/...`).
    pub fn graph(&self) -> &Arc<graph::GraphService> {
        &self.graph
    }

    pub async fn shutdown(self) {
        self.stop.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// The simulator's router, for embedding or tests.
pub fn router(state: Arc<SimState>) -> Router {
    let partner_center = Router::new()
        .merge(customers::routes())
        .merge(catalog::routes())
        .merge(agreements::routes())
        .merge(commerce::routes())
        .merge(subscriptions::routes())
        .merge(upgrades::routes())
        .merge(usage::routes())
        .merge(invoices::routes())
        // Inside the token check: replays are per partner tenant.
        .layer(middleware::from_fn_with_state(state.clone(), idempotency::replay))
        .layer(middleware::from_fn_with_state(state.clone(), aad::require_token));
    Router::new()
        .merge(aad::routes())
        .merge(partner_center)
        // Counting and fault injection see every upstream call, token requests included.
        .layer(middleware::from_fn_with_state(state.clone(), faults::inject))
        .layer(middleware::from_fn_with_state(state.clone(), control::count))
        .merge(control::routes())
        .merge(subscriptions::control_routes())
        .fallback(wire::unknown_route)
        .with_state(state)
}

/// Starts the simulator on `listen` (port 0 picks one), with Graph and the blob host on
/// [`SimulatorConfig::graph_listen`] and [`SimulatorConfig::blob_listen`].
pub async fn start(listen: SocketAddr, config: SimulatorConfig) -> std::io::Result<SimulatorHandle> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let beside = SocketAddr::new(addr.ip(), 0);
    let graph_listener = TcpListener::bind(config.graph_listen.unwrap_or(beside)).await?;
    let blob_listener = TcpListener::bind(config.blob_listen.unwrap_or(beside)).await?;
    let state = Arc::new(SimState::seeded(config));
    let graph =
        Arc::new(graph::GraphService::new(state.clone(), graph_listener.local_addr()?, blob_listener.local_addr()?));
    let app = router(state.clone())
        .merge(graph::control_routes(graph.clone()))
        .merge(control::info_route(control::SimulatorInfo::new(&addr, &graph)));
    let stop = CancellationToken::new();
    let tasks = vec![
        serve(listener, app, &stop, "simulator"),
        serve(graph_listener, graph::graph_router(graph.clone()), &stop, "simulated Graph"),
        serve(blob_listener, graph::blob_router(graph.clone()), &stop, "simulated blob host"),
    ];
    Ok(SimulatorHandle { addr, state, graph, stop, tasks })
}

fn serve(listener: TcpListener, app: Router, stop: &CancellationToken, name: &'static str) -> JoinHandle<()> {
    let stopped = stop.clone();
    tokio::spawn(async move {
        let served = axum::serve(listener, app).with_graceful_shutdown(async move { stopped.cancelled().await }).await;
        if let Err(error) = served {
            tracing::error!(%error, "{name} stopped");
        }
    })
}

/// Helpers for the simulator's own unit tests: a running simulator and tokens for a partner.
#[cfg(test)]
pub mod testing {
    use super::{SimulatorConfig, SimulatorHandle, seed, start};

    pub struct TestSim {
        pub handle: SimulatorHandle,
        pub http: reqwest::Client,
    }

    impl TestSim {
        pub async fn start() -> Self {
            Self::start_with(SimulatorConfig::default()).await
        }

        pub async fn start_with(config: SimulatorConfig) -> Self {
            let handle = start("127.0.0.1:0".parse().expect("addr"), config).await.expect("simulator starts");
            Self { handle, http: reqwest::Client::new() }
        }

        pub fn url(&self, path: &str) -> String {
            format!("{}{}", self.handle.base_url(), path.trim_start_matches('/'))
        }

        /// An app-only (client credentials) token for Contoso.
        pub async fn app_token(&self) -> String {
            self.token(&[("grant_type", "client_credentials")]).await
        }

        /// An app+user (refresh token) token for Contoso. Only the first call's refresh token is
        /// the seeded one; this helper always uses the newest the simulator handed out.
        pub async fn user_token(&self) -> String {
            let refresh = {
                let inner = self.handle.state().lock();
                inner.aad.current_refresh_token(seed::CONTOSO_TENANT_ID).unwrap_or_default()
            };
            self.token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await
        }

        async fn token(&self, extra: &[(&str, &str)]) -> String {
            let mut form = vec![
                ("client_id", seed::CONTOSO_CLIENT_ID),
                ("client_secret", seed::CONTOSO_CLIENT_SECRET),
                ("resource", "https://api.partnercenter.microsoft.com"),
            ];
            form.extend_from_slice(extra);
            let response = self
                .http
                .post(self.url(&format!("{}/oauth2/token", seed::CONTOSO_TENANT_ID)))
                .form(&form)
                .send()
                .await
                .expect("token request");
            let body: serde_json::Value = response.json().await.expect("token json");
            body["access_token"].as_str().expect("access_token").to_owned()
        }
    }
}
