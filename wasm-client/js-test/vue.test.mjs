import assert from 'node:assert/strict';
import test from 'node:test';
import { createApp, effectScope, nextTick, ref, shallowRef } from 'vue';
import { createVmm, useCollection, useDocument, useStatus, useVmm } from 'vmm-client/vue';
import { FakeStore } from './fake-store.mjs';
import { settle } from './settle.mjs';

const task = (n, title = `task ${n}`) => ({ _id: `t${n}`, title });

test('useCollection updates its ref when the store changes a collection, and stops after the scope is disposed', async () => {
  const store = new FakeStore();
  store.put('tasks', task(1));
  const scope = effectScope();
  const docs = scope.run(() => useCollection('tasks', store));
  assert.deepEqual(docs.value, [task(1)], 'read at once');
  assert.deepEqual(store.watched, ['tasks'], 'the collection is watched');

  store.put('tasks', task(2));
  store.put('tasks', task(3));
  await settle();
  assert.deepEqual(docs.value, [task(1), task(2), task(3)]);

  store.request('tasks', { op: 'update', id: 't1', update: { $set: { title: 'milk' } } });
  await settle();
  assert.equal(docs.value[0].title, 'milk', 'pending changes are in the view');

  scope.stop();
  assert.equal(store.listenerCount(), 0, 'listeners removed');
  store.put('tasks', task(4));
  await settle();
  assert.equal(docs.value.length, 3, 'no more updates');
});

test('the composables watch their collection or object on every mount; the store subscribes once', () => {
  const stores = [new FakeStore(), new FakeStore()];
  for (const store of stores) {
    for (let mount = 0; mount < 3; mount++) {
      const scope = effectScope();
      scope.run(() => {
        useCollection('tasks', store);
        useDocument('tasks', { $oid: '65a1f0c2e4b0a1b2c3d4e5f6' }, store);
      });
      scope.stop();
    }
    assert.deepEqual(store.watched, ['tasks']);
    assert.deepEqual(store.watchedObjects, [['tasks', { $oid: '65a1f0c2e4b0a1b2c3d4e5f6' }]]);
  }
});

test('useCollection reads the collection once and then applies each change without re-reading it', async () => {
  const store = new FakeStore();
  store.put('tasks', task(5));
  let reads = 0;
  for (const name of ['list', 'entries']) {
    const read = store[name].bind(store);
    store[name] = (c) => (reads++, read(c));
  }
  const scope = effectScope();
  const docs = scope.run(() => useCollection('tasks', store));
  for (let n = 0; n < 50; n++) store.put('tasks', task(n));
  store.put('tasks', { ...task(7), title: 'renamed' });
  await settle();
  assert.equal(reads, 1, 'read once, at the start');
  assert.equal(docs.value.length, 50);
  assert.deepEqual(docs.value, store.list('tasks'), 'the same documents in the same order as the store');
  assert.equal(docs.value.find((d) => d._id === task(7)._id).title, 'renamed');
  scope.stop();
});

test('useCollection waits for a store that is still connecting, and follows a changing name', async () => {
  const holder = shallowRef(null);
  const name = ref('tasks');
  const scope = effectScope();
  const docs = scope.run(() => useCollection(name, holder));
  assert.deepEqual(docs.value, []);

  const store = new FakeStore();
  store.put('tasks', task(1));
  store.put('notes', { _id: 'n1', text: 'hi' });
  holder.value = store;
  assert.deepEqual(docs.value, [task(1)]);

  name.value = 'notes';
  assert.deepEqual(docs.value, [{ _id: 'n1', text: 'hi' }]);
  assert.equal(store.listenerCount(), 1, 'the listener of tasks is gone');
  scope.stop();
  assert.equal(store.listenerCount(), 0);
});

test('useDocument gives doc and meta, and they follow the store', async () => {
  const store = new FakeStore();
  store.put('tasks', { _id: { $oid: '65a1f0c2e4b0a1b2c3d4e5f6' }, title: 'a' });
  const scope = effectScope();
  const { doc, meta } = scope.run(() => useDocument('tasks', { $oid: '65a1f0c2e4b0a1b2c3d4e5f6' }, store));
  assert.equal(doc.value.title, 'a');
  assert.deepEqual(meta.value, { version: 1, pending: 0, deleted: false });
  assert.deepEqual(store.watchedObjects, [['tasks', { $oid: '65a1f0c2e4b0a1b2c3d4e5f6' }]]);

  const done = store.request('tasks', {
    op: 'update',
    id: { $oid: '65a1f0c2e4b0a1b2c3d4e5f6' },
    update: { $set: { title: 'b' } },
  });
  await settle();
  assert.equal(doc.value.title, 'b');
  assert.equal(meta.value.pending, 1);

  store.confirm(store.pendingRids()[0]);
  await done;
  await settle();
  assert.deepEqual(meta.value, { version: 2, pending: 0, deleted: false });
  scope.stop();
  assert.equal(store.listenerCount(), 0);
});

test('useDocument follows a changing id and is empty while the id is null', async () => {
  const store = new FakeStore();
  store.put('tasks', task(1));
  store.put('tasks', task(2));
  const id = ref(null);
  const scope = effectScope();
  const { doc, meta } = scope.run(() => useDocument('tasks', id, store));
  assert.equal(doc.value, undefined);
  assert.equal(meta.value, undefined);
  id.value = 't2';
  assert.deepEqual(doc.value, task(2));
  id.value = 't1';
  assert.deepEqual(doc.value, task(1));
  assert.equal(store.listenerCount(), 1);
  id.value = undefined;
  assert.equal(doc.value, undefined);
  assert.equal(store.listenerCount(), 0);
  scope.stop();
});

test('useStatus follows the status and the number of pending changes through onStatus alone', async () => {
  const store = new FakeStore({ status: 'connecting' });
  const scope = effectScope();
  const { status, pendingCount } = scope.run(() => useStatus(store));
  assert.equal(status.value, 'connecting');
  assert.equal(store.listenerCount(), 1, 'one status listener, no collection listener');

  store.setStatus('online');
  await settle();
  assert.equal(status.value, 'online');

  // Requests to a collection no composable follows: only onStatus reports them.
  const first = store.request('notes', { op: 'insert', id: 'n1', doc: { text: 'x' } });
  store.request('notes', { op: 'insert', id: 'n2', doc: { text: 'y' } });
  await settle();
  assert.equal(pendingCount.value, 2);

  store.setStatus('offline');
  store.setStatus('resyncing');
  await settle();
  assert.equal(status.value, 'resyncing');

  store.confirm(store.pendingRids()[0]);
  await first;
  await settle();
  assert.equal(pendingCount.value, 1);
  scope.stop();
  assert.equal(store.listenerCount(), 0);
});

test('useStatus re-reads a burst of status reports once', async () => {
  const store = new FakeStore();
  let reads = 0;
  const getter = Object.getOwnPropertyDescriptor(FakeStore.prototype, 'pendingCount').get;
  Object.defineProperty(store, 'pendingCount', { get: () => (reads++, getter.call(store)) });
  const scope = effectScope();
  const { pendingCount } = scope.run(() => useStatus(store));
  reads = 0;
  for (let n = 0; n < 20; n++) store.request('tasks', { op: 'insert', id: `t${n}`, doc: {} });
  await settle();
  assert.equal(pendingCount.value, 20);
  assert.equal(reads, 1, 'one re-read for the burst of 20 reports');
  scope.stop();
});

test('createVmm provides the store to useVmm and to the composables of the app', async () => {
  const store = new FakeStore();
  store.put('tasks', task(1));
  const app = createApp({ render: () => null });
  const vmm = createVmm(Promise.resolve(store));
  app.use(vmm);

  const scope = effectScope();
  const { holder, docs, status } = app.runWithContext(() =>
    scope.run(() => ({ holder: useVmm(), docs: useCollection('tasks'), status: useStatus().status })),
  );
  assert.equal(holder.value, null, 'null while connecting');
  assert.deepEqual(docs.value, []);
  assert.equal(app.runWithContext(() => useVmm()), holder, 'one provided ref');

  assert.equal(await vmm.ready, store);
  await nextTick();
  assert.equal(holder.value, store);
  assert.deepEqual(docs.value, [task(1)]);
  assert.equal(status.value, 'online');
  scope.stop();
  assert.equal(store.listenerCount(), 0);
});

test('createVmm reports a failed connection to the app error handler', async () => {
  const app = createApp({ render: () => null });
  const seen = [];
  app.config.errorHandler = (err, _instance, info) => seen.push([err.message, info]);
  const vmm = createVmm(Promise.reject(new Error('no broker')));
  app.use(vmm);
  await assert.rejects(vmm.ready, /no broker/);
  assert.deepEqual(seen, [['no broker', 'vmm connect']]);
});

test('the composables without a store or an app say how to get one', () => {
  assert.throws(() => effectScope().run(() => useCollection('tasks')), /install createVmm/);
  assert.throws(() => useVmm(), /install createVmm/);
});
