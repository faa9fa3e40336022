import { describe, expect, it } from 'vitest';
import { ArgumentError, DisposedError, DTypeError, NPair, ShapeError, Tensor, ValueError, ops, setNumThreads, info, views } from '../../lib/index';
import { fashionMnist, subset } from '../../lib/data/dataset';
import { native } from '../../lib/native';
import type { NativeTensor } from '../../lib/native';
import { philoxBlock } from '../../lib/random';
import { expectSame, fixture, randn, randu, unit } from '../helpers';

type NT = NativeTensor;
// The addon's raw entry point, to check the C++ validation behind the TS checks.
const raw = native as unknown as {
  randomCropFlip(x: NT, out: NT, pad: unknown, flipP: unknown, seed: unknown, offset: unknown): void;
  randomResizedCrop(x: NT, out: NT, sLo: unknown, sHi: unknown, rLo: unknown, rHi: unknown, flipP: unknown, seed: unknown, offset: unknown): void;
  resizedCrop(x: NT, out: NT, top: unknown, left: unknown, height: unknown, width: unknown, flip: unknown): void;
};

// ---- plain references ----

/**
 * Image i's draw, reproduced from the documented layout with the TS Philox:
 * words (w0, w1, w2) of block i of stream (seed, offset);
 * dy = ⌊u(w0)·(2·pad+1)⌋, dx = ⌊u(w1)·(2·pad+1)⌋, flip = u(w2) < p, u(w) = (w >>> 8)/2^24.
 */
function params(i: number, pad: number, p: number, seed: number, offset: number): { dy: number; dx: number; flip: boolean } {
  const [w0, w1, w2] = philoxBlock(seed, i, offset);
  const span = 2 * pad + 1;
  return { dy: Math.floor(unit(w0!) * span), dx: Math.floor(unit(w1!) * span), flip: unit(w2!) < Math.fround(p) };
}

/** Pad with zeros, crop at (dy, dx), then flip, element by element. */
function refCropFlip(x: Float32Array, [N, C, H, W]: number[], pad: number, p: number, seed: number, offset: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < N!; i++) {
    const { dy, dx, flip } = params(i, pad, p, seed, offset);
    for (let c = 0; c < C!; c++)
      for (let y = 0; y < H!; y++)
        for (let xx = 0; xx < W!; xx++) {
          const cx = flip ? W! - 1 - xx : xx; // flip the cropped image
          const sy = y + dy - pad, sx = cx + dx - pad;
          const inside = sy >= 0 && sy < H! && sx >= 0 && sx < W!;
          out[((i * C! + c) * H! + y) * W! + xx] = inside ? x[((i * C! + c) * H! + sy) * W! + sx]! : 0;
        }
  }
  return out;
}

function run(x: Float32Array, shape: number[], pad: number, p: number, seed: number, offset: number): Float32Array {
  using xt = Tensor.from(x, shape);
  using out = Tensor.full(shape, NaN); // every element must be written
  ops.randomCropFlip(xt, out, { pad, flipP: p, seed, offset });
  return out.toArray();
}

describe('randomCropFlip', () => {
  const cases: Array<[number[], number, number]> = [
    [[1, 1, 1, 1], 0, 0.5],
    [[1, 1, 1, 1], 3, 1],
    [[2, 1, 4, 4], 1, 0.5],
    [[3, 2, 5, 7], 2, 0.5], // odd sizes
    [[5, 3, 7, 5], 9, 0.5], // pad larger than the image: some crops are all zeros
    [[4, 3, 28, 28], 4, 0], // crop only
    [[6, 1, 9, 13], 0, 1], // flip only, every image
    [[64, 3, 32, 32], 4, 0.5], // parallel path
  ];
  for (const [shape, pad, p] of cases) {
    it(`matches the reference on [${shape.join(', ')}], pad ${pad}, p ${p}`, () => {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = randn(n, n + pad);
      for (const [seed, offset] of [[7, 0], [123456789, 2 ** 40 + 5]] as const)
        expectSame(run(x, shape, pad, p, seed, offset), refCropFlip(x, shape, pad, p, seed, offset));
    });
  }

  it('draws each offset in [0, 2·pad] uniformly and flips with probability p', () => {
    const pad = 3, p = 0.3, N = 4000;
    const x = new Float32Array(N).fill(1);
    // A 1×1 image padded by 3 survives the crop only at dy = dx = pad.
    const out = run(x, [N, 1, 1, 1], pad, p, 99, 17);
    let kept = 0;
    const dyCount = new Array(2 * pad + 1).fill(0), dxCount = new Array(2 * pad + 1).fill(0);
    let flips = 0;
    for (let i = 0; i < N; i++) {
      const q = params(i, pad, p, 99, 17);
      dyCount[q.dy]++;
      dxCount[q.dx]++;
      flips += q.flip ? 1 : 0;
      expect(out[i]).toBe(q.dy === pad && q.dx === pad ? 1 : 0);
      kept += out[i]!;
    }
    // Each of the 7 offsets ≈ N/7 (±5σ); the survivors ≈ N/49; flips ≈ p·N.
    for (const c of [...dyCount, ...dxCount]) expect(Math.abs(c - N / 7)).toBeLessThan(5 * Math.sqrt((N * 6) / 49));
    expect(Math.abs(kept - N / 49)).toBeLessThan(5 * Math.sqrt(N / 49));
    expect(Math.abs(flips - p * N)).toBeLessThan(5 * Math.sqrt(N * p * (1 - p)));
  });

  it('flip only is a plain mirror; p = 0 and pad = 0 is a copy', () => {
    const shape = [3, 2, 4, 5];
    const x = randn(120, 1);
    const f = run(x, shape, 0, 1, 5, 5);
    for (let r = 0; r < 3 * 2 * 4; r++) for (let c = 0; c < 5; c++) expect(f[r * 5 + c]).toBe(x[r * 5 + 4 - c]);
    expect(run(x, shape, 0, 0, 5, 5)).toEqual(x);
  });

  it('is deterministic, thread-count independent, and advances with the offset', () => {
    const shape = [32, 3, 16, 16];
    const x = randn(32 * 3 * 256, 4);
    const threads = info().threads;
    const a = run(x, shape, 4, 0.5, 1, 2);
    setNumThreads(1);
    const b = run(x, shape, 4, 0.5, 1, 2);
    setNumThreads(threads);
    expectSame(b, a);
    expectSame(run(x, shape, 4, 0.5, 1, 2), a);
    expect(run(x, shape, 4, 0.5, 1, 3)).not.toEqual(a);
    expect(run(x, shape, 4, 0.5, 2, 2)).not.toEqual(a);
  });

  it('randomCrop and horizontalFlip are the fused kernel with one part off', () => {
    const shape = [5, 2, 6, 6];
    const x = randn(360, 8);
    const xt = Tensor.from(x, shape), out = Tensor.zeros(shape);
    ops.randomCrop(xt, out, 2, { seed: 3, offset: 4 });
    expect(out.toArray()).toEqual(refCropFlip(x, shape, 2, 0, 3, 4));
    ops.horizontalFlip(xt, out, 0.5, { seed: 3, offset: 4 });
    expect(out.toArray()).toEqual(refCropFlip(x, shape, 0, 0.5, 3, 4));
  });

  it('rejects bad input', () => {
    const x = Tensor.zeros([2, 1, 4, 4]), out = Tensor.zeros([2, 1, 4, 4]);
    const s = { seed: 1, offset: 0 };
    const d = Tensor.zeros([2, 1, 4, 4]);
    d.dispose();
    expect(() => ops.randomCropFlip(Tensor.zeros([2, 16]), Tensor.zeros([2, 16]), { ...s, pad: 1 })).toThrow(ShapeError);
    expect(() => ops.randomCropFlip(Tensor.zeros([2, 16]), Tensor.zeros([2, 16]), { ...s, pad: 1 })).toThrow(/x: random crop and flip needs spatial \[N, C, H, W\] data, got shape \[2, 16\]/);
    expect(() => ops.randomCrop(Tensor.zeros([16]), Tensor.zeros([16]), 1, s)).toThrow(/x: random crop needs spatial/);
    expect(() => ops.horizontalFlip(Tensor.zeros([1, 4, 4]), Tensor.zeros([1, 4, 4]), 0.5, s)).toThrow(/x: horizontal flip needs spatial/);
    expect(() => ops.randomCropFlip(x, Tensor.zeros([2, 1, 4, 5]), { ...s, pad: 1 })).toThrow(/out: expected shape \[2, 1, 4, 4\], got \[2, 1, 4, 5\]/);
    expect(() => ops.randomCropFlip(x, Tensor.zeros([2, 16]), { ...s, pad: 1 })).toThrow(ShapeError);
    expect(() => ops.randomCropFlip(Tensor.zeros([2, 1, 4, 4], { dtype: 'int32' }) as never, out, { ...s, pad: 1 })).toThrow(DTypeError);
    expect(() => ops.randomCropFlip(x, Tensor.zeros([2, 1, 4, 4], { dtype: 'int32' }) as never, { ...s, pad: 1 })).toThrow(/out: expected float32/);
    expect(() => ops.randomCropFlip(d, out, { ...s, pad: 1 })).toThrow(DisposedError);
    expect(() => ops.randomCropFlip(x, d, { ...s, pad: 1 })).toThrow(/out: tensor has been disposed/);
    expect(() => ops.randomCropFlip(x, x, { ...s, pad: 1 })).toThrow(/x and out overlap in memory/);
    const buf = Tensor.zeros([40]);
    expect(() => ops.randomCropFlip(buf.view(0, [2, 1, 4, 4]), buf.view(8, [2, 1, 4, 4]), { ...s, pad: 1 })).toThrow(ValueError);
    expect(() => ops.randomCropFlip(Tensor.zeros([64]).view(0, [2, 1, 4, 4], [32, 16, 4, 1]), out, { ...s, pad: 1 })).toThrow(/x: expected a contiguous/);
    expect(() => ops.randomCropFlip(x, out, { ...s, pad: -1 })).toThrow(/pad: -1 is outside/);
    expect(() => ops.randomCropFlip(x, out, { ...s, pad: 1.5 })).toThrow(/pad: expected an integer/);
    expect(() => ops.randomCropFlip(x, out, { ...s, pad: NaN })).toThrow(ValueError);
    expect(() => ops.randomCropFlip(x, out, { ...s, pad: '2' as never })).toThrow(ArgumentError);
    expect(() => ops.randomCropFlip(x, out, { ...s, flipP: 1.5 })).toThrow(/flipP: 1.5 is outside \[0, 1\]/);
    expect(() => ops.randomCropFlip(x, out, { ...s, flipP: NaN })).toThrow(/flipP: expected a finite number/);
    expect(() => ops.horizontalFlip(x, out, -0.1, s)).toThrow(/p: -0.1 is outside/);
    expect(() => ops.randomCrop(x, out, -2, s)).toThrow(/pad: -2 is outside/);
    expect(() => ops.randomCropFlip(x, out, { seed: -1 })).toThrow(/seed: -1 is outside/);
    expect(() => ops.randomCropFlip(x, out, { seed: 1, offset: 0.5 })).toThrow(/offset: expected an integer/);
    expect(() => ops.randomCropFlip(x, out, null as never)).toThrow(/opts: expected an object/);
    // The addon checks again behind the wrappers.
    expect(() => raw.randomCropFlip(x.handle, out.handle, -1, 0, 1, 0)).toThrow(/pad: expected an integer in \[0, 2\^31\)/);
    expect(() => raw.randomCropFlip(x.handle, out.handle, 2 ** 31, 0, 1, 0)).toThrow(ValueError);
    expect(() => raw.randomCropFlip(x.handle, out.handle, 0.5, 0, 1, 0)).toThrow(/pad: expected an integer/);
    expect(() => raw.randomCropFlip(x.handle, out.handle, 1, 2, 1, 0)).toThrow(/flipP: .* is outside/);
    expect(() => raw.randomCropFlip(x.handle, out.handle, 1, NaN, 1, 0)).toThrow(/flipP: expected a finite number/);
    expect(() => raw.randomCropFlip(x.handle, out.handle, 1, 0.5, -3, 0)).toThrow(/seed: expected a non-negative integer/);
    expect(() => raw.randomCropFlip(x.handle, out.handle, 1, 0.5, 1, undefined)).toThrow(/offset: expected a number/);
    expect(() => raw.randomCropFlip(Tensor.zeros([2, 16]).handle, out.handle, 1, 0.5, 1, 0)).toThrow(ShapeError);
    expect(() => raw.randomCropFlip(x.handle, {} as NT, 1, 0.5, 1, 0)).toThrow(/out: expected a Tensor/);
    expect(() => raw.randomCropFlip(x.handle, x.handle, 1, 0.5, 1, 0)).toThrow(/x and out overlap/);
  });
});

describe('image views', () => {
  const shape = [6, 3, 8, 8];
  const F = 3 * 64;
  const x = randn(6 * F, 21);

  it('randomCrop / horizontalFlip / randomCropFlip views reshape [N, F] rows by sampleShape, out of place and in place', () => {
    const s = { seed: 11, offset: 5 };
    for (const [v, pad, p] of [
      [views.randomCrop(2), 2, 0],
      [views.horizontalFlip(), 0, 0.5],
      [views.horizontalFlip(1), 0, 1],
      [views.randomCropFlip(3, 0.25), 3, 0.25],
    ] as const) {
      const want = refCropFlip(x, shape, pad, p, s.seed, s.offset);
      const xt = Tensor.from(x, [6, F]), out = Tensor.zeros([6, F]);
      v(xt, out, s, [3, 8, 8]);
      expect(out.toArray(), v.describe).toEqual(want);
      // In place (the training loop applies the query view to its own buffer), twice: the scratch is reused.
      for (let k = 0; k < 2; k++) {
        const inPlace = Tensor.from(x, [6, F]);
        v(inPlace, inPlace, s, [3, 8, 8]);
        expect(inPlace.toArray(), `${v.describe} in place`).toEqual(want);
      }
      // A 4-D batch needs no sample shape.
      const out4 = Tensor.zeros(shape);
      v(Tensor.from(x, shape), out4, s);
      expect(out4.toArray()).toEqual(want);
    }
    expect(views.randomCrop(4).describe).toBe('randomCrop(4)');
    expect(views.horizontalFlip().describe).toBe('horizontalFlip(0.5)');
  });

  it('compose passes the sample shape through; the k-th view reads offset·16 + k', () => {
    const v = views.compose(views.randomCrop(2), views.horizontalFlip(0.5), views.inputDrop(0));
    const xt = Tensor.from(x, [6, F]), out = Tensor.zeros([6, F]);
    v(xt, out, { seed: 4, offset: 9 }, [3, 8, 8]);
    const step1 = refCropFlip(x, shape, 2, 0, 4, 9 * 16);
    const step2 = refCropFlip(step1, shape, 0, 0.5, 4, 9 * 16 + 1);
    expect(out.toArray()).toEqual(step2);
  });

  it('a view that needs images throws ShapeError on non-spatial data', () => {
    const xt = Tensor.from(x, [6, F]), out = Tensor.zeros([6, F]);
    const s = { seed: 1, offset: 0 };
    expect(() => views.randomCrop(2)(xt, out, s)).toThrow(ShapeError);
    expect(() => views.randomCrop(2)(xt, out, s)).toThrow(/x: randomCrop needs image samples \[C, H, W\], got rows of 192 features with no sample shape/);
    expect(() => views.horizontalFlip()(xt, out, s, [F])).toThrow(/x: horizontalFlip needs image samples \[C, H, W\], got samples of shape \[192\]/);
    expect(() => views.randomCropFlip(1)(xt, out, s, [3, 8, 9])).toThrow(/sample shape \[3, 8, 9\] does not match rows of 192 features/);
    expect(() => views.compose(views.inputDrop(0.1), views.randomCrop(1))(xt, out, s, [F])).toThrow(ShapeError);
    expect(() => views.randomCrop(-1)).toThrow(ValueError);
    expect(() => views.randomCrop(1.5)).toThrow(/pad: expected a non-negative integer/);
    expect(() => views.horizontalFlip(2)).toThrow(/p: expected a probability/);
    expect(() => views.randomCropFlip(2, NaN)).toThrow(ValueError);
  });

  it('the training loop hands the views the dataset sample shape', async () => {
    const data = subset(fashionMnist('train'), 0, 64);
    const m = new NPair({ encoder: { kind: 'mlp', hidden: [16] }, projection: [16, 8], seed: 3, views: views.compose(views.randomCropFlip(2), views.inputDrop(0.1)) });
    const r = await m.fit(data, { epochs: 1, batchSize: 16 });
    expect(r.steps).toBe(4);
    expect(r.losses.every(Number.isFinite)).toBe(true);
    m.dispose();
    // On tabular data the image view refuses with a ShapeError.
    const flat = { ...data, sampleShape: [784] };
    const t = new NPair({ encoder: { kind: 'mlp', hidden: [16] }, projection: [16, 8], seed: 3, views: views.randomCrop(2) });
    await expect(t.fit(flat, { epochs: 1, batchSize: 16 })).rejects.toThrow(/views: randomCrop\(2\) needs image samples \[C, H, W\], got \[784\]/);
    t.dispose();
  });
});

// ---- random resized crop: plain references ----
//
// The box draw and the resampling of native/common/resized_crop.h, operation
// by operation in doubles (JavaScript rounds every operation on its own, as
// the C++ does with mul_rn), with the float steps rounded by Math.fround and
// fmaf emulated exactly: the kernel must match these bit for bit.

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/** fmaf(a, b, c) for float32 a, b, c: a·b is exact in a double; the sum is rounded to odd, then to float (exact). */
function fmaf(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const bp = s - c;
  const e = p - bp + (c - (s - bp)); // TwoSum: p + c = s + e exactly
  if (e === 0 || !Number.isFinite(s)) return Math.fround(s);
  f64[0] = s;
  if ((u64[0]! & 1n) === 0n) u64[0] = e > 0 === s > 0 ? u64[0]! + 1n : u64[0]! - 1n; // round to odd
  return Math.fround(f64[0]!);
}

/** C's rint in the default mode: round half to even (Python's round). */
function rint(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** 2^k for −1022 ≤ k ≤ 1023, from its bits. */
function pow2(k: number): number {
  u64[0] = BigInt(k + 1023) << 52n;
  return f64[0]!;
}

/** C's frexp for a finite x > 0: [m ∈ [½, 1), e] with x = m·2^e. */
function frexp(x: number): [number, number] {
  let shift = 0;
  if (x < 2 ** -1022) {
    x *= 2 ** 64;
    shift = 64;
  }
  f64[0] = x;
  const eb = Number((u64[0]! >> 52n) & 0x7ffn);
  u64[0] = (u64[0]! & ~(0x7ffn << 52n)) | (1022n << 52n);
  return [f64[0]!, eb - 1022 - shift];
}

const LN2_HI = 6.9314718036912381649e-1, LN2_LO = 1.90821492927058770002e-10;
const LOG2E = 1.442695040888963387, SQRT2 = 1.41421356237309514547;

function detExp(t: number): number {
  if (Number.isNaN(t)) return t;
  if (t > 709) return Infinity;
  if (t < -708) return 0;
  const k = rint(t * LOG2E);
  const r = t - k * LN2_HI - k * LN2_LO;
  let p = 1 / 6227020800;
  for (const c of [1 / 479001600, 1 / 39916800, 1 / 3628800, 1 / 362880, 1 / 40320, 1 / 5040, 1 / 720, 1 / 120, 1 / 24, 1 / 6, 0.5, 1, 1])
    p = p * r + c;
  return p * pow2(k);
}

function detLog(x: number): number {
  let [m, e] = frexp(x);
  m = m + m;
  e -= 1;
  if (m > SQRT2) {
    m *= 0.5;
    e += 1;
  }
  const s = (m - 1) / (m + 1);
  const z = s * s;
  let p = 1 / 25;
  for (const c of [1 / 23, 1 / 21, 1 / 19, 1 / 17, 1 / 15, 1 / 13, 1 / 11, 1 / 9, 1 / 7, 1 / 5, 1 / 3]) p = p * z + c;
  const s2 = s + s;
  const lm = s2 + s2 * z * p;
  return e * LN2_HI + (e * LN2_LO + lm);
}

interface Box { top: number; left: number; h: number; w: number; flip: boolean; fallback: boolean }

/** Image i's box, as documented in lib/ops/augment.ts (blocks 16·i + a of the stream). */
function drawBox(i: number, H: number, W: number, [sLo, sHi]: number[], [rLo, rHi]: number[], p: number, seed: number, offset: number): Box {
  const lrLo = detLog(rLo!), lrHi = detLog(rHi!);
  const flip = unit(philoxBlock(seed, 16 * i + 10, offset)[0]!) < Math.fround(p);
  for (let a = 0; a < 10; a++) {
    const [w0, w1, w2, w3] = philoxBlock(seed, 16 * i + a, offset);
    const target = H * W * (sLo! + (sHi! - sLo!) * unit(w0!));
    const aspect = detExp(lrLo + (lrHi - lrLo) * unit(w1!));
    const w = rint(Math.sqrt(target * aspect)), h = rint(Math.sqrt(target / aspect));
    if (w > 0 && w <= W && h > 0 && h <= H)
      return { h, w, top: Math.floor(unit(w2!) * (H - h + 1)), left: Math.floor(unit(w3!) * (W - w + 1)), flip, fallback: false };
  }
  const inRatio = W / H;
  let w = W, h = H;
  if (inRatio < rLo!) h = rint(W / rLo!);
  else if (inRatio > rHi!) w = rint(H * rHi!);
  h = Math.min(Math.max(h, 1), H);
  w = Math.min(Math.max(w, 1), W);
  return { h, w, top: Math.floor((H - h) / 2), left: Math.floor((W - w) / 2), flip, fallback: true };
}

/** Output index o's taps in a crop of `len` resized to `size` (PyTorch's source index, align_corners=False). */
function tap(o: number, len: number, size: number): [number, number, number, number] {
  if (len === size) return [o, o, 1, 0];
  const scale = Math.fround(len / size);
  const src = Math.max(0, scale * (o + 0.5) - 0.5);
  const i0 = Math.trunc(src), i1 = i0 + (i0 < len - 1 ? 1 : 0);
  const l1 = Math.fround(src - i0);
  return [i0, i1, Math.fround(1 - l1), l1];
}

const lerp = (a: number, b: number, l0: number, l1: number) => fmaf(a, l0, Math.fround(b * l1));

/** Bilinear resize of each plane's box to H×W (mirrored when flip), one output at a time. */
function refResize(x: Float32Array, [N, C, H, W]: number[], boxOf: (i: number) => Omit<Box, 'fallback'>): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < N!; i++) {
    const b = boxOf(i);
    for (let c = 0; c < C!; c++) {
      const plane = (i * C! + c) * H! * W!;
      const px = (yy: number, xx: number) => x[plane + (b.top + yy) * W! + b.left + xx]!;
      for (let y = 0; y < H!; y++) {
        const [y0, y1, ly0, ly1] = tap(y, b.h, H!);
        for (let xo = 0; xo < W!; xo++) {
          const [x0, x1, lx0, lx1] = tap(b.flip ? W! - 1 - xo : xo, b.w, W!);
          const t0 = lerp(px(y0, x0), px(y0, x1), lx0, lx1);
          const t1 = lerp(px(y1, x0), px(y1, x1), lx0, lx1);
          out[plane + y * W! + xo] = lerp(t0, t1, ly0, ly1);
        }
      }
    }
  }
  return out;
}

interface RrcCase { shape: number[]; scale: number[]; ratio: number[]; p: number }
function refRandomResizedCrop(x: Float32Array, c: RrcCase, seed: number, offset: number): Float32Array {
  const [, , H, W] = c.shape;
  return refResize(x, c.shape, (i) => drawBox(i, H!, W!, c.scale, c.ratio, c.p, seed, offset));
}

function runRrc(x: Float32Array, c: RrcCase, seed: number, offset: number): Float32Array {
  using xt = Tensor.from(x, c.shape);
  using out = Tensor.full(c.shape, NaN); // every element must be written
  ops.randomResizedCrop(xt, out, { scale: c.scale as [number, number], ratio: c.ratio as [number, number], flipP: c.p, seed, offset });
  return out.toArray();
}

describe('resizedCrop', () => {
  interface FixtureImage { shape: number[]; x: number[]; crops: Array<{ box: { top: number; left: number; height: number; width: number; flip: boolean }; out: number[] }> }
  const fx = fixture<{ images: FixtureImage[] }>('resized_crop');

  it('matches torchvision 0.14 F.resized_crop (bilinear, tensors) bit for bit (a 1×1 box: within 1 ulp), every box of the fixture', () => {
    let crops = 0;
    for (const im of fx.images) {
      using x = Tensor.from(Float32Array.from(im.x), im.shape);
      for (const { box, out: want } of im.crops) {
        using out = Tensor.full(im.shape, NaN);
        ops.resizedCrop(x, out, box);
        const got = out.toArray();
        const label = `[${im.shape.join(', ')}] ${JSON.stringify(box)}`;
        expect(got.length, label).toBe(want.length);
        const w32 = Float32Array.from(want);
        if (box.height > 1 || box.width > 1) expectSame(got, w32, label);
        // A 1×1 crop: PyTorch may see its input as channels-last too and take
        // that kernel, which sums in another order: one ulp.
        else for (let k = 0; k < want.length; k++)
          if (Math.abs(got[k]! - w32[k]!) > 2 ** -23 * Math.abs(w32[k]!)) expect.fail(`${label} element ${k}: got ${got[k]}, torch ${w32[k]}`);
        // The whole image unflipped is an exact copy, as in PyTorch.
        if (box.height === im.shape[2] && box.width === im.shape[3] && !box.flip) expectSame(got, Float32Array.from(im.x), label);
        crops++;
      }
    }
    expect(crops).toBe(15);
  });

  it('matches the plain reference bit for bit (boxes up- and down-scaled along each axis, flips)', () => {
    const shape = [3, 2, 9, 12];
    const x = randn(3 * 2 * 9 * 12, 31);
    for (const b of [
      { top: 0, left: 0, h: 9, w: 12, flip: false }, { top: 2, left: 3, h: 4, w: 5, flip: false }, { top: 8, left: 11, h: 1, w: 1, flip: true },
      { top: 0, left: 4, h: 9, w: 7, flip: true }, { top: 3, left: 0, h: 5, w: 12, flip: false }, { top: 1, left: 1, h: 7, w: 2, flip: true },
    ]) {
      using xt = Tensor.from(x, shape);
      using out = Tensor.full(shape, NaN);
      ops.resizedCrop(xt, out, { top: b.top, left: b.left, height: b.h, width: b.w, flip: b.flip });
      expectSame(out.toArray(), refResize(x, shape, () => b), JSON.stringify(b));
    }
  });

  it('rejects boxes outside the image and bad arguments, naming them', () => {
    using x = Tensor.zeros([2, 1, 4, 6]);
    using out = Tensor.zeros([2, 1, 4, 6]);
    const ok = { top: 0, left: 0, height: 4, width: 6 };
    expect(() => ops.resizedCrop(x, out, { ...ok, height: 5 })).toThrow(/height: expected an integer in \[1, H\] = \[1, 4\], got 5/);
    expect(() => ops.resizedCrop(x, out, { ...ok, height: 0 })).toThrow(ValueError);
    expect(() => ops.resizedCrop(x, out, { ...ok, width: 7 })).toThrow(/width: expected an integer in \[1, W\] = \[1, 6\], got 7/);
    expect(() => ops.resizedCrop(x, out, { ...ok, top: 1 })).toThrow(/top: expected an integer in \[0, H - height\] = \[0, 0\], got 1/);
    expect(() => ops.resizedCrop(x, out, { ...ok, width: 2, left: 5 })).toThrow(/left: expected an integer in \[0, W - width\] = \[0, 4\], got 5/);
    expect(() => ops.resizedCrop(x, out, { ...ok, left: -1 })).toThrow(/left: /);
    expect(() => ops.resizedCrop(x, out, { ...ok, top: 0.5 })).toThrow(/top: expected an integer/);
    expect(() => ops.resizedCrop(x, out, { ...ok, top: NaN })).toThrow(/top: expected a finite number/);
    expect(() => ops.resizedCrop(x, out, { ...ok, height: 2 ** 60 })).toThrow(ValueError);
    expect(() => ops.resizedCrop(x, out, { left: 0, height: 4, width: 6 } as never)).toThrow(/top: expected a number/);
    expect(() => ops.resizedCrop(x, out, { ...ok, flip: 1 as never })).toThrow(/box.flip: expected a boolean/);
    expect(() => ops.resizedCrop(x, out, null as never)).toThrow(ArgumentError);
    expect(() => ops.resizedCrop(x, x, ok)).toThrow(/x and out overlap/);
    expect(() => ops.resizedCrop(Tensor.zeros([2, 24]), Tensor.zeros([2, 24]), ok)).toThrow(/x: resized crop needs spatial/);
    expect(() => raw.resizedCrop(x.handle, out.handle, 0, 0, 4, 6, 'no')).toThrow(/flip: expected a boolean/);
    expect(() => raw.resizedCrop(Tensor.zeros([2, 24]).handle, out.handle, 0, 0, 4, 6, false)).toThrow(/x: resized crop needs spatial \[N, C, H, W\] data/);
    // An empty image has no box.
    expect(() => ops.resizedCrop(Tensor.zeros([2, 1, 0, 6]), Tensor.zeros([2, 1, 0, 6]), ok)).toThrow(/height: .*\[1, 0\]/);
  });
});

describe('randomResizedCrop', () => {
  const cases: RrcCase[] = [
    { shape: [1, 1, 1, 1], scale: [0.08, 1], ratio: [3 / 4, 4 / 3], p: 0.5 },
    { shape: [4, 3, 8, 8], scale: [0.08, 1], ratio: [3 / 4, 4 / 3], p: 0.5 },
    { shape: [5, 2, 7, 13], scale: [0.2, 0.9], ratio: [0.5, 2], p: 0 }, // non-square, no flip
    { shape: [6, 1, 16, 9], scale: [1, 1], ratio: [9 / 16, 9 / 16], p: 1 }, // the whole image, every one flipped
    { shape: [8, 1, 10, 10], scale: [0.001, 0.002], ratio: [1, 1], p: 0.5 }, // boxes of 0–1 pixels: many fall back
    { shape: [8, 1, 6, 10], scale: [0.08, 1], ratio: [4, 8], p: 0.5 }, // wider than the image allows: centre crops at ratio 8… (W/H < 4)
    { shape: [8, 1, 12, 5], scale: [0.5, 1], ratio: [1e-3, 1e-3], p: 0.3 }, // taller than allowed: centre crop at h = H, w = rint(H·1e-3) → 1
    { shape: [3, 2, 7, 9], scale: [0.08, 1], ratio: [1e-300, 1e300], p: 0.5 }, // extreme log ratios (exp's 0/∞ ends)
    { shape: [64, 3, 32, 32], scale: [0.08, 1], ratio: [3 / 4, 4 / 3], p: 0.5 }, // parallel path
    { shape: [2, 3, 40, 300], scale: [0.3, 1], ratio: [3 / 4, 4 / 3], p: 0.5 }, // rows wider than a column chunk (256)
  ];
  for (const c of cases) {
    it(`matches the reference bit for bit on [${c.shape.join(', ')}], scale [${c.scale}], ratio [${c.ratio}], p ${c.p}`, () => {
      const n = c.shape.reduce((a, b) => a * b, 1);
      const x = randu(n, n + 7, -2, 3);
      for (const [seed, offset] of [[7, 0], [123456789, 2 ** 40 + 5], [2 ** 53 - 1, 2 ** 53 - 1]] as const)
        expectSame(runRrc(x, c, seed, offset), refRandomResizedCrop(x, c, seed, offset), `seed ${seed} offset ${offset}`);
    });
  }

  it('draws boxes as torchvision does: area fraction and aspect ratio in range, log-aspect uniform, position uniform', () => {
    const H = 224, W = 224, N = 4000, scale = [0.08, 1], ratio = [3 / 4, 4 / 3];
    let fallbacks = 0, logAspect = 0, relTop = 0;
    const frac: number[] = [];
    for (let i = 0; i < N; i++) {
      const b = drawBox(i, H, W, scale, ratio, 0.5, 5, 77);
      if (b.fallback) {
        fallbacks++;
        continue;
      }
      // Rounding w and h to pixels moves area and aspect by at most a pixel on each side.
      expect(b.w * b.h).toBeGreaterThanOrEqual(0.08 * H * W - (b.w + b.h + 1));
      expect(b.w * b.h).toBeLessThanOrEqual(H * W);
      expect(b.w / b.h).toBeGreaterThanOrEqual((3 / 4) * (1 - 1 / b.h) - 1 / b.h);
      expect(b.w / b.h).toBeLessThanOrEqual((4 / 3) * (1 + 1 / b.h) + 1 / b.h);
      expect(b.top).toBeGreaterThanOrEqual(0);
      expect(b.top + b.h).toBeLessThanOrEqual(H);
      expect(b.left + b.w).toBeLessThanOrEqual(W);
      frac.push((b.w * b.h) / (H * W));
      logAspect += Math.log(b.w / b.h);
      if (b.h < H) relTop += b.top / (H - b.h);
    }
    const kept = N - fallbacks;
    // With this ratio range a box fits unless it is nearly the whole image: a few % fall back (torchvision's rate).
    expect(fallbacks / N).toBeLessThan(0.05);
    // Accepted area fractions ~ U(0.08, 1) truncated where the box no longer fits: mean near 0.5, spread over the range.
    const meanFrac = frac.reduce((a, b) => a + b, 0) / kept;
    expect(meanFrac).toBeGreaterThan(0.47);
    expect(meanFrac).toBeLessThan(0.53);
    expect(frac.filter((f) => f < 0.3).length / kept).toBeGreaterThan(0.2);
    // log(w/h) symmetric about 0; top/(H − h) uniform on [0, 1]: mean 1/2.
    expect(Math.abs(logAspect / kept)).toBeLessThan(0.01);
    expect(Math.abs(relTop / kept - 0.5)).toBeLessThan(0.02);
  });

  it('flips with probability flipP (seen in the kernel output), and never / always at 0 / 1', () => {
    // scale [1, 1] and ratio W/H keep the whole image: the output is the image or its mirror.
    const [N, H, W] = [2000, 2, 3];
    const x = randn(N * H * W, 3);
    const c: RrcCase = { shape: [N, 1, H, W], scale: [1, 1], ratio: [W / H, W / H], p: 0.3 };
    const out = runRrc(x, c, 11, 12);
    let flips = 0;
    for (let i = 0; i < N; i++) {
      const img = x.subarray(i * H * W, (i + 1) * H * W), o = out.subarray(i * H * W, (i + 1) * H * W);
      const mirrored = Float32Array.from(img, (_, k) => img[Math.floor(k / W) * W + (W - 1 - (k % W))]!);
      const isFlip = o.every((v, k) => v === mirrored[k]), isSame = o.every((v, k) => v === img[k]);
      expect(isFlip || isSame, `image ${i}`).toBe(true);
      flips += isFlip ? 1 : 0;
      expect(isFlip).toBe(drawBox(i, H, W, c.scale, c.ratio, 0.3, 11, 12).flip);
    }
    expect(Math.abs(flips - 0.3 * N)).toBeLessThan(5 * Math.sqrt(N * 0.3 * 0.7));
    expectSame(runRrc(x, { ...c, p: 0 }, 11, 12), x);
    expect(runRrc(x, { ...c, p: 1 }, 11, 12).every((v, k) => v === x[Math.floor(k / W) * W + (W - 1 - (k % W))])).toBe(true);
  });

  it('is deterministic, thread-count independent, and advances with the offset', () => {
    const c: RrcCase = { shape: [32, 3, 24, 24], scale: [0.08, 1], ratio: [3 / 4, 4 / 3], p: 0.5 };
    const x = randn(32 * 3 * 576, 4);
    const threads = info().threads;
    const a = runRrc(x, c, 1, 2);
    try {
      setNumThreads(1);
      expectSame(runRrc(x, c, 1, 2), a, '1 thread');
    } finally {
      setNumThreads(threads);
    }
    expectSame(runRrc(x, c, 1, 2), a);
    expect(runRrc(x, c, 1, 3)).not.toEqual(a);
    expect(runRrc(x, c, 2, 2)).not.toEqual(a);
  });

  it("imix's log and exp (the draw's) are within a few ulp of Math.log / Math.exp", () => {
    const r = randu(2000, 9, -30, 30);
    for (const t of [...r, 0, 1e-300, -1e-300, 0.34657359, -0.34657359, 700, -700, 709, -708])
      expect(Math.abs(detExp(t) - Math.exp(t))).toBeLessThanOrEqual(4 * Number.EPSILON * Math.exp(t));
    for (const v of [...r.map((t) => Math.exp(t)), 1, 2, 0.5, Math.SQRT2, 3 / 4, 4 / 3, 1e-300, 1e300, 5e-324, Number.MAX_VALUE])
      expect(Math.abs(detLog(v) - Math.log(v))).toBeLessThanOrEqual(4 * Number.EPSILON * Math.max(Math.abs(Math.log(v)), 1e-300) + 1e-300);
    expect(detLog(1)).toBe(0);
    expect(detExp(0)).toBe(1);
  });

  it('writes nothing for empty batches or empty images', () => {
    for (const shape of [[0, 3, 4, 4], [2, 0, 4, 4], [2, 3, 0, 5], [2, 3, 5, 0]]) {
      using x = Tensor.zeros(shape);
      using out = Tensor.zeros(shape);
      expect(() => ops.randomResizedCrop(x, out, { seed: 1 })).not.toThrow();
    }
  });

  it('rejects bad input, naming the argument (TS wrapper and addon)', () => {
    using x = Tensor.zeros([2, 1, 4, 4]);
    using out = Tensor.zeros([2, 1, 4, 4]);
    const s = { seed: 1, offset: 0 };
    expect(() => ops.randomResizedCrop(x, out, { ...s, scale: [NaN, 1] })).toThrow(/scale\[0\]: expected a finite number, got NaN/);
    expect(() => ops.randomResizedCrop(x, out, { ...s, scale: [0.5, 1.5] })).toThrow(/scale: expected area fractions 0 < lo ≤ hi ≤ 1, got \[0.5, 1.5\]/);
    expect(() => ops.randomResizedCrop(x, out, { ...s, scale: [0.6, 0.5] })).toThrow(ValueError);
    expect(() => ops.randomResizedCrop(x, out, { ...s, scale: [0, 0.5] })).toThrow(/scale: /);
    expect(() => ops.randomResizedCrop(x, out, { ...s, scale: [0.5] as never })).toThrow(/scale: expected a \[lo, hi\] pair/);
    expect(() => ops.randomResizedCrop(x, out, { ...s, ratio: [2, 1] })).toThrow(/ratio: expected aspect ratios 0 < lo ≤ hi, got \[2, 1\]/);
    expect(() => ops.randomResizedCrop(x, out, { ...s, ratio: [-1, 1] })).toThrow(/ratio: /);
    expect(() => ops.randomResizedCrop(x, out, { ...s, ratio: [1, Infinity] })).toThrow(/ratio\[1\]: expected a finite number/);
    expect(() => ops.randomResizedCrop(x, out, { ...s, flipP: 1.5 })).toThrow(/flipP: 1.5 is outside \[0, 1\]/);
    expect(() => ops.randomResizedCrop(x, out, { ...s, flipP: NaN })).toThrow(/flipP: expected a finite number/);
    expect(() => ops.randomResizedCrop(x, out, { seed: -1 })).toThrow(/seed: -1 is outside/);
    expect(() => ops.randomResizedCrop(x, out, { seed: 1, offset: 0.5 })).toThrow(/offset: expected an integer/);
    expect(() => ops.randomResizedCrop(x, out, null as never)).toThrow(/opts: expected an object/);
    // Tensors: shape, dtype, aliasing, disposal, contiguity.
    expect(() => ops.randomResizedCrop(Tensor.zeros([2, 16]), Tensor.zeros([2, 16]), s)).toThrow(/x: random resized crop needs spatial \[N, C, H, W\] data, got shape \[2, 16\]/);
    expect(() => ops.randomResizedCrop(x, Tensor.zeros([2, 1, 4, 5]), s)).toThrow(/out: expected shape \[2, 1, 4, 4\], got \[2, 1, 4, 5\]/);
    expect(() => ops.randomResizedCrop(Tensor.zeros([2, 1, 4, 4], { dtype: 'int32' }) as never, out, s)).toThrow(DTypeError);
    expect(() => ops.randomResizedCrop(x, Tensor.zeros([2, 1, 4, 4], { dtype: 'int32' }) as never, s)).toThrow(/out: expected float32/);
    expect(() => ops.randomResizedCrop(x, x, s)).toThrow(/x and out overlap in memory/);
    const buf = Tensor.zeros([40]);
    expect(() => ops.randomResizedCrop(buf.view(0, [2, 1, 4, 4]), buf.view(8, [2, 1, 4, 4]), s)).toThrow(/overlap/);
    expect(() => ops.randomResizedCrop(Tensor.zeros([64]).view(0, [2, 1, 4, 4], [32, 16, 4, 1]), out, s)).toThrow(/x: expected a contiguous/);
    const d = Tensor.zeros([2, 1, 4, 4]);
    d.dispose();
    expect(() => ops.randomResizedCrop(d, out, s)).toThrow(DisposedError);
    // Sides past 2^31 − 1 (an empty batch makes the tensor possible).
    expect(() => ops.randomResizedCrop(Tensor.zeros([0, 1, 2 ** 31, 1]), Tensor.zeros([0, 1, 2 ** 31, 1]), s)).toThrow(/x: random resized crop takes images up to 2\^31 - 1 pixels a side/);
    // The addon checks again behind the wrapper.
    const r = (...a: unknown[]) => () => raw.randomResizedCrop(x.handle, out.handle, ...(a as [unknown, unknown, unknown, unknown, unknown, unknown, unknown]));
    expect(r(0, 1, 0.75, 1.25, 0, 1, 0)).toThrow(/scaleLo: expected an area fraction in \(0, 1\]/);
    expect(r(NaN, 1, 0.75, 1.25, 0, 1, 0)).toThrow(/scaleLo: expected a finite number/);
    expect(r(1.5, 2, 0.75, 1.25, 0, 1, 0)).toThrow(/scaleLo: /);
    expect(r(0.5, 0.4, 0.75, 1.25, 0, 1, 0)).toThrow(/scaleHi: expected an area fraction in \[scaleLo, 1\]/);
    expect(r(0.5, 1.01, 0.75, 1.25, 0, 1, 0)).toThrow(/scaleHi: /);
    expect(r(0.5, 1, 0, 1.25, 0, 1, 0)).toThrow(/ratioLo: expected a positive aspect ratio/);
    expect(r(0.5, 1, 0.75, 0.5, 0, 1, 0)).toThrow(/ratioHi: expected an aspect ratio >= ratioLo/);
    expect(r(0.5, 1, 0.75, Infinity, 0, 1, 0)).toThrow(/ratioHi: expected a finite number/);
    expect(r(0.5, 1, 0.75, 1.25, 2, 1, 0)).toThrow(/flipP: .* is outside/);
    expect(r(0.5, 1, 0.75, 1.25, 0, -1, 0)).toThrow(/seed: expected a non-negative integer/);
    expect(r(0.5, 1, 0.75, 1.25, 0, 1)).toThrow(/offset: expected a number/);
    expect(r('0.5', 1, 0.75, 1.25, 0, 1, 0)).toThrow(ArgumentError);
    expect(() => raw.randomResizedCrop(x.handle, x.handle, 0.5, 1, 0.75, 1.25, 0, 1, 0)).toThrow(/x and out overlap/);
    expect(() => raw.randomResizedCrop(x.handle, {} as NT, 0.5, 1, 0.75, 1.25, 0, 1, 0)).toThrow(/out: expected a Tensor/);
  });
});

describe('randomResizedCrop view', () => {
  const shape = [6, 3, 8, 8];
  const F = 3 * 64;
  const x = randn(6 * F, 23);

  it('runs the kernel on [N, F] rows by sampleShape, out of place and in place (scratch reused)', () => {
    const s = { seed: 13, offset: 6 };
    const v = views.randomResizedCrop([0.25, 1], [0.5, 2], 0.5);
    expect(v.describe).toBe('randomResizedCrop(0.25, 1, 0.5, 2, 0.5)');
    expect(v.spatial).toBe(true);
    const want = refRandomResizedCrop(x, { shape, scale: [0.25, 1], ratio: [0.5, 2], p: 0.5 }, s.seed, s.offset);
    const out = Tensor.zeros([6, F]);
    v(Tensor.from(x, [6, F]), out, s, [3, 8, 8]);
    expectSame(out.toArray(), want);
    for (let k = 0; k < 2; k++) {
      const inPlace = Tensor.from(x, [6, F]);
      v(inPlace, inPlace, s, [3, 8, 8]);
      expectSame(inPlace.toArray(), want, 'in place');
    }
    const out4 = Tensor.zeros(shape);
    v(Tensor.from(x, shape), out4, s);
    expectSame(out4.toArray(), want, '4-D');
  });

  it('defaults to torchvision’s scale and ratio, no flip; describe is name(numbers) with plain JS formatting', () => {
    expect(views.randomResizedCrop().describe).toBe('randomResizedCrop(0.08, 1, 0.75, 1.3333333333333333, 0)');
    expect(views.randomResizedCrop([0.2, 1]).describe).toBe('randomResizedCrop(0.2, 1, 0.75, 1.3333333333333333, 0)');
    const s = { seed: 2, offset: 3 };
    const out = Tensor.zeros(shape);
    views.randomResizedCrop()(Tensor.from(x, shape), out, s);
    expectSame(out.toArray(), refRandomResizedCrop(x, { shape, scale: [0.08, 1], ratio: [3 / 4, 4 / 3], p: 0 }, 2, 3));
  });

  it('composes (the k-th view reads offset·16 + k) and refuses non-image data', () => {
    const v = views.compose(views.randomResizedCrop([0.5, 1], [3 / 4, 4 / 3], 0.5), views.horizontalFlip(0.5));
    const out = Tensor.zeros([6, F]);
    v(Tensor.from(x, [6, F]), out, { seed: 4, offset: 9 }, [3, 8, 8]);
    const step1 = refRandomResizedCrop(x, { shape, scale: [0.5, 1], ratio: [3 / 4, 4 / 3], p: 0.5 }, 4, 9 * 16);
    expectSame(out.toArray(), refCropFlip(step1, shape, 0, 0.5, 4, 9 * 16 + 1));
    const s = { seed: 1, offset: 0 };
    expect(() => views.randomResizedCrop()(Tensor.from(x, [6, F]), Tensor.zeros([6, F]), s)).toThrow(/x: randomResizedCrop needs image samples \[C, H, W\]/);
    expect(() => views.randomResizedCrop()(Tensor.from(x, [6, F]), Tensor.zeros([6, F]), s, [F])).toThrow(ShapeError);
  });

  it('validates its arguments with ValueErrors naming them', () => {
    expect(() => views.randomResizedCrop([0, 1])).toThrow(/scale: expected area fractions \[lo, hi\] with 0 < lo ≤ hi ≤ 1, got \[0, 1\]/);
    expect(() => views.randomResizedCrop([0.5, 1.5])).toThrow(ValueError);
    expect(() => views.randomResizedCrop([0.6, 0.5])).toThrow(/scale: /);
    expect(() => views.randomResizedCrop([NaN, 1])).toThrow(/scale: .*got \[NaN, 1\]/);
    expect(() => views.randomResizedCrop(0.5 as never)).toThrow(/scale: .*got 0.5/);
    expect(() => views.randomResizedCrop([0.5, 1], [2, 1])).toThrow(/ratio: expected aspect ratios \[lo, hi\] with 0 < lo ≤ hi, got \[2, 1\]/);
    expect(() => views.randomResizedCrop([0.5, 1], [0, 1])).toThrow(/ratio: /);
    expect(() => views.randomResizedCrop([0.5, 1], [1, Infinity])).toThrow(/ratio: /);
    expect(() => views.randomResizedCrop([0.5, 1], [1, 2], 2)).toThrow(/flipP: expected a probability in \[0, 1\], got 2/);
    expect(() => views.randomResizedCrop([0.5, 1], [1, 2], NaN)).toThrow(ValueError);
  });
});
