//! The connection task: TCP (or TLS over TCP) in and out of the engine, its timer, and
//! reconnecting.

use super::Shared;
use crate::tls::{self, TlsFiles};
use rustls::pki_types::ServerName;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// How long opening a connection (TCP, then the TLS handshake) may take.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the broker is, and how to talk to it.
pub(super) struct Target {
    host: String,
    port: u16,
    /// The TLS configuration of an `mqtts://` URL; `None` for plain TCP.
    tls: Option<TlsConnector>,
}

impl Target {
    /// The broker of `mqtt://host[:port]` (port 1883) or `mqtts://host[:port]` / `ssl://…`
    /// (TLS, port 8883, with `files`' CA and client certificate). The TLS files are read now, so
    /// a bad path fails here rather than on every reconnection.
    pub(super) fn parse(url: &str, files: &TlsFiles) -> Result<Target, String> {
        let (rest, tls, default_port) = if let Some(rest) = url.strip_prefix("mqtt://") {
            (rest, false, 1883)
        } else if let Some(rest) = url.strip_prefix("mqtts://").or_else(|| url.strip_prefix("ssl://")) {
            (rest, true, 8883)
        } else {
            return Err(format!("{url}: only mqtt:// and mqtts:// (or ssl://) URLs are supported"));
        };
        let rest = rest.trim_end_matches('/');
        if rest.is_empty() || rest.contains('/') || rest.contains('@') {
            return Err(format!("{url}: expected {}://host[:port]", if tls { "mqtts" } else { "mqtt" }));
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => {
                (host, port.parse::<u16>().map_err(|_| format!("{url}: bad port {port:?}"))?)
            }
            _ => (rest, default_port),
        };
        let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host).to_string();
        let tls = match tls {
            true => Some(TlsConnector::from(tls::client_config(files).map_err(|e| e.to_string())?)),
            false => None,
        };
        Ok(Target { host, port, tls })
    }

    /// `host:port`, for messages.
    fn address(&self) -> String {
        match self.host.contains(':') {
            true => format!("[{}]:{}", self.host, self.port),
            false => format!("{}:{}", self.host, self.port),
        }
    }
}

/// An open connection.
enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// Opens a connection to `target`, or says why it could not, naming TLS when the handshake
/// failed (an unknown CA, a wrong host name, a refused client certificate).
async fn open(target: &Target) -> Result<Stream, String> {
    let address = target.address();
    let connecting = TcpStream::connect((target.host.as_str(), target.port));
    let stream = match tokio::time::timeout(OPEN_TIMEOUT, connecting).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => return Err(format!("cannot connect to {address}: {e}")),
        Err(_) => return Err(format!("cannot connect to {address}: no answer within {OPEN_TIMEOUT:?}")),
    };
    // Small QoS 1 packets both ways: without TCP_NODELAY, Nagle and delayed ACKs add ~40 ms.
    let _ = stream.set_nodelay(true);
    let Some(connector) = &target.tls else { return Ok(Stream::Plain(stream)) };
    let name = ServerName::try_from(target.host.clone())
        .map_err(|e| format!("TLS to {address}: {:?} is not a valid server name: {e}", target.host))?;
    match tokio::time::timeout(OPEN_TIMEOUT, connector.connect(name, stream)).await {
        Ok(Ok(stream)) => Ok(Stream::Tls(Box::new(stream))),
        Ok(Err(e)) => Err(format!("TLS handshake with {address} failed: {e}")),
        Err(_) => Err(format!("TLS handshake with {address}: no answer within {OPEN_TIMEOUT:?}")),
    }
}

/// Connects, serves the connection until it ends, and reconnects with back-off (0.1 s doubling
/// to 5 s, back to 0.1 s after a connection that got online), until the client is closed.
pub(super) async fn run(shared: Arc<Shared>, target: Target) {
    let mut backoff = Duration::from_millis(100);
    loop {
        if shared.lock().closed {
            return;
        }
        let (got_online, failure) = match open(&target).await {
            Ok(Stream::Plain(stream)) => (serve(&shared, stream).await, None),
            Ok(Stream::Tls(stream)) => (serve(&shared, *stream).await, None),
            Err(reason) => (false, Some(reason)),
        };
        let closed = shared.step(|state, now| {
            match failure {
                Some(reason) => state.engine.transport_failed(now, reason),
                None => state.engine.transport_closed(now),
            }
            state.lost = None;
            state.closed
        });
        if closed {
            return;
        }
        backoff = if got_online { Duration::from_millis(100) } else { (backoff * 2).min(Duration::from_secs(5)) };
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = shared.wake.notified() => {}
        }
    }
}

/// What the engine wants done next.
struct Next {
    bytes: Vec<u8>,
    timeout: Option<u64>,
    lost: bool,
    closed: bool,
}

/// Moves bytes until the connection ends; returns whether it got online.
async fn serve<S: AsyncRead + AsyncWrite>(shared: &Shared, stream: S) -> bool {
    let (mut reader, mut writer) = tokio::io::split(stream);
    shared.step(|state, now| state.engine.transport_open(now));
    let mut buffer = vec![0u8; 64 * 1024];
    let mut got_online = false;
    loop {
        let next = shared.step(|state, now| {
            let closed = state.closed;
            let mut bytes: Vec<u8> = std::iter::from_fn(|| state.engine.poll_transmit()).flatten().collect();
            if closed {
                bytes.extend(state.engine.disconnect(now));
            }
            got_online |= state.engine.status().is_connected();
            Next { bytes, timeout: state.engine.poll_timeout(), lost: state.lost.take().is_some(), closed }
        });
        if !next.bytes.is_empty() && (writer.write_all(&next.bytes).await.is_err() || writer.flush().await.is_err()) {
            return got_online;
        }
        if next.lost || next.closed {
            // TLS: say close_notify, so the broker does not log a truncated connection.
            let _ = writer.shutdown().await;
            return got_online;
        }
        let wait =
            next.timeout.map_or(Duration::from_secs(3600), |t| Duration::from_millis(t.saturating_sub(shared.now())));
        tokio::select! {
            read = reader.read(&mut buffer) => match read {
                Ok(0) | Err(_) => return got_online,
                Ok(n) => shared.step(|state, now| state.engine.handle_bytes(now, &buffer[..n])),
            },
            () = shared.wake.notified() => {}
            () = tokio::time::sleep(wait) => shared.step(|state, now| state.engine.handle_timeout(now)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Target, TlsFiles};

    fn parsed(url: &str) -> Result<(String, u16, bool), String> {
        Target::parse(url, &TlsFiles::new()).map(|t| (t.address(), t.port, t.tls.is_some()))
    }

    #[test]
    fn an_mqtt_url_gives_its_address_with_the_default_port() {
        assert_eq!(parsed("mqtt://127.0.0.1:1884").unwrap(), ("127.0.0.1:1884".into(), 1884, false));
        assert_eq!(parsed("mqtt://broker/").unwrap(), ("broker:1883".into(), 1883, false));
        assert_eq!(parsed("mqtt://[::1]").unwrap(), ("[::1]:1883".into(), 1883, false));
        assert!(parsed("ws://broker").is_err());
        assert!(parsed("mqtt://user@broker").is_err());
        assert!(parsed("mqtt://broker:x").is_err());
    }

    #[test]
    fn an_mqtts_url_is_tls_on_port_8883_unless_given() {
        let files = TlsFiles::new().with_ca_file("/nonexistent/ca.crt");
        let e = Target::parse("mqtts://127.0.0.1", &files).err().unwrap();
        assert!(e.contains("/nonexistent/ca.crt"), "the bad CA file is named at once: {e}");
        // The OS roots (a machine without any fails with a clear message instead).
        match parsed("mqtts://127.0.0.1") {
            Ok(t) => assert_eq!(t, ("127.0.0.1:8883".into(), 8883, true)),
            Err(e) => assert!(e.contains("operating system"), "{e}"),
        }
        if let Ok(t) = parsed("ssl://broker:8884") {
            assert_eq!(t, ("broker:8884".into(), 8884, true));
        }
    }
}
