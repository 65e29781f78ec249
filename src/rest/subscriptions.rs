//! Subscriptions and Azure entitlements.

use axum::{Json, extract::State};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    dto::{Items, page_request},
    extract::AppQuery,
    paths::{CustomerPath, SubscriptionPath},
    problem::{ConflictResponses, ProblemResponses},
};
use crate::{
    auth::Caller,
    context::RequestContext,
    edge::AppState,
    error::Result,
    model::{
        OrderId, Page,
        subscription::{AzureEntitlement, Subscription},
    },
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_subscriptions))
        .routes(routes!(get_subscription))
        .routes(routes!(suspend_subscription))
        .routes(routes!(reactivate_subscription))
        .routes(routes!(azure_entitlements))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct SubscriptionsQuery {
    /// Only the subscriptions of this order.
    #[param(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    order_id: Option<String>,
    /// Items per page; 0 or absent: the default (100); above the maximum (1000): the maximum.
    #[param(value_type = Option<i32>, minimum = 0)]
    page_size: Option<String>,
    page_token: Option<String>,
}

/// The customer's subscriptions.
///
/// Needs `subscriptions.read`.
#[utoipa::path(
    get,
    path = "/v1/customers/{customerId}/subscriptions",
    tag = "subscriptions",
    params(CustomerPath, SubscriptionsQuery),
    responses((status = 200, description = "A page of subscriptions", body = Page<Subscription>), ProblemResponses)
)]
async fn list_subscriptions(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    CustomerPath { customer }: CustomerPath,
    AppQuery(query): AppQuery<SubscriptionsQuery>,
) -> Result<Json<Page<Subscription>>> {
    let order = query.order_id.as_deref().map(|o| OrderId::parse("orderId", o)).transpose()?;
    let page = page_request(query.page_size.as_deref(), query.page_token)?;
    Ok(Json(state.facade.list_subscriptions(&ctx, &caller, customer, order.as_ref(), &page).await?))
}

/// One subscription.
#[utoipa::path(
    get,
    path = "/v1/customers/{customerId}/subscriptions/{subscriptionId}",
    tag = "subscriptions",
    params(SubscriptionPath),
    responses((status = 200, description = "The subscription", body = Subscription), ProblemResponses)
)]
async fn get_subscription(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    SubscriptionPath { customer, subscription }: SubscriptionPath,
) -> Result<Json<Subscription>> {
    Ok(Json(state.facade.get_subscription(&ctx, &caller, customer, subscription).await?))
}

/// Suspend a subscription.
///
/// Needs `subscriptions.write`. An Azure plan with active Azure subscriptions is refused with 409
/// (`AZURE_PLAN_HAS_ACTIVE_SUBSCRIPTIONS`, `violations` naming them).
#[utoipa::path(
    post,
    path = "/v1/customers/{customerId}/subscriptions/{subscriptionId}/suspend",
    tag = "subscriptions",
    params(SubscriptionPath),
    responses((status = 200, description = "The suspended subscription", body = Subscription), ProblemResponses, ConflictResponses)
)]
async fn suspend_subscription(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    SubscriptionPath { customer, subscription }: SubscriptionPath,
) -> Result<Json<Subscription>> {
    Ok(Json(state.facade.suspend_subscription(&ctx, &caller, customer, subscription).await?))
}

/// Reactivate a suspended subscription.
#[utoipa::path(
    post,
    path = "/v1/customers/{customerId}/subscriptions/{subscriptionId}/reactivate",
    tag = "subscriptions",
    params(SubscriptionPath),
    responses((status = 200, description = "The active subscription", body = Subscription), ProblemResponses, ConflictResponses)
)]
async fn reactivate_subscription(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    SubscriptionPath { customer, subscription }: SubscriptionPath,
) -> Result<Json<Subscription>> {
    Ok(Json(state.facade.reactivate_subscription(&ctx, &caller, customer, subscription).await?))
}

/// The Azure subscriptions under an Azure plan.
#[utoipa::path(
    get,
    path = "/v1/customers/{customerId}/subscriptions/{subscriptionId}/azure-entitlements",
    tag = "subscriptions",
    params(SubscriptionPath),
    responses((status = 200, description = "Azure subscriptions", body = Items<AzureEntitlement>), ProblemResponses)
)]
async fn azure_entitlements(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    SubscriptionPath { customer, subscription }: SubscriptionPath,
) -> Result<Json<Items<AzureEntitlement>>> {
    Ok(Json(Items { items: state.facade.azure_entitlements(&ctx, &caller, customer, subscription).await? }))
}
