import assert from 'node:assert/strict';
import test from 'node:test';
import { createStore } from 'vuex';
import { ConflictError } from 'vmm-client/errors';
import { createVmmVuexPlugin } from 'vmm-client/vuex';
import { FakeStore } from './fake-store.mjs';
import { settle } from './settle.mjs';

test('the Vuex plugin mirrors a collection and the status', async () => {
  const store = new FakeStore({ status: 'connecting' });
  store.put('tasks', { _id: 't1', title: 'a' });
  const vuex = createStore({ strict: true, plugins: [createVmmVuexPlugin(store, { collections: ['tasks'] })] });
  assert.deepEqual(store.watched, ['tasks']);
  assert.deepEqual(vuex.state.vmm.collections.tasks, [{ _id: 't1', title: 'a' }]);
  assert.equal(vuex.state.vmm.status, 'connecting');

  store.put('tasks', { _id: 't2', title: 'b' });
  store.setStatus('online');
  await settle();
  assert.deepEqual(
    vuex.state.vmm.collections.tasks.map((d) => d._id),
    ['t1', 't2'],
  );
  assert.ok(Object.isFrozen(vuex.state.vmm.collections.tasks), 'a snapshot, not deeply reactive');
  assert.equal(vuex.state.vmm.status, 'online');

  await vuex.dispatch('vmm/watch', 'notes');
  assert.deepEqual(store.watched, ['tasks', 'notes']);
  store.put('notes', { _id: 'n1' });
  await settle();
  assert.deepEqual(vuex.state.vmm.collections.notes, [{ _id: 'n1' }]);
});

test('the Vuex action calls request and returns its promise', async () => {
  const store = new FakeStore();
  const vuex = createStore({ plugins: [createVmmVuexPlugin(store, { namespace: 'db', collections: ['tasks'] })] });

  const inserted = vuex.dispatch('db/request', { collection: 'tasks', op: { op: 'insert', id: 't1', doc: { title: 'x' } } });
  await settle();
  assert.deepEqual(vuex.state.db.collections.tasks, [{ _id: 't1', title: 'x' }], 'shown while pending');
  assert.equal(vuex.state.db.pendingCount, 1);
  store.confirm(store.pendingRids()[0]);
  const event = await inserted;
  assert.equal(event.type, 'event');
  assert.equal(event.rid, 'r1');
  assert.equal(event.version, 1);
  await settle();
  assert.equal(vuex.state.db.pendingCount, 0);

  const updated = vuex.dispatch('db/request', {
    collection: 'tasks',
    op: { op: 'update', id: 't1', update: { $set: { title: 'y' } } },
  });
  store.reject(store.pendingRids()[0], new ConflictError('stale', { code: 'conflict', current: 7 }));
  await assert.rejects(updated, (err) => err instanceof ConflictError && err.current === 7);
  await settle();
  assert.equal(vuex.state.db.collections.tasks[0].title, 'x', 'rolled back');
});

test('the Vuex plugin follows pending changes of collections it does not mirror, through onStatus', async () => {
  const store = new FakeStore();
  const commits = [];
  const vuex = createStore({ plugins: [createVmmVuexPlugin(store)] });
  vuex.subscribe((mutation) => commits.push(mutation.type));

  const done = store.request('notes', { op: 'insert', id: 'n1', doc: { text: 'x' } });
  store.request('notes', { op: 'insert', id: 'n2', doc: { text: 'y' } });
  await settle();
  assert.equal(vuex.state.vmm.pendingCount, 2);
  assert.deepEqual(commits, ['vmm/setStatus'], 'one commit for the burst, none per collection change');

  store.confirm(store.pendingRids()[0]);
  await done;
  await settle();
  assert.equal(vuex.state.vmm.pendingCount, 1);
  assert.equal(store.listenerCount(), 1, 'only the status listener');
});

test('the Vuex plugin watches a collection the store already watches without a second subscription', () => {
  const store = new FakeStore({ collections: ['tasks'] });
  createStore({ plugins: [createVmmVuexPlugin(store, { collections: ['tasks'] })] });
  assert.deepEqual(store.watched, ['tasks']);
});
