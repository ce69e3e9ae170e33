/**
 * A reject code of PROTOCOL.md §13.2; a local rollback code (`aborted`, `cancelled`); `timeout`
 * (a request's deadline passed, the outcome is unknown); or `connection` (the broker cannot be
 * reached).
 */
export type ErrorCode =
  | 'malformed'
  | 'too_large'
  | 'invalid_document'
  | 'invalid_update'
  | 'forbidden'
  | 'conflict'
  | 'not_found'
  | 'refused'
  | 'rid_reused'
  | 'internal'
  | 'aborted'
  | 'cancelled'
  | 'timeout'
  | 'connection';

/** What a reject carried besides its message. */
export interface ErrorDetails {
  code?: ErrorCode | (string & {});
  /** The object's stored version, whenever the bridge read it (always with `conflict` and `not_found`). */
  current?: number;
  /** The request's id. */
  rid?: string | null;
  /** Where the problem is: a message field, a field of the document, or an update path. Informative. */
  path?: string;
  /** With `connection`: why. */
  reason?: 'refused' | 'auth' | 'network';
  cause?: unknown;
}

/** Every error of a vmm request. */
export class VmmError extends Error {
  constructor(message: string, details?: ErrorDetails);
  /** Stable, for branching; an unknown code of a newer bridge is kept as is. */
  readonly code: ErrorCode | (string & {});
  readonly rid?: string;
  readonly path?: string;
  readonly current?: number;
}
/** `conflict`: `current` is the stored version; refresh and retry. */
export class ConflictError extends VmmError {
  readonly code: 'conflict';
  readonly current?: number;
}
/** `malformed`, `too_large`, `invalid_document`, `invalid_update`, `refused` or `rid_reused`. */
export class ValidationError extends VmmError {
  readonly code: 'malformed' | 'too_large' | 'invalid_document' | 'invalid_update' | 'refused' | 'rid_reused';
}
/** `forbidden`. */
export class PermissionError extends VmmError {
  readonly code: 'forbidden';
}
/** `not_found`: `current` is the object's version. */
export class NotFoundError extends VmmError {
  readonly code: 'not_found';
}
/** `timeout`: the request's deadline passed; the outcome is unknown and the change stays pending. */
export class TimeoutError extends VmmError {
  readonly code: 'timeout';
  readonly outcome: 'unknown';
}
/** `cancelled`: the application cancelled the change (`store.cancel`). */
export class CancelledError extends VmmError {
  readonly code: 'cancelled';
}
/** `connection`: an attempt to reach the broker failed; the store keeps trying. */
export class ConnectionError extends VmmError {
  readonly code: 'connection';
  readonly reason: 'refused' | 'auth' | 'network';
}
/** `aborted`: a predecessor of the same object was rolled back. */
export class AbortedError extends VmmError {
  readonly code: 'aborted';
}
/** `internal`: nothing was applied; retrying is safe. */
export class InternalError extends VmmError {
  readonly code: 'internal';
}

/** The error class for `code` (a plain `VmmError` for an unknown code). */
export function errorFor(code: 'conflict', message: string, details?: ErrorDetails): ConflictError;
export function errorFor(
  code: 'malformed' | 'too_large' | 'invalid_document' | 'invalid_update',
  message: string,
  details?: ErrorDetails,
): ValidationError;
export function errorFor(code: 'forbidden', message: string, details?: ErrorDetails): PermissionError;
export function errorFor(code: 'not_found', message: string, details?: ErrorDetails): NotFoundError;
export function errorFor(code: 'timeout', message: string, details?: ErrorDetails): TimeoutError;
export function errorFor(code: 'cancelled', message: string, details?: ErrorDetails): CancelledError;
export function errorFor(code: 'connection', message: string, details?: ErrorDetails): ConnectionError;
export function errorFor(code: 'aborted', message: string, details?: ErrorDetails): AbortedError;
export function errorFor(code: 'internal', message: string, details?: ErrorDetails): InternalError;
export function errorFor(code: string, message: string, details?: ErrorDetails): VmmError;
