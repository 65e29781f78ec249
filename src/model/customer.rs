//! Customers of a partner tenant.

use serde::Serialize;
use utoipa::ToSchema;

use super::CustomerId;

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompanyProfile {
    /// The customer's Azure AD tenant id.
    #[schema(value_type = String, format = Uuid)]
    pub tenant_id: CustomerId,
    pub domain: String,
    pub company_name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    #[schema(value_type = String, format = Uuid)]
    pub id: CustomerId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commerce_id: Option<String>,
    pub company_profile: CompanyProfile,
    /// none, reseller, advisor, syndication, microsoft_support.
    pub relationship_to_partner: String,
    /// Only known when the customer is read by id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_delegated_access: Option<bool>,
}
