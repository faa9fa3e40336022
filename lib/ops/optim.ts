/**
 * The optimizer kernels: one SGD, LARS or AdamW step, each one fused kernel
 * over flat buffers, stateless (the caller owns the buffers and the step
 * count). The optimizer classes that own that state, with their defaults
 * and hyperparameter checks, and the schedules are in lib/optim.
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
import { checkInt, checkNumber, h, hOpt } from './util';

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

/** The segments option as the binding takes it: two typed arrays, or neither (no segments). */
function segArgs(seg: Segments | null | undefined): [Offsets, Flags] {
  if (seg == null) return [null, null];
  if (typeof seg !== 'object') throw new ArgumentError('segments: expected { offsets, flags }');
  const { offsets, flags } = seg;
  // Checked here too: the binding reads a missing array as "no segments".
  if (!(offsets instanceof Int32Array || offsets instanceof Float64Array))
    throw new ArgumentError('segOffsets: expected an Int32Array or Float64Array');
  if (!(flags instanceof Uint8Array)) throw new ArgumentError('segFlags: expected a Uint8Array');
  return [offsets, flags];
}

/**
 * A number in [0, 1) (momentum, β1, β2). The binding checks the same range;
 * this message prints the value as given (`1 is outside [0, 1)`, where the
 * binding prints `1.000000`).
 */
function checkUnitOpen(v: unknown, arg: string): number {
  const x = checkNumber(v, arg);
  if (!(x >= 0 && x < 1)) throw new ValueError(`${arg}: ${x} is outside [0, 1)`);
  return x;
}

/**
 * The scalar arguments sgdStep and larsStep share, with their defaults, in
 * the binding's order after the tensors; eta (LARS only) goes between
 * weightDecay and nesterov. Only momentum is checked here (see
 * {@link checkUnitOpen}); lr ≥ 0, weightDecay ≥ 0, nesterov a boolean that
 * needs momentum > 0, and the segments' contents are checked by the binding.
 */
function momentumArgs(options: SgdOptions | LarsOptions, defaultMomentum: number) {
  const o = options ?? ({} as SgdOptions);
  const momentum = checkUnitOpen(o.momentum ?? defaultMomentum, 'momentum');
  const [offsets, flags] = segArgs(o.segments);
  return { lr: o.lr, momentum, weightDecay: o.weightDecay ?? 0, nesterov: o.nesterov ?? false, offsets, flags };
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
  const a = momentumArgs(options, 0);
  native.sgdStep(
    h(param, 'param'), h(grad, 'grad'), hOpt(buf, 'buf'),
    a.lr, a.momentum, a.weightDecay, a.nesterov, a.offsets, a.flags,
  );
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
  const a = momentumArgs(options, 0.9);
  native.larsStep(
    h(param, 'param'), h(grad, 'grad'), h(buf, 'buf'),
    a.lr, a.momentum, a.weightDecay, options?.eta ?? 0.001, a.nesterov, a.offsets, a.flags,
  );
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
  const beta1 = checkUnitOpen(o.beta1 ?? 0.9, 'beta1');
  const beta2 = checkUnitOpen(o.beta2 ?? 0.999, 'beta2');
  const [off, flags] = segArgs(o.segments);
  // lr ≥ 0, eps > 0, weightDecay ≥ 0 and step an integer ≥ 1: checked by the binding.
  native.adamwStep(
    h(param, 'param'), h(grad, 'grad'), h(m, 'm'), h(v, 'v'),
    o.lr ?? 1e-3, beta1, beta2, o.eps ?? 1e-8, o.weightDecay ?? 0.01, o.step, off, flags,
  );
}
