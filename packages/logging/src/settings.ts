/**
 * Settings of LogCleanupJob: a zod schema (the worker embeds it in its configuration
 * schema), the inferred type, and a parser whose error names each bad key and the reason.
 */
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';

const positiveInteger = (maximum: number) =>
  z
    .number({ error: 'must be a number' })
    .int({ error: 'must be an integer' })
    .min(1, { error: 'must be >= 1' })
    .max(maximum, { error: `must be <= ${maximum}` });

/** Why a log file pattern is refused, or null when it is a plain file-name glob. */
export function findLogFilePatternError(pattern: string): string | null {
  if (pattern.trim() === '') return 'must not be empty';
  if (pattern.includes('\0')) return 'must not contain a NUL character';
  if (isAbsolute(pattern) || /^[a-zA-Z]:/u.test(pattern) || pattern.startsWith('\\')) {
    return 'must be a file name pattern, not an absolute path';
  }
  if (pattern.includes('..')) return "must not contain '..'";
  if (/[/\\]/u.test(pattern)) {
    return 'must not contain / or \\ (only files directly in logDirectory are cleaned)';
  }
  return null;
}

export const logCleanupSettingsSchema = z
  .object({
    enabled: z.boolean({ error: 'must be true or false' }).default(true),
    /**
     * The seed's interval setting, an alias of the worker's `schedule` key (setting both is an
     * error). No default: the default schedule is the job module's (`24h`).
     */
    intervalHours: positiveInteger(24 * 366).optional(),
    /**
     * Log entries (by `timestamp`) and log files (by last write time) strictly older than
     * `now - retentionDays` are deleted; one exactly at the cutoff stays.
     */
    retentionDays: positiveInteger(36_600).default(30),
    /**
     * The folder of log files. Not set: only database log entries are cleaned. A relative
     * path is resolved against the working directory when the settings are parsed.
     */
    logDirectory: z
      .string({ error: 'must be a string (a folder path)' })
      .trim()
      .min(1, { error: 'must not be empty' })
      .refine((directory) => !directory.includes('\0'), { error: 'must not contain a NUL character' })
      .transform((directory) => resolve(directory))
      .optional(),
    /** A glob matched against file names directly in `logDirectory` (picomatch syntax). */
    logFilePattern: z
      .string({ error: 'must be a string (a file name glob such as *.log)' })
      .superRefine((pattern, context) => {
        const problem = findLogFilePatternError(pattern);
        if (problem !== null) context.addIssue({ code: 'custom', message: problem });
      })
      .default('*.log'),
    /**
     * Documents (log entries, job runs, worker instances) deleted per statement; the process
     * holds one `_id` per document of a batch.
     */
    batchSize: positiveInteger(100_000).default(1000),
    /** Finished job runs (`job_runs`) whose finish is older than this many days are pruned. */
    jobHistoryRetentionDays: positiveInteger(36_600).default(90),
    /**
     * Worker instance records (`worker_instances`) whose last heartbeat is older than this many
     * days are pruned: a week keeps last week's stopped and crashed workers visible to operators.
     */
    workerInstanceRetentionDays: positiveInteger(36_600).default(7),
    /** Operator audit records (`operator_audit`) older than this many days are pruned. */
    auditRetentionDays: positiveInteger(36_600).default(90),
  })
  .strict();

export type LogCleanupSettings = z.infer<typeof logCleanupSettingsSchema>;
export type LogCleanupSettingsInput = z.input<typeof logCleanupSettingsSchema>;

/** The error of {@link parseLogCleanupSettings}: one `section.key: reason` line per problem. */
export class LogCleanupSettingsError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`Invalid log cleanup settings:\n${problems.map((problem) => `  ${problem}`).join('\n')}`);
    this.name = 'LogCleanupSettingsError';
    this.problems = problems;
  }
}

/**
 * Parses and validates settings (defaults applied). Throws a {@link LogCleanupSettingsError}
 * naming each bad key and the reason, e.g. `logCleanup.retentionDays: must be >= 1`.
 */
export function parseLogCleanupSettings(
  input: unknown,
  sectionPath = 'logCleanup',
): LogCleanupSettings {
  const parsed = logCleanupSettingsSchema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.flatMap((issue) => {
    const keyPath = [sectionPath, ...issue.path.map(String)].join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => `${keyPath}.${key}: unknown key`);
    }
    if (issue.path.length === 0) return [`${keyPath}: must be an object`];
    return [`${keyPath}: ${issue.message}`];
  });
  throw new LogCleanupSettingsError(problems);
}
