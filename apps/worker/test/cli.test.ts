/**
 * The CLI's contract: without a database, usage errors exit 3 with the usage, --version, --json;
 * against the test database and a running worker, `jobs rerun` of a failed occurrence and its
 * refusals.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { getJobRunModel } from '@app/logging';
import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import mongoose from 'mongoose';
import { describe, expect, it } from 'vitest';
import { workerVersion } from '../src/version.js';
import { baseEnvironment, runCli, spawnWorker, waitUntil } from './support/worker-process.js';

const environment = baseEnvironment('cli_never_connects');

describe('worker CLI', () => {
  it('prints its version with --version and -V', async () => {
    for (const flag of ['--version', '-V']) {
      const result = await runCli(environment, [flag]);
      expect(result).toEqual({ code: 0, stdout: `${workerVersion}\n`, stderr: '' });
    }
  });

  it.each([
    { what: 'an unknown command', args: ['bogus'], usage: 'Usage: worker [options] [command]', message: "unknown command 'bogus'" },
    { what: 'an unknown option', args: ['jobs', 'list', '--nope'], usage: 'Usage: worker jobs list [options]', message: "unknown option '--nope'" },
    { what: 'a missing argument', args: ['jobs', 'history'], usage: 'Usage: worker jobs history [options] <job>', message: "missing required argument 'job'" },
    { what: 'a limit of zero', args: ['jobs', 'history', 'RefreshTokenCleanupJob', '-n', '0'], usage: 'Usage: worker jobs history', message: '--limit must be an integer from 1 to 1000' },
    { what: 'a limit that is no number', args: ['jobs', 'history', 'RefreshTokenCleanupJob', '--limit', 'many'], usage: 'Usage: worker jobs history', message: '--limit must be an integer' },
    { what: 'an occurrence that is no instant', args: ['jobs', 'rerun', 'RefreshTokenCleanupJob', 'yesterday'], usage: 'Usage: worker jobs rerun [options] <job> <occurrence>', message: 'must be an ISO 8601 instant' },
    { what: 'a demo duration that is no number', args: ['demo', '--duration', 'long'], usage: 'Usage: worker demo [options]', message: '--duration must be an integer' },
    { what: 'too many arguments', args: ['jobs', 'run', 'A', 'B'], usage: 'Usage: worker jobs run [options] <job>', message: 'too many arguments' },
    { what: 'no command', args: [], usage: 'Usage: worker [options] [command]', message: '' },
    { what: 'no jobs subcommand', args: ['jobs'], usage: 'Usage: worker jobs [options] [command]', message: '' },
  ])('exits 3 with the usage for $what', async ({ args, usage, message }) => {
    const result = await runCli(environment, args);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(usage);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe('');
  });

  it('exits 0 for help', async () => {
    const result = await runCli(environment, ['help', 'jobs']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: worker jobs [options] [command]');
  });

  it('prints the configuration and the environment reference as JSON', async () => {
    const config = await runCli(environment, ['config', '--json']);
    expect(config.code).toBe(0);
    const parsed = JSON.parse(config.stdout) as { mongodb: { database: string }; telemetry: { serviceName: string } };
    expect(parsed.mongodb.database).toBe('cli_never_connects');
    expect(parsed.telemetry.serviceName).toBe('background-jobs-worker');
    const reference = await runCli(environment, ['config', '--env-reference', '--json']);
    expect(reference.code).toBe(0);
    const rows = JSON.parse(reference.stdout) as { name: string; defaultValue: string }[];
    expect(rows).toContainEqual(expect.objectContaining({ name: 'OTEL_EXPORTER_OTLP_PROTOCOL', defaultValue: 'http/protobuf' }));
    expect(rows).toContainEqual(expect.objectContaining({ name: 'JOBS_REFRESH_TOKEN_CLEANUP_BATCH_SIZE', defaultValue: '5000' }));
  });

  it('redacts the OTLP headers in the printed configuration', async () => {
    const config = await runCli({ ...environment, OTEL_EXPORTER_OTLP_HEADERS: 'api-key=Very-Secret-Key-1' }, ['config']);
    expect(config.code).toBe(0);
    expect(config.stdout).not.toContain('Very-Secret-Key-1');
    expect(config.stdout).toContain('"otlpHeaders": "***"');
  });
});

describe('worker jobs rerun', () => {
  it('reruns a failed occurrence as a new attempt attributed to the shell user, and refuses one that succeeded or never ran', async () => {
    const databaseName = `${testDatabaseName()}_cli_rerun`;
    const scratch = mkdtempSync(join(tmpdir(), 'worker-cli-rerun-'));
    // A file where the log directory should be: LogCleanupJob fails (ENOTDIR), for good (one attempt).
    const logDirectory = join(scratch, 'logs');
    writeFileSync(logDirectory, 'not a directory\n');
    const environment = {
      ...baseEnvironment(databaseName),
      JOBS_REFRESH_TOKEN_CLEANUP_ENABLED: 'false',
      JOBS_IP_ANONYMIZATION_ENABLED: 'false',
      JOBS_LOG_CLEANUP_LOG_DIRECTORY: logDirectory,
      JOBS_LOG_CLEANUP_SCHEDULE: '1h',
      JOBS_LOG_CLEANUP_RETRY_MAX_ATTEMPTS: '1',
    };
    const connection = await mongoose.createConnection(testMongoUri(), { dbName: databaseName }).asPromise();
    const worker = await spawnWorker(environment);
    try {
      await worker.waitForLog((line) => line.msg === 'worker ready');
      const runs = getJobRunModel(connection);
      const failed = await waitUntil(
        async () => (await runs.findOne({ jobName: 'LogCleanupJob', status: 'failed' }).lean()) ?? undefined,
        30_000,
        'the failed run',
      );
      expect(failed).toMatchObject({ attempt: 1, cause: 'schedule', requestedBy: null });
      expect(failed.error?.message).toMatch(/ENOTDIR/u);
      const occurrence = failed.occurrenceAt.toISOString();
      // The cause is fixed before the rerun: its attempt can succeed.
      rmSync(logDirectory);
      mkdirSync(logDirectory);

      const rerun = await runCli(environment, ['jobs', 'rerun', 'LogCleanupJob', occurrence]);
      expect(rerun).toEqual({
        code: 0,
        stdout: `LogCleanupJob: occurrence ${occurrence} runs again now as attempt 2; a running worker will take it\n`,
        stderr: '',
      });
      const actor = `cli:${userInfo().username}@${hostname()}`;
      const rerunRun = await waitUntil(
        async () => (await runs.findOne({ jobName: 'LogCleanupJob', attempt: 2, status: { $ne: 'running' } }).lean()) ?? undefined,
        30_000,
        'the rerun to end',
      );
      expect(rerunRun).toMatchObject({ status: 'succeeded', cause: 'rerun', requestedBy: actor, occurrenceAt: failed.occurrenceAt });
      expect(rerunRun.instance.processId).toBe(worker.child.pid);
      const history = await runCli(environment, ['jobs', 'history', 'LogCleanupJob']);
      expect(history).toMatchObject({ code: 0, stderr: '' });
      expect(history.stdout).toContain(`rerun by ${actor}`);

      // That occurrence has succeeded now: nothing to rerun (exit 3, the reason, nothing on stdout).
      const again = await runCli(environment, ['jobs', 'rerun', 'LogCleanupJob', occurrence, '--json']);
      expect(again).toEqual({
        code: 3,
        stdout: '',
        stderr: `the occurrence ${occurrence} of job "LogCleanupJob" succeeded: there is nothing to rerun\n`,
      });
      const never = await runCli(environment, ['jobs', 'rerun', 'LogCleanupJob', '2026-01-01T00:00:00.000Z']);
      expect(never).toEqual({
        code: 3,
        stdout: '',
        stderr: 'job "LogCleanupJob" has no run of the occurrence 2026-01-01T00:00:00.000Z\n',
      });
      // Neither refusal scheduled anything: two runs of the occurrence, none pending.
      expect(await runs.countDocuments({ jobName: 'LogCleanupJob' })).toBe(2);
      const pending = await connection.collection('agendaJobs').findOne({ name: 'LogCleanupJob' });
      expect((pending?.nextRunAt as Date).getTime()).toBeGreaterThan(Date.now() + 30 * 60_000);

      worker.child.kill('SIGTERM');
      expect((await worker.waitForExit(15_000)).code).toBe(0);
    } finally {
      if (worker.child.exitCode === null && worker.child.signalCode === null) {
        worker.child.kill('SIGKILL');
        await worker.waitForExit(10_000).catch(() => undefined);
      }
      await connection.close();
      rmSync(scratch, { recursive: true, force: true });
    }
  }, 90_000);
});
