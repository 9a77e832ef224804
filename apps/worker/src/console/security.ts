/**
 * The console's security primitives: constant-time token comparison, stateless signed
 * sessions and their CSRF tokens, the failed sign-in throttle, and the loopback Host/Origin
 * checks against DNS rebinding.
 */
import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ConsoleRole, ConsoleToken } from './tokens.js';

/**
 * Compares two secrets in time that depends on neither content nor length: both sides are
 * hashed to 32 bytes first, then compared with `timingSafeEqual`.
 */
export function constantTimeEqual(left: string, right: string): boolean {
  const leftDigest = createHash('sha256').update(left, 'utf8').digest();
  const rightDigest = createHash('sha256').update(right, 'utf8').digest();
  return timingSafeEqual(leftDigest, rightDigest);
}

export interface ConsoleSession {
  readonly name: string;
  readonly role: ConsoleRole;
  readonly sessionId: string;
  readonly expiresAtMs: number;
}

/**
 * Token look-up and stateless sessions. The signing key is derived (HKDF) from every
 * configured token with its name and role, so every replica with the same tokens accepts a
 * session, and changing any token signs everyone out.
 */
export class ConsoleAuthenticator {
  private readonly key: Buffer;

  constructor(
    private readonly tokens: readonly ConsoleToken[],
    private readonly sessionTtlMs: number,
  ) {
    if (tokens.length === 0) throw new Error('the console authenticator needs at least one token');
    const material = [...tokens]
      .sort((left, right) => left.name.localeCompare(right.name))
      .map((token) => `${token.name}:${token.role}:${token.token}`)
      .join('\n');
    this.key = Buffer.from(hkdfSync('sha256', material, 'worker-console', 'session-signing-key-v1', 32));
  }

  /** The configured token equal to `presented`; every token is compared (no early exit). */
  findToken(presented: string): ConsoleToken | null {
    let found: ConsoleToken | null = null;
    for (const token of this.tokens) {
      if (constantTimeEqual(token.token, presented)) found = token;
    }
    return found;
  }

  createSession(token: ConsoleToken, nowMs: number): { readonly value: string; readonly session: ConsoleSession } {
    const session: ConsoleSession = {
      name: token.name,
      role: token.role,
      sessionId: randomBytes(16).toString('base64url'),
      expiresAtMs: nowMs + this.sessionTtlMs,
    };
    const payload = Buffer.from(
      JSON.stringify({ n: session.name, r: session.role, s: session.sessionId, e: session.expiresAtMs }),
      'utf8',
    ).toString('base64url');
    return { value: `${payload}.${this.sign(`session.${payload}`)}`, session };
  }

  /** The session a cookie value carries, or null when it is forged, expired or its token is gone. */
  verifySession(value: string, nowMs: number): ConsoleSession | null {
    const [payload, signature, extra] = value.split('.');
    if (payload === undefined || signature === undefined || extra !== undefined) return null;
    if (!constantTimeEqual(this.sign(`session.${payload}`), signature)) return null;
    let fields: Record<string, unknown>;
    try {
      fields = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      return null;
    }
    const { n: name, r: role, s: sessionId, e: expiresAtMs } = fields;
    if (typeof name !== 'string' || typeof sessionId !== 'string' || typeof expiresAtMs !== 'number') return null;
    if (expiresAtMs <= nowMs) return null;
    const token = this.tokens.find((candidate) => candidate.name === name);
    if (token === undefined || token.role !== role) return null;
    return { name, role: token.role, sessionId, expiresAtMs };
  }

  /** The CSRF token of a session: only a page that read it from /api/session can send it. */
  csrfTokenFor(session: ConsoleSession): string {
    return this.sign(`csrf.${session.sessionId}`);
  }

  verifyCsrf(session: ConsoleSession, presented: string | undefined): boolean {
    return presented !== undefined && presented !== '' && constantTimeEqual(this.csrfTokenFor(session), presented);
  }

  private sign(text: string): string {
    return createHmac('sha256', this.key).update(text, 'utf8').digest('base64url');
  }
}

/**
 * Failed sign-ins per client address: the first `freeFailures` cost nothing, then each
 * failure blocks the address for twice as long as the previous one (2 s, 4 s, 8 s ... up to
 * `maxBlockMs`). While blocked, attempts are refused (429 with Retry-After) without
 * checking the token. A success clears the address.
 */
export class SignInThrottle {
  private readonly failures = new Map<string, { count: number; blockedUntilMs: number; lastMs: number }>();

  constructor(
    private readonly options: { readonly freeFailures: number; readonly maxBlockMs: number; readonly maxAddresses: number } = {
      freeFailures: 3,
      maxBlockMs: 5 * 60_000,
      maxAddresses: 10_000,
    },
  ) {}

  /** Seconds to wait, or 0 when the address may try now. */
  retryAfterSeconds(address: string, nowMs: number): number {
    const entry = this.failures.get(address);
    if (entry === undefined || entry.blockedUntilMs <= nowMs) return 0;
    return Math.ceil((entry.blockedUntilMs - nowMs) / 1000);
  }

  /** Records a failure; returns the seconds the address is now blocked for (0: not blocked). */
  recordFailure(address: string, nowMs: number): number {
    this.forgetStale(nowMs);
    const entry = this.failures.get(address) ?? { count: 0, blockedUntilMs: 0, lastMs: nowMs };
    entry.count += 1;
    entry.lastMs = nowMs;
    const over = entry.count - this.options.freeFailures;
    if (over > 0) {
      entry.blockedUntilMs = nowMs + Math.min(2000 * 2 ** (over - 1), this.options.maxBlockMs);
    }
    this.failures.set(address, entry);
    return this.retryAfterSeconds(address, nowMs);
  }

  recordSuccess(address: string): void {
    this.failures.delete(address);
  }

  /** Addresses quiet for longer than the longest block are forgotten; the map stays bounded. */
  private forgetStale(nowMs: number): void {
    for (const [address, entry] of this.failures) {
      if (nowMs - entry.lastMs > this.options.maxBlockMs * 2) this.failures.delete(address);
    }
    while (this.failures.size >= this.options.maxAddresses) {
      const oldest = this.failures.keys().next();
      if (oldest.done === true) break;
      this.failures.delete(oldest.value);
    }
  }
}

const loopbackNames = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Host header `name[:port]` split; null when it is not of that form. */
function splitHost(host: string): { readonly name: string; readonly port: string | null } | null {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/iu.exec(host.trim());
  if (match === null) return null;
  return { name: (match[1] ?? '').toLowerCase(), port: match[2] ?? null };
}

/**
 * Whether a Host header names this server on loopback (a rebinding attacker's name does
 * not). Without a port the Host means port 80 (`defaultPort`).
 */
export function isLoopbackHostHeader(host: string | undefined, port: number, defaultPort = 80): boolean {
  if (host === undefined) return false;
  const parts = splitHost(host);
  if (parts === null || !loopbackNames.has(parts.name)) return false;
  return (parts.port === null ? defaultPort : Number(parts.port)) === port;
}

/** Whether an Origin header is this server on a loopback name (http or https, same port). */
export function isLoopbackOrigin(origin: string, port: number): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (url.pathname !== '/' || url.username !== '' || url.search !== '') return false;
  return isLoopbackHostHeader(url.host, port, url.protocol === 'https:' ? 443 : 80);
}

/** Whether an Origin header is the same host (and port) the request was sent to. */
export function isSameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  return url.host.toLowerCase() === host.trim().toLowerCase();
}
