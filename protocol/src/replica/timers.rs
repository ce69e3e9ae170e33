//! What is due on one object at a given time: resending its request in flight, or its failure.

use super::object::ObjectEntry;
use super::outgoing::{request_of, send};
use super::{Config, Out};
use crate::message::{Failure, Message};

/// Resends the object's request in flight if it is due. A request is never given up on: it
/// stays pending until its outcome arrives or the application cancels it (§6.4).
pub(super) fn resend_due(cfg: &Config, out: &mut Out, collection: &str, entry: &mut ObjectEntry, now: u64) {
    let Some(head) = entry.pending.first_mut() else { return };
    let Some(flight) = head.flight.as_mut() else { return };
    if flight.resend_at <= now {
        flight.backoff = (flight.backoff * 2).min(cfg.max_backoff);
        flight.resend_at = now + flight.backoff;
        let base = head.base.expect("a request in flight has a base");
        let request = request_of(collection, entry.id.clone(), base, head);
        send(out, cfg.topics.request(&cfg.client, collection), Message::Request(request));
    }
}

/// Sends the object's failure again if it is due and the gap is still open; forgets it if the
/// gap closed.
pub(super) fn failure_due(cfg: &Config, out: &mut Out, collection: &str, entry: &mut ObjectEntry, now: u64) {
    let Some((at, backoff)) = entry.failure else { return };
    if at > now {
        return;
    }
    if entry.has_gap() {
        let backoff = (backoff * 2).min(cfg.max_backoff);
        entry.failure = Some((now + backoff, backoff));
        let failure = Failure { collection: collection.to_string(), id: entry.id.clone(), version: entry.version };
        send(out, cfg.topics.failure(&cfg.client, collection), Message::Failure(failure));
    } else {
        entry.failure = None;
    }
}
