//! The purchase, suspend and estimate-link flows against Partner Center answering with
//! Microsoft's own examples (`tests/fixtures/partner-center/`), through the real client over
//! HTTP (wiremock), checked as a caller sees the outcome.

use std::{sync::Arc, time::Duration};

use serde_json::{Value, json};
use wiremock::{Mock, MockServer, ResponseTemplate, matchers};

use super::{CatalogCache, Facade, FacadeOptions, FacadeParts, paging::PageTokens, state::*};
use crate::{
    auth::{Caller, CustomerScope, Permission},
    context::RequestContext,
    edge::REST_FIELDS,
    model::{
        CurrencyCode, CustomerId, SubscriptionId,
        billing::{LineItemArgs, LineItemQuery},
        catalog::Segment,
        commerce::{AzurePlanOrder, AzurePlanStatus, IdempotencyKey},
    },
    partner_center::{
        PartnerCenter,
        contract_tests::{PLACEHOLDER_ID, fixture_text},
        testing::client_with_user_flow,
    },
};

fn fixture(name: &str) -> Value {
    serde_json::from_str(&fixture_text(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A collection of the given examples, as Partner Center wraps lists.
fn collection(items: &[&str]) -> Value {
    let items: Vec<Value> = items.iter().map(|name| fixture(name)).collect();
    json!({ "totalCount": items.len(), "items": items, "attributes": { "objectType": "Collection" } })
}

fn answer(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

async fn facade(server: &MockServer, product_id: &str) -> Facade {
    let pc = PartnerCenter::new(client_with_user_flow(server).await);
    Facade::new(
        FacadeParts {
            pc: Arc::new(pc),
            catalog: CatalogCache::new(Duration::from_secs(60), 100),
            pages: PageTokens::new(None).expect("key"),
            idempotency: Arc::new(InMemoryIdempotency::new(Duration::from_secs(60), Duration::from_secs(600))),
            recent_orders: Arc::new(InMemoryRecentOrders::new(Duration::from_secs(600))),
        },
        FacadeOptions {
            default_page_size: 100,
            max_page_size: 1000,
            azure_plan_product_id: product_id.to_owned(),
            azure_plan_sku_id: "0001".to_owned(),
            azure_plan_segment: Segment::Commercial,
            purchase_checks_ttl: Duration::from_secs(60),
        },
    )
}

fn caller() -> Caller {
    Caller::for_tests("p", CustomerScope::All, &Permission::ALL)
}

fn customer() -> CustomerId {
    CustomerId::parse("customer", PLACEHOLDER_ID).expect("valid")
}

#[tokio::test]
async fn a_purchase_against_the_documented_answers_buys_the_plan_with_its_one_time_cycle() {
    let server = MockServer::start().await;
    let base = format!("/v1/customers/{PLACEHOLDER_ID}");
    let product = fixture("product.json");
    let product_id = product["id"].as_str().expect("product id").to_owned();
    let mounts = [
        ("GET", format!("{base}/profiles/billing"), fixture("billing-profile.json")),
        ("GET", format!("{base}/agreements"), fixture("agreements.json")),
        ("GET", format!("{base}/subscriptions"), collection(&["subscription-new-commerce.json"])),
        ("GET", "/v1/products".to_owned(), collection(&["product.json"])),
        ("GET", format!("/v1/products/{product_id}/skus"), collection(&["sku-azure-plan.json"])),
        (
            "GET",
            format!("/v1/products/{product_id}/skus/0001/availabilities"),
            collection(&["availability-new-commerce.json"]),
        ),
    ];
    for (method, path, body) in mounts {
        Mock::given(matchers::method(method)).and(matchers::path(path)).respond_with(answer(body)).mount(&server).await;
    }
    let cart = fixture("cart.json");
    let cart_id = cart["id"].as_str().expect("cart id").to_owned();
    Mock::given(matchers::method("POST"))
        .and(matchers::path(format!("{base}/carts")))
        .and(matchers::body_partial_json(json!({
            "PartnerOnRecordAttestationAccepted": true,
            "lineItems": [{ "billingCycle": "one_time", "quantity": 1 }]
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(cart))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(matchers::method("POST"))
        .and(matchers::path(format!("{base}/carts/{cart_id}/checkout")))
        .respond_with(ResponseTemplate::new(201).set_body_json(fixture("checkout-result.json")))
        .expect(1)
        .mount(&server)
        .await;
    let facade = facade(&server, &product_id).await;
    let order = AzurePlanOrder {
        idempotency_key: IdempotencyKey::parse("Idempotency-Key", Some("fixtures")).expect("key"),
        friendly_name: None,
        country: None,
    };
    let plan = facade
        .create_azure_plan(&RequestContext::background(), &caller(), customer(), Ok(order))
        .await
        .expect("bought");
    let first_order = &fixture("checkout-result.json")["orders"][0];
    assert_eq!(Some(plan.order_id.as_str()), first_order["id"].as_str());
    assert_eq!(plan.status, AzurePlanStatus::from_order(first_order["status"].as_str().unwrap_or_default(), true));
    let received = server.received_requests().await.unwrap_or_default();
    let products = received.iter().find(|r| r.url.path() == "/v1/products").expect("catalog read");
    assert!(
        products.url.query_pairs().any(|(k, v)| k == "country" && v == "US"),
        "the country comes from the billing profile: {}",
        products.url
    );
}

#[tokio::test]
async fn a_suspend_against_the_documented_answers_sends_the_whole_document_back() {
    let server = MockServer::start().await;
    let mut subscription = fixture("subscription-legacy-azure.json");
    let subscription_id = subscription["id"].as_str().expect("id").to_ascii_lowercase();
    subscription["id"] = Value::from(subscription_id.clone());
    let path = format!("/v1/customers/{PLACEHOLDER_ID}/subscriptions/{subscription_id}");
    let etag = subscription["attributes"]["etag"].as_str().expect("etag").to_owned();
    Mock::given(matchers::method("GET"))
        .and(matchers::path(path.clone()))
        .respond_with(answer(subscription.clone()))
        .mount(&server)
        .await;
    let mut suspended = subscription.clone();
    suspended["status"] = Value::from("suspended");
    Mock::given(matchers::method("PATCH"))
        .and(matchers::path(path))
        .and(matchers::header("if-match", format!("\"{etag}\"").as_str()))
        .and(matchers::body_partial_json(json!({ "status": "suspended", "offerId": subscription["offerId"] })))
        .respond_with(answer(suspended))
        .expect(1)
        .mount(&server)
        .await;
    let facade = facade(&server, "DZH318Z0BPS6").await;
    let id = SubscriptionId::parse("subscriptionId", &subscription_id).expect("id");
    let result =
        facade.suspend_subscription(&RequestContext::background(), &caller(), customer(), id).await.expect("suspended");
    assert_eq!(result.status, "suspended");
}

#[tokio::test]
async fn every_documented_estimate_link_is_served_by_the_gateways_own_route() {
    let server = MockServer::start().await;
    Mock::given(matchers::method("GET"))
        .and(matchers::path("/v1/invoices/estimates/links"))
        .respond_with(answer(fixture("estimate-links.json")))
        .mount(&server)
        .await;
    let facade = facade(&server, "DZH318Z0BPS6").await;
    let currency = CurrencyCode::parse("currencyCode", "USD").expect("currency");
    let links = facade.estimate_links(&RequestContext::background(), &caller(), &currency).await.expect("links");
    assert_eq!(links.len(), 4);
    for link in links {
        let (path, query) = link.href.split_once('?').expect("a query");
        assert_eq!(path, "/v1/invoices/unbilled/line-items");
        let query: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        let args = LineItemArgs {
            provider: query.get("provider").map(String::as_str),
            line_item_type: query.get("type").map(String::as_str),
            currency_code: query.get("currencyCode").map(String::as_str),
            period: query.get("period").map(String::as_str),
        };
        let parsed = LineItemQuery::parse(&args, &REST_FIELDS.line_items, true);
        assert!(parsed.is_ok(), "{}: {parsed:?}", link.href);
    }
}
