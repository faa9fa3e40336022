/**
 * Views: the random transformations t, t′ that make the two views of a row.
 * i-Mix's point is that they need no domain knowledge: input drop and
 * Gaussian noise work on any feature vector. For image data there are also
 * the usual image views, random crop with padding, random resized crop and
 * horizontal flip.
 * For signals `[C, L]` there are time shift, random time crop and amplitude
 * scaling. For tables, SCARF's {@link resample} replaces features by values
 * drawn from the training set.
 * @module
 */
import { ArgumentError, DisposedError, ShapeError, ValueError } from '../errors';
import * as ops from '../ops/index';
import { Tensor } from '../tensor';
import { FLOAT32_MAX, checkOptions } from '../util/options';

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
  /** Needs signal samples [C, L] (checked when a method is built for the data). */
  signal?: boolean;
  /**
   * Hands the view the training rows `train` (`[M, F]` float32, on the
   * method's device) once per fit, before its first step; the training loop
   * calls it (and {@link compose} passes it on to the views it composes).
   * Views that draw from the training set ({@link resample}) keep the
   * tensor by reference, without copying it; they throw until prepared.
   */
  prepare?: (train: Tensor<'float32'>) => void;
};

function named<T extends View>(v: T, d: string, spatial = false): T {
  v.describe = d;
  if (spatial) v.spatial = true;
  return v;
}

/** Zero each element independently with probability `p` (no rescaling). */
export function inputDrop(p: number): View {
  checkProbability(p);
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
  const composed: View = named(
    (x, out, s, sampleShape) => {
      views.forEach((v, k) => v(k === 0 ? x : out, out, { seed: s.seed, offset: s.offset * 16 + k }, sampleShape));
    },
    views.map((v) => v.describe ?? 'custom').join(' ∘ '),
    views.some((v) => v.spatial),
  );
  if (views.some((v) => v.signal)) composed.signal = true;
  if (views.some((v) => v.prepare)) composed.prepare = (train) => views.forEach((v) => v.prepare?.(train));
  return composed;
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

/** The batch layout a kernel view reshapes `[N, F]` rows to. */
type Layout = 'image' | 'signal';

/**
 * A view over one batched kernel of lib/ops: reshapes `[N, F]` rows to
 * `[N, C, H, W]` (images) or `[N, C, L]` (signals) by the sample shape and
 * runs `kernel(x, out, stream)`. A kernel that may not write over its input
 * (`inPlace` false: crops, shifts, resampling), applied in place (`out`
 * shares memory with `x`, as the training loop does for the query view),
 * writes into a scratch batch kept for the next call, then copies.
 */
function kernelView(
  layout: Layout,
  what: string,
  kernel: (x: Tensor<'float32'>, out: Tensor<'float32'>, s: ViewStream) => void,
  describe: string,
  inPlace: boolean,
): View {
  let scratch: Tensor<'float32'> | null = null;
  const v: View = named((x, out, s, sampleShape) => {
    const shape = layout === 'image' ? imageShape(x, sampleShape, what) : signalShape(x, sampleShape, what);
    if (out.numel !== x.numel) throw new ShapeError(`out: shape [${out.shape.join(', ')}] does not match x [${x.shape.join(', ')}]`);
    const asBatch = (t: Tensor<'float32'>) => (t.ndim === shape.length ? t : t.reshape(shape));
    if (inPlace || !x.sharesStorage(out)) {
      kernel(asBatch(x), asBatch(out), s);
      return;
    }
    if (!scratch || scratch.disposed || scratch.device !== x.device || scratch.shape.some((d, i) => d !== shape[i])) {
      scratch?.dispose();
      scratch = Tensor.zeros(shape, { device: x.device });
    }
    kernel(asBatch(x), scratch, s);
    out.copyFrom(scratch);
  }, describe, layout === 'image');
  if (layout === 'signal') v.signal = true;
  return v;
}

/** The crop/flip views: one kernel, `ops.randomCropFlip`, with a padding and a flip probability. */
function cropFlipView(what: string, pad: number, flipP: number, describe: string): View {
  return kernelView('image', what, (x, out, s) => ops.randomCropFlip(x, out, { pad, flipP, seed: s.seed, offset: s.offset }), describe, false);
}

/** A probability in [0, 1], named `name` in the error. */
function checkProbability(p: unknown, name = 'p'): number {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new ValueError(`${name}: expected a probability in [0, 1], got ${String(p)}`);
  return p;
}

/** A crop padding or time shift: a non-negative integer below 2^31. */
function checkCount(v: unknown, name: string): number {
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 2 ** 31 - 1) throw new ValueError(`${name}: expected a non-negative integer below 2^31, got ${String(v)}`);
  return v as number;
}

/** A range `[lo, hi]` of finite numbers with `0 < lo ≤ hi ≤ hiMax`. */
function checkRange(v: unknown, name: string, what: string, hiMax: number): [number, number] {
  const ok = Array.isArray(v) && v.length === 2 && v.every((e) => typeof e === 'number' && Number.isFinite(e));
  const [lo, hi] = ok ? [(v as number[])[0]!, (v as number[])[1]!] : [NaN, NaN];
  if (!(lo > 0 && lo <= hi && hi <= hiMax)) {
    const bound = hiMax === Infinity ? '' : ` ≤ ${hiMax}`;
    throw new ValueError(`${name}: expected ${what} [lo, hi] with 0 < lo ≤ hi${bound}, got ${Array.isArray(v) ? `[${v.join(', ')}]` : String(v)}`);
  }
  return [lo, hi];
}

/**
 * Random crop with zero padding: pads each image by `pad` pixels of zeros on
 * every side and crops an `H × W` window at a uniformly random offset
 * (torchvision's `RandomCrop(size, padding=pad)`). Needs image samples
 * `[C, H, W]`; a ShapeError on other data.
 */
export function randomCrop(pad: number): View {
  checkCount(pad, 'pad');
  return cropFlipView('randomCrop', pad, 0, `randomCrop(${pad})`);
}

/**
 * Flips each image left–right with probability `p` (default 0.5). Needs
 * image samples `[C, H, W]`; a ShapeError on other data.
 */
export function horizontalFlip(p = 0.5): View {
  checkProbability(p);
  return cropFlipView('horizontalFlip', 0, p, `horizontalFlip(${p})`);
}

/**
 * Random crop with padding and horizontal flip fused into one pass (the
 * same result as `compose(randomCrop(pad), horizontalFlip(p))` in
 * distribution, with one kernel and one stream).
 */
export function randomCropFlip(pad: number, p = 0.5): View {
  checkCount(pad, 'pad');
  checkProbability(p);
  return cropFlipView('randomCropFlip', pad, p, `randomCropFlip(${pad}, ${p})`);
}

/**
 * Random resized crop (torchvision's `RandomResizedCrop((H, W), scale,
 * ratio)`, bilinear, on tensors; SimCLR's and BYOL's crop), optionally
 * followed by a horizontal flip with probability `flipP`, fused into one
 * pass: each image keeps a box of `σ·H·W` pixels, `σ` uniform in `scale`
 * (`0 < lo ≤ hi ≤ 1`, default `[0.08, 1]`), aspect ratio w/h log-uniform in
 * `ratio` (`0 < lo ≤ hi`, default `[3/4, 4/3]`), at a uniform position (10
 * tries, then torchvision's centre crop), resized back to `H × W` by bilinear
 * interpolation (`align_corners=False`). Works on any pixel range. Needs image
 * samples `[C, H, W]`; a ShapeError on other data. Kernel:
 * `ops.randomResizedCrop` (its doc gives the formulas and the draw layout).
 */
export function randomResizedCrop(
  scale: readonly [number, number] = [0.08, 1],
  ratio: readonly [number, number] = [3 / 4, 4 / 3],
  flipP = 0,
): View {
  const sc = checkRange(scale, 'scale', 'area fractions', 1);
  const ra = checkRange(ratio, 'ratio', 'aspect ratios', Infinity);
  checkProbability(flipP, 'flipP');
  return kernelView(
    'image',
    'randomResizedCrop',
    (x, out, s) => ops.randomResizedCrop(x, out, { scale: sc, ratio: ra, flipP, seed: s.seed, offset: s.offset }),
    `randomResizedCrop(${sc[0]}, ${sc[1]}, ${ra[0]}, ${ra[1]}, ${flipP})`,
    false,
  );
}

/** A non-negative strength that stays finite as a float32 (the kernels take float32). */
function checkStrength(v: unknown, name: string): number {
  if (typeof v !== 'number' || !(v >= 0) || v > FLOAT32_MAX)
    throw new ValueError(`${name}: expected a non-negative number within the float32 range, got ${String(v)}`);
  return v;
}

/** Options of {@link colorJitter}: torchvision's ColorJitter strengths and RandomApply's `p`. */
export interface ColorJitterViewOptions {
  /** Brightness factor drawn from `[max(0, 1 − brightness), 1 + brightness]`; default 0 (off). */
  brightness?: number;
  /** Contrast factor drawn from `[max(0, 1 − contrast), 1 + contrast]`; default 0 (off). */
  contrast?: number;
  /** Saturation factor drawn from `[max(0, 1 − saturation), 1 + saturation]`; default 0 (off). */
  saturation?: number;
  /** Hue shift drawn from `[−hue, hue]`, hue in [0, 0.5]; default 0 (off). */
  hue?: number;
  /** Probability that an image is jittered at all; default 1. */
  p?: number;
}

/**
 * Colour jitter (torchvision's `RandomApply([ColorJitter(brightness,
 * contrast, saturation, hue)], p)` for float images in [0, 1]): with
 * probability `p`, each image gets its brightness, contrast, saturation and
 * hue adjusted by factors drawn per image, in a random order. Grayscale
 * images (`C = 1`) take brightness and contrast only. Needs image samples
 * `[C, H, W]` with C = 1 or 3; a ShapeError on other data. Kernel:
 * `ops.colorJitter` (formulas and draw layout there).
 */
export function colorJitter(options: ColorJitterViewOptions = {}): View {
  checkOptions(options, ['brightness', 'contrast', 'saturation', 'hue', 'p']);
  const brightness = checkStrength(options.brightness ?? 0, 'brightness');
  const contrast = checkStrength(options.contrast ?? 0, 'contrast');
  const saturation = checkStrength(options.saturation ?? 0, 'saturation');
  const hue = options.hue ?? 0;
  if (typeof hue !== 'number' || !(hue >= 0 && hue <= 0.5)) throw new ValueError(`hue: expected a number in [0, 0.5], got ${String(hue)}`);
  const p = checkProbability(options.p ?? 1);
  return kernelView(
    'image',
    'colorJitter',
    (x, out, s) => ops.colorJitter(x, out, { brightness, contrast, saturation, hue, p, seed: s.seed, offset: s.offset }),
    `colorJitter(${brightness}, ${contrast}, ${saturation}, ${hue}, ${p})`,
    true,
  );
}

/**
 * Random grayscale (torchvision's `RandomGrayscale(p)`): with probability
 * `p` (default 0.1), an RGB image becomes `0.2989·R + 0.587·G + 0.114·B` on
 * all three channels; grayscale images are unchanged. Needs image samples
 * `[C, H, W]` with C = 1 or 3; a ShapeError on other data. Kernel:
 * `ops.randomGrayscale`.
 */
export function randomGrayscale(p = 0.1): View {
  checkProbability(p);
  return kernelView('image', 'randomGrayscale', (x, out, s) => ops.randomGrayscale(x, out, { p, seed: s.seed, offset: s.offset }), `randomGrayscale(${p})`, true);
}

/**
 * `[N, C, L]` of a batch of signals: `x` itself if 3-D, else its rows
 * reshaped to `sampleShape`, which must be `[C, L]` (a ShapeError naming `x`
 * otherwise).
 */
function signalShape(x: Tensor<'float32'>, sampleShape: number[] | undefined, what: string): [number, number, number] {
  if (x.ndim === 3) return x.shape as [number, number, number];
  const N = x.shape[0] ?? 0;
  const F = N > 0 ? x.numel / N : 0;
  if (!sampleShape || sampleShape.length !== 2) {
    const got = sampleShape ? `samples of shape [${sampleShape.join(', ')}]` : `rows of ${F} features with no sample shape`;
    throw new ShapeError(`x: ${what} needs signal samples [C, L], got ${got}; use inputDrop or gaussianNoise for non-signal data`);
  }
  const [C, L] = sampleShape as [number, number];
  if (C * L !== F) throw new ShapeError(`x: sample shape [${sampleShape.join(', ')}] does not match rows of ${F} features`);
  return [N, C, L];
}

/**
 * Random time shift with zero fill (the 1-d analogue of a random crop with
 * padding): each signal moves, all its channels together, by an integer
 * number of samples drawn uniformly in `[−maxShift, maxShift]`; samples
 * shifted in are zeros. Needs signal samples `[C, L]`; a ShapeError on other
 * data. Kernel: `ops.timeShift`.
 */
export function timeShift(maxShift: number): View {
  checkCount(maxShift, 'maxShift');
  return kernelView('signal', 'timeShift', (x, out, s) => ops.timeShift(x, out, { maxShift, seed: s.seed, offset: s.offset }), `timeShift(${maxShift})`, false);
}

/**
 * Random time crop (the 1-d analogue of a random resized crop): each signal
 * keeps a window of about `σ·L` samples, `σ` uniform in `scale = [lo, hi]`
 * (`0 < lo ≤ hi ≤ 1`, default `[0.5, 1]`), at a uniformly random start, and
 * stretches it back to L samples by linear interpolation (PyTorch's
 * `F.interpolate(mode='linear', align_corners=False)`). Needs signal samples
 * `[C, L]`; a ShapeError on other data. Kernel: `ops.randomTimeCrop`.
 */
export function randomTimeCrop(scale: readonly [number, number] = [0.5, 1]): View {
  const range = checkRange(scale, 'scale', 'length fractions', 1);
  return kernelView('signal', 'randomTimeCrop', (x, out, s) => ops.randomTimeCrop(x, out, { scale: range, seed: s.seed, offset: s.offset }), `randomTimeCrop(${range[0]}, ${range[1]})`, false);
}

/**
 * Random amplitude scaling: multiplies each signal (all its channels) by a
 * factor drawn uniformly in `[lo, hi]` (default `[0.8, 1.2]`; finite,
 * `lo ≤ hi`). Runs in place when asked to. Needs signal samples `[C, L]`; a
 * ShapeError on other data. Kernel: `ops.amplitudeScale`.
 */
export function amplitudeScale(lo = 0.8, hi = 1.2): View {
  for (const [v, name] of [[lo, 'lo'], [hi, 'hi']] as const)
    if (typeof v !== 'number' || !Number.isFinite(v) || Math.abs(v) > FLOAT32_MAX)
      throw new ValueError(`${name}: expected a finite number within the float32 range, got ${v}`);
  if (lo > hi) throw new ValueError(`hi: expected at least lo (${lo}), got ${hi}`);
  const range: [number, number] = [lo, hi];
  return kernelView('signal', 'amplitudeScale', (x, out, s) => ops.amplitudeScale(x, out, { range, seed: s.seed, offset: s.offset }), `amplitudeScale(${lo}, ${hi})`, true);
}

/**
 * SCARF's random feature corruption (Bahri et al., ICLR 2022; their recipe
 * is `p = 0.6`): each feature of a row is replaced, independently with
 * probability `p`, by the same feature of a uniformly drawn row of the
 * training set, i.e. by a draw from that feature's empirical marginal. Needs
 * no domain knowledge and keeps every value in its column's range, which
 * suits tables (mixed scales, one-hot columns) better than zeros or noise.
 * Works on any samples (rows of F features).
 *
 * The training loop hands the view its training rows before the first step
 * of each fit (`View.prepare`); the view keeps them by reference, on the
 * method's device, and reads them in place. Called before it was prepared
 * (outside a fit, or by code that does not call `prepare`), it throws an
 * ArgumentError. One view object holds one pool: a view shared by two
 * methods uses the rows of the fit that prepared it last. Kernel:
 * `ops.resampleFeatures` (its doc gives the draw layout).
 */
export function resample(p: number): View {
  checkProbability(p);
  const describe = `resample(${p})`;
  let pool: Tensor<'float32'> | null = null;
  const v: View = named((x, out, s) => {
    if (!pool) throw new ArgumentError(`${describe}: no training rows to draw from; the view gets them from fit() (View.prepare) before the first step`);
    if (pool.disposed) throw new DisposedError(`${describe}: the training rows it was prepared with were disposed (the model that trained with them was disposed); prepare it again`);
    if (x.ndim === 2) {
      ops.resampleFeatures(x, pool, out, { p, seed: s.seed, offset: s.offset });
      return;
    }
    // Rows of any sample shape as [N, F] (views of the same memory).
    const N = x.shape[0] ?? 0;
    const F = N > 0 ? x.numel / N : pool.shape[1]!;
    if (out.numel !== x.numel) throw new ShapeError(`out: shape [${out.shape.join(', ')}] does not match x [${x.shape.join(', ')}]`);
    ops.resampleFeatures(x.reshape([N, F]), pool, out.reshape([N, F]), { p, seed: s.seed, offset: s.offset });
  }, describe);
  v.prepare = (train) => {
    if (!(train instanceof Tensor)) throw new ArgumentError(`train: expected the training rows as a Tensor, got ${train === null ? 'null' : typeof train}`);
    const M = train.shape[0] ?? 0;
    if (M < 1) throw new ShapeError(`train: ${describe} needs at least one training row, got shape [${train.shape.join(', ')}]`);
    pool = train.ndim === 2 ? train : train.reshape([M, train.numel / M]);
  };
  return v;
}
