//! Carts and checkout (O1–O3); orders (O4–O6) and their state machine live in [`orders`].
//!
//! A cart's lines are checked against the catalog when the cart is created or replaced; a bad line
//! is not an HTTP error but a line-level `error` inside the 201 cart. Checkout applies Partner
//! Center's rules (MCA acceptance, MS-AZR-0145P customers, pending product upgrades, ...) and
//! creates one order per `orderGroup`; checkout is idempotent (a cart checked out before answers
//! its first result again). Orders stay `pending` for
//! [`SimulatorConfig::provisioning_delay`](super::SimulatorConfig) on the simulated clock, then
//! complete: their subscriptions become active and an Azure plan gets its first Azure
//! subscription. Orders appear in the order list only after `order_list_delay`.

use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};

use axum::{
    Extension, Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{post, put},
};
use parking_lot::MutexGuard;
use serde_json::{Value, json};
use uuid::Uuid;

pub mod orders;

use self::orders::{CURRENCY, OrderLine, OrderState, OrderStatus, SimOrder};
use super::{
    SimState, SimulatorConfig,
    aad::PartnerTenant,
    catalog::{CatalogItem, CatalogState},
    common::{self, iso, link, new_etag},
    seed,
    state::Inner,
    subscriptions::{self, SimSubscription},
    upgrades::{self, UpgradeStatus},
    wire::PcError,
};

/// `CartErrorCode` values (§4.2; `LegacyOfferNotEligibleForPurchase` from the .NET SDK's enum).
const CATALOG_ITEM_ID_IS_NOT_VALID: u32 = 10001;
const INVALID_INPUT: u32 = 10010;
const LEGACY_OFFER_NOT_ELIGIBLE_FOR_PURCHASE: u32 = 500600;
/// What Partner Center answers an offer bought with a billing cycle it does not support
/// (Partner-Center-PowerShell issue #123: "2004 The following offer(s): ... does not support
/// billing cycle type: Unknown").
const BILLING_CYCLE_NOT_SUPPORTED: u32 = 2004;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CartStatus {
    Active,
    Ordered,
}

#[derive(Debug, Clone)]
struct CartLine {
    id: usize,
    /// As sent, or in the catalog's casing once recognised.
    catalog_item_id: Value,
    friendly_name: Option<String>,
    /// As sent (echoed back when it is not a valid quantity).
    quantity_sent: Value,
    quantity: u64,
    /// As sent, or the catalog's wire value (`monthly`, `one_time`, ...) once recognised.
    billing_cycle: Value,
    term_duration: Option<String>,
    provisioning_context: Value,
    /// Partners of record (`[{key, value}]`), as sent; echoed back.
    participants: Option<Value>,
    order_group: Option<String>,
    error: Option<(u32, String)>,
    item: Option<CatalogItem>,
}

impl CartLine {
    fn is_azure_plan(&self) -> bool {
        self.item.as_ref().is_some_and(|i| i.product_id.eq_ignore_ascii_case(seed::AZURE_PLAN_PRODUCT_ID))
    }

    /// The `transaction_reseller` participant (the indirect reseller of record).
    fn partner_id_on_record(&self) -> Option<String> {
        self.participant_values("transactionreseller").into_iter().next()
    }

    fn participant_values(&self, key: &str) -> Vec<String> {
        self.participants
            .as_ref()
            .and_then(Value::as_array)
            .map(|all| {
                all.iter()
                    .filter(|p| p["key"].as_str().is_some_and(|k| common::enum_key(k) == key))
                    .filter_map(|p| p["value"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn is_new_commerce(&self) -> bool {
        self.item.as_ref().is_some_and(|i| i.product_type == "OnlineServicesNCE")
    }

    fn to_wire(&self) -> Value {
        let mut line = json!({
            "id": self.id,
            "catalogItemId": self.catalog_item_id,
            "quantity": self.quantity_sent,
            "currencyCode": CURRENCY.0,
            "billingCycle": self.billing_cycle,
            "provisioningContext": self.provisioning_context,
        });
        if let Some(name) = &self.friendly_name {
            line["friendlyName"] = json!(name);
        }
        if let Some(term) = &self.term_duration {
            line["termDuration"] = json!(term);
        }
        if let Some(participants) = &self.participants {
            line["participants"] = participants.clone();
        }
        if let Some(group) = &self.order_group {
            line["orderGroup"] = json!(group);
        }
        if let Some((code, description)) = &self.error {
            line["error"] = json!({ "errorCode": code, "errorDescription": description });
        }
        line
    }
}

#[derive(Debug, Clone)]
struct SimCart {
    id: String,
    customer_id: String,
    created: SystemTime,
    modified: SystemTime,
    expires: SystemTime,
    last_modified_user: String,
    status: CartStatus,
    /// A checkout is running (see [`SimulatorConfig::checkout_processing_time`]).
    processing: bool,
    lines: Vec<CartLine>,
    /// The cart-level `PartnerOnRecordAttestationAccepted` as sent. Partner Center's examples
    /// never echo it, so neither does the simulator; checkout needs it when partners of record
    /// are named (900206).
    partner_on_record_attestation_accepted: Option<bool>,
    /// What the first successful checkout answered; a repeated checkout answers it again.
    checkout_result: Option<Value>,
}

impl SimCart {
    fn to_wire(&self) -> Value {
        json!({
            "id": self.id,
            "creationTimestamp": iso(self.created),
            "lastModifiedTimestamp": iso(self.modified),
            "expirationTimestamp": iso(self.expires),
            "lastModifiedUser": self.last_modified_user,
            "status": match self.status { CartStatus::Active => "Active", CartStatus::Ordered => "Ordered" },
            "lineItems": self.lines.iter().map(CartLine::to_wire).collect::<Vec<_>>(),
            "links": { "self": link(format!("/customers/{}/carts/{}", self.customer_id, self.id), "GET") },
            "attributes": { "objectType": "Cart" }
        })
    }
}

#[derive(Default)]
pub struct CommerceState {
    carts: Vec<SimCart>,
    pub orders: OrderState,
}

impl CommerceState {
    fn cart_mut(&mut self, customer_id: &str, cart_id: &str) -> Option<&mut SimCart> {
        self.carts
            .iter_mut()
            .find(|c| c.id.eq_ignore_ascii_case(cart_id) && c.customer_id.eq_ignore_ascii_case(customer_id))
    }

    /// The customer's cart unless it is unknown or expired (404/800008 either way).
    fn live_cart_mut(&mut self, customer_id: &str, cart_id: &str, now: SystemTime) -> Result<&mut SimCart, PcError> {
        self.cart_mut(customer_id, cart_id).filter(|c| now < c.expires).ok_or_else(|| {
            PcError::new(
                StatusCode::NOT_FOUND,
                800008,
                "The cart could not be retrieved; it does not exist or has expired.",
            )
        })
    }
}

impl SimState {
    /// The lock, after bringing every clock-driven state machine up to [`SimState::now`]: orders
    /// finish provisioning, accepted (202) subscription changes apply, product upgrades complete. Commerce handlers use this instead of
    /// [`SimState::lock`].
    pub fn lock_settled(&self) -> MutexGuard<'_, super::state::Inner> {
        let now = self.now();
        let mut inner = self.lock();
        settle(&mut inner, now, &self.config);
        inner
    }

    /// The customer's orders, including those not yet listed by `GET .../orders` (tests).
    pub fn orders_of(&self, customer_id: &str) -> Vec<Value> {
        let inner = self.lock_settled();
        inner.commerce.orders.of_customer(customer_id).map(SimOrder::to_wire).collect()
    }
}

/// Applies every transition that is due at `now`.
pub fn settle(inner: &mut Inner, now: SystemTime, config: &SimulatorConfig) {
    orders::settle(inner, now, config);
    subscriptions::settle(inner, now);
    upgrades::settle(inner, now, config);
}

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/v1/customers/{customer_id}/carts", post(create_cart))
        .route("/v1/customers/{customer_id}/carts/{cart_id}", put(update_cart))
        .route("/v1/customers/{customer_id}/carts/{cart_id}/checkout", post(checkout))
        .merge(orders::routes())
}

/// A Cart request body: its lines checked against the catalog, and the cart-level attestation.
struct CartBody {
    lines: Vec<CartLine>,
    partner_on_record_attestation_accepted: Option<bool>,
}

fn cart_body(catalog: &CatalogState, body: &[u8]) -> Result<CartBody, PcError> {
    let body = common::parse_body(body)?;
    let Some(items) = body.get("lineItems").and_then(Value::as_array).filter(|items| !items.is_empty()) else {
        return Err(PcError::new(StatusCode::BAD_REQUEST, 800002, "A cart needs at least one line item."));
    };
    // Documented spelling `PartnerOnRecordAttestationAccepted`; request keys are matched camelCase.
    let attestation = match body.get("partnerOnRecordAttestationAccepted") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(accepted)) => Some(*accepted),
        Some(_) => {
            return Err(PcError::new(
                StatusCode::BAD_REQUEST,
                800002,
                "PartnerOnRecordAttestationAccepted must be true or false.",
            ));
        }
    };
    let mut lines: Vec<CartLine> =
        items.iter().enumerate().map(|(index, raw)| cart_line(catalog, index, raw)).collect();
    assign_order_groups(&mut lines);
    Ok(CartBody { lines, partner_on_record_attestation_accepted: attestation })
}

fn cart_line(catalog: &CatalogState, index: usize, raw: &Value) -> CartLine {
    let field = |key: &str| raw.get(key).cloned().unwrap_or(Value::Null);
    let mut line = CartLine {
        id: index,
        catalog_item_id: field("catalogItemId"),
        friendly_name: common::text(raw, "friendlyName"),
        quantity_sent: field("quantity"),
        quantity: 0,
        billing_cycle: field("billingCycle"),
        term_duration: common::text(raw, "termDuration"),
        provisioning_context: raw.get("provisioningContext").filter(|c| c.is_object()).cloned().unwrap_or(json!({})),
        participants: raw.get("participants").filter(|p| !p.is_null()).cloned(),
        order_group: None,
        error: None,
        item: None,
    };
    if let Err((code, description)) = check_line(catalog, raw, &mut line) {
        line.error = Some((code, description));
    }
    line
}

/// A line's catalog checks; the first failure becomes its `error`.
fn check_line(catalog: &CatalogState, raw: &Value, line: &mut CartLine) -> Result<(), (u32, String)> {
    if !raw.is_object() {
        return Err((INVALID_INPUT, "A cart line item must be an object.".to_owned()));
    }
    let Some(catalog_item_id) = common::text(raw, "catalogItemId") else {
        return Err((INVALID_INPUT, "The catalogItemId is required.".to_owned()));
    };
    check_participants(line.participants.as_ref())?;
    let Some(item) = catalog.item(&catalog_item_id) else {
        return Err((
            CATALOG_ITEM_ID_IS_NOT_VALID,
            format!("The catalog item id '{catalog_item_id}' is not valid or cannot be purchased."),
        ));
    };
    if !item.purchasable {
        return Err(if item.legacy_offer {
            (LEGACY_OFFER_NOT_ELIGIBLE_FOR_PURCHASE, "The legacy offer is no longer eligible for purchase.".to_owned())
        } else {
            (
                CATALOG_ITEM_ID_IS_NOT_VALID,
                format!("The catalog item id '{catalog_item_id}' is not valid or cannot be purchased."),
            )
        });
    }
    line.catalog_item_id = json!(item.catalog_item_id);
    let quantity = line.quantity_sent.as_u64().filter(|q| (item.minimum_quantity..=item.maximum_quantity).contains(q));
    let Some(quantity) = quantity else {
        return Err((
            INVALID_INPUT,
            format!("The quantity must be a whole number from {} to {}.", item.minimum_quantity, item.maximum_quantity),
        ));
    };
    line.quantity = quantity;
    let sent_cycle = common::text(raw, "billingCycle").unwrap_or_default();
    let Some(cycle) = item.billing_cycles.iter().find(|c| common::enum_key(c) == common::enum_key(&sent_cycle)) else {
        return Err((
            BILLING_CYCLE_NOT_SUPPORTED,
            format!(
                "The following offer(s): {} does not support billing cycle type: {}",
                item.catalog_item_id,
                billing_cycle_type(&sent_cycle)
            ),
        ));
    };
    line.billing_cycle = json!(cycle);
    if !item.term_durations.is_empty() {
        let sent = line.term_duration.clone().unwrap_or_default();
        let Some(term) = item.term_durations.iter().find(|t| t.eq_ignore_ascii_case(&sent)) else {
            return Err((
                INVALID_INPUT,
                format!("The term duration '{sent}' is not offered; use one of: {}.", item.term_durations.join(", ")),
            ));
        };
        line.term_duration = Some(term.clone());
    }
    line.item = Some(item);
    Ok(())
}

/// `participants`: `[{key, value}]` with the documented keys (`transaction_reseller`, at most
/// five `additional_transaction_reseller`; the SDK also knows `consumption_reseller`).
fn check_participants(participants: Option<&Value>) -> Result<(), (u32, String)> {
    let Some(participants) = participants else {
        return Ok(());
    };
    let invalid = |why: &str| Err((INVALID_INPUT, format!("participants: {why}")));
    let Some(all) = participants.as_array() else {
        return invalid("must be a list of {key, value} pairs.");
    };
    let mut additional = 0;
    for participant in all {
        let (Some(key), Some(value)) = (participant["key"].as_str(), participant["value"].as_str()) else {
            return invalid("each participant needs a string key and value.");
        };
        if value.trim().is_empty() {
            return invalid("a participant's value must be a PartnerID.");
        }
        match common::enum_key(key).as_str() {
            "transactionreseller" | "consumptionreseller" => {}
            "additionaltransactionreseller" => additional += 1,
            _ => return invalid(&format!("'{key}' is not a participant type.")),
        }
    }
    if additional > 5 {
        return invalid("at most 5 additional_transaction_reseller participants are allowed.");
    }
    Ok(())
}

/// The `BillingCycleType` member a sent value names, as Partner Center spells it in messages;
/// anything else (or nothing) is `Unknown`, the enum's default.
fn billing_cycle_type(sent: &str) -> &'static str {
    match common::enum_key(sent).as_str() {
        "monthly" => "Monthly",
        "annual" => "Annual",
        "none" => "None",
        "onetime" => "OneTime",
        "triennial" => "Triennial",
        "biennial" => "Biennial",
        _ => "Unknown",
    }
}

/// Lines that can be bought together share an `orderGroup` ("0", "1", ...). The doc only says the
/// service groups them; the simulator's rule: an Azure plan is an order of its own, everything
/// else is grouped by billing cycle (so reservations and perpetual software, both `one_time`,
/// share an order, as in the doc's checkout example). Lines with an error get no group.
fn assign_order_groups(lines: &mut [CartLine]) {
    let mut groups: Vec<String> = Vec::new();
    for line in lines.iter_mut().filter(|l| l.error.is_none()) {
        let key = if line.is_azure_plan() {
            "azure-plan".to_owned()
        } else {
            line.billing_cycle.as_str().unwrap_or_default().to_owned()
        };
        let index = match groups.iter().position(|g| *g == key) {
            Some(index) => index,
            None => {
                groups.push(key);
                groups.len() - 1
            }
        };
        line.order_group = Some(index.to_string());
    }
}

async fn create_cart(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    Path(customer_id): Path<String>,
    body: Bytes,
) -> Response {
    let now = state.now();
    let mut inner = state.lock_settled();
    let customer_id = match common::customer(&inner, &partner, &customer_id) {
        Ok(customer) => customer.id.clone(),
        Err(e) => return e.into_response(),
    };
    let body = match cart_body(&inner.catalog, &body) {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
    let cart = SimCart {
        id: Uuid::new_v4().to_string(),
        customer_id,
        created: now,
        modified: now,
        expires: now.checked_add(state.config.cart_lifetime).unwrap_or(now),
        last_modified_user: common::partner_user(&partner.tenant_id),
        status: CartStatus::Active,
        processing: false,
        lines: body.lines,
        partner_on_record_attestation_accepted: body.partner_on_record_attestation_accepted,
        checkout_result: None,
    };
    let body = cart.to_wire();
    inner.commerce.carts.push(cart);
    (StatusCode::CREATED, Json(body)).into_response()
}

async fn update_cart(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    Path((customer_id, cart_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let now = state.now();
    let mut guard = state.lock_settled();
    let inner = &mut *guard;
    if let Err(e) = common::customer(inner, &partner, &customer_id) {
        return e.into_response();
    }
    let cart = match inner.commerce.live_cart_mut(&customer_id, &cart_id, now) {
        Ok(cart) => cart,
        Err(e) => return e.into_response(),
    };
    if cart.status == CartStatus::Ordered {
        return already_submitted().into_response();
    }
    if cart.processing {
        return being_processed().into_response();
    }
    let body = match cart_body(&inner.catalog, &body) {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
    cart.lines = body.lines;
    cart.partner_on_record_attestation_accepted = body.partner_on_record_attestation_accepted;
    cart.modified = now;
    cart.last_modified_user = common::partner_user(&partner.tenant_id);
    // Update a cart answers 201 Created in the doc's example.
    (StatusCode::CREATED, Json(cart.to_wire())).into_response()
}

fn already_submitted() -> PcError {
    PcError::new(StatusCode::BAD_REQUEST, 800065, "The cart has already been submitted.")
}

fn being_processed() -> PcError {
    PcError::new(StatusCode::CONFLICT, 800064, "The cart is being processed by another request.")
}

/// Clears a cart's `processing` mark if a checkout stops half-way (the client went away).
struct CheckoutInProgress {
    state: Arc<SimState>,
    customer_id: String,
    cart_id: String,
    finished: bool,
}

impl Drop for CheckoutInProgress {
    fn drop(&mut self) {
        if !self.finished
            && let Some(cart) = self.state.lock().commerce.cart_mut(&self.customer_id, &self.cart_id)
        {
            cart.processing = false;
        }
    }
}

async fn checkout(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    Path((customer_id, cart_id)): Path<(String, String)>,
) -> Response {
    let begun = {
        let now = state.now();
        let mut inner = state.lock_settled();
        begin_checkout(&mut inner, &partner, &customer_id, &cart_id, now)
    };
    match begun {
        Err(e) => return e.into_response(),
        // The cart was ordered before: the first outcome again (checkout-a-cart.md: idempotent).
        Ok(Some(first)) => return (StatusCode::CREATED, Json(first)).into_response(),
        Ok(None) => {}
    }
    let mut in_progress = CheckoutInProgress {
        state: state.clone(),
        customer_id: customer_id.clone(),
        cart_id: cart_id.clone(),
        finished: false,
    };
    let processing_time = state.config.checkout_processing_time;
    if !processing_time.is_zero() {
        tokio::time::sleep(processing_time).await;
    }
    let result = {
        let now = state.now();
        let mut inner = state.lock_settled();
        let result = finish_checkout(&mut inner, &customer_id, &cart_id, now, &state.config);
        in_progress.finished = true;
        result
    };
    match result {
        Ok(body) => (StatusCode::CREATED, Json(body)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Every checkout rule; on success the cart is marked as being processed. A cart checked out
/// before gives its first result back (`Some`) instead.
fn begin_checkout(
    inner: &mut Inner,
    partner: &PartnerTenant,
    customer_id: &str,
    cart_id: &str,
    now: SystemTime,
) -> Result<Option<Value>, PcError> {
    let customer_id = common::customer(inner, partner, customer_id)?.id.clone();
    let customer_id = customer_id.as_str();
    let mca_accepted = inner.agreements.mca_accepted(customer_id);
    let blocking_upgrade = inner.upgrades.blocking_status(customer_id);
    let has_legacy_azure = inner.subscriptions.live_legacy_azure(customer_id).next().is_some();
    let cart = inner.commerce.live_cart_mut(customer_id, cart_id, now)?;
    if cart.processing {
        return Err(being_processed());
    }
    if let Some(first) = &cart.checkout_result {
        return Ok(Some(first.clone()));
    }
    if let Some(line) = cart.lines.iter().find(|l| l.error.is_some()) {
        return Err(PcError::new(
            StatusCode::BAD_REQUEST,
            800009,
            format!("The cart has errors in its line items (first: line {}); fix them before checking out.", line.id),
        ));
    }
    let names_partners =
        cart.lines.iter().any(|l| l.participants.as_ref().is_some_and(|p| p.as_array().is_some_and(|a| !a.is_empty())));
    if names_partners && cart.partner_on_record_attestation_accepted != Some(true) {
        // Documented 400/900206; when it applies is not: here, whenever partners of record are named.
        return Err(PcError::new(StatusCode::BAD_REQUEST, 900206, "Partner Attestation is missing"));
    }
    let buys_azure_plan = cart.lines.iter().any(CartLine::is_azure_plan);
    if !mca_accepted && (buys_azure_plan || cart.lines.iter().any(CartLine::is_new_commerce)) {
        return Err(PcError::new(
            StatusCode::FORBIDDEN,
            13605,
            "The customer has not accepted the Microsoft Customer Agreement.",
        ));
    }
    match blocking_upgrade {
        Some(UpgradeStatus::Pending) => {
            return Err(PcError::new(
                StatusCode::CONFLICT,
                900112,
                "The purchase is blocked while the customer's Azure plan upgrade is pending.",
            ));
        }
        Some(UpgradeStatus::InProgress) => {
            return Err(PcError::new(
                StatusCode::CONFLICT,
                900113,
                "The purchase is blocked while the customer's Azure plan upgrade is in progress.",
            ));
        }
        Some(UpgradeStatus::Failed) => {
            return Err(PcError::new(
                StatusCode::CONFLICT,
                900114,
                "The purchase is blocked because the customer's Azure plan upgrade failed.",
            ));
        }
        Some(UpgradeStatus::Completed) | None => {}
    }
    if buys_azure_plan && has_legacy_azure {
        // The doc says an Azure plan cannot be bought for a customer with an MS-AZR-0145P
        // subscription but gives no code; 400/800002 (invalid request input) is our choice.
        return Err(PcError::new(
            StatusCode::BAD_REQUEST,
            800002,
            "The customer has a Microsoft Azure (MS-AZR-0145P) subscription; an Azure plan cannot be purchased. \
             Transition the customer with the product upgrade APIs (POST /v1/productUpgrades/eligibility, \
             POST /v1/productupgrades) instead.",
        ));
    }
    cart.processing = true;
    Ok(None)
}

/// Creates one order per order group and its subscriptions; the cart becomes `Ordered`.
fn finish_checkout(
    inner: &mut Inner,
    customer_id: &str,
    cart_id: &str,
    now: SystemTime,
    config: &SimulatorConfig,
) -> Result<Value, PcError> {
    let Inner { commerce, subscriptions, .. } = &mut *inner;
    let Some(cart) = commerce.cart_mut(customer_id, cart_id) else {
        return Err(PcError::new(StatusCode::NOT_FOUND, 800008, "The cart could not be retrieved."));
    };
    cart.processing = false;
    cart.status = CartStatus::Ordered;
    let customer_id = cart.customer_id.clone();
    let cart_lines = cart.lines.clone();
    let mut groups: Vec<(String, Vec<CartLine>)> = Vec::new();
    for line in &cart_lines {
        let group = line.order_group.clone().unwrap_or_default();
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, lines)) => lines.push(line.clone()),
            None => groups.push((group, vec![line.clone()])),
        }
    }
    let mut order_ids = Vec::new();
    for (_, lines) in groups {
        let modern = lines.iter().any(|l| l.is_azure_plan() || l.is_new_commerce());
        let (order_id, alternate_id) = commerce.orders.id_style.new_ids(modern);
        let mut order_lines = Vec::new();
        for (number, line) in lines.iter().enumerate() {
            let Some(item) = &line.item else { continue };
            let billing_cycle = line.billing_cycle.as_str().unwrap_or("monthly");
            let mut subscription = if line.is_azure_plan() {
                SimSubscription::azure_plan(&customer_id, &item.catalog_item_id, Some(order_id.clone()), now)
            } else {
                let mut subscription = SimSubscription::license(&customer_id, item, Some(order_id.clone()), now);
                subscription.quantity = line.quantity;
                subscription.billing_cycle = billing_cycle.to_owned();
                subscription.term_duration = line.term_duration.clone();
                subscription.auto_renew = line.term_duration.is_some();
                subscription
            };
            // The cart line's name, for an Azure plan as for a license (the order line shows it too).
            if let Some(name) = line.friendly_name.as_ref().filter(|n| !n.trim().is_empty()) {
                subscription.friendly_name = name.clone();
            }
            order_lines.push(OrderLine {
                number,
                offer_id: item.catalog_item_id.clone(),
                product_id: item.product_id.clone(),
                sku_id: item.sku_id.clone(),
                friendly_name: subscription.friendly_name.clone(),
                quantity: line.quantity,
                term_duration: line.term_duration.clone(),
                subscription_id: subscription.id.clone(),
                partner_id_on_record: line.partner_id_on_record(),
                additional_partner_ids_on_record: line.participant_values("additionaltransactionreseller"),
            });
            subscriptions.subscriptions.push(subscription);
        }
        let billing_cycle = lines.first().and_then(|l| l.billing_cycle.as_str()).unwrap_or("monthly").to_owned();
        commerce.orders.orders.push(SimOrder {
            id: order_id.clone(),
            alternate_id,
            customer_id: customer_id.clone(),
            billing_cycle,
            created: now,
            status: OrderStatus::Pending,
            status_since: now,
            lines: order_lines,
            etag: new_etag(),
        });
        order_ids.push(order_id);
    }
    // With no provisioning delay the orders complete at once.
    settle(inner, now, config);
    let orders: Vec<Value> =
        order_ids.iter().filter_map(|id| inner.commerce.orders.get(&customer_id, id)).map(SimOrder::to_wire).collect();
    let result = json!({ "orders": orders, "orderErrors": [] });
    if let Some(cart) = inner.commerce.cart_mut(&customer_id, cart_id) {
        cart.checkout_result = Some(result.clone());
    }
    Ok(result)
}

/// Seven days, as the newer docs state (`[kv] developer/checkout-a-cart.md`).
pub const DEFAULT_CART_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use reqwest::Method;
    use serde_json::{Value, json};
    use time::{OffsetDateTime, format_description::well_known::Rfc3339};

    use crate::{
        SimulatorConfig,
        common::test_support::*,
        seed::{
            CUSTOMER_ADVENTURE_WORKS, CUSTOMER_FABRIKAM, CUSTOMER_LITWARE, CUSTOMER_NORTHWIND_TRADERS,
            CUSTOMER_TAILSPIN, CUSTOMER_WINGTIP,
        },
        testing::TestSim,
    };

    fn carts(customer: &str) -> String {
        format!("/v1/customers/{customer}/carts")
    }

    fn timestamp(value: &Value) -> OffsetDateTime {
        OffsetDateTime::parse(value.as_str().expect("timestamp"), &Rfc3339).expect("RFC 3339")
    }

    #[tokio::test]
    async fn a_cart_gets_line_ids_order_groups_and_a_seven_day_expiry() {
        let sim = TestSim::start().await;
        let token = sim.app_token().await;
        let lines = vec![
            azure_plan_line(),
            json!({ "catalogItemId": M365_BASIC, "quantity": 5, "billingCycle": "monthly", "termDuration": "P1M", "friendlyName": "Basic seats" }),
            json!({
                "catalogItemId": RESERVATION, "quantity": 2, "billingCycle": "one_time", "termDuration": "P1Y",
                "provisioningContext": { "subscriptionId": "b1beb621-3cad-4d7a-b360-62db33ce028e", "scope": "shared" }
            }),
            json!({ "catalogItemId": WINDOWS_SERVER.to_lowercase(), "quantity": 4, "billingCycle": "OneTime" }),
        ];
        let cart = create_cart(&sim, &token, CUSTOMER_FABRIKAM, lines).await;
        assert_eq!(cart["status"], "Active");
        assert_eq!(cart["attributes"]["objectType"], "Cart");
        let id = cart["id"].as_str().expect("id");
        assert_eq!(cart["links"]["self"]["uri"], format!("/customers/{CUSTOMER_FABRIKAM}/carts/{id}"));
        assert!(cart["lastModifiedUser"].as_str().is_some_and(|u| !u.is_empty()));
        let created = timestamp(&cart["creationTimestamp"]);
        assert_eq!(timestamp(&cart["expirationTimestamp"]) - created, time::Duration::days(7));
        assert_eq!(timestamp(&cart["lastModifiedTimestamp"]), created);
        let items = cart["lineItems"].as_array().expect("lines");
        let ids: Vec<_> = items.iter().map(|l| l["id"].as_u64()).collect();
        assert_eq!(ids, [Some(0), Some(1), Some(2), Some(3)]);
        // The Azure plan alone; the two one_time lines together.
        let groups: Vec<_> = items.iter().map(|l| l["orderGroup"].as_str()).collect();
        assert_eq!(groups, [Some("0"), Some("1"), Some("2"), Some("2")]);
        assert!(items.iter().all(|l| l.get("error").is_none() && l["currencyCode"] == "USD"));
        assert_eq!(items[1]["friendlyName"], "Basic seats");
        assert_eq!(items[1]["termDuration"], "P1M");
        assert_eq!(items[2]["provisioningContext"]["scope"], "shared");
        // Catalog casing and wire values.
        assert_eq!(items[3]["catalogItemId"], WINDOWS_SERVER);
        assert_eq!(items[3]["billingCycle"], "one_time");
    }

    #[tokio::test]
    async fn pascal_case_carts_are_accepted() {
        let sim = TestSim::start().await;
        let token = sim.app_token().await;
        let body = json!({ "LineItems": [
            { "CatalogItemId": M365_BASIC, "Quantity": 3, "TermDuration": "P1Y", "BillingCycle": "Monthly" }
        ]});
        let cart = post(&sim, &carts(CUSTOMER_FABRIKAM), &token, &body).await;
        assert_eq!(cart.status, 201);
        let line = &cart.body["lineItems"][0];
        assert_eq!((line["catalogItemId"].as_str(), line["quantity"].as_u64()), (Some(M365_BASIC), Some(3)));
        assert_eq!(line["billingCycle"], "monthly");
        assert!(line.get("error").is_none());
    }

    #[tokio::test]
    async fn bad_lines_come_back_as_line_errors_inside_a_201_cart() {
        let sim = TestSim::start().await;
        let token = sim.app_token().await;
        let m365 = |quantity: Value, cycle: &str, term: Option<&str>| {
            let mut line = json!({ "catalogItemId": M365_BASIC, "quantity": quantity, "billingCycle": cycle });
            if let Some(term) = term {
                line["termDuration"] = json!(term);
            }
            line
        };
        let lines = vec![
            json!({ "catalogItemId": "NOPE:0001:NOPE", "quantity": 1, "billingCycle": "monthly" }),
            json!({ "catalogItemId": LEGACY_AZURE, "quantity": 1, "billingCycle": "monthly" }),
            m365(json!(0), "monthly", Some("P1M")),
            m365(json!(301), "monthly", Some("P1M")),
            m365(json!("five"), "monthly", Some("P1M")),
            json!({ "catalogItemId": AZURE_PLAN, "quantity": 1, "billingCycle": "annual" }),
            m365(json!(1), "monthly", Some("P3Y")),
            m365(json!(1), "monthly", None),
            json!({ "quantity": 1, "billingCycle": "monthly" }),
            azure_plan_line(),
        ];
        let cart = create_cart(&sim, &token, CUSTOMER_FABRIKAM, lines).await;
        let codes: Vec<_> =
            cart["lineItems"].as_array().expect("lines").iter().map(|l| l["error"]["errorCode"].as_u64()).collect();
        assert_eq!(
            codes,
            [
                Some(10001),
                Some(500600),
                Some(10010),
                Some(10010),
                Some(10010),
                Some(2004),
                Some(10010),
                Some(10010),
                Some(10010),
                None
            ]
        );
        let lines = cart["lineItems"].as_array().expect("lines");
        assert!(lines[..9].iter().all(|l| l["error"]["errorDescription"].as_str().is_some_and(|d| !d.is_empty())));
        assert!(lines[..9].iter().all(|l| l.get("orderGroup").is_none()));
        assert_eq!(lines[4]["quantity"], "five", "what was sent is echoed");
        assert_eq!(lines[9]["orderGroup"], "0");
    }

    #[tokio::test]
    async fn a_billing_cycle_the_sku_does_not_list_is_refused_on_the_line_with_2004() {
        let sim = TestSim::start().await;
        let token = sim.app_token().await;
        let plan = |cycle: Option<&str>| {
            let mut line = json!({ "catalogItemId": AZURE_PLAN, "quantity": 1 });
            if let Some(cycle) = cycle {
                line["billingCycle"] = json!(cycle);
            }
            line
        };
        let cart = create_cart(
            &sim,
            &token,
            CUSTOMER_FABRIKAM,
            vec![plan(Some("monthly")), plan(None), plan(Some("OneTime")), plan(Some("one_time"))],
        )
        .await;
        let lines = cart["lineItems"].as_array().expect("lines");
        assert_eq!(
            lines[0]["error"],
            json!({
                "errorCode": 2004,
                "errorDescription": format!("The following offer(s): {AZURE_PLAN} does not support billing cycle type: Monthly")
            })
        );
        assert_eq!(
            lines[1]["error"]["errorDescription"],
            format!("The following offer(s): {AZURE_PLAN} does not support billing cycle type: Unknown")
        );
        assert!(lines[1..].iter().skip(1).all(|l| l.get("error").is_none() && l["billingCycle"] == "one_time"));
        assert_eq!(
            checkout(&sim, &token, CUSTOMER_FABRIKAM, cart["id"].as_str().expect("id")).await.error(),
            (400, Some(800009))
        );

        // The legacy offer keeps `monthly` but is no longer sold.
        let legacy = create_cart(
            &sim,
            &token,
            CUSTOMER_FABRIKAM,
            vec![json!({ "catalogItemId": LEGACY_AZURE, "quantity": 1, "billingCycle": "monthly" })],
        )
        .await;
        assert_eq!(legacy["lineItems"][0]["error"]["errorCode"], 500600);
        let one_time = buy(&sim, &token, CUSTOMER_FABRIKAM, vec![plan(Some("one_time"))]).await;
        assert_eq!(one_time.status, 201, "{}", one_time.body);
        assert_eq!(one_time.body["orders"][0]["billingCycle"], "one_time");
    }

    #[tokio::test]
    async fn partners_of_record_need_the_cart_level_attestation() {
        let sim = TestSim::start().await;
        let token = sim.app_token().await;
        let participants = json!([
            { "key": "transaction_reseller", "value": "5357564" },
            { "key": "additional_transaction_reseller", "value": "517285" }
        ]);
        let line = json!({
            "catalogItemId": M365_BASIC, "quantity": 2, "billingCycle": "monthly", "termDuration": "P1Y",
            "participants": participants
        });
        let unattested = create_cart(&sim, &token, CUSTOMER_FABRIKAM, vec![line.clone()]).await;
        assert_eq!(unattested["lineItems"][0]["participants"], participants, "echoed as sent");
        assert!(unattested.get("PartnerOnRecordAttestationAccepted").is_none());
        let refused = checkout(&sim, &token, CUSTOMER_FABRIKAM, unattested["id"].as_str().expect("id")).await;
        assert_eq!(refused.error(), (400, Some(900206)));
        assert_eq!(refused.body["description"], "Partner Attestation is missing");

        // The documented request spelling.
        let body = json!({ "PartnerOnRecordAttestationAccepted": true, "lineItems": [line] });
        let attested = post(&sim, &carts(CUSTOMER_FABRIKAM), &token, &body).await;
        assert_eq!(attested.status, 201);
        let result = checkout(&sim, &token, CUSTOMER_FABRIKAM, attested.body["id"].as_str().expect("id")).await;
        assert_eq!(result.status, 201, "{}", result.body);
        let order_line = &result.body["orders"][0]["lineItems"][0];
        assert_eq!(order_line["partnerIdOnRecord"], "5357564");
        assert_eq!(order_line["additionalPartnerIdsOnRecord"], json!(["517285"]));

        // Without partners of record the attestation is not needed.
        let plain = json!({ "PartnerOnRecordAttestationAccepted": false, "lineItems": [windows_server_line()] });
        let cart = post(&sim, &carts(CUSTOMER_FABRIKAM), &token, &plain).await;
        assert_eq!(checkout(&sim, &token, CUSTOMER_FABRIKAM, cart.body["id"].as_str().expect("id")).await.status, 201);

        let not_bool = json!({ "PartnerOnRecordAttestationAccepted": "yes", "lineItems": [windows_server_line()] });
        assert_eq!(post(&sim, &carts(CUSTOMER_FABRIKAM), &token, &not_bool).await.error(), (400, Some(800002)));
        let mut bad = windows_server_line();
        bad["participants"] = json!([{ "key": "best_friend", "value": "1" }]);
        let cart = create_cart(&sim, &token, CUSTOMER_FABRIKAM, vec![bad]).await;
        assert_eq!(cart["lineItems"][0]["error"]["errorCode"], 10010);
    }

    #[tokio::test]
    async fn invalid_carts_and_foreign_customers_are_refused() {
        let sim = TestSim::start().await;
        let token = sim.app_token().await;
        let empty = post(&sim, &carts(CUSTOMER_FABRIKAM), &token, &json!({ "lineItems": [] })).await;
        assert_eq!(empty.error(), (400, Some(800002)));
        let no_body = call(&sim, Method::POST, &carts(CUSTOMER_FABRIKAM), &token, None, &[]).await;
        assert_eq!(no_body.error(), (400, Some(800002)));
        let garbage = sim
            .http
            .post(sim.url(&carts(CUSTOMER_FABRIKAM)))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body("{ \"lineItems\": [ /* comment */ ] }")
            .send()
            .await
            .expect("send");
        assert_eq!(garbage.status(), 400);
        let garbage: Value = garbage.json().await.expect("json");
        assert_eq!(garbage["code"], 800002);
        let lines = json!({ "lineItems": [azure_plan_line()] });
        let foreign = post(&sim, &carts(CUSTOMER_NORTHWIND_TRADERS), &token, &lines).await;
        assert_eq!(foreign.error(), (404, Some(60003)));
        let malformed = post(&sim, &carts("not-a-guid"), &token, &lines).await;
        assert_eq!(malformed.error(), (400, Some(900118)));
        let unauthenticated = call(&sim, Method::POST, &carts(CUSTOMER_FABRIKAM), "forged", Some(&lines), &[]).await;
        assert_eq!(unauthenticated.status, 401);
    }

    #[tokio::test]
    async fn a_cart_can_be_replaced_until_it_is_ordered_or_expired() {
        let sim = TestSim::start().await;
        let token = sim.app_token().await;
        let cart = create_cart(&sim, &token, CUSTOMER_FABRIKAM, vec![windows_server_line()]).await;
        let id = cart["id"].as_str().expect("id").to_owned();
        let path = format!("{}/{id}", carts(CUSTOMER_FABRIKAM));
        sim.handle.state().advance_clock(Duration::from_secs(60));
        // Update a cart's example sends PascalCase.
        let replacement = json!({
            "Id": id,
            "ExpirationTimestamp": "0001-01-01T00:00:00",
            "LineItems": [
                { "Id": 0, "CatalogItemId": AZURE_PLAN, "FriendlyName": "Plan", "Quantity": 1, "BillingCycle": "OneTime" },
                { "Id": 1, "CatalogItemId": M365_BASIC, "Quantity": 10, "BillingCycle": "annual", "TermDuration": "P1Y" }
            ]
        });
        let updated = call(&sim, Method::PUT, &path, &token, Some(&replacement), &[]).await;
        assert_eq!(updated.status, 201, "{}", updated.body);
        assert_eq!(updated.body["id"], id.as_str());
        assert_eq!(updated.body["lineItems"].as_array().map(Vec::len), Some(2));
        assert_eq!(updated.body["lineItems"][0]["friendlyName"], "Plan");
        assert_eq!(updated.body["expirationTimestamp"], cart["expirationTimestamp"]);
        assert_eq!(
            timestamp(&updated.body["lastModifiedTimestamp"]) - timestamp(&cart["creationTimestamp"]),
            time::Duration::seconds(60)
        );
        let empty = call(&sim, Method::PUT, &path, &token, Some(&json!({ "lineItems": [] })), &[]).await;
        assert_eq!(empty.error(), (400, Some(800002)));
        let unknown = format!("{}/{}", carts(CUSTOMER_FABRIKAM), uuid::Uuid::new_v4());
        let missing = call(&sim, Method::PUT, &unknown, &token, Some(&replacement), &[]).await;
        assert_eq!(missing.error(), (404, Some(800008)));
        // Another customer's path does not reach the cart.
        let elsewhere = format!("{}/{id}", carts(CUSTOMER_WINGTIP));
        let other = call(&sim, Method::PUT, &elsewhere, &token, Some(&replacement), &[]).await;
        assert_eq!(other.error(), (404, Some(800008)));

        assert_eq!(checkout(&sim, &token, CUSTOMER_FABRIKAM, &id).await.status, 201);
        let after = call(&sim, Method::PUT, &path, &token, Some(&replacement), &[]).await;
        assert_eq!(after.error(), (400, Some(800065)));

        let stale = create_cart(&sim, &token, CUSTOMER_FABRIKAM, vec![windows_server_line()]).await;
        let stale_id = stale["id"].as_str().expect("id");
        sim.handle.state().advance_clock(Duration::from_secs(7 * 24 * 3600));
        // Access tokens do not live that long.
        let token = sim.app_token().await;
        let expired_put = call(
            &sim,
            Method::PUT,
            &format!("{}/{stale_id}", carts(CUSTOMER_FABRIKAM)),
            &token,
            Some(&replacement),
            &[],
        )
        .await;
        assert_eq!(expired_put.error(), (404, Some(800008)));
        assert_eq!(checkout(&sim, &token, CUSTOMER_FABRIKAM, stale_id).await.error(), (404, Some(800008)));
    }

    #[tokio::test]
    async fn an_azure_plan_order_is_pending_then_completes_and_lists_after_the_delay() {
        let sim = TestSim::start().await;
        let token = sim.app_token().await;
        let user = sim.user_token().await;
        let result = buy(&sim, &token, CUSTOMER_FABRIKAM, vec![azure_plan_line()]).await;
        assert_eq!(result.status, 201, "{}", result.body);
        assert_eq!(result.body["orderErrors"], json!([]));
        let orders = result.body["orders"].as_array().expect("orders");
        assert_eq!(orders.len(), 1);
        let order = &orders[0];
        let order_id = order["id"].as_str().expect("order id").to_owned();
        assert_eq!(order["status"], "pending");
        assert_eq!(order["referenceCustomerId"], CUSTOMER_FABRIKAM);
        assert_eq!(order["billingCycle"], "one_time");
        assert_eq!((order["currencyCode"].as_str(), order["currencySymbol"].as_str()), (Some("USD"), Some("$")));
        assert_eq!(order["transactionType"], "UserPurchase");
        assert_eq!(order["attributes"]["objectType"], "Order");
        assert!(order["alternateId"].as_str().is_some_and(|a| !a.is_empty()));
        let order_path = format!("/v1/customers/{CUSTOMER_FABRIKAM}/orders/{order_id}");
        assert_eq!(order["links"]["self"]["uri"], order_path.trim_start_matches("/v1"));
        assert_eq!(order["links"]["provisioningStatus"]["uri"], format!("{}/provisioningstatus", &order_path[3..]));
        let line = &order["lineItems"][0];
        assert_eq!((line["lineItemNumber"].as_u64(), line["offerId"].as_str()), (Some(0), Some(AZURE_PLAN)));
        assert_eq!((line["transactionType"].as_str(), line["quantity"].as_u64()), (Some("New"), Some(1)));
        assert!(line.get("subscriptionId").is_none(), "not provisioned yet");
        let etag = order["attributes"]["etag"].clone();

        let fetched = get(&sim, &order_path, &token).await;
        assert_eq!((fetched.status, fetched.body["status"].as_str()), (200, Some("pending")));
        let subscriptions =
            get(&sim, &format!("/v1/customers/{CUSTOMER_FABRIKAM}/subscriptions?order_id={order_id}"), &token).await;
        let plan = subscriptions.body["items"][0].clone();
        assert_eq!(subscriptions.body["items"].as_array().map(Vec::len), Some(1));
        assert_eq!((plan["status"].as_str(), plan["offerId"].as_str()), (Some("pending"), Some(AZURE_PLAN)));
        assert_eq!(
            (plan["friendlyName"].as_str(), plan["unitType"].as_str()),
            (Some("Azure plan"), Some("Usage-based"))
        );
        assert_eq!(plan["billingType"], "usage");
        let plan_id = plan["id"].as_str().expect("plan id").to_owned();

        let provisioning = format!("{order_path}/provisioningstatus");
        assert_eq!(get(&sim, &provisioning, &token).await.error(), (403, Some(900329)));
        let pending = get(&sim, &provisioning, &user).await;
        assert_eq!(pending.status, 200);
        assert_eq!(pending.body["items"][0]["status"], "prefulfillment_pending");
        assert!(pending.body.get("links").is_none());
        let list_path = format!("/v1/customers/{CUSTOMER_FABRIKAM}/orders");
        assert_eq!(get(&sim, &list_path, &token).await.body["totalCount"], 0);

        sim.handle.state().advance_clock(Duration::from_secs(5));
        let completed = get(&sim, &order_path, &token).await.body;
        assert_eq!(completed["status"], "completed");
        assert_ne!(completed["attributes"]["etag"], etag, "a status change changes the ETag");
        assert_eq!(completed["lineItems"][0]["subscriptionId"], plan_id.as_str());
        assert_eq!(
            completed["lineItems"][0]["links"]["subscription"]["uri"],
            format!("/customers/{CUSTOMER_FABRIKAM}/subscriptions/{plan_id}")
        );
        let plan = get(&sim, &format!("/v1/customers/{CUSTOMER_FABRIKAM}/subscriptions/{plan_id}"), &token).await;
        assert_eq!(plan.body["status"], "active");
        let entitlements =
            get(&sim, &format!("/v1/customers/{CUSTOMER_FABRIKAM}/subscriptions/{plan_id}/azureEntitlements"), &token)
                .await;
        assert_eq!(entitlements.body["totalCount"], 1);
        assert_eq!(entitlements.body["items"][0]["status"], "active");
        assert_eq!(entitlements.body["items"][0]["subscriptionId"], plan_id.as_str());
        let fulfilled = get(&sim, &provisioning, &user).await.body;
        assert_eq!(fulfilled["items"][0]["status"], "fulfilled");
        assert_eq!(fulfilled["items"][0]["orderLineItemId"], 0);
        assert_eq!(
            fulfilled["items"][0]["quantityProvisioningInformation"],
            json!([{ "quantity": 1, "status": "fulfilled" }])
        );

        // Still inside Partner Center's listing delay.
        assert_eq!(get(&sim, &list_path, &token).await.body["totalCount"], 0);
        sim.handle.state().advance_clock(Duration::from_secs(15 * 60));
        let listed = get(&sim, &list_path, &token).await.body;
        assert_eq!(listed["totalCount"], 1);
        assert_eq!(listed["items"][0]["id"], order_id.as_str());
        assert_eq!(listed["attributes"]["objectType"], "Collection");
        // The Azure plan order is billed `one_time` (its SKU's only cycle).
        assert_eq!(get(&sim, &format!("{list_path}?billingType=onetime"), &token).await.body["totalCount"], 1);
        assert_eq!(get(&sim, &format!("{list_path}?billingType=monthly"), &token).await.body["totalCount"], 0);

        let unknown = get(&sim, &format!("{list_path}/does-not-exist"), &token).await;
        assert_eq!(unknown.error(), (404, Some(20000)));
        let foreign = get(&sim, &format!("/v1/customers/{CUSTOMER_WINGTIP}/orders/{order_id}"), &token).await;
        assert_eq!(foreign.error(), (404, Some(20000)));
    }

    #[tokio::test]
    async fn checkout_enforces_partner_center_rules() {
        let sim = TestSim::start().await;
        let token = sim.app_token().await;
        // No Microsoft Customer Agreement: no Azure plan, no new-commerce license; software is fine.
        let no_mca = buy(&sim, &token, CUSTOMER_TAILSPIN, vec![azure_plan_line()]).await;
        assert_eq!(no_mca.error(), (403, Some(13605)));
        let nce =
            json!({ "catalogItemId": M365_BASIC, "quantity": 1, "billingCycle": "monthly", "termDuration": "P1M" });
        assert_eq!(buy(&sim, &token, CUSTOMER_TAILSPIN, vec![nce]).await.error(), (403, Some(13605)));
        assert_eq!(buy(&sim, &token, CUSTOMER_TAILSPIN, vec![windows_server_line()]).await.status, 201);

        // MS-AZR-0145P customers transition instead of buying.
        let legacy = buy(&sim, &token, CUSTOMER_LITWARE, vec![azure_plan_line()]).await;
        assert_eq!(legacy.error(), (400, Some(800002)));
        assert!(legacy.body["description"].as_str().is_some_and(|d| d.contains("product upgrade")));

        let bad_line = json!({ "catalogItemId": "NOPE:0001:NOPE", "quantity": 1, "billingCycle": "monthly" });
        let with_errors = buy(&sim, &token, CUSTOMER_FABRIKAM, vec![azure_plan_line(), bad_line]).await;
        assert_eq!(with_errors.error(), (400, Some(800009)));

        let cart = create_cart(&sim, &token, CUSTOMER_FABRIKAM, vec![azure_plan_line()]).await;
        let cart_id = cart["id"].as_str().expect("cart id");
        let first = checkout(&sim, &token, CUSTOMER_FABRIKAM, cart_id).await;
        assert_eq!(first.status, 201);
        // Checkout is idempotent (checkout-a-cart.md): a second one answers the first result, even
        // after the order moved on.
        sim.handle.state().advance_clock(Duration::from_secs(10));
        let second = checkout(&sim, &token, CUSTOMER_FABRIKAM, cart_id).await;
        assert_eq!((second.status, &second.body), (201, &first.body));
        assert_eq!(first.body["orders"][0]["status"], "pending");
        assert_eq!(checkout(&sim, &token, CUSTOMER_WINGTIP, cart_id).await.error(), (404, Some(800008)));
        let unknown = uuid::Uuid::new_v4().to_string();
        assert_eq!(checkout(&sim, &token, CUSTOMER_FABRIKAM, &unknown).await.error(), (404, Some(800008)));
        assert_eq!(checkout(&sim, &token, CUSTOMER_NORTHWIND_TRADERS, cart_id).await.error(), (404, Some(60003)));
        assert_eq!(sim.handle.state().orders_of(CUSTOMER_FABRIKAM).len(), 1);
    }

    #[tokio::test]
    async fn a_mixed_cart_checks_out_as_one_order_per_group() {
        let sim = TestSim::start().await;
        let token = sim.app_token().await;
        let lines = vec![
            azure_plan_line(),
            json!({ "catalogItemId": M365_BASIC, "quantity": 5, "billingCycle": "monthly", "termDuration": "P1M" }),
            windows_server_line(),
            json!({ "catalogItemId": RESERVATION, "quantity": 1, "billingCycle": "one_time", "termDuration": "P1Y" }),
        ];
        let result = buy(&sim, &token, CUSTOMER_FABRIKAM, lines).await;
        assert_eq!(result.status, 201);
        let orders = result.body["orders"].as_array().expect("orders");
        assert_eq!(orders.len(), 3);
        let cycles: Vec<_> = orders.iter().map(|o| o["billingCycle"].as_str()).collect();
        assert_eq!(cycles, [Some("one_time"), Some("monthly"), Some("one_time")]);
        let one_time = &orders[2]["lineItems"];
        assert_eq!(one_time.as_array().map(Vec::len), Some(2));
        assert_eq!(
            (one_time[0]["lineItemNumber"].as_u64(), one_time[1]["lineItemNumber"].as_u64()),
            (Some(0), Some(1))
        );
        assert_eq!(one_time[1]["termDuration"], "P1Y");

        sim.handle.state().advance_clock(Duration::from_secs(5));
        let subscriptions = subscriptions(&sim, &token, CUSTOMER_FABRIKAM).await;
        // The seeded Azure plan and the four bought here.
        assert_eq!(subscriptions.len(), 5);
        assert!(subscriptions.iter().all(|s| s["status"] == "active"));
        let m365 = subscriptions.iter().find(|s| s["offerId"] == M365_BASIC).expect("M365 subscription");
        assert_eq!((m365["unitType"].as_str(), m365["billingType"].as_str()), (Some("Licenses"), Some("license")));
        assert_eq!((m365["quantity"].as_u64(), m365["termDuration"].as_str()), (Some(5), Some("P1M")));
        assert_eq!(m365["orderId"], orders[1]["id"]);
    }

    #[tokio::test]
    async fn a_second_checkout_while_one_is_running_gets_409() {
        let config =
            SimulatorConfig { checkout_processing_time: Duration::from_millis(400), ..SimulatorConfig::default() };
        let sim = TestSim::start_with(config).await;
        let token = sim.app_token().await;
        let cart = create_cart(&sim, &token, CUSTOMER_FABRIKAM, vec![azure_plan_line()]).await;
        let cart_id = cart["id"].as_str().expect("cart id");
        let (first, second) = tokio::join!(checkout(&sim, &token, CUSTOMER_FABRIKAM, cart_id), async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            checkout(&sim, &token, CUSTOMER_FABRIKAM, cart_id).await
        });
        // Whichever arrives second finds the cart being processed.
        let mut outcomes = [first.error(), second.error()];
        outcomes.sort();
        assert_eq!(outcomes, [(201, None), (409, Some(800064))]);
        assert_eq!(sim.handle.state().orders_of(CUSTOMER_FABRIKAM).len(), 1);
    }

    #[tokio::test]
    async fn without_delays_an_order_completes_at_checkout_and_lists_at_once() {
        let config = SimulatorConfig {
            provisioning_delay: Duration::ZERO,
            order_list_delay: Duration::ZERO,
            ..SimulatorConfig::default()
        };
        let sim = TestSim::start_with(config).await;
        let token = sim.app_token().await;
        let result = buy(&sim, &token, CUSTOMER_FABRIKAM, vec![azure_plan_line()]).await;
        let order = &result.body["orders"][0];
        assert_eq!(order["status"], "completed");
        assert!(order["lineItems"][0]["subscriptionId"].is_string());
        let listed = get(&sim, &format!("/v1/customers/{CUSTOMER_FABRIKAM}/orders"), &token).await;
        assert_eq!(listed.body["totalCount"], 1);
    }

    #[tokio::test]
    async fn an_azure_plan_bought_with_a_friendly_name_keeps_it_on_the_order_and_the_subscription() {
        let sim = TestSim::start().await;
        let token = sim.app_token().await;
        let mut line = azure_plan_line();
        line["friendlyName"] = json!("Adventure Works production");
        let result = buy(&sim, &token, CUSTOMER_ADVENTURE_WORKS, vec![line]).await;
        assert_eq!(result.status, 201, "{}", result.body);
        let order = &result.body["orders"][0];
        assert_eq!(order["lineItems"][0]["friendlyName"], "Adventure Works production");
        let order_id = order["id"].as_str().expect("order id");
        let path = format!("/v1/customers/{CUSTOMER_ADVENTURE_WORKS}/subscriptions?order_id={order_id}");
        let plans = get(&sim, &path, &token).await;
        assert_eq!(plans.body["items"][0]["friendlyName"], "Adventure Works production");
        // Without a name the plan keeps the catalog's.
        let unnamed = buy(&sim, &token, CUSTOMER_WINGTIP, vec![azure_plan_line()]).await;
        assert_eq!(unnamed.body["orders"][0]["lineItems"][0]["friendlyName"], "Azure plan");
    }
}
