/**
 * BatchNorm1d on `x` [N, C]: statistics per feature (column) over the N rows,
 * as `torch.nn.BatchNorm1d` computes them; and BatchNorm2d on `x` [N, C, H, W]
 * (or BatchNorm1d on signals `x` [N, C, L]): statistics per channel over the
 * N·H·W (N·L) values of that channel, as `torch.nn.BatchNorm2d`, with the ReLU
 * that usually follows fused in on request. All per-feature tensors are
 * float32 [C]; outputs never overlap inputs.
 * @module
 */
import { native } from '../native';
import type { Tensor } from '../tensor';
import { checkNumber, checkOptions, h, hOpt } from './util';

/** Options of {@link batchnorm1dForwardTrain}. */
export interface BatchNormTrainOptions {
  /** Scale γ [C]; omitted or null means γ = 1 (`affine=false`). */
  gamma?: Tensor<'float32'> | null;
  /** Shift β [C]; omitted or null means β = 0 (`affine=false`). */
  beta?: Tensor<'float32'> | null;
  /** Added to the variance; > 0. Default 1e-5 (PyTorch's). */
  eps?: number;
  /** Running-statistics momentum in [0, 1]. Default 0.1 (PyTorch's). */
  momentum?: number;
  /** Running mean [C], updated in place when given. */
  runningMean?: Tensor<'float32'> | null;
  /** Running (unbiased) variance [C], updated in place when given. */
  runningVar?: Tensor<'float32'> | null;
}

/**
 * Training-mode forward pass. Per feature c, over the N rows:
 *
 * - `μ_c = Σ_i x_ic / N`, `σ²_c = Σ_i (x_ic − μ_c)² / N` (biased; accumulated in double, two-pass)
 * - `y = γ·(x − μ)·invstd + β`, `invstd = 1/sqrt(σ² + eps)`
 * - `saveMean ← μ`, `saveInvstd ← invstd` (what {@link batchnorm1dBackward} needs)
 * - `runningMean ← (1−momentum)·runningMean + momentum·μ`,
 *   `runningVar ← (1−momentum)·runningVar + momentum·σ²·N/(N−1)` (unbiased, as PyTorch)
 *
 * Needs N ≥ 2 (PyTorch: "Expected more than 1 value per channel when
 * training"); N < 2 throws a ValueError naming `x`.
 */
export function batchnorm1dForwardTrain(
  x: Tensor<'float32'>,
  y: Tensor<'float32'>,
  saveMean: Tensor<'float32'>,
  saveInvstd: Tensor<'float32'>,
  options: BatchNormTrainOptions = {},
): void {
  checkOptions(options, 'options');
  // momentum is checked here for its message (`1.5 is outside [0, 1]`); eps > 0 by the binding.
  const momentum = checkNumber(options.momentum ?? 0.1, 'momentum', 0, 1);
  native.batchnorm1dForwardTrain(
    h(x, 'x'), h(y, 'y'), hOpt(options.gamma, 'gamma'), hOpt(options.beta, 'beta'), options.eps ?? 1e-5, momentum,
    hOpt(options.runningMean, 'runningMean'), hOpt(options.runningVar, 'runningVar'),
    h(saveMean, 'saveMean'), h(saveInvstd, 'saveInvstd'),
  );
}

/** Options of {@link batchnorm1dForwardEval}. */
export interface BatchNormEvalOptions {
  /** Scale γ [C]; omitted or null means γ = 1. */
  gamma?: Tensor<'float32'> | null;
  /** Shift β [C]; omitted or null means β = 0. */
  beta?: Tensor<'float32'> | null;
  /** Added to the variance; > 0. Default 1e-5. */
  eps?: number;
}

/**
 * Evaluation-mode forward pass with the running statistics:
 * `y = γ·(x − runningMean)/sqrt(runningVar + eps) + β`. Any N (including 0 and 1).
 */
export function batchnorm1dForwardEval(
  x: Tensor<'float32'>,
  y: Tensor<'float32'>,
  runningMean: Tensor<'float32'>,
  runningVar: Tensor<'float32'>,
  options: BatchNormEvalOptions = {},
): void {
  checkOptions(options, 'options');
  native.batchnorm1dForwardEval(
    h(x, 'x'), h(y, 'y'), hOpt(options.gamma, 'gamma'), hOpt(options.beta, 'beta'),
    h(runningMean, 'runningMean'), h(runningVar, 'runningVar'), options.eps ?? 1e-5,
  );
}

/** Options of {@link batchnorm1dBackward}. */
export interface BatchNormBackwardOptions {
  /** The forward pass's γ [C]; omitted or null means γ = 1. */
  gamma?: Tensor<'float32'> | null;
  /** Receives dL/dγ [C] when given. */
  dgamma?: Tensor<'float32'> | null;
  /** Receives dL/dβ [C] when given. */
  dbeta?: Tensor<'float32'> | null;
  /** Add into `dgamma`/`dbeta` instead of overwriting them. Default false. */
  accumulate?: boolean;
}

/**
 * Training-mode backward pass, from the forward pass's `saveMean`/`saveInvstd`.
 * With `x̂ = (x − μ)·invstd`:
 *
 * - `dβ = Σ_i dy_i`, `dγ = Σ_i dy_i·x̂_i` (per feature, accumulated in double)
 * - `dx = γ·invstd/N · (N·dy − dβ − x̂·dγ)`
 */
export function batchnorm1dBackward(
  dy: Tensor<'float32'>,
  x: Tensor<'float32'>,
  saveMean: Tensor<'float32'>,
  saveInvstd: Tensor<'float32'>,
  dx: Tensor<'float32'>,
  options: BatchNormBackwardOptions = {},
): void {
  checkOptions(options, 'options');
  native.batchnorm1dBackward(
    h(dy, 'dy'), h(x, 'x'), hOpt(options.gamma, 'gamma'), h(saveMean, 'saveMean'), h(saveInvstd, 'saveInvstd'),
    h(dx, 'dx'), hOpt(options.dgamma, 'dgamma'), hOpt(options.dbeta, 'dbeta'), options.accumulate ?? false,
  );
}

/** Options of {@link batchnorm2dForwardTrain}: those of {@link batchnorm1dForwardTrain} plus the fused ReLU. */
export interface BatchNorm2dTrainOptions extends BatchNormTrainOptions {
  /** Apply ReLU to the output: `y = max(bn(x), 0)`. Default false. */
  relu?: boolean;
}

/** Options of {@link batchnorm2dForwardEval}. */
export interface BatchNorm2dEvalOptions extends BatchNormEvalOptions {
  /** Apply ReLU to the output: `y = max(bn(x), 0)`. Default false. */
  relu?: boolean;
}

/** Options of {@link batchnorm2dBackward}. */
export interface BatchNorm2dBackwardOptions extends BatchNormBackwardOptions {
  /**
   * The output of a forward pass run with `relu: true`: `dy` (the gradient of
   * the ReLU's output) is first masked to `dy·[y > 0]`. Omit for a plain BN.
   */
  y?: Tensor<'float32'> | null;
}

/**
 * Training-mode forward pass of BatchNorm2d on `x` [N, C, H, W] or [N, C, L]
 * (`y` the same shape). Per channel c, over its M = N·S values (S = H·W or L):
 *
 * - `μ_c = Σ x[n,c,s] / M`, `σ²_c = Σ (x[n,c,s] − μ_c)² / M` (biased; double, two-pass)
 * - `y = γ·(x − μ)·invstd + β`, `invstd = 1/sqrt(σ² + eps)`; then `y = max(y, 0)` with `relu`
 * - `saveMean ← μ`, `saveInvstd ← invstd` (what {@link batchnorm2dBackward} needs)
 * - `runningMean ← (1−momentum)·runningMean + momentum·μ`,
 *   `runningVar ← (1−momentum)·runningVar + momentum·σ²·M/(M−1)` (unbiased, as PyTorch)
 *
 * Needs M ≥ 2; fewer throws a ValueError naming `x`.
 */
export function batchnorm2dForwardTrain(
  x: Tensor<'float32'>,
  y: Tensor<'float32'>,
  saveMean: Tensor<'float32'>,
  saveInvstd: Tensor<'float32'>,
  options: BatchNorm2dTrainOptions = {},
): void {
  checkOptions(options, 'options');
  const momentum = checkNumber(options.momentum ?? 0.1, 'momentum', 0, 1);
  native.batchnorm2dForwardTrain(
    h(x, 'x'), h(y, 'y'), hOpt(options.gamma, 'gamma'), hOpt(options.beta, 'beta'), options.eps ?? 1e-5, momentum,
    hOpt(options.runningMean, 'runningMean'), hOpt(options.runningVar, 'runningVar'),
    h(saveMean, 'saveMean'), h(saveInvstd, 'saveInvstd'), options.relu ?? false,
  );
}

/**
 * Evaluation-mode forward pass of BatchNorm2d with the running statistics:
 * `y = γ·(x − runningMean)/sqrt(runningVar + eps) + β` per channel, then
 * `max(y, 0)` with `relu`. Any batch size.
 */
export function batchnorm2dForwardEval(
  x: Tensor<'float32'>,
  y: Tensor<'float32'>,
  runningMean: Tensor<'float32'>,
  runningVar: Tensor<'float32'>,
  options: BatchNorm2dEvalOptions = {},
): void {
  checkOptions(options, 'options');
  native.batchnorm2dForwardEval(
    h(x, 'x'), h(y, 'y'), hOpt(options.gamma, 'gamma'), hOpt(options.beta, 'beta'),
    h(runningMean, 'runningMean'), h(runningVar, 'runningVar'), options.eps ?? 1e-5, options.relu ?? false,
  );
}

/**
 * Training-mode backward pass of BatchNorm2d, from the forward pass's
 * `saveMean`/`saveInvstd`. With `g = dy·[y > 0]` when `options.y` is given
 * (the fused ReLU), `g = dy` otherwise, and `x̂ = (x − μ)·invstd`, per channel
 * over its M = N·S values:
 *
 * - `dβ = Σ g`, `dγ = Σ g·x̂` (accumulated in double)
 * - `dx = γ·invstd/M · (M·g − dβ − x̂·dγ)`
 */
export function batchnorm2dBackward(
  dy: Tensor<'float32'>,
  x: Tensor<'float32'>,
  saveMean: Tensor<'float32'>,
  saveInvstd: Tensor<'float32'>,
  dx: Tensor<'float32'>,
  options: BatchNorm2dBackwardOptions = {},
): void {
  checkOptions(options, 'options');
  native.batchnorm2dBackward(
    h(dy, 'dy'), h(x, 'x'), hOpt(options.y, 'y'), hOpt(options.gamma, 'gamma'), h(saveMean, 'saveMean'),
    h(saveInvstd, 'saveInvstd'), h(dx, 'dx'), hOpt(options.dgamma, 'dgamma'), hOpt(options.dbeta, 'dbeta'),
    options.accumulate ?? false,
  );
}
