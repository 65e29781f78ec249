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
    auth::Authorized,
    context::RequestContext,
    error::Result,
    model::{
        CartId, CustomerId, OrderId,
        commerce::{Cart, CartLine, CheckoutResult, Order, OrderProvisioningStatus},
    },
};

impl PartnerCenter {
    pub(super) async fn create_cart(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
        lines: &[CartLine],
        request_id: Option<Uuid>,
    ) -> Result<Cart> {
        let id = customer.customer();
        let mut request = UpstreamRequest::new("carts.create", Method::POST, format!("/v1/customers/{id}/carts"))
            .json(&WireCartRequest::new(None, lines, self.cart_attestation))?;
        request.request_id = request_id;
        let wire: WireCart = self.client().json(ctx, customer.partner(), &request).await?;
        wire.into_model(id)
    }

    pub(super) async fn update_cart(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
        cart: CartId,
        lines: &[CartLine],
    ) -> Result<Cart> {
        let id = customer.customer();
        let request = UpstreamRequest::new("carts.update", Method::PUT, format!("/v1/customers/{id}/carts/{cart}"))
            .json(&WireCartRequest::new(Some(cart), lines, self.cart_attestation))?;
        let wire: WireCart = self.client().json(ctx, customer.partner(), &request).await?;
        wire.into_model(id)
    }

    pub(super) async fn checkout(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
        cart: CartId,
        request_id: Option<Uuid>,
    ) -> Result<CheckoutResult> {
        let id = customer.customer();
        let mut request =
            UpstreamRequest::new("carts.checkout", Method::POST, format!("/v1/customers/{id}/carts/{cart}/checkout"));
        request.request_id = request_id;
        let wire: WireCheckoutResult = self.client().json(ctx, customer.partner(), &request).await?;
        wire.into_model(id)
    }

    pub(super) async fn get_order(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
        order: &OrderId,
    ) -> Result<Order> {
        let id = customer.customer();
        let request = UpstreamRequest::get("orders.get", format!("/v1/customers/{id}/orders/{order}"));
        let wire: WireOrder = self.client().json(ctx, customer.partner(), &request).await?;
        wire.into_model(id)
    }

    pub(super) async fn list_orders(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
        next: Option<NextLink>,
    ) -> Result<UpstreamPage<Order>> {
        let id = customer.customer();
        let first = UpstreamRequest::get("orders.list", format!("/v1/customers/{id}/orders"));
        self.page(ctx, customer.partner(), first, next, |o: WireOrder| o.into_model(id)).await
    }

    /// App+user only.
    pub(super) async fn order_provisioning_status(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
        order: &OrderId,
    ) -> Result<OrderProvisioningStatus> {
        let path = format!("/v1/customers/{}/orders/{order}/provisioningstatus", customer.customer());
        let request = UpstreamRequest::get("orders.provisioning_status", path).flow(TokenFlow::AppUser);
        let collection: Collection<WireLineProvisioningStatus> =
            self.client().json(ctx, customer.partner(), &request).await?;
        Ok(OrderProvisioningStatus {
            order_id: order.clone(),
            line_items: collection.items.into_iter().map(Into::into).collect(),
        })
    }
}
