/**
 * Few-label evaluation: a probe trained on a seeded, stratified fraction of
 * the training labels (1% is the usual table), over several draws, reported
 * as mean ± std of the test accuracy; and {@link runProbe}, one entry point
 * for the three probes ('linear', 'pinv', 'knn') so that a protocol runs
 * the same probe on the encoder's features and on the raw input.
 * @module
 */
import { ArgumentError, ValueError } from '../errors';
import { Generator } from '../random';
import { checkOptions } from '../util/options';
import { type KnnOptions, accuracy, knnPredict } from './knn';
import { type PinvProbeOptions, pinvProbe } from './pinv';
import { type ProbeData, type ProbeOptions, checkProbeArrays, checkProbeData, linearProbe } from './probe';

/**
 * Draw d of a subset is the permutation of the Philox stream
 * (seed, SUBSET_STREAM + d): apart from the probe's own streams (its
 * epochs use 2^40 + epoch) and from a run's (below 2^38·256).
 */
export const SUBSET_STREAM = 2 ** 45;

/**
 * A seeded, stratified subset of the rows of `labels`: every class c with
 * n_c rows keeps k_c = min(n_c, max(1, round(fraction·n_c))) of them
 * (round half up), so no class is lost at a small fraction. The rows are
 * the first k_c of their class in the permutation of the Philox stream
 * (seed, {@link SUBSET_STREAM} + draw) (lib/random.ts): the same seed and
 * draw give the same subset on every machine, other draws other subsets.
 * Returns the row indices in increasing order.
 */
export function stratifiedSubset(labels: Int32Array, fraction: number, seed = 0, draw = 0): Int32Array {
  if (!(labels instanceof Int32Array)) throw new ArgumentError('labels: expected an Int32Array of class indices');
  if (typeof fraction !== 'number' || !(fraction > 0 && fraction <= 1)) throw new ValueError(`fraction: expected a number in (0, 1], got ${String(fraction)}`);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new ValueError(`seed: expected a non-negative integer below 2^53, got ${String(seed)}`);
  if (!Number.isSafeInteger(draw) || draw < 0 || draw > 2 ** 52) throw new ValueError(`draw: expected an integer from 0 to 2^52, got ${String(draw)}`);
  let C = 0;
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]!;
    if (v < 0) throw new ValueError(`labels: entry ${i} is ${v}, not a class index`);
    if (v >= C) C = v + 1;
  }
  const count = new Float64Array(C);
  for (let i = 0; i < labels.length; i++) count[labels[i]!]!++;
  const want = count.map((n) => (n === 0 ? 0 : Math.min(n, Math.max(1, Math.round(fraction * n)))));
  const taken = new Float64Array(C);
  const order = new Generator(seed, SUBSET_STREAM + draw).permutation(labels.length);
  const out: number[] = [];
  for (let t = 0; t < order.length; t++) {
    const i = order[t]!, c = labels[i]!;
    if (taken[c]! < want[c]!) {
      taken[c]!++;
      out.push(i);
    }
  }
  return Int32Array.from(out).sort();
}

/** The probes {@link runProbe} runs: the linear probe, the least-squares probe, kNN. */
export type ProbeKind = 'linear' | 'pinv' | 'knn';
/** Every probe kind, in the order they are listed. */
export const PROBE_KINDS: readonly ProbeKind[] = ['linear', 'pinv', 'knn'];

/** A probe and its options. */
export interface ProbeSpec {
  kind: ProbeKind;
  /** Options of {@link linearProbe} (kind 'linear'). */
  linear?: ProbeOptions;
  /** Options of {@link pinvProbe} (kind 'pinv'). */
  pinv?: PinvProbeOptions;
  /** Options of {@link knnPredict} (kind 'knn'); k defaults to 200. */
  knn?: KnnOptions;
}

/** What one probe run reports: test accuracy always, the rest where the probe has it. */
export interface ProbeOutcome {
  testAccuracy: number;
  /** Accuracy on its own training rows (the linear and pinv probes). */
  trainAccuracy?: number;
  /** Epochs and optimizer steps (the linear probe). */
  epochs?: number;
  steps?: number;
  /** Rank of the design matrix (the pinv probe). */
  rank?: number;
}

function checkSpec(spec: ProbeSpec): void {
  if (!spec || typeof spec !== 'object') throw new ArgumentError("probe: expected { kind: 'linear' | 'pinv' | 'knn', ... }");
  checkOptions(spec, ['kind', 'linear', 'pinv', 'knn'], 'probe', 'probe spec');
  if (!PROBE_KINDS.includes(spec.kind)) throw new ValueError(`probe.kind: expected one of ${PROBE_KINDS.join(', ')}, got ${JSON.stringify(spec.kind)}`);
}

/**
 * Runs the probe `spec` names on `data` (see {@link linearProbe},
 * {@link pinvProbe}, {@link knnPredict}, which votes for the test rows and
 * is scored against `data.testLabels`).
 */
export function runProbe(spec: ProbeSpec, data: ProbeData): ProbeOutcome {
  checkSpec(spec);
  checkProbeData(data);
  if (spec.kind === 'linear') {
    const r = linearProbe(data, spec.linear);
    return { testAccuracy: r.testAccuracy, trainAccuracy: r.trainAccuracy, epochs: r.epochs, steps: r.steps };
  }
  if (spec.kind === 'pinv') {
    const r = pinvProbe(data, spec.pinv);
    return { testAccuracy: r.testAccuracy, trainAccuracy: r.trainAccuracy, rank: r.rank };
  }
  const pred = knnPredict(data.trainFeatures, data.trainLabels, data.testFeatures, data.D, data.numClasses, spec.knn);
  return { testAccuracy: accuracy(pred, data.testLabels) };
}

/** Options of {@link fewLabelProbe}. */
export interface FewLabelOptions {
  /** The fraction of each class's training rows a draw keeps, in (0, 1] (see {@link stratifiedSubset}). */
  fraction: number;
  /** Subsets drawn (and probes trained); default 5. */
  draws?: number;
  /** Seed of the subsets; draw d is {@link stratifiedSubset}(labels, fraction, seed, d). Default 0. */
  seed?: number;
}
/** Every key of FewLabelOptions (the compiler keeps the list complete). */
const FEW_LABEL_KEYS: { [K in keyof Required<FewLabelOptions>]: true } = { fraction: true, draws: true, seed: true };

/** The most draws {@link fewLabelProbe} takes (each trains a probe). */
export const MAX_DRAWS = 1000;

/** What {@link fewLabelProbe} returns. */
export interface FewLabelResult {
  /** Mean and sample standard deviation (n − 1; 0 for one draw) of the draws' test accuracies. */
  mean: number;
  std: number;
  /** Each draw's outcome, in draw order. */
  draws: ProbeOutcome[];
  /** Training rows each draw keeps (the same for every draw: the per-class counts are fixed). */
  rows: number;
}

/** Mean and sample standard deviation (n − 1 in the denominator; 0 for fewer than 2 values). */
export function meanStd(values: readonly number[]): { mean: number; std: number } {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, std: 0 };
  return { mean, std: Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) };
}

/** Rows `idx` of the row-major [n, D] `x`, and of `labels`. */
function selectRows(x: Float32Array, labels: Int32Array, D: number, idx: Int32Array): { x: Float32Array; labels: Int32Array } {
  const out = new Float32Array(idx.length * D);
  for (let r = 0; r < idx.length; r++) out.set(x.subarray(idx[r]! * D, (idx[r]! + 1) * D), r * D);
  return { x: out, labels: Int32Array.from(idx, (i) => labels[i]!) };
}

/**
 * The few-label protocol: for draw d = 0..draws−1, the probe `spec` trained
 * on the stratified subset {@link stratifiedSubset}(data.trainLabels,
 * fraction, seed, d) of the training rows and tested on every test row. The
 * subsets depend only on the labels, fraction, seed and draw, so two feature
 * sets of the same rows (an encoder's and the raw input) get the same subsets.
 */
export function fewLabelProbe(spec: ProbeSpec, data: ProbeData, options: FewLabelOptions): FewLabelResult {
  checkSpec(spec);
  if (!options || typeof options !== 'object') throw new ArgumentError('options: expected { fraction, draws?, seed? }');
  checkOptions(options, Object.keys(FEW_LABEL_KEYS), 'options', 'fewLabelProbe options');
  const draws = options.draws ?? 5;
  if (!Number.isSafeInteger(draws) || draws < 1 || draws > MAX_DRAWS) throw new ValueError(`draws: expected an integer from 1 to ${MAX_DRAWS}, got ${String(draws)}`);
  checkProbeArrays(data);
  const out: ProbeOutcome[] = [];
  let rows = 0;
  for (let d = 0; d < draws; d++) {
    const idx = stratifiedSubset(data.trainLabels, options.fraction, options.seed ?? 0, d);
    rows = idx.length;
    const sub = selectRows(data.trainFeatures, data.trainLabels, data.D, idx);
    out.push(runProbe(spec, { ...data, trainFeatures: sub.x, trainLabels: sub.labels }));
  }
  const { mean, std } = meanStd(out.map((o) => o.testAccuracy));
  return { mean, std, draws: out, rows };
}
