#!/usr/bin/env python3
"""Writes ../replica.json. The scripts are easier to read and keep right as Python data; the JSON
file is what implementations run. Regenerate with `python3 protocol/vectors/src/replica.py`."""
import json, os

C = "tasks"
REPLY = "vmm/v1/reply/alice"
LOAD = "vmm/v1/load/alice/tasks"
REQ = "vmm/v1/req/alice/tasks"
FAIL = "vmm/v1/fail/alice/tasks"
def evt_topic(key): return f"vmm/v1/evt/tasks/{key}"

def event(prev, op, client="bob", rid="b1", id="t1", **change):
    e = {"type": "event", "collection": C, "id": id, "prev": prev, "version": prev + 1, "client": client, "rid": rid, "op": op}
    e.update(change)
    return e

def snapshot(lid, objects, next=None):
    return {"type": "snapshot", "lid": lid, "collection": C, "objects": objects, "next": next}

def state(id, version, doc):
    return {"id": id, "version": version, "doc": doc}

def load(lid, **extra):
    m = {"type": "load", "lid": lid, "collection": C}
    m.update(extra)
    return m

def request(rid, base, op, id="t1", **change):
    m = {"type": "request", "rid": rid, "collection": C, "id": id, "base": base, "op": op}
    m.update(change)
    return m

def loaded(objects):
    """Watch `tasks`, connect, and answer the load with one page."""
    return [
        {"watch": C, "now": 0},
        {"connect": True},
        {"status": "resyncing"},
        {"sent": [{"topic": LOAD, "message": load("~l1")}]},
        {"receive": {"topic": REPLY, "message": snapshot("~l1", objects)}},
        {"status": "online"},
    ]

T1 = lambda **f: {"_id": "t1", **f}

cases = []
def case(name, steps, **extra):
    cases.append({"name": name, "client": "alice", **extra, "steps": steps})

case("an optimistic insert is shown at once and confirmed by its event", loaded([]) + [
    {"request": {"collection": C, "op": {"op": "insert", "id": "t1", "doc": {"title": "milk"}}}, "bind": "~r1"},
    {"view": {"collection": C, "id": "t1", "doc": T1(title="milk")}},
    {"meta": {"collection": C, "id": "t1", "version": 0, "pending": 1}},
    {"sent": [{"topic": REQ, "message": request("~r1", 0, "insert", doc=T1(title="milk"))}]},
    {"receive": {"topic": evt_topic("s:t1"), "message": event(0, "insert", client="alice", rid="~r1", doc=T1(title="milk"))}},
    {"outcomes": [{"confirmed": "~r1", "version": 1}]},
    {"meta": {"collection": C, "id": "t1", "version": 1, "pending": 0}},
    {"view": {"collection": C, "id": "t1", "doc": T1(title="milk")}},
])

case("a conflict rolls the change back, aborts the change waiting behind it and asks for what it missed", loaded([state("t1", 2, T1(title="milk"))]) + [
    {"request": {"collection": C, "op": {"op": "update", "id": "t1", "update": {"$set": {"title": "tea"}}}}, "bind": "~r1"},
    {"request": {"collection": C, "op": {"op": "update", "id": "t1", "update": {"$set": {"done": True}}}}, "bind": "~r2"},
    {"sent": [{"topic": REQ, "message": request("~r1", 2, "update", update={"$set": {"title": "tea"}})}]},
    {"view": {"collection": C, "id": "t1", "doc": T1(title="tea", done=True)}},
    {"receive": {"topic": REPLY, "message": {"type": "reject", "rid": "~r1", "collection": C, "id": "t1", "code": "conflict", "message": "base version 2 is older than the stored version 3", "current": 3}}},
    {"outcomes": [{"rolled_back": "~r1", "code": "conflict", "current": 3}, {"rolled_back": "~r2", "code": "aborted", "current": None}]},
    {"view": {"collection": C, "id": "t1", "doc": T1(title="milk")}},
    {"sent": [{"topic": FAIL, "message": {"type": "failure", "collection": C, "id": "t1", "version": 2}}]},
    {"receive": {"topic": REPLY, "message": {"type": "replay", "collection": C, "id": "t1", "from": 2, "events": [event(2, "update", update={"$set": {"title": "coffee"}})]}}},
    {"view": {"collection": C, "id": "t1", "doc": T1(title="coffee")}},
    {"meta": {"collection": C, "id": "t1", "version": 3, "pending": 0}},
])

case("a change waiting behind another is sent once that one is confirmed, based on its event's version", loaded([state("t1", 1, T1(n=0))]) + [
    {"request": {"collection": C, "op": {"op": "update", "id": "t1", "update": {"$inc": {"n": 1}}}}, "bind": "~r1"},
    {"request": {"collection": C, "op": {"op": "update", "id": "t1", "update": {"$inc": {"n": 1}}}}, "bind": "~r2"},
    {"sent": [{"topic": REQ, "message": request("~r1", 1, "update", update={"$inc": {"n": 1}})}]},
    {"view": {"collection": C, "id": "t1", "doc": T1(n=2)}},
    {"receive": {"topic": evt_topic("s:t1"), "message": event(1, "update", client="alice", rid="~r1", update={"$inc": {"n": 1}})}},
    {"outcomes": [{"confirmed": "~r1", "version": 2}]},
    {"sent": [{"topic": REQ, "message": request("~r2", 2, "update", update={"$inc": {"n": 1}})}]},
    {"view": {"collection": C, "id": "t1", "doc": T1(n=2)}},
    {"meta": {"collection": C, "id": "t1", "version": 2, "pending": 1}},
])

case("a duplicate and an old event are ignored", loaded([state("t1", 2, T1(n=5))]) + [
    {"receive": {"topic": evt_topic("s:t1"), "message": event(1, "update", update={"$set": {"n": 99}})}},
    {"view": {"collection": C, "id": "t1", "doc": T1(n=5)}},
    {"receive": {"topic": evt_topic("s:t1"), "message": event(2, "update", update={"$inc": {"n": 1}})}},
    {"receive": {"topic": evt_topic("s:t1"), "message": event(2, "update", update={"$inc": {"n": 1}})}},
    {"view": {"collection": C, "id": "t1", "doc": T1(n=6)}},
    {"meta": {"collection": C, "id": "t1", "version": 3, "pending": 0}},
    {"sent": []},
])

case("an early event is kept, one failure is sent, and the replay fills the gap", loaded([state("t1", 1, T1(n=0))]) + [
    {"receive": {"topic": evt_topic("s:t1"), "message": event(2, "update", update={"$set": {"n": 3}})}},
    {"view": {"collection": C, "id": "t1", "doc": T1(n=0)}},
    {"sent": [{"topic": FAIL, "message": {"type": "failure", "collection": C, "id": "t1", "version": 1}}]},
    {"receive": {"topic": evt_topic("s:t1"), "message": event(3, "update", update={"$set": {"n": 4}})}},
    {"sent": []},
    {"receive": {"topic": REPLY, "message": {"type": "replay", "collection": C, "id": "t1", "from": 1, "events": [event(1, "update", update={"$set": {"n": 2}})]}}},
    {"view": {"collection": C, "id": "t1", "doc": T1(n=4)}},
    {"meta": {"collection": C, "id": "t1", "version": 4, "pending": 0}},
    {"sent": []},
])

case("a failure is sent again while the gap stays open", loaded([state("t1", 1, T1(n=0))]) + [
    {"receive": {"topic": evt_topic("s:t1"), "message": event(2, "update", update={"$set": {"n": 3}})}},
    {"sent": [{"topic": FAIL, "message": {"type": "failure", "collection": C, "id": "t1", "version": 1}}]},
    {"tick": 4999},
    {"sent": []},
    {"tick": 5000},
    {"sent": [{"topic": FAIL, "message": {"type": "failure", "collection": C, "id": "t1", "version": 1}}]},
])

case("a replay snapshot newer than the copy replaces it, then kept events follow", loaded([state("t1", 1, T1(n=0))]) + [
    {"receive": {"topic": evt_topic("s:t1"), "message": event(6, "update", update={"$set": {"n": 7}})}},
    {"sent": [{"topic": FAIL, "message": {"type": "failure", "collection": C, "id": "t1", "version": 1}}]},
    {"receive": {"topic": REPLY, "message": {"type": "replay", "collection": C, "id": "t1", "from": 1, "snapshot": state("t1", 6, T1(n=6))}}},
    {"view": {"collection": C, "id": "t1", "doc": T1(n=7)}},
    {"meta": {"collection": C, "id": "t1", "version": 7, "pending": 0}},
])

case("a delete event leaves the object absent", loaded([state("t1", 1, T1(n=0))]) + [
    {"receive": {"topic": evt_topic("s:t1"), "message": event(1, "delete")}},
    {"view": {"collection": C, "id": "t1", "doc": None}},
    {"receive": {"topic": evt_topic("s:t1"), "message": event(1, "update", update={"$set": {"n": 1}})}},
    {"view": {"collection": C, "id": "t1", "doc": None}},
    {"receive": {"topic": evt_topic("s:t1"), "message": event(2, "insert", doc=T1(n=9))}},
    {"view": {"collection": C, "id": "t1", "doc": T1(n=9)}},
])

case("changes made offline wait for the resync and are sent after it", [
    {"watch": C, "now": 0},
    {"status": "offline"},
    {"request": {"collection": C, "op": {"op": "insert", "id": "t1", "doc": {"n": 1}}}, "bind": "~r1"},
    {"sent": []},
    {"view": {"collection": C, "id": "t1", "doc": T1(n=1)}},
    {"connect": True},
    {"sent": [{"topic": LOAD, "message": load("~l1")}]},
    {"status": "resyncing"},
    {"receive": {"topic": REPLY, "message": snapshot("~l1", [])}},
    {"status": "online"},
    {"sent": [{"topic": REQ, "message": request("~r1", 0, "insert", doc=T1(n=1))}]},
])

case("a request without an outcome is published again with the same rid, never given up, until the application cancels it", loaded([]) + [
    {"now": 100},
    {"request": {"collection": C, "op": {"op": "insert", "id": "t1", "doc": {"n": 1}}}, "bind": "~r1"},
    {"sent": [{"topic": REQ, "message": request("~r1", 0, "insert", doc=T1(n=1))}]},
    {"tick": 10099},
    {"sent": []},
    {"tick": 10100},
    {"sent": [{"topic": REQ, "message": request("~r1", 0, "insert", doc=T1(n=1))}]},
    {"tick": 30100},
    {"sent": [{"topic": REQ, "message": request("~r1", 0, "insert", doc=T1(n=1))}]},
    {"tick": 70100},
    {"sent": [{"topic": REQ, "message": request("~r1", 0, "insert", doc=T1(n=1))}]},
    {"tick": 130100},
    {"sent": [{"topic": REQ, "message": request("~r1", 0, "insert", doc=T1(n=1))}]},
    {"tick": 190100},
    {"sent": [{"topic": REQ, "message": request("~r1", 0, "insert", doc=T1(n=1))}]},
    {"outcomes": []},
    {"meta": {"collection": C, "id": "t1", "version": 0, "pending": 1}},
    {"request": {"collection": C, "op": {"op": "update", "id": "t1", "update": {"$set": {"n": 2}}}}, "bind": "~r2"},
    {"cancel": {"collection": C, "id": "t1"}, "cancelled": 2},
    {"outcomes": [{"rolled_back": "~r1", "code": "cancelled", "current": None}, {"rolled_back": "~r2", "code": "cancelled", "current": None}]},
    {"view": {"collection": C, "id": "t1", "doc": None}},
    {"tick": 400000},
    {"sent": []},
    {"receive": {"topic": evt_topic("s:t1"), "message": event(0, "insert", client="alice", rid="~r1", doc=T1(n=1))}},
    {"outcomes": []},
    {"view": {"collection": C, "id": "t1", "doc": T1(n=1)}},
])

case("a bridge coming up gets every request in flight and every load page at once, and the back-off starts again", [
    {"watch": C, "now": 0},
    {"connect": True},
    {"sent": [{"topic": LOAD, "message": load("~l1")}]},
    {"tick": 10000},
    {"sent": [{"topic": LOAD, "message": load("~l1")}]},
    {"now": 12000, "bridge_up": True},
    {"sent": [{"topic": LOAD, "message": load("~l1")}]},
    {"receive": {"topic": REPLY, "message": snapshot("~l1", [])}},
    {"loaded": {"collection": C, "loaded": True}},
    {"request": {"collection": C, "op": {"op": "insert", "id": "t1", "doc": {}}}, "bind": "~r1"},
    {"sent": [{"topic": REQ, "message": request("~r1", 0, "insert", doc=T1())}]},
    {"tick": 22000},
    {"sent": [{"topic": REQ, "message": request("~r1", 0, "insert", doc=T1())}]},
    {"now": 25000, "bridge_up": True},
    {"sent": [{"topic": REQ, "message": request("~r1", 0, "insert", doc=T1())}]},
    {"tick": 34999},
    {"sent": []},
    {"tick": 35000},
    {"sent": [{"topic": REQ, "message": request("~r1", 0, "insert", doc=T1())}]},
])

case("a collection no longer followed is forgotten, except the objects with changes pending, which are followed one by one", loaded([state("t1", 1, T1(n=1)), state("t2", 1, {"_id": "t2"})]) + [
    {"loaded": {"collection": C, "loaded": True}},
    {"request": {"collection": C, "op": {"op": "update", "id": "t1", "update": {"$set": {"n": 2}}}}, "bind": "~r1"},
    {"sent": [{"topic": REQ, "message": request("~r1", 1, "update", update={"$set": {"n": 2}})}]},
    {"unwatch": C, "kept": ["t1"]},
    {"loaded": {"collection": C, "loaded": False}},
    {"view": {"collection": C, "id": "t2", "doc": None}},
    {"view": {"collection": C, "id": "t1", "doc": T1(n=2)}},
    {"receive": {"topic": evt_topic("s:t1"), "message": event(1, "update", client="alice", rid="~r1", update={"$set": {"n": 2}})}},
    {"outcomes": [{"confirmed": "~r1", "version": 2}]},
    {"receive": {"topic": evt_topic("s:t2"), "message": event(1, "update", id="t2", update={"$set": {"n": 5}})}},
    {"view": {"collection": C, "id": "t2", "doc": None}},
    {"sent": []},
])

case("a collection loads page by page, and an object missing from a complete reload was deleted", [
    {"watch": C, "now": 0},
    {"connect": True},
    {"sent": [{"topic": LOAD, "message": load("~l1")}]},
    {"receive": {"topic": REPLY, "message": snapshot("~l1", [state("t1", 1, T1(n=1))], next="s:t1")}},
    {"status": "resyncing"},
    {"sent": [{"topic": LOAD, "message": load("~l2", after="s:t1")}]},
    {"receive": {"topic": REPLY, "message": snapshot("~l2", [state("t2", 3, {"_id": "t2", "n": 2})])}},
    {"status": "online"},
    {"view": {"collection": C, "id": "t2", "doc": {"_id": "t2", "n": 2}}},
    {"disconnect": True},
    {"status": "offline"},
    {"connect": True},
    {"sent": [{"topic": LOAD, "message": load("~l3")}]},
    {"receive": {"topic": REPLY, "message": snapshot("~l3", [state("t1", 1, T1(n=1))])}},
    {"view": {"collection": C, "id": "t2", "doc": None}},
    {"view": {"collection": C, "id": "t1", "doc": T1(n=1)}},
])

case("a load page without an answer is asked for again with the same lid", [
    {"watch": C, "now": 0},
    {"connect": True},
    {"sent": [{"topic": LOAD, "message": load("~l1")}]},
    {"tick": 10000},
    {"sent": [{"topic": LOAD, "message": load("~l1")}]},
])

case("an internal reject keeps the request in flight and it is sent again", loaded([]) + [
    {"request": {"collection": C, "op": {"op": "insert", "id": "t1", "doc": {"n": 1}}}, "bind": "~r1"},
    {"sent": [{"topic": REQ, "message": request("~r1", 0, "insert", doc=T1(n=1))}]},
    {"now": 50},
    {"receive": {"topic": REPLY, "message": {"type": "reject", "rid": "~r1", "collection": C, "id": "t1", "code": "internal", "message": "storage unavailable"}}},
    {"outcomes": []},
    {"meta": {"collection": C, "id": "t1", "version": 0, "pending": 1}},
    {"tick": 10050},
    {"sent": [{"topic": REQ, "message": request("~r1", 0, "insert", doc=T1(n=1))}]},
])

case("after a reconnect, a change already in the snapshot is confirmed by the duplicate answer", loaded([state("t1", 1, T1(n=0))]) + [
    {"request": {"collection": C, "op": {"op": "update", "id": "t1", "update": {"$set": {"n": 1}}}}, "bind": "~r1"},
    {"sent": [{"topic": REQ, "message": request("~r1", 1, "update", update={"$set": {"n": 1}})}]},
    {"disconnect": True},
    {"connect": True},
    {"sent": [{"topic": LOAD, "message": load("~l2")}]},
    {"receive": {"topic": REPLY, "message": snapshot("~l2", [state("t1", 2, T1(n=1))])}},
    {"sent": [{"topic": REQ, "message": request("~r1", 1, "update", update={"$set": {"n": 1}})}]},
    {"receive": {"topic": REPLY, "message": event(1, "update", client="alice", rid="~r1", update={"$set": {"n": 1}})}},
    {"outcomes": [{"confirmed": "~r1", "version": 2}]},
    {"meta": {"collection": C, "id": "t1", "version": 2, "pending": 0}},
    {"view": {"collection": C, "id": "t1", "doc": T1(n=1)}},
])

case("events that arrive during a load are judged after it", [
    {"watch": C, "now": 0},
    {"connect": True},
    {"sent": [{"topic": LOAD, "message": load("~l1")}]},
    {"receive": {"topic": evt_topic("s:t1"), "message": event(4, "update", update={"$inc": {"n": 1}})}},
    {"sent": []},
    {"receive": {"topic": REPLY, "message": snapshot("~l1", [state("t1", 4, T1(n=4))])}},
    {"view": {"collection": C, "id": "t1", "doc": T1(n=5)}},
    {"sent": []},
])

case("changes the view makes impossible are refused at once and nothing is sent", loaded([state("t1", 1, T1(n="text"))]) + [
    {"request": {"collection": C, "op": {"op": "update", "id": "t9", "update": {"$set": {"a": 1}}}}, "error": "not_found"},
    {"request": {"collection": C, "op": {"op": "insert", "id": "t1", "doc": {"a": 1}}}, "error": "conflict"},
    {"request": {"collection": C, "op": {"op": "update", "id": "t1", "update": {"$inc": {"n": 1}}}}, "error": "invalid_update"},
    {"request": {"collection": C, "op": {"op": "update", "id": "t1", "update": {"$where": "1"}}}, "error": "invalid_update"},
    {"request": {"collection": C, "op": {"op": "insert", "id": "t2", "doc": {"$bad": 1}}}, "error": "invalid_document"},
    {"sent": []},
    {"meta": {"collection": C, "id": "t1", "version": 1, "pending": 0}},
])

case("a message that does not belong on its topic is refused and changes nothing", loaded([state("t1", 1, T1(n=0))]) + [
    {"receive": {"topic": REPLY, "message": request("x1", 1, "delete")}, "error": "malformed"},
    {"receive": {"topic": "vmm/v1/reply/bob", "message": event(1, "delete")}, "error": "malformed"},
    {"receive": {"topic": evt_topic("s:t1"), "message": {"type": "event", "collection": C}}, "error": "malformed", "invalid": True},
    {"view": {"collection": C, "id": "t1", "doc": T1(n=0)}},
])

N = "notes"
case("a change of an object the replica does not follow waits for its event subscription, then goes out", loaded([]) + [
    {"request": {"collection": N, "op": {"op": "insert", "id": "n1", "doc": {"text": "hi"}}}, "bind": "~r1"},
    {"view": {"collection": N, "id": "n1", "doc": {"_id": "n1", "text": "hi"}}},
    {"follow": [{"collection": N, "id": "n1"}]},
    {"sent": []},
    {"watch_object": {"collection": N, "id": "n1"}},
    {"sent": [
        {"topic": "vmm/v1/load/alice/notes", "message": {"type": "load", "lid": "~l2", "collection": N, "ids": ["n1"]}},
        {"topic": "vmm/v1/req/alice/notes", "message": {"type": "request", "rid": "~r1", "collection": N, "id": "n1", "base": 0, "op": "insert", "doc": {"_id": "n1", "text": "hi"}}},
    ]},
    {"receive": {"topic": "vmm/v1/evt/notes/s:n1", "message": {"type": "event", "collection": N, "id": "n1", "prev": 0, "version": 1, "client": "alice", "rid": "~r1", "op": "insert", "doc": {"_id": "n1", "text": "hi"}}}},
    {"outcomes": [{"confirmed": "~r1", "version": 1}]},
    {"request": {"collection": C, "op": {"op": "insert", "id": "t1", "doc": {}}}, "bind": "~r2"},
    {"follow": []},
    {"sent": [{"topic": REQ, "message": request("~r2", 0, "insert", doc=T1())}]},
])

case("an event with the rid of a pending change but another op confirms nothing; the change's rid_reused reject rolls it back", loaded([state("t1", 1, T1(n=0))]) + [
    {"request": {"collection": C, "op": {"op": "update", "id": "t1", "update": {"$set": {"n": 1}}}}, "bind": "~r1"},
    {"sent": [{"topic": REQ, "message": request("~r1", 1, "update", update={"$set": {"n": 1}})}]},
    {"receive": {"topic": evt_topic("s:t1"), "message": event(1, "delete", client="alice", rid="~r1")}},
    {"outcomes": []},
    {"meta": {"collection": C, "id": "t1", "version": 2, "pending": 1}},
    {"receive": {"topic": REPLY, "message": {"type": "reject", "rid": "~r1", "collection": C, "id": "t1", "code": "rid_reused", "message": "rid used before"}}},
    {"outcomes": [{"rolled_back": "~r1", "code": "rid_reused", "current": None}]},
    {"meta": {"collection": C, "id": "t1", "version": 2, "pending": 0}},
    {"view": {"collection": C, "id": "t1", "doc": None}},
])

case("an ids load whose states take several pages asks for each next page with the same ids", [
    {"now": 0},
    {"watch_object": {"collection": N, "id": "n1"}},
    {"watch_object": {"collection": N, "id": "n2"}},
    {"connect": True},
    {"sent": [{"topic": "vmm/v1/load/alice/notes", "message": {"type": "load", "lid": "~l1", "collection": N, "ids": ["n1", "n2"]}}]},
    {"receive": {"topic": REPLY, "message": {"type": "snapshot", "lid": "~l1", "collection": N, "objects": [state("n1", 3, {"_id": "n1"})], "next": "i:1"}}},
    {"status": "resyncing"},
    {"sent": [{"topic": "vmm/v1/load/alice/notes", "message": {"type": "load", "lid": "~l2", "collection": N, "ids": ["n1", "n2"], "after": "i:1"}}]},
    {"receive": {"topic": REPLY, "message": {"type": "snapshot", "lid": "~l2", "collection": N, "objects": [state("n2", 5, {"_id": "n2"})], "next": None}}},
    {"status": "online"},
    {"meta": {"collection": N, "id": "n1", "version": 3, "pending": 0}},
    {"meta": {"collection": N, "id": "n2", "version": 5, "pending": 0}},
])

def versions_page(lid, versions, next=None):
    return {"type": "snapshot", "lid": lid, "collection": C, "versions": [{"id": i, "version": v} for i, v in versions], "next": next}

case("a replica restored from a kept copy resyncs by versions (§12.4): it fetches only the objects listed newer, and drops what no page listed", [
    {"restore": {"collection": C, "objects": [state("t1", 2, T1(n=2)), state("t2", 1, {"_id": "t2", "n": 1}), state("t3", 4, {"_id": "t3", "n": 4})]}, "taken": 3},
    {"watch": C, "now": 0},
    {"connect": True},
    {"status": "resyncing"},
    {"sent": [{"topic": LOAD, "message": load("~l1", versions=True)}]},
    # t1 is newer than the copy, t2 the same, t3 is gone, t4 is new; the listing goes on after it.
    {"receive": {"topic": REPLY, "message": versions_page("~l1", [("t1", 3), ("t2", 1)], next="s:t2")}},
    {"sent": [{"topic": LOAD, "message": load("~l2", ids=["t1"])}]},
    {"receive": {"topic": REPLY, "message": snapshot("~l2", [state("t1", 3, T1(n=3))])}},
    {"sent": [{"topic": LOAD, "message": load("~l3", versions=True, after="s:t2")}]},
    {"receive": {"topic": REPLY, "message": versions_page("~l3", [("t4", 1)])}},
    {"sent": [{"topic": LOAD, "message": load("~l4", ids=["t4"])}]},
    {"status": "resyncing"},
    {"receive": {"topic": REPLY, "message": snapshot("~l4", [state("t4", 1, {"_id": "t4", "n": 0})])}},
    {"status": "online"},
    {"view": {"collection": C, "id": "t1", "doc": T1(n=3)}},
    {"view": {"collection": C, "id": "t2", "doc": {"_id": "t2", "n": 1}}},
    {"view": {"collection": C, "id": "t3", "doc": None}},
    {"view": {"collection": C, "id": "t4", "doc": {"_id": "t4", "n": 0}}},
    {"meta": {"collection": C, "id": "t1", "version": 3, "pending": 0}},
], resync="versions")

case("restore takes a kept state only if it is newer than what the replica holds", loaded([state("t1", 5, T1(n=5))]) + [
    {"restore": {"collection": C, "objects": [state("t1", 4, T1(n=4)), state("t2", 2, {"_id": "t2"})]}, "taken": 1},
    {"view": {"collection": C, "id": "t1", "doc": T1(n=5)}},
    {"meta": {"collection": C, "id": "t2", "version": 2, "pending": 0}},
])

case("an empty replica that resyncs by versions loads documents: listing versions it does not hold would cost a second pass", [
    {"watch": C, "now": 0},
    {"connect": True},
    {"sent": [{"topic": LOAD, "message": load("~l1")}]},
], resync="versions")

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "replica.json")
with open(out, "w") as f:
    json.dump({
        "description": "Replica scripts (PROTOCOL.md §5, §6, §11, §12). Each case configures a replica for `client` (the defaults of the spec; `resync: \"versions\"` makes it resync a collection it holds objects of by versions, §12.4) and runs `steps` in order. Steps: {now} sets the clock; {watch: collection}; {connect}; {disconnect}; {tick: t} sets the clock and fires timers; {request: {collection, op}, bind|error} makes a change (op is a request without type, rid, collection and base) and binds its rid or expects the error code; {receive: {topic, message}, error?, invalid?} delivers a message (`invalid: true` marks a message that deliberately breaks its schema); {sent: [...]} takes every message published since the last `sent` and compares them, in order, as {topic, message}; {outcomes: [...]} takes every confirmation ({confirmed: rid, version}) and rollback ({rolled_back: rid, code, current}) since the last `outcomes`; {view: {collection, id, doc}} checks the optimistic view (null: absent); {meta: {collection, id, version, pending}}; {status: offline|resyncing|online}; {follow: [{collection, id}]} takes every object the replica asked to follow since the last `follow` (§2.2: a requester holds an object's event subscription before it sends a request for it); {watch_object: {collection, id}} tells the replica the object's event subscription is held; {cancel: {collection, id}, cancelled: n} cancels the object's pending changes (§6.4) and expects n of them; {bridge_up} says a bridge announced itself (§2.2); {unwatch: collection, kept: [ids]} stops following a collection and expects the objects it goes on following one by one; {loaded: {collection, loaded}} checks whether the collection's first load is complete; {restore: {collection, objects: [states]}, taken: n} gives the replica states kept from an earlier run (§12.4) and expects n of them taken (those newer than what it holds). Strings starting with `~` are variables: in expected messages they bind to the actual value the first time (request and load ids are the implementation's), in received messages they are replaced by their value. Timings follow the spec's SHOULDs: resend after 10 s, failure again after 5 s, load page again after 10 s, all doubling up to 60 s.",
        "cases": cases,
    }, f, indent=1, ensure_ascii=False)
    f.write("\n")
print(f"wrote {len(cases)} cases")
