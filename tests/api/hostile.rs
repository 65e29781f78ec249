//! One caller, or an unauthenticated socket, must not be able to deny service to the other
//! callers of a partner (issue 17's attack run, each finding as a test).

use std::time::Duration;

use partner_center_gateway::{auth::Permission, grpc::pb};
use partner_center_simulator::{FaultKind, FaultRule};
use tonic::Code;

use crate::helpers::{FABRIKAM, TestApp, authed};

/// A caller's own short deadline is its business: its timeouts never open the partner's circuit.
#[tokio::test]
async fn a_callers_own_deadline_never_opens_the_partners_circuit() {
    let app = TestApp::spawn_with(|settings| {
        settings.partner_center.circuit_breaker.failure_threshold = 3;
        settings.partner_center.circuit_breaker.open_for = Duration::from_secs(60);
    })
    .await;
    let attacker = app.token(&[FABRIKAM], &[Permission::CustomersRead]);
    let victim = app.token(&["*"], &[Permission::CustomersRead]);
    // Partner Center answers in 200 ms; the attacker gives each call 45 ms.
    app.sim.inject(FaultRule::new(FaultKind::Delay { delay_ms: 200 }).on("GET", "/v1/customers/").times(20));
    let mut customers = app.customers_client().await;
    for _ in 0..10 {
        let mut request = authed(pb::GetCustomerRequest { customer_id: FABRIKAM.into() }, &attacker);
        request.set_timeout(Duration::from_millis(45));
        let status = customers.get_customer(request).await.expect_err("deadline");
        assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    }
    app.sim.clear_faults();
    let (status, problem) = app.get_json(&format!("/v1/customers/{FABRIKAM}"), &victim).await;
    assert_eq!(status, 200, "the circuit stayed closed: {problem}");
}
