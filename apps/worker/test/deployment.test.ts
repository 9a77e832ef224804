/**
 * The deployment files cannot run here (no Docker engine): they are checked instead. They
 * parse, and they point only at what exists: files in the repository, ports a service
 * exposes, services of the compose file, metrics the worker defines. The Dockerfile installs
 * from the lockfile before the sources, runs under tini, carries OCI labels; secrets stay
 * out of the build context and out of git; production dependencies leave out demo tooling.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type { Ignore } from '@balena/dockerignore';
import { runtimeMetricNames } from '@app/scheduler-agenda';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { clusterMetricNames } from '../src/cluster-metrics.js';

// A CommonJS module whose types declare an ES default export: loaded as what it is.
const dockerignore = createRequire(import.meta.url)('@balena/dockerignore') as () => Ignore;
const packageDirectory = join(dirname(fileURLToPath(import.meta.url)), '..');
const repositoryRoot = join(packageDirectory, '..', '..');
const read = (path: string): string => readFileSync(path, 'utf8');

interface ComposeService {
  readonly image?: string;
  readonly build?: { readonly context: string; readonly dockerfile: string };
  readonly expose?: readonly string[];
  readonly ports?: readonly string[];
  readonly volumes?: readonly string[];
  readonly environment?: Readonly<Record<string, string>>;
  readonly depends_on?: readonly string[] | Readonly<Record<string, unknown>>;
  readonly secrets?: readonly string[];
}
interface ComposeFile {
  readonly services: Readonly<Record<string, ComposeService>>;
  readonly secrets: Readonly<Record<string, { readonly file: string }>>;
  readonly volumes: Readonly<Record<string, unknown>>;
}

const compose = parseYaml(read(join(packageDirectory, 'compose.yaml'))) as ComposeFile;
const dockerfile = read(join(packageDirectory, 'Dockerfile'));
const dockerfileInstructions = dockerfile
  .replaceAll(/\\\n/gu, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));

/** The ports a compose service (and, for a built image, its Dockerfile) makes reachable. */
function exposedPorts(serviceName: string): Set<string> {
  const service = compose.services[serviceName];
  if (service === undefined) return new Set();
  const ports = new Set((service.expose ?? []).map(String));
  for (const mapping of service.ports ?? []) ports.add(String(mapping).split(':').at(-1)!);
  if (service.build !== undefined) {
    for (const instruction of dockerfileInstructions.filter((line) => line.startsWith('EXPOSE '))) {
      for (const port of instruction.slice('EXPOSE '.length).split(/\s+/u)) ports.add(port);
    }
  }
  return ports;
}

/** Bind mounts of a service: host path (resolved from compose.yaml's folder) -> container path. */
function bindMounts(serviceName: string): Map<string, string> {
  const mounts = new Map<string, string>();
  for (const volume of compose.services[serviceName]?.volumes ?? []) {
    const [source, target] = volume.split(':');
    if (source !== undefined && target !== undefined && source.startsWith('.')) mounts.set(target, join(packageDirectory, source));
  }
  return mounts;
}

/** The repository file a container path of `serviceName` shows (through its bind mounts). */
function hostPathOf(serviceName: string, containerPath: string): string | undefined {
  for (const [target, source] of bindMounts(serviceName)) {
    if (containerPath === target) return source;
    if (containerPath.startsWith(`${target}/`)) return join(source, posix.relative(target, containerPath));
  }
  return undefined;
}

describe('compose.yaml', () => {
  it('uses pinned images, a Dockerfile that exists, and bind mounts of files in the repository', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['grafana', 'mongo', 'otel-collector', 'prometheus', 'worker']);
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.build === undefined) {
        expect(service.image, name).toMatch(/^[\w./-]+:[\w.-]+$/u);
        expect(service.image, name).not.toMatch(/:latest$/u);
      } else {
        const context = join(packageDirectory, service.build.context);
        expect(existsSync(join(context, service.build.dockerfile)), name).toBe(true);
        expect(existsSync(join(context, 'pnpm-lock.yaml')), name).toBe(true);
      }
      for (const [target, source] of bindMounts(name)) expect(existsSync(source), `${name}: ${source} -> ${target}`).toBe(true);
      const dependencies = Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {});
      for (const dependency of dependencies) expect(Object.keys(compose.services), `${name} depends on ${dependency}`).toContain(dependency);
      for (const secret of service.secrets ?? []) expect(Object.keys(compose.secrets)).toContain(secret);
    }
  });

  it('sends the workers traces to a collector port that the collector exposes and receives on', () => {
    const endpoint = new URL(compose.services.worker!.environment!.OTEL_EXPORTER_OTLP_ENDPOINT!);
    expect(Object.keys(compose.services)).toContain(endpoint.hostname);
    expect(exposedPorts(endpoint.hostname)).toContain(endpoint.port);
    const collectorConfigPath = hostPathOf('otel-collector', '/etc/otelcol-contrib/config.yaml');
    expect(collectorConfigPath).toBeDefined();
    const collector = parseYaml(read(collectorConfigPath!)) as {
      receivers: Record<string, { protocols: Record<string, { endpoint: string }> }>;
      processors: Record<string, unknown>;
      exporters: Record<string, unknown>;
      service: { pipelines: Record<string, { receivers: string[]; processors: string[]; exporters: string[] }> };
    };
    const receiverPorts = Object.values(collector.receivers.otlp!.protocols).map((protocol) => protocol.endpoint.split(':').at(-1));
    expect(receiverPorts).toContain(endpoint.port);
    for (const port of receiverPorts) expect(exposedPorts('otel-collector')).toContain(port);
    for (const pipeline of Object.values(collector.service.pipelines)) {
      for (const receiver of pipeline.receivers) expect(Object.keys(collector.receivers)).toContain(receiver);
      for (const processor of pipeline.processors) expect(Object.keys(collector.processors)).toContain(processor);
      for (const exporter of pipeline.exporters) expect(Object.keys(collector.exporters)).toContain(exporter);
    }
    // Metrics are scraped from every replica, not also pushed (they would count twice).
    expect(compose.services.worker!.environment!.OTEL_METRICS_EXPORTER).toBe('none');
  });

  it('has Prometheus scrape every worker replica on a port the workers expose, with the runbook alerts loaded', () => {
    const configPath = hostPathOf('prometheus', '/etc/prometheus/prometheus.yaml');
    expect(configPath).toBeDefined();
    const prometheus = parseYaml(read(configPath!)) as {
      rule_files: string[];
      scrape_configs: {
        job_name: string;
        metrics_path?: string;
        dns_sd_configs?: { names: string[]; type: string; port: number }[];
        static_configs?: { targets: string[] }[];
      }[];
    };
    for (const ruleFile of prometheus.rule_files) {
      const hostPath = hostPathOf('prometheus', ruleFile);
      expect(hostPath, ruleFile).toBeDefined();
      expect(existsSync(hostPath!), ruleFile).toBe(true);
    }
    const workerJob = prometheus.scrape_configs.find((job) => job.job_name === 'background-jobs-worker');
    expect(workerJob?.metrics_path).toBe('/metrics');
    // DNS service discovery of the compose service: one target per replica.
    expect(workerJob?.dns_sd_configs).toEqual([expect.objectContaining({ names: ['worker'], type: 'A' })]);
    expect(exposedPorts('worker')).toContain(String(workerJob!.dns_sd_configs![0]!.port));
    for (const job of prometheus.scrape_configs) {
      for (const target of job.static_configs?.flatMap((config) => config.targets) ?? []) {
        const [host, port] = target.split(':');
        const service = host === 'localhost' ? 'prometheus' : host!;
        expect(exposedPorts(service), target).toContain(port);
      }
    }
  });

  it('provisions Grafana with the Prometheus datasource and a dashboard that uses it', () => {
    const datasources = parseYaml(read(hostPathOf('grafana', '/etc/grafana/provisioning/datasources/prometheus.yaml')!)) as {
      datasources: { uid: string; url: string }[];
    };
    const [datasource] = datasources.datasources;
    const url = new URL(datasource!.url);
    expect(exposedPorts(url.hostname)).toContain(url.port);
    const providers = parseYaml(read(hostPathOf('grafana', '/etc/grafana/provisioning/dashboards/background-jobs.yaml')!)) as {
      providers: { options: { path: string } }[];
    };
    const dashboardsDirectory = hostPathOf('grafana', providers.providers[0]!.options.path);
    expect(dashboardsDirectory !== undefined && statSync(dashboardsDirectory).isDirectory()).toBe(true);
    const dashboard = JSON.parse(read(join(dashboardsDirectory!, 'background-jobs.json'))) as {
      panels: { title: string; datasource: { uid: string }; targets: { expr: string; datasource: { uid: string } }[] }[];
    };
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(8);
    for (const panel of dashboard.panels) {
      expect(panel.datasource.uid, panel.title).toBe(datasource!.uid);
      for (const target of panel.targets) expect(target.datasource.uid, panel.title).toBe(datasource!.uid);
    }
  });
});

/** Prometheus family names of the worker's metrics: dots become underscores, counters end in _total. */
function knownMetricFamilies(): Set<string> {
  const families = new Set<string>();
  const counters = new Set<string>([runtimeMetricNames.runs, runtimeMetricNames.lostClaims]);
  const histograms = new Set<string>([runtimeMetricNames.runDuration, runtimeMetricNames.scheduleLag]);
  for (const name of [...Object.values(runtimeMetricNames), ...Object.values(clusterMetricNames)]) {
    const family = name.replaceAll('.', '_');
    if (counters.has(name)) families.add(`${family}_total`);
    else if (histograms.has(name)) for (const suffix of ['_bucket', '_sum', '_count']) families.add(`${family}${suffix}`);
    else families.add(family);
  }
  // Node.js runtime metrics (instrumentation-runtime-node); test/metrics-and-alerts.test.ts scrapes them.
  families.add('nodejs_eventloop_delay_p99');
  families.add('v8js_memory_heap_used');
  return families;
}

/** Metric names in a PromQL expression (label matchers and `by (...)` lists removed first). */
function referencedFamilies(expression: string): string[] {
  const withoutLabels = expression.replaceAll(/\{[^}]*\}/gu, '').replaceAll(/\b(?:by|without)\s*\([^)]*\)/gu, '');
  return [...withoutLabels.matchAll(/\b((?:job|email|nodejs|v8js)_[a-z0-9_]+)\b/gu)].map((match) => match[1]!);
}

describe('dashboard and alerts', () => {
  it('query only metrics the worker defines, with cluster gauges aggregated by max', () => {
    const known = knownMetricFamilies();
    const dashboard = JSON.parse(read(join(packageDirectory, 'deploy', 'grafana', 'dashboards', 'background-jobs.json'))) as {
      panels: { targets: { expr: string }[] }[];
    };
    const alerts = parseYaml(read(join(packageDirectory, 'deploy', 'prometheus-alerts.yaml'))) as {
      groups: { rules: { alert: string; expr: string }[] }[];
    };
    const expressions = [
      ...dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr)),
      ...alerts.groups.flatMap((group) => group.rules.map((rule) => rule.expr)),
    ];
    expect(expressions.length).toBeGreaterThan(15);
    for (const expression of expressions) {
      for (const family of referencedFamilies(expression)) expect(known, expression).toContain(family);
      // Every replica reports the cluster gauges: a sum would count them once per replica.
      for (const gauge of ['job_overdue', 'job_paused', 'job_last_success_timestamp', 'email_queue_depth']) {
        expect(expression, expression).not.toMatch(new RegExp(`sum[^(]*\\((?:[^()]|\\([^()]*\\))*\\b${gauge}\\b`, 'u'));
      }
    }
    const alertNames = alerts.groups.flatMap((group) => group.rules.map((rule) => rule.alert));
    const readme = read(join(packageDirectory, 'README.md'));
    for (const alert of alertNames) expect(readme, alert).toContain(alert);
  });
});

describe('Dockerfile', () => {
  it('fetches from the lockfile alone before copying the sources, then installs offline', () => {
    const fetchIndex = dockerfileInstructions.findIndex((line) => /^RUN pnpm fetch\b/u.test(line));
    const sourcesIndex = dockerfileInstructions.indexOf('COPY . .');
    const installIndex = dockerfileInstructions.findIndex((line) => /^RUN pnpm install\b/u.test(line));
    expect(fetchIndex).toBeGreaterThan(0);
    expect(sourcesIndex).toBeGreaterThan(fetchIndex);
    expect(installIndex).toBeGreaterThan(sourcesIndex);
    expect(dockerfileInstructions[installIndex]).toContain('--offline');
    expect(dockerfileInstructions[installIndex]).toContain('--frozen-lockfile');
    const copiesBeforeFetch = dockerfileInstructions.slice(0, fetchIndex).filter((line) => line.startsWith('COPY '));
    expect(copiesBeforeFetch).toEqual(['COPY pnpm-lock.yaml .npmrc ./']);
  });

  it('copies only sources that exist and that the build context keeps', () => {
    const rootIgnore = dockerignore().add(read(join(repositoryRoot, '.dockerignore')));
    const sources = dockerfileInstructions
      .filter((line) => line.startsWith('COPY ') && !line.includes('--from='))
      .flatMap((line) => line.split(/\s+/u).slice(1, -1).filter((part) => !part.startsWith('--')));
    expect(sources.length).toBeGreaterThanOrEqual(3);
    for (const source of sources) {
      if (source === '.') continue;
      expect(existsSync(join(repositoryRoot, source)), source).toBe(true);
      expect(rootIgnore.ignores(source), source).toBe(false);
    }
  });

  it('runs the worker under tini as an unprivileged user, with OCI labels and the package version', () => {
    const entrypoint = dockerfileInstructions.find((line) => line.startsWith('ENTRYPOINT '));
    expect(JSON.parse(entrypoint!.slice('ENTRYPOINT '.length))).toEqual(['/usr/bin/tini', '--', 'node', 'dist/cli.js']);
    expect(dockerfile).toMatch(/apt-get install --yes --no-install-recommends tini/u);
    expect(dockerfileInstructions).toContain('USER node');
    for (const label of ['title', 'description', 'version', 'revision', 'created', 'source', 'licenses', 'base.name']) {
      expect(dockerfile).toContain(`org.opencontainers.image.${label}=`);
    }
    const packageVersion = (JSON.parse(read(join(packageDirectory, 'package.json'))) as { version: string }).version;
    expect(dockerfileInstructions).toContain(`ARG VERSION=${packageVersion}`);
    expect(dockerfile).toContain('EXPOSE 8080');
    expect(dockerfile).toMatch(/HTTP_PORT=8080/u);
  });
});

describe('build context and git', () => {
  const secretFiles = [
    'apps/worker/admin_password.txt',
    'apps/worker/console_tokens.txt',
    '.data/worker/admin-password.txt',
    'deploy/db_password.txt',
  ];

  it('keeps secrets, installed packages, builds and local data out of the build context (both ignore files alike)', () => {
    const root = read(join(repositoryRoot, '.dockerignore'));
    const beside = read(join(packageDirectory, 'Dockerfile.dockerignore'));
    const patterns = (text: string): string[] => text.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));
    expect(patterns(beside)).toEqual(patterns(root));
    const ignore = dockerignore().add(root);
    for (const path of [...secretFiles, 'node_modules/x/index.js', 'apps/worker/node_modules/pino/package.json', 'apps/worker/dist/cli.js', '.git/HEAD', '.tools/bin/ferretdb', '.data/test-runs/run-1/server.json']) {
      expect(ignore.ignores(path), path).toBe(true);
    }
    const tracked = execFileSync('git', ['ls-files'], { cwd: repositoryRoot, encoding: 'utf8' }).split('\n').filter((path) => path !== '');
    const excludedTracked = tracked.filter((path) => ignore.ignores(path));
    expect(excludedTracked).toEqual([]);
  });

  it('keeps the compose secrets out of git', () => {
    for (const [name, secret] of Object.entries(compose.secrets)) {
      const path = posix.join('apps/worker', secret.file);
      const ignored = execFileSync('git', ['check-ignore', '--no-index', path], { cwd: repositoryRoot, encoding: 'utf8' }).trim();
      expect(ignored, name).toBe(path);
    }
    for (const path of secretFiles.filter((file) => file.startsWith('apps/worker/'))) {
      expect(execFileSync('git', ['check-ignore', '--no-index', path], { cwd: repositoryRoot, encoding: 'utf8' }).trim()).toBe(path);
    }
  });
});

describe('production dependencies', () => {
  it('leave out the demo SMTP sink and the pretty printer', () => {
    const manifest = JSON.parse(read(join(packageDirectory, 'package.json'))) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    for (const name of ['smtp-server', 'pino-pretty', 'nodemailer', 'vitest']) {
      expect(Object.keys(manifest.dependencies)).not.toContain(name);
    }
    expect(Object.keys(manifest.devDependencies)).toEqual(expect.arrayContaining(['smtp-server', 'pino-pretty']));
    // The bundle imports smtp-server only from the demo's lazily loaded SMTP sink.
    const distDirectory = join(packageDirectory, 'dist');
    const importers = execFileSync('grep', ['-l', 'from "smtp-server"', '-r', distDirectory], { encoding: 'utf8' })
      .split('\n')
      .filter((path) => path !== '');
    expect(importers.map((path) => posix.basename(path))).toEqual([expect.stringMatching(/^smtp-sink-[\w-]+\.js$/u)]);
  });
});

describe('production install', () => {
  it("is the Dockerfile's pnpm deploy: no demo or test tooling, and the worker runs from it", () => {
    // The exact deploy command of the Dockerfile, into a temporary folder, from this machine's store.
    const deploy = dockerfileInstructions.find((line) => line.startsWith('RUN pnpm --filter @app/worker deploy '));
    expect(deploy).toBeDefined();
    const words = deploy!.slice('RUN pnpm '.length).split(/\s+/u);
    const storeFlag = words.indexOf('--store-dir');
    if (storeFlag !== -1) words.splice(storeFlag, 2);
    expect(words.pop()).toBe('/deploy');
    const target = mkdtempSync(join(tmpdir(), 'worker-deploy-'));
    try {
      execFileSync('pnpm', [...words, join(target, 'app')], { cwd: repositoryRoot, stdio: 'pipe' });
      const app = join(target, 'app');
      const installed = readdirSync(join(app, 'node_modules', '.pnpm'));
      for (const name of ['smtp-server', 'pino-pretty', 'vitest', '@vitest']) {
        expect(installed.filter((entry) => entry.startsWith(`${name.replace('/', '+')}@`) || entry.startsWith(`${name}+`)), name).toEqual([]);
      }
      expect(installed.filter((entry) => entry.startsWith('nodemailer@'))).toHaveLength(1);
      const version = spawnSync(process.execPath, ['dist/cli.js', '--version'], { cwd: app, encoding: 'utf8' });
      expect(version.stdout.trim()).toBe((JSON.parse(read(join(packageDirectory, 'package.json'))) as { version: string }).version);
      const demo = spawnSync(process.execPath, ['dist/cli.js', 'demo', '--duration', '1'], { cwd: app, encoding: 'utf8' });
      expect(demo.status).toBe(1);
      expect(demo.stderr).toContain('worker demo needs the development dependency smtp-server');
    } finally {
      rmSync(target, { recursive: true, force: true });
    }
  }, 120_000);
});
