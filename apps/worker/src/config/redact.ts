import { redactMongoUri } from '@app/mongo-local';

const secretKeyPattern = /password|secret|token$/iu;

/**
 * A copy of the configuration safe to print: connection strings lose their credentials,
 * every password/secret value becomes `***` (file paths are kept).
 */
export function redactConfiguration(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((item) => redactConfiguration(item));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([childKey, childValue]) => [
        childKey,
        redactConfiguration(childValue, childKey),
      ]),
    );
  }
  if (typeof value === 'string') {
    if (/^mongodb(\+srv)?:\/\//u.test(value)) return redactMongoUri(value);
    if (secretKeyPattern.test(key) && !/file$/iu.test(key)) return '***';
  }
  return value;
}
