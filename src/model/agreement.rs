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

impl Contact {
    /// Every field present and plausible; `prefix` names the field in errors (`primaryContact`).
    pub fn validate(&self, prefix: &str) -> Result<()> {
        let required = [("firstName", &self.first_name), ("lastName", &self.last_name), ("email", &self.email)];
        for (name, value) in required {
            if value.trim().is_empty() {
                return Err(Error::invalid_field(format!("{prefix}.{name}"), "is required"));
            }
            if value.len() > 256 {
                return Err(Error::invalid_field(format!("{prefix}.{name}"), "is longer than 256 characters"));
            }
        }
        let at = self.email.find('@');
        if !matches!(at, Some(i) if i > 0 && i + 1 < self.email.len()) || self.email.contains(char::is_whitespace) {
            return Err(Error::invalid_field(format!("{prefix}.email"), "is not an email address"));
        }
        if let Some(phone) = &self.phone_number
            && (phone.len() > 32 || !phone.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c)))
        {
            return Err(Error::invalid_field(format!("{prefix}.phoneNumber"), "is not a phone number"));
        }
        Ok(())
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

/// What a caller sends to confirm the Microsoft Customer Agreement.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfirmAgreement {
    pub primary_contact: Contact,
    /// Defaults to the current Microsoft Customer Agreement template.
    #[serde(default)]
    pub template_id: Option<String>,
    /// Defaults to now.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub date_agreed: Option<OffsetDateTime>,
}
