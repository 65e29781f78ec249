//! Invoices, summaries, estimate links and reconciliation line items.

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::InvoiceId;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceDetail {
    /// billing_line_items, usage_line_items
    pub invoice_line_item_type: String,
    /// office, azure, one_time, marketplace
    pub billing_provider: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Invoice {
    pub id: String,
    #[serde(with = "super::time_format::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub invoice_date: Option<OffsetDateTime>,
    #[serde(with = "super::time_format::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub billing_period_start_date: Option<OffsetDateTime>,
    #[serde(with = "super::time_format::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub billing_period_end_date: Option<OffsetDateTime>,
    /// Decimal string.
    pub total_charges: String,
    /// Decimal string (negative when a payment was received).
    pub paid_amount: String,
    pub currency_code: String,
    pub currency_symbol: String,
    /// invoice, void_note, adjustment_note
    pub document_type: String,
    /// Recurring, OneTime
    pub invoice_type: String,
    pub invoice_details: Vec<InvoiceDetail>,
    #[schema(no_recursion)]
    pub amendments: Vec<Invoice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amends_of: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceSummary {
    pub currency_code: String,
    pub currency_symbol: String,
    pub balance_amount: String,
    #[serde(with = "super::time_format::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub accounting_date: Option<OffsetDateTime>,
    #[serde(with = "super::time_format::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub first_invoice_creation_date: Option<OffsetDateTime>,
    #[serde(with = "super::time_format::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_payment_date: Option<OffsetDateTime>,
    pub last_payment_amount: String,
    #[serde(with = "super::time_format::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub latest_invoice_date: Option<OffsetDateTime>,
}

/// Where current or previous unbilled line items can be read, as this gateway's query.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceEstimateLink {
    /// daily_rated_usage, non_consumption
    #[serde(rename = "type")]
    pub link_type: String,
    pub title: String,
    pub description: String,
    /// current, previous
    pub period: String,
    pub provider: String,
    pub line_item_type: String,
    pub currency_code: String,
    /// The gateway path that lists these line items.
    pub href: String,
}

/// Who billed the line items (`provider`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Office,
    Azure,
    /// New commerce (licenses, Azure plan, Marketplace) on one invoice.
    OneTime,
    /// Marketplace daily-rated usage (Partner Center's estimate links point here).
    Marketplace,
    /// Every provider's unbilled reconciliation (Partner Center's estimate links point here).
    All,
}

/// Which kind of line items (`type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineItemType {
    Billing,
    Usage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Current,
    Previous,
}

impl Provider {
    pub fn parse(field: &str, value: &str) -> Result<Self> {
        match value.to_ascii_lowercase().replace('_', "").as_str() {
            "office" => Ok(Self::Office),
            "azure" => Ok(Self::Azure),
            "onetime" => Ok(Self::OneTime),
            "marketplace" => Ok(Self::Marketplace),
            "all" => Ok(Self::All),
            _ => Err(Error::invalid_field(field, "must be office, azure, onetime, marketplace or all")),
        }
    }

    /// The upstream query value, as Partner Center's own links spell it.
    pub fn wire(self) -> &'static str {
        match self {
            Self::Office => "office",
            Self::Azure => "azure",
            Self::OneTime => "onetime",
            Self::Marketplace => "Marketplace",
            Self::All => "all",
        }
    }

    /// The gateway's query value (lower case).
    pub fn name(self) -> &'static str {
        match self {
            Self::Marketplace => "marketplace",
            other => other.wire(),
        }
    }

    /// New commerce's providers: priced per currency and period, with unbilled items.
    fn is_new_commerce(self) -> bool {
        matches!(self, Self::OneTime | Self::Marketplace | Self::All)
    }
}

impl LineItemType {
    pub fn parse(field: &str, value: &str) -> Result<Self> {
        match value.to_ascii_lowercase().replace('_', "").as_str() {
            "billinglineitems" | "billing" => Ok(Self::Billing),
            "usagelineitems" | "usage" => Ok(Self::Usage),
            _ => Err(Error::invalid_field(field, "must be billing_line_items or usage_line_items")),
        }
    }

    pub fn wire(self) -> &'static str {
        match self {
            Self::Billing => "billinglineitems",
            Self::Usage => "usagelineitems",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Billing => "billing_line_items",
            Self::Usage => "usage_line_items",
        }
    }
}

impl Period {
    pub fn parse(field: &str, value: &str) -> Result<Self> {
        match value.to_ascii_lowercase().as_str() {
            "current" => Ok(Self::Current),
            "previous" => Ok(Self::Previous),
            _ => Err(Error::invalid_field(field, "must be current or previous")),
        }
    }

    pub fn wire(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Previous => "previous",
        }
    }
}

/// Which line items to read, checked against the combinations Partner Center serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineItemQuery {
    pub provider: Provider,
    pub line_item_type: LineItemType,
    pub currency_code: Option<String>,
    pub period: Option<Period>,
}

/// Raw caller input (either transport) for a line-item query.
#[derive(Debug, Clone, Default)]
pub struct LineItemArgs<'a> {
    pub provider: Option<&'a str>,
    pub line_item_type: Option<&'a str>,
    pub currency_code: Option<&'a str>,
    pub period: Option<&'a str>,
}

/// Field names of the line-item query in the caller's transport.
pub struct LineItemFields {
    pub provider: &'static str,
    pub line_item_type: &'static str,
    pub currency_code: &'static str,
    pub period: &'static str,
}

impl LineItemQuery {
    /// Billed line items of an invoice (`unbilled == false`) or the unbilled ones.
    pub fn parse(args: &LineItemArgs<'_>, fields: &LineItemFields, unbilled: bool) -> Result<Self> {
        fn required<'v>(value: Option<&'v str>, field: &str) -> Result<&'v str> {
            value.filter(|v| !v.is_empty()).ok_or_else(|| Error::invalid_field(field, "is required"))
        }
        let provider = Provider::parse(fields.provider, required(args.provider, fields.provider)?)?;
        let line_item_type =
            LineItemType::parse(fields.line_item_type, required(args.line_item_type, fields.line_item_type)?)?;
        let currency_code = args
            .currency_code
            .filter(|c| !c.is_empty())
            .map(|c| {
                if c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()) {
                    Ok(c.to_ascii_uppercase())
                } else {
                    Err(Error::invalid_field(fields.currency_code, "must be a three-letter currency code such as USD"))
                }
            })
            .transpose()?;
        let period = args.period.filter(|p| !p.is_empty()).map(|p| Period::parse(fields.period, p)).transpose()?;
        if unbilled && !provider.is_new_commerce() {
            return Err(Error::invalid_field(
                fields.provider,
                "unbilled line items exist for onetime, marketplace and all",
            ));
        }
        match (provider, line_item_type) {
            (Provider::Office, LineItemType::Usage) => {
                return Err(Error::invalid_field(fields.line_item_type, "office has billing_line_items only"));
            }
            (Provider::Marketplace, LineItemType::Billing) => {
                return Err(Error::invalid_field(fields.line_item_type, "marketplace has usage_line_items only"));
            }
            (Provider::All, LineItemType::Usage) => {
                return Err(Error::invalid_field(fields.line_item_type, "all has billing_line_items only"));
            }
            _ => {}
        }
        if provider.is_new_commerce() {
            if currency_code.is_none() && (unbilled || line_item_type == LineItemType::Usage) {
                return Err(Error::invalid_field(fields.currency_code, "is required for new-commerce line items"));
            }
            if unbilled && period.is_none() {
                return Err(Error::invalid_field(fields.period, "is required for unbilled line items"));
            }
        } else if period.is_some() {
            return Err(Error::invalid_field(fields.period, "applies only to onetime, marketplace and all"));
        }
        Ok(Self { provider, line_item_type, currency_code, period })
    }

    /// The page size Partner Center accepts for these items (2000 for line items).
    pub fn binding(&self) -> String {
        format!(
            "{}|{}|{}|{}",
            self.provider.wire(),
            self.line_item_type.wire(),
            self.currency_code.as_deref().unwrap_or(""),
            self.period.map_or("", Period::wire)
        )
    }
}

/// One reconciliation line item, exactly as Partner Center sent it (its own field names and
/// types, `attributes.objectType` naming the kind). Serialized verbatim, never re-encoded.
#[derive(Debug, Clone)]
pub struct InvoiceLineItem {
    /// Its kind (`attributes.objectType`), e.g. `OneTimeInvoiceLineItem`; empty when unnamed.
    pub kind: String,
    pub raw: Box<RawValue>,
}

impl utoipa::PartialSchema for InvoiceLineItem {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder};
        ObjectBuilder::new()
            .description(Some(
                "A line item exactly as Partner Center sends it; `attributes.objectType` names the kind \
                 (LicenseBasedLineItem, UsageBasedLineItem, DailyUsageLineItem, OneTimeInvoiceLineItem, DailyRatedUsageLineItem)",
            ))
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .into()
    }
}

impl ToSchema for InvoiceLineItem {}

impl Serialize for InvoiceLineItem {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.raw.serialize(serializer)
    }
}

/// Which invoice: a real id or the unbilled period.
#[derive(Debug, Clone)]
pub enum InvoiceRef {
    Billed(InvoiceId),
    Unbilled,
}

impl InvoiceRef {
    pub fn path_segment(&self) -> &str {
        match self {
            Self::Billed(id) => id.as_str(),
            Self::Unbilled => "unbilled",
        }
    }
}

/// A statement PDF on its way from Partner Center.
pub struct Statement {
    pub content_type: String,
    pub file_name: String,
    pub content_length: Option<u64>,
    pub body: std::pin::Pin<Box<dyn futures::Stream<Item = Result<bytes::Bytes>> + Send>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const REST_FIELDS: LineItemFields = LineItemFields {
        provider: "provider",
        line_item_type: "type",
        currency_code: "currencyCode",
        period: "period",
    };

    fn args<'a>(provider: &'a str, kind: &'a str, currency: &'a str, period: &'a str) -> LineItemArgs<'a> {
        LineItemArgs {
            provider: Some(provider),
            line_item_type: Some(kind),
            currency_code: Some(currency),
            period: Some(period),
        }
    }

    #[test]
    fn the_documented_combinations_parse_and_others_name_the_field() {
        assert!(LineItemQuery::parse(&args("office", "billing_line_items", "", ""), &REST_FIELDS, false).is_ok());
        assert!(LineItemQuery::parse(&args("azure", "usage_line_items", "", ""), &REST_FIELDS, false).is_ok());
        assert!(
            LineItemQuery::parse(&args("OneTime", "UsageLineItems", "usd", "previous"), &REST_FIELDS, false).is_ok()
        );
        assert!(
            LineItemQuery::parse(&args("onetime", "billing_line_items", "USD", "current"), &REST_FIELDS, true).is_ok()
        );
        // The combinations Partner Center's estimate links name, as spelled there.
        for (provider, kind) in [("Marketplace", "UsageLineItems"), ("all", "billinglineitems")] {
            let query = LineItemQuery::parse(&args(provider, kind, "USD", "current"), &REST_FIELDS, true);
            assert!(query.is_ok(), "{provider} {kind}: {query:?}");
        }
        let field = |a: LineItemArgs<'_>, unbilled| {
            LineItemQuery::parse(&a, &REST_FIELDS, unbilled).expect_err("invalid").field_violations()[0].field.clone()
        };
        assert_eq!(field(args("office", "usage_line_items", "", ""), false), "type");
        assert_eq!(field(args("azure", "billing_line_items", "", ""), true), "provider");
        assert_eq!(field(args("onetime", "usage_line_items", "", ""), false), "currencyCode");
        assert_eq!(field(args("onetime", "billing_line_items", "USD", ""), true), "period");
        assert_eq!(field(args("marketplace", "billing_line_items", "", ""), false), "type");
        assert_eq!(field(args("all", "usage_line_items", "USD", "current"), true), "type");
        assert_eq!(field(args("nope", "usage_line_items", "", ""), false), "provider");
        assert_eq!(field(args("onetime", "usage_line_items", "DOLLARS", ""), false), "currencyCode");
        assert_eq!(field(args("office", "billing_line_items", "", "current"), false), "period");
    }
}
