/**
 * Signal views on `[N, C, L]` batches (signals of C channels and L samples):
 * random time shift with zero fill, random time crop resampled back to L
 * samples (the 1-d random resized crop), and random amplitude scaling. Each
 * runs as one batched native kernel on the CPU or on CUDA, bit-identical on
 * both.
 *
 * Randomness: signal `i` reads Philox block `i` of the stream
 * `(seed, offset)` — words `(w0, w1, w2, w3)` of
 * `philox4x32_10(key = seed, counter = {lo(i), hi(i), lo(offset), hi(offset)})`
 * (native/common/philox.h; `philoxBlock(seed, i, offset)` in lib/random.ts).
 * With `u(w) = (w >>> 8)·2⁻²⁴` (the uniform in [0, 1) of `randUniform`):
 *
 * - time shift: `s_i = ⌊u(w0)·(2·maxShift+1)⌋ − maxShift`, computed exactly
 *   as `((w0 >>> 8)·(2·maxShift+1)) >>> 24`;
 * - random time crop: `σ_i = lo + (hi − lo)·u(w0)` (in double),
 *   `ℓ_i = min(L, max(1, ⌊σ_i·L + ½⌋))`, start `a_i = ⌊u(w1)·(L − ℓ_i + 1)⌋`
 *   (exactly, as above);
 * - amplitude scaling: `g_i = float32(lo + (hi − lo)·u(w0))` (in double, then
 *   rounded to float32).
 *
 * Words not listed are unused. Every channel of a signal shares its draw; the
 * result is a pure function of `(seed, offset, i)` and the data, independent
 * of the thread count and of the device. The double expressions are
 * evaluated one operation at a time (JavaScript's `lo + (hi - lo) * u`), so a
 * test reproduces them exactly.
 * @module
 */
import { ArgumentError, ShapeError, ValueError } from '../errors';
import { native } from '../native';
import type { Tensor } from '../tensor';
import type { RandomStream } from './random';
import { FLOAT32_MAX } from '../util/options';
import { checkInt, checkNumber, h, streamArgs } from './util';

/** Largest `maxShift` the kernel takes (as `randomCropFlip`'s `pad`). */
const MAX_SHIFT = 2 ** 31 - 1;

/** Options of {@link timeShift}. */
export interface TimeShiftOptions extends RandomStream {
  /** Largest shift in samples, a non-negative integer below 2³¹; shifts are drawn in `[−maxShift, maxShift]`. */
  maxShift: number;
}

/** Options of {@link randomTimeCrop}. */
export interface TimeCropOptions extends RandomStream {
  /**
   * `[lo, hi]`, `0 < lo ≤ hi ≤ 1`: the range of the window's length as a
   * fraction of L. Default `[0.5, 1]`.
   */
  scale?: readonly [number, number];
}

/** Options of {@link amplitudeScale}. */
export interface AmplitudeScaleOptions extends RandomStream {
  /** `[lo, hi]`, finite, `lo ≤ hi`, within the float32 range: the range of the factor. Default `[0.8, 1.2]`. */
  range?: readonly [number, number];
}

function checkSignals(x: Tensor<'float32'>, what: string): void {
  h(x, 'x');
  if (x.ndim !== 3) throw new ShapeError(`x: ${what} needs signals [N, C, L], got shape [${x.shape.join(', ')}]`);
}

/** `[lo, hi]` of a range option: two finite numbers with lo ≤ hi (the bounds are checked by the caller). */
function range(v: unknown, dflt: readonly [number, number], arg: string): [number, number] {
  if (v === undefined) return [dflt[0], dflt[1]];
  if (!Array.isArray(v) || v.length !== 2)
    throw new ArgumentError(`${arg}: expected a [lo, hi] pair, got ${Array.isArray(v) ? `${v.length} values` : typeof v}`);
  const lo = checkNumber(v[0], `${arg}[0]`), hi = checkNumber(v[1], `${arg}[1]`);
  if (lo > hi) throw new ValueError(`${arg}: expected lo ≤ hi, got [${lo}, ${hi}]`);
  return [lo, hi];
}

/** The checked `[lo, hi]` of {@link TimeCropOptions.scale}. */
function timeCropScale(v: unknown, arg = 'scale'): [number, number] {
  const [lo, hi] = range(v, [0.5, 1], arg);
  if (!(lo > 0 && hi <= 1)) throw new ValueError(`${arg}: expected 0 < lo ≤ hi ≤ 1, got [${lo}, ${hi}]`);
  return [lo, hi];
}

/** The checked `[lo, hi]` of {@link AmplitudeScaleOptions.range}. */
function amplitudeRange(v: unknown, arg = 'range'): [number, number] {
  const [lo, hi] = range(v, [0.8, 1.2], arg);
  if (Math.abs(lo) > FLOAT32_MAX || Math.abs(hi) > FLOAT32_MAX)
    throw new ValueError(`${arg}: expected bounds within ±${FLOAT32_MAX} (the float32 range), got [${lo}, ${hi}]`);
  return [lo, hi];
}

/**
 * Random time shift with zero fill, out of place (the 1-d analogue of a
 * random crop with padding): every channel of signal `i` moves by `s_i`
 * samples, `out[i,c,t] = x[i,c,t − s_i]`, 0 where `t − s_i` falls outside
 * `[0, L)`; `s_i` is uniform in `[−maxShift, maxShift]` (module doc).
 *
 * @param x    signals, float32 `[N, C, L]`
 * @param out  output, the same shape, not overlapping `x`
 * @param opts `{ maxShift, seed, offset }`
 */
export function timeShift(x: Tensor<'float32'>, out: Tensor<'float32'>, opts: TimeShiftOptions): void {
  checkSignals(x, 'time shift');
  const [seed, offset] = streamArgs(opts, 'opts');
  const maxShift = checkInt(opts.maxShift, 'maxShift', 0, MAX_SHIFT);
  native.timeShift(h(x, 'x'), h(out, 'out'), maxShift, seed, offset);
}

/**
 * Random time crop resampled to the full length, out of place (the 1-d
 * analogue of a random resized crop): signal `i` keeps the window
 * `x[i, :, a_i .. a_i + ℓ_i)` of `ℓ_i ≈ σ_i·L` samples, `σ_i` uniform in
 * `scale`, at a uniform start `a_i` (module doc), and stretches it back to L
 * samples by linear interpolation as
 * `torch.nn.functional.interpolate(mode='linear', align_corners=False)`
 * does: with `r = ℓ_i/L` (float32), output sample `t` reads
 * `src = max(0, r·(t + ½) − ½)` and blends `w[⌊src⌋]` and
 * `w[min(⌊src⌋ + 1, ℓ_i − 1)]` with weights `1 − (src − ⌊src⌋)` and
 * `src − ⌊src⌋` (a window of the whole signal is copied).
 *
 * @param x    signals, float32 `[N, C, L]`
 * @param out  output, the same shape, not overlapping `x`
 * @param opts `{ scale: [lo, hi], seed, offset }`
 */
export function randomTimeCrop(x: Tensor<'float32'>, out: Tensor<'float32'>, opts: TimeCropOptions): void {
  checkSignals(x, 'random time crop');
  const [seed, offset] = streamArgs(opts, 'opts');
  const [lo, hi] = timeCropScale(opts.scale);
  native.randomTimeCrop(h(x, 'x'), h(out, 'out'), lo, hi, seed, offset);
}

/**
 * Random amplitude scaling: `out[i,c,t] = g_i · x[i,c,t]` with one factor
 * `g_i` uniform in `range` per signal, shared by its channels (module doc).
 * `out` may be `x` itself (in place) but must not partially overlap it.
 *
 * @param x    signals, float32 `[N, C, L]`
 * @param out  output, the same shape
 * @param opts `{ range: [lo, hi], seed, offset }`
 */
export function amplitudeScale(x: Tensor<'float32'>, out: Tensor<'float32'>, opts: AmplitudeScaleOptions): void {
  checkSignals(x, 'amplitude scaling');
  const [seed, offset] = streamArgs(opts, 'opts');
  const [lo, hi] = amplitudeRange(opts.range);
  native.amplitudeScale(h(x, 'x'), h(out, 'out'), lo, hi, seed, offset);
}
