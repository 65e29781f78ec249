//! The `partner-center-gateway` binary: parse the command line, load settings, run.

use std::{future::Future, net::SocketAddr, path::PathBuf, process::ExitCode, time::Duration};

use clap::{Args, Parser, Subcommand};
use partner_center_gateway::{
    app::{self, Application},
    auth::{Permission, dev::DevTokenRequest},
    config::{LogFormat, Settings, Sources},
    rest, server, telemetry,
};

/// glibc's malloc took about 15 % of the gateway's CPU per proxied request, plus waits on its
/// arena locks between worker threads (perf, BENCHMARKS.md); mimalloc's per-thread heaps do not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "partner-center-gateway", version, about = "A gateway in front of the Microsoft Partner Center API")]
struct Cli {
    /// TOML settings file.
    #[arg(long, env = "GATEWAY_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Override any setting, e.g. `--set catalog.cache_ttl=10m` (repeatable; wins over file and env).
    #[arg(long = "set", value_name = "KEY=VALUE", global = true)]
    set: Vec<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve REST and gRPC (the default). Without `partner_center.base_url`, against the built-in simulator.
    Serve(ServeArgs),
    /// Run only the Partner Center simulator.
    Simulate(SimulateArgs),
    /// Print the OpenAPI document.
    Openapi,
    /// Mint a token that dev auth mode accepts.
    DevToken(DevTokenArgs),
}

#[derive(Args, Default)]
struct ServeArgs {
    /// REST listen address (`rest.listen`).
    #[arg(long)]
    rest_listen: Option<SocketAddr>,
    /// gRPC listen address (`grpc.listen`).
    #[arg(long)]
    grpc_listen: Option<SocketAddr>,
    /// `json` or `text` (`log.format`).
    #[arg(long)]
    log_format: Option<String>,
}

#[derive(Args)]
struct SimulateArgs {
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// How long new orders stay out of order lists, e.g. `15m`.
    #[arg(long, default_value = "15m", value_parser = humantime::parse_duration)]
    order_list_delay: Duration,
}

#[derive(Args)]
struct DevTokenArgs {
    /// Customer tenant id (a GUID) the token grants (repeatable); `*` alone for all.
    #[arg(long = "customer", default_value = "*")]
    customers: Vec<String>,
    /// Permission the token grants (repeatable), e.g. `orders.write`; default: all. Valid:
    /// catalog.read customers.read customers.write orders.read orders.write subscriptions.read
    /// subscriptions.write usage.read budget.write invoices.read.
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// Configured partner id the token acts for; default: the first.
    #[arg(long)]
    partner: Option<String>,
    #[arg(long, default_value = "dev-user")]
    subject: String,
    /// Lifetime, e.g. `12h`.
    #[arg(long, default_value = "12h", value_parser = humantime::parse_duration)]
    ttl: Duration,
}

fn main() -> ExitCode {
    let Cli { config, set, command } = Cli::parse();
    let outcome = overrides(&set).and_then(|overrides| match command.unwrap_or(Command::Serve(ServeArgs::default())) {
        // `serve` reads its settings first: they say how many threads its runtime has.
        Command::Serve(args) => serve_settings(config, overrides, args)
            .and_then(|settings| on_runtime(Some(settings.runtime.worker_threads), serve(settings))),
        other => on_runtime(None, run(config, overrides, other)),
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `work` on a runtime with `worker_threads` (tokio's default, one per core, when `None`).
/// One thread is a `current_thread` runtime: the same single event loop without the
/// multi-thread scheduler's cross-thread wake-ups and atomics on every task switch.
fn on_runtime(worker_threads: Option<usize>, work: impl Future<Output = Result<(), String>>) -> Result<(), String> {
    let mut builder = match worker_threads {
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        Some(threads) => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(threads);
            builder
        }
        None => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = builder.enable_all().build().map_err(|error| format!("cannot start the async runtime: {error}"))?;
    runtime.block_on(work)
}

/// `--set KEY=VALUE` pairs.
fn overrides(set: &[String]) -> Result<Vec<(String, String)>, String> {
    set.iter()
        .map(|item| {
            let (key, value) = item.split_once('=').ok_or_else(|| format!("--set {item}: expected KEY=VALUE"))?;
            Ok((key.trim().to_owned(), value.trim().to_owned()))
        })
        .collect()
}

fn serve_settings(
    config: Option<PathBuf>,
    mut overrides: Vec<(String, String)>,
    args: ServeArgs,
) -> Result<Settings, String> {
    if let Some(addr) = args.rest_listen {
        overrides.push(("rest.listen".to_owned(), addr.to_string()));
    }
    if let Some(addr) = args.grpc_listen {
        overrides.push(("grpc.listen".to_owned(), addr.to_string()));
    }
    if let Some(format) = args.log_format {
        overrides.push(("log.format".to_owned(), format));
    }
    Settings::load(&Sources::from_process_env(config, overrides)).map_err(|e| e.to_string())
}

/// The commands other than `serve`, which `main` starts on a runtime sized by its settings (the
/// arm here keeps the match whole).
async fn run(config: Option<PathBuf>, overrides: Vec<(String, String)>, command: Command) -> Result<(), String> {
    match command {
        Command::Serve(args) => serve(serve_settings(config, overrides, args)?).await,
        Command::Simulate(args) => simulate(args).await,
        Command::Openapi => {
            let document = rest::openapi().to_pretty_json().map_err(|e| e.to_string())?;
            print_to_stdout(&document)
        }
        Command::DevToken(args) => {
            let settings = Settings::load(&Sources::from_process_env(config, overrides)).map_err(|e| e.to_string())?;
            let scopes = if args.scopes.is_empty() {
                Permission::ALL.iter().map(|p| p.as_str().to_owned()).collect()
            } else {
                args.scopes
            };
            let request = DevTokenRequest {
                subject: args.subject,
                partner: args.partner.or_else(|| default_partner(&settings)),
                customers: args.customers,
                scopes,
                ttl: args.ttl,
            };
            let partners = known_partners(&settings);
            let partners: Vec<(&str, &str)> =
                partners.iter().map(|(id, tenant)| (id.as_str(), tenant.as_str())).collect();
            request.check(&partners)?;
            print_to_stdout(&app::mint_dev_token(&settings, &request).map_err(|e| e.to_string())?)
        }
    }
}

fn default_partner(settings: &Settings) -> Option<String> {
    settings.partner_center.partners.first().map(|p| p.id.clone()).or_else(|| {
        #[cfg(feature = "simulator")]
        return Some(partner_center_simulator::seed::CONTOSO_PARTNER_ID.to_owned());
        #[cfg(not(feature = "simulator"))]
        None
    })
}

/// Writes `text` and a newline to stdout. A reader that closed the pipe early
/// (`openapi | head`) has taken what it wanted: that is success, not a panic.
fn print_to_stdout(text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(error) => Err(format!("writing to stdout: {error}")),
    }
}

/// The partners a dev token may name, as (id, tenant id): the configured ones, else the
/// simulator's.
fn known_partners(settings: &Settings) -> Vec<(String, String)> {
    let configured: Vec<(String, String)> =
        settings.partner_center.partners.iter().map(|p| (p.id.clone(), p.tenant_id.to_string())).collect();
    #[cfg(feature = "simulator")]
    if configured.is_empty() {
        return partner_center_simulator::seed::PARTNERS
            .iter()
            .map(|p| (p.id.to_owned(), p.tenant_id.to_owned()))
            .collect();
    }
    configured
}

async fn serve(settings: Settings) -> Result<(), String> {
    let telemetry = telemetry::init(&settings);
    let served = serve_with_telemetry(settings).await;
    telemetry.shutdown().await;
    served
}

async fn serve_with_telemetry(settings: Settings) -> Result<(), String> {
    let application = Application::build(settings).await.map_err(|e| e.to_string())?;
    let rest = application.rest_addr();
    let grpc = application.grpc_addr();
    if let Some(metrics) = application.metrics_addr() {
        tracing::info!(%metrics, "metrics on their own listener");
    }
    match (application.simulator_addr(), application.simulator_url()) {
        (Some(simulator), _) => tracing::info!(%rest, %grpc, %simulator, "partner-center-gateway started"),
        (None, Some(simulator_url)) => {
            tracing::info!(%rest, %grpc, %simulator_url, "partner-center-gateway started")
        }
        (None, None) => tracing::info!(%rest, %grpc, "partner-center-gateway started"),
    }
    if let Some(token) = application.dev_token() {
        // On stdout, not in the logs: a dev convenience, never printed in jwt mode.
        let simulator = application.simulator_url().map_or_else(String::new, ToString::to_string);
        let which = if application.simulator_addr().is_some() { "built-in" } else { "separate" };
        println!();
        println!("  Partner Center Gateway (development mode, {which} Partner Center simulator)");
        println!("  REST        http://{rest}/v1/customers");
        println!("  Swagger UI  http://{rest}/swagger-ui/");
        println!("  gRPC        {grpc}  (reflection on)");
        println!("  Simulator   {simulator}  (control API {simulator}_simulator/...: docs/simulator.md)");
        println!("  Walkthrough docs/walkthrough.md: buy, follow and suspend an Azure plan");
        println!();
        print_dev_customers();
        println!("  Dev token (all customers, all permissions, 12 h):");
        println!("  {token}");
        println!();
        println!("  curl -H \"Authorization: Bearer $TOKEN\" http://{rest}/v1/customers");
        println!();
    }
    application.run_until_stopped(server::shutdown_signal()).await.map_err(|e| e.to_string())
}

/// The banner's `dev` section: the seeded customers of the partner dev tokens act for, named by
/// what each is for.
fn print_dev_customers() {
    #[cfg(feature = "simulator")]
    {
        use partner_center_simulator::seed;
        let customers = seed::customers();
        let named: Vec<_> =
            customers.iter().filter(|c| c.partner_tenant == seed::CONTOSO_TENANT_ID && !c.generated).collect();
        println!("  dev: customers of partner {} (docs/walkthrough.md has the table)", seed::CONTOSO_PARTNER_ID);
        for customer in named {
            println!("    {}  {}", customer.id, customer.company_name);
        }
        println!("    ... and {} generated customers, so lists page", seed::GENERATED_CUSTOMERS);
        println!();
    }
}

async fn simulate(args: SimulateArgs) -> Result<(), String> {
    #[cfg(feature = "simulator")]
    {
        use partner_center_simulator::{self as simulator, SimulatorConfig, seed};
        telemetry::init_logging(LogFormat::Text, "info");
        let config = SimulatorConfig { order_list_delay: args.order_list_delay, ..Default::default() };
        let handle = simulator::start(args.listen, config)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        println!("Partner Center simulator on {}", handle.base_url());
        println!("  API root and Azure AD authority: {}", handle.base_url());
        println!("  Microsoft Graph {}v1.0/  blob host {}", handle.graph_base_url(), handle.blob_base_url());
        for partner in seed::PARTNERS {
            println!(
                "  partner {:<10} tenant {}  client_id {}  client_secret {}",
                partner.id, partner.tenant_id, partner.client_id, partner.client_secret
            );
        }
        println!(
            "  counters: GET {}_simulator/counters   faults: POST {}_simulator/faults   (docs/simulator.md)",
            handle.base_url(),
            handle.base_url()
        );
        println!(
            "  a gateway with dev tokens against it: partner-center-gateway --set simulator.url={} serve",
            handle.base_url()
        );
        server::shutdown_signal().await;
        handle.shutdown().await;
        Ok(())
    }
    #[cfg(not(feature = "simulator"))]
    {
        let _ = (args, LogFormat::Text);
        Err("this build has no simulator (feature `simulator`)".to_owned())
    }
}
