//! The product catalog: products, SKUs, availabilities, and the Azure plan catalog item.

use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{Error, Result};

/// Catalog views Partner Center knows (`targetView`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
pub enum TargetView {
    Azure,
    AzureReservations,
    AzureReservationsVM,
    AzureReservationsSQL,
    AzureReservationsCosmosDb,
    MicrosoftAzure,
    OnlineServices,
    Software,
    SoftwareSUSELinux,
    SoftwarePerpetual,
    SoftwareSubscriptions,
    SpecializedOffers,
    MarketplaceSaaS,
}

impl TargetView {
    pub const ALL: [TargetView; 13] = [
        Self::Azure,
        Self::AzureReservations,
        Self::AzureReservationsVM,
        Self::AzureReservationsSQL,
        Self::AzureReservationsCosmosDb,
        Self::MicrosoftAzure,
        Self::OnlineServices,
        Self::Software,
        Self::SoftwareSUSELinux,
        Self::SoftwarePerpetual,
        Self::SoftwareSubscriptions,
        Self::SpecializedOffers,
        Self::MarketplaceSaaS,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Azure => "Azure",
            Self::AzureReservations => "AzureReservations",
            Self::AzureReservationsVM => "AzureReservationsVM",
            Self::AzureReservationsSQL => "AzureReservationsSQL",
            Self::AzureReservationsCosmosDb => "AzureReservationsCosmosDb",
            Self::MicrosoftAzure => "MicrosoftAzure",
            Self::OnlineServices => "OnlineServices",
            Self::Software => "Software",
            Self::SoftwareSUSELinux => "SoftwareSUSELinux",
            Self::SoftwarePerpetual => "SoftwarePerpetual",
            Self::SoftwareSubscriptions => "SoftwareSubscriptions",
            Self::SpecializedOffers => "SpecializedOffers",
            Self::MarketplaceSaaS => "MarketplaceSaaS",
        }
    }

    /// Case-insensitive, as Partner Center is.
    pub fn parse(field: &str, value: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|v| v.as_str().eq_ignore_ascii_case(value)).ok_or_else(|| {
            let known: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
            Error::invalid_field(field, format!("unknown value {value:?}; expected one of {}", known.join(", ")))
        })
    }
}

/// Customer segments (`targetSegment`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Segment {
    Commercial,
    Education,
    Government,
    Nonprofit,
}

impl Segment {
    pub const ALL: [Segment; 4] = [Self::Commercial, Self::Education, Self::Government, Self::Nonprofit];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Commercial => "commercial",
            Self::Education => "education",
            Self::Government => "government",
            Self::Nonprofit => "nonprofit",
        }
    }

    pub fn parse(field: &str, value: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|v| v.as_str().eq_ignore_ascii_case(value)).ok_or_else(|| {
            Error::invalid_field(
                field,
                format!("unknown value {value:?}; expected one of commercial, education, government, nonprofit"),
            )
        })
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ItemType {
    pub id: String,
    pub display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(no_recursion)]
    pub sub_type: Option<Box<ItemType>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    pub id: String,
    pub title: String,
    pub description: String,
    pub product_type: ItemType,
    pub is_microsoft_product: bool,
    pub publisher_name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Sku {
    pub id: String,
    pub product_id: String,
    pub title: String,
    pub description: String,
    pub minimum_quantity: i32,
    pub maximum_quantity: i32,
    pub is_trial: bool,
    /// monthly, annual, triennial, one_time, none.
    pub supported_billing_cycles: Vec<String>,
    pub purchase_prerequisites: Vec<String>,
    pub inventory_variables: Vec<String>,
    pub provisioning_variables: Vec<String>,
    /// Free-form attributes; Partner Center may change the keys without notice.
    #[schema(value_type = Object)]
    pub dynamic_attributes: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Currency {
    pub code: String,
    pub symbol: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Term {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// ISO-8601 duration: P1M, P1Y, P3Y.
    pub duration: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing_cycle: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Availability {
    pub id: String,
    pub product_id: String,
    pub sku_id: String,
    /// The value to buy with (cart line item `catalogItemId`). It may change: read it at purchase time.
    pub catalog_item_id: String,
    pub default_currency: Option<Currency>,
    pub segment: String,
    pub country: String,
    pub is_purchasable: bool,
    pub is_renewable: bool,
    pub terms: Vec<Term>,
}

/// Everything needed to buy an Azure plan in one country.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AzurePlanCatalogItem {
    pub product: Product,
    pub sku: Sku,
    pub availability: Availability,
    pub catalog_item_id: String,
}
