/**
 * SCARF's feature corruption (Bahri et al., *SCARF: Self-Supervised
 * Contrastive Learning using Random Feature Corruption*, ICLR 2022) as one
 * batched native kernel on the CPU or on CUDA, bit-identical on both: each
 * feature of a row is replaced, with probability `p`, by the same feature of
 * a uniformly drawn row of a pool (the training set), i.e. by a draw from
 * that feature's empirical marginal distribution.
 *
 * Randomness: element `(i, j)` of `x[N, F]` reads Philox block
 * `e = i·F + j` of the stream `(seed, offset)` — words `(w0, w1, w2, w3)` of
 * `philox4x32_10(key = seed, counter = {lo(e), hi(e), lo(offset), hi(offset)})`
 * (native/common/philox.h; `philoxBlock(seed, e, offset)` in lib/random.ts):
 *
 * - replaced when `u(w0) < p`, with `u(w) = (w >>> 8)·2⁻²⁴` (the uniform in
 *   [0, 1) of `randUniform`, compared exactly with `p`);
 * - by pool row `r = ⌊(w1·2³² + w2)·M / 2⁶⁴⌋`, uniform in `[0, M)` (the high
 *   64 bits of a 64 × 64-bit product, exact in integers; each row is drawn
 *   with a probability within 2⁻⁶⁴ of 1/M);
 * - `w3` unused.
 *
 * The result is a pure function of `(seed, offset, i·F + j)` and the data,
 * independent of the thread count and of the device.
 * @module
 */
import { ShapeError } from '../errors';
import { native } from '../native';
import type { Tensor } from '../tensor';
import type { RandomStream } from './random';
import { checkNumber, h, streamArgs } from './util';

/** Options of {@link resampleFeatures}. */
export interface ResampleOptions extends RandomStream {
  /** Probability in [0, 1] that an element is replaced (SCARF's corruption rate; the paper uses 0.6). */
  p: number;
}

/**
 * SCARF corruption: `out[i,j] = u_ij < p ? pool[r_ij, j] : x[i,j]` with
 * `u_ij` uniform in [0, 1) and `r_ij` a uniform row of the pool, drawn
 * independently per element (module doc for the draws). Every replaced
 * value comes from the same column of the pool.
 *
 * @param x    rows, float32 `[N, F]`
 * @param pool the rows to draw from (the training set), float32 `[M, F]`, `M ≥ 1`, on `x`'s device
 * @param out  output, float32 `[N, F]`; may be `x` itself (in place), must not overlap `pool`
 * @param opts `{ p, seed, offset }`
 */
export function resampleFeatures(x: Tensor<'float32'>, pool: Tensor<'float32'>, out: Tensor<'float32'>, opts: ResampleOptions): void {
  h(x, 'x');
  if (x.ndim !== 2) throw new ShapeError(`x: SCARF resampling needs rows [N, F], got shape [${x.shape.join(', ')}]`);
  const [seed, offset] = streamArgs(opts, 'opts');
  const p = checkNumber(opts.p, 'p', 0, 1); // here for its message (`p: 1.5 is outside [0, 1]`)
  native.resampleFeatures(h(x, 'x'), h(pool, 'pool'), h(out, 'out'), p, seed, offset);
}
