//! Carts, orders and the one-call Azure plan purchase.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{CartId, Country, CustomerId, OrderId, SubscriptionId};
use crate::error::{Error, Result};

/// Most line items accepted in one cart (Partner Center's carts are small; this bounds input).
pub const MAX_CART_LINES: usize = 50;
/// Longest friendly name accepted (Partner Center's limit for subscription names).
pub const MAX_FRIENDLY_NAME: usize = 256;

/// A billing cycle of a cart line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillingCycle {
    Monthly,
    Annual,
    Triennial,
    OneTime,
    None,
}

impl BillingCycle {
    pub const ALL: [BillingCycle; 5] = [Self::Monthly, Self::Annual, Self::Triennial, Self::OneTime, Self::None];

    /// As Partner Center spells it on the wire (and callers see it).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Monthly => "monthly",
            Self::Annual => "annual",
            Self::Triennial => "triennial",
            Self::OneTime => "one_time",
            Self::None => "none",
        }
    }

    /// `monthly`, `Monthly`, `one_time`, `OneTime`, ...; `None` when unknown.
    pub fn from_name(value: &str) -> Option<Self> {
        let value = value.to_ascii_lowercase();
        Self::ALL.into_iter().find(|c| c.as_str() == value || c.as_str().replace('_', "") == value)
    }

    pub fn parse(field: &str, value: &str) -> Result<Self> {
        Self::from_name(value).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|c| c.as_str()).collect();
            Error::invalid_field(field, format!("must be one of {}", names.join(", ")))
        })
    }
}

/// An `Idempotency-Key`: 1-128 visible ASCII characters. Remembers the field it came in, so a
/// later refusal of the key names it in the caller's spelling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    value: String,
    field: &'static str,
}

impl IdempotencyKey {
    pub fn parse(field: &'static str, value: Option<&str>) -> Result<Self> {
        let value = value.map(str::trim).unwrap_or_default();
        if value.is_empty() {
            return Err(Error::invalid_field(field, "is required: it makes the purchase safe to repeat"));
        }
        if value.len() > 128 || !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::invalid_field(field, "must be 1-128 visible ASCII characters"));
        }
        Ok(Self { value: value.to_owned(), field })
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// The request field that carried the key (`Idempotency-Key`, `idempotency_key`).
    pub fn field(&self) -> &'static str {
        self.field
    }
}

/// A name for a subscription or plan: 1-256 characters, not blank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FriendlyName(String);

impl FriendlyName {
    pub fn parse(field: &str, value: &str) -> Result<Self> {
        if value.trim().is_empty() || value.chars().count() > MAX_FRIENDLY_NAME {
            return Err(Error::invalid_field(field, format!("must be 1-{MAX_FRIENDLY_NAME} characters")));
        }
        Ok(Self(value.to_owned()))
    }

    /// Absent or empty (gRPC's "not set") is `None`.
    pub fn parse_optional(field: &str, value: Option<&str>) -> Result<Option<Self>> {
        value.filter(|v| !v.is_empty()).map(|v| Self::parse(field, v)).transpose()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A catalog item id from an availability: `{productId}:{skuId}:{availabilityId}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogItemId(String);

impl CatalogItemId {
    pub fn parse(field: &str, value: &str) -> Result<Self> {
        let item = value.trim();
        if item.is_empty()
            || item.len() > 256
            || !item.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_:".contains(&b))
        {
            return Err(Error::invalid_field(field, "must look like DZH318Z0BPS6:0001:DZH318Z0BML6"));
        }
        Ok(Self(item.to_owned()))
    }

    /// An id Partner Center gave (the catalog's own): trusted as it is.
    pub fn from_upstream(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One valid line of a cart to create or replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartLine {
    pub catalog_item_id: CatalogItemId,
    pub quantity: u32,
    pub billing_cycle: BillingCycle,
    /// ISO-8601 duration: P1M, P1Y, P3Y.
    pub term_duration: Option<String>,
    pub friendly_name: Option<FriendlyName>,
    /// Keys named by the SKU's `provisioningVariables` (e.g. scope, subscriptionId, duration).
    pub provisioning_context: BTreeMap<String, String>,
    /// Where the caller sent this line's catalog item (`lineItems[0].catalogItemId`), so Partner
    /// Center's refusal of the line names it; `None` for a line the gateway built itself.
    pub catalog_item_field: Option<String>,
}

/// A cart line as either transport received it, before validation.
#[derive(Debug, Clone, Default)]
pub struct CartLineArgs {
    pub catalog_item_id: String,
    pub quantity: i64,
    pub billing_cycle: String,
    pub term_duration: Option<String>,
    pub friendly_name: Option<String>,
    pub provisioning_context: BTreeMap<String, String>,
}

/// How the caller's transport spells the fields of a cart.
pub struct CartFields {
    pub line_items: &'static str,
    pub catalog_item_id: &'static str,
    pub quantity: &'static str,
    pub billing_cycle: &'static str,
    pub term_duration: &'static str,
    pub friendly_name: &'static str,
    pub provisioning_context: &'static str,
}

impl CartLine {
    /// Validates every line, naming a bad one `{line_items}[i].{field}`; Partner Center judges
    /// the catalog items themselves.
    pub fn parse_all(lines: Vec<CartLineArgs>, names: &CartFields) -> Result<Vec<CartLine>> {
        if lines.is_empty() {
            return Err(Error::invalid_field(names.line_items, "must hold at least one line item"));
        }
        if lines.len() > MAX_CART_LINES {
            return Err(Error::invalid_field(
                names.line_items,
                format!("must hold at most {MAX_CART_LINES} line items"),
            ));
        }
        lines.into_iter().enumerate().map(|(index, line)| Self::parse(index, line, names)).collect()
    }

    fn parse(index: usize, line: CartLineArgs, names: &CartFields) -> Result<Self> {
        let field = |name: &str| format!("{}[{index}].{name}", names.line_items);
        let catalog_item_field = field(names.catalog_item_id);
        let catalog_item_id = CatalogItemId::parse(&catalog_item_field, &line.catalog_item_id)?;
        if line.quantity < 1 {
            return Err(Error::invalid_field(field(names.quantity), "must be at least 1"));
        }
        let quantity = u32::try_from(line.quantity)
            .ok()
            .filter(|q| i32::try_from(*q).is_ok())
            .ok_or_else(|| Error::invalid_field(field(names.quantity), "is too large"))?;
        let billing_cycle = BillingCycle::parse(&field(names.billing_cycle), &line.billing_cycle)?;
        let term_duration = line.term_duration.filter(|t| !t.is_empty());
        if let Some(term) = &term_duration
            && !is_iso_duration(term)
        {
            return Err(Error::invalid_field(
                field(names.term_duration),
                "must be an ISO-8601 duration such as P1M or P1Y",
            ));
        }
        let friendly_name = match line.friendly_name.filter(|n| !n.is_empty()) {
            Some(name) if name.len() > MAX_FRIENDLY_NAME => {
                return Err(Error::invalid_field(
                    field(names.friendly_name),
                    format!("is longer than {MAX_FRIENDLY_NAME} characters"),
                ));
            }
            Some(name) => Some(FriendlyName(name)),
            None => None,
        };
        if line.provisioning_context.len() > 16
            || line.provisioning_context.iter().any(|(k, v)| k.is_empty() || k.len() > 64 || v.len() > 256)
        {
            return Err(Error::invalid_field(field(names.provisioning_context), "holds too many or too long entries"));
        }
        Ok(Self {
            catalog_item_id,
            quantity,
            billing_cycle,
            term_duration,
            friendly_name,
            provisioning_context: line.provisioning_context,
            catalog_item_field: Some(catalog_item_field),
        })
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

/// A valid one-call Azure plan purchase.
#[derive(Debug, Clone)]
pub struct AzurePlanOrder {
    pub idempotency_key: IdempotencyKey,
    pub friendly_name: Option<FriendlyName>,
    /// The catalog's country; the customer's (its billing profile's) when absent.
    pub country: Option<Country>,
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

/// Where an Azure plan purchase stands, from its order's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AzurePlanStatus {
    /// Ordered (`pending`); Partner Center is provisioning the plan.
    Provisioning,
    /// The plan exists (`completed`, or `partial_success` with the plan's line fulfilled).
    Active,
    /// Partner Center reviews the order (`pending_review`, `po_upload_complete`).
    PendingReview,
    /// The partner must upload a purchase order in Partner Center (`pending_po_upload`).
    AwaitingPurchaseOrder,
    /// The order's subscriptions are suspended (`suspended`).
    Suspended,
    /// Partner Center's review refused the purchase order (`po_review_rejected`).
    Rejected,
    /// The order was cancelled (`cancelled`).
    Cancelled,
    /// The order failed (`error`, or `partial_success` without the plan).
    Failed,
    /// A status this gateway does not know yet; `orderStatus` has Partner Center's word.
    Unknown,
}

impl AzurePlanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provisioning => "provisioning",
            Self::Active => "active",
            Self::PendingReview => "pending_review",
            Self::AwaitingPurchaseOrder => "awaiting_purchase_order",
            Self::Suspended => "suspended",
            Self::Rejected => "rejected",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
            Self::Unknown => "unknown",
        }
    }

    /// From an order's status (any documented spelling: `pending_review`, `pending review`,
    /// `PendingReview`) and whether the plan's line has its subscription.
    pub fn from_order(order_status: &str, plan_subscribed: bool) -> Self {
        let normalized: String =
            order_status.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect();
        match normalized.as_str() {
            "pending" => Self::Provisioning,
            "completed" => Self::Active,
            "partialsuccess" if plan_subscribed => Self::Active,
            "partialsuccess" | "error" | "failed" => Self::Failed,
            "pendingreview" | "pouploadcomplete" => Self::PendingReview,
            "pendingpoupload" => Self::AwaitingPurchaseOrder,
            "suspended" => Self::Suspended,
            "poreviewrejected" => Self::Rejected,
            "cancelled" | "canceled" => Self::Cancelled,
            _ => Self::Unknown,
        }
    }

    /// No later read can change it (so a repeated purchase need not read the order again).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Active | Self::Rejected | Self::Cancelled | Self::Failed)
    }
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

    const NAMES: CartFields = CartFields {
        line_items: "lineItems",
        catalog_item_id: "catalogItemId",
        quantity: "quantity",
        billing_cycle: "billingCycle",
        term_duration: "termDuration",
        friendly_name: "friendlyName",
        provisioning_context: "provisioningContext",
    };

    fn line(cycle: &str) -> CartLineArgs {
        CartLineArgs {
            catalog_item_id: "DZH318Z0BPS6:0001:DZH318Z0BML6".to_owned(),
            quantity: 1,
            billing_cycle: cycle.to_owned(),
            ..CartLineArgs::default()
        }
    }

    #[test]
    fn billing_cycles_are_normalized_and_unknown_ones_named() {
        let lines = CartLine::parse_all(vec![line("Monthly"), line("OneTime")], &NAMES).expect("valid");
        assert_eq!(lines[0].billing_cycle, BillingCycle::Monthly);
        assert_eq!(lines[1].billing_cycle, BillingCycle::OneTime);
        assert_eq!(lines[1].billing_cycle.as_str(), "one_time");
        let error = CartLine::parse_all(vec![line("monthly"), line("weekly")], &NAMES).expect_err("weekly");
        assert_eq!(error.field_violations()[0].field, "lineItems[1].billingCycle");
    }

    #[test]
    fn empty_carts_and_bad_lines_are_refused() {
        assert!(CartLine::parse_all(vec![], &NAMES).is_err());
        let zero = CartLineArgs { quantity: 0, ..line("monthly") };
        assert!(CartLine::parse_all(vec![zero], &NAMES).is_err());
        let negative = CartLineArgs { quantity: -3, ..line("monthly") };
        assert!(CartLine::parse_all(vec![negative], &NAMES).is_err());
        let term = CartLineArgs { term_duration: Some("1 year".to_owned()), ..line("monthly") };
        assert!(CartLine::parse_all(vec![term], &NAMES).is_err());
        let item = CartLineArgs { catalog_item_id: "../../etc".to_owned(), ..line("monthly") };
        let error = CartLine::parse_all(vec![item], &NAMES).expect_err("bad item");
        assert_eq!(error.field_violations()[0].field, "lineItems[0].catalogItemId");
    }

    #[test]
    fn every_documented_order_status_maps_to_a_plan_status() {
        use AzurePlanStatus as S;
        for (status, subscribed, plan) in [
            ("pending", false, S::Provisioning),
            ("completed", true, S::Active),
            ("completed", false, S::Active),
            ("partial_success", true, S::Active),
            ("partial_success", false, S::Failed),
            ("pending_review", false, S::PendingReview),
            ("pending review", false, S::PendingReview),
            ("PendingReview", false, S::PendingReview),
            ("po_upload_complete", false, S::PendingReview),
            ("pending_po_upload", false, S::AwaitingPurchaseOrder),
            ("po_review_rejected", false, S::Rejected),
            ("suspended", true, S::Suspended),
            ("cancelled", false, S::Cancelled),
            ("error", false, S::Failed),
            ("unknown", false, S::Unknown),
            ("something_new", false, S::Unknown),
        ] {
            assert_eq!(AzurePlanStatus::from_order(status, subscribed), plan, "{status}");
        }
    }

    #[test]
    fn idempotency_keys_and_names_are_checked_and_keep_their_field() {
        let key = IdempotencyKey::parse("idempotency_key", Some(" k-1 ")).expect("valid");
        assert_eq!((key.as_str(), key.field()), ("k-1", "idempotency_key"));
        for bad in [None, Some(""), Some("a b"), Some("é")] {
            let error = IdempotencyKey::parse("Idempotency-Key", bad).expect_err("invalid");
            assert_eq!(error.field_violations()[0].field, "Idempotency-Key");
        }
        assert!(FriendlyName::parse("friendlyName", "  ").is_err());
        assert!(FriendlyName::parse("friendlyName", &"x".repeat(257)).is_err());
        assert_eq!(FriendlyName::parse_optional("friendly_name", Some("")).expect("unset"), None);
    }
}
