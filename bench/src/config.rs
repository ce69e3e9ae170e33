//! Options (flags and `VMM_BENCH_*` variables) and the plan they resolve to: full sizes for
//! `make bench`, small ones with `VMM_BENCH_QUICK=1`.

use clap::builder::FalseyValueParser;
use clap::Parser;
use std::path::PathBuf;
use std::time::Duration;

/// The scenarios, in the order they run and are reported.
pub const SCENARIOS: [&str; 9] = ["throughput", "scale", "hot", "idle", "rss", "ops", "browser", "scaling", "mirror"];

#[derive(Parser, Debug)]
#[command(
    name = "vmm-bench",
    about = "Benchmarks the vmm bridge (a black box: MQTT, /healthz, /metrics) against the MongoDB driver on the \
             same database, on a private Mosquitto and FerretDB; prints a markdown report and writes it into \
             docs/BENCHMARKS.md. Every option also has a VMM_BENCH_* variable; unset options take the full \
             (or, with --quick, the quick) default."
)]
pub struct Args {
    /// Small sizes and short windows, for development.
    #[arg(long, env = "VMM_BENCH_QUICK", value_parser = FalseyValueParser::new())]
    pub quick: bool,
    /// Only these scenarios (comma-separated): throughput, scale, hot, idle, rss, ops, browser,
    /// scaling, mirror.
    /// The other scenarios' figures in the output file are kept from its previous run.
    #[arg(long, env = "VMM_BENCH_ONLY", value_delimiter = ',')]
    pub only: Vec<String>,
    /// Object counts of the scale and mirror scenarios (comma-separated) [full: 1000,10000,50000; quick: 20,50,100].
    #[arg(long, env = "VMM_BENCH_SIZES", value_delimiter = ',')]
    pub sizes: Vec<u64>,
    /// Requests in flight of the throughput scenario (comma-separated).
    #[arg(long, env = "VMM_BENCH_IN_FLIGHT", value_delimiter = ',', default_value = "1,8,64")]
    pub in_flight: Vec<usize>,
    /// Requests in flight of the scale scenario.
    #[arg(long, env = "VMM_BENCH_SCALE_IN_FLIGHT", default_value_t = 8)]
    pub scale_in_flight: usize,
    /// MQTT clients the requests in flight are spread over.
    #[arg(long, env = "VMM_BENCH_CLIENTS", default_value_t = 8)]
    pub clients: usize,
    /// Seconds measured per run, after the warm-up [full: 5; quick: 3].
    #[arg(long, env = "VMM_BENCH_WINDOW")]
    pub window: Option<f64>,
    /// Seconds of warm-up per run, not measured [full: 1; quick: 1].
    #[arg(long, env = "VMM_BENCH_WARMUP")]
    pub warmup: Option<f64>,
    /// At most this many requests per run.
    #[arg(long, env = "VMM_BENCH_MAX_REQUESTS", default_value_t = 200_000)]
    pub max_requests: u64,
    /// At most this many seconds preloading the scale scenario's objects through the bridge, in all
    /// [full: 120; quick: 60].
    #[arg(long, env = "VMM_BENCH_PRELOAD_SECS")]
    pub preload_secs: Option<f64>,
    /// Seconds of the hot-object run [full: 10; quick: 4].
    #[arg(long, env = "VMM_BENCH_HOT_SECS")]
    pub hot_secs: Option<f64>,
    /// Seconds the idle bridge's database load is measured (the baseline gets half)
    /// [full: 20; quick: 5].
    #[arg(long, env = "VMM_BENCH_IDLE_SECS")]
    pub idle_secs: Option<f64>,
    /// Requests of the memory scenario [full: 100000; quick: 300].
    #[arg(long, env = "VMM_BENCH_RSS_REQUESTS")]
    pub rss_requests: Option<u64>,
    /// At most this many seconds sending them [full: 45; quick: 15].
    #[arg(long, env = "VMM_BENCH_RSS_SECS")]
    pub rss_secs: Option<f64>,
    /// Seconds to wait before the last memory reading [full: 30; quick: 10].
    #[arg(long, env = "VMM_BENCH_RSS_WAIT")]
    pub rss_wait: Option<f64>,
    /// Updates counted for database operations per request, sent in at most 30 s [full: 1000; quick: 40].
    #[arg(long, env = "VMM_BENCH_OPS_REQUESTS")]
    pub ops_requests: Option<u64>,
    /// Event counts of the browser ingest scenario (comma-separated) [full: 2500,10000,20000;
    /// quick: 500,1000,2000].
    #[arg(long, env = "VMM_BENCH_BROWSER_SIZES", value_delimiter = ',')]
    pub browser_sizes: Vec<u64>,
    /// Runs per size and side of the browser scenario (the median is reported); fewer once a side
    /// has spent 20 s on a size [full: 5; quick: 1].
    #[arg(long, env = "VMM_BENCH_BROWSER_REPEAT")]
    pub browser_repeat: Option<u32>,
    /// The vmm-client npm package folder the browser scenario loads (`make wasm-pkg` builds it).
    #[arg(long, env = "VMM_BENCH_CLIENT_PKG", default_value = "wasm-client")]
    pub client_pkg: PathBuf,
    /// mqtt.js's browser bundle, dist/mqtt.min.js (`bash scripts/mqttjs.sh` fetches it and prints
    /// its path; scripts/bench.sh sets this).
    #[arg(long, env = "VMM_BENCH_MQTTJS")]
    pub mqttjs: Option<PathBuf>,
    /// Bridge counts of the scaling scenario, sharing one shared-subscription group
    /// (comma-separated) [full and quick: 1,2,4].
    #[arg(long, env = "VMM_BENCH_SCALING_BRIDGES", value_delimiter = ',')]
    pub scaling_bridges: Vec<usize>,
    /// Client counts of the scaling scenario, each client one MQTT connection with one request in
    /// flight (comma-separated) [full: 10,100,1000; quick: 4,16,64].
    #[arg(long, env = "VMM_BENCH_SCALING_CLIENTS", value_delimiter = ',')]
    pub scaling_clients: Vec<usize>,
    /// Collection sizes of the scaling scenario, one collection each, seeded through the bridge
    /// (comma-separated) [full: 1000,10000,20000; quick: 50,100,200]. 50,000 more objects take
    /// about 2 to 3 minutes of seeding on 2 cores: give a larger --scaling-seed-secs with them.
    #[arg(long, env = "VMM_BENCH_SCALING_SIZES", value_delimiter = ',')]
    pub scaling_sizes: Vec<u64>,
    /// Watcher counts of the scaling scenario's fan-out runs: connections following every event of
    /// the smallest collection while its middle client count makes requests (comma-separated)
    /// [full: 0,100,1000; quick: 0,8,32].
    #[arg(long, env = "VMM_BENCH_SCALING_WATCHERS", value_delimiter = ',')]
    pub scaling_watchers: Vec<usize>,
    /// Seconds measured per run of the scaling scenario, after the warm-up (longer with many
    /// clients) [full and quick: 2].
    #[arg(long, env = "VMM_BENCH_SCALING_WINDOW")]
    pub scaling_window: Option<f64>,
    /// At most this many seconds seeding the scaling scenario's collections through the bridge, in
    /// all [full: 100; quick: 60].
    #[arg(long, env = "VMM_BENCH_SCALING_SEED_SECS")]
    pub scaling_seed_secs: Option<f64>,
    /// Seconds a request may wait for its outcome before it counts as an error.
    #[arg(long, env = "VMM_BENCH_TIMEOUT", default_value_t = 60.0)]
    pub timeout: f64,
    /// The bridge binary (built with `cargo build --release -p vmm-bridge`).
    #[arg(long, env = "VMM_BENCH_BRIDGE", default_value = "target/release/vmm-bridge")]
    pub bridge: PathBuf,
    /// The FerretDB binary (`bash scripts/services.sh install` builds it).
    #[arg(long, env = "VMM_BENCH_FERRETDB", default_value = ".tools/bin/ferretdb")]
    pub ferretdb: PathBuf,
    /// The Mosquitto binary [default: mosquitto on the PATH or in /usr/sbin].
    #[arg(long, env = "VMM_BENCH_MOSQUITTO")]
    pub mosquitto: Option<PathBuf>,
    /// The markdown file whose generated section is rewritten; `-` writes none.
    #[arg(long, env = "VMM_BENCH_OUT", default_value = "docs/BENCHMARKS.md")]
    pub out: String,
    /// Keep the private services' data directory (.data/bench-*) after the run.
    #[arg(long, env = "VMM_BENCH_KEEP", value_parser = FalseyValueParser::new())]
    pub keep: bool,
}

/// The resolved plan of a run.
#[derive(Clone, Debug)]
pub struct Plan {
    pub quick: bool,
    pub scenarios: Vec<&'static str>,
    pub sizes: Vec<u64>,
    pub in_flight: Vec<usize>,
    pub scale_in_flight: usize,
    pub clients: usize,
    pub window: Duration,
    pub warmup: Duration,
    pub max_requests: u64,
    pub preload: Duration,
    pub hot: Duration,
    pub idle: Duration,
    pub rss_requests: u64,
    pub rss_limit: Duration,
    pub rss_wait: Duration,
    pub ops_requests: u64,
    pub rtt_samples: usize,
    pub timeout: Duration,
    pub browser_sizes: Vec<u64>,
    pub browser_repeat: u32,
    pub client_pkg: PathBuf,
    pub mqttjs: Option<PathBuf>,
    pub scaling: Scaling,
}

/// The plan of the scaling scenario: every bridge count × client count × collection size.
#[derive(Clone, Debug)]
pub struct Scaling {
    pub bridges: Vec<usize>,
    pub clients: Vec<usize>,
    pub sizes: Vec<u64>,
    pub watchers: Vec<usize>,
    pub window: Duration,
    pub seed: Duration,
}

impl Scaling {
    fn new(args: &Args, q: bool) -> Result<Scaling, String> {
        let pick = |given: &[usize], full: &[usize], quick: &[usize]| {
            let mut v: Vec<usize> =
                if given.is_empty() { (if q { quick } else { full }).to_vec() } else { given.to_vec() };
            v.sort_unstable();
            v.dedup();
            v
        };
        let bridges = pick(&args.scaling_bridges, &[1, 2, 4], &[1, 2, 4]);
        let clients = pick(&args.scaling_clients, &[10, 100, 1000], &[4, 16, 64]);
        let watchers = pick(&args.scaling_watchers, &[0, 100, 1000], &[0, 8, 32]);
        let sizes: Vec<usize> = pick(
            &args.scaling_sizes.iter().map(|&n| n as usize).collect::<Vec<_>>(),
            &[1_000, 10_000, 20_000],
            &[50, 100, 200],
        );
        if bridges.first() == Some(&0) || clients.first() == Some(&0) || sizes.first() == Some(&0) {
            return Err("the scaling scenario's bridge, client and size counts must be positive".into());
        }
        let secs =
            |v: Option<f64>, full: f64, quick: f64| Duration::from_secs_f64(v.unwrap_or(if q { quick } else { full }));
        Ok(Scaling {
            bridges,
            clients,
            sizes: sizes.into_iter().map(|n| n as u64).collect(),
            watchers,
            window: secs(args.scaling_window, 2.0, 2.0),
            seed: secs(args.scaling_seed_secs, 100.0, 60.0),
        })
    }
}

impl Plan {
    pub fn new(args: &Args) -> Result<Plan, String> {
        let q = args.quick;
        let secs =
            |v: Option<f64>, full: f64, quick: f64| Duration::from_secs_f64(v.unwrap_or(if q { quick } else { full }));
        let scenarios = if args.only.is_empty() {
            SCENARIOS.to_vec()
        } else {
            let mut chosen = Vec::new();
            for name in &args.only {
                let s = SCENARIOS
                    .iter()
                    .find(|s| **s == name.trim())
                    .ok_or_else(|| format!("unknown scenario {name:?}; the scenarios are {}", SCENARIOS.join(", ")))?;
                chosen.push(*s);
            }
            SCENARIOS.iter().copied().filter(|s| chosen.contains(s)).collect()
        };
        let mut sizes = if args.sizes.is_empty() {
            if q {
                vec![20, 50, 100]
            } else {
                vec![1_000, 10_000, 50_000]
            }
        } else {
            args.sizes.clone()
        };
        sizes.sort_unstable();
        sizes.dedup();
        let mut in_flight: Vec<usize> = args.in_flight.iter().copied().filter(|c| *c > 0).collect();
        in_flight.dedup();
        if sizes.is_empty() || sizes[0] == 0 || in_flight.is_empty() || args.clients == 0 || args.scale_in_flight == 0 {
            return Err("sizes, in-flight counts and clients must be positive".into());
        }
        Ok(Plan {
            quick: q,
            scenarios,
            sizes,
            in_flight,
            scale_in_flight: args.scale_in_flight,
            clients: args.clients,
            window: secs(args.window, 5.0, 3.0),
            warmup: secs(args.warmup, 1.0, 1.0),
            max_requests: args.max_requests.max(1),
            preload: secs(args.preload_secs, 120.0, 60.0),
            hot: secs(args.hot_secs, 10.0, 4.0),
            idle: secs(args.idle_secs, 20.0, 5.0),
            rss_requests: args.rss_requests.unwrap_or(if q { 300 } else { 100_000 }),
            rss_limit: secs(args.rss_secs, 45.0, 15.0),
            rss_wait: secs(args.rss_wait, 30.0, 10.0),
            ops_requests: args.ops_requests.unwrap_or(if q { 40 } else { 1_000 }).max(1),
            rtt_samples: if q { 100 } else { 500 },
            timeout: Duration::from_secs_f64(args.timeout.max(1.0)),
            browser_sizes: if args.browser_sizes.is_empty() {
                if q {
                    vec![500, 1_000, 2_000]
                } else {
                    vec![2_500, 10_000, 20_000]
                }
            } else {
                args.browser_sizes.iter().copied().filter(|n| *n > 0).collect()
            },
            browser_repeat: args.browser_repeat.unwrap_or(if q { 1 } else { 5 }).max(1),
            client_pkg: args.client_pkg.clone(),
            mqttjs: args.mqttjs.clone(),
            scaling: Scaling::new(args, q)?,
        })
    }

    /// A rough upper bound of the measuring time in seconds (without waiting for slow requests).
    pub fn estimate_secs(&self) -> f64 {
        let run = (self.window + self.warmup).as_secs_f64();
        let mut total = 0.0;
        for s in &self.scenarios {
            total += match *s {
                "throughput" => 4.0 * self.in_flight.len() as f64 * run + 10.0,
                "scale" => self.preload.as_secs_f64() + 2.0 * self.sizes.len() as f64 * run + 10.0,
                "hot" => self.hot.as_secs_f64() + 5.0,
                "idle" => 1.5 * self.idle.as_secs_f64() + 10.0,
                "rss" => (self.rss_limit + self.rss_wait).as_secs_f64() + 10.0,
                // Per size and side (3): page set-ups, then runs until 20 s are spent (see the runner).
                "browser" => 10.0 + self.browser_sizes.len() as f64 * 3.0 * (5.0 + 20.0),
                // The seeding, then one run (and a settling second) per bridge, client and size count.
                "scaling" => {
                    let s = &self.scaling;
                    let seeding = s.seed.as_secs_f64().min(s.sizes.iter().sum::<u64>() as f64 / 350.0);
                    // Many clients lengthen a run (scaling/mod.rs `window`): 7 ms per client and their last round.
                    let long: f64 = s.clients.iter().map(|&c| c as f64 * 0.011).sum();
                    let per_size = s.clients.len() as f64 * ((s.window + self.warmup).as_secs_f64() + 1.0) + long;
                    let fan_out = s.watchers.len() as f64 * ((s.window + self.warmup).as_secs_f64() + 2.0);
                    seeding + (s.bridges.len() * s.sizes.len()) as f64 * per_size + fan_out + 10.0
                }
                "mirror" => crate::scenario::mirror::estimate_secs(&self.sizes),
                _ => 20.0,
            };
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("vmm-bench").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn quick_and_full_defaults() {
        let full = Plan::new(&parse(&[])).unwrap();
        assert_eq!(full.sizes, vec![1_000, 10_000, 50_000]);
        assert_eq!(full.rss_requests, 100_000);
        assert_eq!(full.scenarios.len(), SCENARIOS.len());
        assert_eq!(full.scaling.clients, vec![10, 100, 1000]);
        assert_eq!(full.browser_sizes, vec![2_500, 10_000, 20_000]);
        let quick = Plan::new(&parse(&["--quick", "--sizes", "30,10", "--only", "rss,hot"])).unwrap();
        assert_eq!(quick.sizes, vec![10, 30]);
        assert_eq!(quick.scenarios, vec!["hot", "rss"]);
        assert!(quick.estimate_secs() < full.estimate_secs());
        assert!(Plan::new(&parse(&["--only", "nope"])).is_err());
        let scaling = Plan::new(&parse(&["--only", "scaling", "--scaling-bridges", "2,1,2"])).unwrap();
        assert_eq!(scaling.scenarios, vec!["scaling"]);
        assert_eq!(scaling.scaling.bridges, vec![1, 2]);
        assert!(Plan::new(&parse(&["--scaling-clients", "0"])).is_err());
    }
}
