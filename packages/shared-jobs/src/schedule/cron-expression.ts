/**
 * Parsing of cron expressions into field sets. Syntax: 5 fields (minute hour
 * day-of-month month day-of-week) or 6 with seconds first; `*`, numbers, lists `a,b`,
 * ranges `a-b`, steps `*∕n`, `a-b∕n` and `a∕n`; month names JAN-DEC and day names SUN-SAT
 * (any case); day-of-week 0-7 with 0 and 7 for Sunday; macros `@yearly` `@annually`
 * `@monthly` `@weekly` `@daily` `@midnight` `@hourly`. Quartz's `L`, `W`, `#` and `?` are
 * rejected: they are not part of the cron this module promises to run.
 */

export type CronFieldName = 'second' | 'minute' | 'hour' | 'day-of-month' | 'month' | 'day-of-week';

export interface CronField {
  /** The allowed values, ascending; day-of-week uses 0-6 (Sunday = 0, 7 folded into 0). */
  readonly values: readonly number[];
  /** Written starting with `*` (`*`, `*∕2`): Vixie cron's test for an unrestricted day field. */
  readonly wildcard: boolean;
}

export interface CronFields {
  readonly second: CronField;
  readonly minute: CronField;
  readonly hour: CronField;
  readonly dayOfMonth: CronField;
  readonly month: CronField;
  readonly dayOfWeek: CronField;
  /**
   * Vixie cron: when neither day field starts with `*`, a day matches if EITHER matches
   * (`0 0 1 * MON` = the 1st and every Monday); otherwise both must match.
   */
  readonly daysMatchEither: boolean;
}

interface FieldSpec {
  readonly name: CronFieldName;
  readonly min: number;
  readonly max: number;
  /** Where `*` and `a∕n` end: 6 for day-of-week, so `*∕2` and `1∕2` do not reach 7 (Sunday again). */
  readonly openEnd: number;
  readonly names?: ReadonlyMap<string, number>;
  readonly namesHint?: string;
}

const monthNames = [
  'JAN',
  'FEB',
  'MAR',
  'APR',
  'MAY',
  'JUN',
  'JUL',
  'AUG',
  'SEP',
  'OCT',
  'NOV',
  'DEC',
];
const dayNames = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

const fieldSpecs: readonly FieldSpec[] = [
  { name: 'second', min: 0, max: 59, openEnd: 59 },
  { name: 'minute', min: 0, max: 59, openEnd: 59 },
  { name: 'hour', min: 0, max: 23, openEnd: 23 },
  { name: 'day-of-month', min: 1, max: 31, openEnd: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    openEnd: 12,
    names: new Map(monthNames.map((name, index) => [name, index + 1])),
    namesHint: 'a month name (JAN-DEC)',
  },
  {
    name: 'day-of-week',
    min: 0,
    max: 7,
    openEnd: 6,
    names: new Map(dayNames.map((name, index) => [name, index])),
    namesHint: 'a day name (SUN-SAT)',
  },
];

const macros: ReadonlyMap<string, string> = new Map([
  ['@yearly', '0 0 1 1 *'],
  ['@annually', '0 0 1 1 *'],
  ['@monthly', '0 0 1 * *'],
  ['@weekly', '0 0 * * 0'],
  ['@daily', '0 0 * * *'],
  ['@midnight', '0 0 * * *'],
  ['@hourly', '0 * * * *'],
]);

const unsupportedHint =
  'is not supported (L, W, # and ? are Quartz extensions; use lists and ranges)';

/** Makes the error for one reason, e.g. `hour 25 is out of range 0-23`, naming the expression. */
type FailWith = (reason: string) => RangeError;

function parseValue(token: string, spec: FieldSpec, fieldText: string, fail: FailWith): number {
  if (/^\d+$/.test(token)) {
    const value = Number(token);
    if (value < spec.min || value > spec.max) {
      throw fail(`${spec.name} ${value} is out of range ${spec.min}-${spec.max}`);
    }
    return value;
  }
  const named = spec.names?.get(token.toUpperCase());
  if (named !== undefined) return named;
  if (/^(\d*L|\d+W|LW)$/i.test(token)) {
    throw fail(`${spec.name} "${fieldText}" ${unsupportedHint}`);
  }
  const expected = spec.namesHint === undefined ? 'a number' : `a number or ${spec.namesHint}`;
  throw fail(`${spec.name} "${token}" is not ${expected}`);
}

function parseItem(item: string, spec: FieldSpec, fieldText: string, fail: FailWith): number[] {
  if (item === '') throw fail(`${spec.name} "${fieldText}" has an empty list item`);
  if (/[#?]/.test(item)) throw fail(`${spec.name} "${fieldText}" ${unsupportedHint}`);
  const [rangeText, stepText, ...extraSteps] = item.split('/') as [string, ...string[]];
  if (extraSteps.length > 0) throw fail(`${spec.name} "${fieldText}" has more than one "/"`);
  let step = 1;
  if (stepText !== undefined) {
    const span = spec.openEnd - spec.min + 1;
    step = /^\d+$/.test(stepText) ? Number(stepText) : Number.NaN;
    if (!(step >= 1 && step <= span)) {
      throw fail(
        `${spec.name} "${fieldText}": step "${stepText}" must be a whole number from 1 to ${span}`,
      );
    }
  }
  let start: number;
  let end: number;
  if (rangeText === '*') {
    start = spec.min;
    end = spec.openEnd;
  } else if (rangeText.includes('-')) {
    const [startText, endText, ...extraBounds] = rangeText.split('-') as [
      string,
      string,
      ...string[],
    ];
    if (extraBounds.length > 0)
      throw fail(`${spec.name} "${fieldText}" has a range with more than one "-"`);
    start = parseValue(startText, spec, fieldText, fail);
    end = parseValue(endText, spec, fieldText, fail);
    if (start > end) {
      throw fail(
        `${spec.name} "${fieldText}": range ${rangeText} runs backwards (write the smaller bound first)`,
      );
    }
  } else {
    start = parseValue(rangeText, spec, fieldText, fail);
    end = stepText === undefined ? start : spec.openEnd;
  }
  const values: number[] = [];
  for (let value = start; value <= end; value += step) values.push(value);
  return values;
}

function parseField(fieldText: string, spec: FieldSpec, fail: FailWith): CronField {
  const allowed = new Set<number>();
  for (const item of fieldText.split(',')) {
    for (const value of parseItem(item, spec, fieldText, fail)) {
      // Day-of-week 7 is Sunday, like 0.
      allowed.add(spec.name === 'day-of-week' && value === 7 ? 0 : value);
    }
  }
  return {
    values: [...allowed].sort((left, right) => left - right),
    wildcard: fieldText.startsWith('*'),
  };
}

/** The error thrown for an invalid expression: `cron expression "<text>": <reason>`. */
export function cronExpressionError(expression: string, reason: string): RangeError {
  return new RangeError(`cron expression "${expression}": ${reason}`);
}

/**
 * Parses a cron expression into the allowed values of each field. Throws a RangeError
 * naming the expression, the field and the reason. Whether the expression can ever
 * match (`0 0 30 2 *` cannot) is checked by `compileCron`, which can search.
 */
export function parseCronExpression(expression: string): CronFields {
  if (typeof expression !== 'string') {
    throw new TypeError(`cron expression must be a string, got ${typeof expression}`);
  }
  const trimmed = expression.trim();
  if (trimmed === '') throw cronExpressionError(expression, 'is empty');
  let fieldTexts = trimmed.split(/\s+/);
  if (trimmed.startsWith('@')) {
    const expansion = macros.get(trimmed.toLowerCase());
    if (expansion === undefined) {
      throw cronExpressionError(
        expression,
        `unknown macro (use ${[...macros.keys()].join(', ')}; @reboot and others are not supported)`,
      );
    }
    fieldTexts = expansion.split(' ');
  }
  if (fieldTexts.length === 5) fieldTexts = ['0', ...fieldTexts];
  if (fieldTexts.length !== 6) {
    throw cronExpressionError(
      expression,
      `expected 5 fields (minute hour day-of-month month day-of-week) or 6 (second first), got ${fieldTexts.length}`,
    );
  }
  const fail: FailWith = (reason) => cronExpressionError(expression, reason);
  const [second, minute, hour, dayOfMonth, month, dayOfWeek] = fieldSpecs.map((spec, index) =>
    parseField(fieldTexts[index] as string, spec, fail),
  ) as [CronField, CronField, CronField, CronField, CronField, CronField];
  return {
    second,
    minute,
    hour,
    dayOfMonth,
    month,
    dayOfWeek,
    daysMatchEither: !dayOfMonth.wildcard && !dayOfWeek.wildcard,
  };
}
