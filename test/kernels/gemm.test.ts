import { describe, expect, it } from 'vitest';
import { ArgumentError, DTypeError, DisposedError, ShapeError, Tensor, ValueError, info, ops } from '../../lib/index';
import { expectClose, fixture, randn } from '../helpers';

// ---- plain references (float64 accumulation) --------------------------------

/** C = alpha·op(A)·op(B) + beta·C on dense row-major arrays; op(A) is M×K, op(B) is K×N. */
function refGemm(
  tA: boolean, tB: boolean, M: number, N: number, K: number, alpha: number,
  A: ArrayLike<number>, B: ArrayLike<number>, beta: number, C: ArrayLike<number>,
): Float64Array {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (tA ? A[k * M + i]! : A[i * K + k]!) * (tB ? B[j * K + k]! : B[k * N + j]!);
      out[i * N + j] = alpha * s + (beta === 0 ? 0 : beta * C[i * N + j]!);
    }
  return out;
}

function refLinear(x: ArrayLike<number>, W: ArrayLike<number>, b: ArrayLike<number> | null, N: number, I: number, O: number) {
  const y = new Float64Array(N * O);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++) {
      let s = b ? b[o]! : 0;
      for (let i = 0; i < I; i++) s += x[n * I + i]! * W[o * I + i]!;
      y[n * O + o] = s;
    }
  return y;
}

function refLinearBackward(x: ArrayLike<number>, W: ArrayLike<number>, dy: ArrayLike<number>, N: number, I: number, O: number) {
  const dx = new Float64Array(N * I), dW = new Float64Array(O * I), db = new Float64Array(O);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++) {
      const g = dy[n * O + o]!;
      db[o] += g;
      for (let i = 0; i < I; i++) {
        dx[n * I + i] += g * W[o * I + i]!;
        dW[o * I + i] += g * x[n * I + i]!;
      }
    }
  return { dx, dW, db };
}

/** Tolerance for an fp32 dot product of length K over O(1) inputs. */
const tol = (K: number) => ({ rtol: 1e-5, atol: 2e-6 * Math.max(K, 1) });

/** A tensor filled with any value, NaN and ±Inf included (Tensor.full only takes finite ones). */
const filled = (shape: number[], v: number) => Tensor.from(new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(v), shape);

const mat = (rows: number, cols: number, seed: number) => Tensor.from(randn(rows * cols, seed), [rows, cols]);

// ---- gemm ------------------------------------------------------------------

describe('gemm', () => {
  it(`reports its implementation (${info().blas})`, () => {
    expect(['openblas', 'cblas', 'fallback']).toContain(info().blas);
  });

  const sizes: Array<[number, number, number]> = [
    [1, 1, 1],
    [7, 13, 5],
    [129, 65, 257],
    [13, 40, 300], // K > one packed block, N not a multiple of the register tile
  ];
  for (const [M, N, K] of sizes)
    for (const tA of [false, true])
      for (const tB of [false, true])
        it(`matches the triple loop: ${M}x${N}x${K} transA=${tA} transB=${tB}, alpha/beta`, () => {
          const a = randn(M * K, M + 3 * N + K), b = randn(K * N, 2 * M + N + 5), c = randn(M * N, 11);
          const A = Tensor.from(a, tA ? [K, M] : [M, K]);
          const B = Tensor.from(b, tB ? [N, K] : [K, N]);
          const C = Tensor.from(c, [M, N]);
          ops.gemm(A, B, C, { transA: tA, transB: tB, alpha: 1.5, beta: -0.5 });
          expectClose(C.toArray(), refGemm(tA, tB, M, N, K, 1.5, a, b, -0.5, c), tol(K));
          // defaults: alpha 1, beta 0
          ops.gemm(A, B, C, { transA: tA, transB: tB });
          expectClose(C.toArray(), refGemm(tA, tB, M, N, K, 1, a, b, 0, c), tol(K));
        });

  it('beta = 0 overwrites C without reading it (NaN/Inf in C do not propagate)', () => {
    for (const [M, N, K] of [[3, 5, 4], [37, 70, 33]] as const) {
      const a = randn(M * K, 1), b = randn(K * N, 2);
      const C = filled([M, N], NaN);
      C.set(C.toArray().map((v, i) => (i % 3 === 0 ? Infinity : v)));
      ops.gemm(Tensor.from(a, [M, K]), Tensor.from(b, [K, N]), C, { alpha: 2, beta: 0 });
      const got = C.toArray();
      expect(got.every(Number.isFinite)).toBe(true);
      expectClose(got, refGemm(false, false, M, N, K, 2, a, b, 0, new Float32Array(M * N)), tol(K));
    }
  });

  it('K = 0 gives C = beta·C; alpha = 0 skips the product; empty M or N is a no-op', () => {
    const c = randn(12, 3);
    const C = Tensor.from(c, [3, 4]);
    ops.gemm(Tensor.zeros([3, 0]), Tensor.zeros([0, 4]), C, { beta: 0.5 });
    expectClose(C.toArray(), c.map((v) => 0.5 * v), { rtol: 0, atol: 0 });
    C.set(new Float32Array(12).fill(NaN));
    ops.gemm(Tensor.zeros([3, 0]), Tensor.zeros([0, 4]), C, { beta: 0 });
    expect(Array.from(C.toArray())).toEqual(new Array(12).fill(0));
    // alpha = 0: A and B are not used (a NaN there does not reach C)
    C.set(c);
    ops.gemm(filled([3, 2], NaN), filled([2, 4], NaN), C, { alpha: 0, beta: 2 });
    expectClose(C.toArray(), c.map((v) => 2 * v), { rtol: 0, atol: 0 });
    // M = 0 / N = 0
    ops.gemm(Tensor.zeros([0, 5]), Tensor.zeros([5, 4]), Tensor.zeros([0, 4]));
    const C2 = Tensor.from(c, [3, 4]).rows(0, 3);
    ops.gemm(Tensor.zeros([3, 5]), Tensor.zeros([5, 0]), Tensor.zeros([3, 0]));
    expect(Array.from(C2.toArray())).toEqual(Array.from(c));
  });

  it('accepts row-strided views (column blocks of bigger matrices) and leaves the rest alone', () => {
    const M = 21, N = 19, K = 35;
    // A = columns [3, 3+K) of a [M, 50] matrix; B = op(B) stored [N, K] inside a [N, 40] matrix (transposed use);
    // C = columns [5, 5+N) of a [M, 32] matrix.
    const pa = randn(M * 50, 7), pb = randn(N * 40, 8), pc = randn(M * 32, 9);
    const PA = Tensor.from(pa, [M, 50]), PB = Tensor.from(pb, [N, 40]), PC = Tensor.from(pc, [M, 32]);
    const A = PA.view(3, [M, K], [50, 1]);
    const B = PB.view(2, [N, K], [40, 1]);
    const C = PC.view(5, [M, N], [32, 1]);
    ops.gemm(A, B, C, { transB: true, alpha: 0.5, beta: 1 });
    const a = new Float64Array(M * K), b = new Float64Array(N * K), c = new Float64Array(M * N);
    for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) a[i * K + k] = pa[i * 50 + 3 + k]!;
    for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) b[j * K + k] = pb[j * 40 + 2 + k]!;
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) c[i * N + j] = pc[i * 32 + 5 + j]!;
    const ref = refGemm(false, true, M, N, K, 0.5, a, b, 1, c);
    const got = PC.toArray();
    const expected = Float64Array.from(pc);
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) expected[i * 32 + 5 + j] = ref[i * N + j]!;
    expectClose(got, expected, tol(K)); // block written, everything around it untouched
  });

  it('C may be a column block of the same matrix as A when they do not overlap', () => {
    const M = 6, K = 4, N = 3;
    const p = randn(M * 8, 21);
    const P = Tensor.from(p, [M, 8]);
    const A = P.view(0, [M, K], [8, 1]); // columns 0..3
    const C = P.view(5, [M, N], [8, 1]); // columns 5..7
    const b = randn(K * N, 22);
    ops.gemm(A, Tensor.from(b, [K, N]), C);
    const a = new Float64Array(M * K);
    for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) a[i * K + k] = p[i * 8 + k]!;
    const ref = refGemm(false, false, M, N, K, 1, a, b, 0, new Float64Array(M * N));
    const got = P.toArray();
    for (let i = 0; i < M; i++) expectClose(got.subarray(i * 8 + 5, i * 8 + 8), ref.subarray(i * N, i * N + N), tol(K));
  });

  it('large products on the parallel path (forward and backward shapes of a layer)', () => {
    const M = 256, N = 512, K = 784;
    const x = randn(M * K, 31), w = randn(N * K, 32, 0.05);
    const X = Tensor.from(x, [M, K]), W = Tensor.from(w, [N, K]);
    const Y = Tensor.zeros([M, N]);
    ops.gemm(X, W, Y, { transB: true }); // y = x·Wᵀ
    expectClose(Y.toArray(), refGemm(false, true, M, N, K, 1, x, w, 0, []), tol(K));
    const dy = randn(M * N, 33);
    const dW = Tensor.zeros([N, K]);
    ops.gemm(Tensor.from(dy, [M, N]), X, dW, { transA: true }); // dW = dyᵀ·x
    expectClose(dW.toArray(), refGemm(true, false, N, K, M, 1, dy, x, 0, []), tol(M));
  });

  it('rejects bad input', () => {
    const A = mat(3, 4, 1), B = mat(4, 5, 2), C = Tensor.zeros([3, 5]);
    expect(() => ops.gemm(A, mat(3, 5, 2), C)).toThrow(ShapeError);
    expect(() => ops.gemm(A, mat(3, 5, 2), C)).toThrow(/^B: op\(B\) has 3 rows but op\(A\) has 4 columns/);
    expect(() => ops.gemm(A, B, C, { transA: true })).toThrow(/^B: /);
    expect(() => ops.gemm(A, B, Tensor.zeros([3, 4]))).toThrow(/^C: expected shape \[3, 5\], got \[3, 4\]/);
    expect(() => ops.gemm(Tensor.zeros([12]), B, C)).toThrow(/^A: expected 2 dimensions/);
    expect(() => ops.gemm(A, Tensor.zeros([4, 5, 1]), C)).toThrow(/^B: expected 2 dimensions/);
    expect(() => ops.gemm(Tensor.zeros([3, 4], { dtype: 'int32' }) as never, B, C)).toThrow(DTypeError);
    expect(() => ops.gemm(A, Tensor.zeros([4, 5], { dtype: 'int32' }) as never, C)).toThrow(/^B: expected float32/);
    expect(() => ops.gemm(A, B, Tensor.zeros([3, 5], { dtype: 'int32' }) as never)).toThrow(/^C: expected float32/);
    const d = mat(3, 4, 1);
    d.dispose();
    expect(() => ops.gemm(d, B, C)).toThrow(DisposedError);
    expect(() => ops.gemm(d, B, C)).toThrow(/^A: /);
    expect(() => ops.gemm(A, B, C, { alpha: NaN })).toThrow(ValueError);
    expect(() => ops.gemm(A, B, C, { alpha: NaN })).toThrow(/^alpha/);
    expect(() => ops.gemm(A, B, C, { beta: Infinity })).toThrow(/^beta/);
    expect(() => ops.gemm(A, B, C, { alpha: 1e39 })).toThrow(/^alpha: .*float32/);
    expect(() => ops.gemm(A, B, C, { transA: 1 as never })).toThrow(ArgumentError);
    expect(() => ops.gemm(A, B, C, { transB: 'yes' as never })).toThrow(/^transB/);
    expect(() => ops.gemm(null as never, B, C)).toThrow(/^A: expected a Tensor/);
    // strided views: a column stride other than 1, or rows that overlap
    const P = Tensor.zeros([8, 8]);
    expect(() => ops.gemm(P.view(0, [3, 4], [8, 2]), B, C)).toThrow(/^A: expected unit stride/);
    expect(() => ops.gemm(A, B, P.view(0, [3, 5], [2, 1]))).toThrow(/^C: rows overlap/);
    // C must not overlap A or B
    const S = Tensor.zeros([4, 4]);
    expect(() => ops.gemm(S, S, S)).toThrow(ValueError);
    expect(() => ops.gemm(S.view(0, [2, 4]), mat(4, 4, 3), S.view(8, [2, 4]))).not.toThrow();
    expect(() => ops.gemm(mat(2, 4, 3), S.view(0, [4, 2], [4, 1]), S.view(1, [2, 2], [4, 1]))).toThrow(/^C and B overlap/);
    expect(() => ops.gemm(S.view(0, [2, 4]), mat(4, 2, 3), S.view(2, [2, 2], [4, 1]))).toThrow(/^C and A overlap/);
  });
});

// ---- linear ----------------------------------------------------------------

describe('linear', () => {
  for (const [N, I, O] of [[1, 1, 1], [7, 13, 5], [64, 100, 33]] as const)
    it(`forward/backward match the loops (${N}x${I} -> ${O})`, () => {
      const x = randn(N * I, N + I), w = randn(O * I, O + 1), b = randn(O, 5), dy = randn(N * O, 6);
      const X = Tensor.from(x, [N, I]), W = Tensor.from(w, [O, I]), B = Tensor.from(b, [O]);
      const Y = filled([N, O], NaN);
      ops.linearForward(X, W, B, Y);
      expectClose(Y.toArray(), refLinear(x, w, b, N, I, O), tol(I));
      ops.linearForward(X, W, null, Y);
      expectClose(Y.toArray(), refLinear(x, w, null, N, I, O), tol(I));

      const ref = refLinearBackward(x, w, dy, N, I, O);
      const DY = Tensor.from(dy, [N, O]);
      const dX = filled([N, I], NaN), dW = filled([O, I], NaN), dB = filled([O], NaN);
      ops.linearBackward(X, W, DY, dX, dW, dB);
      expectClose(dX.toArray(), ref.dx, tol(O));
      expectClose(dW.toArray(), ref.dW, tol(N));
      expectClose(dB.toArray(), ref.db, tol(N));
      // accumulate adds to dW/db (dx is skipped here)
      ops.linearBackward(X, W, DY, null, dW, dB, true);
      expectClose(dW.toArray(), ref.dW.map((v) => 2 * v), tol(2 * N));
      expectClose(dB.toArray(), ref.db.map((v) => 2 * v), tol(2 * N));
      // no bias
      ops.linearBackward(X, W, DY, dX, dW, null, false);
      expectClose(dW.toArray(), ref.dW, tol(N));
    });

  it('gradients match central finite differences (float64)', () => {
    const N = 3, I = 4, O = 2;
    const x = Array.from(randn(N * I, 41)), w = Array.from(randn(O * I, 42)), b = Array.from(randn(O, 43));
    const g = Array.from(randn(N * O, 44)); // upstream gradient: loss = Σ g ⊙ y
    const loss = (xx: number[], ww: number[], bb: number[]) => refLinear(xx, ww, bb, N, I, O).reduce((s, v, i) => s + v * g[i]!, 0);
    const fd = (arr: number[], which: 0 | 1 | 2) =>
      arr.map((_, i) => {
        const h = 1e-6;
        const p = arr.slice(), m = arr.slice();
        p[i]! += h;
        m[i]! -= h;
        const args = (v: number[]): [number[], number[], number[]] => (which === 0 ? [v, w, b] : which === 1 ? [x, v, b] : [x, w, v]);
        return (loss(...args(p)) - loss(...args(m))) / (2 * h);
      });
    const dX = Tensor.zeros([N, I]), dW = Tensor.zeros([O, I]), dB = Tensor.zeros([O]);
    ops.linearBackward(Tensor.from(x, [N, I]), Tensor.from(w, [O, I]), Tensor.from(g, [N, O]), dX, dW, dB);
    expectClose(dX.toArray(), fd(x, 0), { rtol: 1e-4, atol: 1e-5 });
    expectClose(dW.toArray(), fd(w, 1), { rtol: 1e-4, atol: 1e-5 });
    expectClose(dB.toArray(), fd(b, 2), { rtol: 1e-4, atol: 1e-5 });
  });

  it('matches PyTorch (F.linear + autograd, relu) on the fixture', () => {
    type Case = {
      name: string; N: number; in: number; out: number;
      x: number[]; W: number[]; b: number[] | null; dy: number[];
      y: number[]; dx: number[]; dW: number[]; db: number[] | null;
      relu: number[]; dh: number[]; reluGrad: number[];
    };
    const { cases } = fixture<{ cases: Case[] }>('gemm');
    expect(cases.length).toBeGreaterThan(0);
    for (const c of cases) {
      const X = Tensor.from(c.x, [c.N, c.in]), W = Tensor.from(c.W, [c.out, c.in]);
      const B = c.b ? Tensor.from(c.b, [c.out]) : null;
      const Y = Tensor.zeros([c.N, c.out]);
      ops.linearForward(X, W, B, Y);
      expectClose(Y.toArray(), c.y, { rtol: 1e-5, atol: 1e-5, label: `${c.name} y` });
      const dX = Tensor.zeros([c.N, c.in]), dW = Tensor.zeros([c.out, c.in]), dB = c.b ? Tensor.zeros([c.out]) : null;
      ops.linearBackward(X, W, Tensor.from(c.dy, [c.N, c.out]), dX, dW, dB);
      expectClose(dX.toArray(), c.dx, { rtol: 1e-5, atol: 1e-5, label: `${c.name} dx` });
      expectClose(dW.toArray(), c.dW, { rtol: 1e-5, atol: 1e-5, label: `${c.name} dW` });
      if (dB) expectClose(dB.toArray(), c.db!, { rtol: 1e-5, atol: 1e-5, label: `${c.name} db` });
      // ReLU in place on y, then its backward in place on dh
      ops.reluForward(Y, Y);
      expectClose(Y.toArray(), c.relu, { rtol: 1e-5, atol: 1e-5, label: `${c.name} relu` });
      const DH = Tensor.from(c.dh, [c.N, c.out]);
      ops.reluBackward(DH, Y, DH);
      expectClose(DH.toArray(), c.reluGrad, { rtol: 0, atol: 0, label: `${c.name} relu grad` });
    }
  });

  it('rejects bad input', () => {
    const X = mat(4, 3, 1), W = mat(2, 3, 2), B = Tensor.zeros([2]), Y = Tensor.zeros([4, 2]);
    expect(() => ops.linearForward(X, mat(2, 4, 2), B, Y)).toThrow(/^W: expected shape \[\*, 3\]/);
    expect(() => ops.linearForward(X, W, Tensor.zeros([3]), Y)).toThrow(/^b: expected shape \[2\]/);
    expect(() => ops.linearForward(X, W, B, Tensor.zeros([4, 3]))).toThrow(/^y: expected shape \[4, 2\]/);
    expect(() => ops.linearForward(Tensor.zeros([12]), W, B, Y)).toThrow(/^x: expected 2 dimensions/);
    expect(() => ops.linearForward(X, Tensor.zeros([2, 3], { dtype: 'int32' }) as never, B, Y)).toThrow(DTypeError);
    expect(() => ops.linearForward(X, W, B, Tensor.zeros([4, 2], { dtype: 'int32' }) as never)).toThrow(/^y: expected float32/);
    expect(() => ops.linearForward(X, W, B, X.view(0, [4, 2]))).toThrow(/^y and x overlap/);
    const d = mat(2, 3, 2);
    d.dispose();
    expect(() => ops.linearForward(X, d, B, Y)).toThrow(DisposedError);
    expect(() => ops.linearForward(X, d, B, Y)).toThrow(/^W: /);
    const P = Tensor.zeros([4, 6]);
    expect(() => ops.linearForward(P.view(0, [4, 3], [6, 1]), W, B, Y)).toThrow(/^x: expected a contiguous/);

    const DY = mat(4, 2, 3), dX = Tensor.zeros([4, 3]), dW = Tensor.zeros([2, 3]), dB = Tensor.zeros([2]);
    expect(() => ops.linearBackward(X, W, mat(4, 3, 3), dX, dW, dB)).toThrow(/^dy: expected shape \[4, 2\]/);
    expect(() => ops.linearBackward(X, W, DY, Tensor.zeros([4, 2]), dW, dB)).toThrow(/^dx: expected shape \[4, 3\]/);
    expect(() => ops.linearBackward(X, W, DY, dX, Tensor.zeros([3, 2]), dB)).toThrow(/^dW: expected shape \[2, 3\]/);
    expect(() => ops.linearBackward(X, W, DY, dX, dW, Tensor.zeros([4]))).toThrow(/^db: expected shape \[2\]/);
    expect(() => ops.linearBackward(X, W, DY, dX, dW, dB, 1 as never)).toThrow(ArgumentError);
    expect(() => ops.linearBackward(X, W, DY, dX, dW, dB, 1 as never)).toThrow(/^accumulate/);
    expect(() => ops.linearBackward(X, W, DY, X, dW, dB)).toThrow(/^dx and x overlap/);
    expect(() => ops.linearBackward(X, W, DY, dX, W, dB)).toThrow(/^dW and W overlap/);
    const G = Tensor.zeros([8]);
    expect(() => ops.linearBackward(X, W, DY, dX, G.view(0, [2, 3]), G.view(5, [2]))).toThrow(/^dW and db overlap/);
    expect(() => ops.linearBackward(X, W, DY, dX, dW, Tensor.zeros([2], { dtype: 'int32' }) as never)).toThrow(/^db: expected float32/);
    expect(() => ops.linearBackward(X, W, d, dX, dW, dB)).toThrow(/^dy: tensor has been disposed/);
  });
});

// ---- bias and relu ------------------------------------------------------------

describe('bias', () => {
  for (const [N, C] of [[1, 1], [5, 17], [3000, 70]] as const)
    it(`biasAdd / biasGrad match the loops (${N}x${C})`, () => {
      const y = randn(N * C, 1), b = randn(C, 2);
      const Y = Tensor.from(y, [N, C]);
      ops.biasAdd(Y, Tensor.from(b, [C]));
      expectClose(Y.toArray(), y.map((v, i) => v + b[i % C]!), { rtol: 1e-6, atol: 1e-6 });
      const sums = new Float64Array(C);
      for (let i = 0; i < N * C; i++) sums[i % C] += y[i]!;
      const dB = filled([C], NaN);
      ops.biasGrad(Tensor.from(y, [N, C]), dB);
      expectClose(dB.toArray(), sums, { rtol: 1e-6, atol: 1e-5 });
      ops.biasGrad(Tensor.from(y, [N, C]), dB, true);
      expectClose(dB.toArray(), sums.map((v) => 2 * v), { rtol: 1e-6, atol: 1e-5 });
    });

  it('biasGrad over many rows and columns (parallel path) sums in double', () => {
    const N = 4096, C = 300;
    const dy = new Float32Array(N * C).fill(0.1);
    const dB = Tensor.zeros([C]);
    ops.biasGrad(Tensor.from(dy, [N, C]), dB);
    // a float32 running sum of 4096 × 0.1f drifts by ~1e-4; in double the only error is the final rounding
    expectClose(dB.toArray(), new Array(C).fill(Math.fround(N * Math.fround(0.1))), { rtol: 1e-7, atol: 0 });
  });

  it('rejects bad input', () => {
    const Y = Tensor.zeros([3, 4]);
    expect(() => ops.biasAdd(Y, Tensor.zeros([3]))).toThrow(/^b: expected shape \[4\]/);
    expect(() => ops.biasAdd(Tensor.zeros([12]), Tensor.zeros([4]))).toThrow(/^y: expected 2 dimensions/);
    expect(() => ops.biasAdd(Y, Tensor.zeros([4], { dtype: 'int32' }) as never)).toThrow(DTypeError);
    expect(() => ops.biasAdd(Y, Y.view(0, [4]))).toThrow(/^y and b overlap/);
    const d = Tensor.zeros([4]);
    d.dispose();
    expect(() => ops.biasAdd(Y, d)).toThrow(/^b: tensor has been disposed/);
    expect(() => ops.biasGrad(Y, Tensor.zeros([3]))).toThrow(/^db: expected shape \[4\]/);
    expect(() => ops.biasGrad(Tensor.zeros([4]), Tensor.zeros([4]))).toThrow(/^dy: expected 2 dimensions/);
    expect(() => ops.biasGrad(Y, Tensor.zeros([4]), 'no' as never)).toThrow(/^accumulate/);
    expect(() => ops.biasGrad(Y, Y.view(4, [4]))).toThrow(/^db and dy overlap/);
    expect(() => ops.biasGrad(Y, d)).toThrow(DisposedError);
  });
});

describe('relu', () => {
  for (const n of [1, 37, 200_001])
    it(`forward/backward match the loops, in and out of place (n=${n})`, () => {
      const x = randn(n, n), dy = randn(n, n + 1);
      const X = Tensor.from(x), Y = filled([n], NaN);
      ops.reluForward(X, Y);
      const y = x.map((v) => (v < 0 ? 0 : v));
      expect(Array.from(Y.toArray())).toEqual(Array.from(y));
      ops.reluForward(X, X); // in place
      expect(Array.from(X.toArray())).toEqual(Array.from(y));
      const DY = Tensor.from(dy), DX = filled([n], NaN);
      ops.reluBackward(DY, Y, DX);
      const dx = dy.map((g, i) => (y[i]! > 0 ? g : 0));
      expect(Array.from(DX.toArray())).toEqual(Array.from(dx));
      ops.reluBackward(DY, Y, DY); // in place
      expect(Array.from(DY.toArray())).toEqual(Array.from(dx));
    });

  it('keeps NaN, zeroes -Inf, keeps +Inf; the gradient passes only where y > 0', () => {
    const X = Tensor.from([NaN, -Infinity, Infinity, -1, 0, 2], [2, 3]);
    const Y = Tensor.zeros([2, 3]);
    ops.reluForward(X, Y);
    expect(Array.from(Y.toArray())).toEqual([NaN, 0, Infinity, 0, 0, 2]);
    const DX = Tensor.zeros([2, 3]);
    ops.reluBackward(Tensor.full([2, 3], 3), Y, DX);
    expect(Array.from(DX.toArray())).toEqual([0, 0, 3, 0, 0, 3]);
  });

  it('rejects bad input', () => {
    const X = Tensor.zeros([2, 3]);
    expect(() => ops.reluForward(X, Tensor.zeros([3, 2]))).toThrow(/^y: expected shape \[2, 3\]/);
    expect(() => ops.reluForward(X, Tensor.zeros([2, 3], { dtype: 'int32' }) as never)).toThrow(DTypeError);
    const flat = Tensor.zeros([7]);
    expect(() => ops.reluForward(flat.view(0, [6]), flat.view(1, [6]))).toThrow(/^y and x overlap/);
    expect(() => ops.reluForward(null as never, X)).toThrow(/^x: expected a Tensor/);
    const d = Tensor.zeros([2, 3]);
    d.dispose();
    expect(() => ops.reluForward(d, X)).toThrow(DisposedError);
    expect(() => ops.reluBackward(X, Tensor.zeros([6]), X)).toThrow(/^y: expected shape \[2, 3\]/);
    expect(() => ops.reluBackward(X, X, Tensor.zeros([2, 2]))).toThrow(/^dx: expected shape \[2, 3\]/);
    expect(() => ops.reluBackward(X, Tensor.zeros([2, 3]), Tensor.zeros([2, 3], { dtype: 'int32' }) as never)).toThrow(/^dx: expected float32/);
    expect(() => ops.reluBackward(Tensor.zeros([2, 3]), X, X)).toThrow(/^dx and y overlap/);
    expect(() => ops.reluBackward(flat.view(0, [6]), Tensor.zeros([6]), flat.view(1, [6]))).toThrow(/^dx and dy overlap/);
    expect(() => ops.reluBackward(X, d, X)).toThrow(/^y: tensor has been disposed/);
  });
});
