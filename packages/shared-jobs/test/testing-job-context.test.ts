import { describe, expect, it } from 'vitest';
import type { JobModule, RecurringJob } from '../src/index.js';
import {
  createJobModuleContext,
  createTestJobContext,
  defaultJobModuleTiming,
  FakeClock,
  RecordingLogger,
} from '../src/testing/index.js';

describe('createTestJobContext', () => {
  it('is a context at the clock instant that records progress and can be aborted from onProgress', async () => {
    const clock = new FakeClock(new Date('2026-05-01T00:00:00.000Z'));
    const context = createTestJobContext(clock, {
      jobName: 'SomeJob',
      onProgress: (progress, runContext) => {
        if (progress.completed === 2) runContext.abortController.abort(new Error('drain'));
      },
    });
    expect(context).toMatchObject({
      jobName: 'SomeJob',
      runId: 'test-run',
      attempt: 1,
      cause: 'schedule',
      occurrenceAt: clock.now(),
    });
    await context.reportProgress({ completed: 1 });
    expect(context.signal.aborted).toBe(false);
    await context.reportProgress({ completed: 2, message: 'two' });
    expect(context.signal.aborted).toBe(true);
    expect(() => context.signal.throwIfAborted()).toThrow('drain');
    expect(context.progress).toEqual([{ completed: 1 }, { completed: 2, message: 'two' }]);
  });

  it('defaults to a fresh FakeClock', () => {
    expect(createTestJobContext().clock.now()).toEqual(new FakeClock().now());
  });
});

describe('RecordingLogger', () => {
  it('keeps every line with its level and fields, and filters by level', () => {
    const logger = new RecordingLogger();
    logger.debug('one');
    logger.info('two', { count: 2 });
    logger.warn('three');
    logger.error('four', { code: 'E' });
    expect(logger.lines).toEqual([
      { level: 'debug', message: 'one', fields: undefined },
      { level: 'info', message: 'two', fields: { count: 2 } },
      { level: 'warn', message: 'three', fields: undefined },
      { level: 'error', message: 'four', fields: { code: 'E' } },
    ]);
    expect(logger.messages()).toEqual(['one', 'two', 'three', 'four']);
    expect(logger.messages('warn')).toEqual(['three']);
    expect(logger.linesAt('error')).toEqual([{ level: 'error', message: 'four', fields: { code: 'E' } }]);
    expect(logger.text()).toContain('"code":"E"');
  });
});

describe('createJobModuleContext', () => {
  const module: Pick<JobModule<unknown, { readonly size: number }, { readonly name: string }>, 'defaults'> = {
    defaults: {
      schedule: '0 3 * * *',
      timeZone: 'Europe/Berlin',
      misfire: 'skip',
      retry: { maxAttempts: 3, initialDelayMs: 1000, maxDelayMs: 8000 },
    },
  };

  it("resolves the module's default schedule, misfire policy and run retries", () => {
    const context = createJobModuleContext(module, { settings: { size: 3 }, services: { name: 'db' } });
    expect(context).toEqual({
      settings: { size: 3 },
      services: { name: 'db' },
      timing: {
        schedule: { kind: 'cron', expression: '0 3 * * *', timeZone: 'Europe/Berlin' },
        misfire: { kind: 'skip' },
      },
      retry: { maxAttempts: 3, initialDelayMs: 1000, maxDelayMs: 8000 },
    });
    expect(defaultJobModuleTiming({ defaults: { ...module.defaults, schedule: '10s' } }).timing.schedule).toEqual({
      kind: 'interval',
      everyMs: 10_000,
    });
  });

  it('takes the given timing and retries instead', () => {
    const timing = { schedule: { kind: 'interval', everyMs: 5000 }, misfire: { kind: 'once' } } as const;
    const retry = { maxAttempts: 1, initialDelayMs: 0, maxDelayMs: 0 };
    const context = createJobModuleContext(module, { settings: { size: 1 }, services: { name: 'x' }, timing, retry });
    expect(context.timing).toBe(timing);
    expect(context.retry).toBe(retry);
    const job: RecurringJob = { name: 'x', schedule: context.timing.schedule, run: () => Promise.resolve({}) };
    expect(job.schedule).toEqual({ kind: 'interval', everyMs: 5000 });
  });

  it('fails on an invalid default, naming it', () => {
    expect(() => defaultJobModuleTiming({ defaults: { ...module.defaults, schedule: '10x' } })).toThrow(/10x/u);
    expect(() => defaultJobModuleTiming({ defaults: { ...module.defaults, misfire: 'sometimes' } })).toThrow(
      /misfire policy "sometimes"/u,
    );
  });
});
