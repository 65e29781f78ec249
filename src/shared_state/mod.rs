//! State that replicas share: idempotency records of purchases, recent orders (read-your-writes),
//! the per-partner throttle budget towards Partner Center and rotated refresh tokens.
//!
//! Each sits behind a trait (`facade::state::{IdempotencyStore, RecentOrders}`,
//! `limits::RateBudget`, [`RefreshTokenStore`]) with an in-memory implementation for one process
//! and a Redis one ([`redis`]) for many. With Redis:
//!
//! - every key starts with `redis.key_prefix` and carries the partner as a hash tag
//!   (`{prefix}{contoso}:...`), so one partner's keys live on one Redis Cluster slot and each
//!   multi-key or scripted step stays on one node;
//! - every read-modify-write is one Lua script (atomic on the server, using the server's clock,
//!   so replicas with skewed clocks agree);
//! - when Redis is unreachable or slow ([`SharedStateHealth`]), purchases fail closed with 503
//!   `SHARED_STATE_UNAVAILABLE`, reads go on without the shared extras, the throttle budget falls
//!   back to this replica's share, and everything returns to shared state on its own once Redis
//!   answers again.

pub mod crypto;
pub mod redis;

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant},
};

use async_trait::async_trait;
use parking_lot::Mutex;
use secrecy::SecretString;

use crate::error::{Error, ErrorKind, Reason, Result};

/// What a caller is told to wait before retrying an operation refused for want of shared state.
pub const RETRY_AFTER: Duration = Duration::from_secs(2);
/// Least time between two warnings about the shared store being unreachable.
const WARN_EVERY: Duration = Duration::from_secs(30);

/// The error of an operation that needs the shared store while it is unreachable. `source` is
/// logged only, and must not hold the store's URL or credentials.
pub fn unavailable(source: impl Into<String>) -> Error {
    Error::new(ErrorKind::Unavailable, "the gateway's shared state is unreachable; retry shortly")
        .with_reason(Reason::SharedStateUnavailable)
        .with_retry_after(RETRY_AFTER)
        .with_source(source.into())
}

/// Whether the shared store answers, as seen by this replica: every command's outcome and a
/// periodic ping update it. While it is down, callers skip the store (fail fast or fall back)
/// instead of waiting for a timeout each time; the ping brings it back.
pub struct SharedStateHealth {
    up: AtomicBool,
    last_warning: Mutex<Option<Instant>>,
    gauge: metrics::Gauge,
}

impl Default for SharedStateHealth {
    fn default() -> Self {
        Self::new()
    }
}

impl SharedStateHealth {
    pub fn new() -> Self {
        let gauge = metrics::gauge!("gateway_shared_state_up");
        gauge.set(1.0);
        Self { up: AtomicBool::new(true), last_warning: Mutex::new(None), gauge }
    }

    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    /// A command succeeded.
    pub fn succeeded(&self) {
        if !self.up.swap(true, Ordering::AcqRel) {
            self.gauge.set(1.0);
            tracing::info!("shared state (redis) reachable again: purchases and the shared throttle budget resume");
        }
    }

    /// A command failed; `what` names the store, `detail` the failure (no URL, no secret).
    pub fn failed(&self, what: &'static str, detail: &str) {
        metrics::counter!("gateway_shared_state_errors_total", "store" => what).increment(1);
        if self.up.swap(false, Ordering::AcqRel) {
            self.gauge.set(0.0);
        }
        self.warn(|| {
            tracing::warn!(
                store = what,
                error = detail,
                "shared state (redis) unreachable: purchases answer 503 SHARED_STATE_UNAVAILABLE, \
                 the Partner Center budget falls back to this replica's share"
            );
        });
    }

    /// Runs `log` at most once per [`WARN_EVERY`].
    pub fn warn(&self, log: impl FnOnce()) {
        let mut last = self.last_warning.lock();
        if last.is_none_or(|at| at.elapsed() >= WARN_EVERY) {
            *last = Some(Instant::now());
            drop(last);
            log();
        }
    }
}

/// A refresh token as the shared store holds it.
#[derive(Clone)]
pub struct StoredRefreshToken {
    /// Fingerprint of the configured token (file or inline) this one descends from by rotation.
    pub lineage: String,
    /// Fingerprints of configured tokens an operator has since replaced (newest first).
    pub superseded: Vec<String>,
    pub token: SecretString,
}

/// Where replicas share the refresh tokens Azure AD rotates, per partner.
///
/// The rule (`partner_center::token::RefreshToken` applies it):
/// - the newest rotation wins: each rotation replaces the stored token of its lineage;
/// - an operator rotation wins over any stored token: a configured token whose fingerprint the
///   store has never seen starts a new lineage, and the old lineage's fingerprint is remembered
///   as superseded;
/// - a replica that still sees a superseded configured token (its Secret volume not yet
///   updated) uses the stored token, and its own writes are refused.
#[async_trait]
pub trait RefreshTokenStore: Send + Sync {
    async fn load(&self, partner: &str) -> Result<Option<StoredRefreshToken>>;
    /// Stores `token` as the newest of `lineage`; `Ok(false)` when `lineage` was superseded.
    async fn store(&self, partner: &str, lineage: &str, token: &SecretString) -> Result<bool>;
}

/// Most superseded fingerprints remembered per partner.
pub const MAX_SUPERSEDED: usize = 16;

/// The in-memory [`RefreshTokenStore`] (one process; tests and the contract suite).
#[derive(Default)]
pub struct InMemoryRefreshTokens {
    entries: Mutex<std::collections::HashMap<String, StoredRefreshToken>>,
}

#[async_trait]
impl RefreshTokenStore for InMemoryRefreshTokens {
    async fn load(&self, partner: &str) -> Result<Option<StoredRefreshToken>> {
        Ok(self.entries.lock().get(partner).cloned())
    }

    async fn store(&self, partner: &str, lineage: &str, token: &SecretString) -> Result<bool> {
        let mut entries = self.entries.lock();
        match entries.get_mut(partner) {
            None => {
                let entry =
                    StoredRefreshToken { lineage: lineage.to_owned(), superseded: Vec::new(), token: token.clone() };
                entries.insert(partner.to_owned(), entry);
                Ok(true)
            }
            Some(entry) if entry.lineage == lineage => {
                entry.token = token.clone();
                Ok(true)
            }
            Some(entry) if entry.superseded.iter().any(|s| s == lineage) => Ok(false),
            Some(entry) => {
                let replaced = std::mem::replace(&mut entry.lineage, lineage.to_owned());
                entry.superseded.insert(0, replaced);
                entry.superseded.truncate(MAX_SUPERSEDED);
                entry.token = token.clone();
                Ok(true)
            }
        }
    }
}
