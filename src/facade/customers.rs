//! Customers: the list is filtered to the caller's scope; a single customer needs it in scope.

use tracing::instrument;

use super::{Facade, paging::walk};
use crate::{
    auth::{Caller, CustomerScope, Permission},
    context::RequestContext,
    error::Result,
    model::{CustomerId, Page, PageRequest, customer::Customer},
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
        caller.ensure_permission(Permission::CustomersRead)?;
        let binding = format!("customers.list|{}|{}", caller.partner(), scope_fingerprint(caller.customers()));
        walk(
            &self.pages,
            &binding,
            page,
            self.page_size(page),
            |next| async move { self.pc.list_customers(ctx, caller.partner(), UPSTREAM_CUSTOMER_PAGE, next.as_ref()).await },
            |customer: &Customer| caller.can_access(customer.id),
        )
        .await
    }

    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer))]
    pub async fn get_customer(&self, ctx: &RequestContext, caller: &Caller, customer: CustomerId) -> Result<Customer> {
        caller.ensure_customer(customer, Permission::CustomersRead)?;
        self.pc.get_customer(ctx, caller.partner(), customer).await
    }
}

/// Tokens from one scope must not page another scope's list.
pub(crate) fn scope_fingerprint(scope: &CustomerScope) -> String {
    match scope {
        CustomerScope::All => "*".to_owned(),
        CustomerScope::Only(set) => {
            let mut ids: Vec<String> = set.iter().map(ToString::to_string).collect();
            ids.sort();
            ids.join(",")
        }
    }
}
