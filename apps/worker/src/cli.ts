#!/usr/bin/env node
/**
 * Entry point of `worker`. The MongoDB driver instrumentation is registered before the
 * program (and through its configuration, mongoose and the driver) is loaded: a dynamic
 * import keeps that order after bundling.
 */
import './instrument.js';

const { main } = await import('./program.js');
await main();
