// `vmm-client/pinia`: a Pinia setup store per collection (pinia is an optional peer dependency).
import type { StoreDefinition } from 'pinia';
import type { Doc, Id, Op, RequestOptions, VmmEvent } from './index.js';
import type { VmmError } from './errors.js';
import type { CollectionOptions, Vmm } from './vue.js';

export interface CollectionStoreOptions<T> extends CollectionOptions<T> {
  /** The handle to use; default: the app's `createVmm` (Pinia runs setup stores in the app's context). */
  vmm?: Vmm;
}

/** The state of a collection store: the states of `useCollection`. */
export interface CollectionStoreState<T> {
  data: T[];
  /** Id keys with unconfirmed changes. */
  pending: ReadonlySet<string>;
  loaded: boolean;
  error: VmmError | null;
}

export interface CollectionStoreActions<T> {
  isPending(id: Id): boolean;
  /** `vmm.request(collection, op, options)`: queued until the store is connected. */
  request(op: Op<T>, options?: RequestOptions): Promise<VmmEvent>;
  /** `vmm.cancel(collection, id)`. */
  cancel(id: Id): number;
  /** Stops following the collection (`$dispose()` does too). */
  stop(): void;
}

/**
 * `const useTasks = defineCollectionStore<Task>('tasks', 'tasks', { sort })`: a Pinia setup store
 * with the collection's states and its request/cancel actions. It counts as a user of the
 * collection (kept watched) until the store is disposed.
 */
export declare function defineCollectionStore<T = Doc, StoreId extends string = string>(
  id: StoreId,
  collection: string,
  options?: CollectionStoreOptions<T>,
): StoreDefinition<StoreId, CollectionStoreState<T>, {}, CollectionStoreActions<T>>;
