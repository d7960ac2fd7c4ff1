//! A probe of the sandbox, reporting what it saw in its rejection message
//! (Code -150) so tests can read it from the platform's answer:
//!
//! - `sandbox`: tries files (read, list, write), the environment and
//!   arguments, stdin, TCP, UDP and name lookups.
//! - `state`: counts its calls in a static; a fresh instance per call always
//!   reports 1.
//! - `echo`: the settings and the customer's subscriptions it was given.
use std::io::Read;
use std::sync::atomic::{AtomicU32, Ordering};
use tollgate_plugin::{Context, Precheck, Request, Result, Verdict};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    probe: String,
}

static CALLS: AtomicU32 = AtomicU32::new(0);

fn io_outcome<T>(r: std::io::Result<T>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => format!("err({:?})", e.kind()),
    }
}

fn sandbox() -> String {
    let read = io_outcome(std::fs::read_to_string("/etc/passwd"));
    let list_root = io_outcome(std::fs::read_dir("/"));
    let list_cwd = io_outcome(std::fs::read_dir("."));
    let write = io_outcome(std::fs::write("probe.txt", b"x"));
    let env = std::env::vars_os().count();
    let args = std::env::args_os().count();
    let mut input = Vec::new();
    let stdin = match std::io::stdin().read_to_end(&mut input) {
        Ok(n) => format!("{n}"),
        Err(e) => format!("err({:?})", e.kind()),
    };
    let tcp = io_outcome(std::net::TcpStream::connect("127.0.0.1:9"));
    let udp = io_outcome(std::net::UdpSocket::bind("127.0.0.1:0"));
    let dns = io_outcome(std::net::ToSocketAddrs::to_socket_addrs(&("localhost", 80)));
    format!(
        "read={} list_root={} list_cwd={} write={} env={env} args={args} stdin={stdin} tcp={tcp} udp={udp} dns={dns}",
        short(&read),
        short(&list_root),
        short(&list_cwd),
        short(&write)
    )
}

/// Files: only whether it worked (the error kind varies with the path).
fn short(outcome: &str) -> &str {
    if outcome == "ok" { "ok" } else { "denied" }
}

fn echo(request: &Request) -> String {
    let settings: Vec<String> = request
        .settings
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let subscriptions: Vec<String> = tollgate_plugin::customer_subscriptions()
        .iter()
        .map(|s| format!("{}:{}", s.subscription_id, s.product_id))
        .collect();
    format!(
        "settings=[{}] subscriptions=[{}]",
        settings.join(","),
        subscriptions.join(",")
    )
}

struct Probe;

impl Precheck for Probe {
    fn check(request: &Request, context: &Context) -> Result<Verdict> {
        let config: Config = context.config()?;
        let report = match config.probe.as_str() {
            "sandbox" => sandbox(),
            "state" => format!("calls={}", CALLS.fetch_add(1, Ordering::SeqCst) + 1),
            "echo" => echo(request),
            other => format!("unknown probe {other}"),
        };
        Ok(Verdict::reject(-150, report))
    }
}

tollgate_plugin::export_precheck!(Probe, config = Config);
