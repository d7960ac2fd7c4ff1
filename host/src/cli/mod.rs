//! The command-line side of the binary.

pub mod plugin;
pub mod server;

use anyhow::{Context, Result, bail};
use std::io::{Read, Write};
use std::process::ExitCode;
use tollgate::runtime::{EngineConfig, Runtime};
use tracing_subscriber::EnvFilter;

/// Structured logs on stderr: `RUST_LOG` filters (default `default`),
/// `format` is `text` or `json`.
pub fn init_logging(format: &str, default: &str) -> Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
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
/// compile deadline.
pub fn compile_worker(engine: &str) -> Result<ExitCode> {
    let config: EngineConfig =
        serde_json::from_str(engine).context("--engine is not an engine configuration")?;
    let runtime = Runtime::new(config)?;
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .context("reading the component")?;
    match runtime.precompile(&bytes) {
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
