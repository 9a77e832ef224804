import { hostname } from 'node:os';

/** Which process did something: shown in history, useful in scaled deployments. */
export interface InstanceIdentity {
  readonly hostName: string;
  readonly processId: number;
}

/** The identity of the current process. */
export function currentInstance(): InstanceIdentity {
  return { hostName: hostname(), processId: process.pid };
}

/** `host/pid`, for logs and tables. */
export function formatInstance(instance: InstanceIdentity): string {
  return `${instance.hostName}/${instance.processId}`;
}
