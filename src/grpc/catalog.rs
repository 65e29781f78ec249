//! `CatalogService`.

use tonic::{Request, Response, Status};

use super::{
    convert, input,
    pb::{self, catalog_service_server::CatalogService},
    unary,
};
use crate::{
    edge::AppState,
    error::{Error, Result},
    facade::catalog::CatalogQuery,
    model::{
        AvailabilityId, Country, ProductId, SkuId,
        catalog::{Segment, TargetView},
    },
};

pub struct CatalogRpc {
    pub state: AppState,
}

fn country(value: &str) -> Result<Country> {
    if value.is_empty() {
        return Err(Error::invalid_field("country", "is required"));
    }
    Country::parse("country", value)
}

fn query(country_code: &str, segment: &str) -> Result<CatalogQuery> {
    Ok(CatalogQuery {
        country: country(country_code)?,
        segment: (!segment.is_empty()).then(|| Segment::parse("target_segment", segment)).transpose()?,
    })
}

#[tonic::async_trait]
impl CatalogService for CatalogRpc {
    async fn list_products(
        &self,
        request: Request<pb::ListProductsRequest>,
    ) -> Result<Response<pb::ListProductsResponse>, Status> {
        unary(&self.state, "CatalogService/ListProducts", request, async |ctx, caller, req| {
            let catalog = query(&req.country, &req.target_segment)?;
            if req.target_view.is_empty() {
                return Err(Error::invalid_field("target_view", "is required"));
            }
            let view = TargetView::parse("target_view", &req.target_view)?;
            let page = self
                .state
                .facade
                .list_products(&ctx, &caller, &catalog, view, &input::page(req.page_size, req.page_token)?)
                .await?;
            Ok(pb::ListProductsResponse {
                products: page.items.into_iter().map(convert::product).collect(),
                next_page_token: page.next_page_token.unwrap_or_default(),
            })
        })
        .await
    }

    async fn get_product(&self, request: Request<pb::GetProductRequest>) -> Result<Response<pb::Product>, Status> {
        unary(&self.state, "CatalogService/GetProduct", request, async |ctx, caller, req| {
            let product = ProductId::parse("product_id", &req.product_id)?;
            Ok(convert::product(self.state.facade.get_product(&ctx, &caller, &country(&req.country)?, &product).await?))
        })
        .await
    }

    async fn list_skus(&self, request: Request<pb::ListSkusRequest>) -> Result<Response<pb::ListSkusResponse>, Status> {
        unary(&self.state, "CatalogService/ListSkus", request, async |ctx, caller, req| {
            let product = ProductId::parse("product_id", &req.product_id)?;
            let catalog = query(&req.country, &req.target_segment)?;
            let page = self
                .state
                .facade
                .list_skus(&ctx, &caller, &catalog, &product, &input::page(req.page_size, req.page_token)?)
                .await?;
            Ok(pb::ListSkusResponse {
                skus: page.items.into_iter().map(convert::sku).collect(),
                next_page_token: page.next_page_token.unwrap_or_default(),
            })
        })
        .await
    }

    async fn get_sku(&self, request: Request<pb::GetSkuRequest>) -> Result<Response<pb::Sku>, Status> {
        unary(&self.state, "CatalogService/GetSku", request, async |ctx, caller, req| {
            let product = ProductId::parse("product_id", &req.product_id)?;
            let sku = SkuId::parse("sku_id", &req.sku_id)?;
            Ok(convert::sku(self.state.facade.get_sku(&ctx, &caller, &country(&req.country)?, &product, &sku).await?))
        })
        .await
    }

    async fn list_availabilities(
        &self,
        request: Request<pb::ListAvailabilitiesRequest>,
    ) -> Result<Response<pb::ListAvailabilitiesResponse>, Status> {
        unary(&self.state, "CatalogService/ListAvailabilities", request, async |ctx, caller, req| {
            let product = ProductId::parse("product_id", &req.product_id)?;
            let sku = SkuId::parse("sku_id", &req.sku_id)?;
            let catalog = query(&req.country, &req.target_segment)?;
            let page = self
                .state
                .facade
                .list_availabilities(
                    &ctx,
                    &caller,
                    &catalog,
                    &product,
                    &sku,
                    &input::page(req.page_size, req.page_token)?,
                )
                .await?;
            Ok(pb::ListAvailabilitiesResponse {
                availabilities: page.items.into_iter().map(convert::availability).collect(),
                next_page_token: page.next_page_token.unwrap_or_default(),
            })
        })
        .await
    }

    async fn get_availability(
        &self,
        request: Request<pb::GetAvailabilityRequest>,
    ) -> Result<Response<pb::Availability>, Status> {
        unary(&self.state, "CatalogService/GetAvailability", request, async |ctx, caller, req| {
            let product = ProductId::parse("product_id", &req.product_id)?;
            let sku = SkuId::parse("sku_id", &req.sku_id)?;
            let availability = AvailabilityId::parse("availability_id", &req.availability_id)?;
            Ok(convert::availability(
                self.state
                    .facade
                    .get_availability(&ctx, &caller, &country(&req.country)?, &product, &sku, &availability)
                    .await?,
            ))
        })
        .await
    }

    async fn get_azure_plan_catalog_item(
        &self,
        request: Request<pb::GetAzurePlanCatalogItemRequest>,
    ) -> Result<Response<pb::AzurePlanCatalogItem>, Status> {
        unary(&self.state, "CatalogService/GetAzurePlanCatalogItem", request, async |ctx, caller, req| {
            Ok(convert::azure_plan_catalog_item(
                self.state.facade.azure_plan_catalog_item(&ctx, &caller, &country(&req.country)?).await?,
            ))
        })
        .await
    }
}
