//! `make bench`: the vmm bridge, as a black box (MQTT in and out, `/healthz`, `/metrics`), against
//! what an application without vmm does with the MongoDB driver, on a private Mosquitto and a
//! private FerretDB that this program starts and stops. Prints a markdown report and writes it
//! into the generated section of docs/BENCHMARKS.md. `--help` lists the options.

mod config;
mod cpu;
mod driver;
mod http;
mod load;
mod mqtt;
mod procs;
mod report;
mod scenario;
mod stats;
mod vmm;

use clap::Parser;
use config::{Args, Plan};
use report::Section;
use scenario::Ctx;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    // On Ctrl+C or SIGTERM the run is dropped, and with it every process it started.
    let result = tokio::select! {
        r = run(args) => r,
        s = interrupted() => Err(format!("stopped by {s}; the processes it started are stopped too")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vmm-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let plan = Plan::new(&args)?;
    let root = std::env::current_dir().map_err(|e| e.to_string())?;
    let bridge_bin = existing(&root, &args.bridge, "the bridge: build it with `cargo build --release -p vmm-bridge`")?;
    let ferretdb = existing(&root, &args.ferretdb, "FerretDB: install it with `bash scripts/services.sh install`")?;
    let mosquitto = match &args.mosquitto {
        Some(p) => existing(&root, p, "Mosquitto")?,
        None => procs::find_program("mosquitto")
            .ok_or("mosquitto is not installed: `bash scripts/services.sh install` installs it")?,
    };
    eprintln!(
        "vmm-bench: {} mode, scenarios {}; about {:.0} s of measuring, more if the bridge is slow",
        if plan.quick { "quick" } else { "full" },
        plan.scenarios.join(", "),
        plan.estimate_secs()
    );

    // Before the broker is started: it inherits the limit.
    let files = vmm_bridge::raise_fd_limit().map_err(|e| format!("cannot raise the open-file limit: {e}"))?;
    if plan.scenarios.contains(&"scaling") {
        let most = |v: &[usize]| v.iter().max().copied().unwrap_or(0);
        let n = most(&plan.scaling.clients) + most(&plan.scaling.watchers);
        if n as u64 + 200 > files {
            return Err(format!(
                "the scaling scenario's {n} connections need more open files than the limit of {files}"
            ));
        }
    }

    let unix = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let tag = format!("{}x{}", unix % 1_000_000, std::process::id());
    let dir = root.join(".data").join(format!("bench-{tag}"));
    let services = procs::Services::start(&root, dir, &ferretdb, &mosquitto, args.keep).await?;
    eprintln!(
        "vmm-bench: private Mosquitto on 127.0.0.1:{}, FerretDB on 127.0.0.1:{} (metrics on :{})",
        services.mqtt_port, services.mongo_port, services.debug_port
    );
    let mut ferretdb_version = services.ferretdb_version().await.unwrap_or_else(|| "(version unknown)".into());
    // scripts/services.sh records which build (with which patches) it made.
    if let Ok(build) = std::fs::read_to_string(ferretdb.with_extension("build")) {
        ferretdb_version = format!("{ferretdb_version}, build {}", build.trim());
    }
    let ctx = Ctx { plan: plan.clone(), services, bridge_bin, tag };

    let started = Instant::now();
    let mut sections: Vec<Section> = Vec::new();
    for name in &plan.scenarios {
        eprintln!("vmm-bench: scenario {name} …");
        let t = Instant::now();
        let mut section = match *name {
            "throughput" => scenario::throughput::run(&ctx).await,
            "scale" => scenario::scale::run(&ctx).await,
            "hot" => scenario::hot::run(&ctx).await,
            "idle" => scenario::idle::run(&ctx).await,
            "rss" => scenario::rss::run(&ctx).await,
            "browser" => scenario::browser::run(&ctx).await,
            "scaling" => scenario::scaling::run(&ctx).await,
            "mirror" => scenario::mirror::run(&ctx).await,
            _ => scenario::ops::run(&ctx).await,
        };
        section.number = config::SCENARIOS.iter().position(|s| s == name).map_or(0, |i| i + 1);
        eprintln!("vmm-bench: scenario {name} done in {:.0} s", t.elapsed().as_secs_f64());
        sections.push(section);
    }
    drop(ctx);

    let bridge = args.bridge.display().to_string();
    let mut header = header(&root, &plan, &bridge, &ferretdb_version, started.elapsed().as_secs_f64(), unix);
    let out = (args.out != "-").then(|| root.join(&args.out));
    if let (false, Some(out)) = (args.only.is_empty(), &out) {
        keep_others(out, &mut sections, &mut header);
    }
    let mut body = report::render(&header, &sections);
    body.push_str(&format!("\n{}\n", report::tally(&sections)));
    println!("{body}");
    if let Some(out) = out {
        report::write_markdown(&out, &body).map_err(|e| format!("{}: {e}", out.display()))?;
        eprintln!("vmm-bench: wrote {}", out.display());
    }
    Ok(())
}

/// A run of some scenarios: the others' figures stay as the last run wrote them into `out`.
fn keep_others(out: &Path, sections: &mut Vec<Section>, header: &mut Vec<String>) {
    let ran: Vec<usize> = sections.iter().map(|s| s.number).collect();
    let kept = report::keep_previous(&std::fs::read_to_string(out).unwrap_or_default(), &ran);
    if !kept.is_empty() {
        let numbers = |v: Vec<usize>| v.iter().map(usize::to_string).collect::<Vec<_>>().join(", ");
        header.push(format!(
            "\nThis run measured scenario(s) {} only; the figures of {} are kept from earlier runs (each says which).",
            numbers(ran),
            numbers(kept.iter().map(|s| s.number).collect())
        ));
    }
    sections.extend(kept);
    sections.sort_by_key(|s| s.number);
}

/// Waits for SIGINT or SIGTERM and names it.
async fn interrupted() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
        (Ok(mut int), Ok(mut term)) => tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        },
        _ => std::future::pending().await,
    }
}

fn existing(root: &Path, path: &Path, what: &str) -> Result<PathBuf, String> {
    let full = root.join(path);
    if full.is_file() {
        Ok(full)
    } else {
        Err(format!("{} not found; {what}", full.display()))
    }
}

/// What the figures were measured on.
fn header(root: &Path, plan: &Plan, bridge: &str, ferretdb: &str, secs: f64, unix: u64) -> Vec<String> {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    let commit = git(&["rev-parse", "--short", "HEAD"]);
    // What the figures depend on: the bridge and the core (every scenario), the browser package
    // and its engine (the browser scenario), the bench itself.
    let measured = ["bridge", "protocol", "engine", "wasm-client", "bench"];
    let changed: Vec<&str> =
        measured.into_iter().filter(|dir| !git(&["status", "--porcelain", "--", dir]).is_empty()).collect();
    let dirty = if changed.is_empty() {
        String::new()
    } else {
        format!(" plus uncommitted changes in {}/", changed.join("/, "))
    };
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_string()))
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    vec![
        format!(
            "## Results ({} mode{})",
            if plan.quick { "quick" } else { "full" },
            if plan.quick { ": small sizes and short windows, for development only" } else { "" }
        ),
        String::new(),
        format!(
            "Measured {} UTC on {cores} cores ({cpu}) at commit {commit}{dirty}, in {:.0} s; bridge `{bridge}`; \
             FerretDB {ferretdb} (SQLite) and Mosquitto private to the run, on loopback.",
            utc(unix),
            secs
        ),
    ]
}

/// `YYYY-MM-DD HH:MM` for seconds since the Unix epoch, from the protocol's canonical form of an
/// Extended JSON date (`{"$date": "YYYY-MM-DDTHH:MM:SS.mmmZ"}`).
fn utc(unix: u64) -> String {
    let date = serde_json::json!({"$date": {"$numberLong": (unix * 1000).to_string()}});
    let canonical = vmm_protocol::value::canonicalize(date, &vmm_protocol::Limits::default());
    match canonical.as_ref().ok().and_then(|d| d["$date"].as_str()) {
        Some(rfc3339) => rfc3339[..16].replace('T', " "),
        None => format!("{unix} s after the Unix epoch"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00");
        assert_eq!(super::utc(1_764_288_000), "2025-11-28 00:00");
        assert_eq!(super::utc(951_782_400 + 3_723), "2000-02-29 01:02");
    }
}
