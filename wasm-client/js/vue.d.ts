import type { App, InjectionKey, MaybeRefOrGetter, Ref, ShallowRef } from 'vue';
import type { ConnectOptions, Doc, Id, Meta, Status, Store } from './index.js';

/** A store for a composable: the store, a ref of one (null while connecting), or a promise of one. */
export type StoreSource = Store | Ref<Store | null> | Promise<Store>;

/** Under this key `createVmm` provides the store, `null` until connected. */
export declare const VmmKey: InjectionKey<ShallowRef<Store | null>>;

export interface VmmPlugin {
  install(app: App): void;
  /** Settles with the store once connected (starts connecting if not installed yet). */
  readonly ready: Promise<Store>;
}

/**
 * The Vue plugin: connects when installed and provides the store. Takes connect options, or a store
 * (or a promise of one) connected by you, which the plugin then never closes.
 */
export declare function createVmm(options: ConnectOptions | Store | Promise<Store>): VmmPlugin;

/** The store of `createVmm`; `null` while connecting. Call in `setup()`. */
export declare function useVmm(): Readonly<ShallowRef<Store | null>>;

/** The documents of a collection (pending changes included), replaced on every change. Watches it. */
export declare function useCollection(name: MaybeRefOrGetter<string>, store?: StoreSource): ShallowRef<Doc[]>;

/** One document and its meta; `undefined` while unknown, not connected, or `id` is null. Watches the object. */
export declare function useDocument(
  collection: MaybeRefOrGetter<string>,
  id: MaybeRefOrGetter<Id | null | undefined>,
  store?: StoreSource,
): { doc: ShallowRef<Doc | undefined>; meta: ShallowRef<Meta | undefined> };

/** The connection status (`connecting` until connected) and the number of pending changes. */
export declare function useStatus(store?: StoreSource): { status: Ref<Status>; pendingCount: Ref<number> };
