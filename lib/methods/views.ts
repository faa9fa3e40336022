/**
 * Views: the random transformations t, t′ that make the two views of a row.
 * i-Mix's point is that they need no domain knowledge: input drop and
 * Gaussian noise work on any feature vector.
 * @module
 */
import { ValueError } from '../errors';
import * as ops from '../ops/index';
import type { Tensor } from '../tensor';

/** Where a view reads the Philox stream. */
export interface ViewStream {
  seed: number;
  offset: number;
}

/**
 * A view writes a transformed copy of the batch `x` into `out` (same
 * shape; `out` may be `x` for in-place application). It must draw its
 * randomness only from `stream` so runs are reproducible and resumable.
 */
export type View = ((x: Tensor<'float32'>, out: Tensor<'float32'>, stream: ViewStream) => void) & { describe?: string };

function named<T extends View>(v: T, d: string): T {
  v.describe = d;
  return v;
}

/** Zero each element independently with probability `p` (no rescaling). */
export function inputDrop(p: number): View {
  if (!(p >= 0 && p <= 1)) throw new ValueError(`p: expected a probability in [0, 1], got ${p}`);
  return named((x, out, s) => ops.inputDrop(x, out, p, s), `inputDrop(${p})`);
}

/** Add N(0, std²) noise to every element. */
export function gaussianNoise(std: number): View {
  if (!(std >= 0) || !Number.isFinite(std)) throw new ValueError(`std: expected a non-negative number, got ${std}`);
  return named((x, out, s) => ops.gaussianNoise(x, out, std, s), `gaussianNoise(${std})`);
}

/** The identity view (copies). */
export function identity(): View {
  return named((x, out) => {
    if (x !== out) out.copyFrom(x);
  }, 'identity');
}

/** Applies views in order; the k-th reads stream offset `offset·16 + k`. */
export function compose(...views: View[]): View {
  if (views.length === 0) return identity();
  if (views.length > 16) throw new ValueError('views: at most 16 views can be composed');
  return named(
    (x, out, s) => {
      views.forEach((v, k) => v(k === 0 ? x : out, out, { seed: s.seed, offset: s.offset * 16 + k }));
    },
    views.map((v) => v.describe ?? 'custom').join(' ∘ '),
  );
}
