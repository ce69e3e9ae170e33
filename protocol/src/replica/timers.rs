//! What is due on one object at a given time: resending its request in flight, or its failure.

use super::object::ObjectEntry;
use super::outgoing::{request_of, send};
use super::{Config, Out};
use crate::message::{Failure, Message};

/// When a timer acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum When {
    /// If it is due; its back-off doubles.
    Due,
    /// Now, whatever is due, with the back-off back to the shortest (a bridge came up, §2.2).
    Restart,
}

/// Resends the object's request in flight (see [`When`]). A request is never given up on: it
/// stays pending until its outcome arrives or the application cancels it (§6.4).
pub(super) fn resend(cfg: &Config, out: &mut Out, collection: &str, entry: &mut ObjectEntry, now: u64, when: When) {
    let Some(head) = entry.pending.first_mut() else { return };
    let Some(flight) = head.flight.as_mut() else { return };
    flight.backoff = match when {
        When::Restart => cfg.resend_after,
        When::Due if flight.resend_at <= now => (flight.backoff * 2).min(cfg.max_backoff),
        When::Due => return,
    };
    flight.resend_at = now + flight.backoff;
    let base = head.base.expect("a request in flight has a base");
    let request = request_of(collection, entry.id.clone(), base, head);
    send(out, cfg.topics.request(&cfg.client, collection), Message::Request(request));
}

/// Sends the object's failure again (see [`When`]) if the gap is still open; forgets it if the
/// gap closed.
pub(super) fn failure(cfg: &Config, out: &mut Out, collection: &str, entry: &mut ObjectEntry, now: u64, when: When) {
    let Some((at, backoff)) = entry.failure else { return };
    let backoff = match when {
        When::Restart => cfg.failure_retry,
        When::Due if at <= now => (backoff * 2).min(cfg.max_backoff),
        When::Due => return,
    };
    if entry.has_gap() {
        entry.failure = Some((now + backoff, backoff));
        let failure = Failure { collection: collection.to_string(), id: entry.id.clone(), version: entry.version };
        send(out, cfg.topics.failure(&cfg.client, collection), Message::Failure(failure));
    } else {
        entry.failure = None;
    }
}
