use std::collections::HashSet;

use partner_center_gateway::{auth::Permission, grpc::pb};
use partner_center_simulator::seed;

use crate::helpers::{ADVENTURE_WORKS, FABRIKAM, LITWARE, NORTHWIND_TRADERS, TestApp, authed};

/// Contoso's customers in the simulator: five named ones plus the generated ones.
const CONTOSO_CUSTOMERS: usize = 5 + seed::GENERATED_CUSTOMERS;

#[tokio::test]
async fn rest_pages_through_every_customer_exactly_once() {
    let app = TestApp::spawn().await;
    let token = app.token(&["*"], &[Permission::CustomersRead]);
    let mut seen = HashSet::new();
    let mut pages = 0;
    let mut path = "/v1/customers?pageSize=40".to_owned();
    loop {
        let (status, body) = app.get_json(&path, &token).await;
        assert_eq!(status, 200, "{body}");
        pages += 1;
        for customer in body["items"].as_array().expect("items") {
            let id = customer["id"].as_str().expect("id").to_owned();
            assert_eq!(customer["companyProfile"]["tenantId"], id.as_str());
            assert!(seen.insert(id), "a customer came twice");
        }
        match body["nextPageToken"].as_str() {
            Some(token) => path = format!("/v1/customers?pageSize=40&pageToken={token}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), CONTOSO_CUSTOMERS);
    assert_eq!(pages, CONTOSO_CUSTOMERS.div_ceil(40));
    assert!(!seen.contains(NORTHWIND_TRADERS), "another partner's customer leaked");
}

#[tokio::test]
async fn grpc_pages_through_every_customer_exactly_once() {
    let app = TestApp::spawn().await;
    let token = app.token(&["*"], &[Permission::CustomersRead]);
    let mut client = app.customers_client().await;
    let mut seen = HashSet::new();
    let mut page_token = String::new();
    loop {
        let response = client
            .list_customers(authed(pb::ListCustomersRequest { page_size: 55, page_token: page_token.clone() }, &token))
            .await
            .expect("list customers")
            .into_inner();
        for customer in response.customers {
            assert!(seen.insert(customer.id), "a customer came twice");
        }
        if response.next_page_token.is_empty() {
            break;
        }
        page_token = response.next_page_token;
    }
    assert_eq!(seen.len(), CONTOSO_CUSTOMERS);
}

#[tokio::test]
async fn a_scoped_caller_sees_only_its_customers_over_both_transports() {
    let app = TestApp::spawn().await;
    let token = app.token(&[FABRIKAM, LITWARE], &[Permission::CustomersRead]);
    let (status, body) = app.get_json("/v1/customers?pageSize=1", &token).await;
    assert_eq!(status, 200);
    let mut ids: Vec<String> = body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    let next = body["nextPageToken"].as_str().expect("a second page").to_owned();
    let (_, second) = app.get_json(&format!("/v1/customers?pageSize=1&pageToken={next}"), &token).await;
    ids.extend(
        second["items"].as_array().expect("items").iter().map(|c| c["id"].as_str().unwrap_or_default().to_owned()),
    );
    if let Some(next) = second["nextPageToken"].as_str() {
        let (_, third) = app.get_json(&format!("/v1/customers?pageSize=1&pageToken={next}"), &token).await;
        assert_eq!(third["items"].as_array().map(Vec::len), Some(0));
        assert!(third.get("nextPageToken").is_none());
    }
    ids.sort();
    let mut expected = vec![FABRIKAM.to_owned(), LITWARE.to_owned()];
    expected.sort();
    assert_eq!(ids, expected);

    let mut client = app.customers_client().await;
    let response = client
        .list_customers(authed(pb::ListCustomersRequest { page_size: 100, page_token: String::new() }, &token))
        .await
        .expect("list")
        .into_inner();
    let mut grpc_ids: Vec<String> = response.customers.into_iter().map(|c| c.id).collect();
    grpc_ids.sort();
    assert_eq!(grpc_ids, expected);
    assert!(response.next_page_token.is_empty());
}

#[tokio::test]
async fn get_customer_over_both_transports() {
    let app = TestApp::spawn().await;
    let token = app.token(&[ADVENTURE_WORKS], &[Permission::CustomersRead]);
    let (status, body) = app.get_json(&format!("/v1/customers/{ADVENTURE_WORKS}"), &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["companyProfile"]["companyName"], seed::NAME_ADVENTURE_WORKS);
    assert_eq!(body["allowDelegatedAccess"], true);

    let customer = app
        .customers_client()
        .await
        .get_customer(authed(pb::GetCustomerRequest { customer_id: ADVENTURE_WORKS.to_owned() }, &token))
        .await
        .expect("get customer")
        .into_inner();
    assert_eq!(customer.id, ADVENTURE_WORKS);
    assert_eq!(customer.company_profile.map(|p| p.company_name).as_deref(), Some(seed::NAME_ADVENTURE_WORKS));
    assert_eq!(customer.allow_delegated_access, Some(true));
}

#[tokio::test]
async fn a_page_token_only_works_for_the_list_and_scope_that_issued_it() {
    let app = TestApp::spawn().await;
    let all = app.token(&["*"], &[Permission::CustomersRead, Permission::CatalogRead]);
    let (_, body) = app.get_json("/v1/customers?pageSize=10", &all).await;
    let token = body["nextPageToken"].as_str().expect("next page").to_owned();

    let scoped = app.token(&[FABRIKAM], &[Permission::CustomersRead]);
    let (status, problem) = app.get_json(&format!("/v1/customers?pageToken={token}"), &scoped).await;
    assert_eq!(status, 400);
    assert_eq!(problem["errors"][0]["field"], "pageToken");

    let (status, _) =
        app.get_json(&format!("/v1/catalog/products?country=US&targetView=Azure&pageToken={token}"), &all).await;
    assert_eq!(status, 400);

    let mut forged = token.clone();
    forged.replace_range(5..6, if &token[5..6] == "A" { "B" } else { "A" });
    let (status, _) = app.get_json(&format!("/v1/customers?pageToken={forged}"), &all).await;
    assert_eq!(status, 400);
}
