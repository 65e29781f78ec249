//! Partner Center pages three ways (continuation token, seek, offset), but always says where the
//! next page is in `links.next` (a URI plus headers such as `MS-ContinuationToken`). Following
//! that link is the one mechanism here; the facade wraps a [`NextLink`] in its signed page token.

use http::Method;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::{
    PartnerCenter, UpstreamRequest,
    client::MS_CONTINUATION_TOKEN,
    models::{Collection, malformed},
};
use crate::{context::RequestContext, error::Result};

/// Where the next page is, as Partner Center said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextLink {
    /// Relative to the API root, e.g. `v1/customers?size=50&seekOperation=next`.
    #[serde(rename = "u")]
    pub uri: String,
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub continuation_token: Option<String>,
}

/// One upstream page.
#[derive(Debug)]
pub struct UpstreamPage<T> {
    pub items: Vec<T>,
    pub next: Option<NextLink>,
}

impl<W> Collection<W> {
    /// The page's items converted, with its next link.
    pub fn into_page<T>(self, convert: impl FnMut(W) -> Result<T>) -> Result<UpstreamPage<T>> {
        let next = self.next_link()?;
        let items = self.items.into_iter().map(convert).collect::<Result<Vec<T>>>()?;
        Ok(UpstreamPage { items, next })
    }

    fn next_link(&self) -> Result<Option<NextLink>> {
        let Some(link) = self.links.as_ref().and_then(|l| l.next.as_ref()) else {
            return Ok(None);
        };
        Ok(Some(NextLink { uri: normalize_uri(&link.uri)?, continuation_token: self.continuation() }))
    }
}

/// Link URIs come as `/customers?...`, `customers?...` or `/v1/customers?...`: make them
/// `v1/...`, and refuse anything that could leave the API root.
fn normalize_uri(uri: &str) -> Result<String> {
    let trimmed = uri.trim().trim_start_matches('/');
    let suspicious =
        trimmed.contains("://") || trimmed.contains("..") || trimmed.contains('\\') || trimmed.contains('@');
    if suspicious || trimmed.is_empty() || trimmed.chars().any(char::is_whitespace) {
        return Err(malformed(format!("next link {uri:?}")));
    }
    Ok(if trimmed.len() >= 3 && trimmed[..3].eq_ignore_ascii_case("v1/") {
        format!("v1/{}", &trimmed[3..])
    } else {
        format!("v1/{trimmed}")
    })
}

impl UpstreamRequest {
    /// The request for the page `link` points to: a GET with this request's operation and token
    /// flow (the first page's), and the link's path, query and continuation token.
    fn following(&self, link: &NextLink) -> Result<UpstreamRequest> {
        let (path, query) = link.uri.split_once('?').unwrap_or((&link.uri, ""));
        let mut request = UpstreamRequest::new(self.operation, Method::GET, format!("/{path}")).flow(self.flow);
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            request.query.push((std::borrow::Cow::Owned(key.into_owned()), value.into_owned()));
        }
        if let Some(token) = &link.continuation_token {
            request = request.header(MS_CONTINUATION_TOKEN, token)?;
        }
        Ok(request)
    }
}

impl PartnerCenter {
    /// One page of a list: the first (`first`), or the one `next` points to, fetched as
    /// `first` would be (same operation and token flow). Items are converted with `convert`.
    pub(super) async fn page<W: DeserializeOwned, T>(
        &self,
        ctx: &RequestContext,
        partner: &str,
        first: UpstreamRequest,
        next: Option<NextLink>,
        convert: impl FnMut(W) -> Result<T>,
    ) -> Result<UpstreamPage<T>> {
        let request = match next {
            Some(link) => first.following(&link)?,
            None => first,
        };
        let collection: Collection<W> = self.client().json(ctx, partner, &request).await?;
        collection.into_page(convert)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_uris_are_normalized_under_v1() {
        assert_eq!(normalize_uri("/customers?size=40").ok().as_deref(), Some("v1/customers?size=40"));
        assert_eq!(normalize_uri("customers?size=40").ok().as_deref(), Some("v1/customers?size=40"));
        assert_eq!(normalize_uri("/v1/invoices?offset=2").ok().as_deref(), Some("v1/invoices?offset=2"));
    }

    #[test]
    fn next_links_that_leave_the_api_root_are_refused() {
        for bad in ["https://evil.example/x", "/../admin", "", "\\\\evil.example/x", "a b", "user@evil.example"] {
            assert!(normalize_uri(bad).is_err(), "{bad}");
        }
        // Leading slashes are dropped, so a scheme-relative link stays a path under the root.
        assert_eq!(normalize_uri("//evil.example/x").ok().as_deref(), Some("v1/evil.example/x"));
    }
}
