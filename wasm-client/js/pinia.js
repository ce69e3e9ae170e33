// Pinia integration, next to the Vuex 4 plugin: a setup store per collection, built on the same
// composables, so that it shares their watching (a collection stays watched while a Pinia store
// or a component uses it) and their states. `pinia` is an optional peer dependency.
import { defineStore } from 'pinia';
import { useCollection, useVmm } from './vue.js';

/**
 * `const useTasks = defineCollectionStore('tasks', 'tasks', { sort: byOrder })`, then in a
 * component `const tasks = useTasks()`: state `data`, `pending`, `loaded`, `error` (the states of
 * `useCollection`), actions `isPending(id)`, `request(op, options?)`, `cancel(id)` and `stop()`.
 * See pinia.d.ts.
 * @param {string} id the Pinia store id
 * @param {string} collection
 * @param {{ filter?: unknown, sort?: unknown, vmm?: import('./vue.js').Vmm }} [options]
 */
export function defineCollectionStore(id, collection, options = {}) {
  return defineStore(id, () => {
    // Pinia runs a setup store inside the app's injection context: `useVmm` finds createVmm's handle.
    const vmm = options.vmm ?? useVmm();
    const { data, pending, loaded, error, isPending, stop } = useCollection(
      collection,
      { filter: options.filter, sort: options.sort },
      vmm,
    );
    const request = (op, requestOptions) => vmm.request(collection, op, requestOptions);
    const cancel = (objectId) => vmm.cancel(collection, objectId);
    return { data, pending, loaded, error, isPending, request, cancel, stop };
  });
}
