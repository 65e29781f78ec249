//! A caller scoped to customer A never reaches customer B, over either transport, and Partner
//! Center never hears of B.

use partner_center_gateway::{auth::Permission, grpc::pb};
use tonic::Code;

use crate::helpers::{ADVENTURE_WORKS, FABRIKAM, TestApp, authed};

#[tokio::test]
async fn a_caller_scoped_to_a_gets_403_on_b_and_partner_center_sees_no_call() {
    let app = TestApp::spawn().await;
    let token = app.token(&[FABRIKAM], &Permission::ALL);

    let (status, problem) = app.get_json(&format!("/v1/customers/{ADVENTURE_WORKS}"), &token).await;
    assert_eq!(status, 403);
    assert_eq!(problem["reason"], "CUSTOMER_NOT_IN_SCOPE");
    assert!(problem["detail"].as_str().unwrap_or_default().contains(ADVENTURE_WORKS));

    let status = app
        .customers_client()
        .await
        .get_customer(authed(pb::GetCustomerRequest { customer_id: ADVENTURE_WORKS.into() }, &token))
        .await
        .expect_err("denied");
    assert_eq!(status.code(), Code::PermissionDenied);

    let counters = app.counters();
    assert_eq!(counters.calls_mentioning(ADVENTURE_WORKS), 0, "{counters:?}");
    assert_eq!(counters.total_calls(), 0);

    // The same caller reaches its own customer.
    let (status, _) = app.get_json(&format!("/v1/customers/{FABRIKAM}"), &token).await;
    assert_eq!(status, 200);
}
