//! Customers (A5 list with continuation-token paging, get by id) and their billing profile
//! (`GET /v1/customers/{id}/profiles/billing`), whose `defaultAddress.country` is the customer's
//! country.

use std::{collections::HashMap, sync::Arc};

use axum::{
    Extension, Json, Router,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{SimState, aad::PartnerTenant, billing_data, seed, wire};

#[derive(Debug, Clone)]
pub struct SimCustomer {
    pub id: String,
    pub partner_tenant: String,
    pub company_name: String,
    pub domain: String,
    pub has_0145p: bool,
    /// ISO 3166 alpha-2, one of [`seed::COUNTRIES`].
    pub country: String,
}

/// A customer's contact person per country: (first name, last name).
const CONTACTS: [(&str, &str, &str); 10] = [
    ("US", "Alex", "Wilber"),
    ("CA", "Megan", "Bowen"),
    ("GB", "Adele", "Vance"),
    ("DE", "Lukas", "Schmidt"),
    ("FR", "Camille", "Martin"),
    ("NL", "Daan", "de Vries"),
    ("AU", "Lee", "Gu"),
    ("JP", "Yuki", "Tanaka"),
    ("IN", "Priya", "Sharma"),
    ("BR", "Lucas", "Souza"),
];

impl SimCustomer {
    /// (city, state, address line 1, postal code, phone, culture, language) of the customer's country.
    /// The address (and culture) of the customer's country.
    fn address(&self) -> seed::SeedAddress {
        seed::ADDRESSES
            .iter()
            .find(|a| a.country.eq_ignore_ascii_case(&self.country))
            .copied()
            .unwrap_or(seed::ADDRESSES[0])
    }

    fn contact(&self) -> (&'static str, &'static str) {
        let found = CONTACTS.iter().find(|c| c.0.eq_ignore_ascii_case(&self.country)).unwrap_or(&CONTACTS[0]);
        (found.1, found.2)
    }

    /// The `CustomerBillingProfile` as `get-all-of-a-customer-s-billing-profiles.md` shows it.
    pub fn billing_profile(&self) -> Value {
        let address = self.address();
        let (first_name, last_name) = self.contact();
        let email = format!("{}@{}", first_name.to_ascii_lowercase(), self.domain);
        // Opaque, but changes with the address (the documented etag is a signed 64-bit number).
        let etag = billing_data::fnv(&["billing-profile", &self.id, &self.country]) as i64;
        json!({
            "id": billing_data::derived_guid(&["billing-profile", &self.id.to_ascii_lowercase()]),
            "firstName": first_name,
            "lastName": last_name,
            "email": email,
            "culture": address.culture,
            "language": address.language,
            "companyName": self.company_name,
            "defaultAddress": {
                "country": self.country,
                "city": address.city,
                "state": address.state,
                "addressLine1": address.address_line1,
                "postalCode": address.postal_code,
                "firstName": first_name,
                "lastName": last_name,
                "phoneNumber": address.phone_number
            },
            "links": { "self": { "uri": format!("/v1/customers/{}/profiles/billing", self.id), "method": "GET", "headers": [] } },
            "attributes": { "etag": etag.to_string(), "objectType": "CustomerBillingProfile" }
        })
    }

    fn to_wire(&self, detailed: bool) -> Value {
        let mut customer = json!({
            "id": self.id,
            "commerceId": format!("{}-commerce", &self.id[..8]),
            "companyProfile": {
                "tenantId": self.id,
                "domain": self.domain,
                "companyName": self.company_name,
                "attributes": { "objectType": "CustomerCompanyProfile" }
            },
            "relationshipToPartner": "reseller",
            "attributes": { "objectType": "Customer" }
        });
        if detailed {
            // Get-by-id carries the full profiles, as get-a-customer-by-id.md shows.
            let address = self.address();
            let billing = self.billing_profile();
            let profile = &mut customer["companyProfile"];
            profile["address"] = json!({
                "country": self.country,
                "region": address.state,
                "city": address.city,
                "addressLine1": address.address_line1,
                "postalCode": address.postal_code,
                "phoneNumber": address.phone_number
            });
            profile["email"] = billing["email"].clone();
            profile["links"] = json!({
                "self": { "uri": format!("/customers/{}/profiles/company", self.id), "method": "GET", "headers": [] }
            });
            customer["billingProfile"] = billing;
            customer["allowDelegatedAccess"] = json!(true);
            customer["customDomains"] = json!([self.domain]);
            customer["links"] =
                json!({ "self": { "uri": format!("/customers/{}", self.id), "method": "GET", "headers": [] } });
        }
        customer
    }
}

pub struct CustomerState {
    pub customers: Vec<SimCustomer>,
    /// Opaque continuation token → (partner tenant, page size, offset of the next page).
    continuations: HashMap<String, (String, usize, usize)>,
}

impl CustomerState {
    pub fn seeded() -> Self {
        Self {
            customers: seed::customers()
                .into_iter()
                .map(|c| SimCustomer {
                    id: c.id,
                    partner_tenant: c.partner_tenant.to_owned(),
                    company_name: c.company_name,
                    domain: c.domain,
                    has_0145p: c.has_0145p,
                    country: c.country.to_owned(),
                })
                .collect(),
            continuations: HashMap::new(),
        }
    }

    /// The customer, if it belongs to `partner_tenant`.
    pub fn of_partner(&self, partner_tenant: &str, customer_id: &str) -> Option<&SimCustomer> {
        self.customers
            .iter()
            .find(|c| c.id.eq_ignore_ascii_case(customer_id) && c.partner_tenant.eq_ignore_ascii_case(partner_tenant))
    }

    pub fn of_partner_mut(&mut self, partner_tenant: &str, customer_id: &str) -> Option<&mut SimCustomer> {
        self.customers
            .iter_mut()
            .find(|c| c.id.eq_ignore_ascii_case(customer_id) && c.partner_tenant.eq_ignore_ascii_case(partner_tenant))
    }
}

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/v1/customers", get(list))
        .route("/v1/customers/{customer_id}", get(get_one))
        .route("/v1/customers/{customer_id}/profiles/billing", get(billing_profile))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    size: Option<String>,
    #[serde(alias = "seekoperation")]
    seek_operation: Option<String>,
}

const MAX_PAGE: usize = 500;

async fn list(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Response {
    let mut inner = state.lock();
    let (size, offset) = match query.seek_operation.as_deref() {
        Some(op) if op.eq_ignore_ascii_case("next") => {
            let token = headers.get("MS-ContinuationToken").and_then(|v| v.to_str().ok()).unwrap_or_default();
            match inner.customers.continuations.get(token) {
                Some((tenant, size, offset)) if tenant.eq_ignore_ascii_case(&partner.tenant_id) => (*size, *offset),
                _ => {
                    return wire::error(
                        StatusCode::BAD_REQUEST,
                        400,
                        "The continuation token is invalid or has expired.",
                    );
                }
            }
        }
        Some(_) => {
            return wire::error(StatusCode::BAD_REQUEST, 900126, "The value of seekOperation could not be parsed.");
        }
        None => match query.size.as_deref().map(str::parse::<usize>) {
            None => (MAX_PAGE, 0),
            Some(Ok(size)) if (1..=MAX_PAGE).contains(&size) => (size, 0),
            Some(_) => {
                return wire::error(StatusCode::BAD_REQUEST, 3000, "The size parameter must be between 1 and 500.");
            }
        },
    };
    let mine: Vec<&SimCustomer> = inner
        .customers
        .customers
        .iter()
        .filter(|c| c.partner_tenant.eq_ignore_ascii_case(&partner.tenant_id))
        .collect();
    let items: Vec<Value> = mine.iter().skip(offset).take(size).map(|c| c.to_wire(false)).collect();
    let next_offset = offset + items.len();
    let more = next_offset < mine.len();
    let next = more.then(|| {
        let token = format!("cust-{}", Uuid::new_v4().simple());
        (token, next_offset)
    });
    let next_link = next.as_ref().map(|(token, _)| {
        json!({
            // The .NET SDK sends `SeekOperation.Next` as `Next` (the request is case-insensitive).
            "uri": format!("/customers?size={size}&seekOperation=Next"),
            "method": "GET",
            "headers": [{ "key": "MS-ContinuationToken", "value": token }]
        })
    });
    let mut body = wire::collection(items, &format!("/customers?size={size}"), next_link);
    if let Some((token, next_offset)) = next {
        body["continuationToken"] = json!(token);
        inner.customers.continuations.insert(token, (partner.tenant_id.clone(), size, next_offset));
    }
    Json(body).into_response()
}

async fn get_one(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    Path(customer_id): Path<String>,
) -> Response {
    if Uuid::try_parse(&customer_id).is_err() {
        return wire::error(StatusCode::BAD_REQUEST, 900118, "The customer id is invalid.");
    }
    let inner = state.lock();
    match inner.customers.of_partner(&partner.tenant_id, &customer_id) {
        Some(customer) => Json(customer.to_wire(true)).into_response(),
        None => wire::error(StatusCode::NOT_FOUND, 60003, "The customer tenant was not found."),
    }
}

async fn billing_profile(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    Path(customer_id): Path<String>,
) -> Response {
    let inner = state.lock();
    match super::common::customer(&inner, &partner, &customer_id) {
        Ok(customer) => Json(customer.billing_profile()).into_response(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use crate::{common::test_support::get, seed, testing::TestSim};

    #[tokio::test]
    async fn customers_page_with_continuation_tokens_and_stay_within_the_partner() {
        let sim = TestSim::start().await;
        let token = sim.app_token().await;
        let first: serde_json::Value = sim
            .http
            .get(sim.url("/v1/customers?size=100"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        assert_eq!(first["items"].as_array().map(Vec::len), Some(100));
        assert_eq!(first["attributes"]["objectType"], "Collection");
        let next = &first["links"]["next"];
        let continuation = next["headers"][0]["value"].as_str().expect("continuation token");
        assert!(next["uri"].as_str().is_some_and(|u| u.ends_with("&seekOperation=Next")), "{next}");
        let second: serde_json::Value = sim
            .http
            .get(sim.url(&format!("/v1/{}", next["uri"].as_str().expect("uri").trim_start_matches('/'))))
            .bearer_auth(&token)
            .header("MS-ContinuationToken", continuation)
            .send()
            .await
            .expect("next page")
            .json()
            .await
            .expect("json");
        // Contoso has 5 named and the generated customers; Northwind's customer is not listed.
        assert_eq!(second["items"].as_array().map(Vec::len), Some(5 + seed::GENERATED_CUSTOMERS - 100));
        assert!(second["links"].get("next").is_none());
        let all = format!("{first}{second}");
        assert!(!all.contains(seed::CUSTOMER_NORTHWIND_TRADERS));
    }

    #[tokio::test]
    async fn the_billing_profile_names_the_customers_country_as_documented() {
        let sim = TestSim::start().await;
        let token = sim.app_token().await;
        let path = |customer: &str| format!("/v1/customers/{customer}/profiles/billing");
        let fabrikam = get(&sim, &path(seed::CUSTOMER_FABRIKAM), &token).await;
        assert_eq!(fabrikam.status, 200);
        let profile = &fabrikam.body;
        assert_eq!(profile["defaultAddress"]["country"], "US");
        assert_eq!(profile["companyName"], seed::NAME_FABRIKAM);
        assert_eq!(profile["attributes"]["objectType"], "CustomerBillingProfile");
        assert!(profile["attributes"]["etag"].is_string());
        assert_eq!(
            profile["links"]["self"]["uri"],
            format!("/v1/customers/{}/profiles/billing", seed::CUSTOMER_FABRIKAM)
        );
        for field in ["city", "state", "addressLine1", "postalCode", "firstName", "lastName", "phoneNumber"] {
            assert!(profile["defaultAddress"][field].is_string(), "{field}");
        }
        assert!(profile.get("address").is_none(), "the country is in defaultAddress only");
        assert_eq!(get(&sim, &path(seed::CUSTOMER_TAILSPIN), &token).await.body["defaultAddress"]["country"], "GB");
        assert_eq!(get(&sim, &path(seed::CUSTOMER_LITWARE), &token).await.body["culture"], "de-DE");
        assert_eq!(get(&sim, &path(seed::CUSTOMER_NORTHWIND_TRADERS), &token).await.error(), (404, Some(60003)));
        assert_eq!(get(&sim, &path("not-a-guid"), &token).await.error(), (400, Some(900118)));

        // Get-by-id carries the same profile.
        let customer = get(&sim, &format!("/v1/customers/{}", seed::CUSTOMER_TAILSPIN), &token).await.body;
        assert_eq!(customer["billingProfile"]["defaultAddress"]["country"], "GB");
        assert_eq!(customer["companyProfile"]["address"]["country"], "GB");
        assert_eq!(customer["customDomains"], serde_json::json!(["tailspintoys.onmicrosoft.com"]));
    }

    #[tokio::test]
    async fn every_customer_country_has_a_catalog_and_the_customer_scoped_catalog_uses_it() {
        let sim = TestSim::start().await;
        let token = sim.app_token().await;
        let countries: HashSet<String> = sim
            .handle
            .state()
            .lock()
            .customers
            .customers
            .iter()
            .filter(|c| c.partner_tenant == seed::CONTOSO_TENANT_ID)
            .map(|c| c.country.clone())
            .collect();
        assert!(countries.len() >= 5 && countries.iter().any(|c| c != "US"), "{countries:?}");
        let plan = format!("{}/skus/{}", seed::AZURE_PLAN_PRODUCT_ID, seed::AZURE_PLAN_SKU_ID);
        for country in &countries {
            let listed = get(&sim, &format!("/v1/products/{plan}/availabilities?country={country}"), &token).await;
            let items = listed.body["items"].as_array().cloned().unwrap_or_default();
            assert!(!items.is_empty() && items.iter().all(|a| a["country"] == country.as_str()), "{country}");
        }
        let scoped =
            get(&sim, &format!("/v1/customers/{}/products/{plan}/availabilities", seed::CUSTOMER_TAILSPIN), &token)
                .await;
        assert_eq!(scoped.status, 200, "{}", scoped.body);
        let first = &scoped.body["items"][0];
        assert_eq!((first["country"].as_str(), first["defaultCurrency"]["code"].as_str()), (Some("GB"), Some("GBP")));
        let foreign = get(
            &sim,
            &format!("/v1/customers/{}/products/{plan}/availabilities", seed::CUSTOMER_NORTHWIND_TRADERS),
            &token,
        )
        .await;
        assert_eq!(foreign.error(), (404, Some(60003)));
    }

    #[tokio::test]
    async fn requests_without_a_valid_token_get_401() {
        let sim = TestSim::start().await;
        let response = sim.http.get(sim.url("/v1/customers")).bearer_auth("forged").send().await.expect("send");
        assert_eq!(response.status(), 401);
        assert!(response.headers().contains_key("www-authenticate"));
    }
}
