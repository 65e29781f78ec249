//! The simulator against Microsoft's published examples.
//!
//! `tests/fixtures/partner-center/*.json` (repository root) are response examples copied from
//! Microsoft's documentation (`SOURCES.md` beside them names each one's page). For every fixture
//! this test makes the simulator produce the matching response and compares their shapes
//! recursively:
//! - every field of the fixture must be there, with the same name (casing included) and nesting;
//! - the same JSON type (string, number, bool, object, array); `null` in a fixture matches anything
//!   (it stands for what the documentation elides, e.g. `"links": {...}`);
//! - a field the simulator sends beyond the fixture is allowed only when
//!   `simulator-extras.json` lists its path with a reason (`extraFields`);
//! - an array the fixture shows with elements may come back empty only when listed there too
//!   (`emptyArrays`); every element the simulator sends must match one of the fixture's elements
//!   (documented collections mix item variants).
//!
//! Paths are written `$.items[].attributes.objectType`. The test also fails when a fixture has no
//! check, when an extras entry is not needed any more, or when `SOURCES.md` does not name a fixture.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
    time::Duration,
};

use partner_center_simulator::{SimulatorConfig, SimulatorHandle, seed, start};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/partner-center")
}

/// `simulator-extras.json`: per fixture file, the allowed deviations and why.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Allowances {
    #[serde(default)]
    extra_fields: BTreeMap<String, String>,
    #[serde(default)]
    empty_arrays: BTreeMap<String, String>,
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// One comparison: its mismatches and the allowances it relied on.
#[derive(Default)]
struct Outcome {
    errors: Vec<String>,
    used: BTreeSet<String>,
}

fn compare(fixture: &Value, actual: &Value, path: &str, allowances: &Allowances, out: &mut Outcome) {
    match (fixture, actual) {
        (Value::Null, _) => {}
        (Value::Object(expected), Value::Object(got)) => {
            for (key, value) in expected {
                let child = format!("{path}.{key}");
                match got.get(key) {
                    Some(got) => compare(value, got, &child, allowances, out),
                    None => out.errors.push(format!("{child}: missing (the fixture has it)")),
                }
            }
            for key in got.keys().filter(|k| !expected.contains_key(*k)) {
                let child = format!("{path}.{key}");
                if allowances.extra_fields.contains_key(&child) {
                    out.used.insert(format!("extraFields {child}"));
                } else {
                    out.errors.push(format!(
                        "{child}: sent by the simulator, not in the fixture nor in simulator-extras.json"
                    ));
                }
            }
        }
        (Value::Array(expected), Value::Array(got)) => {
            let child = format!("{path}[]");
            if expected.is_empty() {
                return;
            }
            if got.is_empty() {
                if allowances.empty_arrays.contains_key(path) {
                    out.used.insert(format!("emptyArrays {path}"));
                } else {
                    out.errors.push(format!("{path}: empty, the fixture shows elements (not in emptyArrays)"));
                }
                return;
            }
            // Each message once, with the elements it applies to.
            let mut by_message: BTreeMap<String, Vec<usize>> = BTreeMap::new();
            for (index, element) in got.iter().enumerate() {
                // The fixture element this one matches best.
                let best = expected
                    .iter()
                    .map(|candidate| {
                        let mut outcome = Outcome::default();
                        compare(candidate, element, &child, allowances, &mut outcome);
                        outcome
                    })
                    .min_by_key(|outcome| outcome.errors.len())
                    .unwrap_or_default();
                out.used.extend(best.used);
                for error in best.errors {
                    by_message.entry(error).or_default().push(index);
                }
            }
            for (error, indexes) in by_message {
                let first: Vec<String> = indexes.iter().take(5).map(usize::to_string).collect();
                let more = if indexes.len() > 5 { ", ..." } else { "" };
                out.errors.push(format!("{error} (element {}{more} of {})", first.join(", "), got.len()));
            }
        }
        _ if type_name(fixture) == type_name(actual) => {}
        _ => out.errors.push(format!(
            "{path}: the fixture has a {}, the simulator sent a {}",
            type_name(fixture),
            type_name(actual)
        )),
    }
}

/// A running simulator, a user token, and the results so far.
struct Contract {
    sim: SimulatorHandle,
    http: reqwest::Client,
    token: String,
    fixtures: BTreeMap<String, Value>,
    allowances: BTreeMap<String, Allowances>,
    checked: BTreeSet<String>,
    used: BTreeSet<String>,
    failures: Vec<String>,
}

impl Contract {
    async fn start() -> Self {
        let dir = fixtures_dir();
        let mut fixtures = BTreeMap::new();
        for entry in std::fs::read_dir(&dir).expect("fixture directory") {
            let path = entry.expect("entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            if !name.ends_with(".json") || name == "simulator-extras.json" {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("fixture text");
            let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not valid JSON: {e}"));
            fixtures.insert(name, value);
        }
        let extras = std::fs::read_to_string(dir.join("simulator-extras.json")).expect("simulator-extras.json");
        let allowances: BTreeMap<String, Allowances> =
            serde_json::from_str(&extras).expect("simulator-extras.json shape");
        // New orders list at once; they still stay pending for the provisioning delay.
        let config = SimulatorConfig { order_list_delay: Duration::ZERO, ..SimulatorConfig::default() };
        let sim = start("127.0.0.1:0".parse().expect("address"), config).await.expect("simulator starts");
        let http = reqwest::Client::new();
        let response = http
            .post(format!("{}{}/oauth2/token", sim.base_url(), seed::CONTOSO_TENANT_ID))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", seed::CONTOSO_REFRESH_TOKEN),
                ("client_id", seed::CONTOSO_CLIENT_ID),
                ("client_secret", seed::CONTOSO_CLIENT_SECRET),
                ("resource", "https://api.partnercenter.microsoft.com"),
            ])
            .send()
            .await
            .expect("token request");
        let body: Value = response.json().await.expect("token json");
        let token = body["access_token"].as_str().expect("app+user access token").to_owned();
        Self {
            sim,
            http,
            token,
            fixtures,
            allowances,
            checked: BTreeSet::new(),
            used: BTreeSet::new(),
            failures: Vec::new(),
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> (u16, reqwest::header::HeaderMap, Value) {
        let url = format!("{}{}", self.sim.base_url(), path.trim_start_matches('/'));
        let mut request = self.http.request(method, url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("simulator answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("JSON body") };
        (status, headers, body)
    }

    /// `path` answered `status`; its body is returned for the next steps.
    async fn expect(&self, method: Method, path: &str, body: Option<&Value>, status: u16) -> Value {
        let (got, _, answer) = self.call(method, path, body).await;
        assert_eq!(got, status, "{path}: {answer}");
        answer
    }

    async fn get(&self, path: &str) -> Value {
        self.expect(Method::GET, path, None, 200).await
    }

    /// Compares `actual` with fixture `file`.
    fn check(&mut self, file: &str, actual: &Value) {
        let Some(fixture) = self.fixtures.get(file) else {
            self.failures.push(format!("{file}: no such fixture"));
            return;
        };
        let none = Allowances::default();
        let allowances = self.allowances.get(file).unwrap_or(&none);
        let mut outcome = Outcome::default();
        compare(fixture, actual, "$", allowances, &mut outcome);
        self.checked.insert(file.to_owned());
        self.used.extend(outcome.used.into_iter().map(|u| format!("{file}: {u}")));
        self.failures.extend(outcome.errors.into_iter().map(|e| format!("{file}: {e}")));
    }

    async fn control(&self, path: &str, body: Value) {
        let url = format!("{}{}", self.sim.base_url(), path.trim_start_matches('/'));
        let status = self.http.post(url).json(&body).send().await.expect("control call").status();
        assert_eq!(status.as_u16(), 204, "{path}");
    }

    /// Fails with every mismatch at once, plus fixtures nobody checked and allowances nobody needed.
    fn finish(mut self) {
        for file in self.fixtures.keys().filter(|f| !self.checked.contains(*f)) {
            self.failures.push(format!("{file}: no check compares the simulator with it"));
        }
        for (file, allowances) in &self.allowances {
            let listed = allowances
                .extra_fields
                .keys()
                .map(|p| format!("{file}: extraFields {p}"))
                .chain(allowances.empty_arrays.keys().map(|p| format!("{file}: emptyArrays {p}")));
            for entry in listed.filter(|e| !self.used.contains(e)) {
                self.failures.push(format!("{entry}: listed in simulator-extras.json but not needed"));
            }
        }
        let sources = std::fs::read_to_string(fixtures_dir().join("SOURCES.md")).expect("SOURCES.md");
        for file in self.fixtures.keys().filter(|f| !sources.contains(f.as_str())) {
            self.failures.push(format!("{file}: SOURCES.md does not name its source"));
        }
        assert!(self.failures.is_empty(), "{} contract mismatches:\n{}", self.failures.len(), self.failures.join("\n"));
    }
}

const RESERVATION: &str = "DZH318Z0BQ3Q:0001:DZH318XZXVNF";
const M365_BASIC: &str = "CFQ7TTC0LH18:0001:CFQ7TTC0TKZX";

#[tokio::test]
async fn the_simulator_answers_in_the_shapes_microsoft_documents() {
    let mut c = Contract::start().await;
    let fabrikam = seed::CUSTOMER_FABRIKAM;

    // Catalog.
    let product = c.get("/v1/products/DZH318Z0BQ3Q?country=US").await;
    c.check("product.json", &product);
    let sku = c.get("/v1/products/DZH318Z0BQ3Q/skus/0001?country=US").await;
    c.check("sku-reservation.json", &sku);
    let plan_sku = c
        .get(&format!("/v1/products/{}/skus/{}?country=US", seed::AZURE_PLAN_PRODUCT_ID, seed::AZURE_PLAN_SKU_ID))
        .await;
    c.check("sku-azure-plan.json", &plan_sku);
    let legacy_sku = c
        .get(&format!("/v1/products/{}/skus/{}?country=US", seed::LEGACY_AZURE_PRODUCT_ID, seed::LEGACY_AZURE_OFFER_ID))
        .await;
    c.check("sku-legacy-azure.json", &legacy_sku);
    let reservation = c.get("/v1/products/DZH318Z0BQ3Q/skus/0001/availabilities/DZH318XZXVNF?country=US").await;
    c.check("availability-reservation.json", &reservation);
    let nce = c.get("/v1/products/CFQ7TTC0LH18/skus/0001/availabilities/CFQ7TTC0TKZX?country=US").await;
    c.check("availability-new-commerce.json", &nce);

    // Customers, agreements.
    c.check("customers-page.json", &c.get("/v1/customers?size=40").await);
    c.check("customer.json", &c.get(&format!("/v1/customers/{fabrikam}")).await);
    c.check("billing-profile.json", &c.get(&format!("/v1/customers/{fabrikam}/profiles/billing")).await);
    let direct = format!("/v1/customers/{}/directSignedMicrosoftCustomerAgreementStatus", seed::CUSTOMER_WINGTIP);
    c.check("direct-sign-status.json", &c.get(&direct).await);
    c.check("agreement-metadata.json", &c.get("/v1/agreements?agreementType=MicrosoftCustomerAgreement").await);
    let agreements =
        c.get(&format!("/v1/customers/{fabrikam}/agreements?agreementType=MicrosoftCustomerAgreement")).await;
    c.check("agreements.json", &agreements);
    let confirmation = json!({
        "primaryContact": { "firstName": "Tania", "lastName": "Carr", "email": "someone@example.com", "phoneNumber": "1234567890" },
        "templateId": seed::MCA_TEMPLATE_ID,
        "dateAgreed": "2018-06-14T00:00:00.000Z",
        "type": "MicrosoftCustomerAgreement"
    });
    let confirm_path = format!("/v1/customers/{}/agreements", seed::CUSTOMER_TAILSPIN);
    let confirmed = c.expect(Method::POST, &confirm_path, Some(&confirmation), 201).await;
    c.check("agreement-confirmation.json", &confirmed);
    let duplicate = c.expect(Method::POST, &confirm_path, Some(&confirmation), 409).await;
    c.check("error-named.json", &duplicate);

    // Carts and orders.
    let cart_body = json!({
        "PartnerOnRecordAttestationAccepted": true,
        "lineItems": [{
            "id": 0, "catalogItemId": M365_BASIC, "quantity": 2, "billingCycle": "monthly", "termDuration": "P1Y",
            "participants": [
                { "key": "transaction_reseller", "value": "5357564" },
                { "key": "additional_transaction_reseller", "value": "517285" }
            ]
        }]
    });
    let cart =
        c.expect(Method::POST, &format!("/v1/customers/{}/carts", seed::CUSTOMER_WINGTIP), Some(&cart_body), 201).await;
    c.check("cart.json", &cart);
    let ri_line = json!({
        "catalogItemId": RESERVATION, "quantity": 1, "billingCycle": "one_time", "termDuration": "P1Y",
        "provisioningContext": { "subscriptionId": seed::FABRIKAM_AZURE_PLAN, "scope": "shared" }
    });
    let ri_cart = c
        .expect(Method::POST, &format!("/v1/customers/{fabrikam}/carts"), Some(&json!({ "lineItems": [ri_line] })), 201)
        .await;
    let ri_cart_id = ri_cart["id"].as_str().expect("cart id");
    let checkout =
        c.expect(Method::POST, &format!("/v1/customers/{fabrikam}/carts/{ri_cart_id}/checkout"), None, 201).await;
    c.check("checkout-result.json", &checkout);
    let ri_order = format!("/v1{}", checkout["orders"][0]["links"]["self"]["uri"].as_str().expect("order link"));
    c.check("order.json", &c.get(&ri_order).await);
    let m365_line =
        json!({ "catalogItemId": M365_BASIC, "quantity": 10, "billingCycle": "monthly", "termDuration": "P1Y" });
    let m365_cart = c
        .expect(
            Method::POST,
            &format!("/v1/customers/{fabrikam}/carts"),
            Some(&json!({ "lineItems": [m365_line] })),
            201,
        )
        .await;
    let m365_cart_id = m365_cart["id"].as_str().expect("cart id");
    let m365 =
        c.expect(Method::POST, &format!("/v1/customers/{fabrikam}/carts/{m365_cart_id}/checkout"), None, 201).await;
    let m365_order_id = m365["orders"][0]["id"].as_str().expect("order id").to_owned();
    c.control(&format!("/_simulator/orders/{m365_order_id}/status"), json!({ "status": "completed" })).await;
    c.check("order-list.json", &c.get(&format!("/v1/customers/{fabrikam}/orders")).await);
    let provisioning = c.get(&format!("/v1/customers/{fabrikam}/orders/{m365_order_id}/provisioningstatus")).await;
    c.check("order-provisioning-status.json", &provisioning);

    // Subscriptions.
    let legacy = c
        .get(&format!("/v1/customers/{}/subscriptions/{}", seed::CUSTOMER_LITWARE, seed::LITWARE_0145P_SUBSCRIPTION))
        .await;
    c.check("subscription-legacy-azure.json", &legacy);
    let order = c.get(&format!("/v1/customers/{fabrikam}/orders/{m365_order_id}")).await;
    let subscription_path = format!(
        "/v1/customers/{fabrikam}/subscriptions/{}",
        order["lineItems"][0]["subscriptionId"].as_str().expect("subscription id")
    );
    let subscription = c.get(&subscription_path).await;
    c.check("subscription-new-commerce.json", &subscription);
    let mut suspend = subscription.clone();
    suspend["status"] = json!("suspended");
    let etag = format!("\"{}\"", subscription["attributes"]["etag"].as_str().expect("etag"));
    let url = format!("{}{}", c.sim.base_url(), subscription_path.trim_start_matches('/'));
    let patched =
        c.http.patch(url).bearer_auth(&c.token).header("If-Match", etag).json(&suspend).send().await.expect("patch");
    assert_eq!(patched.status(), 200);
    let patched: Value = patched.json().await.expect("patch body");
    c.check("subscription-patch-response.json", &patched);
    let plan = format!("/v1/customers/{fabrikam}/subscriptions/{}", seed::FABRIKAM_AZURE_PLAN);
    c.check("azure-entitlements.json", &c.get(&format!("{plan}/azureEntitlements")).await);
    let (_, _, unknown) = c
        .call(
            Method::GET,
            &format!("/v1/customers/{fabrikam}/subscriptions/00000000-0000-4000-8000-000000000000"),
            None,
        )
        .await;
    c.check("error.json", &unknown);

    // Usage (before Litware's MS-AZR-0145P subscription is upgraded away below).
    let litware = seed::CUSTOMER_LITWARE;
    let legacy_subscription = format!("/v1/customers/{litware}/subscriptions/{}", seed::LITWARE_0145P_SUBSCRIPTION);
    c.check("customer-usage-summary-azure-plan.json", &c.get(&format!("/v1/customers/{fabrikam}/usagesummary")).await);
    c.check("customer-usage-summary-legacy-azure.json", &c.get(&format!("/v1/customers/{litware}/usagesummary")).await);
    c.check("subscription-usage-summary-azure-plan.json", &c.get(&format!("{plan}/usagesummary")).await);
    c.check(
        "subscription-usage-summary-legacy-azure.json",
        &c.get(&format!("{legacy_subscription}/usagesummary")).await,
    );
    c.check("customer-usage-records.json", &c.get("/v1/customers/usagerecords").await);
    c.check(
        "subscription-usage-records.json",
        &c.get(&format!("/v1/customers/{fabrikam}/subscriptions/usagerecords")).await,
    );
    c.check("monthly-usage-records.json", &c.get(&format!("{legacy_subscription}/usagerecords/resources")).await);
    c.check("resource-usage-records.json", &c.get(&format!("{plan}/resourceusagerecords")).await);
    c.check("meter-usage-records.json", &c.get(&format!("{plan}/meterusagerecords")).await);
    c.check("spending-budget.json", &c.get(&format!("/v1/customers/{fabrikam}/usagebudget")).await);

    // Product upgrade of Litware's MS-AZR-0145P subscription.
    let request = json!({ "customerId": litware, "productFamily": "azure" });
    let eligibility = c.expect(Method::POST, "/v1/productUpgrades/eligibility", Some(&request), 200).await;
    c.check("upgrade-eligibility.json", &eligibility);
    let (status, headers, _) = c.call(Method::POST, "/v1/productupgrades", Some(&request)).await;
    assert_eq!(status, 202);
    let location = headers.get("location").and_then(|v| v.to_str().ok()).expect("Location").to_owned();
    c.sim.state().advance_clock(Duration::from_secs(60));
    let status_path = format!("/v1/{}/status", location.trim_start_matches('/'));
    let upgrade = c.expect(Method::POST, &status_path, Some(&request), 200).await;
    c.check("upgrade-status.json", &upgrade);

    // Invoices and line items.
    c.check("invoice.json", &c.get(&format!("/v1/invoices/{}", "G000024135")).await);
    c.check("invoice-list.json", &c.get("/v1/invoices?size=2&offset=0").await);
    c.check("invoice-summaries.json", &c.get("/v1/invoices/summaries").await);
    c.check("estimate-links.json", &c.get("/v1/invoices/estimates/links?currencycode=usd").await);
    let recurring = "/v1/invoices/D02005YFHI/lineitems";
    let office =
        c.get(&format!("{recurring}?provider=Office&invoicelineitemtype=BillingLineItems&size=2&offset=0")).await;
    c.check("line-items-office-billing.json", &office);
    let azure =
        c.get(&format!("{recurring}?provider=Azure&invoicelineitemtype=BillingLineItems&size=2&offset=0")).await;
    c.check("line-items-azure-billing.json", &azure);
    let azure_usage =
        c.get(&format!("{recurring}?provider=Azure&invoicelineitemtype=UsageLineItems&size=2&offset=0")).await;
    c.check("line-items-azure-usage.json", &azure_usage);
    c.check(
        "line-items-onetime-billed.json",
        &c.get("/v1/invoices/G000024135/lineitems/OneTime/BillingLineItems?size=2").await,
    );
    let unbilled = "/v1/invoices/unbilled/lineitems";
    let recon = c
        .get(&format!(
            "{unbilled}?provider=onetime&invoicelineitemtype=billinglineitems&currencycode=usd&period=previous&size=2"
        ))
        .await;
    c.check("line-items-onetime-unbilled.json", &recon);
    let rated = "provider=onetime&invoicelineitemtype=usagelineitems&currencycode=usd&period=previous&size=2";
    c.check(
        "line-items-daily-rated-usage-billed.json",
        &c.get(&format!("/v1/invoices/G000024135/lineitems?{rated}")).await,
    );
    c.check("line-items-daily-rated-usage-unbilled.json", &c.get(&format!("{unbilled}?{rated}")).await);

    c.finish();
}

#[test]
fn the_comparison_catches_every_kind_of_divergence() {
    let allowances: Allowances = serde_json::from_value(json!({
        "extraFields": { "$.items[].extra": "allowed on purpose" },
        "emptyArrays": { "$.tags": "allowed on purpose" }
    }))
    .expect("allowances");
    let fixture = json!({
        "count": 1, "name": "x", "elided": null, "tags": ["a"], "flags": ["b"],
        "items": [{ "id": "a", "nested": { "ok": true } }, { "id": "b", "variant": 2 }]
    });
    let run = |actual: Value| {
        let mut outcome = Outcome::default();
        compare(&fixture, &actual, "$", &allowances, &mut outcome);
        outcome
    };
    let good = run(json!({
        "count": 2, "name": "y", "elided": { "anything": [] }, "tags": [], "flags": ["c"],
        "items": [{ "id": "c", "nested": { "ok": false }, "extra": 1 }, { "id": "d", "variant": 3 }]
    }));
    assert!(good.errors.is_empty(), "{:?}", good.errors);
    assert_eq!(good.used.len(), 2);
    let bad = run(json!({
        "count": "2", "tags": ["a"], "flags": [], "surprise": true,
        "items": [{ "id": "c", "nested": { "OK": true } }]
    }));
    let expected = [
        "$.count: the fixture has a number, the simulator sent a string",
        "$.name: missing (the fixture has it)",
        "$.elided: missing (the fixture has it)",
        "$.flags: empty, the fixture shows elements (not in emptyArrays)",
        "$.surprise: sent by the simulator, not in the fixture nor in simulator-extras.json",
        "$.items[].nested.ok: missing (the fixture has it) (element 0 of 1)",
        "$.items[].nested.OK: sent by the simulator, not in the fixture nor in simulator-extras.json (element 0 of 1)",
    ];
    for message in expected {
        assert!(bad.errors.iter().any(|e| e == message), "{message} not in {:?}", bad.errors);
    }
    assert_eq!(bad.errors.len(), expected.len(), "{:?}", bad.errors);
}
