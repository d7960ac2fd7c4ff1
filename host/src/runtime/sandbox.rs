//! The per-call sandbox state and the imports a plugin can reach: WASI with
//! no files, environment or sockets, frozen clocks, seeded random, stdout
//! and stderr captured into the bounded plugin log, and the Tollgate host
//! interface of every contract version.

use super::bindings::{v1, v2};
use crate::domain::hook::SubscriptionInfo;
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use wasmtime::component::{HasData, HasSelf, Linker, Resource, ResourceTable};
use wasmtime::{ResourceLimiter, Result};
use wasmtime_wasi::p2::bindings::{cli, clocks, filesystem, random, sockets};
use wasmtime_wasi::p2::{DynPollable, OutputStream, Pollable, StreamResult};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// Everything one call's `Store` holds. Dropped with the store: no state
/// survives a call.
pub struct PluginState {
    /// Built on the guest's first WASI call: most decisions make none, and
    /// building one (its clocks, streams and three random generators) is a
    /// tenth of a short call.
    wasi: Option<WasiCtx>,
    table: ResourceTable,
    pub(super) memory: MemoryLimiter,
    pub(super) log: LogSink,
    now_nanos: u64,
    seed: u64,
    subscriptions: Vec<SubscriptionInfo>,
    pub(super) subscriptions_read: bool,
}

impl PluginState {
    pub fn new(
        now_ms: i64,
        seed: u64,
        memory_limit: usize,
        log_limit: usize,
        subscriptions: Vec<SubscriptionInfo>,
    ) -> Self {
        let now = Duration::from_millis(u64::try_from(now_ms).unwrap_or(0));
        PluginState {
            wasi: None,
            table: ResourceTable::new(),
            memory: MemoryLimiter::new(memory_limit),
            log: LogSink::new(log_limit),
            now_nanos: u64::try_from(now.as_nanos()).unwrap_or(u64::MAX),
            seed,
            subscriptions,
            subscriptions_read: false,
        }
    }

    /// The call's WASI context, built on first use.
    fn wasi(&mut self) -> &mut WasiCtx {
        self.ctx().ctx
    }
}

/// WASI with no files, environment or sockets, clocks frozen at the
/// decision's time, random seeded from the call, stdout and stderr into
/// the plugin log.
fn wasi_ctx(now_nanos: u64, seed: u64, log: &LogSink) -> WasiCtx {
    let mut builder = WasiCtxBuilder::new();
    builder
        .stdout(log.clone())
        .stderr(log.clone())
        .wall_clock(FrozenWallClock(Duration::from_nanos(now_nanos)))
        .monotonic_clock(FrozenMonotonicClock(now_nanos))
        .secure_random(StdRng::seed_from_u64(seed))
        .insecure_random(StdRng::seed_from_u64(
            seed.rotate_left(32) ^ 0x9e37_79b9_7f4a_7c15,
        ))
        .insecure_random_seed(u128::from(seed) << 64 | u128::from(!seed))
        .max_random_size(64 * 1024)
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false);
    builder.build()
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        let (now_nanos, seed, log) = (self.now_nanos, self.seed, &self.log);
        let ctx = self
            .wasi
            .get_or_insert_with(|| wasi_ctx(now_nanos, seed, log));
        WasiCtxView {
            ctx,
            table: &mut self.table,
        }
    }
}

impl v1::wit::Host for PluginState {}

impl v1::wit_host::Host for PluginState {
    fn log(&mut self, level: v1::wit::LogLevel, message: String) {
        self.log.line(v1::log_level(level), &message);
    }

    fn customer_subscriptions(&mut self) -> Vec<v1::wit::SubscriptionInfo> {
        self.subscriptions_read = true;
        self.subscriptions.iter().map(v1::subscription).collect()
    }
}

impl v2::wit::Host for PluginState {}

impl v2::wit_host::Host for PluginState {
    fn log(&mut self, level: v2::wit::LogLevel, message: String) {
        self.log.line(v2::log_level(level), &message);
    }

    fn customer_subscriptions(&mut self) -> Vec<v2::wit::SubscriptionInfo> {
        self.subscriptions_read = true;
        self.subscriptions.iter().map(v2::subscription).collect()
    }
}

/// Link everything a plugin may import. Mirrors
/// `wasmtime_wasi::p2::add_to_linker_async` except the monotonic clock, whose
/// timers would really sleep: here time is frozen and every timer is ready
/// at once, so no plugin can block a thread.
pub fn link(linker: &mut Linker<PluginState>) -> Result<()> {
    type S = PluginState;
    use wasmtime_wasi::cli::{WasiCli, WasiCliView};
    use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
    use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView};
    use wasmtime_wasi::random::WasiRandom;
    use wasmtime_wasi::sockets::{WasiSockets, WasiSocketsView};

    // Both contract versions: a component imports the one it was built for.
    v1::wit::add_to_linker::<S, HasSelf<S>>(linker, |s| s)?;
    v1::wit_host::add_to_linker::<S, HasSelf<S>>(linker, |s| s)?;
    v2::wit::add_to_linker::<S, HasSelf<S>>(linker, |s| s)?;
    v2::wit_host::add_to_linker::<S, HasSelf<S>>(linker, |s| s)?;

    let l = linker;
    clocks::wall_clock::add_to_linker::<S, WasiClocks>(l, S::clocks)?;
    clocks::monotonic_clock::add_to_linker::<S, FrozenClock>(l, |s| FrozenClockView {
        now_nanos: s.now_nanos,
        table: &mut s.table,
    })?;
    filesystem::preopens::add_to_linker::<S, WasiFilesystem>(l, S::filesystem)?;
    random::random::add_to_linker::<S, WasiRandom>(l, |s| s.wasi().random())?;
    random::insecure::add_to_linker::<S, WasiRandom>(l, |s| s.wasi().random())?;
    random::insecure_seed::add_to_linker::<S, WasiRandom>(l, |s| s.wasi().random())?;
    cli::exit::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::environment::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::stdin::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::stdout::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::stderr::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::terminal_input::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::terminal_output::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::terminal_stdin::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::terminal_stdout::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::terminal_stderr::add_to_linker::<S, WasiCli>(l, S::cli)?;
    sockets::tcp_create_socket::add_to_linker::<S, WasiSockets>(l, S::sockets)?;
    sockets::instance_network::add_to_linker::<S, WasiSockets>(l, S::sockets)?;
    sockets::network::add_to_linker::<S, WasiSockets>(l, &Default::default(), S::sockets)?;
    sockets::ip_name_lookup::add_to_linker::<S, WasiSockets>(l, S::sockets)?;
    // The asynchronous variants (calls run as futures on the server's
    // threads): none of them ever waits here, every stream and pollable
    // of the sandbox is ready at once.
    use wasmtime_wasi::p2::bindings::io;
    io::error::add_to_linker::<S, HasTable>(l, |s| &mut s.table)?;
    io::poll::add_to_linker::<S, HasTable>(l, |s| &mut s.table)?;
    io::streams::add_to_linker::<S, HasTable>(l, |s| &mut s.table)?;
    filesystem::types::add_to_linker::<S, WasiFilesystem>(l, S::filesystem)?;
    sockets::tcp::add_to_linker::<S, WasiSockets>(l, S::sockets)?;
    sockets::udp::add_to_linker::<S, WasiSockets>(l, S::sockets)?;
    sockets::udp_create_socket::add_to_linker::<S, WasiSockets>(l, S::sockets)?;
    Ok(())
}

struct HasTable;
impl HasData for HasTable {
    type Data<'a> = &'a mut ResourceTable;
}

struct FrozenClock;
impl HasData for FrozenClock {
    type Data<'a> = FrozenClockView<'a>;
}

struct FrozenClockView<'a> {
    now_nanos: u64,
    table: &'a mut ResourceTable,
}

/// A timer that is always due: time does not pass inside a plugin call.
struct Due;

#[wasmtime_wasi::async_trait]
impl Pollable for Due {
    async fn ready(&mut self) {}
}

impl FrozenClockView<'_> {
    fn due(&mut self) -> Result<Resource<DynPollable>> {
        let due = self.table.push(Due)?;
        wasmtime_wasi::p2::subscribe(self.table, due)
    }
}

impl clocks::monotonic_clock::Host for FrozenClockView<'_> {
    fn now(&mut self) -> Result<u64> {
        Ok(self.now_nanos)
    }
    fn resolution(&mut self) -> Result<u64> {
        Ok(1_000_000)
    }
    fn subscribe_instant(&mut self, _when: u64) -> Result<Resource<DynPollable>> {
        self.due()
    }
    fn subscribe_duration(&mut self, _duration: u64) -> Result<Resource<DynPollable>> {
        self.due()
    }
}

struct FrozenWallClock(Duration);

impl wasmtime_wasi::HostWallClock for FrozenWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_millis(1)
    }
    fn now(&self) -> Duration {
        self.0
    }
}

struct FrozenMonotonicClock(u64);

impl wasmtime_wasi::HostMonotonicClock for FrozenMonotonicClock {
    fn resolution(&self) -> u64 {
        1_000_000
    }
    fn now(&self) -> u64 {
        self.0
    }
}

/// Tracks guest memory growth against the call's limit.
pub struct MemoryLimiter {
    limit: usize,
    pub(super) total: usize,
    pub(super) peak: usize,
    pub(super) denied: bool,
}

impl MemoryLimiter {
    fn new(limit: usize) -> Self {
        MemoryLimiter {
            limit,
            total: 0,
            peak: 0,
            denied: false,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> Result<bool> {
        let total = self.total.saturating_sub(current).saturating_add(desired);
        if total > self.limit {
            self.denied = true;
            return Ok(false);
        }
        self.total = total;
        self.peak = self.peak.max(total);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// The call's plugin log: `log` lines and anything written to stdout or
/// stderr, bounded, with a marker where it was cut.
#[derive(Clone)]
pub struct LogSink(Arc<Mutex<LogBuffer>>);

pub struct LogBuffer {
    text: String,
    limit: usize,
    truncated: bool,
    /// The tail of stderr, where a panicking Rust guest writes its message.
    stderr_tail: String,
}

/// Appended once when the log is cut.
pub const TRUNCATED_MARKER: &str = "\n[log truncated]\n";

impl LogSink {
    fn new(limit: usize) -> Self {
        LogSink(Arc::new(Mutex::new(LogBuffer {
            text: String::new(),
            limit,
            truncated: false,
            stderr_tail: String::new(),
        })))
    }

    fn lock(&self) -> MutexGuard<'_, LogBuffer> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn line(&self, level: &str, message: &str) {
        let mut buf = self.lock();
        buf.push(&format!("[{level}] {message}\n"));
    }

    fn write(&self, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        let mut buf = self.lock();
        buf.push(&text);
        // Keep the last 2 KiB of raw output for trap messages.
        buf.stderr_tail.push_str(&text);
        if buf.stderr_tail.len() > 2048 {
            let cut = buf.stderr_tail.len() - 2048;
            let cut = (cut..buf.stderr_tail.len())
                .find(|i| buf.stderr_tail.is_char_boundary(*i))
                .unwrap_or(0);
            buf.stderr_tail.drain(..cut);
        }
    }

    /// The log text and the raw output tail, taken out of the sink.
    pub fn take(&self) -> (String, String) {
        let mut buf = self.lock();
        (
            std::mem::take(&mut buf.text),
            std::mem::take(&mut buf.stderr_tail),
        )
    }
}

impl LogBuffer {
    fn push(&mut self, text: &str) {
        if self.truncated {
            return;
        }
        let room = self.limit.saturating_sub(self.text.len());
        if text.len() <= room {
            self.text.push_str(text);
            return;
        }
        let mut cut = room;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        self.text.push_str(&text[..cut]);
        self.text.push_str(TRUNCATED_MARKER);
        self.truncated = true;
    }
}

impl wasmtime_wasi::cli::IsTerminal for LogSink {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl wasmtime_wasi::cli::StdoutStream for LogSink {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for LogSink {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        LogSink::write(self, &bytes);
        Ok(())
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LogSink {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for LogSink {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        LogSink::write(&self, buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}
