import type { Clock } from '@app/shared-jobs';

const dayMs = 24 * 60 * 60 * 1000;

/** `now - retentionDays`: anything strictly older is deleted, anything at or after it stays. */
export function retentionCutoff(clock: Clock, retentionDays: number): Date {
  return new Date(clock.now().getTime() - retentionDays * dayMs);
}
