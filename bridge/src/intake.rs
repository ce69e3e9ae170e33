//! The bridge's intake: the shell around [`crate::admission`]. The MQTT task offers each
//! incoming message and never waits; the request loop takes them in admission's order.
//!
//! A message is acknowledged (PUBACK) as soon as the intake queues it, not once it is handled:
//! with acknowledgements after handling, the broker's in-flight window (Mosquitto: 20 messages)
//! would leave a flood in the broker's queue, first in first out, and every other client's
//! request behind it; taken off the broker at once, the flood waits in the intake while the
//! clients take turns. Nothing is lost that was not lost before: the bridge connects with a clean
//! session, so the broker does not redeliver what a stopped bridge held either way, and
//! requesters publish again what has no outcome (PROTOCOL.md §6.1, §11, §12.3). Past the intake's
//! caps a QoS 1 message is *held* instead: acknowledged only when taken, which stops a broker
//! whose in-flight window is smaller than the caps (see `admission`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rumqttc::{Publish, QoS};
use tokio::sync::Notify;
use vmm_protocol::topic::{Route, Topics};

use crate::admission::{Admission, Kind, Message, Next, Offer, Reason, Settings, Taken};
use crate::clock::Clock;
use crate::metrics::Metrics;

/// The queue name of bridge presence messages: not a valid `{client}`, so never a client's.
const PRESENCE: &str = "#bridges";

/// The bounded, fair queue between the MQTT connection and the workers.
pub(crate) struct Intake {
    admission: Mutex<Admission<Publish>>,
    ready: Notify,
    topics: Topics,
    metrics: Arc<Metrics>,
    clock: Arc<dyn Clock>,
}

impl Intake {
    pub(crate) fn new(settings: Settings, topics: Topics, metrics: Arc<Metrics>, clock: Arc<dyn Clock>) -> Intake {
        Intake { admission: Mutex::new(Admission::new(settings)), ready: Notify::new(), topics, metrics, clock }
    }

    /// Queues or drops an incoming message; returns it when it is to be acknowledged now (it is
    /// queued within the caps, or dropped). Never waits: the MQTT task calls it.
    pub(crate) fn offer(&self, publish: Publish) -> Option<Publish> {
        let (client, kind, retained) = match self.topics.parse(&publish.topic) {
            // Presence is retained by design (§2.2): the one topic where the flag is no fault.
            _ if self.topics.presence_instance(&publish.topic).is_some() => {
                (PRESENCE.to_string(), Kind::Request, false)
            }
            Ok(Route::Request { client, .. }) => (client, Kind::Request, publish.retain),
            Ok(Route::Failure { client, .. } | Route::Load { client, .. }) => (client, Kind::Read, publish.retain),
            _ => (String::new(), Kind::Request, publish.retain),
        };
        let message = Message {
            client: &client,
            kind,
            qos1: publish.qos == QoS::AtLeastOnce,
            retained,
            size: publish.payload.len() + publish.topic.len(),
        };
        let ack = publish.clone();
        let mut admission = self.admission.lock().expect("admission lock");
        let verdict = admission.offer(self.clock.now_ms(), &message, publish);
        let (messages, bytes) = admission.queued();
        drop(admission);
        self.metrics.intake(messages, bytes);
        match verdict {
            Offer::Queued { held } => {
                self.ready.notify_one();
                (!held).then_some(ack)
            }
            Offer::Dropped(reason, publish) => {
                self.metrics.dropped(reason);
                if reason == Reason::Retained {
                    tracing::warn!(topic = %publish.topic, "ignoring a retained message (PROTOCOL.md §2.1)");
                } else {
                    tracing::debug!(topic = %publish.topic, reason = reason.label(), "dropping a message");
                }
                Some(publish)
            }
        }
    }

    /// The next message to handle, when admission allows one. Cancel-safe.
    pub(crate) async fn next(&self) -> Taken<Publish> {
        loop {
            let notified = self.ready.notified();
            let now = self.clock.now_ms();
            // In a block: a guard merely dropped would still count as held across the await.
            let (next, (messages, bytes)) = {
                let mut admission = self.admission.lock().expect("admission lock");
                (admission.next(now), admission.queued())
            };
            self.metrics.intake(messages, bytes);
            match next {
                Next::Take(taken) => return taken,
                Next::Wait(at) => {
                    tokio::select! {
                        () = notified => {}
                        () = tokio::time::sleep(Duration::from_millis(at.saturating_sub(now).max(1))) => {}
                    }
                }
                Next::Idle => notified.await,
            }
        }
    }

    /// A message taken from `client` (a failure or load: `read`) is handled; its replies
    /// weighed `reply_bytes`.
    pub(crate) fn done(&self, client: &str, read: bool, reply_bytes: usize) {
        self.admission.lock().expect("admission lock").done(self.clock.now_ms(), client, read, reply_bytes);
        self.ready.notify_one();
    }

    /// Whether a taken message is a bridge's presence.
    pub(crate) fn is_presence(taken: &Taken<Publish>) -> bool {
        taken.client == PRESENCE
    }
}
