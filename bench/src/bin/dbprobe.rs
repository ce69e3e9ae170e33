//! dbprobe: what each candidate database operation costs on a MongoDB-wire server, measured with
//! the official `mongodb` driver alone (no bridge), at several collection sizes.
//!
//! For each size N it fills a fresh collection with N documents of about 800 bytes (string `_id`s,
//! plus one collection with int64 `_id`s and one with ObjectId `_id`s), then times each operation
//! alone, sequentially, `--iters` times (after a few warm-up calls), and prints p50 / p99 latency,
//! throughput and, when given the server's pid files, the server's CPU time per operation (summed
//! from /proc/<pid>/task/*/schedstat around each timed call). Every mutating operation is undone
//! after its timed call (untimed), so the collection stays at N documents throughout.
//!
//! ```text
//! dbprobe --uri mongodb://127.0.0.1:27017 --sizes 1000,50000 --label sqlite \
//!         --cpu-pid .run/ferretdb.pid --tsv target/dbprobe-sqlite.tsv
//! dbprobe --quick ...                      # sizes 200,2000, 40 iterations
//! dbprobe --merge a.tsv b.tsv              # one markdown report from earlier runs
//! ```
//!
//! The database it creates (`dbprobe_<pid>_<secs>`) is dropped at the end.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mongodb::bson::{doc, oid::ObjectId, Bson, Document};
use mongodb::options::ReturnDocument;
use mongodb::{Client, Collection, Database};

type AnyResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

// ---------------------------------------------------------------------------------------------
// Command line

struct Args {
    uri: String,
    sizes: Vec<usize>,
    iters: usize,
    warmup: usize,
    label: String,
    cpu_pids: Vec<(String, PathBuf)>,
    cpu_trees: Vec<(String, PathBuf)>,
    tsv: Option<PathBuf>,
    op_budget: Duration,
    fill_batch: usize,
    only: Option<Vec<String>>,
    after_fill: Option<String>,
}

const USAGE: &str = "usage: dbprobe [--uri URI] [--sizes N,N] [--iters K] [--warmup K] [--quick]
               [--label NAME] [--cpu-pid [NAME=]PIDFILE]... [--cpu-tree [NAME=]PIDFILE]...
               [--tsv OUT.tsv] [--op-budget SECS] [--fill-batch N] [--only OP,OP]
               [--after-fill SHELL-COMMAND]
       dbprobe --merge A.tsv [B.tsv ...]
  --cpu-pid   sums the CPU time of that process's threads around each timed call
  --cpu-tree  the same for that process and its direct children (PostgreSQL: postmaster.pid)
  --only      insert_one,find_one,replace_one,find_one_and_replace,update_one,delete_one,
              insert_many,raw_update,raw_delete,tiny_find,find_in,range_page,scan,scan_natural
  --after-fill runs `sh -c` after each fill, with DBPROBE_DB and DBPROBE_SIZE set (e.g. to add
              an index behind the server's back)";

fn parse_args() -> AnyResult<Option<Args>> {
    let mut a = Args {
        uri: "mongodb://127.0.0.1:27017".into(),
        sizes: vec![1000, 50000],
        iters: 200,
        warmup: 10,
        label: String::new(),
        cpu_pids: vec![],
        cpu_trees: vec![],
        tsv: None,
        op_budget: Duration::from_secs(30),
        fill_batch: 1000,
        only: None,
        after_fill: None,
    };
    let mut it = std::env::args().skip(1);
    let mut sizes_given = false;
    let mut iters_given = false;
    let mut quick = false;
    let named = |s: String, default: &str| -> (String, PathBuf) {
        match s.split_once('=') {
            Some((n, p)) => (n.to_string(), PathBuf::from(p)),
            None => (default.to_string(), PathBuf::from(s)),
        }
    };
    while let Some(arg) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--uri" => a.uri = val()?,
            "--sizes" => {
                a.sizes = val()?.split(',').map(|s| s.trim().parse()).collect::<Result<_, _>>()?;
                sizes_given = true;
            }
            "--iters" => {
                a.iters = val()?.parse()?;
                iters_given = true;
            }
            "--warmup" => a.warmup = val()?.parse()?,
            "--quick" => quick = true,
            "--label" => a.label = val()?,
            "--cpu-pid" => {
                let n = a.cpu_pids.len();
                a.cpu_pids.push(named(val()?, if n == 0 { "server" } else { "server2" }));
            }
            "--cpu-tree" => a.cpu_trees.push(named(val()?, "tree")),
            "--tsv" => a.tsv = Some(PathBuf::from(val()?)),
            "--op-budget" => a.op_budget = Duration::from_secs_f64(val()?.parse()?),
            "--fill-batch" => a.fill_batch = val()?.parse()?,
            "--only" => a.only = Some(val()?.split(',').map(str::to_string).collect()),
            "--after-fill" => a.after_fill = Some(val()?),
            "--merge" => {
                let files: Vec<PathBuf> = it.by_ref().map(PathBuf::from).collect();
                print!("{}", merge_report(&files)?);
                return Ok(None);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            other => return Err(format!("unknown argument {other}\n{USAGE}").into()),
        }
    }
    if quick {
        if !sizes_given {
            a.sizes = vec![200, 2000];
        }
        if !iters_given {
            a.iters = 40;
        }
        a.warmup = a.warmup.min(3);
    }
    if a.label.is_empty() {
        a.label = a.uri.clone();
    }
    Ok(Some(a))
}

// ---------------------------------------------------------------------------------------------
// Server CPU time from /proc (Linux): the sum of the `schedstat` run time (ns) of every thread of
// the watched processes. Threads that exit between two readings are lost; that is rare for
// FerretDB (a Go program with long-lived threads) and for PostgreSQL's pooled backends.

struct CpuGroup {
    name: String,
    pid_file: PathBuf,
    tree: bool,
    tasks: Vec<PathBuf>,
}

impl CpuGroup {
    fn refresh(&mut self) {
        self.tasks.clear();
        let Some(root) = std::fs::read_to_string(&self.pid_file)
            .ok()
            .and_then(|s| s.lines().next().and_then(|l| l.trim().parse::<u32>().ok()))
        else {
            return;
        };
        let mut pids = vec![root];
        if self.tree {
            if let Ok(rd) = std::fs::read_dir("/proc") {
                for e in rd.flatten() {
                    let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
                    let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else { continue };
                    // pid (comm) state ppid ...; comm may hold spaces, so split after the last ')'.
                    let ppid = stat
                        .rsplit_once(')')
                        .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                        .and_then(|p| p.parse::<u32>().ok());
                    if ppid == Some(root) {
                        pids.push(pid);
                    }
                }
            }
        }
        for pid in pids {
            if let Ok(rd) = std::fs::read_dir(format!("/proc/{pid}/task")) {
                for e in rd.flatten() {
                    self.tasks.push(e.path().join("schedstat"));
                }
            }
        }
    }

    fn read_ns(&self) -> u64 {
        self.tasks
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .filter_map(|s| s.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()))
            .sum()
    }
}

struct Meter {
    groups: Vec<CpuGroup>,
}

struct Mark {
    at: Instant,
    cpu: Vec<u64>,
}

struct Sample {
    ms: f64,
    cpu_ns: Vec<u64>,
}

impl Meter {
    fn refresh(&mut self) {
        for g in &mut self.groups {
            g.refresh();
        }
    }
    fn start(&self) -> Mark {
        let cpu = self.groups.iter().map(CpuGroup::read_ns).collect();
        Mark { at: Instant::now(), cpu }
    }
    fn stop(&self, m: &Mark) -> Sample {
        let ms = m.at.elapsed().as_secs_f64() * 1e3;
        let cpu_ns = self.groups.iter().zip(&m.cpu).map(|(g, before)| g.read_ns().saturating_sub(*before)).collect();
        Sample { ms, cpu_ns }
    }
}

// ---------------------------------------------------------------------------------------------
// Results

struct Stat {
    op: String,
    /// What one unit is: "op", "doc", "stmt", "page", "batch".
    unit: &'static str,
    /// Units per timed call.
    per: usize,
    ms: Vec<f64>,
    cpu_ns: Vec<u64>,
    error: Option<String>,
    /// Warm-up calls made so far (usize::MAX once recording).
    warm: usize,
}

impl Stat {
    fn new(op: &str, unit: &'static str, per: usize, groups: usize) -> Self {
        Stat { op: op.into(), unit, per, ms: vec![], cpu_ns: vec![0; groups], error: None, warm: 0 }
    }
    fn push(&mut self, s: Sample) {
        self.ms.push(s.ms);
        for (a, b) in self.cpu_ns.iter_mut().zip(s.cpu_ns) {
            *a += b;
        }
    }
    fn pct(&self, p: f64) -> f64 {
        let mut v = self.ms.clone();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        if v.is_empty() {
            return f64::NAN;
        }
        let idx = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
        v[idx.min(v.len() - 1)]
    }
    /// Units per second over the timed calls (sequential, one call at a time).
    fn rate(&self) -> f64 {
        let total: f64 = self.ms.iter().sum();
        (self.ms.len() * self.per) as f64 / (total / 1e3)
    }
    fn cpu_ms_per_unit(&self, g: usize) -> f64 {
        self.cpu_ns[g] as f64 / 1e6 / (self.ms.len() * self.per).max(1) as f64
    }
}

struct Row {
    handler: String,
    size: usize,
    op: String,
    unit: String,
    per: usize,
    n: usize,
    p50: f64,
    p99: f64,
    rate: f64,
    cpu: Vec<(String, f64)>,
    error: String,
}

fn rows_of(label: &str, size: usize, stats: &[Stat], group_names: &[String]) -> Vec<Row> {
    stats
        .iter()
        .map(|s| Row {
            handler: label.into(),
            size,
            op: s.op.clone(),
            unit: s.unit.into(),
            per: s.per,
            n: s.ms.len(),
            p50: s.pct(50.0) / s.per as f64,
            p99: s.pct(99.0) / s.per as f64,
            rate: s.rate(),
            cpu: group_names.iter().enumerate().map(|(i, n)| (n.clone(), s.cpu_ms_per_unit(i))).collect(),
            error: s.error.clone().unwrap_or_default(),
        })
        .collect()
}

const TSV_HEAD: &str = "handler\tsize\top\tunit\tper_call\tn\tp50_ms\tp99_ms\tunits_per_s\tcpu\terror";

fn tsv_line(r: &Row) -> String {
    let cpu: Vec<String> = r.cpu.iter().map(|(n, v)| format!("{n}={v:.4}")).collect();
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}\t{:.4}\t{:.4}\t{:.1}\t{}\t{}",
        r.handler,
        r.size,
        r.op,
        r.unit,
        r.per,
        r.n,
        r.p50,
        r.p99,
        r.rate,
        cpu.join(","),
        r.error.replace(['\t', '\n'], " ")
    )
}

fn parse_tsv(text: &str) -> Vec<Row> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with("handler\t"))
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            if f.len() < 10 {
                return None;
            }
            Some(Row {
                handler: f[0].into(),
                size: f[1].parse().ok()?,
                op: f[2].into(),
                unit: f[3].into(),
                per: f[4].parse().ok()?,
                n: f[5].parse().ok()?,
                p50: f[6].parse().ok()?,
                p99: f[7].parse().ok()?,
                rate: f[8].parse().ok()?,
                cpu: f[9]
                    .split(',')
                    .filter_map(|kv| kv.split_once('='))
                    .filter_map(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
                    .collect(),
                error: f.get(10).unwrap_or(&"").to_string(),
            })
        })
        .collect()
}

fn fmt_ms(v: f64) -> String {
    if !v.is_finite() {
        "–".into()
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn fmt_rate(v: f64) -> String {
    if !v.is_finite() {
        "–".into()
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// One markdown table per handler: rows are operations, columns p50 / p99 / units/s / server CPU
/// at each size, and the p50 ratio of the largest size to the smallest.
fn markdown(rows: &[Row]) -> String {
    let mut out = String::new();
    let mut handlers: Vec<&str> = vec![];
    for r in rows {
        if !handlers.contains(&r.handler.as_str()) {
            handlers.push(&r.handler);
        }
    }
    for h in handlers {
        let hr: Vec<&Row> = rows.iter().filter(|r| r.handler == h).collect();
        let mut sizes: Vec<usize> = hr.iter().map(|r| r.size).collect();
        sizes.sort();
        sizes.dedup();
        let mut ops: Vec<(&str, &str, usize)> = vec![];
        for r in &hr {
            if !ops.iter().any(|(o, _, _)| *o == r.op) {
                ops.push((&r.op, &r.unit, r.per));
            }
        }
        let groups: Vec<String> =
            hr.iter().flat_map(|r| r.cpu.iter().map(|(n, _)| n.clone())).fold(vec![], |mut v, n| {
                if !v.contains(&n) {
                    v.push(n);
                }
                v
            });
        let _ = writeln!(out, "### {h}\n");
        let mut head = String::from("| operation | unit |");
        let mut sep = String::from("|---|---|");
        for s in &sizes {
            let _ = write!(head, " p50 ms @{s} | p99 ms @{s} | units/s @{s} |");
            sep.push_str("---:|---:|---:|");
            for g in &groups {
                let _ = write!(head, " {g} CPU ms @{s} |");
                sep.push_str("---:|");
            }
        }
        if sizes.len() > 1 {
            head.push_str(" p50 ×");
            head.push_str(&format!(" {}/{} |", sizes[sizes.len() - 1], sizes[0]));
            sep.push_str("---:|");
        }
        let _ = writeln!(out, "{head}\n{sep}");
        for (op, unit, per) in ops {
            let unit_s = if per > 1 { format!("{unit} (×{per}/call)") } else { unit.to_string() };
            let mut line = format!("| {op} | {unit_s} |");
            let mut p50s = vec![];
            for s in &sizes {
                match hr.iter().find(|r| r.op == op && r.size == *s) {
                    Some(r) if r.error.is_empty() => {
                        let _ = write!(line, " {} | {} | {} |", fmt_ms(r.p50), fmt_ms(r.p99), fmt_rate(r.rate));
                        for g in &groups {
                            let v = r.cpu.iter().find(|(n, _)| n == g).map(|(_, v)| *v).unwrap_or(f64::NAN);
                            let _ = write!(line, " {} |", fmt_ms(v));
                        }
                        p50s.push(r.p50);
                    }
                    Some(r) => {
                        let e: String = r.error.chars().take(60).collect();
                        let _ = write!(line, " failed: {e} | | |");
                        for _ in &groups {
                            line.push_str(" |");
                        }
                        p50s.push(f64::NAN);
                    }
                    None => {
                        line.push_str(" – | – | – |");
                        for _ in &groups {
                            line.push_str(" |");
                        }
                        p50s.push(f64::NAN);
                    }
                }
            }
            if sizes.len() > 1 {
                let ratio = p50s[p50s.len() - 1] / p50s[0];
                if ratio.is_finite() {
                    let _ = write!(line, " {ratio:.1} |");
                } else {
                    line.push_str(" – |");
                }
            }
            let _ = writeln!(out, "{line}");
        }
        out.push('\n');
    }
    out
}

/// One table of p50 per unit for every handler and size side by side, with the number of timed
/// calls behind each figure in brackets.
fn glance(rows: &[Row]) -> String {
    let mut cols: Vec<(&str, usize)> = vec![];
    let mut ops: Vec<(&str, &str, usize)> = vec![];
    for r in rows {
        if !cols.contains(&(r.handler.as_str(), r.size)) {
            cols.push((&r.handler, r.size));
        }
        if !ops.iter().any(|(o, _, _)| *o == r.op) {
            ops.push((&r.op, &r.unit, r.per));
        }
    }
    let mut out = String::from("| operation | unit |");
    let mut sep = String::from("|---|---|");
    for (h, n) in &cols {
        let _ = write!(out, " {h} @{n} |");
        sep.push_str("---:|");
    }
    let _ = writeln!(out, "\n{sep}");
    for (op, unit, per) in ops {
        let unit_s = if per > 1 { format!("{unit} (×{per}/call)") } else { unit.to_string() };
        let _ = write!(out, "| {op} | {unit_s} |");
        for (h, n) in &cols {
            match rows.iter().find(|r| r.handler == *h && r.size == *n && r.op == op) {
                Some(r) if r.error.is_empty() => {
                    let _ = write!(out, " {} ({}) |", fmt_ms(r.p50), r.n);
                }
                Some(_) => out.push_str(" failed |"),
                None => out.push_str(" – |"),
            }
        }
        out.push('\n');
    }
    out
}

fn merge_report(files: &[PathBuf]) -> AnyResult<String> {
    let mut rows = vec![];
    for f in files {
        rows.extend(parse_tsv(&std::fs::read_to_string(f)?));
    }
    Ok(format!(
        "## p50 in ms per unit (timed calls in brackets)\n\n{}\n## Per handler\n\n{}",
        glance(&rows),
        markdown(&rows)
    ))
}

// ---------------------------------------------------------------------------------------------
// Data

/// splitmix64's finaliser: a bijection on u64, so distinct inputs give distinct string ids, in an
/// order unrelated to insertion order (like random or hashed keys).
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn str_id(i: u64) -> String {
    format!("{:016x}", mix(i))
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(1);
        mix(self.0)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const BODY_LEN: usize = 560;

fn big_doc(id: Bson, i: u64, v: i64) -> Document {
    let letters = b"abcdefghijklmnopqrstuvwxyz ";
    let body: String = (0..BODY_LEN).map(|k| letters[((i as usize) * 7 + k * 13) % letters.len()] as char).collect();
    doc! {
        "_id": id,
        "v": v,
        "title": format!("task number {i} of the probe"),
        "done": i.is_multiple_of(3),
        "owner": format!("user-{:03}", i % 97),
        "tags": ["alpha", "beta", format!("t{}", i % 11)],
        "created": mongodb::bson::DateTime::from_millis(1_700_000_000_000 + i as i64 * 1000),
        "meta": { "priority": (i % 5) as i32, "score": (i as f64) * 0.25, "source": "dbprobe" },
        "body": body,
    }
}

fn small_doc(id: Bson, i: u64) -> Document {
    doc! { "_id": id, "v": 1i64, "title": format!("small {i}"), "done": false, "owner": "user-001" }
}

fn doc_len(d: &Document) -> usize {
    let mut buf = vec![];
    d.to_writer(&mut buf).map(|_| buf.len()).unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// The probe

struct Ctx<'a> {
    db: Database,
    meter: &'a mut Meter,
    iters: usize,
    warmup: usize,
    budget: Duration,
    rng: Rng,
    fresh: u64,
    only: Option<Vec<String>>,
}

/// The collections of one size.
struct Set {
    n: usize,
    s: Collection<Document>,
    s_name: String,
    i: Collection<Document>,
    o: Collection<Document>,
    oids: Vec<ObjectId>,
    tiny: Collection<Document>,
}

impl Ctx<'_> {
    fn groups(&self) -> usize {
        self.meter.groups.len()
    }
    fn wanted(&self, key: &str) -> bool {
        self.only.as_ref().is_none_or(|o| o.iter().any(|k| k == key))
    }
    fn fresh_id(&mut self) -> u64 {
        self.fresh += 1;
        3_000_000_000 + self.fresh
    }
    fn calls(&self) -> usize {
        self.warmup + self.iters
    }
    /// Enough samples: `iters` of them, or 20 once the operation's time budget is spent, or 5
    /// once three times the budget is spent (for operations that take seconds a call).
    fn done(&self, st: &Stat, started: Instant) -> bool {
        let n = st.ms.len();
        let t = started.elapsed();
        n >= self.iters || (n >= 20 && t > self.budget) || (n >= 5 && t > self.budget * 3)
    }
}

/// Times `$call` (an expression awaiting a driver call) with the server CPU meter; the result
/// is bound to `$res` inside `$after` (untimed: checks and undo).
macro_rules! timed {
    ($cx:expr, $st:expr, $k:expr, $call:expr) => {{
        let mark = $cx.meter.start();
        let r = $call;
        let sample = $cx.meter.stop(&mark);
        match r {
            Ok(v) => {
                // Warm-up calls are not recorded, but a slow operation (over 250 ms a call) is
                // not warmed up further: it is recorded from its second call on.
                let _ = $k;
                if $st.warm >= $cx.warmup || ($st.warm > 0 && sample.ms > 250.0) {
                    $st.warm = usize::MAX;
                    $st.push(sample);
                } else {
                    $st.warm += 1;
                }
                Some(v)
            }
            Err(e) => {
                $st.error = Some(e.to_string());
                None
            }
        }
    }};
}

async fn fill(cx: &mut Ctx<'_>, n: usize, batch: usize, tag: &str) -> AnyResult<Set> {
    let s_name = format!("s{n}_{tag}");
    let s = cx.db.collection::<Document>(&s_name);
    let i = cx.db.collection::<Document>(&format!("i{n}_{tag}"));
    let o = cx.db.collection::<Document>(&format!("o{n}_{tag}"));
    let tiny = cx.db.collection::<Document>(&format!("tiny{n}_{tag}"));
    let mut oids = Vec::with_capacity(n);
    for (name, coll, kind) in [("string _id", &s, 0), ("int64 _id", &i, 1), ("ObjectId _id", &o, 2)] {
        let t = Instant::now();
        let mut k = 0;
        while k < n {
            let end = (k + batch).min(n);
            let docs: Vec<Document> = (k..end)
                .map(|j| {
                    let id = match kind {
                        0 => Bson::String(str_id(j as u64)),
                        1 => Bson::Int64(j as i64),
                        _ => {
                            let oid = ObjectId::new();
                            oids.push(oid);
                            Bson::ObjectId(oid)
                        }
                    };
                    big_doc(id, j as u64, 1)
                })
                .collect();
            coll.insert_many(docs).await?;
            k = end;
        }
        let secs = t.elapsed().as_secs_f64();
        eprintln!("  filled {n} docs ({name}) in {secs:.1} s: {:.0} docs/s", n as f64 / secs);
    }
    tiny.insert_many((0..10u64).map(|j| small_doc(Bson::String(format!("tiny-{j}")), j))).await?;
    let count = s.count_documents(doc! {}).await?;
    if count as usize != n {
        return Err(format!("{s_name} holds {count} documents, expected {n}").into());
    }
    Ok(Set { n, s, s_name, i, o, oids, tiny })
}

fn existing(cx: &mut Ctx<'_>, set: &Set) -> (u64, String) {
    let j = cx.rng.below(set.n) as u64;
    (j, str_id(j))
}

/// Distinct existing ids (for statements that must not touch the same document twice).
fn distinct_existing(cx: &mut Ctx<'_>, set: &Set, k: usize) -> Vec<(u64, String)> {
    let mut out: Vec<(u64, String)> = vec![];
    while out.len() < k.min(set.n) {
        let e = existing(cx, set);
        if !out.iter().any(|(j, _)| *j == e.0) {
            out.push(e);
        }
    }
    out
}

async fn run_size(cx: &mut Ctx<'_>, set: &Set) -> AnyResult<Vec<Stat>> {
    let g = cx.groups();
    let mut stats: Vec<Stat> = vec![];
    macro_rules! begin {
        ($key:expr, $name:expr, $unit:expr, $per:expr) => {{
            cx.meter.refresh();
            eprintln!("  {}", $name);
            (Stat::new($name, $unit, $per, g), Instant::now())
        }};
    }

    // 1. insert_one of a new document; undone by delete_one.
    if cx.wanted("insert_one") {
        let (mut st, t0) = begin!("insert_one", "insert_one, new string _id", "op", 1);
        for k in 0..cx.calls() * 2 {
            let j = cx.fresh_id();
            let d = big_doc(Bson::String(str_id(j)), j, 1);
            if timed!(cx, st, k, set.s.insert_one(&d).await).is_none() {
                break;
            }
            set.s.delete_one(doc! {"_id": str_id(j)}).await?;
            if cx.done(&st, t0) {
                break;
            }
        }
        stats.push(st);
    }

    // 2. find_one by _id.
    if cx.wanted("find_one") {
        for (label, kind) in [
            ("find_one {_id: string}, hit", 0),
            ("find_one {_id: string}, miss", 1),
            ("find_one {_id: int64}, hit (int-id coll.)", 2),
            ("find_one {_id: ObjectId}, hit (oid coll.)", 3),
        ] {
            let (mut st, t0) = begin!("find_one", label, "op", 1);
            for k in 0..cx.calls() * 2 {
                let j = cx.rng.below(set.n);
                let (coll, filter) = match kind {
                    0 => (&set.s, doc! {"_id": str_id(j as u64)}),
                    1 => (&set.s, doc! {"_id": str_id(2_000_000_000 + cx.rng.next() % 1_000_000_000)}),
                    2 => (&set.i, doc! {"_id": j as i64}),
                    _ => (&set.o, doc! {"_id": set.oids[j]}),
                };
                let Some(found) = timed!(cx, st, k, coll.find_one(filter).await) else { break };
                if found.is_some() != (kind != 1) {
                    st.error =
                        Some(format!("unexpected result: {}", if found.is_some() { "found" } else { "not found" }));
                    break;
                }
                if cx.done(&st, t0) {
                    break;
                }
            }
            stats.push(st);
        }
    }

    // 3. replace_one by _id with upsert; replace_one by {_id, v}. The documents keep v = 1 after
    //    each call (the replacement has v = 1), so the {_id, v: 1} filter always matches.
    if cx.wanted("replace_one") {
        let (mut st, t0) = begin!("replace_one", "replace_one {_id} upsert", "op", 1);
        for k in 0..cx.calls() * 2 {
            let (j, id) = existing(cx, set);
            let d = big_doc(Bson::String(id.clone()), j + 7, 1);
            let Some(r) = timed!(cx, st, k, set.s.replace_one(doc! {"_id": &id}, &d).upsert(true).await) else { break };
            if r.matched_count != 1 {
                st.error = Some(format!("matched {}", r.matched_count));
                break;
            }
            if cx.done(&st, t0) {
                break;
            }
        }
        stats.push(st);

        let (mut st, t0) = begin!("replace_one", "replace_one {_id, v: n} (2-field filter)", "op", 1);
        for k in 0..cx.calls() * 2 {
            let (j, id) = existing(cx, set);
            let d = big_doc(Bson::String(id.clone()), j + 9, 1);
            let Some(r) = timed!(cx, st, k, set.s.replace_one(doc! {"_id": &id, "v": 1i64}, &d).await) else { break };
            if r.matched_count != 1 {
                st.error = Some(format!("matched {}", r.matched_count));
                break;
            }
            if cx.done(&st, t0) {
                break;
            }
        }
        stats.push(st);
    }

    // 4. find_one_and_replace returning the document before, upsert.
    if cx.wanted("find_one_and_replace") {
        let (mut st, t0) =
            begin!("find_one_and_replace", "find_one_and_replace {_id} upsert, ReturnDocument::Before", "op", 1);
        for k in 0..cx.calls() * 2 {
            let (j, id) = existing(cx, set);
            let d = big_doc(Bson::String(id.clone()), j + 11, 1);
            let Some(prev) = timed!(
                cx,
                st,
                k,
                set.s
                    .find_one_and_replace(doc! {"_id": &id}, &d)
                    .upsert(true)
                    .return_document(ReturnDocument::Before)
                    .await
            ) else {
                break;
            };
            if prev.is_none() {
                st.error = Some("no previous document".into());
                break;
            }
            if cx.done(&st, t0) {
                break;
            }
        }
        stats.push(st);
    }

    // 5. update_one with $set and with $max, upsert.
    if cx.wanted("update_one") {
        let (mut st, t0) = begin!("update_one", "update_one {_id} {$set: title, done} upsert", "op", 1);
        for k in 0..cx.calls() * 2 {
            let (j, id) = existing(cx, set);
            let u = doc! {"$set": {"title": format!("retitled {j} {k}"), "done": k % 2 == 0}};
            let Some(r) = timed!(cx, st, k, set.s.update_one(doc! {"_id": &id}, u).upsert(true).await) else { break };
            if r.matched_count != 1 {
                st.error = Some(format!("matched {}", r.matched_count));
                break;
            }
            if cx.done(&st, t0) {
                break;
            }
        }
        stats.push(st);

        // $max on a separate field (w), so v stays 1 for the {_id, v} filter above.
        let (mut st, t0) = begin!("update_one", "update_one {_id} {$max: {w: n}} upsert", "op", 1);
        for k in 0..cx.calls() * 2 {
            let (_, id) = existing(cx, set);
            let u = doc! {"$max": {"w": (k as i64) + 1}};
            let Some(r) = timed!(cx, st, k, set.s.update_one(doc! {"_id": &id}, u).upsert(true).await) else { break };
            if r.matched_count != 1 {
                st.error = Some(format!("matched {}", r.matched_count));
                break;
            }
            if cx.done(&st, t0) {
                break;
            }
        }
        stats.push(st);
    }

    // 6. delete_one and find_one_and_delete of an existing document; undone by insert_one.
    if cx.wanted("delete_one") {
        for (label, fad) in [("delete_one {_id}", false), ("find_one_and_delete {_id}", true)] {
            let (mut st, t0) = begin!("delete_one", label, "op", 1);
            for k in 0..cx.calls() * 2 {
                let (j, id) = existing(cx, set);
                let ok = if fad {
                    timed!(cx, st, k, set.s.find_one_and_delete(doc! {"_id": &id}).await).map(|d| d.is_some())
                } else {
                    timed!(cx, st, k, set.s.delete_one(doc! {"_id": &id}).await).map(|r| r.deleted_count == 1)
                };
                match ok {
                    None => break,
                    Some(false) => {
                        st.error = Some("nothing deleted".into());
                        break;
                    }
                    Some(true) => {}
                }
                set.s.insert_one(big_doc(Bson::String(id), j, 1)).await?;
                if cx.done(&st, t0) {
                    break;
                }
            }
            stats.push(st);
        }
    }

    // 7. insert_many of 8 and of 64 small documents; undone by delete_many.
    if cx.wanted("insert_many") {
        for batch in [8usize, 64] {
            let (mut st, t0) = begin!("insert_many", &format!("insert_many of {batch} small docs"), "doc", batch);
            for k in 0..cx.calls() * 2 {
                let ids: Vec<u64> = (0..batch).map(|_| cx.fresh_id()).collect();
                let docs: Vec<Document> = ids.iter().map(|j| small_doc(Bson::String(str_id(*j)), *j)).collect();
                if timed!(cx, st, k, set.s.insert_many(&docs).await).is_none() {
                    break;
                }
                let keys: Vec<String> = ids.iter().map(|j| str_id(*j)).collect();
                set.s.delete_many(doc! {"_id": {"$in": keys}}).await?;
                if cx.done(&st, t0) {
                    break;
                }
            }
            stats.push(st);
        }
    }

    // 8. The raw update command with 8 upsert statements, and the raw delete command with 8
    //    statements (undone by insert_many).
    if cx.wanted("raw_update") {
        let (mut st, t0) = begin!("raw_update", "raw `update` command, 8 × {q: {_id}, u: doc, upsert}", "stmt", 8);
        for k in 0..cx.calls() * 2 {
            let ids = distinct_existing(cx, set, 8);
            let updates: Vec<Document> = ids
                .iter()
                .map(|(j, id)| doc! {"q": {"_id": id}, "u": big_doc(Bson::String(id.clone()), j + 13, 1), "upsert": true})
                .collect();
            let cmd = doc! {"update": &set.s_name, "updates": updates, "ordered": true};
            let Some(r) = timed!(cx, st, k, cx.db.run_command(cmd).await) else { break };
            if r.get_i32("n").unwrap_or(-1) != 8 || r.contains_key("writeErrors") {
                st.error = Some(format!("unexpected reply {r}"));
                break;
            }
            if cx.done(&st, t0) {
                break;
            }
        }
        stats.push(st);
    }
    if cx.wanted("raw_delete") {
        let (mut st, t0) = begin!("raw_delete", "raw `delete` command, 8 × {q: {_id}, limit: 1}", "stmt", 8);
        for k in 0..cx.calls() * 2 {
            let ids = distinct_existing(cx, set, 8);
            let deletes: Vec<Document> = ids.iter().map(|(_, id)| doc! {"q": {"_id": id}, "limit": 1}).collect();
            let cmd = doc! {"delete": &set.s_name, "deletes": deletes, "ordered": true};
            let Some(r) = timed!(cx, st, k, cx.db.run_command(cmd).await) else { break };
            if r.get_i32("n").unwrap_or(-1) != 8 || r.contains_key("writeErrors") {
                st.error = Some(format!("unexpected reply {r}"));
                break;
            }
            set.s.insert_many(ids.iter().map(|(j, id)| big_doc(Bson::String(id.clone()), *j, 1))).await?;
            if cx.done(&st, t0) {
                break;
            }
        }
        stats.push(st);
    }

    // 9. find {} on a 10-document side collection.
    if cx.wanted("tiny_find") {
        let (mut st, t0) = begin!("tiny_find", "find {} on a 10-doc side collection", "op", 1);
        for k in 0..cx.calls() * 2 {
            let r = timed!(
                cx,
                st,
                k,
                async {
                    let mut c = set.tiny.find(doc! {}).await?;
                    let mut n = 0;
                    while c.advance().await? {
                        n += 1;
                    }
                    Ok::<_, mongodb::error::Error>(n)
                }
                .await
            );
            match r {
                None => break,
                Some(10) => {}
                Some(n) => {
                    st.error = Some(format!("{n} documents"));
                    break;
                }
            }
            if cx.done(&st, t0) {
                break;
            }
        }
        stats.push(st);
    }

    // 10. find {_id: {$in: [8 ids]}}.
    if cx.wanted("find_in") {
        let (mut st, t0) = begin!("find_in", "find {_id: {$in: [8 ids]}}", "op", 1);
        for k in 0..cx.calls() * 2 {
            let ids: Vec<String> = distinct_existing(cx, set, 8).into_iter().map(|(_, id)| id).collect();
            let r = timed!(
                cx,
                st,
                k,
                async {
                    let mut c = set.s.find(doc! {"_id": {"$in": ids}}).await?;
                    let mut n = 0;
                    while c.advance().await? {
                        n += 1;
                    }
                    Ok::<_, mongodb::error::Error>(n)
                }
                .await
            );
            match r {
                None => break,
                Some(8) => {}
                Some(n) => {
                    st.error = Some(format!("{n} documents"));
                    break;
                }
            }
            if cx.done(&st, t0) {
                break;
            }
        }
        stats.push(st);
    }

    // 11a. A page: find {_id: {$gt: x}} sort {_id: 1} limit 200 (x drawn so a full page exists
    //      most of the time; the page may be short near the end).
    if cx.wanted("range_page") {
        let (mut st, t0) = begin!("range_page", "find {_id: {$gt: x}}.sort(_id).limit(200)", "page", 1);
        for k in 0..cx.calls() * 2 {
            let (_, x) = existing(cx, set);
            let r = timed!(
                cx,
                st,
                k,
                async {
                    let mut c =
                        set.s.find(doc! {"_id": {"$gt": &x}}).sort(doc! {"_id": 1}).limit(200).batch_size(200).await?;
                    let mut n = 0;
                    let mut last = String::new();
                    while c.advance().await? {
                        let id = c.current().get_str("_id").unwrap_or("").to_string();
                        if id <= last {
                            last = "unsorted".into();
                            break;
                        }
                        last = id;
                        n += 1;
                    }
                    Ok::<_, mongodb::error::Error>((n, last))
                }
                .await
            );
            match r {
                None => break,
                Some((_, l)) if l == "unsorted" => {
                    st.error = Some("page not sorted by _id".into());
                    break;
                }
                Some((n, _)) if n > 200 => {
                    st.error = Some(format!("{n} documents in a page"));
                    break;
                }
                _ => {}
            }
            if cx.done(&st, t0) {
                break;
            }
        }
        stats.push(st);
    }

    // 11b. The whole collection read through one cursor, find {} sort {_id: 1} (and, apart,
    //      without a sort: natural order), batches of 200: the first batch (the query itself)
    //      and the following ones (getMore) apart.
    for (key, sorted) in [("scan", true), ("scan_natural", false)] {
        if !cx.wanted(key) {
            continue;
        }
        cx.meter.refresh();
        let (first_name, next_name) = if sorted {
            ("scan: find {}.sort(_id), first batch of 200", "scan: same cursor, each next batch of 200 (getMore)")
        } else {
            ("scan: find {} (no sort), first batch of 200", "scan (no sort): each next batch of 200 (getMore)")
        };
        eprintln!("  {first_name}");
        let mut first = Stat::new(first_name, "batch", 1, g);
        let mut next = Stat::new(next_name, "batch", 1, g);
        let per_scan = set.n.div_ceil(200).max(1);
        let scans = (cx.iters.div_ceil(per_scan)).clamp(2, 40);
        let t0 = Instant::now();
        'scans: for _ in 0..scans {
            let mut mark = cx.meter.start();
            let find = set.s.find(doc! {}).batch_size(200);
            let find = if sorted { find.sort(doc! {"_id": 1}) } else { find };
            let mut c = match find.await {
                Ok(c) => c,
                Err(e) => {
                    first.error = Some(e.to_string());
                    break;
                }
            };
            let mut n = 0usize;
            let mut in_batch = 0usize;
            loop {
                let more = match c.advance().await {
                    Ok(m) => m,
                    Err(e) => {
                        next.error = Some(e.to_string());
                        break 'scans;
                    }
                };
                if more {
                    n += 1;
                    in_batch += 1;
                }
                if in_batch == 200 || (!more && in_batch > 0) {
                    let s = cx.meter.stop(&mark);
                    if n <= 200 {
                        first.push(s);
                    } else {
                        next.push(s);
                    }
                    in_batch = 0;
                    mark = cx.meter.start();
                }
                if !more {
                    break;
                }
            }
            if n != set.n {
                first.error = Some(format!("scan returned {n} documents, expected {}", set.n));
                break;
            }
            if t0.elapsed() > cx.budget * 2 {
                break;
            }
        }
        stats.push(first);
        if set.n > 200 {
            stats.push(next);
        }
    }

    Ok(stats)
}

async fn probe(args: &Args) -> AnyResult<Vec<Row>> {
    let client = Client::with_uri_str(&args.uri).await?;
    let secs = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let db_name = format!("dbprobe_{}_{}", std::process::id(), secs);
    let db = client.database(&db_name);
    let build = client.database("admin").run_command(doc! {"buildInfo": 1}).await?;
    eprintln!(
        "dbprobe: {} ({}), database {db_name}, big document {} bytes, small {} bytes",
        args.label,
        build.get_str("version").unwrap_or("?"),
        doc_len(&big_doc(Bson::String(str_id(1)), 1, 1)),
        doc_len(&small_doc(Bson::String(str_id(1)), 1)),
    );
    let mut meter = Meter {
        groups: args
            .cpu_pids
            .iter()
            .map(|(n, p)| (n, p, false))
            .chain(args.cpu_trees.iter().map(|(n, p)| (n, p, true)))
            .map(|(n, p, tree)| CpuGroup { name: n.clone(), pid_file: p.clone(), tree, tasks: vec![] })
            .collect(),
    };
    meter.refresh();
    for g in &meter.groups {
        if g.tasks.is_empty() {
            eprintln!("dbprobe: warning: no process found for --cpu-* {}", g.pid_file.display());
        }
    }
    let group_names: Vec<String> = meter.groups.iter().map(|g| g.name.clone()).collect();
    let mut cx = Ctx {
        db: db.clone(),
        meter: &mut meter,
        iters: args.iters,
        warmup: args.warmup,
        budget: args.op_budget,
        rng: Rng(0x5eed),
        fresh: 0,
        only: args.only.clone(),
    };
    let mut rows = vec![];
    let result: AnyResult<()> = async {
        for &n in &args.sizes {
            eprintln!("dbprobe: size {n}");
            let t = Instant::now();
            let set = fill(&mut cx, n, args.fill_batch, "x").await?;
            let fill_s = t.elapsed().as_secs_f64();
            if let Some(cmd) = &args.after_fill {
                let st = std::process::Command::new("sh")
                    .arg("-c")
                    .arg(cmd)
                    .env("DBPROBE_DB", &db_name)
                    .env("DBPROBE_SIZE", n.to_string())
                    .status()?;
                if !st.success() {
                    return Err(format!("--after-fill command failed: {st}").into());
                }
            }
            let stats = run_size(&mut cx, &set).await?;
            let r = rows_of(&args.label, n, &stats, &group_names);
            if let Some(p) = &args.tsv {
                let mut text = std::fs::read_to_string(p).unwrap_or_default();
                if text.is_empty() {
                    text.push_str(TSV_HEAD);
                    text.push('\n');
                }
                for row in &r {
                    text.push_str(&tsv_line(row));
                    text.push('\n');
                }
                std::fs::write(p, text)?;
            }
            println!("{}", markdown(&r));
            eprintln!("dbprobe: size {n} done in {:.0} s (fill {fill_s:.0} s)", t.elapsed().as_secs_f64());
            rows.extend(r);
            for c in [&set.s, &set.i, &set.o, &set.tiny] {
                c.drop().await?;
            }
        }
        Ok(())
    }
    .await;
    if let Err(e) = db.drop().await {
        eprintln!("dbprobe: could not drop {db_name}: {e}");
    }
    result?;
    Ok(rows)
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(Some(a)) => a,
        Ok(None) => return,
        Err(e) => {
            eprintln!("dbprobe: {e}");
            std::process::exit(2);
        }
    };
    let t = Instant::now();
    match probe(&args).await {
        Ok(rows) => {
            if args.sizes.len() > 1 {
                println!("## {} (all sizes)\n\n{}", args.label, markdown(&rows));
            }
            eprintln!("dbprobe: finished in {:.0} s", t.elapsed().as_secs_f64());
        }
        Err(e) => {
            eprintln!("dbprobe: {e}");
            std::process::exit(1);
        }
    }
}
