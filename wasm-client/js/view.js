// A collection's documents kept up to date from the store's change batches: `store.entries(c)`
// once, then each `onCollection` batch (`[{ key, id, doc }]`, `doc` null when gone) costs its
// changes, with no re-read of the collection through the wasm boundary. The order is the store's:
// by id key (`store.entries` and `store.list` use it too).

export class CollectionView {
  /** @param {{ key: string, doc: object }[]} entries as `store.entries(collection)` gives them */
  constructor(entries) {
    this.keys = entries.map((e) => e.key);
    this.docs = new Map(entries.map((e) => [e.key, e.doc]));
  }

  /**
   * Applies one batch of changes. Returns whether the view changed.
   * @param {{ key: string, doc: object | null }[]} changes
   */
  apply(changes) {
    let changed = false;
    for (const { key, doc } of changes) {
      const known = this.docs.has(key);
      if (doc == null) {
        if (!known) continue;
        this.docs.delete(key);
        this.keys.splice(this.position(key), 1);
      } else {
        if (!known) this.keys.splice(this.position(key), 0, key);
        this.docs.set(key, doc);
      }
      changed = true;
    }
    return changed;
  }

  /** The documents in key order, as a new array (a snapshot for a shallow ref). */
  list() {
    return this.keys.map((k) => this.docs.get(k));
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
