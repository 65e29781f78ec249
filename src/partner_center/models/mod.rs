//! Partner Center's wire shapes (camelCase, lenient about the documented oddities) and their
//! conversion to `crate::model`. Nothing outside `partner_center` sees these types.

pub mod agreements;
pub mod billing;
pub mod catalog;
pub mod commerce;
pub mod customers;
pub mod subscriptions;
pub mod upgrades;
pub mod usage;

use serde::Deserialize;

use crate::error::{Error, ErrorKind, Reason};

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
        .with_reason(Reason::UpstreamMalformedResponse)
        .with_source(what.into())
}

/// Partner Center's timestamps: RFC 3339 mostly, sometimes without a zone (taken as UTC), and
/// `0001-01-01T00:00:00` for "none".
pub fn parse_timestamp(value: Option<&str>) -> Option<time::OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    let value = value?.trim();
    if value.is_empty() || value.starts_with("0001-01-01") {
        return None;
    }
    if let Ok(parsed) = time::OffsetDateTime::parse(value, &Rfc3339) {
        return Some(parsed);
    }
    time::OffsetDateTime::parse(&format!("{value}Z"), &Rfc3339).ok()
}

/// A number Partner Center sometimes writes as a string (`"quantity": "1"`).
pub fn lenient_i32<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i32, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(deserializer)? {
        Some(serde_json::Value::Number(n)) => n.as_i64().and_then(|n| i32::try_from(n).ok()).unwrap_or_default(),
        Some(serde_json::Value::String(s)) => s.trim().parse().unwrap_or_default(),
        _ => 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_in_every_documented_form() {
        assert!(parse_timestamp(Some("2019-10-28T21:59:10.3431519Z")).is_some());
        assert!(parse_timestamp(Some("2018-03-16T00:00:00")).is_some());
        assert!(parse_timestamp(Some("2019-02-18T08:00:00-08:00")).is_some());
        assert_eq!(parse_timestamp(Some("0001-01-01T00:00:00")), None);
        assert_eq!(parse_timestamp(Some("2015-11-25T06: 41: 12Z")), None);
        assert_eq!(parse_timestamp(None), None);
    }
}
