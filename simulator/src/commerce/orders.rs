//! Orders (O4–O6): get by id, the customer's list, provisioning status, and the order state
//! machine behind them.
//!
//! Every documented order status can occur. A new order is `pending`; it completes by itself
//! after [`SimulatorConfig::provisioning_delay`](crate::SimulatorConfig) on the simulated clock.
//! Tests move an order to any other status with `POST /_simulator/orders/{orderId}/status`
//! (`{"status": "pending_review"}`); a status change provisions, fails or suspends the order's
//! subscriptions the way its meaning says. Suspending every subscription of a completed order
//! (PATCH) makes the order `suspended`, as the April 2023 announcement describes.
//!
//! Wire values. Order status: snake case, as Microsoft shows `pending_review`,
//! `pending_po_upload` and `po_upload_complete` (the others follow the same rule: our inference).
//! Line provisioning status: `fulfilled` as documented; `unfulfilled` and `prefulfillment_pending`
//! are the enum members in the same snake case (the docs show no example of them).
//!
//! Order ids come in the documented non-GUID forms: 12 lower-case hex digits (new commerce, and
//! here the Azure plan; `alternateId` is the same) or 32 base64url characters plus `1` (other
//! purchases; `alternateId` is 12 hex digits). `POST /_simulator/orders/id-style` with
//! `{"style": "short" | "long" | "byProduct"}` picks one form for every new order.

use std::{sync::Arc, time::SystemTime};

use axum::{
    Extension, Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    SimState, SimulatorConfig,
    aad::PartnerTenant,
    common::{self, bare_collection, iso, link, new_etag},
    state::Inner,
    subscriptions::{SubscriptionKind, SubscriptionState, SubscriptionStatus},
    wire::{self, PcError},
};

/// The simulator sells in one currency.
pub const CURRENCY: (&str, &str) = ("USD", "$");

/// `OrderStatus` (`order-resources.md`), every member but `unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    Pending,
    Completed,
    Cancelled,
    Suspended,
    PendingReview,
    PendingPoUpload,
    PoUploadComplete,
    PoReviewRejected,
    PartialSuccess,
    Error,
}

/// What an order's status means for one of its lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineOutcome {
    /// Not provisioned yet.
    Waiting,
    Fulfilled,
    /// Will not be provisioned (cancelled, rejected, failed).
    Unfulfilled,
}

impl OrderStatus {
    pub const ALL: [Self; 10] = [
        Self::Pending,
        Self::Completed,
        Self::Cancelled,
        Self::Suspended,
        Self::PendingReview,
        Self::PendingPoUpload,
        Self::PoUploadComplete,
        Self::PoReviewRejected,
        Self::PartialSuccess,
        Self::Error,
    ];

    pub fn wire(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::Suspended => "suspended",
            Self::PendingReview => "pending_review",
            Self::PendingPoUpload => "pending_po_upload",
            Self::PoUploadComplete => "po_upload_complete",
            Self::PoReviewRejected => "po_review_rejected",
            Self::PartialSuccess => "partial_success",
            Self::Error => "error",
        }
    }

    /// Any spelling: `pending_review`, `PendingReview`, `pending review`.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| common::enum_key(s.wire()) == common::enum_key(value))
    }

    /// Line `number`'s outcome: a partial success fulfilled the first line only.
    fn line_outcome(self, number: usize) -> LineOutcome {
        match self {
            Self::Completed | Self::Suspended => LineOutcome::Fulfilled,
            Self::PartialSuccess if number == 0 => LineOutcome::Fulfilled,
            Self::PartialSuccess | Self::Cancelled | Self::PoReviewRejected | Self::Error => LineOutcome::Unfulfilled,
            Self::Pending | Self::PendingReview | Self::PendingPoUpload | Self::PoUploadComplete => {
                LineOutcome::Waiting
            }
        }
    }
}

impl LineOutcome {
    fn wire(self) -> &'static str {
        match self {
            Self::Waiting => "prefulfillment_pending",
            Self::Fulfilled => "fulfilled",
            Self::Unfulfilled => "unfulfilled",
        }
    }
}

/// Which documented id form new orders get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderIdStyle {
    /// New-commerce and Azure plan orders short, everything else long.
    #[default]
    ByProduct,
    /// `a68736758d9c`: 12 lower-case hex digits, also the `alternateId`.
    Short,
    /// `311qiN8iFwkv-XARWMvXRYAwYKMACVqv1`: 32 base64url characters and `1`.
    Long,
}

impl OrderIdStyle {
    fn parse(value: &str) -> Option<Self> {
        match common::enum_key(value).as_str() {
            "byproduct" => Some(Self::ByProduct),
            "short" => Some(Self::Short),
            "long" => Some(Self::Long),
            _ => None,
        }
    }

    /// (id, alternateId) of a new order; `modern` = new commerce or Azure plan.
    pub fn new_ids(self, modern: bool) -> (String, String) {
        let short = short_order_id();
        let long = matches!(self, Self::Long) || (self == Self::ByProduct && !modern);
        if long { (long_order_id(), short) } else { (short.clone(), short) }
    }
}

fn short_order_id() -> String {
    uuid::Uuid::new_v4().simple().to_string().chars().take(12).collect()
}

fn long_order_id() -> String {
    let bytes: Vec<u8> =
        uuid::Uuid::new_v4().as_bytes().iter().chain(uuid::Uuid::new_v4().as_bytes()).copied().take(24).collect();
    format!("{}1", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

#[derive(Debug, Clone)]
pub struct OrderLine {
    pub number: usize,
    pub offer_id: String,
    pub product_id: String,
    pub sku_id: String,
    pub friendly_name: String,
    pub quantity: u64,
    pub term_duration: Option<String>,
    /// Created at checkout; shown on the order only once the line is fulfilled.
    pub subscription_id: String,
    /// From the cart line's participants (`transaction_reseller`, `additional_transaction_reseller`).
    pub partner_id_on_record: Option<String>,
    pub additional_partner_ids_on_record: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct SimOrder {
    pub id: String,
    pub alternate_id: String,
    pub customer_id: String,
    pub billing_cycle: String,
    pub created: SystemTime,
    pub status: OrderStatus,
    /// When the order entered `status` (a `pending` order completes a provisioning delay later).
    pub status_since: SystemTime,
    pub lines: Vec<OrderLine>,
    pub etag: String,
}

impl SimOrder {
    fn base_uri(&self) -> String {
        format!("/customers/{}/orders/{}", self.customer_id, self.id)
    }

    pub fn to_wire(&self) -> Value {
        let lines: Vec<Value> = self
            .lines
            .iter()
            .map(|line| {
                let mut links = json!({
                    "sku": link(format!("/products/{}/skus/{}?country=US", line.product_id, line.sku_id), "GET")
                });
                let mut value = json!({
                    "lineItemNumber": line.number,
                    "offerId": line.offer_id,
                    "friendlyName": line.friendly_name,
                    "quantity": line.quantity,
                    "transactionType": "New",
                });
                if let Some(term) = &line.term_duration {
                    value["termDuration"] = json!(term);
                }
                // As create-an-order.md's response shows them.
                if let Some(partner) = &line.partner_id_on_record {
                    value["partnerIdOnRecord"] = json!(partner);
                }
                if !line.additional_partner_ids_on_record.is_empty() {
                    value["additionalPartnerIdsOnRecord"] = json!(line.additional_partner_ids_on_record);
                }
                // Subscription ids appear once provisioning produced them (checkout-a-cart.md).
                if self.status.line_outcome(line.number) == LineOutcome::Fulfilled {
                    let subscription =
                        format!("/customers/{}/subscriptions/{}", self.customer_id, line.subscription_id);
                    value["subscriptionId"] = json!(line.subscription_id);
                    links["subscription"] = link(&subscription, "GET");
                    links["provisioningStatus"] = link(format!("{subscription}/provisioningstatus"), "GET");
                }
                value["links"] = links;
                value
            })
            .collect();
        json!({
            "id": self.id,
            "alternateId": self.alternate_id,
            "referenceCustomerId": self.customer_id,
            "billingCycle": self.billing_cycle,
            "currencyCode": CURRENCY.0,
            "currencySymbol": CURRENCY.1,
            "lineItems": lines,
            "creationDate": iso(self.created),
            "status": self.status.wire(),
            "transactionType": "UserPurchase",
            "links": {
                "self": link(self.base_uri(), "GET"),
                "provisioningStatus": link(format!("{}/provisioningstatus", self.base_uri()), "GET")
            },
            "attributes": { "etag": self.etag, "objectType": "Order" }
        })
    }

    fn provisioning_status(&self) -> Value {
        let items = self
            .lines
            .iter()
            .map(|line| {
                let status = self.status.line_outcome(line.number).wire();
                json!({
                    "orderLineItemId": line.number,
                    "lineItemNumber": line.number,
                    "status": status,
                    "quantityProvisioningInformation": [{ "quantity": line.quantity, "status": status }]
                })
            })
            .collect();
        bare_collection(items)
    }
}

#[derive(Default)]
pub struct OrderState {
    pub orders: Vec<SimOrder>,
    pub id_style: OrderIdStyle,
}

impl OrderState {
    /// Order ids are case-sensitive (the long form is base64url); customer ids are GUIDs.
    pub fn get(&self, customer_id: &str, order_id: &str) -> Option<&SimOrder> {
        self.orders.iter().find(|o| o.id == order_id && o.customer_id.eq_ignore_ascii_case(customer_id))
    }

    pub fn of_customer<'a>(&'a self, customer_id: &'a str) -> impl Iterator<Item = &'a SimOrder> + 'a {
        self.orders.iter().filter(move |o| o.customer_id.eq_ignore_ascii_case(customer_id))
    }
}

/// Moves order `index` to `status` at `now` and applies what that means to its subscriptions.
fn set_status(
    orders: &mut OrderState,
    subscriptions: &mut SubscriptionState,
    index: usize,
    status: OrderStatus,
    now: SystemTime,
) {
    let Some(order) = orders.orders.get_mut(index) else { return };
    let was = order.status;
    order.status = status;
    order.status_since = now;
    order.etag = new_etag();
    for line in &order.lines {
        let outcome = status.line_outcome(line.number);
        let Some(subscription) = subscriptions.get_mut(&order.customer_id, &line.subscription_id) else {
            continue;
        };
        let current = subscription.status;
        let target = match outcome {
            LineOutcome::Waiting => continue,
            // Never provisioned: the subscription created at checkout goes away.
            LineOutcome::Unfulfilled if current == SubscriptionStatus::Pending => SubscriptionStatus::Deleted,
            LineOutcome::Unfulfilled => continue,
            LineOutcome::Fulfilled => {
                let wanted = if status == OrderStatus::Suspended {
                    SubscriptionStatus::Suspended
                } else {
                    SubscriptionStatus::Active
                };
                match current {
                    SubscriptionStatus::Pending => wanted,
                    SubscriptionStatus::Active if wanted == SubscriptionStatus::Suspended => wanted,
                    // Back from a suspended order.
                    SubscriptionStatus::Suspended
                        if was == OrderStatus::Suspended && wanted == SubscriptionStatus::Active =>
                    {
                        wanted
                    }
                    _ => continue,
                }
            }
        };
        subscription.status = target;
        subscription.touch();
        if current == SubscriptionStatus::Pending
            && target == SubscriptionStatus::Active
            && subscription.kind == SubscriptionKind::AzurePlan
        {
            // Azure gets one Azure (usage) subscription under the new plan.
            let (customer, plan) = (subscription.customer_id.clone(), subscription.id.clone());
            subscriptions.add_azure_entitlement(&customer, &plan);
        }
    }
}

/// Completes the `pending` orders whose provisioning delay is over.
pub fn settle(inner: &mut Inner, now: SystemTime, config: &SimulatorConfig) {
    let Inner { commerce, subscriptions, .. } = inner;
    let due: Vec<usize> = commerce
        .orders
        .orders
        .iter()
        .enumerate()
        .filter(|(_, o)| o.status == OrderStatus::Pending)
        .filter(|(_, o)| o.status_since.checked_add(config.provisioning_delay).is_none_or(|due| now >= due))
        .map(|(index, _)| index)
        .collect();
    for index in due {
        set_status(&mut commerce.orders, subscriptions, index, OrderStatus::Completed, now);
    }
}

/// After a subscription's status changed (PATCH): a completed order whose subscriptions are all
/// suspended becomes `suspended`; a suspended one with an active subscription `completed` again.
pub fn follow_subscriptions(inner: &mut Inner, customer_id: &str, order_id: &str) {
    let Inner { commerce, subscriptions, .. } = inner;
    let Some(order) =
        commerce.orders.orders.iter_mut().find(|o| o.id == order_id && o.customer_id.eq_ignore_ascii_case(customer_id))
    else {
        return;
    };
    let statuses: Vec<SubscriptionStatus> = order
        .lines
        .iter()
        .filter_map(|l| subscriptions.get(customer_id, &l.subscription_id))
        .map(|s| s.status)
        .collect();
    let next = match order.status {
        OrderStatus::Completed
            if !statuses.is_empty() && statuses.iter().all(|s| *s == SubscriptionStatus::Suspended) =>
        {
            OrderStatus::Suspended
        }
        OrderStatus::Suspended if statuses.contains(&SubscriptionStatus::Active) => OrderStatus::Completed,
        _ => return,
    };
    order.status = next;
    order.etag = new_etag();
}

impl SimState {
    /// Moves an order (any customer's) to `status` now, as `POST /_simulator/orders/{id}/status`.
    pub fn set_order_status(&self, order_id: &str, status: OrderStatus) -> Result<(), PcError> {
        let now = self.now();
        let mut inner = self.lock_settled();
        let Inner { commerce, subscriptions, .. } = &mut *inner;
        let index = commerce.orders.orders.iter().position(|o| o.id == order_id).ok_or_else(not_found)?;
        set_status(&mut commerce.orders, subscriptions, index, status, now);
        Ok(())
    }
}

pub fn not_found() -> PcError {
    PcError::new(StatusCode::NOT_FOUND, 20000, "The order was not found.")
}

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/v1/customers/{customer_id}/orders", get(list))
        .route("/v1/customers/{customer_id}/orders/{order_id}", get(get_one))
        .route("/v1/customers/{customer_id}/orders/{order_id}/provisioningstatus", get(provisioning_status))
}

/// `POST /_simulator/orders/{orderId}/status` (`{"status": "pending_review"}`) and
/// `POST /_simulator/orders/id-style` (`{"style": "short" | "long" | "byProduct"}`).
pub fn control_routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/_simulator/orders/id-style", post(control_id_style))
        .route("/_simulator/orders/{order_id}/status", post(control_status))
}

async fn get_one(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    Path((customer_id, order_id)): Path<(String, String)>,
) -> Response {
    let inner = state.lock_settled();
    let found = common::customer(&inner, &partner, &customer_id)
        .and_then(|_| inner.commerce.orders.get(&customer_id, &order_id).ok_or_else(not_found));
    match found {
        Ok(order) => Json(order.to_wire()).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(rename = "billingType", alias = "billingtype")]
    billing_type: Option<String>,
}

async fn list(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    Path(customer_id): Path<String>,
    Query(query): Query<ListQuery>,
) -> Response {
    let now = state.now();
    let delay = state.config.order_list_delay;
    let inner = state.lock_settled();
    if let Err(e) = common::customer(&inner, &partner, &customer_id) {
        return e.into_response();
    }
    // A new order shows up in the list only after a while (up to 15 minutes at Partner Center).
    let listed = |created: SystemTime| created.checked_add(delay).is_some_and(|visible| now >= visible);
    let items = inner
        .commerce
        .orders
        .of_customer(&customer_id)
        .filter(|o| listed(o.created))
        .filter(|o| {
            query.billing_type.as_deref().is_none_or(|b| common::enum_key(b) == common::enum_key(&o.billing_cycle))
        })
        .map(SimOrder::to_wire)
        .collect();
    Json(wire::collection(items, &format!("/customers/{customer_id}/orders"), None)).into_response()
}

async fn provisioning_status(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    Path((customer_id, order_id)): Path<(String, String)>,
) -> Response {
    if let Err(e) = partner.require_app_user() {
        return e.into_response();
    }
    let inner = state.lock_settled();
    let found = common::customer(&inner, &partner, &customer_id)
        .and_then(|_| inner.commerce.orders.get(&customer_id, &order_id).ok_or_else(not_found));
    match found {
        Ok(order) => Json(order.provisioning_status()).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn control_status(State(state): State<Arc<SimState>>, Path(order_id): Path<String>, body: Bytes) -> Response {
    let sent = match common::parse_body(&body) {
        Ok(body) => common::text(&body, "status"),
        Err(e) => return e.into_response(),
    };
    let Some(status) = sent.as_deref().and_then(OrderStatus::parse) else {
        let all: Vec<&str> = OrderStatus::ALL.iter().map(|s| s.wire()).collect();
        return PcError::new(
            StatusCode::BAD_REQUEST,
            900126,
            format!("Send {{\"status\": one of {}}}.", all.join(", ")),
        )
        .into_response();
    };
    match state.set_order_status(&order_id, status) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

async fn control_id_style(State(state): State<Arc<SimState>>, body: Bytes) -> Response {
    let sent = match common::parse_body(&body) {
        Ok(body) => common::text(&body, "style"),
        Err(e) => return e.into_response(),
    };
    let Some(style) = sent.as_deref().and_then(OrderIdStyle::parse) else {
        return PcError::new(
            StatusCode::BAD_REQUEST,
            900126,
            "Send {\"style\": \"short\" | \"long\" | \"byProduct\"}.",
        )
        .into_response();
    };
    state.lock().commerce.orders.id_style = style;
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use reqwest::Method;
    use serde_json::{Value, json};

    use super::OrderStatus;
    use crate::{
        SimulatorConfig,
        common::test_support::*,
        seed::{CUSTOMER_FABRIKAM, CUSTOMER_WINGTIP},
        testing::TestSim,
    };

    fn order_path(order: &Value) -> String {
        format!("/v1{}", order["links"]["self"]["uri"].as_str().expect("self link"))
    }

    async fn set_status(sim: &TestSim, order_id: &str, status: &str) -> u16 {
        let url = sim.url(&format!("/_simulator/orders/{order_id}/status"));
        sim.http.post(url).json(&json!({ "status": status })).send().await.expect("control call").status().as_u16()
    }

    /// The status of the subscription behind line `line` of `order` (Fabrikam's).
    async fn subscription_status(sim: &TestSim, token: &str, order: &Value, line: usize) -> Value {
        let id = sim
            .handle
            .state()
            .lock()
            .commerce
            .orders
            .get(CUSTOMER_FABRIKAM, order["id"].as_str().unwrap_or_default())
            .and_then(|o| o.lines.get(line).map(|l| l.subscription_id.clone()))
            .expect("order line");
        get(sim, &format!("/v1/customers/{CUSTOMER_FABRIKAM}/subscriptions/{id}"), token).await.body["status"].clone()
    }

    async fn patch(sim: &TestSim, token: &str, path: &str, body: &Value) -> Reply {
        let etag = format!("\"{}\"", body["attributes"]["etag"].as_str().unwrap_or_default());
        call(sim, Method::PATCH, path, token, Some(body), &[("If-Match", etag.as_str())]).await
    }

    fn is_short(id: &str) -> bool {
        id.len() == 12 && id.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    }

    fn is_long(id: &str) -> bool {
        id.len() == 33 && id.ends_with('1') && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    }

    #[tokio::test]
    async fn order_ids_take_the_documented_non_guid_forms() {
        let sim = TestSim::start().await;
        let token = sim.app_token().await;
        let lines = vec![azure_plan_line(), windows_server_line()];
        let result = buy(&sim, &token, CUSTOMER_FABRIKAM, lines).await;
        let orders = result.body["orders"].as_array().expect("orders").clone();
        let (plan, software) = (&orders[0], &orders[1]);
        let plan_id = plan["id"].as_str().expect("id");
        assert!(is_short(plan_id), "{plan_id}");
        assert_eq!(plan["alternateId"], plan_id);
        let software_id = software["id"].as_str().expect("id");
        assert!(is_long(software_id), "{software_id}");
        assert!(is_short(software["alternateId"].as_str().expect("alternate id")));
        assert_eq!(get(&sim, &order_path(software), &token).await.body["id"], software_id);
        let wrong_case = order_path(software).replace(software_id, &software_id.to_ascii_lowercase());
        if wrong_case != order_path(software) {
            assert_eq!(get(&sim, &wrong_case, &token).await.error(), (404, Some(20000)));
        }

        for (style, check) in [("short", is_short as fn(&str) -> bool), ("long", is_long)] {
            let set = sim.http.post(sim.url("/_simulator/orders/id-style")).json(&json!({ "style": style }));
            assert_eq!(set.send().await.expect("control call").status(), 204);
            let bought = buy(&sim, &token, CUSTOMER_FABRIKAM, vec![azure_plan_line(), windows_server_line()]).await;
            let ids: Vec<&str> =
                bought.body["orders"].as_array().expect("orders").iter().filter_map(|o| o["id"].as_str()).collect();
            assert!(ids.len() == 2 && ids.iter().all(|id| check(id)), "{style}: {ids:?}");
        }
        let bad = sim.http.post(sim.url("/_simulator/orders/id-style")).json(&json!({ "style": "guid" }));
        assert_eq!(bad.send().await.expect("control call").status(), 400);
    }

    #[tokio::test]
    async fn every_documented_order_status_can_be_set_and_shows_on_the_wire() {
        let sim = TestSim::start().await;
        let token = sim.app_token().await;
        let user = sim.user_token().await;
        for status in OrderStatus::ALL {
            let result = buy(&sim, &token, CUSTOMER_FABRIKAM, vec![windows_server_line()]).await;
            let order = &result.body["orders"][0];
            let id = order["id"].as_str().expect("id");
            assert_eq!(set_status(&sim, id, status.wire()).await, 204, "{status:?}");
            let fetched = get(&sim, &order_path(order), &token).await.body;
            assert_eq!(fetched["status"], status.wire());
            let provisioning = get(&sim, &format!("{}/provisioningstatus", order_path(order)), &user).await.body;
            let expected = match status {
                OrderStatus::Completed | OrderStatus::Suspended | OrderStatus::PartialSuccess => "fulfilled",
                OrderStatus::Cancelled | OrderStatus::PoReviewRejected | OrderStatus::Error => "unfulfilled",
                _ => "prefulfillment_pending",
            };
            assert_eq!(provisioning["items"][0]["status"], expected, "{status:?}");
            assert_eq!(provisioning["items"][0]["quantityProvisioningInformation"][0]["status"], expected);
        }
        // Spellings of the table (`pending review`) are taken too; nonsense is not.
        let result = buy(&sim, &token, CUSTOMER_FABRIKAM, vec![windows_server_line()]).await;
        let id = result.body["orders"][0]["id"].as_str().expect("id");
        assert_eq!(set_status(&sim, id, "Pending Review").await, 204);
        assert_eq!(set_status(&sim, id, "shipped").await, 400);
        assert_eq!(set_status(&sim, "nope", "completed").await, 404);
    }

    #[tokio::test]
    async fn a_status_decides_what_happens_to_the_orders_subscriptions() {
        let sim = TestSim::start().await;
        let token = sim.app_token().await;
        // Held for review: it does not complete by itself, then it is approved.
        let review = buy(&sim, &token, CUSTOMER_FABRIKAM, vec![windows_server_line()]).await.body["orders"][0].clone();
        assert_eq!(set_status(&sim, review["id"].as_str().expect("id"), "pending_review").await, 204);
        sim.handle.state().advance_clock(Duration::from_secs(60));
        assert_eq!(get(&sim, &order_path(&review), &token).await.body["status"], "pending_review");
        assert_eq!(subscription_status(&sim, &token, &review, 0).await, "pending");
        assert_eq!(set_status(&sim, review["id"].as_str().expect("id"), "completed").await, 204);
        assert_eq!(subscription_status(&sim, &token, &review, 0).await, "active");

        // Rejected: the subscription never comes to life; back to `pending` completes by the clock.
        let rejected =
            buy(&sim, &token, CUSTOMER_FABRIKAM, vec![windows_server_line()]).await.body["orders"][0].clone();
        assert_eq!(set_status(&sim, rejected["id"].as_str().expect("id"), "po_review_rejected").await, 204);
        assert_eq!(subscription_status(&sim, &token, &rejected, 0).await, "deleted");
        let retried = buy(&sim, &token, CUSTOMER_FABRIKAM, vec![windows_server_line()]).await.body["orders"][0].clone();
        assert_eq!(set_status(&sim, retried["id"].as_str().expect("id"), "pending").await, 204);
        sim.handle.state().advance_clock(Duration::from_secs(5));
        assert_eq!(get(&sim, &order_path(&retried), &token).await.body["status"], "completed");

        // Partial success: the first line only.
        let two = vec![
            windows_server_line(),
            json!({ "catalogItemId": RESERVATION, "quantity": 1, "billingCycle": "one_time", "termDuration": "P1Y" }),
        ];
        let partial = buy(&sim, &token, CUSTOMER_FABRIKAM, two).await.body["orders"][0].clone();
        assert_eq!(partial["lineItems"].as_array().map(Vec::len), Some(2));
        assert_eq!(set_status(&sim, partial["id"].as_str().expect("id"), "partial_success").await, 204);
        let fetched = get(&sim, &order_path(&partial), &token).await.body;
        assert!(fetched["lineItems"][0]["subscriptionId"].is_string());
        assert!(fetched["lineItems"][1].get("subscriptionId").is_none());
        assert_eq!(subscription_status(&sim, &token, &partial, 0).await, "active");
        assert_eq!(subscription_status(&sim, &token, &partial, 1).await, "deleted");

        // Suspended and back.
        let suspended =
            buy(&sim, &token, CUSTOMER_WINGTIP, vec![windows_server_line()]).await.body["orders"][0].clone();
        let id = suspended["id"].as_str().expect("id");
        assert_eq!(set_status(&sim, id, "completed").await, 204);
        assert_eq!(set_status(&sim, id, "suspended").await, 204);
        let subscription =
            get(&sim, &order_path(&suspended), &token).await.body["lineItems"][0]["subscriptionId"].clone();
        let path = format!("/v1/customers/{CUSTOMER_WINGTIP}/subscriptions/{}", subscription.as_str().expect("id"));
        assert_eq!(get(&sim, &path, &token).await.body["status"], "suspended");
        assert_eq!(set_status(&sim, id, "completed").await, 204);
        assert_eq!(get(&sim, &path, &token).await.body["status"], "active");
    }

    #[tokio::test]
    async fn suspending_every_subscription_of_an_order_suspends_the_order() {
        let config = SimulatorConfig { provisioning_delay: Duration::ZERO, ..SimulatorConfig::default() };
        let sim = TestSim::start_with(config).await;
        let token = sim.app_token().await;
        let order = buy(&sim, &token, CUSTOMER_FABRIKAM, vec![windows_server_line()]).await.body["orders"][0].clone();
        assert_eq!(order["status"], "completed");
        let path = format!(
            "/v1/customers/{CUSTOMER_FABRIKAM}/subscriptions/{}",
            order["lineItems"][0]["subscriptionId"].as_str().expect("subscription id")
        );
        let mut subscription = get(&sim, &path, &token).await.body;
        subscription["status"] = json!("suspended");
        let suspended = patch(&sim, &token, &path, &subscription).await;
        assert_eq!(suspended.status, 200, "{}", suspended.body);
        assert_eq!(get(&sim, &order_path(&order), &token).await.body["status"], "suspended");
        let mut subscription = suspended.body;
        subscription["status"] = json!("active");
        assert_eq!(patch(&sim, &token, &path, &subscription).await.status, 200);
        assert_eq!(get(&sim, &order_path(&order), &token).await.body["status"], "completed");
    }
}
