/**
 * Pooling over NCHW float32 batches, as PyTorch's `F.max_pool2d` (floor mode,
 * padding of −∞) and `F.adaptive_avg_pool2d(x, 1)`:
 *
 * - max-pool `y[n,c,i,j] = max_{u,v} x[n,c, i·sh−ph+u, j·sw−pw+v]` over the
 *   window's positions inside the image, `Ho = ⌊(H + 2·ph − kh)/sh⌋ + 1`
 *   (Wo likewise; {@link convOutSize} with dilation 1); `argmax` (int32, same
 *   shape as y) holds the flat in-plane index `y·W + x` of each maximum — the
 *   first one in row-major window order on ties, and a NaN counts as a maximum
 *   (PyTorch's rule); padding may be at most half the window
 * - max-pool backward `dx = 0`, then `dx[n,c,argmax[n,c,i,j]] += dy[n,c,i,j]`
 *   (overlapping windows add)
 * - global average pool `y[n,c] = mean over the spatial axes of x[n,c,...]`,
 *   backward `dx[n,c,...] = dy[n,c] / S` (S the number of spatial positions)
 * @module
 */
import { ArgumentError } from '../errors';
import { native } from '../native';
import type { Tensor } from '../tensor';
import type { Size2d } from './conv';
import { h, pair } from './util';

/** The window of a max-pool; each size a number or an `[h, w]` pair. */
export interface MaxPool2dOptions {
  /** Window size. */
  kernelSize: Size2d;
  /** Step between windows. Default `kernelSize` (non-overlapping windows, as PyTorch). */
  stride?: Size2d;
  /** −∞ padding on each side, at most half the window. Default 0. */
  padding?: Size2d;
}

/** The binding's kh, kw, sh, sw, ph, pw. */
function window(opts: MaxPool2dOptions): [number, number, number, number, number, number] {
  if (opts === null || typeof opts !== 'object')
    throw new ArgumentError('opts: expected an options object { kernelSize, stride?, padding? }');
  if (opts.kernelSize === undefined) throw new ArgumentError('kernelSize: expected a number or an [h, w] pair, got nothing');
  const [kh, kw] = pair(opts.kernelSize, 1, 'kernelSize');
  const [sh, sw] = opts.stride === undefined ? [kh, kw] : pair(opts.stride, 1, 'stride');
  const [ph, pw] = pair(opts.padding, 0, 'padding');
  return [kh, kw, sh, sw, ph, pw];
}

/**
 * Max-pool forward: `x` [N, C, H, W] → `y` [N, C, Ho, Wo] (float32) and
 * `argmax` [N, C, Ho, Wo] (int32, what {@link maxpool2dBackward} reads).
 */
export function maxpool2dForward(
  x: Tensor<'float32'>,
  y: Tensor<'float32'>,
  argmax: Tensor<'int32'>,
  opts: MaxPool2dOptions,
): void {
  native.maxpool2dForward(h(x, 'x'), h(y, 'y'), h(argmax, 'argmax'), ...window(opts));
}

/**
 * Max-pool backward: `dx` [N, C, H, W] (overwritten; its shape gives the
 * geometry) from `dy` and the forward's `argmax` [N, C, Ho, Wo], with the
 * forward's options.
 */
export function maxpool2dBackward(
  dy: Tensor<'float32'>,
  argmax: Tensor<'int32'>,
  dx: Tensor<'float32'>,
  opts: MaxPool2dOptions,
): void {
  native.maxpool2dBackward(h(dy, 'dy'), h(argmax, 'argmax'), h(dx, 'dx'), ...window(opts));
}

/** Global average pool: `x` [N, C, ...spatial] → `y` [N, C], the mean of each plane (summed in double). */
export function avgpoolGlobalForward(x: Tensor<'float32'>, y: Tensor<'float32'>): void {
  native.avgpoolGlobalForward(h(x, 'x'), h(y, 'y'));
}

/** Global average pool backward: `dx[n,c,...] = dy[n,c] / S` for `dy` [N, C] and `dx` [N, C, ...spatial]. */
export function avgpoolGlobalBackward(dy: Tensor<'float32'>, dx: Tensor<'float32'>): void {
  native.avgpoolGlobalBackward(h(dy, 'dy'), h(dx, 'dx'));
}
