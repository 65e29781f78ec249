//! The Microsoft Customer Agreement: metadata and confirmations.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::CustomerId;
use crate::error::{Error, Result};

/// The agreement Partner Center requires before an Azure plan can be bought.
pub const MICROSOFT_CUSTOMER_AGREEMENT: &str = "MicrosoftCustomerAgreement";

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgreementMetadata {
    pub template_id: String,
    pub agreement_type: String,
    pub agreement_link: String,
    pub version_rank: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Contact {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
}

/// How the caller's transport spells the fields of an agreement confirmation.
pub struct AgreementFields {
    pub primary_contact: &'static str,
    pub first_name: &'static str,
    pub last_name: &'static str,
    pub email: &'static str,
    pub phone_number: &'static str,
    pub template_id: &'static str,
    pub date_agreed: &'static str,
}

impl Contact {
    /// Every field present and plausible.
    fn validate(&self, names: &AgreementFields) -> Result<()> {
        let field = |name: &str| format!("{}.{name}", names.primary_contact);
        let required =
            [(names.first_name, &self.first_name), (names.last_name, &self.last_name), (names.email, &self.email)];
        for (name, value) in required {
            if value.trim().is_empty() {
                return Err(Error::invalid_field(field(name), "is required"));
            }
            if value.len() > 256 {
                return Err(Error::invalid_field(field(name), "is longer than 256 characters"));
            }
        }
        let at = self.email.find('@');
        if !matches!(at, Some(i) if i > 0 && i + 1 < self.email.len()) || self.email.contains(char::is_whitespace) {
            return Err(Error::invalid_field(field(names.email), "is not an email address"));
        }
        if let Some(phone) = &self.phone_number
            && (phone.len() > 32 || !phone.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c)))
        {
            return Err(Error::invalid_field(field(names.phone_number), "is not a phone number"));
        }
        Ok(())
    }
}

/// A valid confirmation of the customer's acceptance.
#[derive(Debug, Clone)]
pub struct AgreementConfirmation {
    pub primary_contact: Contact,
    /// The current Microsoft Customer Agreement template when absent.
    pub template_id: Option<String>,
    /// Now when absent; never in the future.
    pub date_agreed: Option<OffsetDateTime>,
}

impl AgreementConfirmation {
    pub fn parse(
        primary_contact: Contact,
        template_id: Option<String>,
        date_agreed: Option<OffsetDateTime>,
        names: &AgreementFields,
    ) -> Result<Self> {
        primary_contact.validate(names)?;
        if let Some(date) = date_agreed
            && date > OffsetDateTime::now_utc() + time::Duration::minutes(5)
        {
            return Err(Error::invalid_field(names.date_agreed, "must not be in the future"));
        }
        if template_id.as_ref().is_some_and(|t| t.trim().is_empty() || t.len() > 128) {
            return Err(Error::invalid_field(
                names.template_id,
                "must be a template id from the agreement metadata (GetAgreementMetadata / GET /v1/agreements/metadata)",
            ));
        }
        Ok(Self { primary_contact, template_id, date_agreed })
    }
}

/// A confirmation that the customer accepted an agreement.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Agreement {
    #[schema(value_type = String, format = Uuid)]
    pub customer_id: CustomerId,
    pub template_id: String,
    #[serde(rename = "type")]
    pub agreement_type: String,
    pub primary_contact: Contact,
    #[serde(with = "super::time_format::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub date_agreed: Option<OffsetDateTime>,
    /// The partner user who confirmed (set by Partner Center from the app+user token).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agreement_link: Option<String>,
}
