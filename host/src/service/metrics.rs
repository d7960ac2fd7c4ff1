//! Operator metrics in the Prometheus text format. Every label takes its
//! value from a fixed set (endpoint names, hooks, error kinds, codes), so
//! series stay bounded whatever the traffic.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};

const DURATION_BUCKETS: [f64; 12] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5,
];
const FUEL_BUCKETS: [f64; 8] = [1e3, 1e4, 1e5, 3e5, 1e6, 3e6, 1e7, 1e8];
const REQUEST_BUCKETS: [f64; 10] = [
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

#[derive(Default, Clone)]
struct Histogram {
    buckets: Vec<u64>,
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], value: f64) {
        if self.buckets.is_empty() {
            self.buckets = vec![0; bounds.len()];
        }
        for (i, bound) in bounds.iter().enumerate() {
            if value <= *bound {
                self.buckets[i] += 1;
            }
        }
        self.count += 1;
        self.sum += value;
    }
}

#[derive(Default)]
struct Inner {
    counters: BTreeMap<(&'static str, String), u64>,
    histograms: BTreeMap<(&'static str, String), Histogram>,
}

/// The process's metrics.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

const HELP: &[(&str, &str, &str)] = &[
    (
        "tollgate_requests_total",
        "counter",
        "Service Manager calls by endpoint, mode and answered Code.",
    ),
    (
        "tollgate_request_duration_seconds",
        "histogram",
        "Service Manager call duration by endpoint.",
    ),
    (
        "tollgate_hook_invocations_total",
        "counter",
        "Plugin invocations by hook, outcome and error kind.",
    ),
    (
        "tollgate_plugin_duration_seconds",
        "histogram",
        "Plugin call duration (fresh instance + call) by hook.",
    ),
    (
        "tollgate_plugin_fuel",
        "histogram",
        "Fuel used per plugin call by hook.",
    ),
    (
        "tollgate_limit_hits_total",
        "counter",
        "Plugin calls stopped by a limit, by limit.",
    ),
    (
        "tollgate_upload_rejections_total",
        "counter",
        "Refused plugin uploads by reason.",
    ),
    (
        "tollgate_admin_requests_total",
        "counter",
        "Admin API requests by status class.",
    ),
    (
        "tollgate_decision_records_written_total",
        "counter",
        "Decision records written to the database.",
    ),
    (
        "tollgate_decision_records_dropped_total",
        "counter",
        "Decision records dropped (queue full or write failure).",
    ),
];

fn bounds_of(name: &str) -> &'static [f64] {
    match name {
        "tollgate_plugin_fuel" => &FUEL_BUCKETS,
        "tollgate_request_duration_seconds" => &REQUEST_BUCKETS,
        _ => &DURATION_BUCKETS,
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn labels(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect::<Vec<_>>()
        .join(",")
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    fn add(&self, name: &'static str, pairs: &[(&str, &str)], by: u64) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        *inner.counters.entry((name, labels(pairs))).or_default() += by;
    }

    fn observe(&self, name: &'static str, pairs: &[(&str, &str)], value: f64) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner
            .histograms
            .entry((name, labels(pairs)))
            .or_default()
            .observe(bounds_of(name), value);
    }

    pub fn request(&self, endpoint: &str, check_only: bool, code: i32, seconds: f64) {
        let mode = if check_only { "check" } else { "real" };
        let code = code.to_string();
        self.add(
            "tollgate_requests_total",
            &[("endpoint", endpoint), ("mode", mode), ("code", &code)],
            1,
        );
        self.observe(
            "tollgate_request_duration_seconds",
            &[("endpoint", endpoint)],
            seconds,
        );
    }

    pub fn invocation(
        &self,
        hook: &str,
        outcome: &str,
        error_kind: Option<&str>,
        is_limit: bool,
        seconds: f64,
        fuel: u64,
    ) {
        let kind = error_kind.unwrap_or("none");
        self.add(
            "tollgate_hook_invocations_total",
            &[("hook", hook), ("outcome", outcome), ("error_kind", kind)],
            1,
        );
        if is_limit {
            self.add("tollgate_limit_hits_total", &[("limit", kind)], 1);
        }
        self.observe(
            "tollgate_plugin_duration_seconds",
            &[("hook", hook)],
            seconds,
        );
        self.observe("tollgate_plugin_fuel", &[("hook", hook)], fuel as f64);
    }

    pub fn upload_rejected(&self, reason: &str) {
        self.add("tollgate_upload_rejections_total", &[("reason", reason)], 1);
    }

    pub fn admin_request(&self, status: u16) {
        let class = format!("{}xx", status / 100);
        self.add("tollgate_admin_requests_total", &[("status", &class)], 1);
    }

    pub fn decisions_written(&self, n: u64) {
        self.add("tollgate_decision_records_written_total", &[], n);
    }

    pub fn decisions_dropped(&self, n: u64) {
        self.add("tollgate_decision_records_dropped_total", &[], n);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = String::new();
        for (name, kind, help) in HELP {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            if *kind == "counter" {
                let mut any = false;
                for ((n, l), v) in inner.counters.range((*name, String::new())..) {
                    if n != name {
                        break;
                    }
                    any = true;
                    let _ = if l.is_empty() {
                        writeln!(out, "{name} {v}")
                    } else {
                        writeln!(out, "{name}{{{l}}} {v}")
                    };
                }
                if !any
                    && !name.contains("{")
                    && [
                        "tollgate_decision_records_written_total",
                        "tollgate_decision_records_dropped_total",
                    ]
                    .contains(name)
                {
                    let _ = writeln!(out, "{name} 0");
                }
            } else {
                let bounds = bounds_of(name);
                for ((n, l), h) in inner.histograms.range((*name, String::new())..) {
                    if n != name {
                        break;
                    }
                    let sep = if l.is_empty() { "" } else { "," };
                    for (i, bound) in bounds.iter().enumerate() {
                        let _ = writeln!(
                            out,
                            "{name}_bucket{{{l}{sep}le=\"{bound}\"}} {}",
                            h.buckets.get(i).copied().unwrap_or(0)
                        );
                    }
                    let _ = writeln!(out, "{name}_bucket{{{l}{sep}le=\"+Inf\"}} {}", h.count);
                    let braces = if l.is_empty() {
                        String::new()
                    } else {
                        format!("{{{l}}}")
                    };
                    let _ = writeln!(out, "{name}_sum{braces} {}", h.sum);
                    let _ = writeln!(out, "{name}_count{braces} {}", h.count);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let text = m.render();
        assert!(text.contains(r#"tollgate_requests_total{endpoint="Subscriptions/Create",mode="check",code="-105"} 2"#), "{text}");
        assert!(text.contains(r#"tollgate_request_duration_seconds_bucket{endpoint="Subscriptions/Create",le="0.005"} 1"#), "{text}");
        assert!(text.contains(r#"tollgate_request_duration_seconds_bucket{endpoint="Subscriptions/Create",le="+Inf"} 2"#));
        assert!(text.contains(r#"tollgate_limit_hits_total{limit="fuel-exhausted"} 1"#));
        assert!(text.contains("tollgate_decision_records_dropped_total 0"));
    }
}
