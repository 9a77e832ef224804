/**
 * Runs before each test file: points MONGODB_URI at the run's server and gives the file
 * a database of its own (MONGODB_DATABASE), so no state is shared between files.
 */
import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { expect, inject } from 'vitest';

const testPath = expect.getState().testPath ?? 'file';
const fileLabel = basename(testPath)
  .replace(/\.test\.[cm]?ts$/u, '')
  .replace(/[^a-zA-Z0-9]/gu, '_')
  .slice(0, 30);

process.env.MONGODB_URI = inject('mongoUri');
process.env.MONGODB_DATABASE = `t_${fileLabel}_${randomBytes(4).toString('hex')}`;
