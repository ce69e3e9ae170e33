//! The bridge's decision for a request, given the stored object (§6.2, §8, §9).
//!
//! [`decide`] is pure: the bridge reads what it needs (a recorded outcome for the request, the
//! stored object, and — for a `merge` update behind the stored version — the events since the
//! request's base, see [`history_needed`]), calls it, and then carries the decision out.

use crate::error::{Code, Violation};
use crate::limits::Limits;
use crate::message::{Change, Event, Policy, Reject, Request};
use crate::value::Document;

/// An object as the bridge stores it: version 0 and no document if it never existed; a
/// document of `None` with a version above 0 is a tombstone.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stored {
    /// The object's version.
    pub version: u64,
    /// The object's document, `None` if absent or deleted.
    pub doc: Option<Document>,
}

/// The recorded outcome of a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// It was applied and produced this event.
    Applied(Event),
    /// It was rejected.
    Rejected(Reject),
}

/// What the bridge does with a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Write `doc` (`None`: a tombstone) at `event.version`, conditional on the stored version
    /// still being `event.prev`; record and publish `event`.
    Apply {
        /// The event to record and publish.
        event: Event,
        /// The object's new document, `None` for a delete.
        doc: Option<Document>,
    },
    /// The request was seen before: send this outcome again to the requester's reply topic.
    Duplicate(Outcome),
    /// Refuse the request: record the reject and send it to the requester's reply topic.
    Reject(Reject),
}

/// The versions whose events [`decide`] needs (`base + 1 ..= stored`), for a `merge` update
/// whose base is behind the stored version; `None` when it needs none.
pub fn history_needed(request: &Request, stored_version: u64) -> Option<std::ops::RangeInclusive<u64>> {
    let merge = request.policy == Policy::Merge && matches!(request.change, Change::Update(_));
    (merge && request.base < stored_version).then(|| request.base + 1..=stored_version)
}

/// Decides a request from `client` (the identity from the topic).
///
/// - `prior`: the outcome recorded for (`client`, `request.rid`), if any;
/// - `stored`: the object as stored now;
/// - `history`: the events of [`history_needed`], in version order, as many as the bridge still
///   has (missing ones make a merge a conflict); ignored otherwise;
/// - `now_ms`: the bridge's clock, copied into the event's `at`.
pub fn decide(
    client: &str,
    request: &Request,
    prior: Option<&Outcome>,
    stored: &Stored,
    history: &[Event],
    now_ms: Option<u64>,
    limits: &Limits,
) -> Decision {
    if let Some(outcome) = prior {
        return Decision::Duplicate(outcome.clone());
    }
    let s = stored.version;
    let reject = |code: Code, message: String| {
        Decision::Reject(
            Reject::from_violation(
                Some(request.rid.clone()),
                Some(request.collection.clone()),
                Some(request.id.clone()),
                Violation::new(code, message),
            )
            .with_current(s),
        )
    };
    if s >= Limits::MAX_VERSION {
        return reject(Code::Conflict, format!("the object's version {s} cannot grow any more"));
    }
    let base = request.base;
    if base > s {
        return reject(Code::Conflict, format!("base version {base} is newer than the stored version {s}"));
    }
    let exists = stored.doc.is_some();
    let stale = || format!("base version {base} is older than the stored version {s}");
    let new_doc = match &request.change {
        Change::Insert(doc) => {
            if base != s {
                return reject(Code::Conflict, stale());
            }
            if exists {
                return reject(Code::Conflict, format!("the object already exists at version {s}"));
            }
            Some(doc.clone())
        }
        Change::Replace(_) | Change::Delete | Change::Update(_) if base == s && !exists => {
            let what = if s == 0 { "does not exist" } else { "was deleted" };
            return reject(Code::NotFound, format!("the object {what} (version {s})"));
        }
        Change::Replace(doc) if base == s => Some(doc.clone()),
        Change::Delete if base == s => None,
        Change::Update(update) => {
            if base != s {
                if let Some(why) = merge_refusal(request, update, s, history) {
                    return reject(Code::Conflict, why);
                }
            }
            let doc = stored.doc.as_ref().expect("checked above: the object exists");
            match update.apply(doc, limits) {
                Ok(doc) => Some(doc),
                Err(v) => {
                    let mut r = Reject::from_violation(
                        Some(request.rid.clone()),
                        Some(request.collection.clone()),
                        Some(request.id.clone()),
                        v,
                    );
                    r.current = Some(s);
                    return Decision::Reject(r);
                }
            }
        }
        Change::Replace(_) | Change::Delete => return reject(Code::Conflict, stale()),
    };
    let event = Event {
        collection: request.collection.clone(),
        id: request.id.clone(),
        prev: s,
        version: s + 1,
        client: client.to_string(),
        rid: request.rid.clone(),
        at: now_ms,
        change: request.change.clone(),
    };
    Decision::Apply { event, doc: new_doc }
}

/// Why a request behind the stored version cannot be merged (§8), or `None` if it can.
fn merge_refusal(request: &Request, update: &crate::update::Update, s: u64, history: &[Event]) -> Option<String> {
    let base = request.base;
    if request.policy != Policy::Merge {
        return Some(format!("base version {base} is older than the stored version {s}"));
    }
    let wanted = base + 1..=s;
    let have: Vec<&Event> = history.iter().filter(|e| wanted.contains(&e.version)).collect();
    let complete = have.len() as u64 == s - base && have.iter().zip(wanted).all(|(e, v)| e.version == v);
    if !complete {
        return Some(format!("cannot merge: the history from version {base} to {s} is no longer complete"));
    }
    for e in have {
        match &e.change {
            Change::Update(theirs) if update.overlaps(theirs) => {
                return Some(format!("cannot merge: version {} changed the same fields", e.version));
            }
            Change::Update(_) => {}
            other => return Some(format!("cannot merge: version {} was an {}", e.version, other.op())),
        }
    }
    None
}
