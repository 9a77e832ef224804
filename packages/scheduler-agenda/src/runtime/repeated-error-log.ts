/**
 * Log throttling for errors that repeat while something is down (the database, a
 * collector): the first failure of a kind is logged in full (with its stack), the
 * repeats are counted, a summary is logged at most once per window while the failures
 * go on, and the recovery is logged once with the totals.
 *
 * The rule, per kind (e.g. `agenda error`, `heartbeat failed`):
 * - the first failure after a success is logged in full;
 * - a failure with a message not seen in the current window is logged in full too, up to
 *   `distinctMessagesPerWindow` per window (a second, different cause still shows);
 * - every other failure is only counted; the first failure after `summaryEveryMs` since
 *   the window opened logs one summary line (count, first and last time) and opens a new
 *   window;
 * - `success(kind)` after failures logs one recovery line (count, first and last failure,
 *   how long it failed) and forgets the kind. A success while nothing failed logs nothing.
 *
 * So an outage costs at most `1 + distinctMessagesPerWindow` lines per kind per window,
 * plus one recovery line, whatever the failure rate.
 */
import { systemClock, toJobRunError, type Clock, type JobLogger } from '@app/shared-jobs';

export interface RepeatedErrorLogOptions {
  readonly logger: JobLogger;
  readonly clock?: Clock;
  /** While a kind keeps failing, at most one summary line per this many ms (default 60 s). */
  readonly summaryEveryMs?: number;
  /** Distinct messages of one kind logged in full per window (default 3). */
  readonly distinctMessagesPerWindow?: number;
}

export type FailureLevel = 'warn' | 'error';

interface FailingKind {
  readonly firstAt: Date;
  lastAt: Date;
  /** Failures since the kind started failing. */
  count: number;
  /** Failures counted but not logged since the last line. */
  suppressed: number;
  windowStartMs: number;
  readonly messagesInWindow: Set<string>;
  lastError: { readonly name: string; readonly message: string };
  level: FailureLevel;
}

export const defaultSummaryEveryMs = 60_000;
export const defaultDistinctMessagesPerWindow = 3;

export class RepeatedErrorLog {
  private readonly failing = new Map<string, FailingKind>();
  private readonly clock: Clock;
  private readonly summaryEveryMs: number;
  private readonly distinctMessagesPerWindow: number;

  constructor(private readonly options: RepeatedErrorLogOptions) {
    this.clock = options.clock ?? systemClock;
    this.summaryEveryMs = options.summaryEveryMs ?? defaultSummaryEveryMs;
    this.distinctMessagesPerWindow = options.distinctMessagesPerWindow ?? defaultDistinctMessagesPerWindow;
    if (!Number.isSafeInteger(this.summaryEveryMs) || this.summaryEveryMs <= 0) {
      throw new RangeError(`summaryEveryMs must be a positive integer, got ${String(options.summaryEveryMs)}`);
    }
    if (!Number.isSafeInteger(this.distinctMessagesPerWindow) || this.distinctMessagesPerWindow < 1) {
      throw new RangeError(
        `distinctMessagesPerWindow must be a positive integer, got ${String(options.distinctMessagesPerWindow)}`,
      );
    }
  }

  /** Whether `kind` has failed since its last success. */
  isFailing(kind: string): boolean {
    return this.failing.has(kind);
  }

  /** Records a failure of `kind`: logged in full, counted, or summarised (see the module rule). */
  failure(
    kind: string,
    error: unknown,
    fields: Readonly<Record<string, unknown>> = {},
    level: FailureLevel = 'error',
  ): void {
    const now = this.clock.now();
    const serialized = toJobRunError(error);
    const signature = `${serialized.name}: ${serialized.message}`;
    const state = this.failing.get(kind);
    if (state === undefined) {
      this.failing.set(kind, {
        firstAt: now,
        lastAt: now,
        count: 1,
        suppressed: 0,
        windowStartMs: now.getTime(),
        messagesInWindow: new Set([signature]),
        lastError: { name: serialized.name, message: serialized.message },
        level,
      });
      this.write(level, kind, { ...fields, error: serialized });
      return;
    }
    state.count += 1;
    state.lastAt = now;
    state.lastError = { name: serialized.name, message: serialized.message };
    state.level = level;
    if (now.getTime() - state.windowStartMs >= this.summaryEveryMs) {
      this.write(level, `${kind}: still failing`, {
        ...fields,
        failures: state.count,
        suppressedSinceLastLine: state.suppressed + 1,
        firstFailureAt: state.firstAt.toISOString(),
        lastFailureAt: now.toISOString(),
        error: serialized,
      });
      state.suppressed = 0;
      state.windowStartMs = now.getTime();
      state.messagesInWindow.clear();
      state.messagesInWindow.add(signature);
      return;
    }
    if (!state.messagesInWindow.has(signature) && state.messagesInWindow.size < this.distinctMessagesPerWindow) {
      state.messagesInWindow.add(signature);
      this.write(level, kind, { ...fields, failures: state.count, error: serialized });
      return;
    }
    state.suppressed += 1;
  }

  /** Records that `kind` works again: one recovery line when it was failing. */
  success(kind: string, fields: Readonly<Record<string, unknown>> = {}): void {
    const state = this.failing.get(kind);
    if (state === undefined) return;
    this.failing.delete(kind);
    const now = this.clock.now();
    this.options.logger.info(`${kind}: recovered`, {
      ...fields,
      failures: state.count,
      firstFailureAt: state.firstAt.toISOString(),
      lastFailureAt: state.lastAt.toISOString(),
      failingForMs: now.getTime() - state.firstAt.getTime(),
      lastError: state.lastError,
    });
  }

  private write(level: FailureLevel, message: string, fields: Readonly<Record<string, unknown>>): void {
    if (level === 'warn') this.options.logger.warn(message, fields);
    else this.options.logger.error(message, fields);
  }
}
