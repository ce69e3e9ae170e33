// An in-memory stand-in for the wasm `Store` (the interface of js/index.d.ts), with no network:
// requests are shown at once as pending and settled by the test (`confirm`, `reject`), and
// `put`/`setStatus` play the part of other clients and of the connection. Where the JS layer
// relies on the store it behaves as the real one does (wasm-client/src/store.rs):
// - `watch` and `watchObject` are idempotent: asking twice subscribes once (`watched`,
//   `watchedObjects` are the subscriptions);
// - `onStatus` listeners get `listener(status)` whenever the status or `pendingCount` changed
//   since they were last told, and only then;
// - `onCollection` listeners get the changed objects as `[{ key, id, doc, pending }]` (`doc` null
//   when gone, `pending` this client's unconfirmed changes of the object), and `entries`/`list`
//   are in key order; they are also called with `[]` when the collection's loaded state or error
//   changes (`setLoaded`, `setCollectionError`);
// - `unwatch` stops following a collection (`unwatched` records the calls); `cancel` rolls back
//   the pending changes of an object and rejects their promises with a `cancelled` error;
// - `onError` listeners get each `ConnectionError` (`failConnection`).
// Its keys are the protocol's id keys (view.js `idKey`), as the real store's.
import { errorFor } from 'vmm-client/errors';
import { idKey as key } from '../js/view.js';

export class FakeStore {
  constructor({ clientId = 'alice', status = 'online', collections = [] } = {}) {
    this.clientId = clientId;
    this.watched = [];
    this.unwatched = [];
    this.unwatchedObjects = [];
    this.watchedObjects = [];
    this.requestOptions = [];
    this.problem = null;
    this.bridges = 1;
    this._loaded = new Set();
    this._errors = new Map();
    this._errorListeners = new Set();
    this.closed = false;
    this._status = status;
    this._collections = new Map(); // collection → Map(key → { doc, meta })
    this._requests = new Map(); // rid → { collection, op, before, resolve, reject }
    this._next = 0;
    this._collectionListeners = new Map();
    this._documentListeners = new Map();
    this._statusListeners = new Set();
    this._told = { status, pendingCount: 0 };
    for (const c of collections) this.watch(c);
  }

  get status() {
    return this._status;
  }

  get pendingCount() {
    return this._requests.size;
  }

  watch(collection) {
    if (!this.watched.includes(collection)) this.watched.push(collection);
  }

  unwatchObject(collection, id) {
    this.unwatchedObjects.push([collection, id]);
  }

  unwatch(collection) {
    this.unwatched.push(collection);
    this.watched = this.watched.filter((c) => c !== collection);
  }

  isLoaded(collection) {
    return this._loaded.has(collection);
  }

  collectionError(collection) {
    return this._errors.get(collection);
  }

  /** The collection's first snapshot is complete (or not any more): listeners get `[]`. */
  setLoaded(collection, loaded = true) {
    if (loaded) this._loaded.add(collection);
    else this._loaded.delete(collection);
    this._tellCollection(collection, []);
  }

  /** The collection has an error now (`undefined`: none): listeners get `[]`. */
  setCollectionError(collection, error) {
    if (error === undefined) this._errors.delete(collection);
    else this._errors.set(collection, error);
    this._tellCollection(collection, []);
  }

  onError(listener) {
    this._errorListeners.add(listener);
    return () => this._errorListeners.delete(listener);
  }

  /** A failed attempt to reach the broker. */
  failConnection(error) {
    for (const listener of [...this._errorListeners]) listener(error);
  }

  watchObject(collection, id) {
    if (!this.watchedObjects.some(([c, i]) => c === collection && key(i) === key(id))) this.watchedObjects.push([collection, id]);
  }

  request(collection, op, options) {
    this.requestOptions.push(options);
    const rid = `r${++this._next}`;
    const before = this._entry(collection, op.id);
    return new Promise((resolve, reject) => {
      this._requests.set(rid, { collection, op, before, resolve, reject });
      const meta = { version: before?.meta.version ?? 0, pending: (before?.meta.pending ?? 0) + 1, deleted: false };
      this._set(collection, op.id, apply(before?.doc, op), meta);
      this._tellStatus();
    });
  }

  /** The rids of the requests still pending, oldest first. */
  pendingRids() {
    return [...this._requests.keys()];
  }

  /** The bridge's event for a pending request arrives. */
  confirm(rid) {
    const { collection, op, resolve } = this._take(rid);
    const now = this._entry(collection, op.id);
    const prev = now.meta.version;
    this._set(collection, op.id, now.doc, {
      version: prev + 1,
      pending: now.meta.pending - 1,
      deleted: op.op === 'delete',
    });
    this._tellStatus();
    resolve({ type: 'event', collection, id: op.id, prev, version: prev + 1, client: this.clientId, rid, op: op.op });
  }

  /** A reject (or a local rollback) for a pending request: the change disappears from the view. */
  reject(rid, error) {
    const { collection, op, before, reject } = this._take(rid);
    const now = this._entry(collection, op.id);
    this._set(collection, op.id, before?.doc, {
      version: now.meta.version,
      pending: now.meta.pending - 1,
      deleted: false,
      lastError: { code: error.code, message: error.message },
    });
    this._tellStatus();
    reject(error);
  }

  /** The request's deadline passed: its promise rejects with an unknown outcome, the change stays pending. */
  expire(rid) {
    const request = this._requests.get(rid);
    request.reject(Object.assign(errorFor('timeout', 'no answer in time', { rid }), { outcome: 'unknown' }));
    request.reject = () => {};
  }

  /** Rolls back this client's pending changes of the object, newest first; returns how many. */
  cancel(collection, id) {
    const rids = [...this._requests].filter(([, r]) => r.collection === collection && key(r.op.id) === key(id));
    for (const [rid] of rids.reverse()) this.reject(rid, errorFor('cancelled', 'cancelled', { rid }));
    return rids.length;
  }

  /** Another client's change arrives. */
  put(collection, doc) {
    const before = this._entry(collection, doc._id);
    this._set(collection, doc._id, doc, { version: (before?.meta.version ?? 0) + 1, pending: 0, deleted: false });
  }

  setStatus(status) {
    this._status = status;
    this._tellStatus();
  }

  get(collection, id) {
    return this._entry(collection, id)?.doc;
  }

  /** In key order, like the real store (its keys are id keys; here the id as JSON). */
  list(collection) {
    return this.entries(collection).map((e) => e.doc);
  }

  entries(collection) {
    return [...(this._collections.get(collection)?.entries() ?? [])]
      .filter(([, e]) => e.doc)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, e]) => ({ key: k, id: e.doc._id, doc: e.doc, pending: e.meta.pending }));
  }

  meta(collection, id) {
    const meta = this._entry(collection, id)?.meta;
    return meta && { ...meta };
  }

  onCollection(collection, listener) {
    return subscribe(this._collectionListeners, collection, listener);
  }

  onDocument(collection, id, listener) {
    return subscribe(this._documentListeners, `${collection}\u0000${key(id)}`, listener);
  }

  onStatus(listener) {
    this._statusListeners.add(listener);
    return () => this._statusListeners.delete(listener);
  }

  /** How many listeners are registered, all kinds together. */
  listenerCount() {
    let n = this._statusListeners.size;
    for (const map of [this._collectionListeners, this._documentListeners]) for (const set of map.values()) n += set.size;
    return n + this._errorListeners.size;
  }

  close() {
    this.closed = true;
  }

  // Like the wasm store after every change: tell the status listeners if the status or the number
  // of pending changes differs from what they were last told.
  _tellStatus() {
    const now = { status: this._status, pendingCount: this._requests.size };
    if (now.status === this._told.status && now.pendingCount === this._told.pendingCount) return;
    this._told = now;
    for (const listener of [...this._statusListeners]) listener(now.status);
  }

  // Listeners are called at once, inside the call that changed the view, with that one change
  // (simpler for the tests; the wasm store calls them from a timer, once per batch).
  _tellCollection(collection, changes) {
    for (const listener of [...(this._collectionListeners.get(collection) ?? [])]) listener(changes);
  }

  _entry(collection, id) {
    return this._collections.get(collection)?.get(key(id));
  }

  _take(rid) {
    const request = this._requests.get(rid);
    if (!request) throw new Error(`no pending request ${rid}`);
    this._requests.delete(rid);
    return request;
  }

  _set(collection, id, doc, meta) {
    if (!this._collections.has(collection)) this._collections.set(collection, new Map());
    const stored = doc && structuredClone(doc);
    this._collections.get(collection).set(key(id), { doc: stored, meta });
    this._tellCollection(collection, [{ key: key(id), id, doc: stored ?? null, pending: meta.pending }]);
    for (const listener of [...(this._documentListeners.get(`${collection}\u0000${key(id)}`) ?? [])]) listener();
  }
}

function subscribe(map, name, listener) {
  if (!map.has(name)) map.set(name, new Set());
  map.get(name).add(listener);
  return () => map.get(name).delete(listener);
}

// Enough of the update language for the tests: insert, replace, delete and `$set` of top-level fields.
function apply(doc, op) {
  switch (op.op) {
    case 'insert':
    case 'replace':
      return { _id: op.id ?? doc?._id, ...op.doc };
    case 'update':
      return { ...doc, ...op.update.$set };
    case 'delete':
      return undefined;
    default:
      throw new Error(`unknown op ${op.op}`);
  }
}
