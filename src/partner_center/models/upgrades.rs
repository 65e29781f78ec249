use serde::{Deserialize, Serialize};

use super::{malformed, parse_timestamp};
use crate::{
    error::Result,
    model::{
        CustomerId, UpgradeId,
        upgrade::{
            ProductUpgradeEligibility, ProductUpgradeStatus, UpgradeErrorDetails, UpgradeLineItem, UpgradeProduct,
        },
    },
};

/// `ProductUpgradeRequest`, the body of U1–U3.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireUpgradeRequest {
    pub customer_id: String,
    pub product_family: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireEligibility {
    #[serde(default)]
    pub product_family: String,
    #[serde(default)]
    pub is_eligible: bool,
    #[serde(default)]
    pub upgrade_id: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

impl WireEligibility {
    pub fn into_model(self, customer_id: CustomerId) -> ProductUpgradeEligibility {
        ProductUpgradeEligibility {
            customer_id,
            product_family: self.product_family,
            is_eligible: self.is_eligible,
            upgrade_id: self.upgrade_id.filter(|u| !u.is_empty()),
            reason: self.reason.filter(|r| !r.is_empty()),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct WireUpgradeProduct {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireUpgradeLine {
    #[serde(default)]
    pub source_product: Option<WireUpgradeProduct>,
    #[serde(default)]
    pub target_product: Option<WireUpgradeProduct>,
    #[serde(default)]
    pub upgraded_date: Option<String>,
    #[serde(default)]
    pub status: String,
}

#[derive(Debug, Deserialize)]
pub struct WireErrorDetails {
    #[serde(default)]
    pub code: serde_json::Value,
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireUpgradeStatus {
    pub id: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub product_family: String,
    #[serde(default)]
    pub line_items: Vec<WireUpgradeLine>,
    #[serde(default)]
    pub error_details: Option<WireErrorDetails>,
}

impl WireUpgradeStatus {
    pub fn into_model(self, customer_id: CustomerId) -> Result<ProductUpgradeStatus> {
        let id = UpgradeId::parse("id", &self.id).map_err(|_| malformed(format!("upgrade id {:?}", self.id)))?;
        let product = |p: WireUpgradeProduct| UpgradeProduct { id: p.id, name: p.name };
        Ok(ProductUpgradeStatus {
            id,
            customer_id,
            product_family: self.product_family,
            status: self.status,
            line_items: self
                .line_items
                .into_iter()
                .map(|line| UpgradeLineItem {
                    source_product: line.source_product.map(product),
                    target_product: line.target_product.map(product),
                    upgraded_date: parse_timestamp(line.upgraded_date.as_deref()),
                    status: line.status,
                })
                .collect(),
            error_details: self.error_details.map(|e| UpgradeErrorDetails {
                code: e.code.as_str().map_or_else(|| e.code.to_string(), str::to_owned),
                message: e.message,
            }),
        })
    }
}
