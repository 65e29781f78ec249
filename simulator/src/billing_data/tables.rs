//! The data tables the generated items draw from: the partner itself, the customers items belong
//! to, Azure services with their meters and regions, and the products one-time and office
//! invoices bill.

use super::random::derived_guid;
use crate::seed;

/// The partner's MPN id on line items and usage records (the docs show 7-digit ids).
pub const PARTNER_MPN_ID: &str = "6543210";
pub const PARTNER_NAME: &str = "Contoso";
/// The Azure plan's catalog item (seeded catalog), the `offerId` of Azure plan usage records.
pub const AZURE_PLAN_OFFER_ID: &str = "DZH318Z0BPS6:0001:DZH318Z0BML6";

// ---------------------------------------------------------------------------------------------
// Customers the generated items belong to.

pub struct BillingCustomer {
    pub id: String,
    pub name: String,
    pub domain: String,
}

/// Contoso's Azure plan customers with billing: the named ready ones, then the generated ones.
const NAMED_BILLING_CUSTOMERS: [(&str, &str, &str); 3] = [
    (seed::CUSTOMER_FABRIKAM, seed::NAME_FABRIKAM, "fabrikam.onmicrosoft.com"),
    (seed::CUSTOMER_ADVENTURE_WORKS, seed::NAME_ADVENTURE_WORKS, "adventureworks.onmicrosoft.com"),
    (seed::CUSTOMER_WINGTIP, seed::NAME_WINGTIP, "wingtiptoys.onmicrosoft.com"),
];
pub const BILLING_CUSTOMERS: u64 = NAMED_BILLING_CUSTOMERS.len() as u64 + seed::GENERATED_CUSTOMERS as u64;

/// Customer `k` of the roster (wraps around); generated ones are named as `seed::customers` names them.
pub fn billing_customer(k: u64) -> BillingCustomer {
    let k = k % BILLING_CUSTOMERS;
    match NAMED_BILLING_CUSTOMERS.get(k as usize) {
        Some((id, name, domain)) => {
            BillingCustomer { id: (*id).to_owned(), name: (*name).to_owned(), domain: (*domain).to_owned() }
        }
        None => {
            let n = k - NAMED_BILLING_CUSTOMERS.len() as u64;
            BillingCustomer {
                id: format!("c0ffee00-0000-4000-8000-{n:012x}"),
                name: seed::generated_customer_name(n as usize),
                domain: format!("generated{n:03}.onmicrosoft.com"),
            }
        }
    }
}

/// The one MS-AZR-0145P customer: legacy azure billing and usage belong to it.
pub(super) fn legacy_customer() -> BillingCustomer {
    BillingCustomer {
        id: seed::CUSTOMER_LITWARE.to_owned(),
        name: seed::NAME_LITWARE.to_owned(),
        domain: "litware.onmicrosoft.com".to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Azure services and meters (shared with the usage records).

pub struct MeterSpec {
    pub category: &'static str,
    pub subcategory: &'static str,
    pub name: &'static str,
    pub unit: &'static str,
    /// USD per unit.
    pub price: f64,
    /// Daily quantity range.
    pub quantity: (f64, f64),
}

pub struct ServiceSpec {
    pub consumed_service: &'static str,
    pub resource_type: &'static str,
    pub prefix: &'static str,
    pub product_id: &'static str,
    pub sku_id: &'static str,
    pub availability_id: &'static str,
    pub product_name: &'static str,
    pub sku_name: &'static str,
    pub meters: [MeterSpec; 3],
}

const fn meter(
    category: &'static str,
    subcategory: &'static str,
    name: &'static str,
    unit: &'static str,
    price: f64,
    quantity: (f64, f64),
) -> MeterSpec {
    MeterSpec { category, subcategory, name, unit, price, quantity }
}

pub const SERVICES: [ServiceSpec; 6] = [
    ServiceSpec {
        consumed_service: "Microsoft.Compute",
        resource_type: "Microsoft.Compute/virtualMachines",
        prefix: "vm",
        product_id: "DZH318Z0BQ4Z",
        sku_id: "00G1",
        availability_id: "DZH318Z0BQ4C",
        product_name: "Virtual Machines Dv3 Series",
        sku_name: "D2 v3",
        meters: [
            meter("Virtual Machines", "Dv3/DSv3 Series", "D2 v3/D2s v3", "1 Hour", 0.096, (1.0, 24.0)),
            meter("Virtual Machines", "Dv3/DSv3 Series Windows", "D2 v3/D2s v3", "1 Hour", 0.188, (1.0, 24.0)),
            meter("Bandwidth", "Inter-Region", "Standard Data Transfer Out", "1 GB", 0.087, (0.01, 40.0)),
        ],
    },
    ServiceSpec {
        consumed_service: "Microsoft.Storage",
        resource_type: "Microsoft.Storage/storageAccounts",
        prefix: "st",
        product_id: "DZH318Z0BNVX",
        sku_id: "002X",
        availability_id: "DZH318Z0BNC6",
        product_name: "Storage Accounts",
        sku_name: "Standard LRS",
        meters: [
            meter("Storage", "Standard Page Blob", "LRS Data Stored", "1 GB/Month", 0.045, (0.5, 400.0)),
            meter("Storage", "Tiered Block Blob", "Hot LRS Write Operations", "10K", 0.055, (0.1, 90.0)),
            meter("Storage", "Files", "LRS Data Stored", "1 GB/Month", 0.06, (0.5, 120.0)),
        ],
    },
    ServiceSpec {
        consumed_service: "Microsoft.Sql",
        resource_type: "Microsoft.Sql/servers/databases",
        prefix: "sqldb",
        product_id: "DZH318Z0BQPS",
        sku_id: "00CW",
        availability_id: "DZH318Z0BMRF",
        product_name: "SQL Database Single/Elastic Pool General Purpose - Compute Gen5",
        sku_name: "vCore",
        meters: [
            meter(
                "SQL Database",
                "Single/Elastic Pool General Purpose - Compute Gen5",
                "vCore",
                "1 Hour",
                0.5065,
                (2.0, 96.0),
            ),
            meter(
                "SQL Database",
                "Single/Elastic Pool General Purpose - Storage",
                "Data Stored",
                "1 GB/Month",
                0.115,
                (1.0, 250.0),
            ),
            meter(
                "SQL Database",
                "Single/Elastic Pool PITR Backup Storage",
                "LRS Data Stored",
                "1 GB/Month",
                0.1,
                (0.5, 120.0),
            ),
        ],
    },
    ServiceSpec {
        consumed_service: "Microsoft.Web",
        resource_type: "Microsoft.Web/sites",
        prefix: "app",
        product_id: "DZH318Z0BQMB",
        sku_id: "0015",
        availability_id: "DZH318Z0BMNC",
        product_name: "Azure App Service Standard Plan",
        sku_name: "S1",
        meters: [
            meter("Azure App Service", "Standard Plan", "S1 App", "1 Hour", 0.1, (1.0, 24.0)),
            meter("Azure App Service", "Premium v3 Plan", "P1 v3 App", "1 Hour", 0.2, (1.0, 24.0)),
            meter("Bandwidth", "Rtn Preference: MGN", "Standard Data Transfer Out", "1 GB", 0.08, (0.01, 25.0)),
        ],
    },
    ServiceSpec {
        consumed_service: "Microsoft.DocumentDB",
        resource_type: "Microsoft.DocumentDB/databaseAccounts",
        prefix: "cosmos",
        product_id: "DZH318Z0BNVS",
        sku_id: "0032",
        availability_id: "DZH318Z0BMT0",
        product_name: "Azure Cosmos DB",
        sku_name: "RUs",
        meters: [
            meter("Azure Cosmos DB", "RUs", "100 RU/s", "100/Hour", 0.008, (24.0, 960.0)),
            meter("Azure Cosmos DB", "Data Stored", "Data Stored", "1 GB/Month", 0.25, (0.1, 80.0)),
            meter("Azure Cosmos DB", "Serverless", "1M Request Units", "1M", 0.25, (0.1, 30.0)),
        ],
    },
    ServiceSpec {
        consumed_service: "Microsoft.OperationalInsights",
        resource_type: "Microsoft.OperationalInsights/workspaces",
        prefix: "log",
        product_id: "DZH318Z0BQ6C",
        sku_id: "0003",
        availability_id: "DZH318Z0BMM0",
        product_name: "Log Analytics",
        sku_name: "Pay-as-you-go",
        meters: [
            meter("Log Analytics", "Pay-as-you-go", "Data Ingestion", "1 GB", 2.76, (0.01, 8.0)),
            meter("Log Analytics", "Analytics Logs", "Data Retention", "1 GB/Month", 0.1, (0.5, 60.0)),
            meter("Azure Monitor", "Alerts", "Standard Log Alerts Evaluated", "1/Month", 0.5, (0.1, 4.0)),
        ],
    },
];

/// (ARM location, meter region) pairs.
pub const REGIONS: [(&str, &str); 10] = [
    ("westus2", "US West 2"),
    ("eastus", "US East"),
    ("eastus2", "US East 2"),
    ("centralus", "US Central"),
    ("westeurope", "EU West"),
    ("northeurope", "EU North"),
    ("uksouth", "UK South"),
    ("germanywestcentral", "DE West Central"),
    ("australiaeast", "AU East"),
    ("japaneast", "JA East"),
];

/// Price multiplier of a region.
pub fn region_factor(region: usize) -> f64 {
    1.0 + (region % 4) as f64 * 0.035
}

pub fn meter_id(service: usize, meter: usize, region: usize) -> String {
    let (service, meter, region) = (service.to_string(), meter.to_string(), region.to_string());
    derived_guid(&["meter", &service, &meter, &region])
}

// ---------------------------------------------------------------------------------------------
// Products the one-time and office line items bill.

pub(super) struct OneTimeProduct {
    pub(super) product_id: &'static str,
    pub(super) sku_id: &'static str,
    pub(super) availability_id: &'static str,
    pub(super) product_name: &'static str,
    pub(super) sku_name: &'static str,
    pub(super) publisher: &'static str,
    pub(super) publisher_id: &'static str,
    pub(super) unit_price: f64,
    pub(super) term: &'static str,
    pub(super) frequency: &'static str,
    pub(super) reservation: bool,
    pub(super) max_quantity: u64,
}

/// What one-time invoices bill: the seeded catalog's products plus a marketplace SaaS offer.
pub(super) const ONE_TIME_PRODUCTS: [OneTimeProduct; 5] = [
    OneTimeProduct {
        product_id: "CFQ7TTC0LH18",
        sku_id: "0001",
        availability_id: "CFQ7TTC0TKZX",
        product_name: "Microsoft 365 Business Basic",
        sku_name: "Microsoft 365 Business Basic",
        publisher: "Microsoft Corporation",
        publisher_id: "",
        unit_price: 6.0,
        term: "One-Year commitment for monthly/yearly billing",
        frequency: "Monthly",
        reservation: false,
        max_quantity: 300,
    },
    OneTimeProduct {
        product_id: "CFQ7TTC0LFLZ",
        sku_id: "0002",
        availability_id: "CFQ7TTC0TL0B",
        product_name: "Microsoft 365 E3",
        sku_name: "Microsoft 365 E3",
        publisher: "Microsoft Corporation",
        publisher_id: "",
        unit_price: 36.0,
        term: "One-Year commitment for monthly/yearly billing",
        frequency: "Annual",
        reservation: false,
        max_quantity: 500,
    },
    OneTimeProduct {
        product_id: "DZH318Z0BQ3Q",
        sku_id: "0001",
        availability_id: "DZH318XZXVNF",
        product_name: "Virtual Machines DSv2 Series",
        sku_name: "Reserved VM Instance, Standard_DS1_v2, US West 2, 1 Year",
        publisher: "Microsoft Corporation",
        publisher_id: "",
        unit_price: 537.0,
        term: "1 Year Prepaid",
        frequency: "",
        reservation: true,
        max_quantity: 10,
    },
    OneTimeProduct {
        product_id: "DG7GMGF0FKZV",
        sku_id: "0001",
        availability_id: "DG7GMGF0D3SJ",
        product_name: "Windows Server 2022 Standard - 2 Core License Pack",
        sku_name: "Windows Server 2022 Standard - 2 Core License Pack",
        publisher: "Microsoft Corporation",
        publisher_id: "",
        unit_price: 129.6,
        term: "Perpetual",
        frequency: "",
        reservation: false,
        max_quantity: 40,
    },
    OneTimeProduct {
        product_id: "DZH318Z0BXWC",
        sku_id: "0002",
        availability_id: "DZH318Z0BP8B",
        product_name: "Fabrikam WAF-as-a-Service",
        sku_name: "WaaS - Medium Plan",
        publisher: "Fabrikam Networks, Inc.",
        publisher_id: "21223810",
        unit_price: 820.0,
        term: "1 Year Subscription",
        frequency: "Monthly",
        reservation: false,
        max_quantity: 3,
    },
];

pub(super) const OFFICE_OFFERS: [(&str, f64); 6] = [
    ("OFFICE 365 E3", 20.0),
    ("OFFICE 365 E1", 8.0),
    ("EXCHANGE ONLINE (PLAN 2)", 8.0),
    ("SHAREPOINT ONLINE (PLAN 2)", 10.0),
    ("MICROSOFT 365 BUSINESS STANDARD", 12.5),
    ("ENTERPRISE MOBILITY + SECURITY E3", 10.6),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing_data::invoices::INVOICE_PARTNER_TENANT;

    #[test]
    fn the_roster_names_customers_as_the_seed_does() {
        let seeded = seed::customers();
        for k in 0..BILLING_CUSTOMERS {
            let customer = billing_customer(k);
            let found = seeded.iter().find(|c| c.id == customer.id).expect("seeded customer");
            assert_eq!(found.company_name, customer.name);
            assert_eq!(found.domain, customer.domain);
            assert_eq!(found.partner_tenant, INVOICE_PARTNER_TENANT);
        }
        let litware = seeded.iter().find(|c| c.id == seed::CUSTOMER_LITWARE).expect("litware");
        assert_eq!(litware.company_name, legacy_customer().name);
    }
}
