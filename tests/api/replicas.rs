//! Three gateway processes (the real binary) sharing one Redis, in front of one simulator process
//! (`partner-center-gateway simulate`): what one replica did, the others know.

use std::{
    io::Read,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::future::join_all;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use partner_center_gateway::auth::Permission;
use partner_center_simulator::{FaultKind, FaultRule, seed};
use serde_json::{Value, json};

use crate::redis_server::{PASSWORD, RedisServer};

const BINARY: &str = env!("CARGO_BIN_EXE_partner-center-gateway");
const ISSUER: &str = "https://issuer.replicas.test/";
const AUDIENCE: &str = "api://partner-center-gateway-replicas";
/// 32 bytes, base64: the key sealing refresh tokens in Redis.
const SEALING_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// A child process whose output is collected; killed when dropped.
struct Process {
    child: Child,
    output: Arc<Mutex<Vec<u8>>>,
}

impl Process {
    fn spawn(args: &[&str]) -> Self {
        let mut child = Command::new(BINARY)
            .args(args)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let output = Arc::new(Mutex::new(Vec::new()));
        for pipe in [
            child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>),
            child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let sink = output.clone();
            std::thread::spawn(move || {
                let mut pipe = pipe;
                let mut buffer = [0u8; 8192];
                while let Ok(n) = pipe.read(&mut buffer) {
                    if n == 0 {
                        break;
                    }
                    sink.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(&buffer[..n]);
                }
            });
        }
        Self { child, output }
    }

    fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// The text after `marker` up to the next whitespace, once the process printed it.
    async fn wait_for(&self, marker: &str) -> String {
        for _ in 0..500 {
            let output = self.output();
            if let Some(at) = output.find(marker) {
                let rest = &output[at + marker.len()..];
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                return rest[..end].to_owned();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("`{marker}` never printed: {}", self.output());
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Gateway {
    process: Process,
    rest: String,
}

/// Redis, the simulator and three gateways; `budget` is (per minute, burst).
struct Cluster {
    redis: RedisServer,
    _simulator: Process,
    simulator: String,
    gateways: Vec<Gateway>,
    http: reqwest::Client,
    token: String,
    dir: PathBuf,
}

impl Cluster {
    async fn start(budget: (u32, u32)) -> Self {
        let redis = RedisServer::start();
        let simulator_process = Process::spawn(&["simulate", "--listen", "127.0.0.1:0"]);
        let simulator = simulator_process.wait_for("Partner Center simulator on ").await;
        let dir = std::env::temp_dir().join(format!("pcg-replicas-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let key_file = dir.join("sealing-key");
        std::fs::write(&key_file, SEALING_KEY).expect("key file");
        let public_key = format!("{}/tests/fixtures/rsa-public.pem", env!("CARGO_MANIFEST_DIR"));
        let partner = &seed::PARTNERS[0];
        let config = format!(
            r#"
[auth]
mode = "jwt"
issuer = "{ISSUER}"
audience = "{AUDIENCE}"
public_key_file = "{public_key}"

[limits]
caller_requests_per_minute = 0

[partner_center]
base_url = "{simulator}"
authority = "{simulator}"
budget_per_minute = {per_minute}
budget_burst = {burst}
caller_budget_share = 1.0
# Each read its own upstream call, so the budget test counts calls, not shared answers.
coalesce_reads = false

[partner_center.retry]
max_attempts = 2
base_delay = "5ms"
max_delay = "50ms"

[partner_center.circuit_breaker]
failure_threshold = 1000000

[[partner_center.partners]]
id = "{id}"
tenant_id = "{tenant}"
client_id = "{client}"
client_secret = "{secret}"
refresh_token = "{refresh}"

[redis]
url = "{redis}"
key_prefix = "it:"
# Generous: a loaded CI machine must not trip the per-replica fallback of the budget test.
command_timeout = "2s"
expected_replicas = 3
encryption_key_file = "{key_file}"
"#,
            per_minute = budget.0,
            burst = budget.1,
            id = partner.id,
            tenant = partner.tenant_id,
            client = partner.client_id,
            secret = partner.client_secret,
            refresh = partner.refresh_token,
            redis = redis.url(),
            key_file = key_file.display(),
        );
        let config_file = dir.join("gateway.toml");
        std::fs::write(&config_file, config).expect("config");
        let config_file = config_file.to_string_lossy().into_owned();
        let mut gateways = Vec::new();
        for _ in 0..3 {
            let process = Process::spawn(&[
                "--config",
                &config_file,
                "serve",
                "--rest-listen",
                "127.0.0.1:0",
                "--grpc-listen",
                "127.0.0.1:0",
            ]);
            let rest = format!("http://{}", process.wait_for("rest=").await);
            gateways.push(Gateway { process, rest });
        }
        let claims = json!({
            "iss": ISSUER, "aud": AUDIENCE, "sub": "replica-tests",
            "iat": jsonwebtoken::get_current_timestamp(), "exp": jsonwebtoken::get_current_timestamp() + 600,
            "partner": partner.id, "customers": "*",
            "roles": Permission::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>()
        });
        let private_key =
            std::fs::read(format!("{}/tests/fixtures/rsa-private.pem", env!("CARGO_MANIFEST_DIR"))).expect("fixture");
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::RS256),
            &claims,
            &EncodingKey::from_rsa_pem(&private_key).expect("key"),
        )
        .expect("sign");
        let cluster = Self {
            redis,
            _simulator: simulator_process,
            simulator,
            gateways,
            http: reqwest::Client::builder().timeout(Duration::from_secs(20)).build().expect("client"),
            token,
            dir,
        };
        for gateway in 0..3 {
            cluster.wait_ready(gateway, "ready").await;
        }
        cluster
    }

    /// Waits until `/readyz` answers 200 with exactly `body` (or starting with it, when it ends
    /// with `…`).
    async fn wait_ready(&self, gateway: usize, body: &str) {
        let wanted = |text: &str| match body.strip_suffix('…') {
            Some(prefix) => text.starts_with(prefix),
            None => text == body,
        };
        let mut last = String::new();
        for _ in 0..250 {
            if let Ok(response) = self.http.get(format!("{}/readyz", self.gateways[gateway].rest)).send().await
                && response.status() == 200
            {
                last = response.text().await.unwrap_or_default();
                if wanted(&last) {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("gateway {gateway} never said `{body}` (last: `{last}`): {}", self.gateways[gateway].process.output());
    }

    async fn readyz(&self, gateway: usize) -> (u16, String) {
        let response = self.http.get(format!("{}/readyz", self.gateways[gateway].rest)).send().await.expect("readyz");
        (response.status().as_u16(), response.text().await.unwrap_or_default())
    }

    /// `POST .../azure-plans` on `gateway`: status, body, `Retry-After`.
    async fn purchase(&self, gateway: usize, customer: &str, key: &str) -> (u16, Value, Option<String>) {
        let response = self
            .http
            .post(format!("{}/v1/customers/{customer}/azure-plans", self.gateways[gateway].rest))
            .bearer_auth(&self.token)
            .header("Idempotency-Key", key)
            .json(&json!({}))
            .send()
            .await
            .expect("purchase");
        let status = response.status().as_u16();
        let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
        (status, response.json().await.unwrap_or(Value::Null), retry_after)
    }

    async fn get(&self, gateway: usize, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.gateways[gateway].rest))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("get");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn order_ids(&self, gateway: usize, customer: &str) -> Vec<String> {
        let (status, body) = self.get(gateway, &format!("/v1/customers/{customer}/orders")).await;
        assert_eq!(status, 200, "{body}");
        body["items"].as_array().into_iter().flatten().filter_map(|o| o["id"].as_str().map(str::to_owned)).collect()
    }

    async fn simulator_post(&self, path: &str, body: Value) {
        let response = self.http.post(format!("{}{path}", self.simulator.trim_end_matches('/'))).json(&body).send();
        let status = response.await.expect("simulator control").status().as_u16();
        assert!((200..300).contains(&status), "{path}: {status}");
    }

    /// The sum of a counter over the three gateways' `/metrics`.
    async fn metric_sum(&self, name: &str) -> f64 {
        let mut sum = 0.0;
        for gateway in &self.gateways {
            let text = self.http.get(format!("{}/metrics", gateway.rest)).send().await.expect("metrics");
            let text = text.text().await.unwrap_or_default();
            sum += text
                .lines()
                .filter(|line| line.starts_with(name))
                .filter_map(|line| line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
                .sum::<f64>();
        }
        sum
    }

    async fn counters(&self) -> Value {
        let url = format!("{}/_simulator/counters", self.simulator.trim_end_matches('/'));
        self.http.get(url).send().await.expect("counters").json().await.expect("json")
    }

    /// The customer's checkout is processed by the simulator but its answer never arrives, for
    /// both of a gateway's attempts (the first rule lets the cart creation through).
    async fn lose_checkout_answers(&self, customer: &str) {
        let prefix = format!("/v1/customers/{customer}/carts");
        let pass = FaultRule::new(FaultKind::Delay { delay_ms: 0, delay_max_ms: None }).on("POST", &prefix).times(1);
        let drop = FaultRule::new(FaultKind::DropAfterProcessing).on("POST", &prefix).times(2);
        for rule in [pass, drop] {
            self.simulator_post("/_simulator/faults", serde_json::to_value(rule).expect("rule")).await;
        }
    }

    /// Retries on `gateway` until the purchase answers with a plan (the lease of a concurrent
    /// retry may still hold it for a moment).
    async fn purchase_until_done(&self, gateway: usize, customer: &str, key: &str) -> Value {
        for _ in 0..50 {
            let (status, body, _) = self.purchase(gateway, customer, key).await;
            match status {
                200 | 201 => return body,
                409 if body["reason"] == "IDEMPOTENCY_KEY_IN_USE" => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                _ => panic!("purchase on gateway {gateway}: {status} {body}"),
            }
        }
        panic!("the purchase of {customer} never finished");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Contoso's generated customers with an accepted MCA (even numbers).
fn customer(n: usize) -> String {
    format!("c0ffee00-0000-4000-8000-{:012x}", 2 * n)
}

// (a) a lost answer retried on other replicas buys once, for 20 customers at once; (b) an order
// placed through one replica is listed by another at once; (d) Redis killed mid-run: purchases
// 503 SHARED_STATE_UNAVAILABLE, reads work, readiness reports it, and after Redis returns
// (empty) a retried purchase still buys once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_buy_once_list_at_once_and_fail_closed_without_redis() {
    let mut cluster = Cluster::start((0, 0)).await;
    let customers: Vec<String> = (0..20).map(customer).collect();
    let (x, y, fresh) = (customer(20), customer(21), customer(22));
    let all: Vec<String> = customers.iter().cloned().chain([x.clone(), y.clone(), fresh.clone()]).collect();
    let mut before = Vec::new();
    for c in &all {
        before.push(cluster.order_ids(1, c).await.len());
    }
    for c in customers.iter().chain([&x]) {
        cluster.lose_checkout_answers(c).await;
    }

    // (a) Replica A's answer is lost; B and C retry at once, then C until done.
    let flows = customers.iter().map(|c| {
        let cluster = &cluster;
        async move {
            let key = format!("lost-{c}");
            let (status, body, _) = cluster.purchase(0, c, &key).await;
            assert_eq!((status, body["reason"].as_str()), (502, Some("UPSTREAM_UNREACHABLE")), "{body}");
            let ((b, b_body, _), (c_status, c_body, _)) =
                tokio::join!(cluster.purchase(1, c, &key), cluster.purchase(2, c, &key));
            let mut orders = Vec::new();
            for (status, body) in [(b, b_body), (c_status, c_body)] {
                match status {
                    200 | 201 => orders.push(body["orderId"].as_str().map(str::to_owned)),
                    409 => assert_eq!(body["reason"], "IDEMPOTENCY_KEY_IN_USE", "{body}"),
                    _ => panic!("retry: {status} {body}"),
                }
            }
            let done = cluster.purchase_until_done(2, c, &key).await;
            assert_eq!(done["replayed"], true, "{done}");
            orders.push(done["orderId"].as_str().map(str::to_owned));
            let first = orders[0].clone().expect("an order id");
            assert!(orders.iter().all(|o| o.as_deref() == Some(&first)), "one order: {orders:?}");
            // (b) Read-your-writes on the replica that did not place it.
            let listed = cluster.order_ids(0, c).await;
            assert_eq!(listed.first(), Some(&first), "A lists B's order at once: {listed:?}");
            first
        }
    });
    let orders = join_all(flows).await;
    assert_eq!(orders.len(), 20);

    // (b) A plain purchase through A, listed by B and C at once.
    let placed = cluster.purchase_until_done(0, &fresh, "fresh-1").await;
    let placed = placed["orderId"].as_str().expect("order id").to_owned();
    for gateway in [1, 2] {
        assert_eq!(cluster.order_ids(gateway, &fresh).await.first(), Some(&placed), "gateway {gateway}");
    }

    // Every replica holds an app+user token before Redis loses its data. The simulator accepts
    // only the newest refresh token (stricter than Azure AD, where a superseded refresh token
    // stays valid until it expires): a replica that had never redeemed one would present the
    // configured, long-superseded token once Redis forgot the shared rotation.
    for gateway in 0..3 {
        let (status, body) = cluster.get(gateway, &format!("/v1/customers/{x}/agreements")).await;
        assert_eq!(status, 200, "an app+user read on gateway {gateway}: {body}");
    }

    // (d) A purchase in progress when Redis dies.
    let (status, _, _) = cluster.purchase(0, &x, "outage-x").await;
    assert_eq!(status, 502, "the answer of X's checkout is lost; its record (with the cart) is in Redis");
    cluster.redis.stop();
    let (status, body, retry_after) = cluster.purchase(0, &y, "outage-y").await;
    assert_eq!((status, body["reason"].as_str()), (503, Some("SHARED_STATE_UNAVAILABLE")), "{body}");
    assert!(!body.to_string().contains(PASSWORD) && !body.to_string().contains("127.0.0.1"), "{body}");
    assert!(retry_after.is_some(), "503 with Retry-After");
    let (status, body, _) = cluster.purchase(1, &x, "outage-x").await;
    assert_eq!((status, body["reason"].as_str()), (503, Some("SHARED_STATE_UNAVAILABLE")), "{body}");
    for gateway in 0..3 {
        let (status, body) = cluster.get(gateway, &format!("/v1/customers/{x}")).await;
        assert_eq!(status, 200, "reads keep working: {body}");
        cluster.order_ids(gateway, &customers[0]).await;
    }
    let (status, body) = cluster.readyz(1).await;
    assert_eq!(status, 200, "still in rotation");
    assert!(body.starts_with("ready (degraded"), "{body}");
    for gateway in 0..3 {
        cluster.wait_ready(gateway, "ready (degraded: shared state unreachable…").await;
    }

    cluster.redis.restart();
    for gateway in 0..3 {
        cluster.wait_ready(gateway, "ready").await;
    }
    // The record is gone with Redis; the derived request ids find the same cart and checkout.
    let x_order = cluster.purchase_until_done(2, &x, "outage-x").await;
    let y_order = cluster.purchase_until_done(2, &y, "outage-y").await;
    assert!(x_order["orderId"].is_string() && y_order["orderId"].is_string());

    // Partner Center lists new orders after 15 minutes: move its clock, then count.
    cluster.simulator_post("/_simulator/clock/advance", json!({ "seconds": 1200 })).await;
    for (c, before) in all.iter().zip(before) {
        let after = cluster.order_ids(1, c).await.len();
        assert_eq!(after, before + 1, "exactly one new order for {c}");
    }
    for gateway in &cluster.gateways {
        let logs = gateway.process.output();
        assert!(logs.contains("shared state (redis) unreachable"), "the outage was logged");
        assert!(!logs.contains(PASSWORD), "without the Redis password: {logs}");
    }
}

// (c) One budget for the fleet: 60 per minute with a burst of 5, three replicas hammering one
// partner; (e) a refresh token Azure AD rotated for one replica is the one the next redeems.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_share_one_partner_budget_and_the_rotated_refresh_token() {
    let cluster = Cluster::start((60, 5)).await;
    let path = format!("/v1/customers/{}", seed::CUSTOMER_FABRIKAM);
    let started = Instant::now();
    let window = Duration::from_secs(4);
    let hammer = (0..6).map(|worker| {
        let (cluster, path) = (&cluster, &path);
        async move {
            let (mut ok, mut limited) = (0u32, 0u32);
            while started.elapsed() < window {
                let (status, body) = cluster.get(worker % 3, path).await;
                match status {
                    200 => ok += 1,
                    429 => {
                        assert_eq!(body["reason"], "PARTNER_BUDGET_EXHAUSTED", "{body}");
                        limited += 1;
                    }
                    _ => panic!("{status} {body}"),
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            (ok, limited)
        }
    });
    let results = join_all(hammer).await;
    let elapsed = started.elapsed().as_secs_f64();
    let ok: u32 = results.iter().map(|r| r.0).sum();
    let limited: u32 = results.iter().map(|r| r.1).sum();
    let counters = cluster.counters().await;
    let reached = counters["calls"]["GET /v1/customers/{customer_id}"].as_u64().unwrap_or(0);
    // 5 at once, then 55/60 per second, for the whole fleet (three separate budgets would let
    // at least 15 through at once).
    let bound = 5.0 + 55.0 / 60.0 * elapsed + 1.0;
    println!("budget: {reached} calls reached the simulator in {elapsed:.1} s (bound {bound:.1}), {limited} refused");
    assert_eq!(reached, u64::from(ok), "every 200 was one upstream call");
    let fallbacks = cluster.metric_sum("gateway_shared_state_fallback_total").await;
    assert_eq!(fallbacks, 0.0, "every call was budgeted by the shared bucket (Redis answered in time)");
    assert!((reached as f64) <= bound, "{reached} calls in {elapsed:.1} s");
    assert!(reached >= 5, "the burst is usable: {reached}");
    assert!(limited > 0);

    // (e) A redeems the configured refresh token; the simulator accepts only the newest one.
    for gateway in 0..3 {
        let (status, body) = cluster.get(gateway, "/v1/invoices/summaries").await;
        assert_eq!(status, 200, "gateway {gateway} redeemed the newest refresh token: {body}");
    }
    let counters = cluster.counters().await;
    assert_eq!(counters["tokenRequests"]["refresh_token"], 3, "{counters}");
    let mut connection = redis::Client::open(cluster.redis.url())
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let stored: Vec<String> = redis::cmd("HVALS")
        .arg(format!("it:{{{}}}:refresh-token", seed::CONTOSO_PARTNER_ID))
        .query_async(&mut connection)
        .await
        .expect("hvals");
    assert!(!stored.is_empty(), "the rotated token is in Redis");
    assert!(stored.iter().all(|v| !v.contains("sim-refresh-")), "sealed at rest");
    for gateway in &cluster.gateways {
        let logs = gateway.process.output();
        assert!(!logs.contains("sim-refresh-"), "refresh tokens are never logged");
        assert!(!logs.contains(PASSWORD), "nor the Redis password");
    }
}
