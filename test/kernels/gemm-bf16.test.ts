// The bf16 gemm (native/cpu/gemm_bf16.cpp, `precision: 'bf16'`) against a
// plain loop over the same bf16-rounded inputs (tight: only the float32
// accumulation differs) and against float32 (loose: the rounding of the
// inputs is the whole difference), in all four transposition forms, with
// sizes that are not multiples of the 12 × 32 register tile, an odd K, K
// over several 512-deep blocks, products on the multi-threaded path,
// strided views, beta 0 (C not read) / 1 / other, and the linear ops.
// Where this machine cannot run bf16, only the errors are checked.
import { describe, expect, it } from 'vitest';
import { ArgumentError, DeviceError, Tensor, ValueError, info, ops, setNumThreads } from '../../lib/index';
import { caught, expectClose, randn } from '../helpers';

const bf16 = info().bf16.available;

// ---- plain references ---------------------------------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** x rounded to bfloat16, to nearest with ties to even (PyTorch's x.bfloat16()), as a number. */
function toBf16(x: number): number {
  f32[0] = x;
  const u = u32[0]!;
  if ((u & 0x7f800000) === 0x7f800000) return f32[0]!; // Inf, NaN: unchanged
  u32[0] = ((u + 0x7fff + ((u >>> 16) & 1)) >>> 0) & 0xffff0000;
  return f32[0]!;
}
const rounded = (a: ArrayLike<number>) => Float32Array.from(a, toBf16);

/**
 * alpha·op(A)·op(B) + beta·C in double over dense row-major arrays, and per
 * element the scale of its rounding: |alpha|·Σ_k |a_ik·b_kj| + |beta·c_ij|.
 */
function reference(
  tA: boolean, tB: boolean, M: number, N: number, K: number, alpha: number,
  A: ArrayLike<number>, B: ArrayLike<number>, beta: number, C: ArrayLike<number>,
): { value: Float64Array; scale: Float64Array } {
  const value = new Float64Array(M * N), scale = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0, m = 0;
      for (let k = 0; k < K; k++) {
        const p = (tA ? A[k * M + i]! : A[i * K + k]!) * (tB ? B[j * K + k]! : B[k * N + j]!);
        s += p;
        m += Math.abs(p);
      }
      const c = beta === 0 ? 0 : beta * C[i * N + j]!;
      value[i * N + j] = alpha * s + c;
      scale[i * N + j] = Math.abs(alpha) * m + Math.abs(c);
    }
  return { value, scale };
}

/**
 * The largest |got − value| / scale. Summing K products in float32 (in any
 * order) then scaling and adding beta·C errs by at most (K + 2)·2⁻²⁴ of the
 * scale (to first order): the tight bound of the bf16-rounded reference.
 * bf16-rounding both inputs errs by up to 2⁻⁸ of each product's size: the
 * loose one against float32.
 */
function worst(got: Float32Array, r: { value: Float64Array; scale: Float64Array }): number {
  let w = 0;
  for (let i = 0; i < got.length; i++) w = Math.max(w, Math.abs(got[i]! - r.value[i]!) / Math.max(r.scale[i]!, 1e-30));
  return w;
}
const tight = (K: number) => (K + 2) * 2 ** -24;
const LOOSE = 1e-2;

/** One bf16 gemm C = alpha·op(A)·op(B) + beta·C on random inputs, checked both ways. */
function checkGemm(tA: boolean, tB: boolean, M: number, N: number, K: number, alpha: number, beta: number, seed: number): void {
  const a = randn(M * K, seed), b = randn(K * N, seed + 1), c = randn(M * N, seed + 2);
  const C = Tensor.from(c, [M, N]);
  ops.gemm(Tensor.from(a, tA ? [K, M] : [M, K]), Tensor.from(b, tB ? [N, K] : [K, N]), C, { transA: tA, transB: tB, alpha, beta, precision: 'bf16' });
  const got = C.toArray();
  const near = worst(got, reference(tA, tB, M, N, K, alpha, rounded(a), rounded(b), beta, c));
  expect(near, 'against the bf16-rounded reference').toBeLessThanOrEqual(tight(K));
  const off = worst(got, reference(tA, tB, M, N, K, alpha, a, b, beta, c));
  expect(off, 'against float32').toBeLessThanOrEqual(LOOSE);
  // The inputs were rounded (this is not a float32 gemm passing the tight
  // test): the result is far nearer the rounded inputs' product.
  if (K > 4) expect(off).toBeGreaterThan(10 * near);
}

// ---- gemm ----------------------------------------------------------------------

describe.runIf(bf16)('gemm, precision bf16', () => {
  // [M, N, K]: one element; odd everything; an exact register tile with one k
  // pair; K odd over three 512-deep blocks; big enough for several threads.
  const sizes: Array<[number, number, number]> = [
    [1, 1, 1],
    [7, 13, 5],
    [12, 32, 2],
    [25, 33, 3],
    [37, 70, 1031],
    [129, 65, 257],
    [130, 200, 171],
  ];
  for (const [M, N, K] of sizes)
    for (const tA of [false, true])
      for (const tB of [false, true])
        it(`${M}x${N}x${K} transA=${tA} transB=${tB}: beta 0, 1, -0.5`, () => {
          checkGemm(tA, tB, M, N, K, 1, 0, M + 3 * N + K);
          checkGemm(tA, tB, M, N, K, 1, 1, 2 * M + N + 5);
          checkGemm(tA, tB, M, N, K, 1.5, -0.5, M + N + 7 * K);
        });

  it("the three forms of a Linear layer's gemms (y = x·Wᵀ, dx = dy·W, dW += dyᵀ·x) at training sizes", () => {
    const n = 160, inF = 97, outF = 75;
    checkGemm(false, true, n, outF, inF, 1, 0, 41); // y = x·Wᵀ
    checkGemm(false, false, n, inF, outF, 1, 0, 42); // dx = dy·W
    checkGemm(true, false, outF, inF, n, 1, 1, 43); // dW += dyᵀ·x
  });

  it('rounds to nearest even, as PyTorch does', () => {
    // 1 + 2⁻⁸ is halfway between the bf16 neighbours 1 and 1 + 2⁻⁷: ties go
    // to the even one (1); 1 + 3·2⁻⁸ ties to 1 + 2⁻⁶; just above a tie rounds up.
    const x = [1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, -(1 + 2 ** -8 + 2 ** -20), 3.14159, 1e-3];
    const C = Tensor.zeros([x.length, 1]);
    ops.gemm(Tensor.from(Float32Array.from(x), [x.length, 1]), Tensor.from(Float32Array.of(1), [1, 1]), C, { precision: 'bf16' });
    expect(Array.from(C.toArray())).toEqual(x.map(toBf16));
    expect(x.map(toBf16).slice(0, 4)).toEqual([1, 1 + 2 ** -6, 1 + 2 ** -7, -(1 + 2 ** -7)]);
  });

  it('beta = 0 does not read C; K = 0 and alpha = 0 scale C; strided views', () => {
    const M = 37, N = 70, K = 33;
    const a = randn(M * K, 1), b = randn(K * N, 2);
    const C = Tensor.from(new Float32Array(M * N).fill(NaN), [M, N]);
    ops.gemm(Tensor.from(a, [M, K]), Tensor.from(b, [K, N]), C, { precision: 'bf16' });
    expect(C.toArray().every(Number.isFinite)).toBe(true);
    const c = randn(12, 3);
    const C2 = Tensor.from(c, [3, 4]);
    ops.gemm(Tensor.zeros([3, 0]), Tensor.zeros([0, 4]), C2, { beta: 0.5, precision: 'bf16' });
    expect(Array.from(C2.toArray())).toEqual(Array.from(c, (v) => Math.fround(0.5 * v)));
    ops.gemm(Tensor.from(new Float32Array(6).fill(NaN), [3, 2]), Tensor.zeros([2, 4]), C2, { alpha: 0, beta: 0, precision: 'bf16' });
    expect(Array.from(C2.toArray())).toEqual(new Array(12).fill(0));
    // A: columns [3, 3+K) of [M, 50]; B: [N, K] inside [N, 40], transposed; C: columns [5, 5+N) of [M, 80].
    const pa = randn(M * 50, 7), pb = randn(N * 40, 8), pc = randn(M * 80, 9);
    const PC = Tensor.from(pc, [M, 80]);
    ops.gemm(Tensor.from(pa, [M, 50]).view(3, [M, K], [50, 1]), Tensor.from(pb, [N, 40]).view(2, [N, K], [40, 1]), PC.view(5, [M, N], [80, 1]), {
      transB: true, alpha: 0.5, beta: 1, precision: 'bf16',
    });
    const sa = new Float32Array(M * K), sb = new Float32Array(N * K), sc = new Float32Array(M * N);
    for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) sa[i * K + k] = toBf16(pa[i * 50 + 3 + k]!);
    for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) sb[j * K + k] = toBf16(pb[j * 40 + 2 + k]!);
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) sc[i * N + j] = pc[i * 80 + 5 + j]!;
    const r = reference(false, true, M, N, K, 0.5, sa, sb, 1, sc);
    const got = PC.toArray();
    const block = new Float32Array(M * N);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < 80; j++) if (j < 5 || j >= 5 + N) expect(got[i * 80 + j]).toBe(pc[i * 80 + j]); // untouched around the block
      block.set(got.subarray(i * 80 + 5, i * 80 + 5 + N), i * N);
    }
    expect(worst(block, r)).toBeLessThanOrEqual(tight(K));
  });

  it('gives the same bits on one thread and on every core', () => {
    const M = 150, N = 140, K = 300;
    const A = Tensor.from(randn(M * K, 5), [M, K]), B = Tensor.from(randn(N * K, 6), [N, K]);
    const run = (threads: number) => {
      setNumThreads(threads);
      const C = Tensor.zeros([M, N]);
      ops.gemm(A, B, C, { transB: true, precision: 'bf16' });
      return C.toArray();
    };
    const all = info().threads;
    try {
      expect(run(1)).toEqual(run(Math.max(all, 2)));
    } finally {
      setNumThreads('auto');
    }
  });
});

// ---- linear ops ----------------------------------------------------------------

describe.runIf(bf16)('linear forward/backward, precision bf16', () => {
  it('y = bf16 gemm + float32 bias; dx, dW, db as their references', () => {
    const N = 45, I = 37, O = 29;
    const x = randn(N * I, 11), w = randn(O * I, 12, 0.2), b = randn(O, 13), dy = randn(N * O, 14);
    const X = Tensor.from(x, [N, I]), W = Tensor.from(w, [O, I]), Bb = Tensor.from(b, [O]), Y = Tensor.zeros([N, O]);
    ops.linearForward(X, W, Bb, Y, 'bf16');
    const zero = new Float32Array(N * O);
    const fwd = reference(false, true, N, O, I, 1, rounded(x), rounded(w), 0, zero);
    for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) fwd.value[n * O + o] += b[o]!, fwd.scale[n * O + o] += Math.abs(b[o]!);
    expect(worst(Y.toArray(), fwd)).toBeLessThanOrEqual(tight(I));

    const DY = Tensor.from(dy, [N, O]), DX = Tensor.zeros([N, I]);
    const dw0 = randn(O * I, 15), db0 = randn(O, 16);
    const DW = Tensor.from(dw0, [O, I]), DB = Tensor.from(db0, [O]);
    ops.linearBackward(X, W, DY, DX, DW, DB, true, 'bf16');
    expect(worst(DX.toArray(), reference(false, false, N, I, O, 1, rounded(dy), rounded(w), 0, new Float32Array(N * I)))).toBeLessThanOrEqual(tight(O));
    expect(worst(DW.toArray(), reference(true, false, O, I, N, 1, rounded(dy), rounded(x), 1, dw0))).toBeLessThanOrEqual(tight(N));
    // db is a float32 sum of float32 dy (no rounding to bf16).
    const db = Float64Array.from(db0, (v, o) => v + Array.from({ length: N }, (_, n) => dy[n * O + o]!).reduce((s, g) => s + g, 0));
    expectClose(DB.toArray(), db, { rtol: 1e-6, atol: 1e-6 });
    // Overwriting (accumulate false) and no dx: dW = dyᵀ·x alone.
    ops.linearBackward(X, W, DY, null, DW, null, false, 'bf16');
    expect(worst(DW.toArray(), reference(true, false, O, I, N, 1, rounded(dy), rounded(x), 0, dw0))).toBeLessThanOrEqual(tight(N));
  });

  it('differs from the float32 op by bf16 rounding only', () => {
    const N = 64, I = 200, O = 48;
    const X = Tensor.from(randn(N * I, 21), [N, I]), W = Tensor.from(randn(O * I, 22, 0.1), [O, I]);
    const y32 = Tensor.zeros([N, O]), y16 = Tensor.zeros([N, O]);
    ops.linearForward(X, W, null, y32);
    ops.linearForward(X, W, null, y16, 'bf16');
    const a = y32.toArray(), c = y16.toArray();
    const rms = Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
    const maxDiff = a.reduce((m, v, i) => Math.max(m, Math.abs(v - c[i]!)), 0);
    expect(maxDiff).toBeGreaterThan(0);
    expect(maxDiff).toBeLessThan(LOOSE * rms * Math.sqrt(I) / 2); // the products' sizes ~ rms·√I
  });
});

// ---- errors ------------------------------------------------------------------

describe('precision errors', () => {
  const A = Tensor.from(randn(12, 1), [3, 4]), B = Tensor.from(randn(20, 2), [4, 5]), C = Tensor.zeros([3, 5]);

  it('an unknown precision is a ValueError naming precision; a non-string an ArgumentError', () => {
    expect(() => ops.gemm(A, B, C, { precision: 'fp16' as never })).toThrow(ValueError);
    expect(() => ops.gemm(A, B, C, { precision: 'fp16' as never })).toThrow(/^precision: expected 'fp32' or 'bf16', got 'fp16'/);
    expect(() => ops.linearForward(A, Tensor.zeros([2, 4]), null, Tensor.zeros([3, 2]), 'tf32' as never)).toThrow(/^precision: /);
    expect(() => ops.checkPrecision(16 as never)).toThrow(ArgumentError);
    expect(() => ops.checkPrecision('fp32')).not.toThrow();
  });

  it("'bf16' on a device that cannot run it is a DeviceError naming precision and why", () => {
    const e = caught(() => ops.checkPrecision('bf16', 'cuda'));
    expect(e).toBeInstanceOf(DeviceError);
    expect(e.message).toMatch(/^precision: 'bf16' gemms run on the CPU only .*use 'fp32' on cuda:0/);
    if (bf16) return;
    // This machine or kernel set has none (test/precision.test.ts forces the avx2 set to see it where bf16 exists).
    const why = info().bf16.reason!;
    for (const f of [() => ops.checkPrecision('bf16'), () => ops.gemm(A, B, C, { precision: 'bf16' })]) {
      const err = caught(f);
      expect(err).toBeInstanceOf(DeviceError);
      expect(err.message).toBe(`precision: 'bf16' is not available here: ${why}; use 'fp32'`);
    }
  });
});
