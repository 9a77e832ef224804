/**
 * Durations as operators write them: `500ms`, `10s`, `5m`, `24h`, `2d`, `1h30m`.
 * Integers only (write `1h30m`, not `1.5h`), units from largest to smallest, each once.
 */

const unitMs = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;
type DurationUnit = keyof typeof unitMs;
/** Largest first: the order components must be written in, and the order they are printed in. */
const unitsLargestFirst: readonly DurationUnit[] = ['d', 'h', 'm', 's', 'ms'];
const unitHint = '(use ms, s, m, h, d)';

const unitWords: Readonly<Record<DurationUnit, readonly [string, string]>> = {
  d: ['day', 'days'],
  h: ['hour', 'hours'],
  m: ['minute', 'minutes'],
  s: ['second', 'seconds'],
  ms: ['millisecond', 'milliseconds'],
};

function isDurationUnit(text: string): text is DurationUnit {
  return Object.hasOwn(unitMs, text);
}

/** One component: digits, then a unit made of letters; anything else is reported by name. */
const componentPattern = /(\d+)([a-zA-Z]*)/y;
const wholeNumbersOnly = 'only whole numbers are allowed (write 1h30m, not 1.5h)';

function durationError(text: string, reason: string): RangeError {
  return new RangeError(`duration "${text}": ${reason}`);
}

/**
 * Parses a duration into milliseconds. Components may be separated by spaces, so what
 * {@link formatDuration} prints parses back. Throws a RangeError naming the text and the
 * reason, e.g. `duration "10x": unknown unit "x" (use ms, s, m, h, d)`.
 */
export function parseDuration(text: string): number {
  if (typeof text !== 'string') {
    throw new TypeError(`duration must be a string, got ${typeof text}`);
  }
  const source = text.trim();
  if (source === '') throw durationError(text, 'is empty; write e.g. 10s, 5m, 24h or 1h30m');
  let totalMs = 0;
  let position = 0;
  let previousUnitIndex = -1;
  while (position < source.length) {
    componentPattern.lastIndex = position;
    const match = componentPattern.exec(source);
    const rest = source.slice(position);
    if (match === null) {
      const reason = /^[.,]\d/.test(rest)
        ? wholeNumbersOnly
        : `expected a number at "${rest}" ${unitHint}`;
      throw durationError(text, reason);
    }
    const [component, digits, unit] = match as unknown as [string, string, string];
    if (unit === '') {
      const reason = /^[.,]\d/.test(rest.slice(digits.length))
        ? wholeNumbersOnly
        : `missing unit after ${digits} ${unitHint}`;
      throw durationError(text, reason);
    }
    if (!isDurationUnit(unit)) throw durationError(text, `unknown unit "${unit}" ${unitHint}`);
    const unitIndex = unitsLargestFirst.indexOf(unit);
    if (unitIndex <= previousUnitIndex) {
      throw durationError(
        text,
        `unit "${unit}" is out of order or repeated (write units from largest to smallest, each once)`,
      );
    }
    previousUnitIndex = unitIndex;
    totalMs += Number(digits) * unitMs[unit];
    position += component.length;
    while (source.charAt(position) === ' ') position += 1;
  }
  if (!Number.isSafeInteger(totalMs)) throw durationError(text, 'is too large');
  return totalMs;
}

function assertDurationMs(durationMs: number): void {
  if (!Number.isSafeInteger(durationMs) || durationMs < 0) {
    throw new RangeError(
      `duration must be an integer >= 0 (milliseconds), got ${String(durationMs)}`,
    );
  }
}

/** A duration for display, largest unit first: `1h 30m`, `10s`, `1s 500ms`, `0s`. */
export function formatDuration(durationMs: number): string {
  assertDurationMs(durationMs);
  if (durationMs === 0) return '0s';
  const parts: string[] = [];
  let remainingMs = durationMs;
  for (const unit of unitsLargestFirst) {
    const count = Math.floor(remainingMs / unitMs[unit]);
    remainingMs -= count * unitMs[unit];
    if (count > 0) parts.push(`${count}${unit}`);
  }
  return parts.join(' ');
}

/**
 * A duration in words with the largest unit that divides it exactly: `10 seconds`,
 * `90 minutes`, `24 hours`, `2 days`, `hour` (for "every hour"), `1500 milliseconds`.
 */
export function describeDurationInWords(durationMs: number): string {
  assertDurationMs(durationMs);
  // Days from two on: "every 24 hours" reads better than "every day" for an interval.
  const exactUnit = (['d', 'h', 'm', 's'] as const).find(
    (unit) => durationMs % unitMs[unit] === 0 && (unit !== 'd' || durationMs >= 2 * unitMs.d),
  );
  const unit: DurationUnit = exactUnit ?? 'ms';
  const count = durationMs / unitMs[unit];
  const [singular, plural] = unitWords[unit];
  return count === 1 ? singular : `${count} ${plural}`;
}
