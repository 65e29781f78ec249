//! What must hold before the gateway buys an Azure plan for a customer, checked before any cart
//! exists (Partner Center would refuse later, and a refused checkout leaves a cart behind):
//!
//! - the country comes from the customer's billing profile (`defaultAddress.country`), unless the
//!   caller names one;
//! - the customer accepted the Microsoft Customer Agreement, confirmed by the partner or signed
//!   directly;
//! - the customer has no MS-AZR-0145P subscription (that one is transitioned, not joined).
//!
//! Facts that allow a purchase are remembered per partner and customer for
//! `commerce.purchase_checks_ttl`; a fact that blocks one is checked again next time.

use std::{sync::Arc, time::Duration};

use moka::future::Cache;

use super::Facade;
use crate::{
    auth::Authorized,
    context::RequestContext,
    error::{Error, ErrorKind, Reason, Result},
    model::{Country, CustomerId, agreement::MICROSOFT_CUSTOMER_AGREEMENT, subscription::Subscription},
};

/// The offer of the legacy Microsoft Azure subscription that cannot coexist with an Azure plan.
pub const LEGACY_AZURE_OFFER: &str = "MS-AZR-0145P";
/// Most subscription pages read while looking for an MS-AZR-0145P subscription.
const MAX_SUBSCRIPTION_PAGES: usize = 20;

type CustomerKey = (Arc<str>, CustomerId);

/// Remembered facts, per partner and customer.
pub struct PurchaseChecks {
    countries: Option<Cache<CustomerKey, Country>>,
    ready: Option<Cache<CustomerKey, ()>>,
}

impl PurchaseChecks {
    /// `ttl` zero remembers nothing.
    pub fn new(ttl: Duration) -> Self {
        Self { countries: remembered_for(ttl), ready: remembered_for(ttl) }
    }
}

fn remembered_for<V: Clone + Send + Sync + 'static>(ttl: Duration) -> Option<Cache<CustomerKey, V>> {
    (!ttl.is_zero()).then(|| Cache::builder().time_to_live(ttl).max_capacity(100_000).build())
}

fn key(customer: &Authorized<CustomerId>) -> CustomerKey {
    (Arc::from(customer.partner()), customer.customer())
}

impl Facade {
    /// The customer's country: its billing profile's default address.
    pub(super) async fn customer_country(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
    ) -> Result<Country> {
        if let Some(countries) = &self.checks.countries
            && let Some(country) = countries.get(&key(customer)).await
        {
            return Ok(country);
        }
        let profile = self.pc.billing_profile(ctx, customer).await?;
        let country = Country::parse("defaultAddress.country", &profile.default_address.country).map_err(|_| {
            Error::new(
                ErrorKind::FailedPrecondition,
                format!(
                    "the customer's billing profile has no usable country ({:?}); name the country in the request",
                    profile.default_address.country
                ),
            )
        })?;
        if let Some(countries) = &self.checks.countries {
            countries.insert(key(customer), country.clone()).await;
        }
        Ok(country)
    }

    /// The customer may buy an Azure plan: it accepted the Microsoft Customer Agreement and has
    /// no MS-AZR-0145P subscription. Each refusal names the way forward.
    pub(super) async fn ensure_ready_to_buy(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
    ) -> Result<()> {
        if self.checks.ready.as_ref().is_some_and(|ready| ready.contains_key(&key(customer))) {
            return Ok(());
        }
        self.ensure_agreement_accepted(ctx, customer).await?;
        let legacy = self.legacy_azure_subscriptions(ctx, customer).await?;
        if !legacy.is_empty() {
            return Err(legacy_azure_error(customer.customer(), &legacy));
        }
        if let Some(ready) = &self.checks.ready {
            ready.insert(key(customer), ()).await;
        }
        Ok(())
    }

    async fn ensure_agreement_accepted(&self, ctx: &RequestContext, customer: &Authorized<CustomerId>) -> Result<()> {
        let confirmed = match self.pc.list_agreements(ctx, customer).await {
            Ok(agreements) => {
                agreements.iter().any(|a| a.agreement_type.eq_ignore_ascii_case(MICROSOFT_CUSTOMER_AGREEMENT))
            }
            // Both reads need the app+user flow; without it Partner Center's own refusal at
            // checkout (13605) stays the check.
            Err(error) if error.reason() == Reason::AppUserFlowNotConfigured => {
                tracing::debug!("agreement pre-check skipped: the app+user flow is not configured");
                return Ok(());
            }
            Err(error) => return Err(error),
        };
        if confirmed || self.pc.direct_sign_status(ctx, customer).await? {
            return Ok(());
        }
        // The purchase adds the way forward (see `commerce::with_next_step`), as for Partner
        // Center's own refusal.
        Err(Error::new(
            ErrorKind::PreconditionRequired,
            "the customer has not accepted the Microsoft Customer Agreement",
        )
        .with_reason(Reason::McaNotAccepted))
    }

    /// The customer's MS-AZR-0145P subscriptions that are not deleted.
    pub(super) async fn legacy_azure_subscriptions(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
    ) -> Result<Vec<Subscription>> {
        let product = self.options.azure_plan_product_id.as_str();
        let mut legacy = Vec::new();
        let mut next = None;
        for _ in 0..MAX_SUBSCRIPTION_PAGES {
            let page = self.pc.list_subscriptions(ctx, customer, None, next.take(), product).await?;
            legacy.extend(
                page.items
                    .into_iter()
                    .filter(|s| s.offer_id.eq_ignore_ascii_case(LEGACY_AZURE_OFFER) && s.status != "deleted"),
            );
            match page.next {
                Some(link) => next = Some(link),
                None => return Ok(legacy),
            }
        }
        Err(Error::new(ErrorKind::UpstreamUnavailable, "the customer's subscription list did not end"))
    }
}

/// The refusal of an Azure plan for a customer with MS-AZR-0145P subscriptions, naming each and
/// the transition to use instead.
pub(super) fn legacy_azure_error(customer: CustomerId, legacy: &[Subscription]) -> Error {
    let mut error = Error::new(
        ErrorKind::FailedPrecondition,
        "the customer has a Microsoft Azure (MS-AZR-0145P) subscription and cannot buy an Azure plan",
    )
    .with_reason(Reason::CustomerHasLegacyAzureSubscription)
    .with_next_step(format!(
        "transition it instead: check eligibility (CheckProductUpgradeEligibility / GET /v1/customers/{customer}/product-upgrades/eligibility?productFamily=Azure), \
         then upgrade (CreateProductUpgrade / POST /v1/customers/{customer}/product-upgrades)"
    ));
    for subscription in legacy {
        error = error.with_precondition_violation(
            "LEGACY_AZURE_SUBSCRIPTION",
            subscription.id.to_string(),
            "an MS-AZR-0145P subscription must be transitioned, not joined by an Azure plan",
        );
    }
    error
}
