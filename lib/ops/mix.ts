/**
 * i-Mix input mixing: MixUp over rows of any shape, CutMix over `[N, C, H, W]`
 * images. Both are out of place (`out` must not overlap `x`): row i of the
 * output reads row `perm[i]` of the input, which another row may overwrite.
 * The caller owns the permutation `π` and the mixing coefficients `λ`; the
 * soft label of row i is `λ_i·e_i + (1−λ_i)·e_π(i)` (see the loss ops).
 * @module
 */
import { ArgumentError, ShapeError } from '../errors';
import { native } from '../native';
import { Tensor } from '../tensor';
import { checkInt, checkNumber, h, streamArgs } from './util';

/**
 * A CutMix box `[y0, y1) × [x0, x1)` (half-open, clipped to the image) and the
 * λ it implies, `1 − (y1−y0)(x1−x0)/(H·W)`.
 */
export interface CutMixBox {
  y0: number;
  x0: number;
  y1: number;
  x1: number;
  /** The recomputed mixing coefficient: the fraction of the image kept from `x_i`. */
  lam: number;
}

/** The box fields {@link cutmix} reads (`lam` is not needed to apply a box). */
export type BoxCoords = Pick<CutMixBox, 'y0' | 'x0' | 'y1' | 'x1'>;

/** Where {@link cutmixBox} reads the Philox stream (words 0 and 1 of `(seed, offset)`). */
export interface BoxStream {
  /** Philox key: a non-negative safe integer. */
  seed: number;
  /** Stream offset: a non-negative safe integer; default 0. Advance it per batch. */
  offset?: number;
}

/**
 * MixUp, out of place: `out_i = λ_i·x_i + (1−λ_i)·x_{perm[i]}`, where a row
 * is everything after the first dimension of `x` ([N, ...], any rank ≥ 1).
 *
 * @param x    input rows, float32 [N, ...]
 * @param out  output, same shape as `x`, not overlapping it
 * @param perm int32 [N], a permutation of 0..N−1 (`perm[i] = i` allowed)
 * @param lam  per-row coefficients (float32 [N], each in [0, 1]) or one
 *             coefficient in [0, 1] for the whole batch
 */
export function mixup(x: Tensor<'float32'>, out: Tensor<'float32'>, perm: Tensor<'int32'>, lam: Tensor<'float32'> | number): void {
  const hx = h(x, 'x'), ho = h(out, 'out'), hp = h(perm, 'perm');
  if (typeof lam === 'number') {
    // Checked here: the binding reads this number as its argument lamScalar.
    native.mixup(hx, ho, hp, null, checkNumber(lam, 'lam', 0, 1));
  } else {
    if (!(lam instanceof Tensor)) throw new ArgumentError('lam: expected a Tensor or a number');
    native.mixup(hx, ho, hp, h(lam, 'lam'), 1);
  }
}

/**
 * Samples the CutMix box of the authors' reference code for an `H × W` image:
 * side ratio `sqrt(1−λ)` (`cut_w = ⌊W·sqrt(1−λ)⌋`, `cut_h` likewise), centre
 * `cx = ⌊u₀·W⌋`, `cy = ⌊u₁·H⌋` with `u₀, u₁` the uniforms of Philox words 0
 * and 1 of `(seed, offset)` (as `randUniform` draws them), then
 * `x0 = clip(cx − ⌊cut_w/2⌋, 0, W)`, `x1 = clip(cx + ⌊cut_w/2⌋, 0, W)` (y
 * likewise), and the recomputed `lam = 1 − area/(H·W)`. λ = 1 gives an empty
 * box and lam = 1.
 */
export function cutmixBox(lam: number, H: number, W: number, opts: BoxStream): CutMixBox {
  // Checked here as well as by the binding, for the messages callers know
  // (`lam: 1.5 is outside [0, 1]`, `H: 0 is outside [1, 2147483647]`).
  checkNumber(lam, 'lam', 0, 1);
  checkInt(H, 'H', 1, 2 ** 31 - 1);
  checkInt(W, 'W', 1, 2 ** 31 - 1);
  const [seed, offset] = streamArgs(opts, 'opts');
  return native.cutmixBox(lam, H, W, seed, offset);
}

/**
 * CutMix, out of place: `out = x` outside the box, and inside it, for every
 * channel, `out[i, c, y, x] = x[perm[i], c, y, x]`.
 *
 * @param x    images, float32 [N, C, H, W] (CutMix needs spatial data)
 * @param out  output, same shape, not overlapping `x`
 * @param perm int32 [N], a permutation of 0..N−1
 * @param box  `0 ≤ y0 ≤ y1 ≤ H`, `0 ≤ x0 ≤ x1 ≤ W` (e.g. from {@link cutmixBox})
 */
export function cutmix(x: Tensor<'float32'>, out: Tensor<'float32'>, perm: Tensor<'int32'>, box: BoxCoords): void {
  const hx = h(x, 'x'), ho = h(out, 'out'), hp = h(perm, 'perm');
  if (box === null || typeof box !== 'object') throw new ArgumentError('box: expected an object {y0, x0, y1, x1}');
  native.cutmix(hx, ho, hp, { y0: box.y0, x0: box.x0, y1: box.y1, x1: box.x1 });
}

/**
 * One CutMix step for a batch: samples the box for `x`'s `H × W` with
 * {@link cutmixBox} and applies it with {@link cutmix}. Returns the box and the
 * recomputed λ, which every row of the batch shares (use it for the soft labels).
 */
export function cutmixBatch(
  x: Tensor<'float32'>,
  out: Tensor<'float32'>,
  perm: Tensor<'int32'>,
  lam: number,
  opts: BoxStream,
): { box: CutMixBox; lam: number } {
  h(x, 'x');
  if (x.ndim !== 4)
    throw new ShapeError(`x: CutMix needs spatial [N, C, H, W] data, got shape [${x.shape.join(', ')}] (use mixup for non-image data)`);
  const box = cutmixBox(lam, x.shape[2]!, x.shape[3]!, opts);
  cutmix(x, out, perm, box);
  return { box, lam: box.lam };
}
