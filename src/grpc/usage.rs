//! `UsageService`.

use futures::StreamExt;
use tonic::{Request, Response, Status};

use super::{
    RpcStream, convert, input,
    pb::{self, usage_service_server::UsageService},
    server_stream, unary,
};
use crate::{
    edge::AppState,
    error::Result,
    model::{CustomerId, SubscriptionId},
};

pub struct UsageRpc {
    pub state: AppState,
}

fn ids(customer: &str, subscription: &str) -> Result<(CustomerId, SubscriptionId)> {
    Ok((CustomerId::parse("customer_id", customer)?, SubscriptionId::parse("subscription_id", subscription)?))
}

#[tonic::async_trait]
impl UsageService for UsageRpc {
    async fn get_partner_usage_summary(
        &self,
        request: Request<pb::GetPartnerUsageSummaryRequest>,
    ) -> Result<Response<pb::PartnerUsageSummary>, Status> {
        unary(&self.state, "UsageService/GetPartnerUsageSummary", request, async |ctx, caller, _req| {
            Ok(convert::partner_usage_summary(self.state.facade.partner_usage_summary(&ctx, &caller).await?))
        })
        .await
    }

    async fn list_customer_usage_records(
        &self,
        request: Request<pb::ListCustomerUsageRecordsRequest>,
    ) -> Result<Response<pb::ListCustomerUsageRecordsResponse>, Status> {
        unary(&self.state, "UsageService/ListCustomerUsageRecords", request, async |ctx, caller, req| {
            let page = self
                .state
                .facade
                .customers_usage_records(&ctx, &caller, &input::page(req.page_size, req.page_token)?)
                .await?;
            Ok(pb::ListCustomerUsageRecordsResponse {
                records: page.items.into_iter().map(convert::customer_usage_record).collect(),
                next_page_token: page.next_page_token.unwrap_or_default(),
            })
        })
        .await
    }

    async fn get_customer_usage_summary(
        &self,
        request: Request<pb::GetCustomerUsageSummaryRequest>,
    ) -> Result<Response<pb::CustomerUsageSummary>, Status> {
        unary(&self.state, "UsageService/GetCustomerUsageSummary", request, async |ctx, caller, req| {
            let customer = CustomerId::parse("customer_id", &req.customer_id)?;
            Ok(convert::customer_usage_summary(
                self.state.facade.customer_usage_summary(&ctx, &caller, customer).await?,
            ))
        })
        .await
    }

    async fn list_subscription_usage_records(
        &self,
        request: Request<pb::ListSubscriptionUsageRecordsRequest>,
    ) -> Result<Response<pb::ListSubscriptionUsageRecordsResponse>, Status> {
        unary(&self.state, "UsageService/ListSubscriptionUsageRecords", request, async |ctx, caller, req| {
            let customer = CustomerId::parse("customer_id", &req.customer_id)?;
            let page = self
                .state
                .facade
                .subscription_usage_records(&ctx, &caller, customer, &input::page(req.page_size, req.page_token)?)
                .await?;
            Ok(pb::ListSubscriptionUsageRecordsResponse {
                records: page.items.into_iter().map(convert::subscription_usage_record).collect(),
                next_page_token: page.next_page_token.unwrap_or_default(),
            })
        })
        .await
    }

    async fn get_subscription_usage_summary(
        &self,
        request: Request<pb::GetSubscriptionUsageSummaryRequest>,
    ) -> Result<Response<pb::SubscriptionUsageSummary>, Status> {
        unary(&self.state, "UsageService/GetSubscriptionUsageSummary", request, async |ctx, caller, req| {
            let (customer, subscription) = ids(&req.customer_id, &req.subscription_id)?;
            Ok(convert::subscription_usage_summary(
                self.state.facade.subscription_usage_summary(&ctx, &caller, customer, subscription).await?,
            ))
        })
        .await
    }

    async fn list_monthly_usage_records(
        &self,
        request: Request<pb::ListMonthlyUsageRecordsRequest>,
    ) -> Result<Response<pb::ListMonthlyUsageRecordsResponse>, Status> {
        unary(&self.state, "UsageService/ListMonthlyUsageRecords", request, async |ctx, caller, req| {
            let (customer, subscription) = ids(&req.customer_id, &req.subscription_id)?;
            let page = self
                .state
                .facade
                .monthly_usage_records(
                    &ctx,
                    &caller,
                    customer,
                    subscription,
                    &input::page(req.page_size, req.page_token)?,
                )
                .await?;
            Ok(pb::ListMonthlyUsageRecordsResponse {
                records: page.items.into_iter().map(convert::monthly_usage_record).collect(),
                next_page_token: page.next_page_token.unwrap_or_default(),
            })
        })
        .await
    }

    async fn list_resource_usage_records(
        &self,
        request: Request<pb::ListResourceUsageRecordsRequest>,
    ) -> Result<Response<pb::ListResourceUsageRecordsResponse>, Status> {
        unary(&self.state, "UsageService/ListResourceUsageRecords", request, async |ctx, caller, req| {
            let (customer, subscription) = ids(&req.customer_id, &req.subscription_id)?;
            let page = self
                .state
                .facade
                .resource_usage_records(
                    &ctx,
                    &caller,
                    customer,
                    subscription,
                    &input::page(req.page_size, req.page_token)?,
                )
                .await?;
            Ok(pb::ListResourceUsageRecordsResponse {
                records: page.items.into_iter().map(convert::resource_usage_record).collect(),
                next_page_token: page.next_page_token.unwrap_or_default(),
            })
        })
        .await
    }

    async fn list_meter_usage_records(
        &self,
        request: Request<pb::ListMeterUsageRecordsRequest>,
    ) -> Result<Response<pb::ListMeterUsageRecordsResponse>, Status> {
        unary(&self.state, "UsageService/ListMeterUsageRecords", request, async |ctx, caller, req| {
            let (customer, subscription) = ids(&req.customer_id, &req.subscription_id)?;
            let page = self
                .state
                .facade
                .meter_usage_records(
                    &ctx,
                    &caller,
                    customer,
                    subscription,
                    &input::page(req.page_size, req.page_token)?,
                )
                .await?;
            Ok(pb::ListMeterUsageRecordsResponse {
                records: page.items.into_iter().map(convert::meter_usage_record).collect(),
                next_page_token: page.next_page_token.unwrap_or_default(),
            })
        })
        .await
    }

    async fn stream_resource_usage_records(
        &self,
        request: Request<pb::StreamResourceUsageRecordsRequest>,
    ) -> Result<Response<RpcStream<pb::ResourceUsageRecord>>, Status> {
        server_stream(&self.state, "UsageService/StreamResourceUsageRecords", request, async |ctx, caller, req| {
            let (customer, subscription) = ids(&req.customer_id, &req.subscription_id)?;
            let stream = self.state.facade.stream_resource_usage_records(ctx, &caller, customer, subscription)?;
            Ok(stream.map(|item| item.map(convert::resource_usage_record)))
        })
        .await
    }

    async fn stream_meter_usage_records(
        &self,
        request: Request<pb::StreamMeterUsageRecordsRequest>,
    ) -> Result<Response<RpcStream<pb::MeterUsageRecord>>, Status> {
        server_stream(&self.state, "UsageService/StreamMeterUsageRecords", request, async |ctx, caller, req| {
            let (customer, subscription) = ids(&req.customer_id, &req.subscription_id)?;
            let stream = self.state.facade.stream_meter_usage_records(ctx, &caller, customer, subscription)?;
            Ok(stream.map(|item| item.map(convert::meter_usage_record)))
        })
        .await
    }

    async fn get_spending_budget(
        &self,
        request: Request<pb::GetSpendingBudgetRequest>,
    ) -> Result<Response<pb::SpendingBudget>, Status> {
        unary(&self.state, "UsageService/GetSpendingBudget", request, async |ctx, caller, req| {
            let customer = CustomerId::parse("customer_id", &req.customer_id)?;
            Ok(convert::spending_budget(self.state.facade.spending_budget(&ctx, &caller, customer).await?))
        })
        .await
    }

    async fn update_spending_budget(
        &self,
        request: Request<pb::UpdateSpendingBudgetRequest>,
    ) -> Result<Response<pb::SpendingBudget>, Status> {
        unary(&self.state, "UsageService/UpdateSpendingBudget", request, async |ctx, caller, req| {
            let customer = CustomerId::parse("customer_id", &req.customer_id)?;
            let amount = input::budget_amount(req.amount.as_deref());
            Ok(convert::spending_budget(
                self.state.facade.update_spending_budget(&ctx, &caller, customer, amount).await?,
            ))
        })
        .await
    }
}
