//! The one HTTP client towards Partner Center: headers, tokens, retries, deadlines, metrics.
//!
//! Every call sends `Authorization`, `Accept`, `MS-CorrelationId` (the inbound request's),
//! `MS-RequestId` (one per logical call, identical across its retries, which is what makes a
//! retried checkout safe), `MS-Contract-Version: v1` and `X-Locale` when the caller gave one.
//! Connect errors, timeouts, 429 and 502/503/504 are retried with exponential backoff and full
//! jitter, honouring `Retry-After`, never past the caller's deadline. An upstream 401 drops the
//! token and retries once with a fresh one.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use rand::Rng;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use url::Url;
use uuid::Uuid;

pub use super::call::{UpstreamRequest, UpstreamResponse};
use super::{
    circuit::CircuitBreakers,
    error::{caller_deadline, classify, is_retryable_status, retry_after},
    retry_budget::{RetryBudget, RetryBudgetPolicy},
    shared_reads::{ReadOutcome, SharedReads},
    token::TokenCache,
    transport::{TransportError, UpstreamHttp},
};
use crate::{
    context::RequestContext,
    error::{Error, ErrorKind, Reason, Result},
    limits::RateBudget,
    telemetry::{self, CountAndDuration, HandleCache},
};

pub const MS_REQUEST_ID: HeaderName = HeaderName::from_static("ms-requestid");
pub const MS_CORRELATION_ID: HeaderName = HeaderName::from_static("ms-correlationid");
pub const MS_CONTRACT_VERSION: HeaderName = HeaderName::from_static("ms-contract-version");
pub const MS_CONTINUATION_TOKEN: HeaderName = HeaderName::from_static("ms-continuationtoken");
pub const X_LOCALE: HeaderName = HeaderName::from_static("x-locale");
/// W3C trace context, continued from the caller (or started here) into Partner Center.
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// Largest upstream JSON body read into memory (big lists page well below this).
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// Below this much time left there is no point starting another attempt.
const MIN_ATTEMPT_BUDGET: Duration = Duration::from_millis(50);

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// Full jitter: uniform in [0, min(max, base·2^(attempt-1))].
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.base_delay.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let cap = exp.min(self.max_delay);
        cap.mul_f64(rand::rng().random_range(0.0..=1.0))
    }
}

pub struct PartnerCenterClient {
    upstream: Upstream,
    /// Identical reads in flight share one call; opted-in reads are cached for a while.
    reads: Arc<SharedReads>,
}

/// What sends calls upstream; cheap to clone, so a shared read can run in its own task.
#[derive(Clone)]
struct Upstream {
    http: UpstreamHttp,
    /// The API root every call's path is appended to (`base_url` up to its last `/`).
    root: Arc<str>,
    tokens: Arc<TokenCache>,
    retry: RetryPolicy,
    attempt_timeout: Duration,
    breakers: Arc<CircuitBreakers>,
    /// Keeps each partner tenant under Partner Center's per-resource request limits.
    budget: Option<Arc<dyn RateBudget>>,
    /// Each caller's share of that budget, so no caller spends it all while others wait.
    caller_share: Option<Arc<CallerShare>>,
    /// Retries may add only so much to a partner's first attempts.
    retry_budget: Arc<RetryBudget>,
}

/// One caller's share of a partner's budget: its own bucket, and the tokens of the partner's
/// bucket it may not borrow beyond that share (kept for the other callers).
pub struct CallerShare {
    pub budget: Arc<dyn RateBudget>,
    pub reserve: f64,
}

/// Partner Center throttles per tenant and resource (500 requests/minute documented for orders,
/// subscriptions and customers); the gateway budgets every call, each page of a list included,
/// by resource.
fn budgeted_resource(operation: &str) -> &'static str {
    match operation.split('.').next().unwrap_or_default() {
        "customers" => "customers",
        "orders" | "carts" => "orders",
        "subscriptions" => "subscriptions",
        "upgrades" => "product_upgrades",
        "catalog" => "catalog",
        "agreements" => "agreements",
        "usage" => "usage",
        "invoices" => "invoices",
        _ => "other",
    }
}

/// A successful answer: read whole, or with its body still streaming.
enum Received {
    Full(UpstreamResponse),
    Streaming(http::Response<Incoming>),
}

/// How to make one attempt.
struct AttemptSpec<'a> {
    uri: &'a Uri,
    /// `MS-RequestId` and `MS-CorrelationId`, the same on every attempt.
    ids: (Uuid, Uuid),
    bearer: &'a http::HeaderValue,
    timeout: Duration,
    /// Hand a 2xx answer back before reading its body.
    stream: bool,
}

/// What one attempt produced, before deciding whether to retry.
enum Attempt {
    Done(Received),
    Rejected(UpstreamResponse),
    Transport { error: Error, retryable: bool },
}

impl PartnerCenterClient {
    pub fn new(
        http: UpstreamHttp,
        base_url: &Url,
        tokens: Arc<TokenCache>,
        retry: RetryPolicy,
        attempt_timeout: Duration,
    ) -> Self {
        // `join` semantics, worked out once: a base without a trailing `/` loses its last segment.
        let root = base_url.join(".").map_or_else(|_| base_url.to_string(), |root| root.to_string());
        Self {
            upstream: Upstream {
                http,
                root: Arc::from(root),
                tokens,
                retry,
                attempt_timeout,
                breakers: Arc::new(CircuitBreakers::new(u32::MAX, Duration::ZERO)),
                budget: None,
                caller_share: None,
                retry_budget: Arc::new(RetryBudget::new(RetryBudgetPolicy::UNLIMITED)),
            },
            reads: Arc::new(SharedReads::new(Default::default())),
        }
    }

    /// Opens a partner's circuit after `failure_threshold` consecutive failed calls, for `open_for`.
    pub fn with_circuit_breaker(mut self, failure_threshold: u32, open_for: Duration) -> Self {
        self.upstream.breakers = Arc::new(CircuitBreakers::new(failure_threshold, open_for));
        self
    }

    /// Budgets every resource per partner tenant, and (`caller_share`) per caller within it.
    pub fn with_budget(mut self, budget: Arc<dyn RateBudget>, caller_share: Option<CallerShare>) -> Self {
        self.upstream.budget = Some(budget);
        self.upstream.caller_share = caller_share.map(Arc::new);
        self
    }

    /// Limits retries per partner to a fraction of its first attempts.
    pub fn with_retry_budget(mut self, policy: RetryBudgetPolicy) -> Self {
        self.upstream.retry_budget = Arc::new(RetryBudget::new(policy));
        self
    }

    /// Shares identical reads in flight and caches the opted-in ones (see [`SharedReads`]).
    pub fn with_shared_reads(mut self, reads: SharedReads) -> Self {
        self.reads = Arc::new(reads);
        self
    }

    pub fn tokens(&self) -> &Arc<TokenCache> {
        &self.upstream.tokens
    }

    /// Sends `request` for `partner` and returns the 2xx answer, or the classified failure.
    /// Reads may be answered by an identical call already in flight, or from the response
    /// cache; writes make later reads of their customer go upstream again.
    pub async fn execute(
        &self,
        ctx: &RequestContext,
        partner: &str,
        request: &UpstreamRequest,
    ) -> Result<UpstreamResponse> {
        if !SharedReads::is_shareable(request) {
            ctx.freshness.record_uncacheable();
            let result = self.upstream.send_buffered(ctx, partner, request).await;
            if request.method != Method::GET {
                self.reads.invalidate(partner, &request.path);
            }
            return result;
        }
        if !self.reads.shares(request.operation) {
            // Neither coalesced nor cached: the pass-through hop, sent from the caller's own task.
            ctx.freshness.record_uncacheable();
            read_counter(request.operation, ReadOutcome::Sent).increment(1);
            return self.upstream.send_buffered(ctx, partner, request).await;
        }
        let start_call = || -> futures::future::BoxFuture<'static, Result<UpstreamResponse>> {
            let (upstream, ctx, partner, request) =
                (self.upstream.clone(), ctx.clone(), partner.to_owned(), request.clone());
            Box::pin(async move { upstream.send_buffered(&ctx, &partner, &request).await })
        };
        let (outcome, result) = self.reads.read(ctx, partner, request, start_call).await;
        read_counter(request.operation, outcome).increment(1);
        if outcome == ReadOutcome::Coalesced {
            // A caller request served by an upstream call: the retry budget is a fraction of
            // those, so a shared call that serves hundreds of callers may still be retried.
            self.upstream.retry_budget.record_first_attempt(partner);
        }
        match result {
            // The call this read joined ran out of its first caller's time, not of this one's.
            Err(error)
                if outcome == ReadOutcome::Coalesced
                    && error.reason() == Reason::DeadlineExceeded
                    && ctx.remaining().is_none_or(|left| left >= MIN_ATTEMPT_BUDGET) =>
            {
                read_counter(request.operation, ReadOutcome::Sent).increment(1);
                self.upstream.send_buffered(ctx, partner, request).await
            }
            result => result,
        }
    }

    /// Like [`Self::execute`], but hands back the 2xx answer before its body is read (documents such
    /// as PDFs are streamed through, never held whole). Retries happen only before the body.
    pub async fn execute_streaming(
        &self,
        ctx: &RequestContext,
        partner: &str,
        request: &UpstreamRequest,
    ) -> Result<http::Response<Incoming>> {
        ctx.freshness.record_uncacheable();
        let result = self.upstream.send(ctx, partner, request, true).await;
        if request.method != Method::GET {
            self.reads.invalidate(partner, &request.path);
        }
        match result? {
            Received::Streaming(response) => Ok(response),
            Received::Full(_) => Err(Error::internal("a streamed call answered buffered")),
        }
    }

    /// `execute` and parse the JSON body.
    pub async fn json<T: DeserializeOwned>(
        &self,
        ctx: &RequestContext,
        partner: &str,
        request: &UpstreamRequest,
    ) -> Result<T> {
        self.execute(ctx, partner, request).await?.json(request.operation)
    }
}

impl Upstream {
    async fn send_buffered(
        &self,
        ctx: &RequestContext,
        partner: &str,
        request: &UpstreamRequest,
    ) -> Result<UpstreamResponse> {
        match self.send(ctx, partner, request, false).await? {
            Received::Full(response) => Ok(response),
            Received::Streaming(_) => Err(Error::internal("a buffered call answered with a stream")),
        }
    }

    async fn send(
        &self,
        ctx: &RequestContext,
        partner: &str,
        request: &UpstreamRequest,
        stream: bool,
    ) -> Result<Received> {
        let call = self.breakers.admit(partner)?;
        let outcome = self.send_with_retries(ctx, partner, request, stream).await;
        call.finish(outcome.as_ref().err().is_some_and(Error::is_upstream_outage));
        outcome
    }

    async fn send_with_retries(
        &self,
        ctx: &RequestContext,
        partner: &str,
        request: &UpstreamRequest,
        stream: bool,
    ) -> Result<Received> {
        let request_id = request.request_id.unwrap_or_else(Uuid::new_v4);
        let uri = self.uri(request)?;
        let ids = (request_id, ctx.correlation_id);
        let mut attempt = 0;
        let mut renewed_token = false;
        loop {
            attempt += 1;
            let remaining = ctx.remaining();
            if remaining.is_some_and(|r| r < MIN_ATTEMPT_BUDGET) {
                return Err(caller_deadline());
            }
            self.spend_budget(partner, request.operation, ctx.caller.as_deref()).await?;
            if attempt == 1 {
                self.retry_budget.record_first_attempt(partner);
            }
            let token = self.tokens.get(partner, request.flow).await?;
            let timeout = remaining.map_or(self.attempt_timeout, |r| r.min(self.attempt_timeout));
            // The caller's deadline, not Partner Center's slowness, limits this attempt.
            let caller_bound = timeout < self.attempt_timeout;
            let started = Instant::now();
            let bearer = token.bearer();
            let spec = AttemptSpec { uri: &uri, ids, bearer: &bearer, timeout, stream };
            let outcome = self.attempt(ctx, request, spec).await;
            // 0: no answer.
            let status = match &outcome {
                Attempt::Done(Received::Full(r)) | Attempt::Rejected(r) => r.status.as_u16(),
                Attempt::Done(Received::Streaming(r)) => r.status().as_u16(),
                Attempt::Transport { .. } => 0,
            };
            let (count, duration) = upstream_metrics(request.operation, partner, status);
            count.increment(1);
            duration.record(started.elapsed().as_secs_f64());
            tracing::debug!(operation = request.operation, method = %request.method, path = %request.path, status, attempt, elapsed_ms = started.elapsed().as_millis() as u64, ms_request_id = %request_id, request_id = %ctx.request_id, "partner center call");

            let (error, retryable, wait_at_least) = match outcome {
                Attempt::Done(response) => return Ok(response),
                Attempt::Rejected(response) if response.status == StatusCode::UNAUTHORIZED && !renewed_token => {
                    // Our token was refused: drop it and try once more with a fresh one.
                    self.tokens.invalidate(partner, request.flow, &token);
                    renewed_token = true;
                    attempt -= 1;
                    continue;
                }
                Attempt::Rejected(response) => {
                    if response.status == StatusCode::TOO_MANY_REQUESTS {
                        metrics::counter!("gateway_upstream_throttled_total", "partner" => partner.to_owned())
                            .increment(1);
                    }
                    let error = classify(response.status, &response.headers, &response.body);
                    if response.status == StatusCode::UNAUTHORIZED {
                        tracing::error!(
                            operation = request.operation,
                            partner,
                            "partner center rejected a freshly issued token: check the partner's app registration and consent"
                        );
                    }
                    (error, is_retryable_status(response.status), retry_after(&response.headers))
                }
                Attempt::Transport { error, .. } if caller_bound && error.kind() == ErrorKind::UpstreamTimeout => {
                    return Err(caller_deadline());
                }
                Attempt::Transport { error, retryable } => (error, retryable, None),
            };
            if !retryable || attempt >= self.retry.max_attempts {
                return Err(error);
            }
            let delay = match wait_at_least {
                // Retry-After beyond our patience: let the caller decide, with the hint attached.
                Some(after) if after > self.retry.max_delay => return Err(error),
                Some(after) => after + self.retry.backoff(1).min(Duration::from_millis(250)),
                None => self.retry.backoff(attempt),
            };
            if ctx.remaining().is_some_and(|r| r < delay + MIN_ATTEMPT_BUDGET) {
                return Err(error);
            }
            if !self.retry_budget.try_retry(partner) {
                // Partner Center is failing for many calls at once: more attempts would only
                // add load (and spend the partner's budget); the caller gets its error now.
                metrics::counter!("gateway_upstream_retries_refused_total", "partner" => partner.to_owned())
                    .increment(1);
                return Err(error);
            }
            metrics::counter!("gateway_upstream_retries_total", "operation" => request.operation, "partner" => partner.to_owned()).increment(1);
            tokio::time::sleep(delay).await;
        }
    }

    /// Charges one upstream call to the partner's budget for its resource. A caller within its
    /// share spends freely; beyond it, only budget above the others' reserve, so one caller
    /// alone still gets the whole budget over time but never what another caller needs now.
    async fn spend_budget(&self, partner: &str, operation: &str, caller: Option<&str>) -> Result<()> {
        let Some(budget) = &self.budget else { return Ok(()) };
        let resource = budgeted_resource(operation);
        let partner_key = format!("{partner}/{resource}");
        if let (Some(share), Some(caller)) = (&self.caller_share, caller)
            && let Err(wait) = share.budget.try_acquire(&format!("{partner_key}/{caller}")).await
        {
            if budget.try_acquire_leaving(&partner_key, share.reserve).await.is_ok() {
                return Ok(());
            }
            metrics::counter!("gateway_rate_limited_total", "scope" => "caller_share").increment(1);
            return Err(Error::new(
                ErrorKind::RateLimited,
                format!(
                    "this caller has used its share of the partner's Partner Center budget for {resource}; retry later"
                ),
            )
            .with_reason(Reason::PartnerBudgetShareExhausted)
            .with_retry_after(wait));
        }
        match budget.try_acquire(&partner_key).await {
            Ok(()) => Ok(()),
            Err(wait) => {
                metrics::counter!("gateway_rate_limited_total", "scope" => "partner").increment(1);
                Err(Error::new(
                    ErrorKind::RateLimited,
                    format!("the gateway keeps this partner tenant under Partner Center's request limit for {resource}; retry later"),
                )
                .with_reason(Reason::PartnerBudgetExhausted)
                .with_retry_after(wait))
            }
        }
    }

    /// The call's absolute URI: the API root, the path (ids in it already validated) and the
    /// query, form-encoded. Appended to a root ending in `/`, nothing can lead it to another origin.
    fn uri(&self, request: &UpstreamRequest) -> Result<Uri> {
        let path = request.path.trim_start_matches('/');
        if path.contains(['?', '#']) {
            return Err(Error::internal(format!("{}: the path carries a query or fragment", request.operation)));
        }
        let mut target = String::with_capacity(self.root.len() + path.len() + 64);
        target.push_str(&self.root);
        target.push_str(path);
        if !request.query.is_empty() {
            target.push('?');
            let query_start = target.len();
            url::form_urlencoded::Serializer::for_suffix(&mut target, query_start)
                .extend_pairs(request.query.iter().map(|(k, v)| (k.as_ref(), v.as_str())));
        }
        Uri::try_from(target).map_err(|e| Error::internal(format!("upstream url for {}: {e}", request.operation)))
    }

    async fn attempt(&self, ctx: &RequestContext, request: &UpstreamRequest, spec: AttemptSpec<'_>) -> Attempt {
        let AttemptSpec { uri, ids, bearer, timeout, stream } = spec;
        let body = request.body.clone().unwrap_or_default();
        let mut outbound = http::Request::new(Full::new(body));
        *outbound.method_mut() = request.method.clone();
        *outbound.uri_mut() = uri.clone();
        let headers = outbound.headers_mut();
        headers.reserve(request.headers.len() + 8);
        for (name, value) in &request.headers {
            headers.append(name.clone(), value.clone());
        }
        headers.insert(http::header::AUTHORIZATION, bearer.clone());
        headers.insert(MS_REQUEST_ID, uuid_header(ids.0));
        headers.insert(MS_CORRELATION_ID, uuid_header(ids.1));
        headers.insert(TRACEPARENT, ctx.trace.child_header(rand::random()));
        headers.insert(MS_CONTRACT_VERSION, HeaderValue::from_static("v1"));
        if let Some(locale) = ctx.locale.as_deref().and_then(|l| HeaderValue::from_str(l).ok()) {
            headers.insert(X_LOCALE, locale);
        }
        // One Accept per request: the operation's own, else JSON.
        if !request.headers.contains_key(http::header::ACCEPT) {
            headers.insert(http::header::ACCEPT, HeaderValue::from_static("application/json"));
        }
        if request.body.is_none() && request.method == Method::POST {
            headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        }
        let exchange = async {
            let response = match self.http.send(outbound).await {
                Ok(response) => response,
                Err(error) => return transport_error(request.operation, error),
            };
            let status = response.status();
            if stream && status.is_success() {
                return Attempt::Done(Received::Streaming(response));
            }
            let (parts, body) = response.into_parts();
            if super::transport::declared_length(&parts.headers).is_some_and(|len| len > MAX_BODY_BYTES as u64) {
                return too_large(request.operation);
            }
            let body = match read_body(body).await {
                Ok(body) => body,
                Err(BodyError::TooLarge) => return too_large(request.operation),
                Err(BodyError::Broken(text)) => {
                    return transport_error(request.operation, TransportError { connect: false, text });
                }
            };
            let response = UpstreamResponse { status, headers: parts.headers, body };
            if status.is_success() { Attempt::Done(Received::Full(response)) } else { Attempt::Rejected(response) }
        };
        // A streamed body may outlive the attempt timeout (only its headers are awaited here);
        // the caller's deadline still bounds it.
        match tokio::time::timeout(timeout, exchange).await {
            Ok(attempt) => attempt,
            Err(_) => Attempt::Transport {
                error: Error::new(ErrorKind::UpstreamTimeout, "Partner Center did not answer in time"),
                retryable: true,
            },
        }
    }
}

/// A UUID as a header value, written without an intermediate `String`.
fn uuid_header(id: Uuid) -> HeaderValue {
    let mut buffer = Uuid::encode_buffer();
    let text = id.hyphenated().encode_lower(&mut buffer);
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

enum BodyError {
    TooLarge,
    Broken(String),
}

/// Reads a whole answer, refusing one larger than [`MAX_BODY_BYTES`] (with or without a declared
/// length).
async fn read_body(body: Incoming) -> std::result::Result<Bytes, BodyError> {
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(BodyError::TooLarge),
        Err(error) => Err(BodyError::Broken(crate::error::error_chain_text(error.as_ref()))),
    }
}

fn too_large(operation: &str) -> Attempt {
    Attempt::Transport {
        error: Error::new(ErrorKind::UpstreamUnavailable, "Partner Center's answer is too large")
            .with_source(operation.to_owned()),
        retryable: false,
    }
}

/// Upstream reads by how they were answered: sent, joined to one in flight, or from the cache.
fn read_counter(operation: &'static str, outcome: ReadOutcome) -> metrics::Counter {
    static HANDLES: std::sync::LazyLock<HandleCache<(&'static str, ReadOutcome), metrics::Counter>> =
        std::sync::LazyLock::new(HandleCache::new);
    HANDLES.get((operation, outcome), |&(operation, outcome)| {
        metrics::counter!("gateway_upstream_reads_total", "operation" => operation, "outcome" => outcome.label())
    })
}

/// The attempt counter (by HTTP status, or `transport_error` for 0) and duration histogram.
fn upstream_metrics(operation: &'static str, partner: &str, status: u16) -> CountAndDuration {
    static HANDLES: std::sync::LazyLock<HandleCache<(&'static str, &'static str, u16), CountAndDuration>> =
        std::sync::LazyLock::new(HandleCache::new);
    HANDLES.get((operation, telemetry::intern(partner), status), |&(operation, partner, status)| {
        let status = if status == 0 { "transport_error".to_owned() } else { status.to_string() };
        (
            metrics::counter!("gateway_upstream_requests_total", "operation" => operation, "partner" => partner, "status" => status),
            metrics::histogram!("gateway_upstream_request_duration_seconds", "operation" => operation, "partner" => partner),
        )
    })
}

/// No answer: the connection could not be made, broke, or the answer's body broke off. Each is
/// safe to retry: the attempt carries the logical call's `MS-RequestId`.
fn transport_error(operation: &str, error: TransportError) -> Attempt {
    let source = format!("{operation}: {}", error.text);
    let message = if error.connect {
        "the gateway could not reach Partner Center"
    } else {
        "the connection to Partner Center broke off"
    };
    Attempt::Transport {
        error: Error::new(ErrorKind::UpstreamUnavailable, message)
            .with_reason(Reason::UpstreamUnreachable)
            .with_source(source),
        retryable: true,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex as StdMutex;

    use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers};

    use super::*;

    /// Answers 503 twice, then 200, remembering every request.
    struct Flaky {
        seen: Arc<StdMutex<Vec<Request>>>,
    }

    impl Respond for Flaky {
        fn respond(&self, request: &Request) -> ResponseTemplate {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            seen.push(request.clone());
            if seen.len() < 3 { ResponseTemplate::new(503) } else { ResponseTemplate::new(200).set_body_string("{}") }
        }
    }

    async fn client(server: &MockServer) -> PartnerCenterClient {
        crate::partner_center::testing::client_for(server).await
    }

    #[tokio::test]
    async fn every_attempt_carries_the_documented_headers_and_one_request_id() {
        let server = MockServer::start().await;
        let seen = Arc::new(StdMutex::new(Vec::new()));
        Mock::given(matchers::method("GET"))
            .and(matchers::path("/v1/customers"))
            .respond_with(Flaky { seen: seen.clone() })
            .mount(&server)
            .await;
        let client = client(&server).await;
        let ctx = RequestContext::new(Some("req-42".to_owned()), Some("de-DE".to_owned()), None);
        let request = UpstreamRequest::get("customers.list", "/v1/customers").query("size", "10");
        client.execute(&ctx, "p", &request).await.expect("third attempt succeeds");

        let seen = seen.lock().unwrap_or_else(|e| e.into_inner());
        assert_eq!(seen.len(), 3);
        let header = |r: &Request, name: &str| r.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let request_ids: Vec<_> = seen.iter().map(|r| header(r, "ms-requestid")).collect();
        assert!(request_ids[0].is_some());
        assert!(request_ids.iter().all(|id| *id == request_ids[0]), "retries keep the MS-RequestId: {request_ids:?}");
        for r in seen.iter() {
            assert_eq!(header(r, "authorization").as_deref(), Some("Bearer access-1"));
            assert_eq!(header(r, "accept").as_deref(), Some("application/json"));
            assert_eq!(header(r, "ms-contract-version").as_deref(), Some("v1"));
            assert_eq!(header(r, "ms-correlationid"), Some(ctx.correlation_id.to_string()));
            assert_eq!(header(r, "x-locale").as_deref(), Some("de-DE"));
            assert_eq!(r.url.query(), Some("size=10"));
        }
    }

    #[tokio::test]
    async fn a_new_logical_call_gets_a_new_request_id() {
        let server = MockServer::start().await;
        Mock::given(matchers::method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
            .mount(&server)
            .await;
        let client = client(&server).await;
        let ctx = RequestContext::new(None, None, None);
        let request = UpstreamRequest::get("customers.list", "/v1/customers");
        client.execute(&ctx, "p", &request).await.expect("first");
        client.execute(&ctx, "p", &request).await.expect("second");
        let received = server.received_requests().await.unwrap_or_default();
        let ids: Vec<_> = received
            .iter()
            .filter(|r| r.url.path() == "/v1/customers")
            .filter_map(|r| r.headers.get("ms-requestid").and_then(|v| v.to_str().ok()).map(str::to_owned))
            .collect();
        assert_eq!(ids.len(), 2);
        assert_ne!(ids[0], ids[1]);
    }

    #[tokio::test]
    async fn a_request_sends_exactly_one_accept_header() {
        let server = MockServer::start().await;
        Mock::given(matchers::method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
            .mount(&server)
            .await;
        let client = client(&server).await;
        let ctx = RequestContext::new(None, None, None);
        let own = UpstreamRequest::get("documents.get", "/v1/document").header(http::header::ACCEPT, "application/pdf");
        client.execute(&ctx, "p", &own.expect("header")).await.expect("own accept");
        client.execute(&ctx, "p", &UpstreamRequest::get("customers.list", "/v1/customers")).await.expect("default");
        let received = server.received_requests().await.unwrap_or_default();
        let accepts: Vec<Vec<String>> = received
            .iter()
            .filter(|r| r.url.path().starts_with("/v1/"))
            .map(|r| r.headers.get_all("accept").iter().filter_map(|v| v.to_str().ok()).map(str::to_owned).collect())
            .collect();
        assert_eq!(accepts, [vec!["application/pdf".to_owned()], vec!["application/json".to_owned()]]);
    }
}
