use serde::Deserialize;

use super::{lenient_i32, malformed, parse_timestamp};
use crate::{
    error::Result,
    model::{
        CustomerId, SubscriptionId,
        subscription::{AzureEntitlement, Subscription},
    },
};

#[derive(Debug, Default, Deserialize)]
pub struct WireAttributes {
    #[serde(default, alias = "Etag")]
    pub etag: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireSubscription {
    #[serde(alias = "Id")]
    pub id: String,
    #[serde(default)]
    pub offer_id: String,
    #[serde(default)]
    pub offer_name: Option<String>,
    #[serde(default)]
    pub friendly_name: String,
    #[serde(default, deserialize_with = "lenient_i32")]
    pub quantity: i32,
    #[serde(default)]
    pub unit_type: Option<String>,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub billing_type: Option<String>,
    #[serde(default)]
    pub billing_cycle: Option<String>,
    #[serde(default)]
    pub term_duration: Option<String>,
    #[serde(default)]
    pub creation_date: Option<String>,
    #[serde(default)]
    pub effective_start_date: Option<String>,
    #[serde(default)]
    pub commitment_end_date: Option<String>,
    #[serde(default)]
    pub auto_renew_enabled: bool,
    #[serde(default)]
    pub order_id: Option<String>,
    #[serde(default)]
    pub entitlement_id: Option<String>,
    #[serde(default)]
    pub parent_subscription_id: Option<String>,
    #[serde(default)]
    pub suspension_reasons: Vec<String>,
    #[serde(default)]
    pub attributes: WireAttributes,
}

impl WireSubscription {
    /// `azure_plan_product` is the catalog product id of the Azure plan (its offers start with it).
    pub fn into_model(self, customer_id: CustomerId, azure_plan_product: &str) -> Result<Subscription> {
        let id =
            SubscriptionId::parse("id", &self.id).map_err(|_| malformed(format!("subscription id {:?}", self.id)))?;
        let is_azure_plan =
            self.offer_id.split(':').next().is_some_and(|product| product.eq_ignore_ascii_case(azure_plan_product));
        Ok(Subscription {
            id,
            customer_id,
            offer_id: self.offer_id,
            offer_name: self.offer_name,
            friendly_name: self.friendly_name,
            quantity: self.quantity,
            unit_type: self.unit_type,
            status: self.status.to_ascii_lowercase(),
            billing_type: self.billing_type,
            billing_cycle: self.billing_cycle,
            term_duration: self.term_duration,
            creation_date: parse_timestamp(self.creation_date.as_deref()),
            effective_start_date: parse_timestamp(self.effective_start_date.as_deref()),
            commitment_end_date: parse_timestamp(self.commitment_end_date.as_deref()),
            auto_renew_enabled: self.auto_renew_enabled,
            order_id: self.order_id.filter(|o| !o.is_empty()),
            entitlement_id: self.entitlement_id.filter(|e| !e.is_empty()),
            parent_subscription_id: self.parent_subscription_id.filter(|p| !p.is_empty()),
            suspension_reasons: self.suspension_reasons,
            is_azure_plan,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireAzureEntitlement {
    pub id: String,
    #[serde(default)]
    pub friendly_name: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub subscription_id: String,
}

impl From<WireAzureEntitlement> for AzureEntitlement {
    fn from(wire: WireAzureEntitlement) -> Self {
        AzureEntitlement {
            id: wire.id,
            friendly_name: wire.friendly_name,
            status: wire.status.to_ascii_lowercase(),
            subscription_id: wire.subscription_id,
        }
    }
}
