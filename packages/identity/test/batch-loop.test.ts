import { createTestJobContext, FakeClock } from '@app/shared-jobs/testing';
import { describe, expect, it } from 'vitest';
import { runInBatches } from '../src/jobs/batch-loop.js';
import { daysBefore } from '../src/index.js';

// Pure loop logic with in-memory selections (the database behaviour is covered by the job tests).
describe('runInBatches', () => {
  it('stops with a warning when a re-selected batch changes nothing, instead of looping forever', async () => {
    const context = createTestJobContext(new FakeClock());
    let selections = 0;
    const result = await runInBatches({
      context,
      batchSize: 2,
      label: 'test work',
      appliedLeaveSelection: true,
      selectBatch: () => {
        selections += 1;
        return Promise.resolve({ items: ['stuck-1', 'stuck-2'], next: 'again' });
      },
      applyBatch: () => Promise.resolve(0),
    });
    expect(result).toEqual({ changed: 0, examined: 2, batches: 1 });
    expect(selections).toBe(1);
    expect(context.logger.lines).toContainEqual({
      level: 'warn',
      message: 'a batch changed nothing; stopping: test work',
      fields: { selected: 2 },
    });
  });

  it('walks on past batches that change nothing or apply nothing, from cursor to cursor', async () => {
    const context = createTestJobContext(new FakeClock());
    const items = [1, 2, 3, 4, 5, 6, 7];
    const cursors: (number | undefined)[] = [];
    const applied: number[][] = [];
    const result = await runInBatches<number, number>({
      context,
      batchSize: 3,
      label: 'walk',
      appliedLeaveSelection: false,
      selectBatch: (limit, cursor) => {
        cursors.push(cursor);
        const page = items.filter((item) => cursor === undefined || item > cursor).slice(0, limit);
        // A selection may apply nothing and still go on (the cursor moves).
        const selected = page.includes(4) ? [] : page;
        return Promise.resolve({ items: selected, next: page.length < limit ? null : page.at(-1)! });
      },
      applyBatch: (batch) => {
        applied.push(batch);
        return Promise.resolve(batch.filter((item) => item % 3 === 0).length);
      },
    });
    expect(cursors).toEqual([undefined, 3, 6]);
    expect(applied).toEqual([[1, 2, 3], [7]]);
    expect(result).toEqual({ changed: 1, examined: 4, batches: 3 });
    expect(context.progress.map((progress) => progress.completed)).toEqual([1, 1, 1]);
  });
});

describe('daysBefore', () => {
  it('subtracts whole 24-hour days in UTC, across a DST change', () => {
    expect(daysBefore(new Date('2026-03-30T12:00:00.000Z'), 2).toISOString()).toBe(
      '2026-03-28T12:00:00.000Z',
    );
  });
});
