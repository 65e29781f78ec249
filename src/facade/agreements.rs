//! The Microsoft Customer Agreement: metadata, confirmations, and confirming acceptance.

use time::OffsetDateTime;
use tracing::instrument;

use super::Facade;
use crate::{
    auth::{Caller, Permission},
    context::RequestContext,
    error::{Error, Result},
    model::{
        CustomerId,
        agreement::{Agreement, AgreementMetadata, ConfirmAgreement, MICROSOFT_CUSTOMER_AGREEMENT},
    },
};

impl Facade {
    #[instrument(skip_all, fields(partner = caller.partner()))]
    pub async fn agreement_metadata(&self, ctx: &RequestContext, caller: &Caller) -> Result<Vec<AgreementMetadata>> {
        caller.ensure_permission(Permission::CustomersRead)?;
        self.pc.agreement_metadata(ctx, caller.partner()).await
    }

    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer))]
    pub async fn list_agreements(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
    ) -> Result<Vec<Agreement>> {
        caller.ensure_customer(customer, Permission::CustomersRead)?;
        self.pc.list_agreements(ctx, caller.partner(), customer).await
    }

    /// Records the customer's acceptance. A second identical confirmation is Partner Center's
    /// 600061, surfaced as 409 / ALREADY_EXISTS.
    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer))]
    pub async fn confirm_agreement(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
        input: &ConfirmAgreement,
    ) -> Result<Agreement> {
        caller.ensure_customer(customer, Permission::CustomersWrite)?;
        input.primary_contact.validate("primaryContact")?;
        if let Some(date) = input.date_agreed
            && date > OffsetDateTime::now_utc() + time::Duration::minutes(5)
        {
            return Err(Error::invalid_field("dateAgreed", "must not be in the future"));
        }
        let template_id = match &input.template_id {
            Some(template) if template.trim().is_empty() || template.len() > 128 => {
                return Err(Error::invalid_field(
                    "templateId",
                    "must be a template id from GET /v1/agreements/metadata",
                ));
            }
            Some(template) => template.clone(),
            None => self.customer_agreement_template(ctx, caller).await?,
        };
        let date_agreed = input.date_agreed.unwrap_or_else(OffsetDateTime::now_utc);
        self.pc
            .confirm_agreement(ctx, caller.partner(), customer, &input.primary_contact, &template_id, date_agreed)
            .await
    }

    async fn customer_agreement_template(&self, ctx: &RequestContext, caller: &Caller) -> Result<String> {
        let metadata = self.pc.agreement_metadata(ctx, caller.partner()).await?;
        metadata
            .into_iter()
            .filter(|m| m.agreement_type.eq_ignore_ascii_case(MICROSOFT_CUSTOMER_AGREEMENT))
            .max_by_key(|m| m.version_rank)
            .map(|m| m.template_id)
            .ok_or_else(|| {
                Error::new(
                    crate::error::ErrorKind::UpstreamUnavailable,
                    "Partner Center lists no Microsoft Customer Agreement template",
                )
            })
    }
}
