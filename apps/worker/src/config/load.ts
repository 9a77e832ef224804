/**
 * Loads the configuration: an optional JSON file, overridden by environment variables,
 * validated by ONE zod schema (the worker's own settings plus each package's settings
 * schema). Every problem is collected into one {@link ConfigurationError}.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import {
  fixedEnvironmentKeys,
  readEnvironment,
  sectionEnvironmentKeys,
  setAtPath,
  type EnvironmentProblem,
  type SettingsSection,
} from './env-mapping.js';
import { workerBaseSchema } from './schema.js';

export interface ConfigurationProblem {
  /** The environment variable (or config-file path) at fault. */
  readonly key: string;
  /** Dotted path in the configuration object. */
  readonly path: string;
  readonly message: string;
}

/** Invalid configuration: the message lists every bad key and why, and nothing secret. */
export class ConfigurationError extends Error {
  readonly problems: readonly ConfigurationProblem[];

  constructor(problems: readonly ConfigurationProblem[]) {
    const lines = problems.map((problem) =>
      problem.key === problem.path
        ? `  - ${problem.key}: ${problem.message}`
        : `  - ${problem.key} (${problem.path}): ${problem.message}`,
    );
    super(
      `Invalid worker configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
    );
    this.name = 'ConfigurationError';
    this.problems = problems;
  }
}

export type Environment = Readonly<Record<string, string | undefined>>;

export interface LoadConfigurationOptions<TSchema extends z.ZodObject> {
  readonly environment: Environment;
  /** JSON file; when undefined, WORKER_CONFIG_FILE from the environment is used. */
  readonly configFile?: string | undefined;
  readonly sections: readonly SettingsSection[];
  readonly schema: TSchema;
  /** Checks across sections, run on the merged raw values whatever the schema found. */
  readonly crossChecks?: (values: Readonly<Record<string, unknown>>) => ConfigurationProblem[];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `override` wins; objects are merged key by key. */
export function deepMerge(
  base: Record<string, unknown>,
  override: Record<string, unknown>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const existing = merged[key];
    merged[key] = isPlainObject(existing) && isPlainObject(value) ? deepMerge(existing, value) : value;
  }
  return merged;
}

/** The single schema: the worker's settings plus every section schema at its path. */
export function buildConfigurationSchema(sections: readonly SettingsSection[]): z.ZodObject {
  const nested: Record<string, unknown> = {};
  for (const section of sections) setAtPath(
      nested,
      section.path,
      section.optional === true ? section.schema.optional() : section.schema.prefault({}),
    );
  const toSchema = (node: Record<string, unknown>): z.ZodObject =>
    z.strictObject(
      Object.fromEntries(
        Object.entries(node).map(([key, value]) => [
          key,
          value instanceof z.ZodType ? value : toSchema(value as Record<string, unknown>).prefault({}),
        ]),
      ),
    );
  return workerBaseSchema.extend(toSchema(nested).shape);
}

function readConfigFile(path: string): { values: Record<string, unknown>; problem?: EnvironmentProblem } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    return { values: {}, problem: { key: 'WORKER_CONFIG_FILE', message: `cannot read ${path} (${reason})` } };
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (!isPlainObject(parsed)) {
      return { values: {}, problem: { key: 'WORKER_CONFIG_FILE', message: `${path} must hold a JSON object` } };
    }
    return { values: parsed };
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'invalid JSON';
    return { values: {}, problem: { key: 'WORKER_CONFIG_FILE', message: `${path} is not valid JSON (${reason})` } };
  }
}

/** Environment variable name of every config path (fixed keys and section fields). */
export function environmentNameByPath(sections: readonly SettingsSection[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const key of fixedEnvironmentKeys) names.set(key.path, key.name);
  for (const section of sections) {
    for (const key of sectionEnvironmentKeys(section)) names.set(key.path, key.name);
  }
  return names;
}

/** Reads, merges and validates; throws {@link ConfigurationError} listing every problem. */
export function loadConfiguration<TSchema extends z.ZodObject>(
  options: LoadConfigurationOptions<TSchema>,
): z.infer<TSchema> {
  const problems: ConfigurationProblem[] = [];
  const configFile = options.configFile ?? options.environment.WORKER_CONFIG_FILE;
  let fileValues: Record<string, unknown> = {};
  if (configFile !== undefined && configFile !== '') {
    const file = readConfigFile(configFile);
    fileValues = file.values;
    if (file.problem) problems.push({ ...file.problem, path: 'configFile' });
  }
  const fromEnvironment = readEnvironment(options.environment, options.sections);
  for (const problem of fromEnvironment.problems) {
    problems.push({ key: problem.key, path: problem.key, message: problem.message });
  }
  const merged = deepMerge(fileValues, fromEnvironment.values);
  problems.push(...(options.crossChecks?.(merged) ?? []));
  const result = options.schema.safeParse(merged);
  if (!result.success) {
    const names = environmentNameByPath(options.sections);
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        const sectionPath = issue.path.map(String).join('.');
        const renamed = options.sections.find((section) => section.path === sectionPath)?.renamedFields ?? {};
        for (const unknownKey of issue.keys) {
          const unknownPath = [...issue.path.map(String), unknownKey].join('.');
          const newName = Object.hasOwn(renamed, unknownKey) ? renamed[unknownKey] : undefined;
          problems.push({
            key: unknownPath,
            path: unknownPath,
            message: newName === undefined ? 'unknown key (configuration file)' : `renamed to ${sectionPath}.${newName} (configuration file)`,
          });
        }
        continue;
      }
      const path = issue.path.map(String).join('.');
      const key = keyOfPath(issue.path.map(String), fromEnvironment.sourceByPath, names) ?? path;
      const missing = valueAtPath(merged, issue.path) === undefined;
      problems.push({ key, path: path === '' ? '(root)' : path, message: describeIssue(issue, missing) });
    }
  }
  if (problems.length > 0) throw new ConfigurationError(problems);
  if (!result.success) throw new ConfigurationError(problems);
  return result.data;
}

/** The variable that set `path` or its nearest parent (an item of a list names the list's variable). */
function keyOfPath(
  path: readonly string[],
  sourceByPath: ReadonlyMap<string, string>,
  names: ReadonlyMap<string, string>,
): string | undefined {
  for (let length = path.length; length > 0; length -= 1) {
    const prefix = path.slice(0, length).join('.');
    const key = sourceByPath.get(prefix) ?? names.get(prefix);
    if (key !== undefined) return key;
  }
  return undefined;
}

/** The issue's reason, never the offending value (it may be a secret). */
function describeIssue(issue: z.core.$ZodIssue, missing: boolean): string {
  if (issue.code === 'invalid_type' && missing) return 'required';
  return issue.message;
}

export function valueAtPath(root: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = root;
  for (const segment of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}
