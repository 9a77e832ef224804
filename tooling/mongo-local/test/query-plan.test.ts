/**
 * The SQLite statements our FerretDB build runs use indexes (docs/ferretdb.md, patches 0004 and
 * 0005): read through the `explain` command, which plans with the same builder as queries, and in
 * the SQLite file itself. Stock FerretDB v1.24.2 scans the table for every one of these queries.
 * Always runs on a server of its own (the bundled build), also when MONGODB_URI is set.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { MongoClient, ObjectId, type Collection, type Db, type Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRepositoryRoot, startLocalMongo, type LocalMongoServer } from '../src/index.js';
import { classifyBuildInfo } from '../src/index.js';

const repositoryRoot = findRepositoryRoot();
const databaseName = 'plans';
const dayMs = 86_400_000;
const firstOccurrence = Date.UTC(2026, 0, 1);

interface JobRun {
  _id: ObjectId;
  jobName: string;
  occurrenceAt: Date;
  attempt: number;
  status: string;
  startedAt: Date;
  finishedAt: Date | null;
}

let scratch: string;
let server: LocalMongoServer;
let client: MongoClient;
let database: Db;
let runs: Collection<JobRun>;
// created up front: the it.each tables below read them when the file is collected
const ids = Array.from({ length: 300 }, () => new ObjectId());

async function startServer(): Promise<void> {
  server = await startLocalMongo({ dataDirectory: join(scratch, 'server') });
  client = new MongoClient(server.uri);
  database = client.db(databaseName);
  runs = database.collection<JobRun>('job_runs');
}

async function stopServer(): Promise<void> {
  await client.close();
  await server.stop();
}

beforeAll(async () => {
  mkdirSync(join(repositoryRoot, '.data'), { recursive: true });
  scratch = mkdtempSync(join(repositoryRoot, '.data', 'query-plan-test-'));
  await startServer();
  await runs.createIndex({ jobName: 1, occurrenceAt: 1, attempt: 1 }, { unique: true, name: 'job_run_occurrence' });
  await runs.createIndex({ jobName: 1, startedAt: -1 }, { name: 'job_run_recent' });
  await runs.createIndex({ finishedAt: 1 }, { name: 'job_run_finished_at' });
  const documents = Array.from({ length: 300 }, (_, index): JobRun => {
    const occurrenceAt = new Date(firstOccurrence + index * dayMs);
    return {
      _id: ids[index]!,
      jobName: `job-${index % 10}`,
      occurrenceAt,
      attempt: 1,
      status: index % 3 === 0 ? 'running' : 'succeeded',
      startedAt: new Date(occurrenceAt.getTime() + 1000),
      finishedAt: index % 3 === 0 ? null : new Date(occurrenceAt.getTime() + 5000),
    };
  });
  await runs.insertMany(documents);
});

afterAll(async () => {
  await stopServer();
  rmSync(scratch, { recursive: true, force: true });
});

interface Explained {
  plan: string[];
  probePlan: string[];
  filterPushdown: boolean;
  sortPushdown: boolean;
}

async function explainFind(find: Document): Promise<Explained> {
  const answer = await database.command({ explain: { find: 'job_runs', ...find } });
  const planner = answer.queryPlanner as { Plan: string[]; ProbePlan?: string[] };
  return {
    plan: planner.Plan.map((line) => line.replace(/^.* detail=/u, '')),
    probePlan: (planner.ProbePlan ?? []).map((line) => line.replace(/^.* detail=/u, '')),
    filterPushdown: answer.filterPushdown as boolean,
    sortPushdown: answer.sortPushdown as boolean,
  };
}

/** The SQLite table of a collection, from FerretDB's metadata table. */
function tableName(sqlite: DatabaseSync, collection: string): string {
  const row = sqlite.prepare('SELECT table_name FROM _ferretdb_collections WHERE name = ?').get(collection);
  return String(row?.table_name);
}

function keyIndexes(sqlite: DatabaseSync, table: string): string[] {
  return sqlite
    .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND name LIKE '\\_ferretdb\\_key\\_%' ESCAPE '\\' ORDER BY name")
    .all(table)
    .map((row) => String(row.name));
}

describe('_id lookups', () => {
  it.each([
    ['{ _id }', { _id: ids[7] }],
    ['{ _id, status }', { _id: ids[7], status: 'succeeded' }],
    ['{ _id: { $eq }, status }', { _id: { $eq: ids[7] }, status: 'succeeded' }],
    ['{ _id: { $in } }', { _id: { $in: [ids[7], ids[8], 'no-such-id'] } }],
    ['{ status, $and: [{ _id }] }', { status: 'succeeded', $and: [{ _id: ids[7] }] }],
  ])('%s searches the _id_ index', async (_, filter: Document) => {
    const explained = await explainFind({ filter });
    expect(explained.filterPushdown).toBe(true);
    expect(explained.plan[0]).toMatch(/^SEARCH job_runs_[0-9a-f]{8} USING INDEX job_runs_[0-9a-f]{8}__id_ \(<expr>=\?\)$/u);
    expect(await runs.find(filter).toArray()).toEqual(
      expect.arrayContaining([expect.objectContaining({ _id: ids[7] })]),
    );
  });

  it('leaves a numeric _id to a scan (its JSON text depends on the number type)', async () => {
    const explained = await explainFind({ filter: { _id: 7 } });
    expect(explained.filterPushdown).toBe(false);
    expect(explained.plan).toEqual([expect.stringMatching(/^SCAN job_runs_[0-9a-f]{8}$/u)]);
  });
});

describe('secondary indexes', () => {
  it('finds the latest runs of a job by walking { jobName, startedAt: -1 } in order', async () => {
    const explained = await explainFind({ filter: { jobName: 'job-3' }, sort: { startedAt: -1 }, limit: 20 });
    expect(explained.plan).toEqual([
      expect.stringMatching(/^SEARCH job_runs_\w+ USING INDEX _ferretdb_key_job_runs_\w+_job_run_recent \(<expr>=\?\)$/u),
    ]);
    expect(explained.sortPushdown).toBe(true);
    // the probe for array or document values is indexed too
    expect(explained.probePlan.filter((line) => /^(SEARCH|SCAN) job_runs_/u.test(line))).toEqual([
      expect.stringMatching(/^SEARCH .* USING INDEX _ferretdb_key_job_runs_\w+_job_run_recent \(<expr>=\?\)$/u),
      expect.stringMatching(/^SEARCH .* USING INDEX _ferretdb_key_job_runs_\w+_job_run_recent \(<expr>=\? AND <expr>=\?\)$/u),
    ]);
    const latest = await runs.find({ jobName: 'job-3' }).sort({ startedAt: -1 }).limit(3).toArray();
    expect(latest.map((run) => run.occurrenceAt.getTime())).toEqual([293, 283, 273].map((day) => firstOccurrence + day * dayMs));
  });

  it('finds an occurrence through { jobName, occurrenceAt, attempt } with two equalities', async () => {
    const occurrenceAt = new Date(firstOccurrence + 13 * dayMs);
    const explained = await explainFind({ filter: { jobName: 'job-3', occurrenceAt } });
    expect(explained.plan).toEqual([
      expect.stringMatching(/^SEARCH .* USING INDEX _ferretdb_key_job_runs_\w+_job_run_occurrence \(<expr>=\? AND <expr>=\?\)$/u),
    ]);
    expect(await runs.countDocuments({ jobName: 'job-3', occurrenceAt })).toBe(1);
  });

  it('selects a finishedAt range through { finishedAt: 1 } (and values without a key)', async () => {
    const before = new Date(firstOccurrence + 30 * dayMs);
    const explained = await explainFind({ filter: { finishedAt: { $lt: before } } });
    expect(explained.plan.filter((line) => /^(SEARCH|SCAN) job_runs_/u.test(line))).toEqual([
      expect.stringMatching(/^SEARCH .* USING INDEX _ferretdb_key_job_runs_\w+_job_run_finished_at \(<expr>>\? AND <expr><\?\)$/u),
      expect.stringMatching(/^SEARCH .* USING INDEX _ferretdb_key_job_runs_\w+_job_run_finished_at \(<expr>=\?\)$/u),
    ]);
    expect(await runs.countDocuments({ finishedAt: { $lt: before } })).toBe(20);
  });

  it('sorts in memory, still searching the index, once an array value makes the index order inexact', async () => {
    await runs.insertOne({ _id: new ObjectId(), jobName: ['job-4', 'other'], occurrenceAt: new Date(0), attempt: 1 } as unknown as JobRun);
    const explained = await explainFind({ filter: { jobName: 'job-4' }, sort: { startedAt: -1 } });
    expect(explained.sortPushdown).toBe(false);
    expect(explained.plan).toEqual([
      expect.stringMatching(/^SEARCH .* USING INDEX _ferretdb_key_job_runs_\w+_job_run_recent \(<expr>=\?\)$/u),
    ]);
    const found = await runs.find({ jobName: 'job-4' }).sort({ startedAt: -1 }).toArray();
    expect(found).toHaveLength(31);
    expect(found[30]?.startedAt).toBeUndefined(); // missing sorts as null, last in descending order
  });
});

describe('the build and its SQLite files', () => {
  it('reports the patch level of the series in buildInfo', async () => {
    const patches = readdirSync(join(repositoryRoot, 'tooling', 'mongo-local', 'ferretdb-patches')).filter((name) =>
      /^\d{4}-.*\.patch$/u.test(name),
    );
    const build = classifyBuildInfo(await database.admin().command({ buildInfo: 1 }));
    expect(build).toMatchObject({ kind: 'ferretdb-patched', ferretdbVersion: 'v1.24.2', patchLevel: patches.length });
  });

  it('keeps a key index per secondary index, and recreates a missing one at start', async () => {
    const expected = ['job_run_finished_at', 'job_run_occurrence', 'job_run_recent'];
    await restartAfter((sqlite, table) => {
      expect(keyIndexes(sqlite, table)).toEqual(expected.map((name) => `_ferretdb_key_${table}_${name}`));
      // as a database written by a build without key indexes
      sqlite.exec(`DROP INDEX "_ferretdb_key_${table}_job_run_recent"`);
      expect(keyIndexes(sqlite, table)).toHaveLength(2);
    });
    inspectFile((sqlite, table) => {
      expect(keyIndexes(sqlite, table)).toEqual(expected.map((name) => `_ferretdb_key_${table}_${name}`));
    });
  });

  it('gives a non-unique index only its key index, drops an older build’s JSON-text index at start, and sizes it', async () => {
    await restartAfter((sqlite, table) => {
      expect(jsonTextIndexes(sqlite, table)).toEqual([`${table}__id_`, `${table}_job_run_occurrence`]);
      // as a database written by a build before patch 0009
      sqlite.exec(`CREATE INDEX "${table}_job_run_recent" ON "${table}" (_ferretdb_sjson->'jobName', _ferretdb_sjson->'startedAt' DESC)`);
      expect(jsonTextIndexes(sqlite, table)).toHaveLength(3);
    });
    inspectFile((sqlite, table) => {
      expect(jsonTextIndexes(sqlite, table)).toEqual([`${table}__id_`, `${table}_job_run_occurrence`]);
    });
    const stats = await database.command({ collStats: 'job_runs' });
    const sizes = stats.indexSizes as Record<string, number>;
    expect(Object.keys(sizes).sort()).toEqual(['_id_', 'job_run_finished_at', 'job_run_occurrence', 'job_run_recent']);
    for (const size of Object.values(sizes)) expect(size).toBeGreaterThan(0);
  });
});

function databaseFile(): string {
  return join(scratch, 'server', 'sqlite', `${databaseName}.sqlite`);
}

/**
 * Stops the server, lets `edit` change the SQLite file of `job_runs` (as an older build left it),
 * and starts the server again, until it answers (its start-up work is done).
 */
async function restartAfter(edit: (sqlite: DatabaseSync, table: string) => void): Promise<void> {
  await stopServer();
  const sqlite = new DatabaseSync(databaseFile());
  try {
    edit(sqlite, tableName(sqlite, 'job_runs'));
  } finally {
    sqlite.close();
  }
  await startServer();
  await runs.findOne({});
}

/** Reads the running server's SQLite file of `job_runs`, read-only. */
function inspectFile(read: (sqlite: DatabaseSync, table: string) => void): void {
  const sqlite = new DatabaseSync(databaseFile(), { readOnly: true });
  try {
    read(sqlite, tableName(sqlite, 'job_runs'));
  } finally {
    sqlite.close();
  }
}

/** FerretDB's own SQLite indexes on the JSON text of fields (not key indexes). */
function jsonTextIndexes(sqlite: DatabaseSync, table: string): string[] {
  return sqlite
    .prepare(
      "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND name NOT LIKE '\\_ferretdb\\_key\\_%' ESCAPE '\\' AND sql IS NOT NULL ORDER BY name",
    )
    .all(table)
    .map((row) => String(row.name));
}
