//! A `vmm-mirror` process of the mirror scenario: started against the private services with its
//! own target database and HTTP port, watched through `/healthz` and `/metrics` until it is in
//! step, and stopped with SIGTERM as an operator stops it.

use super::super::{Result, VMM};
use crate::http::{self, Metrics};
use crate::procs::{free_port, Proc, Services};
use mongodb::bson::{doc, Bson, Document};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Object id → version: what the bench knows the source holds, or what the target holds.
pub type Versions = BTreeMap<String, u64>;

/// How often `/healthz` is asked while waiting: the resolution of the times measured.
const POLL: Duration = Duration::from_millis(50);

/// Mirrors started so far: names their logs.
static STARTS: AtomicU64 = AtomicU64::new(0);

pub struct MirrorProc {
    proc: Proc,
    http_port: u16,
    started: Instant,
}

/// What one start of the mirror took until it was in step, and what it cost.
pub struct InStep {
    /// Seconds from the start of the process until `/healthz` first answered (the mirror reads
    /// its target back before it serves HTTP), until no collection was loading, and until it
    /// said 200 with nothing pending and the target was found equal to the source.
    pub serving: f64,
    pub loaded: f64,
    pub secs: f64,
    /// VmRSS and VmHWM at that moment, KiB.
    pub rss_kib: u64,
    pub hwm_kib: u64,
    /// Its CPU time until then, seconds.
    pub cpu: f64,
    /// Its `/metrics` at that moment.
    pub metrics: Metrics,
    /// Checks of the target that found it unequal after `/healthz` had said in step.
    pub early: u32,
}

impl MirrorProc {
    /// Starts `bin` mirroring the bench's collection of `prefix` into `target` (a database of the
    /// private FerretDB), resyncing by `resync` (`versions` or `documents`).
    pub fn start(bin: &Path, services: &Services, prefix: &str, target: &str, resync: &str) -> Result<MirrorProc> {
        let http_port = free_port()?;
        let mut cmd = Command::new(bin);
        cmd.args(["--mqtt-url", &format!("mqtt://127.0.0.1:{}", services.mqtt_port)])
            .args(["--prefix", prefix])
            .args(["--collections", VMM])
            .args(["--target-uri", &services.mongodb_uri()])
            .args(["--target-database", target])
            .args(["--mirror-id", &format!("{prefix}-mirror")])
            .args(["--mirror-http-addr", &format!("127.0.0.1:{http_port}")])
            .args(["--resync", resync])
            .args(["--log", "info"]);
        // Every other option at its default, as for the bridge.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("VMM_") {
                cmd.env_remove(key);
            }
        }
        let n = STARTS.fetch_add(1, Ordering::Relaxed);
        let log = services.dir.join(format!("mirror-{target}-{n}-{resync}.log"));
        let started = Instant::now();
        let proc = Proc::spawn("vmm-mirror", cmd, log)?;
        Ok(MirrorProc { proc, http_port, started })
    }

    /// Waits (at most `limit` from the start) until `/healthz` says 200 with nothing pending and
    /// the target holds exactly `expected`. The target is read only once `/healthz` says in step:
    /// a check that fails is counted, and the wait goes on.
    pub async fn in_step(
        &mut self,
        target: &mongodb::Database,
        expected: &Versions,
        limit: Duration,
    ) -> Result<InStep> {
        let (mut serving, mut loaded, mut early) = (None, None, 0);
        loop {
            self.proc.check_alive()?;
            if self.started.elapsed() > limit {
                return Err(format!(
                    "the mirror was not in step {} s after its start; {}",
                    limit.as_secs(),
                    self.proc.log_tail()
                ));
            }
            if let Ok((status, body)) = http::get(self.http_port, "/healthz").await {
                // When the answer came: the mirror serves HTTP only once it has read its target
                // back, and a request sent before waits for that.
                let now = self.started.elapsed().as_secs_f64();
                let health: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                serving.get_or_insert(now);
                if health["loading"].as_array().is_some_and(Vec::is_empty) {
                    loaded.get_or_insert(now);
                }
                if status == 200 && health["pending"].as_u64() == Some(0) {
                    match differences(&read_versions(target).await?, expected) {
                        None => {
                            let metrics = http::Metrics::fetch(self.http_port, "/metrics").await?;
                            let (rss_kib, hwm_kib) = self.proc.memory_kib()?;
                            let cpu = self.proc.cpu_secs()?;
                            let (serving, loaded) = (serving.unwrap_or(now), loaded.unwrap_or(now));
                            return Ok(InStep { serving, loaded, secs: now, rss_kib, hwm_kib, cpu, metrics, early });
                        }
                        Some(_) => early += 1,
                    }
                }
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// SIGTERM, then waits (at most 30 s) for the process to exit; returns the seconds it took.
    pub async fn stop(mut self) -> Result<f64> {
        let start = Instant::now();
        let pid = self.proc.pid().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().map_err(|e| format!("kill: {e}"))?;
        if !sent.success() {
            return Err(format!("kill -TERM {pid} failed ({sent})"));
        }
        while self.proc.check_alive().is_ok() {
            if start.elapsed() > Duration::from_secs(30) {
                return Err(format!("the mirror did not exit within 30 s of SIGTERM; {}", self.proc.log_tail()));
            }
            tokio::time::sleep(POLL).await;
        }
        Ok(start.elapsed().as_secs_f64())
    }
}

/// The ids and versions (`_vmm_v`) of the bench's collection in `db`.
pub async fn read_versions(db: &mongodb::Database) -> Result<Versions> {
    let coll = db.collection::<Document>(VMM);
    let mut cursor = coll.find(doc! {}).projection(doc! {"_vmm_v": 1}).await.map_err(|e| e.to_string())?;
    let mut out = Versions::new();
    while cursor.advance().await.map_err(|e| e.to_string())? {
        let d = cursor.deserialize_current().map_err(|e| e.to_string())?;
        let version = match d.get("_vmm_v") {
            Some(Bson::Int64(v)) => *v as u64,
            Some(Bson::Int32(v)) => *v as u64,
            _ => 0,
        };
        if let Ok(id) = d.get_str("_id") {
            out.insert(id.to_string(), version);
        }
    }
    Ok(out)
}

/// `None` when `held` equals `wanted`; else a summary of how they differ.
pub fn differences(held: &Versions, wanted: &Versions) -> Option<String> {
    let missing = wanted.keys().filter(|k| !held.contains_key(*k)).count();
    let extra = held.keys().filter(|k| !wanted.contains_key(*k)).count();
    let other = wanted.iter().filter(|(k, v)| held.get(*k).is_some_and(|h| h != *v)).count();
    (missing + extra + other > 0).then(|| format!("{missing} missing, {extra} extra, {other} at another version"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_count_missing_extra_and_other_versions() {
        let v = |pairs: &[(&str, u64)]| pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect::<Versions>();
        assert_eq!(differences(&v(&[("a", 1), ("b", 2)]), &v(&[("a", 1), ("b", 2)])), None);
        let d = differences(&v(&[("a", 1), ("c", 1), ("b", 3)]), &v(&[("a", 1), ("b", 2), ("d", 1)]));
        assert_eq!(d.as_deref(), Some("1 missing, 1 extra, 1 at another version"));
    }
}
