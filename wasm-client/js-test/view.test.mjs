import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CollectionView, idKey } from '../js/view.js';

const entry = (key, doc, pending) => ({ key, id: key, doc, pending });

test('a collection view keeps the store order through inserts, updates and deletes', () => {
  const view = new CollectionView([entry('s:b', { n: 2 }), entry('s:d', { n: 4 })]);
  assert.deepEqual(view.apply([entry('s:c', { n: 3 }), entry('s:a', { n: 1 }), entry('s:e', { n: 5 })]), { docs: true, pending: false });
  assert.deepEqual(view.list().map((d) => d.n), [1, 2, 3, 4, 5]);
  assert.equal(view.apply([entry('s:c', null), entry('s:b', { n: 20 })]).docs, true);
  assert.deepEqual(view.list().map((d) => d.n), [1, 20, 4, 5]);
});

test('a collection view ignores the delete of an object it does not hold and an empty batch', () => {
  const view = new CollectionView([entry('s:a', { n: 1 })]);
  const before = view.list();
  assert.deepEqual(view.apply([entry('s:zz', null)]), { docs: false, pending: false });
  assert.deepEqual(view.apply([]), { docs: false, pending: false });
  assert.deepEqual(view.list(), before);
  assert.notEqual(view.list(), before, 'every list is a new array (a snapshot)');
});

test('a collection view knows which keys have pending changes, from the entries and each change', () => {
  const view = new CollectionView([entry('s:a', { n: 1 }, 2), entry('s:b', { n: 2 }, 0)]);
  assert.deepEqual([...view.pendingKeys()], ['s:a']);
  assert.deepEqual(view.apply([entry('s:b', { n: 3 }, 1)]), { docs: true, pending: true });
  assert.deepEqual(view.apply([entry('s:b', { n: 4 }, 2)]), { docs: true, pending: false }, 'still pending');
  assert.deepEqual(view.apply([entry('s:a', { n: 1 }, 0), entry('s:c', null, 1)]), { docs: true, pending: true });
  assert.deepEqual([...view.pendingKeys()].sort(), ['s:b', 's:c'], 'a pending delete is pending too');
  const snapshot = view.pendingKeys();
  view.apply([entry('s:b', { n: 4 }, 0)]);
  assert.deepEqual([...snapshot].sort(), ['s:b', 's:c'], 'a snapshot does not change afterwards');
});

test('idKey writes ids as the protocol does (PROTOCOL.md §3.3)', () => {
  assert.equal(idKey({ $oid: '65A1F0C2E4B0A1B2C3D4E5F6' }), 'o:65a1f0c2e4b0a1b2c3d4e5f6');
  assert.equal(idKey({ toHexString: () => '65a1f0c2e4b0a1b2c3d4e5f6' }), 'o:65a1f0c2e4b0a1b2c3d4e5f6');
  assert.equal(idKey('task 1/2'), 's:task%201%2F2');
  assert.equal(idKey("a-b.c_d~e!'()*é"), "s:a-b.c_d~e%21%27%28%29%2A%C3%A9");
  assert.equal(idKey(42), 'i:42');
  assert.equal(idKey(-7), 'i:-7');
  assert.equal(idKey(2n ** 60n), 'i:1152921504606846976');
  assert.equal(idKey(1.5), undefined);
  assert.equal(idKey(null), undefined);
});
