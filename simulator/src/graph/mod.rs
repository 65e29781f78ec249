//! Microsoft Graph's partner billing exports ("reconciliation API v2") and the Azure Storage blob
//! host their data is downloaded from, as `shared/graph-billing-v2.md` part A describes them.
//!
//! Three listeners make up the simulator: Partner Center + Azure AD + `/_simulator` (the main one),
//! Graph ([`crate::SimulatorHandle::graph_base_url`], standing in for `https://graph.microsoft.com/`)
//! and the blob host ([`crate::SimulatorHandle::blob_base_url`], standing in for
//! `https://{account}.blob.core.windows.net/`, path style: `/{account}/{container}/{path}`).
//!
//! # Graph (`{graph}/v1.0/...`; `{graph}/beta/...` serves the same)
//! - X1 `POST /reports/partners/billing/reconciliation/billed/export` `{"invoiceId", "attributeSet"?}`
//! - X2 `POST /reports/partners/billing/reconciliation/unbilled/export` `{"billingPeriod", "currencyCode", "attributeSet"?}`
//! - X3 `POST /reports/partners/billing/usage/billed/export` `{"invoiceId", "attributeSet"?}`
//! - X4 `POST /reports/partners/billing/usage/unbilled/export` `{"billingPeriod", "currencyCode", "attributeSet"?}`
//!
//!   → `202 Accepted`, no body, `Location: {graph}/v1.0/reports/partners/billing/operations/{id}`.
//!   400 `{"error":{"code":"BadRequest",...}}` for a missing required parameter, a value that is no
//!   member of its enum (`billingPeriod` `previous`, `attributeSet` `Full`), a currency that is not
//!   three letters, a parameter the action does not have; 415 without `Content-Type: application/json`.
//! - X5 `GET /reports/partners/billing/operations/{id}`: `runningOperation` (`notStarted`/`running`,
//!   with `Retry-After`) for the configured number of polls, then `exportSuccessOperation` or
//!   `failedOperation` (`error.code` `"5000"`). Always `200 OK`.
//! - X6 `GET /reports/partners/billing/manifests/{id}`: the manifest, once the export succeeded.
//!
//! Every Graph call needs an Azure AD token issued for `https://graph.microsoft.com` (v1
//! `resource=` or v2 `scope=https://graph.microsoft.com/.default`, see [`crate::aad`]); a Partner
//! Center token gets 401 `InvalidAuthenticationToken`, and Partner Center refuses Graph tokens.
//!
//! # What the exports hold (see [`data`])
//! Contoso's one-time ("G…") invoices and unbilled periods, with the same ids, currencies, periods,
//! customers and item counts as Partner Center's v1 line items ([`crate::billing_data`]), plus
//! [`data::MILLION_ITEM_INVOICE`], known only to Graph, whose billed exports hold 1,000,000 items.
//! A legacy ("D…") invoice, an unknown invoice, another partner, or an empty unbilled period give a
//! failed operation with code `"5000"` (the answer Microsoft gives for legacy invoices; what Graph
//! does for the other cases is undocumented).
//!
//! # Blob host
//! `GET {rootDirectory}/{blobName}?{sasToken}` streams gzip-compressed JSON Lines, generated as they
//! are sent. The SAS is a user-delegation directory SAS (`sr=d`, `sdd`, `sp=rl`) signed with a key
//! only this process knows; tampering gives 403 `AuthenticationFailed` ("Signature did not match"),
//! expiry (simulated clock) 403 `AuthenticationFailed` ("Signature not valid in the specified time
//! frame"), no SAS 409 `PublicAccessNotPermitted`. A request with an `Authorization` header is
//! counted and, by default, refused with 401 `InvalidAuthenticationInfo` (the Graph token is not a
//! storage token): clients must download with the SAS alone.
//!
//! # Control API (main listener)
//! - `GET /_simulator/graph/settings`, `PATCH /_simulator/graph/settings` (any subset of
//!   [`GraphSettings`], camelCase), `POST /_simulator/graph/settings/reset`. Exports snapshot the
//!   settings when they start, so a test can configure one export at a time.
//! - `PATCH /_simulator/graph/operations/{id}/settings`: the same, for one export already started.
//! - `POST /_simulator/graph/operations/{id}/fail` (`{"code"?, "message"?}`): that export fails.
//! - `POST /_simulator/graph/operations/{id}/complete`: that export skips its remaining running polls.
//! - `POST /_simulator/graph/exports/fail-next` (`{"count"?: 1, "code"?: "5000", "message"?}`): the
//!   next exports fail.
//! - `GET /_simulator/graph/operations`: every export with its dataset, status, polls and blobs
//!   (names, item ranges), so a test knows what to expect.
//! - `GET /_simulator/graph/counters`, `POST /_simulator/graph/counters/reset`: Graph calls by route,
//!   exports by kind, polls (and polls that came before `Retry-After` had passed), manifest reads,
//!   blob requests, blob requests that carried `Authorization`, SAS refusals, items and bytes served.
//! - `POST /_simulator/graph/faults`, `GET`, `DELETE` and the same under `/_simulator/blob/faults`:
//!   [`crate::FaultRule`]s for the Graph or the blob listener (paths as that listener sees them,
//!   e.g. `/v1.0/reports/partners/billing/operations` or `/adlsreconsim01/`); answers in Graph's
//!   JSON or Storage's XML error shape. `dropAfterProcessing` on a blob cuts its body halfway.
//! - `POST /_simulator/graph/permissions/{tenantId}` (`{"partnerBillingReadAll": false}`): that
//!   partner's app loses `PartnerBilling.Read.All`; its Graph calls get 403.
//!
//! # Variants where Microsoft's sources disagree or are silent ([`GraphSettings`])
//! - finished status `succeeded` (enum, examples, sample; default) or `completed` (resource tables):
//!   `successStatus`;
//! - manifest reached by `resourceLocation@odata.navigationLink` (docs; default), inline
//!   `resourceLocation` object (Microsoft's sample), or both: `manifestDelivery`;
//! - `dataFormat` `compressedJSON` (example; default) or `compressedJSONLines` (table): `dataFormat`;
//! - timestamps as the examples print them (`createdDateTime` without zone) or all UTC with `Z`:
//!   `timestampStyle`; `@odata.context` as a real answer carries it: `includeODataContext`;
//! - `sasToken` with a leading `?`: `sasLeadingQuestionMark`; SAS lifetime: `sasLifetimeSeconds`;
//! - `rootDirectory` replaced by any string (SSRF tests): `rootDirectoryOverride`;
//! - blob keys PascalCase as documented (default) or camelCase as v1: `keyStyle`; spellings of the
//!   Graph attribute table (default) or of the portal files (`BenefitOrderId`, `MPNID`,
//!   `ReferenceID`, ... plus `PCToBCExchangeRateDate`): `spelling`; numbers as JSON numbers
//!   (default) or strings: `numberStyle`;
//! - polling: `notStartedPolls`, `runningPolls`, `retryAfterSeconds`; partitioning:
//!   `maxItemsPerBlob`, `minBlobs`; bearer on the blob host refused or only counted: `bearerOnBlob`.

pub mod auth;
pub mod blob;
pub mod control;
pub mod data;
pub mod exports;
pub mod lines;
pub mod operations;
pub mod sas;
pub mod wire;

use std::{
    collections::{BTreeMap, HashMap, HashSet, VecDeque},
    net::SocketAddr,
    sync::Arc,
    time::SystemTime,
};

use axum::{Router, middleware};
use parking_lot::{Mutex, MutexGuard};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{SimState, control::FaultRule};

/// How the simulated Graph and blob host answer. Every field can be set through
/// `PATCH /_simulator/graph/settings`; exports copy them when they start.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GraphSettings {
    /// `Retry-After` (seconds) on polls that find the export not finished.
    pub retry_after_seconds: u64,
    /// Polls answered `notStarted` before the `running` ones.
    pub not_started_polls: u32,
    /// Polls answered `running` before the export finishes.
    pub running_polls: u32,
    pub success_status: SuccessStatus,
    pub manifest_delivery: ManifestDelivery,
    /// Adds `@odata.context` to operations and manifests, as real answers carry it.
    #[serde(rename = "includeODataContext")]
    pub include_odata_context: bool,
    pub timestamp_style: TimestampStyle,
    pub data_format: String,
    /// SAS lifetime from the moment the manifest is read; negative gives an already expired SAS.
    pub sas_lifetime_seconds: i64,
    pub sas_leading_question_mark: bool,
    /// When set, the manifest's `rootDirectory` is this string verbatim (the blobs stay where they are).
    pub root_directory_override: Option<String>,
    /// Largest blob; bigger exports are split further.
    pub max_items_per_blob: u64,
    /// Exports with at least this many items have at least this many blobs.
    pub min_blobs: u32,
    pub key_style: KeyStyle,
    pub spelling: Spelling,
    pub number_style: NumberStyle,
    pub bearer_on_blob: BearerOnBlob,
}

impl Default for GraphSettings {
    fn default() -> Self {
        Self {
            retry_after_seconds: 1,
            not_started_polls: 0,
            running_polls: 2,
            success_status: SuccessStatus::Succeeded,
            manifest_delivery: ManifestDelivery::NavigationLink,
            include_odata_context: false,
            timestamp_style: TimestampStyle::Documented,
            data_format: "compressedJSON".to_owned(),
            // The documented example's SAS is valid for about 12 hours.
            sas_lifetime_seconds: 12 * 3600,
            sas_leading_question_mark: false,
            root_directory_override: None,
            max_items_per_blob: 200_000,
            min_blobs: 3,
            key_style: KeyStyle::Pascal,
            spelling: Spelling::Graph,
            number_style: NumberStyle::Number,
            bearer_on_blob: BearerOnBlob::Reject,
        }
    }
}

impl GraphSettings {
    /// These settings with the fields of `patch` (a JSON object of camelCase fields) replaced.
    pub fn patched(&self, patch: &Value) -> Result<Self, String> {
        let Value::Object(fields) = patch else { return Err("the settings patch must be a JSON object".to_owned()) };
        let mut merged = serde_json::to_value(self).map_err(|e| e.to_string())?;
        if let Value::Object(target) = &mut merged {
            for (key, value) in fields {
                target.insert(key.clone(), value.clone());
            }
        }
        let settings: Self = serde_json::from_value(merged).map_err(|e| e.to_string())?;
        if settings.max_items_per_blob == 0 {
            return Err("maxItemsPerBlob must be at least 1".to_owned());
        }
        Ok(settings)
    }
}

/// The `status` of a finished export (**CONFLICT** in the docs).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum SuccessStatus {
    Succeeded,
    Completed,
}

/// How a finished export leads to its manifest (**CONFLICT** between docs and sample).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum ManifestDelivery {
    /// `resourceLocation@odata.navigationLink` only: the client calls X6.
    NavigationLink,
    /// `resourceLocation` as the manifest object itself.
    Inline,
    Both,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum TimestampStyle {
    /// As the doc examples print them: `createdDateTime` `2023-03-09T08:12:53` (no zone),
    /// `lastActionDateTime` `2023-03-09T08:37:48.5046691Z`, manifest `2023-03-09T06:34:34.87Z`.
    Documented,
    /// Every timestamp UTC with seven fractional digits and `Z`.
    Utc,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum KeyStyle {
    Pascal,
    Camel,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum Spelling {
    /// The Graph attribute table (`BenefitOrderID`, `MpnId`, `ResourceURI`).
    Graph,
    /// The portal reconciliation files (`BenefitOrderId`, `MPNID`, `ReferenceID`, plus
    /// `PCToBCExchangeRateDate` in usage).
    Portal,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum NumberStyle {
    Number,
    String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum BearerOnBlob {
    /// 401 `InvalidAuthenticationInfo`, as Azure Storage answers a token meant for another audience.
    Reject,
    /// Counted, then ignored.
    Ignore,
}

/// What the Graph and blob listeners saw since start or the last reset.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GraphCounters {
    /// Graph calls by route, e.g. `GET /{version}/reports/partners/billing/operations/{id}`.
    pub graph_calls: BTreeMap<String, u64>,
    /// Accepted exports by kind (`billedReconciliation`, `unbilledUsage`, ...).
    pub exports: BTreeMap<String, u64>,
    pub operation_polls: u64,
    /// Polls of a running export that came before its `Retry-After` had passed.
    pub polls_before_retry_after: u64,
    pub manifest_reads: u64,
    /// Graph calls refused for the token (401) or the permission (403).
    pub graph_unauthorized: u64,
    pub graph_forbidden: u64,
    pub blob_requests: u64,
    /// Blob requests that carried an `Authorization` header (a leaked Graph token, say).
    pub blob_requests_with_authorization: u64,
    pub blob_sas_missing: u64,
    pub blob_sas_expired: u64,
    pub blob_sas_invalid: u64,
    pub blob_not_found: u64,
    /// Blob bodies started, and streamed to their end.
    pub blobs_started: u64,
    pub blobs_completed: u64,
    pub blob_items_served: u64,
    pub blob_bytes_served: u64,
}

/// A failure the control API scheduled for the next exports.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PlannedFailure {
    pub code: String,
    pub message: String,
}

impl PlannedFailure {
    pub fn no_data() -> Self {
        Self { code: "5000".to_owned(), message: "No data available".to_owned() }
    }
}

/// Exports kept for polling; the oldest are forgotten beyond this (load tests start many).
pub const MAX_OPERATIONS: usize = 4096;

pub struct GraphInner {
    pub settings: GraphSettings,
    pub operations: HashMap<String, operations::Operation>,
    /// Operation ids, oldest first, for forgetting.
    pub operation_order: VecDeque<String>,
    /// Manifest id → operation id.
    pub manifests: HashMap<String, String>,
    /// Blob path on the blob host (`/{account}/{container}/.../{name}`) → (operation id, blob index).
    pub blobs: HashMap<String, (String, usize)>,
    pub counters: GraphCounters,
    pub graph_faults: Vec<FaultRule>,
    pub blob_faults: Vec<FaultRule>,
    pub fail_next: VecDeque<PlannedFailure>,
    /// Partner tenants whose app lost `PartnerBilling.Read.All`.
    pub denied_tenants: HashSet<String>,
}

/// The simulated Graph and blob host: their state and where they listen.
pub struct GraphService {
    pub sim: Arc<SimState>,
    graph_addr: SocketAddr,
    blob_addr: SocketAddr,
    sas_key: [u8; 32],
    inner: Mutex<GraphInner>,
}

impl GraphService {
    pub fn new(sim: Arc<SimState>, graph_addr: SocketAddr, blob_addr: SocketAddr) -> Self {
        Self {
            sim,
            graph_addr,
            blob_addr,
            sas_key: rand::random(),
            inner: Mutex::new(GraphInner {
                settings: GraphSettings::default(),
                operations: HashMap::new(),
                operation_order: VecDeque::new(),
                manifests: HashMap::new(),
                blobs: HashMap::new(),
                counters: GraphCounters::default(),
                graph_faults: Vec::new(),
                blob_faults: Vec::new(),
                fail_next: VecDeque::new(),
                denied_tenants: HashSet::new(),
            }),
        }
    }

    /// `http://127.0.0.1:port/`, where `https://graph.microsoft.com/` would be.
    pub fn graph_base_url(&self) -> String {
        format!("http://{}/", self.graph_addr)
    }

    /// `http://127.0.0.1:port/`, the blob host (path-style: `/{account}/{container}/...`).
    pub fn blob_base_url(&self) -> String {
        format!("http://{}/", self.blob_addr)
    }

    pub fn lock(&self) -> MutexGuard<'_, GraphInner> {
        self.inner.lock()
    }

    pub fn now(&self) -> SystemTime {
        self.sim.now()
    }

    pub fn settings(&self) -> GraphSettings {
        self.lock().settings.clone()
    }

    pub fn set_settings(&self, settings: GraphSettings) {
        self.lock().settings = settings;
    }

    pub fn counters(&self) -> GraphCounters {
        self.lock().counters.clone()
    }

    pub fn reset_counters(&self) {
        self.lock().counters = GraphCounters::default();
    }

    /// The next `count` exports fail with `failure`.
    pub fn fail_next(&self, count: u32, failure: PlannedFailure) {
        let mut inner = self.lock();
        for _ in 0..count {
            inner.fail_next.push_back(failure.clone());
        }
    }

    pub(crate) fn sas_key(&self) -> &[u8; 32] {
        &self.sas_key
    }
}

/// The Graph listener's router.
pub fn graph_router(service: Arc<GraphService>) -> Router {
    Router::new()
        .merge(exports::routes())
        .merge(operations::routes())
        .layer(middleware::from_fn_with_state(service.clone(), auth::require_graph_token))
        .layer(middleware::from_fn_with_state(service.clone(), control::inject_graph_fault))
        .layer(middleware::from_fn_with_state(service.clone(), control::count_graph_call))
        .fallback(wire::unknown_segment)
        .layer(middleware::from_fn(wire::request_ids))
        .with_state(service)
}

/// The blob host's router.
pub fn blob_router(service: Arc<GraphService>) -> Router {
    Router::new()
        .route("/{*path}", axum::routing::get(blob::get_blob))
        .layer(middleware::from_fn_with_state(service.clone(), control::inject_blob_fault))
        .with_state(service)
}

/// `/_simulator/graph/...` and `/_simulator/blob/...`, merged into the main listener.
pub fn control_routes<S: Clone + Send + Sync + 'static>(service: Arc<GraphService>) -> Router<S> {
    control::routes().with_state(service)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn settings_patches_change_only_what_they_name_and_refuse_typos() {
        let defaults = GraphSettings::default();
        let patched = defaults
            .patched(&json!({ "successStatus": "completed", "rootDirectoryOverride": "file:///etc" }))
            .expect("valid patch");
        assert_eq!(patched.success_status, SuccessStatus::Completed);
        assert_eq!(patched.root_directory_override.as_deref(), Some("file:///etc"));
        assert_eq!(patched.running_polls, defaults.running_polls);
        let cleared = patched.patched(&json!({ "rootDirectoryOverride": null })).expect("valid patch");
        assert_eq!(cleared.root_directory_override, None);
        assert!(defaults.patched(&json!({ "runingPolls": 1 })).is_err(), "typo");
        assert!(defaults.patched(&json!({ "successStatus": "done" })).is_err());
        assert!(defaults.patched(&json!({ "maxItemsPerBlob": 0 })).is_err());
        assert!(defaults.patched(&json!([1])).is_err());
    }
}
