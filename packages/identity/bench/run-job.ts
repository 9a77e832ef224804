// Child process of the benchmarks: runs one identity job handler and prints its time and RSS as JSON.
import { silentJobLogger } from '@app/shared-jobs';
import type { JobContext } from '@app/shared-jobs';
import {
  createIpAnonymizationJob,
  createRefreshTokenCleanupJob,
  parseIpAnonymizationSettings,
  parseRefreshTokenCleanupSettings,
} from '@app/identity';
import { connect, megabytes } from './support.ts';

const [uri, databaseName, jobKind, batchSizeText, nowText] = process.argv.slice(2);
if (!uri || !databaseName || !jobKind || !batchSizeText || !nowText) {
  throw new Error('usage: run-job.ts URI DATABASE JOB BATCH_SIZE NOW');
}
const batchSize = Number(batchSizeText);
const now = new Date(nowText);
const connection = await connect(uri, databaseName);
const job =
  jobKind === 'refresh-token-cleanup'
    ? createRefreshTokenCleanupJob({
        connection,
        settings: parseRefreshTokenCleanupSettings({ batchSize }),
      })
    : createIpAnonymizationJob({
        connection,
        settings: parseIpAnonymizationSettings({ batchSize }),
      });
const context: JobContext = {
  jobName: job.name,
  runId: 'bench',
  occurrenceAt: now,
  attempt: 1,
  cause: 'schedule',
  clock: { now: () => now },
  logger: silentJobLogger,
  signal: new AbortController().signal,
  reportProgress: () => Promise.resolve(),
};
globalThis.gc?.();
const rssBefore = process.memoryUsage.rss();
let peakRss = rssBefore;
let peakHeapUsed = process.memoryUsage().heapUsed;
const sampler = setInterval(() => {
  const usage = process.memoryUsage();
  peakRss = Math.max(peakRss, usage.rss);
  peakHeapUsed = Math.max(peakHeapUsed, usage.heapUsed);
}, 10);
const started = performance.now();
const result = await job.run(context);
const elapsedMs = performance.now() - started;
clearInterval(sampler);
peakRss = Math.max(peakRss, process.memoryUsage.rss());
globalThis.gc?.();
const heapUsedAfterGc = process.memoryUsage().heapUsed;
await connection.close();
process.stdout.write(
  JSON.stringify({
    elapsedMs,
    result,
    rssBeforeMb: megabytes(rssBefore),
    peakRssMb: megabytes(peakRss),
    maxRssMb: megabytes(process.resourceUsage().maxRSS * 1024),
    peakHeapUsedMb: megabytes(peakHeapUsed),
    heapUsedAfterGcMb: megabytes(heapUsedAfterGc),
  }),
);
