//! Azure spending and usage (G1–G10): partner and customer summaries, monthly usage records per
//! customer, subscription, resource and meter, and the customer's spending budget.
//!
//! Usage is generated from the customer and subscription ids (see [`billing_data`]), so the same
//! subscription always shows the same meters, resources and costs within a month. Totals agree:
//! a subscription's total is the sum of its meter records; its resource records split the same
//! total; a customer's total is the sum of its subscriptions. Figures are month-to-date estimates
//! of the current calendar month of the simulator's clock.
//!
//! Which subscriptions have usage comes from the subscription store ([`usage_subscription_kind`],
//! [`usage_subscriptions`]), and how much from the days of the month each has existed
//! ([`usage_days`]): a plan bought today has no usage yet, and accrues it as the simulated clock
//! moves on. A partner's total (G1) is the sum of its MS-AZR-0145P customers' totals (Partner
//! Center leaves Azure plan consumption out of it), each as G2 lists it.

use std::sync::Arc;

use axum::{
    Extension, Json, Router,
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Number, Value, json};
use time::Date;
use uuid::Uuid;

use super::{
    SimState,
    aad::PartnerTenant,
    billing_data::{
        self as data, AZURE_PLAN_OFFER_ID, Cursor, PARTNER_MPN_ID, REGIONS, Rng, SERVICES, add_days, fnv, iso, num,
        query_pairs,
    },
    seed,
    state::Inner,
    subscriptions::{SubscriptionKind, SubscriptionStatus},
    wire::{self, PcError},
};

/// Default page size of G7/G8 (our choice: the docs show no paging parameters at all).
pub const USAGE_PAGE_DEFAULT: usize = 100;
pub const USAGE_PAGE_MAX: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageKind {
    /// Microsoft Azure plan: `currencyCode` + `usdTotalCost`.
    AzurePlan,
    /// Legacy Microsoft Azure (MS-AZR-0145P): `currencyLocale`.
    Legacy0145P,
}

/// The usage kind of a customer's subscription, from the subscription store: Azure plans and
/// MS-AZR-0145P subscriptions have usage; license subscriptions (and unknown ids) have none.
pub fn usage_subscription_kind(inner: &Inner, customer: &str, subscription: &str) -> Option<UsageKind> {
    Uuid::try_parse(subscription).ok()?;
    let found = inner.subscriptions.get(customer, subscription)?;
    match found.kind {
        SubscriptionKind::AzurePlan => Some(UsageKind::AzurePlan),
        SubscriptionKind::LegacyAzure => Some(UsageKind::Legacy0145P),
        SubscriptionKind::License => None,
    }
}

/// The usage subscriptions of a customer (its Azure plans and MS-AZR-0145P subscriptions), each
/// with its [`usage_days`] up to `today`.
pub fn usage_subscriptions(inner: &Inner, customer: &str, today: Date) -> Vec<(String, UsageKind, u32)> {
    inner
        .subscriptions
        .of_customer(customer)
        .filter(|s| s.status != SubscriptionStatus::Deleted)
        .filter_map(|s| {
            usage_subscription_kind(inner, customer, &s.id)
                .map(|kind| (s.id.clone(), kind, usage_days(s.created, today)))
        })
        .collect()
}

/// Days of `today`'s month a subscription created at `created` has had usage: every day up to
/// and including today when it is older than the month, else the whole days since its creation
/// (0 on the day it was bought).
pub fn usage_days(created: std::time::SystemTime, today: Date) -> u32 {
    let created = data::today(created);
    if created < data::month_start(today, 0) {
        u32::from(today.day())
    } else {
        u32::from(today.day()).saturating_sub(u32::from(created.day()))
    }
}

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/v1/usagesummary", get(partner_summary))
        // Static `usagerecords` wins over `/v1/customers/{customer_id}` (customers.rs).
        .route("/v1/customers/usagerecords", get(customers_usage_records))
        .route("/v1/customers/{customer_id}/usagesummary", get(customer_summary))
        .route("/v1/customers/{customer_id}/usagebudget", get(get_budget).patch(patch_budget))
        // Static `usagerecords` wins over `/subscriptions/{subscription_id}`.
        .route("/v1/customers/{customer_id}/subscriptions/usagerecords", get(subscriptions_usage_records))
        .route("/v1/customers/{customer_id}/subscriptions/{subscription_id}/usagesummary", get(subscription_summary))
        .route(
            "/v1/customers/{customer_id}/subscriptions/{subscription_id}/usagerecords/resources",
            get(monthly_resource_records),
        )
        .route(
            "/v1/customers/{customer_id}/subscriptions/{subscription_id}/resourceusagerecords",
            get(resource_records),
        )
        .route("/v1/customers/{customer_id}/subscriptions/{subscription_id}/meterusagerecords", get(meter_records))
}

// ---------------------------------------------------------------------------------------------
// The generated usage.

/// A customer's currency for Azure plan usage, and its rate to USD. Named customers bill in USD;
/// a fifth of the generated ones in EUR, so `usdTotalCost` differs from `totalCost` somewhere.
fn usage_currency(customer: &str) -> (&'static str, f64) {
    let lower = customer.to_ascii_lowercase();
    if lower.starts_with("c0ffee00-") && fnv(&["currency", &lower]) % 5 == 4 { ("EUR", 1.0842) } else { ("USD", 1.0) }
}

fn sub_seed(what: &str, customer: &str, subscription: &str) -> u64 {
    fnv(&[what, &customer.to_ascii_lowercase(), &subscription.to_ascii_lowercase()])
}

/// Meters one subscription used this month (at most one record per meter and region); none
/// before its first day of usage.
pub fn meter_usage_count(customer: &str, subscription: &str, days: u32) -> u64 {
    if days == 0 { 0 } else { 120 + sub_seed("meter-count", customer, subscription) % 61 }
}

/// Resources one subscription used this month; none before its first day of usage.
pub fn resource_usage_count(customer: &str, subscription: &str, days: u32) -> u64 {
    if days == 0 { 0 } else { 150 + sub_seed("resource-count", customer, subscription) % 500 }
}

struct MeterUsage {
    service: usize,
    meter: usize,
    region: usize,
    quantity: f64,
    /// In the customer's currency.
    cost: f64,
}

/// Meter record `i` after `days` days of usage: every (service, meter, region) combination at
/// most once.
fn meter_usage(customer: &str, subscription: &str, i: u64, days: u32) -> MeterUsage {
    let per_region = (SERVICES.len() * 3) as u64;
    let service = (i % SERVICES.len() as u64) as usize;
    let meter = ((i / SERVICES.len() as u64) % 3) as usize;
    let region = ((i / per_region) as usize) % REGIONS.len();
    let spec = &SERVICES[service].meters[meter];
    let mut r = Rng::for_item(sub_seed("meter-usage", customer, subscription), i);
    let quantity = r.range(spec.quantity.0, spec.quantity.1) * f64::from(days) * r.range(0.05, 1.0);
    let (_, usd_rate) = usage_currency(customer);
    let cost = quantity * spec.price * data::region_factor(region) / usd_rate;
    MeterUsage { service, meter, region, quantity, cost }
}

fn subscription_total(customer: &str, subscription: &str, days: u32) -> f64 {
    // `+ 0.0`: an empty float sum is -0.0, which would show as "-0.0".
    (0..meter_usage_count(customer, subscription, days))
        .map(|i| meter_usage(customer, subscription, i, days).cost)
        .sum::<f64>()
        + 0.0
}

fn resource_weight(customer: &str, subscription: &str, j: u64) -> f64 {
    let w = Rng::for_item(sub_seed("resource-weight", customer, subscription), j).range(0.05, 1.0);
    w * w
}

/// The billing period of the usage figures: the current calendar month.
struct UsagePeriod {
    start: Date,
    end: Date,
    today: Date,
}

impl UsagePeriod {
    fn of(state: &SimState) -> Self {
        let today = data::today(state.now());
        let start = data::month_start(today, 0);
        Self { start, end: add_days(start, i64::from(data::month_days(start))), today }
    }

    /// How much of the month has passed (0..=1), for "trending over budget".
    fn elapsed(&self) -> f64 {
        f64::from(self.today.day()) / f64::from(data::month_days(self.start))
    }

    fn last_modified(&self) -> String {
        iso(self.today)
    }
}

/// Cost fields: `currencyLocale` for MS-AZR-0145P, `currencyCode` + `usdTotalCost` for Azure plan.
fn cost_fields(target: &mut Value, kind: UsageKind, customer: &str, total: f64) {
    target["totalCost"] = num(total);
    match kind {
        UsageKind::Legacy0145P => {
            target["currencyLocale"] = json!("en-US");
        }
        UsageKind::AzurePlan => {
            let (code, usd_rate) = usage_currency(customer);
            target["currencyCode"] = json!(code);
            target["usdTotalCost"] = num(total * usd_rate);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Lookups.

struct CustomerInfo {
    id: String,
    name: String,
    budget: Option<Number>,
    subscriptions: Vec<(String, UsageKind, u32)>,
}

impl CustomerInfo {
    fn kind(&self) -> UsageKind {
        self.subscriptions.first().map_or(UsageKind::AzurePlan, |(_, kind, _)| *kind)
    }

    fn total(&self) -> f64 {
        self.subscriptions.iter().map(|(sub, _, days)| subscription_total(&self.id, sub, *days)).sum::<f64>() + 0.0
    }
}

fn info(inner: &Inner, customer: &super::customers::SimCustomer, today: Date) -> CustomerInfo {
    CustomerInfo {
        id: customer.id.clone(),
        name: customer.company_name.clone(),
        budget: inner.billing.budgets.get(&customer.id.to_ascii_lowercase()).cloned(),
        subscriptions: usage_subscriptions(inner, &customer.id, today),
    }
}

/// The partner's customer, as `GET /v1/customers/{id}` finds it (400/900118, 404/60003).
fn customer(inner: &Inner, partner: &PartnerTenant, customer_id: &str, today: Date) -> Result<CustomerInfo, PcError> {
    if Uuid::try_parse(customer_id).is_err() {
        return Err(PcError::new(StatusCode::BAD_REQUEST, 900118, "The customer id is invalid."));
    }
    let found = inner
        .customers
        .of_partner(&partner.tenant_id, customer_id)
        .ok_or_else(|| PcError::new(StatusCode::NOT_FOUND, 60003, "The customer tenant was not found."))?;
    Ok(info(inner, found, today))
}

/// The customer and one of its usage subscriptions (404/20003 when it has no such subscription).
fn subscription(
    state: &SimState,
    partner: &PartnerTenant,
    customer_id: &str,
    subscription_id: &str,
) -> Result<(CustomerInfo, String, UsageKind, u32), PcError> {
    let today = data::today(state.now());
    let inner = state.lock_settled();
    let found = customer(&inner, partner, customer_id, today)?;
    let kind = usage_subscription_kind(&inner, &found.id, subscription_id)
        .ok_or_else(|| PcError::new(StatusCode::NOT_FOUND, 20003, "The subscription was not found."))?;
    let days = found
        .subscriptions
        .iter()
        .find(|(id, ..)| id.eq_ignore_ascii_case(subscription_id))
        .map_or(0, |(.., days)| *days);
    Ok((found, subscription_id.to_ascii_lowercase(), kind, days))
}

/// The `budget` of a usage record or summary: without `amount` when there is none, as the
/// examples show it.
fn budget_wire(budget: Option<&Number>) -> Value {
    let mut value = json!({ "attributes": { "objectType": "SpendingBudget" } });
    if let Some(amount) = budget {
        value["amount"] = json!(amount);
    }
    value
}

fn as_f64(number: Option<&Number>) -> Option<f64> {
    number.and_then(Number::as_f64)
}

fn partner_name(tenant: &str) -> String {
    let id = seed::PARTNERS.iter().find(|p| p.tenant_id.eq_ignore_ascii_case(tenant)).map_or("partner", |p| p.id);
    let mut chars = id.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// G1–G5.

/// G1 (app+user). Like Partner Center, it covers MS-AZR-0145P customers only: Azure plan
/// consumption is excluded.
async fn partner_summary(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
) -> Result<Response, PcError> {
    partner.require_app_user()?;
    let period = UsagePeriod::of(&state);
    let legacy: Vec<CustomerInfo> = {
        let inner = state.lock_settled();
        inner
            .customers
            .customers
            .iter()
            .filter(|c| c.partner_tenant.eq_ignore_ascii_case(&partner.tenant_id))
            .map(|c| info(&inner, c, period.today))
            // The customers G2 lists as not upgraded: those whose usage is MS-AZR-0145P.
            .filter(|c| !c.subscriptions.is_empty() && c.kind() == UsageKind::Legacy0145P)
            .collect()
    };
    let (mut total, mut over, mut trending) = (0.0, 0, 0);
    for customer in &legacy {
        let spent = customer.total();
        total += spent;
        if let Some(budget) = as_f64(customer.budget.as_ref()) {
            if spent > budget {
                over += 1;
            } else if spent / period.elapsed().max(0.01) > budget {
                trending += 1;
            }
        }
    }
    let name = partner_name(&partner.tenant_id);
    Ok(Json(json!({
        "emailsToNotify": [],
        "customersOverBudget": over,
        "customersTrendingOver": trending,
        "customersWithUsageBasedSubscription": legacy.len(),
        "resourceId": partner.tenant_id,
        "id": partner.tenant_id,
        "resourceName": name,
        "name": name,
        "billingStartDate": iso(period.start),
        "billingEndDate": iso(period.end),
        "totalCost": num(total),
        "currencyLocale": "en-US",
        "lastModifiedDate": period.last_modified(),
        "links": { "self": data::link("/usagesummary") },
        "attributes": { "objectType": "PartnerUsageSummary" }
    }))
    .into_response())
}

/// G2 (app+user): one `CustomerMonthlyUsageRecord` per customer of the partner. The example's
/// `customerSpendingBudget` on the first item only is left out as an artifact of the docs.
async fn customers_usage_records(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
) -> Result<Response, PcError> {
    partner.require_app_user()?;
    let period = UsagePeriod::of(&state);
    let customers: Vec<CustomerInfo> = {
        let inner = state.lock_settled();
        inner
            .customers
            .customers
            .iter()
            .filter(|c| c.partner_tenant.eq_ignore_ascii_case(&partner.tenant_id))
            .map(|c| info(&inner, c, period.today))
            .collect()
    };
    let items = customers
        .iter()
        .map(|c| {
            let total = c.total();
            let percent = match as_f64(c.budget.as_ref()) {
                Some(budget) if budget > 0.0 => total / budget * 100.0,
                _ => 0.0,
            };
            let kind = c.kind();
            let mut record = json!({
                "budget": budget_wire(c.budget.as_ref()),
                "percentUsed": num(percent),
                "isUpgraded": kind == UsageKind::AzurePlan,
                "resourceId": c.id,
                "id": c.id,
                "resourceName": c.name,
                "name": c.name,
                "lastModifiedDate": period.last_modified(),
                "attributes": { "objectType": "CustomerMonthlyUsageRecord" }
            });
            cost_fields(&mut record, kind, &c.id, total);
            if kind == UsageKind::Legacy0145P {
                // The documented MS-AZR-0145P record also has these two.
                record["customerSpendingBudget"] = json!({ "attributes": { "objectType": "SpendingBudget" } });
                record["usdTotalCost"] = num(total);
            }
            record
        })
        .collect();
    Ok(Json(wire::collection(items, "/customers/usagerecords", None)).into_response())
}

/// G3 (app+user).
async fn customer_summary(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    Path(customer_id): Path<String>,
) -> Result<Response, PcError> {
    partner.require_app_user()?;
    let period = UsagePeriod::of(&state);
    let c = customer(&state.lock_settled(), &partner, &customer_id, data::today(state.now()))?;
    let kind = c.kind();
    let mut summary = json!({
        "budget": budget_wire(c.budget.as_ref()),
        "billingStartDate": iso(period.start),
        "billingEndDate": iso(period.end),
        "lastModifiedDate": period.last_modified(),
        "attributes": { "objectType": "CustomerUsageSummary" }
    });
    // The two documented examples differ: MS-AZR-0145P names the customer with `id`/`name`, has
    // `links` and spells the budget `ammount`; Azure plan uses `resourceId`/`resourceName`.
    match kind {
        UsageKind::Legacy0145P => {
            summary["id"] = json!(c.id);
            summary["name"] = json!(c.name);
            summary["links"] = json!({ "self": data::link(&format!("/customers/{}/usagesummary", c.id)) });
            if let Some(amount) = c.budget.as_ref() {
                summary["budget"] = json!({ "ammount": amount, "attributes": { "objectType": "SpendingBudget" } });
            }
        }
        UsageKind::AzurePlan => {
            summary["resourceId"] = json!(c.id);
            summary["resourceName"] = json!(c.name);
        }
    }
    cost_fields(&mut summary, kind, &c.id, c.total());
    Ok(Json(summary).into_response())
}

/// G4 (app+user): one `SubscriptionMonthlyUsageRecord` per usage subscription (one per plan).
async fn subscriptions_usage_records(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    Path(customer_id): Path<String>,
) -> Result<Response, PcError> {
    partner.require_app_user()?;
    let period = UsagePeriod::of(&state);
    let c = customer(&state.lock_settled(), &partner, &customer_id, data::today(state.now()))?;
    let items = c
        .subscriptions
        .iter()
        .map(|(sub, kind, days)| {
            let total = subscription_total(&c.id, sub, *days);
            let (offer, name) = match kind {
                UsageKind::AzurePlan => (AZURE_PLAN_OFFER_ID, "Azure plan"),
                UsageKind::Legacy0145P => ("MS-AZR-0145P", "Microsoft Azure"),
            };
            let mut record = json!({
                "status": "active",
                "offerId": offer,
                "resourceId": sub,
                "id": sub,
                "resourceName": name,
                "name": name,
                "lastModifiedDate": period.last_modified(),
                "attributes": { "objectType": "SubscriptionMonthlyUsageRecord" }
            });
            cost_fields(&mut record, *kind, &c.id, total);
            match kind {
                UsageKind::AzurePlan => record["partnerOnRecord"] = json!(PARTNER_MPN_ID),
                // The 0145P example carries `usdTotalCost` next to `currencyLocale`.
                UsageKind::Legacy0145P => record["usdTotalCost"] = num(total),
            }
            record
        })
        .collect();
    Ok(Json(wire::collection(items, &format!("/customers/{}/subscriptions/usagerecords", c.id), None)).into_response())
}

/// G5 (app+user).
async fn subscription_summary(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    Path((customer_id, subscription_id)): Path<(String, String)>,
) -> Result<Response, PcError> {
    partner.require_app_user()?;
    let period = UsagePeriod::of(&state);
    let (c, sub, kind, days) = subscription(&state, &partner, &customer_id, &subscription_id)?;
    let name = match kind {
        UsageKind::AzurePlan => "Azure plan",
        UsageKind::Legacy0145P => "Microsoft Azure",
    };
    let mut summary = json!({
        "resourceId": sub,
        "resourceName": name,
        "billingStartDate": iso(period.start),
        "billingEndDate": iso(period.end),
        "lastModifiedDate": period.last_modified(),
        "links": { "self": data::link(&format!("/customers/{}/subscriptions/{sub}/usagesummary", c.id)) },
        "attributes": { "objectType": "SubscriptionUsageSummary" }
    });
    if kind == UsageKind::Legacy0145P {
        // Only the MS-AZR-0145P example repeats them as `id` and `name`.
        summary["id"] = json!(sub);
        summary["name"] = json!(name);
    }
    cost_fields(&mut summary, kind, &c.id, subscription_total(&c.id, &sub, days));
    Ok(Json(summary).into_response())
}

// ---------------------------------------------------------------------------------------------
// G6–G8.

/// Operations documented for one subscription kind only. The docs do not say what the other
/// kind gets; we answer 400/900141 ("operation not supported").
fn not_for(kind: UsageKind, instead: &str) -> PcError {
    let what = match kind {
        UsageKind::AzurePlan => "Azure plan",
        UsageKind::Legacy0145P => "MS-AZR-0145P",
    };
    PcError::new(
        StatusCode::BAD_REQUEST,
        900141,
        format!("This operation is not supported for {what} subscriptions; use {instead}."),
    )
}

/// G6 (app-only allowed): `AzureResourceMonthlyUsageRecord` per meter. MS-AZR-0145P only, as the
/// docs say (G8 is its replacement); not paged (the docs show only `links.self`).
async fn monthly_resource_records(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    Path((customer_id, subscription_id)): Path<(String, String)>,
) -> Result<Response, PcError> {
    let (c, sub, kind, days) = subscription(&state, &partner, &customer_id, &subscription_id)?;
    if kind != UsageKind::Legacy0145P {
        return Err(not_for(kind, "meterusagerecords"));
    }
    let items = (0..meter_usage_count(&c.id, &sub, days))
        .map(|i| {
            let usage = meter_usage(&c.id, &sub, i, days);
            let spec = &SERVICES[usage.service].meters[usage.meter];
            json!({
                "category": spec.category,
                "subcategory": spec.subcategory,
                "quantityUsed": num(usage.quantity),
                "unit": spec.unit,
                "id": data::meter_id(usage.service, usage.meter, usage.region),
                "name": format!("{} - {}", spec.name, REGIONS[usage.region].1),
                "totalCost": num(usage.cost),
                "currencyLocale": "en-US",
                "attributes": { "objectType": "AzureResourceMonthlyUsageRecord" }
            })
        })
        .collect();
    Ok(Json(wire::collection(items, &format!("/customers/{}/subscriptions/{sub}/usagerecords/resources", c.id), None))
        .into_response())
}

/// Start of a G7/G8 page. The docs call these `PagedResourceCollection` but show neither a size
/// parameter nor a token; paging by `size` + `seekOperation=Next` + `MS-ContinuationToken` (as
/// the invoice line items do) is our assumption.
fn usage_page(
    state: &SimState,
    partner: &PartnerTenant,
    scope: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
) -> Result<(usize, u64), PcError> {
    if data::wants_next(query)? {
        let cursor = data::redeem_header(&state.lock().billing, &partner.tenant_id, headers)?;
        if cursor.scope != scope {
            return Err(data::invalid_token());
        }
        Ok((cursor.size, cursor.offset))
    } else {
        Ok((data::page_size(query, USAGE_PAGE_DEFAULT, USAGE_PAGE_MAX)?, 0))
    }
}

/// The page envelope with `links.next` and (as `PagedResourceCollection`) `continuationToken`.
fn usage_collection(
    state: &SimState,
    partner: &PartnerTenant,
    scope: &str,
    base_uri: &str,
    items: Vec<Value>,
    (size, offset, total): (usize, u64, u64),
) -> Value {
    let next_offset = offset + items.len() as u64;
    let token = (next_offset < total).then(|| {
        state.lock().billing.issue(&Cursor {
            partner: partner.tenant_id.clone(),
            scope: scope.to_owned(),
            size,
            offset: next_offset,
        })
    });
    let next_uri = format!("{base_uri}?size={size}&seekOperation=Next");
    let self_uri = if offset == 0 { format!("{base_uri}?size={size}") } else { next_uri.clone() };
    let mut body = wire::collection(items, &self_uri, token.as_deref().map(|t| data::seek_next_link(&next_uri, t)));
    if let Some(token) = token {
        body["continuationToken"] = json!(token);
    }
    body
}

/// G7 (app+user): `ResourceUsageRecord`s of an Azure plan (the docs exclude MS-AZR-0145P).
async fn resource_records(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    Path((customer_id, subscription_id)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, PcError> {
    partner.require_app_user()?;
    let (c, sub, kind, days) = subscription(&state, &partner, &customer_id, &subscription_id)?;
    if kind != UsageKind::AzurePlan {
        return Err(not_for(kind, "meterusagerecords"));
    }
    let query = query_pairs(raw.as_deref());
    let scope = format!("resourceusage/{}/{sub}", c.id.to_ascii_lowercase());
    let (size, offset) = usage_page(&state, &partner, &scope, &query, &headers)?;
    let period = UsagePeriod::of(&state);
    let count = resource_usage_count(&c.id, &sub, days);
    let total = subscription_total(&c.id, &sub, days);
    let weights: f64 = (0..count).map(|j| resource_weight(&c.id, &sub, j)).sum();
    let (currency, usd_rate) = usage_currency(&c.id);
    let seed = sub_seed("resource", &c.id, &sub);
    let end = count.min(offset.saturating_add(size as u64));
    let items = (offset..end)
        .map(|j| {
            let cost = if weights > 0.0 { total * resource_weight(&c.id, &sub, j) / weights } else { 0.0 };
            let mut r = Rng::for_item(seed, j);
            let service = &SERVICES[r.index(SERVICES.len())];
            let k = r.below(2);
            let entitlement = data::entitlement_id(&c.id, k);
            let group = format!("rg-{}-{:02}", ["prod", "dev", "test", "shared"][r.index(4)], r.below(20));
            let name = format!("{}-{j:04}", service.prefix);
            let uri = format!(
                "/subscriptions/{entitlement}/resourceGroups/{group}/providers/{}/{name}",
                service.resource_type
            );
            json!({
                "subscriptionId": sub,
                "resourceUri": uri,
                "resourceType": service.resource_type,
                "entitlementId": entitlement,
                "entitlementName": format!("Azure subscription {}", k + 1),
                "resourceGroupName": group,
                "name": name,
                "resourceName": name,
                "totalCost": num(cost),
                "currencyCode": currency,
                "usdTotalCost": num(cost * usd_rate),
                "lastModifiedDate": period.last_modified(),
                "attributes": { "objectType": "ResourceUsageRecord" }
            })
        })
        .collect();
    let base = format!("/customers/{}/subscriptions/{sub}/resourceusagerecords", c.id);
    Ok(Json(usage_collection(&state, &partner, &scope, &base, items, (size, offset, count))).into_response())
}

/// G8 (app+user): `MeterUsageRecord`s, for both kinds.
async fn meter_records(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    Path((customer_id, subscription_id)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, PcError> {
    partner.require_app_user()?;
    let (c, sub, kind, days) = subscription(&state, &partner, &customer_id, &subscription_id)?;
    let query = query_pairs(raw.as_deref());
    let scope = format!("meterusage/{}/{sub}", c.id.to_ascii_lowercase());
    let (size, offset) = usage_page(&state, &partner, &scope, &query, &headers)?;
    let period = UsagePeriod::of(&state);
    let count = meter_usage_count(&c.id, &sub, days);
    let end = count.min(offset.saturating_add(size as u64));
    let items = (offset..end)
        .map(|i| {
            let usage = meter_usage(&c.id, &sub, i, days);
            let spec = &SERVICES[usage.service].meters[usage.meter];
            let mut record = json!({
                "subscriptionId": sub,
                "meterId": data::meter_id(usage.service, usage.meter, usage.region),
                "meterName": format!("{} - {}", spec.name, REGIONS[usage.region].1),
                "category": spec.category,
                "subcategory": spec.subcategory,
                "quantityUsed": num(usage.quantity),
                "unit": spec.unit,
                "lastModifiedDate": period.last_modified(),
                "attributes": { "objectType": "MeterUsageRecord" }
            });
            cost_fields(&mut record, kind, &c.id, usage.cost);
            record
        })
        .collect();
    let base = format!("/customers/{}/subscriptions/{sub}/meterusagerecords", c.id);
    Ok(Json(usage_collection(&state, &partner, &scope, &base, items, (size, offset, count))).into_response())
}

// ---------------------------------------------------------------------------------------------
// G9–G10.

/// G9/G10: `amount` (null when there is no budget) and, as the example shows, the same value as
/// `usageSpendingBudget`.
fn budget_response(customer_id: &str, budget: Option<&Number>, method: &str) -> Response {
    let mut body = json!({
        "amount": budget,
        "usageSpendingBudget": budget,
        "attributes": { "objectType": "SpendingBudget" }
    });
    body["links"] = json!({
        "self": { "uri": format!("/customers/{customer_id}/usagebudget"), "method": method, "headers": [] }
    });
    Json(body).into_response()
}

/// G9 (app-only allowed).
async fn get_budget(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    Path(customer_id): Path<String>,
) -> Result<Response, PcError> {
    let c = customer(&state.lock_settled(), &partner, &customer_id, data::today(state.now()))?;
    Ok(budget_response(&c.id, c.budget.as_ref(), "GET"))
}

fn invalid_budget(description: &str) -> PcError {
    PcError::new(StatusCode::BAD_REQUEST, 3000, description)
}

/// The new budget from a `SpendingBudget` body, camelCase or PascalCase: `Some(amount)`, or
/// `None` to remove it (`amount` null, or absent as .NET deserialization leaves it).
fn parse_budget(body: &[u8]) -> Result<Option<Number>, PcError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| PcError::new(StatusCode::BAD_REQUEST, 800002, "The request body is not valid JSON."))?;
    let Value::Object(fields) = value else {
        return Err(PcError::new(StatusCode::BAD_REQUEST, 800002, "The request body must be a SpendingBudget object."));
    };
    let field = |name: &str| fields.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, v)| v);
    if let Some(object_type) = field("attributes")
        .and_then(Value::as_object)
        .and_then(|a| a.iter().find(|(k, _)| k.eq_ignore_ascii_case("objectType")))
        .map(|(_, v)| v)
        && !object_type.as_str().is_some_and(|t| t.eq_ignore_ascii_case("SpendingBudget"))
    {
        return Err(invalid_budget("Attributes.ObjectType must be SpendingBudget."));
    }
    let amount = match field("amount") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.clone(),
        // Json.NET reads a decimal from a numeric string too.
        Some(Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .and_then(Number::from_f64)
            .ok_or_else(|| invalid_budget("The budget amount must be a number."))?,
        Some(_) => return Err(invalid_budget("The budget amount must be a number.")),
    };
    match amount.as_f64() {
        Some(x) if x.is_finite() && x >= 0.0 => Ok(Some(amount)),
        _ => Err(invalid_budget("The budget amount must not be negative.")),
    }
}

/// G10 (app-only allowed): sets or (with a null amount) removes the customer's budget.
async fn patch_budget(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    Path(customer_id): Path<String>,
    body: Bytes,
) -> Result<Response, PcError> {
    let mut inner = state.lock();
    let c = customer(&inner, &partner, &customer_id, data::today(state.now()))?;
    let amount = parse_budget(&body)?;
    let key = c.id.to_ascii_lowercase();
    match &amount {
        Some(amount) => {
            inner.billing.budgets.insert(key, amount.clone());
        }
        None => {
            inner.billing.budgets.remove(&key);
        }
    }
    drop(inner);
    Ok(budget_response(&c.id, amount.as_ref(), "PATCH"))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use serde_json::{Value, json};

    use super::{USAGE_PAGE_DEFAULT, meter_usage_count, resource_usage_count};
    use crate::{
        billing_data,
        common::test_support::{azure_plan_line, buy},
        seed,
        testing::TestSim,
    };

    /// The usage days of a seeded subscription (older than the month): every day so far.
    fn seeded_days(sim: &TestSim) -> u32 {
        u32::from(billing_data::today(sim.handle.state().now()).day())
    }

    async fn get(sim: &TestSim, token: &str, path: &str) -> (u16, Value) {
        let response = sim.http.get(sim.url(path)).bearer_auth(token).send().await.expect("send");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The seeded Azure plan of `customer` (only Fabrikam has one).
    fn plan(customer: &str) -> String {
        assert_eq!(customer, seed::CUSTOMER_FABRIKAM, "only Fabrikam has a seeded Azure plan");
        seed::FABRIKAM_AZURE_PLAN.to_owned()
    }

    #[tokio::test]
    async fn app_user_only_routes_refuse_app_only_tokens() {
        let sim = TestSim::start().await;
        let app = sim.app_token().await;
        let fabrikam = seed::CUSTOMER_FABRIKAM;
        let sub = plan(fabrikam);
        for path in [
            "/v1/usagesummary".to_owned(),
            "/v1/customers/usagerecords".to_owned(),
            format!("/v1/customers/{fabrikam}/usagesummary"),
            format!("/v1/customers/{fabrikam}/subscriptions/usagerecords"),
            format!("/v1/customers/{fabrikam}/subscriptions/{sub}/usagesummary"),
            format!("/v1/customers/{fabrikam}/subscriptions/{sub}/resourceusagerecords"),
            format!("/v1/customers/{fabrikam}/subscriptions/{sub}/meterusagerecords"),
        ] {
            let (status, body) = get(&sim, &app, &path).await;
            assert_eq!(status, 403, "{path}");
            assert_eq!(body["code"], 900329, "{path}");
        }
        // G6, G9 (and G10) take app-only tokens.
        let litware = seed::CUSTOMER_LITWARE;
        let legacy = seed::LITWARE_0145P_SUBSCRIPTION.to_owned();
        let (status, _) =
            get(&sim, &app, &format!("/v1/customers/{litware}/subscriptions/{legacy}/usagerecords/resources")).await;
        assert_eq!(status, 200);
        let (status, _) = get(&sim, &app, &format!("/v1/customers/{fabrikam}/usagebudget")).await;
        assert_eq!(status, 200);
    }

    #[tokio::test]
    async fn partner_and_customer_records_use_the_documented_fields() {
        let sim = TestSim::start().await;
        let user = sim.user_token().await;
        let (status, summary) = get(&sim, &user, "/v1/usagesummary").await;
        assert_eq!(status, 200);
        assert_eq!(summary["attributes"]["objectType"], "PartnerUsageSummary");
        for field in ["customersOverBudget", "customersTrendingOver", "customersWithUsageBasedSubscription"] {
            assert!(summary[field].is_u64(), "{field}");
        }
        // Litware (0145P) spends more than its seeded budget of 100.
        assert_eq!(summary["customersOverBudget"], 1);
        assert_eq!(summary["currencyLocale"], "en-US");
        assert!(summary["billingStartDate"].as_str().is_some_and(|d| d.ends_with("T00:00:00Z")));

        let (status, records) = get(&sim, &user, "/v1/customers/usagerecords").await;
        assert_eq!(status, 200);
        let items = records["items"].as_array().expect("items");
        assert_eq!(items.len(), 5 + seed::GENERATED_CUSTOMERS, "one record per Contoso customer");
        assert!(!records.to_string().contains(seed::CUSTOMER_NORTHWIND_TRADERS));
        let by_id = |id: &str| items.iter().find(|i| i["id"] == id).expect("record").clone();
        let litware = by_id(seed::CUSTOMER_LITWARE);
        assert_eq!(litware["isUpgraded"], false);
        assert_eq!(litware["currencyLocale"], "en-US");
        assert!(litware.get("currencyCode").is_none());
        let fabrikam = by_id(seed::CUSTOMER_FABRIKAM);
        assert_eq!(fabrikam["isUpgraded"], true);
        assert_eq!(fabrikam["currencyCode"], "USD");
        assert!(fabrikam["usdTotalCost"].is_f64());
        assert!(fabrikam.get("currencyLocale").is_none());
        assert_eq!(fabrikam["budget"]["amount"], 5000);
        assert_eq!(fabrikam["attributes"]["objectType"], "CustomerMonthlyUsageRecord");
        assert!(fabrikam["totalCost"].as_f64().is_some_and(|c| c > 0.0));
        assert!(items.iter().any(|i| i["budget"]["amount"].is_null()));

        // G3 and G4 agree with G2.
        let (_, customer) = get(&sim, &user, &format!("/v1/customers/{}/usagesummary", seed::CUSTOMER_FABRIKAM)).await;
        assert_eq!(customer["attributes"]["objectType"], "CustomerUsageSummary");
        assert_eq!(customer["totalCost"], fabrikam["totalCost"]);
        assert_eq!(customer["resourceName"], seed::NAME_FABRIKAM);
        let (_, subs) =
            get(&sim, &user, &format!("/v1/customers/{}/subscriptions/usagerecords", seed::CUSTOMER_FABRIKAM)).await;
        let sub = &subs["items"][0];
        assert_eq!(sub["attributes"]["objectType"], "SubscriptionMonthlyUsageRecord");
        assert_eq!(sub["id"], plan(seed::CUSTOMER_FABRIKAM));
        assert_eq!(sub["offerId"], billing_data::AZURE_PLAN_OFFER_ID);
        assert!(sub["partnerOnRecord"].is_string());
        assert_eq!(sub["totalCost"], fabrikam["totalCost"]);
        let (_, legacy) =
            get(&sim, &user, &format!("/v1/customers/{}/subscriptions/usagerecords", seed::CUSTOMER_LITWARE)).await;
        assert_eq!(legacy["items"][0]["offerId"], "MS-AZR-0145P");
        assert_eq!(legacy["items"][0]["currencyLocale"], "en-US");
        let (_, legacy_summary) =
            get(&sim, &user, &format!("/v1/customers/{}/usagesummary", seed::CUSTOMER_LITWARE)).await;
        assert_eq!(legacy_summary["currencyLocale"], "en-US");
        assert!(legacy_summary.get("usdTotalCost").is_none());
    }

    #[tokio::test]
    async fn subscription_summary_and_meter_records_agree_and_page_to_the_end() {
        let sim = TestSim::start().await;
        let user = sim.user_token().await;
        let customer = seed::CUSTOMER_FABRIKAM;
        let sub = plan(customer);
        let (status, summary) =
            get(&sim, &user, &format!("/v1/customers/{customer}/subscriptions/{sub}/usagesummary")).await;
        assert_eq!(status, 200);
        assert_eq!(summary["attributes"]["objectType"], "SubscriptionUsageSummary");
        let total = summary["totalCost"].as_f64().expect("total");

        let expected = meter_usage_count(customer, &sub, seeded_days(&sim)) as usize;
        assert!(expected > USAGE_PAGE_DEFAULT);
        let meters =
            walk(&sim, &user, &format!("/v1/customers/{customer}/subscriptions/{sub}/meterusagerecords")).await;
        assert_eq!(meters.len(), expected);
        let ids: HashSet<&str> = meters.iter().filter_map(|m| m["meterId"].as_str()).collect();
        assert_eq!(ids.len(), expected, "each meter once");
        let sum: f64 = meters.iter().filter_map(|m| m["totalCost"].as_f64()).sum();
        assert!((sum - total).abs() < 1e-6 * total.max(1.0), "{sum} vs {total}");
        assert_eq!(meters[0]["attributes"]["objectType"], "MeterUsageRecord");
        assert_eq!(meters[0]["currencyCode"], "USD");

        let expected = resource_usage_count(customer, &sub, seeded_days(&sim)) as usize;
        let resources =
            walk(&sim, &user, &format!("/v1/customers/{customer}/subscriptions/{sub}/resourceusagerecords")).await;
        assert_eq!(resources.len(), expected);
        let uris: HashSet<&str> = resources.iter().filter_map(|r| r["resourceUri"].as_str()).collect();
        assert_eq!(uris.len(), expected);
        let sum: f64 = resources.iter().filter_map(|r| r["totalCost"].as_f64()).sum();
        assert!((sum - total).abs() < 1e-6 * total.max(1.0), "{sum} vs {total}");
        assert_eq!(resources[0]["attributes"]["objectType"], "ResourceUsageRecord");
        for field in ["resourceType", "entitlementId", "entitlementName", "resourceGroupName", "usdTotalCost"] {
            assert!(resources[0].get(field).is_some(), "{field}");
        }
    }

    /// Follows `links.next` with the continuation token until the last page.
    async fn walk(sim: &TestSim, token: &str, first: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut response = sim.http.get(sim.url(first)).bearer_auth(token).send().await.expect("first page");
        let mut pages = 0;
        loop {
            assert_eq!(response.status(), 200);
            let page: Value = response.json().await.expect("json");
            pages += 1;
            items.extend(page["items"].as_array().expect("items").iter().cloned());
            let Some(next) = page["links"].get("next") else {
                assert!(page.get("continuationToken").is_none());
                break;
            };
            let value = next["headers"][0]["value"].as_str().expect("token");
            assert_eq!(next["headers"][0]["key"], "MS-ContinuationToken");
            assert_eq!(page["continuationToken"], value);
            let uri = next["uri"].as_str().expect("uri");
            assert!(uri.contains("seekOperation=Next"));
            response = sim
                .http
                .get(sim.url(&format!("/v1/{}", uri.trim_start_matches('/'))))
                .bearer_auth(token)
                .header("MS-ContinuationToken", value)
                .send()
                .await
                .expect("next page");
        }
        assert!(pages >= 2, "paged");
        items
    }

    #[tokio::test]
    async fn subscription_kinds_decide_g6_and_g7() {
        let sim = TestSim::start().await;
        let user = sim.user_token().await;
        let litware = seed::CUSTOMER_LITWARE;
        let legacy = seed::LITWARE_0145P_SUBSCRIPTION.to_owned();
        let (status, body) =
            get(&sim, &user, &format!("/v1/customers/{litware}/subscriptions/{legacy}/usagerecords/resources")).await;
        assert_eq!(status, 200);
        let first = &body["items"][0];
        assert_eq!(first["attributes"]["objectType"], "AzureResourceMonthlyUsageRecord");
        assert_eq!(first["currencyLocale"], "en-US");
        for field in ["category", "subcategory", "quantityUsed", "unit", "id", "name", "totalCost"] {
            assert!(first.get(field).is_some(), "{field}");
        }
        let (status, body) =
            get(&sim, &user, &format!("/v1/customers/{litware}/subscriptions/{legacy}/resourceusagerecords")).await;
        assert_eq!((status, body["code"].clone()), (400, json!(900141)));
        let (status, body) =
            get(&sim, &user, &format!("/v1/customers/{litware}/subscriptions/{legacy}/meterusagerecords?size=1000"))
                .await;
        assert_eq!(status, 200);
        assert_eq!(body["items"][0]["currencyLocale"], "en-US");
        assert!(body["items"][0].get("usdTotalCost").is_none());
        assert!(body["links"].get("next").is_none());

        let fabrikam = seed::CUSTOMER_FABRIKAM;
        let sub = plan(fabrikam);
        let (status, body) =
            get(&sim, &user, &format!("/v1/customers/{fabrikam}/subscriptions/{sub}/usagerecords/resources")).await;
        assert_eq!((status, body["code"].clone()), (400, json!(900141)));
        // A subscription the customer does not have has no usage.
        let (status, _) = get(
            &sim,
            &user,
            &format!("/v1/customers/{fabrikam}/subscriptions/11111111-2222-4333-8444-555555555555/usagesummary"),
        )
        .await;
        assert_eq!(status, 404);
        let (status, body) =
            get(&sim, &user, &format!("/v1/customers/{fabrikam}/subscriptions/not-a-guid/usagesummary")).await;
        assert_eq!((status, body["code"].clone()), (404, json!(20003)));
    }

    #[tokio::test]
    async fn unknown_customers_bad_paging_and_other_partners() {
        let sim = TestSim::start().await;
        let user = sim.user_token().await;
        let (status, body) = get(&sim, &user, "/v1/customers/not-a-guid/usagesummary").await;
        assert_eq!((status, body["code"].clone()), (400, json!(900118)));
        let unknown = "99999999-9999-4999-8999-999999999999";
        let (status, body) = get(&sim, &user, &format!("/v1/customers/{unknown}/usagesummary")).await;
        assert_eq!((status, body["code"].clone()), (404, json!(60003)));
        let northwind = seed::CUSTOMER_NORTHWIND_TRADERS;
        let (status, _) = get(&sim, &user, &format!("/v1/customers/{northwind}/usagebudget")).await;
        assert_eq!(status, 404);

        let fabrikam = seed::CUSTOMER_FABRIKAM;
        let sub = plan(fabrikam);
        let base = format!("/v1/customers/{fabrikam}/subscriptions/{sub}/meterusagerecords");
        let (status, body) = get(&sim, &user, &format!("{base}?size=0")).await;
        assert_eq!((status, body["code"].clone()), (400, json!(3000)));
        let (status, body) = get(&sim, &user, &format!("{base}?size=abc")).await;
        assert_eq!((status, body["code"].clone()), (400, json!(3000)));
        let (status, body) = get(&sim, &user, &format!("{base}?seekOperation=Next")).await;
        assert_eq!((status, body["code"].clone()), (400, json!(400)));
        let forged = sim
            .http
            .get(sim.url(&format!("{base}?seekOperation=Next")))
            .bearer_auth(&user)
            .header("MS-ContinuationToken", "AQAAAA==")
            .send()
            .await
            .expect("send");
        assert_eq!(forged.status(), 400);
        // A token for one subscription's meters does not page another collection.
        let (_, first) = get(&sim, &user, &base).await;
        let token = first["continuationToken"].as_str().expect("token").to_owned();
        let other = format!("/v1/customers/{fabrikam}/subscriptions/{sub}/resourceusagerecords?seekOperation=Next");
        let response = sim
            .http
            .get(sim.url(&other))
            .bearer_auth(&user)
            .header("MS-ContinuationToken", &token)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 400);
        let (status, body) = get(&sim, &user, &format!("{base}?seekOperation=Previous")).await;
        assert_eq!((status, body["code"].clone()), (400, json!(900126)));
    }

    #[tokio::test]
    async fn budgets_are_validated_stored_and_removed() {
        let sim = TestSim::start().await;
        let app = sim.app_token().await;
        let customer = seed::CUSTOMER_WINGTIP;
        let url = sim.url(&format!("/v1/customers/{customer}/usagebudget"));
        let (status, budget) = get(&sim, &app, &format!("/v1/customers/{customer}/usagebudget")).await;
        assert_eq!(status, 200);
        assert!(budget["amount"].is_null());
        assert_eq!(budget["attributes"]["objectType"], "SpendingBudget");

        let patch = |body: String| {
            sim.http.patch(&url).bearer_auth(&app).header("Content-Type", "application/json").body(body).send()
        };
        let response =
            patch(r#"{"Amount": 100, "Attributes": {"ObjectType": "SpendingBudget"}}"#.into()).await.expect("patch");
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["amount"], 100);
        assert_eq!(body["links"]["self"]["method"], "PATCH");
        let (_, stored) = get(&sim, &app, &format!("/v1/customers/{customer}/usagebudget")).await;
        assert_eq!(stored["amount"], 100);

        let response =
            patch(r#"{"amount": 250.5, "attributes": {"objectType": "SpendingBudget"}}"#.into()).await.expect("patch");
        assert_eq!(response.status(), 200);
        let (_, stored) = get(&sim, &app, &format!("/v1/customers/{customer}/usagebudget")).await;
        assert_eq!(stored["amount"], 250.5);

        for bad in [
            r#"{"Amount": -1, "Attributes": {"ObjectType": "SpendingBudget"}}"#,
            r#"{"Amount": "lots"}"#,
            r#"{"Amount": true}"#,
            r#"{"Amount": [1]}"#,
            r#"{"Amount": 5, "Attributes": {"ObjectType": "Cart"}}"#,
            "not json",
            "[1, 2]",
        ] {
            let response = patch(bad.into()).await.expect("patch");
            assert_eq!(response.status(), 400, "{bad}");
            let body: Value = response.json().await.expect("json");
            assert!(body["code"].is_u64() && body["description"].is_string() && body["source"].is_string(), "{bad}");
        }
        let (_, unchanged) = get(&sim, &app, &format!("/v1/customers/{customer}/usagebudget")).await;
        assert_eq!(unchanged["amount"], 250.5);

        let response =
            patch(r#"{"Amount": null, "Attributes": {"ObjectType": "SpendingBudget"}}"#.into()).await.expect("patch");
        assert_eq!(response.status(), 200);
        let (_, removed) = get(&sim, &app, &format!("/v1/customers/{customer}/usagebudget")).await;
        assert!(removed["amount"].is_null());

        // The budget shows up in the customer's usage records.
        let response = patch(r#"{"Amount": "0.5"}"#.into()).await.expect("patch");
        assert_eq!(response.status(), 200);
        let user = sim.user_token().await;
        let (_, summary) = get(&sim, &user, &format!("/v1/customers/{customer}/usagesummary")).await;
        assert_eq!(summary["budget"]["amount"], 0.5);
    }

    #[tokio::test]
    async fn a_new_plan_starts_without_usage_and_accrues_it_as_the_clock_moves() {
        let sim = TestSim::start().await;
        let app = sim.app_token().await;
        let user = sim.user_token().await;
        let customer = seed::CUSTOMER_ADVENTURE_WORKS;
        let bought = buy(&sim, &app, customer, vec![azure_plan_line()]).await;
        assert_eq!(bought.status, 201, "{}", bought.body);
        let order = bought.body["orders"][0]["id"].as_str().expect("order id").to_owned();
        let path = format!("/v1/customers/{customer}/subscriptions?order_id={order}");
        let (_, plans) = get(&sim, &app, &path).await;
        let plan = plans["items"][0]["id"].as_str().expect("plan id").to_owned();
        let summary = format!("/v1/customers/{customer}/subscriptions/{plan}/usagesummary");
        let meters = format!("/v1/customers/{customer}/subscriptions/{plan}/meterusagerecords");
        let (status, fresh) = get(&sim, &user, &summary).await;
        assert_eq!(status, 200, "{fresh}");
        assert_eq!(fresh["totalCost"].as_f64(), Some(0.0));
        assert!(!fresh["totalCost"].to_string().starts_with('-'), "no negative zero: {fresh}");
        let (status, none) = get(&sim, &user, &meters).await;
        assert_eq!((status, none["totalCount"].as_u64()), (200, Some(0)), "{none}");
        let (_, customer_summary) = get(&sim, &user, &format!("/v1/customers/{customer}/usagesummary")).await;
        assert_eq!(customer_summary["totalCost"].as_f64(), Some(0.0));

        sim.handle.state().advance_clock(std::time::Duration::from_secs(2 * 24 * 3600));
        let user = sim.user_token().await;
        let (_, later) = get(&sim, &user, &summary).await;
        let total = later["totalCost"].as_f64().expect("total");
        assert!(total > 0.0, "{later}");
        let sum: f64 = walk(&sim, &user, &meters).await.iter().filter_map(|m| m["totalCost"].as_f64()).sum();
        assert!((sum - total).abs() < 1e-6 * total, "{sum} vs {total}");
    }

    #[tokio::test]
    async fn the_partner_total_is_the_sum_of_its_customers_records_before_and_after_a_transition() {
        let sim = TestSim::start().await;
        let user = sim.user_token().await;
        let check = |partner: Value, records: Value| {
            let items = records["items"].as_array().expect("items").clone();
            let legacy: Vec<&Value> = items.iter().filter(|r| r["isUpgraded"] == false).collect();
            let sum: f64 = legacy.iter().filter_map(|r| r["totalCost"].as_f64()).sum();
            let total = partner["totalCost"].as_f64().expect("partner total");
            assert!((sum - total).abs() < 1e-6 * total.max(1.0), "{sum} vs {total}");
            assert_eq!(partner["customersWithUsageBasedSubscription"].as_u64(), Some(legacy.len() as u64));
            // Each customer's record is its summary's total, and the sum of its subscriptions'.
            items
        };
        let (_, partner) = get(&sim, &user, "/v1/usagesummary").await;
        let (_, records) = get(&sim, &user, "/v1/customers/usagerecords").await;
        assert!(partner["totalCost"].as_f64().is_some_and(|t| t > 0.0), "{partner}");
        let items = check(partner, records);
        for customer in [seed::CUSTOMER_FABRIKAM, seed::CUSTOMER_LITWARE] {
            let record = items.iter().find(|r| r["id"] == customer).expect("record");
            let (_, summary) = get(&sim, &user, &format!("/v1/customers/{customer}/usagesummary")).await;
            assert_eq!(summary["totalCost"], record["totalCost"], "{customer}");
            let (_, subs) = get(&sim, &user, &format!("/v1/customers/{customer}/subscriptions/usagerecords")).await;
            let sum: f64 =
                subs["items"].as_array().expect("items").iter().filter_map(|s| s["totalCost"].as_f64()).sum();
            let total = record["totalCost"].as_f64().expect("total");
            assert!((sum - total).abs() < 1e-6 * total.max(1.0), "{customer}: {sum} vs {total}");
        }

        // Litware moves to an Azure plan: it leaves the partner total, which still adds up.
        let upgrade = sim
            .http
            .post(sim.url("/v1/productUpgrades"))
            .bearer_auth(&user)
            .json(&json!({ "customerId": seed::CUSTOMER_LITWARE, "productFamily": "Azure" }))
            .send()
            .await
            .expect("upgrade");
        assert_eq!(upgrade.status(), 202);
        sim.handle.state().advance_clock(sim.handle.state().config.upgrade_duration);
        let (_, partner) = get(&sim, &user, "/v1/usagesummary").await;
        let (_, records) = get(&sim, &user, "/v1/customers/usagerecords").await;
        let items = check(partner, records);
        let litware = items.iter().find(|r| r["id"] == seed::CUSTOMER_LITWARE).expect("litware");
        assert_eq!(litware["isUpgraded"], true);
        assert_eq!(litware["totalCost"].as_f64(), Some(0.0), "the new plan has no usage yet");
    }
}
