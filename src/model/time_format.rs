//! Timestamps in REST JSON: RFC 3339, UTC.

pub use time::OffsetDateTime;

/// `#[serde(with = "crate::model::time_format::option")]` for optional timestamps.
pub mod option {
    use serde::Serializer;
    use time::{OffsetDateTime, format_description::well_known::Rfc3339};

    pub fn serialize<S: Serializer>(value: &Option<OffsetDateTime>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(t) => match t.format(&Rfc3339) {
                Ok(text) => serializer.serialize_str(&text),
                Err(_) => serializer.serialize_none(),
            },
            None => serializer.serialize_none(),
        }
    }
}

/// `#[serde(with = "crate::model::time_format::required")]`.
pub mod required {
    use serde::{Serializer, ser::Error};
    use time::{OffsetDateTime, format_description::well_known::Rfc3339};

    pub fn serialize<S: Serializer>(value: &OffsetDateTime, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&value.format(&Rfc3339).map_err(S::Error::custom)?)
    }
}
