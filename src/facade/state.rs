//! State the facade keeps between calls: idempotency records of Azure plan purchases and the
//! orders created through the gateway (read-your-writes). Both sit behind traits with in-memory
//! defaults; replicas that must share them plug in a shared store (e.g. Redis) instead.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use parking_lot::Mutex;
use uuid::Uuid;

use crate::model::{CartId, CustomerId, OrderId, commerce::AzurePlan};

/// Who a record belongs to: the same key from another partner or customer is another record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyScope {
    pub partner: String,
    pub customer: CustomerId,
    pub key: String,
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
    pub result: Option<AzurePlan>,
}

impl PurchaseRecord {
    pub fn new(fingerprint: String) -> Self {
        Self {
            fingerprint,
            cart_request_id: Uuid::new_v4(),
            cart_id: None,
            checkout_request_id: Uuid::new_v4(),
            result: None,
        }
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
    async fn claim(&self, scope: &IdempotencyScope, fingerprint: &str) -> Claim;
    /// Saves progress and keeps the claim.
    async fn save(&self, scope: &IdempotencyScope, record: &PurchaseRecord);
    /// Saves progress and gives the claim up (the call ended, successfully or not).
    async fn release(&self, scope: &IdempotencyScope, record: &PurchaseRecord);
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
    async fn claim(&self, scope: &IdempotencyScope, fingerprint: &str) -> Claim {
        let now = Instant::now();
        let mut records = self.records.lock();
        records.retain(|_, entry| now.duration_since(entry.created) < self.retention);
        match records.get_mut(scope) {
            None => {
                let record = PurchaseRecord::new(fingerprint.to_owned());
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
        }
    }

    async fn save(&self, scope: &IdempotencyScope, record: &PurchaseRecord) {
        if let Some(entry) = self.records.lock().get_mut(scope) {
            entry.record = record.clone();
        }
    }

    async fn release(&self, scope: &IdempotencyScope, record: &PurchaseRecord) {
        if let Some(entry) = self.records.lock().get_mut(scope) {
            entry.record = record.clone();
            entry.claimed_until = None;
        }
    }
}

/// Orders created through the gateway, so a customer's order list shows them at once although
/// Partner Center lists new orders only after a delay.
#[async_trait]
pub trait RecentOrders: Send + Sync {
    async fn record(&self, partner: &str, customer: CustomerId, order: &OrderId);
    /// Orders recorded for the customer and not yet expired, newest first.
    async fn recent(&self, partner: &str, customer: CustomerId) -> Vec<OrderId>;
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
    async fn record(&self, partner: &str, customer: CustomerId, order: &OrderId) {
        let mut orders = self.orders.lock();
        let list = orders.entry((partner.to_owned(), customer)).or_default();
        if !list.iter().any(|(id, _)| id == order) {
            list.push((order.clone(), Instant::now()));
        }
    }

    async fn recent(&self, partner: &str, customer: CustomerId) -> Vec<OrderId> {
        let now = Instant::now();
        let mut orders = self.orders.lock();
        let Some(list) = orders.get_mut(&(partner.to_owned(), customer)) else { return Vec::new() };
        list.retain(|(_, at)| now.duration_since(*at) < self.window);
        list.iter().rev().map(|(id, _)| id.clone()).collect()
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

    #[tokio::test]
    async fn a_key_runs_once_at_a_time_and_resumes_with_its_progress() {
        let store = InMemoryIdempotency::new(Duration::from_secs(60), Duration::from_secs(3600));
        let Claim::Run(mut record) = store.claim(&scope("k"), "f").await else { panic!("fresh key runs") };
        assert!(matches!(store.claim(&scope("k"), "f").await, Claim::Busy));
        assert!(matches!(store.claim(&scope("k"), "other").await, Claim::Mismatch));
        record.cart_id = Some(CartId::parse("c", "22222222-2222-2222-2222-222222222222").expect("id"));
        store.release(&scope("k"), &record).await;
        let Claim::Run(resumed) = store.claim(&scope("k"), "f").await else { panic!("released key resumes") };
        assert_eq!(resumed.cart_id, record.cart_id);
        assert_eq!(resumed.checkout_request_id, record.checkout_request_id);
        assert!(matches!(store.claim(&scope("other-key"), "f").await, Claim::Run(_)));
    }

    #[tokio::test]
    async fn recent_orders_expire_after_their_window() {
        let store = InMemoryRecentOrders::new(Duration::from_millis(50));
        let customer = CustomerId::parse("c", "11111111-1111-1111-1111-111111111111").expect("id");
        let order = OrderId::parse("o", "order-1").expect("id");
        store.record("p", customer, &order).await;
        store.record("p", customer, &order).await;
        assert_eq!(store.recent("p", customer).await, vec![order]);
        assert!(store.recent("q", customer).await.is_empty());
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(store.recent("p", customer).await.is_empty());
    }
}
