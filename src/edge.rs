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
    model::{agreement::AgreementFields, billing::LineItemFields, commerce::CartFields, page::PageFields},
    telemetry::{self, CountAndDuration, HandleCache},
};

/// What every REST handler and gRPC service shares. Cloned for every request (axum's `State`,
/// each middleware), so it is one pointer: a clone is one reference count, not one per field.
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

impl AppState {
    pub fn new(inner: AppStateInner) -> Self {
        Self(Arc::new(inner))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppStateInner;

    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

/// The fields of [`AppState`].
pub struct AppStateInner {
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
    /// Caps each caller's requests and streams in flight.
    pub caller_slots: Arc<CallerSlots>,
    /// How long a streamed answer may go without progress, and last at most.
    pub streams: StreamLimits,
    /// Whether the store replicas share (Redis) answers; `None` without one.
    pub shared_state: Option<Arc<crate::shared_state::SharedStateHealth>>,
    /// `/metrics` has its own listener (`metrics.listen`), so the REST listener does not serve it.
    pub metrics_elsewhere: bool,
}

/// Put in every request's extensions: lets the request end its whole connection.
#[derive(Clone, Default)]
pub struct ConnectionControl {
    abort: tokio_util::sync::CancellationToken,
}

impl ConnectionControl {
    /// Drops the connection and everything on it (its other requests included: they are the
    /// same client's).
    pub fn abort(&self) {
        self.abort.cancel();
    }

    pub fn new() -> Self {
        Self::default()
    }

    /// Resolves once the connection is to be dropped.
    pub async fn aborted(&self) {
        self.abort.cancelled().await;
    }
}

/// Bounds of a streamed answer.
#[derive(Debug, Clone, Copy)]
pub struct StreamLimits {
    pub idle_timeout: Duration,
    pub max_duration: Duration,
}

/// Each caller's share of the requests in flight: a caller at its cap is refused (429) rather
/// than queued, so a slow or stalled caller holds at most its own share.
pub struct CallerSlots {
    per_caller: usize,
    slots: parking_lot::Mutex<std::collections::HashMap<Arc<str>, Arc<tokio::sync::Semaphore>>>,
}

/// One of a caller's slots, held for the life of its request or stream.
pub struct CallerSlot {
    _permit: tokio::sync::OwnedSemaphorePermit,
}

/// Callers tracked before the idle ones are forgotten.
const MAX_TRACKED_CALLERS: usize = 10_000;

impl CallerSlots {
    pub fn new(per_caller: usize) -> Self {
        Self { per_caller: per_caller.max(1), slots: Default::default() }
    }

    pub fn acquire(&self, caller: &Caller) -> Result<CallerSlot> {
        let key = format!("{}/{}", caller.partner(), caller.subject());
        let semaphore = {
            let mut slots = self.slots.lock();
            if slots.len() > MAX_TRACKED_CALLERS {
                let all = self.per_caller;
                slots.retain(|_, s| s.available_permits() < all);
            }
            match slots.get(key.as_str()) {
                Some(semaphore) => semaphore.clone(),
                None => slots
                    .entry(Arc::from(key))
                    .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(self.per_caller)))
                    .clone(),
            }
        };
        match semaphore.try_acquire_owned() {
            Ok(permit) => Ok(CallerSlot { _permit: permit }),
            Err(_) => {
                metrics::counter!("gateway_rate_limited_total", "scope" => "caller_concurrency").increment(1);
                Err(Error::new(
                    ErrorKind::RateLimited,
                    format!(
                        "this caller already has {} requests or streams in flight; retry when one ends",
                        self.per_caller
                    ),
                )
                .with_reason(Reason::CallerConcurrencyLimited)
                .with_retry_after(Duration::from_secs(1)))
            }
        }
    }
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

/// How a transport spells the request fields the model's parsers name in errors.
pub struct FieldNames {
    pub page: PageFields,
    pub cart: CartFields,
    pub agreement: AgreementFields,
    pub line_items: LineItemFields,
    pub idempotency_key: &'static str,
}

/// REST's names (camelCase JSON, query parameters and the `Idempotency-Key` header).
pub const REST_FIELDS: FieldNames = field_names(Transport::Rest);
/// gRPC's names (the proto's snake_case fields).
pub const GRPC_FIELDS: FieldNames = field_names(Transport::Grpc);

/// Every field's name on both transports, side by side, so neither edge rewrites the other's.
const fn field_names(transport: Transport) -> FieldNames {
    let rest = matches!(transport, Transport::Rest);
    const fn pick(rest: bool, rest_name: &'static str, grpc_name: &'static str) -> &'static str {
        if rest { rest_name } else { grpc_name }
    }
    FieldNames {
        page: PageFields { size: pick(rest, "pageSize", "page_size"), token: pick(rest, "pageToken", "page_token") },
        cart: CartFields {
            line_items: pick(rest, "lineItems", "line_items"),
            catalog_item_id: pick(rest, "catalogItemId", "catalog_item_id"),
            quantity: "quantity",
            billing_cycle: pick(rest, "billingCycle", "billing_cycle"),
            term_duration: pick(rest, "termDuration", "term_duration"),
            friendly_name: pick(rest, "friendlyName", "friendly_name"),
            provisioning_context: pick(rest, "provisioningContext", "provisioning_context"),
        },
        agreement: AgreementFields {
            primary_contact: pick(rest, "primaryContact", "primary_contact"),
            first_name: pick(rest, "firstName", "first_name"),
            last_name: pick(rest, "lastName", "last_name"),
            email: "email",
            phone_number: pick(rest, "phoneNumber", "phone_number"),
            template_id: pick(rest, "templateId", "template_id"),
            date_agreed: pick(rest, "dateAgreed", "date_agreed"),
        },
        line_items: LineItemFields {
            provider: "provider",
            line_item_type: "type",
            currency_code: pick(rest, "currencyCode", "currency_code"),
            period: "period",
        },
        idempotency_key: pick(rest, "Idempotency-Key", "idempotency_key"),
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

    /// The verified caller of a request, charged one request of its budget and holding one of
    /// its slots (kept until the request or its stream ends).
    pub async fn admit_caller(&self, headers: &impl InboundHeaders) -> Result<(Caller, CallerSlot)> {
        let caller = self.authenticate(headers).await?;
        let slot = self.caller_slots.acquire(&caller)?;
        Ok((caller, slot))
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

/// Watches one streamed answer: when its reader takes nothing for `idle_timeout`, or it runs
/// past `max_duration`, its connection is dropped, which ends the stream and frees every slot it
/// held. (A reader that stops reading stops being polled, so only a timer can notice.)
pub struct StreamProgress {
    last: Arc<parking_lot::Mutex<Instant>>,
}

impl StreamProgress {
    pub fn watch(limits: StreamLimits, connection: Option<ConnectionControl>, transport: Transport) -> Self {
        let last = Arc::new(parking_lot::Mutex::new(Instant::now()));
        let watched = Arc::downgrade(&last);
        let started = Instant::now();
        tokio::spawn(async move {
            loop {
                let Some(last) = watched.upgrade() else { return };
                let idle_until = *last.lock() + limits.idle_timeout;
                drop(last);
                let until = idle_until.min(started + limits.max_duration);
                tokio::time::sleep_until(until.into()).await;
                let Some(last) = watched.upgrade() else { return };
                let now = Instant::now();
                let stalled = now >= *last.lock() + limits.idle_timeout;
                if stalled || now >= started + limits.max_duration {
                    let why = if stalled { "stalled" } else { "too_long" };
                    metrics::counter!("gateway_streams_ended_total", "transport" => transport.as_str(), "why" => why)
                        .increment(1);
                    // The reader's doing (a 4xx-like outcome): debug, as caller mistakes are; the
                    // metric above counts them.
                    tracing::debug!(transport = transport.as_str(), why, "ending a streamed answer and its connection");
                    if let Some(connection) = &connection {
                        connection.abort();
                    }
                    return;
                }
            }
        });
        Self { last }
    }

    /// The reader took something.
    pub fn tick(&self) {
        *self.last.lock() = Instant::now();
    }
}

/// A response body that keeps `held` (slots, admission, request accounting) until it is done or
/// dropped, and tells `progress` each time its reader takes a frame.
pub struct HoldWhileStreaming<G> {
    inner: axum::body::Body,
    progress: Option<StreamProgress>,
    _held: G,
}

impl<G> HoldWhileStreaming<G> {
    pub fn new(inner: axum::body::Body, held: G) -> Self {
        Self { inner, progress: None, _held: held }
    }

    pub fn watched(inner: axum::body::Body, held: G, progress: StreamProgress) -> Self {
        Self { inner, progress: Some(progress), _held: held }
    }
}

impl<G: Send + Unpin + 'static> http_body::Body for HoldWhileStreaming<G> {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<std::result::Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        if let (std::task::Poll::Ready(Some(Ok(_))), Some(progress)) = (&polled, &self.progress) {
            progress.tick();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
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
pub fn rest_operation(method: &http::Method, route: Option<&'static str>) -> &'static str {
    static LABELS: std::sync::LazyLock<HandleCache<(&'static str, &'static str), &'static str>> =
        std::sync::LazyLock::new(HandleCache::new);
    let route = route.unwrap_or("unmatched");
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
