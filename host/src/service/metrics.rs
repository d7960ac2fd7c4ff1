//! Operator metrics, kept with `prometheus-client` and served in the
//! OpenMetrics text format. Every label takes its value from a fixed set
//! (endpoint names, hooks, outcomes, error kinds, budget names, codes), so
//! series stay bounded whatever the traffic. Increments take a read lock on
//! one family at most: no process-wide mutex on the request path.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::OnceLock;

const DURATION_BUCKETS: [f64; 12] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5,
];
const FUEL_BUCKETS: [f64; 8] = [1e3, 1e4, 1e5, 3e5, 1e6, 3e6, 1e7, 1e8];
const REQUEST_BUCKETS: [f64; 10] = [
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    endpoint: &'static str,
    mode: &'static str,
    code: i64,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InvocationLabels {
    hook: &'static str,
    outcome: &'static str,
    error_kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HookLabels {
    hook: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    limit: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ShadowLabels {
    hook: &'static str,
    /// Tenant-chosen, so bounded by the binding quota (`max_bindings`) per
    /// tenant; bindings of the same name in several tenants share a series.
    binding: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BudgetLabels {
    budget: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConnectionLabels {
    /// `shared` (the store's pool) or `call-path` (PostgreSQL's own
    /// connections for the call path, `store::direct_pg`).
    pool: &'static str,
    /// `in-use` or `idle`.
    state: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn durations() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

fn fuel() -> Histogram {
    Histogram::new(FUEL_BUCKETS)
}

fn request_durations() -> Histogram {
    Histogram::new(REQUEST_BUCKETS)
}

/// The process's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_duration: Histograms<EndpointLabels>,
    invocations: Family<InvocationLabels, Counter>,
    plugin_duration: Histograms<HookLabels>,
    plugin_fuel: Histograms<HookLabels>,
    limit_hits: Family<LimitLabels, Counter>,
    upload_rejections: Family<ReasonLabels, Counter>,
    admin_requests: Family<StatusLabels, Counter>,
    decisions_written: Counter,
    decisions_dropped: Family<ReasonLabels, Counter>,
    budget_refusals: Family<BudgetLabels, Counter>,
    open_connections: Gauge,
    compiled_cache_bytes: Gauge,
    compiles_running: Gauge,
    shadow_runs: Family<ShadowLabels, Counter>,
    store_connections: Family<ConnectionLabels, Gauge>,
}

/// Registers a metric and hands it back, so that [`Metrics::new`] reads as
/// one list.
struct Registrar<'a>(&'a mut Registry);

impl Registrar<'_> {
    fn metric<M: prometheus_client::registry::Metric + Clone>(
        &mut self,
        name: &str,
        help: &str,
        metric: M,
    ) -> M {
        self.0.register(name, help, metric.clone());
        metric
    }
}

/// Counts a compile as running until dropped.
pub struct Running(Gauge);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let mut add = Registrar(&mut registry);
        Metrics {
            requests: add.metric(
                "tollgate_requests",
                "Service Manager calls by endpoint, mode and answered Code",
                Family::default(),
            ),
            request_duration: add.metric(
                "tollgate_request_duration_seconds",
                "Service Manager call duration by endpoint",
                Histograms::new_with_constructor(request_durations as fn() -> Histogram),
            ),
            invocations: add.metric(
                "tollgate_hook_invocations",
                "Plugin invocations by hook, outcome and error kind",
                Family::default(),
            ),
            plugin_duration: add.metric(
                "tollgate_plugin_duration_seconds",
                "Plugin call duration (fresh instance + call) by hook",
                Histograms::new_with_constructor(durations as fn() -> Histogram),
            ),
            plugin_fuel: add.metric(
                "tollgate_plugin_fuel",
                "Fuel used per plugin call by hook",
                Histograms::new_with_constructor(fuel as fn() -> Histogram),
            ),
            limit_hits: add.metric(
                "tollgate_limit_hits",
                "Plugin calls stopped by a limit, by limit",
                Family::default(),
            ),
            upload_rejections: add.metric(
                "tollgate_upload_rejections",
                "Refused plugin uploads by reason",
                Family::default(),
            ),
            admin_requests: add.metric(
                "tollgate_admin_requests",
                "Admin API requests by status class",
                Family::default(),
            ),
            decisions_written: add.metric(
                "tollgate_decision_records_written",
                "Decision records written to the database",
                Counter::default(),
            ),
            decisions_dropped: add.metric(
                "tollgate_decision_records_dropped",
                "Decision records not written, by reason (queue-full, call-budget, write-failed)",
                Family::default(),
            ),
            budget_refusals: add.metric(
                "tollgate_budget_refusals",
                "Requests or records refused because a resource bound was reached, by budget (see SECURITY.md)",
                Family::default(),
            ),
            open_connections: add.metric(
                "tollgate_open_connections",
                "HTTP connections open now",
                Gauge::default(),
            ),
            compiled_cache_bytes: add.metric(
                "tollgate_compiled_cache_bytes",
                "Bytes of compiled plugins (native code and memory images) held in memory",
                Gauge::default(),
            ),
            compiles_running: add.metric(
                "tollgate_compiles_running",
                "Uploads being compiled now",
                Gauge::default(),
            ),
            shadow_runs: add.metric(
                "tollgate_shadow_runs",
                "Shadow runs by hook, binding name and outcome (agreed, disagreed, failed)",
                Family::default(),
            ),
            store_connections: add.metric(
                "tollgate_store_connections",
                "Database connections held now, by pool (shared, call-path) and state (in-use, idle)",
                Family::default(),
            ),
            registry,
        }
    }

    pub fn request(&self, endpoint: &'static str, check_only: bool, code: i32, seconds: f64) {
        let mode = if check_only { "check" } else { "real" };
        self.requests
            .get_or_create(&RequestLabels {
                endpoint,
                mode,
                code: i64::from(code),
            })
            .inc();
        self.request_duration
            .get_or_create(&EndpointLabels { endpoint })
            .observe(seconds);
    }

    pub fn invocation(
        &self,
        hook: &'static str,
        outcome: &'static str,
        error_kind: Option<&'static str>,
        is_limit: bool,
        seconds: f64,
        fuel: u64,
    ) {
        let error_kind = error_kind.unwrap_or("none");
        self.invocations
            .get_or_create(&InvocationLabels {
                hook,
                outcome,
                error_kind,
            })
            .inc();
        if is_limit {
            self.limit_hits
                .get_or_create(&LimitLabels { limit: error_kind })
                .inc();
        }
        self.plugin_duration
            .get_or_create(&HookLabels { hook })
            .observe(seconds);
        self.plugin_fuel
            .get_or_create(&HookLabels { hook })
            .observe(fuel as f64);
    }

    pub fn upload_rejected(&self, reason: &'static str) {
        self.upload_rejections
            .get_or_create(&ReasonLabels { reason })
            .inc();
    }

    pub fn admin_request(&self, status: u16) {
        let status = match status / 100 {
            1 => "1xx",
            2 => "2xx",
            3 => "3xx",
            4 => "4xx",
            _ => "5xx",
        };
        self.admin_requests
            .get_or_create(&StatusLabels { status })
            .inc();
    }

    pub fn decisions_written(&self, n: u64) {
        self.decisions_written.inc_by(n);
    }

    /// Records not written; `reason` is `queue-full`, `call-budget` or
    /// `write-failed`.
    pub fn decisions_dropped(&self, reason: &'static str, n: u64) {
        self.decisions_dropped
            .get_or_create(&ReasonLabels { reason })
            .inc_by(n);
    }

    /// A bound of SECURITY.md's budget table refused something.
    pub fn budget_refused(&self, budget: super::budgets::Budget) {
        self.budget_refusals
            .get_or_create(&BudgetLabels {
                budget: budget.as_str(),
            })
            .inc();
    }

    pub fn compiled_cache_bytes(&self, bytes: u64) {
        self.compiled_cache_bytes
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    pub fn shadow_run(&self, hook: &'static str, binding: &str, outcome: &'static str) {
        self.shadow_runs
            .get_or_create(&ShadowLabels {
                hook,
                binding: binding.to_string(),
                outcome,
            })
            .inc();
    }

    /// A compile starts; it counts as running until the guard drops.
    pub fn compile_started(&self) -> Running {
        self.compiles_running.inc();
        Running(self.compiles_running.clone())
    }

    pub fn connection_opened(&self) {
        self.open_connections.inc();
    }

    pub fn connection_closed(&self) {
        self.open_connections.dec();
    }

    /// The store's connections as they are now (set when the metrics are
    /// read: the store keeps the counts).
    pub fn set_store_connections(&self, counts: &crate::store::ConnectionCounts) {
        let pools = [
            ("shared", Some(counts.shared)),
            ("call-path", counts.call_path),
        ];
        for (pool, connections) in pools {
            let Some(connections) = connections else {
                continue;
            };
            for (state, n) in [("in-use", connections.in_use), ("idle", connections.idle)] {
                let gauge = self
                    .store_connections
                    .get_or_create(&ConnectionLabels { pool, state });
                gauge.set(i64::try_from(n).unwrap_or(i64::MAX));
            }
        }
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        self.sync_dropped_log_lines();
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Where the process's log writer counts the lines it dropped (set once,
/// by whoever installs the log writer; a process without one drops none).
static DROPPED_LOG_LINES: OnceLock<Box<dyn Fn() -> u64 + Send + Sync>> = OnceLock::new();

/// Count the log writer's dropped lines as `log-queue` refusals. The
/// writer lives outside the service (the binary installs it), so its
/// counter is read when the metrics are.
pub fn watch_dropped_log_lines(dropped: impl Fn() -> u64 + Send + Sync + 'static) {
    let _ = DROPPED_LOG_LINES.set(Box::new(dropped));
}

impl Metrics {
    /// Bring the `log-queue` refusals up to the writer's count (only ever
    /// up: the writer's counter only grows).
    fn sync_dropped_log_lines(&self) {
        let Some(dropped) = DROPPED_LOG_LINES.get() else {
            return;
        };
        let counter = self.budget_refusals.get_or_create(&BudgetLabels {
            budget: super::budgets::Budget::LogQueue.as_str(),
        });
        let (now, counted) = (dropped(), counter.get());
        if now > counted {
            counter.inc_by(now - counted);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The log writer's dropped lines show as `log-queue` refusals, up to
    /// date whenever the metrics are read. (The only test in this binary
    /// that installs a source: it is process-wide.)
    #[test]
    fn dropped_log_lines_are_counted_when_the_metrics_are_read() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU64, Ordering};
        let dropped = Arc::new(AtomicU64::new(0));
        let source = dropped.clone();
        watch_dropped_log_lines(move || source.load(Ordering::SeqCst));
        let m = Metrics::new();
        let series = r#"tollgate_budget_refusals_total{budget="log-queue"} "#;
        let count = |m: &Metrics| {
            m.render()
                .lines()
                .find_map(|l| l.strip_prefix(series)?.trim().parse::<u64>().ok())
        };
        assert_eq!(count(&m), Some(0));
        dropped.store(7, Ordering::SeqCst);
        assert_eq!(count(&m), Some(7));
        dropped.store(9, Ordering::SeqCst);
        assert_eq!(count(&m), Some(9));
    }

    #[test]
    fn renders_counters_and_cumulative_histograms() {
        let m = Metrics::new();
        m.request("Subscriptions/Create", true, -105, 0.003);
        m.request("Subscriptions/Create", true, -105, 0.2);
        m.invocation(
            "precheck",
            "error",
            Some("fuel-exhausted"),
            true,
            0.004,
            10_000_000,
        );
        m.budget_refused(super::super::budgets::Budget::CallAddons);
        let text = m.render();
        assert!(text.contains(r#"tollgate_requests_total{endpoint="Subscriptions/Create",mode="check",code="-105"} 2"#), "{text}");
        assert!(text.contains(r#"tollgate_request_duration_seconds_bucket{le="0.005",endpoint="Subscriptions/Create"} 1"#), "{text}");
        assert!(text.contains(r#"tollgate_request_duration_seconds_bucket{le="+Inf",endpoint="Subscriptions/Create"} 2"#), "{text}");
        assert!(
            text.contains(r#"tollgate_limit_hits_total{limit="fuel-exhausted"} 1"#),
            "{text}"
        );
        assert!(
            text.contains("tollgate_decision_records_written_total 0"),
            "{text}"
        );
        assert!(
            text.contains(r#"tollgate_budget_refusals_total{budget="call-addons"} 1"#),
            "{text}"
        );
    }
}
