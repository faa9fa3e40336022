/**
 * Runs from code: {@link loadRun} rebuilds what `imix train` left in a run
 * folder — the method from the configuration its checkpoint records, the
 * weights, and the preprocessing the command line saved beside them (the
 * CSV schema of the training file, `csv-schema.json`, and the per-feature
 * standardizer, `standardizer.json`) — so that
 *
 * ```ts
 * import { loadRun } from 'imix';
 *
 * const run = await loadRun('run/');
 * const features = run.embed([{ x0: 1.2, x1: 0.4, color: 'red' }]);  // raw CSV rows
 * run.dispose();
 * ```
 *
 * gives exactly the features `imix embed run/` writes for the same rows.
 * The command line rebuilds runs (`--resume`, `eval`, `embed`) with the same
 * functions (lib/cli/method.ts, lib/cli/run-folder.ts), so the two never
 * read a run differently.
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { z } from 'zod';
import { ArgumentError, DataError, ShapeError } from './errors';
import { type CsvSchema, parseCsv } from './data/csv';
import { type Dataset, Standardizer, checkDataset, featureCount } from './data/dataset';
import { clip } from './data/limits';
import type { ContrastiveMethod, EmbedOptions } from './methods/base';
import { CHECKPOINT_FILE, CONFIG_FILE, RUN_FILE, readCheckpointMeta } from './methods/checkpoint';
import type { OptimizerOptions } from './methods/options';
import { type MethodEntry, methodEntry } from './methods/registry';
import * as V from './methods/views';
import type { Device } from './tensor';
import type { Precision } from './util/options';
import { didYouMean, guessColumn, listColumns } from './data/columns';
import { type SavedStandardizer, configSchemaOf, csvSchemaSchema, parseChecked, standardizerSchema } from './util/schemas';
// Plain data modules of the command line (no native code, no CLI behaviour): the
// schema of its run.json and the table of view spellings checkpoints are described in.
import type { EncoderSpecData, MixName } from './cli/options';
import { type RunFile, runFileSchema } from './cli/schemas';
import { buildViews, type ViewStep, viewsFromDescribe } from './cli/views';

/** The per-feature standardizer of a run (`--standardize`), fitted on its training split. */
export const STANDARDIZER_FILE = 'standardizer.json';
/** The CSV schema a run's training file was encoded with; every later CSV read of the run uses it. */
export const CSV_SCHEMA_FILE = 'csv-schema.json';

/** How a reader of a run folder reports a damaged or missing file (the library: DataError; the CLI: its CliError). */
type MakeError = (message: string) => Error;
const dataError: MakeError = (m) => new DataError(m);

/**
 * One JSON file of a run folder, checked by `schema`: undefined when it does
 * not exist; not JSON, or another `format`, is `damaged (not <what>)`.
 * @internal
 */
export function readRunJson<T>(file: string, format: string, schema: z.ZodType<T>, what: string, error: MakeError = dataError): T | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // reported below
  }
  if (!raw || typeof raw !== 'object' || (raw as { format?: unknown }).format !== format) throw error(`${file}: damaged (not ${what})`);
  return parseChecked(schema, raw, file, 'damaged: ', error);
}

/** The run's run.json, or null for a folder without one (a run trained from code). @internal */
export function readRunSettings(dir: string, error: MakeError = dataError): RunFile | null {
  return readRunJson(path.join(dir, RUN_FILE), 'imix-run/1', runFileSchema, 'an imix run.json', error) ?? null;
}

/** The run's standardizer.json, or undefined when it has none. @internal */
export function readSavedStandardizer(dir: string, error: MakeError = dataError): SavedStandardizer | undefined {
  return readRunJson(path.join(dir, STANDARDIZER_FILE), 'imix-standardizer/1', standardizerSchema, 'an imix standardizer', error);
}

/** The run's CSV schema, or undefined when the run was not trained on a CSV. @internal */
export function readSavedCsvSchema(dir: string, error: MakeError = dataError): CsvSchema | undefined {
  return readRunJson(path.join(dir, CSV_SCHEMA_FILE), 'imix-csv-schema', csvSchemaSchema, 'an imix CSV schema', error);
}

/**
 * Whether the run in `dir` standardizes its input: run.json's record
 * (`recorded`; a folder without one: whether it holds standardizer.json).
 * @internal
 */
export function runStandardizes(dir: string, recorded: 'on' | 'off' | undefined): boolean {
  return recorded !== undefined ? recorded === 'on' : fs.existsSync(path.join(dir, STANDARDIZER_FILE));
}

/** Everything that defines a method (what a checkpoint's configuration records), as plain data in the command line's terms. @internal */
export interface MethodSettings {
  method: string;
  encoder: EncoderSpecData;
  projection: [number, number];
  mix: { kind: MixName; alpha: number; perBatchLambda?: boolean };
  temperature?: number;
  /** One view list for both views, or one per view. */
  views: ViewStep[] | [ViewStep[], ViewStep[]];
  optimizer: OptimizerOptions;
  seed: number;
  /** The method's own options (the keys of its registry entry's `options`: MoCo's queueSize, ...). */
  own: Record<string, unknown>;
}

/**
 * The library view of a step list: `compose` of the steps in order (the
 * k-th step reads stream slot k), `none` steps dropped; a crop directly
 * followed by a flip (`crop:PAD+flip:P`, `rrc:…+flip:P`) is one fused step.
 * @internal
 */
export function buildView(steps: ViewStep[]): V.View {
  return buildViews(V, steps);
}

/** Whether `v` holds one view list per view. @internal */
export function isViewPair(v: MethodSettings['views']): v is [ViewStep[], ViewStep[]] {
  return v.length === 2 && Array.isArray(v[0]);
}

/** The method settings' library views: one for both views, or a pair. */
function libraryViews(v: MethodSettings['views']): V.View | [V.View, V.View] {
  return isViewPair(v) ? [buildView(v[0]), buildView(v[1])] : buildView(v);
}

/**
 * Constructs the method of `s` on `device`, its gemms at `precision` (its
 * registry entry's `create`); the library's errors for option values pass
 * through.
 * @internal
 */
export async function createFromSettings(entry: MethodEntry, s: MethodSettings, device: string, precision: Precision = 'fp32'): Promise<ContrastiveMethod> {
  const { encoder, projection, mix, temperature, optimizer, seed } = s;
  return entry.create({ encoder, projection, mix, temperature, views: libraryViews(s.views), optimizer, seed, device: device as Device, precision, ...s.own });
}

/** The registry entry of the method a run's configuration names; `dir`: the run folder. @internal */
export function configEntry(name: string, dir: string, error: MakeError = dataError): MethodEntry {
  const entry = methodEntry(name);
  if (!entry) throw error(`${path.join(dir, CONFIG_FILE)}: unknown method '${clip(name)}'`);
  return entry;
}

/**
 * The views of a configuration (as the library describes them) as step
 * lists. One that cannot be rebuilt (custom, from code) is an error for
 * training and the identity otherwise.
 */
function configViews(views: [string, string], forTraining: boolean, file: string, error: MakeError): MethodSettings['views'] {
  let v0 = viewsFromDescribe(views[0]), v1 = viewsFromDescribe(views[1]);
  if (!v0 || !v1) {
    if (forTraining) throw error(`${file}: views ${JSON.stringify(views)} cannot be rebuilt by the CLI`);
    v0 = v0 ?? [];
    v1 = v1 ?? [];
  }
  return JSON.stringify(v0) === JSON.stringify(v1) ? v0 : [v0, v1];
}

/**
 * Method settings from a checkpoint's configuration, checked by its schema
 * (the keys every method records and the method's own, from its registry
 * entry); `dir` is the run folder, named in errors as its config.json.
 * `forTraining` requires views that can be rebuilt; evaluation and
 * embedding do not use the views, so a custom view is replaced by the
 * identity there.
 * @internal
 */
export function settingsFromConfig(cfg: Record<string, unknown>, dir: string, forTraining: boolean, error: MakeError = dataError): MethodSettings {
  const file = path.join(dir, CONFIG_FILE);
  const entry = configEntry(String(cfg.method), dir, error);
  const c = parseChecked(configSchemaOf(entry.options), cfg, file, '', error);
  if (c.encoder.kind === 'module') throw error(`${file}: the encoder is a custom Module (trained from code); the CLI can only rebuild mlp, tabular and resnet encoders`);
  const { kind, alpha = 1, perBatchLambda } = c.mix;
  return {
    method: entry.name,
    encoder: c.encoder,
    projection: c.projection,
    mix: { kind, alpha, ...(perBatchLambda !== undefined ? { perBatchLambda } : {}) },
    ...(c.temperature !== undefined ? { temperature: c.temperature } : {}),
    views: configViews(c.views, forTraining, file, error),
    optimizer: c.optimizer as OptimizerOptions,
    seed: c.seed,
    own: Object.fromEntries(Object.keys(entry.options.shape).flatMap((k) => (c[k] !== undefined ? [[k, c[k]]] : []))),
  };
}

/**
 * The method a checkpoint's configuration `cfg` describes, constructed (not
 * loaded): settingsFromConfig, then the method's constructor, whose errors
 * read `<dir>: cannot rebuild the method from config.json (<why>)`.
 * @internal
 */
export async function methodFromConfig(cfg: Record<string, unknown>, dir: string, o: { device: string; forTraining?: boolean }, error: MakeError = dataError): Promise<ContrastiveMethod> {
  const s = settingsFromConfig(cfg, dir, o.forTraining ?? false, error);
  try {
    return await createFromSettings(configEntry(s.method, dir, error), s, o.device);
  } catch (e) {
    throw error(`${dir}: cannot rebuild the method from config.json (${(e as Error).message})`);
  }
}

/**
 * Checks that `dir` is a run folder with a checkpoint; returns the run's
 * configuration, read from the checkpoint itself (config.json beside it is
 * a readable copy that a kill between the two files' writes can leave
 * missing or one checkpoint behind).
 * @internal
 */
export function readRunConfig(dir: string, error: MakeError = dataError): Record<string, unknown> {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw error(`${dir}: no such run folder`);
  }
  if (!st.isDirectory()) throw error(`${dir}: not a run folder (expected a directory holding ${CHECKPOINT_FILE})`);
  if (!fs.existsSync(path.join(dir, CHECKPOINT_FILE))) throw error(`${dir}: no ${CHECKPOINT_FILE} in this folder (not a run folder, or no epoch finished yet)`);
  return readCheckpointMeta(dir).config;
}

/** A cell of a raw CSV row: text or a number as the file would hold it; `null`, `undefined` and `''` are missing cells. */
export type CsvCell = string | number | boolean | null | undefined;

/**
 * One raw row of a run's CSV data: its cells in the file's column order (the
 * label column may be left out: one cell fewer), or an object keyed by the
 * column names (the label may be left out; a feature left out is a missing
 * cell).
 */
export type CsvRow = readonly CsvCell[] | { readonly [column: string]: CsvCell };

/**
 * What {@link LoadedRun.embed} and {@link LoadedRun.encode} take:
 *
 * - raw CSV rows ({@link CsvRow}, for a run trained on a CSV file): encoded
 *   with the run's CSV schema, as `imix embed --data` encodes a file;
 * - a `Float32Array` of rows of features, or a `Dataset` (e.g. from
 *   `data.loadDataset`): features as the data file holds them (for a CSV,
 *   after its encoding: one-hot columns expanded);
 * - arrays of numbers, for a run not trained on a CSV: rows of features.
 *
 * The run's standardizer, if it has one, is applied to all of them.
 */
export type RunInput = Dataset | Float32Array | readonly CsvRow[];

/** Options of {@link LoadedRun.encode} (and {@link LoadedRun.embed}). */
export interface EncodeOptions {
  /**
   * CSV rows: a category the run's CSV schema does not know is an error
   * (`'error'`, the default) or an all-zero one-hot (`'ignore'`).
   */
  unknownCategory?: 'error' | 'ignore';
}

/** Options of {@link loadRun}. */
export interface LoadRunOptions {
  /** Where to run the model: `'cpu'` (default), `'cuda'` or `'cuda:N'`. */
  device?: Device;
}

const ENCODE_KEYS = ['unknownCategory'];

/** `s` as one CSV field: quoted when it holds the delimiter, a quote or a line break (RFC 4180). */
function csvField(s: string, delimiter: string): string {
  return s.includes(delimiter) || /["\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Row `i`'s cell of `column` as CSV text. */
function cellText(v: unknown, i: number, column: string): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new ArgumentError(`rows[${i}]: column ${JSON.stringify(clip(column))}: expected a string, a number or null, got ${Array.isArray(v) ? 'an array' : typeof v}`);
}

/**
 * The rows as the text of a CSV file the run's schema reads: a header line
 * of the schema's column names when the training file had one (so messages
 * name the columns), then one line per row. Returns the text and how many
 * lines come before rows[0] (messages' line numbers are mapped back).
 */
function rowsAsCsv(rows: readonly CsvRow[], s: CsvSchema): { text: string; before: number } {
  const ncol = s.columns.length;
  const lines: string[] = [];
  let columns: string[];
  if (Array.isArray(rows[0])) {
    const width = (rows[0] as readonly CsvCell[]).length;
    const withLabel = width === ncol;
    if (!withLabel && !(s.label !== null && width === ncol - 1))
      throw new ArgumentError(
        `rows[0]: ${width} cells, the run's CSV schema has ${ncol} columns${s.label !== null ? ` (${ncol - 1} without the label column ${JSON.stringify(s.columns[s.label])})` : ''}: ${listColumns(s.columns)}`,
      );
    columns = withLabel ? s.columns : s.columns.filter((_, j) => j !== s.label);
    rows.forEach((r, i) => {
      if (!Array.isArray(r)) throw new ArgumentError(`rows[${i}]: expected an array of cells like rows[0], got ${r === null ? 'null' : typeof r}`);
      if (r.length !== width) throw new ArgumentError(`rows[${i}]: ${r.length} cells, rows[0] has ${width}`);
      lines.push(r.map((v, j) => csvField(cellText(v, i, columns[j]!), s.delimiter)).join(s.delimiter));
    });
  } else {
    columns = s.columns;
    const index = new Map(s.columns.map((c, j) => [c, j]));
    rows.forEach((r, i) => {
      if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new ArgumentError(`rows[${i}]: expected an object of cells by column name like rows[0], got ${r === null ? 'null' : Array.isArray(r) ? 'an array' : typeof r}`);
      const cells: string[] = new Array<string>(ncol).fill('');
      for (const [k, v] of Object.entries(r)) {
        const j = index.get(k);
        if (j === undefined) {
          const near = guessColumn(k, s.columns);
          throw new ArgumentError(`rows[${i}]: no column ${JSON.stringify(clip(k))} in the run's CSV schema${didYouMean(k, s.columns)} (columns: ${listColumns(s.columns, near >= 0 ? [near] : [])})`);
        }
        cells[j] = cellText(v, i, k);
      }
      lines.push(cells.map((c) => csvField(c, s.delimiter)).join(s.delimiter));
    });
  }
  if (!s.header) return { text: lines.join('\n') + '\n', before: 0 };
  return { text: [columns.map((c) => csvField(c, s.delimiter)).join(s.delimiter), ...lines].join('\n') + '\n', before: 1 };
}

/** A CSV message about the text rowsAsCsv made, in terms of the rows: `rows[i]` for line numbers, and the run's missing-cell policy. */
function rowsMessage(e: unknown, before: number): unknown {
  if (!(e instanceof DataError)) return e;
  const row = (line: string) => String(Number(line) - before - 1);
  const m = e.message
    .replace(/^rows:(\d+):/, (_, l: string) => `rows[${row(l)}]:`)
    .replace(/\(lines ([\d, ]+)((?:, \.\.\.)?)\)/g, (_, ls: string, more: string) => `(rows ${ls.split(', ').map(row).join(', ')}${more})`)
    .replace(/ Pass missing: 'mean' or 'zero' to fill them\.$/, " The run's csv-schema.json fills none (it was trained with missing: 'error').");
  return m === e.message ? e : new DataError(m);
}

/** A run folder rebuilt by {@link loadRun}: the trained method and the run's preprocessing. */
export class LoadedRun {
  /**
   * @param dir The run folder.
   * @param method The method, its checkpoint loaded (step, epoch and weights).
   * @param standardizer The run's standardizer (applied to every input), or null when it does not standardize.
   * @param csvSchema The CSV schema of the run's training file, or null for a run not trained on a CSV.
   * @internal
   */
  constructor(
    readonly dir: string,
    readonly method: ContrastiveMethod,
    readonly standardizer: Standardizer | null,
    readonly csvSchema: CsvSchema | null,
  ) {}

  /** The shape of one input sample the model takes (`[F]` for tables). */
  get sampleShape(): number[] {
    return (this.method.config().sampleShape as number[]).slice();
  }

  /** The width of the encoder's features (`embed`'s columns). */
  get features(): number {
    return this.method.features;
  }

  /**
   * The model's input rows for `rows` (see {@link RunInput}): CSV rows
   * encoded with the run's schema, then every input standardized with the
   * run's standardizer. The labels of CSV rows are never read.
   */
  encode(rows: RunInput, options: EncodeOptions = {}): Dataset {
    if (options === null || typeof options !== 'object') throw new ArgumentError('options: expected an object');
    const extra = Object.keys(options).filter((k) => !ENCODE_KEYS.includes(k));
    if (extra.length) throw new ArgumentError(`${extra[0]}: unknown option (encode options: ${ENCODE_KEYS.join(', ')})`);
    const shape = this.sampleShape, F = featureCount({ sampleShape: shape });
    let ds: Dataset;
    if (rows instanceof Float32Array) {
      if (rows.length % F !== 0) throw new ShapeError(`rows: ${rows.length} values are not rows of ${F} features (the model's input, [${shape.join(', ')}])`);
      ds = { x: rows, n: rows.length / F, sampleShape: shape, name: 'rows' };
    } else if (Array.isArray(rows)) {
      if (rows.length === 0) ds = { x: new Float32Array(0), n: 0, sampleShape: shape, name: 'rows' };
      else if (this.csvSchema) ds = this.readRows(rows as readonly CsvRow[], this.csvSchema, options);
      else ds = this.numberRows(rows as readonly CsvRow[], F, shape);
    } else if (rows && typeof rows === 'object' && (rows as Dataset).x instanceof Float32Array) {
      checkDataset(rows as Dataset, 'rows');
      ds = rows as Dataset;
    } else throw new ArgumentError(`rows: expected raw CSV rows (arrays or objects), a Float32Array of features or a Dataset, got ${rows === null ? 'null' : typeof rows}`);
    const f = featureCount(ds);
    if (f !== F) throw new ShapeError(`rows: ${f} features per row, the run's model takes ${F} ([${shape.join(', ')}])`);
    const x = this.standardizer ? this.standardizer.apply(ds.x) : ds.x;
    return { ...ds, x, sampleShape: shape };
  }

  /**
   * Encoder features f(x) of `rows` (see {@link RunInput}; encoded and
   * standardized as {@link encode} does), row-major `[n, features]`: for
   * the rows of the run's data, exactly what `imix embed` writes.
   */
  embed(rows: RunInput, options: EncodeOptions & EmbedOptions = {}): Float32Array {
    if (options === null || typeof options !== 'object') throw new ArgumentError('options: expected an object');
    const { batchSize, ...encodeOptions } = options;
    const ds = this.encode(rows, encodeOptions);
    if (ds.n === 0) return new Float32Array(0);
    return this.method.embed(ds, batchSize !== undefined ? { batchSize } : {});
  }

  /** Frees the method's tensors; the run cannot be used afterwards. */
  dispose(): void {
    this.method.dispose();
  }

  /** `using run = await loadRun(dir)` disposes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  private readRows(rows: readonly CsvRow[], schema: CsvSchema, o: EncodeOptions): Dataset {
    const { text, before } = rowsAsCsv(rows, schema);
    try {
      const { dataset } = parseCsv(text, {
        schema,
        ignoreLabel: schema.label !== null,
        header: schema.header,
        source: 'rows',
        ...(o.unknownCategory !== undefined ? { unknownCategory: o.unknownCategory } : {}),
      });
      return { ...dataset, name: 'rows' };
    } catch (e) {
      throw rowsMessage(e, before);
    }
  }

  private numberRows(rows: readonly CsvRow[], F: number, shape: number[]): Dataset {
    const x = new Float32Array(rows.length * F);
    rows.forEach((r, i) => {
      if (!Array.isArray(r) || r.length !== F) throw new ShapeError(`rows[${i}]: expected an array of ${F} numbers (the run's model takes [${shape.join(', ')}]), got ${Array.isArray(r) ? `${r.length} values` : r === null ? 'null' : typeof r}`);
      for (let j = 0; j < F; j++) {
        const v = r[j];
        if (typeof v !== 'number' || !Number.isFinite(v)) throw new ArgumentError(`rows[${i}][${j}]: expected a finite number, got ${clip(String(v))}`);
        x[i * F + j] = v;
      }
    });
    return { x, n: rows.length, sampleShape: shape, name: 'rows' };
  }
}

/**
 * Rebuilds the run in `dir` (a folder `imix train` wrote, or `fit` with a
 * checkpointDir): the method from the configuration its checkpoint records
 * (the registry's constructor, views included), the checkpoint's weights
 * and counters, and the run's preprocessing — `csv-schema.json` (CSV runs)
 * and `standardizer.json` (when run.json says the run standardizes) — the
 * way `imix eval` and `imix embed` read it. A missing, damaged or
 * inconsistent file is a {@link DataError} naming it.
 *
 * ```ts
 * import { loadRun } from 'imix';
 *
 * const run = await loadRun('run/');
 * const f = run.embed([['5.1', '3.5', 'red'], ['4.9', '3.0', 'blue']]);  // CSV rows, label column left out
 * console.log(run.method.epoch, f.length / run.features);  // the epochs the run trained; 2 rows
 * run.dispose();
 * ```
 */
export async function loadRun(dir: string, options: LoadRunOptions = {}): Promise<LoadedRun> {
  if (typeof dir !== 'string' || dir === '') throw new ArgumentError(`dir: expected a run folder path, got ${clip(JSON.stringify(dir) ?? String(dir))}`);
  if (options === null || typeof options !== 'object') throw new ArgumentError('options: expected an object');
  const extra = Object.keys(options).filter((k) => k !== 'device');
  if (extra.length) throw new ArgumentError(`${extra[0]}: unknown option (loadRun options: device)`);
  const config = readRunConfig(dir);
  // The preprocessing first: a damaged file fails before any model is built.
  const settings = readRunSettings(dir);
  const saved = runStandardizes(dir, settings?.standardize) ? readSavedStandardizer(dir) : undefined;
  if (runStandardizes(dir, settings?.standardize) && !saved) throw new DataError(`${path.join(dir, STANDARDIZER_FILE)}: missing (run.json says the run standardizes its input)`);
  const schema = readSavedCsvSchema(dir) ?? null;
  const method = await methodFromConfig(config, dir, { device: options.device ?? 'cpu' });
  try {
    await method.load(dir);
    const F = featureCount({ sampleShape: config.sampleShape as number[] });
    if (saved && saved.features !== F)
      throw new DataError(`${path.join(dir, STANDARDIZER_FILE)}: fitted on ${saved.features} features, the run's model takes ${F}`);
    if (schema && schema.features.length !== F)
      throw new DataError(`${path.join(dir, CSV_SCHEMA_FILE)}: encodes ${schema.features.length} features, the run's model takes ${F}`);
    return new LoadedRun(dir, method, saved ? Standardizer.from(saved.mean, saved.std) : null, schema);
  } catch (e) {
    method.dispose();
    throw e;
  }
}
