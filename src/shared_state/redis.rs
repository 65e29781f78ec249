//! The Redis implementations of the shared stores.
//!
//! One multiplexed connection per process ([`ConnectionManager`]: pipelined, reconnects on its
//! own), every command bounded by `redis.command_timeout`. Keys:
//!
//! | key | type | holds |
//! |---|---|---|
//! | `{prefix}{partner}:idem:{customer}:{sha256(key)}` | hash | a purchase record (`fp`, `rec`, `done`, `until`), expires after `commerce.idempotency_retention` |
//! | `{prefix}{partner}:orders:{customer}` | sorted set | order ids by when they were placed (server ms), expires after `commerce.recent_orders_window` |
//! | `{prefix}{partner}:budget:{resource}` | hash | a token bucket (`tokens`, `ts` in server µs), expires once full again |
//! | `{prefix}{partner}:refresh-token` | hash | the newest rotated refresh token, AES-256-GCM sealed (`lineage`, `superseded`, `token`) |
//!
//! `{partner}` is a Redis Cluster hash tag: all of a partner's keys hash to one slot. Each step
//! that reads and writes is one Lua script, timed by the server's clock (`TIME`).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use parking_lot::Mutex;
use redis::{
    Script,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    MAX_SUPERSEDED, RefreshTokenStore, SharedStateHealth, StoredRefreshToken, crypto::SealingKey, unavailable,
};
use crate::{
    error::Result,
    facade::state::{Claim, IdempotencyScope, IdempotencyStore, PurchaseRecord, RecentOrders},
    limits::{InMemoryRateBudget, RateBudget},
    model::{
        CartId, CustomerId, OrderId, SubscriptionId,
        commerce::{AzurePlan, AzurePlanStatus},
    },
};

/// How a [`RedisStore`] connects.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// Prepended to every key.
    pub key_prefix: String,
    /// Opening a connection.
    pub connect_timeout: Duration,
    /// One command (or script), round trip included.
    pub command_timeout: Duration,
    /// PEM certificates trusted for `rediss://` instead of the system's roots (a private CA).
    pub tls_ca: Option<Vec<u8>>,
}

/// A connection to Redis shared by the stores, with the health they report to.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    prefix: Arc<str>,
    command_timeout: Duration,
    health: Arc<SharedStateHealth>,
}

/// A Redis error as text safe to log: its kind and server code, never its detail text (which may
/// echo arguments) and never the URL.
fn describe(error: &redis::RedisError) -> String {
    let code = error.code().map(|c| format!(" {c}")).unwrap_or_default();
    let timeout = if error.is_timeout() { " (timeout)" } else { "" };
    format!("redis {:?}{code}{timeout}", error.kind())
}

impl RedisStore {
    /// Prepares the connection without waiting for Redis: a gateway whose Redis is down starts
    /// (degraded) and catches up when it answers. `url` is `redis://` or `rediss://` (TLS with the
    /// system's roots); errors never repeat it.
    pub fn new(url: &str, options: RedisOptions, health: Arc<SharedStateHealth>) -> std::result::Result<Self, String> {
        let client = match options.tls_ca {
            Some(root_cert) => redis::Client::build_with_tls(
                url,
                redis::TlsCertificates { client_tls: None, root_cert: Some(root_cert) },
            ),
            None => redis::Client::open(url),
        }
        .map_err(|e| format!("is not a usable Redis URL ({})", describe(&e)))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.connect_timeout))
            .set_response_timeout(Some(options.command_timeout))
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_secs(1));
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| format!("cannot prepare the Redis connection ({})", describe(&e)))?;
        Ok(Self { connection, prefix: Arc::from(options.key_prefix), command_timeout: options.command_timeout, health })
    }

    pub fn health(&self) -> &Arc<SharedStateHealth> {
        &self.health
    }

    /// `{prefix}{partner}:{rest}`: the partner is the Cluster hash tag.
    pub fn key(&self, partner: &str, rest: &str) -> String {
        format!("{}{{{partner}}}:{rest}", self.prefix)
    }

    /// Pings once; updates the health.
    pub async fn ping(&self) -> bool {
        let mut connection = self.connection.clone();
        let outcome =
            tokio::time::timeout(self.command_timeout, redis::cmd("PING").query_async::<String>(&mut connection)).await;
        match outcome {
            Ok(Ok(_)) => {
                self.health.succeeded();
                true
            }
            Ok(Err(error)) => {
                self.health.failed("ping", &describe(&error));
                false
            }
            Err(_) => {
                self.health.failed("ping", "redis ping timed out");
                false
            }
        }
    }

    /// Pings every `interval` while the process runs, so a store marked down comes back on its
    /// own (commands skip a store that is down instead of waiting for their timeout).
    pub fn spawn_health_check(&self, interval: Duration) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                store.ping().await;
            }
        })
    }

    /// Runs `script`, bounded by the command timeout; failures mark the store down. While it is
    /// down, fails at once (the health check brings it back).
    async fn eval<T: redis::FromRedisValue>(
        &self,
        what: &'static str,
        script: &Script,
        keys: &[&str],
        args: &[&str],
    ) -> std::result::Result<T, String> {
        if !self.health.is_up() {
            return Err(format!("redis is marked unreachable ({what}); waiting for the health check"));
        }
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(*key);
        }
        for arg in args {
            invocation.arg(*arg);
        }
        let mut connection = self.connection.clone();
        let started = Instant::now();
        let outcome = tokio::time::timeout(self.command_timeout, invocation.invoke_async::<T>(&mut connection)).await;
        metrics::histogram!("gateway_shared_state_command_duration_seconds", "store" => what)
            .record(started.elapsed().as_secs_f64());
        match outcome {
            Ok(Ok(value)) => {
                self.health.succeeded();
                Ok(value)
            }
            Ok(Err(error)) => {
                let detail = describe(&error);
                self.health.failed(what, &detail);
                Err(format!("{what}: {detail}"))
            }
            Err(_) => {
                let detail = format!("{what}: redis did not answer within {:?}", self.command_timeout);
                self.health.failed(what, &detail);
                Err(detail)
            }
        }
    }
}

fn millis(duration: Duration) -> String {
    duration.as_millis().max(1).to_string()
}

// ---------------------------------------------------------------------------------------------
// Idempotency records

/// Claims a record: creates it, or takes its lapsed lease. Returns `{outcome, record}`.
const CLAIM: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local entry = redis.call('HMGET', KEYS[1], 'fp', 'rec', 'done', 'until')
if not entry[1] then
  redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'rec', ARGV[2], 'done', '0',
    'until', string.format('%.0f', now + tonumber(ARGV[3])))
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return {'run', ARGV[2]}
end
if entry[1] ~= ARGV[1] then return {'mismatch', ''} end
if entry[3] == '1' then return {'done', entry[2]} end
if tonumber(entry[4] or '0') > now then return {'busy', ''} end
redis.call('HSET', KEYS[1], 'until', string.format('%.0f', now + tonumber(ARGV[3])))
return {'run', entry[2]}
";

/// Saves progress (and releases the lease when ARGV[3] is 1) of a record that still exists.
const SAVE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'rec', ARGV[1], 'done', ARGV[2])
if ARGV[3] == '1' then redis.call('HSET', KEYS[1], 'until', '0') end
return 1
";

/// [`PurchaseRecord`] as stored (the model types are not `Deserialize`).
#[derive(Serialize, Deserialize)]
struct StoredRecord {
    fingerprint: String,
    cart_request_id: Uuid,
    cart_id: Option<Uuid>,
    checkout_request_id: Uuid,
    checkout_attempt: u32,
    result: Option<StoredPlan>,
}

#[derive(Serialize, Deserialize)]
struct StoredPlan {
    customer_id: Uuid,
    order_id: String,
    subscription_id: Option<Uuid>,
    status: AzurePlanStatus,
    catalog_item_id: String,
    order_status: String,
}

impl StoredRecord {
    fn from_record(record: &PurchaseRecord) -> Self {
        Self {
            fingerprint: record.fingerprint.clone(),
            cart_request_id: record.cart_request_id,
            cart_id: record.cart_id.map(|c| c.as_uuid()),
            checkout_request_id: record.checkout_request_id,
            checkout_attempt: record.checkout_attempt,
            result: record.result.as_ref().map(|plan| StoredPlan {
                customer_id: plan.customer_id.as_uuid(),
                order_id: plan.order_id.as_str().to_owned(),
                subscription_id: plan.subscription_id.map(|s| s.as_uuid()),
                status: plan.status,
                catalog_item_id: plan.catalog_item_id.clone(),
                order_status: plan.order_status.clone(),
            }),
        }
    }

    fn into_record(self) -> std::result::Result<PurchaseRecord, String> {
        let result = match self.result {
            None => None,
            Some(plan) => Some(AzurePlan {
                customer_id: CustomerId::from_uuid(plan.customer_id),
                order_id: OrderId::parse("orderId", &plan.order_id).map_err(|e| e.detail().to_owned())?,
                subscription_id: plan.subscription_id.map(SubscriptionId::from_uuid),
                status: plan.status,
                catalog_item_id: plan.catalog_item_id,
                order_status: plan.order_status,
                replayed: false,
            }),
        };
        Ok(PurchaseRecord {
            fingerprint: self.fingerprint,
            cart_request_id: self.cart_request_id,
            cart_id: self.cart_id.map(CartId::from_uuid),
            checkout_request_id: self.checkout_request_id,
            checkout_attempt: self.checkout_attempt,
            result,
        })
    }
}

fn encode(record: &PurchaseRecord) -> Result<String> {
    serde_json::to_string(&StoredRecord::from_record(record)).map_err(crate::error::Error::internal)
}

fn decode(text: &str) -> Result<PurchaseRecord> {
    serde_json::from_str::<StoredRecord>(text)
        .map_err(|e| e.to_string())
        .and_then(StoredRecord::into_record)
        .map_err(|e| crate::error::Error::internal(format!("a stored purchase record is unreadable: {e}")))
}

/// Idempotency records in Redis, with the same lease and retention as the in-memory store.
pub struct RedisIdempotency {
    store: RedisStore,
    lease: Duration,
    retention: Duration,
    claim: Script,
    save: Script,
}

impl RedisIdempotency {
    pub fn new(store: RedisStore, lease: Duration, retention: Duration) -> Self {
        Self { store, lease, retention, claim: Script::new(CLAIM), save: Script::new(SAVE) }
    }

    fn key(&self, scope: &IdempotencyScope) -> String {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, scope.key.as_bytes());
        let hex: String = digest.as_ref().iter().take(16).map(|b| format!("{b:02x}")).collect();
        self.store.key(&scope.partner, &format!("idem:{}:{hex}", scope.customer))
    }

    async fn write(&self, scope: &IdempotencyScope, record: &PurchaseRecord, release: bool) -> Result<()> {
        let key = self.key(scope);
        let json = encode(record)?;
        let done = if record.result.is_some() { "1" } else { "0" };
        let release = if release { "1" } else { "0" };
        self.store
            .eval::<i64>("idempotency", &self.save, &[&key], &[&json, done, release])
            .await
            .map(|_| ())
            .map_err(unavailable)
    }
}

#[async_trait]
impl IdempotencyStore for RedisIdempotency {
    async fn claim(&self, scope: &IdempotencyScope, fingerprint: &str) -> Result<Claim> {
        let key = self.key(scope);
        let fresh = encode(&PurchaseRecord::new(scope, fingerprint.to_owned()))?;
        let (lease, retention) = (millis(self.lease), millis(self.retention));
        let reply: Vec<String> = self
            .store
            .eval("idempotency", &self.claim, &[&key], &[fingerprint, &fresh, &lease, &retention])
            .await
            .map_err(unavailable)?;
        match reply.first().map(String::as_str) {
            Some("run") => Ok(Claim::Run(decode(reply.get(1).map_or("", String::as_str))?)),
            Some("done") => {
                let record = decode(reply.get(1).map_or("", String::as_str))?;
                record
                    .result
                    .map(Claim::Done)
                    .ok_or_else(|| crate::error::Error::internal("a purchase record marked done has no result"))
            }
            Some("busy") => Ok(Claim::Busy),
            Some("mismatch") => Ok(Claim::Mismatch),
            _ => Err(crate::error::Error::internal("unexpected answer of the claim script")),
        }
    }

    async fn save(&self, scope: &IdempotencyScope, record: &PurchaseRecord) -> Result<()> {
        self.write(scope, record, false).await
    }

    async fn release(&self, scope: &IdempotencyScope, record: &PurchaseRecord) -> Result<()> {
        self.write(scope, record, true).await
    }
}

// ---------------------------------------------------------------------------------------------
// Recent orders

/// Most orders kept per customer (the oldest go first).
const MAX_RECENT_ORDERS: usize = 1000;

/// Records an order (first time wins), drops expired ones, bounds the set.
const RECORD_ORDER: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now - window))
redis.call('ZADD', KEYS[1], 'NX', string.format('%.0f', now), ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[3]) + 1))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
";

/// Orders not yet expired, newest first.
const RECENT_ORDERS: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZREVRANGEBYSCORE', KEYS[1], '+inf', '(' .. string.format('%.0f', now - tonumber(ARGV[1])))
";

/// Recent orders in Redis: what one replica records, every replica lists at once.
pub struct RedisRecentOrders {
    store: RedisStore,
    window: Duration,
    record: Script,
    recent: Script,
}

impl RedisRecentOrders {
    pub fn new(store: RedisStore, window: Duration) -> Self {
        Self { store, window, record: Script::new(RECORD_ORDER), recent: Script::new(RECENT_ORDERS) }
    }

    fn key(&self, partner: &str, customer: CustomerId) -> String {
        self.store.key(partner, &format!("orders:{customer}"))
    }
}

#[async_trait]
impl RecentOrders for RedisRecentOrders {
    async fn record(&self, partner: &str, customer: CustomerId, order: &OrderId) -> Result<()> {
        let key = self.key(partner, customer);
        let (window, cap) = (millis(self.window), MAX_RECENT_ORDERS.to_string());
        self.store
            .eval::<i64>("recent_orders", &self.record, &[&key], &[order.as_str(), &window, &cap])
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn recent(&self, partner: &str, customer: CustomerId) -> Result<Vec<OrderId>> {
        let key = self.key(partner, customer);
        let ids: Vec<String> = self
            .store
            .eval("recent_orders", &self.recent, &[&key], &[&millis(self.window)])
            .await
            .map_err(unavailable)?;
        // Ids were validated when recorded; one that no longer parses is skipped, not fatal.
        Ok(ids.iter().filter_map(|id| OrderId::parse("orderId", id).ok()).collect())
    }
}

// ---------------------------------------------------------------------------------------------
// The throttle budget

/// A token bucket, as `InMemoryRateBudget`: `burst` tokens, refilled at ARGV[2] tokens per µs;
/// a token is taken only if ARGV[4] (the reserve) tokens stay. Returns 0 when a token was taken,
/// else the µs to wait for the next one.
const TAKE_TOKEN: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local needed = 1 + math.max(0, tonumber(ARGV[4]) or 0)
local wait = 0
if tokens >= needed - 1e-9 then
  tokens = math.max(0, tokens - 1)
else
  wait = math.max(1, math.ceil((needed - tokens) / rate))
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'ts', string.format('%.0f', now))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return wait
";

/// The per-partner budget towards Partner Center, shared by all replicas: at most `per_minute`
/// requests in any 60 s window per key across the fleet (the in-memory bucket's guarantee,
/// computed in one script on the server's clock).
///
/// While Redis is unreachable each replica falls back to its share of the budget
/// (`per_minute / expected_replicas`), counts it in `gateway_shared_state_fallback_total` and
/// warns (at most every 30 s); it returns to the shared budget when Redis answers again.
pub struct RedisRateBudget {
    store: RedisStore,
    burst: String,
    rate_per_micro: String,
    ttl: String,
    fallback: InMemoryRateBudget,
    fallback_share: (u32, u32),
    last_warning: Mutex<Option<Instant>>,
    script: Script,
}

impl RedisRateBudget {
    /// `per_minute` and `burst` as for `InMemoryRateBudget::per_minute`, fleet-wide.
    pub fn per_minute(store: RedisStore, per_minute: u32, burst: u32, expected_replicas: u32) -> Self {
        let burst = burst.clamp(1, per_minute.max(1));
        let refill_per_second = f64::from(per_minute.saturating_sub(burst).max(1)) / 60.0;
        let full_after = Duration::from_secs_f64(f64::from(burst) / refill_per_second) + Duration::from_secs(1);
        let replicas = expected_replicas.max(1);
        let share = ((per_minute / replicas).max(1), (burst / replicas).max(1));
        Self {
            store,
            burst: burst.to_string(),
            rate_per_micro: format!("{:e}", refill_per_second / 1_000_000.0),
            ttl: millis(full_after),
            fallback: InMemoryRateBudget::per_minute(share.0, share.1),
            fallback_share: share,
            last_warning: Mutex::new(None),
            script: Script::new(TAKE_TOKEN),
        }
    }

    fn key(&self, key: &str) -> String {
        match key.split_once('/') {
            Some((partner, resource)) => self.store.key(partner, &format!("budget:{resource}")),
            None => self.store.key(key, "budget"),
        }
    }
}

#[async_trait]
impl RateBudget for RedisRateBudget {
    async fn try_acquire_leaving(&self, key: &str, reserve: f64) -> std::result::Result<(), Duration> {
        let redis_key = self.key(key);
        let reserve_arg = reserve.to_string();
        let args = [self.burst.as_str(), self.rate_per_micro.as_str(), self.ttl.as_str(), reserve_arg.as_str()];
        match self.store.eval::<i64>("budget", &self.script, &[&redis_key], &args).await {
            Ok(0) => Ok(()),
            Ok(wait_micros) => Err(Duration::from_micros(u64::try_from(wait_micros).unwrap_or(1))),
            Err(detail) => {
                metrics::counter!("gateway_shared_state_fallback_total", "store" => "budget").increment(1);
                let warn = {
                    let mut last = self.last_warning.lock();
                    let due = last.is_none_or(|at| at.elapsed() >= Duration::from_secs(30));
                    if due {
                        *last = Some(Instant::now());
                    }
                    due
                };
                if warn {
                    tracing::warn!(
                        error = %detail,
                        per_minute = self.fallback_share.0,
                        burst = self.fallback_share.1,
                        "partner budget: shared state unreachable, using this replica's share"
                    );
                }
                self.fallback.try_acquire_leaving(key, reserve).await
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Rotated refresh tokens

/// Stores a token of a lineage; see [`RefreshTokenStore`] for the rule. 1: stored, 0: refused.
const STORE_REFRESH_TOKEN: &str = r"
local cur = redis.call('HGET', KEYS[1], 'lineage')
if (not cur) or cur == ARGV[1] then
  redis.call('HSET', KEYS[1], 'lineage', ARGV[1], 'token', ARGV[2])
  return 1
end
local sup = redis.call('HGET', KEYS[1], 'superseded') or ''
local list = {}
for f in string.gmatch(sup, '[^,]+') do
  if f == ARGV[1] then return 0 end
  table.insert(list, f)
end
table.insert(list, 1, cur)
while #list > tonumber(ARGV[3]) do table.remove(list) end
redis.call('HSET', KEYS[1], 'lineage', ARGV[1], 'token', ARGV[2], 'superseded', table.concat(list, ','))
return 1
";

/// Rotated refresh tokens in Redis, sealed with AES-256-GCM (`redis.encryption_key_file`).
pub struct RedisRefreshTokens {
    store: RedisStore,
    key: Arc<SealingKey>,
    script: Script,
    load: Script,
}

impl RedisRefreshTokens {
    pub fn new(store: RedisStore, key: Arc<SealingKey>) -> Self {
        Self { store, key, script: Script::new(STORE_REFRESH_TOKEN), load: Script::new(LOAD_REFRESH_TOKEN) }
    }

    fn redis_key(&self, partner: &str) -> String {
        self.store.key(partner, "refresh-token")
    }
}

/// Reads the stored hash.
const LOAD_REFRESH_TOKEN: &str = r"
return redis.call('HMGET', KEYS[1], 'lineage', 'superseded', 'token')
";

#[async_trait]
impl RefreshTokenStore for RedisRefreshTokens {
    async fn load(&self, partner: &str) -> Result<Option<StoredRefreshToken>> {
        let key = self.redis_key(partner);
        let fields: Vec<Option<String>> =
            self.store.eval("refresh_token", &self.load, &[&key], &[]).await.map_err(unavailable)?;
        let (Some(Some(lineage)), Some(superseded), Some(Some(sealed))) =
            (fields.first(), fields.get(1), fields.get(2))
        else {
            return Ok(None);
        };
        let token = self.key.open(&key, sealed).map_err(|problem| {
            crate::error::Error::internal(format!(
                "the stored refresh token of partner {partner} {problem}; check redis.encryption_key_file"
            ))
        })?;
        let superseded = superseded.as_deref().unwrap_or_default().split(',').filter(|s| !s.is_empty());
        Ok(Some(StoredRefreshToken {
            lineage: lineage.clone(),
            superseded: superseded.map(str::to_owned).collect(),
            token,
        }))
    }

    async fn store(&self, partner: &str, lineage: &str, token: &SecretString) -> Result<bool> {
        let key = self.redis_key(partner);
        let sealed = self.key.seal(&key, token).map_err(crate::error::Error::internal)?;
        let max = MAX_SUPERSEDED.to_string();
        let stored: i64 = self
            .store
            .eval("refresh_token", &self.script, &[&key], &[lineage, &sealed, &max])
            .await
            .map_err(unavailable)?;
        Ok(stored == 1)
    }
}
