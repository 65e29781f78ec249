//! One paging style for every list: `pageSize` + opaque `pageToken` in, `nextPageToken` out.

use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{Error, Result};

/// A page of results. `nextPageToken` is absent on the last page.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next_page_token: self.next_page_token }
    }
}

/// What the caller asked for; the token is still opaque here (the facade verifies it).
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
}

impl PageRequest {
    /// Validates the raw inputs of either transport. gRPC sends 0 / "" for "not set".
    pub fn parse(page_size: Option<i64>, page_token: Option<String>) -> Result<Self> {
        let page_size = match page_size {
            None | Some(0) => None,
            Some(size) if size < 0 => {
                return Err(Error::invalid_field("pageSize", "must not be negative"));
            }
            Some(size) if size > i64::from(i32::MAX) => {
                return Err(Error::invalid_field("pageSize", "must fit a 32-bit integer"));
            }
            Some(size) => Some(u32::try_from(size).map_err(|_| Error::invalid_field("pageSize", "is too large"))?),
        };
        let page_token = page_token.filter(|t| !t.is_empty());
        Ok(Self { page_size, page_token })
    }

    /// The size to use: the caller's, capped at `max`, or `default`.
    pub fn size(&self, default: u32, max: u32) -> u32 {
        self.page_size.map_or(default, |s| s.min(max))
    }
}
