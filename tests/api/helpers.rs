//! `TestApp`: the real gateway (REST + gRPC) on port 0 against the built-in simulator on port 0,
//! with dev-mode tokens, a REST client and generated gRPC clients.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use partner_center_gateway::{
    app::{self, Application},
    auth::{Permission, dev::DevTokenRequest},
    config::{PartnerSettings, Settings},
    grpc::pb::{
        catalog_service_client::CatalogServiceClient, commerce_service_client::CommerceServiceClient,
        customer_service_client::CustomerServiceClient, product_upgrade_service_client::ProductUpgradeServiceClient,
        subscription_service_client::SubscriptionServiceClient, usage_service_client::UsageServiceClient,
    },
    telemetry,
};
use partner_center_simulator::{self as simulator, Counters, SimState, SimulatorConfig, SimulatorHandle, seed};

use serde_json::Value;
use tokio::sync::oneshot;
use tonic::transport::Channel;

pub const FABRIKAM: &str = seed::CUSTOMER_FABRIKAM;
pub const LITWARE: &str = seed::CUSTOMER_LITWARE;
pub const ADVENTURE_WORKS: &str = seed::CUSTOMER_ADVENTURE_WORKS;
pub const NORTHWIND_TRADERS: &str = seed::CUSTOMER_NORTHWIND_TRADERS;
pub const TAILSPIN: &str = seed::CUSTOMER_TAILSPIN;
pub const WINGTIP: &str = seed::CUSTOMER_WINGTIP;

pub struct TestApp {
    pub rest: String,
    /// A simulator started outside the gateway (jwt-mode tests), kept alive with the app.
    _external_sim: Option<SimulatorHandle>,
    pub grpc_addr: SocketAddr,
    /// `http://host:port` of the separate metrics listener, when `metrics.listen` is set.
    pub metrics: Option<String>,
    pub sim: Arc<SimState>,
    /// The simulated Microsoft Graph and blob host (settings, counters, operations).
    pub graph: Arc<simulator::graph::GraphService>,
    pub http: reqwest::Client,
    pub settings: Settings,
    shutdown: Option<oneshot::Sender<()>>,
}

/// Settings for a test: every listener on port 0, no partner budget, everything else default
/// (dev auth, simulator).
pub fn test_settings() -> Settings {
    let mut settings = Settings::default();
    settings.rest.listen = "127.0.0.1:0".parse().expect("addr");
    settings.grpc.listen = "127.0.0.1:0".parse().expect("addr");
    settings.simulator.listen = "127.0.0.1:0".parse().expect("addr");
    settings.partner_center.retry.base_delay = Duration::from_millis(5);
    // Functional tests make hundreds of upstream calls in seconds; the tests of the partner
    // budget (resilience, replicas) turn it on with their own figures.
    settings.partner_center.budget_per_minute = 0;
    settings
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(customize: impl FnOnce(&mut Settings)) -> Self {
        telemetry::init_test_logging();
        let mut settings = test_settings();
        customize(&mut settings);
        Self::start(settings, None).await
    }

    /// The gateway in jwt mode against a simulator it did not start (as in production, where
    /// `partner_center.base_url` points at Partner Center).
    pub async fn spawn_external(customize: impl FnOnce(&mut Settings)) -> Self {
        telemetry::init_test_logging();
        let sim = simulator::start("127.0.0.1:0".parse().expect("addr"), SimulatorConfig::default())
            .await
            .expect("simulator");
        let mut settings = test_settings();
        settings.partner_center.base_url = Some(sim.base_url());
        settings.partner_center.authority = Some(sim.base_url());
        settings.partner_center.partners =
            seed::PARTNERS.iter().map(|p| partner_settings(p.id, p.tenant_id, p.client_id, p.client_secret)).collect();
        settings.graph.base_url = Some(sim.graph_base_url().join("v1.0/").expect("graph url"));
        settings.graph.allowed_http_origins = vec![sim.blob_base_url()];
        customize(&mut settings);
        Self::start(settings, Some(sim)).await
    }

    async fn start(settings: Settings, external_sim: Option<SimulatorHandle>) -> Self {
        let application = Application::build(settings.clone()).await.expect("the gateway starts");
        let rest = format!("http://{}", application.rest_addr());
        let grpc_addr = application.grpc_addr();
        let metrics = application.metrics_addr().map(|addr| format!("http://{addr}"));
        let (sim, graph) = match &external_sim {
            Some(handle) => (handle.state().clone(), handle.graph().clone()),
            None => {
                let handle = application.simulator().expect("tests run against the simulator");
                (handle.state().clone(), handle.graph().clone())
            }
        };
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(application.run_until_stopped(async move {
            let _ = rx.await;
        }));
        let app = Self {
            rest,
            _external_sim: external_sim,
            grpc_addr,
            metrics,
            sim,
            graph,
            http: reqwest::Client::new(),
            settings,
            shutdown: Some(tx),
        };
        app.wait_ready().await;
        app
    }

    async fn wait_ready(&self) {
        for _ in 0..200 {
            if let Ok(response) = self.http.get(format!("{}/readyz", self.rest)).send().await
                && response.status() == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the gateway did not become ready");
    }

    /// Stops this gateway and starts a new one with the same settings against the same external
    /// simulator (whose state survives): a gateway restart.
    pub async fn restart(mut self) -> Self {
        let sim = self._external_sim.take().expect("restart needs spawn_external");
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
        Self::start(self.settings.clone(), Some(sim)).await
    }

    pub fn shutdown_handle(&mut self) -> oneshot::Sender<()> {
        self.shutdown.take().expect("shutdown not taken yet")
    }

    pub fn token_with(&self, request: DevTokenRequest) -> String {
        app::mint_dev_token(&self.settings, &request).expect("mint")
    }

    /// A Contoso token for `customers` (`"*"` for all) with `scopes`.
    pub fn token(&self, customers: &[&str], scopes: &[Permission]) -> String {
        self.token_with(DevTokenRequest {
            subject: "test-caller".to_owned(),
            partner: Some(seed::CONTOSO_PARTNER_ID.to_owned()),
            customers: customers.iter().map(|c| (*c).to_owned()).collect(),
            scopes: scopes.iter().map(|p| p.as_str().to_owned()).collect(),
            ttl: Duration::from_secs(600),
        })
    }

    /// Every permission on every Contoso customer.
    pub fn admin_token(&self) -> String {
        self.token(&["*"], &Permission::ALL)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.rest, path)
    }

    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.http.get(self.url(path)).bearer_auth(token).send().await.expect("request")
    }

    pub async fn get_json(&self, path: &str, token: &str) -> (u16, Value) {
        let response = self.get(path, token).await;
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// Every item of a REST list, following `nextPageToken` with `pageSize` until the last page;
    /// each page must be 200.
    pub async fn all_pages(&self, path: &str, token: &str, page_size: u32) -> Vec<Value> {
        let mut items = Vec::new();
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut url = format!("{path}{separator}pageSize={page_size}");
        loop {
            let (status, body) = self.get_json(&url, token).await;
            assert_eq!(status, 200, "{url}: {body}");
            items.extend(body["items"].as_array().expect("items").iter().cloned());
            match body["nextPageToken"].as_str() {
                Some(next) => url = format!("{path}{separator}pageSize={page_size}&pageToken={next}"),
                None => return items,
            }
        }
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, self.url(path)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.unwrap_or(Value::Null))
    }

    pub async fn post_json(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.send_json(reqwest::Method::POST, path, token, Some(body)).await
    }

    /// `POST /v1/customers/{customer}/azure-plans` with an `Idempotency-Key`.
    pub async fn create_azure_plan(&self, customer: &str, key: &str, token: &str) -> (u16, Value) {
        let response = self
            .http
            .post(self.url(&format!("/v1/customers/{customer}/azure-plans")))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.unwrap_or(Value::Null))
    }

    pub async fn subscriptions_client(&self) -> SubscriptionServiceClient<Channel> {
        SubscriptionServiceClient::new(self.channel().await)
    }

    pub async fn upgrades_client(&self) -> ProductUpgradeServiceClient<Channel> {
        ProductUpgradeServiceClient::new(self.channel().await)
    }

    pub fn counters(&self) -> Counters {
        self.sim.counters()
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.grpc_addr)).expect("uri").connect().await.expect("grpc connects")
    }

    pub async fn customers_client(&self) -> CustomerServiceClient<Channel> {
        CustomerServiceClient::new(self.channel().await)
    }

    pub async fn catalog_client(&self) -> CatalogServiceClient<Channel> {
        CatalogServiceClient::new(self.channel().await)
    }

    pub async fn commerce_client(&self) -> CommerceServiceClient<Channel> {
        CommerceServiceClient::new(self.channel().await)
    }

    pub async fn usage_client(&self) -> UsageServiceClient<Channel> {
        UsageServiceClient::new(self.channel().await)
    }
}

/// A gRPC request carrying `token`.
pub fn authed<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().expect("metadata"));
    request
}

/// A configured partner, as a settings file would give it.
fn partner_settings(id: &str, tenant: &str, client_id: &str, secret: &str) -> PartnerSettings {
    PartnerSettings {
        id: id.to_owned(),
        tenant_id: uuid::Uuid::parse_str(tenant).expect("tenant id"),
        client_id: client_id.to_owned(),
        client_secret: Some(secrecy::SecretString::from(secret.to_owned())),
        client_secret_file: None,
        refresh_token: None,
        refresh_token_file: None,
    }
}
