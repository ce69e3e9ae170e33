//! The server's CPU time, read from /proc around each timed call.

use super::*;
// ---------------------------------------------------------------------------------------------
// Server CPU time from /proc (Linux): the sum of the `schedstat` run time (ns) of every thread of
// the watched processes. Threads that exit between two readings are lost; that is rare for
// FerretDB (a Go program with long-lived threads) and for PostgreSQL's pooled backends.

pub(crate) struct CpuGroup {
    pub(crate) name: String,
    pub(crate) pid_file: PathBuf,
    pub(crate) tree: bool,
    pub(crate) tasks: Vec<PathBuf>,
}

impl CpuGroup {
    pub(crate) fn refresh(&mut self) {
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

    pub(crate) fn read_ns(&self) -> u64 {
        self.tasks
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .filter_map(|s| s.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()))
            .sum()
    }
}

pub(crate) struct Meter {
    pub(crate) groups: Vec<CpuGroup>,
}

pub(crate) struct Mark {
    pub(crate) at: Instant,
    pub(crate) cpu: Vec<u64>,
}

pub(crate) struct Sample {
    pub(crate) ms: f64,
    pub(crate) cpu_ns: Vec<u64>,
}

impl Meter {
    pub(crate) fn refresh(&mut self) {
        for g in &mut self.groups {
            g.refresh();
        }
    }
    pub(crate) fn start(&self) -> Mark {
        let cpu = self.groups.iter().map(CpuGroup::read_ns).collect();
        Mark { at: Instant::now(), cpu }
    }
    pub(crate) fn stop(&self, m: &Mark) -> Sample {
        let ms = m.at.elapsed().as_secs_f64() * 1e3;
        let cpu_ns = self.groups.iter().zip(&m.cpu).map(|(g, before)| g.read_ns().saturating_sub(*before)).collect();
        Sample { ms, cpu_ns }
    }
}
