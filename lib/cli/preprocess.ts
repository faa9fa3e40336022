/**
 * How a run encodes its input, so that `--resume`, `eval` and `embed` read
 * data exactly as training did: the per-feature standardizer, fitted on the
 * training split (after --limit) when `--standardize` is on, and the CSV
 * schema of the training file (columns, categories, label classes, the
 * missing-cell policy and the training means it fills), for CSV data. Both
 * are saved in the run folder (lib/cli/run-folder.ts) and only ever read
 * back, never refitted.
 * @module
 */
import { data } from '../index';
import { type DataSpec, type ReadOptions, type ResolvedData, BUNDLED, resolveData } from './data';
import { CliError } from './errors';
import { STANDARDIZER_FILE, readCsvSchema, readStandardizer } from './run-folder';
import type { SavedStandardizer } from './schemas';

type Dataset = data.Dataset;

export type StandardizeMode = 'auto' | 'on' | 'off';

/** Image samples are [C, H, W]; `auto` standardizes everything else. */
export function wantsStandardize(mode: StandardizeMode, sampleShape: number[]): boolean {
  return mode === 'on' || (mode === 'auto' && sampleShape.length !== 3);
}

/** Fits data.Standardizer on the (training) rows. */
export function fitStandardizer(train: Dataset): SavedStandardizer {
  const s = data.Standardizer.fit(train);
  return { format: 'imix-standardizer/1', features: s.mean.length, mean: Array.from(s.mean), std: Array.from(s.std) };
}

/** `ds` with standardized features (a copy); a feature-count mismatch is a one-line error naming `what`. */
export function applyStandardizer(s: SavedStandardizer, ds: Dataset, what: string): Dataset {
  const f = data.featureCount(ds);
  if (f !== s.features) throw new CliError(`${what}: ${f} features per row, but the run's ${STANDARDIZER_FILE} was fitted on ${s.features}`);
  return { ...ds, x: data.Standardizer.from(s.mean, s.std).apply(ds.x) };
}

/** Both splits standardized with `s` (never refitted). */
export function standardizeData(ds: ResolvedData, s: SavedStandardizer, source: string): ResolvedData {
  return {
    ...ds,
    train: applyStandardizer(s, ds.train, source),
    ...(ds.test ? { test: applyStandardizer(s, ds.test, `${source} (test split)`) } : {}),
  };
}

/**
 * Reads `spec` as the run in `dir` reads data: CSV through the run's schema,
 * features through the run's saved standardizer.
 */
export async function resolveRunData(dir: string, spec: DataSpec, standardize: boolean, read: ReadOptions = {}): Promise<ResolvedData> {
  const ds = await resolveData(spec, readCsvSchema(dir), read);
  return standardize ? standardizeData(ds, readStandardizer(dir), spec.data ?? BUNDLED) : ds;
}
