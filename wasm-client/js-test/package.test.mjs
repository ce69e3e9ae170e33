// scripts/package.mjs on a stand-in for wasm-pack's output (same file names, a fake wasm module),
// then the packaged entry points imported the way an application imports them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { after } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createApp } from 'vue';

const wasmClient = fileURLToPath(new URL('../', import.meta.url));
const pkg = mkdtempSync(join(tmpdir(), 'vmm-client-pkg-'));
after(() => rmSync(pkg, { recursive: true, force: true }));

const snippet = 'snippets/vmm-client-0123456789abcdef/js/errors.js';
mkdirSync(join(pkg, 'snippets/vmm-client-0123456789abcdef/js'), { recursive: true });
copyFileSync(join(wasmClient, 'js/errors.js'), join(pkg, snippet));
writeFileSync(join(pkg, 'vmm_client_bg.wasm'), '');
writeFileSync(join(pkg, 'vmm_client.d.ts'), 'export default function init(input?: unknown): Promise<unknown>;\n');
writeFileSync(
  join(pkg, 'vmm_client.js'),
  `import { errorFor } from './${snippet}';
export let initCalls = 0;
export default async function init() { initCalls += 1; await null; return {}; }
export function connect_store(options) {
  if (initCalls === 0) throw new Error('connect_store before init');
  return { options, watched: [], watch(c) { this.watched.push(c); }, request: async () => { throw errorFor('conflict', 'stale', { current: 3 }); }, list: () => [], onCollection: () => () => {}, close() {} };
}
`,
);
writeFileSync(
  join(pkg, 'package.json'),
  JSON.stringify({
    name: 'vmm-client',
    type: 'module',
    collaborators: ['vmm'],
    description: 'The vmm browser client',
    version: '0.3.1',
    license: 'MIT',
    files: ['vmm_client_bg.wasm', 'vmm_client.js', 'vmm_client.d.ts'],
    module: 'vmm_client.js',
    types: 'vmm_client.d.ts',
    sideEffects: ['./snippets/*'],
  }),
);
execFileSync(process.execPath, [join(wasmClient, 'scripts/package.mjs'), pkg], { stdio: 'pipe' });
const at = (path) => import(pathToFileURL(join(pkg, path)).href);

test('package.mjs writes the manifest of the vmm-client package', () => {
  const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'));
  assert.equal(manifest.name, 'vmm-client');
  assert.equal(manifest.version, '0.3.1', 'the version of Cargo.toml, as wasm-pack wrote it');
  assert.equal(manifest.type, 'module');
  assert.equal(manifest.main, 'js/index.js');
  assert.equal(manifest.module, 'js/index.js');
  assert.equal(manifest.types, 'js/index.d.ts');
  assert.deepEqual(manifest.exports['.'], { types: './js/index.d.ts', import: './js/index.js', default: './js/index.js' });
  for (const entry of ['vue', 'vuex', 'errors']) {
    assert.equal(manifest.exports[`./${entry}`].import, `./js/${entry}.js`);
    assert.equal(manifest.exports[`./${entry}`].types, `./js/${entry}.d.ts`);
  }
  assert.deepEqual(manifest.files, ['vmm_client.d.ts', 'vmm_client.js', 'vmm_client_bg.wasm', 'snippets/', 'js/']);
  assert.deepEqual(manifest.sideEffects, ['./vmm_client.js', './snippets/**']);
  assert.deepEqual(manifest.peerDependencies, { vue: '^3.3.0', vuex: '^4.1.0' });
  assert.deepEqual(manifest.peerDependenciesMeta, { vue: { optional: true }, vuex: { optional: true } });
  assert.deepEqual(manifest.collaborators, ['vmm'], 'the rest of what wasm-pack wrote is kept');
  for (const file of ['index.js', 'index.d.ts', 'vue.js', 'vue.d.ts', 'vuex.js', 'vuex.d.ts', 'errors.d.ts', 'schedule.js']) {
    readFileSync(join(pkg, 'js', file));
  }
});

test('the packaged errors are the classes the wasm side builds, so instanceof holds', async () => {
  const entry = await at('js/index.js');
  const fromSnippet = await at(snippet);
  const fromErrors = await at('js/errors.js');
  assert.equal(entry.ConflictError, fromSnippet.ConflictError);
  assert.equal(fromErrors.VmmError, fromSnippet.VmmError);

  const store = await entry.connect({ url: 'ws://127.0.0.1:9001', clientId: 'alice' });
  await assert.rejects(store.request('tasks', { op: 'delete', id: 't1' }), (err) => {
    return err instanceof entry.ConflictError && err instanceof entry.VmmError && err.current === 3;
  });
});

test('connect loads the wasm once and passes the options on', async () => {
  const entry = await at('js/index.js');
  const wasm = await at('vmm_client.js');
  const [a, b] = await Promise.all([
    entry.connect({ url: 'ws://a', clientId: 'a' }),
    entry.connect({ url: 'ws://b', clientId: 'b' }),
  ]);
  await entry.init();
  assert.equal(wasm.initCalls, 1);
  assert.deepEqual([a.options.clientId, b.options.clientId], ['a', 'b']);
});

test('createVmm with options connects through the packaged entry and provides the store', async () => {
  const { createVmm, useVmm } = await at('js/vue.js');
  const app = createApp({ render: () => null });
  const vmm = createVmm({ url: 'ws://127.0.0.1:9001', clientId: 'carol', collections: ['tasks'] });
  app.use(vmm);
  const store = await vmm.ready;
  assert.deepEqual(store.options, { url: 'ws://127.0.0.1:9001', clientId: 'carol', collections: ['tasks'] });
  assert.equal(app.runWithContext(() => useVmm()).value, store);
});
