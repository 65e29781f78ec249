//! Azure usage (estimates, not billing data) and spending budgets. Money and quantities are
//! decimal strings, exactly as Partner Center wrote them, so no digit is lost.

use serde::Serialize;
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

/// A budget amount: a non-negative decimal with at most 2 fraction digits and 12 integer digits,
/// normalized (`0042.10` is `42.1`). Sent to Partner Center as a JSON number with these digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetAmount(String);

impl BudgetAmount {
    pub fn parse(field: &str, text: &str) -> Result<Self> {
        let text = text.trim();
        let invalid =
            || Error::invalid_field(field, "must be a non-negative amount with at most 2 decimals, e.g. 1500.50");
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
        Ok(Self(if fraction.is_empty() { whole.to_owned() } else { format!("{whole}.{fraction}") }))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_amounts_are_non_negative_decimals() {
        let ok = |v: &str| BudgetAmount::parse("amount", v).expect("valid").as_str().to_owned();
        assert_eq!(ok("100"), "100");
        assert_eq!(ok("1500.5"), "1500.5");
        assert_eq!(ok("0042.10"), "42.1");
        assert_eq!(ok("0"), "0");
        for bad in ["-1", "-0.5", "1e5", "1.234", "true", "abc", "", "1234567890123"] {
            let error = BudgetAmount::parse("amount", bad).expect_err(bad);
            assert_eq!(error.field_violations()[0].field, "amount", "{bad}");
        }
    }
}
