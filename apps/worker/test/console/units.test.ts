/** The console's pure parts: constant-time compare, tokens, sessions, throttle, Host/Origin checks, config, cursors, stats. */
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../src/config/load.js';
import { redactConfiguration } from '../../src/config/redact.js';
import { formatEnvironmentReference } from '../../src/config/reference.js';
import { findConsoleExposureProblems, loadWorkerConfiguration, settingsSections } from '../../src/config/worker-config.js';
import { CursorError, decodeCursor, encodeCursor } from '../../src/console/cursor.js';
import {
  ConsoleAuthenticator,
  constantTimeEqual,
  isLoopbackHostHeader,
  isLoopbackOrigin,
  isSameOrigin,
  SignInThrottle,
} from '../../src/console/security.js';
import { computeJobStats, percentile } from '../../src/console/stats.js';
import { isLoopbackHost, parseConsoleTokens, type ConsoleToken } from '../../src/console/tokens.js';
import { ApiError, parseActionBody, parseLimit, parseList, parseTimeRange } from '../../src/console/validation.js';
import { consoleAddress } from '../../src/http-server.js';
import { containing, partial } from './support.js';

const tokenA = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const tokenB = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const alice: ConsoleToken = { name: 'alice', role: 'operator', token: tokenA };
const victor: ConsoleToken = { name: 'victor', role: 'viewer', token: tokenB };

describe('constantTimeEqual', () => {
  it('is true for equal strings only, whatever their lengths', () => {
    expect(constantTimeEqual(tokenA, tokenA)).toBe(true);
    expect(constantTimeEqual(tokenA, `${tokenA}a`)).toBe(false);
    expect(constantTimeEqual(tokenA, tokenA.slice(0, -1))).toBe(false);
    expect(constantTimeEqual(tokenA, tokenB)).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
    expect(constantTimeEqual('', tokenA)).toBe(false);
    expect(constantTimeEqual('é', 'e')).toBe(false);
  });
});

describe('console tokens', () => {
  it('parses name:role:token lines, comma lists, comments and tokens with colons', () => {
    expect(parseConsoleTokens(`# ops\nalice:operator:${tokenA}\n\nvictor : viewer : ${tokenB}`)).toEqual({ tokens: [alice, victor], problems: [] });
    expect(parseConsoleTokens(`alice:operator:${tokenA},victor:viewer:${tokenB}`).tokens).toHaveLength(2);
    expect(parseConsoleTokens(`ci:operator:${tokenA}:with:colons`).tokens[0]?.token).toBe(`${tokenA}:with:colons`);
  });

  it('names every bad entry by position and name, never by its token', () => {
    const { problems } = parseConsoleTokens(
      [`alice:operator:${tokenA}`, `alice:viewer:${tokenB}`, 'bob:admin:cccccccccccccccccccccccccccccc', 'carol:viewer:short-secret', `dave:viewer:${tokenA}`, 'a-bare-token-pasted-alone-xxxxxxxx', `:viewer:${tokenB}`].join('\n'),
    );
    expect(problems).toEqual([
      'entry 2 ("alice"): the name "alice" is used twice; names must be unique',
      'entry 3 ("bob"): the role must be viewer or operator',
      'entry 4 ("carol"): the token must be at least 24 characters',
      'entry 5 ("dave"): the same token is given to two names; every token must be unique',
      'entry 6 is not of the form name:role:token',
      'entry 7: the name must be 1-64 letters, digits, _ . @ or - (starting with a letter or digit)',
    ]);
    expect(problems.join('\n')).not.toMatch(/short-secret|a-bare-token|aaaa|bbbb|cccc/u);
    expect(parseConsoleTokens('# nothing\n').problems).toEqual(['no token is given (expected name:role:token entries)']);
  });

  it('loads CONSOLE_TOKENS (or its _FILE) into the configuration; bad tokens fail naming the key, not the value', () => {
    const base = { ADMIN_ENABLED: 'false', JOBS_EMAIL_QUEUE_ENABLED: 'false' };
    const configuration = loadWorkerConfiguration({ environment: { ...base, CONSOLE_TOKENS: `alice:operator:${tokenA}`, CONSOLE_SESSION_TTL_MINUTES: '60' } });
    expect(configuration.console).toEqual({ enabled: true, tokens: [alice], secureCookies: false, sessionTtlMinutes: 60 });
    let error: unknown;
    try {
      loadWorkerConfiguration({ environment: { ...base, CONSOLE_TOKENS: 'carol:viewer:short-secret', CONSOLE_SESSION_TTL_MINUTES: '1' } });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    const message = (error as Error).message;
    expect(message).toContain('CONSOLE_TOKENS (console.tokens): entry 1 ("carol"): the token must be at least 24 characters');
    expect(message).toContain('CONSOLE_SESSION_TTL_MINUTES (console.sessionTtlMinutes): must be >= 5');
    expect(message).not.toContain('short-secret');
  });

  it('hides the tokens in `worker config` and lists the console keys in the reference', () => {
    const configuration = loadWorkerConfiguration({ environment: { ADMIN_ENABLED: 'false', JOBS_EMAIL_QUEUE_ENABLED: 'false', CONSOLE_TOKENS: `alice:operator:${tokenA}` } });
    const printed = JSON.stringify(redactConfiguration(configuration));
    expect(printed).toContain('"tokens":"***"');
    expect(printed).not.toContain(tokenA);
    const reference = formatEnvironmentReference(settingsSections);
    for (const key of ['CONSOLE_ENABLED', 'CONSOLE_TOKENS', 'CONSOLE_SECURE_COOKIES', 'CONSOLE_SESSION_TTL_MINUTES', 'JOBS_LOG_CLEANUP_AUDIT_RETENTION_DAYS']) {
      expect(reference).toContain(`| \`${key}\` |`);
    }
  });

  it('refuses a console open to the network: a non-loopback HTTP_HOST needs tokens or CONSOLE_ENABLED=false', () => {
    const load = (environment: Record<string, string>) =>
      loadWorkerConfiguration({ environment: { ADMIN_ENABLED: 'false', JOBS_EMAIL_QUEUE_ENABLED: 'false', ...environment } });
    expect(findConsoleExposureProblems(load({ HTTP_HOST: '0.0.0.0' }))).toEqual([
      partial({ key: 'CONSOLE_TOKENS', message: containing('HTTP_HOST (0.0.0.0) is not a loopback address') }),
    ]);
    expect(findConsoleExposureProblems(load({ HTTP_HOST: '0.0.0.0', CONSOLE_ENABLED: 'false' }))).toEqual([]);
    expect(findConsoleExposureProblems(load({ HTTP_HOST: '0.0.0.0', CONSOLE_TOKENS: `alice:operator:${tokenA}` }))).toEqual([]);
    for (const host of ['127.0.0.1', 'localhost', '::1', '[::1]', '127.1.2.3']) expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'worker.internal', '128.0.0.1']) expect(isLoopbackHost(host)).toBe(false);
    expect(consoleAddress('0.0.0.0', 8080)).toBe('http://127.0.0.1:8080/');
    expect(consoleAddress('::1', 9000)).toBe('http://[::1]:9000/');
  });
});

describe('sessions and CSRF tokens', () => {
  const now = Date.parse('2026-03-01T12:00:00Z');
  const authenticator = new ConsoleAuthenticator([alice, victor], 60_000);

  it('finds the token presented, or none', () => {
    expect(authenticator.findToken(tokenB)).toEqual(victor);
    expect(authenticator.findToken(`${tokenA} `)).toBeNull();
    expect(authenticator.findToken('')).toBeNull();
  });

  it('accepts its own session until it expires; refuses tampered ones and ones of other keys', () => {
    const { value, session } = authenticator.createSession(victor, now);
    expect(value).not.toContain(tokenB);
    expect(authenticator.verifySession(value, now + 59_999)).toEqual(session);
    expect(authenticator.verifySession(value, now + 60_000)).toBeNull();
    const [payload, signature] = value.split('.');
    const promoted = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()), r: 'operator' })).toString('base64url');
    expect(authenticator.verifySession(`${promoted}.${signature ?? ''}`, now)).toBeNull();
    expect(authenticator.verifySession(`${payload ?? ''}.x`, now)).toBeNull();
    expect(authenticator.verifySession('garbage', now)).toBeNull();
    // Every replica with the same tokens accepts it; changing a token signs everyone out.
    expect(new ConsoleAuthenticator([victor, alice], 60_000).verifySession(value, now)).toEqual(session);
    expect(new ConsoleAuthenticator([alice, { ...victor, token: `${tokenB}c` }], 60_000).verifySession(value, now)).toBeNull();
    expect(new ConsoleAuthenticator([alice, { ...victor, role: 'operator' }], 60_000).verifySession(value, now)).toBeNull();
  });

  it('binds the CSRF token to the session', () => {
    const first = authenticator.createSession(alice, now).session;
    const second = authenticator.createSession(alice, now).session;
    const csrf = authenticator.csrfTokenFor(first);
    expect(authenticator.verifyCsrf(first, csrf)).toBe(true);
    expect(authenticator.verifyCsrf(second, csrf)).toBe(false);
    expect(authenticator.verifyCsrf(first, undefined)).toBe(false);
    expect(authenticator.verifyCsrf(first, '')).toBe(false);
  });
});

describe('SignInThrottle', () => {
  it('lets three failures pass, then blocks for 2, 4, 8 ... s up to the cap; a success clears the address', () => {
    const throttle = new SignInThrottle({ freeFailures: 3, maxBlockMs: 10_000, maxAddresses: 100 });
    let now = 1_000_000;
    for (let failure = 1; failure <= 3; failure += 1) expect(throttle.recordFailure('10.0.0.1', now)).toBe(0);
    expect(throttle.recordFailure('10.0.0.1', now)).toBe(2);
    expect(throttle.retryAfterSeconds('10.0.0.1', now + 1500)).toBe(1);
    expect(throttle.retryAfterSeconds('10.0.0.2', now)).toBe(0);
    now += 2000;
    expect(throttle.retryAfterSeconds('10.0.0.1', now)).toBe(0);
    expect(throttle.recordFailure('10.0.0.1', now)).toBe(4);
    now += 4000;
    expect(throttle.recordFailure('10.0.0.1', now)).toBe(8);
    now += 8000;
    expect(throttle.recordFailure('10.0.0.1', now)).toBe(10);
    throttle.recordSuccess('10.0.0.1');
    expect(throttle.retryAfterSeconds('10.0.0.1', now)).toBe(0);
    expect(throttle.recordFailure('10.0.0.1', now)).toBe(0);
  });

  it('keeps a bounded number of addresses', () => {
    const throttle = new SignInThrottle({ freeFailures: 0, maxBlockMs: 60_000, maxAddresses: 3 });
    for (let index = 0; index < 10; index += 1) throttle.recordFailure(`10.0.0.${index}`, 1000);
    expect(throttle.retryAfterSeconds('10.0.0.0', 1000)).toBe(0);
    expect(throttle.retryAfterSeconds('10.0.0.9', 1000)).toBe(2);
  });
});

describe('Host and Origin checks', () => {
  it('accepts loopback names on the server port only', () => {
    for (const host of ['localhost:8080', '127.0.0.1:8080', '[::1]:8080', 'LOCALHOST:8080']) expect(isLoopbackHostHeader(host, 8080)).toBe(true);
    for (const host of ['evil.example:8080', '127.0.0.1:8081', '127.0.0.1', 'localhost.evil.example:8080', '127.0.0.1.nip.io:8080', undefined]) {
      expect(isLoopbackHostHeader(host, 8080)).toBe(false);
    }
    expect(isLoopbackHostHeader('localhost', 80)).toBe(true);
    expect(isLoopbackOrigin('http://localhost:8080', 8080)).toBe(true);
    expect(isLoopbackOrigin('https://127.0.0.1:8080', 8080)).toBe(true);
    for (const origin of ['null', 'http://localhost', 'http://evil.example:8080', 'file:///x', 'http://user@localhost:8080']) expect(isLoopbackOrigin(origin, 8080)).toBe(false);
    expect(isSameOrigin('https://jobs.example.com', 'jobs.example.com')).toBe(true);
    expect(isSameOrigin('https://jobs.example.com:8443', 'jobs.example.com')).toBe(false);
    expect(isSameOrigin('null', 'jobs.example.com')).toBe(false);
  });
});

describe('cursors, stats, schedules and parameters', () => {
  it('round-trips a cursor and refuses anything else', () => {
    const cursor = encodeCursor('runs', { at: 1234, id: 'abc' });
    expect(decodeCursor('runs', cursor)).toEqual({ at: 1234, id: 'abc' });
    expect(() => decodeCursor('audit', cursor)).toThrow(CursorError);
    for (const bad of ['!!', 'e30', Buffer.from('[1]').toString('base64url'), 'x'.repeat(600)]) expect(() => decodeCursor('runs', bad)).toThrow(/cursor is malformed/u);
  });

  it('computes nearest-rank percentiles and the success rate', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([5], 95)).toBe(5);
    expect(() => percentile([], 50)).toThrow(RangeError);
    expect(computeJobStats([])).toMatchObject({ runs: 0, successRate: null, durationMs: null });
    expect(computeJobStats([{ status: 'succeeded', durationMs: 10 }, { status: 'failed', durationMs: 30 }, { status: 'abandoned', durationMs: null }])).toMatchObject({
      runs: 3,
      succeeded: 1,
      failed: 1,
      durationMs: { p50: 10, p95: 30 },
    });
  });

  it('validates paging, lists, ranges and action bodies with messages naming the problem', () => {
    expect(parseLimit({})).toBe(50);
    expect(parseLimit({ limit: '200' })).toBe(200);
    expect(() => parseLimit({ limit: '1.5' })).toThrow('limit must be an integer between 1 and 200, got "1.5"');
    expect(() => parseLimit({ limit: '-1' })).toThrow(ApiError);
    expect(parseList({ status: 'failed, succeeded,failed' }, 'status', ['failed', 'succeeded'], [])).toEqual(['failed', 'succeeded']);
    expect(parseTimeRange({ from: '2026-01-01T00:00:00+01:00' }).from?.toISOString()).toBe('2025-12-31T23:00:00.000Z');
    expect(() => parseTimeRange({ from: '2026-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' })).toThrow(/empty or inverted/u);
    expect(parseActionBody({})).toBeNull();
    expect(parseActionBody({ reason: '  because  ' })).toBe('because');
    expect(() => parseActionBody('text')).toThrow(/JSON object/u);
    expect(() => parseActionBody({ reason: 3 })).toThrow('reason must be a string');
  });
});
