//! Carts, checkout, orders, and the one-call Azure plan purchase.

use tracing::instrument;

use super::{
    Facade,
    paging::{PageBinding, walk},
    purchase_checks::legacy_azure_error,
    state::{Claim, IdempotencyScope, PurchaseRecord},
};
use crate::{
    auth::{Authorized, Caller, Permission},
    context::RequestContext,
    error::{Error, ErrorKind, FieldViolation, Reason, Result},
    model::{
        CartId, CustomerId, OrderId, Page, PageRequest, Parsed,
        catalog::Sku,
        commerce::{
            AzurePlan, AzurePlanOrder, AzurePlanStatus, AzurePlanSubscription, BillingCycle, Cart, CartLine,
            CatalogItemId, CheckoutResult, Order, OrderProvisioningStatus,
        },
    },
};

/// Most subscription pages read while looking for Azure plans.
const MAX_SUBSCRIPTION_PAGES: usize = 20;

/// A cart whose lines Partner Center flagged is refused, naming each line (in the caller's
/// spelling, for lines the caller sent) and its error.
fn reject_line_errors(cart: &Cart, sent: &[CartLine]) -> Result<()> {
    let refused: Vec<(usize, String)> = cart
        .line_items
        .iter()
        .enumerate()
        .filter_map(|(index, line)| {
            line.error.as_ref().map(|e| (index, format!("{} ({}): {}", e.error_name, e.error_code, e.description)))
        })
        .collect();
    if refused.is_empty() {
        return Ok(());
    }
    let detail = format!("Partner Center refused {} line item(s) of cart {}", refused.len(), cart.id);
    let fields: Option<Vec<FieldViolation>> = refused
        .iter()
        .map(|(index, description)| {
            let field = sent.get(*index)?.catalog_item_field.clone()?;
            Some(FieldViolation { field, description: description.clone() })
        })
        .collect();
    let error = match fields {
        Some(violations) => {
            Error::new(ErrorKind::InvalidArgument, format!("{detail}; see errors")).with_field_violations(violations)
        }
        // A line the gateway built itself (the Azure plan purchase): not the caller's argument.
        None => {
            let reasons: Vec<&str> = refused.iter().map(|(_, description)| description.as_str()).collect();
            Error::new(ErrorKind::FailedPrecondition, format!("{detail}: {}", reasons.join("; ")))
        }
    };
    Err(error.with_reason(Reason::CartLineItemErrors))
}

/// Adds the way forward to a purchase refusal that has one, naming the operation on both
/// transports with the customer's real id.
fn with_next_step(error: Error, customer: CustomerId) -> Error {
    match error.reason() {
        Reason::McaNotAccepted => error.with_next_step(format!(
            "confirm the customer agreement (ConfirmCustomerAgreement / POST /v1/customers/{customer}/agreements), \
             or let the customer sign it in the Microsoft 365 admin center"
        )),
        Reason::AzurePlanUpgradeBlocksPurchase => error.with_next_step(format!(
            "follow the transition (CheckProductUpgradeEligibility / GET /v1/customers/{customer}/product-upgrades/eligibility?productFamily=Azure, then GetProductUpgrade with its id)"
        )),
        _ => error,
    }
}

impl Facade {
    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer))]
    pub async fn create_cart(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
        lines: Parsed<Vec<CartLine>>,
    ) -> Result<Cart> {
        let customer = caller.ensure_customer(customer, Permission::OrdersWrite)?;
        let lines = lines?;
        let cart = self
            .pc
            .create_cart(ctx, &customer, &lines, None)
            .await
            .map_err(|e| with_next_step(e, customer.customer()))?;
        reject_line_errors(&cart, &lines)?;
        Ok(cart)
    }

    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer, cart = %cart))]
    pub async fn update_cart(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
        cart: CartId,
        lines: Parsed<Vec<CartLine>>,
    ) -> Result<Cart> {
        let customer = caller.ensure_customer(customer, Permission::OrdersWrite)?;
        let lines = lines?;
        let cart = self.pc.update_cart(ctx, &customer, cart, &lines).await?;
        reject_line_errors(&cart, &lines)?;
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
        let customer = caller.ensure_customer(customer, Permission::OrdersWrite)?;
        let result =
            self.pc.checkout(ctx, &customer, cart, None).await.map_err(|e| with_next_step(e, customer.customer()))?;
        for order in &result.orders {
            self.remember_order(&customer, &order.id).await;
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
        let customer = caller.ensure_customer(customer, Permission::OrdersRead)?;
        let binding = PageBinding::new("orders.list", customer.partner()).with(customer.customer());
        let first_page = page.page_token.is_none();
        let mut listed = walk(
            &self.pages,
            &binding,
            page,
            self.page_size(page),
            |next| self.pc.list_orders(ctx, &customer, next),
            |_| true,
        )
        .await?;
        if first_page {
            // Without the shared store the list is Partner Center's alone: a read keeps working.
            let recent = match self.recent_orders.recent(customer.partner(), customer.customer()).await {
                Ok(recent) => recent,
                Err(error) => {
                    tracing::debug!(error = %error.chain(), "recent orders unavailable; listing Partner Center's orders only");
                    Vec::new()
                }
            };
            let missing: Vec<OrderId> = if recent.is_empty() {
                Vec::new()
            } else {
                // Whether Partner Center lists them already can only be told from the whole list.
                let known = self.all_order_ids(ctx, &customer).await?;
                recent.into_iter().filter(|id| !known.contains(id)).collect()
            };
            let mut prepend = Vec::with_capacity(missing.len());
            for id in missing {
                match self.pc.get_order(ctx, &customer, &id).await {
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

    async fn all_order_ids(&self, ctx: &RequestContext, customer: &Authorized<CustomerId>) -> Result<Vec<OrderId>> {
        let mut ids = Vec::new();
        let mut next = None;
        for _ in 0..super::paging::MAX_UPSTREAM_PAGES_PER_CALL {
            let page = self.pc.list_orders(ctx, customer, next.take()).await?;
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
        let customer = caller.ensure_customer(customer, Permission::OrdersRead)?;
        self.pc.get_order(ctx, &customer, order).await
    }

    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer, order = %order))]
    pub async fn order_provisioning_status(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
        order: &OrderId,
    ) -> Result<OrderProvisioningStatus> {
        let customer = caller.ensure_customer(customer, Permission::OrdersRead)?;
        self.pc.order_provisioning_status(ctx, &customer, order).await
    }

    /// The customer's Azure plan subscriptions.
    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer))]
    pub async fn list_azure_plans(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
    ) -> Result<Vec<AzurePlanSubscription>> {
        let customer = caller.ensure_customer(customer, Permission::SubscriptionsRead)?;
        let product = self.options.azure_plan_product_id.as_str();
        let mut plans = Vec::new();
        let mut next = None;
        for _ in 0..MAX_SUBSCRIPTION_PAGES {
            let page = self.pc.list_subscriptions(ctx, &customer, None, next.take(), product).await?;
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
    /// idempotency key never buys twice: a repeat answers with the first outcome, and a repeat of
    /// a call that failed half-way resumes it with the same `MS-RequestId`s, so Partner Center
    /// replays what it already committed instead of ordering again.
    #[instrument(skip_all, fields(partner = caller.partner(), customer = %customer))]
    pub async fn create_azure_plan(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        customer: CustomerId,
        order: Parsed<AzurePlanOrder>,
    ) -> Result<AzurePlan> {
        let customer = caller.ensure_customer(customer, Permission::OrdersWrite)?;
        let order = &order?;
        let key = &order.idempotency_key;
        let scope = IdempotencyScope {
            partner: customer.partner().to_owned(),
            customer: customer.customer(),
            key: key.as_str().to_owned(),
        };
        // The request as sent (an absent country stays absent), so a repeat matches before any read.
        let fingerprint = format!(
            "{}|{}",
            order.country.as_ref().map_or("", |c| c.as_str()),
            order.friendly_name.as_ref().map_or("", |n| n.as_str())
        );
        let mut record = match self.idempotency.claim(&scope, &fingerprint).await? {
            Claim::Run(record) => record,
            Claim::Done(plan) => return self.refresh_plan(ctx, &customer, plan).await,
            Claim::Busy => {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    "a purchase with this idempotency key is still running; retry later",
                )
                .with_reason(Reason::IdempotencyKeyInUse)
                .with_retry_after(std::time::Duration::from_secs(2)));
            }
            Claim::Mismatch => {
                return Err(Error::invalid_field(key.field(), "was already used for a purchase with other parameters")
                    .with_reason(Reason::IdempotencyKeyReused));
            }
        };
        let outcome = self
            .run_purchase(ctx, &customer, order, &scope, &mut record)
            .await
            .map_err(|e| with_next_step(e, customer.customer()));
        match outcome {
            Ok(plan) => {
                record.result = Some(plan.clone());
                // The order exists: a store that cannot record it now must not turn the purchase
                // into a failure. A retry resumes with the same request ids and gets the replay.
                if let Err(error) = self.idempotency.release(&scope, &record).await {
                    tracing::warn!(error = %error.chain(), "the purchase succeeded but its idempotency record was not saved");
                }
                Ok(plan)
            }
            Err(error) => {
                if let Err(store_error) = self.idempotency.release(&scope, &record).await {
                    tracing::warn!(error = %store_error.chain(), "the idempotency record of a failed purchase was not saved; the claim lapses with its lease");
                }
                Err(error)
            }
        }
    }

    /// The purchase itself. A fresh one checks the customer first (country, agreement, no
    /// MS-AZR-0145P) so a refusal leaves nothing behind; a resumed one (its cart exists) goes on.
    async fn run_purchase(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
        order: &AzurePlanOrder,
        scope: &IdempotencyScope,
        record: &mut PurchaseRecord,
    ) -> Result<AzurePlan> {
        let country = match &order.country {
            Some(country) => country.clone(),
            None => self.customer_country(ctx, customer).await?,
        };
        if record.cart_id.is_none() {
            self.ensure_ready_to_buy(ctx, customer).await?;
        }
        let item = self.resolve_azure_plan(ctx, &customer.partner_level(), &country).await?;
        let cart_id = match record.cart_id {
            Some(cart_id) => cart_id,
            None => {
                let line = CartLine {
                    catalog_item_id: CatalogItemId::from_upstream(item.catalog_item_id.clone()),
                    quantity: 1,
                    billing_cycle: billing_cycle_of(&item.sku)?,
                    term_duration: None,
                    friendly_name: order.friendly_name.clone(),
                    provisioning_context: Default::default(),
                    catalog_item_field: None,
                };
                let lines = [line];
                let cart = self.pc.create_cart(ctx, customer, &lines, Some(record.cart_request_id)).await?;
                reject_line_errors(&cart, &lines)?;
                record.cart_id = Some(cart.id);
                // Progress first: if this process dies now, a retry checks out this cart. A store
                // that cannot save it stops here; the derived cart request id makes the retry
                // find the same cart.
                self.idempotency.save(scope, record).await?;
                cart.id
            }
        };
        let result = match self.pc.checkout(ctx, customer, cart_id, Some(record.checkout_request_id)).await {
            Ok(result) => result,
            Err(error) => {
                // An answer arrived: the next checkout is a new logical call. No answer (or the
                // gateway's own refusal, sent nowhere): keep the request id, so a retry gets
                // Partner Center's replay if it did commit.
                let not_sent = matches!(error.reason(), Reason::PartnerBudgetExhausted | Reason::CircuitOpen);
                if !error.outcome_unknown() && !not_sent {
                    record.renew_checkout(scope);
                }
                return Err(self.explain_purchase_failure(ctx, customer, error).await);
            }
        };
        let placed = result
            .orders
            .iter()
            .find(|o| o.line_items.iter().any(|l| l.offer_id.eq_ignore_ascii_case(&item.catalog_item_id)))
            .or_else(|| result.orders.first())
            .cloned();
        let Some(placed) = placed else {
            // Answered, without an order: the next checkout is a new logical call.
            record.renew_checkout(scope);
            let detail = result
                .order_errors
                .iter()
                .map(|e| format!("{} ({})", e.description, e.code))
                .collect::<Vec<_>>()
                .join("; ");
            let mut error =
                Error::new(ErrorKind::FailedPrecondition, format!("Partner Center created no order: {detail}"))
                    .with_reason(Reason::CheckoutFailed);
            if let Some(first) = result.order_errors.first() {
                error = error.with_upstream_code(first.code.to_string());
            }
            return Err(error);
        };
        self.remember_order(customer, &placed.id).await;
        Ok(plan_from_order(customer.customer(), &item.catalog_item_id, &placed, false))
    }

    /// Keeps an order for read-your-writes. The order exists already: a store that fails here
    /// costs only its early listing, not the call.
    async fn remember_order(&self, customer: &Authorized<CustomerId>, order: &OrderId) {
        if let Err(error) = self.recent_orders.record(customer.partner(), customer.customer(), order).await {
            tracing::warn!(error = %error.chain(), "an order created through the gateway was not recorded for read-your-writes");
        }
    }

    /// A repeated call: the first outcome, with the order's current state.
    async fn refresh_plan(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
        plan: AzurePlan,
    ) -> Result<AzurePlan> {
        if plan.status.is_final() {
            return Ok(AzurePlan { replayed: true, ..plan });
        }
        match self.pc.get_order(ctx, customer, &plan.order_id).await {
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
        customer: &Authorized<CustomerId>,
        error: Error,
    ) -> Error {
        if !error.is_generic() || !matches!(error.kind(), ErrorKind::InvalidArgument | ErrorKind::FailedPrecondition) {
            return error;
        }
        let Ok(legacy) = self.legacy_azure_subscriptions(ctx, customer).await else {
            return error;
        };
        if legacy.is_empty() {
            return error;
        }
        let explained = legacy_azure_error(customer.customer(), &legacy);
        match error.upstream_code() {
            Some(code) => explained.with_upstream_code(code.to_owned()),
            None => explained,
        }
    }
}

/// The cycle the Azure plan's SKU supports (`one_time` for the documented SKU); of several, monthly.
fn billing_cycle_of(sku: &Sku) -> Result<BillingCycle> {
    let cycles: Vec<BillingCycle> =
        sku.supported_billing_cycles.iter().filter_map(|c| BillingCycle::from_name(c)).collect();
    match cycles.as_slice() {
        [only] => Ok(*only),
        [] => Err(Error::new(
            ErrorKind::UpstreamUnavailable,
            format!("the Azure plan SKU lists no billing cycle the gateway knows: {:?}", sku.supported_billing_cycles),
        )
        .with_reason(Reason::UpstreamMalformedResponse)),
        several => Ok(several.iter().copied().find(|c| *c == BillingCycle::Monthly).unwrap_or(several[0])),
    }
}

fn plan_from_order(customer: CustomerId, catalog_item_id: &str, order: &Order, replayed: bool) -> AzurePlan {
    let subscription_id = order
        .line_items
        .iter()
        .find(|l| l.offer_id.eq_ignore_ascii_case(catalog_item_id))
        .or_else(|| order.line_items.first())
        .and_then(|l| l.subscription_id);
    AzurePlan {
        customer_id: customer,
        order_id: order.id.clone(),
        subscription_id,
        status: AzurePlanStatus::from_order(&order.status, subscription_id.is_some()),
        catalog_item_id: catalog_item_id.to_owned(),
        order_status: order.status.clone(),
        replayed,
    }
}
