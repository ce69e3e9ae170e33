/** Lets the microtasks run in which the composables and the plugin re-read the store. */
export const settle = () => new Promise((done) => setImmediate(done));
