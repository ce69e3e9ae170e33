// Resolve `vue` and `vuex` (and their subpaths) from this folder, whoever imports them.
const PEERS = new Set(['vue', 'vuex']);
const HERE = new URL('./package.json', import.meta.url).href;

export async function resolve(specifier, context, next) {
  if (PEERS.has(specifier.split('/')[0])) return next(specifier, { ...context, parentURL: HERE });
  return next(specifier, context);
}
