//! Facade logic against a scripted Partner Center ([`FakePartnerCenter`]): no simulator, no
//! network. The purchase's resume paths, read-your-writes merging and failure explanations are
//! decided here, so they are tested here.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use parking_lot::Mutex;
use uuid::Uuid;

use super::{
    CatalogCache, Facade, FacadeOptions, FacadeParts,
    paging::PageTokens,
    state::{InMemoryIdempotency, InMemoryRecentOrders},
};
use crate::{
    auth::{Caller, CustomerScope, Permission},
    context::RequestContext,
    error::{Error, ErrorKind, Reason, Result},
    model::{
        CartId, Country, CustomerId, OrderId, PageRequest, SubscriptionId,
        agreement::{Agreement, Contact},
        catalog::{Availability, ItemType, Product, Segment, Sku},
        commerce::{
            AzurePlanOrder, AzurePlanStatus, BillingCycle, Cart, CartLineItem, CartLineItemError, CheckoutResult,
            IdempotencyKey, Order, OrderLineItem,
        },
        customer::{Address, BillingProfile},
        subscription::Subscription,
    },
    partner_center::{UpstreamPage, api::fake::FakePartnerCenter},
};

const CUSTOMER: &str = "11111111-1111-1111-1111-111111111111";
const OTHER_CUSTOMER: &str = "22222222-2222-2222-2222-222222222222";
const PLAN_ITEM: &str = "DZH318Z0BPS6:0001:DZH318Z0BML6";

fn customer() -> CustomerId {
    CustomerId::parse("customerId", CUSTOMER).expect("valid")
}

fn options() -> FacadeOptions {
    FacadeOptions {
        default_page_size: 100,
        max_page_size: 1000,
        azure_plan_product_id: "DZH318Z0BPS6".to_owned(),
        azure_plan_sku_id: "0001".to_owned(),
        azure_plan_segment: Segment::Commercial,
        purchase_checks_ttl: Duration::from_secs(3600),
    }
}

/// A facade over `pc` whose Azure plan catalog answers at once, for a US customer that accepted
/// the Microsoft Customer Agreement and has no other subscriptions (tests script otherwise).
fn facade(pc: Arc<FakePartnerCenter>) -> Facade {
    pc.list_products.lock().get_or_insert_with(|| Box::new(|_, _, _, _, _| Ok(vec![product()])));
    pc.list_skus.lock().get_or_insert_with(|| Box::new(|_, _, _, _, _| Ok(vec![sku()])));
    pc.list_availabilities.lock().get_or_insert_with(|| Box::new(|_, _, _, _, _, _| Ok(vec![availability()])));
    pc.billing_profile
        .lock()
        .get_or_insert_with(|| Box::new(|_, customer| Ok(billing_profile(customer.customer(), "US"))));
    pc.list_agreements.lock().get_or_insert_with(|| Box::new(|_, customer| Ok(vec![mca(customer.customer())])));
    pc.list_subscriptions
        .lock()
        .get_or_insert_with(|| Box::new(|_, _, _, _, _| Ok(UpstreamPage { items: vec![], next: None })));
    Facade::new(
        FacadeParts {
            pc,
            catalog: CatalogCache::new(Duration::from_secs(60), 100),
            pages: PageTokens::new(Some(b"0123456789abcdef0123456789abcdef")).expect("key"),
            idempotency: Arc::new(InMemoryIdempotency::new(Duration::from_secs(120), Duration::from_secs(3600))),
            recent_orders: Arc::new(InMemoryRecentOrders::new(Duration::from_secs(900))),
        },
        options(),
    )
}

fn caller() -> Caller {
    Caller::for_tests("contoso", CustomerScope::Only([customer()].into_iter().collect()), &Permission::ALL)
}

fn ctx() -> RequestContext {
    RequestContext::background()
}

fn product() -> Product {
    Product {
        id: "DZH318Z0BPS6".to_owned(),
        title: "Azure plan".to_owned(),
        description: String::new(),
        product_type: ItemType { id: "Azure".to_owned(), display_name: "Azure".to_owned(), sub_type: None },
        is_microsoft_product: true,
        publisher_name: "Microsoft Corporation".to_owned(),
    }
}

fn sku() -> Sku {
    Sku {
        id: "0001".to_owned(),
        product_id: "DZH318Z0BPS6".to_owned(),
        title: "Azure plan".to_owned(),
        description: String::new(),
        minimum_quantity: 1,
        maximum_quantity: 1,
        is_trial: false,
        supported_billing_cycles: vec!["one_time".to_owned()],
        purchase_prerequisites: Vec::new(),
        inventory_variables: Vec::new(),
        provisioning_variables: Vec::new(),
        dynamic_attributes: serde_json::Map::new(),
    }
}

fn availability() -> Availability {
    Availability {
        id: "DZH318Z0BML6".to_owned(),
        product_id: "DZH318Z0BPS6".to_owned(),
        sku_id: "0001".to_owned(),
        catalog_item_id: PLAN_ITEM.to_owned(),
        default_currency: None,
        segment: "commercial".to_owned(),
        country: "US".to_owned(),
        is_purchasable: true,
        is_renewable: true,
        terms: Vec::new(),
    }
}

fn billing_profile(customer: CustomerId, country: &str) -> BillingProfile {
    BillingProfile {
        customer_id: customer,
        first_name: None,
        last_name: None,
        email: None,
        culture: None,
        language: None,
        company_name: None,
        default_address: Address { country: country.to_owned(), ..Address::default() },
    }
}

fn mca(customer: CustomerId) -> Agreement {
    Agreement {
        customer_id: customer,
        template_id: "117a69d0-7e4a-4c35-9d3c-1b4a6f2ec5a2".to_owned(),
        agreement_type: "MicrosoftCustomerAgreement".to_owned(),
        primary_contact: Contact {
            first_name: "A".to_owned(),
            last_name: "B".to_owned(),
            email: "a@b.example".to_owned(),
            phone_number: None,
        },
        date_agreed: None,
        user_id: None,
        agreement_link: None,
    }
}

fn cart(id: CartId, error: Option<CartLineItemError>) -> Cart {
    Cart {
        id,
        customer_id: customer(),
        status: "Active".to_owned(),
        creation_timestamp: None,
        last_modified_timestamp: None,
        expiration_timestamp: None,
        line_items: vec![CartLineItem {
            id: 0,
            catalog_item_id: PLAN_ITEM.to_owned(),
            friendly_name: None,
            quantity: 1,
            currency_code: None,
            billing_cycle: "monthly".to_owned(),
            term_duration: None,
            provisioning_context: Default::default(),
            order_group: None,
            error,
        }],
    }
}

fn order(id: &str, status: &str, subscription: Option<SubscriptionId>) -> Order {
    Order {
        id: OrderId::parse("orderId", id).expect("valid"),
        alternate_id: None,
        customer_id: customer(),
        billing_cycle: "monthly".to_owned(),
        currency_code: None,
        status: status.to_owned(),
        creation_date: None,
        line_items: vec![OrderLineItem {
            line_item_number: 0,
            offer_id: PLAN_ITEM.to_owned(),
            subscription_id: subscription,
            friendly_name: None,
            quantity: 1,
            term_duration: None,
            transaction_type: None,
        }],
        transaction_type: None,
    }
}

fn subscription(offer: &str) -> Subscription {
    Subscription {
        id: SubscriptionId::from_uuid(Uuid::new_v4()),
        customer_id: customer(),
        offer_id: offer.to_owned(),
        offer_name: None,
        friendly_name: "legacy".to_owned(),
        quantity: 1,
        unit_type: None,
        status: "active".to_owned(),
        billing_type: None,
        billing_cycle: None,
        term_duration: None,
        creation_date: None,
        effective_start_date: None,
        commitment_end_date: None,
        auto_renew_enabled: false,
        order_id: None,
        entitlement_id: None,
        parent_subscription_id: None,
        suspension_reasons: Vec::new(),
        is_azure_plan: false,
    }
}

fn purchase(key: &str) -> AzurePlanOrder {
    AzurePlanOrder {
        idempotency_key: IdempotencyKey::parse("idempotency_key", Some(key)).expect("valid"),
        friendly_name: None,
        country: None,
    }
}

/// Carts answer with a fixed id and remember the `MS-RequestId`s they were sent; every line must
/// carry the billing cycle the Azure plan SKU supports.
fn script_carts(pc: &FakePartnerCenter, cart_id: CartId) -> Arc<Mutex<Vec<Option<Uuid>>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let cart_ids = seen.clone();
    *pc.create_cart.lock() = Some(Box::new(move |_, _, lines, request_id| {
        assert!(lines.iter().all(|l| l.billing_cycle == BillingCycle::OneTime), "{lines:?}");
        cart_ids.lock().push(request_id);
        Ok(cart(cart_id, None))
    }));
    seen
}

#[tokio::test]
async fn a_checkout_without_an_answer_is_resumed_with_the_same_request_ids_and_buys_once() {
    let pc = Arc::new(FakePartnerCenter::default());
    let cart_id = CartId::from_uuid(Uuid::new_v4());
    let cart_request_ids = script_carts(&pc, cart_id);
    let checkout_ids = Arc::new(Mutex::new(Vec::new()));
    let seen = checkout_ids.clone();
    let attempts = AtomicUsize::new(0);
    *pc.checkout.lock() = Some(Box::new(move |_, _, cart, request_id| {
        assert_eq!(cart, cart_id, "the first cart is checked out, not a new one");
        seen.lock().push(request_id);
        match attempts.fetch_add(1, Ordering::SeqCst) {
            // Committed upstream, but the answer was lost.
            0 => Err(Error::new(ErrorKind::UpstreamUnavailable, "no answer").with_reason(Reason::UpstreamUnreachable)),
            _ => Ok(CheckoutResult { orders: vec![order("a68736758d9c", "pending", None)], order_errors: vec![] }),
        }
    }));
    let facade = facade(pc.clone());

    let first = facade.create_azure_plan(&ctx(), &caller(), customer(), Ok(purchase("k1"))).await;
    assert!(first.is_err_and(|e| e.outcome_unknown()));
    let second = facade.create_azure_plan(&ctx(), &caller(), customer(), Ok(purchase("k1"))).await.expect("resumed");

    assert_eq!(second.order_id.as_str(), "a68736758d9c");
    assert_eq!(second.status, AzurePlanStatus::Provisioning);
    assert!(!second.replayed, "the resumed call is the one that placed the order");
    assert_eq!(pc.count("create_cart"), 1, "the cart is created once");
    assert_eq!(cart_request_ids.lock().len(), 1);
    let checkout_ids = checkout_ids.lock();
    assert_eq!(checkout_ids.len(), 2);
    assert!(checkout_ids[0].is_some() && checkout_ids[0] == checkout_ids[1], "same MS-RequestId: {checkout_ids:?}");
}

#[tokio::test]
async fn an_answered_checkout_failure_makes_the_next_attempt_a_new_logical_call() {
    let pc = Arc::new(FakePartnerCenter::default());
    script_carts(&pc, CartId::from_uuid(Uuid::new_v4()));
    let checkout_ids = Arc::new(Mutex::new(Vec::new()));
    let seen = checkout_ids.clone();
    let attempts = AtomicUsize::new(0);
    *pc.checkout.lock() = Some(Box::new(move |_, _, _, request_id| {
        seen.lock().push(request_id);
        match attempts.fetch_add(1, Ordering::SeqCst) {
            0 => Err(Error::new(ErrorKind::Conflict, "the cart is being processed")),
            _ => Ok(CheckoutResult { orders: vec![order("b1", "completed", None)], order_errors: vec![] }),
        }
    }));
    let facade = facade(pc.clone());

    let first = facade.create_azure_plan(&ctx(), &caller(), customer(), Ok(purchase("k2"))).await;
    assert!(first.is_err_and(|e| e.kind() == ErrorKind::Conflict));
    facade.create_azure_plan(&ctx(), &caller(), customer(), Ok(purchase("k2"))).await.expect("second attempt");
    let checkout_ids = checkout_ids.lock();
    assert_ne!(checkout_ids[0], checkout_ids[1], "a refused checkout is not replayed");
}

#[tokio::test]
async fn a_finished_purchase_is_answered_from_its_record_and_refreshed_while_provisioning() {
    let pc = Arc::new(FakePartnerCenter::default());
    script_carts(&pc, CartId::from_uuid(Uuid::new_v4()));
    *pc.checkout.lock() = Some(Box::new(|_, _, _, _| {
        Ok(CheckoutResult { orders: vec![order("c1", "pending", None)], order_errors: vec![] })
    }));
    let plan_subscription = SubscriptionId::from_uuid(Uuid::new_v4());
    *pc.get_order.lock() = Some(Box::new(move |_, _, id| Ok(order(id.as_str(), "completed", Some(plan_subscription)))));
    let facade = facade(pc.clone());

    let first = facade.create_azure_plan(&ctx(), &caller(), customer(), Ok(purchase("k3"))).await.expect("bought");
    assert_eq!(first.status, AzurePlanStatus::Provisioning);
    let again = facade.create_azure_plan(&ctx(), &caller(), customer(), Ok(purchase("k3"))).await.expect("replayed");
    assert!(again.replayed);
    assert_eq!(again.status, AzurePlanStatus::Active);
    assert_eq!(again.subscription_id, Some(plan_subscription));
    assert_eq!((pc.count("create_cart"), pc.count("checkout")), (1, 1), "{:?}", pc.calls());

    let mut other = purchase("k3");
    other.country = Some(Country::parse("country", "DE").expect("valid"));
    let reused = facade.create_azure_plan(&ctx(), &caller(), customer(), Ok(other)).await.expect_err("reused key");
    assert_eq!(reused.reason(), Reason::IdempotencyKeyReused);
    assert_eq!(reused.field_violations()[0].field, "idempotency_key", "named as the caller sent it");
}

#[tokio::test]
async fn a_customer_with_a_legacy_azure_subscription_is_refused_before_any_cart() {
    let pc = Arc::new(FakePartnerCenter::default());
    let legacy = subscription("MS-AZR-0145P");
    let legacy_id = legacy.id;
    *pc.list_subscriptions.lock() =
        Some(Box::new(move |_, _, _, _, _| Ok(UpstreamPage { items: vec![legacy.clone()], next: None })));
    let facade = facade(pc.clone());
    let error = facade.create_azure_plan(&ctx(), &caller(), customer(), Ok(purchase("k6"))).await.expect_err("legacy");
    assert_eq!(error.reason(), Reason::CustomerHasLegacyAzureSubscription);
    assert_eq!(error.precondition_violations()[0].subject, legacy_id.to_string());
    assert_eq!(pc.count("create_cart"), 0, "{:?}", pc.calls());
}

#[tokio::test]
async fn the_agreement_may_be_confirmed_by_the_partner_or_signed_directly_and_is_checked_before_any_cart() {
    let pc = Arc::new(FakePartnerCenter::default());
    *pc.list_agreements.lock() = Some(Box::new(|_, _| Ok(vec![])));
    let signed = Arc::new(AtomicUsize::new(0));
    let signed_now = signed.clone();
    *pc.direct_sign_status.lock() = Some(Box::new(move |_, _| Ok(signed_now.load(Ordering::SeqCst) > 0)));
    script_carts(&pc, CartId::from_uuid(Uuid::new_v4()));
    *pc.checkout.lock() = Some(Box::new(|_, _, _, _| {
        Ok(CheckoutResult { orders: vec![order("d1", "pending", None)], order_errors: vec![] })
    }));
    let facade = facade(pc.clone());

    let error = facade.create_azure_plan(&ctx(), &caller(), customer(), Ok(purchase("k7"))).await.expect_err("no MCA");
    assert_eq!(error.reason(), Reason::McaNotAccepted);
    assert!(error.detail().contains(&format!("POST /v1/customers/{CUSTOMER}/agreements")), "{}", error.detail());
    assert_eq!(pc.count("create_cart"), 0, "refused before any cart");

    signed.store(1, Ordering::SeqCst);
    facade.create_azure_plan(&ctx(), &caller(), customer(), Ok(purchase("k7"))).await.expect("signed directly");
    assert_eq!(pc.count("create_cart"), 1);
    // Facts that allowed a purchase are remembered: the next one checks nothing again.
    let checks = pc.count("list_agreements") + pc.count("direct_sign_status") + pc.count("list_subscriptions");
    facade.create_azure_plan(&ctx(), &caller(), customer(), Ok(purchase("k8"))).await.expect("second plan");
    assert_eq!(pc.count("list_agreements") + pc.count("direct_sign_status") + pc.count("list_subscriptions"), checks);
    assert_eq!(pc.count("billing_profile"), 1, "the country is remembered too");
}

#[tokio::test]
async fn the_catalog_country_is_the_customers_unless_the_caller_names_one() {
    let pc = Arc::new(FakePartnerCenter::default());
    *pc.billing_profile.lock() = Some(Box::new(|_, customer| Ok(billing_profile(customer.customer(), "gb"))));
    let countries = Arc::new(Mutex::new(Vec::new()));
    let seen = countries.clone();
    *pc.list_products.lock() = Some(Box::new(move |_, _, country, _, _| {
        seen.lock().push(country.as_str().to_owned());
        Ok(vec![product()])
    }));
    script_carts(&pc, CartId::from_uuid(Uuid::new_v4()));
    *pc.checkout.lock() = Some(Box::new(|_, _, _, _| {
        Ok(CheckoutResult { orders: vec![order("e1", "pending", None)], order_errors: vec![] })
    }));
    let facade = facade(pc.clone());
    facade.create_azure_plan(&ctx(), &caller(), customer(), Ok(purchase("k9"))).await.expect("bought");
    let mut named = purchase("k10");
    named.country = Some(Country::parse("country", "DE").expect("valid"));
    facade.create_azure_plan(&ctx(), &caller(), customer(), Ok(named)).await.expect("bought");
    assert_eq!(*countries.lock(), ["GB", "DE"]);
}

#[tokio::test]
async fn a_refusal_is_explained_when_the_customer_has_a_legacy_azure_subscription() {
    let pc = Arc::new(FakePartnerCenter::default());
    script_carts(&pc, CartId::from_uuid(Uuid::new_v4()));
    *pc.checkout.lock() = Some(Box::new(|_, _, _, _| {
        Err(Error::new(ErrorKind::FailedPrecondition, "refused").with_upstream_code("800002"))
    }));
    // The pre-check saw no MS-AZR-0145P; one appeared before the checkout.
    let legacy = subscription("MS-AZR-0145P");
    let legacy_id = legacy.id;
    let reads = AtomicUsize::new(0);
    *pc.list_subscriptions.lock() = Some(Box::new(move |_, _, _, _, _| {
        let items = match reads.fetch_add(1, Ordering::SeqCst) {
            0 => vec![subscription("CFQ7TTC0LH18:0001")],
            _ => vec![legacy.clone(), subscription("CFQ7TTC0LH18:0001")],
        };
        Ok(UpstreamPage { items, next: None })
    }));
    let facade = facade(pc.clone());

    let error = facade.create_azure_plan(&ctx(), &caller(), customer(), Ok(purchase("k4"))).await.expect_err("refused");
    assert_eq!(error.reason(), Reason::CustomerHasLegacyAzureSubscription);
    assert_eq!(error.upstream_code(), Some("800002"));
    assert_eq!(error.precondition_violations().len(), 1);
    assert_eq!(error.precondition_violations()[0].subject, legacy_id.to_string());
    assert!(error.detail().contains(&format!("/v1/customers/{CUSTOMER}/product-upgrades")), "{}", error.detail());
    assert!(error.detail().contains("CreateProductUpgrade"), "names the gRPC operation too: {}", error.detail());
}

#[tokio::test]
async fn specific_refusals_pass_through_with_the_next_step() {
    let pc = Arc::new(FakePartnerCenter::default());
    *pc.create_cart.lock() = Some(Box::new(|_, _, _, _| {
        Err(Error::new(
            ErrorKind::PreconditionRequired,
            "the customer has not accepted the Microsoft Customer Agreement",
        )
        .with_reason(Reason::McaNotAccepted))
    }));
    let facade = facade(pc.clone());
    let error = facade.create_azure_plan(&ctx(), &caller(), customer(), Ok(purchase("k5"))).await.expect_err("no MCA");
    assert_eq!(error.reason(), Reason::McaNotAccepted);
    assert!(
        error.detail().ends_with(&format!(
            "confirm the customer agreement (ConfirmCustomerAgreement / POST /v1/customers/{CUSTOMER}/agreements), \
             or let the customer sign it in the Microsoft 365 admin center"
        )),
        "{}",
        error.detail()
    );
    assert_eq!(pc.count("list_subscriptions"), 1, "the pre-check's read only: a specific reason needs no explanation");
}

#[tokio::test]
async fn orders_placed_through_the_gateway_are_listed_before_partner_center_lists_them() {
    let pc = Arc::new(FakePartnerCenter::default());
    *pc.create_cart.lock() = Some(Box::new(|_, _, _, _| Ok(cart(CartId::from_uuid(Uuid::new_v4()), None))));
    let placed = Arc::new(AtomicUsize::new(0));
    let counter = placed.clone();
    *pc.checkout.lock() = Some(Box::new(move |_, _, _, _| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        Ok(CheckoutResult { orders: vec![order(&format!("new{n}"), "pending", None)], order_errors: vec![] })
    }));
    // Partner Center lists only the old order and, later, new0; new1 is gone (404).
    let lists_new0 = Arc::new(AtomicUsize::new(0));
    let listed = lists_new0.clone();
    *pc.list_orders.lock() = Some(Box::new(move |_, _, _| {
        let mut items = vec![order("old", "completed", None)];
        if listed.load(Ordering::SeqCst) > 0 {
            items.push(order("new0", "completed", None));
        }
        Ok(UpstreamPage { items, next: None })
    }));
    *pc.get_order.lock() = Some(Box::new(|_, _, id| match id.as_str() {
        "new1" => Err(Error::not_found("no such order")),
        other => Ok(order(other, "pending", None)),
    }));
    let facade = facade(pc.clone());
    for key in ["o1", "o2"] {
        facade.create_azure_plan(&ctx(), &caller(), customer(), Ok(purchase(key))).await.expect("bought");
    }

    let ids = |page: crate::model::Page<Order>| page.items.iter().map(|o| o.id.as_str().to_owned()).collect::<Vec<_>>();
    let first = facade.list_orders(&ctx(), &caller(), customer(), &PageRequest::default()).await.expect("list");
    assert_eq!(ids(first), ["new0", "old"], "new0 prepended, the vanished new1 skipped");
    lists_new0.store(1, Ordering::SeqCst);
    let later = facade.list_orders(&ctx(), &caller(), customer(), &PageRequest::default()).await.expect("list");
    assert_eq!(ids(later), ["old", "new0"], "listed once Partner Center lists it, not twice");
}

#[tokio::test]
async fn nothing_reaches_partner_center_for_a_customer_out_of_scope_not_even_input_errors() {
    let pc = Arc::new(FakePartnerCenter::default());
    let facade = facade(pc.clone());
    let other = CustomerId::parse("customerId", OTHER_CUSTOMER).expect("valid");
    let invalid: Result<AzurePlanOrder> = Err(Error::invalid_field("friendly_name", "must be 1-256 characters"));
    let error = facade.create_azure_plan(&ctx(), &caller(), other, invalid).await.expect_err("out of scope");
    assert_eq!(error.reason(), Reason::CustomerNotInScope, "the scope is checked before the input");
    let error = facade.list_orders(&ctx(), &caller(), other, &PageRequest::default()).await.expect_err("scope");
    assert_eq!(error.reason(), Reason::CustomerNotInScope);
    assert!(pc.calls().is_empty(), "{:?}", pc.calls());
}

#[tokio::test]
async fn catalog_answers_are_cached_per_locale() {
    let pc = Arc::new(FakePartnerCenter::default());
    let asked = Arc::new(Mutex::new(Vec::new()));
    let seen = asked.clone();
    *pc.get_product.lock() = Some(Box::new(move |ctx: &RequestContext, _, _, _| {
        let locale = ctx.locale.clone().unwrap_or_default();
        seen.lock().push(locale.clone());
        Ok(Product { title: format!("Azure plan ({locale})"), ..product() })
    }));
    let facade = facade(pc);
    let in_locale = |locale: &str| RequestContext::new(None, Some(locale.to_owned()), None);
    let us = Country::parse("country", "US").expect("valid");
    let id = crate::model::ProductId::parse("productId", "DZH318Z0BPS6").expect("valid");
    let german = facade.get_product(&in_locale("de-DE"), &caller(), &us, &id).await.expect("product");
    let english = facade.get_product(&in_locale("en-US"), &caller(), &us, &id).await.expect("product");
    let german_again = facade.get_product(&in_locale("de-DE"), &caller(), &us, &id).await.expect("product");
    assert_eq!(german.title, "Azure plan (de-DE)");
    assert_eq!(english.title, "Azure plan (en-US)", "never another locale's cached answer");
    assert_eq!(german_again.title, "Azure plan (de-DE)");
    assert_eq!(*asked.lock(), ["de-DE", "en-US"], "one upstream call per locale");
}
