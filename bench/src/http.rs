//! Just enough HTTP to read `/healthz` and Prometheus text from the bridge and FerretDB on the
//! loopback interface, and a parser for the Prometheus text exposition format.

use std::collections::BTreeMap;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `GET path` on 127.0.0.1:port: the status code and the body. Gives up after 5 s.
pub async fn get(port: u16, path: &str) -> Result<(u16, String), String> {
    let exchange = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.map_err(|e| e.to_string())?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.map_err(|e| e.to_string())?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.map_err(|e| e.to_string())?;
        Ok::<_, String>(raw)
    };
    let raw = tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .map_err(|_| format!("GET {path} on port {port}: no answer in 5 s"))??;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(|| format!("GET {path}: no HTTP header"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("GET {path}: bad status line"))?;
    let body =
        if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { unchunk(body) } else { body.to_string() };
    Ok((status, body))
}

/// The body of a `Transfer-Encoding: chunked` response.
fn unchunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16) else { break };
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

/// One sample of a Prometheus text page: `name{labels} value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed Prometheus text page.
#[derive(Clone, Debug, Default)]
pub struct Metrics(pub Vec<Sample>);

impl Metrics {
    pub fn parse(text: &str) -> Metrics {
        Metrics(text.lines().filter_map(parse_line).collect())
    }

    /// Reads `path` on `port` and parses it.
    pub async fn fetch(port: u16, path: &str) -> Result<Metrics, String> {
        match get(port, path).await? {
            (200, body) => Ok(Metrics::parse(&body)),
            (status, _) => Err(format!("GET {path} on port {port}: status {status}")),
        }
    }

    /// The sum over every label set of `name`, or `None` if the page has no such metric.
    pub fn sum(&self, name: &str) -> Option<f64> {
        let mut found = None;
        for s in self.0.iter().filter(|s| s.name == name) {
            *found.get_or_insert(0.0) += s.value;
        }
        found
    }

    /// The samples of `name` with `label` = `value`, summed.
    pub fn sum_where(&self, name: &str, label: &str, value: &str) -> f64 {
        self.0
            .iter()
            .filter(|s| s.name == name && s.labels.get(label).is_some_and(|v| v == value))
            .map(|s| s.value)
            .sum()
    }

    /// The samples of `name` summed per value of `label`.
    pub fn by_label(&self, name: &str, label: &str) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        for s in self.0.iter().filter(|s| s.name == name) {
            *out.entry(s.labels.get(label).cloned().unwrap_or_default()).or_insert(0.0) += s.value;
        }
        out
    }
}

/// `later - earlier` per key, keeping the keys that changed.
pub fn delta(later: &BTreeMap<String, f64>, earlier: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    later
        .iter()
        .map(|(k, v)| (k.clone(), v - earlier.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, d)| *d != 0.0)
        .collect()
}

fn parse_line(line: &str) -> Option<Sample> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (name, labels, rest) = match line.find('{') {
        Some(open) => {
            let close = line.rfind('}')?;
            (&line[..open], parse_labels(&line[open + 1..close]), &line[close + 1..])
        }
        None => {
            let (name, rest) = line.split_once(char::is_whitespace)?;
            (name, BTreeMap::new(), rest)
        }
    };
    let value = rest.split_whitespace().next()?.parse().ok()?;
    Some(Sample { name: name.to_string(), labels, value })
}

/// `a="x",b="y\"z"` → {a: x, b: y"z}.
fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect::<String>().trim().to_string();
        if name.is_empty() || chars.next() != Some('"') {
            return out;
        }
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(other) => value.push(other),
                    None => break,
                },
                c => value.push(c),
            }
        }
        out.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prometheus_text() {
        let page = "# HELP x y\n# TYPE vmm_requests_total counter\n\
            vmm_requests_total{outcome=\"applied\"} 12\n\
            vmm_requests_total{outcome=\"conflict\"} 3\n\
            ferretdb_client_requests_total{command=\"find\",opcode=\"OP_MSG\"} 7 1700000000\n\
            up 1\nweird{a=\"q\\\"uote,d\"} 2.5e1\n";
        let m = Metrics::parse(page);
        assert_eq!(m.sum("vmm_requests_total"), Some(15.0));
        assert_eq!(m.sum_where("vmm_requests_total", "outcome", "conflict"), 3.0);
        assert_eq!(m.sum("absent"), None);
        assert_eq!(m.sum("up"), Some(1.0));
        assert_eq!(m.by_label("ferretdb_client_requests_total", "command").get("find"), Some(&7.0));
        assert_eq!(m.0.last().unwrap().labels.get("a").map(String::as_str), Some("q\"uote,d"));
        assert_eq!(m.sum("weird"), Some(25.0));
    }

    #[test]
    fn delta_keeps_changes() {
        let a = BTreeMap::from([("find".to_string(), 3.0), ("hello".to_string(), 1.0)]);
        let b = BTreeMap::from([("find".to_string(), 5.0), ("hello".to_string(), 1.0), ("insert".to_string(), 2.0)]);
        let d = delta(&b, &a);
        assert_eq!(d.len(), 2);
        assert_eq!(d["find"], 2.0);
        assert_eq!(d["insert"], 2.0);
    }

    #[test]
    fn unchunks() {
        assert_eq!(unchunk("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"), "hello world");
    }
}
