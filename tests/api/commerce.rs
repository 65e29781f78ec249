//! The commerce lifecycle: agreements, carts, orders, subscriptions and the one-call Azure plan,
//! over REST and gRPC against the stateful simulator.

use std::time::Duration;

use partner_center_gateway::{auth::Permission, grpc::pb};
use partner_center_simulator::{FaultKind, FaultRule, seed};

use serde_json::{Value, json};
use tonic::Code;
use tonic_types::StatusExt;

use crate::helpers::{ADVENTURE_WORKS, FABRIKAM, LITWARE, TAILSPIN, TestApp, WINGTIP, authed};

const AZURE_PLAN_ITEM: &str = "DZH318Z0BPS6:0001:DZH318Z0BML6";
const M365_ITEM: &str = "CFQ7TTC0LH18:0001:CFQ7TTC0TKZX";

fn contact() -> Value {
    json!({ "firstName": "Ada", "lastName": "Lovelace", "email": "ada@tailspintoys.example", "phoneNumber": "+1 425 555 0100" })
}

/// Moves the simulated clock past provisioning.
fn provision(app: &TestApp) {
    app.sim.advance_clock(Duration::from_secs(10));
}

#[tokio::test]
async fn the_azure_plan_story_end_to_end_over_rest() {
    let app = TestApp::spawn().await;
    let token = app.token(&[TAILSPIN], &Permission::ALL);

    // A new customer has not accepted the Microsoft Customer Agreement: a clear 412 before any
    // cart exists (checked by the gateway, so no upstream 403/13605 and no cart left behind).
    let (status, problem) = app.create_azure_plan(TAILSPIN, "tailspin-plan-1", &token).await;
    assert_eq!(status, 412, "{problem}");
    assert_eq!(problem["reason"], "MCA_NOT_ACCEPTED");
    assert_eq!(app.counters().calls_to("POST /v1/customers/{customer_id}/carts"), 0, "{:?}", app.counters());

    // Confirm the MCA (the template comes from the metadata), and see it listed.
    let (status, metadata) = app.get_json("/v1/agreements/metadata", &token).await;
    assert_eq!(status, 200, "{metadata}");
    assert_eq!(metadata["items"][0]["templateId"], seed::MCA_TEMPLATE_ID);
    let (status, agreement) = app
        .post_json(&format!("/v1/customers/{TAILSPIN}/agreements"), &token, json!({ "primaryContact": contact() }))
        .await;
    assert_eq!(status, 201, "{agreement}");
    assert_eq!(agreement["templateId"], seed::MCA_TEMPLATE_ID);
    assert_eq!(agreement["type"], "MicrosoftCustomerAgreement");
    let (status, duplicate) = app
        .post_json(&format!("/v1/customers/{TAILSPIN}/agreements"), &token, json!({ "primaryContact": contact() }))
        .await;
    assert_eq!(status, 409, "{duplicate}");
    assert_eq!(duplicate["reason"], "AGREEMENT_ALREADY_CONFIRMED");
    assert_eq!(duplicate["upstreamCode"], "600061");
    let (status, confirmations) = app.get_json(&format!("/v1/customers/{TAILSPIN}/agreements"), &token).await;
    assert_eq!(status, 200);
    assert_eq!(confirmations["items"][0]["primaryContact"]["email"], "ada@tailspintoys.example");

    // Buy the plan; the same key again is the same purchase.
    let (status, plan) = app.create_azure_plan(TAILSPIN, "tailspin-plan-1", &token).await;
    assert_eq!(status, 201, "{plan}");
    assert_eq!(plan["status"], "provisioning");
    assert_eq!(plan["catalogItemId"], AZURE_PLAN_ITEM);
    assert_eq!(plan["replayed"], false);
    let order_id = plan["orderId"].as_str().expect("order id").to_owned();

    // Partner Center lists new orders only after 15 minutes; the gateway shows it at once.
    let (status, orders) = app.get_json(&format!("/v1/customers/{TAILSPIN}/orders"), &token).await;
    assert_eq!(status, 200, "{orders}");
    let ids: Vec<&str> = orders["items"].as_array().expect("items").iter().filter_map(|o| o["id"].as_str()).collect();
    assert!(ids.contains(&order_id.as_str()), "{orders}");

    provision(&app);
    let (status, replay) = app.create_azure_plan(TAILSPIN, "tailspin-plan-1", &token).await;
    assert_eq!(status, 200, "{replay}");
    assert_eq!(replay["replayed"], true);
    assert_eq!(replay["orderId"], order_id.as_str());
    assert_eq!(replay["status"], "active");
    let plan_id = replay["subscriptionId"].as_str().expect("subscription id once provisioned").to_owned();
    assert_eq!(app.sim.orders_of(TAILSPIN).len(), 1, "one key, one order");

    let (status, order) = app.get_json(&format!("/v1/customers/{TAILSPIN}/orders/{order_id}"), &token).await;
    assert_eq!(status, 200);
    assert_eq!(order["status"], "completed");
    let (status, provisioning) =
        app.get_json(&format!("/v1/customers/{TAILSPIN}/orders/{order_id}/provisioning-status"), &token).await;
    assert_eq!(status, 200, "{provisioning}");
    assert_eq!(
        provisioning["lineItems"][0]["status"].as_str().map(str::to_ascii_lowercase).as_deref(),
        Some("fulfilled")
    );

    let (status, plans) = app.get_json(&format!("/v1/customers/{TAILSPIN}/azure-plans"), &token).await;
    assert_eq!(status, 200);
    assert_eq!(plans["items"][0]["subscriptionId"], plan_id.as_str());
    let (status, subscription) =
        app.get_json(&format!("/v1/customers/{TAILSPIN}/subscriptions/{plan_id}"), &token).await;
    assert_eq!(status, 200);
    assert_eq!(subscription["isAzurePlan"], true);
    assert_eq!(subscription["status"], "active");
    let (status, by_order) =
        app.get_json(&format!("/v1/customers/{TAILSPIN}/subscriptions?orderId={order_id}"), &token).await;
    assert_eq!(status, 200);
    assert_eq!(by_order["items"].as_array().map(Vec::len), Some(1));

    // An active Azure subscription blocks suspension, and the gateway names it.
    let (status, entitlements) =
        app.get_json(&format!("/v1/customers/{TAILSPIN}/subscriptions/{plan_id}/azure-entitlements"), &token).await;
    assert_eq!(status, 200, "{entitlements}");
    let azure_subscription = entitlements["items"][0]["id"].as_str().expect("an Azure subscription").to_owned();
    assert_eq!(entitlements["items"][0]["status"], "active");
    let suspend = format!("/v1/customers/{TAILSPIN}/subscriptions/{plan_id}/suspend");
    let (status, refused) = app.post_json(&suspend, &token, json!(null)).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["reason"], "AZURE_PLAN_HAS_ACTIVE_SUBSCRIPTIONS");
    assert_eq!(refused["violations"][0]["subject"], azure_subscription.as_str());

    // Disabled in Azure, the plan can be suspended, then reactivated.
    app.sim.set_entitlement_status(TAILSPIN, &azure_subscription, "disabled").expect("disable");
    let (status, suspended) = app.post_json(&suspend, &token, json!(null)).await;
    assert_eq!(status, 200, "{suspended}");
    assert_eq!(suspended["status"], "suspended");
    let (status, reactivated) = app
        .post_json(&format!("/v1/customers/{TAILSPIN}/subscriptions/{plan_id}/reactivate"), &token, json!(null))
        .await;
    assert_eq!(status, 200, "{reactivated}");
    assert_eq!(reactivated["status"], "active");
}

#[tokio::test]
async fn the_azure_plan_story_over_grpc() {
    let app = TestApp::spawn().await;
    let token = app.token(&[ADVENTURE_WORKS], &Permission::ALL);
    let mut commerce = app.commerce_client().await;
    let mut subscriptions = app.subscriptions_client().await;
    let mut customers = app.customers_client().await;

    let agreements = customers
        .list_customer_agreements(authed(
            pb::ListCustomerAgreementsRequest { customer_id: ADVENTURE_WORKS.into() },
            &token,
        ))
        .await
        .expect("agreements")
        .into_inner();
    assert!(!agreements.agreements.is_empty(), "Adventure Works accepted the MCA");

    let request = pb::CreateAzurePlanRequest {
        customer_id: ADVENTURE_WORKS.into(),
        idempotency_key: "aw-plan".into(),
        friendly_name: "Adventure Works Azure".into(),
        country: "US".into(),
    };
    let plan = commerce.create_azure_plan(authed(request.clone(), &token)).await.expect("plan").into_inner();
    assert_eq!(plan.status, "provisioning");
    assert!(!plan.replayed);
    let orders = commerce
        .list_orders(authed(
            pb::ListOrdersRequest { customer_id: ADVENTURE_WORKS.into(), ..Default::default() },
            &token,
        ))
        .await
        .expect("orders")
        .into_inner();
    assert!(orders.orders.iter().any(|o| o.id == plan.order_id), "read-your-writes over gRPC too");

    provision(&app);
    let replay = commerce.create_azure_plan(authed(request, &token)).await.expect("replay").into_inner();
    assert!(replay.replayed);
    assert_eq!(replay.status, "active");
    let order = commerce
        .get_order(authed(
            pb::GetOrderRequest { customer_id: ADVENTURE_WORKS.into(), order_id: plan.order_id.clone() },
            &token,
        ))
        .await
        .expect("order")
        .into_inner();
    assert_eq!(order.status, "completed");
    let provisioning = commerce
        .get_order_provisioning_status(authed(
            pb::GetOrderProvisioningStatusRequest {
                customer_id: ADVENTURE_WORKS.into(),
                order_id: plan.order_id.clone(),
            },
            &token,
        ))
        .await
        .expect("provisioning")
        .into_inner();
    assert_eq!(provisioning.line_items.len(), 1);
    let plans = commerce
        .list_azure_plans(authed(pb::ListAzurePlansRequest { customer_id: ADVENTURE_WORKS.into() }, &token))
        .await
        .expect("plans")
        .into_inner();
    assert_eq!(plans.azure_plans.len(), 1);
    assert_eq!(plans.azure_plans[0].subscription_id, replay.subscription_id);

    let listed = subscriptions
        .list_subscriptions(authed(
            pb::ListSubscriptionsRequest { customer_id: ADVENTURE_WORKS.into(), ..Default::default() },
            &token,
        ))
        .await
        .expect("subscriptions")
        .into_inner();
    assert_eq!(listed.subscriptions.len(), 2, "the seeded Microsoft 365 subscription and the plan");
    let ids = (ADVENTURE_WORKS.to_owned(), replay.subscription_id.clone());
    let fetched = subscriptions
        .get_subscription(authed(
            pb::GetSubscriptionRequest { customer_id: ids.0.clone(), subscription_id: ids.1.clone() },
            &token,
        ))
        .await
        .expect("subscription")
        .into_inner();
    assert!(fetched.is_azure_plan);
    let entitlements = subscriptions
        .list_azure_entitlements(authed(
            pb::ListAzureEntitlementsRequest { customer_id: ids.0.clone(), subscription_id: ids.1.clone() },
            &token,
        ))
        .await
        .expect("entitlements")
        .into_inner();
    let azure_subscription = entitlements.entitlements[0].id.clone();

    let refused = subscriptions
        .suspend_subscription(authed(
            pb::SuspendSubscriptionRequest { customer_id: ids.0.clone(), subscription_id: ids.1.clone() },
            &token,
        ))
        .await
        .expect_err("active Azure subscription");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    let details = refused.check_error_details().expect("details");
    let violations = &details.precondition_failure().expect("precondition failure").violations;
    assert_eq!(violations[0].subject, azure_subscription);

    app.sim.set_entitlement_status(ADVENTURE_WORKS, &azure_subscription, "disabled").expect("disable");
    let suspended = subscriptions
        .suspend_subscription(authed(
            pb::SuspendSubscriptionRequest { customer_id: ids.0.clone(), subscription_id: ids.1.clone() },
            &token,
        ))
        .await
        .expect("suspend")
        .into_inner();
    assert_eq!(suspended.status, "suspended");
    let active = subscriptions
        .reactivate_subscription(authed(
            pb::ReactivateSubscriptionRequest { customer_id: ids.0, subscription_id: ids.1 },
            &token,
        ))
        .await
        .expect("reactivate")
        .into_inner();
    assert_eq!(active.status, "active");
}

#[tokio::test]
async fn a_warm_purchase_makes_exactly_two_upstream_calls() {
    let app = TestApp::spawn().await;
    let token = app.token(&["*"], &Permission::ALL);
    let (status, first) = app.create_azure_plan(FABRIKAM, "fabrikam-plan", &token).await;
    assert_eq!(status, 201, "{first}");
    // Cold: the customer's checks (billing profile, agreements, subscriptions), the catalog item
    // (products, SKUs, availabilities), then cart and checkout.
    let counters = app.counters();
    assert_eq!(counters.total_calls(), 8, "{counters:?}");
    for checked in [
        "GET /v1/customers/{customer_id}/profiles/billing",
        "GET /v1/customers/{customer_id}/agreements",
        "GET /v1/customers/{customer_id}/subscriptions",
    ] {
        assert_eq!(counters.calls_to(checked), 1, "{checked}: {counters:?}");
    }

    // A customer who signed the agreement directly needs one more read, then buys as well.
    app.sim.reset_counters();
    let (status, direct) = app.create_azure_plan(WINGTIP, "wingtip-plan", &token).await;
    assert_eq!(status, 201, "{direct}");
    let counters = app.counters();
    assert_eq!(counters.calls_to("GET /v1/customers/{customer_id}/directSignedMicrosoftCustomerAgreementStatus"), 1);

    // Warm: the customer's facts and the catalog item are remembered.
    app.sim.reset_counters();
    let (status, second) = app.create_azure_plan(FABRIKAM, "fabrikam-plan-2", &token).await;
    assert_eq!(status, 201, "{second}");
    let counters = app.counters();
    assert_eq!(counters.total_calls(), 2, "{counters:?}");
    assert_eq!(counters.calls_to("POST /v1/customers/{customer_id}/carts"), 1);
    assert_eq!(counters.calls_to("POST /v1/customers/{customer_id}/carts/{cart_id}/checkout"), 1);
}

#[tokio::test]
async fn a_purchase_that_timed_out_after_partner_center_committed_it_is_never_bought_twice() {
    let app = TestApp::spawn_with(|settings| settings.partner_center.retry.max_attempts = 3).await;
    let token = app.token(&[FABRIKAM], &Permission::ALL);
    // Every checkout attempt is processed, but its answer never arrives.
    app.sim.inject(
        FaultRule::new(FaultKind::DropAfterProcessing).on("POST", &format!("/v1/customers/{FABRIKAM}/carts/")).times(3),
    );
    let (status, problem) = app.create_azure_plan(FABRIKAM, "fabrikam-timeout", &token).await;
    assert_eq!(status, 502, "{problem}");
    assert_eq!(problem["reason"], "UPSTREAM_UNREACHABLE", "{problem}");
    assert_eq!(app.sim.orders_of(FABRIKAM).len(), 1, "Partner Center committed the order");

    // The caller retries with the same key: the gateway resumes with the same MS-RequestId and
    // Partner Center answers with the order it already created.
    let (status, plan) = app.create_azure_plan(FABRIKAM, "fabrikam-timeout", &token).await;
    assert_eq!(status, 201, "{plan}");
    assert_eq!(app.sim.orders_of(FABRIKAM).len(), 1, "still exactly one order");
    let order_id = app.sim.orders_of(FABRIKAM)[0]["id"].as_str().map(str::to_owned);
    assert_eq!(plan["orderId"].as_str().map(str::to_owned), order_id);

    // A dropped answer that the gateway's own retry recovers from: one call, one order.
    app.sim.inject(
        FaultRule::new(FaultKind::DropAfterProcessing).on("POST", &format!("/v1/customers/{WINGTIP}/carts/")).times(1),
    );
    let token = app.token(&[WINGTIP], &Permission::ALL);
    let (status, plan) = app.create_azure_plan(WINGTIP, "wingtip-retry", &token).await;
    assert_eq!(status, 201, "{plan}");
    assert_eq!(app.sim.orders_of(WINGTIP).len(), 1);
}

#[tokio::test]
async fn concurrent_calls_with_one_key_buy_once() {
    let app = TestApp::spawn().await;
    let token = app.token(&[FABRIKAM], &Permission::ALL);
    let calls = (0..8).map(|_| app.create_azure_plan(FABRIKAM, "fabrikam-concurrent", &token));
    let results = futures::future::join_all(calls).await;
    let order_ids: std::collections::HashSet<String> = results
        .iter()
        .filter(|(s, _)| *s == 200 || *s == 201)
        .filter_map(|(_, b)| b["orderId"].as_str().map(str::to_owned))
        .collect();
    for (status, body) in &results {
        assert!(matches!(status, 200 | 201 | 409), "{status} {body}");
        if *status == 409 {
            assert_eq!(body["reason"], "IDEMPOTENCY_KEY_IN_USE");
        }
    }
    assert_eq!(order_ids.len(), 1, "{results:?}");
    assert_eq!(app.sim.orders_of(FABRIKAM).len(), 1);

    // The same key with other parameters is a mistake, named.
    let response = app
        .http
        .post(app.url(&format!("/v1/customers/{FABRIKAM}/azure-plans")))
        .bearer_auth(&token)
        .header("Idempotency-Key", "fabrikam-concurrent")
        .json(&json!({ "friendlyName": "Another plan" }))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 400);
    let problem: Value = response.json().await.expect("problem");
    assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");

    let response = app
        .http
        .post(app.url(&format!("/v1/customers/{FABRIKAM}/azure-plans")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 400, "the key is required");
}

#[tokio::test]
async fn a_customer_with_ms_azr_0145p_is_pointed_to_the_transition() {
    let app = TestApp::spawn().await;
    let token = app.token(&[LITWARE], &Permission::ALL);
    let (status, problem) = app.create_azure_plan(LITWARE, "litware-plan", &token).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["reason"], "CUSTOMER_HAS_LEGACY_AZURE_SUBSCRIPTION");
    assert!(problem["detail"].as_str().unwrap_or_default().contains("product-upgrades"));
    assert_eq!(problem["violations"][0]["subject"], seed::LITWARE_0145P_SUBSCRIPTION);

    // The transition: eligibility, start it (id from Location), status over time.
    let (status, eligibility) = app
        .get_json(&format!("/v1/customers/{LITWARE}/product-upgrades/eligibility?productFamily=Azure"), &token)
        .await;
    assert_eq!(status, 200, "{eligibility}");
    assert_eq!(eligibility["isEligible"], true);
    let (status, upgrade) = app
        .post_json(&format!("/v1/customers/{LITWARE}/product-upgrades"), &token, json!({ "productFamily": "azure" }))
        .await;
    assert_eq!(status, 202, "{upgrade}");
    let upgrade_id = upgrade["id"].as_str().expect("upgrade id").to_owned();
    let (status, progress) =
        app.get_json(&format!("/v1/customers/{LITWARE}/product-upgrades/{upgrade_id}"), &token).await;
    assert_eq!(status, 200, "{progress}");
    assert_ne!(progress["status"], "Completed");
    let (status, again) = app
        .post_json(&format!("/v1/customers/{LITWARE}/product-upgrades"), &token, json!({ "productFamily": "Azure" }))
        .await;
    assert_eq!(status, 409, "one upgrade at a time: {again}");

    app.sim.advance_clock(Duration::from_secs(60));
    let (status, done) = app.get_json(&format!("/v1/customers/{LITWARE}/product-upgrades/{upgrade_id}"), &token).await;
    assert_eq!(status, 200);
    assert_eq!(done["status"], "Completed", "{done}");
    assert_eq!(done["lineItems"][0]["targetProduct"]["name"], "Microsoft Azure plan");

    // The same over gRPC: no longer eligible, and the upgrade reads back.
    let mut upgrades = app.upgrades_client().await;
    let eligibility = upgrades
        .check_product_upgrade_eligibility(authed(
            pb::CheckProductUpgradeEligibilityRequest { customer_id: LITWARE.into(), product_family: "Azure".into() },
            &token,
        ))
        .await
        .expect("eligibility")
        .into_inner();
    assert!(!eligibility.is_eligible);
    let status = upgrades
        .get_product_upgrade(authed(
            pb::GetProductUpgradeRequest { customer_id: LITWARE.into(), upgrade_id: upgrade_id.clone() },
            &token,
        ))
        .await
        .expect("status")
        .into_inner();
    assert_eq!(status.status, "Completed");
    let bad = upgrades
        .create_product_upgrade(authed(
            pb::CreateProductUpgradeRequest { customer_id: LITWARE.into(), product_family: "Office".into() },
            &token,
        ))
        .await
        .expect_err("only Azure");
    assert_eq!(bad.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn carts_check_out_into_orders_and_line_errors_are_named() {
    let app = TestApp::spawn().await;
    let token = app.token(&[FABRIKAM], &Permission::ALL);
    let carts = format!("/v1/customers/{FABRIKAM}/carts");

    let (status, problem) = app
        .post_json(
            &carts,
            &token,
            json!({ "lineItems": [
                { "catalogItemId": M365_ITEM, "quantity": 5, "billingCycle": "monthly", "termDuration": "P1M" },
                { "catalogItemId": "NOPE00000000:0001:NOPE00000000", "quantity": 1, "billingCycle": "monthly" }
            ]}),
        )
        .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["reason"], "CART_LINE_ITEM_ERRORS");
    assert_eq!(problem["errors"][0]["field"], "lineItems[1].catalogItemId");
    assert!(
        problem["errors"][0]["description"].as_str().unwrap_or_default().contains("CatalogItemIdIsNotValid"),
        "{problem}"
    );

    let (status, cart) = app
        .post_json(&carts, &token, json!({ "lineItems": [{ "catalogItemId": M365_ITEM, "quantity": 5, "billingCycle": "Monthly", "termDuration": "P1M" }]}))
        .await;
    assert_eq!(status, 201, "{cart}");
    let cart_id = cart["id"].as_str().expect("cart id").to_owned();
    assert_eq!(cart["status"], "Active");
    let (status, updated) = app
        .send_json(
            reqwest::Method::PUT,
            &format!("{carts}/{cart_id}"),
            &token,
            Some(json!({ "lineItems": [{ "catalogItemId": M365_ITEM, "quantity": 7, "billingCycle": "monthly", "termDuration": "P1M" }]})),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["lineItems"][0]["quantity"], 7);

    let (status, result) = app.post_json(&format!("{carts}/{cart_id}/checkout"), &token, json!(null)).await;
    assert_eq!(status, 201, "{result}");
    let order_id = result["orders"][0]["id"].as_str().expect("order").to_owned();
    assert_eq!(result["orderErrors"].as_array().map(Vec::len), Some(0));
    // Checkout is idempotent: a second one answers with the first result, ordering nothing new.
    let (status, again) = app.post_json(&format!("{carts}/{cart_id}/checkout"), &token, json!(null)).await;
    assert_eq!(status, 201, "a second checkout of an ordered cart: {again}");
    assert_eq!(again["orders"][0]["id"].as_str(), Some(order_id.as_str()), "{again}");

    let (status, orders) = app.get_json(&format!("/v1/customers/{FABRIKAM}/orders?pageSize=10"), &token).await;
    assert_eq!(status, 200);
    assert!(orders["items"].as_array().expect("items").iter().any(|o| o["id"] == order_id.as_str()));

    // Over gRPC: a cart, its checkout, and a line error as BadRequest details.
    let mut commerce = app.commerce_client().await;
    let line = |item: &str| pb::CartLineItemInput {
        catalog_item_id: item.into(),
        quantity: 2,
        billing_cycle: "monthly".into(),
        term_duration: "P1M".into(),
        ..Default::default()
    };
    let cart = commerce
        .create_cart(authed(
            pb::CreateCartRequest { customer_id: FABRIKAM.into(), line_items: vec![line(M365_ITEM)] },
            &token,
        ))
        .await
        .expect("cart")
        .into_inner();
    let checkout = commerce
        .checkout_cart(authed(pb::CheckoutCartRequest { customer_id: FABRIKAM.into(), cart_id: cart.id }, &token))
        .await
        .expect("checkout")
        .into_inner();
    assert_eq!(checkout.orders.len(), 1);
    let refused = commerce
        .create_cart(authed(
            pb::CreateCartRequest { customer_id: FABRIKAM.into(), line_items: vec![line("NOPE00000000:0001:X")] },
            &token,
        ))
        .await
        .expect_err("bad line");
    assert_eq!(refused.code(), Code::InvalidArgument);
    let details = refused.check_error_details().expect("details");
    assert_eq!(details.bad_request().expect("bad request").field_violations[0].field, "line_items[0].catalog_item_id");
}

#[tokio::test]
async fn malformed_bodies_are_400s_naming_the_field() {
    let app = TestApp::spawn().await;
    let token = app.token(&[FABRIKAM], &Permission::ALL);
    let carts = format!("/v1/customers/{FABRIKAM}/carts");
    for (body, field) in [
        (
            json!({ "lineItems": [{ "catalogItemId": M365_ITEM, "quantity": "five", "billingCycle": "monthly" }] }),
            "lineItems[0].quantity",
        ),
        (
            json!({ "lineItems": [{ "catalogItemId": M365_ITEM, "quantity": 1, "billingCycle": "weekly" }] }),
            "lineItems[0].billingCycle",
        ),
        (
            json!({ "lineItems": [{ "catalogItemId": M365_ITEM, "quantity": 0, "billingCycle": "monthly" }] }),
            "lineItems[0].quantity",
        ),
        (json!({ "lineItems": [] }), "lineItems"),
        (json!({ "lineItems": [{ "quantity": 1, "billingCycle": "monthly" }] }), "lineItems[0]"),
        (json!({ "lineItems": [], "colour": "red" }), "colour"),
    ] {
        let (status, problem) = app.post_json(&carts, &token, body.clone()).await;
        assert_eq!(status, 400, "{body}: {problem}");
        let named = problem["errors"][0]["field"].as_str().unwrap_or_default().to_owned();
        assert!(
            named == field || named.contains(field) || problem["detail"].as_str().unwrap_or_default().contains(field),
            "{body}: {problem}"
        );
    }
    let response = app
        .http
        .post(app.url(&carts))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"lineItems\": [")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 400);
    let problem: Value = response.json().await.expect("problem");
    assert_eq!(problem["errors"][0]["field"], "body");
    let (status, problem) = app
        .post_json(
            &format!("/v1/customers/{TAILSPIN}/agreements"),
            &app.token(&[TAILSPIN], &Permission::ALL),
            json!({ "primaryContact": { "firstName": "A", "lastName": "B", "email": "not-an-email" } }),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(problem["errors"][0]["field"], "primaryContact.email");
    assert_eq!(app.counters().total_calls(), 0, "nothing malformed reached Partner Center");
}

#[tokio::test]
async fn each_operation_needs_its_permission() {
    let app = TestApp::spawn().await;
    let read_only =
        app.token(&[FABRIKAM], &[Permission::OrdersRead, Permission::SubscriptionsRead, Permission::CustomersRead]);
    let cases: [(reqwest::Method, String, Option<Value>, &str); 6] = [
        (
            reqwest::Method::POST,
            format!("/v1/customers/{FABRIKAM}/carts"),
            Some(json!({ "lineItems": [{ "catalogItemId": M365_ITEM, "quantity": 1, "billingCycle": "monthly" }] })),
            "orders.write",
        ),
        (reqwest::Method::POST, format!("/v1/customers/{FABRIKAM}/azure-plans"), None, "orders.write"),
        (
            reqwest::Method::POST,
            format!("/v1/customers/{FABRIKAM}/subscriptions/{}/suspend", seed::ADVENTURE_WORKS_M365_SUBSCRIPTION),
            None,
            "subscriptions.write",
        ),
        (
            reqwest::Method::POST,
            format!("/v1/customers/{FABRIKAM}/product-upgrades"),
            Some(json!({ "productFamily": "Azure" })),
            "subscriptions.write",
        ),
        (
            reqwest::Method::POST,
            format!("/v1/customers/{FABRIKAM}/agreements"),
            Some(json!({ "primaryContact": contact() })),
            "customers.write",
        ),
        (reqwest::Method::GET, "/v1/catalog/azure-plan?country=US".to_owned(), None, "catalog.read"),
    ];
    for (method, path, body, permission) in cases {
        let mut request =
            app.http.request(method, app.url(&path)).bearer_auth(&read_only).header("Idempotency-Key", "k");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("send");
        assert_eq!(response.status(), 403, "{path}");
        let problem: Value = response.json().await.expect("problem");
        assert!(problem["detail"].as_str().unwrap_or_default().contains(permission), "{path}: {problem}");
    }
    assert_eq!(app.counters().total_calls(), 0);
}

#[tokio::test]
async fn agreements_and_cart_updates_over_grpc() {
    let app = TestApp::spawn().await;
    let token = app.token(&[TAILSPIN, FABRIKAM], &Permission::ALL);
    let mut customers = app.customers_client().await;
    let metadata = customers
        .get_agreement_metadata(authed(pb::GetAgreementMetadataRequest {}, &token))
        .await
        .expect("metadata")
        .into_inner();
    assert_eq!(metadata.agreements[0].template_id, seed::MCA_TEMPLATE_ID);
    let request = pb::ConfirmCustomerAgreementRequest {
        customer_id: TAILSPIN.into(),
        primary_contact: Some(pb::Contact {
            first_name: "Grace".into(),
            last_name: "Hopper".into(),
            email: "grace@tailspintoys.example".into(),
            phone_number: String::new(),
        }),
        template_id: String::new(),
        date_agreed: None,
    };
    let agreement =
        customers.confirm_customer_agreement(authed(request.clone(), &token)).await.expect("confirm").into_inner();
    assert_eq!(agreement.template_id, seed::MCA_TEMPLATE_ID);
    let duplicate = customers.confirm_customer_agreement(authed(request, &token)).await.expect_err("duplicate");
    assert_eq!(duplicate.code(), Code::AlreadyExists);

    let mut commerce = app.commerce_client().await;
    let line = |quantity| pb::CartLineItemInput {
        catalog_item_id: M365_ITEM.into(),
        quantity,
        billing_cycle: "monthly".into(),
        term_duration: "P1M".into(),
        ..Default::default()
    };
    let cart = commerce
        .create_cart(authed(pb::CreateCartRequest { customer_id: FABRIKAM.into(), line_items: vec![line(1)] }, &token))
        .await
        .expect("cart")
        .into_inner();
    let updated = commerce
        .update_cart(authed(
            pb::UpdateCartRequest { customer_id: FABRIKAM.into(), cart_id: cart.id.clone(), line_items: vec![line(3)] },
            &token,
        ))
        .await
        .expect("update")
        .into_inner();
    assert_eq!(updated.id, cart.id);
    assert_eq!(updated.line_items[0].quantity, 3);
    let missing = commerce
        .update_cart(authed(
            pb::UpdateCartRequest {
                customer_id: FABRIKAM.into(),
                cart_id: "7c3e9a1b-5d2f-4e6a-8b9c-0d1e2f3a4b5c".into(),
                line_items: vec![line(1)],
            },
            &token,
        ))
        .await
        .expect_err("no such cart");
    assert_eq!(missing.code(), Code::NotFound);
}

/// gRPC callers see their own (snake_case) field names and no REST-only wording: the edge parses
/// with the proto's names, nothing rewrites them afterwards (this once said `idempotency-_key`).
#[tokio::test]
async fn grpc_errors_name_the_proto_fields() {
    let app = TestApp::spawn().await;
    let token = app.token(&[FABRIKAM], &Permission::ALL);
    let mut commerce = app.commerce_client().await;
    let field_of = |status: tonic::Status| {
        let details = status.check_error_details().expect("details");
        details.bad_request().expect("bad request").field_violations[0].field.clone()
    };
    let request = |key: &str, name: &str, country: &str| pb::CreateAzurePlanRequest {
        customer_id: FABRIKAM.into(),
        idempotency_key: key.into(),
        friendly_name: name.into(),
        country: country.into(),
    };
    for (message, field) in [
        (request("", "", ""), "idempotency_key"),
        (request("k", &"x".repeat(300), ""), "friendly_name"),
        (request("k", "", "USA"), "country"),
    ] {
        let status = commerce.create_azure_plan(authed(message, &token)).await.expect_err("invalid");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().starts_with(&format!("{field}: ")), "{}", status.message());
        assert_eq!(field_of(status), field);
    }
    let mut customers = app.customers_client().await;
    let status = customers
        .confirm_customer_agreement(authed(
            pb::ConfirmCustomerAgreementRequest {
                customer_id: FABRIKAM.into(),
                primary_contact: Some(pb::Contact {
                    first_name: "A".into(),
                    last_name: "B".into(),
                    email: "not-an-email".into(),
                    phone_number: String::new(),
                }),
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect_err("bad email");
    assert_eq!(field_of(status), "primary_contact.email");
    let status = commerce
        .list_orders(authed(
            pb::ListOrdersRequest { customer_id: FABRIKAM.into(), page_size: -1, page_token: String::new() },
            &token,
        ))
        .await
        .expect_err("negative page size");
    assert_eq!(field_of(status), "page_size");
    assert_eq!(app.counters().total_calls(), 0, "nothing invalid reached Partner Center");
}

/// The MCA refusal names the next step with the customer's real id, for both transports.
#[tokio::test]
async fn the_mca_refusal_names_the_next_step_with_the_real_customer_id() {
    let app = TestApp::spawn().await;
    let token = app.token(&[TAILSPIN], &Permission::ALL);
    let (status, problem) = app.create_azure_plan(TAILSPIN, "mca-next-step", &token).await;
    assert_eq!(status, 412, "{problem}");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(&format!("ConfirmCustomerAgreement / POST /v1/customers/{TAILSPIN}/agreements")),
        "{detail}"
    );
    assert!(!detail.contains("{customerId}"), "no placeholder left in: {detail}");
    assert_eq!(detail.matches("ConfirmCustomerAgreement").count(), 1, "the step is said once: {detail}");
}

/// Every documented order status reaches the caller as a plan status; none stays
/// "provisioning" forever, and a repeat of the purchase reads the order's current status.
#[tokio::test]
async fn every_documented_order_status_maps_to_a_plan_status() {
    use partner_center_simulator::commerce::orders::OrderStatus;
    let app = TestApp::spawn().await;
    let token = app.token(&[FABRIKAM], &Permission::ALL);
    for (index, (status, expected)) in [
        (OrderStatus::PendingReview, "pending_review"),
        (OrderStatus::PendingPoUpload, "awaiting_purchase_order"),
        (OrderStatus::PoUploadComplete, "pending_review"),
        (OrderStatus::PoReviewRejected, "rejected"),
        (OrderStatus::PartialSuccess, "active"),
        (OrderStatus::Suspended, "suspended"),
        (OrderStatus::Error, "failed"),
        (OrderStatus::Cancelled, "cancelled"),
        (OrderStatus::Completed, "active"),
    ]
    .into_iter()
    .enumerate()
    {
        let key = format!("order-status-{index}");
        let (status_code, plan) = app.create_azure_plan(FABRIKAM, &key, &token).await;
        assert_eq!(status_code, 201, "{plan}");
        assert_eq!(plan["status"], "provisioning", "{plan}");
        let order_id = plan["orderId"].as_str().expect("order id").to_owned();
        app.sim.set_order_status(&order_id, status).expect("status set");
        let (status_code, replayed) = app.create_azure_plan(FABRIKAM, &key, &token).await;
        assert_eq!(status_code, 200, "{replayed}");
        assert_eq!(replayed["status"], expected, "{status:?}: {replayed}");
        assert_eq!(replayed["replayed"], true);
    }
}

/// Partner Center may accept a subscription change with 202 and apply it later: the gateway
/// follows the subscription until the change shows, then answers with it.
#[tokio::test]
async fn a_suspend_that_partner_center_accepts_for_later_is_followed_to_its_end() {
    use partner_center_simulator::subscriptions::PatchMode;
    let app = TestApp::spawn().await;
    let token = app.token(&[ADVENTURE_WORKS], &Permission::ALL);
    let (status, subscriptions) = app.get_json(&format!("/v1/customers/{ADVENTURE_WORKS}/subscriptions"), &token).await;
    assert_eq!(status, 200);
    let license = subscriptions["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|s| s["isAzurePlan"] == false && s["status"] == "active")
        .and_then(|s| s["id"].as_str())
        .expect("an active license subscription")
        .to_owned();
    app.sim.lock().subscriptions.patch_mode = PatchMode::Accepted { delay: Duration::from_secs(1) };
    let path = format!("/v1/customers/{ADVENTURE_WORKS}/subscriptions/{license}");
    let (status, suspended) = app.post_json(&format!("{path}/suspend"), &token, json!(null)).await;
    assert_eq!(status, 200, "{suspended}");
    assert_eq!(suspended["status"], "suspended");
    let counters = app.counters();
    assert!(counters.calls_to("GET /v1/customers/{customer_id}/subscriptions/{subscription_id}") >= 3, "{counters:?}");
}

#[tokio::test]
async fn a_plan_bought_with_a_friendly_name_shows_it_on_the_order_and_the_subscription() {
    let app = TestApp::spawn().await;
    let token = app.admin_token();
    let response = app
        .http
        .post(app.url(&format!("/v1/customers/{ADVENTURE_WORKS}/azure-plans")))
        .bearer_auth(&token)
        .header("Idempotency-Key", "named-plan")
        .json(&json!({ "friendlyName": "Adventure Works production" }))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 201);
    let plan: Value = response.json().await.expect("plan");
    let order_id = plan["orderId"].as_str().expect("order id");
    let (status, order) = app.get_json(&format!("/v1/customers/{ADVENTURE_WORKS}/orders/{order_id}"), &token).await;
    assert_eq!(status, 200, "{order}");
    assert_eq!(order["lineItems"][0]["friendlyName"], "Adventure Works production", "{order}");
    let (status, subscriptions) =
        app.get_json(&format!("/v1/customers/{ADVENTURE_WORKS}/subscriptions?orderId={order_id}"), &token).await;
    assert_eq!(status, 200, "{subscriptions}");
    assert_eq!(subscriptions["items"][0]["friendlyName"], "Adventure Works production", "{subscriptions}");
}
