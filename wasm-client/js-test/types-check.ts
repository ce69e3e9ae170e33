// Compiled by `npm run typecheck` (tsc, no output): uses of the public API as an application
// writes them, imported by the package's name (through its `exports` and their `types`), so that a
// wrong declaration in ../js/*.d.ts or a wrong entry in ../package.json fails the tests.
import { createApp, effectScope, ref } from 'vue';
import { createStore } from 'vuex';
import {
  connect,
  init,
  ConflictError,
  VmmError,
  errorFor,
  type Doc,
  type Meta,
  type Op,
  type Status,
  type Update,
  type Store,
  type VmmEvent,
} from 'vmm-client';
import {
  createVmm,
  useCollection,
  useDocument,
  useRequest,
  useStatus,
  useVmm,
  VmmKey,
  type RequestState,
  type Vmm,
} from 'vmm-client/vue';
import { createVmmVuexPlugin, type VmmVuexState } from 'vmm-client/vuex';
import { defineCollectionStore } from 'vmm-client/pinia';
import type { ConnectionError, VmmError as VmmErrorType } from 'vmm-client/errors';

async function app(): Promise<void> {
  await init();
  const store: Store = await connect({ url: 'ws://127.0.0.1:9001', clientId: 'alice', collections: ['tasks'] });
  const status: Status = store.status;
  const off: () => void = store.onCollection('tasks', () => {});
  off();
  try {
    const event: VmmEvent = await store.request('tasks', { op: 'update', id: { $oid: 'x' }, update: { $set: {} }, policy: 'merge' });
    const version: number = event.version;
    void version;
  } catch (err) {
    if (err instanceof ConflictError) {
      const current: number | undefined = err.current;
      void current;
    }
  }
  const conflict: ConflictError = errorFor('conflict', 'stale', { current: 1 });
  const other: VmmError = errorFor('whatever', 'x');
  void [status, conflict, other];

  const vmm = createVmm({ url: 'ws://127.0.0.1:9001', clientId: 'alice' });
  createApp({}).use(vmm).provide(VmmKey, vmm);
  const ready: Store = await vmm.ready;
  createVmm(ready);
  const offError = store.onError((e: ConnectionError) => void (e.reason satisfies 'refused' | 'auth' | 'network'));
  offError();

  effectScope().run(() => {
    const docs: Doc[] = useCollection('tasks', {}, store).data.value;
    const legacy: Doc[] = useCollection('tasks', store).value;
    const id = ref<string | null>(null);
    const { data, meta, pending, loaded, error } = useDocument('tasks', id, store);
    const m: Meta | undefined = meta.value;
    const d: Doc | undefined = data.value;
    const flags: boolean[] = [pending.value, loaded.value];
    const e: VmmErrorType | null = error.value;
    const { status: s, pendingCount, problem } = useStatus();
    const handle: Vmm = useVmm();
    const n: number = pendingCount.value + (handle.store.value?.pendingCount ?? 0);
    void [docs, legacy, m, d, flags, e, s.value satisfies Status, n, problem.value?.reason];
  });

  const vuex = createStore<{ vmm?: VmmVuexState }>({ plugins: [createVmmVuexPlugin(store, { collections: ['tasks'] })] });
  const event = (await vuex.dispatch('vmm/request', { collection: 'tasks', op: { op: 'delete', id: 1 } })) as VmmEvent;
  void event;
}
void app;

// Documents typed by the application; updates checked against them (PROTOCOL.md §7.2).
interface Task {
  _id: string;
  title: string;
  done: boolean;
  order: number;
  tags: string[];
  due?: Date;
  owner: { name: string; visits: number };
  items: { sku: string; qty: number }[];
}

function typed(store: Store): void {
  const ok: Op<Task>[] = [
    { op: 'insert', id: 't1', doc: { title: 'a', done: false, order: 1, tags: [], owner: { name: 'x', visits: 0 }, items: [] } },
    { op: 'update', id: 't1', update: { $set: { title: 'b', 'owner.name': 'y', 'tags.0': 'red', due: new Date() } } },
    { op: 'update', id: 't1', update: { $inc: { order: 1, 'owner.visits': 2, 'items.0.qty': -1 } }, policy: 'merge' },
    { op: 'update', id: 't1', update: { $push: { tags: 'blue', items: { $each: [{ sku: 'k', qty: 1 }] } } } },
    { op: 'update', id: 't1', update: { $pull: { tags: 'red', items: { sku: 'k' } }, $unset: { due: '' } } },
    { op: 'delete', id: { $oid: '65a1f0c2e4b0a1b2c3d4e5f6' } },
  ];
  void ok;
  // @ts-expect-error: $sett is not an operator
  const typo: Update<Task> = { $sett: { title: 'x' } };
  // @ts-expect-error: not an operator of the update language either, even for untyped documents
  const rename: Update = { $rename: { a: 'b' } };
  // @ts-expect-error: $inc takes numbers
  const incText: Update<Task> = { $inc: { order: 'one' } };
  // @ts-expect-error: $inc of a text field
  const incTitle: Update<Task> = { $inc: { title: 1 } };
  // @ts-expect-error: $set takes the field's type
  const setWrong: Update<Task> = { $set: { done: 'yes' } };
  // @ts-expect-error: no such field
  const setUnknown: Update<Task> = { $set: { titel: 'x' } };
  // @ts-expect-error: _id never changes
  const setId: Update<Task> = { $set: { _id: 't2' } };
  // @ts-expect-error: $push needs an array field
  const pushScalar: Update<Task> = { $push: { title: 'x' } };
  // @ts-expect-error: an element of the array's type
  const pushWrong: Update<Task> = { $push: { tags: 3 } };
  // @ts-expect-error: $inc takes numbers for untyped documents too
  const incUntyped: Update = { $inc: { n: '1' } };
  void [typo, rename, incText, incTitle, setWrong, setUnknown, setId, pushScalar, pushWrong, incUntyped];
  // @ts-expect-error: an insert needs the document
  void store.request<Task>('tasks', { op: 'insert', id: 't1' });
  void store.request<Task>('tasks', { op: 'update', id: 't1', update: { $set: { done: true } } }, { timeout: 5000 });
  const cancelled: number = store.cancel('tasks', 't1');
  const entries = store.entries<Task>('tasks');
  const firstPending: number = entries[0].pending;
  void [cancelled, firstPending];

  effectScope().run(() => {
    const showDone = ref(false);
    const tasks = useCollection<Task>('tasks', { filter: (t) => showDone.value || !t.done, sort: (a, b) => a.order - b.order });
    const titles: string[] = tasks.data.value.map((t) => t.title);
    const pendingKeys: ReadonlySet<string> = tasks.pending.value;
    const flags: boolean[] = [tasks.isPending('t1'), tasks.loaded.value];
    tasks.stop();
    // @ts-expect-error: the documents are Tasks
    void tasks.data.value[0].titel;
    const one = useDocument<Task>('tasks', 't1');
    const done: boolean | undefined = one.data.value?.done;
    const save = useRequest();
    void save.run<Task>('tasks', { op: 'update', id: 't1', update: { $set: { done: true } } });
    // @ts-expect-error: typed by the document
    void save.run<Task>('tasks', { op: 'update', id: 't1', update: { $set: { done: 1 } } });
    const state: RequestState = save.state.value;
    useVmm().request<Task>('tasks', { op: 'update', id: 't1', update: { $inc: { order: 1 } } });
    void [titles, pendingKeys, flags, done, state, save.error.value?.code, save.event.value?.version];
  });

  const useTasks = defineCollectionStore<Task>('tasks', 'tasks', { sort: (a, b) => a.order - b.order });
  const tasks = useTasks();
  const first: Task | undefined = tasks.data[0];
  const loaded: boolean = tasks.loaded;
  void tasks.request({ op: 'update', id: 't1', update: { $set: { title: 'x' } } });
  // @ts-expect-error: typed by the document
  void tasks.request({ op: 'update', id: 't1', update: { $set: { title: 1 } } });
  const n: number = tasks.cancel('t1');
  void [first, loaded, n, tasks.isPending('t1')];
}
void typed;
