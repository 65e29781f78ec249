//! Customers (A5 list with continuation-token paging, get by id).

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

use super::{SimState, aad::PartnerTenant, seed, wire};

#[derive(Debug, Clone)]
pub struct SimCustomer {
    pub id: String,
    pub partner_tenant: String,
    pub company_name: String,
    pub domain: String,
    pub mca_accepted: bool,
    pub has_0145p: bool,
}

impl SimCustomer {
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
            customer["allowDelegatedAccess"] = json!(true);
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
                    mca_accepted: c.mca_accepted,
                    has_0145p: c.has_0145p,
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
    Router::new().route("/v1/customers", get(list)).route("/v1/customers/{customer_id}", get(get_one))
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
            "uri": format!("/customers?size={size}&seekOperation=next"),
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

#[cfg(test)]
mod tests {
    use crate::{seed, testing::TestSim};

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
    async fn requests_without_a_valid_token_get_401() {
        let sim = TestSim::start().await;
        let response = sim.http.get(sim.url("/v1/customers")).bearer_auth("forged").send().await.expect("send");
        assert_eq!(response.status(), 401);
        assert!(response.headers().contains_key("www-authenticate"));
    }
}
