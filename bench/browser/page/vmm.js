// The vmm side: the package as an app uses it. `connect()` from the package's entry and the
// collection watched; then either
//   - `vue: true`: a tiny Vue 3 app shows the collection through `useCollection` from the
//     package's Vue entry, one <li> per document; done when the DOM holds N rows;
//   - `vue: false` (the store alone, to tell the store's time from the view's): an `onCollection`
//     listener looks up the last object published, then counts `list()` once it is there; done
//     when the store lists N documents.
import { createApp, h, onUpdated } from 'vue';

const now = () => performance.timeOrigin + performance.now();

/**
 * Connects, waits until the store is online with its load of the collection answered (its status
 * goes `resyncing` → `online` once the bridge's snapshot arrived), and sets `window.done`
 * (settles with `{ doneMs, shown }` when N documents are shown) and `window.progress`.
 * @param {{ url: string, prefix: string, clientId: string, collection: string, n: number,
 *           vue: boolean, entry: string, vueEntry: string, readyTimeoutMs: number }} o
 */
export async function prepare(o) {
  const { connect } = await import(o.entry);
  const store = await connect({ url: o.url, clientId: o.clientId, prefix: o.prefix, collections: [o.collection] });
  await online(store, o.readyTimeoutMs);
  store.watch(o.collection); // what an app does; the store already watches it (idempotent)
  let finish;
  window.done = new Promise((resolve) => {
    finish = (shown) => {
      resolve({ doneMs: now(), shown });
      finish = null;
    };
  });
  if (o.vue) await mountApp(o, store, (rows) => rows >= o.n && finish?.(rows));
  else followStore(o, store, (docs) => docs >= o.n && finish?.(docs));
  return { status: store.status };
}

async function mountApp(o, store, shown) {
  const { useCollection } = await import(o.vueEntry);
  let rows = 0;
  window.progress = () => rows;
  const App = {
    setup() {
      const docs = useCollection(o.collection, store);
      onUpdated(() => {
        rows = document.getElementById('rows').childElementCount;
        shown(rows);
      });
      return () => h('ul', { id: 'rows' }, docs.value.map((d) => h('li', { key: d._id }, d.title)));
    },
  };
  createApp(App).mount('#app');
  const initial = document.getElementById('rows').childElementCount;
  if (initial !== 0) throw new Error(`the collection is not empty before the run: ${initial} rows`);
}

function followStore(o, store, shown) {
  // The ids are t0 … t{N-1}, published in that order.
  const last = `t${o.n - 1}`;
  let count = 0;
  window.progress = () => store.list(o.collection).length;
  if (store.list(o.collection).length !== 0) throw new Error('the collection is not empty before the run');
  store.onCollection(o.collection, () => {
    if (count < o.n && store.get(o.collection, last) !== undefined) {
      count = store.list(o.collection).length;
      shown(count);
    }
  });
}

function online(store, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`the store is ${store.status} after ${timeoutMs} ms; did a bridge answer its load?`));
    }, timeoutMs);
    const check = () => {
      if (store.status !== 'online') return;
      clearTimeout(timer);
      queueMicrotask(() => off());
      resolve();
    };
    const off = store.onStatus(check);
    check();
  });
}
