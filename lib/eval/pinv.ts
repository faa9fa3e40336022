/**
 * The closed-form least-squares probe of SCARF's tabular tables (Bahri et
 * al., ICLR 2022): one-hot targets Y, features X standardized with the
 * training split's statistics plus a bias column, W = pinv(X)·Y, and the
 * predicted class of a row is the argmax of its row of X·W. No training
 * loop and no hyperparameter: the number depends only on the features.
 * @module
 */
import { ValueError } from '../errors';
import { accuracy } from './knn';
import { type LeastSquaresOptions, MAX_LSTSQ_ENTRIES, leastSquares } from './lstsq';
import { type ProbeData, checkProbeInputs } from './probe';
import { checkOptions } from '../util/options';

/** Options of {@link pinvProbe}. */
export interface PinvProbeOptions {
  /** The rank cut-off of the pseudo-inverse (see {@link LeastSquaresOptions.rcond}); default max(rows, D + 1)·2⁻⁵². */
  rcond?: number;
}
/** Every key of PinvProbeOptions (the compiler keeps the list complete). */
const PINV_OPTION_KEYS: { [K in keyof Required<PinvProbeOptions>]: true } = { rcond: true };

/** What {@link pinvProbe} returns. */
export interface PinvProbeResult {
  trainAccuracy: number;
  testAccuracy: number;
  /** The numerical rank of the training design matrix [X, 1] (at most D + 1, and at most the training rows). */
  rank: number;
  /**
   * W, row-major [D + 1, numClasses]: rows 0..D−1 weigh the standardized
   * features, row D is the bias.
   */
  weights: Float64Array;
}

/**
 * Per-feature mean and standard deviation of the training rows, in double.
 * A constant feature (σ at most 1e-12 of its largest magnitude, as the
 * float32 rounding of a constant leaves) gets σ = ∞, so its standardized
 * column is exactly 0 and drops out of the rank instead of being noise.
 */
function featureStats(x: Float32Array, n: number, D: number): { mean: Float64Array; inv: Float64Array } {
  const mean = new Float64Array(D), m2 = new Float64Array(D), maxAbs = new Float64Array(D);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < D; j++) {
      const v = x[i * D + j]!;
      mean[j]! += v;
      maxAbs[j] = Math.max(maxAbs[j]!, Math.abs(v));
    }
  for (let j = 0; j < D; j++) mean[j]! /= n;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < D; j++) {
      const d = x[i * D + j]! - mean[j]!;
      m2[j]! += d * d;
    }
  const inv = new Float64Array(D);
  for (let j = 0; j < D; j++) {
    const sd = Math.sqrt(m2[j]! / n);
    inv[j] = sd > 1e-12 * maxAbs[j]! ? 1 / sd : 0;
  }
  return { mean, inv };
}

/** The design matrix [standardized x, 1], row-major [n, D + 1], in double. */
function design(x: Float32Array, n: number, D: number, s: { mean: Float64Array; inv: Float64Array }): Float64Array {
  const out = new Float64Array(n * (D + 1));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < D; j++) out[i * (D + 1) + j] = (x[i * D + j]! - s.mean[j]!) * s.inv[j]!;
    out[i * (D + 1) + D] = 1;
  }
  return out;
}

/** Each row's argmax of A·W (the first class on a tie). */
function predict(A: Float64Array, n: number, P: number, W: Float64Array, C: number): Int32Array {
  const out = new Int32Array(n), score = new Float64Array(C);
  for (let i = 0; i < n; i++) {
    score.fill(0);
    for (let j = 0; j < P; j++) {
      const a = A[i * P + j]!;
      if (a === 0) continue;
      for (let c = 0; c < C; c++) score[c]! += a * W[j * C + c]!;
    }
    let best = 0;
    for (let c = 1; c < C; c++) if (score[c]! > score[best]!) best = c;
    out[i] = best;
  }
  return out;
}

/**
 * The least-squares probe: W = pinv([X, 1])·Y on the training rows (X
 * standardized with their own mean and std, Y one-hot), then the argmax of
 * [X, 1]·W on both splits. Exact in double precision (a pivoted QR and a
 * complete orthogonal decomposition, see {@link leastSquares}): the same W
 * as numpy.linalg.pinv up to rounding, also when the rows are fewer than
 * the features (a few-label subset) or features are collinear (the
 * minimum-norm solution). Costs about 2·n·(D+1)² flops: seconds for
 * 10,000 rows of 512 features.
 */
export function pinvProbe(data: ProbeData, options: PinvProbeOptions = {}): PinvProbeResult {
  checkOptions(options, Object.keys(PINV_OPTION_KEYS), 'options', 'pinvProbe options');
  checkProbeInputs(data);
  const { trainFeatures, trainLabels, testFeatures, testLabels, D, numClasses } = data;
  const nTr = trainLabels.length, nTe = testLabels.length, P = D + 1;
  if (nTr * P > MAX_LSTSQ_ENTRIES || nTe * P > MAX_LSTSQ_ENTRIES || nTr * numClasses > MAX_LSTSQ_ENTRIES)
    throw new ValueError(`trainFeatures: ${Math.max(nTr, nTe)} rows of ${D} features (+ bias) are more than ${MAX_LSTSQ_ENTRIES} (2^28) entries, the most the double-precision solve takes; use linearProbe`);
  if (options.rcond !== undefined && (typeof options.rcond !== 'number' || !(options.rcond >= 0 && options.rcond < 1)))
    throw new ValueError(`rcond: expected a number in [0, 1), got ${String(options.rcond)}`);
  const stats = featureStats(trainFeatures, nTr, D);
  const Atr = design(trainFeatures, nTr, D, stats);
  const Y = new Float64Array(nTr * numClasses);
  for (let i = 0; i < nTr; i++) Y[i * numClasses + trainLabels[i]!] = 1;
  const { x: W, rank } = leastSquares(Atr, nTr, P, Y, numClasses, options.rcond !== undefined ? { rcond: options.rcond } : {});
  const trainAccuracy = accuracy(predict(Atr, nTr, P, W, numClasses), trainLabels);
  const testAccuracy = accuracy(predict(design(testFeatures, nTe, D, stats), nTe, P, W, numClasses), testLabels);
  return { trainAccuracy, testAccuracy, rank, weights: W };
}
