/**
 * MONGODB_URI checked as the driver checks it, before anything connects: `mongodb://`, a
 * non-numeric port, another scheme, an unknown option are configuration errors (exit 2),
 * not connection failures. Messages never quote the connection string's credentials.
 */
import { MongoClient } from 'mongodb';

/** Every form of the user name and password in `uri`, raw and decoded (to scrub messages). */
function credentialFragments(uri: string): string[] {
  const userInfo = /^[a-z+]+:\/\/([^@/?#]*)@/iu.exec(uri)?.[1];
  if (userInfo === undefined) return [];
  const fragments = [userInfo, ...userInfo.split(':')];
  for (const fragment of [...fragments]) {
    try {
      fragments.push(decodeURIComponent(fragment));
    } catch {
      // Not percent-decodable: the raw form is scrubbed already.
    }
  }
  return fragments.filter((fragment) => fragment.length > 0).sort((left, right) => right.length - left.length);
}

/** Why the driver would refuse `uri`, credentials scrubbed; null when it parses. */
export function describeMongoUriProblem(uri: string): string | null {
  if (!/^mongodb(\+srv)?:\/\//u.test(uri)) return 'must start with mongodb:// or mongodb+srv://';
  try {
    // The constructor parses the string and every option; it connects only on connect().
    new MongoClient(uri);
    return null;
  } catch (error) {
    let reason = error instanceof Error ? error.message : String(error);
    reason = reason.replaceAll(uri, '<MONGODB_URI>');
    for (const fragment of credentialFragments(uri)) reason = reason.replaceAll(fragment, '***');
    return `not a valid MongoDB connection string: ${reason}`;
  }
}

/** Connections per worker process when neither MONGODB_MAX_POOL_SIZE nor the URI sets them. */
export const defaultMaxPoolSize = 10;

/** Whether the connection string carries its own `maxPoolSize` option (the driver reads it case-insensitively). */
export function uriSetsMaxPoolSize(uri: string): boolean {
  return /[?&]maxpoolsize=/iu.test(uri);
}

/** The pool size the worker asks the driver for: the setting, else the URI's own, else the default. */
export function resolveMaxPoolSize(setting: number | undefined, uri: string | undefined): number | undefined {
  if (setting !== undefined) return setting;
  return uri !== undefined && uriSetsMaxPoolSize(uri) ? undefined : defaultMaxPoolSize;
}
