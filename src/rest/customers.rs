//! `/v1/customers`: handlers only translate; the facade decides.

use axum::{Json, extract::State};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{dto::PageQuery, extract::AppQuery, paths::CustomerPath, problem::ProblemResponses};
use crate::{
    auth::Caller,
    context::RequestContext,
    edge::AppState,
    error::Result,
    model::{
        Page,
        customer::{BillingProfile, Customer},
    },
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_customers))
        .routes(routes!(get_customer))
        .routes(routes!(get_billing_profile))
}

/// List the customers the caller may see.
///
/// Filtered to the token's `customers` claim; needs `customers.read`.
#[utoipa::path(
    get,
    path = "/v1/customers",
    tag = "customers",
    params(PageQuery),
    responses((status = 200, description = "A page of customers", body = Page<Customer>), ProblemResponses)
)]
async fn list_customers(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    AppQuery(query): AppQuery<PageQuery>,
) -> Result<Json<Page<Customer>>> {
    let page = query.parse()?;
    Ok(Json(state.facade.list_customers(&ctx, &caller, &page).await?))
}

/// Get one customer.
///
/// Needs `customers.read` and the customer in the token's scope.
#[utoipa::path(
    get,
    path = "/v1/customers/{customerId}",
    tag = "customers",
    params(CustomerPath),
    responses((status = 200, description = "The customer", body = Customer), ProblemResponses)
)]
async fn get_customer(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    CustomerPath { customer }: CustomerPath,
) -> Result<Json<Customer>> {
    Ok(Json(state.facade.get_customer(&ctx, &caller, customer).await?))
}

/// The customer's billing profile.
///
/// Needs `customers.read` and the customer in scope. Its `defaultAddress.country` is the country
/// an Azure plan purchase uses when the request names none.
#[utoipa::path(
    get,
    path = "/v1/customers/{customerId}/billing-profile",
    tag = "customers",
    params(CustomerPath),
    responses((status = 200, description = "The billing profile", body = BillingProfile), ProblemResponses)
)]
async fn get_billing_profile(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    CustomerPath { customer }: CustomerPath,
) -> Result<Json<BillingProfile>> {
    Ok(Json(state.facade.billing_profile(&ctx, &caller, customer).await?))
}
