//! Service endpoints: liveness, readiness (never tied to Partner Center), Prometheus metrics.

use axum::{
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::edge::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(livez)).routes(routes!(readyz)).routes(routes!(metrics))
}

/// Liveness: the process serves requests.
#[utoipa::path(get, path = "/livez", tag = "service", security(()), responses((status = 200, description = "Alive", body = String)))]
async fn livez() -> &'static str {
    "ok"
}

/// Readiness: 503 while starting or shutting down. Never depends on Partner Center, so an
/// upstream outage gives callers a clear 502 instead of taking every replica out of rotation.
/// Nor on Redis: while the shared store is unreachable the replica stays ready (reads work,
/// purchases answer 503 `SHARED_STATE_UNAVAILABLE`) and the body says `ready (degraded: ...)`.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "service",
    security(()),
    responses((status = 200, description = "Ready; `ready (degraded: ...)` while the shared store is unreachable", body = String), (status = 503, description = "Not ready", body = String))
)]
async fn readyz(State(state): State<AppState>) -> Response {
    if state.readiness.is_ready() {
        if state.shared_state.as_ref().is_some_and(|health| !health.is_up()) {
            return (
                StatusCode::OK,
                "ready (degraded: shared state unreachable; purchases answer 503, the Partner Center budget is this replica's share)",
            )
                .into_response();
        }
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
    }
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "service",
    security(()),
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"))
)]
async fn metrics(State(state): State<AppState>, uri: axum::http::Uri) -> Response {
    if state.metrics_elsewhere {
        return super::middleware::not_found(uri).await.into_response();
    }
    metrics_text(&state)
}

/// The Prometheus exposition, on whichever listener serves it: the recorder's metrics, then the
/// `process_*` ones read now.
pub fn metrics_text(state: &AppState) -> Response {
    let mut text = state.metrics.render();
    text.push_str(&crate::metrics_catalog::process_text());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

/// The separate metrics listener's whole router (`metrics.listen`): `/metrics` and nothing else.
pub fn metrics_router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(|State(state): State<AppState>| async move { metrics_text(&state) }))
        .with_state(state)
}
