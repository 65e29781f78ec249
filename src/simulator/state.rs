//! The simulator's memory. Each area keeps its own part ([`aad::AadState`], ...) behind one lock;
//! handlers hold it only for the in-memory work, never across an await.

use parking_lot::{Mutex, MutexGuard};

use super::{SimulatorConfig, aad::AadState, catalog::CatalogState, control::ControlState, customers::CustomerState};

pub struct SimState {
    pub config: SimulatorConfig,
    inner: Mutex<Inner>,
}

pub struct Inner {
    pub aad: AadState,
    pub customers: CustomerState,
    pub catalog: CatalogState,
    pub control: ControlState,
}

impl SimState {
    pub fn seeded(config: SimulatorConfig) -> Self {
        Self {
            inner: Mutex::new(Inner {
                aad: AadState::seeded(),
                customers: CustomerState::seeded(),
                catalog: CatalogState::seeded(),
                control: ControlState::default(),
            }),
            config,
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock()
    }
}
