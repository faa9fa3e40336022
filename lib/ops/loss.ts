/**
 * Loss kernels: row-wise L2 normalization (forward and backward), the fused
 * mixed-target cross-entropy of N-pair/SimCLR and MoCo (with or without
 * i-Mix), and BYOL's mixed cosine loss.
 *
 * Mixing follows i-Mix: row `i` of the batch is mixed with row `π(i)` with
 * weight `λ_i`, and its virtual label is `λ_i·e_i + (1−λ_i)·e_π(i)`.
 * @module
 */
import { native } from '../native';
import type { Tensor } from '../tensor';
import { checkOptions, h, hOpt } from './util';

/** Options of {@link l2Normalize}. */
export interface L2NormalizeOptions {
  /** Lower bound on the norm (as PyTorch's `F.normalize`). Must be > 0. Default `1e-12`. */
  eps?: number;
}

/**
 * Row-wise L2 normalization of `x` [N, D]:
 *
 *     norms[i] = max(‖x_i‖, eps),   y_i = x_i / norms[i]
 *
 * `norms` [N] receives the (clamped) norms that {@link l2NormalizeBackward} needs.
 * `y` may be `x` itself (in place) but must not partly overlap it; `norms` must
 * not overlap either.
 */
export function l2Normalize(
  x: Tensor<'float32'>,
  y: Tensor<'float32'>,
  norms: Tensor<'float32'>,
  options: L2NormalizeOptions = {},
): void {
  checkOptions(options, 'options');
  native.l2normalizeForward(h(x, 'x'), h(y, 'y'), h(norms, 'norms'), options.eps ?? 1e-12);
}

/**
 * Backward of {@link l2Normalize}, given the forward's output `y` and `norms`:
 *
 *     dx_i = (dy_i − y_i·(y_i·dy_i)) / norms[i]
 *
 * `dx` may be `dy` itself (in place); it must not overlap `y` or `norms`.
 *
 * For rows whose norm was clamped (‖x_i‖ < eps) this is still the formula
 * above; PyTorch's autograd through `F.normalize` gives `dy_i / eps` there
 * instead (its `max` is constant in x). Such rows do not occur in practice.
 */
export function l2NormalizeBackward(
  dy: Tensor<'float32'>,
  y: Tensor<'float32'>,
  norms: Tensor<'float32'>,
  dx: Tensor<'float32'>,
): void {
  native.l2normalizeBackward(h(dy, 'dy'), h(y, 'y'), h(norms, 'norms'), h(dx, 'dx'));
}

/** Options of {@link mixedCrossEntropy}. */
export interface MixedCrossEntropyOptions {
  /**
   * Class index per row, int32 [N]. Absent: row `i`'s class is `i` (the
   * N-pair/SimCLR and MoCo-i-Mix layouts, where the positive of query `i` is
   * key `i`). For MoCo's baseline layout `[q·k₊, q·queue]` pass all zeros.
   * Every `colOffset + targets[i]` must be a column of `logits`.
   */
  targets?: Tensor<'int32'>;
  /** i-Mix permutation π, int32 [N], a permutation of 0..N−1. Absent: identity. */
  perm?: Tensor<'int32'>;
  /** Mixing weights λ, float32 [N], each in [0, 1]. Absent: λ = 1 (hard labels). */
  lam?: Tensor<'float32'>;
  /** Column of class 0 (non-negative integer). Default 0. */
  colOffset?: number;
  /** Factor applied to the gradient written into `logits` (e.g. `1/N` for a mean loss). Default 1. */
  scale?: number;
  /** Receives each row's loss, float32 [N]. */
  losses?: Tensor<'float32'>;
}

/**
 * Fused mixed-target softmax cross-entropy over `logits` [N, M], one pass per row.
 *
 * `logits` is a 2-D float32 tensor: contiguous, or a row-strided view with
 * unit stride along a row and a row stride of at least M (e.g. rows padded to
 * a multiple of 4 floats, made with `t.view(0, [N, M], [rowStride, 1])`); only
 * the M columns of each row are read and written, never the floats between rows.
 *
 * **In place: on return, `logits` holds the gradient, not the logits.**
 * Copy them first if you still need them.
 *
 * With `c(i) = targets ? targets[i] : i`, `a_i = colOffset + c(i)`,
 * `b_i = colOffset + c(π(i))` and `s = logits`:
 *
 *     loss_i    = logsumexp(s_i) − λ_i·s[i, a_i] − (1 − λ_i)·s[i, b_i]
 *     logits_i ← scale · (softmax(s_i) − λ_i·e_{a_i} − (1 − λ_i)·e_{b_i})
 *
 * i.e. the cross-entropy against the soft label `λ_i·e_{a_i} + (1−λ_i)·e_{b_i}`
 * and its gradient with respect to the logits, times `scale`.
 *
 * @returns `Σ_i loss_i` (divide by N for the mean).
 *
 * A NaN anywhere in a row makes that row's loss and gradient NaN.
 */
export function mixedCrossEntropy(logits: Tensor<'float32'>, options: MixedCrossEntropyOptions = {}): number {
  checkOptions(options, 'options');
  return native.mixedCrossEntropy(
    h(logits, 'logits'),
    hOpt(options.targets, 'targets'),
    hOpt(options.perm, 'perm'),
    hOpt(options.lam, 'lam'),
    options.colOffset ?? 0,
    options.scale ?? 1,
    hOpt(options.losses, 'losses'),
  );
}

/** Options of {@link mixedCosine}. */
export interface MixedCosineOptions {
  /** i-Mix permutation π, int32 [N]. Absent: identity. */
  perm?: Tensor<'int32'>;
  /** Mixing weights λ, float32 [N], each in [0, 1]. Absent: λ = 1. */
  lam?: Tensor<'float32'>;
  /** Factor on the gradient `dp` (e.g. `1/N` for the mean loss). Default 1. */
  scale?: number;
  /** Receives the gradient with respect to `p`, float32 [N, D]; must not overlap the inputs. */
  dp?: Tensor<'float32'>;
  /** Receives each row's loss, float32 [N]. */
  losses?: Tensor<'float32'>;
}

/**
 * BYOL's mixed cosine loss on L2-normalized rows `p` [N, D] (online
 * prediction) and `k` [N, D] (target projection, treated as constant):
 *
 *     loss_i = 2 − 2·(λ_i·p_i·k_i + (1 − λ_i)·p_i·k_π(i))
 *     dp_i   = −2·scale·(λ_i·k_i + (1 − λ_i)·k_π(i))
 *
 * `dp` is the gradient with respect to the normalized `p`; chain it through
 * {@link l2NormalizeBackward} to reach the prediction head.
 *
 * @returns `Σ_i loss_i` (divide by N for the mean).
 */
export function mixedCosine(p: Tensor<'float32'>, k: Tensor<'float32'>, options: MixedCosineOptions = {}): number {
  checkOptions(options, 'options');
  return native.mixedCosine(
    h(p, 'p'),
    h(k, 'k'),
    hOpt(options.perm, 'perm'),
    hOpt(options.lam, 'lam'),
    options.scale ?? 1,
    hOpt(options.dp, 'dp'),
    hOpt(options.losses, 'losses'),
  );
}
