//! Carts, checkout, orders, and the one-call Azure plan purchase.

use tracing::instrument;

use super::{
    Facade,
    paging::walk,
    state::{Claim, IdempotencyScope, PurchaseRecord},
};
use crate::{
    auth::{Caller, Permission},
    context::RequestContext,
    error::{Error, ErrorKind, Result},
    model::{
        CartId, Country, CustomerId, OrderId, Page, PageRequest,
        commerce::{
            AzurePlan, AzurePlanInput, AzurePlanStatus, AzurePlanSubscription, Cart, CartInput, CartLineInput,
            CheckoutResult, Order, OrderProvisioningStatus,
        },
    },
    partner_center::client::UNREACHABLE,
};

/// The offer of the legacy Microsoft Azure subscription that cannot coexist with an Azure plan.
const LEGACY_AZURE_OFFER: &str = "MS-AZR-0145P";
/// Most subscription pages read while looking for Azure plans.
const MAX_SUBSCRIPTION_PAGES: usize = 20;

/// An `Idempotency-Key`: 1–128 visible ASCII characters.
pub fn parse_idempotency_key(field: &str, value: Option<&str>) -> Result<String> {
    let value = value.map(str::trim).unwrap_or_default();
    if value.is_empty() {
        return Err(Error::invalid_field(field, "is required: it makes the purchase safe to repeat"));
    }
    if value.len() > 128 || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::invalid_field(field, "must be 1-128 visible ASCII characters"));
    }
    Ok(value.to_owned())
}

/// A cart whose lines Partner Center flagged is refused, naming each line and its error.
fn reject_line_errors(cart: &Cart) -> Result<()> {
    let violations: Vec<crate::error::FieldViolation> = cart
        .line_items
        .iter()
        .enumerate()
        .filter_map(|(index, line)| {
            line.error.as_ref().map(|e| crate::error::FieldViolation {
                field: format!("lineItems[{index}].catalogItemId"),
                description: format!("{} ({}): {}", e.error_name, e.error_code, e.description),
            })
        })
        .collect();
    if violations.is_empty() {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::InvalidArgument,
        format!("Partner Center refused {} line item(s) of cart {}; see errors", violations.len(), cart.id),
    )
    .with_reason("CART_LINE_ITEM_ERRORS")
    .with_field_violations(violations))
}

impl Facade {
    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer))]
    pub async fn create_cart(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
        mut input: CartInput,
    ) -> Result<Cart> {
        caller.ensure_customer(customer, Permission::OrdersWrite)?;
        input.validate()?;
        let cart = self.pc.create_cart(ctx, caller.partner(), customer, &input.line_items, None).await?;
        reject_line_errors(&cart)?;
        Ok(cart)
    }

    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer, cart = %cart))]
    pub async fn update_cart(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
        cart: CartId,
        mut input: CartInput,
    ) -> Result<Cart> {
        caller.ensure_customer(customer, Permission::OrdersWrite)?;
        input.validate()?;
        let cart = self.pc.update_cart(ctx, caller.partner(), customer, cart, &input.line_items).await?;
        reject_line_errors(&cart)?;
        Ok(cart)
    }

    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer, cart = %cart))]
    pub async fn checkout(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
        cart: CartId,
    ) -> Result<CheckoutResult> {
        caller.ensure_customer(customer, Permission::OrdersWrite)?;
        let result = self.pc.checkout(ctx, caller.partner(), customer, cart, None).await?;
        for order in &result.orders {
            self.recent_orders.record(caller.partner(), customer, &order.id).await;
        }
        Ok(result)
    }

    /// The customer's orders, including ones created through the gateway that Partner Center does
    /// not list yet (it can take 15 minutes).
    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer))]
    pub async fn list_orders(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
        page: &PageRequest,
    ) -> Result<Page<Order>> {
        caller.ensure_customer(customer, Permission::OrdersRead)?;
        let binding = format!("orders.list|{}|{customer}", caller.partner());
        let first_page = page.page_token.is_none();
        let mut listed = walk(
            &self.pages,
            &binding,
            page,
            self.page_size(page),
            |next| async move { self.pc.list_orders(ctx, caller.partner(), customer, next.as_ref()).await },
            |_| true,
        )
        .await?;
        if first_page {
            let recent = self.recent_orders.recent(caller.partner(), customer).await;
            let missing: Vec<OrderId> = if recent.is_empty() {
                Vec::new()
            } else {
                // Whether Partner Center lists them already can only be told from the whole list.
                let known = self.all_order_ids(ctx, caller, customer).await?;
                recent.into_iter().filter(|id| !known.contains(id)).collect()
            };
            let mut prepend = Vec::with_capacity(missing.len());
            for id in missing {
                match self.pc.get_order(ctx, caller.partner(), customer, &id).await {
                    Ok(order) => prepend.push(order),
                    Err(error) if error.kind() == ErrorKind::NotFound => {}
                    Err(error) => return Err(error),
                }
            }
            prepend.append(&mut listed.items);
            listed.items = prepend;
        }
        Ok(listed)
    }

    async fn all_order_ids(&self, ctx: &RequestContext, caller: &Caller, customer: CustomerId) -> Result<Vec<OrderId>> {
        let mut ids = Vec::new();
        let mut next = None;
        for _ in 0..super::paging::MAX_UPSTREAM_PAGES_PER_CALL {
            let page = self.pc.list_orders(ctx, caller.partner(), customer, next.as_ref()).await?;
            ids.extend(page.items.into_iter().map(|o| o.id));
            match page.next {
                Some(link) => next = Some(link),
                None => break,
            }
        }
        Ok(ids)
    }

    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer, order = %order))]
    pub async fn get_order(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
        order: &OrderId,
    ) -> Result<Order> {
        caller.ensure_customer(customer, Permission::OrdersRead)?;
        self.pc.get_order(ctx, caller.partner(), customer, order).await
    }

    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer, order = %order))]
    pub async fn order_provisioning_status(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
        order: &OrderId,
    ) -> Result<OrderProvisioningStatus> {
        caller.ensure_customer(customer, Permission::OrdersRead)?;
        self.pc.order_provisioning_status(ctx, caller.partner(), customer, order).await
    }

    /// The customer's Azure plan subscriptions.
    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer))]
    pub async fn list_azure_plans(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
    ) -> Result<Vec<AzurePlanSubscription>> {
        caller.ensure_customer(customer, Permission::SubscriptionsRead)?;
        let product = self.settings.azure_plan_product_id.as_str();
        let mut plans = Vec::new();
        let mut next = None;
        for _ in 0..MAX_SUBSCRIPTION_PAGES {
            let page =
                self.pc.list_subscriptions(ctx, caller.partner(), customer, None, next.as_ref(), product).await?;
            plans.extend(page.items.into_iter().filter(|s| s.is_azure_plan).map(|s| AzurePlanSubscription {
                subscription_id: s.id,
                friendly_name: s.friendly_name,
                status: s.status,
                order_id: s.order_id,
                offer_id: s.offer_id,
            }));
            match page.next {
                Some(link) => next = Some(link),
                None => return Ok(plans),
            }
        }
        Err(Error::new(ErrorKind::UpstreamUnavailable, "the customer's subscription list did not end"))
    }

    /// Buys an Azure plan in one call: catalog item (cached), cart, checkout. The same
    /// `idempotency_key` never buys twice: a repeat answers with the first outcome, and a repeat of
    /// a call that failed half-way resumes it with the same `MS-RequestId`s, so Partner Center
    /// replays what it already committed instead of ordering again.
    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer))]
    pub async fn create_azure_plan(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
        idempotency_key: &str,
        input: &AzurePlanInput,
    ) -> Result<AzurePlan> {
        caller.ensure_customer(customer, Permission::OrdersWrite)?;
        let country = match &input.country {
            Some(country) => Country::parse("country", country)?,
            None => self.settings.default_country.clone(),
        };
        if input.friendly_name.as_ref().is_some_and(|n| n.trim().is_empty() || n.len() > 256) {
            return Err(Error::invalid_field("friendlyName", "must be 1-256 characters"));
        }
        let scope =
            IdempotencyScope { partner: caller.partner().to_owned(), customer, key: idempotency_key.to_owned() };
        let fingerprint = format!("{country}|{}", input.friendly_name.as_deref().unwrap_or(""));
        let record = match self.idempotency.claim(&scope, &fingerprint).await {
            Claim::Run(record) => record,
            Claim::Done(plan) => return self.refresh_plan(ctx, caller, plan).await,
            Claim::Busy => {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    "a purchase with this Idempotency-Key is still running; retry later",
                )
                .with_reason("IDEMPOTENCY_KEY_IN_USE")
                .with_retry_after(std::time::Duration::from_secs(2)));
            }
            Claim::Mismatch => {
                return Err(Error::invalid_field(
                    "Idempotency-Key",
                    "was already used for a purchase with other parameters",
                )
                .with_reason("IDEMPOTENCY_KEY_REUSED"));
            }
        };
        let mut record = record;
        let outcome = self.run_purchase(ctx, caller, &country, input, &scope, &mut record).await;
        match outcome {
            Ok(plan) => {
                record.result = Some(plan.clone());
                self.idempotency.release(&scope, &record).await;
                Ok(plan)
            }
            Err(error) => {
                // An answer arrived: the next attempt is a new logical call. No answer: keep the
                // request id, so a retry gets Partner Center's replay if it did commit.
                let outcome_unknown = error.reason() == UNREACHABLE || error.kind() == ErrorKind::UpstreamTimeout;
                if !outcome_unknown {
                    record.checkout_request_id = uuid::Uuid::new_v4();
                }
                self.idempotency.release(&scope, &record).await;
                Err(error)
            }
        }
    }

    async fn run_purchase(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        country: &Country,
        input: &AzurePlanInput,
        scope: &IdempotencyScope,
        record: &mut PurchaseRecord,
    ) -> Result<AzurePlan> {
        let customer = scope.customer;
        let item = self.resolve_azure_plan(ctx, caller, country).await?;
        let cart_id = match record.cart_id {
            Some(cart_id) => cart_id,
            None => {
                let line = CartLineInput {
                    catalog_item_id: item.catalog_item_id.clone(),
                    quantity: 1,
                    billing_cycle: "monthly".to_owned(),
                    term_duration: None,
                    friendly_name: input.friendly_name.clone(),
                    provisioning_context: Default::default(),
                };
                let cart =
                    self.pc.create_cart(ctx, caller.partner(), customer, &[line], Some(record.cart_request_id)).await?;
                reject_line_errors(&cart)?;
                record.cart_id = Some(cart.id);
                // Progress first: if this process dies now, a retry checks out this cart.
                self.idempotency.save(scope, record).await;
                cart.id
            }
        };
        let result =
            match self.pc.checkout(ctx, caller.partner(), customer, cart_id, Some(record.checkout_request_id)).await {
                Ok(result) => result,
                Err(error) => return Err(self.explain_purchase_failure(ctx, caller, customer, error).await),
            };
        let order = result
            .orders
            .iter()
            .find(|o| o.line_items.iter().any(|l| l.offer_id.eq_ignore_ascii_case(&item.catalog_item_id)))
            .or_else(|| result.orders.first())
            .cloned();
        let Some(order) = order else {
            let detail = result
                .order_errors
                .iter()
                .map(|e| format!("{} ({})", e.description, e.code))
                .collect::<Vec<_>>()
                .join("; ");
            let mut error =
                Error::new(ErrorKind::FailedPrecondition, format!("Partner Center created no order: {detail}"))
                    .with_reason("CHECKOUT_FAILED");
            if let Some(first) = result.order_errors.first() {
                error = error.with_upstream_code(first.code.to_string());
            }
            return Err(error);
        };
        self.recent_orders.record(caller.partner(), customer, &order.id).await;
        Ok(plan_from_order(customer, &item.catalog_item_id, &order, false))
    }

    /// A repeated call: the first outcome, with the order's current state.
    async fn refresh_plan(&self, ctx: &RequestContext, caller: &Caller, plan: AzurePlan) -> Result<AzurePlan> {
        if plan.status != AzurePlanStatus::Provisioning {
            return Ok(AzurePlan { replayed: true, ..plan });
        }
        match self.pc.get_order(ctx, caller.partner(), plan.customer_id, &plan.order_id).await {
            Ok(order) => Ok(plan_from_order(plan.customer_id, &plan.catalog_item_id, &order, true)),
            // The purchase happened; a failed status read must not look like a failed purchase.
            Err(error) => {
                tracing::warn!(error = %error.chain(), "could not refresh the Azure plan order status");
                Ok(AzurePlan { replayed: true, ..plan })
            }
        }
    }

    /// Partner Center does not say "this customer has MS-AZR-0145P" when refusing an Azure plan;
    /// on a refusal, look for it so the caller learns the reason and the way forward.
    async fn explain_purchase_failure(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
        error: Error,
    ) -> Error {
        let specific = !matches!(error.reason(), "INVALID_ARGUMENT" | "FAILED_PRECONDITION");
        if specific || !matches!(error.kind(), ErrorKind::InvalidArgument | ErrorKind::FailedPrecondition) {
            return error;
        }
        let product = self.settings.azure_plan_product_id.as_str();
        let Ok(page) = self.pc.list_subscriptions(ctx, caller.partner(), customer, None, None, product).await else {
            return error;
        };
        let legacy: Vec<_> = page
            .items
            .iter()
            .filter(|s| s.offer_id.eq_ignore_ascii_case(LEGACY_AZURE_OFFER) && s.status != "deleted")
            .collect();
        if legacy.is_empty() {
            return error;
        }
        let mut explained = Error::new(
            ErrorKind::FailedPrecondition,
            format!(
                "the customer has a Microsoft Azure (MS-AZR-0145P) subscription and cannot buy an Azure plan; transition it instead: \
                 GET /v1/customers/{customer}/product-upgrades/eligibility?productFamily=Azure, then POST /v1/customers/{customer}/product-upgrades"
            ),
        )
        .with_reason("CUSTOMER_HAS_LEGACY_AZURE_SUBSCRIPTION");
        if let Some(code) = error.upstream_code() {
            explained = explained.with_upstream_code(code.to_owned());
        }
        for subscription in legacy {
            explained = explained.with_precondition_violation(
                "LEGACY_AZURE_SUBSCRIPTION",
                subscription.id.to_string(),
                "an MS-AZR-0145P subscription must be transitioned, not joined by an Azure plan",
            );
        }
        explained
    }
}

fn plan_from_order(customer: CustomerId, catalog_item_id: &str, order: &Order, replayed: bool) -> AzurePlan {
    let subscription_id = order
        .line_items
        .iter()
        .find(|l| l.offer_id.eq_ignore_ascii_case(catalog_item_id))
        .or_else(|| order.line_items.first())
        .and_then(|l| l.subscription_id);
    let status = match (order.status.as_str(), subscription_id) {
        ("cancelled" | "error" | "failed", _) => AzurePlanStatus::Failed,
        (_, Some(_)) => AzurePlanStatus::Active,
        _ => AzurePlanStatus::Provisioning,
    };
    AzurePlan {
        customer_id: customer,
        order_id: order.id.clone(),
        subscription_id,
        status,
        catalog_item_id: catalog_item_id.to_owned(),
        order_status: order.status.clone(),
        replayed,
    }
}
