//! Extractors whose rejections are problem+json naming the field, and the authenticated caller.

use axum::{
    extract::{FromRequest, FromRequestParts, Request, rejection::JsonRejection},
    http::{header, request::Parts},
};
use serde::de::DeserializeOwned;

use crate::{
    auth::Caller,
    context::RequestContext,
    edge::AppState,
    error::{Error, ErrorKind},
};

/// The caller the `request_context` middleware admitted (or, on a bare router, admitted now).
impl FromRequestParts<AppState> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Caller>() {
            Some(caller) => Ok(caller.clone()),
            None => state.authenticate(&parts.headers).await,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // The request_context middleware always inserts one; a bare router in a unit test may not.
        Ok(parts.extensions.get::<RequestContext>().cloned().unwrap_or_else(RequestContext::background))
    }
}

/// JSON body whose errors name the offending field (`lineItems[0].quantity: invalid type ...`).
pub struct AppJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AppJson<T> {
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = body_limit(&request);
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(&rejection, limit)),
        }
    }
}

/// The largest request body the router accepts (`rest.body_limit_bytes`), for the 413's detail.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

fn body_limit(request: &Request) -> Option<usize> {
    request.extensions().get::<BodyLimit>().map(|limit| limit.0)
}

fn too_large(limit: Option<usize>) -> Error {
    let detail = match limit {
        Some(bytes) => format!("the request body is larger than the {bytes} bytes the gateway accepts"),
        None => "the request body is larger than the gateway accepts".to_owned(),
    };
    Error::new(ErrorKind::PayloadTooLarge, detail)
}

/// 415 for a body that is not JSON, naming the header.
fn not_json(headers: &axum::http::HeaderMap) -> Error {
    let got = match headers.get(header::CONTENT_TYPE) {
        None => "none".to_owned(),
        Some(value) => format!("{:?}", String::from_utf8_lossy(value.as_bytes())),
    };
    let description = format!("must be application/json, got {got}");
    Error::new(ErrorKind::UnsupportedMediaType, format!("Content-Type: {description}"))
        .with_field_violation("Content-Type", description)
}

/// `application/json` or `application/<something>+json`, parameters (`; charset=utf-8`) allowed.
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json"
        || essence.strip_prefix("application/").is_some_and(|subtype| subtype.ends_with("+json"))
}

fn json_rejection(rejection: &JsonRejection, limit: Option<usize>) -> Error {
    match rejection {
        JsonRejection::JsonDataError(e) => {
            // axum's text: "Failed to deserialize the JSON body into the target type: <path>: <message>".
            let text = std::error::Error::source(e).map_or_else(|| e.body_text(), |s| s.to_string());
            match text.split_once(": ") {
                Some((path, message)) if !path.contains(' ') => Error::invalid_field(path, message),
                _ => Error::invalid_field("body", text),
            }
        }
        JsonRejection::JsonSyntaxError(e) => Error::invalid_field(
            "body",
            format!(
                "is not valid JSON: {}",
                std::error::Error::source(e).map_or_else(|| e.body_text(), |s| s.to_string())
            ),
        ),
        JsonRejection::MissingJsonContentType(_) => {
            Error::new(ErrorKind::UnsupportedMediaType, "Content-Type: must be application/json")
                .with_field_violation("Content-Type", "must be application/json")
        }
        JsonRejection::BytesRejection(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => too_large(limit),
        JsonRejection::BytesRejection(e) if caused_by_timeout(e) => {
            Error::new(ErrorKind::RequestTimeout, "the request body did not arrive in time")
        }
        other => Error::invalid_field("body", other.body_text()),
    }
}

/// The body read ran into the request-body deadline.
fn caused_by_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(cause) = next {
        if cause.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        next = cause.source();
    }
    false
}

/// Query string into a struct of optional strings (with `deny_unknown_fields`): the only
/// failures left are unknown or repeated parameters, and serde names them.
pub struct AppQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for AppQuery<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str::<T>(query).map(Self).map_err(|e| {
            let text = e.to_string();
            let field = text.split('`').nth(1).unwrap_or("query").to_owned();
            Error::invalid_field(field, text)
        })
    }
}

/// A numeric query parameter, parsed with its name in the error.
pub fn parse_int(field: &str, value: Option<&str>) -> Result<Option<i64>, Error> {
    value
        .map(|v| {
            v.trim().parse::<i64>().map_err(|_| Error::invalid_field(field, format!("must be an integer, got {v:?}")))
        })
        .transpose()
}

/// A JSON body that may be absent: an empty body (any or no `Content-Type`) and JSON `null`
/// are `None`; anything else must be `application/json` (else 415) and parse as `T`.
pub struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = body_limit(&request);
        let headers = request.headers().clone();
        let bytes = match axum::body::Bytes::from_request(request, state).await {
            Ok(bytes) => bytes,
            Err(rejection) => return Err(json_rejection(&JsonRejection::BytesRejection(rejection), limit)),
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        if !is_json(&headers) {
            return Err(not_json(&headers));
        }
        match axum::Json::<Option<T>>::from_bytes(&bytes) {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(&rejection, limit)),
        }
    }
}
