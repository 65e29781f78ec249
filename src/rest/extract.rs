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
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

fn json_rejection(rejection: &JsonRejection) -> Error {
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
        JsonRejection::MissingJsonContentType(_) => Error::invalid_field("Content-Type", "must be application/json"),
        JsonRejection::BytesRejection(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
            Error::new(ErrorKind::PayloadTooLarge, "the request body is larger than the gateway accepts")
        }
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

/// A JSON body that may be absent (empty): `None` then.
pub struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let has_body = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|len| len.trim() != "0");
        if !has_body
            || (request.headers().get(header::CONTENT_TYPE).is_none()
                && request.headers().get(header::CONTENT_LENGTH).is_none())
        {
            return Ok(Self(None));
        }
        let AppJson(value) = AppJson::<T>::from_request(request, state).await?;
        Ok(Self(Some(value)))
    }
}
