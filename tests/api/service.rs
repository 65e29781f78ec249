//! Service endpoints: health, readiness, metrics, Swagger UI, gRPC health and reflection, shutdown.

use std::time::Duration;

use partner_center_gateway::{
    auth::Permission,
    grpc::{SERVICE_NAMES, pb},
};
use partner_center_simulator::{FaultKind, FaultRule};

use tonic::Code;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};

use crate::helpers::{FABRIKAM, TestApp, authed};

#[tokio::test]
async fn liveness_readiness_and_metrics_answer_without_a_token() {
    let app = TestApp::spawn().await;
    assert_eq!(app.http.get(app.url("/livez")).send().await.expect("livez").status(), 200);
    assert_eq!(app.http.get(app.url("/readyz")).send().await.expect("readyz").status(), 200);
    // Readiness never depends on Partner Center.
    app.sim.inject(FaultRule::new(FaultKind::Status { status: 503, retry_after_seconds: None }));
    assert_eq!(app.http.get(app.url("/readyz")).send().await.expect("readyz").status(), 200);
    app.sim.clear_faults();

    let token = app.token(&["*"], &[Permission::CustomersRead]);
    let _ = app.get(&format!("/v1/customers/{FABRIKAM}"), &token).await;
    let metrics = app.http.get(app.url("/metrics")).send().await.expect("metrics");
    assert_eq!(metrics.status(), 200);
    assert!(metrics.headers()["content-type"].to_str().unwrap_or_default().starts_with("text/plain"));
    let text = metrics.text().await.expect("text");
    for name in [
        "gateway_requests_total",
        "gateway_request_duration_seconds_bucket",
        "gateway_upstream_requests_total",
        "gateway_token_requests_total",
    ] {
        assert!(text.contains(name), "missing {name}");
    }
    assert!(!text.contains(&token), "tokens never reach metrics");
}

/// The metric line whose name and labels contain every one of `parts`, with its value.
fn metric_value(text: &str, parts: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find(|line| parts.iter().all(|part| line.contains(part)))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[tokio::test]
async fn metrics_count_errors_by_kind_token_cache_outcomes_and_partner_circuits() {
    let app = TestApp::spawn().await;
    let token = app.token(&["*"], &[Permission::CustomersRead]);
    // Metrics are process-wide (other tests add to them), so only increases are asserted.
    let scrape = async || app.http.get(app.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    let rest_errors = [
        "gateway_request_errors_total{",
        "transport=\"rest\"",
        "operation=\"GET /v1/customers\"",
        "kind=\"invalid-argument\"",
    ];
    let grpc_errors = [
        "gateway_request_errors_total{",
        "transport=\"grpc\"",
        "operation=\"CustomerService/GetCustomer\"",
        "kind=\"invalid-argument\"",
    ];
    let cache_hits = ["gateway_token_cache_total{", "partner=\"contoso\"", "flow=\"app_only\"", "outcome=\"hit\""];
    let before = scrape().await;

    let (status, _) = app.get_json("/v1/customers?page_size=nonsense", &token).await;
    assert_eq!(status, 400);
    let error = app
        .customers_client()
        .await
        .get_customer(authed(pb::GetCustomerRequest { customer_id: "not-a-guid".into() }, &token))
        .await
        .expect_err("invalid id");
    assert_eq!(error.code(), Code::InvalidArgument);
    for _ in 0..3 {
        let (status, _) = app.get_json(&format!("/v1/customers/{FABRIKAM}"), &token).await;
        assert_eq!(status, 200);
    }

    let after = scrape().await;
    for parts in [&rest_errors[..], &grpc_errors[..], &cache_hits[..]] {
        let was = metric_value(&before, parts).unwrap_or(0.0);
        let now = metric_value(&after, parts).unwrap_or_else(|| panic!("no metric line with {parts:?}"));
        assert!(now > was, "{parts:?} did not rise: {was} -> {now}");
    }
    for present in [
        "gateway_token_cache_total{",
        "gateway_requests_in_flight{transport=\"rest\"}",
        "gateway_circuit_state{partner=\"contoso\"}",
        "gateway_upstream_request_duration_seconds_bucket{",
    ] {
        assert!(after.contains(present), "missing {present}");
    }
}

#[tokio::test]
async fn swagger_ui_is_served_from_the_binary_and_reads_our_document() {
    let app = TestApp::spawn().await;
    let page = app.http.get(app.url("/swagger-ui/")).send().await.expect("swagger ui");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("swagger-ui-bundle.js") && !html.contains("https://"), "assets are local");
    let bundle = app.http.get(app.url("/swagger-ui/swagger-ui-bundle.js")).send().await.expect("bundle");
    assert_eq!(bundle.status(), 200);
    assert!(bundle.bytes().await.expect("bytes").len() > 100_000);
    let init = app
        .http
        .get(app.url("/swagger-ui/swagger-initializer.js"))
        .send()
        .await
        .expect("init")
        .text()
        .await
        .expect("text");
    assert!(init.contains("/openapi.json"));
    let document: serde_json::Value =
        app.http.get(app.url("/openapi.json")).send().await.expect("doc").json().await.expect("json");
    assert!(document["openapi"].as_str().unwrap_or_default().starts_with("3.1"));
}

#[tokio::test]
async fn grpc_health_reports_every_service_and_reflection_lists_them() {
    let app = TestApp::spawn().await;
    let mut health = HealthClient::new(app.channel().await);
    for service in std::iter::once("").chain(SERVICE_NAMES) {
        let response =
            health.check(HealthCheckRequest { service: service.to_owned() }).await.expect("health").into_inner();
        assert_eq!(response.status, ServingStatus::Serving as i32, "{service}");
    }

    let mut reflection = ServerReflectionClient::new(app.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream =
        reflection.server_reflection_info(futures::stream::iter(vec![request])).await.expect("reflection").into_inner();
    let response = stream.message().await.expect("message").expect("a response");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection answer")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for service in SERVICE_NAMES {
        assert!(names.iter().any(|n| n == service), "{service} missing from {names:?}");
    }
}

#[tokio::test]
async fn unknown_rpcs_answer_unimplemented() {
    let app = TestApp::spawn().await;
    let mut grpc = tonic::client::Grpc::new(app.channel().await);
    grpc.ready().await.expect("ready");
    let request = authed(pb::GetCustomerRequest { customer_id: FABRIKAM.into() }, &app.admin_token());
    let path = "/partnercenter.gateway.v1.CustomerService/DeleteEverything".parse().expect("path");
    let status = grpc
        .unary::<_, pb::Customer, _>(request, path, tonic_prost::ProstCodec::default())
        .await
        .expect_err("no such rpc");
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() {
    let mut app = TestApp::spawn().await;
    let token = app.token(&["*"], &[Permission::CustomersRead]);
    app.sim.inject(FaultRule::new(FaultKind::Delay { delay_ms: 600, delay_max_ms: None }).on("GET", "/v1/customers/"));
    let request = app.http.get(app.url(&format!("/v1/customers/{FABRIKAM}"))).bearer_auth(&token).send();
    let in_flight = tokio::spawn(request);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = app.shutdown_handle().send(());
    let response = in_flight.await.expect("task").expect("the in-flight request completes");
    assert_eq!(response.status(), 200);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(app.http.get(app.url("/livez")).send().await.is_err(), "no new connections after shutdown");
}
