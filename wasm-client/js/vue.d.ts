// The Vue 3 API of vmm-client (`vmm-client/vue`), in the style of VueFire and TanStack Query.
import type { App, InjectionKey, MaybeRef, MaybeRefOrGetter, Ref, ShallowRef } from 'vue';
import type {
  ConnectOptions,
  ConnectionProblem,
  Doc,
  Id,
  Meta,
  Op,
  RequestOptions,
  Status,
  Store,
  VmmEvent,
} from './index.js';
import type { VmmError } from './errors.js';

/** A store for a composable: the store, a ref of one (null while connecting), a promise of one, or a `Vmm` handle. */
export type StoreSource = Store | Ref<Store | null> | Promise<Store> | Pick<Vmm, 'store'>;

/**
 * The handle of the app's connection (`useVmm()`, and the plugin `createVmm` returns). Usable at
 * once from `setup()` on: a request made before the wasm is loaded and the store connected waits,
 * in order, and is made when it is (it rejects with the connection's error if it never is).
 */
export interface Vmm {
  /** The raw store: `null` while loading and connecting, during SSR, and after the app unmounted. */
  readonly store: Readonly<ShallowRef<Store | null>>;
  /** Settles with the store once connected (starts connecting if the plugin is not installed yet); never settles during SSR. */
  readonly ready: Promise<Store>;
  /**
   * `store.request`, queued until the store is there: shows the change (pending) and settles with
   * its event, or rejects with a `VmmError` subclass after the rollback. During SSR it rejects.
   */
  request<T = Doc>(collection: string, op: Op<T>, options?: RequestOptions): Promise<VmmEvent>;
  /**
   * `store.cancel`: rolls back this client's pending changes of the object and returns how many;
   * their promises reject with `CancelledError`. Before the store is connected it drops the
   * object's queued requests (rejected with `CancelledError` too).
   */
  cancel(collection: string, id: Id): number;
  /** @deprecated The store, `null` while connecting (what `useVmm()` returned before): use `store.value`. */
  readonly value: Store | null;
}

/** What `createVmm` returns: the handle, and a Vue plugin. */
export interface VmmPlugin extends Vmm {
  install(app: App): void;
}

/** Under this key `createVmm` provides its `Vmm` handle. */
export declare const VmmKey: InjectionKey<Vmm>;

/** True where nothing connects: server-side rendering, i.e. `typeof window === 'undefined'`. */
export declare function isServer(): boolean;

/**
 * The Vue plugin: `app.use(createVmm({ url, clientId, collections: ['tasks'] }))`. Given connect
 * options it loads the wasm and connects when installed (the collections of `collections` stay
 * watched for good), and closes the connection when the last app using it unmounts (Vue 3.5+).
 * Instead of options it takes a store, or a promise of one, connected by you (then never closed).
 *
 * - A failed connection goes to `app.config.errorHandler` with info `'vmm connect'`, and every
 *   failed attempt to reach the broker afterwards (`store.onError`, a `ConnectionError`) with info
 *   `'vmm connection'` (to the console when the app has no handler).
 * - Server-side rendering: where there is no `window` it connects nothing and loads no wasm;
 *   `ready` never settles, `request` rejects, and the composables keep their empty states.
 */
export declare function createVmm(options: ConnectOptions | Store | Promise<Store>): VmmPlugin;

/** The app's `Vmm` handle (never null: requests made before the store connects are queued). Call in `setup()`. */
export declare function useVmm(): Vmm;

/** Client-side filter and sort of `useCollection`: plain functions, or refs of them. */
export interface CollectionOptions<T> {
  /**
   * Keeps the documents for which it returns true. It runs in a `computed`: refs it reads (e.g.
   * `(t) => showDone.value || !t.done`) re-run it when they change.
   */
  filter?: MaybeRef<((doc: T) => boolean) | undefined>;
  /** Orders the documents (default: by id key, the store's order). Reactive as `filter`. */
  sort?: MaybeRef<((a: T, b: T) => number) | undefined>;
}

/** What `useCollection` returns. */
export interface CollectionState<T> {
  /**
   * The documents (the optimistic view: pending changes included), filtered and sorted; replaced
   * (a new array) on every change, never deep-reactive, not to be mutated. `[]` until connected.
   */
  data: Readonly<ShallowRef<T[]>>;
  /** The id keys (PROTOCOL.md §3.3, e.g. `s:t1`, `o:65a1…`) of the documents with unconfirmed changes of this client. */
  pending: Readonly<ShallowRef<ReadonlySet<string>>>;
  /** Whether this client has unconfirmed changes of the object (reactive: reads `pending`). */
  isPending(id: MaybeRefOrGetter<Id>): boolean;
  /** The collection's first snapshot is complete (`store.isLoaded`): until then `data` may be partial or empty. */
  loaded: Readonly<Ref<boolean>>;
  /** The collection's error (`store.collectionError`), e.g. a `PermissionError`; `null` when none. */
  error: Readonly<ShallowRef<VmmError | null>>;
  /** Stops following now (else when the component's scope is disposed); the refs keep their last values. */
  stop(): void;
  /** @deprecated The documents (what `useCollection` returned before): use `data.value`. */
  readonly value: T[];
}

/**
 * The documents of a collection with their states. Watches the collection while used: the store
 * stops watching it (`store.unwatch`) when the last user (component, Pinia store) stops, unless
 * it is in `createVmm`'s `collections` or mirrored by the Vuex plugin. The collection is read
 * once; after that each batch of changes costs its changes.
 * @param name the collection (or a ref/getter of it: followed when it changes)
 * @param options client-side `filter` and `sort`
 * @param store defaults to the store of `createVmm`
 */
export declare function useCollection<T = Doc>(
  name: MaybeRefOrGetter<string>,
  options?: CollectionOptions<T>,
  store?: StoreSource,
): CollectionState<T>;
/** @deprecated `useCollection(name, store)`: use `useCollection(name, {}, store)`. */
export declare function useCollection<T = Doc>(name: MaybeRefOrGetter<string>, store: StoreSource): CollectionState<T>;

/** What `useDocument` returns. */
export interface DocumentState<T> {
  /** The document (optimistic view); `undefined` while unknown, absent, not connected, or `id` is null. */
  data: Readonly<ShallowRef<T | undefined>>;
  /** Its version, pending count, deleted flag and last error. */
  meta: Readonly<ShallowRef<Meta | undefined>>;
  /** This client has unconfirmed changes of it. */
  pending: Readonly<Ref<boolean>>;
  /** Known: the document was seen (or seen deleted), or its collection is loaded (then `data` undefined means absent). */
  loaded: Readonly<Ref<boolean>>;
  /** The collection's error; `null` when none. */
  error: Readonly<ShallowRef<VmmError | null>>;
  /**
   * Stops following now (else when the scope is disposed). When no other `useDocument` shows the
   * object, the store stops following it too (`store.unwatchObject`), unless its collection is
   * watched or changes of it are pending.
   */
  stop(): void;
}

/** One document and its states. Watches the object (`store.watchObject`). */
export declare function useDocument<T = Doc>(
  collection: MaybeRefOrGetter<string>,
  id: MaybeRefOrGetter<Id | null | undefined>,
  store?: StoreSource,
): DocumentState<T>;

/** The connection's state, re-read on every `onStatus` report; `connecting` until connected. */
export declare function useStatus(store?: StoreSource): {
  status: Ref<Status>;
  pendingCount: Ref<number>;
  problem: ShallowRef<ConnectionProblem | null>;
  bridges: Ref<number>;
};

/**
 * The state of a request for a button or a form: `idle` before the first run; `pending` until it
 * settles (also while queued before the store connects); `confirmed` (its `event`); `rejected`
 * (its `error`: rolled back, or cancelled); `unknown` (a `timeout` passed: the change is still
 * pending in the store, whose view shows the outcome when it comes).
 */
export type RequestState = 'idle' | 'pending' | 'confirmed' | 'rejected' | 'unknown';

/** What `useRequest` returns. */
export interface RequestHandle {
  /**
   * Makes the request (queued until the store is there). Never rejects: resolves with the event,
   * or `undefined` when it failed (then `state` and `error` say how). A new run replaces the state
   * of the previous one.
   */
  run<T = Doc>(collection: string, op: Op<T>, options?: RequestOptions): Promise<VmmEvent | undefined>;
  state: Readonly<Ref<RequestState>>;
  error: Readonly<ShallowRef<VmmError | null>>;
  event: Readonly<ShallowRef<VmmEvent | null>>;
  /** Back to `idle`; the outcome of a run still in flight is then ignored. */
  reset(): void;
}

/** A per-request state: `const save = useRequest(); save.run('tasks', op)`. Call in `setup()`, or pass a handle. */
export declare function useRequest(vmm?: Pick<Vmm, 'request'>): RequestHandle;
