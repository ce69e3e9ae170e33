//! Scenario 7: ingest in the browser. In headless Chromium (bench/browser/run.mjs drives Debian's
//! Chromium with playwright-core), three pages receive the same N insert events of one collection
//! over the private Mosquitto's WebSockets listener:
//! - the vmm store shown through Vue: `connect()` from the package's entry, the collection
//!   watched, a small Vue 3 app showing it through `useCollection`, one row per document (the
//!   goals are about this one);
//! - the vmm store alone, no Vue (report only: how much of the time is the store's own);
//! - mqtt.js, the baseline: its browser bundle subscribing to the same event topics and
//!   `JSON.parse`-ing each message into a `Map`.
//!
//! The events are real protocol messages (built by `vmm-protocol`), published from here at QoS 1
//! over TCP as fast as the broker takes them. A real bridge serves the prefix, on a database of
//! its own that stays empty, so the store's `load` is answered (an empty snapshot) and the store
//! is online as in an application. Time: from the first publish to the moment the page shows all
//! N. `report` turns the runs into rows.

mod report;

use super::{Ctx, Result};
use crate::mqtt::Publisher;
use crate::procs::{find_program, Bridge, Piped};
use crate::report::Section;
use crate::stats::count;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use vmm_protocol::message::{document_with_id, Change, Event, Message};
use vmm_protocol::topic::Topics;
use vmm_protocol::{Id, Limits};

const COLLECTION: &str = "tasks";
/// The sides, in the runner's names: the baseline, the vmm store alone (report only: where the
/// store's own time goes), the vmm store shown through Vue (the goals).
const MQTTJS: &str = "mqttjs";
const STORE: &str = "vmm-store";
const VMM: &str = "vmm";
const SIDES: [&str; 3] = [MQTTJS, STORE, VMM];

/// A line of the runner's stdout.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Line {
    kind: String,
    side: Option<String>,
    n: Option<u64>,
    first_ms: Option<f64>,
    done_ms: Option<f64>,
    shown: Option<u64>,
    waited_ms: Option<f64>,
    error: Option<String>,
}

/// One run of one side at one size.
struct Sample {
    /// First publish → all N shown, in ms; `None` if not all were shown in time.
    ms: Option<f64>,
    shown: u64,
    /// When not all were shown: how long after the first publish the runner gave up.
    waited_ms: Option<f64>,
    error: Option<String>,
}

/// The runs by size and side, and how long the broker took to acknowledge a size's events, run by run.
#[derive(Default)]
struct Samples {
    runs: BTreeMap<(u64, &'static str), Vec<Sample>>,
    publish: BTreeMap<u64, Vec<Duration>>,
}

pub async fn run(ctx: &Ctx) -> Section {
    let mut section = Section::new("Ingest in the browser: the vmm store and Vue against mqtt.js");
    let mut samples = Samples::default();
    let outcome = measure(ctx, &mut samples).await;
    report::report(&ctx.plan, &samples, &mut section);
    match outcome {
        Ok(()) => section,
        Err(e) => section.failed(&e),
    }
}

async fn measure(ctx: &Ctx, samples: &mut Samples) -> Result<()> {
    let plan = &ctx.plan;
    let mqttjs = plan.mqttjs.clone().ok_or("no mqtt.js bundle: set VMM_BENCH_MQTTJS=$(bash scripts/mqttjs.sh)")?;
    let manifest = plan.client_pkg.join("package.json");
    if !mqttjs.is_file() || !manifest.is_file() {
        return Err(format!("{} or {} is missing: run `make wasm-pkg`", mqttjs.display(), manifest.display()));
    }
    let prefix = format!("bench-{}-browser", ctx.tag);
    let bridge = Bridge::start(&ctx.bridge_bin, &ctx.services, "bench_browser", &prefix).await?;
    let publisher = Publisher::connect(ctx.services.mqtt_port, &format!("{prefix}-publisher")).await?;
    let node = find_program("node").ok_or("node is not installed")?;
    let sizes: Vec<String> = plan.browser_sizes.iter().map(u64::to_string).collect();
    let mut cmd = Command::new(node);
    cmd.arg("bench/browser/run.mjs")
        .args(["--ws", &format!("ws://127.0.0.1:{}", ctx.services.ws_port)])
        .args(["--prefix", &prefix, "--collection", COLLECTION])
        .arg("--pkg")
        .arg(&plan.client_pkg)
        .arg("--mqttjs")
        .arg(&mqttjs)
        .args(["--sizes", &sizes.join(","), "--repeat", &plan.browser_repeat.to_string()]);
    let mut runner =
        Piped::spawn("the browser runner (bench/browser/run.mjs)", cmd, ctx.services.dir.join("browser.log"))?;
    let topics = Topics::new(&prefix).map_err(|e| e.to_string())?;
    let largest = plan.browser_sizes.iter().copied().max().unwrap_or(0);
    // Page set-up, then the runner's own limit for a run (20 s + 4 ms per event), with room.
    let quiet = Duration::from_secs(90) + Duration::from_millis(20_000 + 4 * largest);
    let mut events: BTreeMap<u64, Vec<(String, Vec<u8>)>> = BTreeMap::new();
    loop {
        let text = runner.next_line(quiet).await?;
        let line: Line = serde_json::from_str(&text).map_err(|e| format!("the runner said {text:?}: {e}"))?;
        let n = line.n.unwrap_or(0);
        match line.kind.as_str() {
            "ready" => {
                let messages = match events.get(&n) {
                    Some(m) => m.clone(),
                    None => events.entry(n).or_insert(insert_events(&topics, n)?).clone(),
                };
                let (first_ms, took) = publisher.publish_all(messages, Duration::from_secs(120)).await?;
                runner.send(&json!({"kind": "published", "firstMs": first_ms}).to_string())?;
                samples.publish.entry(n).or_default().push(took);
            }
            "result" => record(samples, line),
            "end" => break,
            _ => {}
        }
        if !bridge.proc.running() {
            return Err(format!("the bridge exited; {}", bridge.proc.log_tail()));
        }
    }
    Ok(())
}

fn record(samples: &mut Samples, line: Line) {
    let Some(side) = SIDES.into_iter().find(|s| line.side.as_deref() == Some(*s)) else { return };
    let n = line.n.unwrap_or(0);
    let ms = match (line.first_ms, line.done_ms) {
        (Some(first), Some(done)) => Some(done - first),
        _ => None,
    };
    let sample = Sample { ms, shown: line.shown.unwrap_or(0), waited_ms: line.waited_ms, error: line.error };
    match (sample.ms, &sample.error) {
        (Some(ms), _) => eprintln!("vmm-bench: browser: {side} showed {} events in {ms:.0} ms", count(n)),
        (None, Some(e)) => eprintln!("vmm-bench: browser: {side} at {} events failed: {e}", count(n)),
        (None, None) => eprintln!("vmm-bench: browser: {side} showed {} of {} events in time", sample.shown, n),
    }
    samples.runs.entry((n, side)).or_default().push(sample);
}

/// N insert events of new objects `t0` … `t{N-1}` (string ids, version 1), each on its object's
/// event topic, as a bridge would publish them.
fn insert_events(topics: &Topics, n: u64) -> Result<Vec<(String, Vec<u8>)>> {
    let limits = Limits::default();
    let at = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    (0..n)
        .map(|i| {
            let id = Id::string(format!("t{i}")).map_err(|e| e.to_string())?;
            let doc =
                document_with_id(crate::vmm::document(&format!("t{i}"), i), &id, &limits).map_err(|e| e.to_string())?;
            let topic = topics.event(COLLECTION, &id);
            let event = Event {
                collection: COLLECTION.into(),
                id,
                prev: 0,
                version: 1,
                client: "bench-publisher".into(),
                rid: format!("r{i}"),
                at: Some(at),
                change: Change::Insert(doc),
            };
            Ok((topic, Message::Event(event).to_bytes()))
        })
        .collect()
}
