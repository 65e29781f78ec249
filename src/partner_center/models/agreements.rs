use serde::{Deserialize, Serialize};

use super::parse_timestamp;
use crate::model::{
    CustomerId,
    agreement::{Agreement, AgreementMetadata, Contact},
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireAgreementMetadata {
    #[serde(default)]
    pub template_id: String,
    /// The docs' table says `type`, the examples `agreementType`.
    #[serde(default, alias = "type")]
    pub agreement_type: String,
    #[serde(default)]
    pub agreement_link: String,
    #[serde(default)]
    pub version_rank: i32,
}

impl From<WireAgreementMetadata> for AgreementMetadata {
    fn from(wire: WireAgreementMetadata) -> Self {
        AgreementMetadata {
            template_id: wire.template_id,
            agreement_type: wire.agreement_type,
            agreement_link: wire.agreement_link,
            version_rank: wire.version_rank,
        }
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireContact {
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireAgreement {
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub primary_contact: WireContact,
    #[serde(default)]
    pub date_agreed: Option<String>,
    #[serde(default)]
    pub template_id: String,
    #[serde(default, alias = "agreementType")]
    pub r#type: String,
    #[serde(default)]
    pub agreement_link: Option<String>,
}

/// The body of A2.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireAgreementRequest {
    pub primary_contact: WireContact,
    pub template_id: String,
    pub date_agreed: String,
    #[serde(rename = "type")]
    pub agreement_type: String,
}

impl WireAgreement {
    pub fn into_model(self, customer_id: CustomerId) -> Agreement {
        Agreement {
            customer_id,
            template_id: self.template_id,
            agreement_type: self.r#type,
            primary_contact: Contact {
                first_name: self.primary_contact.first_name,
                last_name: self.primary_contact.last_name,
                email: self.primary_contact.email,
                phone_number: self.primary_contact.phone_number,
            },
            date_agreed: parse_timestamp(self.date_agreed.as_deref()),
            user_id: self.user_id.filter(|u| !u.is_empty()),
            agreement_link: self.agreement_link.filter(|l| !l.is_empty()),
        }
    }
}
