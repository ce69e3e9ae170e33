// The real wasm of the built package instantiates (only when VMM_CLIENT_JS points at a built
// package, as `make test-js` does). This caught a wasm-opt (binaryen 108) that broke the
// externref table export: every browser then stayed on "connecting".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, resolve } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const js = process.env.VMM_CLIENT_JS;
const pkg = js ? resolve(here, js, '..') : null;

test('the built package wasm instantiates and exports connect_store', { skip: !pkg || !existsSync(resolve(pkg ?? '.', 'vmm_client_bg.wasm')) ? 'no built package' : false }, async () => {
  const glue = await import(pathToFileURL(resolve(pkg, 'vmm_client.js')).href);
  glue.initSync({ module: readFileSync(resolve(pkg, 'vmm_client_bg.wasm')) });
  assert.equal(typeof glue.connect_store, 'function');
  // No WebSocket in Node 20: connecting must fail with a typed error, not a wasm trap.
  assert.throws(() => glue.connect_store({ url: 'ws://127.0.0.1:1', clientId: 'x', requestTimeout: 0, collections: ['bad name!'] }), (e) => e.name === 'ValidationError');
});
