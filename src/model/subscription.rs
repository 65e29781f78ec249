//! Subscriptions and the Azure subscriptions (entitlements) under an Azure plan.

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{CustomerId, SubscriptionId};

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    #[schema(value_type = String, format = Uuid)]
    pub id: SubscriptionId,
    #[schema(value_type = String, format = Uuid)]
    pub customer_id: CustomerId,
    pub offer_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offer_name: Option<String>,
    pub friendly_name: String,
    pub quantity: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_type: Option<String>,
    /// none, active, pending, suspended, deleted, expired, disabled
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing_cycle: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term_duration: Option<String>,
    #[serde(with = "super::time_format::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub creation_date: Option<OffsetDateTime>,
    #[serde(with = "super::time_format::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub effective_start_date: Option<OffsetDateTime>,
    #[serde(with = "super::time_format::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub commitment_end_date: Option<OffsetDateTime>,
    pub auto_renew_enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entitlement_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_subscription_id: Option<String>,
    pub suspension_reasons: Vec<String>,
    /// True for an Azure plan.
    pub is_azure_plan: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AzureEntitlement {
    /// The Azure subscription id.
    pub id: String,
    pub friendly_name: String,
    pub status: String,
    /// The Azure plan it belongs to.
    pub subscription_id: String,
}

/// The status a caller may set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionStatusChange {
    Suspend,
    Reactivate,
}

impl SubscriptionStatusChange {
    /// The wire status Partner Center expects.
    pub fn target_status(self) -> &'static str {
        match self {
            Self::Suspend => "suspended",
            Self::Reactivate => "active",
        }
    }
}
