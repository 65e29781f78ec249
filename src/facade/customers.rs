//! Customers: the list is filtered to the caller's scope; a single customer needs it in scope.

use serde::{Deserialize, Serialize};
use tracing::instrument;

use super::Facade;
use crate::{
    auth::{Caller, CustomerScope, Permission},
    context::RequestContext,
    error::Result,
    model::{CustomerId, Page, PageRequest, customer::Customer},
    partner_center::NextLink,
};

/// Upstream page size while walking the customer list (stable, so a resume offset stays valid).
const UPSTREAM_CUSTOMER_PAGE: u32 = 100;
/// Most upstream pages one list call walks before it answers with what it has and a token.
const MAX_UPSTREAM_PAGES_PER_CALL: usize = 20;

/// Where the next page starts: the upstream page (`None` = the first) and how many of its items
/// were already handed out.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct CustomersCursor {
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    next: Option<NextLink>,
    #[serde(rename = "s", default)]
    skip: usize,
}

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
        let size = self.page_size(page);
        let binding = format!("customers.list|{}|{}", caller.partner(), scope_fingerprint(caller.customers()));
        let mut cursor: CustomersCursor = match &page.page_token {
            Some(token) => self.pages.decode(&binding, token)?,
            None => CustomersCursor::default(),
        };
        let mut items = Vec::with_capacity(size);
        for _ in 0..MAX_UPSTREAM_PAGES_PER_CALL {
            let upstream =
                self.pc.list_customers(ctx, caller.partner(), UPSTREAM_CUSTOMER_PAGE, cursor.next.as_ref()).await?;
            for (index, customer) in upstream.items.into_iter().enumerate().skip(cursor.skip) {
                if !caller.can_access(customer.id) {
                    continue;
                }
                items.push(customer);
                if items.len() == size {
                    // Full: resume right after this item (in this page, or at the next one).
                    let resume = CustomersCursor { next: cursor.next.clone(), skip: index + 1 };
                    return Ok(Page { items, next_page_token: Some(self.pages.encode(&binding, &resume)?) });
                }
            }
            match upstream.next {
                Some(next) => cursor = CustomersCursor { next: Some(next), skip: 0 },
                None => {
                    return Ok(Page { items, next_page_token: None });
                }
            }
        }
        // A sparse scope over a long list: answer now rather than keep the caller waiting.
        Ok(Page { items, next_page_token: Some(self.pages.encode(&binding, &cursor)?) })
    }

    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer))]
    pub async fn get_customer(&self, ctx: &RequestContext, caller: &Caller, customer: CustomerId) -> Result<Customer> {
        caller.ensure_customer(customer, Permission::CustomersRead)?;
        self.pc.get_customer(ctx, caller.partner(), customer).await
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
