/**
 * Photometric image views on `[N, C, H, W]` batches with `C = 3` (RGB) or
 * `C = 1` (grayscale), float images in [0, 1]: colour jitter (torchvision's
 * `RandomApply([ColorJitter(brightness, contrast, saturation, hue)], p)`)
 * and random grayscale (`RandomGrayscale(p)`), on CPU and CUDA alike.
 *
 * Formulas (torchvision 0.14's `functional_tensor`, each operation rounded
 * to float32 as torch rounds it; `clamp` keeps NaN):
 *
 * - `gray(r, g, b) = 0.2989·r + 0.587·g + 0.114·b`
 * - brightness `b`: `x ← clamp(b·x, 0, 1)`
 * - contrast `c`: `x ← clamp(c·x + (1−c)·m, 0, 1)`, `m` the mean over the
 *   image of `gray(x)` (of `x` itself when `C = 1`)
 * - saturation `s`: `x ← clamp(s·x + (1−s)·gray(x), 0, 1)` per pixel
 * - hue `h`: RGB → HSV (`_rgb2hsv`), `H ← (H + h) mod 1`, HSV → RGB (`_hsv2rgb`)
 * - grayscale: `gray(x)` on all three channels
 *
 * For `C = 1`, saturation, hue and grayscale are identities (as in
 * torchvision). Applied in place (`out` is `x`) or out of place; `out` must
 * not partially overlap `x`.
 *
 * Randomness of {@link colorJitter}: image `i` reads Philox blocks `2i` and
 * `2i + 1` of the stream `(seed, offset)` (native/common/philox.h;
 * `philoxBlock(seed, block, offset)` in lib/random.ts), words
 * `A = (a0, a1, a2, a3)` and `B = (b0, b1, ·, ·)`, with `u(w) = (w >>> 8)·2⁻²⁴`:
 *
 * - applied iff `u(a0) < p`;
 * - the order: `r = ⌊a1·24 / 2³²⌋ ∈ [0, 24)`, decoded as a Lehmer code: from
 *   the list `(0, 1, 2, 3)` = (brightness, contrast, saturation, hue), the
 *   k-th step takes the entry at index `r mod (4 − k)` and removes it, then
 *   `r ← ⌊r / (4 − k)⌋` (a uniform permutation, as ColorJitter's `randperm(4)`);
 * - the factors: brightness from `a2`, contrast `a3`, saturation `b0`, each
 *   `lo + u·span` with `lo = max(0, 1 − k)`, `span = (1 + k) − lo` (float32
 *   arithmetic on the strength `k`), and the hue shift from `b1` as
 *   `−h + u·2h`; the sum is formed in double and rounded once to float32
 *   (`Math.fround(lo + u·span)` reproduces it exactly).
 *
 * An adjustment of strength 0 is skipped (torchvision's `None`); the words
 * are drawn anyway, so the layout depends on neither the strengths nor `C`.
 * {@link randomGrayscale}: image `i` turns gray iff `u(w0) < p`, `w0` word 0
 * of block `i`. Every draw is a pure function of `(seed, offset, i)`: the
 * result does not depend on the thread count, and CUDA draws the same.
 * @module
 */
import { ValueError } from '../errors';
import { native } from '../native';
import type { Tensor } from '../tensor';
import type { RandomStream } from './random';
import { checkNumber, h, streamArgs } from './util';

/** Options of {@link colorJitter}: the stream, the four strengths (default 0: off) and `p`. */
export interface ColorJitterOptions extends RandomStream {
  /** Brightness factor drawn from `[max(0, 1 − brightness), 1 + brightness]`; ≥ 0, default 0. */
  brightness?: number;
  /** Contrast factor drawn from `[max(0, 1 − contrast), 1 + contrast]`; ≥ 0, default 0. */
  contrast?: number;
  /** Saturation factor drawn from `[max(0, 1 − saturation), 1 + saturation]`; ≥ 0, default 0. */
  saturation?: number;
  /** Hue shift drawn from `[−hue, hue]`; in [0, 0.5], default 0. */
  hue?: number;
  /** Probability that an image is jittered at all (RandomApply); in [0, 1], default 1. */
  p?: number;
}

/** Options of {@link randomGrayscale}: the stream and `p`. */
export interface GrayscaleOptions extends RandomStream {
  /** Probability that an image turns gray; in [0, 1], default 0.1 (torchvision's). */
  p?: number;
}

/** A jitter strength: a finite number ≥ 0 (the binding also bounds it to float32). */
function checkStrength(v: unknown, arg: string): number {
  const k = checkNumber(v, arg);
  if (k < 0) throw new ValueError(`${arg}: expected a non-negative strength, got ${k}`);
  return k;
}

/**
 * Colour jitter: each image, with probability `p`, undergoes brightness,
 * contrast, saturation and hue adjustments (those with a non-zero strength)
 * with factors and order drawn per image as the module documentation says.
 * `out` has `x`'s shape and may be `x` itself.
 *
 * @param x    images, float32 `[N, C, H, W]`, `C` = 1 or 3
 * @param out  output, same shape
 * @param opts `{ brightness, contrast, saturation, hue, p, seed, offset }`
 */
export function colorJitter(x: Tensor<'float32'>, out: Tensor<'float32'>, opts: ColorJitterOptions): void {
  const [seed, offset] = streamArgs(opts, 'opts');
  // Checked here for the message (`hue: 0.7 is outside [0, 0.5]`); the binding checks again.
  const brightness = checkStrength(opts.brightness ?? 0, 'brightness');
  const contrast = checkStrength(opts.contrast ?? 0, 'contrast');
  const saturation = checkStrength(opts.saturation ?? 0, 'saturation');
  const hue = checkNumber(opts.hue ?? 0, 'hue', 0, 0.5);
  const p = checkNumber(opts.p ?? 1, 'p', 0, 1);
  native.colorJitter(h(x, 'x'), h(out, 'out'), brightness, contrast, saturation, hue, p, seed, offset);
}

/**
 * The adjustments of {@link colorJitter} with given per-image parameters
 * (deterministic; what the random kernel applies after its draw).
 * `params` is float32 `[N, 8]`, row `i` =
 * `(f_brightness, f_contrast, f_saturation, f_hue, step0, step1, step2, step3)`:
 * factors as torchvision's `adjust_*` take them (the first three ≥ 0, the hue
 * shift in [−0.5, 0.5]); `step k` is the adjustment applied k-th — 0
 * brightness, 1 contrast, 2 saturation, 3 hue — or −1 for none, each id at
 * most once. A row of −1 steps leaves its image unchanged.
 *
 * @param x      images, float32 `[N, C, H, W]`, `C` = 1 or 3
 * @param out    output, same shape (may be `x`)
 * @param params float32 `[N, 8]`, on `x`'s device, not overlapping `out`
 */
export function colorAdjust(x: Tensor<'float32'>, out: Tensor<'float32'>, params: Tensor<'float32'>): void {
  native.colorAdjust(h(x, 'x'), h(out, 'out'), h(params, 'params'));
}

/**
 * Random grayscale: each image, with probability `p`, becomes
 * `gray(x)` replicated on its three channels; one-channel images are
 * unchanged. `out` has `x`'s shape and may be `x` itself.
 *
 * @param x    images, float32 `[N, C, H, W]`, `C` = 1 or 3
 * @param out  output, same shape
 * @param opts `{ p, seed, offset }`
 */
export function randomGrayscale(x: Tensor<'float32'>, out: Tensor<'float32'>, opts: GrayscaleOptions): void {
  const [seed, offset] = streamArgs(opts, 'opts');
  const p = checkNumber(opts.p ?? 0.1, 'p', 0, 1);
  native.randomGrayscale(h(x, 'x'), h(out, 'out'), p, seed, offset);
}
