// Vuex 4 integration: a plugin that mirrors the store's status and some collections into a
// namespaced module, and turns requests into an action. It needs nothing from vuex itself.
import { batched } from './schedule.js';
import { CollectionView } from './view.js';
import { acquire } from './watching.js';

/**
 * `createStore({ plugins: [createVmmVuexPlugin(store, { collections: ['tasks'] })] })` registers
 * the module `namespace` (default `vmm`):
 * - state `{ status, pendingCount, collections: { [name]: Doc[] } }`; each array is a frozen
 *   snapshot of the store's view, replaced on every change of the collection (so Vue does not
 *   make it deeply reactive);
 * - mutations `setCollection({ name, docs })` and `setStatus({ status, pendingCount })`, which
 *   only the plugin should commit;
 * - actions `request({ collection, op })`, settling like `store.request`, and `watch(name)`, which
 *   mirrors one more collection.
 * @param {import('./index.js').Store} store
 * @param {{ namespace?: string, collections?: string[] }} [options]
 */
export function createVmmVuexPlugin(store, { namespace = 'vmm', collections = [] } = {}) {
  return (vuex) => {
    const mirrored = new Map();
    const commitStatus = () =>
      vuex.commit(`${namespace}/setStatus`, { status: store.status, pendingCount: store.pendingCount });
    const commitCollection = (name, view) =>
      vuex.commit(`${namespace}/setCollection`, { name, docs: Object.freeze(view.list()) });

    // Each collection is read once; then each batch of changes costs its changes (CollectionView).
    const mirror = (name) => {
      if (mirrored.has(name)) return;
      // A user of the collection for good: composables that stop using it do not unwatch it.
      acquire(store, name);
      const view = new CollectionView(store.entries(name));
      commitCollection(name, view);
      mirrored.set(
        name,
        store.onCollection(name, (changes) => {
          if (view.apply(changes).docs) commitCollection(name, view);
        }),
      );
    };

    vuex.registerModule(namespace, {
      namespaced: true,
      state: () => ({ status: store.status, pendingCount: store.pendingCount, collections: {} }),
      mutations: {
        setCollection(state, { name, docs }) {
          state.collections[name] = docs;
        },
        setStatus(state, { status, pendingCount }) {
          state.status = status;
          state.pendingCount = pendingCount;
        },
      },
      actions: {
        request(_context, { collection, op }) {
          return store.request(collection, op);
        },
        watch(_context, name) {
          mirror(name);
        },
      },
    });

    // `onStatus` reports changes of the status and of the number of pending changes alike.
    store.onStatus(batched(commitStatus));
    for (const name of collections) mirror(name);
  };
}
