// Minimal driver-level reproductions of the FerretDB v1.24.2 (SQLite) behaviours that shape
// this package. `node bench/ferretdb-repro.ts` (local FerretDB, or MONGODB_URI when set).
import { Types } from 'mongoose';
import { connect, insertInBatches, startBenchServer, timed } from './support.ts';

const server = await startBenchServer();
try {
  const connection = await connect(server.uri, `repro_identity_${process.pid}`);
  const collection = connection.collection('repro');
  const cutoff = new Date('2026-01-01T00:00:00.000Z');

  // 1. A deleteMany matching more than 32766 documents fails: FerretDB deletes the matches with
  //    one `DELETE ... WHERE _id IN (?, ?, ...)`, beyond SQLite's limit of bound variables.
  await insertInBatches(connection, 'repro', 40_000, (index) => ({
    _id: new Types.ObjectId(),
    expiresAt: new Date(cutoff.getTime() - (index + 1) * 1000),
  }));
  try {
    const result = await collection.deleteMany({ expiresAt: { $lt: cutoff } });
    console.log(`1. deleteMany of 40000 matching documents: deleted ${result.deletedCount}`);
  } catch (error) {
    console.log(`1. deleteMany of 40000 matching documents FAILED: ${(error as Error).message}`);
  }
  await collection.drop();

  // 2. Updating N documents costs one table scan per document (`UPDATE ... WHERE
  //    _ferretdb_sjson->'$._id' = ?` does not match the `_id` index expression `->"_id"`),
  //    so updateMany time grows with N x collection size.
  for (const total of [1000, 2000]) {
    await insertInBatches(connection, 'repro', total, (index) => ({
      _id: new Types.ObjectId(),
      value: index,
    }));
    const { elapsedMs } = await timed(() => collection.updateMany({}, { $set: { touched: true } }));
    console.log(
      `2. updateMany of all ${total} documents: ${elapsedMs.toFixed(0)} ms (${(elapsedMs / total).toFixed(2)} ms per document)`,
    );
    await collection.drop();
  }
  await connection.dropDatabase();
  await connection.close();
} finally {
  await server.stop();
}
