//! The operations callers see, shared by the REST and gRPC edges. Every operation takes the
//! [`Caller`](crate::auth::Caller) and checks it first (`auth::policy`), then talks to Partner
//! Center through [`PartnerCenter`]. Transport-specific parsing stays in `rest/` and `grpc/`.

pub mod agreements;
pub mod billing;
pub mod catalog;
pub mod commerce;
pub mod customers;
pub mod paging;
pub mod state;
pub mod subscriptions;
pub mod upgrades;
pub mod usage;

use std::sync::Arc;

use crate::{
    config::Settings,
    error::{Error, Result},
    model::{Country, PageRequest, catalog::Segment},
    partner_center::PartnerCenter,
};

pub use catalog::CatalogCache;
use paging::PageTokens;
use state::{IdempotencyStore, RecentOrders};

/// What the facade needs from the settings, resolved once.
#[derive(Debug, Clone)]
pub struct FacadeSettings {
    pub default_page_size: u32,
    pub max_page_size: u32,
    pub default_country: Country,
    pub azure_plan_product_id: String,
    pub azure_plan_sku_id: String,
    pub azure_plan_segment: Segment,
}

impl FacadeSettings {
    pub fn from_settings(settings: &Settings) -> Result<Self> {
        Ok(Self {
            default_page_size: settings.paging.default_page_size,
            max_page_size: settings.paging.max_page_size,
            default_country: Country::parse("catalog.default_country", &settings.catalog.default_country)?,
            azure_plan_product_id: settings.catalog.azure_plan_product_id.clone(),
            azure_plan_sku_id: settings.catalog.azure_plan_sku_id.clone(),
            azure_plan_segment: Segment::parse("catalog.azure_plan_segment", &settings.catalog.azure_plan_segment)?,
        })
    }
}

pub struct Facade {
    pc: Arc<PartnerCenter>,
    catalog: CatalogCache,
    pages: PageTokens,
    idempotency: Arc<dyn IdempotencyStore>,
    recent_orders: Arc<dyn RecentOrders>,
    settings: FacadeSettings,
}

/// The facade's collaborators.
pub struct FacadeParts {
    pub pc: Arc<PartnerCenter>,
    pub catalog: CatalogCache,
    pub pages: PageTokens,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub recent_orders: Arc<dyn RecentOrders>,
}

impl Facade {
    pub fn new(parts: FacadeParts, settings: FacadeSettings) -> Self {
        let FacadeParts { pc, catalog, pages, idempotency, recent_orders } = parts;
        Self { pc, catalog, pages, idempotency, recent_orders, settings }
    }

    pub fn partner_center(&self) -> &Arc<PartnerCenter> {
        &self.pc
    }

    fn page_size(&self, page: &PageRequest) -> usize {
        page.size(self.settings.default_page_size, self.settings.max_page_size) as usize
    }
}

/// Page a list held in memory (cached catalog lists): the cursor is an offset.
fn page_in_memory<T: Clone>(
    tokens: &PageTokens,
    binding: &str,
    items: &[T],
    page: &PageRequest,
    size: usize,
) -> Result<crate::model::Page<T>> {
    let offset: usize = match &page.page_token {
        Some(token) => tokens.decode(binding, token)?,
        None => 0,
    };
    if offset > items.len() {
        return Err(Error::invalid_field("pageToken", "points past the end of the list; start again"));
    }
    let end = (offset + size).min(items.len());
    let next_page_token = if end < items.len() { Some(tokens.encode(binding, &end)?) } else { None };
    Ok(crate::model::Page { items: items[offset..end].to_vec(), next_page_token })
}
