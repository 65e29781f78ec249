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

/// An address as Partner Center keeps it.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// ISO 3166-1 alpha-2.
    pub country: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
}

/// The customer's billing profile: its default address decides the country purchases use.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BillingProfile {
    #[schema(value_type = String, format = Uuid)]
    pub customer_id: CustomerId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// e.g. `en-US`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub culture: Option<String>,
    /// e.g. `en`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    pub default_address: Address,
}
