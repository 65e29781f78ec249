//! gRPC requests into the facade's typed values, with the proto's own field names (snake_case)
//! in every error.

use super::{convert, pb};
use crate::{
    edge::GRPC_FIELDS,
    error::{Error, Result},
    model::{
        Country, PageRequest,
        agreement::AgreementConfirmation,
        commerce::{AzurePlanOrder, CartLine, CartLineArgs, FriendlyName, IdempotencyKey},
        usage::BudgetAmount,
    },
};

/// `page_size` and `page_token` (0 and "" mean "not set").
pub fn page(size: i32, token: String) -> Result<PageRequest> {
    PageRequest::parse(Some(i64::from(size)), Some(token), &GRPC_FIELDS.page)
}

pub fn cart_lines(lines: Vec<pb::CartLineItemInput>) -> Result<Vec<CartLine>> {
    let lines = lines
        .into_iter()
        .map(|l| CartLineArgs {
            catalog_item_id: l.catalog_item_id,
            quantity: i64::from(l.quantity),
            billing_cycle: l.billing_cycle,
            term_duration: (!l.term_duration.is_empty()).then_some(l.term_duration),
            friendly_name: (!l.friendly_name.is_empty()).then_some(l.friendly_name),
            provisioning_context: l.provisioning_context.into_iter().collect(),
        })
        .collect();
    CartLine::parse_all(lines, &GRPC_FIELDS.cart)
}

pub fn azure_plan_order(req: &pb::CreateAzurePlanRequest) -> Result<AzurePlanOrder> {
    Ok(AzurePlanOrder {
        idempotency_key: IdempotencyKey::parse(GRPC_FIELDS.idempotency_key, Some(&req.idempotency_key))?,
        friendly_name: FriendlyName::parse_optional("friendly_name", Some(&req.friendly_name))?,
        country: (!req.country.is_empty()).then(|| Country::parse("country", &req.country)).transpose()?,
    })
}

/// `None`: remove the budget.
pub fn budget_amount(amount: Option<&str>) -> Result<Option<BudgetAmount>> {
    amount.map(|text| BudgetAmount::parse("amount", text)).transpose()
}

pub fn agreement_confirmation(req: pb::ConfirmCustomerAgreementRequest) -> Result<AgreementConfirmation> {
    let contact = req
        .primary_contact
        .ok_or_else(|| Error::invalid_field(GRPC_FIELDS.agreement.primary_contact, "is required"))?;
    AgreementConfirmation::parse(
        convert::contact_input(contact),
        (!req.template_id.is_empty()).then_some(req.template_id),
        convert::from_timestamp(GRPC_FIELDS.agreement.date_agreed, req.date_agreed)?,
        &GRPC_FIELDS.agreement,
    )
}
