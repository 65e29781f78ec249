//! The seam between the facade and Partner Center: [`PartnerCenterApi`], one method per upstream
//! operation, in model types. The facade holds an `Arc<dyn PartnerCenterApi>`; production wires
//! [`PartnerCenter`], facade tests a mock. Every method takes an [`Authorized`] scope, which only
//! the policy checks produce.
//!
//! The operations are listed once below; each is implemented in its area's module (`customers`,
//! `catalog`, `commerce`, ...) as a method of [`PartnerCenter`] that this trait forwards to.

use time::OffsetDateTime;
use uuid::Uuid;

use super::{NextLink, PartnerCenter, UpstreamPage};
use crate::{
    auth::{Authorized, Partner, PartnerWide},
    context::RequestContext,
    error::Result,
    model::{
        CartId, Country, CustomerId, InvoiceId, OrderId, SubscriptionId, UpgradeId,
        agreement::{Agreement, AgreementMetadata, Contact},
        billing::{
            Invoice, InvoiceEstimateLink, InvoiceLineItem, InvoiceRef, InvoiceSummary, LineItemQuery, Statement,
        },
        catalog::{Availability, Product, Segment, Sku, TargetView},
        commerce::{Cart, CartLine, CheckoutResult, Order, OrderProvisioningStatus},
        customer::{BillingProfile, Customer},
        subscription::{AzureEntitlement, Subscription, SubscriptionStatusChange},
        upgrade::{ProductUpgradeEligibility, ProductUpgradeStatus},
        usage::{
            BudgetAmount, CustomerUsageRecord, CustomerUsageSummary, MeterUsageRecord, MonthlyUsageRecord,
            PartnerUsageSummary, ResourceUsageRecord, SpendingBudget, SubscriptionUsageRecord,
            SubscriptionUsageSummary,
        },
    },
};

/// Declares the trait from one list of operations, forwards it to [`PartnerCenter`]'s methods of
/// the same names, and (in tests) declares [`fake::FakePartnerCenter`].
macro_rules! partner_center_api {
    ($($(#[doc = $doc:literal])+ fn $name:ident(&self $(, $arg:ident: $ty:ty)* $(,)?) -> $ret:ty;)+) => {
        /// Partner Center, as the facade sees it.
        #[async_trait::async_trait]
        pub trait PartnerCenterApi: Send + Sync {
            $($(#[doc = $doc])+ async fn $name(&self $(, $arg: $ty)*) -> Result<$ret>;)+
        }

        #[async_trait::async_trait]
        impl PartnerCenterApi for PartnerCenter {
            $(async fn $name(&self $(, $arg: $ty)*) -> Result<$ret> {
                PartnerCenter::$name(self $(, $arg)*).await
            })+
        }

        /// A scripted stand-in for facade unit tests: each operation answers with the closure a
        /// test gave it (an operation without one fails the test), and every call is recorded.
        #[cfg(test)]
        pub mod fake {
            use super::*;

            #[derive(Default)]
            #[allow(clippy::type_complexity)]
            pub struct FakePartnerCenter {
                $(pub $name: parking_lot::Mutex<Option<Box<dyn FnMut($($ty),*) -> Result<$ret> + Send>>>,)+
                calls: parking_lot::Mutex<Vec<&'static str>>,
            }

            impl FakePartnerCenter {
                /// The operations called so far, in order.
                pub fn calls(&self) -> Vec<&'static str> {
                    self.calls.lock().clone()
                }

                /// How often `operation` was called.
                pub fn count(&self, operation: &str) -> usize {
                    self.calls.lock().iter().filter(|c| **c == operation).count()
                }
            }

            #[async_trait::async_trait]
            impl PartnerCenterApi for FakePartnerCenter {
                $(async fn $name(&self $(, $arg: $ty)*) -> Result<$ret> {
                    self.calls.lock().push(stringify!($name));
                    match self.$name.lock().as_mut() {
                        Some(answer) => answer($($arg),*),
                        None => panic!(concat!("unexpected call of ", stringify!($name))),
                    }
                })+
            }
        }
    };
}

partner_center_api! {
    /// `GET /v1/customers?size=` (first page) or the page `next` points to.
    fn list_customers(&self, ctx: &RequestContext, partner: &Authorized<Partner>, size: u32, next: Option<NextLink>) -> UpstreamPage<Customer>;
    /// `GET /v1/customers/{id}`.
    fn get_customer(&self, ctx: &RequestContext, customer: &Authorized<CustomerId>) -> Customer;
    /// `GET /v1/customers/{id}/profiles/billing`.
    fn billing_profile(&self, ctx: &RequestContext, customer: &Authorized<CustomerId>) -> BillingProfile;

    /// A1 `GET /v1/agreements?agreementType=MicrosoftCustomerAgreement`.
    fn agreement_metadata(&self, ctx: &RequestContext, partner: &Authorized<Partner>) -> Vec<AgreementMetadata>;
    /// A3 `GET /v1/customers/{id}/agreements?agreementType=MicrosoftCustomerAgreement`.
    fn list_agreements(&self, ctx: &RequestContext, customer: &Authorized<CustomerId>) -> Vec<Agreement>;
    /// A4 `GET /v1/customers/{id}/directSignedMicrosoftCustomerAgreementStatus`.
    fn direct_sign_status(&self, ctx: &RequestContext, customer: &Authorized<CustomerId>) -> bool;
    /// A2 `POST /v1/customers/{id}/agreements`.
    fn confirm_agreement(&self, ctx: &RequestContext, customer: &Authorized<CustomerId>, contact: &Contact, template_id: &str, date_agreed: OffsetDateTime) -> Agreement;

    /// C1 `GET /v1/products?country=&targetView=&targetSegment=`, every page.
    fn list_products(&self, ctx: &RequestContext, partner: &Authorized<Partner>, country: &Country, view: TargetView, segment: Option<Segment>) -> Vec<Product>;
    /// C2 `GET /v1/products/{productId}?country=`.
    fn get_product(&self, ctx: &RequestContext, partner: &Authorized<Partner>, country: &Country, product: &str) -> Product;
    /// C3 `GET /v1/products/{productId}/skus?country=&targetSegment=`, every page.
    fn list_skus(&self, ctx: &RequestContext, partner: &Authorized<Partner>, country: &Country, product: &str, segment: Option<Segment>) -> Vec<Sku>;
    /// C4 `GET /v1/products/{productId}/skus/{skuId}?country=`.
    fn get_sku(&self, ctx: &RequestContext, partner: &Authorized<Partner>, country: &Country, product: &str, sku: &str) -> Sku;
    /// C5 `GET .../skus/{skuId}/availabilities?country=&targetSegment=`, every page.
    fn list_availabilities(&self, ctx: &RequestContext, partner: &Authorized<Partner>, country: &Country, product: &str, sku: &str, segment: Option<Segment>) -> Vec<Availability>;
    /// C6 `GET .../availabilities/{availabilityId}?country=`.
    fn get_availability(&self, ctx: &RequestContext, partner: &Authorized<Partner>, country: &Country, product: &str, sku: &str, availability: &str) -> Availability;

    /// O1 `POST /v1/customers/{id}/carts`; `request_id` resumes an earlier attempt.
    fn create_cart(&self, ctx: &RequestContext, customer: &Authorized<CustomerId>, lines: &[CartLine], request_id: Option<Uuid>) -> Cart;
    /// O2 `PUT /v1/customers/{id}/carts/{cartId}` with the whole cart.
    fn update_cart(&self, ctx: &RequestContext, customer: &Authorized<CustomerId>, cart: CartId, lines: &[CartLine]) -> Cart;
    /// O3 `POST .../carts/{cartId}/checkout`; the same `request_id` replays the first outcome.
    fn checkout(&self, ctx: &RequestContext, customer: &Authorized<CustomerId>, cart: CartId, request_id: Option<Uuid>) -> CheckoutResult;
    /// O4 `GET /v1/customers/{id}/orders/{orderId}`.
    fn get_order(&self, ctx: &RequestContext, customer: &Authorized<CustomerId>, order: &OrderId) -> Order;
    /// O5 `GET /v1/customers/{id}/orders` (or the page `next` points to).
    fn list_orders(&self, ctx: &RequestContext, customer: &Authorized<CustomerId>, next: Option<NextLink>) -> UpstreamPage<Order>;
    /// O6 `GET .../orders/{orderId}/provisioningstatus`.
    fn order_provisioning_status(&self, ctx: &RequestContext, customer: &Authorized<CustomerId>, order: &OrderId) -> OrderProvisioningStatus;

    /// S1/S2 `GET /v1/customers/{id}/subscriptions[?order_id=]` (or the page `next` points to).
    fn list_subscriptions(&self, ctx: &RequestContext, customer: &Authorized<CustomerId>, order: Option<&OrderId>, next: Option<NextLink>, azure_plan_product: &str) -> UpstreamPage<Subscription>;
    /// S3 `GET /v1/customers/{id}/subscriptions/{subscriptionId}`.
    fn get_subscription(&self, ctx: &RequestContext, customer: &Authorized<CustomerId>, subscription: SubscriptionId, azure_plan_product: &str) -> Subscription;
    /// S6 `GET .../subscriptions/{subscriptionId}/azureentitlements`.
    fn azure_entitlements(&self, ctx: &RequestContext, customer: &Authorized<CustomerId>, subscription: SubscriptionId) -> Vec<AzureEntitlement>;
    /// S4/S5: `PATCH .../subscriptions/{subscriptionId}` with the new status and `If-Match`.
    fn change_subscription_status(&self, ctx: &RequestContext, customer: &Authorized<CustomerId>, subscription: SubscriptionId, change: SubscriptionStatusChange, azure_plan_product: &str) -> Subscription;

    /// U1 `POST /v1/productUpgrades/eligibility`.
    fn upgrade_eligibility(&self, ctx: &RequestContext, customer: &Authorized<CustomerId>, family: &str) -> ProductUpgradeEligibility;
    /// U2 `POST /v1/productupgrades`.
    fn create_upgrade(&self, ctx: &RequestContext, customer: &Authorized<CustomerId>, family: &str) -> UpgradeId;
    /// U3 `POST /v1/productUpgrades/{id}/status`.
    fn upgrade_status(&self, ctx: &RequestContext, customer: &Authorized<CustomerId>, upgrade: UpgradeId, family: &str) -> ProductUpgradeStatus;

    /// G1 `GET /v1/usagesummary`.
    fn partner_usage_summary(&self, ctx: &RequestContext, partner: &Authorized<PartnerWide>) -> PartnerUsageSummary;
    /// G2 `GET /v1/customers/usagerecords` (or the page `next` points to).
    fn customers_usage_records(&self, ctx: &RequestContext, partner: &Authorized<PartnerWide>, next: Option<NextLink>) -> UpstreamPage<CustomerUsageRecord>;
    /// G3 `GET /v1/customers/{id}/usagesummary`.
    fn customer_usage_summary(&self, ctx: &RequestContext, customer: &Authorized<CustomerId>) -> CustomerUsageSummary;
    /// G4 `GET /v1/customers/{id}/subscriptions/usagerecords` (or the page `next` points to).
    fn subscription_usage_records(&self, ctx: &RequestContext, customer: &Authorized<CustomerId>, next: Option<NextLink>) -> UpstreamPage<SubscriptionUsageRecord>;
    /// G5 `GET .../subscriptions/{subscriptionId}/usagesummary`.
    fn subscription_usage_summary(&self, ctx: &RequestContext, customer: &Authorized<CustomerId>, subscription: SubscriptionId) -> SubscriptionUsageSummary;
    /// G6 `GET .../subscriptions/{subscriptionId}/usagerecords/resources` (or the page `next` points to).
    fn monthly_usage_records(&self, ctx: &RequestContext, customer: &Authorized<CustomerId>, subscription: SubscriptionId, next: Option<NextLink>) -> UpstreamPage<MonthlyUsageRecord>;
    /// G7 `GET .../subscriptions/{subscriptionId}/resourceusagerecords` (or the page `next` points to).
    fn resource_usage_records(&self, ctx: &RequestContext, customer: &Authorized<CustomerId>, subscription: SubscriptionId, size: u32, next: Option<NextLink>) -> UpstreamPage<ResourceUsageRecord>;
    /// G8 `GET .../subscriptions/{subscriptionId}/meterusagerecords` (or the page `next` points to).
    fn meter_usage_records(&self, ctx: &RequestContext, customer: &Authorized<CustomerId>, subscription: SubscriptionId, size: u32, next: Option<NextLink>) -> UpstreamPage<MeterUsageRecord>;
    /// G9 `GET /v1/customers/{id}/usagebudget`.
    fn spending_budget(&self, ctx: &RequestContext, customer: &Authorized<CustomerId>) -> SpendingBudget;
    /// G10 `PATCH /v1/customers/{id}/usagebudget`; `None` removes the budget.
    fn update_spending_budget(&self, ctx: &RequestContext, customer: &Authorized<CustomerId>, amount: Option<BudgetAmount>) -> SpendingBudget;

    /// I1 `GET /v1/invoices?size=&offset=0` (or the page `next` points to).
    fn list_invoices(&self, ctx: &RequestContext, partner: &Authorized<PartnerWide>, size: u32, next: Option<NextLink>) -> UpstreamPage<Invoice>;
    /// I5 `GET /v1/invoices/summaries`.
    fn invoice_summaries(&self, ctx: &RequestContext, partner: &Authorized<PartnerWide>) -> Vec<InvoiceSummary>;
    /// I2 `GET /v1/invoices/estimates/links?currencycode=`.
    fn estimate_links(&self, ctx: &RequestContext, partner: &Authorized<PartnerWide>, currency: &str) -> Vec<InvoiceEstimateLink>;
    /// I3 `GET /v1/invoices/{id}`.
    fn get_invoice(&self, ctx: &RequestContext, partner: &Authorized<PartnerWide>, invoice: &InvoiceId) -> Invoice;
    /// I4 `GET /v1/invoices/{id}/documents/statement`, streamed.
    fn invoice_statement(&self, ctx: &RequestContext, partner: &Authorized<PartnerWide>, invoice: &InvoiceId) -> Statement;
    /// I6–I9: line items of an invoice, or unbilled ones (or the page `next` points to).
    fn invoice_line_items(&self, ctx: &RequestContext, partner: &Authorized<PartnerWide>, invoice: &InvoiceRef, query: &LineItemQuery, size: u32, next: Option<NextLink>) -> UpstreamPage<InvoiceLineItem>;
}
