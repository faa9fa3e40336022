/**
 * Image views on `[N, C, H, W]` batches: random crop with zero padding and
 * horizontal flip (torchvision's `RandomCrop(size, padding)` followed by
 * `RandomHorizontalFlip(p)`), fused into one out-of-place pass.
 *
 * Randomness: image `i` reads Philox block `i` of the stream
 * `(seed, offset)` — words `(w0, w1, w2, w3)` of
 * `philox4x32_10(key = seed, counter = {lo(i), hi(i), lo(offset), hi(offset)})`
 * (native/common/philox.h; `philoxBlock(seed, i, offset)` in lib/random.ts):
 *
 * - `dy_i = ⌊u(w0)·(2·pad+1)⌋`, `dx_i = ⌊u(w1)·(2·pad+1)⌋`, in `[0, 2·pad]`,
 *   computed exactly as `((w >>> 8)·(2·pad+1)) >>> 24`;
 * - `flip_i = u(w2) < p`;
 *
 * with `u(w) = (w >>> 8)·2⁻²⁴` (the uniform of `randUniform`). All channels
 * of an image share its draw; the result is a pure function of
 * `(seed, offset, i)`, independent of the thread count.
 * @module
 */
import { ShapeError } from '../errors';
import { native } from '../native';
import type { Tensor } from '../tensor';
import type { RandomStream } from './random';
import { checkInt, checkNumber, h, streamArgs } from './util';

/** Options of {@link randomCropFlip}: the stream plus the two view parameters. */
export interface CropFlipOptions extends RandomStream {
  /** Zero padding on each side; crop offsets are drawn in `[0, 2·pad]`. Default 0 (no crop). */
  pad?: number;
  /** Probability of flipping each image horizontally, in [0, 1]. Default 0 (no flip). */
  flipP?: number;
}

// pad and the flip probability are checked here as well as by the binding:
// the wrappers' messages print the value as given (`flipP: 1.5 is outside
// [0, 1]`, `pad: -1 is outside [0, 2147483647]`), and horizontalFlip's `p`
// is the binding's `flipP`.

function checkImages(x: Tensor<'float32'>, what: string): void {
  h(x, 'x');
  if (x.ndim !== 4)
    throw new ShapeError(`x: ${what} needs spatial [N, C, H, W] data, got shape [${x.shape.join(', ')}]`);
}

/**
 * Random crop with zero padding, then horizontal flip, out of place:
 * `c[i,ch,y,x] = x[i,ch, y+dy_i−pad, x+dx_i−pad]` (0 outside the image),
 * `out[i,ch,y,x] = flip_i ? c[i,ch,y,W−1−x] : c[i,ch,y,x]`.
 *
 * @param x    images, float32 [N, C, H, W]
 * @param out  output, same shape, not overlapping `x`
 * @param opts `{ pad, flipP, seed, offset }`
 */
export function randomCropFlip(x: Tensor<'float32'>, out: Tensor<'float32'>, opts: CropFlipOptions): void {
  checkImages(x, 'random crop and flip');
  const [seed, offset] = streamArgs(opts, 'opts');
  const pad = checkInt(opts.pad ?? 0, 'pad', 0, 2 ** 31 - 1);
  const flipP = checkNumber(opts.flipP ?? 0, 'flipP', 0, 1);
  native.randomCropFlip(h(x, 'x'), h(out, 'out'), pad, flipP, seed, offset);
}

/**
 * Random crop of the image zero-padded by `pad` on each side (same output
 * size), out of place. The offsets are those of {@link randomCropFlip}.
 */
export function randomCrop(x: Tensor<'float32'>, out: Tensor<'float32'>, pad: number, opts: RandomStream): void {
  checkImages(x, 'random crop');
  checkInt(pad, 'pad', 0, 2 ** 31 - 1);
  const [seed, offset] = streamArgs(opts, 'opts');
  native.randomCropFlip(h(x, 'x'), h(out, 'out'), pad, 0, seed, offset);
}

/**
 * Flips each image horizontally with probability `p` (word 2 of its
 * Philox block, as in {@link randomCropFlip}), out of place.
 */
export function horizontalFlip(x: Tensor<'float32'>, out: Tensor<'float32'>, p: number, opts: RandomStream): void {
  checkImages(x, 'horizontal flip');
  checkNumber(p, 'p', 0, 1);
  const [seed, offset] = streamArgs(opts, 'opts');
  native.randomCropFlip(h(x, 'x'), h(out, 'out'), 0, p, seed, offset);
}
