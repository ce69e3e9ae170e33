//! Results: per-operation statistics, the TSV files and the markdown report.

use super::*;
// ---------------------------------------------------------------------------------------------
// Results

pub(crate) struct Stat {
    pub(crate) op: String,
    /// What one unit is: "op", "doc", "stmt", "page", "batch".
    pub(crate) unit: &'static str,
    /// Units per timed call.
    pub(crate) per: usize,
    pub(crate) ms: Vec<f64>,
    pub(crate) cpu_ns: Vec<u64>,
    pub(crate) error: Option<String>,
    /// Warm-up calls made so far (usize::MAX once recording).
    pub(crate) warm: usize,
}

impl Stat {
    pub(crate) fn new(op: &str, unit: &'static str, per: usize, groups: usize) -> Self {
        Stat { op: op.into(), unit, per, ms: vec![], cpu_ns: vec![0; groups], error: None, warm: 0 }
    }
    pub(crate) fn push(&mut self, s: Sample) {
        self.ms.push(s.ms);
        for (a, b) in self.cpu_ns.iter_mut().zip(s.cpu_ns) {
            *a += b;
        }
    }
    pub(crate) fn pct(&self, p: f64) -> f64 {
        let mut v = self.ms.clone();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        if v.is_empty() {
            return f64::NAN;
        }
        let idx = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
        v[idx.min(v.len() - 1)]
    }
    /// Units per second over the timed calls (sequential, one call at a time).
    pub(crate) fn rate(&self) -> f64 {
        let total: f64 = self.ms.iter().sum();
        (self.ms.len() * self.per) as f64 / (total / 1e3)
    }
    pub(crate) fn cpu_ms_per_unit(&self, g: usize) -> f64 {
        self.cpu_ns[g] as f64 / 1e6 / (self.ms.len() * self.per).max(1) as f64
    }
}

pub(crate) struct Row {
    pub(crate) handler: String,
    pub(crate) size: usize,
    pub(crate) op: String,
    pub(crate) unit: String,
    pub(crate) per: usize,
    pub(crate) n: usize,
    pub(crate) p50: f64,
    pub(crate) p99: f64,
    pub(crate) rate: f64,
    pub(crate) cpu: Vec<(String, f64)>,
    pub(crate) error: String,
}

pub(crate) fn rows_of(label: &str, size: usize, stats: &[Stat], group_names: &[String]) -> Vec<Row> {
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

pub(crate) const TSV_HEAD: &str = "handler\tsize\top\tunit\tper_call\tn\tp50_ms\tp99_ms\tunits_per_s\tcpu\terror";

pub(crate) fn tsv_line(r: &Row) -> String {
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

pub(crate) fn parse_tsv(text: &str) -> Vec<Row> {
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

pub(crate) fn fmt_ms(v: f64) -> String {
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

pub(crate) fn fmt_rate(v: f64) -> String {
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
pub(crate) fn markdown(rows: &[Row]) -> String {
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
pub(crate) fn glance(rows: &[Row]) -> String {
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

pub(crate) fn merge_report(files: &[PathBuf]) -> AnyResult<String> {
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
