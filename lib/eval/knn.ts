/**
 * kNN classification on frozen features (the cheap monitor of instance
 * discrimination papers): cosine similarity to every training feature, the
 * k nearest vote with weight exp(sim/T), highest total wins.
 * @module
 */
import { ArgumentError, ShapeError, ValueError } from '../errors';
import { type Dataset, checkDataset, featureCount, firstNonFinite } from '../data/dataset';
import * as ops from '../ops/index';
import { Tensor, type Device } from '../tensor';
import { checkKeys, checkOptions } from '../util/options';

export interface KnnOptions {
  /** Neighbours that vote; default 200. */
  k?: number;
  /** Vote temperature T in exp(sim/T); default 0.1. */
  temperature?: number;
  device?: Device;
  /** Test rows per similarity block; default 256. */
  blockSize?: number;
}
/** Every key of KnnOptions (the compiler keeps the list complete). */
const KNN_OPTION_KEYS: { [K in keyof Required<KnnOptions>]: true } = { k: true, temperature: true, device: true, blockSize: true };

/** Rows scaled to unit L2 norm, in place. */
function normalizeRows(x: Float32Array, D: number): Float32Array {
  for (let i = 0; i < x.length; i += D) {
    let s = 0;
    for (let j = 0; j < D; j++) s += x[i + j]! * x[i + j]!;
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let j = 0; j < D; j++) x[i + j]! *= inv;
  }
  return x;
}

/** Index of the k-th largest value (quickselect on an index array), O(n) expected. */
function topK(sim: Float32Array, k: number, idx: Int32Array): number {
  const n = sim.length;
  for (let i = 0; i < n; i++) idx[i] = i;
  let lo = 0, hi = n - 1;
  const want = Math.min(k, n) - 1;
  while (lo < hi) {
    const pivot = sim[idx[(lo + hi) >> 1]!]!;
    let i = lo, j = hi;
    while (i <= j) {
      while (sim[idx[i]!]! > pivot) i++;
      while (sim[idx[j]!]! < pivot) j--;
      if (i <= j) {
        const t = idx[i]!;
        idx[i] = idx[j]!;
        idx[j] = t;
        i++;
        j--;
      }
    }
    if (want <= j) hi = j;
    else if (want >= i) lo = i;
    else break;
  }
  return Math.min(k, n); // idx[0..k) now holds the k largest (unordered)
}

/** Every label must be a class index in [0, numClasses). */
export function checkLabels(labels: Int32Array, numClasses: number, arg: string): void {
  for (let i = 0; i < labels.length; i++)
    if (!(labels[i]! >= 0 && labels[i]! < numClasses)) throw new ValueError(`${arg}: entry ${i} is ${labels[i]}, outside [0, ${numClasses})`);
}

/**
 * The most classes an evaluation takes: a vote (or probe weight) column per
 * class is allocated, so an absurd count would exhaust memory instead of
 * failing with a message.
 */
export const MAX_CLASSES = 2 ** 24;

/** numClasses must be an integer in [min, max] (max at most MAX_CLASSES; `why` says where a smaller one comes from). */
export function checkNumClasses(numClasses: number, min: number, max = MAX_CLASSES, why = ''): void {
  if (!Number.isSafeInteger(numClasses) || numClasses < min) throw new ValueError(`numClasses: expected an integer >= ${min}, got ${numClasses}`);
  if (numClasses > max) throw new ValueError(`numClasses: ${numClasses} classes is more than ${max}${why}`);
}

/** NaN/Inf features (e.g. from a diverged encoder) would vote silently for class 0 (or train a probe to NaN). */
export function checkFinite(x: Float32Array, D: number, arg: string): void {
  const i = firstNonFinite(x);
  if (i >= 0) throw new ValueError(`${arg}: row ${Math.floor(i / D)} has a non-finite value (${x[i]})`);
}

/**
 * Predicts a class for every test row from its k nearest training rows.
 * Features are row-major with `D` columns; labels in [0, numClasses).
 */
export function knnPredict(
  trainFeatures: Float32Array,
  trainLabels: Int32Array,
  testFeatures: Float32Array,
  D: number,
  numClasses: number,
  options: KnnOptions = {},
): Int32Array {
  checkOptions(options, Object.keys(KNN_OPTION_KEYS), 'options', 'knnPredict options');
  const k = options.k ?? 200, T = options.temperature ?? 0.1, block = options.blockSize ?? 256;
  if (!Number.isInteger(k) || k < 1) throw new ValueError(`k: expected a positive integer, got ${k}`);
  if (!(T > 0 && Number.isFinite(T))) throw new ValueError(`temperature: expected a positive finite number, got ${T}`);
  if (!Number.isSafeInteger(block) || block < 1) throw new ValueError(`blockSize: expected a positive integer, got ${block}`);
  if (!Number.isSafeInteger(D) || D < 1) throw new ValueError(`D: expected a positive integer, got ${D}`);
  checkNumClasses(numClasses, 1);
  if (!(trainFeatures instanceof Float32Array)) throw new ArgumentError('trainFeatures: expected a Float32Array');
  if (!(testFeatures instanceof Float32Array)) throw new ArgumentError('testFeatures: expected a Float32Array');
  if (!(trainLabels instanceof Int32Array)) throw new ArgumentError('trainLabels: expected an Int32Array');
  const nTr = trainLabels.length, nTe = testFeatures.length / D;
  if (nTr === 0) throw new ValueError('trainLabels: no training rows to vote with');
  if (trainFeatures.length !== nTr * D) throw new ShapeError(`trainFeatures: ${trainFeatures.length} values for ${nTr} labels of ${D} features`);
  if (!Number.isInteger(nTe)) throw new ShapeError(`testFeatures: ${testFeatures.length} values are not rows of ${D}`);
  checkLabels(trainLabels, numClasses, 'trainLabels');
  checkFinite(trainFeatures, D, 'trainFeatures');
  checkFinite(testFeatures, D, 'testFeatures');
  const device = options.device ?? 'cpu';
  const train = Tensor.from(normalizeRows(Float32Array.from(trainFeatures), D), [nTr, D], { device });
  const test = normalizeRows(Float32Array.from(testFeatures), D);
  const pred = new Int32Array(nTe);
  const idx = new Int32Array(nTr);
  const votes = new Float64Array(numClasses);
  const tb = Tensor.zeros([block, D], { device }), sb = Tensor.zeros([block, nTr], { device });
  try {
    for (let s = 0; s < nTe; s += block) {
      const e = Math.min(s + block, nTe), m = e - s;
      const q = m === block ? tb : tb.rows(0, m), sims = m === block ? sb : sb.rows(0, m);
      q.set(test.subarray(s * D, e * D));
      ops.gemm(q, train, sims, { transB: true });
      const all = sims.toArray();
      for (let r = 0; r < m; r++) {
        const row = all.subarray(r * nTr, (r + 1) * nTr);
        const kk = topK(row, k, idx);
        // exp((sim − max)/T): the same vote ratios as exp(sim/T), which overflows to
        // Infinity for a small T (every neighbour then weighs the same, or NaN).
        let top = -Infinity;
        for (let j = 0; j < kk; j++) top = Math.max(top, row[idx[j]!]!);
        votes.fill(0);
        for (let j = 0; j < kk; j++) votes[trainLabels[idx[j]!]!]! += Math.exp((row[idx[j]!]! - top) / T);
        let best = 0;
        for (let c = 1; c < numClasses; c++) if (votes[c]! > votes[best]!) best = c;
        pred[s + r] = best;
      }
    }
  } finally {
    train.dispose();
    tb.dispose();
    sb.dispose();
  }
  return pred;
}

/** Fraction of `pred` equal to `labels` (0 for no rows); the two must have the same length. */
export function accuracy(pred: Int32Array, labels: Int32Array): number {
  if (!pred || !labels || typeof pred.length !== 'number' || typeof labels.length !== 'number')
    throw new ArgumentError('pred, labels: expected two arrays of class indices');
  if (pred.length !== labels.length) throw new ShapeError(`labels: ${labels.length} labels for ${pred.length} predictions`);
  let ok = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === labels[i]) ok++;
  return pred.length ? ok / pred.length : 0;
}

/** Anything that can embed a dataset with its frozen encoder. */
export interface Embedder {
  embed(data: Dataset): Float32Array;
  readonly features: number;
  readonly device: Device;
}

/** Options of the kNN monitor (FitOptions.knn). */
export interface KnnMonitorOptions {
  train: Dataset;
  test: Dataset;
  k?: number;
  temperature?: number;
  /** Run every this many epochs (and after the last); default 1. */
  every?: number;
}
/** Every key of KnnMonitorOptions (the compiler keeps the list complete). */
const KNN_MONITOR_KEYS: { [K in keyof Required<KnnMonitorOptions>]: true } = { train: true, test: true, k: true, temperature: true, every: true };

/**
 * Checks monitor options before training starts, so a mistake is reported
 * before an epoch of work: labelled splits of `features` features per row,
 * and valid k, temperature and every.
 */
export function checkKnnMonitor(o: KnnMonitorOptions, features: number): void {
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new ArgumentError('knn: expected { train, test, k?, temperature?, every? }');
  checkKeys(o, Object.keys(KNN_MONITOR_KEYS), 'knn.', 'kNN monitor options');
  for (const split of ['train', 'test'] as const) {
    checkDataset(o[split], `knn.${split}`);
    if (!o[split].labels) throw new ValueError(`knn.${split}: the monitor needs labelled data`);
    if (featureCount(o[split]) !== features)
      throw new ShapeError(`knn.${split}: ${featureCount(o[split])} features per row, the training data has ${features}`);
  }
  if (o.k !== undefined && (!Number.isSafeInteger(o.k) || o.k < 1)) throw new ValueError(`knn.k: expected a positive integer, got ${o.k}`);
  if (o.temperature !== undefined && !(o.temperature > 0 && Number.isFinite(o.temperature)))
    throw new ValueError(`knn.temperature: expected a positive number, got ${o.temperature}`);
  if (o.every !== undefined && (!Number.isSafeInteger(o.every) || o.every < 1))
    throw new ValueError(`knn.every: expected a positive integer, got ${o.every}`);
}

function classCount(ds: Dataset): number {
  if (ds.numClasses !== undefined) return ds.numClasses;
  let max = -1;
  for (const l of ds.labels ?? []) if (l > max) max = l;
  return max + 1;
}

/** kNN accuracy of `model`'s encoder features: train split as memory, test split as queries. */
export function knnMonitor(model: Embedder, o: KnnMonitorOptions): number {
  if (!o.train.labels || !o.test.labels) throw new ValueError('knn: the monitor needs labelled train and test data');
  const numClasses = Math.max(classCount(o.train), classCount(o.test));
  const D = model.features;
  const pred = knnPredict(model.embed(o.train), o.train.labels, model.embed(o.test), D, numClasses, {
    k: o.k,
    temperature: o.temperature,
    device: model.device,
  });
  return accuracy(pred, o.test.labels);
}
