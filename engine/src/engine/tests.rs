//! The engine against a scripted broker: bytes in and out, built and read with our codec.

use super::*;
use crate::mqtt::codec::{self, ConnAck, ConnectReturnCode, Packet, Publish, SubAck};
use serde_json::json;

/// A broker's side of one connection, as far as a test needs it.
struct Broker {
    engine: Engine,
    now: u64,
}

impl Broker {
    fn new() -> Broker {
        Broker { engine: Engine::new(Options::new("alice", "s1")).unwrap(), now: 0 }
    }

    /// Every packet the engine sent since the last call; QoS 1 publishes are acknowledged.
    fn sent(&mut self) -> Vec<Packet> {
        let sent: Vec<Packet> = std::iter::from_fn(|| self.engine.poll_transmit())
            .map(|bytes| codec::decode(&bytes).unwrap().unwrap().0)
            .collect();
        for packet in &sent {
            if let Packet::Publish(Publish { pkid: Some(id), .. }) = packet {
                self.give(Packet::PubAck(*id));
            }
        }
        sent
    }

    fn outputs(&mut self) -> Vec<Output> {
        std::iter::from_fn(|| self.engine.poll_output()).collect()
    }

    fn give(&mut self, packet: Packet) {
        self.now += 1;
        self.engine.handle_bytes(self.now, &codec::encode(&packet).unwrap());
    }

    fn grant(&mut self, subscribe: &Packet) {
        let Packet::Subscribe(s) = subscribe else { panic!("not a SUBSCRIBE: {subscribe:?}") };
        let return_codes = vec![SubscribeReturnCode::Success(QoS::AtLeastOnce); s.filters.len()];
        self.give(Packet::SubAck(SubAck { pkid: s.pkid, return_codes }));
    }

    fn deliver(&mut self, topic: &str, message: serde_json::Value) {
        self.publish(topic, message.to_string().into_bytes(), false);
    }

    fn publish(&mut self, topic: &str, payload: Vec<u8>, retain: bool) {
        let publish = Publish { dup: false, qos: QoS::AtMostOnce, retain, topic: topic.into(), pkid: None, payload };
        self.give(Packet::Publish(publish));
    }

    /// A bridge's announcement (§2.2): `retained` as the broker sends it on subscribing, else
    /// fresh (the bridge came up now).
    fn announce(&mut self, instance: &str, retained: bool) {
        let payload = json!({"type": "bridge", "instance": instance, "since": 1}).to_string().into_bytes();
        self.publish(&format!("vmm/v1/bridges/{instance}"), payload, retained);
    }

    /// Opens the connection and accepts it; returns the SUBSCRIBE the engine sent.
    fn accept(&mut self) -> Packet {
        self.engine.transport_open(self.now);
        assert!(matches!(self.sent()[..], [Packet::Connect(_)]));
        self.give(Packet::ConnAck(ConnAck { session_present: false, code: ConnectReturnCode::Accepted }));
        let mut sent = self.sent();
        assert_eq!(sent.len(), 1, "one SUBSCRIBE after the CONNACK: {sent:?}");
        sent.remove(0)
    }

    /// Online with nothing watched, and one bridge there.
    fn online() -> Broker {
        let mut b = Broker::new();
        let subscribe = b.accept();
        b.grant(&subscribe);
        assert_eq!(b.engine.status(), Status::NoBridge);
        b.announce("b1", true);
        assert_eq!(b.engine.status(), Status::Online);
        b
    }
}

fn filters(packet: &Packet) -> Vec<String> {
    let Packet::Subscribe(s) = packet else { panic!("not a SUBSCRIBE: {packet:?}") };
    s.filters.iter().map(|(f, _)| f.clone()).collect()
}

fn published(packets: &[Packet]) -> Vec<(String, serde_json::Value)> {
    packets
        .iter()
        .filter_map(|p| match p {
            Packet::Publish(p) => Some((p.topic.clone(), serde_json::from_slice(&p.payload).unwrap())),
            _ => None,
        })
        .collect()
}

#[test]
fn connecting_subscribes_to_the_reply_topic_and_the_watched_collections_then_loads() {
    let mut b = Broker::new();
    b.engine.watch(0, "tasks").unwrap();
    let subscribe = b.accept();
    assert_eq!(filters(&subscribe), vec!["vmm/v1/reply/alice", "vmm/v1/evt/tasks/+", "vmm/v1/bridges/+"]);
    assert_eq!(b.engine.status(), Status::Connecting, "not online before the SUBACK");
    b.grant(&subscribe);
    b.announce("b1", true);
    let sent = published(&b.sent());
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "vmm/v1/load/alice/tasks");
    assert_eq!(b.engine.status(), Status::Resyncing);
    let lid = sent[0].1["lid"].clone();
    b.deliver(
        "vmm/v1/reply/alice",
        json!({"type": "snapshot", "lid": lid, "collection": "tasks", "objects": [], "next": null}),
    );
    assert_eq!(b.engine.status(), Status::Online);
    let outputs = b.outputs();
    assert!(outputs.contains(&Output::Loaded { collection: "tasks".into() }));
    assert_eq!(outputs.last(), Some(&Output::Status { status: Status::Online, pending: 0, bridges: 1 }));
}

#[test]
fn a_request_to_an_unwatched_collection_subscribes_to_its_object_first_and_is_confirmed_by_its_event() {
    let mut b = Broker::online();
    let now = b.now;
    let rid = b.engine.request(now, "notes", json!({"op": "insert", "id": "n1", "doc": {"x": 1}})).unwrap();
    let sent = b.sent();
    assert_eq!(sent.len(), 1, "only the SUBSCRIBE goes out before the SUBACK: {sent:?}");
    assert_eq!(filters(&sent[0]), vec!["vmm/v1/evt/notes/s:n1"]);
    b.grant(&sent[0]);
    let topics: Vec<String> = published(&b.sent()).into_iter().map(|(t, _)| t).collect();
    assert!(topics.contains(&"vmm/v1/req/alice/notes".to_string()), "the request, once subscribed: {topics:?}");
    let event = json!({"type": "event", "collection": "notes", "id": "n1", "prev": 0, "version": 1,
        "client": "alice", "rid": rid, "op": "insert", "doc": {"_id": "n1", "x": 1}});
    b.deliver("vmm/v1/evt/notes/s:n1", event);
    let outcome = b.outputs().into_iter().find_map(|o| match o {
        Output::Outcome { rid: r, result } if r == rid => Some(result),
        _ => None,
    });
    assert_eq!(outcome.expect("an outcome").expect("confirmed").version, 1);
    assert_eq!(b.engine.pending_count(), 0);
}

#[test]
fn a_watch_made_between_connack_and_suback_gets_its_own_subscription() {
    let mut b = Broker::new();
    let first = b.accept();
    let now = b.now;
    b.engine.watch(now, "tasks").unwrap();
    let sent = b.sent();
    assert_eq!(filters(&sent[0]), vec!["vmm/v1/evt/tasks/+"]);
    b.grant(&first);
    b.grant(&sent[0]);
    assert!(b.engine.replica().subscriptions().contains(&"vmm/v1/evt/tasks/+".to_string()));
    assert!(b.outputs().contains(&Output::Watching { collection: "tasks".into() }));
    assert!(published(&b.sent()).iter().any(|(t, _)| t == "vmm/v1/load/alice/tasks"), "and it loads");
}

#[test]
fn watching_twice_subscribes_once() {
    let mut b = Broker::online();
    let now = b.now;
    b.engine.watch(now, "tasks").unwrap();
    b.engine.watch(now, "tasks").unwrap();
    assert_eq!(b.sent().len(), 1);
}

#[test]
fn a_refused_connection_is_lost_with_its_reason_and_changes_stay_pending() {
    let mut b = Broker::new();
    b.engine.request(0, "tasks", json!({"op": "insert", "id": "t1", "doc": {}})).unwrap();
    b.engine.transport_open(0);
    let _ = b.sent();
    b.give(Packet::ConnAck(ConnAck { session_present: false, code: ConnectReturnCode::NotAuthorized }));
    let outputs = b.outputs();
    assert!(
        outputs.iter().any(|o| matches!(o, Output::Lost { reason } if reason.contains("authorise"))),
        "{outputs:?}"
    );
    let failed: Vec<&Output> = outputs.iter().filter(|o| matches!(o, Output::ConnectionFailed(_))).collect();
    assert!(
        matches!(failed[..], [Output::ConnectionFailed(Problem { kind: ProblemKind::Auth, .. })]),
        "one problem reported: {outputs:?}"
    );
    b.engine.transport_closed(b.now);
    assert_eq!(b.engine.problem().map(|p| p.kind), Some(ProblemKind::Auth), "the close is no second problem");
    assert_eq!(b.engine.pending_count(), 1);
    assert_eq!(b.engine.status(), Status::Unreachable);
    b.engine.transport_open(b.now);
    let _ = b.sent();
    b.give(Packet::ConnAck(ConnAck { session_present: false, code: ConnectReturnCode::NotAuthorized }));
    assert!(
        !b.outputs().iter().any(|o| matches!(o, Output::ConnectionFailed(_))),
        "the same problem again is not reported again"
    );
}

#[test]
fn a_reconnect_resubscribes_and_resends_the_change_in_flight() {
    let mut b = Broker::online();
    in_flight(&mut b);
    b.engine.transport_closed(b.now);
    assert_eq!(b.engine.status(), Status::Connecting, "a dropped connection is no problem yet");
    assert_eq!(b.engine.problem(), None);
    let subscribe = b.accept();
    assert_eq!(filters(&subscribe), vec!["vmm/v1/reply/alice", "vmm/v1/evt/tasks/+", "vmm/v1/bridges/+"]);
    b.grant(&subscribe);
    let load = published(&b.sent()).remove(0).1;
    b.deliver(
        "vmm/v1/reply/alice",
        json!({"type": "snapshot", "lid": load["lid"], "collection": "tasks", "objects": [], "next": null}),
    );
    let sent = published(&b.sent());
    assert_eq!(
        sent.iter().filter(|(t, _)| t == "vmm/v1/req/alice/tasks").count(),
        1,
        "resent after the resync: {sent:?}"
    );
}

#[test]
fn a_message_that_cannot_be_read_is_reported_and_changes_nothing() {
    let mut b = Broker::online();
    b.deliver("vmm/v1/reply/alice", json!({"type": "nonsense"}));
    assert!(b.outputs().iter().any(|o| matches!(o, Output::Ignored { .. })));
    assert_eq!(b.engine.status(), Status::Online);
}

#[test]
fn a_broker_that_cannot_be_reached_is_a_network_problem_until_a_connection_succeeds() {
    let mut b = Broker::new();
    b.engine.transport_closed(0);
    assert_eq!(b.engine.status(), Status::Unreachable);
    assert_eq!(b.engine.problem().map(|p| p.kind), Some(ProblemKind::Network));
    assert!(b.outputs().iter().any(|o| matches!(o, Output::ConnectionFailed(p) if p.kind == ProblemKind::Network)));
    let subscribe = b.accept();
    assert_eq!(b.engine.problem(), None, "the CONNACK ends the problem");
    b.grant(&subscribe);
    assert_eq!(b.engine.status(), Status::NoBridge);
}

#[test]
fn a_transport_that_fails_to_open_is_a_network_problem_with_the_shells_reason() {
    let mut b = Broker::new();
    b.engine.transport_failed(0, "TLS handshake with 127.0.0.1:8883 failed: invalid peer certificate".into());
    assert_eq!(b.engine.status(), Status::Unreachable);
    let problem = b.engine.problem().cloned().unwrap();
    assert_eq!(problem.kind, ProblemKind::Network);
    assert!(problem.message.contains("TLS handshake"), "{problem:?}");
    assert_eq!(b.outputs().iter().filter(|o| matches!(o, Output::ConnectionFailed(_))).count(), 1);
    b.engine.transport_failed(1, "TLS handshake with 127.0.0.1:8883 failed: invalid peer certificate".into());
    assert!(b.outputs().is_empty(), "the same problem is reported once");
}

#[test]
fn the_identity_in_topics_is_the_user_name_unless_set() {
    let mut options = Options::new("alice:tab-1", "s1");
    assert_eq!(options.identity(), "alice:tab-1");
    options.username = Some("alice".into());
    assert_eq!(options.identity(), "alice");
    let mut engine = Engine::new(options.clone()).unwrap();
    engine.watch(0, "tasks").unwrap();
    engine.transport_open(0);
    let connect = codec::decode(&engine.poll_transmit().unwrap()).unwrap().unwrap().0;
    assert!(
        matches!(&connect, Packet::Connect(c) if c.client_id == "alice:tab-1" && c.username.as_deref() == Some("alice"))
    );
    engine.handle_bytes(
        1,
        &codec::encode(&Packet::ConnAck(ConnAck { session_present: false, code: ConnectReturnCode::Accepted }))
            .unwrap(),
    );
    let subscribe = codec::decode(&engine.poll_transmit().unwrap()).unwrap().unwrap().0;
    assert!(filters(&subscribe).contains(&"vmm/v1/reply/alice".to_string()), "{subscribe:?}");
    options.identity = Some("vmm-bridge".into());
    assert_eq!(options.identity(), "vmm-bridge");
}

#[test]
fn offline_by_choice_is_no_problem_and_says_offline() {
    let mut b = Broker::online();
    let _ = b.engine.disconnect(b.now);
    b.engine.transport_closed(b.now);
    assert_eq!(b.engine.status(), Status::Offline);
    assert_eq!(b.engine.problem(), None);
    assert!(!b.outputs().iter().any(|o| matches!(o, Output::ConnectionFailed(_))));
    let _ = b.accept();
    assert_eq!(b.engine.status(), Status::Connecting, "reconnecting is no longer offline by choice");
}

/// Online with `tasks` loaded (empty) and one change of `t1` in flight; returns its rid.
fn in_flight(b: &mut Broker) -> String {
    let now = b.now;
    b.engine.watch(now, "tasks").unwrap();
    let sub = b.sent().remove(0);
    b.grant(&sub);
    let load = published(&b.sent()).remove(0).1;
    b.deliver(
        "vmm/v1/reply/alice",
        json!({"type": "snapshot", "lid": load["lid"], "collection": "tasks", "objects": [], "next": null}),
    );
    let now = b.now;
    let rid = b.engine.request(now, "tasks", json!({"op": "insert", "id": "t1", "doc": {}})).unwrap();
    assert_eq!(published(&b.sent()).len(), 1);
    rid
}

#[test]
fn a_bridge_that_comes_up_gets_what_is_in_flight_at_once_and_a_retained_announcement_does_not_resend() {
    let mut b = Broker::online();
    in_flight(&mut b);
    b.publish("vmm/v1/bridges/b1", Vec::new(), false);
    assert_eq!(b.engine.status(), Status::NoBridge, "its will cleared the only bridge");
    assert_eq!(b.engine.bridges(), 0);
    assert!(published(&b.sent()).is_empty());
    b.announce("b2", true);
    assert!(published(&b.sent()).is_empty(), "a retained announcement is no news");
    b.announce("b3", false);
    let sent = published(&b.sent());
    assert_eq!(sent.len(), 1, "resent at once: {sent:?}");
    assert_eq!(sent[0].0, "vmm/v1/req/alice/tasks");
    assert_eq!((b.engine.status(), b.engine.bridges()), (Status::Online, 2));
    b.publish("vmm/v1/bridges/b2", b"b2.1.2".to_vec(), false);
    assert_eq!(b.engine.bridges(), 1, "an older bridge's will (its instance as text) means gone");
}

#[test]
fn nothing_is_rolled_back_for_lack_of_time_but_a_cancel_rolls_back_at_once() {
    let mut b = Broker::online();
    let rid = in_flight(&mut b);
    for minutes in 1..=10 {
        b.now += 60_000;
        b.engine.handle_timeout(b.now);
        assert!(published(&b.sent()).len() <= 1, "resent at most once a minute, minute {minutes}");
    }
    assert!(!b.outputs().iter().any(|o| matches!(o, Output::Outcome { .. })), "no outcome without an answer");
    assert_eq!(b.engine.pending_count(), 1);
    let now = b.now;
    assert_eq!(b.engine.cancel(now, "tasks", &"t1".parse().unwrap()), vec![rid.clone()]);
    let outcome = b.outputs().into_iter().find_map(|o| match o {
        Output::Outcome { rid: r, result: Err(rollback) } if r == rid => Some(rollback.code),
        _ => None,
    });
    assert_eq!(outcome, Some(Code::Cancelled));
    assert_eq!(b.engine.pending_count(), 0);
    assert!(b.engine.replica().get("tasks", &"t1".parse().unwrap()).is_none());
}

#[test]
fn unwatching_keeps_following_the_objects_with_changes_pending_and_unsubscribes_the_collection() {
    let mut b = Broker::online();
    in_flight(&mut b);
    let now = b.now;
    b.engine.unwatch(now, "tasks").unwrap();
    let sent = b.sent();
    assert!(matches!(&sent[..], [Packet::Subscribe(_), Packet::Unsubscribe(_)]), "{sent:?}");
    assert_eq!(filters(&sent[0]), vec!["vmm/v1/evt/tasks/s:t1"]);
    let Packet::Unsubscribe(u) = &sent[1] else { unreachable!() };
    assert_eq!(u.filters, vec!["vmm/v1/evt/tasks/+".to_string()]);
    assert!(!b.engine.replica().watches("tasks"));
    assert!(b.engine.replica().is_followed("tasks", "s:t1"));
    assert!(!b.engine.replica().is_loaded("tasks"));
}

#[test]
fn a_refused_collection_subscription_is_that_collections_error() {
    let mut b = Broker::online();
    let now = b.now;
    b.engine.watch(now, "secret").unwrap();
    let Packet::Subscribe(s) = b.sent().remove(0) else { panic!("a SUBSCRIBE") };
    b.give(Packet::SubAck(SubAck { pkid: s.pkid, return_codes: vec![SubscribeReturnCode::Failure] }));
    let outputs = b.outputs();
    assert!(
        outputs.iter().any(|o| matches!(o,
        Output::SubscriptionRefused { collection: Some(c), .. } if c == "secret")),
        "{outputs:?}"
    );
    assert_eq!(b.engine.collection_error("secret").map(|v| v.code()), Some(Code::Forbidden));
    assert!(b.engine.collection_error("tasks").is_none());
}

#[test]
fn unwatching_an_object_unsubscribes_it_unless_changes_of_it_are_pending() {
    let mut b = Broker::online();
    let now = b.now;
    let n1: Id = "n1".parse().unwrap();
    b.engine.watch_object(now, "notes", &n1).unwrap();
    let sub = b.sent().remove(0);
    b.grant(&sub);
    let _ = b.sent();
    b.engine.unwatch_object(now, "notes", &n1).unwrap();
    let sent = b.sent();
    let [Packet::Unsubscribe(u)] = &sent[..] else { panic!("one UNSUBSCRIBE: {sent:?}") };
    assert_eq!(u.filters, vec!["vmm/v1/evt/notes/s:n1".to_string()]);
    assert!(!b.engine.replica().is_followed("notes", "s:n1"));

    let rid = b.engine.request(now, "notes", json!({"op": "insert", "id": "n2", "doc": {}})).unwrap();
    let sub = b.sent().remove(0);
    b.grant(&sub);
    let _ = b.sent();
    b.engine.unwatch_object(now, "notes", &"n2".parse().unwrap()).unwrap();
    assert!(b.sent().is_empty(), "a change of it is pending: still followed");
    assert!(b.engine.replica().is_followed("notes", "s:n2"));
    assert!(!rid.is_empty());
}
