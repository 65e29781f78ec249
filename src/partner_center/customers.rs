//! Customers (A5 and get-by-id).

use super::{
    PartnerCenter, UpstreamPage, UpstreamRequest,
    models::customers::{WireBillingProfile, WireCustomer},
    paging::NextLink,
};
use crate::{
    auth::{Authorized, Partner},
    context::RequestContext,
    error::Result,
    model::{
        CustomerId,
        customer::{BillingProfile, Customer},
    },
};

impl PartnerCenter {
    pub(super) async fn list_customers(
        &self,
        ctx: &RequestContext,
        partner: &Authorized<Partner>,
        size: u32,
        next: Option<NextLink>,
    ) -> Result<UpstreamPage<Customer>> {
        let first = UpstreamRequest::get("customers.list", "/v1/customers").query("size", size.to_string());
        self.page(ctx, partner.partner(), first, next, |w: WireCustomer| Customer::try_from(w)).await
    }

    /// App-only or app+user ("both standalone App and App+User credentials").
    pub(super) async fn billing_profile(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
    ) -> Result<BillingProfile> {
        let id = customer.customer();
        let request = UpstreamRequest::get("customers.billing_profile", format!("/v1/customers/{id}/profiles/billing"));
        let wire: WireBillingProfile = self.client().json(ctx, customer.partner(), &request).await?;
        Ok(wire.into_model(id))
    }

    pub(super) async fn get_customer(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
    ) -> Result<Customer> {
        let request = UpstreamRequest::get("customers.get", format!("/v1/customers/{}", customer.customer()));
        let wire: WireCustomer = self.client().json(ctx, customer.partner(), &request).await?;
        Customer::try_from(wire)
    }
}
