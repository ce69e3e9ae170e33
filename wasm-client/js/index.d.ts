// The public types of `vmm-client` (the wasm-bindgen `vmm_client.d.ts` describes the raw bindings).
export * from './errors.js';
export { ObjectId, Binary, Decimal128, toExtended, revive, type Scalar } from './values.js';
/**
 * The id key of an object id (PROTOCOL.md §3.3): `o:<hex>` for an ObjectId, `s:<percent-encoded>`
 * for a string, `i:<n>` for an integer; `undefined` for anything else. Unique per object: use it
 * as a `v-for` key (`String(_id)` of an ObjectId is `[object Object]`) and in `isPending`.
 */
export function idKey(id: unknown): string | undefined;
import type { ConnectionError, VmmError } from './errors.js';

export interface ConnectOptions {
  /** The broker's MQTT-over-WebSocket URL, e.g. `ws://127.0.0.1:9001`. */
  url: string;
  /**
   * The MQTT client id. Without `username` it is also this client's identity, the `client` of its
   * requests. With a `username` on a secured broker (PROTOCOL.md §2.3, docs/SECURITY.md) it must
   * be the user name or start with `<username>:` (`alice:tab-3f9c`), and the identity is the user
   * name: several tabs of one user share it.
   */
  clientId: string;
  /** The user name the broker authenticates; then also this client's identity. */
  username?: string;
  /** The password (MQTT 3.1.1: only with a `username`). Kept in memory for reconnects, never logged. */
  password?: string;
  /** Topic prefix; default `"vmm"`. */
  prefix?: string;
  /** MQTT keep-alive in seconds; default 30. */
  keepAlive?: number;
  /** The default `timeout` of every request (`RequestOptions`), in ms; default: none. */
  requestTimeout?: number;
  /** Collections watched from the start. */
  collections?: string[];
}

/**
 * An object id (PROTOCOL.md §3.3): a string, an integer, or an ObjectId (the package's
 * `ObjectId`, or `{ $oid }` in Extended JSON).
 */
export type Id = string | number | bigint | { $oid: string } | { toHexString(): string };

/** A document as the store shows it (`_id` first). */
export type Doc = Record<string, unknown> & { _id: Id };

/** A document to insert or replace: its `_id` may be left out (it is the op's `id`). */
export type NewDoc<T> = Omit<T, '_id'> & { _id?: Id };

/** A change request (PROTOCOL.md §4.1), typed by the collection's documents; the store adds `rid` and `base`. */
export type Op<T = Doc> =
  | { op: 'insert'; id: Id; doc: NewDoc<T> }
  | { op: 'update'; id: Id; update: Update<T>; policy?: 'strict' | 'merge' }
  | { op: 'replace'; id: Id; doc: NewDoc<T> }
  | { op: 'delete'; id: Id };

/** Options of one request. */
export interface RequestOptions {
  /**
   * Settle early, after this many ms without an outcome, with a `TimeoutError` (`outcome:
   * 'unknown'`); the change stays pending and its later event still confirms it. Default: the
   * connect option `requestTimeout`, or never.
   */
  timeout?: number;
}

// ---------------------------------------------------------------------------------------------
// The update language (PROTOCOL.md §7), typed: the five operators, their paths and their values.

/** Values no path walks into: dates, binary, ObjectId and the other value classes, Extended JSON wrappers. */
type Leaf =
  | Date
  | Uint8Array
  | ArrayBuffer
  | { toJSON(): unknown }
  | { toHexString(): string }
  | { $oid: string }
  | { $date: unknown }
  | { $numberDecimal: string }
  | { $numberLong: string }
  | { $binary: unknown };

type Deeper = [never, 0, 1, 2, 3, 4, 5];

/**
 * The dotted paths of a document type (PROTOCOL.md §7.1), up to 6 levels: fields by name, array
 * elements by index (`tags.0`). A document type with an index signature (such as `Doc`) has every
 * string as a path.
 */
export type Path<T, D extends number = 6> = [D] extends [never]
  ? never
  : T extends Leaf
    ? never
    : T extends readonly (infer E)[]
      ? `${number}` | `${number}.${Path<E, Deeper[D]>}`
      : T extends object
        ? {
            [K in keyof T & string]-?:
              | K
              | (NonNullable<T[K]> extends Leaf ? never : `${K}.${Path<NonNullable<T[K]>, Deeper[D]>}`);
          }[keyof T & string]
        : never;

/** The type of the value at `P` in `T` (`unknown` where `T` does not say). */
export type PathValue<T, P extends string> = T extends readonly (infer E)[]
  ? P extends `${number}`
    ? E
    : P extends `${number}.${infer R}`
      ? PathValue<NonNullable<E>, R>
      : unknown
  : P extends keyof T
    ? T[P]
    : P extends `${infer K}.${infer R}`
      ? K extends keyof T
        ? PathValue<NonNullable<T[K]>, R>
        : unknown
      : unknown;

/** The paths an update may change: any but `_id` (and `_vmm…`, which the store refuses). */
export type UpdatePath<T> = Exclude<Path<T>, '_id' | `_id.${string}`>;

type Numeric<V> = unknown extends V ? true : NonNullable<V> extends number | bigint ? true : false;
type Element<V> = unknown extends V ? unknown : NonNullable<V> extends readonly (infer E)[] ? E : never;

/**
 * An update (PROTOCOL.md §7.2): 1 to 5 of the operators, applied in order. `$set` takes the
 * field's type, `$inc` numbers for numeric fields, `$push`/`$pull` elements of array fields,
 * `$unset` `''`, `1` or `true`. Anything else (`$sett`, `$rename`, a field without `$`) does not
 * compile.
 */
export interface Update<T = Doc> {
  /** Sets each field (creating missing parents; an index equal to an array's length appends). */
  $set?: { [P in UpdatePath<T>]?: PathValue<T, P> };
  /** Removes each field (an array element becomes `null`); the value is ignored. */
  $unset?: { [P in UpdatePath<T>]?: '' | 1 | true };
  /** Adds the number to each numeric field (a missing field is created with it). */
  $inc?: { [P in UpdatePath<T> as Numeric<PathValue<T, P>> extends true ? P : never]?: number | bigint };
  /** Appends the value, or each of `$each`, to each array field (a missing field is created). */
  $push?: {
    [P in UpdatePath<T> as [Element<PathValue<T, P>>] extends [never] ? never : P]?:
      | Element<PathValue<T, P>>
      | { $each: Element<PathValue<T, P>>[] };
  };
  /** Removes the elements equal to the value, or the documents having the value's fields. */
  $pull?: {
    [P in UpdatePath<T> as [Element<PathValue<T, P>>] extends [never] ? never : P]?:
      | Element<PathValue<T, P>>
      | Partial<Element<PathValue<T, P>>>;
  };
}

// ---------------------------------------------------------------------------------------------

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
export interface Entry<T = Doc> {
  /** The id key (§3.3 of the protocol): the order of `list` and `entries`. */
  key: string;
  id: Id;
  doc: T;
  /** This store's unconfirmed changes of the object. */
  pending: number;
}

/** A change of an `onCollection` batch: the object's new view, `null` when it is gone. */
export interface Change<T = Doc> {
  key: string;
  id: Id;
  doc: T | null;
  /** This store's unconfirmed changes of the object. */
  pending: number;
}

/**
 * The connection's state:
 * - `connecting`: opening a connection, no attempt has failed since the last success;
 * - `unreachable`: the last attempt to reach the broker failed, retrying; `problem` says why;
 * - `offline`: offline on purpose, after `disconnect()` or `close()`;
 * - `no-bridge`: connected to the broker, but no bridge serves the prefix: changes wait;
 * - `resyncing`: connected, loading what it follows before sending queued changes;
 * - `online`: connected, in sync, at least one bridge present.
 */
export type Status = 'connecting' | 'online' | 'offline' | 'unreachable' | 'no-bridge' | 'resyncing';

/** Why the broker cannot be reached (`store.problem` while `unreachable`). */
export interface ConnectionProblem {
  reason: 'refused' | 'auth' | 'network';
  message: string;
}

/** The optimistic store of one connection (a wasm-bindgen class). */
export interface Store {
  readonly status: Status;
  /** Set while the status is `unreachable`, else `null`. */
  readonly problem: ConnectionProblem | null;
  /** How many bridges announce themselves on the prefix. */
  readonly bridges: number;
  readonly pendingCount: number;
  readonly clientId: string;
  watch(collection: string): void;
  /** Stops following the collection; objects with pending changes stay followed until settled. */
  unwatch(collection: string): void;
  watchObject(collection: string, id: Id): void;
  /** Stops following an object followed by `watchObject`; kept while its collection is watched or changes of it are pending. */
  unwatchObject(collection: string, id: Id): void;
  /** Whether the first snapshot of the collection is complete. */
  isLoaded(collection: string): boolean;
  /** The collection's error, e.g. a `PermissionError` when the broker refused its subscription. */
  collectionError(collection: string): VmmError | undefined;
  /**
   * Shows the change at once (pending) and settles with its event, or rejects with a `VmmError`
   * subclass after rolling it back. A change stays pending (and is resent) until the bridge
   * answers or `cancel`; with `options.timeout` the promise rejects early with a `TimeoutError`
   * while the change stays pending.
   */
  request<T = Doc>(collection: string, op: Op<T>, options?: RequestOptions): Promise<VmmEvent>;
  /** Rolls back this store's pending changes of the object (their promises reject with `CancelledError`); returns how many. */
  cancel(collection: string, id: Id): number;
  get<T = Doc>(collection: string, id: Id): T | undefined;
  list<T = Doc>(collection: string): T[];
  /** The collection as `[{ key, id, doc, pending }]` in id key order: the shape of `onCollection`'s changes. */
  entries<T = Doc>(collection: string): Entry<T>[];
  meta(collection: string, id: Id): Meta | undefined;
  /**
   * Called after changes of the collection's view, once per batch (at most once per frame), with
   * the changed objects (`doc` null when gone), and with `[]` when the collection's loaded state
   * or error changed; returns the unsubscribe function.
   */
  onCollection<T = Doc>(collection: string, listener: (changes: Change<T>[]) => void): () => void;
  onDocument(collection: string, id: Id, listener: () => void): () => void;
  /** Called when the status or `pendingCount` changes; returns the unsubscribe function. */
  onStatus(listener: (status: Status) => void): () => void;
  /** Called on every failed attempt to reach the broker; returns the unsubscribe function. */
  onError(listener: (error: ConnectionError) => void): () => void;
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
