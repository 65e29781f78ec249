//! Spending Partner Center's budget once per answer, not once per viewer: identical reads in
//! flight at the same time share one upstream call (coalescing), and the reads an operator opts
//! in (`partner_center.response_cache`) are kept for a short while.
//!
//! Two reads are identical when they would send the same upstream request: same partner tenant,
//! token flow, URL with its query, headers (`Accept`, continuation token) and `X-Locale`. The
//! caller's permissions were checked before the read reaches this module, so joining shares an
//! answer only between callers allowed to see it. Writes are never shared; a write through the
//! gateway moves its customer's (or, outside a customer, its partner's) epoch on, and the epoch
//! is part of every key: reads started after the write neither join an older call nor see an
//! older cached answer.

use std::{
    collections::{HashMap, hash_map::Entry},
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use futures::{
    FutureExt,
    future::{BoxFuture, Shared, WeakShared},
};
use parking_lot::Mutex;
use tokio::{task::JoinHandle, time::Instant};

use super::{
    call::{UpstreamRequest, UpstreamResponse},
    error::caller_deadline,
};
use crate::{
    context::RequestContext,
    error::{Error, Result},
};

/// The reads an operator may opt in to the response cache (every buffered upstream GET).
pub const CACHEABLE_OPERATIONS: &[&str] = &[
    "agreements.direct_sign_status",
    "agreements.list",
    "agreements.metadata",
    "customers.billing_profile",
    "customers.get",
    "customers.list",
    "invoices.estimate_links",
    "invoices.get",
    "invoices.line_items",
    "invoices.list",
    "invoices.summaries",
    "orders.get",
    "orders.list",
    "orders.provisioning_status",
    "subscriptions.azure_entitlements",
    "subscriptions.get",
    "subscriptions.list",
    "usage.budget.get",
    "usage.customer_summary",
    "usage.customers_records",
    "usage.meter_records",
    "usage.monthly_records",
    "usage.partner_summary",
    "usage.resource_records",
    "usage.subscription_records",
    "usage.subscription_summary",
];

#[derive(Debug, Clone)]
pub struct ResponseCachePolicy {
    /// How long each opted-in operation's answers are kept.
    pub ttl: HashMap<&'static str, Duration>,
    /// Bytes of answer bodies kept at most, over all partners.
    pub max_bytes: u64,
    /// Whether identical reads in flight share one call.
    pub coalesce: bool,
}

impl Default for ResponseCachePolicy {
    /// Coalescing on, nothing cached.
    fn default() -> Self {
        Self { ttl: HashMap::new(), max_bytes: 0, coalesce: true }
    }
}

/// How one caller's read was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReadOutcome {
    /// This caller's read went upstream (other callers may have joined it).
    Sent,
    /// It joined an identical read already in flight.
    Coalesced,
    /// The response cache answered it.
    Cached,
}

impl ReadOutcome {
    pub fn label(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Coalesced => "coalesced",
            Self::Cached => "cached",
        }
    }
}

type SharedAnswer = Shared<BoxFuture<'static, Result<Arc<UpstreamResponse>>>>;

struct InFlight {
    id: u64,
    call: WeakShared<BoxFuture<'static, Result<Arc<UpstreamResponse>>>>,
}

#[derive(Clone)]
struct CachedAnswer {
    response: Arc<UpstreamResponse>,
    stored: Instant,
    ttl: Duration,
}

struct CacheExpiry;

impl moka::Expiry<String, CachedAnswer> for CacheExpiry {
    fn expire_after_create(
        &self,
        _key: &String,
        value: &CachedAnswer,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// Where a write's effects are seen: one customer of a partner, or the partner as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Scope {
    partner: String,
    customer: Option<String>,
}

impl Scope {
    fn of(partner: &str, path: &str) -> Self {
        let mut segments = path.trim_start_matches('/').split('/');
        let customer = match (segments.next(), segments.next(), segments.next()) {
            (Some("v1"), Some("customers"), Some(id)) if !id.is_empty() => Some(id.to_ascii_lowercase()),
            _ => None,
        };
        Self { partner: partner.to_owned(), customer }
    }

    fn partner_wide(&self) -> Self {
        Self { partner: self.partner.clone(), customer: None }
    }
}

pub struct SharedReads {
    in_flight: Mutex<HashMap<String, InFlight>>,
    next_call: AtomicU64,
    /// Write counters; a read's key carries its partner's and its customer's.
    epochs: Mutex<HashMap<Scope, u64>>,
    cache: Option<moka::sync::Cache<String, CachedAnswer>>,
    ttl: HashMap<&'static str, Duration>,
    coalesce: bool,
}

impl SharedReads {
    pub fn new(policy: ResponseCachePolicy) -> Self {
        let cache = (!policy.ttl.is_empty() && policy.max_bytes > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(policy.max_bytes)
                .weigher(|key: &String, value: &CachedAnswer| {
                    u32::try_from(key.len() + value.response.body.len() + 256).unwrap_or(u32::MAX)
                })
                .expire_after(CacheExpiry)
                .build()
        });
        Self {
            in_flight: Mutex::new(HashMap::new()),
            next_call: AtomicU64::new(0),
            epochs: Mutex::new(HashMap::new()),
            cache,
            ttl: policy.ttl,
            coalesce: policy.coalesce,
        }
    }

    /// Whether `request` may share an answer with others: a buffered GET with no body that does not
    /// resume a logical call by its `MS-RequestId`.
    pub fn is_shareable(request: &UpstreamRequest) -> bool {
        request.method == http::Method::GET && request.body.is_none() && request.request_id.is_none()
    }

    /// Whether reads of `operation` are shared at all: joined while in flight, or cached. When
    /// neither, a read is sent like a write, without a task or a key of its own.
    pub fn shares(&self, operation: &str) -> bool {
        self.coalesce || (self.cache.is_some() && self.ttl.contains_key(operation))
    }

    /// A write for `partner` at `path` happened (or may have): later reads of its scope neither
    /// join earlier calls nor see earlier cached answers.
    pub fn invalidate(&self, partner: &str, path: &str) {
        let scope = Scope::of(partner, path);
        let mut epochs = self.epochs.lock();
        *epochs.entry(scope).or_default() += 1;
    }

    fn key(&self, ctx: &RequestContext, partner: &str, request: &UpstreamRequest) -> String {
        let scope = Scope::of(partner, &request.path);
        let (partner_epoch, customer_epoch) = {
            let epochs = self.epochs.lock();
            let customer = if scope.customer.is_some() { epochs.get(&scope).copied().unwrap_or(0) } else { 0 };
            (epochs.get(&scope.partner_wide()).copied().unwrap_or(0), customer)
        };
        let mut key = format!(
            "{partner}\n{:?}\n{partner_epoch}.{customer_epoch}\n{}\n{}",
            request.flow,
            ctx.locale.as_deref().unwrap_or(""),
            request.path
        );
        for (name, value) in &request.query {
            key.push_str(&format!("&{name}={value}"));
        }
        for (name, value) in &request.headers {
            key.push_str(&format!("\n{name}: {}", String::from_utf8_lossy(value.as_bytes())));
        }
        key
    }

    /// Answers a shareable read: from the cache, by joining an identical call in flight, or by
    /// starting one (`start` makes its upstream call) that others may join. The shared call runs in its own task, so a
    /// caller that goes away does not cancel it for the others; it is aborted only when every
    /// caller waiting for it has gone.
    pub async fn read(
        self: &Arc<Self>,
        ctx: &RequestContext,
        partner: &str,
        request: &UpstreamRequest,
        start: impl FnOnce() -> BoxFuture<'static, Result<UpstreamResponse>>,
    ) -> (ReadOutcome, Result<UpstreamResponse>) {
        let key = self.key(ctx, partner, request);
        let ttl = self.ttl.get(request.operation).copied();
        if let (Some(cache), Some(ttl)) = (&self.cache, ttl)
            && let Some(hit) = cache.get(&key)
        {
            let age = hit.stored.elapsed();
            if age < hit.ttl {
                ctx.freshness.record_cacheable(age, ttl);
                return (ReadOutcome::Cached, Ok(UpstreamResponse::clone(&hit.response)));
            }
        }
        let (outcome, answer) = self.join_or_start(&key, ttl, start);
        let result = match ctx.remaining() {
            Some(left) => match tokio::time::timeout(left, answer).await {
                Ok(result) => result,
                Err(_) => Err(caller_deadline()),
            },
            None => answer.await,
        };
        match (&result, ttl) {
            (Ok(_), Some(ttl)) => ctx.freshness.record_cacheable(Duration::ZERO, ttl),
            _ => ctx.freshness.record_uncacheable(),
        }
        (outcome, result.map(|response| UpstreamResponse::clone(&response)))
    }

    fn join_or_start(
        self: &Arc<Self>,
        key: &str,
        ttl: Option<Duration>,
        start: impl FnOnce() -> BoxFuture<'static, Result<UpstreamResponse>>,
    ) -> (ReadOutcome, SharedAnswer) {
        let mut in_flight = self.in_flight.lock();
        if self.coalesce
            && let Some(call) = in_flight.get(key).and_then(|entry| entry.call.upgrade())
        {
            return (ReadOutcome::Coalesced, call);
        }
        let id = self.next_call.fetch_add(1, Ordering::Relaxed);
        let reads = Arc::clone(self);
        let task_key = key.to_owned();
        let call = start();
        let task = tokio::spawn(async move {
            let result = call.await.map(Arc::new);
            reads.finish(&task_key, id, ttl, &result);
            result
        });
        let answer: SharedAnswer =
            AbortOnDrop { task, reads: Arc::downgrade(self), key: key.to_owned(), id }.boxed().shared();
        if self.coalesce
            && let Some(call) = answer.downgrade()
        {
            in_flight.insert(key.to_owned(), InFlight { id, call });
        }
        (ReadOutcome::Sent, answer)
    }

    /// The shared call `id` ended: no one joins it any more, and a success is cached when its
    /// operation is opted in and no write moved its scope on meanwhile.
    fn finish(&self, key: &str, id: u64, ttl: Option<Duration>, result: &Result<Arc<UpstreamResponse>>) {
        self.forget(key, id);
        if let (Some(cache), Some(ttl), Ok(response)) = (&self.cache, ttl, result)
            && response.status == http::StatusCode::OK
        {
            // The key holds the epochs the call started under; a write since then made it
            // unreachable, so storing it would only waste room.
            cache.insert(key.to_owned(), CachedAnswer { response: Arc::clone(response), stored: Instant::now(), ttl });
        }
    }

    /// Nobody joins call `id` any more (a newer call under the same key stays).
    fn forget(&self, key: &str, id: u64) {
        let mut in_flight = self.in_flight.lock();
        if let Entry::Occupied(entry) = in_flight.entry(key.to_owned())
            && entry.get().id == id
        {
            entry.remove();
        }
    }

    #[cfg(test)]
    fn calls_in_flight(&self) -> usize {
        self.in_flight.lock().len()
    }
}

/// The shared call's task: aborted, and forgotten, when the last caller waiting for it is gone.
struct AbortOnDrop {
    task: JoinHandle<Result<Arc<UpstreamResponse>>>,
    reads: std::sync::Weak<SharedReads>,
    key: String,
    id: u64,
}

impl Future for AbortOnDrop {
    type Output = Result<Arc<UpstreamResponse>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.task).poll(cx).map(|joined| {
            joined
                .unwrap_or_else(|e| Err(Error::internal(format!("shared upstream read ended without an answer: {e}"))))
        })
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(reads) = self.reads.upgrade() {
            reads.forget(&self.key, self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use bytes::Bytes;
    use http::{HeaderMap, StatusCode};

    use super::*;
    use crate::error::ErrorKind;

    fn answer(body: &'static str) -> UpstreamResponse {
        UpstreamResponse {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: Bytes::from_static(body.as_bytes()),
        }
    }

    type SendRead = Box<dyn FnOnce() -> BoxFuture<'static, Result<UpstreamResponse>> + Send>;

    /// A send that counts its calls and answers after `delay`.
    fn slow_send(calls: &Arc<AtomicUsize>, delay: Duration, result: Result<UpstreamResponse>) -> SendRead {
        let calls = Arc::clone(calls);
        Box::new(move || {
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                result
            }
            .boxed()
        })
    }

    fn reads(ttl: &[(&'static str, u64)]) -> Arc<SharedReads> {
        Arc::new(SharedReads::new(ResponseCachePolicy {
            ttl: ttl.iter().map(|&(op, s)| (op, Duration::from_secs(s))).collect(),
            max_bytes: 1 << 20,
            coalesce: true,
        }))
    }

    fn request(path: &str) -> UpstreamRequest {
        UpstreamRequest::get("subscriptions.list", path)
    }

    #[tokio::test]
    async fn identical_reads_share_one_call_and_different_ones_do_not() {
        let reads = reads(&[]);
        let calls = Arc::new(AtomicUsize::new(0));
        let ctx = RequestContext::new(None, None, None);
        let same = request("/v1/customers/c1/subscriptions");
        let futures: Vec<_> = (0..50)
            .map(|_| reads.read(&ctx, "p", &same, slow_send(&calls, Duration::from_millis(100), Ok(answer("{}")))))
            .collect();
        let other_locale = RequestContext::new(None, Some("de-DE".to_owned()), None);
        let other =
            reads.read(&other_locale, "p", &same, slow_send(&calls, Duration::from_millis(100), Ok(answer("{}"))));
        let other_partner =
            reads.read(&ctx, "q", &same, slow_send(&calls, Duration::from_millis(100), Ok(answer("{}"))));
        let (results, other, other_partner) = tokio::join!(futures::future::join_all(futures), other, other_partner);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(results.iter().filter(|(o, _)| *o == ReadOutcome::Sent).count(), 1);
        assert!(results.iter().all(|(_, r)| r.as_ref().is_ok_and(|r| r.body == "{}")));
        assert_eq!((other.0, other_partner.0), (ReadOutcome::Sent, ReadOutcome::Sent));
        assert_eq!(reads.calls_in_flight(), 0);
    }

    #[tokio::test]
    async fn errors_are_shared_and_the_next_read_goes_upstream_again() {
        let reads = reads(&[]);
        let calls = Arc::new(AtomicUsize::new(0));
        let ctx = RequestContext::new(None, None, None);
        let same = request("/v1/customers/c1/subscriptions");
        let failure = || Err(Error::new(ErrorKind::UpstreamUnavailable, "down"));
        let futures: Vec<_> = (0..10)
            .map(|_| reads.read(&ctx, "p", &same, slow_send(&calls, Duration::from_millis(50), failure())))
            .collect();
        let results = futures::future::join_all(futures).await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(results.iter().all(|(_, r)| r.as_ref().is_err_and(|e| e.kind() == ErrorKind::UpstreamUnavailable)));
        let (outcome, _) = reads.read(&ctx, "p", &same, slow_send(&calls, Duration::ZERO, Ok(answer("{}")))).await;
        assert_eq!((outcome, calls.load(Ordering::SeqCst)), (ReadOutcome::Sent, 2));
    }

    /// Spawns one caller's read of `path`, as a request task would run it.
    fn spawn_read(
        reads: &Arc<SharedReads>,
        calls: &Arc<AtomicUsize>,
        path: &str,
        body: &'static str,
    ) -> JoinHandle<(ReadOutcome, Result<UpstreamResponse>)> {
        let (reads, calls, same) = (Arc::clone(reads), Arc::clone(calls), request(path));
        tokio::spawn(async move {
            let ctx = RequestContext::new(None, None, None);
            reads.read(&ctx, "p", &same, slow_send(&calls, Duration::from_millis(200), Ok(answer(body)))).await
        })
    }

    #[tokio::test]
    async fn a_caller_that_leaves_does_not_cancel_the_call_for_the_others() {
        let reads = reads(&[]);
        let calls = Arc::new(AtomicUsize::new(0));
        let path = "/v1/customers/c1/subscriptions";
        let leader = spawn_read(&reads, &calls, path, "first");
        tokio::time::sleep(Duration::from_millis(20)).await;
        let follower = spawn_read(&reads, &calls, path, "second");
        tokio::time::sleep(Duration::from_millis(20)).await;
        leader.abort();
        let (outcome, result) = follower.await.expect("the follower finishes");
        assert_eq!(outcome, ReadOutcome::Coalesced);
        assert_eq!(result.expect("the shared answer").body, "first");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn the_call_stops_when_every_caller_has_left() {
        let reads = reads(&[]);
        let calls = Arc::new(AtomicUsize::new(0));
        let path = "/v1/customers/c1/subscriptions";
        let only = spawn_read(&reads, &calls, path, "first");
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(reads.calls_in_flight(), 1);
        only.abort();
        let _ = only.await;
        assert_eq!(reads.calls_in_flight(), 0, "nobody can join a call nobody waits for");
        let (outcome, result) = spawn_read(&reads, &calls, path, "again").await.expect("a new read");
        assert_eq!((outcome, result.expect("answer").body), (ReadOutcome::Sent, Bytes::from_static(b"again")));
    }

    #[tokio::test]
    async fn cached_answers_are_kept_for_their_ttl_and_dropped_by_a_write_to_their_customer() {
        let reads = reads(&[("subscriptions.list", 60)]);
        let calls = Arc::new(AtomicUsize::new(0));
        let ctx = RequestContext::new(None, None, None);
        let c1 = request("/v1/customers/C1/subscriptions");
        let c2 = request("/v1/customers/c2/subscriptions");
        let send = |body| slow_send(&calls, Duration::ZERO, Ok(answer(body)));
        assert_eq!(reads.read(&ctx, "p", &c1, send("one")).await.0, ReadOutcome::Sent);
        assert_eq!(reads.read(&ctx, "p", &c2, send("two")).await.0, ReadOutcome::Sent);
        let again = RequestContext::new(None, None, None);
        let (outcome, result) = reads.read(&again, "p", &c1, send("unused")).await;
        assert_eq!((outcome, result.expect("cached").body), (ReadOutcome::Cached, Bytes::from_static(b"one")));
        let (_, fresh_for) = again.freshness.cacheable().expect("a cached answer is cacheable");
        assert!(fresh_for <= Duration::from_secs(60) && fresh_for > Duration::from_secs(50));
        // Another partner never sees it.
        assert_eq!(reads.read(&ctx, "q", &c1, send("other partner")).await.0, ReadOutcome::Sent);

        reads.invalidate("p", "/v1/customers/c1/subscriptions/s1");
        assert_eq!(reads.read(&ctx, "p", &c1, send("after write")).await.0, ReadOutcome::Sent);
        assert_eq!(
            reads.read(&ctx, "p", &c2, send("unused")).await.0,
            ReadOutcome::Cached,
            "other customers keep theirs"
        );
        // A partner-wide write drops every customer's answers.
        reads.invalidate("p", "/v1/productUpgrades");
        assert_eq!(reads.read(&ctx, "p", &c2, send("after upgrade")).await.0, ReadOutcome::Sent);
        assert_eq!(calls.load(Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn operations_not_opted_in_are_never_cached() {
        let reads = reads(&[("customers.list", 60)]);
        let calls = Arc::new(AtomicUsize::new(0));
        let ctx = RequestContext::new(None, None, None);
        let c1 = request("/v1/customers/c1/subscriptions");
        for _ in 0..3 {
            let (outcome, result) =
                reads.read(&ctx, "p", &c1, slow_send(&calls, Duration::ZERO, Ok(answer("x")))).await;
            assert_eq!(outcome, ReadOutcome::Sent);
            assert!(result.is_ok());
        }
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert!(ctx.freshness.cacheable().is_none());
    }
}
