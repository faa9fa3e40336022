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
