//! The simulated Graph partner billing exports and blob host, over real HTTP, as the gateway's
//! client will use them: token, export, poll, manifest, blobs.

use std::{
    collections::HashSet,
    io::{BufRead, BufReader, Read},
    time::{Duration, Instant},
};

use flate2::read::GzDecoder;
use partner_center_simulator::{
    SimulatorConfig, SimulatorHandle, billing_data,
    graph::data::{MILLION_ITEM_INVOICE, MILLION_ITEMS},
    seed, start,
};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

const BILLED_RECON: &str = "v1.0/reports/partners/billing/reconciliation/billed/export";
const UNBILLED_RECON: &str = "v1.0/reports/partners/billing/reconciliation/unbilled/export";
const BILLED_USAGE: &str = "v1.0/reports/partners/billing/usage/billed/export";
const UNBILLED_USAGE: &str = "v1.0/reports/partners/billing/usage/unbilled/export";

/// The 30 keys of the documented `basic` usage attribute set.
const BASIC_USAGE_KEYS: [&str; 30] = [
    "AdditionalInfo",
    "BenefitOrderID",
    "BenefitType",
    "BillingCurrency",
    "BillingPreTaxTotal",
    "ChargeEndDate",
    "ChargeStartDate",
    "ChargeType",
    "CreditPercentage",
    "CreditType",
    "CustomerId",
    "CustomerName",
    "EffectiveUnitPrice",
    "EntitlementId",
    "InvoiceNumber",
    "PartnerId",
    "PartnerName",
    "PCToBCExchangeRate",
    "PricingCurrency",
    "PricingPreTaxTotal",
    "ProductId",
    "PublisherName",
    "Quantity",
    "ResourceURI",
    "SkuId",
    "SkuName",
    "SubscriptionId",
    "UnitPrice",
    "UnitType",
    "UsageDate",
];

struct Sim {
    handle: SimulatorHandle,
    http: reqwest::Client,
}

impl Sim {
    async fn start() -> Self {
        let handle = start("127.0.0.1:0".parse().expect("addr"), SimulatorConfig::default()).await.expect("starts");
        Self { handle, http: reqwest::Client::new() }
    }

    fn main_url(&self, path: &str) -> String {
        format!("{}{path}", self.handle.base_url())
    }

    fn graph_url(&self, path: &str) -> String {
        format!("{}{path}", self.handle.graph_base_url())
    }

    /// Tokens from the v1 endpoint (`resource=`), as the gateway asks for Partner Center's.
    async fn token_v1(&self, tenant: &str, client_id: &str, secret: &str, resource: &str) -> reqwest::Response {
        self.http
            .post(self.main_url(&format!("{tenant}/oauth2/token")))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret),
                ("resource", resource),
            ])
            .send()
            .await
            .expect("token request")
    }

    async fn contoso_token(&self, resource: &str) -> String {
        let response = self
            .token_v1(seed::CONTOSO_TENANT_ID, seed::CONTOSO_CLIENT_ID, seed::CONTOSO_CLIENT_SECRET, resource)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("json");
        body["access_token"].as_str().expect("access_token").to_owned()
    }

    async fn graph_token(&self) -> String {
        self.contoso_token("https://graph.microsoft.com").await
    }

    async fn settings(&self, patch: Value) {
        let response =
            self.http.patch(self.main_url("_simulator/graph/settings")).json(&patch).send().await.expect("settings");
        assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap_or_default());
    }

    async fn counters(&self) -> Value {
        self.http
            .get(self.main_url("_simulator/graph/counters"))
            .send()
            .await
            .expect("counters")
            .json()
            .await
            .expect("json")
    }

    async fn post_export(&self, token: &str, path: &str, body: Value) -> reqwest::Response {
        self.http.post(self.graph_url(path)).bearer_auth(token).json(&body).send().await.expect("export")
    }

    /// Starts an export and returns its operation URL.
    async fn export(&self, token: &str, path: &str, body: Value) -> String {
        let response = self.post_export(token, path, body).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        assert_eq!(response.content_length(), Some(0));
        let location = response.headers()[header::LOCATION].to_str().expect("ascii").to_owned();
        assert!(location.starts_with(self.handle.graph_base_url().as_str()), "absolute: {location}");
        location
    }

    async fn get(&self, token: &str, url: &str) -> reqwest::Response {
        self.http.get(url).bearer_auth(token).send().await.expect("get")
    }

    /// Polls until the operation is no longer running, waiting each `Retry-After`; returns the
    /// final body and the `Retry-After` values seen.
    async fn poll(&self, token: &str, location: &str) -> (Value, Vec<u64>) {
        let mut waits = Vec::new();
        for _ in 0..20 {
            let response = self.get(token, location).await;
            assert_eq!(response.status(), StatusCode::OK);
            let retry_after = response
                .headers()
                .get(header::RETRY_AFTER)
                .map(|v| v.to_str().expect("ascii").parse::<u64>().expect("delta seconds"));
            let body: Value = response.json().await.expect("json");
            match body["status"].as_str() {
                Some("notStarted" | "running") => {
                    assert_eq!(body["@odata.type"], "#microsoft.graph.partners.billing.runningOperation");
                    let wait = retry_after.expect("Retry-After on a running poll");
                    waits.push(wait);
                    tokio::time::sleep(Duration::from_secs(wait)).await;
                }
                _ => {
                    assert!(retry_after.is_none(), "no Retry-After once finished");
                    return (body, waits);
                }
            }
        }
        panic!("the export never finished");
    }

    /// The manifest of a finished export, inline or behind its navigation link.
    async fn manifest(&self, token: &str, operation: &Value) -> Value {
        if let Some(inline) = operation.get("resourceLocation").filter(|v| v.is_object()) {
            return inline.clone();
        }
        let link = operation["resourceLocation@odata.navigationLink"].as_str().expect("navigation link");
        let response = self.get(token, link).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("manifest json")
    }
}

fn blob_url(manifest: &Value, blob: &Value) -> String {
    let sas = manifest["sasToken"].as_str().expect("sasToken").trim_start_matches('?');
    format!(
        "{}/{}?{sas}",
        manifest["rootDirectory"].as_str().expect("rootDirectory"),
        blob["name"].as_str().expect("name")
    )
}

/// Downloads one blob without any `Authorization` header and returns its gunzipped bytes.
async fn download(http: &reqwest::Client, url: &str) -> Vec<u8> {
    let response = http.get(url).send().await.expect("blob");
    assert_eq!(response.status(), StatusCode::OK, "{url}");
    let compressed = response.bytes().await.expect("blob body");
    let mut plain = Vec::new();
    GzDecoder::new(&compressed[..]).read_to_end(&mut plain).expect("gzip");
    plain
}

fn json_lines(plain: &[u8]) -> Vec<serde_json::Map<String, Value>> {
    plain
        .split(|b| *b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| match serde_json::from_slice(line) {
            Ok(Value::Object(map)) => map,
            other => panic!("not a JSON object line: {other:?}"),
        })
        .collect()
}

/// Every line of every blob of the export.
async fn all_lines(sim: &Sim, manifest: &Value) -> Vec<serde_json::Map<String, Value>> {
    let mut lines = Vec::new();
    for blob in manifest["blobs"].as_array().expect("blobs") {
        lines.extend(json_lines(&download(&sim.http, &blob_url(manifest, blob)).await));
    }
    lines
}

#[tokio::test]
async fn billed_usage_round_trip_through_the_navigation_link() {
    let sim = Sim::start().await;
    let token = sim.graph_token().await;
    sim.settings(json!({ "runningPolls": 2, "retryAfterSeconds": 1 })).await;
    let location = sim
        .export(&token, BILLED_USAGE, json!({ "invoiceId": billing_data::INVOICE_ONETIME, "attributeSet": "full" }))
        .await;
    let (operation, waits) = sim.poll(&token, &location).await;
    assert_eq!(waits, [1, 1]);
    assert_eq!(operation["@odata.type"], "#microsoft.graph.partners.billing.exportSuccessOperation");
    assert_eq!(operation["status"], "succeeded");
    assert!(operation.get("resourceLocation").is_none());
    // As the doc example prints it: no zone on createdDateTime, 7 digits and Z on lastActionDateTime.
    let created = operation["createdDateTime"].as_str().expect("created");
    assert!(created.len() == 19 && !created.ends_with('Z'), "{created}");
    assert!(operation["lastActionDateTime"].as_str().expect("last").ends_with('Z'));

    let manifest = sim.manifest(&token, &operation).await;
    assert_eq!(manifest["schemaVersion"], "1");
    assert_eq!(manifest["dataFormat"], "compressedJSON");
    assert_eq!(manifest["partitionType"], "Default");
    assert_eq!(manifest["partnerTenantId"], seed::CONTOSO_TENANT_ID);
    let root = manifest["rootDirectory"].as_str().expect("root");
    assert!(root.starts_with(sim.handle.blob_base_url().as_str()), "{root}");
    assert!(
        root.contains("/InvoiceId=G000024135/") && root.ends_with("/Fragment=full/PartitionType=default"),
        "{root}"
    );
    let sas = manifest["sasToken"].as_str().expect("sas");
    assert!(!sas.starts_with('?') && sas.contains("sr=d") && sas.contains("sp=rl") && sas.contains("sig="), "{sas}");
    let blobs = manifest["blobs"].as_array().expect("blobs");
    assert_eq!(manifest["blobCount"], blobs.len());
    assert!(blobs.len() >= 3, "several blobs per export");
    assert!(blobs.iter().all(|b| b["partitionValue"] == "default"
        && b["name"].as_str().is_some_and(|n| n.starts_with("part-") && n.ends_with(".c000.json.gz"))));

    let lines = all_lines(&sim, &manifest).await;
    assert_eq!(lines.len() as u64, billing_data::ONETIME_USAGE_ITEMS);
    let keys: HashSet<(String, String, String)> = lines
        .iter()
        .map(|l| (l["ResourceURI"].to_string(), l["MeterId"].to_string(), l["UsageDate"].to_string()))
        .collect();
    assert_eq!(keys.len(), lines.len(), "each item exactly once");
    for line in &lines {
        assert_eq!(line.len(), 54);
        assert_eq!(line["InvoiceNumber"], billing_data::INVOICE_ONETIME);
        assert_eq!(line["BillingCurrency"], "USD");
        assert!(BASIC_USAGE_KEYS.iter().all(|k| line.contains_key(*k)));
    }
    let customers: HashSet<&str> = lines.iter().filter_map(|l| l["CustomerId"].as_str()).collect();
    assert!(customers.contains(seed::CUSTOMER_FABRIKAM) || customers.len() > 10, "seeded customers");

    let counters = sim.counters().await;
    assert_eq!(counters["exports"]["billedUsage"], 1);
    assert_eq!(counters["operationPolls"], 3);
    assert_eq!(counters["pollsBeforeRetryAfter"], 0);
    assert_eq!(counters["manifestReads"], 1);
    assert_eq!(counters["blobRequests"], blobs.len());
    assert_eq!(counters["blobRequestsWithAuthorization"], 0);
    assert_eq!(counters["blobItemsServed"], billing_data::ONETIME_USAGE_ITEMS);
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn reconciliation_with_the_inline_manifest_and_the_other_documented_variants() {
    let sim = Sim::start().await;
    let token = sim.graph_token().await;
    sim.settings(json!({
        "runningPolls": 1, "retryAfterSeconds": 0, "manifestDelivery": "inline", "successStatus": "completed",
        "timestampStyle": "utc", "includeODataContext": true, "sasLeadingQuestionMark": true,
        "dataFormat": "compressedJSONLines"
    }))
    .await;
    let location = sim
        .export(&token, BILLED_RECON, json!({ "invoiceId": billing_data::INVOICE_ONETIME, "attributeSet": "basic" }))
        .await;
    let (operation, waits) = sim.poll(&token, &location).await;
    assert_eq!(waits, [0]);
    assert_eq!(operation["status"], "completed");
    assert!(operation["createdDateTime"].as_str().expect("created").ends_with('Z'));
    assert!(
        operation["@odata.context"]
            .as_str()
            .expect("context")
            .ends_with("$metadata#reports/partners/billing/operations/$entity")
    );
    assert!(operation.get("resourceLocation@odata.navigationLink").is_none());
    let manifest = sim.manifest(&token, &operation).await;
    assert_eq!(manifest["dataFormat"], "compressedJSONLines");
    assert!(manifest["sasToken"].as_str().expect("sas").starts_with('?'));
    assert!(manifest["rootDirectory"].as_str().expect("root").contains("/Fragment=basic/"));
    let lines = all_lines(&sim, &manifest).await;
    assert_eq!(lines.len() as u64, billing_data::ONETIME_BILLING_ITEMS);
    let references: HashSet<String> = lines.iter().map(|l| l["ReferenceId"].to_string()).collect();
    assert_eq!(references.len(), lines.len());
    for line in &lines {
        for key in [
            "PartnerId",
            "CustomerId",
            "InvoiceNumber",
            "OrderId",
            "ProductId",
            "SkuId",
            "AvailabilityId",
            "ChargeType",
            "UnitPrice",
            "Quantity",
            "Subtotal",
            "TaxTotal",
            "Total",
            "Currency",
            "BillableQuantity",
            "EffectiveUnitPrice",
            "PCToBCExchangeRate",
            "SubscriptionId",
            "ReferenceId",
            "PromotionId",
        ] {
            assert!(line.contains_key(key), "{key}");
        }
        assert_eq!(line["InvoiceNumber"], billing_data::INVOICE_ONETIME);
    }

    // The same export with both delivery forms; the navigation link's manifest matches the inline one.
    sim.settings(json!({ "manifestDelivery": "both", "runningPolls": 0 })).await;
    let location = sim.export(&token, BILLED_RECON, json!({ "invoiceId": billing_data::INVOICE_ONETIME })).await;
    let (operation, waits) = sim.poll(&token, &location).await;
    assert!(waits.is_empty());
    let linked: Value = sim
        .get(&token, operation["resourceLocation@odata.navigationLink"].as_str().expect("link"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(linked["id"], operation["resourceLocation"]["id"]);
    assert_eq!(linked["blobs"], operation["resourceLocation"]["blobs"]);
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn unbilled_exports_hold_the_unbilled_periods() {
    let sim = Sim::start().await;
    let token = sim.graph_token().await;
    sim.settings(json!({ "runningPolls": 0 })).await;
    let cases = [
        (UNBILLED_RECON, "current", "USD", 320u64),
        (UNBILLED_RECON, "last", "EUR", 10),
        (UNBILLED_USAGE, "current", "USD", 4_500),
        (UNBILLED_USAGE, "last", "EUR", 250),
    ];
    for (path, period, currency, expected) in cases {
        let location = sim
            .export(&token, path, json!({ "currencyCode": currency, "attributeSet": "full", "billingPeriod": period }))
            .await;
        let (operation, _) = sim.poll(&token, &location).await;
        assert_eq!(operation["status"], "succeeded", "{path} {period} {currency}");
        let manifest = sim.manifest(&token, &operation).await;
        assert!(manifest["rootDirectory"].as_str().expect("root").contains(&format!("/Currency={currency}/")));
        let lines = all_lines(&sim, &manifest).await;
        assert_eq!(lines.len() as u64, expected, "{path} {period} {currency}");
        assert!(lines.iter().all(|l| l["InvoiceNumber"] == ""), "unbilled items have no invoice");
        if path == UNBILLED_RECON {
            assert!(lines.iter().all(|l| l["BillingFrequency"] == "" && l["Currency"] == currency));
        }
    }
    // A currency without unbilled items: the export fails with "no data".
    let location =
        sim.export(&token, UNBILLED_USAGE, json!({ "currencyCode": "JPY", "billingPeriod": "current" })).await;
    let (operation, _) = sim.poll(&token, &location).await;
    assert_eq!(operation["status"], "failed");
    assert_eq!(operation["error"]["code"], "5000");
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn failed_operations_carry_code_5000_and_no_data() {
    let sim = Sim::start().await;
    let token = sim.graph_token().await;
    sim.settings(json!({ "runningPolls": 1, "retryAfterSeconds": 0 })).await;
    // A legacy invoice: Microsoft's documented answer.
    let location = sim.export(&token, BILLED_USAGE, json!({ "invoiceId": billing_data::INVOICE_RECURRING })).await;
    let (operation, _) = sim.poll(&token, &location).await;
    assert_eq!(operation["@odata.type"], "#microsoft.graph.partners.billing.failedOperation");
    assert_eq!(operation["status"], "failed");
    assert_eq!(operation["error"]["code"], "5000");
    assert!(operation["error"]["message"].as_str().expect("message").contains(billing_data::INVOICE_RECURRING));
    assert!(
        operation.get("resourceLocation").is_none() && operation.get("resourceLocation@odata.navigationLink").is_none()
    );

    // The next export fails although its invoice has data.
    let response = sim.http.post(sim.main_url("_simulator/graph/exports/fail-next")).send().await.expect("fail-next");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let location = sim.export(&token, BILLED_USAGE, json!({ "invoiceId": billing_data::INVOICE_ONETIME })).await;
    let (operation, _) = sim.poll(&token, &location).await;
    assert_eq!(operation["error"], json!({ "message": "No data available", "code": "5000" }));
    // ... and only the next one.
    let location = sim.export(&token, BILLED_USAGE, json!({ "invoiceId": billing_data::INVOICE_ONETIME })).await;
    let (operation, _) = sim.poll(&token, &location).await;
    assert_eq!(operation["status"], "succeeded");

    // A running export made to fail by id, with a code of the test's choosing.
    let location = sim.export(&token, BILLED_RECON, json!({ "invoiceId": billing_data::INVOICE_ONETIME })).await;
    let id = location.rsplit('/').next().expect("id");
    let response = sim
        .http
        .post(sim.main_url(&format!("_simulator/graph/operations/{id}/fail")))
        .json(&json!({ "code": "5001", "message": "Export failed." }))
        .send()
        .await
        .expect("fail");
    assert_eq!(response.status(), StatusCode::OK);
    let (operation, _) = sim.poll(&token, &location).await;
    assert_eq!(operation["error"], json!({ "message": "Export failed.", "code": "5001" }));
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn polls_before_retry_after_are_counted_and_the_manifest_waits_for_success() {
    let sim = Sim::start().await;
    let token = sim.graph_token().await;
    sim.settings(json!({ "notStartedPolls": 1, "runningPolls": 1, "retryAfterSeconds": 30 })).await;
    let location = sim.export(&token, BILLED_USAGE, json!({ "invoiceId": billing_data::INVOICE_ONETIME_EUR })).await;
    let first: Value = sim.get(&token, &location).await.json().await.expect("json");
    assert_eq!(first["status"], "notStarted");
    let second = sim.get(&token, &location).await;
    assert_eq!(second.headers()[header::RETRY_AFTER], "30");
    let second: Value = second.json().await.expect("json");
    assert_eq!(second["status"], "running");
    assert_eq!(sim.counters().await["pollsBeforeRetryAfter"], 1);
    // Other partners do not see the operation.
    let northwind = sim
        .token_v1(
            seed::NORTHWIND_TENANT_ID,
            seed::NORTHWIND_CLIENT_ID,
            seed::NORTHWIND_CLIENT_SECRET,
            "https://graph.microsoft.com",
        )
        .await
        .json::<Value>()
        .await
        .expect("json")["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(sim.get(&northwind, &location).await.status(), StatusCode::NOT_FOUND);
    // The manifest exists only once the export succeeded.
    let operations: Value = sim
        .http
        .get(sim.main_url("_simulator/graph/operations"))
        .send()
        .await
        .expect("ops")
        .json()
        .await
        .expect("json");
    let manifest_id = operations[0]["outcome"]["manifestId"].as_str().expect("manifest id").to_owned();
    assert_eq!(operations[0]["outcome"]["items"], 900);
    let manifest_url = sim.graph_url(&format!("v1.0/reports/partners/billing/manifests/{manifest_id}"));
    assert_eq!(sim.get(&token, &manifest_url).await.status(), StatusCode::NOT_FOUND);
    let third: Value = sim.get(&token, &location).await.json().await.expect("json");
    assert_eq!(third["status"], "succeeded");
    assert_eq!(sim.get(&token, &manifest_url).await.status(), StatusCode::OK);
    // Beta serves the same resources.
    let beta = location.replace("/v1.0/", "/beta/");
    assert_eq!(sim.get(&token, &beta).await.status(), StatusCode::OK);
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn the_blob_host_checks_the_sas_and_refuses_bearer_tokens() {
    let sim = Sim::start().await;
    let token = sim.graph_token().await;
    sim.settings(json!({ "runningPolls": 0, "sasLifetimeSeconds": 600 })).await;
    let location = sim.export(&token, BILLED_RECON, json!({ "invoiceId": billing_data::INVOICE_ONETIME })).await;
    let (operation, _) = sim.poll(&token, &location).await;
    let manifest = sim.manifest(&token, &operation).await;
    let url = blob_url(&manifest, &manifest["blobs"][0]);

    // A Graph bearer token next to the SAS: refused and counted.
    let leaked = sim.http.get(&url).bearer_auth(&token).send().await.expect("blob");
    assert_eq!(leaked.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(leaked.headers()["x-ms-error-code"], "InvalidAuthenticationInfo");
    assert_eq!(sim.counters().await["blobRequestsWithAuthorization"], 1);
    sim.settings(json!({ "bearerOnBlob": "ignore" })).await;
    assert_eq!(sim.http.get(&url).bearer_auth(&token).send().await.expect("blob").status(), StatusCode::OK);
    assert_eq!(sim.counters().await["blobRequestsWithAuthorization"], 2);

    // No SAS, a tampered one, one used on another folder.
    let bare = url.split('?').next().expect("path").to_owned();
    let anonymous = sim.http.get(&bare).send().await.expect("blob");
    assert_eq!(anonymous.status(), StatusCode::CONFLICT);
    let tampered = url.replace("sp=rl", "sp=rwl");
    let response = sim.http.get(&tampered).send().await.expect("blob");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body = response.text().await.expect("xml");
    assert!(body.contains("<Code>AuthenticationFailed</Code>") && body.contains("Signature did not match"), "{body}");
    let moved = url.replace("/Fragment=full/", "/Fragment=basic/");
    assert_eq!(sim.http.get(&moved).send().await.expect("blob").status(), StatusCode::FORBIDDEN);

    // Expiry follows the simulated clock.
    let advanced = sim
        .http
        .post(sim.main_url("_simulator/clock/advance"))
        .json(&json!({ "seconds": 601 }))
        .send()
        .await
        .expect("advance");
    assert_eq!(advanced.status(), StatusCode::NO_CONTENT);
    let expired = sim.http.get(&url).send().await.expect("blob");
    assert_eq!(expired.status(), StatusCode::FORBIDDEN);
    assert_eq!(expired.headers()["x-ms-error-code"], "AuthenticationFailed");
    assert!(expired.headers()[header::CONTENT_TYPE].to_str().expect("ascii").starts_with("application/xml"));
    let body = expired.text().await.expect("xml");
    assert!(body.contains("<Code>AuthenticationFailed</Code>"), "{body}");
    assert!(body.contains("Signature not valid in the specified time frame"), "{body}");
    // A fresh manifest read hands out a fresh SAS.
    let link = operation["resourceLocation@odata.navigationLink"].as_str().expect("link");
    let fresh: Value = sim.get(&token, link).await.json().await.expect("json");
    assert_eq!(sim.http.get(blob_url(&fresh, &fresh["blobs"][0])).send().await.expect("blob").status(), StatusCode::OK);

    // An already expired SAS straight from the manifest: exports keep the settings they started
    // with, so this one is changed by id.
    let id = location.rsplit('/').next().expect("id");
    let patched = sim
        .http
        .patch(sim.main_url(&format!("_simulator/graph/operations/{id}/settings")))
        .json(&json!({ "sasLifetimeSeconds": -60 }))
        .send()
        .await
        .expect("patch");
    assert_eq!(patched.status(), StatusCode::OK);
    let stale: Value = sim.get(&token, link).await.json().await.expect("json");
    assert_eq!(
        sim.http.get(blob_url(&stale, &stale["blobs"][0])).send().await.expect("blob").status(),
        StatusCode::FORBIDDEN
    );

    let counters = sim.counters().await;
    assert_eq!(counters["blobSasMissing"], 1);
    assert_eq!(counters["blobSasInvalid"], 2);
    assert_eq!(counters["blobSasExpired"], 2);
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn graph_and_partner_center_refuse_each_others_tokens() {
    let sim = Sim::start().await;
    let graph_token = sim.graph_token().await;
    let pc_token = sim.contoso_token("https://api.partnercenter.microsoft.com").await;
    let body = json!({ "invoiceId": billing_data::INVOICE_ONETIME });

    let refused = sim.post_export(&pc_token, BILLED_USAGE, body.clone()).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(refused.headers().contains_key(header::WWW_AUTHENTICATE));
    let error: Value = refused.json().await.expect("json");
    assert_eq!(error["error"]["code"], "InvalidAuthenticationToken");
    assert_eq!(error["error"]["message"], "Access token validation failure. Invalid audience.");
    assert!(error["error"]["innerError"]["request-id"].is_string());
    let anonymous = sim
        .http
        .post(sim.graph_url(BILLED_USAGE))
        .header("client-request-id", "7d1f0c1e-0000-4000-8000-000000000001")
        .json(&body)
        .send()
        .await
        .expect("export");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.headers()["client-request-id"], "7d1f0c1e-0000-4000-8000-000000000001");
    let error: Value = anonymous.json().await.expect("json");
    assert_eq!(error["error"]["message"], "Access token is empty.");
    assert_eq!(error["error"]["innerError"]["client-request-id"], "7d1f0c1e-0000-4000-8000-000000000001");

    let customers = sim.main_url("v1/customers");
    assert_eq!(sim.get(&graph_token, &customers).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(sim.get(&pc_token, &customers).await.status(), StatusCode::OK);

    // v2 endpoint, `scope=https://graph.microsoft.com/.default`.
    let v2 = sim
        .http
        .post(sim.main_url(&format!("{}/oauth2/v2.0/token", seed::CONTOSO_TENANT_ID)))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", seed::CONTOSO_CLIENT_ID),
            ("client_secret", seed::CONTOSO_CLIENT_SECRET),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .expect("v2 token");
    assert_eq!(v2.status(), StatusCode::OK);
    let v2: Value = v2.json().await.expect("json");
    assert!(v2["expires_in"].is_u64(), "v2 writes numbers: {v2}");
    let v2_token = v2["access_token"].as_str().expect("token");
    assert_eq!(sim.post_export(v2_token, BILLED_USAGE, body.clone()).await.status(), StatusCode::ACCEPTED);
    assert_eq!(sim.get(v2_token, &customers).await.status(), StatusCode::UNAUTHORIZED);

    // Unknown resources and non-.default client-credential scopes are refused by Azure AD.
    let unknown = sim
        .token_v1(seed::CONTOSO_TENANT_ID, seed::CONTOSO_CLIENT_ID, seed::CONTOSO_CLIENT_SECRET, "https://example.com")
        .await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    assert_eq!(unknown.json::<Value>().await.expect("json")["error"], "invalid_resource");

    // Without PartnerBilling.Read.All, 403.
    let revoked = sim
        .http
        .post(sim.main_url(&format!("_simulator/graph/permissions/{}", seed::CONTOSO_TENANT_ID)))
        .json(&json!({ "partnerBillingReadAll": false }))
        .send()
        .await
        .expect("permission");
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let forbidden = sim.post_export(&graph_token, BILLED_USAGE, body).await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let counters = sim.counters().await;
    assert_eq!((counters["graphUnauthorized"].as_u64(), counters["graphForbidden"].as_u64()), (Some(2), Some(1)));
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn export_bodies_are_validated_with_graph_error_bodies() {
    let sim = Sim::start().await;
    let token = sim.graph_token().await;
    let expect_400 = |response: reqwest::Response, needle: &'static str| async move {
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response.headers()[header::CONTENT_TYPE].to_str().expect("ascii").starts_with("application/json"));
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"]["code"], "BadRequest");
        let message = body["error"]["message"].as_str().expect("message");
        assert!(message.contains(needle), "{message}");
    };
    expect_400(sim.post_export(&token, BILLED_RECON, json!({ "attributeSet": "full" })).await, "invoiceId").await;
    expect_400(sim.post_export(&token, BILLED_USAGE, json!({ "invoiceId": "" })).await, "invoiceId").await;
    expect_400(
        sim.post_export(&token, UNBILLED_USAGE, json!({ "currencyCode": "USD", "billingPeriod": "previous" })).await,
        "'previous'",
    )
    .await;
    expect_400(sim.post_export(&token, UNBILLED_RECON, json!({ "currencyCode": "USD" })).await, "billingPeriod").await;
    expect_400(sim.post_export(&token, UNBILLED_RECON, json!({ "billingPeriod": "last" })).await, "currencyCode").await;
    expect_400(
        sim.post_export(&token, BILLED_USAGE, json!({ "invoiceId": "G1", "attributeSet": "everything" })).await,
        "'everything'",
    )
    .await;
    expect_400(
        sim.post_export(&token, BILLED_USAGE, json!({ "invoiceId": "G1", "currencyCode": "USD" })).await,
        "currencyCode",
    )
    .await;
    let text = sim
        .http
        .post(sim.graph_url(BILLED_USAGE))
        .bearer_auth(&token)
        .body(r#"{"invoiceId":"G000024135"}"#)
        .send()
        .await
        .expect("export");
    assert_eq!(text.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(sim.counters().await["exports"], json!({}), "nothing started");
    // Unknown operations, manifests and segments.
    let unknown = sim.get(&token, &sim.graph_url("v1.0/reports/partners/billing/operations/no-such-id")).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(unknown.json::<Value>().await.expect("json")["error"]["code"], "NotFound");
    let unknown = sim.get(&token, &sim.graph_url("beta/reports/partners/billing/manifests/no-such-id")).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let segment = sim.get(&token, &sim.graph_url("v1.0/reports/partners/billing/invoices")).await;
    assert_eq!(segment.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        segment.json::<Value>().await.expect("json")["error"]["message"],
        "Resource not found for the segment 'invoices'."
    );
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn root_directory_override_and_faults() {
    let sim = Sim::start().await;
    let token = sim.graph_token().await;
    sim.settings(json!({ "runningPolls": 0, "rootDirectoryOverride": "file:///etc" })).await;
    let location = sim.export(&token, BILLED_RECON, json!({ "invoiceId": billing_data::INVOICE_ONETIME })).await;
    let (operation, _) = sim.poll(&token, &location).await;
    let manifest = sim.manifest(&token, &operation).await;
    assert_eq!(manifest["rootDirectory"], "file:///etc");

    // Per export: the override is cleared for this export only.
    let id = location.rsplit('/').next().expect("id");
    let patched = sim
        .http
        .patch(sim.main_url(&format!("_simulator/graph/operations/{id}/settings")))
        .json(&json!({ "rootDirectoryOverride": null }))
        .send()
        .await
        .expect("patch");
    assert_eq!(patched.status(), StatusCode::OK);
    let manifest = sim.manifest(&token, &operation).await;
    let url = blob_url(&manifest, &manifest["blobs"][0]);
    assert!(url.starts_with(sim.handle.blob_base_url().as_str()));

    // A blob cut halfway: the body breaks.
    let fault = sim
        .http
        .post(sim.main_url("_simulator/blob/faults"))
        .json(&json!({ "kind": "dropAfterProcessing", "times": 1 }))
        .send()
        .await
        .expect("fault");
    assert_eq!(fault.status(), StatusCode::CREATED);
    let cut = sim.http.get(&url).send().await.expect("blob");
    assert_eq!(cut.status(), StatusCode::OK);
    assert!(cut.bytes().await.is_err(), "the download breaks");
    assert!(!download(&sim.http, &url).await.is_empty(), "the next one is whole");

    // Graph throttling: Graph's body and Retry-After.
    let fault = sim
        .http
        .post(sim.main_url("_simulator/graph/faults"))
        .json(&json!({ "kind": "status", "status": 429, "retryAfterSeconds": 7, "pathPrefix": "/v1.0/reports/partners/billing/operations", "times": 1 }))
        .send()
        .await
        .expect("fault");
    assert_eq!(fault.status(), StatusCode::CREATED);
    let throttled = sim.get(&token, &location).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled.headers()[header::RETRY_AFTER], "7");
    assert_eq!(throttled.json::<Value>().await.expect("json")["error"]["code"], "TooManyRequests");
    assert_eq!(sim.get(&token, &location).await.status(), StatusCode::OK);
    sim.handle.shutdown().await;
}

/// Downloads a blob, gunzips it as it arrives and counts its lines, checking each is a JSON
/// object; parses every 10,000th line fully.
async fn count_lines(http: reqwest::Client, url: String) -> u64 {
    let compressed =
        http.get(&url).send().await.expect("blob").error_for_status().expect("200").bytes().await.expect("body");
    tokio::task::spawn_blocking(move || {
        let mut reader = BufReader::with_capacity(1 << 20, GzDecoder::new(&compressed[..]));
        let mut line = Vec::with_capacity(4096);
        let mut count = 0u64;
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line).expect("gunzip") == 0 {
                break;
            }
            assert!(line.starts_with(b"{\"PartnerId\":") && line.ends_with(b"}\n"), "line {count}");
            if count.is_multiple_of(10_000) {
                let item: serde_json::Map<String, Value> = serde_json::from_slice(&line).expect("json line");
                assert_eq!(item["InvoiceNumber"], MILLION_ITEM_INVOICE);
            }
            count += 1;
        }
        count
    })
    .await
    .expect("counted")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_line_items_stream_and_count_exactly() {
    let sim = Sim::start().await;
    let token = sim.graph_token().await;
    sim.settings(json!({ "runningPolls": 0 })).await;
    let started = Instant::now();
    let location =
        sim.export(&token, BILLED_USAGE, json!({ "invoiceId": MILLION_ITEM_INVOICE, "attributeSet": "full" })).await;
    let (operation, _) = sim.poll(&token, &location).await;
    let manifest = sim.manifest(&token, &operation).await;
    let downloads: Vec<_> = manifest["blobs"]
        .as_array()
        .expect("blobs")
        .iter()
        .map(|blob| tokio::spawn(count_lines(sim.http.clone(), blob_url(&manifest, blob))))
        .collect();
    let mut total = 0;
    for download in downloads {
        total += download.await.expect("download");
    }
    assert_eq!(total, MILLION_ITEMS);
    let counters = sim.counters().await;
    assert_eq!(counters["blobItemsServed"], MILLION_ITEMS);
    assert_eq!(counters["blobsCompleted"], manifest["blobCount"]);
    eprintln!(
        "1,000,000 items in {} blobs, {} MB compressed, {:?}",
        manifest["blobCount"],
        counters["blobBytesServed"].as_u64().unwrap_or(0) / 1_000_000,
        started.elapsed()
    );
    sim.handle.shutdown().await;
}
