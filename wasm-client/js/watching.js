// Who uses which collection of a store, so that the last user's going stops watching it
// (`store.unwatch`), as VueFire unsubscribes when no component needs a query any more. One count
// per store and collection, shared by every composable, the Vuex plugin and the Pinia stores.
// Collections given to `createVmm`'s `collections` option are kept: they stay watched whoever
// stops using them.
//
// The unwatch waits for a microtask: a component replaced by another that shows the same
// collection (a route change) releases it and takes it again in the same tick, and the store
// should not drop and reload the collection in between.

// Users per store: of each collection, and of each object followed one by one.
/** @type {WeakMap<object, Map<string, number>>} */
const users = new WeakMap();
/** @type {WeakMap<object, Map<string, number>>} */
const objectUsers = new WeakMap();
/** @type {WeakMap<object, Set<string>>} */
const kept = new WeakMap();

/**
 * Counts one more user of `name` in `byStore`'s counts for `store`. Returns the release function,
 * which may be called more than once (only the first counts); when the last user has released,
 * `drop` runs a microtask later unless a new user came meanwhile.
 * @param {WeakMap<object, Map<string, number>>} byStore
 * @param {object} store
 * @param {string} name
 * @param {() => void} drop
 * @returns {() => void}
 */
function counted(byStore, store, name, drop) {
  let counts = byStore.get(store);
  if (!counts) byStore.set(store, (counts = new Map()));
  counts.set(name, (counts.get(name) ?? 0) + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = counts.get(name) - 1;
    if (left > 0) {
      counts.set(name, left);
      return;
    }
    counts.delete(name);
    queueMicrotask(() => {
      if (!counts.has(name)) drop();
    });
  };
}

/**
 * One more user of `collection`: watches it (`store.watch` is idempotent, so asking again is free).
 * Returns the release function, which may be called more than once (only the first counts).
 * @param {import('./index.js').Store} store
 * @param {string} collection
 * @returns {() => void}
 */
export function acquire(store, collection) {
  store.watch(collection);
  return counted(users, store, collection, () => {
    if (!kept.get(store)?.has(collection)) store.unwatch(collection);
  });
}

/**
 * One more user of one object (`useDocument`): watches it; the last user's release stops
 * watching it (`store.unwatchObject`, which keeps an object with changes pending), after a
 * microtask as for collections.
 * @param {import('./index.js').Store} store
 * @param {string} collection
 * @param {string} key the object's id key (one count per object, whatever form its id is given in)
 * @param {import('./index.js').Id} id
 * @returns {() => void}
 */
export function acquireObject(store, collection, key, id) {
  store.watchObject(collection, id);
  return counted(objectUsers, store, `${collection}\u0000${key}`, () => store.unwatchObject(collection, id));
}

/**
 * Keeps `collections` watched for good, whoever stops using them (`createVmm`'s `collections`).
 * @param {import('./index.js').Store} store
 * @param {Iterable<string>} collections
 */
export function keep(store, collections) {
  let set = kept.get(store);
  if (!set) kept.set(store, (set = new Set()));
  for (const c of collections) {
    set.add(c);
    store.watch(c);
  }
}

/**
 * How many users `collection` of `store` has now (for tests and debugging).
 * @param {import('./index.js').Store} store
 * @param {string} collection
 */
export function usersOf(store, collection) {
  return users.get(store)?.get(collection) ?? 0;
}
