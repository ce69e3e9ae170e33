// Server-side rendering: Node has no `window`, so `createVmm` connects nothing (no wasm, no
// socket) and the composables render their empty states. Node 22 has a global WebSocket: the
// rule is the absence of `window`, not of WebSocket, and a spy WebSocket here proves that none is
// opened. The last test gives Node a `window` and sees the same plugin connect.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { createSSRApp, h } from 'vue';
import { renderToString } from 'vue/server-renderer';
import { createVmm, useCollection, useDocument, useRequest, useStatus } from 'vmm-client/vue';
import { silentSockets } from './silent-socket.mjs';

const sockets = silentSockets();

const options = { url: 'ws://127.0.0.1:1', clientId: 'ssr', collections: ['tasks'] };
const Page = {
  setup() {
    const tasks = useCollection('tasks');
    const one = useDocument('tasks', 't1');
    const { status } = useStatus();
    const save = useRequest();
    return () =>
      h('p', [tasks.data.value.length, tasks.loaded.value, tasks.error.value, one.data.value, status.value, save.state.value].map(String).join(' '));
  },
};
const soon = (promise, ms = 50) =>
  Promise.race([promise.then(() => 'settled', () => 'settled'), new Promise((r) => setTimeout(() => r('pending'), ms))]);

test('during server-side rendering createVmm connects nothing and the composables render empty states', async () => {
  assert.equal(typeof window, 'undefined');
  const vmm = createVmm(options);
  const app = createSSRApp(Page).use(vmm);
  assert.equal(await renderToString(app), '<p>0 false null undefined connecting idle</p>');
  assert.equal(await soon(vmm.ready), 'pending', 'ready never settles on the server');
  assert.equal(sockets.length, 0, 'no socket opened');
  assert.equal(vmm.store.value, null);
  await assert.rejects(vmm.request('tasks', { op: 'delete', id: 't1' }), /server-side rendering/);
});

const wasmFile = fileURLToPath(import.meta.resolve('vmm-client/vmm_client_bg.wasm'));
const skip = existsSync(wasmFile) ? false : 'wasm/ is not built (make wasm-pkg)';

test('the same plugin connects where there is a window', { skip }, async () => {
  const { init } = await import('vmm-client');
  await init({ module_or_path: readFileSync(wasmFile) });
  globalThis.window = globalThis;
  try {
    const vmm = createVmm(options);
    createSSRApp(Page).use(vmm);
    const store = await vmm.ready;
    try {
      assert.equal(sockets.length, 1, 'one socket');
      assert.equal(vmm.store.value, store);
    } finally {
      store.close();
    }
  } finally {
    delete globalThis.window;
  }
});
