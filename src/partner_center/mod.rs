//! Everything that knows Partner Center's wire format: the HTTP client (`client`), Azure AD tokens
//! (`token`), wire shapes (`models`), error classification (`error`) and one typed method per
//! upstream operation (`customers`, `catalog`, ...). The facade calls [`PartnerCenter`] and gets
//! `crate::model` types back.

pub mod agreements;
pub mod catalog;
pub mod client;
pub mod commerce;
pub mod customers;
pub mod error;
pub mod models;
pub mod paging;
pub mod subscriptions;
pub mod token;
pub mod upgrades;

use std::sync::Arc;

pub use client::{PartnerCenterClient, UpstreamRequest, UpstreamResponse};
pub use paging::{NextLink, UpstreamPage};
pub use token::{TokenCache, TokenFlow};

/// Typed access to Partner Center, shared by every facade operation.
pub struct PartnerCenter {
    client: PartnerCenterClient,
}

impl PartnerCenter {
    pub fn new(client: PartnerCenterClient) -> Self {
        Self { client }
    }

    pub fn client(&self) -> &PartnerCenterClient {
        &self.client
    }

    pub fn tokens(&self) -> &Arc<TokenCache> {
        self.client.tokens()
    }
}
