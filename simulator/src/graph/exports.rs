//! The four export actions (X1–X4): validate the body as Graph's OData layer does, start an
//! operation, answer `202 Accepted` with its absolute URL in `Location`.

use std::sync::Arc;

use axum::{
    Extension, Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{
    GraphService, MAX_OPERATIONS, PlannedFailure,
    data::{self, AttributeSet, BillingPeriod, ExportKind, ExportRequest},
    operations::{ExportPlan, Operation, Outcome, Phase, valid_version},
    wire,
};
use crate::aad::PartnerTenant;

pub fn routes() -> Router<Arc<GraphService>> {
    Router::new()
        .route("/{version}/reports/partners/billing/reconciliation/billed/export", post(billed_reconciliation))
        .route("/{version}/reports/partners/billing/reconciliation/unbilled/export", post(unbilled_reconciliation))
        .route("/{version}/reports/partners/billing/usage/billed/export", post(billed_usage))
        .route("/{version}/reports/partners/billing/usage/unbilled/export", post(unbilled_usage))
}

type ExportArgs = (State<Arc<GraphService>>, Path<String>, Extension<PartnerTenant>, HeaderMap, Bytes);

async fn billed_reconciliation(
    graph: State<Arc<GraphService>>,
    version: Path<String>,
    tenant: Extension<PartnerTenant>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    export(ExportKind::BilledReconciliation, (graph, version, tenant, headers, body))
}

async fn unbilled_reconciliation(
    graph: State<Arc<GraphService>>,
    version: Path<String>,
    tenant: Extension<PartnerTenant>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    export(ExportKind::UnbilledReconciliation, (graph, version, tenant, headers, body))
}

async fn billed_usage(
    graph: State<Arc<GraphService>>,
    version: Path<String>,
    tenant: Extension<PartnerTenant>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    export(ExportKind::BilledUsage, (graph, version, tenant, headers, body))
}

async fn unbilled_usage(
    graph: State<Arc<GraphService>>,
    version: Path<String>,
    tenant: Extension<PartnerTenant>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    export(ExportKind::UnbilledUsage, (graph, version, tenant, headers, body))
}

/// The body's parameters, checked as the action's OData signature requires; errors are the
/// message of a 400.
pub fn parse_request(kind: ExportKind, body: &Map<String, Value>) -> Result<ExportRequest, String> {
    let allowed: &[&str] = if kind.is_billed() {
        &["invoiceId", "attributeSet"]
    } else {
        &["billingPeriod", "currencyCode", "attributeSet"]
    };
    if let Some(unknown) = body.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!(
            "The parameter '{unknown}' in the request payload is not a valid parameter for the operation 'export'."
        ));
    }
    let string = |name: &str| -> Result<Option<String>, String> {
        match body.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!("Cannot convert the literal '{other}' to the expected type 'Edm.String'.")),
        }
    };
    let required = |name: &str| -> Result<String, String> {
        string(name)?.filter(|s| !s.trim().is_empty()).ok_or_else(|| format!("The '{name}' parameter is required."))
    };
    let attribute_set = match string("attributeSet")? {
        None => AttributeSet::Full,
        Some(value) => {
            AttributeSet::parse(&value).ok_or_else(|| format!("Requested value '{value}' was not found."))?
        }
    };
    if kind.is_billed() {
        return Ok(ExportRequest {
            kind,
            invoice_id: Some(required("invoiceId")?),
            billing_period: None,
            currency_code: None,
            attribute_set,
        });
    }
    let period = required("billingPeriod")?;
    let billing_period =
        BillingPeriod::parse(&period).ok_or_else(|| format!("Requested value '{period}' was not found."))?;
    let currency = required("currencyCode")?;
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(format!("Invalid currencyCode '{currency}': expected a three-letter ISO 4217 code."));
    }
    Ok(ExportRequest {
        kind,
        invoice_id: None,
        billing_period: Some(billing_period),
        currency_code: Some(currency),
        attribute_set,
    })
}

fn export(kind: ExportKind, (State(graph), Path(version), Extension(tenant), headers, body): ExportArgs) -> Response {
    if !valid_version(&version) {
        return wire::graph_error(StatusCode::NOT_FOUND, "NotFound", "Invalid version.");
    }
    let json_content = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("application/json"));
    if !json_content {
        return wire::graph_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            "The request body must be JSON (Content-Type: application/json).",
        );
    }
    let fields = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(fields)) => fields,
        _ => return wire::bad_request("Invalid request body: a JSON object with the action's parameters is expected."),
    };
    let request = match parse_request(kind, &fields) {
        Ok(request) => request,
        Err(message) => return wire::bad_request(&message),
    };
    let now = graph.now();
    let id = Uuid::new_v4().to_string();
    let (settings, planned_failure) = {
        let mut inner = graph.lock();
        (inner.settings.clone(), inner.fail_next.pop_front())
    };
    let outcome = match planned_failure {
        Some(failure) => Outcome::Failure(failure),
        None => match data::resolve(&request, &tenant.tenant_id, now) {
            Ok(dataset) => {
                // The Spark job's id, in every blob name of this export.
                let job = Uuid::new_v4().to_string();
                let blobs = data::partition(
                    dataset.items,
                    settings.max_items_per_blob,
                    settings.min_blobs,
                    dataset.seed ^ crate::billing_data::fnv(&[&job]),
                    &job,
                );
                Outcome::Export(Arc::new(ExportPlan {
                    manifest_id: Uuid::new_v4().to_string(),
                    created_at: now,
                    etag: etag(dataset.seed),
                    directory: dataset.directory(),
                    blobs,
                    dataset: Arc::new(dataset),
                }))
            }
            Err(failure) => Outcome::Failure(failure),
        },
    };
    let operation = Operation {
        id: id.clone(),
        version: version.clone(),
        partner_tenant: tenant.tenant_id,
        kind,
        request: Value::Object(fields),
        settings,
        created_at: now,
        last_action_at: now,
        polls: 0,
        phase: Phase::NotStarted,
        finish_now: false,
        retry_not_before: None,
        outcome,
    };
    register(&graph, operation);
    let location = format!("{}{version}/reports/partners/billing/operations/{id}", graph.graph_base_url());
    let mut response = StatusCode::ACCEPTED.into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// A data version tag shaped like the documented `WYjLro78HdMg6vUWR`.
fn etag(seed: u64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = crate::billing_data::Rng::new(seed ^ 0xe7a9);
    (0..17).map(|_| char::from(ALPHABET[rng.below(ALPHABET.len() as u64) as usize])).collect()
}

/// Stores a new operation, its manifest and blobs; forgets the oldest beyond [`MAX_OPERATIONS`].
fn register(graph: &GraphService, operation: Operation) {
    let mut inner = graph.lock();
    *inner.counters.exports.entry(operation.kind.tag().to_owned()).or_default() += 1;
    if let Outcome::Export(plan) = &operation.outcome {
        inner.manifests.insert(plan.manifest_id.clone(), operation.id.clone());
        for (index, blob) in plan.blobs.iter().enumerate() {
            inner.blobs.insert(plan.blob_path(blob), (operation.id.clone(), index));
        }
    }
    inner.operation_order.push_back(operation.id.clone());
    inner.operations.insert(operation.id.clone(), operation);
    while inner.operation_order.len() > MAX_OPERATIONS {
        let Some(oldest) = inner.operation_order.pop_front() else { break };
        if let Some(old) = inner.operations.remove(&oldest)
            && let Outcome::Export(plan) = &old.outcome
        {
            inner.manifests.remove(&plan.manifest_id);
            for blob in &plan.blobs {
                inner.blobs.remove(&plan.blob_path(blob));
            }
        }
    }
}

/// Keeps the failure type in this module's vocabulary for the control API.
pub fn failure(code: Option<String>, message: Option<String>) -> PlannedFailure {
    let default = PlannedFailure::no_data();
    PlannedFailure { code: code.unwrap_or(default.code), message: message.unwrap_or(default.message) }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(kind: ExportKind, body: Value) -> Result<ExportRequest, String> {
        match body {
            Value::Object(map) => parse_request(kind, &map),
            _ => panic!("object expected"),
        }
    }

    #[test]
    fn bodies_are_checked_as_the_action_signatures_say() {
        let ok = parse(ExportKind::BilledReconciliation, json!({"invoiceId": "G016907411", "attributeSet": "full"}));
        assert_eq!(ok.expect("valid").invoice_id.as_deref(), Some("G016907411"));
        let basic = parse(
            ExportKind::UnbilledUsage,
            json!({"currencyCode": "USD", "attributeSet": "basic", "billingPeriod": "current"}),
        );
        assert_eq!(basic.expect("valid").attribute_set, AttributeSet::Basic);
        let missing = parse(ExportKind::BilledUsage, json!({"attributeSet": "full"})).expect_err("missing");
        assert!(missing.contains("invoiceId"), "{missing}");
        let previous =
            parse(ExportKind::UnbilledReconciliation, json!({"currencyCode": "USD", "billingPeriod": "previous"}))
                .expect_err("v1 spelling");
        assert_eq!(previous, "Requested value 'previous' was not found.");
        assert!(parse(ExportKind::UnbilledUsage, json!({"currencyCode": "USD"})).is_err());
        assert!(parse(ExportKind::UnbilledUsage, json!({"billingPeriod": "last", "currencyCode": "US"})).is_err());
        assert!(parse(ExportKind::BilledUsage, json!({"invoiceId": "G1", "attributeSet": "Full"})).is_err());
        let foreign =
            parse(ExportKind::BilledUsage, json!({"invoiceId": "G1", "billingPeriod": "last"})).expect_err("foreign");
        assert!(foreign.contains("'billingPeriod'"), "{foreign}");
        assert!(parse(ExportKind::BilledUsage, json!({"invoiceId": 42})).is_err());
    }
}
