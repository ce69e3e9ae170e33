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
  type Status,
  type Store,
  type VmmEvent,
} from 'vmm-client';
import { createVmm, useCollection, useDocument, useStatus, useVmm, VmmKey } from 'vmm-client/vue';
import { createVmmVuexPlugin, type VmmVuexState } from 'vmm-client/vuex';

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
  createApp({}).use(vmm).provide(VmmKey, ref(null));
  const ready: Store = await vmm.ready;
  createVmm(ready);

  effectScope().run(() => {
    const docs: Doc[] = useCollection('tasks', store).value;
    const id = ref<string | null>(null);
    const { doc, meta } = useDocument('tasks', id, store);
    const m: Meta | undefined = meta.value;
    const d: Doc | undefined = doc.value;
    const { status: s, pendingCount } = useStatus();
    const n: number = pendingCount.value + (useVmm().value?.pendingCount ?? 0);
    void [docs, m, d, s.value satisfies Status, n];
  });

  const vuex = createStore<{ vmm?: VmmVuexState }>({ plugins: [createVmmVuexPlugin(store, { collections: ['tasks'] })] });
  const event = (await vuex.dispatch('vmm/request', { collection: 'tasks', op: { op: 'delete', id: 1 } })) as VmmEvent;
  void event;
}
void app;
