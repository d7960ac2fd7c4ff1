//! Every resource a tenant can consume, named once. Each bound is enforced
//! in one place (named here), counted in `tollgate_budget_refusals_total`
//! under its name when it refuses or cuts something, and listed in
//! SECURITY.md with the test that proves it.

use serde::{Deserialize, Serialize};

/// The bounds beyond one plugin call (those are `runtime::Limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Budget {
    /// Add-ons in one platform call (`domain::interworks`; Code -2).
    CallAddons,
    /// Plugin time in one platform call (`service::hooks`; the binding's
    /// failure policy applies).
    CallPluginTime,
    /// Time to answer a platform call (`service::platform`; Code -4).
    AnswerDeadline,
    /// Bytes of one decision record (`service::decisions`; truncated).
    DecisionRecordBytes,
    /// Bytes of decision records one call writes (`service::decisions`;
    /// further records dropped).
    DecisionCallBytes,
    /// Bytes waiting in the decision writer's queue (`service::decisions`;
    /// records dropped).
    DecisionQueueBytes,
    /// Bytes of decision records kept per tenant (`store::decisions`;
    /// oldest pruned).
    RetentionBytes,
    /// Plugin versions a tenant stores (`service::admin` upload; 409).
    PluginVersions,
    /// Bytes of plugin versions a tenant stores (`service::admin` upload; 409).
    PluginBytes,
    /// Bindings a tenant has (`service::admin`; 409).
    Bindings,
    /// Waiting for a compile slot (`service::compile`; 503).
    CompileQueue,
    /// Open HTTP connections (`http::serve`; further connections wait).
    Connections,
    /// Time to send a request's headers (`http::serve`; connection closed).
    HeaderTimeout,
    /// Time to send a request's body (`http::Body`; 408).
    BodyTimeout,
    /// Waiting for a plugin slot (`service::hooks`; Code -4).
    PluginQueue,
    /// Log lines waiting for stderr (the binary's `cli::init_logging`;
    /// further lines dropped). Counted from the log writer's own counter
    /// when `/metrics` is read.
    LogQueue,
}

impl Budget {
    pub fn as_str(self) -> &'static str {
        match self {
            Budget::CallAddons => "call-addons",
            Budget::CallPluginTime => "call-plugin-time",
            Budget::AnswerDeadline => "answer-deadline",
            Budget::DecisionRecordBytes => "decision-record-bytes",
            Budget::DecisionCallBytes => "decision-call-bytes",
            Budget::DecisionQueueBytes => "decision-queue-bytes",
            Budget::RetentionBytes => "retention-bytes",
            Budget::PluginVersions => "plugin-versions",
            Budget::PluginBytes => "plugin-bytes",
            Budget::Bindings => "bindings",
            Budget::CompileQueue => "compile-queue",
            Budget::Connections => "connections",
            Budget::HeaderTimeout => "header-timeout",
            Budget::BodyTimeout => "body-timeout",
            Budget::PluginQueue => "plugin-queue",
            Budget::LogQueue => "log-queue",
        }
    }
}

/// Per-tenant quotas beyond one plugin call: server-wide defaults, which an
/// operator may override per tenant ([`TenantLimits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quotas {
    /// Plugin versions a tenant may store.
    pub max_plugin_versions: u64,
    /// Bytes of plugin versions a tenant may store.
    pub max_plugin_bytes: u64,
    /// Bindings a tenant may have (all hooks).
    pub max_bindings: u64,
    /// Plugin time one platform call may spend, in milliseconds.
    pub call_budget_ms: u64,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            max_plugin_versions: 100,
            max_plugin_bytes: 256 * 1024 * 1024,
            max_bindings: 64,
            call_budget_ms: 1_000,
        }
    }
}

/// A tenant's own limits, as the operator sets them (`tenant set-limits`,
/// `PUT /admin/v1/tenants/{id}/limits`): each field present overrides the
/// server's default; absent fields follow the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantLimits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_plugin_versions: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_plugin_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bindings: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_budget_ms: Option<u64>,
}

impl TenantLimits {
    /// The per-call limits these overrides give on top of `defaults`.
    pub fn call(&self, defaults: &crate::runtime::Limits) -> crate::runtime::Limits {
        crate::runtime::Limits {
            fuel: self.fuel.unwrap_or(defaults.fuel),
            deadline_ms: self.deadline_ms.unwrap_or(defaults.deadline_ms),
            memory_bytes: self.memory_bytes.unwrap_or(defaults.memory_bytes),
            input_bytes: self.input_bytes.unwrap_or(defaults.input_bytes),
            output_bytes: self.output_bytes.unwrap_or(defaults.output_bytes),
            log_bytes: self.log_bytes.unwrap_or(defaults.log_bytes),
        }
    }

    /// The quotas these overrides give on top of `defaults`.
    pub fn quotas(&self, defaults: &Quotas) -> Quotas {
        Quotas {
            max_plugin_versions: self
                .max_plugin_versions
                .unwrap_or(defaults.max_plugin_versions),
            max_plugin_bytes: self.max_plugin_bytes.unwrap_or(defaults.max_plugin_bytes),
            max_bindings: self.max_bindings.unwrap_or(defaults.max_bindings),
            call_budget_ms: self.call_budget_ms.unwrap_or(defaults.call_budget_ms),
        }
    }

    /// Check the overrides against the engine's ceilings.
    pub fn validate(
        &self,
        defaults: &crate::runtime::Limits,
        engine: &crate::runtime::EngineConfig,
    ) -> Result<(), String> {
        self.call(defaults).validate(engine)?;
        for (name, value) in [
            ("max_plugin_versions", self.max_plugin_versions),
            ("max_bindings", self.max_bindings),
        ] {
            if value.is_some_and(|v| v == 0 || v > 100_000) {
                return Err(format!("{name} must be between 1 and 100000"));
            }
        }
        if self.max_plugin_bytes.is_some_and(|v| v == 0 || v > 1 << 40) {
            return Err("max_plugin_bytes must be between 1 and 1099511627776".into());
        }
        if self.call_budget_ms.is_some_and(|v| v == 0 || v > 60_000) {
            return Err("call_budget_ms must be between 1 and 60000".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{EngineConfig, Limits};

    #[test]
    fn overrides_apply_on_top_of_the_servers_defaults() {
        let defaults = Limits {
            fuel: 5,
            ..Limits::default()
        };
        let mine: TenantLimits = serde_json::from_str(r#"{"deadline_ms": 300}"#).unwrap();
        let call = mine.call(&defaults);
        assert_eq!((call.fuel, call.deadline_ms), (5, 300));
        let quotas = TenantLimits {
            max_plugin_versions: Some(3),
            ..TenantLimits::default()
        }
        .quotas(&Quotas::default());
        assert_eq!(quotas.max_plugin_versions, 3);
        assert_eq!(quotas.max_plugin_bytes, Quotas::default().max_plugin_bytes);
    }

    #[test]
    fn stored_full_limits_of_earlier_versions_still_read() {
        let old = r#"{"fuel":1,"deadline_ms":2,"memory_bytes":3,"input_bytes":4,"output_bytes":5,"log_bytes":6}"#;
        let read: TenantLimits = serde_json::from_str(old).unwrap();
        assert_eq!(read.log_bytes, Some(6));
    }

    #[test]
    fn unknown_or_out_of_range_values_are_refused() {
        assert!(serde_json::from_str::<TenantLimits>(r#"{"fuell": 1}"#).is_err());
        let zero = TenantLimits {
            max_plugin_versions: Some(0),
            ..TenantLimits::default()
        };
        let err = zero
            .validate(&Limits::default(), &EngineConfig::default())
            .unwrap_err();
        assert!(err.contains("max_plugin_versions"), "{err}");
    }
}
