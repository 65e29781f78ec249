//! Billing exports (Microsoft Graph's reconciliation API v2) over REST and gRPC against the
//! simulated Graph and blob host: lifecycle, failures, partner binding, permissions, SSRF guards,
//! access signatures, every documented wire variant, the v1/v2 split and 1,000,000 items.

use std::{
    collections::{BTreeSet, HashSet},
    time::{Duration, Instant},
};

use futures::StreamExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use partner_center_gateway::{
    auth::{Permission, dev::DevTokenRequest},
    config::AuthMode,
    grpc::pb::{self, billing_service_client::BillingServiceClient},
};
use partner_center_simulator::{
    billing_data,
    graph::{GraphSettings, data::MILLION_ITEM_INVOICE},
    seed,
};
use serde_json::{Value, json};
use tonic::Code;

use crate::helpers::{TestApp, authed};

const ONETIME: &str = billing_data::INVOICE_ONETIME;

/// Settings for one test: no polls before success unless a test wants them.
fn quick(graph: &GraphSettings) -> GraphSettings {
    GraphSettings { running_polls: 0, ..graph.clone() }
}

fn set(app: &TestApp, change: impl FnOnce(&mut GraphSettings)) {
    let mut settings = app.graph.settings();
    change(&mut settings);
    app.graph.set_settings(settings);
}

fn token(app: &TestApp) -> String {
    app.token(&["*"], &[Permission::InvoicesRead, Permission::UsageRead])
}

async fn grpc(app: &TestApp) -> BillingServiceClient<tonic::transport::Channel> {
    BillingServiceClient::new(app.channel().await).max_decoding_message_size(64 * 1024 * 1024)
}

/// `POST /v1/billing/exports`: (status, body, Location).
async fn start(app: &TestApp, token: &str, body: Value) -> (u16, Value, Option<String>) {
    let response =
        app.http.post(app.url("/v1/billing/exports")).bearer_auth(token).json(&body).send().await.expect("request");
    let status = response.status().as_u16();
    let location = response.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
    (status, response.json().await.unwrap_or(Value::Null), location)
}

async fn start_ok(app: &TestApp, token: &str, body: Value) -> String {
    let (status, export, location) = start(app, token, body).await;
    assert_eq!(status, 202, "{export}");
    let id = export["id"].as_str().expect("id").to_owned();
    assert_eq!(location.as_deref(), Some(format!("/v1/billing/exports/{id}").as_str()));
    id
}

/// Polls `GET /v1/billing/exports/{id}` as a front end would (honouring `Retry-After`) until it
/// is no longer running.
async fn finished(app: &TestApp, token: &str, id: &str) -> Value {
    for _ in 0..60 {
        let response = app.get(&format!("/v1/billing/exports/{id}"), token).await;
        assert_eq!(response.status(), 200);
        let wait = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        let export: Value = response.json().await.expect("json");
        if export["status"] != "running" {
            return export;
        }
        assert!(wait.is_some(), "a running export says when to ask again: {export}");
        tokio::time::sleep(Duration::from_secs(wait.unwrap_or(1))).await;
    }
    panic!("the export did not finish");
}

async fn pages(app: &TestApp, token: &str, id: &str, size: u32) -> Vec<Value> {
    app.all_pages(&format!("/v1/billing/exports/{id}/line-items"), token, size).await
}

async fn ndjson(app: &TestApp, token: &str, id: &str) -> Vec<Value> {
    let response = app.get(&format!("/v1/billing/exports/{id}/line-items.ndjson"), token).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("application/x-ndjson"));
    let text = response.text().await.expect("body");
    assert!(text.ends_with('\n'));
    text.lines().map(|line| serde_json::from_str(line).expect("each line is JSON")).collect()
}

async fn streamed(app: &TestApp, token: &str, id: &str) -> Result<Vec<Value>, tonic::Status> {
    let mut stream = grpc(app)
        .await
        .stream_billing_export_line_items(authed(
            pb::StreamBillingExportLineItemsRequest { export_id: id.into() },
            token,
        ))
        .await?
        .into_inner();
    let mut items = Vec::new();
    while let Some(item) = stream.next().await {
        let fields = item?.fields.expect("fields");
        items.push(struct_json(fields));
    }
    Ok(items)
}

fn struct_json(fields: prost_types::Struct) -> Value {
    fn value(v: prost_types::Value) -> Value {
        use prost_types::value::Kind;
        match v.kind {
            Some(Kind::StringValue(s)) => Value::String(s),
            Some(Kind::BoolValue(b)) => Value::Bool(b),
            Some(Kind::NumberValue(n)) => json!(n),
            Some(Kind::StructValue(s)) => struct_json(s),
            Some(Kind::ListValue(l)) => Value::Array(l.values.into_iter().map(value).collect()),
            Some(Kind::NullValue(_)) | None => Value::Null,
        }
    }
    Value::Object(fields.fields.into_iter().map(|(k, v)| (k, value(v))).collect())
}

fn reference_ids(items: &[Value]) -> BTreeSet<String> {
    let ids: BTreeSet<String> =
        items.iter().map(|i| i["referenceId"].as_str().expect("referenceId").to_owned()).collect();
    assert_eq!(ids.len(), items.len(), "every item exactly once");
    ids
}

#[tokio::test]
async fn a_billed_reconciliation_export_starts_polls_and_reads_over_rest() {
    let app = TestApp::spawn().await;
    let token = token(&app);
    set(&app, |s| {
        s.running_polls = 2;
        s.retry_after_seconds = 1;
        s.max_items_per_blob = 60;
    });
    let (status, export, location) =
        start(&app, &token, json!({"kind": "billedReconciliation", "invoiceId": ONETIME})).await;
    assert_eq!(status, 202, "{export}");
    assert!(location.is_some());
    assert_eq!((export["status"].as_str(), export["kind"].as_str()), (Some("running"), Some("billedReconciliation")));
    assert_eq!(export["invoiceId"], ONETIME);
    assert_eq!(export["attributeSet"], "full");
    let id = export["id"].as_str().expect("id").to_owned();
    assert!(!id.contains(ONETIME) && !id.contains(seed::CONTOSO_PARTNER_ID), "the id is opaque: {id}");

    // A front end polling faster than Retry-After never makes the gateway poll Graph early.
    for _ in 0..10 {
        let (status, polled) = app.get_json(&format!("/v1/billing/exports/{id}"), &token).await;
        assert_eq!(status, 200, "{polled}");
    }
    let done = finished(&app, &token, &id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert!(done["blobCount"].as_u64().is_some_and(|n| n >= 3), "{done}");
    let counters = app.graph.counters();
    assert_eq!(counters.polls_before_retry_after, 0, "{counters:?}");
    assert!(counters.operation_polls <= 4, "{} polls for 2 running polls", counters.operation_polls);

    let paged = pages(&app, &token, &id, 25).await;
    assert_eq!(paged.len() as u64, billing_data::ONETIME_BILLING_ITEMS);
    let streamed = ndjson(&app, &token, &id).await;
    assert_eq!(reference_ids(&paged), reference_ids(&streamed));
    assert_eq!(paged, streamed, "same items, same order, same shape");
    let item = &paged[0];
    assert_eq!(item["invoiceNumber"], ONETIME);
    for key in
        ["customerId", "productId", "skuId", "chargeType", "unitPrice", "quantity", "subtotal", "total", "currency"]
    {
        assert!(item.get(key).is_some(), "{key} in {item}");
    }
    assert!(item["unitPrice"].is_string(), "numbers are decimal strings: {item}");

    let counters = app.graph.counters();
    assert!(counters.blob_requests > 0);
    assert_eq!(counters.blob_requests_with_authorization, 0, "the Graph token never goes to storage");
    let (_, again) = app.get_json(&format!("/v1/billing/exports/{id}"), &token).await;
    assert_eq!(again["rowCount"], billing_data::ONETIME_BILLING_ITEMS, "known after a complete read: {again}");
}

#[tokio::test]
async fn an_unbilled_usage_export_over_grpc_starts_polls_streams_and_pages() {
    let app = TestApp::spawn().await;
    let token = token(&app);
    set(&app, |s| s.running_polls = 1);
    let mut client = grpc(&app).await;
    let export = client
        .start_billing_export(authed(
            pb::StartBillingExportRequest {
                kind: "unbilled_usage".into(),
                billing_period: "current".into(),
                currency_code: "usd".into(),
                attribute_set: "basic".into(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect("started")
        .into_inner();
    assert_eq!((export.kind.as_str(), export.status.as_str()), ("unbilledUsage", "running"));
    assert_eq!((export.billing_period.as_str(), export.currency_code.as_str()), ("current", "USD"));
    let id = export.export_id.clone();
    let status = loop {
        let polled = client
            .get_billing_export(authed(pb::GetBillingExportRequest { export_id: id.clone() }, &token))
            .await
            .expect("status")
            .into_inner();
        if polled.status != "running" {
            break polled;
        }
        tokio::time::sleep(Duration::from_secs(polled.retry_after_seconds.max(1))).await;
    };
    assert_eq!(status.status, "succeeded");
    assert!(status.blob_count.is_some());

    let items = streamed(&app, &token, &id).await.expect("stream");
    let (usd_current_usage, _) = (4_500, ());
    assert_eq!(items.len(), usd_current_usage);
    assert!(items.iter().all(|i| i.get("meterCategory").is_none()), "basic set has no meterCategory");
    assert!(items.iter().all(|i| i["usageDate"].is_string() && i["quantity"].is_string()));

    let mut paged = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_billing_export_line_items(authed(
                pb::ListBillingExportLineItemsRequest { export_id: id.clone(), page_size: 1000, page_token },
                &token,
            ))
            .await
            .expect("page")
            .into_inner();
        paged.extend(page.line_items.into_iter().map(|i| struct_json(i.fields.expect("fields"))));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(paged, items);
    assert_eq!(app.graph.counters().polls_before_retry_after, 0);
}

#[tokio::test]
async fn a_failed_export_reports_microsofts_error_and_cannot_be_read() {
    let app = TestApp::spawn().await;
    let token = token(&app);
    app.graph.set_settings(quick(&app.graph.settings()));
    // A legacy invoice: Graph answers with a failed operation, code 5000.
    let id = start_ok(&app, &token, json!({"kind": "billedUsage", "invoiceId": billing_data::INVOICE_RECURRING})).await;
    let export = finished(&app, &token, &id).await;
    assert_eq!(export["status"], "failed");
    assert_eq!(export["error"]["code"], "5000");
    assert!(export["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    let (status, problem) = app.get_json(&format!("/v1/billing/exports/{id}/line-items"), &token).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["reason"], "EXPORT_FAILED");
    assert_eq!(problem["upstreamCode"], "5000");

    let mut client = grpc(&app).await;
    let polled = client
        .get_billing_export(authed(pb::GetBillingExportRequest { export_id: id.clone() }, &token))
        .await
        .expect("status")
        .into_inner();
    assert_eq!(polled.status, "failed");
    assert_eq!(polled.error.map(|e| e.code), Some("5000".to_owned()));
    let status = streamed(&app, &token, &id).await.expect_err("failed export");
    assert_eq!(status.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn another_partners_caller_gets_404_and_edited_ids_are_404_or_400() {
    let app = TestApp::spawn().await;
    let token = token(&app);
    app.graph.set_settings(quick(&app.graph.settings()));
    let id = start_ok(&app, &token, json!({"kind": "billedReconciliation", "invoiceId": ONETIME})).await;
    let mut northwind = DevTokenRequest::all_access("northwind-svc");
    northwind.partner = Some(seed::NORTHWIND_PARTNER_ID.to_owned());
    let northwind = app.token_with(northwind);
    let calls_before = app.graph.counters().graph_calls.values().sum::<u64>();
    for path in [
        format!("/v1/billing/exports/{id}"),
        format!("/v1/billing/exports/{id}/line-items"),
        format!("/v1/billing/exports/{id}/line-items.ndjson"),
    ] {
        let (status, problem) = app.get_json(&path, &northwind).await;
        assert_eq!(status, 404, "{path}: {problem}");
        assert_eq!(problem["reason"], "EXPORT_NOT_FOUND");
    }
    let status = grpc(&app)
        .await
        .get_billing_export(authed(pb::GetBillingExportRequest { export_id: id.clone() }, &northwind))
        .await
        .expect_err("other partner");
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(streamed(&app, &northwind, &id).await.expect_err("other partner").code(), Code::NotFound);

    // One changed character, a foreign id, a malformed id.
    let mut edited = id.clone().into_bytes();
    edited[20] = if edited[20] == b'A' { b'B' } else { b'A' };
    let edited = String::from_utf8(edited).expect("ascii");
    let (status, _) = app.get_json(&format!("/v1/billing/exports/{edited}"), &token).await;
    assert_eq!(status, 404);
    let (status, problem) = app.get_json("/v1/billing/exports/not%20an%20id", &token).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "exportId");
    let status = grpc(&app)
        .await
        .get_billing_export(authed(pb::GetBillingExportRequest { export_id: "x".repeat(2000) }, &token))
        .await
        .expect_err("too long");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().starts_with("export_id"), "{}", status.message());
    assert_eq!(app.graph.counters().graph_calls.values().sum::<u64>(), calls_before, "nothing reached Graph");
}

#[tokio::test]
async fn exports_need_the_star_scope_and_the_kinds_permission_on_both_transports() {
    let app = TestApp::spawn().await;
    let usage_only = app.token(&["*"], &[Permission::UsageRead]);
    let invoices_only = app.token(&["*"], &[Permission::InvoicesRead]);
    let scoped = app.token(&[crate::helpers::FABRIKAM], &[Permission::InvoicesRead, Permission::UsageRead]);
    let nothing = app.token(&["*"], &[Permission::CustomersRead]);
    let recon = json!({"kind": "billedReconciliation", "invoiceId": ONETIME});
    let usage = json!({"kind": "billedUsage", "invoiceId": ONETIME});
    for (token, body, reason) in [
        (&usage_only, &recon, "MISSING_PERMISSION"),
        (&invoices_only, &usage, "MISSING_PERMISSION"),
        (&scoped, &recon, "PARTNER_WIDE_ACCESS_REQUIRED"),
        (&nothing, &recon, "MISSING_PERMISSION"),
    ] {
        let (status, problem, _) = start(&app, token, body.clone()).await;
        assert_eq!(status, 403, "{problem}");
        assert_eq!(problem["reason"], reason);
    }
    let mut client = grpc(&app).await;
    let status = client
        .start_billing_export(authed(
            pb::StartBillingExportRequest {
                kind: "billedUsage".into(),
                invoice_id: ONETIME.into(),
                ..Default::default()
            },
            &invoices_only,
        ))
        .await
        .expect_err("no usage.read");
    assert_eq!(status.code(), Code::PermissionDenied);
    // Invalid input from a caller without the scope is still a 403: it learns nothing.
    let (status, _, _) = start(&app, &scoped, json!({"kind": "nonsense"})).await;
    assert_eq!(status, 403);
    assert!(app.graph.counters().graph_calls.is_empty(), "nothing reached Microsoft");
    assert!(app.graph.counters().exports.is_empty());

    // A reconciliation export is not readable with usage.read alone.
    app.graph.set_settings(quick(&app.graph.settings()));
    let id = start_ok(&app, &invoices_only, recon).await;
    let (status, problem) = app.get_json(&format!("/v1/billing/exports/{id}"), &usage_only).await;
    assert_eq!(status, 403, "{problem}");
    let status = streamed(&app, &usage_only, &id).await.expect_err("usage.read only");
    assert_eq!(status.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn bad_input_names_the_field_in_each_transports_spelling() {
    let app = TestApp::spawn().await;
    let token = token(&app);
    for (body, field) in [
        (json!({}), "kind"),
        (json!({"kind": "billedThings", "invoiceId": ONETIME}), "kind"),
        (json!({"kind": "billedUsage"}), "invoiceId"),
        (json!({"kind": "billedUsage", "invoiceId": "G0/../1"}), "invoiceId"),
        (json!({"kind": "unbilledUsage", "currencyCode": "USD"}), "billingPeriod"),
        (json!({"kind": "unbilledUsage", "billingPeriod": "previous", "currencyCode": "USD"}), "billingPeriod"),
        (json!({"kind": "unbilledUsage", "billingPeriod": "current"}), "currencyCode"),
        (json!({"kind": "billedUsage", "invoiceId": ONETIME, "attributeSet": "all"}), "attributeSet"),
        (json!({"kind": "billedUsage", "invoiceId": 7}), "invoiceId"),
        (json!({"kind": "billedUsage", "invoiceId": ONETIME, "extra": 1}), "body"),
    ] {
        let (status, problem, _) = start(&app, &token, body.clone()).await;
        assert_eq!(status, 400, "{body}: {problem}");
        let named = problem["errors"][0]["field"].as_str().unwrap_or_default().to_owned();
        assert!(
            named == field || (field == "body" && problem["detail"].as_str().is_some_and(|d| d.contains("extra"))),
            "{body}: {problem}"
        );
    }
    let status = grpc(&app)
        .await
        .start_billing_export(authed(
            pb::StartBillingExportRequest {
                kind: "unbilledReconciliation".into(),
                billing_period: "current".into(),
                currency_code: "US".into(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect_err("bad currency");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().starts_with("currency_code"), "{}", status.message());
    let (status, problem) = app.get_json("/v1/billing/exports/abc/line-items?pageSize=x", &token).await;
    assert_eq!(status, 400);
    assert_eq!(problem["errors"][0]["field"], "pageSize");
    assert!(app.graph.counters().exports.is_empty());
}

#[tokio::test]
async fn manifests_pointing_anywhere_but_storage_are_refused_and_nothing_is_fetched_there() {
    let app = TestApp::spawn().await;
    let token = token(&app);
    let gateway_port = app.rest.rsplit(':').next().unwrap_or_default().to_owned();
    for target in [
        format!("http://127.0.0.1:{gateway_port}/v1"),
        "https://evil.example.com/exfiltrate".to_owned(),
        "file:///etc".to_owned(),
        "https://127.0.0.1/x".to_owned(),
    ] {
        set(&app, |s| {
            s.running_polls = 0;
            s.root_directory_override = Some(target.clone());
        });
        app.graph.reset_counters();
        let id = start_ok(&app, &token, json!({"kind": "billedReconciliation", "invoiceId": ONETIME})).await;
        let (status, problem) = app.get_json(&format!("/v1/billing/exports/{id}/line-items"), &token).await;
        assert_eq!(status, 502, "{target}: {problem}");
        assert_eq!(problem["reason"], "UPSTREAM_URL_NOT_ALLOWED", "{target}");
        assert!(!problem["detail"].as_str().unwrap_or_default().contains("sig="), "no SAS in errors");
        let status = streamed(&app, &token, &id).await.expect_err("refused");
        assert_eq!(status.code(), Code::Unavailable, "{target}");
        let response = app.get(&format!("/v1/billing/exports/{id}/line-items.ndjson"), &token).await;
        assert_eq!(response.status(), 502);
        assert_eq!(app.graph.counters().blob_requests, 0, "{target}: nothing was downloaded");
    }
}

#[tokio::test]
async fn an_expired_access_signature_is_renewed_and_a_dead_one_is_a_clear_502() {
    let app = TestApp::spawn().await;
    let token = token(&app);
    // Every manifest comes with an already expired SAS: renewing does not help.
    set(&app, |s| {
        s.running_polls = 0;
        s.sas_lifetime_seconds = -60;
    });
    let id = start_ok(&app, &token, json!({"kind": "billedUsage", "invoiceId": ONETIME})).await;
    let (status, problem) = app.get_json(&format!("/v1/billing/exports/{id}/line-items"), &token).await;
    assert_eq!(status, 502, "{problem}");
    assert_eq!(problem["reason"], "EXPORT_DATA_ACCESS_DENIED");
    assert!(app.graph.counters().blob_sas_expired >= 2, "tried, renewed, tried again");
    assert_eq!(
        grpc(&app)
            .await
            .get_billing_export(authed(pb::GetBillingExportRequest { export_id: id.clone() }, &token))
            .await
            .map(|r| r.into_inner().status)
            .ok()
            .as_deref(),
        Some("succeeded")
    );

    // A SAS that expires while the gateway still holds the manifest is renewed transparently.
    set(&app, |s| s.sas_lifetime_seconds = 60);
    let id = start_ok(&app, &token, json!({"kind": "billedUsage", "invoiceId": ONETIME})).await;
    let first = pages(&app, &token, &id, 1000).await;
    assert_eq!(first.len() as u64, billing_data::ONETIME_USAGE_ITEMS);
    let reads = app.graph.counters().manifest_reads;
    app.sim.advance_clock(Duration::from_secs(120));
    let again = ndjson(&app, &token, &id).await;
    assert_eq!(again, first);
    assert!(app.graph.counters().manifest_reads > reads, "a new manifest (and SAS) was fetched");
}

#[tokio::test]
async fn every_documented_variant_reads_the_same() {
    let app = TestApp::spawn().await;
    let token = token(&app);
    let request = json!({"kind": "billedUsage", "invoiceId": ONETIME});
    app.graph.set_settings(quick(&GraphSettings::default()));
    let baseline = ndjson(&app, &token, &start_ok(&app, &token, request.clone()).await).await;
    assert_eq!(baseline.len() as u64, billing_data::ONETIME_USAGE_ITEMS);
    let keys: BTreeSet<&str> = baseline[0].as_object().expect("object").keys().map(String::as_str).collect();
    assert!(
        keys.contains("benefitOrderId")
            && keys.contains("mpnId")
            && keys.contains("resourceUri")
            && keys.contains("pcToBcExchangeRate"),
        "{keys:?}"
    );
    let variants = [
        json!({"successStatus": "completed"}),
        json!({"manifestDelivery": "inline"}),
        json!({"manifestDelivery": "both"}),
        json!({"keyStyle": "camel"}),
        json!({"numberStyle": "string"}),
        json!({"dataFormat": "compressedJSONLines", "includeODataContext": true, "timestampStyle": "utc"}),
        json!({"sasLeadingQuestionMark": true}),
        json!({"maxItemsPerBlob": 100, "minBlobs": 1}),
        json!({"bearerOnBlob": "ignore"}),
    ];
    for variant in variants {
        let settings = quick(&GraphSettings::default()).patched(&variant).expect("valid variant");
        app.graph.set_settings(settings);
        let id = start_ok(&app, &token, request.clone()).await;
        let export = finished(&app, &token, &id).await;
        assert_eq!(export["status"], "succeeded", "{variant}: {export}");
        let items = ndjson(&app, &token, &id).await;
        assert_eq!(items, baseline, "{variant}");
    }
    // Portal spellings (`BenefitOrderId`, `MPNID`, ...) land on the same keys; the portal adds one.
    app.graph.set_settings(quick(&GraphSettings::default()).patched(&json!({"spelling": "portal"})).expect("valid"));
    let portal = ndjson(&app, &token, &start_ok(&app, &token, request).await).await;
    for (ours, theirs) in baseline.iter().zip(&portal) {
        for key in ["benefitOrderId", "benefitId", "mpnId", "customerId", "quantity", "unitPrice"] {
            assert_eq!(ours[key], theirs[key], "{key}");
        }
    }
    assert_eq!(app.graph.counters().blob_requests_with_authorization, 0);
}

#[tokio::test]
async fn v1_line_items_that_moved_to_exports_are_409_naming_the_export() {
    let app = TestApp::spawn().await;
    let token = token(&app);
    let (status, problem) = app
        .get_json(
            "/v1/invoices/unbilled/line-items?provider=onetime&type=usage_line_items&currencyCode=USD&period=current",
            &token,
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["reason"], "MOVED_TO_BILLING_EXPORTS");
    assert_eq!(problem["violations"][0]["subject"], "unbilledUsage");
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("/v1/billing/exports")), "{problem}");
    let status = grpc(&app)
        .await
        .stream_unbilled_line_items(authed(
            pb::StreamUnbilledLineItemsRequest {
                provider: "onetime".into(),
                r#type: "usage_line_items".into(),
                currency_code: "USD".into(),
                period: "previous".into(),
            },
            &token,
        ))
        .await
        .map(|_| ())
        .expect_err("moved");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("StartBillingExport"));
    // Still on v1: unbilled reconciliation, legacy providers, and periods before April 2025.
    for path in [
        "/v1/invoices/unbilled/line-items?provider=onetime&type=billing_line_items&currencyCode=USD&period=current"
            .to_owned(),
        format!("/v1/invoices/{}/line-items?provider=azure&type=usage_line_items", billing_data::INVOICE_RECURRING),
        format!("/v1/invoices/{ONETIME}/line-items?provider=onetime&type=usage_line_items&currencyCode=USD"),
        format!("/v1/invoices/{ONETIME}/line-items?provider=onetime&type=billing_line_items&currencyCode=USD"),
    ] {
        let (status, page) = app.get_json(&path, &token).await;
        assert_eq!(status, 200, "{path}: {page}");
    }
}

#[tokio::test]
async fn invoices_continue_to_the_simulated_clock_and_new_commerce_ones_read_as_exports() {
    let app = TestApp::spawn().await;
    let token = token(&app);
    let invoices = app.all_pages("/v1/invoices", &token, 20).await;
    let newest_one_time = invoices.iter().find(|i| i["invoiceType"] == "OneTime").expect("a one-time invoice");
    let id = newest_one_time["id"].as_str().expect("id").to_owned();
    // Dated the 8th of this month or the last one: the list reaches today, not March 2025.
    let dated = newest_one_time["invoiceDate"].as_str().expect("date");
    let today = time::OffsetDateTime::now_utc().date();
    let age =
        today - time::Date::parse(&dated[..10], &time::format_description::well_known::Iso8601::DATE).expect("date");
    assert!(age.whole_days() < 40, "newest one-time invoice {id} is dated {dated}");

    // Its period is after March 2025: v1 refuses its new-commerce line items, the exports have them.
    let (status, problem) = app
        .get_json(
            &format!("/v1/invoices/{id}/line-items?provider=onetime&type=billing_line_items&currencyCode=USD"),
            &token,
        )
        .await;
    assert_eq!((status, problem["reason"].as_str()), (409, Some("MOVED_TO_BILLING_EXPORTS")), "{problem}");
    assert_eq!(problem["violations"][0]["subject"], "billedReconciliation");
    let export = start_ok(&app, &token, json!({"kind": "billedReconciliation", "invoiceId": id})).await;
    assert_eq!(finished(&app, &token, &export).await["status"], "succeeded");
    let items = ndjson(&app, &token, &export).await;
    let expected = billing_data::invoice(billing_data::INVOICE_PARTNER_TENANT, &id, std::time::SystemTime::now())
        .and_then(|i| i.count(billing_data::LineKind::OneTimeBilling))
        .expect("the simulator's count");
    assert_eq!(u64::try_from(items.len()).ok(), Some(expected));
    assert!(items.iter().all(|i| i["invoiceNumber"] == id.as_str()), "items of {id}");
    // March 2025, before the cut-over, is still on v1.
    let (status, page) = app
        .get_json(
            "/v1/invoices/G320250301/line-items?provider=onetime&type=billing_line_items&currencyCode=USD",
            &token,
        )
        .await;
    assert_eq!(status, 200, "{page}");

    // Two simulated months later, two or three more months of invoices of each type.
    let two_months = Duration::from_secs(62 * 86_400);
    app.sim.advance_clock(two_months);
    let later = app.all_pages("/v1/invoices", &token, 20).await;
    let issued =
        billing_data::invoices_of(billing_data::INVOICE_PARTNER_TENANT, std::time::SystemTime::now() + two_months);
    assert_eq!(later.len(), issued.len());
    assert!(later.len() >= invoices.len() + 4, "one one-time and one recurring invoice a month");
    let added = later.len() - invoices.len();
    assert!(later[added..].iter().zip(&invoices).all(|(a, b)| a["id"] == b["id"]), "older invoices unchanged");
}

#[tokio::test]
async fn an_export_id_survives_a_gateway_restart() {
    const ISSUER: &str = "https://issuer.example.test/";
    const AUDIENCE: &str = "api://partner-center-gateway-tests";
    let fixture =
        |name: &str| std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture");
    let public = String::from_utf8(fixture("ec-public.pem")).expect("pem");
    let app = TestApp::spawn_external(|settings| {
        settings.auth.mode = Some(AuthMode::Jwt);
        settings.auth.issuer = Some(ISSUER.to_owned());
        settings.auth.audience = Some(AUDIENCE.to_owned());
        settings.auth.public_key_pem = Some(public);
        settings.paging.token_secret = Some("a-shared-secret-of-at-least-32-bytes!".to_owned().into());
    })
    .await;
    let key = EncodingKey::from_ec_pem(&fixture("ec-private.pem")).expect("ec key");
    let claims = json!({
        "sub": "restart-test", "partner": seed::CONTOSO_PARTNER_ID, "customers": "*", "scp": "invoices.read usage.read",
        "iss": ISSUER, "aud": AUDIENCE, "exp": jsonwebtoken::get_current_timestamp() + 600,
    });
    let token = jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &key).expect("sign");
    app.graph.set_settings(quick(&app.graph.settings()));
    let id = start_ok(&app, &token, json!({"kind": "billedReconciliation", "invoiceId": ONETIME})).await;
    let before = pages(&app, &token, &id, 100).await;

    let app = app.restart().await;
    let export = finished(&app, &token, &id).await;
    assert_eq!(export["status"], "succeeded", "{export}");
    let after = ndjson(&app, &token, &id).await;
    assert_eq!(after, before);
}

/// 1,000,000 items through NDJSON, the fastest path (gRPC and REST pages are measured in
/// `cargo bench --bench exports`): each exactly once, memory flat meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_line_items_come_out_exactly_once_as_ndjson() {
    let app = TestApp::spawn().await;
    let token = token(&app);
    app.graph.set_settings(quick(&GraphSettings::default()));
    let id = start_ok(&app, &token, json!({"kind": "billedReconciliation", "invoiceId": MILLION_ITEM_INVOICE})).await;
    let started = Instant::now();
    let mut response = app.get(&format!("/v1/billing/exports/{id}/line-items.ndjson"), &token).await;
    assert_eq!(response.status(), 200);
    let mut seen: HashSet<u64> = HashSet::with_capacity(1_000_000);
    let mut partial: Vec<u8> = Vec::new();
    let mut lines = 0u64;
    let marker = memchr::memmem::Finder::new(b"\"referenceId\":\"");
    while let Some(chunk) = response.chunk().await.expect("chunk") {
        partial.extend_from_slice(&chunk);
        let mut start = 0;
        while let Some(end) = memchr::memchr(b'\n', &partial[start..]) {
            let line = &partial[start..start + end];
            let at = marker.find(line).expect("referenceId") + marker.needle().len();
            let value_end = memchr::memchr(b'"', &line[at..]).expect("closing quote");
            assert!(seen.insert(fnv(&line[at..at + value_end])), "a duplicate at line {lines}");
            lines += 1;
            start += end + 1;
        }
        partial.drain(..start);
    }
    assert!(partial.is_empty());
    assert_eq!(lines, 1_000_000);
    eprintln!("1,000,000 line items as NDJSON in {:?}", started.elapsed());
    let (_, export) = app.get_json(&format!("/v1/billing/exports/{id}"), &token).await;
    assert_eq!(export["rowCount"], 1_000_000);
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |hash, b| (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// A client that stops reading stops the download: the gateway holds no blob, it pulls from
/// storage only as fast as the stream is read (HTTP/2 and TCP flow control push back).
#[tokio::test]
async fn a_stalled_stream_reader_stalls_the_download() {
    let app = TestApp::spawn().await;
    let token = token(&app);
    app.graph.set_settings(quick(&GraphSettings::default()));
    let id = start_ok(&app, &token, json!({"kind": "billedReconciliation", "invoiceId": MILLION_ITEM_INVOICE})).await;
    let mut stream = grpc(&app)
        .await
        .stream_billing_export_line_items(authed(pb::StreamBillingExportLineItemsRequest { export_id: id }, &token))
        .await
        .expect("stream")
        .into_inner();
    stream.next().await.expect("first item").expect("ok");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let stalled = app.graph.counters();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let later = app.graph.counters();
    // The first file holds about 200,000 items (tens of MB inflated): had the gateway read it
    // whole, it would have completed.
    assert_eq!((stalled.blobs_started, stalled.blobs_completed), (1, 0), "{stalled:?}");
    assert_eq!((later.blobs_started, later.blobs_completed), (1, 0), "nothing more while the reader waits");
    for _ in 0..5_000 {
        stream.next().await.expect("item").expect("ok");
    }
}
