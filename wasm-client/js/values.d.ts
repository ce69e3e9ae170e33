// Values between JavaScript and Extended JSON (js/values.js; README "Values").

/** A MongoDB ObjectId: 12 bytes, written as 24 lower-case hex digits. */
export class ObjectId {
  /** A fresh id without an argument (as `ObjectId.generate()`); else 24 hex digits or an ObjectId. */
  constructor(hex?: string | ObjectId);
  /** The 24 hex digits, lower case. */
  readonly hex: string;
  /** A new id: 4 bytes of seconds, 5 random bytes per page, a 3-byte counter (MongoDB's layout). */
  static generate(): ObjectId;
  /** Whether `hex` is 24 hex digits. */
  static isValid(hex: unknown): hex is string;
  /** When it was made (its first 4 bytes, whole seconds). */
  getTimestamp(): Date;
  toHexString(): string;
  toString(): string;
  /** The same id: an ObjectId, or its hex in either case. */
  equals(other: ObjectId | string): boolean;
  toJSON(): { $oid: string };
}

/** Binary data of a subtype other than 00 (generic binary is a plain `Uint8Array`). */
export class Binary {
  /** @param subType 0 to 255 (4: UUID, 5: MD5, 0x80–0xff: user defined); default 0 */
  constructor(bytes: Uint8Array, subType?: number);
  readonly bytes: Uint8Array;
  readonly subType: number;
  toJSON(): { $binary: { base64: string; subType: string } };
}

/** A Decimal128, kept as its text. */
export class Decimal128 {
  constructor(value: string);
  readonly value: string;
  toString(): string;
  toJSON(): { $numberDecimal: string };
}

/** What the store takes in a document or an update (besides plain objects and arrays of them). */
export type Scalar = string | number | boolean | null | bigint | Date | ObjectId | Binary | Decimal128 | Uint8Array;

/**
 * A JS value as Extended JSON (a new value). Throws a `ValidationError` (code `invalid_document`,
 * `path` the dotted place below `path`) for `undefined` in an array or alone, functions, symbols,
 * `Map`, `Set` and other class instances, `NaN` and infinities, invalid dates, BigInts outside
 * 64 bits, and cycles. `undefined` fields are left out.
 */
export function toExtended(value: unknown, path?: string): unknown;

/** `toExtended` as JSON text (what the wasm reads). */
export function toExtendedJSON(value: unknown): string;

/**
 * Extended JSON as JS values, in place (`$date` → Date, `$oid` → ObjectId, `$numberLong` →
 * BigInt or a safe number, `$binary` → Uint8Array or Binary, `$numberDecimal` → Decimal128).
 * With `items`, only those elements of the array are looked at.
 */
export function revive<T = unknown>(value: unknown, items?: ArrayLike<number> | null): T;

// The connect option of this module, merged into `ConnectOptions` of index.d.ts (kept here while
// another change owns that file; it belongs in the interface itself).
declare module './index.js' {
  interface ConnectOptions {
    /**
     * How documents come back: `'js'` (default) as `Date`, `ObjectId`, `BigInt`, `Uint8Array`,
     * `Binary`, `Decimal128`; `'extended'` as Extended JSON objects (`{$oid}`, `{$date}`, …, an
     * integer past ±(2^53−1) as `{$numberLong}`).
     */
    values?: 'js' | 'extended';
  }
}
