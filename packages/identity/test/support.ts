import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import mongoose, { type Connection } from 'mongoose';

/** A connection of its own to this test file's database (never the global default connection). */
export async function openTestConnection(): Promise<Connection> {
  const connection = mongoose.createConnection(testMongoUri(), {
    dbName: testDatabaseName(),
    serverSelectionTimeoutMS: 10_000,
    monitorCommands: true,
  });
  await connection.asPromise();
  return connection;
}

export const millisecondsPerDay = 24 * 60 * 60 * 1000;

export type RecordedCommand = Readonly<Record<string, unknown>>;

/**
 * Records the commands a connection sends from now on (the driver's command monitoring; the
 * connection must be opened with `monitorCommands: true`, as `openTestConnection` does).
 */
export function recordCommands(connection: Connection): {
  of(commandName: string, collectionName: string): RecordedCommand[];
  stop(): void;
} {
  const commands: { name: string; command: RecordedCommand }[] = [];
  const client = connection.getClient();
  const listener = (event: { commandName: string; command: RecordedCommand }): void => {
    commands.push({ name: event.commandName, command: event.command });
  };
  client.on('commandStarted', listener);
  return {
    of: (commandName, collectionName) =>
      commands
        .filter((entry) => entry.name === commandName && entry.command[commandName] === collectionName)
        .map((entry) => entry.command),
    stop: () => client.off('commandStarted', listener),
  };
}

