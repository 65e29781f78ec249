//! Customers: the list is filtered to the caller's scope; a single customer needs it in scope.

use tracing::instrument;

use super::{
    Facade,
    paging::{PageBinding, walk},
};
use crate::{
    auth::{Caller, CustomerScope, Permission},
    context::RequestContext,
    error::Result,
    model::{
        CustomerId, Page, PageRequest,
        customer::{BillingProfile, Customer},
    },
};

/// Upstream page size while walking the customer list (stable, so a resume offset stays valid).
const UPSTREAM_CUSTOMER_PAGE: u32 = 100;

impl Facade {
    /// The partner's customers that the caller may see.
    #[instrument(skip_all, fields(partner = caller.partner()))]
    pub async fn list_customers(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        page: &PageRequest,
    ) -> Result<Page<Customer>> {
        let partner = caller.ensure_permission(Permission::CustomersRead)?;
        let binding = PageBinding::new("customers.list", caller.partner()).with(scope_fingerprint(caller.customers()));
        walk(
            &self.pages,
            &binding,
            page,
            self.page_size(page),
            |next| self.pc.list_customers(ctx, &partner, UPSTREAM_CUSTOMER_PAGE, next),
            |customer: &Customer| caller.can_access(customer.id),
        )
        .await
    }

    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer))]
    pub async fn get_customer(&self, ctx: &RequestContext, caller: &Caller, customer: CustomerId) -> Result<Customer> {
        let customer = caller.ensure_customer(customer, Permission::CustomersRead)?;
        self.pc.get_customer(ctx, &customer).await
    }
}

impl Facade {
    /// The customer's billing profile (its default address's country is the one purchases use).
    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer))]
    pub async fn billing_profile(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
    ) -> Result<BillingProfile> {
        let customer = caller.ensure_customer(customer, Permission::CustomersRead)?;
        self.pc.billing_profile(ctx, &customer).await
    }
}

/// Tokens from one scope must not page another scope's list.
fn scope_fingerprint(scope: &CustomerScope) -> String {
    match scope {
        CustomerScope::All => "*".to_owned(),
        CustomerScope::Only(set) => {
            let mut ids: Vec<String> = set.iter().map(ToString::to_string).collect();
            ids.sort();
            ids.join(",")
        }
    }
}
