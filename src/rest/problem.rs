//! RFC 9457 problem details: the REST rendering of [`Error`].
//!
//! A handler's `Err(Error)` becomes a response carrying the error in its extensions; the
//! `request_context` middleware (see `rest::middleware`) then writes the final body with the
//! request's path, request id and correlation id, and logs the error once.

use std::collections::BTreeMap;

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::{
    ToSchema,
    openapi::{
        ContentBuilder, HeaderBuilder, Ref, RefOr, ResponseBuilder,
        schema::{ObjectBuilder, Type},
    },
};

use crate::error::{Error, ErrorKind, FieldViolation, PreconditionViolation, Reason};

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error, as every REST operation reports it (RFC 9457).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProblemDetails {
    /// Identifies the kind of problem, e.g. `urn:partner-center-gateway:problem:not-found`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    /// What went wrong, for a human.
    pub detail: String,
    /// The request path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Machine-readable reason, e.g. `CUSTOMER_NOT_IN_SCOPE`.
    pub reason: Reason,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Partner Center's error code, when it gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
    /// The invalid fields.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldViolation>,
    /// What blocks the operation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<PreconditionViolation>,
}

/// Identifiers of the request, known to the middleware.
#[derive(Debug, Clone, Default)]
pub struct ProblemContext {
    pub instance: Option<String>,
    pub request_id: Option<String>,
    pub correlation_id: Option<String>,
}

impl ProblemDetails {
    pub fn from_error(error: &Error, context: &ProblemContext) -> Self {
        let spec = error.kind().spec();
        Self {
            problem_type: error.kind().problem_type(),
            title: spec.title.to_owned(),
            status: spec.http_status,
            detail: error.detail().to_owned(),
            instance: context.instance.clone(),
            reason: error.reason(),
            request_id: context.request_id.clone(),
            correlation_id: context.correlation_id.clone(),
            upstream_code: error.upstream_code().map(str::to_owned),
            retry_after_seconds: error.retry_after_seconds(),
            errors: error.field_violations().to_vec(),
            violations: error.precondition_violations().to_vec(),
        }
    }
}

/// The error a response was built from, for the middleware to finish and log.
#[derive(Clone)]
pub struct ErrorExtension(pub Error);

/// Builds the full problem response.
pub fn render(error: &Error, context: &ProblemContext) -> Response {
    let spec = error.kind().spec();
    let status = StatusCode::from_u16(spec.http_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(ProblemDetails::from_error(error, context))).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    if error.kind() == ErrorKind::Unauthenticated {
        headers.insert(header::WWW_AUTHENTICATE, bearer_challenge(error));
    }
    if let Some(seconds) = error.retry_after_seconds() {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// RFC 6750 §3: a request without bearer credentials gets the bare challenge (§3.1: no error
/// code when the client may not know authentication is needed); a token that fails gets
/// `error="invalid_token"` and why.
fn bearer_challenge(error: &Error) -> HeaderValue {
    if error.is_credentials_missing() {
        return HeaderValue::from_static("Bearer");
    }
    let description: String = error
        .detail()
        .chars()
        .map(|c| if c == '"' || c == '\\' || !(' '..='~').contains(&c) { '\'' } else { c })
        .collect();
    HeaderValue::from_str(&format!("Bearer error=\"invalid_token\", error_description=\"{description}\""))
        .unwrap_or(HeaderValue::from_static("Bearer error=\"invalid_token\""))
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let mut response = render(&self, &ProblemContext::default());
        response.extensions_mut().insert(ErrorExtension(self));
        response
    }
}

/// The OpenAPI responses of the error kinds `include` selects, one per HTTP status, described
/// from the kind table (title and default reason) so the document cannot drift from the code.
fn problem_responses(include: impl Fn(u16) -> bool) -> BTreeMap<String, RefOr<utoipa::openapi::response::Response>> {
    let mut by_status: BTreeMap<u16, Vec<ErrorKind>> = BTreeMap::new();
    for kind in ErrorKind::ALL {
        if include(kind.spec().http_status) {
            by_status.entry(kind.spec().http_status).or_default().push(kind);
        }
    }
    by_status
        .into_iter()
        .map(|(status, kinds)| {
            let description = kinds
                .iter()
                .map(|kind| format!("{}: {}", kind.spec().title, kind.spec().default_reason.description()))
                .collect::<Vec<_>>()
                .join(" Or: ");
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ProblemDetails"))).build();
            let mut builder = ResponseBuilder::new().description(description).content(PROBLEM_JSON, content);
            if kinds.contains(&ErrorKind::Unauthenticated) {
                builder = builder.header(
                    "WWW-Authenticate",
                    HeaderBuilder::new()
                        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                        .description(Some(
                            "RFC 6750: `Bearer` when the request carried no bearer token; `Bearer error=\"invalid_token\", \
                             error_description=\"...\"` when the token failed (an expired one: reason TOKEN_EXPIRED)",
                        ))
                        .build(),
                );
            }
            if kinds.iter().any(|k| matches!(k, ErrorKind::RateLimited | ErrorKind::Unavailable)) {
                builder = builder.header(
                    "Retry-After",
                    HeaderBuilder::new()
                        .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
                        .description(Some("Seconds to wait"))
                        .build(),
                );
            }
            (status.to_string(), RefOr::T(builder.build()))
        })
        .collect()
}

/// Statuses only operations that change state give: a conflicting state or a missing prerequisite.
fn is_conflict(status: u16) -> bool {
    matches!(status, 409 | 412)
}

/// The error responses every operation may give, for the OpenAPI document.
pub struct ProblemResponses;

impl utoipa::IntoResponses for ProblemResponses {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::response::Response>> {
        problem_responses(|status| !is_conflict(status))
    }
}

/// The 409 of reads whose data is not there in this form (line items moved to billing exports,
/// a failed export, a catalog view or segment the partner is not authorized for).
pub struct StateResponses;

impl utoipa::IntoResponses for StateResponses {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::response::Response>> {
        problem_responses(|status| status == 409)
    }
}

/// Extra documented responses for operations that can also conflict or need a prerequisite.
pub struct ConflictResponses;

impl utoipa::IntoResponses for ConflictResponses {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::response::Response>> {
        problem_responses(is_conflict)
    }
}
