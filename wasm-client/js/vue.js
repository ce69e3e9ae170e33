// Vue 3 integration: a plugin that connects and provides a `Vmm` handle (the store once connected,
// and a request function usable at once), and the composables (composables.js). The types and the
// contract of each function are in vue.d.ts.
//
// Server-side rendering: where there is no `window` (Node, Deno, Bun, a worker without a DOM),
// `createVmm` connects nothing and loads no wasm (the bindings' JS is imported, statically, so that
// an app that also imports `vmm-client` itself gets no Vite warning about a module imported both
// ways; it does nothing until `connect`); the composables then keep their empty states
// (`data` [], `loaded` false, status `connecting`), and `request` rejects. The check is
// `typeof window === 'undefined'`, not the absence of `WebSocket`: Node 22 has a global WebSocket.
import { connect } from './index.js';
import { keep } from './watching.js';
import { createHandle, injectVmm, isStore, isThenable, VmmKey } from './context.js';

export { VmmKey } from './context.js';
export { useCollection, useDocument, useRequest, useStatus } from './composables.js';

/** True where nothing may connect: server-side rendering (no `window`). */
export const isServer = () => typeof window === 'undefined';

/**
 * The Vue plugin: `app.use(createVmm({ url, clientId, collections: ['tasks'] }))`. See vue.d.ts.
 * @param {import('./index.js').ConnectOptions | import('./index.js').Store | Promise<import('./index.js').Store>} options
 */
export function createVmm(options) {
  const handle = createHandle();
  const owned = !isStore(options) && !isThenable(options);
  const ssr = owned && isServer();
  let ready = null;
  let apps = 0;
  if (ssr) handle.fail(new Error('vmm: nothing connects during server-side rendering'));
  const connecting = () => {
    if (ready === null) {
      // During SSR `ready` never settles: there is no connection to wait for, nor an error.
      if (ssr) return (ready = new Promise(() => {}));
      const attempt = (owned ? connect(options) : Promise.resolve(options)).then(
        (store) => {
          // Not if the app unmounted meanwhile (the store is being closed).
          if (ready === attempt) {
            if (owned && options.collections) keep(store, options.collections);
            handle.attach(store);
          }
          return store;
        },
        (err) => {
          if (ready === attempt) handle.fail(err);
          throw err;
        },
      );
      ready = attempt;
    }
    return ready;
  };
  // Settles with the store once connected (starts connecting if the plugin is not installed yet).
  Object.defineProperty(handle, 'ready', { get: connecting, enumerable: true });
  return Object.assign(handle, {
    /** @param {import('vue').App} app */
    install(app) {
      app.provide(VmmKey, handle);
      apps += 1;
      if (ssr) return;
      let offError = () => {};
      let unmounted = false;
      connecting().then(
        (store) => {
          // Every failed attempt to reach the broker, as Vue reports any other error of the app.
          if (!unmounted) offError = store.onError((err) => report(app, err, 'vmm connection'));
        },
        (err) => report(app, err, 'vmm connect'),
      );
      // Vue 3.5+: close the connection we opened when the last app using it unmounts.
      if (typeof app.onUnmount === 'function') {
        app.onUnmount(() => {
          unmounted = true;
          offError();
          apps -= 1;
          if (owned && apps === 0 && ready !== null) {
            const closing = ready;
            ready = null;
            handle.detach();
            closing.then((store) => store.close(), () => {});
          }
        });
      }
    },
  });
}

function report(app, err, info) {
  const handler = app.config.errorHandler;
  if (handler) handler(err, null, info);
  else console.error(`vmm (${info}):`, err);
}

/**
 * The `Vmm` handle provided by `createVmm`: `store` (a shallow ref, `null` until connected),
 * `request`, `cancel`, `ready`. Call in `setup()` (or where `inject` works).
 * @returns {import('./vue.js').Vmm}
 */
export function useVmm() {
  const vmm = injectVmm();
  if (vmm === null) {
    throw new Error('useVmm: no vmm store; install createVmm(...) in the app and call useVmm() in setup()');
  }
  return vmm;
}
