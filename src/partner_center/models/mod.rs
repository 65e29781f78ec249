//! Partner Center's wire shapes (camelCase, lenient about the documented oddities) and their
//! conversion to `crate::model`. Nothing outside `partner_center` sees these types.

pub mod catalog;
pub mod customers;

use serde::Deserialize;

use crate::error::{Error, ErrorKind};

/// The `ResourceCollection` envelope: `totalCount`, `items`, `links`, `attributes`, and on some
/// routes a top-level `continuationToken`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Collection<T> {
    #[serde(default)]
    pub total_count: Option<i64>,
    #[serde(default = "Vec::new")]
    pub items: Vec<T>,
    #[serde(default)]
    pub links: Option<Links>,
    #[serde(default)]
    pub continuation_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Links {
    #[serde(default)]
    pub next: Option<Link>,
}

#[derive(Debug, Deserialize)]
pub struct Link {
    pub uri: String,
    #[serde(default)]
    pub headers: Vec<LinkHeader>,
}

#[derive(Debug, Deserialize)]
pub struct LinkHeader {
    pub key: String,
    pub value: String,
}

impl<T> Collection<T> {
    /// The token for the next page: `links.next`'s `MS-ContinuationToken` header, else the
    /// top-level `continuationToken` when a next link exists.
    pub fn continuation(&self) -> Option<String> {
        let next = self.links.as_ref()?.next.as_ref()?;
        next.headers
            .iter()
            .find(|h| h.key.eq_ignore_ascii_case("MS-ContinuationToken"))
            .map(|h| h.value.clone())
            .or_else(|| self.continuation_token.clone())
            .filter(|t| !t.is_empty())
    }
}

/// Partner Center sent something the gateway cannot represent (e.g. a customer id that is no GUID).
pub fn malformed(what: impl Into<String>) -> Error {
    Error::new(ErrorKind::UpstreamUnavailable, "Partner Center answered with data the gateway cannot read")
        .with_reason("UPSTREAM_MALFORMED_RESPONSE")
        .with_source(what.into())
}
