/** The CLI's contract without a database: usage errors exit 3 with the usage, --version, --json. */
import { describe, expect, it } from 'vitest';
import { workerVersion } from '../src/version.js';
import { baseEnvironment, runCli } from './support/worker-process.js';

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
