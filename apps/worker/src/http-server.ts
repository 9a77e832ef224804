/**
 * The worker's HTTP server (fastify): the operator endpoints `/healthz`, `/readyz`, `/jobs`,
 * `/metrics` (unchanged answers), and, when given, the console: the dashboard at `/` and
 * the JSON API under `/api` (`console/console-routes.ts`).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { handleConsoleError, registerConsole, type ConsoleHttpOptions } from './console/console-routes.js';
import { isLoopbackHostHeader, isLoopbackOrigin } from './console/security.js';

export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, boolean>>;
}

export interface HttpStatusSource {
  readiness(): Promise<ReadinessReport>;
  listJobs(): Promise<unknown>;
  handleMetricsRequest(request: IncomingMessage, response: ServerResponse): void;
}

export interface WorkerHttpServer {
  readonly server: Server;
  readonly port: number;
  readonly host: string;
  /** Where the console is served (`http://127.0.0.1:8080/`), or null when it is off. */
  readonly consoleUrl: string | null;
  close(): Promise<void>;
}

export const operatorRoutes = ['/healthz', '/readyz', '/jobs', '/metrics'] as const;

/** Every method fastify routes, less HEAD (answered with GET). */
export const otherMethods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

function sendJson(reply: FastifyReply, statusCode: number, body: unknown): FastifyReply {
  return reply
    .code(statusCode)
    .header('content-type', 'application/json; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(JSON.stringify(body));
}

/** The URL a browser uses for the console: loopback addresses as such, `0.0.0.0`/`::` as 127.0.0.1. */
export function consoleAddress(host: string, port: number): string {
  const bare = host.replace(/^\[(.*)\]$/u, '$1');
  const shown = bare === '0.0.0.0' || bare === '::' || bare === '' ? '127.0.0.1' : bare;
  return `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}/`;
}

export async function startHttpServer(options: {
  readonly host: string;
  readonly port: number;
  readonly source: HttpStatusSource;
  readonly onError?: (error: unknown) => void;
  /** Serve the console (dashboard and /api) too. */
  readonly console?: ConsoleHttpOptions;
}): Promise<WorkerHttpServer> {
  const app: FastifyInstance = fastify({
    logger: false,
    bodyLimit: 16 * 1024,
    forceCloseConnections: true,
    return503OnClosing: true,
  });
  // The listening port is known only after listen() (HTTP_PORT=0); the checks read it then.
  let listeningPort = options.port;
  const loopbackMode = options.console !== undefined && (options.console.tokens?.length ?? 0) === 0;

  if (loopbackMode) {
    // DNS rebinding: a page of another site that resolves its name to 127.0.0.1 sends its own
    // name as Host (and Origin). Only loopback names reach the worker.
    app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      if (!isLoopbackHostHeader(request.headers.host, listeningPort)) {
        return sendJson(reply, 403, {
          error: 'forbidden',
          message: `Host ${JSON.stringify(request.headers.host ?? '')} is not a loopback name: this worker answers only to localhost, 127.0.0.1 or [::1] on port ${listeningPort} (DNS rebinding protection)`,
        });
      }
      const origin = request.headers.origin;
      if (origin !== undefined && !isLoopbackOrigin(origin, listeningPort)) {
        return sendJson(reply, 403, {
          error: 'forbidden',
          message: `Origin ${JSON.stringify(origin)} is not this worker on a loopback name: cross-site requests are refused`,
        });
      }
      return undefined;
    });
  }

  app.setErrorHandler(async (error: unknown, request, reply) => {
    if (options.console !== undefined && !isOperatorRoute(request.url)) {
      return handleConsoleError(error, request, reply, options.onError);
    }
    options.onError?.(error);
    return sendJson(reply, 500, { error: 'internal error' });
  });

  const methodNotAllowed = async (_request: FastifyRequest, reply: FastifyReply) =>
    sendJson(reply, 405, { error: 'method not allowed' });
  app.get('/healthz', async (_request, reply) => sendJson(reply, 200, { status: 'alive' }));
  app.get('/readyz', async (_request, reply) => {
    const report = await options.source.readiness();
    return sendJson(reply, report.ready ? 200 : 503, {
      status: report.ready ? 'ready' : 'not ready',
      checks: report.checks,
    });
  });
  app.get('/jobs', async (_request, reply) => sendJson(reply, 200, { jobs: await options.source.listJobs() }));
  app.get('/metrics', (request, reply) => {
    // The Prometheus exporter writes the raw response itself.
    reply.hijack();
    options.source.handleMetricsRequest(request.raw, reply.raw);
  });
  for (const url of operatorRoutes) {
    app.route({ method: otherMethods.filter((method) => method !== 'GET'), url, handler: methodNotAllowed });
  }

  const routes: string[] = [...operatorRoutes];
  if (options.console !== undefined) {
    await registerConsole(app, options.console);
    routes.push('/', '/api');
  }
  app.setNotFoundHandler(async (request, reply) => {
    if (options.console !== undefined && isConsolePath(request.url)) {
      return sendJson(reply, 404, {
        error: 'not_found',
        message: `no route ${request.method} ${request.url.split('?')[0] ?? ''}; GET /api lists the API routes`,
      });
    }
    return sendJson(reply, 404, { error: 'not found', routes });
  });

  await app.listen({ port: options.port, host: options.host });
  const address = app.server.address() as AddressInfo;
  listeningPort = address.port;
  return {
    server: app.server,
    port: address.port,
    host: options.host,
    consoleUrl: options.console === undefined ? null : consoleAddress(options.host, address.port),
    close: () => app.close(),
  };
}

function pathOf(url: string): string {
  return url.split('?')[0] ?? url;
}

function isOperatorRoute(url: string): boolean {
  return (operatorRoutes as readonly string[]).includes(pathOf(url));
}

function isConsolePath(url: string): boolean {
  const path = pathOf(url);
  return path === '/api' || path.startsWith('/api/');
}
