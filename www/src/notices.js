import { reactive } from 'vue';

export const CONFIG_KEY = Symbol('config');
export const NOTICES_KEY = Symbol('notices');

/**
 * The notices shown above the board: each stays until dismissed (or redone).
 *
 * A change of ours that was rolled back is `{ key, code, id, op, title }`: the error's code, the
 * task's id, the request as it was sent (so that "Redo" can send it again) and the task's title
 * when it was made. Its text is made when shown (`lostText`), from what the board holds now. Any
 * other notice is `{ key, code, text }`. (The connection's problems are not notices: the status
 * line says them, status.js.)
 */
export function createNotices() {
  let next = 0;
  const list = reactive([]);
  return {
    list,
    push(notice) {
      next += 1;
      list.push({ key: next, ...notice });
    },
    dismiss(key) {
      const i = list.findIndex((n) => n.key === key);
      if (i >= 0) list.splice(i, 1);
    },
    /** A change of task `id` was rolled back with `err`; `title` is the task's title when it was made. */
    lost(err, id, op, title) {
      this.push({ code: err?.code ?? 'error', id, op, title, message: err?.message ?? String(err) });
    },
    /** A redo of the lost change of notice `key` was lost too: the notice now says why. */
    lostAgain(key, err) {
      const n = list.find((x) => x.key === key);
      if (!n) return;
      n.code = err?.code ?? 'error';
      n.message = err?.message ?? String(err);
    },
  };
}

const quoted = (s) => `“${s}”`;

/** What a request changed, in words: "your rename of “a” to “b”". */
export function changeText(op, title) {
  const name = typeof title === 'string' ? quoted(title) : 'the task';
  if (op.op === 'insert') return `your new task ${quoted(op.doc?.title ?? '')}`;
  if (op.op === 'delete') return `your delete of ${name}`;
  if (op.op === 'update') {
    const set = op.update?.$set ?? {};
    if ('title' in set) return `your rename of ${name} to ${quoted(set.title)}`;
    if ('done' in set) return `your marking of ${name} as ${set.done ? 'done' : 'not done'}`;
    if ('order' in set) return `your move of ${name}`;
  }
  return `your change of ${name}`;
}

/** Why a change was rolled back, in words, by the error's code. */
export function whyText(code, op, message) {
  switch (code) {
    case 'conflict':
      if (op.op === 'update') return 'someone else changed the same thing first';
      if (op.op === 'insert') return 'a task with the same id exists';
      return 'someone else changed the task meanwhile';
    case 'not_found':
      return 'the task was deleted meanwhile';
    case 'aborted':
      return 'an earlier change of the same task was undone';
    case 'cancelled':
      return 'it was cancelled';
    case 'forbidden':
      // The demo's permissions (docs/examples/permissions.toml): anyone logged in adds tasks, and
      // only a task's creator changes or deletes it.
      if (op.op === 'insert') return 'you may not add tasks to this board';
      return 'only the user who created the task may change it';
    case 'invalid_document':
      return `the server does not accept the task as it is (${message})`;
    default:
      return `the server refused it (${message})`;
  }
}

/**
 * The text of a lost change's notice, given the task as the board holds it now (undefined: gone):
 * what was lost, why, and what the task is now.
 */
export function lostText(notice, now) {
  const what = changeText(notice.op, notice.title);
  const why = whyText(notice.code, notice.op, notice.message);
  let state = '';
  if (notice.op.op !== 'insert') {
    if (now === undefined) state = ' The task is no longer on the board.';
    else if (notice.op.op === 'update' && 'done' in (notice.op.update?.$set ?? {}))
      state = ` It is ${now.done === true ? 'done' : 'not done'}.`;
    else state = ` Its title is ${quoted(now.title)}.`;
  }
  return `Lost: ${what}, because ${why}.${state}`;
}

/**
 * Whether "Redo" makes sense: not for what the server refuses whatever the version (forbidden,
 * invalid), nor for a new task whose id is taken; a new task can be sent again, a change while
 * the task exists.
 */
export function canRedo(notice, now) {
  if (!notice.op) return false;
  if (['forbidden', 'malformed', 'too_large', 'invalid_document', 'invalid_update'].includes(notice.code)) return false;
  if (notice.op.op === 'insert') return notice.code !== 'conflict';
  return now !== undefined;
}
