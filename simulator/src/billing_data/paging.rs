//! Request helpers shared by the usage and invoice routes: query parameters, page size and
//! offset, `seekOperation=Next` with `MS-ContinuationToken`, and the links that point onwards.

use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::state::{BillingState, Cursor};
use crate::wire::PcError;

pub const CONTINUATION_HEADER: &str = "MS-ContinuationToken";

/// The query string as (name, value) pairs; never fails (bad escapes are decoded lossily).
pub fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default()
}

/// A query parameter by case-insensitive name (`currencyCode` = `currencycode`); the last wins.
pub fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query.iter().rev().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
}

/// `size`: absent → `default`; otherwise an integer in `1..=max`, else 400/3000.
pub fn page_size(query: &[(String, String)], default: usize, max: usize) -> Result<usize, PcError> {
    match param(query, "size") {
        None => Ok(default),
        Some(raw) => match raw.trim().parse::<usize>() {
            Ok(size) if (1..=max).contains(&size) => Ok(size),
            _ => Err(PcError::new(
                StatusCode::BAD_REQUEST,
                3000,
                format!("The size parameter must be between 1 and {max}."),
            )),
        },
    }
}

/// `offset`: absent → 0; otherwise a non-negative integer, else 400/3000.
pub fn page_offset(query: &[(String, String)]) -> Result<u64, PcError> {
    match param(query, "offset") {
        None => Ok(0),
        Some(raw) => raw.trim().parse::<u64>().map_err(|_| {
            PcError::new(StatusCode::BAD_REQUEST, 3000, "The offset parameter must be a non-negative integer.")
        }),
    }
}

/// Whether the request asks for the next page (`seekOperation=Next`); other values are 400/900126.
pub fn wants_next(query: &[(String, String)]) -> Result<bool, PcError> {
    match param(query, "seekOperation") {
        None => Ok(false),
        Some(op) if op.eq_ignore_ascii_case("next") => Ok(true),
        Some(_) => {
            Err(PcError::new(StatusCode::BAD_REQUEST, 900126, "The value of seekOperation could not be parsed."))
        }
    }
}

/// Same code and text as the customer list (`customers.rs`) uses for a bad token.
pub fn invalid_token() -> PcError {
    PcError::new(StatusCode::BAD_REQUEST, 400, "The continuation token is invalid or has expired.")
}

/// The cursor behind the request's `MS-ContinuationToken`, if this simulator issued it to this partner.
pub fn redeem_header(billing: &BillingState, partner: &str, headers: &HeaderMap) -> Result<Cursor, PcError> {
    let token = headers.get(CONTINUATION_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
    billing.redeem(token).filter(|c| c.partner.eq_ignore_ascii_case(partner)).ok_or_else(invalid_token)
}

/// `links.next` of a seek page: the uri (with `seekOperation=Next`) and the token header.
pub fn seek_next_link(uri: &str, token: &str) -> Value {
    json!({
        "uri": uri,
        "method": "GET",
        "headers": [{ "key": CONTINUATION_HEADER, "value": token }]
    })
}

/// A plain `Link`.
pub fn link(uri: &str) -> Value {
    json!({ "uri": uri, "method": "GET", "headers": [] })
}
