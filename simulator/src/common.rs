//! Small helpers shared by the commerce areas (agreements, carts and orders, subscriptions,
//! product upgrades): lenient request bodies, timestamps, links and the customer check.

use std::time::{Duration, SystemTime};

use axum::http::StatusCode;
use serde_json::{Map, Value, json};
use time::{OffsetDateTime, PrimitiveDateTime, format_description::well_known::Rfc3339, macros::format_description};
use uuid::Uuid;

use super::{
    aad::PartnerTenant,
    customers::SimCustomer,
    state::Inner,
    wire::{PcError, collection},
};

/// "Never ends", as Partner Center writes it for usage-based subscriptions.
pub const FAR_FUTURE: &str = "9999-12-10T00:00:00Z";

/// A request body as JSON with PascalCase keys turned camelCase (Partner Center's own examples
/// send `LineItems`, `CatalogItemId`, `Status`, `Attributes.ObjectType`). An empty body is `null`.
pub fn parse_body(body: &[u8]) -> Result<Value, PcError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice::<Value>(body)
        .map(camel_case_keys)
        .map_err(|e| PcError::new(StatusCode::BAD_REQUEST, 800002, format!("The request body is not valid JSON: {e}")))
}

/// Lower-cases the first letter of every object key, recursively.
pub fn camel_case_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (key, value) in map {
                let mut chars = key.chars();
                let key = match chars.next() {
                    Some(first) => first.to_lowercase().chain(chars).collect(),
                    None => key,
                };
                out.insert(key, camel_case_keys(value));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(camel_case_keys).collect()),
        other => other,
    }
}

/// A string member of a request object, trimmed; `None` when absent, not a string or blank.
pub fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// Enum values compared the way Partner Center accepts them: `OneTime`, `one_time`, `onetime`.
pub fn enum_key(value: &str) -> String {
    value.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase()
}

/// ISO-8601 in UTC with whole seconds, e.g. `2024-05-01T12:00:00Z`.
pub fn iso(t: SystemTime) -> String {
    let dt = OffsetDateTime::from(t);
    let dt = dt.replace_nanosecond(0).unwrap_or(dt);
    dt.format(&Rfc3339).unwrap_or_else(|_| "0001-01-01T00:00:00Z".to_owned())
}

/// Whether `value` is a timestamp Partner Center would take: RFC 3339, or without a zone.
pub fn is_timestamp(value: &str) -> bool {
    OffsetDateTime::parse(value, &Rfc3339).is_ok()
        || PrimitiveDateTime::parse(value, format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]")).is_ok()
        || PrimitiveDateTime::parse(
            value,
            format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]"),
        )
        .is_ok()
}

/// Roughly how long an ISO-8601 term (`P1M`, `P1Y`, `P3Y`) lasts. Approximate on purpose: the
/// simulator only needs a plausible `commitmentEndDate`.
pub fn term_length(term: &str) -> Option<Duration> {
    let term = term.to_ascii_uppercase();
    let rest = term.strip_prefix('P')?;
    let (count, unit) = rest.split_at(rest.len().checked_sub(1)?);
    let count: u64 = count.parse().ok()?;
    let days = match unit {
        "D" => 1,
        "M" => 30,
        "Y" => 365,
        _ => return None,
    };
    Some(Duration::from_secs(count.checked_mul(days)?.checked_mul(86_400)?))
}

/// A `Link` (`uri` relative to `/v1`, as most Partner Center examples write it).
pub fn link(uri: impl Into<String>, method: &str) -> Value {
    json!({ "uri": uri.into(), "method": method, "headers": [] })
}

/// The collection envelope without `links`, as the examples of agreement metadata, agreements,
/// subscriptions, Azure entitlements and order provisioning status show it.
pub fn bare_collection(items: Vec<Value>) -> Value {
    let mut body = collection(items, "", None);
    if let Some(object) = body.as_object_mut() {
        object.remove("links");
    }
    body
}

/// A fresh opaque ETag (Partner Center's are opaque strings in `attributes.etag`).
pub fn new_etag() -> String {
    Uuid::new_v4().simple().to_string()
}

/// An `If-Match` value compared with an ETag: quotes and the weak marker do not matter.
pub fn etag_matches(if_match: &str, etag: &str) -> bool {
    let bare = |s: &str| s.trim().trim_start_matches("W/").trim_matches('"').to_owned();
    !if_match.trim().is_empty() && bare(if_match) == bare(etag)
}

/// The partner user behind a request, as Partner Center reports it in `userId` and
/// `lastModifiedUser`. The simulator has one user per partner, derived from the tenant id.
pub fn partner_user(partner_tenant: &str) -> String {
    let tail: String = partner_tenant.chars().filter(char::is_ascii_hexdigit).rev().take(12).collect();
    let tail: String = tail.chars().rev().collect();
    format!("0d5e4c3b-2a19-4f08-9e7d-{tail:0>12}")
}

/// The customer if it is one of the partner's: 400/900118 for a malformed id, 404/60003 otherwise
/// (as `GET /v1/customers/{id}` answers).
pub fn customer<'a>(inner: &'a Inner, partner: &PartnerTenant, customer_id: &str) -> Result<&'a SimCustomer, PcError> {
    if Uuid::try_parse(customer_id).is_err() {
        return Err(PcError::new(StatusCode::BAD_REQUEST, 900118, "The customer id is invalid."));
    }
    inner
        .customers
        .of_partner(&partner.tenant_id, customer_id)
        .ok_or_else(|| PcError::new(StatusCode::NOT_FOUND, 60003, "The customer tenant was not found."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pascal_case_bodies_become_camel_case() {
        let body = br#"{"LineItems":[{"CatalogItemId":"x","ProvisioningContext":{"SubscriptionId":"s"}}]}"#;
        let value = parse_body(body).expect("json");
        assert_eq!(value["lineItems"][0]["catalogItemId"], "x");
        assert_eq!(value["lineItems"][0]["provisioningContext"]["subscriptionId"], "s");
        assert_eq!(parse_body(b"  ").expect("empty"), Value::Null);
        let error = parse_body(b"{nope").expect_err("invalid");
        assert_eq!((error.status, error.code), (StatusCode::BAD_REQUEST, 800002));
    }

    #[test]
    fn helpers_are_lenient_where_partner_center_is() {
        assert_eq!(enum_key("One_Time"), enum_key("OneTime"));
        assert!(is_timestamp("2019-08-29T23:47:28.8524555Z"));
        assert!(is_timestamp("2018-03-16T00:00:00"));
        assert!(!is_timestamp("yesterday"));
        assert_eq!(term_length("P1Y"), Some(Duration::from_secs(365 * 86_400)));
        assert_eq!(term_length("p1m"), Some(Duration::from_secs(30 * 86_400)));
        assert_eq!(term_length("P"), None);
        assert_eq!(term_length("1Y"), None);
        assert!(etag_matches("\"abc\"", "abc"));
        assert!(etag_matches("W/\"abc\"", "abc"));
        assert!(!etag_matches("", "abc"));
        assert!(iso(SystemTime::UNIX_EPOCH).starts_with("1970-01-01T00:00:00"));
    }
}

/// Request helpers for the commerce modules' tests.
#[cfg(test)]
pub mod test_support {
    use reqwest::{Method, header::HeaderMap};
    use serde_json::Value;

    use crate::testing::TestSim;

    pub struct Reply {
        pub status: u16,
        pub headers: HeaderMap,
        pub body: Value,
    }

    impl Reply {
        /// The Partner Center error code of an error body.
        pub fn code(&self) -> Option<u64> {
            self.body["code"].as_u64()
        }

        /// `(status, code)` for compact assertions on errors.
        pub fn error(&self) -> (u16, Option<u64>) {
            (self.status, self.code())
        }
    }

    pub async fn call(
        sim: &TestSim,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = sim.http.request(method, sim.url(path)).bearer_auth(token);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("request is answered");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("json body") };
        Reply { status, headers, body }
    }

    pub async fn get(sim: &TestSim, path: &str, token: &str) -> Reply {
        call(sim, Method::GET, path, token, None, &[]).await
    }

    pub async fn post(sim: &TestSim, path: &str, token: &str, body: &Value) -> Reply {
        call(sim, Method::POST, path, token, Some(body), &[]).await
    }

    /// Catalog items of the seed.
    pub const AZURE_PLAN: &str = "DZH318Z0BPS6:0001:DZH318Z0BML6";
    pub const M365_BASIC: &str = "CFQ7TTC0LH18:0001:CFQ7TTC0TKZX";
    pub const WINDOWS_SERVER: &str = "DG7GMGF0FKZV:0001:DG7GMGF0D3SJ";
    pub const RESERVATION: &str = "DZH318Z0BQ3Q:0001:DZH318XZXVNF";
    /// Carts name the legacy offer by its offer id.
    pub const LEGACY_AZURE: &str = "MS-AZR-0145P";

    pub fn azure_plan_line() -> Value {
        serde_json::json!({ "catalogItemId": AZURE_PLAN, "quantity": 1, "billingCycle": "one_time" })
    }

    pub fn windows_server_line() -> Value {
        serde_json::json!({ "catalogItemId": WINDOWS_SERVER, "quantity": 2, "billingCycle": "one_time" })
    }

    /// Creates a cart with `lines`; panics unless it is created.
    pub async fn create_cart(sim: &TestSim, token: &str, customer: &str, lines: Vec<Value>) -> Value {
        let cart =
            post(sim, &format!("/v1/customers/{customer}/carts"), token, &serde_json::json!({ "lineItems": lines }))
                .await;
        assert_eq!(cart.status, 201, "cart: {}", cart.body);
        cart.body
    }

    pub async fn checkout(sim: &TestSim, token: &str, customer: &str, cart_id: &str) -> Reply {
        call(sim, Method::POST, &format!("/v1/customers/{customer}/carts/{cart_id}/checkout"), token, None, &[]).await
    }

    /// Creates a cart with `lines` and checks it out; returns the checkout result.
    pub async fn buy(sim: &TestSim, token: &str, customer: &str, lines: Vec<Value>) -> Reply {
        let cart = create_cart(sim, token, customer, lines).await;
        checkout(sim, token, customer, cart["id"].as_str().expect("cart id")).await
    }

    /// The customer's subscriptions (S1).
    pub async fn subscriptions(sim: &TestSim, token: &str, customer: &str) -> Vec<Value> {
        let list = get(sim, &format!("/v1/customers/{customer}/subscriptions"), token).await;
        assert_eq!(list.status, 200, "{}", list.body);
        list.body["items"].as_array().cloned().unwrap_or_default()
    }
}
