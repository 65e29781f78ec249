//! The partner's invoices, the (provider, type) kinds of their line items, the unbilled period,
//! and [`LineScope`]: where generated items live.

use std::time::SystemTime;

use time::{Date, macros::date};

use super::{
    dates::{add_days, month_days, month_start, today},
    random::fnv,
};
use crate::seed;

/// The partner the simulated invoices belong to; other partners have none.
pub const INVOICE_PARTNER_TENANT: &str = seed::CONTOSO_TENANT_ID;
/// Recurring (legacy) invoice, USD: office billing, azure billing and azure usage, one amendment.
pub const INVOICE_RECURRING: &str = "D02005YFHI";
/// Its adjustment note (listed only inside `amendments`).
pub const INVOICE_RECURRING_AMENDMENT: &str = "D0200B7X2Q";
/// The next month's recurring invoice, USD, unpaid.
pub const INVOICE_RECURRING_NEXT: &str = "D0200AUS32";
/// A recurring invoice in EUR with office billing only.
pub const INVOICE_RECURRING_EUR: &str = "D0200E1U2K";
/// One-time (modern) invoice, USD: onetime billing and usage line items.
pub const INVOICE_ONETIME: &str = "G000024135";
/// One-time invoice in EUR.
pub const INVOICE_ONETIME_EUR: &str = "G000027011";
/// The big one-time invoice: [`INVOICE_LARGE_ITEMS`] billing and as many usage line items.
pub const INVOICE_LARGE: &str = "G000100000";
pub const INVOICE_LARGE_ITEMS: u64 = 100_000;

pub const RECURRING_OFFICE_ITEMS: u64 = 120;
pub const RECURRING_AZURE_BILLING_ITEMS: u64 = 45;
pub const RECURRING_AZURE_USAGE_ITEMS: u64 = 1_350;
pub const ONETIME_BILLING_ITEMS: u64 = 160;
pub const ONETIME_USAGE_ITEMS: u64 = 2_600;

/// Unbilled line items per (currency, period): (billing, usage). Other currencies have none.
pub const UNBILLED: [(&str, Period, u64, u64); 4] = [
    ("USD", Period::Current, 320, 4_500),
    ("USD", Period::Previous, 75, 2_100),
    ("EUR", Period::Current, 30, 600),
    ("EUR", Period::Previous, 10, 250),
];

/// Default and maximum page size of line-item collections (documented: 2000).
pub const LINE_ITEM_PAGE_MAX: usize = 2000;

/// One (billing provider, line item type) family of line items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineKind {
    /// `office` + `billing_line_items` → `LicenseBasedLineItem` (offset paging).
    OfficeBilling,
    /// `azure` + `billing_line_items` → `UsageBasedLineItem` (offset paging).
    AzureBilling,
    /// `azure` + `usage_line_items` → `DailyUsageLineItem` (offset paging).
    AzureUsage,
    /// `one_time` + `billing_line_items` → `OneTimeInvoiceLineItem` (seek paging).
    OneTimeBilling,
    /// `one_time` + `usage_line_items` → `DailyRatedUsageLineItem` (seek paging).
    OneTimeUsage,
}

impl LineKind {
    /// `billingProvider` in `invoiceDetails`.
    pub fn provider_wire(self) -> &'static str {
        match self {
            Self::OfficeBilling => "office",
            Self::AzureBilling | Self::AzureUsage => "azure",
            Self::OneTimeBilling | Self::OneTimeUsage => "one_time",
        }
    }

    /// `billingProvider` on the items themselves: the documented `DailyRatedUsageLineItem`
    /// examples (billed and unbilled, [sdk] and [kv]) all say `marketplace`.
    pub fn item_provider_wire(self) -> &'static str {
        match self {
            Self::OneTimeUsage => "marketplace",
            other => other.provider_wire(),
        }
    }

    pub fn line_type_wire(self) -> &'static str {
        match self {
            Self::OfficeBilling | Self::AzureBilling | Self::OneTimeBilling => "billing_line_items",
            Self::AzureUsage | Self::OneTimeUsage => "usage_line_items",
        }
    }

    pub fn object_type(self) -> &'static str {
        match self {
            Self::OfficeBilling => "LicenseBasedLineItem",
            Self::AzureBilling => "UsageBasedLineItem",
            Self::AzureUsage => "DailyUsageLineItem",
            Self::OneTimeBilling => "OneTimeInvoiceLineItem",
            Self::OneTimeUsage => "DailyRatedUsageLineItem",
        }
    }

    /// The provider as the query string and the legacy path spell it.
    pub fn provider_query(self) -> &'static str {
        match self {
            Self::OfficeBilling => "office",
            Self::AzureBilling | Self::AzureUsage => "azure",
            Self::OneTimeBilling | Self::OneTimeUsage => "onetime",
        }
    }

    pub fn line_type_query(self) -> &'static str {
        match self {
            Self::OfficeBilling | Self::AzureBilling | Self::OneTimeBilling => "billinglineitems",
            Self::AzureUsage | Self::OneTimeUsage => "usagelineitems",
        }
    }

    /// `Office/BillingLineItems` as in the documented `invoiceDetails` self links.
    pub fn path_segments(self) -> &'static str {
        match self {
            Self::OfficeBilling => "Office/BillingLineItems",
            Self::AzureBilling => "Azure/BillingLineItems",
            Self::AzureUsage => "Azure/UsageLineItems",
            Self::OneTimeBilling => "OneTime/BillingLineItems",
            Self::OneTimeUsage => "OneTime/UsageLineItems",
        }
    }

    /// OneTime collections page with `seekOperation=Next` + `MS-ContinuationToken`; the legacy
    /// office/azure ones with `offset`.
    pub fn seek_paged(self) -> bool {
        matches!(self, Self::OneTimeBilling | Self::OneTimeUsage)
    }

    pub fn tag(self) -> &'static str {
        match self {
            Self::OfficeBilling => "office-billing",
            Self::AzureBilling => "azure-billing",
            Self::AzureUsage => "azure-usage",
            Self::OneTimeBilling => "onetime-billing",
            Self::OneTimeUsage => "onetime-usage",
        }
    }

    pub fn from_tag(tag: &str) -> Option<Self> {
        [Self::OfficeBilling, Self::AzureBilling, Self::AzureUsage, Self::OneTimeBilling, Self::OneTimeUsage]
            .into_iter()
            .find(|k| k.tag() == tag)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceType {
    Recurring,
    OneTime,
}

impl InvoiceType {
    pub fn wire(self) -> &'static str {
        match self {
            Self::Recurring => "Recurring",
            Self::OneTime => "OneTime",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Current,
    Previous,
}

impl Period {
    pub fn parse(value: &str) -> Option<Self> {
        if value.eq_ignore_ascii_case("current") {
            Some(Self::Current)
        } else if value.eq_ignore_ascii_case("previous") {
            Some(Self::Previous)
        } else {
            None
        }
    }

    pub fn query(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Previous => "previous",
        }
    }

    /// As estimate links spell it.
    pub fn title(self) -> &'static str {
        match self {
            Self::Current => "Current",
            Self::Previous => "Previous",
        }
    }
}

#[derive(Debug)]
pub struct AmendmentSpec {
    pub id: &'static str,
    pub invoice_date: Date,
    pub total_charges: f64,
}

#[derive(Debug)]
pub struct InvoiceSpec {
    pub id: &'static str,
    pub invoice_type: InvoiceType,
    pub currency: &'static str,
    pub currency_symbol: &'static str,
    pub invoice_date: Date,
    /// First and last day of the billing period (inclusive).
    pub period_start: Date,
    pub period_end: Date,
    /// Invented headline numbers; they are not the sum of the generated line items.
    pub total_charges: f64,
    /// Negative when paid (the resource table: "negative when a payment was received").
    pub paid_amount: f64,
    pub lines: &'static [(LineKind, u64)],
    pub amendment: Option<AmendmentSpec>,
}

impl InvoiceSpec {
    pub fn count(&self, kind: LineKind) -> Option<u64> {
        self.lines.iter().find(|(k, _)| *k == kind).map(|(_, n)| *n)
    }

    pub fn period_days(&self) -> u32 {
        let days = self.period_end.to_julian_day() - self.period_start.to_julian_day() + 1;
        u32::try_from(days).unwrap_or(1).max(1)
    }

    pub fn scope(&self) -> LineScope {
        LineScope {
            key: self.id.to_owned(),
            invoice_number: self.id.to_owned(),
            currency: self.currency.to_owned(),
            period_start: self.period_start,
            period_days: self.period_days(),
        }
    }
}

/// The partner's invoices, newest first (the order `GET /v1/invoices` lists them in).
pub const INVOICES: [InvoiceSpec; 6] = [
    InvoiceSpec {
        id: INVOICE_LARGE,
        invoice_type: InvoiceType::OneTime,
        currency: "USD",
        currency_symbol: "$",
        invoice_date: date!(2025 - 03 - 08),
        period_start: date!(2025 - 02 - 01),
        period_end: date!(2025 - 02 - 28),
        total_charges: 2_846_517.09,
        paid_amount: 0.0,
        lines: &[(LineKind::OneTimeBilling, INVOICE_LARGE_ITEMS), (LineKind::OneTimeUsage, INVOICE_LARGE_ITEMS)],
        amendment: None,
    },
    InvoiceSpec {
        id: INVOICE_RECURRING_NEXT,
        invoice_type: InvoiceType::Recurring,
        currency: "USD",
        currency_symbol: "$",
        invoice_date: date!(2025 - 02 - 08),
        period_start: date!(2025 - 01 - 08),
        period_end: date!(2025 - 02 - 07),
        total_charges: 18_230.4,
        paid_amount: 0.0,
        lines: &[
            (LineKind::OfficeBilling, RECURRING_OFFICE_ITEMS + 10),
            (LineKind::AzureBilling, RECURRING_AZURE_BILLING_ITEMS + 3),
            (LineKind::AzureUsage, RECURRING_AZURE_USAGE_ITEMS + 50),
        ],
        amendment: None,
    },
    InvoiceSpec {
        id: INVOICE_RECURRING_EUR,
        invoice_type: InvoiceType::Recurring,
        currency: "EUR",
        currency_symbol: "€",
        invoice_date: date!(2025 - 02 - 08),
        period_start: date!(2025 - 01 - 08),
        period_end: date!(2025 - 02 - 07),
        total_charges: 3_412.75,
        paid_amount: -3_412.75,
        lines: &[(LineKind::OfficeBilling, 35)],
        amendment: None,
    },
    InvoiceSpec {
        id: INVOICE_ONETIME_EUR,
        invoice_type: InvoiceType::OneTime,
        currency: "EUR",
        currency_symbol: "€",
        invoice_date: date!(2025 - 02 - 10),
        period_start: date!(2025 - 01 - 01),
        period_end: date!(2025 - 01 - 31),
        total_charges: 9_871.2,
        paid_amount: -9_871.2,
        lines: &[(LineKind::OneTimeBilling, 40), (LineKind::OneTimeUsage, 900)],
        amendment: None,
    },
    InvoiceSpec {
        id: INVOICE_ONETIME,
        invoice_type: InvoiceType::OneTime,
        currency: "USD",
        currency_symbol: "$",
        invoice_date: date!(2025 - 01 - 10),
        period_start: date!(2024 - 12 - 01),
        period_end: date!(2024 - 12 - 31),
        total_charges: 58_660.31,
        paid_amount: -58_660.31,
        lines: &[(LineKind::OneTimeBilling, ONETIME_BILLING_ITEMS), (LineKind::OneTimeUsage, ONETIME_USAGE_ITEMS)],
        amendment: None,
    },
    InvoiceSpec {
        id: INVOICE_RECURRING,
        invoice_type: InvoiceType::Recurring,
        currency: "USD",
        currency_symbol: "$",
        invoice_date: date!(2025 - 01 - 08),
        period_start: date!(2024 - 12 - 08),
        period_end: date!(2025 - 01 - 07),
        total_charges: 17_904.62,
        paid_amount: -17_904.62,
        lines: &[
            (LineKind::OfficeBilling, RECURRING_OFFICE_ITEMS),
            (LineKind::AzureBilling, RECURRING_AZURE_BILLING_ITEMS),
            (LineKind::AzureUsage, RECURRING_AZURE_USAGE_ITEMS),
        ],
        amendment: Some(AmendmentSpec {
            id: INVOICE_RECURRING_AMENDMENT,
            invoice_date: date!(2025 - 01 - 20),
            total_charges: -412.5,
        }),
    },
];

/// The partner's invoice by id; accepts the `Recurring-`/`OneTime-` prefixed form the documented
/// self links use (`/invoices/Recurring-D02005YFHI`).
pub fn invoice(partner_tenant: &str, id: &str) -> Option<&'static InvoiceSpec> {
    if !partner_tenant.eq_ignore_ascii_case(INVOICE_PARTNER_TENANT) {
        return None;
    }
    let bare = strip_prefix_ci(id, "Recurring-").or_else(|| strip_prefix_ci(id, "OneTime-")).unwrap_or(id);
    INVOICES.iter().find(|i| i.id.eq_ignore_ascii_case(bare))
}

fn strip_prefix_ci<'a>(value: &'a str, prefix: &str) -> Option<&'a str> {
    let head = value.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &value[prefix.len()..])
}

pub fn invoices_of(partner_tenant: &str) -> &'static [InvoiceSpec] {
    if partner_tenant.eq_ignore_ascii_case(INVOICE_PARTNER_TENANT) { &INVOICES } else { &[] }
}

/// How many unbilled items of a kind exist for a partner, currency and period.
pub fn unbilled_count(partner_tenant: &str, currency: &str, period: Period, kind: LineKind) -> u64 {
    if !partner_tenant.eq_ignore_ascii_case(INVOICE_PARTNER_TENANT) {
        return 0;
    }
    UNBILLED.iter().find(|(c, p, _, _)| c.eq_ignore_ascii_case(currency) && *p == period).map_or(
        0,
        |(_, _, billing, usage)| match kind {
            LineKind::OneTimeBilling => *billing,
            LineKind::OneTimeUsage => *usage,
            _ => 0,
        },
    )
}

/// Where generated items live: an invoice, or the unbilled period of one currency.
#[derive(Debug, Clone)]
pub struct LineScope {
    /// Seeds the generator: the invoice id, or `unbilled/USD/current`.
    pub key: String,
    /// `invoiceNumber` on the items: empty for unbilled ones.
    pub invoice_number: String,
    pub currency: String,
    pub period_start: Date,
    pub period_days: u32,
}

impl LineScope {
    /// The unbilled period: the current calendar month (up to today) or the previous one.
    pub fn unbilled(currency: &str, period: Period, now: SystemTime) -> Self {
        let today = today(now);
        let (start, days) = match period {
            Period::Current => {
                let start = month_start(today, 0);
                (start, u32::from(today.day()))
            }
            Period::Previous => {
                let start = month_start(today, 1);
                (start, month_days(start))
            }
        };
        let currency = currency.to_ascii_uppercase();
        Self {
            key: format!("unbilled/{currency}/{}", period.query()),
            invoice_number: String::new(),
            currency,
            period_start: start,
            period_days: days.max(1),
        }
    }

    pub(super) fn seed(&self, kind: LineKind) -> u64 {
        fnv(&[&self.key, kind.tag()])
    }

    pub(super) fn period_end_exclusive(&self) -> Date {
        add_days(self.period_start, i64::from(self.period_days))
    }

    /// Exchange rate from the pricing currency (USD) to the billing currency.
    pub(super) fn exchange_rate(&self) -> f64 {
        match self.currency.as_str() {
            "USD" => 1.0,
            "EUR" => 0.9234,
            "GBP" => 0.7912,
            _ => 1.0,
        }
    }

    pub(super) fn country(&self) -> &'static str {
        match self.currency.as_str() {
            "EUR" => "DE",
            "GBP" => "GB",
            _ => "US",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_invoice_period_spans_about_a_month() {
        for invoice in &INVOICES {
            assert!(invoice.period_days() >= 28, "{}", invoice.id);
        }
    }
}
