// js/values.js through the package entry, as an application imports it (`import { ObjectId } from
// 'vmm-client'`): the JS -> Extended JSON converter and what it refuses, the reviver, the classes;
// then, with the built wasm, that the store uses them (a refused value sends nothing, documents come
// back as JS values). The entry loads the wasm glue, so without `make wasm-pkg` these are skipped
// (`make test-js` builds it and sets VMM_REQUIRE_WASM=1).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import test from 'node:test';
import { fileURLToPath } from 'node:url';

const wasmFile = fileURLToPath(import.meta.resolve('vmm-client/vmm_client_bg.wasm'));
const skip = existsSync(wasmFile) ? false : 'wasm/ is not built (make wasm-pkg)';
const entry = skip ? {} : await import('vmm-client');
const { ObjectId, Binary, Decimal128, toExtended, revive, ValidationError } = entry;

/** The ValidationError `f` throws, checked: code `invalid_document`, the given path. */
function refused(f, path) {
  assert.throws(f, (e) => {
    assert.ok(e instanceof ValidationError, `${path}: ${e}`);
    assert.equal(e.code, 'invalid_document');
    assert.equal(e.path, path, e.message);
    return true;
  });
}

test('JS values become Extended JSON', { skip }, () => {
  const id = new ObjectId('0123456789ABCDEF01234567');
  const out = toExtended({
    _id: id,
    when: new Date(Date.UTC(2024, 1, 29, 12, 30, 45, 678)),
    before1970: new Date(-1),
    after9999: new Date(Date.UTC(10000, 0, 1)),
    last9999: new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999)),
    big: 2n ** 60n + 1n,
    min: -(2n ** 63n),
    small: 7n,
    bytes: new Uint8Array([0, 1, 255]),
    uuid: new Binary(new Uint8Array([1, 2]), 4),
    user: new Binary(new Uint8Array([]), 0x80),
    price: new Decimal128('1.50'),
    n: 1,
    x: 0.5,
    huge: 2 ** 64,
    negZero: -0,
    list: [1, [2, { d: new Date(0) }]],
    hand: { $oid: 'ffffffffffffffffffffffff' },
    handDate: { $date: '2020-01-01T00:00:00Z' },
    skipped: undefined,
    none: null,
  });
  assert.deepEqual(out, {
    _id: { $oid: '0123456789abcdef01234567' },
    when: { $date: '2024-02-29T12:30:45.678Z' },
    before1970: { $date: { $numberLong: '-1' } },
    after9999: { $date: { $numberLong: '253402300800000' } },
    last9999: { $date: '9999-12-31T23:59:59.999Z' },
    big: { $numberLong: '1152921504606846977' },
    min: { $numberLong: '-9223372036854775808' },
    small: { $numberLong: '7' },
    bytes: { $binary: { base64: 'AAH/', subType: '00' } },
    uuid: { $binary: { base64: 'AQI=', subType: '04' } },
    user: { $binary: { base64: '', subType: '80' } },
    price: { $numberDecimal: '1.50' },
    n: 1,
    x: 0.5,
    huge: { $numberDouble: '18446744073709552000' },
    negZero: -0,
    list: [1, [2, { d: { $date: '1970-01-01T00:00:00.000Z' } }]],
    hand: { $oid: 'ffffffffffffffffffffffff' },
    handDate: { $date: '2020-01-01T00:00:00Z' },
    none: null,
  });
  // Integer-valued numbers past 2^53 are written exactly (JSON.stringify would round the digits).
  assert.deepEqual(toExtended([2 ** 63 - 2 ** 10, -(2 ** 63), 2 ** 53, 2 ** 53 - 1, 2 ** 63]), [
    { $numberLong: '9223372036854774784' },
    { $numberLong: '-9223372036854775808' },
    { $numberLong: '9007199254740992' },
    2 ** 53 - 1,
    { $numberDouble: '9223372036854776000' },
  ]);
  assert.equal(JSON.stringify(toExtended({ a: -0 })), '{"a":0}');
});

test('a shared object that is no cycle is converted twice; the input is left as it was', { skip }, () => {
  const shared = { d: new Date(0) };
  const input = { a: shared, b: [shared] };
  const out = toExtended(input);
  assert.deepEqual(out.a, { d: { $date: '1970-01-01T00:00:00.000Z' } });
  assert.deepEqual(out.b[0], out.a);
  assert.ok(input.a.d instanceof Date);
});

test('plain objects: Object.create(null) and objects of another realm are accepted', { skip }, async () => {
  const bare = Object.create(null);
  bare.x = 1;
  assert.deepEqual(toExtended({ bare }), { bare: { x: 1 } });
  const { runInNewContext } = await import('node:vm');
  assert.deepEqual(toExtended(runInNewContext('({ a: [1, { b: 2 }] })')), { a: [1, { b: 2 }] });
});

test('values vmm cannot represent are refused with their path', { skip }, () => {
  class Point {
    x = 1;
  }
  const cycle = { a: {} };
  cycle.a.back = cycle;
  const list = [];
  list.push(list);
  refused(() => toExtended({ tags: ['a', 'b', undefined] }, 'doc'), 'doc.tags.2');
  refused(() => toExtended({ f() {} }, 'doc'), 'doc.f');
  refused(() => toExtended({ s: Symbol.iterator }, 'doc'), 'doc.s');
  refused(() => toExtended({ m: new Map() }), 'm');
  refused(() => toExtended({ s: new Set() }), 's');
  refused(() => toExtended({ p: [new Point()] }), 'p.0');
  refused(() => toExtended({ w: new WeakMap() }), 'w');
  refused(() => toExtended({ e: new Error('x') }), 'e');
  refused(() => toExtended({ b: new ArrayBuffer(2) }), 'b');
  refused(() => toExtended({ b: new Int8Array(2) }), 'b');
  refused(() => toExtended({ p: Promise.resolve() }), 'p');
  refused(() => toExtended({ n: NaN }), 'n');
  refused(() => toExtended({ n: [Infinity] }), 'n.0');
  refused(() => toExtended({ n: -Infinity }), 'n');
  refused(() => toExtended({ d: new Date(NaN) }), 'd');
  refused(() => toExtended({ big: 2n ** 63n }), 'big');
  refused(() => toExtended({ big: -(2n ** 63n) - 1n }), 'big');
  refused(() => toExtended(cycle, 'doc'), 'doc.a.back');
  refused(() => toExtended({ list }), 'list.0');
  // At the root there is no path, as for the protocol's violations.
  for (const bad of [undefined, () => {}, new Map(), NaN]) {
    assert.throws(() => toExtended(bad), (e) => e instanceof ValidationError && !('path' in e));
  }
});

test('Extended JSON is revived in place into JS values', { skip }, () => {
  const value = {
    _id: { $oid: '0123456789abcdef01234567' },
    when: { $date: '2024-02-29T12:30:45.678Z' },
    old: { $date: { $numberLong: '-62135596800000' } },
    far: { $date: { $numberLong: '9000000000000000' } },
    big: { $numberLong: '-9223372036854775808' },
    safe: { $numberLong: '42' },
    bytes: { $binary: { base64: 'AAH/', subType: '00' } },
    uuid: { $binary: { base64: 'AQI=', subType: '04' } },
    price: { $numberDecimal: 'NaN' },
    list: [[{ $oid: 'ffffffffffffffffffffffff' }], { n: 1 }],
    plain: { a: 'x' },
  };
  const out = revive(value);
  assert.equal(out, value, 'in place');
  assert.ok(out._id instanceof ObjectId && out._id.toHexString() === '0123456789abcdef01234567');
  assert.equal(out.when.toISOString(), '2024-02-29T12:30:45.678Z');
  assert.equal(out.old.getUTCFullYear(), 1);
  assert.deepEqual(out.far, { $date: { $numberLong: '9000000000000000' } }, "outside Date's range: kept");
  assert.equal(out.big, -(2n ** 63n));
  assert.equal(out.safe, 42);
  assert.deepEqual(out.bytes, new Uint8Array([0, 1, 255]));
  assert.ok(out.uuid instanceof Binary && out.uuid.subType === 4);
  assert.deepEqual(out.uuid.bytes, new Uint8Array([1, 2]));
  assert.ok(out.price instanceof Decimal128 && out.price.toString() === 'NaN');
  assert.ok(out.list[0][0].equals('FFFFFFFFFFFFFFFFFFFFFFFF'));
  assert.deepEqual(out.plain, { a: 'x' });
  // Only the listed elements are walked.
  const items = [{ d: { $date: '1970-01-01T00:00:00.000Z' } }, { d: { $date: '1970-01-01T00:00:00.000Z' } }];
  revive(items, new Uint32Array([1]));
  assert.ok(!(items[0].d instanceof Date) && items[1].d instanceof Date);
});

test('to Extended JSON and back gives the same values', { skip }, () => {
  const doc = {
    a: new Date(-8.64e15),
    b: [new ObjectId(), 2n ** 53n, -(2n ** 53n), 2 ** 53 - 1, new Uint8Array(300).map((_, i) => i)],
    c: new Binary(new Uint8Array([7]), 255),
  };
  const back = revive(JSON.parse(JSON.stringify(toExtended(doc))));
  assert.equal(back.a.getTime(), -8.64e15);
  assert.ok(back.b[0].equals(doc.b[0]));
  // The wasm writes unsafe integers as $numberLong; a plain JSON literal is what the bridge stores.
  assert.deepEqual(back.b.slice(1, 4), [2n ** 53n, -(2n ** 53n), 2 ** 53 - 1]);
  assert.deepEqual(back.b[4], doc.b[4]);
  assert.deepEqual(back.c, doc.c);
});

test('ObjectId: generated as MongoDB does, parsed, compared', { skip }, () => {
  const before = Math.floor(Date.now() / 1000);
  const ids = Array.from({ length: 1000 }, () => ObjectId.generate());
  ids.push(new ObjectId());
  const after = Math.floor(Date.now() / 1000);
  assert.equal(new Set(ids.map(String)).size, ids.length, 'all different');
  for (const id of ids) {
    assert.match(id.toHexString(), /^[0-9a-f]{24}$/);
    const seconds = id.getTimestamp().getTime() / 1000;
    assert.ok(seconds >= before && seconds <= after);
    assert.equal(id.toHexString().slice(8, 18), ids[0].toHexString().slice(8, 18), 'one random value per page');
  }
  const counters = ids.slice(0, 3).map((id) => parseInt(id.toHexString().slice(18), 16));
  assert.deepEqual([counters[1] - counters[0], counters[2] - counters[1]].map((d) => (d + 0x1000000) % 0x1000000), [1, 1]);
  const id = new ObjectId('0123456789ABCDEF01234567');
  assert.equal(String(id), '0123456789abcdef01234567');
  assert.ok(id.equals(new ObjectId(id)) && id.equals('0123456789abcdef01234567') && !id.equals(ids[0]));
  assert.deepEqual(JSON.parse(JSON.stringify({ id })), { id: { $oid: '0123456789abcdef01234567' } });
  assert.ok(ObjectId.isValid('0123456789abcdef01234567') && !ObjectId.isValid('xyz'));
  assert.throws(() => new ObjectId('0123'), TypeError);
  assert.throws(() => new Binary([1, 2]), TypeError);
  assert.throws(() => new Binary(new Uint8Array(), 256), TypeError);
  assert.throws(() => new Decimal128(1.5), TypeError);
});

// ---- with the wasm: the store uses these converters --------------------------------------------

globalThis.WebSocket ??= class SilentSocket {
  constructor() {
    this.readyState = 0;
  }
  send() {}
  close() {
    this.readyState = 3;
  }
};

test('the store refuses before queueing, and shows JS values back', { skip }, async () => {
  await entry.init({ module_or_path: readFileSync(wasmFile) });
  const store = await entry.connect({ url: 'ws://127.0.0.1:1', clientId: 'values', requestTimeout: 0 });
  try {
    await assert.rejects(store.request('t', { op: 'insert', id: 'x', doc: { tags: [1, undefined] } }), {
      name: 'ValidationError',
      code: 'invalid_document',
      path: 'doc.tags.1',
    });
    assert.equal(store.pendingCount, 0);
    assert.equal(store.get('t', 'x'), undefined);
    assert.throws(() => store.get('t', new Map()), ValidationError);

    const id = new ObjectId();
    const doc = { at: new Date(5), n: 2n ** 62n, b: new Uint8Array([1]), d: new Decimal128('1') };
    store.request('t', { op: 'insert', id, doc, skipped: undefined }).catch(() => {});
    assert.equal(store.pendingCount, 1);
    const shown = store.get('t', id);
    assert.ok(shown._id instanceof ObjectId && shown._id.equals(id));
    assert.deepEqual(shown, { _id: shown._id, ...doc });
    assert.ok(store.list('t')[0].at instanceof Date);
    assert.ok(store.entries('t')[0].id.equals(id));
    assert.equal(store.meta('t', id).pending, 1);

    const ext = await entry.connect({ url: 'ws://127.0.0.1:1', clientId: 'ext', values: 'extended' });
    ext.request('t', { op: 'insert', id: 'e', doc: { at: new Date(5), n: 2n ** 62n, m: 2 ** 53 - 1 } }).catch(() => {});
    assert.deepEqual(ext.get('t', 'e'), {
      _id: 'e',
      at: { $date: '1970-01-01T00:00:00.005Z' },
      n: { $numberLong: '4611686018427387904' },
      m: 2 ** 53 - 1,
    });
    ext.close();
    await assert.rejects(entry.connect({ url: 'ws://127.0.0.1:1', clientId: 'x', values: 'bson' }), { message: /values/ });
  } finally {
    store.close();
  }
});
