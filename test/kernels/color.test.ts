// Photometric image views (lib/ops/color.ts, native/cpu/color.cpp): colour
// jitter with given parameters against torchvision 0.14 (fixture from
// test/fixtures/gen_color_jitter.py) and against a plain float32 TS
// reference of the formulas; the random kernel against the same reference
// with its Philox draws reproduced here from the documented layout
// (lib/random.ts philoxBlock), probability statistics, thread-count
// independence, in place == out of place, views, hostile arguments.
import { describe, expect, it } from 'vitest';
import { ArgumentError, DisposedError, DTypeError, NPair, ShapeError, Tensor, ValueError, info, ops, setNumThreads, views } from '../../lib/index';
import { fashionMnist, subset } from '../../lib/data/dataset';
import { native } from '../../lib/native';
import type { NativeTensor } from '../../lib/native';
import { philoxBlock } from '../../lib/random';
import { expectClose, expectSame, fixture, randu, unit } from '../helpers';

type NT = NativeTensor;
// The addon's raw entry points, to check the C++ validation behind the TS checks.
const raw = native as unknown as {
  colorJitter(x: NT, out: NT, b: unknown, c: unknown, s: unknown, h: unknown, p: unknown, seed: unknown, offset: unknown): void;
  colorAdjust(x: NT, out: NT, params: unknown): void;
  randomGrayscale(x: NT, out: NT, p: unknown, seed: unknown, offset: unknown): void;
};

const f = Math.fround;

// ---- plain float32 references of torchvision's formulas ----

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
const gray = (r: number, g: number, b: number) => f(f(f(f(0.2989) * r) + f(f(0.587) * g)) + f(f(0.114) * b));
/** 1 − factor, formed in double and rounded once (torchvision's Python float). */
const om = (v: number) => f(1 - v);

/** _rgb2hsv, H ← (H + h) mod 1, _hsv2rgb on one pixel. */
function hueRef(r: number, g: number, b: number, h: number): [number, number, number] {
  const maxc = Math.max(r, g, b), minc = Math.min(r, g, b);
  const eqc = maxc === minc;
  const cr = f(maxc - minc);
  const s = f(cr / (eqc ? 1 : maxc));
  const crd = eqc ? 1 : cr;
  const rc = f(f(maxc - r) / crd), gc = f(f(maxc - g) / crd), bc = f(f(maxc - b) / crd);
  let hh = maxc === r ? f(bc - gc) : maxc === g ? f(f(2 + rc) - bc) : f(f(4 + gc) - rc);
  hh = f(f(hh / 6) + 1) % 1;
  let m = f(hh + h) % 1;
  if (m < 0) m = f(m + 1);
  const h6 = f(m * 6), fi = Math.floor(h6), fr = f(h6 - fi), i = fi % 6, v = maxc;
  const p = clamp01(f(v * f(1 - s)));
  const q = clamp01(f(v * f(1 - f(s * fr))));
  const t = clamp01(f(v * f(1 - f(s * f(1 - fr)))));
  return ([[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]] as const)[i]! as [number, number, number];
}

/** Factors (b, c, s, h) and the adjustments to apply in order (ids 0..3). */
interface Op {
  factors: [number, number, number, number];
  steps: number[];
}

/** One image (C·HW floats at x[off..]) through op, into out. */
function refImage(x: Float32Array, out: Float32Array, off: number, C: number, HW: number, op: Op): void {
  const px: number[][] = [];
  for (let q = 0; q < HW; q++) px.push(Array.from({ length: C }, (_, c) => x[off + c * HW + q]!));
  const [fb, fc, fs, fh] = op.factors;
  for (const s of op.steps) {
    if (C === 1 && s >= 2) continue; // saturation and hue: identities for one channel
    if (s === 0) for (const p of px) for (let c = 0; c < C; c++) p[c] = clamp01(f(fb * p[c]!));
    if (s === 1) {
      let sum = 0;
      for (const p of px) sum += C === 3 ? gray(p[0]!, p[1]!, p[2]!) : p[0]!;
      const add = f(om(fc) * f(sum / HW));
      for (const p of px) for (let c = 0; c < C; c++) p[c] = clamp01(f(f(fc * p[c]!) + add));
    }
    if (s === 2)
      for (const p of px) {
        const add = f(om(fs) * gray(p[0]!, p[1]!, p[2]!));
        for (let c = 0; c < 3; c++) p[c] = clamp01(f(f(fs * p[c]!) + add));
      }
    if (s === 3) for (const p of px) [p[0], p[1], p[2]] = hueRef(p[0]!, p[1]!, p[2]!, fh);
  }
  for (let q = 0; q < HW; q++) for (let c = 0; c < C; c++) out[off + c * HW + q] = px[q]![c]!;
}

function refBatch(x: Float32Array, [N, C, H, W]: number[], opOf: (i: number) => Op): Float32Array {
  const out = new Float32Array(x.length), HW = H! * W!;
  for (let i = 0; i < N!; i++) refImage(x, out, i * C! * HW, C!, HW, opOf(i));
  return out;
}

interface Jitter {
  brightness: number;
  contrast: number;
  saturation: number;
  hue: number;
  p: number;
}

/**
 * Image i's draw, reproduced from the documented layout: blocks 2i and 2i+1
 * of (seed, offset); applied = u(a0) < p; order from r = ⌊a1·24/2³²⌋ by its
 * Lehmer code; factors f32(lo + u·span) from a2, a3, b0 and b1.
 */
function draw(i: number, j: Jitter, C: number, seed: number, offset: number): Op & { applied: boolean; perm: number[] } {
  const A = philoxBlock(seed, 2 * i, offset), B = philoxBlock(seed, 2 * i + 1, offset);
  const factor = (w: number, k: number) => {
    const lo = Math.max(0, f(1 - f(k)));
    return f(lo + unit(w) * f(f(1 + f(k)) - lo));
  };
  const fh = f(-f(j.hue) + unit(B[1]) * f(2 * f(j.hue)));
  const factors: [number, number, number, number] = [factor(A[2], j.brightness), factor(A[3], j.contrast), factor(B[0], j.saturation), fh];
  let r = Math.floor((A[1] * 24) / 2 ** 32);
  const avail = [0, 1, 2, 3], perm: number[] = [];
  for (let k = 0; k < 4; k++) {
    const m = 4 - k;
    perm.push(avail.splice(r % m, 1)[0]!);
    r = Math.floor(r / m);
  }
  const on = [j.brightness > 0, j.contrast > 0, j.saturation > 0 && C === 3, j.hue > 0 && C === 3];
  const applied = unit(A[0]) < f(j.p);
  return { factors, steps: applied ? perm.filter((s) => on[s]) : [], applied, perm };
}

/** params rows for colorAdjust: factors, then the steps padded with −1. */
function paramsOf(ops_: Op[]): Float32Array {
  const p = new Float32Array(ops_.length * 8);
  ops_.forEach((o, i) => {
    p.set(o.factors, i * 8);
    for (let k = 0; k < 4; k++) p[i * 8 + 4 + k] = o.steps[k] ?? -1;
  });
  return p;
}

function jitter(x: Float32Array, shape: number[], j: Partial<Jitter>, seed: number, offset: number): Float32Array {
  using xt = Tensor.from(x, shape);
  using out = Tensor.full(shape, NaN); // every element must be written
  ops.colorJitter(xt, out, { ...j, seed, offset });
  return out.toArray();
}

function adjust(x: Float32Array, shape: number[], params: Float32Array): Float32Array {
  using xt = Tensor.from(x, shape);
  using out = Tensor.full(shape, NaN);
  using pt = Tensor.from(params, [shape[0]!, 8]);
  ops.colorAdjust(xt, out, pt);
  return out.toArray();
}

const full = (j: Partial<Jitter>): Jitter => ({ brightness: 0, contrast: 0, saturation: 0, hue: 0, p: 1, ...j });

// ---- torchvision fixture ----

interface Fixture {
  inputs: Record<string, { shape: number[]; x: number[] }>;
  cases: Array<{ name: string; input: string; kind: number; factors: number[]; out: number[] }>;
  compositions: Array<{ input: string; factors: number[][]; steps: number[][]; out: number[] }>;
  grayscale: number[];
}
const fx = fixture<Fixture>('color_jitter');
const input = (k: string) => ({ x: Float32Array.from(fx.inputs[k]!.x), shape: fx.inputs[k]!.shape });

// Tolerance against torchvision: torch rounds every tensor operation to
// float32 and sums the contrast mean in float32; the kernels may contract
// a·x + b into an FMA and sum the mean in double: a few float32 ulps of
// values in [0, 1].
const TV = { rtol: 0, atol: 3e-7 };
// After several steps, those ulps reach the hue step, whose H = ((h/6 + 1) mod 1)
// rounds h to ulp(1) = 1.2e-7 and _hsv2rgb multiplies that by 6: one ulp of
// difference in the hue step's input may move an output by ~1e-6.
const CHAIN = { rtol: 0, atol: 5e-6 };

describe('colour adjustments against torchvision 0.14', () => {
  for (const c of fx.cases) {
    it(`${c.name}: factors ${c.factors.join(', ')}`, () => {
      const { x, shape } = input(c.input);
      const ops_: Op[] = c.factors.map((v) => {
        const factors: Op['factors'] = [1, 1, 1, 0];
        factors[c.kind] = v;
        return { factors, steps: [c.kind] };
      });
      const got = adjust(x, shape, paramsOf(ops_));
      expectClose(got, c.out, { ...TV, label: `${c.name} kernel` });
      expectClose(refBatch(x, shape, (i) => ops_[i]!), c.out, { ...TV, label: `${c.name} TS reference` });
    });
  }

  fx.compositions.forEach((c, k) => {
    it(`composition ${k} on ${c.input}: the adjustments in the given order (ColorJitter.forward)`, () => {
      const { x, shape } = input(c.input);
      const ops_: Op[] = c.factors.map((fs, i) => ({ factors: fs as Op['factors'], steps: c.steps[i]!.filter((s) => s >= 0) }));
      const got = adjust(x, shape, paramsOf(ops_));
      expectClose(got, c.out, { ...CHAIN, label: 'kernel' });
      expectClose(refBatch(x, shape, (i) => ops_[i]!), c.out, { ...CHAIN, label: 'TS reference' });
      // Unused step slots may be anywhere: −1 entries are skipped.
      const spread = paramsOf(ops_);
      for (let i = 0; i < ops_.length; i++) if (ops_[i]!.steps.length === 2) spread.set([-1, ops_[i]!.steps[0]!, -1, ops_[i]!.steps[1]!], i * 8 + 4);
      expectSame(adjust(x, shape, spread), got, 'steps with gaps');
    });
  });

  it('rgb_to_grayscale(num_output_channels=3): randomGrayscale with p = 1; p = 0 is a copy', () => {
    const { x, shape } = input('rgb');
    using xt = Tensor.from(x, shape);
    using out = Tensor.full(shape, NaN);
    ops.randomGrayscale(xt, out, { p: 1, seed: 3 });
    expectClose(out.toArray(), fx.grayscale, { ...TV, label: 'grayscale' });
    ops.randomGrayscale(xt, out, { p: 0, seed: 3 });
    expectSame(out.toArray(), x, 'p = 0');
    // One channel: identity whatever p.
    const g = input('gray');
    using gt = Tensor.from(g.x, g.shape);
    using gout = Tensor.full(g.shape, NaN);
    ops.randomGrayscale(gt, gout, { p: 1, seed: 3 });
    expectSame(gout.toArray(), g.x, 'C = 1');
  });
});

// ---- the random kernel ----

describe('colorJitter', () => {
  const cases: Array<[number[], Partial<Jitter>]> = [
    [[1, 3, 1, 1], { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 }],
    [[8, 3, 5, 7], { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1, p: 0.8 }], // SimCLR's strengths
    [[8, 3, 4, 4], { brightness: 1.5, contrast: 0.9, saturation: 2, hue: 0.5 }], // ranges clipped at 0, clamps
    [[6, 3, 9, 9], { contrast: 0.8, hue: 0.3 }], // two adjustments
    [[5, 1, 6, 5], { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 }], // grayscale: b and c only
    [[40, 3, 16, 16], { brightness: 0.8, contrast: 0.8, saturation: 0.8, hue: 0.2, p: 0.8 }], // parallel path
    [[3, 3, 100, 7], { brightness: 0.2, contrast: 0.7 }], // planes longer than a tile, a short last tile
  ];
  for (const [shape, j] of cases) {
    it(`matches the reference on [${shape.join(', ')}] with ${JSON.stringify(j)}`, () => {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = randu(n, n + shape[0]!);
      for (const [seed, offset] of [[7, 0], [123456789, 2 ** 40 + 5]] as const) {
        const ds = Array.from({ length: shape[0]! }, (_, i) => draw(i, full(j), shape[1]!, seed, offset));
        const got = jitter(x, shape, j, seed, offset);
        // The draw reproduced exactly: colorAdjust with those parameters is the same kernel path.
        expectSame(got, adjust(x, shape, paramsOf(ds)), `seed ${seed}: random kernel vs colorAdjust(draws)`);
        expectClose(got, refBatch(x, shape, (i) => ds[i]!), { ...CHAIN, label: `seed ${seed}: TS reference` });
      }
    });
  }

  it('applies with probability p; factors are uniform on their ranges; the order is a uniform permutation', () => {
    const N = 4000, p = 0.3, seed = 99, offset = 17;
    // 1×1 images of 0.5: brightness with factor b writes clamp(0.5·b), ≠ 0.5 unless applied with b = 1.
    const x = new Float32Array(N).fill(0.5);
    const out = jitter(x, [N, 1, 1, 1], { brightness: 0.5, p }, seed, offset);
    let applied = 0;
    const bs: number[] = [];
    const perms = new Map<string, number>();
    for (let i = 0; i < N; i++) {
      const d = draw(i, full({ brightness: 0.5, p }), 1, seed, offset);
      expect(out[i]).toBe(d.applied ? f(0.5 * d.factors[0]) : 0.5);
      if (out[i] !== 0.5) applied++;
      bs.push(d.factors[0]);
      perms.set(d.perm.join(''), (perms.get(d.perm.join('')) ?? 0) + 1);
    }
    expect(Math.abs(applied - p * N)).toBeLessThan(5 * Math.sqrt(N * p * (1 - p)));
    // b ~ U[0.5, 1.5): each quarter of the range holds N/4 (±5σ).
    expect(Math.min(...bs)).toBeGreaterThanOrEqual(0.5);
    expect(Math.max(...bs)).toBeLessThan(1.5);
    for (let k = 0; k < 4; k++) {
      const c = bs.filter((b) => b >= 0.5 + k / 4 && b < 0.75 + k / 4).length;
      expect(Math.abs(c - N / 4)).toBeLessThan(5 * Math.sqrt((N * 3) / 16));
    }
    expect(perms.size).toBe(24);
    for (const c of perms.values()) expect(Math.abs(c - N / 24)).toBeLessThan(5 * Math.sqrt((N / 24) * (23 / 24)));
    // Brightness and contrast commute but for the clamps: on 2-pixel grayscale images (0.3, 0.9)
    // with wide ranges the two orders often differ, and the kernel follows the drawn one.
    const jb = full({ brightness: 0.9, contrast: 0.9 });
    const pair = new Float32Array(2 * N);
    for (let i = 0; i < N; i++) pair.set([0.3, 0.9], 2 * i);
    const two = jitter(pair, [N, 1, 1, 2], jb, 5, 6);
    let brightFirst = 0, telling = 0;
    for (let i = 0; i < N; i++) {
      const d = draw(i, jb, 1, 5, 6);
      const one = (steps: number[]) => refBatch(Float32Array.of(0.3, 0.9), [1, 1, 1, 2], () => ({ ...d, steps }));
      const want = one(d.steps), other = one([...d.steps].reverse());
      expectClose(two.subarray(2 * i, 2 * i + 2), want, { rtol: 0, atol: 1e-6, label: `image ${i}` });
      if (Math.abs(want[0]! - other[0]!) + Math.abs(want[1]! - other[1]!) > 1e-3) telling++;
      if (d.steps[0] === 0) brightFirst++;
    }
    expect(telling).toBeGreaterThan(N / 10);
    expect(Math.abs(brightFirst - N / 2)).toBeLessThan(5 * Math.sqrt(N / 4));
  });

  it('strength 0 skips an adjustment (no clamp); p = 0 is a copy; hue ranges stay within [−hue, hue]', () => {
    const shape = [4, 3, 3, 3];
    const x = randu(108, 3, -0.5, 1.5); // outside [0, 1]: a clamp would show
    expectSame(jitter(x, shape, {}, 1, 2), x, 'all strengths 0');
    expectSame(jitter(x, shape, { brightness: 0.5, contrast: 0.5, saturation: 0.5, hue: 0.5, p: 0 }, 1, 2), x, 'p = 0');
    for (let i = 0; i < 1000; i++) {
      const d = draw(i, full({ hue: 0.25 }), 3, 8, 9);
      expect(Math.abs(d.factors[3])).toBeLessThanOrEqual(0.25);
      expect(d.steps).toEqual([3]);
    }
  });

  it('one-channel images draw the same words: brightness and contrast factors as for RGB', () => {
    const j = full({ brightness: 0.6, contrast: 0.6, saturation: 0.6, hue: 0.4 });
    for (let i = 0; i < 50; i++) {
      const rgb = draw(i, j, 3, 21, 22), g = draw(i, j, 1, 21, 22);
      expect(g.factors).toEqual(rgb.factors);
      expect(g.steps).toEqual(rgb.steps.filter((s) => s < 2));
    }
    const x = randu(5 * 36, 4);
    const got = jitter(x, [5, 1, 6, 6], j, 21, 22);
    expectClose(got, refBatch(x, [5, 1, 6, 6], (i) => draw(i, j, 1, 21, 22)), CHAIN);
  });

  it('is deterministic, thread-count independent, and advances with the offset', () => {
    const shape = [32, 3, 16, 16];
    const x = randu(32 * 3 * 256, 4);
    const j = { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1, p: 0.8 };
    const threads = info().threads;
    const a = jitter(x, shape, j, 1, 2);
    setNumThreads(1);
    const b = jitter(x, shape, j, 1, 2);
    setNumThreads(threads);
    expectSame(b, a, 'one thread');
    expectSame(jitter(x, shape, j, 1, 2), a, 'repeat');
    expect(jitter(x, shape, j, 1, 3)).not.toEqual(a);
    expect(jitter(x, shape, j, 2, 2)).not.toEqual(a);
  });

  it('in place gives the out-of-place result (contrast first, in the middle, last)', () => {
    // Contrast at each position of the order: the first pass writes the steps before it into out.
    const shape = [24, 3, 7, 6];
    const x = randu(24 * 3 * 42, 8);
    const j = { brightness: 0.5, contrast: 0.5, saturation: 0.5, hue: 0.2 };
    const positions = new Set(Array.from({ length: 24 }, (_, i) => draw(i, full(j), 3, 4, 4).steps.indexOf(1)));
    expect([...positions].sort()).toEqual([0, 1, 2, 3]);
    const want = jitter(x, shape, j, 4, 4);
    using t = Tensor.from(x, shape);
    ops.colorJitter(t, t, { ...j, seed: 4, offset: 4 });
    expectSame(t.toArray(), want, 'colorJitter in place');
    using g = Tensor.from(x, shape);
    ops.randomGrayscale(g, g, { p: 0.5, seed: 4 });
    using gx = Tensor.from(x, shape);
    using go = Tensor.zeros(shape);
    ops.randomGrayscale(gx, go, { p: 0.5, seed: 4 });
    expectSame(g.toArray(), go.toArray(), 'randomGrayscale in place');
    using a = Tensor.from(x, shape);
    const params = paramsOf(Array.from({ length: 24 }, (_, i) => draw(i, full(j), 3, 4, 4)));
    ops.colorAdjust(a, a, Tensor.from(params, [24, 8]));
    expectSame(a.toArray(), want, 'colorAdjust in place');
  });
});

describe('randomGrayscale', () => {
  it('turns each image gray with probability p (word 0 of block i), thread-count independent', () => {
    const N = 3000, p = 0.25;
    const x = new Float32Array(N * 3);
    for (let i = 0; i < N; i++) x.set([0.9, 0.2, 0.4], i * 3);
    using xt = Tensor.from(x, [N, 3, 1, 1]);
    using out = Tensor.zeros([N, 3, 1, 1]);
    ops.randomGrayscale(xt, out, { p, seed: 12, offset: 34 });
    const o = out.toArray();
    const g = gray(f(0.9), f(0.2), f(0.4));
    let grays = 0;
    for (let i = 0; i < N; i++) {
      const want = (philoxBlock(12, i, 34)[0] >>> 8) / 2 ** 24 < f(p);
      expect([...o.subarray(i * 3, i * 3 + 3)]).toEqual(want ? [g, g, g] : [f(0.9), f(0.2), f(0.4)]);
      grays += want ? 1 : 0;
    }
    expect(Math.abs(grays - p * N)).toBeLessThan(5 * Math.sqrt(N * p * (1 - p)));
    const threads = info().threads;
    setNumThreads(1);
    using one = Tensor.zeros([N, 3, 1, 1]);
    ops.randomGrayscale(xt, one, { p, seed: 12, offset: 34 });
    setNumThreads(threads);
    expectSame(one.toArray(), o, 'one thread');
  });
});

describe('colour views', () => {
  const shape = [6, 3, 8, 8];
  const F = 3 * 64;
  const x = randu(6 * F, 21);

  it('views.colorJitter / randomGrayscale reshape [N, F] rows by sampleShape, out of place and in place', () => {
    const s = { seed: 11, offset: 5 };
    const j = { brightness: 0.4, contrast: 0.3, saturation: 0.2, hue: 0.1, p: 0.8 };
    const cases = [
      [views.colorJitter(j), () => jitter(x, shape, j, s.seed, s.offset)],
      [views.randomGrayscale(0.5), () => {
        using xt = Tensor.from(x, shape);
        using o = Tensor.zeros(shape);
        ops.randomGrayscale(xt, o, { p: 0.5, ...s });
        return o.toArray();
      }],
    ] as const;
    for (const [v, ref] of cases) {
      const want = ref();
      expect(v.spatial).toBe(true);
      const xt = Tensor.from(x, [6, F]), out = Tensor.zeros([6, F]);
      v(xt, out, s, [3, 8, 8]);
      expectSame(out.toArray(), want, `${v.describe}`);
      const inPlace = Tensor.from(x, [6, F]);
      v(inPlace, inPlace, s, [3, 8, 8]);
      expectSame(inPlace.toArray(), want, `${v.describe} in place`);
      const out4 = Tensor.zeros(shape);
      v(Tensor.from(x, shape), out4, s);
      expectSame(out4.toArray(), want, `${v.describe} 4-D`);
    }
  });

  it('describe strings are name(number, ...) with the defaults filled in', () => {
    expect(views.colorJitter({ brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1, p: 0.8 }).describe).toBe('colorJitter(0.4, 0.4, 0.4, 0.1, 0.8)');
    expect(views.colorJitter().describe).toBe('colorJitter(0, 0, 0, 0, 1)');
    expect(views.colorJitter({ hue: 0.5 }).describe).toBe('colorJitter(0, 0, 0, 0.5, 1)');
    expect(views.randomGrayscale().describe).toBe('randomGrayscale(0.1)');
    expect(views.randomGrayscale(0.25).describe).toBe('randomGrayscale(0.25)');
    expect(views.compose(views.colorJitter({ brightness: 0.4 }), views.randomGrayscale(0.2)).describe).toBe('colorJitter(0.4, 0, 0, 0, 1) ∘ randomGrayscale(0.2)');
  });

  it('rejects bad options with a ValueError naming the argument; needs image samples', () => {
    expect(() => views.colorJitter({ brightness: -0.1 })).toThrow(/brightness: expected a non-negative number/);
    expect(() => views.colorJitter({ contrast: NaN })).toThrow(ValueError);
    expect(() => views.colorJitter({ saturation: Infinity })).toThrow(/saturation: /);
    expect(() => views.colorJitter({ saturation: 1e39 })).toThrow(/saturation: expected a non-negative number within the float32 range/);
    expect(() => views.colorJitter({ hue: 0.7 })).toThrow(/hue: expected a number in \[0, 0.5\], got 0.7/);
    expect(() => views.colorJitter({ hue: -0.1 })).toThrow(ValueError);
    expect(() => views.colorJitter({ p: 1.5 })).toThrow(/p: expected a probability in \[0, 1\], got 1.5/);
    expect(() => views.colorJitter({ brightness: '0.4' as never })).toThrow(ValueError);
    expect(() => views.colorJitter({ brightnes: 0.4 } as never)).toThrow(ArgumentError);
    expect(() => views.colorJitter({ brightnes: 0.4 } as never)).toThrow(/did you mean 'brightness'/);
    expect(() => views.colorJitter(null as never)).toThrow(ArgumentError);
    expect(() => views.randomGrayscale(-1)).toThrow(/p: expected a probability/);
    expect(() => views.randomGrayscale(NaN)).toThrow(ValueError);
    const xt = Tensor.from(x, [6, F]), out = Tensor.zeros([6, F]);
    const s = { seed: 1, offset: 0 };
    expect(() => views.colorJitter({ brightness: 0.1 })(xt, out, s)).toThrow(/x: colorJitter needs image samples \[C, H, W\], got rows of 192 features with no sample shape/);
    expect(() => views.randomGrayscale()(xt, out, s, [F])).toThrow(/x: randomGrayscale needs image samples/);
    expect(() => views.colorJitter()(xt, out, s, [3, 8, 9])).toThrow(/sample shape \[3, 8, 9\] does not match rows of 192 features/);
    // Two channels: the kernel's ShapeError names x.
    expect(() => views.colorJitter()(Tensor.zeros([6, 128]), Tensor.zeros([6, 128]), s, [2, 8, 8])).toThrow(/x: color jitter needs 1 \(grayscale\) or 3 \(RGB\) channels/);
    expect(() => views.randomGrayscale()(xt, Tensor.zeros([6, F + 1]), s, [3, 8, 8])).toThrow(ShapeError);
  });

  it('the training loop runs colour views on images', async () => {
    const data = subset(fashionMnist('train'), 0, 64); // [1, 28, 28]: brightness and contrast apply
    const m = new NPair({
      encoder: { kind: 'mlp', hidden: [16] }, projection: [16, 8], seed: 3,
      views: views.compose(views.colorJitter({ brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1, p: 0.8 }), views.randomGrayscale(0.2)),
    });
    const r = await m.fit(data, { epochs: 1, batchSize: 16 });
    expect(r.steps).toBe(4);
    expect(r.losses.every(Number.isFinite)).toBe(true);
    m.dispose();
  });
});

describe('hostile arguments', () => {
  const shape = [2, 3, 4, 4];
  const s = { seed: 1, offset: 0 };

  it('colorJitter and randomGrayscale: strengths, p, shapes, dtypes, aliasing', () => {
    const x = Tensor.zeros(shape), out = Tensor.zeros(shape);
    expect(() => ops.colorJitter(x, out, { ...s, brightness: NaN })).toThrow(/brightness: expected a finite number/);
    expect(() => ops.colorJitter(x, out, { ...s, contrast: -0.5 })).toThrow(/contrast: expected a non-negative strength, got -0.5/);
    expect(() => ops.colorJitter(x, out, { ...s, hue: 0.7 })).toThrow(/hue: 0.7 is outside \[0, 0.5\]/);
    expect(() => ops.colorJitter(x, out, { ...s, p: 1.5 })).toThrow(/p: 1.5 is outside \[0, 1\]/);
    expect(() => ops.colorJitter(x, out, { ...s, saturation: 'a' as never })).toThrow(ArgumentError);
    expect(() => ops.colorJitter(x, out, { seed: -1 })).toThrow(/seed: -1 is outside/);
    expect(() => ops.colorJitter(x, out, { seed: 1, offset: 0.5 })).toThrow(/offset: expected an integer/);
    expect(() => ops.colorJitter(x, out, null as never)).toThrow(/opts: expected an object/);
    expect(() => ops.colorJitter(Tensor.zeros([2, 2, 4, 4]), Tensor.zeros([2, 2, 4, 4]), s)).toThrow(ShapeError);
    expect(() => ops.colorJitter(Tensor.zeros([2, 2, 4, 4]), Tensor.zeros([2, 2, 4, 4]), s)).toThrow(/x: color jitter needs 1 \(grayscale\) or 3 \(RGB\) channels, got shape \[2, 2, 4, 4\]/);
    expect(() => ops.randomGrayscale(Tensor.zeros([2, 4, 4, 4]), Tensor.zeros([2, 4, 4, 4]), s)).toThrow(/x: random grayscale needs 1 \(grayscale\) or 3/);
    expect(() => ops.colorJitter(Tensor.zeros([2, 48]), Tensor.zeros([2, 48]), s)).toThrow(/x: color jitter needs \[N, C, H, W\] images, got shape \[2, 48\]/);
    expect(() => ops.colorJitter(x, Tensor.zeros([2, 3, 4, 5]), s)).toThrow(/out: expected shape \[2, 3, 4, 4\], got \[2, 3, 4, 5\]/);
    expect(() => ops.colorJitter(Tensor.zeros(shape, { dtype: 'int32' }) as never, out, s)).toThrow(DTypeError);
    expect(() => ops.randomGrayscale(x, Tensor.zeros(shape, { dtype: 'int32' }) as never, s)).toThrow(/out: expected float32/);
    expect(() => ops.colorJitter(Tensor.zeros([192]).view(0, shape, [96, 16, 4, 1]), out, s)).toThrow(/x: expected a contiguous/);
    const d = Tensor.zeros(shape);
    d.dispose();
    expect(() => ops.colorJitter(d, out, s)).toThrow(DisposedError);
    expect(() => ops.randomGrayscale(x, d, s)).toThrow(/out: tensor has been disposed/);
    // Partial overlap is rejected; the same memory (in place) is fine.
    const buf = Tensor.zeros([2 * 96]);
    expect(() => ops.colorJitter(buf.view(0, shape), buf.view(48, shape), { ...s, brightness: 0.5 })).toThrow(/x and out overlap in memory/);
    expect(() => ops.randomGrayscale(buf.view(48, shape), buf.view(0, shape), s)).toThrow(ValueError);
    ops.colorJitter(buf.view(0, shape), buf.view(0, shape), { ...s, brightness: 0.5 });
    // Empty batches and empty images do nothing.
    ops.colorJitter(Tensor.zeros([0, 3, 4, 4]), Tensor.zeros([0, 3, 4, 4]), { ...s, contrast: 0.5 });
    ops.colorJitter(Tensor.zeros([2, 3, 0, 4]), Tensor.zeros([2, 3, 0, 4]), { ...s, contrast: 0.5 });
    ops.randomGrayscale(Tensor.zeros([2, 1, 4, 0]), Tensor.zeros([2, 1, 4, 0]), s);
    // The addon checks again behind the wrappers.
    expect(() => raw.colorJitter(x.handle, out.handle, NaN, 0, 0, 0, 1, 1, 0)).toThrow(/brightness: expected a finite number/);
    expect(() => raw.colorJitter(x.handle, out.handle, -1, 0, 0, 0, 1, 1, 0)).toThrow(/brightness: expected a non-negative strength, got -1/);
    expect(() => raw.colorJitter(x.handle, out.handle, 0, 1e39, 0, 0, 1, 1, 0)).toThrow(/contrast: 1e\+39 does not fit a float32/);
    expect(() => raw.colorJitter(x.handle, out.handle, 0, 0, Infinity, 0, 1, 1, 0)).toThrow(/saturation: expected a finite number/);
    expect(() => raw.colorJitter(x.handle, out.handle, 0, 0, 0, 0.7, 1, 1, 0)).toThrow(/hue: .* is outside/);
    expect(() => raw.colorJitter(x.handle, out.handle, 0, 0, 0, 0, 2, 1, 0)).toThrow(/p: .* is outside/);
    expect(() => raw.colorJitter(x.handle, out.handle, 0, 0, 0, 0, 1, -3, 0)).toThrow(/seed: expected a non-negative integer/);
    expect(() => raw.colorJitter(x.handle, out.handle, 0, 0, 0, 0, 1, 1, undefined)).toThrow(/offset: expected a number/);
    expect(() => raw.colorJitter(x.handle, {} as NT, 0, 0, 0, 0, 1, 1, 0)).toThrow(/out: expected a Tensor/);
    expect(() => raw.colorJitter(Tensor.zeros([2, 2, 4, 4]).handle, out.handle, 0, 0, 0, 0, 1, 1, 0)).toThrow(ShapeError);
    expect(() => raw.randomGrayscale(x.handle, out.handle, NaN, 1, 0)).toThrow(/p: expected a finite number/);
    expect(() => raw.randomGrayscale(buf.view(0, shape).handle, buf.view(8, shape).handle, 0.5, 1, 0)).toThrow(/overlap/);
  });

  it('colorAdjust: params shape, values, device and aliasing', () => {
    const x = Tensor.zeros(shape), out = Tensor.zeros(shape);
    const P = (rows: number[][]) => Tensor.from(Float32Array.from(rows.flat()), [rows.length, 8]);
    const ok = [1, 1, 1, 0, 0, 1, 2, 3];
    ops.colorAdjust(x, out, P([ok, [1, 1, 1, 0, -1, -1, -1, -1]]));
    expect(() => ops.colorAdjust(x, out, P([ok]))).toThrow(/params: expected shape \[2, 8\], got \[1, 8\]/);
    expect(() => ops.colorAdjust(x, out, Tensor.zeros([2, 8], { dtype: 'int32' }) as never)).toThrow(/params: expected float32/);
    expect(() => ops.colorAdjust(x, out, P([ok, [NaN, 1, 1, 0, 0, -1, -1, -1]]))).toThrow(/params: row 1: brightness factor nan is not finite/);
    expect(() => ops.colorAdjust(x, out, P([ok, [1, -1, 1, 0, 0, -1, -1, -1]]))).toThrow(/params: row 1: contrast factor -1 is negative/);
    expect(() => ops.colorAdjust(x, out, P([[1, 1, 1, 0.6, 3, -1, -1, -1], ok]))).toThrow(/params: row 0: hue shift 0.600000024 is outside \[-0.5, 0.5\]/);
    expect(() => ops.colorAdjust(x, out, P([ok, [1, 1, 1, 0, 0, 5, -1, -1]]))).toThrow(/params: row 1: step 1 is 5; expected -1 \(none\), 0 \(brightness\)/);
    expect(() => ops.colorAdjust(x, out, P([ok, [1, 1, 1, 0, 0.5, -1, -1, -1]]))).toThrow(/step 0 is 0.5/);
    expect(() => ops.colorAdjust(x, out, P([ok, [1, 1, 1, 0, 2, 1, 2, -1]]))).toThrow(/params: row 1: saturation appears twice among the steps/);
    // params must not overlap out (it is read while out is written); x may be shared with nothing else.
    const buf = Tensor.zeros([96 + 16]);
    expect(() => ops.colorAdjust(x, buf.view(0, shape), buf.view(80, [2, 8]))).toThrow(/params and out overlap/);
    expect(() => raw.colorAdjust(x.handle, out.handle, null)).toThrow(/params: expected a Tensor/);
  });
});
