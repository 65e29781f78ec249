//! `CustomerService`.

use tonic::{Request, Response, Status};

use super::{
    convert,
    pb::{self, customer_service_server::CustomerService},
    unary,
};
use crate::{
    app::AppState,
    model::{CustomerId, PageRequest},
};

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
            let page = PageRequest::parse(Some(i64::from(req.page_size)), Some(req.page_token))?;
            let page = self.state.facade.list_customers(&ctx, &caller, &page).await?;
            Ok(pb::ListCustomersResponse {
                customers: page.items.into_iter().map(convert::customer).collect(),
                next_page_token: page.next_page_token.unwrap_or_default(),
            })
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
}
