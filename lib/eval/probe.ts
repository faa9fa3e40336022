/**
 * Linear probe: a softmax classifier trained on frozen encoder features
 * (BatchNorm in eval mode), standardized with statistics of the training
 * split — the standard measure of representation quality.
 * @module
 */
import { ArgumentError, ShapeError, ValueError } from '../errors';
import { Standardizer } from '../data/dataset';
import { Linear } from '../nn/layers';
import { ParameterStore } from '../nn/module';
import * as ops from '../ops/index';
import { AdamW, warmupCosine } from '../optim/index';
import { Generator } from '../random';
import { Tensor, type Device } from '../tensor';
import { MAX_CLASSES, accuracy, checkFinite, checkLabels, checkNumClasses } from './knn';
import { checkOptions } from '../util/options';

export interface ProbeOptions {
  /** Passes over the training rows; default 30. More are made when they give fewer than `minSteps` steps. */
  epochs?: number;
  /** Rows per step (at most the training rows); default 256. */
  batchSize?: number;
  /**
   * Optimizer steps the probe takes at least; default 2000. A small training
   * set gives few steps per epoch, and `epochs` of them would leave the
   * classifier far from trained (near chance on a few hundred rows).
   */
  minSteps?: number;
  /** AdamW's peak learning rate (cosine decay to 0); default 1e-3. */
  lr?: number;
  /** AdamW's decoupled weight decay; default 1e-4. */
  weightDecay?: number;
  /** Initialization and row order; the same seed gives the same result. Default 0. */
  seed?: number;
  device?: Device;
}

/** Every key of ProbeOptions (the compiler keeps the list complete). */
const PROBE_OPTION_KEYS: { [K in keyof Required<ProbeOptions>]: true } = {
  epochs: true,
  batchSize: true,
  minSteps: true,
  lr: true,
  weightDecay: true,
  seed: true,
  device: true,
};

export interface ProbeResult {
  trainAccuracy: number;
  testAccuracy: number;
  finalLoss: number;
  /** Epochs and optimizer steps the probe took (see ProbeOptions.minSteps). */
  epochs: number;
  steps: number;
}

/**
 * What a probe is trained and tested on: row-major [n, D] features of the
 * training and test rows, and their class labels. {@link linearProbe},
 * {@link pinvProbe}, {@link runProbe} and {@link fewLabelProbe} take one.
 */
export interface ProbeData {
  /** Training features, row-major [trainLabels.length, D]. */
  trainFeatures: Float32Array;
  /** The class of each training row, in [0, numClasses). */
  trainLabels: Int32Array;
  /** Test features, row-major [testLabels.length, D]. */
  testFeatures: Float32Array;
  /** The class of each test row, in [0, numClasses). */
  testLabels: Int32Array;
  /** Features per row. */
  D: number;
  /** Classes (at least 2). */
  numClasses: number;
}

/**
 * The checks every probe makes of its inputs: shapes, labels in range,
 * finite features. @internal
 */
export function checkProbeInputs(data: ProbeData): void {
  checkProbeArrays(data);
  checkProbeLabels(data.trainLabels, data.testLabels, data.numClasses);
  checkFinite(data.trainFeatures, data.D, 'trainFeatures');
  checkFinite(data.testFeatures, data.D, 'testFeatures');
}

/**
 * Trains a linear classifier on `data.trainFeatures` (standardized with their
 * own statistics) and reports accuracy on both splits. AdamW on mini-batches
 * with a cosine learning-rate schedule, for `epochs` epochs or `minSteps`
 * steps, whichever is more; deterministic for a given seed.
 */
export function linearProbe(data: ProbeData, options: ProbeOptions = {}): ProbeResult {
  checkOptions(options, Object.keys(PROBE_OPTION_KEYS), 'options', 'linearProbe options');
  checkProbeInputs(data);
  const { trainFeatures, trainLabels, testFeatures, testLabels, D, numClasses } = data;
  const plan = probePlan(options, trainLabels.length);
  const nTr = trainLabels.length, nTe = testLabels.length;
  const device = options.device ?? 'cpu';
  const std = Standardizer.fit({ x: trainFeatures, n: nTr, sampleShape: [D] });
  const xtr = Tensor.from(std.apply(trainFeatures), [nTr, D], { device });
  const ytr = Tensor.from(trainLabels, [nTr], { device });
  const clf = new Linear(D, numClasses);
  const store = new ParameterStore(clf, { seed: options.seed ?? 0, device });
  const opt = new AdamW(store, { lr: plan.lr, weightDecay: options.weightDecay ?? 1e-4 });
  const sched = warmupCosine({ baseLr: plan.lr, totalSteps: plan.steps });
  const xb = Tensor.zeros([plan.B, D], { device }), yb = Tensor.zeros([plan.B], { dtype: 'int32', device });
  const ib = Tensor.zeros([plan.B], { dtype: 'int32', device });
  try {
    const finalLoss = trainProbe({ clf, store, opt, sched, xtr, xb, yb, ib }, trainLabels, plan, options);
    const xte = Tensor.from(std.apply(testFeatures), [nTe, D], { device });
    const trainAccuracy = accuracy(predictClasses(clf, xtr, numClasses), trainLabels);
    const res = { trainAccuracy, testAccuracy: accuracy(predictClasses(clf, xte, numClasses), testLabels), finalLoss, epochs: plan.epochs, steps: plan.steps };
    xte.dispose();
    return res;
  } finally {
    for (const t of [xtr, ytr, xb, yb, ib]) t.dispose();
    opt.dispose();
    store.dispose();
  }
}

/** That `data` is an object (its fields are checked by the probe that reads them). @internal */
export function checkProbeData(data: ProbeData): void {
  if (!data || typeof data !== 'object') throw new ArgumentError('data: expected { trainFeatures, trainLabels, testFeatures, testLabels, D, numClasses }');
}

/** The feature and label arrays: their types, and `D` values per labelled row (not the class count). @internal */
export function checkProbeArrays(data: ProbeData): void {
  checkProbeData(data);
  const { trainFeatures, trainLabels, testFeatures, testLabels, D } = data;
  if (!Number.isSafeInteger(D) || D < 1) throw new ValueError(`D: expected a positive integer, got ${D}`);
  for (const [arr, arg] of [[trainFeatures, 'trainFeatures'], [testFeatures, 'testFeatures']] as const)
    if (!(arr instanceof Float32Array)) throw new ArgumentError(`${arg}: expected a Float32Array`);
  for (const [arr, arg] of [[trainLabels, 'trainLabels'], [testLabels, 'testLabels']] as const)
    if (!(arr instanceof Int32Array)) throw new ArgumentError(`${arg}: expected an Int32Array`);
  const nTr = trainLabels.length, nTe = testLabels.length;
  if (trainFeatures.length !== nTr * D) throw new ShapeError(`trainFeatures: ${trainFeatures.length} values for ${nTr} rows of ${D}`);
  if (testFeatures.length !== nTe * D) throw new ShapeError(`testFeatures: ${testFeatures.length} values for ${nTe} rows of ${D}`);
}

/** The labels and the class count: some training rows, every label a class, and no more classes than the rows or labels need. @internal */
export function checkProbeLabels(trainLabels: Int32Array, testLabels: Int32Array, numClasses: number): void {
  const nTr = trainLabels.length;
  checkNumClasses(numClasses, 2, Infinity); // bounded below, once the labels are known
  if (nTr === 0) throw new ValueError('trainLabels: no training rows');
  checkLabels(trainLabels, numClasses, 'trainLabels');
  checkLabels(testLabels, numClasses, 'testLabels');
  // The classifier holds D × numClasses weights: more classes than training rows (and
  // than the labels need) only costs memory, and an absurd count would exhaust it.
  const needed = Math.max(trainLabels.reduce((m, v) => Math.max(m, v), -1), testLabels.reduce((m, v) => Math.max(m, v), -1)) + 1;
  const most = Math.min(MAX_CLASSES, Math.max(nTr, needed));
  checkNumClasses(numClasses, 2, most, most < MAX_CLASSES ? ` (the ${nTr} training rows, or the largest label + 1)` : '');
}

/** How the probe trains: learning rate, rows per step, epochs and steps in all. */
interface ProbePlan {
  lr: number;
  B: number;
  epochs: number;
  steps: number;
}

/** The options checked, and the plan they give for `nTr` training rows: at least `minSteps` steps. */
function probePlan(options: ProbeOptions, nTr: number): ProbePlan {
  const epochsAsked = options.epochs ?? 30, minSteps = options.minSteps ?? 2000, lr = options.lr ?? 1e-3;
  if (!Number.isSafeInteger(epochsAsked) || epochsAsked < 1) throw new ValueError(`epochs: expected a positive integer, got ${epochsAsked}`);
  if (!Number.isSafeInteger(options.batchSize ?? 256) || (options.batchSize ?? 256) < 1)
    throw new ValueError(`batchSize: expected a positive integer, got ${options.batchSize}`);
  if (!Number.isSafeInteger(minSteps) || minSteps < 0) throw new ValueError(`minSteps: expected a non-negative integer, got ${minSteps}`);
  if (typeof lr !== 'number' || !(lr > 0) || !Number.isFinite(lr)) throw new ValueError(`lr: expected a positive finite number, got ${lr}`);
  const B = Math.min(options.batchSize ?? 256, nTr), perEpoch = Math.floor(nTr / B);
  const epochs = Math.max(epochsAsked, Math.ceil(minSteps / perEpoch));
  return { lr, B, epochs, steps: epochs * perEpoch };
}

/** The classifier, its optimizer and schedule, the standardized training features and the batch buffers. */
interface ProbeRun {
  clf: Linear;
  store: ParameterStore;
  opt: AdamW;
  sched: (step: number) => number;
  xtr: Tensor<'float32'>;
  xb: Tensor<'float32'>;
  yb: Tensor<'int32'>;
  ib: Tensor<'int32'>;
}

/** Trains the classifier on shuffled full batches for the plan's epochs; returns the last batch's loss. */
function trainProbe(run: ProbeRun, trainLabels: Int32Array, plan: ProbePlan, options: ProbeOptions): number {
  const { clf, store, opt, sched, xtr, xb, yb, ib } = run;
  const nTr = trainLabels.length, B = plan.B;
  let step = 0, lastLoss = NaN;
  for (let ep = 0; ep < plan.epochs; ep++) {
    const order = new Generator(options.seed ?? 0, 2 ** 40 + ep).permutation(nTr);
    for (let s = 0; s + B <= nTr; s += B) {
      const rows = order.subarray(s, s + B);
      ib.set(rows);
      ops.gatherRows(xtr, ib, xb);
      yb.set(Int32Array.from(rows, (r) => trainLabels[r]!));
      store.zeroGrad();
      const logits = clf.forward(xb);
      lastLoss = ops.mixedCrossEntropy(logits, { targets: yb, scale: 1 / B }) / B;
      // Diverged (the features are finite and standardized, so the step size did it): say so, not chance accuracy.
      if (!Number.isFinite(lastLoss)) throw new ValueError(`lr: the probe's loss became ${lastLoss} at step ${step + 1}; lower lr (${plan.lr})`);
      clf.backward(logits, false);
      opt.step(sched(step++));
    }
  }
  return lastLoss;
}

/** Each row's predicted class (the largest logit; the first on a tie), in blocks of 1024 rows. */
function predictClasses(clf: Linear, x: Tensor<'float32'>, numClasses: number): Int32Array {
  const n = x.shape[0]!, out = new Int32Array(n), blk = 1024;
  for (let s = 0; s < n; s += blk) {
    const e = Math.min(s + blk, n);
    const logits = clf.forward(x.rows(s, e)).toArray();
    for (let i = 0; i < e - s; i++) {
      let best = 0;
      for (let c = 1; c < numClasses; c++) if (logits[i * numClasses + c]! > logits[i * numClasses + best]!) best = c;
      out[s + i] = best;
    }
  }
  return out;
}
