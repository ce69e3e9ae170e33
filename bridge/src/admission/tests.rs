//! Admission with simulated time: caps, holding, round robin, rates and budgets.

use super::*;

fn settings() -> Settings {
    Settings {
        max_messages: 10,
        max_bytes: 1000,
        client_in_flight: 2,
        client_queued: 100,
        reads_per_second: 10.0,
        reads_burst: 4.0,
        reply_bytes_per_second: 1000.0,
    }
}

fn msg(client: &str, kind: Kind) -> Message<'_> {
    Message { client, kind, qos1: true, retained: false, size: 10 }
}

fn take<T: std::fmt::Debug>(a: &mut Admission<T>, now: u64) -> Taken<T> {
    match a.next(now) {
        Next::Take(t) => t,
        other => panic!("expected a message, got {other:?}"),
    }
}

#[test]
fn a_retained_message_is_dropped_whatever_its_kind() {
    let mut a = Admission::new(settings());
    let retained = Message { retained: true, ..msg("alice", Kind::Request) };
    assert_eq!(a.offer(0, &retained, 1), Offer::Dropped(Reason::Retained, 1));
    assert_eq!(a.next(0), Next::Idle);
    assert_eq!(a.queued(), (0, 0));
}

#[test]
fn past_the_count_cap_qos0_is_dropped_and_qos1_held_up_to_twice_the_cap() {
    let mut a = Admission::new(Settings { client_queued: 1000, ..settings() });
    for i in 0..10 {
        assert_eq!(a.offer(0, &msg("alice", Kind::Request), i), Offer::Queued { held: false });
    }
    let qos0 = Message { qos1: false, ..msg("alice", Kind::Request) };
    assert_eq!(a.offer(0, &qos0, 10), Offer::Dropped(Reason::IntakeFull, 10));
    for i in 10..20 {
        assert_eq!(a.offer(0, &msg("bob", Kind::Request), i), Offer::Queued { held: true });
    }
    assert_eq!(a.offer(0, &msg("bob", Kind::Request), 20), Offer::Dropped(Reason::IntakeFull, 20));
    assert_eq!(a.queued(), (20, 200));
}

#[test]
fn past_the_byte_cap_messages_are_held_or_dropped_likewise() {
    let mut a = Admission::new(settings());
    let big = Message { size: 900, ..msg("alice", Kind::Request) };
    assert_eq!(a.offer(0, &big, 0), Offer::Queued { held: false });
    assert_eq!(a.offer(0, &big, 1), Offer::Queued { held: true });
    assert_eq!(a.offer(0, &big, 2), Offer::Dropped(Reason::IntakeFull, 2));
    let t = take(&mut a, 0);
    assert_eq!((t.item, t.held), (0, false));
    assert!(take(&mut a, 0).held, "a held message is taken as held: the shell acknowledges it then");
    assert_eq!(a.queued(), (0, 0));
}

#[test]
fn a_client_queue_is_bounded() {
    let mut a = Admission::new(Settings { client_queued: 3, ..settings() });
    for i in 0..3 {
        assert_eq!(a.offer(0, &msg("alice", Kind::Request), i), Offer::Queued { held: false });
    }
    assert_eq!(a.offer(0, &msg("alice", Kind::Request), 3), Offer::Dropped(Reason::QueueFull, 3));
    assert_eq!(a.offer(0, &msg("bob", Kind::Request), 4), Offer::Queued { held: false });
}

#[test]
fn clients_take_turns_so_a_flood_does_not_delay_another_client() {
    let mut a =
        Admission::new(Settings { max_messages: 1000, max_bytes: 1 << 20, client_in_flight: 100, ..settings() });
    for i in 0..50 {
        a.offer(0, &msg("flood", Kind::Request), i);
    }
    a.offer(0, &msg("victim", Kind::Request), 1000);
    let first: Vec<String> = (0..2).map(|_| take(&mut a, 0).client).collect();
    assert_eq!(first, ["flood", "victim"], "the victim is served second, not 51st");
}

#[test]
fn a_client_has_at_most_client_in_flight_messages_handled_at_once() {
    let mut a = Admission::new(settings());
    for i in 0..5 {
        a.offer(0, &msg("alice", Kind::Request), i);
    }
    assert_eq!(take(&mut a, 0).item, 0);
    assert_eq!(take(&mut a, 0).item, 1);
    assert_eq!(a.next(0), Next::Idle, "two in flight: the third waits");
    a.offer(0, &msg("bob", Kind::Request), 9);
    assert_eq!(take(&mut a, 0).client, "bob", "another client is not held up by alice's cap");
    a.done(0, "alice", false, 0);
    assert_eq!(take(&mut a, 0).item, 2);
}

#[test]
fn reads_over_the_rate_are_dropped_and_the_bucket_refills() {
    let mut a = Admission::new(Settings { client_in_flight: 100, ..settings() });
    let read = msg("alice", Kind::Read);
    let verdicts: Vec<bool> = (0..6).map(|i| matches!(a.offer(0, &read, i), Offer::Queued { .. })).collect();
    assert_eq!(verdicts, [true, true, true, true, false, false], "a burst of 4");
    for _ in 0..4 {
        take(&mut a, 0);
        a.done(0, "alice", true, 0);
    }
    assert_eq!(a.offer(50, &read, 6), Offer::Dropped(Reason::Rate, 6), "half a token after 50 ms");
    assert_eq!(a.offer(100, &read, 7), Offer::Queued { held: false }, "one token after 100 ms at 10/s");
    let request = msg("alice", Kind::Request);
    assert!(matches!(a.offer(100, &request, 8), Offer::Queued { .. }), "requests are not rate-limited");
}

#[test]
fn a_reply_budget_in_debt_holds_back_reads_until_it_refills() {
    let mut a = Admission::new(settings());
    for i in 0..3 {
        a.offer(0, &msg("alice", Kind::Read), i);
    }
    take(&mut a, 0);
    a.done(0, "alice", true, 3000); // 1000 in the bucket: 2000 in debt
    assert_eq!(a.next(0), Next::Wait(2000), "solvent again after 2 s at 1000 B/s");
    assert_eq!(a.next(1999), Next::Wait(2000));
    a.offer(1999, &msg("alice", Kind::Request), 9);
    assert_eq!(take(&mut a, 1999).item, 9, "requests are not held back by the reply budget");
    assert_eq!(take(&mut a, 2000).item, 1);
}

#[test]
fn the_reply_budget_bounds_reply_bytes_over_any_window() {
    // A read flood whose replies weigh 400 bytes each, at 1000 B/s with a 1000 B bucket: over
    // 10 s at most 1000 + 10 * 1000 bytes of replies (plus one reply of overshoot).
    let mut a = Admission::new(Settings { reads_per_second: 1000.0, reads_burst: 1000.0, ..settings() });
    let mut sent = 0;
    for now in (0..10_000).step_by(10) {
        while matches!(a.offer(now, &msg("alice", Kind::Read), ()), Offer::Queued { .. }) && a.queued().0 < 5 {}
        while let Next::Take(t) = a.next(now) {
            a.done(now, &t.client, true, 400);
            sent += 400;
        }
    }
    assert!(sent <= 1000 + 10 * 1000 + 400, "{sent} bytes in 10 s");
    assert!(sent >= 10 * 1000 - 400, "the budget is used: {sent} bytes in 10 s");
}

#[test]
fn idle_clients_are_forgotten() {
    let mut a = Admission::new(settings());
    a.offer(0, &msg("alice", Kind::Request), 0);
    take(&mut a, 0);
    a.done(0, "alice", false, 10);
    assert_eq!(a.clients(), 1);
    a.offer(5000, &msg("bob", Kind::Request), 1);
    assert_eq!(a.clients(), 1, "alice's budget refilled: forgotten; bob remains");
}

#[test]
fn a_clients_reads_are_handled_one_at_a_time_so_the_budget_sees_every_reply() {
    let mut a = Admission::new(settings());
    for i in 0..3 {
        a.offer(0, &msg("alice", Kind::Read), i);
    }
    let first = take(&mut a, 0);
    assert!(first.read);
    assert_eq!(a.next(0), Next::Idle, "the second read waits for the first's reply to be weighed");
    a.done(0, "alice", true, 10);
    assert_eq!(take(&mut a, 0).item, 1);
}
