// What the Vue composables share: the handle `createVmm` provides (the store once connected, and a
// request function that queues until then), where a composable finds its store, and `follow`,
// which (re)subscribes whenever the store or a key changes.
import { getCurrentScope, hasInjectionContext, inject, isRef, onScopeDispose, shallowRef, toRaw, watch } from 'vue';
import { errorFor } from './errors.js';
import { idKey } from './view.js';

/** The injection key under which `createVmm` provides its `Vmm` handle. */
export const VmmKey = Symbol('vmm');

/**
 * The handle of one (future) connection: `store` (a shallow ref, `null` until connected), and
 * `request`/`cancel`, usable at once: a request made before the store is there waits in order and
 * is made when it connects (or rejects with the connection's error if it never does).
 * @returns {import('./vue.js').Vmm & { attach(store: object): void, detach(): void, fail(err: unknown): void }}
 */
export function createHandle() {
  const store = shallowRef(null);
  let queue = [];
  let failure = null;
  const live = () => (store.value ? toRaw(store.value) : null);
  return {
    store,
    request(collection, op, options) {
      const s = live();
      if (s) return send(s, { collection, op, options });
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => queue.push({ collection, op, options, resolve, reject }));
    },
    cancel(collection, id) {
      const s = live();
      if (s) return s.cancel(collection, id);
      // Not sent yet: the queued requests of the object are dropped, as the store would roll back.
      const key = idKey(id);
      const [dropped, kept] = partition(queue, (r) => r.collection === collection && idKey(r.op?.id) === key);
      queue = kept;
      for (const r of dropped) r.reject(errorFor('cancelled', 'cancelled before the store was connected'));
      return dropped.length;
    },
    /** @deprecated the store, `null` while connecting: use `store.value` */
    get value() {
      return store.value;
    },
    attach(s) {
      failure = null;
      store.value = s;
      const waiting = queue;
      queue = [];
      for (const r of waiting) send(toRaw(s), r).then(r.resolve, r.reject);
    },
    detach() {
      store.value = null;
    },
    fail(err) {
      failure = err;
      const waiting = queue;
      queue = [];
      for (const r of waiting) r.reject(err);
    },
  };
}

function send(store, { collection, op, options }) {
  try {
    return options === undefined ? store.request(collection, op) : store.request(collection, op, options);
  } catch (err) {
    return Promise.reject(err);
  }
}

function partition(list, test) {
  const yes = [];
  const no = [];
  for (const item of list) (test(item) ? yes : no).push(item);
  return [yes, no];
}

export function isStore(value) {
  return value != null && typeof value.request === 'function' && typeof value.onCollection === 'function';
}

export function isThenable(value) {
  return value != null && typeof value.then === 'function';
}

/** The `Vmm` handle of the app (`createVmm`), or `null` outside an app that installed it. */
export function injectVmm() {
  return hasInjectionContext() ? inject(VmmKey, null) : null;
}

/**
 * Where a composable finds its store: the argument (a store, a ref of one, a promise of one, a
 * `Vmm` handle) or the app's `createVmm`. Returns a store or a ref of one.
 */
export function sourceOf(store, who) {
  if (store == null) {
    const vmm = injectVmm();
    if (vmm === null) {
      throw new Error(`${who}: no vmm store; install createVmm(...) in the app, or pass the store`);
    }
    return vmm.store;
  }
  if (isThenable(store)) {
    const holder = shallowRef(null);
    store.then((s) => {
      holder.value = s;
    });
    return holder;
  }
  if (!isRef(store) && !isStore(store) && isRef(store.store)) return store.store;
  return store;
}

export function currentStore(source) {
  const s = isRef(source) ? source.value : source;
  // A store put in a deep `ref()` is a proxy; the wasm-bindgen object must be called directly.
  return s ? toRaw(s) : null;
}

/**
 * Subscribes with `subscribe(store, ...keys)` whenever the store (once connected) or a key
 * changes, undoing the previous subscription with the function it returned; `reset` clears the
 * refs while there is no store. Everything is undone when the current effect scope is disposed,
 * or when the returned function is called.
 */
export function follow(source, keys, subscribe, reset) {
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
  return stop;
}
