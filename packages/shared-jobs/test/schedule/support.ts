import type { CompiledCron } from '../../src/index.js';

/** The first `count` slots after `from`, walking nextAfter, as ISO strings. */
export function walkSlots(cron: CompiledCron, from: string, count: number): string[] {
  const slots: string[] = [];
  let instant = new Date(from);
  for (let index = 0; index < count; index += 1) {
    instant = cron.nextAfter(instant);
    slots.push(instant.toISOString());
  }
  return slots;
}

export function isoStrings(dates: readonly Date[]): string[] {
  return dates.map((date) => date.toISOString());
}

/** A seeded PRNG (mulberry32): the same "random" cases on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}
