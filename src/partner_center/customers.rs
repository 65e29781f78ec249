//! Customers (A5 and get-by-id).

use super::{
    PartnerCenter, TokenFlow, UpstreamPage, UpstreamRequest,
    models::{Collection, customers::WireCustomer},
    paging::NextLink,
};
use crate::{
    context::RequestContext,
    error::Result,
    model::{CustomerId, customer::Customer},
};

impl PartnerCenter {
    /// `GET /v1/customers?size=` (first page) or the page `next` points to.
    pub async fn list_customers(
        &self,
        ctx: &RequestContext,
        partner: &str,
        size: u32,
        next: Option<&NextLink>,
    ) -> Result<UpstreamPage<Customer>> {
        const OP: &str = "customers.list";
        let collection: Collection<WireCustomer> = match next {
            Some(link) => self.follow(ctx, partner, OP, TokenFlow::AppOnly, link).await?,
            None => {
                let request = UpstreamRequest::get(OP, "/v1/customers").query("size", size.to_string());
                self.client().json(ctx, partner, &request).await?
            }
        };
        collection.into_page(Customer::try_from)
    }

    /// `GET /v1/customers/{customer-tenant-id}`.
    pub async fn get_customer(&self, ctx: &RequestContext, partner: &str, customer: CustomerId) -> Result<Customer> {
        let request = UpstreamRequest::get("customers.get", format!("/v1/customers/{customer}"));
        let wire: WireCustomer = self.client().json(ctx, partner, &request).await?;
        Customer::try_from(wire)
    }
}
