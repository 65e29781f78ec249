//! Partner Center's error answers → the gateway's [`Error`]. The only place that reads upstream
//! statuses and error codes.

use std::time::Duration;

use http::{HeaderMap, StatusCode};
use serde::Deserialize;

use crate::error::{Error, ErrorKind, Reason};

/// The union of Partner Center's three error shapes: `{code, description, data, source}`,
/// `{code, message, description, errorName, isRetryable, ...}` and the 429 `{statusCode, message}`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpstreamErrorBody {
    #[serde(default, deserialize_with = "code_as_string")]
    pub code: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub error_name: Option<String>,
    #[serde(default)]
    pub is_retryable: Option<bool>,
}

fn code_as_string<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(deserializer)? {
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    })
}

impl UpstreamErrorBody {
    pub fn parse(body: &[u8]) -> Self {
        serde_json::from_slice(body).unwrap_or_default()
    }

    pub fn text(&self) -> Option<&str> {
        self.description.as_deref().or(self.message.as_deref()).filter(|s| !s.is_empty())
    }
}

/// `Retry-After` in seconds (the form Partner Center uses); HTTP dates are ignored.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// Statuses worth another attempt with the same `MS-RequestId`.
pub fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

/// Maps a non-success answer to an error the caller can act on. Partner Center refusing *our*
/// credentials (401, or 403 for roles and app-only access) is never the caller's fault: 502.
pub fn classify(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    let parsed = UpstreamErrorBody::parse(body);
    let code = parsed.code.clone();
    let text = parsed.text().map(str::to_owned);
    let upstream_says = |default: &str| text.clone().unwrap_or_else(|| default.to_owned());
    let error = match (status.as_u16(), code.as_deref()) {
        // Codes whose meaning does not depend on the (sometimes undocumented) status.
        (_, Some("600061")) => Error::new(
            ErrorKind::AlreadyExists,
            upstream_says("the customer's agreement acceptance is already confirmed"),
        )
        .with_reason(Reason::AgreementAlreadyConfirmed),
        (_, Some("13605")) => Error::new(
            ErrorKind::PreconditionRequired,
            "the customer has not accepted the Microsoft Customer Agreement",
        )
        .with_reason(Reason::McaNotAccepted),
        (_, Some("900115")) => Error::new(
            ErrorKind::FailedPrecondition,
            "an Azure plan cannot be suspended while any Azure subscription under it is active",
        )
        .with_reason(Reason::AzurePlanHasActiveSubscriptions),
        (_, Some("2055")) => Error::new(ErrorKind::Conflict, "the subscription changed while it was being updated")
            .with_reason(Reason::StaleEtag),
        (_, Some("800009")) => {
            Error::new(ErrorKind::InvalidArgument, upstream_says("the cart has line items with errors"))
                .with_reason(Reason::CartLineItemErrors)
        }
        (_, Some("800008")) => {
            Error::not_found(upstream_says("the cart does not exist or has expired")).with_reason(Reason::CartNotFound)
        }
        (_, Some("800065")) => {
            Error::new(ErrorKind::FailedPrecondition, upstream_says("the cart was already checked out"))
                .with_reason(Reason::CartAlreadySubmitted)
        }
        (_, Some("800064" | "800060")) => {
            Error::new(ErrorKind::Conflict, upstream_says("the cart or order is being processed by another request"))
        }
        (_, Some("900112" | "900113" | "900114")) => Error::new(
            ErrorKind::FailedPrecondition,
            format!(
                "purchases are blocked while the customer's transition to an Azure plan is {}",
                match code.as_deref() {
                    Some("900112") => "pending",
                    Some("900113") => "in progress",
                    _ => "failed",
                }
            ),
        )
        .with_reason(Reason::AzurePlanUpgradeBlocksPurchase),
        (_, Some("900106")) => Error::not_found(upstream_says("no such product upgrade")),
        (_, Some("900111")) => Error::not_found("no such product upgrade for this customer"),
        (401, _) => Error::new(ErrorKind::UpstreamUnavailable, "Partner Center rejected the gateway's credentials")
            .with_reason(Reason::UpstreamRejectedCredentials),
        // Our app lacks a role, or the resource refuses app-only tokens: misconfiguration on our side.
        (403, Some("900150" | "900308" | "900309" | "900329" | "2032")) | (403, None) => Error::new(
            ErrorKind::UpstreamUnavailable,
            "Partner Center refused the gateway's credentials for this operation",
        )
        .with_reason(Reason::UpstreamRejectedCredentials),
        (403, Some("20002")) => Error::new(
            ErrorKind::FailedPrecondition,
            upstream_says("the partner has no commerce relationship with this customer"),
        ),
        (403, _) => Error::new(ErrorKind::FailedPrecondition, upstream_says("Partner Center refused the operation")),
        (404, _) => Error::not_found(upstream_says("Partner Center has no such resource")),
        (409, _) => Error::new(ErrorKind::Conflict, upstream_says("the resource is being changed by another request")),
        (412, _) => Error::new(ErrorKind::Conflict, upstream_says("the resource changed since it was read")),
        (429, _) => Error::new(ErrorKind::RateLimited, "Partner Center is throttling this partner tenant")
            .with_reason(Reason::UpstreamThrottled)
            .with_retry_after(retry_after(headers).unwrap_or(Duration::from_secs(1))),
        (400 | 417, _) => Error::new(ErrorKind::InvalidArgument, upstream_says("Partner Center rejected the request")),
        (504, _) => Error::new(ErrorKind::UpstreamTimeout, "Partner Center timed out"),
        (500..=599, _) => {
            let error = Error::new(ErrorKind::UpstreamUnavailable, format!("Partner Center failed ({status})"));
            match retry_after(headers) {
                Some(after) => error.with_retry_after(after),
                None => error,
            }
        }
        _ => Error::new(ErrorKind::UpstreamUnavailable, format!("Partner Center answered unexpectedly ({status})")),
    };
    let error = error.with_source(format!(
        "partner center answered {status} code={} name={}",
        code.as_deref().unwrap_or("-"),
        parsed.error_name.as_deref().unwrap_or("-")
    ));
    match code {
        Some(code) => error.with_upstream_code(code),
        None => error,
    }
}

/// The caller's own deadline ran out: not a failure of Partner Center (it never counts towards
/// the circuit breaker, whatever the caller's deadline).
pub fn caller_deadline() -> Error {
    Error::new(ErrorKind::UpstreamTimeout, "the request's deadline passed while waiting for Partner Center")
        .with_reason(Reason::DeadlineExceeded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify_json(status: u16, body: &str) -> Error {
        classify(StatusCode::from_u16(status).expect("status"), &HeaderMap::new(), body.as_bytes())
    }

    #[test]
    fn every_documented_error_shape_is_understood() {
        let standard =
            classify_json(404, r#"{"code":400013,"description":"Product not found","data":[],"source":"PartnerFD"}"#);
        assert_eq!(standard.kind(), ErrorKind::NotFound);
        assert_eq!(standard.upstream_code(), Some("400013"));
        assert_eq!(standard.detail(), "Product not found");

        let agreement = classify_json(
            409,
            r#"{"code":600061,"message":"exists","description":"Agreement exists","errorName":"PartnerConfirmedAgreementAlreadyExists","isRetryable":false,"parameters":{},"errorMessageExtended":"InternalErrorCode=600061"}"#,
        );
        assert_eq!(agreement.upstream_code(), Some("600061"));
        assert_eq!(agreement.detail(), "Agreement exists");

        let mut headers = HeaderMap::new();
        headers.insert(http::header::RETRY_AFTER, http::HeaderValue::from_static("57"));
        let throttled =
            classify(StatusCode::TOO_MANY_REQUESTS, &headers, br#"{"statusCode":429,"message":"Rate limit"}"#);
        assert_eq!(throttled.kind(), ErrorKind::RateLimited);
        assert_eq!(throttled.retry_after(), Some(Duration::from_secs(57)));
    }

    #[test]
    fn our_rejected_credentials_are_a_bad_gateway_not_the_callers_fault() {
        for (status, body) in [(401, ""), (403, r#"{"code":900329,"description":"app only"}"#), (403, "")] {
            let error = classify_json(status, body);
            assert_eq!(error.kind(), ErrorKind::UpstreamUnavailable, "{status} {body}");
            assert_eq!(error.reason(), Reason::UpstreamRejectedCredentials);
        }
    }

    #[test]
    fn a_non_json_body_still_classifies() {
        let error = classify_json(503, "<html>oops</html>");
        assert_eq!(error.kind(), ErrorKind::UpstreamUnavailable);
        assert_eq!(error.upstream_code(), None);
    }
}
