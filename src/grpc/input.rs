//! gRPC requests into the facade's typed values, with the proto's own field names (snake_case)
//! in every error.

use super::{convert, pb};
use crate::{
    error::{Error, Result},
    model::{
        Country, PageRequest,
        agreement::{AgreementConfirmation, AgreementFields},
        billing::LineItemFields,
        commerce::{AzurePlanOrder, CartFields, CartLine, CartLineArgs, FriendlyName, IdempotencyKey},
        page::PageFields,
        usage::BudgetAmount,
    },
};

pub const PAGE_FIELDS: PageFields = PageFields { size: "page_size", token: "page_token" };

pub const CART_FIELDS: CartFields = CartFields {
    line_items: "line_items",
    catalog_item_id: "catalog_item_id",
    quantity: "quantity",
    billing_cycle: "billing_cycle",
    term_duration: "term_duration",
    friendly_name: "friendly_name",
    provisioning_context: "provisioning_context",
};

pub const AGREEMENT_FIELDS: AgreementFields = AgreementFields {
    primary_contact: "primary_contact",
    first_name: "first_name",
    last_name: "last_name",
    email: "email",
    phone_number: "phone_number",
    template_id: "template_id",
    date_agreed: "date_agreed",
};

pub const LINE_ITEM_FIELDS: LineItemFields =
    LineItemFields { provider: "provider", line_item_type: "type", currency_code: "currency_code", period: "period" };

/// `page_size` and `page_token` (0 and "" mean "not set").
pub fn page(size: i32, token: String) -> Result<PageRequest> {
    PageRequest::parse(Some(i64::from(size)), Some(token), &PAGE_FIELDS)
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
    CartLine::parse_all(lines, &CART_FIELDS)
}

pub fn azure_plan_order(req: &pb::CreateAzurePlanRequest) -> Result<AzurePlanOrder> {
    Ok(AzurePlanOrder {
        idempotency_key: IdempotencyKey::parse("idempotency_key", Some(&req.idempotency_key))?,
        friendly_name: FriendlyName::parse_optional("friendly_name", Some(&req.friendly_name))?,
        country: (!req.country.is_empty()).then(|| Country::parse("country", &req.country)).transpose()?,
    })
}

/// `None`: remove the budget.
pub fn budget_amount(amount: Option<&str>) -> Result<Option<BudgetAmount>> {
    amount.map(|text| BudgetAmount::parse("amount", text)).transpose()
}

pub fn agreement_confirmation(req: pb::ConfirmCustomerAgreementRequest) -> Result<AgreementConfirmation> {
    let contact =
        req.primary_contact.ok_or_else(|| Error::invalid_field(AGREEMENT_FIELDS.primary_contact, "is required"))?;
    AgreementConfirmation::parse(
        convert::contact_input(contact),
        (!req.template_id.is_empty()).then_some(req.template_id),
        convert::from_timestamp(AGREEMENT_FIELDS.date_agreed, req.date_agreed)?,
        &AGREEMENT_FIELDS,
    )
}
