// A collection's documents kept up to date from the store's change batches: `store.entries(c)`
// once, then each `onCollection` batch (`[{ key, id, doc, pending }]`, `doc` null when gone) costs
// its changes, with no re-read of the collection through the wasm boundary. The order is the
// store's: by id key (`store.entries` and `store.list` use it too). Beside the documents it keeps
// which id keys have changes of this client still unconfirmed (`pending` of each entry).

export class CollectionView {
  /** @param {{ key: string, doc: object, pending?: number }[]} entries as `store.entries(collection)` gives them */
  constructor(entries) {
    this.keys = entries.map((e) => e.key);
    this.docs = new Map(entries.map((e) => [e.key, e.doc]));
    /** The id keys with unconfirmed changes. */
    this.pending = new Set(entries.filter((e) => e.pending > 0).map((e) => e.key));
  }

  /**
   * Applies one batch of changes. Returns what changed: the documents, the pending set, or both.
   * @param {{ key: string, doc: object | null, pending?: number }[]} changes
   * @returns {{ docs: boolean, pending: boolean }}
   */
  apply(changes) {
    let docs = false;
    let pending = false;
    for (const { key, doc, pending: count } of changes) {
      // A change without `pending` (a store older than issue 10) leaves the pending set alone.
      if (count !== undefined && count > 0 !== this.pending.has(key)) {
        if (count > 0) this.pending.add(key);
        else this.pending.delete(key);
        pending = true;
      }
      const known = this.docs.has(key);
      if (doc == null) {
        if (!known) continue;
        this.docs.delete(key);
        this.keys.splice(this.position(key), 1);
      } else {
        if (!known) this.keys.splice(this.position(key), 0, key);
        this.docs.set(key, doc);
      }
      docs = true;
    }
    return { docs, pending };
  }

  /** The documents in key order, as a new array (a snapshot for a shallow ref). */
  list() {
    return this.keys.map((k) => this.docs.get(k));
  }

  /** The id keys with unconfirmed changes, as a new set (a snapshot for a shallow ref). */
  pendingKeys() {
    return new Set(this.pending);
  }

  /** Where `key` is or would go in `keys` (binary search). */
  position(key) {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid] < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * The id key of an object id (PROTOCOL.md §3.3): `o:` and the ObjectId's hex in lower case, `s:` and
 * the string with every UTF-8 byte other than `A-Z a-z 0-9 - . _ ~` as `%XX`, `i:` and the
 * integer. Takes the ids the store takes: a string, an integer (number or BigInt), `{ $oid }` or an
 * ObjectId (anything with `toHexString()`). `undefined` for anything else.
 * @param {unknown} id
 * @returns {string | undefined}
 */
export function idKey(id) {
  if (typeof id === 'string') {
    // encodeURIComponent leaves ! ' ( ) * as they are; the id key escapes them too.
    return `s:${encodeURIComponent(id).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
  }
  if (typeof id === 'bigint' || (typeof id === 'number' && Number.isInteger(id))) return `i:${id}`;
  if (id !== null && typeof id === 'object') {
    if (typeof id.toHexString === 'function') return `o:${id.toHexString().toLowerCase()}`;
    if (typeof id.$oid === 'string') return `o:${id.$oid.toLowerCase()}`;
  }
  return undefined;
}
