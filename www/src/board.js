// The board's state and actions, on top of the vmm composables.
import { computed, inject, onScopeDispose, ref, shallowRef, toRaw, watch } from 'vue';
import { useCollection, useStatus, useVmm } from 'vmm-client/vue';
import { CONFIG_KEY, NOTICES_KEY } from './notices.js';
import { newTaskId } from './config.js';

/** A request pending this long while online means the bridge is not answering. */
export const WAITING_MS = 3000;

function byOrder(a, b) {
  const oa = typeof a.order === 'number' ? a.order : 0;
  const ob = typeof b.order === 'number' ? b.order : 0;
  if (oa !== ob) return oa - ob;
  const ia = String(a._id);
  const ib = String(b._id);
  return ia < ib ? -1 : ia > ib ? 1 : 0;
}

export function useBoard() {
  const config = inject(CONFIG_KEY);
  const notices = inject(NOTICES_KEY);
  const board = config.board;
  const vmm = useVmm();
  const docs = useCollection(board);
  const { status, pendingCount } = useStatus();

  const tasks = computed(() => [...docs.value].sort(byOrder));

  // Bumped on every change the store reports, so that per-task metas are read again.
  const changes = ref(0);
  const bump = () => {
    changes.value += 1;
  };
  watch(
    () => vmm.value,
    (store, _old, onCleanup) => {
      if (!store) return;
      const s = toRaw(store);
      const offStatus = s.onStatus(bump);
      const offCollection = s.onCollection(board, bump);
      onCleanup(() => {
        offStatus();
        offCollection();
      });
    },
    { immediate: true },
  );

  /** Ids (as strings) of the tasks with changes of this client in flight. */
  const pendingIds = computed(() => {
    void changes.value;
    void pendingCount.value;
    const store = vmm.value && toRaw(vmm.value);
    const ids = new Set();
    if (!store) return ids;
    for (const t of docs.value) {
      const meta = store.meta(board, t._id);
      if (meta && meta.pending > 0) ids.add(String(t._id));
    }
    return ids;
  });

  // "Waiting for the bridge": some request has been pending for over WAITING_MS while online.
  // Each request counts from when it was made, or from when the store last came online.
  const inFlight = new Map(); // token -> time it was made
  const onlineSince = ref(status.value === 'online' ? Date.now() : Infinity);
  const now = ref(Date.now());
  watch(status, (s) => {
    onlineSince.value = s === 'online' ? Date.now() : Infinity;
  });
  let ticker = null;
  const tick = () => {
    now.value = Date.now();
    if (inFlight.size === 0 && ticker !== null) {
      clearInterval(ticker);
      ticker = null;
    }
  };
  onScopeDispose(() => {
    if (ticker !== null) clearInterval(ticker);
  });
  const inFlightSize = ref(0);
  const waiting = computed(() => {
    void inFlightSize.value;
    if (status.value !== 'online' || pendingCount.value === 0) return false;
    for (const made of inFlight.values()) {
      if (now.value - Math.max(made, onlineSince.value) > WAITING_MS) return true;
    }
    return false;
  });

  let tokens = 0;
  /** Sends a request for task `id`; a rejection (after the store rolled it back) becomes a notice. */
  function send(id, op) {
    const store = vmm.value && toRaw(vmm.value);
    if (!store) {
      notices.push({ code: 'offline', text: 'Not connected yet: try again in a moment.' });
      return Promise.resolve(null);
    }
    const token = ++tokens;
    inFlight.set(token, Date.now());
    inFlightSize.value = inFlight.size;
    if (ticker === null) ticker = setInterval(tick, 250);
    let promise;
    try {
      promise = store.request(board, op);
    } catch (err) {
      promise = Promise.reject(err);
    }
    return promise
      .catch((err) => {
        notices.fromError(err, id);
        return null;
      })
      .finally(() => {
        inFlight.delete(token);
        inFlightSize.value = inFlight.size;
        bump();
      });
  }

  function add(title) {
    const order = tasks.value.reduce((max, t) => Math.max(max, typeof t.order === 'number' ? t.order : 0), 0) + 1;
    const id = newTaskId();
    return send(id, { op: 'insert', id, doc: { title, done: false, order } });
  }

  const set = (task, fields) => send(task._id, { op: 'update', id: task._id, update: { $set: fields } });

  /** Moves a task one place up (-1) or down (+1): one `$set` of its order, between its new neighbours. */
  function move(task, dir) {
    const list = tasks.value;
    const i = list.findIndex((t) => String(t._id) === String(task._id));
    const j = i + dir;
    if (i < 0 || j < 0 || j >= list.length) return Promise.resolve(null);
    const orderOf = (t) => (typeof t.order === 'number' ? t.order : 0);
    const neighbour = orderOf(list[j]);
    const beyond = list[j + dir];
    const order = beyond === undefined ? neighbour + dir : (neighbour + orderOf(beyond)) / 2;
    return set(task, { order });
  }

  const remove = (task) => send(task._id, { op: 'delete', id: task._id });

  /** The title the store holds now for task `id` (after a rollback: the stored one). */
  function titleOf(id) {
    const t = docs.value.find((d) => String(d._id) === String(id));
    return t ? t.title : undefined;
  }

  return { board, config, notices, vmm, tasks, pendingIds, status, pendingCount, waiting, add, set, move, remove, titleOf };
}
