/**
 * Matrix multiply and the linear-layer building blocks: `gemm`, linear
 * forward/backward, bias add/grad, ReLU forward/backward. All operate on
 * float32 tensors, row-major, in place into caller-provided outputs (no
 * allocation per call).
 * @module
 */
import { native } from '../native';
import type { Device, Tensor } from '../tensor';
import type { Precision } from '../util/options';
import { checkBool, checkOptions, h, hOpt } from './util';

export { PRECISIONS, type Precision } from '../util/options';

/**
 * Throws the error a gemm at `precision` on `device` (default `'cpu'`) would:
 * a ValueError for an unknown precision, a DeviceError naming `precision`
 * and why when the device cannot run it (`'bf16'` on a CUDA device, on a
 * CPU without AVX512_BF16, or with a kernel set that has no bf16 gemm).
 */
export function checkPrecision(precision: Precision, device: Device = 'cpu'): void {
  native.checkPrecision(precision, device);
}

/** Options of {@link gemm}. */
export interface GemmOptions {
  /** Use Aᵀ instead of A (default false). */
  transA?: boolean;
  /** Use Bᵀ instead of B (default false). */
  transB?: boolean;
  /** Scale of the product (default 1). */
  alpha?: number;
  /** Scale of the old C (default 0: C is overwritten and never read, so NaNs in it do not propagate). */
  beta?: number;
  /** The products' arithmetic (default `'fp32'`); see {@link Precision}. */
  precision?: Precision;
}

/**
 * General matrix multiply, in place into `C`:
 * `C = alpha·op(A)·op(B) + beta·C` with `op(X) = X` or `Xᵀ`.
 *
 * `A`, `B`, `C` are 2-D float32 tensors: contiguous, or row-strided views
 * with unit stride along a row (e.g. a column block of a bigger matrix, made
 * with `t.view(offset, [rows, cols], [rowStride, 1])`). With `op(A)` of shape
 * `[M, K]` and `op(B)` of shape `[K, N]`, `C` must be `[M, N]` and must not
 * overlap `A` or `B`.
 *
 * Runs on the system BLAS when the addon was built with one
 * (`info().blas`), otherwise on imix's own cache-blocked kernel; with
 * `precision: 'bf16'` on imix's bf16 kernel.
 */
export function gemm(A: Tensor<'float32'>, B: Tensor<'float32'>, C: Tensor<'float32'>, options: GemmOptions = {}): void {
  checkOptions(options, 'options');
  const transA = options.transA ?? false, transB = options.transB ?? false;
  native.gemm(h(A, 'A'), h(B, 'B'), h(C, 'C'), transA, transB, options.alpha ?? 1, options.beta ?? 0, options.precision);
}

/**
 * Linear layer forward, `y = x·Wᵀ + b`, with `x` `[N, in]`, `W` `[out, in]`
 * (PyTorch's `nn.Linear` layout), `b` `[out]` or null, `y` `[N, out]`.
 * `y` must not overlap the inputs. `precision` is the gemm's
 * ({@link Precision}); the bias is added in float32.
 */
export function linearForward(
  x: Tensor<'float32'>,
  W: Tensor<'float32'>,
  b: Tensor<'float32'> | null,
  y: Tensor<'float32'>,
  precision: Precision = 'fp32',
): void {
  native.linearForward(h(x, 'x'), h(W, 'W'), hOpt(b, 'b'), h(y, 'y'), precision);
}

/**
 * Linear layer backward for `y = x·Wᵀ + b`, with `x` `[N, in]`, `W`
 * `[out, in]`, `dy` `[N, out]`:
 * - `dx = dy·W` into `dx` `[N, in]` (always overwritten; null to skip, e.g. for the first layer);
 * - `dW (+)= dyᵀ·x` into `dW` `[out, in]`;
 * - `db (+)= Σ_rows dy` into `db` `[out]` (null when the layer has no bias).
 *
 * With `accumulate` (default false) `dW` and `db` are added to, otherwise
 * overwritten. Outputs must not overlap the inputs or each other.
 * `precision` is that of the two gemms ({@link Precision}): with `'bf16'`,
 * `dy`, `W` and `x` are rounded to bfloat16 as they enter them; `dx`, `dW`
 * and `db` are float32 sums.
 */
export function linearBackward(
  x: Tensor<'float32'>,
  W: Tensor<'float32'>,
  dy: Tensor<'float32'>,
  dx: Tensor<'float32'> | null,
  dW: Tensor<'float32'>,
  db: Tensor<'float32'> | null,
  accumulate = false,
  precision: Precision = 'fp32',
): void {
  native.linearBackward(
    h(x, 'x'),
    h(W, 'W'),
    h(dy, 'dy'),
    hOpt(dx, 'dx'),
    h(dW, 'dW'),
    hOpt(db, 'db'),
    // Checked here: the binding reads null as "not given" (false), the wrapper rejects it.
    checkBool(accumulate, 'accumulate'),
    precision,
  );
}

/** Adds the bias row `b` `[C]` to every row of `y` `[N, C]`, in place. */
export function biasAdd(y: Tensor<'float32'>, b: Tensor<'float32'>): void {
  native.biasAdd(h(y, 'y'), h(b, 'b'));
}

/**
 * Bias gradient: `db[c] = Σ_i dy[i, c]` (summed in double), added to `db`
 * when `accumulate` (default false).
 */
export function biasGrad(dy: Tensor<'float32'>, db: Tensor<'float32'>, accumulate = false): void {
  native.biasGrad(h(dy, 'dy'), h(db, 'db'), checkBool(accumulate, 'accumulate'));
}

/**
 * ReLU, `y = max(x, 0)` (NaN stays NaN). `y` has `x`'s shape; pass
 * `y = x` for in place.
 */
export function reluForward(x: Tensor<'float32'>, y: Tensor<'float32'>): void {
  native.reluForward(h(x, 'x'), h(y, 'y'));
}

/**
 * ReLU backward from the forward output: `dx = dy·[y > 0]`. `dx` may be
 * `dy` itself (in place) but must not overlap `y`.
 */
export function reluBackward(dy: Tensor<'float32'>, y: Tensor<'float32'>, dx: Tensor<'float32'>): void {
  native.reluBackward(h(dy, 'dy'), h(y, 'y'), h(dx, 'dx'));
}
