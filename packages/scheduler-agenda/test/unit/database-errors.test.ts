/** Which errors count as "database out of reach", and the retry loop around them. */
import { describe, expect, it } from 'vitest';
import { isUnreachableDatabaseError, retryWhileUnreachable } from '../../src/runtime/database-errors.js';

function namedError(name: string, message = 'down'): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

describe('isUnreachableDatabaseError', () => {
  it('knows the driver and Mongoose errors of an unreachable server, and nothing else', () => {
    for (const name of ['MongoNetworkError', 'MongoServerSelectionError', 'MongooseServerSelectionError', 'MongoNotConnectedError']) {
      expect(isUnreachableDatabaseError(namedError(name))).toBe(true);
    }
    expect(isUnreachableDatabaseError(new Error('Operation `job_runs.updateOne()` buffering timed out after 10000ms'))).toBe(true);
    expect(isUnreachableDatabaseError(namedError('MongoServerError', 'E11000 duplicate key'))).toBe(false);
    expect(isUnreachableDatabaseError('ECONNREFUSED')).toBe(false);
  });
});

describe('retryWhileUnreachable', () => {
  it('retries while the database is out of reach, reporting the first retry only', async () => {
    let calls = 0;
    const retries: unknown[] = [];
    const value = await retryWhileUnreachable(
      () => {
        calls += 1;
        return calls < 3 ? Promise.reject(namedError('MongoNetworkError')) : Promise.resolve('recorded');
      },
      { deadlineMs: 1000, retryEveryMs: 5, onRetry: (error) => retries.push(error) },
    );
    expect(value).toBe('recorded');
    expect(calls).toBe(3);
    expect(retries).toHaveLength(1);
  });

  it('throws other errors at once, and the last one after the deadline', async () => {
    let calls = 0;
    await expect(
      retryWhileUnreachable(() => {
        calls += 1;
        return Promise.reject(new TypeError('bad input'));
      }, { deadlineMs: 1000, retryEveryMs: 5 }),
    ).rejects.toThrow(TypeError);
    expect(calls).toBe(1);
    await expect(
      retryWhileUnreachable(() => Promise.reject(namedError('MongoServerSelectionError', 'still down')), {
        deadlineMs: 30,
        retryEveryMs: 10,
      }),
    ).rejects.toThrow('still down');
  });
});
