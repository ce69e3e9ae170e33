import type { Doc, Op, Status, Store, VmmEvent } from './index.js';

/** The state of the module the plugin registers. */
export interface VmmVuexState {
  status: Status;
  pendingCount: number;
  /** Frozen snapshots, replaced on every change. */
  collections: Record<string, readonly Doc[]>;
}

/** The payload of the `request` action. */
export interface VmmRequestPayload {
  collection: string;
  op: Op;
}

export interface VmmVuexOptions {
  /** The module's namespace; default `vmm`. */
  namespace?: string;
  /** Collections watched and mirrored from the start; more with `dispatch('vmm/watch', name)`. */
  collections?: string[];
}

/** A Vuex plugin (structurally `Plugin<any>` of vuex 4). */
export type VmmVuexPlugin = (store: {
  registerModule(path: string, module: object): void;
  commit(type: string, payload?: unknown): void;
}) => void;

/**
 * Registers the namespaced module: state `VmmVuexState`, mutations `setCollection({ name, docs })`
 * and `setStatus({ status, pendingCount })`, actions `request({ collection, op })` (settles like
 * `store.request`: `Promise<VmmEvent>`) and `watch(name)`.
 */
export declare function createVmmVuexPlugin(store: Store, options?: VmmVuexOptions): VmmVuexPlugin;

export type { VmmEvent };
