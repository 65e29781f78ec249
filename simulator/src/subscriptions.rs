//! Subscriptions and Azure entitlements (S1–S7): list (optionally by order), get by id with an
//! ETag, suspend/reactivate through PATCH with `If-Match`, the Azure subscriptions under an Azure
//! plan, and provisioning status. Azure subscriptions are enabled and disabled through Azure, not
//! Partner Center, so tests change them with [`SimState::set_entitlement_status`] or
//! `POST /_simulator/entitlements/{entitlementId}/status`.

use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};

use axum::{
    Extension, Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{
    SimState,
    aad::PartnerTenant,
    catalog::{CatalogItem, CatalogState},
    commerce,
    common::{self, FAR_FUTURE, bare_collection, iso, link, new_etag},
    seed,
    state::Inner,
    wire::PcError,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionKind {
    /// An Azure plan (usage-based, with Azure subscriptions as entitlements under it).
    AzurePlan,
    /// A legacy Microsoft Azure (MS-AZR-0145P) subscription.
    LegacyAzure,
    /// Anything sold by the seat (or unit): licenses, software, reservations.
    License,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionStatus {
    Pending,
    Active,
    Suspended,
    Deleted,
}

impl SubscriptionStatus {
    pub fn wire(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Deleted => "deleted",
        }
    }
}

#[derive(Debug, Clone)]
pub struct SimSubscription {
    pub id: String,
    pub customer_id: String,
    pub kind: SubscriptionKind,
    pub offer_id: String,
    pub offer_name: String,
    pub friendly_name: String,
    pub quantity: u64,
    pub billing_cycle: String,
    pub term_duration: Option<String>,
    pub status: SubscriptionStatus,
    pub created: SystemTime,
    pub auto_renew: bool,
    pub order_id: Option<String>,
    /// The Azure subscription a legacy MS-AZR-0145P subscription stands for.
    pub entitlement_id: Option<String>,
    /// `productType.id` of the catalog product (`Azure`, `OnlineServicesNCE`, `Software`); none
    /// for the legacy MS-AZR-0145P offer, whose documented subscription has no `productType`.
    pub product_type: Option<String>,
    /// The indirect reseller of record (`partnerId`), from the order's participants.
    pub partner_id: Option<String>,
    /// A PATCH answered 202: the change becomes visible at `due`.
    pub pending_update: Option<PendingUpdate>,
    pub etag: String,
}

/// A subscription change Partner Center accepted (202) but has not applied yet.
#[derive(Debug, Clone)]
pub struct PendingUpdate {
    pub due: SystemTime,
    pub status: SubscriptionStatus,
    pub quantity: u64,
    pub friendly_name: Option<String>,
}

/// New-commerce subscriptions can be cancelled or reduced for a full refund within 7 days
/// (168 hours) of purchase (`change-the-quantity-of-a-subscription.md`).
const NCE_REFUND_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

impl SimSubscription {
    /// A new Azure plan bought with `offer_id` (the cart's `catalogItemId`).
    pub fn azure_plan(customer_id: &str, offer_id: &str, order_id: Option<String>, now: SystemTime) -> Self {
        Self {
            id: Uuid::new_v4().to_string(),
            customer_id: customer_id.to_owned(),
            kind: SubscriptionKind::AzurePlan,
            offer_id: offer_id.to_owned(),
            offer_name: "Azure plan".to_owned(),
            friendly_name: "Azure plan".to_owned(),
            quantity: 1,
            // The Azure plan SKU supports only `one_time` (`supportedBillingCycles`).
            billing_cycle: "one_time".to_owned(),
            term_duration: None,
            status: SubscriptionStatus::Pending,
            created: now,
            auto_renew: false,
            order_id,
            entitlement_id: None,
            product_type: Some("Azure".to_owned()),
            partner_id: None,
            pending_update: None,
            etag: new_etag(),
        }
    }

    /// A new license-style subscription for `item`: one seat, billed monthly, no term; the caller
    /// sets what the cart line asked for.
    pub fn license(customer_id: &str, item: &CatalogItem, order_id: Option<String>, now: SystemTime) -> Self {
        Self {
            id: Uuid::new_v4().to_string(),
            customer_id: customer_id.to_owned(),
            kind: SubscriptionKind::License,
            offer_id: item.catalog_item_id.clone(),
            offer_name: item.sku_title.clone(),
            friendly_name: item.sku_title.clone(),
            quantity: 1,
            billing_cycle: "monthly".to_owned(),
            term_duration: None,
            status: SubscriptionStatus::Pending,
            created: now,
            auto_renew: false,
            order_id,
            entitlement_id: None,
            product_type: Some(item.product_type.clone()).filter(|t| !t.is_empty()),
            partner_id: None,
            pending_update: None,
            etag: new_etag(),
        }
    }

    pub fn usage_based(&self) -> bool {
        self.kind != SubscriptionKind::License
    }

    /// Gives the subscription a new ETag (every change does).
    pub fn touch(&mut self) {
        self.etag = new_etag();
    }

    fn commitment_end(&self) -> String {
        match self.term_duration.as_deref().and_then(common::term_length) {
            // The commitment end date is inclusive: the last day of the term.
            Some(term) if !self.usage_based() => iso(self.created + term.saturating_sub(Duration::from_secs(86_400))),
            _ => FAR_FUTURE.to_owned(),
        }
    }

    fn is_new_commerce(&self) -> bool {
        self.product_type.as_deref() == Some("OnlineServicesNCE")
    }

    pub fn to_wire(&self, now: SystemTime) -> Value {
        let mut links = Map::new();
        match self.offer_id.split(':').collect::<Vec<_>>().as_slice() {
            [product, sku, availability] => {
                links.insert("product".into(), link(format!("/products/{product}?country=US"), "GET"));
                links.insert("sku".into(), link(format!("/products/{product}/skus/{sku}?country=US"), "GET"));
                links.insert(
                    "availability".into(),
                    link(format!("/products/{product}/skus/{sku}/availabilities/{availability}?country=US"), "GET"),
                );
            }
            _ => {
                links.insert("offer".into(), link(format!("/offers/{}?country=US", self.offer_id), "GET"));
            }
        }
        links.insert("self".into(), link(format!("/customers/{}/subscriptions/{}", self.customer_id, self.id), "GET"));
        let mut value = json!({
            "id": self.id,
            "offerId": self.offer_id,
            "offerName": self.offer_name,
            "friendlyName": self.friendly_name,
            "quantity": self.quantity,
            "unitType": if self.usage_based() { "Usage-based" } else { "Licenses" },
            "creationDate": iso(self.created),
            "effectiveStartDate": iso(self.created),
            "commitmentEndDate": self.commitment_end(),
            "status": self.status.wire(),
            "autoRenewEnabled": self.auto_renew,
            "billingType": if self.usage_based() { "usage" } else { "license" },
            "billingCycle": self.billing_cycle,
            "contractType": "subscription",
            "isTrial": false,
            "isMicrosoftProduct": true,
            "hasPurchasableAddons": false,
            "publisherName": "Microsoft Corporation",
            "links": links,
            "attributes": { "etag": self.etag, "objectType": "Subscription" }
        });
        if let Some(entitlement) = &self.entitlement_id {
            value["entitlementId"] = json!(entitlement);
        }
        if let Some(term) = &self.term_duration {
            value["termDuration"] = json!(term);
        }
        if let Some(order) = &self.order_id {
            value["orderId"] = json!(order);
        }
        if let Some(product_type) = &self.product_type {
            value["productType"] = json!({ "id": product_type, "displayName": product_type });
        }
        if let Some(term) = self.term_duration.as_deref().and_then(common::term_length).filter(|_| !self.usage_based())
        {
            // The last second of the term's last day.
            let last_day = self.created + term.saturating_sub(Duration::from_secs(86_400));
            let date = iso(last_day).get(..10).map(str::to_owned).unwrap_or_default();
            value["commitmentEndDateTime"] = json!(format!("{date}T23:59:59Z"));
        }
        if self.is_new_commerce() {
            // The new-commerce fields of the documented subscription (get-a-subscription-by-id.md).
            let refund_until = self.created + NCE_REFUND_WINDOW;
            let refundable = now < refund_until;
            value["renewalTermDuration"] = json!("");
            value["refundOptions"] =
                if refundable { json!([{ "type": "Full", "expiresAt": iso(refund_until) }]) } else { json!([]) };
            value["partnerId"] = json!(self.partner_id.clone().unwrap_or_default());
            value["attentionNeeded"] = json!(false);
            value["actionTaken"] = json!(false);
            value["refundableQuantity"] = if refundable {
                json!({
                    "totalQuantity": self.quantity,
                    "details": [{ "quantity": self.quantity, "allowedUntilDateTime": iso(refund_until) }]
                })
            } else {
                json!({ "totalQuantity": 0, "details": [] })
            };
        }
        value
    }

    fn provisioning_status(&self) -> Value {
        let sku_id = match self.offer_id.split(':').collect::<Vec<_>>().as_slice() {
            [_, sku, _] => (*sku).to_owned(),
            _ => self.offer_id.clone(),
        };
        // S7 values are `success`, `pending`, `failed`.
        let status = if self.status == SubscriptionStatus::Pending { "pending" } else { "success" };
        json!({
            "skuId": sku_id,
            "status": status,
            "quantity": self.quantity,
            "endDate": self.commitment_end(),
            "attributes": { "objectType": "SubscriptionProvisioningStatus" }
        })
    }
}

/// An Azure subscription under an Azure plan (or the one behind an MS-AZR-0145P subscription).
#[derive(Debug, Clone)]
pub struct SimEntitlement {
    pub id: String,
    pub customer_id: String,
    /// The Partner Center subscription it belongs to.
    pub subscription_id: String,
    pub friendly_name: String,
    /// `active`, `disabled` or `deleted` (the docs only show `active`).
    pub status: String,
}

impl SimEntitlement {
    fn to_wire(&self) -> Value {
        json!({
            "id": self.id,
            "friendlyName": self.friendly_name,
            "status": self.status,
            "subscriptionId": self.subscription_id
        })
    }
}

/// Statuses tests may give an Azure subscription.
const ENTITLEMENT_STATUSES: [&str; 3] = ["active", "disabled", "deleted"];

#[derive(Default)]
pub struct SubscriptionState {
    pub subscriptions: Vec<SimSubscription>,
    pub entitlements: Vec<SimEntitlement>,
    pub patch_mode: PatchMode,
}

/// How a valid PATCH is answered (`POST /_simulator/subscriptions/patch-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PatchMode {
    /// 200 with the updated subscription.
    #[default]
    Immediate,
    /// 202 with `Location`; the change shows on GET after `delay` (simulated clock).
    Accepted { delay: Duration },
}

impl SubscriptionState {
    pub fn seeded() -> Self {
        let now = SystemTime::now();
        let catalog = CatalogState::seeded();
        let mut state = Self::default();
        for seeded in seed::subscriptions() {
            let created = now - Duration::from_secs(seeded.age_days * 86_400);
            let kind = match (seeded.usage_based, seeded.offer_id) {
                (true, "MS-AZR-0145P") => SubscriptionKind::LegacyAzure,
                (true, _) => SubscriptionKind::AzurePlan,
                (false, _) => SubscriptionKind::License,
            };
            state.subscriptions.push(SimSubscription {
                id: seeded.id.to_owned(),
                customer_id: seeded.customer_id.to_owned(),
                kind,
                offer_id: seeded.offer_id.to_owned(),
                offer_name: seeded.offer_name.to_owned(),
                friendly_name: seeded.offer_name.to_owned(),
                quantity: seeded.quantity,
                billing_cycle: seeded.billing_cycle.to_owned(),
                term_duration: seeded.term_duration.map(str::to_owned),
                status: SubscriptionStatus::Active,
                created,
                auto_renew: !seeded.usage_based,
                // The documented short order id form (12 lower-case hex digits).
                order_id: Some(Uuid::new_v4().simple().to_string().chars().take(12).collect()),
                entitlement_id: (kind == SubscriptionKind::LegacyAzure)
                    .then(|| seeded.azure_entitlements.first().map(|(id, _)| (*id).to_owned()))
                    .flatten(),
                product_type: (kind != SubscriptionKind::LegacyAzure)
                    .then(|| catalog.item(seeded.offer_id).map(|item| item.product_type))
                    .flatten(),
                partner_id: None,
                pending_update: None,
                etag: new_etag(),
            });
            for (id, name) in seeded.azure_entitlements {
                state.entitlements.push(SimEntitlement {
                    id: (*id).to_owned(),
                    customer_id: seeded.customer_id.to_owned(),
                    subscription_id: seeded.id.to_owned(),
                    friendly_name: (*name).to_owned(),
                    status: "active".to_owned(),
                });
            }
        }
        state
    }

    pub fn get(&self, customer_id: &str, id: &str) -> Option<&SimSubscription> {
        self.subscriptions
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(id) && s.customer_id.eq_ignore_ascii_case(customer_id))
    }

    pub fn get_mut(&mut self, customer_id: &str, id: &str) -> Option<&mut SimSubscription> {
        self.subscriptions
            .iter_mut()
            .find(|s| s.id.eq_ignore_ascii_case(id) && s.customer_id.eq_ignore_ascii_case(customer_id))
    }

    pub fn of_customer<'a>(&'a self, customer_id: &str) -> impl Iterator<Item = &'a SimSubscription> + use<'a> {
        let customer_id = customer_id.to_owned();
        self.subscriptions.iter().filter(move |s| s.customer_id.eq_ignore_ascii_case(&customer_id))
    }

    /// The customer's MS-AZR-0145P subscriptions that still count (not deleted).
    pub fn live_legacy_azure<'a>(&'a self, customer_id: &str) -> impl Iterator<Item = &'a SimSubscription> + use<'a> {
        self.of_customer(customer_id)
            .filter(|s| s.kind == SubscriptionKind::LegacyAzure && s.status != SubscriptionStatus::Deleted)
    }

    pub fn entitlements_of<'a>(&'a self, subscription_id: &str) -> impl Iterator<Item = &'a SimEntitlement> + use<'a> {
        let subscription_id = subscription_id.to_owned();
        self.entitlements.iter().filter(move |e| e.subscription_id.eq_ignore_ascii_case(&subscription_id))
    }

    /// Adds an active Azure subscription under `subscription_id`; returns its id.
    pub fn add_azure_entitlement(&mut self, customer_id: &str, subscription_id: &str) -> String {
        let id = Uuid::new_v4().to_string();
        self.entitlements.push(SimEntitlement {
            id: id.clone(),
            customer_id: customer_id.to_owned(),
            subscription_id: subscription_id.to_owned(),
            friendly_name: "Microsoft Azure".to_owned(),
            status: "active".to_owned(),
        });
        id
    }

    fn set_entitlement_status(
        &mut self,
        customer_id: Option<&str>,
        entitlement_id: &str,
        status: &str,
    ) -> Result<(), PcError> {
        let Some(status) = ENTITLEMENT_STATUSES.iter().find(|s| s.eq_ignore_ascii_case(status.trim())) else {
            return Err(PcError::new(
                StatusCode::BAD_REQUEST,
                900126,
                format!("The status could not be parsed; use one of {}.", ENTITLEMENT_STATUSES.join(", ")),
            ));
        };
        let Some(index) = self.entitlements.iter().position(|e| {
            e.id.eq_ignore_ascii_case(entitlement_id)
                && customer_id.is_none_or(|c| e.customer_id.eq_ignore_ascii_case(c))
        }) else {
            return Err(PcError::new(StatusCode::NOT_FOUND, 1000, "The Azure entitlement was not found."));
        };
        let entitlement = &self.entitlements[index];
        if *status == "active" {
            let parent_active = self
                .get(&entitlement.customer_id, &entitlement.subscription_id)
                .is_some_and(|s| s.status == SubscriptionStatus::Active);
            if !parent_active {
                return Err(PcError::new(
                    StatusCode::CONFLICT,
                    27009,
                    "The Azure subscription cannot be enabled while its parent subscription is not active.",
                ));
            }
        }
        self.entitlements[index].status = (*status).to_owned();
        Ok(())
    }
}

impl SimState {
    /// Sets an Azure subscription's status (`active`, `disabled`, `deleted`) as Azure would;
    /// enabling one under a plan that is not active is refused (409/27009).
    pub fn set_entitlement_status(&self, customer_id: &str, entitlement_id: &str, status: &str) -> Result<(), PcError> {
        self.lock().subscriptions.set_entitlement_status(Some(customer_id), entitlement_id, status)
    }
}

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/v1/customers/{customer_id}/subscriptions", get(list))
        .route("/v1/customers/{customer_id}/subscriptions/{subscription_id}", get(get_one).patch(update))
        .route("/v1/customers/{customer_id}/subscriptions/{subscription_id}/azureentitlements", get(entitlements))
        // The syntax table says `azureentitlements`; the example and throttling table `azureEntitlements`.
        .route("/v1/customers/{customer_id}/subscriptions/{subscription_id}/azureEntitlements", get(entitlements))
        .route(
            "/v1/customers/{customer_id}/subscriptions/{subscription_id}/provisioningstatus",
            get(provisioning_status),
        )
}

/// `POST /_simulator/entitlements/{entitlementId}/status` with `{"status": "disabled"}`, and
/// `POST /_simulator/subscriptions/patch-mode` with `{"mode": "accepted", "delaySeconds": 5}` or
/// `{"mode": "immediate"}`.
pub fn control_routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/_simulator/entitlements/{entitlement_id}/status", post(control_set_status))
        .route("/_simulator/subscriptions/patch-mode", post(control_patch_mode))
}

/// How long an accepted (202) change takes when the control call names no delay.
pub const DEFAULT_ACCEPTED_DELAY: Duration = Duration::from_secs(5);

async fn control_patch_mode(State(state): State<Arc<SimState>>, body: Bytes) -> Response {
    let body = match common::parse_body(&body) {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
    let delay = match body.get("delaySeconds") {
        None | Some(Value::Null) => Some(DEFAULT_ACCEPTED_DELAY),
        Some(value) => value.as_u64().map(Duration::from_secs),
    };
    let mode = match (common::text(&body, "mode").map(|m| common::enum_key(&m)).as_deref(), delay) {
        (Some("immediate"), _) => PatchMode::Immediate,
        (Some("accepted"), Some(delay)) => PatchMode::Accepted { delay },
        _ => {
            return PcError::new(
                StatusCode::BAD_REQUEST,
                800002,
                "Send {\"mode\": \"immediate\"} or {\"mode\": \"accepted\", \"delaySeconds\": 5}.",
            )
            .into_response();
        }
    };
    state.lock().subscriptions.patch_mode = mode;
    StatusCode::NO_CONTENT.into_response()
}

fn not_found() -> PcError {
    PcError::new(StatusCode::NOT_FOUND, 20003, "The subscription was not found.")
}

#[derive(Deserialize)]
struct ListQuery {
    order_id: Option<String>,
}

async fn list(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    Path(customer_id): Path<String>,
    Query(query): Query<ListQuery>,
) -> Response {
    let now = state.now();
    let inner = state.lock_settled();
    if let Err(e) = common::customer(&inner, &partner, &customer_id) {
        return e.into_response();
    }
    let items = inner
        .subscriptions
        .of_customer(&customer_id)
        .filter(|s| {
            query.order_id.as_deref().is_none_or(|o| s.order_id.as_deref().is_some_and(|id| id.eq_ignore_ascii_case(o)))
        })
        .map(|s| s.to_wire(now))
        .collect();
    Json(bare_collection(items)).into_response()
}

async fn get_one(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    Path((customer_id, subscription_id)): Path<(String, String)>,
) -> Response {
    let inner = state.lock_settled();
    let found = common::customer(&inner, &partner, &customer_id)
        .and_then(|_| inner.subscriptions.get(&customer_id, &subscription_id).ok_or_else(not_found));
    match found {
        Ok(subscription) => Json(subscription.to_wire(state.now())).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn update(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    Path((customer_id, subscription_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let if_match = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let now = state.now();
    let mut inner = state.lock_settled();
    let change = match plan_update(&mut inner, &partner, &customer_id, &subscription_id, if_match, &body) {
        Ok(change) => change,
        Err(e) => return e.into_response(),
    };
    match inner.subscriptions.patch_mode {
        PatchMode::Immediate => match apply_change(&mut inner, &customer_id, &subscription_id, change, now) {
            Ok(subscription) => Json(subscription).into_response(),
            Err(e) => e.into_response(),
        },
        PatchMode::Accepted { delay } => {
            let Some(subscription) = inner.subscriptions.get_mut(&customer_id, &subscription_id) else {
                return not_found().into_response();
            };
            subscription.pending_update = Some(PendingUpdate { due: now + delay, ..change });
            // As update-a-subscription-by-id.md shows the 202: no body, `Location` relative to /v1.
            let location = format!("/customers/{}/subscriptions/{}", subscription.customer_id, subscription.id);
            let mut response = StatusCode::ACCEPTED.into_response();
            if let Ok(value) = header::HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            response
        }
    }
}

/// S4/S5: the full Subscription with `status` `suspended` or `active`; every rule is checked
/// here, whether the change then applies at once (200) or later (202).
fn plan_update(
    inner: &mut Inner,
    partner: &PartnerTenant,
    customer_id: &str,
    subscription_id: &str,
    if_match: &str,
    body: &[u8],
) -> Result<PendingUpdate, PcError> {
    common::customer(inner, partner, customer_id)?;
    let current = inner.subscriptions.get(customer_id, subscription_id).ok_or_else(not_found)?.clone();
    if current.pending_update.is_some() {
        return Err(PcError::new(
            StatusCode::CONFLICT,
            800082,
            "Subscription is not ready to be updated. Try again after sometime.",
        ));
    }
    if !common::etag_matches(if_match, &current.etag) {
        return Err(PcError::new(
            StatusCode::BAD_REQUEST,
            2055,
            "The ETag is missing or no longer valid; get the subscription again and retry with its ETag in If-Match.",
        ));
    }
    if current.status == SubscriptionStatus::Deleted {
        return Err(PcError::new(StatusCode::BAD_REQUEST, 2011, "A deleted subscription cannot be updated."));
    }
    let body = common::parse_body(body)?;
    if !body.is_object() {
        return Err(PcError::new(StatusCode::BAD_REQUEST, 800002, "The request body must be a Subscription."));
    }
    let Some(status) = common::text(&body, "status") else {
        return Err(PcError::new(StatusCode::BAD_REQUEST, 800002, "The subscription status is required."));
    };
    let target = match common::enum_key(&status).as_str() {
        "suspended" => SubscriptionStatus::Suspended,
        "active" => SubscriptionStatus::Active,
        // 800096 (documented): the status cannot be updated (to this value).
        _ => {
            return Err(PcError::new(
                StatusCode::BAD_REQUEST,
                800096,
                format!("The subscription status cannot be updated to '{status}'."),
            ));
        }
    };
    if current.status == SubscriptionStatus::Pending {
        return Err(PcError::new(
            StatusCode::BAD_REQUEST,
            800081,
            "The subscription cannot be updated before it is activated.",
        ));
    }
    let quantity = match body.get("quantity") {
        None | Some(Value::Null) => current.quantity,
        Some(value) => value
            .as_u64()
            .or_else(|| value.as_f64().filter(|q| q.fract() == 0.0 && *q >= 0.0).map(|q| q as u64))
            .ok_or_else(|| PcError::new(StatusCode::BAD_REQUEST, 800002, "The quantity is not valid."))?,
    };
    if quantity != current.quantity {
        match (target, current.status) {
            (SubscriptionStatus::Suspended, _) => {
                return Err(PcError::new(
                    StatusCode::BAD_REQUEST,
                    2001,
                    "The quantity cannot be changed while suspending a subscription.",
                ));
            }
            (_, SubscriptionStatus::Suspended) => {
                // Reactivation must not carry other changes (documented: "cannot update a
                // suspended subscription").
                return Err(PcError::new(
                    StatusCode::BAD_REQUEST,
                    800091,
                    "A suspended subscription cannot be updated.",
                ));
            }
            // Usage-based subscriptions have no seat count; the doc is silent, 800002 chosen.
            _ if current.usage_based() || quantity == 0 => {
                return Err(PcError::new(
                    StatusCode::BAD_REQUEST,
                    800002,
                    "The quantity of this subscription cannot be changed to that value.",
                ));
            }
            _ => {}
        }
    }
    if target == SubscriptionStatus::Suspended
        && current.status != SubscriptionStatus::Suspended
        && current.kind == SubscriptionKind::AzurePlan
        && inner.subscriptions.entitlements_of(&current.id).any(|e| e.status == "active")
    {
        return Err(PcError::new(
            StatusCode::FORBIDDEN,
            900115,
            "The Azure plan cannot be suspended while any Azure subscription under it is active; disable them in Azure first.",
        ));
    }
    let friendly_name = common::text(&body, "friendlyName");
    Ok(PendingUpdate { due: SystemTime::UNIX_EPOCH, status: target, quantity, friendly_name })
}

/// Applies a checked change; returns the subscription as the 200 answer shows it.
fn apply_change(
    inner: &mut Inner,
    customer_id: &str,
    subscription_id: &str,
    change: PendingUpdate,
    now: SystemTime,
) -> Result<Value, PcError> {
    let subscription = inner.subscriptions.get_mut(customer_id, subscription_id).ok_or_else(not_found)?;
    subscription.pending_update = None;
    let mut changed = subscription.status != change.status || subscription.quantity != change.quantity;
    subscription.status = change.status;
    subscription.quantity = change.quantity;
    if let Some(name) = change.friendly_name
        && name != subscription.friendly_name
    {
        subscription.friendly_name = name;
        changed = true;
    }
    if changed {
        subscription.touch();
    }
    let (body, order_id) = (subscription.to_wire(now), subscription.order_id.clone());
    if let Some(order_id) = order_id {
        // A partner suspending every subscription of an order suspends the order (and back).
        commerce::orders::follow_subscriptions(inner, customer_id, &order_id);
    }
    Ok(body)
}

/// Applies the accepted (202) changes that are due at `now`.
pub fn settle(inner: &mut Inner, now: SystemTime) {
    let due: Vec<(String, String, PendingUpdate)> = inner
        .subscriptions
        .subscriptions
        .iter()
        .filter_map(|s| {
            s.pending_update.as_ref().filter(|u| u.due <= now).map(|u| (s.customer_id.clone(), s.id.clone(), u.clone()))
        })
        .collect();
    for (customer_id, subscription_id, change) in due {
        // The subscription exists: it was just found.
        let _ = apply_change(inner, &customer_id, &subscription_id, change, now);
    }
}

async fn entitlements(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    Path((customer_id, subscription_id)): Path<(String, String)>,
) -> Response {
    let inner = state.lock_settled();
    let found = common::customer(&inner, &partner, &customer_id)
        .and_then(|_| inner.subscriptions.get(&customer_id, &subscription_id).ok_or_else(not_found));
    match found {
        Ok(subscription) => {
            let items = inner.subscriptions.entitlements_of(&subscription.id).map(SimEntitlement::to_wire).collect();
            Json(bare_collection(items)).into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn provisioning_status(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    Path((customer_id, subscription_id)): Path<(String, String)>,
) -> Response {
    if let Err(e) = partner.require_app_user() {
        return e.into_response();
    }
    let inner = state.lock_settled();
    let found = common::customer(&inner, &partner, &customer_id)
        .and_then(|_| inner.subscriptions.get(&customer_id, &subscription_id).ok_or_else(not_found));
    match found {
        Ok(subscription) => Json(subscription.provisioning_status()).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn control_set_status(
    State(state): State<Arc<SimState>>,
    Path(entitlement_id): Path<String>,
    body: Bytes,
) -> Response {
    let status = match common::parse_body(&body) {
        Ok(body) => common::text(&body, "status"),
        Err(e) => return e.into_response(),
    };
    let Some(status) = status else {
        return PcError::new(StatusCode::BAD_REQUEST, 800002, "Send {\"status\": \"disabled\"}.").into_response();
    };
    match state.lock().subscriptions.set_entitlement_status(None, &entitlement_id, &status) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use reqwest::Method;
    use serde_json::{Value, json};

    use super::SubscriptionStatus;
    use crate::{
        SimulatorConfig,
        common::test_support::*,
        seed::{
            ADVENTURE_WORKS_M365_SUBSCRIPTION, CUSTOMER_ADVENTURE_WORKS, CUSTOMER_FABRIKAM, CUSTOMER_LITWARE,
            CUSTOMER_NORTHWIND_TRADERS, CUSTOMER_TAILSPIN, CUSTOMER_WINGTIP, LITWARE_0145P_SUBSCRIPTION,
            LITWARE_AZURE_ENTITLEMENT,
        },
        testing::TestSim,
    };

    fn subscription_path(customer: &str, id: &str) -> String {
        format!("/v1/customers/{customer}/subscriptions/{id}")
    }

    async fn patch(sim: &TestSim, token: &str, path: &str, body: &Value, etag: Option<&str>) -> Reply {
        let if_match = etag.map(|e| format!("\"{e}\""));
        let headers: Vec<(&str, &str)> = if_match.iter().map(|v| ("If-Match", v.as_str())).collect();
        call(sim, Method::PATCH, path, token, Some(body), &headers).await
    }

    fn with_status(subscription: &Value, status: &str) -> Value {
        let mut body = subscription.clone();
        body["status"] = json!(status);
        body
    }

    #[tokio::test]
    async fn the_seeded_subscriptions_are_listed_per_customer() {
        let sim = TestSim::start().await;
        let token = sim.app_token().await;
        let litware = subscriptions(&sim, &token, CUSTOMER_LITWARE).await;
        assert_eq!(litware.len(), 1);
        let legacy = &litware[0];
        assert_eq!(
            (legacy["id"].as_str(), legacy["offerId"].as_str()),
            (Some(LITWARE_0145P_SUBSCRIPTION), Some("MS-AZR-0145P"))
        );
        assert_eq!((legacy["status"].as_str(), legacy["unitType"].as_str()), (Some("active"), Some("Usage-based")));
        assert_eq!(legacy["entitlementId"], LITWARE_AZURE_ENTITLEMENT);
        assert_eq!(legacy["commitmentEndDate"], "9999-12-10T00:00:00Z");
        assert_eq!(legacy["attributes"]["objectType"], "Subscription");
        assert!(legacy["attributes"]["etag"].as_str().is_some_and(|e| !e.is_empty()));
        let adventure = subscriptions(&sim, &token, CUSTOMER_ADVENTURE_WORKS).await;
        assert_eq!(adventure.len(), 1);
        assert_eq!(adventure[0]["offerName"], "Microsoft 365 Business Basic");
        assert_eq!(
            (adventure[0]["quantity"].as_u64(), adventure[0]["billingType"].as_str()),
            (Some(25), Some("license"))
        );
        let fabrikam = subscriptions(&sim, &token, CUSTOMER_FABRIKAM).await;
        assert_eq!((fabrikam.len(), fabrikam[0]["offerName"].as_str()), (1, Some("Azure plan")));
        for customer in [CUSTOMER_WINGTIP, CUSTOMER_TAILSPIN] {
            assert!(subscriptions(&sim, &token, customer).await.is_empty());
        }
        let list = get(&sim, &format!("/v1/customers/{CUSTOMER_LITWARE}/subscriptions"), &token).await.body;
        assert_eq!(
            (list["totalCount"].as_u64(), list["attributes"]["objectType"].as_str()),
            (Some(1), Some("Collection"))
        );
        let order_id = adventure[0]["orderId"].as_str().expect("order id");
        let by_order =
            get(&sim, &format!("/v1/customers/{CUSTOMER_ADVENTURE_WORKS}/subscriptions?order_id={order_id}"), &token)
                .await;
        assert_eq!(by_order.body["totalCount"], 1);
        let none =
            get(&sim, &format!("/v1/customers/{CUSTOMER_ADVENTURE_WORKS}/subscriptions?order_id=other"), &token).await;
        assert_eq!(none.body["totalCount"], 0);

        let one = get(&sim, &subscription_path(CUSTOMER_LITWARE, LITWARE_0145P_SUBSCRIPTION), &token).await;
        assert_eq!((one.status, one.body["id"].as_str()), (200, Some(LITWARE_0145P_SUBSCRIPTION)));
        let unknown =
            get(&sim, &subscription_path(CUSTOMER_LITWARE, "00000000-0000-4000-8000-000000000000"), &token).await;
        assert_eq!(unknown.error(), (404, Some(20003)));
        let wrong_customer = get(&sim, &subscription_path(CUSTOMER_FABRIKAM, LITWARE_0145P_SUBSCRIPTION), &token).await;
        assert_eq!(wrong_customer.error(), (404, Some(20003)));
        let foreign = get(&sim, &format!("/v1/customers/{CUSTOMER_NORTHWIND_TRADERS}/subscriptions"), &token).await;
        assert_eq!(foreign.error(), (404, Some(60003)));
    }

    #[tokio::test]
    async fn azure_entitlements_answer_on_both_spellings_and_provisioning_status_needs_a_user() {
        let sim = TestSim::start().await;
        let token = sim.app_token().await;
        let user = sim.user_token().await;
        let base = subscription_path(CUSTOMER_LITWARE, LITWARE_0145P_SUBSCRIPTION);
        for spelling in ["azureentitlements", "azureEntitlements"] {
            let list = get(&sim, &format!("{base}/{spelling}"), &token).await;
            assert_eq!(list.status, 200);
            assert_eq!(list.body["totalCount"], 1);
            assert!(list.body.get("links").is_none());
            assert_eq!(
                list.body["items"][0],
                json!({
                    "id": LITWARE_AZURE_ENTITLEMENT,
                    "friendlyName": "Microsoft Azure",
                    "status": "active",
                    "subscriptionId": LITWARE_0145P_SUBSCRIPTION
                })
            );
        }
        let status = format!("{base}/provisioningstatus");
        assert_eq!(get(&sim, &status, &token).await.error(), (403, Some(900329)));
        let answer = get(&sim, &status, &user).await.body;
        assert_eq!((answer["status"].as_str(), answer["quantity"].as_u64()), (Some("success"), Some(1)));
        assert_eq!(answer["attributes"]["objectType"], "SubscriptionProvisioningStatus");
        let license = get(
            &sim,
            &format!(
                "{}/provisioningstatus",
                subscription_path(CUSTOMER_ADVENTURE_WORKS, ADVENTURE_WORKS_M365_SUBSCRIPTION)
            ),
            &user,
        )
        .await
        .body;
        assert_eq!((license["skuId"].as_str(), license["quantity"].as_u64()), (Some("0001"), Some(25)));
        assert_ne!(license["endDate"], "9999-12-10T00:00:00Z");
    }

    #[tokio::test]
    async fn a_subscription_is_suspended_and_reactivated_with_its_etag() {
        let sim = TestSim::start().await;
        let token = sim.app_token().await;
        let path = subscription_path(CUSTOMER_ADVENTURE_WORKS, ADVENTURE_WORKS_M365_SUBSCRIPTION);
        let current = get(&sim, &path, &token).await.body;
        let etag = current["attributes"]["etag"].as_str().expect("etag").to_owned();
        let suspend = with_status(&current, "suspended");

        assert_eq!(patch(&sim, &token, &path, &suspend, None).await.error(), (400, Some(2055)));
        assert_eq!(patch(&sim, &token, &path, &suspend, Some("stale")).await.error(), (400, Some(2055)));
        // The suspend example sends PascalCase.
        let pascal = json!({
            "Id": ADVENTURE_WORKS_M365_SUBSCRIPTION, "FriendlyName": "Microsoft 365 Business Basic", "Quantity": 30,
            "UnitType": "Licenses", "Status": "suspended", "AutoRenewEnabled": true, "BillingType": "license",
            "ContractType": "subscription", "Attributes": { "Etag": etag, "ObjectType": "Subscription" }
        });
        assert_eq!(patch(&sim, &token, &path, &pascal, Some(&etag)).await.error(), (400, Some(2001)));
        let no_status = json!({ "id": ADVENTURE_WORKS_M365_SUBSCRIPTION, "quantity": 25 });
        assert_eq!(patch(&sim, &token, &path, &no_status, Some(&etag)).await.error(), (400, Some(800002)));
        assert_eq!(
            patch(&sim, &token, &path, &with_status(&current, "deleted"), Some(&etag)).await.error(),
            (400, Some(800096))
        );

        let mut pascal_ok = pascal.clone();
        pascal_ok["Quantity"] = json!(25);
        let suspended = patch(&sim, &token, &path, &pascal_ok, Some(&etag)).await;
        assert_eq!(suspended.status, 200, "{}", suspended.body);
        assert_eq!(suspended.body["status"], "suspended");
        let new_etag = suspended.body["attributes"]["etag"].as_str().expect("etag").to_owned();
        assert_ne!(new_etag, etag);
        assert_eq!(get(&sim, &path, &token).await.body["status"], "suspended");
        // The old ETag is stale now.
        let reactivate = with_status(&suspended.body, "active");
        assert_eq!(patch(&sim, &token, &path, &reactivate, Some(&etag)).await.error(), (400, Some(2055)));
        let mut more_seats = reactivate.clone();
        more_seats["quantity"] = json!(40);
        assert_eq!(patch(&sim, &token, &path, &more_seats, Some(&new_etag)).await.error(), (400, Some(800091)));
        let active = patch(&sim, &token, &path, &reactivate, Some(&new_etag)).await;
        assert_eq!((active.status, active.body["status"].as_str()), (200, Some("active")));
        assert_ne!(active.body["attributes"]["etag"], new_etag.as_str());

        let unknown = subscription_path(CUSTOMER_ADVENTURE_WORKS, "00000000-0000-4000-8000-000000000000");
        assert_eq!(patch(&sim, &token, &unknown, &reactivate, Some(&new_etag)).await.error(), (404, Some(20003)));
    }

    /// Every object key in `value`, recursively.
    fn keys(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    out.push(key.clone());
                    keys(value, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
            _ => {}
        }
    }

    #[tokio::test]
    async fn a_patch_answers_the_genuine_camel_case_new_commerce_subscription() {
        let config = SimulatorConfig { provisioning_delay: Duration::ZERO, ..SimulatorConfig::default() };
        let sim = TestSim::start_with(config).await;
        let token = sim.app_token().await;
        let line =
            json!({ "catalogItemId": M365_BASIC, "quantity": 10, "billingCycle": "monthly", "termDuration": "P1Y" });
        let order = buy(&sim, &token, CUSTOMER_FABRIKAM, vec![line]).await.body["orders"][0].clone();
        let id = order["lineItems"][0]["subscriptionId"].as_str().expect("subscription id").to_owned();
        let path = subscription_path(CUSTOMER_FABRIKAM, &id);
        let current = get(&sim, &path, &token).await.body;
        let etag = current["attributes"]["etag"].as_str().expect("etag").to_owned();
        let suspended = patch(&sim, &token, &path, &with_status(&current, "suspended"), Some(&etag)).await;
        assert_eq!(suspended.status, 200);
        let mut all = Vec::new();
        keys(&suspended.body, &mut all);
        assert!(all.iter().all(|k| k.starts_with(|c: char| c.is_ascii_lowercase())), "{all:?}");
        let body = &suspended.body;
        assert_eq!(body["status"], "suspended");
        assert_eq!(body["productType"], json!({ "id": "OnlineServicesNCE", "displayName": "OnlineServicesNCE" }));
        assert_eq!(body["refundOptions"][0]["type"], "Full");
        assert_eq!(body["refundableQuantity"]["totalQuantity"], 10);
        assert_eq!(body["refundableQuantity"]["details"][0]["quantity"], 10);
        assert!(body["commitmentEndDateTime"].as_str().is_some_and(|d| d.ends_with("T23:59:59Z")));
        for field in ["renewalTermDuration", "partnerId", "attentionNeeded", "actionTaken", "orderId"] {
            assert!(body.get(field).is_some(), "{field}");
        }
        // Past the 7-day window nothing is refundable any more.
        sim.handle.state().advance_clock(Duration::from_secs(8 * 86_400));
        let token = sim.app_token().await;
        let later = get(&sim, &path, &token).await.body;
        assert_eq!(
            (later["refundOptions"].clone(), later["refundableQuantity"]["totalQuantity"].clone()),
            (json!([]), json!(0))
        );
        // The legacy Azure subscription keeps its documented, smaller shape.
        let legacy = get(&sim, &subscription_path(CUSTOMER_LITWARE, LITWARE_0145P_SUBSCRIPTION), &token).await.body;
        assert!(legacy.get("productType").is_none() && legacy.get("refundOptions").is_none());
    }

    #[tokio::test]
    async fn an_accepted_patch_answers_202_with_location_and_applies_a_little_later() {
        let sim = TestSim::start().await;
        let token = sim.app_token().await;
        let mode = |body: Value| sim.http.post(sim.url("/_simulator/subscriptions/patch-mode")).json(&body).send();
        assert_eq!(mode(json!({ "mode": "accepted", "delaySeconds": 30 })).await.expect("control").status(), 204);
        let path = subscription_path(CUSTOMER_ADVENTURE_WORKS, ADVENTURE_WORKS_M365_SUBSCRIPTION);
        let current = get(&sim, &path, &token).await.body;
        let etag = current["attributes"]["etag"].as_str().expect("etag").to_owned();

        // Every rule is checked before a change is accepted.
        let refused = patch(&sim, &token, &path, &with_status(&current, "deleted"), Some(&etag)).await;
        assert_eq!(refused.error(), (400, Some(800096)));
        let accepted = patch(&sim, &token, &path, &with_status(&current, "suspended"), Some(&etag)).await;
        assert_eq!((accepted.status, &accepted.body), (202, &Value::Null));
        let location = accepted.headers["location"].to_str().expect("location").to_owned();
        assert_eq!(
            location,
            format!("/customers/{CUSTOMER_ADVENTURE_WORKS}/subscriptions/{ADVENTURE_WORKS_M365_SUBSCRIPTION}")
        );
        // Not yet: the Location answers the unchanged subscription, and another change must wait.
        let polled = get(&sim, &format!("/v1{location}"), &token).await;
        assert_eq!((polled.status, polled.body["status"].as_str()), (200, Some("active")));
        assert_eq!(polled.body["attributes"]["etag"], etag.as_str());
        let again = patch(&sim, &token, &path, &with_status(&current, "suspended"), Some(&etag)).await;
        assert_eq!(again.error(), (409, Some(800082)));

        sim.handle.state().advance_clock(Duration::from_secs(30));
        let done = get(&sim, &format!("/v1{location}"), &token).await.body;
        assert_eq!(done["status"], "suspended");
        assert_ne!(done["attributes"]["etag"], etag.as_str());

        assert_eq!(mode(json!({ "mode": "immediate" })).await.expect("control").status(), 204);
        let new_etag = done["attributes"]["etag"].as_str().expect("etag").to_owned();
        let reactivated = patch(&sim, &token, &path, &with_status(&done, "active"), Some(&new_etag)).await;
        assert_eq!((reactivated.status, reactivated.body["status"].as_str()), (200, Some("active")));
        assert_eq!(mode(json!({ "mode": "later" })).await.expect("control").status(), 400);
    }

    #[tokio::test]
    async fn deleted_and_not_yet_provisioned_subscriptions_cannot_be_updated() {
        let sim = TestSim::start().await;
        let token = sim.app_token().await;
        let path = subscription_path(CUSTOMER_ADVENTURE_WORKS, ADVENTURE_WORKS_M365_SUBSCRIPTION);
        if let Some(subscription) =
            sim.handle.state().lock().subscriptions.get_mut(CUSTOMER_ADVENTURE_WORKS, ADVENTURE_WORKS_M365_SUBSCRIPTION)
        {
            subscription.status = SubscriptionStatus::Deleted;
        }
        let deleted = get(&sim, &path, &token).await.body;
        let etag = deleted["attributes"]["etag"].as_str().expect("etag");
        assert_eq!(
            patch(&sim, &token, &path, &with_status(&deleted, "active"), Some(etag)).await.error(),
            (400, Some(2011))
        );

        let order = buy(&sim, &token, CUSTOMER_FABRIKAM, vec![azure_plan_line()]).await;
        let order_id = order.body["orders"][0]["id"].as_str().expect("order id");
        let pending =
            get(&sim, &format!("/v1/customers/{CUSTOMER_FABRIKAM}/subscriptions?order_id={order_id}"), &token)
                .await
                .body["items"][0]
                .clone();
        let plan_path = subscription_path(CUSTOMER_FABRIKAM, pending["id"].as_str().expect("id"));
        let etag = pending["attributes"]["etag"].as_str().expect("etag");
        let early = patch(&sim, &token, &plan_path, &with_status(&pending, "suspended"), Some(etag)).await;
        assert_eq!(early.error(), (400, Some(800081)));
    }

    #[tokio::test]
    async fn an_azure_plan_is_suspended_only_once_its_azure_subscriptions_are_disabled() {
        let config = SimulatorConfig { provisioning_delay: Duration::ZERO, ..SimulatorConfig::default() };
        let sim = TestSim::start_with(config).await;
        let token = sim.app_token().await;
        let order = buy(&sim, &token, CUSTOMER_FABRIKAM, vec![azure_plan_line()]).await;
        let plan_id = order.body["orders"][0]["lineItems"][0]["subscriptionId"].as_str().expect("plan id").to_owned();
        let path = subscription_path(CUSTOMER_FABRIKAM, &plan_id);
        let plan = get(&sim, &path, &token).await.body;
        assert_eq!(plan["status"], "active");
        let entitlements = get(&sim, &format!("{path}/azureentitlements"), &token).await.body;
        let entitlement = entitlements["items"][0]["id"].as_str().expect("entitlement").to_owned();

        let etag = plan["attributes"]["etag"].as_str().expect("etag");
        let refused = patch(&sim, &token, &path, &with_status(&plan, "suspended"), Some(etag)).await;
        assert_eq!(refused.error(), (403, Some(900115)));

        // Disabled through Azure (here: the control endpoint).
        let disabled = sim
            .http
            .post(sim.url(&format!("/_simulator/entitlements/{entitlement}/status")))
            .json(&json!({ "status": "disabled" }))
            .send()
            .await
            .expect("control call");
        assert_eq!(disabled.status(), 204);
        let entitlements = get(&sim, &format!("{path}/azureEntitlements"), &token).await.body;
        assert_eq!(entitlements["items"][0]["status"], "disabled");
        let suspended = patch(&sim, &token, &path, &with_status(&plan, "suspended"), Some(etag)).await;
        assert_eq!((suspended.status, suspended.body["status"].as_str()), (200, Some("suspended")));

        // An Azure subscription cannot be enabled under a plan that is not active.
        let state = sim.handle.state();
        let refused =
            state.set_entitlement_status(CUSTOMER_FABRIKAM, &entitlement, "active").expect_err("parent suspended");
        assert_eq!((refused.status.as_u16(), refused.code), (409, 27009));
        let etag = suspended.body["attributes"]["etag"].as_str().expect("etag");
        let reactivated = patch(&sim, &token, &path, &with_status(&suspended.body, "active"), Some(etag)).await;
        assert_eq!((reactivated.status, reactivated.body["status"].as_str()), (200, Some("active")));
        state.set_entitlement_status(CUSTOMER_FABRIKAM, &entitlement, "active").expect("enabled again");
        let wrong_customer = state.set_entitlement_status(CUSTOMER_WINGTIP, &entitlement, "disabled");
        assert_eq!(wrong_customer.map_err(|e| e.code), Err(1000));
        assert_eq!(
            state.set_entitlement_status(CUSTOMER_FABRIKAM, &entitlement, "sleeping").map_err(|e| e.code),
            Err(900126)
        );

        let unknown = sim
            .http
            .post(sim.url("/_simulator/entitlements/nope/status"))
            .json(&json!({ "status": "disabled" }))
            .send()
            .await
            .expect("control call");
        assert_eq!(unknown.status(), 404);
        let bad = sim
            .http
            .post(sim.url(&format!("/_simulator/entitlements/{entitlement}/status")))
            .json(&json!({}))
            .send()
            .await
            .expect("control call");
        assert_eq!(bad.status(), 400);
    }
}
