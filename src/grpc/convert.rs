//! `crate::model` → protobuf messages.

use prost_types::{Struct, Value as ProstValue, value::Kind};
use serde_json::Value;

use super::pb;
use crate::model::{
    agreement::{Agreement, AgreementMetadata, Contact},
    catalog::{Availability, AzurePlanCatalogItem, ItemType, Product, Sku},
    commerce::{AzurePlan, AzurePlanSubscription, Cart, CheckoutResult, Order, OrderProvisioningStatus},
    customer::{BillingProfile, Customer},
    subscription::{AzureEntitlement, Subscription},
    upgrade::{ProductUpgrade, ProductUpgradeEligibility, ProductUpgradeStatus},
};

pub fn customer(c: Customer) -> pb::Customer {
    pb::Customer {
        id: c.id.to_string(),
        commerce_id: c.commerce_id.unwrap_or_default(),
        company_profile: Some(pb::CompanyProfile {
            tenant_id: c.company_profile.tenant_id.to_string(),
            domain: c.company_profile.domain,
            company_name: c.company_profile.company_name,
        }),
        relationship_to_partner: c.relationship_to_partner,
        allow_delegated_access: c.allow_delegated_access,
    }
}

pub fn billing_profile(p: BillingProfile) -> pb::BillingProfile {
    let a = p.default_address;
    pb::BillingProfile {
        customer_id: p.customer_id.to_string(),
        first_name: p.first_name.unwrap_or_default(),
        last_name: p.last_name.unwrap_or_default(),
        email: p.email.unwrap_or_default(),
        culture: p.culture.unwrap_or_default(),
        language: p.language.unwrap_or_default(),
        company_name: p.company_name.unwrap_or_default(),
        default_address: Some(pb::Address {
            country: a.country,
            region: a.region.unwrap_or_default(),
            city: a.city.unwrap_or_default(),
            state: a.state.unwrap_or_default(),
            address_line1: a.address_line1.unwrap_or_default(),
            address_line2: a.address_line2.unwrap_or_default(),
            postal_code: a.postal_code.unwrap_or_default(),
            first_name: a.first_name.unwrap_or_default(),
            last_name: a.last_name.unwrap_or_default(),
            phone_number: a.phone_number.unwrap_or_default(),
        }),
    }
}

fn item_type(t: ItemType) -> pb::ItemType {
    pb::ItemType { id: t.id, display_name: t.display_name, sub_type: t.sub_type.map(|s| Box::new(item_type(*s))) }
}

pub fn product(p: Product) -> pb::Product {
    pb::Product {
        id: p.id,
        title: p.title,
        description: p.description,
        product_type: Some(item_type(p.product_type)),
        is_microsoft_product: p.is_microsoft_product,
        publisher_name: p.publisher_name,
    }
}

pub fn sku(s: Sku) -> pb::Sku {
    pb::Sku {
        id: s.id,
        product_id: s.product_id,
        title: s.title,
        description: s.description,
        minimum_quantity: s.minimum_quantity,
        maximum_quantity: s.maximum_quantity,
        is_trial: s.is_trial,
        supported_billing_cycles: s.supported_billing_cycles,
        purchase_prerequisites: s.purchase_prerequisites,
        inventory_variables: s.inventory_variables,
        provisioning_variables: s.provisioning_variables,
        dynamic_attributes: Some(json_object(s.dynamic_attributes)),
    }
}

pub fn availability(a: Availability) -> pb::Availability {
    pb::Availability {
        id: a.id,
        product_id: a.product_id,
        sku_id: a.sku_id,
        catalog_item_id: a.catalog_item_id,
        default_currency: a.default_currency.map(|c| pb::Currency { code: c.code, symbol: c.symbol }),
        segment: a.segment,
        country: a.country,
        is_purchasable: a.is_purchasable,
        is_renewable: a.is_renewable,
        terms: a
            .terms
            .into_iter()
            .map(|t| pb::Term {
                id: t.id.unwrap_or_default(),
                duration: t.duration,
                description: t.description,
                billing_cycle: t.billing_cycle.unwrap_or_default(),
            })
            .collect(),
    }
}

pub fn azure_plan_catalog_item(item: AzurePlanCatalogItem) -> pb::AzurePlanCatalogItem {
    pb::AzurePlanCatalogItem {
        product: Some(product(item.product)),
        sku: Some(sku(item.sku)),
        availability: Some(availability(item.availability)),
        catalog_item_id: item.catalog_item_id,
    }
}

/// A JSON object as `google.protobuf.Struct`.
pub fn json_object(map: serde_json::Map<String, Value>) -> Struct {
    Struct { fields: map.into_iter().map(|(k, v)| (k, json_value(v))).collect() }
}

fn json_value(value: Value) -> ProstValue {
    let kind = match value {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(b),
        // Struct has only doubles; big integers lose precision here, as in every JSON↔Struct mapping.
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        Value::String(s) => Kind::StringValue(s),
        Value::Array(items) => {
            Kind::ListValue(prost_types::ListValue { values: items.into_iter().map(json_value).collect() })
        }
        Value::Object(map) => Kind::StructValue(json_object(map)),
    };
    ProstValue { kind: Some(kind) }
}

fn timestamp(value: Option<time::OffsetDateTime>) -> Option<prost_types::Timestamp> {
    value.map(|t| prost_types::Timestamp {
        seconds: t.unix_timestamp(),
        nanos: i32::try_from(t.nanosecond()).unwrap_or_default(),
    })
}

/// A protobuf timestamp from a caller, checked.
pub fn from_timestamp(
    field: &str,
    value: Option<prost_types::Timestamp>,
) -> crate::error::Result<Option<time::OffsetDateTime>> {
    value
        .map(|t| {
            time::OffsetDateTime::from_unix_timestamp(t.seconds)
                .ok()
                .and_then(|base| u32::try_from(t.nanos).ok().and_then(|n| base.replace_nanosecond(n).ok()))
                .ok_or_else(|| crate::error::Error::invalid_field(field, "is not a valid timestamp"))
        })
        .transpose()
}

pub fn contact(c: Contact) -> pb::Contact {
    pb::Contact {
        first_name: c.first_name,
        last_name: c.last_name,
        email: c.email,
        phone_number: c.phone_number.unwrap_or_default(),
    }
}

pub fn contact_input(c: pb::Contact) -> Contact {
    Contact {
        first_name: c.first_name,
        last_name: c.last_name,
        email: c.email,
        phone_number: (!c.phone_number.is_empty()).then_some(c.phone_number),
    }
}

pub fn agreement_metadata(m: AgreementMetadata) -> pb::AgreementMetadata {
    pb::AgreementMetadata {
        template_id: m.template_id,
        agreement_type: m.agreement_type,
        agreement_link: m.agreement_link,
        version_rank: m.version_rank,
    }
}

pub fn agreement(a: Agreement) -> pb::Agreement {
    pb::Agreement {
        customer_id: a.customer_id.to_string(),
        template_id: a.template_id,
        r#type: a.agreement_type,
        primary_contact: Some(contact(a.primary_contact)),
        date_agreed: timestamp(a.date_agreed),
        user_id: a.user_id.unwrap_or_default(),
        agreement_link: a.agreement_link.unwrap_or_default(),
    }
}

pub fn cart(c: Cart) -> pb::Cart {
    pb::Cart {
        id: c.id.to_string(),
        customer_id: c.customer_id.to_string(),
        status: c.status,
        creation_timestamp: timestamp(c.creation_timestamp),
        last_modified_timestamp: timestamp(c.last_modified_timestamp),
        expiration_timestamp: timestamp(c.expiration_timestamp),
        line_items: c
            .line_items
            .into_iter()
            .map(|l| pb::CartLineItem {
                id: l.id,
                catalog_item_id: l.catalog_item_id,
                friendly_name: l.friendly_name.unwrap_or_default(),
                quantity: l.quantity,
                currency_code: l.currency_code.unwrap_or_default(),
                billing_cycle: l.billing_cycle,
                term_duration: l.term_duration.unwrap_or_default(),
                provisioning_context: l.provisioning_context.into_iter().collect(),
                order_group: l.order_group.unwrap_or_default(),
                error: l.error.map(|e| pb::CartLineItemError {
                    error_code: e.error_code,
                    error_name: e.error_name,
                    description: e.description,
                }),
            })
            .collect(),
    }
}

pub fn order(o: Order) -> pb::Order {
    pb::Order {
        id: o.id.to_string(),
        alternate_id: o.alternate_id.unwrap_or_default(),
        customer_id: o.customer_id.to_string(),
        billing_cycle: o.billing_cycle,
        currency_code: o.currency_code.unwrap_or_default(),
        status: o.status,
        creation_date: timestamp(o.creation_date),
        line_items: o
            .line_items
            .into_iter()
            .map(|l| pb::OrderLineItem {
                line_item_number: l.line_item_number,
                offer_id: l.offer_id,
                subscription_id: l.subscription_id.map(|s| s.to_string()).unwrap_or_default(),
                friendly_name: l.friendly_name.unwrap_or_default(),
                quantity: l.quantity,
                term_duration: l.term_duration.unwrap_or_default(),
                transaction_type: l.transaction_type.unwrap_or_default(),
            })
            .collect(),
        transaction_type: o.transaction_type.unwrap_or_default(),
    }
}

pub fn checkout(r: CheckoutResult) -> pb::CheckoutResult {
    pb::CheckoutResult {
        orders: r.orders.into_iter().map(order).collect(),
        order_errors: r
            .order_errors
            .into_iter()
            .map(|e| pb::OrderError { order_group_id: e.order_group_id, code: e.code, description: e.description })
            .collect(),
    }
}

pub fn provisioning_status(s: OrderProvisioningStatus) -> pb::OrderProvisioningStatus {
    pb::OrderProvisioningStatus {
        order_id: s.order_id.to_string(),
        line_items: s
            .line_items
            .into_iter()
            .map(|l| pb::OrderLineItemProvisioningStatus {
                line_item_number: l.line_item_number,
                status: l.status,
                quantities: l
                    .quantities
                    .into_iter()
                    .map(|q| pb::QuantityProvisioningStatus { quantity: q.quantity, status: q.status })
                    .collect(),
            })
            .collect(),
    }
}

pub fn azure_plan(p: AzurePlan) -> pb::AzurePlan {
    pb::AzurePlan {
        customer_id: p.customer_id.to_string(),
        order_id: p.order_id.to_string(),
        subscription_id: p.subscription_id.map(|s| s.to_string()).unwrap_or_default(),
        status: p.status.as_str().to_owned(),
        catalog_item_id: p.catalog_item_id,
        order_status: p.order_status,
        replayed: p.replayed,
    }
}

pub fn azure_plan_subscription(s: AzurePlanSubscription) -> pb::AzurePlanSubscription {
    pb::AzurePlanSubscription {
        subscription_id: s.subscription_id.to_string(),
        friendly_name: s.friendly_name,
        status: s.status,
        order_id: s.order_id.unwrap_or_default(),
        offer_id: s.offer_id,
    }
}

pub fn subscription(s: Subscription) -> pb::Subscription {
    pb::Subscription {
        id: s.id.to_string(),
        customer_id: s.customer_id.to_string(),
        offer_id: s.offer_id,
        offer_name: s.offer_name.unwrap_or_default(),
        friendly_name: s.friendly_name,
        quantity: s.quantity,
        unit_type: s.unit_type.unwrap_or_default(),
        status: s.status,
        billing_type: s.billing_type.unwrap_or_default(),
        billing_cycle: s.billing_cycle.unwrap_or_default(),
        term_duration: s.term_duration.unwrap_or_default(),
        creation_date: timestamp(s.creation_date),
        effective_start_date: timestamp(s.effective_start_date),
        commitment_end_date: timestamp(s.commitment_end_date),
        auto_renew_enabled: s.auto_renew_enabled,
        order_id: s.order_id.unwrap_or_default(),
        entitlement_id: s.entitlement_id.unwrap_or_default(),
        parent_subscription_id: s.parent_subscription_id.unwrap_or_default(),
        suspension_reasons: s.suspension_reasons,
        is_azure_plan: s.is_azure_plan,
    }
}

pub fn entitlement(e: AzureEntitlement) -> pb::AzureEntitlement {
    pb::AzureEntitlement {
        id: e.id,
        friendly_name: e.friendly_name,
        status: e.status,
        subscription_id: e.subscription_id,
    }
}

pub fn eligibility(e: ProductUpgradeEligibility) -> pb::ProductUpgradeEligibility {
    pb::ProductUpgradeEligibility {
        customer_id: e.customer_id.to_string(),
        product_family: e.product_family,
        is_eligible: e.is_eligible,
        upgrade_id: e.upgrade_id.unwrap_or_default(),
        reason: e.reason.unwrap_or_default(),
    }
}

pub fn upgrade(u: ProductUpgrade) -> pb::ProductUpgrade {
    pb::ProductUpgrade {
        id: u.id.to_string(),
        customer_id: u.customer_id.to_string(),
        product_family: u.product_family,
    }
}

pub fn upgrade_status(s: ProductUpgradeStatus) -> pb::ProductUpgradeStatus {
    let product = |p: crate::model::upgrade::UpgradeProduct| pb::UpgradeProduct { id: p.id, name: p.name };
    pb::ProductUpgradeStatus {
        id: s.id.to_string(),
        customer_id: s.customer_id.to_string(),
        product_family: s.product_family,
        status: s.status,
        line_items: s
            .line_items
            .into_iter()
            .map(|l| pb::UpgradeLineItem {
                source_product: l.source_product.map(product),
                target_product: l.target_product.map(product),
                upgraded_date: timestamp(l.upgraded_date),
                status: l.status,
            })
            .collect(),
        error_details: s.error_details.map(|e| pb::UpgradeErrorDetails { code: e.code, message: e.message }),
    }
}

fn decimal(value: Option<String>) -> String {
    value.unwrap_or_default()
}

pub fn partner_usage_summary(s: crate::model::usage::PartnerUsageSummary) -> pb::PartnerUsageSummary {
    pb::PartnerUsageSummary {
        partner_id: s.partner_id,
        name: s.name,
        customers_over_budget: i32::try_from(s.customers_over_budget).unwrap_or(i32::MAX),
        customers_trending_over: i32::try_from(s.customers_trending_over).unwrap_or(i32::MAX),
        customers_with_usage_based_subscriptions: i32::try_from(s.customers_with_usage_based_subscriptions)
            .unwrap_or(i32::MAX),
        billing_start_date: timestamp(s.billing_start_date),
        billing_end_date: timestamp(s.billing_end_date),
        total_cost: s.total_cost,
        currency_locale: s.currency_locale.unwrap_or_default(),
        last_modified_date: timestamp(s.last_modified_date),
    }
}

pub fn customer_usage_record(r: crate::model::usage::CustomerUsageRecord) -> pb::CustomerUsageRecord {
    pb::CustomerUsageRecord {
        customer_id: r.customer_id,
        customer_name: r.customer_name,
        budget_amount: r.budget_amount,
        percent_used: r.percent_used,
        is_upgraded: r.is_upgraded,
        total_cost: r.total_cost,
        currency_code: r.currency.currency_code.unwrap_or_default(),
        currency_locale: r.currency.currency_locale.unwrap_or_default(),
        usd_total_cost: decimal(r.currency.usd_total_cost),
        last_modified_date: timestamp(r.last_modified_date),
    }
}

pub fn customer_usage_summary(s: crate::model::usage::CustomerUsageSummary) -> pb::CustomerUsageSummary {
    pb::CustomerUsageSummary {
        customer_id: s.customer_id.to_string(),
        customer_name: s.customer_name,
        budget_amount: s.budget_amount,
        billing_start_date: timestamp(s.billing_start_date),
        billing_end_date: timestamp(s.billing_end_date),
        total_cost: s.total_cost,
        currency_code: s.currency.currency_code.unwrap_or_default(),
        currency_locale: s.currency.currency_locale.unwrap_or_default(),
        usd_total_cost: decimal(s.currency.usd_total_cost),
        last_modified_date: timestamp(s.last_modified_date),
    }
}

pub fn subscription_usage_record(r: crate::model::usage::SubscriptionUsageRecord) -> pb::SubscriptionUsageRecord {
    pb::SubscriptionUsageRecord {
        subscription_id: r.subscription_id,
        name: r.name,
        status: r.status,
        offer_id: r.offer_id,
        partner_on_record: r.partner_on_record.unwrap_or_default(),
        total_cost: r.total_cost,
        currency_code: r.currency.currency_code.unwrap_or_default(),
        currency_locale: r.currency.currency_locale.unwrap_or_default(),
        usd_total_cost: decimal(r.currency.usd_total_cost),
        last_modified_date: timestamp(r.last_modified_date),
    }
}

pub fn subscription_usage_summary(s: crate::model::usage::SubscriptionUsageSummary) -> pb::SubscriptionUsageSummary {
    pb::SubscriptionUsageSummary {
        subscription_id: s.subscription_id,
        name: s.name,
        billing_start_date: timestamp(s.billing_start_date),
        billing_end_date: timestamp(s.billing_end_date),
        total_cost: s.total_cost,
        currency_code: s.currency.currency_code.unwrap_or_default(),
        currency_locale: s.currency.currency_locale.unwrap_or_default(),
        usd_total_cost: decimal(s.currency.usd_total_cost),
        last_modified_date: timestamp(s.last_modified_date),
    }
}

pub fn monthly_usage_record(r: crate::model::usage::MonthlyUsageRecord) -> pb::MonthlyUsageRecord {
    pb::MonthlyUsageRecord {
        id: r.id,
        name: r.name,
        category: r.category,
        subcategory: r.subcategory,
        quantity_used: r.quantity_used,
        unit: r.unit,
        total_cost: r.total_cost,
        currency_locale: r.currency_locale.unwrap_or_default(),
    }
}

pub fn resource_usage_record(r: crate::model::usage::ResourceUsageRecord) -> pb::ResourceUsageRecord {
    pb::ResourceUsageRecord {
        subscription_id: r.subscription_id,
        resource_uri: r.resource_uri,
        resource_type: r.resource_type,
        entitlement_id: r.entitlement_id,
        entitlement_name: r.entitlement_name,
        resource_group_name: r.resource_group_name,
        resource_name: r.resource_name,
        total_cost: r.total_cost,
        currency_code: r.currency.currency_code.unwrap_or_default(),
        usd_total_cost: decimal(r.currency.usd_total_cost),
        last_modified_date: timestamp(r.last_modified_date),
    }
}

pub fn meter_usage_record(r: crate::model::usage::MeterUsageRecord) -> pb::MeterUsageRecord {
    pb::MeterUsageRecord {
        subscription_id: r.subscription_id,
        meter_id: r.meter_id,
        meter_name: r.meter_name,
        category: r.category,
        subcategory: r.subcategory,
        quantity_used: r.quantity_used,
        unit: r.unit,
        total_cost: r.total_cost,
        currency_code: r.currency.currency_code.unwrap_or_default(),
        usd_total_cost: decimal(r.currency.usd_total_cost),
        last_modified_date: timestamp(r.last_modified_date),
    }
}

pub fn spending_budget(b: crate::model::usage::SpendingBudget) -> pb::SpendingBudget {
    pb::SpendingBudget { customer_id: b.customer_id.to_string(), amount: b.amount }
}

pub fn invoice(i: crate::model::billing::Invoice) -> pb::Invoice {
    pb::Invoice {
        id: i.id,
        invoice_date: timestamp(i.invoice_date),
        billing_period_start_date: timestamp(i.billing_period_start_date),
        billing_period_end_date: timestamp(i.billing_period_end_date),
        total_charges: i.total_charges,
        paid_amount: i.paid_amount,
        currency_code: i.currency_code,
        currency_symbol: i.currency_symbol,
        document_type: i.document_type,
        invoice_type: i.invoice_type,
        invoice_details: i
            .invoice_details
            .into_iter()
            .map(|d| pb::InvoiceDetail {
                invoice_line_item_type: d.invoice_line_item_type,
                billing_provider: d.billing_provider,
            })
            .collect(),
        amendments: i.amendments.into_iter().map(invoice).collect(),
        amends_of: i.amends_of.unwrap_or_default(),
    }
}

pub fn invoice_summary(s: crate::model::billing::InvoiceSummary) -> pb::InvoiceSummary {
    pb::InvoiceSummary {
        currency_code: s.currency_code,
        currency_symbol: s.currency_symbol,
        balance_amount: s.balance_amount,
        accounting_date: timestamp(s.accounting_date),
        first_invoice_creation_date: timestamp(s.first_invoice_creation_date),
        last_payment_date: timestamp(s.last_payment_date),
        last_payment_amount: s.last_payment_amount,
        latest_invoice_date: timestamp(s.latest_invoice_date),
    }
}

pub fn estimate_link(l: crate::model::billing::InvoiceEstimateLink) -> pb::InvoiceEstimateLink {
    pb::InvoiceEstimateLink {
        r#type: l.link_type,
        title: l.title,
        description: l.description,
        period: l.period,
        provider: l.provider,
        line_item_type: l.line_item_type,
        currency_code: l.currency_code,
    }
}

/// A line item's own JSON as a Struct, with its kind.
pub fn line_item(item: crate::model::billing::InvoiceLineItem) -> crate::error::Result<pb::InvoiceLineItem> {
    let fields: serde_json::Map<String, Value> = serde_json::from_str(item.raw.get()).map_err(|e| {
        crate::error::Error::new(
            crate::error::ErrorKind::UpstreamUnavailable,
            "Partner Center sent a line item that is not an object",
        )
        .with_source(format!("line item: {e}"))
    })?;
    Ok(pb::InvoiceLineItem { kind: item.kind, fields: Some(json_object(fields)) })
}
