/** Which errors mean "the database is out of reach for now" (worth retrying). */

/** Driver and Mongoose errors of an unreachable server (matched by name: both libraries throw them). */
const unreachableErrorNames = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongooseServerSelectionError',
  'MongoNotConnectedError',
]);

export function isUnreachableDatabaseError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  // Mongoose buffers commands while disconnected and then gives up with this message.
  return unreachableErrorNames.has(error.name) || /buffering timed out/u.test(error.message);
}

/**
 * Runs `operation` until it succeeds, retrying (every `retryEveryMs`) while the database
 * is out of reach, up to `deadlineMs`; other errors, and the last one, are thrown.
 */
export async function retryWhileUnreachable<TValue>(
  operation: () => Promise<TValue>,
  options: { readonly deadlineMs: number; readonly retryEveryMs: number; readonly onRetry?: (error: unknown) => void },
): Promise<TValue> {
  const deadline = Date.now() + options.deadlineMs;
  let retried = false;
  for (;;) {
    try {
      return await operation();
    } catch (error) {
      if (!isUnreachableDatabaseError(error) || Date.now() + options.retryEveryMs > deadline) throw error;
      if (!retried) options.onRetry?.(error);
      retried = true;
      await new Promise((resolve) => setTimeout(resolve, options.retryEveryMs));
    }
  }
}
