import { reactive } from 'vue';
import { ConflictError } from 'vmm-client/errors';

export const CONFIG_KEY = Symbol('config');
export const NOTICES_KEY = Symbol('notices');

/**
 * The notices shown above the board: each stays until dismissed.
 * A notice is `{ key, code, text }`, or for a conflict `{ key, code: 'conflict', id, field }`, whose
 * text is made when shown, from what the store holds now (it fetches the stored value after a
 * rollback).
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
    /** The notice for a rejected request of task `id`. */
    fromError(err, id) {
      if (err instanceof ConflictError || err?.code === 'conflict') {
        this.push({ code: 'conflict', id });
      } else {
        this.push({ code: err?.code ?? 'error', id, text: `${err?.name ?? 'Error'}: ${err?.message ?? String(err)}` });
      }
    },
  };
}
