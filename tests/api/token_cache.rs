//! The Azure AD token cache, observed through the simulator's token endpoint counters.

use std::time::Duration;

use partner_center_gateway::auth::Permission;
use partner_center_simulator::{FaultKind, FaultRule};

use crate::helpers::{FABRIKAM, TestApp};

#[tokio::test]
async fn a_hundred_concurrent_requests_on_a_cold_cache_make_one_token_request() {
    // The partner budget would (rightly) throttle a burst of 100 customer reads.
    let app = TestApp::spawn_with(|settings| {
        settings.partner_center.budget_per_minute = 0;
        settings.limits.max_in_flight_per_caller = 100;
        // Each read its own upstream call (each needing a token): identical reads would share one.
        settings.partner_center.coalesce_reads = false;
    })
    .await;
    let token = app.token(&["*"], &[Permission::CustomersRead]);
    let requests = (0..100).map(|_| {
        let request = app.http.get(app.url(&format!("/v1/customers/{FABRIKAM}"))).bearer_auth(&token).send();
        async move { request.await.map(|r| r.status().as_u16()) }
    });
    let statuses = futures::future::join_all(requests).await;
    assert!(statuses.iter().all(|s| matches!(s, Ok(200))), "{statuses:?}");
    let counters = app.counters();
    assert_eq!(counters.total_token_requests(), 1, "{counters:?}");
    assert_eq!(counters.token_requests.get("client_credentials"), Some(&1));
    assert_eq!(counters.calls_to("GET /v1/customers/{customer_id}"), 100);
}

#[tokio::test]
async fn a_rejected_token_is_dropped_and_the_call_retried_once_with_a_fresh_one() {
    let app = TestApp::spawn().await;
    let token = app.token(&["*"], &[Permission::CustomersRead]);
    let (status, _) = app.get_json(&format!("/v1/customers/{FABRIKAM}"), &token).await;
    assert_eq!(status, 200);
    // Partner Center stops accepting the token we hold (e.g. revoked).
    app.sim.revoke_tokens();
    let (status, body) = app.get_json(&format!("/v1/customers/{FABRIKAM}"), &token).await;
    assert_eq!(status, 200, "{body}");
    let counters = app.counters();
    assert_eq!(counters.total_token_requests(), 2, "{counters:?}");
    assert_eq!(counters.calls_to("GET /v1/customers/{customer_id}"), 3, "first call, the 401, the retry");

    // One 401 on the retry too: the caller gets a 502, not a loop.
    app.sim.inject(FaultRule::new(FaultKind::RejectToken).on("GET", "/v1/").times(2));
    let (status, problem) = app.get_json(&format!("/v1/customers/{FABRIKAM}"), &token).await;
    assert_eq!(status, 502);
    assert_eq!(problem["reason"], "UPSTREAM_REJECTED_CREDENTIALS");
}

#[tokio::test]
async fn tokens_are_renewed_ahead_of_expiry() {
    // A 2 s token: usable for its first half, then renewed before Partner Center would refuse it.
    let app = TestApp::spawn_with(|settings| settings.simulator.token_lifetime = Duration::from_secs(2)).await;
    let token = app.token(&["*"], &[Permission::CustomersRead]);
    for _ in 0..3 {
        let (status, _) = app.get_json(&format!("/v1/customers/{FABRIKAM}"), &token).await;
        assert_eq!(status, 200);
    }
    assert_eq!(app.counters().total_token_requests(), 1);
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let (status, _) = app.get_json(&format!("/v1/customers/{FABRIKAM}"), &token).await;
    assert_eq!(status, 200);
    let counters = app.counters();
    assert_eq!(counters.total_token_requests(), 2, "{counters:?}");
    // No request ever carried an expired token.
    assert_eq!(counters.calls_to("GET /v1/customers/{customer_id}"), 4);
}

#[tokio::test]
async fn the_rotated_refresh_token_is_kept_for_the_next_app_user_token() {
    // Short-lived tokens force several refresh-token redemptions; the simulated Azure AD accepts
    // only the newest refresh token, so each redemption must use the one the previous returned.
    let app = TestApp::spawn_with(|settings| settings.simulator.token_lifetime = Duration::from_secs(2)).await;
    let token = app.token(&["*"], &[Permission::UsageRead]);
    for round in 0..3 {
        let (status, body) = app.get_json(&format!("/v1/customers/{FABRIKAM}/usage/summary"), &token).await;
        assert_eq!(status, 200, "round {round}: {body}");
        tokio::time::sleep(Duration::from_millis(1_100)).await;
    }
    assert_eq!(app.counters().token_requests.get("refresh_token"), Some(&3));
}
