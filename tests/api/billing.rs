//! Invoices, statements and reconciliation line items over REST and gRPC, including the
//! 100,000-item invoice walked through REST pages and through the gRPC stream.

use std::{collections::HashSet, time::Duration};

use futures::StreamExt;
use partner_center_gateway::{
    auth::Permission,
    grpc::pb::{self, billing_service_client::BillingServiceClient},
};
use partner_center_simulator::billing_data;

use tonic::Code;

use crate::helpers::{FABRIKAM, TestApp, authed};

const LARGE: &str = billing_data::INVOICE_LARGE;

async fn client(app: &TestApp) -> BillingServiceClient<tonic::transport::Channel> {
    BillingServiceClient::new(app.channel().await).max_decoding_message_size(64 * 1024 * 1024)
}

fn invoices_token(app: &TestApp) -> String {
    app.token(&["*"], &[Permission::InvoicesRead])
}

#[tokio::test]
async fn invoices_summaries_estimates_and_one_invoice_over_both_transports() {
    let app = TestApp::spawn().await;
    let token = invoices_token(&app);
    let mut ids = Vec::new();
    let mut path = "/v1/invoices?pageSize=2".to_owned();
    loop {
        let (status, page) = app.get_json(&path, &token).await;
        assert_eq!(status, 200, "{page}");
        ids.extend(page["items"].as_array().expect("items").iter().filter_map(|i| i["id"].as_str().map(str::to_owned)));
        match page["nextPageToken"].as_str() {
            Some(next) => path = format!("/v1/invoices?pageSize=2&pageToken={next}"),
            None => break,
        }
    }
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());
    assert!(ids.iter().any(|i| i == billing_data::INVOICE_RECURRING) && ids.iter().any(|i| i == LARGE), "{ids:?}");

    let mut grpc = client(&app).await;
    let listed = grpc
        .list_invoices(authed(pb::ListInvoicesRequest { page_size: 100, page_token: String::new() }, &token))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.invoices.len(), ids.len());

    let (status, invoice) = app.get_json(&format!("/v1/invoices/{}", billing_data::INVOICE_RECURRING), &token).await;
    assert_eq!(status, 200, "{invoice}");
    assert!(invoice["totalCharges"].is_string());
    assert_eq!(invoice["amendments"][0]["documentType"], "adjustment_note");
    let grpc_invoice = grpc
        .get_invoice(authed(pb::GetInvoiceRequest { invoice_id: billing_data::INVOICE_RECURRING.into() }, &token))
        .await
        .expect("invoice")
        .into_inner();
    assert_eq!(grpc_invoice.total_charges, invoice["totalCharges"].as_str().unwrap_or_default());
    let (status, _) = app.get_json("/v1/invoices/D0NOSUCHINV", &token).await;
    assert_eq!(status, 404);

    let (status, summaries) = app.get_json("/v1/invoices/summaries", &token).await;
    assert_eq!(status, 200);
    let currencies: Vec<&str> =
        summaries["items"].as_array().expect("items").iter().filter_map(|s| s["currencyCode"].as_str()).collect();
    assert!(currencies.contains(&"USD"), "{currencies:?}");
    let grpc_summaries = grpc
        .list_invoice_summaries(authed(pb::ListInvoiceSummariesRequest {}, &token))
        .await
        .expect("summaries")
        .into_inner();
    assert_eq!(grpc_summaries.summaries.len(), currencies.len());

    let (status, links) = app.get_json("/v1/invoices/estimate-links?currencyCode=usd", &token).await;
    assert_eq!(status, 200, "{links}");
    let links = links["items"].as_array().expect("items").clone();
    assert_eq!(links.len(), 4);
    for link in &links {
        // Each estimate link is this gateway's own query, ready to follow.
        let href = link["href"].as_str().expect("href");
        let (status, page) = app.get_json(&format!("{href}&pageSize=5"), &token).await;
        if link["provider"] == "onetime" && link["lineItemType"] == "usage_line_items" {
            // New-commerce unbilled usage moved to the billing exports: the 409 names the kind.
            assert_eq!((status, page["reason"].as_str()), (409, Some("MOVED_TO_BILLING_EXPORTS")), "{href}: {page}");
        } else {
            assert_eq!(status, 200, "{href}: {page}");
        }
    }
    let grpc_links = grpc
        .list_invoice_estimate_links(authed(
            pb::ListInvoiceEstimateLinksRequest { currency_code: "USD".into() },
            &token,
        ))
        .await
        .expect("links")
        .into_inner();
    assert_eq!(grpc_links.links.len(), 4);
    let (status, problem) = app.get_json("/v1/invoices/estimate-links?currencyCode=dollars", &token).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (400, Some("currencyCode")));
}

#[tokio::test]
async fn the_statement_pdf_streams_through_with_its_headers() {
    let app = TestApp::spawn().await;
    let token = invoices_token(&app);
    let response = app.get(&format!("/v1/invoices/{}/statement", billing_data::INVOICE_RECURRING), &token).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let disposition = response.headers()["content-disposition"].to_str().unwrap_or_default().to_owned();
    assert_eq!(disposition, format!("attachment; filename=\"Invoice_{}.pdf\"", billing_data::INVOICE_RECURRING));
    let pdf = response.bytes().await.expect("pdf");
    assert!(pdf.starts_with(b"%PDF-") && pdf.trim_ascii_end().ends_with(b"%%EOF"));

    let mut chunks = client(&app)
        .await
        .get_invoice_statement(authed(
            pb::GetInvoiceStatementRequest { invoice_id: billing_data::INVOICE_RECURRING.into() },
            &token,
        ))
        .await
        .expect("statement")
        .into_inner();
    let mut received = Vec::new();
    let mut first = true;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.expect("chunk");
        if first {
            assert_eq!(chunk.content_type, "application/pdf");
            assert_eq!(chunk.file_name, format!("Invoice_{}.pdf", billing_data::INVOICE_RECURRING));
            first = false;
        }
        received.extend_from_slice(&chunk.data);
    }
    assert_eq!(received, pdf.to_vec());
}

#[tokio::test]
async fn every_provider_and_type_combination_reads_its_line_item_kind() {
    let app = TestApp::spawn().await;
    let token = invoices_token(&app);
    let recurring = billing_data::INVOICE_RECURRING;
    let one_time = billing_data::INVOICE_ONETIME;
    let cases = [
        (
            format!("/v1/invoices/{recurring}/line-items?provider=office&type=billing_line_items"),
            "LicenseBasedLineItem",
        ),
        (format!("/v1/invoices/{recurring}/line-items?provider=azure&type=billing_line_items"), "UsageBasedLineItem"),
        (format!("/v1/invoices/{recurring}/line-items?provider=azure&type=usage_line_items"), "DailyUsageLineItem"),
        (
            format!("/v1/invoices/{one_time}/line-items?provider=onetime&type=billing_line_items&currencyCode=USD"),
            "OneTimeInvoiceLineItem",
        ),
        (
            format!(
                "/v1/invoices/{one_time}/line-items?provider=onetime&type=usage_line_items&currencyCode=USD&period=previous"
            ),
            "DailyRatedUsageLineItem",
        ),
        (
            "/v1/invoices/unbilled/line-items?provider=onetime&type=billing_line_items&currencyCode=USD&period=current"
                .to_owned(),
            "OneTimeInvoiceLineItem",
        ),
    ];
    // Unbilled new-commerce usage moved to the billing exports (tests/api/exports.rs).
    let (status, problem) = app
        .get_json(
            "/v1/invoices/unbilled/line-items?provider=onetime&type=usage_line_items&currencyCode=USD&period=previous",
            &token,
        )
        .await;
    assert_eq!((status, problem["reason"].as_str()), (409, Some("MOVED_TO_BILLING_EXPORTS")), "{problem}");
    for (path, kind) in cases {
        let (status, page) = app.get_json(&format!("{path}&pageSize=25"), &token).await;
        assert_eq!(status, 200, "{path}: {page}");
        let items = page["items"].as_array().expect("items");
        assert_eq!(items.len(), 25, "{path}");
        assert!(items.iter().all(|i| i["attributes"]["objectType"] == kind), "{path}");
        assert!(page["nextPageToken"].is_string(), "{path}");
        // The second page continues, whichever paging style Partner Center uses underneath.
        let next = page["nextPageToken"].as_str().unwrap_or_default();
        let (status, second) = app.get_json(&format!("{path}&pageSize=25&pageToken={next}"), &token).await;
        assert_eq!(status, 200, "{path}");
        assert_ne!(second["items"][0], items[0], "{path}");
    }
    for (path, field) in [
        (format!("/v1/invoices/{recurring}/line-items?provider=office&type=usage_line_items"), "type"),
        // Marketplace serves usage only (its documented estimate link reads UsageLineItems).
        (format!("/v1/invoices/{recurring}/line-items?provider=marketplace&type=billing_line_items"), "type"),
        (format!("/v1/invoices/{recurring}/line-items?provider=nowhere&type=billing_line_items"), "provider"),
        (format!("/v1/invoices/{one_time}/line-items?provider=onetime&type=usage_line_items"), "currencyCode"),
        ("/v1/invoices/unbilled/line-items?provider=azure&type=billing_line_items".to_owned(), "provider"),
        (
            "/v1/invoices/unbilled/line-items?provider=onetime&type=billing_line_items&currencyCode=USD".to_owned(),
            "period",
        ),
    ] {
        let (status, problem) = app.get_json(&path, &token).await;
        assert_eq!((status, problem["errors"][0]["field"].as_str()), (400, Some(field)), "{path}: {problem}");
    }

    let mut grpc = client(&app).await;
    let page = grpc
        .list_invoice_line_items(authed(
            pb::ListInvoiceLineItemsRequest {
                invoice_id: recurring.into(),
                provider: "office".into(),
                r#type: "billing_line_items".into(),
                page_size: 10,
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect("line items")
        .into_inner();
    assert_eq!(page.line_items.len(), 10);
    assert_eq!(page.line_items[0].kind, "LicenseBasedLineItem");
    let fields = page.line_items[0].fields.as_ref().expect("fields");
    assert!(fields.fields.contains_key("offerName") && fields.fields.contains_key("totalForCustomer"));
    let unbilled = grpc
        .list_unbilled_line_items(authed(
            pb::ListUnbilledLineItemsRequest {
                provider: "onetime".into(),
                r#type: "billing_line_items".into(),
                currency_code: "USD".into(),
                period: "current".into(),
                page_size: 3,
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect("unbilled")
        .into_inner();
    assert_eq!(unbilled.line_items[0].kind, "OneTimeInvoiceLineItem");
    let moved = grpc
        .list_unbilled_line_items(authed(
            pb::ListUnbilledLineItemsRequest {
                provider: "onetime".into(),
                r#type: "usage_line_items".into(),
                currency_code: "USD".into(),
                period: "current".into(),
                page_size: 3,
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect_err("unbilled usage moved to the exports");
    assert_eq!(moved.code(), Code::FailedPrecondition);
    let status = grpc
        .list_unbilled_line_items(authed(
            pb::ListUnbilledLineItemsRequest {
                provider: "office".into(),
                r#type: "billing_line_items".into(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect_err("office has no unbilled items");
    assert_eq!(status.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn a_hundred_thousand_line_items_through_rest_pages_each_exactly_once() {
    let app = TestApp::spawn().await;
    let token = invoices_token(&app);
    let base = format!(
        "/v1/invoices/{LARGE}/line-items?provider=onetime&type=billing_line_items&currencyCode=USD&pageSize=1000"
    );
    let mut seen = HashSet::with_capacity(100_000);
    let mut path = base.clone();
    loop {
        let (status, page) = app.get_json(&path, &token).await;
        assert_eq!(status, 200, "{page}");
        for item in page["items"].as_array().expect("items") {
            let key = item["referenceId"].as_str().expect("referenceId").to_owned();
            assert!(seen.insert(key), "an item came twice");
        }
        match page["nextPageToken"].as_str() {
            Some(next) => path = format!("{base}&pageToken={next}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 100_000);
}

#[tokio::test]
async fn a_hundred_thousand_line_items_through_the_grpc_stream_each_exactly_once() {
    let app = TestApp::spawn().await;
    let token = invoices_token(&app);
    let mut stream = client(&app)
        .await
        .stream_invoice_line_items(authed(
            pb::StreamInvoiceLineItemsRequest {
                invoice_id: LARGE.into(),
                provider: "onetime".into(),
                r#type: "usage_line_items".into(),
                currency_code: "USD".into(),
                period: String::new(),
            },
            &token,
        ))
        .await
        .expect("stream")
        .into_inner();
    let mut seen = HashSet::with_capacity(100_000);
    while let Some(item) = stream.next().await {
        let item = item.expect("item");
        assert_eq!(item.kind, "DailyRatedUsageLineItem");
        let fields = item.fields.expect("fields").fields;
        let text = |key: &str| match fields.get(key).and_then(|v| v.kind.as_ref()) {
            Some(prost_types::value::Kind::StringValue(s)) => s.clone(),
            other => format!("{other:?}"),
        };
        assert!(seen.insert((text("resourceUri"), text("meterId"), text("usageDate"))), "an item came twice");
    }
    assert_eq!(seen.len(), 100_000);
}

/// Resident set size of this process (gateway, simulator and test share it), in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[tokio::test]
async fn a_slow_stream_reader_holds_the_gateway_to_a_page_ahead() {
    let app = TestApp::spawn().await;
    let token = invoices_token(&app);
    let mut stream = client(&app)
        .await
        .stream_invoice_line_items(authed(
            pb::StreamInvoiceLineItemsRequest {
                invoice_id: LARGE.into(),
                provider: "onetime".into(),
                r#type: "billing_line_items".into(),
                currency_code: "USD".into(),
                period: String::new(),
            },
            &token,
        ))
        .await
        .expect("stream")
        .into_inner();
    let pages = |app: &TestApp| app.counters().calls_to("GET /v1/invoices/{invoice_id}/lineitems");
    stream.next().await.expect("first item").expect("ok");
    let baseline = rss();
    // The client stops reading: the gateway must stop fetching (HTTP/2 flow control pushes back).
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let fetched_while_stalled = pages(&app);
    assert!(
        fetched_while_stalled <= 3,
        "the gateway fetched {fetched_while_stalled} pages of 2000 for a stalled reader"
    );

    // A slow reader over 30,000 items: pages are fetched as it goes, memory stays flat.
    let mut peak = baseline;
    for n in 1..30_000 {
        stream.next().await.expect("item").expect("ok");
        if n % 2_000 == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            peak = peak.max(rss());
        }
    }
    let fetched = pages(&app);
    assert!((15..=18).contains(&fetched), "{fetched} pages for 30,000 items");
    let growth = peak.saturating_sub(baseline);
    assert!(growth < 64 * 1024 * 1024, "memory grew by {} MiB while streaming", growth / (1024 * 1024));
    drop(stream);
}

#[tokio::test]
async fn invoices_need_the_star_scope_and_invoices_read() {
    let app = TestApp::spawn().await;
    let scoped = app.token(&[FABRIKAM], &[Permission::InvoicesRead]);
    let no_permission = app.token(&["*"], &[Permission::UsageRead]);
    for token in [&scoped, &no_permission] {
        for path in [
            "/v1/invoices",
            "/v1/invoices/summaries",
            &format!("/v1/invoices/{LARGE}"),
            &format!("/v1/invoices/{LARGE}/statement"),
        ] {
            let (status, _) = app.get_json(path, token).await;
            assert_eq!(status, 403, "{path}");
        }
    }
    let status = client(&app)
        .await
        .stream_invoice_line_items(authed(
            pb::StreamInvoiceLineItemsRequest {
                invoice_id: LARGE.into(),
                provider: "onetime".into(),
                r#type: "billing_line_items".into(),
                currency_code: "USD".into(),
                period: String::new(),
            },
            &scoped,
        ))
        .await
        .map(|_| ())
        .expect_err("scoped");
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(app.counters().total_calls(), 0);
}
