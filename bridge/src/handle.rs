//! What the bridge does with each message it receives: requests (§6.2), failures (§11) and
//! loads (§12). The decisions are `vmm_protocol`'s; this file reads and writes MongoDB and
//! publishes the answers.

use crate::error::Result;
use crate::metrics::Metrics;
use crate::mqtt::Mqtt;
use crate::outbox::Outbox;
use crate::store::Store;
use mongodb::bson;
use std::sync::Arc;
use vmm_protocol::decide::{self, Decision, Outcome};
use vmm_protocol::message::{LoadScope, Message, ObjectState, Reject, Request, Snapshot};
use vmm_protocol::topic::{Route, Topics};
use vmm_protocol::{replay, Code, Id, Limits, Violation};

/// How often a request is decided again after losing a race for its version.
const MAX_RACES: usize = 8;

pub(crate) struct Bridge {
    pub(crate) store: Arc<Store>,
    pub(crate) mqtt: Arc<Mqtt>,
    pub(crate) outbox: Outbox,
    pub(crate) topics: Topics,
    pub(crate) limits: Limits,
    pub(crate) metrics: Arc<Metrics>,
    /// The configuration (which collections are served).
    pub(crate) config: crate::Config,
    /// A test hook: pause forever at this point (see `failpoint`).
    pub(crate) failpoint: Option<String>,
}

impl Bridge {
    /// Handles one incoming message. Returns once its outcome is recorded (so that the caller
    /// may acknowledge it to the broker). Nothing here stops the bridge: errors are answered or
    /// logged.
    pub(crate) async fn handle(&self, topic: &str, payload: &[u8]) {
        let route = match self.topics.parse(topic) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(%topic, error = %e, "ignoring a message on an unknown topic");
                return;
            }
        };
        let result = match route {
            Route::Request { client, collection } => self.on_request(&client, &collection, payload).await,
            Route::Failure { client, collection } => self.on_failure(&client, &collection, payload).await,
            Route::Load { client, collection } => self.on_load(&client, &collection, payload).await,
            other => {
                tracing::warn!(?other, "ignoring a message on a topic the bridge does not serve");
                Ok(())
            }
        };
        if let Err(e) = result {
            tracing::error!(%topic, error = %e, "could not handle a message");
        }
    }

    async fn reply(&self, client: &str, message: Message) {
        if let Err(e) = self.mqtt.publish(self.topics.reply(client), message.to_bytes()).await {
            tracing::warn!(%client, error = %e, "could not send a reply");
        }
    }

    fn allowed(&self, collection: &str) -> bool {
        self.config.collection_allowed(collection)
    }

    async fn on_request(&self, client: &str, collection: &str, payload: &[u8]) -> Result<()> {
        let _in_flight = self.metrics.in_flight();
        let request = match Request::parse(payload, &self.limits) {
            Ok(r) => r,
            Err(reject) => {
                tracing::info!(%client, code = %reject.code, rid = ?reject.rid, reason = %reject.message, "request rejected");
                self.metrics.request(reject.code.as_str());
                self.reply(client, Message::Reject(*reject)).await;
                return Ok(());
            }
        };
        let refuse = |v: Violation| {
            Reject::from_violation(
                Some(request.rid.clone()),
                Some(request.collection.clone()),
                Some(request.id.clone()),
                v,
            )
        };
        if let Err(v) = request.check_topic_collection(collection) {
            return self.send_reject(client, refuse(v), false).await;
        }
        if !self.allowed(collection) {
            let v = Violation::new(Code::Forbidden, format!("collection {collection:?} is not served by this bridge"));
            return self.send_reject(client, refuse(v), false).await;
        }
        match self.decide_and_apply(client, &request).await {
            Ok(()) => Ok(()),
            Err(e) => {
                tracing::error!(%client, rid = %request.rid, error = %e, "request failed; answering internal");
                let v =
                    Violation::new(Code::Internal, "the bridge could not reach its storage; retry with the same rid");
                self.send_reject(client, refuse(v), false).await
            }
        }
    }

    async fn decide_and_apply(&self, client: &str, request: &Request) -> Result<()> {
        let key = request.id.key();
        for _ in 0..MAX_RACES {
            let prior = self.store.prior(client, &request.rid).await?;
            let stored = if prior.is_some() {
                Default::default()
            } else {
                self.store.load(&request.collection, &request.id).await?
            };
            let history = match decide::history_needed(request, stored.version) {
                Some(range) => self.store.history(&request.collection, &request.id, range).await?,
                None => Vec::new(),
            };
            let now = crate::now_ms();
            match decide::decide(client, request, prior.as_ref(), &stored, &history, Some(now), &self.limits) {
                Decision::Duplicate(outcome) => {
                    tracing::debug!(%client, rid = %request.rid, "duplicate request: sending its outcome again");
                    self.metrics.request("duplicate");
                    let message = match outcome {
                        Outcome::Applied(e) => Message::Event(e),
                        Outcome::Rejected(r) => Message::Reject(r),
                    };
                    self.reply(client, message).await;
                    return Ok(());
                }
                Decision::Reject(reject) => {
                    // A copy of this request may have just been applied by another bridge: then
                    // that is the outcome, not this conflict.
                    if reject.code == Code::Conflict {
                        if let Some(event) = self.store.applied(client, &request.rid).await? {
                            self.metrics.request("duplicate");
                            self.reply(client, Message::Event(event)).await;
                            return Ok(());
                        }
                    }
                    return self.send_reject(client, reject, true).await;
                }
                Decision::Apply { event, doc } => {
                    if !self.store.record_event(&event, bson::DateTime::from_millis(now as i64)).await? {
                        continue; // another request took this version, or a copy of this one won
                    }
                    self.failpoint("after-event");
                    let new = vmm_protocol::decide::Stored { version: event.version, doc };
                    if let Err(e) = self.store.write(&request.collection, &request.id, &stored, &new).await {
                        // The event is recorded: whoever reads the object next rolls it forward.
                        tracing::warn!(error = %e, "object write failed after its event was recorded");
                    }
                    self.failpoint("before-publish");
                    tracing::info!(%client, rid = %request.rid, collection = %request.collection, key = %key, version = event.version, op = event.change.op(), "request applied");
                    self.metrics.request("applied");
                    self.outbox.kick(&request.collection, &key);
                    return Ok(());
                }
            }
        }
        Err(crate::Error::Storage(format!("request {} lost the race for its version {MAX_RACES} times", request.rid)))
    }

    async fn send_reject(&self, client: &str, reject: Reject, record: bool) -> Result<()> {
        tracing::info!(%client, rid = ?reject.rid, code = %reject.code, reason = %reject.message, "request rejected");
        self.metrics.request(reject.code.as_str());
        if record && reject.code != Code::Internal {
            self.store.record_reject(client, &reject, bson::DateTime::now()).await?;
        }
        self.reply(client, Message::Reject(reject)).await;
        Ok(())
    }

    async fn on_failure(&self, client: &str, collection: &str, payload: &[u8]) -> Result<()> {
        let failure = match Message::parse(payload, &self.limits) {
            Ok(Message::Failure(f)) if f.collection == collection && self.allowed(collection) => f,
            other => {
                tracing::warn!(%client, ?other, "ignoring a bad failure message");
                return Ok(());
            }
        };
        let stored = self.store.load(collection, &failure.id).await?;
        let history = match replay::events_needed(&failure, stored.version) {
            Some(range) => self.store.history(collection, &failure.id, range).await?,
            None => Vec::new(),
        };
        let answer = replay::answer(&failure, &stored, &history, &self.limits);
        let snapshot = matches!(answer.body, vmm_protocol::message::ReplayBody::Snapshot(_));
        tracing::debug!(%client, %collection, id = %failure.id, from = failure.version, snapshot, "replaying");
        self.metrics.replay(snapshot);
        self.reply(client, Message::Replay(answer)).await;
        Ok(())
    }

    async fn on_load(&self, client: &str, collection: &str, payload: &[u8]) -> Result<()> {
        let load = match Message::parse(payload, &self.limits) {
            Ok(Message::Load(l)) if l.collection == collection && self.allowed(collection) => l,
            other => {
                tracing::warn!(%client, ?other, "ignoring a bad load message");
                return Ok(());
            }
        };
        // Leave room for the envelope of the page.
        let budget = self.limits.max_payload.saturating_sub(4096);
        let (objects, next) = match &load.scope {
            LoadScope::Ids(ids) => {
                let mut states = Vec::with_capacity(ids.len());
                for id in ids {
                    let s = self.store.load(collection, id).await?;
                    states.push(ObjectState { id: id.clone(), version: s.version, doc: s.doc });
                }
                (states, None)
            }
            LoadScope::Collection { after } => {
                let after = match after.as_deref().map(Id::from_key) {
                    Some(Ok(id)) => Some(id),
                    Some(Err(_)) => {
                        tracing::warn!(%client, "ignoring a load with a bad cursor");
                        return Ok(());
                    }
                    None => None,
                };
                let limit = load.limit.unwrap_or(200) as usize;
                self.store.page(collection, after.as_ref(), limit, budget).await?
            }
        };
        self.metrics.load_page();
        let page = Snapshot { lid: load.lid, collection: collection.to_string(), objects, next };
        self.reply(client, Message::Snapshot(page)).await;
        Ok(())
    }

    /// Test hook: with `VMM_FAILPOINT=<name>`, the bridge kills itself with SIGKILL at that point,
    /// to check that a crash there loses nothing. Points: `after-event` (the event is recorded,
    /// the object not yet written), `before-publish` (both written, nothing published).
    fn failpoint(&self, name: &str) {
        if self.failpoint.as_deref() == Some(name) {
            eprintln!("vmm-bridge: failpoint {name} reached: killing myself");
            let pid = std::process::id().to_string();
            let _ = std::process::Command::new("kill").args(["-KILL", &pid]).status();
            std::process::abort();
        }
    }
}
