import { redactMongoUri } from '@app/mongo-local';
import { fixedEnvironmentKeys } from './env-mapping.js';

// `otlpHeaders` carries API keys of the telemetry backend.
const secretKeyPattern = /password|secret|token$|headers$/iu;

/** Paths of the fixed keys declared secret (e.g. `console.tokens`): their whole value is hidden. */
const secretPaths = new Set(fixedEnvironmentKeys.filter((key) => key.secret === true).map((key) => key.path));

/**
 * A copy of the configuration safe to print: connection strings lose their credentials,
 * every password/secret value and every value of a key declared secret becomes `***`
 * (file paths are kept).
 */
export function redactConfiguration(value: unknown, key = '', path = ''): unknown {
  if (typeof value === 'string' && /^mongodb(\+srv)?:\/\//u.test(value)) return redactMongoUri(value);
  if (secretPaths.has(path) && value !== undefined) return '***';
  if (Array.isArray(value)) return value.map((item) => redactConfiguration(item, '', `${path}[]`));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([childKey, childValue]) => [
        childKey,
        redactConfiguration(childValue, childKey, path === '' ? childKey : `${path}.${childKey}`),
      ]),
    );
  }
  if (typeof value === 'string' && secretKeyPattern.test(key) && !/file$/iu.test(key)) return '***';
  return value;
}
