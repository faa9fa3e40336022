import { describe, expect, it } from 'vitest';
import { ArgumentError, ShapeError, ValueError, evaluation } from '../lib/index';
import { randn, rng } from './helpers';

/** Plain kNN: cosine similarity to every training row, the k largest vote with exp(sim/T). */
function knnReference(tr: Float32Array, ytr: Int32Array, te: Float32Array, D: number, C: number, k: number, T: number): Int32Array {
  const unit = (x: Float32Array, i: number) => {
    const row = Array.from(x.subarray(i * D, (i + 1) * D));
    const n = Math.max(Math.hypot(...row), 1e-12);
    return row.map((v) => v / n);
  };
  const trU = Array.from({ length: ytr.length }, (_, i) => unit(tr, i));
  const out = new Int32Array(te.length / D);
  for (let q = 0; q < out.length; q++) {
    const u = unit(te, q);
    const sims = trU.map((r, i) => [r.reduce((s, v, j) => s + v * u[j]!, 0), i] as const).sort((a, b) => b[0] - a[0]);
    const votes = new Float64Array(C);
    for (const [s, i] of sims.slice(0, k)) votes[ytr[i]!]! += Math.exp(s / T);
    out[q] = votes.indexOf(Math.max(...votes));
  }
  return out;
}

/** C Gaussian clusters in D dimensions, n rows, labels = cluster. */
function clusters(n: number, D: number, C: number, seed: number, spread: number) {
  const centers = randn(C * D, seed, 3);
  const noise = randn(n * D, seed + 1, spread);
  const r = rng(seed + 2);
  const x = new Float32Array(n * D), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(r() * C);
    y[i] = c;
    for (let j = 0; j < D; j++) x[i * D + j] = centers[c * D + j]! + noise[i * D + j]!;
  }
  return { x, y };
}

describe('knnPredict', () => {
  it('equals a plain cosine top-k weighted vote, across similarity blocks and with k > n', () => {
    const D = 5, C = 4;
    const tr = clusters(300, D, C, 11, 2.5), te = clusters(70, D, C, 11, 2.5);
    for (const [k, T, blockSize] of [[7, 0.1, 256], [20, 0.5, 16], [1000, 0.1, 33]] as const) {
      const got = evaluation.knnPredict(tr.x, tr.y, te.x, D, C, { k, temperature: T, blockSize });
      expect(Array.from(got)).toEqual(Array.from(knnReference(tr.x, tr.y, te.x, D, C, k, T)));
    }
  });
  it('rejects what would vote silently wrong', () => {
    const x = new Float32Array(6), y = Int32Array.from([0, 1, 0]);
    expect(() => evaluation.knnPredict(x, Int32Array.from([0, 5, 0]), x, 2, 2)).toThrow(/trainLabels: entry 1 is 5, outside \[0, 2\)/);
    expect(() => evaluation.knnPredict(new Float32Array(0), new Int32Array(0), x, 2, 2)).toThrow(/no training rows/);
    expect(() => evaluation.knnPredict(new Float32Array(6).fill(NaN), y, x, 2, 2)).toThrow(/trainFeatures: row 0 has a non-finite value/);
    const te = new Float32Array(4);
    te[3] = Infinity;
    expect(() => evaluation.knnPredict(x, y, te, 2, 2)).toThrow(/testFeatures: row 1 has a non-finite value/);
    expect(() => evaluation.knnPredict(x, y, x, 0, 2)).toThrow(/D: expected a positive integer/);
    expect(() => evaluation.knnPredict(x, y, x, 2, 0)).toThrow(/numClasses/);
    expect(() => evaluation.knnPredict(x, y, new Float32Array(5), 2, 2)).toThrow(ShapeError);
    expect(() => evaluation.knnPredict([0, 0] as never, y, x, 2, 2)).toThrow(ArgumentError);
  });
  it('validates blockSize and temperature by name, and votes without overflow at a small temperature', () => {
    const D = 5, C = 4;
    const tr = clusters(300, D, C, 11, 2.5), te = clusters(70, D, C, 11, 2.5);
    // blockSize 0 looped forever; -1 and 2.5 failed inside with an error about shape[0].
    for (const blockSize of [0, -1, 2.5, NaN])
      expect(() => evaluation.knnPredict(tr.x, tr.y, te.x, D, C, { blockSize })).toThrow(/blockSize: expected a positive integer/);
    for (const temperature of [0, -1, Infinity, NaN])
      expect(() => evaluation.knnPredict(tr.x, tr.y, te.x, D, C, { temperature })).toThrow(/temperature: expected a positive finite number/);
    expect(() => evaluation.knnPredict(tr.x, tr.y, te.x, D, 1e9)).toThrow(/numClasses: 1000000000 classes is more than 16777216/);
    // exp(sim/1e-6) is Infinity for every neighbour; the vote must still favour the nearest:
    // as T → 0 the weighted vote becomes 1-nearest-neighbour.
    const nearest = evaluation.knnPredict(tr.x, tr.y, te.x, D, C, { k: 1 });
    expect(Array.from(evaluation.knnPredict(tr.x, tr.y, te.x, D, C, { k: 20, temperature: 1e-6 }))).toEqual(Array.from(nearest));
    expect(Array.from(evaluation.knnPredict(tr.x, tr.y, te.x, D, C, { k: 20, temperature: 0.01 }))).toEqual(Array.from(knnReference(tr.x, tr.y, te.x, D, C, 20, 0.01)));
  });
});

describe('accuracy', () => {
  it('is the fraction of equal entries, and an error for arrays of different lengths', () => {
    expect(evaluation.accuracy(Int32Array.from([1, 2, 3, 4]), Int32Array.from([1, 0, 3, 0]))).toBe(0.5);
    expect(evaluation.accuracy(new Int32Array(0), new Int32Array(0))).toBe(0);
    expect(() => evaluation.accuracy(new Int32Array(3), new Int32Array(5))).toThrow(/labels: 5 labels for 3 predictions/);
    expect(() => evaluation.accuracy(new Int32Array(3), new Int32Array(5))).toThrow(ShapeError);
  });
});

describe('linearProbe', () => {
  it('separates separable clusters and is near chance on random labels', () => {
    const D = 8, C = 3;
    const tr = clusters(600, D, C, 5, 0.5), te = clusters(200, D, C, 5, 0.5);
    const good = evaluation.linearProbe(tr.x, tr.y, te.x, te.y, D, C, { epochs: 20, lr: 1e-2 });
    expect(good.testAccuracy).toBeGreaterThan(0.97);
    expect(good.trainAccuracy).toBeGreaterThan(0.97);
    const r = rng(9);
    const shuffled = Int32Array.from(te.y, () => Math.floor(r() * C));
    const chance = evaluation.linearProbe(tr.x, tr.y, te.x, shuffled, D, C, { epochs: 20, lr: 1e-2 });
    expect(chance.testAccuracy).toBeLessThan(0.5);
  });
  it('rejects bad labels, features and options by name', () => {
    const x = new Float32Array(8), y = Int32Array.from([0, 1, 0, 1]);
    expect(() => evaluation.linearProbe(x, y, x, Int32Array.from([0, 1, 2, 1]), 2, 2)).toThrow(/testLabels: entry 2 is 2, outside \[0, 2\)/);
    expect(() => evaluation.linearProbe(x, Int32Array.from([0, -1, 0, 1]), x, y, 2, 2)).toThrow(/trainLabels: entry 1 is -1/);
    expect(() => evaluation.linearProbe(new Float32Array(8).fill(NaN), y, x, y, 2, 2)).toThrow(/trainFeatures: row 0 has a non-finite value/);
    expect(() => evaluation.linearProbe(new Float32Array(0), new Int32Array(0), x, y, 2, 2)).toThrow(/trainLabels: no training rows/);
    expect(() => evaluation.linearProbe(x, y, x, y, 2, 2, { epochs: 0 })).toThrow(/epochs/);
    expect(() => evaluation.linearProbe(x, y, x, y, 2, 2, { batchSize: 1.5 })).toThrow(/batchSize/);
    expect(() => evaluation.linearProbe(x, y, x, y, 2, 1)).toThrow(ValueError);
    for (const lr of [0, -1, NaN, Infinity]) expect(() => evaluation.linearProbe(x, y, x, y, 2, 2, { lr })).toThrow(/lr: expected a positive finite number/);
    expect(() => evaluation.linearProbe(x, y, x, y, 2, 2, { minSteps: -1 })).toThrow(/minSteps/);
    expect(() => evaluation.linearProbe(x, y, x, y, 2, 2, { lr: 1e30 })).toThrow(/lr: the probe's loss became NaN at step \d+; lower lr/);
  });
  it('bounds numClasses by the training rows (or the labels), not by memory', () => {
    const x = new Float32Array(8).map((_, i) => i % 3), y = Int32Array.from([0, 1, 0, 1]);
    // 1e9 classes: a 2 × 1e9 weight matrix got the process OOM-killed.
    expect(() => evaluation.linearProbe(x, y, x, y, 2, 1e9)).toThrow(/numClasses: 1000000000 classes is more than 4 \(the 4 training rows, or the largest label \+ 1\)/);
    expect(evaluation.linearProbe(x, y, x, y, 2, 4, { minSteps: 10 }).steps).toBe(30);
    // Labels may need more classes than there are training rows.
    expect(() => evaluation.linearProbe(x, y, x, Int32Array.from([0, 1, 6, 1]), 2, 7, { minSteps: 10 })).not.toThrow();
  });
  it('trains to a useful classifier however small the training set, deterministically', () => {
    // A linearly separable 2-class set (label = sign of the first feature) of 200 rows:
    // epochs × floor(n/B) = 30 steps left the probe at chance (44%).
    const r = rng(3);
    const sep = (n: number) => {
      const x = Float32Array.from({ length: n * 4 }, () => r() - 0.5);
      return { x, y: Int32Array.from({ length: n }, (_, i) => (x[i * 4]! > 0 ? 1 : 0)) };
    };
    const tr = sep(200), te = sep(500);
    const a = evaluation.linearProbe(tr.x, tr.y, te.x, te.y, 4, 2);
    expect(a.steps).toBe(2000);
    expect(a.trainAccuracy).toBeGreaterThan(0.95);
    expect(a.testAccuracy).toBeGreaterThan(0.93);
    const b = evaluation.linearProbe(tr.x, tr.y, te.x, te.y, 4, 2);
    expect(b).toEqual(a);
    // 20 rows: well above chance too.
    const few = sep(20);
    expect(evaluation.linearProbe(few.x, few.y, te.x, te.y, 4, 2).testAccuracy).toBeGreaterThan(0.7);
    // A large set keeps its epochs when they give at least minSteps steps (30 × 78 of 256 rows).
    const big = sep(20000);
    expect(evaluation.linearProbe(big.x, big.y, te.x, te.y, 4, 2, { epochs: 30 })).toMatchObject({ epochs: 30, steps: 30 * 78 });
  });
});
