// The composables' states against the in-memory store (fake-store.mjs): documents, pending per
// id, loaded, error, filter and sort, watching while used, and the per-request state.
import assert from 'node:assert/strict';
import test from 'node:test';
import { effectScope, ref, shallowRef } from 'vue';
import { PermissionError, ValidationError } from 'vmm-client/errors';
import { useCollection, useDocument, useRequest } from 'vmm-client/vue';
import { FakeStore } from './fake-store.mjs';
import { settle } from './settle.mjs';

const task = (n, title = `task ${n}`) => ({ _id: `t${n}`, title });
const inScope = (fn) => {
  const scope = effectScope();
  return [scope.run(fn), scope];
};

test('useCollection updates data when the store changes a collection, and stops after the scope is disposed', async () => {
  const store = new FakeStore();
  store.put('tasks', task(1));
  const [{ data }, scope] = inScope(() => useCollection('tasks', {}, store));
  assert.deepEqual(data.value, [task(1)], 'read at once');
  assert.deepEqual(store.watched, ['tasks'], 'the collection is watched');

  store.put('tasks', task(2));
  store.request('tasks', { op: 'update', id: 't1', update: { $set: { title: 'milk' } } });
  await settle();
  assert.deepEqual(data.value, [{ ...task(1), title: 'milk' }, task(2)], 'pending changes are in the view');

  scope.stop();
  assert.equal(store.listenerCount(), 0, 'listeners removed');
  store.put('tasks', task(4));
  await settle();
  assert.equal(data.value.length, 2, 'no more updates');
});

test('useCollection reads the collection once and then applies each change without re-reading it', async () => {
  const store = new FakeStore();
  let reads = 0;
  for (const name of ['list', 'entries']) {
    const read = store[name].bind(store);
    store[name] = (c) => (reads++, read(c));
  }
  const [{ data }, scope] = inScope(() => useCollection('tasks', undefined, store));
  for (let n = 0; n < 50; n++) store.put('tasks', task(n));
  store.put('tasks', { ...task(7), title: 'renamed' });
  await settle();
  assert.equal(reads, 1, 'read once, at the start');
  assert.deepEqual(data.value, store.list('tasks'), 'the same documents in the same order as the store');
  assert.equal(data.value.find((d) => d._id === 't7').title, 'renamed');
  scope.stop();
});

test('useCollection waits for a store that is still connecting, and follows a changing name', () => {
  const holder = shallowRef(null);
  const name = ref('tasks');
  const [{ data, loaded }, scope] = inScope(() => useCollection(name, {}, holder));
  assert.deepEqual(data.value, []);
  assert.equal(loaded.value, false);

  const store = new FakeStore();
  store.put('tasks', task(1));
  store.put('notes', { _id: 'n1', text: 'hi' });
  store.setLoaded('notes');
  holder.value = store;
  assert.deepEqual(data.value, [task(1)]);
  assert.equal(loaded.value, false);

  name.value = 'notes';
  assert.deepEqual(data.value, [{ _id: 'n1', text: 'hi' }]);
  assert.equal(loaded.value, true, 'the state of the new collection');
  assert.equal(store.listenerCount(), 1, 'the listener of tasks is gone');
  scope.stop();
  assert.equal(store.listenerCount(), 0);
});

test('loaded is false until the store says the first snapshot is complete, and follows it', () => {
  const store = new FakeStore();
  const [{ loaded, data }, scope] = inScope(() => useCollection('tasks', {}, store));
  assert.equal(loaded.value, false);
  store.put('tasks', task(1));
  assert.equal(loaded.value, false, 'documents alone do not make it loaded');
  store.setLoaded('tasks');
  assert.equal(loaded.value, true, 'the [] notification makes it loaded');
  assert.deepEqual(data.value, [task(1)]);
  store.setLoaded('tasks', false);
  assert.equal(loaded.value, false, 'and not loaded any more (a resync)');
  scope.stop();

  const [late] = inScope(() => useCollection('tasks', {}, store));
  store.setLoaded('tasks');
  const [again] = inScope(() => useCollection('tasks', {}, store));
  assert.equal(late.loaded.value, true);
  assert.equal(again.loaded.value, true, 'read at once from isLoaded');
});

test('pending says which ids have unconfirmed changes of this client, by id key', async () => {
  const store = new FakeStore();
  const oid = { $oid: '65A1F0C2E4B0A1B2C3D4E5F6' };
  store.put('tasks', task(1));
  store.put('tasks', task(2));
  store.put('tasks', { _id: oid, title: 'o' });
  const [{ pending, isPending }, scope] = inScope(() => useCollection('tasks', {}, store));
  assert.equal(pending.value.size, 0);

  const first = store.request('tasks', { op: 'update', id: 't1', update: { $set: { title: 'a' } } });
  store.request('tasks', { op: 'update', id: 't1', update: { $set: { title: 'b' } } });
  const third = store.request('tasks', { op: 'update', id: oid, update: { $set: { title: 'p' } } });
  assert.deepEqual([...pending.value].sort(), ['o:65a1f0c2e4b0a1b2c3d4e5f6', 's:t1']);
  assert.equal(isPending('t1'), true);
  assert.equal(isPending('t2'), false);
  assert.equal(isPending({ $oid: '65a1f0c2e4b0a1b2c3d4e5f6' }), true, 'an ObjectId in either case');
  assert.equal(isPending(ref('t1')), true, 'a ref of an id');

  const [r1, r2, r3] = store.pendingRids();
  store.confirm(r1);
  await first;
  assert.equal(isPending('t1'), true, 'one change of t1 is still in flight');
  store.confirm(r2);
  store.reject(r3, new ValidationError('no', { code: 'invalid_update' }));
  await assert.rejects(third, ValidationError);
  assert.equal(isPending('t1'), false);
  assert.equal(isPending(oid), false, 'a rolled back change is not pending');
  assert.equal(pending.value.size, 0);
  scope.stop();
});

test('error is the collection error of the store, and is cleared with it', () => {
  const store = new FakeStore();
  const [{ error, loaded }, scope] = inScope(() => useCollection('secrets', {}, store));
  assert.equal(error.value, null);
  const refused = new PermissionError('not for you', { code: 'forbidden' });
  store.setCollectionError('secrets', refused);
  assert.equal(error.value, refused);
  assert.equal(loaded.value, false);
  store.setCollectionError('secrets', undefined);
  assert.equal(error.value, null);
  scope.stop();
});

test('filter and sort are plain functions, re-run when the refs they read change', async () => {
  const store = new FakeStore();
  for (const [n, done] of [[1, true], [2, false], [3, false]]) store.put('tasks', { ...task(n), done });
  const showDone = ref(false);
  const sort = ref((a, b) => (a._id < b._id ? 1 : -1));
  const [{ data }, scope] = inScope(() =>
    useCollection('tasks', { filter: (t) => showDone.value || !t.done, sort }, store),
  );
  const ids = () => data.value.map((t) => t._id);
  assert.deepEqual(ids(), ['t3', 't2']);
  showDone.value = true;
  assert.deepEqual(ids(), ['t3', 't2', 't1']);
  sort.value = (a, b) => (a._id < b._id ? -1 : 1);
  assert.deepEqual(ids(), ['t1', 't2', 't3']);
  store.put('tasks', { ...task(0), done: false });
  await settle();
  assert.deepEqual(ids(), ['t0', 't1', 't2', 't3']);
  assert.deepEqual(store.list('tasks').map((t) => t._id), ['t0', 't1', 't2', 't3'], 'the store is not reordered');
  scope.stop();
});

test('a collection stays watched while one user is left, and is unwatched after the last', async () => {
  const store = new FakeStore();
  const [a, scopeA] = inScope(() => useCollection('tasks', {}, store));
  const [, scopeB] = inScope(() => useCollection('tasks', {}, store));
  scopeA.stop();
  await settle();
  assert.deepEqual(store.unwatched, [], 'the other component still shows it');
  assert.deepEqual(store.watched, ['tasks']);
  scopeB.stop();
  await settle();
  assert.deepEqual(store.unwatched, ['tasks']);
  assert.deepEqual(store.watched, []);
  void a;
});

test('stop() stops watching at once; a component taking the collection in the same tick keeps it', async () => {
  const store = new FakeStore();
  store.put('tasks', task(1));
  const [first, scope] = inScope(() => useCollection('tasks', {}, store));
  first.stop();
  assert.equal(store.listenerCount(), 0, 'its listener is removed');
  // A route change: the next page's component takes the collection before the microtask.
  const [next, nextScope] = inScope(() => useCollection('tasks', {}, store));
  await settle();
  assert.deepEqual(store.unwatched, [], 'no unwatch between two users');
  store.put('tasks', task(2));
  assert.equal(first.data.value.length, 1, 'a stopped composable keeps its last documents');
  assert.equal(next.data.value.length, 2);
  next.stop();
  next.stop();
  await settle();
  assert.deepEqual(store.unwatched, ['tasks'], 'stop twice releases once');
  scope.stop();
  nextScope.stop();
});

test('useDocument gives data, meta, pending, loaded and error, and they follow the store', async () => {
  const store = new FakeStore();
  const oid = { $oid: '65a1f0c2e4b0a1b2c3d4e5f6' };
  store.put('tasks', { _id: oid, title: 'a' });
  const [doc, scope] = inScope(() => useDocument('tasks', () => ({ ...oid }), store));
  assert.equal(doc.data.value.title, 'a');
  assert.deepEqual(doc.meta.value, { version: 1, pending: 0, deleted: false });
  assert.equal(doc.pending.value, false);
  assert.equal(doc.loaded.value, true, 'a document seen is loaded');
  assert.deepEqual(store.watchedObjects, [['tasks', oid]]);

  const done = store.request('tasks', { op: 'update', id: oid, update: { $set: { title: 'b' } } });
  await settle();
  assert.equal(doc.data.value.title, 'b');
  assert.equal(doc.pending.value, true);
  store.confirm(store.pendingRids()[0]);
  await done;
  await settle();
  assert.equal(doc.pending.value, false);
  assert.equal(doc.meta.value.version, 2);

  store.setCollectionError('tasks', new PermissionError('no', { code: 'forbidden' }));
  await settle();
  assert.equal(doc.error.value?.code, 'forbidden');
  doc.stop();
  assert.equal(store.listenerCount(), 0, 'stop() removes its listeners');
  scope.stop();
});

test('useDocument of an unknown object is loaded once its collection is, and empty while the id is null', async () => {
  const store = new FakeStore();
  store.put('tasks', task(2));
  const id = ref(null);
  const [{ data, loaded }, scope] = inScope(() => useDocument('tasks', id, store));
  assert.equal(data.value, undefined);
  assert.equal(store.listenerCount(), 0, 'nothing followed for a null id');
  id.value = 't9';
  assert.equal(loaded.value, false, 'not known to be absent yet');
  store.setLoaded('tasks');
  await settle();
  assert.equal(loaded.value, true);
  assert.equal(data.value, undefined, 'absent');
  id.value = 't2';
  assert.deepEqual(data.value, task(2));
  id.value = undefined;
  assert.equal(data.value, undefined);
  assert.equal(loaded.value, false);
  assert.equal(store.listenerCount(), 0);
  scope.stop();
});

test('useRequest goes pending, then confirmed with the event or rejected with the error', async () => {
  const store = new FakeStore();
  const vmm = { store: shallowRef(store), request: (c, op, o) => store.request(c, op, o), cancel: () => 0 };
  const save = useRequest(vmm);
  assert.equal(save.state.value, 'idle');
  const running = save.run('tasks', { op: 'insert', id: 't1', doc: { title: 'x' } }, { timeout: 500 });
  assert.equal(save.state.value, 'pending');
  assert.deepEqual(store.requestOptions, [{ timeout: 500 }], 'the options reach the store');
  store.confirm(store.pendingRids()[0]);
  const event = await running;
  assert.equal(save.state.value, 'confirmed');
  assert.equal(save.event.value, event);
  assert.equal(event.version, 1);

  const failing = save.run('tasks', { op: 'update', id: 't1', update: { $set: { title: 'y' } } });
  assert.equal(save.event.value, null, 'a new run forgets the last outcome');
  const refused = new ValidationError('bad', { code: 'invalid_update' });
  store.reject(store.pendingRids()[0], refused);
  assert.equal(await failing, undefined, 'run never rejects: the error is in the state');
  assert.equal(save.state.value, 'rejected');
  assert.equal(save.error.value, refused);

  const slow = save.run('tasks', { op: 'update', id: 't1', update: { $set: { title: 'z' } } }, { timeout: 1 });
  store.expire(store.pendingRids()[0]);
  await slow;
  assert.equal(save.state.value, 'unknown', 'a deadline passed: the outcome is unknown');
  assert.equal(save.error.value.code, 'timeout');
  assert.equal(store.pendingCount, 1, 'the change is still pending in the store');
  save.reset();
  assert.equal(save.state.value, 'idle');
});

test('useRequest shows the state of its latest run only', async () => {
  const store = new FakeStore();
  const save = useRequest({ request: (c, op) => store.request(c, op) });
  const first = save.run('tasks', { op: 'insert', id: 't1', doc: {} });
  const second = save.run('tasks', { op: 'insert', id: 't2', doc: {} });
  const [r1, r2] = store.pendingRids();
  store.confirm(r2);
  await second;
  store.reject(r1, new ValidationError('late', { code: 'malformed' }));
  await first;
  assert.equal(save.state.value, 'confirmed');
  assert.equal(save.error.value, null);
});

test('useDocument stops following its object when its last user stops, by id key', async () => {
  const store = new FakeStore();
  const oid = { $oid: '65a1f0c2e4b0a1b2c3d4e5f6' };
  store.put('tasks', { _id: oid, title: 'a' });
  const [first, scopeA] = inScope(() => useDocument('tasks', () => ({ ...oid }), store));
  const [, scopeB] = inScope(() => useDocument('tasks', oid, store));
  first.stop();
  await settle();
  assert.deepEqual(store.unwatchedObjects, [], 'the other component still shows it');
  scopeB.stop();
  await settle();
  assert.deepEqual(store.unwatchedObjects, [['tasks', oid]]);
  scopeA.stop();
});
