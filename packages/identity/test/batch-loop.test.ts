import { FakeClock } from '@app/shared-jobs/testing';
import { Types } from 'mongoose';
import { describe, expect, it } from 'vitest';
import { runInBatches } from '../src/jobs/batch-loop.js';
import { daysBefore } from '../src/index.js';
import { createTestJobContext } from './support.js';

// Pure loop logic with in-memory selections (the database behaviour is covered by the job tests).
describe('runInBatches', () => {
  it('stops with a warning when a selected batch changes nothing, instead of looping forever', async () => {
    const context = createTestJobContext(new FakeClock());
    const stuck = [new Types.ObjectId(), new Types.ObjectId()];
    let selections = 0;
    const processed = await runInBatches({
      context,
      batchSize: 2,
      label: 'test work',
      selectBatch: () => {
        selections += 1;
        return Promise.resolve(stuck);
      },
      applyBatch: () => Promise.resolve(0),
    });
    expect(processed).toBe(0);
    expect(selections).toBe(1);
    expect(context.logger.lines).toContainEqual({
      level: 'warn',
      message: 'a batch changed nothing; stopping: test work',
      fields: { selected: 2 },
    });
  });
});

describe('daysBefore', () => {
  it('subtracts whole 24-hour days in UTC, across a DST change', () => {
    expect(daysBefore(new Date('2026-03-30T12:00:00.000Z'), 2).toISOString()).toBe(
      '2026-03-28T12:00:00.000Z',
    );
  });
});
