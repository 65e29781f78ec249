//! Product upgrades (U1–U3): a customer's Microsoft Azure (MS-AZR-0145P) subscription transitions
//! to an Azure plan. App+user only. An upgrade is `InProgress` from its creation and `Completed`
//! once [`SimulatorConfig::upgrade_duration`](super::SimulatorConfig) has passed on the simulated
//! clock: the customer then has an active Azure plan, the Azure subscriptions move under it and the
//! 0145P subscription is `deleted`. Tests reach `Pending` and `Failed` (which block purchases with
//! 409/900112 and 409/900114) through [`SimState::set_upgrade_status`].

use std::{sync::Arc, time::SystemTime};

use axum::{
    Extension, Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    SimState, SimulatorConfig,
    aad::PartnerTenant,
    common::{self, iso},
    seed,
    state::Inner,
    subscriptions::{SimSubscription, SubscriptionStatus},
    wire::PcError,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpgradeStatus {
    Pending,
    InProgress,
    Completed,
    Failed,
}

impl UpgradeStatus {
    /// The doc shows only `Completed`; the other spellings follow it.
    pub fn wire(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::InProgress => "InProgress",
            Self::Completed => "Completed",
            Self::Failed => "Failed",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        [Self::Pending, Self::InProgress, Self::Completed, Self::Failed]
            .into_iter()
            .find(|s| common::enum_key(s.wire()) == common::enum_key(value))
    }
}

#[derive(Debug, Clone)]
pub struct SimUpgrade {
    pub id: String,
    pub customer_id: String,
    pub product_family: String,
    pub status: UpgradeStatus,
    pub started: SystemTime,
    pub completed: Option<SystemTime>,
    /// The MS-AZR-0145P subscriptions being upgraded.
    pub sources: Vec<String>,
    /// The Azure plan it creates (id fixed from the start so the status can name it).
    pub target_subscription_id: String,
}

impl SimUpgrade {
    fn to_wire(&self) -> Value {
        let lines: Vec<Value> = self
            .sources
            .iter()
            .map(|source| {
                let mut line = json!({
                    "sourceProduct": { "id": source, "name": "AzureSubscription" },
                    "targetProduct": { "id": self.target_subscription_id, "name": "Microsoft Azure plan" },
                    "status": self.status.wire()
                });
                if let Some(done) = self.completed {
                    line["upgradedDate"] = json!(iso(done));
                }
                line
            })
            .collect();
        json!({ "id": self.id, "status": self.status.wire(), "productFamily": self.product_family, "lineItems": lines })
    }
}

#[derive(Default)]
pub struct UpgradeState {
    pub upgrades: Vec<SimUpgrade>,
}

impl UpgradeState {
    /// The customer's most recent upgrade.
    pub fn latest_for(&self, customer_id: &str) -> Option<&SimUpgrade> {
        self.upgrades.iter().rev().find(|u| u.customer_id.eq_ignore_ascii_case(customer_id))
    }

    /// The status of the customer's latest upgrade when it blocks purchases (pending, in progress,
    /// failed).
    pub fn blocking_status(&self, customer_id: &str) -> Option<UpgradeStatus> {
        self.latest_for(customer_id).map(|u| u.status).filter(|s| *s != UpgradeStatus::Completed)
    }

    fn completed_for(&self, customer_id: &str) -> Option<&SimUpgrade> {
        self.upgrades
            .iter()
            .find(|u| u.customer_id.eq_ignore_ascii_case(customer_id) && u.status == UpgradeStatus::Completed)
    }

    fn running_for(&self, customer_id: &str) -> Option<&SimUpgrade> {
        self.latest_for(customer_id).filter(|u| matches!(u.status, UpgradeStatus::Pending | UpgradeStatus::InProgress))
    }
}

/// Completes upgrades whose time has come.
pub fn settle(inner: &mut Inner, now: SystemTime, config: &SimulatorConfig) {
    let due: Vec<(usize, SystemTime)> = inner
        .upgrades
        .upgrades
        .iter()
        .enumerate()
        .filter(|(_, u)| u.status == UpgradeStatus::InProgress)
        .filter_map(|(index, u)| {
            let at = u.started.checked_add(config.upgrade_duration).unwrap_or(u.started);
            (now >= at).then_some((index, at))
        })
        .collect();
    for (index, at) in due {
        complete(inner, index, at);
    }
}

/// The upgrade's effects: an active Azure plan, the Azure subscriptions under it, the 0145P
/// subscription deleted (the doc only says it is no longer active; `deleted` is our choice).
fn complete(inner: &mut Inner, index: usize, at: SystemTime) {
    let Some(upgrade) = inner.upgrades.upgrades.get_mut(index) else {
        return;
    };
    upgrade.status = UpgradeStatus::Completed;
    upgrade.completed = Some(at);
    let (customer_id, target, sources) =
        (upgrade.customer_id.clone(), upgrade.target_subscription_id.clone(), upgrade.sources.clone());
    let offer = format!(
        "{}:{}:{}",
        seed::AZURE_PLAN_PRODUCT_ID,
        seed::AZURE_PLAN_SKU_ID,
        seed::AZURE_PLAN_AVAILABILITY_COMMERCIAL
    );
    let mut plan = SimSubscription::azure_plan(&customer_id, &offer, None, at);
    plan.id = target.clone();
    plan.status = SubscriptionStatus::Active;
    let subscriptions = &mut inner.subscriptions;
    subscriptions.subscriptions.push(plan);
    for source in &sources {
        if let Some(legacy) = subscriptions.get_mut(&customer_id, source) {
            legacy.status = SubscriptionStatus::Deleted;
            legacy.touch();
        }
        for entitlement in
            subscriptions.entitlements.iter_mut().filter(|e| e.subscription_id.eq_ignore_ascii_case(source))
        {
            entitlement.subscription_id = target.clone();
        }
    }
    if let Some(customer) = inner.customers.customers.iter_mut().find(|c| c.id.eq_ignore_ascii_case(&customer_id)) {
        customer.has_0145p = false;
    }
}

impl SimState {
    /// Puts an upgrade into `Pending`, `InProgress` (restarting its timer), `Failed` or `Completed`
    /// (with its effects), for tests of the purchase blocks.
    pub fn set_upgrade_status(&self, upgrade_id: &str, status: &str) -> Result<(), PcError> {
        let Some(status) = UpgradeStatus::parse(status) else {
            return Err(PcError::new(StatusCode::BAD_REQUEST, 900126, "The upgrade status could not be parsed."));
        };
        let now = self.now();
        let mut inner = self.lock_settled();
        let Some(index) = inner.upgrades.upgrades.iter().position(|u| u.id.eq_ignore_ascii_case(upgrade_id)) else {
            return Err(not_found());
        };
        match status {
            UpgradeStatus::Completed => complete(&mut inner, index, now),
            other => {
                let upgrade = &mut inner.upgrades.upgrades[index];
                upgrade.status = other;
                if other == UpgradeStatus::InProgress {
                    upgrade.started = now;
                }
            }
        }
        Ok(())
    }
}

pub fn routes() -> Router<Arc<SimState>> {
    // The pages write `productUpgrades`, their examples `productupgrades`: both are served.
    Router::new()
        .route("/v1/productUpgrades/eligibility", post(eligibility))
        .route("/v1/productupgrades/eligibility", post(eligibility))
        .route("/v1/productUpgrades", post(create))
        .route("/v1/productupgrades", post(create))
        .route("/v1/productUpgrades/{upgrade_id}/status", post(status))
        .route("/v1/productupgrades/{upgrade_id}/status", post(status))
}

fn not_found() -> PcError {
    PcError::new(StatusCode::NOT_FOUND, 900106, "No product upgrade request was found.")
}

/// A `ProductUpgradeRequest` for one of the partner's customers: (customer id, product family).
fn upgrade_request(inner: &Inner, partner: &PartnerTenant, body: &[u8]) -> Result<(String, String), PcError> {
    let body = common::parse_body(body)?;
    let Some(customer_id) = common::text(&body, "customerId") else {
        return Err(PcError::new(StatusCode::BAD_REQUEST, 800002, "The customerId is required."));
    };
    let Some(family) = common::text(&body, "productFamily") else {
        return Err(PcError::new(StatusCode::BAD_REQUEST, 800002, "The productFamily is required."));
    };
    // Only Azure is upgradable; the doc gives no code for another family, 400/800002 is our choice.
    if !family.eq_ignore_ascii_case("azure") {
        return Err(PcError::new(
            StatusCode::BAD_REQUEST,
            800002,
            format!("The product family '{family}' cannot be upgraded; use 'Azure'."),
        ));
    }
    let customer = common::customer(inner, partner, &customer_id)?;
    Ok((customer.id.clone(), family))
}

async fn eligibility(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    body: Bytes,
) -> Response {
    if let Err(e) = partner.require_app_user() {
        return e.into_response();
    }
    let inner = state.lock_settled();
    let (customer_id, family) = match upgrade_request(&inner, &partner, &body) {
        Ok(request) => request,
        Err(e) => return e.into_response(),
    };
    let legacy: Vec<&SimSubscription> = inner.subscriptions.live_legacy_azure(&customer_id).collect();
    let latest = inner.upgrades.latest_for(&customer_id);
    let (eligible, reason) = if inner.upgrades.completed_for(&customer_id).is_some() {
        (false, Some("The customer has already been upgraded to an Azure plan."))
    } else if inner.upgrades.running_for(&customer_id).is_some() {
        (false, Some("An upgrade for this product family is already in progress."))
    } else if legacy.is_empty() {
        (false, Some("The customer has no Microsoft Azure (MS-AZR-0145P) subscription to upgrade."))
    } else if legacy.iter().any(|s| s.status != SubscriptionStatus::Active) {
        (false, Some("Suspended Microsoft Azure (MS-AZR-0145P) subscriptions cannot be upgraded."))
    } else {
        (true, None)
    };
    let mut body = json!({ "customerId": customer_id, "productFamily": family, "isEligible": eligible });
    if let Some(upgrade) = latest {
        body["upgradeId"] = json!(upgrade.id);
    }
    if let Some(reason) = reason {
        body["reason"] = json!(reason);
    }
    Json(body).into_response()
}

async fn create(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    body: Bytes,
) -> Response {
    if let Err(e) = partner.require_app_user() {
        return e.into_response();
    }
    let now = state.now();
    let mut inner = state.lock_settled();
    let (customer_id, family) = match upgrade_request(&inner, &partner, &body) {
        Ok(request) => request,
        Err(e) => return e.into_response(),
    };
    if inner.upgrades.running_for(&customer_id).is_some() {
        return PcError::new(StatusCode::CONFLICT, 900109, "Another upgrade is already in progress for this customer.")
            .into_response();
    }
    if inner.upgrades.completed_for(&customer_id).is_some() {
        return PcError::new(StatusCode::BAD_REQUEST, 900110, "The upgrade has already been completed.")
            .into_response();
    }
    let legacy: Vec<&SimSubscription> = inner.subscriptions.live_legacy_azure(&customer_id).collect();
    if legacy.is_empty() {
        return PcError::new(StatusCode::FORBIDDEN, 900108, "The customer has no Azure subscriptions to upgrade.")
            .into_response();
    }
    if legacy.iter().any(|s| s.status != SubscriptionStatus::Active) {
        return PcError::new(
            StatusCode::FORBIDDEN,
            900105,
            "Suspended Azure subscriptions cannot transition to an Azure plan.",
        )
        .into_response();
    }
    let upgrade = SimUpgrade {
        id: Uuid::new_v4().to_string(),
        customer_id,
        product_family: if family.eq_ignore_ascii_case("azure") { "Azure".to_owned() } else { family },
        status: UpgradeStatus::InProgress,
        started: now,
        completed: None,
        sources: legacy.iter().map(|s| s.id.clone()).collect(),
        target_subscription_id: Uuid::new_v4().to_string(),
    };
    let location = format!("productUpgrades/{}", upgrade.id);
    inner.upgrades.upgrades.push(upgrade);
    drop(inner);
    // 202, empty body, the upgrade id in `Location`.
    let mut response = StatusCode::ACCEPTED.into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    response
}

async fn status(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    Path(upgrade_id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(e) = partner.require_app_user() {
        return e.into_response();
    }
    let inner = state.lock_settled();
    let (customer_id, _) = match upgrade_request(&inner, &partner, &body) {
        Ok(request) => request,
        Err(e) => return e.into_response(),
    };
    // Another partner's upgrade is as unknown as a made-up id.
    let Some(upgrade) = inner.upgrades.upgrades.iter().find(|u| {
        u.id.eq_ignore_ascii_case(&upgrade_id)
            && inner.customers.of_partner(&partner.tenant_id, &u.customer_id).is_some()
    }) else {
        return not_found().into_response();
    };
    if !upgrade.customer_id.eq_ignore_ascii_case(&customer_id) {
        return PcError::new(StatusCode::BAD_REQUEST, 900111, "The upgrade id belongs to another customer.")
            .into_response();
    }
    Json(upgrade.to_wire()).into_response()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use reqwest::Method;
    use serde_json::{Value, json};

    use crate::{
        common::test_support::*,
        seed::{
            CUSTOMER_FABRIKAM, CUSTOMER_LITWARE, CUSTOMER_NORTHWIND_TRADERS, LITWARE_0145P_SUBSCRIPTION,
            LITWARE_AZURE_ENTITLEMENT,
        },
        testing::TestSim,
    };

    fn request(customer: &str) -> Value {
        json!({ "customerId": customer, "productFamily": "Azure" })
    }

    /// U2 for `customer`.
    async fn create(sim: &TestSim, token: &str, customer: &str) -> Reply {
        post(sim, "/v1/productupgrades", token, &request(customer)).await
    }

    fn upgrade_id(reply: &Reply) -> String {
        let location = reply.headers.get("location").and_then(|v| v.to_str().ok()).expect("Location");
        location.strip_prefix("productUpgrades/").expect("productUpgrades/{id}").to_owned()
    }

    #[tokio::test]
    async fn upgrades_need_an_app_user_token() {
        let sim = TestSim::start().await;
        let token = sim.app_token().await;
        let body = request(CUSTOMER_LITWARE);
        for path in ["/v1/productUpgrades/eligibility", "/v1/productupgrades", "/v1/productUpgrades/x/status"] {
            assert_eq!(post(&sim, path, &token, &body).await.error(), (403, Some(900329)), "{path}");
        }
    }

    #[tokio::test]
    async fn eligibility_and_request_validation() {
        let sim = TestSim::start().await;
        let user = sim.user_token().await;
        let eligible = post(
            &sim,
            "/v1/productUpgrades/eligibility",
            &user,
            &json!({ "customerId": CUSTOMER_LITWARE, "productFamily": "azure" }),
        )
        .await;
        assert_eq!(eligible.status, 200);
        assert_eq!(
            eligible.body,
            json!({ "customerId": CUSTOMER_LITWARE, "productFamily": "azure", "isEligible": true })
        );
        let not = post(&sim, "/v1/productupgrades/eligibility", &user, &request(CUSTOMER_FABRIKAM)).await.body;
        assert_eq!(not["isEligible"], false);
        assert!(not["reason"].as_str().is_some_and(|r| r.contains("MS-AZR-0145P")));
        let family = post(
            &sim,
            "/v1/productUpgrades/eligibility",
            &user,
            &json!({ "customerId": CUSTOMER_LITWARE, "productFamily": "Office" }),
        )
        .await;
        assert_eq!(family.error(), (400, Some(800002)));
        let missing = post(&sim, "/v1/productUpgrades/eligibility", &user, &json!({ "productFamily": "Azure" })).await;
        assert_eq!(missing.error(), (400, Some(800002)));
        let foreign = post(&sim, "/v1/productUpgrades/eligibility", &user, &request(CUSTOMER_NORTHWIND_TRADERS)).await;
        assert_eq!(foreign.error(), (404, Some(60003)));
        assert_eq!(create(&sim, &user, CUSTOMER_FABRIKAM).await.error(), (403, Some(900108)));
    }

    #[tokio::test]
    async fn an_upgrade_runs_blocks_purchases_and_completes_into_an_azure_plan() {
        let sim = TestSim::start().await;
        let user = sim.user_token().await;
        let created = create(&sim, &user, CUSTOMER_LITWARE).await;
        assert_eq!(created.status, 202);
        assert_eq!(created.body, Value::Null, "empty body");
        let id = upgrade_id(&created);
        assert_eq!(create(&sim, &user, CUSTOMER_LITWARE).await.error(), (409, Some(900109)));
        let eligibility = post(&sim, "/v1/productUpgrades/eligibility", &user, &request(CUSTOMER_LITWARE)).await.body;
        assert_eq!(
            (eligibility["isEligible"].as_bool(), eligibility["upgradeId"].as_str()),
            (Some(false), Some(id.as_str()))
        );

        let status_path = format!("/v1/productUpgrades/{id}/status");
        let running = post(&sim, &status_path, &user, &request(CUSTOMER_LITWARE)).await;
        assert_eq!(running.status, 200);
        assert_eq!(
            (running.body["id"].as_str(), running.body["status"].as_str()),
            (Some(id.as_str()), Some("InProgress"))
        );
        assert_eq!(running.body["productFamily"], "Azure");
        let line = &running.body["lineItems"][0];
        assert_eq!(line["sourceProduct"], json!({ "id": LITWARE_0145P_SUBSCRIPTION, "name": "AzureSubscription" }));
        assert_eq!(line["targetProduct"]["name"], "Microsoft Azure plan");
        assert!(line.get("upgradedDate").is_none());
        let target = line["targetProduct"]["id"].as_str().expect("target").to_owned();
        // Lower-case route of the example; another customer's id; an unknown upgrade.
        let lower = post(&sim, &format!("/v1/productupgrades/{id}/status"), &user, &request(CUSTOMER_LITWARE)).await;
        assert_eq!(lower.status, 200);
        assert_eq!(post(&sim, &status_path, &user, &request(CUSTOMER_FABRIKAM)).await.error(), (400, Some(900111)));
        let unknown = format!("/v1/productUpgrades/{}/status", uuid::Uuid::new_v4());
        assert_eq!(post(&sim, &unknown, &user, &request(CUSTOMER_LITWARE)).await.error(), (404, Some(900106)));

        // Purchases wait for the upgrade.
        let blocked = buy(&sim, &user, CUSTOMER_LITWARE, vec![windows_server_line()]).await;
        assert_eq!(blocked.error(), (409, Some(900113)));

        sim.handle.state().advance_clock(Duration::from_secs(30));
        let done = post(&sim, &status_path, &user, &request(CUSTOMER_LITWARE)).await.body;
        assert_eq!(done["status"], "Completed");
        assert_eq!(done["lineItems"][0]["status"], "Completed");
        assert!(done["lineItems"][0]["upgradedDate"].is_string());

        let subscriptions = subscriptions(&sim, &user, CUSTOMER_LITWARE).await;
        let legacy = subscriptions.iter().find(|s| s["id"] == LITWARE_0145P_SUBSCRIPTION).expect("0145P");
        assert_eq!(legacy["status"], "deleted");
        let plan = subscriptions.iter().find(|s| s["id"] == target.as_str()).expect("Azure plan");
        assert_eq!((plan["status"].as_str(), plan["friendlyName"].as_str()), (Some("active"), Some("Azure plan")));
        let entitlements =
            get(&sim, &format!("/v1/customers/{CUSTOMER_LITWARE}/subscriptions/{target}/azureentitlements"), &user)
                .await;
        assert_eq!(entitlements.body["items"][0]["id"], LITWARE_AZURE_ENTITLEMENT);
        assert!(!sim.handle.state().lock().customers.customers.iter().any(|c| c.id == CUSTOMER_LITWARE && c.has_0145p));

        assert_eq!(create(&sim, &user, CUSTOMER_LITWARE).await.error(), (400, Some(900110)));
        let after = post(&sim, "/v1/productUpgrades/eligibility", &user, &request(CUSTOMER_LITWARE)).await.body;
        assert_eq!((after["isEligible"].as_bool(), after["upgradeId"].as_str()), (Some(false), Some(id.as_str())));
        assert_eq!(buy(&sim, &user, CUSTOMER_LITWARE, vec![windows_server_line()]).await.status, 201);
    }

    #[tokio::test]
    async fn pending_and_failed_upgrades_block_purchases_and_a_failed_one_can_be_retried() {
        let sim = TestSim::start().await;
        let user = sim.user_token().await;
        let id = upgrade_id(&create(&sim, &user, CUSTOMER_LITWARE).await);
        let state = sim.handle.state();
        state.set_upgrade_status(&id, "Pending").expect("pending");
        let pending = buy(&sim, &user, CUSTOMER_LITWARE, vec![windows_server_line()]).await;
        assert_eq!(pending.error(), (409, Some(900112)));
        // Pending does not complete on its own.
        state.advance_clock(Duration::from_secs(60));
        let user = sim.user_token().await;
        assert_eq!(buy(&sim, &user, CUSTOMER_LITWARE, vec![windows_server_line()]).await.error(), (409, Some(900112)));
        state.set_upgrade_status(&id, "Failed").expect("failed");
        assert_eq!(buy(&sim, &user, CUSTOMER_LITWARE, vec![windows_server_line()]).await.error(), (409, Some(900114)));
        let status = post(&sim, &format!("/v1/productUpgrades/{id}/status"), &user, &request(CUSTOMER_LITWARE)).await;
        assert_eq!(status.body["status"], "Failed");
        let eligibility = post(&sim, "/v1/productUpgrades/eligibility", &user, &request(CUSTOMER_LITWARE)).await.body;
        assert_eq!(eligibility["isEligible"], true);
        let retry = create(&sim, &user, CUSTOMER_LITWARE).await;
        assert_eq!(retry.status, 202);
        assert_ne!(upgrade_id(&retry), id);
        assert!(state.set_upgrade_status("nope", "Failed").is_err());
        assert!(state.set_upgrade_status(&id, "Sleeping").is_err());
    }

    #[tokio::test]
    async fn a_suspended_0145p_subscription_cannot_transition() {
        let sim = TestSim::start().await;
        let user = sim.user_token().await;
        let path = format!("/v1/customers/{CUSTOMER_LITWARE}/subscriptions/{LITWARE_0145P_SUBSCRIPTION}");
        let mut legacy = get(&sim, &path, &user).await.body;
        let etag = format!("\"{}\"", legacy["attributes"]["etag"].as_str().expect("etag"));
        legacy["status"] = json!("suspended");
        let suspended = call(&sim, Method::PATCH, &path, &user, Some(&legacy), &[("If-Match", etag.as_str())]).await;
        assert_eq!(suspended.status, 200);
        let eligibility = post(&sim, "/v1/productUpgrades/eligibility", &user, &request(CUSTOMER_LITWARE)).await.body;
        assert_eq!(eligibility["isEligible"], false);
        assert_eq!(create(&sim, &user, CUSTOMER_LITWARE).await.error(), (403, Some(900105)));
    }
}
