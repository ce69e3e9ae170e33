//! The connection task: TCP in and out of the engine, its timer, and reconnecting.

use super::Shared;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `host:port` of an `mqtt://host[:port]` URL.
pub(super) fn address_of(url: &str) -> Result<String, String> {
    let rest = url.strip_prefix("mqtt://").ok_or_else(|| format!("{url}: only mqtt:// URLs are supported"))?;
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() || rest.contains('/') || rest.contains('@') {
        return Err(format!("{url}: expected mqtt://host:port"));
    }
    Ok(if rest.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
        rest.to_string()
    } else {
        format!("{rest}:1883")
    })
}

/// Connects, serves the connection until it ends, and reconnects with back-off (0.1 s doubling
/// to 5 s, back to 0.1 s after a connection that got online), until the client is closed.
pub(super) async fn run(shared: Arc<Shared>, address: String) {
    let mut backoff = Duration::from_millis(100);
    loop {
        if shared.lock().closed {
            return;
        }
        let connected = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(&address)).await;
        let mut got_online = false;
        if let Ok(Ok(stream)) = connected {
            // Small QoS 1 packets both ways: without TCP_NODELAY, Nagle and delayed ACKs add ~40 ms.
            let _ = stream.set_nodelay(true);
            got_online = serve(&shared, stream).await;
        }
        let closed = shared.step(|state, now| {
            state.engine.transport_closed(now);
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
async fn serve(shared: &Shared, stream: TcpStream) -> bool {
    let (mut reader, mut writer) = stream.into_split();
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
        if !next.bytes.is_empty() && writer.write_all(&next.bytes).await.is_err() {
            return got_online;
        }
        if next.lost || next.closed {
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
    use super::address_of;

    #[test]
    fn an_mqtt_url_gives_its_address_with_the_default_port() {
        assert_eq!(address_of("mqtt://127.0.0.1:1884").unwrap(), "127.0.0.1:1884");
        assert_eq!(address_of("mqtt://broker/").unwrap(), "broker:1883");
        assert!(address_of("mqtts://broker").is_err());
        assert!(address_of("mqtt://user@broker").is_err());
    }
}
