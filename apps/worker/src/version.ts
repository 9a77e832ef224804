/** This worker's release: its package version (service.version, `worker --version`, its instance record). */
import { createRequire } from 'node:module';

// `../package.json` from src/ (tests) and from dist/ (the bundle) alike.
export const workerVersion: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
