//! The Microsoft Customer Agreement.

use axum::{Json, extract::State, response::Response};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    dto::{ConfirmAgreement, Items},
    extract::AppJson,
    paths::CustomerPath,
    problem::{ConflictResponses, ProblemResponses},
};
use crate::{
    auth::Caller,
    context::RequestContext,
    edge::AppState,
    error::Result,
    model::agreement::{Agreement, AgreementMetadata},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(agreement_metadata)).routes(routes!(list_agreements, confirm_agreement))
}

/// Microsoft Customer Agreement metadata (template id, link).
///
/// Needs `customers.read`.
#[utoipa::path(
    get,
    path = "/v1/agreements/metadata",
    tag = "agreements",
    responses((status = 200, description = "Agreement templates", body = Items<AgreementMetadata>), ProblemResponses)
)]
async fn agreement_metadata(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
) -> Result<Json<Items<AgreementMetadata>>> {
    Ok(Json(Items { items: state.facade.agreement_metadata(&ctx, &caller).await? }))
}

/// The customer's confirmations of the Microsoft Customer Agreement.
///
/// Needs `customers.read` and the customer in scope.
#[utoipa::path(
    get,
    path = "/v1/customers/{customerId}/agreements",
    tag = "agreements",
    params(CustomerPath),
    responses((status = 200, description = "Confirmations", body = Items<Agreement>), ProblemResponses)
)]
async fn list_agreements(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    CustomerPath { customer }: CustomerPath,
) -> Result<Json<Items<Agreement>>> {
    Ok(Json(Items { items: state.facade.list_agreements(&ctx, &caller, customer).await? }))
}

/// Confirm the customer's acceptance of the Microsoft Customer Agreement.
///
/// Needs `customers.write`. The same confirmation twice is 409 (`AGREEMENT_ALREADY_CONFIRMED`,
/// Partner Center's 600061).
#[utoipa::path(
    post,
    path = "/v1/customers/{customerId}/agreements",
    tag = "agreements",
    params(CustomerPath),
    request_body = ConfirmAgreement,
    responses(
        (status = 201, description = "Confirmed", body = Agreement,
            headers(("Location" = String, description = "The customer's agreements: /v1/customers/{customerId}/agreements"))),
        ProblemResponses,
        ConflictResponses
    )
)]
async fn confirm_agreement(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    CustomerPath { customer }: CustomerPath,
    AppJson(input): AppJson<ConfirmAgreement>,
) -> Result<Response> {
    let agreement = state.facade.confirm_agreement(&ctx, &caller, customer, input.parse()).await?;
    Ok(super::created(&format!("/v1/customers/{customer}/agreements"), agreement))
}
