//! `MS-RequestId` replay. Partner Center: a call that timed out is retried with the same
//! `MS-RequestId` and must not be processed twice. For POST, PUT and PATCH with that header the
//! simulator remembers (partner tenant, MS-RequestId, method, path) → the completed response
//! (status, headers such as `Location`, body) and answers a repeat with it instead of processing
//! again. A repeat that arrives while the first is still being processed waits for it.
//!
//! 5xx and 429 answers are not remembered: retrying those with the same id is what a client is
//! told to do. Entries are forgotten a day (simulated clock) after they were written.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, SystemTime},
};

use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderMap, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tokio::sync::watch;

use super::{SimState, aad::PartnerTenant, wire};

/// How long a response is kept for replays.
const KEEP_FOR: Duration = Duration::from_secs(24 * 3600);
/// Simulator answers are small; anything larger is not buffered for replay.
const MAX_BODY: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    partner_tenant: String,
    request_id: String,
    method: Method,
    path: String,
}

#[derive(Clone)]
struct Stored {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    at: SystemTime,
}

impl Stored {
    fn to_response(&self) -> Response {
        let mut response = Response::new(Body::from(self.body.clone()));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        response
    }
}

enum Entry {
    /// Being processed; the receiver sees its sender dropped when the first attempt is over.
    InFlight(watch::Receiver<()>),
    Done(Stored),
}

#[derive(Default)]
pub struct IdempotencyState {
    entries: HashMap<Key, Entry>,
}

impl IdempotencyState {
    fn forget_old(&mut self, now: SystemTime) {
        self.entries.retain(|_, entry| match entry {
            Entry::InFlight(_) => true,
            Entry::Done(stored) => stored.at.checked_add(KEEP_FOR).is_some_and(|until| until > now),
        });
    }
}

/// Removes the in-flight mark when the first attempt ends without a stored answer (including
/// when its future is dropped because the client went away); dropping the sender wakes waiters.
struct InFlightGuard {
    state: Arc<SimState>,
    key: Option<Key>,
    _done: watch::Sender<()>,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut inner = self.state.lock();
            if matches!(inner.idempotency.entries.get(&key), Some(Entry::InFlight(_))) {
                inner.idempotency.entries.remove(&key);
            }
        }
    }
}

/// The middleware (inside the token check, which provides [`PartnerTenant`]).
pub async fn replay(State(state): State<Arc<SimState>>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    if !matches!(method, Method::POST | Method::PUT | Method::PATCH) {
        return next.run(request).await;
    }
    let request_id = request
        .headers()
        .get("MS-RequestId")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty());
    let (Some(request_id), Some(partner)) = (request_id, request.extensions().get::<PartnerTenant>()) else {
        return next.run(request).await;
    };
    let key = Key {
        partner_tenant: partner.tenant_id.to_ascii_lowercase(),
        request_id,
        method,
        path: request.uri().path().to_owned(),
    };
    let sender = loop {
        let waiting = {
            let now = state.now();
            let mut inner = state.lock();
            inner.idempotency.forget_old(now);
            match inner.idempotency.entries.get(&key) {
                Some(Entry::Done(stored)) => return stored.to_response(),
                Some(Entry::InFlight(receiver)) => receiver.clone(),
                None => {
                    let (sender, receiver) = watch::channel(());
                    inner.idempotency.entries.insert(key.clone(), Entry::InFlight(receiver));
                    break sender;
                }
            }
        };
        let mut waiting = waiting;
        // Returns once the first attempt's sender is gone; then look again.
        while waiting.changed().await.is_ok() {}
    };
    let mut guard = InFlightGuard { state: state.clone(), key: Some(key.clone()), _done: sender };
    let response = next.run(request).await;
    let (parts, body) = response.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return wire::error(StatusCode::INTERNAL_SERVER_ERROR, 800003, "The response could not be produced.");
    };
    let status = parts.status;
    if !(status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS) {
        let stored = Stored { status, headers: parts.headers.clone(), body: body.clone(), at: state.now() };
        state.lock().idempotency.entries.insert(key, Entry::Done(stored));
        guard.key = None;
    }
    drop(guard);
    Response::from_parts(parts, Body::from(body)).into_response()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use reqwest::Method;
    use serde_json::{Value, json};

    use crate::{
        FaultKind, FaultRule, SimulatorConfig,
        common::test_support::*,
        seed::{self, CUSTOMER_FABRIKAM, CUSTOMER_LITWARE, CUSTOMER_WINGTIP},
        testing::TestSim,
    };

    async fn checkout_with_id(sim: &TestSim, token: &str, customer: &str, cart_id: &str, request_id: &str) -> Reply {
        let path = format!("/v1/customers/{customer}/carts/{cart_id}/checkout");
        call(sim, Method::POST, &path, token, None, &[("MS-RequestId", request_id)]).await
    }

    fn order_ids(checkout: &Value) -> Vec<String> {
        checkout["orders"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o["id"].as_str())
            .map(str::to_owned)
            .collect()
    }

    #[tokio::test]
    async fn a_checkout_repeated_with_the_same_request_id_is_replayed_not_repeated() {
        let sim = TestSim::start().await;
        let token = sim.app_token().await;
        let cart = create_cart(&sim, &token, CUSTOMER_FABRIKAM, vec![azure_plan_line()]).await;
        let cart_id = cart["id"].as_str().expect("cart id");
        let request_id = uuid::Uuid::new_v4().to_string();
        let first = checkout_with_id(&sim, &token, CUSTOMER_FABRIKAM, cart_id, &request_id).await;
        assert_eq!(first.status, 201);
        // Later, even after the order completed, the replay is the original answer.
        sim.handle.state().advance_clock(Duration::from_secs(10));
        let again = checkout_with_id(&sim, &token, CUSTOMER_FABRIKAM, cart_id, &request_id.to_uppercase()).await;
        assert_eq!(again.status, 201);
        assert_eq!(again.body, first.body);
        assert_eq!(sim.handle.state().orders_of(CUSTOMER_FABRIKAM).len(), 1);
        // Another request id: checkout itself is idempotent, so the first result again.
        let fresh = checkout_with_id(&sim, &token, CUSTOMER_FABRIKAM, cart_id, &uuid::Uuid::new_v4().to_string()).await;
        assert_eq!((fresh.status, &fresh.body), (201, &first.body));
        // Business failures are replayed too: the client must use a new id after any answer.
        let failed_id = uuid::Uuid::new_v4().to_string();
        let unknown_cart = uuid::Uuid::new_v4().to_string();
        let failed = checkout_with_id(&sim, &token, CUSTOMER_FABRIKAM, &unknown_cart, &failed_id).await;
        assert_eq!(failed.error(), (404, Some(800008)));
        assert_eq!(
            checkout_with_id(&sim, &token, CUSTOMER_FABRIKAM, &unknown_cart, &failed_id).await.body,
            failed.body
        );
    }

    #[tokio::test]
    async fn a_checkout_that_timed_out_after_commit_and_is_retried_yields_exactly_one_order() {
        let sim = TestSim::start().await;
        let token = sim.app_token().await;
        let cart = create_cart(&sim, &token, CUSTOMER_FABRIKAM, vec![azure_plan_line()]).await;
        let cart_id = cart["id"].as_str().expect("cart id");
        let path = format!("/v1/customers/{CUSTOMER_FABRIKAM}/carts/{cart_id}/checkout");
        sim.handle.state().inject(FaultRule::new(FaultKind::DropAfterProcessing).on("POST", &path).times(1));
        let request_id = uuid::Uuid::new_v4().to_string();
        let lost = async {
            let response =
                sim.http.post(sim.url(&path)).bearer_auth(&token).header("MS-RequestId", &request_id).send().await?;
            response.bytes().await
        }
        .await;
        assert!(lost.is_err(), "the first answer never arrives whole");
        assert_eq!(sim.handle.state().orders_of(CUSTOMER_FABRIKAM).len(), 1, "but the order was placed");

        let retried = checkout_with_id(&sim, &token, CUSTOMER_FABRIKAM, cart_id, &request_id).await;
        assert_eq!(retried.status, 201);
        let orders = sim.handle.state().orders_of(CUSTOMER_FABRIKAM);
        assert_eq!(orders.len(), 1);
        assert_eq!(order_ids(&retried.body), [orders[0]["id"].as_str().expect("id").to_owned()]);
    }

    #[tokio::test]
    async fn a_repeat_that_arrives_during_processing_waits_for_the_first_answer() {
        let config =
            SimulatorConfig { checkout_processing_time: Duration::from_millis(300), ..SimulatorConfig::default() };
        let sim = TestSim::start_with(config).await;
        let token = sim.app_token().await;
        let cart = create_cart(&sim, &token, CUSTOMER_FABRIKAM, vec![azure_plan_line()]).await;
        let cart_id = cart["id"].as_str().expect("cart id");
        let request_id = uuid::Uuid::new_v4().to_string();
        let (first, second) =
            tokio::join!(checkout_with_id(&sim, &token, CUSTOMER_FABRIKAM, cart_id, &request_id), async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                checkout_with_id(&sim, &token, CUSTOMER_FABRIKAM, cart_id, &request_id).await
            });
        assert_eq!((first.status, second.status), (201, 201));
        assert_eq!(first.body, second.body);
        assert_eq!(sim.handle.state().orders_of(CUSTOMER_FABRIKAM).len(), 1);
    }

    #[tokio::test]
    async fn a_replayed_product_upgrade_keeps_its_location() {
        let sim = TestSim::start().await;
        let user = sim.user_token().await;
        let body = json!({ "customerId": CUSTOMER_LITWARE, "productFamily": "Azure" });
        let headers = [("MS-RequestId", "3f0b2d36-5d1c-4a5e-9f55-6a1f0c3f2b10")];
        let first = call(&sim, Method::POST, "/v1/productupgrades", &user, Some(&body), &headers).await;
        let again = call(&sim, Method::POST, "/v1/productupgrades", &user, Some(&body), &headers).await;
        assert_eq!((first.status, again.status), (202, 202));
        assert!(first.headers.get("location").is_some());
        assert_eq!(first.headers.get("location"), again.headers.get("location"));
        assert_eq!(sim.handle.state().lock().upgrades.upgrades.len(), 1);
        let other = call(&sim, Method::POST, "/v1/productupgrades", &user, Some(&body), &[]).await;
        assert_eq!(other.error(), (409, Some(900109)));
    }

    #[tokio::test]
    async fn replays_are_per_partner_method_and_path() {
        let sim = TestSim::start().await;
        let token = sim.app_token().await;
        let headers = [("MS-RequestId", "9d1e0c55-5b8f-4c1e-8f0e-2b6d3a1c4e77")];
        let lines = json!({ "lineItems": [azure_plan_line()] });
        let carts = |customer: &str| format!("/v1/customers/{customer}/carts");
        let fabrikam = call(&sim, Method::POST, &carts(CUSTOMER_FABRIKAM), &token, Some(&lines), &headers).await;
        let wingtip = call(&sim, Method::POST, &carts(CUSTOMER_WINGTIP), &token, Some(&lines), &headers).await;
        assert_eq!((fabrikam.status, wingtip.status), (201, 201));
        assert_ne!(fabrikam.body["id"], wingtip.body["id"]);
        let cart_id = fabrikam.body["id"].as_str().expect("cart id");
        let put =
            call(&sim, Method::PUT, &format!("{}/{cart_id}", carts(CUSTOMER_FABRIKAM)), &token, Some(&lines), &headers)
                .await;
        assert_eq!(put.status, 201);

        // Northwind sending the same id to the same path is not answered with Contoso's cart.
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", seed::NORTHWIND_CLIENT_ID),
            ("client_secret", seed::NORTHWIND_CLIENT_SECRET),
            ("resource", "https://api.partnercenter.microsoft.com"),
        ];
        let northwind: Value = sim
            .http
            .post(sim.url(&format!("{}/oauth2/token", seed::NORTHWIND_TENANT_ID)))
            .form(&form)
            .send()
            .await
            .expect("token")
            .json()
            .await
            .expect("token json");
        let northwind = northwind["access_token"].as_str().expect("access token");
        let foreign = call(&sim, Method::POST, &carts(CUSTOMER_FABRIKAM), northwind, Some(&lines), &headers).await;
        assert_eq!(foreign.error(), (404, Some(60003)));
    }
}
