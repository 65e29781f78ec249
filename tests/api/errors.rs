//! The error mapping table, driven through real upstream failures: what Partner Center does →
//! what REST and gRPC callers get.

use std::time::Duration;

use partner_center_gateway::{auth::Permission, grpc::pb};
use partner_center_simulator::{FaultKind, FaultRule};

use tonic::Code;
use tonic_types::StatusExt;

use crate::helpers::{FABRIKAM, TestApp, authed};

const CUSTOMER_PATH: &str = "/v1/customers/0b5e8f2a-7c1d-4e3f-9a6b-1c2d3e4f5a60";

struct Row {
    fault: FaultRule,
    http_status: u16,
    problem_slug: &'static str,
    grpc_code: Code,
    upstream_calls: u64,
}

fn status(status: u16) -> FaultKind {
    FaultKind::Status { status, retry_after_seconds: None }
}

#[tokio::test]
async fn upstream_failures_map_to_one_table_over_both_transports() {
    let rows = [
        // Throttled with a wait longer than the gateway's patience: the caller gets the hint at once.
        Row {
            fault: FaultRule::new(FaultKind::Status { status: 429, retry_after_seconds: Some(30) }).on("GET", "/v1/"),
            http_status: 429,
            problem_slug: "rate-limited",
            grpc_code: Code::ResourceExhausted,
            upstream_calls: 1,
        },
        // Down for good: three attempts, then a clean 502.
        Row {
            fault: FaultRule::new(status(503)).on("GET", "/v1/"),
            http_status: 502,
            problem_slug: "upstream-unavailable",
            grpc_code: Code::Unavailable,
            upstream_calls: 3,
        },
        Row {
            fault: FaultRule::new(status(500)).on("GET", "/v1/"),
            http_status: 502,
            problem_slug: "upstream-unavailable",
            grpc_code: Code::Unavailable,
            upstream_calls: 1,
        },
        Row {
            fault: FaultRule::new(status(504)).on("GET", "/v1/"),
            http_status: 504,
            problem_slug: "upstream-timeout",
            grpc_code: Code::DeadlineExceeded,
            upstream_calls: 3,
        },
        Row {
            fault: FaultRule::new(FaultKind::Drop).on("GET", "/v1/"),
            http_status: 502,
            problem_slug: "upstream-unavailable",
            grpc_code: Code::Unavailable,
            upstream_calls: 3,
        },
        // Our credentials refused even after a fresh token: never the caller's 401.
        Row {
            fault: FaultRule::new(FaultKind::RejectToken).on("GET", "/v1/"),
            http_status: 502,
            problem_slug: "upstream-unavailable",
            grpc_code: Code::Unavailable,
            upstream_calls: 2,
        },
        Row {
            fault: FaultRule::new(status(404)).on("GET", "/v1/"),
            http_status: 404,
            problem_slug: "not-found",
            grpc_code: Code::NotFound,
            upstream_calls: 1,
        },
        Row {
            fault: FaultRule::new(status(400)).on("GET", "/v1/"),
            http_status: 400,
            problem_slug: "invalid-argument",
            grpc_code: Code::InvalidArgument,
            upstream_calls: 1,
        },
        Row {
            fault: FaultRule::new(status(409)).on("GET", "/v1/"),
            http_status: 409,
            problem_slug: "conflict",
            grpc_code: Code::Aborted,
            upstream_calls: 1,
        },
    ];
    // Three attempts per call, and no circuit breaker in the way of the table.
    let app = TestApp::spawn_with(|settings| {
        settings.partner_center.retry.max_attempts = 3;
        settings.partner_center.circuit_breaker.failure_threshold = 1_000;
    })
    .await;
    let token = app.token(&["*"], &[Permission::CustomersRead]);
    let mut client = app.customers_client().await;
    for row in rows {
        let label = format!("{:?}", row.fault.kind);
        app.sim.clear_faults();
        app.sim.inject(row.fault.clone());
        app.sim.reset_counters();
        let response = app.get(CUSTOMER_PATH, &token).await;
        assert_eq!(response.status().as_u16(), row.http_status, "{label}");
        assert_eq!(
            response.headers().get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/problem+json"),
            "{label}"
        );
        let retry_after = response.headers().get("retry-after").cloned();
        let problem: serde_json::Value = response.json().await.expect("problem");
        assert_eq!(problem["type"], format!("urn:partner-center-gateway:problem:{}", row.problem_slug), "{label}");
        assert_eq!(problem["status"], row.http_status, "{label}");
        assert_eq!(problem["instance"], CUSTOMER_PATH, "{label}");
        assert!(problem["requestId"].is_string() && problem["correlationId"].is_string(), "{label}");
        if row.http_status == 429 {
            assert_eq!(retry_after.as_ref().and_then(|v| v.to_str().ok()), Some("30"), "{label}");
            assert_eq!(problem["retryAfterSeconds"], 30);
        }
        assert_eq!(app.counters().total_calls(), row.upstream_calls, "{label}: upstream attempts");

        let status = client
            .get_customer(authed(pb::GetCustomerRequest { customer_id: FABRIKAM.into() }, &token))
            .await
            .expect_err("fault reaches the caller");
        assert_eq!(status.code(), row.grpc_code, "{label}");
        let details = status.check_error_details().expect("rich details");
        let info = details.error_info().expect("error info");
        assert_eq!(info.domain, "partner-center-gateway");
        assert_eq!(
            info.metadata.get("problemType").map(String::as_str),
            Some(problem["type"].as_str().unwrap_or_default())
        );
        assert!(details.request_info().is_some(), "{label}: request id");
        if row.http_status == 429 {
            assert_eq!(details.retry_info().and_then(|r| r.retry_delay), Some(Duration::from_secs(30)));
        }
    }
}

#[tokio::test]
async fn passing_faults_are_retried_and_the_call_succeeds() {
    let app = TestApp::spawn().await;
    let token = app.token(&["*"], &[Permission::CustomersRead]);
    app.sim.inject(FaultRule::new(status(503)).on("GET", "/v1/").times(1));
    app.sim.inject(
        FaultRule::new(FaultKind::Status { status: 429, retry_after_seconds: Some(0) }).on("GET", "/v1/").times(1),
    );
    let (status, body) = app.get_json(CUSTOMER_PATH, &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.counters().total_calls(), 3);
}

#[tokio::test]
async fn a_slow_partner_center_meets_the_callers_deadline() {
    let app = TestApp::spawn_with(|settings| settings.rest.request_timeout = Duration::from_millis(600)).await;
    let token = app.token(&["*"], &[Permission::CustomersRead]);
    app.sim.inject(FaultRule::new(FaultKind::Delay { delay_ms: 3_000, delay_max_ms: None }).on("GET", "/v1/"));
    let started = std::time::Instant::now();
    let (status, problem) = app.get_json(CUSTOMER_PATH, &token).await;
    assert_eq!(status, 504, "{problem}");
    assert!(started.elapsed() < Duration::from_millis(2_000), "the deadline bounds the wait: {:?}", started.elapsed());

    let mut request = authed(pb::GetCustomerRequest { customer_id: FABRIKAM.into() }, &token);
    request.set_timeout(Duration::from_millis(400));
    let started = std::time::Instant::now();
    let status = app.customers_client().await.get_customer(request).await.expect_err("deadline");
    assert!(matches!(status.code(), Code::DeadlineExceeded | Code::Cancelled), "{status:?}");
    assert!(started.elapsed() < Duration::from_millis(2_000));
}

#[tokio::test]
async fn partner_center_validation_errors_reach_the_caller_with_their_code() {
    let app = TestApp::spawn().await;
    let token = app.token(&[], &[Permission::CatalogRead]);
    // ZZ is a well-formed country code the (simulated) catalog does not sell in.
    let (status, problem) = app.get_json("/v1/catalog/products?country=ZZ&targetView=Azure", &token).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["upstreamCode"], "3000");
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems_too() {
    let app = TestApp::spawn().await;
    let token = app.admin_token();
    let (status, problem) = app.get_json("/v1/nothing-here", &token).await;
    assert_eq!(status, 404);
    assert_eq!(problem["reason"], "ROUTE_NOT_FOUND");
    let response = app.http.delete(app.url("/v1/customers")).bearer_auth(&token).send().await.expect("send");
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("application/problem+json"));
    // RFC 9110 §15.5.6: a 405 lists the methods the route does allow.
    let allow = response.headers().get("allow").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(allow.contains("GET"), "Allow: {allow:?}");
    let probe = app.http.request(reqwest::Method::TRACE, app.url("/livez")).send().await.expect("send");
    assert_eq!(probe.status(), 405);
    assert!(probe.headers().get("allow").is_some_and(|v| v.to_str().is_ok_and(|v| v.contains("GET"))), "{probe:?}");
}

#[tokio::test]
async fn azure_ad_refusing_our_credentials_is_a_502_naming_the_token_step() {
    let app = TestApp::spawn().await;
    let token = app.token(&["*"], &[Permission::CustomersRead]);
    app.sim.inject(FaultRule::new(status(401)).on("POST", "/"));
    let (status, problem) = app.get_json(CUSTOMER_PATH, &token).await;
    assert_eq!(status, 502, "{problem}");
    assert_eq!(problem["reason"], "UPSTREAM_TOKEN_FAILED");
    assert_eq!(app.counters().total_calls(), 0, "no Partner Center call without a token");
}
