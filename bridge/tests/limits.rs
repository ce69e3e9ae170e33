//! The bridge's limits under abuse, against the real broker and FerretDB (`docs/BRIDGE.md`
//! "Limits"): one client's flood does not slow another client down, a failure flood is answered
//! within the reply budget, silent sockets do not stop `/healthz`, and a retained request is
//! never applied. Each test is bounded by [`BOUND`].

mod common;

use common::{get, health_becomes, mqtt_url, Bridge, World};
use rumqttc::{AsyncClient, Event, Incoming, MqttOptions, QoS};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use vmm_protocol::topic::Topics;

/// No test here runs longer.
const BOUND: Duration = Duration::from_secs(60);

/// The tests of this file run one at a time: each loads the machine, and the latency test
/// measures it.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A bridge in this process with extra flags (`--share-group` replaces the world's), and its
/// HTTP address.
async fn start(world: &World, extra: &[&str]) -> (Bridge, SocketAddr) {
    let mut args = world.args("b");
    if extra.contains(&"--share-group") {
        let at = args.iter().position(|a| a == "--share-group").expect("the world names a group");
        args.drain(at..at + 2);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let config = vmm_bridge::Config::load_from(args).expect("config");
    let shutdown = CancellationToken::new();
    let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = http.local_addr().unwrap();
    let task = tokio::spawn(vmm_bridge::serve(config, Some(http), shutdown.clone()));
    health_becomes(addr, 200).await;
    (Bridge { shutdown, task }, addr)
}

/// One series of the bridge's `/metrics`.
async fn metric(addr: SocketAddr, series: &str) -> f64 {
    let (_, text) = get(addr, "/metrics").await;
    let line = text.lines().find(|l| l.strip_prefix(series).is_some_and(|r| r.starts_with(' ')));
    line.unwrap_or_else(|| panic!("no {series} in\n{text}"))[series.len() + 1..].parse().unwrap()
}

/// Waits until `series` is at least `at_least`; returns it.
async fn metric_reaches(addr: SocketAddr, series: &str, at_least: f64) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v = metric(addr, series).await;
        if v >= at_least {
            return v;
        }
        if Instant::now() >= deadline {
            let (_, text) = get(addr, "/metrics").await;
            let vmm: Vec<&str> = text.lines().filter(|l| l.starts_with("vmm_")).collect();
            panic!("{series} stayed at {v}, below {at_least}; metrics:\n{}", vmm.join("\n"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A rumqttc connection whose event loop a task drives; incoming messages arrive on `rx` with
/// the time they arrived.
struct Mq {
    client: AsyncClient,
    rx: mpsc::UnboundedReceiver<Got>,
}

enum Got {
    SubAck,
    Message { topic: String, payload: Vec<u8>, at: Instant },
}

impl Mq {
    async fn connect(id: &str) -> Mq {
        let (host, port) = common::broker();
        let mut options = MqttOptions::new(id, host, port);
        options.set_keep_alive(Duration::from_secs(30)).set_max_packet_size(8 << 20, 8 << 20).set_inflight(500);
        let (client, mut eventloop) = AsyncClient::new(options, 4096);
        // Without it, Nagle and delayed ACKs add ~40 ms to a lone small publish.
        let mut network = eventloop.network_options();
        network.set_tcp_nodelay(true);
        eventloop.set_network_options(network);
        let (tx, mut rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let got = match eventloop.poll().await {
                    Ok(Event::Incoming(Incoming::ConnAck(_))) => Got::SubAck,
                    Ok(Event::Incoming(Incoming::SubAck(_))) => Got::SubAck,
                    Ok(Event::Incoming(Incoming::Publish(p))) => {
                        Got::Message { topic: p.topic, payload: p.payload.to_vec(), at: Instant::now() }
                    }
                    Ok(_) => continue,
                    Err(_) => return,
                };
                if tx.send(got).is_err() {
                    return;
                }
            }
        });
        assert!(matches!(rx.recv().await, Some(Got::SubAck)), "no CONNACK from {}", mqtt_url());
        Mq { client, rx }
    }

    async fn subscribe(&mut self, filter: &str) {
        self.client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
        while !matches!(self.rx.recv().await.expect("connection open"), Got::SubAck) {}
    }

    async fn publish(&self, topic: &str, payload: &Value) {
        self.client.publish(topic, QoS::AtLeastOnce, false, payload.to_string()).await.unwrap();
    }

    /// The next message: topic, JSON payload, size and arrival time.
    async fn message(&mut self) -> (String, Value, usize, Instant) {
        loop {
            if let Got::Message { topic, payload, at } = self.rx.recv().await.expect("connection open") {
                return (topic, serde_json::from_slice(&payload).unwrap(), payload.len(), at);
            }
        }
    }
}

fn insert(rid: &str, collection: &str, id: &str, doc: Value) -> Value {
    json!({"type": "request", "rid": rid, "collection": collection, "id": id, "base": 0, "op": "insert", "doc": doc})
}

/// One request's latency: published until its event arrives.
async fn latency(mq: &mut Mq, topics: &Topics, client: &str, n: usize) -> Duration {
    let (rid, start) = (format!("r{n}"), Instant::now());
    mq.publish(&topics.request(client, "tasks"), &insert(&rid, "tasks", &format!("v{n}"), json!({"n": n}))).await;
    loop {
        let (_, event, _, at) = mq.message().await;
        if event["rid"] == rid.as_str() {
            return at - start;
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// What a slowed-down request may take: twice the idle median, plus this floor for the noise of
/// a shared machine. Measured on 2 cores shared with other helpers' builds and tests: idle
/// medians of 9 to 44 ms, under the flood 18 to 132 ms (the flood keeps the database and the CPU
/// busy, so each of the victim's database operations may wait for one of the flood's, and the
/// other processes' load comes and goes). A victim queued behind the flood, as with one
/// first-in first-out queue, would wait for ~1,000 requests of ~10 ms: 10 s, 100 times this.
const NOISE_FLOOR: Duration = Duration::from_millis(100);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_one_client_leaves_another_clients_latency_within_twice_idle() {
    let _serial = SERIAL.lock().await;
    let world = World::new("limits_flood").await;
    let topics = Topics::new(&world.prefix).unwrap();
    // One request of the flooding client handled at a time: on this test machine the database
    // serves about one request at a time, so a victim's latency grows with every flood request
    // being handled beside it (~(cap + 1)x with the default cap of 8). The intake's turns keep
    // the victim from waiting behind the 2,000; the cap sets the flood's share of the database.
    let (bridge, addr) = start(&world, &["--client-max-in-flight", "1"]).await;
    tokio::time::timeout(BOUND, async {
        let victim_id = format!("{}-victim", world.prefix);
        let mut victim = Mq::connect(&victim_id).await;
        victim.subscribe(&topics.collection_events("tasks")).await;
        latency(&mut victim, &topics, &victim_id, 0).await; // warm-up: the collection is created
        let mut idle = Vec::new();
        for n in 1..=9 {
            idle.push(latency(&mut victim, &topics, &victim_id, n).await);
        }
        let idle = median(idle);

        let flood_id = format!("{}-flood", world.prefix);
        let flood = Mq::connect(&flood_id).await;
        let topic = topics.request(&flood_id, "flood");
        for n in 0..2000 {
            flood.publish(&topic, &insert(&format!("f{n}"), "flood", &format!("f{n}"), json!({"n": n}))).await;
        }
        // The flood has reached the bridge and waits in its intake: its arrival, which costs CPU
        // time of its own, is over (one request at a time is handled meanwhile). The client's
        // queue holds 1,000 (--client-max-queued); the rest is dropped, counted as queue_full.
        metric_reaches(addr, "vmm_bridge_intake_messages", 900.0).await;
        let mut loaded = Vec::new();
        for n in 10..19 {
            loaded.push(latency(&mut victim, &topics, &victim_id, n).await);
        }
        let waiting = metric(addr, "vmm_bridge_intake_messages").await;
        let dropped = metric(addr, "vmm_bridge_dropped_total{reason=\"queue_full\"}").await;
        assert!(dropped >= 900.0, "the flooder's queue is bounded: {dropped} dropped of 2,000");
        assert!(waiting > 0.0, "the flood was over before the measurement ended: it proves nothing");
        let loaded = median(loaded);
        eprintln!("victim latency: idle median {idle:?}, under a 2,000-request flood {loaded:?} ({waiting} waiting)");
        assert!(loaded <= idle * 2 + NOISE_FLOOR, "idle median {idle:?}, under the flood {loaded:?}");
    })
    .await
    .expect("within the bound");
    bridge.stop().await;
    world.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_flood_is_answered_within_the_reply_budget() {
    const BUDGET: usize = 100_000;
    const WINDOW: Duration = Duration::from_secs(4);
    let _serial = SERIAL.lock().await;
    let world = World::new("limits_nack").await;
    let topics = Topics::new(&world.prefix).unwrap();
    let (bridge, addr) = start(&world, &["--client-reply-bytes-per-second", &BUDGET.to_string()]).await;
    tokio::time::timeout(BOUND, async {
        let id = format!("{}-nack", world.prefix);
        let mut mq = Mq::connect(&id).await;
        mq.subscribe(&topics.reply(&id)).await;
        mq.subscribe(&topics.collection_events("tasks")).await;
        let blob = "x".repeat(60_000);
        mq.publish(&topics.request(&id, "tasks"), &insert("big", "tasks", "big", json!({ "blob": blob }))).await;
        let (_, event, _, _) = mq.message().await;
        assert_eq!(event["type"], "event", "{event}");
        let failure = json!({"type": "failure", "collection": "tasks", "id": "big", "version": 0});
        for _ in 0..150 {
            mq.publish(&topics.failure(&id, "tasks"), &failure).await;
        }
        let (_, first, size, t0) = mq.message().await;
        assert_eq!(first["type"], "replay", "{first}");
        let (mut replies, mut bytes, mut largest) = (1, size, size);
        let end = tokio::time::Instant::from_std(t0 + WINDOW);
        while let Ok((_, reply, size, at)) = tokio::time::timeout_at(end, mq.message()).await {
            assert_eq!(reply["type"], "replay");
            if at <= t0 + WINDOW {
                (replies, bytes, largest) = (replies + 1, bytes + size, largest.max(size));
            }
        }
        // The bucket (one second's budget) at the start, the budget for every second of the
        // window, and the one reply that may overdraw it.
        let allowed = BUDGET + BUDGET * WINDOW.as_secs() as usize + largest;
        eprintln!("{replies} replies, {bytes} bytes in {WINDOW:?} (allowed {allowed})");
        assert!(bytes <= allowed, "{replies} replies, {bytes} bytes in {WINDOW:?}: over {allowed}");
        assert!(replies >= 3, "the flood is still answered, at the budget's pace: {replies} replies");
        let dropped = metric(addr, "vmm_bridge_dropped_total{reason=\"rate\"}").await;
        assert!(dropped >= 100.0, "150 failures at once, 40 admitted: {dropped} dropped for the rate");
    })
    .await
    .expect("within the bound");
    bridge.stop().await;
    world.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_sockets_do_not_stop_healthz() {
    vmm_bridge::raise_fd_limit().expect("raise the open-file limit");
    let _serial = SERIAL.lock().await;
    let world = World::new("limits_http").await;
    let (bridge, addr) = start(&world, &["--http-header-timeout", "1"]).await;
    tokio::time::timeout(BOUND, async {
        let mut silent = Vec::with_capacity(2000);
        for _ in 0..2000 {
            silent.push(tokio::net::TcpStream::connect(addr).await.expect("connect"));
        }
        let start = Instant::now();
        let (status, body) = tokio::time::timeout(Duration::from_secs(2), get(addr, "/healthz"))
            .await
            .expect("/healthz answers within 2 s among 2,000 silent sockets");
        assert_eq!(status, 200, "{body}");
        eprintln!("/healthz answered in {:?} among 2,000 silent sockets", start.elapsed());
        let open = metric(addr, "vmm_bridge_http_connections").await;
        assert!(open <= 256.0, "{open} connections open, over the cap of 256");
        let evicted = metric(addr, "vmm_bridge_http_capped_total{action=\"evicted\"}").await;
        assert!(evicted >= 2000.0 - 256.0, "{evicted} evicted");
        // A silent socket still open is closed by the header timeout (1 s here).
        use tokio::io::AsyncReadExt;
        let mut last = silent.pop().unwrap();
        let mut buf = [0u8; 16];
        let closed = tokio::time::timeout(Duration::from_secs(5), last.read(&mut buf)).await;
        assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "a silent connection is closed: {closed:?}");
    })
    .await
    .expect("within the bound");
    bridge.stop().await;
    world.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retained_request_published_before_the_bridge_starts_is_not_applied() {
    let _serial = SERIAL.lock().await;
    let world = World::new("limits_retained").await;
    let topics = Topics::new(&world.prefix).unwrap();
    let id = format!("{}-mallory", world.prefix);
    let topic = topics.request(&id, "tasks");
    let mut mq = Mq::connect(&id).await;
    let request = insert("retained", "tasks", "poison", json!({"evil": true}));
    mq.client.publish(&topic, QoS::AtLeastOnce, true, request.to_string()).await.unwrap();
    // Subscribed to the topic itself: the broker hands back the retained message once it holds
    // it, and later the empty message that clears it.
    mq.subscribe(&topic).await;
    assert_eq!(mq.message().await.1["rid"], "retained");
    // Without a shared subscription: a broker does not send retained messages to shared ones.
    let (bridge, addr) = start(&world, &["--share-group", ""]).await;
    let result = tokio::time::timeout(BOUND, async {
        metric_reaches(addr, "vmm_bridge_dropped_total{reason=\"retained\"}", 1.0).await;
        mq.publish(&topic, &insert("plain", "tasks", "plain", json!({}))).await;
        let deadline = Instant::now() + Duration::from_secs(20);
        while world.stored("tasks").await.is_empty() {
            assert!(Instant::now() < deadline, "the ordinary request was not applied");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let ids: Vec<String> =
            world.stored("tasks").await.iter().map(|d| d.get_str("_id").unwrap().to_string()).collect();
        assert_eq!(ids, ["plain"], "the retained request was applied");
        assert_eq!(metric(addr, "vmm_requests_total{outcome=\"applied\"}").await, 1.0);
    })
    .await;
    // Clear the retained message whatever happened (the broker would keep it), and see it gone.
    mq.client.publish(&topic, QoS::AtLeastOnce, true, Vec::new()).await.unwrap();
    let cleared = tokio::time::timeout(Duration::from_secs(10), async {
        while !matches!(mq.rx.recv().await, Some(Got::Message { payload, .. }) if payload.is_empty()) {}
    });
    cleared.await.expect("the retained message is cleared");
    bridge.stop().await;
    world.drop_database().await;
    result.expect("within the bound");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_intake_cap_messages_are_dropped_qos0_first_and_every_one_is_accounted_for() {
    let _serial = SERIAL.lock().await;
    let world = World::new("limits_intake").await;
    let topics = Topics::new(&world.prefix).unwrap();
    // 30 waiting at most: past it QoS 0 is dropped, QoS 1 held (unacknowledged) up to 60.
    let (bridge, addr) = start(&world, &["--intake-max-messages", "30", "--client-max-queued", "10000"]).await;
    tokio::time::timeout(BOUND, async {
        let id = format!("{}-bulk", world.prefix);
        let mq = Mq::connect(&id).await;
        let topic = topics.request(&id, "tasks");
        for n in 0..500 {
            let (q1, q0) = (format!("q{n}"), format!("z{n}"));
            mq.publish(&topic, &insert(&q1, "tasks", &q1, json!({}))).await;
            let request = insert(&q0, "tasks", &q0, json!({}));
            mq.client.publish(&topic, QoS::AtMostOnce, false, request.to_string()).await.unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(40);
        let (applied, dropped) = loop {
            let applied = metric(addr, "vmm_requests_total{outcome=\"applied\"}").await;
            let dropped = metric(addr, "vmm_bridge_dropped_total{reason=\"intake_full\"}").await;
            if applied + dropped >= 1000.0 {
                break (applied, dropped);
            }
            assert!(Instant::now() < deadline, "{applied} applied, {dropped} dropped of 1,000");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(applied + dropped, 1000.0, "every message is applied or counted as dropped");
        assert!(dropped > 0.0, "a burst of 1,000 past a cap of 30 drops some");
        let ids: Vec<String> =
            world.stored("tasks").await.iter().map(|d| d.get_str("_id").unwrap().to_string()).collect();
        let qos1 = ids.iter().filter(|id| id.starts_with('q')).count();
        let qos0 = ids.iter().filter(|id| id.starts_with('z')).count();
        eprintln!("past a cap of 30: {qos1} of 500 QoS 1 and {qos0} of 500 QoS 0 applied, {dropped} dropped");
        assert!(qos1 >= qos0, "QoS 1 has the reserve past the cap: {qos1} QoS 1, {qos0} QoS 0 applied");
    })
    .await
    .expect("within the bound");
    bridge.stop().await;
    world.drop_database().await;
}
