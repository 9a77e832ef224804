/** Hash routes: `#/`, `#/jobs/<name>`, `#/runs/<id>`, `#/email-queue`, `#/instances`, `#/audit`. */
export type Route =
  | { readonly page: 'overview' }
  | { readonly page: 'job'; readonly name: string }
  | { readonly page: 'run'; readonly runId: string }
  | { readonly page: 'emails' }
  | { readonly page: 'instances' }
  | { readonly page: 'audit' }
  | { readonly page: 'missing'; readonly path: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/u, '') || '/';
  const parts = path.split('/').filter((part) => part !== '').map((part) => decodeURIComponent(part));
  if (parts.length === 0) return { page: 'overview' };
  if (parts[0] === 'jobs' && parts.length === 2) return { page: 'job', name: parts[1] ?? '' };
  if (parts[0] === 'runs' && parts.length === 2) return { page: 'run', runId: parts[1] ?? '' };
  if (parts[0] === 'email-queue' && parts.length === 1) return { page: 'emails' };
  if (parts[0] === 'instances' && parts.length === 1) return { page: 'instances' };
  if (parts[0] === 'audit' && parts.length === 1) return { page: 'audit' };
  return { page: 'missing', path };
}

export const hrefOf = {
  overview: (): string => '#/',
  job: (name: string): string => `#/jobs/${encodeURIComponent(name)}`,
  run: (runId: string): string => `#/runs/${encodeURIComponent(runId)}`,
  emails: (): string => '#/email-queue',
  instances: (): string => '#/instances',
  audit: (): string => '#/audit',
};
