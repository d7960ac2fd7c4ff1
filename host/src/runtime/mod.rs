//! The sandbox: the one module that knows wasmtime.
//!
//! One [`Runtime`] per process owns the `Engine` (component model, pooling
//! allocator, fuel, epoch interruption) and the `Linker`. A plugin is
//! compiled once per version into a [`CompiledPlugin`] holding a typed
//! `InstancePre`; every call then gets a fresh `Store` and instance, runs
//! under its [`Limits`], and is dropped: no state survives a call.

mod bindings;
pub mod limits;
mod sandbox;

pub use limits::{EngineConfig, Limits};
pub use sandbox::TRUNCATED_MARKER;

use crate::domain::hook::{Hook, HookInput, HookOutput};
use sandbox::PluginState;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap};

/// Why a plugin call failed. Each kind is distinct so that operators,
/// metrics and the failure policy can tell them apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginError {
    #[error("ran out of fuel (limit {limit})")]
    FuelExhausted { limit: u64 },
    #[error("missed its deadline of {limit_ms} ms")]
    DeadlineExceeded { limit_ms: u64 },
    #[error("exceeded its memory limit of {limit} bytes")]
    MemoryLimit { limit: u64 },
    #[error("overflowed its stack")]
    StackOverflow,
    #[error("trapped: {message}")]
    Trap { message: String },
    #[error("returned an invalid result: {reason}")]
    InvalidOutput { reason: String },
    #[error("returned {size} bytes, over the {limit}-byte output limit")]
    OversizeOutput { size: u64, limit: u64 },
    /// One guest-to-host transfer (an answer, a log line) was over the
    /// per-call bound, so wasmtime stopped copying it.
    #[error("handed the host more than {copied} bytes at once, over the {limit}-byte output limit")]
    OversizeTransfer { copied: u64, limit: u64 },
    #[error("was given {size} bytes of input, over the {limit}-byte input limit")]
    OversizeInput { size: u64, limit: u64 },
    #[error("was called without the input its hook needs: {0}")]
    BadInput(String),
    #[error("could not be instantiated: {0}")]
    Instantiate(String),
}

impl PluginError {
    /// A stable, machine-readable name for the kind (logs, metrics, API).
    pub fn kind(&self) -> &'static str {
        match self {
            PluginError::FuelExhausted { .. } => "fuel-exhausted",
            PluginError::DeadlineExceeded { .. } => "deadline-exceeded",
            PluginError::MemoryLimit { .. } => "memory-limit",
            PluginError::StackOverflow => "stack-overflow",
            PluginError::Trap { .. } => "trap",
            PluginError::InvalidOutput { .. } => "invalid-output",
            PluginError::OversizeOutput { .. } | PluginError::OversizeTransfer { .. } => {
                "oversize-output"
            }
            PluginError::OversizeInput { .. } => "oversize-input",
            PluginError::BadInput(_) => "bad-input",
            PluginError::Instantiate(_) => "instantiate",
        }
    }

    /// True when the plugin hit one of its limits (as opposed to trapping or
    /// answering garbage).
    pub fn is_limit(&self) -> bool {
        matches!(
            self,
            PluginError::FuelExhausted { .. }
                | PluginError::DeadlineExceeded { .. }
                | PluginError::MemoryLimit { .. }
                | PluginError::StackOverflow
                | PluginError::OversizeOutput { .. }
                | PluginError::OversizeTransfer { .. }
                | PluginError::OversizeInput { .. }
        )
    }
}

/// Why a component was refused at load (upload) time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("the component is {size} bytes, over the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("not a WebAssembly file (it does not start with the `\\0asm` magic bytes)")]
    NotWasm,
    #[error(
        "this is a WebAssembly core module, not a component: build the plugin for the \
         `wasm32-wasip2` target (or wrap the module with `wasm-tools component new`)"
    )]
    CoreModule,
    #[error("not a valid WebAssembly component: {0}")]
    Invalid(String),
    #[error(
        "the component implements no Tollgate hook: it must export `check` (precheck), \
         `limits` (quantity-limits) or `plan` (resources) of tollgate:plugin@1.0.0; it exports [{}]",
        .exports.join(", ")
    )]
    NoHook { exports: Vec<String> },
    #[error("the component exports more than one hook ({}); a plugin implements exactly one", .0.join(", "))]
    SeveralHooks(Vec<String>),
    #[error("the component does not match the `{hook}` world of tollgate:plugin@1.0.0: {reason}")]
    Incompatible { hook: Hook, reason: String },
    #[error("compiling the component took longer than {limit_ms} ms")]
    CompileTimeout { limit_ms: u64 },
    #[error("the component could not be compiled: {0}")]
    Compile(String),
}

impl LoadError {
    /// A stable, machine-readable name for the reason (metrics, API).
    pub fn kind(&self) -> &'static str {
        match self {
            LoadError::TooLarge { .. } => "too-large",
            LoadError::NotWasm => "not-wasm",
            LoadError::CoreModule => "core-module",
            LoadError::Invalid(_) => "invalid",
            LoadError::NoHook { .. } => "no-hook",
            LoadError::SeveralHooks(_) => "several-hooks",
            LoadError::Incompatible { .. } => "incompatible",
            LoadError::CompileTimeout { .. } => "compile-timeout",
            LoadError::Compile(_) => "compile",
        }
    }
}

/// The runtime could not start.
#[derive(Debug, thiserror::Error)]
#[error("could not configure the WebAssembly engine: {0}")]
pub struct RuntimeError(String);

enum Pre {
    Precheck(bindings::precheck::PrecheckPre<PluginState>),
    QuantityLimits(bindings::quantity_limits::QuantityLimitsPre<PluginState>),
    Resources(bindings::resources::ResourcesPre<PluginState>),
}

/// A plugin version compiled and type-checked against the linker, ready to
/// instantiate. Cheap to share (`Arc`).
pub struct CompiledPlugin {
    hook: Hook,
    pre: Pre,
    component: Component,
    /// The component imports `customer-subscriptions`: the host must fetch
    /// them before the call.
    reads_subscriptions: bool,
}

impl CompiledPlugin {
    pub fn hook(&self) -> Hook {
        self.hook
    }

    /// Whether the plugin can call the `customer-subscriptions` import (so
    /// the caller knows whether to fetch them).
    pub fn reads_subscriptions(&self) -> bool {
        self.reads_subscriptions
    }
}

/// The result of one plugin call, with what it cost.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub outcome: Result<HookOutput, PluginError>,
    pub fuel_used: u64,
    /// Highest guest linear memory in bytes.
    pub peak_memory: u64,
    pub duration: Duration,
    /// Plugin log lines and stdout/stderr, bounded by `Limits::log_bytes`.
    pub logs: String,
    /// Whether the plugin called `customer-subscriptions`.
    pub read_subscriptions: bool,
    /// The seed the sandbox's random sources used.
    pub seed: u64,
}

/// A finished call's instance. Dropping it returns the instance's slot to
/// the pool (resetting its memory); see [`Runtime::invoke_deferred`].
pub struct Spent(#[allow(dead_code)] Store<PluginState>);

/// The process-wide sandbox runtime.
pub struct Runtime {
    engine: Engine,
    linker: Linker<PluginState>,
    config: EngineConfig,
    ticker_stop: Arc<AtomicBool>,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

impl Runtime {
    pub fn new(config: EngineConfig) -> Result<Self, RuntimeError> {
        let err = |e: wasmtime::Error| RuntimeError(format!("{e:#}"));
        let wasm = wasm_config(&config, true);
        let engine = Engine::new(&wasm).map_err(err)?;

        let mut linker = Linker::new(&engine);
        sandbox::link(&mut linker).map_err(err)?;

        let ticker_stop = Arc::new(AtomicBool::new(false));
        {
            let engine = engine.clone();
            let stop = ticker_stop.clone();
            let tick = Duration::from_millis(config.epoch_tick_ms.max(1));
            std::thread::Builder::new()
                .name("tollgate-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(tick);
                        engine.increment_epoch();
                    }
                })
                .map_err(|e| RuntimeError(format!("cannot start the epoch thread: {e}")))?;
        }
        Ok(Runtime {
            engine,
            linker,
            config,
            ticker_stop,
        })
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Check the bytes' shape (size, magic, layer) before spending time
    /// compiling them; cheap, so it may run anywhere.
    pub fn check_header(&self, bytes: &[u8]) -> Result<(), LoadError> {
        check_header(&self.config, bytes)
    }

    /// [`Runtime::check_header`] plus full validation.
    pub fn precheck_bytes(&self, bytes: &[u8]) -> Result<(), LoadError> {
        check_header(&self.config, bytes)?;
        validate(bytes)
    }

    /// Compile `bytes` to this engine's native code (no time bound: callers
    /// that take untrusted uploads run this in a child process with a
    /// deadline, see `service::compile`).
    pub fn precompile(&self, bytes: &[u8]) -> Result<Vec<u8>, LoadError> {
        self.precheck_bytes(bytes)?;
        self.engine
            .precompile_component(bytes)
            .map_err(|e| LoadError::Compile(format!("{e:#}")))
    }

    /// Compile and type-check a component in this process.
    pub fn compile(&self, bytes: &[u8]) -> Result<CompiledPlugin, LoadError> {
        self.precheck_bytes(bytes)?;
        let component = Component::new(&self.engine, bytes)
            .map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        self.prepare(component)
    }

    /// Load native code that [`Runtime::precompile`] produced.
    ///
    /// # Safety contract
    /// Only pass bytes this host produced with `precompile` (its own cache or
    /// its own compile worker): wasmtime trusts serialized code.
    pub fn load_precompiled(&self, native: &[u8]) -> Result<CompiledPlugin, LoadError> {
        // SAFETY: the caller guarantees the bytes come from `precompile` on
        // this build with this engine configuration; wasmtime also checks the
        // engine compatibility header and refuses a mismatch.
        let component = unsafe { Component::deserialize(&self.engine, native) }
            .map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        self.prepare(component)
    }

    /// A key that changes whenever compiled code would not be loadable.
    pub fn compatibility_key(&self) -> String {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.engine.precompile_compatibility_hash().hash(&mut h);
        format!("{:016x}", h.finish())
    }

    /// Serialize a compiled plugin for this host's on-disk cache.
    pub fn serialize(&self, plugin: &CompiledPlugin) -> Result<Vec<u8>, LoadError> {
        plugin
            .component
            .serialize()
            .map_err(|e| LoadError::Compile(format!("{e:#}")))
    }

    fn prepare(&self, component: Component) -> Result<CompiledPlugin, LoadError> {
        let ty = component.component_type();
        let exports: Vec<String> = ty
            .exports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect();
        let hooks: Vec<Hook> = Hook::ALL
            .into_iter()
            .filter(|h| exports.iter().any(|e| e == export_name(*h)))
            .collect();
        let hook = match hooks.as_slice() {
            [] => return Err(LoadError::NoHook { exports }),
            [one] => *one,
            several => {
                return Err(LoadError::SeveralHooks(
                    several.iter().map(|h| h.to_string()).collect(),
                ));
            }
        };
        let reads_subscriptions = ty
            .imports(&self.engine)
            .any(|(name, _)| name.starts_with("tollgate:plugin/host@"))
            && host_imports_subscriptions(&component, &self.engine);
        let incompatible = |e: wasmtime::Error| LoadError::Incompatible {
            hook,
            reason: format!("{e:#}"),
        };
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(incompatible)?;
        let pre = match hook {
            Hook::Precheck => Pre::Precheck(
                bindings::precheck::PrecheckPre::new(instance_pre).map_err(incompatible)?,
            ),
            Hook::QuantityLimits => Pre::QuantityLimits(
                bindings::quantity_limits::QuantityLimitsPre::new(instance_pre)
                    .map_err(incompatible)?,
            ),
            Hook::Resources => Pre::Resources(
                bindings::resources::ResourcesPre::new(instance_pre).map_err(incompatible)?,
            ),
        };
        Ok(CompiledPlugin {
            hook,
            pre,
            component,
            reads_subscriptions,
        })
    }

    /// Run one hook call in a fresh instance under `limits`. Blocking: call
    /// it from a blocking thread, never from an async executor's worker.
    pub fn invoke(
        &self,
        plugin: &CompiledPlugin,
        input: &HookInput,
        limits: &Limits,
    ) -> Invocation {
        self.invoke_deferred(plugin, input, limits).0
    }

    /// Like [`Runtime::invoke`], but hands back the finished instance as a
    /// [`Spent`] instead of dropping it. Dropping a store returns its slot to
    /// the pool and resets the guest memory (a few µs of memset): work that
    /// must happen, but after the decision has been answered. The server
    /// drops the `Spent` once the result is on its way.
    pub fn invoke_deferred(
        &self,
        plugin: &CompiledPlugin,
        input: &HookInput,
        limits: &Limits,
    ) -> (Invocation, Spent) {
        let started = Instant::now();
        let seed = input.effective_seed();
        let input_size = input_size(input);
        let subscriptions = if plugin.reads_subscriptions {
            input
                .subscriptions
                .iter()
                .take(MAX_SUBSCRIPTIONS)
                .map(bindings::subscription)
                .collect()
        } else {
            Vec::new()
        };
        let state = PluginState::new(
            input.context.now,
            seed,
            usize::try_from(limits.memory_bytes).unwrap_or(usize::MAX),
            usize::try_from(limits.log_bytes).unwrap_or(usize::MAX),
            subscriptions,
        );
        let mut store = Store::new(&self.engine, state);
        let outcome = if input_size > limits.input_bytes {
            Err(PluginError::OversizeInput {
                size: input_size,
                limit: limits.input_bytes,
            })
        } else {
            self.run(plugin, &mut store, input, limits)
        };
        let fuel_used = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        let state = store.data();
        let peak_memory = state.memory.peak as u64;
        let read_subscriptions = state.subscriptions_read;
        let (logs, raw_tail) = state.log.take();
        let outcome = outcome.map_err(|e| match e {
            PluginError::Trap { message } if message.is_empty() => PluginError::Trap {
                message: guest_message(&raw_tail).unwrap_or_else(|| "unknown trap".into()),
            },
            other => other,
        });
        let invocation = Invocation {
            outcome,
            fuel_used,
            peak_memory,
            duration: started.elapsed(),
            logs,
            read_subscriptions,
            seed,
        };
        (invocation, Spent(store))
    }

    fn run(
        &self,
        plugin: &CompiledPlugin,
        store: &mut Store<PluginState>,
        input: &HookInput,
        limits: &Limits,
    ) -> Result<HookOutput, PluginError> {
        store.limiter(|s| &mut s.memory);
        store
            .set_fuel(limits.fuel)
            .map_err(|e| PluginError::Instantiate(format!("{e:#}")))?;
        let tick = self.config.epoch_tick_ms.max(1);
        store.set_epoch_deadline(limits.deadline_ms.div_ceil(tick).max(1));
        store.epoch_deadline_trap();
        // Data a guest hands the host in one call (a log line, its answer)
        // is bounded by what the call may keep, not by wasmtime's default
        // of 128 MiB of copying.
        store.set_hostcall_fuel(hostcall_fuel(limits));

        let request = bindings::request(&input.request);
        let context = bindings::context(&input.context);
        let classify = |store: &Store<PluginState>, e: wasmtime::Error| classify(store, e, limits);
        let output = match &plugin.pre {
            Pre::Precheck(pre) => {
                let instance = pre
                    .instantiate(&mut *store)
                    .map_err(|e| instantiate_error(store, e, limits))?;
                let verdict = instance
                    .call_check(&mut *store, &request, &context)
                    .map_err(|e| classify(store, e))?;
                check_size(verdict_size(&verdict), limits)?;
                HookOutput::Verdict(
                    bindings::verdict(verdict)
                        .map_err(|reason| PluginError::InvalidOutput { reason })?,
                )
            }
            Pre::QuantityLimits(pre) => {
                let target = input.target.as_ref().map(bindings::target).ok_or_else(|| {
                    PluginError::BadInput("a quantity-limits call needs a `target`".into())
                })?;
                let instance = pre
                    .instantiate(&mut *store)
                    .map_err(|e| instantiate_error(store, e, limits))?;
                let limits_out = instance
                    .call_limits(&mut *store, &request, &target, &context)
                    .map_err(|e| classify(store, e))?;
                HookOutput::Limits(
                    bindings::limits(limits_out)
                        .map_err(|reason| PluginError::InvalidOutput { reason })?,
                )
            }
            Pre::Resources(pre) => {
                let instance = pre
                    .instantiate(&mut *store)
                    .map_err(|e| instantiate_error(store, e, limits))?;
                let plan = instance
                    .call_plan(&mut *store, &request, &context)
                    .map_err(|e| classify(store, e))?;
                check_size(plan_size(&plan), limits)?;
                HookOutput::Plan(
                    bindings::plan(plan).map_err(|reason| PluginError::InvalidOutput { reason })?,
                )
            }
        };
        Ok(output)
    }
}

/// The wasmtime configuration of `config`: the same code settings with or
/// without the instance pool (a compile-only engine needs none, and runs
/// under an address-space limit the pool's reservations would exceed).
fn wasm_config(config: &EngineConfig, pooled: bool) -> Config {
    let mut wasm = Config::new();
    wasm.wasm_component_model(true)
        .consume_fuel(true)
        .epoch_interruption(true)
        .max_wasm_stack(config.max_wasm_stack)
        .parallel_compilation(true);
    if pooled {
        let mut pool = PoolingAllocationConfig::new();
        let slots = config.pool_instances.max(1);
        // A Rust wasip2 component has one memory but a few small core
        // instances and tables (shims and fixups).
        pool.total_component_instances(slots)
            .total_memories(slots)
            .total_tables(slots * 4)
            .total_core_instances(slots * 8)
            .total_stacks(slots)
            .max_core_instances_per_component(16)
            .max_memories_per_component(2)
            .max_tables_per_component(8)
            .max_memory_size(usize::try_from(config.max_memory_bytes).unwrap_or(usize::MAX))
            .linear_memory_keep_resident(config.keep_resident_bytes)
            .table_keep_resident(16 * 1024);
        wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    wasm
}

/// Compile untrusted `bytes` to native code for engines of `config`, with
/// an engine made only for compiling: what the compile worker runs.
pub fn compile_only(config: &EngineConfig, bytes: &[u8]) -> Result<Vec<u8>, LoadError> {
    check_header(config, bytes)?;
    validate(bytes)?;
    let engine = Engine::new(&wasm_config(config, false))
        .map_err(|e| LoadError::Compile(format!("{e:#}")))?;
    engine
        .precompile_component(bytes)
        .map_err(|e| LoadError::Compile(format!("{e:#}")))
}

fn check_header(config: &EngineConfig, bytes: &[u8]) -> Result<(), LoadError> {
    if bytes.len() > config.max_component_bytes {
        return Err(LoadError::TooLarge {
            size: bytes.len(),
            limit: config.max_component_bytes,
        });
    }
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(LoadError::NotWasm);
    }
    // Core modules are version 1 (layer 0); components are layer 1.
    match bytes[4..8] {
        [1, 0, 0, 0] => return Err(LoadError::CoreModule),
        [_, _, 1, 0] => {}
        _ => {
            return Err(LoadError::Invalid(
                "unknown WebAssembly binary version".into(),
            ));
        }
    }
    Ok(())
}

fn validate(bytes: &[u8]) -> Result<(), LoadError> {
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(bytes)
        .map_err(|e| LoadError::Invalid(bounded(e.to_string())))?;
    Ok(())
}

/// Plugin-supplied and plugin-caused text (trap messages name the
/// plugin's own functions) is cut to 1 KiB before it reaches a response, a
/// log line or a record.
pub const MAX_MESSAGE_BYTES: usize = 1024;

fn bounded(mut message: String) -> String {
    if message.len() > MAX_MESSAGE_BYTES {
        let mut cut = MAX_MESSAGE_BYTES;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push('…');
    }
    message
}

/// Most subscriptions handed to a plugin by `customer-subscriptions`.
pub const MAX_SUBSCRIPTIONS: usize = 1000;

fn export_name(hook: Hook) -> &'static str {
    match hook {
        Hook::Precheck => "check",
        Hook::QuantityLimits => "limits",
        Hook::Resources => "plan",
    }
}

fn host_imports_subscriptions(component: &Component, engine: &wasmtime::Engine) -> bool {
    use wasmtime::component::types::ComponentItem;
    component
        .component_type()
        .imports(engine)
        .any(|(name, item)| {
            name.starts_with("tollgate:plugin/host@")
                && match item.ty {
                    ComponentItem::ComponentInstance(instance) => instance
                        .exports(engine)
                        .any(|(export, _)| export == "customer-subscriptions"),
                    _ => false,
                }
        })
}

/// Bytes one guest-to-host transfer may copy: the output and log limits
/// with room for the record's framing.
fn hostcall_fuel(limits: &Limits) -> usize {
    let bytes = limits
        .output_bytes
        .max(limits.log_bytes)
        .saturating_add(64 * 1024);
    usize::try_from(bytes).unwrap_or(usize::MAX)
}

fn check_size(size: u64, limits: &Limits) -> Result<(), PluginError> {
    if size > limits.output_bytes {
        return Err(PluginError::OversizeOutput {
            size,
            limit: limits.output_bytes,
        });
    }
    Ok(())
}

fn verdict_size(v: &bindings::wit::Verdict) -> u64 {
    match v {
        bindings::wit::Verdict::Accept => 1,
        bindings::wit::Verdict::Reject(r) => 4 + r.message.len() as u64,
    }
}

fn plan_size(p: &Result<Vec<bindings::wit::ResourceTotal>, String>) -> u64 {
    use bindings::wit::ResourceValue;
    match p {
        Err(message) => message.len() as u64,
        Ok(list) => list
            .iter()
            .map(|r| {
                r.id.len() as u64
                    + match &r.value {
                        ResourceValue::Amount(s) | ResourceValue::Text(s) => s.len() as u64,
                        ResourceValue::Feature(_) => 1,
                    }
            })
            .sum(),
    }
}

/// Approximate serialized size of the input (strings and scalars).
fn input_size(input: &HookInput) -> u64 {
    fn attrs(list: &[crate::domain::hook::Attribute]) -> u64 {
        list.iter()
            .map(|a| (a.id.len() + a.name.len() + a.value.len() + a.code.len() + 1) as u64)
            .sum()
    }
    fn pairs(list: &[(String, String)]) -> u64 {
        list.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum()
    }
    let r = &input.request;
    let a = &r.account;
    let mut size = (r.subscription_id.len()
        + r.platform_subscription_id.len()
        + r.product_id.len()
        + r.service_type.len()
        + 32) as u64;
    size += attrs(&r.attributes);
    size += r
        .addons
        .iter()
        .map(|x| (x.product_id.len() + x.name.len() + 24) as u64 + attrs(&x.attributes))
        .sum::<u64>();
    size +=
        (a.id.len() + a.name.len() + a.code.len() + a.email.len() + a.country_code.len()) as u64;
    size += [&a.external_id, &a.reseller_id, &a.reseller_external_id]
        .iter()
        .map(|o| o.as_deref().map_or(0, str::len) as u64)
        .sum::<u64>();
    size += pairs(&a.sync_options) + pairs(&r.settings) + pairs(&r.custom_fields);
    size += (input.context.config.len()
        + input.context.binding.len()
        + input.context.track_id.len()) as u64;
    if let Some(t) = &input.target {
        size += t.product_id.len() as u64 + 16 + attrs(&t.attributes);
    }
    size += input
        .subscriptions
        .iter()
        .map(|s| (s.subscription_id.len() + s.product_id.len() + s.service_type.len() + 24) as u64)
        .sum::<u64>();
    size
}

fn instantiate_error(
    store: &Store<PluginState>,
    e: wasmtime::Error,
    limits: &Limits,
) -> PluginError {
    match classify(store, e, limits) {
        PluginError::Trap { message } => PluginError::Instantiate(bounded(message)),
        other => other,
    }
}

fn classify(store: &Store<PluginState>, e: wasmtime::Error, limits: &Limits) -> PluginError {
    let memory_denied = store.data().memory.denied;
    // wasmtime reports the hostcall bound only in its message.
    if format!("{e:#}").contains("fuel allocated for hostcalls") {
        return PluginError::OversizeTransfer {
            copied: hostcall_fuel(limits) as u64,
            limit: limits.output_bytes,
        };
    }
    if let Some(trap) = e.downcast_ref::<Trap>() {
        return match trap {
            Trap::OutOfFuel => PluginError::FuelExhausted { limit: limits.fuel },
            Trap::Interrupt => PluginError::DeadlineExceeded {
                limit_ms: limits.deadline_ms,
            },
            Trap::StackOverflow => PluginError::StackOverflow,
            _ if memory_denied => PluginError::MemoryLimit {
                limit: limits.memory_bytes,
            },
            // The guest's own message (a Rust panic) is on its stderr; filled
            // in by the caller once the log is taken.
            Trap::UnreachableCodeReached => PluginError::Trap {
                message: String::new(),
            },
            other => PluginError::Trap {
                message: bounded(other.to_string()),
            },
        };
    }
    if memory_denied {
        return PluginError::MemoryLimit {
            limit: limits.memory_bytes,
        };
    }
    if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return PluginError::Trap {
            message: format!("the plugin called exit({})", exit.0),
        };
    }
    PluginError::Trap {
        message: bounded(format!("{e:#}")),
    }
}

/// The panic message a Rust guest printed to stderr, without the backtrace
/// hint.
fn guest_message(raw: &str) -> Option<String> {
    let start = raw.rfind("panicked at ").map_or(0, |i| i);
    let text: Vec<&str> = raw[start..]
        .lines()
        .filter(|l| !l.starts_with("note: run with `RUST_BACKTRACE"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if text.is_empty() {
        return None;
    }
    let message = text.join(" ");
    let message = message
        .strip_prefix("panicked at ")
        .map_or(message.clone(), |m| format!("panic at {m}"));
    Some(bounded(message))
}
