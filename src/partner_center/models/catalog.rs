use serde::Deserialize;

use crate::model::catalog::{Availability, Currency, ItemType, Product, Sku, Term};

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireItemType {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub sub_type: Option<Box<WireItemType>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireProduct {
    pub id: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub product_type: Option<WireItemType>,
    #[serde(default)]
    pub is_microsoft_product: bool,
    #[serde(default)]
    pub publisher_name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireSku {
    pub id: String,
    #[serde(default)]
    pub product_id: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub minimum_quantity: i32,
    #[serde(default)]
    pub maximum_quantity: i32,
    #[serde(default)]
    pub is_trial: bool,
    #[serde(default)]
    pub supported_billing_cycles: Vec<String>,
    #[serde(default)]
    pub purchase_prerequisites: Vec<String>,
    #[serde(default)]
    pub inventory_variables: Vec<String>,
    #[serde(default)]
    pub provisioning_variables: Vec<String>,
    #[serde(default)]
    pub dynamic_attributes: serde_json::Map<String, serde_json::Value>,
}

/// `defaultCurrency` is documented as a string but every example shows an object.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum WireCurrency {
    Object {
        #[serde(default)]
        code: String,
        #[serde(default)]
        symbol: String,
    },
    Code(String),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireTerm {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub duration: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub billing_cycle: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireAvailability {
    pub id: String,
    #[serde(default)]
    pub product_id: String,
    #[serde(default)]
    pub sku_id: String,
    #[serde(default)]
    pub catalog_item_id: String,
    #[serde(default)]
    pub default_currency: Option<WireCurrency>,
    #[serde(default)]
    pub segment: String,
    #[serde(default)]
    pub country: String,
    #[serde(default)]
    pub is_purchasable: bool,
    #[serde(default)]
    pub is_renewable: bool,
    #[serde(default)]
    pub terms: Vec<WireTerm>,
}

impl From<WireItemType> for ItemType {
    fn from(wire: WireItemType) -> Self {
        ItemType {
            id: wire.id,
            display_name: wire.display_name,
            sub_type: wire.sub_type.map(|s| Box::new((*s).into())),
        }
    }
}

impl From<WireProduct> for Product {
    fn from(wire: WireProduct) -> Self {
        Product {
            id: wire.id,
            title: wire.title,
            description: wire.description,
            product_type: wire.product_type.map(Into::into).unwrap_or(ItemType {
                id: String::new(),
                display_name: String::new(),
                sub_type: None,
            }),
            is_microsoft_product: wire.is_microsoft_product,
            publisher_name: wire.publisher_name,
        }
    }
}

impl From<WireSku> for Sku {
    fn from(wire: WireSku) -> Self {
        Sku {
            id: wire.id,
            product_id: wire.product_id,
            title: wire.title,
            description: wire.description,
            minimum_quantity: wire.minimum_quantity,
            maximum_quantity: wire.maximum_quantity,
            is_trial: wire.is_trial,
            supported_billing_cycles: wire.supported_billing_cycles,
            purchase_prerequisites: wire.purchase_prerequisites,
            inventory_variables: wire.inventory_variables,
            provisioning_variables: wire.provisioning_variables,
            dynamic_attributes: wire.dynamic_attributes,
        }
    }
}

impl From<WireAvailability> for Availability {
    fn from(wire: WireAvailability) -> Self {
        Availability {
            id: wire.id,
            product_id: wire.product_id,
            sku_id: wire.sku_id,
            catalog_item_id: wire.catalog_item_id,
            default_currency: wire.default_currency.map(|c| match c {
                WireCurrency::Object { code, symbol } => Currency { code, symbol },
                WireCurrency::Code(code) => Currency { code, symbol: String::new() },
            }),
            segment: wire.segment,
            country: wire.country,
            is_purchasable: wire.is_purchasable,
            is_renewable: wire.is_renewable,
            terms: wire
                .terms
                .into_iter()
                .map(|t| Term {
                    id: t.id,
                    duration: t.duration,
                    description: t.description,
                    billing_cycle: t.billing_cycle,
                })
                .collect(),
        }
    }
}
