// The public types of `vmm-client` (the wasm-bindgen `vmm_client.d.ts` describes the raw bindings).
export * from './errors.js';
import type { VmmError } from './errors.js';

export interface ConnectOptions {
  /** The broker's MQTT-over-WebSocket URL, e.g. `ws://127.0.0.1:9001`. */
  url: string;
  /** The MQTT client id, also the `client` of this client's requests (PROTOCOL.md §2.3). */
  clientId: string;
  username?: string;
  password?: string;
  /** Topic prefix; default `"vmm"`. */
  prefix?: string;
  /** MQTT keep-alive in seconds; default 30. */
  keepAlive?: number;
  /** How long a request may stay pending, in ms, before it is rolled back with `timeout`; default 60000, 0 = never. */
  requestTimeout?: number;
  /** Collections watched from the start. */
  collections?: string[];
}

/** An object id: a string, a number or an ObjectId in extended JSON. */
export type Id = string | number | { $oid: string };

/** A document as the store shows it (extended JSON values, `_id` first). */
export type Doc = Record<string, unknown> & { _id: Id };

/** A change request (PROTOCOL.md §4.1); the store adds `rid` and `base`. */
export type Op =
  | { op: 'insert'; id: Id; doc: object }
  | { op: 'update'; id: Id; update: object; policy?: 'strict' | 'merge' }
  | { op: 'replace'; id: Id; doc: object }
  | { op: 'delete'; id: Id };

/** The event that confirmed a request (PROTOCOL.md §4.2). */
export interface VmmEvent {
  type: 'event';
  collection: string;
  id: Id;
  prev: number;
  version: number;
  client: string;
  rid: string;
  op: 'insert' | 'update' | 'replace' | 'delete';
  doc?: Doc;
  update?: object;
  /** The bridge's clock when it applied the change, ms since the epoch. */
  at?: number;
}

/** What the store knows about one object besides its content. */
export interface Meta {
  /** The confirmed version (0: never seen). */
  version: number;
  /** This client's changes of the object still in flight. */
  pending: number;
  deleted: boolean;
  /** Why this client's last change of the object was rolled back. */
  lastError?: { code: string; message: string };
}

/** One object of `Store.entries`, and one change of an `onCollection` batch. */
export interface Entry {
  /** The id key (§3.3 of the protocol): the order of `list` and `entries`. */
  key: string;
  id: Id;
  doc: Doc;
}

/** A change of an `onCollection` batch: the object's new view, `null` when it is gone. */
export interface Change {
  key: string;
  id: Id;
  doc: Doc | null;
}

export type Status = 'connecting' | 'online' | 'offline' | 'resyncing';

/** The optimistic store of one connection (a wasm-bindgen class). */
export interface Store {
  readonly status: Status;
  readonly pendingCount: number;
  readonly clientId: string;
  watch(collection: string): void;
  watchObject(collection: string, id: Id): void;
  /** Shows the change at once (pending); settles with its event, or rejects with a `VmmError` subclass and rolls it back. */
  request(collection: string, op: Op): Promise<VmmEvent>;
  get(collection: string, id: Id): Doc | undefined;
  list(collection: string): Doc[];
  /** The collection as `[{ key, id, doc }]` in id key order: the shape of `onCollection`'s changes. */
  entries(collection: string): Entry[];
  meta(collection: string, id: Id): Meta | undefined;
  /**
   * Called after changes of the collection's view, once per batch (at most once per frame), with
   * the changed objects (`doc` null when gone; an empty array when the collection finished
   * loading); returns the unsubscribe function.
   */
  onCollection(collection: string, listener: (changes: Change[]) => void): () => void;
  onDocument(collection: string, id: Id, listener: () => void): () => void;
  /** Called when the status or `pendingCount` changes; returns the unsubscribe function. */
  onStatus(listener: (status: Status) => void): () => void;
  /** Closes the connection for good; pending changes stay pending. */
  close(): void;
  /** Goes offline on purpose (an offline mode): changes queue until `reconnect()`. */
  disconnect(): void;
  /** Comes back after `disconnect()`: reconnects, resyncs, then sends the queued changes. */
  reconnect(): void;
  /** Drops the connection as if the network failed; the store reconnects by itself. */
  dropConnection(): void;
}

/** What `request` rejects with. */
export type RequestError = VmmError;

/**
 * Loads and instantiates the wasm, once (later calls share the promise). Only needed to load the
 * `.wasm` from elsewhere: `init({ module_or_path: url })`.
 */
export function init(input?: unknown): Promise<unknown>;

/** Loads the wasm (once) and connects; the store's status is `connecting` until the broker answers. */
export function connect(options: ConnectOptions): Promise<Store>;
