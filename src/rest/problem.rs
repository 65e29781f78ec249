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
        let challenge =
            format!("Bearer error=\"invalid_token\", error_description=\"{}\"", error.detail().replace('"', "'"));
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_str(&challenge).unwrap_or(HeaderValue::from_static("Bearer")),
        );
    }
    if let Some(seconds) = error.retry_after_seconds() {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let mut response = render(&self, &ProblemContext::default());
        response.extensions_mut().insert(ErrorExtension(self));
        response
    }
}

/// The error responses every operation may give, for the OpenAPI document.
pub struct ProblemResponses;

impl utoipa::IntoResponses for ProblemResponses {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::response::Response>> {
        let problem = || ContentBuilder::new().schema(Some(Ref::from_schema_name("ProblemDetails"))).build();
        let rows: [(&str, &str); 9] = [
            ("400", "Invalid argument: a malformed id, an unknown query value, bad JSON; `errors` names the fields."),
            ("401", "Missing or invalid bearer token."),
            ("403", "The token does not grant this customer, partner or permission."),
            ("404", "No such resource (or route)."),
            ("429", "Too many requests; see `Retry-After`."),
            ("500", "The gateway failed."),
            ("502", "Partner Center failed or refused the gateway's credentials."),
            ("503", "The gateway is overloaded or shutting down; see `Retry-After`."),
            ("504", "Partner Center did not answer in time."),
        ];
        rows.into_iter()
            .map(|(status, description)| {
                let mut builder = ResponseBuilder::new().description(description).content(PROBLEM_JSON, problem());
                if status == "401" {
                    builder = builder.header(
                        "WWW-Authenticate",
                        HeaderBuilder::new()
                            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                            .description(Some("Bearer challenge"))
                            .build(),
                    );
                }
                if status == "429" || status == "503" {
                    builder = builder.header(
                        "Retry-After",
                        HeaderBuilder::new()
                            .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
                            .description(Some("Seconds to wait"))
                            .build(),
                    );
                }
                (status.to_owned(), RefOr::T(builder.build()))
            })
            .collect()
    }
}

/// Extra documented responses for operations that can also conflict or need a prerequisite.
pub struct ConflictResponses;

impl utoipa::IntoResponses for ConflictResponses {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::response::Response>> {
        let problem = || ContentBuilder::new().schema(Some(Ref::from_schema_name("ProblemDetails"))).build();
        [
            (
                "409",
                "The resource's state forbids the operation, or a concurrent change won; `violations` names blockers.",
            ),
            ("412", "A prerequisite is missing (e.g. the customer has not accepted the Microsoft Customer Agreement)."),
        ]
        .into_iter()
        .map(|(status, description)| {
            (
                status.to_owned(),
                RefOr::T(ResponseBuilder::new().description(description).content(PROBLEM_JSON, problem()).build()),
            )
        })
        .collect()
    }
}
