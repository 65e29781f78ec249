//! The REST request pipeline around every handler: request ids, deadline, problem rendering,
//! one log line per failed request, and request metrics.

use std::time::{Duration, Instant};

use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderName, HeaderValue, Method, Uri},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::problem::{ErrorExtension, ProblemContext, render};
use crate::{
    app::AppState,
    context::{RequestContext, sanitize_header_value},
    error::{Error, ErrorKind},
    telemetry::{self, CountAndDuration, HandleCache},
};
use tracing::Instrument;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const X_LOCALE: HeaderName = HeaderName::from_static("x-locale");
const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// Builds the [`RequestContext`], bounds the request by the REST timeout, and turns any error
/// response into its final problem+json (path, request id, correlation id), logging it once.
pub async fn request_context(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id =
        request.headers().get(&X_REQUEST_ID).and_then(|v| v.to_str().ok()).and_then(|v| sanitize_header_value(v, 128));
    let locale =
        request.headers().get(&X_LOCALE).and_then(|v| v.to_str().ok()).and_then(|v| sanitize_header_value(v, 35));
    let traceparent = request.headers().get(&TRACEPARENT).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let ctx = RequestContext::with_trace(request_id, locale, Some(state.rest_timeout), traceparent.as_deref());
    request.extensions_mut().insert(ctx.clone());
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let route = request.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());

    // Only API calls are admitted or shed: probes and metrics must answer even at capacity.
    let operation = Operation { method: &method, route: route.as_deref().unwrap_or("unmatched") };
    let span = telemetry::request_span(&ctx, "rest", &operation);
    let admitted = if path.starts_with("/v1/") { Some(state.admission.admit("rest")) } else { None };
    let mut response = match admitted {
        Some(Err(shed)) => shed.into_response(),
        Some(Ok(_admitted)) => run_bounded(&state, next, request).instrument(span.clone()).await,
        None => run_bounded(&state, next, request).instrument(span.clone()).await,
    };

    if let Some(ErrorExtension(error)) = response.extensions_mut().remove::<ErrorExtension>() {
        let _entered = span.enter();
        log_error(&error, &method, &path, &ctx);
        metrics::counter!("gateway_request_errors_total", "transport" => "rest", "operation" => operation.to_string(), "kind" => error.kind().spec().slug).increment(1);
        let context = ProblemContext {
            instance: Some(path.clone()),
            request_id: Some(ctx.request_id.clone()),
            correlation_id: Some(ctx.correlation_id.to_string()),
        };
        response = render(&error, &context);
    }
    if let Ok(value) = HeaderValue::from_str(&ctx.request_id) {
        response.headers_mut().insert(X_REQUEST_ID, value);
    }
    let (count, duration) = request_metrics(&operation, response.status().as_u16());
    count.increment(1);
    duration.record(started.elapsed().as_secs_f64());
    response
}

/// `GET /v1/customers/{customerId}`: the `operation` label, written without allocating.
struct Operation<'a> {
    method: &'a Method,
    route: &'a str,
}

impl std::fmt::Display for Operation<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.route)
    }
}

/// The request counter and duration histogram of an operation and status.
fn request_metrics(operation: &Operation<'_>, status: u16) -> CountAndDuration {
    static HANDLES: std::sync::LazyLock<HandleCache<(Method, &'static str, u16), CountAndDuration>> =
        std::sync::LazyLock::new(HandleCache::new);
    let key = (operation.method.clone(), telemetry::intern(operation.route), status);
    HANDLES.get(key, |_| {
        (
            metrics::counter!("gateway_requests_total", "transport" => "rest", "operation" => operation.to_string(), "status" => status.to_string()),
            metrics::histogram!("gateway_request_duration_seconds", "transport" => "rest", "operation" => operation.to_string()),
        )
    })
}

/// Runs the request, a little past the deadline the upstream calls already honour: this only
/// catches work that ignores it.
async fn run_bounded(state: &AppState, next: Next, request: Request) -> Response {
    let limit = state.rest_timeout + Duration::from_secs(1);
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => Error::new(
            ErrorKind::UpstreamTimeout,
            format!("the request took longer than {}s", state.rest_timeout.as_secs()),
        )
        .into_response(),
    }
}

fn log_error(error: &Error, method: &Method, path: &str, ctx: &RequestContext) {
    let status = error.kind().spec().http_status;
    if status >= 500 {
        tracing::error!(%method, path, status, request_id = %ctx.request_id, correlation_id = %ctx.correlation_id, error = %error.chain(), "request failed");
    } else {
        tracing::debug!(%method, path, status, request_id = %ctx.request_id, error = %error.chain(), "request rejected");
    }
}

/// Unknown route: 404 problem+json.
pub async fn not_found(uri: Uri) -> Error {
    Error::not_found(format!("no route for {}", uri.path())).with_reason("ROUTE_NOT_FOUND")
}

/// Known route, wrong method: 405 problem+json.
pub async fn method_not_allowed(method: Method, uri: Uri) -> Error {
    Error::new(ErrorKind::MethodNotAllowed, format!("{method} is not allowed on {}", uri.path()))
}

/// A handler panicked: 500 problem+json (the panic text may hold anything, so it is only logged).
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let text = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    Error::internal(format!("handler panicked: {text}")).into_response()
}
