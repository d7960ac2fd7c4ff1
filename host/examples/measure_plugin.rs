//! Measure a plugin component the way the server runs it: compile time,
//! native code size, fresh instance + call time, fuel and peak memory of a
//! call, and the imports it needs. For sizing limits per language.
//!
//! ```sh
//! cargo run --release -p tollgate --example measure_plugin -- PLUGIN.wasm FIXTURE.json [CALLS]
//! ```
//!
//! Runs under generous limits (256 MiB upload, 10 s deadline, 1e10 fuel,
//! 256 MiB memory) so the numbers show what a plugin needs, not where the
//! defaults stop it.

use std::time::{Duration, Instant};
use tollgate::codec;
use tollgate::runtime::{EngineConfig, Limits, Runtime};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), Some(fixture)) = (args.get(1), args.get(2)) else {
        anyhow::bail!("usage: measure_plugin PLUGIN.wasm FIXTURE.json [CALLS]");
    };
    let calls: usize = args.get(3).map_or(Ok(20), |n| n.parse())?;
    let engine = EngineConfig {
        max_component_bytes: 256 * 1024 * 1024,
        max_memory_bytes: 256 * 1024 * 1024,
        pool_instances: 16,
        // An experiment knob: how much guest memory the pool keeps resident.
        keep_resident_bytes: std::env::var("KEEP_RESIDENT_MIB")
            .ok()
            .and_then(|m| m.parse::<usize>().ok())
            .map_or(EngineConfig::default().keep_resident_bytes, |m| m << 20),
        ..EngineConfig::default()
    };
    let limits = Limits {
        fuel: 10_000_000_000,
        deadline_ms: 10_000,
        memory_bytes: 256 * 1024 * 1024,
        ..Limits::default()
    };
    let runtime = Runtime::new(engine)?;
    let bytes = std::fs::read(path)?;
    let started = Instant::now();
    let native = runtime.precompile(&bytes)?;
    let compile = started.elapsed();
    let started = Instant::now();
    let plugin = runtime.load_precompiled(&native)?;
    let load = started.elapsed();
    let fixture = codec::fixture_from_json(&std::fs::read_to_string(fixture)?)?;
    let input = fixture.input.into_input();
    let mut times = Vec::with_capacity(calls);
    let mut last = None;
    for _ in 0..calls.max(1) {
        let out = runtime.invoke(&plugin, &input, &limits);
        times.push(out.duration);
        last = Some(out);
    }
    times.sort();
    let median = times[times.len() / 2];
    let first = times.iter().copied().max().unwrap_or(Duration::ZERO);
    let out = last.expect("at least one call");
    let answer = match &out.outcome {
        Ok(o) => codec::output_to_json(o),
        Err(e) => format!("{} ({e})", e.kind()),
    };
    println!("component:        {path} ({} bytes)", bytes.len());
    println!("contract:         {}", plugin.contract());
    println!("language:         {}", plugin.language());
    println!("compile:          {:.2} s", compile.as_secs_f64());
    println!("native code:      {} bytes", native.len());
    println!("load + type-check: {:.1} ms", load.as_secs_f64() * 1e3);
    println!("answer:           {answer}");
    println!(
        "instance + call:  median {:.1} µs, slowest {:.1} µs over {} calls",
        median.as_secs_f64() * 1e6,
        first.as_secs_f64() * 1e6,
        times.len()
    );
    println!("fuel:             {}", out.fuel_used);
    println!(
        "peak memory:      {} bytes ({:.1} MiB)",
        out.peak_memory,
        out.peak_memory as f64 / 1048576.0
    );
    println!("imports:");
    for import in plugin.imports() {
        println!("  {import}");
    }
    Ok(())
}
