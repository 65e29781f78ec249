//! Customer agreements (A1–A4), all app+user only: agreement metadata, partner-attested
//! confirmation of the Microsoft Customer Agreement (which lets the customer buy Azure plans and
//! new-commerce products), the confirmations on record, and the customer's direct-sign status.
//!
//! Error codes: 600061 `PartnerConfirmedAgreementAlreadyExists` is documented (its HTTP status is
//! not; 409 is our choice). For invalid confirmations the doc gives no codes: missing or malformed
//! fields answer 400/800002 (the documented "invalid request input"), an unknown template or one of
//! another agreement type 400/600051 (documented for customer-create validation, reused here). All
//! of them use the newer error shape the agreement service's documented error has.

use std::sync::Arc;

use axum::{
    Extension, Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    SimState,
    aad::PartnerTenant,
    common::{self, bare_collection},
    seed,
    wire::{self, PcError},
};

const MICROSOFT_CLOUD_AGREEMENT: &str = "MicrosoftCloudAgreement";
const MICROSOFT_CUSTOMER_AGREEMENT: &str = "MicrosoftCustomerAgreement";

#[derive(Debug, Clone)]
pub struct Contact {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone_number: Option<String>,
}

impl Contact {
    fn to_wire(&self) -> Value {
        let mut contact = json!({ "firstName": self.first_name, "lastName": self.last_name, "email": self.email });
        if let Some(phone) = &self.phone_number {
            contact["phoneNumber"] = json!(phone);
        }
        contact
    }

    /// Partner Center refuses a second confirmation unless first name, last name, email or phone
    /// differ from an existing one.
    fn same_as(&self, other: &Contact) -> bool {
        self.first_name.eq_ignore_ascii_case(&other.first_name)
            && self.last_name.eq_ignore_ascii_case(&other.last_name)
            && self.email.eq_ignore_ascii_case(&other.email)
            && self.phone_number.as_deref().unwrap_or_default() == other.phone_number.as_deref().unwrap_or_default()
    }
}

#[derive(Debug, Clone)]
pub struct Confirmation {
    pub customer_id: String,
    pub user_id: String,
    pub contact: Contact,
    pub template_id: String,
    pub date_agreed: String,
    pub agreement_type: &'static str,
}

impl Confirmation {
    fn link(&self) -> &'static str {
        template_of_type(self.agreement_type).map(|(_, _, link, _)| link).unwrap_or_default()
    }
}

pub struct AgreementState {
    pub confirmations: Vec<Confirmation>,
    /// Customers that accepted the MCA themselves (A4).
    pub direct_signed: Vec<String>,
}

impl AgreementState {
    /// Customers seeded with `mca_accepted` have a partner-attested MCA confirmation on record,
    /// except those that signed directly.
    pub fn seeded() -> Self {
        let direct_signed: Vec<String> =
            seed::DIRECT_SIGNED_MCA_CUSTOMERS.iter().map(|id| (*id).to_ascii_lowercase()).collect();
        let confirmations = seed::customers()
            .into_iter()
            .filter(|c| c.mca_accepted && !direct_signed.contains(&c.id.to_ascii_lowercase()))
            .map(|c| Confirmation {
                user_id: common::partner_user(c.partner_tenant),
                contact: Contact {
                    first_name: "Alex".to_owned(),
                    last_name: "Admin".to_owned(),
                    email: format!("admin@{}", c.domain),
                    phone_number: Some("+1 425 555 0100".to_owned()),
                },
                template_id: seed::MCA_TEMPLATE_ID.to_owned(),
                date_agreed: "2023-01-16T00:00:00Z".to_owned(),
                agreement_type: MICROSOFT_CUSTOMER_AGREEMENT,
                customer_id: c.id,
            })
            .collect();
        Self { confirmations, direct_signed }
    }
}

fn template_of_type(agreement_type: &str) -> Option<(&'static str, &'static str, &'static str, u32)> {
    seed::AGREEMENT_TEMPLATES.iter().find(|(t, ..)| t.eq_ignore_ascii_case(agreement_type)).copied()
}

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/v1/agreements", get(metadata))
        .route("/v1/customers/{customer_id}/agreements", get(list).post(confirm))
        .route("/v1/customers/{customer_id}/directSignedMicrosoftCustomerAgreementStatus", get(direct_sign_status))
}

#[derive(Deserialize)]
struct TypeQuery {
    #[serde(rename = "agreementType", alias = "agreementtype")]
    agreement_type: Option<String>,
}

/// The agreement types a query asks for: omitted ⇒ MicrosoftCloudAgreement, `*` ⇒ all.
fn wanted_types(query: &TypeQuery) -> Result<Vec<&'static str>, PcError> {
    match query.agreement_type.as_deref().map(str::trim) {
        None | Some("") => Ok(vec![MICROSOFT_CLOUD_AGREEMENT]),
        Some("*") => Ok(seed::AGREEMENT_TEMPLATES.iter().map(|(t, ..)| *t).collect()),
        // An unknown type: the doc is silent; 400/900126 (enum value not parseable) is our choice.
        Some(other) => template_of_type(other).map(|(t, ..)| vec![t]).ok_or_else(|| {
            PcError::new(StatusCode::BAD_REQUEST, 900126, format!("The agreementType '{other}' could not be parsed."))
        }),
    }
}

async fn metadata(Extension(partner): Extension<PartnerTenant>, Query(query): Query<TypeQuery>) -> Response {
    if let Err(e) = partner.require_app_user() {
        return e.into_response();
    }
    let types = match wanted_types(&query) {
        Ok(types) => types,
        Err(e) => return e.into_response(),
    };
    let items = seed::AGREEMENT_TEMPLATES
        .iter()
        .filter(|(t, ..)| types.contains(t))
        .map(|(agreement_type, template_id, link, rank)| {
            json!({
                "templateId": template_id,
                "agreementType": agreement_type,
                "agreementLink": link,
                "versionRank": rank
            })
        })
        .collect();
    Json(bare_collection(items)).into_response()
}

async fn list(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    Path(customer_id): Path<String>,
    Query(query): Query<TypeQuery>,
) -> Response {
    if let Err(e) = partner.require_app_user() {
        return e.into_response();
    }
    let types = match wanted_types(&query) {
        Ok(types) => types,
        Err(e) => return e.into_response(),
    };
    let inner = state.lock();
    if let Err(e) = common::customer(&inner, &partner, &customer_id) {
        return e.into_response();
    }
    let items = inner
        .agreements
        .confirmations
        .iter()
        .filter(|c| c.customer_id.eq_ignore_ascii_case(&customer_id) && types.contains(&c.agreement_type))
        .map(|c| {
            json!({
                "primaryContact": c.contact.to_wire(),
                "templateId": c.template_id,
                "dateAgreed": c.date_agreed,
                "type": c.agreement_type,
                "agreementLink": c.link()
            })
        })
        .collect();
    Json(bare_collection(items)).into_response()
}

/// A refused confirmation, answered 400 in the named error shape.
struct Invalid {
    code: u32,
    error_name: &'static str,
    description: String,
}

impl IntoResponse for Invalid {
    fn into_response(self) -> Response {
        wire::named_error(StatusCode::BAD_REQUEST, self.code, self.error_name, &self.description)
    }
}

fn invalid(description: &str) -> Invalid {
    Invalid { code: 800002, error_name: "InvalidInput", description: description.to_owned() }
}

/// A valid `Agreement` body: (contact, template id, date agreed, type).
fn agreement_body(body: &[u8]) -> Result<(Contact, String, String, &'static str), Invalid> {
    let body = common::parse_body(body).map_err(|e| invalid(&e.description))?;
    let contact =
        body.get("primaryContact").filter(|c| c.is_object()).ok_or_else(|| invalid("primaryContact is required."))?;
    let required =
        |key: &str| common::text(contact, key).ok_or_else(|| invalid(&format!("primaryContact.{key} is required.")));
    let contact = Contact {
        first_name: required("firstName")?,
        last_name: required("lastName")?,
        email: required("email")?,
        phone_number: common::text(contact, "phoneNumber"),
    };
    if !contact.email.contains('@') {
        return Err(invalid("primaryContact.email is not a valid email address."));
    }
    let template_id = common::text(&body, "templateId").ok_or_else(|| invalid("templateId is required."))?;
    let date_agreed = common::text(&body, "dateAgreed").ok_or_else(|| invalid("dateAgreed is required."))?;
    if !common::is_timestamp(&date_agreed) {
        return Err(invalid("dateAgreed must be a UTC date and time, e.g. 2024-05-01T12:00:00Z."));
    }
    let sent_type = common::text(&body, "type").ok_or_else(|| invalid("type is required."))?;
    let Some((agreement_type, expected_template, ..)) = template_of_type(&sent_type) else {
        return Err(invalid(&format!("The agreement type '{sent_type}' is not valid.")));
    };
    if !template_id.eq_ignore_ascii_case(expected_template) {
        return Err(Invalid {
            code: 600051,
            error_name: "InvalidAgreementTemplate",
            description: format!(
                "The templateId '{template_id}' is not a template of the {agreement_type}; get it from GET /v1/agreements."
            ),
        });
    }
    Ok((contact, expected_template.to_owned(), date_agreed, agreement_type))
}

async fn confirm(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    Path(customer_id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(e) = partner.require_app_user() {
        return e.into_response();
    }
    let mut inner = state.lock();
    let customer_id = match common::customer(&inner, &partner, &customer_id) {
        Ok(customer) => customer.id.clone(),
        Err(e) => return e.into_response(),
    };
    let (contact, template_id, date_agreed, agreement_type) = match agreement_body(&body) {
        Ok(agreement) => agreement,
        Err(invalid) => return invalid.into_response(),
    };
    let duplicate = inner.agreements.confirmations.iter().any(|c| {
        c.customer_id.eq_ignore_ascii_case(&customer_id)
            && c.agreement_type == agreement_type
            && c.contact.same_as(&contact)
    });
    if duplicate {
        return wire::named_error(
            StatusCode::CONFLICT,
            600061,
            "PartnerConfirmedAgreementAlreadyExists",
            "The partner has already confirmed the customer's acceptance of this agreement.",
        );
    }
    let confirmation = Confirmation {
        customer_id: customer_id.clone(),
        user_id: common::partner_user(&partner.tenant_id),
        contact,
        template_id,
        date_agreed,
        agreement_type,
    };
    let body = json!({
        "userId": confirmation.user_id,
        "primaryContact": confirmation.contact.to_wire(),
        "templateId": confirmation.template_id,
        "dateAgreed": confirmation.date_agreed,
        "type": confirmation.agreement_type
    });
    inner.agreements.confirmations.push(confirmation);
    if agreement_type == MICROSOFT_CUSTOMER_AGREEMENT
        && let Some(customer) = inner.customers.of_partner_mut(&partner.tenant_id, &customer_id)
    {
        customer.mca_accepted = true;
    }
    (StatusCode::CREATED, Json(body)).into_response()
}

async fn direct_sign_status(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    Path(customer_id): Path<String>,
) -> Response {
    if let Err(e) = partner.require_app_user() {
        return e.into_response();
    }
    let inner = state.lock();
    match common::customer(&inner, &partner, &customer_id) {
        Ok(customer) => {
            let signed = inner.agreements.direct_signed.iter().any(|id| id.eq_ignore_ascii_case(&customer.id));
            Json(json!({ "isSigned": signed })).into_response()
        }
        Err(e) => e.into_response(),
    }
}
