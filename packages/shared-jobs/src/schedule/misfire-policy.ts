import { formatDuration, parseDuration } from './duration.js';
import type { JobSchedule } from './job-schedule.js';

/**
 * What to do with slots missed while no worker ran the job (the runtime applies it):
 * - `once` (default): the missed slots collapse into one run;
 * - `skip`: missed slots are dropped; the next run is the next future slot;
 * - `catch-up`: every missed slot inside the window runs, oldest first, each exactly
 *   once, at most `maxRuns` of them (the newest ones). Cron schedules only.
 */
export type MisfirePolicy =
  | { readonly kind: 'once' }
  | { readonly kind: 'skip' }
  | { readonly kind: 'catch-up'; readonly windowMs: number; readonly maxRuns: number };

export const defaultMisfirePolicy: MisfirePolicy = { kind: 'once' };
/** `maxRuns` of `catch-up:<window>` written without a maximum. */
export const defaultCatchUpMaxRuns = 100;

const syntaxHint =
  'use once, skip, catch-up:<window> or catch-up:<window>:<max runs>, e.g. catch-up:24h:50';

function misfireError(text: string, reason: string): RangeError {
  return new RangeError(`misfire policy "${text}": ${reason}`);
}

/** Parses `once`, `skip`, `catch-up:<duration>` or `catch-up:<duration>:<max runs>`. */
export function parseMisfirePolicy(text: string): MisfirePolicy {
  if (typeof text !== 'string') {
    throw new TypeError(`misfire policy must be a string, got ${typeof text}`);
  }
  const trimmed = text.trim();
  if (trimmed === 'once' || trimmed === 'skip') return { kind: trimmed };
  if (trimmed !== 'catch-up' && !trimmed.startsWith('catch-up:')) {
    throw misfireError(text, `unknown policy (${syntaxHint})`);
  }
  const [windowText, maxRunsText, ...extra] = trimmed.slice('catch-up:'.length).split(':') as [
    string,
    ...string[],
  ];
  if (windowText === '') throw misfireError(text, `catch-up needs a window (${syntaxHint})`);
  if (extra.length > 0) throw misfireError(text, `too many ":" (${syntaxHint})`);
  let windowMs: number;
  try {
    windowMs = parseDuration(windowText);
  } catch (error) {
    throw misfireError(text, (error as Error).message);
  }
  if (windowMs === 0) throw misfireError(text, 'the window must be longer than 0');
  let maxRuns = defaultCatchUpMaxRuns;
  if (maxRunsText !== undefined) {
    maxRuns = /^\d+$/.test(maxRunsText) ? Number(maxRunsText) : Number.NaN;
    if (!(Number.isSafeInteger(maxRuns) && maxRuns >= 1)) {
      throw misfireError(text, `max runs "${maxRunsText}" must be a whole number >= 1`);
    }
  }
  return { kind: 'catch-up', windowMs, maxRuns };
}

/** The text form, which {@link parseMisfirePolicy} reads back: `once`, `catch-up:1d:100`. */
export function formatMisfirePolicy(policy: MisfirePolicy): string {
  assertValidMisfirePolicy(policy);
  return policy.kind === 'catch-up'
    ? `catch-up:${formatDuration(policy.windowMs).replaceAll(' ', '')}:${policy.maxRuns}`
    : policy.kind;
}

/** Checks a policy built as data; throws an error naming the field. */
export function assertValidMisfirePolicy(policy: MisfirePolicy): void {
  const kind: unknown = policy.kind;
  if (kind === 'once' || kind === 'skip') return;
  if (kind !== 'catch-up') {
    throw new TypeError(
      `misfirePolicy.kind must be "once", "skip" or "catch-up", got ${JSON.stringify(kind)}`,
    );
  }
  const { windowMs, maxRuns } = policy as Extract<MisfirePolicy, { kind: 'catch-up' }>;
  if (!Number.isSafeInteger(windowMs) || windowMs <= 0) {
    throw new RangeError(
      `misfirePolicy.windowMs must be a positive integer (milliseconds), got ${String(windowMs)}`,
    );
  }
  if (!Number.isSafeInteger(maxRuns) || maxRuns < 1) {
    throw new RangeError(`misfirePolicy.maxRuns must be an integer >= 1, got ${String(maxRuns)}`);
  }
}

/** The policy in words, for operators. */
export function describeMisfirePolicy(policy: MisfirePolicy): string {
  assertValidMisfirePolicy(policy);
  switch (policy.kind) {
    case 'once':
      return 'missed slots run once (collapsed into one run)';
    case 'skip':
      return 'missed slots are skipped (the next run is the next future slot)';
    case 'catch-up':
      return `each slot missed in the last ${formatDuration(policy.windowMs)} runs once, oldest first (at most the newest ${policy.maxRuns})`;
  }
}

/**
 * Rejects a policy the schedule cannot honour: `catch-up` needs slots, and an interval
 * schedule has none to catch up (its next run is anchored at the last start).
 */
export function assertMisfireFitsSchedule(schedule: JobSchedule, policy: MisfirePolicy): void {
  assertValidMisfirePolicy(policy);
  if (policy.kind === 'catch-up' && schedule.kind === 'interval') {
    throw new RangeError(
      `misfire policy "${formatMisfirePolicy(policy)}" needs a cron schedule: an interval schedule is anchored ` +
        'to the last start and has no slots to catch up (use once or skip, or a cron expression)',
    );
  }
}
