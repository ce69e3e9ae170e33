// The fixture app (tests/vite-app/, installed from the npm tarball by scripts/test-fixture.sh) in
// Debian's Chromium against a real bridge: the built app, then the `vite` dev server, each loads
// the collection, gets a request confirmed, and a second page loads what the first one added. Any
// failed response (such as a 403 on the .wasm), console error or page error fails the test.
// Environment (set by the script): FIXTURE_APP (the installed and built app), FIXTURE_PREFIX (the
// topic prefix and database its build was given), and the harness's VMM_* service URLs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import test from 'node:test';
import { Bridge, eventually, expectAttr, expectText, freePort, launchBrowser, serveStatic } from '../www/e2e/harness.mjs';

const app = process.env.FIXTURE_APP;
const prefix = process.env.FIXTURE_PREFIX;
if (!app || !prefix) throw new Error('FIXTURE_APP and FIXTURE_PREFIX are not set: run make test-fixture');

let bridge;
let browser;
test.before(async () => {
  bridge = new Bridge(prefix, prefix);
  await bridge.start();
  browser = await launchBrowser();
});
test.after(async () => {
  await browser?.close().catch(() => {});
  await bridge?.kill();
});

/** Adds a task in a fresh browser context at `url`; a second page must then load it. */
async function addAndReload(url, title) {
  const context = await browser.newContext();
  const problems = [];
  context.on('page', (page) => {
    page.on('console', (m) => {
      // A failed load is reported by the response listener, with its URL (the favicon is allowed).
      if (['error', 'warning'].includes(m.type()) && !m.text().startsWith('Failed to load resource')) {
        problems.push(`console.${m.type()}: ${m.text()}`);
      }
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('response', (r) => {
      if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) problems.push(`${r.status()} ${r.url()}`);
    });
  });
  try {
    const page = await context.newPage();
    await page.goto(url);
    // The list replaces "Waiting for the server…" once the collection is loaded (empty: not visible).
    await page.getByTestId('tasks').waitFor({ state: 'attached', timeout: 30_000 });
    await page.getByTestId('title').fill(title);
    await page.getByRole('button', { name: 'Add' }).click();
    await expectText(page.getByTestId('save'), 'confirmed', { message: 'the insert is confirmed' });
    const row = page.locator('[data-testid=tasks] li', { hasText: title });
    await expectAttr(row, 'data-pending', 'false', { message: 'the row is not pending any more' });

    const second = await context.newPage();
    await second.goto(url);
    await second.locator('[data-testid=tasks] li', { hasText: title }).waitFor({ timeout: 30_000 });
    assert.deepEqual(problems, [], 'no failed response, console error or page error');
  } catch (e) {
    e.message += `\n--- page problems ---\n${problems.join('\n')}\n--- bridge ---\n${bridge.log.join('\n')}`;
    throw e;
  } finally {
    await context.close();
  }
}

test('the built fixture app loads the collection and gets a request confirmed', async () => {
  const server = await serveStatic(path.join(app, 'dist'));
  try {
    await addAndReload(`${server.url}/`, `built ${Date.now()}`);
  } finally {
    await server.close();
  }
});

test('the vite dev server serves the fixture app and its wasm, with no Vite option for vmm', async () => {
  const port = await freePort();
  const log = [];
  const dev = spawn(path.join(app, 'node_modules/.bin/vite'), ['--port', String(port), '--strictPort', '--host', '127.0.0.1'], {
    cwd: app,
    env: { ...process.env, VITE_VMM_URL: process.env.VMM_WS_URL, VITE_VMM_PREFIX: prefix },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  dev.stdout.on('data', (d) => log.push(String(d)));
  dev.stderr.on('data', (d) => log.push(String(d)));
  const url = `http://127.0.0.1:${port}/`;
  try {
    await eventually(async () => {
      if (dev.exitCode !== null) throw new Error(`vite exited: ${log.join('')}`);
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (!res.ok) throw new Error(`${res.status}`);
    }, { timeout: 30_000, message: 'the dev server answers' });
    await addAndReload(url, `dev ${Date.now()}`);
    assert.doesNotMatch(log.join(''), /warn|error/i, 'the dev server printed no warning');
  } finally {
    dev.kill();
  }
});
