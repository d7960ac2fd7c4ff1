//! Getting from plugin bytes to a ready `CompiledPlugin`: compile with a
//! time bound and a concurrency bound (uploads are untrusted), cache
//! compiled code in memory (bounded by bytes) and on disk (bounded by
//! bytes, each artifact's SHA-256 recorded in the database and checked
//! before it is loaded), and only ever load code this host compiled.

use super::budgets::Budget;
use super::{App, Result, ServiceError};
use crate::runtime::{CompiledPlugin, EngineConfig, LoadError};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;

/// Where uploads are compiled.
#[derive(Debug, Clone)]
pub enum Compiler {
    /// In a child process (`EXE internal-compile`), killed at the deadline:
    /// a module crafted to be slow to compile cannot hold a core hostage.
    /// The child gets an empty environment and limits on its address space
    /// and CPU time.
    Subprocess(PathBuf),
    /// On a thread of this process; past the deadline the upload is refused
    /// but the compilation runs to its end. For tools and tests.
    InProcess,
}

/// Limits the compile worker sets on itself before reading the component.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct WorkerLimits {
    /// Address space, bytes.
    pub address_space: u64,
    /// CPU time, seconds.
    pub cpu_seconds: u64,
    /// Compiler threads.
    pub threads: usize,
}

impl WorkerLimits {
    /// Limits for a compile that may take `deadline`.
    pub fn for_deadline(deadline: Duration) -> Self {
        let threads = 2;
        WorkerLimits {
            address_space: 4 * 1024 * 1024 * 1024,
            // Enough CPU for every thread for the whole deadline, no more.
            cpu_seconds: deadline.as_secs().max(1) * threads as u64 + 1,
            threads,
        }
    }
}

/// Compiled plugins in memory by content hash, bounded by the bytes they
/// hold (native code and memory images); the least recently used go first.
/// Calls running a plugin hold their own reference, so eviction never
/// disturbs them.
pub(crate) struct CompiledCache {
    inner: quick_cache::sync::Cache<String, Cached, ByBytes>,
}

#[derive(Clone)]
struct Cached {
    plugin: Arc<CompiledPlugin>,
    bytes: u64,
}

#[derive(Clone)]
struct ByBytes;

impl quick_cache::Weighter<String, Cached> for ByBytes {
    fn weight(&self, _key: &String, value: &Cached) -> u64 {
        value.bytes.max(1)
    }
}

impl CompiledCache {
    pub(crate) fn new(capacity_bytes: u64) -> Self {
        // A plugin's native code is ~0.1–40 MB; the item estimate only
        // sizes the table.
        CompiledCache {
            inner: quick_cache::sync::Cache::with_weighter(1024, capacity_bytes.max(1), ByBytes),
        }
    }

    fn get(&self, version: &str) -> Option<Arc<CompiledPlugin>> {
        self.inner.get(version).map(|c| c.plugin)
    }

    /// `native` is the size of the plugin's native code; its memory images
    /// are counted on top.
    fn insert(&self, version: &str, plugin: Arc<CompiledPlugin>, native: usize) {
        let bytes = u64::try_from(native)
            .unwrap_or(u64::MAX)
            .saturating_add(plugin.memory_image_bytes());
        self.inner
            .insert(version.to_string(), Cached { plugin, bytes });
    }

    fn remove(&self, version: &str) {
        self.inner.remove(version);
    }

    /// Bytes of native code and memory images held now.
    pub(crate) fn weight(&self) -> u64 {
        self.inner.weight()
    }
}

impl App {
    fn cache_dir(&self) -> Option<PathBuf> {
        let dir = self.config.cache_dir.as_ref()?;
        Some(dir.join(self.runtime.compatibility_key()))
    }

    fn cache_path(&self, version: &str) -> Option<PathBuf> {
        Some(self.cache_dir()?.join(format!("{version}.cwasm")))
    }

    fn compile_gate(&self, tenant_id: &str) -> Arc<Semaphore> {
        let mut gates = self
            .compile_gates
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        gates
            .entry(tenant_id.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(1)))
            .clone()
    }

    /// Compile untrusted bytes under the compile deadline, one upload per
    /// tenant at a time and at most `compile_concurrency` in all (both
    /// queues are first come, first served, so a tenant uploading many big
    /// components waits behind itself, not others); answers native code
    /// for this engine.
    pub(crate) async fn compile_untrusted(
        &self,
        tenant_id: &str,
        bytes: Vec<u8>,
    ) -> Result<Vec<u8>, CompileError> {
        // Reading the producers sections walks the whole component: not on
        // an async worker.
        let (language, bytes) = {
            let runtime = self.runtime.clone();
            tokio::task::spawn_blocking(move || runtime.check_header(&bytes).map(|l| (l, bytes)))
                .await
                .map_err(|e| LoadError::Compile(format!("checking the component failed: {e}")))??
        };
        let queued = |_| {
            self.metrics.budget_refused(Budget::CompileQueue);
            CompileError::Busy
        };
        let wait = self.config.compile_queue_wait;
        let _mine = tokio::time::timeout(wait, self.compile_gate(tenant_id).acquire_owned())
            .await
            .map_err(queued)?
            .map_err(|_| CompileError::Busy)?;
        let _slot = tokio::time::timeout(wait, self.compiling.clone().acquire_owned())
            .await
            .map_err(queued)?
            .map_err(|_| CompileError::Busy)?;
        let _running = self.metrics.compile_started();
        let limit_ms = self.config.engine.tier(language).compile_timeout_ms;
        let deadline = Duration::from_millis(limit_ms);
        Ok(match &self.config.compiler {
            Compiler::Subprocess(exe) => {
                compile_in_child(exe, &self.config.engine, bytes, deadline).await?
            }
            Compiler::InProcess => {
                let engine = self.config.engine.clone();
                let job = tokio::task::spawn_blocking(move || {
                    crate::runtime::compile_only(&engine, &bytes)
                });
                match tokio::time::timeout(deadline, job).await {
                    Ok(Ok(result)) => result?,
                    Ok(Err(e)) => {
                        return Err(LoadError::Compile(format!("the compiler failed: {e}")).into());
                    }
                    Err(_) => return Err(LoadError::CompileTimeout { limit_ms }.into()),
                }
            }
        })
    }

    /// Load native code compiled by this host (not yet cached).
    pub(crate) async fn load_native(&self, native: Vec<u8>) -> Result<CompiledPlugin, LoadError> {
        let runtime = self.runtime.clone();
        tokio::task::spawn_blocking(move || runtime.load_precompiled(&native))
            .await
            .map_err(|e| LoadError::Compile(format!("loading failed: {e}")))?
    }

    /// Remember a loaded plugin: in memory, and on disk with its digest
    /// recorded first (a failure to cache on disk only costs a recompile).
    pub(crate) async fn cache_compiled(
        &self,
        version: &str,
        plugin: Arc<CompiledPlugin>,
        native: Vec<u8>,
    ) {
        self.compiled.insert(version, plugin, native.len());
        self.metrics.compiled_cache_bytes(self.compiled.weight());
        let (Some(dir), Some(path)) = (self.cache_dir(), self.cache_path(version)) else {
            return;
        };
        let digest = hex::encode(Sha256::digest(&native));
        let size = i64::try_from(native.len()).unwrap_or(i64::MAX);
        if let Err(e) = self
            .store
            .record_artifact_digest(
                &self.runtime.compatibility_key(),
                version,
                &digest,
                size,
                self.now(),
            )
            .await
        {
            tracing::warn!(error = %e, "could not record a compiled plugin's digest; not caching it on disk");
            return;
        }
        let cap = self.config.disk_cache_bytes;
        let written = tokio::task::spawn_blocking(move || {
            write_artifact(&dir, &path, &native)?;
            trim_disk_cache(&dir, cap)
        })
        .await;
        if !matches!(written, Ok(Ok(()))) {
            tracing::warn!(
                version,
                "could not write a compiled plugin to the disk cache"
            );
        }
    }

    /// Forget a version's compiled code (memory, disk, digest).
    pub(crate) async fn evict_compiled(&self, version: &str) {
        self.compiled.remove(version);
        self.metrics.compiled_cache_bytes(self.compiled.weight());
        if let Some(path) = self.cache_path(version) {
            let _ = tokio::fs::remove_file(&path).await;
        }
        if let Err(e) = self.store.forget_artifact(version).await {
            tracing::warn!(error = %e, version, "could not forget a compiled plugin's digest");
        }
    }

    /// The compiled plugin for a stored version: memory cache, then this
    /// host's disk cache (only if its digest matches the recorded one),
    /// then compile the bytes from the database.
    pub(crate) async fn compiled(
        &self,
        tenant_id: &str,
        version: &str,
    ) -> Result<Arc<CompiledPlugin>> {
        if let Some(plugin) = self.compiled.get(version) {
            return Ok(plugin);
        }
        if let Some(plugin) = self.load_from_disk(version).await {
            return Ok(plugin);
        }
        let bytes = self
            .store
            .plugin_bytes(tenant_id, version)
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound(format!("plugin version {version} is not stored"))
            })?;
        let native = self
            .compile_untrusted(tenant_id, bytes)
            .await
            .map_err(|e| match e {
                CompileError::Busy => ServiceError::Unavailable(e.to_string()),
                CompileError::Load(e) => ServiceError::Internal(format!(
                    "stored plugin {version} no longer compiles: {e}"
                )),
            })?;
        let plugin = Arc::new(self.load_native(native.clone()).await.map_err(|e| {
            ServiceError::Internal(format!("stored plugin {version} no longer loads: {e}"))
        })?);
        self.cache_compiled(version, plugin.clone(), native).await;
        Ok(plugin)
    }

    /// A compiled plugin from the disk cache, if its bytes hash to the
    /// digest recorded when this host wrote it; anything else is removed.
    async fn load_from_disk(&self, version: &str) -> Option<Arc<CompiledPlugin>> {
        let path = self.cache_path(version)?;
        let native = tokio::fs::read(&path).await.ok()?;
        let recorded = self
            .store
            .artifact_digest(&self.runtime.compatibility_key(), version)
            .await
            .ok()
            .flatten();
        let actual = hex::encode(Sha256::digest(&native));
        if recorded.as_deref() != Some(actual.as_str()) {
            tracing::warn!(path = %path.display(), "a compiled-plugin cache file does not match its recorded digest; removing it and compiling again");
            let _ = tokio::fs::remove_file(&path).await;
            return None;
        }
        let size = native.len();
        match self.load_native(native).await {
            Ok(plugin) => {
                let plugin = Arc::new(plugin);
                self.compiled.insert(version, plugin.clone(), size);
                self.metrics.compiled_cache_bytes(self.compiled.weight());
                touch(&path);
                Some(plugin)
            }
            Err(_) => {
                tracing::warn!(path = %path.display(), "discarding an unloadable compiled-plugin cache file");
                let _ = tokio::fs::remove_file(&path).await;
                None
            }
        }
    }
}

/// Why compiling an upload did not produce code.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CompileError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("too many uploads are compiling; please retry shortly")]
    Busy,
}

/// Write an artifact durably: a private directory, a temporary file
/// synced to disk, renamed into place, the directory synced. A crash never
/// leaves a half-written artifact under the final name.
fn write_artifact(dir: &Path, path: &Path, native: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    for d in [Some(dir), dir.parent()].into_iter().flatten() {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700))?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(native)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Keep the disk cache under `cap` bytes: the least recently used
/// artifacts (by modification time, refreshed on load) go first.
fn trim_disk_cache(dir: &Path, cap: u64) -> std::io::Result<()> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        if meta.is_file() {
            files.push((
                meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                meta.len(),
                entry.path(),
            ));
        }
    }
    let mut total: u64 = files.iter().map(|(_, len, _)| len).sum();
    files.sort();
    for (_, len, path) in files {
        if total <= cap {
            break;
        }
        std::fs::remove_file(&path)?;
        total = total.saturating_sub(len);
    }
    Ok(())
}

fn touch(path: &Path) {
    if let Ok(file) = std::fs::OpenOptions::new().write(true).open(path) {
        let _ = file.set_modified(SystemTime::now());
    }
}

/// Compile `bytes` in a worker process (`EXE internal-compile`), killed
/// at `deadline` (the child is killed when its future is dropped).
async fn compile_in_child(
    exe: &Path,
    engine: &EngineConfig,
    bytes: Vec<u8>,
    deadline: Duration,
) -> Result<Vec<u8>, LoadError> {
    let limit_ms = deadline.as_millis() as u64;
    let child = spawn_worker(exe, engine, deadline)?;
    match tokio::time::timeout(deadline, exchange(child, &bytes)).await {
        Err(_) => Err(LoadError::CompileTimeout { limit_ms }),
        Ok(Err(e)) => Err(e),
        Ok(Ok(out)) => match out.status {
            Ok(status) if status.success() => Ok(out.native),
            status => Err(worker_failure(status, &out.message)),
        },
    }
}

fn spawn_worker(
    exe: &Path,
    engine: &EngineConfig,
    deadline: Duration,
) -> Result<tokio::process::Child, LoadError> {
    let engine_json =
        serde_json::to_string(engine).map_err(|e| LoadError::Compile(e.to_string()))?;
    let limits_json = serde_json::to_string(&WorkerLimits::for_deadline(deadline))
        .map_err(|e| LoadError::Compile(e.to_string()))?;
    tokio::process::Command::new(exe)
        .arg("internal-compile")
        .arg("--engine")
        .arg(engine_json)
        .arg("--limits")
        .arg(limits_json)
        // Nothing of the server's environment (operator token, database
        // URL) reaches the process that handles untrusted bytes.
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            LoadError::Compile(format!(
                "cannot start the compile worker {}: {e}",
                exe.display()
            ))
        })
}

/// What the compile worker answered: its exit, stdout (the native code)
/// and stderr (a [`WorkerError`] on refusal).
struct WorkerOutput {
    status: std::io::Result<std::process::ExitStatus>,
    native: Vec<u8>,
    message: Vec<u8>,
}

/// Feed the worker the bytes while reading both of its outputs (a worker
/// blocked on a full pipe must not deadlock us), then wait for its exit.
async fn exchange(
    mut child: tokio::process::Child,
    bytes: &[u8],
) -> Result<WorkerOutput, LoadError> {
    let missing = |pipe: &str| LoadError::Compile(format!("no {pipe} for the compile worker"));
    let mut stdin = child.stdin.take().ok_or_else(|| missing("stdin"))?;
    let mut stdout = child.stdout.take().ok_or_else(|| missing("stdout"))?;
    let mut stderr = child.stderr.take().ok_or_else(|| missing("stderr"))?;
    let feed = async {
        let result = stdin.write_all(bytes).await;
        drop(stdin);
        result
    };
    let mut native = Vec::new();
    let mut message = Vec::new();
    let _ = tokio::join!(
        feed,
        stdout.read_to_end(&mut native),
        stderr.read_to_end(&mut message)
    );
    let status = child.wait().await;
    Ok(WorkerOutput {
        status,
        native,
        message,
    })
}

/// The load error for a worker that did not succeed: the one it printed,
/// or, when it printed none (a signal: its CPU or memory limit), a message
/// that says so.
fn worker_failure(status: std::io::Result<std::process::ExitStatus>, message: &[u8]) -> LoadError {
    let text = String::from_utf8_lossy(message).trim().to_string();
    if let Ok(printed) = serde_json::from_str::<WorkerError>(&text) {
        return printed.into_load_error();
    }
    let why = match status {
        Ok(s) if !s.success() && text.is_empty() => {
            format!(
                "the compile worker stopped ({s}): the component needs more memory or CPU than an upload may use"
            )
        }
        _ if text.is_empty() => "the compile worker failed".into(),
        _ => text.chars().take(1024).collect(),
    };
    LoadError::Compile(why)
}

/// What the compile worker prints on stderr when it refuses the bytes.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct WorkerError {
    pub kind: String,
    pub message: String,
}

impl WorkerError {
    pub fn from_load_error(e: &LoadError) -> Self {
        WorkerError {
            kind: e.kind().to_string(),
            message: e.to_string(),
        }
    }

    fn into_load_error(self) -> LoadError {
        match self.kind.as_str() {
            "invalid" => LoadError::Invalid(self.message),
            "not-wasm" => LoadError::NotWasm,
            "core-module" => LoadError::CoreModule,
            _ => LoadError::Compile(self.message),
        }
    }
}
