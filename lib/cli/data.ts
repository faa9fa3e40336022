/**
 * Where the CLI's data comes from. ONE function, `resolveData`, turns the
 * `--data` / `--labels` / `--label-column` / `--categorical` / `--missing` /
 * `--image-size` / `--channels` / `--limit` / `--test` / `--test-labels` /
 * `--holdout` options into a training split and, where there is one, a
 * test split. Every format is read by the library's loaders
 * (`data.loadDataset`, and `data.loadImageFolder` for image folders, which
 * decode asynchronously); this module adds the CLI's policy: the bundled
 * data, IDX directories and image folders with splits bring their test
 * split; other data gets one from `--test` (a second CSV/NPY/IDX file, a CSV
 * encoded with the training file's schema) or `--holdout` (a seeded split of
 * the data, stratified by its labels: `data.trainTestSplit`, so the same
 * spec always gives the same split); `--limit` then cuts the training
 * split; options that do not fit the data are usage errors, and a missing
 * path is a one-line error naming the flag.
 * @module
 */
import * as fs from 'node:fs';
import { didYouMean, listColumns } from '../data/columns';
import { clip, quote } from '../data/limits';
import { ArgumentError, DataError, data } from '../index';
import { CliError, UsageError } from './errors';
import type { DataSpec } from './schemas';

type Dataset = data.Dataset;
type LoadedDataset = data.LoadedDataset;
type ColumnRef = data.ColumnRef;
type CsvSchema = NonNullable<LoadedDataset['schema']>;

/** How the user named the data (recorded as is in run.json; its schema and fields: lib/cli/schemas.ts). */
export type { DataSpec };

export interface ResolvedData {
  train: Dataset;
  /**
   * A test split, when the data has one: the bundled data's, an IDX
   * directory's or an image folder's own, a `--test` file, or the rows
   * `--holdout` set aside (labelled when the data is).
   */
  test?: Dataset;
  /** One line for humans: where the data came from. */
  description: string;
  /** CSV data: the schema it was encoded with (the one given, or the one the file defined). */
  schema?: CsvSchema;
  /** Image folders: the size and channels the images were read at (run.json records them, so later reads match). */
  image?: { size: [number, number]; channels: 1 | 3 };
}

export const BUNDLED = 'fashion-mnist';

/**
 * Whether `--data src` names the bundled data (`fashion-mnist`, or one split
 * `fashion-mnist:train` / `fashion-mnist:test`), as `data.loadDataset` reads
 * it: a file or folder of that name takes precedence.
 */
export function isBundled(src: string): boolean {
  return src === BUNDLED || ((src === `${BUNDLED}:train` || src === `${BUNDLED}:test`) && !fs.existsSync(src));
}

/** Whether `--data src` names an image folder, or one split of one (`dir:test`). */
export function isImageData(src: string): boolean {
  const split = /^(.*):(train|test)$/.exec(src);
  return data.isImageFolder(!fs.existsSync(src) && split ? split[1]! : src);
}

function limitRows(ds: Dataset, limit: number | undefined): Dataset {
  if (limit === undefined || limit >= ds.n) return ds;
  return data.subset(ds, 0, limit);
}

/** `N` or `N of M`, after --limit. */
function count(t: Dataset, all: Dataset): string {
  return `${t.n}${t.n < all.n ? ` of ${all.n}` : ''}`;
}

/** --image-size and --channels are for image folders only. */
function imagesOnly(spec: DataSpec, what: string): void {
  const flag = spec.imageSize !== undefined ? '--image-size' : spec.channels !== undefined ? '--channels' : undefined;
  if (flag) throw new UsageError(`${flag}: only for image folders (class subfolders of images), and ${what}`);
}

function csvOnly(spec: DataSpec, what: string): void {
  const flag = spec.labelColumn !== undefined ? '--label-column' : spec.categorical?.length ? '--categorical' : spec.missing !== undefined ? '--missing' : undefined;
  if (flag) throw new UsageError(`${flag}: only for CSV/TSV data, and ${what}`);
}

/** Library messages about CSV options name the CLI flags instead (`options`: those the file was loaded with). */
function withFlags(e: unknown, options: data.LoadOptions): unknown {
  if (e instanceof ArgumentError && /^labels: a CSV file/.test(e.message))
    return new UsageError('--labels: not used with CSV/TSV data; name its label column with --label-column');
  if (e instanceof ArgumentError || e instanceof DataError) {
    const m = e.message
      .replace(/(^|: )label: /, '$1--label-column: ')
      .replace(/(^|: )categorical: /, '$1--categorical: ')
      .replace(/; pass unknownCategory: 'ignore' to encode it as all zeros$/, ' (the run\'s csv-schema.json)') // no CLI option for it
      .replace(
        / Pass missing: 'mean' or 'zero' to fill them\.$/,
        // With a schema the policy is the run's, set by `imix train --missing`.
        options.schema ? ` The run's csv-schema.json says --missing ${options.schema.missing}; train with --missing mean or zero to fill them.` : ' Pass --missing mean or --missing zero to fill them.',
      );
    if (m !== e.message) return e instanceof ArgumentError ? new UsageError(m) : new CliError(m);
  }
  return e;
}

function load(src: string, options: data.LoadOptions): LoadedDataset {
  try {
    return data.loadDataset(src, options);
  } catch (e) {
    throw withFlags(e, options);
  }
}

/** --test / --test-labels / --holdout given for data with its own test split (`what` says which). */
function ownTestSplit(spec: DataSpec, what: string): void {
  if (spec.test !== undefined) throw new UsageError(`--test: ${what} has its own test split; leave --test out`);
  if (spec.holdout !== undefined) throw new UsageError(`--holdout: ${what} has its own test split; leave --holdout out (or name one split as the data, e.g. dir:train)`);
}

/** --test is for single files: `what` says why this data is not one. */
function noTestFile(spec: DataSpec, what: string): void {
  if (spec.test !== undefined)
    throw new UsageError(`--test: only for a single CSV/NPY/IDX --data file, and ${what} (an IDX directory's test files are its t10k-* or test-* files, an image folder's its test/ subfolder; or use --holdout)`);
}

/** The options that name a test split, checked against each other. */
function checkTestOptions(spec: DataSpec): void {
  if (spec.test !== undefined && spec.holdout !== undefined) throw new UsageError('--holdout: give either --test (a test file) or --holdout (a split of the data), not both');
  if (spec.testLabels !== undefined && spec.test === undefined) throw new UsageError('--test-labels: labels of a --test file; give --test too');
  if (spec.test !== undefined && !fs.existsSync(spec.test)) throw new CliError(`--test ${spec.test}: no such file or directory`);
  if (spec.testLabels !== undefined && !fs.existsSync(spec.testLabels)) throw new CliError(`--test-labels ${spec.testLabels}: no such file`);
}

/**
 * The training set `full` (without a test split of its own) split by
 * --holdout (data.trainTestSplit: seeded by the run's --seed, stratified by
 * the labels when `full` has them), then cut by --limit; `what` describes
 * the rows for the description line.
 */
function holdoutAndLimit(full: Dataset, spec: DataSpec, what: (t: Dataset, all: Dataset) => string): { train: Dataset; test?: Dataset; description: string } {
  if (spec.holdout === undefined) {
    const t = limitRows(full, spec.limit);
    return { train: t, description: what(t, full) };
  }
  const seed = spec.holdoutSeed ?? 0;
  if (full.n < 2) throw new CliError(`--holdout ${spec.holdout}: ${full.n} row cannot be split into a training and a test part`);
  const { train, test } = data.trainTestSplit(full, spec.holdout, seed);
  const t = limitRows(train, spec.limit);
  return { train: t, test, description: `${what(t, train)}; test: ${test.n} rows held out (--holdout ${spec.holdout}${full.labels ? ', stratified' : ''}, seed ${seed})` };
}

/**
 * The --test file of a training file `train` (loaded with `trainOptions`):
 * a CSV is encoded with the training file's schema (its columns,
 * categories, label classes and missing-cell policy; a mismatch is an
 * error naming the test file, its line and column); an NPY or IDX file must
 * hold samples of the training data's shape, with --test-labels for labels.
 */
function loadTestFile(spec: DataSpec, train: LoadedDataset, read: ReadOptions): LoadedDataset {
  const file = spec.test!;
  if (fs.statSync(file).isDirectory()) throw new UsageError(`--test ${file}: a directory; --test takes one CSV/NPY/IDX file (an IDX directory or image folder brings its own test split as --data)`);
  const kind = (f: data.DataFormat) => (f === 'csv' ? 'a CSV file' : f === 'npy' ? 'an NPY file' : 'an IDX file');
  if (train.format === 'csv') {
    if (spec.testLabels !== undefined) throw new UsageError(`--test-labels: not used with a CSV test file (its labels are in the training file's label column, ${train.schema!.label === null ? 'which it has none of' : JSON.stringify(train.schema!.columns[train.schema!.label])})`);
    const options: data.LoadOptions = { schema: train.schema! };
    if (read.ignoreLabel) options.ignoreLabel = true;
    const test = load(file, options);
    if (test.format !== 'csv') throw new UsageError(`--test ${file}: ${kind(test.format)}, and the training data is a CSV file; give a CSV file with the training file's columns`);
    return test;
  }
  // A table by its name is refused before it is parsed without the schema a CSV test file needs.
  const named = /\.(csv|tsv|tab|txt)(\.gz)?$/i.test(file);
  const test = named ? undefined : load(file, spec.testLabels !== undefined ? { labels: spec.testLabels } : {});
  if (!test || test.format === 'csv') throw new UsageError(`--test ${file}: a CSV file, and the training data is ${kind(train.format)}; give an NPY or IDX file of the same samples`);
  if (test.sampleShape.join() !== train.sampleShape.join())
    throw new CliError(`--test ${file}: samples of shape [${test.sampleShape.join(', ')}], the training data's are [${train.sampleShape.join(', ')}]`);
  return test;
}

/** Whether the IDX directory `dir` has test images (t10k-* or test-*). */
function hasTestSplit(dir: string): boolean {
  try {
    data.idxSplitFiles(dir, 'test');
    return true;
  } catch (e) {
    if (e instanceof DataError) return false;
    throw e;
  }
}

/** How `resolveData` reads the data, beyond what the user named. */
export interface ReadOptions {
  /**
   * CSV read through a schema with a label column: the column may be left
   * out, empty or hold unseen classes, and no labels are read (`embed`
   * writes features only, so new unlabelled rows must do).
   */
  ignoreLabel?: boolean;
}

/** Index of column `ref` among the schema's columns, or undefined. */
function schemaColumn(schema: CsvSchema, ref: ColumnRef): number | undefined {
  const n = schema.columns.length;
  if (typeof ref === 'number') return ref >= -n && ref < n ? (ref + n) % n : undefined;
  const j = schema.columns.indexOf(ref);
  return j >= 0 ? j : undefined;
}

/** --label-column / --categorical given with a schema must name the schema's own columns. */
function checkAgainstSchema(spec: DataSpec, schema: CsvSchema): void {
  const why = "the run's csv-schema.json fixes the CSV columns";
  // A name that is no column of the run's CSV at all: say so, with the column it most likely meant.
  const unknown = (refs: ColumnRef[]) => {
    const r = refs.find((c) => schemaColumn(schema, c) === undefined);
    return r === undefined ? '' : ` (no column ${quote(r)} in the run's CSV${typeof r === 'string' ? didYouMean(r, schema.columns) : ''})`;
  };
  if (spec.labelColumn !== undefined && schemaColumn(schema, spec.labelColumn) !== (schema.label ?? undefined))
    throw new UsageError(`--label-column ${clip(spec.labelColumn)}: ${why} (label: ${schema.label === null ? 'none' : clip(schema.columns[schema.label])}); leave the option out${unknown([spec.labelColumn])}`);
  if (spec.categorical?.length) {
    const given = spec.categorical.map((c) => schemaColumn(schema, c)).sort((a, b) => (a ?? -1) - (b ?? -1));
    const want = schema.categorical.map((c) => c.column).sort((a, b) => a - b);
    if (given.length !== want.length || given.some((g, i) => g !== want[i]))
      throw new UsageError(
        `--categorical ${clip(spec.categorical.join(','), 80)}: ${why} (categorical: ${listColumns(want.map((j) => schema.columns[j]!)) || 'none'}); leave the option out${unknown(spec.categorical)}`,
      );
  }
}

/**
 * Resolves the data options into datasets. Throws a CliError (exit 1) for a
 * missing path and a UsageError (exit 2) for options that do not fit the
 * data; the library's DataError messages (truncated or malformed files,
 * naming the file and, for tables, the line) pass through.
 */
export async function resolveData(spec: DataSpec, csvSchema?: CsvSchema, read: ReadOptions = {}): Promise<ResolvedData> {
  const src = spec.data ?? BUNDLED;
  checkTestOptions(spec);
  if (isBundled(src)) return resolveBundled(spec, src);
  const { base, isDirectory } = locateData(spec, src);
  if (isDirectory && data.isImageFolder(base)) return resolveImages(spec, src, base);
  if (isDirectory) return resolveIdxDirectory(spec, src, base);
  return resolveFile(spec, src, csvSchema, read);
}

/** The bundled data (`src`: all of it, or one split): its own labels, and its test split unless `src` is that split. */
function resolveBundled(spec: DataSpec, src: string): ResolvedData {
  if (spec.labels) throw new UsageError(`--labels: the bundled ${BUNDLED} data has its own labels`);
  csvOnly(spec, `${src} is the bundled image data`);
  imagesOnly(spec, `${src} is the bundled IDX data`);
  if (src === `${BUNDLED}:test`) {
    noTestFile(spec, `${src} is the bundled data`);
    const r = holdoutAndLimit(data.loadDataset(src), spec, (l, t) => `${count(l, t)} rows`);
    return { ...r, description: `${src} (bundled test split as training data; ${r.description})` };
  }
  ownTestSplit(spec, `the bundled ${BUNDLED} data`);
  const train = data.loadDataset(BUNDLED), test = data.loadDataset(`${BUNDLED}:test`);
  const t = limitRows(train, spec.limit);
  return { train: t, test, description: `${BUNDLED} (bundled; train ${count(t, train)}, test ${test.n})` };
}

/**
 * The path `--data src` names: `src` itself, or for `dir:train` / `dir:test`
 * (when no file has that name) the directory `dir`; it, and the --labels
 * file, must exist (a CliError naming the flag).
 */
function locateData(spec: DataSpec, src: string): { base: string; isDirectory: boolean } {
  // `dir:test` names a split of an IDX directory; anything else must exist.
  const split = /^(.*):(train|test)$/.exec(src);
  const base = !fs.existsSync(src) && split && fs.existsSync(split[1]!) ? split[1]! : src;
  let st: fs.Stats;
  try {
    st = fs.statSync(base);
  } catch {
    throw new CliError(`--data ${src}: no such file or directory`);
  }
  if (base !== src && !st.isDirectory()) throw new CliError(`--data ${src}: ':${split![2]}' names a split of an IDX directory or image folder, and ${base} is a file`);
  if (spec.labels !== undefined && !fs.existsSync(spec.labels)) throw new CliError(`--labels ${spec.labels}: no such file`);
  return { base, isDirectory: st.isDirectory() };
}

/** A directory of IDX files (`base`; `src` may name one split, `base:test`, read as training data). */
function resolveIdxDirectory(spec: DataSpec, src: string, base: string): ResolvedData {
  if (spec.labels) throw new UsageError(`--labels: not used with a data directory (labels are found in ${base})`);
  csvOnly(spec, `${base} is a directory of IDX files`);
  imagesOnly(spec, `${base} is a directory of IDX files`);
  noTestFile(spec, `${base} is a directory of IDX files`);
  if (base === src) return resolveIdxSplits(spec, src);
  // One split of the directory, as training data.
  const r = holdoutAndLimit(load(src, {}), spec, (l, t) => `${count(l, t)} rows${l.labels ? ', labelled' : ''}`);
  return { ...r, description: `${src} (${r.description})` };
}

/** An IDX directory's training files and, where it has them, its test files (of as many features); else a --holdout split. */
function resolveIdxSplits(spec: DataSpec, src: string): ResolvedData {
  const train = load(src, { split: 'train' });
  const test = hasTestSplit(src) ? load(src, { split: 'test' }) : undefined;
  if (test) ownTestSplit(spec, `${src} (with test files)`);
  else if (spec.holdout !== undefined) {
    const r = holdoutAndLimit(train, spec, (l, t) => `train ${count(l, t)}`);
    return { ...r, description: `${src} (${r.description})` };
  }
  if (test && data.featureCount(test) !== data.featureCount(train))
    throw new CliError(`${data.idxSplitFiles(src, 'test').images}: ${data.featureCount(test)} features per row, the training images have ${data.featureCount(train)}`);
  const t = limitRows(train, spec.limit);
  return { train: t, test, description: `${src} (train ${count(t, train)}${test ? `, test ${test.n}` : ''})` };
}

/** How a data file is loaded: with the run's CSV schema (as its training CSV was encoded), or with the CSV flags. */
function fileLoadOptions(spec: DataSpec, csvSchema: CsvSchema | undefined, read: ReadOptions): data.LoadOptions {
  const options: data.LoadOptions = {};
  if (spec.labels !== undefined) options.labels = spec.labels;
  if (csvSchema) {
    // Encoded exactly as the run's training CSV: its columns, categories, label classes and missing-cell policy.
    options.schema = csvSchema;
    if (read.ignoreLabel) options.ignoreLabel = true;
  } else {
    if (spec.labelColumn !== undefined) options.label = spec.labelColumn;
    if (spec.categorical?.length) options.categorical = spec.categorical;
    if (spec.missing !== undefined) options.missing = spec.missing;
  }
  // A --holdout split is stratified by the labels: re-deriving it (embed, which reads no labels otherwise) needs them.
  if (options.ignoreLabel && spec.holdout !== undefined) delete options.ignoreLabel;
  return options;
}

/** A CSV, NPY or IDX file: its test split is the --test file or a --holdout split, if any. */
function resolveFile(spec: DataSpec, src: string, csvSchema: CsvSchema | undefined, read: ReadOptions): ResolvedData {
  imagesOnly(spec, `${src} is a file`);
  const train = load(src, fileLoadOptions(spec, csvSchema, read));
  if (train.format !== 'csv') csvOnly(spec, `${src} is ${train.format === 'npy' ? 'an NPY' : 'an IDX'} file`);
  else if (csvSchema) checkAgainstSchema(spec, csvSchema);
  const labelled = (t: Dataset) => (t.labels ? `, labelled, ${t.numClasses} classes` : '');
  const what = (t: Dataset, all: Dataset) => (train.format === 'csv' ? `CSV; ${count(t, all)} rows, ${data.featureCount(t)} features` : `${count(t, all)} rows`) + labelled(t);
  const schema = train.schema ? { schema: train.schema } : {};
  if (spec.test !== undefined) {
    const test = loadTestFile(spec, train, read);
    const t = limitRows(train, spec.limit);
    return { train: t, test, description: `${src} (${what(t, train)}; test: ${spec.test}, ${test.n} rows${test.labels ? ', labelled' : ''})`, ...schema };
  }
  const r = holdoutAndLimit(train, spec, what);
  return { ...r, description: `${src} (${r.description})`, ...schema };
}

/** `N` or `N of total`, for images (`total`: the files listed). */
function ofImages(t: Dataset, total: number): string {
  return `${t.n}${t.n < total ? ` of ${total}` : ''}`;
}

/** The decoded images' shape and classes, for the description line. */
function imageInfo(t: Dataset): string {
  return `[${t.sampleShape.join(', ')}], ${t.numClasses} classes`;
}

/** The size and channels the images of `t` were read at (its samples are [channels, height, width]). */
function readAt(t: Dataset): ResolvedData['image'] {
  return { size: [t.sampleShape[1]!, t.sampleShape[2]!], channels: t.sampleShape[0] as 1 | 3 };
}

/**
 * An image folder (`base`; `src` may name one split, `base:test`): its
 * training split (decoding only the first --limit images) and, for a folder
 * with train/ and test/ splits, its test split, both read with the same
 * --image-size and --channels (default: the first image's size, RGB).
 */
async function resolveImages(spec: DataSpec, src: string, base: string): Promise<ResolvedData> {
  if (spec.labels) throw new UsageError('--labels: not used with an image folder (its class subfolders are the labels)');
  csvOnly(spec, `${base} is an image folder`);
  noTestFile(spec, `${base} is an image folder`);
  // A --holdout split is drawn from every image, and --limit then cuts its training part: all are decoded.
  const limit = spec.holdout === undefined ? spec.limit : undefined;
  const options: data.ImageFolderOptions = { channels: spec.channels ?? 3, ...(spec.imageSize ? { size: spec.imageSize } : {}) };
  return base !== src ? resolveImageSplit(spec, src, base, options, limit) : resolveImageFolder(spec, src, base, options, limit);
}

/** One split of an image folder (`src`: `base:train` or `base:test`), as training data. */
async function resolveImageSplit(spec: DataSpec, src: string, base: string, options: data.ImageFolderOptions, limit: number | undefined): Promise<ResolvedData> {
  const split = src.slice(base.length + 1) as 'train' | 'test';
  const total = data.listImageFolder(base, { split }).files.length; // listing is cheap; only --limit images are decoded
  const t = await data.loadImageFolder(base, { ...options, split, limit });
  if (spec.holdout !== undefined) {
    const r = holdoutAndLimit(t, spec, (l, a) => `${ofImages(l, a.n)} rows`);
    return { ...r, description: `${src} (images; ${r.description}; ${imageInfo(t)})`, image: readAt(t) };
  }
  return { train: t, description: `${src} (images; ${ofImages(t, total)} rows, ${imageInfo(t)})`, image: readAt(t) };
}

/** A whole image folder: its training images and, where it has one, its test split; else a --holdout split. */
async function resolveImageFolder(spec: DataSpec, src: string, base: string, options: data.ImageFolderOptions, limit: number | undefined): Promise<ResolvedData> {
  const listing = data.listImageFolder(base);
  const train = await data.loadImageFolder(base, { ...options, limit });
  const test = listing.hasSplits && hasImageTestSplit(base) ? await loadImageTestSplit(spec, base, options, train) : undefined;
  if (!test && spec.holdout !== undefined) {
    const r = holdoutAndLimit(train, spec, (l, a) => `train ${ofImages(l, a.n)}`);
    return { ...r, description: `${src} (images; ${r.description}; ${imageInfo(train)})`, image: readAt(train) };
  }
  return { train, test, description: `${src} (images; train ${ofImages(train, listing.files.length)}${test ? `, test ${test.n}` : ''}; ${imageInfo(train)})`, image: readAt(train) };
}

/** The test split of the image folder `base`, read as its training images were and of their shape. */
async function loadImageTestSplit(spec: DataSpec, base: string, options: data.ImageFolderOptions, train: Dataset): Promise<Dataset> {
  ownTestSplit(spec, `${base} (with a test split)`);
  const test = await data.loadImageFolder(base, { ...options, split: 'test' });
  if (test.sampleShape.some((d, i) => d !== train.sampleShape[i]))
    throw new CliError(`${base}: the test images are [${test.sampleShape.join(', ')}] and the training images [${train.sampleShape.join(', ')}]; give --image-size H[xW] to read both at one size`);
  return test;
}

/** Whether the image folder `dir`, which has splits, has a test (or val) one; other problems with it are errors. */
function hasImageTestSplit(dir: string): boolean {
  try {
    data.listImageFolder(dir, { split: 'test' });
    return true;
  } catch (e) {
    if (e instanceof DataError && /^[^\n]*: no test split \(/.test(e.message)) return false;
    throw e;
  }
}
