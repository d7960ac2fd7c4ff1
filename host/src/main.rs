//! The `tollgate` command: the server, the demo, tenant administration and
//! the plugin author's tools. Every flag can also be set from the
//! environment as `TOLLGATE_<FLAG>` (e.g. `TOLLGATE_LISTEN`).

mod cli;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "tollgate",
    version,
    about = "A Service Manager for interworks.cloud with tenant-uploaded WebAssembly rules"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(Box<ServeArgs>),
    /// Serve a fresh data dir with a demo tenant and the example plugins
    /// bound; prints the credentials (first line, JSON) and a sample request.
    Demo(DemoArgs),
    /// Manage tenants (platform installations).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// The plugin author's tools, for every language: create, build, run,
    /// test, watch and deploy plugins under the production limits.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Compile a component read from stdin (used by the server to bound
    /// compile time).
    #[command(hide = true)]
    InternalCompile {
        #[arg(long)]
        engine: String,
        /// Limits the worker sets on itself (JSON `WorkerLimits`).
        #[arg(long)]
        limits: Option<String>,
    },
}

/// Where the data lives.
#[derive(Args, Clone)]
pub struct StoreArgs {
    /// Database URL: `sqlite://PATH` or `postgres://USER:PASS@HOST/DB`.
    /// Default: SQLite under --data-dir.
    #[arg(long, env = "TOLLGATE_DATABASE")]
    pub database: Option<String>,
    /// Directory for the embedded database and the compiled-plugin cache.
    #[arg(long, env = "TOLLGATE_DATA_DIR", default_value = "./tollgate-data")]
    pub data_dir: PathBuf,
}

/// Server settings.
#[derive(Args, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TOLLGATE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub store: StoreArgs,
    /// `text` or `json` (one JSON object per line).
    #[arg(long, env = "TOLLGATE_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
    /// Log lines that may wait for stderr (≈ 0.5 KB each); past them new
    /// lines are dropped and counted (`log-queue`), calls never wait.
    #[arg(long, env = "TOLLGATE_LOG_QUEUE_LINES", default_value_t = cli::LOG_QUEUE_LINES,
          value_parser = clap::value_parser!(u32).range(1..=cli::MAX_LOG_QUEUE_LINES as i64))]
    pub log_queue_lines: u32,
    /// Serve under this path prefix (e.g. `/backup`).
    #[arg(long, env = "TOLLGATE_BASE_PATH", default_value = "")]
    pub base_path: String,
    /// Bearer token of the operator endpoints (`/admin/v1/tenants…`);
    /// unset disables them.
    #[arg(long, env = "TOLLGATE_OPERATOR_TOKEN", hide_env_values = true)]
    pub operator_token: Option<String>,
    /// Largest request body, in bytes.
    #[arg(long, env = "TOLLGATE_BODY_LIMIT", default_value_t = 1024 * 1024)]
    pub body_limit: usize,
    /// Fuel per plugin call.
    #[arg(long, env = "TOLLGATE_FUEL", default_value_t = 10_000_000)]
    pub fuel: u64,
    /// Wall-clock deadline per plugin call, in milliseconds.
    #[arg(long, env = "TOLLGATE_DEADLINE_MS", default_value_t = 100)]
    pub deadline_ms: u64,
    /// Guest linear memory per plugin call, in MiB.
    #[arg(long, env = "TOLLGATE_MEMORY_MIB", default_value_t = 16)]
    pub memory_mib: u64,
    /// Largest uploaded component, in bytes.
    #[arg(long, env = "TOLLGATE_MAX_COMPONENT_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_component_bytes: usize,
    /// Time allowed to compile an upload, in milliseconds.
    #[arg(long, env = "TOLLGATE_COMPILE_TIMEOUT_MS", default_value_t = 10_000)]
    pub compile_timeout_ms: u64,
    /// Plugin calls one tenant may run at once (default: cores − 1).
    #[arg(long, env = "TOLLGATE_TENANT_CONCURRENCY")]
    pub tenant_concurrency: Option<usize>,
    /// Decision records are kept this many days.
    #[arg(long, env = "TOLLGATE_RETENTION_DAYS", default_value_t = 30)]
    pub retention_days: i64,
    /// At most this many decision records per tenant.
    #[arg(long, env = "TOLLGATE_RETENTION_PER_TENANT", default_value_t = 100_000)]
    pub retention_per_tenant: i64,
    /// At most this many bytes of decision records per tenant.
    #[arg(long, env = "TOLLGATE_RETENTION_BYTES_PER_TENANT", default_value_t = 1 << 30)]
    pub retention_bytes_per_tenant: i64,
    /// Provisioning events are kept this many days.
    #[arg(long, env = "TOLLGATE_EVENT_RETENTION_DAYS", default_value_t = 90)]
    pub event_retention_days: i64,
    /// A platform call not decided in this time answers Code -4 (ms).
    #[arg(long, env = "TOLLGATE_ANSWER_DEADLINE_MS", default_value_t = 8_000)]
    pub answer_deadline_ms: u64,
    /// Plugin time one platform call may spend, by default (ms).
    #[arg(long, env = "TOLLGATE_CALL_BUDGET_MS", default_value_t = 1_000)]
    pub call_budget_ms: u64,
    /// Plugin versions a tenant may store, by default.
    #[arg(long, env = "TOLLGATE_MAX_PLUGIN_VERSIONS", default_value_t = 100)]
    pub max_plugin_versions: u64,
    /// Bytes of plugin versions a tenant may store, by default.
    #[arg(long, env = "TOLLGATE_MAX_PLUGIN_BYTES", default_value_t = 256 * 1024 * 1024)]
    pub max_plugin_bytes: u64,
    /// Bindings a tenant may have, by default.
    #[arg(long, env = "TOLLGATE_MAX_BINDINGS", default_value_t = 64)]
    pub max_bindings: u64,
    /// Uploads compiled at once (default: half the cores).
    #[arg(long, env = "TOLLGATE_COMPILE_CONCURRENCY")]
    pub compile_concurrency: Option<usize>,
    /// Compiled plugins kept in memory (native code and memory images), in MiB.
    #[arg(long, env = "TOLLGATE_COMPILED_CACHE_MIB", default_value_t = 512)]
    pub compiled_cache_mib: u64,
    /// Compiled plugin code kept in --data-dir/cache, in MiB.
    #[arg(long, env = "TOLLGATE_DISK_CACHE_MIB", default_value_t = 2048)]
    pub disk_cache_mib: u64,
    /// Time a client has to send a request's headers; also the keep-alive
    /// idle timeout (ms).
    #[arg(long, env = "TOLLGATE_HEADER_TIMEOUT_MS", default_value_t = 10_000)]
    pub header_timeout_ms: u64,
    /// Time a client has to send a request's body (ms).
    #[arg(long, env = "TOLLGATE_BODY_TIMEOUT_MS", default_value_t = 30_000)]
    pub body_timeout_ms: u64,
    /// Connections served at once.
    #[arg(long, env = "TOLLGATE_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,
}

#[derive(Args)]
struct DemoArgs {
    #[arg(long, env = "TOLLGATE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Default: a fresh directory under the system temp dir.
    #[arg(long, env = "TOLLGATE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[arg(long, env = "TOLLGATE_LOG_FORMAT", default_value = "text")]
    log_format: String,
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Register an installation; prints one JSON object with
    /// `application_id`, `api_key` and `admin_token`.
    Create {
        #[arg(long)]
        name: String,
        /// The installation's Application Id (default: a new GUID).
        #[arg(long)]
        application_id: Option<String>,
        /// The API key (default: a new random key).
        #[arg(long, hide_env_values = true)]
        api_key: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List tenants (JSON lines, no secrets).
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Replace a tenant's API key; prints the new key.
    RotateKey {
        #[arg(long)]
        tenant: String,
        /// Keep accepting the old key until the next rotation.
        #[arg(long)]
        keep_previous: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Replace a tenant's admin token; prints the new token.
    RotateAdminToken {
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Set a tenant's per-call limits (JSON, e.g. '{"fuel": 20000000}');
    /// without --limits, back to the defaults.
    SetLimits {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        limits: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Create a plugin project from the template of a hook.
    New {
        /// rust, ts (TypeScript), js (JavaScript) or python.
        #[arg(long, default_value = "rust")]
        lang: String,
        /// precheck, quantity-limits or resources.
        #[arg(long)]
        hook: String,
        /// The plugin (and package) name.
        name: String,
        /// Where to create it (default: the current directory).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Build a project's component with its language's toolchain; prints
    /// its path.
    Build {
        /// The project (default: the current directory).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// The last stdout line is `{"path": …}`.
        #[arg(long)]
        json: bool,
    },
    /// Run a plugin once under the production engine and limits.
    Run {
        file: PathBuf,
        /// An input (or a fixture file, whose input is used).
        #[arg(long)]
        input: PathBuf,
        /// A JSON file replacing the input's config; the plugin's
        /// validate-config checks it first.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Run every fixture (*.json) of a directory; non-zero exit on a failure.
    /// `test FILE.wasm FIXTURES_DIR`, or `test DIR [--build]` for a project
    /// (its component, its fixtures/).
    Test {
        /// A component, or a project directory.
        path: PathBuf,
        /// The fixtures (default for a project: DIR/fixtures).
        fixtures: Option<PathBuf>,
        /// Build the project first.
        #[arg(long)]
        build: bool,
        #[arg(long)]
        json: bool,
    },
    /// Build and test a project, then again on every change of its sources.
    Watch {
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Stop after this many runs (default: until interrupted).
        #[arg(long)]
        runs: Option<u32>,
    },
    /// Build, upload and bind a project on a server; prints the binding's
    /// revision. The admin token comes from --token-file or the
    /// TOLLGATE_ADMIN_TOKEN environment variable.
    Deploy {
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// The server's base URL, e.g. https://tollgate.example.com.
        #[arg(long)]
        server: String,
        /// A file holding the tenant's admin token.
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// HOOK/NAME of the binding to create or update.
        #[arg(long)]
        binding: String,
        /// The binding's config (JSON file); default: the binding's current
        /// config, or {}.
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::InternalCompile { engine, limits } => {
            cli::compile_worker(&engine, limits.as_deref())
        }
        Command::Plugin(command) => plugin(command),
        Command::Serve(args) => {
            let _logs = cli::init_logging(&args.log_format, "info", args.log_queue_lines)?;
            runtime()?
                .block_on(cli::server::serve(*args))
                .map(|_| ExitCode::SUCCESS)
        }
        Command::Demo(args) => {
            let _logs = cli::init_logging(&args.log_format, "info", cli::LOG_QUEUE_LINES)?;
            runtime()?
                .block_on(cli::server::demo(args.listen, args.data_dir))
                .map(|_| ExitCode::SUCCESS)
        }
        Command::Tenant(command) => {
            let _logs = cli::init_logging("text", "warn", cli::LOG_QUEUE_LINES)?;
            runtime()?
                .block_on(tenant(command))
                .map(|_| ExitCode::SUCCESS)
        }
    }
}

fn plugin(command: PluginCommand) -> Result<ExitCode> {
    use cli::{deploy, plugin, project::Language, scaffold, watch};
    match command {
        PluginCommand::New {
            lang,
            hook,
            name,
            dir,
        } => scaffold::new(Language::parse(&lang)?, &hook, &name, &dir).map(|_| ExitCode::SUCCESS),
        PluginCommand::Build { dir, json } => plugin::build(&dir, json),
        PluginCommand::Run {
            file,
            input,
            config,
            json,
        } => plugin::run(&file, &input, config.as_deref(), json),
        PluginCommand::Test {
            path,
            fixtures,
            build,
            json,
        } => plugin::test(
            plugin::TestTarget {
                path: &path,
                fixtures: fixtures.as_deref(),
                build,
            },
            json,
        ),
        PluginCommand::Watch { dir, runs } => watch::watch(&dir, runs),
        PluginCommand::Deploy {
            dir,
            server,
            token_file,
            binding,
            config,
            json,
        } => deploy::deploy(deploy::DeployArgs {
            dir,
            server,
            token_file,
            binding,
            config,
            json,
        }),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

async fn tenant(command: TenantCommand) -> Result<()> {
    use tollgate::service::NewTenantRequest;
    match command {
        TenantCommand::Create {
            name,
            application_id,
            api_key,
            store,
        } => {
            let app = cli::server::open_app(&store, None).await?;
            let secrets = app
                .create_tenant(&NewTenantRequest {
                    name,
                    application_id,
                    api_key,
                })
                .await?;
            println!("{}", serde_json::to_string(&secrets)?);
        }
        TenantCommand::List { store } => {
            let app = cli::server::open_app(&store, None).await?;
            for t in app.store().tenants().await? {
                let limits: Option<serde_json::Value> = t
                    .limits
                    .as_deref()
                    .and_then(|l| serde_json::from_str(l).ok());
                println!(
                    "{}",
                    serde_json::json!({"tenant_id": t.id, "name": t.name, "application_id": t.application_id, "limits": limits, "created_at": t.created_at})
                );
            }
        }
        TenantCommand::RotateKey {
            tenant,
            keep_previous,
            store,
        } => {
            let app = cli::server::open_app(&store, None).await?;
            let key = app.rotate_api_key(&tenant, None, keep_previous).await?;
            println!(
                "{}",
                serde_json::json!({"tenant_id": tenant, "api_key": key, "previous_key_valid": keep_previous})
            );
        }
        TenantCommand::RotateAdminToken { tenant, store } => {
            let app = cli::server::open_app(&store, None).await?;
            let token = app.rotate_admin_token(&tenant).await?;
            println!(
                "{}",
                serde_json::json!({"tenant_id": tenant, "admin_token": token})
            );
        }
        TenantCommand::SetLimits {
            tenant,
            limits,
            store,
        } => {
            let app = cli::server::open_app(&store, None).await?;
            let limits: Option<tollgate::service::TenantLimits> = limits
                .map(|l| serde_json::from_str(&l))
                .transpose()
                .context("--limits is not a valid limits object")?;
            app.set_tenant_limits(&tenant, limits).await?;
            println!(
                "{}",
                serde_json::json!({"tenant_id": tenant, "limits": limits})
            );
        }
    }
    Ok(())
}
