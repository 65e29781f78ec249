//! Billing exports (Microsoft Graph's reconciliation API v2) as callers see them, and the rule
//! that decides which new-commerce line items Partner Center's v1 routes no longer serve.

use serde::Serialize;
use serde_json::value::RawValue;
use time::{Date, Month, macros::date};
use utoipa::ToSchema;

use super::{
    CurrencyCode, InvoiceId,
    billing::{LineItemQuery, LineItemType, Provider},
};
use crate::error::{Error, Result};

/// The gateway's handle of an export, as a caller sent it: well formed, not yet opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportId(String);

impl ExportId {
    /// Longest id accepted (issued ids are about 250 characters).
    pub const MAX_LEN: usize = 1024;

    pub fn parse(field: &str, value: &str) -> Result<Self> {
        if value.is_empty() || value.len() > Self::MAX_LEN {
            return Err(Error::invalid_field(field, format!("must be 1 to {} characters", Self::MAX_LEN)));
        }
        if !value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(Error::invalid_field(field, "is not an export id (letters, digits, '-' and '_')"));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What an export holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ExportKind {
    /// New-commerce invoice reconciliation line items of one invoice.
    BilledReconciliation,
    /// New-commerce reconciliation line items not invoiced yet (current or last period).
    UnbilledReconciliation,
    /// Billed daily rated usage of one invoice.
    BilledUsage,
    /// Unbilled daily rated usage (current or last period).
    UnbilledUsage,
}

impl ExportKind {
    pub const ALL: [ExportKind; 4] =
        [Self::BilledReconciliation, Self::UnbilledReconciliation, Self::BilledUsage, Self::UnbilledUsage];

    /// Accepts `billedReconciliation` and `billed_reconciliation`, in any case.
    pub fn parse(field: &str, value: &str) -> Result<Self> {
        let folded = value.replace('_', "").to_ascii_lowercase();
        Self::ALL.into_iter().find(|k| k.as_str().to_ascii_lowercase() == folded).ok_or_else(|| {
            Error::invalid_field(
                field,
                "must be billedReconciliation, unbilledReconciliation, billedUsage or unbilledUsage",
            )
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BilledReconciliation => "billedReconciliation",
            Self::UnbilledReconciliation => "unbilledReconciliation",
            Self::BilledUsage => "billedUsage",
            Self::UnbilledUsage => "unbilledUsage",
        }
    }

    pub fn is_billed(self) -> bool {
        matches!(self, Self::BilledReconciliation | Self::BilledUsage)
    }

    pub fn is_usage(self) -> bool {
        matches!(self, Self::BilledUsage | Self::UnbilledUsage)
    }
}

/// Which attributes each line item carries (Graph's `attributeSet`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum AttributeSet {
    Full,
    Basic,
}

impl AttributeSet {
    pub fn parse(field: &str, value: &str) -> Result<Self> {
        match value.to_ascii_lowercase().as_str() {
            "full" => Ok(Self::Full),
            "basic" => Ok(Self::Basic),
            _ => Err(Error::invalid_field(field, "must be full or basic")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Basic => "basic",
        }
    }
}

/// The unbilled period: the month in progress or the one before (v1's `previous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum BillingPeriod {
    Current,
    Last,
}

impl BillingPeriod {
    pub fn parse(field: &str, value: &str) -> Result<Self> {
        match value.to_ascii_lowercase().as_str() {
            "current" => Ok(Self::Current),
            "last" => Ok(Self::Last),
            "previous" => Err(Error::invalid_field(field, "must be current or last (v1's previous is last)")),
            _ => Err(Error::invalid_field(field, "must be current or last")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Last => "last",
        }
    }
}

/// What to export, checked: billed kinds name an invoice, unbilled kinds a period and currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRequest {
    pub kind: ExportKind,
    pub scope: ExportScope,
    pub attribute_set: AttributeSet,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportScope {
    Invoice(InvoiceId),
    Unbilled { period: BillingPeriod, currency: CurrencyCode },
}

/// Raw caller input (either transport).
#[derive(Debug, Clone, Copy, Default)]
pub struct ExportArgs<'a> {
    pub kind: Option<&'a str>,
    pub invoice_id: Option<&'a str>,
    pub billing_period: Option<&'a str>,
    pub currency_code: Option<&'a str>,
    pub attribute_set: Option<&'a str>,
}

/// The request's field names in the caller's transport.
pub struct ExportFields {
    pub kind: &'static str,
    pub invoice_id: &'static str,
    pub billing_period: &'static str,
    pub currency_code: &'static str,
    pub attribute_set: &'static str,
}

impl ExportRequest {
    pub fn parse(args: &ExportArgs<'_>, fields: &ExportFields) -> Result<Self> {
        fn present(value: Option<&str>) -> Option<&str> {
            value.map(str::trim).filter(|v| !v.is_empty())
        }
        let kind = present(args.kind).ok_or_else(|| Error::invalid_field(fields.kind, "is required"))?;
        let kind = ExportKind::parse(fields.kind, kind)?;
        let attribute_set = present(args.attribute_set)
            .map(|v| AttributeSet::parse(fields.attribute_set, v))
            .transpose()?
            .unwrap_or(AttributeSet::Full);
        let scope = if kind.is_billed() {
            for (value, field) in
                [(args.billing_period, fields.billing_period), (args.currency_code, fields.currency_code)]
            {
                if present(value).is_some() {
                    return Err(Error::invalid_field(
                        field,
                        "applies only to unbilled exports; billed ones name an invoice",
                    ));
                }
            }
            let invoice = present(args.invoice_id)
                .ok_or_else(|| Error::invalid_field(fields.invoice_id, "is required for billed exports"))?;
            ExportScope::Invoice(InvoiceId::parse(fields.invoice_id, invoice)?)
        } else {
            if present(args.invoice_id).is_some() {
                return Err(Error::invalid_field(
                    fields.invoice_id,
                    "applies only to billed exports; unbilled ones name a billingPeriod and currencyCode",
                ));
            }
            let period = present(args.billing_period)
                .ok_or_else(|| Error::invalid_field(fields.billing_period, "is required for unbilled exports"))?;
            let currency = present(args.currency_code)
                .ok_or_else(|| Error::invalid_field(fields.currency_code, "is required for unbilled exports"))?;
            ExportScope::Unbilled {
                period: BillingPeriod::parse(fields.billing_period, period)?,
                currency: CurrencyCode::parse(fields.currency_code, currency)?,
            }
        };
        Ok(Self { kind, scope, attribute_set })
    }
}

/// Where an export stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ExportStatus {
    /// Microsoft is still preparing the data; poll again after `retryAfterSeconds`.
    Running,
    /// The data can be read.
    Succeeded,
    /// Microsoft gave up; `error` says why. Start a new export to try again.
    Failed,
}

impl ExportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

/// Microsoft's reason for a failed export (`code` `"5000"`: no data for the request).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportError {
    pub code: String,
    pub message: String,
}

/// A billing export, as the gateway reports it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BillingExport {
    /// The gateway's opaque handle of the export (`/v1/billing/exports/{exportId}`).
    pub id: String,
    pub kind: ExportKind,
    pub status: ExportStatus,
    /// Billed kinds: the invoice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_id: Option<String>,
    /// Unbilled kinds: `current` or `last`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing_period: Option<BillingPeriod>,
    /// Unbilled kinds: the currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_code: Option<String>,
    pub attribute_set: AttributeSet,
    /// When Microsoft started the export, as Microsoft wrote it (ISO 8601; the zone may be missing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_date_time: Option<String>,
    /// When its status last changed, as Microsoft wrote it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_action_date_time: Option<String>,
    /// Number of line items, once known: from the manifest when Microsoft gives per-file counts,
    /// else after the gateway has read the export to its end once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row_count: Option<u64>,
    /// Number of data files (succeeded exports).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blob_count: Option<u32>,
    /// Why the export failed (failed exports).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ExportError>,
    /// Running exports: seconds to wait before asking again (also the `Retry-After` header).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
}

/// One line item of an export: a JSON object whose keys are Microsoft's attribute names in
/// camelCase (`customerId`, `billingPreTaxTotal`, `pcToBcExchangeRate`), matched whatever case
/// Microsoft wrote them in, and whose numbers are decimal strings carrying Microsoft's exact digits.
#[derive(Debug, Clone)]
pub struct ExportLineItem {
    pub raw: Box<RawValue>,
}

impl Serialize for ExportLineItem {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.raw.serialize(serializer)
    }
}

impl utoipa::PartialSchema for ExportLineItem {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder};
        ObjectBuilder::new()
            .description(Some(
                "One line item of a billing export. Keys are Microsoft's attribute names in camelCase \
                 (reconciliation: `partnerId`, `customerId`, `invoiceNumber`, `productId`, `skuId`, `chargeType`, \
                 `unitPrice`, `quantity`, `subtotal`, `taxTotal`, `total`, `currency`, `referenceId`, ...; usage: \
                 `customerId`, `subscriptionId`, `meterId`, `usageDate`, `quantity`, `unitPrice`, `billingPreTaxTotal`, \
                 `resourceUri`, ...), matched case-insensitively whatever spelling Microsoft used (`BenefitOrderID` \
                 and `BenefitOrderId` are both `benefitOrderId`; `MPNID` is `mpnId`); unknown keys keep their \
                 spelling with a lower-case first letter. Every number is a string holding Microsoft's exact digits.",
            ))
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .into()
    }
}

impl ToSchema for ExportLineItem {}

// ---------------------------------------------------------------------------------------------
// Which v1 line items moved to the exports.

/// The first billing period Partner Center's v1 line-item routes no longer serve for new
/// commerce: "periods after March 2025" (graph-billing-v2.md A.12).
pub const CUTOVER_PERIOD_START: Date = date!(2025 - 04 - 01);

/// Whether a v1 line-item query is still served by Partner Center's v1 routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V1LineItems {
    Served,
    /// Only the billing export of this kind has these line items.
    MovedTo(ExportKind),
}

/// The v1/v2 split for a v1 line-item `query` whose billing period starts on `period_start`:
/// - legacy commerce (`office`, `azure`) stays on v1 for every period;
/// - new commerce (`onetime`) billed reconciliation, billed daily rated usage and unbilled daily
///   rated usage of periods from April 2025 on moved to the exports;
/// - unbilled reconciliation (v1 `onetime` billing line items, unbilled) has no announced
///   cut-over and stays on v1 (the export serves it too);
/// - earlier periods stay on v1 (before February 2024 for reconciliation and September 2022 for
///   usage the exports do not have them at all).
pub fn v1_line_items(query: &LineItemQuery, billed: bool, period_start: Date) -> V1LineItems {
    if query.provider != Provider::OneTime || period_start < CUTOVER_PERIOD_START {
        return V1LineItems::Served;
    }
    match (query.line_item_type, billed) {
        (LineItemType::Billing, true) => V1LineItems::MovedTo(ExportKind::BilledReconciliation),
        (LineItemType::Usage, true) => V1LineItems::MovedTo(ExportKind::BilledUsage),
        (LineItemType::Usage, false) => V1LineItems::MovedTo(ExportKind::UnbilledUsage),
        (LineItemType::Billing, false) => V1LineItems::Served,
    }
}

/// The first day of the unbilled period v1 calls `current` or `previous`, on `today` (UTC).
pub fn unbilled_period_start(period: super::billing::Period, today: Date) -> Date {
    let month_start = today.replace_day(1).unwrap_or(today);
    match period {
        super::billing::Period::Current => month_start,
        super::billing::Period::Previous => {
            let (year, month) = match today.month() {
                Month::January => (today.year() - 1, Month::December),
                other => (today.year(), other.previous()),
            };
            Date::from_calendar_date(year, month, 1).unwrap_or(month_start)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::billing::{LineItemArgs, LineItemFields, Period};

    const REST: ExportFields = ExportFields {
        kind: "kind",
        invoice_id: "invoiceId",
        billing_period: "billingPeriod",
        currency_code: "currencyCode",
        attribute_set: "attributeSet",
    };

    fn args<'a>(kind: &'a str, invoice: &'a str, period: &'a str, currency: &'a str) -> ExportArgs<'a> {
        ExportArgs {
            kind: Some(kind),
            invoice_id: Some(invoice),
            billing_period: Some(period),
            currency_code: Some(currency),
            attribute_set: None,
        }
    }

    fn field(a: ExportArgs<'_>) -> String {
        ExportRequest::parse(&a, &REST).expect_err("invalid").field_violations()[0].field.clone()
    }

    #[test]
    fn billed_exports_name_an_invoice_and_unbilled_ones_a_period_and_currency() {
        let billed = ExportRequest::parse(&args("billedUsage", "G000024135", "", ""), &REST).expect("valid");
        assert_eq!(billed.kind, ExportKind::BilledUsage);
        assert_eq!(billed.attribute_set, AttributeSet::Full, "Graph's default");
        let unbilled = ExportRequest::parse(&args("unbilled_reconciliation", "", "last", "usd"), &REST).expect("valid");
        assert!(
            matches!(unbilled.scope, ExportScope::Unbilled { period: BillingPeriod::Last, ref currency } if currency.as_str() == "USD")
        );
        assert_eq!(field(args("", "G1", "", "")), "kind");
        assert_eq!(field(args("billedStuff", "G1", "", "")), "kind");
        assert_eq!(field(args("billedReconciliation", "", "", "")), "invoiceId");
        assert_eq!(field(args("billedReconciliation", "G/1", "", "")), "invoiceId");
        assert_eq!(field(args("billedReconciliation", "G1", "current", "")), "billingPeriod");
        assert_eq!(field(args("unbilledUsage", "G1", "current", "USD")), "invoiceId");
        assert_eq!(field(args("unbilledUsage", "", "previous", "USD")), "billingPeriod");
        assert_eq!(field(args("unbilledUsage", "", "current", "")), "currencyCode");
        assert_eq!(field(args("unbilledUsage", "", "current", "DOLLAR")), "currencyCode");
        let mut with_set = args("billedUsage", "G1", "", "");
        with_set.attribute_set = Some("everything");
        assert_eq!(field(with_set), "attributeSet");
    }

    const V1: LineItemFields = LineItemFields {
        provider: "provider",
        line_item_type: "type",
        currency_code: "currencyCode",
        period: "period",
    };

    fn query(provider: &str, kind: &str, unbilled: bool) -> LineItemQuery {
        let args = LineItemArgs {
            provider: Some(provider),
            line_item_type: Some(kind),
            currency_code: Some("USD"),
            period: Some(if unbilled { "current" } else { "" }),
        };
        LineItemQuery::parse(&args, &V1, unbilled).expect("valid query")
    }

    #[test]
    fn new_commerce_after_march_2025_moved_and_everything_else_stays() {
        let (march, april) = (date!(2025 - 03 - 01), date!(2025 - 04 - 01));
        let moved = |q: &LineItemQuery, billed, start| v1_line_items(q, billed, start);
        let recon = query("onetime", "billing_line_items", false);
        let usage = query("onetime", "usage_line_items", false);
        let unbilled_usage = query("onetime", "usage_line_items", true);
        let unbilled_recon = query("onetime", "billing_line_items", true);
        assert_eq!(moved(&recon, true, march), V1LineItems::Served);
        assert_eq!(moved(&recon, true, april), V1LineItems::MovedTo(ExportKind::BilledReconciliation));
        assert_eq!(moved(&usage, true, march), V1LineItems::Served);
        assert_eq!(moved(&usage, true, date!(2026 - 11 - 01)), V1LineItems::MovedTo(ExportKind::BilledUsage));
        assert_eq!(moved(&unbilled_usage, false, april), V1LineItems::MovedTo(ExportKind::UnbilledUsage));
        assert_eq!(moved(&unbilled_recon, false, april), V1LineItems::Served, "no announced cut-over");
        for legacy in [
            query("office", "billing_line_items", false),
            query("azure", "billing_line_items", false),
            query("azure", "usage_line_items", false),
        ] {
            assert_eq!(moved(&legacy, true, date!(2026 - 11 - 01)), V1LineItems::Served, "{legacy:?}");
        }
    }

    #[test]
    fn unbilled_periods_are_calendar_months_before_today() {
        assert_eq!(unbilled_period_start(Period::Current, date!(2026 - 12 - 01)), date!(2026 - 12 - 01));
        assert_eq!(unbilled_period_start(Period::Previous, date!(2026 - 12 - 15)), date!(2026 - 11 - 01));
        assert_eq!(unbilled_period_start(Period::Previous, date!(2026 - 01 - 31)), date!(2025 - 12 - 01));
    }
}
