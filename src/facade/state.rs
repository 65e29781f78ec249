//! State the facade keeps between calls: idempotency records of Azure plan purchases and the
//! orders created through the gateway (read-your-writes). Both sit behind traits with in-memory
//! defaults; replicas share them through Redis (`shared_state::redis`). Every method can fail
//! (the shared store may be unreachable); the in-memory stores never do.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use parking_lot::Mutex;
use uuid::Uuid;

use crate::{
    error::Result,
    model::{CartId, CustomerId, OrderId, commerce::AzurePlan},
};

/// Namespace of the `MS-RequestId`s derived for purchases (UUIDv5).
const REQUEST_ID_NAMESPACE: Uuid = Uuid::from_u128(0x6b1f_32d4_8a0e_4c57_9d2e_3f41_7a5c_0b18);

/// Who a record belongs to: the same key from another partner or customer is another record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyScope {
    pub partner: String,
    pub customer: CustomerId,
    pub key: String,
}

impl IdempotencyScope {
    /// The `MS-RequestId` of one step of this purchase: a UUIDv5 of (partner, customer, key, step,
    /// attempt). Every replica derives the same id, so even one without the record (or after the
    /// record was lost) sends ids Partner Center has seen already and gets its replay.
    pub fn request_id(&self, step: &str, attempt: u32) -> Uuid {
        // Partner ids, customer ids and idempotency keys hold no newline (keys are visible ASCII).
        let name = format!("{}\n{}\n{}\n{step}\n{attempt}", self.partner, self.customer, self.key);
        Uuid::new_v5(&REQUEST_ID_NAMESPACE, name.as_bytes())
    }
}

/// Progress of one Azure plan purchase, enough to resume it without buying twice.
#[derive(Debug, Clone)]
pub struct PurchaseRecord {
    /// Digest of the request's parameters: the same key with other parameters is refused.
    pub fingerprint: String,
    /// `MS-RequestId` of the cart creation (replayed by Partner Center if it was committed).
    pub cart_request_id: Uuid,
    pub cart_id: Option<CartId>,
    /// `MS-RequestId` of the checkout; kept while the outcome is unknown, renewed after an answer.
    pub checkout_request_id: Uuid,
    /// Checkouts of this purchase that were answered with a failure; the checkout id is derived
    /// from it, so a renewed id is as deterministic as the first.
    pub checkout_attempt: u32,
    pub result: Option<AzurePlan>,
}

impl PurchaseRecord {
    /// A fresh record, with the request ids derived from `scope`.
    pub fn new(scope: &IdempotencyScope, fingerprint: String) -> Self {
        Self {
            fingerprint,
            cart_request_id: scope.request_id("cart", 0),
            cart_id: None,
            checkout_request_id: scope.request_id("checkout", 0),
            checkout_attempt: 0,
            result: None,
        }
    }

    /// Partner Center answered the checkout with a failure: the next checkout is a new logical
    /// call with the next derived id.
    pub fn renew_checkout(&mut self, scope: &IdempotencyScope) {
        self.checkout_attempt = self.checkout_attempt.saturating_add(1);
        self.checkout_request_id = scope.request_id("checkout", self.checkout_attempt);
    }
}

pub enum Claim {
    /// No other call holds the key: go on from this record (fresh or with earlier progress).
    Run(PurchaseRecord),
    /// Already done: the earlier outcome.
    Done(AzurePlan),
    /// Another call with this key is running right now.
    Busy,
    /// The key was used with other parameters.
    Mismatch,
}

#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claims the key for a run (a lease, so a crashed holder cannot block it forever).
    async fn claim(&self, scope: &IdempotencyScope, fingerprint: &str) -> Result<Claim>;
    /// Saves progress and keeps the claim.
    async fn save(&self, scope: &IdempotencyScope, record: &PurchaseRecord) -> Result<()>;
    /// Saves progress and gives the claim up (the call ended, successfully or not).
    async fn release(&self, scope: &IdempotencyScope, record: &PurchaseRecord) -> Result<()>;
}

/// A record, the end of its current claim (if claimed) and when it was created.
struct Entry {
    record: PurchaseRecord,
    claimed_until: Option<Instant>,
    created: Instant,
}

pub struct InMemoryIdempotency {
    records: Mutex<HashMap<IdempotencyScope, Entry>>,
    lease: Duration,
    retention: Duration,
}

impl InMemoryIdempotency {
    /// `lease`: how long a claim holds; `retention`: how long records are kept.
    pub fn new(lease: Duration, retention: Duration) -> Self {
        Self { records: Mutex::new(HashMap::new()), lease, retention }
    }
}

#[async_trait]
impl IdempotencyStore for InMemoryIdempotency {
    async fn claim(&self, scope: &IdempotencyScope, fingerprint: &str) -> Result<Claim> {
        let now = Instant::now();
        let mut records = self.records.lock();
        records.retain(|_, entry| now.duration_since(entry.created) < self.retention);
        Ok(match records.get_mut(scope) {
            None => {
                let record = PurchaseRecord::new(scope, fingerprint.to_owned());
                let entry = Entry { record: record.clone(), claimed_until: Some(now + self.lease), created: now };
                records.insert(scope.clone(), entry);
                Claim::Run(record)
            }
            Some(entry) if entry.record.fingerprint != fingerprint => Claim::Mismatch,
            Some(Entry { record: PurchaseRecord { result: Some(plan), .. }, .. }) => Claim::Done(plan.clone()),
            Some(entry) if entry.claimed_until.is_some_and(|until| until > now) => Claim::Busy,
            Some(entry) => {
                entry.claimed_until = Some(now + self.lease);
                Claim::Run(entry.record.clone())
            }
        })
    }

    async fn save(&self, scope: &IdempotencyScope, record: &PurchaseRecord) -> Result<()> {
        if let Some(entry) = self.records.lock().get_mut(scope) {
            entry.record = record.clone();
        }
        Ok(())
    }

    async fn release(&self, scope: &IdempotencyScope, record: &PurchaseRecord) -> Result<()> {
        if let Some(entry) = self.records.lock().get_mut(scope) {
            entry.record = record.clone();
            entry.claimed_until = None;
        }
        Ok(())
    }
}

/// Orders created through the gateway, so a customer's order list shows them at once although
/// Partner Center lists new orders only after a delay.
#[async_trait]
pub trait RecentOrders: Send + Sync {
    async fn record(&self, partner: &str, customer: CustomerId, order: &OrderId) -> Result<()>;
    /// Orders recorded for the customer and not yet expired, newest first.
    async fn recent(&self, partner: &str, customer: CustomerId) -> Result<Vec<OrderId>>;
}

/// Orders by (partner, customer), with when they were recorded.
type OrdersByCustomer = HashMap<(String, CustomerId), Vec<(OrderId, Instant)>>;

pub struct InMemoryRecentOrders {
    orders: Mutex<OrdersByCustomer>,
    window: Duration,
}

impl InMemoryRecentOrders {
    /// `window`: how long an order is remembered (longer than Partner Center's listing delay).
    pub fn new(window: Duration) -> Self {
        Self { orders: Mutex::new(HashMap::new()), window }
    }
}

#[async_trait]
impl RecentOrders for InMemoryRecentOrders {
    async fn record(&self, partner: &str, customer: CustomerId, order: &OrderId) -> Result<()> {
        let mut orders = self.orders.lock();
        let list = orders.entry((partner.to_owned(), customer)).or_default();
        if !list.iter().any(|(id, _)| id == order) {
            list.push((order.clone(), Instant::now()));
        }
        Ok(())
    }

    async fn recent(&self, partner: &str, customer: CustomerId) -> Result<Vec<OrderId>> {
        let now = Instant::now();
        let mut orders = self.orders.lock();
        let Some(list) = orders.get_mut(&(partner.to_owned(), customer)) else { return Ok(Vec::new()) };
        list.retain(|(_, at)| now.duration_since(*at) < self.window);
        Ok(list.iter().rev().map(|(id, _)| id.clone()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(key: &str) -> IdempotencyScope {
        IdempotencyScope {
            partner: "p".to_owned(),
            customer: CustomerId::parse("c", "11111111-1111-1111-1111-111111111111").expect("id"),
            key: key.to_owned(),
        }
    }

    #[test]
    fn request_ids_are_derived_from_partner_customer_key_step_and_attempt() {
        let record = PurchaseRecord::new(&scope("k"), "f".to_owned());
        let again = PurchaseRecord::new(&scope("k"), "f".to_owned());
        assert_eq!(record.cart_request_id, again.cart_request_id, "every replica derives the same ids");
        assert_eq!(record.checkout_request_id, again.checkout_request_id);
        assert_ne!(record.cart_request_id, record.checkout_request_id);
        assert_eq!(record.cart_request_id.get_version_num(), 5);
        let other_key = PurchaseRecord::new(&scope("k2"), "f".to_owned());
        assert_ne!(record.cart_request_id, other_key.cart_request_id);
        let mut other_partner = scope("k");
        other_partner.partner = "q".to_owned();
        assert_ne!(record.cart_request_id, PurchaseRecord::new(&other_partner, "f".to_owned()).cart_request_id);

        let mut renewed = record.clone();
        renewed.renew_checkout(&scope("k"));
        assert_eq!(renewed.checkout_attempt, 1);
        assert_ne!(renewed.checkout_request_id, record.checkout_request_id, "an answered failure renews the id");
        assert_eq!(renewed.cart_request_id, record.cart_request_id);
        let mut twice = again;
        twice.renew_checkout(&scope("k"));
        assert_eq!(twice.checkout_request_id, renewed.checkout_request_id, "and the renewal is deterministic too");
    }
}
