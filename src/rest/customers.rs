//! `/v1/customers`: handlers only translate; the facade decides.

use axum::{
    Json,
    extract::{Path, State},
};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    extract::{AppQuery, parse_int},
    problem::ProblemResponses,
};
use crate::{
    app::AppState,
    auth::Caller,
    context::RequestContext,
    error::Result,
    model::{CustomerId, Page, PageRequest, customer::Customer},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_customers)).routes(routes!(get_customer))
}

/// `pageSize` and `pageToken`, as every list takes them.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page; 0 or absent: the default (100); above the maximum (1000): the maximum.
    #[param(value_type = Option<i32>, minimum = 0)]
    pub page_size: Option<String>,
    /// `nextPageToken` of the previous page.
    pub page_token: Option<String>,
}

impl PageQuery {
    pub fn parse(&self) -> Result<PageRequest> {
        PageRequest::parse(parse_int("pageSize", self.page_size.as_deref())?, self.page_token.clone())
    }
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
    params(("customerId" = String, Path, format = Uuid, description = "The customer's tenant id", pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")),
    responses((status = 200, description = "The customer", body = Customer), ProblemResponses)
)]
async fn get_customer(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    Path(customer_id): Path<String>,
) -> Result<Json<Customer>> {
    let customer = CustomerId::parse("customerId", &customer_id)?;
    Ok(Json(state.facade.get_customer(&ctx, &caller, customer).await?))
}
