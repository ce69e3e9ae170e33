//! A raw MQTT connection for the tests that craft protocol messages by hand: our own MQTT
//! session (`vmm-engine`'s, the one the browser runs) over a tokio TCP stream.

use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vmm_engine::mqtt::{QoS, Session, SessionEvent, SessionOptions};

pub struct Raw {
    stream: TcpStream,
    session: Session,
    start: Instant,
    buffer: Vec<u8>,
}

impl Raw {
    /// Connects as `id` and waits for the CONNACK.
    pub async fn connect(id: &str) -> Raw {
        let (host, port) = super::broker();
        let stream = TcpStream::connect((host.as_str(), port)).await.expect("the broker");
        stream.set_nodelay(true).unwrap();
        let mut options = SessionOptions::new(id);
        options.max_packet_size = 8 << 20;
        let mut raw =
            Raw { stream, session: Session::new(options).unwrap(), start: Instant::now(), buffer: vec![0; 64 << 10] };
        let connect = raw.session.connect(raw.now());
        raw.stream.write_all(&connect).await.unwrap();
        match raw.next().await {
            SessionEvent::Connected { .. } => raw,
            other => panic!("no CONNACK: {other:?}"),
        }
    }

    pub fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Subscribes with QoS 1; [`Raw::next`] reports the SUBACK.
    pub fn subscribe(&mut self, filter: &str) {
        self.session.subscribe(&[(filter, QoS::AtLeastOnce)]).unwrap();
    }

    /// Publishes with QoS 1; [`Raw::next`] reports the PUBACK.
    pub fn publish(&mut self, topic: &str, payload: &[u8]) {
        self.session.publish(topic, payload, QoS::AtLeastOnce).unwrap();
    }

    /// Sends what is queued, then the next thing that happened (reading as needed).
    pub async fn next(&mut self) -> SessionEvent {
        loop {
            while let Some(bytes) = self.session.poll_transmit() {
                self.stream.write_all(&bytes).await.unwrap();
            }
            if let Some(event) = self.session.poll_event() {
                return event;
            }
            let n = self.stream.read(&mut self.buffer).await.unwrap();
            assert!(n > 0, "the broker closed the connection");
            let now = self.now();
            self.session.handle_bytes(now, &self.buffer[..n]);
        }
    }

    /// The next message: its topic and payload (other events are skipped).
    pub async fn message(&mut self) -> (String, Vec<u8>) {
        loop {
            if let SessionEvent::Message { topic, payload, .. } = self.next().await {
                return (topic, payload);
            }
        }
    }

    /// Waits for `n` SUBACKs.
    pub async fn subscribed(&mut self, mut n: usize) {
        while n > 0 {
            if let SessionEvent::Subscribed { .. } = self.next().await {
                n -= 1;
            }
        }
    }

    pub async fn disconnect(mut self) {
        let bye = self.session.disconnect();
        let _ = self.stream.write_all(&bye).await;
    }
}
