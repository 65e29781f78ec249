//! `/v1/catalog/...`.

use axum::{Json, extract::State};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    dto::page_request,
    extract::AppQuery,
    paths::{AvailabilityPath, ProductPath, SkuPath},
    problem::{ProblemResponses, StateResponses},
};
use crate::{
    auth::Caller,
    context::RequestContext,
    edge::AppState,
    error::{Error, Result},
    facade::catalog::CatalogQuery,
    model::{
        Country, Page, PageRequest,
        catalog::{Availability, AzurePlanCatalogItem, Product, Segment, Sku, TargetView},
    },
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_products))
        .routes(routes!(get_product))
        .routes(routes!(list_skus))
        .routes(routes!(get_sku))
        .routes(routes!(list_availabilities))
        .routes(routes!(get_availability))
        .routes(routes!(get_azure_plan))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ProductsQuery {
    /// Two-letter country code, e.g. US.
    #[param(required = true, pattern = r"^[A-Za-z]{2}$")]
    country: Option<String>,
    /// The catalog view (case-insensitive).
    #[param(required = true, value_type = Option<TargetView>)]
    target_view: Option<String>,
    /// The customer segment (case-insensitive).
    #[param(value_type = Option<Segment>)]
    target_segment: Option<String>,
    /// Items per page; 0 or absent: the default (100); above the maximum (1000): the maximum.
    #[param(value_type = Option<i32>, minimum = 0)]
    page_size: Option<String>,
    page_token: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct SegmentQuery {
    /// Two-letter country code, e.g. US.
    #[param(required = true, pattern = r"^[A-Za-z]{2}$")]
    country: Option<String>,
    /// The customer segment (case-insensitive).
    #[param(value_type = Option<Segment>)]
    target_segment: Option<String>,
    /// Items per page; 0 or absent: the default (100); above the maximum (1000): the maximum.
    #[param(value_type = Option<i32>, minimum = 0)]
    page_size: Option<String>,
    page_token: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct CountryQuery {
    /// Two-letter country code, e.g. US.
    #[param(required = true, pattern = r"^[A-Za-z]{2}$")]
    country: Option<String>,
}

fn required_country(country: Option<&str>) -> Result<Country> {
    Country::parse("country", country.ok_or_else(|| Error::invalid_field("country", "is required"))?)
}

fn segment(value: Option<&str>) -> Result<Option<Segment>> {
    value.map(|s| Segment::parse("targetSegment", s)).transpose()
}

fn page(size: Option<&str>, token: Option<&String>) -> Result<PageRequest> {
    page_request(size, token.cloned())
}

/// List products of a catalog view.
///
/// Needs `catalog.read`. Cached.
#[utoipa::path(
    get,
    path = "/v1/catalog/products",
    tag = "catalog",
    params(ProductsQuery),
    responses((status = 200, description = "A page of products", body = Page<Product>), ProblemResponses, StateResponses)
)]
async fn list_products(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    AppQuery(query): AppQuery<ProductsQuery>,
) -> Result<Json<Page<Product>>> {
    let country = required_country(query.country.as_deref())?;
    let view = TargetView::parse(
        "targetView",
        query.target_view.as_deref().ok_or_else(|| Error::invalid_field("targetView", "is required"))?,
    )?;
    let catalog = CatalogQuery { country, segment: segment(query.target_segment.as_deref())? };
    let page = page(query.page_size.as_deref(), query.page_token.as_ref())?;
    Ok(Json(state.facade.list_products(&ctx, &caller, &catalog, view, &page).await?))
}

/// Get a product.
#[utoipa::path(
    get,
    path = "/v1/catalog/products/{productId}",
    tag = "catalog",
    params(ProductPath, CountryQuery),
    responses((status = 200, description = "The product", body = Product), ProblemResponses)
)]
async fn get_product(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    ProductPath { product }: ProductPath,
    AppQuery(query): AppQuery<CountryQuery>,
) -> Result<Json<Product>> {
    let country = required_country(query.country.as_deref())?;
    Ok(Json(state.facade.get_product(&ctx, &caller, &country, &product).await?))
}

/// List a product's SKUs.
#[utoipa::path(
    get,
    path = "/v1/catalog/products/{productId}/skus",
    tag = "catalog",
    params(ProductPath, SegmentQuery),
    responses((status = 200, description = "A page of SKUs", body = Page<Sku>), ProblemResponses, StateResponses)
)]
async fn list_skus(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    ProductPath { product }: ProductPath,
    AppQuery(query): AppQuery<SegmentQuery>,
) -> Result<Json<Page<Sku>>> {
    let catalog = CatalogQuery {
        country: required_country(query.country.as_deref())?,
        segment: segment(query.target_segment.as_deref())?,
    };
    let page = page(query.page_size.as_deref(), query.page_token.as_ref())?;
    Ok(Json(state.facade.list_skus(&ctx, &caller, &catalog, &product, &page).await?))
}

/// Get a SKU.
#[utoipa::path(
    get,
    path = "/v1/catalog/products/{productId}/skus/{skuId}",
    tag = "catalog",
    params(SkuPath, CountryQuery),
    responses((status = 200, description = "The SKU", body = Sku), ProblemResponses)
)]
async fn get_sku(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    SkuPath { product, sku }: SkuPath,
    AppQuery(query): AppQuery<CountryQuery>,
) -> Result<Json<Sku>> {
    let country = required_country(query.country.as_deref())?;
    Ok(Json(state.facade.get_sku(&ctx, &caller, &country, &product, &sku).await?))
}

/// List a SKU's availabilities.
///
/// Without `targetSegment` every segment but nonprofit is listed, as in Partner Center.
#[utoipa::path(
    get,
    path = "/v1/catalog/products/{productId}/skus/{skuId}/availabilities",
    tag = "catalog",
    params(SkuPath, SegmentQuery),
    responses((status = 200, description = "A page of availabilities", body = Page<Availability>), ProblemResponses, StateResponses)
)]
async fn list_availabilities(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    SkuPath { product, sku }: SkuPath,
    AppQuery(query): AppQuery<SegmentQuery>,
) -> Result<Json<Page<Availability>>> {
    let catalog = CatalogQuery {
        country: required_country(query.country.as_deref())?,
        segment: segment(query.target_segment.as_deref())?,
    };
    let page = page(query.page_size.as_deref(), query.page_token.as_ref())?;
    Ok(Json(state.facade.list_availabilities(&ctx, &caller, &catalog, &product, &sku, &page).await?))
}

/// Get an availability.
#[utoipa::path(
    get,
    path = "/v1/catalog/products/{productId}/skus/{skuId}/availabilities/{availabilityId}",
    tag = "catalog",
    params(AvailabilityPath, CountryQuery),
    responses((status = 200, description = "The availability", body = Availability), ProblemResponses)
)]
async fn get_availability(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    AvailabilityPath { product, sku, availability }: AvailabilityPath,
    AppQuery(query): AppQuery<CountryQuery>,
) -> Result<Json<Availability>> {
    let country = required_country(query.country.as_deref())?;
    Ok(Json(state.facade.get_availability(&ctx, &caller, &country, &product, &sku, &availability).await?))
}

/// The Azure plan to buy in a country.
///
/// Product, SKU, purchasable availability and the `catalogItemId` for a cart. Needs
/// `catalog.read`. Cached.
#[utoipa::path(
    get,
    path = "/v1/catalog/azure-plan",
    tag = "catalog",
    params(CountryQuery),
    responses((status = 200, description = "The Azure plan catalog item", body = AzurePlanCatalogItem), ProblemResponses)
)]
async fn get_azure_plan(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    AppQuery(query): AppQuery<CountryQuery>,
) -> Result<Json<AzurePlanCatalogItem>> {
    let country = required_country(query.country.as_deref())?;
    Ok(Json(state.facade.azure_plan_catalog_item(&ctx, &caller, &country).await?))
}
