//! `crate::model` → protobuf messages.

use prost_types::{Struct, Value as ProstValue, value::Kind};
use serde_json::Value;

use super::pb;
use crate::model::{
    catalog::{Availability, AzurePlanCatalogItem, ItemType, Product, Sku},
    customer::Customer,
};

pub fn customer(c: Customer) -> pb::Customer {
    pb::Customer {
        id: c.id.to_string(),
        commerce_id: c.commerce_id.unwrap_or_default(),
        company_profile: Some(pb::CompanyProfile {
            tenant_id: c.company_profile.tenant_id.to_string(),
            domain: c.company_profile.domain,
            company_name: c.company_profile.company_name,
        }),
        relationship_to_partner: c.relationship_to_partner,
        allow_delegated_access: c.allow_delegated_access,
    }
}

fn item_type(t: ItemType) -> pb::ItemType {
    pb::ItemType { id: t.id, display_name: t.display_name, sub_type: t.sub_type.map(|s| Box::new(item_type(*s))) }
}

pub fn product(p: Product) -> pb::Product {
    pb::Product {
        id: p.id,
        title: p.title,
        description: p.description,
        product_type: Some(item_type(p.product_type)),
        is_microsoft_product: p.is_microsoft_product,
        publisher_name: p.publisher_name,
    }
}

pub fn sku(s: Sku) -> pb::Sku {
    pb::Sku {
        id: s.id,
        product_id: s.product_id,
        title: s.title,
        description: s.description,
        minimum_quantity: s.minimum_quantity,
        maximum_quantity: s.maximum_quantity,
        is_trial: s.is_trial,
        supported_billing_cycles: s.supported_billing_cycles,
        purchase_prerequisites: s.purchase_prerequisites,
        inventory_variables: s.inventory_variables,
        provisioning_variables: s.provisioning_variables,
        dynamic_attributes: Some(json_object(s.dynamic_attributes)),
    }
}

pub fn availability(a: Availability) -> pb::Availability {
    pb::Availability {
        id: a.id,
        product_id: a.product_id,
        sku_id: a.sku_id,
        catalog_item_id: a.catalog_item_id,
        default_currency: a.default_currency.map(|c| pb::Currency { code: c.code, symbol: c.symbol }),
        segment: a.segment,
        country: a.country,
        is_purchasable: a.is_purchasable,
        is_renewable: a.is_renewable,
        terms: a
            .terms
            .into_iter()
            .map(|t| pb::Term {
                id: t.id.unwrap_or_default(),
                duration: t.duration,
                description: t.description,
                billing_cycle: t.billing_cycle.unwrap_or_default(),
            })
            .collect(),
    }
}

pub fn azure_plan(item: AzurePlanCatalogItem) -> pb::AzurePlanCatalogItem {
    pb::AzurePlanCatalogItem {
        product: Some(product(item.product)),
        sku: Some(sku(item.sku)),
        availability: Some(availability(item.availability)),
        catalog_item_id: item.catalog_item_id,
    }
}

/// A JSON object as `google.protobuf.Struct`.
pub fn json_object(map: serde_json::Map<String, Value>) -> Struct {
    Struct { fields: map.into_iter().map(|(k, v)| (k, json_value(v))).collect() }
}

fn json_value(value: Value) -> ProstValue {
    let kind = match value {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(b),
        // Struct has only doubles; big integers lose precision here, as in every JSON↔Struct mapping.
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        Value::String(s) => Kind::StringValue(s),
        Value::Array(items) => {
            Kind::ListValue(prost_types::ListValue { values: items.into_iter().map(json_value).collect() })
        }
        Value::Object(map) => Kind::StructValue(json_object(map)),
    };
    ProstValue { kind: Some(kind) }
}
