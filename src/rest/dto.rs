//! REST shapes shared by several handlers: query strings and bodies as callers send them, each
//! parsed into the facade's typed values with the REST field names (camelCase).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use super::extract::parse_int;
use crate::{
    edge::REST_FIELDS,
    error::{Error, Result},
    model::{
        Country, PageRequest,
        agreement::{AgreementConfirmation, Contact},
        commerce::{AzurePlanOrder, CartLine, CartLineArgs, FriendlyName, IdempotencyKey},
        usage::BudgetAmount,
    },
};

/// The header that makes a purchase safe to repeat.
pub const IDEMPOTENCY_KEY: &str = REST_FIELDS.idempotency_key;

/// `pageSize` and `pageToken`, as every list takes them.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page; 0 or absent: the default (100); above the maximum (1000): the maximum.
    #[param(value_type = Option<i32>, minimum = 0)]
    pub page_size: Option<String>,
    /// `nextPageToken` of the previous page.
    pub page_token: Option<String>,
}

impl PageQuery {
    pub fn parse(&self) -> Result<PageRequest> {
        page_request(self.page_size.as_deref(), self.page_token.clone())
    }
}

/// `pageSize` and `pageToken` from a query that holds more parameters.
pub fn page_request(size: Option<&str>, token: Option<String>) -> Result<PageRequest> {
    PageRequest::parse(parse_int(REST_FIELDS.page.size, size)?, token, &REST_FIELDS.page)
}

/// A list without paging (Partner Center returns these whole).
#[derive(Debug, Serialize, ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// One line of a cart to create or replace.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CartLineInput {
    /// From an availability: `{productId}:{skuId}:{availabilityId}`.
    pub catalog_item_id: String,
    #[schema(value_type = i32, minimum = 1)]
    pub quantity: i64,
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
    pub fn parse(self) -> Result<Vec<CartLine>> {
        let lines = self
            .line_items
            .into_iter()
            .map(|line| CartLineArgs {
                catalog_item_id: line.catalog_item_id,
                quantity: line.quantity,
                billing_cycle: line.billing_cycle,
                term_duration: line.term_duration,
                friendly_name: line.friendly_name,
                provisioning_context: line.provisioning_context,
            })
            .collect();
        CartLine::parse_all(lines, &REST_FIELDS.cart)
    }
}

/// The body of `POST /v1/customers/{customerId}/azure-plans` (optional: an empty body or
/// `null` buys with the defaults).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"friendlyName": "Adventure Works Azure plan", "country": "CA"}))]
pub struct AzurePlanInput {
    /// A name for the plan.
    #[serde(default)]
    #[schema(example = "Adventure Works Azure plan")]
    pub friendly_name: Option<String>,
    /// ISO 3166 country of the catalog item (two letters); absent: the country of the
    /// customer's billing profile.
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z]{2}$", example = "CA")]
    pub country: Option<String>,
}

impl AzurePlanInput {
    /// With the `Idempotency-Key` header's value (absent: `None`).
    pub fn parse(self, idempotency_key: Option<&str>) -> Result<AzurePlanOrder> {
        Ok(AzurePlanOrder {
            idempotency_key: IdempotencyKey::parse(IDEMPOTENCY_KEY, idempotency_key)?,
            friendly_name: self.friendly_name.map(|name| FriendlyName::parse("friendlyName", &name)).transpose()?,
            country: self.country.map(|country| Country::parse("country", &country)).transpose()?,
        })
    }
}

/// The body of a budget update: a non-negative amount (number or decimal string), or `null` to
/// remove the budget.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SpendingBudgetInput {
    #[schema(value_type = Option<f64>, minimum = 0)]
    pub amount: Option<serde_json::Value>,
}

impl SpendingBudgetInput {
    /// `None`: remove the budget.
    pub fn parse(&self) -> Result<Option<BudgetAmount>> {
        let text = match &self.amount {
            None | Some(serde_json::Value::Null) => return Ok(None),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(_) => return Err(Error::invalid_field("amount", "must be a number, a decimal string or null")),
        };
        BudgetAmount::parse("amount", &text).map(Some)
    }
}

/// What a caller sends to confirm the Microsoft Customer Agreement.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfirmAgreement {
    pub primary_contact: Contact,
    /// Defaults to the current Microsoft Customer Agreement template.
    #[serde(default)]
    pub template_id: Option<String>,
    /// Defaults to now.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub date_agreed: Option<OffsetDateTime>,
}

impl ConfirmAgreement {
    pub fn parse(self) -> Result<AgreementConfirmation> {
        AgreementConfirmation::parse(self.primary_contact, self.template_id, self.date_agreed, &REST_FIELDS.agreement)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_bodies_take_numbers_strings_and_null() {
        let parse = |v: serde_json::Value| SpendingBudgetInput { amount: Some(v) }.parse();
        assert_eq!(
            parse(serde_json::json!(1500.5)).expect("number").map(|a| a.as_str().to_owned()),
            Some("1500.5".into())
        );
        assert_eq!(
            parse(serde_json::json!("0042.10")).expect("string").map(|a| a.as_str().to_owned()),
            Some("42.1".into())
        );
        assert!(parse(serde_json::Value::Null).expect("null").is_none());
        assert!(SpendingBudgetInput { amount: None }.parse().expect("absent").is_none());
        let error = parse(serde_json::json!(true)).expect_err("bool");
        assert_eq!(error.field_violations()[0].field, "amount");
    }
}
