// Vue 3 integration: a plugin that connects and provides the store, and composables that mirror
// the store into shallow refs through its listeners (`onCollection`, `onDocument`, `onStatus`).
// The store owns the data: the refs hold its snapshots, are replaced on every change and are
// never deep-watched. Changes go through `store.request`.
import {
  getCurrentScope,
  hasInjectionContext,
  inject,
  isRef,
  onScopeDispose,
  ref,
  shallowRef,
  toRaw,
  toValue,
  watch,
} from 'vue';
import { batched } from './schedule.js';
import { CollectionView } from './view.js';

/** The injection key under which `createVmm` provides a `ShallowRef<Store | null>`. */
export const VmmKey = Symbol('vmm');

/**
 * The Vue plugin: `app.use(createVmm({ url, clientId, collections: ['tasks'] }))`. It connects
 * when installed (loading the wasm on first use) and provides the store, `null` until connected.
 * Instead of options it also takes a store, or a promise of one, that you connected yourself (the
 * plugin then never closes it).
 * `plugin.ready` settles with the connection; a failure is also reported to
 * `app.config.errorHandler` (or the console).
 * @param {import('./index.js').ConnectOptions | import('./index.js').Store | Promise<import('./index.js').Store>} options
 */
export function createVmm(options) {
  const holder = shallowRef(null);
  let ready = null;
  let apps = 0;
  const owned = !isStore(options) && !isThenable(options);
  const connecting = () => {
    if (ready === null) {
      const attempt = (owned ? import('./index.js').then((m) => m.connect(options)) : Promise.resolve(options)).then(
        (store) => {
          // Not if the app unmounted meanwhile (the store is being closed).
          if (ready === attempt) holder.value = store;
          return store;
        },
      );
      ready = attempt;
    }
    return ready;
  };
  return {
    /** Settles with the store once connected (starts connecting if the plugin is not installed yet). */
    get ready() {
      return connecting();
    },
    /** @param {import('vue').App} app */
    install(app) {
      app.provide(VmmKey, holder);
      apps += 1;
      connecting().catch((err) => {
        const handler = app.config.errorHandler;
        if (handler) handler(err, null, 'vmm connect');
        else console.error('vmm: cannot connect', err);
      });
      // Vue 3.5+: close the connection we opened when the last app using it unmounts.
      if (owned && typeof app.onUnmount === 'function') {
        app.onUnmount(() => {
          apps -= 1;
          if (apps === 0 && ready !== null) {
            const closing = ready;
            ready = null;
            holder.value = null;
            closing.then((store) => store.close(), () => {});
          }
        });
      }
    },
  };
}

/**
 * The store provided by `createVmm`, as a shallow ref: `null` while connecting.
 * @returns {Readonly<import('vue').ShallowRef<import('./index.js').Store | null>>}
 */
export function useVmm() {
  const holder = hasInjectionContext() ? inject(VmmKey, null) : null;
  if (holder === null) {
    throw new Error('useVmm: no vmm store; install createVmm(...) in the app and call useVmm() in setup()');
  }
  return holder;
}

/**
 * The documents of a collection (the optimistic view, pending changes included), in id key order,
 * as a shallow ref replaced (with a new array) on every batch of changes of the collection. Watches
 * the collection. Empty until connected. The collection is read once; after that each batch costs
 * its changes (see `CollectionView`). For a document's pending state use `useDocument` or
 * `store.meta(name, doc._id)`.
 * @param {import('vue').MaybeRefOrGetter<string>} name
 * @param {StoreSource} [store] defaults to the store of `createVmm`
 */
export function useCollection(name, store) {
  const docs = shallowRef([]);
  follow(
    sourceOf(store, 'useCollection'),
    [() => toValue(name)],
    (s, collection) => {
      s.watch(collection);
      const view = new CollectionView(s.entries(collection));
      docs.value = view.list();
      // The store calls collection listeners from a timer, once per batch: apply at once.
      return s.onCollection(collection, (changes) => {
        if (view.apply(changes)) docs.value = view.list();
      });
    },
    () => {
      docs.value = [];
    },
  );
  return docs;
}

/**
 * One document and its meta (version, pending count, deleted, last error), as shallow refs
 * replaced on every change of the document. Watches the object. `undefined` until connected, while
 * the document is unknown, and while `id` is `null`/`undefined`.
 * @param {import('vue').MaybeRefOrGetter<string>} collection
 * @param {import('vue').MaybeRefOrGetter<import('./index.js').Id | null | undefined>} id
 * @param {StoreSource} [store]
 */
export function useDocument(collection, id, store) {
  const doc = shallowRef(undefined);
  const meta = shallowRef(undefined);
  const reset = () => {
    doc.value = undefined;
    meta.value = undefined;
  };
  follow(
    sourceOf(store, 'useDocument'),
    // The id as JSON, so that an `{ $oid }` rebuilt by a getter is not a new id.
    [() => toValue(collection), () => idKey(toValue(id))],
    (s, c, key) => {
      if (key === undefined) {
        reset();
        return () => {};
      }
      const i = JSON.parse(key);
      s.watchObject(c, i);
      const read = () => {
        doc.value = s.get(c, i);
        meta.value = s.meta(c, i);
      };
      read();
      const later = batched(read);
      const off = s.onDocument(c, i, later);
      return () => {
        later.cancel();
        off();
      };
    },
    reset,
  );
  return { doc, meta };
}

/**
 * The connection status and the number of pending changes, both re-read whenever `onStatus`
 * reports a change of either. `connecting` and 0 until connected.
 * @param {StoreSource} [store]
 */
export function useStatus(store) {
  const status = ref('connecting');
  const pendingCount = ref(0);
  follow(
    sourceOf(store, 'useStatus'),
    [],
    (s) => {
      const read = () => {
        status.value = s.status;
        pendingCount.value = s.pendingCount;
      };
      read();
      const later = batched(read);
      const off = s.onStatus(later);
      return () => {
        later.cancel();
        off();
      };
    },
    () => {
      status.value = 'connecting';
      pendingCount.value = 0;
    },
  );
  return { status, pendingCount };
}

/** @typedef {import('./index.js').Store | import('vue').Ref<import('./index.js').Store | null> | Promise<import('./index.js').Store>} StoreSource */

function isStore(value) {
  return value != null && typeof value.request === 'function' && typeof value.onCollection === 'function';
}

function isThenable(value) {
  return value != null && typeof value.then === 'function';
}

// Where a composable finds its store: the argument (a store, a ref of one, a promise of one) or
// the app's `createVmm`.
function sourceOf(store, who) {
  if (store == null) {
    const holder = hasInjectionContext() ? inject(VmmKey, null) : null;
    if (holder === null) {
      throw new Error(`${who}: no vmm store; install createVmm(...) in the app, or pass the store`);
    }
    return holder;
  }
  if (isThenable(store)) {
    const holder = shallowRef(null);
    store.then((s) => {
      holder.value = s;
    });
    return holder;
  }
  return store;
}

function currentStore(source) {
  const s = isRef(source) ? source.value : source;
  // A store put in a deep `ref()` is a proxy; the wasm-bindgen object must be called directly.
  return s ? toRaw(s) : null;
}

function idKey(id) {
  return id == null ? undefined : JSON.stringify(id);
}

// Subscribes with `subscribe(store, ...keys)` whenever the store (once connected) or a key
// changes, undoing the previous subscription with the function it returned; `reset` clears the
// refs while there is no store. Everything is undone when the current effect scope is disposed.
function follow(source, keys, subscribe, reset) {
  const stop = watch(
    [() => currentStore(source), ...keys],
    ([store, ...values], _old, onCleanup) => {
      if (!store) {
        reset();
        return;
      }
      onCleanup(subscribe(store, ...values));
    },
    { immediate: true, flush: 'sync' },
  );
  if (getCurrentScope()) onScopeDispose(stop);
}
