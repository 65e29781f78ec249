//! Catalog reads, cached with a TTL (the catalog changes rarely; Partner Center is slow and
//! throttled). Concurrent misses for one key make one upstream call; failures are not cached.

use std::{sync::Arc, time::Duration};

use moka::future::Cache;
use tracing::instrument;

use super::{Facade, page_in_memory, paging::PageBinding};
use crate::{
    auth::{Authorized, Caller, Partner, Permission},
    context::RequestContext,
    error::{Error, Reason, Result},
    model::{
        AvailabilityId, Country, Page, PageRequest, ProductId, SkuId,
        catalog::{Availability, AzurePlanCatalogItem, Product, Segment, Sku, TargetView},
    },
};

/// Whose catalog, in which language: entries are never shared across partners, and Partner
/// Center localizes names and descriptions by `X-Locale`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Audience {
    partner: Arc<str>,
    locale: Option<Arc<str>>,
    country: Country,
}

/// One kind of catalog entry, cached by its own key type.
struct TypedCache<K, V> {
    kind: &'static str,
    entries: Option<Cache<K, Arc<V>>>,
}

impl<K, V> TypedCache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    fn new(kind: &'static str, ttl: Duration, capacity: u64) -> Self {
        let enabled = !ttl.is_zero() && capacity > 0;
        Self { kind, entries: enabled.then(|| Cache::builder().time_to_live(ttl).max_capacity(capacity).build()) }
    }

    /// The cached entry, or `fetch`'s (one fetch for concurrent misses; failures are not kept).
    async fn get_or_fetch(&self, key: K, fetch: impl Future<Output = Result<V>>) -> Result<Arc<V>> {
        let Some(entries) = &self.entries else { return fetch.await.map(Arc::new) };
        if let Some(value) = entries.get(&key).await {
            metrics::counter!("gateway_catalog_cache_total", "entry" => self.kind, "outcome" => "hit").increment(1);
            return Ok(value);
        }
        metrics::counter!("gateway_catalog_cache_total", "entry" => self.kind, "outcome" => "miss").increment(1);
        entries
            .try_get_with(key, async { fetch.await.map(Arc::new) })
            .await
            .map_err(|shared: Arc<Error>| (*shared).clone())
    }
}

/// Catalog reads, one typed cache per kind of entry.
pub struct CatalogCache {
    products: TypedCache<(Audience, TargetView, Option<Segment>), Vec<Product>>,
    product: TypedCache<(Audience, ProductId), Product>,
    skus: TypedCache<(Audience, ProductId, Option<Segment>), Vec<Sku>>,
    sku: TypedCache<(Audience, ProductId, SkuId), Sku>,
    availabilities: TypedCache<(Audience, ProductId, SkuId, Option<Segment>), Vec<Availability>>,
    availability: TypedCache<(Audience, ProductId, SkuId, AvailabilityId), Availability>,
    azure_plan: TypedCache<Audience, AzurePlanCatalogItem>,
}

impl CatalogCache {
    /// `ttl` zero or `capacity` zero turns caching off. `capacity` bounds each kind of entry.
    pub fn new(ttl: Duration, capacity: u64) -> Self {
        Self {
            products: TypedCache::new("products", ttl, capacity),
            product: TypedCache::new("product", ttl, capacity),
            skus: TypedCache::new("skus", ttl, capacity),
            sku: TypedCache::new("sku", ttl, capacity),
            availabilities: TypedCache::new("availabilities", ttl, capacity),
            availability: TypedCache::new("availability", ttl, capacity),
            azure_plan: TypedCache::new("azure_plan", ttl, capacity),
        }
    }
}

/// The arguments of a catalog list, parsed by either edge.
#[derive(Debug, Clone)]
pub struct CatalogQuery {
    pub country: Country,
    pub segment: Option<Segment>,
}

fn audience(ctx: &RequestContext, partner: &Authorized<Partner>, country: &Country) -> Audience {
    Audience {
        partner: Arc::from(partner.partner()),
        locale: ctx.locale.as_deref().map(Arc::from),
        country: country.clone(),
    }
}

impl Facade {
    async fn products(
        &self,
        ctx: &RequestContext,
        partner: &Authorized<Partner>,
        country: &Country,
        view: TargetView,
        segment: Option<Segment>,
    ) -> Result<Arc<Vec<Product>>> {
        let key = (audience(ctx, partner, country), view, segment);
        self.catalog.products.get_or_fetch(key, self.pc.list_products(ctx, partner, country, view, segment)).await
    }

    async fn skus(
        &self,
        ctx: &RequestContext,
        partner: &Authorized<Partner>,
        query: &CatalogQuery,
        product: &ProductId,
    ) -> Result<Arc<Vec<Sku>>> {
        let key = (audience(ctx, partner, &query.country), product.clone(), query.segment);
        let fetch = self.pc.list_skus(ctx, partner, &query.country, product.as_str(), query.segment);
        self.catalog.skus.get_or_fetch(key, fetch).await
    }

    async fn availabilities(
        &self,
        ctx: &RequestContext,
        partner: &Authorized<Partner>,
        query: &CatalogQuery,
        product: &ProductId,
        sku: &SkuId,
    ) -> Result<Arc<Vec<Availability>>> {
        let key = (audience(ctx, partner, &query.country), product.clone(), sku.clone(), query.segment);
        let fetch =
            self.pc.list_availabilities(ctx, partner, &query.country, product.as_str(), sku.as_str(), query.segment);
        self.catalog.availabilities.get_or_fetch(key, fetch).await
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
        let partner = caller.ensure_permission(Permission::CatalogRead)?;
        let products = self.products(ctx, &partner, &query.country, view, query.segment).await?;
        let binding = self.catalog_binding("catalog.products", &partner, ctx, query).with(view.as_str());
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
        let partner = caller.ensure_permission(Permission::CatalogRead)?;
        let key = (audience(ctx, &partner, country), product.clone());
        let fetch = self.pc.get_product(ctx, &partner, country, product.as_str());
        Ok((*self.catalog.product.get_or_fetch(key, fetch).await?).clone())
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
        let partner = caller.ensure_permission(Permission::CatalogRead)?;
        let skus = self.skus(ctx, &partner, query, product).await?;
        let binding = self.catalog_binding("catalog.skus", &partner, ctx, query).with(product);
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
        let partner = caller.ensure_permission(Permission::CatalogRead)?;
        let key = (audience(ctx, &partner, country), product.clone(), sku.clone());
        let fetch = self.pc.get_sku(ctx, &partner, country, product.as_str(), sku.as_str());
        Ok((*self.catalog.sku.get_or_fetch(key, fetch).await?).clone())
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
        let partner = caller.ensure_permission(Permission::CatalogRead)?;
        let list = self.availabilities(ctx, &partner, query, product, sku).await?;
        let binding = self.catalog_binding("catalog.availabilities", &partner, ctx, query).with(product).with(sku);
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
        let partner = caller.ensure_permission(Permission::CatalogRead)?;
        let key = (audience(ctx, &partner, country), product.clone(), sku.clone(), availability.clone());
        let fetch =
            self.pc.get_availability(ctx, &partner, country, product.as_str(), sku.as_str(), availability.as_str());
        Ok((*self.catalog.availability.get_or_fetch(key, fetch).await?).clone())
    }

    /// A page token of a cached catalog list is bound to the list's every argument.
    fn catalog_binding(
        &self,
        operation: &'static str,
        partner: &Authorized<Partner>,
        ctx: &RequestContext,
        query: &CatalogQuery,
    ) -> PageBinding {
        PageBinding::new(operation, partner.partner())
            .with(ctx.locale.as_deref().unwrap_or(""))
            .with(&query.country)
            .with(query.segment.map_or("", Segment::as_str))
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
        let partner = caller.ensure_permission(Permission::CatalogRead)?;
        self.resolve_azure_plan(ctx, &partner, country).await
    }

    /// Same as [`Self::azure_plan_catalog_item`] for a caller authorized otherwise (the purchase
    /// authorizes with `orders.write`).
    pub(crate) async fn resolve_azure_plan(
        &self,
        ctx: &RequestContext,
        partner: &Authorized<Partner>,
        country: &Country,
    ) -> Result<AzurePlanCatalogItem> {
        let key = audience(ctx, partner, country);
        Ok((*self.catalog.azure_plan.get_or_fetch(key, self.find_azure_plan(ctx, partner, country)).await?).clone())
    }

    async fn find_azure_plan(
        &self,
        ctx: &RequestContext,
        partner: &Authorized<Partner>,
        country: &Country,
    ) -> Result<AzurePlanCatalogItem> {
        let options = &self.options;
        let not_found = |what: String| Error::not_found(what).with_reason(Reason::AzurePlanNotInCatalog);
        let products = self.products(ctx, partner, country, TargetView::MicrosoftAzure, None).await?;
        let product =
            products.iter().find(|p| p.id.eq_ignore_ascii_case(&options.azure_plan_product_id)).cloned().ok_or_else(
                || {
                    not_found(format!(
                        "the Azure plan product {} is not in the {country} catalog",
                        options.azure_plan_product_id
                    ))
                },
            )?;
        let product_id = ProductId::parse("catalog.azure_plan_product_id", &product.id)?;
        let query = CatalogQuery { country: country.clone(), segment: Some(options.azure_plan_segment) };
        let skus = self.skus(ctx, partner, &query, &product_id).await?;
        let sku =
            skus.iter().find(|s| s.id.eq_ignore_ascii_case(&options.azure_plan_sku_id)).cloned().ok_or_else(|| {
                not_found(format!("the Azure plan SKU {} is not in the {country} catalog", options.azure_plan_sku_id))
            })?;
        let sku_id = SkuId::parse("catalog.azure_plan_sku_id", &sku.id)?;
        let availabilities = self.availabilities(ctx, partner, &query, &product_id, &sku_id).await?;
        let availability = availabilities
            .iter()
            .find(|a| {
                a.is_purchasable
                    && a.segment.eq_ignore_ascii_case(options.azure_plan_segment.as_str())
                    && !a.catalog_item_id.is_empty()
            })
            .cloned()
            .ok_or_else(|| not_found(format!("no purchasable Azure plan availability in {country}")))?;
        Ok(AzurePlanCatalogItem { catalog_item_id: availability.catalog_item_id.clone(), product, sku, availability })
    }
}
