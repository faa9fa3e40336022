/**
 * Convolutions: 2-d over NCHW images and 1-d over NCL signals, float32,
 * contiguous, with PyTorch's weight layouts (`Conv2d.weight` [K, C, kh, kw],
 * `Conv1d.weight` [K, C, k]) and zero padding. With `x̃` the zero-padded input,
 * stride s, padding p and dilation d along each axis:
 *
 * - forward `y[n,k,i,j] = b[k] + Σ_{c,u,v} w[k,c,u,v] · x̃[n, c, i·sh−ph+u·dh, j·sw−pw+v·dw]`
 * - output size `Ho = ⌊(H + 2·ph − dh·(kh−1) − 1)/sh⌋ + 1` ({@link convOutSize}), Wo likewise
 * - backward data `dx[n,c,y,x] = Σ w[k,c,u,v] · dy[n,k,i,j]` over the (k, u, v, i, j) with
 *   `y = i·sh−ph+u·dh`, `x = j·sw−pw+v·dw` (the transposed convolution)
 * - backward weight `dw[k,c,u,v] (+)= Σ_{n,i,j} dy[n,k,i,j] · x̃[n, c, i·sh−ph+u·dh, j·sw−pw+v·dw]`,
 *   `db[k] (+)= Σ_{n,i,j} dy[n,k,i,j]`
 *
 * The 1-d forms are the same with one spatial axis (H = 1). Every kernel takes
 * a workspace `ws`: scratch memory owned by the caller, float32 on x's device,
 * of at least {@link conv2dWorkspaceFloats} (or {@link conv1dWorkspaceFloats})
 * elements — one size for the forward and both backward kernels of a
 * geometry, so a layer allocates it once and reuses it. It may be null when
 * that size is 0. (On the CPU it depends on the machine's thread count; ask
 * rather than compute it.)
 * @module
 */
import { ShapeError } from '../errors';
import { native } from '../native';
import type { Tensor } from '../tensor';
import { checkBool, checkInt, checkOptions, h, hOpt, pair } from './util';

/** A size along both spatial axes: one number for both, or an `[h, w]` pair. */
export type Size2d = number | readonly [number, number];

/** Stride, padding and dilation of a 2-d convolution; each a number or an `[h, w]` pair. */
export interface Conv2dOptions {
  /** Step between output positions. Default 1. */
  stride?: Size2d;
  /** Zeros added on each side of the input. Default 0. */
  padding?: Size2d;
  /** Spacing between kernel taps. Default 1. */
  dilation?: Size2d;
}

/** Stride, padding and dilation of a 1-d convolution along L. */
export interface Conv1dOptions {
  /** Step between output positions. Default 1. */
  stride?: number;
  /** Zeros added on each side of the signal. Default 0. */
  padding?: number;
  /** Spacing between kernel taps. Default 1. */
  dilation?: number;
}

/** Options of the weight-gradient kernels. */
export interface ConvAccumulateOptions {
  /** Add into `dw`/`db` instead of overwriting them. Default false. */
  accumulate?: boolean;
}

/**
 * The output length of a convolution (or pooling, with dilation 1) along one
 * axis: `⌊(inSize + 2·padding − dilation·(kernel−1) − 1)/stride⌋ + 1`, as
 * PyTorch's `Conv2d`/`MaxPool2d` (floor mode). Throws a ShapeError when the
 * dilated kernel is larger than the padded input (the result would be < 1).
 */
export function convOutSize(inSize: number, kernel: number, stride = 1, padding = 0, dilation = 1): number {
  checkInt(inSize, 'inSize', 0);
  checkInt(kernel, 'kernel', 1);
  checkInt(stride, 'stride', 1);
  checkInt(padding, 'padding', 0);
  checkInt(dilation, 'dilation', 1);
  const span = dilation * (kernel - 1) + 1;
  if (span > inSize + 2 * padding)
    throw new ShapeError(`kernel: ${kernel} (dilated ${span}) is larger than the padded input ${inSize + 2 * padding}`);
  return Math.floor((inSize + 2 * padding - span) / stride) + 1;
}

/** The binding's six hyper-parameter arguments sh, sw, ph, pw, dh, dw. */
function hyper2d(opts: Conv2dOptions): [number, number, number, number, number, number] {
  checkOptions(opts, 'opts');
  const [sh, sw] = pair(opts.stride, 1, 'stride');
  const [ph, pw] = pair(opts.padding, 0, 'padding');
  const [dh, dw] = pair(opts.dilation, 1, 'dilation');
  return [sh, sw, ph, pw, dh, dw];
}

/** The binding's s, p, d. */
function hyper1d(opts: Conv1dOptions): [number, number, number] {
  checkOptions(opts, 'opts');
  return [opts.stride ?? 1, opts.padding ?? 0, opts.dilation ?? 1];
}

function accumulateOf(opts: ConvAccumulateOptions): boolean {
  return opts.accumulate === undefined ? false : checkBool(opts.accumulate, 'accumulate');
}

/**
 * Floats of scratch memory the 2-d kernels need for input `x` [N, C, H, W] and
 * weight `w` [K, C, kh, kw] with these options (0: `ws` may be null).
 */
export function conv2dWorkspaceFloats(x: Tensor<'float32'>, w: Tensor<'float32'>, opts: Conv2dOptions = {}): number {
  return native.conv2dWorkspaceFloats(h(x, 'x'), h(w, 'w'), ...hyper2d(opts));
}

/**
 * `y = conv2d(x, w) + b`: x [N, C, H, W], w [K, C, kh, kw], b [K] or null,
 * y [N, K, Ho, Wo] (overwritten), ws the workspace ({@link conv2dWorkspaceFloats}).
 */
export function conv2dForward(
  x: Tensor<'float32'>,
  w: Tensor<'float32'>,
  b: Tensor<'float32'> | null,
  y: Tensor<'float32'>,
  ws: Tensor<'float32'> | null,
  opts: Conv2dOptions = {},
): void {
  native.conv2dForward(h(x, 'x'), h(w, 'w'), hOpt(b, 'b'), h(y, 'y'), hOpt(ws, 'ws'), ...hyper2d(opts));
}

/**
 * The input gradient: `dx` [N, C, H, W] (overwritten) = the transposed
 * convolution of `dy` [N, K, Ho, Wo] with `w` [K, C, kh, kw]. dx's shape gives
 * the geometry (several input sizes share one output size when the stride is > 1).
 */
export function conv2dBackwardData(
  dy: Tensor<'float32'>,
  w: Tensor<'float32'>,
  dx: Tensor<'float32'>,
  ws: Tensor<'float32'> | null,
  opts: Conv2dOptions = {},
): void {
  native.conv2dBackwardData(h(dy, 'dy'), h(w, 'w'), h(dx, 'dx'), hOpt(ws, 'ws'), ...hyper2d(opts));
}

/**
 * The parameter gradients: `dw` [K, C, kh, kw] (+)= Σ_{n,i,j} dy·x̃ and, when
 * `db` [K] is given, `db` (+)= Σ_{n,i,j} dy, from `dy` [N, K, Ho, Wo] and the
 * forward input `x` [N, C, H, W]; `accumulate` adds instead of overwriting.
 */
export function conv2dBackwardWeight(
  dy: Tensor<'float32'>,
  x: Tensor<'float32'>,
  dw: Tensor<'float32'>,
  db: Tensor<'float32'> | null,
  ws: Tensor<'float32'> | null,
  opts: Conv2dOptions & ConvAccumulateOptions = {},
): void {
  const hp = hyper2d(opts);
  native.conv2dBackwardWeight(
    h(dy, 'dy'), h(x, 'x'), h(dw, 'dw'), hOpt(db, 'db'), hOpt(ws, 'ws'), ...hp, accumulateOf(opts),
  );
}

/** Floats of scratch memory the 1-d kernels need for `x` [N, C, L] and `w` [K, C, k] (0: `ws` may be null). */
export function conv1dWorkspaceFloats(x: Tensor<'float32'>, w: Tensor<'float32'>, opts: Conv1dOptions = {}): number {
  return native.conv1dWorkspaceFloats(h(x, 'x'), h(w, 'w'), ...hyper1d(opts));
}

/**
 * `y = conv1d(x, w) + b`: x [N, C, L], w [K, C, k], b [K] or null, y [N, K, Lo]
 * with `Lo = ⌊(L + 2·p − d·(k−1) − 1)/s⌋ + 1`; ws from {@link conv1dWorkspaceFloats}.
 */
export function conv1dForward(
  x: Tensor<'float32'>,
  w: Tensor<'float32'>,
  b: Tensor<'float32'> | null,
  y: Tensor<'float32'>,
  ws: Tensor<'float32'> | null,
  opts: Conv1dOptions = {},
): void {
  native.conv1dForward(h(x, 'x'), h(w, 'w'), hOpt(b, 'b'), h(y, 'y'), hOpt(ws, 'ws'), ...hyper1d(opts));
}

/** `dx` [N, C, L] (overwritten) = the transposed 1-d convolution of `dy` [N, K, Lo] with `w` [K, C, k]. */
export function conv1dBackwardData(
  dy: Tensor<'float32'>,
  w: Tensor<'float32'>,
  dx: Tensor<'float32'>,
  ws: Tensor<'float32'> | null,
  opts: Conv1dOptions = {},
): void {
  native.conv1dBackwardData(h(dy, 'dy'), h(w, 'w'), h(dx, 'dx'), hOpt(ws, 'ws'), ...hyper1d(opts));
}

/** `dw` [K, C, k] (+)= Σ_{n,i} dy·x̃ and `db` [K] (+)= Σ_{n,i} dy (db nullable), from dy [N, K, Lo] and x [N, C, L]. */
export function conv1dBackwardWeight(
  dy: Tensor<'float32'>,
  x: Tensor<'float32'>,
  dw: Tensor<'float32'>,
  db: Tensor<'float32'> | null,
  ws: Tensor<'float32'> | null,
  opts: Conv1dOptions & ConvAccumulateOptions = {},
): void {
  const hp = hyper1d(opts);
  native.conv1dBackwardWeight(
    h(dy, 'dy'), h(x, 'x'), h(dw, 'dw'), hOpt(db, 'db'), hOpt(ws, 'ws'), ...hp, accumulateOf(opts),
  );
}
