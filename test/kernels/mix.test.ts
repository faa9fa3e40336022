import { describe, expect, it } from 'vitest';
import { ArgumentError, DisposedError, DTypeError, ShapeError, Tensor, ValueError, ops } from '../../lib/index';
import { native } from '../../lib/native';
import type { NativeTensor } from '../../lib/native';
import { philoxBlock } from '../../lib/random';
import { expectClose, randn, randperm, randu } from '../helpers';

type NT = NativeTensor;
type Box = { y0: number; x0: number; y1: number; x1: number };
// The addon's raw entry points, to check the C++ validation behind the TS checks.
const raw = native as unknown as {
  mixup(x: NT, out: NT, perm: NT, lam: NT | null, lamScalar?: number): void;
  cutmixBox(lam: number, H: number, W: number, seed: number, offset: number): ops.CutMixBox;
  cutmix(x: NT, out: NT, perm: NT, box: unknown): void;
};

// ---- plain references ----

/** out_i = λ_i·x_i + (1−λ_i)·x_π(i) in float64, rows of F. */
function refMixup(x: Float32Array, N: number, perm: Int32Array, lam: ArrayLike<number>): Float64Array {
  const F = N ? x.length / N : 0;
  const out = new Float64Array(x.length);
  for (let i = 0; i < N; i++)
    for (let f = 0; f < F; f++) out[i * F + f] = lam[i]! * x[i * F + f]! + (1 - lam[i]!) * x[perm[i]! * F + f]!;
  return out;
}

/** CutMix, element by element. */
function refCutmix(x: Float32Array, [N, C, H, W]: number[], perm: Int32Array, b: Box): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < N!; i++)
    for (let c = 0; c < C!; c++)
      for (let y = 0; y < H!; y++)
        for (let xx = 0; xx < W!; xx++) {
          const inBox = y >= b.y0 && y < b.y1 && xx >= b.x0 && xx < b.x1;
          const src = inBox ? perm[i]! : i;
          out[((i * C! + c) * H! + y) * W! + xx] = x[((src * C! + c) * H! + y) * W! + xx]!;
        }
  return out;
}

const philoxBlock0 = (seed: number, offset: number) => philoxBlock(seed, 0, offset);

/**
 * The CutMix authors' rand_bbox (CutMix-PyTorch train.py), with the centre drawn
 * from Philox words 0 and 1: cx = ⌊u·W⌋, u = (word >>> 8)/2^24.
 */
function refBox(lam: number, H: number, W: number, seed: number, offset: number): ops.CutMixBox {
  const cutRat = Math.sqrt(1 - Math.fround(lam));
  const cutW = Math.floor(W * cutRat), cutH = Math.floor(H * cutRat);
  const [w0, w1] = philoxBlock0(seed, offset);
  const cx = Math.floor(((w0! >>> 8) / 2 ** 24) * W), cy = Math.floor(((w1! >>> 8) / 2 ** 24) * H);
  const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  const x0 = clip(cx - Math.floor(cutW / 2), W), x1 = clip(cx + Math.floor(cutW / 2), W);
  const y0 = clip(cy - Math.floor(cutH / 2), H), y1 = clip(cy + Math.floor(cutH / 2), H);
  return { y0, x0, y1, x1, lam: Math.fround(1 - ((x1 - x0) * (y1 - y0)) / (W * H)) };
}

const ident = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

describe('mixup', () => {
  it('identity perm with λ = 1 copies x (scalar and per-row λ)', () => {
    const xs = randn(5 * 7, 1);
    const x = Tensor.from(xs, [5, 7]), out = Tensor.zeros([5, 7]);
    ops.mixup(x, out, Tensor.from(ident(5)), 1);
    expect(out.toArray()).toEqual(xs);
    out.fill(0);
    ops.mixup(x, out, Tensor.from(ident(5)), Tensor.full([5], 1));
    expect(out.toArray()).toEqual(xs);
  });

  it('λ = 1 keeps x, λ = 0 takes x[perm] (exact), with a real permutation', () => {
    const N = 9, F = 13, xs = randn(N * F, 2), perm = randperm(N, 3);
    const x = Tensor.from(xs, [N, F]), out = Tensor.zeros([N, F]);
    ops.mixup(x, out, Tensor.from(perm), 1);
    expect(out.toArray()).toEqual(xs);
    ops.mixup(x, out, Tensor.from(perm), 0);
    const gathered = new Float32Array(N * F);
    for (let i = 0; i < N; i++) gathered.set(xs.subarray(perm[i]! * F, perm[i]! * F + F), i * F);
    expect(out.toArray()).toEqual(gathered);
  });

  it('λ = 0.5 averages the row and its partner', () => {
    const N = 6, F = 10, xs = randn(N * F, 4), perm = randperm(N, 5);
    const out = Tensor.zeros([N, F]);
    ops.mixup(Tensor.from(xs, [N, F]), out, Tensor.from(perm), 0.5);
    expectClose(out.toArray(), refMixup(xs, N, perm, new Array(N).fill(0.5)), { rtol: 1e-6, atol: 1e-7 });
  });

  it('per-row λ matches the reference for any rank and odd sizes (incl. the parallel path)', () => {
    const shapes = [[1, 5], [1], [7], [7, 3, 5], [4, 2, 3, 3], [300, 257], [2048, 33]];
    for (const [k, shape] of shapes.entries()) {
      const N = shape[0]!, numel = shape.reduce((a, b) => a * b, 1);
      const xs = randn(numel, 10 + k), perm = randperm(N, 20 + k), lam = randu(N, 30 + k);
      const out = Tensor.zeros(shape);
      ops.mixup(Tensor.from(xs, shape), out, Tensor.from(perm), Tensor.from(lam));
      expectClose(out.toArray(), refMixup(xs, N, perm, lam), { rtol: 1e-6, atol: 1e-6, label: `[${shape}]` });
    }
  });

  it('scalar λ matches the per-row form with all rows equal', () => {
    const N = 33, F = 17, xs = randn(N * F, 6), perm = randperm(N, 7);
    const a = Tensor.zeros([N, F]), b = Tensor.zeros([N, F]);
    ops.mixup(Tensor.from(xs, [N, F]), a, Tensor.from(perm), 0.8125);
    ops.mixup(Tensor.from(xs, [N, F]), b, Tensor.from(perm), Tensor.full([N], 0.8125));
    expect(a.toArray()).toEqual(b.toArray());
    expectClose(a.toArray(), refMixup(xs, N, perm, new Array(N).fill(0.8125)), { rtol: 1e-6, atol: 1e-6 });
  });

  it('an empty batch is a no-op; the input is never written', () => {
    ops.mixup(Tensor.zeros([0, 4]), Tensor.zeros([0, 4]), Tensor.zeros([0], { dtype: 'int32' }), 0.5);
    const xs = randn(12, 8);
    const x = Tensor.from(xs, [3, 4]);
    ops.mixup(x, Tensor.zeros([3, 4]), Tensor.from(Int32Array.from([2, 0, 1])), 0.3);
    expect(x.toArray()).toEqual(xs);
  });

  it('rejects bad input', () => {
    const x = Tensor.zeros([4, 3]), out = Tensor.zeros([4, 3]), perm = Tensor.from(ident(4));
    const d = Tensor.zeros([4, 3]);
    d.dispose();
    expect(() => ops.mixup(x, out, perm, 1.5)).toThrow(ValueError);
    expect(() => ops.mixup(x, out, perm, 1.5)).toThrow(/lam: 1.5 is outside/);
    expect(() => ops.mixup(x, out, perm, NaN)).toThrow(/lam: expected a finite number/);
    expect(() => ops.mixup(x, out, perm, 'a' as never)).toThrow(ArgumentError);
    expect(() => ops.mixup(x, out, perm, Tensor.from([0.5, 0.5, 2, 0.5]))).toThrow(/lam: entry 2 is 2\.0+, outside \[0, 1\]/);
    expect(() => ops.mixup(x, out, perm, Tensor.from([0.5, NaN, 0.5, 0.5]))).toThrow(ValueError);
    expect(() => ops.mixup(x, out, perm, Tensor.from([0.5, 0.5, 0.5]))).toThrow(ShapeError);
    expect(() => ops.mixup(x, out, perm, Tensor.from([0.5, 0.5, 0.5]))).toThrow(/lam: expected shape \[4\]/);
    expect(() => ops.mixup(x, out, perm, Tensor.from(Int32Array.from([1, 1, 1, 1])) as never)).toThrow(DTypeError);
    expect(() => ops.mixup(x, Tensor.zeros([4, 4]), perm, 0.5)).toThrow(/out: expected shape \[4, 3\]/);
    expect(() => ops.mixup(x, Tensor.zeros([12]), perm, 0.5)).toThrow(ShapeError);
    expect(() => ops.mixup(x, out, Tensor.from(Int32Array.from([0, 1, 1, 3])), 0.5)).toThrow(/perm: value 1 appears twice/);
    expect(() => ops.mixup(x, out, Tensor.from(Int32Array.from([0, 1, 2, 4])), 0.5)).toThrow(/perm: entry 3 is 4/);
    expect(() => ops.mixup(x, out, Tensor.from(Int32Array.from([0, 1, 2, -1])), 0.5)).toThrow(ValueError);
    expect(() => ops.mixup(x, out, Tensor.from(ident(3)), 0.5)).toThrow(/perm: expected shape \[4\]/);
    expect(() => ops.mixup(x, out, Tensor.from([0, 1, 2, 3]) as never, 0.5)).toThrow(/perm: expected int32/);
    expect(() => ops.mixup(x.reshape([12]).view(0, [4, 3], [1, 4]), out, perm, 0.5)).toThrow(/x: expected a contiguous/);
    expect(() => ops.mixup(Tensor.zeros([4, 3], { dtype: 'int32' }) as never, out, perm, 0.5)).toThrow(/x: expected float32/);
    expect(() => ops.mixup(d, out, perm, 0.5)).toThrow(DisposedError);
    expect(() => ops.mixup(x, d, perm, 0.5)).toThrow(/out: tensor has been disposed/);
    expect(() => ops.mixup(x, x, perm, 0.5)).toThrow(/x and out overlap/);
    const buf = Tensor.zeros([20]);
    expect(() => ops.mixup(buf.view(0, [4, 3]), buf.view(6, [4, 3]), perm, 0.5)).toThrow(ValueError);
    const lamBuf = Tensor.zeros([16]);
    expect(() => ops.mixup(x, lamBuf.view(0, [4, 3]), perm, lamBuf.view(12, [4]))).not.toThrow();
    expect(() => ops.mixup(x, lamBuf.view(0, [4, 3]), perm, lamBuf.view(10, [4]))).toThrow(/lam and out overlap/);
    // the native layer on its own
    expect(() => raw.mixup(x.handle, out.handle, perm.handle, null, 2)).toThrow(/lamScalar: .* is outside/);
    expect(() => raw.mixup(x.handle, out.handle, perm.handle, null)).toThrow(/lamScalar: expected a number/);
    expect(() => raw.mixup(Tensor.zeros([]).handle, Tensor.zeros([]).handle, perm.handle, null, 0.5)).toThrow(
      /x: expected at least 1 dimension/,
    );
  });
});

describe('cutmix', () => {
  it('matches the element-wise reference for boxes anywhere, empty and full', () => {
    const shape = [5, 3, 7, 9];
    const [N, , H, W] = shape as [number, number, number, number];
    const xs = randn(shape.reduce((a, b) => a * b, 1), 40), perm = randperm(N, 41);
    const boxes: Box[] = [
      { y0: 2, x0: 3, y1: 5, x1: 8 },
      { y0: 0, x0: 0, y1: H, x1: W }, // the whole image
      { y0: 0, x0: 0, y1: 0, x1: 0 }, // empty
      { y0: 3, x0: 2, y1: 3, x1: 7 }, // zero height
      { y0: 1, x0: 4, y1: 6, x1: 4 }, // zero width
      { y0: 0, x0: 0, y1: 1, x1: 1 }, // one corner pixel
      { y0: H - 1, x0: W - 1, y1: H, x1: W },
      { y0: 0, x0: 5, y1: H, x1: W }, // right band
      { y0: 4, x0: 0, y1: H, x1: W }, // bottom band
    ];
    for (const box of boxes) {
      const out = Tensor.full(shape, 7);
      ops.cutmix(Tensor.from(xs, shape), out, Tensor.from(perm), box);
      expect(Array.from(out.toArray()), JSON.stringify(box)).toEqual(Array.from(refCutmix(xs, shape, perm, box)));
    }
  });

  it('odd sizes, N = 1, and a batch large enough to run in parallel', () => {
    for (const [k, shape] of [[1, 1, 1, 1], [1, 2, 3, 5], [64, 3, 32, 32], [3, 1, 1, 17]].entries()) {
      const [N, , H, W] = shape as [number, number, number, number];
      const xs = randn(shape.reduce((a, b) => a * b, 1), 50 + k), perm = randperm(N, 60 + k);
      const box = { y0: Math.floor(H / 3), x0: Math.floor(W / 4), y1: H, x1: Math.ceil((3 * W) / 4) };
      const out = Tensor.zeros(shape);
      ops.cutmix(Tensor.from(xs, shape), out, Tensor.from(perm), box);
      expect(Array.from(out.toArray()), `[${shape}]`).toEqual(Array.from(refCutmix(xs, shape, perm, box)));
    }
  });

  it('rejects bad input', () => {
    const shape = [4, 2, 5, 6];
    const x = Tensor.zeros(shape), out = Tensor.zeros(shape), perm = Tensor.from(ident(4));
    const box = { y0: 1, x0: 1, y1: 3, x1: 3 };
    const d = Tensor.zeros(shape);
    d.dispose();
    expect(() => ops.cutmix(Tensor.zeros([4, 30]), Tensor.zeros([4, 30]), perm, box)).toThrow(ShapeError);
    expect(() => ops.cutmix(Tensor.zeros([4, 30]), Tensor.zeros([4, 30]), perm, box)).toThrow(
      /x: CutMix needs spatial \[N, C, H, W\] data, got shape \[4, 30\]/,
    );
    expect(() => ops.cutmix(x, Tensor.zeros([4, 2, 6, 5]), perm, box)).toThrow(/out: expected shape \[4, 2, 5, 6\]/);
    expect(() => ops.cutmix(x, out, Tensor.from(ident(3)), box)).toThrow(/perm: expected shape \[4\]/);
    expect(() => ops.cutmix(x, out, Tensor.from(Int32Array.from([0, 0, 1, 2])), box)).toThrow(/perm: .*not a permutation/);
    expect(() => ops.cutmix(x, out, Tensor.from([0, 1, 2, 3]) as never, box)).toThrow(DTypeError);
    expect(() => ops.cutmix(Tensor.zeros(shape, { dtype: 'int32' }) as never, out, perm, box)).toThrow(/x: expected float32/);
    expect(() => ops.cutmix(d, out, perm, box)).toThrow(DisposedError);
    expect(() => ops.cutmix(x, d, perm, box)).toThrow(/out: tensor has been disposed/);
    expect(() => ops.cutmix(x, x, perm, box)).toThrow(/x and out overlap/);
    // box fields
    expect(() => ops.cutmix(x, out, perm, null as never)).toThrow(/box: expected an object/);
    expect(() => ops.cutmix(x, out, perm, { ...box, y1: 6 })).toThrow(ValueError);
    expect(() => ops.cutmix(x, out, perm, { ...box, y1: 6 })).toThrow(/box\.y1: 6 is outside \[y0 = 1, H = 5\]/);
    expect(() => ops.cutmix(x, out, perm, { ...box, x1: 7 })).toThrow(/box\.x1: 7 is outside \[x0 = 1, W = 6\]/);
    expect(() => ops.cutmix(x, out, perm, { ...box, y0: 4 })).toThrow(/box\.y1: 3 is outside \[y0 = 4/);
    expect(() => ops.cutmix(x, out, perm, { ...box, x0: -1 })).toThrow(/box\.x0: -1 is outside/);
    expect(() => ops.cutmix(x, out, perm, { ...box, y0: 0.5 })).toThrow(/box\.y0: expected an integer/);
    expect(() => ops.cutmix(x, out, perm, { ...box, x1: NaN })).toThrow(/box\.x1: expected an integer/);
    expect(() => ops.cutmix(x, out, perm, { y0: 1, x0: 1, y1: 3 } as never)).toThrow(ArgumentError);
    expect(() => ops.cutmix(x, out, perm, { y0: 1, x0: 1, y1: 3 } as never)).toThrow(/box\.x1: expected a number/);
    expect(() => raw.cutmix(x.handle, out.handle, perm.handle, 3)).toThrow(/box: expected an object/);
  });
});

describe('cutmixBox', () => {
  const cases: Array<[number, number, number, number, number]> = [
    [0.5, 32, 32, 1, 0],
    [0.7, 32, 32, 1, 1],
    [0.9, 28, 28, 7, 123],
    [0.3, 5, 9, 2 ** 40 + 3, 2 ** 33 + 5], // big seed/offset: both halves of key and counter
    [0, 24, 17, 3, 3],
    [0.999, 64, 48, 4, 4],
    [0.5, 1, 1, 5, 5],
    [0.6, 1, 100, 6, 6],
  ];

  it('matches a TS reimplementation of the reference rand_bbox on the Philox stream', () => {
    for (const [lam, H, W, seed, offset] of cases) expect(ops.cutmixBox(lam, H, W, { seed, offset })).toEqual(refBox(lam, H, W, seed, offset));
    for (let k = 0; k < 300; k++) {
      const lam = (k % 101) / 100, H = 1 + (k % 37), W = 1 + ((k * 7) % 41);
      expect(ops.cutmixBox(lam, H, W, { seed: 11, offset: k }), `k ${k}`).toEqual(refBox(lam, H, W, 11, k));
    }
  });

  it('the box lies within the image and λ\' is 1 − area/(H·W)', () => {
    for (let k = 0; k < 500; k++) {
      const lam = ((k * 37) % 1000) / 1000, H = 1 + (k % 50), W = 1 + ((k * 3) % 61);
      const b = ops.cutmixBox(lam, H, W, { seed: 99, offset: k });
      expect(0 <= b.y0 && b.y0 <= b.y1 && b.y1 <= H && 0 <= b.x0 && b.x0 <= b.x1 && b.x1 <= W, JSON.stringify(b)).toBe(true);
      for (const v of [b.y0, b.x0, b.y1, b.x1]) expect(Number.isInteger(v)).toBe(true);
      expect(b.lam).toBe(Math.fround(1 - ((b.y1 - b.y0) * (b.x1 - b.x0)) / (H * W)));
      // the box side never exceeds ⌊side·sqrt(1−λ)⌋ (clipping only shrinks it) and λ' ≥ λ up to rounding
      expect(b.x1 - b.x0).toBeLessThanOrEqual(Math.floor(W * Math.sqrt(1 - Math.fround(lam))));
      expect(b.lam).toBeGreaterThanOrEqual(Math.fround(lam) - 1e-6);
    }
  });

  it('λ = 1 gives an empty box and λ\' = 1; an unclipped box has the expected area', () => {
    for (let k = 0; k < 50; k++) {
      const b = ops.cutmixBox(1, 32, 32, { seed: 1, offset: k });
      expect(b.x1 - b.x0).toBe(0);
      expect(b.y1 - b.y0).toBe(0);
      expect(b.lam).toBe(1);
    }
    // λ = 0.75 on 32×32: cut = 16, half = 8: away from the border the box is 16×16, λ' = 0.75
    let unclipped = 0;
    for (let k = 0; k < 200; k++) {
      const b = ops.cutmixBox(0.75, 32, 32, { seed: 2, offset: k });
      if (b.x0 > 0 && b.x1 < 32 && b.y0 > 0 && b.y1 < 32) {
        unclipped++;
        expect([b.x1 - b.x0, b.y1 - b.y0, b.lam]).toEqual([16, 16, 0.75]);
      }
    }
    expect(unclipped).toBeGreaterThan(20);
  });

  it('the centre is uniform over the image (λ = 1 puts the empty box at the centre)', () => {
    const H = 5, W = 7, n = 7000;
    const cx = new Array<number>(W).fill(0), cy = new Array<number>(H).fill(0);
    for (let k = 0; k < n; k++) {
      const b = ops.cutmixBox(1, H, W, { seed: 3, offset: k });
      cx[b.x0]!++;
      cy[b.y0]!++;
    }
    for (const c of cx) expect(Math.abs(c - n / W)).toBeLessThan(5 * Math.sqrt(n / W)); // 5σ
    for (const c of cy) expect(Math.abs(c - n / H)).toBeLessThan(5 * Math.sqrt(n / H));
  });

  it('is deterministic in (seed, offset) and changes with them', () => {
    const a = ops.cutmixBox(0.6, 32, 32, { seed: 4, offset: 9 });
    expect(ops.cutmixBox(0.6, 32, 32, { seed: 4, offset: 9 })).toEqual(a);
    expect(ops.cutmixBox(0.6, 32, 32, { seed: 4 })).toEqual(ops.cutmixBox(0.6, 32, 32, { seed: 4, offset: 0 }));
    const boxes = new Set<string>();
    for (let k = 0; k < 20; k++) boxes.add(JSON.stringify(ops.cutmixBox(0.6, 32, 32, { seed: 4, offset: k })));
    expect(boxes.size).toBeGreaterThan(10);
  });

  it('rejects bad input', () => {
    expect(() => ops.cutmixBox(1.1, 8, 8, { seed: 1 })).toThrow(ValueError);
    expect(() => ops.cutmixBox(-0.1, 8, 8, { seed: 1 })).toThrow(/lam: -0.1 is outside/);
    expect(() => ops.cutmixBox(NaN, 8, 8, { seed: 1 })).toThrow(/lam: expected a finite number/);
    expect(() => ops.cutmixBox(0.5, 0, 8, { seed: 1 })).toThrow(/H: 0 is outside/);
    expect(() => ops.cutmixBox(0.5, 8, 2.5, { seed: 1 })).toThrow(/W: expected an integer/);
    expect(() => ops.cutmixBox(0.5, 8, 8, { seed: -1 })).toThrow(/seed/);
    expect(() => ops.cutmixBox(0.5, 8, 8, { seed: 1, offset: 1.5 })).toThrow(/offset: expected an integer/);
    expect(() => ops.cutmixBox(0.5, 8, 8, null as never)).toThrow(ArgumentError);
    expect(() => ops.cutmixBox('0.5' as never, 8, 8, { seed: 1 })).toThrow(ArgumentError);
    // the native layer on its own
    expect(() => raw.cutmixBox(2, 8, 8, 1, 0)).toThrow(/lam: .* is outside/);
    expect(() => raw.cutmixBox(0.5, -3, 8, 1, 0)).toThrow(/H: expected an image height/);
    expect(() => raw.cutmixBox(0.5, 8, 2 ** 31, 1, 0)).toThrow(/W: expected an image width/);
    expect(() => raw.cutmixBox(0.5, 8, 8, -1, 0)).toThrow(/seed: expected a non-negative integer/);
    expect(() => raw.cutmixBox(0.5, 8, 8, 1, NaN)).toThrow(ValueError);
  });
});

describe('cutmixBatch', () => {
  it('samples the box for x\'s H×W and applies it', () => {
    const shape = [6, 3, 16, 12];
    const xs = randn(shape.reduce((a, b) => a * b, 1), 70), perm = randperm(6, 71);
    const out = Tensor.zeros(shape);
    const r = ops.cutmixBatch(Tensor.from(xs, shape), out, Tensor.from(perm), 0.6, { seed: 8, offset: 2 });
    const box = refBox(0.6, 16, 12, 8, 2);
    expect(r.box).toEqual(box);
    expect(r.lam).toBe(box.lam);
    expect(box.x1 - box.x0).toBeGreaterThan(0);
    expect(Array.from(out.toArray())).toEqual(Array.from(refCutmix(xs, shape, perm, box)));
  });

  it('rejects non-spatial data and bad λ', () => {
    const perm = Tensor.from(ident(4));
    expect(() => ops.cutmixBatch(Tensor.zeros([4, 8]), Tensor.zeros([4, 8]), perm, 0.5, { seed: 1 })).toThrow(ShapeError);
    expect(() => ops.cutmixBatch(Tensor.zeros([4, 8]), Tensor.zeros([4, 8]), perm, 0.5, { seed: 1 })).toThrow(
      /x: CutMix needs spatial \[N, C, H, W\] data/,
    );
    const x = Tensor.zeros([4, 1, 3, 3]);
    expect(() => ops.cutmixBatch(x, Tensor.zeros([4, 1, 3, 3]), perm, 2, { seed: 1 })).toThrow(/lam: 2 is outside/);
    expect(() => ops.cutmixBatch(x, x, perm, 0.5, { seed: 1 })).toThrow(/overlap/);
    const d = Tensor.zeros([4, 1, 3, 3]);
    d.dispose();
    expect(() => ops.cutmixBatch(d, x, perm, 0.5, { seed: 1 })).toThrow(DisposedError);
  });
});
