//! `CommerceService`: carts, orders, Azure plans.

use tonic::{Request, Response, Status};

use super::{
    convert, input,
    pb::{self, commerce_service_server::CommerceService},
    unary,
};
use crate::{
    edge::AppState,
    model::{CartId, CustomerId, OrderId},
};

pub struct CommerceRpc {
    pub state: AppState,
}

#[tonic::async_trait]
impl CommerceService for CommerceRpc {
    async fn create_cart(&self, request: Request<pb::CreateCartRequest>) -> Result<Response<pb::Cart>, Status> {
        unary(&self.state, "CommerceService/CreateCart", request, async |ctx, caller, req| {
            let customer = CustomerId::parse("customer_id", &req.customer_id)?;
            let cart =
                self.state.facade.create_cart(&ctx, &caller, customer, input::cart_lines(req.line_items)).await?;
            Ok(convert::cart(cart))
        })
        .await
    }

    async fn update_cart(&self, request: Request<pb::UpdateCartRequest>) -> Result<Response<pb::Cart>, Status> {
        unary(&self.state, "CommerceService/UpdateCart", request, async |ctx, caller, req| {
            let customer = CustomerId::parse("customer_id", &req.customer_id)?;
            let cart_id = CartId::parse("cart_id", &req.cart_id)?;
            let cart = self
                .state
                .facade
                .update_cart(&ctx, &caller, customer, cart_id, input::cart_lines(req.line_items))
                .await?;
            Ok(convert::cart(cart))
        })
        .await
    }

    async fn checkout_cart(
        &self,
        request: Request<pb::CheckoutCartRequest>,
    ) -> Result<Response<pb::CheckoutResult>, Status> {
        unary(&self.state, "CommerceService/CheckoutCart", request, async |ctx, caller, req| {
            let customer = CustomerId::parse("customer_id", &req.customer_id)?;
            let cart = CartId::parse("cart_id", &req.cart_id)?;
            Ok(convert::checkout(self.state.facade.checkout(&ctx, &caller, customer, cart).await?))
        })
        .await
    }

    async fn list_orders(
        &self,
        request: Request<pb::ListOrdersRequest>,
    ) -> Result<Response<pb::ListOrdersResponse>, Status> {
        unary(&self.state, "CommerceService/ListOrders", request, async |ctx, caller, req| {
            let customer = CustomerId::parse("customer_id", &req.customer_id)?;
            let page = input::page(req.page_size, req.page_token)?;
            let page = self.state.facade.list_orders(&ctx, &caller, customer, &page).await?;
            Ok(pb::ListOrdersResponse {
                orders: page.items.into_iter().map(convert::order).collect(),
                next_page_token: page.next_page_token.unwrap_or_default(),
            })
        })
        .await
    }

    async fn get_order(&self, request: Request<pb::GetOrderRequest>) -> Result<Response<pb::Order>, Status> {
        unary(&self.state, "CommerceService/GetOrder", request, async |ctx, caller, req| {
            let customer = CustomerId::parse("customer_id", &req.customer_id)?;
            let order = OrderId::parse("order_id", &req.order_id)?;
            Ok(convert::order(self.state.facade.get_order(&ctx, &caller, customer, &order).await?))
        })
        .await
    }

    async fn get_order_provisioning_status(
        &self,
        request: Request<pb::GetOrderProvisioningStatusRequest>,
    ) -> Result<Response<pb::OrderProvisioningStatus>, Status> {
        unary(&self.state, "CommerceService/GetOrderProvisioningStatus", request, async |ctx, caller, req| {
            let customer = CustomerId::parse("customer_id", &req.customer_id)?;
            let order = OrderId::parse("order_id", &req.order_id)?;
            Ok(convert::provisioning_status(
                self.state.facade.order_provisioning_status(&ctx, &caller, customer, &order).await?,
            ))
        })
        .await
    }

    async fn create_azure_plan(
        &self,
        request: Request<pb::CreateAzurePlanRequest>,
    ) -> Result<Response<pb::AzurePlan>, Status> {
        unary(&self.state, "CommerceService/CreateAzurePlan", request, async |ctx, caller, req| {
            let customer = CustomerId::parse("customer_id", &req.customer_id)?;
            let order = input::azure_plan_order(&req);
            Ok(convert::azure_plan(self.state.facade.create_azure_plan(&ctx, &caller, customer, order).await?))
        })
        .await
    }

    async fn list_azure_plans(
        &self,
        request: Request<pb::ListAzurePlansRequest>,
    ) -> Result<Response<pb::ListAzurePlansResponse>, Status> {
        unary(&self.state, "CommerceService/ListAzurePlans", request, async |ctx, caller, req| {
            let customer = CustomerId::parse("customer_id", &req.customer_id)?;
            let plans = self.state.facade.list_azure_plans(&ctx, &caller, customer).await?;
            Ok(pb::ListAzurePlansResponse {
                azure_plans: plans.into_iter().map(convert::azure_plan_subscription).collect(),
            })
        })
        .await
    }
}
