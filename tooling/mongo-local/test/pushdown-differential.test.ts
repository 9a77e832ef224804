/**
 * Differential test of filter and sort pushdown (docs/ferretdb.md, patches 0004 and 0005): the same
 * corpus and the same generated queries and writes on two servers of our build, one with pushdown
 * and one started with --test-disable-pushdown (every query reads the whole collection and the
 * server filters and sorts in memory, the stock behaviour). The answers must be the same.
 *
 * The corpus mixes types in every field: strings (with characters JSON escapes), int32, doubles
 * (negative, -0, fractions, large), longs (exact as doubles and not), dates, ObjectIds, booleans,
 * null, missing fields, arrays (empty, of documents) and subdocuments. FerretDB v1 cannot store
 * NaN (the server closes the connection), infinities or nested arrays, so none is used.
 *
 * Ties: unsorted answers are compared as sets; sorts end with the unique field `u` (so the order is
 * total) or, on the collection without arrays and subdocuments, are compared by their sort keys.
 * Deterministic: a seeded PRNG. Always runs on servers of its own, also when MONGODB_URI is set.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  BSON,
  Double,
  Int32,
  Long,
  MongoClient,
  ObjectId,
  type Collection,
  type Document,
  type Sort,
} from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRepositoryRoot, startLocalMongo, type LocalMongoServer } from '../src/index.js';
import { disablePushdownArguments } from '../src/testing.js';

const documentsPerCollection = 300;

/** mulberry32: a small seeded PRNG. */
class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let value = this.state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  }

  int(bound: number): number {
    return Math.floor(this.next() * bound);
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(values: readonly T[]): T {
    return values[this.int(values.length)]!;
  }

  sample<T>(values: readonly T[], count: number): T[] {
    return Array.from({ length: count }, () => this.pick(values));
  }
}

const objectIds = Array.from({ length: 4 }, (_, index) => new ObjectId(`65a00000000000000000000${index}`));

/** Values that have an index key (scalars, null): grouped by type for ranges. */
const keyedByType: readonly (readonly unknown[])[] = [
  [null],
  ['', 'a', 'ab', 'b', 'B', 'é', 'a<b&c', 'a"b', 'z', '10', '9'],
  [
    new Int32(-5), new Int32(-1), new Int32(0), new Int32(1), new Int32(2), new Int32(10),
    new Double(-1.5), new Double(-0), new Double(0), new Double(0.5), new Double(1), new Double(2.5),
    new Double(9), new Double(1e10), new Double(-1e300), new Double(1e300),
    Long.fromNumber(5), Long.fromNumber(-7), Long.fromNumber(2 ** 40), Long.fromNumber(1), Long.MIN_VALUE,
  ],
  [new Date(0), new Date(-86_400_000), new Date(1_700_000_000_000), new Date(1_700_000_000_001), new Date(4_102_444_800_000)],
  objectIds,
  [true, false],
];
const keyed = keyedByType.flat();

/** Values without an index key: they match by element, sort by min/max, or compare as documents. */
const keyless: readonly unknown[] = [
  [],
  [new Int32(1), 'a'],
  [{ x: new Int32(1) }, 'a'],
  [null],
  [new Int32(3), new Double(4.5)],
  [new Date(0), 'b'],
  ['b', 'a'],
  [new Int32(-5), new Int32(10)],
  { x: new Int32(1) },
  {},
  { y: 'a', x: new Int32(2) },
  Long.fromString('9007199254740993'),
  Long.MAX_VALUE,
];

const fields = ['a', 'b', 'c', 'd', 'e'] as const;
type Field = (typeof fields)[number];
/** Low cardinality for the first field of the compound index, so that its groups are large. */
const bValues: readonly unknown[] = ['x', 'y', new Int32(1), new Double(1), null];
/**
 * How often a field holds a keyless value in the mixed collection: c only where b is 'x', so that
 * the other groups of { b, c } and the field e can still be walked in index order.
 */
const keylessShare: Record<Field, number> = { a: 0.2, b: 0, c: 0.3, d: 0.05, e: 0 };

const indexes: readonly Document[] = [{ a: 1, u: 1 }, { b: 1, c: -1, u: 1 }, { d: -1 }, { e: 1, u: -1 }];

/** Sorts made total by `u`: compared document by document. Some match an index, some do not. */
const totalSorts: readonly Document[] = [
  { a: 1, u: 1 },
  { a: -1, u: -1 },
  { a: 1, u: -1 },
  { b: 1, c: -1, u: 1 },
  { b: -1, c: 1, u: -1 },
  { c: -1, u: 1 },
  { c: 1, u: -1 },
  { d: -1, u: 1 },
  { e: 1, u: -1 },
  { e: -1, u: 1 },
  { f: 1, u: 1 },
  { u: -1 },
];
/** Sorts with ties: compared by sort keys, on the collection without keyless values only. */
const partialSorts: readonly Document[] = [{ a: 1 }, { a: -1 }, { d: -1 }, { d: 1 }, { b: 1, c: -1 }, { c: 1 }, { e: 1 }];

function documentId(random: Random, position: number): unknown {
  const kind = random.int(10);
  if (kind === 0) return `id-${position}`;
  if (kind === 1) return new Int32(100_000 + position);
  return new ObjectId();
}

function makeDocument(random: Random, position: number, mixed: boolean): Document {
  const document: Document = { _id: documentId(random, position), u: new Int32(position) };
  for (const field of fields) {
    if (random.chance(0.1)) continue; // missing
    const keylessHere = field !== 'c' || document.b === 'x';
    if (mixed && keylessHere && random.chance(keylessShare[field])) document[field] = random.pick(keyless);
    else document[field] = field === 'b' ? random.pick(bValues) : random.pick(keyed);
  }
  document.f = random.pick(keyed);
  document.g = { x: random.pick(keyed) };
  return document;
}

function operand(random: Random): unknown {
  return random.chance(0.85) ? random.pick(keyed) : random.pick(keyless);
}

function condition(random: Random, field: string): Document {
  const sameType = random.pick(keyedByType);
  switch (random.int(11)) {
    case 0:
      return { [field]: field === 'b' && random.chance(0.7) ? random.pick(bValues) : operand(random) };
    case 1:
      return { [field]: { $eq: operand(random) } };
    case 2:
      return { [field]: { $in: random.sample(keyed, 1 + random.int(4)) } };
    case 3:
      return { [field]: { $in: [...random.sample(keyed, random.int(3)), operand(random)] } };
    case 4:
      return { [field]: { [random.pick(['$gt', '$gte', '$lt', '$lte'])]: operand(random) } };
    case 5:
      return {
        [field]: {
          [random.pick(['$gt', '$gte'])]: random.pick(sameType),
          [random.pick(['$lt', '$lte'])]: random.pick(sameType),
        },
      };
    case 6:
      return { [field]: { $gte: operand(random), $in: random.sample(keyed, 3) } };
    case 7:
      return { [field]: { $ne: operand(random) } };
    case 8:
      return { [field]: { $exists: random.chance(0.5) } };
    case 9:
      return { [field]: null };
    default:
      return { [field]: { $lt: random.pick(sameType), $ne: random.pick(keyed) } };
  }
}

function idCondition(random: Random, ids: readonly unknown[]): Document {
  switch (random.int(3)) {
    case 0:
      return { _id: random.pick(ids) };
    case 1:
      return { _id: { $eq: random.pick(ids) } };
    default:
      return { _id: { $in: [...random.sample(ids, 1 + random.int(4)), random.pick(['nope', new ObjectId(), new Int32(7)])] } };
  }
}

function makeFilter(random: Random, ids: readonly unknown[]): Document {
  const conditions = Array.from({ length: random.int(4) }, () => {
    if (random.chance(0.1)) return idCondition(random, ids);
    return condition(random, random.pick([...fields, ...fields, 'f', 'u', 'g.x']));
  });
  if (random.chance(0.1)) conditions.push({ $or: [condition(random, 'a'), condition(random, 'c')] });
  if (random.chance(0.3)) return conditions.length > 0 ? { $and: conditions } : {};
  return Object.assign({}, ...conditions) as Document;
}

/** The canonical, type-exact text of a value. */
function canonical(value: unknown): string {
  return BSON.EJSON.stringify(value, { relaxed: false });
}

/** A value as FerretDB orders it for sorting (scalars only): equal keys for equal values. */
function sortKey(value: unknown): string {
  if (value === undefined || value === null) return 'null';
  if (value instanceof Int32 || value instanceof Double || value instanceof Long) return `number:${Number(value)}`;
  if (typeof value === 'number') return `number:${value}`;
  if (value instanceof Date) return `date:${value.getTime()}`;
  return canonical(value);
}

const bsonOptions = { promoteValues: false, promoteLongs: false } as const;

type Outcome = { value: unknown } | { error: string };

async function outcome(action: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { value: await action() };
  } catch (error) {
    return { error: (error as Error).message.replace(/connection \d+ to [\d.:]+/u, 'connection') };
  }
}

let scratch: string;
const servers: LocalMongoServer[] = [];
const clients: MongoClient[] = [];

beforeAll(async () => {
  mkdirSync(join(findRepositoryRoot(), '.data'), { recursive: true });
  scratch = mkdtempSync(join(findRepositoryRoot(), '.data', 'pushdown-differential-'));
  for (const disablePushdown of [false, true]) {
    const server = await startLocalMongo({
      dataDirectory: join(scratch, disablePushdown ? 'without-pushdown' : 'with-pushdown'),
      ...(disablePushdown ? { serverArguments: disablePushdownArguments } : {}),
    });
    servers.push(server);
    clients.push(new MongoClient(server.uri));
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await Promise.all(servers.map((server) => server.stop()));
  rmSync(scratch, { recursive: true, force: true });
});

/** The collection on the server with pushdown and on the one without. */
function pair(name: string): [Collection, Collection] {
  return [clients[0]!.db('differential').collection(name), clients[1]!.db('differential').collection(name)];
}

async function load(name: string, mixed: boolean, seed: number): Promise<unknown[]> {
  const random = new Random(seed);
  const documents = Array.from({ length: documentsPerCollection }, (_, position) => makeDocument(random, position, mixed));
  for (const collection of pair(name)) {
    for (const key of indexes) await collection.createIndex(key);
    await collection.insertMany(documents.map((document) => ({ ...document })));
  }
  return documents.map((document): unknown => document._id);
}

async function expectSameContents(name: string): Promise<void> {
  const [withPushdown, withoutPushdown] = await Promise.all(
    pair(name).map(async (collection) => (await collection.find({}, bsonOptions).sort({ u: 1 }).toArray()).map(canonical)),
  );
  expect(withPushdown).toEqual(withoutPushdown);
}

describe.each([
  ['mixed', true, 1],
  ['scalar', false, 2],
])('on the %s collection', (name, mixed, seed) => {
  let ids: unknown[];

  beforeAll(async () => {
    ids = await load(name, mixed, seed);
    await load(`${name}_writes`, mixed, seed);
  });

  it('find: filters, sorts, skip and limit give the same documents', async () => {
    const random = new Random(seed * 1000 + 1);
    const sorts = mixed ? totalSorts : [...totalSorts, ...partialSorts];
    let nonEmpty = 0;
    const pushedDown = { filter: 0, sort: 0 };
    for (let query = 0; query < 100; query += 1) {
      const filter = makeFilter(random, ids);
      const sort = random.chance(0.75) ? (random.pick(sorts) as Sort) : undefined;
      const total = sort !== undefined && 'u' in (sort as Document);
      const limit = sort && random.chance(0.5) ? 1 + random.int(20) : 0;
      const skip = sort && random.chance(0.3) ? random.int(5) : 0;
      const answers = await Promise.all(
        pair(name).map((collection) =>
          outcome(async () => {
            let cursor = collection.find(filter, bsonOptions);
            if (sort) cursor = cursor.sort(sort);
            const found = await cursor.skip(skip).limit(limit).toArray();
            if (sort === undefined) return found.map(canonical).sort();
            if (total) return found.map(canonical);
            return found.map((document) => Object.keys(sort).map((key) => sortKey(document[key])).join('|'));
          }),
        ),
      );
      const label = `find ${canonical(filter)} sort ${canonical(sort ?? {})} skip ${skip} limit ${limit}`;
      expect(answers[0], label).toEqual(answers[1]);
      if ('value' in answers[0]! && (answers[0].value as unknown[]).length > 0) nonEmpty += 1;
      const explained = await pair(name)[0].db.command({
        explain: { find: name, filter, ...(sort ? { sort } : {}) },
      });
      if (explained.filterPushdown === true) pushedDown.filter += 1;
      if (explained.sortPushdown === true) pushedDown.sort += 1;
    }
    // the comparison means something: queries select documents, and use the index paths
    expect(nonEmpty).toBeGreaterThan(40);
    expect(pushedDown.filter).toBeGreaterThan(25);
    expect(pushedDown.sort).toBeGreaterThan(mixed ? 5 : 20);
    console.log(`${name}: ${nonEmpty} of 100 finds non-empty, filter pushed down in ${pushedDown.filter}, sort in ${pushedDown.sort}`);
  });

  it('count, countDocuments and distinct give the same answers', async () => {
    const random = new Random(seed * 1000 + 2);
    for (let query = 0; query < 30; query += 1) {
      const filter = makeFilter(random, ids);
      const answers = await Promise.all(
        pair(name).map((collection) =>
          outcome(async () => ({
            count: (await collection.db.command({ count: collection.collectionName, query: filter })).n as number,
            countDocuments: await collection.countDocuments(filter),
            distinct: (await collection.distinct('c', filter)).map(sortKey).sort(),
          })),
        ),
      );
      expect(answers[0], `count ${canonical(filter)}`).toEqual(answers[1]);
    }
  });

  it('updates, deletes and findAndModify with a sort change the same documents', async () => {
    const random = new Random(seed * 1000 + 3);
    const writeIds = (await pair(`${name}_writes`)[0].find({}, bsonOptions).toArray()).map((document) => document._id);
    let nextPosition = documentsPerCollection;
    for (let operation = 0; operation < 40; operation += 1) {
      const filter = makeFilter(random, writeIds);
      const sort = random.pick(totalSorts) as Sort;
      const value = random.chance(0.8) ? random.pick(keyed) : random.pick(keyless);
      const field = random.pick(fields);
      const kind = random.int(6);
      const threshold = new Int32(random.int(documentsPerCollection));
      const inserted = makeDocument(random, nextPosition, mixed);
      nextPosition += 1;
      const answers = await Promise.all(
        pair(`${name}_writes`).map((collection) =>
          outcome(async () => {
            switch (kind) {
              case 0: {
                const result = await collection.updateMany(filter, { $set: { [field]: value, touched: new Int32(operation) } });
                return [result.matchedCount, result.modifiedCount];
              }
              case 1: {
                const result = await collection.updateMany(filter, { $inc: { hits: new Int32(1) } });
                return [result.matchedCount, result.modifiedCount];
              }
              case 2:
                // selective: deleting most of the collection would leave little to compare
                return (await collection.deleteMany({ $and: [filter, { u: { $gte: threshold } }] })).deletedCount;
              case 3:
                return canonical(
                  await collection.findOneAndUpdate(filter, { $set: { [field]: value } }, { sort, returnDocument: 'after', ...bsonOptions }),
                );
              case 4:
                return canonical(await collection.findOneAndDelete(filter, { sort, ...bsonOptions }));
              default:
                return (await collection.insertOne({ ...inserted })).acknowledged;
            }
          }),
        ),
      );
      expect(answers[0], `write ${kind} ${canonical(filter)} sort ${canonical(sort)}`).toEqual(answers[1]);
      if (operation % 10 === 9) await expectSameContents(`${name}_writes`);
    }
    await expectSameContents(`${name}_writes`);
    expect(await pair(`${name}_writes`)[0].countDocuments()).toBeGreaterThan(100);
  });
});

describe('deletes whose filter is only ObjectId _ids (deleted without reading them on our build)', () => {
  it('delete the same documents as the reading path, never a string _id with the same hex digits', async () => {
    const random = new Random(4242);
    const objectIdsOfDocuments = Array.from({ length: 60 }, () => new ObjectId());
    // FerretDB stores an ObjectId _id as the JSON text of its hex digits, the text of that string
    // _id too (one collection cannot hold both: E11000). Strings named like ObjectIds that no
    // document has must survive deletes by those ObjectIds.
    const hexNamed = Array.from({ length: 10 }, () => new ObjectId());
    const documents: Document[] = [
      ...objectIdsOfDocuments.map((_id, position) => ({ _id, u: new Int32(position) })),
      ...hexNamed.map((id, position) => ({ _id: id.toHexString(), u: new Int32(100 + position) })),
      ...Array.from({ length: 10 }, (_, position) => ({ _id: new Int32(200 + position), u: new Int32(200 + position) })),
    ];
    for (const collection of pair('delete_by_ids')) {
      await collection.createIndex({ u: 1 });
      await collection.insertMany(documents.map((document) => ({ ...document })));
    }
    const absent = () => new ObjectId();
    const filters: Document[] = [
      { _id: objectIdsOfDocuments[0] },
      { _id: absent() },
      { _id: { $in: [] } },
      { _id: { $in: [objectIdsOfDocuments[1], objectIdsOfDocuments[1], absent()] } },
      { _id: hexNamed[0] },
      { _id: { $in: hexNamed.slice(1) } },
      { _id: { $in: objectIdsOfDocuments.slice(2, 9) } },
      // Not only ObjectIds: the reading path on both servers.
      { _id: { $in: [objectIdsOfDocuments[9], hexNamed[0]!.toHexString()] } },
    ];
    for (let round = 0; round < 20; round += 1) {
      filters.push({ _id: { $in: random.sample(objectIdsOfDocuments.slice(10), 1 + random.int(6)) } });
    }
    for (const [index, filter] of filters.entries()) {
      // Every fourth single-id filter is sent as a deleteOne (the limited path).
      const one = index % 4 === 0 && filter._id instanceof ObjectId;
      const answers = await Promise.all(
        pair('delete_by_ids').map((collection) =>
          one ? collection.deleteOne(filter).then((result) => result.deletedCount) : collection.deleteMany(filter).then((result) => result.deletedCount),
        ),
      );
      expect(answers[0], `delete ${canonical(filter)}`).toEqual(answers[1]);
    }
    await expectSameContents('delete_by_ids');
    const left = await pair('delete_by_ids')[0].find({}).toArray();
    // The deletes by the hex-named ObjectIds removed no string; the mixed $in removed the first.
    expect(left.filter((document) => typeof document._id === 'string')).toHaveLength(9);
    expect(left.filter((document) => document._id instanceof ObjectId).length).toBeLessThan(60 - 10);
  });
});
