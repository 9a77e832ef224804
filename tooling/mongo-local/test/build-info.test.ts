import { describe, expect, it } from 'vitest';
import { classifyBuildInfo } from '../src/index.js';

// Trimmed buildInfo answers as the driver returns them (int32 fields are numbers).
const mongodb = { version: '7.0.14', gitVersion: 'ce59cfc6a3c5e5c067dca0d30697edd68d4f5188', bits: 64, ok: 1 };
const stockFerretDb = {
  version: '7.0.42',
  gitVersion: 'unknown',
  ferretdbVersion: 'v1.24.2',
  ferretdbFeatures: { aggregationStages: ['$match'] },
  ok: 1,
};
const patchedFerretDb = {
  ...stockFerretDb,
  ferretdbPatchLevel: 6,
  ferretdbPatchSeries: 'sha256:6918ae6140082ede',
};

describe('classifyBuildInfo', () => {
  it('recognises MongoDB by the absence of ferretdbVersion', () => {
    expect(classifyBuildInfo(mongodb)).toEqual({ kind: 'mongodb', version: '7.0.14' });
  });

  it('recognises our patched FerretDB build and its patch level', () => {
    expect(classifyBuildInfo(patchedFerretDb)).toEqual({
      kind: 'ferretdb-patched',
      ferretdbVersion: 'v1.24.2',
      patchLevel: 6,
      patchSeries: 'sha256:6918ae6140082ede',
    });
  });

  it('treats FerretDB without a patch level of at least 1 as stock', () => {
    expect(classifyBuildInfo(stockFerretDb)).toEqual({ kind: 'ferretdb-stock', ferretdbVersion: 'v1.24.2' });
    for (const ferretdbPatchLevel of [0, -1, 1.5, '6', null]) {
      expect(classifyBuildInfo({ ...stockFerretDb, ferretdbPatchLevel }).kind).toBe('ferretdb-stock');
    }
  });

  it('keeps a patched build without a series hash patched', () => {
    const { ferretdbPatchSeries: _series, ...withoutSeries } = patchedFerretDb;
    expect(classifyBuildInfo(withoutSeries)).toMatchObject({ kind: 'ferretdb-patched', patchLevel: 6, patchSeries: '' });
  });
});
