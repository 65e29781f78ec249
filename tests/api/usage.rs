//! Usage, summaries and spending budgets over REST and gRPC.

use std::collections::HashSet;

use futures::StreamExt;
use partner_center_gateway::{
    auth::Permission,
    config::PartnerSettings,
    grpc::pb::{self, usage_service_client::UsageServiceClient},
};
use partner_center_simulator::seed;

use serde_json::json;
use tonic::Code;

use crate::helpers::{FABRIKAM, LITWARE, TestApp, authed};

const PLAN: &str = seed::FABRIKAM_AZURE_PLAN;

async fn client(app: &TestApp) -> UsageServiceClient<tonic::transport::Channel> {
    UsageServiceClient::new(app.channel().await)
}

#[tokio::test]
async fn partner_wide_usage_needs_the_star_scope() {
    let app = TestApp::spawn().await;
    let all = app.token(&["*"], &[Permission::UsageRead]);
    let (status, summary) = app.get_json("/v1/usage/summary", &all).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["partnerId"], seed::CONTOSO_TENANT_ID);
    assert!(summary["totalCost"].as_str().is_some_and(|c| c.parse::<f64>().is_ok()), "decimal string: {summary}");

    let records = app.all_pages("/v1/usage/customers", &all, 40).await;
    let ids: HashSet<&str> = records.iter().filter_map(|r| r["customerId"].as_str()).collect();
    assert_eq!(ids.len(), records.len(), "every customer once");
    let fabrikam = records.iter().find(|r| r["customerId"] == FABRIKAM).expect("Fabrikam");
    assert_eq!(fabrikam["isUpgraded"], true);
    assert_eq!(fabrikam["currencyCode"], "USD");
    let litware = records.iter().find(|r| r["customerId"] == LITWARE).expect("Litware");
    assert_eq!(litware["isUpgraded"], false);
    assert!(litware.get("currencyLocale").is_some());

    let grpc = client(&app)
        .await
        .list_customer_usage_records(authed(
            pb::ListCustomerUsageRecordsRequest { page_size: 5, page_token: String::new() },
            &all,
        ))
        .await
        .expect("grpc")
        .into_inner();
    assert_eq!(grpc.records.len(), 5);
    assert!(!grpc.next_page_token.is_empty());

    // A caller scoped to some customers never sees partner-wide usage.
    let scoped = app.token(&[FABRIKAM], &[Permission::UsageRead]);
    for path in ["/v1/usage/summary", "/v1/usage/customers"] {
        let (status, problem) = app.get_json(path, &scoped).await;
        assert_eq!(status, 403, "{path}");
        assert_eq!(problem["reason"], "PARTNER_WIDE_ACCESS_REQUIRED");
    }
    let status = client(&app)
        .await
        .get_partner_usage_summary(authed(pb::GetPartnerUsageSummaryRequest {}, &scoped))
        .await
        .expect_err("scoped");
    assert_eq!(status.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn customer_and_subscription_usage_over_both_transports() {
    let app = TestApp::spawn().await;
    let token = app.token(&[FABRIKAM, LITWARE], &[Permission::UsageRead]);
    let mut grpc = client(&app).await;

    let (status, summary) = app.get_json(&format!("/v1/customers/{FABRIKAM}/usage/summary"), &token).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["customerName"], seed::NAME_FABRIKAM);
    let grpc_summary = grpc
        .get_customer_usage_summary(authed(pb::GetCustomerUsageSummaryRequest { customer_id: FABRIKAM.into() }, &token))
        .await
        .expect("summary")
        .into_inner();
    assert_eq!(grpc_summary.total_cost, summary["totalCost"].as_str().unwrap_or_default(), "the same exact digits");

    let (status, subscriptions) = app.get_json(&format!("/v1/customers/{FABRIKAM}/usage/subscriptions"), &token).await;
    assert_eq!(status, 200);
    assert_eq!(subscriptions["items"][0]["subscriptionId"], PLAN);
    let grpc_records = grpc
        .list_subscription_usage_records(authed(
            pb::ListSubscriptionUsageRecordsRequest { customer_id: FABRIKAM.into(), ..Default::default() },
            &token,
        ))
        .await
        .expect("records")
        .into_inner();
    assert_eq!(grpc_records.records[0].subscription_id, PLAN);

    let (status, plan_summary) =
        app.get_json(&format!("/v1/customers/{FABRIKAM}/subscriptions/{PLAN}/usage/summary"), &token).await;
    assert_eq!(status, 200, "{plan_summary}");
    let grpc_plan = grpc
        .get_subscription_usage_summary(authed(
            pb::GetSubscriptionUsageSummaryRequest { customer_id: FABRIKAM.into(), subscription_id: PLAN.into() },
            &token,
        ))
        .await
        .expect("plan summary")
        .into_inner();
    assert_eq!(grpc_plan.total_cost, plan_summary["totalCost"].as_str().unwrap_or_default());

    // MS-AZR-0145P: monthly records per resource type.
    let legacy = seed::LITWARE_0145P_SUBSCRIPTION;
    let monthly =
        app.all_pages(&format!("/v1/customers/{LITWARE}/subscriptions/{legacy}/usage/monthly"), &token, 50).await;
    assert!(!monthly.is_empty());
    assert!(monthly[0]["quantityUsed"].is_string());
    let grpc_monthly = grpc
        .list_monthly_usage_records(authed(
            pb::ListMonthlyUsageRecordsRequest {
                customer_id: LITWARE.into(),
                subscription_id: legacy.into(),
                page_size: 1000,
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect("monthly")
        .into_inner();
    assert_eq!(grpc_monthly.records.len(), monthly.len());

    // Azure plan: resources and meters, paged over REST and streamed over gRPC, the same items.
    let resources =
        app.all_pages(&format!("/v1/customers/{FABRIKAM}/subscriptions/{PLAN}/usage/resources"), &token, 60).await;
    let uris: HashSet<&str> = resources.iter().filter_map(|r| r["resourceUri"].as_str()).collect();
    assert_eq!(uris.len(), resources.len());
    assert!(resources.len() > 100, "enough to page: {}", resources.len());
    let mut stream = grpc
        .stream_resource_usage_records(authed(
            pb::StreamResourceUsageRecordsRequest { customer_id: FABRIKAM.into(), subscription_id: PLAN.into() },
            &token,
        ))
        .await
        .expect("stream")
        .into_inner();
    let mut streamed = HashSet::new();
    while let Some(record) = stream.next().await {
        streamed.insert(record.expect("record").resource_uri);
    }
    assert_eq!(streamed.len(), uris.len());

    let meters =
        app.all_pages(&format!("/v1/customers/{FABRIKAM}/subscriptions/{PLAN}/usage/meters"), &token, 1000).await;
    let mut stream = grpc
        .stream_meter_usage_records(authed(
            pb::StreamMeterUsageRecordsRequest { customer_id: FABRIKAM.into(), subscription_id: PLAN.into() },
            &token,
        ))
        .await
        .expect("stream")
        .into_inner();
    let mut count = 0;
    while let Some(record) = stream.next().await {
        assert!(!record.expect("record").meter_id.is_empty());
        count += 1;
    }
    assert_eq!(count, meters.len());
    let page = grpc
        .list_meter_usage_records(authed(
            pb::ListMeterUsageRecordsRequest {
                customer_id: FABRIKAM.into(),
                subscription_id: PLAN.into(),
                page_size: 7,
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect("meters")
        .into_inner();
    assert_eq!(page.records.len(), 7);
    let page = grpc
        .list_resource_usage_records(authed(
            pb::ListResourceUsageRecordsRequest {
                customer_id: FABRIKAM.into(),
                subscription_id: PLAN.into(),
                page_size: 3,
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect("resources")
        .into_inner();
    assert_eq!(page.records.len(), 3);

    // A subscription the customer does not have.
    let (status, _) = app
        .get_json(
            &format!("/v1/customers/{FABRIKAM}/subscriptions/7d4e0a1b-5d2f-4e6a-8b9c-0d1e2f3a4b5c/usage/summary"),
            &token,
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_plan_bought_through_the_gateway_starts_with_no_usage_and_accrues_it() {
    let app = TestApp::spawn().await;
    let token = app.token(&[crate::helpers::WINGTIP], &Permission::ALL);
    let (status, plan) = app.create_azure_plan(crate::helpers::WINGTIP, "wingtip-usage", &token).await;
    assert_eq!(status, 201, "{plan}");
    app.sim.advance_clock(std::time::Duration::from_secs(10));
    let (_, plan) = app.create_azure_plan(crate::helpers::WINGTIP, "wingtip-usage", &token).await;
    let subscription = plan["subscriptionId"].as_str().expect("provisioned").to_owned();
    let path = format!("/v1/customers/{}/subscriptions/{subscription}/usage/summary", crate::helpers::WINGTIP);
    let (status, summary) = app.get_json(&path, &token).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["totalCost"], "0.0", "a plan bought today has no usage yet");
    app.sim.advance_clock(std::time::Duration::from_secs(3 * 24 * 3600));
    let token = app.token(&[crate::helpers::WINGTIP], &Permission::ALL);
    let (status, later) = app.get_json(&path, &token).await;
    assert_eq!(status, 200, "{later}");
    let total: f64 = later["totalCost"].as_str().and_then(|t| t.parse().ok()).expect("decimal string");
    assert!(total > 0.0, "usage accrues day by day: {later}");
}

#[tokio::test]
async fn the_spending_budget_is_read_set_validated_and_removed() {
    let app = TestApp::spawn().await;
    let token = app.token(&[FABRIKAM], &[Permission::UsageRead, Permission::BudgetWrite]);
    let path = format!("/v1/customers/{FABRIKAM}/usage/budget");
    let (status, budget) = app.get_json(&path, &token).await;
    assert_eq!(status, 200, "{budget}");
    assert_eq!(budget["amount"], "5000");

    let (status, updated) =
        app.send_json(reqwest::Method::PATCH, &path, &token, Some(json!({ "amount": 1500.50 }))).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["amount"], "1500.5");
    let (_, again) = app.get_json(&path, &token).await;
    assert_eq!(again["amount"], "1500.5");

    for bad in
        [json!({ "amount": -1 }), json!({ "amount": "12.345" }), json!({ "amount": "lots" }), json!({ "amount": true })]
    {
        let (status, problem) = app.send_json(reqwest::Method::PATCH, &path, &token, Some(bad.clone())).await;
        assert_eq!(status, 400, "{bad}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "amount", "{bad}");
    }

    let mut grpc = client(&app).await;
    let status = grpc
        .update_spending_budget(authed(
            pb::UpdateSpendingBudgetRequest { customer_id: FABRIKAM.into(), amount: Some("-5".into()) },
            &token,
        ))
        .await
        .expect_err("negative");
    assert_eq!(status.code(), Code::InvalidArgument);
    let set = grpc
        .update_spending_budget(authed(
            pb::UpdateSpendingBudgetRequest { customer_id: FABRIKAM.into(), amount: Some("250".into()) },
            &token,
        ))
        .await
        .expect("set")
        .into_inner();
    assert_eq!(set.amount.as_deref(), Some("250"));
    let read = grpc
        .get_spending_budget(authed(pb::GetSpendingBudgetRequest { customer_id: FABRIKAM.into() }, &token))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(read.amount.as_deref(), Some("250"));

    let (status, removed) = app.send_json(reqwest::Method::PATCH, &path, &token, Some(json!({ "amount": null }))).await;
    assert_eq!(status, 200, "{removed}");
    assert!(removed.get("amount").is_none());

    let read_only = app.token(&[FABRIKAM], &[Permission::UsageRead]);
    let (status, problem) =
        app.send_json(reqwest::Method::PATCH, &path, &read_only, Some(json!({ "amount": 1 }))).await;
    assert_eq!(status, 403);
    assert!(problem["detail"].as_str().unwrap_or_default().contains("budget.write"));
}

#[tokio::test]
async fn app_user_operations_without_a_refresh_token_name_the_missing_setting() {
    let app = TestApp::spawn_with(|settings| {
        let contoso = &seed::PARTNERS[0];
        settings.partner_center.partners = vec![PartnerSettings {
            id: contoso.id.to_owned(),
            tenant_id: contoso.tenant_id.parse().expect("tenant"),
            client_id: contoso.client_id.to_owned(),
            client_secret: Some(secrecy::SecretString::from(contoso.client_secret.to_owned())),
            client_secret_file: None,
            refresh_token: None,
            refresh_token_file: None,
        }];
    })
    .await;
    let token = app.token(&["*"], &Permission::ALL);
    let (status, problem) = app.get_json(&format!("/v1/customers/{FABRIKAM}/usage/summary"), &token).await;
    assert_eq!(status, 501, "{problem}");
    assert_eq!(problem["reason"], "APP_USER_FLOW_NOT_CONFIGURED");
    assert!(problem["detail"].as_str().unwrap_or_default().contains("refresh_token"));
    let status = client(&app)
        .await
        .get_customer_usage_summary(authed(pb::GetCustomerUsageSummaryRequest { customer_id: FABRIKAM.into() }, &token))
        .await
        .expect_err("not configured");
    assert_eq!(status.code(), Code::FailedPrecondition);

    // App-only operations still work.
    let (status, _) = app.get_json(&format!("/v1/customers/{FABRIKAM}/usage/budget"), &token).await;
    assert_eq!(status, 200);
    assert_eq!(app.counters().token_requests.get("refresh_token"), None);
}
