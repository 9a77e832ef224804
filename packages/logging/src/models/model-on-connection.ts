import type { Connection, Model, Schema } from 'mongoose';

/**
 * The model `name` on this connection, compiled once per connection. Models are never
 * registered on mongoose's global default connection: the worker owns its connections.
 */
export function modelOnConnection<TDocument>(
  connection: Connection,
  name: string,
  schema: Schema<TDocument>,
  collectionName: string,
): Model<TDocument> {
  const existing = connection.models[name] as Model<TDocument> | undefined;
  return existing ?? connection.model<TDocument>(name, schema, collectionName);
}
