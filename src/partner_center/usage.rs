//! Usage and spending budget (G1–G10). Partner Center serves most of these only with app+user
//! tokens (G6 and the budget also take app-only).

use http::Method;
use serde_json::value::RawValue;

use super::{
    PartnerCenter, TokenFlow, UpstreamPage, UpstreamRequest,
    models::usage::{
        WireBudget, WireCustomerUsageRecord, WireCustomerUsageSummary, WireMeterUsageRecord, WireMonthlyUsageRecord,
        WirePartnerUsageSummary, WireResourceUsageRecord, WireSubscriptionUsageRecord, WireSubscriptionUsageSummary,
    },
    paging::NextLink,
};
use crate::{
    auth::{Authorized, PartnerWide},
    context::RequestContext,
    error::{Error, Result},
    model::{
        CustomerId, SubscriptionId,
        usage::{
            BudgetAmount, CustomerUsageRecord, CustomerUsageSummary, MeterUsageRecord, MonthlyUsageRecord,
            PartnerUsageSummary, ResourceUsageRecord, SpendingBudget, SubscriptionUsageRecord,
            SubscriptionUsageSummary,
        },
    },
};

impl PartnerCenter {
    pub(super) async fn partner_usage_summary(
        &self,
        ctx: &RequestContext,
        partner: &Authorized<PartnerWide>,
    ) -> Result<PartnerUsageSummary> {
        let request = UpstreamRequest::get("usage.partner_summary", "/v1/usagesummary").flow(TokenFlow::AppUser);
        let wire: WirePartnerUsageSummary = self.client().json(ctx, partner.partner(), &request).await?;
        Ok(wire.into())
    }

    pub(super) async fn customers_usage_records(
        &self,
        ctx: &RequestContext,
        partner: &Authorized<PartnerWide>,
        next: Option<NextLink>,
    ) -> Result<UpstreamPage<CustomerUsageRecord>> {
        let first =
            UpstreamRequest::get("usage.customers_records", "/v1/customers/usagerecords").flow(TokenFlow::AppUser);
        self.page(ctx, partner.partner(), first, next, |w: WireCustomerUsageRecord| Ok(w.into())).await
    }

    pub(super) async fn customer_usage_summary(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
    ) -> Result<CustomerUsageSummary> {
        let id = customer.customer();
        let request = UpstreamRequest::get("usage.customer_summary", format!("/v1/customers/{id}/usagesummary"))
            .flow(TokenFlow::AppUser);
        let wire: WireCustomerUsageSummary = self.client().json(ctx, customer.partner(), &request).await?;
        Ok(wire.into_model(id))
    }

    pub(super) async fn subscription_usage_records(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
        next: Option<NextLink>,
    ) -> Result<UpstreamPage<SubscriptionUsageRecord>> {
        let path = format!("/v1/customers/{}/subscriptions/usagerecords", customer.customer());
        let first = UpstreamRequest::get("usage.subscription_records", path).flow(TokenFlow::AppUser);
        self.page(ctx, customer.partner(), first, next, |w: WireSubscriptionUsageRecord| Ok(w.into())).await
    }

    pub(super) async fn subscription_usage_summary(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
        subscription: SubscriptionId,
    ) -> Result<SubscriptionUsageSummary> {
        let path = format!("/v1/customers/{}/subscriptions/{subscription}/usagesummary", customer.customer());
        let request = UpstreamRequest::get("usage.subscription_summary", path).flow(TokenFlow::AppUser);
        let wire: WireSubscriptionUsageSummary = self.client().json(ctx, customer.partner(), &request).await?;
        Ok(wire.into())
    }

    /// App-only, unlike its neighbours (MS-AZR-0145P's monthly records).
    pub(super) async fn monthly_usage_records(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
        subscription: SubscriptionId,
        next: Option<NextLink>,
    ) -> Result<UpstreamPage<MonthlyUsageRecord>> {
        let path = format!("/v1/customers/{}/subscriptions/{subscription}/usagerecords/resources", customer.customer());
        let first = UpstreamRequest::get("usage.monthly_records", path);
        self.page(ctx, customer.partner(), first, next, |w: WireMonthlyUsageRecord| Ok(w.into())).await
    }

    pub(super) async fn resource_usage_records(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
        subscription: SubscriptionId,
        size: u32,
        next: Option<NextLink>,
    ) -> Result<UpstreamPage<ResourceUsageRecord>> {
        let path = format!("/v1/customers/{}/subscriptions/{subscription}/resourceusagerecords", customer.customer());
        let first = UpstreamRequest::get("usage.resource_records", path)
            .query("size", size.to_string())
            .flow(TokenFlow::AppUser);
        self.page(ctx, customer.partner(), first, next, |w: WireResourceUsageRecord| Ok(w.into())).await
    }

    pub(super) async fn meter_usage_records(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
        subscription: SubscriptionId,
        size: u32,
        next: Option<NextLink>,
    ) -> Result<UpstreamPage<MeterUsageRecord>> {
        let path = format!("/v1/customers/{}/subscriptions/{subscription}/meterusagerecords", customer.customer());
        let first =
            UpstreamRequest::get("usage.meter_records", path).query("size", size.to_string()).flow(TokenFlow::AppUser);
        self.page(ctx, customer.partner(), first, next, |w: WireMeterUsageRecord| Ok(w.into())).await
    }

    pub(super) async fn spending_budget(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
    ) -> Result<SpendingBudget> {
        let request =
            UpstreamRequest::get("usage.budget.get", format!("/v1/customers/{}/usagebudget", customer.customer()));
        let wire: WireBudget = self.client().json(ctx, customer.partner(), &request).await?;
        Ok(SpendingBudget { customer_id: customer.customer(), amount: wire.amount })
    }

    pub(super) async fn update_spending_budget(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
        amount: Option<BudgetAmount>,
    ) -> Result<SpendingBudget> {
        // The amount goes out as a JSON number with exactly the caller's digits.
        let amount = RawValue::from_string(amount.map_or_else(|| "null".to_owned(), |a| a.as_str().to_owned()))
            .map_err(|e| Error::internal(format!("budget amount: {e}")))?;
        let body = serde_json::json!({ "amount": amount, "attributes": { "objectType": "SpendingBudget" } });
        let path = format!("/v1/customers/{}/usagebudget", customer.customer());
        let request = UpstreamRequest::new("usage.budget.update", Method::PATCH, path).json(&body)?;
        let wire: WireBudget = self.client().json(ctx, customer.partner(), &request).await?;
        Ok(SpendingBudget { customer_id: customer.customer(), amount: wire.amount })
    }
}
