//! Runs the conformance vectors of `protocol/vectors/` that concern messages and state machines:
//! `topics.json`, `validate.json`, `decide.json` and `replica.json` (PROTOCOL.md §14).
//!
//! In `replica.json`, a string that starts with `~` (`"~r1"`) is a variable: in an expected
//! message it binds to the actual value the first time and must equal it afterwards; in a
//! received message it is replaced by its value. This keeps the vectors free of any one
//! implementation's way of generating request and load ids.

// The vector files, embedded (declared by the including crate when this runs in wasm).
#[cfg(not(target_arch = "wasm32"))]
mod vector_files;

use serde_json::{json, Value};
use std::collections::HashMap;
use vmm_protocol::decide::{self, Decision, Outcome, Stored};
use vmm_protocol::message::{Event, Message, ObjectState, Reject, Request};
use vmm_protocol::replica::{Config, Notice, Replica, Resync, Status};
use vmm_protocol::topic::{Route, Topics};
use vmm_protocol::{value, Id, Limits};

fn cases(file: &str) -> Vec<Value> {
    let text = crate::vector_files::text(file);
    let doc: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{file}: {e}"));
    let cases = doc["cases"].as_array().unwrap_or_else(|| panic!("{file} has no cases")).clone();
    assert!(!cases.is_empty(), "{file} has no cases");
    cases
}

fn name(case: &Value) -> &str {
    case["name"].as_str().expect("every case has a name")
}

fn route_json(route: &Route) -> Value {
    match route {
        Route::Request { client, collection } => json!({"kind": "request", "client": client, "collection": collection}),
        Route::Failure { client, collection } => json!({"kind": "failure", "client": client, "collection": collection}),
        Route::Load { client, collection } => json!({"kind": "load", "client": client, "collection": collection}),
        Route::Event { collection, id } => json!({"kind": "event", "collection": collection, "id": id.to_value()}),
        Route::Reply { client } => json!({"kind": "reply", "client": client}),
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn topic_vectors() {
    for case in cases("topics.json") {
        let n = name(&case);
        match case["kind"].as_str().unwrap() {
            "topic" => {
                let topics = Topics::new(case["prefix"].as_str().unwrap()).unwrap();
                let topic = case["topic"].as_str().unwrap();
                match topics.parse(topic) {
                    Ok(route) => {
                        assert_eq!(route_json(&route), case["route"], "{n}");
                        let built = match &route {
                            Route::Request { client, collection } => topics.request(client, collection),
                            Route::Failure { client, collection } => topics.failure(client, collection),
                            Route::Load { client, collection } => topics.load(client, collection),
                            Route::Event { collection, id } => topics.event(collection, id),
                            Route::Reply { client } => topics.reply(client),
                        };
                        assert_eq!(built, topic, "{n}: building the route gives the topic back");
                    }
                    Err(e) => assert!(case.get("error").is_some(), "{n}: refused with {e}"),
                }
                if case.get("error").is_some() {
                    assert!(topics.parse(topic).is_err(), "{n}: accepted");
                }
            }
            "id_key" => {
                let id = Id::from_value(&case["id"]).unwrap_or_else(|e| panic!("{n}: {e}"));
                assert_eq!(id.key(), case["key"].as_str().unwrap(), "{n}");
                assert_eq!(Id::from_key(case["key"].as_str().unwrap()).unwrap(), id, "{n}");
            }
            "bad_key" => assert!(Id::from_key(case["key"].as_str().unwrap()).is_err(), "{n}: accepted"),
            "bad_id" => assert!(Id::from_value(&case["id"]).is_err(), "{n}: accepted"),
            "bad_prefix" => assert!(Topics::new(case["prefix"].as_str().unwrap()).is_err(), "{n}: accepted"),
            other => panic!("{n}: unknown kind {other}"),
        }
    }
}

fn payload_of(case: &Value) -> Vec<u8> {
    if let Some(raw) = case.get("raw") {
        raw.as_str().unwrap().as_bytes().to_vec()
    } else {
        let v = case.get("payload").or_else(|| case.get("invalid")).expect("payload, invalid or raw");
        serde_json::to_vec(v).unwrap()
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn validate_vectors() {
    for case in cases("validate.json") {
        let n = name(&case);
        let mut limits = Limits::default();
        if let Some(max) = case.get("max_payload") {
            limits.max_payload = max.as_u64().unwrap() as usize;
        }
        let payload = payload_of(&case);
        // Raw text is judged as a request unless it reads as another type of message.
        let raw_kind =
            case.get("raw").map(|_| serde_json::from_slice::<Value>(&payload).ok().map(|v| v["type"].clone()));
        let is_request = match raw_kind {
            Some(Some(Value::String(kind))) => kind == "request",
            Some(_) => true,
            None => case.get("payload").or_else(|| case.get("invalid")).is_some_and(|p| p["type"] == "request"),
        };
        let verdict = &case["verdict"];
        if is_request {
            match (Request::parse(&payload, &limits), verdict) {
                (Ok(request), Value::String(ok)) if ok == "ok" => {
                    if let Some(canonical) = case.get("canonical") {
                        assert_eq!(&request.to_value(), canonical, "{n}: canonical form");
                    }
                    assert!(case.get("payload").is_some(), "{n}: a valid request belongs under \"payload\"");
                }
                (Err(reject), Value::Object(expected)) => {
                    assert_eq!(reject.code.as_str(), expected["code"], "{n}: {}", reject.message);
                    if let Some(path) = expected.get("path") {
                        assert_eq!(reject.path.as_deref(), path.as_str(), "{n}: path ({})", reject.message);
                    }
                    if let Some(rid) = expected.get("rid") {
                        assert_eq!(reject.rid.as_deref(), rid.as_str(), "{n}: salvaged rid");
                    }
                }
                (got, want) => panic!("{n}: got {got:?}, want {want}"),
            }
        } else {
            match (Message::parse(&payload, &limits), verdict) {
                (Ok(m), Value::String(ok)) if ok == "ok" => {
                    if let Some(canonical) = case.get("canonical") {
                        assert_eq!(&m.to_value(), canonical, "{n}: canonical form");
                    }
                }
                (Err(v), Value::Object(expected)) => {
                    assert_eq!(v.code().as_str(), expected["code"], "{n}: {v}");
                    if let Some(path) = expected.get("path") {
                        assert_eq!(v.path(), path.as_str(), "{n}: path ({v})");
                    }
                }
                (got, want) => panic!("{n}: got {got:?}, want {want}"),
            }
        }
    }
}

fn event_of(v: &Value) -> Event {
    match Message::from_value(v.clone(), &Limits::default()) {
        Ok(Message::Event(e)) => e,
        other => panic!("not an event: {v} ({other:?})"),
    }
}

fn reject_of(v: &Value) -> Reject {
    match Message::from_value(v.clone(), &Limits::default()) {
        Ok(Message::Reject(r)) => r,
        other => panic!("not a reject: {v} ({other:?})"),
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn decide_vectors() {
    for case in cases("decide.json") {
        let n = name(&case);
        let limits = Limits::default();
        let request = Request::parse(&serde_json::to_vec(&case["request"]).unwrap(), &limits)
            .unwrap_or_else(|r| panic!("{n}: bad request in vector: {}", r.message));
        let doc = match &case["stored"]["doc"] {
            Value::Null => None,
            d => Some(value::canonicalize_document(d.clone(), &limits).unwrap()),
        };
        let stored = Stored { version: case["stored"]["version"].as_u64().unwrap(), doc };
        let prior = match case.get("prior") {
            None | Some(Value::Null) => None,
            Some(p) if p.get("applied").is_some() => Some(Outcome::Applied(event_of(&p["applied"]))),
            Some(p) => Some(Outcome::Rejected(reject_of(&p["rejected"]))),
        };
        let history: Vec<Event> =
            case.get("history").and_then(Value::as_array).map(|h| h.iter().map(event_of).collect()).unwrap_or_default();
        let now = case.get("now").and_then(Value::as_u64);
        let client = case["client"].as_str().unwrap();
        if let Some(needed) = case.get("history_needed") {
            let got = decide::history_needed(&request, stored.version).map(|r| json!([r.start(), r.end()]));
            assert_eq!(got.unwrap_or(Value::Null), *needed, "{n}: history_needed");
        }
        let decision = decide::decide(client, &request, prior.as_ref(), &stored, &history, now, &limits);
        let expect = &case["expect"];
        match decision {
            Decision::Apply { event, doc } => {
                let want = expect.get("apply").unwrap_or_else(|| panic!("{n}: applied, expected {expect}"));
                assert_eq!(event.to_value(), want["event"], "{n}: event");
                assert_eq!(doc.map_or(Value::Null, Value::Object), want["doc"], "{n}: stored document");
            }
            Decision::Reject(reject) => {
                let want = expect
                    .get("reject")
                    .unwrap_or_else(|| panic!("{n}: rejected ({}), expected {expect}", reject.message));
                assert_eq!(reject.code.as_str(), want["code"], "{n}: {}", reject.message);
                assert_eq!(reject.current.map_or(Value::Null, Value::from), want["current"], "{n}: current");
                if let Some(path) = want.get("path") {
                    assert_eq!(reject.path.as_deref(), path.as_str(), "{n}: path");
                }
                assert_eq!(reject.rid.as_deref(), Some(request.rid.as_str()), "{n}: the reject carries the rid");
            }
            Decision::Duplicate(outcome) => {
                let want = expect.get("duplicate").unwrap_or_else(|| panic!("{n}: duplicate, expected {expect}"));
                let got = match outcome {
                    Outcome::Applied(e) => e.to_value(),
                    Outcome::Rejected(r) => r.to_value(),
                };
                assert_eq!(&got, want, "{n}");
            }
        }
    }
}

/// The events among a bridge's effects.
fn published(effects: &[vmm_protocol::bridge::Effect]) -> impl Iterator<Item = &Event> {
    effects.iter().filter_map(|e| match e {
        vmm_protocol::bridge::Effect::Publish(p) => Some(&p.event),
        _ => None,
    })
}

/// The messages a bridge's effects send to `topic`, as JSON.
fn replies(effects: &[vmm_protocol::bridge::Effect], topic: &str) -> Vec<Value> {
    effects
        .iter()
        .filter_map(|e| match e {
            vmm_protocol::bridge::Effect::Reply { topic: t, payload } if t == topic => {
                Some(serde_json::from_slice(payload).unwrap())
            }
            _ => None,
        })
        .collect()
}

/// The same vectors, run through the bridge's real request handler over the in-memory storage:
/// the stored object, the history and the prior outcome are put into the storage, the request
/// arrives on its topic, and the effects must match the expected decision.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn decide_vectors_through_the_bridge_handler() {
    use vmm_protocol::bridge::{ready, Bridge, BridgeConfig, LoggedEvent, MemoryStorage, Storage};
    for case in cases("decide.json") {
        let n = name(&case);
        let limits = Limits::default();
        let storage = MemoryStorage::default();
        let request: Request = Request::parse(&serde_json::to_vec(&case["request"]).unwrap(), &limits).unwrap();
        let (collection, id) = (request.collection.clone(), request.id.clone());
        let doc = match &case["stored"]["doc"] {
            Value::Null => None,
            d => Some(value::canonicalize_document(d.clone(), &limits).unwrap()),
        };
        storage.put(&collection, &id, Stored { version: case["stored"]["version"].as_u64().unwrap(), doc });
        let mut logged: Vec<Event> =
            case.get("history").and_then(Value::as_array).map(|h| h.iter().map(event_of).collect()).unwrap_or_default();
        let client = case["client"].as_str().unwrap();
        match case.get("prior") {
            Some(p) if p.get("applied").is_some() => logged.push(event_of(&p["applied"])),
            Some(p) if p.get("rejected").is_some() => {
                assert_eq!(ready(storage.record_reject(client, &reject_of(&p["rejected"]))), Ok(None));
            }
            _ => {}
        }
        for e in logged {
            assert_eq!(ready(storage.record(&LoggedEvent::new(e, None))), Ok(vmm_protocol::bridge::Recorded::Won));
        }
        let bridge = Bridge::new(storage, BridgeConfig::default());
        let now = case.get("now").and_then(Value::as_u64).unwrap_or(0);
        let topic = Topics::default().request(client, &collection);
        let handled = ready(bridge.handle(now, &topic, &serde_json::to_vec(&case["request"]).unwrap()));
        assert!(handled.error.is_none(), "{n}: {:?}", handled.error);
        let expect = &case["expect"];
        let published: Vec<&Event> = published(&handled.effects).filter(|e| e.rid == request.rid).collect();
        let reply = replies(&handled.effects, &Topics::default().reply(client)).into_iter().next();
        if let Some(want) = expect.get("apply") {
            let [event] = published[..] else { panic!("{n}: expected one event, got {:?}", handled.effects) };
            let mut want_event = want["event"].clone();
            if case.get("now").is_none() {
                want_event["at"] = json!(0); // the handler always has a clock
            }
            assert_eq!(event.to_value(), want_event, "{n}: event");
            let stored = ready(bridge.storage().object(&collection, &id)).unwrap();
            assert_eq!(stored.doc.map_or(Value::Null, Value::Object), want["doc"], "{n}: stored document");
        } else if let Some(want) = expect.get("reject") {
            let reply = reply.unwrap_or_else(|| panic!("{n}: no reply"));
            assert_eq!(reply["type"], "reject", "{n}");
            assert_eq!(reply["code"], want["code"], "{n}: {}", reply["message"]);
            assert_eq!(reply.get("current").cloned().unwrap_or(Value::Null), want["current"], "{n}: current");
            if let Some(path) = want.get("path") {
                assert_eq!(reply.get("path").cloned().unwrap_or(Value::Null), *path, "{n}: path");
            }
            assert!(published.is_empty(), "{n}: nothing applied");
        } else {
            let want = &expect["duplicate"];
            assert_eq!(reply.as_ref(), Some(want), "{n}: the recorded outcome again");
            assert!(published.is_empty(), "{n}: not published again");
        }
    }
}

/// Whether the message `got` matches the pattern `want`: every field of `want` with an equal
/// value, `is` standing for `type` (`message` is never compared).
fn has_fields(got: &Value, want: &Value) -> bool {
    want.as_object().unwrap().iter().all(|(k, v)| match k.as_str() {
        "message" => true,
        "is" => got.get("type") == Some(v),
        _ => got.get(k) == Some(v),
    })
}

/// `bridge.json`: sequences of messages through the bridge role over the in-memory storage.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn bridge_vectors() {
    use vmm_protocol::bridge::{ready, Bridge, BridgeConfig, MemoryStorage, Storage};
    for case in cases("bridge.json") {
        let n = name(&case);
        let limits = Limits::default();
        let storage = MemoryStorage::default();
        for o in case["storage"]["objects"].as_array().unwrap() {
            let id = Id::from_value(&o["id"]).unwrap();
            let doc = (!o["doc"].is_null()).then(|| value::canonicalize_document(o["doc"].clone(), &limits).unwrap());
            storage.put(
                o["collection"].as_str().unwrap(),
                &id,
                Stored { version: o["version"].as_u64().unwrap(), doc },
            );
        }
        if let Some(field) = case["storage"].get("refuse_field").and_then(Value::as_str) {
            storage.refuse_field(Some(field), true);
        }
        let bridge = Bridge::new(storage, BridgeConfig::default());
        for (i, step) in case["steps"].as_array().unwrap().iter().enumerate() {
            let payload = match (step.get("payload"), step.get("invalid"), step.get("payload_text")) {
                (Some(p), _, _) | (_, Some(p), _) => serde_json::to_vec(p).unwrap(),
                (_, _, Some(t)) => t.as_str().unwrap().as_bytes().to_vec(),
                _ => panic!("{n}: step {i} has no payload"),
            };
            let handled =
                ready(bridge.handle(step["now"].as_u64().unwrap(), step["topic"].as_str().unwrap(), &payload));
            let reply_topic = step["reply_topic"].as_str().unwrap();
            let replies = replies(&handled.effects, reply_topic);
            let want = step["expect"]["replies"].as_array().unwrap();
            assert_eq!(replies.len(), want.len(), "{n}, step {i}: replies {replies:?}");
            for (got, want) in replies.iter().zip(want) {
                assert!(has_fields(got, want), "{n}, step {i}: got {got}, want {want}");
            }
            let events: Vec<&Event> = published(&handled.effects).collect();
            let want = step["expect"]["events"].as_array().unwrap();
            for w in want {
                assert!(
                    events.iter().any(|e| has_fields(&e.to_value(), w)),
                    "{n}, step {i}: no event like {w} in {events:?}"
                );
            }
            if want.is_empty() {
                // Nothing was applied; only an event the storage held may go out again.
                let stored = |e: &Event| ready(bridge.storage().object(&e.collection, &e.id)).unwrap().version;
                assert_ne!(handled.outcome, "applied", "{n}, step {i}");
                assert!(events.iter().all(|e| e.version <= stored(e)), "{n}, step {i}: unexpected events {events:?}");
            }
        }
    }
}

/// Variables of a replica script.
#[derive(Default)]
struct Vars(HashMap<String, Value>);

impl Vars {
    fn matches(&mut self, expected: &Value, actual: &Value) -> bool {
        match (expected, actual) {
            (Value::String(s), _) if s.starts_with('~') => match self.0.get(s) {
                Some(bound) => bound == actual,
                None => {
                    self.0.insert(s.clone(), actual.clone());
                    true
                }
            },
            (Value::Object(e), Value::Object(a)) => {
                e.len() == a.len() && e.iter().all(|(k, v)| a.get(k).is_some_and(|av| self.matches(v, av)))
            }
            (Value::Array(e), Value::Array(a)) => {
                e.len() == a.len() && e.iter().zip(a).all(|(ev, av)| self.matches(ev, av))
            }
            _ => expected == actual,
        }
    }

    fn substitute(&self, v: &Value) -> Value {
        match v {
            Value::String(s) if s.starts_with('~') => {
                self.0.get(s).cloned().unwrap_or_else(|| panic!("unbound variable {s}"))
            }
            Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), self.substitute(v))).collect()),
            Value::Array(a) => Value::Array(a.iter().map(|v| self.substitute(v)).collect()),
            other => other.clone(),
        }
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn replica_vectors() {
    for case in cases("replica.json") {
        let n = name(&case);
        let mut config =
            Config::new(case["client"].as_str().unwrap(), case["id_prefix"].as_str().unwrap_or("p")).unwrap();
        config.resync = match case.get("resync").and_then(Value::as_str) {
            None | Some("documents") => Resync::Documents,
            Some("versions") => Resync::Versions,
            Some(other) => panic!("{n}: unknown resync {other}"),
        };
        let mut replica = Replica::new(config);
        let mut vars = Vars::default();
        let mut now = 0;
        for (i, step) in case["steps"].as_array().unwrap().iter().enumerate() {
            replica_step(&mut replica, &mut vars, &mut now, step, &format!("{n}, step {i}"));
        }
    }
}

/// Runs one step of a replica script (the step kinds are listed in replica.json's description).
fn replica_step(replica: &mut Replica, vars: &mut Vars, now: &mut u64, step: &Value, at: &str) {
    if let Some(t) = step.get("now").and_then(Value::as_u64) {
        *now = t;
    }
    if let Some(c) = step.get("watch") {
        replica.watch_collection(*now, c.as_str().unwrap()).unwrap();
    } else if let Some(o) = step.get("watch_object") {
        replica.watch_object(*now, o["collection"].as_str().unwrap(), &Id::from_value(&o["id"]).unwrap()).unwrap();
    } else if let Some(expected) = step.get("follow") {
        let got: Vec<Value> = std::iter::from_fn(|| replica.poll_follow())
            .map(|(collection, id)| json!({"collection": collection, "id": id.to_value()}))
            .collect();
        assert_eq!(&Value::Array(got), expected, "{at}: follow");
    } else if let Some(o) = step.get("cancel") {
        let rids = replica.cancel(o["collection"].as_str().unwrap(), &Id::from_value(&o["id"]).unwrap());
        assert_eq!(rids.len() as u64, step["cancelled"].as_u64().unwrap(), "{at}: cancelled");
    } else if let Some(r) = step.get("restore") {
        let states: Vec<ObjectState> = r["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let id = Id::from_value(&s["id"]).unwrap();
                let doc = s["doc"].as_object().cloned();
                ObjectState { id, version: s["version"].as_u64().unwrap(), doc }
            })
            .collect();
        let taken = replica.restore(r["collection"].as_str().unwrap(), states);
        assert_eq!(taken as u64, step["taken"].as_u64().unwrap(), "{at}: taken");
    } else if step.get("bridge_up").is_some() {
        replica.bridge_up(*now);
    } else if let Some(c) = step.get("unwatch") {
        let kept: Vec<Value> =
            replica.unwatch_collection(*now, c.as_str().unwrap()).iter().map(|id| id.to_value()).collect();
        assert_eq!(&Value::Array(kept), &step["kept"], "{at}: kept");
    } else if let Some(l) = step.get("loaded") {
        assert_eq!(replica.is_loaded(l["collection"].as_str().unwrap()), l["loaded"], "{at}: loaded");
    } else if step.get("connect").is_some() {
        replica.connected(*now);
    } else if step.get("disconnect").is_some() {
        replica.disconnected();
    } else if let Some(t) = step.get("tick") {
        *now = t.as_u64().unwrap();
        replica.handle_timeout(*now);
    } else if let Some(r) = step.get("request") {
        let result = replica.request(*now, r["collection"].as_str().unwrap(), vars.substitute(&r["op"]));
        match (result, step.get("error")) {
            (Ok(rid), None) => {
                let var = step["bind"].as_str().unwrap_or_else(|| panic!("{at}: a request step binds its rid"));
                assert!(vars.matches(&json!(var), &json!(rid)), "{at}");
            }
            (Err(e), Some(code)) => assert_eq!(e.code().as_str(), code, "{at}: {e}"),
            (got, want) => panic!("{at}: got {got:?}, want error {want:?}"),
        }
    } else if let Some(r) = step.get("receive") {
        let payload = serde_json::to_vec(&vars.substitute(&r["message"])).unwrap();
        let result = replica.handle(*now, r["topic"].as_str().unwrap(), &payload);
        match step.get("error") {
            None => result.unwrap_or_else(|e| panic!("{at}: {e}")),
            Some(code) => assert_eq!(result.unwrap_err().code().as_str(), code, "{at}"),
        }
    } else if let Some(expected) = step.get("sent") {
        let sent: Vec<Value> = std::iter::from_fn(|| replica.poll_transmit())
            .map(|t| json!({"topic": t.topic, "message": serde_json::from_slice::<Value>(&t.payload).unwrap()}))
            .collect();
        assert!(vars.matches(expected, &Value::Array(sent.clone())), "{at}: sent {}", Value::Array(sent));
    } else if let Some(expected) = step.get("outcomes") {
        let got: Vec<Value> = std::iter::from_fn(|| replica.poll_notice())
            .filter_map(|notice| match notice {
                Notice::Confirmed { rid, event } => Some(json!({"confirmed": rid, "version": event.version})),
                Notice::RolledBack { rid, code, current, .. } => {
                    Some(json!({"rolled_back": rid, "code": code.as_str(), "current": current}))
                }
                _ => None,
            })
            .collect();
        assert!(vars.matches(expected, &Value::Array(got.clone())), "{at}: outcomes {}", Value::Array(got));
    } else if let Some(v) = step.get("view") {
        let id = Id::from_value(&v["id"]).unwrap();
        let got = replica.get(v["collection"].as_str().unwrap(), &id).map_or(Value::Null, Value::Object);
        assert_eq!(got, v["doc"], "{at}: view");
    } else if let Some(m) = step.get("meta") {
        let id = Id::from_value(&m["id"]).unwrap();
        let meta = replica.meta(m["collection"].as_str().unwrap(), &id);
        let got = meta.map_or(Value::Null, |m| json!({"version": m.version, "pending": m.pending}));
        assert_eq!(got, json!({"version": m["version"], "pending": m["pending"]}), "{at}: meta");
    } else if let Some(s) = step.get("status") {
        let want = match s.as_str().unwrap() {
            "offline" => Status::Offline,
            "resyncing" => Status::Resyncing,
            "online" => Status::Online,
            other => panic!("{at}: unknown status {other}"),
        };
        assert_eq!(replica.status(), want, "{at}");
    } else if !step.as_object().is_some_and(|o| o.len() == 1 && o.contains_key("now")) {
        panic!("{at}: unknown step {step}");
    }
}
