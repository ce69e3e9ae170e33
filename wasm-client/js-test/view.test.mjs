import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CollectionView } from '../js/view.js';

const entry = (key, doc) => ({ key, id: key, doc });

test('a collection view keeps the store order through inserts, updates and deletes', () => {
  const view = new CollectionView([entry('s:b', { n: 2 }), entry('s:d', { n: 4 })]);
  assert.equal(view.apply([entry('s:c', { n: 3 }), entry('s:a', { n: 1 }), entry('s:e', { n: 5 })]), true);
  assert.deepEqual(view.list().map((d) => d.n), [1, 2, 3, 4, 5]);
  assert.equal(view.apply([entry('s:c', null), entry('s:b', { n: 20 })]), true);
  assert.deepEqual(view.list().map((d) => d.n), [1, 20, 4, 5]);
});

test('a collection view ignores the delete of an object it does not hold and an empty batch', () => {
  const view = new CollectionView([entry('s:a', { n: 1 })]);
  const before = view.list();
  assert.equal(view.apply([entry('s:zz', null)]), false);
  assert.equal(view.apply([]), false);
  assert.deepEqual(view.list(), before);
  assert.notEqual(view.list(), before, 'every list is a new array (a snapshot)');
});
