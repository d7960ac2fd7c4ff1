//! Per-call limits as data (DESIGN §6). The defaults are the product's; an
//! operator may change them per tenant. Engine-wide ceilings (`EngineConfig`)
//! bound what a per-tenant value may be.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What one plugin call may use. Every field is enforced by the runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Fuel (roughly, wasm instructions) per call.
    pub fuel: u64,
    /// Wall-clock deadline per call, in milliseconds.
    pub deadline_ms: u64,
    /// Linear memory per instance, in bytes.
    pub memory_bytes: u64,
    /// Serialized input handed to the plugin, in bytes.
    pub input_bytes: u64,
    /// Output returned by the plugin, in bytes.
    pub output_bytes: u64,
    /// Plugin log kept per call, in bytes (then truncated with a marker).
    pub log_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: 10_000_000,
            deadline_ms: 100,
            memory_bytes: 16 * 1024 * 1024,
            input_bytes: 256 * 1024,
            output_bytes: 64 * 1024,
            log_bytes: 4 * 1024,
        }
    }
}

impl Limits {
    pub fn deadline(&self) -> Duration {
        Duration::from_millis(self.deadline_ms)
    }

    /// Check these limits against the engine's ceilings.
    pub fn validate(&self, engine: &EngineConfig) -> Result<(), String> {
        if self.fuel == 0 {
            return Err("fuel must be positive".into());
        }
        if self.deadline_ms == 0 || self.deadline_ms > 60_000 {
            return Err("deadline_ms must be between 1 and 60000".into());
        }
        if self.memory_bytes == 0 || self.memory_bytes > engine.max_memory_bytes {
            return Err(format!(
                "memory_bytes must be between 1 and the engine maximum of {} bytes",
                engine.max_memory_bytes
            ));
        }
        for (name, value) in [
            ("input_bytes", self.input_bytes),
            ("output_bytes", self.output_bytes),
            ("log_bytes", self.log_bytes),
        ] {
            if value == 0 || value > 64 * 1024 * 1024 {
                return Err(format!("{name} must be between 1 and 67108864"));
            }
        }
        Ok(())
    }
}

/// Settings of the one process-wide engine: they shape compiled code and the
/// instance pool, so they cannot vary per tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// Wasm stack per call, in bytes (`Config::max_wasm_stack`).
    pub max_wasm_stack: usize,
    /// Ceiling for any tenant's `memory_bytes`: the pool reserves this much
    /// per slot.
    pub max_memory_bytes: u64,
    /// Instances that may run at once (pool slots).
    pub pool_instances: u32,
    /// Core wasm instances one plugin component may create; the pool holds
    /// `pool_instances` times this many. Components needing more are refused
    /// at upload (kind `exceeds-pool`). A Rust plugin needs 3, componentize-js
    /// 4, componentize-py 14 (plus native-extension packages).
    pub max_core_instances_per_plugin: u32,
    /// Guest memory the pool keeps resident between instances, so a fresh
    /// instance does not fault its stack and data pages in again.
    pub keep_resident_bytes: usize,
    /// Size of an uploaded component, in bytes.
    pub max_component_bytes: usize,
    /// Time allowed to compile one uploaded component, in milliseconds.
    pub compile_timeout_ms: u64,
    /// Epoch tick driving deadlines, in milliseconds.
    pub epoch_tick_ms: u64,
    /// What JavaScript/TypeScript components get (their engine starts in
    /// every fresh instance).
    pub javascript: Tier,
    /// What Python components get.
    pub python: Tier,
}

/// The bounds of an interpreted language's components. Its upload and
/// compile bounds replace the engine's; its fuel, deadline and memory are
/// minimums on top of a call's limits (a tenant's own limits can raise
/// them, not lower them below what the language's runtime needs to start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tier {
    pub max_component_bytes: usize,
    pub compile_timeout_ms: u64,
    pub min_fuel: u64,
    /// An interpreter's call is ≈ 1–3 ms on an idle machine, its first
    /// after a load a little more, and many times that on a loaded one (a
    /// first Python call once missed 100 ms in CI): the minimum leaves room.
    pub min_deadline_ms: u64,
    pub min_memory_bytes: u64,
}

impl Default for Tier {
    fn default() -> Self {
        Tier {
            max_component_bytes: 4 * 1024 * 1024,
            compile_timeout_ms: 10_000,
            min_fuel: 0,
            min_deadline_ms: 0,
            min_memory_bytes: 0,
        }
    }
}

impl EngineConfig {
    /// The bounds for components written in `language` ("rust",
    /// "javascript", "python", "unknown"): compiled languages get the
    /// engine's own.
    pub fn tier(&self, language: &str) -> Tier {
        match language {
            "javascript" => self.javascript,
            "python" => self.python,
            _ => Tier {
                max_component_bytes: self.max_component_bytes,
                compile_timeout_ms: self.compile_timeout_ms,
                ..Tier::default()
            },
        }
    }

    /// The largest upload any language may send (the HTTP body bound of
    /// the upload route).
    pub fn max_upload_bytes(&self) -> usize {
        self.max_component_bytes
            .max(self.javascript.max_component_bytes)
            .max(self.python.max_component_bytes)
    }

    /// The longest compile any language may take.
    pub fn max_compile_timeout_ms(&self) -> u64 {
        self.compile_timeout_ms
            .max(self.javascript.compile_timeout_ms)
            .max(self.python.compile_timeout_ms)
    }
}

impl Limits {
    /// These limits for a plugin written in `language`: at least its
    /// tier's fuel, deadline and memory (memory never past the engine's
    /// slot).
    pub fn for_language(&self, language: &str, engine: &EngineConfig) -> Limits {
        let tier = engine.tier(language);
        Limits {
            fuel: self.fuel.max(tier.min_fuel),
            deadline_ms: self.deadline_ms.max(tier.min_deadline_ms),
            memory_bytes: self
                .memory_bytes
                .max(tier.min_memory_bytes)
                .min(engine.max_memory_bytes),
            ..*self
        }
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_wasm_stack: 512 * 1024,
            max_memory_bytes: 64 * 1024 * 1024,
            pool_instances: 256,
            max_core_instances_per_plugin: 48,
            keep_resident_bytes: 1024 * 1024,
            max_component_bytes: 4 * 1024 * 1024,
            compile_timeout_ms: 10_000,
            epoch_tick_ms: 1,
            // Measured (ARCHITECTURE.md, performance): a QuickJS component is
            // ~1.8 MB (SpiderMonkey ~12 MB), compiles in 2–6 s and spends
            // ~0.5 M fuel and 1.5 MiB on a trivial call, far more when it logs.
            javascript: Tier {
                max_component_bytes: 16 * 1024 * 1024,
                compile_timeout_ms: 30_000,
                min_fuel: 100_000_000,
                min_deadline_ms: 1_000,
                min_memory_bytes: 32 * 1024 * 1024,
            },
            // componentize-py: ~18.5 MB, 5–7 s to compile (20 s under load),
            // ~0.3–0.6 M fuel and 12.8 MiB on a trivial call.
            python: Tier {
                max_component_bytes: 32 * 1024 * 1024,
                compile_timeout_ms: 60_000,
                min_fuel: 100_000_000,
                min_deadline_ms: 1_000,
                min_memory_bytes: 64 * 1024 * 1024,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An interpreter's tier raises what a call gets to what its runtime
    /// needs; a tenant's larger value stays; compiled languages keep the
    /// call's own.
    #[test]
    fn a_language_tier_raises_fuel_deadline_and_memory_to_its_minimums() {
        let engine = EngineConfig::default();
        let call = Limits::default();
        let python = call.for_language("python", &engine);
        assert_eq!(python.fuel, engine.python.min_fuel);
        assert_eq!(python.deadline_ms, engine.python.min_deadline_ms);
        assert_eq!(python.memory_bytes, engine.python.min_memory_bytes);
        assert!(python.deadline_ms > call.deadline_ms);
        let patient = Limits {
            deadline_ms: 5_000,
            ..call
        };
        assert_eq!(
            patient.for_language("javascript", &engine).deadline_ms,
            5_000
        );
        assert_eq!(call.for_language("rust", &engine), call);
        assert_eq!(call.for_language("unknown", &engine), call);
    }
}
