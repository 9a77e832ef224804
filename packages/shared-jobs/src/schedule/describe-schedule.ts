import { compileCron } from './cron.js';
import type { CronField, CronFields } from './cron-expression.js';
import { describeDurationInWords } from './duration.js';
import { assertValidJobSchedule, type JobSchedule } from './job-schedule.js';

/**
 * A schedule in words for operators: `every 10 seconds after the last start`,
 * `every 15 minutes`, `every hour at minute 0`, `every day at 03:00 (Europe/Berlin)`,
 * `every Monday at 09:30 (UTC)`, `on day 1 of every month at 00:00 (UTC)`. A cron
 * expression of another shape is shown as itself: `cron "0 9-17 * * 1-5" (UTC)`.
 */
export function describeSchedule(schedule: JobSchedule): string {
  assertValidJobSchedule(schedule);
  if (schedule.kind === 'interval') {
    return `every ${describeDurationInWords(schedule.everyMs)} after the last start`;
  }
  const { fields } = compileCron(schedule.expression, schedule.timeZone);
  return (
    describeCronFields(fields, schedule.timeZone) ??
    `cron "${schedule.expression}" (${schedule.timeZone})`
  );
}

const weekdayNames = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const monthNames = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/** The one value of a field, or undefined when it allows several. */
function singleValue(field: CronField): number | undefined {
  return field.values.length === 1 ? field.values[0] : undefined;
}

function allowsAll(field: CronField, count: number): boolean {
  return field.values.length === count;
}

/** n when the field is exactly 0, n, 2n, ... and n divides `count` (so the spacing holds across the wrap). */
function evenStep(field: CronField, count: number): number | undefined {
  const [first, second] = field.values;
  if (first !== 0 || second === undefined || count % second !== 0) return undefined;
  return field.values.length === count / second &&
    field.values.every((value, index) => value === index * second)
    ? second
    : undefined;
}

const twoDigits = (value: number) => String(value).padStart(2, '0');

function joinWords(words: readonly string[]): string {
  return words.length === 1
    ? (words[0] as string)
    : `${words.slice(0, -1).join(', ')} and ${words.at(-1) as string}`;
}

/** Monday first; a run of three or more days reads "Monday to Friday". */
function describeWeekdays(weekdays: readonly number[]): string {
  const mondayFirst = weekdays
    .map((weekday) => (weekday === 0 ? 7 : weekday))
    .sort((left, right) => left - right);
  const nameOf = (weekday: number) => weekdayNames[weekday % 7] as string;
  const first = mondayFirst[0] as number;
  const last = mondayFirst.at(-1) as number;
  if (mondayFirst.length >= 3 && last - first === mondayFirst.length - 1) {
    return `${nameOf(first)} to ${nameOf(last)}`;
  }
  return joinWords(mondayFirst.map(nameOf));
}

type DayRule =
  | { readonly kind: 'every-day' }
  | { readonly kind: 'weekdays'; readonly weekdays: readonly number[] }
  | { readonly kind: 'month-day'; readonly day: number };

function dayRuleOf(fields: CronFields): DayRule | undefined {
  const everyMonthDay = allowsAll(fields.dayOfMonth, 31);
  const everyWeekday = allowsAll(fields.dayOfWeek, 7);
  if (fields.daysMatchEither ? everyMonthDay || everyWeekday : everyMonthDay && everyWeekday) {
    return { kind: 'every-day' };
  }
  if (fields.daysMatchEither) return undefined;
  if (everyMonthDay) return { kind: 'weekdays', weekdays: fields.dayOfWeek.values };
  const day = singleValue(fields.dayOfMonth);
  return everyWeekday && day !== undefined ? { kind: 'month-day', day } : undefined;
}

/** Several runs a day, every day: `every 15 minutes`, `every hour at minute 0`. */
function describeWithinDay(fields: CronFields): string | undefined {
  const { second, minute, hour } = fields;
  const everyMinuteOfHour = allowsAll(minute, 60) && allowsAll(hour, 24);
  if (everyMinuteOfHour && allowsAll(second, 60)) return 'every second';
  const secondStep = evenStep(second, 60);
  if (everyMinuteOfHour && secondStep !== undefined) return `every ${secondStep} seconds`;
  const atSecond = singleValue(second);
  if (atSecond === undefined) return undefined;
  const secondSuffix = atSecond === 0 ? '' : ` at second ${atSecond}`;
  if (everyMinuteOfHour) return `every minute${secondSuffix}`;
  const minuteStep = evenStep(minute, 60);
  if (minuteStep !== undefined && allowsAll(hour, 24))
    return `every ${minuteStep} minutes${secondSuffix}`;
  const atMinute = singleValue(minute);
  if (atMinute === undefined || secondSuffix !== '') return undefined;
  if (allowsAll(hour, 24)) return `every hour at minute ${atMinute}`;
  const hourStep = evenStep(hour, 24);
  return hourStep === undefined ? undefined : `every ${hourStep} hours at minute ${atMinute}`;
}

/** The common shapes in words, or undefined for the others. */
function describeCronFields(fields: CronFields, timeZone: string): string | undefined {
  const dayRule = dayRuleOf(fields);
  if (dayRule === undefined) return undefined;
  const everyMonth = allowsAll(fields.month, 12);
  if (dayRule.kind === 'every-day' && everyMonth) {
    const withinDay = describeWithinDay(fields);
    if (withinDay !== undefined) return withinDay;
  }
  const [hour, minute, second] = [fields.hour, fields.minute, fields.second].map(singleValue);
  if (hour === undefined || minute === undefined || second === undefined) return undefined;
  const time = `${twoDigits(hour)}:${twoDigits(minute)}${second === 0 ? '' : `:${twoDigits(second)}`}`;
  const at = `at ${time} (${timeZone})`;
  const month = singleValue(fields.month);
  if (everyMonth) {
    switch (dayRule.kind) {
      case 'every-day':
        return `every day ${at}`;
      case 'weekdays':
        return `every ${describeWeekdays(dayRule.weekdays)} ${at}`;
      case 'month-day':
        return `on day ${dayRule.day} of every month ${at}`;
    }
  }
  if (dayRule.kind === 'month-day' && month !== undefined) {
    return `every year on ${monthNames[month - 1] as string} ${dayRule.day} ${at}`;
  }
  return undefined;
}
