//! The simulator's starting data: two partner tenants with their app credentials, a handful of
//! named customers plus enough generated ones to page through, and a realistic catalog with the
//! Azure plan (`DZH318Z0BPS6` / `0001`).

use serde_json::{Value, json};

/// The partner `cargo run` acts for.
pub const CONTOSO_PARTNER_ID: &str = "contoso";
pub const CONTOSO_TENANT_ID: &str = "9a2e7b61-3c1f-4f9e-8f4b-1c2d3e4f5a6b";
pub const CONTOSO_CLIENT_ID: &str = "5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f";
pub const CONTOSO_CLIENT_SECRET: &str = "sim-contoso-client-secret";
pub const CONTOSO_REFRESH_TOKEN: &str = "sim-contoso-refresh-token-0";

/// A second partner, for tests that one partner's token never reaches another's data.
pub const NORTHWIND_PARTNER_ID: &str = "northwind";
pub const NORTHWIND_TENANT_ID: &str = "4b1d7c3e-2f6a-4e8b-9c0d-5e6f7a8b9c0d";
pub const NORTHWIND_CLIENT_ID: &str = "6a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d";
pub const NORTHWIND_CLIENT_SECRET: &str = "sim-northwind-client-secret";
pub const NORTHWIND_REFRESH_TOKEN: &str = "sim-northwind-refresh-token-0";

/// Contoso's customers with a role in the story.
/// Accepted the Microsoft Customer Agreement; has an Azure plan with usage and may buy more.
pub const CUSTOMER_FABRIKAM: &str = "0b5e8f2a-7c1d-4e3f-9a6b-1c2d3e4f5a60";
/// New customer: has not accepted the MCA yet.
pub const CUSTOMER_TAILSPIN: &str = "1c6f9a3b-8d2e-4f4a-8b7c-2d3e4f5a6b71";
/// Has a legacy Microsoft Azure (MS-AZR-0145P) subscription: must transition, not buy.
pub const CUSTOMER_LITWARE: &str = "2d7a0b4c-9e3f-4a5b-9c8d-3e4f5a6b7c82";
/// Accepted the MCA; a second ready customer for isolation tests.
pub const CUSTOMER_ADVENTURE_WORKS: &str = "3e8b1c5d-0f4a-4b6c-8d9e-4f5a6b7c8d93";
pub const CUSTOMER_WINGTIP: &str = "4f9c2d6e-1a5b-4c7d-9e0f-5a6b7c8d9ea4";
/// Northwind's own customer.
pub const CUSTOMER_NORTHWIND_TRADERS: &str = "5a0d3e7f-2b6c-4d8e-8f1a-6b7c8d9eafb5";

/// Company names that say what each seeded customer is for, so `GET /v1/customers` in
/// development explains itself (the walkthrough's table lists them).
pub const NAME_FABRIKAM: &str = "Fabrikam, Inc. — has an Azure plan";
pub const NAME_TAILSPIN: &str = "Tailspin Toys — needs the MCA";
pub const NAME_LITWARE: &str = "Litware, Inc. — has MS-AZR-0145P";
pub const NAME_ADVENTURE_WORKS: &str = "Adventure Works Cycles — ready to buy";
pub const NAME_WINGTIP: &str = "Wingtip Toys — ready to buy (signed the MCA itself)";
pub const NAME_NORTHWIND_TRADERS: &str = "Northwind Traders — customer of partner northwind";

/// The name of generated customer `n`: even ones accepted the MCA, odd ones did not.
pub fn generated_customer_name(n: usize) -> String {
    let state = if generated_customer_accepted_mca(n) { "ready to buy" } else { "needs the MCA" };
    format!("Generated Customer {n:03} — {state}")
}

/// Whether generated customer `n` accepted the MCA.
pub fn generated_customer_accepted_mca(n: usize) -> bool {
    n.is_multiple_of(2)
}

/// Contoso customers generated beyond the named ones, so customer lists page.
pub const GENERATED_CUSTOMERS: usize = 130;

#[derive(Debug, Clone)]
pub struct SeedPartner {
    pub id: &'static str,
    pub tenant_id: &'static str,
    pub client_id: &'static str,
    pub client_secret: &'static str,
    pub refresh_token: &'static str,
}

pub const PARTNERS: [SeedPartner; 2] = [
    SeedPartner {
        id: CONTOSO_PARTNER_ID,
        tenant_id: CONTOSO_TENANT_ID,
        client_id: CONTOSO_CLIENT_ID,
        client_secret: CONTOSO_CLIENT_SECRET,
        refresh_token: CONTOSO_REFRESH_TOKEN,
    },
    SeedPartner {
        id: NORTHWIND_PARTNER_ID,
        tenant_id: NORTHWIND_TENANT_ID,
        client_id: NORTHWIND_CLIENT_ID,
        client_secret: NORTHWIND_CLIENT_SECRET,
        refresh_token: NORTHWIND_REFRESH_TOKEN,
    },
];

#[derive(Debug, Clone)]
pub struct SeedCustomer {
    pub id: String,
    pub partner_tenant: &'static str,
    pub company_name: String,
    pub domain: String,
    pub mca_accepted: bool,
    pub has_0145p: bool,
    /// `defaultAddress.country` of the billing profile (ISO 3166 alpha-2, one of [`COUNTRIES`]).
    pub country: &'static str,
    /// One of the [`GENERATED_CUSTOMERS`] (not one with a role in the story).
    pub generated: bool,
}

pub fn customers() -> Vec<SeedCustomer> {
    // (id, partner, name, domain, MCA accepted, has MS-AZR-0145P, country)
    let named = [
        (CUSTOMER_FABRIKAM, CONTOSO_TENANT_ID, NAME_FABRIKAM, "fabrikam.onmicrosoft.com", true, false, "US"),
        (CUSTOMER_TAILSPIN, CONTOSO_TENANT_ID, NAME_TAILSPIN, "tailspintoys.onmicrosoft.com", false, false, "GB"),
        (CUSTOMER_LITWARE, CONTOSO_TENANT_ID, NAME_LITWARE, "litware.onmicrosoft.com", true, true, "DE"),
        (
            CUSTOMER_ADVENTURE_WORKS,
            CONTOSO_TENANT_ID,
            NAME_ADVENTURE_WORKS,
            "adventureworks.onmicrosoft.com",
            true,
            false,
            "CA",
        ),
        (CUSTOMER_WINGTIP, CONTOSO_TENANT_ID, NAME_WINGTIP, "wingtiptoys.onmicrosoft.com", true, false, "FR"),
        (
            CUSTOMER_NORTHWIND_TRADERS,
            NORTHWIND_TENANT_ID,
            NAME_NORTHWIND_TRADERS,
            "northwindtraders.onmicrosoft.com",
            true,
            false,
            "NL",
        ),
    ];
    let mut customers: Vec<SeedCustomer> = named
        .into_iter()
        .map(|(id, partner, name, domain, mca, legacy, country)| SeedCustomer {
            id: id.to_owned(),
            partner_tenant: partner,
            company_name: name.to_owned(),
            domain: domain.to_owned(),
            mca_accepted: mca,
            has_0145p: legacy,
            country,
            generated: false,
        })
        .collect();
    for n in 0..GENERATED_CUSTOMERS {
        customers.push(SeedCustomer {
            id: format!("c0ffee00-0000-4000-8000-{n:012x}"),
            partner_tenant: CONTOSO_TENANT_ID,
            company_name: generated_customer_name(n),
            domain: format!("generated{n:03}.onmicrosoft.com"),
            mca_accepted: generated_customer_accepted_mca(n),
            has_0145p: false,
            country: COUNTRIES[n % COUNTRIES.len()].0,
            generated: true,
        });
    }
    customers
}

/// A plausible billing address, and the culture and language of a customer there.
#[derive(Debug, Clone, Copy)]
pub struct SeedAddress {
    pub country: &'static str,
    pub city: &'static str,
    /// Empty where the country has no states in addresses.
    pub state: &'static str,
    pub address_line1: &'static str,
    pub postal_code: &'static str,
    pub phone_number: &'static str,
    pub culture: &'static str,
    pub language: &'static str,
}

/// One address per country of [`COUNTRIES`].
pub const ADDRESSES: [SeedAddress; 10] = [
    SeedAddress {
        country: "US",
        city: "Redmond",
        state: "WA",
        address_line1: "1 Microsoft Way",
        postal_code: "98052",
        phone_number: "4255550100",
        culture: "en-US",
        language: "en",
    },
    SeedAddress {
        country: "CA",
        city: "Vancouver",
        state: "BC",
        address_line1: "725 Granville Street",
        postal_code: "V7Y 1G5",
        phone_number: "6045550100",
        culture: "en-CA",
        language: "en",
    },
    SeedAddress {
        country: "GB",
        city: "London",
        state: "",
        address_line1: "2 Kingdom Street",
        postal_code: "W2 6BD",
        phone_number: "2075550100",
        culture: "en-GB",
        language: "en",
    },
    SeedAddress {
        country: "DE",
        city: "Berlin",
        state: "",
        address_line1: "Unter den Linden 17",
        postal_code: "10117",
        phone_number: "305550100",
        culture: "de-DE",
        language: "de",
    },
    SeedAddress {
        country: "FR",
        city: "Issy-les-Moulineaux",
        state: "",
        address_line1: "39 Quai du President Roosevelt",
        postal_code: "92130",
        phone_number: "157750100",
        culture: "fr-FR",
        language: "fr",
    },
    SeedAddress {
        country: "NL",
        city: "Amsterdam",
        state: "",
        address_line1: "Evert van de Beekstraat 354",
        postal_code: "1118 CZ",
        phone_number: "205550100",
        culture: "nl-NL",
        language: "nl",
    },
    SeedAddress {
        country: "AU",
        city: "Sydney",
        state: "NSW",
        address_line1: "11 Talavera Road",
        postal_code: "2113",
        phone_number: "298700100",
        culture: "en-AU",
        language: "en",
    },
    SeedAddress {
        country: "JP",
        city: "Tokyo",
        state: "",
        address_line1: "2-16-3 Konan, Minato-ku",
        postal_code: "108-0075",
        phone_number: "345500100",
        culture: "ja-JP",
        language: "ja",
    },
    SeedAddress {
        country: "IN",
        city: "Bengaluru",
        state: "KA",
        address_line1: "Embassy Golf Links Business Park",
        postal_code: "560071",
        phone_number: "8044550100",
        culture: "en-IN",
        language: "en",
    },
    SeedAddress {
        country: "BR",
        city: "Sao Paulo",
        state: "SP",
        address_line1: "Av. Pres. Juscelino Kubitschek 1909",
        postal_code: "04543-907",
        phone_number: "1137550100",
        culture: "pt-BR",
        language: "pt",
    },
];

/// Countries the simulated catalog sells in, with their currency.
pub const COUNTRIES: [(&str, &str, &str); 10] = [
    ("US", "USD", "$"),
    ("CA", "CAD", "$"),
    ("GB", "GBP", "£"),
    ("DE", "EUR", "€"),
    ("FR", "EUR", "€"),
    ("NL", "EUR", "€"),
    ("AU", "AUD", "$"),
    ("JP", "JPY", "¥"),
    ("IN", "INR", "₹"),
    ("BR", "BRL", "R$"),
];

pub const AZURE_PLAN_PRODUCT_ID: &str = "DZH318Z0BPS6";
pub const AZURE_PLAN_SKU_ID: &str = "0001";
pub const AZURE_PLAN_AVAILABILITY_COMMERCIAL: &str = "DZH318Z0BML6";
pub const AZURE_PLAN_AVAILABILITY_EDUCATION: &str = "DZH318Z0BML7";
pub const AZURE_PLAN_AVAILABILITY_NONPROFIT: &str = "DZH318Z0BML8";
/// Microsoft Azure (MS-AZR-0145P): SKU `MS-AZR-0145P` of this product; carts name it by the offer id.
pub const LEGACY_AZURE_PRODUCT_ID: &str = "9DEA7946-EC2C-441E-9FFD-E3B275F7E838";
pub const LEGACY_AZURE_OFFER_ID: &str = "MS-AZR-0145P";
pub const LEGACY_AZURE_AVAILABILITY: &str = "DZH318Z0BMLA";

/// One catalog product with the views it appears in, its SKUs and their availabilities.
pub struct SeedProduct {
    pub views: &'static [&'static str],
    pub product: Value,
    pub skus: Vec<SeedSku>,
}

pub struct SeedSku {
    pub sku: Value,
    pub availabilities: Vec<SeedAvailability>,
}

pub struct SeedAvailability {
    pub id: &'static str,
    /// `commercial`, `education`, `nonprofit`, ...
    pub segment: &'static str,
    pub purchasable: bool,
    /// `terms` as the availability lists them (`[]` when it has none).
    pub terms: Value,
    /// What a cart line names it by when that is not `product:sku:availability`: legacy offers
    /// keep their offer id (`MS-AZR-0145P`), as the create-cart example shows.
    pub catalog_item_id: Option<&'static str>,
}

/// A new-commerce term with the documented cancellation policy: a full refund within 7 days
/// (`P7D`; the example shows `P1D`, the current rule is 168 hours).
fn nce_term(id: &str, duration: &str, description: &str, billing_cycle: &str) -> Value {
    json!({
        "id": id,
        "duration": duration,
        "description": description,
        "billingCycle": billing_cycle,
        "cancellationPolicies": [{ "refundOptions": [{ "sequenceId": 0, "type": "Full", "expiresAfter": "P7D" }] }]
    })
}

fn availability(id: &'static str, segment: &'static str, purchasable: bool, terms: Value) -> SeedAvailability {
    SeedAvailability { id, segment, purchasable, terms, catalog_item_id: None }
}

pub fn catalog() -> Vec<SeedProduct> {
    vec![
        SeedProduct {
            views: &["MicrosoftAzure"],
            product: json!({
                "id": AZURE_PLAN_PRODUCT_ID,
                "title": "Azure plan",
                "description": "Microsoft Azure plan: pay-as-you-go Azure services under the Microsoft Customer Agreement.",
                "productType": { "id": "Azure", "displayName": "Azure" },
                "isMicrosoftProduct": true,
                "publisherName": "Microsoft Corporation"
            }),
            skus: vec![SeedSku {
                // As `get-a-list-of-products-by-customer.md` shows the Azure plan SKU.
                sku: json!({
                    "id": AZURE_PLAN_SKU_ID,
                    "title": "Microsoft Azure plan",
                    "description": "Microsoft Azure plan (MS-AZR-0017G)",
                    "minimumQuantity": 1,
                    "maximumQuantity": 1,
                    "isTrial": false,
                    "supportedBillingCycles": ["one_time"],
                    "purchasePrerequisites": ["MicrosoftCustomerAgreement"],
                    "inventoryVariables": [],
                    "provisioningVariables": [],
                    "actions": ["Refund"],
                    "dynamicAttributes": { "isMicrosoftProduct": true, "pilotProgram": "modernazurepilot" }
                }),
                availabilities: vec![
                    availability(AZURE_PLAN_AVAILABILITY_COMMERCIAL, "commercial", true, json!([])),
                    availability(AZURE_PLAN_AVAILABILITY_EDUCATION, "education", true, json!([])),
                    availability(AZURE_PLAN_AVAILABILITY_NONPROFIT, "nonprofit", true, json!([])),
                ],
            }],
        },
        SeedProduct {
            views: &["MicrosoftAzure"],
            product: json!({
                "id": LEGACY_AZURE_PRODUCT_ID,
                "title": "Microsoft Azure",
                "description": "Azure Cloud Solution Provider offer for Partner and Resellers",
                "productType": { "id": "Azure", "displayName": "Azure" },
                "isMicrosoftProduct": true,
                "publisherName": "Microsoft Corporation"
            }),
            skus: vec![SeedSku {
                // The documented SKU, field for field (it has no inventory/provisioning variables).
                sku: json!({
                    "id": LEGACY_AZURE_OFFER_ID,
                    "title": "Microsoft Azure",
                    "description": "Azure Cloud Solution Provider offer for Partner and Resellers",
                    "minimumQuantity": 1,
                    "maximumQuantity": 1,
                    "isTrial": false,
                    "supportedBillingCycles": ["monthly"],
                    "purchasePrerequisites": ["MicrosoftCloudAgreement"],
                    "actions": ["Refund"],
                    "dynamicAttributes": {
                        "isMicrosoftProduct": true, "billingType": "usage", "category": "Enterprise",
                        "isAddon": false, "prerequisiteSkus": [], "rank": 1413, "hasAddOns": false,
                        "isAutoRenewable": false, "upgradeTargetOffers": null, "conversionTargetOffers": [],
                        "unitType": "Usage-based", "limitUnitOfMeasure": "None", "limit": 0,
                        "reselleeQualifications": [], "resellerQualifications": []
                    }
                }),
                // No longer sold: new Azure customers get an Azure plan.
                availabilities: vec![SeedAvailability {
                    catalog_item_id: Some(LEGACY_AZURE_OFFER_ID),
                    ..availability(LEGACY_AZURE_AVAILABILITY, "commercial", false, json!([]))
                }],
            }],
        },
        SeedProduct {
            views: &["Azure", "AzureReservations", "AzureReservationsVM"],
            product: json!({
                "id": "DZH318Z0BQ3Q",
                "title": "Virtual Machines DSv2 Series",
                "description": "Dv2-series instances are a follow-on to the original D-series and feature a more powerful CPU.",
                "productType": { "id": "Azure", "displayName": "Azure", "subType": { "id": "VirtualMachines", "displayName": "Virtual Machines" } },
                "isMicrosoftProduct": true,
                "publisherName": "Microsoft Corporation"
            }),
            skus: vec![
                SeedSku {
                    sku: json!({
                        "id": "0001",
                        "title": "Reserved VM Instance, Standard_DS1_v2, US West 2, 1 Year",
                        "description": "Standard_DS1_v2",
                        "minimumQuantity": 1,
                        "maximumQuantity": 999999999,
                        "isTrial": false,
                        "supportedBillingCycles": ["one_time"],
                        "purchasePrerequisites": ["AzureSubscriptionRegistration", "InventoryCheck"],
                        "inventoryVariables": ["CustomerId", "AzureSubscriptionId", "ArmRegionName"],
                        "provisioningVariables": ["Scope", "SubscriptionId", "Duration"],
                        "dynamicAttributes": {
                            "armSkuName": "Standard_DS1_v2", "cores": "1", "ram": "3.5GB",
                            "skuDisplayName": "Standard_DS1_v2", "category": "Virtual Machines",
                            "armRegionName": "westus2", "duration": "1Year", "region": "US West 2", "diskType": "SSD"
                        }
                    }),
                    availabilities: vec![availability(
                        "DZH318XZXVNF",
                        "commercial",
                        true,
                        json!([{ "duration": "P1Y", "description": "1 Year Prepaid" }]),
                    )],
                },
                SeedSku {
                    sku: json!({
                        "id": "0002",
                        "title": "Reserved VM Instance, Standard_DS1_v2, US West 2, 3 Years",
                        "description": "Standard_DS1_v2",
                        "minimumQuantity": 1,
                        "maximumQuantity": 999999999,
                        "isTrial": false,
                        "supportedBillingCycles": ["one_time"],
                        "purchasePrerequisites": ["AzureSubscriptionRegistration", "InventoryCheck"],
                        "inventoryVariables": ["CustomerId", "AzureSubscriptionId", "ArmRegionName"],
                        "provisioningVariables": ["Scope", "SubscriptionId", "Duration"],
                        "dynamicAttributes": {
                            "armSkuName": "Standard_DS1_v2", "cores": "1", "ram": "3.5GB",
                            "skuDisplayName": "Standard_DS1_v2", "category": "Virtual Machines",
                            "armRegionName": "westus2", "duration": "3Years", "region": "US West 2", "diskType": "SSD"
                        }
                    }),
                    availabilities: vec![availability(
                        "DZH318XZXVNG",
                        "commercial",
                        true,
                        json!([{ "duration": "P3Y", "description": "3 Years Prepaid" }]),
                    )],
                },
            ],
        },
        SeedProduct {
            views: &["OnlineServices"],
            product: json!({
                "id": "CFQ7TTC0LH18",
                "title": "Microsoft 365 Business Basic",
                "description": "Best for businesses that need Microsoft Teams, secure cloud storage and Office online.",
                "productType": { "id": "OnlineServicesNCE", "displayName": "OnlineServicesNCE" },
                "isMicrosoftProduct": true,
                "publisherName": "Microsoft Corporation"
            }),
            skus: vec![SeedSku {
                sku: json!({
                    "id": "0001",
                    "title": "Microsoft 365 Business Basic",
                    "description": "Microsoft 365 Business Basic",
                    "minimumQuantity": 1,
                    "maximumQuantity": 300,
                    "isTrial": false,
                    "supportedBillingCycles": ["annual", "monthly"],
                    "purchasePrerequisites": ["MicrosoftCloudAgreement"],
                    "inventoryVariables": [],
                    "provisioningVariables": [],
                    "actions": ["Refund"],
                    "dynamicAttributes": {
                        "isMicrosoftProduct": true, "hasConstraints": true, "isAddon": false,
                        "prerequisiteSkus": [], "isSoftwareAssuranceApplicable": false,
                        "upgradeTargetOffers": ["CFQ7TTC0LDPB:0001"], "provisioningId": "3b555118-da6a-4418-894f-7df1e2096870", "internal": false
                    }
                }),
                availabilities: vec![
                    availability(
                        "CFQ7TTC0TKZX",
                        "commercial",
                        true,
                        json!([
                            nce_term("e9fn5qzlxb8b", "P1Y", "One-Year commitment for monthly/yearly billing", "Annual"),
                            nce_term("e9fn5qzlxb8c", "P1M", "One-Month commitment for monthly billing", "Monthly")
                        ]),
                    ),
                    availability(
                        "CFQ7TTC0TKZZ",
                        "education",
                        true,
                        json!([nce_term("e9fn5qzlxb8d", "P1Y", "One-Year commitment", "Annual")]),
                    ),
                ],
            }],
        },
        SeedProduct {
            views: &["OnlineServices"],
            product: json!({
                "id": "CFQ7TTC0LFLZ",
                "title": "Microsoft 365 E3",
                "description": "Microsoft 365 E3 brings together Office 365, Windows and Enterprise Mobility + Security.",
                "productType": { "id": "OnlineServicesNCE", "displayName": "OnlineServicesNCE" },
                "isMicrosoftProduct": true,
                "publisherName": "Microsoft Corporation"
            }),
            skus: vec![SeedSku {
                sku: json!({
                    "id": "0002",
                    "title": "Microsoft 365 E3",
                    "description": "Microsoft 365 E3",
                    "minimumQuantity": 1,
                    "maximumQuantity": 10000,
                    "isTrial": false,
                    "supportedBillingCycles": ["annual", "monthly", "triennial"],
                    "purchasePrerequisites": ["MicrosoftCloudAgreement"],
                    "inventoryVariables": [],
                    "provisioningVariables": [],
                    "dynamicAttributes": { "isMicrosoftProduct": true, "hasConstraints": true, "isAddon": false }
                }),
                availabilities: vec![availability(
                    "CFQ7TTC0TL0B",
                    "commercial",
                    true,
                    json!([nce_term("e9fn5qzlxb9a", "P1Y", "One-Year commitment", "Annual")]),
                )],
            }],
        },
        SeedProduct {
            views: &["Software", "SoftwarePerpetual"],
            product: json!({
                "id": "DG7GMGF0FKZV",
                "title": "Windows Server 2022 Standard - 2 Core License Pack",
                "description": "Windows Server 2022 Standard, perpetual license for two cores.",
                "productType": { "id": "Software", "displayName": "Software" },
                "isMicrosoftProduct": true,
                "publisherName": "Microsoft Corporation"
            }),
            skus: vec![SeedSku {
                sku: json!({
                    "id": "0001",
                    "title": "Windows Server 2022 Standard - 2 Core License Pack",
                    "description": "Perpetual license",
                    "minimumQuantity": 1,
                    "maximumQuantity": 1000,
                    "isTrial": false,
                    "supportedBillingCycles": ["one_time"],
                    "purchasePrerequisites": [],
                    "inventoryVariables": [],
                    "provisioningVariables": [],
                    "dynamicAttributes": {}
                }),
                availabilities: vec![availability("DG7GMGF0D3SJ", "commercial", true, json!([]))],
            }],
        },
    ]
}

/// Agreement templates (A1): (agreementType, templateId, agreementLink, versionRank).
pub const AGREEMENT_TEMPLATES: [(&str, &str, &str, u32); 2] = [
    ("MicrosoftCloudAgreement", MCLA_TEMPLATE_ID, "https://aka.ms/microsoftcloudagreement", 1),
    ("MicrosoftCustomerAgreement", MCA_TEMPLATE_ID, "https://aka.ms/customeragreement", 0),
];
pub const MCA_TEMPLATE_ID: &str = "117a69d6-b4c2-4a52-8e5e-1e7b0b1e3e5a";
pub const MCLA_TEMPLATE_ID: &str = "998b88de-aa99-4388-a42c-1b3517d49490";
/// Customers that accepted the MCA themselves (Microsoft 365 admin center, A4 `isSigned`); every
/// other customer with `mca_accepted` has a partner-attested confirmation (A3).
pub const DIRECT_SIGNED_MCA_CUSTOMERS: [&str; 1] = [CUSTOMER_WINGTIP];

/// Litware's legacy Microsoft Azure (MS-AZR-0145P) subscription and the Azure subscription under it.
pub const LITWARE_0145P_SUBSCRIPTION: &str = "7c3e9a1b-5d2f-4e6a-8b9c-0d1e2f3a4b5c";
pub const LITWARE_AZURE_ENTITLEMENT: &str = "b1beb621-3cad-4d7a-b360-62db33ce028e";
/// Fabrikam's Azure plan (it has usage) and the Azure subscription under it.
pub const FABRIKAM_AZURE_PLAN: &str = "c2a4e6f8-1b3d-4f5a-9c7e-2d4f6a8b0c1e";
pub const FABRIKAM_AZURE_ENTITLEMENT: &str = "e3f5a7c9-2b4d-4e6f-8a0c-3e5f7a9b1c2d";
/// Adventure Works' Microsoft 365 Business Basic subscription.
pub const ADVENTURE_WORKS_M365_SUBSCRIPTION: &str = "8d4f0b2c-6e3a-4f7b-9c0d-1e2f3a4b5c6d";

/// A subscription the simulator starts with.
#[derive(Debug, Clone)]
pub struct SeedSubscription {
    pub id: &'static str,
    pub customer_id: &'static str,
    /// `MS-AZR-0145P` or a `catalogItemId`.
    pub offer_id: &'static str,
    pub offer_name: &'static str,
    pub quantity: u64,
    /// `true` for usage-based Azure offers, `false` for licenses.
    pub usage_based: bool,
    pub billing_cycle: &'static str,
    pub term_duration: Option<&'static str>,
    /// Azure subscriptions (entitlements) under it: (id, friendly name), all active.
    pub azure_entitlements: &'static [(&'static str, &'static str)],
    /// How long before the simulator's start it was bought.
    pub age_days: u64,
}

pub fn subscriptions() -> Vec<SeedSubscription> {
    vec![
        SeedSubscription {
            id: LITWARE_0145P_SUBSCRIPTION,
            customer_id: CUSTOMER_LITWARE,
            offer_id: "MS-AZR-0145P",
            offer_name: "Microsoft Azure",
            quantity: 1,
            usage_based: true,
            billing_cycle: "monthly",
            term_duration: None,
            azure_entitlements: &[(LITWARE_AZURE_ENTITLEMENT, "Microsoft Azure")],
            age_days: 900,
        },
        SeedSubscription {
            id: FABRIKAM_AZURE_PLAN,
            customer_id: CUSTOMER_FABRIKAM,
            offer_id: "DZH318Z0BPS6:0001:DZH318Z0BML6",
            offer_name: "Azure plan",
            quantity: 1,
            usage_based: true,
            // The Azure plan SKU supports only `one_time`.
            billing_cycle: "one_time",
            term_duration: None,
            azure_entitlements: &[(FABRIKAM_AZURE_ENTITLEMENT, "Fabrikam production")],
            age_days: 200,
        },
        SeedSubscription {
            id: ADVENTURE_WORKS_M365_SUBSCRIPTION,
            customer_id: CUSTOMER_ADVENTURE_WORKS,
            offer_id: "CFQ7TTC0LH18:0001:CFQ7TTC0TKZX",
            offer_name: "Microsoft 365 Business Basic",
            quantity: 25,
            usage_based: false,
            billing_cycle: "monthly",
            term_duration: Some("P1Y"),
            azure_entitlements: &[],
            age_days: 120,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_country_has_an_address_and_every_customer_a_catalog_country() {
        for (country, ..) in COUNTRIES {
            assert_eq!(ADDRESSES.iter().filter(|a| a.country == country).count(), 1, "{country}");
        }
        for customer in customers() {
            assert!(COUNTRIES.iter().any(|(c, ..)| *c == customer.country), "{}", customer.id);
        }
    }
}
