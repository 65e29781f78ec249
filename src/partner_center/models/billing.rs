//! Invoice wire shapes (I1–I9).

use serde::Deserialize;

use super::{parse_timestamp, usage::decimal};
use crate::model::billing::{Invoice, InvoiceDetail, InvoiceSummary};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireInvoiceDetail {
    #[serde(default)]
    pub invoice_line_item_type: String,
    #[serde(default)]
    pub billing_provider: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireInvoice {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub invoice_date: Option<String>,
    #[serde(default)]
    pub billing_period_start_date: Option<String>,
    #[serde(default)]
    pub billing_period_end_date: Option<String>,
    #[serde(default, deserialize_with = "decimal")]
    pub total_charges: Option<String>,
    #[serde(default, deserialize_with = "decimal")]
    pub paid_amount: Option<String>,
    #[serde(default)]
    pub currency_code: String,
    #[serde(default)]
    pub currency_symbol: String,
    #[serde(default)]
    pub document_type: String,
    #[serde(default)]
    pub invoice_type: String,
    #[serde(default)]
    pub invoice_details: Vec<WireInvoiceDetail>,
    #[serde(default)]
    pub amendments: Vec<WireInvoice>,
    #[serde(default)]
    pub amends_of: Option<String>,
}

impl From<WireInvoice> for Invoice {
    fn from(w: WireInvoice) -> Self {
        Invoice {
            id: w.id,
            invoice_date: parse_timestamp(w.invoice_date.as_deref()),
            billing_period_start_date: parse_timestamp(w.billing_period_start_date.as_deref()),
            billing_period_end_date: parse_timestamp(w.billing_period_end_date.as_deref()),
            total_charges: w.total_charges.unwrap_or_else(|| "0".to_owned()),
            paid_amount: w.paid_amount.unwrap_or_else(|| "0".to_owned()),
            currency_code: w.currency_code,
            currency_symbol: w.currency_symbol,
            document_type: w.document_type,
            invoice_type: w.invoice_type,
            invoice_details: w
                .invoice_details
                .into_iter()
                .map(|d| InvoiceDetail {
                    invoice_line_item_type: d.invoice_line_item_type,
                    billing_provider: d.billing_provider,
                })
                .collect(),
            amendments: w.amendments.into_iter().map(Into::into).collect(),
            amends_of: w.amends_of.filter(|a| !a.is_empty()),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireInvoiceSummary {
    #[serde(default, deserialize_with = "decimal")]
    pub balance_amount: Option<String>,
    #[serde(default)]
    pub currency_code: String,
    #[serde(default)]
    pub currency_symbol: String,
    #[serde(default)]
    pub accounting_date: Option<String>,
    #[serde(default)]
    pub first_invoice_creation_date: Option<String>,
    #[serde(default)]
    pub last_payment_date: Option<String>,
    #[serde(default, deserialize_with = "decimal")]
    pub last_payment_amount: Option<String>,
    #[serde(default)]
    pub latest_invoice_date: Option<String>,
}

impl From<WireInvoiceSummary> for InvoiceSummary {
    fn from(w: WireInvoiceSummary) -> Self {
        InvoiceSummary {
            currency_code: w.currency_code,
            currency_symbol: w.currency_symbol,
            balance_amount: w.balance_amount.unwrap_or_else(|| "0".to_owned()),
            accounting_date: parse_timestamp(w.accounting_date.as_deref()),
            first_invoice_creation_date: parse_timestamp(w.first_invoice_creation_date.as_deref()),
            last_payment_date: parse_timestamp(w.last_payment_date.as_deref()),
            last_payment_amount: w.last_payment_amount.unwrap_or_else(|| "0".to_owned()),
            latest_invoice_date: parse_timestamp(w.latest_invoice_date.as_deref()),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct WireEstimateLinkTarget {
    #[serde(default)]
    pub uri: String,
}

#[derive(Debug, Deserialize)]
pub struct WireEstimateLink {
    #[serde(default, rename = "type")]
    pub link_type: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub period: String,
    #[serde(default)]
    pub link: Option<WireEstimateLinkTarget>,
}
