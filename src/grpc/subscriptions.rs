//! `SubscriptionService`.

use tonic::{Request, Response, Status};

use super::{
    convert, input,
    pb::{self, subscription_service_server::SubscriptionService},
    unary,
};
use crate::{
    edge::AppState,
    error::Result,
    model::{CustomerId, OrderId, SubscriptionId},
};

pub struct SubscriptionRpc {
    pub state: AppState,
}

fn ids(customer: &str, subscription: &str) -> Result<(CustomerId, SubscriptionId)> {
    Ok((CustomerId::parse("customer_id", customer)?, SubscriptionId::parse("subscription_id", subscription)?))
}

#[tonic::async_trait]
impl SubscriptionService for SubscriptionRpc {
    async fn list_subscriptions(
        &self,
        request: Request<pb::ListSubscriptionsRequest>,
    ) -> Result<Response<pb::ListSubscriptionsResponse>, Status> {
        unary(&self.state, "SubscriptionService/ListSubscriptions", request, async |ctx, caller, req| {
            let customer = CustomerId::parse("customer_id", &req.customer_id)?;
            let order = (!req.order_id.is_empty()).then(|| OrderId::parse("order_id", &req.order_id)).transpose()?;
            let page = input::page(req.page_size, req.page_token)?;
            let page = self.state.facade.list_subscriptions(&ctx, &caller, customer, order.as_ref(), &page).await?;
            Ok(pb::ListSubscriptionsResponse {
                subscriptions: page.items.into_iter().map(convert::subscription).collect(),
                next_page_token: page.next_page_token.unwrap_or_default(),
            })
        })
        .await
    }

    async fn get_subscription(
        &self,
        request: Request<pb::GetSubscriptionRequest>,
    ) -> Result<Response<pb::Subscription>, Status> {
        unary(&self.state, "SubscriptionService/GetSubscription", request, async |ctx, caller, req| {
            let (customer, subscription) = ids(&req.customer_id, &req.subscription_id)?;
            Ok(convert::subscription(self.state.facade.get_subscription(&ctx, &caller, customer, subscription).await?))
        })
        .await
    }

    async fn suspend_subscription(
        &self,
        request: Request<pb::SuspendSubscriptionRequest>,
    ) -> Result<Response<pb::Subscription>, Status> {
        unary(&self.state, "SubscriptionService/SuspendSubscription", request, async |ctx, caller, req| {
            let (customer, subscription) = ids(&req.customer_id, &req.subscription_id)?;
            Ok(convert::subscription(
                self.state.facade.suspend_subscription(&ctx, &caller, customer, subscription).await?,
            ))
        })
        .await
    }

    async fn reactivate_subscription(
        &self,
        request: Request<pb::ReactivateSubscriptionRequest>,
    ) -> Result<Response<pb::Subscription>, Status> {
        unary(&self.state, "SubscriptionService/ReactivateSubscription", request, async |ctx, caller, req| {
            let (customer, subscription) = ids(&req.customer_id, &req.subscription_id)?;
            Ok(convert::subscription(
                self.state.facade.reactivate_subscription(&ctx, &caller, customer, subscription).await?,
            ))
        })
        .await
    }

    async fn list_azure_entitlements(
        &self,
        request: Request<pb::ListAzureEntitlementsRequest>,
    ) -> Result<Response<pb::ListAzureEntitlementsResponse>, Status> {
        unary(&self.state, "SubscriptionService/ListAzureEntitlements", request, async |ctx, caller, req| {
            let (customer, subscription) = ids(&req.customer_id, &req.subscription_id)?;
            let entitlements = self.state.facade.azure_entitlements(&ctx, &caller, customer, subscription).await?;
            Ok(pb::ListAzureEntitlementsResponse {
                entitlements: entitlements.into_iter().map(convert::entitlement).collect(),
            })
        })
        .await
    }
}
