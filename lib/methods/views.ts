/**
 * Views: the random transformations t, t′ that make the two views of a row.
 * i-Mix's point is that they need no domain knowledge: input drop and
 * Gaussian noise work on any feature vector. For image data there are also
 * the usual image views, random crop with padding and horizontal flip.
 * @module
 */
import { ArgumentError, ShapeError, ValueError } from '../errors';
import * as ops from '../ops/index';
import { Tensor } from '../tensor';
import { FLOAT32_MAX } from '../util/options';

/** Where a view reads the Philox stream. */
export interface ViewStream {
  seed: number;
  offset: number;
}

/**
 * A view writes a transformed copy of the batch `x` into `out` (same
 * shape; `out` may be `x` for in-place application). It must draw its
 * randomness only from `stream` so runs are reproducible and resumable.
 * `sampleShape` is the shape of one row (`[C, H, W]` for images; the
 * training loop passes the dataset's), for views that need the layout of
 * a row; `x` itself is `[N, F]`.
 */
export type View = ((x: Tensor<'float32'>, out: Tensor<'float32'>, stream: ViewStream, sampleShape?: number[]) => void) & {
  describe?: string;
  /** Needs image samples [C, H, W] (checked when a method is built for the data). */
  spatial?: boolean;
};

function named<T extends View>(v: T, d: string, spatial = false): T {
  v.describe = d;
  if (spatial) v.spatial = true;
  return v;
}

/** Zero each element independently with probability `p` (no rescaling). */
export function inputDrop(p: number): View {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new ValueError(`p: expected a probability in [0, 1], got ${p}`);
  return named((x, out, s) => ops.inputDrop(x, out, p, s), `inputDrop(${p})`);
}

/** Add N(0, std²) noise to every element. */
export function gaussianNoise(std: number): View {
  if (!(std >= 0) || !Number.isFinite(std)) throw new ValueError(`std: expected a non-negative number, got ${std}`);
  // The kernel takes std as a float32: a larger one would be Infinity and every feature NaN.
  if (std > FLOAT32_MAX) throw new ValueError(`std: expected at most ${FLOAT32_MAX} (the largest float32), got ${std}`);
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
  // Checked here: a non-function would otherwise fail only at the first training step.
  views.forEach((v, k) => {
    if (typeof v !== 'function') throw new ArgumentError(`views[${k}]: expected a view function (see views.*), got ${v === null ? 'null' : typeof v}`);
  });
  if (views.length === 0) return identity();
  if (views.length > 16) throw new ValueError('views: at most 16 views can be composed');
  return named(
    (x, out, s, sampleShape) => {
      views.forEach((v, k) => v(k === 0 ? x : out, out, { seed: s.seed, offset: s.offset * 16 + k }, sampleShape));
    },
    views.map((v) => v.describe ?? 'custom').join(' ∘ '),
    views.some((v) => v.spatial),
  );
}

/** `[N, C, H, W]` of a batch of images: `x` itself if 4-D, else its rows reshaped to `sampleShape`. */
function imageShape(x: Tensor<'float32'>, sampleShape: number[] | undefined, what: string): [number, number, number, number] {
  if (x.ndim === 4) return x.shape as [number, number, number, number];
  const N = x.shape[0] ?? 0;
  const F = N > 0 ? x.numel / N : 0;
  if (!sampleShape || sampleShape.length !== 3) {
    const got = sampleShape ? `samples of shape [${sampleShape.join(', ')}]` : `rows of ${F} features with no sample shape`;
    throw new ShapeError(`x: ${what} needs image samples [C, H, W], got ${got}; use inputDrop or gaussianNoise for non-image data`);
  }
  const [C, H, W] = sampleShape as [number, number, number];
  if (C * H * W !== F) throw new ShapeError(`x: sample shape [${sampleShape.join(', ')}] does not match rows of ${F} features`);
  return [N, C, H, W];
}

/**
 * An image view over the out-of-place crop/flip kernel. Applied in place
 * (`out` shares memory with `x`, as the training loop does for the query
 * view), it writes into a scratch batch kept for the next call, then copies.
 */
function imageView(what: string, pad: number, flipP: number, describe: string): View {
  let scratch: Tensor<'float32'> | null = null;
  return named((x, out, s, sampleShape) => {
    const shape = imageShape(x, sampleShape, what);
    const x4 = x.ndim === 4 ? x : x.reshape(shape);
    if (out.numel !== x.numel) throw new ShapeError(`out: shape [${out.shape.join(', ')}] does not match x [${x.shape.join(', ')}]`);
    if (!x.sharesStorage(out)) {
      ops.randomCropFlip(x4, out.ndim === 4 ? out : out.reshape(shape), { pad, flipP, seed: s.seed, offset: s.offset });
      return;
    }
    if (!scratch || scratch.disposed || scratch.device !== x.device || scratch.shape.some((d, i) => d !== shape[i])) {
      scratch?.dispose();
      scratch = Tensor.zeros(shape, { device: x.device });
    }
    ops.randomCropFlip(x4, scratch, { pad, flipP, seed: s.seed, offset: s.offset });
    out.copyFrom(scratch);
  }, describe, true);
}

/**
 * Random crop with zero padding: pads each image by `pad` pixels of zeros on
 * every side and crops an `H × W` window at a uniformly random offset
 * (torchvision's `RandomCrop(size, padding=pad)`). Needs image samples
 * `[C, H, W]`; a ShapeError on other data.
 */
export function randomCrop(pad: number): View {
  if (!Number.isInteger(pad) || pad < 0 || pad > 2 ** 31 - 1) throw new ValueError(`pad: expected a non-negative integer, got ${pad}`);
  return imageView('randomCrop', pad, 0, `randomCrop(${pad})`);
}

/**
 * Flips each image left–right with probability `p` (default 0.5). Needs
 * image samples `[C, H, W]`; a ShapeError on other data.
 */
export function horizontalFlip(p = 0.5): View {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new ValueError(`p: expected a probability in [0, 1], got ${p}`);
  return imageView('horizontalFlip', 0, p, `horizontalFlip(${p})`);
}

/**
 * Random crop with padding and horizontal flip fused into one pass (the
 * same result as `compose(randomCrop(pad), horizontalFlip(p))` in
 * distribution, with one kernel and one stream).
 */
export function randomCropFlip(pad: number, p = 0.5): View {
  if (!Number.isInteger(pad) || pad < 0 || pad > 2 ** 31 - 1) throw new ValueError(`pad: expected a non-negative integer, got ${pad}`);
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new ValueError(`p: expected a probability in [0, 1], got ${p}`);
  return imageView('randomCropFlip', pad, p, `randomCropFlip(${pad}, ${p})`);
}
