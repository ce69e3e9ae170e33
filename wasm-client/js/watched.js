// What this page already asked a store to watch. `store.watch` subscribes again on every call, and
// components mount and unmount often; the store has no unwatch, so once per store is enough.
const watched = new WeakMap();

/** `store.watch(collection)`, the first time only. */
export function watchOnce(store, collection) {
  once(store, JSON.stringify([collection]), () => store.watch(collection));
}

/** `store.watchObject(collection, id)`, the first time only. */
export function watchObjectOnce(store, collection, id) {
  once(store, JSON.stringify([collection, id]), () => store.watchObject(collection, id));
}

/** Records collections the store watches already (those of `ConnectOptions.collections`). */
export function markWatched(store, collections) {
  for (const collection of collections ?? []) once(store, JSON.stringify([collection]), () => {});
}

function once(store, key, watch) {
  let keys = watched.get(store);
  if (!keys) watched.set(store, (keys = new Set()));
  if (keys.has(key)) return;
  watch();
  keys.add(key);
}
