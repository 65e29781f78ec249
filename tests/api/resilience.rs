//! Faults, throttling and load: the gateway keeps answering, fast and clearly.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use futures::{StreamExt, stream};
use partner_center_gateway::{auth::Permission, grpc::pb};
use partner_center_simulator::{FaultKind, FaultRule, seed};

use tonic::Code;

use crate::helpers::{FABRIKAM, TestApp, authed};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// 30% of Partner Center calls fail (429 with Retry-After, 503, dropped connections), at random.
fn thirty_percent_faults(app: &TestApp, path_prefix: &str) {
    let on = |rule: FaultRule| rule.on("GET", path_prefix);
    // Rules fire in order: 10% of all, then 1/9 of the rest (10% of all), then 1/8 (10% of all).
    app.sim
        .inject(on(FaultRule::new(FaultKind::Status { status: 429, retry_after_seconds: Some(1) })).probability(0.10));
    app.sim.inject(
        on(FaultRule::new(FaultKind::Status { status: 503, retry_after_seconds: None })).probability(1.0 / 9.0),
    );
    app.sim.inject(on(FaultRule::new(FaultKind::Drop)).probability(0.125));
}

/// Identical reads: most share a call in flight (one failed shared call fails all its callers,
/// so the retries of the few calls made must hold).
#[tokio::test]
async fn ten_thousand_reads_survive_thirty_percent_upstream_failures() {
    ten_thousand_reads_with_thirty_percent_faults(true).await;
}

/// Each read its own upstream call: 10,000 logical calls within the retry budget.
#[tokio::test]
async fn ten_thousand_separate_calls_survive_thirty_percent_upstream_failures_within_the_retry_budget() {
    ten_thousand_reads_with_thirty_percent_faults(false).await;
}

async fn ten_thousand_reads_with_thirty_percent_faults(coalesce: bool) {
    let app = TestApp::spawn_with(|settings| {
        settings.partner_center.budget_per_minute = 0;
        settings.partner_center.coalesce_reads = coalesce;
        settings.limits.caller_requests_per_minute = 0;
        // 200 at a time from one caller: its share of the gateway is raised for this test.
        settings.limits.max_in_flight_per_caller = 200;
        settings.rest.request_timeout = Duration::from_secs(60);
    })
    .await;
    let token = app.token(&["*"], &[Permission::CustomersRead]);
    thirty_percent_faults(&app, "/v1/customers/");
    let url = app.url(&format!("/v1/customers/{FABRIKAM}"));
    let started = Instant::now();
    let outcomes: Vec<(u16, Duration)> = stream::iter(0..10_000)
        .map(|_| {
            let request = app.http.get(&url).bearer_auth(&token).send();
            async move {
                let t = Instant::now();
                let status = request.await.map(|r| r.status().as_u16()).unwrap_or(0);
                (status, t.elapsed())
            }
        })
        .buffer_unordered(200)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let ok = outcomes.iter().filter(|(s, _)| *s == 200).count();
    let mut latencies: Vec<Duration> = outcomes.iter().map(|(_, d)| *d).collect();
    latencies.sort();
    let counters = app.counters();
    let upstream = counters.calls_to("GET /v1/customers/{customer_id}");
    println!(
        "30% faults (coalescing {coalesce}): {ok}/10000 ok ({:.2}%), {upstream} upstream attempts, p50 {:?}, p99 {:?}, max {:?}, {:.0} reads/s",
        ok as f64 / 100.0,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default(),
        10_000.0 / elapsed.as_secs_f64()
    );
    let mut failures: HashMap<u16, usize> = HashMap::new();
    for (status, _) in outcomes.iter().filter(|(s, _)| *s != 200) {
        *failures.entry(*status).or_default() += 1;
    }
    assert!(ok >= 9_990, "only {ok} of 10000 reads succeeded: {failures:?}");
}

#[tokio::test]
async fn no_purchase_is_duplicated_under_thirty_percent_failures() {
    let app = TestApp::spawn_with(|settings| {
        settings.partner_center.budget_per_minute = 0;
        settings.limits.caller_requests_per_minute = 0;
        settings.rest.request_timeout = Duration::from_secs(60);
    })
    .await;
    let token = app.token(&["*"], &Permission::ALL);
    // Writes fail too, including answers lost after Partner Center committed them.
    app.sim.inject(FaultRule::new(FaultKind::DropAfterProcessing).on("POST", "/v1/customers/").probability(0.15));
    app.sim.inject(
        FaultRule::new(FaultKind::Status { status: 503, retry_after_seconds: None })
            .on("POST", "/v1/customers/")
            .probability(0.15),
    );
    thirty_percent_faults(&app, "/v1/");
    // Every generated customer that accepted the MCA buys one plan; callers retry until it answers.
    let customers: Vec<String> =
        (0..seed::GENERATED_CUSTOMERS).step_by(2).map(|n| format!("c0ffee00-0000-4000-8000-{n:012x}")).collect();
    let app = Arc::new(app);
    let results = stream::iter(customers.clone())
        .map(|customer| {
            let app = app.clone();
            let token = token.clone();
            async move {
                for attempt in 0..10 {
                    let (status, body) = app.create_azure_plan(&customer, &format!("plan-{customer}"), &token).await;
                    if status == 201 || status == 200 {
                        return (customer, body["orderId"].as_str().map(str::to_owned), attempt);
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                (customer, None, 10)
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    app.sim.clear_faults();
    let retried = results.iter().filter(|(_, _, attempts)| *attempts > 0).count();
    println!("{} purchases under faults, {retried} needed a caller retry", results.len());
    for (customer, order, _) in &results {
        let order = order.as_deref().unwrap_or_else(|| panic!("{customer}: never bought"));
        let orders = app.sim.orders_of(customer);
        assert_eq!(orders.len(), 1, "{customer} was charged {} times", orders.len());
        assert_eq!(orders[0]["id"].as_str(), Some(order));
    }
}

#[tokio::test]
async fn a_partner_center_that_stays_down_gets_a_fast_503_then_a_probe() {
    let app = TestApp::spawn_with(|settings| {
        settings.partner_center.retry.max_attempts = 2;
        settings.partner_center.circuit_breaker.failure_threshold = 3;
        settings.partner_center.circuit_breaker.open_for = Duration::from_millis(600);
    })
    .await;
    let token = app.token(&["*"], &[Permission::CustomersRead]);
    let path = format!("/v1/customers/{FABRIKAM}");
    app.sim.inject(FaultRule::new(FaultKind::Status { status: 503, retry_after_seconds: None }).on("GET", "/v1/"));
    for _ in 0..3 {
        let (status, _) = app.get_json(&path, &token).await;
        assert_eq!(status, 502);
    }
    app.sim.reset_counters();
    let started = Instant::now();
    let response = app.get(&path, &token).await;
    let took = started.elapsed();
    assert_eq!(response.status(), 503, "{:?}", response.text().await);
    assert!(response.headers().contains_key("retry-after"));
    let problem: serde_json::Value = response.json().await.expect("problem");
    assert_eq!(problem["reason"], "CIRCUIT_OPEN");
    assert!(took < Duration::from_millis(100), "fast: {took:?}");
    let status = app
        .customers_client()
        .await
        .get_customer(authed(pb::GetCustomerRequest { customer_id: FABRIKAM.into() }, &token))
        .await
        .expect_err("open");
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(app.counters().total_calls(), 0, "an open circuit sends nothing");

    // Partner Center recovers; after the open period one probe closes the circuit.
    app.sim.clear_faults();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let (status, _) = app.get_json(&path, &token).await;
    assert_eq!(status, 200);
    let (status, _) = app.get_json(&path, &token).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_partner_budget_keeps_partner_center_under_its_limit() {
    let app = TestApp::spawn_with(|settings| {
        settings.partner_center.budget_per_minute = 120;
        settings.partner_center.budget_burst = 10;
        settings.partner_center.caller_budget_share = 1.0;
    })
    .await;
    let token = app.token(&["*"], &Permission::ALL);
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(app.get(&format!("/v1/customers/{FABRIKAM}"), &token).await);
    }
    let ok = statuses.iter().filter(|r| r.status() == 200).count();
    assert_eq!(ok, 10, "the burst");
    let throttled = statuses.into_iter().find(|r| r.status() == 429).expect("throttled");
    assert!(throttled.headers().contains_key("retry-after"));
    let problem: serde_json::Value = throttled.json().await.expect("problem");
    assert_eq!(problem["reason"], "PARTNER_BUDGET_EXHAUSTED");
    assert_eq!(app.counters().calls_to("GET /v1/customers/{customer_id}"), 10, "nothing over budget left the gateway");
    let status = app
        .customers_client()
        .await
        .get_customer(authed(pb::GetCustomerRequest { customer_id: FABRIKAM.into() }, &token))
        .await
        .expect_err("throttled");
    assert_eq!(status.code(), Code::ResourceExhausted);
    // Each resource has its own budget: usage is not held back by customers.
    let (status, _) = app.get_json(&format!("/v1/customers/{FABRIKAM}/usage/budget"), &token).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn one_caller_cannot_spend_the_whole_partner_budget() {
    let app = TestApp::spawn_with(|settings| {
        settings.partner_center.budget_per_minute = 120;
        settings.partner_center.budget_burst = 10;
        settings.partner_center.caller_budget_share = 0.5;
    })
    .await;
    let caller = |subject: &str| {
        let mut request = partner_center_gateway::auth::dev::DevTokenRequest::all_access(subject);
        request.partner = Some(seed::CONTOSO_PARTNER_ID.to_owned());
        app.token_with(request)
    };
    let (greedy, patient) = (caller("greedy-batch-job"), caller("portal"));
    let path = format!("/v1/customers/{FABRIKAM}");
    let mut greedy_ok = 0;
    let mut refused = None;
    for _ in 0..10 {
        let response = app.get(&path, &greedy).await;
        match response.status().as_u16() {
            200 => greedy_ok += 1,
            429 => refused = Some(response),
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(greedy_ok, 5, "half the burst");
    let refused = refused.expect("the greedy caller was held back");
    assert!(refused.headers().contains_key("retry-after"));
    let problem: serde_json::Value = refused.json().await.expect("problem");
    assert_eq!(problem["reason"], "PARTNER_BUDGET_SHARE_EXHAUSTED");
    // The other caller of the same partner still has the rest of the partner's burst.
    for _ in 0..5 {
        assert_eq!(app.get(&path, &patient).await.status(), 200, "the patient caller is served");
    }
    assert_eq!(app.counters().calls_to("GET /v1/customers/{customer_id}"), 10);
}

#[tokio::test]
async fn each_caller_has_its_own_limit() {
    let app = TestApp::spawn_with(|settings| {
        settings.limits.caller_requests_per_minute = 60;
        settings.limits.caller_burst = 5;
    })
    .await;
    let greedy = app.token(&["*"], &[Permission::CatalogRead]);
    let mut last = None;
    for _ in 0..6 {
        last = Some(app.get("/v1/catalog/azure-plan?country=US", &greedy).await);
    }
    let response = last.expect("response");
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    let problem: serde_json::Value = response.json().await.expect("problem");
    assert_eq!(problem["reason"], "CALLER_RATE_LIMITED");
    let status = app
        .catalog_client()
        .await
        .get_azure_plan_catalog_item(authed(pb::GetAzurePlanCatalogItemRequest { country: "US".into() }, &greedy))
        .await
        .expect_err("limited");
    assert_eq!(status.code(), Code::ResourceExhausted);

    let mut other = partner_center_gateway::auth::dev::DevTokenRequest::all_access("another-service");
    other.partner = Some(seed::CONTOSO_PARTNER_ID.to_owned());
    let (status, _) = app.get_json("/v1/catalog/azure-plan?country=US", &app.token_with(other)).await;
    assert_eq!(status, 200, "another caller is not affected");
}

#[tokio::test]
async fn beyond_capacity_requests_are_shed_at_once_and_probes_still_answer() {
    let app = TestApp::spawn_with(|settings| {
        settings.limits.max_in_flight = 4;
        settings.limits.max_in_flight_per_caller = 2;
    })
    .await;
    // Two callers fill the gateway, each with its share; a third caller is shed.
    let callers: Vec<String> = ["first-service", "second-service", "third-service"]
        .into_iter()
        .map(|subject| {
            let mut request = partner_center_gateway::auth::dev::DevTokenRequest::all_access(subject);
            request.partner = Some(seed::CONTOSO_PARTNER_ID.to_owned());
            app.token_with(request)
        })
        .collect();
    app.sim.inject(FaultRule::new(FaultKind::Delay { delay_ms: 800, delay_max_ms: None }).on("GET", "/v1/customers/"));
    let url = app.url(&format!("/v1/customers/{FABRIKAM}"));
    let slow: Vec<_> = (0..4).map(|i| tokio::spawn(app.http.get(&url).bearer_auth(&callers[i % 2]).send())).collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let token = callers[2].clone();

    let started = Instant::now();
    let shed = app.get(&format!("/v1/customers/{FABRIKAM}"), &token).await;
    assert_eq!(shed.status(), 503);
    assert!(started.elapsed() < Duration::from_millis(150), "shed at once");
    assert_eq!(shed.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    let problem: serde_json::Value = shed.json().await.expect("problem");
    assert_eq!(problem["reason"], "OVERLOADED");
    let status = app
        .customers_client()
        .await
        .get_customer(authed(pb::GetCustomerRequest { customer_id: FABRIKAM.into() }, &token))
        .await
        .expect_err("shed");
    assert_eq!(status.code(), Code::Unavailable);
    for path in ["/livez", "/readyz", "/metrics"] {
        assert_eq!(app.http.get(app.url(path)).send().await.expect("probe").status(), 200, "{path}");
    }
    for request in slow {
        assert_eq!(request.await.expect("task").expect("response").status(), 200);
    }
    let (status, _) = app.get_json(&format!("/v1/customers/{FABRIKAM}"), &token).await;
    assert_eq!(status, 200, "capacity is back");
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = TestApp::spawn_with(|settings| settings.rest.body_limit_bytes = 4 * 1024).await;
    let token = app.token(&[FABRIKAM], &Permission::ALL);
    let lines: Vec<serde_json::Value> = (0..200)
        .map(|_| serde_json::json!({ "catalogItemId": "CFQ7TTC0LH18:0001:CFQ7TTC0TKZX", "quantity": 1, "billingCycle": "monthly" }))
        .collect();
    let (status, problem) = app
        .post_json(&format!("/v1/customers/{FABRIKAM}/carts"), &token, serde_json::json!({ "lineItems": lines }))
        .await;
    assert_eq!(status, 413, "{problem}");
    assert_eq!(problem["type"], "urn:partner-center-gateway:problem:payload-too-large");
}
