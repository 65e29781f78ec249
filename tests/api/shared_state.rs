//! One contract per store, run against the in-memory and the Redis implementation with the same
//! assertions. The Redis runs use a `redis-server` of their own; "two replicas" are two store
//! handles on one Redis (the in-memory store is shared by one process, so both handles are it).

use std::{sync::Arc, time::Duration};

use partner_center_gateway::{
    error::{ErrorKind, Reason},
    facade::state::{
        Claim, IdempotencyScope, IdempotencyStore, InMemoryIdempotency, InMemoryRecentOrders, PurchaseRecord,
        RecentOrders,
    },
    limits::{InMemoryRateBudget, RateBudget},
    model::{
        CartId, CustomerId, OrderId,
        commerce::{AzurePlan, AzurePlanStatus},
    },
    shared_state::{
        InMemoryRefreshTokens, RefreshTokenStore, SharedStateHealth,
        crypto::SealingKey,
        redis::{RedisIdempotency, RedisOptions, RedisRateBudget, RedisRecentOrders, RedisRefreshTokens, RedisStore},
    },
};
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use crate::redis_server::RedisServer;

const LEASE: Duration = Duration::from_millis(300);
const RETENTION: Duration = Duration::from_millis(1500);
const WINDOW: Duration = Duration::from_millis(600);
const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn store_on(url: &str) -> RedisStore {
    let options = RedisOptions {
        key_prefix: "test:".to_owned(),
        connect_timeout: Duration::from_millis(500),
        command_timeout: Duration::from_millis(500),
        tls_ca: None,
    };
    let store = RedisStore::new(url, options, Arc::new(SharedStateHealth::new())).expect("store");
    store.spawn_health_check(Duration::from_millis(100));
    store
}

fn customer(n: u8) -> CustomerId {
    CustomerId::parse("c", &format!("11111111-1111-1111-1111-1111111111{n:02}")).expect("id")
}

fn scope(key: &str) -> IdempotencyScope {
    IdempotencyScope { partner: "contoso".to_owned(), customer: customer(1), key: key.to_owned() }
}

fn plan() -> AzurePlan {
    AzurePlan {
        customer_id: customer(1),
        order_id: OrderId::parse("o", "order-1").expect("id"),
        subscription_id: None,
        status: AzurePlanStatus::Provisioning,
        catalog_item_id: "DZH318Z0BPS6:0001:DZH318Z0BML6".to_owned(),
        order_status: "pending".to_owned(),
        replayed: false,
    }
}

async fn run(store: &dyn IdempotencyStore, scope: &IdempotencyScope, fingerprint: &str) -> PurchaseRecord {
    match store.claim(scope, fingerprint).await.expect("claim") {
        Claim::Run(record) => record,
        Claim::Done(_) => panic!("expected Run, got Done"),
        Claim::Busy => panic!("expected Run, got Busy"),
        Claim::Mismatch => panic!("expected Run, got Mismatch"),
    }
}

fn outcome(claim: &Claim) -> &'static str {
    match claim {
        Claim::Run(_) => "run",
        Claim::Done(_) => "done",
        Claim::Busy => "busy",
        Claim::Mismatch => "mismatch",
    }
}

/// The idempotency contract; `a` and `b` are two replicas' handles on the same store.
async fn idempotency_contract(a: Arc<dyn IdempotencyStore>, b: Arc<dyn IdempotencyStore>) {
    let k = scope("key-1");
    let mut record = run(&*a, &k, "US|").await;
    let derived = PurchaseRecord::new(&k, "US|".to_owned());
    assert_eq!(record.cart_request_id, derived.cart_request_id, "a fresh record carries the derived ids");
    assert_eq!(record.checkout_request_id, derived.checkout_request_id);
    assert!(record.cart_id.is_none() && record.result.is_none());

    assert_eq!(outcome(&b.claim(&k, "US|").await.expect("claim")), "busy", "held by a");
    assert_eq!(outcome(&b.claim(&k, "DE|").await.expect("claim")), "mismatch", "other parameters");
    record.cart_id = Some(CartId::parse("c", "22222222-2222-2222-2222-222222222222").expect("id"));
    a.save(&k, &record).await.expect("save");
    assert_eq!(outcome(&b.claim(&k, "US|").await.expect("claim")), "busy", "save keeps the claim");
    record.renew_checkout(&k);
    a.release(&k, &record).await.expect("release");

    let resumed = run(&*b, &k, "US|").await;
    assert_eq!(resumed.cart_id, record.cart_id, "b resumes with a's progress");
    assert_eq!(resumed.checkout_request_id, record.checkout_request_id);
    assert_eq!(resumed.checkout_attempt, 1);
    let mut done = resumed.clone();
    done.result = Some(plan());
    b.release(&k, &done).await.expect("release");
    match a.claim(&k, "US|").await.expect("claim") {
        Claim::Done(plan) => assert_eq!(plan.order_id.as_str(), "order-1"),
        other => panic!("expected Done, got {}", outcome(&other)),
    }
    assert_eq!(outcome(&a.claim(&k, "DE|").await.expect("claim")), "mismatch");

    // Scopes: another key, customer or partner is another record.
    run(&*a, &scope("key-2"), "US|").await;
    run(&*a, &IdempotencyScope { customer: customer(2), ..k.clone() }, "US|").await;
    run(&*a, &IdempotencyScope { partner: "northwind".to_owned(), ..k.clone() }, "US|").await;

    // A crashed holder's lease lapses.
    let crashed = scope("key-3");
    run(&*a, &crashed, "US|").await;
    assert_eq!(outcome(&b.claim(&crashed, "US|").await.expect("claim")), "busy");
    tokio::time::sleep(LEASE + Duration::from_millis(100)).await;
    run(&*b, &crashed, "US|").await;

    // Saving a record that does not exist creates none.
    let ghost = scope("key-4");
    a.save(&ghost, &PurchaseRecord::new(&ghost, "XX|".to_owned())).await.expect("save");
    run(&*b, &ghost, "US|").await;

    // 100 concurrent claims of one fresh key: exactly one runs.
    let contested = scope("key-5");
    let claims = (0..100).map(|i| {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        let contested = contested.clone();
        tokio::spawn(async move { outcome(&store.claim(&contested, "US|").await.expect("claim")) })
    });
    let outcomes: Vec<&str> = futures::future::join_all(claims).await.into_iter().map(|r| r.expect("task")).collect();
    assert_eq!(outcomes.iter().filter(|o| **o == "run").count(), 1, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| **o == "busy").count(), 99);

    // Records are kept for the retention, then forgotten.
    tokio::time::sleep(RETENTION).await;
    let fresh = run(&*a, &k, "DE|").await;
    assert!(fresh.result.is_none(), "an expired record starts over");
}

async fn recent_orders_contract(a: Arc<dyn RecentOrders>, b: Arc<dyn RecentOrders>) {
    let (o1, o2) = (OrderId::parse("o", "order-1").expect("id"), OrderId::parse("o", "order-2").expect("id"));
    a.record("contoso", customer(1), &o1).await.expect("record");
    tokio::time::sleep(Duration::from_millis(5)).await;
    a.record("contoso", customer(1), &o2).await.expect("record");
    b.record("contoso", customer(1), &o1).await.expect("a repeat is kept once");
    assert_eq!(b.recent("contoso", customer(1)).await.expect("recent"), vec![o2.clone(), o1.clone()], "newest first");
    assert!(b.recent("northwind", customer(1)).await.expect("recent").is_empty());
    assert!(b.recent("contoso", customer(2)).await.expect("recent").is_empty());
    tokio::time::sleep(WINDOW + Duration::from_millis(50)).await;
    assert!(a.recent("contoso", customer(1)).await.expect("recent").is_empty(), "expired after the window");
}

/// `per_minute = 600`, `burst = 10`: 10 at once, then 590/60 per second. Two handles hammer one
/// key for 1.5 s; the grants stay within burst + refill × elapsed, and the budget is usable.
async fn budget_contract(a: Arc<dyn RateBudget>, b: Arc<dyn RateBudget>) {
    let refill = 590.0 / 60.0;
    let started = Instant::now();
    let mut granted = 0u32;
    let mut first_wait = None;
    while started.elapsed() < Duration::from_millis(1500) {
        for budget in [&a, &b] {
            match budget.try_acquire("contoso/orders").await {
                Ok(()) => granted += 1,
                Err(wait) => {
                    first_wait.get_or_insert(wait);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let bound = 10.0 + refill * elapsed + 1.0;
    assert!(f64::from(granted) <= bound, "{granted} granted in {elapsed:.2} s, bound {bound:.1}");
    assert!(f64::from(granted) >= 10.0 + refill * 1.5 * 0.7, "the budget is usable: {granted}");
    let wait = first_wait.expect("the burst ran out");
    assert!(wait > Duration::ZERO && wait <= Duration::from_secs_f64(1.0 / refill + 0.01), "{wait:?}");
    for _ in 0..10 {
        assert!(a.try_acquire("northwind/orders").await.is_ok(), "another key has its own burst");
    }
}

async fn refresh_token_contract(store: Arc<dyn RefreshTokenStore>) {
    let secret = |s: &str| SecretString::from(s.to_owned());
    assert!(store.load("contoso").await.expect("load").is_none());
    assert!(store.store("contoso", "lineage-a", &secret("rt-1")).await.expect("store"));
    assert!(store.store("contoso", "lineage-a", &secret("rt-2")).await.expect("store"), "newest wins");
    let stored = store.load("contoso").await.expect("load").expect("stored");
    assert_eq!((stored.lineage.as_str(), stored.token.expose_secret()), ("lineage-a", "rt-2"));
    assert!(stored.superseded.is_empty());
    assert!(store.store("contoso", "lineage-b", &secret("op-1")).await.expect("store"), "an operator's new token");
    let stored = store.load("contoso").await.expect("load").expect("stored");
    assert_eq!((stored.lineage.as_str(), stored.token.expose_secret()), ("lineage-b", "op-1"));
    assert_eq!(stored.superseded, vec!["lineage-a".to_owned()]);
    assert!(!store.store("contoso", "lineage-a", &secret("late")).await.expect("store"), "superseded");
    assert_eq!(store.load("contoso").await.expect("load").expect("stored").token.expose_secret(), "op-1");
    assert!(store.load("northwind").await.expect("load").is_none(), "per partner");
}

#[tokio::test]
async fn idempotency_contract_in_memory() {
    let store: Arc<dyn IdempotencyStore> = Arc::new(InMemoryIdempotency::new(LEASE, RETENTION));
    idempotency_contract(store.clone(), store).await;
}

#[tokio::test]
async fn idempotency_contract_redis() {
    let redis = RedisServer::start();
    let replica =
        || Arc::new(RedisIdempotency::new(store_on(&redis.url()), LEASE, RETENTION)) as Arc<dyn IdempotencyStore>;
    idempotency_contract(replica(), replica()).await;
    // Every key is namespaced and carries the partner as a Cluster hash tag.
    let keys = redis_keys(&redis).await;
    assert!(!keys.is_empty());
    assert!(keys.iter().all(|k| k.starts_with("test:{contoso}:") || k.starts_with("test:{northwind}:")), "{keys:?}");
}

#[tokio::test]
async fn recent_orders_contract_in_memory() {
    let store: Arc<dyn RecentOrders> = Arc::new(InMemoryRecentOrders::new(WINDOW));
    recent_orders_contract(store.clone(), store).await;
}

#[tokio::test]
async fn recent_orders_contract_redis() {
    let redis = RedisServer::start();
    let replica = || Arc::new(RedisRecentOrders::new(store_on(&redis.url()), WINDOW)) as Arc<dyn RecentOrders>;
    recent_orders_contract(replica(), replica()).await;
}

#[tokio::test]
async fn budget_contract_in_memory() {
    let budget: Arc<dyn RateBudget> = Arc::new(InMemoryRateBudget::per_minute(600, 10));
    budget_contract(budget.clone(), budget).await;
}

#[tokio::test]
async fn budget_contract_redis() {
    let redis = RedisServer::start();
    let replica = || Arc::new(RedisRateBudget::per_minute(store_on(&redis.url()), 600, 10, 2)) as Arc<dyn RateBudget>;
    budget_contract(replica(), replica()).await;
}

#[tokio::test]
async fn refresh_token_contract_in_memory() {
    refresh_token_contract(Arc::new(InMemoryRefreshTokens::default())).await;
}

#[tokio::test]
async fn refresh_token_contract_redis_and_sealed_at_rest() {
    let redis = RedisServer::start();
    let key = Arc::new(SealingKey::parse(KEY).expect("key"));
    refresh_token_contract(Arc::new(RedisRefreshTokens::new(store_on(&redis.url()), key))).await;
    let mut connection =
        redis::Client::open(redis.url()).expect("client").get_multiplexed_async_connection().await.expect("connect");
    let raw: Vec<String> =
        redis::cmd("HVALS").arg("test:{contoso}:refresh-token").query_async(&mut connection).await.expect("hvals");
    assert!(!raw.is_empty());
    assert!(raw.iter().all(|v| !v.contains("op-1") && !v.contains("rt-2")), "sealed: {raw:?}");
    // Another key cannot open it: the store reports an error, not a wrong token.
    let other = Arc::new(SealingKey::parse(&"ab".repeat(32)).expect("key"));
    let error = RedisRefreshTokens::new(store_on(&redis.url()), other).load("contoso").await.err().expect("refused");
    assert_eq!(error.kind(), ErrorKind::Internal);
}

/// Redis down: purchases' store calls fail fast and closed, the budget falls back to this
/// replica's share, and everything comes back on its own when Redis returns.
#[tokio::test]
async fn an_unreachable_redis_fails_closed_falls_back_to_a_share_and_recovers() {
    let mut redis = RedisServer::start();
    let store = store_on(&redis.url());
    let idempotency = RedisIdempotency::new(store.clone(), LEASE, RETENTION);
    let budget = RedisRateBudget::per_minute(store.clone(), 600, 10, 2);
    let orders = RedisRecentOrders::new(store.clone(), WINDOW);
    let k = scope("down-1");
    assert!(matches!(idempotency.claim(&k, "US|").await.expect("claim"), Claim::Run(_)));

    redis.stop();
    let started = Instant::now();
    let error = idempotency.claim(&scope("down-2"), "US|").await.err().expect("fails closed");
    assert!(started.elapsed() < Duration::from_secs(2), "bounded by the command timeout");
    assert_eq!((error.kind(), error.reason()), (ErrorKind::Unavailable, Reason::SharedStateUnavailable));
    assert!(error.retry_after().is_some());
    assert!(!store.health().is_up());
    let started = Instant::now();
    assert!(orders.recent("contoso", customer(1)).await.is_err());
    assert!(started.elapsed() < Duration::from_millis(100), "a store marked down fails at once");
    // The fallback share: 10 / 2 replicas = 5 at once.
    let granted = futures::future::join_all((0..10).map(|_| budget.try_acquire("contoso/orders"))).await;
    assert_eq!(granted.iter().filter(|g| g.is_ok()).count(), 5, "{granted:?}");

    redis.restart();
    let started = Instant::now();
    while !store.health().is_up() {
        assert!(started.elapsed() < Duration::from_secs(5), "recovers on its own");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(matches!(idempotency.claim(&scope("down-2"), "US|").await.expect("claim"), Claim::Run(_)));
    let granted = futures::future::join_all((0..10).map(|_| budget.try_acquire("contoso/orders"))).await;
    assert_eq!(granted.iter().filter(|g| g.is_ok()).count(), 10, "the shared budget (a fresh bucket) again");
}

async fn redis_keys(redis: &RedisServer) -> Vec<String> {
    let mut connection =
        redis::Client::open(redis.url()).expect("client").get_multiplexed_async_connection().await.expect("connect");
    redis::cmd("KEYS").arg("*").query_async(&mut connection).await.expect("keys")
}

/// Start-up: bad Redis settings stop the gateway naming the key (never the URL); a Redis that is
/// down does not: the gateway starts degraded, serves reads and refuses purchases.
#[tokio::test]
async fn redis_settings_are_checked_at_start_and_a_down_redis_only_degrades() {
    use partner_center_gateway::app::Application;

    use crate::helpers::{FABRIKAM, TestApp, test_settings};

    let dir = std::env::temp_dir().join(format!("pcg-redis-start-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let url_file = dir.join("url");
    std::fs::write(&url_file, "https://:secret-in-file@example.com\n").expect("write");
    let bad_key = dir.join("key");
    std::fs::write(&bad_key, "too-short").expect("write");
    type Customize<'a> = Box<dyn Fn(&mut partner_center_gateway::config::Settings) + 'a>;
    let cases: [(&str, Customize); 3] = [
        ("redis.url_file", Box::new(|s| s.redis.url_file = Some(dir.join("missing")))),
        ("redis.url_file", Box::new(|s| s.redis.url_file = Some(url_file.clone()))),
        (
            "redis.encryption_key_file",
            Box::new(|s| {
                s.redis.url = Some(SecretString::from("redis://127.0.0.1:1".to_owned()));
                s.redis.encryption_key_file = Some(bad_key.clone());
            }),
        ),
    ];
    for (key, customize) in cases {
        let mut settings = test_settings();
        customize(&mut settings);
        let error = Application::build(settings).await.err().expect("refused").to_string();
        assert!(error.contains(key), "{error}");
        assert!(!error.contains("secret-in-file") && !error.contains("too-short"), "{error}");
    }
    let _ = std::fs::remove_dir_all(&dir);

    // Nothing listens on the port: the gateway starts anyway.
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let app = TestApp::spawn_with(|s| {
        s.redis.url = Some(SecretString::from(format!("redis://127.0.0.1:{port}")));
        s.redis.command_timeout = Duration::from_millis(200);
    })
    .await;
    let ready = app.http.get(app.url("/readyz")).send().await.expect("readyz");
    assert_eq!(ready.status(), 200);
    assert!(ready.text().await.unwrap_or_default().starts_with("ready (degraded"));
    let token = app.admin_token();
    let (status, _) = app.get_json(&format!("/v1/customers/{FABRIKAM}"), &token).await;
    assert_eq!(status, 200, "reads work");
    let (status, body) = app.get_json(&format!("/v1/customers/{FABRIKAM}/orders"), &token).await;
    assert_eq!(status, 200, "order lists too: {body}");
    let (status, body) = app.create_azure_plan(FABRIKAM, "degraded-1", &token).await;
    assert_eq!((status, body["reason"].as_str()), (503, Some("SHARED_STATE_UNAVAILABLE")), "{body}");
    assert_eq!(app.counters().calls_mentioning("/carts"), 0, "nothing was bought");
}

/// `rediss://`: the server's certificate is verified, against `redis.tls_ca_file` when given.
#[tokio::test]
async fn rediss_verifies_the_server_against_the_configured_ca() {
    let (redis, ca_file) = RedisServer::start_tls();
    let options = |tls_ca: Option<Vec<u8>>| RedisOptions {
        key_prefix: "tls:".to_owned(),
        connect_timeout: Duration::from_secs(2),
        command_timeout: Duration::from_secs(2),
        tls_ca,
    };
    let ca = std::fs::read(&ca_file).expect("ca");
    let trusted = RedisStore::new(&redis.url(), options(Some(ca)), Arc::new(SharedStateHealth::new())).expect("store");
    let records = RedisIdempotency::new(trusted, LEASE, RETENTION);
    assert!(matches!(records.claim(&scope("tls-1"), "US|").await.expect("over TLS"), Claim::Run(_)));
    assert!(matches!(records.claim(&scope("tls-1"), "US|").await.expect("over TLS"), Claim::Busy));

    // The system's roots do not know the test CA: refused, as any unknown certificate must be.
    let untrusted = RedisStore::new(&redis.url(), options(None), Arc::new(SharedStateHealth::new())).expect("store");
    let error = RedisIdempotency::new(untrusted, LEASE, RETENTION).claim(&scope("tls-2"), "US|").await.err();
    assert_eq!(error.expect("refused").reason(), Reason::SharedStateUnavailable);
}
