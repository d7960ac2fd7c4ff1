//! The end-to-end harness: a real server (the real router over HTTP on
//! 127.0.0.1:0, real plugins compiled for wasm32-wasip2, a real database),
//! clients that speak as the platform and as a tenant admin, and the
//! interworks request bodies of the spec.
//!
//! The database is SQLite in a temp dir, or a fresh PostgreSQL database
//! when `TOLLGATE_TEST_POSTGRES_URL` names a server (e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`).

#![allow(dead_code)]

use base64::Engine as _;
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tollgate::http::HttpConfig;
use tollgate::runtime::EngineConfig;
use tollgate::service::{App, AppConfig, Compiler, NewTenantRequest, TenantSecrets};
use tollgate::store::Store;

/// 2025-11-27T00:00:00Z.
pub const T0: i64 = 1_764_201_600_000;
pub const DAY: i64 = 86_400_000;

pub fn exe() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_tollgate"))
}

/// A database for one test: a temp SQLite file, or a new PostgreSQL
/// database.
pub struct Db {
    pub url: String,
    pub dir: tempfile::TempDir,
    /// (admin URL, database name) of a PostgreSQL database to drop.
    postgres: Option<(String, String)>,
}

impl Drop for Db {
    /// Drop the test's PostgreSQL database (its connections too), so test
    /// runs do not pile up databases. Best effort: a leftover is harmless.
    fn drop(&mut self) {
        let Some((admin, name)) = self.postgres.take() else {
            return;
        };
        let dropper = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut conn) =
                    <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await
                {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::Executor::execute(&mut conn, sql.as_str()).await;
                }
            });
        });
        let _ = dropper.join();
    }
}

pub async fn database() -> Db {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut postgres = None;
    let url = match std::env::var("TOLLGATE_TEST_POSTGRES_URL") {
        Ok(admin) if !admin.is_empty() => {
            let name = format!("tg_{}", uuid::Uuid::new_v4().simple());
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
                .await
                .expect("connecting to the test PostgreSQL");
            sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str())
                .await
                .expect("creating a test database");
            let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
            let url = format!("{base}/{name}");
            postgres = Some((admin, name));
            url
        }
        _ => format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("tollgate.db").display()
        ),
    };
    Db { url, dir, postgres }
}

/// The text of `/metrics` on the server at `url`, through `http`.
pub async fn metrics_text(http: &reqwest::Client, url: &str) -> String {
    http.get(format!("{url}/metrics"))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("the metrics text")
}

pub fn is_postgres() -> bool {
    std::env::var("TOLLGATE_TEST_POSTGRES_URL").is_ok_and(|u| !u.is_empty())
}

pub struct Options {
    pub config: AppConfig,
    pub http: HttpConfig,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            config: AppConfig {
                compiler: Compiler::Subprocess(exe()),
                engine: EngineConfig {
                    pool_instances: 64,
                    ..EngineConfig::default()
                },
                ..AppConfig::default()
            },
            http: HttpConfig::default(),
        }
    }
}

pub struct Server {
    pub url: String,
    pub app: Arc<App>,
    pub clock: Arc<AtomicI64>,
    pub db: Db,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    pub async fn start() -> Server {
        Self::with(Options::default()).await
    }

    pub async fn with(options: Options) -> Server {
        let db = database().await;
        Self::on(db, options).await
    }

    pub async fn on(db: Db, options: Options) -> Server {
        // TOLLGATE_TEST_LOG=debug shows the server's logs in test output.
        if let Ok(level) = std::env::var("TOLLGATE_TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(level)
                .with_test_writer()
                .try_init();
        }
        let store = Arc::new(Store::open(&db.url).await.expect("opening the store"));
        let clock = Arc::new(AtomicI64::new(T0));
        let c = clock.clone();
        let mut config = options.config;
        if config.cache_dir.is_none() {
            config.cache_dir = Some(db.dir.path().join("cache"));
        }
        let app = App::new(store, config, Arc::new(move || c.load(Ordering::SeqCst))).expect("app");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(tollgate::http::serve(
            listener,
            app.clone(),
            options.http,
            async move {
                let _ = rx.await;
            },
        ));
        Server {
            url,
            app,
            clock,
            db,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// Stop and start again on the same database and data dir (the
    /// compiled-code disk cache survives; memory caches do not).
    pub async fn restart(mut self, options: Options) -> Server {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.app.store().close().await;
        Server::on(self.db, options).await
    }

    /// Give a tenant its own limits (fields not set follow the server).
    pub async fn set_limits(&self, tenant: &Tenant, limits: tollgate::service::TenantLimits) {
        self.app
            .set_tenant_limits(&tenant.secrets.tenant_id, Some(limits))
            .await
            .expect("tenant limits");
    }

    /// The value of a metric series (its whole line up to the value), or 0.
    pub fn metric(&self, series: &str) -> f64 {
        let text = self.app.render_metrics();
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
            .unwrap_or(0.0)
    }

    pub fn advance(&self, ms: i64) {
        self.clock.fetch_add(ms, Ordering::SeqCst);
    }

    pub async fn tenant(&self, name: &str) -> Tenant {
        let secrets = self
            .app
            .create_tenant(&NewTenantRequest {
                name: name.into(),
                ..Default::default()
            })
            .await
            .expect("tenant");
        Tenant::new(&self.url, secrets)
    }

    /// Begin a graceful shutdown; the handle resolves when `serve` returns.
    pub fn begin_shutdown(&mut self) -> tokio::task::JoinHandle<std::io::Result<()>> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.take().expect("the server is serving")
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Every table that holds provisioning state, dumped as text.
    pub async fn state(&self) -> Vec<(String, Vec<String>)> {
        let mut out = Vec::new();
        for table in Store::STATE_TABLES {
            out.push((
                table.to_string(),
                self.app.store().dump_table(table).await.expect("dump"),
            ));
        }
        out
    }
}

pub fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

/// One tenant: its platform credentials and admin token.
#[derive(Clone)]
pub struct Tenant {
    pub url: String,
    pub secrets: TenantSecrets,
    pub http: Client,
    pub settings: Vec<(String, String)>,
}

impl Tenant {
    /// The decision log's error for `binding` in the call behind `answer`:
    /// the platform's user gets a fixed sentence with the TrackId, the
    /// details (which limit, how much) stay in the tenant's log.
    pub async fn logged_error(&self, answer: &Value, binding: &str) -> String {
        let message = answer["Message"].as_str().unwrap_or_default();
        let track = message
            .rsplit("TrackId ")
            .next()
            .unwrap_or_default()
            .trim_end_matches('.');
        let (status, logged) = self
            .admin_get(&format!("/invocations?track_id={track}&binding={binding}"))
            .await;
        assert_eq!(status, reqwest::StatusCode::OK, "{logged}");
        logged[0]["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no logged error for {binding} in {answer}: {logged}"))
            .to_string()
    }

    pub fn new(url: &str, secrets: TenantSecrets) -> Tenant {
        Tenant {
            url: url.to_string(),
            secrets,
            http: client(),
            settings: Vec::new(),
        }
    }

    pub fn api_key_header(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.secrets.api_key)
    }

    /// A platform call (POST with a JSON body).
    pub async fn call(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.url))
            .header(
                "X-CloudPlatform-ApplicationId",
                &self.secrets.application_id,
            )
            .header("X-CloudPlatform-APIKey", self.api_key_header())
            .header("X-CloudPlatform-TrackId", uuid::Uuid::new_v4().to_string())
            .header("Accept", "Accept=application/json")
            .json(body);
        for (k, v) in &self.settings {
            request = request.header(format!("X-CloudPlatform-Setting-{k}"), v);
        }
        read(request.send().await.expect("platform call")).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let mut request = self
            .http
            .get(format!("{}{path}", self.url))
            .header(
                "X-CloudPlatform-ApplicationId",
                &self.secrets.application_id,
            )
            .header("X-CloudPlatform-APIKey", self.api_key_header());
        for (k, v) in &self.settings {
            request = request.header(format!("X-CloudPlatform-Setting-{k}"), v);
        }
        read(request.send().await.expect("platform call")).await
    }

    fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}/admin/v1{path}", self.url))
            .bearer_auth(&self.secrets.admin_token)
            .header("X-Tollgate-Actor", "e2e")
    }

    pub async fn admin_get(&self, path: &str) -> (StatusCode, Value) {
        read(
            self.admin(reqwest::Method::GET, path)
                .send()
                .await
                .expect("admin call"),
        )
        .await
    }

    pub async fn admin_send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> (StatusCode, Value) {
        read(
            self.admin(method, path)
                .json(body)
                .send()
                .await
                .expect("admin call"),
        )
        .await
    }

    pub async fn admin_delete(&self, path: &str) -> (StatusCode, Value) {
        read(
            self.admin(reqwest::Method::DELETE, path)
                .send()
                .await
                .expect("admin call"),
        )
        .await
    }

    pub async fn admin_put(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.admin_send(reqwest::Method::PUT, path, body).await
    }

    pub async fn admin_post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.admin_send(reqwest::Method::POST, path, body).await
    }

    pub async fn upload(&self, name: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
        read(
            self.admin(reqwest::Method::POST, &format!("/plugins?name={name}"))
                .header("Content-Type", "application/wasm")
                .body(bytes)
                .send()
                .await
                .expect("upload"),
        )
        .await
    }

    /// Upload a compiled test plugin and bind it; answers the version.
    pub async fn bind(
        &self,
        hook: &str,
        binding: &str,
        plugin_path: &str,
        config: Value,
    ) -> String {
        self.bind_with(hook, binding, plugin_path, json!({"config": config}))
            .await
    }

    /// The min/max example bound as `quantity-limits` binding `min-max` with
    /// [`MIN_MAX_CONFIG`]; answers the version.
    pub async fn bind_min_max(&self) -> String {
        self.bind(
            "quantity-limits",
            "min-max",
            test_plugins::MIN_MAX_QUANTITY,
            min_max_config(),
        )
        .await
    }

    /// Upload and bind with extra binding fields (scope, priority, on_failure).
    pub async fn bind_with(
        &self,
        hook: &str,
        binding: &str,
        plugin_path: &str,
        mut spec: Value,
    ) -> String {
        let name = binding.to_string();
        let (status, uploaded) = self.upload(&name, test_plugins::bytes(plugin_path)).await;
        assert!(status.is_success(), "upload {binding}: {status} {uploaded}");
        spec["plugin"] = json!(name);
        spec["version"] = uploaded["version"].clone();
        let (status, bound) = self
            .admin_put(&format!("/bindings/{hook}/{binding}"), &spec)
            .await;
        assert_eq!(status, StatusCode::OK, "bind {binding}: {bound}");
        uploaded["version"].as_str().expect("version").to_string()
    }

    pub async fn events(&self, after: i64) -> Vec<Value> {
        let (status, body) = self
            .admin_get(&format!("/events?after={after}&limit=1000"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["events"].as_array().expect("events").clone()
    }

    pub async fn subscription(&self, id: &str) -> Value {
        let (status, body) = self.admin_get(&format!("/subscriptions/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    pub async fn put_catalog(&self) {
        let catalog: Value =
            serde_json::from_str(include_str!("../../../examples/catalog.json")).expect("catalog");
        let (status, body) = self.admin_put("/catalog", &catalog).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

pub async fn read(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body");
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, value)
}

pub fn account(id: &str) -> Value {
    json!({ "ID": id, "ExternalID": null, "ResellerID": null, "ResellerExternalID": null, "Name": format!("Customer {id}"),
        "Code": format!("ACC-{id}"), "Phone": "+30 210 555 0142", "Fax": "", "WebSite": "", "Email": format!("it@{id}.example"), "IsTest": false,
        "Description": "", "ExtraDetails": {}, "SyncOptions": { "username": format!("it@{id}.example"), "role": "1" },
        "ContactDetails": { "ID": "5531", "FirstName": "Eleni", "LastName": "Markou", "Phone": "", "Fax": "", "Email": "eleni@example.com" },
        "Address": { "Address1": "14 Harbour Street", "Address2": "", "City": "Piraeus", "PostCode": "18531", "State": { "Code": "", "Name": "" }, "Country": { "Code": "GR", "Name": "Greece" } } })
}

pub fn storage_attributes(storage: &str) -> Value {
    json!({
        "storage_gb": { "ID": "storage_gb", "Name": "Storage per seat (GB)", "Value": storage, "Code": "", "QuantityLinked": true, "ExtraParameters": {} },
        "immutable_backup": { "ID": "immutable_backup", "Name": "Immutable backups", "Value": "0", "Code": "", "QuantityLinked": false, "ExtraParameters": {} },
        "datacenter": { "ID": "datacenter", "Name": "Data centre", "Value": "EU West (Dublin)", "Code": "eu-west", "QuantityLinked": false, "ExtraParameters": {} } })
}

pub fn vault(action: &str, quantity: i64) -> Value {
    json!({ "ID": "", "ParentID": "", "Name": "Vault Pack", "ProductID": "cb_vault_pack", "ActionType": action, "Quantity": quantity, "ExtraDetails": {},
        "AttributeList": {
            "storage_gb": { "ID": "storage_gb", "Name": "Storage per seat (GB)", "Value": "40", "Code": "", "QuantityLinked": true, "ExtraParameters": {} },
            "immutable_backup": { "ID": "immutable_backup", "Name": "Immutable backups", "Value": "1", "Code": "", "QuantityLinked": false, "ExtraParameters": {} } } })
}

/// A `ServiceDefinition` body as in spec §6.6.
pub fn service(
    id: &str,
    platform_id: &str,
    account_id: &str,
    product: &str,
    quantity: i64,
    check_only: bool,
) -> Value {
    json!({ "ID": id, "SubscriptionID": platform_id, "OriginalSubscriptionID": null,
        "Name": "Cloud Backup Basic", "ServiceType": "cloudbackup", "ProductID": product,
        "ActionType": if id.is_empty() { "Provision" } else { "None" }, "Quantity": quantity, "AllowMultipleSubscriptions": false, "IsFromOrder": true,
        "IsTrial": false, "CheckOnly": check_only, "CheckOverusage": false, "Derivative": 1,
        "BillingCycle": { "Duration": "1", "DurationType": "Months" },
        "Account": account(account_id),
        "AttributeList": storage_attributes("20"),
        "Addons": [], "CustomFieldValues": {}, "ExtraDetails": {},
        "RequestedBy": { "ID": 318, "FirstName": "Eleni", "LastName": "Markou", "DisplayName": "Eleni Markou", "Email": "eleni@example.com", "Type": "Storefront" } })
}

pub fn create(platform_id: &str, account_id: &str, quantity: i64, check_only: bool) -> Value {
    service(
        "",
        platform_id,
        account_id,
        "cb_basic",
        quantity,
        check_only,
    )
}

/// Amount of resource `id` in a plan (`[{"id", "value": {"amount": "…"}}]`).
pub fn amount(plan: &Value, id: &str) -> String {
    plan.as_array()
        .and_then(|p| p.iter().find(|r| r["id"] == id))
        .and_then(|r| r["value"]["amount"].as_str())
        .unwrap_or_else(|| panic!("no amount {id} in {plan}"))
        .to_string()
}

pub fn feature(plan: &Value, id: &str) -> bool {
    plan.as_array()
        .and_then(|p| p.iter().find(|r| r["id"] == id))
        .and_then(|r| r["value"]["feature"].as_bool())
        .unwrap_or_else(|| panic!("no feature {id} in {plan}"))
}

pub const MIN_MAX_CONFIG: &str =
    r#"{"default": {"min": 1}, "products": {"cb_basic": {"min": 3, "max": 50, "step": 1}}}"#;

pub fn min_max_config() -> Value {
    serde_json::from_str(MIN_MAX_CONFIG).expect("config")
}

/// A valid component whose one function takes cranelift many seconds to
/// compile (thousands of live locals, a long dependent chain): the upload
/// gate must refuse it at its compile deadline.
pub fn slow_to_compile_component() -> Vec<u8> {
    let (locals, ops) = (2000usize, 30000usize);
    let mut body = String::with_capacity(ops * 64);
    for i in 0..ops {
        let (a, b, c) = (i % locals, (i * 7 + 3) % locals, (i * 13 + 5) % locals);
        body.push_str(&format!(
            "local.get {} local.get {} i64.mul local.get 0 i64.add local.set {}\n",
            a + 1,
            b + 1,
            c + 1
        ));
    }
    let wat = format!(
        "(component (core module (func (export \"f\") (param i64) (result i64) (local {}) {body} local.get 1)))",
        "i64 ".repeat(locals)
    );
    wat::parse_str(&wat).expect("slow component")
}

/// `bytes` (a component) with a custom section appended, so that it is
/// exactly `total` bytes long and still valid.
pub fn padded_to(bytes: &[u8], total: usize) -> Vec<u8> {
    fn leb128(mut n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return out;
            }
            out.push(byte | 0x80);
        }
    }
    for leb_len in 1..=5 {
        // id (1) + size (leb_len) + [name length (1) + name "p" (1) + payload]
        let size = total - bytes.len() - 1 - leb_len;
        let leb = leb128(size);
        if leb.len() == leb_len {
            let mut out = bytes.to_vec();
            out.push(0);
            out.extend(leb);
            out.extend([1, b'p']);
            out.resize(total, 0);
            assert_eq!(out.len(), total);
            return out;
        }
    }
    unreachable!("no padding reaches {total} bytes")
}

/// A `tollgate` process (killed on drop) and the log lines it wrote.
pub struct Process {
    pub child: std::process::Child,
    pub url: String,
    pub logs: Arc<std::sync::Mutex<Vec<String>>>,
}

/// How long a test waits for a process to start, stop or log a line: far
/// beyond what any of them takes, so only a hang reaches it.
pub const PROCESS_WAIT: Duration = Duration::from_secs(60);

impl Process {
    /// The JSON log lines written so far.
    pub fn log_lines(&self) -> Vec<Value> {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Every stderr line written so far, as text.
    pub fn stderr(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// Wait (bounded) until a JSON log line satisfies `found`; all lines so far.
    pub async fn wait_for_log(&self, what: &str, found: impl Fn(&Value) -> bool) -> Vec<Value> {
        let started = std::time::Instant::now();
        loop {
            let lines = self.log_lines();
            if lines.iter().any(&found) {
                return lines;
            }
            assert!(
                started.elapsed() < PROCESS_WAIT,
                "no log line {what} within {PROCESS_WAIT:?}; stderr:\n{}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Send SIGTERM (what an orchestrator sends to stop a server).
    pub fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// The exit status once the process has ended, or `None` if it still
    /// runs after `wait`.
    pub async fn exited_within(&mut self, wait: Duration) -> Option<std::process::ExitStatus> {
        let started = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if started.elapsed() >= wait {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `tollgate <args> --listen 127.0.0.1:0 --log-format json` and wait
/// (bounded) for the line saying where it listens.
pub fn spawn_server(args: &[&str], envs: &[(&str, &str)]) -> Process {
    let mut all = args.to_vec();
    all.extend(["--listen", "127.0.0.1:0", "--log-format", "json"]);
    spawn_process(&all, envs)
}

/// Start `tollgate <args>` with `envs` — the listen address and JSON logs
/// come from them — and wait at most [`PROCESS_WAIT`] for the JSON line
/// saying where it listens. A process that exits or hangs first fails the
/// test with its stderr.
pub fn spawn_process(args: &[&str], envs: &[(&str, &str)]) -> Process {
    use std::io::BufRead;
    let mut command = std::process::Command::new(exe());
    command.args(args);
    for (k, v) in envs {
        command.env(k, v);
    }
    let mut child = command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting tollgate");
    let stderr = child.stderr.take().expect("stderr");
    // One thread reads stderr for the process's whole life (so the server
    // never blocks on a full pipe) and reports where it listens.
    let logs = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = logs.clone();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let listening = serde_json::from_str::<Value>(&line)
                .ok()
                .filter(|v| v["message"] == "tollgate serving")
                .and_then(|v| v["listen"].as_str().map(str::to_string));
            sink.lock().unwrap().push(line);
            if let Some(listen) = listening
                && let Some(t) = tx.take()
            {
                let _ = t.send(listen);
            }
        }
    });
    match rx.recv_timeout(PROCESS_WAIT) {
        Ok(listen) => Process {
            child,
            url: format!("http://{listen}"),
            logs,
        },
        Err(e) => {
            let _ = child.kill();
            let status = child.wait();
            panic!(
                "tollgate {args:?} did not report where it listens ({e}; {status:?}); stderr:\n{}",
                logs.lock().unwrap().join("\n")
            );
        }
    }
}

/// `tollgate tenant create --name <name> --data-dir <data_dir>`: the new
/// tenant's secrets (the command must succeed).
pub fn cli_tenant(name: &str, data_dir: &str) -> tollgate::service::TenantSecrets {
    let (code, out, err) = run_cli(&["tenant", "create", "--name", name, "--data-dir", data_dir]);
    assert_eq!(code, 0, "tenant create: {err}");
    serde_json::from_str(out.trim()).expect("tenant create prints the secrets")
}

/// Run `tollgate <args>` to completion: (exit code, stdout, stderr).
pub fn run_cli(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(exe())
        .args(args)
        .output()
        .expect("running tollgate");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Another connection holding the write lock on the decision-log tables, so
/// that decision records handed to the writer stay pending until
/// [`DecisionLock::release`]: on SQLite a `BEGIN IMMEDIATE` (reads go on,
/// writes wait), on PostgreSQL `LOCK TABLE … IN EXCLUSIVE MODE`.
pub enum DecisionLock {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl DecisionLock {
    pub async fn hold(database_url: &str) -> DecisionLock {
        use sqlx::{Connection, Executor};
        if database_url.starts_with("sqlite:") {
            let mut conn = sqlx::SqliteConnection::connect(database_url)
                .await
                .expect("a second SQLite connection");
            conn.execute("BEGIN IMMEDIATE")
                .await
                .expect("taking the SQLite write lock");
            DecisionLock::Sqlite(conn)
        } else {
            let mut conn = sqlx::PgConnection::connect(database_url)
                .await
                .expect("a second PostgreSQL connection");
            conn.execute("BEGIN").await.expect("BEGIN");
            conn.execute("LOCK TABLE calls, call_inputs, invocations IN EXCLUSIVE MODE")
                .await
                .expect("locking the decision-log tables");
            DecisionLock::Postgres(conn)
        }
    }

    pub async fn release(self) {
        use sqlx::{Connection, Executor};
        match self {
            DecisionLock::Sqlite(mut conn) => {
                conn.execute("COMMIT").await.expect("COMMIT");
                conn.close().await.expect("close");
            }
            DecisionLock::Postgres(mut conn) => {
                conn.execute("COMMIT").await.expect("COMMIT");
                conn.close().await.expect("close");
            }
        }
    }
}

/// Wait (bounded) until `ready` holds; polls every few milliseconds.
pub async fn eventually(what: &str, mut ready: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < PROCESS_WAIT,
            "{what}: not within {PROCESS_WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Run one SQL statement on the test's database, from another connection
/// (tests that must change stored data the API never changes).
pub async fn execute_sql(database_url: &str, sql: &str) -> u64 {
    use sqlx::{Connection, Executor};
    if database_url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(database_url)
            .await
            .expect("a second SQLite connection");
        let done = conn.execute(sql).await.expect(sql).rows_affected();
        conn.close().await.expect("close");
        done
    } else {
        let mut conn = sqlx::PgConnection::connect(database_url)
            .await
            .expect("a second PostgreSQL connection");
        let done = conn.execute(sql).await.expect(sql).rows_affected();
        conn.close().await.expect("close");
        done
    }
}
