import type { JobContext } from '@app/shared-jobs';

/** One selection: what to apply, and where the next selection starts. */
export interface BatchSelection<TItem, TCursor> {
  /** Items to apply (possibly none while a walk goes on). */
  readonly items: TItem[];
  /** Where the next selection starts; null when this one was the last. */
  readonly next: TCursor | null;
}

export interface BatchLoopOptions<TItem, TCursor> {
  readonly context: JobContext;
  readonly batchSize: number;
  /** What the loop does, for progress messages and logs (e.g. `deleted expired refresh tokens`). */
  readonly label: string;
  /**
   * At most `limit` items still to look at, from one bounded statement, starting at `cursor`
   * (undefined for the first selection).
   */
  selectBatch(limit: number, cursor: TCursor | undefined): Promise<BatchSelection<TItem, TCursor>>;
  /** Processes one batch with one bounded statement (re-checking the selection condition). */
  applyBatch(batch: TItem[]): Promise<number>;
  /**
   * True when applied documents leave the selection (they are deleted) and each selection
   * starts over: then a batch that changed nothing would come back unchanged, and the loop
   * stops instead of selecting it forever.
   */
  readonly appliedLeaveSelection: boolean;
}

export interface BatchLoopResult {
  /** Documents the batches changed. */
  readonly changed: number;
  /** Items the selections handed to `applyBatch`. */
  readonly examined: number;
  readonly batches: number;
}

/**
 * Select a batch, apply one statement to it, repeat until a selection says it was the last.
 * Each round is two statements of at most `batchSize` documents, and the process holds one
 * batch, whatever the size of the collection. `context.signal` is checked before each batch
 * (an aborted run logs what it did and throws the abort reason; the rest waits for the next
 * run); progress is reported after each batch (the runtime's proof of life).
 */
export async function runInBatches<TItem, TCursor>(
  options: BatchLoopOptions<TItem, TCursor>,
): Promise<BatchLoopResult> {
  const { context, batchSize, label } = options;
  let changed = 0;
  let examined = 0;
  let batches = 0;
  let cursor: TCursor | undefined;
  for (;;) {
    if (context.signal.aborted) {
      context.logger.warn(`stopped before finishing: ${label}`, { changed, examined, batches });
      context.signal.throwIfAborted();
    }
    const { items, next } = await options.selectBatch(batchSize, cursor);
    if (items.length === 0 && next === null) break;
    const batchChanged = items.length === 0 ? 0 : await options.applyBatch(items);
    changed += batchChanged;
    examined += items.length;
    batches += 1;
    await context.reportProgress({ completed: changed, message: `${label}: ${changed} (examined ${examined})` });
    if (next === null) break;
    if (options.appliedLeaveSelection && batchChanged === 0) {
      // Selected but none changed (a concurrent writer got there first): stop rather than
      // select the same documents again.
      context.logger.warn(`a batch changed nothing; stopping: ${label}`, { selected: items.length });
      break;
    }
    cursor = next;
  }
  return { changed, examined, batches };
}

const millisecondsPerDay = 24 * 60 * 60 * 1000;

/** `now - days` in fixed 24-hour days (UTC, no calendar or DST arithmetic). */
export function daysBefore(now: Date, days: number): Date {
  return new Date(now.getTime() - days * millisecondsPerDay);
}
