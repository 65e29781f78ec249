//! Partner Center's answers as the simulator writes them: error bodies and collection envelopes.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

/// Partner Center's standard error body `{code, description, data, source}`.
pub fn error(status: StatusCode, code: u32, description: &str) -> Response {
    (status, Json(json!({ "code": code, "description": description, "data": [], "source": "PartnerFD" })))
        .into_response()
}

/// The newer error shape (agreements, customers): `{code, message, description, errorName, isRetryable, ...}`.
pub fn named_error(status: StatusCode, code: u32, error_name: &str, description: &str) -> Response {
    (
        status,
        Json(json!({
            "code": code,
            "message": description,
            "description": description,
            "errorName": error_name,
            "isRetryable": false,
            "parameters": {},
            "errorMessageExtended": format!("InternalErrorCode={code}")
        })),
    )
        .into_response()
}

/// 429 as Partner Center sends it: `{statusCode, message}` plus `Retry-After`.
pub fn throttled(retry_after_seconds: u64) -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        Json(json!({
            "statusCode": 429,
            "message": format!("Rate limit is exceeded. Try again in {retry_after_seconds} seconds.")
        })),
    )
        .into_response();
    if let Ok(value) = retry_after_seconds.to_string().parse() {
        response.headers_mut().insert(axum::http::header::RETRY_AFTER, value);
    }
    response
}

/// The `ResourceCollection` envelope.
pub fn collection(items: Vec<Value>, self_uri: &str, next: Option<Value>) -> Value {
    let mut links = json!({ "self": { "uri": self_uri, "method": "GET", "headers": [] } });
    if let Some(next) = next {
        links["next"] = next;
    }
    json!({
        "totalCount": items.len(),
        "items": items,
        "links": links,
        "attributes": { "objectType": "Collection" }
    })
}

/// Partner Center answers unknown routes with a 404 in its own shape.
pub async fn unknown_route() -> Response {
    error(StatusCode::NOT_FOUND, 1000, "The requested resource was not found.")
}

/// A Partner Center error before it becomes a response (small enough to return in `Result`).
#[derive(Debug, Clone)]
pub struct PcError {
    pub status: StatusCode,
    pub code: u32,
    pub description: String,
}

impl PcError {
    pub fn new(status: StatusCode, code: u32, description: impl Into<String>) -> Self {
        Self { status, code, description: description.into() }
    }
}

impl IntoResponse for PcError {
    fn into_response(self) -> Response {
        error(self.status, self.code, &self.description)
    }
}
