import { describe, expect, it } from 'vitest';
import { assertValidRetryPolicy, exponentialBackoffMs, type RetryPolicy } from '../../src/index.js';

const policy = { initialDelayMs: 1000, maxDelayMs: 60_000 };
const lowest = () => 0;
const middle = () => 0.5;
const highest = () => 1;

describe('exponentialBackoffMs', () => {
  it('grows by the factor from the initial delay: retry 1 waits initialDelayMs', () => {
    expect([1, 2, 3, 4, 5].map((retry) => exponentialBackoffMs(policy, retry, middle))).toEqual([
      1000, 2000, 4000, 8000, 16_000,
    ]);
    expect(
      [1, 2, 3].map((retry) => exponentialBackoffMs({ ...policy, factor: 3 }, retry, middle)),
    ).toEqual([1000, 3000, 9000]);
    expect(
      [1, 2].map((retry) => exponentialBackoffMs({ ...policy, factor: 1 }, retry, middle)),
    ).toEqual([1000, 1000]);
  });

  it('spreads by ±20 % by default: random 0 gives the lowest, 1 the highest delay', () => {
    expect(exponentialBackoffMs(policy, 1, lowest)).toBe(800);
    expect(exponentialBackoffMs(policy, 1, highest)).toBe(1200);
    expect(exponentialBackoffMs(policy, 3, lowest)).toBe(3200);
    expect(exponentialBackoffMs(policy, 3, highest)).toBe(4800);
  });

  it('takes the jitter from the policy', () => {
    expect(exponentialBackoffMs({ ...policy, jitter: 0 }, 2, highest)).toBe(2000);
    expect(exponentialBackoffMs({ ...policy, jitter: 1 }, 2, lowest)).toBe(0);
    expect(exponentialBackoffMs({ ...policy, jitter: 1 }, 2, highest)).toBe(4000);
  });

  it('caps at maxDelayMs, jitter included, and never goes negative', () => {
    expect(exponentialBackoffMs(policy, 7, middle)).toBe(60_000); // 64 s nominal
    expect(exponentialBackoffMs(policy, 7, highest)).toBe(60_000);
    expect(exponentialBackoffMs(policy, 7, lowest)).toBe(48_000);
    expect(exponentialBackoffMs(policy, 6, highest)).toBe(38_400);
    expect(exponentialBackoffMs(policy, 2000, highest)).toBe(60_000); // factor^n is Infinity
    expect(exponentialBackoffMs({ initialDelayMs: 0, maxDelayMs: 0 }, 2000, highest)).toBe(0);
    expect(exponentialBackoffMs({ initialDelayMs: 0, maxDelayMs: 5000 }, 3, highest)).toBe(0);
  });

  it('stays within [nominal x (1 - jitter), min(max, nominal x (1 + jitter))] for any random value', () => {
    for (let retry = 1; retry <= 10; retry += 1) {
      const nominal = Math.min(60_000, 1000 * 2 ** (retry - 1));
      for (const draw of [0, 0.1, 0.25, 0.5, 0.75, 0.999, 1]) {
        const delay = exponentialBackoffMs(policy, retry, () => draw);
        expect(delay).toBeGreaterThanOrEqual(Math.round(nominal * 0.8));
        expect(delay).toBeLessThanOrEqual(Math.min(60_000, Math.round(nominal * 1.2)));
        expect(Number.isInteger(delay)).toBe(true);
      }
    }
  });

  it('uses Math.random by default', () => {
    const delay = exponentialBackoffMs(policy, 1);
    expect(delay).toBeGreaterThanOrEqual(800);
    expect(delay).toBeLessThanOrEqual(1200);
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects retry number %d', (retry) => {
    expect(() => exponentialBackoffMs(policy, retry)).toThrow(
      new RangeError(
        `retryNumber must be an integer >= 1 (1 = the first retry), got ${String(retry)}`,
      ),
    );
  });

  it.each([-0.1, 1.1, Number.NaN])('rejects a random() returning %d', (draw) => {
    expect(() => exponentialBackoffMs(policy, 1, () => draw)).toThrow(
      new RangeError(`random() must return a number from 0 to 1, got ${String(draw)}`),
    );
  });

  it('rejects an invalid policy, naming the field', () => {
    expect(() => exponentialBackoffMs({ initialDelayMs: -1, maxDelayMs: 10 }, 1)).toThrow(
      new RangeError('backoff initialDelayMs must be an integer >= 0 (milliseconds), got -1'),
    );
  });
});

describe('assertValidRetryPolicy', () => {
  const valid: RetryPolicy = { maxAttempts: 3, initialDelayMs: 1000, maxDelayMs: 60_000 };

  it('accepts valid policies, no-retry included', () => {
    expect(() => assertValidRetryPolicy('Job', valid)).not.toThrow();
    expect(() =>
      assertValidRetryPolicy('Job', { maxAttempts: 1, initialDelayMs: 0, maxDelayMs: 0 }),
    ).not.toThrow();
    expect(() => assertValidRetryPolicy('Job', { ...valid, factor: 1.5, jitter: 0 })).not.toThrow();
  });

  it.each([
    [{ maxAttempts: 0 }, 'retry.maxAttempts of job "LogCleanupJob" must be an integer >= 1, got 0'],
    [
      { maxAttempts: 1.5 },
      'retry.maxAttempts of job "LogCleanupJob" must be an integer >= 1, got 1.5',
    ],
    [
      { initialDelayMs: -1 },
      'retry.initialDelayMs of job "LogCleanupJob" must be an integer >= 0 (milliseconds), got -1',
    ],
    [
      { initialDelayMs: Number.NaN },
      'retry.initialDelayMs of job "LogCleanupJob" must be an integer >= 0 (milliseconds), got NaN',
    ],
    [
      { maxDelayMs: 500 },
      'retry.maxDelayMs of job "LogCleanupJob" must be an integer >= initialDelayMs (1000, milliseconds), got 500',
    ],
    [
      { maxDelayMs: 1e20 },
      'retry.maxDelayMs of job "LogCleanupJob" must be an integer >= initialDelayMs (1000, milliseconds), got 100000000000000000000',
    ],
    [{ factor: 0.5 }, 'retry.factor of job "LogCleanupJob" must be a finite number >= 1, got 0.5'],
    [
      { factor: Number.POSITIVE_INFINITY },
      'retry.factor of job "LogCleanupJob" must be a finite number >= 1, got Infinity',
    ],
    [
      { jitter: -0.1 },
      'retry.jitter of job "LogCleanupJob" must be a number from 0 to 1, got -0.1',
    ],
    [{ jitter: 2 }, 'retry.jitter of job "LogCleanupJob" must be a number from 0 to 1, got 2'],
  ])('rejects %j naming the job and the field', (change, message) => {
    expect(() => assertValidRetryPolicy('LogCleanupJob', { ...valid, ...change })).toThrow(
      new RangeError(message),
    );
  });
});
