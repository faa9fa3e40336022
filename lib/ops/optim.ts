/**
 * Optimizer steps, each one fused kernel over a model's flat parameter buffer.
 *
 * The buffer is cut into {@link Segments} (one per parameter tensor) whose
 * flags say what applies where, e.g. no weight decay and no LARS adaptation
 * for biases and BatchNorm parameters (SimCLR/BYOL's `exclude_bias_and_bn`).
 * Without segments every flag is on for the whole buffer.
 *
 * `param`, `grad` and the state buffers are float32 tensors with the same
 * element count (any shape), updated in place; they must not overlap.
 * @module
 */
import { ArgumentError, ValueError } from '../errors';
import { native } from '../native';
import type { Tensor } from '../tensor';
import { checkBool, checkInt, checkNumber, h, hOpt } from './util';

/** Segment flag: weight decay applies (`g' = g + wd·p`; AdamW: `p ← p·(1 − lr·wd)`). */
export const WEIGHT_DECAY = 1;
/** Segment flag: LARS layer-wise trust ratio applies (LARS only). */
export const LARS_ADAPT = 2;

/**
 * How a flat buffer of `numel` elements is cut into segments.
 *
 * - `offsets`: `nseg + 1` element offsets, `offsets[0] = 0`, non-decreasing,
 *   `offsets[nseg] = numel` (empty segments are allowed). An `Int32Array`
 *   suffices for buffers under 2³¹ elements; a `Float64Array` holds any
 *   integer offset up to 2⁵³.
 * - `flags`: `nseg` bytes, each a combination of {@link WEIGHT_DECAY} and
 *   {@link LARS_ADAPT}.
 */
export interface Segments {
  offsets: Int32Array | Float64Array;
  flags: Uint8Array;
}

/**
 * Builds {@link Segments} from consecutive parameter sizes and their flags:
 * `makeSegments([4096, 64], [WEIGHT_DECAY | LARS_ADAPT, 0])`.
 */
export function makeSegments(sizes: readonly number[], flags: readonly number[]): Segments {
  if (!Array.isArray(sizes)) throw new ArgumentError('sizes: expected an array of segment sizes');
  if (!Array.isArray(flags)) throw new ArgumentError('flags: expected an array of segment flags');
  if (flags.length !== sizes.length)
    throw new ValueError(`flags: expected ${sizes.length} flags (one per size), got ${flags.length}`);
  const offsets = new Float64Array(sizes.length + 1);
  const f = new Uint8Array(sizes.length);
  for (let s = 0; s < sizes.length; s++) {
    offsets[s + 1] = offsets[s]! + checkInt(sizes[s], `sizes[${s}]`, 0);
    f[s] = checkInt(flags[s], `flags[${s}]`, 0, WEIGHT_DECAY | LARS_ADAPT);
  }
  return { offsets, flags: f };
}

type Offsets = Int32Array | Float64Array | null;
type Flags = Uint8Array | null;

function segArgs(seg: Segments | null | undefined): [Offsets, Flags] {
  if (seg == null) return [null, null];
  if (typeof seg !== 'object') throw new ArgumentError('segments: expected { offsets, flags }');
  const { offsets, flags } = seg;
  if (!(offsets instanceof Int32Array || offsets instanceof Float64Array))
    throw new ArgumentError('segOffsets: expected an Int32Array or Float64Array');
  if (!(flags instanceof Uint8Array)) throw new ArgumentError('segFlags: expected a Uint8Array');
  return [offsets, flags];
}

function checkNonNegative(v: unknown, arg: string): number {
  return checkNumber(v, arg, 0);
}

/** A number in [0, 1). */
function checkUnitOpen(v: unknown, arg: string): number {
  const x = checkNumber(v, arg);
  if (!(x >= 0 && x < 1)) throw new ValueError(`${arg}: ${x} is outside [0, 1)`);
  return x;
}

function checkNesterov(nesterov: boolean, momentum: number): void {
  if (nesterov && !(momentum > 0)) throw new ValueError('nesterov: requires momentum > 0');
}

/** Options of {@link sgdStep}. */
export interface SgdOptions {
  /** Learning rate, ≥ 0. */
  lr: number;
  /** Momentum μ in [0, 1). Default 0. */
  momentum?: number;
  /** Weight decay (L2, added to the gradient), ≥ 0. Default 0. */
  weightDecay?: number;
  /** Nesterov momentum (needs momentum > 0). Default false. */
  nesterov?: boolean;
  /** Where weight decay applies; default: everywhere. */
  segments?: Segments | null;
}

/**
 * One SGD step, PyTorch semantics (`torch.optim.SGD`, dampening 0), per
 * element with `wd` the weight decay where the segment has {@link WEIGHT_DECAY}:
 *
 * - `g' = g + wd·p`
 * - `buf = μ·buf + g'`
 * - `p −= lr·(nesterov ? g' + μ·buf : buf)`
 *
 * `buf` (zero-initialized by the caller) is required when momentum > 0 and
 * ignored (may be null) when it is 0, where the step is `p −= lr·g'`.
 */
export function sgdStep(
  param: Tensor<'float32'>,
  grad: Tensor<'float32'>,
  buf: Tensor<'float32'> | null,
  options: SgdOptions,
): void {
  const o = options ?? ({} as SgdOptions);
  const lr = checkNonNegative(o.lr, 'lr');
  const momentum = checkUnitOpen(o.momentum ?? 0, 'momentum');
  const wd = checkNonNegative(o.weightDecay ?? 0, 'weightDecay');
  const nesterov = checkBool(o.nesterov ?? false, 'nesterov');
  checkNesterov(nesterov, momentum);
  const [off, flags] = segArgs(o.segments);
  native.sgdStep(h(param, 'param'), h(grad, 'grad'), hOpt(buf, 'buf'), lr, momentum, wd, nesterov, off, flags);
}

/** Options of {@link larsStep}. */
export interface LarsOptions {
  /** Learning rate, ≥ 0. */
  lr: number;
  /** Momentum μ in [0, 1). Default 0.9. */
  momentum?: number;
  /** Weight decay (added to the gradient before the norms), ≥ 0. Default 0. */
  weightDecay?: number;
  /** Trust coefficient η > 0. Default 0.001. */
  eta?: number;
  /** Nesterov momentum (needs momentum > 0). Default false. */
  nesterov?: boolean;
  /** Where weight decay and the trust ratio apply; default: everywhere. */
  segments?: Segments | null;
}

/**
 * One LARS step (You et al. 2017, as in SimCLR/BYOL), per segment s:
 *
 * - `g' = g + wd_s·p` (`wd_s` = weightDecay where s has {@link WEIGHT_DECAY}, else 0)
 * - `t_s = η·‖p_s‖/‖g'_s‖` where s has {@link LARS_ADAPT} and both norms are
 *   > 0, else 1 (norms over the segment, accumulated in double)
 * - `buf = μ·buf + t_s·g'`
 * - `p −= lr·(nesterov ? t_s·g' + μ·buf : buf)`
 *
 * The reference code's `exclude_bias_and_bn` is segments with flags 0 on the
 * biases and BatchNorm parameters.
 */
export function larsStep(
  param: Tensor<'float32'>,
  grad: Tensor<'float32'>,
  buf: Tensor<'float32'>,
  options: LarsOptions,
): void {
  const o = options ?? ({} as LarsOptions);
  const lr = checkNonNegative(o.lr, 'lr');
  const momentum = checkUnitOpen(o.momentum ?? 0.9, 'momentum');
  const wd = checkNonNegative(o.weightDecay ?? 0, 'weightDecay');
  const eta = checkNumber(o.eta ?? 0.001, 'eta');
  if (!(eta > 0)) throw new ValueError(`eta: expected a positive number, got ${eta}`);
  const nesterov = checkBool(o.nesterov ?? false, 'nesterov');
  checkNesterov(nesterov, momentum);
  const [off, flags] = segArgs(o.segments);
  native.larsStep(h(param, 'param'), h(grad, 'grad'), h(buf, 'buf'), lr, momentum, wd, eta, nesterov, off, flags);
}

/** Options of {@link adamwStep}. */
export interface AdamWOptions {
  /** Learning rate, ≥ 0. Default 1e-3. */
  lr?: number;
  /** First-moment decay β1 in [0, 1). Default 0.9. */
  beta1?: number;
  /** Second-moment decay β2 in [0, 1). Default 0.999. */
  beta2?: number;
  /** Added to the denominator, > 0. Default 1e-8. */
  eps?: number;
  /** Decoupled weight decay, ≥ 0. Default 0.01 (PyTorch's). */
  weightDecay?: number;
  /** The 1-based step count t (for the bias corrections); an integer ≥ 1. */
  step: number;
  /** Where weight decay applies; default: everywhere. */
  segments?: Segments | null;
}

/**
 * One AdamW step (Loshchilov & Hutter; `torch.optim.AdamW` semantics), per
 * element with `wd` the weight decay where the segment has {@link WEIGHT_DECAY}:
 *
 * - `p ← p·(1 − lr·wd)`
 * - `m = β1·m + (1−β1)·g`, `v = β2·v + (1−β2)·g²`
 * - `p −= (lr/(1−β1^t)) · m / (sqrt(v)/sqrt(1−β2^t) + eps)`
 *
 * `m` and `v` start at zero (the caller's buffers).
 */
export function adamwStep(
  param: Tensor<'float32'>,
  grad: Tensor<'float32'>,
  m: Tensor<'float32'>,
  v: Tensor<'float32'>,
  options: AdamWOptions,
): void {
  const o = options ?? ({} as AdamWOptions);
  const lr = checkNonNegative(o.lr ?? 1e-3, 'lr');
  const beta1 = checkUnitOpen(o.beta1 ?? 0.9, 'beta1');
  const beta2 = checkUnitOpen(o.beta2 ?? 0.999, 'beta2');
  const eps = checkNumber(o.eps ?? 1e-8, 'eps');
  if (!(eps > 0)) throw new ValueError(`eps: expected a positive number, got ${eps}`);
  const wd = checkNonNegative(o.weightDecay ?? 0.01, 'weightDecay');
  const step = checkInt(o.step, 'step', 1);
  const [off, flags] = segArgs(o.segments);
  native.adamwStep(h(param, 'param'), h(grad, 'grad'), h(m, 'm'), h(v, 'v'), lr, beta1, beta2, eps, wd, step, off, flags);
}
