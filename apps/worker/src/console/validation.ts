/** Input checks of the console API: every refusal names the parameter, the rule and what was sent. */

export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
}

export function badRequest(message: string, details: Readonly<Record<string, unknown>> = {}): ApiError {
  return new ApiError(400, 'bad_request', message, details);
}

export type QueryValues = Readonly<Record<string, string | string[] | undefined>>;

/** Shown values are cut short: a parameter can be long, and it is echoed back. */
function quote(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
}

/** Refuses parameters the route does not know (a typo would otherwise be ignored silently). */
export function rejectUnknownParameters(query: QueryValues, accepted: readonly string[]): void {
  const unknown = Object.keys(query).filter((key) => !accepted.includes(key));
  if (unknown.length > 0) {
    throw badRequest(
      `unknown query parameter${unknown.length === 1 ? '' : 's'} ${unknown.map(quote).join(', ')}; ` +
        (accepted.length === 0 ? 'this route takes none' : `accepted: ${accepted.join(', ')}`),
    );
  }
}

function single(query: QueryValues, name: string): string | undefined {
  const value = query[name];
  if (Array.isArray(value)) throw badRequest(`${name} is given ${value.length} times; give it once`);
  return value;
}

export const maxPageSize = 200;
export const defaultPageSize = 50;

export function parseLimit(query: QueryValues): number {
  const raw = single(query, 'limit');
  if (raw === undefined) return defaultPageSize;
  const value = /^\d{1,6}$/u.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(value) || value < 1 || value > maxPageSize) {
    throw badRequest(`limit must be an integer between 1 and ${maxPageSize}, got ${quote(raw)}`);
  }
  return value;
}

export function parseCursor(query: QueryValues): string | null {
  const raw = single(query, 'cursor');
  if (raw === undefined) return null;
  if (raw === '') throw badRequest('cursor must not be empty: omit it for the first page');
  return raw;
}

/** A comma-separated list of allowed words; empty or absent: `fallback`. */
export function parseList<TWord extends string>(
  query: QueryValues,
  name: string,
  allowed: readonly TWord[],
  fallback: readonly TWord[],
): TWord[] {
  const raw = single(query, name);
  if (raw === undefined || raw.trim() === '') return [...fallback];
  const words = raw.split(',').map((word) => word.trim());
  const bad = words.filter((word) => !(allowed as readonly string[]).includes(word));
  if (bad.length > 0) {
    throw badRequest(`${name} ${bad.map(quote).join(', ')} is not one of ${allowed.join(', ')}`);
  }
  return [...new Set(words as TWord[])];
}

const isoInstantPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/u;

/** An ISO 8601 instant with a time zone (`2026-03-01T12:00:00Z`); null when absent. */
export function parseInstant(raw: string | undefined, name: string): Date | null {
  if (raw === undefined) return null;
  const value = isoInstantPattern.test(raw) ? new Date(raw) : new Date(Number.NaN);
  if (Number.isNaN(value.getTime())) {
    throw badRequest(`${name} must be an ISO 8601 instant with a time zone, e.g. 2026-03-01T12:00:00Z; got ${quote(raw)}`);
  }
  return value;
}

export function parseTimeRange(query: QueryValues): { from: Date | null; to: Date | null } {
  const from = parseInstant(single(query, 'from'), 'from');
  const to = parseInstant(single(query, 'to'), 'to');
  if (from !== null && to !== null && from.getTime() >= to.getTime()) {
    throw badRequest(
      `the time range is empty or inverted: from (${from.toISOString()}) must be before to (${to.toISOString()})`,
    );
  }
  return { from, to };
}

export const maxReasonLength = 500;

/** An action's body: `{}` or `{ "reason": "..." }`; anything else is refused. */
export function parseActionBody(body: unknown): string | null {
  if (body === undefined || body === null) return null;
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('the body must be a JSON object: {} or {"reason": "..."}');
  }
  const fields = body as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((key) => key !== 'reason');
  if (unknown.length > 0) {
    throw badRequest(`unknown body field${unknown.length === 1 ? '' : 's'} ${unknown.map(quote).join(', ')}; accepted: reason`);
  }
  const reason = fields.reason;
  if (reason === undefined || reason === null) return null;
  if (typeof reason !== 'string') throw badRequest('reason must be a string');
  const trimmed = reason.trim();
  if (trimmed.length > maxReasonLength) {
    throw badRequest(`reason must be at most ${maxReasonLength} characters, got ${trimmed.length}`);
  }
  return trimmed === '' ? null : trimmed;
}

export function parseEntryId(raw: string): string {
  if (!/^[0-9a-f]{24}$/iu.test(raw)) {
    throw badRequest(`id must be an email queue entry id (24 hexadecimal digits), got ${quote(raw)}`);
  }
  return raw.toLowerCase();
}
