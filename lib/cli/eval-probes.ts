/**
 * The probes of `imix eval`: each one run on the encoder's features and, for
 * context, on the raw input (standardized with the training split's
 * statistics), with the same protocol: the full training labels, or with
 * --label-fraction the same seeded stratified subsets for both. Builds the
 * JSON report's probe fields and the printed lines.
 * @module
 */
import { type Device, data, evaluation } from '../index';

/** Which probes to run and how (from eval's options). */
export interface ProbePlan {
  linear: boolean;
  pinv: boolean;
  knn: boolean;
  /** kNN's neighbours, and the linear probe's epochs. */
  k: number;
  probeEpochs: number;
  /** --label-fraction and --label-draws: the few-label protocol (absent: every training label). */
  labelFraction?: number;
  labelDraws: number;
  /** The linear probe's and the subsets' seed (the run's). */
  seed: number;
  /** Run the probes on the raw input too (eval's default; --no-raw turns it off). */
  raw: boolean;
  device: Device;
}

/** A probe's result on every training label. */
export interface ProbeFull {
  testAccuracy: number;
  trainAccuracy?: number;
  epochs?: number;
  steps?: number;
  rank?: number;
}
/** A probe's result under the few-label protocol: mean, sample std and each draw's test accuracy. */
export interface ProbeFew {
  testAccuracy: number;
  testAccuracyStd: number;
  testAccuracies: number[];
}
/** kNN's result: accuracy (the mean over draws, with their std and values, under the few-label protocol). */
export interface KnnReport {
  k: number;
  accuracy: number;
  accuracyStd?: number;
  accuracies?: number[];
}

/** One feature set's probe results (the JSON report's encoder fields, and its `raw`). */
export interface ProbeReports {
  linearProbe?: ProbeFull | ProbeFew;
  pinvProbe?: ProbeFull | ProbeFew;
  knn?: KnnReport;
}

/** What eval reports of its probes. */
export interface EvalProbes {
  encoder: ProbeReports;
  /** The raw input's (absent with --no-raw). */
  raw?: ProbeReports & { features: number };
  /** The few-label protocol's subsets: the fraction of each class, the draws, and the training rows of each. */
  labels?: { fraction: number; draws: number; rows: number };
}

/** A feature set: row-major [n, D] training and test features. */
interface Features {
  train: Float32Array;
  test: Float32Array;
  D: number;
}

function runOn(f: Features, trainLabels: Int32Array, testLabels: Int32Array, numClasses: number, p: ProbePlan, labels: EvalProbes['labels']): ProbeReports {
  const out: ProbeReports = {};
  const specs: Array<[keyof ProbeReports, evaluation.ProbeSpec]> = [];
  if (p.linear) specs.push(['linearProbe', { kind: 'linear', linear: { epochs: p.probeEpochs, device: p.device, seed: p.seed } }]);
  if (p.pinv) specs.push(['pinvProbe', { kind: 'pinv' }]);
  if (p.knn) specs.push(['knn', { kind: 'knn', knn: { k: p.k, device: p.device } }]);
  for (const [key, spec] of specs) {
    if (p.labelFraction === undefined) {
      const r = evaluation.runProbe(spec, { trainFeatures: f.train, trainLabels, testFeatures: f.test, testLabels, D: f.D, numClasses });
      if (key === 'knn') out.knn = { k: p.k, accuracy: r.testAccuracy };
      else out[key] = r;
      continue;
    }
    const r = evaluation.fewLabelProbe(spec, { trainFeatures: f.train, trainLabels, testFeatures: f.test, testLabels, D: f.D, numClasses }, { fraction: p.labelFraction, draws: p.labelDraws, seed: p.seed });
    labels!.rows = r.rows;
    const accs = r.draws.map((d) => d.testAccuracy);
    if (key === 'knn') out.knn = { k: p.k, accuracy: r.mean, accuracyStd: r.std, accuracies: accs };
    else out[key] = { testAccuracy: r.mean, testAccuracyStd: r.std, testAccuracies: accs };
  }
  return out;
}

/**
 * Runs the plan's probes on the encoder's features (`enc`) and on the raw
 * input rows (`train`, `test`, standardized here with the training split's
 * mean and std, as the probes see any features).
 */
export function runEvalProbes(
  p: ProbePlan,
  enc: Features,
  train: data.Dataset & { labels: Int32Array },
  test: data.Dataset & { labels: Int32Array },
  numClasses: number,
): EvalProbes {
  const labels = p.labelFraction !== undefined ? { fraction: p.labelFraction, draws: p.labelDraws, rows: 0 } : undefined;
  const encoder = runOn(enc, train.labels, test.labels, numClasses, p, labels);
  if (!p.raw) return { encoder, ...(labels ? { labels } : {}) };
  const F = train.x.length / train.n;
  const std = data.Standardizer.fit(train);
  const raw = runOn({ train: std.apply(train.x), test: std.apply(test.x), D: F }, train.labels, test.labels, numClasses, p, labels);
  return { encoder, raw: { features: F, ...raw }, ...(labels ? { labels } : {}) };
}

const acc = (v: number) => v.toFixed(4);

/** The text after a probe's label: test accuracy (± std over the draws) and the probe's details. */
function describe(r: ProbeFull | ProbeFew | KnnReport): string {
  if ('k' in r) return `test accuracy ${acc(r.accuracy)}${r.accuracyStd !== undefined ? ` ± ${acc(r.accuracyStd)}` : ''}`;
  if ('testAccuracyStd' in r) return `test accuracy ${acc(r.testAccuracy)} ± ${acc(r.testAccuracyStd)}`;
  const details = [
    r.trainAccuracy !== undefined ? `train ${acc(r.trainAccuracy)}` : '',
    r.epochs !== undefined ? `${r.epochs} epochs, ${r.steps} steps` : '',
    r.rank !== undefined ? `rank ${r.rank}` : '',
  ].filter(Boolean);
  return `test accuracy ${acc(r.testAccuracy)}${details.length ? `  (${details.join(', ')})` : ''}`;
}

/**
 * The printed lines: for each probe, the encoder's line and under it the
 * raw input's, e.g.
 *   linear probe:  test accuracy 0.8500  (train 0.8784, 52 epochs, 2028 steps)
 *     raw input:   test accuracy 0.8123  (train 0.8390, 52 epochs, 2028 steps)
 */
export function probeLines(r: EvalProbes): string[] {
  const lines: string[] = [];
  if (r.labels) {
    const pct = +(100 * r.labels.fraction).toPrecision(6);
    lines.push(`${'labels:'.padEnd(15)}${pct}% of each class's training labels (at least 1): ${r.labels.rows} rows, ${r.labels.draws} seeded draws (mean ± std)`);
  }
  const rows: Array<[string, keyof ProbeReports]> = [
    ['linear probe:', 'linearProbe'],
    ['pinv probe:', 'pinvProbe'],
    [`kNN (k=${r.encoder.knn?.k ?? 0}):`, 'knn'],
  ];
  for (const [label, key] of rows) {
    const e = r.encoder[key], w = r.raw?.[key];
    if (!e) continue;
    lines.push(`${label.padEnd(14)} ${describe(e)}`);
    if (w) lines.push(`${'  raw input:'.padEnd(14)} ${describe(w)}`);
  }
  return lines;
}
