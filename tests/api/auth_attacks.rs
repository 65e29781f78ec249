//! Hostile tokens, each over both transports, against a gateway verifying RS256 tokens from a
//! JWKS URL; and key rotation without a restart.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey};
use parking_lot::RwLock;
use partner_center_gateway::{config::AuthMode, grpc::pb};
use serde_json::{Value, json};
use tonic::Code;

use crate::{
    auth::{claims, rsa_key, sign},
    helpers::{FABRIKAM, TestApp, authed},
};

const ISSUER: &str = "https://issuer.example.test/";
const AUDIENCE: &str = "api://partner-center-gateway-tests";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

fn jwk(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).expect("jwk")
}

/// A JWKS endpoint whose document can change, counting fetches.
#[derive(Clone)]
struct Jwks {
    document: Arc<RwLock<Value>>,
    fetches: Arc<AtomicUsize>,
    url: String,
}

impl Jwks {
    async fn serve(keys: Vec<Value>) -> Self {
        let document = Arc::new(RwLock::new(json!({ "keys": keys })));
        let fetches = Arc::new(AtomicUsize::new(0));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/jwks.json", listener.local_addr().expect("addr"));
        let (doc, count) = (document.clone(), fetches.clone());
        let router = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || {
                count.fetch_add(1, Ordering::SeqCst);
                let body = doc.read().clone();
                std::future::ready(axum::Json(body))
            }),
        );
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { document, fetches, url }
    }

    fn rotate_to(&self, keys: Vec<Value>) {
        *self.document.write() = json!({ "keys": keys });
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

async fn app(jwks: &Jwks, min_refetch: Duration) -> TestApp {
    let url = jwks.url.clone();
    TestApp::spawn_external(move |settings| {
        settings.auth.mode = Some(AuthMode::Jwt);
        settings.auth.issuer = Some(ISSUER.to_owned());
        settings.auth.audience = Some(AUDIENCE.to_owned());
        settings.auth.jwks_url = Some(url.parse().expect("url"));
        settings.auth.jwks_min_refetch_interval = min_refetch;
        settings.auth.max_token_bytes = 4096;
    })
    .await
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().expect("object").remove(key);
    claims
}

fn now() -> i64 {
    i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap_or(i64::MAX)
}

/// A token that claims `alg: none` and carries no signature.
fn unsigned(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.")
}

#[tokio::test]
async fn every_hostile_token_is_refused_over_both_transports() {
    let jwks = Jwks::serve(vec![jwk("rsa-jwk-1.json")]).await;
    let app = app(&jwks, Duration::from_secs(60)).await;
    let key = rsa_key("rsa-private.pem");
    let good = sign(Algorithm::RS256, &key, Some("test-rsa-1"), &claims());
    let (status, body) = app.get_json(&format!("/v1/customers/{FABRIKAM}"), &good).await;
    assert_eq!(status, 200, "a valid token works: {body}");

    let mut tampered = good.clone();
    let last = tampered.pop().expect("signature char");
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let attacks: Vec<(&str, String, u16)> = vec![
        ("alg none", unsigned(&claims()), 401),
        (
            "HS256 signed with the RS public key",
            sign(
                Algorithm::HS256,
                &EncodingKey::from_secret(&fixture("rsa-public.pem")),
                Some("test-rsa-1"),
                &claims(),
            ),
            401,
        ),
        ("expired", sign(Algorithm::RS256, &key, Some("test-rsa-1"), &with(claims(), "exp", json!(now() - 3600))), 401),
        (
            "not yet valid",
            sign(Algorithm::RS256, &key, Some("test-rsa-1"), &with(claims(), "nbf", json!(now() + 3600))),
            401,
        ),
        (
            "wrong issuer",
            sign(Algorithm::RS256, &key, Some("test-rsa-1"), &with(claims(), "iss", json!("https://evil.example/"))),
            401,
        ),
        (
            "wrong audience",
            sign(Algorithm::RS256, &key, Some("test-rsa-1"), &with(claims(), "aud", json!("api://other"))),
            401,
        ),
        ("bad signature", tampered, 401),
        ("unknown kid", sign(Algorithm::RS256, &rsa_key("rsa2-private.pem"), Some("test-rsa-2"), &claims()), 401),
        ("no sub", sign(Algorithm::RS256, &key, Some("test-rsa-1"), &without(claims(), "sub")), 401),
        ("no exp", sign(Algorithm::RS256, &key, Some("test-rsa-1"), &without(claims(), "exp")), 401),
        (
            "customers not GUIDs",
            sign(Algorithm::RS256, &key, Some("test-rsa-1"), &with(claims(), "customers", json!(["../admin"]))),
            401,
        ),
        (
            "oversized",
            sign(Algorithm::RS256, &key, Some("test-rsa-1"), &with(claims(), "padding", json!("x".repeat(5000)))),
            401,
        ),
        ("garbage", "Bearer-not-a-jwt-\u{7f}".replace('\u{7f}', "x"), 401),
        (
            "a token for another partner",
            sign(Algorithm::RS256, &key, Some("test-rsa-1"), &with(claims(), "partner", json!("fabrikam-partners"))),
            403,
        ),
    ];
    let mut customers = app.customers_client().await;
    for (name, token, expected) in attacks {
        let response = app.get(&format!("/v1/customers/{FABRIKAM}"), &token).await;
        assert_eq!(response.status().as_u16(), expected, "{name} over REST");
        if expected == 401 {
            assert!(response.headers().contains_key("www-authenticate"), "{name}");
        }
        let problem: Value = response.json().await.expect("problem");
        assert!(!problem.to_string().contains(&token[..token.len().min(40)]), "{name}: the token is not echoed");
        let status = customers
            .get_customer(authed(pb::GetCustomerRequest { customer_id: FABRIKAM.into() }, &token))
            .await
            .expect_err(name);
        let code = if expected == 401 { Code::Unauthenticated } else { Code::PermissionDenied };
        assert_eq!(status.code(), code, "{name} over gRPC: {status:?}");
    }
    assert_eq!(
        app.counters().calls_to("GET /v1/customers/{customer_id}"),
        1,
        "only the valid token reached Partner Center"
    );
}

#[tokio::test]
async fn unknown_kids_cannot_hammer_the_issuer() {
    let jwks = Jwks::serve(vec![jwk("rsa-jwk-1.json")]).await;
    let app = app(&jwks, Duration::from_secs(60)).await;
    let at_start = jwks.fetches();
    for n in 0..25 {
        let forged = sign(Algorithm::RS256, &rsa_key("rsa2-private.pem"), Some(&format!("forged-{n}")), &claims());
        let (status, _) = app.get_json("/v1/customers", &forged).await;
        assert_eq!(status, 401);
    }
    assert!(jwks.fetches() - at_start <= 1, "{} JWKS fetches for 25 unknown kids", jwks.fetches() - at_start);
}

#[tokio::test]
async fn rotated_keys_work_without_a_restart_and_dropped_keys_stop_working() {
    let jwks = Jwks::serve(vec![jwk("rsa-jwk-1.json")]).await;
    let app = app(&jwks, Duration::from_millis(300)).await;
    let old = sign(Algorithm::RS256, &rsa_key("rsa-private.pem"), Some("test-rsa-1"), &claims());
    let new = sign(Algorithm::RS256, &rsa_key("rsa2-private.pem"), Some("test-rsa-2"), &claims());
    assert_eq!(app.get_json("/v1/customers?pageSize=1", &old).await.0, 200);

    // The issuer publishes the new key and drops the old one.
    jwks.rotate_to(vec![jwk("rsa-jwk-2.json")]);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(app.get_json("/v1/customers?pageSize=1", &new).await.0, 200, "the new key is fetched on its first use");
    let status = app
        .customers_client()
        .await
        .list_customers(authed(pb::ListCustomersRequest { page_size: 1, page_token: String::new() }, &new))
        .await
        .map(|_| ());
    assert!(status.is_ok(), "{status:?}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(app.get_json("/v1/customers?pageSize=1", &old).await.0, 401, "the dropped key no longer verifies");
}
