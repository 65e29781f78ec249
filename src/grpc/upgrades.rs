//! `ProductUpgradeService`.

use tonic::{Request, Response, Status};

use super::{
    convert,
    pb::{self, product_upgrade_service_server::ProductUpgradeService},
    unary,
};
use crate::{
    edge::AppState,
    model::{CustomerId, UpgradeId, upgrade::parse_product_family},
};

pub struct ProductUpgradeRpc {
    pub state: AppState,
}

#[tonic::async_trait]
impl ProductUpgradeService for ProductUpgradeRpc {
    async fn check_product_upgrade_eligibility(
        &self,
        request: Request<pb::CheckProductUpgradeEligibilityRequest>,
    ) -> Result<Response<pb::ProductUpgradeEligibility>, Status> {
        unary(&self.state, "ProductUpgradeService/CheckProductUpgradeEligibility", request, async |ctx, caller, req| {
            let customer = CustomerId::parse("customer_id", &req.customer_id)?;
            let family = parse_product_family("product_family", &req.product_family)?;
            Ok(convert::eligibility(self.state.facade.upgrade_eligibility(&ctx, &caller, customer, family).await?))
        })
        .await
    }

    async fn create_product_upgrade(
        &self,
        request: Request<pb::CreateProductUpgradeRequest>,
    ) -> Result<Response<pb::ProductUpgrade>, Status> {
        unary(&self.state, "ProductUpgradeService/CreateProductUpgrade", request, async |ctx, caller, req| {
            let customer = CustomerId::parse("customer_id", &req.customer_id)?;
            let family = parse_product_family("product_family", &req.product_family)?;
            Ok(convert::upgrade(self.state.facade.create_upgrade(&ctx, &caller, customer, family).await?))
        })
        .await
    }

    async fn get_product_upgrade(
        &self,
        request: Request<pb::GetProductUpgradeRequest>,
    ) -> Result<Response<pb::ProductUpgradeStatus>, Status> {
        unary(&self.state, "ProductUpgradeService/GetProductUpgrade", request, async |ctx, caller, req| {
            let customer = CustomerId::parse("customer_id", &req.customer_id)?;
            let upgrade = UpgradeId::parse("upgrade_id", &req.upgrade_id)?;
            Ok(convert::upgrade_status(self.state.facade.upgrade_status(&ctx, &caller, customer, upgrade).await?))
        })
        .await
    }
}
