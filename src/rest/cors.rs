//! CORS: which browser origins may call the REST API, and a clear answer to those that may not.
//!
//! `cors.allowed_origins` lists origins; `cors.allow_localhost` (on by default in development,
//! off in production) adds `http://localhost:<port>` and `http://127.0.0.1:<port>` for any port.
//! A preflight from any other origin is answered 403 problem+json naming those settings, instead
//! of a silent answer without `Access-Control-Allow-Origin` that browsers report only as
//! "blocked by CORS policy".

use std::sync::Arc;

use axum::{
    extract::Request,
    http::{HeaderName, HeaderValue, Method, header},
    response::Response,
};
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::problem::{self, ProblemContext};
use crate::{
    config::CorsSettings,
    error::{Error, Reason},
};

/// Which origins may call from a browser.
#[derive(Debug, Clone)]
pub struct CorsPolicy {
    origins: Arc<[HeaderValue]>,
    allow_localhost: bool,
    /// Log refused preflights at info (development) rather than debug (production, where any
    /// web page can make browsers send them).
    log_refusals: bool,
}

impl CorsPolicy {
    pub fn new(settings: &CorsSettings, allow_localhost: bool, log_refusals: bool) -> Self {
        let origins = settings.allowed_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
        Self { origins, allow_localhost, log_refusals }
    }

    /// No origin at all may call: the gateway sends no CORS headers.
    pub fn is_closed(&self) -> bool {
        self.origins.is_empty() && !self.allow_localhost
    }

    pub fn allows(&self, origin: &HeaderValue) -> bool {
        self.origins.contains(origin) || (self.allow_localhost && is_local_origin(origin))
    }

    /// The CORS layer for the allowed origins; `None` when CORS is closed.
    pub fn layer(&self, max_age: std::time::Duration) -> Option<CorsLayer> {
        if self.is_closed() {
            return None;
        }
        let policy = self.clone();
        Some(
            CorsLayer::new()
                .allow_origin(AllowOrigin::predicate(move |origin, _| policy.allows(origin)))
                .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    HeaderName::from_static("idempotency-key"),
                    HeaderName::from_static("x-request-id"),
                    HeaderName::from_static("x-locale"),
                    HeaderName::from_static("traceparent"),
                ])
                .expose_headers([
                    header::WWW_AUTHENTICATE,
                    header::RETRY_AFTER,
                    header::LOCATION,
                    header::CONTENT_DISPOSITION,
                    HeaderName::from_static("x-request-id"),
                ])
                .max_age(max_age),
        )
    }
}

/// `http://localhost[:port]` or `http://127.0.0.1[:port]`, exactly (no path, no other host).
pub fn is_local_origin(origin: &HeaderValue) -> bool {
    let Ok(origin) = origin.to_str() else { return false };
    let Some(rest) = origin.strip_prefix("http://") else { return false };
    let port = match rest.strip_prefix("localhost").or_else(|| rest.strip_prefix("127.0.0.1")) {
        Some(port) => port,
        None => return false,
    };
    port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|digits| !digits.is_empty() && digits.len() <= 5 && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// A browser's preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) from an
/// origin the policy does not allow gets a 403 problem naming the setting that would allow it;
/// everything else passes (`None`).
pub fn refusal(policy: &CorsPolicy, request: &Request) -> Option<Response> {
    let preflight =
        request.method() == Method::OPTIONS && request.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if !preflight {
        return None;
    }
    let origin = request.headers().get(header::ORIGIN).filter(|origin| !policy.allows(origin))?;
    let shown = String::from_utf8_lossy(origin.as_bytes()).chars().take(200).collect::<String>();
    let detail = if policy.is_closed() {
        format!(
            "CORS is closed: no browser origin may call this gateway, so {shown:?} may not; list it in \
             cors.allowed_origins (GATEWAY_CORS__ALLOWED_ORIGINS), or set cors.allow_localhost for \
             http://localhost:* and http://127.0.0.1:*"
        )
    } else {
        format!(
            "origin {shown:?} may not call this gateway from a browser; list it in cors.allowed_origins \
             (GATEWAY_CORS__ALLOWED_ORIGINS)"
        )
    };
    if policy.log_refusals {
        tracing::info!(origin = %shown, "CORS preflight refused: {detail}");
    } else {
        tracing::debug!(origin = %shown, "CORS preflight refused: {detail}");
    }
    let error = Error::permission_denied(detail).with_reason(Reason::CorsOriginNotAllowed);
    let context = ProblemContext { instance: Some(request.uri().path().to_owned()), ..ProblemContext::default() };
    Some(problem::render(&error, &context))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_origins_are_loopback_http_with_any_port_and_nothing_else() {
        for ok in ["http://localhost", "http://localhost:3000", "http://127.0.0.1:5173", "http://127.0.0.1"] {
            assert!(is_local_origin(&HeaderValue::from_static(ok)), "{ok}");
        }
        for bad in [
            "https://localhost:3000",
            "http://localhost.evil.example",
            "http://localhost:3000.evil.example",
            "http://127.0.0.1.nip.io",
            "http://localhost:",
            "http://localhost:123456",
            "http://example.com",
            "null",
        ] {
            assert!(!is_local_origin(&HeaderValue::from_static(bad)), "{bad}");
        }
    }

    #[test]
    fn the_policy_combines_listed_origins_and_localhost() {
        let settings =
            CorsSettings { allowed_origins: vec!["https://app.example.com".to_owned()], ..CorsSettings::default() };
        let listed = HeaderValue::from_static("https://app.example.com");
        let local = HeaderValue::from_static("http://localhost:3000");
        let open = CorsPolicy::new(&settings, true, true);
        assert!(open.allows(&listed) && open.allows(&local) && !open.is_closed());
        let listed_only = CorsPolicy::new(&settings, false, true);
        assert!(listed_only.allows(&listed) && !listed_only.allows(&local));
        let closed = CorsPolicy::new(&CorsSettings::default(), false, true);
        assert!(closed.is_closed() && closed.layer(std::time::Duration::from_secs(1)).is_none());
    }
}
