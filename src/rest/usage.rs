//! Usage and spending budgets.

use axum::{Json, extract::State};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    dto::{PageQuery, SpendingBudgetInput},
    extract::{AppJson, AppQuery},
    paths::{CustomerPath, SubscriptionPath},
    problem::{ConflictResponses, ProblemResponses},
};
use crate::{
    auth::Caller,
    context::RequestContext,
    edge::AppState,
    error::Result,
    model::{
        Page,
        usage::{
            CustomerUsageRecord, CustomerUsageSummary, MeterUsageRecord, MonthlyUsageRecord, PartnerUsageSummary,
            ResourceUsageRecord, SpendingBudget, SubscriptionUsageRecord, SubscriptionUsageSummary,
        },
    },
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(partner_summary))
        .routes(routes!(customers_records))
        .routes(routes!(customer_summary))
        .routes(routes!(subscription_records))
        .routes(routes!(subscription_summary))
        .routes(routes!(monthly_records))
        .routes(routes!(resource_records))
        .routes(routes!(meter_records))
        .routes(routes!(get_budget, update_budget))
}

/// The partner's usage summary for this month (estimates).
///
/// Partner-wide: needs `customers: "*"` and `usage.read`.
#[utoipa::path(get, path = "/v1/usage/summary", tag = "usage",
    responses((status = 200, description = "Summary", body = PartnerUsageSummary), ProblemResponses))]
async fn partner_summary(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
) -> Result<Json<PartnerUsageSummary>> {
    Ok(Json(state.facade.partner_usage_summary(&ctx, &caller).await?))
}

/// This month's usage of every customer.
///
/// Partner-wide: needs `customers: "*"` and `usage.read`.
#[utoipa::path(get, path = "/v1/usage/customers", tag = "usage", params(PageQuery),
    responses((status = 200, description = "A page of customer usage records", body = Page<CustomerUsageRecord>), ProblemResponses))]
async fn customers_records(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    AppQuery(query): AppQuery<PageQuery>,
) -> Result<Json<Page<CustomerUsageRecord>>> {
    Ok(Json(state.facade.customers_usage_records(&ctx, &caller, &query.parse()?).await?))
}

/// One customer's usage summary.
#[utoipa::path(get, path = "/v1/customers/{customerId}/usage/summary", tag = "usage",
    params(CustomerPath),
    responses((status = 200, description = "Summary", body = CustomerUsageSummary), ProblemResponses))]
async fn customer_summary(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    CustomerPath { customer }: CustomerPath,
) -> Result<Json<CustomerUsageSummary>> {
    Ok(Json(state.facade.customer_usage_summary(&ctx, &caller, customer).await?))
}

/// Usage of each of the customer's subscriptions (one record per Azure plan).
#[utoipa::path(get, path = "/v1/customers/{customerId}/usage/subscriptions", tag = "usage",
    params(CustomerPath, PageQuery),
    responses((status = 200, description = "A page of subscription usage records", body = Page<SubscriptionUsageRecord>), ProblemResponses))]
async fn subscription_records(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    CustomerPath { customer }: CustomerPath,
    AppQuery(query): AppQuery<PageQuery>,
) -> Result<Json<Page<SubscriptionUsageRecord>>> {
    Ok(Json(state.facade.subscription_usage_records(&ctx, &caller, customer, &query.parse()?).await?))
}

/// Usage summary of a subscription (for an Azure plan, pass the plan's subscription id).
#[utoipa::path(get, path = "/v1/customers/{customerId}/subscriptions/{subscriptionId}/usage/summary", tag = "usage",
    params(SubscriptionPath),
    responses((status = 200, description = "Summary", body = SubscriptionUsageSummary), ProblemResponses))]
async fn subscription_summary(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    SubscriptionPath { customer, subscription }: SubscriptionPath,
) -> Result<Json<SubscriptionUsageSummary>> {
    Ok(Json(state.facade.subscription_usage_summary(&ctx, &caller, customer, subscription).await?))
}

/// Monthly usage per resource type (MS-AZR-0145P subscriptions).
#[utoipa::path(get, path = "/v1/customers/{customerId}/subscriptions/{subscriptionId}/usage/monthly", tag = "usage",
    params(SubscriptionPath, PageQuery),
    responses((status = 200, description = "A page of monthly records", body = Page<MonthlyUsageRecord>), ProblemResponses))]
async fn monthly_records(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    SubscriptionPath { customer, subscription }: SubscriptionPath,
    AppQuery(query): AppQuery<PageQuery>,
) -> Result<Json<Page<MonthlyUsageRecord>>> {
    Ok(Json(state.facade.monthly_usage_records(&ctx, &caller, customer, subscription, &query.parse()?).await?))
}

/// Usage per Azure resource (Azure plans).
#[utoipa::path(get, path = "/v1/customers/{customerId}/subscriptions/{subscriptionId}/usage/resources", tag = "usage",
    params(SubscriptionPath, PageQuery),
    responses((status = 200, description = "A page of resource records", body = Page<ResourceUsageRecord>), ProblemResponses))]
async fn resource_records(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    SubscriptionPath { customer, subscription }: SubscriptionPath,
    AppQuery(query): AppQuery<PageQuery>,
) -> Result<Json<Page<ResourceUsageRecord>>> {
    Ok(Json(state.facade.resource_usage_records(&ctx, &caller, customer, subscription, &query.parse()?).await?))
}

/// Usage per meter (Azure plans and MS-AZR-0145P).
#[utoipa::path(get, path = "/v1/customers/{customerId}/subscriptions/{subscriptionId}/usage/meters", tag = "usage",
    params(SubscriptionPath, PageQuery),
    responses((status = 200, description = "A page of meter records", body = Page<MeterUsageRecord>), ProblemResponses))]
async fn meter_records(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    SubscriptionPath { customer, subscription }: SubscriptionPath,
    AppQuery(query): AppQuery<PageQuery>,
) -> Result<Json<Page<MeterUsageRecord>>> {
    Ok(Json(state.facade.meter_usage_records(&ctx, &caller, customer, subscription, &query.parse()?).await?))
}

/// The customer's spending budget.
///
/// Needs `usage.read`.
#[utoipa::path(get, path = "/v1/customers/{customerId}/usage/budget", tag = "usage",
    params(CustomerPath),
    responses((status = 200, description = "The budget", body = SpendingBudget), ProblemResponses))]
async fn get_budget(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    CustomerPath { customer }: CustomerPath,
) -> Result<Json<SpendingBudget>> {
    Ok(Json(state.facade.spending_budget(&ctx, &caller, customer).await?))
}

/// Set or remove (`amount: null`) the customer's spending budget.
///
/// Needs `budget.write`. The amount must be non-negative with at most 2 decimals.
#[utoipa::path(patch, path = "/v1/customers/{customerId}/usage/budget", tag = "usage",
    params(CustomerPath),
    request_body = SpendingBudgetInput,
    responses((status = 200, description = "The budget", body = SpendingBudget), ProblemResponses, ConflictResponses))]
async fn update_budget(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    CustomerPath { customer }: CustomerPath,
    AppJson(input): AppJson<SpendingBudgetInput>,
) -> Result<Json<SpendingBudget>> {
    Ok(Json(state.facade.update_spending_budget(&ctx, &caller, customer, input.parse()).await?))
}
