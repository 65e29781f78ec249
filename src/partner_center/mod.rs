//! Everything that knows Partner Center's wire format: the HTTP client (`client`) with the calls it
//! sends (`call`), coalesced and cached reads (`shared_reads`) and its retry budget
//! (`retry_budget`), Azure AD tokens
//! (`token`), wire shapes (`models`), error classification (`error`) and one typed method per
//! upstream operation (`customers`, `catalog`, ...). The facade sees only [`PartnerCenterApi`]
//! (`api`), which [`PartnerCenter`] implements, and gets `crate::model` types back.

pub mod agreements;
pub mod api;
pub mod call;
pub mod catalog;
pub mod circuit;
pub mod client;
pub mod commerce;
pub mod customers;
pub mod error;
pub mod invoices;
pub mod models;
pub mod paging;
pub mod retry_budget;
pub mod shared_reads;
pub mod subscriptions;
pub mod token;
pub mod transport;
pub mod upgrades;
pub mod usage;

#[cfg(test)]
pub(crate) mod contract_tests;

pub use api::PartnerCenterApi;
pub use client::{CallerShare, PartnerCenterClient, UpstreamRequest, UpstreamResponse};
pub use paging::{NextLink, UpstreamPage};
pub use token::{TokenCache, TokenFlow};

/// Typed access to Partner Center, shared by every facade operation.
pub struct PartnerCenter {
    client: PartnerCenterClient,
    /// `PartnerOnRecordAttestationAccepted` on every cart (create-cart lists it as required).
    cart_attestation: bool,
}

impl PartnerCenter {
    pub fn new(client: PartnerCenterClient) -> Self {
        Self { client, cart_attestation: true }
    }

    /// Whether carts carry `PartnerOnRecordAttestationAccepted: true` (the default).
    pub fn with_cart_attestation(mut self, attest: bool) -> Self {
        self.cart_attestation = attest;
        self
    }

    pub fn client(&self) -> &PartnerCenterClient {
        &self.client
    }
}

/// A client against a wiremock server that issues tokens for partner `p` (unit tests only).
#[cfg(test)]
pub mod testing {
    use std::{sync::Arc, time::Duration};

    use secrecy::SecretString;
    use url::Url;
    use wiremock::{Mock, MockServer, ResponseTemplate, matchers};

    use super::{
        PartnerCenterClient, TokenCache,
        client::RetryPolicy,
        token::{PartnerCredentials, SecretSource},
    };

    /// Like [`client_for`], with the app+user flow configured too.
    pub async fn client_with_user_flow(server: &MockServer) -> PartnerCenterClient {
        client_with(server, Some("refresh-1")).await
    }

    pub async fn client_for(server: &MockServer) -> PartnerCenterClient {
        client_with(server, None).await
    }

    async fn client_with(server: &MockServer, refresh_token: Option<&str>) -> PartnerCenterClient {
        Mock::given(matchers::method("POST"))
            .and(matchers::path("/tenant-1/oauth2/token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "token_type": "Bearer", "expires_in": "3599", "access_token": "access-1"
            })))
            .mount(server)
            .await;
        let base = Url::parse(&format!("{}/", server.uri())).unwrap_or_else(|_| unreachable!("mock server url"));
        let tokens = Arc::new(TokenCache::new(
            reqwest::Client::new(),
            base.clone(),
            "https://api.partnercenter.microsoft.com".to_owned(),
            Duration::from_secs(300),
            [PartnerCredentials {
                id: Arc::from("p"),
                tenant_id: "tenant-1".to_owned(),
                client_id: "client".to_owned(),
                client_secret: SecretSource::Inline(SecretString::from("secret".to_owned())),
                refresh_token: refresh_token
                    .map(|t| super::token::RefreshToken::new(SecretSource::Inline(SecretString::from(t.to_owned())))),
            }],
        ));
        let retry =
            RetryPolicy { max_attempts: 3, base_delay: Duration::from_millis(1), max_delay: Duration::from_secs(1) };
        let http = super::transport::UpstreamHttp::new(&base, Default::default()).expect("a client without a proxy");
        PartnerCenterClient::new(http, &base, tokens, retry, Duration::from_secs(5))
    }
}
