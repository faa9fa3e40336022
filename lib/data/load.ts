/**
 * One entry point for every data format imix reads: {@link loadDataset}
 * picks the loader from the name, the extension or the content
 * ({@link loadDatasetAsync} also reads image folders, which decode
 * asynchronously), and {@link trainTestSplit} cuts a held-out split
 * reproducibly.
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ArgumentError, DataError, ValueError } from '../errors';
import { Generator } from '../random';
import { type CsvOptions, type CsvSchema, checkOptionKeys, csvOptionKeys, loadCsv } from './csv';
import { type Dataset, checkFiniteFeatures, fashionMnist, featureCount, loadIdxDataset } from './dataset';
import { readIdx } from './idx';
import { type ImageFolderOptions, imageFolderOptionKeys, isImageFolder, loadImageFolder } from './images';
import { clip, formatDims, readHead } from './limits';
import { readNpy, readNpyLabels } from './npy';

/** The formats {@link loadDataset} recognizes, and image folders (`'images'`: {@link loadDatasetAsync}, {@link loadImageFolder}). */
export type DataFormat = 'csv' | 'npy' | 'idx' | 'bundled' | 'images';

/** Options of {@link loadDataset}. CSV options apply to CSV/TSV files only. */
export interface LoadOptions extends CsvOptions {
  /** Force a format instead of guessing it from the name and content. */
  format?: DataFormat;
  /** Labels for a .npy or IDX features file: a .npy of integers or an IDX labels file, one per row. */
  labels?: string;
  /** Which split of an IDX directory or an image folder: `'train'` (default) or `'test'`. */
  split?: 'train' | 'test';
  /**
   * Reinterpret each row as this sample shape (its product must equal the
   * feature count), e.g. `[1, 28, 28]` for a CSV of flattened images, so
   * image views (random crop, flip) and CutMix apply.
   */
  sampleShape?: number[];
}

/** The keys LoadOptions adds to CsvOptions (the compiler keeps the list complete). */
const LOAD_OPTION_KEYS: { [K in Exclude<keyof LoadOptions, keyof CsvOptions>]-?: true } = { format: true, labels: true, split: true, sampleShape: true };

/** A loaded dataset, with where it came from and (for CSV) the schema to encode further files. */
export interface LoadedDataset extends Dataset {
  format: DataFormat;
  /** The file or directory read (the bundled data's folder for `fashion-mnist`). */
  source: string;
  /** CSV only: pass it as `{ schema }` to load the matching test file. */
  schema?: CsvSchema;
}

const BUNDLED = /^fashion-mnist(?::(train|test))?$/;

/** The images and labels files of a split in an IDX directory (MNIST naming: train-*, t10k-* or test-*, gzip or not). */
export function idxSplitFiles(dir: string, split: 'train' | 'test'): { images: string; labels: string | undefined } {
  const prefixes = split === 'train' ? ['train'] : ['t10k', 'test'];
  const find = (kind: 'images-idx3' | 'labels-idx1') => {
    for (const p of prefixes)
      for (const sep of ['-', '.'])
        for (const gz of ['.gz', '']) {
          const f = path.join(dir, `${p}-${kind.replace('-', sep)}-ubyte${gz}`);
          if (fs.existsSync(f)) return f;
        }
    return undefined;
  };
  const images = find('images-idx3');
  if (!images) {
    let listing = '';
    try {
      const names = fs.readdirSync(dir);
      listing = names.slice(0, 20).map((f) => clip(f)).join(', ') + (names.length > 20 ? `, … (${names.length} entries)` : '');
    } catch {
      // reported below
    }
    throw new DataError(
      `${dir}: no ${split} images in this directory (looked for ${prefixes.map((p) => `${p}-images-idx3-ubyte[.gz]`).join(', ')}, or class subfolders of images; found: ${listing || 'nothing'})`,
    );
  }
  return { images, labels: find('labels-idx1') };
}

/** Sniffs the format of a file from its first bytes (gzip looked through). */
function sniff(file: string): DataFormat {
  const head = readHead(file, 512); // gzip inflated only as far as these 512 bytes
  if (head.length >= 6 && head[0] === 0x93 && head.toString('latin1', 1, 6) === 'NUMPY') return 'npy';
  if (head.length >= 4 && head[0] === 0 && head[1] === 0 && [0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e].includes(head[2]!) && head[3]! > 0) return 'idx';
  if (head.length === 0) throw new DataError(`${file}: empty file`);
  if (head.includes(0)) throw new DataError(`${file}: unrecognized binary file (not CSV, .npy or IDX)`);
  return 'csv';
}

function formatOf(file: string): DataFormat {
  const base = path.basename(file).toLowerCase().replace(/\.gz$/, '');
  if (base.endsWith('.npy')) return 'npy';
  if (base.endsWith('.csv') || base.endsWith('.tsv') || base.endsWith('.tab') || base.endsWith('.txt')) return 'csv';
  if (base.endsWith('-ubyte') || base.endsWith('.idx') || /idx\d-ubyte/.test(base)) return 'idx';
  return sniff(file);
}

function reshape<T extends Dataset>(ds: T, shape: number[] | undefined, source: string): T {
  if (shape === undefined) return ds;
  if (!Array.isArray(shape) || shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d < 1))
    throw new ArgumentError(`sampleShape: expected an array of positive integers, got ${clip(JSON.stringify(shape))}`);
  const f = shape.reduce((a, b) => a * b, 1);
  if (f !== featureCount(ds))
    throw new DataError(`${source}: sampleShape ${formatDims(shape)} holds ${f} values, but each row has ${featureCount(ds)} features`);
  return { ...ds, sampleShape: [...shape] };
}

function loadNpyDataset(file: string, o: LoadOptions): LoadedDataset {
  const a = readNpy(file);
  if (a.shape.length === 0) throw new DataError(`${file}: a 0-d array is not a dataset; expected [N, ...] rows`);
  const [n, ...rest] = a.shape as [number, ...number[]];
  if (n === 0) throw new DataError(`${file}: no rows (shape ${formatDims(a.shape, '(', ')')})`);
  const sampleShape = rest.length === 0 ? [1] : rest;
  if (sampleShape.some((d) => d === 0)) throw new DataError(`${file}: rows of zero features (shape ${formatDims(a.shape, '(', ')')})`);
  let labels: Int32Array | undefined;
  let numClasses: number | undefined;
  if (o.labels !== undefined) {
    const l = labelsFor(o.labels, n, file);
    labels = l;
    numClasses = l.reduce((m, v) => Math.max(m, v), -1) + 1;
  }
  const ds: LoadedDataset = { x: a.data, n, sampleShape, labels, numClasses, name: o.name ?? path.basename(file), format: 'npy', source: file };
  checkFiniteFeatures(ds.x, featureCount(ds), file);
  return ds;
}

function labelsFor(labelsFile: string, n: number, featuresFile: string): Int32Array {
  if (typeof labelsFile !== 'string') throw new ArgumentError('labels: expected a path string');
  const fmt = formatOf(labelsFile);
  let l: Int32Array;
  if (fmt === 'npy') l = readNpyLabels(labelsFile).data;
  else if (fmt === 'idx') {
    const a = readIdx(labelsFile);
    if (a.dims.length !== 1) throw new DataError(`${labelsFile}: labels must be a 1-D array, got dims ${formatDims(a.dims)}`);
    l = new Int32Array(a.data.length);
    for (let i = 0; i < l.length; i++) {
      const v = a.data[i]!;
      if (!(Number.isInteger(v) && v >= 0 && v < 2 ** 31)) throw new DataError(`${labelsFile}: label ${i} is ${v}; labels must be integers in [0, 2^31)`);
      l[i] = v;
    }
  } else throw new DataError(`${labelsFile}: labels must be a .npy of integers or an IDX labels file`);
  if (l.length !== n) throw new DataError(`${labelsFile}: ${l.length} labels, but ${path.basename(featuresFile)} has ${n} rows`);
  return l;
}

/**
 * Loads a dataset from `spec`:
 *
 * - `'fashion-mnist'`, `'fashion-mnist:train'`, `'fashion-mnist:test'`: the
 *   bundled Fashion-MNIST subset (`[1, 28, 28]` images in [0, 1], labels 0–9).
 * - a directory: IDX files of MNIST layout (`train-images-idx3-ubyte[.gz]`
 *   with `train-labels-idx1-ubyte[.gz]`; `t10k-*` or `test-*` for
 *   `split: 'test'`), also written `dir:test`.
 * - `.csv`, `.tsv`, `.tab`, `.txt` (optionally `.gz`): a table, see
 *   {@link loadCsv} (TSV/TAB default to a tab delimiter). The result carries
 *   the CSV schema.
 * - `.npy`: an `[N, ...]` array (any numeric dtype, as float32); `labels`
 *   names a 1-D .npy of integers (or an IDX labels file).
 * - an IDX file (`*-ubyte`, `.idx`, gzip or not), with optional `labels`.
 * - anything else is sniffed: .npy magic, IDX header, or text as CSV.
 * - an image folder (class subfolders of images) is a DataError: read it
 *   with {@link loadDatasetAsync} or {@link loadImageFolder}.
 *
 * Errors are {@link DataError}s naming the file (and the line and column for
 * tables); features must be finite.
 */
export function loadDataset(spec: string, options: LoadOptions = {}): LoadedDataset {
  if (typeof spec !== 'string' || spec.length === 0) throw new ArgumentError('spec: expected a path or a dataset name such as "fashion-mnist"');
  if (options === null || typeof options !== 'object') throw new ArgumentError('options: expected an object');
  checkOptionKeys(options, csvOptionKeys(...Object.keys(LOAD_OPTION_KEYS)));
  const o = options;
  if (o.split !== undefined && o.split !== 'train' && o.split !== 'test') throw new ArgumentError(`split: expected 'train' or 'test', got ${clip(o.split)}`);
  const bundled = BUNDLED.exec(spec);
  if (bundled && !fs.existsSync(spec)) {
    const split = (bundled[1] as 'train' | 'test' | undefined) ?? o.split ?? 'train';
    const ds = fashionMnist(split);
    return reshape({ ...ds, name: o.name ?? ds.name, format: 'bundled', source: 'fashion-mnist' }, o.sampleShape, spec);
  }
  const { file, split, stat } = locate(spec, o.split);
  if (stat.isDirectory()) {
    if (o.format !== 'idx' && (o.format === 'images' || isImageFolder(file)))
      throw new DataError(`${file}: an image folder; images decode asynchronously: read it with loadDatasetAsync or loadImageFolder`);
    if (o.format !== undefined && o.format !== 'idx') throw new DataError(`${file}: is a directory, but format '${clip(o.format)}' was asked for`);
    const f = idxSplitFiles(file, split ?? 'train');
    const labels = o.labels ?? f.labels;
    const ds = loadIdxDataset(f.images, labels, { name: o.name ?? `${path.basename(path.resolve(file))}-${split ?? 'train'}` });
    return reshape({ ...ds, format: 'idx', source: file }, o.sampleShape, file);
  }
  const format = o.format ?? formatOf(file);
  switch (format) {
    case 'csv': {
      const base = path.basename(file).toLowerCase().replace(/\.gz$/, '');
      const delimiter = o.delimiter ?? o.schema?.delimiter ?? (base.endsWith('.tsv') || base.endsWith('.tab') ? '\t' : ',');
      const { format: _f, labels: _l, split: _s, sampleShape: _sh, ...csvOpts } = o;
      if (o.labels !== undefined) throw new ArgumentError('labels: a CSV file names its label column with the label option');
      const { dataset, schema } = loadCsv(file, { ...csvOpts, delimiter });
      return reshape({ ...dataset, format: 'csv', source: file, schema }, o.sampleShape, file);
    }
    case 'npy':
      return reshape(loadNpyDataset(file, o), o.sampleShape, file);
    case 'idx': {
      const ds = loadIdxDataset(file, o.labels, { name: o.name }); // checks the values, naming the files
      return reshape({ ...ds, format: 'idx', source: file }, o.sampleShape, file);
    }
    case 'bundled': {
      const ds = fashionMnist(split ?? 'train');
      return reshape({ ...ds, format: 'bundled', source: 'fashion-mnist' }, o.sampleShape, spec);
    }
    case 'images':
      throw new DataError(`${file}: format 'images' is a folder of class subfolders, and this is a file`);
    default:
      throw new ArgumentError(`format: expected 'csv', 'npy', 'idx', 'bundled' or 'images', got ${clip(format)}`);
  }
}

/**
 * The path `spec` names, its split and its stat: `dir:test` names a split of
 * a directory that exists when `dir:test` itself does not.
 */
function locate(spec: string, split: 'train' | 'test' | undefined): { file: string; split: 'train' | 'test' | undefined; stat: fs.Stats } {
  let file = spec;
  const m = /^(.*):(train|test)$/.exec(spec);
  if (m && !fs.existsSync(spec) && fs.existsSync(m[1]!)) {
    file = m[1]!;
    split = m[2] as 'train' | 'test';
  }
  try {
    return { file, split, stat: fs.statSync(file) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new DataError(`${file}: cannot read (${code})${code === 'ENOENT' ? '; expected a file, an IDX directory, an image folder or fashion-mnist[:test]' : ''}`);
  }
}

/** Options of {@link loadDatasetAsync}: {@link LoadOptions}, and for image folders {@link ImageFolderOptions}. */
export interface AsyncLoadOptions extends LoadOptions, ImageFolderOptions {}

/** The keys of AsyncLoadOptions that only image folders take. */
const IMAGE_ONLY_KEYS = imageFolderOptionKeys.filter((k) => k !== 'split' && k !== 'name');

/**
 * {@link loadDataset}, and image folders: a directory (or `dir:train`,
 * `dir:test`) with class subfolders of images and no IDX files is read by
 * {@link loadImageFolder} with the image options (`size`, `channels`,
 * `limit`, `concurrency`, `maxPixels`; for other data they are an
 * `ArgumentError`). CSV options, `labels` and `sampleShape` do not apply to
 * an image folder (an `ArgumentError`). Everything else is exactly
 * `loadDataset`.
 *
 * ```ts
 * const photos = await data.loadDatasetAsync('photos:test', { size: [48, 64], channels: 1 });
 * ```
 */
export async function loadDatasetAsync(spec: string, options: AsyncLoadOptions = {}): Promise<LoadedDataset> {
  if (typeof spec !== 'string' || spec.length === 0) throw new ArgumentError('spec: expected a path or a dataset name such as "fashion-mnist"');
  if (options === null || typeof options !== 'object') throw new ArgumentError('options: expected an object');
  checkOptionKeys(options, csvOptionKeys(...Object.keys(LOAD_OPTION_KEYS), ...IMAGE_ONLY_KEYS));
  const given = (keys: readonly string[]) => keys.filter((k) => (options as Record<string, unknown>)[k] !== undefined);
  const bundled = BUNDLED.exec(spec) && !fs.existsSync(spec);
  const folder = !bundled && options.format !== 'idx' ? locate(spec, options.split) : undefined;
  if (folder && folder.stat.isDirectory() && (options.format === 'images' || isImageFolder(folder.file))) {
    const other = given([...csvOptionKeys('labels', 'sampleShape')].filter((k) => k !== 'name'));
    if (other.length) throw new ArgumentError(`${other[0]}: not an option for an image folder (${folder.file}); its options are ${imageFolderOptionKeys.join(', ')}`);
    const imageOptions: Record<string, unknown> = {};
    for (const k of given(imageFolderOptionKeys)) imageOptions[k] = (options as Record<string, unknown>)[k];
    return loadImageFolder(folder.file, { ...(imageOptions as ImageFolderOptions), split: folder.split });
  }
  const imageOnly = given(IMAGE_ONLY_KEYS);
  if (imageOnly.length) throw new ArgumentError(`${imageOnly[0]}: only for image folders, and ${spec} is not one`);
  if (options.format === 'images') throw new DataError(`${spec}: format 'images' needs a folder of class subfolders of images`);
  return loadDataset(spec, options as LoadOptions);
}

/** Rows `idx` of `ds` (a copy) as a new dataset. */
export function selectRows<T extends Dataset>(ds: T, idx: ArrayLike<number>, name?: string): T {
  const f = featureCount(ds);
  const x = new Float32Array(idx.length * f);
  const labels = ds.labels ? new Int32Array(idx.length) : undefined;
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k]!;
    if (!Number.isInteger(i) || i < 0 || i >= ds.n) throw new ValueError(`idx: entry ${k} is ${i}, outside [0, ${ds.n})`);
    x.set(ds.x.subarray(i * f, (i + 1) * f), k * f);
    if (labels) labels[k] = ds.labels![i]!;
  }
  return { ...ds, x, n: idx.length, labels, sampleShape: [...ds.sampleShape], name: name ?? ds.name };
}

/** Options of {@link trainTestSplit}. */
export interface SplitOptions {
  /**
   * Keep each class's share in both parts (default: true when `ds` has
   * labels; without labels the split is a plain random one).
   */
  stratify?: boolean;
}

/**
 * Test rows per class for a stratified split of `nTest` of `counts`' rows:
 * each class c gets floor(n_c·nTest/n), and the rows left over go one each
 * to the classes with the largest remainders n_c·nTest/n − floor(…) (ties:
 * the lower class index), so the counts sum to exactly `nTest` and no class
 * gives more than its share rounded up (a class of one row keeps it for
 * training unless the remainders reach it).
 */
function stratifiedCounts(counts: number[], n: number, nTest: number): number[] {
  // In BigInt: n_c·nTest reaches 2^62 for the largest datasets, past a double's exact integers.
  const N = BigInt(n), T = BigInt(nTest);
  const want = counts.map((c) => Number((BigInt(c) * T) / N));
  let left = nTest - want.reduce((a, b) => a + b, 0);
  const order = counts
    .map((c, k) => ({ k, rem: (BigInt(c) * T) % N })) // the remainder in units of 1/n
    .filter((e) => e.rem > 0n)
    .sort((a, b) => (b.rem > a.rem ? 1 : b.rem < a.rem ? -1 : a.k - b.k));
  for (const e of order) {
    if (left === 0) break;
    want[e.k]!++;
    left--;
  }
  return want;
}

/**
 * Splits `ds` into a training and a test part: `round(n·testFraction)` rows
 * (at least one, at most n−1) go to the test part. The draw is one
 * permutation from the Philox generator `(seed, 0)` of lib/random.ts, so a
 * seed gives the same split on every machine:
 *
 * - **stratified** (the default when `ds` has labels): class c gives
 *   floor(n_c·nTest/n) test rows, plus one for the classes with the largest
 *   remainders until the total is `nTest` (ties: the lower class index); a
 *   class's test rows are the first of its rows in the permutation's order.
 *   Each class keeps its share of the data in both parts, as scikit-learn's
 *   `train_test_split(stratify=labels)` does.
 * - **plain** (no labels, or `stratify: false`): the permutation's first
 *   `nTest` rows.
 *
 * Both parts keep the file's row order and `numClasses`.
 */
export function trainTestSplit<T extends Dataset>(ds: T, testFraction: number, seed = 0, options: SplitOptions = {}): { train: T; test: T } {
  if (!ds || !(ds.x instanceof Float32Array)) throw new ArgumentError('ds: expected a Dataset');
  if (typeof testFraction !== 'number' || !(testFraction > 0 && testFraction < 1))
    throw new ValueError(`testFraction: expected a number in (0, 1), got ${testFraction}`);
  if (options === null || typeof options !== 'object') throw new ArgumentError('options: expected an object');
  checkOptionKeys(options, ['stratify']);
  if (options.stratify !== undefined && typeof options.stratify !== 'boolean') throw new ArgumentError(`stratify: expected a boolean, got ${clip(options.stratify)}`);
  if (ds.n < 2) throw new ValueError(`ds: ${ds.n} rows cannot be split into two non-empty parts`);
  if (options.stratify && !ds.labels) throw new ArgumentError('stratify: the dataset has no labels to stratify by');
  const nTest = Math.min(ds.n - 1, Math.max(1, Math.round(ds.n * testFraction)));
  const perm = new Generator(seed).permutation(ds.n);
  const labels = options.stratify === false ? undefined : ds.labels;
  const isTest = new Uint8Array(ds.n);
  if (labels) {
    const counts: number[] = [];
    for (let i = 0; i < ds.n; i++) counts[labels[i]!] = (counts[labels[i]!] ?? 0) + 1;
    for (let c = 0; c < counts.length; c++) counts[c] ??= 0;
    const need = stratifiedCounts(counts, ds.n, nTest);
    for (let k = 0; k < ds.n; k++) {
      const i = perm[k]!, c = labels[i]!;
      if (need[c]! > 0) {
        need[c]!--;
        isTest[i] = 1;
      }
    }
  } else for (let k = 0; k < nTest; k++) isTest[perm[k]!] = 1;
  const test = new Int32Array(nTest), train = new Int32Array(ds.n - nTest);
  for (let i = 0, a = 0, b = 0; i < ds.n; i++) {
    if (isTest[i]) test[a++] = i;
    else train[b++] = i;
  }
  return { train: selectRows(ds, train, `${ds.name}:train`), test: selectRows(ds, test, `${ds.name}:test`) };
}
