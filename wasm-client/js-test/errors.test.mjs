import assert from 'node:assert/strict';
import test from 'node:test';
import * as errors from 'vmm-client/errors';

const { errorFor, VmmError } = errors;

test('errorFor picks the class of each code and instanceof works', () => {
  const expected = {
    conflict: 'ConflictError',
    malformed: 'ValidationError',
    too_large: 'ValidationError',
    invalid_document: 'ValidationError',
    invalid_update: 'ValidationError',
    rid_reused: 'ValidationError',
    forbidden: 'PermissionError',
    not_found: 'NotFoundError',
    timeout: 'TimeoutError',
    aborted: 'AbortedError',
    internal: 'InternalError',
  };
  for (const [code, name] of Object.entries(expected)) {
    const err = errorFor(code, `because ${code}`);
    assert.ok(err instanceof errors[name], `${code} gives a ${name}`);
    assert.ok(err instanceof VmmError);
    assert.ok(err instanceof Error);
    assert.equal(err.name, name);
    assert.equal(err.code, code);
    assert.equal(err.message, `because ${code}`);
  }
});

test('errorFor keeps the current version, the rid and the path of the reject', () => {
  const err = errorFor('conflict', 'base 3 is older than 5', { current: 5, rid: 'k3x9-18', path: 'title' });
  assert.equal(err.current, 5);
  assert.equal(err.rid, 'k3x9-18');
  assert.equal(err.path, 'title');
  assert.equal(err.code, 'conflict', 'the code argument wins over details');
});

test('errorFor gives a VmmError that keeps an unknown code', () => {
  const err = errorFor('rate_limited', 'slow down', null);
  assert.equal(Object.getPrototypeOf(err), VmmError.prototype);
  assert.equal(err.name, 'VmmError');
  assert.equal(err.code, 'rate_limited');
  assert.equal(errorFor('toString', 'not a code').constructor, VmmError);
});

test('the classes can be built directly and their stack starts with their name', () => {
  const err = new errors.ConflictError('stale', { current: 2 });
  assert.equal(err.code, 'conflict');
  assert.equal(err.current, 2);
  assert.ok(err.stack.startsWith('ConflictError: stale'), err.stack);
  assert.equal(new errors.TimeoutError('late').code, 'timeout');
  assert.deepEqual(Object.keys(new errors.NotFoundError('gone')), ['code'], 'no empty fields');
  assert.equal(new VmmError('wrapped', { cause: 'x' }).cause, 'x');
});
