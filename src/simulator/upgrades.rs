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
