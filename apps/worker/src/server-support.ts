/**
 * Which database servers the worker runs on. It asks `buildInfo` once after connecting and
 * refuses a stock FerretDB: its writes are not atomic per document (docs/ferretdb.md, §10), so
 * two replicas could both take one lease. The answer is the same for every command after that;
 * nothing else in the worker or the runtime looks at which server it is.
 */
import { classifyBuildInfo, type ServerBuild } from '@app/mongo-local';

/** The servers the worker supports, as named in the refusal. */
export const supportedServers =
  'MongoDB (standalone or replica set) or the FerretDB build this project bundles (`./dev setup`, patch series in tooling/mongo-local/ferretdb-patches)';

/** The worker refuses to start on this server (exit 1). The message names what is supported. */
export class UnsupportedServerError extends Error {
  override readonly name = 'UnsupportedServerError';
}

/** A short description for the start-up log line. */
export function describeServerBuild(build: ServerBuild): string {
  switch (build.kind) {
    case 'mongodb':
      return `MongoDB ${build.version}`;
    case 'ferretdb-patched':
      return `FerretDB ${build.ferretdbVersion} (this project's build, patch level ${build.patchLevel}, ${build.patchSeries})`;
    case 'ferretdb-stock':
      return `FerretDB ${build.ferretdbVersion} (stock)`;
  }
}

/** The refusal for an unsupported server, or null when the worker may run on it. Pure. */
export function findServerProblem(build: ServerBuild): UnsupportedServerError | null {
  if (build.kind !== 'ferretdb-stock') return null;
  return new UnsupportedServerError(
    `the database server is ${describeServerBuild(build)}, which does not apply a write to one document atomically: ` +
      `two replicas could both take the same run. Supported: ${supportedServers}`,
  );
}

/** Reads `buildInfo` through `runCommand` and classifies it. */
export async function readServerBuild(
  runCommand: (command: Record<string, unknown>) => Promise<Record<string, unknown>>,
): Promise<ServerBuild> {
  return classifyBuildInfo(await runCommand({ buildInfo: 1 }));
}
