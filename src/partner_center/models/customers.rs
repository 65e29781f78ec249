use serde::Deserialize;

use super::malformed;
use crate::{
    error::Result,
    model::{
        CustomerId,
        customer::{CompanyProfile, Customer},
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
