//! The command-line side of the binary.

pub mod deploy;
pub mod plugin;
pub mod project;
pub mod scaffold;
pub mod server;
pub mod watch;

use anyhow::{Context, Result, bail};
use std::io::{Read, Write};
use std::process::ExitCode;
use tollgate::runtime::{EngineConfig, compile_only};
use tollgate::service::WorkerLimits;
use tracing_subscriber::EnvFilter;

/// Structured logs on stderr: `RUST_LOG` filters (default `default`),
/// `format` is `text` or `json`. Colours only on a terminal: a log file or
/// collector gets plain text (and a call's lines cost less to write).
pub fn init_logging(format: &str, default: &str) -> Result<()> {
    use std::io::IsTerminal;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        "json" => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init(),
        "text" => builder.init(),
        other => bail!("--log-format is {other:?}; expected text or json"),
    }
    Ok(())
}

/// The compile worker: component bytes on stdin, native code on stdout, a
/// JSON error on stderr. Run as a child so the server can kill it at the
/// compile deadline; before it reads the untrusted bytes it limits its own
/// address space, CPU time and compiler threads.
pub fn compile_worker(engine: &str, limits: Option<&str>) -> Result<ExitCode> {
    let config: EngineConfig =
        serde_json::from_str(engine).context("--engine is not an engine configuration")?;
    if let Some(limits) = limits {
        let limits: WorkerLimits =
            serde_json::from_str(limits).context("--limits is not a worker limits object")?;
        rlimit::setrlimit(
            rlimit::Resource::AS,
            limits.address_space,
            limits.address_space,
        )
        .context("limiting the address space")?;
        rlimit::setrlimit(
            rlimit::Resource::CPU,
            limits.cpu_seconds,
            limits.cpu_seconds,
        )
        .context("limiting the CPU time")?;
        // SAFETY: no other thread runs yet; the compiler's thread pool
        // starts later and reads this variable.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", limits.threads.to_string()) };
    }
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .context("reading the component")?;
    match compile_only(&config, &bytes) {
        Ok(native) => {
            std::io::stdout().write_all(&native)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let error = tollgate::service::CompileWorkerError::from_load_error(&e);
            eprintln!("{}", serde_json::to_string(&error)?);
            Ok(ExitCode::from(2))
        }
    }
}
