//! The REST request pipeline around every handler: request ids, deadline, problem rendering,
//! one log line per failed request, and request metrics.

use std::time::Duration;

use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderName, HeaderValue, Method, Uri},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tracing::Instrument;

use super::problem::{ErrorExtension, ProblemContext, render};
use crate::{
    edge::{self, AppState, Transport},
    error::{Error, ErrorKind, Reason},
};

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Builds the [`RequestContext`](crate::context::RequestContext), bounds the request by the REST
/// timeout, and turns any error response into its final problem+json (path, request id,
/// correlation id); the edge records the outcome.
pub async fn request_context(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str);
    let operation = edge::rest_operation(request.method(), route);
    let inbound = state.begin(Transport::Rest, operation, request.headers(), Some(state.rest_timeout));
    request.extensions_mut().insert(inbound.ctx.clone());
    let path = request.uri().path().to_owned();

    // Only API calls are admitted or shed: probes and metrics must answer even at capacity.
    let admitted = if path.starts_with("/v1/") { Some(state.admit(Transport::Rest)) } else { None };
    let mut response = match admitted {
        Some(Err(shed)) => shed.into_response(),
        Some(Ok(_admitted)) => run_bounded(&state, next, request).instrument(inbound.span.clone()).await,
        None => run_bounded(&state, next, request).instrument(inbound.span.clone()).await,
    };

    let error = response.extensions_mut().remove::<ErrorExtension>().map(|ErrorExtension(error)| error);
    if let Some(error) = &error {
        let context = ProblemContext {
            instance: Some(path),
            request_id: Some(inbound.ctx.request_id.clone()),
            correlation_id: Some(inbound.ctx.correlation_id.to_string()),
        };
        response = render(error, &context);
    }
    if let Ok(value) = HeaderValue::from_str(&inbound.ctx.request_id) {
        response.headers_mut().insert(X_REQUEST_ID, value);
    }
    inbound.finish(edge::http_status_label(response.status().as_u16()), error.as_ref());
    response
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

/// Unknown route: 404 problem+json.
pub async fn not_found(uri: Uri) -> Error {
    Error::not_found(format!("no route for {}", uri.path())).with_reason(Reason::RouteNotFound)
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
