/**
 * The console on the worker's fastify server: the dashboard (`/`, `/assets/*`), sign-in
 * (token mode) and the JSON API under `/api`, all reading and acting through one
 * {@link ConsoleBackend}.
 *
 * Security model: without tokens (loopback mode, the HTTP server checks Host and Origin)
 * every caller on the machine is an operator. With tokens every console and API request
 * needs a signed session cookie or `Authorization: Bearer <token>`; viewers read,
 * operators also act; cookie-authenticated actions need the session's CSRF token; a
 * foreign Origin is refused. Actions always need `Content-Type: application/json`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  runStatuses,
  type Actor,
  type ProblemEmailStatus,
  type SessionView,
} from './api-types.js';
import { ConsoleBackendError, type ConsoleBackend } from './console-backend.js';
import { ConsoleAuthenticator, isSameOrigin, SignInThrottle, type ConsoleSession } from './security.js';
import { renderSignInPage } from './sign-in-page.js';
import type { ConsoleToken } from './tokens.js';
import {
  ApiError,
  badRequest,
  parseActionBody,
  parseCursor,
  parseEntryId,
  parseInstant,
  parseLimit,
  parseList,
  parseTimeRange,
  rejectUnknownParameters,
  type QueryValues,
} from './validation.js';

/** Where the console reports sign-ins and actions (a pino logger fits). Never given a token. */
export interface ConsoleEventLog {
  info(fields: Readonly<Record<string, unknown>>, message: string): void;
  warn(fields: Readonly<Record<string, unknown>>, message: string): void;
}

export interface ConsoleHttpOptions {
  readonly backend: ConsoleBackend;
  /** None: loopback mode (no sign-in; the server must listen on loopback only). */
  readonly tokens?: readonly ConsoleToken[] | undefined;
  readonly secureCookies?: boolean;
  readonly sessionTtlMs?: number;
  /** The built dashboard (`dist/web`): `index.html` and `assets/`. */
  readonly webRoot: string;
  readonly version: string;
  readonly events?: ConsoleEventLog;
  readonly now?: () => number;
}

interface Identity {
  readonly actor: Actor;
  readonly session: ConsoleSession | null;
}

const signInBodyLimit = 4 * 1024;

function sendJson(reply: FastifyReply, statusCode: number, body: unknown): FastifyReply {
  return reply
    .code(statusCode)
    .header('content-type', 'application/json; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(JSON.stringify(body));
}

function sendError(
  reply: FastifyReply,
  statusCode: number,
  error: string,
  message: string,
  details: Readonly<Record<string, unknown>> = {},
): FastifyReply {
  return sendJson(reply, statusCode, { error, message, ...details });
}

function pathOf(url: string): string {
  return url.split('?')[0] ?? url;
}

function isApiPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/');
}

const backendStatus = { not_found: 404, conflict: 409, bad_request: 400, unavailable: 503 } as const;

function hasCode(error: unknown): error is { code: string; statusCode?: number; message: string } {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string';
}

/** Console and API errors as `{ error, message }`; anything unexpected is a 500 (and reported). */
export async function handleConsoleError(
  error: unknown,
  _request: FastifyRequest,
  reply: FastifyReply,
  onError: ((error: unknown) => void) | undefined,
): Promise<FastifyReply> {
  if (error instanceof ApiError) return sendError(reply, error.statusCode, error.code, error.message, error.details);
  if (error instanceof ConsoleBackendError) return sendError(reply, backendStatus[error.code], error.code, error.message);
  if (hasCode(error)) {
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendError(reply, 413, 'payload_too_large', 'the request body is too large: actions take at most 16 KiB, sign-in 4 KiB');
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendError(reply, 415, 'unsupported_media_type', 'unsupported Content-Type: send application/json');
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return sendError(reply, 400, 'bad_request', 'the Content-Length does not match the body');
      default:
        if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
          return sendError(reply, error.statusCode, 'bad_request', error.message);
        }
    }
  }
  onError?.(error);
  return sendError(reply, 500, 'internal', 'internal error; the worker log has the details');
}

/** The API's routes, for `GET /api` and the 405 answers. */
const apiRoutes = [
  ['GET', '/api/session'],
  ['POST', '/api/sign-out'],
  ['GET', '/api/jobs'],
  ['GET', '/api/jobs/:name'],
  ['GET', '/api/jobs/:name/runs'],
  ['POST', '/api/jobs/:name/trigger'],
  ['POST', '/api/jobs/:name/pause'],
  ['POST', '/api/jobs/:name/resume'],
  ['POST', '/api/jobs/:name/occurrences/:occurrenceAt/rerun'],
  ['GET', '/api/runs/:runId'],
  ['GET', '/api/audit'],
  ['GET', '/api/email-queue'],
  ['GET', '/api/email-queue/entries'],
  ['POST', '/api/email-queue/entries/:id/requeue'],
  ['GET', '/api/instances'],
] as const;

type Params = Readonly<Record<string, string>>;

export async function registerConsole(app: FastifyInstance, options: ConsoleHttpOptions): Promise<void> {
  const tokens = options.tokens ?? [];
  const mode: SessionView['mode'] = tokens.length > 0 ? 'token' : 'loopback';
  const authenticator =
    mode === 'token' ? new ConsoleAuthenticator(tokens, options.sessionTtlMs ?? 8 * 3_600_000) : null;
  const throttle = new SignInThrottle();
  const secureCookies = options.secureCookies === true;
  // `__Host-` cookies are bound to this host and path by the browser (they require Secure).
  const cookieName = secureCookies ? '__Host-console_session' : 'console_session';
  const now = options.now ?? (() => Date.now());
  const identities = new WeakMap<FastifyRequest, Identity>();
  const { backend } = options;
  const indexFile = join(options.webRoot, 'index.html');
  const indexHtml = existsSync(indexFile) ? readFileSync(indexFile, 'utf8') : null;

  await app.register(fastifyCookie);
  await app.register(fastifyFormbody, { bodyLimit: signInBodyLimit });
  // Actions may be sent with an empty body; `{}` is the same.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, {});
      return;
    }
    try {
      done(null, JSON.parse(text) as unknown);
    } catch {
      done(badRequest('the body is not valid JSON'), undefined);
    }
  });

  const identify = (request: FastifyRequest): Identity | ApiError => {
    const address = request.ip;
    if (authenticator === null) {
      return { actor: { name: 'local', role: 'operator', via: 'loopback', address }, session: null };
    }
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const retryAfter = throttle.retryAfterSeconds(address, now());
      if (retryAfter > 0) {
        return new ApiError(429, 'too_many_requests', `too many failed sign-ins from ${address}: try again in ${retryAfter} s`, { retryAfterSeconds: retryAfter });
      }
      const match = /^Bearer ([^\s]+)$/u.exec(authorization);
      const token = match?.[1] === undefined ? null : authenticator.findToken(match[1]);
      if (token === null) {
        const blockedFor = throttle.recordFailure(address, now());
        options.events?.warn({ address, blockedForSeconds: blockedFor }, 'console: bearer token refused');
        return new ApiError(401, 'unauthorized', 'the bearer token is not valid');
      }
      throttle.recordSuccess(address);
      return { actor: { name: token.name, role: token.role, via: 'bearer', address }, session: null };
    }
    const cookie = request.cookies[cookieName];
    const session = cookie === undefined ? null : authenticator.verifySession(cookie, now());
    if (session === null) {
      return new ApiError(
        401,
        'unauthorized',
        cookie === undefined
          ? 'sign in first (POST /sign-in) or send Authorization: Bearer <token>'
          : 'the session has expired or is no longer valid: sign in again',
      );
    }
    return { actor: { name: session.name, role: session.role, via: 'session', address }, session };
  };

  await app.register(async (scope) => {
    await scope.register(fastifyHelmet, {
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'none'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          connectSrc: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          baseUri: ["'none'"],
        },
      },
      strictTransportSecurity: secureCookies,
      // `no-referrer` would make the browser send `Origin: null` on the sign-in form's POST.
      referrerPolicy: { policy: 'same-origin' },
      crossOriginEmbedderPolicy: false,
    });

    scope.addHook('onRequest', async (request, reply) => {
      const path = pathOf(request.url);
      const origin = request.headers.origin;
      // Token mode: a page of another origin may neither read nor act (loopback mode checks
      // Origin for every request in the HTTP server).
      if (mode === 'token' && origin !== undefined && !isSameOrigin(origin, request.headers.host)) {
        return sendError(reply, 403, 'forbidden', `Origin ${JSON.stringify(origin)} is not this console's origin: cross-site requests are refused`);
      }
      if (path.startsWith('/assets/') || path === '/sign-in') return undefined;
      const identity = identify(request);
      if (identity instanceof ApiError) {
        if (!isApiPath(path) && request.method === 'GET' && identity.statusCode === 401) {
          return reply.redirect('/sign-in', 302);
        }
        if (identity.statusCode === 429) reply.header('retry-after', String(identity.details.retryAfterSeconds));
        if (identity.statusCode === 401) reply.header('www-authenticate', 'Bearer realm="worker console"');
        return sendError(reply, identity.statusCode, identity.code, identity.message);
      }
      identities.set(request, identity);
      const routeUrl = request.routeOptions.url;
      if (request.method === 'POST' && apiRoutes.some(([method, url]) => method === 'POST' && url === routeUrl)) {
        if (path !== '/api/sign-out' && identity.actor.role !== 'operator') {
          return sendError(reply, 403, 'forbidden', `"${identity.actor.name}" has the viewer role: it can read, not act (actions need the operator role)`);
        }
        if (identity.session !== null && authenticator !== null) {
          const presented = request.headers['x-csrf-token'];
          if (!authenticator.verifyCsrf(identity.session, typeof presented === 'string' ? presented : undefined)) {
            return sendError(reply, 403, 'forbidden', 'missing or wrong CSRF token: send the csrfToken of GET /api/session as X-CSRF-Token');
          }
        }
        const contentType = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
        if (contentType !== 'application/json') {
          return sendError(
            reply,
            415,
            'unsupported_media_type',
            `actions take Content-Type: application/json, got ${contentType === '' ? 'none' : JSON.stringify(contentType)}`,
          );
        }
      }
      return undefined;
    });

    const identityOf = (request: FastifyRequest): Identity => {
      const identity = identities.get(request);
      if (identity === undefined) throw new Error('console request without identity');
      return identity;
    };
    const query = (request: FastifyRequest): QueryValues => request.query as QueryValues;
    const params = (request: FastifyRequest): Params => request.params as Params;
    const knownJob = async (name: string): Promise<void> => {
      const names = await backend.jobNames();
      if (!names.includes(name)) {
        throw new ApiError(404, 'not_found', `unknown job "${name}": known jobs are ${names.join(', ')}`, { knownJobs: names });
      }
    };
    const logAction = (identity: Identity, action: string, target: string, outcome: string): void => {
      options.events?.info({ action, target, actor: identity.actor.name, role: identity.actor.role, via: identity.actor.via, outcome }, 'console action');
    };

    // Dashboard and sign-in.
    const serveIndex = async (_request: FastifyRequest, reply: FastifyReply) => {
      if (indexHtml === null) {
        return reply.code(503).type('text/plain; charset=utf-8').send('the dashboard is not built (run the worker build: tsup)');
      }
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(indexHtml);
    };
    scope.get('/', serveIndex);
    if (existsSync(join(options.webRoot, 'assets'))) {
      await scope.register(fastifyStatic, {
        root: join(options.webRoot, 'assets'),
        prefix: '/assets/',
        index: false,
        cacheControl: true,
        maxAge: 0,
      });
    }
    scope.get('/sign-in', async (_request, reply) => {
      if (mode === 'loopback') return reply.redirect('/', 302);
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(renderSignInPage({ version: options.version }));
    });
    scope.post('/sign-in', { bodyLimit: signInBodyLimit }, async (request, reply) => {
      const wantsJson = (request.headers['content-type'] ?? '').startsWith('application/json');
      const answer = (statusCode: number, error: string, message: string) =>
        wantsJson
          ? sendError(reply, statusCode, error, message)
          : reply.code(statusCode).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(renderSignInPage({ message, version: options.version }));
      if (authenticator === null) return answer(404, 'not_found', 'sign-in is not used: this worker listens on loopback only');
      const address = request.ip;
      const retryAfter = throttle.retryAfterSeconds(address, now());
      if (retryAfter > 0) {
        reply.header('retry-after', String(retryAfter));
        return answer(429, 'too_many_requests', `Too many failed sign-ins from your address: try again in ${retryAfter} s.`);
      }
      const body = request.body;
      const presented =
        typeof body === 'object' && body !== null && 'token' in body && typeof body.token === 'string' ? body.token.trim() : '';
      const token = presented === '' ? null : authenticator.findToken(presented);
      if (token === null) {
        const blockedFor = throttle.recordFailure(address, now());
        options.events?.warn({ address, blockedForSeconds: blockedFor }, 'console: sign-in refused');
        if (blockedFor > 0) reply.header('retry-after', String(blockedFor));
        return answer(401, 'unauthorized', 'That token is not valid.');
      }
      throttle.recordSuccess(address);
      const issuedAtMs = now();
      const { value, session } = authenticator.createSession(token, issuedAtMs);
      reply.setCookie(cookieName, value, {
        httpOnly: true,
        sameSite: 'strict',
        secure: secureCookies,
        path: '/',
        maxAge: Math.round((session.expiresAtMs - issuedAtMs) / 1000),
      });
      options.events?.info({ tokenName: token.name, role: token.role, address }, 'console: signed in');
      if (wantsJson) return sendJson(reply, 200, { name: token.name, role: token.role, expiresAt: new Date(session.expiresAtMs).toISOString() });
      return reply.redirect('/', 303);
    });

    // API.
    scope.get('/api', async (_request, reply) =>
      sendJson(reply, 200, { routes: apiRoutes.map(([method, url]) => `${method} ${url}`) }),
    );
    scope.get('/api/session', async (request, reply) => {
      rejectUnknownParameters(query(request), []);
      const identity = identityOf(request);
      const view: SessionView = {
        mode,
        actor: identity.actor,
        csrfToken: identity.session === null || authenticator === null ? null : authenticator.csrfTokenFor(identity.session),
        canAct: identity.actor.role === 'operator',
        version: options.version,
      };
      return sendJson(reply, 200, view);
    });
    scope.post('/api/sign-out', async (_request, reply) => {
      reply.clearCookie(cookieName, { path: '/', httpOnly: true, sameSite: 'strict', secure: secureCookies });
      return sendJson(reply, 200, { signedOut: true });
    });
    scope.get('/api/jobs', async (request, reply) => {
      rejectUnknownParameters(query(request), []);
      return sendJson(reply, 200, { jobs: await backend.listJobs() });
    });
    scope.get('/api/jobs/:name', async (request, reply) => {
      rejectUnknownParameters(query(request), []);
      const name = params(request).name ?? '';
      await knownJob(name);
      const job = await backend.getJob(name);
      if (job === null) throw new ApiError(404, 'not_found', `unknown job "${name}"`);
      return sendJson(reply, 200, job);
    });
    scope.get('/api/jobs/:name/runs', async (request, reply) => {
      const values = query(request);
      rejectUnknownParameters(values, ['status', 'from', 'to', 'limit', 'cursor']);
      const name = params(request).name ?? '';
      await knownJob(name);
      const statuses = parseList(values, 'status', runStatuses, []);
      const { from, to } = parseTimeRange(values);
      const page = await backend.listRuns({
        jobName: name,
        statuses,
        from: from?.toISOString() ?? null,
        to: to?.toISOString() ?? null,
        limit: parseLimit(values),
        cursor: parseCursor(values),
      });
      return sendJson(reply, 200, page);
    });
    scope.get('/api/runs/:runId', async (request, reply) => {
      rejectUnknownParameters(query(request), []);
      const runId = params(request).runId ?? '';
      const run = await backend.getRun(runId);
      if (run === null) throw new ApiError(404, 'not_found', `no run "${runId.slice(0, 60)}"`);
      return sendJson(reply, 200, run);
    });
    for (const action of ['trigger', 'pause', 'resume'] as const) {
      scope.post(`/api/jobs/:name/${action}`, async (request, reply) => {
        rejectUnknownParameters(query(request), []);
        const name = params(request).name ?? '';
        await knownJob(name);
        const reason = parseActionBody(request.body);
        const identity = identityOf(request);
        const result = await backend[action](name, identity.actor, reason);
        logAction(identity, action, name, 'succeeded');
        return sendJson(reply, 200, result);
      });
    }
    scope.post('/api/jobs/:name/occurrences/:occurrenceAt/rerun', async (request, reply) => {
      rejectUnknownParameters(query(request), []);
      const { name = '', occurrenceAt = '' } = params(request);
      await knownJob(name);
      const occurrence = parseInstant(occurrenceAt, 'occurrenceAt');
      if (occurrence === null) throw badRequest('occurrenceAt is required');
      const reason = parseActionBody(request.body);
      const identity = identityOf(request);
      const result = await backend.rerun(name, occurrence, identity.actor, reason);
      logAction(identity, 'rerun', name, 'succeeded');
      return sendJson(reply, 200, result);
    });
    scope.get('/api/audit', async (request, reply) => {
      const values = query(request);
      rejectUnknownParameters(values, ['limit', 'cursor']);
      return sendJson(reply, 200, await backend.listAudit({ limit: parseLimit(values), cursor: parseCursor(values) }));
    });
    scope.get('/api/email-queue', async (request, reply) => {
      rejectUnknownParameters(query(request), []);
      return sendJson(reply, 200, await backend.emailQueueSummary());
    });
    scope.get('/api/email-queue/entries', async (request, reply) => {
      const values = query(request);
      rejectUnknownParameters(values, ['status', 'limit', 'cursor']);
      const problemStatuses: readonly ProblemEmailStatus[] = ['dead', 'failed'];
      const statuses = parseList(values, 'status', problemStatuses, problemStatuses);
      return sendJson(
        reply,
        200,
        await backend.listEmails({ statuses, limit: parseLimit(values), cursor: parseCursor(values) }),
      );
    });
    scope.post('/api/email-queue/entries/:id/requeue', async (request, reply) => {
      rejectUnknownParameters(query(request), []);
      const id = parseEntryId(params(request).id ?? '');
      const reason = parseActionBody(request.body);
      const identity = identityOf(request);
      const result = await backend.requeueEmail(id, identity.actor, reason);
      logAction(identity, 'requeue-email', id, 'succeeded');
      return sendJson(reply, 200, result);
    });
    scope.get('/api/instances', async (request, reply) => {
      rejectUnknownParameters(query(request), []);
      return sendJson(reply, 200, { instances: await backend.listInstances() });
    });

    // Another method on a known route: 405, naming the one it takes.
    const byUrl = new Map<string, string[]>();
    for (const [method, url] of apiRoutes) byUrl.set(url, [...(byUrl.get(url) ?? []), method]);
    byUrl.set('/', ['GET']);
    byUrl.set('/api', ['GET']);
    byUrl.set('/sign-in', ['GET', 'POST']);
    for (const [url, methods] of byUrl) {
      scope.route({
        method: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'].filter((method) => !methods.includes(method)),
        url,
        handler: async (request, reply) =>
          sendError(reply, 405, 'method_not_allowed', `${request.method} is not allowed on ${url}; use ${methods.join(' or ')}`, { allowed: methods }),
      });
    }
  });
}
