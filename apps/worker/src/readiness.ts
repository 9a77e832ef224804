/**
 * `/readyz` in bounded time, whatever the database does. A ping to a server that is down
 * waits for the driver's server selection (10 s), longer than a probe's timeout; so the
 * ping is raced with a deadline, and skipped while the runtime already knows its
 * heartbeats fail. One ping at a time: probes that arrive while one is in flight share it.
 */
import type { ReadinessReport } from './http-server.js';

/** How long `/readyz` waits for the database's answer before it says "not ready". */
export const readinessPingTimeoutMs = 750;

export interface ReadinessSources {
  /** Started and not draining. */
  readonly started: () => boolean;
  /** The runtime's heartbeat state (false while heartbeats fail). */
  readonly healthy: () => boolean;
  /** Sends `ping` to the database. */
  readonly ping: () => Promise<unknown>;
  readonly timeoutMs?: number;
}

export function createReadinessCheck(sources: ReadinessSources): () => Promise<ReadinessReport> {
  const timeoutMs = sources.timeoutMs ?? readinessPingTimeoutMs;
  // A ping to a server that is down stays pending for seconds: later probes wait on it
  // (each with its own deadline) instead of piling up new ones.
  let pingInFlight: Promise<boolean> | null = null;
  const pingWithin = async (): Promise<boolean> => {
    pingInFlight ??= sources.ping().then(
      () => true,
      () => false,
    ).finally(() => {
      pingInFlight = null;
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        pingInFlight,
        new Promise<boolean>((resolveTimeout) => {
          timer = setTimeout(() => resolveTimeout(false), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  };
  return async () => {
    const scheduler = sources.started();
    if (!scheduler) return { ready: false, checks: { database: false, scheduler } };
    const database = sources.healthy() && (await pingWithin());
    return { ready: database && scheduler, checks: { database, scheduler } };
  };
}
