//! Transition of a Microsoft Azure (MS-AZR-0145P) customer to an Azure plan.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{CustomerId, UpgradeId};
use crate::error::{Error, Result};

/// The only product family Partner Center upgrades.
pub const AZURE_FAMILY: &str = "Azure";

/// `productFamily`, checked (case-insensitive) and normalized to `Azure`.
pub fn parse_product_family(field: &str, value: &str) -> Result<&'static str> {
    if value.eq_ignore_ascii_case(AZURE_FAMILY) {
        Ok(AZURE_FAMILY)
    } else {
        Err(Error::invalid_field(field, "must be Azure (the only family Partner Center upgrades)"))
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProductUpgradeInput {
    /// Azure.
    pub product_family: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductUpgradeEligibility {
    #[schema(value_type = String, format = Uuid)]
    pub customer_id: CustomerId,
    pub product_family: String,
    pub is_eligible: bool,
    /// Set when an upgrade for this family already exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrade_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductUpgrade {
    #[schema(value_type = String, format = Uuid)]
    pub id: UpgradeId,
    #[schema(value_type = String, format = Uuid)]
    pub customer_id: CustomerId,
    pub product_family: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeProduct {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeLineItem {
    pub source_product: Option<UpgradeProduct>,
    pub target_product: Option<UpgradeProduct>,
    #[serde(with = "super::time_format::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub upgraded_date: Option<OffsetDateTime>,
    pub status: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeErrorDetails {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductUpgradeStatus {
    #[schema(value_type = String, format = Uuid)]
    pub id: UpgradeId,
    #[schema(value_type = String, format = Uuid)]
    pub customer_id: CustomerId,
    pub product_family: String,
    /// e.g. InProgress, Completed, Failed
    pub status: String,
    pub line_items: Vec<UpgradeLineItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_details: Option<UpgradeErrorDetails>,
}
