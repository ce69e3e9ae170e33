// Where the files under test are: ../js/ by default (they need no wasm), or a built package's js/
// with `VMM_CLIENT_JS=../pkg/js npm test` after wasm-pack and scripts/package.mjs.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = process.env.VMM_CLIENT_JS
  ? `${pathToFileURL(resolve(process.env.VMM_CLIENT_JS)).href}/`
  : new URL('../js/', import.meta.url).href;

/** Imports `name` (e.g. `vue.js`) from the directory under test. */
export const load = (name) => import(new URL(name, dir).href);

/** Lets the microtasks run in which the composables and the plugin re-read the store. */
export const settle = () => new Promise((done) => setImmediate(done));
