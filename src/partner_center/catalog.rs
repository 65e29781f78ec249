//! The catalog (C1–C6). Lists are followed to their end: the facade caches and pages them itself.

use serde::de::DeserializeOwned;

use super::{
    PartnerCenter, UpstreamRequest,
    models::catalog::{WireAvailability, WireProduct, WireSku},
};
use crate::{
    auth::{Authorized, Partner},
    context::RequestContext,
    error::{Error, Result},
    model::{
        Country,
        catalog::{Availability, Product, Segment, Sku, TargetView},
    },
};

/// A catalog list longer than this is cut short with an error rather than silently.
const MAX_CATALOG_PAGES: usize = 50;

impl PartnerCenter {
    /// C1 `GET /v1/products?country=&targetView=&targetSegment=`.
    pub(super) async fn list_products(
        &self,
        ctx: &RequestContext,
        partner: &Authorized<Partner>,
        country: &Country,
        view: TargetView,
        segment: Option<Segment>,
    ) -> Result<Vec<Product>> {
        let request = UpstreamRequest::get("catalog.products.list", "/v1/products")
            .query("country", country.as_str())
            .query("targetView", view.as_str())
            .query_opt("targetSegment", segment.map(Segment::as_str));
        let items: Vec<WireProduct> = self.collect_all(ctx, partner, request).await?;
        Ok(items.into_iter().map(Into::into).collect())
    }

    /// C2 `GET /v1/products/{product-id}?country=`.
    pub(super) async fn get_product(
        &self,
        ctx: &RequestContext,
        partner: &Authorized<Partner>,
        country: &Country,
        product: &str,
    ) -> Result<Product> {
        let request = UpstreamRequest::get("catalog.products.get", format!("/v1/products/{product}"))
            .query("country", country.as_str());
        let wire: WireProduct = self.client().json(ctx, partner.partner(), &request).await?;
        Ok(wire.into())
    }

    /// C3 `GET /v1/products/{product-id}/skus?country=&targetSegment=`.
    pub(super) async fn list_skus(
        &self,
        ctx: &RequestContext,
        partner: &Authorized<Partner>,
        country: &Country,
        product: &str,
        segment: Option<Segment>,
    ) -> Result<Vec<Sku>> {
        let request = UpstreamRequest::get("catalog.skus.list", format!("/v1/products/{product}/skus"))
            .query("country", country.as_str())
            .query_opt("targetSegment", segment.map(Segment::as_str));
        let items: Vec<WireSku> = self.collect_all(ctx, partner, request).await?;
        Ok(items.into_iter().map(Into::into).collect())
    }

    /// C4 `GET /v1/products/{product-id}/skus/{sku-id}?country=`.
    pub(super) async fn get_sku(
        &self,
        ctx: &RequestContext,
        partner: &Authorized<Partner>,
        country: &Country,
        product: &str,
        sku: &str,
    ) -> Result<Sku> {
        let request = UpstreamRequest::get("catalog.skus.get", format!("/v1/products/{product}/skus/{sku}"))
            .query("country", country.as_str());
        let wire: WireSku = self.client().json(ctx, partner.partner(), &request).await?;
        Ok(wire.into())
    }

    /// C5 `GET /v1/products/{product-id}/skus/{sku-id}/availabilities?country=&targetSegment=`.
    pub(super) async fn list_availabilities(
        &self,
        ctx: &RequestContext,
        partner: &Authorized<Partner>,
        country: &Country,
        product: &str,
        sku: &str,
        segment: Option<Segment>,
    ) -> Result<Vec<Availability>> {
        let request = UpstreamRequest::get(
            "catalog.availabilities.list",
            format!("/v1/products/{product}/skus/{sku}/availabilities"),
        )
        .query("country", country.as_str())
        .query_opt("targetSegment", segment.map(Segment::as_str));
        let items: Vec<WireAvailability> = self.collect_all(ctx, partner, request).await?;
        Ok(items.into_iter().map(Into::into).collect())
    }

    /// C6 `GET /v1/products/{product-id}/skus/{sku-id}/availabilities/{availability-id}?country=`.
    pub(super) async fn get_availability(
        &self,
        ctx: &RequestContext,
        partner: &Authorized<Partner>,
        country: &Country,
        product: &str,
        sku: &str,
        availability: &str,
    ) -> Result<Availability> {
        let request = UpstreamRequest::get(
            "catalog.availabilities.get",
            format!("/v1/products/{product}/skus/{sku}/availabilities/{availability}"),
        )
        .query("country", country.as_str());
        let wire: WireAvailability = self.client().json(ctx, partner.partner(), &request).await?;
        Ok(wire.into())
    }

    /// Every item of a list, following `links.next` (the docs don't say catalog lists page; if
    /// they do, nothing is dropped).
    async fn collect_all<W: DeserializeOwned>(
        &self,
        ctx: &RequestContext,
        partner: &Authorized<Partner>,
        first: UpstreamRequest,
    ) -> Result<Vec<W>> {
        let operation = first.operation;
        let mut items = Vec::new();
        let mut next = None;
        for _ in 0..MAX_CATALOG_PAGES {
            let page = self.page(ctx, partner.partner(), first.clone(), next, Ok::<W, Error>).await?;
            items.extend(page.items);
            match page.next {
                Some(link) => next = Some(link),
                None => return Ok(items),
            }
        }
        Err(Error::new(
            crate::error::ErrorKind::UpstreamUnavailable,
            "Partner Center returned more catalog pages than expected",
        )
        .with_source(format!("{operation}: more than {MAX_CATALOG_PAGES} pages")))
    }
}
