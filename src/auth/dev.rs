//! Dev-mode tokens: HS256 with the dev secret. Used by `partner-center-gateway dev-token`, the
//! start-up banner of `cargo run`, and the tests.

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use super::Permission;
use crate::model::CustomerId;

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

impl DevTokenRequest {
    /// Refuses what the gateway would not honour, so a typo fails at minting instead of as a
    /// puzzling 403 later: unknown permissions, a partner the gateway does not serve (by id or
    /// tenant id; `partners` as (id, tenant id)), customer ids that are not GUIDs, `*` mixed with
    /// ids. The message lists the valid values.
    pub fn check(&self, partners: &[(&str, &str)]) -> Result<(), String> {
        let unknown: Vec<&str> =
            self.scopes.iter().map(String::as_str).filter(|s| Permission::from_name(s).is_none()).collect();
        if !unknown.is_empty() {
            let valid: Vec<&str> = Permission::ALL.iter().map(|p| p.as_str()).collect();
            return Err(format!(
                "unknown permission{} {}; valid: {}",
                if unknown.len() == 1 { "" } else { "s" },
                quoted(&unknown),
                valid.join(", ")
            ));
        }
        if let Some(partner) = &self.partner
            && !partners.iter().any(|(id, tenant)| *id == partner.as_str() || tenant.eq_ignore_ascii_case(partner))
        {
            let valid: Vec<String> = partners.iter().map(|(id, tenant)| format!("{id} (tenant {tenant})")).collect();
            return Err(format!(
                "unknown partner {partner:?}; this gateway serves: {}",
                if valid.is_empty() { "none".to_owned() } else { valid.join(", ") }
            ));
        }
        if self.customers.iter().any(|c| c == "*") {
            if self.customers.len() > 1 {
                return Err("--customer '*' means every customer; give it alone, or only customer ids".to_owned());
            }
            return Ok(());
        }
        let malformed: Vec<&str> =
            self.customers.iter().map(String::as_str).filter(|c| CustomerId::parse("customer", c).is_err()).collect();
        if !malformed.is_empty() {
            return Err(format!(
                "malformed customer id{} {}; valid: a customer tenant GUID such as \
                 3e8b1c5d-0f4a-4b6c-8d9e-4f5a6b7c8d93, or '*' for every customer",
                if malformed.len() == 1 { "" } else { "s" },
                quoted(&malformed)
            ));
        }
        Ok(())
    }
}

fn quoted(values: &[&str]) -> String {
    values.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join(", ")
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

#[cfg(test)]
mod tests {
    use super::*;

    const PARTNERS: &[(&str, &str)] = &[("contoso", "9a2e7b61-3c1f-4f9e-8f4b-1c2d3e4f5a6b")];

    fn request(customers: &[&str], scopes: &[&str], partner: Option<&str>) -> DevTokenRequest {
        DevTokenRequest {
            subject: "dev".to_owned(),
            partner: partner.map(str::to_owned),
            customers: customers.iter().map(|c| (*c).to_owned()).collect(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            ttl: Duration::from_secs(60),
        }
    }

    #[test]
    fn valid_requests_pass() {
        let guid = "3e8b1c5d-0f4a-4b6c-8d9e-4f5a6b7c8d93";
        for ok in [
            request(&["*"], &["orders.write"], None),
            request(&[guid], &["customers.read", "usage.read"], Some("contoso")),
            request(&[guid], &[], Some("9A2E7B61-3C1F-4F9E-8F4B-1C2D3E4F5A6B")),
        ] {
            assert_eq!(ok.check(PARTNERS), Ok(()), "{ok:?}");
        }
    }

    #[test]
    fn typos_are_refused_with_the_valid_values() {
        let error = request(&["*"], &["order.write", "usage.read"], None).check(PARTNERS).expect_err("scope");
        assert!(
            error.contains("\"order.write\"") && error.contains("orders.write") && error.contains("invoices.read"),
            "{error}"
        );
        let error = request(&["*"], &[], Some("contosso")).check(PARTNERS).expect_err("partner");
        assert!(error.contains("\"contosso\"") && error.contains("contoso (tenant 9a2e7b61"), "{error}");
        let error = request(&["fabrikam"], &[], None).check(PARTNERS).expect_err("customer");
        assert!(error.contains("\"fabrikam\"") && error.contains("GUID") && error.contains("'*'"), "{error}");
        let error =
            request(&["*", "3e8b1c5d-0f4a-4b6c-8d9e-4f5a6b7c8d93"], &[], None).check(PARTNERS).expect_err("mix");
        assert!(error.contains("alone"), "{error}");
    }
}
