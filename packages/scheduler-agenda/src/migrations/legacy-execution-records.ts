/**
 * Earlier releases kept each job's execution record in its own collection,
 * `recurring_job_executions` (one document per job, the job name as `_id`). The record now
 * lives on the job's Agenda document, so that a completion writes it together with the
 * next occurrence. At start-up the runtime copies the old records of its jobs over unless
 * the document's record is as recent. The old collection is left as it is: a replica of
 * the previous release still writing there during a rolling deployment is adopted at the
 * next start-up, and a rollback still finds the records it knew. Drop it once no replica
 * of an earlier release runs.
 */
import type { RecurringJobExecution } from '@app/shared-jobs';
import type { Db } from 'mongodb';
import type { AgendaMessageScheduler } from '../agenda-message-scheduler.js';

export const legacyExecutionsCollectionName = 'recurring_job_executions';

interface LegacyExecutionDocument {
  _id: string;
  lastExecutedAt?: unknown;
  lastOccurrenceAt?: unknown;
  nextScheduledAt?: unknown;
  lastExecutedBy?: { hostName?: unknown; processId?: unknown } | null;
}

function legacyRecord(document: LegacyExecutionDocument): RecurringJobExecution {
  const executedBy = document.lastExecutedBy ?? null;
  return {
    jobName: document._id,
    lastExecutedAt: document.lastExecutedAt as Date,
    lastOccurrenceAt: document.lastOccurrenceAt as Date,
    nextScheduledAt: (document.nextScheduledAt as Date | null | undefined) ?? null,
    lastExecutedBy:
      executedBy === null
        ? null
        : { hostName: executedBy.hostName as string, processId: executedBy.processId as number },
  };
}

/**
 * Copies the legacy records of `jobNames` onto their Agenda documents (one read of at most
 * `jobNames.length` documents, one write per record newer than the document's). Returns
 * the names of the jobs whose record was adopted. A malformed legacy record stops the
 * start-up with an error naming the job and the field.
 */
export async function adoptLegacyExecutionRecords(
  database: Db,
  scheduler: AgendaMessageScheduler,
  jobNames: readonly string[],
): Promise<string[]> {
  const legacy = await database
    .collection<LegacyExecutionDocument>(legacyExecutionsCollectionName)
    .find({ _id: { $in: [...jobNames] } })
    .toArray();
  const adopted: string[] = [];
  for (const document of legacy) {
    const record = legacyRecord(document);
    const current = await scheduler.getLastExecution(record.jobName);
    if (current !== null && record.lastOccurrenceAt instanceof Date && current.lastOccurrenceAt >= record.lastOccurrenceAt) {
      continue;
    }
    try {
      if (await scheduler.upsertExecution(record)) adopted.push(record.jobName);
    } catch (error) {
      throw new Error(
        `${legacyExecutionsCollectionName}: the record of job "${record.jobName}" cannot be adopted: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
  return adopted;
}
