//! Subscriptions, Azure entitlements, suspend and reactivate.

use tracing::instrument;

use super::{
    Facade,
    paging::{PageBinding, walk},
};
use crate::{
    auth::{Authorized, Caller, Permission},
    context::RequestContext,
    error::{Error, ErrorKind, Reason, Result},
    model::{
        CustomerId, OrderId, Page, PageRequest, SubscriptionId,
        subscription::{AzureEntitlement, Subscription, SubscriptionStatusChange},
    },
};

impl Facade {
    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer))]
    pub async fn list_subscriptions(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
        order: Option<&OrderId>,
        page: &PageRequest,
    ) -> Result<Page<Subscription>> {
        let customer = caller.ensure_customer(customer, Permission::SubscriptionsRead)?;
        let binding = PageBinding::new("subscriptions.list", customer.partner())
            .with(customer.customer())
            .with(order.map(OrderId::as_str).unwrap_or(""));
        let product = self.options.azure_plan_product_id.as_str();
        walk(
            &self.pages,
            &binding,
            page,
            self.page_size(page),
            |next| self.pc.list_subscriptions(ctx, &customer, order, next, product),
            |_| true,
        )
        .await
    }

    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer, subscription = %subscription))]
    pub async fn get_subscription(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
        subscription: SubscriptionId,
    ) -> Result<Subscription> {
        let customer = caller.ensure_customer(customer, Permission::SubscriptionsRead)?;
        self.pc.get_subscription(ctx, &customer, subscription, &self.options.azure_plan_product_id).await
    }

    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer, subscription = %subscription))]
    pub async fn azure_entitlements(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
        subscription: SubscriptionId,
    ) -> Result<Vec<AzureEntitlement>> {
        let customer = caller.ensure_customer(customer, Permission::SubscriptionsRead)?;
        self.pc.azure_entitlements(ctx, &customer, subscription).await
    }

    /// Suspends a subscription. An Azure plan with active Azure subscriptions is refused with a
    /// 409 naming them (Partner Center would answer a bare 403/900115).
    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer, subscription = %subscription))]
    pub async fn suspend_subscription(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
        subscription: SubscriptionId,
    ) -> Result<Subscription> {
        let customer = caller.ensure_customer(customer, Permission::SubscriptionsWrite)?;
        let current =
            self.pc.get_subscription(ctx, &customer, subscription, &self.options.azure_plan_product_id).await?;
        if current.status == "suspended" {
            return Ok(current);
        }
        if current.is_azure_plan {
            self.ensure_no_active_azure_subscriptions(ctx, &customer, subscription).await?;
        }
        match self.change_status(ctx, &customer, subscription, SubscriptionStatusChange::Suspend).await {
            // Someone enabled an Azure subscription between our check and the PATCH.
            Err(error) if error.reason() == Reason::AzurePlanHasActiveSubscriptions => {
                self.ensure_no_active_azure_subscriptions(ctx, &customer, subscription).await?;
                Err(error)
            }
            other => other,
        }
    }

    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer, subscription = %subscription))]
    pub async fn reactivate_subscription(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
        subscription: SubscriptionId,
    ) -> Result<Subscription> {
        let customer = caller.ensure_customer(customer, Permission::SubscriptionsWrite)?;
        self.change_status(ctx, &customer, subscription, SubscriptionStatusChange::Reactivate).await
    }

    async fn change_status(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
        subscription: SubscriptionId,
        change: SubscriptionStatusChange,
    ) -> Result<Subscription> {
        self.pc
            .change_subscription_status(ctx, customer, subscription, change, &self.options.azure_plan_product_id)
            .await
    }

    async fn ensure_no_active_azure_subscriptions(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
        subscription: SubscriptionId,
    ) -> Result<()> {
        let entitlements = self.pc.azure_entitlements(ctx, customer, subscription).await?;
        let active: Vec<&AzureEntitlement> = entitlements.iter().filter(|e| e.status == "active").collect();
        if active.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = active.iter().map(|e| e.id.as_str()).collect();
        let mut error = Error::new(
            ErrorKind::FailedPrecondition,
            format!(
                "the Azure plan cannot be suspended while its Azure subscriptions are active: {}; disable them in Azure first",
                ids.join(", ")
            ),
        )
        .with_reason(Reason::AzurePlanHasActiveSubscriptions);
        for entitlement in active {
            error = error.with_precondition_violation(
                "ACTIVE_AZURE_SUBSCRIPTION",
                &entitlement.id,
                format!("Azure subscription {:?} is active", entitlement.friendly_name),
            );
        }
        Err(error)
    }
}
