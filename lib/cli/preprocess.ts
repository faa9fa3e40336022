/**
 * What a run remembers about its input encoding, so that `--resume`, `eval`
 * and `embed` read data exactly as training did:
 *   standardizer.json  per-feature mean and std, fitted on the training split
 *                      (after --limit) when `--standardize` is on
 *   csv-schema.json    the CSV schema of the training file (columns,
 *                      categories, label classes, the missing-cell policy
 *                      and the training means it fills), for CSV data
 * Both are written atomically and only ever read back, never refitted.
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { data } from '../index';
import { writeFileAtomic } from '../io/atomic';
import { type DataSpec, type ReadOptions, type ResolvedData, BUNDLED, resolveData } from './data';
import { CliError } from './errors';

type Dataset = data.Dataset;
type CsvSchema = NonNullable<data.LoadedDataset['schema']>;

export const STANDARDIZER_FILE = 'standardizer.json';
export const CSV_SCHEMA_FILE = 'csv-schema.json';

export type StandardizeMode = 'auto' | 'on' | 'off';

/** standardizer.json: x' = (x - mean) / std per feature (float32 values). */
export interface SavedStandardizer {
  format: 'imix-standardizer/1';
  features: number;
  mean: number[];
  std: number[];
}

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

export function writeStandardizer(dir: string, s: SavedStandardizer): void {
  writeFileAtomic(path.join(dir, STANDARDIZER_FILE), JSON.stringify(s) + '\n');
}

export function readStandardizer(dir: string): SavedStandardizer {
  const file = path.join(dir, STANDARDIZER_FILE);
  let s: SavedStandardizer;
  try {
    s = JSON.parse(fs.readFileSync(file, 'utf8')) as SavedStandardizer;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(code === 'ENOENT' ? `${file}: missing (run.json says the run standardizes its input)` : `${file}: damaged (not JSON)`);
  }
  const ok =
    s !== null && typeof s === 'object' && s.format === 'imix-standardizer/1' && Number.isSafeInteger(s.features) && s.features > 0 &&
    Array.isArray(s.mean) && Array.isArray(s.std) && s.mean.length === s.features && s.std.length === s.features &&
    s.mean.every((v) => Number.isFinite(v)) && s.std.every((v) => Number.isFinite(v) && v > 0);
  if (!ok) throw new CliError(`${file}: damaged (expected format imix-standardizer/1 with finite means and positive stds)`);
  return s;
}

export function writeCsvSchema(dir: string, schema: CsvSchema): void {
  writeFileAtomic(path.join(dir, CSV_SCHEMA_FILE), JSON.stringify(schema, null, 1) + '\n');
}

/** The run's CSV schema, or undefined when the run was not trained on a CSV. */
export function readCsvSchema(dir: string): CsvSchema | undefined {
  const file = path.join(dir, CSV_SCHEMA_FILE);
  if (!fs.existsSync(file)) return undefined;
  try {
    const s = JSON.parse(fs.readFileSync(file, 'utf8')) as CsvSchema;
    if (s && s.format === 'imix-csv-schema') return s;
  } catch {
    // fall through
  }
  throw new CliError(`${file}: damaged (not an imix CSV schema)`);
}

/** Both splits standardized with `s` (never refitted). */
export function standardizeData(ds: ResolvedData, s: SavedStandardizer, source: string): ResolvedData {
  return {
    ...ds,
    train: applyStandardizer(s, ds.train, source),
    ...(ds.test ? { test: applyStandardizer(s, ds.test, `${source} (test split)`) } : {}),
  };
}

/** Whether a run standardizes its input: run.json's record (a run folder without one: whether it holds standardizer.json). */
export function runStandardizes(dir: string, recorded: 'on' | 'off' | undefined): boolean {
  return recorded !== undefined ? recorded === 'on' : fs.existsSync(path.join(dir, STANDARDIZER_FILE));
}

/**
 * Reads `spec` as the run in `dir` reads data: CSV through the run's schema,
 * features through the run's saved standardizer.
 */
export function resolveRunData(dir: string, spec: DataSpec, standardize: boolean, read: ReadOptions = {}): ResolvedData {
  const ds = resolveData(spec, readCsvSchema(dir), read);
  return standardize ? standardizeData(ds, readStandardizer(dir), spec.data ?? BUNDLED) : ds;
}
