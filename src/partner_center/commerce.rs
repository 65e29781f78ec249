//! Carts, checkout and orders (O1–O6).

use http::Method;
use uuid::Uuid;

use super::{
    PartnerCenter, TokenFlow, UpstreamPage, UpstreamRequest,
    models::{
        Collection,
        commerce::{WireCart, WireCartRequest, WireCheckoutResult, WireLineProvisioningStatus, WireOrder},
    },
    paging::NextLink,
};
use crate::{
    context::RequestContext,
    error::Result,
    model::{
        CartId, CustomerId, OrderId,
        commerce::{Cart, CartLineInput, CheckoutResult, Order, OrderProvisioningStatus},
    },
};

impl PartnerCenter {
    /// O1 `POST /v1/customers/{id}/carts`. `request_id` resumes an earlier attempt.
    pub async fn create_cart(
        &self,
        ctx: &RequestContext,
        partner: &str,
        customer: CustomerId,
        lines: &[CartLineInput],
        request_id: Option<Uuid>,
    ) -> Result<Cart> {
        let mut request = UpstreamRequest::new("carts.create", Method::POST, format!("/v1/customers/{customer}/carts"))
            .json(&WireCartRequest::new(None, lines))?;
        request.request_id = request_id;
        let wire: WireCart = self.client().json(ctx, partner, &request).await?;
        wire.into_model(customer)
    }

    /// O2 `PUT /v1/customers/{id}/carts/{cartId}` with the whole cart.
    pub async fn update_cart(
        &self,
        ctx: &RequestContext,
        partner: &str,
        customer: CustomerId,
        cart: CartId,
        lines: &[CartLineInput],
    ) -> Result<Cart> {
        let request =
            UpstreamRequest::new("carts.update", Method::PUT, format!("/v1/customers/{customer}/carts/{cart}"))
                .json(&WireCartRequest::new(Some(cart), lines))?;
        let wire: WireCart = self.client().json(ctx, partner, &request).await?;
        wire.into_model(customer)
    }

    /// O3 `POST /v1/customers/{id}/carts/{cartId}/checkout`. The same `request_id` on a later
    /// call makes Partner Center answer with the original outcome instead of ordering again.
    pub async fn checkout(
        &self,
        ctx: &RequestContext,
        partner: &str,
        customer: CustomerId,
        cart: CartId,
        request_id: Option<Uuid>,
    ) -> Result<CheckoutResult> {
        let mut request = UpstreamRequest::new(
            "carts.checkout",
            Method::POST,
            format!("/v1/customers/{customer}/carts/{cart}/checkout"),
        );
        request.request_id = request_id;
        let wire: WireCheckoutResult = self.client().json(ctx, partner, &request).await?;
        wire.into_model(customer)
    }

    /// O4 `GET /v1/customers/{id}/orders/{orderId}`.
    pub async fn get_order(
        &self,
        ctx: &RequestContext,
        partner: &str,
        customer: CustomerId,
        order: &OrderId,
    ) -> Result<Order> {
        let request = UpstreamRequest::get("orders.get", format!("/v1/customers/{customer}/orders/{order}"));
        let wire: WireOrder = self.client().json(ctx, partner, &request).await?;
        wire.into_model(customer)
    }

    /// O5 `GET /v1/customers/{id}/orders` (or the page `next` points to).
    pub async fn list_orders(
        &self,
        ctx: &RequestContext,
        partner: &str,
        customer: CustomerId,
        next: Option<&NextLink>,
    ) -> Result<UpstreamPage<Order>> {
        const OP: &str = "orders.list";
        let collection: Collection<WireOrder> = match next {
            Some(link) => self.follow(ctx, partner, OP, TokenFlow::AppOnly, link).await?,
            None => {
                self.client()
                    .json(ctx, partner, &UpstreamRequest::get(OP, format!("/v1/customers/{customer}/orders")))
                    .await?
            }
        };
        collection.into_page(|o| o.into_model(customer))
    }

    /// O6 `GET /v1/customers/{id}/orders/{orderId}/provisioningstatus` (app+user only).
    pub async fn order_provisioning_status(
        &self,
        ctx: &RequestContext,
        partner: &str,
        customer: CustomerId,
        order: &OrderId,
    ) -> Result<OrderProvisioningStatus> {
        let request = UpstreamRequest::get(
            "orders.provisioning_status",
            format!("/v1/customers/{customer}/orders/{order}/provisioningstatus"),
        )
        .flow(TokenFlow::AppUser);
        let collection: Collection<WireLineProvisioningStatus> = self.client().json(ctx, partner, &request).await?;
        Ok(OrderProvisioningStatus {
            order_id: order.clone(),
            line_items: collection.items.into_iter().map(Into::into).collect(),
        })
    }
}
