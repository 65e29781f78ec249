//! The operations callers see, shared by the REST and gRPC edges. Every operation takes the
//! [`Caller`](crate::auth::Caller) and checks it first (`auth::policy`), then talks to Partner
//! Center through [`PartnerCenter`]. Transport-specific parsing stays in `rest/` and `grpc/`.

pub mod agreements;
pub mod billing;
pub mod catalog;
pub mod commerce;
pub mod customers;
pub mod exports;
pub mod paging;
pub mod purchase_checks;
pub mod state;
pub mod subscriptions;
pub mod upgrades;
pub mod usage;

#[cfg(test)]
mod fixture_flows;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use futures::Stream;

use crate::{
    error::Result,
    model::{PageRequest, catalog::Segment},
    partner_center::{NextLink, PartnerCenterApi, UpstreamPage},
};

pub use catalog::CatalogCache;
use paging::{PageBinding, PageTokens};
use state::{IdempotencyStore, RecentOrders};

/// How the facade behaves; `app` translates the settings into these.
#[derive(Debug, Clone)]
pub struct FacadeOptions {
    pub default_page_size: u32,
    pub max_page_size: u32,
    pub azure_plan_product_id: String,
    pub azure_plan_sku_id: String,
    pub azure_plan_segment: Segment,
    /// How long a customer's facts that allow a purchase are remembered.
    pub purchase_checks_ttl: std::time::Duration,
}

pub struct Facade {
    pc: Arc<dyn PartnerCenterApi>,
    catalog: CatalogCache,
    pages: PageTokens,
    idempotency: Arc<dyn IdempotencyStore>,
    recent_orders: Arc<dyn RecentOrders>,
    checks: purchase_checks::PurchaseChecks,
    options: FacadeOptions,
    /// Billing exports (Microsoft Graph); `None` answers 501.
    exports: Option<Arc<exports::Exports>>,
    /// Billing period starts of invoices, for the v1/v2 line-item split (they never change).
    invoice_periods: moka::sync::Cache<(Arc<str>, String), time::Date>,
}

/// The facade's collaborators.
pub struct FacadeParts {
    pub pc: Arc<dyn PartnerCenterApi>,
    pub catalog: CatalogCache,
    pub pages: PageTokens,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub recent_orders: Arc<dyn RecentOrders>,
}

impl Facade {
    pub fn new(parts: FacadeParts, options: FacadeOptions) -> Self {
        let FacadeParts { pc, catalog, pages, idempotency, recent_orders } = parts;
        let checks = purchase_checks::PurchaseChecks::new(options.purchase_checks_ttl);
        Self {
            pc,
            catalog,
            pages,
            idempotency,
            recent_orders,
            checks,
            options,
            exports: None,
            invoice_periods: moka::sync::Cache::new(10_000),
        }
    }

    /// Serves billing exports through `exports`.
    pub fn with_exports(mut self, exports: exports::Exports) -> Self {
        self.exports = Some(Arc::new(exports));
        self
    }

    fn page_size(&self, page: &PageRequest) -> usize {
        page.size(self.options.default_page_size, self.options.max_page_size) as usize
    }
}

/// Page a list held in memory (cached catalog lists): the cursor is an offset.
fn page_in_memory<T: Clone>(
    tokens: &PageTokens,
    binding: &PageBinding,
    items: &[T],
    page: &PageRequest,
    size: usize,
) -> Result<crate::model::Page<T>> {
    let offset: usize = match &page.page_token {
        Some(token) => tokens.decode(binding, token)?,
        None => 0,
    };
    if offset > items.len() {
        return Err(page.page_token.as_ref().map_or_else(
            || crate::error::Error::internal("an offset without a page token"),
            |token| token.invalid("points past the end of the list; start again"),
        ));
    }
    let end = (offset + size).min(items.len());
    let next_page_token = if end < items.len() { Some(tokens.encode(binding, &end)?) } else { None };
    Ok(crate::model::Page { items: items[offset..end].to_vec(), next_page_token })
}

/// Every item of an upstream list, one page at a time: `fetch` is called for the next page only
/// when the consumer has taken the previous one, so a slow reader holds at most one page.
fn stream_pages<T, F, Fut>(mut fetch: F) -> impl Stream<Item = Result<T>> + Send + use<T, F, Fut>
where
    T: Send + 'static,
    F: FnMut(Option<NextLink>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<UpstreamPage<T>>> + Send,
{
    async_stream::try_stream! {
        let mut next = None;
        loop {
            let page = fetch(next.take()).await?;
            for item in page.items {
                yield item;
            }
            match page.next {
                Some(link) => next = Some(link),
                None => break,
            }
        }
    }
}
