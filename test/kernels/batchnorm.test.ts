import { describe, expect, it } from 'vitest';
import { ArgumentError, DTypeError, DisposedError, ShapeError, Tensor, ValueError, ops } from '../../lib/index';
import { native } from '../../lib/native';
import { expectClose, fixture, randn, randu } from '../helpers';

// ---- float64 references (plain loops) ------------------------------------------
interface TrainRef {
  y: Float64Array;
  mean: Float64Array;
  invstd: Float64Array;
  runningMean: Float64Array;
  runningVar: Float64Array;
}

function refTrain(
  x: ArrayLike<number>, N: number, C: number, gamma: ArrayLike<number> | null, beta: ArrayLike<number> | null,
  eps: number, momentum: number, rm: ArrayLike<number>, rv: ArrayLike<number>,
): TrainRef {
  const mean = new Float64Array(C), varB = new Float64Array(C), invstd = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let i = 0; i < N; i++) s += x[i * C + c]!;
    mean[c] = s / N;
    let q = 0;
    for (let i = 0; i < N; i++) q += (x[i * C + c]! - mean[c]!) ** 2;
    varB[c] = q / N;
    invstd[c] = 1 / Math.sqrt(varB[c]! + eps);
  }
  const y = new Float64Array(N * C);
  for (let i = 0; i < N; i++)
    for (let c = 0; c < C; c++)
      y[i * C + c] = (gamma ? gamma[c]! : 1) * (x[i * C + c]! - mean[c]!) * invstd[c]! + (beta ? beta[c]! : 0);
  const runningMean = Float64Array.from(rm, (r, c) => (1 - momentum) * r + momentum * mean[c]!);
  const runningVar = Float64Array.from(rv, (r, c) => (1 - momentum) * r + momentum * varB[c]! * N / (N - 1));
  return { y, mean, invstd, runningMean, runningVar };
}

function refEval(
  x: ArrayLike<number>, N: number, C: number, gamma: ArrayLike<number> | null, beta: ArrayLike<number> | null,
  rm: ArrayLike<number>, rv: ArrayLike<number>, eps: number,
): Float64Array {
  const y = new Float64Array(N * C);
  for (let i = 0; i < N; i++)
    for (let c = 0; c < C; c++)
      y[i * C + c] = (gamma ? gamma[c]! : 1) * (x[i * C + c]! - rm[c]!) / Math.sqrt(rv[c]! + eps) + (beta ? beta[c]! : 0);
  return y;
}

function refBackward(
  dy: ArrayLike<number>, x: ArrayLike<number>, N: number, C: number, gamma: ArrayLike<number> | null,
  mean: ArrayLike<number>, invstd: ArrayLike<number>,
): { dx: Float64Array; dgamma: Float64Array; dbeta: Float64Array } {
  const dgamma = new Float64Array(C), dbeta = new Float64Array(C), dx = new Float64Array(N * C);
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < N; i++) {
      const xh = (x[i * C + c]! - mean[c]!) * invstd[c]!;
      dbeta[c] += dy[i * C + c]!;
      dgamma[c] += dy[i * C + c]! * xh;
    }
    for (let i = 0; i < N; i++) {
      const xh = (x[i * C + c]! - mean[c]!) * invstd[c]!;
      dx[i * C + c] = ((gamma ? gamma[c]! : 1) * invstd[c]! / N) * (N * dy[i * C + c]! - dbeta[c]! - xh * dgamma[c]!);
    }
  }
  return { dx, dgamma, dbeta };
}

const z = (n: number) => Tensor.zeros([n]);

/** Runs the kernel's train forward on fresh buffers. */
function runTrain(
  x: Float32Array, N: number, C: number,
  o: { gamma?: Float32Array | null; beta?: Float32Array | null; eps?: number; momentum?: number; rm?: Float32Array; rv?: Float32Array } = {},
) {
  const y = Tensor.zeros([N, C]), sm = z(C), si = z(C);
  const rm = o.rm ? Tensor.from(o.rm) : null, rv = o.rv ? Tensor.from(o.rv) : null;
  ops.batchnorm1dForwardTrain(Tensor.from(x, [N, C]), y, sm, si, {
    gamma: o.gamma ? Tensor.from(o.gamma) : null,
    beta: o.beta ? Tensor.from(o.beta) : null,
    eps: o.eps,
    momentum: o.momentum,
    runningMean: rm,
    runningVar: rv,
  });
  return { y: y.toArray(), mean: sm.toArray(), invstd: si.toArray(), rm: rm?.toArray(), rv: rv?.toArray() };
}

describe('batchnorm1dForwardTrain', () => {
  // N=2: the smallest batch; C=1; odd sizes; C past one 512-column tile; sizes
  // past 2·32k elements (the threads split the rows) with many rows / many columns.
  const sizes: Array<[number, number]> = [[2, 1], [3, 7], [17, 33], [50, 1500], [70, 1000], [10000, 7], [33, 515]];
  for (const [N, C] of sizes) {
    it(`matches the float64 reference on [${N}, ${C}] (y, saved stats, running stats)`, () => {
      const x = randn(N * C, 10 + N + C, 1.7).map((v, i) => v + (i % C) * 0.25);
      const gamma = randn(C, 20 + C, 0.5).map((v) => v + 1), beta = randn(C, 30 + C);
      const rm0 = randn(C, 40 + C), rv0 = randu(C, 50 + C, 0.5, 2);
      const eps = 1e-5, momentum = 0.1;
      const got = runTrain(x, N, C, { gamma, beta, eps, momentum, rm: rm0, rv: rv0 });
      const ref = refTrain(x, N, C, gamma, beta, eps, momentum, rm0, rv0);
      expectClose(got.y, ref.y, { rtol: 2e-5, atol: 2e-5, label: 'y' });
      expectClose(got.mean, ref.mean, { rtol: 1e-6, atol: 1e-6, label: 'saveMean' });
      expectClose(got.invstd, ref.invstd, { rtol: 1e-6, atol: 0, label: 'saveInvstd' });
      expectClose(got.rm!, ref.runningMean, { rtol: 1e-6, atol: 1e-6, label: 'runningMean' });
      expectClose(got.rv!, ref.runningVar, { rtol: 1e-6, atol: 0, label: 'runningVar' });
    });
  }

  it('computes the variance accurately when the mean dwarfs the spread', () => {
    // x = 1e4 + 1e-2·noise: one-pass E[x²] − E[x]² in float32 would return garbage.
    const N = 4099, C = 9;
    const x = randn(N * C, 7, 1e-2).map((v) => v + 1e4);
    const got = runTrain(x, N, C, { eps: 1e-12, rm: new Float32Array(C), rv: new Float32Array(C), momentum: 1 });
    const ref = refTrain(x, N, C, null, null, 1e-12, 1, new Float64Array(C), new Float64Array(C));
    expectClose(got.invstd, ref.invstd, { rtol: 1e-5, atol: 0, label: 'saveInvstd' });
    expectClose(got.rv!, ref.runningVar, { rtol: 1e-5, atol: 0, label: 'runningVar' });
    expectClose(got.y, ref.y, { rtol: 1e-3, atol: 2e-3, label: 'y' });
  });

  it('affine=false (gamma/beta null) and no running stats', () => {
    const N = 6, C = 5;
    const x = randn(N * C, 3);
    const got = runTrain(x, N, C, { eps: 1e-3 });
    const ref = refTrain(x, N, C, null, null, 1e-3, 0.1, new Float64Array(C), new Float64Array(C));
    expectClose(got.y, ref.y, { rtol: 1e-5, atol: 1e-6 });
    expect(got.rm).toBeUndefined();
    // Columns of y have mean 0 and (biased) variance σ²/(σ²+eps).
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let i = 0; i < N; i++) s += got.y[i * C + c]!;
      expect(Math.abs(s / N)).toBeLessThan(1e-6);
    }
  });

  it('running statistics follow PyTorch over two steps (unbiased variance, momentum)', () => {
    const N = 8, C = 4;
    const rm = Tensor.zeros([C]), rv = Tensor.full([C], 1);
    let refM: ArrayLike<number> = new Float64Array(C), refV: ArrayLike<number> = new Float64Array(C).fill(1);
    for (let step = 0; step < 2; step++) {
      const x = randn(N * C, 100 + step, 2);
      ops.batchnorm1dForwardTrain(Tensor.from(x, [N, C]), Tensor.zeros([N, C]), z(C), z(C), {
        momentum: 0.25, runningMean: rm, runningVar: rv,
      });
      const ref = refTrain(x, N, C, null, null, 1e-5, 0.25, refM, refV);
      refM = ref.runningMean;
      refV = ref.runningVar;
    }
    expectClose(rm.toArray(), refM, { rtol: 1e-6, atol: 1e-7 });
    expectClose(rv.toArray(), refV, { rtol: 1e-6, atol: 0 });
  });

  it('a constant column normalizes to beta (variance 0, eps keeps it finite)', () => {
    const N = 3, C = 2;
    const x = Float32Array.from([5, 1, 5, 2, 5, 3]);
    const got = runTrain(x, N, C, { gamma: Float32Array.from([2, 1]), beta: Float32Array.from([0.5, 0]) });
    expect([got.y[0], got.y[2], got.y[4]]).toEqual([0.5, 0.5, 0.5]);
    expect(got.invstd[0]).toBeCloseTo(1 / Math.sqrt(1e-5), 0);
  });
});

describe('batchnorm1dForwardEval', () => {
  for (const [N, C] of [[1, 1], [1, 9], [7, 13], [300, 257]] as Array<[number, number]>) {
    it(`matches y = γ·(x − r_mean)/sqrt(r_var + eps) + β on [${N}, ${C}]`, () => {
      const x = randn(N * C, N * 31 + C, 2);
      const gamma = randn(C, 5), beta = randn(C, 6), rm = randn(C, 7), rv = randu(C, 8, 0.1, 3);
      const y = Tensor.zeros([N, C]);
      ops.batchnorm1dForwardEval(Tensor.from(x, [N, C]), y, Tensor.from(rm), Tensor.from(rv), {
        gamma: Tensor.from(gamma), beta: Tensor.from(beta), eps: 1e-3,
      });
      expectClose(y.toArray(), refEval(x, N, C, gamma, beta, rm, rv, 1e-3), { rtol: 1e-5, atol: 1e-5 });
      const y2 = Tensor.zeros([N, C]);
      ops.batchnorm1dForwardEval(Tensor.from(x, [N, C]), y2, Tensor.from(rm), Tensor.from(rv));
      expectClose(y2.toArray(), refEval(x, N, C, null, null, rm, rv, 1e-5), { rtol: 1e-5, atol: 1e-5 });
    });
  }

  it('an empty batch is a no-op', () => {
    const y = Tensor.zeros([0, 3]);
    ops.batchnorm1dForwardEval(Tensor.zeros([0, 3]), y, z(3), Tensor.full([3], 1));
    expect(y.numel).toBe(0);
  });
});

describe('batchnorm1dBackward', () => {
  function runBackward(
    dy: Float32Array, x: Float32Array, N: number, C: number, gamma: Float32Array | null,
    opts: { dgamma0?: Float32Array; dbeta0?: Float32Array; accumulate?: boolean; noParamGrads?: boolean } = {},
  ) {
    const xt = Tensor.from(x, [N, C]), sm = z(C), si = z(C);
    ops.batchnorm1dForwardTrain(xt, Tensor.zeros([N, C]), sm, si, { gamma: gamma ? Tensor.from(gamma) : null });
    const dx = Tensor.zeros([N, C]);
    const dg = opts.noParamGrads ? null : opts.dgamma0 ? Tensor.from(opts.dgamma0) : z(C);
    const db = opts.noParamGrads ? null : opts.dbeta0 ? Tensor.from(opts.dbeta0) : z(C);
    ops.batchnorm1dBackward(Tensor.from(dy, [N, C]), xt, sm, si, dx, {
      gamma: gamma ? Tensor.from(gamma) : null, dgamma: dg, dbeta: db, accumulate: opts.accumulate,
    });
    return { dx: dx.toArray(), dgamma: dg?.toArray(), dbeta: db?.toArray(), mean: sm.toArray(), invstd: si.toArray() };
  }

  for (const [N, C] of [[2, 1], [5, 3], [19, 37], [70, 1000], [8000, 9]] as Array<[number, number]>) {
    it(`matches the float64 reference on [${N}, ${C}]`, () => {
      const x = randn(N * C, N + 2 * C, 1.5).map((v) => v + 0.5), dy = randn(N * C, N + 3 * C);
      const gamma = randn(C, 9 + C, 0.3).map((v) => v + 1);
      const got = runBackward(dy, x, N, C, gamma);
      const ref = refTrain(x, N, C, gamma, null, 1e-5, 0.1, new Float64Array(C), new Float64Array(C));
      const r = refBackward(dy, x, N, C, gamma, ref.mean, ref.invstd);
      // dx = γ·invstd·(dy − mean(dy) − x̂·mean(dy·x̂)): cancellation; scale atol by the gradient magnitude.
      expectClose(got.dx, r.dx, { rtol: 1e-4, atol: 1e-5, label: 'dx' });
      expectClose(got.dgamma!, r.dgamma, { rtol: 1e-5, atol: 1e-5 * Math.sqrt(N), label: 'dgamma' });
      expectClose(got.dbeta!, r.dbeta, { rtol: 1e-5, atol: 1e-5 * Math.sqrt(N), label: 'dbeta' });
    });
  }

  it('matches central finite differences of L = Σ dy·y (float64 forward)', () => {
    const N = 5, C = 3, eps = 1e-5;
    const x = randn(N * C, 77, 1.3).map((v) => v + 0.7), dy = randn(N * C, 78);
    const gamma = Float32Array.from([1.5, -0.7, 0.9]), beta = Float32Array.from([0.1, 0.2, -0.3]);
    const loss = (xs: ArrayLike<number>, g: ArrayLike<number>, b: ArrayLike<number>) => {
      const { y } = refTrain(xs, N, C, g, b, eps, 0.1, new Float64Array(C), new Float64Array(C));
      let s = 0;
      for (let i = 0; i < N * C; i++) s += dy[i]! * y[i]!;
      return s;
    };
    const h = 1e-6;
    const fd = (arr: Float64Array, f: (a: Float64Array) => number) =>
      Float64Array.from(arr, (_, i) => {
        const p = Float64Array.from(arr), m = Float64Array.from(arr);
        p[i] = p[i]! + h;
        m[i] = m[i]! - h;
        return (f(p) - f(m)) / (2 * h);
      });
    const x64 = Float64Array.from(x), g64 = Float64Array.from(gamma), b64 = Float64Array.from(beta);
    const fdx = fd(x64, (a) => loss(a, g64, b64));
    const fdg = fd(g64, (a) => loss(x64, a, b64));
    const fdb = fd(b64, (a) => loss(x64, g64, a));
    const got = runBackward(dy, x, N, C, gamma);
    expectClose(got.dx, fdx, { rtol: 1e-4, atol: 1e-5, label: 'dx' });
    expectClose(got.dgamma!, fdg, { rtol: 1e-4, atol: 1e-5, label: 'dgamma' });
    expectClose(got.dbeta!, fdb, { rtol: 1e-4, atol: 1e-5, label: 'dbeta' });
    // dx sums to zero over each column (the mean is subtracted).
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let i = 0; i < N; i++) s += got.dx[i * C + c]!;
      expect(Math.abs(s)).toBeLessThan(1e-5);
    }
  });

  it('accumulate adds into dgamma/dbeta; false overwrites; null grads and gamma are allowed', () => {
    const N = 7, C = 4;
    const x = randn(N * C, 1), dy = randn(N * C, 2);
    const base = runBackward(dy, x, N, C, null);
    const prev = Float32Array.from([1, 2, 3, 4]);
    const acc = runBackward(dy, x, N, C, null, { dgamma0: prev, dbeta0: prev, accumulate: true });
    expectClose(acc.dgamma!, base.dgamma!.map((v, i) => v + prev[i]!), { rtol: 1e-6, atol: 1e-6 });
    expectClose(acc.dbeta!, base.dbeta!.map((v, i) => v + prev[i]!), { rtol: 1e-6, atol: 1e-6 });
    expect(Array.from(acc.dx)).toEqual(Array.from(base.dx));
    const over = runBackward(dy, x, N, C, null, { dgamma0: prev, dbeta0: prev, accumulate: false });
    expect(Array.from(over.dgamma!)).toEqual(Array.from(base.dgamma!));
    const none = runBackward(dy, x, N, C, null, { noParamGrads: true });
    expect(Array.from(none.dx)).toEqual(Array.from(base.dx));
    const ref = refBackward(dy, x, N, C, null, base.mean, base.invstd);
    expectClose(base.dx, ref.dx, { rtol: 1e-4, atol: 1e-5 });
  });
});

describe('batchnorm1d vs PyTorch (nn.BatchNorm1d, torch 1.13, float64)', () => {
  interface BnStep {
    x: number[]; dy: number[]; y: number[]; dx: number[]; saveMean: number[]; saveInvstd: number[];
    runningMean: number[]; runningVar: number[]; dgamma?: number[]; dbeta?: number[];
  }
  interface BnCase {
    N: number; C: number; affine: boolean; momentum: number; eps: number; gamma?: number[]; beta?: number[];
    steps: BnStep[]; eval: { x: number[]; y: number[] };
  }
  const cases = fixture<{ batchnorm: BnCase[] }>('bnoptim').batchnorm;
  for (const k of cases) {
    it(`train ×2 (y, dx, dγ, dβ, running stats) then eval: [${k.N}, ${k.C}] affine=${k.affine}`, () => {
      const { N, C } = k;
      const gamma = k.gamma ? Tensor.from(k.gamma) : null, beta = k.beta ? Tensor.from(k.beta) : null;
      const rm = Tensor.zeros([C]), rv = Tensor.full([C], 1);
      for (const [s, st] of k.steps.entries()) {
        const x = Tensor.from(st.x, [N, C]), y = Tensor.zeros([N, C]), sm = z(C), si = z(C);
        ops.batchnorm1dForwardTrain(x, y, sm, si, { gamma, beta, eps: k.eps, momentum: k.momentum, runningMean: rm, runningVar: rv });
        expectClose(y.toArray(), st.y, { rtol: 1e-5, atol: 1e-5, label: `step ${s} y` });
        expectClose(sm.toArray(), st.saveMean, { rtol: 1e-6, atol: 1e-6, label: `step ${s} saveMean` });
        expectClose(si.toArray(), st.saveInvstd, { rtol: 1e-6, atol: 0, label: `step ${s} saveInvstd` });
        expectClose(rm.toArray(), st.runningMean, { rtol: 1e-6, atol: 1e-6, label: `step ${s} runningMean` });
        expectClose(rv.toArray(), st.runningVar, { rtol: 1e-6, atol: 0, label: `step ${s} runningVar` });
        const dx = Tensor.zeros([N, C]), dg = k.affine ? z(C) : null, db = k.affine ? z(C) : null;
        ops.batchnorm1dBackward(Tensor.from(st.dy, [N, C]), x, sm, si, dx, { gamma, dgamma: dg, dbeta: db });
        expectClose(dx.toArray(), st.dx, { rtol: 1e-4, atol: 1e-5, label: `step ${s} dx` });
        if (k.affine) {
          expectClose(dg!.toArray(), st.dgamma!, { rtol: 1e-5, atol: 1e-5, label: `step ${s} dgamma` });
          expectClose(db!.toArray(), st.dbeta!, { rtol: 1e-5, atol: 1e-5, label: `step ${s} dbeta` });
        }
      }
      const ne = k.eval.x.length / C, y = Tensor.zeros([ne, C]);
      ops.batchnorm1dForwardEval(Tensor.from(k.eval.x, [ne, C]), y, rm, rv, { gamma, beta, eps: k.eps });
      expectClose(y.toArray(), k.eval.y, { rtol: 1e-5, atol: 1e-5, label: 'eval y' });
    });
  }
});

describe('batchnorm1d bad input', () => {
  const N = 4, C = 3;
  const x = () => Tensor.from(randn(N * C, 1), [N, C]);

  it('batchnorm1dForwardTrain', () => {
    const y = Tensor.zeros([N, C]);
    const train = (o: Partial<Record<string, unknown>> = {}) =>
      ops.batchnorm1dForwardTrain(
        (o.x ?? x()) as Tensor<'float32'>, (o.y ?? y) as Tensor<'float32'>, (o.sm ?? z(C)) as Tensor<'float32'>,
        (o.si ?? z(C)) as Tensor<'float32'>, (o.opts ?? {}) as ops.BatchNormTrainOptions,
      );
    expect(() => train({ y: Tensor.zeros([N, C + 1]) })).toThrow(ShapeError);
    expect(() => train({ y: Tensor.zeros([N, C + 1]) })).toThrow(/^y: expected shape \[4, 3\]/);
    expect(() => train({ x: Tensor.zeros([N * C]) })).toThrow(/^x: expected 2 dimensions/);
    expect(() => train({ sm: z(C + 1) })).toThrow(/^saveMean: expected shape \[3\]/);
    expect(() => train({ si: Tensor.zeros([1, C]) })).toThrow(/^saveInvstd: expected shape/);
    expect(() => train({ opts: { gamma: z(2) } })).toThrow(/^gamma: expected shape/);
    expect(() => train({ opts: { beta: z(4) } })).toThrow(/^beta: expected shape/);
    expect(() => train({ opts: { runningMean: z(2) } })).toThrow(/^runningMean: expected shape/);
    expect(() => train({ opts: { runningVar: z(2) } })).toThrow(/^runningVar: expected shape/);
    expect(() => train({ opts: { gamma: Tensor.zeros([C], { dtype: 'int32' }) } })).toThrow(DTypeError);
    expect(() => train({ opts: { gamma: Tensor.zeros([C], { dtype: 'int32' }) } })).toThrow(/^gamma: expected float32/);
    expect(() => train({ x: Tensor.zeros([N, C], { dtype: 'int32' }) })).toThrow(/^x: expected float32/);
    const d = Tensor.zeros([C]);
    d.dispose();
    expect(() => train({ sm: d })).toThrow(DisposedError);
    expect(() => train({ sm: d })).toThrow(/^saveMean: tensor has been disposed/);
    expect(() => train({ opts: { runningVar: d } })).toThrow(/^runningVar: tensor has been disposed/);
    expect(() => train({ opts: { eps: NaN } })).toThrow(ValueError);
    expect(() => train({ opts: { eps: 0 } })).toThrow(/^eps: expected a positive number/);
    expect(() => train({ opts: { eps: -1 } })).toThrow(/^eps/);
    expect(() => train({ opts: { momentum: 1.5 } })).toThrow(/^momentum: 1.5 is outside/);
    expect(() => train({ opts: { momentum: NaN } })).toThrow(/^momentum/);
    // PyTorch: "Expected more than 1 value per channel when training".
    expect(() => train({ x: Tensor.zeros([1, C]), y: Tensor.zeros([1, C]) })).toThrow(ValueError);
    expect(() => train({ x: Tensor.zeros([1, C]), y: Tensor.zeros([1, C]) })).toThrow(/^x: expected more than 1 value per channel/);
    expect(() => train({ x: Tensor.zeros([0, C]), y: Tensor.zeros([0, C]) })).toThrow(/^x: expected more than 1/);
    // Outputs must not overlap inputs or each other.
    const xx = x();
    expect(() => train({ x: xx, y: xx })).toThrow(/^x and y overlap/);
    const stats = z(2 * C);
    expect(() => train({ sm: stats.view(0, [C]), si: stats.view(1, [C]) })).toThrow(/^saveMean and saveInvstd overlap/);
    expect(() => train({ x: 'nope' })).toThrow(ArgumentError);
    expect(() => train({ x: 'nope' })).toThrow(/^x: expected a Tensor/);
  });

  it('batchnorm1dForwardEval', () => {
    const y = Tensor.zeros([N, C]);
    const ev = (o: Partial<Record<string, unknown>> = {}) =>
      ops.batchnorm1dForwardEval(
        (o.x ?? x()) as Tensor<'float32'>, (o.y ?? y) as Tensor<'float32'>, (o.rm ?? z(C)) as Tensor<'float32'>,
        (o.rv ?? Tensor.full([C], 1)) as Tensor<'float32'>, (o.opts ?? {}) as ops.BatchNormEvalOptions,
      );
    expect(() => ev({ y: Tensor.zeros([N + 1, C]) })).toThrow(/^y: expected shape/);
    expect(() => ev({ rm: z(C + 1) })).toThrow(ShapeError);
    expect(() => ev({ rm: z(C + 1) })).toThrow(/^runningMean: expected shape/);
    expect(() => ev({ rv: z(1) })).toThrow(/^runningVar: expected shape/);
    expect(() => ev({ opts: { gamma: z(1) } })).toThrow(/^gamma: expected shape/);
    expect(() => ev({ rv: Tensor.zeros([C], { dtype: 'int32' }) })).toThrow(DTypeError);
    expect(() => ev({ rv: Tensor.zeros([C], { dtype: 'int32' }) })).toThrow(/^runningVar: expected float32/);
    const d = x();
    d.dispose();
    expect(() => ev({ x: d })).toThrow(DisposedError);
    expect(() => ev({ x: d })).toThrow(/^x: tensor has been disposed/);
    expect(() => ev({ opts: { eps: NaN } })).toThrow(ValueError);
    expect(() => ev({ opts: { eps: 0 } })).toThrow(/^eps: expected a positive number/);
    const rm = z(C);
    expect(() => ev({ rm, y: rm.view(0, [1, C]), x: Tensor.zeros([1, C]) })).toThrow(/^y and runningMean overlap/);
    expect(() => ev({ x: 42 })).toThrow(ArgumentError);
    expect(() => ev({ x: 42 })).toThrow(/^x: expected a Tensor/);
  });

  it('batchnorm1dBackward', () => {
    const bw = (o: Partial<Record<string, unknown>> = {}) =>
      ops.batchnorm1dBackward(
        (o.dy ?? Tensor.zeros([N, C])) as Tensor<'float32'>, (o.x ?? x()) as Tensor<'float32'>,
        (o.sm ?? z(C)) as Tensor<'float32'>, (o.si ?? z(C)) as Tensor<'float32'>,
        (o.dx ?? Tensor.zeros([N, C])) as Tensor<'float32'>, (o.opts ?? {}) as ops.BatchNormBackwardOptions,
      );
    bw(); // valid as given
    expect(() => bw({ dy: Tensor.zeros([N, C + 1]) })).toThrow(ShapeError);
    expect(() => bw({ dy: Tensor.zeros([N, C + 1]) })).toThrow(/^dy: expected shape/);
    expect(() => bw({ dx: Tensor.zeros([N - 1, C]) })).toThrow(/^dx: expected shape/);
    expect(() => bw({ sm: z(1) })).toThrow(/^saveMean: expected shape/);
    expect(() => bw({ si: z(1) })).toThrow(/^saveInvstd: expected shape/);
    expect(() => bw({ opts: { gamma: z(1) } })).toThrow(/^gamma: expected shape/);
    expect(() => bw({ opts: { dgamma: z(1) } })).toThrow(/^dgamma: expected shape/);
    expect(() => bw({ opts: { dbeta: z(1) } })).toThrow(/^dbeta: expected shape/);
    expect(() => bw({ dy: Tensor.zeros([N, C], { dtype: 'int32' }) })).toThrow(DTypeError);
    expect(() => bw({ dy: Tensor.zeros([N, C], { dtype: 'int32' }) })).toThrow(/^dy: expected float32/);
    expect(() => bw({ opts: { dbeta: Tensor.zeros([C], { dtype: 'int32' }) } })).toThrow(/^dbeta: expected float32/);
    const d = z(C);
    d.dispose();
    expect(() => bw({ si: d })).toThrow(DisposedError);
    expect(() => bw({ opts: { dgamma: d } })).toThrow(/^dgamma: tensor has been disposed/);
    expect(() => bw({ opts: { accumulate: 'yes' } })).toThrow(ArgumentError);
    expect(() => bw({ opts: { accumulate: 'yes' } })).toThrow(/^accumulate: expected a boolean/);
    const dy = Tensor.zeros([N, C]);
    expect(() => bw({ dy, dx: dy })).toThrow(/^dy and dx overlap/);
    const g = z(C);
    expect(() => bw({ opts: { gamma: g, dgamma: g } })).toThrow(/^gamma and dgamma overlap/);
  });

  it('the native side checks scalars itself (not only the TS wrapper)', () => {
    const nat = native as unknown as Record<string, (...a: unknown[]) => void>;
    const xh = x().handle, yh = Tensor.zeros([N, C]).handle, s = () => z(C).handle;
    expect(() => nat.batchnorm1dForwardTrain!(xh, yh, null, null, NaN, 0.1, null, null, s(), s())).toThrow(/^eps/);
    expect(() => nat.batchnorm1dForwardTrain!(xh, yh, null, null, 0, 0.1, null, null, s(), s())).toThrow(ValueError);
    expect(() => nat.batchnorm1dForwardTrain!(xh, yh, null, null, 1e-5, -0.1, null, null, s(), s())).toThrow(/^momentum/);
    expect(() => nat.batchnorm1dForwardTrain!(xh, yh, null, null, 1e-5, 0.1, null, null, s())).toThrow(/^saveInvstd: expected a Tensor/);
    expect(() => nat.batchnorm1dForwardEval!(xh, yh, null, null, s(), s(), -1)).toThrow(/^eps: expected a positive/);
    expect(() => nat.batchnorm1dForwardEval!(xh, yh, null, null, s(), s(), 'a')).toThrow(ArgumentError);
    expect(() => nat.batchnorm1dBackward!(yh, xh, null, s(), s(), Tensor.zeros([N, C]).handle, null, null)).toThrow(/^accumulate/);
  });
});

// ---- BatchNorm2d (and BatchNorm1d on [N, C, L]) --------------------------------------
/** x [N, C, S] viewed as the [N·S, C] matrix the 1d references take: row n·S + s, column c. */
function toRows(x: ArrayLike<number>, N: number, C: number, S: number): Float64Array {
  const r = new Float64Array(N * C * S);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let s = 0; s < S; s++) r[(n * S + s) * C + c] = x[(n * C + c) * S + s]!;
  return r;
}
function fromRows(r: ArrayLike<number>, N: number, C: number, S: number): Float64Array {
  const x = new Float64Array(N * C * S);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let s = 0; s < S; s++) x[(n * C + c) * S + s] = r[(n * S + s) * C + c]!;
  return x;
}
const relu64 = (a: Float64Array) => a.map((v) => (v < 0 ? 0 : v));

/** The float64 BatchNorm2d reference: the 1d reference over the N·S rows of each channel. */
function refTrain2d(
  x: ArrayLike<number>, shape: number[], gamma: ArrayLike<number> | null, beta: ArrayLike<number> | null,
  eps: number, momentum: number, rm: ArrayLike<number>, rv: ArrayLike<number>, relu: boolean,
): TrainRef {
  const [N, C] = shape as [number, number], S = shape.slice(2).reduce((a, v) => a * v, 1);
  const r = refTrain(toRows(x, N, C, S), N * S, C, gamma, beta, eps, momentum, rm, rv);
  const y = fromRows(r.y, N, C, S);
  return { ...r, y: relu ? relu64(y) : y };
}

function refBackward2d(
  dy: ArrayLike<number>, x: ArrayLike<number>, y: ArrayLike<number> | null, shape: number[], gamma: ArrayLike<number> | null,
  mean: ArrayLike<number>, invstd: ArrayLike<number>,
) {
  const [N, C] = shape as [number, number], S = shape.slice(2).reduce((a, v) => a * v, 1);
  const g = y ? Float64Array.from(dy, (v, i) => (y[i]! > 0 ? v : 0)) : dy;
  const r = refBackward(toRows(g, N, C, S), toRows(x, N, C, S), N * S, C, gamma, mean, invstd);
  return { dx: fromRows(r.dx, N, C, S), dgamma: r.dgamma, dbeta: r.dbeta };
}

function runTrain2d(
  x: Float32Array, shape: number[],
  o: { gamma?: Float32Array | null; beta?: Float32Array | null; eps?: number; momentum?: number; rm?: Float32Array; rv?: Float32Array; relu?: boolean } = {},
) {
  const C = shape[1]!;
  const y = Tensor.full(shape, NaN), sm = z(C), si = z(C);
  const rm = o.rm ? Tensor.from(o.rm) : null, rv = o.rv ? Tensor.from(o.rv) : null;
  ops.batchnorm2dForwardTrain(Tensor.from(x, shape), y, sm, si, {
    gamma: o.gamma ? Tensor.from(o.gamma) : null, beta: o.beta ? Tensor.from(o.beta) : null,
    eps: o.eps, momentum: o.momentum, runningMean: rm, runningVar: rv, relu: o.relu,
  });
  return { y: y.toArray(), mean: sm.toArray(), invstd: si.toArray(), rm: rm?.toArray(), rv: rv?.toArray() };
}

describe('batchnorm2dForwardTrain / Eval / Backward against float64 loops', () => {
  // [N, C, H, W] and [N, C, L]; N = 1 with S > 1; M = N·S = 2 (the smallest);
  // many channels (split over threads); long planes.
  const shapes = [[2, 3, 4, 5], [1, 2, 3, 3], [8, 16, 8, 8], [3, 5, 7], [2, 1, 1], [1, 1, 2], [4, 600, 2, 2], [2, 3, 4096], [16, 4, 32, 32]];
  for (const shape of shapes) {
    for (const relu of [false, true]) {
      it(`[${shape}]${relu ? ' + fused ReLU' : ''}: y, saved and running stats, dx, dγ, dβ; eval`, () => {
        const C = shape[1]!, n = shape.reduce((a, v) => a * v, 1);
        const seed = n + C + (relu ? 1 : 0);
        const x = randn(n, seed, 1.7).map((v, i) => v + (Math.floor(i / (n / shape[0]! / C)) % C) * 0.3);
        const gamma = randn(C, seed + 1, 0.5).map((v) => v + 1), beta = randn(C, seed + 2);
        const rm0 = randn(C, seed + 3), rv0 = randu(C, seed + 4, 0.5, 2);
        const got = runTrain2d(x, shape, { gamma, beta, eps: 1e-5, momentum: 0.1, rm: rm0, rv: rv0, relu });
        const ref = refTrain2d(x, shape, gamma, beta, 1e-5, 0.1, rm0, rv0, relu);
        expectClose(got.y, ref.y, { rtol: 2e-5, atol: 2e-5, label: 'y' });
        expectClose(got.mean, ref.mean, { rtol: 1e-6, atol: 1e-6, label: 'saveMean' });
        expectClose(got.invstd, ref.invstd, { rtol: 1e-6, atol: 0, label: 'saveInvstd' });
        expectClose(got.rm!, ref.runningMean, { rtol: 1e-6, atol: 1e-6, label: 'runningMean' });
        expectClose(got.rv!, ref.runningVar, { rtol: 1e-6, atol: 0, label: 'runningVar' });
        if (relu) expect(got.y.every((v) => v >= 0)).toBe(true);

        // backward from the saved statistics (with y when the ReLU is fused)
        const dy = randn(n, seed + 5);
        const xt = Tensor.from(x, shape), dx = Tensor.full(shape, NaN), dg = z(C), db = z(C);
        const yt = Tensor.from(got.y, shape);
        ops.batchnorm2dBackward(Tensor.from(dy, shape), xt, Tensor.from(got.mean), Tensor.from(got.invstd), dx, {
          gamma: Tensor.from(gamma), dgamma: dg, dbeta: db, y: relu ? yt : null,
        });
        const rb = refBackward2d(dy, x, relu ? got.y : null, shape, gamma, got.mean, got.invstd);
        const M = n / C;
        expectClose(dx.toArray(), rb.dx, { rtol: 1e-4, atol: 1e-5, label: 'dx' });
        expectClose(dg.toArray(), rb.dgamma, { rtol: 1e-5, atol: 1e-5 * Math.sqrt(M), label: 'dgamma' });
        expectClose(db.toArray(), rb.dbeta, { rtol: 1e-5, atol: 1e-5 * Math.sqrt(M), label: 'dbeta' });

        // eval with the updated running stats
        const ye = Tensor.full(shape, NaN);
        ops.batchnorm2dForwardEval(xt, ye, Tensor.from(got.rm!), Tensor.from(got.rv!), {
          gamma: Tensor.from(gamma), beta: Tensor.from(beta), eps: 1e-3, relu,
        });
        const [N] = shape as [number], S = M / N;
        const re = fromRows(refEval(toRows(x, N, C, S), N * S, C, gamma, beta, got.rm!, got.rv!, 1e-3), N, C, S);
        expectClose(ye.toArray(), relu ? relu64(re) : re, { rtol: 1e-5, atol: 1e-5, label: 'eval y' });
      });
    }
  }

  it('the fused ReLU: y = max(bn(x), 0), and backward masks dy by y > 0 (NaN kept in y)', () => {
    const shape = [3, 2, 5];
    const x = randn(30, 8);
    const plain = runTrain2d(x, shape), fused = runTrain2d(x, shape, { relu: true });
    expect(Array.from(fused.y)).toEqual(Array.from(plain.y, (v) => (v < 0 ? 0 : v)));
    const dy = randn(30, 9), sm = Tensor.from(plain.mean), si = Tensor.from(plain.invstd), xt = Tensor.from(x, shape);
    const masked = Float32Array.from(dy, (v, i) => (fused.y[i]! > 0 ? v : 0));
    const a = Tensor.zeros(shape), b = Tensor.zeros(shape);
    ops.batchnorm2dBackward(Tensor.from(dy, shape), xt, sm, si, a, { y: Tensor.from(fused.y, shape) });
    ops.batchnorm2dBackward(Tensor.from(masked, shape), xt, sm, si, b);
    expect(Array.from(a.toArray())).toEqual(Array.from(b.toArray()));
    // eval: NaN input stays NaN through the ReLU
    const ye = Tensor.zeros([1, 2, 1]);
    ops.batchnorm2dForwardEval(Tensor.from([NaN, -5], [1, 2, 1]), ye, z(2), Tensor.full([2], 1), { relu: true });
    expect(Number.isNaN(ye.toArray()[0])).toBe(true);
    expect(ye.toArray()[1]).toBe(0);
  });

  it('matches central finite differences of L = Σ dy·relu(bn(x)) (float64 forward)', () => {
    const shape = [2, 3, 2, 2], C = 3, eps = 1e-5;
    const x = randn(24, 31, 1.3).map((v) => v + 0.4), dy = randn(24, 32);
    const gamma = Float32Array.from([1.5, -0.7, 0.9]), beta = Float32Array.from([0.3, 0.2, -0.1]);
    const loss = (xs: ArrayLike<number>, g: ArrayLike<number>, b: ArrayLike<number>) => {
      const { y } = refTrain2d(xs, shape, g, b, eps, 0.1, new Float64Array(C), new Float64Array(C), true);
      let s = 0;
      for (let i = 0; i < 24; i++) s += dy[i]! * y[i]!;
      return s;
    };
    const hh = 1e-6;
    const fd = (arr: Float64Array, f: (a: Float64Array) => number) =>
      Float64Array.from(arr, (_, i) => {
        const p = Float64Array.from(arr), m = Float64Array.from(arr);
        p[i] = p[i]! + hh;
        m[i] = m[i]! - hh;
        return (f(p) - f(m)) / (2 * hh);
      });
    const x64 = Float64Array.from(x), g64 = Float64Array.from(gamma), b64 = Float64Array.from(beta);
    const fwd = runTrain2d(x, shape, { gamma, beta, relu: true });
    const dx = Tensor.zeros(shape), dg = z(C), db = z(C);
    ops.batchnorm2dBackward(Tensor.from(dy, shape), Tensor.from(x, shape), Tensor.from(fwd.mean), Tensor.from(fwd.invstd), dx, {
      gamma: Tensor.from(gamma), y: Tensor.from(fwd.y, shape), dgamma: dg, dbeta: db,
    });
    expectClose(dx.toArray(), fd(x64, (a) => loss(a, g64, b64)), { rtol: 1e-4, atol: 1e-5, label: 'dx' });
    expectClose(dg.toArray(), fd(g64, (a) => loss(x64, a, b64)), { rtol: 1e-4, atol: 1e-5, label: 'dgamma' });
    expectClose(db.toArray(), fd(b64, (a) => loss(x64, g64, a)), { rtol: 1e-4, atol: 1e-5, label: 'dbeta' });
  });

  it('accumulate adds into dgamma/dbeta; false overwrites; affine=false', () => {
    const shape = [3, 4, 2, 3], C = 4, n = 72;
    const x = randn(n, 41), dy = randn(n, 42);
    const f = runTrain2d(x, shape);
    const go = (o: { dg0?: Float32Array; acc?: boolean }) => {
      const dx = Tensor.zeros(shape), dg = o.dg0 ? Tensor.from(o.dg0) : z(C), db = o.dg0 ? Tensor.from(o.dg0) : z(C);
      ops.batchnorm2dBackward(Tensor.from(dy, shape), Tensor.from(x, shape), Tensor.from(f.mean), Tensor.from(f.invstd), dx, {
        dgamma: dg, dbeta: db, accumulate: o.acc,
      });
      return { dx: dx.toArray(), dg: dg.toArray(), db: db.toArray() };
    };
    const base = go({}), prev = Float32Array.from([1, -2, 3, 0.5]);
    const acc = go({ dg0: prev, acc: true });
    expectClose(acc.dg, base.dg.map((v, i) => v + prev[i]!), { rtol: 1e-6, atol: 1e-6 });
    expectClose(acc.db, base.db.map((v, i) => v + prev[i]!), { rtol: 1e-6, atol: 1e-6 });
    expect(Array.from(acc.dx)).toEqual(Array.from(base.dx));
    const over = go({ dg0: prev, acc: false });
    expect(Array.from(over.dg)).toEqual(Array.from(base.dg));
    const ref = refBackward2d(dy, x, null, shape, null, f.mean, f.invstd);
    expectClose(base.dx, ref.dx, { rtol: 1e-4, atol: 1e-5 });
  });

  it('the [N, C] case of batchnorm1d is the [N, C, 1] case of batchnorm2d', () => {
    const N = 9, C = 5, x = randn(N * C, 50);
    const one = runTrain(x, N, C, { rm: new Float32Array(C), rv: new Float32Array(C).fill(1) });
    const two = runTrain2d(x, [N, C, 1], { rm: new Float32Array(C), rv: new Float32Array(C).fill(1) });
    expectClose(two.y, one.y, { rtol: 1e-6, atol: 1e-6 });
    expectClose(two.rv!, one.rv!, { rtol: 1e-6, atol: 0 });
  });

  it('one thread gives bit-identical results (channels are reduced in a fixed order)', async () => {
    const { setNumThreads, info } = await import('../../lib/index');
    const shape = [8, 8, 16, 16], x = randn(8 * 8 * 256, 60);
    const all = runTrain2d(x, shape, { relu: true });
    const threads = info().threads;
    setNumThreads(1);
    try {
      const one = runTrain2d(x, shape, { relu: true });
      expect(Array.from(one.y)).toEqual(Array.from(all.y));
      expect(Array.from(one.invstd)).toEqual(Array.from(all.invstd));
    } finally {
      setNumThreads(threads);
    }
  });

  it('eval on an empty batch is a no-op', () => {
    const y = Tensor.zeros([0, 3, 2, 2]);
    ops.batchnorm2dForwardEval(Tensor.zeros([0, 3, 2, 2]), y, z(3), Tensor.full([3], 1));
    expect(y.numel).toBe(0);
  });
});

describe('batchnorm2d vs PyTorch (nn.BatchNorm2d / BatchNorm1d on [N, C, L], torch 1.13, float64)', () => {
  interface Bn2Step {
    x: number[]; dy: number[]; y: number[]; dx: number[]; saveMean: number[]; saveInvstd: number[];
    runningMean: number[]; runningVar: number[]; dgamma?: number[]; dbeta?: number[];
  }
  interface Bn2Case {
    name: string; shape: number[]; affine: boolean; relu: boolean; momentum: number; eps: number;
    gamma?: number[]; beta?: number[]; steps: Bn2Step[]; eval: { x: number[]; y: number[]; shape: number[] };
  }
  for (const k of fixture<{ batchnorm: Bn2Case[] }>('conv').batchnorm) {
    it(`${k.name}: train ×2 (y, dx, dγ, dβ, running stats) then eval`, () => {
      const C = k.shape[1]!;
      const gamma = k.gamma ? Tensor.from(k.gamma) : null, beta = k.beta ? Tensor.from(k.beta) : null;
      const rm = Tensor.zeros([C]), rv = Tensor.full([C], 1);
      for (const [s, st] of k.steps.entries()) {
        const x = Tensor.from(st.x, k.shape), y = Tensor.zeros(k.shape), sm = z(C), si = z(C);
        ops.batchnorm2dForwardTrain(x, y, sm, si, {
          gamma, beta, eps: k.eps, momentum: k.momentum, runningMean: rm, runningVar: rv, relu: k.relu,
        });
        expectClose(y.toArray(), st.y, { rtol: 1e-5, atol: 1e-5, label: `step ${s} y` });
        expectClose(sm.toArray(), st.saveMean, { rtol: 1e-6, atol: 1e-6, label: `step ${s} saveMean` });
        expectClose(si.toArray(), st.saveInvstd, { rtol: 1e-6, atol: 0, label: `step ${s} saveInvstd` });
        expectClose(rm.toArray(), st.runningMean, { rtol: 1e-6, atol: 1e-6, label: `step ${s} runningMean` });
        expectClose(rv.toArray(), st.runningVar, { rtol: 1e-6, atol: 0, label: `step ${s} runningVar` });
        const dx = Tensor.zeros(k.shape), dg = k.affine ? z(C) : null, db = k.affine ? z(C) : null;
        ops.batchnorm2dBackward(Tensor.from(st.dy, k.shape), x, sm, si, dx, {
          gamma, dgamma: dg, dbeta: db, y: k.relu ? y : null,
        });
        expectClose(dx.toArray(), st.dx, { rtol: 1e-4, atol: 1e-5, label: `step ${s} dx` });
        if (k.affine) {
          expectClose(dg!.toArray(), st.dgamma!, { rtol: 1e-5, atol: 1e-5, label: `step ${s} dgamma` });
          expectClose(db!.toArray(), st.dbeta!, { rtol: 1e-5, atol: 1e-5, label: `step ${s} dbeta` });
        }
      }
      const y = Tensor.zeros(k.eval.shape);
      ops.batchnorm2dForwardEval(Tensor.from(k.eval.x, k.eval.shape), y, rm, rv, { gamma, beta, eps: k.eps, relu: k.relu });
      expectClose(y.toArray(), k.eval.y, { rtol: 1e-5, atol: 1e-5, label: 'eval y' });
    });
  }
});

describe('batchnorm2d bad input', () => {
  const shape = [2, 3, 4, 4], C = 3;
  const x = () => Tensor.from(randn(96, 1), shape);

  it('batchnorm2dForwardTrain', () => {
    const train = (o: Partial<Record<string, unknown>> = {}) =>
      ops.batchnorm2dForwardTrain(
        (o.x ?? x()) as Tensor<'float32'>, (o.y ?? Tensor.zeros(shape)) as Tensor<'float32'>, (o.sm ?? z(C)) as Tensor<'float32'>,
        (o.si ?? z(C)) as Tensor<'float32'>, (o.opts ?? {}) as ops.BatchNorm2dTrainOptions,
      );
    train();
    expect(() => train({ x: Tensor.zeros([2, 3]) })).toThrow(ShapeError);
    expect(() => train({ x: Tensor.zeros([2, 3]) })).toThrow(/^x: expected 3 or 4 dimensions \(\[N, C, L\] or \[N, C, H, W\]\), got shape \[2, 3\]/);
    expect(() => train({ x: Tensor.zeros([1, 2, 3, 4, 5]) })).toThrow(/^x: expected 3 or 4 dimensions/);
    expect(() => train({ y: Tensor.zeros([2, 3, 16]) })).toThrow(/^y: expected shape \[2, 3, 4, 4\], got \[2, 3, 16\]/);
    expect(() => train({ sm: z(2) })).toThrow(/^saveMean: expected shape \[3\]/);
    expect(() => train({ opts: { gamma: z(4) } })).toThrow(/^gamma: expected shape \[3\]/);
    expect(() => train({ opts: { runningVar: Tensor.zeros([3], { dtype: 'int32' }) } })).toThrow(DTypeError);
    expect(() => train({ opts: { relu: 'yes' } })).toThrow(ArgumentError);
    expect(() => train({ opts: { relu: 'yes' } })).toThrow(/^relu: expected a boolean/);
    expect(() => train({ opts: { momentum: 2 } })).toThrow(/^momentum: 2 is outside/);
    expect(() => train({ opts: { eps: 0 } })).toThrow(/^eps: expected a positive number/);
    // Fewer than 2 values per channel: N·H·W = 1.
    expect(() => train({ x: Tensor.zeros([1, 3, 1, 1]), y: Tensor.zeros([1, 3, 1, 1]) })).toThrow(ValueError);
    expect(() => train({ x: Tensor.zeros([1, 3, 1, 1]), y: Tensor.zeros([1, 3, 1, 1]) })).toThrow(/^x: expected more than 1 value per channel when training/);
    expect(() => train({ x: Tensor.zeros([0, 3, 4]), y: Tensor.zeros([0, 3, 4]) })).toThrow(/^x: expected more than 1 value per channel/);
    train({ x: Tensor.zeros([1, 3, 2]), y: Tensor.zeros([1, 3, 2]) }); // N = 1 with two positions is fine
    const xx = x();
    expect(() => train({ x: xx, y: xx })).toThrow(/^x and y overlap/);
    const d = x();
    d.dispose();
    expect(() => train({ x: d })).toThrow(DisposedError);
  });

  it('batchnorm2dForwardEval and batchnorm2dBackward', () => {
    const ev = (o: Partial<Record<string, unknown>> = {}) =>
      ops.batchnorm2dForwardEval(
        (o.x ?? x()) as Tensor<'float32'>, (o.y ?? Tensor.zeros(shape)) as Tensor<'float32'>, (o.rm ?? z(C)) as Tensor<'float32'>,
        (o.rv ?? Tensor.full([C], 1)) as Tensor<'float32'>, (o.opts ?? {}) as ops.BatchNorm2dEvalOptions,
      );
    ev();
    expect(() => ev({ rm: z(4) })).toThrow(/^runningMean: expected shape \[3\]/);
    expect(() => ev({ opts: { relu: 1 } })).toThrow(/^relu: expected a boolean/);
    expect(() => ev({ x: Tensor.zeros([2, 3]) })).toThrow(/^x: expected 3 or 4 dimensions/);

    const bw = (o: Partial<Record<string, unknown>> = {}) =>
      ops.batchnorm2dBackward(
        (o.dy ?? Tensor.zeros(shape)) as Tensor<'float32'>, (o.x ?? x()) as Tensor<'float32'>, (o.sm ?? z(C)) as Tensor<'float32'>,
        (o.si ?? z(C)) as Tensor<'float32'>, (o.dx ?? Tensor.zeros(shape)) as Tensor<'float32'>,
        (o.opts ?? {}) as ops.BatchNorm2dBackwardOptions,
      );
    bw();
    expect(() => bw({ dy: Tensor.zeros([2, 3, 16]) })).toThrow(/^dy: expected shape \[2, 3, 4, 4\]/);
    expect(() => bw({ opts: { y: Tensor.zeros([2, 3, 4, 5]) } })).toThrow(/^y: expected shape \[2, 3, 4, 4\]/);
    expect(() => bw({ opts: { y: Tensor.zeros(shape, { dtype: 'int32' }) } })).toThrow(/^y: expected float32/);
    expect(() => bw({ dx: Tensor.zeros([2, 3, 4, 3]) })).toThrow(/^dx: expected shape/);
    const dy = Tensor.zeros(shape);
    expect(() => bw({ dy, dx: dy })).toThrow(/^dy and dx overlap/);
    const yy = Tensor.zeros(shape);
    expect(() => bw({ dx: yy, opts: { y: yy } })).toThrow(/^y and dx overlap/);
    bw({ dy, opts: { y: dy } }); // y may share memory with dy (both inputs)
    expect(() => bw({ opts: { accumulate: 'no' } })).toThrow(/^accumulate: expected a boolean/);
  });

  it('the native side checks relu and accumulate itself', () => {
    const nat = native as unknown as Record<string, (...a: unknown[]) => void>;
    const xh = x().handle, yh = Tensor.zeros(shape).handle, s = () => z(C).handle;
    expect(() => nat.batchnorm2dForwardTrain!(xh, yh, null, null, 1e-5, 0.1, null, null, s(), s())).toThrow(/^relu: expected a boolean/);
    expect(() => nat.batchnorm2dForwardEval!(xh, yh, null, null, s(), s(), 1e-5)).toThrow(/^relu/);
    expect(() => nat.batchnorm2dBackward!(yh, xh, null, null, s(), s(), Tensor.zeros(shape).handle, null, null)).toThrow(/^accumulate/);
  });
});
