//! Carts, orders and the one-call Azure plan purchase.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{CartId, CustomerId, OrderId, SubscriptionId};
use crate::error::{Error, Result};

/// Billing cycles as Partner Center spells them on the wire.
pub const BILLING_CYCLES: [&str; 5] = ["monthly", "annual", "triennial", "one_time", "none"];
/// Most line items accepted in one cart (Partner Center's carts are small; this bounds input).
pub const MAX_CART_LINES: usize = 50;

/// One line of a cart to create or replace.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CartLineInput {
    /// From an availability: `{productId}:{skuId}:{availabilityId}`.
    pub catalog_item_id: String,
    pub quantity: i32,
    /// monthly, annual, triennial, one_time, none.
    pub billing_cycle: String,
    /// ISO-8601 duration: P1M, P1Y, P3Y.
    #[serde(default)]
    pub term_duration: Option<String>,
    #[serde(default)]
    pub friendly_name: Option<String>,
    /// Keys named by the SKU's `provisioningVariables` (e.g. scope, subscriptionId, duration).
    #[serde(default)]
    pub provisioning_context: BTreeMap<String, String>,
}

/// The body of cart creation and replacement.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CartInput {
    pub line_items: Vec<CartLineInput>,
}

impl CartInput {
    /// Checks the shape of every line; Partner Center judges the catalog items themselves.
    pub fn validate(&mut self) -> Result<()> {
        if self.line_items.is_empty() {
            return Err(Error::invalid_field("lineItems", "must hold at least one line item"));
        }
        if self.line_items.len() > MAX_CART_LINES {
            return Err(Error::invalid_field("lineItems", format!("must hold at most {MAX_CART_LINES} line items")));
        }
        for (index, line) in self.line_items.iter_mut().enumerate() {
            let field = |name: &str| format!("lineItems[{index}].{name}");
            let item = line.catalog_item_id.trim();
            if item.is_empty()
                || item.len() > 256
                || !item.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_:".contains(&b))
            {
                return Err(Error::invalid_field(
                    field("catalogItemId"),
                    "must look like DZH318Z0BPS6:0001:DZH318Z0BML6",
                ));
            }
            if line.quantity < 1 {
                return Err(Error::invalid_field(field("quantity"), "must be at least 1"));
            }
            let cycle = line.billing_cycle.to_ascii_lowercase();
            match BILLING_CYCLES.iter().find(|c| **c == cycle || c.replace('_', "") == cycle) {
                Some(known) => line.billing_cycle = (*known).to_owned(),
                None => {
                    return Err(Error::invalid_field(
                        field("billingCycle"),
                        format!("must be one of {}", BILLING_CYCLES.join(", ")),
                    ));
                }
            }
            if let Some(term) = &line.term_duration
                && !is_iso_duration(term)
            {
                return Err(Error::invalid_field(
                    field("termDuration"),
                    "must be an ISO-8601 duration such as P1M or P1Y",
                ));
            }
            if line.friendly_name.as_ref().is_some_and(|n| n.len() > 256) {
                return Err(Error::invalid_field(field("friendlyName"), "is longer than 256 characters"));
            }
            if line.provisioning_context.len() > 16
                || line.provisioning_context.iter().any(|(k, v)| k.is_empty() || k.len() > 64 || v.len() > 256)
            {
                return Err(Error::invalid_field(field("provisioningContext"), "holds too many or too long entries"));
            }
        }
        Ok(())
    }
}

fn is_iso_duration(value: &str) -> bool {
    let Some(rest) = value.strip_prefix('P') else { return false };
    let Some(unit) = rest.chars().last() else { return false };
    let digits = &rest[..rest.len() - unit.len_utf8()];
    matches!(unit, 'D' | 'M' | 'Y' | 'W')
        && !digits.is_empty()
        && digits.len() <= 4
        && digits.bytes().all(|b| b.is_ascii_digit())
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CartLineItemError {
    /// Partner Center's CartErrorCode, e.g. 10001.
    pub error_code: i32,
    /// Its name, e.g. CatalogItemIdIsNotValid.
    pub error_name: String,
    pub description: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CartLineItem {
    pub id: i32,
    pub catalog_item_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub friendly_name: Option<String>,
    pub quantity: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_code: Option<String>,
    pub billing_cycle: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term_duration: Option<String>,
    pub provisioning_context: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<CartLineItemError>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Cart {
    #[schema(value_type = String, format = Uuid)]
    pub id: CartId,
    #[schema(value_type = String, format = Uuid)]
    pub customer_id: CustomerId,
    /// Active or Ordered.
    pub status: String,
    #[serde(with = "super::time_format::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub creation_timestamp: Option<OffsetDateTime>,
    #[serde(with = "super::time_format::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_modified_timestamp: Option<OffsetDateTime>,
    #[serde(with = "super::time_format::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expiration_timestamp: Option<OffsetDateTime>,
    pub line_items: Vec<CartLineItem>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderLineItem {
    pub line_item_number: i32,
    pub offer_id: String,
    /// Set once provisioning produced the subscription.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub subscription_id: Option<SubscriptionId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub friendly_name: Option<String>,
    pub quantity: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term_duration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_type: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    #[schema(value_type = String)]
    pub id: OrderId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alternate_id: Option<String>,
    #[schema(value_type = String, format = Uuid)]
    pub customer_id: CustomerId,
    pub billing_cycle: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_code: Option<String>,
    /// pending, completed, cancelled, ...
    pub status: String,
    #[serde(with = "super::time_format::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub creation_date: Option<OffsetDateTime>,
    pub line_items: Vec<OrderLineItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_type: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderError {
    pub order_group_id: String,
    pub code: i32,
    pub description: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutResult {
    pub orders: Vec<Order>,
    pub order_errors: Vec<OrderError>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuantityProvisioningStatus {
    pub quantity: i32,
    pub status: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderLineItemProvisioningStatus {
    pub line_item_number: i32,
    /// fulfilled, unfulfilled, prefulfillmentPending
    pub status: String,
    pub quantities: Vec<QuantityProvisioningStatus>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderProvisioningStatus {
    #[schema(value_type = String)]
    pub order_id: OrderId,
    pub line_items: Vec<OrderLineItemProvisioningStatus>,
}

/// Where an Azure plan purchase stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AzurePlanStatus {
    /// Ordered; Partner Center is still provisioning the plan.
    Provisioning,
    /// The plan's subscription exists.
    Active,
    /// Partner Center cancelled or failed the order.
    Failed,
}

impl AzurePlanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provisioning => "provisioning",
            Self::Active => "active",
            Self::Failed => "failed",
        }
    }
}

/// The body of `POST /v1/customers/{customerId}/azure-plans` (optional).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AzurePlanInput {
    /// A name for the plan.
    #[serde(default)]
    pub friendly_name: Option<String>,
    /// Country of the catalog item; the gateway's default country when absent.
    #[serde(default)]
    pub country: Option<String>,
}

/// The outcome of an Azure plan purchase.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AzurePlan {
    #[schema(value_type = String, format = Uuid)]
    pub customer_id: CustomerId,
    #[schema(value_type = String)]
    pub order_id: OrderId,
    /// Set once Partner Center provisioned the plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub subscription_id: Option<SubscriptionId>,
    pub status: AzurePlanStatus,
    pub catalog_item_id: String,
    /// The order's status as Partner Center reports it.
    pub order_status: String,
    /// True when this answer repeats an earlier call with the same `Idempotency-Key`.
    pub replayed: bool,
}

/// An Azure plan subscription of a customer.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AzurePlanSubscription {
    #[schema(value_type = String, format = Uuid)]
    pub subscription_id: SubscriptionId,
    pub friendly_name: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    pub offer_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(cycle: &str) -> CartLineInput {
        CartLineInput {
            catalog_item_id: "DZH318Z0BPS6:0001:DZH318Z0BML6".to_owned(),
            quantity: 1,
            billing_cycle: cycle.to_owned(),
            term_duration: None,
            friendly_name: None,
            provisioning_context: BTreeMap::new(),
        }
    }

    #[test]
    fn billing_cycles_are_normalized_and_unknown_ones_named() {
        let mut input = CartInput { line_items: vec![line("Monthly"), line("OneTime")] };
        input.validate().expect("valid");
        assert_eq!(input.line_items[0].billing_cycle, "monthly");
        assert_eq!(input.line_items[1].billing_cycle, "one_time");
        let mut bad = CartInput { line_items: vec![line("monthly"), line("weekly")] };
        let error = bad.validate().expect_err("weekly");
        assert_eq!(error.field_violations()[0].field, "lineItems[1].billingCycle");
    }

    #[test]
    fn empty_carts_and_bad_lines_are_refused() {
        assert!(CartInput { line_items: vec![] }.validate().is_err());
        let mut zero = line("monthly");
        zero.quantity = 0;
        assert!(CartInput { line_items: vec![zero] }.validate().is_err());
        let mut term = line("monthly");
        term.term_duration = Some("1 year".to_owned());
        assert!(CartInput { line_items: vec![term] }.validate().is_err());
        let mut item = line("monthly");
        item.catalog_item_id = "../../etc".to_owned();
        assert!(CartInput { line_items: vec![item] }.validate().is_err());
    }
}
