// End-to-end scenarios of the secure profile (docs/SECURITY.md): the demo's login against the
// broker's password listener and ACL, the bridge's permissions (a task belongs to the user who
// created it), a refused password, and the browser client over TLS with the generated
// certificate. The bridges log in as vmm-bridge over MQTT with TLS (harness.mjs `secure`).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { board, eventually, expectAttr, expectCount, expectText, launchBrowser, secure, setup } from './harness.mjs';

const alice = { user: 'alice', password: 'alice-secret' };
const bob = { user: 'bob', password: 'bob-secret' };

let h;
before(async () => { h = await setup(); });
after(async () => { await h?.close(); });

const securely = () => ({ bridgeArgs: secure.bridgeArgs() });

describe('secure profile', { concurrency: true }, () => {
  test('Alice and Bob log in: each sees every task, the bridge records who owns it, and Bob cannot change Alice\'s task', { timeout: 120_000 }, async (t) => {
    await h.scenario(t, 'two users and ownership', async (s) => {
      const a = await s.open('A', { ws: secure.wsUrl(), login: alice });
      const b = await s.open('B', { ws: secure.wsUrl(), login: bob });
      await expectText(a.getByTestId('user'), 'alice');
      await expectText(b.getByTestId('user'), 'bob');

      const mine = await board.add(a, 'Alice writes the report');
      await expectAttr(board.task(a, mine), 'data-pending', 'false', { message: "A: Alice's task confirmed" });
      await expectCount(board.task(b, mine), 1, { message: "B sees Alice's task" });
      // The bridge set the owner from the identity the broker authenticated.
      const stored = await eventually(async () => {
        const e = await board.stored(b, mine);
        if (!e) throw new Error('B has no such task');
        return e;
      }, { message: "B's copy" });
      assert.equal(stored.doc.owner, 'alice');

      // Bob renames it: shown at once, rolled back by the bridge's `forbidden`, with a notice.
      await board.editTitle(b, mine, 'Bob was here');
      const notice = board.notices(b, 'forbidden');
      await expectCount(notice, 1, { timeout: 15_000, message: 'B: a forbidden notice' });
      await expectText(notice.getByTestId('notice-text'),
        'Lost: your rename of “Alice writes the report” to “Bob was here”, because only the user who created the task may change it. Its title is “Alice writes the report”.');
      await expectText(board.task(b, mine).getByTestId('title'), 'Alice writes the report');
      await expectText(board.task(a, mine).getByTestId('title'), 'Alice writes the report');

      // Bob's own task: Bob may change it, Alice may not delete it.
      const his = await board.add(b, 'Bob buys milk');
      await board.editTitle(b, his, 'Bob buys oat milk');
      await expectText(board.task(a, his).getByTestId('title'), 'Bob buys oat milk', { timeout: 15_000 });
      await board.task(a, his).getByTestId('delete').click();
      await expectCount(board.notices(a, 'forbidden'), 1, { timeout: 15_000, message: 'A: a forbidden notice' });
      await expectCount(board.task(a, his), 1, { message: "A: Bob's task is back" });
      await board.assertSettled(a, 'A');
      await board.assertSettled(b, 'B');
    }, securely());
  });

  test('A wrong password: the page says the broker refused the credentials and offers to log in again', { timeout: 60_000 }, async (t) => {
    await h.scenario(t, 'wrong password', async (s) => {
      const a = await s.open('A', { ws: secure.wsUrl(), login: { user: 'alice', password: 'not-her-password' }, online: false });
      await expectAttr(board.status(a), 'data-status', 'unreachable', { timeout: 15_000 });
      await expectAttr(board.status(a), 'data-reason', 'auth', { timeout: 1_000 });
      await expectText(a.getByTestId('log-out'), 'Log in again');
      await a.getByTestId('log-out').click();
      await a.getByTestId('login-form').waitFor({ state: 'visible', timeout: 10_000 });
    }, securely());
  });

  test('Over TLS (wss) a browser that trusts the generated certificate works; one that does not cannot connect', { timeout: 90_000 }, async (t) => {
    const trusting = await launchBrowser([`--ignore-certificate-errors-spki-list=${secure.spki()}`]);
    try {
      await h.scenario(t, 'browser over TLS', async (s) => {
        const a = await s.open('A', { ws: secure.wssUrl(), login: alice });
        const id = await board.add(a, 'sent over TLS');
        await expectAttr(board.task(a, id), 'data-pending', 'false', { timeout: 15_000, message: 'confirmed over TLS' });
      }, { ...securely(), browser: trusting });
    } finally {
      await trusting.close().catch(() => {});
    }
    await h.scenario(t, 'browser over TLS without trust', async (s) => {
      const a = await s.open('A', { ws: secure.wssUrl(), login: alice, online: false });
      await expectAttr(board.status(a), 'data-status', 'unreachable', { timeout: 15_000 });
      await expectAttr(board.status(a), 'data-reason', 'network', { timeout: 1_000 });
    }, { ...securely(), bridge: false });
  });
});
