//! An in-memory world for the protocol: one bridge (built from `decide` and `replay`), several
//! replicas, and a network that the test can deliver, duplicate, reorder and drop messages on,
//! with simulated time. No IO, fully deterministic (after quinn's `tests/util.rs` `Pair`).

#![allow(dead_code)]

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use vmm_protocol::decide::{self, Decision, Outcome, Stored};
use vmm_protocol::message::{Event, Failure, Load, LoadScope, Message, ObjectState, Reject, Request, Snapshot};
use vmm_protocol::replica::{Config, Notice, Replica};
use vmm_protocol::topic::{Route, Topics};
use vmm_protocol::{replay, Id, Limits};

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

/// The bridge's storage and behaviour, in memory.
#[derive(Debug, Default)]
pub struct Bridge {
    pub objects: BTreeMap<String, (Id, Stored)>,
    pub log: BTreeMap<String, Vec<Event>>,
    pub outcomes: HashMap<(String, String), Outcome>,
    /// How many of an object's latest events a replay may use (older ones are "truncated").
    pub keep_history: usize,
    pub page_size: usize,
    pub applied: usize,
}

impl Bridge {
    fn history(&self, key: &str) -> Vec<Event> {
        let log = self.log.get(key).map(Vec::as_slice).unwrap_or(&[]);
        log[log.len().saturating_sub(self.keep_history)..].to_vec()
    }

    fn handle(&mut self, now: u64, topics: &Topics, topic: &str, payload: &[u8]) -> Vec<(String, Vec<u8>)> {
        let limits = Limits::default();
        let reply = |client: &str, m: Message| vec![(topics.reply(client), m.to_bytes())];
        match topics.parse(topic).expect("the sim only routes good topics") {
            Route::Request { client, collection } => {
                let request = match Request::parse(payload, &limits) {
                    Ok(r) => r,
                    Err(reject) => return reply(&client, Message::Reject(*reject)),
                };
                assert_eq!(request.collection, collection);
                let key = request.id.key();
                let prior = self.outcomes.get(&(client.clone(), request.rid.clone())).cloned();
                let stored = self.objects.get(&key).map(|(_, s)| s.clone()).unwrap_or_default();
                let history = self.history(&key);
                match decide::decide(&client, &request, prior.as_ref(), &stored, &history, Some(now), &limits) {
                    Decision::Apply { event, doc } => {
                        self.applied += 1;
                        self.objects.insert(key.clone(), (request.id.clone(), Stored { version: event.version, doc }));
                        self.log.entry(key.clone()).or_default().push(event.clone());
                        self.outcomes.insert((client, request.rid), Outcome::Applied(event.clone()));
                        vec![(topics.event(&collection, &request.id), Message::Event(event).to_bytes())]
                    }
                    Decision::Duplicate(Outcome::Applied(event)) => reply(&client, Message::Event(event)),
                    Decision::Duplicate(Outcome::Rejected(reject)) => reply(&client, Message::Reject(reject)),
                    Decision::Reject(reject) => {
                        self.outcomes.insert((client.clone(), request.rid.clone()), Outcome::Rejected(reject.clone()));
                        reply(&client, Message::Reject(reject))
                    }
                }
            }
            Route::Failure { client, .. } => {
                let Ok(Message::Failure(failure)) = Message::parse(payload, &limits) else { return vec![] };
                let key = failure.id.key();
                let stored = self.objects.get(&key).map(|(_, s)| s.clone()).unwrap_or_default();
                let answer = replay::answer(&failure, &stored, &self.history(&key), &limits);
                reply(&client, Message::Replay(answer))
            }
            Route::Load { client, .. } => {
                let Ok(Message::Load(load)) = Message::parse(payload, &limits) else { return vec![] };
                reply(&client, Message::Snapshot(self.page(&load)))
            }
            other => panic!("the bridge does not subscribe to {other:?}"),
        }
    }

    fn page(&self, load: &Load) -> Snapshot {
        let state = |id: &Id, s: &Stored| ObjectState { id: id.clone(), version: s.version, doc: s.doc.clone() };
        match &load.scope {
            LoadScope::Ids(ids) => Snapshot {
                lid: load.lid.clone(),
                collection: load.collection.clone(),
                objects: ids
                    .iter()
                    .map(|id| {
                        self.objects.get(&id.key()).map(|(_, s)| state(id, s)).unwrap_or(ObjectState {
                            id: id.clone(),
                            version: 0,
                            doc: None,
                        })
                    })
                    .collect(),
                next: None,
            },
            LoadScope::Collection { after } => {
                let live: Vec<_> = self
                    .objects
                    .iter()
                    .filter(|(k, (_, s))| s.doc.is_some() && after.as_ref().is_none_or(|a| k.as_str() > a.as_str()))
                    .take(self.page_size + 1)
                    .collect();
                let more = live.len() > self.page_size;
                let objects: Vec<_> = live.iter().take(self.page_size).map(|(_, (id, s))| state(id, s)).collect();
                let next = more.then(|| objects.last().unwrap().id.key());
                Snapshot { lid: load.lid.clone(), collection: load.collection.clone(), objects, next }
            }
        }
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
    pub bridge: Bridge,
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
            bridge: Bridge { keep_history, page_size, ..Bridge::default() },
            replicas: Vec::new(),
            ledgers: Vec::new(),
            net: Vec::new(),
            delivered_events: vec![Vec::new(); replicas],
        };
        for i in 0..replicas {
            let mut r = Replica::new(Config::new(&format!("client{i}"), &format!("p{i}")).unwrap());
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
        let p = self.net.remove(index % self.net.len());
        match p.dest {
            Dest::Bridge => {
                for (topic, payload) in self.bridge.handle(self.now, &self.topics, &p.topic, &p.payload) {
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
        self.bridge
            .objects
            .iter()
            .filter_map(|(k, (_, s))| s.doc.clone().map(|d| (k.clone(), (s.version, Value::Object(d)))))
            .collect()
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
