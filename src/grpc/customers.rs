//! `CustomerService`.

use tonic::{Request, Response, Status};

use super::{
    convert, input,
    pb::{self, customer_service_server::CustomerService},
    unary,
};
use crate::{edge::AppState, model::CustomerId};

pub struct CustomerRpc {
    pub state: AppState,
}

#[tonic::async_trait]
impl CustomerService for CustomerRpc {
    async fn list_customers(
        &self,
        request: Request<pb::ListCustomersRequest>,
    ) -> Result<Response<pb::ListCustomersResponse>, Status> {
        unary(&self.state, "CustomerService/ListCustomers", request, async |ctx, caller, req| {
            let page = input::page(req.page_size, req.page_token)?;
            let page = self.state.facade.list_customers(&ctx, &caller, &page).await?;
            Ok(pb::ListCustomersResponse {
                customers: page.items.into_iter().map(convert::customer).collect(),
                next_page_token: page.next_page_token.unwrap_or_default(),
            })
        })
        .await
    }

    async fn get_agreement_metadata(
        &self,
        request: Request<pb::GetAgreementMetadataRequest>,
    ) -> Result<Response<pb::GetAgreementMetadataResponse>, Status> {
        unary(&self.state, "CustomerService/GetAgreementMetadata", request, async |ctx, caller, _req| {
            let metadata = self.state.facade.agreement_metadata(&ctx, &caller).await?;
            Ok(pb::GetAgreementMetadataResponse {
                agreements: metadata.into_iter().map(convert::agreement_metadata).collect(),
            })
        })
        .await
    }

    async fn list_customer_agreements(
        &self,
        request: Request<pb::ListCustomerAgreementsRequest>,
    ) -> Result<Response<pb::ListCustomerAgreementsResponse>, Status> {
        unary(&self.state, "CustomerService/ListCustomerAgreements", request, async |ctx, caller, req| {
            let customer = CustomerId::parse("customer_id", &req.customer_id)?;
            let agreements = self.state.facade.list_agreements(&ctx, &caller, customer).await?;
            Ok(pb::ListCustomerAgreementsResponse {
                agreements: agreements.into_iter().map(convert::agreement).collect(),
            })
        })
        .await
    }

    async fn confirm_customer_agreement(
        &self,
        request: Request<pb::ConfirmCustomerAgreementRequest>,
    ) -> Result<Response<pb::Agreement>, Status> {
        unary(&self.state, "CustomerService/ConfirmCustomerAgreement", request, async |ctx, caller, req| {
            let customer = CustomerId::parse("customer_id", &req.customer_id)?;
            let confirmation = input::agreement_confirmation(req);
            Ok(convert::agreement(self.state.facade.confirm_agreement(&ctx, &caller, customer, confirmation).await?))
        })
        .await
    }

    async fn get_customer(&self, request: Request<pb::GetCustomerRequest>) -> Result<Response<pb::Customer>, Status> {
        unary(&self.state, "CustomerService/GetCustomer", request, async |ctx, caller, req| {
            let customer = CustomerId::parse("customer_id", &req.customer_id)?;
            Ok(convert::customer(self.state.facade.get_customer(&ctx, &caller, customer).await?))
        })
        .await
    }

    async fn get_customer_billing_profile(
        &self,
        request: Request<pb::GetCustomerBillingProfileRequest>,
    ) -> Result<Response<pb::BillingProfile>, Status> {
        unary(&self.state, "CustomerService/GetCustomerBillingProfile", request, async |ctx, caller, req| {
            let customer = CustomerId::parse("customer_id", &req.customer_id)?;
            Ok(convert::billing_profile(self.state.facade.billing_profile(&ctx, &caller, customer).await?))
        })
        .await
    }
}
