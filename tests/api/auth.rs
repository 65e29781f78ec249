use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use partner_center_gateway::{
    auth::{Permission, dev::DevTokenRequest},
    config::AuthMode,
    grpc::pb,
};
use partner_center_simulator::seed;

use serde_json::{Value, json};
use tonic::Code;

use crate::helpers::{FABRIKAM, NORTHWIND_TRADERS, TestApp, authed};

const ISSUER: &str = "https://issuer.example.test/";
const AUDIENCE: &str = "api://partner-center-gateway-tests";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// Claims of a valid token for Contoso with every permission on every customer.
pub fn claims() -> Value {
    json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "svc-billing", "iat": now(), "nbf": now(), "exp": now() + 600,
        "partner": seed::CONTOSO_PARTNER_ID, "customers": "*",
        "roles": Permission::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>()
    })
}

pub fn sign(algorithm: Algorithm, key: &EncodingKey, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(algorithm);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).expect("sign")
}

pub fn rsa_key(name: &str) -> EncodingKey {
    EncodingKey::from_rsa_pem(&fixture(name)).expect("rsa key")
}

#[tokio::test]
async fn missing_or_invalid_tokens_are_401_with_a_bearer_challenge_over_both_transports() {
    let app = TestApp::spawn().await;
    for token in [None, Some("not-a-jwt"), Some("eyJhbGciOiJIUzI1NiJ9.e30.c2ln")] {
        let mut request = app.http.get(app.url("/v1/customers"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("send");
        assert_eq!(response.status(), 401);
        let challenge =
            response.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert!(challenge.starts_with("Bearer"), "{challenge}");
        let body: Value = response.json().await.expect("problem");
        assert_eq!(body["type"], "urn:partner-center-gateway:problem:unauthenticated");
    }
    let mut client = app.customers_client().await;
    let status =
        client.get_customer(pb::GetCustomerRequest { customer_id: FABRIKAM.into() }).await.expect_err("no token");
    assert_eq!(status.code(), Code::Unauthenticated);
    let status = client
        .get_customer(authed(pb::GetCustomerRequest { customer_id: FABRIKAM.into() }, "nope"))
        .await
        .expect_err("bad");
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(app.counters().total_calls(), 0);
}

#[tokio::test]
async fn an_expired_dev_token_is_rejected_and_says_why() {
    let app = TestApp::spawn().await;
    let mut request = DevTokenRequest::all_access("expired");
    request.partner = Some(seed::CONTOSO_PARTNER_ID.to_owned());
    request.ttl = Duration::ZERO;
    let token = app.token_with(request);
    // Past the 30 s default leeway.
    let app_settings_leeway = app.settings.auth.leeway;
    assert!(app_settings_leeway <= Duration::from_secs(60));
    let claims = {
        let mut c: Value =
            serde_json::from_slice(&base64_url_decode(token.split('.').nth(1).expect("payload"))).expect("claims");
        c["exp"] = json!(now() - 120);
        c
    };
    let expired = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(app.settings.dev_secret().as_bytes()),
    )
    .expect("sign");
    let (status, problem) = app.get_json("/v1/customers", &expired).await;
    assert_eq!(status, 401);
    assert!(problem["detail"].as_str().unwrap_or_default().contains("expired"), "{problem}");
}

fn base64_url_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).expect("base64")
}

#[tokio::test]
async fn a_missing_permission_is_403_naming_it_over_both_transports() {
    let app = TestApp::spawn().await;
    let token = app.token(&["*"], &[Permission::CatalogRead]);
    let (status, problem) = app.get_json(&format!("/v1/customers/{FABRIKAM}"), &token).await;
    assert_eq!(status, 403);
    assert!(problem["detail"].as_str().unwrap_or_default().contains("customers.read"), "{problem}");
    assert_eq!(problem["reason"], "MISSING_PERMISSION");
    let status = app
        .customers_client()
        .await
        .get_customer(authed(pb::GetCustomerRequest { customer_id: FABRIKAM.into() }, &token))
        .await
        .expect_err("denied");
    assert_eq!(status.code(), Code::PermissionDenied);
    assert!(status.message().contains("customers.read"));
    assert_eq!(app.counters().total_calls(), 0);
}

#[tokio::test]
async fn each_partner_sees_its_own_customers_and_unknown_partners_are_denied() {
    let app = TestApp::spawn().await;
    let mut northwind = DevTokenRequest::all_access("northwind-svc");
    northwind.partner = Some(seed::NORTHWIND_PARTNER_ID.to_owned());
    let token = app.token_with(northwind);
    let (status, body) = app.get_json("/v1/customers", &token).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = body["items"].as_array().expect("items").iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(ids, vec![NORTHWIND_TRADERS]);
    // Northwind's "*" is all of *Northwind's* customers: Contoso's Fabrikam is not one of them.
    let (status, _) = app.get_json(&format!("/v1/customers/{FABRIKAM}"), &token).await;
    assert_eq!(status, 404);

    let mut stranger = DevTokenRequest::all_access("stranger");
    stranger.partner = Some("fabrikam-partners".to_owned());
    let (status, problem) = app.get_json("/v1/customers", &app.token_with(stranger)).await;
    assert_eq!(status, 403);
    assert_eq!(problem["reason"], "UNKNOWN_PARTNER");

    // Two partners are served, so a token must say which.
    let mut anonymous = DevTokenRequest::all_access("anonymous");
    anonymous.partner = None;
    let (status, problem) = app.get_json("/v1/customers", &app.token_with(anonymous)).await;
    assert_eq!(status, 403);
    assert_eq!(problem["reason"], "PARTNER_REQUIRED");
}

#[tokio::test]
async fn jwt_mode_verifies_es256_tokens_against_a_pem_public_key() {
    let app = TestApp::spawn_external(|settings| {
        settings.auth.mode = Some(AuthMode::Jwt);
        settings.auth.issuer = Some(ISSUER.to_owned());
        settings.auth.audience = Some(AUDIENCE.to_owned());
        settings.auth.public_key_pem = Some(String::from_utf8(fixture("ec-public.pem")).expect("pem"));
    })
    .await;
    let key = EncodingKey::from_ec_pem(&fixture("ec-private.pem")).expect("ec key");
    let token = sign(Algorithm::ES256, &key, None, &claims());
    let (status, body) = app.get_json(&format!("/v1/customers/{FABRIKAM}"), &token).await;
    assert_eq!(status, 200, "{body}");

    // The same claims signed with the dev secret (HS256) are refused: the algorithm is pinned.
    let forged = sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(b"partner-center-gateway-development-secret-do-not-use-in-production"),
        None,
        &claims(),
    );
    let (status, _) = app.get_json(&format!("/v1/customers/{FABRIKAM}"), &forged).await;
    assert_eq!(status, 401);
    // So is a token signed with the HS256 "secret" being the public key's PEM.
    let confused = sign(Algorithm::HS256, &EncodingKey::from_secret(&fixture("ec-public.pem")), None, &claims());
    let (status, _) = app.get_json(&format!("/v1/customers/{FABRIKAM}"), &confused).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn jwt_mode_verifies_rs256_tokens_from_a_jwks_url() {
    let jwks =
        serve_jwks(json!({ "keys": [serde_json::from_slice::<Value>(&fixture("rsa-jwk-1.json")).expect("jwk")] }))
            .await;
    let app = TestApp::spawn_external(|settings| {
        settings.auth.mode = Some(AuthMode::Jwt);
        settings.auth.issuer = Some(ISSUER.to_owned());
        settings.auth.audience = Some(AUDIENCE.to_owned());
        settings.auth.jwks_url = Some(jwks.parse().expect("url"));
    })
    .await;
    let token = sign(Algorithm::RS256, &rsa_key("rsa-private.pem"), Some("test-rsa-1"), &claims());
    let (status, body) = app.get_json("/v1/customers?pageSize=2", &token).await;
    assert_eq!(status, 200, "{body}");
    let status = app
        .customers_client()
        .await
        .get_customer(authed(pb::GetCustomerRequest { customer_id: FABRIKAM.into() }, &token))
        .await
        .map(|_| ());
    assert!(status.is_ok(), "{status:?}");

    // A key the issuer never published.
    let stranger = sign(Algorithm::RS256, &rsa_key("rsa2-private.pem"), Some("test-rsa-2"), &claims());
    let (status, problem) = app.get_json("/v1/customers", &stranger).await;
    assert_eq!(status, 401);
    assert!(problem["detail"].as_str().unwrap_or_default().contains("unknown key"), "{problem}");
}

/// Serves a JWKS document on a loopback port; returns its URL.
pub async fn serve_jwks(document: Value) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = axum::Router::new()
        .route("/jwks.json", axum::routing::get(move || std::future::ready(axum::Json(document.clone()))));
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}/jwks.json")
}
