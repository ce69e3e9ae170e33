// The bodies of tests/values.rs, in JS because they are about JS values: each function takes
// `connect(options)` (the wasm's `connect_store`), the broker URL and the topic prefix, runs
// against the real broker and bridge, and throws on the first difference. wasm-bindgen-test-runner
// serves this file from the crate folder, as it serves js/values.js to the bindings.
import { ValidationError } from '../js/errors.js';
import { Binary, Decimal128, ObjectId } from '../js/values.js';

const unique = (name) => `${name}${Math.floor(Math.random() * 0xffffffff).toString(16).padStart(8, '0')}`;

function fail(message) {
  throw new Error(message);
}

async function until(what, check, ms = 15000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function open(connect, url, prefix, collection, values) {
  const options = { url, prefix, clientId: unique('values'), collections: [collection], requestTimeout: 20000 };
  if (values) options.values = values;
  const store = connect(options);
  await until('the store is online', () => store.status === 'online');
  return store;
}

const show = (v) =>
  JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? `bytes[${x}]` : x));

/** Equal values of the same JS types, field order included. */
function same(actual, expected, path = 'value') {
  const bad = () => fail(`${path}: got ${show(actual)}, expected ${show(expected)}`);
  if (typeof actual !== typeof expected) bad();
  if (expected === null || typeof expected !== 'object') return Object.is(actual, expected) || bad();
  if (actual === null || Object.getPrototypeOf(actual) !== Object.getPrototypeOf(expected)) bad();
  if (expected instanceof Date) return actual.getTime() === expected.getTime() || bad();
  if (expected instanceof ObjectId) return actual.equals(expected) || bad();
  if (expected instanceof Decimal128) return actual.value === expected.value || bad();
  if (expected instanceof Binary) {
    if (actual.subType !== expected.subType) bad();
    return same(actual.bytes, expected.bytes, `${path}.bytes`);
  }
  if (expected instanceof Uint8Array) {
    return (actual.length === expected.length && actual.every((b, i) => b === expected[i])) || bad();
  }
  const keys = Object.keys(expected);
  if (Object.keys(actual).join() !== keys.join()) bad();
  for (const key of keys) same(actual[key], expected[key], `${path}.${key}`);
  return true;
}

/** Every kind of value, passed as JS, stored by the bridge, read back by other stores. */
export async function roundTrip(connect, url, prefix) {
  const c = unique('values');
  const writer = await open(connect, url, prefix, c);
  let batch = [];
  writer.onCollection(c, (changes) => (batch = changes));
  const id = new ObjectId();
  const ref = ObjectId.generate();
  const uuid = new Binary(Uint8Array.from({ length: 16 }, (_, i) => i * 17), 4);
  const doc = {
    when: new Date(Date.UTC(2024, 1, 29, 12, 30, 45, 678)),
    before1970: new Date(-86400001),
    after9999: new Date(Date.UTC(10000, 0, 1, 0, 0, 0, 1)),
    big: 2n ** 60n + 1n,
    min: -(2n ** 63n),
    max: 2n ** 63n - 1n,
    bytes: new Uint8Array([0, 1, 2, 254, 255]),
    empty: new Uint8Array(0),
    uuid,
    ref,
    nested: [
      { list: [1, { at: [2.5, new Date(0)] }] },
      { ids: [ref, id], more: [{ b: [new Uint8Array([9])] }, { empty: [] }] },
    ],
    text: 'é ✓',
    none: null,
    left: undefined,
  };
  // What comes back: the same, `_id` first, `left` gone (undefined fields are left out).
  const { left, ...kept } = doc;
  const expected = { _id: id, ...kept };
  const event = await writer.request(c, { op: 'insert', id, doc });
  same(event.id, id, 'event.id');
  same(event.doc, expected, 'event.doc');
  same(writer.get(c, id), expected, 'writer.get');
  same(writer.get(c, { $oid: id.toHexString().toUpperCase() }), expected, 'writer.get by {$oid}');
  await until('the writer listener saw the confirmed object', () => batch.length === 1 && batch[0].doc);
  same(batch[0].id, id, 'change.id');
  same(batch[0].doc, expected, 'change.doc');

  // What the bridge stored, as Extended JSON: a store that loads it from the bridge.
  const ext = await open(connect, url, prefix, c, 'extended');
  await until('the extended store loaded the object', () => ext.list(c).length === 1);
  same(ext.list(c)[0], {
    _id: { $oid: id.toHexString() },
    when: { $date: '2024-02-29T12:30:45.678Z' },
    before1970: { $date: { $numberLong: '-86400001' } },
    after9999: { $date: { $numberLong: '253402300800001' } },
    big: { $numberLong: '1152921504606846977' },
    min: { $numberLong: '-9223372036854775808' },
    max: { $numberLong: '9223372036854775807' },
    bytes: { $binary: { base64: 'AAEC/v8=', subType: '00' } },
    empty: { $binary: { base64: '', subType: '00' } },
    uuid: { $binary: { base64: 'ABEiM0RVZneImaq7zN3u/w==', subType: '04' } },
    ref: { $oid: ref.toHexString() },
    nested: [
      { list: [1, { at: [2.5, { $date: '1970-01-01T00:00:00.000Z' }] }] },
      {
        ids: [{ $oid: ref.toHexString() }, { $oid: id.toHexString() }],
        more: [{ b: [{ $binary: { base64: 'CQ==', subType: '00' } }] }, { empty: [] }],
      },
    ],
    text: 'é ✓',
    none: null,
  }, 'stored');

  // The same, loaded as JS values by a third store: list, entries, get and meta by ObjectId.
  const reader = await open(connect, url, prefix, c);
  await until('the reader loaded the object', () => reader.list(c).length === 1);
  same(reader.list(c)[0], expected, 'reader.list');
  const [entry] = reader.entries(c);
  same(entry.id, id, 'entry.id');
  same(entry.doc, expected, 'entry.doc');
  same(reader.meta(c, id).version, 1, 'reader.meta');
  await beyondFerretDb(c, writer, ext);
  for (const s of [writer, ext, reader]) s.close();
}

/**
 * Values the test database cannot store: a Decimal128 and an array directly in an array
 * (FerretDB 1.24 stores neither, so the bridge refuses them, `refused`, naming why). Each goes out
 * as Extended JSON and is shown as passed at once; a database that stores it must give back
 * exactly what was passed.
 */
async function beyondFerretDb(c, writer, ext) {
  const cases = [
    ['dec', { price: new Decimal128('-12.50E+3') }, { price: { $numberDecimal: '-12.50E+3' } }, /Decimal128/],
    [
      'nest',
      { grid: [[1, [new Date(0)]], []] },
      { grid: [[1, [{ $date: '1970-01-01T00:00:00.000Z' }]], []] },
      /nested arrays/,
    ],
  ];
  for (const [id, doc, stored, why] of cases) {
    const sent = writer.request(c, { op: 'insert', id, doc });
    same(writer.get(c, id), { _id: id, ...doc }, `${id} pending`);
    const outcome = await sent.then(
      () => 'stored',
      (e) => e,
    );
    if (outcome === 'stored') {
      await until(`the extended store has ${id}`, () => ext.get(c, id) !== undefined);
      same(ext.get(c, id), { _id: id, ...stored }, `${id} stored`);
    } else if (outcome.code !== 'refused' || !why.test(outcome.message)) {
      fail(`${id} was rejected with ${outcome.code}: ${outcome.message}`);
    }
  }
}

/** Updates carry JS values too; ids may be ObjectIds everywhere the store takes one. */
export async function updatesAndIds(connect, url, prefix) {
  const c = unique('values');
  const writer = await open(connect, url, prefix, c);
  const id = new ObjectId();
  await writer.request(c, { op: 'insert', id, doc: { n: 2n ** 60n, at: new Date(1000), log: [] } });
  const watcher = await open(connect, url, prefix, unique('other'));
  let calls = 0;
  watcher.onDocument(c, id, () => calls++);
  watcher.watchObject(c, id);
  await until('the watcher loaded the object', () => watcher.get(c, id) !== undefined);
  const event = await writer.request(c, {
    op: 'update',
    id,
    update: { $inc: { n: 1n }, $set: { at: new Date(2000), 'sub.big': -(2n ** 62n) }, $push: { log: new Uint8Array([1]) } },
  });
  same(event.version, 2, 'event.version');
  const expected = { _id: id, n: 2n ** 60n + 1n, at: new Date(2000), log: [new Uint8Array([1])], sub: { big: -(2n ** 62n) } };
  same(writer.get(c, id), expected, 'writer.get');
  await until('the watcher saw version 2', () => watcher.meta(c, id)?.version === 2);
  same(watcher.get(c, id), expected, 'watcher.get');
  if (calls === 0) fail('onDocument with an ObjectId id was never called');
  writer.close();
  watcher.close();
}

/** Each value vmm cannot represent is refused, with its path, and nothing is sent. */
export async function refusals(connect, url, prefix) {
  const c = unique('values');
  const store = await open(connect, url, prefix, c);
  const cycle = { a: { list: [] } };
  cycle.a.list.push(cycle.a);
  class Point {
    constructor() {
      this.x = 1;
    }
  }
  const docs = [
    [{ tags: ['a', 'b', undefined] }, 'doc.tags.2'],
    [{ f: () => 1 }, 'doc.f'],
    [{ s: Symbol('s') }, 'doc.s'],
    [{ m: new Map([[1, 2]]) }, 'doc.m'],
    [{ s: new Set([1]) }, 'doc.s'],
    [{ deep: [{ p: new Point() }] }, 'doc.deep.0.p'],
    [{ r: /x/ }, 'doc.r'],
    [{ w: new Uint16Array(2) }, 'doc.w'],
    [{ a: { b: NaN } }, 'doc.a.b'],
    [{ i: Infinity }, 'doc.i'],
    [{ i: -Infinity }, 'doc.i'],
    [{ d: new Date('not a date') }, 'doc.d'],
    [{ big: 2n ** 63n }, 'doc.big'],
    [{ big: -(2n ** 63n) - 1n }, 'doc.big'],
    [cycle, 'doc.a.list.0'],
  ];
  const ops = docs.map(([doc, path]) => [{ op: 'insert', id: 'x', doc }, path]);
  ops.push([{ op: 'update', id: 'x', update: { $set: { tags: [undefined] } } }, 'update.$set.tags.0']);
  ops.push([{ op: 'insert', id: Symbol('id'), doc: {} }, 'id']);
  ops.push([{ op: 'insert', id: new Map(), doc: {} }, 'id']);
  for (const [op, path] of ops) {
    const outcome = await store.request(c, op).then(
      () => fail(`${path}: accepted`),
      (e) => e,
    );
    if (!(outcome instanceof ValidationError)) fail(`${path}: rejected with ${outcome}, not a ValidationError`);
    if (outcome.code !== 'invalid_document') fail(`${path}: code ${outcome.code}`);
    if (outcome.path !== path) fail(`${path}: the error's path is ${outcome.path} (${outcome.message})`);
    if (store.pendingCount !== 0) fail(`${path}: pendingCount is ${store.pendingCount}`);
    if (store.get(c, 'x') !== undefined) fail(`${path}: the store shows the object`);
  }
  for (const bad of [undefined, new Map(), () => 1, { a: undefined, b: NaN }]) {
    let thrown = null;
    try {
      store.get(c, bad);
    } catch (e) {
      thrown = e;
    }
    if (!(thrown instanceof ValidationError)) fail(`get with the id ${String(bad)} did not throw a ValidationError`);
  }
  // Nothing was published: after a valid change is confirmed, a fresh store loads only it.
  await store.request(c, { op: 'insert', id: 'ok', doc: { fine: true, left: undefined } });
  const check = await open(connect, url, prefix, c);
  await until('the check store loaded', () => check.list(c).length >= 1);
  same(check.list(c), [{ _id: 'ok', fine: true }], 'what the bridge holds');
  store.close();
  check.close();
}
