//! CPU time per process, from `/proc/<pid>/stat`: what each process of a run (the bridges, the
//! broker, the database, the bench's own clients) spent, to say which one the machine ran out for.

use std::collections::BTreeMap;
use std::time::Instant;

/// User + system CPU seconds of `pid` so far, all its threads together (fields 14 and 15 of
/// `/proc/<pid>/stat`, in clock ticks).
pub fn seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(ticks(&stat)? as f64 / ticks_per_second())
}

/// utime + stime of a stat line. The command name (field 2) may hold spaces and parentheses, so
/// the fields are counted after its last `)`.
fn ticks(stat: &str) -> Option<u64> {
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Busy CPU seconds of the whole machine so far, every core together (`/proc/stat`: all time but
/// idle and iowait): with [`seconds`] of our processes, it shows what else ran meanwhile.
pub fn machine_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    Some(busy_ticks(stat.lines().next()?)? as f64 / ticks_per_second())
}

/// The busy ticks of the `cpu` line of /proc/stat: user nice system idle iowait irq softirq steal.
fn busy_ticks(line: &str) -> Option<u64> {
    let mut fields = line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let v: Vec<u64> = fields.take(8).map(|f| f.parse().ok()).collect::<Option<_>>()?;
    let (idle, iowait) = (*v.get(3)?, *v.get(4)?);
    Some(v.iter().sum::<u64>() - idle - iowait)
}

fn ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 {
        hz as f64
    } else {
        100.0
    }
}

/// The name of the whole machine's busy time in a [`Snapshot`].
pub const MACHINE: &str = "machine";

/// CPU seconds of named processes at one instant.
#[derive(Clone, Debug)]
pub struct Snapshot {
    at: Instant,
    seconds: BTreeMap<String, f64>,
}

impl Snapshot {
    /// Reads every `(name, pid)`; processes sharing a name are added up. The whole machine's busy
    /// time is under [`MACHINE`].
    pub fn take(processes: &[(String, u32)]) -> Snapshot {
        let mut seconds = BTreeMap::new();
        seconds.insert(MACHINE.to_string(), machine_seconds().unwrap_or(0.0));
        for (name, pid) in processes {
            *seconds.entry(name.clone()).or_insert(0.0) += self::seconds(*pid).unwrap_or(0.0);
        }
        Snapshot { at: Instant::now(), seconds }
    }

    /// Each name's share of one core between `earlier` and this snapshot (1.0 = one core busy).
    pub fn cores_since(&self, earlier: &Snapshot) -> BTreeMap<String, f64> {
        let wall = self.at.saturating_duration_since(earlier.at).as_secs_f64().max(1e-9);
        self.seconds
            .iter()
            .map(|(name, s)| (name.clone(), (s - earlier.seconds.get(name).copied().unwrap_or(0.0)).max(0.0) / wall))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_utime_and_stime_after_a_name_with_spaces() {
        let line = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 1 0 0";
        assert_eq!(ticks(line), Some(300));
        assert_eq!(ticks("garbage"), None);
        assert_eq!(busy_ticks("cpu  100 5 50 1000 30 1 2 3 0 0"), Some(161));
        assert_eq!(busy_ticks("cpu0 1 2 3 4 5 6 7 8"), None);
    }

    #[test]
    fn this_process_has_spent_some_cpu() {
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        assert!(seconds(std::process::id()).is_some());
        let a = Snapshot::take(&[("me".into(), std::process::id())]);
        let b = Snapshot::take(&[("me".into(), std::process::id())]);
        assert!(b.cores_since(&a)["me"] >= 0.0);
        assert!(machine_seconds().is_some_and(|s| s > 0.0));
    }
}
