//! The line items inside the blobs, one JSON object per line, written straight into a byte
//! buffer: a million items must stream in seconds in a debug build, so nothing here builds a
//! `serde_json::Value` or allocates per item.
//!
//! Item `n` of an export is a pure function of the export's seed and `n` (same item on every run),
//! so a blob is generated as it is sent. Keys (PascalCase, from the documented tables):
//! - daily rated usage (X3, X4): the Graph `attributeSet` table; `basic` is its B column, `full`
//!   all 54. Unique per export (full set): (`ResourceURI`, `MeterId`, `UsageDate`).
//! - reconciliation (X1, X2): the 46 columns of the new-commerce invoice reconciliation file.
//!   Which of them `basic` keeps is undocumented: both sets carry all of them. Unique per export:
//!   `ReferenceId` (and `OrderId`). Unbilled items have an empty `InvoiceNumber` and
//!   `BillingFrequency`; `Subtotal` follows the documented rounding for seat-based lines.

use std::sync::OnceLock;

use time::Date;

use super::{
    KeyStyle, NumberStyle, Spelling,
    data::{AttributeSet, Dataset},
};
use crate::billing_data::{self, REGIONS, SERVICES};

/// How keys and numbers are written (the **SILENT** points of the docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineStyle {
    pub key_style: KeyStyle,
    pub spelling: Spelling,
    pub number_style: NumberStyle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    // Shared by both schemas.
    PartnerId,
    CustomerId,
    CustomerName,
    CustomerDomainName,
    CustomerCountry,
    InvoiceNumber,
    MpnId,
    ProductId,
    SkuId,
    AvailabilityId,
    SkuName,
    ProductName,
    PublisherName,
    PublisherId,
    SubscriptionId,
    SubscriptionDescription,
    ChargeStartDate,
    ChargeEndDate,
    ChargeType,
    UnitPrice,
    Quantity,
    UnitType,
    PricingCurrency,
    PcToBcExchangeRate,
    PcToBcExchangeRateDate,
    EffectiveUnitPrice,
    // Daily rated usage.
    PartnerName,
    Tier2MpnId,
    UsageDate,
    MeterType,
    MeterCategory,
    MeterId,
    MeterSubCategory,
    MeterName,
    MeterRegion,
    Unit,
    ResourceLocation,
    ConsumedService,
    ResourceGroup,
    ResourceUri,
    Tags,
    AdditionalInfo,
    ServiceInfo1,
    ServiceInfo2,
    BillingPreTaxTotal,
    BillingCurrency,
    PricingPreTaxTotal,
    EntitlementId,
    EntitlementDescription,
    PartnerEarnedCreditPercentage,
    CreditPercentage,
    CreditType,
    BenefitOrderId,
    BenefitId,
    BenefitType,
    // Reconciliation.
    ResellerMpnId,
    OrderId,
    OrderDate,
    Subtotal,
    TaxTotal,
    Total,
    Currency,
    PriceAdjustmentDescription,
    TermAndBillingCycle,
    AlternateId,
    BillableQuantity,
    BillingFrequency,
    MeterDescription,
    ReservationOrderId,
    CreditReasonCode,
    SubscriptionStartDate,
    SubscriptionEndDate,
    ReferenceId,
    ProductQualifiers,
    PromotionId,
}

/// One key: its field, its Graph and portal spellings, and whether `basic` has it.
struct Key {
    field: Field,
    graph: &'static str,
    portal: &'static str,
    basic: bool,
}

const fn key(field: Field, graph: &'static str, basic: bool) -> Key {
    Key { field, graph, portal: graph, basic }
}

const fn spelled(field: Field, graph: &'static str, portal: &'static str, basic: bool) -> Key {
    Key { field, graph, portal, basic }
}

/// The Graph `attributeSet` table (54 attributes; `basic` = its B column), in a reading order.
const USAGE_KEYS: [Key; 54] = [
    key(Field::PartnerId, "PartnerId", true),
    key(Field::PartnerName, "PartnerName", true),
    key(Field::CustomerId, "CustomerId", true),
    key(Field::CustomerName, "CustomerName", true),
    key(Field::CustomerDomainName, "CustomerDomainName", false),
    key(Field::CustomerCountry, "CustomerCountry", false),
    spelled(Field::MpnId, "MpnId", "MPNID", false),
    spelled(Field::Tier2MpnId, "Tier2MpnId", "ResellerMPNID", false),
    key(Field::InvoiceNumber, "InvoiceNumber", true),
    key(Field::ProductId, "ProductId", true),
    key(Field::SkuId, "SkuId", true),
    key(Field::AvailabilityId, "AvailabilityId", false),
    key(Field::SkuName, "SkuName", true),
    key(Field::ProductName, "ProductName", false),
    key(Field::PublisherName, "PublisherName", true),
    key(Field::PublisherId, "PublisherId", false),
    key(Field::SubscriptionDescription, "SubscriptionDescription", false),
    key(Field::SubscriptionId, "SubscriptionId", true),
    key(Field::ChargeStartDate, "ChargeStartDate", true),
    key(Field::ChargeEndDate, "ChargeEndDate", true),
    key(Field::UsageDate, "UsageDate", true),
    key(Field::MeterType, "MeterType", false),
    key(Field::MeterCategory, "MeterCategory", false),
    key(Field::MeterId, "MeterId", false),
    key(Field::MeterSubCategory, "MeterSubCategory", false),
    key(Field::MeterName, "MeterName", false),
    key(Field::MeterRegion, "MeterRegion", false),
    key(Field::Unit, "Unit", false),
    key(Field::ResourceLocation, "ResourceLocation", false),
    key(Field::ConsumedService, "ConsumedService", false),
    key(Field::ResourceGroup, "ResourceGroup", false),
    key(Field::ResourceUri, "ResourceURI", true),
    key(Field::ChargeType, "ChargeType", true),
    key(Field::UnitPrice, "UnitPrice", true),
    key(Field::Quantity, "Quantity", true),
    key(Field::UnitType, "UnitType", true),
    key(Field::BillingPreTaxTotal, "BillingPreTaxTotal", true),
    key(Field::BillingCurrency, "BillingCurrency", true),
    key(Field::PricingPreTaxTotal, "PricingPreTaxTotal", true),
    key(Field::PricingCurrency, "PricingCurrency", true),
    key(Field::ServiceInfo1, "ServiceInfo1", false),
    key(Field::ServiceInfo2, "ServiceInfo2", false),
    key(Field::Tags, "Tags", false),
    key(Field::AdditionalInfo, "AdditionalInfo", true),
    key(Field::EffectiveUnitPrice, "EffectiveUnitPrice", true),
    key(Field::PcToBcExchangeRate, "PCToBCExchangeRate", true),
    key(Field::EntitlementId, "EntitlementId", true),
    key(Field::EntitlementDescription, "EntitlementDescription", false),
    key(Field::PartnerEarnedCreditPercentage, "PartnerEarnedCreditPercentage", false),
    key(Field::CreditPercentage, "CreditPercentage", true),
    key(Field::CreditType, "CreditType", true),
    spelled(Field::BenefitOrderId, "BenefitOrderID", "BenefitOrderId", true),
    spelled(Field::BenefitId, "BenefitID", "BenefitId", false),
    key(Field::BenefitType, "BenefitType", true),
];

/// The portal's daily rated usage file also has this one (full set only).
const USAGE_PORTAL_EXTRA: Key = key(Field::PcToBcExchangeRateDate, "PCToBCExchangeRateDate", false);

/// The new-commerce invoice reconciliation file's columns (A.8.2), in its order.
const RECON_KEYS: [Key; 46] = [
    key(Field::PartnerId, "PartnerId", true),
    key(Field::CustomerId, "CustomerId", true),
    key(Field::CustomerName, "CustomerName", true),
    key(Field::CustomerDomainName, "CustomerDomainName", true),
    key(Field::CustomerCountry, "CustomerCountry", true),
    key(Field::InvoiceNumber, "InvoiceNumber", true),
    spelled(Field::MpnId, "MpnId", "MPNID", true),
    spelled(Field::ResellerMpnId, "ResellerMpnId", "ResellerMPNID", true),
    key(Field::OrderId, "OrderId", true),
    key(Field::OrderDate, "OrderDate", true),
    key(Field::ProductId, "ProductId", true),
    key(Field::SkuId, "SkuId", true),
    key(Field::AvailabilityId, "AvailabilityId", true),
    key(Field::SkuName, "SkuName", true),
    key(Field::ProductName, "ProductName", true),
    key(Field::ChargeType, "ChargeType", true),
    key(Field::UnitPrice, "UnitPrice", true),
    key(Field::Quantity, "Quantity", true),
    key(Field::Subtotal, "Subtotal", true),
    key(Field::TaxTotal, "TaxTotal", true),
    key(Field::Total, "Total", true),
    key(Field::Currency, "Currency", true),
    key(Field::PriceAdjustmentDescription, "PriceAdjustmentDescription", true),
    key(Field::PublisherName, "PublisherName", true),
    key(Field::PublisherId, "PublisherId", true),
    key(Field::SubscriptionDescription, "SubscriptionDescription", true),
    key(Field::SubscriptionId, "SubscriptionId", true),
    key(Field::ChargeStartDate, "ChargeStartDate", true),
    key(Field::ChargeEndDate, "ChargeEndDate", true),
    key(Field::TermAndBillingCycle, "TermAndBillingCycle", true),
    key(Field::EffectiveUnitPrice, "EffectiveUnitPrice", true),
    key(Field::UnitType, "UnitType", true),
    key(Field::AlternateId, "AlternateId", true),
    key(Field::BillableQuantity, "BillableQuantity", true),
    key(Field::BillingFrequency, "BillingFrequency", true),
    key(Field::PricingCurrency, "PricingCurrency", true),
    key(Field::PcToBcExchangeRate, "PCToBCExchangeRate", true),
    key(Field::PcToBcExchangeRateDate, "PCToBCExchangeRateDate", true),
    key(Field::MeterDescription, "MeterDescription", true),
    key(Field::ReservationOrderId, "ReservationOrderId", true),
    key(Field::CreditReasonCode, "CreditReasonCode", true),
    key(Field::SubscriptionStartDate, "SubscriptionStartDate", true),
    key(Field::SubscriptionEndDate, "SubscriptionEndDate", true),
    spelled(Field::ReferenceId, "ReferenceId", "ReferenceID", true),
    key(Field::ProductQualifiers, "ProductQualifiers", true),
    spelled(Field::PromotionId, "PromotionId", "PromotionID", true),
];

/// `PCToBCExchangeRate` → `pcToBCExchangeRate`, `MpnId` → `mpnId`: the leading capitals become
/// lower case, except the one that starts the next word.
fn camel(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let run = chars.iter().take_while(|c| c.is_ascii_uppercase()).count();
    let lower = if run > 1 && run < chars.len() { run - 1 } else { run.max(1) };
    chars.iter().enumerate().map(|(i, c)| if i < lower { c.to_ascii_lowercase() } else { *c }).collect()
}

/// The keys of one export, each pre-rendered as `"Key":`.
pub struct Layout {
    fields: Vec<(Field, Box<[u8]>)>,
    names: Vec<String>,
    strings: bool,
    usage: bool,
}

impl Layout {
    pub fn new(dataset: &Dataset, style: LineStyle) -> Self {
        let usage = dataset.kind.is_usage();
        let full = dataset.attribute_set == AttributeSet::Full;
        let mut keys: Vec<&Key> =
            if usage { USAGE_KEYS.iter().filter(|k| full || k.basic).collect() } else { RECON_KEYS.iter().collect() };
        if usage && full && style.spelling == Spelling::Portal {
            keys.push(&USAGE_PORTAL_EXTRA);
        }
        let names: Vec<String> = keys
            .iter()
            .map(|k| {
                let name = if style.spelling == Spelling::Portal { k.portal } else { k.graph };
                match style.key_style {
                    KeyStyle::Pascal => name.to_owned(),
                    KeyStyle::Camel => camel(name),
                }
            })
            .collect();
        let fields = keys
            .iter()
            .zip(&names)
            .map(|(k, name)| (k.field, format!("\"{name}\":").into_bytes().into_boxed_slice()))
            .collect();
        Self { fields, names, strings: style.number_style == NumberStyle::String, usage }
    }

    /// The keys every line of this export has, in order.
    pub fn keys(&self) -> &[String] {
        &self.names
    }
}

// ---------------------------------------------------------------------------------------------
// Small writers: the values are ASCII we produce, or text escaped once up front.

/// SplitMix64, as `billing_data` uses; kept here so the blobs do not change with that module.
struct Rng(u64);

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    fn for_item(seed: u64, n: u64) -> Self {
        Self(mix(seed ^ mix(n.wrapping_add(1).wrapping_mul(GOLDEN))))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix(self.0)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// A bijection on `0..2^bits`: distinct `n` give distinct ids.
fn scramble(seed: u64, n: u64, bits: u32) -> u64 {
    (n.wrapping_mul(GOLDEN) ^ mix(seed)) & ((1u64 << bits) - 1)
}

/// `"text"`; `text` must need no escaping (see [`escaped`]).
fn text(out: &mut Vec<u8>, value: &str) {
    out.push(b'"');
    out.extend_from_slice(value.as_bytes());
    out.push(b'"');
}

/// The JSON string body of `value` (no surrounding quotes), escaped once so lines can copy it.
fn escaped(value: &str) -> String {
    let quoted = serde_json::to_string(value).unwrap_or_default();
    quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or_default().to_owned()
}

fn digits(out: &mut Vec<u8>, mut value: u64) {
    let mut buffer = [0u8; 20];
    let mut at = buffer.len();
    loop {
        at -= 1;
        buffer[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&buffer[at..]);
}

fn padded(out: &mut Vec<u8>, value: u64, width: usize) {
    let mut buffer = [b'0'; 20];
    let mut rest = value;
    for slot in buffer[20 - width..].iter_mut().rev() {
        *slot = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    out.extend_from_slice(&buffer[20 - width..]);
}

/// A number in the chosen style; `value` is `scaled / 10^places`, trailing zeros trimmed.
fn fixed(out: &mut Vec<u8>, scaled: i64, places: u32, strings: bool) {
    if strings {
        out.push(b'"');
    }
    if scaled < 0 {
        out.push(b'-');
    }
    let magnitude = scaled.unsigned_abs();
    let unit = 10u64.pow(places);
    digits(out, magnitude / unit);
    let mut fraction = magnitude % unit;
    if fraction != 0 {
        let mut width = places as usize;
        while fraction.is_multiple_of(10) {
            fraction /= 10;
            width -= 1;
        }
        out.push(b'.');
        padded(out, fraction, width);
    }
    if strings {
        out.push(b'"');
    }
}

fn decimal(out: &mut Vec<u8>, value: f64, places: u32, strings: bool) {
    let scaled = (value * 10f64.powi(places as i32)).round();
    fixed(out, scaled as i64, places, strings);
}

fn integer(out: &mut Vec<u8>, value: i64, strings: bool) {
    fixed(out, value, 0, strings);
}

/// `"2025-03-01T00:00:00Z"`, or with a time of day.
fn datetime(out: &mut Vec<u8>, day: Date, seconds: u32) {
    out.push(b'"');
    padded(out, u64::try_from(day.year()).unwrap_or(0), 4);
    out.push(b'-');
    padded(out, u64::from(u8::from(day.month())), 2);
    out.push(b'-');
    padded(out, u64::from(day.day()), 2);
    out.push(b'T');
    padded(out, u64::from(seconds / 3600 % 24), 2);
    out.push(b':');
    padded(out, u64::from(seconds / 60 % 60), 2);
    out.push(b':');
    padded(out, u64::from(seconds % 60), 2);
    out.extend_from_slice(b"Z\"");
}

fn date(out: &mut Vec<u8>, day: Date) {
    datetime(out, day, 0);
}

fn hex(out: &mut Vec<u8>, value: u64, width: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for shift in (0..width).rev() {
        out.push(HEX[((value >> (shift * 4)) & 0xf) as usize]);
    }
}

/// A version-4-shaped GUID; distinct `low` below 2^56 give distinct GUIDs for one `high`.
fn guid(out: &mut Vec<u8>, high: u64, low: u64) {
    let high = (high & !0xf000) | 0x4000;
    let low = (low & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    out.push(b'"');
    hex(out, high >> 32, 8);
    out.push(b'-');
    hex(out, (high >> 16) & 0xffff, 4);
    out.push(b'-');
    hex(out, high & 0xffff, 4);
    out.push(b'-');
    hex(out, low >> 48, 4);
    out.push(b'-');
    hex(out, low & 0xffff_ffff_ffff, 12);
    out.push(b'"');
}

// ---------------------------------------------------------------------------------------------
// Who the items belong to: the seeded customers, with their derived ids computed once.

/// What one-time invoices bill: the seeded catalog's products plus a marketplace SaaS offer
/// (the same list as Partner Center's v1 one-time line items).
struct Product {
    product_id: &'static str,
    sku_id: &'static str,
    availability_id: &'static str,
    product_name: &'static str,
    sku_name: &'static str,
    publisher: &'static str,
    publisher_id: &'static str,
    /// USD.
    unit_price_cents: i64,
    term: &'static str,
    frequency: &'static str,
    reservation: bool,
    max_quantity: u64,
    term_days: i64,
    promotion: &'static str,
}

const PRODUCTS: [Product; 5] = [
    Product {
        product_id: "CFQ7TTC0LH18",
        sku_id: "0001",
        availability_id: "CFQ7TTC0TKZX",
        product_name: "Microsoft 365 Business Basic",
        sku_name: "Microsoft 365 Business Basic",
        publisher: "Microsoft Corporation",
        publisher_id: "",
        unit_price_cents: 600,
        term: "One-Year commitment for monthly/yearly billing",
        frequency: "Monthly",
        reservation: false,
        max_quantity: 300,
        term_days: 365,
        promotion: "CFQ7TTC0LH18:1:CFQ7TTC0GZQJ",
    },
    Product {
        product_id: "CFQ7TTC0LFLZ",
        sku_id: "0002",
        availability_id: "CFQ7TTC0TL0B",
        product_name: "Microsoft 365 E3",
        sku_name: "Microsoft 365 E3",
        publisher: "Microsoft Corporation",
        publisher_id: "",
        unit_price_cents: 3600,
        term: "One-Year commitment for monthly/yearly billing",
        frequency: "Annual",
        reservation: false,
        max_quantity: 500,
        term_days: 365,
        promotion: "CFQ7TTC0LFLZ:2:CFQ7TTC0GZQK",
    },
    Product {
        product_id: "DZH318Z0BQ3Q",
        sku_id: "0001",
        availability_id: "DZH318XZXVNF",
        product_name: "Virtual Machines DSv2 Series",
        sku_name: "Reserved VM Instance, Standard_DS1_v2, US West 2, 1 Year",
        publisher: "Microsoft Corporation",
        publisher_id: "",
        unit_price_cents: 53_700,
        term: "1 Year Prepaid",
        frequency: "",
        reservation: true,
        max_quantity: 10,
        term_days: 365,
        promotion: "",
    },
    Product {
        product_id: "DG7GMGF0FKZV",
        sku_id: "0001",
        availability_id: "DG7GMGF0D3SJ",
        product_name: "Windows Server 2022 Standard - 2 Core License Pack",
        sku_name: "Windows Server 2022 Standard - 2 Core License Pack",
        publisher: "Microsoft Corporation",
        publisher_id: "",
        unit_price_cents: 12_960,
        term: "Perpetual",
        frequency: "",
        reservation: false,
        max_quantity: 40,
        term_days: 0,
        promotion: "",
    },
    Product {
        product_id: "DZH318Z0BXWC",
        sku_id: "0002",
        availability_id: "DZH318Z0BP8B",
        product_name: "Fabrikam WAF-as-a-Service",
        sku_name: "WaaS - Medium Plan",
        publisher: "Fabrikam Networks, Inc.",
        publisher_id: "21223810",
        unit_price_cents: 82_000,
        term: "1 Year Subscription",
        frequency: "Monthly",
        reservation: false,
        max_quantity: 3,
        term_days: 365,
        promotion: "",
    },
];

struct Customer {
    id: String,
    /// Escaped for JSON.
    name: String,
    domain: String,
    azure_plan: String,
    entitlements: [String; 2],
    /// The customer's subscription to each of [`PRODUCTS`].
    subscriptions: [String; PRODUCTS.len()],
}

/// Partner Center's billing customers (`billing_data::billing_customer`), computed once.
fn customers() -> &'static [Customer] {
    static ROSTER: OnceLock<Vec<Customer>> = OnceLock::new();
    ROSTER.get_or_init(|| {
        (0..billing_data::BILLING_CUSTOMERS)
            .map(|k| {
                let c = billing_data::billing_customer(k);
                Customer {
                    name: escaped(&c.name),
                    domain: escaped(&c.domain),
                    azure_plan: billing_data::azure_plan_id(&c.id),
                    entitlements: [billing_data::entitlement_id(&c.id, 0), billing_data::entitlement_id(&c.id, 1)],
                    subscriptions: std::array::from_fn(|p| {
                        billing_data::derived_guid(&["one-time-subscription", &c.id, PRODUCTS[p].product_id])
                    }),
                    id: c.id,
                }
            })
            .collect()
    })
}

/// What the lines of one Azure resource share (3 meters × every day of the period).
struct Resource {
    index: u64,
    customer: usize,
    service: usize,
    region: usize,
    entitlement: usize,
    resource_group: String,
    resource_uri: String,
    /// Escaped JSON text, or empty.
    tags: String,
    /// Escaped JSON text.
    additional_info: String,
    meter_ids: [String; 3],
}

impl Resource {
    fn new(seed: u64, index: u64) -> Self {
        let mut r = Rng::for_item(seed ^ 0x5eed_0000_0000_0001, index);
        let customer = r.below(customers().len() as u64) as usize;
        let service = r.below(SERVICES.len() as u64) as usize;
        let region = r.below(REGIONS.len() as u64) as usize;
        let environment = ["prod", "dev", "test", "shared"][r.below(4) as usize];
        let resource_group = format!("rg-{environment}-{:02}", r.below(20));
        let entitlement = r.below(2) as usize;
        let tags = if r.chance(0.5) {
            escaped(&format!("{{\"env\":\"{environment}\",\"costCenter\":\"cc-{:03}\"}}", r.below(50)))
        } else {
            String::new()
        };
        let spec = &SERVICES[service];
        let resource_uri = format!(
            "/subscriptions/{}/resourceGroups/{resource_group}/providers/{}/{}-{index:06}",
            customers()[customer].entitlements[entitlement],
            spec.resource_type,
            spec.prefix
        );
        let additional_info = escaped(&format!(
            "{{\"ImageType\":null,\"ServiceType\":\"{}\",\"VMName\":null,\"VMProperties\":null,\"UsageType\":\"{}\"}}",
            spec.sku_name,
            if service == 0 { "ComputeHR" } else { "Standard" }
        ));
        let meter_ids = std::array::from_fn(|m| billing_data::meter_id(service, m, region));
        Self {
            index,
            customer,
            service,
            region,
            entitlement,
            resource_group,
            resource_uri,
            tags,
            additional_info,
            meter_ids,
        }
    }
}

/// Writes the lines of one export.
pub struct Generator<'a> {
    dataset: &'a Dataset,
    layout: &'a Layout,
    resource: Option<Resource>,
}

impl<'a> Generator<'a> {
    pub fn new(dataset: &'a Dataset, layout: &'a Layout) -> Self {
        Self { dataset, layout, resource: None }
    }

    /// Appends item `n` as one JSON object, without the newline.
    pub fn write_item(&mut self, n: u64, out: &mut Vec<u8>) {
        if self.layout.usage { self.write_usage(n, out) } else { self.write_reconciliation(n, out) }
    }

    fn write_usage(&mut self, n: u64, out: &mut Vec<u8>) {
        let ds = self.dataset;
        let strings = self.layout.strings;
        let days = u64::from(ds.period_days);
        let day = n % days;
        let meter_index = ((n / days) % 3) as usize;
        let resource_index = n / days / 3;
        if self.resource.as_ref().is_none_or(|r| r.index != resource_index) {
            self.resource = Some(Resource::new(ds.seed, resource_index));
        }
        let Some(resource) = self.resource.as_ref() else { return };
        let customer = &customers()[resource.customer];
        let service = &SERVICES[resource.service];
        let meter = &service.meters[meter_index];
        let (location, meter_region) = REGIONS[resource.region];
        let mut i = Rng::for_item(ds.seed, n);
        let quantity = meter.quantity.0 + (meter.quantity.1 - meter.quantity.0) * i.unit();
        let unit_price = meter.price * billing_data::region_factor(resource.region);
        let pec = i.chance(0.3);
        let effective_unit_price = if pec { unit_price * 0.85 } else { unit_price };
        let pricing_total = effective_unit_price * quantity;
        let usage_date = billing_data::add_days(ds.period_start, day as i64);
        out.push(b'{');
        for (index, (field, key)) in self.layout.fields.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            out.extend_from_slice(key);
            match field {
                Field::PartnerId => text(out, &ds.partner_tenant),
                Field::PartnerName => text(out, billing_data::PARTNER_NAME),
                Field::CustomerId => text(out, &customer.id),
                Field::CustomerName => text(out, &customer.name),
                Field::CustomerDomainName => text(out, &customer.domain),
                Field::CustomerCountry => text(out, ds.customer_country),
                Field::MpnId => text(out, billing_data::PARTNER_MPN_ID),
                Field::InvoiceNumber => text(out, &ds.invoice_number),
                Field::ProductId => text(out, service.product_id),
                Field::SkuId => text(out, service.sku_id),
                Field::AvailabilityId => text(out, service.availability_id),
                Field::SkuName => text(out, service.sku_name),
                Field::ProductName => text(out, service.product_name),
                Field::PublisherName => text(out, "Microsoft"),
                Field::SubscriptionId => text(out, &customer.azure_plan),
                Field::SubscriptionDescription => text(out, "Microsoft Azure plan"),
                Field::ChargeStartDate => date(out, ds.period_start),
                Field::ChargeEndDate => date(out, ds.period_end_exclusive()),
                Field::UsageDate => date(out, usage_date),
                Field::MeterType => {
                    out.push(b'"');
                    if !meter.unit.starts_with(|c: char| c.is_ascii_digit()) {
                        out.extend_from_slice(b"1 ");
                    }
                    out.extend_from_slice(meter.unit.as_bytes());
                    out.push(b'"');
                }
                Field::MeterCategory => text(out, meter.category),
                Field::MeterId => text(out, &resource.meter_ids[meter_index]),
                Field::MeterSubCategory => text(out, meter.subcategory),
                Field::MeterName => text(out, meter.name),
                Field::MeterRegion => text(out, meter_region),
                Field::Unit | Field::UnitType => text(out, meter.unit),
                Field::ResourceLocation => text(out, location),
                Field::ConsumedService => text(out, service.consumed_service),
                Field::ResourceGroup => text(out, &resource.resource_group),
                Field::ResourceUri => text(out, &resource.resource_uri),
                Field::Tags => text(out, &resource.tags),
                Field::AdditionalInfo => text(out, &resource.additional_info),
                Field::ChargeType => text(out, "New"),
                Field::UnitPrice => decimal(out, unit_price, 6, strings),
                Field::Quantity => decimal(out, quantity, 6, strings),
                Field::BillingPreTaxTotal => decimal(out, pricing_total * ds.exchange_rate, 6, strings),
                Field::BillingCurrency => text(out, &ds.currency),
                Field::PricingPreTaxTotal => decimal(out, pricing_total, 6, strings),
                Field::PricingCurrency => text(out, "USD"),
                Field::EntitlementId => text(out, &customer.entitlements[resource.entitlement]),
                Field::EntitlementDescription => {
                    text(out, if resource.entitlement == 0 { "Azure subscription 1" } else { "Azure subscription 2" })
                }
                Field::PcToBcExchangeRate => decimal(out, ds.exchange_rate, 6, strings),
                Field::PcToBcExchangeRateDate => date(out, ds.period_start),
                Field::EffectiveUnitPrice => decimal(out, effective_unit_price, 6, strings),
                Field::PartnerEarnedCreditPercentage => integer(out, if pec { 15 } else { 0 }, strings),
                Field::CreditPercentage => integer(out, 0, strings),
                Field::CreditType => {
                    text(out, if pec { "Partner Earned Credit Applied" } else { "Credit Not Applied" })
                }
                Field::BenefitType => text(out, "Charge"),
                Field::Tier2MpnId
                | Field::PublisherId
                | Field::ServiceInfo1
                | Field::ServiceInfo2
                | Field::BenefitOrderId
                | Field::BenefitId => text(out, ""),
                // Reconciliation-only fields never appear in a usage layout.
                _ => out.extend_from_slice(b"null"),
            }
        }
        out.push(b'}');
    }

    fn write_reconciliation(&mut self, n: u64, out: &mut Vec<u8>) {
        let ds = self.dataset;
        let strings = self.layout.strings;
        let mut r = Rng::for_item(ds.seed, n);
        let customer_index = r.below(customers().len() as u64) as usize;
        let customer = &customers()[customer_index];
        let product_index = r.below(PRODUCTS.len() as u64) as usize;
        let product = &PRODUCTS[product_index];
        let refund = r.chance(0.04);
        let quantity = 1 + r.below(product.max_quantity) as i64;
        let billable_quantity = if refund { -quantity } else { quantity };
        let pec = !product.reservation && r.chance(0.3);
        let effective_unit_price_cents =
            if pec { product.unit_price_cents * 85 / 100 } else { product.unit_price_cents };
        // ROUNDDOWN(EffectiveUnitPrice × PCToBCExchangeRate, 2) × BillableQuantity
        let billing_unit_cents = (effective_unit_price_cents as f64 * ds.exchange_rate).floor() as i64;
        let subtotal_cents = billing_unit_cents * billable_quantity;
        let tax_cents = (subtotal_cents as f64 * 0.0825).round() as i64;
        let order_day = billing_data::add_days(ds.period_start, r.below(u64::from(ds.period_days)) as i64);
        let order_seconds = r.below(86_400) as u32;
        let charge_end = billing_data::add_days(
            order_day,
            if product.frequency == "Monthly" { 30 } else { product.term_days.max(1) },
        );
        let qualifiers = if r.chance(0.1) { "[\\\"Add-on\\\"]" } else { "[]" };
        let promoted = !product.promotion.is_empty() && r.chance(0.2);
        let unbilled = ds.invoice_number.is_empty();
        out.push(b'{');
        for (index, (field, key)) in self.layout.fields.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            out.extend_from_slice(key);
            match field {
                Field::PartnerId => text(out, &ds.partner_tenant),
                Field::CustomerId => text(out, &customer.id),
                Field::CustomerName => text(out, &customer.name),
                Field::CustomerDomainName => text(out, &customer.domain),
                Field::CustomerCountry => text(out, ds.customer_country),
                Field::InvoiceNumber => text(out, &ds.invoice_number),
                Field::MpnId => text(out, billing_data::PARTNER_MPN_ID),
                Field::ResellerMpnId => text(out, ""),
                Field::OrderId | Field::AlternateId => {
                    // Unique per export for up to 2^24 items.
                    out.push(b'"');
                    hex(out, ds.seed & 0xff_ffff, 6);
                    hex(out, scramble(ds.seed, n, 24), 6);
                    out.push(b'"');
                }
                Field::OrderDate => datetime(out, order_day, order_seconds),
                Field::ProductId => text(out, product.product_id),
                Field::SkuId => text(out, product.sku_id),
                Field::AvailabilityId => text(out, product.availability_id),
                Field::SkuName => text(out, product.sku_name),
                Field::ProductName => text(out, product.product_name),
                Field::ChargeType => text(out, if refund { "Cancel" } else { "New" }),
                Field::UnitPrice => fixed(out, product.unit_price_cents, 2, strings),
                Field::Quantity => integer(out, quantity, strings),
                Field::Subtotal => fixed(out, subtotal_cents, 2, strings),
                Field::TaxTotal => fixed(out, tax_cents, 2, strings),
                Field::Total => fixed(out, subtotal_cents + tax_cents, 2, strings),
                Field::Currency => text(out, &ds.currency),
                Field::PriceAdjustmentDescription => text(
                    out,
                    if pec {
                        "[\\\"15.0% Partner earned credit for services managed\\\"]"
                    } else {
                        "[\\\"Price for given billing period\\\"]"
                    },
                ),
                Field::PublisherName => text(out, product.publisher),
                Field::PublisherId => text(out, product.publisher_id),
                Field::SubscriptionDescription => text(out, product.product_name),
                Field::SubscriptionId => text(out, &customer.subscriptions[product_index]),
                Field::ChargeStartDate => date(out, order_day),
                Field::ChargeEndDate => date(out, charge_end),
                Field::TermAndBillingCycle => text(out, product.term),
                Field::EffectiveUnitPrice => fixed(out, effective_unit_price_cents, 2, strings),
                Field::UnitType => text(out, ""),
                Field::BillableQuantity => integer(out, billable_quantity, strings),
                Field::BillingFrequency => text(out, if unbilled { "" } else { product.frequency }),
                Field::PricingCurrency => text(out, "USD"),
                Field::PcToBcExchangeRate => decimal(out, ds.exchange_rate, 6, strings),
                Field::PcToBcExchangeRateDate => date(out, ds.period_start),
                Field::MeterDescription | Field::CreditReasonCode => text(out, ""),
                Field::ReservationOrderId => {
                    if product.reservation {
                        guid(out, ds.seed ^ 0x7e5e_7e5e, scramble(ds.seed ^ 2, n, 56));
                    } else {
                        text(out, "");
                    }
                }
                Field::SubscriptionStartDate => date(out, order_day),
                Field::SubscriptionEndDate => date(out, billing_data::add_days(order_day, product.term_days)),
                Field::ReferenceId => guid(out, ds.seed, scramble(ds.seed ^ 1, n, 56)),
                Field::ProductQualifiers => text(out, qualifiers),
                Field::PromotionId => text(out, if promoted { product.promotion } else { "" }),
                // Usage-only fields never appear in a reconciliation layout.
                _ => out.extend_from_slice(b"null"),
            }
        }
        out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use std::{collections::HashSet, time::SystemTime};

    use serde_json::Value;

    use super::*;
    use crate::{
        graph::data::{ExportKind, ExportRequest, resolve},
        seed,
    };

    const GRAPH_STYLE: LineStyle =
        LineStyle { key_style: KeyStyle::Pascal, spelling: Spelling::Graph, number_style: NumberStyle::Number };

    fn dataset(kind: ExportKind, attribute_set: AttributeSet) -> Dataset {
        let request = ExportRequest {
            kind,
            invoice_id: Some(billing_data::INVOICE_ONETIME.to_owned()),
            billing_period: None,
            currency_code: None,
            attribute_set,
        };
        resolve(&request, seed::CONTOSO_TENANT_ID, SystemTime::now()).expect("dataset")
    }

    fn lines(dataset: &Dataset, style: LineStyle, count: u64) -> Vec<serde_json::Map<String, Value>> {
        let layout = Layout::new(dataset, style);
        let mut generator = Generator::new(dataset, &layout);
        (0..count)
            .map(|n| {
                let mut out = Vec::new();
                generator.write_item(n, &mut out);
                match serde_json::from_slice(&out) {
                    Ok(Value::Object(map)) => map,
                    other => panic!("line {n} is no JSON object: {other:?} {}", String::from_utf8_lossy(&out)),
                }
            })
            .collect()
    }

    #[test]
    fn usage_lines_carry_the_documented_attribute_sets() {
        let full = dataset(ExportKind::BilledUsage, AttributeSet::Full);
        let items = lines(&full, GRAPH_STYLE, 200);
        assert_eq!(items[0].len(), 54);
        for name in
            ["BenefitOrderID", "ResourceURI", "PCToBCExchangeRate", "Tier2MpnId", "PartnerEarnedCreditPercentage"]
        {
            assert!(items[0].contains_key(name), "{name}");
        }
        let keys: HashSet<(String, String, String)> = items
            .iter()
            .map(|i| (i["ResourceURI"].to_string(), i["MeterId"].to_string(), i["UsageDate"].to_string()))
            .collect();
        assert_eq!(keys.len(), items.len(), "(ResourceURI, MeterId, UsageDate) is unique");
        assert_eq!(items[0]["InvoiceNumber"], billing_data::INVOICE_ONETIME);
        assert!(items[0]["Quantity"].is_number());
        let tags = items.iter().find_map(|i| i["Tags"].as_str().filter(|t| !t.is_empty())).expect("some tags");
        assert!(serde_json::from_str::<Value>(tags).is_ok(), "Tags is JSON text: {tags}");

        let basic = Dataset { attribute_set: AttributeSet::Basic, ..full };
        let basic_items = lines(&basic, GRAPH_STYLE, 200);
        assert_eq!(basic_items[0].len(), 30);
        assert!(!basic_items[0].contains_key("MeterId") && basic_items[0].contains_key("ResourceURI"));
        // Basic lines are the full lines with fewer keys.
        for (b, f) in basic_items.iter().zip(&items) {
            for (k, v) in b {
                assert_eq!(&f[k], v, "{k}");
            }
        }
    }

    #[test]
    fn reconciliation_lines_follow_the_recon_file_and_its_arithmetic() {
        let recon = dataset(ExportKind::BilledReconciliation, AttributeSet::Full);
        let items = lines(&recon, GRAPH_STYLE, 500);
        assert_eq!(items[0].len(), 46);
        let references: HashSet<String> = items.iter().map(|i| i["ReferenceId"].to_string()).collect();
        assert_eq!(references.len(), items.len());
        for item in &items {
            let cents = |k: &str| (item[k].as_f64().expect(k) * 100.0).round() as i64;
            assert_eq!(cents("Subtotal") + cents("TaxTotal"), cents("Total"));
            let per_unit = (item["EffectiveUnitPrice"].as_f64().expect("eup") * 100.0).round() as i64;
            assert_eq!(cents("Subtotal"), per_unit * item["BillableQuantity"].as_i64().expect("bq"));
        }
    }

    #[test]
    fn styles_change_keys_and_number_types_only() {
        let usage = dataset(ExportKind::BilledUsage, AttributeSet::Full);
        let portal = LineStyle { spelling: Spelling::Portal, ..GRAPH_STYLE };
        let item = &lines(&usage, portal, 1)[0];
        assert!(item.contains_key("BenefitOrderId") && item.contains_key("MPNID"));
        assert!(item.contains_key("PCToBCExchangeRateDate"));
        let camel_strings = LineStyle { key_style: KeyStyle::Camel, number_style: NumberStyle::String, ..GRAPH_STYLE };
        let item = &lines(&usage, camel_strings, 1)[0];
        assert!(item.contains_key("pcToBCExchangeRate") && item.contains_key("resourceURI"));
        assert!(item["quantity"].is_string());
        assert_eq!(camel("PCToBCExchangeRate"), "pcToBCExchangeRate");
        assert_eq!(camel("MpnId"), "mpnId");
        assert_eq!(camel("MPNID"), "mpnid");
    }

    #[test]
    fn numbers_are_written_exactly() {
        let write = |scaled, places| {
            let mut out = Vec::new();
            fixed(&mut out, scaled, places, false);
            String::from_utf8(out).expect("ascii")
        };
        assert_eq!(write(0, 2), "0");
        assert_eq!(write(-1205, 2), "-12.05");
        assert_eq!(write(1_500_000, 6), "1.5");
        assert_eq!(write(7, 6), "0.000007");
        let mut out = Vec::new();
        guid(&mut out, u64::MAX, 0);
        assert_eq!(String::from_utf8(out).expect("ascii"), "\"ffffffff-ffff-4fff-8000-000000000000\"");
    }
}
