//! Usage, summaries and the spending budget. Partner-wide data needs `customers: "*"`.

use std::sync::Arc;

use futures::Stream;
use tracing::instrument;

use super::{
    Facade,
    paging::{PageBinding, walk},
    stream_pages,
};
use crate::{
    auth::{Caller, Permission},
    context::RequestContext,
    error::{Error, Result},
    model::{
        CustomerId, Page, PageRequest, Parsed, SubscriptionId,
        usage::{
            BudgetAmount, CustomerUsageRecord, CustomerUsageSummary, MeterUsageRecord, MonthlyUsageRecord,
            PartnerUsageSummary, ResourceUsageRecord, SpendingBudget, SubscriptionUsageRecord,
            SubscriptionUsageSummary,
        },
    },
};

/// Upstream page size for resource and meter records while streaming.
const STREAM_UPSTREAM_PAGE: u32 = 1000;

impl Facade {
    /// G1: partner-wide (MS-AZR-0145P customers only, as Partner Center computes it).
    #[instrument(skip_all, fields(partner = caller.partner()))]
    pub async fn partner_usage_summary(&self, ctx: &RequestContext, caller: &Caller) -> Result<PartnerUsageSummary> {
        let partner = caller.ensure_partner_wide(Permission::UsageRead)?;
        self.pc.partner_usage_summary(ctx, &partner).await
    }

    /// G2: this month's usage of every customer of the partner.
    #[instrument(skip_all, fields(partner = caller.partner()))]
    pub async fn customers_usage_records(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        page: &PageRequest,
    ) -> Result<Page<CustomerUsageRecord>> {
        let partner = caller.ensure_partner_wide(Permission::UsageRead)?;
        let binding = PageBinding::new("usage.customers", partner.partner());
        walk(
            &self.pages,
            &binding,
            page,
            self.page_size(page),
            |next| self.pc.customers_usage_records(ctx, &partner, next),
            |_| true,
        )
        .await
    }

    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer))]
    pub async fn customer_usage_summary(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
    ) -> Result<CustomerUsageSummary> {
        let customer = caller.ensure_customer(customer, Permission::UsageRead)?;
        self.pc.customer_usage_summary(ctx, &customer).await
    }

    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer))]
    pub async fn subscription_usage_records(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
        page: &PageRequest,
    ) -> Result<Page<SubscriptionUsageRecord>> {
        let customer = caller.ensure_customer(customer, Permission::UsageRead)?;
        let binding = PageBinding::new("usage.subscriptions", customer.partner()).with(customer.customer());
        walk(
            &self.pages,
            &binding,
            page,
            self.page_size(page),
            |next| self.pc.subscription_usage_records(ctx, &customer, next),
            |_| true,
        )
        .await
    }

    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer, subscription = %subscription))]
    pub async fn subscription_usage_summary(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
        subscription: SubscriptionId,
    ) -> Result<SubscriptionUsageSummary> {
        let customer = caller.ensure_customer(customer, Permission::UsageRead)?;
        self.pc.subscription_usage_summary(ctx, &customer, subscription).await
    }

    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer, subscription = %subscription))]
    pub async fn monthly_usage_records(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
        subscription: SubscriptionId,
        page: &PageRequest,
    ) -> Result<Page<MonthlyUsageRecord>> {
        let customer = caller.ensure_customer(customer, Permission::UsageRead)?;
        let binding =
            PageBinding::new("usage.monthly", customer.partner()).with(customer.customer()).with(subscription);
        walk(
            &self.pages,
            &binding,
            page,
            self.page_size(page),
            |next| self.pc.monthly_usage_records(ctx, &customer, subscription, next),
            |_| true,
        )
        .await
        .map_err(|e| {
            wrong_subscription_kind(
                e,
                "monthly usage records exist only for MS-AZR-0145P subscriptions; for an Azure plan read its meter \
                 usage: GET /v1/customers/{customerId}/subscriptions/{subscriptionId}/usage/meters (gRPC \
                 UsageService.ListMeterUsageRecords)",
            )
        })
    }

    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer, subscription = %subscription))]
    pub async fn resource_usage_records(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
        subscription: SubscriptionId,
        page: &PageRequest,
    ) -> Result<Page<ResourceUsageRecord>> {
        let customer = caller.ensure_customer(customer, Permission::UsageRead)?;
        let size = self.page_size(page);
        let upstream_size = u32::try_from(size).unwrap_or(STREAM_UPSTREAM_PAGE);
        let binding =
            PageBinding::new("usage.resources", customer.partner()).with(customer.customer()).with(subscription);
        walk(
            &self.pages,
            &binding,
            page,
            size,
            |next| self.pc.resource_usage_records(ctx, &customer, subscription, upstream_size, next),
            |_| true,
        )
        .await
        .map_err(|e| wrong_subscription_kind(e, RESOURCE_RECORDS_ONLY_FOR_AZURE_PLANS))
    }

    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer, subscription = %subscription))]
    pub async fn meter_usage_records(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
        subscription: SubscriptionId,
        page: &PageRequest,
    ) -> Result<Page<MeterUsageRecord>> {
        let customer = caller.ensure_customer(customer, Permission::UsageRead)?;
        let size = self.page_size(page);
        let upstream_size = u32::try_from(size).unwrap_or(STREAM_UPSTREAM_PAGE);
        let binding = PageBinding::new("usage.meters", customer.partner()).with(customer.customer()).with(subscription);
        walk(
            &self.pages,
            &binding,
            page,
            size,
            |next| self.pc.meter_usage_records(ctx, &customer, subscription, upstream_size, next),
            |_| true,
        )
        .await
    }

    /// Every resource usage record, one upstream page at a time.
    pub fn stream_resource_usage_records(
        self: &Arc<Self>,
        ctx: RequestContext,
        caller: &Caller,
        customer: CustomerId,
        subscription: SubscriptionId,
    ) -> Result<impl Stream<Item = Result<ResourceUsageRecord>> + Send + use<>> {
        let customer = caller.ensure_customer(customer, Permission::UsageRead)?;
        let pc = self.pc.clone();
        Ok(stream_pages(move |next| {
            let (pc, ctx, customer) = (pc.clone(), ctx.clone(), customer.clone());
            async move {
                pc.resource_usage_records(&ctx, &customer, subscription, STREAM_UPSTREAM_PAGE, next)
                    .await
                    .map_err(|e| wrong_subscription_kind(e, RESOURCE_RECORDS_ONLY_FOR_AZURE_PLANS))
            }
        }))
    }

    /// Every meter usage record, one upstream page at a time.
    pub fn stream_meter_usage_records(
        self: &Arc<Self>,
        ctx: RequestContext,
        caller: &Caller,
        customer: CustomerId,
        subscription: SubscriptionId,
    ) -> Result<impl Stream<Item = Result<MeterUsageRecord>> + Send + use<>> {
        let customer = caller.ensure_customer(customer, Permission::UsageRead)?;
        let pc = self.pc.clone();
        Ok(stream_pages(move |next| {
            let (pc, ctx, customer) = (pc.clone(), ctx.clone(), customer.clone());
            async move { pc.meter_usage_records(&ctx, &customer, subscription, STREAM_UPSTREAM_PAGE, next).await }
        }))
    }

    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer))]
    pub async fn spending_budget(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
    ) -> Result<SpendingBudget> {
        let customer = caller.ensure_customer(customer, Permission::UsageRead)?;
        self.pc.spending_budget(ctx, &customer).await
    }

    /// Sets the customer's budget, or with `None` removes it.
    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer))]
    pub async fn update_spending_budget(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
        amount: Parsed<Option<BudgetAmount>>,
    ) -> Result<SpendingBudget> {
        let customer = caller.ensure_customer(customer, Permission::BudgetWrite)?;
        self.pc.update_spending_budget(ctx, &customer, amount?).await
    }
}

const RESOURCE_RECORDS_ONLY_FOR_AZURE_PLANS: &str = "resource usage records exist only for Azure plans; for an \
     MS-AZR-0145P subscription read GET /v1/customers/{customerId}/subscriptions/{subscriptionId}/usage/monthly \
     (gRPC UsageService.ListMonthlyUsageRecords)";

/// Partner Center answers a usage read for the other kind of subscription with 900141 and a text
/// naming its own route (`use meterusagerecords`); callers get the gateway's route instead.
fn wrong_subscription_kind(error: Error, detail: &str) -> Error {
    if error.upstream_code() != Some("900141") {
        return error;
    }
    Error::new(error.kind(), detail)
        .with_reason(error.reason())
        .with_upstream_code("900141")
        .with_source(format!("Partner Center: {}", error.detail()))
}
