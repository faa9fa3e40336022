import { describe, expect, it } from 'vitest';
import { ArgumentError, DisposedError, DTypeError, NPair, ShapeError, Tensor, ValueError, ops, setNumThreads, info, views } from '../../lib/index';
import { fashionMnist, subset } from '../../lib/data/dataset';
import { native } from '../../lib/native';
import type { NativeTensor } from '../../lib/native';
import { philoxBlock } from '../../lib/random';
import { randn } from '../helpers';

type NT = NativeTensor;
// The addon's raw entry point, to check the C++ validation behind the TS checks.
const raw = native as unknown as {
  randomCropFlip(x: NT, out: NT, pad: unknown, flipP: unknown, seed: unknown, offset: unknown): void;
};

// ---- plain references ----

/**
 * Image i's draw, reproduced from the documented layout with the TS Philox:
 * words (w0, w1, w2) of block i of stream (seed, offset);
 * dy = ⌊u(w0)·(2·pad+1)⌋, dx = ⌊u(w1)·(2·pad+1)⌋, flip = u(w2) < p, u(w) = (w >>> 8)/2^24.
 */
function params(i: number, pad: number, p: number, seed: number, offset: number): { dy: number; dx: number; flip: boolean } {
  const [w0, w1, w2] = philoxBlock(seed, i, offset);
  const u = (w: number) => (w >>> 8) / 2 ** 24;
  const span = 2 * pad + 1;
  return { dy: Math.floor(u(w0!) * span), dx: Math.floor(u(w1!) * span), flip: u(w2!) < Math.fround(p) };
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

/** Bitwise equality of two float arrays, reporting the first difference. */
function expectSame(a: Float32Array, b: Float32Array, label = ''): void {
  expect(a.length, label).toBe(b.length);
  if (Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))) return;
  const i = a.findIndex((v, k) => !Object.is(v, b[k]));
  expect.fail(`${label} element ${i}: got ${a[i]}, expected ${b[i]}`);
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
