/**
 * The operator HTTP endpoints on Node's `http` module (four routes need no framework):
 * `/healthz` (alive), `/readyz` (database reachable and scheduler running, else 503),
 * `/jobs` (the `jobs list` data as JSON), `/metrics` (Prometheus text format).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

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
  close(): Promise<void>;
}

function sendJson(response: ServerResponse, statusCode: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(statusCode, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  response.end(text);
}

async function route(
  source: HttpStatusSource,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    sendJson(response, 405, { error: 'method not allowed' });
    return;
  }
  switch (path) {
    case '/healthz':
      sendJson(response, 200, { status: 'alive' });
      return;
    case '/readyz': {
      const report = await source.readiness();
      sendJson(response, report.ready ? 200 : 503, {
        status: report.ready ? 'ready' : 'not ready',
        checks: report.checks,
      });
      return;
    }
    case '/jobs':
      sendJson(response, 200, { jobs: await source.listJobs() });
      return;
    case '/metrics':
      source.handleMetricsRequest(request, response);
      return;
    default:
      sendJson(response, 404, { error: 'not found', routes: ['/healthz', '/readyz', '/jobs', '/metrics'] });
  }
}

export async function startHttpServer(options: {
  readonly host: string;
  readonly port: number;
  readonly source: HttpStatusSource;
  readonly onError?: (error: unknown) => void;
}): Promise<WorkerHttpServer> {
  const server = createServer((request, response) => {
    route(options.source, request, response).catch((error: unknown) => {
      options.onError?.(error);
      if (!response.headersSent) sendJson(response, 500, { error: 'internal error' });
      else response.end();
    });
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    server,
    port: address.port,
    host: options.host,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        server.closeAllConnections();
      }),
  };
}
