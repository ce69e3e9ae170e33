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

pub(crate) type AnyResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[macro_use]
mod data;
mod meter;
mod ops;
mod report;

use data::*;
use meter::*;
use ops::run_size;
use report::*;

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
