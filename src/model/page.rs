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

/// How the caller's transport spells the paging fields.
pub struct PageFields {
    pub size: &'static str,
    pub token: &'static str,
}

/// A caller's page token, still opaque (the facade verifies it), with the field it came in.
#[derive(Debug, Clone)]
pub struct PageToken {
    pub value: String,
    pub field: &'static str,
}

impl PageToken {
    /// The refusal of this token, naming its field in the caller's spelling.
    pub fn invalid(&self, description: &str) -> Error {
        Error::invalid_field(self.field, description)
    }
}

/// What the caller asked for.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub page_size: Option<u32>,
    pub page_token: Option<PageToken>,
}

impl PageRequest {
    /// Validates the raw inputs of either transport. gRPC sends 0 / "" for "not set".
    pub fn parse(page_size: Option<i64>, page_token: Option<String>, fields: &PageFields) -> Result<Self> {
        let page_size = match page_size {
            None | Some(0) => None,
            Some(size) if size < 0 => {
                return Err(Error::invalid_field(fields.size, "must not be negative"));
            }
            Some(size) => Some(
                u32::try_from(size)
                    .ok()
                    .filter(|s| i32::try_from(*s).is_ok())
                    .ok_or_else(|| Error::invalid_field(fields.size, "must fit a 32-bit integer"))?,
            ),
        };
        let page_token = page_token.filter(|t| !t.is_empty()).map(|value| PageToken { value, field: fields.token });
        Ok(Self { page_size, page_token })
    }

    /// The size to use: the caller's, capped at `max`, or `default`.
    pub fn size(&self, default: u32, max: u32) -> u32 {
        self.page_size.map_or(default, |s| s.min(max))
    }
}
