//! Partner Center's budget spent once per answer: identical reads in flight share one upstream
//! call, opted-in reads are cached until a write, and retries stay within a budget.

use std::time::Duration;

use futures::{StreamExt, future::join_all};
use partner_center_gateway::{auth::Permission, grpc::pb};
use partner_center_simulator::{FaultKind, FaultRule};

use crate::helpers::{FABRIKAM, LITWARE, TAILSPIN, TestApp, authed};

const SUBSCRIPTIONS: &str = "GET /v1/customers/{customer_id}/subscriptions";

/// Partner Center answers the customer's subscription list in `delay_ms`, as it does in production.
fn slow_subscriptions(app: &TestApp, customer: &str, delay_ms: u64) {
    app.sim.inject(
        FaultRule::new(FaultKind::Delay { delay_ms, delay_max_ms: None })
            .on("GET", &format!("/v1/customers/{customer}/subscriptions")),
    );
}

async fn get_status(app: &TestApp, path: &str, token: &str) -> u16 {
    app.http.get(app.url(path)).bearer_auth(token).send().await.map(|r| r.status().as_u16()).unwrap_or(0)
}

#[tokio::test]
async fn identical_reads_in_flight_share_one_upstream_call_across_callers_and_transports() {
    let app = TestApp::spawn_with(|settings| settings.limits.max_in_flight_per_caller = 100).await;
    let dashboard = app.token(&[FABRIKAM], &[Permission::SubscriptionsRead]);
    let operator = app.token(&["*"], &[Permission::SubscriptionsRead]);
    slow_subscriptions(&app, FABRIKAM, 300);
    let path = format!("/v1/customers/{FABRIKAM}/subscriptions");

    let rest = (0..60).map(|i| {
        let token = if i % 2 == 0 { &dashboard } else { &operator };
        let request = app.http.get(app.url(&path)).bearer_auth(token).send();
        async move {
            let response = request.await.expect("request");
            (response.status().as_u16(), response.text().await.unwrap_or_default())
        }
    });
    let grpc = (0..40).map(|_| {
        let app = &app;
        let token = &operator;
        async move {
            let mut client = app.subscriptions_client().await;
            let request = pb::ListSubscriptionsRequest { customer_id: FABRIKAM.into(), ..Default::default() };
            client.list_subscriptions(authed(request, token)).await.map(|r| r.into_inner().subscriptions.len())
        }
    });
    let (rest, grpc) = futures::join!(join_all(rest), join_all(grpc));
    assert!(rest.iter().all(|(status, _)| *status == 200), "{rest:?}");
    assert!(rest.iter().all(|(_, body)| *body == rest[0].1), "every caller got the same answer");
    let listed: Vec<usize> = grpc.into_iter().map(|r| r.expect("gRPC read")).collect();
    assert!(listed.iter().all(|n| *n > 0 && *n == listed[0]), "{listed:?}");
    let upstream = app.counters().calls_to(SUBSCRIPTIONS);
    assert_eq!(upstream, 1, "100 identical reads in flight, one upstream call");

    // Once the call is done, the next read goes upstream again: no staleness beyond the flight.
    assert_eq!(get_status(&app, &path, &dashboard).await, 200);
    assert_eq!(app.counters().calls_to(SUBSCRIPTIONS), 2);

    let metrics = app.http.get(app.url("/metrics")).send().await.expect("metrics").text().await.unwrap_or_default();
    let coalesced = metrics
        .lines()
        .find(|line| {
            line.starts_with("gateway_upstream_reads_total")
                && line.contains("operation=\"subscriptions.list\"")
                && line.contains("outcome=\"coalesced\"")
        })
        .and_then(|line| line.rsplit(' ').next()?.parse::<f64>().ok());
    assert!(coalesced.is_some_and(|n| n >= 99.0), "coalesced reads are counted: {coalesced:?}");
}

#[tokio::test]
async fn a_caller_without_access_is_refused_while_others_share_a_read() {
    let app = TestApp::spawn().await;
    let allowed = app.token(&[FABRIKAM], &[Permission::SubscriptionsRead]);
    let other_customer = app.token(&[LITWARE], &[Permission::SubscriptionsRead]);
    let no_permission = app.token(&[FABRIKAM], &[Permission::CustomersRead]);
    slow_subscriptions(&app, FABRIKAM, 300);
    let path = format!("/v1/customers/{FABRIKAM}/subscriptions");
    let (first, intruder, unpermitted, second) = futures::join!(
        get_status(&app, &path, &allowed),
        async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            get_status(&app, &path, &other_customer).await
        },
        async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            get_status(&app, &path, &no_permission).await
        },
        async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            get_status(&app, &path, &allowed).await
        },
    );
    assert_eq!((first, intruder, unpermitted, second), (200, 403, 403, 200));
    assert_eq!(app.counters().calls_to(SUBSCRIPTIONS), 1);
}

#[tokio::test]
async fn a_caller_that_gives_up_does_not_cancel_the_read_it_shares() {
    let app = TestApp::spawn().await;
    let token = app.token(&[FABRIKAM], &[Permission::SubscriptionsRead]);
    slow_subscriptions(&app, FABRIKAM, 400);
    let path = format!("/v1/customers/{FABRIKAM}/subscriptions");
    let impatient = app.http.get(app.url(&path)).bearer_auth(&token).timeout(Duration::from_millis(100)).send();
    let patient = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        get_status(&app, &path, &token).await
    };
    let (impatient, patient) = futures::join!(impatient, patient);
    assert!(impatient.is_err_and(|e| e.is_timeout()), "the first caller gave up");
    assert_eq!(patient, 200, "the second caller still got the shared answer");
    assert_eq!(app.counters().calls_to(SUBSCRIPTIONS), 1);
}

#[tokio::test]
async fn a_shared_failure_is_shared_not_retried_by_every_caller() {
    let app = TestApp::spawn_with(|settings| {
        settings.partner_center.retry.max_attempts = 4;
        settings.partner_center.retry.base_delay = Duration::from_millis(100);
        settings.limits.max_in_flight_per_caller = 100;
    })
    .await;
    let token = app.token(&[FABRIKAM], &[Permission::SubscriptionsRead]);
    app.sim.inject(
        FaultRule::new(FaultKind::Status { status: 503, retry_after_seconds: None })
            .on("GET", &format!("/v1/customers/{FABRIKAM}/subscriptions")),
    );
    let path = format!("/v1/customers/{FABRIKAM}/subscriptions");
    let statuses = join_all((0..30).map(|_| get_status(&app, &path, &token))).await;
    assert!(statuses.iter().all(|s| *s == 502), "Partner Center's 503 reaches every caller as 502: {statuses:?}");
    let attempts = app.counters().calls_to(SUBSCRIPTIONS);
    assert!(attempts <= 4, "30 callers shared one call of at most 4 attempts, not 120: {attempts}");
}

#[tokio::test]
async fn opted_in_reads_are_cached_with_their_age_and_a_purchase_makes_them_fresh() {
    let app = TestApp::spawn_with(|settings| {
        settings
            .partner_center
            .response_cache
            .ttl
            .insert("subscriptions.list".to_owned(), humantime_serde::Serde::from(Duration::from_secs(60)));
    })
    .await;
    let token = app.token(&[TAILSPIN], &Permission::ALL);
    // Tailspin can buy once its agreement is confirmed (itself a write, before anything is cached).
    let contact = serde_json::json!({ "firstName": "Ada", "lastName": "Lovelace", "email": "ada@tailspintoys.example", "phoneNumber": "+1 425 555 0100" });
    let (status, agreement) = app
        .post_json(
            &format!("/v1/customers/{TAILSPIN}/agreements"),
            &token,
            serde_json::json!({ "primaryContact": contact }),
        )
        .await;
    assert_eq!(status, 201, "{agreement}");
    let path = format!("/v1/customers/{TAILSPIN}/subscriptions");
    let read = || async {
        let response = app.http.get(app.url(&path)).bearer_auth(&token).send().await.expect("request");
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (cache_control, age) = (header("cache-control"), header("age"));
        let body: serde_json::Value = response.json().await.expect("json");
        (cache_control, age, body["items"].as_array().map(Vec::len).unwrap_or(0))
    };

    let (cache_control, age, before) = read().await;
    assert_eq!((cache_control.as_deref(), age.as_deref()), (Some("private, max-age=60"), Some("0")));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (cache_control, age, again) = read().await;
    assert_eq!(again, before);
    assert_eq!(age.as_deref(), Some("1"), "the cached answer is a second old");
    let max_age = cache_control.as_deref().and_then(|v| v.strip_prefix("private, max-age=")?.parse::<u64>().ok());
    assert!(max_age.is_some_and(|m| (58..=59).contains(&m)), "{cache_control:?}");
    assert_eq!(app.counters().calls_to(SUBSCRIPTIONS), 1, "the second read came from the cache");

    // A write through the gateway for this customer: the next read sees it.
    let (status, plan) = app.create_azure_plan(TAILSPIN, "economy-cache-1", &token).await;
    assert!(status == 200 || status == 201, "{status} {plan}");
    let (_, age, after) = read().await;
    assert_eq!(after, before + 1, "the new Azure plan is listed");
    assert_eq!(age.as_deref(), Some("0"));
    assert!(app.counters().calls_to(SUBSCRIPTIONS) >= 2);

    // Reads not opted in say nothing about caching.
    let response =
        app.http.get(app.url(&format!("/v1/customers/{TAILSPIN}"))).bearer_auth(&token).send().await.expect("get");
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("cache-control").is_none());
    assert!(response.headers().get("age").is_none());
}

#[tokio::test]
async fn a_dead_upstream_gets_at_most_one_and_a_half_attempts_per_request() {
    let app = TestApp::spawn_with(|settings| {
        // Measured before the breaker opens: it stays closed here.
        settings.partner_center.circuit_breaker.failure_threshold = u32::MAX;
        settings.partner_center.retry.base_delay = Duration::from_millis(2);
        settings.partner_center.retry.max_delay = Duration::from_millis(20);
        settings.limits.caller_requests_per_minute = 0;
        settings.limits.max_in_flight_per_caller = 100;
        // Every request its own first attempt.
        settings.partner_center.coalesce_reads = false;
    })
    .await;
    let token = app.token(&["*"], &[Permission::CustomersRead]);
    app.sim.inject(
        FaultRule::new(FaultKind::Status { status: 503, retry_after_seconds: None }).on("GET", "/v1/customers/"),
    );
    let path = format!("/v1/customers/{FABRIKAM}");
    let reads = (0..200).map(|_| get_status(&app, &path, &token));
    let statuses = futures::stream::iter(reads).buffer_unordered(20).collect::<Vec<_>>().await;
    assert!(statuses.iter().all(|s| *s == 502), "{statuses:?}");
    let attempts = app.counters().calls_to("GET /v1/customers/{customer_id}");
    let per_request = attempts as f64 / 200.0;
    println!("100% faults: {attempts} upstream attempts for 200 requests ({per_request:.2} per request)");
    assert!(per_request <= 1.5, "{per_request:.2} attempts per request");
    assert!(attempts > 200, "failed calls are still retried within the budget");
}
