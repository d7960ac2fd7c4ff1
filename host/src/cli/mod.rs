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
use tracing_appender::non_blocking::{NonBlocking, WorkerGuard};
use tracing_subscriber::EnvFilter;

/// Log lines waiting for stderr, by default (`serve --log-queue-lines`). A
/// line is written by the log thread, not by the call that logs it: a slow
/// or stalled log reader (a full pipe, a stuck collector) must not stall
/// calls. Past this many waiting lines new ones are dropped and counted
/// (`tollgate_budget_refusals_total{budget="log-queue"}`); at ≈ 0.5 KB a
/// line the queue holds ≈ 8 MiB at most.
pub const LOG_QUEUE_LINES: u32 = 16_384;
/// The most `--log-queue-lines` may ask for (≈ 512 MiB of lines).
pub const MAX_LOG_QUEUE_LINES: u32 = 1 << 20;

/// Structured logs on stderr: `RUST_LOG` filters (default `default`),
/// `format` is `text` or `json`. Colours only on a terminal: a log file or
/// collector gets plain text (and a call's lines cost less to write).
/// Keep the returned guard until the process ends: dropping it writes the
/// lines still queued (lines queued when the process is killed are lost).
pub fn init_logging(format: &str, default: &str, queue_lines: u32) -> Result<WorkerGuard> {
    use std::io::IsTerminal;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let (writer, guard) = log_writer(std::io::stderr(), queue_lines as usize);
    let dropped = writer.error_counter();
    tollgate::service::metrics::watch_dropped_log_lines(move || dropped.dropped_lines() as u64);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(writer);
    match format {
        "json" => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init(),
        "text" => builder.init(),
        other => bail!("--log-format is {other:?}; expected text or json"),
    }
    Ok(guard)
}

/// Lines handed to a thread that writes them to `out` (buffered, flushed
/// whenever the queue runs empty), at most `lines` waiting; more are
/// dropped and counted by the writer's error counter.
fn log_writer<W: Write + Send + 'static>(out: W, lines: usize) -> (NonBlocking, WorkerGuard) {
    tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(lines)
        .thread_name("tollgate-log")
        .finish(std::io::BufWriter::new(out))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, mpsc};

    /// A writer that, on its first write, says so and blocks until the
    /// test lets it go; it counts the lines it is given.
    struct Gated {
        entered: Option<mpsc::Sender<()>>,
        open: Option<mpsc::Receiver<()>>,
        lines: Arc<AtomicUsize>,
    }

    impl Write for Gated {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if let (Some(entered), Some(open)) = (self.entered.take(), self.open.take()) {
                let _ = entered.send(());
                let _ = open.recv();
            }
            let n = buf.iter().filter(|b| **b == b'\n').count();
            self.lines.fetch_add(n, Ordering::SeqCst);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// With the writer stalled, logging never blocks: lines past the
    /// queue are dropped and counted, and every line is either written
    /// (once the writer moves and the guard is dropped) or counted.
    #[test]
    fn a_full_log_queue_drops_and_counts_lines_and_never_blocks() {
        let wait = std::time::Duration::from_secs(60);
        let (entered, stalled) = mpsc::channel();
        let (release, open) = mpsc::channel();
        let written = Arc::new(AtomicUsize::new(0));
        let gated = Gated {
            entered: Some(entered),
            open: Some(open),
            lines: written.clone(),
        };
        let (mut writer, guard) = log_writer(gated, 4);
        let counter = writer.error_counter();
        // The first line reaches the writer, which then stalls.
        writer.write_all(b"line 0\n").unwrap();
        stalled
            .recv_timeout(wait)
            .expect("the writer got the first line");
        let (done, logged) = mpsc::channel();
        std::thread::spawn(move || {
            for i in 1..100 {
                writer.write_all(format!("line {i}\n").as_bytes()).unwrap();
            }
            done.send(()).unwrap();
        });
        logged
            .recv_timeout(wait)
            .expect("logging blocked behind a stalled writer");
        // Four wait in the queue; the rest were dropped.
        let dropped = counter.dropped_lines();
        assert!(dropped >= 90, "only {dropped} of 99 lines dropped");
        release.send(()).unwrap();
        drop(guard);
        assert_eq!(
            written.load(Ordering::SeqCst) + counter.dropped_lines(),
            100
        );
    }
}
