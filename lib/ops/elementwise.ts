/**
 * Glue kernels: axpby, row-wise dot products and their backward, maxout,
 * row gathers, sums, and the residual join of a ResNet block.
 * @module
 */
import { native } from '../native';
import type { Tensor } from '../tensor';
import { checkInt, h } from './util';

// Scalars (a, b, alpha) are checked by the bindings; maxout's k is checked
// here too, for its message (`k: 0 is outside [1, Infinity]`).

/** `y ← a·x + b·y` elementwise (b = 0 overwrites y without reading it). */
export function axpby(a: number, x: Tensor<'float32'>, b: number, y: Tensor<'float32'>): void {
  native.axpby(a, h(x, 'x'), b, h(y, 'y'));
}

/**
 * Row-wise dot products: `out[i] = alpha · a[i]·b[i]` for a, b of shape [N, D].
 * `out` is [N] or an [N, 1] column view (e.g. column 0 of MoCo's logits).
 */
export function rowdot(a: Tensor<'float32'>, b: Tensor<'float32'>, out: Tensor<'float32'>, alpha = 1): void {
  native.rowdot(h(a, 'a'), h(b, 'b'), h(out, 'out'), alpha);
}

/** `y[i] += alpha · s[i] · x[i]` for rows of y, x [N, D]; s is [N] or an [N, 1] column view, not in y's memory. */
export function rowScaleAdd(y: Tensor<'float32'>, s: Tensor<'float32'>, x: Tensor<'float32'>, alpha = 1): void {
  native.rowScaleAdd(h(y, 'y'), h(s, 's'), h(x, 'x'), alpha);
}

/** Maxout over groups of `k` adjacent features: x [N, F·k] → y [N, F]; argmax (int32 [N, F]) is saved for backward. */
export function maxoutForward(x: Tensor<'float32'>, y: Tensor<'float32'>, argmax: Tensor<'int32'>, k: number): void {
  native.maxoutForward(h(x, 'x'), h(y, 'y'), h(argmax, 'argmax'), checkInt(k, 'k', 1));
}

/** Routes dy [N, F] to the winning input of each group: dx [N, F·k]. */
export function maxoutBackward(dy: Tensor<'float32'>, argmax: Tensor<'int32'>, dx: Tensor<'float32'>, k: number): void {
  native.maxoutBackward(h(dy, 'dy'), h(argmax, 'argmax'), h(dx, 'dx'), checkInt(k, 'k', 1));
}

/** `out[i] = src[idx[i]]` along the first dimension (batch assembly). */
export function gatherRows(src: Tensor<'float32'>, idx: Tensor<'int32'>, out: Tensor<'float32'>): void {
  native.gatherRows(h(src, 'src'), h(idx, 'idx'), h(out, 'out'));
}

/** Sum of all elements, accumulated in double. */
export function sum(x: Tensor<'float32'>): number {
  return native.sum(h(x, 'x'));
}

/**
 * The residual join of a ResNet BasicBlock: `y = max(a + b, 0)` elementwise
 * (a NaN stays NaN). a, b and y have one element count; y may be `a` or `b`
 * itself (in place). Its backward is `reluBackward` on y.
 */
export function addReluForward(a: Tensor<'float32'>, b: Tensor<'float32'>, y: Tensor<'float32'>): void {
  native.addReluForward(h(a, 'a'), h(b, 'b'), h(y, 'y'));
}
