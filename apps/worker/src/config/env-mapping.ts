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
import { telemetryEnvironmentKeys } from './telemetry-settings.js';
import { defaultMaxPoolSize } from './mongo-uri.js';
import { durationText, leaseTimeoutLimitsMs, schedulerSettingsSchema } from './schema.js';

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
  /** Reference text of a field (default, meaning) when the schema's own is not the one to show. */
  readonly fieldReference?: Readonly<Record<string, { readonly defaultValue: string; readonly meaning: string }>>;
  /** Variables under the prefix that were removed: their name (suffix) and what to set instead. */
  readonly retiredKeys?: readonly { readonly suffix: string; readonly replacement: string }[];
  /** Fields of earlier releases and their new names (in the file and as variables). */
  readonly renamedFields?: Readonly<Record<string, string>>;
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
    name: 'MONGODB_MAX_POOL_SIZE',
    path: 'mongodb.maxPoolSize',
    kind: 'number',
    description:
      "Connections to the database per worker process (runs wait for a free one; the driver's own default is 100). A maxPoolSize in MONGODB_URI is used when this is not set; both set is an error.",
    defaultValue: String(defaultMaxPoolSize),
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
    description:
      'Address of the HTTP endpoints and the console. Loopback (default): the console needs no sign-in and answers only to loopback Host names. Any other address (0.0.0.0 in a container) requires CONSOLE_TOKENS.',
    defaultValue: '127.0.0.1',
  },
  {
    name: 'HTTP_PORT',
    path: 'http.port',
    kind: 'number',
    description: 'Port of the HTTP endpoints (/healthz, /readyz, /jobs, /metrics, the console and /api); 0 picks a free port.',
    defaultValue: '8080',
  },
  {
    name: 'CONSOLE_ENABLED',
    path: 'console.enabled',
    kind: 'boolean',
    description:
      'Serve the operator console (dashboard at /, JSON API under /api). false: neither is served (/healthz, /readyz, /jobs, /metrics still are).',
    defaultValue: 'true',
  },
  {
    name: 'CONSOLE_TOKENS',
    path: 'console.tokens',
    kind: 'string',
    description:
      'Console access tokens, name:role:token (role viewer or operator, token >= 24 characters), one per line or comma-separated; usually CONSOLE_TOKENS_FILE (a secrets file). Set: sign-in required. Required when HTTP_HOST is not a loopback address (unless CONSOLE_ENABLED=false).',
    secret: true,
  },
  {
    name: 'CONSOLE_SECURE_COOKIES',
    path: 'console.secureCookies',
    kind: 'boolean',
    description: 'Mark the console session cookie Secure (set it when the console is served over HTTPS, e.g. behind a TLS proxy).',
    defaultValue: 'false',
  },
  {
    name: 'CONSOLE_SESSION_TTL_MINUTES',
    path: 'console.sessionTtlMinutes',
    kind: 'number',
    description: 'How long a console sign-in lasts (5-10080 minutes).',
    defaultValue: '480',
  },
  {
    name: 'SCHEDULER_LEASE_TIMEOUT',
    path: 'scheduler.leaseTimeout',
    kind: 'string',
    description:
      `How long a worker may go without a heartbeat before another replica takes over its runs and job locks (a duration such as 30s, ${durationText(leaseTimeoutLimitsMs.min)} to ${durationText(leaseTimeoutLimitsMs.max)}). Heartbeats come every fifth of it, at most every 2s; a worker cut off from the database for the timeout minus one heartbeat aborts its own runs first.`,
    defaultValue: schedulerSettingsSchema.parse({}).leaseTimeout,
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
  // OTEL_* (validated; the SDK reads the same variables) and METRICS_*: telemetry-settings.ts.
  ...telemetryEnvironmentKeys,
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
  return Object.entries(section.schema.shape).map(([fieldName, fieldSchema]) => ({
    name: `${section.environmentPrefix}${toEnvironmentSuffix(fieldName)}`,
    path: `${section.path}.${fieldName}`,
    kind: valueKindOf(fieldSchema),
  }));
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
    for (const key of sectionEnvironmentKeys(section)) apply(key.name, key.path, key.kind);
  }
  // Several sections may share a prefix (a job's settings and its timing keys): a variable is
  // unknown when no section of its prefix accepts it.
  const prefixes = [...new Set(sections.map((section) => section.environmentPrefix))];
  for (const prefix of prefixes) {
    const sharing = sections.filter((section) => section.environmentPrefix === prefix);
    const keys = sharing.flatMap((section) => sectionEnvironmentKeys(section));
    const knownNames = new Set(keys.flatMap((key) => [key.name, `${key.name}_FILE`]));
    const retired = new Map(
      sharing.flatMap((section) => [
        ...(section.retiredKeys ?? []).map((key) => [`${prefix}${key.suffix}`, key.replacement] as const),
        ...Object.entries(section.renamedFields ?? {}).map(
          ([oldField, newField]) => [`${prefix}${toEnvironmentSuffix(oldField)}`, `renamed to ${prefix}${toEnvironmentSuffix(newField)}`] as const,
        ),
      ]),
    );
    for (const name of Object.keys(environment)) {
      if (!name.startsWith(prefix) || knownNames.has(name)) continue;
      const replacement = retired.get(name);
      problems.push({
        key: name,
        message:
          replacement === undefined
            ? `unknown setting; ${prefix}* accepts ${keys.map((key) => key.name).join(', ')}`
            : `no longer read: ${replacement}`,
      });
    }
  }
  return { values, sourceByPath, problems };
}
