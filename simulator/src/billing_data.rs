//! Deterministic, lazily generated billing data: the partner's invoices, their line items, the
//! unbilled period, and the shared state of the usage and invoice routes.
//!
//! Nothing here stores line items. Item `n` of an invoice (or of the unbilled period) and a line
//! kind is computed from `(scope, kind, n)` with a small PRNG ([`Rng`]), so an invoice can hold
//! 100,000 items and a page costs only its own items. The same inputs give the same item on every
//! run and every machine (FNV-1a + SplitMix64, no std hasher).
//!
//! Unique keys a consumer can use to check it received every item exactly once:
//! - `OneTimeInvoiceLineItem`: `referenceId` (and `alternateId`), unique per scope.
//! - `DailyRatedUsageLineItem`: the triple (`resourceUri`, `meterId`, `usageDate`).
//! - `DailyUsageLineItem`: the pair (`resourceGuid`, `usageDate`).
//! - `UsageBasedLineItem`: `detailLineItemId`; `LicenseBasedLineItem`: `orderId`.

use std::{
    collections::{HashMap, hash_map::RandomState},
    hash::BuildHasher,
    time::SystemTime,
};

use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use serde_json::{Number, Value, json};
use time::{Date, Month, OffsetDateTime, macros::date};

use super::{seed, wire::PcError};

// ---------------------------------------------------------------------------------------------
// Exported ids and counts (for tests and for the gateway's own tests).

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

/// The partner's MPN id on line items and usage records (the docs show 7-digit ids).
pub const PARTNER_MPN_ID: &str = "6543210";
pub const PARTNER_NAME: &str = "Contoso";
/// The Azure plan's catalog item (seeded catalog), the `offerId` of Azure plan usage records.
pub const AZURE_PLAN_OFFER_ID: &str = "DZH318Z0BPS6:0001:DZH318Z0BML6";

// ---------------------------------------------------------------------------------------------
// PRNG and derived ids.

/// SplitMix64: small, fast, good enough for fixtures, and the same everywhere.
#[derive(Debug, Clone)]
pub struct Rng(u64);

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(mix(seed))
    }

    /// The generator of item `n` within a scope.
    pub fn for_item(scope_seed: u64, n: u64) -> Self {
        Self(mix(scope_seed ^ mix(n.wrapping_add(1).wrapping_mul(GOLDEN))))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix(self.0)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn range(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }
}

/// FNV-1a over the parts (with a separator so `("ab","c") != ("a","bc")`).
pub fn fnv(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0xff)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// A version-4-shaped GUID; distinct `low` values below 2^56 give distinct GUIDs for one `high`
/// (the version and variant bits only touch `high` and the unused top byte of `low`).
pub fn guid(high: u64, low: u64) -> String {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&high.to_be_bytes());
    bytes[8..].copy_from_slice(&low.to_be_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

/// `n` shuffled within `bits` bits: a bijection on `0..2^bits` (odd multiplier, then xor), so
/// item numbers make unique but unremarkable-looking ids.
pub fn scramble(seed: u64, n: u64, bits: u32) -> u64 {
    let mask = if bits >= 64 { u64::MAX } else { (1u64 << bits) - 1 };
    (n.wrapping_mul(GOLDEN) ^ mix(seed)) & mask
}

/// A stable GUID named by its parts.
pub fn derived_guid(parts: &[&str]) -> String {
    let hash = fnv(parts);
    guid(hash, mix(hash) & 0x00ff_ffff_ffff_ffff)
}

/// The Partner Center subscription id of a customer's Azure plan, as the usage and invoice data
/// name it until the subscription store provides real ones (see `usage::usage_subscriptions`).
pub fn azure_plan_id(customer: &str) -> String {
    derived_guid(&["azure-plan", &customer.to_ascii_lowercase()])
}

/// The commerce subscription id of a customer's MS-AZR-0145P subscription (same caveat).
pub fn legacy_subscription_id(customer: &str) -> String {
    derived_guid(&["ms-azr-0145p", &customer.to_ascii_lowercase()])
}

/// Azure subscription (entitlement) `k` under a customer's plan.
pub fn entitlement_id(customer: &str, k: u64) -> String {
    derived_guid(&["entitlement", &customer.to_ascii_lowercase(), &k.to_string()])
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A JSON number; non-finite values (never produced here) become 0.
pub fn num(x: f64) -> Value {
    Number::from_f64(x).map_or(json!(0), Value::Number)
}

// ---------------------------------------------------------------------------------------------
// Dates.

pub fn add_days(day: Date, n: i64) -> Date {
    let julian = i64::from(day.to_julian_day()).saturating_add(n);
    i32::try_from(julian).ok().and_then(|j| Date::from_julian_day(j).ok()).unwrap_or(day)
}

/// `2025-01-08T00:00:00Z`
pub fn iso(day: Date) -> String {
    iso_at(day, 0)
}

/// ISO-8601 UTC with a time of day given in seconds.
pub fn iso_at(day: Date, seconds: u32) -> String {
    let seconds = seconds % 86_400;
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        day.year(),
        u8::from(day.month()),
        day.day(),
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// Partner Center's "no date" value.
pub const NO_DATE: &str = "0001-01-01T00:00:00";

pub fn today(now: SystemTime) -> Date {
    OffsetDateTime::from(now).date()
}

/// The first day of the month `months_back` months before `day`'s month.
pub fn month_start(day: Date, months_back: u32) -> Date {
    let mut year = day.year();
    let mut month = day.month();
    for _ in 0..months_back {
        if month == Month::January {
            year -= 1;
        }
        month = month.previous();
    }
    Date::from_calendar_date(year, month, 1).unwrap_or(day)
}

pub fn month_days(start: Date) -> u32 {
    u32::from(start.month().length(start.year()))
}

// ---------------------------------------------------------------------------------------------
// Kinds, invoices and the unbilled period.

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

    fn seed(&self, kind: LineKind) -> u64 {
        fnv(&[&self.key, kind.tag()])
    }

    fn period_end_exclusive(&self) -> Date {
        add_days(self.period_start, i64::from(self.period_days))
    }

    /// Exchange rate from the pricing currency (USD) to the billing currency.
    fn exchange_rate(&self) -> f64 {
        match self.currency.as_str() {
            "USD" => 1.0,
            "EUR" => 0.9234,
            "GBP" => 0.7912,
            _ => 1.0,
        }
    }

    fn country(&self) -> &'static str {
        match self.currency.as_str() {
            "EUR" => "DE",
            "GBP" => "GB",
            _ => "US",
        }
    }
}

/// Line item `n` (0-based) of `kind` in `scope`.
pub fn line_item(scope: &LineScope, kind: LineKind, n: u64) -> Value {
    match kind {
        LineKind::OfficeBilling => license_based(scope, n),
        LineKind::AzureBilling => usage_based(scope, n),
        LineKind::AzureUsage => daily_usage(scope, n),
        LineKind::OneTimeBilling => one_time(scope, n),
        LineKind::OneTimeUsage => daily_rated(scope, n),
    }
}

/// Items `offset..offset+size` (clipped to `total`).
pub fn line_items(scope: &LineScope, kind: LineKind, total: u64, offset: u64, size: usize) -> Vec<Value> {
    let end = total.min(offset.saturating_add(size as u64));
    (offset..end).map(|n| line_item(scope, kind, n)).collect()
}

// ---------------------------------------------------------------------------------------------
// Customers the generated items belong to.

pub struct BillingCustomer {
    pub id: String,
    pub name: String,
    pub domain: String,
}

/// Contoso's Azure plan customers with billing: the named ready ones, then the generated ones.
const NAMED_BILLING_CUSTOMERS: [(&str, &str, &str); 3] = [
    (seed::CUSTOMER_FABRIKAM, "Fabrikam, Inc.", "fabrikam.onmicrosoft.com"),
    (seed::CUSTOMER_ADVENTURE_WORKS, "Adventure Works Cycles", "adventureworks.onmicrosoft.com"),
    (seed::CUSTOMER_WINGTIP, "Wingtip Toys", "wingtiptoys.onmicrosoft.com"),
];
pub const BILLING_CUSTOMERS: u64 = NAMED_BILLING_CUSTOMERS.len() as u64 + seed::GENERATED_CUSTOMERS as u64;

/// Customer `k` of the roster (wraps around); generated ones are named as `seed::customers` names them.
pub fn billing_customer(k: u64) -> BillingCustomer {
    let k = k % BILLING_CUSTOMERS;
    match NAMED_BILLING_CUSTOMERS.get(k as usize) {
        Some((id, name, domain)) => {
            BillingCustomer { id: (*id).to_owned(), name: (*name).to_owned(), domain: (*domain).to_owned() }
        }
        None => {
            let n = k - NAMED_BILLING_CUSTOMERS.len() as u64;
            BillingCustomer {
                id: format!("c0ffee00-0000-4000-8000-{n:012x}"),
                name: format!("Generated Customer {n:03}"),
                domain: format!("generated{n:03}.onmicrosoft.com"),
            }
        }
    }
}

/// The one MS-AZR-0145P customer: legacy azure billing and usage belong to it.
fn legacy_customer() -> BillingCustomer {
    BillingCustomer {
        id: seed::CUSTOMER_LITWARE.to_owned(),
        name: "Litware, Inc.".to_owned(),
        domain: "litware.onmicrosoft.com".to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Azure services and meters (shared with the usage records).

pub struct MeterSpec {
    pub category: &'static str,
    pub subcategory: &'static str,
    pub name: &'static str,
    pub unit: &'static str,
    /// USD per unit.
    pub price: f64,
    /// Daily quantity range.
    pub quantity: (f64, f64),
}

pub struct ServiceSpec {
    pub consumed_service: &'static str,
    pub resource_type: &'static str,
    pub prefix: &'static str,
    pub product_id: &'static str,
    pub sku_id: &'static str,
    pub availability_id: &'static str,
    pub product_name: &'static str,
    pub sku_name: &'static str,
    pub meters: [MeterSpec; 3],
}

const fn meter(
    category: &'static str,
    subcategory: &'static str,
    name: &'static str,
    unit: &'static str,
    price: f64,
    quantity: (f64, f64),
) -> MeterSpec {
    MeterSpec { category, subcategory, name, unit, price, quantity }
}

pub const SERVICES: [ServiceSpec; 6] = [
    ServiceSpec {
        consumed_service: "Microsoft.Compute",
        resource_type: "Microsoft.Compute/virtualMachines",
        prefix: "vm",
        product_id: "DZH318Z0BQ4Z",
        sku_id: "00G1",
        availability_id: "DZH318Z0BQ4C",
        product_name: "Virtual Machines Dv3 Series",
        sku_name: "D2 v3",
        meters: [
            meter("Virtual Machines", "Dv3/DSv3 Series", "D2 v3/D2s v3", "1 Hour", 0.096, (1.0, 24.0)),
            meter("Virtual Machines", "Dv3/DSv3 Series Windows", "D2 v3/D2s v3", "1 Hour", 0.188, (1.0, 24.0)),
            meter("Bandwidth", "Inter-Region", "Standard Data Transfer Out", "1 GB", 0.087, (0.01, 40.0)),
        ],
    },
    ServiceSpec {
        consumed_service: "Microsoft.Storage",
        resource_type: "Microsoft.Storage/storageAccounts",
        prefix: "st",
        product_id: "DZH318Z0BNVX",
        sku_id: "002X",
        availability_id: "DZH318Z0BNC6",
        product_name: "Storage Accounts",
        sku_name: "Standard LRS",
        meters: [
            meter("Storage", "Standard Page Blob", "LRS Data Stored", "1 GB/Month", 0.045, (0.5, 400.0)),
            meter("Storage", "Tiered Block Blob", "Hot LRS Write Operations", "10K", 0.055, (0.1, 90.0)),
            meter("Storage", "Files", "LRS Data Stored", "1 GB/Month", 0.06, (0.5, 120.0)),
        ],
    },
    ServiceSpec {
        consumed_service: "Microsoft.Sql",
        resource_type: "Microsoft.Sql/servers/databases",
        prefix: "sqldb",
        product_id: "DZH318Z0BQPS",
        sku_id: "00CW",
        availability_id: "DZH318Z0BMRF",
        product_name: "SQL Database Single/Elastic Pool General Purpose - Compute Gen5",
        sku_name: "vCore",
        meters: [
            meter(
                "SQL Database",
                "Single/Elastic Pool General Purpose - Compute Gen5",
                "vCore",
                "1 Hour",
                0.5065,
                (2.0, 96.0),
            ),
            meter(
                "SQL Database",
                "Single/Elastic Pool General Purpose - Storage",
                "Data Stored",
                "1 GB/Month",
                0.115,
                (1.0, 250.0),
            ),
            meter(
                "SQL Database",
                "Single/Elastic Pool PITR Backup Storage",
                "LRS Data Stored",
                "1 GB/Month",
                0.1,
                (0.5, 120.0),
            ),
        ],
    },
    ServiceSpec {
        consumed_service: "Microsoft.Web",
        resource_type: "Microsoft.Web/sites",
        prefix: "app",
        product_id: "DZH318Z0BQMB",
        sku_id: "0015",
        availability_id: "DZH318Z0BMNC",
        product_name: "Azure App Service Standard Plan",
        sku_name: "S1",
        meters: [
            meter("Azure App Service", "Standard Plan", "S1 App", "1 Hour", 0.1, (1.0, 24.0)),
            meter("Azure App Service", "Premium v3 Plan", "P1 v3 App", "1 Hour", 0.2, (1.0, 24.0)),
            meter("Bandwidth", "Rtn Preference: MGN", "Standard Data Transfer Out", "1 GB", 0.08, (0.01, 25.0)),
        ],
    },
    ServiceSpec {
        consumed_service: "Microsoft.DocumentDB",
        resource_type: "Microsoft.DocumentDB/databaseAccounts",
        prefix: "cosmos",
        product_id: "DZH318Z0BNVS",
        sku_id: "0032",
        availability_id: "DZH318Z0BMT0",
        product_name: "Azure Cosmos DB",
        sku_name: "RUs",
        meters: [
            meter("Azure Cosmos DB", "RUs", "100 RU/s", "100/Hour", 0.008, (24.0, 960.0)),
            meter("Azure Cosmos DB", "Data Stored", "Data Stored", "1 GB/Month", 0.25, (0.1, 80.0)),
            meter("Azure Cosmos DB", "Serverless", "1M Request Units", "1M", 0.25, (0.1, 30.0)),
        ],
    },
    ServiceSpec {
        consumed_service: "Microsoft.OperationalInsights",
        resource_type: "Microsoft.OperationalInsights/workspaces",
        prefix: "log",
        product_id: "DZH318Z0BQ6C",
        sku_id: "0003",
        availability_id: "DZH318Z0BMM0",
        product_name: "Log Analytics",
        sku_name: "Pay-as-you-go",
        meters: [
            meter("Log Analytics", "Pay-as-you-go", "Data Ingestion", "1 GB", 2.76, (0.01, 8.0)),
            meter("Log Analytics", "Analytics Logs", "Data Retention", "1 GB/Month", 0.1, (0.5, 60.0)),
            meter("Azure Monitor", "Alerts", "Standard Log Alerts Evaluated", "1/Month", 0.5, (0.1, 4.0)),
        ],
    },
];

/// (ARM location, meter region) pairs.
pub const REGIONS: [(&str, &str); 10] = [
    ("westus2", "US West 2"),
    ("eastus", "US East"),
    ("eastus2", "US East 2"),
    ("centralus", "US Central"),
    ("westeurope", "EU West"),
    ("northeurope", "EU North"),
    ("uksouth", "UK South"),
    ("germanywestcentral", "DE West Central"),
    ("australiaeast", "AU East"),
    ("japaneast", "JA East"),
];

/// Price multiplier of a region.
pub fn region_factor(region: usize) -> f64 {
    1.0 + (region % 4) as f64 * 0.035
}

pub fn meter_id(service: usize, meter: usize, region: usize) -> String {
    let (service, meter, region) = (service.to_string(), meter.to_string(), region.to_string());
    derived_guid(&["meter", &service, &meter, &region])
}

// ---------------------------------------------------------------------------------------------
// The five line item kinds.

/// `DailyRatedUsageLineItem` (billed I6 / unbilled I7). Item `n` is day `n % days` of meter
/// `(n / days) % 3` of resource `n / (3 * days)`, which makes (`resourceUri`, `meterId`,
/// `usageDate`) unique within the scope.
fn daily_rated(scope: &LineScope, n: u64) -> Value {
    let seed = scope.seed(LineKind::OneTimeUsage);
    let days = u64::from(scope.period_days);
    let day = n % days;
    let meter_index = ((n / days) % 3) as usize;
    let resource = n / days / 3;
    // Per resource: who owns it, what it is, where it lives.
    let mut r = Rng::for_item(seed ^ 0x5eed_0000_0000_0001, resource);
    let customer = billing_customer(r.below(BILLING_CUSTOMERS));
    let service_index = r.index(SERVICES.len());
    let service = &SERVICES[service_index];
    let region_index = r.index(REGIONS.len());
    let (location, meter_region) = REGIONS[region_index];
    let environment = ["prod", "dev", "test", "shared"][r.index(4)];
    let resource_group = format!("rg-{environment}-{:02}", r.below(20));
    let entitlement = entitlement_id(&customer.id, r.below(2));
    let tags = if r.chance(0.5) {
        format!("{{\"env\":\"{environment}\",\"costCenter\":\"cc-{:03}\"}}", r.below(50))
    } else {
        String::new()
    };
    let resource_name = format!("{}-{resource:05}", service.prefix);
    let resource_uri = format!(
        "/subscriptions/{entitlement}/resourceGroups/{resource_group}/providers/{}/{resource_name}",
        service.resource_type
    );
    let meter = &service.meters[meter_index];
    // Per item: the day's quantity and price.
    let mut i = Rng::for_item(seed, n);
    let quantity = i.range(meter.quantity.0, meter.quantity.1);
    let unit_price = meter.price * region_factor(region_index);
    let pec = i.chance(0.3);
    let rate_of_pec = if pec { 0.15 } else { 0.0 };
    let effective_unit_price = unit_price * (1.0 - rate_of_pec);
    let pricing_total = effective_unit_price * quantity;
    let rate = scope.exchange_rate();
    let usage_date = add_days(scope.period_start, day as i64);
    let meter_type = if meter.unit.starts_with(|c: char| c.is_ascii_digit()) {
        meter.unit.to_owned()
    } else {
        format!("1 {}", meter.unit)
    };
    let additional_info = format!(
        "{{  \"ImageType\": null,  \"ServiceType\": \"{}\",  \"VMName\": null,  \"VMProperties\": null,  \"UsageType\": \"{}\"}}",
        service.sku_name,
        if service_index == 0 { "ComputeHR" } else { "Standard" }
    );
    let item = json!({
        "partnerId": INVOICE_PARTNER_TENANT,
        "partnerName": PARTNER_NAME,
        "customerId": customer.id,
        "customerName": customer.name,
        "customerDomainName": customer.domain,
        "invoiceNumber": scope.invoice_number,
        "productId": service.product_id,
        "skuId": service.sku_id,
        "availabilityId": service.availability_id,
        "skuName": service.sku_name,
        "productName": service.product_name,
        "publisherName": "Microsoft",
        "publisherId": "",
        "subscriptionId": azure_plan_id(&customer.id),
        "subscriptionDescription": "Microsoft Azure plan",
        "chargeStartDate": iso(scope.period_start),
        "chargeEndDate": iso(scope.period_end_exclusive()),
        "usageDate": iso(usage_date),
        "meterType": meter_type,
        "meterCategory": meter.category,
        "meterId": meter_id(service_index, meter_index, region_index),
        "meterSubCategory": meter.subcategory,
        "meterName": meter.name,
    });
    let rest = json!({
        "meterRegion": meter_region,
        "unitOfMeasure": meter.unit,
        "resourceLocation": location,
        "consumedService": service.consumed_service,
        "resourceGroup": resource_group,
        "resourceUri": resource_uri,
        "tags": tags,
        "additionalInfo": additional_info,
        "serviceInfo1": "",
        "serviceInfo2": "",
        "customerCountry": scope.country(),
        "mpnId": PARTNER_MPN_ID,
        "resellerMpnId": "",
        "chargeType": "New",
        "unitPrice": num(unit_price),
        "quantity": num(quantity),
        "unitType": meter.unit,
        "billingPreTaxTotal": num(pricing_total * rate),
        "billingCurrency": scope.currency,
        "pricingPreTaxTotal": num(pricing_total),
        "pricingCurrency": "USD",
        "entitlementId": entitlement,
        "entitlementDescription": "Azure subscription 1",
        "pcToBCExchangeRate": num(rate),
        "pcToBCExchangeRateDate": iso(scope.period_start),
        "effectiveUnitPrice": num(effective_unit_price),
        "rateOfPartnerEarnedCredit": num(rate_of_pec),
        "hasPartnerEarnedCredit": pec,
        "rateOfCredit": 0,
        "creditType": if pec { "Partner Earned Credit Applied" } else { "Credit Not Applied" },
        "benefitOrderId": "",
        "benefitId": "",
        "benefitType": "Charge",
        "invoiceLineItemType": LineKind::OneTimeUsage.line_type_wire(),
        "billingProvider": LineKind::OneTimeUsage.item_provider_wire(),
        "attributes": { "objectType": LineKind::OneTimeUsage.object_type() }
    });
    merge(item, rest)
}

struct OneTimeProduct {
    product_id: &'static str,
    sku_id: &'static str,
    availability_id: &'static str,
    product_name: &'static str,
    sku_name: &'static str,
    publisher: &'static str,
    publisher_id: &'static str,
    unit_price: f64,
    term: &'static str,
    frequency: &'static str,
    reservation: bool,
    max_quantity: u64,
}

/// What one-time invoices bill: the seeded catalog's products plus a marketplace SaaS offer.
const ONE_TIME_PRODUCTS: [OneTimeProduct; 5] = [
    OneTimeProduct {
        product_id: "CFQ7TTC0LH18",
        sku_id: "0001",
        availability_id: "CFQ7TTC0TKZX",
        product_name: "Microsoft 365 Business Basic",
        sku_name: "Microsoft 365 Business Basic",
        publisher: "Microsoft Corporation",
        publisher_id: "",
        unit_price: 6.0,
        term: "One-Year commitment for monthly/yearly billing",
        frequency: "Monthly",
        reservation: false,
        max_quantity: 300,
    },
    OneTimeProduct {
        product_id: "CFQ7TTC0LFLZ",
        sku_id: "0002",
        availability_id: "CFQ7TTC0TL0B",
        product_name: "Microsoft 365 E3",
        sku_name: "Microsoft 365 E3",
        publisher: "Microsoft Corporation",
        publisher_id: "",
        unit_price: 36.0,
        term: "One-Year commitment for monthly/yearly billing",
        frequency: "Annual",
        reservation: false,
        max_quantity: 500,
    },
    OneTimeProduct {
        product_id: "DZH318Z0BQ3Q",
        sku_id: "0001",
        availability_id: "DZH318XZXVNF",
        product_name: "Virtual Machines DSv2 Series",
        sku_name: "Reserved VM Instance, Standard_DS1_v2, US West 2, 1 Year",
        publisher: "Microsoft Corporation",
        publisher_id: "",
        unit_price: 537.0,
        term: "1 Year Prepaid",
        frequency: "",
        reservation: true,
        max_quantity: 10,
    },
    OneTimeProduct {
        product_id: "DG7GMGF0FKZV",
        sku_id: "0001",
        availability_id: "DG7GMGF0D3SJ",
        product_name: "Windows Server 2022 Standard - 2 Core License Pack",
        sku_name: "Windows Server 2022 Standard - 2 Core License Pack",
        publisher: "Microsoft Corporation",
        publisher_id: "",
        unit_price: 129.6,
        term: "Perpetual",
        frequency: "",
        reservation: false,
        max_quantity: 40,
    },
    OneTimeProduct {
        product_id: "DZH318Z0BXWC",
        sku_id: "0002",
        availability_id: "DZH318Z0BP8B",
        product_name: "Fabrikam WAF-as-a-Service",
        sku_name: "WaaS - Medium Plan",
        publisher: "Fabrikam Networks, Inc.",
        publisher_id: "21223810",
        unit_price: 820.0,
        term: "1 Year Subscription",
        frequency: "Monthly",
        reservation: false,
        max_quantity: 3,
    },
];

/// `OneTimeInvoiceLineItem` (I8 onetime billing, I9). `referenceId` and `alternateId` are
/// unique per scope (item number folded into them).
fn one_time(scope: &LineScope, n: u64) -> Value {
    let seed = scope.seed(LineKind::OneTimeBilling);
    let mut r = Rng::for_item(seed, n);
    let customer = billing_customer(r.below(BILLING_CUSTOMERS));
    let product = &ONE_TIME_PRODUCTS[r.index(ONE_TIME_PRODUCTS.len())];
    let refund = r.chance(0.04);
    let quantity = 1 + r.below(product.max_quantity);
    let pec = !product.reservation && r.chance(0.3);
    let effective_unit_price = if pec { product.unit_price * 0.85 } else { product.unit_price };
    let sign = if refund { -1.0 } else { 1.0 };
    let subtotal = sign * round2(effective_unit_price * quantity as f64);
    let tax = round2(subtotal * 0.0825);
    let rate = scope.exchange_rate();
    let order_day = add_days(scope.period_start, r.below(u64::from(scope.period_days)) as i64);
    let order_seconds = r.below(86_400) as u32;
    let term_days = if product.term.starts_with("One-Year") || product.term.starts_with("1 Year") { 364 } else { 30 };
    let charge_end = add_days(order_day, if product.frequency == "Monthly" { 30 } else { term_days });
    // Unique per scope for up to 2^24 items (the bijection of `scramble`).
    let alternate_id = format!("{:06x}{:06x}", seed & 0xff_ffff, scramble(seed, n, 24));
    let reservation_order =
        if product.reservation { derived_guid(&["reservation", &customer.id, &n.to_string()]) } else { String::new() };
    let adjustments = if pec {
        "[\"15.0% Partner earned credit for services managed\"]"
    } else {
        "[\"Price for given billing period\",\"You are getting a price guarantee for your price.\"]"
    };
    let item = json!({
        "partnerId": INVOICE_PARTNER_TENANT,
        "customerId": customer.id,
        "customerName": customer.name,
        "customerDomainName": customer.domain,
        "customerCountry": scope.country(),
        "invoiceNumber": scope.invoice_number,
        "mpnId": PARTNER_MPN_ID,
        "resellerMpnId": 0,
        "orderId": alternate_id,
        "orderDate": iso_at(order_day, order_seconds),
        "productId": product.product_id,
        "skuId": product.sku_id,
        "availabilityId": product.availability_id,
        "productName": product.product_name,
        "skuName": product.sku_name,
    });
    let rest = json!({
        "productQualifiers": if r.chance(0.1) { json!(["AddOn"]) } else { json!([]) },
        "chargeType": if refund { "Cancel" } else { "New" },
        "unitPrice": num(product.unit_price * rate),
        "effectiveUnitPrice": num(effective_unit_price * rate),
        "unitType": "",
        "quantity": quantity,
        "subtotal": num(round2(subtotal * rate)),
        "taxTotal": num(round2(tax * rate)),
        "totalForCustomer": num(round2((subtotal + tax) * rate)),
        "currency": scope.currency,
        "publisherName": product.publisher,
        "publisherId": product.publisher_id,
        "subscriptionDescription": "",
        "subscriptionId": derived_guid(&["one-time-subscription", &customer.id, product.product_id]),
        "subscriptionStartDate": iso(order_day),
        "subscriptionEndDate": iso(add_days(order_day, term_days)),
        "chargeStartDate": iso(order_day),
        "chargeEndDate": iso(charge_end),
        "termAndBillingCycle": product.term,
        "alternateId": alternate_id,
        "referenceId": guid(seed, scramble(seed ^ 1, n, 56)),
        "priceAdjustmentDescription": adjustments,
        "creditReasonCode": "",
        "discountDetails": "",
        "pricingCurrency": "USD",
        "pcToBCExchangeRate": num(rate),
        "pcToBCExchangeRateDate": iso(scope.period_start),
        "billableQuantity": quantity,
        "meterDescription": "",
        "billingFrequency": product.frequency,
        "reservationOrderId": reservation_order,
        "invoiceLineItemType": LineKind::OneTimeBilling.line_type_wire(),
        "billingProvider": LineKind::OneTimeBilling.item_provider_wire(),
        "promotionId": "",
        "attributes": { "objectType": LineKind::OneTimeBilling.object_type() }
    });
    merge(item, rest)
}

/// `a` with the fields of `b` added (the items are too wide for one `json!`).
fn merge(mut a: Value, b: Value) -> Value {
    if let (Value::Object(target), Value::Object(fields)) = (&mut a, b) {
        target.extend(fields);
    }
    a
}

const OFFICE_OFFERS: [(&str, f64); 6] = [
    ("OFFICE 365 E3", 20.0),
    ("OFFICE 365 E1", 8.0),
    ("EXCHANGE ONLINE (PLAN 2)", 8.0),
    ("SHAREPOINT ONLINE (PLAN 2)", 10.0),
    ("MICROSOFT 365 BUSINESS STANDARD", 12.5),
    ("ENTERPRISE MOBILITY + SECURITY E3", 10.6),
];

/// `LicenseBasedLineItem` (legacy office billing).
fn license_based(scope: &LineScope, n: u64) -> Value {
    let seed = scope.seed(LineKind::OfficeBilling);
    let mut r = Rng::for_item(seed, n);
    let customer = billing_customer(r.below(BILLING_CUSTOMERS));
    let offer_index = r.index(OFFICE_OFFERS.len());
    let (offer_name, list_price) = OFFICE_OFFERS[offer_index];
    let cancel = r.chance(0.05);
    let quantity = 1 + r.below(250);
    let unit_price = list_price * scope.exchange_rate();
    let amount = round2(unit_price * quantity as f64) * if cancel { -1.0 } else { 1.0 };
    let discount = 0.0;
    let subtotal = amount - discount;
    let tax = round2(subtotal * 0.08);
    let start = add_days(scope.period_start, -(r.below(300) as i64));
    let syndication = derived_guid(&["syndication", &customer.id, offer_name]).to_ascii_uppercase();
    let subscription_key = format!("{}{:06}", customer.id.get(..8).unwrap_or_default(), r.below(1_000_000));
    json!({
        "partnerId": INVOICE_PARTNER_TENANT,
        "customerId": customer.id,
        "customerName": customer.name,
        "mpnId": 6_543_210,
        "tier2MpnId": -1,
        "orderId": format!("5677{:06}{n:08}", mix(seed) % 1_000_000),
        "subscriptionId": base64::engine::general_purpose::STANDARD_NO_PAD.encode(subscription_key.as_bytes()),
        "syndicationPartnerSubscriptionNumber": syndication,
        "offerId": derived_guid(&["office-offer", offer_name]).to_ascii_uppercase(),
        "durableOfferId": derived_guid(&["office-durable-offer", offer_name]).to_ascii_uppercase(),
        "offerName": offer_name,
        "domainName": customer.domain,
        "billingCycleType": "MONTHLY",
        "subscriptionName": offer_name,
        "subscriptionDescription": offer_name,
        "subscriptionStartDate": iso(start),
        "subscriptionEndDate": iso(add_days(start, 365)),
        "chargeStartDate": iso(scope.period_start),
        "chargeEndDate": iso(add_days(scope.period_start, i64::from(scope.period_days) - 1)),
        "chargeType": if cancel { "Cancel" } else { "New" },
        "unitPrice": num(round2(unit_price)),
        "quantity": quantity,
        "amount": num(amount),
        "totalOtherDiscount": num(discount),
        "subtotal": num(subtotal),
        "tax": num(tax),
        "totalForCustomer": num(round2(subtotal + tax)),
        "currency": scope.currency,
        "invoiceLineItemType": LineKind::OfficeBilling.line_type_wire(),
        "billingProvider": LineKind::OfficeBilling.item_provider_wire(),
        "attributes": { "objectType": LineKind::OfficeBilling.object_type() }
    })
}

/// `UsageBasedLineItem` (legacy MS-AZR-0145P billing), all for the 0145P customer. Field names as
/// the examples write them (`pretaxCharges`, `pretaxEffectiveRate`, `customerCompanyName`).
fn usage_based(scope: &LineScope, n: u64) -> Value {
    let seed = scope.seed(LineKind::AzureBilling);
    let mut r = Rng::for_item(seed, n);
    let customer = legacy_customer();
    let service_index = (n as usize) % SERVICES.len();
    let meter_index = (n as usize / SERVICES.len()) % 3;
    let service = &SERVICES[service_index];
    let meter = &service.meters[meter_index];
    let days = f64::from(scope.period_days);
    let consumed = r.range(meter.quantity.0, meter.quantity.1) * days;
    let included = if r.chance(0.2) { consumed.min(r.range(0.0, 50.0)) } else { 0.0 };
    let overage = consumed - included;
    let list_price = meter.price * scope.exchange_rate();
    let pretax = round2(overage * list_price);
    let tax = round2(pretax * 0.1);
    let (pretax_rate, post_tax_rate) =
        if consumed > 0.0 { (pretax / consumed, (pretax + tax) / consumed) } else { (0.0, 0.0) };
    json!({
        "partnerId": INVOICE_PARTNER_TENANT,
        "partnerName": PARTNER_NAME,
        "partnerBillableAccountId": "1010578050",
        "customerId": customer.id,
        "domainName": customer.domain,
        "customerCompanyName": customer.name,
        "mpnId": 6_543_210,
        "tier2MpnId": -1,
        "invoiceNumber": scope.invoice_number,
        "subscriptionId": legacy_subscription_id(&customer.id),
        "subscriptionName": "Microsoft Azure",
        "subscriptionDescription": "Microsoft Azure",
        "billingCycleType": "Monthly",
        "orderId": format!("5682979854{:08}", mix(seed) % 100_000_000),
        "serviceName": meter.category,
        "serviceType": meter.subcategory,
        "resourceGuid": derived_guid(&["legacy-meter", &service_index.to_string(), &meter_index.to_string()]),
        "resourceName": meter.name,
        "region": "",
        "sku": "7UD-00001",
        "detailLineItemId": n + 1,
        "consumedQuantity": num(consumed),
        "includedQuantity": num(included),
        "overageQuantity": num(overage),
        "listPrice": num(list_price),
        "pretaxCharges": num(pretax),
        "taxAmount": num(tax),
        "postTaxTotal": num(round2(pretax + tax)),
        "currency": scope.currency,
        "pretaxEffectiveRate": num(pretax_rate),
        "postTaxEffectiveRate": num(post_tax_rate),
        "consumptionPrice": num(pretax),
        "consumptionDiscount": 0,
        "chargeType": "Assess usage fee for current cycle",
        "chargeStartDate": iso(scope.period_start),
        "chargeEndDate": iso(scope.period_end_exclusive()),
        "unit": meter.unit,
        "invoiceLineItemType": LineKind::AzureBilling.line_type_wire(),
        "billingProvider": LineKind::AzureBilling.item_provider_wire(),
        "attributes": { "objectType": LineKind::AzureBilling.object_type() }
    })
}

/// `DailyUsageLineItem` (legacy MS-AZR-0145P usage). Item `n` is day `n % days` of legacy meter
/// `n / days`, so (`resourceGuid`, `usageDate`) is unique within the invoice.
fn daily_usage(scope: &LineScope, n: u64) -> Value {
    let seed = scope.seed(LineKind::AzureUsage);
    let days = u64::from(scope.period_days);
    let day = n % days;
    let legacy_meter = n / days;
    let service_index = (legacy_meter as usize) % SERVICES.len();
    let meter_index = (legacy_meter as usize / SERVICES.len()) % 3;
    let region_index = (legacy_meter as usize / (SERVICES.len() * 3)) % REGIONS.len();
    let variant = legacy_meter / (SERVICES.len() * 3 * REGIONS.len()) as u64;
    let meter = &SERVICES[service_index].meters[meter_index];
    let mut r = Rng::for_item(seed, n);
    let customer = legacy_customer();
    json!({
        "partnerId": INVOICE_PARTNER_TENANT,
        "partnerName": PARTNER_NAME,
        "partnerBillableAccountId": "1010578050",
        "customerId": customer.id,
        "customerCompanyName": customer.name,
        "customerBillableAccount": "1439508127",
        "domainName": customer.domain,
        "mpnId": 6_543_210,
        "tier2MpnId": -1,
        "invoiceNumber": scope.invoice_number,
        "subscriptionId": legacy_subscription_id(&customer.id),
        "subscriptionName": "MICROSOFT AZURE",
        "subscriptionDescription": "MICROSOFT AZURE",
        "billingCycleType": "MONTHLY",
        "orderId": format!("5682979855{:08}", mix(seed) % 100_000_000),
        "serviceName": meter.category.to_ascii_uppercase(),
        "serviceType": meter.subcategory.to_ascii_uppercase(),
        "resourceGuid": derived_guid(&[
            "legacy-daily-meter",
            &service_index.to_string(),
            &meter_index.to_string(),
            &region_index.to_string(),
            &variant.to_string(),
        ])
        .to_ascii_uppercase(),
        "resourceName": meter.name.to_ascii_uppercase(),
        "region": REGIONS[region_index].1,
        "consumedQuantity": num(r.range(meter.quantity.0, meter.quantity.1)),
        "chargeStartDate": iso(scope.period_start),
        "chargeEndDate": iso(scope.period_end_exclusive()),
        "usageDate": iso(add_days(scope.period_start, day as i64)),
        "unit": meter.unit,
        "invoiceLineItemType": LineKind::AzureUsage.line_type_wire(),
        "billingProvider": LineKind::AzureUsage.item_provider_wire(),
        "attributes": { "objectType": LineKind::AzureUsage.object_type() }
    })
}

// ---------------------------------------------------------------------------------------------
// Shared state: spending budgets and the key that signs continuation tokens.

pub struct BillingState {
    /// Customer id (lower case) → spending budget amount. No entry: no budget.
    pub budgets: HashMap<String, Number>,
    /// Signs continuation tokens, so a forged or foreign token is rejected (400) while the
    /// tokens themselves carry the cursor and nothing is stored per page served.
    token_key: RandomState,
}

impl BillingState {
    pub fn seeded() -> Self {
        let budgets = [(seed::CUSTOMER_FABRIKAM, 5000u64), (seed::CUSTOMER_LITWARE, 100)]
            .into_iter()
            .map(|(customer, amount)| (customer.to_ascii_lowercase(), Number::from(amount)))
            .collect();
        Self { budgets, token_key: RandomState::new() }
    }

    fn mac(&self, payload: &str) -> u64 {
        self.token_key.hash_one(payload)
    }

    /// An opaque continuation token for `cursor`.
    pub fn issue(&self, cursor: &Cursor) -> String {
        let payload = format!("v1|{}|{}|{}|{}", cursor.partner, cursor.scope, cursor.size, cursor.offset);
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!("{}.{:016x}", engine.encode(payload.as_bytes()), self.mac(&payload))
    }

    /// The cursor of a token this simulator issued, or `None`.
    pub fn redeem(&self, token: &str) -> Option<Cursor> {
        let (body, mac) = token.trim().split_once('.')?;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(body).ok()?;
        let payload = String::from_utf8(payload).ok()?;
        if u64::from_str_radix(mac, 16).ok()? != self.mac(&payload) {
            return None;
        }
        let mut parts = payload.split('|');
        if parts.next()? != "v1" {
            return None;
        }
        let partner = parts.next()?.to_owned();
        let scope = parts.next()?.to_owned();
        let size = parts.next()?.parse().ok()?;
        let offset = parts.next()?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(Cursor { partner, scope, size, offset })
    }
}

/// Where the next page starts. `scope` names the collection (it must not contain `|`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub partner: String,
    pub scope: String,
    pub size: usize,
    pub offset: u64,
}

// ---------------------------------------------------------------------------------------------
// Request helpers shared by the usage and invoice routes.

pub const CONTINUATION_HEADER: &str = "MS-ContinuationToken";

/// The query string as (name, value) pairs; never fails (bad escapes are decoded lossily).
pub fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default()
}

/// A query parameter by case-insensitive name (`currencyCode` = `currencycode`); the last wins.
pub fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query.iter().rev().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
}

/// `size`: absent → `default`; otherwise an integer in `1..=max`, else 400/3000.
pub fn page_size(query: &[(String, String)], default: usize, max: usize) -> Result<usize, PcError> {
    match param(query, "size") {
        None => Ok(default),
        Some(raw) => match raw.trim().parse::<usize>() {
            Ok(size) if (1..=max).contains(&size) => Ok(size),
            _ => Err(PcError::new(
                StatusCode::BAD_REQUEST,
                3000,
                format!("The size parameter must be between 1 and {max}."),
            )),
        },
    }
}

/// `offset`: absent → 0; otherwise a non-negative integer, else 400/3000.
pub fn page_offset(query: &[(String, String)]) -> Result<u64, PcError> {
    match param(query, "offset") {
        None => Ok(0),
        Some(raw) => raw.trim().parse::<u64>().map_err(|_| {
            PcError::new(StatusCode::BAD_REQUEST, 3000, "The offset parameter must be a non-negative integer.")
        }),
    }
}

/// Whether the request asks for the next page (`seekOperation=Next`); other values are 400/900126.
pub fn wants_next(query: &[(String, String)]) -> Result<bool, PcError> {
    match param(query, "seekOperation") {
        None => Ok(false),
        Some(op) if op.eq_ignore_ascii_case("next") => Ok(true),
        Some(_) => {
            Err(PcError::new(StatusCode::BAD_REQUEST, 900126, "The value of seekOperation could not be parsed."))
        }
    }
}

/// Same code and text as the customer list (`customers.rs`) uses for a bad token.
pub fn invalid_token() -> PcError {
    PcError::new(StatusCode::BAD_REQUEST, 400, "The continuation token is invalid or has expired.")
}

/// The cursor behind the request's `MS-ContinuationToken`, if this simulator issued it to this partner.
pub fn redeem_header(billing: &BillingState, partner: &str, headers: &HeaderMap) -> Result<Cursor, PcError> {
    let token = headers.get(CONTINUATION_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
    billing.redeem(token).filter(|c| c.partner.eq_ignore_ascii_case(partner)).ok_or_else(invalid_token)
}

/// `links.next` of a seek page: the uri (with `seekOperation=Next`) and the token header.
pub fn seek_next_link(uri: &str, token: &str) -> Value {
    json!({
        "uri": uri,
        "method": "GET",
        "headers": [{ "key": CONTINUATION_HEADER, "value": token }]
    })
}

/// A plain `Link`.
pub fn link(uri: &str) -> Value {
    json!({ "uri": uri, "method": "GET", "headers": [] })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn items_are_deterministic_and_independent_of_their_neighbours() {
        let invoice = invoice(INVOICE_PARTNER_TENANT, INVOICE_LARGE).expect("large invoice");
        let scope = invoice.scope();
        for kind in [LineKind::OneTimeBilling, LineKind::OneTimeUsage] {
            let page = line_items(&scope, kind, INVOICE_LARGE_ITEMS, 4_000, 3);
            assert_eq!(page.len(), 3);
            assert_eq!(page[1], line_item(&scope, kind, 4_001));
            assert_eq!(line_item(&scope, kind, 99_999), line_item(&invoice.scope(), kind, 99_999));
        }
        assert!(line_items(&scope, LineKind::OneTimeUsage, INVOICE_LARGE_ITEMS, 99_999, 10).len() == 1);
    }

    #[test]
    fn every_item_carries_its_kind_and_the_documented_wire_values() {
        let scope = invoice(INVOICE_PARTNER_TENANT, INVOICE_RECURRING).expect("recurring").scope();
        for (kind, provider, line_type, object) in [
            (LineKind::OfficeBilling, "office", "billing_line_items", "LicenseBasedLineItem"),
            (LineKind::AzureBilling, "azure", "billing_line_items", "UsageBasedLineItem"),
            (LineKind::AzureUsage, "azure", "usage_line_items", "DailyUsageLineItem"),
            (LineKind::OneTimeBilling, "one_time", "billing_line_items", "OneTimeInvoiceLineItem"),
            (LineKind::OneTimeUsage, "marketplace", "usage_line_items", "DailyRatedUsageLineItem"),
        ] {
            let item = line_item(&scope, kind, 7);
            assert_eq!(item["billingProvider"], provider);
            assert_eq!(item["invoiceLineItemType"], line_type);
            assert_eq!(item["attributes"]["objectType"], object);
            // The documented DailyUsageLineItem has no chargeType; every other kind does.
            assert_eq!(item.get("chargeType").is_some(), kind != LineKind::AzureUsage, "{object}");
        }
    }

    #[test]
    fn daily_rated_items_carry_every_documented_field() {
        let scope = invoice(INVOICE_PARTNER_TENANT, INVOICE_ONETIME).expect("onetime").scope();
        let item = line_item(&scope, LineKind::OneTimeUsage, 12);
        for field in [
            "partnerId",
            "partnerName",
            "customerId",
            "customerName",
            "customerDomainName",
            "invoiceNumber",
            "productId",
            "skuId",
            "availabilityId",
            "skuName",
            "productName",
            "publisherName",
            "publisherId",
            "subscriptionId",
            "subscriptionDescription",
            "chargeStartDate",
            "chargeEndDate",
            "usageDate",
            "meterType",
            "meterCategory",
            "meterId",
            "meterSubCategory",
            "meterName",
            "meterRegion",
            "unitOfMeasure",
            "resourceLocation",
            "consumedService",
            "resourceGroup",
            "resourceUri",
            "tags",
            "additionalInfo",
            "serviceInfo1",
            "serviceInfo2",
            "customerCountry",
            "mpnId",
            "resellerMpnId",
            "chargeType",
            "unitPrice",
            "quantity",
            "unitType",
            "billingPreTaxTotal",
            "billingCurrency",
            "pricingPreTaxTotal",
            "pricingCurrency",
            "entitlementId",
            "entitlementDescription",
            "pcToBCExchangeRate",
            "pcToBCExchangeRateDate",
            "effectiveUnitPrice",
            "rateOfPartnerEarnedCredit",
            "hasPartnerEarnedCredit",
            "rateOfCredit",
            "creditType",
            "invoiceLineItemType",
            "billingProvider",
            "benefitOrderId",
            "benefitId",
            "benefitType",
            "attributes",
        ] {
            assert!(item.get(field).is_some(), "missing {field}");
        }
        assert_eq!(item["invoiceNumber"], INVOICE_ONETIME);
        let info: Value = serde_json::from_str(item["additionalInfo"].as_str().expect("string")).expect("json");
        assert!(info.is_object());
        assert!(item["usageDate"].as_str().is_some_and(|d| d.starts_with("2024-12-") && d.ends_with('Z')));
    }

    #[test]
    fn unique_keys_hold_across_a_whole_small_scope() {
        let scope = invoice(INVOICE_PARTNER_TENANT, INVOICE_ONETIME).expect("onetime").scope();
        let usage = line_items(&scope, LineKind::OneTimeUsage, ONETIME_USAGE_ITEMS, 0, ONETIME_USAGE_ITEMS as usize);
        let keys: HashSet<String> =
            usage.iter().map(|i| format!("{}|{}|{}", i["resourceUri"], i["meterId"], i["usageDate"])).collect();
        assert_eq!(keys.len(), usage.len());
        let billing = line_items(&scope, LineKind::OneTimeBilling, ONETIME_BILLING_ITEMS, 0, 1000);
        let refs: HashSet<&str> = billing.iter().filter_map(|i| i["referenceId"].as_str()).collect();
        assert_eq!(refs.len(), ONETIME_BILLING_ITEMS as usize);
        let recurring = invoice(INVOICE_PARTNER_TENANT, INVOICE_RECURRING).expect("recurring").scope();
        let daily = line_items(&recurring, LineKind::AzureUsage, RECURRING_AZURE_USAGE_ITEMS, 0, 2000);
        let keys: HashSet<String> = daily.iter().map(|i| format!("{}|{}", i["resourceGuid"], i["usageDate"])).collect();
        assert_eq!(keys.len(), RECURRING_AZURE_USAGE_ITEMS as usize);
    }

    #[test]
    fn the_roster_names_customers_as_the_seed_does() {
        let seeded = seed::customers();
        for k in 0..BILLING_CUSTOMERS {
            let customer = billing_customer(k);
            let found = seeded.iter().find(|c| c.id == customer.id).expect("seeded customer");
            assert_eq!(found.company_name, customer.name);
            assert_eq!(found.domain, customer.domain);
            assert_eq!(found.partner_tenant, INVOICE_PARTNER_TENANT);
        }
        let litware = seeded.iter().find(|c| c.id == seed::CUSTOMER_LITWARE).expect("litware");
        assert_eq!(litware.company_name, legacy_customer().name);
    }

    #[test]
    fn continuation_tokens_round_trip_and_reject_tampering() {
        let state = BillingState::seeded();
        let cursor = Cursor { partner: "p".into(), scope: "li/G1/onetime-usage/USD/".into(), size: 2000, offset: 4000 };
        let token = state.issue(&cursor);
        assert_eq!(state.redeem(&token), Some(cursor));
        assert_eq!(state.redeem("AQAAAA=="), None);
        assert_eq!(state.redeem(""), None);
        let (body, mac) = token.split_once('.').expect("dot");
        let forged_body =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("v1|p|li/G1/onetime-usage/USD/|2000|0");
        assert_eq!(state.redeem(&format!("{forged_body}.{mac}")), None);
        assert_eq!(state.redeem(&format!("{body}.zz")), None);
        // Another simulator instance does not accept this one's tokens.
        assert_eq!(BillingState::seeded().redeem(&token), None);
    }

    #[test]
    fn scramble_is_a_bijection() {
        let seen: HashSet<u64> = (0..1u64 << 12).map(|n| scramble(42, n, 12)).collect();
        assert_eq!(seen.len(), 1 << 12);
        assert!(seen.iter().all(|x| *x < 1 << 12));
    }

    #[test]
    fn dates_and_months() {
        assert_eq!(iso(date!(2025 - 01 - 08)), "2025-01-08T00:00:00Z");
        assert_eq!(iso_at(date!(2025 - 01 - 08), 3_723), "2025-01-08T01:02:03Z");
        assert_eq!(month_start(date!(2025 - 01 - 15), 1), date!(2024 - 12 - 01));
        assert_eq!(month_days(date!(2024 - 02 - 01)), 29);
        assert_eq!(add_days(date!(2024 - 12 - 31), 1), date!(2025 - 01 - 01));
        for invoice in &INVOICES {
            assert!(invoice.period_days() >= 28, "{}", invoice.id);
        }
    }
}
