//! Transition to an Azure plan (U1–U3), app+user only.

use http::Method;

use super::{
    PartnerCenter, TokenFlow, UpstreamRequest,
    models::{
        malformed,
        upgrades::{WireEligibility, WireUpgradeRequest, WireUpgradeStatus},
    },
};
use crate::{
    auth::Authorized,
    context::RequestContext,
    error::Result,
    model::{
        CustomerId, UpgradeId,
        upgrade::{ProductUpgradeEligibility, ProductUpgradeStatus},
    },
};

fn body(customer: CustomerId, family: &str) -> WireUpgradeRequest {
    WireUpgradeRequest { customer_id: customer.to_string(), product_family: family.to_owned() }
}

impl PartnerCenter {
    /// U1 `POST /v1/productUpgrades/eligibility`.
    pub(super) async fn upgrade_eligibility(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
        family: &str,
    ) -> Result<ProductUpgradeEligibility> {
        let request = UpstreamRequest::new("upgrades.eligibility", Method::POST, "/v1/productUpgrades/eligibility")
            .flow(TokenFlow::AppUser)
            .json(&body(customer.customer(), family))?;
        let wire: WireEligibility = self.client().json(ctx, customer.partner(), &request).await?;
        Ok(wire.into_model(customer.customer()))
    }

    /// U2 `POST /v1/productupgrades` → 202 with the id in `Location: productUpgrades/{id}`.
    pub(super) async fn create_upgrade(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
        family: &str,
    ) -> Result<UpgradeId> {
        let request = UpstreamRequest::new("upgrades.create", Method::POST, "/v1/productupgrades")
            .flow(TokenFlow::AppUser)
            .json(&body(customer.customer(), family))?;
        let response = self.client().execute(ctx, customer.partner(), &request).await?;
        let location = response
            .headers
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| malformed("product upgrade answer without a Location header"))?;
        let id = location.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
        UpgradeId::parse("Location", id).map_err(|_| malformed(format!("product upgrade Location {location:?}")))
    }

    /// U3 `POST /v1/productUpgrades/{id}/status` (a POST, as documented).
    pub(super) async fn upgrade_status(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
        upgrade: UpgradeId,
        family: &str,
    ) -> Result<ProductUpgradeStatus> {
        let request =
            UpstreamRequest::new("upgrades.status", Method::POST, format!("/v1/productUpgrades/{upgrade}/status"))
                .flow(TokenFlow::AppUser)
                .json(&body(customer.customer(), family))?;
        let wire: WireUpgradeStatus = self.client().json(ctx, customer.partner(), &request).await?;
        wire.into_model(customer.customer())
    }
}
