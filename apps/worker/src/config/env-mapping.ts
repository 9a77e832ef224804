/**
 * The mapping between environment variables and the nested configuration object.
 *
 * Fixed keys (MONGODB_URI, HTTP_PORT, ...) are listed in {@link fixedEnvironmentKeys}.
 * Each settings section owned by a domain package has an environment prefix; a field
 * `intervalHours` of section `jobs.refreshTokenCleanup` (prefix `JOBS_REFRESH_TOKEN_CLEANUP_`)
 * is read from `JOBS_REFRESH_TOKEN_CLEANUP_INTERVAL_HOURS`. The field names come from the
 * package's own zod schema, so the mapping follows the package without a second list here.
 * Every mapped variable NAME may also be given as NAME_FILE: a path whose content
 * (trailing newline removed) is the value (Docker/Kubernetes secrets).
 */
import { readFileSync } from 'node:fs';
import type { z } from 'zod';

/** A settings section: where it lives in the config object and its environment prefix. */
export interface SettingsSection {
  /** Dotted path in the configuration object, e.g. `jobs.logCleanup`. */
  readonly path: string;
  /** Environment prefix, e.g. `JOBS_LOG_CLEANUP_`. */
  readonly environmentPrefix: string;
  /** The owning package's zod object schema. */
  readonly schema: z.ZodObject;
  /** One line for the reference table. */
  readonly description: string;
  /** The whole section may be absent (its own required fields are then not required). */
  readonly optional?: boolean;
  /** Worker-owned variables under the same prefix (e.g. an interval override). */
  readonly extraKeys?: readonly SectionExtraKey[];
}

/** A worker-owned variable `<prefix><suffix>` stored at `path`. */
export interface SectionExtraKey {
  readonly suffix: string;
  readonly path: string;
  readonly kind: ValueKind;
  readonly description: string;
}

/** A fixed environment variable: its path in the configuration object and its meaning. */
export interface FixedEnvironmentKey {
  readonly name: string;
  readonly path: string;
  readonly kind: ValueKind;
  readonly description: string;
  readonly defaultValue?: string;
  readonly secret?: boolean;
}

export type ValueKind = 'string' | 'number' | 'boolean' | 'array' | 'object' | 'unknown';

export const fixedEnvironmentKeys: readonly FixedEnvironmentKey[] = [
  {
    name: 'MONGODB_URI',
    path: 'mongodb.uri',
    kind: 'string',
    description:
      'MongoDB connection string. Not set: an embedded local server (FerretDB) is started on WORKER_DATA_DIR.',
    secret: true,
  },
  {
    name: 'MONGODB_DATABASE',
    path: 'mongodb.database',
    kind: 'string',
    description: 'Database name.',
    defaultValue: 'background_jobs',
  },
  {
    name: 'WORKER_DATA_DIR',
    path: 'mongodb.embeddedDataDirectory',
    kind: 'string',
    description: 'Data folder of the embedded server (used only without MONGODB_URI).',
    defaultValue: '<repo>/.data/worker',
  },
  {
    name: 'BACKGROUND_JOBS_ENABLED',
    path: 'backgroundJobsEnabled',
    kind: 'boolean',
    description:
      'Master switch (the seed\'s BackgroundJobs:Enabled). false: no job is scheduled and pending occurrences are cancelled.',
    defaultValue: 'true',
  },
  {
    name: 'HTTP_HOST',
    path: 'http.host',
    kind: 'string',
    description: 'Address of the HTTP endpoints. Use 0.0.0.0 in a container.',
    defaultValue: '127.0.0.1',
  },
  {
    name: 'HTTP_PORT',
    path: 'http.port',
    kind: 'number',
    description: 'Port of the HTTP endpoints (/healthz, /readyz, /jobs, /metrics); 0 picks a free port.',
    defaultValue: '8080',
  },
  {
    name: 'SHUTDOWN_DEADLINE_MS',
    path: 'shutdownDeadlineMs',
    kind: 'number',
    description: 'On SIGTERM/SIGINT: how long running jobs may finish before they are interrupted.',
    defaultValue: '30000',
  },
  {
    name: 'LOG_LEVEL',
    path: 'logLevel',
    kind: 'string',
    description: 'fatal, error, warn, info, debug or trace.',
    defaultValue: 'info',
  },
  {
    name: 'LOG_FORMAT',
    path: 'logFormat',
    kind: 'string',
    description: 'json, pretty, or auto (pretty when stdout is a terminal).',
    defaultValue: 'auto',
  },
  {
    name: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    path: 'telemetry.otlpEndpoint',
    kind: 'string',
    description:
      'OTLP/HTTP base URL (e.g. http://collector:4318). Not set: traces and metrics are not exported (Prometheus /metrics still works).',
  },
  {
    name: 'OTEL_SERVICE_NAME',
    path: 'telemetry.serviceName',
    kind: 'string',
    description: 'service.name of traces and metrics.',
    defaultValue: 'background-jobs-worker',
  },
  {
    name: 'OTEL_METRIC_EXPORT_INTERVAL',
    path: 'telemetry.metricExportIntervalMs',
    kind: 'number',
    description: 'Milliseconds between OTLP metric exports.',
    defaultValue: '60000',
  },
];

/** `intervalHours` -> `INTERVAL_HOURS`. */
export function toEnvironmentSuffix(fieldName: string): string {
  return fieldName
    .replace(/([a-z0-9])([A-Z])/gu, '$1_$2')
    .replace(/([A-Z])([A-Z][a-z])/gu, '$1_$2')
    .toUpperCase();
}

interface ZodInternals {
  readonly _zod: { readonly def: { readonly type: string; readonly innerType?: unknown; readonly in?: unknown } };
}

function hasZodInternals(value: unknown): value is ZodInternals {
  return typeof value === 'object' && value !== null && '_zod' in value;
}

/** The value kind a zod schema expects, looking through optional/default/nullable/pipe wrappers. */
export function valueKindOf(schema: unknown): ValueKind {
  let current: unknown = schema;
  for (let depth = 0; depth < 10 && hasZodInternals(current); depth += 1) {
    const definition = current._zod.def;
    switch (definition.type) {
      case 'optional':
      case 'default':
      case 'prefault':
      case 'nullable':
      case 'readonly':
      case 'catch':
        current = definition.innerType;
        continue;
      case 'pipe':
        current = definition.in;
        continue;
      case 'number':
      case 'int':
      case 'bigint':
        return 'number';
      case 'boolean':
        return 'boolean';
      case 'string':
      case 'enum':
      case 'literal':
      case 'template_literal':
        return 'string';
      case 'array':
      case 'tuple':
      case 'set':
        return 'array';
      case 'object':
      case 'record':
      case 'map':
        return 'object';
      default:
        return 'unknown';
    }
  }
  return 'unknown';
}

const trueWords = new Set(['true', '1', 'yes', 'on']);
const falseWords = new Set(['false', '0', 'no', 'off']);

/**
 * Turns an environment string into the kind the schema expects. A string that cannot be
 * converted is returned unchanged, so the schema reports it with the key's name.
 */
export function coerceEnvironmentValue(raw: string, kind: ValueKind): unknown {
  const trimmed = raw.trim();
  switch (kind) {
    case 'number':
      return trimmed !== '' && Number.isFinite(Number(trimmed)) ? Number(trimmed) : raw;
    case 'boolean': {
      const lower = trimmed.toLowerCase();
      if (trueWords.has(lower)) return true;
      if (falseWords.has(lower)) return false;
      return raw;
    }
    case 'array':
      if (trimmed.startsWith('[')) return parseJsonOrRaw(trimmed);
      return trimmed === ''
        ? []
        : trimmed
            .split(',')
            .map((item) => item.trim())
            .filter((item) => item !== '');
    case 'object':
      return parseJsonOrRaw(trimmed);
    default:
      return raw;
  }
}

function parseJsonOrRaw(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** One environment variable of a section: its name, the field it sets and the field's kind. */
export interface SectionEnvironmentKey {
  readonly name: string;
  readonly path: string;
  readonly kind: ValueKind;
}

export function sectionEnvironmentKeys(section: SettingsSection): SectionEnvironmentKey[] {
  const schemaKeys = Object.entries(section.schema.shape).map(([fieldName, fieldSchema]) => ({
    name: `${section.environmentPrefix}${toEnvironmentSuffix(fieldName)}`,
    path: `${section.path}.${fieldName}`,
    kind: valueKindOf(fieldSchema),
  }));
  const extraKeys = (section.extraKeys ?? []).map((extra) => ({
    name: `${section.environmentPrefix}${extra.suffix}`,
    path: extra.path,
    kind: extra.kind,
  }));
  return [...schemaKeys, ...extraKeys];
}

/** A problem found while reading the environment, before schema validation. */
export interface EnvironmentProblem {
  readonly key: string;
  readonly message: string;
}

export interface EnvironmentReadResult {
  /** Nested partial configuration built from the environment. */
  readonly values: Record<string, unknown>;
  /** Which environment variable set which config path (for error messages). */
  readonly sourceByPath: ReadonlyMap<string, string>;
  readonly problems: EnvironmentProblem[];
}

type Environment = Readonly<Record<string, string | undefined>>;

/** Reads NAME or NAME_FILE; both set is a problem. */
function readVariable(
  environment: Environment,
  name: string,
  problems: EnvironmentProblem[],
  mappedNames: ReadonlySet<string>,
): { value: string; source: string } | undefined {
  const direct = environment[name];
  // NAME_FILE is a file variant only when it is not itself a setting (ADMIN_PASSWORD_FILE is).
  const filePath = mappedNames.has(`${name}_FILE`) ? undefined : environment[`${name}_FILE`];
  if (direct !== undefined && direct !== '' && filePath !== undefined && filePath !== '') {
    problems.push({ key: name, message: `both ${name} and ${name}_FILE are set; set only one` });
    return undefined;
  }
  if (filePath !== undefined && filePath !== '') {
    try {
      return { value: readFileSync(filePath, 'utf8').replace(/\r?\n$/u, ''), source: `${name}_FILE` };
    } catch (error) {
      const reason = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
      problems.push({ key: `${name}_FILE`, message: `cannot read file ${filePath} (${reason})` });
      return undefined;
    }
  }
  if (direct === undefined || direct === '') return undefined;
  return { value: direct, source: name };
}

export function setAtPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const segments = path.split('.');
  let current = target;
  for (const segment of segments.slice(0, -1)) {
    const next = current[segment];
    if (typeof next === 'object' && next !== null && !Array.isArray(next)) {
      current = next as Record<string, unknown>;
    } else {
      const created: Record<string, unknown> = {};
      current[segment] = created;
      current = created;
    }
  }
  const last = segments.at(-1);
  if (last !== undefined) current[last] = value;
}

/** Builds the environment's part of the configuration and flags unknown section variables. */
export function readEnvironment(
  environment: Environment,
  sections: readonly SettingsSection[],
): EnvironmentReadResult {
  const values: Record<string, unknown> = {};
  const sourceByPath = new Map<string, string>();
  const problems: EnvironmentProblem[] = [];
  const mappedNames = new Set([
    ...fixedEnvironmentKeys.map((key) => key.name),
    ...sections.flatMap((section) => sectionEnvironmentKeys(section).map((key) => key.name)),
  ]);
  const apply = (name: string, path: string, kind: ValueKind): void => {
    const variable = readVariable(environment, name, problems, mappedNames);
    if (variable === undefined) return;
    setAtPath(values, path, coerceEnvironmentValue(variable.value, kind));
    sourceByPath.set(path, variable.source);
  };
  for (const key of fixedEnvironmentKeys) apply(key.name, key.path, key.kind);
  for (const section of sections) {
    const keys = sectionEnvironmentKeys(section);
    const knownNames = new Set(keys.flatMap((key) => [key.name, `${key.name}_FILE`]));
    for (const key of keys) apply(key.name, key.path, key.kind);
    for (const name of Object.keys(environment)) {
      if (name.startsWith(section.environmentPrefix) && !knownNames.has(name)) {
        problems.push({
          key: name,
          message: `unknown setting; ${section.path} accepts ${keys.map((key) => key.name).join(', ')}`,
        });
      }
    }
  }
  return { values, sourceByPath, problems };
}
