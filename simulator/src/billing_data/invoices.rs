//! The partner's invoices, the (provider, type) kinds of their line items, the unbilled period,
//! and [`LineScope`]: where generated items live.

use std::{borrow::Cow, time::SystemTime};

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

#[derive(Debug, Clone)]
pub struct AmendmentSpec {
    pub id: &'static str,
    pub invoice_date: Date,
    pub total_charges: f64,
}

#[derive(Debug, Clone)]
pub struct InvoiceSpec {
    pub id: Cow<'static, str>,
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
    pub lines: Cow<'static, [(LineKind, u64)]>,
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
            key: self.id.to_string(),
            invoice_number: self.id.to_string(),
            currency: self.currency.to_owned(),
            period_start: self.period_start,
            period_days: self.period_days(),
        }
    }
}

/// The fixed history of the partner's invoices, newest first; [`invoices_of`] lists the monthly
/// ones issued since before them.
pub static INVOICES: [InvoiceSpec; 6] = [
    InvoiceSpec {
        id: Cow::Borrowed(INVOICE_LARGE),
        invoice_type: InvoiceType::OneTime,
        currency: "USD",
        currency_symbol: "$",
        invoice_date: date!(2025 - 03 - 08),
        period_start: date!(2025 - 02 - 01),
        period_end: date!(2025 - 02 - 28),
        total_charges: 2_846_517.09,
        paid_amount: 0.0,
        lines: Cow::Borrowed(&[
            (LineKind::OneTimeBilling, INVOICE_LARGE_ITEMS),
            (LineKind::OneTimeUsage, INVOICE_LARGE_ITEMS),
        ]),
        amendment: None,
    },
    InvoiceSpec {
        id: Cow::Borrowed(INVOICE_RECURRING_NEXT),
        invoice_type: InvoiceType::Recurring,
        currency: "USD",
        currency_symbol: "$",
        invoice_date: date!(2025 - 02 - 08),
        period_start: date!(2025 - 01 - 08),
        period_end: date!(2025 - 02 - 07),
        total_charges: 18_230.4,
        paid_amount: 0.0,
        lines: Cow::Borrowed(&[
            (LineKind::OfficeBilling, RECURRING_OFFICE_ITEMS + 10),
            (LineKind::AzureBilling, RECURRING_AZURE_BILLING_ITEMS + 3),
            (LineKind::AzureUsage, RECURRING_AZURE_USAGE_ITEMS + 50),
        ]),
        amendment: None,
    },
    InvoiceSpec {
        id: Cow::Borrowed(INVOICE_RECURRING_EUR),
        invoice_type: InvoiceType::Recurring,
        currency: "EUR",
        currency_symbol: "€",
        invoice_date: date!(2025 - 02 - 08),
        period_start: date!(2025 - 01 - 08),
        period_end: date!(2025 - 02 - 07),
        total_charges: 3_412.75,
        paid_amount: -3_412.75,
        lines: Cow::Borrowed(&[(LineKind::OfficeBilling, 35)]),
        amendment: None,
    },
    InvoiceSpec {
        id: Cow::Borrowed(INVOICE_ONETIME_EUR),
        invoice_type: InvoiceType::OneTime,
        currency: "EUR",
        currency_symbol: "€",
        invoice_date: date!(2025 - 02 - 10),
        period_start: date!(2025 - 01 - 01),
        period_end: date!(2025 - 01 - 31),
        total_charges: 9_871.2,
        paid_amount: -9_871.2,
        lines: Cow::Borrowed(&[(LineKind::OneTimeBilling, 40), (LineKind::OneTimeUsage, 900)]),
        amendment: None,
    },
    InvoiceSpec {
        id: Cow::Borrowed(INVOICE_ONETIME),
        invoice_type: InvoiceType::OneTime,
        currency: "USD",
        currency_symbol: "$",
        invoice_date: date!(2025 - 01 - 10),
        period_start: date!(2024 - 12 - 01),
        period_end: date!(2024 - 12 - 31),
        total_charges: 58_660.31,
        paid_amount: -58_660.31,
        lines: Cow::Borrowed(&[
            (LineKind::OneTimeBilling, ONETIME_BILLING_ITEMS),
            (LineKind::OneTimeUsage, ONETIME_USAGE_ITEMS),
        ]),
        amendment: None,
    },
    InvoiceSpec {
        id: Cow::Borrowed(INVOICE_RECURRING),
        invoice_type: InvoiceType::Recurring,
        currency: "USD",
        currency_symbol: "$",
        invoice_date: date!(2025 - 01 - 08),
        period_start: date!(2024 - 12 - 08),
        period_end: date!(2025 - 01 - 07),
        total_charges: 17_904.62,
        paid_amount: -17_904.62,
        lines: Cow::Borrowed(&[
            (LineKind::OfficeBilling, RECURRING_OFFICE_ITEMS),
            (LineKind::AzureBilling, RECURRING_AZURE_BILLING_ITEMS),
            (LineKind::AzureUsage, RECURRING_AZURE_USAGE_ITEMS),
        ]),
        amendment: Some(AmendmentSpec {
            id: INVOICE_RECURRING_AMENDMENT,
            invoice_date: date!(2025 - 01 - 20),
            total_charges: -412.5,
        }),
    },
];

/// The first monthly invoices after the fixed history: the one-time invoice for March 2025 (the
/// month after [`INVOICE_LARGE`]'s) and the recurring one dated 2025-03-08 (a month after
/// [`INVOICE_RECURRING_NEXT`]). From April 2025 on, one-time periods are those whose line items
/// Partner Center serves only as Graph billing exports.
const MONTHLY_ONETIME_FIRST_PERIOD: Date = date!(2025 - 03 - 01);
const MONTHLY_RECURRING_FIRST_INVOICE: Date = date!(2025 - 03 - 08);
/// Monthly invoices are dated the 8th; a payment arrives 14 days later.
const INVOICE_DAY: u8 = 8;
const PAYMENT_DAYS: i64 = 14;

/// The partner's invoices on the simulated clock `now`, newest first (the order `GET /v1/invoices`
/// lists them in): [`INVOICES`] and the monthly invoices issued since.
pub fn invoices_of(partner_tenant: &str, now: SystemTime) -> Vec<Cow<'static, InvoiceSpec>> {
    if !partner_tenant.eq_ignore_ascii_case(INVOICE_PARTNER_TENANT) {
        return Vec::new();
    }
    let mut all: Vec<Cow<'static, InvoiceSpec>> = monthly_invoices(today(now)).into_iter().map(Cow::Owned).collect();
    all.extend(INVOICES.iter().map(Cow::Borrowed));
    // Newest first; on the same day the one-time invoice before the recurring one (a stable sort
    // keeps the rest in table order).
    let one_time_first = |i: &InvoiceSpec| i.invoice_type != InvoiceType::OneTime;
    all.sort_by(|a, b| b.invoice_date.cmp(&a.invoice_date).then_with(|| one_time_first(a).cmp(&one_time_first(b))));
    all
}

/// The partner's invoice by id on the simulated clock; accepts the `Recurring-`/`OneTime-`
/// prefixed form the documented self links use (`/invoices/Recurring-D02005YFHI`).
pub fn invoice(partner_tenant: &str, id: &str, now: SystemTime) -> Option<Cow<'static, InvoiceSpec>> {
    let bare = strip_prefix_ci(id, "Recurring-").or_else(|| strip_prefix_ci(id, "OneTime-")).unwrap_or(id);
    invoices_of(partner_tenant, now).into_iter().find(|i| i.id.eq_ignore_ascii_case(bare))
}

fn strip_prefix_ci<'a>(value: &'a str, prefix: &str) -> Option<&'a str> {
    let head = value.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &value[prefix.len()..])
}

/// The invoices issued monthly after the fixed history up to `today`: a one-time USD invoice for
/// each calendar month (dated the 8th of the next) and a recurring USD invoice for each month up
/// to the 7th (dated the 8th). Ids encode the month (`G320250301` is March 2025's one-time invoice,
/// `D3202504RC` the recurring one dated 2025-04-08); counts and amounts come from a hash of the
/// id, so every restart and every simulator agrees.
fn monthly_invoices(today: Date) -> Vec<InvoiceSpec> {
    let mut out = Vec::new();
    let mut period_start = MONTHLY_ONETIME_FIRST_PERIOD;
    loop {
        let next_month = add_days(period_start, i64::from(month_days(period_start)));
        let Some(invoice_date) = on_day(next_month, INVOICE_DAY) else { break };
        if invoice_date > today {
            break;
        }
        let id = format!("G3{:04}{:02}01", period_start.year(), u8::from(period_start.month()));
        let seed = fnv(&[&id]);
        let billing = 60 + seed % 140;
        let usage = 800 + (seed >> 16) % 2_200;
        out.push(monthly(
            id,
            InvoiceType::OneTime,
            invoice_date,
            period_start,
            add_days(next_month, -1),
            today,
            vec![(LineKind::OneTimeBilling, billing), (LineKind::OneTimeUsage, usage)],
        ));
        period_start = next_month;
    }
    let mut invoice_date = MONTHLY_RECURRING_FIRST_INVOICE;
    while invoice_date <= today {
        let previous = month_start(invoice_date, 1);
        let Some(period_start) = on_day(previous, INVOICE_DAY) else { break };
        let id = format!("D3{:04}{:02}RC", invoice_date.year(), u8::from(invoice_date.month()));
        let seed = fnv(&[&id]);
        out.push(monthly(
            id,
            InvoiceType::Recurring,
            invoice_date,
            period_start,
            add_days(invoice_date, -1),
            today,
            vec![
                (LineKind::OfficeBilling, RECURRING_OFFICE_ITEMS + seed % 20),
                (LineKind::AzureBilling, RECURRING_AZURE_BILLING_ITEMS + (seed >> 8) % 10),
                (LineKind::AzureUsage, RECURRING_AZURE_USAGE_ITEMS + (seed >> 16) % 300),
            ],
        ));
        let next = add_days(invoice_date, i64::from(month_days(month_start(invoice_date, 0))));
        match on_day(next, INVOICE_DAY) {
            Some(date) => invoice_date = date,
            None => break,
        }
    }
    out
}

fn monthly(
    id: String,
    invoice_type: InvoiceType,
    invoice_date: Date,
    period_start: Date,
    period_end: Date,
    today: Date,
    lines: Vec<(LineKind, u64)>,
) -> InvoiceSpec {
    let seed = fnv(&[&id, "total"]);
    let base = match invoice_type {
        InvoiceType::OneTime => 40_000,
        InvoiceType::Recurring => 15_000,
    };
    let cents = base * 100 + u32::try_from(seed % 2_000_000).unwrap_or(0);
    let total_charges = f64::from(cents) / 100.0;
    let paid = add_days(invoice_date, PAYMENT_DAYS) <= today;
    InvoiceSpec {
        id: Cow::Owned(id),
        invoice_type,
        currency: "USD",
        currency_symbol: "$",
        invoice_date,
        period_start,
        period_end,
        total_charges,
        paid_amount: if paid { -total_charges } else { 0.0 },
        lines: Cow::Owned(lines),
        amendment: None,
    }
}

/// `day` of the month `date` is in.
fn on_day(date: Date, day: u8) -> Option<Date> {
    Date::from_calendar_date(date.year(), date.month(), day).ok()
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

    fn at(day: Date) -> SystemTime {
        SystemTime::UNIX_EPOCH
            + std::time::Duration::from_secs(
                u64::try_from(day.midnight().assume_utc().unix_timestamp()).expect("after 1970"),
            )
    }

    fn ids(day: Date) -> Vec<String> {
        invoices_of(INVOICE_PARTNER_TENANT, at(day)).iter().map(|i| i.id.to_string()).collect()
    }

    #[test]
    fn every_invoice_period_spans_about_a_month() {
        for invoice in invoices_of(INVOICE_PARTNER_TENANT, at(date!(2026 - 12 - 01))) {
            assert!((28..=31).contains(&invoice.period_days()), "{}", invoice.id);
        }
    }

    #[test]
    fn invoices_are_issued_monthly_up_to_the_clock() {
        assert_eq!(ids(date!(2025 - 03 - 07)).len(), INVOICES.len(), "nothing issued yet");
        assert_eq!(ids(date!(2025 - 03 - 08))[..2], ["G000100000", "D3202503RC"], "the first monthly one");
        assert_eq!(ids(date!(2025 - 04 - 08))[..3], ["G320250301", "D3202504RC", "G000100000"]);
        let now = invoices_of(INVOICE_PARTNER_TENANT, at(date!(2026 - 12 - 01)));
        // One-time: March 2025 .. October 2026 (November's is dated December 8th); recurring: 2025-03-08 .. 2026-11-08.
        assert_eq!(now.len(), INVOICES.len() + 20 + 21);
        assert_eq!((&*now[0].id, &*now[1].id), ("G320261001", "D3202611RC"), "both dated 2026-11-08");
        assert_eq!(now[0].paid_amount, -now[0].total_charges, "paid 14 days after its date");
        let mid_november = invoices_of(INVOICE_PARTNER_TENANT, at(date!(2026 - 11 - 15)));
        assert_eq!((&*mid_november[0].id, mid_november[0].paid_amount), ("G320261001", 0.0), "not paid yet");
        assert!(now.windows(2).all(|w| w[0].invoice_date >= w[1].invoice_date), "newest first");
        let unique: std::collections::HashSet<&str> = now.iter().map(|i| &*i.id).collect();
        assert_eq!(unique.len(), now.len());
    }

    #[test]
    fn monthly_periods_follow_the_fixed_history_without_gaps() {
        let all = invoices_of(INVOICE_PARTNER_TENANT, at(date!(2026 - 12 - 01)));
        for kind in [InvoiceType::OneTime, InvoiceType::Recurring] {
            let usd: Vec<&InvoiceSpec> =
                all.iter().map(|i| &**i).filter(|i| i.invoice_type == kind && i.currency == "USD").collect();
            for pair in usd.windows(2) {
                let (newer, older) = (pair[0], pair[1]);
                if newer.id == INVOICE_ONETIME || older.id == INVOICE_ONETIME {
                    continue; // the fixed history skips January 2025's one-time invoice
                }
                assert_eq!(add_days(older.period_end, 1), newer.period_start, "{} follows {}", newer.id, older.id);
            }
        }
        let march = invoice(INVOICE_PARTNER_TENANT, "OneTime-g320250301", at(date!(2026 - 12 - 01))).expect("found");
        assert_eq!((march.period_start, march.period_end), (date!(2025 - 03 - 01), date!(2025 - 03 - 31)));
        assert!(march.count(LineKind::OneTimeUsage).is_some_and(|n| n >= 800));
        assert!(invoice(INVOICE_PARTNER_TENANT, "G320261101", at(date!(2026 - 12 - 01))).is_none(), "not issued yet");
        assert!(
            invoice(seed::NORTHWIND_TENANT_ID, "G320250301", at(date!(2026 - 12 - 01))).is_none(),
            "Contoso's only"
        );
    }
}
