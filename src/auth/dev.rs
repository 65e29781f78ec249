//! Dev-mode tokens: HS256 with the dev secret. Used by `partner-center-gateway dev-token`, the
//! start-up banner of `cargo run`, and the tests.

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use super::Permission;

#[derive(Debug, Clone)]
pub struct DevTokenRequest {
    pub subject: String,
    pub partner: Option<String>,
    /// Customer ids, or `*` for all customers.
    pub customers: Vec<String>,
    pub scopes: Vec<String>,
    pub ttl: Duration,
}

impl DevTokenRequest {
    /// Everything: all customers, every permission.
    pub fn all_access(subject: &str) -> Self {
        Self {
            subject: subject.to_owned(),
            partner: None,
            customers: vec!["*".to_owned()],
            scopes: Permission::ALL.iter().map(|p| p.as_str().to_owned()).collect(),
            ttl: Duration::from_secs(12 * 3600),
        }
    }
}

#[derive(Serialize)]
struct DevClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    iat: u64,
    nbf: u64,
    exp: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    partner: Option<&'a str>,
    customers: serde_json::Value,
    scp: String,
}

pub fn mint(
    secret: &str,
    issuer: &str,
    audience: &str,
    request: &DevTokenRequest,
) -> Result<String, jsonwebtoken::errors::Error> {
    let now = jsonwebtoken::get_current_timestamp();
    let customers = if request.customers.iter().any(|c| c == "*") {
        serde_json::Value::from("*")
    } else {
        serde_json::Value::from(request.customers.clone())
    };
    let claims = DevClaims {
        iss: issuer,
        aud: audience,
        sub: &request.subject,
        iat: now,
        nbf: now,
        exp: now + request.ttl.as_secs(),
        partner: request.partner.as_deref(),
        customers,
        scp: request.scopes.join(" "),
    };
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret.as_bytes()))
}
