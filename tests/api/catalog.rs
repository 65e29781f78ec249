use partner_center_gateway::{auth::Permission, grpc::pb};
use partner_center_simulator::seed;

use tonic::Code;

use crate::helpers::{TestApp, authed};

const AZURE_PLAN: &str = seed::AZURE_PLAN_PRODUCT_ID;

#[tokio::test]
async fn every_catalog_read_works_over_rest() {
    let app = TestApp::spawn().await;
    let token = app.token(&[], &[Permission::CatalogRead]);

    let (status, products) = app.get_json("/v1/catalog/products?country=us&targetView=MicrosoftAzure", &token).await;
    assert_eq!(status, 200, "{products}");
    let ids: Vec<&str> = products["items"].as_array().expect("items").iter().filter_map(|p| p["id"].as_str()).collect();
    assert!(ids.contains(&AZURE_PLAN), "{ids:?}");

    let (status, product) = app.get_json(&format!("/v1/catalog/products/{AZURE_PLAN}?country=US"), &token).await;
    assert_eq!(status, 200);
    assert_eq!(product["title"], "Azure plan");
    assert_eq!(product["productType"]["id"], "Azure");

    let (status, skus) = app.get_json(&format!("/v1/catalog/products/{AZURE_PLAN}/skus?country=US"), &token).await;
    assert_eq!(status, 200);
    assert_eq!(skus["items"][0]["id"], "0001");

    let (status, sku) = app.get_json(&format!("/v1/catalog/products/{AZURE_PLAN}/skus/0001?country=US"), &token).await;
    assert_eq!(status, 200);
    assert_eq!(sku["productId"], AZURE_PLAN);

    let (status, availabilities) =
        app.get_json(&format!("/v1/catalog/products/{AZURE_PLAN}/skus/0001/availabilities?country=US"), &token).await;
    assert_eq!(status, 200);
    let segments: Vec<&str> =
        availabilities["items"].as_array().expect("items").iter().filter_map(|a| a["segment"].as_str()).collect();
    assert!(segments.contains(&"commercial") && !segments.contains(&"nonprofit"), "{segments:?}");

    let (status, nonprofit) = app
        .get_json(
            &format!("/v1/catalog/products/{AZURE_PLAN}/skus/0001/availabilities?country=US&targetSegment=nonprofit"),
            &token,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(nonprofit["items"][0]["segment"], "nonprofit");

    let availability_id = seed::AZURE_PLAN_AVAILABILITY_COMMERCIAL;
    let (status, availability) = app
        .get_json(
            &format!("/v1/catalog/products/{AZURE_PLAN}/skus/0001/availabilities/{availability_id}?country=US"),
            &token,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(availability["catalogItemId"], format!("{AZURE_PLAN}:0001:{availability_id}"));
    assert_eq!(availability["defaultCurrency"]["code"], "USD");
}

#[tokio::test]
async fn the_azure_plan_item_is_resolved_once_then_served_from_cache() {
    let app = TestApp::spawn().await;
    let token = app.token(&[], &[Permission::CatalogRead]);
    let (status, item) = app.get_json("/v1/catalog/azure-plan?country=US", &token).await;
    assert_eq!(status, 200, "{item}");
    assert_eq!(item["product"]["id"], AZURE_PLAN);
    assert_eq!(item["sku"]["id"], "0001");
    assert_eq!(item["availability"]["segment"], "commercial");
    assert_eq!(item["catalogItemId"], format!("{AZURE_PLAN}:0001:{}", seed::AZURE_PLAN_AVAILABILITY_COMMERCIAL));
    let counters = app.counters();
    // C1, C3, C5: one call each.
    assert_eq!(counters.total_calls(), 3, "{counters:?}");

    let (status, again) = app.get_json("/v1/catalog/azure-plan?country=US", &token).await;
    assert_eq!(status, 200);
    assert_eq!(again, item);
    let grpc = app
        .catalog_client()
        .await
        .get_azure_plan_catalog_item(authed(pb::GetAzurePlanCatalogItemRequest { country: "US".to_owned() }, &token))
        .await
        .expect("grpc azure plan")
        .into_inner();
    assert_eq!(grpc.catalog_item_id, item["catalogItemId"].as_str().unwrap_or_default());
    assert_eq!(app.counters().total_calls(), 3, "cached reads must not reach Partner Center");
}

#[tokio::test]
async fn a_zero_ttl_turns_the_catalog_cache_off() {
    let app = TestApp::spawn_with(|settings| settings.catalog.cache_ttl = std::time::Duration::ZERO).await;
    let token = app.token(&[], &[Permission::CatalogRead]);
    for _ in 0..2 {
        let (status, item) = app.get_json("/v1/catalog/azure-plan?country=US", &token).await;
        assert_eq!(status, 200, "{item}");
    }
    assert_eq!(app.counters().total_calls(), 6, "every read goes to Partner Center");
}

#[tokio::test]
async fn every_catalog_read_works_over_grpc() {
    let app = TestApp::spawn().await;
    let token = app.token(&[], &[Permission::CatalogRead]);
    let mut client = app.catalog_client().await;
    let products = client
        .list_products(authed(
            pb::ListProductsRequest {
                country: "US".into(),
                target_view: "OnlineServices".into(),
                page_size: 1,
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect("products")
        .into_inner();
    assert_eq!(products.products.len(), 1);
    assert!(!products.next_page_token.is_empty(), "two NCE products page at size 1");
    let second = client
        .list_products(authed(
            pb::ListProductsRequest {
                country: "US".into(),
                target_view: "OnlineServices".into(),
                page_size: 1,
                page_token: products.next_page_token,
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect("second page")
        .into_inner();
    assert_eq!(second.products.len(), 1);
    assert_ne!(second.products[0].id, products.products[0].id);
    assert!(second.next_page_token.is_empty());

    let product = client
        .get_product(authed(pb::GetProductRequest { product_id: AZURE_PLAN.into(), country: "US".into() }, &token))
        .await
        .expect("product")
        .into_inner();
    assert_eq!(product.title, "Azure plan");
    let skus = client
        .list_skus(authed(
            pb::ListSkusRequest { product_id: "DZH318Z0BQ3Q".into(), country: "US".into(), ..Default::default() },
            &token,
        ))
        .await
        .expect("skus")
        .into_inner();
    assert_eq!(skus.skus.len(), 2);
    let attributes = skus.skus[0].dynamic_attributes.as_ref().expect("dynamic attributes");
    assert!(attributes.fields.contains_key("armSkuName"));
    let sku = client
        .get_sku(authed(
            pb::GetSkuRequest { product_id: AZURE_PLAN.into(), sku_id: "0001".into(), country: "US".into() },
            &token,
        ))
        .await
        .expect("sku")
        .into_inner();
    assert_eq!(sku.product_id, AZURE_PLAN);
    let availabilities = client
        .list_availabilities(authed(
            pb::ListAvailabilitiesRequest {
                product_id: AZURE_PLAN.into(),
                sku_id: "0001".into(),
                country: "US".into(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect("availabilities")
        .into_inner();
    assert_eq!(availabilities.availabilities.len(), 2);
    let availability = client
        .get_availability(authed(
            pb::GetAvailabilityRequest {
                product_id: AZURE_PLAN.into(),
                sku_id: "0001".into(),
                availability_id: seed::AZURE_PLAN_AVAILABILITY_COMMERCIAL.into(),
                country: "GB".into(),
            },
            &token,
        ))
        .await
        .expect("availability")
        .into_inner();
    assert_eq!(availability.default_currency.map(|c| c.code).as_deref(), Some("GBP"));
}

#[tokio::test]
async fn partner_center_catalog_errors_keep_their_code() {
    let app = TestApp::spawn().await;
    let token = app.token(&[], &[Permission::CatalogRead]);
    let (status, problem) = app.get_json("/v1/catalog/products/NOSUCHPRODUCT?country=US", &token).await;
    assert_eq!(status, 404, "{problem}");
    assert_eq!(problem["upstreamCode"], "400013");
    assert_eq!(problem["type"], "urn:partner-center-gateway:problem:not-found");

    let (status, problem) =
        app.get_json(&format!("/v1/catalog/products/{AZURE_PLAN}/skus/9999?country=US"), &token).await;
    assert_eq!(status, 404);
    assert_eq!(problem["upstreamCode"], "400018");

    let status = app
        .catalog_client()
        .await
        .get_availability(authed(
            pb::GetAvailabilityRequest {
                product_id: AZURE_PLAN.into(),
                sku_id: "0001".into(),
                availability_id: "NOPE".into(),
                country: "US".into(),
            },
            &token,
        ))
        .await
        .expect_err("not found");
    assert_eq!(status.code(), Code::NotFound);

    // A segment the partner is not authorized for: Partner Center's 403/400030, not the caller's token.
    let (status, problem) =
        app.get_json("/v1/catalog/products?country=US&targetView=Azure&targetSegment=government", &token).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["upstreamCode"], "400030");
}

#[tokio::test]
async fn bad_catalog_arguments_are_400s_naming_the_field_before_any_upstream_call() {
    let app = TestApp::spawn().await;
    let token = app.token(&[], &[Permission::CatalogRead]);
    for (path, field) in [
        ("/v1/catalog/products?targetView=Azure", "country"),
        ("/v1/catalog/products?country=USA&targetView=Azure", "country"),
        ("/v1/catalog/products?country=US", "targetView"),
        ("/v1/catalog/products?country=US&targetView=Bogus", "targetView"),
        ("/v1/catalog/products?country=US&targetView=Azure&targetSegment=pets", "targetSegment"),
        ("/v1/catalog/products?country=US&targetView=Azure&pageSize=ten", "pageSize"),
        ("/v1/catalog/products?country=US&targetView=Azure&pageSize=-1", "pageSize"),
        ("/v1/catalog/products?country=US&targetView=Azure&colour=blue", "colour"),
        ("/v1/catalog/products/bad%2Fid?country=US", "productId"),
        ("/v1/catalog/azure-plan", "country"),
    ] {
        let (status, problem) = app.get_json(path, &token).await;
        assert_eq!(status, 400, "{path}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{path}: {problem}");
    }
    assert_eq!(app.counters().total_calls(), 0);

    let status = app
        .catalog_client()
        .await
        .list_products(authed(
            pb::ListProductsRequest { country: "US".into(), target_view: "Bogus".into(), ..Default::default() },
            &token,
        ))
        .await
        .expect_err("invalid");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("target_view"), "{}", status.message());
}
