/**
 * Vitest global setup: one local MongoDB-wire server per test run (or MONGODB_URI as is).
 * Test files read the connection string through the setup file, each with its own database.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { findRepositoryRoot, isProcessAlive, startLocalMongo, stopStaleServer } from '../index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    mongoUri: string;
  }
}


/** Removes servers and folders of earlier test runs whose runner process is gone. */
async function sweepStaleTestRuns(testRunsDirectory: string): Promise<void> {
  if (!existsSync(testRunsDirectory)) return;
  for (const entry of readdirSync(testRunsDirectory)) {
    const ownerProcessId = Number(/^run-(\d+)$/u.exec(entry)?.[1]);
    if (!Number.isInteger(ownerProcessId) || isProcessAlive(ownerProcessId)) continue;
    const runDirectory = join(testRunsDirectory, entry);
    await stopStaleServer(runDirectory);
    rmSync(runDirectory, { recursive: true, force: true });
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const givenUri = process.env.MONGODB_URI;
  if (givenUri) {
    project.provide('mongoUri', givenUri);
    return () => Promise.resolve();
  }
  const testRunsDirectory = join(findRepositoryRoot(), '.data', 'test-runs');
  await sweepStaleTestRuns(testRunsDirectory);
  const runDirectory = join(testRunsDirectory, `run-${process.pid}`);
  const server = await startLocalMongo({ dataDirectory: runDirectory, reuseRunning: false });
  project.provide('mongoUri', server.uri);
  return async () => {
    await server.stop();
    rmSync(runDirectory, { recursive: true, force: true });
  };
}
