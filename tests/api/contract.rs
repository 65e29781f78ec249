//! The server does what its OpenAPI document says: optional bodies, content types, body limits,
//! `Location` on 201, the bearer challenge, documented examples that work, metrics a platform
//! team expects, and Swagger UI's settings.

use partner_center_gateway::{auth::Permission, rest};
use partner_center_simulator::seed;
use serde_json::{Value, json};

use crate::helpers::{ADVENTURE_WORKS, FABRIKAM, LITWARE, TestApp};

/// Microsoft 365 Business Basic in the simulator's catalog.
const M365_ITEM: &str = "CFQ7TTC0LH18:0001:CFQ7TTC0TKZX";

fn document() -> Value {
    serde_json::from_str(&rest::openapi().to_json().expect("json")).expect("document")
}

async fn purchase(
    app: &TestApp,
    key: &str,
    body: Option<(&str, &'static [u8])>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = app
        .http
        .post(app.url(&format!("/v1/customers/{ADVENTURE_WORKS}/azure-plans")))
        .bearer_auth(app.admin_token())
        .header("Idempotency-Key", key);
    if let Some((content_type, bytes)) = body {
        request = request.header("content-type", content_type).body(bytes);
    }
    let response = request.send().await.expect("send");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_optional_purchase_body_may_be_null_empty_or_absent_and_must_be_json() {
    let app = TestApp::spawn().await;
    for (key, body) in [
        ("null-body", Some(("application/json", &b"null"[..]))),
        ("empty-json", Some(("application/json", &b""[..]))),
        ("empty-text", Some(("text/plain", &b"  "[..]))),
        ("no-body", None),
    ] {
        let (status, headers, plan) = purchase(&app, key, body).await;
        assert_eq!(status, 201, "{key}: {plan}");
        let location = headers.get("location").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert_eq!(
            location,
            format!("/v1/customers/{ADVENTURE_WORKS}/orders/{}", plan["orderId"].as_str().unwrap_or("?"))
        );
        // The Location names a resource that answers.
        let (status, order) = app.get_json(location, &app.admin_token()).await;
        assert_eq!(status, 200, "{order}");
    }
    let (status, headers, problem) =
        purchase(&app, "text-body", Some(("text/plain", &br#"{"friendlyName":"x"}"#[..]))).await;
    assert_eq!(status, 415, "{problem}");
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(problem["reason"], "UNSUPPORTED_MEDIA_TYPE");
    assert_eq!(problem["errors"][0]["field"], "Content-Type");
    assert!(problem["detail"].as_str().unwrap_or_default().contains("text/plain"), "{problem}");
    // A body with the right type still has to be valid, and errors name the field.
    let (status, _, problem) = purchase(&app, "bad-body", Some(("application/json", &br#"{"country": 7}"#[..]))).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (400, Some("country")), "{problem}");
    // The documented 415 and the optional body.
    let document = document();
    let operation = &document["paths"]["/v1/customers/{customerId}/azure-plans"]["post"];
    assert!(operation["responses"]["415"]["content"]["application/problem+json"].is_object());
    assert_ne!(operation["requestBody"]["required"], json!(true));
}

#[tokio::test]
async fn a_required_body_with_another_content_type_is_415_and_413_states_the_limit() {
    let app = TestApp::spawn_with(|settings| settings.rest.body_limit_bytes = 2048).await;
    let token = app.admin_token();
    let response = app
        .http
        .post(app.url(&format!("/v1/customers/{FABRIKAM}/carts")))
        .bearer_auth(&token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("lineItems=1")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 415);
    let problem: Value = response.json().await.expect("problem");
    assert_eq!(problem["reason"], "UNSUPPORTED_MEDIA_TYPE");

    let big = format!(r#"{{"lineItems": [], "pad": "{}"}}"#, "x".repeat(4096));
    let response = app
        .http
        .post(app.url(&format!("/v1/customers/{FABRIKAM}/carts")))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 413);
    let problem: Value = response.json().await.expect("problem");
    assert!(problem["detail"].as_str().unwrap_or_default().contains("2048 bytes"), "{problem}");
}

#[tokio::test]
async fn every_201_carries_location_and_the_document_says_so() {
    let app = TestApp::spawn().await;
    let token = app.admin_token();
    let response = app
        .http
        .post(app.url(&format!("/v1/customers/{FABRIKAM}/carts")))
        .bearer_auth(&token)
        .json(&json!({"lineItems": [{"catalogItemId": M365_ITEM, "quantity": 5, "billingCycle": "monthly", "termDuration": "P1M"}]}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().expect("text").to_owned();
    let cart: Value = response.json().await.expect("cart");
    assert_eq!(location, format!("/v1/customers/{FABRIKAM}/carts/{}", cart["id"].as_str().unwrap_or("?")));
    let response =
        app.http.post(app.url(&format!("{location}/checkout"))).bearer_auth(&token).send().await.expect("send");
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().expect("text").to_owned();
    let result: Value = response.json().await.expect("checkout");
    let order = result["orders"][0]["id"].as_str().unwrap_or("?");
    assert_eq!(location, format!("/v1/customers/{FABRIKAM}/orders/{order}"));
    let (status, _) = app.get_json(&location, &token).await;
    assert_eq!(status, 200);

    let document = document();
    for (path, operations) in document["paths"].as_object().expect("paths") {
        for (method, operation) in operations.as_object().expect("operations") {
            if let Some(created) = operation["responses"].get("201") {
                assert!(created["headers"]["Location"].is_object(), "{method} {path}: 201 without Location");
            }
        }
    }
}

#[tokio::test]
async fn the_bearer_challenge_follows_rfc_6750_and_expired_tokens_say_so() {
    let app = TestApp::spawn().await;
    let challenge = |response: &reqwest::Response| {
        response.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    };
    // No credentials at all (or another scheme): the bare challenge, no error code (§3.1).
    for authorization in [None, Some("Basic dXNlcjpwYXNz")] {
        let mut request = app.http.get(app.url("/v1/customers"));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.expect("send");
        assert_eq!(response.status(), 401);
        assert_eq!(challenge(&response), "Bearer", "{authorization:?}");
        let problem: Value = response.json().await.expect("problem");
        assert_eq!(problem["reason"], "UNAUTHENTICATED");
    }
    // A token that fails: invalid_token and why.
    let response = app.http.get(app.url("/v1/customers")).bearer_auth("not-a-jwt").send().await.expect("send");
    assert!(
        challenge(&response).starts_with("Bearer error=\"invalid_token\", error_description="),
        "{}",
        challenge(&response)
    );
    // An expired one: the same challenge and its own reason, over both transports.
    let mut request = partner_center_gateway::auth::dev::DevTokenRequest::all_access("expired");
    request.partner = Some(seed::CONTOSO_PARTNER_ID.to_owned());
    let fresh = app.token_with(request);
    let expired = {
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut claims: Value =
            serde_json::from_slice(&engine.decode(fresh.split('.').nth(1).expect("claims")).expect("b64"))
                .expect("json");
        let now = jsonwebtoken::get_current_timestamp();
        claims["exp"] = json!(now - 300);
        claims["iat"] = json!(now - 600);
        claims["nbf"] = json!(now - 600);
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(app.settings.dev_secret().as_bytes()),
        )
        .expect("sign")
    };
    let response = app.http.get(app.url("/v1/customers")).bearer_auth(&expired).send().await.expect("send");
    assert_eq!(response.status(), 401);
    assert!(challenge(&response).contains("error=\"invalid_token\""), "{}", challenge(&response));
    let problem: Value = response.json().await.expect("problem");
    assert_eq!(problem["reason"], "TOKEN_EXPIRED", "{problem}");
    let status = app
        .customers_client()
        .await
        .get_customer(crate::helpers::authed(
            partner_center_gateway::grpc::pb::GetCustomerRequest { customer_id: FABRIKAM.into() },
            &expired,
        ))
        .await
        .expect_err("expired");
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    let details = tonic_types::StatusExt::check_error_details(&status).expect("details");
    assert_eq!(details.error_info().map(|info| info.reason.as_str()), Some("TOKEN_EXPIRED"));
    // The document lists the reason.
    let reasons = document()["components"]["schemas"]["Reason"]["enum"].clone();
    assert!(reasons.as_array().expect("enum").contains(&json!("TOKEN_EXPIRED")), "{reasons}");
}

#[tokio::test]
async fn monthly_usage_of_an_azure_plan_points_at_the_gateways_own_route() {
    let app = TestApp::spawn().await;
    let token = app.admin_token();
    let plan = seed::FABRIKAM_AZURE_PLAN;
    let (status, problem) =
        app.get_json(&format!("/v1/customers/{FABRIKAM}/subscriptions/{plan}/usage/monthly"), &token).await;
    assert!((400..500).contains(&status), "{status} {problem}");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("/v1/customers/{customerId}/subscriptions/{subscriptionId}/usage/meters"), "{detail}");
    assert!(!detail.contains("meterusagerecords"), "Partner Center's route leaked: {detail}");
    // And the other way round.
    let legacy = seed::LITWARE_0145P_SUBSCRIPTION;
    let (_, problem) =
        app.get_json(&format!("/v1/customers/{LITWARE}/subscriptions/{legacy}/usage/resources"), &token).await;
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("/usage/monthly") && !detail.contains("meterusagerecords"), "{problem}");
}

#[tokio::test]
async fn the_documented_examples_buy_an_azure_plan() {
    let document = document();
    let operation = &document["paths"]["/v1/customers/{customerId}/azure-plans"]["post"];
    let parameter = |name: &str| {
        operation["parameters"].as_array().expect("parameters").iter().find(|p| p["name"] == name).cloned()
    };
    let customer = parameter("customerId").expect("customerId")["example"].as_str().expect("example").to_owned();
    assert_eq!(customer, seed::CUSTOMER_ADVENTURE_WORKS);
    let key = parameter("Idempotency-Key").expect("key")["example"].as_str().expect("example").to_owned();
    let body = operation["requestBody"]["content"]["application/json"]["example"].clone();
    assert!(body.is_object() && !body.to_string().contains("\"string\""), "{body}");
    let app = TestApp::spawn().await;
    let response = app
        .http
        .post(app.url(&format!("/v1/customers/{customer}/azure-plans")))
        .bearer_auth(app.admin_token())
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 201);
    let plan: Value = response.json().await.expect("plan");
    assert_eq!(plan["customerId"].as_str().map(str::to_ascii_lowercase), Some(customer.to_ascii_lowercase()), "{plan}");
}

#[tokio::test]
async fn metrics_have_help_process_metrics_and_counters_from_the_start() {
    let app = TestApp::spawn().await;
    let text = app.http.get(app.url("/metrics")).send().await.expect("scrape").text().await.expect("text");
    for help in [
        "# HELP gateway_rate_limited_total ",
        "# HELP gateway_load_shed_total ",
        "# HELP gateway_token_requests_total ",
        "# HELP process_cpu_seconds_total ",
        "# HELP process_resident_memory_bytes ",
        "# HELP process_open_fds ",
        "# HELP process_start_time_seconds ",
    ] {
        assert!(text.contains(help), "{help} missing");
    }
    for zero in [
        "gateway_rate_limited_total{scope=\"caller\"}",
        "gateway_load_shed_total{transport=\"grpc\"}",
        "gateway_upstream_throttled_total{partner=\"contoso\"}",
    ] {
        assert!(text.lines().any(|line| line.starts_with(zero)), "{zero} missing");
    }
    // Every series of a recorded metric has its help line.
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let name = line.split(['{', ' ']).next().unwrap_or_default();
        let family = ["_bucket", "_sum", "_count"].iter().fold(name, |n, suffix| n.strip_suffix(suffix).unwrap_or(n));
        assert!(
            text.contains(&format!("# HELP {family} ")) || text.contains(&format!("# HELP {name} ")),
            "{name} has no HELP"
        );
    }
}

#[tokio::test]
async fn swagger_ui_keeps_the_token_reads_a_relative_url_and_both_can_be_turned_off() {
    let app = TestApp::spawn().await;
    let initializer = app
        .http
        .get(app.url("/swagger-ui/swagger-initializer.js"))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("js");
    assert!(initializer.contains("\"persistAuthorization\": true"), "{initializer}");
    assert!(initializer.contains("\"url\": \"../openapi.json\""), "{initializer}");
    let redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(app.url("/swagger-ui"))
        .send()
        .await
        .expect("get");
    assert!(redirect.status().is_redirection());
    assert_eq!(redirect.headers()["location"], "swagger-ui/", "relative, so a path prefix survives");
    let spec = app.http.get(app.url("/openapi.json")).send().await.expect("get");
    assert_eq!(
        (spec.status().as_u16(), spec.headers()["content-type"].to_str().unwrap_or_default()),
        (200, "application/json")
    );

    let closed = TestApp::spawn_with(|settings| {
        settings.rest.swagger_ui = false;
        settings.rest.openapi_json = false;
    })
    .await;
    for path in ["/openapi.json", "/swagger-ui/", "/swagger-ui/swagger-initializer.js"] {
        let response = closed.http.get(closed.url(path)).send().await.expect("get");
        assert_eq!(response.status(), 404, "{path}");
    }
    let document_only = TestApp::spawn_with(|settings| settings.rest.swagger_ui = false).await;
    let response = document_only.http.get(document_only.url("/openapi.json")).send().await.expect("get");
    assert_eq!(response.status(), 200);
    let token = document_only.token(&["*"], &[Permission::CustomersRead]);
    let (status, _) = document_only.get_json("/v1/customers", &token).await;
    assert_eq!(status, 200, "the API itself is unaffected");
}

#[test]
fn every_recorded_metric_is_described_and_documented() {
    use partner_center_gateway::metrics_catalog::METRICS;
    let root = env!("CARGO_MANIFEST_DIR");
    let operations = std::fs::read_to_string(format!("{root}/docs/operations.md")).expect("docs");
    let mut files = vec![std::path::PathBuf::from(format!("{root}/src"))];
    let mut recorded = std::collections::BTreeSet::new();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).expect("dir").map(|entry| entry.expect("entry").path()));
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for macro_name in ["counter!(", "gauge!(", "histogram!("] {
            for (at, _) in text.match_indices(macro_name) {
                let rest = text[at + macro_name.len()..].trim_start();
                if let Some(name) = rest.strip_prefix('"').and_then(|r| r.split('"').next()) {
                    recorded.insert(name.to_owned());
                }
            }
        }
    }
    assert!(recorded.len() > 15, "{recorded:?}");
    for name in &recorded {
        assert!(METRICS.iter().any(|(_, listed, _)| listed == name), "{name} has no help text in metrics_catalog");
        assert!(operations.contains(&format!("`{name}")), "{name} is not in docs/operations.md");
    }
}
