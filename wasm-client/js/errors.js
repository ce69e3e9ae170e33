// The errors a vmm request can end with, one class per kind of reject code (PROTOCOL.md §13.2),
// so that an application can branch on `instanceof` or on the stable `code`.
//
// The wasm side builds them through `errorFor` of this very file: src/errors.rs imports it with
// `raw_module = "../js/errors.js"`, which wasm-bindgen writes as is into wasm/vmm_client.js (no
// copy as a snippet), so the bindings and the application load one module, one set of classes,
// and `instanceof` holds. (The browser tests find it too: wasm-bindgen-test-runner serves paths it
// did not generate from the crate folder.)

/** Every error of a vmm request. `code` is a reject code of PROTOCOL.md §13.2, or `aborted`/`timeout`. */
export class VmmError extends Error {
  /** The code when `details` has none (`new ConflictError(message)`). */
  static defaultCode = 'internal';

  /**
   * @param {string} message human-readable, never parsed
   * @param {{ code?: string, current?: number, rid?: string | null, path?: string, cause?: unknown }} [details]
   */
  constructor(message, details) {
    const d = details ?? {};
    super(message, d.cause === undefined ? undefined : { cause: d.cause });
    /** @type {string} */
    this.code = d.code ?? new.target.defaultCode;
    // Only what the reject carried, so that logs show no empty fields.
    if (d.rid != null) this.rid = d.rid;
    if (d.path != null) this.path = d.path;
    if (d.current != null) this.current = d.current;
  }
}

/** `conflict`: the request's base version is not the stored one; `current` is what is stored. */
export class ConflictError extends VmmError {
  static defaultCode = 'conflict';
}

/** `malformed`, `too_large`, `invalid_document`, `invalid_update`, `refused`, `rid_reused`: fix the request, do not retry it. */
export class ValidationError extends VmmError {
  static defaultCode = 'malformed';
}

/** `forbidden`: the collection or operation is not allowed for this client. */
export class PermissionError extends VmmError {
  static defaultCode = 'forbidden';
}

/** `not_found`: update, replace or delete of an object that does not exist; `current` is its version. */
export class NotFoundError extends VmmError {
  static defaultCode = 'not_found';
}

/**
 * `timeout`: the request's deadline (`request(c, op, { timeout })`) passed without an outcome. The
 * outcome is unknown (`outcome: 'unknown'`): the change stays pending and is resent, and its event
 * still confirms it in the store; `store.cancel(collection, id)` gives it up.
 */
export class TimeoutError extends VmmError {
  static defaultCode = 'timeout';

  constructor(message, details) {
    super(message, details);
    /** Always `'unknown'`: the change may still be applied. */
    this.outcome = 'unknown';
  }
}

/** `cancelled`: the application cancelled the change (`store.cancel`); it was rolled back. */
export class CancelledError extends VmmError {
  static defaultCode = 'cancelled';
}

/**
 * `connection`: an attempt to reach the broker failed. `reason` is `'refused'` (the broker refused
 * the connection), `'auth'` (it refused the credentials or this client) or `'network'` (no
 * connection, or no answer in time). The store keeps trying; changes stay pending meanwhile.
 */
export class ConnectionError extends VmmError {
  static defaultCode = 'connection';

  constructor(message, details) {
    super(message, details);
    /** @type {'refused' | 'auth' | 'network'} */
    this.reason = details?.reason ?? 'network';
  }
}

/** `aborted`: the request waited behind one of the same object that was rolled back. */
export class AbortedError extends VmmError {
  static defaultCode = 'aborted';
}

/** `internal`: the bridge could not decide (nothing was applied); retrying the same request is safe. */
export class InternalError extends VmmError {
  static defaultCode = 'internal';
}

// `name` lives on the prototype, as for the built-in errors: the stack trace then starts with it
// (it is read when `super()` captures the stack), and it survives minifiers renaming the classes.
for (const [cls, name] of [
  [VmmError, 'VmmError'],
  [ConflictError, 'ConflictError'],
  [ValidationError, 'ValidationError'],
  [PermissionError, 'PermissionError'],
  [NotFoundError, 'NotFoundError'],
  [TimeoutError, 'TimeoutError'],
  [CancelledError, 'CancelledError'],
  [ConnectionError, 'ConnectionError'],
  [AbortedError, 'AbortedError'],
  [InternalError, 'InternalError'],
]) {
  Object.defineProperty(cls.prototype, 'name', { value: name, writable: true, configurable: true });
}

const CLASS_OF_CODE = {
  conflict: ConflictError,
  malformed: ValidationError,
  too_large: ValidationError,
  invalid_document: ValidationError,
  invalid_update: ValidationError,
  refused: ValidationError,
  rid_reused: ValidationError,
  forbidden: PermissionError,
  not_found: NotFoundError,
  timeout: TimeoutError,
  cancelled: CancelledError,
  connection: ConnectionError,
  aborted: AbortedError,
  internal: InternalError,
};

/**
 * The error for a code: `errorFor('conflict', 'base 3 is older than 5', { current: 5, rid })` is a
 * `ConflictError`. An unknown code (a newer bridge) gives a plain `VmmError` that keeps the code.
 * @param {string} code
 * @param {string} message
 * @param {{ current?: number, rid?: string | null, path?: string, reason?: string, cause?: unknown }} [details]
 * @returns {VmmError}
 */
export function errorFor(code, message, details) {
  const cls = Object.hasOwn(CLASS_OF_CODE, code) ? CLASS_OF_CODE[code] : VmmError;
  return new cls(message, { ...details, code });
}
