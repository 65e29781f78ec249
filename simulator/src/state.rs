//! The simulator's memory. Each area keeps its own part ([`aad::AadState`], ...) behind one lock;
//! handlers hold it only for the in-memory work, never across an await.

use std::time::{Duration, SystemTime};

use parking_lot::{Mutex, MutexGuard};

use super::{
    SimulatorConfig, aad::AadState, agreements::AgreementState, billing_data::BillingState, catalog::CatalogState,
    commerce::CommerceState, control::ControlState, customers::CustomerState, idempotency::IdempotencyState,
    subscriptions::SubscriptionState, upgrades::UpgradeState,
};

pub struct SimState {
    pub config: SimulatorConfig,
    inner: Mutex<Inner>,
    /// How far the simulated clock runs ahead of the real one (see [`SimState::now`]).
    clock_offset: Mutex<Duration>,
}

pub struct Inner {
    pub aad: AadState,
    pub customers: CustomerState,
    pub catalog: CatalogState,
    pub control: ControlState,
    pub agreements: AgreementState,
    pub commerce: CommerceState,
    pub subscriptions: SubscriptionState,
    pub upgrades: UpgradeState,
    pub idempotency: IdempotencyState,
    /// Usage budgets and the continuation-token key of the usage and invoice routes.
    pub billing: BillingState,
}

impl SimState {
    pub fn seeded(config: SimulatorConfig) -> Self {
        Self {
            inner: Mutex::new(Inner {
                aad: AadState::seeded(),
                customers: CustomerState::seeded(),
                catalog: CatalogState::seeded(),
                control: ControlState::default(),
                agreements: AgreementState::seeded(),
                commerce: CommerceState::default(),
                subscriptions: SubscriptionState::seeded(),
                upgrades: UpgradeState::default(),
                idempotency: IdempotencyState::default(),
                billing: BillingState::seeded(),
            }),
            config,
            clock_offset: Mutex::new(Duration::ZERO),
        }
    }

    /// The simulator's clock: real time plus whatever tests advanced it by, so expiry, listing
    /// delays and state machines can be exercised without waiting.
    pub fn now(&self) -> SystemTime {
        SystemTime::now() + *self.clock_offset.lock()
    }

    /// Moves the simulated clock forward.
    pub fn advance_clock(&self, by: Duration) {
        *self.clock_offset.lock() += by;
    }

    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock()
    }
}
