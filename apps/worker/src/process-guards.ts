/**
 * The last line of defence of `worker start`: an unhandled rejection or an uncaught
 * exception is logged with its stack and the worker drains as on SIGTERM (runs finish or
 * are interrupted and released for another replica), then exits with code 1. Node.js
 * would otherwise stop at once (runs left to lapse) or, with a handler, carry on in an
 * unknown state.
 */
import type { WorkerLogger } from './logger.js';

export interface ProcessGuardOptions {
  readonly logger: WorkerLogger;
  /** Drains and closes the worker (the SIGTERM path). */
  readonly drain: (reason: string) => Promise<void>;
  /** Ends the process (tests pass a recorder). */
  readonly exit: (code: number) => void;
  /** If draining hangs, exit anyway after this long. */
  readonly hardDeadlineMs: number;
  readonly target?: NodeJS.EventEmitter;
}

/** Installs the handlers; returns the function that removes them. */
export function installProcessGuards(options: ProcessGuardOptions): () => void {
  const target = options.target ?? process;
  let failing = false;
  const fail = (kind: 'unhandledRejection' | 'uncaughtException', reason: unknown): void => {
    options.logger.fatal({ error: reason, kind }, `${kind}: draining, then exiting with code 1`);
    if (failing) return;
    failing = true;
    const timer = setTimeout(() => options.exit(1), options.hardDeadlineMs);
    timer.unref();
    void options
      .drain(kind)
      .catch((error: unknown) => options.logger.error({ error }, 'drain after a fatal error failed'))
      .finally(() => {
        clearTimeout(timer);
        options.exit(1);
      });
  };
  const onRejection = (reason: unknown): void => fail('unhandledRejection', reason);
  const onException = (error: unknown): void => fail('uncaughtException', error);
  target.on('unhandledRejection', onRejection);
  target.on('uncaughtException', onException);
  return () => {
    target.off('unhandledRejection', onRejection);
    target.off('uncaughtException', onException);
  };
}
