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
    routing::{get, post},
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

    /// Whether the customer accepted the Microsoft Customer Agreement, either confirmed by the
    /// partner (A2) or signed directly in the Microsoft 365 admin center (A4): Partner Center
    /// lets either one through (error 13605 names both).
    pub fn mca_accepted(&self, customer_id: &str) -> bool {
        self.signed_directly(customer_id)
            || self.confirmations.iter().any(|c| {
                c.customer_id.eq_ignore_ascii_case(customer_id) && c.agreement_type == MICROSOFT_CUSTOMER_AGREEMENT
            })
    }

    pub fn signed_directly(&self, customer_id: &str) -> bool {
        self.direct_signed.iter().any(|id| id.eq_ignore_ascii_case(customer_id))
    }

    fn set_signed_directly(&mut self, customer_id: &str, signed: bool) {
        self.direct_signed.retain(|id| !id.eq_ignore_ascii_case(customer_id));
        if signed {
            self.direct_signed.push(customer_id.to_ascii_lowercase());
        }
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
        customer_id,
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
        Ok(customer) => Json(json!({ "isSigned": inner.agreements.signed_directly(&customer.id) })).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /_simulator/customers/{customerId}/directSignedMicrosoftCustomerAgreementStatus` with
/// `{"isSigned": true}`: the customer signs (or, with `false`, has not signed) the MCA in the
/// Microsoft 365 admin center, outside Partner Center.
pub fn control_routes() -> Router<Arc<SimState>> {
    Router::new().route(
        "/_simulator/customers/{customer_id}/directSignedMicrosoftCustomerAgreementStatus",
        post(control_set_direct_signed),
    )
}

async fn control_set_direct_signed(
    State(state): State<Arc<SimState>>,
    Path(customer_id): Path<String>,
    body: Bytes,
) -> Response {
    let signed = match common::parse_body(&body) {
        Ok(body) => body.get("isSigned").and_then(Value::as_bool),
        Err(e) => return e.into_response(),
    };
    let Some(signed) = signed else {
        return PcError::new(StatusCode::BAD_REQUEST, 800002, "Send {\"isSigned\": true}.").into_response();
    };
    let mut inner = state.lock();
    let Some(customer_id) =
        inner.customers.customers.iter().find(|c| c.id.eq_ignore_ascii_case(&customer_id)).map(|c| c.id.clone())
    else {
        return PcError::new(StatusCode::NOT_FOUND, 60003, "The customer tenant was not found.").into_response();
    };
    inner.agreements.set_signed_directly(&customer_id, signed);
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::{
        common::test_support::*,
        seed::{
            CUSTOMER_FABRIKAM, CUSTOMER_NORTHWIND_TRADERS, CUSTOMER_TAILSPIN, CUSTOMER_WINGTIP, MCA_TEMPLATE_ID,
            MCLA_TEMPLATE_ID,
        },
        testing::TestSim,
    };

    fn agreement(email: &str) -> Value {
        json!({
            "primaryContact": { "firstName": "Ana", "lastName": "Bowman", "email": email, "phoneNumber": "4123456789" },
            "templateId": MCA_TEMPLATE_ID,
            "dateAgreed": "2024-05-01T12:00:00Z",
            "type": "MicrosoftCustomerAgreement"
        })
    }

    fn agreements(customer: &str) -> String {
        format!("/v1/customers/{customer}/agreements")
    }

    #[tokio::test]
    async fn agreement_apis_need_an_app_user_token() {
        let sim = TestSim::start().await;
        let token = sim.app_token().await;
        assert_eq!(get(&sim, "/v1/agreements", &token).await.error(), (403, Some(900329)));
        assert_eq!(get(&sim, &agreements(CUSTOMER_FABRIKAM), &token).await.error(), (403, Some(900329)));
        let confirm = post(&sim, &agreements(CUSTOMER_TAILSPIN), &token, &agreement("ana@tailspintoys.com")).await;
        assert_eq!(confirm.error(), (403, Some(900329)));
        let direct = format!("/v1/customers/{CUSTOMER_WINGTIP}/directSignedMicrosoftCustomerAgreementStatus");
        assert_eq!(get(&sim, &direct, &token).await.error(), (403, Some(900329)));
    }

    #[tokio::test]
    async fn agreement_metadata_defaults_to_the_cloud_agreement() {
        let sim = TestSim::start().await;
        let user = sim.user_token().await;
        let default = get(&sim, "/v1/agreements", &user).await;
        assert_eq!(default.status, 200);
        assert_eq!(default.body["totalCount"], 1);
        assert_eq!(default.body["items"][0]["agreementType"], "MicrosoftCloudAgreement");
        assert_eq!(default.body["items"][0]["templateId"], MCLA_TEMPLATE_ID);
        assert!(default.body.get("links").is_none());
        let mca = get(&sim, "/v1/agreements?agreementType=MicrosoftCustomerAgreement", &user).await.body;
        assert_eq!(
            mca["items"],
            json!([{
                "templateId": MCA_TEMPLATE_ID,
                "agreementType": "MicrosoftCustomerAgreement",
                "agreementLink": "https://aka.ms/customeragreement",
                "versionRank": 0
            }])
        );
        assert_eq!(get(&sim, "/v1/agreements?agreementType=*", &user).await.body["totalCount"], 2);
        assert_eq!(get(&sim, "/v1/agreements?agreementType=Nope", &user).await.error(), (400, Some(900126)));
    }

    #[tokio::test]
    async fn confirming_the_mca_lets_a_new_customer_buy_an_azure_plan() {
        let sim = TestSim::start().await;
        let user = sim.user_token().await;
        assert_eq!(buy(&sim, &user, CUSTOMER_TAILSPIN, vec![azure_plan_line()]).await.error(), (403, Some(13605)));
        let query = "?agreementType=MicrosoftCustomerAgreement";
        assert_eq!(get(&sim, &format!("{}{query}", agreements(CUSTOMER_TAILSPIN)), &user).await.body["totalCount"], 0);

        let confirmed = post(&sim, &agreements(CUSTOMER_TAILSPIN), &user, &agreement("ana@tailspintoys.com")).await;
        assert_eq!(confirmed.status, 201, "{}", confirmed.body);
        assert!(confirmed.body["userId"].as_str().is_some_and(|u| !u.is_empty()));
        assert_eq!(confirmed.body["primaryContact"]["email"], "ana@tailspintoys.com");
        assert_eq!(confirmed.body["templateId"], MCA_TEMPLATE_ID);
        assert_eq!(confirmed.body["type"], "MicrosoftCustomerAgreement");
        assert_eq!(confirmed.body["dateAgreed"], "2024-05-01T12:00:00Z");
        assert!(confirmed.body.get("agreementLink").is_none());

        let listed = get(&sim, &format!("{}{query}", agreements(CUSTOMER_TAILSPIN)), &user).await.body;
        assert_eq!(listed["totalCount"], 1);
        assert_eq!(listed["items"][0]["agreementLink"], "https://aka.ms/customeragreement");
        assert!(listed["items"][0].get("userId").is_none());
        // The default type is the Microsoft Cloud Agreement.
        assert_eq!(get(&sim, &agreements(CUSTOMER_TAILSPIN), &user).await.body["totalCount"], 0);
        assert_eq!(
            get(&sim, &format!("{}?agreementType=*", agreements(CUSTOMER_TAILSPIN)), &user).await.body["totalCount"],
            1
        );

        let duplicate = post(&sim, &agreements(CUSTOMER_TAILSPIN), &user, &agreement("ANA@tailspintoys.com")).await;
        assert_eq!(duplicate.error(), (409, Some(600061)));
        assert_eq!(duplicate.body["errorName"], "PartnerConfirmedAgreementAlreadyExists");
        assert_eq!(duplicate.body["isRetryable"], false);
        // A different contact is a new confirmation.
        assert_eq!(
            post(&sim, &agreements(CUSTOMER_TAILSPIN), &user, &agreement("bo@tailspintoys.com")).await.status,
            201
        );

        assert_eq!(buy(&sim, &user, CUSTOMER_TAILSPIN, vec![azure_plan_line()]).await.status, 201);
    }

    #[tokio::test]
    async fn invalid_confirmations_are_refused_with_clear_codes() {
        let sim = TestSim::start().await;
        let user = sim.user_token().await;
        let path = agreements(CUSTOMER_TAILSPIN);
        let without = |key: &str| {
            let mut body = agreement("ana@tailspintoys.com");
            if let Some(object) = body.as_object_mut() {
                object.remove(key);
            }
            body
        };
        for key in ["primaryContact", "templateId", "dateAgreed", "type"] {
            let refused = post(&sim, &path, &user, &without(key)).await;
            assert_eq!(refused.error(), (400, Some(800002)), "{key}");
            assert_eq!(refused.body["errorName"], "InvalidInput");
        }
        let mut no_name = agreement("ana@tailspintoys.com");
        no_name["primaryContact"]["firstName"] = json!(" ");
        assert_eq!(post(&sim, &path, &user, &no_name).await.error(), (400, Some(800002)));
        let mut bad_date = agreement("ana@tailspintoys.com");
        bad_date["dateAgreed"] = json!("yesterday");
        assert_eq!(post(&sim, &path, &user, &bad_date).await.error(), (400, Some(800002)));
        let mut bad_type = agreement("ana@tailspintoys.com");
        bad_type["type"] = json!("MicrosoftPartnerAgreement");
        assert_eq!(post(&sim, &path, &user, &bad_type).await.error(), (400, Some(800002)));
        let mut bad_template = agreement("ana@tailspintoys.com");
        bad_template["templateId"] = json!(MCLA_TEMPLATE_ID);
        assert_eq!(post(&sim, &path, &user, &bad_template).await.error(), (400, Some(600051)));
        assert_eq!(post(&sim, &path, &user, &agreement("not-an-email")).await.error(), (400, Some(800002)));
        let foreign = post(&sim, &agreements(CUSTOMER_NORTHWIND_TRADERS), &user, &agreement("a@b.c")).await;
        assert_eq!(foreign.error(), (404, Some(60003)));
        assert!(!sim.handle.state().lock().agreements.mca_accepted(CUSTOMER_TAILSPIN));

        // PascalCase bodies are fine too.
        let pascal = json!({
            "PrimaryContact": { "FirstName": "Ana", "LastName": "Bowman", "Email": "ana@tailspintoys.com" },
            "TemplateId": MCA_TEMPLATE_ID, "DateAgreed": "2024-05-01T12:00:00", "Type": "MicrosoftCustomerAgreement"
        });
        let accepted = post(&sim, &path, &user, &pascal).await;
        assert_eq!(accepted.status, 201);
        assert!(accepted.body["primaryContact"].get("phoneNumber").is_none());
        assert!(sim.handle.state().lock().agreements.mca_accepted(CUSTOMER_TAILSPIN));
    }

    #[tokio::test]
    async fn a_customer_who_signed_the_mca_directly_buys_without_a_partner_confirmation() {
        let sim = TestSim::start().await;
        let user = sim.user_token().await;
        let status = format!("/v1/customers/{CUSTOMER_TAILSPIN}/directSignedMicrosoftCustomerAgreementStatus");
        assert_eq!(get(&sim, &status, &user).await.body, json!({ "isSigned": false }));
        assert_eq!(buy(&sim, &user, CUSTOMER_TAILSPIN, vec![azure_plan_line()]).await.error(), (403, Some(13605)));

        let control = |customer: &str| {
            sim.url(&format!("/_simulator/customers/{customer}/directSignedMicrosoftCustomerAgreementStatus"))
        };
        let signed = sim.http.post(control(CUSTOMER_TAILSPIN)).json(&json!({ "isSigned": true })).send().await;
        assert_eq!(signed.expect("control call").status(), 204);
        assert_eq!(get(&sim, &status, &user).await.body, json!({ "isSigned": true }));
        let mca = format!("{}?agreementType=MicrosoftCustomerAgreement", agreements(CUSTOMER_TAILSPIN));
        assert_eq!(get(&sim, &mca, &user).await.body["totalCount"], 0, "no partner confirmation on record");
        assert_eq!(buy(&sim, &user, CUSTOMER_TAILSPIN, vec![azure_plan_line()]).await.status, 201);
        // The seeded direct signer buys too.
        assert_eq!(buy(&sim, &user, CUSTOMER_WINGTIP, vec![azure_plan_line()]).await.status, 201);

        let unsigned = sim.http.post(control(CUSTOMER_TAILSPIN)).json(&json!({ "isSigned": false })).send().await;
        assert_eq!(unsigned.expect("control call").status(), 204);
        assert_eq!(get(&sim, &status, &user).await.body, json!({ "isSigned": false }));
        let unknown = sim.http.post(control("00000000-0000-4000-8000-000000000000")).json(&json!({ "isSigned": true }));
        assert_eq!(unknown.send().await.expect("control call").status(), 404);
        let bad = sim.http.post(control(CUSTOMER_TAILSPIN)).json(&json!({ "signed": "yes" })).send().await;
        assert_eq!(bad.expect("control call").status(), 400);
    }

    #[tokio::test]
    async fn seeded_customers_have_their_mca_on_record_or_signed_directly() {
        let sim = TestSim::start().await;
        let user = sim.user_token().await;
        let fabrikam =
            get(&sim, &format!("{}?agreementType=MicrosoftCustomerAgreement", agreements(CUSTOMER_FABRIKAM)), &user)
                .await;
        assert_eq!(fabrikam.body["totalCount"], 1);
        assert!(fabrikam.body.get("links").is_none());
        let direct = |customer: &str| format!("/v1/customers/{customer}/directSignedMicrosoftCustomerAgreementStatus");
        assert_eq!(get(&sim, &direct(CUSTOMER_WINGTIP), &user).await.body, json!({ "isSigned": true }));
        assert_eq!(get(&sim, &direct(CUSTOMER_FABRIKAM), &user).await.body, json!({ "isSigned": false }));
        assert_eq!(get(&sim, &direct(CUSTOMER_NORTHWIND_TRADERS), &user).await.error(), (404, Some(60003)));
        let wingtip = get(&sim, &format!("{}?agreementType=*", agreements(CUSTOMER_WINGTIP)), &user).await;
        assert_eq!(wingtip.body["totalCount"], 0);
    }
}
