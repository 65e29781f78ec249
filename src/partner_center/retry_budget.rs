//! A retry budget per partner tenant, in the manner of Envoy's retry budget and gRPC's retry
//! throttling: retries may add at most a fraction of the first attempts seen over a sliding
//! window (at least a small floor, so a quiet partner can still retry a lone failure). When Partner
//! Center is failing for everyone, callers then get its error after about one attempt instead of
//! seven, and the partner's Partner Center budget is not spent on a storm of retries.

use std::{collections::HashMap, time::Duration};

use parking_lot::Mutex;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
pub struct RetryBudgetPolicy {
    /// Retries allowed per first attempt over the window (0.5: at most 50 % more calls).
    pub ratio: f64,
    /// Retries always allowed per window, whatever the traffic.
    pub min_retries: u32,
    /// Length of the sliding window.
    pub window: Duration,
}

impl RetryBudgetPolicy {
    /// No limit beyond each call's own `max_attempts` (unit tests of retries).
    pub const UNLIMITED: Self = Self { ratio: f64::INFINITY, min_retries: u32::MAX, window: Duration::from_secs(10) };
}

pub struct RetryBudget {
    policy: RetryBudgetPolicy,
    partners: Mutex<HashMap<String, Window>>,
}

/// Counts of the current and the previous window; the previous one is weighted by how much of
/// it still overlaps the sliding window (the usual two-bucket estimate).
#[derive(Debug)]
struct Window {
    started: Instant,
    first_attempts: [f64; 2],
    retries: [f64; 2],
}

impl Window {
    fn new(now: Instant) -> Self {
        Self { started: now, first_attempts: [0.0; 2], retries: [0.0; 2] }
    }

    /// Moves the buckets forward to `now`; returns the weight of the previous bucket.
    fn advance(&mut self, now: Instant, length: Duration) -> f64 {
        let elapsed = now.saturating_duration_since(self.started);
        if elapsed >= length * 2 {
            *self = Self::new(now);
        } else if elapsed >= length {
            self.first_attempts = [self.first_attempts[1], 0.0];
            self.retries = [self.retries[1], 0.0];
            self.started += length;
        }
        let into_current = now.saturating_duration_since(self.started).as_secs_f64() / length.as_secs_f64();
        (1.0 - into_current).clamp(0.0, 1.0)
    }
}

impl RetryBudget {
    pub fn new(policy: RetryBudgetPolicy) -> Self {
        Self { policy, partners: Mutex::new(HashMap::new()) }
    }

    /// A logical call made its first attempt.
    pub fn record_first_attempt(&self, partner: &str) {
        if self.policy.ratio.is_infinite() {
            return;
        }
        let now = Instant::now();
        let mut partners = self.partners.lock();
        let window = match partners.get_mut(partner) {
            Some(window) => window,
            None => partners.entry(partner.to_owned()).or_insert_with(|| Window::new(now)),
        };
        window.advance(now, self.policy.window);
        window.first_attempts[1] += 1.0;
    }

    /// Whether one more retry fits in the partner's budget; if it does, it is counted.
    pub fn try_retry(&self, partner: &str) -> bool {
        if self.policy.ratio.is_infinite() {
            return true;
        }
        let now = Instant::now();
        let mut partners = self.partners.lock();
        let window = match partners.get_mut(partner) {
            Some(window) => window,
            None => partners.entry(partner.to_owned()).or_insert_with(|| Window::new(now)),
        };
        let previous = window.advance(now, self.policy.window);
        let first_attempts = window.first_attempts[0] * previous + window.first_attempts[1];
        let retries = window.retries[0] * previous + window.retries[1];
        let allowed = (first_attempts * self.policy.ratio).max(f64::from(self.policy.min_retries));
        if retries + 1.0 > allowed {
            return false;
        }
        window.retries[1] += 1.0;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(ratio: f64, min_retries: u32) -> RetryBudget {
        RetryBudget::new(RetryBudgetPolicy { ratio, min_retries, window: Duration::from_secs(10) })
    }

    #[tokio::test(start_paused = true)]
    async fn retries_are_capped_at_the_ratio_of_first_attempts() {
        let budget = budget(0.5, 3);
        for _ in 0..100 {
            budget.record_first_attempt("p");
        }
        let granted = (0..200).filter(|_| budget.try_retry("p")).count();
        assert_eq!(granted, 50);
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_partner_still_gets_the_floor() {
        let budget = budget(0.5, 3);
        budget.record_first_attempt("p");
        let granted = (0..10).filter(|_| budget.try_retry("p")).count();
        assert_eq!(granted, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn partners_do_not_share_a_budget() {
        let budget = budget(0.5, 0);
        for _ in 0..10 {
            budget.record_first_attempt("a");
        }
        assert!(!budget.try_retry("b"));
        assert!(budget.try_retry("a"));
    }

    #[tokio::test(start_paused = true)]
    async fn the_window_slides() {
        let budget = budget(0.5, 0);
        for _ in 0..10 {
            budget.record_first_attempt("p");
        }
        assert_eq!((0..10).filter(|_| budget.try_retry("p")).count(), 5);
        // Half a window later half of the old counts still weigh: 2.5 retries of 2.5 allowed.
        tokio::time::advance(Duration::from_secs(15)).await;
        assert!(!budget.try_retry("p"));
        // Two windows later everything old is gone; new traffic earns new retries.
        tokio::time::advance(Duration::from_secs(10)).await;
        for _ in 0..4 {
            budget.record_first_attempt("p");
        }
        assert_eq!((0..10).filter(|_| budget.try_retry("p")).count(), 2);
    }
}
