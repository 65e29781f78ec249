//! The five line item kinds, each generated from `(scope, n)` alone.

use base64::Engine as _;
use serde_json::{Value, json};

use super::{
    dates::{add_days, iso, iso_at},
    invoices::{INVOICE_PARTNER_TENANT, LineKind, LineScope},
    num,
    random::{Rng, azure_plan_id, derived_guid, entitlement_id, guid, legacy_subscription_id, mix, scramble},
    round2,
    tables::{
        BILLING_CUSTOMERS, OFFICE_OFFERS, ONE_TIME_PRODUCTS, PARTNER_MPN_ID, PARTNER_NAME, REGIONS, SERVICES,
        billing_customer, legacy_customer, meter_id, region_factor,
    },
};

/// Line item `n` (0-based) of `kind` in `scope`.
pub fn line_item(scope: &LineScope, kind: LineKind, n: u64) -> Value {
    match kind {
        LineKind::OfficeBilling => license_based(scope, n),
        LineKind::AzureBilling => usage_based(scope, n),
        LineKind::AzureUsage => daily_usage(scope, n),
        LineKind::OneTimeBilling => one_time(scope, n),
        LineKind::OneTimeUsage => daily_rated(scope, n),
    }
}

/// Items `offset..offset+size` (clipped to `total`).
pub fn line_items(scope: &LineScope, kind: LineKind, total: u64, offset: u64, size: usize) -> Vec<Value> {
    let end = total.min(offset.saturating_add(size as u64));
    (offset..end).map(|n| line_item(scope, kind, n)).collect()
}

/// `DailyRatedUsageLineItem` (billed I6 / unbilled I7). Item `n` is day `n % days` of meter
/// `(n / days) % 3` of resource `n / (3 * days)`, which makes (`resourceUri`, `meterId`,
/// `usageDate`) unique within the scope.
fn daily_rated(scope: &LineScope, n: u64) -> Value {
    let seed = scope.seed(LineKind::OneTimeUsage);
    let days = u64::from(scope.period_days);
    let day = n % days;
    let meter_index = ((n / days) % 3) as usize;
    let resource = n / days / 3;
    // Per resource: who owns it, what it is, where it lives.
    let mut r = Rng::for_item(seed ^ 0x5eed_0000_0000_0001, resource);
    let customer = billing_customer(r.below(BILLING_CUSTOMERS));
    let service_index = r.index(SERVICES.len());
    let service = &SERVICES[service_index];
    let region_index = r.index(REGIONS.len());
    let (location, meter_region) = REGIONS[region_index];
    let environment = ["prod", "dev", "test", "shared"][r.index(4)];
    let resource_group = format!("rg-{environment}-{:02}", r.below(20));
    let entitlement = entitlement_id(&customer.id, r.below(2));
    let tags = if r.chance(0.5) {
        format!("{{\"env\":\"{environment}\",\"costCenter\":\"cc-{:03}\"}}", r.below(50))
    } else {
        String::new()
    };
    let resource_name = format!("{}-{resource:05}", service.prefix);
    let resource_uri = format!(
        "/subscriptions/{entitlement}/resourceGroups/{resource_group}/providers/{}/{resource_name}",
        service.resource_type
    );
    let meter = &service.meters[meter_index];
    // Per item: the day's quantity and price.
    let mut i = Rng::for_item(seed, n);
    let quantity = i.range(meter.quantity.0, meter.quantity.1);
    let unit_price = meter.price * region_factor(region_index);
    let pec = i.chance(0.3);
    let rate_of_pec = if pec { 0.15 } else { 0.0 };
    let effective_unit_price = unit_price * (1.0 - rate_of_pec);
    let pricing_total = effective_unit_price * quantity;
    let rate = scope.exchange_rate();
    let usage_date = add_days(scope.period_start, day as i64);
    let meter_type = if meter.unit.starts_with(|c: char| c.is_ascii_digit()) {
        meter.unit.to_owned()
    } else {
        format!("1 {}", meter.unit)
    };
    let additional_info = format!(
        "{{  \"ImageType\": null,  \"ServiceType\": \"{}\",  \"VMName\": null,  \"VMProperties\": null,  \"UsageType\": \"{}\"}}",
        service.sku_name,
        if service_index == 0 { "ComputeHR" } else { "Standard" }
    );
    let item = json!({
        "partnerId": INVOICE_PARTNER_TENANT,
        "partnerName": PARTNER_NAME,
        "customerId": customer.id,
        "customerName": customer.name,
        "customerDomainName": customer.domain,
        "invoiceNumber": scope.invoice_number,
        "productId": service.product_id,
        "skuId": service.sku_id,
        "availabilityId": service.availability_id,
        "skuName": service.sku_name,
        "productName": service.product_name,
        "publisherName": "Microsoft",
        "publisherId": "",
        "subscriptionId": azure_plan_id(&customer.id),
        "subscriptionDescription": "Microsoft Azure plan",
        "chargeStartDate": iso(scope.period_start),
        "chargeEndDate": iso(scope.period_end_exclusive()),
        "usageDate": iso(usage_date),
        "meterType": meter_type,
        "meterCategory": meter.category,
        "meterId": meter_id(service_index, meter_index, region_index),
        "meterSubCategory": meter.subcategory,
        "meterName": meter.name,
    });
    let rest = json!({
        "meterRegion": meter_region,
        "unitOfMeasure": meter.unit,
        "resourceLocation": location,
        "consumedService": service.consumed_service,
        "resourceGroup": resource_group,
        "resourceUri": resource_uri,
        "tags": tags,
        "additionalInfo": additional_info,
        "serviceInfo1": "",
        "serviceInfo2": "",
        "customerCountry": scope.country(),
        "mpnId": PARTNER_MPN_ID,
        "resellerMpnId": "",
        "chargeType": "New",
        "unitPrice": num(unit_price),
        "quantity": num(quantity),
        "unitType": meter.unit,
        "billingPreTaxTotal": num(pricing_total * rate),
        "billingCurrency": scope.currency,
        "pricingPreTaxTotal": num(pricing_total),
        "pricingCurrency": "USD",
        "entitlementId": entitlement,
        "entitlementDescription": "Azure subscription 1",
        "pcToBCExchangeRate": num(rate),
        "pcToBCExchangeRateDate": iso(scope.period_start),
        "effectiveUnitPrice": num(effective_unit_price),
        "rateOfPartnerEarnedCredit": num(rate_of_pec),
        "hasPartnerEarnedCredit": pec,
        "rateOfCredit": 0,
        "creditType": if pec { "Partner Earned Credit Applied" } else { "Credit Not Applied" },
        "benefitOrderId": "",
        "benefitId": "",
        "benefitType": "Charge",
        "invoiceLineItemType": LineKind::OneTimeUsage.line_type_wire(),
        "billingProvider": LineKind::OneTimeUsage.item_provider_wire(),
        "attributes": { "objectType": LineKind::OneTimeUsage.object_type() }
    });
    merge(item, rest)
}

/// `OneTimeInvoiceLineItem` (I8 onetime billing, I9). `referenceId` and `alternateId` are
/// unique per scope (item number folded into them).
fn one_time(scope: &LineScope, n: u64) -> Value {
    let seed = scope.seed(LineKind::OneTimeBilling);
    let mut r = Rng::for_item(seed, n);
    let customer = billing_customer(r.below(BILLING_CUSTOMERS));
    let product = &ONE_TIME_PRODUCTS[r.index(ONE_TIME_PRODUCTS.len())];
    let refund = r.chance(0.04);
    let quantity = 1 + r.below(product.max_quantity);
    let pec = !product.reservation && r.chance(0.3);
    let effective_unit_price = if pec { product.unit_price * 0.85 } else { product.unit_price };
    let sign = if refund { -1.0 } else { 1.0 };
    let subtotal = sign * round2(effective_unit_price * quantity as f64);
    let tax = round2(subtotal * 0.0825);
    let rate = scope.exchange_rate();
    let order_day = add_days(scope.period_start, r.below(u64::from(scope.period_days)) as i64);
    let order_seconds = r.below(86_400) as u32;
    let term_days = if product.term.starts_with("One-Year") || product.term.starts_with("1 Year") { 364 } else { 30 };
    let charge_end = add_days(order_day, if product.frequency == "Monthly" { 30 } else { term_days });
    // Unique per scope for up to 2^24 items (the bijection of `scramble`).
    let alternate_id = format!("{:06x}{:06x}", seed & 0xff_ffff, scramble(seed, n, 24));
    let reservation_order =
        if product.reservation { derived_guid(&["reservation", &customer.id, &n.to_string()]) } else { String::new() };
    let adjustments = if pec {
        "[\"15.0% Partner earned credit for services managed\"]"
    } else {
        "[\"Price for given billing period\",\"You are getting a price guarantee for your price.\"]"
    };
    let item = json!({
        "partnerId": INVOICE_PARTNER_TENANT,
        "customerId": customer.id,
        "customerName": customer.name,
        "customerDomainName": customer.domain,
        "customerCountry": scope.country(),
        "invoiceNumber": scope.invoice_number,
        "mpnId": PARTNER_MPN_ID,
        "resellerMpnId": 0,
        "orderId": alternate_id,
        "orderDate": iso_at(order_day, order_seconds),
        "productId": product.product_id,
        "skuId": product.sku_id,
        "availabilityId": product.availability_id,
        "productName": product.product_name,
        "skuName": product.sku_name,
    });
    let rest = json!({
        "productQualifiers": if r.chance(0.1) { json!(["AddOn"]) } else { json!([]) },
        "chargeType": if refund { "Cancel" } else { "New" },
        "unitPrice": num(product.unit_price * rate),
        "effectiveUnitPrice": num(effective_unit_price * rate),
        "unitType": "",
        "quantity": quantity,
        "subtotal": num(round2(subtotal * rate)),
        "taxTotal": num(round2(tax * rate)),
        "totalForCustomer": num(round2((subtotal + tax) * rate)),
        "currency": scope.currency,
        "publisherName": product.publisher,
        "publisherId": product.publisher_id,
        "subscriptionDescription": "",
        "subscriptionId": derived_guid(&["one-time-subscription", &customer.id, product.product_id]),
        "subscriptionStartDate": iso(order_day),
        "subscriptionEndDate": iso(add_days(order_day, term_days)),
        "chargeStartDate": iso(order_day),
        "chargeEndDate": iso(charge_end),
        "termAndBillingCycle": product.term,
        "alternateId": alternate_id,
        "referenceId": guid(seed, scramble(seed ^ 1, n, 56)),
        "priceAdjustmentDescription": adjustments,
        "creditReasonCode": "",
        "discountDetails": "",
        "pricingCurrency": "USD",
        "pcToBCExchangeRate": num(rate),
        "pcToBCExchangeRateDate": iso(scope.period_start),
        "billableQuantity": quantity,
        "meterDescription": "",
        "billingFrequency": product.frequency,
        "reservationOrderId": reservation_order,
        "invoiceLineItemType": LineKind::OneTimeBilling.line_type_wire(),
        "billingProvider": LineKind::OneTimeBilling.item_provider_wire(),
        "promotionId": "",
        "attributes": { "objectType": LineKind::OneTimeBilling.object_type() }
    });
    merge(item, rest)
}

/// `a` with the fields of `b` added (the items are too wide for one `json!`).
fn merge(mut a: Value, b: Value) -> Value {
    if let (Value::Object(target), Value::Object(fields)) = (&mut a, b) {
        target.extend(fields);
    }
    a
}
/// `LicenseBasedLineItem` (legacy office billing).
fn license_based(scope: &LineScope, n: u64) -> Value {
    let seed = scope.seed(LineKind::OfficeBilling);
    let mut r = Rng::for_item(seed, n);
    let customer = billing_customer(r.below(BILLING_CUSTOMERS));
    let offer_index = r.index(OFFICE_OFFERS.len());
    let (offer_name, list_price) = OFFICE_OFFERS[offer_index];
    let cancel = r.chance(0.05);
    let quantity = 1 + r.below(250);
    let unit_price = list_price * scope.exchange_rate();
    let amount = round2(unit_price * quantity as f64) * if cancel { -1.0 } else { 1.0 };
    let discount = 0.0;
    let subtotal = amount - discount;
    let tax = round2(subtotal * 0.08);
    let start = add_days(scope.period_start, -(r.below(300) as i64));
    let syndication = derived_guid(&["syndication", &customer.id, offer_name]).to_ascii_uppercase();
    let subscription_key = format!("{}{:06}", customer.id.get(..8).unwrap_or_default(), r.below(1_000_000));
    json!({
        "partnerId": INVOICE_PARTNER_TENANT,
        "customerId": customer.id,
        "customerName": customer.name,
        "mpnId": 6_543_210,
        "tier2MpnId": -1,
        "orderId": format!("5677{:06}{n:08}", mix(seed) % 1_000_000),
        "subscriptionId": base64::engine::general_purpose::STANDARD_NO_PAD.encode(subscription_key.as_bytes()),
        "syndicationPartnerSubscriptionNumber": syndication,
        "offerId": derived_guid(&["office-offer", offer_name]).to_ascii_uppercase(),
        "durableOfferId": derived_guid(&["office-durable-offer", offer_name]).to_ascii_uppercase(),
        "offerName": offer_name,
        "domainName": customer.domain,
        "billingCycleType": "MONTHLY",
        "subscriptionName": offer_name,
        "subscriptionDescription": offer_name,
        "subscriptionStartDate": iso(start),
        "subscriptionEndDate": iso(add_days(start, 365)),
        "chargeStartDate": iso(scope.period_start),
        "chargeEndDate": iso(add_days(scope.period_start, i64::from(scope.period_days) - 1)),
        "chargeType": if cancel { "Cancel" } else { "New" },
        "unitPrice": num(round2(unit_price)),
        "quantity": quantity,
        "amount": num(amount),
        "totalOtherDiscount": num(discount),
        "subtotal": num(subtotal),
        "tax": num(tax),
        "totalForCustomer": num(round2(subtotal + tax)),
        "currency": scope.currency,
        "invoiceLineItemType": LineKind::OfficeBilling.line_type_wire(),
        "billingProvider": LineKind::OfficeBilling.item_provider_wire(),
        "attributes": { "objectType": LineKind::OfficeBilling.object_type() }
    })
}

/// `UsageBasedLineItem` (legacy MS-AZR-0145P billing), all for the 0145P customer. Field names as
/// the examples write them (`pretaxCharges`, `pretaxEffectiveRate`, `customerCompanyName`).
fn usage_based(scope: &LineScope, n: u64) -> Value {
    let seed = scope.seed(LineKind::AzureBilling);
    let mut r = Rng::for_item(seed, n);
    let customer = legacy_customer();
    let service_index = (n as usize) % SERVICES.len();
    let meter_index = (n as usize / SERVICES.len()) % 3;
    let service = &SERVICES[service_index];
    let meter = &service.meters[meter_index];
    let days = f64::from(scope.period_days);
    let consumed = r.range(meter.quantity.0, meter.quantity.1) * days;
    let included = if r.chance(0.2) { consumed.min(r.range(0.0, 50.0)) } else { 0.0 };
    let overage = consumed - included;
    let list_price = meter.price * scope.exchange_rate();
    let pretax = round2(overage * list_price);
    let tax = round2(pretax * 0.1);
    let (pretax_rate, post_tax_rate) =
        if consumed > 0.0 { (pretax / consumed, (pretax + tax) / consumed) } else { (0.0, 0.0) };
    json!({
        "partnerId": INVOICE_PARTNER_TENANT,
        "partnerName": PARTNER_NAME,
        "partnerBillableAccountId": "1010578050",
        "customerId": customer.id,
        "domainName": customer.domain,
        "customerCompanyName": customer.name,
        "mpnId": 6_543_210,
        "tier2MpnId": -1,
        "invoiceNumber": scope.invoice_number,
        "subscriptionId": legacy_subscription_id(&customer.id),
        "subscriptionName": "Microsoft Azure",
        "subscriptionDescription": "Microsoft Azure",
        "billingCycleType": "Monthly",
        "orderId": format!("5682979854{:08}", mix(seed) % 100_000_000),
        "serviceName": meter.category,
        "serviceType": meter.subcategory,
        "resourceGuid": derived_guid(&["legacy-meter", &service_index.to_string(), &meter_index.to_string()]),
        "resourceName": meter.name,
        "region": "",
        "sku": "7UD-00001",
        "detailLineItemId": n + 1,
        "consumedQuantity": num(consumed),
        "includedQuantity": num(included),
        "overageQuantity": num(overage),
        "listPrice": num(list_price),
        "pretaxCharges": num(pretax),
        "taxAmount": num(tax),
        "postTaxTotal": num(round2(pretax + tax)),
        "currency": scope.currency,
        "pretaxEffectiveRate": num(pretax_rate),
        "postTaxEffectiveRate": num(post_tax_rate),
        "consumptionPrice": num(pretax),
        "consumptionDiscount": 0,
        "chargeType": "Assess usage fee for current cycle",
        "chargeStartDate": iso(scope.period_start),
        "chargeEndDate": iso(scope.period_end_exclusive()),
        "unit": meter.unit,
        "invoiceLineItemType": LineKind::AzureBilling.line_type_wire(),
        "billingProvider": LineKind::AzureBilling.item_provider_wire(),
        "attributes": { "objectType": LineKind::AzureBilling.object_type() }
    })
}

/// `DailyUsageLineItem` (legacy MS-AZR-0145P usage). Item `n` is day `n % days` of legacy meter
/// `n / days`, so (`resourceGuid`, `usageDate`) is unique within the invoice.
fn daily_usage(scope: &LineScope, n: u64) -> Value {
    let seed = scope.seed(LineKind::AzureUsage);
    let days = u64::from(scope.period_days);
    let day = n % days;
    let legacy_meter = n / days;
    let service_index = (legacy_meter as usize) % SERVICES.len();
    let meter_index = (legacy_meter as usize / SERVICES.len()) % 3;
    let region_index = (legacy_meter as usize / (SERVICES.len() * 3)) % REGIONS.len();
    let variant = legacy_meter / (SERVICES.len() * 3 * REGIONS.len()) as u64;
    let meter = &SERVICES[service_index].meters[meter_index];
    let mut r = Rng::for_item(seed, n);
    let customer = legacy_customer();
    json!({
        "partnerId": INVOICE_PARTNER_TENANT,
        "partnerName": PARTNER_NAME,
        "partnerBillableAccountId": "1010578050",
        "customerId": customer.id,
        "customerCompanyName": customer.name,
        "customerBillableAccount": "1439508127",
        "domainName": customer.domain,
        "mpnId": 6_543_210,
        "tier2MpnId": -1,
        "invoiceNumber": scope.invoice_number,
        "subscriptionId": legacy_subscription_id(&customer.id),
        "subscriptionName": "MICROSOFT AZURE",
        "subscriptionDescription": "MICROSOFT AZURE",
        "billingCycleType": "MONTHLY",
        "orderId": format!("5682979855{:08}", mix(seed) % 100_000_000),
        "serviceName": meter.category.to_ascii_uppercase(),
        "serviceType": meter.subcategory.to_ascii_uppercase(),
        "resourceGuid": derived_guid(&[
            "legacy-daily-meter",
            &service_index.to_string(),
            &meter_index.to_string(),
            &region_index.to_string(),
            &variant.to_string(),
        ])
        .to_ascii_uppercase(),
        "resourceName": meter.name.to_ascii_uppercase(),
        "region": REGIONS[region_index].1,
        "consumedQuantity": num(r.range(meter.quantity.0, meter.quantity.1)),
        "chargeStartDate": iso(scope.period_start),
        "chargeEndDate": iso(scope.period_end_exclusive()),
        "usageDate": iso(add_days(scope.period_start, day as i64)),
        "unit": meter.unit,
        "invoiceLineItemType": LineKind::AzureUsage.line_type_wire(),
        "billingProvider": LineKind::AzureUsage.item_provider_wire(),
        "attributes": { "objectType": LineKind::AzureUsage.object_type() }
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::billing_data::invoices::{
        INVOICE_LARGE, INVOICE_LARGE_ITEMS, INVOICE_ONETIME, INVOICE_RECURRING, ONETIME_BILLING_ITEMS,
        ONETIME_USAGE_ITEMS, RECURRING_AZURE_USAGE_ITEMS, invoice,
    };

    #[test]
    fn items_are_deterministic_and_independent_of_their_neighbours() {
        let invoice =
            invoice(INVOICE_PARTNER_TENANT, INVOICE_LARGE, std::time::SystemTime::now()).expect("large invoice");
        let scope = invoice.scope();
        for kind in [LineKind::OneTimeBilling, LineKind::OneTimeUsage] {
            let page = line_items(&scope, kind, INVOICE_LARGE_ITEMS, 4_000, 3);
            assert_eq!(page.len(), 3);
            assert_eq!(page[1], line_item(&scope, kind, 4_001));
            assert_eq!(line_item(&scope, kind, 99_999), line_item(&invoice.scope(), kind, 99_999));
        }
        assert!(line_items(&scope, LineKind::OneTimeUsage, INVOICE_LARGE_ITEMS, 99_999, 10).len() == 1);
    }

    #[test]
    fn every_item_carries_its_kind_and_the_documented_wire_values() {
        let scope = invoice(INVOICE_PARTNER_TENANT, INVOICE_RECURRING, std::time::SystemTime::now())
            .expect("recurring")
            .scope();
        for (kind, provider, line_type, object) in [
            (LineKind::OfficeBilling, "office", "billing_line_items", "LicenseBasedLineItem"),
            (LineKind::AzureBilling, "azure", "billing_line_items", "UsageBasedLineItem"),
            (LineKind::AzureUsage, "azure", "usage_line_items", "DailyUsageLineItem"),
            (LineKind::OneTimeBilling, "one_time", "billing_line_items", "OneTimeInvoiceLineItem"),
            (LineKind::OneTimeUsage, "marketplace", "usage_line_items", "DailyRatedUsageLineItem"),
        ] {
            let item = line_item(&scope, kind, 7);
            assert_eq!(item["billingProvider"], provider);
            assert_eq!(item["invoiceLineItemType"], line_type);
            assert_eq!(item["attributes"]["objectType"], object);
            // The documented DailyUsageLineItem has no chargeType; every other kind does.
            assert_eq!(item.get("chargeType").is_some(), kind != LineKind::AzureUsage, "{object}");
        }
    }

    #[test]
    fn daily_rated_items_carry_every_documented_field() {
        let scope =
            invoice(INVOICE_PARTNER_TENANT, INVOICE_ONETIME, std::time::SystemTime::now()).expect("onetime").scope();
        let item = line_item(&scope, LineKind::OneTimeUsage, 12);
        for field in [
            "partnerId",
            "partnerName",
            "customerId",
            "customerName",
            "customerDomainName",
            "invoiceNumber",
            "productId",
            "skuId",
            "availabilityId",
            "skuName",
            "productName",
            "publisherName",
            "publisherId",
            "subscriptionId",
            "subscriptionDescription",
            "chargeStartDate",
            "chargeEndDate",
            "usageDate",
            "meterType",
            "meterCategory",
            "meterId",
            "meterSubCategory",
            "meterName",
            "meterRegion",
            "unitOfMeasure",
            "resourceLocation",
            "consumedService",
            "resourceGroup",
            "resourceUri",
            "tags",
            "additionalInfo",
            "serviceInfo1",
            "serviceInfo2",
            "customerCountry",
            "mpnId",
            "resellerMpnId",
            "chargeType",
            "unitPrice",
            "quantity",
            "unitType",
            "billingPreTaxTotal",
            "billingCurrency",
            "pricingPreTaxTotal",
            "pricingCurrency",
            "entitlementId",
            "entitlementDescription",
            "pcToBCExchangeRate",
            "pcToBCExchangeRateDate",
            "effectiveUnitPrice",
            "rateOfPartnerEarnedCredit",
            "hasPartnerEarnedCredit",
            "rateOfCredit",
            "creditType",
            "invoiceLineItemType",
            "billingProvider",
            "benefitOrderId",
            "benefitId",
            "benefitType",
            "attributes",
        ] {
            assert!(item.get(field).is_some(), "missing {field}");
        }
        assert_eq!(item["invoiceNumber"], INVOICE_ONETIME);
        let info: Value = serde_json::from_str(item["additionalInfo"].as_str().expect("string")).expect("json");
        assert!(info.is_object());
        assert!(item["usageDate"].as_str().is_some_and(|d| d.starts_with("2024-12-") && d.ends_with('Z')));
    }

    #[test]
    fn unique_keys_hold_across_a_whole_small_scope() {
        let scope =
            invoice(INVOICE_PARTNER_TENANT, INVOICE_ONETIME, std::time::SystemTime::now()).expect("onetime").scope();
        let usage = line_items(&scope, LineKind::OneTimeUsage, ONETIME_USAGE_ITEMS, 0, ONETIME_USAGE_ITEMS as usize);
        let keys: HashSet<String> =
            usage.iter().map(|i| format!("{}|{}|{}", i["resourceUri"], i["meterId"], i["usageDate"])).collect();
        assert_eq!(keys.len(), usage.len());
        let billing = line_items(&scope, LineKind::OneTimeBilling, ONETIME_BILLING_ITEMS, 0, 1000);
        let refs: HashSet<&str> = billing.iter().filter_map(|i| i["referenceId"].as_str()).collect();
        assert_eq!(refs.len(), ONETIME_BILLING_ITEMS as usize);
        let recurring = invoice(INVOICE_PARTNER_TENANT, INVOICE_RECURRING, std::time::SystemTime::now())
            .expect("recurring")
            .scope();
        let daily = line_items(&recurring, LineKind::AzureUsage, RECURRING_AZURE_USAGE_ITEMS, 0, 2000);
        let keys: HashSet<String> = daily.iter().map(|i| format!("{}|{}", i["resourceGuid"], i["usageDate"])).collect();
        assert_eq!(keys.len(), RECURRING_AZURE_USAGE_ITEMS as usize);
    }
}
