/**
 * Operator writes (trigger, pause, resume) that survive a server which rewrites a whole
 * document from a read taken before the write.
 *
 * FerretDB v1 applies `updateOne({ _id }, { $set: { a } })` as "read the document, change
 * it, write all of it back" (docs/ferretdb.md, section 10): a concurrent write to another
 * field of the same job document — Agenda's lock, its state save, another replica
 * scheduling the next occurrence — can put back the value the operator just replaced.
 * So on such a server the write is read back once the writes in flight have landed, and
 * applied again when it was undone. MongoDB updates one document atomically: there the
 * write is made once and not read back.
 */

import { setTimeout as sleep } from 'node:timers/promises';

export interface ConfirmedWriteOptions {
  /** What is being written, for the error when it never sticks. */
  readonly description: string;
  readonly write: () => Promise<void>;
  /** Whether the write is (still) in effect. */
  readonly isApplied: () => Promise<boolean>;
  /** Wait before each read-back, longer than a write in flight takes to land. */
  readonly settleMs: number;
  /** Read-backs before giving up. */
  readonly attempts: number;
}


/** Writes, then reads back and re-applies until the write is in effect after a settle wait. */
export async function writeConfirmed(options: ConfirmedWriteOptions): Promise<void> {
  await options.write();
  for (let attempt = 1; attempt <= options.attempts; attempt += 1) {
    await sleep(options.settleMs);
    if (await options.isApplied()) return;
    await options.write();
  }
  throw new Error(
    `${options.description} was undone by concurrent writes ${options.attempts} times; ` +
      'try again (see docs/ferretdb.md, lost field updates)',
  );
}
