import type { z } from 'zod';

/** One invalid field: its path as text (`to[1]`, `smtp.port`) and the reason. */
export interface FieldIssue {
  readonly field: string;
  readonly reason: string;
}

/** `['to', 1, 'name']` -> `to[1].name`; an empty path (the object itself) -> `(root)`. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text === '' ? '(root)' : text;
}

/**
 * The issues of a zod error as `field: reason` pairs, in zod's order; an unknown key listed in
 * `renamedKeys` is reported as renamed (`maxAttempts: renamed to maxDeliveryAttempts`).
 */
export function toFieldIssues(
  error: z.core.$ZodError,
  renamedKeys: Readonly<Record<string, string>> = {},
): FieldIssue[] {
  return error.issues.flatMap((issue): FieldIssue[] => {
    const field = formatIssuePath(issue.path);
    if (issue.code !== 'unrecognized_keys' || !issue.keys.some((key) => Object.hasOwn(renamedKeys, key))) {
      return [{ field, reason: issue.message }];
    }
    return issue.keys.map((key) =>
      Object.hasOwn(renamedKeys, key)
        ? { field: formatIssuePath([...issue.path, key]), reason: `renamed to ${renamedKeys[key]}` }
        : { field, reason: `unrecognized key: "${key}"` },
    );
  });
}

/** `field: reason; field: reason`. */
export function describeFieldIssues(issues: readonly FieldIssue[]): string {
  return issues.map((issue) => `${issue.field}: ${issue.reason}`).join('; ');
}

/** Bad input or configuration; `issues` names every bad field and why. */
export class ValidationError extends Error {
  override readonly name: string = 'ValidationError';
  readonly issues: readonly FieldIssue[];

  constructor(subject: string, issues: readonly FieldIssue[]) {
    super(`${subject}: ${describeFieldIssues(issues)}`);
    this.issues = issues;
  }
}
