/**
 * Bundles one TypeScript entry of this package with its sources (dependencies stay external)
 * into node_modules/<outputFolder>/<outputName>, so a child process can run it with plain Node.
 * Used by the worker-process fixture of the tests and by `pnpm bench`.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const packageDirectory = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export async function bundleEntry(
  entryPath: string,
  outputFolder: string,
  outputName: string,
): Promise<string> {
  const outputDirectory = join(packageDirectory, 'node_modules', outputFolder);
  mkdirSync(outputDirectory, { recursive: true });
  const outfile = join(outputDirectory, outputName);
  await build({
    entryPoints: [join(packageDirectory, entryPath)],
    outfile,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node22',
    logLevel: 'error',
  });
  return outfile;
}
