//! The sandbox: the one module that knows wasmtime.
//!
//! One [`Runtime`] per process owns the `Engine` (component model, pooling
//! allocator, fuel, epoch interruption) and the `Linker`. A plugin is
//! compiled once per version into a [`CompiledPlugin`] holding a typed
//! `InstancePre` of the contract version it was built against (v1 or v2,
//! both served); every call then gets a fresh `Store` and instance, runs
//! under its [`Limits`], and is dropped: no state survives a call.

mod bindings;
mod language;
pub mod limits;
mod sandbox;

pub use limits::{EngineConfig, Limits, Tier};
pub use sandbox::TRUNCATED_MARKER;

use crate::domain::hook::{Hook, HookInput, HookOutput};
use bindings::{v1, v2};
use sandbox::PluginState;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use wasmtime::component::{
    Component, ComponentExportIndex, ComponentNamedList, Lift, Linker, Lower, TypedFunc,
};
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
    /// A v2 plugin answered `plugin-error::failed`: it could not decide.
    #[error("reported a failure: {message}")]
    PluginFailed { message: String },
    /// A v2 plugin answered `plugin-error::invalid-config`.
    #[error("found the binding's configuration invalid at {path}: {message}")]
    InvalidConfig { path: String, message: String },
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
            PluginError::PluginFailed { .. } => "plugin-error",
            PluginError::InvalidConfig { .. } => "invalid-config",
            PluginError::InvalidOutput { .. } => "invalid-output",
            PluginError::OversizeOutput { .. } | PluginError::OversizeTransfer { .. } => {
                "oversize-output"
            }
            PluginError::OversizeInput { .. } => "oversize-input",
            PluginError::BadInput(_) => "bad-input",
            PluginError::Instantiate(_) => "instantiate",
        }
    }

    /// A plugin's own failure report; the message is cut to
    /// [`MAX_PLUGIN_MESSAGE`] bytes (it ends up in logs and API answers).
    pub fn plugin_failed(message: impl Into<String>) -> Self {
        PluginError::PluginFailed {
            message: truncate_message(message.into()),
        }
    }

    /// A plugin's report that the binding's configuration is unusable; path
    /// and message cut to [`MAX_PLUGIN_MESSAGE`] bytes.
    pub fn invalid_config(path: impl Into<String>, message: impl Into<String>) -> Self {
        PluginError::InvalidConfig {
            path: truncate_message(path.into()),
            message: truncate_message(message.into()),
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
         `limits` (quantity-limits) or `plan` (resources) of tollgate:plugin@2.0.0 (or @1.0.0); \
         it exports [{}]",
        .exports.join(", ")
    )]
    NoHook { exports: Vec<String> },
    #[error("the component exports more than one hook ({}); a plugin implements exactly one", .0.join(", "))]
    SeveralHooks(Vec<String>),
    #[error(
        "the component does not match the `{hook}` world of tollgate:plugin@{contract}: {reason}"
    )]
    Incompatible {
        hook: Hook,
        /// The contract version it was checked against (`"1.0.0"`, `"2.0.0"`).
        contract: &'static str,
        reason: String,
    },
    /// The component needs more of the instance pool than one plugin may
    /// take (core instances, memories, tables, their sizes): refused at
    /// upload rather than failing every call.
    #[error("the component does not fit the sandbox's instance pool: {0}")]
    ExceedsPool(String),
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
            LoadError::ExceedsPool(_) => "exceeds-pool",
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
    V1Precheck(v1::precheck::PrecheckPre<PluginState>),
    V1QuantityLimits(v1::quantity_limits::QuantityLimitsPre<PluginState>),
    V1Resources(v1::resources::ResourcesPre<PluginState>),
    V2Precheck(v2::precheck::PrecheckPre<PluginState>),
    V2QuantityLimits(v2::quantity_limits::QuantityLimitsPre<PluginState>),
    V2Resources(v2::resources::ResourcesPre<PluginState>),
}

impl Pre {
    /// The hook world of `contract` and `hook`, its export shapes checked
    /// against the component's.
    fn new(
        contract: Contract,
        hook: Hook,
        pre: wasmtime::component::InstancePre<PluginState>,
    ) -> Result<Pre, wasmtime::Error> {
        Ok(match (contract, hook) {
            (Contract::V1, Hook::Precheck) => Pre::V1Precheck(v1::precheck::PrecheckPre::new(pre)?),
            (Contract::V1, Hook::QuantityLimits) => {
                Pre::V1QuantityLimits(v1::quantity_limits::QuantityLimitsPre::new(pre)?)
            }
            (Contract::V1, Hook::Resources) => {
                Pre::V1Resources(v1::resources::ResourcesPre::new(pre)?)
            }
            (Contract::V2, Hook::Precheck) => Pre::V2Precheck(v2::precheck::PrecheckPre::new(pre)?),
            (Contract::V2, Hook::QuantityLimits) => {
                Pre::V2QuantityLimits(v2::quantity_limits::QuantityLimitsPre::new(pre)?)
            }
            (Contract::V2, Hook::Resources) => {
                Pre::V2Resources(v2::resources::ResourcesPre::new(pre)?)
            }
        })
    }
}

/// The `tollgate:plugin` contract versions the host serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Contract {
    V1,
    V2,
}

impl Contract {
    /// The WIT package version, `"1.0.0"` or `"2.0.0"`.
    pub fn version(self) -> &'static str {
        match self {
            Contract::V1 => "1.0.0",
            Contract::V2 => "2.0.0",
        }
    }
}

/// A plugin version compiled and type-checked against the linker, ready to
/// instantiate. Cheap to share (`Arc`).
pub struct CompiledPlugin {
    hook: Hook,
    contract: Contract,
    language: &'static str,
    pre: Pre,
    /// The hook's export, found (and type-checked by `pre`) at prepare time.
    export: ComponentExportIndex,
    component: Component,
    /// The component imports `customer-subscriptions`: the host must fetch
    /// them before the call.
    reads_subscriptions: bool,
    /// See [`CompiledPlugin::memory_image_bytes`].
    memory_image_bytes: u64,
}

impl CompiledPlugin {
    pub fn hook(&self) -> Hook {
        self.hook
    }

    /// The contract version the component implements: `"1.0.0"` or
    /// `"2.0.0"`.
    pub fn contract(&self) -> &'static str {
        self.contract.version()
    }

    /// The source language, from the component's `producers` sections:
    /// `"rust"`, `"javascript"`, `"python"` or `"unknown"`.
    pub fn language(&self) -> &'static str {
        self.language
    }

    /// The interfaces the component imports (`wasi:cli/stdout@0.2.x`,
    /// `tollgate:plugin/host@2.0.0`…), for operators and tooling.
    pub fn imports(&self) -> Vec<String> {
        let engine = self.component.engine();
        self.component
            .component_type()
            .imports(engine)
            .map(|(name, _)| name.to_string())
            .collect()
    }

    /// Whether the plugin can call the `customer-subscriptions` import (so
    /// the caller knows whether to fetch them).
    pub fn reads_subscriptions(&self) -> bool {
        self.reads_subscriptions
    }

    /// At most how many bytes the plugin's copy-on-write memory images hold
    /// while it is loaded: wasmtime copies each memory's initial contents
    /// into a memory file at load time, besides the native code. Counted
    /// with the code against the compiled-code cache's bound.
    pub fn memory_image_bytes(&self) -> u64 {
        self.memory_image_bytes
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
                    // One epoch per elapsed tick of wall-clock time, however
                    // late this thread was scheduled: deadlines stay in
                    // milliseconds under load, not in ticks delivered.
                    let started = Instant::now();
                    let mut delivered: u128 = 0;
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(tick);
                        let due = started.elapsed().as_nanos() / tick.as_nanos().max(1);
                        while delivered < due {
                            engine.increment_epoch();
                            delivered += 1;
                        }
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
    /// Answers the component's source language, whose tier bounds its
    /// size (checked here) and compile time.
    pub fn check_header(&self, bytes: &[u8]) -> Result<&'static str, LoadError> {
        check_header(&self.config, bytes)
    }

    /// [`Runtime::check_header`] plus full validation.
    pub fn precheck_bytes(&self, bytes: &[u8]) -> Result<(), LoadError> {
        check_header(&self.config, bytes)?;
        validate(bytes)
    }

    /// Compile `bytes` to this engine's native code (no time bound: callers
    /// that take untrusted uploads run this in a child process with a
    /// deadline, see `service::compile`). The result carries what only the
    /// original bytes tell (the source language), see [`Runtime::load_precompiled`].
    pub fn precompile(&self, bytes: &[u8]) -> Result<Vec<u8>, LoadError> {
        self.precheck_bytes(bytes)?;
        let native = self
            .engine
            .precompile_component(bytes)
            .map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        Ok(artifact::wrap(language::detect(bytes), &native))
    }

    /// Compile and type-check a component in this process.
    pub fn compile(&self, bytes: &[u8]) -> Result<CompiledPlugin, LoadError> {
        self.precheck_bytes(bytes)?;
        let component = Component::new(&self.engine, bytes).map_err(load_error)?;
        self.prepare(component, language::detect(bytes))
    }

    /// Load native code that [`Runtime::precompile`] produced.
    ///
    /// # Safety contract
    /// Only pass bytes this host produced with `precompile` (its own cache or
    /// its own compile worker): wasmtime trusts serialized code.
    pub fn load_precompiled(&self, native: &[u8]) -> Result<CompiledPlugin, LoadError> {
        let (language, native) = artifact::unwrap(native).ok_or_else(|| {
            LoadError::Compile("not a compiled plugin of this host (unknown header)".into())
        })?;
        // SAFETY: the caller guarantees the bytes come from `precompile` on
        // this build with this engine configuration; wasmtime also checks the
        // engine compatibility header and refuses a mismatch.
        let component =
            unsafe { Component::deserialize(&self.engine, native) }.map_err(load_error)?;
        self.prepare(component, language)
    }

    /// A key that changes whenever compiled code would not be loadable.
    pub fn compatibility_key(&self) -> String {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.engine.precompile_compatibility_hash().hash(&mut h);
        artifact::MAGIC.hash(&mut h);
        format!("{:016x}", h.finish())
    }

    /// Serialize a compiled plugin for this host's on-disk cache.
    pub fn serialize(&self, plugin: &CompiledPlugin) -> Result<Vec<u8>, LoadError> {
        let native = plugin
            .component
            .serialize()
            .map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        Ok(artifact::wrap(plugin.language, &native))
    }

    fn prepare(
        &self,
        component: Component,
        language: &'static str,
    ) -> Result<CompiledPlugin, LoadError> {
        // Build the copy-on-write memory images now rather than in the first
        // call: copying a Python component's ≈ 13 MiB initial memory made its
        // first call 8–11 ms instead of ≈ 3 ms.
        component
            .initialize_copy_on_write_image()
            .map_err(load_error)?;
        let memory_image_bytes = memory_image_bound(&component, &self.config);
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
        // Only v2 worlds export `validate-config`; the shapes are then
        // checked against that version's world.
        let contract = if exports.iter().any(|e| e == VALIDATE_CONFIG) {
            Contract::V2
        } else {
            Contract::V1
        };
        let reads_subscriptions = host_imports_subscriptions(&component, &self.engine);
        let incompatible = |e: wasmtime::Error| LoadError::Incompatible {
            hook,
            contract: contract.version(),
            reason: format!("{e:#}"),
        };
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(incompatible)?;
        let pre = Pre::new(contract, hook, instance_pre).map_err(incompatible)?;
        let export = component
            .get_export_index(None, export_name(hook))
            .ok_or_else(|| LoadError::NoHook {
                exports: exports.clone(),
            })?;
        Ok(CompiledPlugin {
            hook,
            contract,
            language,
            pre,
            export,
            component,
            reads_subscriptions,
            memory_image_bytes,
        })
    }

    /// Run one hook call in a fresh instance under `limits`, on this
    /// thread (see [`Runtime::invoke_async`]; nothing here waits on I/O).
    pub fn invoke(
        &self,
        plugin: &CompiledPlugin,
        input: &HookInput,
        limits: &Limits,
    ) -> Invocation {
        self.invoke_deferred(plugin, input, limits).0
    }

    /// [`Runtime::invoke_async`] run to completion on this thread.
    pub fn invoke_deferred(
        &self,
        plugin: &CompiledPlugin,
        input: &HookInput,
        limits: &Limits,
    ) -> (Invocation, Spent) {
        block_on(self.invoke_async(plugin, input, limits))
    }

    /// Run one hook call in a fresh instance under `limits`, as a future:
    /// the server awaits it on the request's own task, so a short call
    /// costs no thread hand-off. The guest runs on its own (pooled) stack
    /// and hands the thread back every epoch tick (1 ms): a long call
    /// shares its thread like any task and is stopped at its deadline.
    ///
    /// Hands back the finished instance as a [`Spent`] instead of dropping
    /// it. Dropping a store returns its slot to the pool and resets the
    /// guest memory (a few µs of memset): work that must happen, but after
    /// the decision has been answered.
    pub async fn invoke_async(
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
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        let mut store = self.store(input.context.now, seed, limits, subscriptions);
        let outcome = if input_size > limits.input_bytes {
            Err(PluginError::OversizeInput {
                size: input_size,
                limit: limits.input_bytes,
            })
        } else {
            self.run(plugin, &mut store, input, limits, started).await
        };
        let fuel_used = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        let state = store.data();
        let peak_memory = state.memory.peak as u64;
        let read_subscriptions = state.subscriptions_read;
        let (logs, raw_tail) = state.log.take();
        let outcome = outcome.map_err(|e| with_guest_message(e, &raw_tail));
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

    /// Ask a v2 plugin whether it can use `config_json` (the binding's
    /// configuration), in a fresh instance under the same `limits` as a hook
    /// call. Blocking, like [`Runtime::invoke`]. Run it when a binding is
    /// saved, so a configuration the plugin cannot use is refused then
    /// rather than failing every call.
    pub fn validate_config(
        &self,
        plugin: &CompiledPlugin,
        config_json: &str,
        limits: &Limits,
    ) -> ConfigCheck {
        block_on(self.validate_config_async(plugin, config_json, limits))
    }

    /// [`Runtime::validate_config`] as a future (see [`Runtime::invoke_async`]).
    pub async fn validate_config_async(
        &self,
        plugin: &CompiledPlugin,
        config_json: &str,
        limits: &Limits,
    ) -> ConfigCheck {
        if plugin.contract == Contract::V1 {
            return ConfigCheck::NotSupported;
        }
        let size = config_json.len() as u64;
        if size > limits.input_bytes {
            return ConfigCheck::Failed(PluginError::OversizeInput {
                size,
                limit: limits.input_bytes,
            });
        }
        // No decision time exists at bind time: the clocks read 0, the seed
        // follows the config.
        let seed = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            config_json.hash(&mut h);
            h.finish()
        };
        let mut store = self.store(0, seed, limits, Vec::new());
        let answer = self
            .run_validate(plugin, &mut store, config_json, limits, Instant::now())
            .await;
        let (_, raw_tail) = store.data().log.take();
        match answer {
            Ok(Ok(())) => ConfigCheck::Valid,
            Ok(Err(e)) => ConfigCheck::Invalid {
                path: truncate_message(e.path),
                message: truncate_message(e.message),
            },
            Err(e) => ConfigCheck::Failed(with_guest_message(e, &raw_tail)),
        }
    }

    /// A fresh store for one call, armed with `limits`.
    fn store(
        &self,
        now: i64,
        seed: u64,
        limits: &Limits,
        subscriptions: Vec<crate::domain::hook::SubscriptionInfo>,
    ) -> Store<PluginState> {
        let state = PluginState::new(
            now,
            seed,
            usize::try_from(limits.memory_bytes).unwrap_or(usize::MAX),
            usize::try_from(limits.log_bytes).unwrap_or(usize::MAX),
            subscriptions,
        );
        Store::new(&self.engine, state)
    }

    fn arm(
        &self,
        store: &mut Store<PluginState>,
        limits: &Limits,
        started: Instant,
    ) -> Result<(), PluginError> {
        store.limiter(|s| &mut s.memory);
        store
            .set_fuel(limits.fuel)
            .map_err(|e| PluginError::Instantiate(format!("{e:#}")))?;
        // Every epoch tick the guest hands its thread back (a short call
        // never sees a tick); past the wall-clock deadline it traps.
        let deadline = started + Duration::from_millis(limits.deadline_ms.max(1));
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline {
                Err(Trap::Interrupt.into())
            } else {
                Ok(wasmtime::UpdateDeadline::Yield(1))
            }
        });
        // Data a guest hands the host in one call (a log line, its answer)
        // is bounded by what the call may keep, not by wasmtime's default
        // of 128 MiB of copying.
        store.set_hostcall_fuel(hostcall_fuel(limits));
        Ok(())
    }

    async fn run_validate(
        &self,
        plugin: &CompiledPlugin,
        store: &mut Store<PluginState>,
        config: &str,
        limits: &Limits,
        started: Instant,
    ) -> Result<Result<(), v2::wit::ConfigError>, PluginError> {
        self.arm(store, limits, started)?;
        let classify = |store: &Store<PluginState>, e: wasmtime::Error| classify(store, e, limits);
        let instantiate = |store: &Store<PluginState>, e| instantiate_error(store, e, limits);
        let answer = match &plugin.pre {
            Pre::V2Precheck(pre) => {
                let instance = pre
                    .instantiate_async(&mut *store)
                    .await
                    .map_err(|e| instantiate(store, e))?;
                instance.call_validate_config(&mut *store, config).await
            }
            Pre::V2QuantityLimits(pre) => {
                let instance = pre
                    .instantiate_async(&mut *store)
                    .await
                    .map_err(|e| instantiate(store, e))?;
                instance.call_validate_config(&mut *store, config).await
            }
            Pre::V2Resources(pre) => {
                let instance = pre
                    .instantiate_async(&mut *store)
                    .await
                    .map_err(|e| instantiate(store, e))?;
                instance.call_validate_config(&mut *store, config).await
            }
            Pre::V1Precheck(_) | Pre::V1QuantityLimits(_) | Pre::V1Resources(_) => {
                return Ok(Ok(()));
            }
        }
        .map_err(|e| classify(store, e))?;
        if let Err(e) = &answer {
            check_size((e.path.len() + e.message.len()) as u64, limits)?;
        }
        Ok(answer)
    }

    async fn run(
        &self,
        plugin: &CompiledPlugin,
        store: &mut Store<PluginState>,
        input: &HookInput,
        limits: &Limits,
        started: Instant,
    ) -> Result<HookOutput, PluginError> {
        self.arm(store, limits, started)?;
        let invalid = |reason| PluginError::InvalidOutput { reason };
        let needs_target = || {
            input.target.as_ref().ok_or_else(|| {
                PluginError::BadInput("a quantity-limits call needs a `target`".into())
            })
        };
        let hook = HookCall {
            export: &plugin.export,
            store,
            limits,
        };
        let output = match &plugin.pre {
            Pre::V1Precheck(pre) => {
                let (request, context) = (v1::request(&input.request), v1::context(&input.context));
                let world = v1::precheck::Precheck::func_check;
                let (verdict,) = hook
                    .call(pre.instance_pre(), world, (&request, &context))
                    .await?;
                check_size(v1::verdict_size(&verdict), limits)?;
                HookOutput::Verdict(v1::verdict(verdict).map_err(invalid)?)
            }
            Pre::V1QuantityLimits(pre) => {
                let target = v1::target(needs_target()?);
                let (request, context) = (v1::request(&input.request), v1::context(&input.context));
                let world = v1::quantity_limits::QuantityLimits::func_limits;
                let params = (&request, &target, &context);
                let (answer,) = hook.call(pre.instance_pre(), world, params).await?;
                HookOutput::Limits(v1::limits(answer).map_err(invalid)?)
            }
            Pre::V1Resources(pre) => {
                let (request, context) = (v1::request(&input.request), v1::context(&input.context));
                let world = v1::resources::Resources::func_plan;
                let (plan,) = hook
                    .call(pre.instance_pre(), world, (&request, &context))
                    .await?;
                check_size(v1::plan_size(&plan), limits)?;
                HookOutput::Plan(v1::plan(plan).map_err(invalid)?)
            }
            Pre::V2Precheck(pre) => {
                let (request, context) = (v2::request(&input.request), v2::context(&input.context));
                let world = v2::precheck::Precheck::func_check;
                let (answer,) = hook
                    .call(pre.instance_pre(), world, (&request, &context))
                    .await?;
                let verdict = v2_answer(answer, limits)?;
                check_size(v2::verdict_size(&verdict), limits)?;
                HookOutput::Verdict(v2::verdict(verdict).map_err(invalid)?)
            }
            Pre::V2QuantityLimits(pre) => {
                let target = v2::target(needs_target()?);
                let (request, context) = (v2::request(&input.request), v2::context(&input.context));
                let world = v2::quantity_limits::QuantityLimits::func_limits;
                let params = (&request, &target, &context);
                let (answer,) = hook.call(pre.instance_pre(), world, params).await?;
                HookOutput::Limits(v2::limits(v2_answer(answer, limits)?).map_err(invalid)?)
            }
            Pre::V2Resources(pre) => {
                let (request, context) = (v2::request(&input.request), v2::context(&input.context));
                let world = v2::resources::Resources::func_plan;
                let (answer,) = hook
                    .call(pre.instance_pre(), world, (&request, &context))
                    .await?;
                let plan = v2_answer(answer, limits)?;
                check_size(v2::plan_size(&plan), limits)?;
                HookOutput::Plan(v2::plan(plan).map_err(invalid)?)
            }
        };
        Ok(output)
    }
}

/// Drive a future to completion on this thread. The sandbox's futures never
/// wait on I/O (every stream and pollable is ready at once); they return
/// `Pending` only when the guest yields at an epoch tick, waking themselves
/// first.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(output) => return output,
            std::task::Poll::Pending => std::thread::park(),
        }
    }
}

/// One hook call's instance: where its export is, the store it runs in and
/// the limits its failures are classified against.
struct HookCall<'s> {
    export: &'s ComponentExportIndex,
    store: &'s mut Store<PluginState>,
    limits: &'s Limits,
}

impl HookCall<'_> {
    /// Instantiate `pre` and call its hook export with `params`, without
    /// checking the export's type again on every call (wasmtime's typed
    /// lookup re-walks the request's record types: a tenth of a short call).
    ///
    /// `world_func` is the generated bindings' accessor for the same export
    /// (`QuantityLimits::func_limits`…): it fixes `P` and `R` to exactly the
    /// types that the bindings' `*Pre::new` checked the component's export
    /// against when the plugin was prepared, and `export` is that export's
    /// index (see [`Runtime::prepare`]). A mismatch cannot be written.
    async fn call<'x, W: 'x, P, R>(
        self,
        pre: &wasmtime::component::InstancePre<PluginState>,
        world_func: fn(&'x W) -> TypedFunc<P, R>,
        params: P,
    ) -> Result<R, PluginError>
    where
        P: ComponentNamedList + Lower + Send + Sync,
        R: ComponentNamedList + Lift + Send + Sync + 'static,
    {
        let _ = world_func;
        let HookCall {
            export,
            store,
            limits,
        } = self;
        let instance = pre
            .instantiate_async(&mut *store)
            .await
            .map_err(|e| instantiate_error(store, e, limits))?;
        let func = instance
            .get_func(&mut *store, export)
            .ok_or_else(|| PluginError::Instantiate("the component lost its hook export".into()))?;
        // SAFETY: the export's signature was type-checked against `P` and `R`
        // by the bindings' `*Pre::new` in `Runtime::prepare` (the same
        // component; `P`/`R` come from the same bindings through
        // `world_func`), which is what the generated `call_*` methods rely on
        // as well.
        let typed = unsafe { TypedFunc::<P, R>::new_unchecked(func) };
        typed
            .call_async(&mut *store, params)
            .await
            .map_err(|e| classify(store, e, limits))
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
        // Every total is `slots` times what one plugin may take, so the pool
        // holds `slots` live instances of the largest component it accepts;
        // a component over a per-plugin maximum is refused when it is loaded
        // (wasmtime checks them in `Component::new`/`deserialize`), never at
        // run time. Measured: a Rust wasip2 component has 3 core instances,
        // one memory and 2 tables; componentize-js 4/1/2; componentize-py
        // 14/1/2 (also with much of the stdlib imported); native-extension
        // packages add core instances, hence the margin.
        let core_per_plugin = config.max_core_instances_per_plugin.max(1);
        pool.total_component_instances(slots)
            .total_memories(slots.saturating_mul(MEMORIES_PER_PLUGIN))
            .total_tables(slots.saturating_mul(TABLES_PER_PLUGIN))
            .total_core_instances(slots.saturating_mul(core_per_plugin))
            .total_stacks(slots)
            .max_core_instances_per_component(core_per_plugin)
            .max_memories_per_component(MEMORIES_PER_PLUGIN)
            .max_tables_per_component(TABLES_PER_PLUGIN)
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
    let native = engine.precompile_component(bytes).map_err(load_error)?;
    Ok(artifact::wrap(language::detect(bytes), &native))
}

fn check_header(config: &EngineConfig, bytes: &[u8]) -> Result<&'static str, LoadError> {
    let too_large = |limit| LoadError::TooLarge {
        size: bytes.len(),
        limit,
    };
    if bytes.len() > config.max_upload_bytes() {
        return Err(too_large(config.max_upload_bytes()));
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
    let language = language::detect(bytes);
    let limit = config.tier(language).max_component_bytes;
    if bytes.len() > limit {
        return Err(too_large(limit));
    }
    Ok(language)
}

fn validate(bytes: &[u8]) -> Result<(), LoadError> {
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(bytes)
        .map_err(|e| LoadError::Invalid(truncate_message(e.to_string())))?;
    Ok(())
}

/// What a v2 plugin said about a binding's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigCheck {
    /// The plugin can use it.
    Valid,
    /// It cannot: where (a JSON path such as `$.products.cb_basic.min`) and
    /// why, for the tenant's administrator. Both cut to 1 KiB.
    Invalid { path: String, message: String },
    /// The check itself failed (a trap, a limit): handle like a failed call.
    Failed(PluginError),
    /// A v1 plugin: the contract has no `validate-config`.
    NotSupported,
}

/// The export only v2 worlds have.
const VALIDATE_CONFIG: &str = "validate-config";

/// Longest plugin-supplied message kept (failure reports, config errors).
pub const MAX_PLUGIN_MESSAGE: usize = 1024;

/// Cut `message` to at most [`MAX_PLUGIN_MESSAGE`] bytes on a character
/// boundary, marking the cut with `…`.
fn truncate_message(mut message: String) -> String {
    if message.len() <= MAX_PLUGIN_MESSAGE {
        return message;
    }
    let mut cut = MAX_PLUGIN_MESSAGE - '…'.len_utf8();
    while !message.is_char_boundary(cut) {
        cut -= 1;
    }
    message.truncate(cut);
    message.push('…');
    message
}

/// A v2 hook's `result<T, plugin-error>`: the error becomes the plugin's
/// own failure kind (not a trap).
fn v2_answer<T>(
    answer: Result<T, v2::wit::PluginError>,
    limits: &Limits,
) -> Result<T, PluginError> {
    answer.map_err(|e| {
        if let Err(oversize) = check_size(v2::error_size(&e), limits) {
            return oversize;
        }
        match e {
            v2::wit::PluginError::Failed(message) => PluginError::plugin_failed(message),
            v2::wit::PluginError::InvalidConfig(c) => {
                PluginError::invalid_config(c.path, c.message)
            }
        }
    })
}

/// A trap without a message gets the guest's own (a Rust panic's, from its
/// stderr).
fn with_guest_message(e: PluginError, raw_tail: &str) -> PluginError {
    match e {
        PluginError::Trap { message } if message.is_empty() => PluginError::Trap {
            message: guest_message(raw_tail).unwrap_or_else(|| "unknown trap".into()),
        },
        other => other,
    }
}

/// A compile or load error; the pooling allocator's refusals (too many core
/// instances, memories, tables for one plugin) get their own kind.
fn load_error(e: wasmtime::Error) -> LoadError {
    let message = format!("{e:#}");
    if message.contains("pooling allocator") {
        LoadError::ExceedsPool(message)
    } else {
        LoadError::Compile(message)
    }
}

/// The on-disk form of a compiled plugin: a small header with what only
/// the original bytes tell (the source language), then wasmtime's code.
mod artifact {
    /// Changing it changes `Runtime::compatibility_key`, so older cache
    /// files are recompiled instead of misread.
    pub const MAGIC: &[u8; 8] = b"TGPLUG01";

    pub fn wrap(language: &str, native: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(native.len() + 32);
        out.extend_from_slice(MAGIC);
        out.push(u8::try_from(language.len()).unwrap_or(0));
        out.extend_from_slice(&language.as_bytes()[..usize::from(out[MAGIC.len()])]);
        out.extend_from_slice(native);
        out
    }

    pub fn unwrap(bytes: &[u8]) -> Option<(&'static str, &[u8])> {
        let rest = bytes.strip_prefix(MAGIC.as_slice())?;
        let (&len, rest) = rest.split_first()?;
        let len = usize::from(len);
        let name = std::str::from_utf8(rest.get(..len)?).ok()?;
        Some((super::language::canonical(name), rest.get(len..)?))
    }
}

/// An upper bound on the bytes of `component`'s memory images: an image
/// holds a memory's initial contents, so never more than its initial size.
/// Measured against the images' real sizes (memory files after loading):
/// Rust min-max 36 KiB (bound 128 KiB), TypeScript 0.5 MiB (3 MiB),
/// Python 11.8 MiB (12.8 MiB).
fn memory_image_bound(component: &Component, config: &EngineConfig) -> u64 {
    const WASM_PAGE: u64 = 64 * 1024;
    match component.resources_required() {
        Some(r) => u64::from(r.num_memories)
            .saturating_mul(r.max_initial_memory_size.unwrap_or(0))
            .saturating_mul(WASM_PAGE),
        // Only a component importing core modules has no static answer, and
        // the linker offers none: such a plugin never instantiates anyway.
        None => config.max_memory_bytes,
    }
}

/// Linear memories one plugin may define (every toolchain measured uses 1).
const MEMORIES_PER_PLUGIN: u32 = 2;
/// Tables one plugin may define (Rust, componentize-js and -py use 2).
const TABLES_PER_PLUGIN: u32 = 8;

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

/// Approximate serialized size of a request (strings and scalars), in bytes.
pub fn request_size(r: &crate::domain::hook::HookRequest) -> usize {
    fn attrs(list: &[crate::domain::hook::Attribute]) -> usize {
        list.iter()
            .map(|a| a.id.len() + a.name.len() + a.value.len() + a.code.len() + 1)
            .sum()
    }
    fn pairs(list: &[(String, String)]) -> usize {
        list.iter().map(|(k, v)| k.len() + v.len()).sum()
    }
    let a = &r.account;
    let mut size = r.subscription_id.len()
        + r.platform_subscription_id.len()
        + r.product_id.len()
        + r.service_type.len()
        + 32;
    size += attrs(&r.attributes);
    size += r
        .addons
        .iter()
        .map(|x| x.product_id.len() + x.name.len() + 24 + attrs(&x.attributes))
        .sum::<usize>();
    size += a.id.len() + a.name.len() + a.code.len() + a.email.len() + a.country_code.len();
    size += [&a.external_id, &a.reseller_id, &a.reseller_external_id]
        .iter()
        .map(|o| o.as_deref().map_or(0, str::len))
        .sum::<usize>();
    size + pairs(&a.sync_options) + pairs(&r.settings) + pairs(&r.custom_fields)
}

/// Approximate serialized size of the input (strings and scalars).
fn input_size(input: &HookInput) -> u64 {
    let mut size = request_size(&input.request) as u64;
    size += (input.context.config.len()
        + input.context.binding.len()
        + input.context.track_id.len()) as u64;
    if let Some(t) = &input.target {
        size += (t.product_id.len()
            + 16
            + t.attributes
                .iter()
                .map(|a| a.id.len() + a.name.len() + a.value.len() + a.code.len() + 1)
                .sum::<usize>()) as u64;
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
        PluginError::Trap { message } => PluginError::Instantiate(truncate_message(message)),
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
                message: truncate_message(other.to_string()),
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
        message: truncate_message(format!("{e:#}")),
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
    Some(truncate_message(message))
}
