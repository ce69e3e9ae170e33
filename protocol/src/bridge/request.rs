//! The request lifecycle (§6.2): validate, authorise, decide on the current state, record the
//! event (the commit point), write the object, publish. Deduplication (§9) costs nothing on the
//! path that applies: a request can only have been applied at a version after its base, so a
//! request that applies at `base + 1` is new, and only a request that would be rejected looks
//! for an earlier outcome of its own.

use super::storage::{LoggedEvent, Recorded, StorageError, StorageResult};
use super::{Bridge, Effect, Handled, Storage};
use crate::decide::{self, Decision, Stored};
use crate::error::{Code, Violation};
use crate::message::{Event, Message, Reject, Request};

/// How often a request is decided again after losing the race for its version.
const MAX_RACES: usize = 16;

/// How far behind the stored version a `merge` request may be: the bridge reads that many events
/// at most to check it (§8); further behind, it is a conflict.
pub const MAX_MERGE_SPAN: u64 = 64;

impl<S: Storage> Bridge<S> {
    pub(crate) async fn on_request(&self, now: u64, client: &str, collection: &str, payload: &[u8]) -> Handled {
        let request = match Request::parse(payload, &self.config.limits) {
            Ok(r) => r,
            Err(reject) => return self.refuse(client, *reject),
        };
        let violation = |v: Violation| {
            Reject::from_violation(
                Some(request.rid.clone()),
                Some(request.collection.clone()),
                Some(request.id.clone()),
                v,
            )
        };
        if let Err(v) = request.check_topic_collection(collection) {
            return self.refuse(client, violation(v));
        }
        if !self.config.served.allows(collection) {
            let v = Violation::new(Code::Forbidden, format!("collection {collection:?} is not served by this bridge"));
            return self.refuse(client, violation(v));
        }
        if let Err(v) = self.config.rules.admits(client, &request) {
            return self.refuse(client, violation(v));
        }
        let mut handled = Handled::new("applied");
        let claimed = self.claim(client, &request).await;
        if let Ok(Some(v)) = claimed {
            return self.refuse(client, violation(v));
        }
        let applied = match claimed {
            Ok(_) => self.apply(now, client, &request, &mut handled.effects).await,
            Err(e) => Err(e),
        };
        match applied {
            Ok(outcome) => handled.outcome = outcome,
            Err(e) => {
                // Not an outcome (§9): not recorded; the requester sends the request again.
                let v = Violation::new(Code::Internal, format!("{e}; nothing was applied, retry with the same rid"));
                handled.effects.push(self.reply(client, Message::Reject(violation(v)).to_bytes()));
                handled.outcome = Code::Internal.as_str();
                handled.error = Some(e);
            }
        }
        handled
    }

    /// Step 3 of §6.2 begins here: the request's (`client`, `rid`) is claimed with its
    /// fingerprint. A `rid` claimed by a different request is refused `rid_reused` (§9), without
    /// recording it: the `rid`'s outcome stays the first request's, which a copy of that one still
    /// gets. `Ok(None)`: a new rid, or a copy of the request that claimed it.
    async fn claim(&self, client: &str, request: &Request) -> StorageResult<Option<Violation>> {
        let fingerprint = request.fingerprint();
        Ok(match self.storage.claim_rid(client, &request.rid, &fingerprint).await? {
            Some(prior) if prior != fingerprint => Some(Violation::new(
                Code::RidReused,
                format!("rid {:?} was used before for a different request; nothing was applied", request.rid),
            )),
            _ => None,
        })
    }

    /// A request on a topic whose client is readable but whose collection level is not: refused
    /// as `malformed`, with the request's rid when the payload has a readable one.
    pub(crate) fn on_bad_request_topic(&self, client: &str, payload: &[u8], topic_error: Violation) -> Handled {
        let reject = match Request::parse(payload, &self.config.limits) {
            Err(reject) => *reject,
            Ok(r) => Reject::from_violation(
                Some(r.rid),
                Some(r.collection),
                Some(r.id),
                Violation::malformed(format!("the request topic is invalid: {}", topic_error.message())),
            ),
        };
        self.refuse(client, reject)
    }

    /// A reject of steps 1 and 2 of §6.2: it depends on the payload and the configuration, not on
    /// the stored object, so it is not an outcome and is not recorded.
    fn refuse(&self, client: &str, reject: Reject) -> Handled {
        let mut handled = Handled::new(reject.code.as_str());
        handled.effects.push(self.reply(client, Message::Reject(reject).to_bytes()));
        handled
    }

    pub(crate) fn reply(&self, client: &str, payload: Vec<u8>) -> Effect {
        Effect::Reply { topic: self.config.topics.reply(client), payload }
    }

    async fn apply(
        &self,
        now: u64,
        client: &str,
        request: &Request,
        effects: &mut Vec<Effect>,
    ) -> StorageResult<&'static str> {
        let (collection, id) = (request.collection.as_str(), &request.id);
        let mut state = self.current(now, collection, id, effects).await?;
        // Whether `state` was just read and rolled forward. A cached or merely read state may be
        // behind: good enough to apply on (the record's compare-and-set checks it), not to reject on.
        let mut fresh = false;
        for _ in 0..MAX_RACES {
            let history = self.merge_history(request, state.version).await?;
            let decision = decide::decide(client, request, None, &state, &history, Some(now), &self.config.limits);
            // The owner rule and the schema, on the state decided on: before anything is written.
            let decision = self.config.rules.judge(client, request, &state, decision, &self.config.limits);
            let (event, doc) = match decision {
                Decision::Apply { event, doc } => (event, doc),
                Decision::Reject(_) if !fresh => {
                    state = self.reread(now, collection, id, effects).await?;
                    fresh = true;
                    continue;
                }
                Decision::Reject(reject) => {
                    return self.conclude(client, request, &state, &history, reject, effects).await
                }
                Decision::Duplicate(_) => unreachable!("decided without a prior outcome"),
            };
            let logged = LoggedEvent::new(event, doc);
            match self.storage.record(&logged).await {
                Ok(Recorded::Won) => {}
                Ok(Recorded::Lost) => {
                    // Another event took this version (maybe a copy of this very request):
                    // catch up with the log and decide again.
                    state = self.reread(now, collection, id, effects).await?;
                    fresh = true;
                    continue;
                }
                Err(StorageError::Refused(why)) => return self.refused(client, request, &state, why, effects).await,
                Err(e) => return Err(e),
            }
            let new = logged.state();
            match self.storage.write(collection, id, &new).await {
                Ok(()) => {
                    self.remember(now, collection, &id.key(), &new);
                    effects.push(Effect::Publish(Box::new(self.publication(&logged))));
                }
                Err(StorageError::Refused(why)) => {
                    // Nothing was published: withdraw the event, so that nothing claims success.
                    self.forget(collection, &id.key());
                    self.storage.void(&logged.event).await?;
                    return self.refused(client, request, &state, why, effects).await;
                }
                Err(_) => {
                    // Applied (the event is the commit point) but not written yet: the shell
                    // rolls it forward, then publishes.
                    self.forget(collection, &id.key());
                    effects.push(Effect::RollForward { collection: collection.to_string(), id: id.clone() });
                }
            }
            return Ok("applied");
        }
        Err(StorageError::Unavailable(format!("lost the race for a version {MAX_RACES} times")))
    }

    /// The events a `merge` request behind the stored version is checked against (§8), read one
    /// by one; none when it is further behind than [`MAX_MERGE_SPAN`] (then it is a conflict).
    async fn merge_history(&self, request: &Request, stored: u64) -> StorageResult<Vec<Event>> {
        let Some(range) = decide::history_needed(request, stored) else { return Ok(Vec::new()) };
        if stored - request.base > MAX_MERGE_SPAN {
            return Ok(Vec::new());
        }
        let mut events = Vec::new();
        // Every event the log still has: a gap makes the merge a conflict, but a copy of this
        // request may still be found after it.
        for version in range {
            if let Some(logged) = self.storage.event(&request.collection, &request.id, version).await? {
                events.push(logged.event);
            }
        }
        Ok(events)
    }

    /// A request about to be rejected: if a copy of it was applied (its event is after its base)
    /// or rejected before, that outcome is the answer (§9); else the reject is recorded and sent.
    async fn conclude(
        &self,
        client: &str,
        request: &Request,
        state: &Stored,
        history: &[Event],
        reject: Reject,
        effects: &mut Vec<Effect>,
    ) -> StorageResult<&'static str> {
        if let Some(event) = self.applied_copy(client, request, state, history).await? {
            effects.push(self.reply(client, Message::Event(event).to_bytes()));
            return Ok("duplicate");
        }
        match self.storage.record_reject(client, &reject).await? {
            Some(prior) => {
                effects.push(self.reply(client, Message::Reject(prior).to_bytes()));
                Ok("duplicate")
            }
            None => {
                let code = reject.code.as_str();
                effects.push(self.reply(client, Message::Reject(reject).to_bytes()));
                Ok(code)
            }
        }
    }

    /// The event of an earlier copy of `request`, if one was applied. A strict request can only
    /// have been applied at `base + 1`; a merge one anywhere in its history.
    async fn applied_copy(
        &self,
        client: &str,
        request: &Request,
        state: &Stored,
        history: &[Event],
    ) -> StorageResult<Option<Event>> {
        let mine = |e: &Event| e.client == client && e.rid == request.rid;
        if let Some(e) = history.iter().find(|e| mine(e)) {
            return Ok(Some(e.clone()));
        }
        if request.base >= state.version {
            return Ok(None);
        }
        let next = self.storage.event(&request.collection, &request.id, request.base + 1).await?;
        Ok(next.map(|l| l.event).filter(mine))
    }

    async fn refused(
        &self,
        client: &str,
        request: &Request,
        state: &Stored,
        why: String,
        effects: &mut Vec<Effect>,
    ) -> StorageResult<&'static str> {
        let v = Violation::new(Code::Refused, format!("the database refused the result: {why}"));
        let reject = Reject::from_violation(
            Some(request.rid.clone()),
            Some(request.collection.clone()),
            Some(request.id.clone()),
            v,
        )
        .with_current(state.version);
        self.conclude(client, request, state, &[], reject, effects).await
    }
}
