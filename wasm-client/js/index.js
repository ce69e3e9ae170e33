// The package entry (`import { connect } from 'vmm-client'`). wasm-pack builds the bindings into
// the git-ignored `wasm/` beside this folder (`make wasm-pkg`).
import wasmInit, { connect_store } from '../wasm/vmm_client.js';

export {
  VmmError,
  ConflictError,
  ValidationError,
  PermissionError,
  NotFoundError,
  TimeoutError,
  CancelledError,
  ConnectionError,
  AbortedError,
  InternalError,
  errorFor,
} from './errors.js';
export { ObjectId, Binary, Decimal128, toExtended, revive } from './values.js';
export { idKey } from './view.js';

let loading = null;

/**
 * Loads and instantiates the wasm module, once; later calls return the same promise. Call it
 * yourself only to load the `.wasm` from somewhere else than next to the JS:
 * `init({ module_or_path: wasmUrl })` (any argument of wasm-bindgen's `init`). A failed load may
 * be retried.
 * @param {unknown} [input]
 */
export function init(input) {
  if (loading === null) {
    loading = wasmInit(input).catch((err) => {
      loading = null;
      throw err;
    });
  }
  return loading;
}

/**
 * Loads the wasm (once), then connects to the broker and returns the store, whose status is
 * `connecting` until the broker answers.
 * @param {import('./index.js').ConnectOptions} options
 * @returns {Promise<import('./index.js').Store>}
 */
export async function connect(options) {
  await init();
  return connect_store(options);
}
