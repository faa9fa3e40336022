import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromArray } from '../lib/data/dataset';
import { loadCheckpoint } from '../lib/methods/checkpoint';
import { ArgumentError, BYOL, DivergenceError, type EpochEvent, Generator, MoCo, NPair, ShapeError, type StepEvent, ValueError, evaluation } from '../lib/index';
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
    const good = evaluation.linearProbe({ trainFeatures: tr.x, trainLabels: tr.y, testFeatures: te.x, testLabels: te.y, D, numClasses: C }, { epochs: 20, lr: 1e-2 });
    expect(good.testAccuracy).toBeGreaterThan(0.97);
    expect(good.trainAccuracy).toBeGreaterThan(0.97);
    const r = rng(9);
    const shuffled = Int32Array.from(te.y, () => Math.floor(r() * C));
    const chance = evaluation.linearProbe({ trainFeatures: tr.x, trainLabels: tr.y, testFeatures: te.x, testLabels: shuffled, D, numClasses: C }, { epochs: 20, lr: 1e-2 });
    expect(chance.testAccuracy).toBeLessThan(0.5);
  });
  it('rejects bad labels, features and options by name', () => {
    const x = new Float32Array(8), y = Int32Array.from([0, 1, 0, 1]);
    expect(() => evaluation.linearProbe({ trainFeatures: x, trainLabels: y, testFeatures: x, testLabels: Int32Array.from([0, 1, 2, 1]), D: 2, numClasses: 2 })).toThrow(/testLabels: entry 2 is 2, outside \[0, 2\)/);
    expect(() => evaluation.linearProbe({ trainFeatures: x, trainLabels: Int32Array.from([0, -1, 0, 1]), testFeatures: x, testLabels: y, D: 2, numClasses: 2 })).toThrow(/trainLabels: entry 1 is -1/);
    expect(() => evaluation.linearProbe({ trainFeatures: new Float32Array(8).fill(NaN), trainLabels: y, testFeatures: x, testLabels: y, D: 2, numClasses: 2 })).toThrow(/trainFeatures: row 0 has a non-finite value/);
    expect(() => evaluation.linearProbe({ trainFeatures: new Float32Array(0), trainLabels: new Int32Array(0), testFeatures: x, testLabels: y, D: 2, numClasses: 2 })).toThrow(/trainLabels: no training rows/);
    expect(() => evaluation.linearProbe({ trainFeatures: x, trainLabels: y, testFeatures: x, testLabels: y, D: 2, numClasses: 2 }, { epochs: 0 })).toThrow(/epochs/);
    expect(() => evaluation.linearProbe({ trainFeatures: x, trainLabels: y, testFeatures: x, testLabels: y, D: 2, numClasses: 2 }, { batchSize: 1.5 })).toThrow(/batchSize/);
    expect(() => evaluation.linearProbe({ trainFeatures: x, trainLabels: y, testFeatures: x, testLabels: y, D: 2, numClasses: 1 })).toThrow(ValueError);
    for (const lr of [0, -1, NaN, Infinity]) expect(() => evaluation.linearProbe({ trainFeatures: x, trainLabels: y, testFeatures: x, testLabels: y, D: 2, numClasses: 2 }, { lr })).toThrow(/lr: expected a positive finite number/);
    expect(() => evaluation.linearProbe({ trainFeatures: x, trainLabels: y, testFeatures: x, testLabels: y, D: 2, numClasses: 2 }, { minSteps: -1 })).toThrow(/minSteps/);
    expect(() => evaluation.linearProbe({ trainFeatures: x, trainLabels: y, testFeatures: x, testLabels: y, D: 2, numClasses: 2 }, { lr: 1e30 })).toThrow(/lr: the probe's loss became NaN at step \d+; lower lr/);
  });
  it('bounds numClasses by the training rows (or the labels), not by memory', () => {
    const x = new Float32Array(8).map((_, i) => i % 3), y = Int32Array.from([0, 1, 0, 1]);
    // 1e9 classes: a 2 × 1e9 weight matrix got the process OOM-killed.
    expect(() => evaluation.linearProbe({ trainFeatures: x, trainLabels: y, testFeatures: x, testLabels: y, D: 2, numClasses: 1e9 })).toThrow(/numClasses: 1000000000 classes is more than 4 \(the 4 training rows, or the largest label \+ 1\)/);
    expect(evaluation.linearProbe({ trainFeatures: x, trainLabels: y, testFeatures: x, testLabels: y, D: 2, numClasses: 4 }, { minSteps: 10 }).steps).toBe(30);
    // Labels may need more classes than there are training rows.
    expect(() => evaluation.linearProbe({ trainFeatures: x, trainLabels: y, testFeatures: x, testLabels: Int32Array.from([0, 1, 6, 1]), D: 2, numClasses: 7 }, { minSteps: 10 })).not.toThrow();
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
    const a = evaluation.linearProbe({ trainFeatures: tr.x, trainLabels: tr.y, testFeatures: te.x, testLabels: te.y, D: 4, numClasses: 2 });
    expect(a.steps).toBe(2000);
    expect(a.trainAccuracy).toBeGreaterThan(0.95);
    expect(a.testAccuracy).toBeGreaterThan(0.93);
    const b = evaluation.linearProbe({ trainFeatures: tr.x, trainLabels: tr.y, testFeatures: te.x, testLabels: te.y, D: 4, numClasses: 2 });
    expect(b).toEqual(a);
    // 20 rows: well above chance too.
    const few = sep(20);
    expect(evaluation.linearProbe({ trainFeatures: few.x, trainLabels: few.y, testFeatures: te.x, testLabels: te.y, D: 4, numClasses: 2 }).testAccuracy).toBeGreaterThan(0.7);
    // A large set keeps its epochs when they give at least minSteps steps (30 × 78 of 256 rows).
    const big = sep(20000);
    expect(evaluation.linearProbe({ trainFeatures: big.x, trainLabels: big.y, testFeatures: te.x, testLabels: te.y, D: 4, numClasses: 2 }, { epochs: 30 })).toMatchObject({ epochs: 30, steps: 30 * 78 });
  });
});

// numpy.linalg.pinv solutions on fixed inputs (test/fixtures/gen_pinv.py).
const pinvFixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'pinv.json'), 'utf8')) as {
  lstsq: Array<{ name: string; rows: number; cols: number; rhs: number; a: number[]; b: number[]; x: number[]; rank: number }>;
  probes: Array<{
    name: string;
    D: number;
    numClasses: number;
    trainFeatures: number[];
    trainLabels: number[];
    testFeatures: number[];
    testLabels: number[];
    weights: number[];
    rank: number;
    trainPred: number[];
    testPred: number[];
  }>;
};

/** max |a_i − b_i| / max(1, max |b_i|). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0, s = 1;
  for (let i = 0; i < b.length; i++) {
    e = Math.max(e, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return e / s;
}

describe('leastSquares', () => {
  it('solves hand cases: an exact fit, a residual, and the minimum norm of a rank-deficient system', () => {
    // A = [[1,0],[0,1],[1,1]], b = [1,1,0]: AᵀA = [[2,1],[1,2]], Aᵀb = [1,1] → x = [1/3, 1/3].
    const r = evaluation.leastSquares([1, 0, 0, 1, 1, 1], 3, 2, [1, 1, 0], 1);
    expect(r.rank).toBe(2);
    expect(r.x[0]).toBeCloseTo(1 / 3, 14);
    expect(r.x[1]).toBeCloseTo(1 / 3, 14);
    // b in the range: the exact solution, two right-hand sides at once.
    const e = evaluation.leastSquares([1, 0, 0, 1, 1, 1], 3, 2, [1, 2, 2, 4, 3, 6], 2);
    expect(Array.from(e.x).map((v) => Math.round(v * 1e12) / 1e12)).toEqual([1, 2, 2, 4]);
    // [[1,1],[1,1]]·x = [2,2]: every x with x0 + x1 = 2 fits; pinv picks the shortest, [1, 1].
    const m = evaluation.leastSquares([1, 1, 1, 1], 2, 2, [2, 2], 1);
    expect(m.rank).toBe(1);
    expect(m.x[0]).toBeCloseTo(1, 14);
    expect(m.x[1]).toBeCloseTo(1, 14);
    // One equation, three unknowns: x = aᵀ·b/‖a‖².
    const w = evaluation.leastSquares([1, 2, 2], 1, 3, [9], 1);
    expect(Array.from(w.x).map((v) => Math.round(v * 1e12) / 1e12)).toEqual([1, 2, 2]);
    // A = 0: pinv(0) = 0.
    expect(evaluation.leastSquares([0, 0, 0, 0], 2, 2, [1, 1], 1)).toEqual({ x: new Float64Array(2), rank: 0 });
  });

  it('equals numpy.linalg.pinv(A) @ B (an SVD) on tall, collinear, wide and rank-deficient matrices', () => {
    for (const c of pinvFixture.lstsq) {
      const r = evaluation.leastSquares(c.a, c.rows, c.cols, c.b, c.rhs);
      expect(r.rank, c.name).toBe(c.rank);
      expect(relErr(r.x, c.x), c.name).toBeLessThan(1e-12);
    }
  });

  it('satisfies the normal equations and has no component in the null space, on a random rank-deficient system', () => {
    // 30 × 12 of rank 8 (4 columns are combinations of others): Aᵀ(Ax − b) = 0 and x ⊥ null(A), i.e. x = Aᵀy.
    const rows = 30, cols = 12, base = randn(rows * 8, 71);
    const a = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < 8; j++) a[i * cols + j] = base[i * 8 + j]!;
      for (let j = 8; j < 12; j++) a[i * cols + j] = a[i * cols + (j - 8)]! - 0.5 * a[i * cols + (j - 7)]!;
    }
    const b = Float64Array.from(randn(rows, 72));
    const { x, rank } = evaluation.leastSquares(a, rows, cols, b, 1);
    expect(rank).toBe(8);
    const res = Array.from({ length: rows }, (_, i) => a.subarray(i * cols, (i + 1) * cols).reduce((s, v, j) => s + v * x[j]!, 0) - b[i]!);
    for (let j = 0; j < cols; j++) expect(Math.abs(res.reduce((s, r, i) => s + a[i * cols + j]! * r, 0))).toBeLessThan(1e-10);
    // The null space is spanned by n_k = e_{8+k} − e_k + 0.5·e_{k+1}; x must be orthogonal to each.
    for (let k = 0; k < 4; k++) expect(Math.abs(x[8 + k]! - x[k]! + 0.5 * x[k + 1]!)).toBeLessThan(1e-10);
  });

  it('rejects bad sizes and values by name', () => {
    expect(() => evaluation.leastSquares([1, 2, 3], 2, 2, [1, 2], 1)).toThrow(/a: 3 values for 2 rows of 2/);
    expect(() => evaluation.leastSquares([1, 2, 3, 4], 2, 2, [1], 1)).toThrow(/b: 1 values for 2 rows of 1/);
    expect(() => evaluation.leastSquares([1, NaN, 3, 4], 2, 2, [1, 2], 1)).toThrow(/a: row 0, column 1 is NaN/);
    expect(() => evaluation.leastSquares([1, 2, 3, 4], 2, 2, [1, Infinity], 1)).toThrow(/b: row 1, column 0 is Infinity/);
    expect(() => evaluation.leastSquares([1], 0, 1, [1], 1)).toThrow(/rows: expected a positive integer/);
    expect(() => evaluation.leastSquares([1], 1, 1, [1], 1, { rcond: -1 })).toThrow(/rcond: expected a number in \[0, 1\)/);
    expect(() => evaluation.leastSquares(new Float64Array(0), 1e6, 1e6, [1], 1)).toThrow(/more than 268435456 \(2\^28\) entries/);
  });
});

describe('pinvProbe', () => {
  it("equals SCARF's probe computed with numpy.linalg.pinv: weights, rank and predictions", () => {
    for (const c of pinvFixture.probes) {
      const r = evaluation.pinvProbe({
        trainFeatures: Float32Array.from(c.trainFeatures),
        trainLabels: Int32Array.from(c.trainLabels),
        testFeatures: Float32Array.from(c.testFeatures),
        testLabels: Int32Array.from(c.testLabels),
        D: c.D,
        numClasses: c.numClasses,
      });
      expect(r.rank, c.name).toBe(c.rank);
      expect(relErr(r.weights, c.weights), c.name).toBeLessThan(1e-9);
      const agree = (pred: number[], labels: number[]) => pred.filter((p, i) => p === labels[i]).length / labels.length;
      expect(r.trainAccuracy, c.name).toBeCloseTo(agree(c.trainPred, c.trainLabels), 12);
      expect(r.testAccuracy, c.name).toBeCloseTo(agree(c.testPred, c.testLabels), 12);
    }
  });

  it('fits separable clusters, and its train accuracy is 1 when the rows are fewer than the features', () => {
    const D = 8, C = 3;
    const tr = clusters(600, D, C, 5, 0.5), te = clusters(200, D, C, 5, 0.5);
    const r = evaluation.pinvProbe({ trainFeatures: tr.x, trainLabels: tr.y, testFeatures: te.x, testLabels: te.y, D, numClasses: C });
    expect(r.rank).toBe(D + 1);
    expect(r.testAccuracy).toBeGreaterThan(0.97);
    // 6 rows, 8 features: [X, 1] has full row rank, so X·W = Y exactly and every training row is right.
    const few = clusters(6, D, C, 7, 2);
    const f = evaluation.pinvProbe({ trainFeatures: few.x, trainLabels: few.y, testFeatures: te.x, testLabels: te.y, D, numClasses: C });
    expect(f.rank).toBe(6);
    expect(f.trainAccuracy).toBe(1);
  });

  it('rejects what the linear probe rejects, and unknown options', () => {
    const x = new Float32Array(8), y = Int32Array.from([0, 1, 0, 1]);
    expect(() => evaluation.pinvProbe({ trainFeatures: x, trainLabels: y, testFeatures: x, testLabels: Int32Array.from([0, 1, 2, 1]), D: 2, numClasses: 2 })).toThrow(/testLabels: entry 2 is 2, outside \[0, 2\)/);
    expect(() => evaluation.pinvProbe({ trainFeatures: new Float32Array(8).fill(NaN), trainLabels: y, testFeatures: x, testLabels: y, D: 2, numClasses: 2 })).toThrow(/trainFeatures: row 0 has a non-finite value/);
    expect(() => evaluation.pinvProbe({ trainFeatures: x, trainLabels: y, testFeatures: new Float32Array(6), testLabels: y, D: 2, numClasses: 2 })).toThrow(ShapeError);
    expect(() => evaluation.pinvProbe({ trainFeatures: x, trainLabels: y, testFeatures: x, testLabels: y, D: 2, numClasses: 2 }, { rcond: 2 })).toThrow(/rcond: expected a number in \[0, 1\)/);
    expect(() => evaluation.pinvProbe({ trainFeatures: x, trainLabels: y, testFeatures: x, testLabels: y, D: 2, numClasses: 2 }, { rcnd: 1 } as never)).toThrow(/rcnd: unknown option; did you mean 'rcond'\?/);
  });
});

describe('stratifiedSubset', () => {
  // 4 classes of 500, 120, 37 and 3 rows, interleaved.
  const sizes = [500, 120, 37, 3];
  const labels = Int32Array.from(sizes.flatMap((n, c) => Array.from({ length: n }, () => c))).sort((a, b) => Math.sin(a * 7 + b) - 0.1);
  const counts = (idx: Int32Array) => sizes.map((_, c) => Array.from(idx).filter((i) => labels[i] === c).length);

  it('keeps round(f·n_c) rows of every class, at least one, distinct and in increasing order', () => {
    for (const [f, want] of [
      [0.01, [5, 1, 1, 1]],
      [0.1, [50, 12, 4, 1]],
      [0.5, [250, 60, 19, 2]],
      [1, [500, 120, 37, 3]],
    ] as const) {
      const idx = evaluation.stratifiedSubset(labels, f, 3);
      expect(counts(idx), `fraction ${f}`).toEqual(want);
      for (let i = 1; i < idx.length; i++) expect(idx[i]!).toBeGreaterThan(idx[i - 1]!);
    }
  });

  it('is seeded: the same seed and draw give the same rows, other draws and seeds other rows', () => {
    const a = evaluation.stratifiedSubset(labels, 0.1, 7, 0);
    expect(evaluation.stratifiedSubset(labels, 0.1, 7, 0)).toEqual(a);
    const b = evaluation.stratifiedSubset(labels, 0.1, 7, 1), c = evaluation.stratifiedSubset(labels, 0.1, 8, 0);
    for (const other of [b, c]) {
      expect(counts(other)).toEqual(counts(a));
      expect(Array.from(other)).not.toEqual(Array.from(a));
    }
    // Draw d is the first k_c rows of each class in the permutation of Philox stream (seed, SUBSET_STREAM + d).
    const perm = new Generator(7, evaluation.SUBSET_STREAM + 1).permutation(labels.length);
    const want = [50, 12, 4, 1], taken = [0, 0, 0, 0], ref: number[] = [];
    for (const i of perm) if (taken[labels[i]!]! < want[labels[i]!]!) (taken[labels[i]!]!++, ref.push(i));
    expect(Array.from(b)).toEqual(ref.sort((x, y) => x - y));
  });

  it('rejects a fraction outside (0, 1], negative labels and bad seeds', () => {
    for (const f of [0, -0.1, 1.5, NaN]) expect(() => evaluation.stratifiedSubset(labels, f)).toThrow(/fraction: expected a number in \(0, 1\]/);
    expect(() => evaluation.stratifiedSubset(Int32Array.from([0, -1]), 0.5)).toThrow(/labels: entry 1 is -1/);
    expect(() => evaluation.stratifiedSubset(labels, 0.5, -1)).toThrow(/seed: expected a non-negative integer/);
    expect(() => evaluation.stratifiedSubset([0, 1] as never, 0.5)).toThrow(ArgumentError);
  });
});

describe('fewLabelProbe', () => {
  it('trains the probe on each draw\'s subset and reports mean ± sample std of the test accuracies', () => {
    const D = 6, C = 3;
    const tr = clusters(900, D, C, 21, 1.5), te = clusters(300, D, C, 21, 1.5);
    for (const kind of ['pinv', 'knn', 'linear'] as const) {
      const spec = { kind, linear: { minSteps: 200, lr: 1e-2 }, knn: { k: 5 } };
      const r = evaluation.fewLabelProbe(spec, { trainFeatures: tr.x, trainLabels: tr.y, testFeatures: te.x, testLabels: te.y, D, numClasses: C }, { fraction: 0.02, draws: 3, seed: 4 });
      expect(r.draws).toHaveLength(3);
      // Each draw is the probe on stratifiedSubset(labels, 0.02, 4, d).
      for (let d = 0; d < 3; d++) {
        const idx = evaluation.stratifiedSubset(tr.y, 0.02, 4, d);
        expect(r.rows).toBe(idx.length);
        const x = new Float32Array(idx.length * D);
        idx.forEach((i, k) => x.set(tr.x.subarray(i * D, (i + 1) * D), k * D));
        const y = Int32Array.from(idx, (i) => tr.y[i]!);
        expect(r.draws[d], `${kind} draw ${d}`).toEqual(evaluation.runProbe(spec, { trainFeatures: x, trainLabels: y, testFeatures: te.x, testLabels: te.y, D, numClasses: C }));
      }
      const accs = r.draws.map((o) => o.testAccuracy);
      const mean = (accs[0]! + accs[1]! + accs[2]!) / 3;
      expect(r.mean).toBeCloseTo(mean, 14);
      expect(r.std).toBeCloseTo(Math.sqrt(accs.reduce((s, a) => s + (a - mean) ** 2, 0) / 2), 14);
      expect(r.mean, kind).toBeGreaterThan(0.6);
    }
    expect(evaluation.meanStd([0.5])).toEqual({ mean: 0.5, std: 0 });
    expect(() => evaluation.fewLabelProbe({ kind: 'svm' as never }, { trainFeatures: tr.x, trainLabels: tr.y, testFeatures: te.x, testLabels: te.y, D, numClasses: C }, { fraction: 0.1 })).toThrow(/probe.kind: expected one of linear, pinv, knn/);
    expect(() => evaluation.fewLabelProbe({ kind: 'knn' }, { trainFeatures: tr.x, trainLabels: tr.y, testFeatures: te.x, testLabels: te.y, D, numClasses: C }, { fraction: 0.1, draws: 0 })).toThrow(/draws: expected an integer from 1 to 1000/);
  });
});

describe('stdOfL2Normalized (the collapse monitor)', () => {
  it('is 0 for identical rows, 1/√d for orthonormal rows, and lightly\'s formula on random rows', () => {
    const d = 16;
    const same = new Float32Array(8 * d).map((_, i) => [3, -1, 2, 0][i % 4]! * (1 + Math.floor(i / d))); // one direction, several lengths
    expect(evaluation.stdOfL2Normalized(same, d)).toBeCloseTo(0, 6);
    const eye = new Float32Array(d * d).map((_, i) => (i % (d + 1) === 0 ? 2.5 : 0));
    expect(evaluation.stdOfL2Normalized(eye, d)).toBeCloseTo(1 / Math.sqrt(d), 12);
    // lightly: z = F.normalize(z, dim=1); torch.std(z, dim=0).mean() (unbiased std), written out.
    const n = 10, x = randn(n * d, 5);
    const z = Array.from({ length: n }, (_, i) => {
      const row = Array.from(x.subarray(i * d, (i + 1) * d));
      const norm = Math.hypot(...row);
      return row.map((v) => v / norm);
    });
    let want = 0;
    for (let j = 0; j < d; j++) {
      const m = z.reduce((s, r) => s + r[j]!, 0) / n;
      want += Math.sqrt(z.reduce((s, r) => s + (r[j]! - m) ** 2, 0) / (n - 1));
    }
    expect(evaluation.stdOfL2Normalized(x, d)).toBeCloseTo(want / d, 12);
    expect(() => evaluation.stdOfL2Normalized(new Float32Array(d), d)).toThrow(/at least 2 rows/);
    expect(() => evaluation.stdOfL2Normalized(new Float32Array(7), 2)).toThrow(ShapeError);
  });
});

describe('training monitors: collapse in the step and epoch events, divergence stops the fit', () => {
  const tiny = { encoder: { kind: 'mlp' as const, hidden: [8] }, projection: [8, 4] as [number, number], seed: 1 };
  const data = fromArray(new Float32Array(64 * 6).map((_, i) => Math.sin(i * 0.7) + Math.cos(i * 0.13)), [6]);
  const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'imix-monitor-'));
  const paramCount = (m: NPair) => (m as unknown as { online: { numel: number } }).online.numel;

  it('measures collapse every collapseEvery steps and on the last step of each epoch; the epoch value is their mean', async () => {
    for (const make of [() => new NPair(tiny), () => new MoCo({ ...tiny, queueSize: 16 }), () => new BYOL(tiny)]) {
      const m = make();
      const steps: StepEvent[] = [], epochs: EpochEvent[] = [];
      await m.fit(data, { epochs: 2, batchSize: 16, collapseEvery: 3, onStep: (e) => steps.push(e), onEpoch: (e) => epochs.push(e) });
      // 4 steps an epoch: steps 1 (the fit's first), 3, 4 (last of epoch 1), 6, 8 (last of epoch 2).
      expect(steps.filter((e) => e.collapse !== undefined).map((e) => e.step), m.name).toEqual([1, 3, 4, 6, 8]);
      for (const e of steps.filter((s) => s.collapse !== undefined)) {
        expect(e.collapse!, m.name).toBeGreaterThan(0);
        expect(e.collapse!, m.name).toBeLessThanOrEqual(Math.sqrt(16 / 15) / Math.sqrt(4) + 1e-9); // at most √(n/(n−1))/√d
      }
      expect(epochs[0]!.collapse).toBeCloseTo((steps[0]!.collapse! + steps[2]!.collapse! + steps[3]!.collapse!) / 3, 12);
      expect(epochs[1]!.collapse).toBeCloseTo((steps[5]!.collapse! + steps[7]!.collapse!) / 2, 12);
      const none: StepEvent[] = [];
      await m.fit(data, { epochs: 3, batchSize: 16, collapseEvery: 0, onStep: (e) => none.push(e) });
      expect(none).toHaveLength(4);
      expect(none.every((e) => e.collapse === undefined)).toBe(true);
      m.dispose();
    }
    await expect(new NPair(tiny).fit(data, { epochs: 1, batchSize: 16, collapseEvery: -1 })).rejects.toThrow(/collapseEvery: expected a non-negative integer/);
  });

  it('reads 0 for a network whose embeddings all coincide', async () => {
    const m = new NPair({ ...tiny, mix: { kind: 'none' }, optimizer: { lr: 1e-9 } });
    m.build([6]);
    m.setParameters(new Float32Array(paramCount(m))); // zero weights: every embedding is 0
    const steps: StepEvent[] = [];
    await m.fit(data, { epochs: 1, batchSize: 16, onStep: (e) => steps.push(e) });
    expect(steps[0]!.collapse).toBe(0);
    m.dispose();
  });

  it('the loss bound: 2/τ + ln(2·batch + queue) for InfoNCE, 8 for BYOL', () => {
    const n = new NPair(tiny), q = new MoCo({ ...tiny, queueSize: 64, temperature: 0.5 }), b = new BYOL(tiny);
    expect(n.lossBound(16)).toBeCloseTo(2 / 0.2 + Math.log(32), 12);
    expect(q.lossBound(16)).toBeCloseTo(2 / 0.5 + Math.log(32 + 64), 12);
    expect(b.lossBound(16)).toBe(8);
    for (const m of [n, q, b]) m.dispose();
  });

  it('a loss above maxLoss stops the fit with a DivergenceError naming the step; the checkpoint folder keeps its last checkpoint', async () => {
    const dir = tmpDir();
    const m = new NPair(tiny);
    await m.fit(data, { epochs: 1, batchSize: 16, checkpointDir: dir });
    const before = fs.readFileSync(path.join(dir, 'checkpoint.safetensors'));
    const e = await m.fit(data, { epochs: 3, batchSize: 16, checkpointDir: dir, maxLoss: 1e-6 }).catch((x: unknown) => x as DivergenceError);
    expect(e).toBeInstanceOf(DivergenceError);
    expect(e.message).toMatch(/^loss: \d+\.\d+ at step 5 is above 0\.000001, maxLoss; settings that can make training diverge: /);
    expect(e.step).toBe(5);
    expect(m.step).toBe(4); // refused before its update: the model stays at the last good step
    expect(fs.readFileSync(path.join(dir, 'checkpoint.safetensors')).equals(before)).toBe(true);
    await expect(m.fit(data, { epochs: 3, batchSize: 16, maxLoss: 0 })).rejects.toThrow(/maxLoss: expected a positive number, got 0/);
    m.dispose();
    fs.rmSync(dir, { recursive: true });
  });

  it('an absurd learning rate stops at the NaN loss, after a checkpoint of finite weights', async () => {
    // One step an epoch: step 1's loss is finite (the weights are the initial ones), its update takes the
    // weights to ~1e27, the epoch's checkpoint is written, and step 2's forward pass overflows to NaN.
    const dir = tmpDir();
    const m = new NPair({ ...tiny, optimizer: { lr: 1e30 } });
    const e = await m.fit(fromArray(data.x.subarray(0, 16 * 6), [6]), { epochs: 5, batchSize: 16, checkpointDir: dir }).catch((x: unknown) => x as DivergenceError);
    expect(e).toBeInstanceOf(DivergenceError);
    expect(e.message).toMatch(/^loss: became NaN at step 2; /);
    expect(e.step).toBe(2);
    const ck = loadCheckpoint(dir);
    expect(ck.step).toBe(1);
    for (const [name, t] of Object.entries(ck.tensors)) expect(Array.from(t.data as Float32Array).every(Number.isFinite), name).toBe(true);
    m.dispose();
    fs.rmSync(dir, { recursive: true });
  });

  it('save refuses non-finite weights with a DivergenceError and leaves the folder as it was', async () => {
    const dir = tmpDir();
    const m = new NPair(tiny);
    await m.fit(data, { epochs: 1, batchSize: 16, checkpointDir: dir });
    const before = fs.readFileSync(path.join(dir, 'checkpoint.safetensors'));
    const p = new Float32Array(paramCount(m)).fill(0.1);
    p[3] = NaN;
    m.setParameters(p);
    const e = await m.save(dir).catch((x: unknown) => x as DivergenceError);
    expect(e).toBeInstanceOf(DivergenceError);
    expect(e.message).toMatch(/^save: the model's state is not finite at step 4 \('online\.params' value 3 is NaN\): training diverged, and .* keeps its last checkpoint; /);
    expect(fs.readFileSync(path.join(dir, 'checkpoint.safetensors')).equals(before)).toBe(true);
    m.dispose();
    fs.rmSync(dir, { recursive: true });
  });
});
