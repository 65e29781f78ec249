//! Azure usage (estimates, not billing data) and spending budgets. Money and quantities are
//! decimal strings, exactly as Partner Center wrote them, so no digit is lost.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::CustomerId;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartnerUsageSummary {
    pub partner_id: String,
    pub name: String,
    pub customers_over_budget: i64,
    pub customers_trending_over: i64,
    pub customers_with_usage_based_subscriptions: i64,
    #[serde(with = "super::time_format::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub billing_start_date: Option<OffsetDateTime>,
    #[serde(with = "super::time_format::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub billing_end_date: Option<OffsetDateTime>,
    /// Decimal string.
    pub total_cost: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_locale: Option<String>,
    #[serde(with = "super::time_format::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_modified_date: Option<OffsetDateTime>,
}

/// Currency fields: Azure plan records carry `currencyCode` and `usdTotalCost`; MS-AZR-0145P
/// records `currencyLocale`.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageCurrency {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_locale: Option<String>,
    /// Decimal string (Azure plan only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usd_total_cost: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerUsageRecord {
    pub customer_id: String,
    pub customer_name: String,
    /// Decimal string; absent without a budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget_amount: Option<String>,
    pub percent_used: String,
    /// True when the customer has an Azure plan.
    pub is_upgraded: bool,
    pub total_cost: String,
    #[serde(flatten)]
    pub currency: UsageCurrency,
    #[serde(with = "super::time_format::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_modified_date: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerUsageSummary {
    #[schema(value_type = String, format = Uuid)]
    pub customer_id: CustomerId,
    pub customer_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget_amount: Option<String>,
    #[serde(with = "super::time_format::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub billing_start_date: Option<OffsetDateTime>,
    #[serde(with = "super::time_format::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub billing_end_date: Option<OffsetDateTime>,
    pub total_cost: String,
    #[serde(flatten)]
    pub currency: UsageCurrency,
    #[serde(with = "super::time_format::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_modified_date: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionUsageRecord {
    pub subscription_id: String,
    pub name: String,
    pub status: String,
    pub offer_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_on_record: Option<String>,
    pub total_cost: String,
    #[serde(flatten)]
    pub currency: UsageCurrency,
    #[serde(with = "super::time_format::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_modified_date: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionUsageSummary {
    pub subscription_id: String,
    pub name: String,
    #[serde(with = "super::time_format::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub billing_start_date: Option<OffsetDateTime>,
    #[serde(with = "super::time_format::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub billing_end_date: Option<OffsetDateTime>,
    pub total_cost: String,
    #[serde(flatten)]
    pub currency: UsageCurrency,
    #[serde(with = "super::time_format::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_modified_date: Option<OffsetDateTime>,
}

/// Monthly usage of one resource type of an MS-AZR-0145P subscription.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MonthlyUsageRecord {
    pub id: String,
    pub name: String,
    pub category: String,
    pub subcategory: String,
    pub quantity_used: String,
    pub unit: String,
    pub total_cost: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_locale: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceUsageRecord {
    pub subscription_id: String,
    pub resource_uri: String,
    pub resource_type: String,
    pub entitlement_id: String,
    pub entitlement_name: String,
    pub resource_group_name: String,
    pub resource_name: String,
    pub total_cost: String,
    #[serde(flatten)]
    pub currency: UsageCurrency,
    #[serde(with = "super::time_format::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_modified_date: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MeterUsageRecord {
    pub subscription_id: String,
    pub meter_id: String,
    pub meter_name: String,
    pub category: String,
    pub subcategory: String,
    pub quantity_used: String,
    pub unit: String,
    pub total_cost: String,
    #[serde(flatten)]
    pub currency: UsageCurrency,
    #[serde(with = "super::time_format::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_modified_date: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SpendingBudget {
    #[schema(value_type = String, format = Uuid)]
    pub customer_id: CustomerId,
    /// Decimal string; absent when the customer has no budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
}

/// The body of a budget update: a non-negative amount (number or decimal string), or `null` to
/// remove the budget.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SpendingBudgetInput {
    #[schema(value_type = Option<f64>, minimum = 0)]
    pub amount: Option<serde_json::Value>,
}

/// A non-negative decimal with at most 2 fraction digits and 12 integer digits, normalized.
pub fn parse_budget_amount(field: &str, value: &serde_json::Value) -> Result<Option<String>> {
    let text = match value {
        serde_json::Value::Null => return Ok(None),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s.trim().to_owned(),
        _ => return Err(Error::invalid_field(field, "must be a number, a decimal string or null")),
    };
    parse_decimal_amount(field, &text).map(Some)
}

pub fn parse_decimal_amount(field: &str, text: &str) -> Result<String> {
    let invalid = || Error::invalid_field(field, "must be a non-negative amount with at most 2 decimals, e.g. 1500.50");
    if text.starts_with('-') {
        return Err(Error::invalid_field(field, "must not be negative"));
    }
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 12 || !digits(whole) || fraction.len() > 2 || !digits(fraction) {
        return Err(invalid());
    }
    let whole = whole.trim_start_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    let fraction = fraction.trim_end_matches('0');
    Ok(if fraction.is_empty() { whole.to_owned() } else { format!("{whole}.{fraction}") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_amounts_are_non_negative_decimals() {
        let ok = |v: serde_json::Value| parse_budget_amount("amount", &v).expect("valid");
        assert_eq!(ok(serde_json::json!(100)), Some("100".to_owned()));
        assert_eq!(ok(serde_json::json!(1500.5)), Some("1500.5".to_owned()));
        assert_eq!(ok(serde_json::json!("0042.10")), Some("42.1".to_owned()));
        assert_eq!(ok(serde_json::json!(0)), Some("0".to_owned()));
        assert_eq!(ok(serde_json::Value::Null), None);
        for bad in [
            serde_json::json!(-1),
            serde_json::json!("-0.5"),
            serde_json::json!("1e5"),
            serde_json::json!("1.234"),
            serde_json::json!(true),
            serde_json::json!("abc"),
            serde_json::json!(""),
        ] {
            let error = parse_budget_amount("amount", &bad).expect_err("invalid");
            assert_eq!(error.field_violations()[0].field, "amount", "{bad}");
        }
    }
}
