//! Proof that the policy allowed something: [`Authorized`] values come only from the checks in
//! `policy`, and every upstream method takes one, so no code path reaches Partner Center for a
//! customer (or partner-wide data) the caller may not touch.

use std::{fmt, sync::Arc};

use crate::model::CustomerId;

/// `value`, which the caller acting for `partner` may act on.
#[derive(Clone, PartialEq, Eq)]
pub struct Authorized<T> {
    partner: Arc<str>,
    value: T,
}

/// The caller's partner tenant, for partner-level reads (catalog, customer list, agreement
/// metadata) whose results the facade filters or which hold no customer data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partner;

/// Data of every customer of the partner (invoices, partner usage): the `customers: "*"` scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartnerWide;

impl<T> Authorized<T> {
    /// Only the policy checks call this.
    pub(super) fn new(partner: Arc<str>, value: T) -> Self {
        Self { partner, value }
    }

    /// The configured partner tenant the caller acts for.
    pub fn partner(&self) -> &str {
        &self.partner
    }

    pub fn value(&self) -> &T {
        &self.value
    }
}

impl Authorized<CustomerId> {
    pub fn customer(&self) -> CustomerId {
        self.value
    }

    /// The partner level of the same caller (a customer-scoped operation may read the catalog).
    pub fn partner_level(&self) -> Authorized<Partner> {
        Authorized::new(self.partner.clone(), Partner)
    }
}

impl<T: fmt::Debug> fmt::Debug for Authorized<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Authorized({}, {:?})", self.partner, self.value)
    }
}
