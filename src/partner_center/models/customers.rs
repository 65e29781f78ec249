use serde::Deserialize;

use super::malformed;
use crate::{
    error::Result,
    model::{
        CustomerId,
        customer::{Address, BillingProfile, CompanyProfile, Customer},
    },
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireCustomer {
    pub id: String,
    #[serde(default)]
    pub commerce_id: Option<String>,
    #[serde(default)]
    pub company_profile: WireCompanyProfile,
    #[serde(default)]
    pub relationship_to_partner: Option<String>,
    #[serde(default)]
    pub allow_delegated_access: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireCompanyProfile {
    #[serde(default)]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub company_name: Option<String>,
}

impl TryFrom<WireCustomer> for Customer {
    type Error = crate::error::Error;

    fn try_from(wire: WireCustomer) -> Result<Self> {
        let id = CustomerId::parse("id", &wire.id).map_err(|_| malformed(format!("customer id {:?}", wire.id)))?;
        let tenant_id = match wire.company_profile.tenant_id.as_deref() {
            Some(t) => CustomerId::parse("tenantId", t).map_err(|_| malformed(format!("customer tenant id {t:?}")))?,
            None => id,
        };
        Ok(Customer {
            id,
            commerce_id: wire.commerce_id,
            company_profile: CompanyProfile {
                tenant_id,
                domain: wire.company_profile.domain.unwrap_or_default(),
                company_name: wire.company_profile.company_name.unwrap_or_default(),
            },
            relationship_to_partner: wire.relationship_to_partner.unwrap_or_else(|| "none".to_owned()),
            allow_delegated_access: wire.allow_delegated_access,
        })
    }
}

/// `GET /v1/customers/{id}/profiles/billing` (a single object, though the page's prose says
/// collection). The country is `defaultAddress.country`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireBillingProfile {
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub culture: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub company_name: Option<String>,
    #[serde(default)]
    pub default_address: Option<WireAddress>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireAddress {
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub address_line1: Option<String>,
    #[serde(default)]
    pub address_line2: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub phone_number: Option<String>,
}

impl WireBillingProfile {
    pub fn into_model(self, customer: CustomerId) -> BillingProfile {
        let address = self.default_address.unwrap_or_default();
        BillingProfile {
            customer_id: customer,
            first_name: self.first_name,
            last_name: self.last_name,
            email: self.email,
            culture: self.culture,
            language: self.language,
            company_name: self.company_name,
            default_address: Address {
                country: address.country.unwrap_or_default().to_ascii_uppercase(),
                region: address.region,
                city: address.city,
                state: address.state,
                address_line1: address.address_line1,
                address_line2: address.address_line2,
                postal_code: address.postal_code,
                first_name: address.first_name,
                last_name: address.last_name,
                phone_number: address.phone_number,
            },
        }
    }
}

/// `GET /v1/customers/{id}/directSignedMicrosoftCustomerAgreementStatus`: exactly `{"isSigned": bool}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireDirectSignStatus {
    pub is_signed: bool,
}
