// End-to-end scenarios of what goes wrong: a bridge that is down when the page opens, a bridge
// killed for longer than any timeout, a broker that refuses the client, a broker that is not
// there. They run at the same time (each has its own prefix, database and bridge), so that the
// 90 s outage costs the run 90 s once.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { board, eventually, expectAttr, expectCount, expectText, freePort, setup, wsAuthUrl } from './harness.mjs';

let h;
before(async () => { h = await setup(); });
after(async () => { await h?.close(); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until the task `key` is shown confirmed (polled every 20 ms); returns Date.now() then. */
async function confirmedAt(page, key, timeout) {
  await page.waitForFunction(
    (key) => document.querySelector(`li[data-testid=task][data-id="${CSS.escape(key)}"]`)?.getAttribute('data-pending') === 'false',
    key, { polling: 20, timeout });
  return Date.now();
}

/** The page says the broker is unreachable for `reason`, and the app's error handler got that
 * `ConnectionError`; returns it. */
async function unreachableFor(page, reason) {
  await expectAttr(board.status(page), 'data-status', 'unreachable', { timeout: 15_000, message: 'A: status unreachable' });
  await expectAttr(board.status(page), 'data-reason', reason, { timeout: 1_000 });
  const errors = await eventually(async () => {
    const all = (await board.errors(page)).filter((e) => e.code === 'connection');
    if (all.length === 0) throw new Error('the error handler got no connection error');
    return all;
  }, { timeout: 5_000, message: 'A: the error handler' });
  assert.equal(errors[0].name, 'ConnectionError');
  assert.equal(errors[0].reason, reason);
  return errors[0];
}

/** Asserts that the page never showed "No tasks yet" (its empty list's states, recorded since it loaded). */
async function neverEmpty(page, who) {
  const states = await board.emptyStates(page);
  assert.ok(!states.includes('empty'), `${who} showed "No tasks yet" (states: ${states.join(', ')})`);
}

describe('outages', { concurrency: true }, () => {
  test('A page opened while the bridge is down waits for it, and a task added there is inserted exactly once within 2 s of the bridge\'s start', { timeout: 120_000 }, async (t) => {
    await h.scenario(t, 'opened while the bridge is down', async (s) => {
      // Two tasks on the board, then the bridge stops (cleanly: its presence is cleared at once).
      const a = await s.open('A');
      const first = await board.add(a, 'stored before');
      const second = await board.add(a, 'stored before, too');
      await expectAttr(board.task(a, first), 'data-pending', 'false');
      await expectAttr(board.task(a, second), 'data-pending', 'false');
      await s.bridge.kill('SIGTERM');

      // A new page: it waits for the server, and never claims the board is empty.
      const b = await s.open('B', { online: false });
      await expectAttr(board.status(b), 'data-status', 'no-bridge', { timeout: 15_000, message: 'B: status no-bridge' });
      assert.equal(await board.statusText(b), 'No server is answering: changes are kept and sent when it is back.');
      await expectAttr(b.getByTestId('empty'), 'data-state', 'waiting', { timeout: 1_000, message: 'B: waiting' });
      await expectText(b.getByTestId('empty'), 'Waiting for the server…');
      await b.waitForFunction(() => !!window.__vmm, null, { timeout: 5_000 });

      // A task added there is shown at once, pending.
      const added = await board.add(b, 'added while the bridge is down');
      await expectAttr(board.task(b, added), 'data-pending', 'true', { timeout: 1_000, message: 'the new task is pending' });
      await expectText(board.pendingCount(b), '1', { timeout: 1_000 });
      await s.screenshot('-waiting', ['B']);

      // The bridge starts: the task is confirmed within 2 s of its start.
      const starting = s.bridge.start();
      const confirmed = await confirmedAt(b, added, 15_000);
      await starting;
      const took = confirmed - s.bridge.startedAt;
      t.diagnostic(`confirmed ${took} ms after the bridge was started (it served after ${s.bridge.servingAt - s.bridge.startedAt} ms)`);
      assert.ok(took <= 2_000, `the task was confirmed ${took} ms after the bridge's start (at most 2,000)`);

      await expectAttr(board.status(b), 'data-status', 'online', { timeout: 5_000, message: 'B: online' });
      await expectCount(board.tasks(b), 3, { timeout: 5_000, message: 'B: the stored tasks and the new one' });
      await expectText(board.pendingCount(b), '0', { timeout: 5_000 });
      await neverEmpty(b, 'B');
      assert.equal(await board.notices(b).count(), 0, 'B: no notice');

      // Inserted exactly once: a fresh page loads it from the database, once, at version 1.
      const c = await s.open('C');
      await expectCount(board.tasks(c), 3, { message: 'C: three tasks' });
      assert.deepEqual(await board.idsOf(c, 'added while the bridge is down'), [added]);
      const stored = await board.stored(c, added);
      assert.equal(stored.version, 1, `one insert: version 1, got ${JSON.stringify(stored)}`);
      await neverEmpty(c, 'C');
    });
  });

  test('A bridge killed for 90 s with edits pending: every edit is confirmed exactly once afterwards, none rolled back', { timeout: 240_000 }, async (t) => {
    await h.scenario(t, 'bridge down for 90 s', async (s) => {
      const a = await s.open('A');
      const renamed = await board.add(a, 'to be renamed twice');
      const done = await board.add(a, 'to be done');
      const deleted = await board.add(a, 'to be deleted');
      for (const key of [renamed, done, deleted]) await expectAttr(board.task(a, key), 'data-pending', 'false');

      await s.bridge.kill('SIGKILL');
      const killedAt = Date.now();
      await board.editTitle(a, renamed, 'renamed once');
      await expectText(board.task(a, renamed).getByTestId('title'), 'renamed once', { timeout: 3_000 });
      await board.editTitle(a, renamed, 'renamed twice');
      await board.task(a, done).getByTestId('done').check();
      await board.task(a, deleted).getByTestId('delete').click();
      const added = await board.add(a, 'added during the outage');
      await expectText(board.pendingCount(a), '5', { timeout: 3_000, message: 'A: five changes pending' });

      // The broker publishes the bridge's will (keep-alive 10 s, so after at most 15 s).
      await expectAttr(board.status(a), 'data-status', 'no-bridge', { timeout: 30_000, message: 'A: status no-bridge' });
      await s.screenshot('-no-bridge', ['A']);

      // 90 s, longer than any timeout: nothing is rolled back, everything stays pending and shown.
      while (Date.now() - killedAt < 90_000) {
        assert.equal(await board.notices(a).count(), 0, `a notice after ${Date.now() - killedAt} ms: ${await board.notices(a).allTextContents()}`);
        assert.equal((await board.pendingCount(a).textContent()).trim(), '5', 'still five changes pending');
        assert.equal(await board.status(a).getAttribute('data-status'), 'no-bridge');
        await sleep(2_000);
      }
      assert.deepEqual([...(await board.titles(a))].sort(), ['added during the outage', 'renamed twice', 'to be done']);

      await s.bridge.start();
      await expectText(board.pendingCount(a), '0', { timeout: 10_000, message: 'A: every change confirmed' });
      await expectAttr(board.status(a), 'data-status', 'online', { timeout: 5_000 });
      assert.equal(await board.notices(a).count(), 0, 'A: no notice (nothing rolled back)');
      assert.deepEqual((await board.errors(a)).filter((e) => e.code !== 'connection'), [], 'A: no error');

      // Each change applied once: a fresh page loads the versions from the database.
      const b = await s.open('B');
      await expectCount(board.tasks(b), 3, { message: 'B: three tasks' });
      const r = await board.stored(b, renamed);
      assert.equal(r.doc.title, 'renamed twice');
      assert.equal(r.version, 3, 'insert and two renames: version 3');
      const d = await board.stored(b, done);
      assert.equal(d.doc.done, true);
      assert.equal(d.version, 2, 'insert and done: version 2');
      assert.equal(await board.stored(b, deleted), null, 'the deleted task is gone');
      assert.equal((await board.stored(b, added)).version, 1, 'the new task: inserted once');
      for (const key of [renamed, done, added]) {
        assert.deepEqual(await board.stored(a, key), { ...(await board.stored(b, key)), pending: 0 });
      }
    });
  });

  test('A broker that refuses the client (not authorized): the error handler gets reason "auth" and the page says so', { timeout: 60_000 }, async (t) => {
    await h.scenario(t, 'broker refuses', async (s) => {
      const a = await s.open('A', { online: false, ws: wsAuthUrl() });
      const error = await unreachableFor(a, 'auth');
      assert.equal(error.info, 'vmm connection');
      assert.equal(await board.statusText(a), "Cannot reach the broker: it did not accept this client's credentials. Retrying; changes are kept.");
      await expectAttr(a.getByTestId('empty'), 'data-state', 'waiting', { timeout: 1_000 });
      await s.screenshot('-refused', ['A']);
      // A change made meanwhile is kept, pending, and the list says it is not the whole board.
      await a.waitForFunction(() => !!window.__vmm, null, { timeout: 5_000 });
      const kept = await board.add(a, 'kept while refused');
      await expectAttr(board.task(a, kept), 'data-pending', 'true', { timeout: 1_000 });
      await expectText(board.pendingCount(a), '1', { timeout: 1_000 });
      await a.getByTestId('loading-hint').waitFor({ state: 'visible', timeout: 1_000 });
      await neverEmpty(a, 'A');
    }, { bridge: false });
  });

  test('A page pointed at a closed port: the error handler gets reason "network" and the page says so', { timeout: 60_000 }, async (t) => {
    await h.scenario(t, 'no broker', async (s) => {
      const port = await freePort();
      const a = await s.open('A', { online: false, ws: `ws://127.0.0.1:${port}` });
      await unreachableFor(a, 'network');
      assert.equal(await board.statusText(a),
        `Cannot reach the broker: no connection to ws://127.0.0.1:${port} (is it running?). Retrying; changes are kept.`);
      await expectAttr(a.getByTestId('empty'), 'data-state', 'waiting', { timeout: 1_000 });
      await neverEmpty(a, 'A');
    }, { bridge: false });
  });
});
