/** The dashboard's HTTP client: JSON in and out, the CSRF header on actions, typed failures. */
import type { ApiErrorBody } from '../console/api-types.js';

/** An answer of the API that is not 2xx, with its `{ error, message }`. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The worker did not answer (stopped, restarting, network down). */
export class Unreachable extends Error {}

let csrfToken: string | null = null;
let reachabilityListener: (reachable: boolean) => void = () => undefined;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export function onReachabilityChange(listener: (reachable: boolean) => void): void {
  reachabilityListener = listener;
}

async function request<TBody>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<TBody> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: {
        accept: 'application/json',
        ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
        ...(method === 'POST' && csrfToken !== null ? { 'x-csrf-token': csrfToken } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    reachabilityListener(false);
    throw new Unreachable('the worker is unreachable');
  }
  reachabilityListener(true);
  if (response.status === 401) {
    // Signed out (expired session, tokens changed): back to the sign-in page.
    window.location.assign('/sign-in');
  }
  const text = await response.text();
  const parsed = parseJson(text);
  if (!response.ok) {
    const failure = (parsed ?? {}) as Partial<ApiErrorBody>;
    throw new ApiFailure(
      response.status,
      typeof failure.error === 'string' ? failure.error : 'error',
      typeof failure.message === 'string' ? failure.message : `HTTP ${response.status}`,
    );
  }
  return parsed as TBody;
}

function parseJson(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

export const apiGet = <TBody>(path: string): Promise<TBody> => request<TBody>('GET', path);
export const apiPost = <TBody>(path: string, body: unknown = {}): Promise<TBody> => request<TBody>('POST', path, body);

/** `?a=1&b=x` from the defined values. */
export function queryString(values: Readonly<Record<string, string | number | null | undefined>>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) {
    if (value !== null && value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}
