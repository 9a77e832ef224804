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

/** The issues of a zod error as `field: reason` pairs, in zod's order. */
export function toFieldIssues(error: z.core.$ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({ field: formatIssuePath(issue.path), reason: issue.message }));
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
