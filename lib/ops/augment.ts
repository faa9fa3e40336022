/**
 * Geometric image views on `[N, C, H, W]` batches, out of place, on CPU or
 * CUDA tensors (the same draws and bit-identical results on both devices):
 *
 * - {@link randomCropFlip}: random crop with zero padding and horizontal flip
 *   (torchvision's `RandomCrop(size, padding)` followed by
 *   `RandomHorizontalFlip(p)`), fused into one pass; {@link randomCrop} and
 *   {@link horizontalFlip} are its two halves;
 * - {@link randomResizedCrop}: torchvision 0.14's `RandomResizedCrop((H, W),
 *   scale, ratio)` (bilinear, on tensors) fused with a horizontal flip;
 *   {@link resizedCrop} is its resampling for one given box
 *   (torchvision's `F.resized_crop`).
 *
 * None of them assumes a pixel range: crops and flips move values, bilinear
 * resampling takes convex combinations of them.
 *
 * Randomness of the crop/flip: image `i` reads Philox block `i` of the stream
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
 * `(seed, offset, i)`, independent of the thread count. The random resized
 * crop's layout is in {@link randomResizedCrop}.
 * @module
 */
import { ArgumentError, ShapeError, ValueError } from '../errors';
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

/** Options of {@link randomResizedCrop}: the stream plus the view parameters. */
export interface ResizedCropOptions extends RandomStream {
  /** Range `[lo, hi]` of the crop's area as a fraction of the image, `0 < lo ≤ hi ≤ 1`. Default `[0.08, 1]`. */
  scale?: readonly [number, number];
  /** Range `[lo, hi]` of the crop's aspect ratio w/h, `0 < lo ≤ hi`, drawn log-uniformly. Default `[3/4, 4/3]`. */
  ratio?: readonly [number, number];
  /** Probability of flipping each image horizontally (after the crop), in [0, 1]. Default 0. */
  flipP?: number;
}

/** A crop box for {@link resizedCrop}: rows `[top, top+height)`, columns `[left, left+width)`. */
export interface ResizedCropBox {
  /** First row of the box, in `[0, H − height]`. */
  top: number;
  /** First column of the box, in `[0, W − width]`. */
  left: number;
  /** Rows of the box, in `[1, H]`. */
  height: number;
  /** Columns of the box, in `[1, W]`. */
  width: number;
  /** Mirror the result left–right. Default false. */
  flip?: boolean;
}

function range(v: readonly [number, number] | undefined, dflt: [number, number], arg: string): [number, number] {
  if (v === undefined) return dflt;
  if (!Array.isArray(v) || v.length !== 2) throw new ArgumentError(`${arg}: expected a [lo, hi] pair of numbers`);
  return [checkNumber(v[0], `${arg}[0]`), checkNumber(v[1], `${arg}[1]`)];
}

/**
 * Random resized crop, then horizontal flip, out of place: torchvision 0.14's
 * `RandomResizedCrop((H, W), scale, ratio, interpolation=BILINEAR)` on a
 * float tensor followed by `RandomHorizontalFlip(flipP)`, each image with its
 * own box, the output the size of the input.
 *
 * **Box** (torchvision's `get_params`): up to 10 attempts of area fraction
 * `σ ~ U(scale)` and log aspect ratio `ρ ~ U(log ratio[0], log ratio[1])`,
 * `A = H·W·σ`, `w = round(√(A·e^ρ))`, `h = round(√(A/e^ρ))` (round half to
 * even, as Python's `round`); the first with `0 < w ≤ W` and `0 < h ≤ H` is
 * taken, at `top ~ U{0, …, H−h}`, `left ~ U{0, …, W−w}`. If none fits,
 * torchvision's centre crop: the whole image, or, when `W/H` is outside the
 * ratio range, the largest centred box at the nearer bound (at least 1 pixel).
 *
 * **Resampling** (`F.interpolate(mode='bilinear', align_corners=False)`, no
 * antialias, on the crop): output row `y` reads crop rows `y0 = ⌊s⌋` and
 * `y1 = min(y0 + 1, h − 1)` with `s = max(0, (h/H)·(y + ½) − ½)` and weights
 * `1 − (s − y0)`, `s − y0`; columns likewise (`h = H` is a plain copy of the
 * rows); `out = λ0ʸ·(λ0ˣ·p00 + λ1ˣ·p01) + λ1ʸ·(λ0ˣ·p10 + λ1ˣ·p11)`, each
 * `a·b + c·d` as one `fmaf(a, b, c·d)`: PyTorch 1.13's CPU result bit for bit
 * on the fixtures of test/fixtures/gen_resized_crop.py (1 ulp for a 1×1 box).
 *
 * **Flip**: `out[i,c,y,x] = R[i,c,y,W−1−x]` with probability `flipP`.
 *
 * **Randomness**: image `i` reads Philox blocks `16·i + a` of the stream
 * `(seed, offset)` (`philoxBlock(seed, 16·i + a, offset)` in lib/random.ts),
 * `u(w) = (w >>> 8)·2⁻²⁴`: attempt `a = 0…9` uses block `16·i + a`,
 * `σ = lo + (hi − lo)·u(w0)`, `ρ = log r_lo + (log r_hi − log r_lo)·u(w1)`,
 * `top = ⌊u(w2)·(H − h + 1)⌋`, `left = ⌊u(w3)·(W − w + 1)⌋` (exact integers);
 * the flip is `u(w0) < flipP` of block `16·i + 10`; blocks `16·i + 11…15`
 * are unused. The doubles are computed from IEEE basic operations only, with
 * imix's own `log`/`exp` (native/common/resized_crop.h), so a box is the same
 * on every device and thread count. All channels of an image share its box.
 *
 * @param x    images, float32 [N, C, H, W] (H, W < 2³¹); any value range
 * @param out  output, same shape and device, not overlapping `x`
 * @param opts `{ scale, ratio, flipP, seed, offset }`
 */
export function randomResizedCrop(x: Tensor<'float32'>, out: Tensor<'float32'>, opts: ResizedCropOptions): void {
  checkImages(x, 'random resized crop');
  const [seed, offset] = streamArgs(opts, 'opts');
  const [scaleLo, scaleHi] = range(opts.scale, [0.08, 1], 'scale');
  if (!(scaleLo > 0 && scaleLo <= scaleHi && scaleHi <= 1))
    throw new ValueError(`scale: expected area fractions 0 < lo ≤ hi ≤ 1, got [${scaleLo}, ${scaleHi}]`);
  const [ratioLo, ratioHi] = range(opts.ratio, [3 / 4, 4 / 3], 'ratio');
  if (!(ratioLo > 0 && ratioLo <= ratioHi))
    throw new ValueError(`ratio: expected aspect ratios 0 < lo ≤ hi, got [${ratioLo}, ${ratioHi}]`);
  const flipP = checkNumber(opts.flipP ?? 0, 'flipP', 0, 1);
  native.randomResizedCrop(h(x, 'x'), h(out, 'out'), scaleLo, scaleHi, ratioLo, ratioHi, flipP, seed, offset);
}

/**
 * Crops the same box of every image and resizes it back to `H × W` with the
 * bilinear resampling of {@link randomResizedCrop} (torchvision's
 * `F.resized_crop(x, top, left, height, width, [H, W])` on tensors), mirrored
 * left–right when `box.flip`; out of place. The deterministic half of the
 * random view, e.g. to compare it with PyTorch.
 *
 * @param x    images, float32 [N, C, H, W]
 * @param out  output, same shape and device, not overlapping `x`
 * @param box  `{ top, left, height, width, flip? }` inside the image
 */
export function resizedCrop(x: Tensor<'float32'>, out: Tensor<'float32'>, box: ResizedCropBox): void {
  checkImages(x, 'resized crop');
  if (box === null || typeof box !== 'object') throw new ArgumentError('box: expected an object {top, left, height, width, flip?}');
  const flip = box.flip ?? false;
  if (typeof flip !== 'boolean') throw new ArgumentError(`box.flip: expected a boolean, got ${typeof flip}`);
  native.resizedCrop(h(x, 'x'), h(out, 'out'), box.top, box.left, box.height, box.width, flip);
}
