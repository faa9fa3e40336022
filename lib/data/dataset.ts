/**
 * In-memory datasets: rows of float32 features with an optional label each.
 * @module
 */
import * as path from 'node:path';
import { ArgumentError, DataError, ShapeError, ValueError } from '../errors';
import { packageRoot } from '../native';
import { readIdx } from './idx';
import { clip, formatDims } from './limits';

export interface Dataset {
  /** Row-major features, `n × prod(sampleShape)`. */
  x: Float32Array;
  n: number;
  /** Shape of one sample: `[F]` for tabular data, `[C, H, W]` for images. */
  sampleShape: number[];
  /** Class of each row (for evaluation only; training never reads it). */
  labels?: Int32Array;
  numClasses?: number;
  /**
   * Class names, where the data has them (image folders: the class
   * subfolders, sorted): label k is `classes[k]`.
   */
  classes?: string[];
  name: string;
}

export function featureCount(ds: Pick<Dataset, 'sampleShape'>): number {
  return ds.sampleShape.reduce((a, b) => a * b, 1);
}

function checkSampleShape(sampleShape: unknown, what: string): asserts sampleShape is number[] {
  if (!Array.isArray(sampleShape) || sampleShape.length === 0 || !sampleShape.every((d) => Number.isSafeInteger(d) && d > 0))
    throw new ShapeError(`${what}: expected a non-empty list of positive integers, got ${clip(JSON.stringify(sampleShape) ?? String(sampleShape))}`);
}

/**
 * The first NaN or ±Infinity feature is a DataError naming its row and
 * column (`what` names the array). Such values would train to a NaN loss,
 * blamed on the learning rate, and embed silently to NaN features.
 */
export function checkFiniteFeatures(x: Float32Array, features: number, what: string): void {
  const i = firstNonFinite(x);
  if (i >= 0) throw new DataError(`${what}: row ${Math.floor(i / features)}, feature ${i % features} is ${x[i]}; features must be finite`);
}

/** Index of the first NaN or ±Infinity in `x`, or −1. */
export function firstNonFinite(x: Float32Array): number {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) return i;
  return -1;
}

/** Labels are class indices: integers in [0, 2^31); the first other value is a DataError. */
function checkLabelValues(labels: ArrayLike<number>, what: string): void {
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]!;
    if (!(Number.isInteger(v) && v >= 0 && v < 2 ** 31))
      throw new DataError(`${what}: entry ${i} is ${v}; labels must be class indices (non-negative integers)`);
  }
}

/**
 * Checks that `ds` is a consistent Dataset (datasets are plain objects, so a
 * hand-made one can disagree with itself): a Float32Array `x` of exactly
 * `n × prod(sampleShape)` finite values and, if present, one non-negative
 * Int32Array label per row. `what` names the argument in the error.
 */
export function checkDataset(ds: Dataset, what = 'data'): void {
  if (!ds || typeof ds !== 'object' || !(ds.x instanceof Float32Array))
    throw new ArgumentError(`${what}: expected a Dataset (an object with a Float32Array x; see data.fromArray)`);
  checkSampleShape(ds.sampleShape, `${what}.sampleShape`);
  if (!Number.isSafeInteger(ds.n) || ds.n < 0) throw new ShapeError(`${what}.n: expected a non-negative integer, got ${ds.n}`);
  const f = featureCount(ds);
  if (ds.x.length !== ds.n * f)
    throw new ShapeError(`${what}: ${ds.n} rows of ${formatDims(ds.sampleShape)} need ${ds.n * f} values, x has ${ds.x.length}`);
  if (ds.labels !== undefined) {
    if (!(ds.labels instanceof Int32Array)) throw new ArgumentError(`${what}.labels: expected an Int32Array`);
    if (ds.labels.length !== ds.n) throw new ShapeError(`${what}.labels: ${ds.labels.length} labels for ${ds.n} rows`);
    checkLabelValues(ds.labels, `${what}.labels`);
  }
  checkFiniteFeatures(ds.x, f, what);
}

/**
 * Builds a dataset from a Float32Array, checking the sizes and values:
 * features must be finite, labels (an Int32Array or any array of numbers)
 * non-negative integers. `numClasses` is the largest label + 1.
 */
export function fromArray(x: Float32Array, sampleShape: number[], options: { labels?: ArrayLike<number>; name?: string } = {}): Dataset {
  return makeDataset(x, sampleShape, options.labels, options.name ?? 'array', 'x', 'labels');
}

/** fromArray, with `xWhat` and `labelsWhat` naming the features and labels (argument names, or files) in errors. */
function makeDataset(x: Float32Array, sampleShape: number[], labelValues: ArrayLike<number> | undefined, name: string, xWhat: string, labelsWhat: string): Dataset {
  if (!(x instanceof Float32Array)) throw new DataError(`${xWhat}: expected a Float32Array`);
  checkSampleShape(sampleShape, 'sampleShape');
  const f = sampleShape.reduce((a, b) => a * b, 1);
  if (x.length % f !== 0) throw new ShapeError(`sampleShape: ${formatDims(sampleShape)} does not divide ${x.length} values`);
  const n = x.length / f;
  checkFiniteFeatures(x, f, xWhat);
  let labels: Int32Array | undefined;
  let numClasses: number | undefined;
  if (labelValues !== undefined) {
    if (labelValues === null || typeof labelValues !== 'object' || typeof labelValues.length !== 'number')
      throw new ArgumentError(`${labelsWhat}: expected an Int32Array or an array of class indices`);
    if (labelValues.length !== n) throw new ShapeError(`${labelsWhat}: ${labelValues.length} labels for ${n} rows`);
    checkLabelValues(labelValues, labelsWhat);
    labels = labelValues instanceof Int32Array ? labelValues : Int32Array.from(labelValues);
    numClasses = labels.reduce((m, v) => Math.max(m, v), -1) + 1;
  }
  return { x, n, sampleShape: [...sampleShape], labels, numClasses, name };
}

/**
 * Loads an IDX image file (and optionally its label file) as a dataset of
 * `[1, H, W]` samples scaled to [0, 1] (ubyte) or as stored (other types).
 */
export function loadIdxDataset(images: string, labels?: string, options: { name?: string } = {}): Dataset {
  const img = readIdx(images);
  if (img.dims.length < 2) throw new DataError(`${images}: expected [N, ...] samples, got dims ${formatDims(img.dims)}`);
  const [n, ...rest] = img.dims as [number, ...number[]];
  const scale = img.data instanceof Uint8Array ? 1 / 255 : 1;
  const x = new Float32Array(img.data.length);
  for (let i = 0; i < x.length; i++) x[i] = (img.data[i] as number) * scale;
  let lab: ArrayLike<number> | undefined;
  if (labels) {
    const l = readIdx(labels);
    if (l.dims.length !== 1 || l.dims[0] !== n)
      throw new DataError(`${labels}: expected ${n} labels to match ${path.basename(images)}, got dims ${formatDims(l.dims)}`);
    lab = l.data as ArrayLike<number>; // checked to be class indices (a float IDX file may hold others)
  }
  const sampleShape = rest.length === 2 ? [1, rest[0]!, rest[1]!] : rest;
  return makeDataset(x, sampleShape, lab, options.name ?? path.basename(images), images, labels ?? 'labels');
}

/** Folder of the data bundled with the package. */
export function bundledDataDir(): string {
  return path.join(packageRoot(), 'data');
}

/**
 * The bundled Fashion-MNIST subset (10,000 training and 2,000 test images,
 * 28×28, labels 0–9): the default dataset when none is given.
 */
export function fashionMnist(split: 'train' | 'test' = 'train', dir = path.join(bundledDataDir(), 'fashion-mnist')): Dataset {
  return loadIdxDataset(
    path.join(dir, `${split}-images-idx3-ubyte.gz`),
    path.join(dir, `${split}-labels-idx1-ubyte.gz`),
    { name: `fashion-mnist-${split}` },
  );
}

/** Rows [start, end) as a new dataset sharing nothing. */
export function subset(ds: Dataset, start: number, end: number): Dataset {
  checkDataset(ds, 'ds');
  if (!Number.isSafeInteger(start) || start < 0 || start > ds.n) throw new ValueError(`start: expected an integer in [0, ${ds.n}], got ${start}`);
  if (!Number.isSafeInteger(end) || end < start || end > ds.n) throw new ValueError(`end: expected an integer in [${start}, ${ds.n}], got ${end}`);
  const f = featureCount(ds);
  return {
    ...ds,
    x: ds.x.slice(start * f, end * f),
    n: end - start,
    labels: ds.labels?.slice(start, end),
  };
}

/**
 * A column whose standard deviation is at most this fraction of its largest
 * magnitude is constant up to float32 rounding (a float32 holds about 7
 * digits): such columns get scale 1, as scikit-learn's StandardScaler gives
 * zero-variance ones, not a tiny σ that would blow other data's differences
 * from the training value up a millionfold.
 */
const CONSTANT_COLUMN_TOLERANCE = 1e-6;

/**
 * Per-feature standardization fitted on one split (the training split) and
 * applied to any: x' = (x − μ) / σ. A feature that is constant in the fitted
 * split (up to float32 rounding) gets σ = 1: it maps to 0 there, and other
 * data keeps its differences from that value unscaled.
 */
export class Standardizer {
  private constructor(
    readonly mean: Float32Array,
    readonly std: Float32Array,
  ) {}

  static fit(ds: Pick<Dataset, 'x' | 'n' | 'sampleShape'>): Standardizer {
    checkDataset({ x: ds.x, n: ds.n, sampleShape: ds.sampleShape, name: 'ds' }, 'ds'); // labels are not read
    if (ds.n === 0) throw new ValueError('ds: no rows to fit the standardization on');
    const f = featureCount(ds);
    const mean = new Float64Array(f), m2 = new Float64Array(f), maxAbs = new Float64Array(f);
    for (let i = 0; i < ds.n; i++) {
      const row = i * f;
      for (let j = 0; j < f; j++) {
        mean[j]! += ds.x[row + j]!;
        maxAbs[j] = Math.max(maxAbs[j]!, Math.abs(ds.x[row + j]!));
      }
    }
    for (let j = 0; j < f; j++) mean[j]! /= Math.max(ds.n, 1);
    for (let i = 0; i < ds.n; i++) {
      const row = i * f;
      for (let j = 0; j < f; j++) {
        const d = ds.x[row + j]! - mean[j]!;
        m2[j]! += d * d;
      }
    }
    const std = new Float32Array(f);
    for (let j = 0; j < f; j++) {
      const sd = Math.sqrt(m2[j]! / ds.n);
      // (A σ of denormal values can also round to 0 in float32: constant too.)
      std[j] = sd <= CONSTANT_COLUMN_TOLERANCE * maxAbs[j]! || Math.fround(sd) === 0 ? 1 : sd;
    }
    return new Standardizer(Float32Array.from(mean), std);
  }

  /**
   * A standardizer from saved statistics (e.g. a run folder's); std must be
   * positive. Used as given: files saved before constant features got σ = 1
   * hold σ = 1e-6 for them and still load, with their old scaling.
   */
  static from(mean: ArrayLike<number>, std: ArrayLike<number>): Standardizer {
    if (mean.length !== std.length || mean.length === 0)
      throw new ShapeError(`std: ${std.length} values for ${mean.length} means`);
    for (let j = 0; j < std.length; j++)
      if (!(std[j]! > 0) || !Number.isFinite(std[j]!) || !Number.isFinite(mean[j]!))
        throw new ShapeError(`std: feature ${j} needs a finite mean and a positive std, got ${mean[j]} and ${std[j]}`);
    return new Standardizer(Float32Array.from(mean), Float32Array.from(std));
  }

  /** Standardized copy of `x` (rows of the fitted feature count). */
  apply(x: Float32Array): Float32Array {
    const f = this.mean.length;
    if (x.length % f !== 0) throw new ShapeError(`x: ${x.length} values are not rows of ${f} features`);
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i += f)
      for (let j = 0; j < f; j++) out[i + j] = (x[i + j]! - this.mean[j]!) / this.std[j]!;
    return out;
  }
}
