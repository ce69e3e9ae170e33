// The end-to-end harness: serves the built demo (www/dist) on 127.0.0.1 (port 0), starts, kills
// and restarts vmm bridges on a topic prefix and database of their own, drives Debian's Chromium
// with playwright-core, and offers expect-style helpers. Nothing here downloads anything, and no
// port is fixed except the services' (Mosquitto, FerretDB; started by scripts/services.sh).
//
// Environment, set by scripts/test-e2e.sh (from scripts/lib.sh, where the default ports are):
// VMM_MQTT_URL (mqtt://host:port, for the bridges), VMM_MONGODB_URI, VMM_WS_URL (what the browser
// connects to), VMM_WS_AUTH_URL (a WebSockets listener that refuses clients without a password).
// Optional: VMM_BRIDGE_BIN (default target/debug/vmm-bridge), CHROMIUM (default
// /usr/bin/chromium), E2E_DIST (default www/dist).
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, statSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '../..');
export const distDir = path.resolve(process.env.E2E_DIST || path.join(root, 'www/dist'));
export const screenshotDir = path.join(here, 'screenshots');
const bridgeBin = process.env.VMM_BRIDGE_BIN || path.join(root, 'target/debug/vmm-bridge');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

function fromScript(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests with make test-e2e (scripts/test-e2e.sh sets it)`);
  return value;
}
export const mqttUrl = fromScript('VMM_MQTT_URL');
export const mongoUri = fromScript('VMM_MONGODB_URI');
export const wsUrl = fromScript('VMM_WS_URL');
/** A listener of the broker that refuses a client without credentials (CONNACK "not authorized"). */
export const wsAuthUrl = () => fromScript('VMM_WS_AUTH_URL');

/**
 * The secure profile (scripts/services.sh, docs/SECURITY.md): the broker's WebSockets listener
 * with passwords and the ACL, its TLS twin, and the bridge's way in (MQTT over TLS as the user
 * vmm-bridge, with the demo's permissions).
 */
export const secure = {
  wsUrl: () => fromScript('VMM_SECURE_WS_URL'),
  wssUrl: () => fromScript('VMM_WSS_URL'),
  /** The base64 SHA-256 of the server certificate's public key: what Chromium is told to trust. */
  spki: () => fromScript('VMM_SECURE_SPKI'),
  bridgeArgs: () => {
    const dir = fromScript('VMM_SECURE_DIR');
    return ['--mqtt-url', fromScript('VMM_MQTTS_URL'), '--mqtt-ca-file', path.join(dir, 'ca.crt'),
      '--mqtt-username', 'vmm-bridge', '--mqtt-password-file', path.join(dir, 'vmm-bridge.password'),
      '--permissions', path.join(root, 'docs/examples/permissions.toml')];
  },
};

/** One run's unique base name: letters and digits only (a topic prefix and a database name). */
export const runId = `e2e${process.pid}${Date.now() % 1e6}`;

// ---------------------------------------------------------------------------------------------
// Child processes: every bridge is killed when this process ends, however it ends.

const children = new Set();
function killAll() {
  for (const c of children) {
    try { c.kill('SIGKILL'); } catch { /* already gone */ }
  }
  children.clear();
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    killAll();
    process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 })[sig]);
  });
}

// ---------------------------------------------------------------------------------------------
// Waiting: every wait has a deadline.

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Calls `check` until it returns without throwing (its value is returned), every `interval` ms,
 * for at most `timeout` ms; then throws the last error, prefixed with `message`.
 */
export async function eventually(check, { timeout = 15_000, interval = 100, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      const err = new Error(`${message}: not met within ${timeout} ms: ${last?.message ?? last}`);
      err.cause = last;
      throw err;
    }
    await sleep(interval);
  }
}

/** Waits until the locator's attribute equals `value` (the locator must resolve to one element). */
export async function expectAttr(locator, name, value, { timeout = 15_000, message } = {}) {
  let seen;
  await eventually(async () => {
    seen = await locator.getAttribute(name, { timeout: Math.min(timeout, 1_000) });
    if (seen !== value) throw new Error(`${name}=${JSON.stringify(seen)}, want ${JSON.stringify(value)}`);
  }, { timeout, message: message ?? `${locator} [${name}]` });
}

/** Waits until the locator's text (trimmed) equals `value`. */
export async function expectText(locator, value, { timeout = 15_000, message } = {}) {
  await eventually(async () => {
    const text = (await locator.textContent({ timeout: Math.min(timeout, 1_000) }))?.trim();
    if (text !== value) throw new Error(`text ${JSON.stringify(text)}, want ${JSON.stringify(value)}`);
  }, { timeout, message: message ?? `${locator} text` });
}

/** Waits until the locator matches exactly `n` elements. */
export async function expectCount(locator, n, { timeout = 15_000, message } = {}) {
  await eventually(async () => {
    const c = await locator.count();
    if (c !== n) throw new Error(`${c} elements, want ${n}`);
  }, { timeout, message: message ?? `${locator} count` });
}

// ---------------------------------------------------------------------------------------------
// The static server for www/dist.

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** Serves `dir` on 127.0.0.1 with a free port; unknown paths get index.html. */
export async function serveStatic(dir = distDir) {
  const index = path.join(dir, 'index.html');
  if (!existsSync(index)) throw new Error(`${index} does not exist: build the app first (npm --prefix www run build)`);
  const server = http.createServer((req, res) => {
    let file;
    try {
      const pathname = decodeURIComponent(new URL(req.url, 'http://x').pathname);
      file = path.join(dir, path.normalize(pathname));
      if (!file.startsWith(dir + path.sep) && file !== dir) throw new Error('outside');
      if (!existsSync(file) || !statSync(file).isFile()) file = index;
    } catch {
      res.writeHead(400).end();
      return;
    }
    res.writeHead(200, {
      'content-type': MIME[path.extname(file).toLowerCase()] || 'application/octet-stream',
      'cache-control': 'no-store',
    });
    if (req.method === 'HEAD') { res.end(); return; }
    createReadStream(file).on('error', () => res.destroy()).pipe(res);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
  };
}

// ---------------------------------------------------------------------------------------------
// Bridge readiness: its own /healthz.

/** A free TCP port on 127.0.0.1 (the OS picks it; it is free again once this returns). */
export async function freePort() {
  const server = net.createServer();
  await new Promise((resolve, reject) => server.listen(0, '127.0.0.1', resolve).once('error', reject));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Waits until the bridge whose HTTP endpoint is on `port` says it serves (`GET /healthz`: 200 and
 * `"serving": true`: connected, subscribed, storage open), at most `timeout` ms.
 */
export async function waitServing(port, { timeout = 30_000, isAlive = () => true } = {}) {
  const deadline = Date.now() + timeout;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error('the bridge exited');
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) });
      const body = await res.json();
      if (res.status === 200 && body.serving === true) return;
      last = `${res.status} ${JSON.stringify(body)}`;
    } catch (e) {
      last = e.message;
    }
    await sleep(50);
  }
  throw new Error(`the bridge did not serve within ${timeout} ms (last /healthz: ${last})`);
}

// ---------------------------------------------------------------------------------------------
// Bridges.

/** A bridge on one prefix and database, which can be killed and started again. */
export class Bridge {
  /** `args`: more arguments (with their own `--mqtt-url`: the secure profile's). */
  constructor(prefix, database, args = []) {
    this.prefix = prefix;
    this.database = database;
    this.args = args;
    this.proc = null;
    this.log = [];
    /** When the last start spawned the process, and when it served (Date.now()). */
    this.startedAt = null;
    this.servingAt = null;
  }

  get running() { return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null; }

  /** Starts the bridge and waits until its `/healthz` says it serves, at most `timeout` ms. */
  async start({ timeout = 30_000 } = {}) {
    if (this.running) throw new Error('bridge already running');
    if (!existsSync(bridgeBin)) throw new Error(`${bridgeBin} does not exist: cargo build --locked -p vmm-bridge`);
    const p = this.prefix;
    const httpPort = await freePort();
    // Logged in, a client id is `<user>:…` (PROTOCOL.md §2.3); the broker refuses any other.
    const user = this.args[this.args.indexOf('--mqtt-username') + 1];
    const bridgeId = this.args.includes('--mqtt-username') ? `${user}:${p}-b` : `${p}-b`;
    const args = ['--prefix', p, '--database', this.database, '--bridge-id', bridgeId,
      '--share-group', `${p}-g`, '--http-addr', `127.0.0.1:${httpPort}`, '--log', 'warn',
      '--mongodb-uri', mongoUri, ...(this.args.includes('--mqtt-url') ? [] : ['--mqtt-url', mqttUrl]), ...this.args];
    this.startedAt = Date.now();
    this.servingAt = null;
    const proc = spawn(bridgeBin, args, { cwd: root, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    children.add(proc);
    const record = (stream) => (d) => {
      for (const line of String(d).split('\n')) if (line.trim()) this.log.push(`[bridge ${stream}] ${line}`);
      if (this.log.length > 500) this.log.splice(0, this.log.length - 500);
    };
    proc.stdout.on('data', record('out'));
    proc.stderr.on('data', record('err'));
    proc.exited = new Promise((r) => proc.once('exit', (code, sig) => {
      children.delete(proc);
      this.log.push(`[bridge] exited (code ${code}, signal ${sig})`);
      r();
    }));
    try {
      await waitServing(httpPort, { timeout, isAlive: () => proc.exitCode === null && proc.signalCode === null });
      this.servingAt = Date.now();
    } catch (e) {
      throw new Error(`bridge did not become ready: ${e.message}\n${this.log.join('\n')}`);
    }
  }

  /** Kills the bridge (SIGKILL by default) and waits for it to exit. */
  async kill(signal = 'SIGKILL') {
    const proc = this.proc;
    if (!proc) return;
    if (this.running) proc.kill(signal);
    await Promise.race([proc.exited, sleep(10_000)]);
    if (this.running) { proc.kill('SIGKILL'); await proc.exited; }
    this.proc = null;
  }

  async restart(opts) {
    await this.kill();
    await this.start(opts);
  }
}

// ---------------------------------------------------------------------------------------------
// The browser and the scenario context.

/** `args`: more Chromium flags (the secure profile's certificate to trust). */
export async function launchBrowser(args = []) {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', ...args],
  });
}

/**
 * Runs in the page before its scripts: records every `data-state` the empty list's paragraph
 * (`[data-testid=empty]`) takes, in order, in `window.__emptyStates`, so that a test can say what
 * the page never showed, not only what it shows when looked at.
 */
function recordEmptyStates() {
  const seen = [];
  window.__emptyStates = seen;
  const look = () => {
    const el = document.querySelector('[data-testid=empty]');
    const state = el ? el.getAttribute('data-state') : null;
    if (state !== null && seen[seen.length - 1] !== state) seen.push(state);
  };
  new MutationObserver(look).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'] });
}

const slug = (s) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);

/**
 * One scenario: its own prefix, database and bridge (so each starts with an empty board), its
 * browser contexts (one per client), and its screenshots.
 */
export class Scenario {
  constructor({ browser, baseUrl, name, index, bridgeArgs = [] }) {
    this.browser = browser;
    this.baseUrl = baseUrl;
    this.name = name;
    this.slug = `${index}-${slug(name)}`;
    this.prefix = `${runId}s${index}`;
    this.database = this.prefix;
    this.bridge = new Bridge(this.prefix, this.database, bridgeArgs);
    this.clients = []; // { name, id, context, page, console }
  }

  appUrl(clientId, ws = wsUrl, login = false) {
    const q = new URLSearchParams({ client: clientId, board: 'tasks', prefix: this.prefix, ws, login: login ? '1' : '0' });
    return `${this.baseUrl}/?${q.toString().replace(/%3A/g, ':').replace(/%2F/g, '/')}`;
  }

  /**
   * Opens a new browser context as client `name` and loads the board; by default waits until it
   * is online and the store is exposed (`online: false`: only until the page shows its status).
   * `ws`: another broker URL. Every page records the states its empty list went through in
   * `window.__emptyStates` (see `board.emptyStates`), from its first render on.
   */
  async open(name, { timeout = 30_000, online = true, ws = wsUrl, login = null } = {}) {
    const id = `${this.prefix}-${name}-${this.clients.length}`;
    const context = await this.browser.newContext({ viewport: { width: 1000, height: 800 } });
    const page = await context.newPage();
    const client = { name, id, context, page, console: [] };
    this.clients.push(client);
    page.on('console', (m) => {
      if (['error', 'warning'].includes(m.type())) client.console.push(`[${name} console.${m.type()}] ${m.text()}`);
    });
    page.on('pageerror', (e) => client.console.push(`[${name} pageerror] ${e.message}`));
    await context.addInitScript(recordEmptyStates);
    await page.goto(this.appUrl(id, ws, !!login), { timeout });
    if (login) {
      // The login form, then the board again as that user (the page reloads).
      await page.getByTestId('login-user').fill(login.user, { timeout });
      await page.getByTestId('login-password').fill(login.password);
      await page.getByTestId('login-submit').click();
    }
    if (!online) {
      await page.getByTestId('status').waitFor({ state: 'attached', timeout });
      return page;
    }
    await expectAttr(page.getByTestId('status'), 'data-status', 'online', { timeout, message: `${name}: status online` });
    await page.waitForFunction(() => !!window.__vmm, null, { timeout });
    return page;
  }

  /** Saves a full-page screenshot of each client (or of the named ones) as <scenario>-<client><suffix>.png. */
  async screenshot(suffix = '', names = null) {
    mkdirSync(screenshotDir, { recursive: true });
    const paths = [];
    for (const c of this.clients.filter((c) => !names || names.includes(c.name))) {
      const file = path.join(screenshotDir, `${this.slug}-${c.name}${suffix}.png`);
      try {
        await c.page.screenshot({ path: file, fullPage: true, timeout: 10_000 });
        paths.push(file);
      } catch { /* a closed page has nothing to show */ }
    }
    return paths;
  }

  /** What to print when the scenario failed: bridge and browser logs. */
  diagnostics() {
    return [...this.bridge.log, ...this.clients.flatMap((c) => c.console)].join('\n');
  }

  async close() {
    for (const c of this.clients) await c.context.close().catch(() => {});
    await this.bridge.kill();
  }
}

/**
 * The whole run: the static server and one browser. `scenario(t, name, fn)` runs `fn(s)` with a
 * fresh Scenario whose bridge is started; it saves screenshots at the end and on failure. Scenarios
 * may run at the same time (each has its own prefix, database, bridge and browser contexts).
 */
export async function setup() {
  const server = await serveStatic();
  const browser = await launchBrowser();
  let count = 0;
  return {
    server,
    browser,
    /** `bridge: false`: the scenario's bridge is not started (the test starts it, or never does). */
    async scenario(t, name, fn, { bridge = true, bridgeArgs = [], browser: own = browser } = {}) {
      const s = new Scenario({ browser: own, baseUrl: server.url, name, index: ++count, bridgeArgs });
      try {
        if (bridge) await s.bridge.start();
        await fn(s);
        const shots = await s.screenshot();
        t.diagnostic(`screenshots: ${shots.map((p) => path.relative(root, p)).join(', ')}`);
      } catch (e) {
        const shots = await s.screenshot('-failure');
        e.message += `\nscreenshots: ${shots.map((p) => path.relative(root, p)).join(', ')}\n--- logs ---\n${s.diagnostics()}`;
        throw e;
      } finally {
        await s.close();
      }
    },
    async close() {
      await browser.close().catch(() => {});
      await server.close();
      killAll();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The board, as the DOM contract describes it.

const cssString = (s) => `"${String(s).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

export const board = {
  tasks: (page) => page.locator('li[data-testid=task]'),
  task: (page, id) => page.locator(`li[data-testid=task][data-id=${cssString(id)}]`),
  pendingTasks: (page) => page.locator('li[data-testid=task][data-pending=true]'),
  status: (page) => page.getByTestId('status'),
  pendingCount: (page) => page.getByTestId('pending-count'),
  notices: (page, code) => page.locator(code ? `[data-testid=notice][data-code=${cssString(code)}]` : '[data-testid=notice]'),

  /** The rendered titles, in order. */
  async titles(page) {
    return (await page.locator('li[data-testid=task] [data-testid=title]').allTextContents()).map((t) => t.trim());
  },

  /** The ids of the tasks showing exactly `title`. */
  async idsOf(page, title) {
    return page.locator('li[data-testid=task]').evaluateAll((lis, title) => lis
      .filter((li) => li.querySelector('[data-testid=title]')?.textContent.trim() === title)
      .map((li) => li.getAttribute('data-id')), title);
  },

  /** Waits for exactly one task titled `title` and returns its data-id. */
  async idOf(page, title, { timeout = 15_000 } = {}) {
    return eventually(async () => {
      const ids = await board.idsOf(page, title);
      if (ids.length !== 1) throw new Error(`${ids.length} tasks titled ${JSON.stringify(title)}`);
      return ids[0];
    }, { timeout, message: `task ${JSON.stringify(title)}` });
  },

  /** Adds a task; returns its data-id once it is shown. */
  async add(page, title) {
    const before = new Set(await board.idsOf(page, title));
    await page.getByTestId('new-title').fill(title);
    await page.getByTestId('add').click();
    return eventually(async () => {
      const ids = (await board.idsOf(page, title)).filter((id) => !before.has(id));
      if (ids.length !== 1) throw new Error(`${ids.length} new tasks titled ${JSON.stringify(title)}`);
      return ids[0];
    }, { timeout: 5_000, message: `the new task ${JSON.stringify(title)} is shown at once` });
  },

  /** Edits a task's title: edit button, the input, Enter. */
  async editTitle(page, id, title) {
    const li = board.task(page, id);
    await li.getByTestId('edit').click();
    const input = li.getByTestId('title-input');
    await input.fill(title);
    await input.press('Enter');
  },

  /** The text of the status line under the header ('' when online: there is none). */
  async statusText(page) {
    const el = page.getByTestId('status-text');
    return (await el.count()) === 0 ? '' : ((await el.textContent()) ?? '').trim();
  },

  /** The states the page's empty list went through (`waiting`, `empty`, `error`), in order. */
  emptyStates: (page) => page.evaluate(() => [...(window.__emptyStates ?? [])]),

  /** The errors the app's error handler received (`{ name, code, reason, message, info }`). */
  errors: (page) => page.evaluate(() => [...(window.__vmmErrors ?? [])]),

  /**
   * What the page's store holds of the task whose `data-id` (id key) is `key`: `{ doc, version,
   * pending }`, or null when it has no such task.
   */
  async stored(page, key) {
    return page.evaluate((key) => {
      const entry = window.__vmm.entries('tasks').find((e) => e.key === key);
      if (!entry) return null;
      const meta = window.__vmm.meta('tasks', entry.id);
      return { doc: JSON.parse(JSON.stringify(entry.doc)), version: meta?.version, pending: meta?.pending };
    }, key);
  },

  /** The store's list of tasks, sorted by id (the store's order is not semantic; the DOM's is). */
  async docs(page) {
    const docs = await page.evaluate(() => JSON.parse(JSON.stringify(window.__vmm.list('tasks'))));
    const key = (d) => JSON.stringify(d._id);
    return docs.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  },

  /** Nothing pending: no task marked pending and the badge's count is 0. */
  async assertSettled(page, who = 'page') {
    const pending = await board.pendingTasks(page).count();
    if (pending !== 0) throw new Error(`${who}: ${pending} tasks still pending`);
    const count = (await board.pendingCount(page).textContent())?.trim();
    if (count !== '0') throw new Error(`${who}: pending-count is ${JSON.stringify(count)}`);
    const storeCount = await page.evaluate(() => window.__vmm.pendingCount);
    if (storeCount !== 0) throw new Error(`${who}: store.pendingCount is ${storeCount}`);
  },
};
