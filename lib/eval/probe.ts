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
import { accuracy, checkFinite, checkLabels } from './knn';

export interface ProbeOptions {
  epochs?: number;
  batchSize?: number;
  lr?: number;
  weightDecay?: number;
  seed?: number;
  device?: Device;
}

export interface ProbeResult {
  trainAccuracy: number;
  testAccuracy: number;
  finalLoss: number;
}

/** Trains a linear classifier on `trainFeatures` and reports accuracy on both splits. */
export function linearProbe(
  trainFeatures: Float32Array,
  trainLabels: Int32Array,
  testFeatures: Float32Array,
  testLabels: Int32Array,
  D: number,
  numClasses: number,
  options: ProbeOptions = {},
): ProbeResult {
  if (!Number.isSafeInteger(D) || D < 1) throw new ValueError(`D: expected a positive integer, got ${D}`);
  for (const [arr, arg] of [[trainFeatures, 'trainFeatures'], [testFeatures, 'testFeatures']] as const)
    if (!(arr instanceof Float32Array)) throw new ArgumentError(`${arg}: expected a Float32Array`);
  for (const [arr, arg] of [[trainLabels, 'trainLabels'], [testLabels, 'testLabels']] as const)
    if (!(arr instanceof Int32Array)) throw new ArgumentError(`${arg}: expected an Int32Array`);
  const nTr = trainLabels.length, nTe = testLabels.length;
  if (trainFeatures.length !== nTr * D) throw new ShapeError(`trainFeatures: ${trainFeatures.length} values for ${nTr} rows of ${D}`);
  if (testFeatures.length !== nTe * D) throw new ShapeError(`testFeatures: ${testFeatures.length} values for ${nTe} rows of ${D}`);
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new ValueError(`numClasses: expected an integer >= 2, got ${numClasses}`);
  if (nTr === 0) throw new ValueError('trainLabels: no training rows');
  checkLabels(trainLabels, numClasses, 'trainLabels');
  checkLabels(testLabels, numClasses, 'testLabels');
  checkFinite(trainFeatures, D, 'trainFeatures');
  checkFinite(testFeatures, D, 'testFeatures');
  const epochs = options.epochs ?? 30, B = Math.min(options.batchSize ?? 256, nTr);
  if (!Number.isSafeInteger(epochs) || epochs < 1) throw new ValueError(`epochs: expected a positive integer, got ${epochs}`);
  if (!Number.isSafeInteger(options.batchSize ?? 256) || (options.batchSize ?? 256) < 1)
    throw new ValueError(`batchSize: expected a positive integer, got ${options.batchSize}`);
  const device = options.device ?? 'cpu';
  const std = Standardizer.fit({ x: trainFeatures, n: nTr, sampleShape: [D] });
  const xtr = Tensor.from(std.apply(trainFeatures), [nTr, D], { device });
  const ytr = Tensor.from(trainLabels, [nTr], { device });
  const clf = new Linear(D, numClasses);
  const store = new ParameterStore(clf, { seed: options.seed ?? 0, device });
  const steps = Math.max(1, epochs * Math.floor(nTr / B));
  const opt = new AdamW(store, { lr: options.lr ?? 1e-3, weightDecay: options.weightDecay ?? 1e-4 });
  const sched = warmupCosine({ baseLr: options.lr ?? 1e-3, totalSteps: steps });
  const xb = Tensor.zeros([B, D], { device }), yb = Tensor.zeros([B], { dtype: 'int32', device });
  const ib = Tensor.zeros([B], { dtype: 'int32', device });
  let step = 0, lastLoss = NaN;
  const predict = (x: Tensor<'float32'>): Int32Array => {
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
  };
  try {
    for (let ep = 0; ep < epochs; ep++) {
      const order = new Generator(options.seed ?? 0, 2 ** 40 + ep).permutation(nTr);
      for (let s = 0; s + B <= nTr; s += B) {
        const rows = order.subarray(s, s + B);
        ib.set(rows);
        ops.gatherRows(xtr, ib, xb);
        yb.set(Int32Array.from(rows, (r) => trainLabels[r]!));
        store.zeroGrad();
        const logits = clf.forward(xb);
        lastLoss = ops.mixedCrossEntropy(logits, { targets: yb, scale: 1 / B }) / B;
        clf.backward(logits, false);
        opt.step(sched(step++));
      }
    }
    const xte = Tensor.from(std.apply(testFeatures), [nTe, D], { device });
    const res = { trainAccuracy: accuracy(predict(xtr), trainLabels), testAccuracy: accuracy(predict(xte), testLabels), finalLoss: lastLoss };
    xte.dispose();
    return res;
  } finally {
    for (const t of [xtr, ytr, xb, yb, ib]) t.dispose();
    opt.dispose();
    store.dispose();
  }
}
