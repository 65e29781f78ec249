//! The catalog (C1–C6) with Partner Center's validation and error codes.

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    SimState, seed,
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
                for (availability, _, purchasable, _) in &sku.availabilities {
                    if *purchasable {
                        items.push((format!("{product_id}:{sku_id}:{availability}"), product_id.to_owned()));
                    }
                }
            }
        }
        items
    }

    /// What a cart line needs to know about a `catalogItemId` (`product:sku:availability`, any
    /// case), purchasable or not.
    pub fn item(&self, catalog_item_id: &str) -> Option<CatalogItem> {
        let mut parts = catalog_item_id.split(':');
        let (Some(product_id), Some(sku_id), Some(availability_id), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let product = self.product(product_id)?;
        let sku =
            product.skus.iter().find(|s| s.sku["id"].as_str().is_some_and(|id| id.eq_ignore_ascii_case(sku_id)))?;
        let (availability, _, purchasable, terms) =
            sku.availabilities.iter().find(|(id, ..)| id.eq_ignore_ascii_case(availability_id))?;
        let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
        let product_id = text(&product.product["id"]);
        let sku_id = text(&sku.sku["id"]);
        Some(CatalogItem {
            catalog_item_id: format!("{product_id}:{sku_id}:{availability}"),
            product_title: text(&product.product["title"]),
            product_type: text(&product.product["productType"]["id"]),
            sku_title: text(&sku.sku["title"]),
            minimum_quantity: sku.sku["minimumQuantity"].as_u64().unwrap_or(1),
            maximum_quantity: sku.sku["maximumQuantity"].as_u64().unwrap_or(u64::MAX),
            billing_cycles: sku.sku["supportedBillingCycles"]
                .as_array()
                .map(|cycles| cycles.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default(),
            term_durations: terms
                .as_array()
                .map(|terms| terms.iter().filter_map(|t| t["duration"].as_str()).map(str::to_owned).collect())
                .unwrap_or_default(),
            purchasable: *purchasable,
            product_id,
            sku_id,
        })
    }
}

/// One availability as a cart sees it (see [`CatalogState::item`]).
#[derive(Debug, Clone)]
pub struct CatalogItem {
    /// `product:sku:availability` in the catalog's casing.
    pub catalog_item_id: String,
    pub product_id: String,
    pub product_title: String,
    /// `productType.id`: `Azure`, `OnlineServicesNCE`, `Software`, ...
    pub product_type: String,
    pub sku_id: String,
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
    entry: &(&'static str, &'static str, bool, Value),
    (country, currency, symbol): (&str, &str, &str),
) -> Value {
    let product_id = product.product["id"].as_str().unwrap_or_default();
    let sku_id = sku.sku["id"].as_str().unwrap_or_default();
    let (id, segment, purchasable, terms) = entry;
    json!({
        "id": id,
        "productId": product_id,
        "skuId": sku_id,
        "catalogItemId": format!("{product_id}:{sku_id}:{id}"),
        "defaultCurrency": { "code": currency, "symbol": symbol },
        "segment": segment,
        "country": country,
        "isPurchasable": purchasable,
        "isRenewable": false,
        "terms": terms,
        "product": product_wire(product, country),
        "sku": sku_wire(product_id, sku, country),
        "links": { "self": { "uri": format!("/products/{product_id}/skus/{sku_id}/availabilities/{id}?country={country}"), "method": "GET", "headers": [] } },
        "attributes": { "objectType": "Availability" }
    })
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
    let wanted = match segment(&query) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let inner = state.lock();
    let Some(product) = inner.catalog.product(&product_id) else {
        return product_not_found();
    };
    let Some(sku) = product.skus.iter().find(|s| s.sku["id"].as_str() == Some(sku_id.as_str())) else {
        return sku_not_found();
    };
    // Without a segment every segment but nonprofit is listed; nonprofit must be asked for.
    let items = sku
        .availabilities
        .iter()
        .filter(|(_, segment, _, _)| match wanted {
            Some(wanted) => *segment == wanted,
            None => *segment != "nonprofit",
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
    match sku.availabilities.iter().find(|(id, ..)| id.eq_ignore_ascii_case(&availability_id)) {
        Some(entry) => Json(availability_wire(product, sku, entry, country)).into_response(),
        None => wire::error(StatusCode::NOT_FOUND, 400019, "Availability not found."),
    }
}
