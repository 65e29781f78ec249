//! Subscriptions (S1–S6). Status changes PATCH the whole subscription with its ETag.

use std::time::Duration;

use http::{Method, StatusCode, header::IF_MATCH};

use super::{
    PartnerCenter, UpstreamPage, UpstreamRequest,
    error::retry_after,
    models::{
        Collection, malformed,
        subscriptions::{WireAzureEntitlement, WireSubscription},
    },
    paging::NextLink,
};
use crate::{
    auth::Authorized,
    context::RequestContext,
    error::{Error, ErrorKind, Reason, Result},
    model::{
        CustomerId, OrderId, SubscriptionId,
        subscription::{AzureEntitlement, Subscription, SubscriptionStatusChange},
    },
};

impl PartnerCenter {
    pub(super) async fn list_subscriptions(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
        order: Option<&OrderId>,
        next: Option<NextLink>,
        azure_plan_product: &str,
    ) -> Result<UpstreamPage<Subscription>> {
        let id = customer.customer();
        let first = UpstreamRequest::get("subscriptions.list", format!("/v1/customers/{id}/subscriptions"))
            .query_opt("order_id", order.map(ToString::to_string));
        self.page(ctx, customer.partner(), first, next, |s: WireSubscription| s.into_model(id, azure_plan_product))
            .await
    }

    pub(super) async fn get_subscription(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
        subscription: SubscriptionId,
        azure_plan_product: &str,
    ) -> Result<Subscription> {
        let (wire, _) = self.subscription_document(ctx, customer, subscription).await?;
        wire.into_model(customer.customer(), azure_plan_product)
    }

    pub(super) async fn azure_entitlements(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
        subscription: SubscriptionId,
    ) -> Result<Vec<AzureEntitlement>> {
        let path = format!("/v1/customers/{}/subscriptions/{subscription}/azureentitlements", customer.customer());
        let request = UpstreamRequest::get("subscriptions.azure_entitlements", path);
        let collection: Collection<WireAzureEntitlement> =
            self.client().json(ctx, customer.partner(), &request).await?;
        Ok(collection.items.into_iter().map(Into::into).collect())
    }

    /// S4/S5: GET the subscription for its ETag, PATCH the whole document with the new status and
    /// `If-Match` (when it has an ETag). A stale ETag (someone changed it in between) is retried once with a fresh read;
    /// a second one is a 409.
    pub(super) async fn change_subscription_status(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
        subscription: SubscriptionId,
        change: SubscriptionStatusChange,
        azure_plan_product: &str,
    ) -> Result<Subscription> {
        let mut last_error = None;
        for _ in 0..2 {
            let (_, mut document) = self.subscription_document(ctx, customer, subscription).await?;
            // Documented new-commerce subscriptions carry no ETag: then there is nothing to match.
            let etag = document.pointer("/attributes/etag").and_then(|v| v.as_str()).map(str::to_owned);
            document["status"] = serde_json::Value::from(change.target_status());
            let path = format!("/v1/customers/{}/subscriptions/{subscription}", customer.customer());
            let mut request =
                UpstreamRequest::new("subscriptions.update_status", Method::PATCH, path).json(&document)?;
            if let Some(etag) = etag {
                request = request.header(IF_MATCH, &quoted(&etag))?;
            }
            match self.client().execute(ctx, customer.partner(), &request).await {
                // Accepted, applied later: follow the subscription until it shows the change.
                Ok(response) if response.status == StatusCode::ACCEPTED => {
                    let interval = retry_after(&response.headers).unwrap_or(DEFAULT_POLL_INTERVAL);
                    return self.await_status(ctx, customer, subscription, change, azure_plan_product, interval).await;
                }
                Ok(response) => {
                    let updated: WireSubscription = response.json(request.operation)?;
                    return updated.into_model(customer.customer(), azure_plan_product);
                }
                Err(error) if error.reason() == Reason::StaleEtag => last_error = Some(error),
                Err(error) => return Err(error),
            }
        }
        Err(last_error.unwrap_or_else(|| Error::new(ErrorKind::Conflict, "the subscription kept changing")))
    }

    /// After a `202 Accepted`: reads the subscription every `interval` (Partner Center's
    /// `Retry-After`, bounded) until it has the new status, within the caller's deadline.
    async fn await_status(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
        subscription: SubscriptionId,
        change: SubscriptionStatusChange,
        azure_plan_product: &str,
        interval: Duration,
    ) -> Result<Subscription> {
        let interval = interval.clamp(MIN_POLL_INTERVAL, MAX_POLL_INTERVAL);
        let give_up = tokio::time::Instant::now() + ctx.remaining().unwrap_or(MAX_POLL_TIME).min(MAX_POLL_TIME);
        loop {
            if tokio::time::Instant::now() + interval + MIN_POLL_INTERVAL > give_up {
                return Err(Error::new(
                    ErrorKind::UpstreamTimeout,
                    format!(
                        "Partner Center accepted the change to {} and applies it later; read the subscription again",
                        change.target_status()
                    ),
                )
                .with_reason(Reason::ChangePending)
                .with_retry_after(interval));
            }
            tokio::time::sleep(interval).await;
            let (wire, _) = self.subscription_document(ctx, customer, subscription).await?;
            if wire.status.eq_ignore_ascii_case(change.target_status()) {
                return wire.into_model(customer.customer(), azure_plan_product);
            }
        }
    }

    /// The subscription as typed fields and as the full document (PATCH needs all of it back).
    async fn subscription_document(
        &self,
        ctx: &RequestContext,
        customer: &Authorized<CustomerId>,
        subscription: SubscriptionId,
    ) -> Result<(WireSubscription, serde_json::Value)> {
        let path = format!("/v1/customers/{}/subscriptions/{subscription}", customer.customer());
        let request = UpstreamRequest::get("subscriptions.get", path);
        let response = self.client().execute(ctx, customer.partner(), &request).await?;
        let document: serde_json::Value = response.json(request.operation)?;
        let wire: WireSubscription =
            serde_json::from_value(document.clone()).map_err(|e| malformed(format!("subscription: {e}")))?;
        Ok((wire, document))
    }
}

/// How often an accepted change is checked when Partner Center gives no `Retry-After`.
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);
const MIN_POLL_INTERVAL: Duration = Duration::from_millis(200);
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(10);
/// Longest wait for an accepted change when the caller set no deadline.
const MAX_POLL_TIME: Duration = Duration::from_secs(120);

/// ETags go back double-quoted (Partner Center's rule), whatever form they came in.
fn quoted(etag: &str) -> String {
    if etag.starts_with('"') { etag.to_owned() } else { format!("\"{etag}\"") }
}

#[cfg(test)]
mod tests {
    use wiremock::{Mock, MockServer, ResponseTemplate, matchers};

    use super::*;
    use crate::{
        auth::{Caller, CustomerScope, Permission},
        partner_center::testing::client_for,
    };

    const CUSTOMER: &str = "11111111-1111-1111-1111-111111111111";
    const SUBSCRIPTION: &str = "22222222-2222-2222-2222-222222222222";

    fn document(etag: &str, status: &str) -> serde_json::Value {
        serde_json::json!({
            "id": SUBSCRIPTION, "offerId": "CFQ7TTC0LH18:0001:CFQ7TTC0TKZX", "friendlyName": "M365", "quantity": 5,
            "status": status, "autoRenewEnabled": true, "customField": "kept",
            "attributes": { "etag": etag, "objectType": "Subscription" }
        })
    }

    async fn change(server: &MockServer) -> Result<Subscription> {
        let pc = PartnerCenter::new(client_for(server).await);
        let ctx = RequestContext::background();
        let customer = CustomerId::parse("c", CUSTOMER)?;
        let caller = Caller::for_tests("p", CustomerScope::All, &[Permission::SubscriptionsWrite]);
        let customer = caller.ensure_customer(customer, Permission::SubscriptionsWrite)?;
        let subscription = SubscriptionId::parse("s", SUBSCRIPTION)?;
        pc.change_subscription_status(&ctx, &customer, subscription, SubscriptionStatusChange::Suspend, "DZH318Z0BPS6")
            .await
    }

    fn stale() -> ResponseTemplate {
        ResponseTemplate::new(400)
            .set_body_json(serde_json::json!({ "code": 2055, "description": "ETag no longer valid" }))
    }

    #[tokio::test]
    async fn the_whole_document_goes_back_with_its_quoted_etag() {
        let server = MockServer::start().await;
        let path = format!("/v1/customers/{CUSTOMER}/subscriptions/{SUBSCRIPTION}");
        Mock::given(matchers::method("GET"))
            .and(matchers::path(path.clone()))
            .respond_with(ResponseTemplate::new(200).set_body_json(document("e1", "active")))
            .mount(&server)
            .await;
        Mock::given(matchers::method("PATCH"))
            .and(matchers::path(path))
            .and(matchers::header("if-match", "\"e1\""))
            .and(matchers::body_partial_json(
                serde_json::json!({ "status": "suspended", "customField": "kept", "quantity": 5 }),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(document("e2", "suspended")))
            .expect(1)
            .mount(&server)
            .await;
        let updated = change(&server).await.expect("suspended");
        assert_eq!(updated.status, "suspended");
    }

    #[tokio::test]
    async fn a_stale_etag_is_retried_once_with_a_fresh_read_then_is_a_conflict() {
        let server = MockServer::start().await;
        let path = format!("/v1/customers/{CUSTOMER}/subscriptions/{SUBSCRIPTION}");
        Mock::given(matchers::method("GET"))
            .and(matchers::path(path.clone()))
            .respond_with(ResponseTemplate::new(200).set_body_json(document("e1", "active")))
            .expect(2)
            .mount(&server)
            .await;
        Mock::given(matchers::method("PATCH"))
            .and(matchers::path(path))
            .respond_with(stale())
            .expect(2)
            .mount(&server)
            .await;
        let error = change(&server).await.expect_err("stale twice");
        assert_eq!(error.kind(), ErrorKind::Conflict);
        assert_eq!(error.reason(), Reason::StaleEtag);
    }

    #[tokio::test]
    async fn one_stale_etag_is_absorbed() {
        let server = MockServer::start().await;
        let path = format!("/v1/customers/{CUSTOMER}/subscriptions/{SUBSCRIPTION}");
        Mock::given(matchers::method("GET"))
            .and(matchers::path(path.clone()))
            .respond_with(ResponseTemplate::new(200).set_body_json(document("e1", "active")))
            .mount(&server)
            .await;
        Mock::given(matchers::method("PATCH"))
            .and(matchers::path(path.clone()))
            .respond_with(stale())
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(matchers::method("PATCH"))
            .and(matchers::path(path))
            .respond_with(ResponseTemplate::new(200).set_body_json(document("e3", "suspended")))
            .mount(&server)
            .await;
        assert_eq!(change(&server).await.expect("second try").status, "suspended");
    }

    /// Answers the subscription `active` for the first `reads` GETs, then `suspended`.
    struct AppliedLater {
        reads: std::sync::atomic::AtomicUsize,
        after: usize,
    }

    impl wiremock::Respond for AppliedLater {
        fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
            let n = self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let status = if n < self.after { "active" } else { "suspended" };
            ResponseTemplate::new(200).set_body_json(document("e1", status))
        }
    }

    #[tokio::test]
    async fn an_accepted_patch_is_followed_until_the_subscription_shows_the_change() {
        let server = MockServer::start().await;
        let path = format!("/v1/customers/{CUSTOMER}/subscriptions/{SUBSCRIPTION}");
        // The first read is the PATCH's own (for the ETag); two more show the old status.
        Mock::given(matchers::method("GET"))
            .and(matchers::path(path.clone()))
            .respond_with(AppliedLater { reads: Default::default(), after: 3 })
            .mount(&server)
            .await;
        Mock::given(matchers::method("PATCH"))
            .and(matchers::path(path))
            .respond_with(
                ResponseTemplate::new(202)
                    .insert_header("location", format!("/customers/{CUSTOMER}/subscriptions/{SUBSCRIPTION}"))
                    .insert_header("retry-after", "0"),
            )
            .expect(1)
            .mount(&server)
            .await;
        let updated = change(&server).await.expect("applied");
        assert_eq!(updated.status, "suspended");
        let reads =
            server.received_requests().await.unwrap_or_default().iter().filter(|r| r.method.as_str() == "GET").count();
        assert!(reads >= 4, "polled until the change showed: {reads} reads");
    }

    #[tokio::test]
    async fn an_accepted_patch_that_outlasts_the_deadline_says_the_change_is_pending() {
        let server = MockServer::start().await;
        let path = format!("/v1/customers/{CUSTOMER}/subscriptions/{SUBSCRIPTION}");
        Mock::given(matchers::method("GET"))
            .and(matchers::path(path.clone()))
            .respond_with(ResponseTemplate::new(200).set_body_json(document("e1", "active")))
            .mount(&server)
            .await;
        Mock::given(matchers::method("PATCH"))
            .and(matchers::path(path))
            .respond_with(ResponseTemplate::new(202).insert_header("retry-after", "1"))
            .mount(&server)
            .await;
        let pc = PartnerCenter::new(client_for(&server).await);
        let ctx = RequestContext::new(None, None, Some(std::time::Duration::from_millis(1500)));
        let caller = Caller::for_tests("p", CustomerScope::All, &[Permission::SubscriptionsWrite]);
        let customer = caller
            .ensure_customer(CustomerId::parse("c", CUSTOMER).expect("id"), Permission::SubscriptionsWrite)
            .expect("scope");
        let subscription = SubscriptionId::parse("s", SUBSCRIPTION).expect("id");
        let error = pc
            .change_subscription_status(
                &ctx,
                &customer,
                subscription,
                SubscriptionStatusChange::Suspend,
                "DZH318Z0BPS6",
            )
            .await
            .expect_err("still pending");
        assert_eq!(error.reason(), Reason::ChangePending);
        assert_eq!(error.retry_after(), Some(std::time::Duration::from_secs(1)));
    }
}
