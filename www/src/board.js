// The board's actions: add, rename, mark done, move, delete, and the change a notice redoes.
// Every update `$set`s only the fields it changes, with the `merge` policy (PROTOCOL.md §8): a
// rename here and "done" there, made at the same time, are both kept. A change that is rolled back
// anyway becomes a notice naming what was lost (notices.js).
import { newTaskId } from './config.js';
import { idKey } from 'vmm-client';

const orderOf = (t) => (typeof t.order === 'number' ? t.order : 0);

/** The board's order: `order`, then the id key. */
export function byOrder(a, b) {
  const d = orderOf(a) - orderOf(b);
  if (d !== 0) return d;
  const ka = idKey(a._id);
  const kb = idKey(b._id);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * The actions on the board `board`, whose tasks (in board order) are `tasks` (a ref), sent with
 * `request` (the `Vmm` handle's: usable before the store is connected); a rollback is reported to
 * `notices.lost`.
 */
export function boardActions(board, tasks, request, notices) {
  function send(id, op, title) {
    return request(board, op).catch((err) => {
      notices.lost(err, id, op, title);
      return null;
    });
  }

  async function add(title) {
    const order = tasks.value.reduce((max, t) => Math.max(max, orderOf(t)), 0) + 1;
    const id = newTaskId();
    return send(id, { op: 'insert', id, doc: { title, done: false, order } });
  }

  const set = (task, fields) =>
    send(task._id, { op: 'update', id: task._id, update: { $set: fields }, policy: 'merge' }, task.title);

  /** Moves a task one place up (-1) or down (+1): one `$set` of its order, between its new neighbours. */
  function move(task, dir) {
    const list = tasks.value;
    const key = idKey(task._id);
    const i = list.findIndex((t) => idKey(t._id) === key);
    const j = i + dir;
    if (i < 0 || j < 0 || j >= list.length) return Promise.resolve(null);
    const neighbour = orderOf(list[j]);
    const beyond = list[j + dir];
    const order = beyond === undefined ? neighbour + dir : (neighbour + orderOf(beyond)) / 2;
    return set(task, { order });
  }

  const remove = (task) => send(task._id, { op: 'delete', id: task._id }, task.title);

  /** The task of id `id` as the board holds it now (undefined when gone). */
  function taskOf(id) {
    const key = idKey(id);
    return tasks.value.find((t) => idKey(t._id) === key);
  }

  /** The request that redoes a lost change: the same one, which the store sends on the task's current version. */
  const redoOp = (notice) => notice.op;

  return { add, set, move, remove, taskOf, redoOp };
}
