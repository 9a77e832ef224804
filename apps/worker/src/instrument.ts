/**
 * Registers the MongoDB driver instrumentation at import time. Import this module FIRST
 * (before anything that loads mongoose or mongodb): the instrumentation patches the
 * driver's files as they load. Until `startTelemetry` hands it the real providers it
 * writes to the global (no-op) ones.
 */
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { MongoDBInstrumentation } from '@opentelemetry/instrumentation-mongodb';

/** enhancedDatabaseReporting off: statements carry `?` in place of values (no data, no secrets). */
export const mongoDbInstrumentation = new MongoDBInstrumentation({ enhancedDatabaseReporting: false });

export const disableMongoDbInstrumentation = registerInstrumentations({
  instrumentations: [mongoDbInstrumentation],
});
