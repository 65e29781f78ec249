//! W3C trace context: a caller's `traceparent` is continued into Partner Center and becomes the
//! `MS-CorrelationId`, over REST and gRPC; CORS for browser front ends.

use partner_center_gateway::{auth::Permission, grpc::pb};
use partner_center_simulator::SeenCall;

use uuid::Uuid;

use crate::helpers::{FABRIKAM, TestApp, authed};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// The calls the simulator saw for the Fabrikam customer record.
fn customer_calls(app: &TestApp) -> Vec<SeenCall> {
    let path = format!("GET /v1/customers/{FABRIKAM}");
    app.sim.recent_calls().into_iter().filter(|call| call.call.eq_ignore_ascii_case(&path)).collect()
}

/// `traceparent` fields: version, trace id, parent span id, flags.
fn fields(traceparent: &str) -> Vec<String> {
    traceparent.split('-').map(str::to_owned).collect()
}

fn assert_continues(call: &SeenCall, trace_id: &str, caller_span: Option<&str>, flags: &str) {
    let traceparent = call.traceparent.as_deref().expect("a traceparent reaches Partner Center");
    let parts = fields(traceparent);
    assert_eq!(parts.len(), 4, "{traceparent}");
    assert_eq!(parts[0], "00");
    assert_eq!(parts[1], trace_id, "the trace continues");
    assert_eq!(parts[2].len(), 16);
    assert_ne!(parts[2], "0000000000000000");
    if let Some(caller_span) = caller_span {
        assert_ne!(parts[2], caller_span, "the upstream call is a child span, not the caller's");
    }
    assert_eq!(parts[3], flags, "the sampling decision is kept");
    let correlation = call.correlation_id.as_deref().expect("MS-CorrelationId");
    assert_eq!(Uuid::parse_str(correlation).ok(), Uuid::parse_str(trace_id).ok(), "MS-CorrelationId is the trace id");
}

#[tokio::test]
async fn a_callers_traceparent_reaches_partner_center_as_trace_and_correlation_id() {
    let app = TestApp::spawn().await;
    let token = app.token(&["*"], &[Permission::CustomersRead]);
    let response = app
        .http
        .get(app.url(&format!("/v1/customers/{FABRIKAM}")))
        .bearer_auth(&token)
        .header("traceparent", format!("00-{TRACE_ID}-{CALLER_SPAN}-01"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let calls = customer_calls(&app);
    assert_eq!(calls.len(), 1);
    assert_continues(&calls[0], TRACE_ID, Some(CALLER_SPAN), "01");
}

#[tokio::test]
async fn without_a_traceparent_the_gateway_starts_a_trace_and_reports_its_id() {
    let app = TestApp::spawn().await;
    let token = app.token(&["*"], &[Permission::CustomersRead]);
    // Malformed or all-zero trace context is ignored (the W3C rule), never an error.
    for traceparent in [None, Some("garbage"), Some("00-00000000000000000000000000000000-00f067aa0ba902b7-01")] {
        app.sim.reset_counters();
        let mut request = app.http.get(app.url(&format!("/v1/customers/{FABRIKAM}"))).bearer_auth(&token);
        if let Some(traceparent) = traceparent {
            request = request.header("traceparent", traceparent);
        }
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), 200, "{traceparent:?}");
        let request_id = response.headers()["x-request-id"].to_str().expect("text").to_owned();
        let calls = customer_calls(&app);
        assert_eq!(calls.len(), 1);
        let trace_id = fields(calls[0].traceparent.as_deref().expect("traceparent"))[1].clone();
        assert_ne!(trace_id, "00000000000000000000000000000000");
        assert_continues(&calls[0], &trace_id, None, "01");
        // Without an X-Request-Id of its own, the caller gets the correlation id to quote.
        assert_eq!(Some(request_id.as_str()), calls[0].correlation_id.as_deref());
    }
}

#[tokio::test]
async fn problem_details_carry_the_trace_as_correlation_id() {
    let app = TestApp::spawn().await;
    let token = app.token(&["*"], &[Permission::CustomersRead]);
    let unknown = "11111111-2222-4333-8444-555555555555";
    let response = app
        .http
        .get(app.url(&format!("/v1/customers/{unknown}")))
        .bearer_auth(&token)
        .header("traceparent", format!("00-{TRACE_ID}-{CALLER_SPAN}-00"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 404);
    let problem: serde_json::Value = response.json().await.expect("problem");
    assert_eq!(problem["correlationId"], "4bf92f35-77b3-4da6-a3ce-929d0e0e4736", "{problem}");
}

#[tokio::test]
async fn grpc_metadata_traceparent_is_continued_too() {
    let app = TestApp::spawn().await;
    let token = app.token(&["*"], &[Permission::CustomersRead]);
    let mut request = authed(pb::GetCustomerRequest { customer_id: FABRIKAM.into() }, &token);
    let traceparent = format!("00-{TRACE_ID}-{CALLER_SPAN}-00");
    request.metadata_mut().insert("traceparent", traceparent.parse().expect("ascii"));
    app.customers_client().await.get_customer(request).await.expect("customer");
    let calls = customer_calls(&app);
    assert_eq!(calls.len(), 1);
    assert_continues(&calls[0], TRACE_ID, Some(CALLER_SPAN), "00");
}

const APP_ORIGIN: &str = "https://app.example.com";

#[tokio::test]
async fn cors_answers_preflights_for_allowed_origins_only() {
    let app = TestApp::spawn_with(|settings| settings.cors.allowed_origins = vec![APP_ORIGIN.to_owned()]).await;
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/v1/customers/x/azure-plan"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization,content-type,idempotency-key,traceparent")
            .send()
    };
    let allowed = preflight(APP_ORIGIN).await.expect("preflight");
    assert!(allowed.status().is_success(), "{}", allowed.status());
    let header = |name: &str| allowed.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(header("access-control-allow-origin"), APP_ORIGIN);
    assert!(header("access-control-allow-methods").contains("POST"));
    let allowed_headers = header("access-control-allow-headers").to_ascii_lowercase();
    for needed in ["authorization", "content-type", "idempotency-key", "traceparent"] {
        assert!(allowed_headers.contains(needed), "{needed} missing from {allowed_headers}");
    }
    assert_eq!(header("access-control-max-age"), "600");

    let other = preflight("https://evil.example.net").await.expect("preflight");
    assert!(other.headers().get("access-control-allow-origin").is_none(), "an unlisted origin gets no grant");
    assert_eq!(other.status(), 403, "and hears why");
    let problem: serde_json::Value = other.json().await.expect("problem");
    assert_eq!(problem["reason"], "CORS_ORIGIN_NOT_ALLOWED");
    assert!(problem["detail"].as_str().unwrap_or_default().contains("cors.allowed_origins"), "{problem}");

    // Development's default: pages on the developer's machine, any port.
    for local in ["http://localhost:5173", "http://127.0.0.1:3000"] {
        let granted = preflight(local).await.expect("preflight");
        assert_eq!(granted.headers()["access-control-allow-origin"], local);
    }

    // Actual requests, errors included, carry the grant so the browser can read the problem.
    let token = app.token(&["*"], &[Permission::CustomersRead]);
    let response = app
        .http
        .get(app.url("/v1/customers/not-a-guid"))
        .bearer_auth(&token)
        .header("origin", APP_ORIGIN)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["access-control-allow-origin"], APP_ORIGIN);
    let exposed = response.headers()["access-control-expose-headers"].to_str().unwrap_or_default().to_ascii_lowercase();
    for header in ["x-request-id", "retry-after", "www-authenticate", "location"] {
        assert!(exposed.split(',').any(|h| h.trim() == header), "{header} not exposed: {exposed}");
    }
    // A browser can read why it must authenticate.
    let response = app.http.get(app.url("/v1/customers")).header("origin", APP_ORIGIN).send().await.expect("request");
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_eq!(response.headers()["access-control-allow-origin"], APP_ORIGIN);
}

#[tokio::test]
async fn closed_cors_answers_a_preflight_with_the_setting_that_opens_it() {
    // Production's default (no origins, no localhost).
    let app = TestApp::spawn_with(|settings| settings.cors.allow_localhost = Some(false)).await;
    for origin in [APP_ORIGIN, "http://localhost:3000"] {
        let preflight = app
            .http
            .request(reqwest::Method::OPTIONS, app.url("/v1/customers"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .send()
            .await
            .expect("preflight");
        assert!(preflight.headers().get("access-control-allow-origin").is_none());
        assert_eq!(preflight.status(), 403);
        assert_eq!(preflight.headers()["content-type"], "application/problem+json");
        let problem: serde_json::Value = preflight.json().await.expect("problem");
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("CORS is closed") && detail.contains("cors.allowed_origins"), "{detail}");
        assert!(
            detail.contains("GATEWAY_CORS__ALLOWED_ORIGINS") && detail.contains("cors.allow_localhost"),
            "{detail}"
        );
        assert_eq!(problem["reason"], "CORS_ORIGIN_NOT_ALLOWED");
    }
    // Without a preflight's headers OPTIONS is just a method the API does not serve.
    let options = app.http.request(reqwest::Method::OPTIONS, app.url("/v1/customers")).send().await.expect("options");
    assert_eq!(options.status(), 405);
    let token = app.token(&["*"], &[Permission::CustomersRead]);
    let response = app
        .http
        .get(app.url(&format!("/v1/customers/{FABRIKAM}")))
        .bearer_auth(&token)
        .header("origin", APP_ORIGIN)
        .send()
        .await
        .expect("request");
    assert!(response.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn metrics_can_move_to_an_internal_listener_off_the_public_port() {
    let app =
        TestApp::spawn_with(|settings| settings.metrics.listen = Some("127.0.0.1:0".parse().expect("addr"))).await;
    let token = app.token(&["*"], &[Permission::CustomersRead]);
    let (status, _) = app.get_json(&format!("/v1/customers/{}", crate::helpers::FABRIKAM), &token).await;
    assert_eq!(status, 200);
    let public = app.http.get(app.url("/metrics")).send().await.expect("public port");
    assert_eq!(public.status(), 404, "not on the public port");
    assert_eq!(public.headers()["content-type"], "application/problem+json");
    let internal = app.metrics.as_deref().expect("a metrics listener");
    let scrape = app.http.get(format!("{internal}/metrics")).send().await.expect("internal port");
    assert_eq!(scrape.status(), 200);
    let text = scrape.text().await.expect("text");
    assert!(text.contains("gateway_requests_total"), "{text}");
    let other = app.http.get(format!("{internal}/v1/customers")).send().await.expect("internal port");
    assert_eq!(other.status(), 404, "the metrics listener serves nothing else");
}
