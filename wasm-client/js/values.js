// Values between JavaScript and Extended JSON (PROTOCOL.md §3.1), so that a document keeps its
// meaning on its way to MongoDB and back: `Date` <-> `$date`, `ObjectId` <-> `$oid`, `BigInt` <->
// 64-bit integers, `Uint8Array` <-> binary subtype 00, `Binary` <-> other subtypes, `Decimal128`
// <-> `$numberDecimal`.
//
// `toExtended` runs on everything the store is given (requests, ids); it refuses what Extended
// JSON cannot hold, with a ValidationError naming the place, before anything is sent. `revive`
// runs on what the store gives back, and only when the wasm saw a wrapper while writing it
// (src/convert.rs): a document without one costs no walk here.
//
// The wasm imports this very file (`raw_module = "../js/values.js"`, as js/errors.js), so the
// classes an application imports are the ones the store builds and `instanceof` holds.

import { ValidationError } from './errors.js';

const HEX = /^[0-9a-fA-F]{24}$/;

/** 5 random bytes per page and a counter from a random start, as MongoDB's drivers do. */
let processBytes = null;
let counter = -1;

function randomBytes(n) {
  const bytes = new Uint8Array(n);
  globalThis.crypto.getRandomValues(bytes);
  return bytes;
}

function hexOf(bytes) {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/** A MongoDB ObjectId: 12 bytes, written as 24 hex digits (kept in lower case). */
export class ObjectId {
  /**
   * `new ObjectId()` makes a fresh one (as `ObjectId.generate()`); `new ObjectId(hex)` takes 24
   * hex digits, or another ObjectId.
   * @param {string | ObjectId} [hex]
   */
  constructor(hex) {
    if (hex === undefined) {
      this.hex = ObjectId.generate().hex;
      return;
    }
    const text = hex instanceof ObjectId ? hex.hex : hex;
    if (typeof text !== 'string' || !HEX.test(text)) {
      throw new TypeError(`an ObjectId is 24 hex digits, not ${String(text)}`);
    }
    /** @type {string} */
    this.hex = text.toLowerCase();
  }

  /**
   * A new id: 4 bytes of seconds since 1970, 5 random bytes per page, a 3-byte counter that
   * starts at random (MongoDB's ObjectId layout).
   */
  static generate() {
    if (processBytes === null) {
      processBytes = randomBytes(5);
      const start = randomBytes(3);
      counter = (start[0] << 16) | (start[1] << 8) | start[2];
    }
    counter = (counter + 1) % 0x1000000;
    const seconds = Math.floor(Date.now() / 1000) >>> 0;
    const bytes = new Uint8Array(12);
    bytes.set([seconds >>> 24, (seconds >>> 16) & 255, (seconds >>> 8) & 255, seconds & 255], 0);
    bytes.set(processBytes, 4);
    bytes.set([counter >>> 16, (counter >>> 8) & 255, counter & 255], 9);
    return new ObjectId(hexOf(bytes));
  }

  /** Whether a string is 24 hex digits (what `new ObjectId(hex)` takes). */
  static isValid(hex) {
    return typeof hex === 'string' && HEX.test(hex);
  }

  /** When it was made (the first 4 bytes, seconds). */
  getTimestamp() {
    return new Date(parseInt(this.hex.slice(0, 8), 16) * 1000);
  }

  toHexString() {
    return this.hex;
  }

  toString() {
    return this.hex;
  }

  /** The same id: an ObjectId or its hex (either case). */
  equals(other) {
    if (other instanceof ObjectId) return other.hex === this.hex;
    return typeof other === 'string' && other.toLowerCase() === this.hex;
  }

  toJSON() {
    return { $oid: this.hex };
  }
}

/** Binary data of a subtype other than 00 (generic binary is a plain `Uint8Array`). */
export class Binary {
  /**
   * @param {Uint8Array} bytes
   * @param {number} [subType] 0 to 255 (4: UUID, 5: MD5, 0x80–0xff: user defined)
   */
  constructor(bytes, subType = 0) {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('Binary takes a Uint8Array');
    if (!Number.isInteger(subType) || subType < 0 || subType > 255) {
      throw new TypeError(`a binary subtype is 0 to 255, not ${String(subType)}`);
    }
    /** @type {Uint8Array} */
    this.bytes = bytes;
    /** @type {number} */
    this.subType = subType;
  }

  toJSON() {
    return { $binary: { base64: base64Of(this.bytes), subType: this.subType.toString(16).padStart(2, '0') } };
  }
}

/** A Decimal128, kept as its text (vmm does no arithmetic on it). */
export class Decimal128 {
  /** @param {string} value e.g. `"12.50"`, `"-1E+3"`, `"NaN"` */
  constructor(value) {
    if (typeof value !== 'string') throw new TypeError('Decimal128 takes its value as a string');
    /** @type {string} */
    this.value = value;
  }

  toString() {
    return this.value;
  }

  toJSON() {
    return { $numberDecimal: this.value };
  }
}

function base64Of(bytes) {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

function bytesOf(base64) {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

// ---- JS -> Extended JSON ----------------------------------------------------------------------

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const TWO_63 = 2 ** 63;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** 10000-01-01T00:00:00Z: from there on (and before 1970) `$date` is written in milliseconds. */
const YEAR_10000 = 253402300800000;

function refuse(path, message) {
  const details = { code: 'invalid_document' };
  if (path !== '') details.path = path;
  return new ValidationError(`${path === '' ? 'the value' : path}: ${message}`, details);
}

const join = (path, key) => (path === '' ? String(key) : `${path}.${key}`);

/** Plain: made by `{}`, `Object.create(null)`, or `{}` of another realm (an iframe). */
function isPlain(value) {
  const proto = Object.getPrototypeOf(value);
  return proto === null || Object.getPrototypeOf(proto) === null;
}

function dateOf(date, path) {
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw refuse(path, 'an invalid Date');
  if (ms >= 0 && ms < YEAR_10000) return { $date: date.toISOString() };
  return { $date: { $numberLong: String(ms) } };
}

function numberOf(n, path) {
  if (!Number.isFinite(n)) throw refuse(path, `${n} is not a finite number`);
  if (!Number.isInteger(n) || (n <= MAX_SAFE && n >= -MAX_SAFE)) return n;
  // Past 2^53 JSON.stringify writes the shortest digits that read back as the same double
  // (2**63 - 1024 as 9223372036854775000), not its exact value: write the exact integer. Past the
  // 64-bit range it stays the double it is (a plain literal would be refused as out of range).
  if (n >= TWO_63 || n < -TWO_63) return { $numberDouble: String(n) };
  return { $numberLong: BigInt(n).toString() };
}

/**
 * A JS value as Extended JSON (a new value; the argument is not changed). Refuses, with a
 * `ValidationError` (code `invalid_document`) whose `path` is the dotted place (`doc.tags.2`):
 * `undefined` in an array or alone, functions, symbols, `Map`, `Set` and other class instances,
 * `NaN` and infinities, invalid dates, BigInts outside 64 bits, cycles. `undefined` fields are
 * left out. Hand-written wrappers (`{ $oid: '…' }`) pass as they are.
 * @param {unknown} value
 * @param {string} [path] where `value` sits, for the errors
 * @returns {unknown}
 */
export function toExtended(value, path = '') {
  return convert(value, path, new Set());
}

function convert(value, path, open) {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return numberOf(value, path);
    case 'bigint':
      if (value < INT64_MIN || value > INT64_MAX) throw refuse(path, `${value} is outside the 64-bit integer range`);
      return { $numberLong: value.toString() };
    case 'undefined':
      throw refuse(path, 'undefined is not a value (leave the field out, or use null)');
    case 'function':
      throw refuse(path, 'a function is not a value');
    case 'symbol':
      throw refuse(path, 'a symbol is not a value');
  }
  if (value === null) return null;
  if (value instanceof Date) return dateOf(value, path);
  if (value instanceof ObjectId || value instanceof Binary || value instanceof Decimal128) return value.toJSON();
  if (value instanceof Uint8Array) return { $binary: { base64: base64Of(value), subType: '00' } };
  const isArray = Array.isArray(value);
  if (!isArray && !isPlain(value)) {
    const name = value.constructor?.name || 'a class';
    const kept = 'plain objects, arrays, Date, ObjectId, Binary, Decimal128, Uint8Array are';
    throw refuse(path, `${name} instances are not values (${kept})`);
  }
  if (open.has(value)) throw refuse(path, 'a cycle: the value contains itself');
  open.add(value);
  let out;
  if (isArray) {
    out = new Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = convert(value[i], join(path, i), open);
  } else {
    out = {};
    for (const key of Object.keys(value)) {
      const field = value[key];
      if (field !== undefined) out[key] = convert(field, join(path, key), open);
    }
  }
  open.delete(value);
  return out;
}

/**
 * `toExtended` written as JSON text: what the wasm reads (src/convert.rs). Throws as `toExtended`.
 * @param {unknown} value
 * @returns {string}
 */
export function toExtendedJSON(value) {
  return JSON.stringify(toExtended(value));
}

// ---- Extended JSON -> JS ----------------------------------------------------------------------

// Date's own range, ±8.64e15 ms: a `$date` beyond it stays a wrapper.
const DATE_MAX = 8.64e15;

/**
 * The JS value of a wrapper object (the wrapper itself when it has none: a `$date` past `Date`'s
 * range), or `undefined` when `obj` is not a wrapper.
 */
function wrapped(obj) {
  const keys = Object.keys(obj);
  if (keys.length !== 1) return undefined;
  const inner = obj[keys[0]];
  switch (keys[0]) {
    case '$oid':
      return ObjectId.isValid(inner) ? new ObjectId(inner) : obj;
    case '$date': {
      const ms = typeof inner === 'string' ? Date.parse(inner) : Number(inner?.$numberLong);
      return Number.isFinite(ms) && Math.abs(ms) <= DATE_MAX ? new Date(ms) : obj;
    }
    case '$numberLong': {
      const n = BigInt(inner);
      return n >= -MAX_SAFE && n <= MAX_SAFE ? Number(n) : n;
    }
    case '$numberInt':
    case '$numberDouble':
      return Number(inner);
    case '$numberDecimal':
      return new Decimal128(inner);
    case '$binary': {
      const bytes = bytesOf(inner.base64);
      const subType = parseInt(inner.subType, 16);
      return subType === 0 ? bytes : new Binary(bytes, subType);
    }
  }
  return undefined;
}

function reviveValue(value) {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = reviveValue(value[i]);
    return value;
  }
  const js = wrapped(value);
  if (js !== undefined) return js;
  for (const key in value) value[key] = reviveValue(value[key]);
  return value;
}

/**
 * Extended JSON (as the store holds it: canonical, PROTOCOL.md §3.1) as JS values, in place:
 * `$date` -> `Date`, `$oid` -> `ObjectId`, `$numberLong` -> `BigInt` (a number when it is safe),
 * `$binary` -> `Uint8Array` (subtype 00) or `Binary`, `$numberDecimal` -> `Decimal128`. A `$date`
 * outside `Date`'s range (±8.64e15 ms from 1970) stays a wrapper. With `items`, only those
 * elements of the array `value` are looked at (the wasm lists the ones holding a wrapper).
 * @param {unknown} value
 * @param {ArrayLike<number> | null} [items]
 * @returns {unknown}
 */
export function revive(value, items) {
  if (items == null) return reviveValue(value);
  for (let i = 0; i < items.length; i++) value[items[i]] = reviveValue(value[items[i]]);
  return value;
}
