// The Vue plugin (createVmm, useVmm: the handle, requests queued until the store is there,
// connection errors to the app's error handler) and useStatus, against the in-memory store
// (fake-store.mjs). The composables' states are in composables.test.mjs.
import assert from 'node:assert/strict';
import test from 'node:test';
import { createApp, createRenderer, effectScope, nextTick } from 'vue';
import { ConflictError } from 'vmm-client/errors';
import { createVmm, useCollection, useDocument, useRequest, useStatus, useVmm } from 'vmm-client/vue';
import { FakeStore } from './fake-store.mjs';
import { settle } from './settle.mjs';

const task = (n, title = `task ${n}`) => ({ _id: `t${n}`, title });

/** A promise of a store that the test resolves (a connection that takes its time). */
function later() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

test('the composables watch their collection or object on every mount; the store subscribes once', () => {
  const stores = [new FakeStore(), new FakeStore()];
  for (const store of stores) {
    for (let mount = 0; mount < 3; mount++) {
      const scope = effectScope();
      scope.run(() => {
        useCollection('tasks', {}, store);
        useDocument('tasks', { $oid: '65a1f0c2e4b0a1b2c3d4e5f6' }, store);
      });
      scope.stop();
    }
    assert.deepEqual(store.watched, ['tasks']);
    assert.deepEqual(store.watchedObjects, [['tasks', { $oid: '65a1f0c2e4b0a1b2c3d4e5f6' }]]);
  }
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

test('useStatus gives the connection problem and the bridges the store reports', async () => {
  const store = new FakeStore({ status: 'online' });
  const scope = effectScope();
  const { status, problem, bridges } = scope.run(() => useStatus(store));
  assert.equal(bridges.value, 1);
  assert.equal(problem.value, null);
  store.problem = { reason: 'auth', message: 'not authorized' };
  store.bridges = 0;
  store.setStatus('unreachable');
  await settle();
  assert.equal(status.value, 'unreachable');
  assert.deepEqual(problem.value, { reason: 'auth', message: 'not authorized' });
  assert.equal(bridges.value, 0);
  scope.stop();
});

test('createVmm provides a handle whose store is null until connected; the composables follow it', async () => {
  const store = new FakeStore();
  store.put('tasks', task(1));
  const app = createApp({ render: () => null });
  const connection = later();
  const vmm = createVmm(connection.promise);
  app.use(vmm);

  const scope = effectScope();
  const { handle, tasks, status } = app.runWithContext(() =>
    scope.run(() => ({ handle: useVmm(), tasks: useCollection('tasks'), status: useStatus().status })),
  );
  assert.equal(handle, vmm, 'useVmm gives the plugin, the same object in every component');
  assert.equal(handle.store.value, null, 'null while connecting');
  assert.deepEqual(tasks.data.value, []);

  connection.resolve(store);
  assert.equal(await vmm.ready, store);
  await nextTick();
  assert.equal(handle.store.value, store);
  assert.deepEqual(tasks.data.value, [task(1)]);
  assert.equal(status.value, 'online');
  scope.stop();
  assert.equal(store.listenerCount(), 1, 'only the error listener of the plugin is left');
});

test('a request made before the store is connected waits, then is sent in order', async () => {
  const app = createApp({ render: () => null });
  const connection = later();
  const vmm = createVmm(connection.promise);
  app.use(vmm);
  const { handle, save } = app.runWithContext(() => ({ handle: useVmm(), save: useRequest() }));

  const first = handle.request('tasks', { op: 'insert', id: 't1', doc: { title: 'early' } });
  save.run('tasks', { op: 'insert', id: 't2', doc: { title: 'button' } }, { timeout: 100 });
  const dropped = handle.request('tasks', { op: 'insert', id: 't3', doc: { title: 'cancelled' } });
  assert.equal(save.state.value, 'pending', 'pending while queued');
  assert.equal(handle.cancel('tasks', 't3'), 1, 'a queued request can be cancelled');
  await assert.rejects(dropped, { code: 'cancelled' });

  const store = new FakeStore();
  connection.resolve(store);
  await vmm.ready;
  await settle();
  assert.deepEqual(store.list('tasks').map((t) => t.title), ['early', 'button'], 'sent in order, once');
  assert.deepEqual(store.requestOptions, [undefined, { timeout: 100 }]);
  const [r1, r2] = store.pendingRids();
  store.confirm(r1);
  assert.equal((await first).rid, 'r1');
  store.reject(r2, new ConflictError('stale', { code: 'conflict', current: 3 }));
  await settle();
  assert.equal(save.state.value, 'rejected');
  assert.equal(save.error.value.current, 3);

  // Once connected, requests and cancel go to the store at once.
  const now = handle.request('tasks', { op: 'update', id: 't1', update: { $set: { title: 'x' } } });
  assert.equal(store.pendingCount, 1);
  assert.equal(handle.cancel('tasks', 't1'), 1);
  await assert.rejects(now, { code: 'cancelled' });
});

test('createVmm reports a failed connection to the app error handler, and queued requests reject with it', async () => {
  const app = createApp({ render: () => null });
  const seen = [];
  app.config.errorHandler = (err, _instance, info) => seen.push([err.message, info]);
  const connection = later();
  const vmm = createVmm(connection.promise);
  app.use(vmm);
  const queued = vmm.request('tasks', { op: 'delete', id: 't1' });
  connection.reject(new Error('no broker'));
  await assert.rejects(vmm.ready, /no broker/);
  await assert.rejects(queued, /no broker/);
  await settle();
  assert.deepEqual(seen, [['no broker', 'vmm connect']]);
});

// Node has no DOM: an app mounted by a renderer of plain objects, to unmount it.
const { createApp: createNodeApp } = createRenderer({
  createElement: (tag) => ({ tag, children: [] }),
  createText: (text) => ({ text }),
  createComment: (text) => ({ text }),
  setText: (node, text) => Object.assign(node, { text }),
  setElementText: (node, text) => Object.assign(node, { text }),
  insert: (child, parent) => parent.children.push(child),
  remove: () => {},
  parentNode: () => null,
  nextSibling: () => null,
  patchProp: () => {},
});

test('connection errors of the store reach the app error handler until the app unmounts', async () => {
  const store = new FakeStore();
  const app = createNodeApp({ render: () => null });
  const seen = [];
  app.config.errorHandler = (err, instance, info) => seen.push([err.reason, instance, info]);
  app.use(createVmm(store));
  app.mount({ children: [] });
  await settle();
  const refused = Object.assign(new Error('connection refused'), { code: 'connection', reason: 'refused' });
  store.failConnection(refused);
  assert.deepEqual(seen, [['refused', null, 'vmm connection']]);
  app.unmount();
  store.failConnection(refused);
  assert.equal(seen.length, 1, 'not after unmount');
  assert.equal(store.closed, false, 'a store the app did not open is not closed');
});

test('the composables without a store or an app say how to get one', () => {
  assert.throws(() => effectScope().run(() => useCollection('tasks')), /install createVmm/);
  assert.throws(() => useVmm(), /install createVmm/);
  assert.throws(() => useRequest(), /install createVmm/);
});
