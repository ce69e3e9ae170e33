// The built package as an application loads it: the real wasm (built by `make wasm-pkg` into
// ../wasm/), through the entry points. `make test-js` sets VMM_REQUIRE_WASM=1, so that a missing
// build fails rather than skips. This caught a wasm-opt (binaryen 108) that broke the externref
// table export: every browser then stayed on "connecting".
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { createApp, effectScope } from 'vue';
import { settle } from './settle.mjs';
import { silentSockets } from './silent-socket.mjs';

const wasmFile = fileURLToPath(import.meta.resolve('vmm-client/vmm_client_bg.wasm'));
const built = existsSync(wasmFile);
const skip = built ? false : 'wasm/ is not built (make wasm-pkg)';

test('the wasm is built', { skip: built || process.env.VMM_REQUIRE_WASM === '1' ? false : skip }, () => {
  assert.ok(built, `${wasmFile} is missing: make wasm-pkg`);
});

// Node has no WebSocket before v22 and the tests need no broker: a socket that never opens, so a
// store stays `connecting`.
const sockets = silentSockets();

// createVmm connects only where there is a window (elsewhere it takes Node for server-side
// rendering, ssr.test.mjs): these tests play a browser.
globalThis.window = globalThis;

// `init()` alone would fetch the .wasm next to the glue, which Node's fetch cannot read from disk.
const load = async () => {
  const entry = await import('vmm-client');
  await entry.init({ module_or_path: readFileSync(wasmFile) });
  return entry;
};

test('init loads the wasm once, also when called again before it finished', { skip }, async () => {
  const { init } = await import('vmm-client');
  const first = init({ module_or_path: readFileSync(wasmFile) });
  assert.equal(init(), first, 'the same promise');
  await first;
  const glue = await import('vmm-client/wasm');
  assert.equal(typeof glue.connect_store, 'function');
});

test('the errors the wasm builds are the classes the package exports', { skip }, async () => {
  const { connect, ValidationError, VmmError } = await load();
  const errors = await import('vmm-client/errors');
  assert.equal(errors.ValidationError, ValidationError);

  await assert.rejects(connect({ url: 'ws://127.0.0.1:1', clientId: 'x', collections: ['bad name!'] }), (e) => {
    return e instanceof ValidationError && e instanceof VmmError && e.name === 'ValidationError';
  });

  const store = await connect({ url: 'ws://127.0.0.1:1', clientId: 'alice', requestTimeout: 0 });
  try {
    assert.equal(store.status, 'connecting');
    assert.equal(sockets.at(-1).protocol, 'mqtt');
    await assert.rejects(store.request('tasks', { op: 'insert', id: 't1', doc: { $bad: 1 } }), (e) => {
      return e instanceof errors.ValidationError && e.code === 'invalid_document' && e.path === 'doc.$bad';
    });
    // The path of the offending field crosses the wasm boundary.
    await assert.rejects(store.request('tasks', { op: 'insert', id: 't2', doc: { a: { b: { 'x.y': 1 } } } }), {
      name: 'ValidationError',
      path: 'doc.a.b.x.y',
    });
    // Options are checked with a message that names the option.
    await assert.rejects(connect({ url: 'ws://127.0.0.1:1', clientId: 'x', keepAlive: 1.5 }), {
      code: 'malformed',
      message: /keepAlive/,
    });
  } finally {
    store.close();
  }
});

test('createVmm with options connects through the package entry and provides the store', { skip }, async () => {
  await load();
  const { createVmm, useVmm } = await import('vmm-client/vue');
  const app = createApp({ render: () => null });
  const vmm = createVmm({ url: 'ws://127.0.0.1:1', clientId: 'carol', collections: ['tasks'] });
  app.use(vmm);
  const store = await vmm.ready;
  try {
    assert.equal(store.clientId, 'carol');
    assert.equal(app.runWithContext(() => useVmm()).store.value, store);
  } finally {
    store.close();
  }
});

test('with the real store: pending per id, loaded, the kept collections and unwatch when unused', { skip }, async () => {
  await load();
  const { createVmm, useCollection, useVmm } = await import('vmm-client/vue');
  const app = createApp({ render: () => null });
  const vmm = createVmm({ url: 'ws://127.0.0.1:1', clientId: 'dave', collections: ['tasks'] });
  app.use(vmm);
  // Made before the store exists: queued, then shown as pending once it is connected.
  const early = vmm.request('notes', { op: 'insert', id: 'n1', doc: { text: 'early' } }).catch((e) => e);
  const store = await vmm.ready;
  try {
    const unwatched = [];
    const unwatch = store.unwatch.bind(store);
    store.unwatch = (c) => (unwatched.push(c), unwatch(c));
    const scope = effectScope();
    const [tasks, notes] = app.runWithContext(() => scope.run(() => [useCollection('tasks'), useCollection('notes')]));
    await settle();
    assert.equal(notes.data.value[0]?.text, 'early', 'the queued request was made');
    assert.equal(notes.isPending('n1'), true, 'pending: no bridge answered');
    assert.deepEqual([...notes.pending.value], ['s:n1']);
    assert.equal(tasks.loaded.value, false, 'nothing loaded without a broker');
    assert.equal(notes.error.value, null);
    assert.equal(app.runWithContext(() => useVmm()).store.value, store);

    scope.stop();
    await settle();
    assert.deepEqual(unwatched, ['notes'], 'tasks is kept: it is in createVmm collections');
    assert.equal(store.cancel('notes', 'n1'), 1);
    assert.equal((await early).code, 'cancelled');
  } finally {
    store.close();
  }
});
