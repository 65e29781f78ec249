//! Microsoft's published response examples (`tests/fixtures/partner-center/`, sources in its
//! `SOURCES.md`) read by the client's wire models, with the fields the facade uses asserted.
//! The simulator is held to the same fixtures by `simulator/tests/contract_fixtures.rs`.

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::{
    error::{UpstreamErrorBody, classify},
    invoices::{estimate_link, line_item},
    models::{
        Collection,
        agreements::{WireAgreement, WireAgreementMetadata},
        billing::{WireEstimateLink, WireInvoice, WireInvoiceSummary},
        catalog::{WireAvailability, WireProduct, WireSku},
        commerce::{WireCart, WireCheckoutResult, WireLineProvisioningStatus, WireOrder},
        customers::{WireBillingProfile, WireCustomer, WireDirectSignStatus},
        subscriptions::{WireAzureEntitlement, WireSubscription},
        upgrades::{WireEligibility, WireUpgradeStatus},
        usage::{
            WireBudget, WireCustomerUsageRecord, WireCustomerUsageSummary, WireMeterUsageRecord,
            WireMonthlyUsageRecord, WireResourceUsageRecord, WireSubscriptionUsageRecord, WireSubscriptionUsageSummary,
        },
    },
};
use crate::{
    edge::REST_FIELDS,
    error::{ErrorKind, Reason},
    model::{
        CustomerId,
        billing::{LineItemArgs, LineItemQuery},
        catalog::{Availability, Product, Sku},
        commerce::{AzurePlanStatus, BillingCycle},
        customer::Customer,
    },
};

/// Where Microsoft's examples elide an id (`"<guid>"`, `"<customer-tenant-id>"`), a real answer
/// has one: the fixture is read with a GUID in its place.
pub(crate) const PLACEHOLDER_ID: &str = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";

/// A fixture's text, placeholders filled.
pub(crate) fn fixture_text(name: &str) -> String {
    let path = format!("{}/tests/fixtures/partner-center/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut filled = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(start) = rest.find("\"<") {
        let Some(end) = rest[start..].find(">\"") else { break };
        filled.push_str(&rest[..start]);
        filled.push_str(&format!("\"{PLACEHOLDER_ID}\""));
        rest = &rest[start + end + 2..];
    }
    filled.push_str(rest);
    filled
}

fn fixture<T: DeserializeOwned>(name: &str) -> T {
    serde_json::from_str(&fixture_text(name))
        .unwrap_or_else(|e| panic!("{name} does not read as the client's model: {e}"))
}

fn customer() -> CustomerId {
    CustomerId::parse("customer", PLACEHOLDER_ID).expect("valid")
}

#[test]
fn catalog_fixtures_give_the_azure_plan_its_documented_cycle() {
    let product: Product = fixture::<WireProduct>("product.json").into();
    assert!(!product.id.is_empty() && !product.title.is_empty());
    let plan: Sku = fixture::<WireSku>("sku-azure-plan.json").into();
    assert_eq!((plan.product_id.as_str(), plan.id.as_str()), ("DZH318Z0BPS6", "0001"));
    let cycles: Vec<_> = plan.supported_billing_cycles.iter().filter_map(|c| BillingCycle::from_name(c)).collect();
    assert_eq!(cycles, [BillingCycle::OneTime], "{:?}", plan.supported_billing_cycles);
    let legacy: Sku = fixture::<WireSku>("sku-legacy-azure.json").into();
    assert_eq!(legacy.supported_billing_cycles, ["monthly"]);
    assert!(fixture::<WireSku>("sku-reservation.json").id.len() > 1);
    for name in ["availability-new-commerce.json", "availability-reservation.json"] {
        let availability: Availability = fixture::<WireAvailability>(name).into();
        assert_eq!(availability.catalog_item_id.split(':').count(), 3, "{name}");
        assert!(!availability.segment.is_empty() && !availability.country.is_empty(), "{name}");
    }
}

#[test]
fn commerce_fixtures_read_with_their_documented_order_ids_and_statuses() {
    let cart = fixture::<WireCart>("cart.json").into_model(customer()).expect("cart");
    assert!(!cart.line_items.is_empty());
    assert!(cart.line_items.iter().all(|l| !l.catalog_item_id.is_empty() && !l.billing_cycle.is_empty()));
    let checkout = fixture::<WireCheckoutResult>("checkout-result.json").into_model(customer()).expect("checkout");
    assert!(!checkout.orders.is_empty());
    for order in &checkout.orders {
        // Not GUIDs: 12 hex characters or the long base64-like form.
        assert!(order.id.as_str().len() == 12 || order.id.as_str().len() > 30, "{}", order.id.as_str());
    }
    let order = fixture::<WireOrder>("order.json").into_model(customer()).expect("order");
    assert_ne!(AzurePlanStatus::from_order(&order.status, true), AzurePlanStatus::Unknown, "{}", order.status);
    let orders = fixture::<Collection<WireOrder>>("order-list.json");
    let page = orders.into_page(|o| o.into_model(customer())).expect("orders");
    assert!(page.items.iter().all(|o| AzurePlanStatus::from_order(&o.status, true) != AzurePlanStatus::Unknown));
    let provisioning = fixture::<Collection<WireLineProvisioningStatus>>("order-provisioning-status.json");
    assert_eq!(provisioning.items[0].status, "fulfilled");
}

#[test]
fn subscription_fixtures_read_with_the_etag_a_patch_needs() {
    for name in ["subscription-legacy-azure.json", "subscription-new-commerce.json", "subscription-patch-response.json"]
    {
        let document: serde_json::Value = serde_json::from_str(&fixture_text(name)).expect("json");
        let subscription = fixture::<WireSubscription>(name).into_model(customer(), "DZH318Z0BPS6").expect(name);
        assert!(!subscription.offer_id.is_empty() && !subscription.status.is_empty(), "{name}");
        if name == "subscription-legacy-azure.json" {
            assert!(document.pointer("/attributes/etag").is_some_and(|e| e.is_string()), "{name} has no etag");
        }
    }
    let entitlements = fixture::<Collection<WireAzureEntitlement>>("azure-entitlements.json");
    assert!(entitlements.items.iter().all(|e| !e.id.is_empty() && !e.status.is_empty()));
    let eligibility = fixture::<WireEligibility>("upgrade-eligibility.json").into_model(customer());
    assert!(eligibility.product_family.eq_ignore_ascii_case("Azure"), "{}", eligibility.product_family);
    let upgrade = fixture::<WireUpgradeStatus>("upgrade-status.json").into_model(customer()).expect("upgrade");
    assert!(!upgrade.status.is_empty());
}

#[test]
fn usage_fixtures_read_including_the_documented_typo() {
    for name in ["customer-usage-summary-azure-plan.json", "customer-usage-summary-legacy-azure.json"] {
        let summary = fixture::<WireCustomerUsageSummary>(name).into_model(customer());
        assert!(!summary.total_cost.is_empty(), "{name}");
    }
    for name in ["subscription-usage-summary-azure-plan.json", "subscription-usage-summary-legacy-azure.json"] {
        assert!(fixture::<WireSubscriptionUsageSummary>(name).total_cost.is_some(), "{name}");
    }
    assert!(!fixture::<Collection<WireCustomerUsageRecord>>("customer-usage-records.json").items.is_empty());
    assert!(!fixture::<Collection<WireSubscriptionUsageRecord>>("subscription-usage-records.json").items.is_empty());
    assert!(!fixture::<Collection<WireMonthlyUsageRecord>>("monthly-usage-records.json").items.is_empty());
    assert!(!fixture::<Collection<WireResourceUsageRecord>>("resource-usage-records.json").items.is_empty());
    assert!(!fixture::<Collection<WireMeterUsageRecord>>("meter-usage-records.json").items.is_empty());
    assert!(fixture::<WireBudget>("spending-budget.json").amount.is_some());
}

#[test]
fn invoice_fixtures_read_and_every_estimate_link_is_a_query_the_gateway_serves() {
    let invoice: crate::model::billing::Invoice = fixture::<WireInvoice>("invoice.json").into();
    assert!(!invoice.id.is_empty());
    assert!(fixture::<Collection<WireInvoice>>("invoice-list.json").items.len() > 1);
    assert!(!fixture::<Collection<WireInvoiceSummary>>("invoice-summaries.json").items.is_empty());
    let links = fixture::<Collection<WireEstimateLink>>("estimate-links.json");
    assert_eq!(links.items.len(), 4);
    for link in links.items.into_iter().map(|l| estimate_link(l, "USD")) {
        let query: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(link.href.split_once('?').map_or("", |(_, q)| q).as_bytes())
                .into_owned()
                .collect();
        let args = LineItemArgs {
            provider: query.get("provider").map(String::as_str),
            line_item_type: query.get("type").map(String::as_str),
            currency_code: query.get("currencyCode").map(String::as_str),
            period: query.get("period").map(String::as_str),
        };
        let parsed = LineItemQuery::parse(&args, &REST_FIELDS.line_items, true);
        assert!(parsed.is_ok(), "{}: {parsed:?}", link.href);
    }
    for name in [
        "line-items-office-billing.json",
        "line-items-azure-billing.json",
        "line-items-azure-usage.json",
        "line-items-onetime-billed.json",
        "line-items-onetime-unbilled.json",
        "line-items-daily-rated-usage-billed.json",
        "line-items-daily-rated-usage-unbilled.json",
    ] {
        let page = fixture::<Collection<Box<RawValue>>>(name);
        for item in page.items {
            let item = line_item(item).expect(name);
            assert!(!item.kind.is_empty(), "{name}: a line item without its kind");
        }
    }
}

#[test]
fn agreement_and_customer_fixtures_read() {
    let metadata = fixture::<Collection<WireAgreementMetadata>>("agreement-metadata.json");
    assert!(metadata.items.iter().all(|m| !m.template_id.is_empty()));
    let agreements = fixture::<Collection<WireAgreement>>("agreements.json");
    assert!(agreements.items.into_iter().map(|a| a.into_model(customer())).all(|a| !a.agreement_type.is_empty()));
    let confirmed = fixture::<WireAgreement>("agreement-confirmation.json").into_model(customer());
    assert_eq!(confirmed.agreement_type, "MicrosoftCustomerAgreement");
    assert!(fixture::<WireDirectSignStatus>("direct-sign-status.json").is_signed);
    let profile = fixture::<WireBillingProfile>("billing-profile.json").into_model(customer());
    assert_eq!(profile.default_address.country, "US");
    let customer = Customer::try_from(fixture::<WireCustomer>("customer.json")).expect("customer");
    assert!(!customer.company_profile.company_name.is_empty());
    let page = fixture::<Collection<WireCustomer>>("customers-page.json");
    assert!(page.into_page(Customer::try_from).expect("customers").items.len() > 1);
}

#[test]
fn both_error_body_shapes_keep_their_code() {
    for (name, status) in [("error.json", 400), ("error-named.json", 409)] {
        let body = fixture_text(name);
        let parsed = UpstreamErrorBody::parse(body.as_bytes());
        assert!(parsed.code.is_some() && parsed.text().is_some(), "{name}");
        let error =
            classify(http::StatusCode::from_u16(status).expect("status"), &http::HeaderMap::new(), body.as_bytes());
        assert_eq!(error.upstream_code(), parsed.code.as_deref(), "{name}");
        assert!(error.kind() != ErrorKind::Internal, "{name}");
    }
    let named =
        classify(http::StatusCode::CONFLICT, &http::HeaderMap::new(), fixture_text("error-named.json").as_bytes());
    if named.upstream_code() == Some("600061") {
        assert_eq!(named.reason(), Reason::AgreementAlreadyConfirmed);
    }
}
