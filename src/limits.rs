//! Admission control: how much work the gateway takes on.
//!
//! - [`RateBudget`]: token buckets by key, used for the per-partner-tenant budget towards Partner
//!   Center (kept under its documented 500 requests/minute per resource) and for per-caller
//!   limits. A trait, so replicas can share a budget through an external store; in-memory default.
//! - [`Admission`]: a cap on requests in flight; beyond it requests are shed at once with 503.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use parking_lot::Mutex;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, ErrorKind, Reason, Result};

/// A budget of requests per key; `Err(wait)` when the key must wait `wait` for its next request.
#[async_trait]
pub trait RateBudget: Send + Sync {
    async fn try_acquire(&self, key: &str) -> std::result::Result<(), Duration> {
        self.try_acquire_leaving(key, 0.0).await
    }

    /// Takes a token only if at least `reserve` tokens stay in the bucket afterwards: spare
    /// budget a caller beyond its share may borrow without touching what is kept for the others.
    async fn try_acquire_leaving(&self, key: &str, reserve: f64) -> std::result::Result<(), Duration>;
}

/// Allows at most `per_minute` requests in ANY 60-second window per key: a bucket of
/// `burst` tokens refilled at `(per_minute - burst) / 60` per second.
pub struct InMemoryRateBudget {
    burst: f64,
    refill_per_second: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Buckets kept before idle (full) ones are dropped.
const MAX_TRACKED_KEYS: usize = 10_000;

impl InMemoryRateBudget {
    /// `per_minute` must exceed `burst`; see the type's doc.
    pub fn per_minute(per_minute: u32, burst: u32) -> Self {
        let burst = burst.clamp(1, per_minute.max(1));
        let refill = f64::from(per_minute.saturating_sub(burst).max(1)) / 60.0;
        Self { burst: f64::from(burst), refill_per_second: refill, buckets: Mutex::new(HashMap::new()) }
    }

    fn acquire_at(&self, key: &str, now: Instant, reserve: f64) -> std::result::Result<(), Duration> {
        let mut buckets = self.buckets.lock();
        if buckets.len() > MAX_TRACKED_KEYS {
            let (burst, refill) = (self.burst, self.refill_per_second);
            buckets.retain(|_, b| b.tokens + now.duration_since(b.updated).as_secs_f64() * refill < burst);
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket { tokens: self.burst, updated: now });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.refill_per_second).min(self.burst);
        bucket.updated = now;
        // The epsilon absorbs float rounding, so waiting exactly the advertised time succeeds.
        let needed = 1.0 + reserve.max(0.0);
        if bucket.tokens >= needed - 1e-9 {
            bucket.tokens = (bucket.tokens - 1.0).max(0.0);
            Ok(())
        } else {
            Err(Duration::from_secs_f64((needed - bucket.tokens) / self.refill_per_second))
        }
    }
}

#[async_trait]
impl RateBudget for InMemoryRateBudget {
    async fn try_acquire_leaving(&self, key: &str, reserve: f64) -> std::result::Result<(), Duration> {
        self.acquire_at(key, Instant::now(), reserve)
    }
}

/// Caps requests in flight across both transports. Beyond the cap a request is refused at once
/// (shed) rather than queued: a queue behind a slow Partner Center only grows.
#[derive(Clone)]
pub struct Admission {
    permits: Arc<Semaphore>,
}

/// Held for the life of one request.
pub struct Admitted {
    _permit: OwnedSemaphorePermit,
    in_flight: metrics::Gauge,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.in_flight.decrement(1.0);
    }
}

/// The in-flight gauge of a transport, looked up once.
fn in_flight_gauge(transport: &'static str) -> metrics::Gauge {
    static HANDLES: std::sync::LazyLock<crate::telemetry::HandleCache<&'static str, metrics::Gauge>> =
        std::sync::LazyLock::new(crate::telemetry::HandleCache::new);
    HANDLES.get(transport, |&transport| metrics::gauge!("gateway_requests_in_flight", "transport" => transport))
}

impl Admission {
    pub fn new(max_in_flight: usize) -> Self {
        Self { permits: Arc::new(Semaphore::new(max_in_flight.max(1))) }
    }

    pub fn admit(&self, transport: &'static str) -> Result<Admitted> {
        match self.permits.clone().try_acquire_owned() {
            Ok(permit) => {
                let in_flight = in_flight_gauge(transport);
                in_flight.increment(1.0);
                Ok(Admitted { _permit: permit, in_flight })
            }
            Err(_) => {
                metrics::counter!("gateway_load_shed_total", "transport" => transport).increment(1);
                Err(Error::new(ErrorKind::Unavailable, "the gateway is at capacity; retry shortly")
                    .with_reason(Reason::Overloaded)
                    .with_retry_after(Duration::from_secs(1)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_sixty_second_window_holds_more_than_the_limit() {
        let budget = InMemoryRateBudget::per_minute(500, 50);
        let start = Instant::now();
        // Hammer the key every 10 ms for three minutes; count grants per sliding 60 s window.
        let mut granted = Vec::new();
        for step in 0..18_000u64 {
            let now = start + Duration::from_millis(step * 10);
            if budget.acquire_at("p", now, 0.0).is_ok() {
                granted.push(now);
            }
        }
        let mut worst = 0;
        for (i, t) in granted.iter().enumerate() {
            let in_window = granted[i..].iter().take_while(|u| u.duration_since(*t) < Duration::from_secs(60)).count();
            worst = worst.max(in_window);
        }
        assert!(worst <= 500, "{worst} in one minute");
        assert!(worst >= 450, "the budget is usable: {worst}");
    }

    #[test]
    fn an_empty_bucket_says_how_long_to_wait_and_keys_are_separate() {
        let budget = InMemoryRateBudget::per_minute(120, 2);
        let now = Instant::now();
        assert!(budget.acquire_at("a", now, 0.0).is_ok());
        assert!(budget.acquire_at("a", now, 0.0).is_ok());
        let wait = budget.acquire_at("a", now, 0.0).expect_err("empty");
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1), "{wait:?}");
        assert!(budget.acquire_at("b", now, 0.0).is_ok());
        assert!(budget.acquire_at("a", now + wait, 0.0).is_ok());
    }

    #[test]
    fn a_reserve_is_never_borrowed() {
        let budget = InMemoryRateBudget::per_minute(120, 10);
        let now = Instant::now();
        let borrowed = (0..10).filter(|_| budget.acquire_at("p", now, 4.0).is_ok()).count();
        assert_eq!(borrowed, 6, "four tokens stay for the others");
        let wait = budget.acquire_at("p", now, 4.0).expect_err("only the reserve is left");
        assert!(wait > Duration::from_millis(500), "until a token beyond the reserve: {wait:?}");
        assert!((0..4).all(|_| budget.acquire_at("p", now, 0.0).is_ok()), "the reserve is there for the others");
    }

    #[test]
    fn admission_sheds_beyond_capacity_and_recovers() {
        let admission = Admission::new(2);
        let first = admission.admit("rest").expect("1");
        let _second = admission.admit("rest").expect("2");
        let shed = admission.admit("rest").map(|_| ()).expect_err("shed");
        assert_eq!(shed.kind(), ErrorKind::Unavailable);
        assert_eq!(shed.reason(), Reason::Overloaded);
        drop(first);
        assert!(admission.admit("rest").is_ok());
    }
}
