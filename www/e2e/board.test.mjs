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
    // New tasks get ObjectId ids; each row is keyed by its id key.
    for (const key of [a1, a2, b1]) assert.match(key, /^o:[0-9a-f]{24}$/);
    assert.equal(new Set([a1, a2, b1]).size, 3);

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
    const notice = board.notices(b, 'conflict');
    await notice.first().waitFor({ state: 'visible', timeout: 30_000 });
    await expectText(board.task(b, x).getByTestId('title'), 'from A', { timeout: 30_000, message: "B: X rolled back to A's title" });
    await expectAttr(board.task(b, x), 'data-pending', 'false', { message: 'B: X no longer pending' });

    const { list, titles } = await converged([a, b]);
    assert.equal(list.length, 1);
    assert.deepEqual(titles, ['from A']);
    assert.equal(await board.notices(a).count(), 0, 'A got no notice');

    // The notice names what was lost (the rename, from and to) and what the title is now.
    await expectCount(notice, 1, { message: 'B: one notice' });
    await expectText(notice.getByTestId('notice-text'),
      'Lost: your rename of “X” to “from B”, because someone else changed the same thing first. Its title is “from A”.');
    await s.screenshot('-notice', ['B']);

    // Redo sends the same rename again, on the current version: it wins this time, everywhere.
    await notice.getByTestId('redo').click();
    await expectCount(board.notices(b), 0, { message: 'B: the notice goes with the redo' });
    await expectText(board.task(b, x).getByTestId('title'), 'from B', { timeout: 3_000, message: 'B shows the redone rename at once' });
    const after = await converged([a, b]);
    assert.deepEqual(after.titles, ['from B']);
    assert.equal((await board.stored(a, x)).version, 3, 'insert, A rename, B redo: version 3');
    assert.equal(await board.notices(b).count(), 0, 'the redo was not refused');

    // A notice can also be dismissed.
    await b.getByTestId('offline-toggle').click();
    await expectAttr(board.status(b), 'data-status', 'offline', { message: 'B: offline again' });
    await board.editTitle(a, x, 'from A again');
    await expectAttr(board.task(a, x), 'data-pending', 'false', { message: "A: A's second edit confirmed" });
    await board.editTitle(b, x, 'from B again');
    await b.getByTestId('offline-toggle').click();
    await notice.first().waitFor({ state: 'visible', timeout: 30_000 });
    await notice.getByTestId('dismiss').click();
    await expectCount(board.notices(b), 0, { message: 'B: notice dismissed' });
    assert.deepEqual((await converged([a, b])).titles, ['from A again']);
  });
});

test('A rename and "done" of the same task made at the same time are both kept (merge policy): no conflict', { timeout: 180_000 }, async (t) => {
  await h.scenario(t, 'rename and done merge', async (s) => {
    const a = await s.open('A');
    const b = await s.open('B');
    const x = await board.add(a, 'X');
    await expectAttr(board.task(a, x), 'data-pending', 'false', { message: 'A: X confirmed' });
    await converged([a, b]);

    // B, offline, marks X done; A renames it meanwhile (confirmed first).
    await b.getByTestId('offline-toggle').click();
    await expectAttr(board.status(b), 'data-status', 'offline', { message: 'B: offline' });
    assert.equal(await board.statusText(b), 'Offline (you chose it): changes are kept and sent when you go online again.');
    await board.task(b, x).getByTestId('done').check();
    await expectAttr(board.task(b, x), 'data-pending', 'true', { timeout: 3_000, message: 'B: done pending' });
    await board.editTitle(a, x, 'X renamed by A');
    await expectAttr(board.task(a, x), 'data-pending', 'false', { message: "A: the rename confirmed" });

    await b.getByTestId('offline-toggle').click();
    const { titles } = await converged([a, b]);
    assert.deepEqual(titles, ['X renamed by A']);
    for (const page of [a, b]) {
      assert.equal(await board.task(page, x).getByTestId('done').isChecked(), true, 'X is done');
      const stored = await board.stored(page, x);
      assert.equal(stored.version, 3, 'insert, rename, done: version 3');
      assert.equal(stored.doc.done, true);
    }
    assert.equal(await board.notices(a).count(), 0, 'A: no notice');
    assert.equal(await board.notices(b).count(), 0, 'B: no notice (no conflict)');
  });
});

test('Tasks with ObjectId ids are rows of their own, keyed by their id keys', { timeout: 120_000 }, async (t) => {
  await h.scenario(t, 'objectid rows', async (s) => {
    const a = await s.open('A');
    const hex = ['65a1f0c2e4b0a1b2c3d4e5f6', '65a1f0c2e4b0a1b2c3d4e5f7'];
    await a.evaluate((hex) => Promise.all(hex.map((h, i) =>
      window.__vmm.request('tasks', { op: 'insert', id: { $oid: h }, doc: { title: `oid ${i}`, done: false, order: i + 1 } }))), hex);
    const b = await s.open('B');
    for (const page of [a, b]) {
      await expectCount(board.tasks(page), 2, { message: 'two rows' });
      assert.deepEqual(await board.tasks(page).evaluateAll((lis) => lis.map((li) => li.getAttribute('data-id'))),
        hex.map((h) => `o:${h}`));
    }
    // Editing one changes that one only.
    await board.editTitle(b, `o:${hex[1]}`, 'oid 1, renamed');
    const { titles } = await converged([a, b]);
    assert.deepEqual(titles, ['oid 0', 'oid 1, renamed']);
    assert.equal((await board.stored(a, `o:${hex[0]}`)).version, 1);
    assert.equal((await board.stored(a, `o:${hex[1]}`)).version, 2);
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

    // The page says no server is answering (once the broker publishes the killed bridge's will:
    // its keep-alive is 10 s, the will goes out after 1.5 times that).
    await expectAttr(board.status(a), 'data-status', 'no-bridge', { timeout: 30_000, message: 'A: status no-bridge' });
    await expectText(board.status(a).locator('.label'), 'No server answering', { timeout: 1_000 });
    assert.equal(await board.statusText(a), 'No server is answering: changes are kept and sent when it is back.');
    await expectText(board.pendingCount(a), '2', { timeout: 1_000, message: 'A: two pending changes' });
    await expectAttr(board.task(a, keep), 'data-pending', 'false', { timeout: 1_000, message: 'the untouched task is not pending' });
    await s.screenshot('-waiting', ['A']);

    // The bridge comes back: the requests are resent and confirmed.
    await s.bridge.start();
    await expectAttr(board.status(a), 'data-status', 'online', { timeout: 10_000, message: 'A: badge online' });
    assert.equal(await board.statusText(a), '', 'no status line when online');
    await expectText(board.pendingCount(a), '0', { timeout: 10_000, message: 'A: pending-count 0' });
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
