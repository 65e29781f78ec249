//! Transition to an Azure plan.

use axum::{Json, extract::State, http::StatusCode};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    extract::{AppJson, AppQuery},
    paths::{CustomerPath, UpgradePath},
    problem::{ConflictResponses, ProblemResponses},
};
use crate::{
    auth::Caller,
    context::RequestContext,
    edge::AppState,
    error::{Error, Result},
    model::upgrade::{
        ProductUpgrade, ProductUpgradeEligibility, ProductUpgradeInput, ProductUpgradeStatus, parse_product_family,
    },
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(eligibility)).routes(routes!(create_upgrade)).routes(routes!(upgrade_status))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct FamilyQuery {
    /// Azure.
    #[param(required = true)]
    product_family: Option<String>,
}

/// Whether the customer can transition from MS-AZR-0145P to an Azure plan.
///
/// Needs `subscriptions.read`.
#[utoipa::path(
    get,
    path = "/v1/customers/{customerId}/product-upgrades/eligibility",
    tag = "product-upgrades",
    params(CustomerPath, FamilyQuery),
    responses((status = 200, description = "Eligibility", body = ProductUpgradeEligibility), ProblemResponses)
)]
async fn eligibility(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    CustomerPath { customer }: CustomerPath,
    AppQuery(query): AppQuery<FamilyQuery>,
) -> Result<Json<ProductUpgradeEligibility>> {
    let family = query.product_family.as_deref().ok_or_else(|| Error::invalid_field("productFamily", "is required"))?;
    let family = parse_product_family("productFamily", family)?;
    Ok(Json(state.facade.upgrade_eligibility(&ctx, &caller, customer, family).await?))
}

/// Start the transition to an Azure plan.
///
/// Needs `subscriptions.write`. Poll the returned id for its status.
#[utoipa::path(
    post,
    path = "/v1/customers/{customerId}/product-upgrades",
    tag = "product-upgrades",
    params(CustomerPath),
    request_body = ProductUpgradeInput,
    responses((status = 202, description = "Started", body = ProductUpgrade), ProblemResponses, ConflictResponses)
)]
async fn create_upgrade(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    CustomerPath { customer }: CustomerPath,
    AppJson(input): AppJson<ProductUpgradeInput>,
) -> Result<(StatusCode, Json<ProductUpgrade>)> {
    let family = parse_product_family("productFamily", &input.product_family)?;
    Ok((StatusCode::ACCEPTED, Json(state.facade.create_upgrade(&ctx, &caller, customer, family).await?)))
}

/// Status of a transition.
#[utoipa::path(
    get,
    path = "/v1/customers/{customerId}/product-upgrades/{upgradeId}",
    tag = "product-upgrades",
    params(UpgradePath),
    responses((status = 200, description = "Status", body = ProductUpgradeStatus), ProblemResponses)
)]
async fn upgrade_status(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    UpgradePath { customer, upgrade }: UpgradePath,
) -> Result<Json<ProductUpgradeStatus>> {
    Ok(Json(state.facade.upgrade_status(&ctx, &caller, customer, upgrade).await?))
}
