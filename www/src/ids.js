// Task ids as the page uses them: the row key, `data-id`, and what a notice remembers.
//
// A row is keyed by the object's id key (PROTOCOL.md §3.3), never by `String(_id)`: an ObjectId
// `_id` is an object, whose `String()` is `[object Object]` for every one of them.

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** The id key of `id` (§3.3): `o:<hex>` for an ObjectId, `s:<percent-encoded>` for a string, `i:<n>` for an integer. */
export function idKey(id) {
  if (typeof id === 'string') {
    let out = 's:';
    for (const byte of new TextEncoder().encode(id)) {
      const c = String.fromCharCode(byte);
      out += byte < 0x80 && UNRESERVED.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    }
    return out;
  }
  if (typeof id === 'number' || typeof id === 'bigint') return `i:${id}`;
  if (id != null && typeof id === 'object') {
    // The package's ObjectId class, or `{ $oid }` in Extended JSON.
    const hex = typeof id.toHexString === 'function' ? id.toHexString() : id.$oid;
    if (typeof hex === 'string') return `o:${hex.toLowerCase()}`;
  }
  throw new TypeError(`not an object id: ${JSON.stringify(id)}`);
}
