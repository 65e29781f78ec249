//! What an export holds: which line items (an invoice's, an unbilled period's), how many, and how
//! they are split into blobs.
//!
//! Invoices, unbilled periods, item counts and customers are Partner Center's
//! ([`crate::billing_data`]): Graph's billed reconciliation of `G000024135` holds as many items as
//! v1's one-time billing line items of that invoice, its billed usage as many as v1's daily rated
//! usage. Only [`MILLION_ITEM_INVOICE`] is Graph's own.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use time::{Date, macros::date};

use super::PlannedFailure;
use crate::billing_data::{self, InvoiceType, LineKind, LineScope, Period};

/// A one-time invoice only Graph knows, whose billed exports (X1 and X3) hold [`MILLION_ITEMS`]
/// line items each (Contoso only): the volume test.
pub const MILLION_ITEM_INVOICE: &str = "G001000000";
pub const MILLION_ITEMS: u64 = 1_000_000;
const MILLION_PERIOD_START: Date = date!(2025 - 03 - 01);
const MILLION_PERIOD_DAYS: u32 = 31;
const MILLION_INVOICE_DATE: Date = date!(2025 - 04 - 08);

/// The four export actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ExportKind {
    /// X1 `reconciliation/billed/export`
    BilledReconciliation,
    /// X2 `reconciliation/unbilled/export`
    UnbilledReconciliation,
    /// X3 `usage/billed/export`
    BilledUsage,
    /// X4 `usage/unbilled/export`
    UnbilledUsage,
}

impl ExportKind {
    pub fn tag(self) -> &'static str {
        match self {
            Self::BilledReconciliation => "billedReconciliation",
            Self::UnbilledReconciliation => "unbilledReconciliation",
            Self::BilledUsage => "billedUsage",
            Self::UnbilledUsage => "unbilledUsage",
        }
    }

    pub fn is_usage(self) -> bool {
        matches!(self, Self::BilledUsage | Self::UnbilledUsage)
    }

    pub fn is_billed(self) -> bool {
        matches!(self, Self::BilledReconciliation | Self::BilledUsage)
    }

    /// The v1 line kind whose counts this export mirrors.
    fn line_kind(self) -> LineKind {
        if self.is_usage() { LineKind::OneTimeUsage } else { LineKind::OneTimeBilling }
    }

    /// The storage container; the documented example shows `billedusagefastpath`, the others
    /// follow its pattern (our invention).
    pub fn container(self) -> &'static str {
        match self {
            Self::BilledReconciliation => "billedreconfastpath",
            Self::UnbilledReconciliation => "unbilledreconfastpath",
            Self::BilledUsage => "billedusagefastpath",
            Self::UnbilledUsage => "unbilledusagefastpath",
        }
    }
}

/// `microsoft.graph.partners.billing.attributeSet`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttributeSet {
    Full,
    Basic,
}

impl AttributeSet {
    /// The wire value; enum members are matched exactly, as OData does.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "full" => Some(Self::Full),
            "basic" => Some(Self::Basic),
            _ => None,
        }
    }

    pub fn wire(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Basic => "basic",
        }
    }
}

/// `microsoft.graph.partners.billing.billingPeriod`: `current` or `last` (v1's `previous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BillingPeriod {
    Current,
    Last,
}

impl BillingPeriod {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "current" => Some(Self::Current),
            "last" => Some(Self::Last),
            _ => None,
        }
    }

    pub fn wire(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Last => "last",
        }
    }

    fn v1(self) -> Period {
        match self {
            Self::Current => Period::Current,
            Self::Last => Period::Previous,
        }
    }
}

/// A validated export request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRequest {
    pub kind: ExportKind,
    /// Billed exports.
    pub invoice_id: Option<String>,
    /// Unbilled exports.
    pub billing_period: Option<BillingPeriod>,
    pub currency_code: Option<String>,
    pub attribute_set: AttributeSet,
}

/// The line items of one export.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub kind: ExportKind,
    pub attribute_set: AttributeSet,
    pub partner_tenant: String,
    /// `InvoiceNumber` on the items: empty for unbilled ones.
    pub invoice_number: String,
    pub currency: String,
    pub period_start: Date,
    pub period_days: u32,
    /// `BillingMonth=yyyyMM` in the directory path.
    pub billing_month: String,
    /// `InvoiceVersion=yyyyMM` (the invoice's month) for billed exports.
    pub invoice_version: Option<String>,
    pub items: u64,
    /// Seeds the generator; the attribute set is not part of it, so `basic` lines are the `full`
    /// lines with fewer keys.
    pub seed: u64,
    /// Pricing (USD) to billing currency.
    pub exchange_rate: f64,
    pub customer_country: &'static str,
}

impl Dataset {
    pub fn period_end_exclusive(&self) -> Date {
        billing_data::add_days(self.period_start, i64::from(self.period_days))
    }

    /// The folder under the container, laid out as the documented example's.
    pub fn directory(&self) -> String {
        let scope = match &self.invoice_version {
            Some(version) => format!("InvoiceId={}/InvoiceVersion={version}", self.invoice_number),
            None => format!("Currency={}", self.currency),
        };
        format!(
            "v1/PartnerTenantId={}/BillingMonth={}/{scope}/Fragment={}/PartitionType=default",
            self.partner_tenant,
            self.billing_month,
            self.attribute_set.wire()
        )
    }
}

fn yyyymm(day: Date) -> String {
    format!("{:04}{:02}", day.year(), u8::from(day.month()))
}

fn exchange_rate(currency: &str) -> f64 {
    match currency {
        "EUR" => 0.9234,
        "GBP" => 0.7912,
        _ => 1.0,
    }
}

fn customer_country(currency: &str) -> &'static str {
    match currency {
        "EUR" => "DE",
        "GBP" => "GB",
        _ => "US",
    }
}

fn legacy_invoice(invoice_id: &str) -> PlannedFailure {
    // The answer Microsoft gave for a legacy invoice (techcommunity thread, §A.5).
    PlannedFailure {
        code: "5000".to_owned(),
        message: format!(
            "No reconciliation data available currently for Invoice {invoice_id}. Please try again later."
        ),
    }
}

/// The dataset an export covers, or the failure its operation ends in.
pub fn resolve(request: &ExportRequest, partner_tenant: &str, now: SystemTime) -> Result<Dataset, PlannedFailure> {
    let kind = request.kind;
    let base = |key: &str, invoice_number: String, currency: &str, start: Date, days: u32| Dataset {
        kind,
        attribute_set: request.attribute_set,
        partner_tenant: partner_tenant.to_ascii_lowercase(),
        invoice_number,
        currency: currency.to_owned(),
        period_start: start,
        period_days: days.max(1),
        billing_month: yyyymm(start),
        invoice_version: None,
        items: 0,
        seed: billing_data::fnv(&["graph", kind.tag(), key, &partner_tenant.to_ascii_lowercase()]),
        exchange_rate: exchange_rate(currency),
        customer_country: customer_country(currency),
    };
    if kind.is_billed() {
        let invoice_id = request.invoice_id.as_deref().unwrap_or_default();
        let contoso = partner_tenant.eq_ignore_ascii_case(billing_data::INVOICE_PARTNER_TENANT);
        if contoso && invoice_id.eq_ignore_ascii_case(MILLION_ITEM_INVOICE) {
            let mut dataset = base(
                MILLION_ITEM_INVOICE,
                MILLION_ITEM_INVOICE.to_owned(),
                "USD",
                MILLION_PERIOD_START,
                MILLION_PERIOD_DAYS,
            );
            dataset.invoice_version = Some(yyyymm(MILLION_INVOICE_DATE));
            dataset.items = MILLION_ITEMS;
            return Ok(dataset);
        }
        let Some(invoice) = billing_data::invoice(partner_tenant, invoice_id, now) else {
            return Err(if invoice_id.starts_with(['D', 'd']) {
                legacy_invoice(invoice_id)
            } else {
                PlannedFailure::no_data()
            });
        };
        if invoice.invoice_type == InvoiceType::Recurring {
            return Err(legacy_invoice(&invoice.id));
        }
        let items = invoice.count(kind.line_kind()).unwrap_or(0);
        if items == 0 {
            return Err(PlannedFailure::no_data());
        }
        let mut dataset =
            base(&invoice.id, invoice.id.to_string(), invoice.currency, invoice.period_start, invoice.period_days());
        dataset.invoice_version = Some(yyyymm(invoice.invoice_date));
        dataset.items = items;
        return Ok(dataset);
    }
    let period = request.billing_period.unwrap_or(BillingPeriod::Current);
    let currency = request.currency_code.as_deref().unwrap_or_default().to_ascii_uppercase();
    let items = billing_data::unbilled_count(partner_tenant, &currency, period.v1(), kind.line_kind());
    if items == 0 {
        return Err(PlannedFailure::no_data());
    }
    let scope = LineScope::unbilled(&currency, period.v1(), now);
    let mut dataset = base(&scope.key, String::new(), &currency, scope.period_start, scope.period_days);
    dataset.items = items;
    Ok(dataset)
}

/// One blob of an export: items `first..first + count`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlobPart {
    pub name: String,
    pub first_item: u64,
    pub item_count: u64,
}

/// Splits `items` into blobs of at most `max_per_blob`, and at least `min_blobs` when there are that
/// many items, of uneven sizes as a Spark job writes them. Names follow the documented example
/// (`part-00049-{job guid}.c000.json.gz`).
pub fn partition(items: u64, max_per_blob: u64, min_blobs: u32, seed: u64, job: &str) -> Vec<BlobPart> {
    let max_per_blob = max_per_blob.max(1);
    let count = items.div_ceil(max_per_blob).max(u64::from(min_blobs).min(items)).max(1);
    // Uneven weights, each within 25% of the mean: every part gets one item, the rest is shared
    // out by weight.
    let mut rng = billing_data::Rng::new(seed);
    let weights: Vec<u64> = (0..count).map(|_| 75 + rng.below(51)).collect();
    let total: u64 = weights.iter().sum();
    let spare = u128::from(items - count);
    let first_part = rng.below(200);
    let mut parts = Vec::with_capacity(count as usize);
    let mut shared_before = 0u64;
    let mut weight_before = 0u64;
    for (index, weight) in weights.iter().enumerate() {
        weight_before += weight;
        let shared_through = (spare * u128::from(weight_before) / u128::from(total)) as u64;
        parts.push(BlobPart {
            name: format!("part-{:05}-{job}.c000.json.gz", first_part + index as u64),
            first_item: 0,
            item_count: 1 + shared_through - shared_before,
        });
        shared_before = shared_through;
    }
    // Uneven weights could push a part past the maximum; move the excess on to the next parts.
    rebalance(&mut parts, max_per_blob);
    parts
}

/// Keeps every part at or below `max` (carrying the excess forward, the last part last) while
/// keeping the parts contiguous.
fn rebalance(parts: &mut [BlobPart], max: u64) {
    let mut carry = 0u64;
    for part in parts.iter_mut() {
        let wanted = part.item_count + carry;
        part.item_count = wanted.min(max);
        carry = wanted - part.item_count;
    }
    // Whatever is left over goes backwards into parts with room.
    for part in parts.iter_mut().rev() {
        if carry == 0 {
            break;
        }
        let room = max - part.item_count;
        let moved = room.min(carry);
        part.item_count += moved;
        carry -= moved;
    }
    // Only when the parts cannot hold everything (never, as `partition` counts them): the last
    // part takes the rest rather than lose items.
    if let Some(last) = parts.last_mut() {
        last.item_count += carry;
    }
    let mut first = 0;
    for part in parts.iter_mut() {
        part.first_item = first;
        first += part.item_count;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed;

    #[test]
    fn partitions_cover_every_item_once_within_the_bounds() {
        for (items, max, min) in [(1, 200_000, 3), (2, 10, 3), (160, 200_000, 3), (1_000_000, 200_000, 3), (7, 2, 1)] {
            let parts = partition(items, max, min, 42, "job");
            let mut next = 0;
            for part in &parts {
                assert_eq!(part.first_item, next, "{items}/{max}: contiguous");
                assert!(part.item_count >= 1 && part.item_count <= max, "{items}/{max}: {part:?}");
                next += part.item_count;
            }
            assert_eq!(next, items);
            assert!(parts.len() as u64 >= u64::from(min).min(items));
        }
        assert_eq!(partition(1_000_000, 200_000, 3, 1, "j").len(), 5);
    }

    #[test]
    fn invoices_resolve_to_partner_center_counts_and_legacy_ones_fail() {
        let now = SystemTime::now();
        let billed = |kind, id: &str, partner: &str| {
            let request = ExportRequest {
                kind,
                invoice_id: Some(id.to_owned()),
                billing_period: None,
                currency_code: None,
                attribute_set: AttributeSet::Full,
            };
            resolve(&request, partner, now)
        };
        let contoso = seed::CONTOSO_TENANT_ID;
        let usage = billed(ExportKind::BilledUsage, billing_data::INVOICE_ONETIME, contoso).expect("data");
        assert_eq!(usage.items, billing_data::ONETIME_USAGE_ITEMS);
        let recon = billed(ExportKind::BilledReconciliation, billing_data::INVOICE_ONETIME, contoso).expect("data");
        assert_eq!(recon.items, billing_data::ONETIME_BILLING_ITEMS);
        assert_eq!(
            recon.directory(),
            format!(
                "v1/PartnerTenantId={contoso}/BillingMonth=202412/InvoiceId=G000024135/InvoiceVersion=202501/Fragment=full/PartitionType=default"
            )
        );
        let legacy = billed(ExportKind::BilledUsage, billing_data::INVOICE_RECURRING, contoso).expect_err("legacy");
        assert_eq!(legacy.code, "5000");
        assert!(legacy.message.contains(billing_data::INVOICE_RECURRING), "{}", legacy.message);
        assert!(billed(ExportKind::BilledUsage, billing_data::INVOICE_ONETIME, seed::NORTHWIND_TENANT_ID).is_err());
        assert_eq!(billed(ExportKind::BilledUsage, MILLION_ITEM_INVOICE, contoso).expect("data").items, MILLION_ITEMS);
        let unbilled = ExportRequest {
            kind: ExportKind::UnbilledUsage,
            invoice_id: None,
            billing_period: Some(BillingPeriod::Last),
            currency_code: Some("eur".to_owned()),
            attribute_set: AttributeSet::Basic,
        };
        let dataset = resolve(&unbilled, contoso, now).expect("data");
        assert_eq!((dataset.items, dataset.invoice_number.as_str(), dataset.currency.as_str()), (250, "", "EUR"));
        let none = ExportRequest { currency_code: Some("JPY".to_owned()), ..unbilled };
        assert_eq!(resolve(&none, contoso, now).expect_err("no data"), PlannedFailure::no_data());
    }
}
