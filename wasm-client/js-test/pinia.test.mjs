// The Pinia helper with the real Pinia: a setup store per collection, sharing the composables'
// states and their watching.
import assert from 'node:assert/strict';
import test from 'node:test';
import { createPinia, setActivePinia, storeToRefs } from 'pinia';
import { createApp } from 'vue';
import { defineCollectionStore } from 'vmm-client/pinia';
import { createVmm } from 'vmm-client/vue';
import { FakeStore } from './fake-store.mjs';
import { settle } from './settle.mjs';

function appWith(store) {
  const app = createApp({ render: () => null });
  const vmm = createVmm(store);
  const pinia = createPinia();
  app.use(vmm).use(pinia);
  setActivePinia(pinia);
  return { app, vmm, pinia };
}

test('a collection store has the states of useCollection and request/cancel actions', async () => {
  const store = new FakeStore();
  store.put('tasks', { _id: 't2', title: 'b', order: 1 });
  store.put('tasks', { _id: 't1', title: 'a', order: 2 });
  const { app, vmm } = appWith(store);
  await vmm.ready;
  const useTasks = defineCollectionStore('tasks', 'tasks', { sort: (x, y) => x.order - y.order });
  const tasks = app.runWithContext(() => useTasks());
  assert.deepEqual(tasks.data.map((t) => t._id), ['t2', 't1'], 'sorted');
  assert.equal(tasks.loaded, false);
  store.setLoaded('tasks');
  assert.equal(tasks.loaded, true);

  const { data, pending } = storeToRefs(tasks);
  const saved = tasks.request({ op: 'update', id: 't1', update: { $set: { title: 'A' } } });
  await settle();
  assert.equal(tasks.isPending('t1'), true);
  assert.deepEqual([...pending.value], ['s:t1']);
  assert.equal(data.value[1].title, 'A');
  store.confirm(store.pendingRids()[0]);
  assert.equal((await saved).version, 2);
  assert.equal(tasks.isPending('t1'), false);

  const dropped = tasks.request({ op: 'delete', id: 't2' });
  assert.equal(tasks.cancel('t2'), 1);
  await assert.rejects(dropped, { code: 'cancelled' });
  assert.equal(tasks.data.length, 2, 'rolled back');
});

test('a collection store keeps its collection watched until it is disposed', async () => {
  const store = new FakeStore();
  const { app, vmm } = appWith(store);
  await vmm.ready;
  const useNotes = defineCollectionStore('notes', 'notes');
  const notes = app.runWithContext(() => useNotes());
  assert.deepEqual(store.watched, ['notes']);
  assert.equal(app.runWithContext(() => useNotes()), notes, 'one store per Pinia');
  notes.$dispose();
  await settle();
  assert.deepEqual(store.unwatched, ['notes']);
});

test('a collection store made before the connection queues its requests', async () => {
  let connect;
  const { app, vmm } = appWith(new Promise((resolve) => (connect = resolve)));
  const tasks = app.runWithContext(() => defineCollectionStore('early', 'tasks')());
  assert.deepEqual(tasks.data, []);
  const inserted = tasks.request({ op: 'insert', id: 't1', doc: { title: 'first' } });
  const store = new FakeStore();
  connect(store);
  await vmm.ready;
  await settle();
  assert.deepEqual(tasks.data, [{ _id: 't1', title: 'first' }]);
  store.confirm(store.pendingRids()[0]);
  assert.equal((await inserted).rid, 'r1');
});
