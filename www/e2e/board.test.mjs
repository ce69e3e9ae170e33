// End-to-end scenarios of the demo task board: real Chromium pages, a real bridge, Mosquitto and
// FerretDB. Each scenario gets its own topic prefix, database and bridge (see harness.mjs).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { board, eventually, expectAttr, expectCount, expectText, setup } from './harness.mjs';

let h;
before(async () => { h = await setup(); });
after(async () => { await h?.close(); });

/** Waits until every page shows the same store list and the same titles, nothing pending. */
async function converged(pages, { timeout = 30_000 } = {}) {
  return eventually(async () => {
    const lists = [];
    const titles = [];
    for (const [i, page] of pages.entries()) {
      await board.assertSettled(page, `page ${i}`);
      lists.push(await board.docs(page));
      titles.push(await board.titles(page));
    }
    for (let i = 1; i < pages.length; i++) {
      assert.deepEqual(lists[i], lists[0], `store lists of page ${i} and page 0 differ`);
      assert.deepEqual(titles[i], titles[0], `rendered titles of page ${i} and page 0 differ`);
    }
    return { list: lists[0], titles: titles[0] };
  }, { timeout, message: 'pages converge' });
}

test('Two clients editing the same board converge to the same list', { timeout: 180_000 }, async (t) => {
  await h.scenario(t, 'two clients converge', async (s) => {
    const a = await s.open('A');
    const b = await s.open('B');

    const a1 = await board.add(a, 'A first');
    const a2 = await board.add(a, 'A second');
    const b1 = await board.add(b, 'B only');

    // Each sees the other's tasks.
    await expectCount(board.task(b, a1), 1, { message: 'B sees A first' });
    await expectCount(board.task(b, a2), 1, { message: 'B sees A second' });
    await expectCount(board.task(a, b1), 1, { message: 'A sees B only' });
    await expectAttr(board.task(b, a1), 'data-pending', 'false', { message: "B: A's first task confirmed" });
    await expectAttr(board.task(a, b1), 'data-pending', 'false', { message: "A: B's task confirmed" });

    // B edits A's first title; A completes B's task.
    await board.editTitle(b, a1, 'A first, edited by B');
    await expectText(board.task(b, a1).getByTestId('title'), 'A first, edited by B', { timeout: 5_000, message: "B shows its edit at once" });
    await board.task(a, b1).getByTestId('done').check();

    const { list, titles } = await converged([a, b]);
    assert.equal(list.length, 3, `three tasks, got ${JSON.stringify(list)}`);
    assert.deepEqual([...titles].sort(), ['A first, edited by B', 'A second', 'B only']);
    for (const page of [a, b]) {
      await expectText(board.task(page, a1).getByTestId('title'), 'A first, edited by B');
      assert.equal(await board.task(page, b1).getByTestId('done').isChecked(), true, "B's task is done");
      assert.equal(await board.task(page, a1).getByTestId('done').isChecked(), false, "A's first task is not done");
    }
  });
});

test('One client goes offline, both edit the same task, and the offline edit loses with a conflict', { timeout: 180_000 }, async (t) => {
  await h.scenario(t, 'offline conflict', async (s) => {
    const a = await s.open('A');
    const b = await s.open('B');

    const x = await board.add(a, 'X');
    await expectAttr(board.task(a, x), 'data-pending', 'false', { message: 'A: X confirmed' });
    await expectCount(board.task(b, x), 1, { message: 'B sees X' });
    await converged([a, b]);

    // B goes offline.
    await b.getByTestId('offline-toggle').click();
    await expectAttr(board.status(b), 'data-status', 'offline', { message: 'B: badge offline' });

    // A edits X; it is confirmed. B, offline, does not see it.
    await board.editTitle(a, x, 'from A');
    await expectText(board.task(a, x).getByTestId('title'), 'from A');
    await expectAttr(board.task(a, x), 'data-pending', 'false', { message: "A: A's edit confirmed" });
    await expectText(board.task(b, x).getByTestId('title'), 'X', { message: 'B (offline) still shows X' });

    // B edits X while offline: shown at once, pending.
    await board.editTitle(b, x, 'from B');
    await expectText(board.task(b, x).getByTestId('title'), 'from B', { timeout: 3_000, message: "B shows its edit at once" });
    await expectAttr(board.task(b, x), 'data-pending', 'true', { timeout: 3_000, message: "B: its edit is pending" });
    await expectText(board.pendingCount(b), '1', { timeout: 3_000, message: 'B: pending-count' });

    // B comes back: its edit is refused (conflict) and rolled back to A's.
    await b.getByTestId('offline-toggle').click();
    await expectAttr(board.status(b), 'data-status', 'online', { timeout: 30_000, message: 'B: badge online again' });
    await board.notices(b, 'conflict').first().waitFor({ state: 'visible', timeout: 30_000 });
    await expectText(board.task(b, x).getByTestId('title'), 'from A', { timeout: 30_000, message: "B: X rolled back to A's title" });
    await expectAttr(board.task(b, x), 'data-pending', 'false', { message: 'B: X no longer pending' });

    const { list, titles } = await converged([a, b]);
    assert.equal(list.length, 1);
    assert.deepEqual(titles, ['from A']);
    assert.equal(await board.notices(a, 'conflict').count(), 0, 'A got no conflict notice');

    // The notice can be dismissed (after the screenshot-worthy state was checked).
    await s.screenshot('-notice', ['B']);
    await board.notices(b, 'conflict').first().getByTestId('dismiss').click();
    await expectCount(board.notices(b, 'conflict'), 0, { message: 'B: conflict notice dismissed' });
  });
});

test('The bridge is restarted in the middle of editing and nothing is lost', { timeout: 240_000 }, async (t) => {
  await h.scenario(t, 'bridge restart', async (s) => {
    const a = await s.open('A');
    const keep = await board.add(a, 'before the outage');
    const other = await board.add(a, 'to be edited');
    await converged([a]);

    // The bridge dies; A keeps editing.
    await s.bridge.kill('SIGKILL');
    const added = await board.add(a, 'added while the bridge is down');
    await board.editTitle(a, other, 'edited while the bridge is down');
    await expectText(board.task(a, other).getByTestId('title'), 'edited while the bridge is down', { timeout: 3_000, message: 'A shows its edit at once' });
    await expectAttr(board.task(a, added), 'data-pending', 'true', { timeout: 3_000, message: 'the new task is pending' });
    await expectAttr(board.task(a, other), 'data-pending', 'true', { timeout: 3_000, message: 'the edit is pending' });

    // The badge shows the bridge is not answering.
    await expectAttr(board.status(a), 'data-waiting', 'true', { timeout: 10_000, message: 'A: badge waiting' });
    assert.equal(await board.status(a).getAttribute('data-status'), 'online', 'still online (the broker is up)');
    await expectText(board.pendingCount(a), '2', { timeout: 1_000, message: 'A: two pending changes' });
    await expectAttr(board.task(a, keep), 'data-pending', 'false', { timeout: 1_000, message: 'the untouched task is not pending' });
    await s.screenshot('-waiting', ['A']);

    // The bridge comes back: the requests are resent and confirmed.
    await s.bridge.start();
    await expectAttr(board.status(a), 'data-waiting', 'false', { timeout: 90_000, message: 'A: badge no longer waiting' });
    await expectAttr(board.status(a), 'data-status', 'online', { timeout: 5_000, message: 'A: badge online' });
    await expectText(board.pendingCount(a), '0', { timeout: 90_000, message: 'A: pending-count 0' });
    await expectAttr(board.task(a, added), 'data-pending', 'false', { timeout: 5_000, message: 'the new task is confirmed' });
    await expectAttr(board.task(a, other), 'data-pending', 'false', { timeout: 5_000, message: 'the edit is confirmed' });
    await expectText(board.task(a, other).getByTestId('title'), 'edited while the bridge is down');

    // A fresh client loads the board and sees exactly A's list.
    const b = await s.open('B');
    const { list, titles } = await converged([a, b]);
    assert.equal(list.length, 3, `three tasks, got ${JSON.stringify(list)}`);
    assert.deepEqual([...titles].sort(),
      ['added while the bridge is down', 'before the outage', 'edited while the bridge is down']);
    assert.deepEqual(await board.idsOf(b, 'added while the bridge is down'), [added]);
  });
});
