//! Applies the injected [`FaultRule`]s to matching requests.

use std::{sync::Arc, time::Duration};

use axum::{
    body::Body,
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};
use rand::Rng;

use super::{
    SimState,
    control::{DEFAULT_RETRY_AFTER, FaultKind},
    wire,
};

pub async fn inject(State(state): State<Arc<SimState>>, request: Request, next: Next) -> Response {
    let fault = pick(&state, request.method().as_str(), request.uri().path());
    match fault {
        None => next.run(request).await,
        Some(FaultKind::Delay { delay_ms, delay_max_ms }) => {
            let delay = match delay_max_ms {
                Some(max) if max > delay_ms => rand::rng().random_range(delay_ms..=max),
                _ => delay_ms,
            };
            tokio::time::sleep(Duration::from_millis(delay)).await;
            next.run(request).await
        }
        Some(FaultKind::Status { status, retry_after_seconds }) => match StatusCode::from_u16(status) {
            Ok(StatusCode::TOO_MANY_REQUESTS) => {
                wire::throttled(retry_after_seconds.unwrap_or(DEFAULT_RETRY_AFTER.as_secs()))
            }
            Ok(code) => {
                let mut response = wire::error(code, 0, "Simulated failure.");
                if let Some(seconds) = retry_after_seconds
                    && let Ok(value) = seconds.to_string().parse()
                {
                    response.headers_mut().insert(axum::http::header::RETRY_AFTER, value);
                }
                response
            }
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
        Some(FaultKind::RejectToken) => {
            let mut response = StatusCode::UNAUTHORIZED.into_response();
            if let Ok(value) = "Bearer error=\"invalid_token\"".parse() {
                response.headers_mut().insert(axum::http::header::WWW_AUTHENTICATE, value);
            }
            response
        }
        Some(FaultKind::Drop) => broken_response(),
        Some(FaultKind::DropAfterProcessing) => {
            // The work is done (an order may now exist), but the answer never arrives whole.
            let _ = next.run(request).await;
            broken_response()
        }
    }
}

/// A response whose body fails at once: hyper aborts the connection, the client sees a reset.
fn broken_response() -> Response {
    let stream =
        futures::stream::once(async { Err::<bytes::Bytes, _>(std::io::Error::other("simulated dropped connection")) });
    let mut response = Response::new(Body::from_stream(stream));
    response.headers_mut().insert(axum::http::header::CONTENT_LENGTH, axum::http::HeaderValue::from_static("1024"));
    response
}

/// The first rule that matches and fires; its `times` budget is spent.
fn pick(state: &SimState, method: &str, path: &str) -> Option<FaultKind> {
    let mut inner = state.lock();
    let mut rng = rand::rng();
    for rule in inner.control.faults.iter_mut() {
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
