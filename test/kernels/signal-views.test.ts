// Signal views on [N, C, L]: time shift, random time crop (resampled with
// linear interpolation), amplitude scaling — each kernel against a plain
// reference loop that reproduces the documented Philox draws
// (lib/ops/signal.ts) with lib/random.ts philoxBlock, the crop's resampling
// against PyTorch's F.interpolate(mode='linear', align_corners=False)
// (test/fixtures/time_crop.json from gen_time_crop.py), the draws'
// distributions, thread-count independence, hostile arguments, and the
// library views with the methods' sample-shape check.
import { describe, expect, it } from 'vitest';
import { ArgumentError, DisposedError, DTypeError, NPair, ShapeError, Tensor, ValueError, info, ops, setNumThreads, views } from '../../lib/index';
import { fashionMnist, fromArray, subset } from '../../lib/data/dataset';
import { native } from '../../lib/native';
import type { NativeTensor } from '../../lib/native';
import { philoxBlock } from '../../lib/random';
import { expectClose, expectSame, fixture, randn, unit } from '../helpers';

type NT = NativeTensor;
// The addon's raw entry points, to check the C++ validation behind the TS checks.
const raw = native as unknown as {
  timeShift(x: NT, out: NT, maxShift: unknown, seed: unknown, offset: unknown): void;
  randomTimeCrop(x: NT, out: NT, minScale: unknown, maxScale: unknown, seed: unknown, offset: unknown): void;
  amplitudeScale(x: NT, out: NT, lo: unknown, hi: unknown, seed: unknown, offset: unknown): void;
};

// ---- the documented draws, reproduced ----

/** ⌊u(w)·span⌋, exactly (the product can pass 2⁵³). */
const below = (w: number, span: number) => Number((BigInt(w >>> 8) * BigInt(span)) >> 24n);

function shiftDraw(i: number, maxShift: number, seed: number, offset: number): number {
  return below(philoxBlock(seed, i, offset)[0], 2 * maxShift + 1) - maxShift;
}
function cropDraw(i: number, L: number, lo: number, hi: number, seed: number, offset: number): { len: number; start: number } {
  const [w0, w1] = philoxBlock(seed, i, offset);
  const sigma = lo + (hi - lo) * unit(w0); // doubles, one operation at a time, as the kernels
  const len = Math.min(L, Math.max(1, Math.floor(sigma * L + 0.5)));
  return { len, start: below(w1, L - len + 1) };
}
function ampDraw(i: number, lo: number, hi: number, seed: number, offset: number): number {
  return Math.fround(lo + (hi - lo) * unit(philoxBlock(seed, i, offset)[0]));
}

// ---- plain reference loops ----

function refShift(x: Float32Array, [N, C, L]: number[], maxShift: number, seed: number, offset: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < N!; i++) {
    const s = shiftDraw(i, maxShift, seed, offset);
    for (let c = 0; c < C!; c++)
      for (let t = 0; t < L!; t++) {
        const q = t - s;
        out[(i * C! + c) * L! + t] = q >= 0 && q < L! ? x[(i * C! + c) * L! + q]! : 0;
      }
  }
  return out;
}

/**
 * F.interpolate(w[0..len), L, mode='linear', align_corners=False) as
 * native/common/signal_views.h computes it: a float32 scale, the source
 * index in double, float32 weights, the blend summed in double.
 */
function resample(w: (k: number) => number, len: number, L: number): number[] {
  if (len === L) return Array.from({ length: L }, (_, t) => w(t));
  const scale = Math.fround(len / L);
  return Array.from({ length: L }, (_, t) => {
    const src = Math.max(0, scale * (t + 0.5) - 0.5);
    const i0 = Math.min(Math.trunc(src), len - 1);
    const i1 = i0 + (i0 < len - 1 ? 1 : 0);
    const l1 = Math.min(Math.fround(src - i0), 1);
    const l0 = Math.fround(1 - l1);
    return Math.fround(l0 * w(i0) + l1 * w(i1));
  });
}

function refCrop(x: Float32Array, [N, C, L]: number[], lo: number, hi: number, seed: number, offset: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < N!; i++) {
    const { len, start } = cropDraw(i, L!, lo, hi, seed, offset);
    for (let c = 0; c < C!; c++) {
      const base = (i * C! + c) * L!;
      out.set(resample((k) => x[base + start + k]!, len, L!), base);
    }
  }
  return out;
}

function refAmp(x: Float32Array, [N, C, L]: number[], lo: number, hi: number, seed: number, offset: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < N!; i++) {
    const g = ampDraw(i, lo, hi, seed, offset);
    for (let k = i * C! * L!; k < (i + 1) * C! * L!; k++) out[k] = Math.fround(g * x[k]!);
  }
  return out;
}

type Kernel = (x: Tensor<'float32'>, out: Tensor<'float32'>, seed: number, offset: number) => void;
/** Runs a kernel into an output prefilled with NaN (every element must be written). */
function run(k: Kernel, x: Float32Array, shape: number[], seed: number, offset: number): Float32Array {
  using xt = Tensor.from(x, shape);
  using out = Tensor.full(shape, NaN);
  k(xt, out, seed, offset);
  return out.toArray();
}
const shiftK = (maxShift: number): Kernel => (x, out, seed, offset) => ops.timeShift(x, out, { maxShift, seed, offset });
const cropK = (lo: number, hi: number): Kernel => (x, out, seed, offset) => ops.randomTimeCrop(x, out, { scale: [lo, hi], seed, offset });
const ampK = (lo: number, hi: number): Kernel => (x, out, seed, offset) => ops.amplitudeScale(x, out, { range: [lo, hi], seed, offset });

const STREAMS = [[7, 0], [123456789, 2 ** 40 + 5]] as const;
const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);

describe('timeShift', () => {
  const cases: Array<[number[], number]> = [
    [[1, 1, 1], 0],
    [[1, 1, 1], 3], // maxShift > L: most shifts leave only zeros
    [[4, 1, 9], 2],
    [[3, 2, 7], 0], // a copy
    [[5, 3, 20], 25],
    [[8, 12, 100], 10],
    [[64, 4, 500], 64], // parallel path
  ];
  for (const [shape, m] of cases) {
    it(`matches the reference on [${shape.join(', ')}], maxShift ${m}`, () => {
      const x = randn(numel(shape), numel(shape) + m);
      for (const [seed, offset] of STREAMS) expectSame(run(shiftK(m), x, shape, seed, offset), refShift(x, shape, m, seed, offset));
    });
  }

  it('shifts each signal by a uniform integer in [−maxShift, maxShift], all channels together', () => {
    // A unit impulse in the middle of L = 2m + 1 samples lands at m + s: the
    // kernel's output shows each shift, never outside the range.
    const m = 3, L = 2 * m + 1, N = 3000, C = 2;
    const x = new Float32Array(N * C * L);
    for (let p = 0; p < N * C; p++) x[p * L + m] = 1;
    const out = run(shiftK(m), x, [N, C, L], 99, 17);
    const counts = new Array(L).fill(0);
    for (let i = 0; i < N; i++) {
      const pos = [0, 1].map((c) => out.subarray((i * C + c) * L, (i * C + c + 1) * L).indexOf(1));
      expect(pos[0]).toBeGreaterThanOrEqual(0);
      expect(pos[1], 'channels share the shift').toBe(pos[0]);
      expect(pos[0]! - m).toBe(shiftDraw(i, m, 99, 17));
      counts[pos[0]!]++;
    }
    for (const c of counts) expect(Math.abs(c - N / L)).toBeLessThan(5 * Math.sqrt((N * (L - 1)) / L ** 2));
  });
});

describe('randomTimeCrop', () => {
  const cases: Array<[number[], number, number]> = [
    [[1, 1, 1], 0.5, 1],
    [[4, 2, 2], 0.1, 1],
    [[6, 1, 16], 0.5, 1],
    [[5, 3, 50], 0.05, 0.3], // stretched by up to 20×
    [[4, 2, 33], 1, 1], // no crop: copies
    [[3, 1, 40], 0.01, 0.01], // one-sample windows: constant outputs
    [[32, 8, 300], 0.08, 1], // parallel path
  ];
  for (const [shape, lo, hi] of cases) {
    it(`matches the reference on [${shape.join(', ')}], scale [${lo}, ${hi}]`, () => {
      const x = randn(numel(shape), numel(shape) + 1);
      for (const [seed, offset] of STREAMS) expectSame(run(cropK(lo, hi), x, shape, seed, offset), refCrop(x, shape, lo, hi, seed, offset));
    });
  }

  it('resamples like PyTorch F.interpolate(mode=linear, align_corners=False) on the drawn windows', () => {
    const fx = fixture<{ cases: Array<{ shape: number[]; scale: [number, number]; seed: number; offset: number; x: number[]; out: number[]; len: number[]; start: number[] }> }>('time_crop');
    expect(fx.cases.length).toBeGreaterThanOrEqual(8);
    for (const c of fx.cases) {
      const label = `[${c.shape.join(', ')}] scale [${c.scale.join(', ')}]`;
      // The Python reproduction of the layout draws the same windows as ours.
      c.len.forEach((len, i) => expect(cropDraw(i, c.shape[2]!, c.scale[0], c.scale[1], c.seed, c.offset), `${label} signal ${i}`).toEqual({ len, start: c.start[i] }));
      const got = run(cropK(c.scale[0], c.scale[1]), Float32Array.from(c.x), c.shape, c.seed, c.offset);
      // PyTorch computes in float32 too (≤ 1 ulp apart where its build fuses a multiply-add differently).
      expectClose(got, c.out, { rtol: 1e-6, atol: 1e-6, label });
    }
  });

  it('draws window lengths σ·L with σ uniform in [lo, hi] and uniform starts', () => {
    // On a ramp x[t] = t the output starts at the window's start a and ends at a + ℓ − 1.
    const N = 2000, L = 200, lo = 0.25, hi = 0.75;
    const x = new Float32Array(N * L);
    for (let k = 0; k < x.length; k++) x[k] = k % L;
    const out = run(cropK(lo, hi), x, [N, 1, L], 5, 6);
    let sumLen = 0, sumPos = 0;
    const bad: string[] = [];
    for (let i = 0; i < N; i++) {
      const a = out[i * L]!, len = out[i * L + L - 1]! - a + 1;
      const d = cropDraw(i, L, lo, hi, 5, 6);
      if (len !== d.len || a !== d.start) bad.push(`signal ${i}: window ${a}+${len}, drawn ${d.start}+${d.len}`);
      if (!(len >= lo * L && len <= hi * L && a >= 0 && a + len <= L)) bad.push(`signal ${i}: window ${a}+${len} outside the range`);
      for (let t = 1; t < L; t++) if (!(out[i * L + t]! >= out[i * L + t - 1]!)) bad.push(`signal ${i}: not a stretched ramp at ${t}`);
      sumLen += len;
      sumPos += a / (L - len);
    }
    expect(bad.slice(0, 5)).toEqual([]);
    // Mean length (lo + hi)/2·L (σ of U: (hi − lo)·L/√12), mean relative start ½ (σ ≈ 1/√12).
    expect(Math.abs(sumLen / N - ((lo + hi) / 2) * L)).toBeLessThan((5 * ((hi - lo) * L)) / Math.sqrt(12 * N));
    expect(Math.abs(sumPos / N - 0.5)).toBeLessThan(5 / Math.sqrt(12 * N));
  });
});

describe('amplitudeScale', () => {
  const cases: Array<[number[], number, number]> = [
    [[1, 1, 1], 0.8, 1.2],
    [[5, 3, 11], -2, 3],
    [[4, 2, 9], 1.5, 1.5], // one factor
    [[64, 6, 300], 0.5, 2], // parallel path
  ];
  for (const [shape, lo, hi] of cases) {
    it(`matches the reference on [${shape.join(', ')}], range [${lo}, ${hi}], out of place and in place`, () => {
      const x = randn(numel(shape), numel(shape) + 2);
      for (const [seed, offset] of STREAMS) {
        const want = refAmp(x, shape, lo, hi, seed, offset);
        expectSame(run(ampK(lo, hi), x, shape, seed, offset), want);
        const xt = Tensor.from(x, shape);
        ops.amplitudeScale(xt, xt, { range: [lo, hi], seed, offset });
        expectSame(xt.toArray(), want, 'in place');
      }
    });
  }

  it('draws one factor per signal, uniform in [lo, hi), shared by the channels', () => {
    const N = 4000, C = 3, lo = 0.8, hi = 1.2;
    const out = run(ampK(lo, hi), new Float32Array(N * C * 2).fill(1), [N, C, 2], 31, 4);
    let sum = 0;
    const bins = new Array(4).fill(0);
    for (let i = 0; i < N; i++) {
      const g = out[i * C * 2]!;
      for (let k = 1; k < C * 2; k++) expect(out[i * C * 2 + k]).toBe(g);
      expect(g).toBeGreaterThanOrEqual(Math.fround(lo));
      expect(g).toBeLessThanOrEqual(Math.fround(hi));
      sum += g;
      bins[Math.min(3, Math.floor(((g - lo) / (hi - lo)) * 4))]++;
    }
    expect(Math.abs(sum / N - 1)).toBeLessThan((5 * 0.4) / Math.sqrt(12 * N));
    for (const b of bins) expect(Math.abs(b - N / 4)).toBeLessThan(5 * Math.sqrt((N * 3) / 16));
  });
});

describe('signal kernels: determinism and hostile arguments', () => {
  it('are deterministic, thread-count independent, and advance with the seed and the offset', () => {
    const shape = [48, 5, 333];
    const x = randn(numel(shape), 4);
    const threads = info().threads;
    for (const k of [shiftK(40), cropK(0.2, 0.9), ampK(0.5, 1.5)]) {
      const a = run(k, x, shape, 1, 2);
      setNumThreads(1);
      const b = run(k, x, shape, 1, 2);
      setNumThreads(threads);
      expectSame(b, a, 'one thread');
      expectSame(run(k, x, shape, 1, 2), a, 'again');
      expect(run(k, x, shape, 1, 3)).not.toEqual(a);
      expect(run(k, x, shape, 2, 2)).not.toEqual(a);
    }
  });

  it('take empty batches, channels and signals', () => {
    for (const shape of [[0, 3, 5], [2, 0, 5], [2, 3, 0]])
      for (const k of [shiftK(2), cropK(0.5, 1), ampK(0.8, 1.2)]) expect(run(k, new Float32Array(0), shape, 1, 0)).toEqual(new Float32Array(0));
  });

  it('reject bad tensors with typed errors naming the argument', () => {
    const x = Tensor.zeros([2, 3, 8]), out = Tensor.zeros([2, 3, 8]);
    const s = { seed: 1, offset: 0 };
    const d = Tensor.zeros([2, 3, 8]);
    d.dispose();
    const calls: Array<[string, (x: Tensor<'float32'>, out: Tensor<'float32'>) => void]> = [
      ['time shift', (a, b) => ops.timeShift(a, b, { ...s, maxShift: 1 })],
      ['random time crop', (a, b) => ops.randomTimeCrop(a, b, { ...s, scale: [0.5, 1] })],
      ['amplitude scaling', (a, b) => ops.amplitudeScale(a, b, { ...s, range: [0.8, 1.2] })],
    ];
    for (const [what, f] of calls) {
      expect(() => f(Tensor.zeros([2, 24]), Tensor.zeros([2, 24]))).toThrow(ShapeError);
      expect(() => f(Tensor.zeros([2, 24]), Tensor.zeros([2, 24]))).toThrow(new RegExp(`x: ${what} needs signals \\[N, C, L\\], got shape \\[2, 24\\]`));
      expect(() => f(Tensor.zeros([1, 2, 3, 8]), Tensor.zeros([1, 2, 3, 8]))).toThrow(ShapeError);
      expect(() => f(x, Tensor.zeros([2, 3, 9]))).toThrow(/out: expected shape \[2, 3, 8\], got \[2, 3, 9\]/);
      expect(() => f(x, Tensor.zeros([2, 24]))).toThrow(ShapeError);
      expect(() => f(Tensor.zeros([2, 3, 8], { dtype: 'int32' }) as never, out)).toThrow(DTypeError);
      expect(() => f(x, Tensor.zeros([2, 3, 8], { dtype: 'int32' }) as never)).toThrow(/out: expected float32/);
      expect(() => f(d, out)).toThrow(DisposedError);
      expect(() => f(x, d)).toThrow(/out: tensor has been disposed/);
      expect(() => f(Tensor.zeros([96]).view(0, [2, 3, 8], [48, 16, 1]), out)).toThrow(/x: expected a contiguous/);
      const buf = Tensor.zeros([60]);
      expect(() => f(buf.view(0, [2, 3, 8]), buf.view(8, [2, 3, 8]))).toThrow(/overlap in memory/); // partial overlap
    }
    // Out of place: out may not be x; amplitude scaling may run in place.
    expect(() => ops.timeShift(x, x, { ...s, maxShift: 1 })).toThrow(/x and out overlap in memory; this operation is out of place/);
    expect(() => ops.randomTimeCrop(x, x, s)).toThrow(/x and out overlap in memory/);
    expect(() => ops.amplitudeScale(x, x, s)).not.toThrow();
  });

  it('reject bad scalars and options, in the wrappers and again in the addon', () => {
    const x = Tensor.zeros([2, 3, 8]), out = Tensor.zeros([2, 3, 8]);
    const s = { seed: 1, offset: 0 };
    expect(() => ops.timeShift(x, out, { ...s, maxShift: -1 })).toThrow(/maxShift: -1 is outside/);
    expect(() => ops.timeShift(x, out, { ...s, maxShift: 1.5 })).toThrow(/maxShift: expected an integer/);
    expect(() => ops.timeShift(x, out, { ...s, maxShift: 2 ** 31 })).toThrow(ValueError);
    expect(() => ops.timeShift(x, out, { ...s, maxShift: NaN })).toThrow(/maxShift: expected a finite number/);
    expect(() => ops.timeShift(x, out, { ...s, maxShift: '2' as never })).toThrow(ArgumentError);
    expect(() => ops.timeShift(x, out, s as never)).toThrow(/maxShift: expected a number, got undefined/);
    expect(() => ops.timeShift(x, out, { seed: -1, maxShift: 1 })).toThrow(/seed: -1 is outside/);
    expect(() => ops.timeShift(x, out, { seed: 1, offset: 0.5, maxShift: 1 })).toThrow(/offset: expected an integer/);
    expect(() => ops.timeShift(x, out, null as never)).toThrow(/opts: expected an object/);
    for (const scale of [[0, 1], [0.6, 0.5], [0.5, 1.5], [-0.5, 0.5]] as const)
      expect(() => ops.randomTimeCrop(x, out, { ...s, scale })).toThrow(ValueError);
    expect(() => ops.randomTimeCrop(x, out, { ...s, scale: [0, 1] })).toThrow(/scale: expected 0 < lo ≤ hi ≤ 1, got \[0, 1\]/);
    expect(() => ops.randomTimeCrop(x, out, { ...s, scale: [0.6, 0.5] })).toThrow(/scale: expected lo ≤ hi, got \[0.6, 0.5\]/);
    expect(() => ops.randomTimeCrop(x, out, { ...s, scale: [NaN, 1] })).toThrow(/scale\[0\]: expected a finite number/);
    expect(() => ops.randomTimeCrop(x, out, { ...s, scale: [0.5] as never })).toThrow(/scale: expected a \[lo, hi\] pair, got 1 values/);
    expect(() => ops.randomTimeCrop(x, out, { ...s, scale: 0.5 as never })).toThrow(ArgumentError);
    expect(() => ops.amplitudeScale(x, out, { ...s, range: [2, 1] })).toThrow(/range: expected lo ≤ hi, got \[2, 1\]/);
    expect(() => ops.amplitudeScale(x, out, { ...s, range: [-Infinity, 1] })).toThrow(/range\[0\]: expected a finite number/);
    expect(() => ops.amplitudeScale(x, out, { ...s, range: [1, 1e39] })).toThrow(/range: expected bounds within/);
    expect(() => ops.amplitudeScale(x, out, { ...s, range: [1, '2'] as never })).toThrow(ArgumentError);
    // The addon checks again behind the wrappers.
    const [xh, oh] = [x.handle, out.handle];
    expect(() => raw.timeShift(xh, oh, -1, 1, 0)).toThrow(/maxShift: expected an integer in \[0, 2\^31\)/);
    expect(() => raw.timeShift(xh, oh, 2 ** 31, 1, 0)).toThrow(ValueError);
    expect(() => raw.timeShift(xh, oh, 0.5, 1, 0)).toThrow(/maxShift: expected an integer/);
    expect(() => raw.timeShift(xh, oh, '1', 1, 0)).toThrow(ArgumentError);
    expect(() => raw.timeShift(xh, oh, 1, -3, 0)).toThrow(/seed: expected a non-negative integer/);
    expect(() => raw.timeShift(xh, oh, 1, 1, undefined)).toThrow(/offset: expected a number/);
    expect(() => raw.timeShift(xh, {} as NT, 1, 1, 0)).toThrow(/out: expected a Tensor/);
    expect(() => raw.timeShift(xh, xh, 1, 1, 0)).toThrow(/x and out overlap/);
    expect(() => raw.randomTimeCrop(xh, oh, 0, 1, 1, 0)).toThrow(/minScale: expected a fraction in \(0, 1\]/);
    expect(() => raw.randomTimeCrop(xh, oh, 0.6, 0.5, 1, 0)).toThrow(/maxScale: .* is below minScale/);
    expect(() => raw.randomTimeCrop(xh, oh, 0.5, 1.5, 1, 0)).toThrow(/maxScale: .* is outside/);
    expect(() => raw.randomTimeCrop(xh, oh, NaN, 1, 1, 0)).toThrow(/minScale: expected a finite number/);
    expect(() => raw.randomTimeCrop(xh, xh, 0.5, 1, 1, 0)).toThrow(/x and out overlap/);
    expect(() => raw.amplitudeScale(xh, oh, 2, 1, 1, 0)).toThrow(/hi: .* is below lo/);
    expect(() => raw.amplitudeScale(xh, oh, -1e39, 1, 1, 0)).toThrow(/lo: .* is outside/);
    expect(() => raw.amplitudeScale(xh, oh, 0, Infinity, 1, 0)).toThrow(/hi: expected a finite number/);
    expect(() => raw.amplitudeScale(Tensor.zeros([2, 24]).handle, oh, 0.8, 1.2, 1, 0)).toThrow(/x: amplitude scaling needs signals/);
    // The float32 extremes are accepted and give finite factors.
    const big = Tensor.full([3, 1, 2], 1);
    ops.amplitudeScale(big, big, { seed: 1, range: [-3.4028234663852886e38, 3.4028234663852886e38] });
    expect(big.toArray().every(Number.isFinite)).toBe(true);
  });
});

describe('signal views', () => {
  const C = 3, L = 40, N = 6, F = C * L;
  const shape = [N, C, L];
  const x = randn(N * F, 21);

  it('describe themselves as name(number, ...) and check their arguments', () => {
    expect(views.timeShift(4).describe).toBe('timeShift(4)');
    expect(views.randomTimeCrop().describe).toBe('randomTimeCrop(0.5, 1)');
    expect(views.randomTimeCrop([0.25, 0.75]).describe).toBe('randomTimeCrop(0.25, 0.75)');
    expect(views.amplitudeScale().describe).toBe('amplitudeScale(0.8, 1.2)');
    expect(views.amplitudeScale(0.5, 2).describe).toBe('amplitudeScale(0.5, 2)');
    for (const v of [views.timeShift(1), views.randomTimeCrop(), views.amplitudeScale()]) {
      expect(v.signal).toBe(true);
      expect(v.spatial).toBeUndefined();
    }
    expect(views.compose(views.inputDrop(0.1), views.timeShift(2)).signal).toBe(true);
    expect(views.compose(views.inputDrop(0.1), views.gaussianNoise(0.1)).signal).toBeUndefined();
    expect(() => views.timeShift(-1)).toThrow(/maxShift: expected a non-negative integer/);
    expect(() => views.timeShift(1.5)).toThrow(ValueError);
    expect(() => views.timeShift(2 ** 31)).toThrow(ValueError);
    expect(() => views.randomTimeCrop([0, 1])).toThrow(/scale: expected length fractions \[lo, hi\] with 0 < lo ≤ hi ≤ 1, got \[0, 1\]/);
    expect(() => views.randomTimeCrop([0.9, 0.5])).toThrow(ValueError);
    expect(() => views.randomTimeCrop([0.5, NaN])).toThrow(ValueError);
    expect(() => views.randomTimeCrop(0.5 as never)).toThrow(ValueError);
    expect(() => views.amplitudeScale(2, 1)).toThrow(/hi: expected at least lo \(2\), got 1/);
    expect(() => views.amplitudeScale(NaN)).toThrow(/lo: expected a finite number/);
    expect(() => views.amplitudeScale(1, 1e39)).toThrow(ValueError);
  });

  it('reshape [N, F] rows by the sample shape [C, L], out of place and in place', () => {
    const s = { seed: 11, offset: 5 };
    for (const [v, want] of [
      [views.timeShift(7), refShift(x, shape, 7, s.seed, s.offset)],
      [views.randomTimeCrop([0.3, 0.8]), refCrop(x, shape, 0.3, 0.8, s.seed, s.offset)],
      [views.amplitudeScale(0.5, 1.5), refAmp(x, shape, 0.5, 1.5, s.seed, s.offset)],
    ] as const) {
      const xt = Tensor.from(x, [N, F]), out = Tensor.zeros([N, F]);
      v(xt, out, s, [C, L]);
      expectSame(out.toArray(), want, v.describe);
      // In place (the training loop applies the query view to its own buffer), twice: a scratch is reused.
      for (let k = 0; k < 2; k++) {
        const inPlace = Tensor.from(x, [N, F]);
        v(inPlace, inPlace, s, [C, L]);
        expectSame(inPlace.toArray(), want, `${v.describe} in place`);
      }
      // A 3-D batch needs no sample shape.
      const out3 = Tensor.zeros(shape);
      v(Tensor.from(x, shape), out3, s);
      expectSame(out3.toArray(), want, `${v.describe} [N, C, L]`);
    }
  });

  it('compose passes the sample shape through; the k-th view reads offset·16 + k', () => {
    const v = views.compose(views.randomTimeCrop([0.5, 1]), views.timeShift(3), views.amplitudeScale(0.9, 1.1));
    const out = Tensor.zeros([N, F]);
    v(Tensor.from(x, [N, F]), out, { seed: 4, offset: 9 }, [C, L]);
    const a = refCrop(x, shape, 0.5, 1, 4, 9 * 16);
    const b = refShift(a, shape, 3, 4, 9 * 16 + 1);
    expectSame(out.toArray(), refAmp(b, shape, 0.9, 1.1, 4, 9 * 16 + 2));
  });

  it('a signal view throws a ShapeError naming x on image or flat data', () => {
    const xt = Tensor.from(x, [N, F]), out = Tensor.zeros([N, F]);
    const s = { seed: 1, offset: 0 };
    expect(() => views.timeShift(2)(xt, out, s)).toThrow(/x: timeShift needs signal samples \[C, L\], got rows of 120 features with no sample shape/);
    expect(() => views.randomTimeCrop()(xt, out, s, [F])).toThrow(/x: randomTimeCrop needs signal samples \[C, L\], got samples of shape \[120\]; use inputDrop or gaussianNoise/);
    expect(() => views.amplitudeScale()(xt, out, s, [3, 4, 10])).toThrow(/x: amplitudeScale needs signal samples \[C, L\], got samples of shape \[3, 4, 10\]/);
    expect(() => views.timeShift(1)(xt, out, s, [3, 41])).toThrow(/sample shape \[3, 41\] does not match rows of 120 features/);
    expect(() => views.timeShift(1)(Tensor.zeros([2, 3, 4, 5]), Tensor.zeros([2, 3, 4, 5]), s)).toThrow(ShapeError);
    expect(() => views.timeShift(1)(xt, Tensor.zeros([N, F + 1]), s, [C, L])).toThrow(/out: shape \[6, 121\] does not match x \[6, 120\]/);
  });

  it('methods train with signal views on [C, L] data and refuse them on image or flat data', async () => {
    const sig = fromArray(randn(64 * 2 * 50, 9), [2, 50]);
    const m = new NPair({ encoder: { kind: 'mlp', hidden: [16] }, projection: [16, 8], seed: 3, views: views.compose(views.randomTimeCrop(), views.timeShift(5), views.amplitudeScale()) });
    const r = await m.fit(sig, { epochs: 1, batchSize: 16 });
    expect(r.steps).toBe(4);
    expect(r.losses.every(Number.isFinite)).toBe(true);
    m.dispose();
    const images = subset(fashionMnist('train'), 0, 32);
    const a = new NPair({ encoder: { kind: 'mlp', hidden: [16] }, projection: [16, 8], seed: 3, views: views.timeShift(2) });
    await expect(a.fit(images, { epochs: 1, batchSize: 16 })).rejects.toThrow(ShapeError);
    await expect(a.fit(images, { epochs: 1, batchSize: 16 })).rejects.toThrow(/views: timeShift\(2\) needs signal samples \[C, L\], got \[1, 28, 28\]; use inputDrop or gaussianNoise for non-signal data/);
    a.dispose();
    const flat = fromArray(randn(32 * 10, 2), [10]);
    const b = new NPair({ encoder: { kind: 'mlp', hidden: [16] }, projection: [16, 8], seed: 3, views: views.compose(views.inputDrop(0.1), views.amplitudeScale()) });
    await expect(b.fit(flat, { epochs: 1, batchSize: 16 })).rejects.toThrow(/views: inputDrop\(0.1\) ∘ amplitudeScale\(0.8, 1.2\) needs signal samples \[C, L\], got \[10\]/);
    b.dispose();
  });
});
