//! Typed path parameters: each route's ids, parsed (a bad one is a 400 naming it) before the
//! handler runs, and documented once for the OpenAPI document.

use axum::{
    extract::{FromRequestParts, RawPathParams},
    http::request::Parts,
};
use utoipa::openapi::{
    Required,
    path::{Parameter, ParameterBuilder, ParameterIn},
    schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type},
};

use crate::{
    error::{Error, Result},
    model::{AvailabilityId, CartId, CustomerId, InvoiceId, OrderId, ProductId, SkuId, SubscriptionId, UpgradeId},
};

/// The canonical GUID form every GUID id in a path must have.
pub const GUID_PATTERN: &str = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
/// The `customerId` the OpenAPI document shows (and Swagger UI fills in): the built-in
/// simulator's Adventure Works, which has accepted the Microsoft Customer Agreement and has no
/// Azure plan or MS-AZR-0145P subscription, so "Try it out" on a purchase answers 201.
pub const EXAMPLE_CUSTOMER_ID: &str = "3e8b1c5d-0f4a-4b6c-8d9e-4f5a6b7c8d93";

/// Catalog, order and invoice ids: letters, digits, `-` and `_`.
pub const TOKEN_PATTERN: &str = r"^[A-Za-z0-9_-]{1,64}$";

/// A value that can stand in a path: how it parses and how the document shows it.
pub trait PathValue: Sized {
    const IS_GUID: bool;
    const DESCRIPTION: &'static str;
    const EXAMPLE: Option<&'static str> = None;
    fn parse_path(field: &str, value: &str) -> Result<Self>;
}

macro_rules! path_values {
    ($($ty:ty => $guid:literal, $description:literal $(, example $example:expr)?;)+) => {
        $(impl PathValue for $ty {
            const IS_GUID: bool = $guid;
            const DESCRIPTION: &'static str = $description;
            $(const EXAMPLE: Option<&'static str> = Some($example);)?
            fn parse_path(field: &str, value: &str) -> Result<Self> {
                <$ty>::parse(field, value)
            }
        })+
    };
}

path_values! {
    CustomerId => true, "The customer's tenant id", example EXAMPLE_CUSTOMER_ID;
    SubscriptionId => true, "The subscription id (for an Azure plan: the plan id)";
    CartId => true, "The cart id";
    UpgradeId => true, "The product upgrade id";
    OrderId => false, "The order id";
    ProductId => false, "The catalog product id, e.g. DZH318Z0BPS6";
    SkuId => false, "The SKU id, e.g. 0001";
    AvailabilityId => false, "The availability id";
    InvoiceId => false, "The invoice id";
}

/// The OpenAPI parameter of one path value.
fn parameter<T: PathValue>(name: &str) -> Parameter {
    let mut schema = ObjectBuilder::new().schema_type(Type::String);
    schema = if T::IS_GUID {
        schema.format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))).pattern(Some(GUID_PATTERN))
    } else {
        schema.pattern(Some(TOKEN_PATTERN))
    };
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(T::DESCRIPTION))
        .schema(Some(schema))
        .example(T::EXAMPLE.map(serde_json::Value::from))
        .build()
}

/// The raw value of path parameter `name`.
fn raw<'a>(params: &'a RawPathParams, name: &str) -> Result<&'a str> {
    params
        .iter()
        .find_map(|(key, value)| (key == name).then_some(value))
        .ok_or_else(|| Error::internal(format!("route without the path parameter {name}")))
}

/// Declares a path extractor: a struct of typed values, each read from the named parameter.
macro_rules! path_extractor {
    ($($(#[doc = $doc:literal])+ $name:ident { $($field:ident: $ty:ty = $wire:literal),+ })+) => {
        $(
            $(#[doc = $doc])+
            #[derive(Debug, Clone)]
            pub struct $name {
                $(pub $field: $ty,)+
            }

            impl<S: Send + Sync> FromRequestParts<S> for $name {
                type Rejection = Error;

                async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
                    let params = RawPathParams::from_request_parts(parts, state)
                        .await
                        .map_err(|e| Error::invalid_field("path", e.body_text()))?;
                    Ok(Self { $($field: <$ty as PathValue>::parse_path($wire, raw(&params, $wire)?)?,)+ })
                }
            }

            impl utoipa::IntoParams for $name {
                fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
                    vec![$(parameter::<$ty>($wire),)+]
                }
            }
        )+
    };
}

path_extractor! {
    /// `{customerId}`
    CustomerPath { customer: CustomerId = "customerId" }
    /// `{customerId}/carts/{cartId}`
    CartPath { customer: CustomerId = "customerId", cart: CartId = "cartId" }
    /// `{customerId}/orders/{orderId}`
    OrderPath { customer: CustomerId = "customerId", order: OrderId = "orderId" }
    /// `{customerId}/subscriptions/{subscriptionId}`
    SubscriptionPath { customer: CustomerId = "customerId", subscription: SubscriptionId = "subscriptionId" }
    /// `{customerId}/product-upgrades/{upgradeId}`
    UpgradePath { customer: CustomerId = "customerId", upgrade: UpgradeId = "upgradeId" }
    /// `products/{productId}`
    ProductPath { product: ProductId = "productId" }
    /// `products/{productId}/skus/{skuId}`
    SkuPath { product: ProductId = "productId", sku: SkuId = "skuId" }
    /// `products/{productId}/skus/{skuId}/availabilities/{availabilityId}`
    AvailabilityPath { product: ProductId = "productId", sku: SkuId = "skuId", availability: AvailabilityId = "availabilityId" }
    /// `invoices/{invoiceId}`
    InvoicePath { invoice: InvoiceId = "invoiceId" }
}
