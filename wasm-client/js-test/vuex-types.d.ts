// vuex 4.1's `exports` map has no `types` condition, so TypeScript's `Bundler` (and `Node16`)
// resolution finds its JavaScript but not its types; an application using vuex with them needs
// the same line. Its types are reachable through the `./*` export.
declare module 'vuex' {
  export * from 'vuex/types/index.js';
}
