/** The log throttle: first failure in full, repeats counted, one summary per window, one recovery line. */
import type { JobLogger } from '@app/shared-jobs';
import { FakeClock } from '@app/shared-jobs/testing';
import { describe, expect, it } from 'vitest';
import { RepeatedErrorLog } from '../../src/index.js';

interface Line {
  readonly level: string;
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

function setup(options: { summaryEveryMs?: number; distinctMessagesPerWindow?: number } = {}) {
  const clock = new FakeClock(new Date('2026-05-01T08:00:00.000Z'));
  const lines: Line[] = [];
  const log = (level: string) => (message: string, fields: Readonly<Record<string, unknown>> = {}) => {
    lines.push({ level, message, fields });
  };
  const logger: JobLogger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  return { clock, lines, repeated: new RepeatedErrorLog({ logger, clock, ...options }) };
}

const refused = (): Error => new Error('connect ECONNREFUSED 127.0.0.1:27017');

describe('RepeatedErrorLog', () => {
  it('logs the first failure with its stack, counts the repeats, and logs the recovery with the totals', () => {
    const { clock, lines, repeated } = setup();
    repeated.failure('agenda error', refused(), { jobName: 'report' });
    for (let second = 1; second <= 50; second += 1) {
      clock.advance(200);
      repeated.failure('agenda error', refused());
    }
    expect(repeated.isFailing('agenda error')).toBe(true);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', message: 'agenda error', fields: { jobName: 'report' } });
    const logged = lines[0]?.fields.error as { name: string; message: string; stack: string };
    expect(logged.message).toBe('connect ECONNREFUSED 127.0.0.1:27017');
    expect(logged.stack).toContain('repeated-error-log.test.ts');

    clock.advance(1000);
    repeated.success('agenda error');
    repeated.success('agenda error');
    expect(repeated.isFailing('agenda error')).toBe(false);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({
      level: 'info',
      message: 'agenda error: recovered',
      fields: {
        failures: 51,
        firstFailureAt: '2026-05-01T08:00:00.000Z',
        lastFailureAt: '2026-05-01T08:00:10.000Z',
        failingForMs: 11_000,
        lastError: { name: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:27017' },
      },
    });
  });

  it('summarises at most once per window while the failures go on', () => {
    const { clock, lines, repeated } = setup({ summaryEveryMs: 60_000 });
    // Five failures a second for three minutes.
    for (let tick = 0; tick < 900; tick += 1) {
      repeated.failure('heartbeat failed', refused(), {}, 'warn');
      clock.advance(200);
    }
    expect(lines.map((line) => line.message)).toEqual([
      'heartbeat failed',
      'heartbeat failed: still failing',
      'heartbeat failed: still failing',
    ]);
    expect(lines.every((line) => line.level === 'warn')).toBe(true);
    expect(lines[1]?.fields).toMatchObject({
      failures: 301,
      suppressedSinceLastLine: 300,
      firstFailureAt: '2026-05-01T08:00:00.000Z',
      lastFailureAt: '2026-05-01T08:01:00.000Z',
    });
    expect(lines[2]?.fields).toMatchObject({ failures: 601, suppressedSinceLastLine: 300 });
  });

  it('logs a different cause of the same kind in full, up to the distinct limit per window', () => {
    const { lines, repeated } = setup({ distinctMessagesPerWindow: 2 });
    repeated.failure('export failed', refused());
    repeated.failure('export failed', new Error('timeout after 10000 ms'));
    repeated.failure('export failed', new Error('HTTP 503'));
    repeated.failure('export failed', refused());
    expect(lines.map((line) => (line.fields.error as { message: string }).message)).toEqual([
      'connect ECONNREFUSED 127.0.0.1:27017',
      'timeout after 10000 ms',
    ]);
    expect(lines[1]?.fields.failures).toBe(2);
  });

  it('keeps kinds apart and logs nothing for a success without failures', () => {
    const { lines, repeated } = setup();
    repeated.success('agenda error');
    repeated.failure('agenda error', refused());
    repeated.failure('heartbeat failed', refused());
    repeated.success('heartbeat failed');
    expect(lines.map((line) => line.message)).toEqual(['agenda error', 'heartbeat failed', 'heartbeat failed: recovered']);
    expect(repeated.isFailing('agenda error')).toBe(true);
  });

  it('rejects settings that would disable the throttle', () => {
    const logger: JobLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
    expect(() => new RepeatedErrorLog({ logger, summaryEveryMs: 0 })).toThrow(/summaryEveryMs/u);
    expect(() => new RepeatedErrorLog({ logger, distinctMessagesPerWindow: 0 })).toThrow(/distinctMessagesPerWindow/u);
  });
});
