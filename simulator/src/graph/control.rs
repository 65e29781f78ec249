//! `/_simulator/graph/...` and `/_simulator/blob/...` (listed in the [module doc](super)), plus
//! the counting and fault layers of the Graph and blob listeners.

use std::{sync::Arc, time::Duration};

use axum::{
    Json, Router,
    body::Body,
    extract::{MatchedPath, Path, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::{get, patch, post},
};
use rand::Rng as _;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    GraphCounters, GraphService, GraphSettings,
    blob::CutHalfway,
    exports::failure,
    operations::{Operation, Outcome},
    wire,
};
use crate::control::{DEFAULT_RETRY_AFTER, FaultKind, FaultRule};

pub fn routes() -> Router<Arc<GraphService>> {
    Router::new()
        .route("/_simulator/graph/settings", get(get_settings).patch(patch_settings))
        .route("/_simulator/graph/settings/reset", post(reset_settings))
        .route("/_simulator/graph/operations", get(list_operations))
        .route("/_simulator/graph/operations/{id}/settings", patch(patch_operation_settings))
        .route("/_simulator/graph/operations/{id}/fail", post(fail_operation))
        .route("/_simulator/graph/operations/{id}/complete", post(complete_operation))
        .route("/_simulator/graph/exports/fail-next", post(fail_next))
        .route("/_simulator/graph/counters", get(get_counters))
        .route("/_simulator/graph/counters/reset", post(reset_counters))
        .route("/_simulator/graph/faults", post(add_graph_fault).get(list_graph_faults).delete(clear_graph_faults))
        .route("/_simulator/blob/faults", post(add_blob_fault).get(list_blob_faults).delete(clear_blob_faults))
        .route("/_simulator/graph/permissions/{tenant}", post(set_permission))
}

fn bad_request(message: impl Into<String>) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message.into() }))).into_response()
}

async fn get_settings(State(graph): State<Arc<GraphService>>) -> Json<GraphSettings> {
    Json(graph.settings())
}

async fn patch_settings(State(graph): State<Arc<GraphService>>, Json(patch): Json<Value>) -> Response {
    let mut inner = graph.lock();
    match inner.settings.patched(&patch) {
        Ok(settings) => {
            inner.settings = settings.clone();
            Json(settings).into_response()
        }
        Err(message) => bad_request(message),
    }
}

async fn reset_settings(State(graph): State<Arc<GraphService>>) -> Json<GraphSettings> {
    graph.set_settings(GraphSettings::default());
    Json(GraphSettings::default())
}

/// What tests need to know of an export.
fn describe(graph: &GraphService, op: &Operation) -> Value {
    let outcome = match &op.outcome {
        Outcome::Failure(failure) => json!({ "kind": "failure", "code": failure.code, "message": failure.message }),
        Outcome::Export(plan) => {
            let ds = &plan.dataset;
            let blobs: Vec<Value> = plan
                .blobs
                .iter()
                .map(|b| {
                    json!({
                        "name": b.name,
                        "url": format!("{}{}", graph.blob_base_url().trim_end_matches('/'), plan.blob_path(b)),
                        "firstItem": b.first_item,
                        "itemCount": b.item_count,
                    })
                })
                .collect();
            json!({
                "kind": "export",
                "manifestId": plan.manifest_id,
                "invoiceNumber": ds.invoice_number,
                "currency": ds.currency,
                "billingMonth": ds.billing_month,
                "attributeSet": ds.attribute_set,
                "items": ds.items,
                "blobs": blobs,
            })
        }
    };
    json!({
        "id": op.id,
        "kind": op.kind,
        "partnerTenantId": op.partner_tenant,
        "request": op.request,
        "status": op.status_wire(),
        "polls": op.polls,
        "settings": op.settings,
        "outcome": outcome,
    })
}

async fn list_operations(State(graph): State<Arc<GraphService>>) -> Json<Vec<Value>> {
    let inner = graph.lock();
    Json(
        inner.operation_order.iter().filter_map(|id| inner.operations.get(id)).map(|op| describe(&graph, op)).collect(),
    )
}

fn with_operation(
    graph: &GraphService,
    id: &str,
    change: impl FnOnce(&mut Operation) -> Result<(), String>,
) -> Response {
    let mut inner = graph.lock();
    let Some(op) = inner.operations.get_mut(id) else {
        return (StatusCode::NOT_FOUND, Json(json!({ "error": format!("no operation {id}") }))).into_response();
    };
    match change(op) {
        Ok(()) => Json(describe(graph, op)).into_response(),
        Err(message) => bad_request(message),
    }
}

async fn patch_operation_settings(
    State(graph): State<Arc<GraphService>>,
    Path(id): Path<String>,
    Json(patch): Json<Value>,
) -> Response {
    with_operation(&graph, &id, |op| {
        op.settings = op.settings.patched(&patch)?;
        Ok(())
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FailureBody {
    count: Option<u32>,
    code: Option<String>,
    message: Option<String>,
}

/// An optional JSON body: absent or empty means all defaults.
fn optional_body(body: &[u8]) -> Result<FailureBody, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(FailureBody::default());
    }
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

async fn fail_operation(
    State(graph): State<Arc<GraphService>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let body = match optional_body(&body) {
        Ok(body) => body,
        Err(message) => return bad_request(message),
    };
    with_operation(&graph, &id, |op| {
        op.outcome = Outcome::Failure(failure(body.code, body.message));
        Ok(())
    })
}

async fn complete_operation(State(graph): State<Arc<GraphService>>, Path(id): Path<String>) -> Response {
    with_operation(&graph, &id, |op| {
        op.finish_now = true;
        Ok(())
    })
}

async fn fail_next(State(graph): State<Arc<GraphService>>, body: axum::body::Bytes) -> Response {
    let body = match optional_body(&body) {
        Ok(body) => body,
        Err(message) => return bad_request(message),
    };
    graph.fail_next(body.count.unwrap_or(1), failure(body.code, body.message));
    StatusCode::NO_CONTENT.into_response()
}

async fn get_counters(State(graph): State<Arc<GraphService>>) -> Json<GraphCounters> {
    Json(graph.counters())
}

async fn reset_counters(State(graph): State<Arc<GraphService>>) -> StatusCode {
    graph.reset_counters();
    StatusCode::NO_CONTENT
}

fn check_rule(rule: &FaultRule) -> Result<(), String> {
    if rule.probability.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
        return Err("probability must be between 0 and 1".to_owned());
    }
    if let FaultKind::Status { status, .. } = rule.kind
        && !(400..=599).contains(&status)
    {
        return Err("status must be 4xx or 5xx".to_owned());
    }
    Ok(())
}

async fn add_graph_fault(State(graph): State<Arc<GraphService>>, Json(rule): Json<FaultRule>) -> Response {
    match check_rule(&rule) {
        Ok(()) => {
            graph.lock().graph_faults.push(rule);
            StatusCode::CREATED.into_response()
        }
        Err(message) => bad_request(message),
    }
}

async fn list_graph_faults(State(graph): State<Arc<GraphService>>) -> Json<Vec<FaultRule>> {
    Json(graph.lock().graph_faults.clone())
}

async fn clear_graph_faults(State(graph): State<Arc<GraphService>>) -> StatusCode {
    graph.lock().graph_faults.clear();
    StatusCode::NO_CONTENT
}

async fn add_blob_fault(State(graph): State<Arc<GraphService>>, Json(rule): Json<FaultRule>) -> Response {
    match check_rule(&rule) {
        Ok(()) => {
            graph.lock().blob_faults.push(rule);
            StatusCode::CREATED.into_response()
        }
        Err(message) => bad_request(message),
    }
}

async fn list_blob_faults(State(graph): State<Arc<GraphService>>) -> Json<Vec<FaultRule>> {
    Json(graph.lock().blob_faults.clone())
}

async fn clear_blob_faults(State(graph): State<Arc<GraphService>>) -> StatusCode {
    graph.lock().blob_faults.clear();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Permission {
    partner_billing_read_all: bool,
}

async fn set_permission(
    State(graph): State<Arc<GraphService>>,
    Path(tenant): Path<String>,
    Json(permission): Json<Permission>,
) -> StatusCode {
    let tenant = tenant.to_ascii_lowercase();
    let mut inner = graph.lock();
    if permission.partner_billing_read_all {
        inner.denied_tenants.remove(&tenant);
    } else {
        inner.denied_tenants.insert(tenant);
    }
    StatusCode::NO_CONTENT
}

// ---------------------------------------------------------------------------------------------
// Layers of the Graph and blob listeners.

/// Counts Graph calls by route template (unknown paths by path).
pub async fn count_graph_call(State(graph): State<Arc<GraphService>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| request.uri().path().to_owned(), |m| m.as_str().to_owned());
    *graph.lock().counters.graph_calls.entry(format!("{} {route}", request.method())).or_default() += 1;
    next.run(request).await
}

/// The first rule of `rules` that matches and fires; its `times` budget is spent.
fn pick(rules: &mut [FaultRule], method: &str, path: &str) -> Option<FaultKind> {
    let mut rng = rand::rng();
    for rule in rules.iter_mut() {
        if !rule.matches(method, path) {
            continue;
        }
        if rule.probability.is_some_and(|p| rng.random_range(0.0..1.0) >= p) {
            continue;
        }
        if let Some(times) = rule.times.as_mut() {
            *times -= 1;
        }
        return Some(rule.kind.clone());
    }
    None
}

/// A response whose body fails at once: the client sees the connection break.
fn broken_response() -> Response {
    let stream = futures::stream::once(async {
        Err::<axum::body::Bytes, _>(std::io::Error::other("simulated dropped connection"))
    });
    let mut response = Response::new(Body::from_stream(stream));
    response.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from_static("1024"));
    response
}

fn with_retry_after(mut response: Response, seconds: Option<u64>) -> Response {
    if let Some(seconds) = seconds
        && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

pub async fn inject_graph_fault(State(graph): State<Arc<GraphService>>, request: Request, next: Next) -> Response {
    let fault = pick(&mut graph.lock().graph_faults, request.method().as_str(), request.uri().path());
    match fault {
        None => next.run(request).await,
        Some(FaultKind::Delay { delay_ms, .. }) => {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            next.run(request).await
        }
        Some(FaultKind::Status { status, retry_after_seconds }) => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let (error_code, message, default_wait) = match code {
                StatusCode::TOO_MANY_REQUESTS => {
                    ("TooManyRequests", "Too many requests.", Some(DEFAULT_RETRY_AFTER.as_secs()))
                }
                StatusCode::SERVICE_UNAVAILABLE => {
                    ("serviceNotAvailable", "The service is temporarily unavailable.", None)
                }
                StatusCode::GATEWAY_TIMEOUT => ("gatewayTimeout", "The gateway timed out.", None),
                _ => ("generalException", "Simulated failure.", None),
            };
            with_retry_after(wire::graph_error(code, error_code, message), retry_after_seconds.or(default_wait))
        }
        Some(FaultKind::RejectToken) => super::auth::unauthorized("Lifetime validation failed, the token is expired."),
        Some(FaultKind::Drop) => broken_response(),
        Some(FaultKind::DropAfterProcessing) => {
            // The export may now exist, but its 202 never arrives.
            let _ = next.run(request).await;
            broken_response()
        }
    }
}

pub async fn inject_blob_fault(State(graph): State<Arc<GraphService>>, mut request: Request, next: Next) -> Response {
    let fault = pick(&mut graph.lock().blob_faults, request.method().as_str(), request.uri().path());
    match fault {
        None => next.run(request).await,
        Some(FaultKind::Delay { delay_ms, .. }) => {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            next.run(request).await
        }
        Some(FaultKind::Status { status, retry_after_seconds }) => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let (error_code, message) = match code {
                StatusCode::SERVICE_UNAVAILABLE => {
                    ("ServerBusy", "The server is currently unable to receive requests. Please retry your request.")
                }
                StatusCode::INTERNAL_SERVER_ERROR => {
                    ("InternalError", "Server encountered an internal error. Please try again after some time.")
                }
                StatusCode::GATEWAY_TIMEOUT => {
                    ("OperationTimedOut", "The operation could not be completed within the permitted time.")
                }
                _ => ("SimulatedFailure", "Simulated failure."),
            };
            with_retry_after(wire::storage_error(code, error_code, message, None), retry_after_seconds)
        }
        Some(FaultKind::RejectToken) => wire::storage_error(
            StatusCode::FORBIDDEN,
            "AuthenticationFailed",
            "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
            Some("Signature did not match."),
        ),
        Some(FaultKind::Drop) => broken_response(),
        Some(FaultKind::DropAfterProcessing) => {
            request.extensions_mut().insert(CutHalfway);
            next.run(request).await
        }
    }
}
