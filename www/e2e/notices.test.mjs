// The words of the demo's notices and status (www/src/notices.js, status.js), without a browser:
// every kind of lost change is named, with why and what the task is now.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canRedo, lostText } from '../src/notices.js';
import { statusLabel, statusSentence } from '../src/status.js';

const update = (set) => ({ op: 'update', id: 't', update: { $set: set }, policy: 'merge' });
const lost = (code, op, title = 'Buy milk') => ({ code, id: 't', op, title, message: 'm' });

test('A lost change names what was lost, why, and what the task is now', () => {
  const now = { _id: 't', title: 'Buy oat milk', done: true };
  assert.equal(lostText(lost('conflict', update({ title: 'Buy bread' })), now),
    'Lost: your rename of “Buy milk” to “Buy bread”, because someone else changed the same thing first. Its title is “Buy oat milk”.');
  assert.equal(lostText(lost('conflict', update({ done: false })), now),
    'Lost: your marking of “Buy milk” as not done, because someone else changed the same thing first. It is done.');
  assert.equal(lostText(lost('conflict', update({ order: 2.5 })), now),
    'Lost: your move of “Buy milk”, because someone else changed the same thing first. Its title is “Buy oat milk”.');
  assert.equal(lostText(lost('conflict', { op: 'delete', id: 't' }), now),
    'Lost: your delete of “Buy milk”, because someone else changed the task meanwhile. Its title is “Buy oat milk”.');
  assert.equal(lostText(lost('not_found', update({ title: 'x' })), undefined),
    'Lost: your rename of “Buy milk” to “x”, because the task was deleted meanwhile. The task is no longer on the board.');
  assert.equal(lostText(lost('invalid_document', { op: 'insert', id: 't', doc: { title: 'New' } }, undefined), undefined),
    'Lost: your new task “New”, because the server does not accept the task as it is (m).');
  assert.equal(lostText(lost('refused', { op: 'insert', id: 't', doc: { title: 'New' } }, undefined), undefined),
    'Lost: your new task “New”, because the server refused it (m).');
  assert.equal(lostText(lost('forbidden', update({ title: 'x' })), now),
    'Lost: your rename of “Buy milk” to “x”, because only the user who created the task may change it. Its title is “Buy oat milk”.');
  assert.equal(lostText(lost('cancelled', update({ done: true })), now),
    'Lost: your marking of “Buy milk” as done, because it was cancelled. It is done.');
});

test('Redo is offered when sending the same change again can work', () => {
  const now = { _id: 't', title: 'x' };
  assert.equal(canRedo(lost('conflict', update({ title: 'y' })), now), true);
  assert.equal(canRedo(lost('conflict', { op: 'delete', id: 't' }), now), true);
  assert.equal(canRedo(lost('not_found', update({ title: 'y' })), undefined), false, 'the task is gone');
  assert.equal(canRedo(lost('forbidden', update({ title: 'y' })), now), false);
  assert.equal(canRedo(lost('invalid_update', update({ title: 'y' })), now), false);
  assert.equal(canRedo(lost('aborted', { op: 'insert', id: 't', doc: {} }), undefined), true);
  assert.equal(canRedo(lost('conflict', { op: 'insert', id: 't', doc: {} }), undefined), false, 'the id is taken');
});

test('Every status has words; the problem says why the broker cannot be reached', () => {
  for (const s of ['connecting', 'online', 'offline', 'unreachable', 'no-bridge', 'resyncing']) {
    assert.notEqual(statusLabel(s), s === 'online' ? '' : s, `a label for ${s}`);
  }
  assert.equal(statusLabel('offline'), 'Offline (you chose it)');
  assert.equal(statusSentence('online', null), '');
  assert.equal(statusSentence('no-bridge', null), 'No server is answering: changes are kept and sent when it is back.');
  assert.equal(statusSentence('unreachable', { reason: 'refused', message: 'm' }),
    'Cannot reach the broker: it refused the connection. Retrying; changes are kept.');
  assert.equal(statusSentence('unreachable', { reason: 'network', message: 'm' }, 'ws://h:1'),
    'Cannot reach the broker: no connection to ws://h:1 (is it running?). Retrying; changes are kept.');
});
