//! The authorization rules, as pure functions of the [`Caller`]. The facade calls one of these
//! first in every operation, before anything reaches Partner Center.

use super::{
    Caller, CustomerScope, Permission,
    authorized::{Authorized, Partner, PartnerWide},
};
use crate::{
    error::{Error, Reason, Result},
    model::CustomerId,
};

impl Caller {
    /// The token grants `permission` on the caller's partner (partner-level reads).
    pub fn ensure_permission(&self, permission: Permission) -> Result<Authorized<Partner>> {
        if self.permissions().contains(permission) {
            Ok(Authorized::new(self.partner.clone(), Partner))
        } else {
            Err(Error::permission_denied(format!("the token lacks the permission {permission}"))
                .with_reason(Reason::MissingPermission))
        }
    }

    /// The caller may act on `customer` with `permission`.
    pub fn ensure_customer(&self, customer: CustomerId, permission: Permission) -> Result<Authorized<CustomerId>> {
        self.ensure_permission(permission)?;
        if self.can_access(customer) {
            Ok(Authorized::new(self.partner.clone(), customer))
        } else {
            Err(Error::permission_denied(format!("the token does not grant access to customer {customer}"))
                .with_reason(Reason::CustomerNotInScope))
        }
    }

    /// Partner-wide data (invoices, partner usage) needs `customers: "*"` and `permission`.
    pub fn ensure_partner_wide(&self, permission: Permission) -> Result<Authorized<PartnerWide>> {
        self.ensure_permission(permission)?;
        if self.customers() == &CustomerScope::All {
            Ok(Authorized::new(self.partner.clone(), PartnerWide))
        } else {
            Err(Error::permission_denied(
                "partner-wide data needs a token with customers: \"*\"; this token is limited to some customers",
            )
            .with_reason(Reason::PartnerWideAccessRequired))
        }
    }

    pub fn can_access(&self, customer: CustomerId) -> bool {
        match self.customers() {
            CustomerScope::All => true,
            CustomerScope::Only(set) => set.contains(&customer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    const A: &str = "11111111-1111-1111-1111-111111111111";
    const B: &str = "22222222-2222-2222-2222-222222222222";

    fn id(s: &str) -> CustomerId {
        CustomerId::parse("id", s).expect("valid id")
    }

    fn scoped_to_a(permissions: &[Permission]) -> Caller {
        Caller::for_tests("p", CustomerScope::Only([id(A)].into_iter().collect()), permissions)
    }

    #[test]
    fn a_caller_scoped_to_a_reaches_a_but_not_b() {
        let caller = scoped_to_a(&[Permission::CustomersRead]);
        let authorized = caller.ensure_customer(id(A), Permission::CustomersRead).expect("A is in scope");
        assert_eq!((authorized.partner(), authorized.customer()), ("p", id(A)));
        let error = caller.ensure_customer(id(B), Permission::CustomersRead).expect_err("B is out of scope");
        assert_eq!(error.kind(), ErrorKind::PermissionDenied);
        assert!(error.detail().contains(B), "{}", error.detail());
    }

    #[test]
    fn a_missing_permission_is_named() {
        let caller = scoped_to_a(&[Permission::CustomersRead]);
        let error = caller.ensure_customer(id(A), Permission::OrdersWrite).expect_err("no orders.write");
        assert!(error.detail().contains("orders.write"));
        assert_eq!(error.reason(), Reason::MissingPermission);
    }

    #[test]
    fn partner_wide_data_needs_the_star_scope() {
        let scoped = scoped_to_a(&[Permission::InvoicesRead]);
        assert_eq!(
            scoped.ensure_partner_wide(Permission::InvoicesRead).map(|_| ()).map_err(|e| e.reason()),
            Err(Reason::PartnerWideAccessRequired)
        );
        let all = Caller::for_tests("p", CustomerScope::All, &[Permission::InvoicesRead]);
        assert!(all.ensure_partner_wide(Permission::InvoicesRead).is_ok());
        assert!(all.ensure_partner_wide(Permission::UsageRead).is_err());
    }
}
