//! Who is calling, and what they may do.
//!
//! [`Authenticator`] turns a bearer token into a [`Caller`] (JWT verification with pinned
//! algorithms, `iss`/`aud`/`exp`/`nbf`); the facade asks the `Caller` (see `policy`) before any
//! upstream call. A `Caller` can only be built here, so no code path reaches Partner Center
//! without one.

pub mod authorized;
pub mod dev;
pub mod jwt;
pub mod keys;
pub mod policy;

use std::{collections::HashSet, fmt, sync::Arc};

pub use authorized::{Authorized, Partner, PartnerWide};
pub use jwt::Authenticator;

use crate::model::CustomerId;

/// Permissions a token grants, from its `scp` (space separated) or `roles` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    CatalogRead,
    CustomersRead,
    CustomersWrite,
    OrdersRead,
    OrdersWrite,
    SubscriptionsRead,
    SubscriptionsWrite,
    UsageRead,
    BudgetWrite,
    InvoicesRead,
}

impl Permission {
    pub const ALL: [Permission; 10] = [
        Self::CatalogRead,
        Self::CustomersRead,
        Self::CustomersWrite,
        Self::OrdersRead,
        Self::OrdersWrite,
        Self::SubscriptionsRead,
        Self::SubscriptionsWrite,
        Self::UsageRead,
        Self::BudgetWrite,
        Self::InvoicesRead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CatalogRead => "catalog.read",
            Self::CustomersRead => "customers.read",
            Self::CustomersWrite => "customers.write",
            Self::OrdersRead => "orders.read",
            Self::OrdersWrite => "orders.write",
            Self::SubscriptionsRead => "subscriptions.read",
            Self::SubscriptionsWrite => "subscriptions.write",
            Self::UsageRead => "usage.read",
            Self::BudgetWrite => "budget.write",
            Self::InvoicesRead => "invoices.read",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of [`Permission`]s.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Permissions(u16);

impl Permissions {
    pub fn contains(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }

    pub fn insert(&mut self, permission: Permission) {
        self.0 |= permission.bit();
    }

    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL.into_iter().filter(move |p| self.contains(*p))
    }
}

impl FromIterator<Permission> for Permissions {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        let mut set = Self::default();
        for p in iter {
            set.insert(p);
        }
        set
    }
}

impl fmt::Debug for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter().map(Permission::as_str)).finish()
    }
}

/// Which customers of its partner a caller may act on (the `customers` claim).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerScope {
    /// `"*"`: every customer of the partner, and partner-wide data.
    All,
    Only(HashSet<CustomerId>),
}

/// An authenticated caller. Only [`Authenticator`] (and tests) build one. Cheap to clone: every
/// request gets its own from the verified-token cache.
#[derive(Clone)]
pub struct Caller {
    subject: Arc<str>,
    partner: Arc<str>,
    customers: Arc<CustomerScope>,
    permissions: Permissions,
}

impl Caller {
    pub(crate) fn new(subject: String, partner: Arc<str>, customers: CustomerScope, permissions: Permissions) -> Self {
        Self { subject: Arc::from(subject), partner, customers: Arc::new(customers), permissions }
    }

    /// A caller for unit tests of other modules.
    #[cfg(test)]
    pub fn for_tests(partner: &str, customers: CustomerScope, permissions: &[Permission]) -> Self {
        Self::new("test".to_owned(), Arc::from(partner), customers, permissions.iter().copied().collect())
    }

    /// The token's `sub`.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The configured partner tenant this caller acts for.
    pub fn partner(&self) -> &str {
        &self.partner
    }

    pub fn customers(&self) -> &CustomerScope {
        &self.customers
    }

    pub fn permissions(&self) -> Permissions {
        self.permissions
    }
}

impl fmt::Debug for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Caller")
            .field("subject", &self.subject)
            .field("partner", &self.partner)
            .field("customers", &self.customers)
            .field("permissions", &self.permissions)
            .finish()
    }
}
