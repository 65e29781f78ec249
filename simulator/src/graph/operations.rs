//! Export operations (X5) and manifests (X6): how a started export progresses from poll to poll,
//! and how its operation and manifest are written.

use std::{
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use axum::{
    Extension, Router,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Value, json};

use super::{
    GraphService, GraphSettings, ManifestDelivery, PlannedFailure, SuccessStatus, TimestampStyle,
    data::{BlobPart, Dataset, ExportKind},
    lines::LineStyle,
    sas, wire,
};
use crate::aad::PartnerTenant;

/// The storage account the blobs live in (the documented example's is `adlsreconbuprodeastus201`).
pub const STORAGE_ACCOUNT: &str = "adlsreconsim01";

pub fn routes() -> Router<Arc<GraphService>> {
    Router::new()
        .route("/{version}/reports/partners/billing/operations/{id}", get(get_operation))
        .route("/{version}/reports/partners/billing/manifests/{id}", get(get_manifest))
}

/// A successful export's data: the dataset and its blobs.
#[derive(Debug)]
pub struct ExportPlan {
    pub dataset: Arc<Dataset>,
    pub manifest_id: String,
    pub created_at: SystemTime,
    pub etag: String,
    /// Folders under the container.
    pub directory: String,
    pub blobs: Vec<BlobPart>,
}

impl ExportPlan {
    pub fn container(&self) -> &'static str {
        self.dataset.kind.container()
    }

    /// `/{account}/{container}/{directory}/{name}` on the blob host.
    pub fn blob_path(&self, blob: &BlobPart) -> String {
        format!("/{STORAGE_ACCOUNT}/{}/{}/{}", self.container(), self.directory, blob.name)
    }
}

#[derive(Debug, Clone)]
pub enum Outcome {
    Export(Arc<ExportPlan>),
    Failure(PlannedFailure),
}

/// What the latest poll reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    NotStarted,
    Running,
    Finished,
}

#[derive(Debug)]
pub struct Operation {
    pub id: String,
    /// `v1.0` or `beta`: links point back into the same version.
    pub version: String,
    pub partner_tenant: String,
    pub kind: ExportKind,
    /// The request body as received.
    pub request: Value,
    pub settings: GraphSettings,
    pub created_at: SystemTime,
    pub last_action_at: SystemTime,
    pub polls: u32,
    pub phase: Phase,
    /// Set by the control API: finish at the next poll.
    pub finish_now: bool,
    /// When the `Retry-After` of the latest running answer ends (real time).
    pub retry_not_before: Option<Instant>,
    pub outcome: Outcome,
}

impl Operation {
    /// The phase the next poll reports, and the bookkeeping of that poll.
    pub fn poll(&mut self, now: SystemTime) -> Phase {
        self.polls += 1;
        let not_started = self.settings.not_started_polls;
        let running = self.settings.running_polls;
        let phase = if self.finish_now || self.polls > not_started + running {
            Phase::Finished
        } else if self.polls <= not_started {
            Phase::NotStarted
        } else {
            Phase::Running
        };
        if phase != self.phase {
            self.phase = phase;
            self.last_action_at = now;
        }
        phase
    }

    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Finished
    }

    pub fn status_wire(&self) -> &'static str {
        match (self.phase, &self.outcome) {
            (Phase::NotStarted, _) => "notStarted",
            (Phase::Running, _) => "running",
            (Phase::Finished, Outcome::Failure(_)) => "failed",
            (Phase::Finished, Outcome::Export(_)) => match self.settings.success_status {
                SuccessStatus::Succeeded => "succeeded",
                SuccessStatus::Completed => "completed",
            },
        }
    }

    pub fn line_style(&self) -> LineStyle {
        LineStyle {
            key_style: self.settings.key_style,
            spelling: self.settings.spelling,
            number_style: self.settings.number_style,
        }
    }
}

fn created_text(settings: &GraphSettings, at: SystemTime) -> String {
    match settings.timestamp_style {
        TimestampStyle::Documented => wire::timestamp(at, Some(0), false),
        TimestampStyle::Utc => wire::timestamp(at, Some(7), true),
    }
}

fn last_action_text(at: SystemTime) -> String {
    wire::timestamp(at, Some(7), true)
}

fn manifest_created_text(settings: &GraphSettings, at: SystemTime) -> String {
    match settings.timestamp_style {
        TimestampStyle::Documented => wire::timestamp(at, None, true),
        TimestampStyle::Utc => wire::timestamp(at, Some(7), true),
    }
}

impl GraphService {
    fn link(&self, version: &str, tail: &str) -> String {
        format!("{}{version}/reports/partners/billing/{tail}", self.graph_base_url())
    }

    /// The operation as X5 writes it.
    pub fn operation_json(&self, op: &Operation, now: SystemTime) -> Value {
        let odata_type = match (op.phase, &op.outcome) {
            (Phase::Finished, Outcome::Export(_)) => "#microsoft.graph.partners.billing.exportSuccessOperation",
            (Phase::Finished, Outcome::Failure(_)) => "#microsoft.graph.partners.billing.failedOperation",
            _ => "#microsoft.graph.partners.billing.runningOperation",
        };
        let mut body = json!({
            "@odata.type": odata_type,
            "id": op.id,
            "status": op.status_wire(),
            "createdDateTime": created_text(&op.settings, op.created_at),
            "lastActionDateTime": last_action_text(op.last_action_at),
        });
        if op.settings.include_odata_context {
            body["@odata.context"] = json!(format!(
                "{}{}/$metadata#reports/partners/billing/operations/$entity",
                self.graph_base_url(),
                op.version
            ));
        }
        if op.phase == Phase::Finished {
            match &op.outcome {
                Outcome::Failure(failure) => {
                    body["error"] = json!({ "message": failure.message, "code": failure.code });
                }
                Outcome::Export(plan) => {
                    let delivery = op.settings.manifest_delivery;
                    if matches!(delivery, ManifestDelivery::NavigationLink | ManifestDelivery::Both) {
                        body["resourceLocation@odata.navigationLink"] =
                            json!(self.link(&op.version, &format!("manifests/{}", plan.manifest_id)));
                    }
                    if matches!(delivery, ManifestDelivery::Inline | ManifestDelivery::Both) {
                        body["resourceLocation"] = self.manifest_json(op, plan, now, false);
                    }
                }
            }
        }
        body
    }

    /// The manifest as X6 writes it, with a SAS valid from `now`.
    pub fn manifest_json(&self, op: &Operation, plan: &ExportPlan, now: SystemTime, top_level: bool) -> Value {
        let settings = &op.settings;
        let expires_at = if settings.sas_lifetime_seconds >= 0 {
            now + Duration::from_secs(settings.sas_lifetime_seconds.unsigned_abs())
        } else {
            now.checked_sub(Duration::from_secs(settings.sas_lifetime_seconds.unsigned_abs())).unwrap_or(now)
        };
        let token = sas::issue(
            self.sas_key(),
            &sas::SasGrant {
                account: STORAGE_ACCOUNT,
                container: plan.container(),
                directory: &plan.directory,
                partner_tenant: &plan.dataset.partner_tenant,
                signed_at: now,
                expires_at,
            },
        );
        let sas_token = if settings.sas_leading_question_mark { format!("?{token}") } else { token };
        let root_directory = settings.root_directory_override.clone().unwrap_or_else(|| {
            format!("{}{STORAGE_ACCOUNT}/{}/{}", self.blob_base_url(), plan.container(), plan.directory)
        });
        let blobs: Vec<Value> =
            plan.blobs.iter().map(|b| json!({ "name": b.name, "partitionValue": "default" })).collect();
        let mut body = json!({
            "id": plan.manifest_id,
            "schemaVersion": "1",
            "dataFormat": settings.data_format,
            "createdDateTime": manifest_created_text(settings, plan.created_at),
            "eTag": plan.etag,
            "partnerTenantId": plan.dataset.partner_tenant,
            "rootDirectory": root_directory,
            "sasToken": sas_token,
            "partitionType": "Default",
            "blobCount": plan.blobs.len(),
            "blobs": blobs,
        });
        if top_level && settings.include_odata_context {
            body["@odata.context"] = json!(format!(
                "{}{}/$metadata#reports/partners/billing/manifests/$entity",
                self.graph_base_url(),
                op.version
            ));
        }
        body
    }
}

pub fn valid_version(version: &str) -> bool {
    version == "v1.0" || version == "beta"
}

fn not_found(what: &str, id: &str) -> Response {
    wire::graph_error(StatusCode::NOT_FOUND, "NotFound", &format!("The {what} '{id}' was not found."))
}

async fn get_operation(
    State(graph): State<Arc<GraphService>>,
    Path((version, id)): Path<(String, String)>,
    Extension(tenant): Extension<PartnerTenant>,
) -> Response {
    if !valid_version(&version) {
        return wire::graph_error(StatusCode::NOT_FOUND, "NotFound", "Invalid version.");
    }
    let now = graph.now();
    let arrived = Instant::now();
    let mut inner = graph.lock();
    inner.counters.operation_polls += 1;
    let Some(op) = inner.operations.get_mut(&id).filter(|op| op.partner_tenant.eq_ignore_ascii_case(&tenant.tenant_id))
    else {
        return not_found("operation", &id);
    };
    let early = op.retry_not_before.is_some_and(|until| arrived < until);
    let phase = op.poll(now);
    let retry_after = op.settings.retry_after_seconds;
    op.retry_not_before = (phase != Phase::Finished).then(|| arrived + Duration::from_secs(retry_after));
    let body = {
        let op = &*op;
        graph.operation_json(op, now)
    };
    if early {
        inner.counters.polls_before_retry_after += 1;
    }
    drop(inner);
    let mut response = wire::graph_json(StatusCode::OK, &body);
    if phase != Phase::Finished
        && let Ok(value) = HeaderValue::from_str(&retry_after.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

async fn get_manifest(
    State(graph): State<Arc<GraphService>>,
    Path((version, id)): Path<(String, String)>,
    Extension(tenant): Extension<PartnerTenant>,
) -> Response {
    if !valid_version(&version) {
        return wire::graph_error(StatusCode::NOT_FOUND, "NotFound", "Invalid version.");
    }
    let now = graph.now();
    let mut inner = graph.lock();
    inner.counters.manifest_reads += 1;
    let op = inner
        .manifests
        .get(&id)
        .and_then(|op_id| inner.operations.get(op_id))
        .filter(|op| op.partner_tenant.eq_ignore_ascii_case(&tenant.tenant_id) && op.is_finished());
    let Some((op, Outcome::Export(plan))) = op.map(|op| (op, &op.outcome)) else {
        return not_found("manifest", &id);
    };
    let body = graph.manifest_json(op, plan, now, true);
    drop(inner);
    wire::graph_json(StatusCode::OK, &body).into_response()
}
