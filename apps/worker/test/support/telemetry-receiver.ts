/** A real OTLP/HTTP receiver on loopback (it records what the worker sends) and a Prometheus text reader. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  readonly path: string;
  readonly contentType: string;
  readonly body: string;
}

export interface OtlpAttribute {
  readonly key: string;
  readonly value: { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
}

interface OtlpDataPoint {
  readonly attributes?: readonly OtlpAttribute[];
  readonly asDouble?: number;
  readonly asInt?: string | number;
  readonly explicitBounds?: readonly number[];
  readonly count?: string | number;
  readonly sum?: number;
}

export interface OtlpMetric {
  readonly name: string;
  readonly unit?: string;
  readonly sum?: { readonly dataPoints: readonly OtlpDataPoint[] };
  readonly gauge?: { readonly dataPoints: readonly OtlpDataPoint[] };
  readonly histogram?: { readonly dataPoints: readonly OtlpDataPoint[] };
}

export interface OtlpSpan {
  readonly name: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly attributes: readonly OtlpAttribute[];
}

export interface OtlpReceiver {
  readonly url: string;
  readonly received: ReceivedRequest[];
  /** Every metric of every JSON metrics request, with its resource's attributes. */
  metrics(): { metric: OtlpMetric; resource: readonly OtlpAttribute[] }[];
  spans(): OtlpSpan[];
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const received: ReceivedRequest[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        path: request.url ?? '',
        contentType: request.headers['content-type'] ?? '',
        body: Buffer.concat(chunks).toString('utf8'),
      });
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{}');
    });
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', () => resolveListen()));
  const jsonBodies = (path: string): unknown[] =>
    received.filter((entry) => entry.path === path && entry.contentType.includes('json')).map((entry) => JSON.parse(entry.body) as unknown);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    metrics: () =>
      jsonBodies('/v1/metrics').flatMap((body) =>
        (body as { resourceMetrics: { resource: { attributes: OtlpAttribute[] }; scopeMetrics: { metrics: OtlpMetric[] }[] }[] }).resourceMetrics.flatMap(
          (resourceMetric) =>
            resourceMetric.scopeMetrics.flatMap((scope) =>
              scope.metrics.map((metric) => ({ metric, resource: resourceMetric.resource.attributes })),
            ),
        ),
      ),
    spans: () =>
      jsonBodies('/v1/traces').flatMap((body) =>
        (body as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] }).resourceSpans.flatMap((resourceSpan) =>
          resourceSpan.scopeSpans.flatMap((scope) => scope.spans),
        ),
      ),
    close: () => new Promise<void>((resolveClose) => server.close(() => resolveClose())),
  };
}

export function attributeValue(attributes: readonly OtlpAttribute[] | undefined, key: string): unknown {
  const value = attributes?.find((entry) => entry.key === key)?.value;
  return value?.stringValue ?? value?.intValue ?? value?.doubleValue ?? value?.boolValue;
}

export interface PrometheusSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The samples of a Prometheus text exposition (comments skipped). */
export function parsePrometheus(text: string): PrometheusSample[] {
  const samples: PrometheusSample[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/u.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/gu)) labels[label[1]!] = label[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the sample `name` whose labels include `labels`, or undefined. */
export function sampleValue(
  samples: readonly PrometheusSample[],
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  return samples.find(
    (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  )?.value;
}

/** `# UNIT <name> <unit>` of a metric family. */
export function prometheusUnit(text: string, family: string): string | undefined {
  return new RegExp(`^# UNIT ${family} (.+)$`, 'mu').exec(text)?.[1];
}
