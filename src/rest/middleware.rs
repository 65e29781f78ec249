//! The REST request pipeline around every handler: request ids, deadline, problem rendering,
//! one log line per failed request, and request metrics.

use std::{future::Future, sync::Arc, time::Duration};

use axum::{
    body::Body,
    extract::Request,
    http::{HeaderName, HeaderValue, Method, Uri},
    response::{IntoResponse, Response},
};
use tracing::Instrument;

use super::problem::{ErrorExtension, ProblemContext, render};
use crate::{
    edge::{self, AppState, CallerSlot, ConnectionControl, HoldWhileStreaming, StreamProgress, Transport},
    error::{Error, ErrorKind, Reason},
    limits::Admitted,
};

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Builds the [`RequestContext`](crate::context::RequestContext), bounds the request by the REST
/// timeout, and turns any error response into its final problem+json (path, request id,
/// correlation id); the edge records the outcome. `route` is the route template the path matches
/// (the `operation` label); `next` runs the rest of the pipeline.
pub async fn request_context<F>(
    state: &AppState,
    route: Option<&'static str>,
    mut request: Request,
    next: impl FnOnce(Request) -> F,
) -> Response
where
    F: Future<Output = Response>,
{
    let operation = edge::rest_operation(request.method(), route);
    let inbound = state.begin(Transport::Rest, operation, request.headers(), Some(state.rest_timeout));
    request.extensions_mut().insert(inbound.ctx.clone());
    // Kept for an error's `instance`; a clone of hyper's parsed URI shares its bytes.
    let uri = request.uri().clone();
    let is_get = request.method() == Method::GET;

    // Only API calls are authenticated, admitted or shed: probes, metrics and documents must
    // answer even at capacity.
    let is_api = uri.path().starts_with("/v1/") && request.method() != Method::OPTIONS;
    let mut response = if is_api {
        match admit(state, &mut request).instrument(inbound.span.clone()).await {
            Err(refused) => refused.into_response(),
            Ok(held) => {
                let connection = request.extensions().get::<ConnectionControl>().cloned();
                let response = run_bounded(state, next(request)).instrument(inbound.span.clone()).await;
                hold_while_streaming(response, held, connection, state)
            }
        }
    } else {
        run_bounded(state, next(request)).instrument(inbound.span.clone()).await
    };

    let error = response.extensions_mut().remove::<ErrorExtension>().map(|ErrorExtension(error)| error);
    if let Some(error) = &error {
        let context = ProblemContext {
            instance: Some(uri.path().to_owned()),
            request_id: Some(inbound.ctx.request_id.clone()),
            correlation_id: Some(inbound.ctx.correlation_id.to_string()),
        };
        let mut rendered = render(error, &context);
        keep_allow(response.headers(), rendered.headers_mut());
        response = rendered;
    }
    if let Ok(value) = HeaderValue::from_str(&inbound.ctx.request_id) {
        response.headers_mut().insert(X_REQUEST_ID, value);
    }
    if is_get && response.status() == axum::http::StatusCode::OK {
        say_how_fresh(&mut response, &inbound.ctx.freshness);
    }
    inbound.finish(edge::http_status_label(response.status().as_u16()), error.as_ref());
    response
}

/// The `Allow` the router added to a 405 (RFC 9110 §15.5.6), which the final rendering would
/// lose; the body's own headers (length, type) are the rendering's.
fn keep_allow(answered: &axum::http::HeaderMap, rendered: &mut axum::http::HeaderMap) {
    if let Some(allow) = answered.get(axum::http::header::ALLOW) {
        rendered.insert(axum::http::header::ALLOW, allow.clone());
    }
}

/// An answer built only from the response cache's operations says how old it is and how long
/// the caller may keep it (`private`: it was authorised for this caller only).
fn say_how_fresh(response: &mut Response, freshness: &crate::context::UpstreamFreshness) {
    let Some((age, fresh_for)) = freshness.cacheable() else { return };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&format!("private, max-age={}", fresh_for.as_secs())) {
        headers.insert(axum::http::header::CACHE_CONTROL, value);
    }
    headers.insert(axum::http::header::AGE, HeaderValue::from(age.as_secs()));
}

/// What an API request holds for as long as its answer is being sent.
type Held = (CallerSlot, Admitted);

/// Authenticates the caller (its budget charged, one of its slots taken) and admits the request,
/// before the handler reads anything of the body.
async fn admit(state: &AppState, request: &mut Request) -> crate::error::Result<Held> {
    let (caller, slot) = state.admit_caller(request.headers()).await?;
    let admitted = state.admit(Transport::Rest)?;
    if let Some(ctx) = request.extensions_mut().get_mut::<crate::context::RequestContext>() {
        ctx.caller = Some(Arc::from(caller.subject()));
    }
    request.extensions_mut().insert(caller);
    Ok((slot, admitted))
}

/// The answer keeps what the request held until its body is sent; a streamed body (no known
/// length) is also watched, so a reader that stops reading loses it and its connection.
fn hold_while_streaming(
    response: Response,
    held: Held,
    connection: Option<ConnectionControl>,
    state: &AppState,
) -> Response {
    let streamed = http_body::Body::size_hint(response.body()).exact().is_none();
    response.map(|body| {
        if streamed {
            let progress = StreamProgress::watch(state.streams, connection, Transport::Rest);
            Body::new(HoldWhileStreaming::watched(body, held, progress))
        } else {
            Body::new(HoldWhileStreaming::new(body, held))
        }
    })
}

/// Runs the request, a little past the deadline the upstream calls already honour: this only
/// catches work that ignores it.
async fn run_bounded(state: &AppState, run: impl Future<Output = Response>) -> Response {
    let limit = state.rest_timeout + Duration::from_secs(1);
    match tokio::time::timeout(limit, run).await {
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
