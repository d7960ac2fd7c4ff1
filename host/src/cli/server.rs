//! `tollgate serve` and `tollgate demo`.

use crate::{ServeArgs, StoreArgs};
use anyhow::{Context, Result};
use base64::Engine as _;
use serde_json::json;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tollgate::domain::hook::Hook;
use tollgate::http::HttpConfig;
use tollgate::runtime::{EngineConfig, Limits};
use tollgate::service::{App, AppConfig, BindingSpec, Compiler, NewTenantRequest, system_clock};
use tollgate::store::Store;

/// Open the store and build the application.
pub async fn open_app(store: &StoreArgs, serve: Option<&ServeArgs>) -> Result<Arc<App>> {
    let db = match &store.database {
        Some(url) => Store::open(url).await?,
        None => Store::open_data_dir(&store.data_dir).await?,
    };
    let mut config = AppConfig {
        cache_dir: Some(store.data_dir.join("cache")),
        compiler: Compiler::Subprocess(
            std::env::current_exe().context("locating the tollgate executable")?,
        ),
        ..AppConfig::default()
    };
    if let Some(s) = serve {
        config.engine = EngineConfig {
            max_component_bytes: s.max_component_bytes,
            compile_timeout_ms: s.compile_timeout_ms,
            max_memory_bytes: EngineConfig::default()
                .max_memory_bytes
                .max(s.memory_mib * 1024 * 1024),
            ..EngineConfig::default()
        };
        config.limits = Limits {
            fuel: s.fuel,
            deadline_ms: s.deadline_ms,
            memory_bytes: s.memory_mib * 1024 * 1024,
            ..Limits::default()
        };
        if let Some(n) = s.tenant_concurrency {
            config.tenant_concurrency = n.max(1);
        }
        config.retention_days = s.retention_days;
        config.retention_per_tenant = s.retention_per_tenant;
        config.retention_bytes_per_tenant = s.retention_bytes_per_tenant;
        config.event_retention_days = s.event_retention_days;
        config.answer_deadline = std::time::Duration::from_millis(s.answer_deadline_ms.max(1));
        config.quotas = tollgate::service::Quotas {
            max_plugin_versions: s.max_plugin_versions,
            max_plugin_bytes: s.max_plugin_bytes,
            max_bindings: s.max_bindings,
            call_budget_ms: s.call_budget_ms,
        };
        if let Some(n) = s.compile_concurrency {
            config.compile_concurrency = n.max(1);
        }
        config.compiled_cache_bytes = s.compiled_cache_mib.saturating_mul(1024 * 1024);
        config.disk_cache_bytes = s.disk_cache_mib.saturating_mul(1024 * 1024);
        config.operator_token = s.operator_token.clone().filter(|t| !t.is_empty());
    }
    Ok(App::new(Arc::new(db), config, system_clock())?)
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing in-flight calls");
}

pub async fn serve(args: ServeArgs) -> Result<()> {
    let app = open_app(&args.store, Some(&args)).await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let local = listener.local_addr()?;
    tracing::info!(listen = %local, database = %describe(&args.store), "tollgate serving");
    let http = HttpConfig {
        body_limit: args.body_limit,
        base_path: args.base_path.clone(),
        header_timeout: std::time::Duration::from_millis(args.header_timeout_ms.max(1)),
        body_timeout: std::time::Duration::from_millis(args.body_timeout_ms.max(1)),
        max_connections: args.max_connections.max(1),
    };
    tollgate::http::serve(listener, app, http, shutdown_signal()).await?;
    Ok(())
}

fn describe(store: &StoreArgs) -> String {
    match &store.database {
        Some(url) => tollgate::store::redact(url),
        None => format!("sqlite in {}", store.data_dir.display()),
    }
}

const DEMO_CATALOG: &str = include_str!("../../../examples/catalog.json");
const DEMO_SETUP: &str = include_str!("../../../examples/setup-fields.json");
const DEMO_REQUEST: &str =
    include_str!("../../../examples/requests/subscription-create-check.json");

/// The demo tenant's bindings: (hook, binding, plugin, config).
const DEMO_BINDINGS: &[(Hook, &str, &str, &str)] = &[
    (
        Hook::QuantityLimits,
        "min-max",
        "min-max-quantity",
        r#"{"default": {"min": 1}, "products": {"cb_basic": {"min": 3, "max": 50, "step": 1}}}"#,
    ),
    (
        Hook::QuantityLimits,
        "licence-cap",
        "licence-cap",
        r#"{"service_types": {"cloudbackup": 500}, "addons": {"cb_vault_pack": 10}}"#,
    ),
    (
        Hook::Precheck,
        "one-active-subscription",
        "one-active-subscription",
        r#"{"service_types": ["cloudbackup"]}"#,
    ),
    (
        Hook::Precheck,
        "cancellation-window",
        "cancellation-window",
        r#"{"max_days": 30}"#,
    ),
];

/// A fresh data dir, a demo tenant with the example plugins uploaded and
/// bound, the §5.7 catalogue and the §4.1 setup fields; then serve.
pub async fn demo(listen: SocketAddr, data_dir: Option<PathBuf>) -> Result<()> {
    let data_dir = data_dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("tollgate-demo-{}", uuid::Uuid::new_v4().simple()))
    });
    if data_dir.join("tollgate.db").exists() {
        anyhow::bail!(
            "{} already holds a database; the demo needs a fresh data dir",
            data_dir.display()
        );
    }
    let store = StoreArgs {
        database: None,
        data_dir: data_dir.clone(),
    };
    let app = open_app(&store, None).await?;
    let secrets = app
        .create_tenant(&NewTenantRequest {
            name: "Demo distributor".into(),
            ..Default::default()
        })
        .await?;
    let tenant = app
        .authenticate_admin(Some(&secrets.admin_token))
        .await?
        .map_err(|e| anyhow::anyhow!("the demo tenant cannot authenticate: {e}"))?;
    for (name, bytes) in tollgate::embedded::EXAMPLE_PLUGINS {
        app.upload_plugin(&tenant, name, bytes.to_vec(), "demo")
            .await
            .with_context(|| format!("uploading {name}"))?;
    }
    for (hook, binding, plugin, config) in DEMO_BINDINGS {
        let spec = BindingSpec {
            plugin: plugin.to_string(),
            version: None,
            scope: Default::default(),
            priority: 0,
            config: serde_json::from_str(config)?,
            on_failure: "reject".into(),
            shadow: None,
        };
        app.put_binding(&tenant, *hook, binding, &spec, "demo")
            .await
            .with_context(|| format!("binding {binding}"))?;
    }
    app.put_catalog(&tenant, DEMO_CATALOG).await?;
    app.put_setup_fields(&tenant, DEMO_SETUP).await?;

    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let local = listener.local_addr()?;
    let api_key_header = base64::engine::general_purpose::STANDARD.encode(&secrets.api_key);
    println!(
        "{}",
        json!({
            "listen": local.to_string(),
            "application_id": secrets.application_id,
            "api_key": secrets.api_key,
            "admin_token": secrets.admin_token,
            "data_dir": data_dir.display().to_string(),
        })
    );
    let body = DEMO_REQUEST
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    println!(
        "\n# A pre-check the platform would send (quantity 2, below the minimum of 3 → Code -105):\n\
         curl -s http://{local}/api/Subscriptions/Create \\\n  \
         -H 'X-CloudPlatform-ApplicationId: {app_id}' -H 'X-CloudPlatform-APIKey: {api_key_header}' \\\n  \
         -H 'X-CloudPlatform-Setting-FieldUsername: partner-ops' -H 'X-CloudPlatform-Setting-FieldPassword: S3cret-2025' \\\n  \
         -H 'X-CloudPlatform-Setting-FieldUri: https://api.vendor.example' -H 'X-CloudPlatform-Setting-FieldRegion: 1' \\\n  \
         -H 'Content-Type: application/json' -d '{body}'\n\
         \n# The tenant's decision log:\ncurl -s http://{local}/admin/v1/invocations -H 'Authorization: Bearer {token}'\n\
         # The tenant console (signs in with the admin token): http://{local}/console/#token={token}\n\
         # API docs: http://{local}/docs\n",
        app_id = secrets.application_id,
        token = secrets.admin_token,
    );
    tollgate::http::serve(listener, app, HttpConfig::default(), shutdown_signal()).await?;
    Ok(())
}
