//! Transition of a Microsoft Azure (MS-AZR-0145P) customer to an Azure plan.

use tracing::instrument;

use super::Facade;
use crate::{
    auth::{Caller, Permission},
    context::RequestContext,
    error::Result,
    model::{
        CustomerId, UpgradeId,
        upgrade::{AZURE_FAMILY, ProductUpgrade, ProductUpgradeEligibility, ProductUpgradeStatus},
    },
};

impl Facade {
    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer))]
    pub async fn upgrade_eligibility(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
        family: &str,
    ) -> Result<ProductUpgradeEligibility> {
        let customer = caller.ensure_customer(customer, Permission::SubscriptionsRead)?;
        self.pc.upgrade_eligibility(ctx, &customer, family).await
    }

    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer))]
    pub async fn create_upgrade(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
        family: &str,
    ) -> Result<ProductUpgrade> {
        let customer = caller.ensure_customer(customer, Permission::SubscriptionsWrite)?;
        let id = self.pc.create_upgrade(ctx, &customer, family).await?;
        Ok(ProductUpgrade { id, customer_id: customer.customer(), product_family: family.to_owned() })
    }

    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer, upgrade = %upgrade))]
    pub async fn upgrade_status(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
        upgrade: UpgradeId,
    ) -> Result<ProductUpgradeStatus> {
        let customer = caller.ensure_customer(customer, Permission::SubscriptionsRead)?;
        self.pc.upgrade_status(ctx, &customer, upgrade, AZURE_FAMILY).await
    }
}
