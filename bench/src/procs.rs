//! The processes the bench starts and owns: a private Mosquitto, a private FerretDB, bridges and
//! the browser runner, each on free loopback ports, each killed (by its own pid) when its handle
//! is dropped.

use crate::http;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

pub type Result<T> = std::result::Result<T, String>;

/// A child process, killed and reaped on drop.
pub struct Proc {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Proc {
    pub fn spawn(name: &str, mut cmd: Command, log: PathBuf) -> Result<Proc> {
        let out = File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd.spawn().map_err(|e| format!("cannot start {name} ({:?}): {e}", cmd.get_program()))?;
        Ok(Proc { name: name.to_string(), child, log })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails with the end of the log if the process has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("{} exited ({status}); {}", self.name, self.log_tail())),
            Err(e) => Err(format!("{}: {e}", self.name)),
        }
    }

    /// Whether the process still runs (exists and is not a zombie), without reaping it.
    pub fn running(&self) -> bool {
        std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))
            .ok()
            .and_then(|stat| {
                stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next().map(String::from))
            })
            .is_some_and(|state| state != "Z" && state != "X")
    }

    pub fn log_tail(&self) -> String {
        log_tail(&self.log)
    }

    /// CPU time used so far (user + system), in seconds, from /proc/<pid>/stat.
    pub fn cpu_secs(&self) -> Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).map_err(|e| e.to_string())?;
        // After the command name (in parentheses, which may hold spaces): fields 3 onwards;
        // utime and stime are fields 14 and 15, in clock ticks of USER_HZ, 100 on Linux.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i - 3).and_then(|v| v.parse::<u64>().ok());
        match (ticks(14), ticks(15)) {
            (Some(u), Some(s)) => Ok((u + s) as f64 / 100.0),
            _ => Err(format!("no CPU times in /proc/{}/stat", self.pid())),
        }
    }

    /// Resident memory (VmRSS) and its peak (VmHWM), in KiB, from /proc/<pid>/status.
    pub fn memory_kib(&self) -> Result<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).map_err(|e| e.to_string())?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
                .ok_or_else(|| format!("no {name} in /proc/{}/status", self.pid()))
        };
        Ok((field("VmRSS:")?, field("VmHWM:")?))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // Child::kill sends SIGKILL to this pid only; then reap it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    format!("last lines of {}:\n{}", log.display(), lines[lines.len().saturating_sub(15)..].join("\n"))
}

/// A child process spoken to in lines: we write its stdin, a thread reads its stdout line by line,
/// its stderr goes to a log. Dropped, its stdin is closed (it is expected to stop by itself and
/// stop what it started, such as a browser); it is killed if it still runs 10 s later.
pub struct Piped {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<String>,
    log: PathBuf,
}

impl Piped {
    pub fn spawn(name: &str, mut cmd: Command, log: PathBuf) -> Result<Piped> {
        let err = File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(err);
        let mut child = cmd.spawn().map_err(|e| format!("cannot start {name} ({:?}): {e}", cmd.get_program()))?;
        let (stdin, stdout) = (child.stdin.take(), child.stdout.take().ok_or("no stdout")?);
        let (tx, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(std::result::Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Piped { name: name.to_string(), child, stdin, lines, log })
    }

    /// Writes one line to the child's stdin.
    pub fn send(&mut self, line: &str) -> Result<()> {
        let stdin = self.stdin.as_mut().ok_or("stdin closed")?;
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("{}: {e}; {}", self.name, self.log_tail()))
    }

    /// The next line of the child's stdout, waiting at most `limit`.
    pub async fn next_line(&mut self, limit: Duration) -> Result<String> {
        match tokio::time::timeout(limit, self.lines.recv()).await {
            Ok(Some(line)) => Ok(line),
            Ok(None) => Err(format!("{} ended its output; {}", self.name, self.log_tail())),
            Err(_) => Err(format!("{} said nothing for {limit:?}; {}", self.name, self.log_tail())),
        }
    }

    pub fn log_tail(&self) -> String {
        log_tail(&self.log)
    }
}

impl Drop for Piped {
    fn drop(&mut self) {
        drop(self.stdin.take());
        for _ in 0..100 {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free on 127.0.0.1 a moment ago.
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

/// Waits (up to `limit`) until something accepts TCP connections on 127.0.0.1:port.
async fn wait_port(proc: &mut Proc, port: u16, limit: Duration) -> Result<()> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok(());
        }
        proc.check_alive()?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("{} did not open port {port} within {limit:?}; {}", proc.name, proc.log_tail()))
}

/// The private broker and database of one bench run, with their data in `dir`.
pub struct Services {
    pub dir: PathBuf,
    pub mqtt_port: u16,
    /// Mosquitto's MQTT-over-WebSockets listener, for the browser scenario.
    pub ws_port: u16,
    pub mongo_port: u16,
    /// FerretDB's debug HTTP endpoint (`/debug/metrics`).
    pub debug_port: u16,
    keep: bool,
    // Dropped (killed) in this order, before `dir` is removed.
    ferretdb: Proc,
    _mosquitto: Proc,
}

impl Services {
    /// Starts Mosquitto (with the project's broker configuration, a TCP and a WebSockets listener)
    /// and FerretDB (SQLite, telemetry disabled) in `dir`.
    pub async fn start(root: &Path, dir: PathBuf, ferretdb: &Path, mosquitto: &Path, keep: bool) -> Result<Services> {
        std::fs::create_dir_all(dir.join("ferretdb")).map_err(|e| format!("{}: {e}", dir.display()))?;
        std::fs::create_dir_all(dir.join("ferretdb-state")).map_err(|e| e.to_string())?;

        let (mqtt_port, ws_port) = (free_port()?, free_port()?);
        let base = std::fs::read_to_string(root.join("services/mosquitto.conf")).map_err(|e| e.to_string())?;
        let conf = dir.join("mosquitto.conf");
        let listeners = format!("listener {mqtt_port} 127.0.0.1\nlistener {ws_port} 127.0.0.1\nprotocol websockets\n");
        std::fs::write(&conf, format!("{base}\n{listeners}")).map_err(|e| e.to_string())?;
        let mut cmd = Command::new(mosquitto);
        cmd.arg("-c").arg(&conf);
        let mut mosquitto = Proc::spawn("mosquitto", cmd, dir.join("mosquitto.log"))?;
        wait_port(&mut mosquitto, mqtt_port, Duration::from_secs(20)).await?;
        wait_port(&mut mosquitto, ws_port, Duration::from_secs(5)).await?;

        let mongo_port = free_port()?;
        let debug_port = free_port()?;
        let mut cmd = Command::new(ferretdb);
        cmd.arg("--handler=sqlite")
            .arg(format!("--sqlite-url=file:{}/", dir.join("ferretdb").display()))
            .arg(format!("--listen-addr=127.0.0.1:{mongo_port}"))
            .arg(format!("--state-dir={}", dir.join("ferretdb-state").display()))
            .arg("--telemetry=disable")
            .arg(format!("--debug-addr=127.0.0.1:{debug_port}"))
            .arg("--log-level=warn");
        let mut ferretdb = Proc::spawn("ferretdb", cmd, dir.join("ferretdb.log"))?;
        wait_port(&mut ferretdb, mongo_port, Duration::from_secs(30)).await?;
        wait_port(&mut ferretdb, debug_port, Duration::from_secs(10)).await?;
        Ok(Services { dir, mqtt_port, ws_port, mongo_port, debug_port, keep, ferretdb, _mosquitto: mosquitto })
    }

    /// The private FerretDB's process (for its CPU time).
    pub fn ferretdb(&self) -> &Proc {
        &self.ferretdb
    }

    /// The broker's and the database's process ids (for their CPU time).
    pub fn pids(&self) -> (u32, u32) {
        (self._mosquitto.pid(), self.ferretdb.pid())
    }

    pub fn mongodb_uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}", self.mongo_port)
    }

    /// FerretDB's version, from its `ferretdb_up` metric.
    pub async fn ferretdb_version(&self) -> Option<String> {
        let m = http::Metrics::fetch(self.debug_port, "/debug/metrics").await.ok()?;
        m.0.iter().find(|s| s.name == "ferretdb_up").and_then(|s| s.labels.get("version").cloned())
    }

    /// FerretDB's per-command request counters (`ferretdb_client_requests_total`), by command.
    pub async fn db_commands(&self) -> Result<std::collections::BTreeMap<String, f64>> {
        let m = http::Metrics::fetch(self.debug_port, "/debug/metrics").await?;
        Ok(m.by_label("ferretdb_client_requests_total", "command"))
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        if !self.keep {
            // The processes are killed after this body runs; SQLite files may still be open,
            // which does not stop their removal on Linux.
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A bridge process serving one database and topic prefix.
pub struct Bridge {
    pub proc: Proc,
    pub http_port: u16,
}

impl Bridge {
    /// Starts `bin` against the services with its own database, prefix and HTTP port, and waits
    /// until `/healthz` says it is connected to both.
    pub async fn start(bin: &Path, services: &Services, database: &str, prefix: &str) -> Result<Bridge> {
        Bridge::start_member(bin, services, database, prefix, 0).await
    }

    /// The `member`th bridge of the prefix's shared-subscription group (0 is [`Bridge::start`]'s):
    /// same database, prefix and group, its own bridge id, HTTP port and log.
    pub async fn start_member(
        bin: &Path,
        services: &Services,
        database: &str,
        prefix: &str,
        member: usize,
    ) -> Result<Bridge> {
        let http_port = free_port()?;
        let id = if member == 0 { format!("{prefix}-bridge") } else { format!("{prefix}-bridge{member}") };
        let mut cmd = Command::new(bin);
        cmd.args(["--mqtt-url", &format!("mqtt://127.0.0.1:{}", services.mqtt_port)])
            .args(["--mongodb-uri", &services.mongodb_uri()])
            .args(["--database", database])
            .args(["--prefix", prefix])
            .args(["--bridge-id", &id])
            .args(["--share-group", &format!("{prefix}-bridges")])
            .args(["--http-addr", &format!("127.0.0.1:{http_port}")])
            .args(["--log", "warn"]);
        // Every other option at its default: no VMM_* setting of the caller's environment applies.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("VMM_") {
                cmd.env_remove(key);
            }
        }
        let log = services.dir.join(format!("{id}.log"));
        let mut proc = Proc::spawn("vmm-bridge", cmd, log)?;
        let start = Instant::now();
        loop {
            proc.check_alive()?;
            if let Ok((200, _)) = http::get(http_port, "/healthz").await {
                return Ok(Bridge { proc, http_port });
            }
            if start.elapsed() > Duration::from_secs(60) {
                return Err(format!("the bridge's /healthz did not say ok within 60 s; {}", proc.log_tail()));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn metrics(&self) -> Result<http::Metrics> {
        http::Metrics::fetch(self.http_port, "/metrics").await
    }
}

/// `name` on the PATH, or in /usr/sbin (where Debian puts mosquitto).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
