//! The Microsoft Customer Agreement (A1–A3). Partner Center serves these only with app+user tokens.

use http::Method;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use super::{
    PartnerCenter, TokenFlow, UpstreamRequest,
    models::customers::WireDirectSignStatus,
    models::{
        Collection,
        agreements::{WireAgreement, WireAgreementMetadata, WireAgreementRequest, WireContact},
    },
};
use crate::{
    auth::{Authorized, Partner},
    context::RequestContext,
    error::{Error, Result},
    model::{
        CustomerId,
        agreement::{Agreement, AgreementMetadata, Contact, MICROSOFT_CUSTOMER_AGREEMENT},
    },
};

impl PartnerCenter {
    /// A1 `GET /v1/agreements?agreementType=MicrosoftCustomerAgreement` (always explicit: the
    /// upstream default is the older Microsoft Cloud Agreement).
    pub(super) async fn agreement_metadata(
        &self,
        ctx: &RequestContext,
        partner: &Authorized<Partner>,
    ) -> Result<Vec<AgreementMetadata>> {
        let request = UpstreamRequest::get("agreements.metadata", "/v1/agreements")
            .query("agreementType", MICROSOFT_CUSTOMER_AGREEMENT)
            .flow(TokenFlow::AppUser);
        let collection: Collection<WireAgreementMetadata> =
            self.client().json(ctx, partner.partner(), &request).await?;
        Ok(collection.items.into_iter().map(Into::into).collect())
    }

    /// A3 `GET /v1/customers/{id}/agreements?agreementType=MicrosoftCustomerAgreement`.
    pub(super) async fn list_agreements(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
    ) -> Result<Vec<Agreement>> {
        let id = customer.customer();
        let request = UpstreamRequest::get("agreements.list", format!("/v1/customers/{id}/agreements"))
            .query("agreementType", MICROSOFT_CUSTOMER_AGREEMENT)
            .flow(TokenFlow::AppUser);
        let collection: Collection<WireAgreement> = self.client().json(ctx, customer.partner(), &request).await?;
        Ok(collection.items.into_iter().map(|a| a.into_model(id)).collect())
    }

    /// A4: whether the customer signed the Microsoft Customer Agreement directly (app+user).
    pub(super) async fn direct_sign_status(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
    ) -> Result<bool> {
        let id = customer.customer();
        let path = format!("/v1/customers/{id}/directSignedMicrosoftCustomerAgreementStatus");
        let request = UpstreamRequest::get("agreements.direct_sign_status", path).flow(TokenFlow::AppUser);
        let wire: WireDirectSignStatus = self.client().json(ctx, customer.partner(), &request).await?;
        Ok(wire.is_signed)
    }

    /// A2 `POST /v1/customers/{id}/agreements`.
    pub(super) async fn confirm_agreement(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
        contact: &Contact,
        template_id: &str,
        date_agreed: OffsetDateTime,
    ) -> Result<Agreement> {
        let body = WireAgreementRequest {
            primary_contact: WireContact {
                first_name: contact.first_name.clone(),
                last_name: contact.last_name.clone(),
                email: contact.email.clone(),
                phone_number: contact.phone_number.clone(),
            },
            template_id: template_id.to_owned(),
            date_agreed: date_agreed.format(&Rfc3339).map_err(Error::internal)?,
            agreement_type: MICROSOFT_CUSTOMER_AGREEMENT.to_owned(),
        };
        let id = customer.customer();
        let request =
            UpstreamRequest::new("agreements.confirm", Method::POST, format!("/v1/customers/{id}/agreements"))
                .flow(TokenFlow::AppUser)
                .json(&body)?;
        let wire: WireAgreement = self.client().json(ctx, customer.partner(), &request).await?;
        Ok(wire.into_model(id))
    }
}
