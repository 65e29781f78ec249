//! Usage, summaries and the spending budget. Partner-wide data needs `customers: "*"`.

use std::sync::Arc;

use futures::Stream;
use tracing::instrument;

use super::{Facade, paging::walk};
use crate::{
    auth::{Caller, Permission},
    context::RequestContext,
    error::Result,
    model::{
        CustomerId, Page, PageRequest, SubscriptionId,
        usage::{
            CustomerUsageRecord, CustomerUsageSummary, MeterUsageRecord, MonthlyUsageRecord, PartnerUsageSummary,
            ResourceUsageRecord, SpendingBudget, SpendingBudgetInput, SubscriptionUsageRecord,
            SubscriptionUsageSummary, parse_budget_amount,
        },
    },
};

/// Upstream page size for resource and meter records while streaming.
const STREAM_UPSTREAM_PAGE: u32 = 1000;

impl Facade {
    /// G1: partner-wide (MS-AZR-0145P customers only, as Partner Center computes it).
    #[instrument(skip_all, fields(partner = caller.partner()))]
    pub async fn partner_usage_summary(&self, ctx: &RequestContext, caller: &Caller) -> Result<PartnerUsageSummary> {
        caller.ensure_partner_wide(Permission::UsageRead)?;
        self.pc.partner_usage_summary(ctx, caller.partner()).await
    }

    /// G2: this month's usage of every customer of the partner.
    #[instrument(skip_all, fields(partner = caller.partner()))]
    pub async fn customers_usage_records(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        page: &PageRequest,
    ) -> Result<Page<CustomerUsageRecord>> {
        caller.ensure_partner_wide(Permission::UsageRead)?;
        let binding = format!("usage.customers|{}", caller.partner());
        walk(
            &self.pages,
            &binding,
            page,
            self.page_size(page),
            |next| async move { self.pc.customers_usage_records(ctx, caller.partner(), next.as_ref()).await },
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
        caller.ensure_customer(customer, Permission::UsageRead)?;
        self.pc.customer_usage_summary(ctx, caller.partner(), customer).await
    }

    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer))]
    pub async fn subscription_usage_records(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
        page: &PageRequest,
    ) -> Result<Page<SubscriptionUsageRecord>> {
        caller.ensure_customer(customer, Permission::UsageRead)?;
        let binding = format!("usage.subscriptions|{}|{customer}", caller.partner());
        walk(&self.pages, &binding, page, self.page_size(page), |next| async move {
            self.pc.subscription_usage_records(ctx, caller.partner(), customer, next.as_ref()).await
        }, |_| true)
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
        caller.ensure_customer(customer, Permission::UsageRead)?;
        self.pc.subscription_usage_summary(ctx, caller.partner(), customer, subscription).await
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
        caller.ensure_customer(customer, Permission::UsageRead)?;
        let binding = format!("usage.monthly|{}|{customer}|{subscription}", caller.partner());
        walk(
            &self.pages,
            &binding,
            page,
            self.page_size(page),
            |next| async move {
                self.pc.monthly_usage_records(ctx, caller.partner(), customer, subscription, next.as_ref()).await
            },
            |_| true,
        )
        .await
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
        caller.ensure_customer(customer, Permission::UsageRead)?;
        let size = self.page_size(page);
        let upstream_size = u32::try_from(size).unwrap_or(STREAM_UPSTREAM_PAGE);
        let binding = format!("usage.resources|{}|{customer}|{subscription}", caller.partner());
        walk(
            &self.pages,
            &binding,
            page,
            size,
            |next| async move {
                self.pc
                    .resource_usage_records(ctx, caller.partner(), customer, subscription, upstream_size, next.as_ref())
                    .await
            },
            |_| true,
        )
        .await
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
        caller.ensure_customer(customer, Permission::UsageRead)?;
        let size = self.page_size(page);
        let upstream_size = u32::try_from(size).unwrap_or(STREAM_UPSTREAM_PAGE);
        let binding = format!("usage.meters|{}|{customer}|{subscription}", caller.partner());
        walk(
            &self.pages,
            &binding,
            page,
            size,
            |next| async move {
                self.pc
                    .meter_usage_records(ctx, caller.partner(), customer, subscription, upstream_size, next.as_ref())
                    .await
            },
            |_| true,
        )
        .await
    }

    /// Every resource usage record, one upstream page at a time: the next page is fetched only
    /// when the consumer has taken the previous one.
    pub fn stream_resource_usage_records(
        self: &Arc<Self>,
        ctx: RequestContext,
        caller: &Caller,
        customer: CustomerId,
        subscription: SubscriptionId,
    ) -> Result<impl Stream<Item = Result<ResourceUsageRecord>> + Send + use<>> {
        caller.ensure_customer(customer, Permission::UsageRead)?;
        let facade = self.clone();
        let partner = caller.partner().to_owned();
        Ok(async_stream::try_stream! {
            let mut next = None;
            loop {
                let page = facade.pc.resource_usage_records(&ctx, &partner, customer, subscription, STREAM_UPSTREAM_PAGE, next.as_ref()).await?;
                for record in page.items {
                    yield record;
                }
                match page.next {
                    Some(link) => next = Some(link),
                    None => break,
                }
            }
        })
    }

    /// Every meter usage record, streamed like [`Self::stream_resource_usage_records`].
    pub fn stream_meter_usage_records(
        self: &Arc<Self>,
        ctx: RequestContext,
        caller: &Caller,
        customer: CustomerId,
        subscription: SubscriptionId,
    ) -> Result<impl Stream<Item = Result<MeterUsageRecord>> + Send + use<>> {
        caller.ensure_customer(customer, Permission::UsageRead)?;
        let facade = self.clone();
        let partner = caller.partner().to_owned();
        Ok(async_stream::try_stream! {
            let mut next = None;
            loop {
                let page = facade.pc.meter_usage_records(&ctx, &partner, customer, subscription, STREAM_UPSTREAM_PAGE, next.as_ref()).await?;
                for record in page.items {
                    yield record;
                }
                match page.next {
                    Some(link) => next = Some(link),
                    None => break,
                }
            }
        })
    }

    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer))]
    pub async fn spending_budget(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
    ) -> Result<SpendingBudget> {
        caller.ensure_customer(customer, Permission::UsageRead)?;
        self.pc.spending_budget(ctx, caller.partner(), customer).await
    }

    /// Sets (or, with `null`, removes) the customer's budget; the amount must be non-negative.
    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer))]
    pub async fn update_spending_budget(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
        input: &SpendingBudgetInput,
    ) -> Result<SpendingBudget> {
        caller.ensure_customer(customer, Permission::BudgetWrite)?;
        let amount = match &input.amount {
            Some(value) => parse_budget_amount("amount", value)?,
            None => None,
        };
        self.pc.update_spending_budget(ctx, caller.partner(), customer, amount.as_deref()).await
    }
}
