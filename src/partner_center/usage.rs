//! Usage and spending budget (G1–G10). Partner Center serves most of these only with app+user
//! tokens (G6 and the budget also take app-only).

use http::Method;
use serde_json::value::RawValue;

use super::{
    PartnerCenter, TokenFlow, UpstreamPage, UpstreamRequest,
    models::{
        Collection,
        usage::{
            WireBudget, WireCustomerUsageRecord, WireCustomerUsageSummary, WireMeterUsageRecord,
            WireMonthlyUsageRecord, WirePartnerUsageSummary, WireResourceUsageRecord, WireSubscriptionUsageRecord,
            WireSubscriptionUsageSummary,
        },
    },
    paging::NextLink,
};
use crate::{
    context::RequestContext,
    error::{Error, Result},
    model::{
        CustomerId, SubscriptionId,
        usage::{
            CustomerUsageRecord, CustomerUsageSummary, MeterUsageRecord, MonthlyUsageRecord, PartnerUsageSummary,
            ResourceUsageRecord, SpendingBudget, SubscriptionUsageRecord, SubscriptionUsageSummary,
        },
    },
};

impl PartnerCenter {
    /// G1 `GET /v1/usagesummary`.
    pub async fn partner_usage_summary(&self, ctx: &RequestContext, partner: &str) -> Result<PartnerUsageSummary> {
        let request = UpstreamRequest::get("usage.partner_summary", "/v1/usagesummary").flow(TokenFlow::AppUser);
        let wire: WirePartnerUsageSummary = self.client().json(ctx, partner, &request).await?;
        Ok(wire.into())
    }

    /// G2 `GET /v1/customers/usagerecords`.
    pub async fn customers_usage_records(
        &self,
        ctx: &RequestContext,
        partner: &str,
        next: Option<&NextLink>,
    ) -> Result<UpstreamPage<CustomerUsageRecord>> {
        const OP: &str = "usage.customers_records";
        let collection: Collection<WireCustomerUsageRecord> = match next {
            Some(link) => self.follow(ctx, partner, OP, TokenFlow::AppUser, link).await?,
            None => {
                let request = UpstreamRequest::get(OP, "/v1/customers/usagerecords").flow(TokenFlow::AppUser);
                self.client().json(ctx, partner, &request).await?
            }
        };
        collection.into_page(|w| Ok(w.into()))
    }

    /// G3 `GET /v1/customers/{id}/usagesummary`.
    pub async fn customer_usage_summary(
        &self,
        ctx: &RequestContext,
        partner: &str,
        customer: CustomerId,
    ) -> Result<CustomerUsageSummary> {
        let request = UpstreamRequest::get("usage.customer_summary", format!("/v1/customers/{customer}/usagesummary"))
            .flow(TokenFlow::AppUser);
        let wire: WireCustomerUsageSummary = self.client().json(ctx, partner, &request).await?;
        Ok(wire.into_model(customer))
    }

    /// G4 `GET /v1/customers/{id}/subscriptions/usagerecords`.
    pub async fn subscription_usage_records(
        &self,
        ctx: &RequestContext,
        partner: &str,
        customer: CustomerId,
        next: Option<&NextLink>,
    ) -> Result<UpstreamPage<SubscriptionUsageRecord>> {
        const OP: &str = "usage.subscription_records";
        let collection: Collection<WireSubscriptionUsageRecord> = match next {
            Some(link) => self.follow(ctx, partner, OP, TokenFlow::AppUser, link).await?,
            None => {
                let request = UpstreamRequest::get(OP, format!("/v1/customers/{customer}/subscriptions/usagerecords"))
                    .flow(TokenFlow::AppUser);
                self.client().json(ctx, partner, &request).await?
            }
        };
        collection.into_page(|w| Ok(w.into()))
    }

    /// G5 `GET /v1/customers/{id}/subscriptions/{subscriptionId}/usagesummary` (for an Azure plan, the plan id).
    pub async fn subscription_usage_summary(
        &self,
        ctx: &RequestContext,
        partner: &str,
        customer: CustomerId,
        subscription: SubscriptionId,
    ) -> Result<SubscriptionUsageSummary> {
        let request = UpstreamRequest::get(
            "usage.subscription_summary",
            format!("/v1/customers/{customer}/subscriptions/{subscription}/usagesummary"),
        )
        .flow(TokenFlow::AppUser);
        let wire: WireSubscriptionUsageSummary = self.client().json(ctx, partner, &request).await?;
        Ok(wire.into())
    }

    /// G6 `GET .../subscriptions/{subscriptionId}/usagerecords/resources` (MS-AZR-0145P).
    pub async fn monthly_usage_records(
        &self,
        ctx: &RequestContext,
        partner: &str,
        customer: CustomerId,
        subscription: SubscriptionId,
        next: Option<&NextLink>,
    ) -> Result<UpstreamPage<MonthlyUsageRecord>> {
        const OP: &str = "usage.monthly_records";
        let collection: Collection<WireMonthlyUsageRecord> = match next {
            Some(link) => self.follow(ctx, partner, OP, TokenFlow::AppOnly, link).await?,
            None => {
                let path = format!("/v1/customers/{customer}/subscriptions/{subscription}/usagerecords/resources");
                self.client().json(ctx, partner, &UpstreamRequest::get(OP, path)).await?
            }
        };
        collection.into_page(|w| Ok(w.into()))
    }

    /// G7 `GET .../subscriptions/{subscriptionId}/resourceusagerecords`.
    pub async fn resource_usage_records(
        &self,
        ctx: &RequestContext,
        partner: &str,
        customer: CustomerId,
        subscription: SubscriptionId,
        size: u32,
        next: Option<&NextLink>,
    ) -> Result<UpstreamPage<ResourceUsageRecord>> {
        const OP: &str = "usage.resource_records";
        let collection: Collection<WireResourceUsageRecord> = match next {
            Some(link) => self.follow(ctx, partner, OP, TokenFlow::AppUser, link).await?,
            None => {
                let path = format!("/v1/customers/{customer}/subscriptions/{subscription}/resourceusagerecords");
                let request = UpstreamRequest::get(OP, path).query("size", size.to_string()).flow(TokenFlow::AppUser);
                self.client().json(ctx, partner, &request).await?
            }
        };
        collection.into_page(|w| Ok(w.into()))
    }

    /// G8 `GET .../subscriptions/{subscriptionId}/meterusagerecords`.
    pub async fn meter_usage_records(
        &self,
        ctx: &RequestContext,
        partner: &str,
        customer: CustomerId,
        subscription: SubscriptionId,
        size: u32,
        next: Option<&NextLink>,
    ) -> Result<UpstreamPage<MeterUsageRecord>> {
        const OP: &str = "usage.meter_records";
        let collection: Collection<WireMeterUsageRecord> = match next {
            Some(link) => self.follow(ctx, partner, OP, TokenFlow::AppUser, link).await?,
            None => {
                let path = format!("/v1/customers/{customer}/subscriptions/{subscription}/meterusagerecords");
                let request = UpstreamRequest::get(OP, path).query("size", size.to_string()).flow(TokenFlow::AppUser);
                self.client().json(ctx, partner, &request).await?
            }
        };
        collection.into_page(|w| Ok(w.into()))
    }

    /// G9 `GET /v1/customers/{id}/usagebudget`.
    pub async fn spending_budget(
        &self,
        ctx: &RequestContext,
        partner: &str,
        customer: CustomerId,
    ) -> Result<SpendingBudget> {
        let request = UpstreamRequest::get("usage.budget.get", format!("/v1/customers/{customer}/usagebudget"));
        let wire: WireBudget = self.client().json(ctx, partner, &request).await?;
        Ok(SpendingBudget { customer_id: customer, amount: wire.amount })
    }

    /// G10 `PATCH /v1/customers/{id}/usagebudget`; `amount` is a validated decimal (None removes it).
    pub async fn update_spending_budget(
        &self,
        ctx: &RequestContext,
        partner: &str,
        customer: CustomerId,
        amount: Option<&str>,
    ) -> Result<SpendingBudget> {
        // The amount goes out as a JSON number with exactly the caller's digits.
        let amount = match amount {
            Some(text) => {
                RawValue::from_string(text.to_owned()).map_err(|e| Error::internal(format!("budget amount: {e}")))?
            }
            None => RawValue::from_string("null".to_owned()).map_err(Error::internal)?,
        };
        let body = serde_json::json!({ "amount": amount, "attributes": { "objectType": "SpendingBudget" } });
        let request =
            UpstreamRequest::new("usage.budget.update", Method::PATCH, format!("/v1/customers/{customer}/usagebudget"))
                .json(&body)?;
        let wire: WireBudget = self.client().json(ctx, partner, &request).await?;
        Ok(SpendingBudget { customer_id: customer, amount: wire.amount })
    }
}
