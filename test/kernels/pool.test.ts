import { describe, expect, it } from 'vitest';
import { ArgumentError, DTypeError, DisposedError, ShapeError, Tensor, ValueError, ops } from '../../lib/index';
import { native } from '../../lib/native';
import { expectClose, fixture, randn } from '../helpers';

// ---- references (plain loops over the contract) -------------------------------------
interface PoolG { N: number; C: number; H: number; W: number; kh: number; kw: number; sh: number; sw: number; ph: number; pw: number; Ho: number; Wo: number }

function pg([N, C, H, W]: number[], [kh, kw]: number[], [sh, sw] = [kh!, kw!], [ph, pw] = [0, 0]): PoolG {
  return {
    N: N!, C: C!, H: H!, W: W!, kh: kh!, kw: kw!, sh, sw, ph, pw,
    Ho: Math.floor((H! + 2 * ph - kh!) / sh) + 1, Wo: Math.floor((W! + 2 * pw - kw!) / sw) + 1,
  };
}

/** PyTorch's loop: replace when v > max or v is NaN; start at −∞ with the first in-image position. */
function refMaxForward(x: ArrayLike<number>, g: PoolG): { y: Float32Array; argmax: Int32Array } {
  const y = new Float32Array(g.N * g.C * g.Ho * g.Wo), argmax = new Int32Array(y.length);
  for (let pl = 0; pl < g.N * g.C; pl++)
    for (let i = 0; i < g.Ho; i++)
      for (let j = 0; j < g.Wo; j++) {
        const y0 = i * g.sh - g.ph, x0 = j * g.sw - g.pw;
        let m = -Infinity, am = Math.max(y0, 0) * g.W + Math.max(x0, 0);
        for (let u = 0; u < g.kh; u++)
          for (let v = 0; v < g.kw; v++) {
            const yy = y0 + u, xx = x0 + v;
            if (yy < 0 || yy >= g.H || xx < 0 || xx >= g.W) continue;
            const val = x[pl * g.H * g.W + yy * g.W + xx]!;
            if (val > m || Number.isNaN(val)) {
              m = val;
              am = yy * g.W + xx;
            }
          }
        const o = (pl * g.Ho + i) * g.Wo + j;
        y[o] = m;
        argmax[o] = am;
      }
  return { y, argmax };
}

function refMaxBackward(dy: ArrayLike<number>, argmax: ArrayLike<number>, g: PoolG): Float64Array {
  const dx = new Float64Array(g.N * g.C * g.H * g.W);
  for (let pl = 0; pl < g.N * g.C; pl++)
    for (let o = 0; o < g.Ho * g.Wo; o++) dx[pl * g.H * g.W + argmax[pl * g.Ho * g.Wo + o]!] += dy[pl * g.Ho * g.Wo + o]!;
  return dx;
}

function runMax(x: Float32Array, dy: Float32Array, g: PoolG, opts: ops.MaxPool2dOptions) {
  const y = Tensor.full([g.N, g.C, g.Ho, g.Wo], NaN), am = Tensor.zeros([g.N, g.C, g.Ho, g.Wo], { dtype: 'int32' });
  ops.maxpool2dForward(Tensor.from(x, [g.N, g.C, g.H, g.W]), y, am, opts);
  const dx = Tensor.full([g.N, g.C, g.H, g.W], NaN);
  ops.maxpool2dBackward(Tensor.from(dy, [g.N, g.C, g.Ho, g.Wo]), am, dx, opts);
  return { y: y.toArray(), argmax: am.toArray(), dx: dx.toArray() };
}

describe('maxpool2d against the reference loop', () => {
  // [x shape, kernel, stride, padding, why]
  const cases: Array<[number[], number[], number[] | undefined, number[], string]> = [
    [[2, 3, 8, 8], [2, 2], undefined, [0, 0], '2×2, stride = kernel (the default)'],
    [[2, 3, 9, 9], [3, 3], [2, 2], [1, 1], '3×3 stride 2 padding 1 (overlapping windows)'],
    [[1, 2, 7, 6], [3, 3], [1, 1], [1, 1], 'stride 1 (heavy overlap)'],
    [[2, 2, 5, 9], [3, 2], [1, 3], [1, 1], 'non-square window, per-axis stride'],
    [[3, 1, 7, 7], [4, 4], [3, 3], [2, 2], 'padding = half the window'],
    [[2, 2, 5, 5], [5, 5], [1, 1], [0, 0], 'window = input: 1×1 output'],
    [[1, 1, 1, 1], [1, 1], [1, 1], [0, 0], '1×1 input'],
    [[2, 3, 7, 5], [2, 2], [2, 2], [0, 0], 'floor mode: the last row and column are dropped'],
  ];
  for (const [xs, k, s, p, why] of cases) {
    const g = pg(xs, k, (s ?? k) as [number, number], p as [number, number]);
    it(`${why}: [${xs}] → [${g.N}, ${g.C}, ${g.Ho}, ${g.Wo}]`, () => {
      const x = randn(g.N * g.C * g.H * g.W, xs.reduce((a, v) => a * 5 + v, 1));
      const dy = randn(g.N * g.C * g.Ho * g.Wo, 99);
      const opts: ops.MaxPool2dOptions = { kernelSize: k as [number, number], padding: p as [number, number] };
      if (s) opts.stride = s as [number, number];
      const got = runMax(x, dy, g, opts);
      const ref = refMaxForward(x, g);
      expect(Array.from(got.y)).toEqual(Array.from(ref.y));
      expect(Array.from(got.argmax)).toEqual(Array.from(ref.argmax));
      expectClose(got.dx, refMaxBackward(dy, ref.argmax, g), { rtol: 1e-6, atol: 1e-6 });
    });
  }

  it('ties: the first maximum in row-major window order wins; a NaN is a maximum', () => {
    const g = pg([1, 1, 3, 4], [2, 2], [1, 1], [0, 0]);
    const x = Float32Array.from([1, 1, 0, 5, 1, 1, NaN, 5, 0, 2, 2, 2]);
    const got = runMax(x, new Float32Array(g.Ho * g.Wo).fill(1), g, { kernelSize: 2, stride: 1 });
    const ref = refMaxForward(x, g);
    expect(Array.from(got.argmax)).toEqual(Array.from(ref.argmax));
    expect(got.argmax[0]).toBe(0); // four 1s: the first
    expect(got.argmax[1]).toBe(6); // the NaN
    expect(Number.isNaN(got.y[1])).toBe(true);
    expect(got.argmax[3]).toBe(9); // 1, 1 / 2, 2 → the first 2
  });

  it('a window whose in-image values are all −∞ points at its first in-image element', () => {
    const g = pg([1, 1, 2, 2], [2, 2], [1, 1], [1, 1]);
    const got = runMax(new Float32Array(4).fill(-Infinity), new Float32Array(9).fill(1), g, { kernelSize: 2, stride: 1, padding: 1 });
    expect(Array.from(got.argmax)).toEqual([0, 0, 1, 0, 0, 1, 2, 2, 3]);
    expect(Array.from(got.y)).toEqual(new Array(9).fill(-Infinity));
  });

  it('overlapping windows add their gradients (dx sums dy over the windows a max won)', () => {
    const g = pg([1, 1, 3, 3], [3, 3], [1, 1], [1, 1]);
    const x = Float32Array.from([0, 0, 0, 0, 9, 0, 0, 0, 0]);
    const got = runMax(x, Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), g, { kernelSize: 3, stride: 1, padding: 1 });
    expect(Array.from(got.argmax)).toEqual(new Array(9).fill(4));
    expect(Array.from(got.dx)).toEqual([0, 0, 0, 0, 45, 0, 0, 0, 0]);
  });

  it('an empty batch is a no-op', () => {
    const y = Tensor.zeros([0, 3, 2, 2]);
    ops.maxpool2dForward(Tensor.zeros([0, 3, 4, 4]), y, Tensor.zeros([0, 3, 2, 2], { dtype: 'int32' }), { kernelSize: 2 });
    ops.maxpool2dBackward(Tensor.zeros([0, 3, 2, 2]), Tensor.zeros([0, 3, 2, 2], { dtype: 'int32' }), Tensor.zeros([0, 3, 4, 4]), { kernelSize: 2 });
    expect(y.numel).toBe(0);
  });
});

describe('global average pool', () => {
  for (const shape of [[2, 3, 4, 5], [3, 2, 7], [1, 1, 1, 1], [2, 4, 2, 3, 2], [5, 16, 8, 8]]) {
    it(`[${shape}]: y = mean over the spatial axes, dx = dy / S`, () => {
      const [N, C] = shape as [number, number];
      const S = shape.slice(2).reduce((a, v) => a * v, 1);
      const x = randn(N * C * S, S + 3, 2).map((v) => v + 1), dy = randn(N * C, 5);
      const y = Tensor.full([N, C], NaN), dx = Tensor.full(shape, NaN);
      ops.avgpoolGlobalForward(Tensor.from(x, shape), y);
      ops.avgpoolGlobalBackward(Tensor.from(dy, [N, C]), dx);
      const ry = Float64Array.from({ length: N * C }, (_, p) => {
        let s = 0;
        for (let i = 0; i < S; i++) s += x[p * S + i]!;
        return s / S;
      });
      expectClose(y.toArray(), ry, { rtol: 1e-6, atol: 1e-7 });
      expect(Array.from(dx.toArray())).toEqual(Array.from({ length: N * C * S }, (_, i) => Math.fround(dy[Math.floor(i / S)]! / S)));
    });
  }

  it('sums in double: a large offset does not swamp the mean', () => {
    const S = 1 << 16;
    const x = new Float32Array(S).fill(1e4).map((v, i) => v + (i % 2 ? 1e-3 : -1e-3) + (i === 0 ? 0.5 : 0));
    const y = Tensor.zeros([1, 1]);
    ops.avgpoolGlobalForward(Tensor.from(x, [1, 1, 256, 256]), y);
    let s = 0;
    for (const v of x) s += v;
    expect(y.toArray()[0]).toBe(Math.fround(s / S));
  });
});

describe('pooling vs PyTorch (F.max_pool2d, F.adaptive_avg_pool2d, float64)', () => {
  interface MaxCase {
    name: string; shape: number[]; kernel: number[]; stride: number[]; padding: number[];
    x: number[]; y: number[]; yShape: number[]; argmax: number[]; dy: number[]; dx: number[];
  }
  interface AvgCase { name: string; shape: number[]; x: number[]; y: number[]; dy: number[]; dx: number[] }
  const fx = fixture<{ maxpool: MaxCase[]; avgpool: AvgCase[] }>('conv');
  for (const k of fx.maxpool) {
    it(`max_pool2d ${k.name}: y, indices, dx`, () => {
      const y = Tensor.zeros(k.yShape), am = Tensor.zeros(k.yShape, { dtype: 'int32' }), dx = Tensor.zeros(k.shape);
      const opts: ops.MaxPool2dOptions = {
        kernelSize: k.kernel as [number, number], stride: k.stride as [number, number], padding: k.padding as [number, number],
      };
      ops.maxpool2dForward(Tensor.from(k.x, k.shape), y, am, opts);
      ops.maxpool2dBackward(Tensor.from(k.dy, k.yShape), am, dx, opts);
      expect(Array.from(y.toArray())).toEqual(k.y.map((v) => Math.fround(v))); // a maximum is an input, exactly
      expect(Array.from(am.toArray())).toEqual(k.argmax);
      expectClose(dx.toArray(), k.dx, { rtol: 1e-6, atol: 1e-6, label: 'dx' });
    });
  }
  for (const k of fx.avgpool) {
    it(`adaptive_avg_pool2d(1) ${k.name}: y, dx`, () => {
      const [N, C] = k.shape as [number, number];
      const y = Tensor.zeros([N, C]), dx = Tensor.zeros(k.shape);
      ops.avgpoolGlobalForward(Tensor.from(k.x, k.shape), y);
      ops.avgpoolGlobalBackward(Tensor.from(k.dy, [N, C]), dx);
      expectClose(y.toArray(), k.y, { rtol: 1e-6, atol: 1e-7, label: 'y' });
      expectClose(dx.toArray(), k.dx, { rtol: 1e-6, atol: 1e-7, label: 'dx' });
    });
  }
});

describe('addReluForward', () => {
  it('y = max(a + b, 0), NaN kept; in place on a or b', () => {
    const a = Float32Array.from([1, -2, 3, -4, NaN, 0.5, -0.5, 0]), b = Float32Array.from([-2, 1, 1, 5, 1, -0.5, 0.25, -0]);
    const want = Array.from(a, (v, i) => {
      const s = Math.fround(v + b[i]!);
      return s < 0 ? 0 : s;
    });
    const y = Tensor.zeros([8]);
    ops.addReluForward(Tensor.from(a), Tensor.from(b), y);
    expect(Array.from(y.toArray())).toEqual(want);
    const ta = Tensor.from(a, [2, 4]), tb = Tensor.from(b, [2, 4]);
    ops.addReluForward(ta, tb, ta);
    expect(Array.from(ta.toArray())).toEqual(want);
    const ta2 = Tensor.from(a), tb2 = Tensor.from(b);
    ops.addReluForward(ta2, tb2, tb2);
    expect(Array.from(tb2.toArray())).toEqual(want);
  });

  it('large inputs (split over threads)', () => {
    const n = 300_001, a = randn(n, 1), b = randn(n, 2);
    const y = Tensor.zeros([n]);
    ops.addReluForward(Tensor.from(a), Tensor.from(b), y);
    const got = y.toArray();
    for (let i = 0; i < n; i += 997) expect(got[i]).toBe(Math.max(Math.fround(a[i]! + b[i]!), 0));
  });

  it('bad input', () => {
    const t = () => Tensor.zeros([2, 3]);
    expect(() => ops.addReluForward(t(), Tensor.zeros([5]), t())).toThrow(ShapeError);
    expect(() => ops.addReluForward(t(), Tensor.zeros([5]), t())).toThrow(/^b: shape \[5\] does not match a \[2, 3\]/);
    expect(() => ops.addReluForward(t(), t(), Tensor.zeros([7]))).toThrow(/^y: shape \[7\] does not match a/);
    expect(() => ops.addReluForward(t(), Tensor.zeros([2, 3], { dtype: 'int32' }) as unknown as Tensor<'float32'>, t())).toThrow(DTypeError);
    const buf = Tensor.zeros([8]);
    expect(() => ops.addReluForward(buf.view(0, [6]), t(), buf.view(1, [6]))).toThrow(/^y and a overlap/);
    expect(() => ops.addReluForward(t(), buf.view(2, [6]), buf.view(0, [6]))).toThrow(/^y and b overlap/);
    // a and b may share memory (both inputs).
    ops.addReluForward(buf.view(0, [6]), buf.view(1, [6]), t());
    expect(() => ops.addReluForward(t(), 3 as unknown as Tensor<'float32'>, t())).toThrow(ArgumentError);
  });
});

describe('pool bad input', () => {
  const X = () => Tensor.from(randn(2 * 3 * 6 * 6, 1), [2, 3, 6, 6]);
  const Y = () => Tensor.zeros([2, 3, 3, 3]);
  const A = () => Tensor.zeros([2, 3, 3, 3], { dtype: 'int32' });
  type O = Partial<Record<'x' | 'y' | 'am' | 'opts', unknown>>;
  const fwd = (o: O = {}) =>
    ops.maxpool2dForward((o.x ?? X()) as Tensor<'float32'>, (o.y ?? Y()) as Tensor<'float32'>, (o.am ?? A()) as Tensor<'int32'>,
      (o.opts ?? { kernelSize: 2 }) as ops.MaxPool2dOptions);

  it('maxpool2dForward', () => {
    fwd();
    expect(() => fwd({ x: Tensor.zeros([2, 3, 36]) })).toThrow(/^x: expected 4 dimensions/);
    expect(() => fwd({ y: Tensor.zeros([2, 3, 3, 2]) })).toThrow(ShapeError);
    expect(() => fwd({ y: Tensor.zeros([2, 3, 3, 2]) })).toThrow(/^y: expected shape \[2, 3, 3, 3\]/);
    expect(() => fwd({ am: Tensor.zeros([2, 3, 3, 3]) })).toThrow(DTypeError);
    expect(() => fwd({ am: Tensor.zeros([2, 3, 3, 3]) })).toThrow(/^argmax: expected int32/);
    expect(() => fwd({ am: Tensor.zeros([2, 3, 9], { dtype: 'int32' }) })).toThrow(/^argmax: expected shape/);
    expect(() => fwd({ opts: { kernelSize: 3, padding: 2 } })).toThrow(ValueError);
    expect(() => fwd({ opts: { kernelSize: 3, padding: 2 } })).toThrow(/^padding: 2×2 is more than half the 3×3 window/);
    expect(() => fwd({ opts: { kernelSize: [4, 2], padding: [2, 2] } })).toThrow(/^padding: 2×2 is more than half the 4×2 window/);
    expect(() => fwd({ opts: { kernelSize: 0 } })).toThrow(/^kernelSize: expected a positive integer, got 0/);
    expect(() => fwd({ opts: { kernelSize: 2, stride: 0 } })).toThrow(/^stride: expected a positive integer/);
    expect(() => fwd({ opts: { kernelSize: 2, padding: -1 } })).toThrow(/^padding: expected a non-negative integer/);
    expect(() => fwd({ opts: { kernelSize: 7 } })).toThrow(/^kernelSize: window 7×7 is larger than the padded input 6×6/);
    expect(() => fwd({ opts: {} })).toThrow(ArgumentError);
    expect(() => fwd({ opts: {} })).toThrow(/^kernelSize: expected a number or an \[h, w\] pair/);
    expect(() => ops.maxpool2dForward(X(), Y(), A(), null as unknown as ops.MaxPool2dOptions)).toThrow(/^opts: expected an options object/);
    expect(() => fwd({ x: Tensor.zeros([2, 3, 0, 6]) })).toThrow(/^x: expected a non-empty image/);
    const buf = Tensor.zeros([300]);
    expect(() => fwd({ x: buf.view(0, [2, 3, 6, 6]), y: buf.view(200, [2, 3, 3, 3]) })).toThrow(/^x and y overlap/);
    const d = X();
    d.dispose();
    expect(() => fwd({ x: d })).toThrow(DisposedError);
  });

  it('maxpool2dBackward checks argmax against the plane', () => {
    const bw = (am: Tensor<'int32'>, dx = Tensor.zeros([2, 3, 6, 6])) =>
      ops.maxpool2dBackward(Tensor.zeros([2, 3, 3, 3]), am, dx, { kernelSize: 2 });
    bw(A());
    const bad = A();
    const a = bad.toArray();
    a[17] = 36;
    bad.set(a);
    expect(() => bw(bad)).toThrow(ValueError);
    expect(() => bw(bad)).toThrow(/^argmax: entry 17 is 36, outside \[0, 36\)/);
    a[17] = -1;
    bad.set(a);
    expect(() => bw(bad)).toThrow(/^argmax: entry 17 is -1/);
    expect(() => bw(A(), Tensor.zeros([2, 3, 8, 6]))).toThrow(/^dy: expected shape \[2, 3, 4, 3\]/);
    expect(() => bw(Tensor.zeros([2, 3, 3, 3]) as unknown as Tensor<'int32'>)).toThrow(/^argmax: expected int32/);
  });

  it('global average pool', () => {
    expect(() => ops.avgpoolGlobalForward(Tensor.zeros([2, 3]), Tensor.zeros([2, 3]))).toThrow(
      /^x: expected \[N, C, \.\.\.spatial\] \(at least 3 dimensions\)/,
    );
    expect(() => ops.avgpoolGlobalForward(Tensor.zeros([2, 3, 0, 2]), Tensor.zeros([2, 3]))).toThrow(/^x: expected non-empty spatial/);
    expect(() => ops.avgpoolGlobalForward(Tensor.zeros([2, 3, 4]), Tensor.zeros([2, 4]))).toThrow(/^y: expected shape \[2, 3\]/);
    expect(() => ops.avgpoolGlobalBackward(Tensor.zeros([2, 4]), Tensor.zeros([2, 3, 4]))).toThrow(/^dy: expected shape \[2, 3\]/);
    expect(() => ops.avgpoolGlobalBackward(Tensor.zeros([2, 3]), Tensor.zeros([6]))).toThrow(/^dx: expected \[N, C/);
    const buf = Tensor.zeros([30]);
    expect(() => ops.avgpoolGlobalForward(buf.view(0, [2, 3, 4]), buf.view(20, [2, 3]))).toThrow(/^x and y overlap/);
  });

  it('the native side checks its arguments itself', () => {
    const nat = native as unknown as Record<string, (...a: unknown[]) => unknown>;
    const x = X().handle, y = Y().handle, am = A().handle;
    expect(() => nat.maxpool2dForward!(x, y, am, 2, 2, 2, 2, 0)).toThrow(/^padding: expected a number/);
    expect(() => nat.maxpool2dForward!(x, y, am, 2, 2, 2, 2, 0, 2)).toThrow(/^padding: 0×2 is more than half/);
    expect(() => nat.maxpool2dForward!(x, y, am, 2, 2.5, 2, 2, 0, 0)).toThrow(/^kernelSize: expected an integer/);
    expect(() => nat.maxpool2dBackward!(y, am, x, 2, 2, 2, -2, 0, 0)).toThrow(/^stride: expected a positive integer/);
    expect(() => nat.avgpoolGlobalForward!(x)).toThrow(/^y: expected a Tensor/);
  });
});
