use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{lenient_i32, malformed, parse_timestamp};
use crate::{
    error::Result,
    model::{
        CartId, CustomerId, OrderId, SubscriptionId,
        commerce::{
            Cart, CartLine, CartLineItem, CartLineItemError, CheckoutResult, Order, OrderError, OrderLineItem,
            OrderLineItemProvisioningStatus, QuantityProvisioningStatus,
        },
    },
};

/// CartErrorCode names (Partner Center's enum; the wire carries the number or the name).
pub fn cart_error_name(code: i32) -> &'static str {
    match code {
        10000 => "CurrencyIsNotSupported",
        10001 => "CatalogItemIdIsNotValid",
        10002 => "QuotaNotAvailable",
        10003 => "InventoryNotAvailable",
        10004 => "ParticipantsIsNotSupportedForPartner",
        10006 => "UnableToProcessCartLineItem",
        10007 => "SubscriptionIsNotValid",
        10008 => "SubscriptionIsNotEnabledForRI",
        10009 => "SandboxLimitExceeded",
        10010 => "InvalidInput",
        10011 => "SubscriptionNotRegistered",
        10012 => "AttestationNotAccepted",
        10015 => "MaxAllowedSeatsPerSubscriptionExceeded",
        _ => "Unknown",
    }
}

fn cart_error_code(name: &str) -> i32 {
    (10000..=10015).find(|code| cart_error_name(*code).eq_ignore_ascii_case(name)).unwrap_or(0)
}

/// A cart line as sent (O1/O2 request).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireCartLineRequest {
    pub id: i32,
    pub catalog_item_id: String,
    pub quantity: i32,
    pub billing_cycle: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term_duration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub friendly_name: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub provisioning_context: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireCartRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub line_items: Vec<WireCartLineRequest>,
    /// Spelled as the create-cart page's request table and sample do.
    #[serde(rename = "PartnerOnRecordAttestationAccepted", skip_serializing_if = "Option::is_none")]
    pub partner_on_record_attestation_accepted: Option<bool>,
}

impl WireCartRequest {
    pub fn new(id: Option<CartId>, lines: &[CartLine], attest: bool) -> Self {
        Self {
            partner_on_record_attestation_accepted: attest.then_some(true),
            id: id.map(|id| id.to_string()),
            line_items: lines
                .iter()
                .enumerate()
                .map(|(index, line)| WireCartLineRequest {
                    id: i32::try_from(index).unwrap_or(i32::MAX),
                    catalog_item_id: line.catalog_item_id.as_str().to_owned(),
                    quantity: i32::try_from(line.quantity).unwrap_or(i32::MAX),
                    billing_cycle: line.billing_cycle.as_str().to_owned(),
                    term_duration: line.term_duration.clone(),
                    friendly_name: line.friendly_name.as_ref().map(|n| n.as_str().to_owned()),
                    provisioning_context: line.provisioning_context.clone(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireCartError {
    #[serde(default)]
    pub error_code: serde_json::Value,
    #[serde(default)]
    pub error_description: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireCartLine {
    #[serde(default, deserialize_with = "lenient_i32")]
    pub id: i32,
    #[serde(default)]
    pub catalog_item_id: String,
    #[serde(default)]
    pub friendly_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_i32")]
    pub quantity: i32,
    #[serde(default)]
    pub currency_code: Option<String>,
    #[serde(default)]
    pub billing_cycle: String,
    #[serde(default)]
    pub term_duration: Option<String>,
    #[serde(default, alias = "ProvisioningContext")]
    pub provisioning_context: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub order_group: Option<String>,
    #[serde(default)]
    pub error: Option<WireCartError>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireCart {
    pub id: String,
    #[serde(default, alias = "creationTimeStamp")]
    pub creation_timestamp: Option<String>,
    #[serde(default, alias = "lastModifiedTimeStamp")]
    pub last_modified_timestamp: Option<String>,
    #[serde(default, alias = "expirationTimeStamp")]
    pub expiration_timestamp: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub line_items: Vec<WireCartLine>,
}

impl WireCart {
    pub fn into_model(self, customer_id: CustomerId) -> Result<Cart> {
        let id = CartId::parse("id", &self.id).map_err(|_| malformed(format!("cart id {:?}", self.id)))?;
        Ok(Cart {
            id,
            customer_id,
            status: self.status.unwrap_or_else(|| "Active".to_owned()),
            creation_timestamp: parse_timestamp(self.creation_timestamp.as_deref()),
            last_modified_timestamp: parse_timestamp(self.last_modified_timestamp.as_deref()),
            expiration_timestamp: parse_timestamp(self.expiration_timestamp.as_deref()),
            line_items: self
                .line_items
                .into_iter()
                .map(|line| CartLineItem {
                    id: line.id,
                    catalog_item_id: line.catalog_item_id,
                    friendly_name: line.friendly_name,
                    quantity: line.quantity,
                    currency_code: line.currency_code,
                    billing_cycle: line.billing_cycle,
                    term_duration: line.term_duration,
                    provisioning_context: line
                        .provisioning_context
                        .into_iter()
                        .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
                        .collect(),
                    order_group: line.order_group,
                    error: line.error.map(|e| {
                        let code = match &e.error_code {
                            serde_json::Value::Number(n) => n.as_i64().and_then(|n| i32::try_from(n).ok()).unwrap_or(0),
                            serde_json::Value::String(s) => s.parse().unwrap_or_else(|_| cart_error_code(s)),
                            _ => 0,
                        };
                        CartLineItemError {
                            error_code: code,
                            error_name: cart_error_name(code).to_owned(),
                            description: e.error_description,
                        }
                    }),
                })
                .collect(),
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireOrderLine {
    #[serde(default, deserialize_with = "lenient_i32")]
    pub line_item_number: i32,
    #[serde(default)]
    pub offer_id: String,
    #[serde(default)]
    pub subscription_id: Option<String>,
    #[serde(default)]
    pub friendly_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_i32")]
    pub quantity: i32,
    #[serde(default)]
    pub term_duration: Option<String>,
    #[serde(default)]
    pub transaction_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireOrder {
    pub id: String,
    #[serde(default)]
    pub alternate_id: Option<String>,
    #[serde(default)]
    pub billing_cycle: String,
    #[serde(default)]
    pub currency_code: Option<String>,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub creation_date: Option<String>,
    #[serde(default)]
    pub line_items: Vec<WireOrderLine>,
    #[serde(default)]
    pub transaction_type: Option<String>,
}

impl WireOrder {
    pub fn into_model(self, customer_id: CustomerId) -> Result<Order> {
        let id = OrderId::parse("id", &self.id).map_err(|_| malformed(format!("order id {:?}", self.id)))?;
        Ok(Order {
            id,
            alternate_id: self.alternate_id,
            customer_id,
            billing_cycle: self.billing_cycle,
            currency_code: self.currency_code,
            status: self.status.to_ascii_lowercase(),
            creation_date: parse_timestamp(self.creation_date.as_deref()),
            line_items: self
                .line_items
                .into_iter()
                .map(|line| OrderLineItem {
                    line_item_number: line.line_item_number,
                    offer_id: line.offer_id,
                    subscription_id: line
                        .subscription_id
                        .as_deref()
                        .filter(|s| !s.is_empty())
                        .and_then(|s| SubscriptionId::parse("subscriptionId", s).ok()),
                    friendly_name: line.friendly_name,
                    quantity: line.quantity,
                    term_duration: line.term_duration,
                    transaction_type: line.transaction_type,
                })
                .collect(),
            transaction_type: self.transaction_type,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireOrderError {
    #[serde(default)]
    pub order_group_id: String,
    #[serde(default, deserialize_with = "lenient_i32")]
    pub code: i32,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireCheckoutResult {
    #[serde(default)]
    pub orders: Vec<WireOrder>,
    #[serde(default)]
    pub order_errors: Vec<WireOrderError>,
}

impl WireCheckoutResult {
    pub fn into_model(self, customer_id: CustomerId) -> Result<CheckoutResult> {
        Ok(CheckoutResult {
            orders: self.orders.into_iter().map(|o| o.into_model(customer_id)).collect::<Result<_>>()?,
            order_errors: self
                .order_errors
                .into_iter()
                .map(|e| OrderError { order_group_id: e.order_group_id, code: e.code, description: e.description })
                .collect(),
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireQuantityStatus {
    #[serde(default, deserialize_with = "lenient_i32")]
    pub quantity: i32,
    #[serde(default)]
    pub status: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireLineProvisioningStatus {
    #[serde(default, deserialize_with = "lenient_i32")]
    pub line_item_number: i32,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub quantity_provisioning_information: Vec<WireQuantityStatus>,
}

impl From<WireLineProvisioningStatus> for OrderLineItemProvisioningStatus {
    fn from(wire: WireLineProvisioningStatus) -> Self {
        OrderLineItemProvisioningStatus {
            line_item_number: wire.line_item_number,
            status: wire.status,
            quantities: wire
                .quantity_provisioning_information
                .into_iter()
                .map(|q| QuantityProvisioningStatus { quantity: q.quantity, status: q.status })
                .collect(),
        }
    }
}
