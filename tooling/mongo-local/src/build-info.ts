/**
 * Classifies a server from its `buildInfo`: MongoDB, our patched FerretDB, or stock FerretDB
 * (which the worker refuses: its writes are not atomic). Used by the worker at start-up and by
 * the tests and benchmarks.
 */

/** What a `buildInfo` answer says about the server (docs/ferretdb.md, "The build mark"). */
export type ServerBuild =
  | { readonly kind: 'mongodb'; readonly version: string }
  | {
      readonly kind: 'ferretdb-patched';
      readonly ferretdbVersion: string;
      /** The number of patches of our series in the build (1 or more). */
      readonly patchLevel: number;
      /** A hash of the patch series, e.g. `sha256:6918ae6140082ede`. */
      readonly patchSeries: string;
    }
  | { readonly kind: 'ferretdb-stock'; readonly ferretdbVersion: string };

/**
 * Classifies a `buildInfo` command answer: MongoDB (no `ferretdbVersion`), FerretDB built with
 * our patch series (an integer `ferretdbPatchLevel` of 1 or more), or any other FerretDB, which
 * lacks single-document write atomicity. Pure: pass the answer as the driver returns it.
 */
export function classifyBuildInfo(buildInfo: Readonly<Record<string, unknown>>): ServerBuild {
  const { ferretdbVersion, ferretdbPatchLevel, ferretdbPatchSeries, version } = buildInfo;
  if (typeof ferretdbVersion !== 'string') {
    return { kind: 'mongodb', version: typeof version === 'string' ? version : 'unknown' };
  }
  if (typeof ferretdbPatchLevel === 'number' && Number.isInteger(ferretdbPatchLevel) && ferretdbPatchLevel >= 1) {
    return {
      kind: 'ferretdb-patched',
      ferretdbVersion,
      patchLevel: ferretdbPatchLevel,
      patchSeries: typeof ferretdbPatchSeries === 'string' ? ferretdbPatchSeries : '',
    };
  }
  return { kind: 'ferretdb-stock', ferretdbVersion };
}
