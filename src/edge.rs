//! What every request does on either transport, written once: its context (ids, locale,
//! deadline, trace), admission, authentication and the caller's budget, and the record of its
//! outcome (metrics with labels from closed sets, one log line per failure).
//!
//! `rest/` and `grpc/` call these from their own thin pipelines (an axum middleware and
//! extractor, and the `unary`/`server_stream` wrappers), so both transports behave alike.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use metrics_exporter_prometheus::PrometheusHandle;

use crate::{
    auth::{Authenticator, Caller},
    context::{RequestContext, sanitize_header_value},
    error::{Error, ErrorKind, Reason, Result},
    facade::Facade,
    limits::{Admission, Admitted, RateBudget},
    telemetry::{self, CountAndDuration, HandleCache},
};

/// What every REST handler and gRPC service shares.
#[derive(Clone)]
pub struct AppState {
    pub facade: Arc<Facade>,
    pub authenticator: Arc<Authenticator>,
    pub readiness: Arc<Readiness>,
    pub metrics: PrometheusHandle,
    pub rest_timeout: Duration,
    pub grpc_default_timeout: Duration,
    /// Caps requests in flight (REST and gRPC).
    pub admission: Admission,
    /// Per-caller request budget; `None` when off.
    pub caller_budget: Option<Arc<dyn RateBudget>>,
    /// Whether the store replicas share (Redis) answers; `None` without one.
    pub shared_state: Option<Arc<crate::shared_state::SharedStateHealth>>,
}

/// Ready once both listeners serve; not ready again as soon as shutdown starts.
#[derive(Default)]
pub struct Readiness(AtomicBool);

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::Release);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Rest,
    Grpc,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rest => "rest",
            Self::Grpc => "grpc",
        }
    }
}

/// Read access to a request's headers (HTTP headers or gRPC metadata).
pub trait InboundHeaders {
    /// The header's value when it is present and text.
    fn text(&self, name: &str) -> Option<&str>;
    /// Whether the header is present at all (text or not).
    fn has(&self, name: &str) -> bool;
}

impl InboundHeaders for http::HeaderMap {
    fn text(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| v.to_str().ok())
    }

    fn has(&self, name: &str) -> bool {
        self.contains_key(name)
    }
}

impl InboundHeaders for tonic::metadata::MetadataMap {
    fn text(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| v.to_str().ok())
    }

    fn has(&self, name: &str) -> bool {
        self.contains_key(name)
    }
}

/// One request in progress: what its outcome is recorded against.
pub struct Inbound {
    pub transport: Transport,
    /// The `operation` label: a matched route template or RPC name, from a closed set.
    pub operation: &'static str,
    pub ctx: RequestContext,
    pub span: tracing::Span,
    started: Instant,
}

/// The request's ids, locale, trace and deadline (`timeout` from now, when given).
pub fn request_context(headers: &impl InboundHeaders, timeout: Option<Duration>) -> RequestContext {
    let text = |name: &str, max: usize| headers.text(name).and_then(|v| sanitize_header_value(v, max));
    RequestContext::with_trace(text("x-request-id", 128), text("x-locale", 35), timeout, headers.text("traceparent"))
}

impl AppState {
    /// Starts a request: builds its context and span.
    pub fn begin(
        &self,
        transport: Transport,
        operation: &'static str,
        headers: &impl InboundHeaders,
        timeout: Option<Duration>,
    ) -> Inbound {
        let ctx = request_context(headers, timeout);
        let span = telemetry::request_span(&ctx, transport.as_str(), &operation);
        Inbound { transport, operation, ctx, span, started: Instant::now() }
    }

    /// Takes an admission slot for the life of the request, or sheds it.
    pub fn admit(&self, transport: Transport) -> Result<Admitted> {
        self.admission.admit(transport.as_str())
    }

    /// The verified caller of a request (`authorization` header or metadata), charged one
    /// request of its budget.
    pub async fn authenticate(&self, headers: &impl InboundHeaders) -> Result<Caller> {
        let header = match headers.text("authorization") {
            Some(value) => Some(value),
            None if headers.has("authorization") => {
                return Err(Error::unauthenticated("the authorization header is not text"));
            }
            None => None,
        };
        let caller = self.authenticator.authenticate(header).await?;
        self.charge_caller(&caller).await?;
        Ok(caller)
    }

    async fn charge_caller(&self, caller: &Caller) -> Result<()> {
        let Some(budget) = &self.caller_budget else { return Ok(()) };
        match budget.try_acquire(&format!("{}/{}", caller.partner(), caller.subject())).await {
            Ok(()) => Ok(()),
            Err(wait) => {
                metrics::counter!("gateway_rate_limited_total", "scope" => "caller").increment(1);
                Err(Error::new(ErrorKind::RateLimited, "this caller sent too many requests; retry later")
                    .with_reason(Reason::CallerRateLimited)
                    .with_retry_after(wait))
            }
        }
    }
}

impl Inbound {
    /// Records how the request ended: `status` is the transport's own status label (`200`,
    /// `InvalidArgument`); a failure is counted by kind and logged once (errors at 5xx, the
    /// caller's mistakes at debug).
    pub fn finish(&self, status: &'static str, error: Option<&Error>) {
        let (count, duration) = request_metrics(self.transport, self.operation, status);
        count.increment(1);
        duration.record(self.started.elapsed().as_secs_f64());
        if let Some(error) = error {
            self.record_failure(error);
        }
    }

    /// Counts and logs a failure that ends a request after its status was sent (a stream).
    pub fn record_failure(&self, error: &Error) {
        metrics::counter!(
            "gateway_request_errors_total",
            "transport" => self.transport.as_str(),
            "operation" => self.operation,
            "kind" => error.kind().spec().slug
        )
        .increment(1);
        let _entered = self.span.enter();
        let (transport, operation, ctx) = (self.transport.as_str(), self.operation, &self.ctx);
        if error.kind().spec().http_status >= 500 {
            tracing::error!(transport, operation, request_id = %ctx.request_id, correlation_id = %ctx.correlation_id, reason = %error.reason(), error = %error.chain(), "request failed");
        } else {
            tracing::debug!(transport, operation, request_id = %ctx.request_id, reason = %error.reason(), error = %error.chain(), "request rejected");
        }
    }
}

/// The request counter and duration histogram of an operation and status, looked up once.
fn request_metrics(transport: Transport, operation: &'static str, status: &'static str) -> CountAndDuration {
    static HANDLES: std::sync::LazyLock<HandleCache<(Transport, &'static str, &'static str), CountAndDuration>> =
        std::sync::LazyLock::new(HandleCache::new);
    HANDLES.get((transport, operation, status), |&(transport, operation, status)| {
        (
            metrics::counter!("gateway_requests_total", "transport" => transport.as_str(), "operation" => operation, "status" => status),
            metrics::histogram!("gateway_request_duration_seconds", "transport" => transport.as_str(), "operation" => operation),
        )
    })
}

/// The HTTP methods that name themselves in metrics; any other is `other`, so a caller cannot
/// mint label values.
pub fn method_label(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::PATCH => "PATCH",
        http::Method::DELETE => "DELETE",
        http::Method::HEAD => "HEAD",
        http::Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// `GET /v1/customers/{customerId}`: a REST operation label, from a known method and the matched
/// route template (or `unmatched`). Both come from closed sets, so interning stays bounded.
pub fn rest_operation(method: &http::Method, route: Option<&str>) -> &'static str {
    static LABELS: std::sync::LazyLock<HandleCache<(&'static str, &'static str), &'static str>> =
        std::sync::LazyLock::new(HandleCache::new);
    let route = route.map_or("unmatched", telemetry::intern);
    LABELS.get((method_label(method), route), |(method, route)| telemetry::intern(&format!("{method} {route}")))
}

/// The `status` label of an HTTP status, e.g. `200`.
pub fn http_status_label(status: u16) -> &'static str {
    static LABELS: std::sync::LazyLock<HandleCache<u16, &'static str>> = std::sync::LazyLock::new(HandleCache::new);
    LABELS.get(status, |status| telemetry::intern(&status.to_string()))
}

/// The `status` label of a gRPC code, e.g. `InvalidArgument`.
pub fn grpc_code_label(code: tonic::Code) -> &'static str {
    static LABELS: std::sync::LazyLock<HandleCache<tonic::Code, &'static str>> =
        std::sync::LazyLock::new(HandleCache::new);
    LABELS.get(code, |code| telemetry::intern(&format!("{code:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junk_methods_share_one_label() {
        let junk = http::Method::from_bytes(b"MJGPYO").expect("a token");
        assert_eq!(rest_operation(&junk, Some("/livez")), "other /livez");
        assert_eq!(rest_operation(&http::Method::GET, None), "GET unmatched");
        assert_eq!(rest_operation(&http::Method::GET, Some("/v1/customers")), "GET /v1/customers");
    }

    #[test]
    fn the_context_takes_only_safe_header_values() {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-request-id", http::HeaderValue::from_static("req-1"));
        headers.insert("x-locale", http::HeaderValue::from_static("de-DE\tx"));
        let ctx = request_context(&headers, Some(Duration::from_secs(5)));
        assert_eq!(ctx.request_id, "req-1");
        assert_eq!(ctx.locale, None);
        assert!(ctx.remaining().is_some_and(|r| r <= Duration::from_secs(5)));
    }
}
