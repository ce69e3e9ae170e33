//! The operator's HTTP endpoint: `GET /healthz` and `GET /metrics`.
//!
//! It takes its listener and a shutdown token as arguments, so tests bind `127.0.0.1:0`.
//! Its connections are bounded ([`HttpLimits`], `http/conns.rs`): so many open at most, each
//! closed when its client is slow to send a request or makes no progress.

mod conns;

pub use conns::HttpLimits;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use mongodb::bson::doc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

/// How long `/healthz` waits for MongoDB's answer to a ping before it calls it down.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// What the endpoint reads: the metrics, whether the MQTT connection is up, and the database.
#[derive(Clone, Debug)]
pub struct HttpState {
    /// The metrics `/metrics` renders.
    pub metrics: Arc<Metrics>,
    /// Whether the bridge is connected to the broker now (set by the MQTT task).
    pub mqtt_connected: Arc<AtomicBool>,
    /// Whether the broker acknowledged the bridge's subscriptions on this connection.
    pub mqtt_subscribed: Arc<AtomicBool>,
    /// Whether the bridge's storage is open (it has reached the database once and serves).
    pub storage_open: Arc<AtomicBool>,
    /// The database `/healthz` pings.
    pub db: mongodb::Database,
}

/// Serves `GET /healthz` and `GET /metrics` on `listener` until `shutdown` is cancelled, then
/// finishes the requests in progress and returns. With the default [`HttpLimits`].
pub async fn serve(listener: TcpListener, state: HttpState, shutdown: CancellationToken) -> std::io::Result<()> {
    serve_with_limits(listener, state, HttpLimits::default(), shutdown).await
}

/// [`serve`] with these limits on its connections.
pub async fn serve_with_limits(
    listener: TcpListener,
    state: HttpState,
    limits: HttpLimits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let counters = state.metrics.clone();
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .with_state(state);
    conns::serve(listener, app, limits, counters, shutdown).await
}

/// Serves another role's router (the mirror's) with the same connection limits; its connection
/// counters are not rendered.
pub(crate) async fn serve_router(
    listener: TcpListener,
    app: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    conns::serve(listener, app, HttpLimits::default(), Arc::new(Metrics::default()), shutdown).await
}

/// 200 when the bridge serves: the broker connection is up with its subscriptions acknowledged,
/// the storage is open, and MongoDB answers a ping within [`PING_TIMEOUT`]; else 503. The body
/// says which part is down (`serving` is the whole answer).
async fn healthz(State(state): State<HttpState>) -> Response {
    let mongodb = match tokio::time::timeout(PING_TIMEOUT, state.db.run_command(doc! { "ping": 1 })).await {
        Ok(Ok(_)) => true,
        Ok(Err(error)) => {
            tracing::debug!(%error, "healthz: MongoDB ping failed");
            false
        }
        Err(_) => {
            tracing::debug!(timeout = ?PING_TIMEOUT, "healthz: MongoDB ping timed out");
            false
        }
    };
    // Read after the ping, together, so that the body never mixes two moments.
    let mqtt = state.mqtt_connected.load(Ordering::Acquire);
    let serving =
        mqtt && mongodb && state.mqtt_subscribed.load(Ordering::Acquire) && state.storage_open.load(Ordering::Acquire);
    let (status, word) =
        if serving { (StatusCode::OK, "ok") } else { (StatusCode::SERVICE_UNAVAILABLE, "unavailable") };
    let body = serde_json::json!({ "status": word, "mqtt": mqtt, "mongodb": mongodb, "serving": serving }).to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn metrics(State(state): State<HttpState>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render()).into_response()
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "not found\n").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// The test database: `VMM_MONGODB_URI`, else the FerretDB of `scripts/services.sh`.
    async fn live_db() -> mongodb::Database {
        let uri = std::env::var("VMM_MONGODB_URI").unwrap_or_else(|_| "mongodb://127.0.0.1:27017".to_string());
        let mut options = mongodb::options::ClientOptions::parse(&uri).await.unwrap();
        options.server_selection_timeout = Some(Duration::from_secs(5));
        mongodb::Client::with_options(options).unwrap().database("vmm_http_test")
    }

    /// A database handle to a port where nothing listens.
    async fn dead_db() -> mongodb::Database {
        let mut options = mongodb::options::ClientOptions::parse("mongodb://127.0.0.1:1").await.unwrap();
        options.server_selection_timeout = Some(Duration::from_millis(200));
        options.connect_timeout = Some(Duration::from_millis(200));
        mongodb::Client::with_options(options).unwrap().database("vmm_http_test")
    }

    struct Server {
        addr: std::net::SocketAddr,
        shutdown: CancellationToken,
        task: tokio::task::JoinHandle<std::io::Result<()>>,
    }

    impl Server {
        async fn start(state: HttpState) -> Server {
            Server::start_with(state, HttpLimits::default()).await
        }

        async fn start_with(state: HttpState, limits: HttpLimits) -> Server {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let shutdown = CancellationToken::new();
            let task = tokio::spawn(serve_with_limits(listener, state, limits, shutdown.clone()));
            Server { addr, shutdown, task }
        }

        /// Sends one HTTP/1.1 request; returns the status, the head (lower case) and the body.
        /// A blocking std socket on a blocking thread: the test needs no HTTP client crate.
        async fn get(&self, path: &str) -> (u16, String, String) {
            let (addr, path) = (self.addr, path.to_string());
            let response = tokio::task::spawn_blocking(move || {
                let mut stream = std::net::TcpStream::connect(addr).unwrap();
                stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
                stream.write_all(request.as_bytes()).unwrap();
                let mut response = String::new();
                stream.read_to_string(&mut response).expect("the server answers within 10 s");
                response
            })
            .await
            .unwrap();
            let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
            let status = head.split(' ').nth(1).unwrap().parse().unwrap();
            (status, head.to_ascii_lowercase(), body.to_string())
        }

        async fn stop(self) {
            self.shutdown.cancel();
            tokio::time::timeout(Duration::from_secs(10), self.task)
                .await
                .expect("the server stops on shutdown")
                .unwrap()
                .unwrap();
        }
    }

    fn state(db: mongodb::Database, mqtt: bool) -> HttpState {
        HttpState {
            metrics: Arc::default(),
            mqtt_connected: Arc::new(AtomicBool::new(mqtt)),
            mqtt_subscribed: Arc::new(AtomicBool::new(true)),
            storage_open: Arc::new(AtomicBool::new(true)),
            db,
        }
    }

    #[tokio::test]
    async fn metrics_are_served_as_prometheus_text_and_other_paths_are_404() {
        let state = state(dead_db().await, true);
        state.metrics.request("applied");
        let server = Server::start(state).await;
        let (status, head, body) = server.get("/metrics").await;
        assert_eq!(status, 200);
        assert!(head.contains("content-type: text/plain; version=0.0.4"), "{head}");
        assert!(body.contains("vmm_requests_total{outcome=\"applied\"} 1\n"), "{body}");
        assert_eq!(server.get("/nothing").await.0, 404);
        assert_eq!(server.get("/").await.0, 404);
        server.stop().await;
    }

    #[tokio::test]
    async fn healthz_is_ok_when_mqtt_and_mongodb_are_up_and_503_when_mqtt_is_down() {
        let db = live_db().await;
        let mqtt = Arc::new(AtomicBool::new(true));
        let server = Server::start(HttpState { mqtt_connected: mqtt.clone(), ..state(db, true) }).await;
        let (status, head, body) = server.get("/healthz").await;
        assert!(head.contains("content-type: application/json"), "{head}");
        assert_eq!(status, 200, "{body} (is FerretDB running? bash scripts/services.sh start)");
        assert_eq!(body, r#"{"status":"ok","mqtt":true,"mongodb":true,"serving":true}"#);
        mqtt.store(false, Ordering::Release);
        let (status, _, body) = server.get("/healthz").await;
        assert_eq!(status, 503);
        assert_eq!(body, r#"{"status":"unavailable","mqtt":false,"mongodb":true,"serving":false}"#);
        server.stop().await;
    }

    #[tokio::test]
    async fn healthz_is_503_when_mongodb_is_unreachable() {
        let server = Server::start(state(dead_db().await, true)).await;
        let (status, _, body) = server.get("/healthz").await;
        assert_eq!(status, 503);
        assert_eq!(body, r#"{"status":"unavailable","mqtt":true,"mongodb":false,"serving":false}"#);
        server.stop().await;
    }

    /// Whether the server closes `stream` within `within` (reads end of stream or an error).
    async fn closed_within(stream: &mut tokio::net::TcpStream, within: Duration) -> bool {
        use tokio::io::AsyncReadExt;
        let mut buf = [0u8; 64];
        matches!(tokio::time::timeout(within, stream.read(&mut buf)).await, Ok(Ok(0) | Err(_)))
    }

    #[tokio::test]
    async fn a_connection_past_the_cap_evicts_the_oldest_idle_one_and_is_served() {
        let limits = HttpLimits { max_connections: 2, ..HttpLimits::default() };
        let state = state(dead_db().await, true);
        let metrics = state.metrics.clone();
        let server = Server::start_with(state, limits).await;
        let mut first = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let mut second = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        // The third (the request) takes the place of the oldest silent one.
        let (status, _, body) = server.get("/metrics").await;
        assert_eq!(status, 200);
        assert!(body.contains("vmm_bridge_http_capped_total{action=\"evicted\"} 1\n"), "{body}");
        assert!(closed_within(&mut first, Duration::from_secs(2)).await, "the oldest is closed");
        assert!(!closed_within(&mut second, Duration::from_millis(200)).await, "the other stays open");
        assert!(!metrics.render().contains("vmm_bridge_http_connections 3\n"), "never over the cap");
        server.stop().await;
    }

    #[tokio::test]
    async fn a_silent_connection_is_closed_after_the_header_timeout() {
        let limits = HttpLimits { header_timeout: Duration::from_millis(300), ..HttpLimits::default() };
        let server = Server::start_with(state(dead_db().await, true), limits).await;
        let mut silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let started = std::time::Instant::now();
        assert!(closed_within(&mut silent, Duration::from_secs(3)).await, "closed by the header timeout");
        assert!(started.elapsed() >= Duration::from_millis(250), "not before it: {:?}", started.elapsed());
        server.stop().await;
    }

    #[tokio::test]
    async fn a_connection_that_makes_no_progress_is_closed_after_the_idle_timeout() {
        // The head is half sent and the header timeout is long: the idle timeout ends it.
        use tokio::io::AsyncWriteExt;
        let limits = HttpLimits {
            header_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_millis(300),
            ..HttpLimits::default()
        };
        let server = Server::start_with(state(dead_db().await, true), limits).await;
        let mut slow = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        slow.write_all(b"GET /metrics HTTP/1.1\r\n").await.unwrap();
        assert!(closed_within(&mut slow, Duration::from_secs(3)).await, "closed by the idle timeout");
        server.stop().await;
    }
}
