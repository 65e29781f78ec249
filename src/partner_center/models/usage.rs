//! Usage and budget wire shapes (G1–G10). Money fields keep Partner Center's exact digits.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::parse_timestamp;
use crate::model::{
    CustomerId,
    usage::{
        CustomerUsageRecord, CustomerUsageSummary, MeterUsageRecord, MonthlyUsageRecord, PartnerUsageSummary,
        ResourceUsageRecord, SubscriptionUsageRecord, SubscriptionUsageSummary, UsageCurrency,
    },
};

/// A number (or numeric string) as written upstream; `None` for null, absent or non-numeric.
pub fn decimal<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let raw = Option::<Box<RawValue>>::deserialize(deserializer)?;
    Ok(raw.and_then(|raw| decimal_text(raw.get())))
}

pub fn decimal_text(text: &str) -> Option<String> {
    let text = text.trim();
    let unquoted = match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => inner.trim(),
        None => text,
    };
    let numeric = !unquoted.is_empty()
        && unquoted.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
        && unquoted.bytes().any(|b| b.is_ascii_digit());
    numeric.then(|| unquoted.to_owned())
}

/// Either spelling of the budget amount (one documented example writes `ammount`).
#[derive(Debug, Default, Deserialize)]
pub struct WireBudget {
    #[serde(default, alias = "Amount", alias = "ammount", deserialize_with = "decimal")]
    pub amount: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WirePartnerUsageSummary {
    #[serde(default)]
    pub resource_id: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub resource_name: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, alias = "customerOverBudget")]
    pub customers_over_budget: i64,
    #[serde(default)]
    pub customers_trending_over: i64,
    #[serde(default, alias = "customersWithUsageBasedSubscriptions")]
    pub customers_with_usage_based_subscription: i64,
    #[serde(default)]
    pub billing_start_date: Option<String>,
    #[serde(default)]
    pub billing_end_date: Option<String>,
    #[serde(default, deserialize_with = "decimal")]
    pub total_cost: Option<String>,
    #[serde(default)]
    pub currency_locale: Option<String>,
    #[serde(default)]
    pub last_modified_date: Option<String>,
}

impl From<WirePartnerUsageSummary> for PartnerUsageSummary {
    fn from(w: WirePartnerUsageSummary) -> Self {
        PartnerUsageSummary {
            partner_id: w.resource_id.or(w.id).unwrap_or_default(),
            name: w.resource_name.or(w.name).unwrap_or_default(),
            customers_over_budget: w.customers_over_budget,
            customers_trending_over: w.customers_trending_over,
            customers_with_usage_based_subscriptions: w.customers_with_usage_based_subscription,
            billing_start_date: parse_timestamp(w.billing_start_date.as_deref()),
            billing_end_date: parse_timestamp(w.billing_end_date.as_deref()),
            total_cost: w.total_cost.unwrap_or_else(|| "0".to_owned()),
            currency_locale: w.currency_locale,
            last_modified_date: parse_timestamp(w.last_modified_date.as_deref()),
        }
    }
}

/// Currency fields (Azure plan records: `currencyCode` + `usdTotalCost`; MS-AZR-0145P: `currencyLocale`)
/// are inlined in each shape: serde's `flatten` cannot carry the exact-digit decimals.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireCustomerUsageRecord {
    #[serde(default)]
    pub budget: Option<WireBudget>,
    #[serde(default, deserialize_with = "decimal")]
    pub percent_used: Option<String>,
    #[serde(default)]
    pub is_upgraded: bool,
    #[serde(default)]
    pub resource_id: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub resource_name: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "decimal")]
    pub total_cost: Option<String>,
    #[serde(default)]
    pub currency_code: Option<String>,
    #[serde(default)]
    pub currency_locale: Option<String>,
    #[serde(default, alias = "USDTotalCost", deserialize_with = "decimal")]
    pub usd_total_cost: Option<String>,
    #[serde(default)]
    pub last_modified_date: Option<String>,
}

impl From<WireCustomerUsageRecord> for CustomerUsageRecord {
    fn from(w: WireCustomerUsageRecord) -> Self {
        CustomerUsageRecord {
            customer_id: w.resource_id.or(w.id).unwrap_or_default(),
            customer_name: w.resource_name.or(w.name).unwrap_or_default(),
            budget_amount: w.budget.and_then(|b| b.amount),
            percent_used: w.percent_used.unwrap_or_else(|| "0".to_owned()),
            is_upgraded: w.is_upgraded,
            total_cost: w.total_cost.unwrap_or_else(|| "0".to_owned()),
            currency: UsageCurrency {
                currency_code: w.currency_code,
                currency_locale: w.currency_locale,
                usd_total_cost: w.usd_total_cost,
            },
            last_modified_date: parse_timestamp(w.last_modified_date.as_deref()),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireCustomerUsageSummary {
    #[serde(default)]
    pub budget: Option<WireBudget>,
    #[serde(default)]
    pub resource_name: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub billing_start_date: Option<String>,
    #[serde(default)]
    pub billing_end_date: Option<String>,
    #[serde(default, deserialize_with = "decimal")]
    pub total_cost: Option<String>,
    #[serde(default)]
    pub currency_code: Option<String>,
    #[serde(default)]
    pub currency_locale: Option<String>,
    #[serde(default, alias = "USDTotalCost", deserialize_with = "decimal")]
    pub usd_total_cost: Option<String>,
    #[serde(default)]
    pub last_modified_date: Option<String>,
}

impl WireCustomerUsageSummary {
    pub fn into_model(self, customer_id: CustomerId) -> CustomerUsageSummary {
        CustomerUsageSummary {
            customer_id,
            customer_name: self.resource_name.or(self.name).unwrap_or_default(),
            budget_amount: self.budget.and_then(|b| b.amount),
            billing_start_date: parse_timestamp(self.billing_start_date.as_deref()),
            billing_end_date: parse_timestamp(self.billing_end_date.as_deref()),
            total_cost: self.total_cost.unwrap_or_else(|| "0".to_owned()),
            currency: UsageCurrency {
                currency_code: self.currency_code,
                currency_locale: self.currency_locale,
                usd_total_cost: self.usd_total_cost,
            },
            last_modified_date: parse_timestamp(self.last_modified_date.as_deref()),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireSubscriptionUsageRecord {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub offer_id: String,
    #[serde(default)]
    pub resource_id: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub resource_name: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub partner_on_record: Option<String>,
    #[serde(default, deserialize_with = "decimal")]
    pub total_cost: Option<String>,
    #[serde(default)]
    pub currency_code: Option<String>,
    #[serde(default)]
    pub currency_locale: Option<String>,
    #[serde(default, alias = "USDTotalCost", deserialize_with = "decimal")]
    pub usd_total_cost: Option<String>,
    #[serde(default)]
    pub last_modified_date: Option<String>,
}

impl From<WireSubscriptionUsageRecord> for SubscriptionUsageRecord {
    fn from(w: WireSubscriptionUsageRecord) -> Self {
        SubscriptionUsageRecord {
            subscription_id: w.resource_id.or(w.id).unwrap_or_default(),
            name: w.resource_name.or(w.name).unwrap_or_default(),
            status: w.status,
            offer_id: w.offer_id,
            partner_on_record: w.partner_on_record.filter(|p| !p.is_empty()),
            total_cost: w.total_cost.unwrap_or_else(|| "0".to_owned()),
            currency: UsageCurrency {
                currency_code: w.currency_code,
                currency_locale: w.currency_locale,
                usd_total_cost: w.usd_total_cost,
            },
            last_modified_date: parse_timestamp(w.last_modified_date.as_deref()),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireSubscriptionUsageSummary {
    #[serde(default)]
    pub resource_id: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub resource_name: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub billing_start_date: Option<String>,
    #[serde(default)]
    pub billing_end_date: Option<String>,
    #[serde(default, deserialize_with = "decimal")]
    pub total_cost: Option<String>,
    #[serde(default)]
    pub currency_code: Option<String>,
    #[serde(default)]
    pub currency_locale: Option<String>,
    #[serde(default, alias = "USDTotalCost", deserialize_with = "decimal")]
    pub usd_total_cost: Option<String>,
    #[serde(default)]
    pub last_modified_date: Option<String>,
}

impl From<WireSubscriptionUsageSummary> for SubscriptionUsageSummary {
    fn from(w: WireSubscriptionUsageSummary) -> Self {
        SubscriptionUsageSummary {
            subscription_id: w.resource_id.or(w.id).unwrap_or_default(),
            name: w.resource_name.or(w.name).unwrap_or_default(),
            billing_start_date: parse_timestamp(w.billing_start_date.as_deref()),
            billing_end_date: parse_timestamp(w.billing_end_date.as_deref()),
            total_cost: w.total_cost.unwrap_or_else(|| "0".to_owned()),
            currency: UsageCurrency {
                currency_code: w.currency_code,
                currency_locale: w.currency_locale,
                usd_total_cost: w.usd_total_cost,
            },
            last_modified_date: parse_timestamp(w.last_modified_date.as_deref()),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireMonthlyUsageRecord {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub subcategory: String,
    #[serde(default, deserialize_with = "decimal")]
    pub quantity_used: Option<String>,
    #[serde(default)]
    pub unit: String,
    #[serde(default, deserialize_with = "decimal")]
    pub total_cost: Option<String>,
    #[serde(default)]
    pub currency_locale: Option<String>,
}

impl From<WireMonthlyUsageRecord> for MonthlyUsageRecord {
    fn from(w: WireMonthlyUsageRecord) -> Self {
        MonthlyUsageRecord {
            id: w.id,
            name: w.name,
            category: w.category,
            subcategory: w.subcategory,
            quantity_used: w.quantity_used.unwrap_or_else(|| "0".to_owned()),
            unit: w.unit,
            total_cost: w.total_cost.unwrap_or_else(|| "0".to_owned()),
            currency_locale: w.currency_locale,
        }
    }
}

/// `resourceGroupName` is documented as a double, shown as a string: take either.
fn text_or_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(deserializer)? {
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireResourceUsageRecord {
    #[serde(default)]
    pub subscription_id: String,
    #[serde(default)]
    pub resource_uri: String,
    #[serde(default)]
    pub resource_type: String,
    #[serde(default)]
    pub entitlement_id: String,
    #[serde(default)]
    pub entitlement_name: String,
    #[serde(default, deserialize_with = "text_or_number")]
    pub resource_group_name: String,
    #[serde(default)]
    pub resource_name: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "decimal")]
    pub total_cost: Option<String>,
    #[serde(default)]
    pub currency_code: Option<String>,
    #[serde(default)]
    pub currency_locale: Option<String>,
    #[serde(default, alias = "USDTotalCost", deserialize_with = "decimal")]
    pub usd_total_cost: Option<String>,
    #[serde(default)]
    pub last_modified_date: Option<String>,
}

impl From<WireResourceUsageRecord> for ResourceUsageRecord {
    fn from(w: WireResourceUsageRecord) -> Self {
        ResourceUsageRecord {
            subscription_id: w.subscription_id,
            resource_uri: w.resource_uri,
            resource_type: w.resource_type,
            entitlement_id: w.entitlement_id,
            entitlement_name: w.entitlement_name,
            resource_group_name: w.resource_group_name,
            resource_name: w.resource_name.or(w.name).unwrap_or_default(),
            total_cost: w.total_cost.unwrap_or_else(|| "0".to_owned()),
            currency: UsageCurrency {
                currency_code: w.currency_code,
                currency_locale: w.currency_locale,
                usd_total_cost: w.usd_total_cost,
            },
            last_modified_date: parse_timestamp(w.last_modified_date.as_deref()),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireMeterUsageRecord {
    #[serde(default)]
    pub subscription_id: String,
    #[serde(default)]
    pub meter_id: String,
    #[serde(default)]
    pub meter_name: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub subcategory: String,
    #[serde(default, deserialize_with = "decimal")]
    pub quantity_used: Option<String>,
    #[serde(default)]
    pub unit: String,
    #[serde(default, deserialize_with = "decimal")]
    pub total_cost: Option<String>,
    #[serde(default)]
    pub currency_code: Option<String>,
    #[serde(default)]
    pub currency_locale: Option<String>,
    #[serde(default, alias = "USDTotalCost", deserialize_with = "decimal")]
    pub usd_total_cost: Option<String>,
    #[serde(default)]
    pub last_modified_date: Option<String>,
}

impl From<WireMeterUsageRecord> for MeterUsageRecord {
    fn from(w: WireMeterUsageRecord) -> Self {
        MeterUsageRecord {
            subscription_id: w.subscription_id,
            meter_id: w.meter_id,
            meter_name: w.meter_name,
            category: w.category,
            subcategory: w.subcategory,
            quantity_used: w.quantity_used.unwrap_or_else(|| "0".to_owned()),
            unit: w.unit,
            total_cost: w.total_cost.unwrap_or_else(|| "0".to_owned()),
            currency: UsageCurrency {
                currency_code: w.currency_code,
                currency_locale: w.currency_locale,
                usd_total_cost: w.usd_total_cost,
            },
            last_modified_date: parse_timestamp(w.last_modified_date.as_deref()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_keeps_every_digit_in_any_documented_form() {
        let record: WireCustomerUsageRecord = serde_json::from_str(
            r#"{"resourceId":"c","totalCost":123.45678901234567890123,"usdTotalCost":"99.5","percentUsed":null,"budget":{"ammount":100}}"#,
        )
        .expect("parses");
        let record = CustomerUsageRecord::from(record);
        assert_eq!(record.total_cost, "123.45678901234567890123");
        assert_eq!(record.currency.usd_total_cost.as_deref(), Some("99.5"));
        assert_eq!(record.percent_used, "0");
        assert_eq!(record.budget_amount.as_deref(), Some("100"));
        assert_eq!(decimal_text("\"abc\""), None);
    }
}
