/**
 * Training monitors computed from what a step already has: the embedding
 * collapse statistic (lightly's `std_of_l2_normalized`, after SimSiam's
 * Figure 2) of a batch's embeddings.
 * @module
 */
import { ArgumentError, ShapeError, ValueError } from '../errors';

/**
 * Mean over the D dimensions of the per-dimension standard deviation of the
 * L2-normalized rows of `x` (row-major [n, D]):
 *
 *   ẑ_i = z_i / max(‖z_i‖, 1e-12),   collapse = (1/D)·Σ_j std_i(ẑ_ij)
 *
 * with the unbiased standard deviation (n − 1 in the denominator), as
 * lightly's `std_of_l2_normalized` (`F.normalize`, then `torch.std(…, 0).mean()`).
 * It is 0 when every row points the same way (collapse) and about 1/√D when
 * the rows are spread evenly over the sphere (a zero-mean isotropic
 * distribution); it never exceeds √(n/(n−1))/√D. Computed in double.
 */
export function stdOfL2Normalized(x: Float32Array, D: number): number {
  if (!(x instanceof Float32Array)) throw new ArgumentError('x: expected a Float32Array of rows');
  if (!Number.isSafeInteger(D) || D < 1) throw new ValueError(`D: expected a positive integer, got ${D}`);
  const n = x.length / D;
  if (!Number.isInteger(n)) throw new ShapeError(`x: ${x.length} values are not rows of ${D}`);
  if (n < 2) throw new ValueError(`x: the standard deviation over rows needs at least 2 rows, got ${n}`);
  const mean = new Float64Array(D), m2 = new Float64Array(D), inv = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < D; j++) s += x[i * D + j]! * x[i * D + j]!;
    inv[i] = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let j = 0; j < D; j++) mean[j]! += x[i * D + j]! * inv[i]!;
  }
  for (let j = 0; j < D; j++) mean[j]! /= n;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < D; j++) {
      const d = x[i * D + j]! * inv[i]! - mean[j]!;
      m2[j]! += d * d;
    }
  let sum = 0;
  for (let j = 0; j < D; j++) sum += Math.sqrt(m2[j]! / (n - 1));
  return sum / D;
}
