//! An in-memory world for the protocol: two bridges (the real handlers over one in-memory
//! storage), several replicas, and a network that the test can deliver, duplicate, reorder and drop messages on,
//! with simulated time. No IO, fully deterministic (after quinn's `tests/util.rs` `Pair`).

#![allow(dead_code)]

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use vmm_protocol::bridge::{ready, Bridge, BridgeConfig, Effect, MemoryStorage};
use vmm_protocol::message::{Event, Failure, Message, Reject};
use vmm_protocol::replica::{Config, Notice, Replica, Resync};
use vmm_protocol::topic::{Route, Topics};
use vmm_protocol::Limits;

pub const COLLECTION: &str = "c";

/// Where a message in flight goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dest {
    Bridge,
    Replica(usize),
}

#[derive(Debug, Clone)]
pub struct Packet {
    pub dest: Dest,
    pub topic: String,
    pub payload: Vec<u8>,
}

/// The bridges: the real handlers of `vmm_protocol::bridge`, several of them over one in-memory
/// storage (as several bridge processes over one database), each with its own cache.
pub struct Bridges {
    pub storage: Arc<MemoryStorage>,
    pub all: Vec<Bridge<Arc<MemoryStorage>>>,
}

impl Bridges {
    fn new(count: usize, keep_history: usize, page_size: usize) -> Bridges {
        let storage = Arc::new(if keep_history == usize::MAX {
            MemoryStorage::default()
        } else {
            MemoryStorage::keeping_history(keep_history)
        });
        let config = BridgeConfig {
            page_size: page_size as u32,
            versions_page_size: page_size as u32,
            ..BridgeConfig::default()
        };
        let all = (0..count).map(|_| Bridge::new(storage.clone(), config.clone())).collect();
        Bridges { storage, all }
    }

    /// Bridge `which` handles a message; what it publishes goes out at once (in order).
    fn handle(&self, which: usize, now: u64, topic: &str, payload: &[u8]) -> Vec<(String, Vec<u8>)> {
        let handled = ready(self.all[which % self.all.len()].handle(now, topic, payload));
        assert!(handled.error.is_none(), "the memory storage never fails: {:?}", handled.error);
        handled
            .effects
            .into_iter()
            .map(|e| match e {
                Effect::Reply { topic, payload } => (topic, payload),
                Effect::Publish(p) => (p.topic, p.payload),
                Effect::RollForward { .. } => panic!("the memory storage never fails a write"),
            })
            .collect()
    }

    /// Every event ever recorded, by object.
    pub fn log(&self) -> BTreeMap<String, Vec<Event>> {
        let mut log: BTreeMap<String, Vec<Event>> = BTreeMap::new();
        for e in self.storage.recorded() {
            log.entry(e.id.key()).or_default().push(e);
        }
        log
    }
}

/// What one replica was told about its changes.
#[derive(Debug, Default)]
pub struct Ledger {
    pub requested: Vec<String>,
    pub confirmed: HashMap<String, Event>,
    pub rolled_back: HashMap<String, vmm_protocol::Code>,
    pub resolved_twice: Vec<String>,
}

pub struct World {
    pub now: u64,
    pub topics: Topics,
    pub bridge: Bridges,
    pub replicas: Vec<Replica>,
    pub ledgers: Vec<Ledger>,
    pub net: Vec<Packet>,
    pub delivered_events: Vec<Vec<(String, u64)>>,
}

impl World {
    pub fn new(replicas: usize, keep_history: usize, page_size: usize) -> World {
        let topics = Topics::default();
        let mut world = World {
            now: 0,
            topics,
            bridge: Bridges::new(2, keep_history, page_size),
            replicas: Vec::new(),
            ledgers: Vec::new(),
            net: Vec::new(),
            delivered_events: vec![Vec::new(); replicas],
        };
        for i in 0..replicas {
            let mut config = Config::new(&format!("client{i}"), &format!("p{i}")).unwrap();
            // Every other replica resyncs by versions (§12.4): both ways are held to the same
            // properties.
            if i % 2 == 1 {
                config.resync = Resync::Versions;
            }
            let mut r = Replica::new(config);
            r.watch_collection(0, COLLECTION).unwrap();
            world.replicas.push(r);
            world.ledgers.push(Ledger::default());
        }
        world
    }

    pub fn client(i: usize) -> String {
        format!("client{i}")
    }

    /// Moves what the replicas want to send onto the network, and reads their notices.
    pub fn collect(&mut self) {
        for i in 0..self.replicas.len() {
            while let Some(t) = self.replicas[i].poll_transmit() {
                self.net.push(Packet { dest: Dest::Bridge, topic: t.topic, payload: t.payload });
            }
            while let Some(n) = self.replicas[i].poll_notice() {
                let ledger = &mut self.ledgers[i];
                match n {
                    Notice::Confirmed { rid, event } => {
                        if ledger.confirmed.contains_key(&rid) || ledger.rolled_back.contains_key(&rid) {
                            ledger.resolved_twice.push(rid.clone());
                        }
                        ledger.confirmed.insert(rid, event);
                    }
                    Notice::RolledBack { rid, code, .. } => {
                        if ledger.confirmed.contains_key(&rid) || ledger.rolled_back.contains_key(&rid) {
                            ledger.resolved_twice.push(rid.clone());
                        }
                        ledger.rolled_back.insert(rid, code);
                    }
                    _ => {}
                }
            }
        }
    }

    pub fn connect(&mut self, i: usize) {
        self.replicas[i].connected(self.now);
        self.collect();
    }

    /// Drops everything in flight to or from a replica, and reconnects it.
    pub fn reconnect(&mut self, i: usize) {
        let prefix = format!("{}/", Self::client(i));
        self.net.retain(|p| {
            p.dest != Dest::Replica(i)
                && !(p.dest == Dest::Bridge && p.topic.split('/').nth(3).is_some_and(|c| format!("{c}/") == prefix))
        });
        self.replicas[i].disconnected();
        self.collect();
        self.connect(i);
    }

    pub fn request(&mut self, i: usize, op: Value) -> Option<String> {
        let rid = self.replicas[i].request(self.now, COLLECTION, op).ok()?;
        self.ledgers[i].requested.push(rid.clone());
        self.collect();
        Some(rid)
    }

    /// Delivers the packet at `index` (modulo the queue length).
    pub fn deliver(&mut self, index: usize) {
        if self.net.is_empty() {
            return;
        }
        let which = index / self.net.len().max(1);
        let p = self.net.remove(index % self.net.len());
        match p.dest {
            Dest::Bridge => {
                for (topic, payload) in self.bridge.handle(which, self.now, &p.topic, &p.payload) {
                    self.route_from_bridge(topic, payload);
                }
            }
            Dest::Replica(i) => {
                if let Ok(Message::Event(e)) = Message::parse(&p.payload, &Limits::default()) {
                    self.delivered_events[i].push((e.id.key(), e.version));
                }
                self.replicas[i].handle(self.now, &p.topic, &p.payload).expect("the bridge sends only good messages");
                self.collect();
            }
        }
    }

    fn route_from_bridge(&mut self, topic: String, payload: Vec<u8>) {
        match self.topics.parse(&topic).unwrap() {
            Route::Reply { client } => {
                let i: usize = client.trim_start_matches("client").parse().unwrap();
                self.net.push(Packet { dest: Dest::Replica(i), topic, payload });
            }
            Route::Event { .. } => {
                for i in 0..self.replicas.len() {
                    self.net.push(Packet { dest: Dest::Replica(i), topic: topic.clone(), payload: payload.clone() });
                }
            }
            other => panic!("the bridge does not publish to {other:?}"),
        }
    }

    pub fn duplicate(&mut self, index: usize) {
        if !self.net.is_empty() {
            let p = self.net[index % self.net.len()].clone();
            self.net.push(p);
        }
    }

    pub fn drop_packet(&mut self, index: usize) {
        if !self.net.is_empty() {
            let n = self.net.len();
            self.net.remove(index % n);
        }
    }

    pub fn tick(&mut self, ms: u64) {
        self.now += ms;
        for r in &mut self.replicas {
            r.handle_timeout(self.now);
        }
        self.collect();
    }

    /// Delivers everything, firing timers, until nothing moves (bounded).
    pub fn settle(&mut self) {
        for _ in 0..200 {
            while !self.net.is_empty() {
                self.deliver(0);
            }
            let next = self.replicas.iter().filter_map(|r| r.poll_timeout()).min();
            match next {
                Some(t) => {
                    self.now = self.now.max(t);
                    for r in &mut self.replicas {
                        r.handle_timeout(self.now);
                    }
                    self.collect();
                }
                None => return,
            }
            if self.net.is_empty() && self.replicas.iter().all(|r| r.pending_count() == 0) {
                // Only failure retries and nothing else left: one more round then stop.
                if self.replicas.iter().all(|r| r.poll_timeout().is_none()) {
                    return;
                }
            }
        }
    }

    /// The bridge's live objects: id key → (version, document).
    pub fn bridge_state(&self) -> BTreeMap<String, (u64, Value)> {
        self.bridge.storage.live(COLLECTION).into_iter().map(|(k, (v, d))| (k, (v, Value::Object(d)))).collect()
    }

    /// A replica's confirmed live objects.
    pub fn replica_state(&self, i: usize) -> BTreeMap<String, (u64, Value)> {
        self.replicas[i]
            .list(COLLECTION)
            .into_iter()
            .map(|(id, d)| {
                let (v, _) = self.replicas[i].confirmed(COLLECTION, &id).unwrap();
                (id.key(), (v, Value::Object(d)))
            })
            .collect()
    }
}

#[allow(unused)]
pub fn reject_of(m: &Message) -> Option<&Reject> {
    match m {
        Message::Reject(r) => Some(r),
        _ => None,
    }
}

#[allow(unused)]
pub fn failure_of(m: &Message) -> Option<&Failure> {
    match m {
        Message::Failure(f) => Some(f),
        _ => None,
    }
}
