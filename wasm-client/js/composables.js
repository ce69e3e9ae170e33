// The Vue composables: the store mirrored into shallow refs through its listeners
// (`onCollection`, `onDocument`, `onStatus`), and a per-request state for buttons and forms.
// The store owns the data: the refs hold its snapshots, are replaced on every change and are
// never deep-watched. Changes go through `request`.
import { computed, isRef, ref, shallowRef, toValue, unref } from 'vue';
import { batched } from './schedule.js';
import { follow, injectVmm, isStore, isThenable, sourceOf } from './context.js';
import { CollectionView, idKey } from './view.js';
import { acquire, acquireObject } from './watching.js';

const EMPTY = Object.freeze(new Set());

/**
 * The documents of a collection with its states. See vue.d.ts for the contract.
 * @param {import('vue').MaybeRefOrGetter<string>} name
 * @param {{ filter?: unknown, sort?: unknown } | StoreSource} [options]
 * @param {StoreSource} [store] defaults to the store of `createVmm`
 */
export function useCollection(name, options, store) {
  // `useCollection(name, store)`, the form before options existed, still works.
  if (store === undefined && isStoreSource(options)) [options, store] = [undefined, options];
  const all = shallowRef([]);
  const pending = shallowRef(EMPTY);
  const loaded = ref(false);
  const error = shallowRef(null);
  const reset = () => {
    all.value = [];
    pending.value = EMPTY;
    loaded.value = false;
    error.value = null;
  };
  const stop = follow(
    sourceOf(store, 'useCollection'),
    [() => toValue(name)],
    (s, collection) => {
      const release = acquire(s, collection);
      const view = new CollectionView(s.entries(collection));
      all.value = view.list();
      pending.value = view.pendingKeys();
      const readState = () => {
        loaded.value = s.isLoaded(collection);
        error.value = s.collectionError(collection) ?? null;
      };
      readState();
      // The store calls collection listeners once per batch, outside its own calls: apply at once.
      // An empty batch says that the loaded state or the error changed.
      const off = s.onCollection(collection, (changes) => {
        const changed = view.apply(changes);
        if (changed.docs) all.value = view.list();
        if (changed.pending) pending.value = view.pendingKeys();
        if (changes.length === 0 || !loaded.value) readState();
      });
      return () => {
        off();
        release();
      };
    },
    reset,
  );
  const filter = options?.filter;
  const sort = options?.sort;
  const data =
    filter || sort
      ? computed(() => {
          // Read inside the computed: a filter or sort that reads refs is re-run when they change.
          const f = unref(filter);
          const s = unref(sort);
          let docs = f ? all.value.filter((d) => f(d)) : all.value;
          if (s) docs = (docs === all.value ? [...docs] : docs).sort(s);
          return docs;
        })
      : all;
  return {
    data,
    pending,
    isPending: (id) => pending.value.has(idKey(toValue(id))),
    loaded,
    error,
    stop,
    /** @deprecated the documents, as `useCollection` returned them before: use `data.value` */
    get value() {
      return data.value;
    },
  };
}

/**
 * One document and its states. See vue.d.ts for the contract.
 * @param {import('vue').MaybeRefOrGetter<string>} collection
 * @param {import('vue').MaybeRefOrGetter<import('./index.js').Id | null | undefined>} id
 * @param {StoreSource} [store]
 */
export function useDocument(collection, id, store) {
  const data = shallowRef(undefined);
  const meta = shallowRef(undefined);
  const loaded = ref(false);
  const error = shallowRef(null);
  const reset = () => {
    data.value = undefined;
    meta.value = undefined;
    loaded.value = false;
    error.value = null;
  };
  const stop = follow(
    sourceOf(store, 'useDocument'),
    // The id by its id key, so that an `{ $oid }` or ObjectId rebuilt by a getter is not a new id.
    [() => toValue(collection), () => idKey(toValue(id))],
    (s, c, key) => {
      if (key === undefined) {
        reset();
        return () => {};
      }
      const i = toValue(id);
      const release = acquireObject(s, c, key, i);
      const read = () => {
        data.value = s.get(c, i);
        meta.value = s.meta(c, i);
        // Known once the object was seen (or seen deleted), or its whole collection is loaded.
        loaded.value = data.value !== undefined || meta.value?.version > 0 || s.isLoaded(c);
        error.value = s.collectionError(c) ?? null;
      };
      read();
      const later = batched(read);
      const offDocument = s.onDocument(c, i, later);
      const offCollection = s.onCollection(c, (changes) => {
        if (changes.length === 0) later();
      });
      return () => {
        later.cancel();
        offDocument();
        offCollection();
        release();
      };
    },
    reset,
  );
  const pending = computed(() => (meta.value?.pending ?? 0) > 0);
  return { data, meta, pending, loaded, error, stop };
}

/**
 * The connection's state, re-read whenever `onStatus` reports a change. `connecting` until connected.
 * @param {StoreSource} [store]
 */
export function useStatus(store) {
  const status = ref('connecting');
  const pendingCount = ref(0);
  const problem = shallowRef(null);
  const bridges = ref(0);
  follow(
    sourceOf(store, 'useStatus'),
    [],
    (s) => {
      const read = () => {
        status.value = s.status;
        pendingCount.value = s.pendingCount;
        problem.value = s.problem ?? null;
        bridges.value = s.bridges ?? 0;
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
      problem.value = null;
      bridges.value = 0;
    },
  );
  return { status, pendingCount, problem, bridges };
}

/**
 * A request with its own state, for a button or a form. See vue.d.ts for the contract.
 * @param {import('./vue.js').Vmm} [vmm] defaults to the handle of `createVmm`
 */
export function useRequest(vmm) {
  const handle = vmm ?? injectVmm();
  if (handle == null) throw new Error('useRequest: no vmm store; install createVmm(...) in the app, or pass useVmm()');
  const state = ref('idle');
  const error = shallowRef(null);
  const event = shallowRef(null);
  let runs = 0;
  const run = (collection, op, options) => {
    const mine = ++runs;
    state.value = 'pending';
    error.value = null;
    event.value = null;
    return handle.request(collection, op, options).then(
      (e) => {
        if (mine === runs) {
          state.value = 'confirmed';
          event.value = e;
        }
        return e;
      },
      (err) => {
        if (mine === runs) {
          // A deadline (`options.timeout`) settles early: the change stays pending in the store.
          state.value = err?.code === 'timeout' && err?.outcome === 'unknown' ? 'unknown' : 'rejected';
          error.value = err;
        }
        return undefined;
      },
    );
  };
  const reset = () => {
    runs += 1;
    state.value = 'idle';
    error.value = null;
    event.value = null;
  };
  return { run, state, error, event, reset };
}

/** @typedef {import('./index.js').Store | import('vue').Ref<import('./index.js').Store | null> | Promise<import('./index.js').Store>} StoreSource */

function isStoreSource(value) {
  return value != null && (isStore(value) || isRef(value) || isThenable(value) || isRef(value.store));
}
