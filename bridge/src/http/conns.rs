//! The HTTP endpoint's connections, bounded: the accept loop, a cap on open connections, a
//! deadline for each request's headers, and an idle timeout.
//!
//! Why not `axum::serve`: it has no cap and hyper's 30 s header timeout, so a few thousand
//! silent sockets hold as many file descriptors and tasks, and a monitor's `/healthz` fails with
//! the process's descriptors exhausted. Here a new connection past the cap closes the oldest
//! connection that is not answering a request (a silent one, or one kept alive between
//! requests): a flood of silent sockets keeps displacing itself, while a request that arrives
//! among them is answered. Only when every open connection is answering is the new one closed
//! at once.

use std::collections::BTreeMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::metrics::Metrics;

/// The limits on the endpoint's connections (`--http-max-connections`, `--http-header-timeout`,
/// `--http-idle-timeout`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// Connections open at once.
    pub max_connections: usize,
    /// How long a client has to send a request's headers, also between kept-alive requests.
    pub header_timeout: Duration,
    /// How long a connection may make no progress, reading or writing.
    pub idle_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> HttpLimits {
        HttpLimits {
            max_connections: 256,
            header_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(30),
        }
    }
}

/// Accepts and serves connections until `shutdown`, then lets the requests in progress finish.
pub(super) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let open = Arc::new(Open { max: limits.max_connections.max(1), slots: Mutex::default() });
    let mut tasks = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of descriptors (EMFILE) or a connection reset before it was accepted:
                // pause rather than spin; what is open closes in time.
                tracing::warn!(%error, "HTTP endpoint: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(slot) = open.admit(&metrics) else {
            metrics.http_capped(false);
            continue;
        };
        tasks.spawn(connection(stream, app.clone(), slot, limits, shutdown.clone()));
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    Ok(())
}

/// The open connections, oldest first.
struct Open {
    max: usize,
    slots: Mutex<(u64, BTreeMap<u64, Entry>)>,
}

struct Entry {
    /// Requests being answered on the connection.
    busy: Arc<AtomicUsize>,
    /// Cancelled to close the connection at once.
    evict: CancellationToken,
}

/// A connection's place among the open ones, given up on drop.
struct Slot {
    id: u64,
    open: Arc<Open>,
    metrics: Arc<Metrics>,
    busy: Arc<AtomicUsize>,
    evict: CancellationToken,
}

impl Open {
    /// A place for a new connection: a free one, or that of the oldest connection not answering
    /// a request, which is closed; `None` when every open connection is answering.
    fn admit(self: &Arc<Self>, metrics: &Arc<Metrics>) -> Option<Slot> {
        let mut guard = self.slots.lock().expect("connections lock");
        let (next, slots) = &mut *guard;
        if slots.len() >= self.max {
            let idle = slots.iter().find(|(_, e)| e.busy.load(Ordering::Acquire) == 0).map(|(id, _)| *id)?;
            let evicted = slots.remove(&idle).expect("found");
            evicted.evict.cancel();
            metrics.http_capped(true);
        }
        let id = *next;
        *next += 1;
        let (busy, evict) = (Arc::new(AtomicUsize::new(0)), CancellationToken::new());
        slots.insert(id, Entry { busy: busy.clone(), evict: evict.clone() });
        metrics.http_connection(1);
        Some(Slot { id, open: self.clone(), metrics: metrics.clone(), busy, evict })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.open.slots.lock().expect("connections lock").1.remove(&self.id);
        self.metrics.http_connection(-1);
    }
}

/// Serves one connection until it ends, times out, is evicted, or (gracefully) `shutdown`.
async fn connection(stream: TcpStream, app: Router, slot: Slot, limits: HttpLimits, shutdown: CancellationToken) {
    let epoch = Instant::now();
    let progress = Arc::new(AtomicU64::new(0));
    let io = TokioIo::new(Watched { inner: stream, progress: progress.clone(), epoch });
    let busy = slot.busy.clone();
    let service = hyper::service::service_fn(move |request| {
        let (app, busy) = (app.clone(), Busy::new(busy.clone()));
        async move {
            let response = app.oneshot(request).await;
            drop(busy);
            response
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut draining = false;
    loop {
        let quiet_since = epoch + Duration::from_millis(progress.load(Ordering::Relaxed));
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, "HTTP connection ended");
                }
                break;
            }
            () = slot.evict.cancelled() => break,
            () = tokio::time::sleep_until(quiet_since + limits.idle_timeout) => {
                if Instant::now() >= epoch + Duration::from_millis(progress.load(Ordering::Relaxed)) + limits.idle_timeout {
                    tracing::debug!("HTTP connection idle: closing it");
                    break;
                }
            }
            () = shutdown.cancelled(), if !draining => {
                conn.as_mut().graceful_shutdown();
                draining = true;
            }
        }
    }
    drop(slot);
}

/// Counts a request being answered on its connection while it lives.
struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn new(count: Arc<AtomicUsize>) -> Busy {
        count.fetch_add(1, Ordering::AcqRel);
        Busy(count)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A stream that notes when it last made progress (ms after `epoch`), for the idle timeout.
struct Watched {
    inner: TcpStream,
    progress: Arc<AtomicU64>,
    epoch: Instant,
}

impl Watched {
    fn touch(&self) {
        self.progress.store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
}

impl AsyncRead for Watched {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.touch();
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            this.touch();
        }
        result
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
