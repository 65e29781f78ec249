//! Catalog reads, cached with a TTL (the catalog changes rarely; Partner Center is slow and
//! throttled). Concurrent misses for one key make one upstream call; failures are not cached.

use std::{sync::Arc, time::Duration};

use moka::future::Cache;
use tracing::instrument;

use super::{Facade, page_in_memory};
use crate::{
    auth::{Caller, Permission},
    context::RequestContext,
    error::{Error, Result},
    model::{
        AvailabilityId, Country, Page, PageRequest, ProductId, SkuId,
        catalog::{Availability, AzurePlanCatalogItem, Product, Segment, Sku, TargetView},
    },
};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum CatalogKey {
    Products { partner: Arc<str>, country: Country, view: TargetView, segment: Option<Segment> },
    Product { partner: Arc<str>, country: Country, product: ProductId },
    Skus { partner: Arc<str>, country: Country, product: ProductId, segment: Option<Segment> },
    Sku { partner: Arc<str>, country: Country, product: ProductId, sku: SkuId },
    Availabilities { partner: Arc<str>, country: Country, product: ProductId, sku: SkuId, segment: Option<Segment> },
    Availability { partner: Arc<str>, country: Country, product: ProductId, sku: SkuId, availability: AvailabilityId },
    AzurePlan { partner: Arc<str>, country: Country },
}

#[derive(Clone)]
enum CatalogValue {
    Products(Arc<Vec<Product>>),
    Product(Arc<Product>),
    Skus(Arc<Vec<Sku>>),
    Sku(Arc<Sku>),
    Availabilities(Arc<Vec<Availability>>),
    Availability(Arc<Availability>),
    AzurePlan(Arc<AzurePlanCatalogItem>),
}

pub struct CatalogCache {
    /// `None`: caching is off (`catalog.cache_ttl = "0s"` or `catalog.cache_capacity = 0`).
    entries: Option<Cache<CatalogKey, CatalogValue>>,
}

impl CatalogCache {
    pub fn new(ttl: Duration, capacity: u64) -> Self {
        let enabled = !ttl.is_zero() && capacity > 0;
        Self { entries: enabled.then(|| Cache::builder().time_to_live(ttl).max_capacity(capacity).build()) }
    }

    async fn get_or_fetch<F>(&self, key: CatalogKey, fetch: F) -> Result<CatalogValue>
    where
        F: Future<Output = Result<CatalogValue>>,
    {
        let Some(entries) = &self.entries else { return fetch.await };
        let kind = key.kind();
        if let Some(value) = entries.get(&key).await {
            metrics::counter!("gateway_catalog_cache_total", "entry" => kind, "outcome" => "hit").increment(1);
            return Ok(value);
        }
        metrics::counter!("gateway_catalog_cache_total", "entry" => kind, "outcome" => "miss").increment(1);
        entries.try_get_with(key, fetch).await.map_err(|shared: Arc<Error>| (*shared).clone())
    }
}

impl CatalogKey {
    fn kind(&self) -> &'static str {
        match self {
            Self::Products { .. } => "products",
            Self::Product { .. } => "product",
            Self::Skus { .. } => "skus",
            Self::Sku { .. } => "sku",
            Self::Availabilities { .. } => "availabilities",
            Self::Availability { .. } => "availability",
            Self::AzurePlan { .. } => "azure_plan",
        }
    }
}

/// The arguments of a catalog list, parsed by either edge.
#[derive(Debug, Clone)]
pub struct CatalogQuery {
    pub country: Country,
    pub segment: Option<Segment>,
}

fn unexpected() -> Error {
    Error::internal("catalog cache holds an entry of the wrong kind")
}

impl Facade {
    async fn products(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        country: &Country,
        view: TargetView,
        segment: Option<Segment>,
    ) -> Result<Arc<Vec<Product>>> {
        let partner: Arc<str> = Arc::from(caller.partner());
        let key = CatalogKey::Products { partner: partner.clone(), country: country.clone(), view, segment };
        match self
            .catalog
            .get_or_fetch(key, async {
                Ok(CatalogValue::Products(Arc::new(
                    self.pc.list_products(ctx, &partner, country, view, segment).await?,
                )))
            })
            .await?
        {
            CatalogValue::Products(products) => Ok(products),
            _ => Err(unexpected()),
        }
    }

    async fn skus(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        query: &CatalogQuery,
        product: &ProductId,
    ) -> Result<Arc<Vec<Sku>>> {
        let partner: Arc<str> = Arc::from(caller.partner());
        let key = CatalogKey::Skus {
            partner: partner.clone(),
            country: query.country.clone(),
            product: product.clone(),
            segment: query.segment,
        };
        match self
            .catalog
            .get_or_fetch(key, async {
                Ok(CatalogValue::Skus(Arc::new(
                    self.pc.list_skus(ctx, &partner, &query.country, product.as_str(), query.segment).await?,
                )))
            })
            .await?
        {
            CatalogValue::Skus(skus) => Ok(skus),
            _ => Err(unexpected()),
        }
    }

    async fn availabilities(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        query: &CatalogQuery,
        product: &ProductId,
        sku: &SkuId,
    ) -> Result<Arc<Vec<Availability>>> {
        let partner: Arc<str> = Arc::from(caller.partner());
        let key = CatalogKey::Availabilities {
            partner: partner.clone(),
            country: query.country.clone(),
            product: product.clone(),
            sku: sku.clone(),
            segment: query.segment,
        };
        match self
            .catalog
            .get_or_fetch(key, async {
                Ok(CatalogValue::Availabilities(Arc::new(
                    self.pc
                        .list_availabilities(
                            ctx,
                            &partner,
                            &query.country,
                            product.as_str(),
                            sku.as_str(),
                            query.segment,
                        )
                        .await?,
                )))
            })
            .await?
        {
            CatalogValue::Availabilities(list) => Ok(list),
            _ => Err(unexpected()),
        }
    }

    #[instrument(skip_all, fields(partner = caller.partner()))]
    pub async fn list_products(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        query: &CatalogQuery,
        view: TargetView,
        page: &PageRequest,
    ) -> Result<Page<Product>> {
        caller.ensure_permission(Permission::CatalogRead)?;
        let products = self.products(ctx, caller, &query.country, view, query.segment).await?;
        let binding = format!("products|{}|{}|{}|{:?}", caller.partner(), query.country, view.as_str(), query.segment);
        page_in_memory(&self.pages, &binding, &products, page, self.page_size(page))
    }

    #[instrument(skip_all, fields(partner = caller.partner(), product = %product))]
    pub async fn get_product(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        country: &Country,
        product: &ProductId,
    ) -> Result<Product> {
        caller.ensure_permission(Permission::CatalogRead)?;
        let partner: Arc<str> = Arc::from(caller.partner());
        let key = CatalogKey::Product { partner: partner.clone(), country: country.clone(), product: product.clone() };
        match self
            .catalog
            .get_or_fetch(key, async {
                Ok(CatalogValue::Product(Arc::new(
                    self.pc.get_product(ctx, &partner, country, product.as_str()).await?,
                )))
            })
            .await?
        {
            CatalogValue::Product(p) => Ok((*p).clone()),
            _ => Err(unexpected()),
        }
    }

    #[instrument(skip_all, fields(partner = caller.partner(), product = %product))]
    pub async fn list_skus(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        query: &CatalogQuery,
        product: &ProductId,
        page: &PageRequest,
    ) -> Result<Page<Sku>> {
        caller.ensure_permission(Permission::CatalogRead)?;
        let skus = self.skus(ctx, caller, query, product).await?;
        let binding = format!("skus|{}|{}|{product}|{:?}", caller.partner(), query.country, query.segment);
        page_in_memory(&self.pages, &binding, &skus, page, self.page_size(page))
    }

    #[instrument(skip_all, fields(partner = caller.partner(), product = %product, sku = %sku))]
    pub async fn get_sku(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        country: &Country,
        product: &ProductId,
        sku: &SkuId,
    ) -> Result<Sku> {
        caller.ensure_permission(Permission::CatalogRead)?;
        let partner: Arc<str> = Arc::from(caller.partner());
        let key = CatalogKey::Sku {
            partner: partner.clone(),
            country: country.clone(),
            product: product.clone(),
            sku: sku.clone(),
        };
        match self
            .catalog
            .get_or_fetch(key, async {
                Ok(CatalogValue::Sku(Arc::new(
                    self.pc.get_sku(ctx, &partner, country, product.as_str(), sku.as_str()).await?,
                )))
            })
            .await?
        {
            CatalogValue::Sku(s) => Ok((*s).clone()),
            _ => Err(unexpected()),
        }
    }

    #[instrument(skip_all, fields(partner = caller.partner(), product = %product, sku = %sku))]
    pub async fn list_availabilities(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        query: &CatalogQuery,
        product: &ProductId,
        sku: &SkuId,
        page: &PageRequest,
    ) -> Result<Page<Availability>> {
        caller.ensure_permission(Permission::CatalogRead)?;
        let list = self.availabilities(ctx, caller, query, product, sku).await?;
        let binding =
            format!("availabilities|{}|{}|{product}|{sku}|{:?}", caller.partner(), query.country, query.segment);
        page_in_memory(&self.pages, &binding, &list, page, self.page_size(page))
    }

    #[instrument(skip_all, fields(partner = caller.partner(), product = %product, sku = %sku, availability = %availability))]
    pub async fn get_availability(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        country: &Country,
        product: &ProductId,
        sku: &SkuId,
        availability: &AvailabilityId,
    ) -> Result<Availability> {
        caller.ensure_permission(Permission::CatalogRead)?;
        let partner: Arc<str> = Arc::from(caller.partner());
        let key = CatalogKey::Availability {
            partner: partner.clone(),
            country: country.clone(),
            product: product.clone(),
            sku: sku.clone(),
            availability: availability.clone(),
        };
        match self
            .catalog
            .get_or_fetch(key, async {
                Ok(CatalogValue::Availability(Arc::new(
                    self.pc
                        .get_availability(ctx, &partner, country, product.as_str(), sku.as_str(), availability.as_str())
                        .await?,
                )))
            })
            .await?
        {
            CatalogValue::Availability(a) => Ok((*a).clone()),
            _ => Err(unexpected()),
        }
    }

    /// The Azure plan product, SKU and purchasable availability for `country` (C1, C3, C5),
    /// cached as a whole so a warm purchase needs no catalog call at all.
    #[instrument(skip_all, fields(partner = caller.partner(), country = %country))]
    pub async fn azure_plan_catalog_item(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        country: &Country,
    ) -> Result<AzurePlanCatalogItem> {
        caller.ensure_permission(Permission::CatalogRead)?;
        self.resolve_azure_plan(ctx, caller, country).await
    }

    /// Same as [`Self::azure_plan_catalog_item`] without the permission check: the purchase
    /// operation authorizes with `orders.write` on its own.
    pub(crate) async fn resolve_azure_plan(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        country: &Country,
    ) -> Result<AzurePlanCatalogItem> {
        let key = CatalogKey::AzurePlan { partner: Arc::from(caller.partner()), country: country.clone() };
        match self
            .catalog
            .get_or_fetch(key, async {
                Ok(CatalogValue::AzurePlan(Arc::new(self.find_azure_plan(ctx, caller, country).await?)))
            })
            .await?
        {
            CatalogValue::AzurePlan(item) => Ok((*item).clone()),
            _ => Err(unexpected()),
        }
    }

    async fn find_azure_plan(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        country: &Country,
    ) -> Result<AzurePlanCatalogItem> {
        let settings = &self.settings;
        let not_found = |what: String| Error::not_found(what).with_reason("AZURE_PLAN_NOT_IN_CATALOG");
        let products = self.products(ctx, caller, country, TargetView::MicrosoftAzure, None).await?;
        let product =
            products.iter().find(|p| p.id.eq_ignore_ascii_case(&settings.azure_plan_product_id)).cloned().ok_or_else(
                || {
                    not_found(format!(
                        "the Azure plan product {} is not in the {country} catalog",
                        settings.azure_plan_product_id
                    ))
                },
            )?;
        let product_id = ProductId::parse("catalog.azure_plan_product_id", &product.id)?;
        let query = CatalogQuery { country: country.clone(), segment: Some(settings.azure_plan_segment) };
        let skus = self.skus(ctx, caller, &query, &product_id).await?;
        let sku =
            skus.iter().find(|s| s.id.eq_ignore_ascii_case(&settings.azure_plan_sku_id)).cloned().ok_or_else(|| {
                not_found(format!("the Azure plan SKU {} is not in the {country} catalog", settings.azure_plan_sku_id))
            })?;
        let sku_id = SkuId::parse("catalog.azure_plan_sku_id", &sku.id)?;
        let availabilities = self.availabilities(ctx, caller, &query, &product_id, &sku_id).await?;
        let availability = availabilities
            .iter()
            .find(|a| {
                a.is_purchasable
                    && a.segment.eq_ignore_ascii_case(settings.azure_plan_segment.as_str())
                    && !a.catalog_item_id.is_empty()
            })
            .cloned()
            .ok_or_else(|| not_found(format!("no purchasable Azure plan availability in {country}")))?;
        Ok(AzurePlanCatalogItem { catalog_item_id: availability.catalog_item_id.clone(), product, sku, availability })
    }
}
