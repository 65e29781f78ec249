//! Carts, orders and Azure plans.

use axum::{
    Json,
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    dto::{AzurePlanInput, CartInput, IDEMPOTENCY_KEY, Items, PageQuery},
    extract::{AppJson, AppQuery, OptionalJson},
    paths::{CartPath, CustomerPath, OrderPath},
    problem::{ConflictResponses, ProblemResponses},
};
use crate::{
    auth::Caller,
    context::RequestContext,
    edge::AppState,
    error::{Error, Result},
    model::{
        Page,
        commerce::{AzurePlan, AzurePlanSubscription, Cart, CheckoutResult, Order, OrderProvisioningStatus},
    },
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_cart))
        .routes(routes!(update_cart))
        .routes(routes!(checkout))
        .routes(routes!(list_orders))
        .routes(routes!(get_order))
        .routes(routes!(order_provisioning_status))
        .routes(routes!(create_azure_plan, list_azure_plans))
}

/// Create a cart.
///
/// Needs `orders.write`. Lines Partner Center refuses come back as a 400 naming each line
/// (`errors[].field` = `lineItems[i].catalogItemId`) with its CartErrorCode.
#[utoipa::path(
    post,
    path = "/v1/customers/{customerId}/carts",
    tag = "orders",
    params(CustomerPath),
    request_body = CartInput,
    responses(
        (status = 201, description = "The cart", body = Cart,
            headers(("Location" = String, description = "The cart: /v1/customers/{customerId}/carts/{cartId}"))),
        ProblemResponses,
        ConflictResponses
    )
)]
async fn create_cart(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    CustomerPath { customer }: CustomerPath,
    AppJson(input): AppJson<CartInput>,
) -> Result<Response> {
    let cart = state.facade.create_cart(&ctx, &caller, customer, input.parse()).await?;
    Ok(super::created(&format!("/v1/customers/{customer}/carts/{}", cart.id), cart))
}

/// Replace a cart's line items.
#[utoipa::path(
    put,
    path = "/v1/customers/{customerId}/carts/{cartId}",
    tag = "orders",
    params(CartPath),
    request_body = CartInput,
    responses((status = 200, description = "The cart", body = Cart), ProblemResponses, ConflictResponses)
)]
async fn update_cart(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    CartPath { customer, cart }: CartPath,
    AppJson(input): AppJson<CartInput>,
) -> Result<Json<Cart>> {
    Ok(Json(state.facade.update_cart(&ctx, &caller, customer, cart, input.parse()).await?))
}

/// Check a cart out: one order per order group, failures per group in `orderErrors`.
#[utoipa::path(
    post,
    path = "/v1/customers/{customerId}/carts/{cartId}/checkout",
    tag = "orders",
    params(CartPath),
    responses(
        (status = 201, description = "Orders and order errors", body = CheckoutResult,
            headers(("Location" = String, description = "The first order: /v1/customers/{customerId}/orders/{orderId}"))),
        ProblemResponses,
        ConflictResponses
    )
)]
async fn checkout(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    CartPath { customer, cart }: CartPath,
) -> Result<Response> {
    let result = state.facade.checkout(&ctx, &caller, customer, cart).await?;
    let location = match result.orders.first() {
        Some(order) => format!("/v1/customers/{customer}/orders/{}", order.id),
        None => format!("/v1/customers/{customer}/orders"),
    };
    Ok(super::created(&location, result))
}

/// The customer's orders, including ones just created through the gateway.
///
/// Needs `orders.read`.
#[utoipa::path(
    get,
    path = "/v1/customers/{customerId}/orders",
    tag = "orders",
    params(CustomerPath, PageQuery),
    responses((status = 200, description = "A page of orders", body = Page<Order>), ProblemResponses)
)]
async fn list_orders(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    CustomerPath { customer }: CustomerPath,
    AppQuery(query): AppQuery<PageQuery>,
) -> Result<Json<Page<Order>>> {
    let page = query.parse()?;
    Ok(Json(state.facade.list_orders(&ctx, &caller, customer, &page).await?))
}

/// One order.
#[utoipa::path(
    get,
    path = "/v1/customers/{customerId}/orders/{orderId}",
    tag = "orders",
    params(OrderPath),
    responses((status = 200, description = "The order", body = Order), ProblemResponses)
)]
async fn get_order(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    OrderPath { customer, order }: OrderPath,
) -> Result<Json<Order>> {
    Ok(Json(state.facade.get_order(&ctx, &caller, customer, &order).await?))
}

/// Provisioning status of an order's line items.
#[utoipa::path(
    get,
    path = "/v1/customers/{customerId}/orders/{orderId}/provisioning-status",
    tag = "orders",
    params(OrderPath),
    responses((status = 200, description = "Per line item", body = OrderProvisioningStatus), ProblemResponses)
)]
async fn order_provisioning_status(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    OrderPath { customer, order }: OrderPath,
) -> Result<Json<OrderProvisioningStatus>> {
    Ok(Json(state.facade.order_provisioning_status(&ctx, &caller, customer, &order).await?))
}

/// Buy an Azure plan in one call.
///
/// Needs `orders.write` and an `Idempotency-Key` header: the same key never buys twice, even when
/// an earlier attempt failed after Partner Center committed it. Before any cart exists the
/// gateway checks the customer: the country comes from its billing profile unless the body names
/// one; it must have accepted the Microsoft Customer Agreement (confirmed by the partner or signed
/// directly), else 412 `MCA_NOT_ACCEPTED`; it must have no MS-AZR-0145P subscription, else 409
/// `CUSTOMER_HAS_LEGACY_AZURE_SUBSCRIPTION` naming each (transition it with the product-upgrade
/// endpoints). Then it resolves the catalog item (cached), creates the cart with the billing cycle
/// the Azure plan SKU supports (`one_time`) and checks it out. `status` follows the order:
/// provisioning, active, pending_review, awaiting_purchase_order, suspended, rejected, cancelled,
/// failed or unknown; a repeat with the same key reads the order's current status.
#[utoipa::path(
    post,
    path = "/v1/customers/{customerId}/azure-plans",
    tag = "orders",
    params(
        CustomerPath,
        ("Idempotency-Key" = String, Header, description = "1-128 visible ASCII characters, unique per purchase",
            example = "adventure-works-azure-plan-1")
    ),
    request_body(
        content = Option<AzurePlanInput>,
        description = "Optional: an empty body or `null` buys with the defaults (the customer's country, no name)",
        example = json!({"friendlyName": "Adventure Works Azure plan", "country": "CA"})
    ),
    responses(
        (status = 201, description = "Ordered (status provisioning or active)", body = AzurePlan,
            headers(("Location" = String, description = "The order: /v1/customers/{customerId}/orders/{orderId}"))),
        (status = 200, description = "A repeat of an earlier call with the same key", body = AzurePlan),
        ProblemResponses,
        ConflictResponses
    )
)]
async fn create_azure_plan(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    CustomerPath { customer }: CustomerPath,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<AzurePlanInput>,
) -> Result<Response> {
    let key = match headers.get(IDEMPOTENCY_KEY) {
        None => None,
        Some(value) => {
            Some(value.to_str().map_err(|_| Error::invalid_field(IDEMPOTENCY_KEY, "must be visible ASCII"))?)
        }
    };
    let order = body.unwrap_or_default().parse(key);
    let plan = state.facade.create_azure_plan(&ctx, &caller, customer, order).await?;
    if plan.replayed {
        return Ok(Json(plan).into_response());
    }
    Ok(super::created(&format!("/v1/customers/{customer}/orders/{}", plan.order_id), plan))
}

/// The customer's Azure plans.
///
/// Needs `subscriptions.read`.
#[utoipa::path(
    get,
    path = "/v1/customers/{customerId}/azure-plans",
    tag = "orders",
    params(CustomerPath),
    responses((status = 200, description = "Azure plan subscriptions", body = Items<AzurePlanSubscription>), ProblemResponses)
)]
async fn list_azure_plans(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    CustomerPath { customer }: CustomerPath,
) -> Result<Json<Items<AzurePlanSubscription>>> {
    Ok(Json(Items { items: state.facade.list_azure_plans(&ctx, &caller, customer).await? }))
}
