//! Identifiers, parsed once at the edge. A value of these types is always well formed.

use std::fmt;

use serde::{Serialize, Serializer};
use uuid::Uuid;

use crate::error::{Error, Result};

fn parse_guid(field: &str, value: &str) -> Result<Uuid> {
    // Only the canonical 8-4-4-4-12 form: Partner Center ids are written that way everywhere.
    if value.len() != 36 {
        return Err(Error::invalid_field(field, "must be a GUID like 3f2504e0-4f89-11d3-9a0c-0305e82c3301"));
    }
    Uuid::try_parse(value)
        .map_err(|_| Error::invalid_field(field, "must be a GUID like 3f2504e0-4f89-11d3-9a0c-0305e82c3301"))
}

fn check_token(field: &str, value: &str, max_len: usize) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid_field(field, "must not be empty"));
    }
    if value.len() > max_len {
        return Err(Error::invalid_field(field, format!("must be at most {max_len} characters")));
    }
    if !value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(Error::invalid_field(field, "may contain only letters, digits, '-' and '_'"));
    }
    Ok(())
}

macro_rules! guid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// Parses the canonical GUID form; `field` names the input in the error.
            pub fn parse(field: &str, value: &str) -> Result<Self> {
                parse_guid(field, value).map(Self)
            }

            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }
    };
}

macro_rules! token_id {
    ($(#[$doc:meta])* $name:ident, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Letters, digits, `-` and `_` only; `field` names the input in the error.
            pub fn parse(field: &str, value: &str) -> Result<Self> {
                check_token(field, value, $max).map(|()| Self(value.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }
    };
}

guid_id!(
    /// A customer's Azure AD tenant id: the id Partner Center uses for the customer.
    CustomerId
);
guid_id!(
    /// A Partner Center subscription id (for an Azure plan: the plan id).
    SubscriptionId
);
guid_id!(
    /// A cart id.
    CartId
);
guid_id!(
    /// A product upgrade (transition to Azure plan) id.
    UpgradeId
);
token_id!(
    /// A catalog product id, e.g. `DZH318Z0BPS6`.
    ProductId, 64
);
token_id!(
    /// A SKU id, unique within its product, e.g. `0001`.
    SkuId, 64
);
token_id!(
    /// An availability id, unique within its product and SKU.
    AvailabilityId, 64
);
token_id!(
    /// An order id (not always a GUID).
    OrderId, 64
);
token_id!(
    /// An invoice id, e.g. `D02005YFHI`.
    InvoiceId, 64
);

/// An ISO 3166-1 alpha-2 country code, upper case.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Country(String);

impl Country {
    pub fn parse(field: &str, value: &str) -> Result<Self> {
        if value.len() == 2 && value.bytes().all(|b| b.is_ascii_alphabetic()) {
            Ok(Self(value.to_ascii_uppercase()))
        } else {
            Err(Error::invalid_field(field, "must be a two-letter ISO 3166 country code such as US"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An ISO 4217 currency code, upper case.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct CurrencyCode(String);

impl CurrencyCode {
    pub fn parse(field: &str, value: &str) -> Result<Self> {
        if value.len() == 3 && value.bytes().all(|b| b.is_ascii_alphabetic()) {
            Ok(Self(value.to_ascii_uppercase()))
        } else {
            Err(Error::invalid_field(field, "must be a three-letter currency code such as USD"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CurrencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn guid_ids_accept_only_the_canonical_form_and_name_the_field() {
        let id = CustomerId::parse("customerId", "3F2504E0-4F89-11D3-9A0C-0305E82C3301").expect("valid");
        assert_eq!(id.to_string(), "3f2504e0-4f89-11d3-9a0c-0305e82c3301");
        for bad in ["", "nope", "3f2504e04f8911d39a0c0305e82c3301", "{3f2504e0-4f89-11d3-9a0c-0305e82c3301}"] {
            let error = CustomerId::parse("customerId", bad).expect_err(bad);
            assert_eq!(error.kind(), ErrorKind::InvalidArgument);
            assert_eq!(error.field_violations()[0].field, "customerId");
        }
    }

    #[test]
    fn token_ids_reject_path_tricks() {
        assert!(ProductId::parse("productId", "DZH318Z0BPS6").is_ok());
        for bad in ["", "../x", "a/b", "a b", "a%2F", &"x".repeat(65)] {
            assert!(ProductId::parse("productId", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn countries_are_normalized_to_upper_case() {
        assert_eq!(Country::parse("country", "us").map(|c| c.to_string()).ok().as_deref(), Some("US"));
        assert!(Country::parse("country", "USA").is_err());
        assert!(Country::parse("country", "1A").is_err());
    }
}
