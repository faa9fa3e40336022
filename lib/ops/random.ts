/**
 * Counter-based random draws (Philox4x32-10) and the domain-agnostic views
 * of i-Mix: input drop and Gaussian noise.
 *
 * Every draw is a pure function of `(seed, offset, i)`: element `i` of a call
 * uses 32-bit word `i mod 4` of the Philox block with key `seed` and counter
 * `{lo(i/4), hi(i/4), lo(offset), hi(offset)}` (native/common/philox.h). The
 * CPU and CUDA backends draw the same stream, results do not depend on the
 * thread count, and two calls with the same seed and offset repeat exactly.
 * Advance `offset` per call (e.g. use the step number) so nothing repeats.
 * @module
 */
import { native } from '../native';
import type { Tensor } from '../tensor';
import { checkNumber, h, streamArgs } from './util';

/** Where a draw reads the Philox stream. */
export interface RandomStream {
  /** Philox key: a non-negative integer up to `Number.MAX_SAFE_INTEGER`. */
  seed: number;
  /** Stream offset (the counter's high half): a non-negative safe integer; default 0. */
  offset?: number;
}

/** Options of {@link randNormal}. */
export interface NormalOptions extends RandomStream {
  /** Mean of the distribution; default 0. */
  mean?: number;
  /** Standard deviation (≥ 0); default 1. */
  std?: number;
}

/**
 * Fills `out` (float32, any shape) with uniform draws in [0, 1):
 * `out_i = (word_i >>> 8) · 2⁻²⁴`, exactly representable in float32.
 */
export function randUniform(out: Tensor<'float32'>, opts: RandomStream): void {
  const [seed, offset] = streamArgs(opts);
  native.randUniform(h(out, 'out'), seed, offset);
}

/**
 * Fills `out` (float32, any shape) with normal draws `mean + std·z_i`. `z_i`
 * is Box–Muller on the word pair `(i & ~1, i | 1)` of element i's block: the
 * cosine branch for even i, the sine branch for odd i.
 */
export function randNormal(out: Tensor<'float32'>, opts: NormalOptions): void {
  const [seed, offset] = streamArgs(opts);
  native.randNormal(h(out, 'out'), seed, offset, opts.mean ?? 0, opts.std ?? 1);
}

/**
 * Input drop, the i-Mix paper's augmentation for data without domain
 * knowledge: zeroes each element independently with probability `p`,
 * without rescaling the kept ones: `out_i = u_i < p ? 0 : x_i` with `u_i`
 * the uniform draw of {@link randUniform}. `out` has `x`'s element count;
 * it may be `x` itself (in place) but must not partially overlap it.
 */
export function inputDrop(x: Tensor<'float32'>, out: Tensor<'float32'>, p: number, opts: RandomStream): void {
  checkNumber(p, 'p', 0, 1); // here for its message (`p: 1.5 is outside [0, 1]`); std and mean: by the binding
  const [seed, offset] = streamArgs(opts);
  native.inputDrop(h(x, 'x'), h(out, 'out'), p, seed, offset);
}

/**
 * Additive Gaussian noise: `out_i = x_i + std·z_i` with `z_i` the standard
 * normal of {@link randNormal}. `out` may be `x` itself (in place).
 */
export function gaussianNoise(x: Tensor<'float32'>, out: Tensor<'float32'>, std: number, opts: RandomStream): void {
  const [seed, offset] = streamArgs(opts);
  native.gaussianNoise(h(x, 'x'), h(out, 'out'), std, seed, offset);
}
