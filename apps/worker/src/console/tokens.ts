/**
 * Console access tokens from configuration: `name:role:token` entries, one per line (or
 * comma-separated in an environment variable). Problems name the entry by position and
 * name, never by its token.
 */
export const consoleRoles = ['viewer', 'operator'] as const;
export type ConsoleRole = (typeof consoleRoles)[number];

export interface ConsoleToken {
  readonly name: string;
  readonly role: ConsoleRole;
  readonly token: string;
}

/** Shorter tokens are refused: 24 characters of base64 are 144 bits. */
export const minimumTokenLength = 24;

const namePattern = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/u;

export interface ParsedConsoleTokens {
  readonly tokens: ConsoleToken[];
  readonly problems: string[];
}

function isConsoleRole(value: string): value is ConsoleRole {
  return (consoleRoles as readonly string[]).includes(value);
}

export function parseConsoleTokens(text: string): ParsedConsoleTokens {
  const tokens: ConsoleToken[] = [];
  const problems: string[] = [];
  const entries = text
    .split(/[\n,]/u)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '' && !entry.startsWith('#'));
  const seenNames = new Set<string>();
  const seenTokens = new Set<string>();
  for (const [index, entry] of entries.entries()) {
    const position = `entry ${index + 1}`;
    const firstColon = entry.indexOf(':');
    const secondColon = firstColon < 0 ? -1 : entry.indexOf(':', firstColon + 1);
    if (secondColon < 0) {
      // Not echoed: a bare token pasted without name and role would be printed.
      problems.push(`${position} is not of the form name:role:token`);
      continue;
    }
    const name = entry.slice(0, firstColon).trim();
    const role = entry.slice(firstColon + 1, secondColon).trim();
    const token = entry.slice(secondColon + 1).trim();
    if (!namePattern.test(name)) {
      problems.push(`${position}: the name must be 1-64 letters, digits, _ . @ or - (starting with a letter or digit)`);
      continue;
    }
    const label = `${position} ("${name}")`;
    if (seenNames.has(name)) problems.push(`${label}: the name "${name}" is used twice; names must be unique`);
    seenNames.add(name);
    if (!isConsoleRole(role)) {
      problems.push(`${label}: the role must be viewer or operator`);
      continue;
    }
    if (token.length < minimumTokenLength) {
      problems.push(`${label}: the token must be at least ${minimumTokenLength} characters`);
      continue;
    }
    if (/\s/u.test(token)) {
      problems.push(`${label}: the token must not contain spaces`);
      continue;
    }
    if (seenTokens.has(token)) {
      problems.push(`${label}: the same token is given to two names; every token must be unique`);
      continue;
    }
    seenTokens.add(token);
    tokens.push({ name, role, token });
  }
  if (entries.length === 0) problems.push('no token is given (expected name:role:token entries)');
  return { tokens, problems };
}

/** Whether `host` (HTTP_HOST) is a loopback address or name: nothing else can reach it. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.trim().toLowerCase().replace(/^\[(.*)\]$/u, '$1');
  return (
    bare === 'localhost' ||
    bare === '::1' ||
    bare === '0:0:0:0:0:0:0:1' ||
    /^127(\.\d{1,3}){3}$/u.test(bare) ||
    /^::ffff:127(\.\d{1,3}){3}$/u.test(bare)
  );
}
