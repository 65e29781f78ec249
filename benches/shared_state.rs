//! What sharing state through Redis adds to a request: the store round trips of one Azure plan
//! purchase (claim, save progress, release) and of one throttled Partner Center call (take a
//! token from the partner's budget), each against the in-memory store it replaces.
//!
//! ```text
//! cargo bench --bench shared_state                       # 5,000 samples per figure
//! PCG_BENCH_SAMPLES=1000 cargo bench --bench shared_state
//! ```
//!
//! Starts its own `redis-server` (from PATH, loopback, a free port, no persistence). Sequential
//! samples give the latency one request pays; the concurrent run (16 at once through the one
//! multiplexed connection) shows it under load. See BENCHMARKS.md.

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use partner_center_gateway::{
    facade::state::{Claim, IdempotencyScope, IdempotencyStore, InMemoryIdempotency},
    limits::{InMemoryRateBudget, RateBudget},
    model::CartId,
    shared_state::{
        SharedStateHealth,
        redis::{RedisIdempotency, RedisOptions, RedisRateBudget, RedisStore},
    },
};
use uuid::Uuid;

struct Redis(Child);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_redis() -> (Redis, String) {
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port");
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server on PATH");
    for _ in 0..250 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (Redis(child), format!("redis://127.0.0.1:{port}"))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

struct Figures {
    p50: Duration,
    p99: Duration,
}

fn figures(mut samples: Vec<Duration>) -> Figures {
    samples.sort();
    Figures { p50: percentile(&samples, 0.5), p99: percentile(&samples, 0.99) }
}

/// One purchase's store work: claim a fresh key, save the cart, release with the result.
async fn purchase(store: &dyn IdempotencyStore) -> Duration {
    let scope = IdempotencyScope {
        partner: "contoso".to_owned(),
        customer: partner_center_gateway::model::CustomerId::from_uuid(Uuid::new_v4()),
        key: Uuid::new_v4().to_string(),
    };
    let started = Instant::now();
    let Ok(Claim::Run(mut record)) = store.claim(&scope, "US|").await else { panic!("a fresh key runs") };
    record.cart_id = Some(CartId::from_uuid(Uuid::new_v4()));
    store.save(&scope, &record).await.expect("save");
    store.release(&scope, &record).await.expect("release");
    started.elapsed()
}

async fn throttled(budget: &dyn RateBudget, n: usize) -> Duration {
    // A key per sample keeps every call a grant (a full bucket), as a partner under its budget.
    let key = format!("partner-{n}/orders");
    let started = Instant::now();
    budget.try_acquire(&key).await.expect("granted");
    started.elapsed()
}

async fn sequential<F, Fut>(samples: usize, mut one: F) -> Figures
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Duration>,
{
    for n in 0..samples / 10 {
        one(n + 1_000_000).await;
    }
    let mut taken = Vec::with_capacity(samples);
    for n in 0..samples {
        taken.push(one(n).await);
    }
    figures(taken)
}

async fn concurrent<F, Fut>(samples: usize, one: F) -> Figures
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Duration> + Send,
{
    let one = Arc::new(one);
    let workers = (0..16).map(|w| {
        let one = one.clone();
        tokio::spawn(async move {
            let mut taken = Vec::new();
            for n in 0..samples / 16 {
                taken.push(one(2_000_000 + w * samples + n).await);
            }
            taken
        })
    });
    let mut taken = Vec::new();
    for worker in futures::future::join_all(workers).await {
        taken.extend(worker.expect("worker"));
    }
    figures(taken)
}

fn row(what: &str, memory: &Figures, redis: &Figures) {
    println!(
        "| {what} | {} / {} | {} / {} | +{} / +{} |",
        micros(memory.p50),
        micros(memory.p99),
        micros(redis.p50),
        micros(redis.p99),
        micros(redis.p50.saturating_sub(memory.p50)),
        micros(redis.p99.saturating_sub(memory.p99)),
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let samples: usize = std::env::var("PCG_BENCH_SAMPLES").ok().and_then(|s| s.parse().ok()).unwrap_or(5000);
    let (_redis, url) = start_redis();
    let options = RedisOptions {
        key_prefix: "bench:".to_owned(),
        connect_timeout: Duration::from_secs(2),
        command_timeout: Duration::from_secs(2),
        tls_ca: None,
    };
    let store = RedisStore::new(&url, options, Arc::new(SharedStateHealth::new())).expect("store");
    let lease = Duration::from_secs(120);
    let retention = Duration::from_secs(3600);
    let memory_records: Arc<dyn IdempotencyStore> = Arc::new(InMemoryIdempotency::new(lease, retention));
    let redis_records: Arc<dyn IdempotencyStore> = Arc::new(RedisIdempotency::new(store.clone(), lease, retention));
    let memory_budget: Arc<dyn RateBudget> = Arc::new(InMemoryRateBudget::per_minute(500, 50));
    let redis_budget: Arc<dyn RateBudget> = Arc::new(RedisRateBudget::per_minute(store, 500, 50, 1));

    println!("shared state: {samples} samples per figure, redis-server on loopback");
    println!();
    println!("| store work | in memory p50 / p99 | Redis p50 / p99 | added p50 / p99 |");
    println!("|---|---|---|---|");
    let m = sequential(samples, |_| purchase(&*memory_records)).await;
    let r = sequential(samples, |_| purchase(&*redis_records)).await;
    row("purchase: claim + save + release, one at a time", &m, &r);
    let m = sequential(samples, |n| throttled(&*memory_budget, n)).await;
    let r = sequential(samples, |n| throttled(&*redis_budget, n)).await;
    row("throttled call: take a budget token, one at a time", &m, &r);
    let (records, budget) = (memory_records.clone(), memory_budget.clone());
    let m = concurrent(samples, move |_| {
        let records = records.clone();
        async move { purchase(&*records).await }
    })
    .await;
    let records = redis_records.clone();
    let r = concurrent(samples, move |_| {
        let records = records.clone();
        async move { purchase(&*records).await }
    })
    .await;
    row("purchase, 16 at once", &m, &r);
    let m = concurrent(samples, move |n| {
        let budget = budget.clone();
        async move { throttled(&*budget, n).await }
    })
    .await;
    let budget = redis_budget.clone();
    let r = concurrent(samples, move |n| {
        let budget = budget.clone();
        async move { throttled(&*budget, n).await }
    })
    .await;
    row("throttled call, 16 at once", &m, &r);
}
