//! `/_simulator/...`: counters of what the simulator saw, and fault injection.
//!
//! - `GET /_simulator/info`: what this is (`"service": "partner-center-simulator"`), where its
//!   simulated Graph and blob host listen, and the seeded partners: a gateway started with
//!   `simulator.url` reads it to find them, and to refuse anything that is not a simulator
//! - `GET /_simulator/counters`, `POST /_simulator/counters/reset` (also forgets recent calls)
//! - `GET /_simulator/calls`: the newest calls with their request, correlation and trace ids
//! - `POST /_simulator/faults` (a [`FaultRule`] as JSON), `DELETE /_simulator/faults`
//! - `POST /_simulator/tokens/revoke`: every issued access token stops working
//! - `POST /_simulator/clock/advance` (`{"seconds": 900}`): moves the simulated clock forward
//! - `POST /_simulator/entitlements/{entitlementId}/status` (`{"status": "disabled"}`): an Azure
//!   subscription changes status as if done in Azure (served by [`super::subscriptions`])
//! - `/_simulator/graph/...` and `/_simulator/blob/...`: the simulated Graph exports and blob host
//!   (settings, operations, counters, faults; see [`super::graph`])
//! - `POST /_simulator/subscriptions/patch-mode` (`{"mode": "accepted", "delaySeconds": 5}` or
//!   `{"mode": "immediate"}`): a valid subscription PATCH answers 202 with `Location` and applies
//!   after the delay (simulated clock), or 200 at once (served by [`super::subscriptions`])
//! - `POST /_simulator/customers/{customerId}/directSignedMicrosoftCustomerAgreementStatus`
//!   (`{"isSigned": true}`): the customer signs the MCA directly, in the Microsoft 365 admin
//!   center (served by [`super::agreements`])
//! - `POST /_simulator/orders/{orderId}/status` (`{"status": "pending_review"}`): the order moves to
//!   any documented status (`pending`, `completed`, `cancelled`, `suspended`, `pending_review`,
//!   `pending_po_upload`, `po_upload_complete`, `po_review_rejected`, `partial_success`, `error`)
//!   and its subscriptions follow (served by [`super::commerce::orders`])
//! - `POST /_simulator/orders/id-style` (`{"style": "short" | "long" | "byProduct"}`): the id form of
//!   new orders (`a68736758d9c` or `311qiN8iFwkv-XARWMvXRYAwYKMACVqv1`; default: by product)

use std::{
    collections::{BTreeMap, VecDeque},
    sync::Arc,
    time::Duration,
};

use axum::{
    Json, Router,
    extract::{MatchedPath, Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};

use super::SimState;

/// What the simulator saw since start or the last reset.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    /// Token requests by grant type (`client_credentials`, `refresh_token`).
    pub token_requests: BTreeMap<String, u64>,
    /// Calls by route template, e.g. `GET /v1/customers/{customer_id}` (token endpoint included).
    pub calls: BTreeMap<String, u64>,
    /// Partner Center calls by concrete path, e.g. `GET /v1/customers/0b5e...`.
    pub paths: BTreeMap<String, u64>,
}

impl Counters {
    pub fn total_token_requests(&self) -> u64 {
        self.token_requests.values().sum()
    }

    /// Partner Center calls (token requests excluded).
    pub fn total_calls(&self) -> u64 {
        // v1 `/oauth2/token` and v2 `/oauth2/v2.0/token`.
        self.calls.iter().filter(|(route, _)| !route.contains("/oauth2/")).map(|(_, n)| n).sum()
    }

    pub fn calls_to(&self, route: &str) -> u64 {
        self.calls.get(route).copied().unwrap_or(0)
    }

    /// Calls whose concrete path mentions `needle` (e.g. a customer id).
    pub fn calls_mentioning(&self, needle: &str) -> u64 {
        let needle = needle.to_ascii_lowercase();
        self.paths.iter().filter(|(path, _)| path.to_ascii_lowercase().contains(&needle)).map(|(_, n)| n).sum()
    }
}

/// What a matching request gets instead of (or before) the normal answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum FaultKind {
    /// An error status; 429 comes with `Retry-After`.
    #[serde(rename_all = "camelCase")]
    Status {
        status: u16,
        #[serde(default)]
        retry_after_seconds: Option<u64>,
    },
    /// Wait, then answer normally: `delayMs`, or uniformly between `delayMs` and `delayMaxMs`
    /// (Partner Center's own latency is 100-300 ms).
    #[serde(rename_all = "camelCase")]
    Delay {
        delay_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        delay_max_ms: Option<u64>,
    },
    /// Process the request, then drop the connection before the answer is complete.
    DropAfterProcessing,
    /// Drop the connection without processing.
    Drop,
    /// 401 as if our token were no longer valid.
    RejectToken,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FaultRule {
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Only this method (any when absent).
    #[serde(default)]
    pub method: Option<String>,
    /// Only paths starting with this (any when absent), e.g. `/v1/customers`.
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// How many matching requests it applies to (unlimited when absent).
    #[serde(default)]
    pub times: Option<u32>,
    /// Chance that a matching request is affected, 0.0–1.0 (1.0 when absent).
    #[serde(default)]
    pub probability: Option<f64>,
}

impl FaultRule {
    pub fn new(kind: FaultKind) -> Self {
        Self { kind, method: None, path_prefix: None, times: None, probability: None }
    }

    pub fn on(mut self, method: &str, path_prefix: &str) -> Self {
        self.method = Some(method.to_owned());
        self.path_prefix = Some(path_prefix.to_owned());
        self
    }

    pub fn times(mut self, times: u32) -> Self {
        self.times = Some(times);
        self
    }

    pub fn probability(mut self, probability: f64) -> Self {
        self.probability = Some(probability);
        self
    }

    pub(super) fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self.path_prefix.as_deref().is_none_or(|p| path.starts_with(p))
            && self.times != Some(0)
    }
}

#[derive(Default)]
pub struct ControlState {
    pub counters: Counters,
    pub faults: Vec<FaultRule>,
    /// The newest calls with their tracing headers, oldest first (bounded: the simulator also
    /// serves load tests).
    pub recent_calls: VecDeque<SeenCall>,
}

/// How many calls [`ControlState::recent_calls`] remembers.
const RECENT_CALLS: usize = 256;

/// One Partner Center call as the simulator saw it: enough to check what a client propagates.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SeenCall {
    /// `GET /v1/customers/0b5e...`
    pub call: String,
    pub request_id: Option<String>,
    pub correlation_id: Option<String>,
    pub traceparent: Option<String>,
}

impl SimState {
    pub fn counters(&self) -> Counters {
        self.lock().control.counters.clone()
    }

    pub fn reset_counters(&self) {
        let control = &mut self.lock().control;
        control.counters = Counters::default();
        control.recent_calls.clear();
    }

    /// The newest Partner Center calls (token requests included), oldest first.
    pub fn recent_calls(&self) -> Vec<SeenCall> {
        self.lock().control.recent_calls.iter().cloned().collect()
    }

    pub fn inject(&self, rule: FaultRule) {
        self.lock().control.faults.push(rule);
    }

    pub fn clear_faults(&self) {
        self.lock().control.faults.clear();
    }

    pub fn revoke_tokens(&self) {
        self.lock().aad.revoke_all();
    }
}

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/_simulator/counters", get(get_counters))
        .route("/_simulator/counters/reset", post(reset_counters))
        .route("/_simulator/calls", get(get_recent_calls))
        .route("/_simulator/faults", post(add_fault).delete(clear_faults).get(list_faults))
        .route("/_simulator/tokens/revoke", post(revoke_tokens))
        .route("/_simulator/clock/advance", post(advance_clock))
        .merge(super::agreements::control_routes())
        .merge(super::commerce::orders::control_routes())
}

/// `GET /_simulator/info`: the answer a gateway started with `simulator.url` relies on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SimulatorInfo {
    /// Always [`SimulatorInfo::SERVICE`].
    pub service: String,
    pub version: String,
    /// The Partner Center API root, also the Azure AD authority.
    pub base_url: String,
    /// Stands in for `https://graph.microsoft.com/`.
    pub graph_base_url: String,
    /// The blob host the billing export manifests point at.
    pub blob_base_url: String,
    /// The seeded partner ids (`contoso`, `northwind`).
    pub partners: Vec<String>,
}

impl SimulatorInfo {
    pub const SERVICE: &'static str = "partner-center-simulator";

    pub fn new(addr: &std::net::SocketAddr, graph: &super::graph::GraphService) -> Self {
        Self {
            service: Self::SERVICE.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            base_url: format!("http://{addr}/"),
            graph_base_url: graph.graph_base_url(),
            blob_base_url: graph.blob_base_url(),
            partners: super::seed::PARTNERS.iter().map(|p| p.id.to_owned()).collect(),
        }
    }
}

/// The `/_simulator/info` route, answering `info`.
pub fn info_route(info: SimulatorInfo) -> Router {
    let info = Arc::new(info);
    Router::new().route("/_simulator/info", get(move || std::future::ready(Json(info.as_ref().clone()))))
}

#[derive(Deserialize)]
struct Advance {
    seconds: u64,
}

async fn advance_clock(State(state): State<Arc<SimState>>, Json(advance): Json<Advance>) -> StatusCode {
    state.advance_clock(Duration::from_secs(advance.seconds));
    StatusCode::NO_CONTENT
}

async fn get_counters(State(state): State<Arc<SimState>>) -> Json<Counters> {
    Json(state.counters())
}

async fn get_recent_calls(State(state): State<Arc<SimState>>) -> Json<Vec<SeenCall>> {
    Json(state.recent_calls())
}

async fn reset_counters(State(state): State<Arc<SimState>>) -> StatusCode {
    state.reset_counters();
    StatusCode::NO_CONTENT
}

async fn add_fault(State(state): State<Arc<SimState>>, Json(rule): Json<FaultRule>) -> Response {
    if rule.probability.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
        return (StatusCode::BAD_REQUEST, "probability must be between 0 and 1").into_response();
    }
    if let FaultKind::Status { status, .. } = rule.kind
        && !(400..=599).contains(&status)
    {
        return (StatusCode::BAD_REQUEST, "status must be 4xx or 5xx").into_response();
    }
    state.inject(rule);
    StatusCode::CREATED.into_response()
}

async fn list_faults(State(state): State<Arc<SimState>>) -> Json<Vec<FaultRule>> {
    Json(state.lock().control.faults.clone())
}

async fn clear_faults(State(state): State<Arc<SimState>>) -> StatusCode {
    state.clear_faults();
    StatusCode::NO_CONTENT
}

async fn revoke_tokens(State(state): State<Arc<SimState>>) -> StatusCode {
    state.revoke_tokens();
    StatusCode::NO_CONTENT
}

/// Counts every request to the simulated services (not the control routes). Token requests are
/// also counted by grant type, in the token endpoint itself.
pub async fn count(State(state): State<Arc<SimState>>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let template = request.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let headers = request.headers();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let seen = SeenCall {
        call: format!("{method} {path}"),
        request_id: header("ms-requestid"),
        correlation_id: header("ms-correlationid"),
        traceparent: header("traceparent"),
    };
    {
        let mut inner = state.lock();
        let control = &mut inner.control;
        *control.counters.calls.entry(format!("{method} {}", template.unwrap_or_else(|| path.clone()))).or_default() +=
            1;
        *control.counters.paths.entry(seen.call.clone()).or_default() += 1;
        if control.recent_calls.len() == RECENT_CALLS {
            control.recent_calls.pop_front();
        }
        control.recent_calls.push_back(seen);
    }
    next.run(request).await
}

/// Counts a token request (called by the token endpoint, which knows the grant type).
pub fn count_token_request(state: &SimState, grant_type: &str) {
    *state.lock().control.counters.token_requests.entry(grant_type.to_owned()).or_default() += 1;
}

/// The default wait a 429 fault announces.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
