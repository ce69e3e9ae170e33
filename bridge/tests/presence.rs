//! Bridge presence (PROTOCOL.md §2.2): a bridge announces itself with a retained message and its
//! will clears it; a client knows whether a bridge serves its prefix, and sends what it holds as
//! soon as one comes up (one round trip, not the end of a back-off). Nothing is rolled back for
//! lack of time (§6.4).

mod common;

use common::{World, WAIT};
use serde_json::json;
use std::time::{Duration, Instant};
use vmm_engine::Status;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_sees_bridges_come_and_go_and_a_change_made_meanwhile_goes_out_as_one_comes_up() {
    let world = World::new("presence").await;
    let mut options = vmm_engine::native::ClientOptions::new(&common::mqtt_url(), &format!("{}-alice", world.prefix));
    options.prefix = world.prefix.clone();
    // Far longer than the test waits: only the bridge's announcement can make the change go out.
    options.resend_after = Duration::from_secs(600);
    options.load_retry = Duration::from_secs(600);
    options.request_timeout = None;
    let alice = vmm_engine::native::Client::connect(options).unwrap();
    let watching = alice.clone();
    tokio::spawn(async move { watching.watch("tasks").await });
    until(|| alice.status() == Status::NoBridge).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(alice.status(), Status::NoBridge, "connected, and no bridge announces itself");
    assert_eq!(alice.bridges(), 0);

    // A change made while no bridge is there stays pending, however long.
    let requester = alice.clone();
    let request =
        tokio::spawn(
            async move { requester.request("tasks", json!({"op": "insert", "id": "t1", "doc": {"n": 1}})).await },
        );
    assert!(alice.wait_for(WAIT, |r| r.pending_count() == 1).await);

    // A bridge in its own process (so that it can be killed): its announcement brings the load
    // and the change to it at once.
    let mut bridge = world.spawn_bridge("b1", None);
    let started = Instant::now();
    let event = tokio::time::timeout(WAIT, request).await.expect("confirmed").unwrap().expect("applied");
    assert_eq!(event.version, 1);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "sent when the bridge came up, not at a resend: {took:?}");
    assert_eq!((alice.status(), alice.bridges()), (Status::Online, 1));

    // Killed: its will tells the client at once.
    bridge.kill().unwrap();
    bridge.wait().unwrap();
    until(|| alice.bridges() == 0).await;
    assert_eq!((alice.status(), alice.bridges()), (Status::NoBridge, 0), "the will cleared the announcement");

    // A bridge stopped cleanly says goodbye the same way.
    let b2 = world.start_bridge("b2").await;
    until(|| alice.bridges() == 1).await;
    b2.stop().await;
    until(|| alice.bridges() == 0).await;
    assert_eq!(alice.status(), Status::NoBridge);
    alice.disconnect().await;
    world.drop_database().await;
}

/// Waits until `check` holds, for at most [`WAIT`].
async fn until(check: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !check() {
        assert!(Instant::now() < deadline, "not within {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
