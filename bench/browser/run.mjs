#!/usr/bin/env node
// The browser half of `make bench`'s ingest scenario (bench/src/scenario/browser/ starts it and
// publishes the events). For each size N, up to `--repeat` times, for each side (SIDES below):
// a fresh headless Chromium context loads page/index.html?side=…, the page connects and holds its
// subscription (vmm: its load answered by the bridge), then this script says so on stdout and
// waits for the publisher's answer on stdin; the page reports when it shows all N.
//
// Lines, one JSON object each:
//   stdout  {"kind":"ready","side":"vmm","n":2500,"run":1,"collection":"tasks"}
//   stdin   {"kind":"published","firstMs":<epoch ms of the first publish>}
//   stdout  {"kind":"result","side":…,"n":…,"run":…,"firstMs":…,"doneMs":<epoch ms or null>,"shown":…,
//            "waitedMs":<when not all were shown: how long after the first publish it gave up>,"error":…}
//   stdout  {"kind":"end"}
// Both clocks are the machine's wall clock (performance.timeOrigin + performance.now() in the
// page). Logs go to stderr. Closing stdin stops the run (the browser is closed).
//
// Usage: node run.mjs --ws ws://127.0.0.1:P --prefix P --pkg DIR --mqttjs FILE
//                     [--sizes 2500,10000,20000] [--repeat 5] [--budget-ms 20000] [--collection tasks]
// A side that did not show all N in time is not run at larger sizes; after its first run at a
// size, a side runs again only while it has spent less than --budget-ms there.
import { chromium } from 'playwright-core';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
// mqtt.js (the baseline), the vmm store alone (no Vue: where the store's own time goes), and the
// vmm store shown through Vue's useCollection (what the goal is about).
const SIDES = ['mqttjs', 'vmm-store', 'vmm'];

const { values: args } = parseArgs({
  options: {
    ws: { type: 'string' },
    prefix: { type: 'string' },
    pkg: { type: 'string' },
    mqttjs: { type: 'string' },
    sizes: { type: 'string', default: '2500,10000,20000' },
    repeat: { type: 'string', default: '5' },
    'budget-ms': { type: 'string', default: '20000' },
    collection: { type: 'string', default: 'tasks' },
  },
});
for (const name of ['ws', 'prefix', 'pkg', 'mqttjs']) if (!args[name]) fail(`--${name} is required`);
const sizes = args.sizes.split(',').map(Number);
const repeat = Math.max(1, Number(args.repeat));
const budgetMs = Number(args['budget-ms']);

const log = (...a) => console.error('bench-browser:', ...a);
const send = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);
function fail(message) {
  console.error(`bench-browser: ${message}`);
  process.exit(2);
}

/** How long a run may take from the first publish: generous, and bounded. */
const limitMs = (n) => 20_000 + 4 * n;

// ---- stdin: the publisher's answers, one line each; EOF stops everything. --------------------
const input = readline.createInterface({ input: process.stdin });
const queued = [];
const waiting = [];
let closed = false;
input.on('line', (line) => (waiting.length ? waiting.shift().resolve(line) : queued.push(line)));
input.on('close', () => {
  closed = true;
  for (const w of waiting.splice(0)) w.reject(new Error('stdin closed'));
});
function nextLine() {
  if (queued.length) return Promise.resolve(queued.shift());
  if (closed) return Promise.reject(new Error('stdin closed'));
  return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
}

// ---- What the page loads. --------------------------------------------------------------------
/** The package's JS entry and Vue entry, from its package.json `exports` (not from its layout). */
function packageEntries(dir) {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const entry = (key) => {
    const e = manifest.exports?.[key];
    const file = typeof e === 'string' ? e : (e?.import ?? e?.default);
    if (!file) fail(`${dir}/package.json exports no ${key}`);
    return `/pkg/${path.posix.normalize(file)}`;
  };
  return { entry: entry('.'), vueEntry: entry('./vue') };
}

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json; charset=utf-8',
};

/** Serves `mounts` (URL prefix → folder) and `files` (URL → file) on 127.0.0.1, a free port. */
async function serve(mounts, files) {
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    let file = files[url];
    for (const [prefix, dir] of Object.entries(mounts)) {
      if (!file && url.startsWith(prefix)) {
        const candidate = path.join(dir, path.normalize(url.slice(prefix.length)));
        if (candidate.startsWith(dir + path.sep)) file = candidate;
      }
    }
    if (!file || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': MIME[path.extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).on('error', () => res.destroy()).pipe(res);
  });
  await new Promise((resolve, reject) => server.listen(0, '127.0.0.1', resolve).once('error', reject));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

// ---- One run. --------------------------------------------------------------------------------
async function oneRun(browser, site, side, n, run) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    page.on('pageerror', (e) => log(`${side} page error: ${e.message}`));
    page.on('console', (m) => (m.type() === 'error' || m.type() === 'warning') && log(`${side} console: ${m.text()}`));
    await page.goto(`${site.url}/page/index.html?side=${side}`);
    await page.waitForFunction(() => window.pageReady === true, null, { timeout: 30_000 });
    const options = {
      url: args.ws,
      prefix: args.prefix,
      clientId: `${args.prefix}-${side}-${n}-${run}`,
      collection: args.collection,
      n,
      vue: side === 'vmm',
      readyTimeoutMs: 30_000,
      ...site.entries,
    };
    await page.evaluate((o) => window.prepare(o), options);
    send({ kind: 'ready', side, n, run, collection: args.collection });
    const published = JSON.parse(await nextLine());
    if (published.kind !== 'published') throw new Error(`expected "published", got ${JSON.stringify(published)}`);
    const left = limitMs(n) - (Date.now() - published.firstMs);
    let timer;
    const done = page.evaluate(() => window.done).catch(() => null);
    const outcome = await Promise.race([done, new Promise((r) => (timer = setTimeout(() => r(null), left)))]);
    clearTimeout(timer);
    if (outcome) return { firstMs: published.firstMs, doneMs: outcome.doneMs, shown: outcome.shown };
    const waitedMs = Date.now() - published.firstMs;
    return { firstMs: published.firstMs, doneMs: null, shown: await page.evaluate(() => window.progress()), waitedMs };
  } finally {
    await context.close().catch(() => {});
  }
}

async function main() {
  const pkg = path.resolve(args.pkg);
  const require = createRequire(import.meta.url);
  const vue = path.join(path.dirname(require.resolve('vue/package.json')), 'dist', 'vue.runtime.esm-browser.prod.js');
  for (const f of [path.join(pkg, 'package.json'), args.mqttjs, vue, chromiumPath]) {
    if (!existsSync(f)) fail(`${f} is missing`);
  }
  const server = await serve(
    { '/page/': path.join(here, 'page'), '/pkg/': pkg },
    { '/vue.js': vue, '/mqtt.min.js': path.resolve(args.mqttjs) },
  );
  const site = { url: server.url, entries: packageEntries(pkg) };
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
  });
  const stop = async () => {
    await browser.close().catch(() => {});
    server.close();
  };
  process.once('SIGTERM', () => stop().then(() => process.exit(143)));
  try {
    const skip = new Set(); // sides that timed out: larger sizes would only time out longer
    for (const n of sizes) {
      const spent = Object.fromEntries(SIDES.map((side) => [side, 0]));
      for (let run = 1; run <= repeat; run += 1) {
        for (const side of SIDES) {
          if (skip.has(side) || (run > 1 && spent[side] > budgetMs)) continue;
          let result;
          try {
            result = await oneRun(browser, site, side, n, run);
          } catch (e) {
            if (closed) throw e;
            result = { firstMs: null, doneMs: null, shown: 0, error: String(e.message ?? e).split('\n')[0] };
          }
          spent[side] += result.doneMs === null ? limitMs(n) : result.doneMs - result.firstMs;
          if (result.doneMs === null) skip.add(side);
          send({ kind: 'result', side, n, run, ...result });
        }
      }
    }
    send({ kind: 'end' });
  } finally {
    await stop();
  }
}

main().catch((e) => {
  log(e.stack ?? e);
  process.exit(1);
});
