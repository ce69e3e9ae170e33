//! Admission: which incoming message is handled next, and which is dropped. No IO and no clock:
//! every method takes the time (`now`, ms), so the rules are unit-tested with simulated time.
//!
//! Decisions, and why:
//! - **One bounded intake.** Messages wait here, counted by number and by bytes. Past either
//!   cap a QoS 0 message is dropped (`intake_full`), and a QoS 1 message is *held*: queued, but
//!   the shell does not acknowledge it until it is taken, so a broker whose in-flight window is
//!   smaller than the caps stops sending (backpressure). Held messages may take the intake to
//!   twice its caps; beyond that even QoS 1 is dropped, so that memory stays bounded with a
//!   broker whose window is larger (the development Mosquitto sends past twice a cap of 30).
//! - **Fair across clients.** Each `{client}` has its own queues; [`Admission::next`] takes from
//!   the clients in turn (round robin), so a client's flood waits behind itself, not in front of
//!   the others. A client has at most `client_in_flight` messages being handled at once and at
//!   most `client_queued` waiting (beyond: dropped, `queue_full`; the requester republishes, §6.1).
//! - **Reads are rate-limited.** Failures and loads ("reads") cost the bridge far more than they
//!   cost the sender (a snapshot of a large object for a few bytes): a token bucket per client
//!   (`reads_per_second`, burst `reads_burst`) drops the excess (`rate`; the consumer resends
//!   with its back-off, §11, §12.3), and a byte budget per client (`reply_bytes_per_second`)
//!   holds back its next read while the replies already sent exceed it. A client's reads are
//!   handled one at a time, so that the budget is checked against every reply before the next:
//!   over any window of `w` seconds its replies weigh at most `(1 + w) × budget` plus one reply.
//! - **Retained messages are dropped** (`retained`, PROTOCOL §2.1), except presence, which the
//!   shell never hands here as a client's message.

use std::collections::{HashMap, VecDeque};

/// The limits. See `docs/BRIDGE.md` "Limits" and the flags in `config/bounds.rs`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Settings {
    /// Messages waiting, all clients together, before QoS 0 is dropped and QoS 1 held.
    pub(crate) max_messages: usize,
    /// Bytes (payload and topic) waiting, likewise.
    pub(crate) max_bytes: usize,
    /// Messages of one client being handled at once.
    pub(crate) client_in_flight: usize,
    /// Messages of one client waiting.
    pub(crate) client_queued: usize,
    /// Failures and loads of one client admitted per second, on average.
    pub(crate) reads_per_second: f64,
    /// ... and at once.
    pub(crate) reads_burst: f64,
    /// Reply bytes per second one client's failures and loads may cause.
    pub(crate) reply_bytes_per_second: f64,
}

/// What a message is, as far as admission cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A request (or anything that is not a read).
    Request,
    /// A failure or a load.
    Read,
}

/// Why a message was dropped: the `reason` label of `vmm_bridge_dropped_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    /// Delivered with the retain flag (§2.1).
    Retained,
    /// A failure or load over its client's rate.
    Rate,
    /// The intake is full.
    IntakeFull,
    /// Its client's queue is full.
    QueueFull,
}

impl Reason {
    /// Every reason, in the order of [`Reason::index`].
    pub(crate) const ALL: [Reason; 4] = [Reason::Retained, Reason::Rate, Reason::IntakeFull, Reason::QueueFull];

    /// The metric label.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Reason::Retained => "retained",
            Reason::Rate => "rate",
            Reason::IntakeFull => "intake_full",
            Reason::QueueFull => "queue_full",
        }
    }

    /// The position in [`Reason::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// An incoming message, described.
#[derive(Clone, Debug)]
pub(crate) struct Message<'a> {
    /// The `{client}` level of its topic ("" for a topic without one).
    pub(crate) client: &'a str,
    pub(crate) kind: Kind,
    /// Whether it came with QoS 1 (and so can be held unacknowledged).
    pub(crate) qos1: bool,
    pub(crate) retained: bool,
    /// What it weighs in memory.
    pub(crate) size: usize,
}

/// The verdict on an offered message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Offer<T> {
    /// Queued; `held`: over the caps, to be acknowledged only when taken.
    Queued {
        /// See [`Offer::Queued`].
        held: bool,
    },
    /// Dropped: the item is given back (to be acknowledged, and counted under the reason).
    Dropped(Reason, T),
}

/// What [`Admission::next`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next<T> {
    /// Handle this now; call [`Admission::done`] for its client when finished.
    Take(Taken<T>),
    /// Nothing can be taken before this time (a byte budget refills), unless something changes.
    Wait(u64),
    /// Nothing can be taken until something changes (a message arrives, one is done).
    Idle,
}

/// A message taken from the intake.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Taken<T> {
    pub(crate) client: String,
    pub(crate) item: T,
    /// Not yet acknowledged to the broker.
    pub(crate) held: bool,
    /// A failure or a load (give it back to [`Admission::done`]).
    pub(crate) read: bool,
}

/// A token bucket: `rate` tokens per second up to `cap`; it may run into debt.
#[derive(Clone, Debug)]
struct Bucket {
    tokens: f64,
    at: u64,
}

impl Bucket {
    fn full(cap: f64, now: u64) -> Bucket {
        Bucket { tokens: cap, at: now }
    }

    fn refill(&mut self, now: u64, rate: f64, cap: f64) {
        let elapsed = now.saturating_sub(self.at) as f64 / 1000.0;
        self.tokens = (self.tokens + elapsed * rate).min(cap);
        self.at = self.at.max(now);
    }

    /// When the bucket is out of debt, at `rate`.
    fn solvent_at(&self, rate: f64) -> u64 {
        if self.tokens >= 0.0 {
            self.at
        } else {
            self.at + (-self.tokens / rate * 1000.0).ceil() as u64
        }
    }
}

struct Entry<T> {
    item: T,
    size: usize,
    held: bool,
}

struct Client<T> {
    requests: VecDeque<Entry<T>>,
    reads: VecDeque<Entry<T>>,
    in_flight: usize,
    /// Whether one of its reads is being handled.
    reading: bool,
    /// Reads admitted.
    tokens: Bucket,
    /// Reply bytes.
    budget: Bucket,
}

impl<T> Client<T> {
    fn queued(&self) -> usize {
        self.requests.len() + self.reads.len()
    }
}

/// The intake: per-client queues, the caps, the buckets.
pub(crate) struct Admission<T> {
    settings: Settings,
    clients: HashMap<String, Client<T>>,
    /// Clients with something queued, in turn order.
    ring: VecDeque<String>,
    messages: usize,
    bytes: usize,
    swept: u64,
}

impl<T> Admission<T> {
    pub(crate) fn new(settings: Settings) -> Admission<T> {
        Admission { settings, clients: HashMap::new(), ring: VecDeque::new(), messages: 0, bytes: 0, swept: 0 }
    }

    /// Messages and bytes waiting.
    pub(crate) fn queued(&self) -> (usize, usize) {
        (self.messages, self.bytes)
    }

    /// Queues `item`, or gives it back with the reason it is dropped.
    pub(crate) fn offer(&mut self, now: u64, message: &Message<'_>, item: T) -> Offer<T> {
        self.sweep(now);
        if message.retained {
            return Offer::Dropped(Reason::Retained, item);
        }
        let s = &self.settings;
        let over = |factor: usize| {
            self.messages + 1 > s.max_messages * factor || self.bytes + message.size > s.max_bytes * factor
        };
        let held = over(1);
        if held && (!message.qos1 || over(2)) {
            return Offer::Dropped(Reason::IntakeFull, item);
        }
        let client = self.clients.entry(message.client.to_string()).or_insert_with(|| Client {
            requests: VecDeque::new(),
            reads: VecDeque::new(),
            in_flight: 0,
            reading: false,
            tokens: Bucket::full(s.reads_burst, now),
            budget: Bucket::full(s.reply_bytes_per_second, now),
        });
        if client.queued() >= s.client_queued {
            return Offer::Dropped(Reason::QueueFull, item);
        }
        let entry = Entry { item, size: message.size, held };
        if message.kind == Kind::Read {
            client.tokens.refill(now, s.reads_per_second, s.reads_burst);
            // A client's reads wait at most a burst's worth: more would only come due later.
            if client.tokens.tokens < 1.0 || client.reads.len() as f64 >= s.reads_burst {
                return Offer::Dropped(Reason::Rate, entry.item);
            }
            client.tokens.tokens -= 1.0;
            client.reads.push_back(entry);
        } else {
            client.requests.push_back(entry);
        }
        if client.queued() == 1 {
            self.ring.push_back(message.client.to_string());
        }
        self.messages += 1;
        self.bytes += message.size;
        Offer::Queued { held }
    }

    /// The next message to handle: from the next client in turn that may have one more in
    /// flight (a request first, else a read if none is in flight and its reply budget is not in
    /// debt).
    pub(crate) fn next(&mut self, now: u64) -> Next<T> {
        let s = &self.settings;
        let mut wait: Option<u64> = None;
        for turn in 0..self.ring.len() {
            let name = &self.ring[turn];
            let client = self.clients.get_mut(name).expect("a client in the ring has an entry");
            if client.in_flight >= s.client_in_flight {
                continue;
            }
            client.budget.refill(now, s.reply_bytes_per_second, s.reply_bytes_per_second);
            let (entry, read) = if let Some(entry) = client.requests.pop_front() {
                (entry, false)
            } else if client.reading {
                continue;
            } else if client.budget.tokens >= 0.0 {
                client.reading = true;
                (client.reads.pop_front().expect("a client in the ring has something queued"), true)
            } else {
                let at = client.budget.solvent_at(s.reply_bytes_per_second);
                wait = Some(wait.map_or(at, |w| w.min(at)));
                continue;
            };
            client.in_flight += 1;
            let name = self.ring.remove(turn).expect("in the ring");
            if client.queued() > 0 {
                self.ring.push_back(name.clone());
            }
            self.messages -= 1;
            self.bytes -= entry.size;
            return Next::Take(Taken { client: name, item: entry.item, held: entry.held, read });
        }
        wait.map_or(Next::Idle, Next::Wait)
    }

    /// A message of `client` taken by [`Admission::next`] (a `read` or not) is handled; its
    /// replies weighed `reply_bytes`, charged to the client's budget.
    pub(crate) fn done(&mut self, now: u64, client: &str, read: bool, reply_bytes: usize) {
        let s = &self.settings;
        if let Some(c) = self.clients.get_mut(client) {
            c.in_flight = c.in_flight.saturating_sub(1);
            c.reading &= !read;
            c.budget.refill(now, s.reply_bytes_per_second, s.reply_bytes_per_second);
            c.budget.tokens -= reply_bytes as f64;
        }
    }

    /// Forgets, once a second, the clients with nothing queued or in flight whose buckets are
    /// full again: they would be created afresh just the same.
    fn sweep(&mut self, now: u64) {
        if now < self.swept + 1000 {
            return;
        }
        self.swept = now;
        let s = &self.settings;
        self.clients.retain(|_, c| {
            c.tokens.refill(now, s.reads_per_second, s.reads_burst);
            c.budget.refill(now, s.reply_bytes_per_second, s.reply_bytes_per_second);
            c.queued() > 0
                || c.in_flight > 0
                || c.tokens.tokens < s.reads_burst
                || c.budget.tokens < s.reply_bytes_per_second
        });
    }

    #[cfg(test)]
    fn clients(&self) -> usize {
        self.clients.len()
    }
}

#[cfg(test)]
#[path = "admission/tests.rs"]
mod tests;
