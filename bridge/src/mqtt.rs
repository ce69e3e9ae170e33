//! The MQTT shell: one rumqttc connection, its event loop polled by a dedicated task (publishing
//! from the task that drives the event loop deadlocks when the request channel fills — rumqtt
//! issues #1025, #263, #910), and publishes whose broker acknowledgement can be awaited.
//!
//! rumqttc assigns packet ids itself and reports `Outgoing::Publish(pkid)` in the order the
//! publishes were queued, then `Incoming::PubAck(pkid)`. [`Mqtt::publish_acked`] queues a waiter
//! in the same order as it queues the publish (under one lock), the event loop task pairs each
//! new outgoing packet id with the next waiter, and the PUBACK wakes it. A retransmission reuses
//! its packet id and is recognised as such. When the connection drops, every publish not yet
//! acknowledged is taken out of rumqttc's resend queue and its waiter fails, so that pairing
//! never drifts: the caller (the outbox) publishes again, and events are idempotent.

use crate::config::MqttLogin;
use crate::error::{Error, Result};
use crate::intake::Intake;
use rumqttc::{AsyncClient, Event, EventLoop, Incoming, MqttOptions, Outgoing, Publish, QoS, Request};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

mod tls;

/// How long a publish may wait for its PUBACK before the caller gives up (and tries again later).
const ACK_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest packet read from the broker.
const MAX_INCOMING_PACKET: usize = 8 << 20;

#[derive(Default)]
struct Waiters {
    /// Waiters of publishes queued but not yet sent, in queue order.
    queued: VecDeque<oneshot::Sender<()>>,
    /// Waiters of publishes sent, by packet id.
    sent: HashMap<u16, oneshot::Sender<()>>,
}

/// How to connect.
pub(crate) struct Settings {
    pub(crate) url: String,
    pub(crate) client_id: String,
    pub(crate) clean_session: bool,
    /// The largest packet sent.
    pub(crate) max_packet: usize,
    pub(crate) filters: Vec<String>,
    /// The will: its topic and payload, and whether it is retained.
    pub(crate) will: Option<(String, Vec<u8>, bool)>,
    /// The user name, password and TLS files.
    pub(crate) login: MqttLogin,
}

/// A connected (or reconnecting) MQTT client.
pub(crate) struct Mqtt {
    client: AsyncClient,
    waiters: Arc<Mutex<Waiters>>,
    order: tokio::sync::Mutex<()>,
    connected: Arc<AtomicBool>,
    /// Whether the broker acknowledged the subscriptions of the current connection.
    subscribed: Arc<AtomicBool>,
    /// A retained message published on every connection, after the subscriptions: the bridge's
    /// presence (§2.2), once it serves.
    announcement: Mutex<Option<(String, Vec<u8>)>>,
}

/// Where the MQTT connection goes, parsed from `mqtt://host:port` or `mqtts://host:port`.
pub(crate) fn parse_url(url: &str) -> Result<crate::config::login::BrokerUrl> {
    crate::config::login::parse_broker_url(url).map_err(Error::Config)
}

impl Mqtt {
    /// Connects (in the background: the event loop task retries with back-off) as
    /// `settings.client_id`, subscribing to `settings.filters` on every connection. Incoming
    /// publishes are offered to `incoming`, which says which to acknowledge at once; it hands
    /// out the others later, to be acknowledged with [`Mqtt::ack`].
    pub(crate) fn start(
        settings: Settings,
        incoming: Arc<Intake>,
        shutdown: CancellationToken,
    ) -> Result<(Arc<Mqtt>, tokio::task::JoinHandle<()>)> {
        let Settings { url, client_id, clean_session, max_packet, filters, will, login } = settings;
        let url = parse_url(&url)?;
        let mut options = MqttOptions::new(client_id, url.host.clone(), url.port);
        tls::apply(&mut options, &url, &login)?;
        options
            .set_keep_alive(Duration::from_secs(10))
            .set_clean_session(clean_session)
            .set_manual_acks(true)
            .set_inflight(200)
            // Incoming packets up to 8 MiB are read (and an oversize request rejected as
            // too_large) rather than failing the connection, which would make the broker deliver
            // the same packet again forever; the broker should cap packets below that.
            .set_max_packet_size(MAX_INCOMING_PACKET.max(max_packet), max_packet);
        if let Some((topic, payload, retain)) = will {
            options.set_last_will(rumqttc::LastWill::new(topic, payload, QoS::AtLeastOnce, retain));
        }
        let (client, eventloop) = AsyncClient::new(options, 256);
        let mut eventloop = eventloop;
        // Small QoS 1 packets both ways: without TCP_NODELAY, Nagle and delayed ACKs add ~40 ms.
        let mut network = eventloop.network_options();
        network.set_tcp_nodelay(true);
        eventloop.set_network_options(network);
        let mqtt = Arc::new(Mqtt {
            client,
            waiters: Arc::default(),
            order: tokio::sync::Mutex::new(()),
            connected: Arc::new(AtomicBool::new(false)),
            subscribed: Arc::new(AtomicBool::new(false)),
            announcement: Mutex::new(None),
        });
        let task = tokio::spawn(drive(eventloop, mqtt.clone(), filters, incoming, shutdown));
        Ok((mqtt, task))
    }

    /// Whether the connection is up.
    pub(crate) fn connected(&self) -> Arc<AtomicBool> {
        self.connected.clone()
    }

    /// Whether the broker acknowledged this connection's subscriptions.
    pub(crate) fn subscribed(&self) -> Arc<AtomicBool> {
        self.subscribed.clone()
    }

    /// Publishes with QoS 1 and waits for the broker's PUBACK.
    pub(crate) async fn publish_acked(&self, topic: String, payload: Vec<u8>) -> Result<()> {
        let rx = self.enqueue(topic, payload).await?;
        match tokio::time::timeout(ACK_TIMEOUT, rx).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Error::Mqtt("the connection dropped before the PUBACK".into())),
            Err(_) => Err(Error::Mqtt("no PUBACK in time".into())),
        }
    }

    /// Publishes with QoS 1 without waiting for the PUBACK.
    pub(crate) async fn publish(&self, topic: String, payload: Vec<u8>) -> Result<()> {
        self.enqueue(topic, payload).await.map(drop)
    }

    async fn enqueue(&self, topic: String, payload: Vec<u8>) -> Result<oneshot::Receiver<()>> {
        let (tx, rx) = oneshot::channel();
        // The waiter and the publish must enter their queues in the same order.
        let _order = self.order.lock().await;
        self.waiters.lock().expect("waiters lock").queued.push_back(tx);
        if let Err(e) = self.client.publish(topic, QoS::AtLeastOnce, false, payload).await {
            self.waiters.lock().expect("waiters lock").queued.pop_back();
            return Err(Error::Mqtt(format!("publish: {e}")));
        }
        Ok(rx)
    }

    /// Acknowledges an incoming publish (manual acks: only once its outcome is recorded).
    pub(crate) async fn ack(&self, publish: &Publish) {
        if let Err(e) = self.client.ack(publish).await {
            tracing::debug!(error = %e, "could not queue a PUBACK (shutting down?)");
        }
    }

    /// Acknowledges an incoming publish from the event loop's task, which must never await the
    /// request channel it drains: when the channel is full, a task of its own waits.
    fn ack_now(self: &Arc<Self>, publish: Publish) {
        if self.client.try_ack(&publish).is_err() {
            let mqtt = self.clone();
            tokio::spawn(async move { mqtt.ack(&publish).await });
        }
    }

    /// Publishes `payload` retained on `topic` now and after every reconnection (after the
    /// subscriptions), until [`Mqtt::disconnect`]. With QoS 0: a publish of our own with a packet
    /// id would take the place of a waiter of [`Mqtt::publish_acked`]; a lost one is published
    /// again with the next connection, and the announcement is a hint, never a guarantee.
    pub(crate) fn announce(&self, topic: String, payload: Vec<u8>) {
        *self.announcement.lock().expect("announcement lock") = Some((topic, payload));
        if self.connected.load(Ordering::SeqCst) {
            self.publish_announcement();
        }
    }

    fn publish_announcement(&self) {
        if let Some((topic, payload)) = self.announcement.lock().expect("announcement lock").clone() {
            // try_: never await the request channel from the task that drains it.
            if let Err(e) = self.client.try_publish(topic, QoS::AtMostOnce, true, payload) {
                tracing::warn!(error = %e, "could not publish the bridge's presence");
            }
        }
    }

    /// Disconnects cleanly. A bridge that announced itself first clears its announcement (an
    /// empty retained message, as its will would have published).
    pub(crate) async fn disconnect(&self) {
        let announced = self.announcement.lock().expect("announcement lock").take();
        if let Some((topic, _)) = announced {
            let _ = self.client.publish(topic, QoS::AtMostOnce, true, Vec::new()).await;
        }
        let _ = self.client.disconnect().await;
    }
}

async fn drive(
    mut eventloop: EventLoop,
    mqtt: Arc<Mqtt>,
    filters: Vec<String>,
    incoming: Arc<Intake>,
    shutdown: CancellationToken,
) {
    let mut backoff = Duration::from_millis(100);
    // The last failed attempt's reason, logged as a warning once, not on every retry.
    let mut last_failure: Option<String> = None;
    loop {
        // Shutdown goes through `Mqtt::disconnect`, which the loop sees as `Outgoing::Disconnect`;
        // a connection attempt gives up on its own after rumqttc's connection timeout.
        match eventloop.poll().await {
            Ok(Event::Incoming(Incoming::ConnAck(ack))) => {
                backoff = Duration::from_millis(100);
                last_failure = None;
                mqtt.connected.store(true, Ordering::SeqCst);
                tracing::info!(session_present = ack.session_present, "MQTT connected");
                for f in &filters {
                    // try_: never await the request channel from the task that drains it.
                    if let Err(e) = mqtt.client.try_subscribe(f.clone(), QoS::AtLeastOnce) {
                        tracing::error!(error = %e, filter = %f, "could not subscribe");
                    }
                }
                mqtt.publish_announcement();
            }
            Ok(Event::Incoming(Incoming::SubAck(_))) => {
                mqtt.subscribed.store(true, Ordering::SeqCst);
            }
            Ok(Event::Incoming(Incoming::Publish(p))) => {
                if let Some(p) = incoming.offer(p) {
                    mqtt.ack_now(p);
                }
            }
            Ok(Event::Incoming(Incoming::PubAck(ack))) => {
                if let Some(tx) = mqtt.waiters.lock().expect("waiters lock").sent.remove(&ack.pkid) {
                    let _ = tx.send(());
                }
            }
            Ok(Event::Outgoing(Outgoing::Publish(pkid))) if pkid != 0 => {
                let mut w = mqtt.waiters.lock().expect("waiters lock");
                if !w.sent.contains_key(&pkid) {
                    if let Some(tx) = w.queued.pop_front() {
                        w.sent.insert(pkid, tx);
                    }
                }
            }
            Ok(Event::Incoming(Incoming::Disconnect)) => {}
            Ok(Event::Outgoing(Outgoing::Disconnect)) if shutdown.is_cancelled() => break,
            Ok(_) => {}
            Err(e) => {
                if shutdown.is_cancelled() {
                    break;
                }
                let was_connected = mqtt.connected.swap(false, Ordering::SeqCst);
                mqtt.subscribed.store(false, Ordering::SeqCst);
                let reason = tls::explain(&e);
                if was_connected {
                    tracing::warn!(error = %reason, "MQTT connection lost; reconnecting");
                } else if last_failure.as_ref() != Some(&reason) {
                    tracing::warn!(error = %reason, "cannot connect to the MQTT broker; retrying");
                } else {
                    tracing::debug!(error = %reason, "MQTT connection attempt failed");
                }
                last_failure = Some(reason);
                forget_unacknowledged(&mut eventloop, &mqtt);
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = shutdown.cancelled() => break,
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
    mqtt.connected.store(false, Ordering::SeqCst);
    mqtt.subscribed.store(false, Ordering::SeqCst);
}

/// After a connection error rumqttc keeps unacknowledged and unsent publishes to send again.
/// Their waiters are failed instead, and the publishes dropped: the callers publish again,
/// which keeps the pairing of waiters and packet ids exact across reconnects.
fn forget_unacknowledged(eventloop: &mut EventLoop, mqtt: &Mqtt) {
    let mut w = mqtt.waiters.lock().expect("waiters lock");
    let mut unsent = 0;
    eventloop.pending.retain(|r| match r {
        Request::Publish(p) => {
            if p.pkid == 0 {
                unsent += 1;
            }
            false
        }
        _ => true,
    });
    // Also drop the Outgoing events rumqttc may still hold for publishes it sent.
    eventloop.state.events.retain(|e| !matches!(e, Event::Outgoing(Outgoing::Publish(_))));
    w.sent.clear();
    for _ in 0..unsent {
        w.queued.pop_front();
    }
}
