//! Getting from plugin bytes to a ready `CompiledPlugin`: compile with a
//! time bound (uploads are untrusted), cache compiled code in memory and on
//! disk (keyed by content hash and engine compatibility), and only ever
//! deserialize code this host compiled itself.

use super::{App, Result, ServiceError};
use crate::runtime::{CompiledPlugin, LoadError};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Where uploads are compiled.
#[derive(Debug, Clone)]
pub enum Compiler {
    /// In a child process (`EXE internal-compile`), killed at the deadline:
    /// a module crafted to be slow to compile cannot hold a core hostage.
    Subprocess(PathBuf),
    /// On a thread of this process; past the deadline the upload is refused
    /// but the compilation runs to its end. For tools and tests.
    InProcess,
}

impl App {
    fn cache_path(&self, version: &str) -> Option<PathBuf> {
        let dir = self.config.cache_dir.as_ref()?;
        Some(
            dir.join(self.runtime.compatibility_key())
                .join(format!("{version}.cwasm")),
        )
    }

    /// Compile untrusted bytes under the compile deadline; answers native
    /// code for this engine.
    pub(crate) async fn compile_untrusted(&self, bytes: Vec<u8>) -> Result<Vec<u8>, LoadError> {
        self.runtime.precheck_bytes(&bytes)?;
        let limit_ms = self.config.engine.compile_timeout_ms;
        let deadline = Duration::from_millis(limit_ms);
        match &self.config.compiler {
            Compiler::Subprocess(exe) => {
                compile_in_child(exe, &self.config.engine, bytes, deadline).await
            }
            Compiler::InProcess => {
                let runtime = self.runtime.clone();
                let job = tokio::task::spawn_blocking(move || runtime.precompile(&bytes));
                match tokio::time::timeout(deadline, job).await {
                    Ok(Ok(result)) => result,
                    Ok(Err(e)) => Err(LoadError::Compile(format!("the compiler failed: {e}"))),
                    Err(_) => Err(LoadError::CompileTimeout { limit_ms }),
                }
            }
        }
    }

    /// Load native code compiled by this host and remember it.
    pub(crate) async fn install_compiled(
        &self,
        version: &str,
        native: Vec<u8>,
    ) -> Result<Arc<CompiledPlugin>, LoadError> {
        let runtime = self.runtime.clone();
        let native_for_load = native.clone();
        let plugin =
            tokio::task::spawn_blocking(move || runtime.load_precompiled(&native_for_load))
                .await
                .map_err(|e| LoadError::Compile(format!("loading failed: {e}")))??;
        let plugin = Arc::new(plugin);
        if let Some(path) = self.cache_path(version) {
            write_cache(&path, &native);
        }
        self.compiled
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(version.to_string(), plugin.clone());
        Ok(plugin)
    }

    /// The compiled plugin for a stored version: memory cache, then this
    /// host's disk cache, then compile the bytes from the database.
    pub(crate) async fn compiled(
        &self,
        tenant_id: &str,
        version: &str,
    ) -> Result<Arc<CompiledPlugin>> {
        if let Some(plugin) = self
            .compiled
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(version)
        {
            return Ok(plugin.clone());
        }
        if let Some(path) = self.cache_path(version)
            && let Ok(native) = tokio::fs::read(&path).await
        {
            let runtime = self.runtime.clone();
            let loaded =
                tokio::task::spawn_blocking(move || runtime.load_precompiled(&native)).await;
            match loaded {
                Ok(Ok(plugin)) => {
                    let plugin = Arc::new(plugin);
                    self.compiled
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(version.to_string(), plugin.clone());
                    return Ok(plugin);
                }
                _ => {
                    tracing::warn!(path = %path.display(), "discarding an unloadable compiled-plugin cache file");
                    let _ = tokio::fs::remove_file(&path).await;
                }
            }
        }
        let bytes = self
            .store
            .plugin_bytes(tenant_id, version)
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound(format!("plugin version {version} is not stored"))
            })?;
        let native = self.compile_untrusted(bytes).await.map_err(|e| {
            ServiceError::Internal(format!("stored plugin {version} no longer compiles: {e}"))
        })?;
        self.install_compiled(version, native).await.map_err(|e| {
            ServiceError::Internal(format!("stored plugin {version} no longer loads: {e}"))
        })
    }
}

fn write_cache(path: &Path, native: &[u8]) {
    let Some(dir) = path.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    // Write then rename: a crash never leaves a half-written artifact.
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    if std::fs::write(&tmp, native).is_ok() && std::fs::rename(&tmp, path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

async fn compile_in_child(
    exe: &Path,
    engine: &crate::runtime::EngineConfig,
    bytes: Vec<u8>,
    deadline: Duration,
) -> Result<Vec<u8>, LoadError> {
    let limit_ms = deadline.as_millis() as u64;
    let engine_json =
        serde_json::to_string(engine).map_err(|e| LoadError::Compile(e.to_string()))?;
    let mut child = tokio::process::Command::new(exe)
        .arg("internal-compile")
        .arg("--engine")
        .arg(engine_json)
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
        })?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| LoadError::Compile("no stdin for the compile worker".into()))?;
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| LoadError::Compile("no stdout for the compile worker".into()))?;
    let mut stderr = child
        .stderr
        .take()
        .ok_or_else(|| LoadError::Compile("no stderr for the compile worker".into()))?;
    let work = async {
        let feed = async {
            let result = stdin.write_all(&bytes).await;
            drop(stdin);
            result
        };
        let mut native = Vec::new();
        let mut message = Vec::new();
        let (fed, read, read_err) = tokio::join!(
            feed,
            stdout.read_to_end(&mut native),
            stderr.read_to_end(&mut message)
        );
        let status = child.wait().await;
        (fed, read, read_err, status, native, message)
    };
    match tokio::time::timeout(deadline, work).await {
        Err(_) => Err(LoadError::CompileTimeout { limit_ms }),
        Ok((_, _, _, Ok(status), native, _)) if status.success() => Ok(native),
        Ok((_, _, _, _, _, message)) => {
            let text = String::from_utf8_lossy(&message).trim().to_string();
            // The worker prints the load error's JSON on failure.
            Err(serde_json::from_str::<WorkerError>(&text)
                .map(WorkerError::into_load_error)
                .unwrap_or_else(|_| {
                    LoadError::Compile(if text.is_empty() {
                        "the compile worker failed".into()
                    } else {
                        text
                    })
                }))
        }
    }
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
            _ => LoadError::Compile(self.message),
        }
    }
}
