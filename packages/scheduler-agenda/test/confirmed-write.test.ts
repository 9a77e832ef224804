import { describe, expect, it } from 'vitest';
import { writeConfirmed } from '../src/confirmed-write.js';

describe('writeConfirmed', () => {
  it('writes once when the write stays in effect', async () => {
    let writes = 0;
    await writeConfirmed({
      description: 'pause of "job"',
      write: () => Promise.resolve(void (writes += 1)),
      isApplied: () => Promise.resolve(true),
      settleMs: 1,
      attempts: 3,
    });
    expect(writes).toBe(1);
  });

  it('writes again each time a concurrent writer undid it, until it sticks', async () => {
    let writes = 0;
    let readBacks = 0;
    await writeConfirmed({
      description: 'pause of "job"',
      write: () => Promise.resolve(void (writes += 1)),
      // Undone twice (a stale whole-document rewrite), then in effect.
      isApplied: () => Promise.resolve((readBacks += 1) > 2),
      settleMs: 1,
      attempts: 3,
    });
    expect({ writes, readBacks }).toEqual({ writes: 3, readBacks: 3 });
  });

  it('fails naming the write when it never sticks', async () => {
    let writes = 0;
    await expect(
      writeConfirmed({
        description: 'trigger of "job"',
        write: () => Promise.resolve(void (writes += 1)),
        isApplied: () => Promise.resolve(false),
        settleMs: 1,
        attempts: 2,
      }),
    ).rejects.toThrow(/trigger of "job" was undone by concurrent writes 2 times/u);
    expect(writes).toBe(3);
  });
});
