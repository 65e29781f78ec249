//! The catalog (C1–C6) with Partner Center's validation and error codes.

use std::sync::Arc;

use axum::{
    Extension, Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    SimState,
    aad::PartnerTenant,
    common, seed,
    wire::{self, PcError},
};

pub struct CatalogState {
    products: Vec<seed::SeedProduct>,
}

/// Views Partner Center knows; the simulated partner is not enrolled for the last two.
const VIEWS: [&str; 13] = [
    "Azure",
    "AzureReservations",
    "AzureReservationsVM",
    "AzureReservationsSQL",
    "AzureReservationsCosmosDb",
    "MicrosoftAzure",
    "OnlineServices",
    "Software",
    "SoftwareSUSELinux",
    "SoftwarePerpetual",
    "SoftwareSubscriptions",
    "SpecializedOffers",
    "MarketplaceSaaS",
];
const VIEWS_NOT_ALLOWED: [&str; 2] = ["SpecializedOffers", "MarketplaceSaaS"];
const SEGMENTS: [&str; 4] = ["commercial", "education", "government", "nonprofit"];
/// The simulated partner is not authorized to sell to government customers.
const SEGMENT_NOT_ALLOWED: &str = "government";

impl CatalogState {
    pub fn seeded() -> Self {
        Self { products: seed::catalog() }
    }

    fn product(&self, id: &str) -> Option<&seed::SeedProduct> {
        self.products.iter().find(|p| p.product["id"].as_str().is_some_and(|p| p.eq_ignore_ascii_case(id)))
    }

    /// The `catalogItemId`s that can be bought, with their product id (for carts in later steps).
    pub fn purchasable_items(&self) -> Vec<(String, String)> {
        let mut items = Vec::new();
        for product in &self.products {
            let product_id = product.product["id"].as_str().unwrap_or_default();
            for sku in &product.skus {
                let sku_id = sku.sku["id"].as_str().unwrap_or_default();
                for availability in sku.availabilities.iter().filter(|a| a.purchasable) {
                    items.push((catalog_item_id(product_id, sku_id, availability), product_id.to_owned()));
                }
            }
        }
        items
    }

    /// What a cart line needs to know about a `catalogItemId` (any case), purchasable or not:
    /// `product:sku:availability`, or the offer id a legacy availability goes by (`MS-AZR-0145P`).
    pub fn item(&self, catalog_item_id: &str) -> Option<CatalogItem> {
        let (product, sku, availability) = self.find_item(catalog_item_id)?;
        let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
        let product_id = text(&product.product["id"]);
        let sku_id = text(&sku.sku["id"]);
        Some(CatalogItem {
            catalog_item_id: self::catalog_item_id(&product_id, &sku_id, availability),
            legacy_offer: availability.catalog_item_id.is_some(),
            product_title: text(&product.product["title"]),
            product_type: text(&product.product["productType"]["id"]),
            sku_title: text(&sku.sku["title"]),
            minimum_quantity: sku.sku["minimumQuantity"].as_u64().unwrap_or(1),
            maximum_quantity: sku.sku["maximumQuantity"].as_u64().unwrap_or(u64::MAX),
            billing_cycles: sku.sku["supportedBillingCycles"]
                .as_array()
                .map(|cycles| cycles.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default(),
            term_durations: availability
                .terms
                .as_array()
                .map(|terms| terms.iter().filter_map(|t| t["duration"].as_str()).map(str::to_owned).collect())
                .unwrap_or_default(),
            purchasable: availability.purchasable,
            availability_id: availability.id.to_owned(),
            product_id,
            sku_id,
        })
    }

    fn find_item(
        &self,
        catalog_item_id: &str,
    ) -> Option<(&seed::SeedProduct, &seed::SeedSku, &seed::SeedAvailability)> {
        let mut parts = catalog_item_id.split(':');
        if let (Some(product_id), Some(sku_id), Some(availability_id), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        {
            let product = self.product(product_id)?;
            let sku =
                product.skus.iter().find(|s| s.sku["id"].as_str().is_some_and(|id| id.eq_ignore_ascii_case(sku_id)))?;
            let availability = sku
                .availabilities
                .iter()
                .find(|a| a.catalog_item_id.is_none() && a.id.eq_ignore_ascii_case(availability_id))?;
            return Some((product, sku, availability));
        }
        self.products.iter().find_map(|product| {
            product.skus.iter().find_map(|sku| {
                sku.availabilities
                    .iter()
                    .find(|a| a.catalog_item_id.is_some_and(|id| id.eq_ignore_ascii_case(catalog_item_id)))
                    .map(|availability| (product, sku, availability))
            })
        })
    }
}

/// The `catalogItemId` of an availability.
fn catalog_item_id(product_id: &str, sku_id: &str, availability: &seed::SeedAvailability) -> String {
    match availability.catalog_item_id {
        Some(offer_id) => offer_id.to_owned(),
        None => format!("{product_id}:{sku_id}:{}", availability.id),
    }
}

/// One availability as a cart sees it (see [`CatalogState::item`]).
#[derive(Debug, Clone)]
pub struct CatalogItem {
    /// `product:sku:availability` (or a legacy offer id) in the catalog's casing.
    pub catalog_item_id: String,
    /// Named by a legacy offer id (`MS-AZR-0145P`) rather than `product:sku:availability`.
    pub legacy_offer: bool,
    pub product_id: String,
    pub product_title: String,
    /// `productType.id`: `Azure`, `OnlineServicesNCE`, `Software`, ...
    pub product_type: String,
    pub sku_id: String,
    pub availability_id: String,
    pub sku_title: String,
    pub minimum_quantity: u64,
    pub maximum_quantity: u64,
    /// Wire values, e.g. `monthly`, `one_time`.
    pub billing_cycles: Vec<String>,
    /// The availability's term durations (`P1M`, `P1Y`, ...); empty when it has no terms.
    pub term_durations: Vec<String>,
    pub purchasable: bool,
}

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/v1/products", get(list_products))
        .route("/v1/products/{product_id}", get(get_product))
        .route("/v1/products/{product_id}/skus", get(list_skus))
        .route("/v1/products/{product_id}/skus/{sku_id}", get(get_sku))
        .route("/v1/products/{product_id}/skus/{sku_id}/availabilities", get(list_availabilities))
        .route("/v1/products/{product_id}/skus/{sku_id}/availabilities/{availability_id}", get(get_availability))
        // The customer-scoped catalog: the country is the customer's (billing profile).
        .route(
            "/v1/customers/{customer_id}/products/{product_id}/skus/{sku_id}/availabilities",
            get(customer_availabilities),
        )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CatalogQuery {
    country: Option<String>,
    #[serde(alias = "targetview")]
    target_view: Option<String>,
    #[serde(alias = "targetsegment")]
    target_segment: Option<String>,
}

/// (country, currency code, symbol) or the error Partner Center gives.
fn country(query: &CatalogQuery) -> Result<(&'static str, &'static str, &'static str), PcError> {
    let Some(country) = query.country.as_deref() else {
        return Err(PcError::new(StatusCode::BAD_REQUEST, 3000, "The country parameter is required."));
    };
    seed::COUNTRIES
        .iter()
        .find(|(code, _, _)| code.eq_ignore_ascii_case(country))
        .copied()
        .ok_or_else(|| PcError::new(StatusCode::BAD_REQUEST, 3000, "The country is not supported."))
}

fn segment(query: &CatalogQuery) -> Result<Option<&'static str>, PcError> {
    match query.target_segment.as_deref() {
        None => Ok(None),
        Some(s) => match SEGMENTS.iter().find(|known| known.eq_ignore_ascii_case(s)) {
            Some(&known) if known == SEGMENT_NOT_ALLOWED => Err(PcError::new(
                StatusCode::FORBIDDEN,
                400030,
                "The partner is not authorized for this targetSegment.",
            )),
            Some(&known) => Ok(Some(known)),
            None => Err(PcError::new(StatusCode::BAD_REQUEST, 900126, "The targetSegment value could not be parsed.")),
        },
    }
}

fn product_wire(product: &seed::SeedProduct, country: &str) -> Value {
    let mut value = product.product.clone();
    let id = value["id"].as_str().unwrap_or_default().to_owned();
    value["links"] = json!({
        "skus": { "uri": format!("/products/{id}/skus?country={country}"), "method": "GET", "headers": [] },
        "self": { "uri": format!("/products/{id}?country={country}"), "method": "GET", "headers": [] }
    });
    value["attributes"] = json!({ "objectType": "Product" });
    value
}

fn sku_wire(product_id: &str, sku: &seed::SeedSku, country: &str) -> Value {
    let mut value = sku.sku.clone();
    let id = value["id"].as_str().unwrap_or_default().to_owned();
    value["productId"] = json!(product_id);
    value["links"] = json!({
        "availabilities": { "uri": format!("/products/{product_id}/skus/{id}/availabilities?country={country}"), "method": "GET", "headers": [] },
        "self": { "uri": format!("/products/{product_id}/skus/{id}?country={country}"), "method": "GET", "headers": [] }
    });
    value["attributes"] = json!({ "objectType": "Sku" });
    value
}

fn availability_wire(
    product: &seed::SeedProduct,
    sku: &seed::SeedSku,
    availability: &seed::SeedAvailability,
    (country, currency, symbol): (&str, &str, &str),
) -> Value {
    let product_id = product.product["id"].as_str().unwrap_or_default();
    let sku_id = sku.sku["id"].as_str().unwrap_or_default();
    let id = availability.id;
    let mut value = json!({
        "id": id,
        "productId": product_id,
        "skuId": sku_id,
        "catalogItemId": catalog_item_id(product_id, sku_id, availability),
        "defaultCurrency": { "code": currency, "symbol": symbol },
        "segment": availability.segment,
        "country": country,
        "isPurchasable": availability.purchasable,
        "isRenewable": false,
        "terms": availability.terms,
        "product": product_wire(product, country),
        "sku": sku_wire(product_id, sku, country),
        "links": { "self": { "uri": format!("/products/{product_id}/skus/{sku_id}/availabilities/{id}?country={country}"), "method": "GET", "headers": [] } },
        "attributes": { "objectType": "Availability" }
    });
    // New-commerce terms carry ids; such availabilities renew into the same SKU, as the
    // documented new-commerce availability shows.
    let term_ids: Vec<&str> = availability
        .terms
        .as_array()
        .map(|terms| terms.iter().filter_map(|t| t["id"].as_str()).collect())
        .unwrap_or_default();
    if !term_ids.is_empty() {
        value["isRenewable"] = json!(true);
        value["renewalInstructions"] = json!([{
            "applicableTermIds": term_ids,
            "renewalOptions": [{ "renewToId": format!("{product_id}:{sku_id}"), "isAutoRenewable": true }]
        }]);
    }
    value
}

fn product_not_found() -> Response {
    wire::error(StatusCode::NOT_FOUND, 400013, "Product not found.")
}

fn sku_not_found() -> Response {
    wire::error(StatusCode::NOT_FOUND, 400018, "Sku not found.")
}

async fn list_products(State(state): State<Arc<SimState>>, Query(query): Query<CatalogQuery>) -> Response {
    let (country, ..) = match country(&query) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = segment(&query) {
        return e.into_response();
    }
    let Some(view) = query.target_view.as_deref() else {
        return wire::error(StatusCode::BAD_REQUEST, 3000, "The targetView parameter is required.");
    };
    let Some(&view) = VIEWS.iter().find(|v| v.eq_ignore_ascii_case(view)) else {
        return wire::error(StatusCode::BAD_REQUEST, 900126, "The targetView value could not be parsed.");
    };
    if VIEWS_NOT_ALLOWED.contains(&view) {
        return wire::error(StatusCode::FORBIDDEN, 400036, "The partner is not authorized for this targetView.");
    }
    let inner = state.lock();
    let items =
        inner.catalog.products.iter().filter(|p| p.views.contains(&view)).map(|p| product_wire(p, country)).collect();
    Json(wire::collection(items, &format!("/products?country={country}&targetView={view}"), None)).into_response()
}

async fn get_product(
    State(state): State<Arc<SimState>>,
    Path(product_id): Path<String>,
    Query(query): Query<CatalogQuery>,
) -> Response {
    let (country, ..) = match country(&query) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let inner = state.lock();
    match inner.catalog.product(&product_id) {
        Some(product) => Json(product_wire(product, country)).into_response(),
        None => product_not_found(),
    }
}

async fn list_skus(
    State(state): State<Arc<SimState>>,
    Path(product_id): Path<String>,
    Query(query): Query<CatalogQuery>,
) -> Response {
    let (country, ..) = match country(&query) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = segment(&query) {
        return e.into_response();
    }
    let inner = state.lock();
    let Some(product) = inner.catalog.product(&product_id) else {
        return product_not_found();
    };
    let id = product.product["id"].as_str().unwrap_or_default();
    let items = product.skus.iter().map(|s| sku_wire(id, s, country)).collect();
    Json(wire::collection(items, &format!("/products/{id}/skus?country={country}"), None)).into_response()
}

async fn get_sku(
    State(state): State<Arc<SimState>>,
    Path((product_id, sku_id)): Path<(String, String)>,
    Query(query): Query<CatalogQuery>,
) -> Response {
    let (country, ..) = match country(&query) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let inner = state.lock();
    let Some(product) = inner.catalog.product(&product_id) else {
        return product_not_found();
    };
    let id = product.product["id"].as_str().unwrap_or_default();
    match product.skus.iter().find(|s| s.sku["id"].as_str() == Some(sku_id.as_str())) {
        Some(sku) => Json(sku_wire(id, sku, country)).into_response(),
        None => sku_not_found(),
    }
}

async fn list_availabilities(
    State(state): State<Arc<SimState>>,
    Path((product_id, sku_id)): Path<(String, String)>,
    Query(query): Query<CatalogQuery>,
) -> Response {
    let country = match country(&query) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let inner = state.lock();
    availabilities(&inner.catalog, &product_id, &sku_id, &query, country)
}

/// `GET /v1/customers/{id}/products/{product}/skus/{sku}/availabilities`: as the partner-scoped
/// list, in the country of the customer's billing profile (no `country` parameter).
async fn customer_availabilities(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    Path((customer_id, product_id, sku_id)): Path<(String, String, String)>,
    Query(query): Query<CatalogQuery>,
) -> Response {
    let inner = state.lock();
    let customer_country = match common::customer(&inner, &partner, &customer_id) {
        Ok(customer) => customer.country.clone(),
        Err(e) => return e.into_response(),
    };
    let Some(country) = seed::COUNTRIES.iter().find(|(code, ..)| code.eq_ignore_ascii_case(&customer_country)).copied()
    else {
        return wire::error(StatusCode::BAD_REQUEST, 3000, "The customer's country is not supported.");
    };
    availabilities(&inner.catalog, &product_id, &sku_id, &query, country)
}

fn availabilities(
    catalog: &CatalogState,
    product_id: &str,
    sku_id: &str,
    query: &CatalogQuery,
    country: (&str, &str, &str),
) -> Response {
    let wanted = match segment(query) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let Some(product) = catalog.product(product_id) else {
        return product_not_found();
    };
    let Some(sku) = product.skus.iter().find(|s| s.sku["id"].as_str() == Some(sku_id)) else {
        return sku_not_found();
    };
    // Without a segment every segment but nonprofit is listed; nonprofit must be asked for.
    let items = sku
        .availabilities
        .iter()
        .filter(|availability| match wanted {
            Some(wanted) => availability.segment == wanted,
            None => availability.segment != "nonprofit",
        })
        .map(|entry| availability_wire(product, sku, entry, country))
        .collect();
    let id = product.product["id"].as_str().unwrap_or_default();
    Json(wire::collection(items, &format!("/products/{id}/skus/{sku_id}/availabilities?country={}", country.0), None))
        .into_response()
}

async fn get_availability(
    State(state): State<Arc<SimState>>,
    Path((product_id, sku_id, availability_id)): Path<(String, String, String)>,
    Query(query): Query<CatalogQuery>,
) -> Response {
    let country = match country(&query) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let inner = state.lock();
    let Some(product) = inner.catalog.product(&product_id) else {
        return product_not_found();
    };
    let Some(sku) = product.skus.iter().find(|s| s.sku["id"].as_str() == Some(sku_id.as_str())) else {
        return sku_not_found();
    };
    match sku.availabilities.iter().find(|a| a.id.eq_ignore_ascii_case(&availability_id)) {
        Some(entry) => Json(availability_wire(product, sku, entry, country)).into_response(),
        None => wire::error(StatusCode::NOT_FOUND, 400019, "Availability not found."),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::{
        common::test_support::*,
        seed::{AZURE_PLAN_PRODUCT_ID, AZURE_PLAN_SKU_ID, LEGACY_AZURE_OFFER_ID, LEGACY_AZURE_PRODUCT_ID},
        testing::TestSim,
    };

    #[tokio::test]
    async fn the_azure_plan_sku_is_sold_one_time_only_as_documented() {
        let sim = TestSim::start().await;
        let token = sim.app_token().await;
        let sku =
            get(&sim, &format!("/v1/products/{AZURE_PLAN_PRODUCT_ID}/skus/{AZURE_PLAN_SKU_ID}?country=US"), &token)
                .await;
        assert_eq!(sku.status, 200);
        assert_eq!(sku.body["supportedBillingCycles"], json!(["one_time"]));
        assert_eq!(sku.body["purchasePrerequisites"], json!(["MicrosoftCustomerAgreement"]));
        assert_eq!(sku.body["actions"], json!(["Refund"]));
        assert_eq!(
            sku.body["dynamicAttributes"],
            json!({ "isMicrosoftProduct": true, "pilotProgram": "modernazurepilot" })
        );
        assert_eq!(sku.body["title"], "Microsoft Azure plan");
        let availabilities = get(
            &sim,
            &format!("/v1/products/{AZURE_PLAN_PRODUCT_ID}/skus/{AZURE_PLAN_SKU_ID}/availabilities?country=US"),
            &token,
        )
        .await;
        let items = availabilities.body["items"].as_array().expect("items");
        assert!(!items.is_empty());
        assert!(items.iter().all(|a| a["sku"]["supportedBillingCycles"] == json!(["one_time"])));
        assert!(items.iter().any(|a| a["catalogItemId"] == AZURE_PLAN));
    }

    #[tokio::test]
    async fn legacy_microsoft_azure_is_sku_ms_azr_0145p_of_its_own_product() {
        let sim = TestSim::start().await;
        let token = sim.app_token().await;
        let products = get(&sim, "/v1/products?country=US&targetView=MicrosoftAzure", &token).await;
        let ids: Vec<&str> =
            products.body["items"].as_array().expect("items").iter().filter_map(|p| p["id"].as_str()).collect();
        assert_eq!(ids, [AZURE_PLAN_PRODUCT_ID, LEGACY_AZURE_PRODUCT_ID]);
        let sku = get(
            &sim,
            &format!("/v1/products/{LEGACY_AZURE_PRODUCT_ID}/skus/{LEGACY_AZURE_OFFER_ID}?country=US"),
            &token,
        )
        .await;
        assert_eq!(sku.status, 200, "{}", sku.body);
        assert_eq!(sku.body["productId"], LEGACY_AZURE_PRODUCT_ID);
        assert_eq!(sku.body["supportedBillingCycles"], json!(["monthly"]));
        assert_eq!(sku.body["dynamicAttributes"]["unitType"], "Usage-based");
        assert!(sku.body.get("inventoryVariables").is_none(), "the documented SKU has none");
        assert_eq!(
            get(&sim, "/v1/products/MS-AZR-0145P/skus/0001?country=US", &token).await.error(),
            (404, Some(400013))
        );
        let availabilities = get(
            &sim,
            &format!("/v1/products/{LEGACY_AZURE_PRODUCT_ID}/skus/{LEGACY_AZURE_OFFER_ID}/availabilities?country=US"),
            &token,
        )
        .await;
        let availability: &Value = &availabilities.body["items"][0];
        assert_eq!(availability["catalogItemId"], LEGACY_AZURE_OFFER_ID);
        assert_eq!(availability["isPurchasable"], false);
    }

    #[tokio::test]
    async fn new_commerce_availabilities_carry_renewal_and_cancellation_policies() {
        let sim = TestSim::start().await;
        let token = sim.app_token().await;
        let availability =
            get(&sim, "/v1/products/CFQ7TTC0LH18/skus/0001/availabilities/CFQ7TTC0TKZX?country=US", &token).await.body;
        assert_eq!(availability["isRenewable"], true);
        assert_eq!(
            availability["renewalInstructions"],
            json!([{
                "applicableTermIds": ["e9fn5qzlxb8b", "e9fn5qzlxb8c"],
                "renewalOptions": [{ "renewToId": "CFQ7TTC0LH18:0001", "isAutoRenewable": true }]
            }])
        );
        assert_eq!(availability["terms"][0]["cancellationPolicies"][0]["refundOptions"][0]["type"], "Full");
        let reservation =
            get(&sim, "/v1/products/DZH318Z0BQ3Q/skus/0001/availabilities/DZH318XZXVNF?country=US", &token).await.body;
        assert_eq!(reservation["isRenewable"], false);
        assert!(reservation.get("renewalInstructions").is_none());
    }
}
