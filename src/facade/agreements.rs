//! The Microsoft Customer Agreement: metadata, confirmations, and confirming acceptance.

use time::OffsetDateTime;
use tracing::instrument;

use super::Facade;
use crate::{
    auth::{Authorized, Caller, Permission},
    context::RequestContext,
    error::{Error, ErrorKind, Result},
    model::{
        CustomerId, Parsed,
        agreement::{Agreement, AgreementConfirmation, AgreementMetadata, MICROSOFT_CUSTOMER_AGREEMENT},
    },
};

impl Facade {
    #[instrument(skip_all, fields(partner = caller.partner()))]
    pub async fn agreement_metadata(&self, ctx: &RequestContext, caller: &Caller) -> Result<Vec<AgreementMetadata>> {
        let partner = caller.ensure_permission(Permission::CustomersRead)?;
        self.pc.agreement_metadata(ctx, &partner).await
    }

    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer))]
    pub async fn list_agreements(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
    ) -> Result<Vec<Agreement>> {
        let customer = caller.ensure_customer(customer, Permission::CustomersRead)?;
        self.pc.list_agreements(ctx, &customer).await
    }

    /// Records the customer's acceptance. A second identical confirmation is Partner Center's
    /// 600061, surfaced as 409 / ALREADY_EXISTS.
    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer))]
    pub async fn confirm_agreement(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
        confirmation: Parsed<AgreementConfirmation>,
    ) -> Result<Agreement> {
        let customer = caller.ensure_customer(customer, Permission::CustomersWrite)?;
        let confirmation = confirmation?;
        let template_id = match &confirmation.template_id {
            Some(template) => template.clone(),
            None => self.customer_agreement_template(ctx, &customer).await?,
        };
        let date_agreed = confirmation.date_agreed.unwrap_or_else(OffsetDateTime::now_utc);
        self.pc.confirm_agreement(ctx, &customer, &confirmation.primary_contact, &template_id, date_agreed).await
    }

    async fn customer_agreement_template(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
    ) -> Result<String> {
        let metadata = self.pc.agreement_metadata(ctx, &customer.partner_level()).await?;
        metadata
            .into_iter()
            .filter(|m| m.agreement_type.eq_ignore_ascii_case(MICROSOFT_CUSTOMER_AGREEMENT))
            .max_by_key(|m| m.version_rank)
            .map(|m| m.template_id)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::UpstreamUnavailable,
                    "Partner Center lists no Microsoft Customer Agreement template",
                )
            })
    }
}
