// The loss pieces (lib/losses) and the memory bank (lib/nn/memory-bank.ts)
// on their own, against float64 references of their formulas. The methods'
// use of them is held to PyTorch by methods.test.ts and to the recorded
// loss sequences by golden-losses.test.ts.
import { describe, expect, it } from 'vitest';
import { ArgumentError, ShapeError, Tensor, ops } from '../lib/index';
import { InfoNCE, L2Normalize, MixedCosine } from '../lib/losses/index';
import { MemoryBank } from '../lib/nn/memory-bank';
import { expectClose, randn, randperm, randu } from './helpers';

const dev = () => 'cpu' as const;
const TAU = 0.3;

/** Unit rows of an [n, d] matrix (float64 math, float32 result). */
function unitRows(n: number, d: number, seed: number): Float32Array {
  const x = randn(n * d, seed);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[i * d + j]! ** 2;
    for (let j = 0; j < d; j++) x[i * d + j]! /= Math.sqrt(s);
  }
  return x;
}
const t = (a: Float32Array, shape: number[]) => Tensor.from(a, shape);
const dot = (a: Float32Array, i: number, b: Float32Array, j: number, d: number) => {
  let s = 0;
  for (let c = 0; c < d; c++) s += a[i * d + c]! * b[j * d + c]!;
  return s;
};

/**
 * Soft-target cross-entropy over float64 logits rows: row i's target is
 * λ_i on column a_i and 1−λ_i on column b_i. Returns the mean loss and
 * G = dL/dlogits (mean over the rows).
 */
function softCE(logits: number[][], a: number[], b: number[], lam: number[]): { loss: number; G: number[][] } {
  const n = logits.length;
  let loss = 0;
  const G = logits.map((row, i) => {
    const m = Math.max(...row);
    const z = row.reduce((s, v) => s + Math.exp(v - m), 0);
    const lse = m + Math.log(z);
    loss += lse - lam[i]! * row[a[i]!]! - (1 - lam[i]!) * row[b[i]!]!;
    return row.map((v, j) => (Math.exp(v - lse) - (j === a[i] ? lam[i]! : 0) - (j === b[i] ? 1 - lam[i]! : 0)) / n);
  });
  return { loss: loss / n, G };
}

describe('InfoNCE', () => {
  const N = 5, D = 4, K = 7;
  const q = unitRows(N, D, 1), k = unitRows(N, D, 2), neg = unitRows(K, D, 3);
  const perm = randperm(N, 4), lam = randu(N, 5, 0.5, 1);

  /** Reference over the columns [k; neg] (batch layout) with mixed targets. */
  function batchRef(withNeg: boolean, mixed: boolean) {
    const cols = (i: number) => [...Array.from({ length: N }, (_, j) => dot(q, i, k, j, D) / TAU), ...(withNeg ? Array.from({ length: K }, (_, j) => dot(q, i, neg, j, D) / TAU) : [])];
    const logits = Array.from({ length: N }, (_, i) => cols(i));
    const idx = Array.from({ length: N }, (_, i) => i);
    const { loss, G } = softCE(logits, idx, mixed ? [...perm] : idx, mixed ? [...lam] : idx.map(() => 1));
    const dq = new Float64Array(N * D), dk = new Float64Array(N * D);
    for (let i = 0; i < N; i++)
      for (let j = 0; j < G[i]!.length; j++)
        for (let c = 0; c < D; c++) {
          const key = j < N ? k[j * D + c]! : neg[(j - N) * D + c]!;
          dq[i * D + c]! += (G[i]![j]! * key) / TAU;
          if (j < N) dk[j * D + c]! += (G[i]![j]! * q[i * D + c]!) / TAU;
        }
    return { loss, dq, dk };
  }

  for (const [withNeg, mixed] of [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ] as const) {
    it(`batch layout${withNeg ? ' with negatives' : ''}${mixed ? ', mixed labels' : ''}: loss, dq, dk`, () => {
      const nce = new InfoNCE({ temperature: TAU, device: dev });
      const dq = Tensor.zeros([N, D]), dk = Tensor.zeros([N, D]);
      const mix = mixed ? { perm: Tensor.from(perm, [N]), lam: Tensor.from(lam, [N]) } : null;
      const loss = nce.forwardBackward({ q: t(q, [N, D]), k: t(k, [N, D]), negatives: withNeg ? t(neg, [K, D]) : undefined, mix, dq, dk });
      const ref = batchRef(withNeg, mixed);
      expect(Math.abs(loss - ref.loss)).toBeLessThan(1e-5 * ref.loss);
      expectClose(dq.toArray(), ref.dq, { rtol: 1e-4, atol: 1e-6, label: 'dq' });
      expectClose(dk.toArray(), ref.dk, { rtol: 1e-4, atol: 1e-6, label: 'dk' });
      nce.dispose();
    });
  }

  it("pair layout (MoCo's baseline): [q·k_i, q·negatives]/τ, class 0; loss, dq, dk", () => {
    const nce = new InfoNCE({ temperature: TAU, device: dev });
    const dq = Tensor.zeros([N, D]), dk = Tensor.from(new Float32Array(N * D).fill(7), [N, D]); // dk is overwritten
    const loss = nce.forwardBackward({ q: t(q, [N, D]), k: t(k, [N, D]), negatives: t(neg, [K, D]), batchNegatives: false, dq, dk });
    const logits = Array.from({ length: N }, (_, i) => [dot(q, i, k, i, D) / TAU, ...Array.from({ length: K }, (_, j) => dot(q, i, neg, j, D) / TAU)]);
    const zeros = logits.map(() => 0);
    const { loss: want, G } = softCE(logits, zeros, zeros, zeros.map(() => 1));
    const wdq = new Float64Array(N * D), wdk = new Float64Array(N * D);
    for (let i = 0; i < N; i++)
      for (let c = 0; c < D; c++) {
        wdq[i * D + c] = (G[i]![0]! * k[i * D + c]!) / TAU;
        wdk[i * D + c] = (G[i]![0]! * q[i * D + c]!) / TAU;
        for (let j = 0; j < K; j++) wdq[i * D + c]! += (G[i]![j + 1]! * neg[j * D + c]!) / TAU;
      }
    expect(Math.abs(loss - want)).toBeLessThan(1e-5 * want);
    expectClose(dq.toArray(), wdq, { rtol: 1e-4, atol: 1e-6, label: 'dq' });
    expectClose(dk.toArray(), wdk, { rtol: 1e-4, atol: 1e-6, label: 'dk' });
    nce.dispose();
  });

  it('NT-Xent over 2N rows: self-similarity masked, the other view the class; loss and dz', () => {
    const n2 = 2 * N;
    const z = unitRows(n2, D, 6);
    const nce = new InfoNCE({ temperature: TAU, device: dev });
    const dz = Tensor.zeros([n2, D]);
    const loss = nce.ntXent(t(z, [n2, D]), dz);
    const logits = Array.from({ length: n2 }, (_, i) => Array.from({ length: n2 }, (_, j) => (i === j ? -1e9 : dot(z, i, z, j, D) / TAU)));
    const other = Array.from({ length: n2 }, (_, i) => (i + N) % n2);
    const { loss: want, G } = softCE(logits, other, other, other.map(() => 1));
    const wdz = new Float64Array(n2 * D);
    for (let i = 0; i < n2; i++)
      for (let j = 0; j < n2; j++)
        for (let c = 0; c < D; c++) {
          wdz[i * D + c]! += (G[i]![j]! * z[j * D + c]!) / TAU; // as the query
          wdz[j * D + c]! += (G[i]![j]! * z[i * D + c]!) / TAU; // as the key
        }
    expect(Math.abs(loss - want)).toBeLessThan(1e-5 * want);
    expectClose(dz.toArray(), wdz, { rtol: 1e-4, atol: 1e-6, label: 'dz' });
    nce.dispose();
  });

  it("MoCo's logits rows padded to a multiple of 4 floats give the loss and gradients of unpadded rows, bit for bit", () => {
    // K = 6: the batch layout has W = N + K = 11 columns, the pair layout 1 + K = 7, so both pad (to 12 and 8).
    const K6 = 6, neg6 = unitRows(K6, D, 7), inv = 1 / TAU;
    const Q = t(q, [N, D]), Kt = t(k, [N, D]), Neg = t(neg6, [K6, D]);
    const mix = { perm: Tensor.from(perm, [N]), lam: Tensor.from(lam, [N]) };
    /** InfoNCE's computation before the padding: contiguous [N, W] logits (the loss, dq, dk). */
    function unpadded(pair: boolean, mixed: boolean) {
      const W = pair ? 1 + K6 : N + K6, logits = Tensor.zeros([N, W]), dq = Tensor.zeros([N, D]), dk = Tensor.zeros([N, D]);
      let sum: number;
      if (pair) {
        const pos = logits.view(0, [N, 1], [W, 1]), ln = logits.view(1, [N, K6], [W, 1]);
        ops.rowdot(Q, Kt, pos, inv);
        ops.gemm(Q, Neg, ln, { transB: true, alpha: inv });
        sum = ops.mixedCrossEntropy(logits, { targets: Tensor.zeros([N], { dtype: 'int32' }), scale: 1 / N });
        ops.gemm(ln, Neg, dq, { alpha: inv });
        ops.rowScaleAdd(dq, pos, Kt, inv);
        ops.rowScaleAdd(dk, pos, Q, inv);
      } else {
        const lk = logits.view(0, [N, N], [W, 1]), ln = logits.view(N, [N, K6], [W, 1]);
        ops.gemm(Q, Kt, lk, { transB: true, alpha: inv });
        ops.gemm(Q, Neg, ln, { transB: true, alpha: inv });
        sum = ops.mixedCrossEntropy(logits, { perm: mixed ? mix.perm : undefined, lam: mixed ? mix.lam : undefined, scale: 1 / N });
        ops.gemm(lk, Kt, dq, { alpha: inv });
        ops.gemm(ln, Neg, dq, { alpha: inv, beta: 1 });
        ops.gemm(lk, Q, dk, { transA: true, alpha: inv });
      }
      return { loss: sum / N, dq: dq.toArray(), dk: dk.toArray() };
    }
    for (const [pair, mixed] of [[false, false], [false, true], [true, false]] as const) {
      const nce = new InfoNCE({ temperature: TAU, device: dev });
      const dq = Tensor.zeros([N, D]), dk = Tensor.zeros([N, D]);
      // Twice: the second call reuses the workspace, whose padding the first left as it was.
      for (let call = 0; call < 2; call++) {
        const loss = nce.forwardBackward({ q: Q, k: Kt, negatives: Neg, batchNegatives: !pair, mix: mixed ? mix : null, dq, dk });
        const want = unpadded(pair, mixed), label = `${pair ? 'pair' : 'batch'}${mixed ? ' mixed' : ''} call ${call}`;
        expect(loss, `${label} loss`).toBe(want.loss);
        expect(Array.from(dq.toArray()), `${label} dq`).toEqual(Array.from(want.dq));
        expect(Array.from(dk.toArray()), `${label} dk`).toEqual(Array.from(want.dk));
      }
      nce.dispose();
    }
  });

  it('misuse is a typed error naming the argument', () => {
    const nce = new InfoNCE({ temperature: TAU, device: dev });
    const Q = t(q, [N, D]), Kt = t(k, [N, D]), dq = Tensor.zeros([N, D]);
    const mix = { perm: Tensor.from(perm, [N]), lam: Tensor.from(lam, [N]) };
    expect(() => nce.forwardBackward({ q: Q, k: Tensor.zeros([N + 1, D]), dq })).toThrow(/k: expected \[5, 4\], got \[6, 4\]/);
    expect(() => nce.forwardBackward({ q: Q, k: Kt, dq: Tensor.zeros([N, D + 1]) })).toThrow(ShapeError);
    expect(() => nce.forwardBackward({ q: Q, k: Kt, negatives: Tensor.zeros([K, D + 1]), dq })).toThrow(/negatives: expected rows of 4 values/);
    expect(() => nce.forwardBackward({ q: Q, k: Kt, batchNegatives: false, dq })).toThrow(/negatives: the pair layout/);
    expect(() => nce.forwardBackward({ q: Q, k: Kt, negatives: t(neg, [K, D]), batchNegatives: false, mix, dq })).toThrow(ArgumentError);
    expect(() => nce.ntXent(Tensor.zeros([N, D]), Tensor.zeros([N, D]))).toThrow(/z: expected two views/);
    expect(() => new InfoNCE({ temperature: 0, device: dev })).toThrow(/temperature/);
    nce.dispose();
  });
});

describe('MixedCosine', () => {
  const N = 6, D = 5;
  const p = unitRows(N, D, 11), k = unitRows(N, D, 12);
  const perm = randperm(N, 13), lam = randu(N, 14, 0.5, 1);

  it('loss 2 − 2·(λ·p_i·k_i + (1−λ)·p_i·k_π(i)) averaged, and dp', () => {
    const cos = new MixedCosine({ device: dev });
    const dp = Tensor.zeros([N, D]);
    const loss = cos.forwardBackward({ p: t(p, [N, D]), k: t(k, [N, D]), mix: { perm: Tensor.from(perm, [N]), lam: Tensor.from(lam, [N]) }, dp });
    let want = 0;
    const wdp = new Float64Array(N * D);
    for (let i = 0; i < N; i++) {
      want += 2 - 2 * (lam[i]! * dot(p, i, k, i, D) + (1 - lam[i]!) * dot(p, i, k, perm[i]!, D));
      for (let c = 0; c < D; c++) wdp[i * D + c] = (-2 * (lam[i]! * k[i * D + c]! + (1 - lam[i]!) * k[perm[i]! * D + c]!)) / N;
    }
    expect(Math.abs(loss - want / N)).toBeLessThan(1e-6);
    expectClose(dp.toArray(), wdp, { rtol: 1e-5, atol: 1e-7, label: 'dp' });
    cos.dispose();
  });

  it('symmetric pairs: online [x̃1; x̃2], target [x2; x1], the draw doubled', () => {
    const F = 3, x1 = randn(N * F, 15), xk = randn(N * F, 16);
    const xq = new Float32Array(N * F);
    for (let i = 0; i < N; i++) for (let c = 0; c < F; c++) xq[i * F + c] = lam[i]! * x1[i * F + c]! + (1 - lam[i]!) * x1[perm[i]! * F + c]!;
    const mix = { perm: Tensor.from(perm, [N]), lam: Tensor.from(lam, [N]), permHost: perm, lamHost: lam };
    const cos = new MixedCosine({ symmetric: true, device: dev });
    const r = cos.pairs({ n: N, xq: t(xq, [N, F]), xk: t(xk, [N, F]), x1: t(x1, [N, F]), mix });
    const x2mixed = new Float32Array(N * F);
    for (let i = 0; i < N; i++) for (let c = 0; c < F; c++) x2mixed[i * F + c] = lam[i]! * xk[i * F + c]! + (1 - lam[i]!) * xk[perm[i]! * F + c]!;
    expectClose(r.online.toArray(), [...xq, ...x2mixed], { rtol: 1e-6, atol: 1e-6, label: 'online' });
    expect([...r.target.toArray()]).toEqual([...xk, ...x1]);
    expect([...r.mix!.perm.toArray()]).toEqual([...perm, ...Array.from(perm, (j) => j + N)]);
    expect([...r.mix!.lam.toArray()]).toEqual([...lam, ...lam]);
    // Asymmetric: the views as they are.
    const a = new MixedCosine({ device: dev }).pairs({ n: N, xq: t(xq, [N, F]), xk: t(xk, [N, F]), x1: t(x1, [N, F]), mix });
    expect([a.online.toArray(), a.target.toArray(), a.mix]).toEqual([xq, xk, mix]);
    cos.dispose();
  });
});

describe('L2Normalize', () => {
  it('forward unit rows, backward (dy − y·(y·dy))/‖x‖; backward before forward is an error', () => {
    const N = 4, D = 3, x = randn(N * D, 21), dy = randn(N * D, 22);
    const norm = new L2Normalize(dev);
    expect(() => norm.backward(t(dy, [N, D]))).toThrow(/needs a forward first/);
    const y = norm.forward(t(x, [N, D])).toArray();
    const g = norm.gradOutput();
    expect(g.shape).toEqual([N, D]);
    g.set(dy);
    const dx = norm.backward(g).toArray();
    for (let i = 0; i < N; i++) {
      const r = Math.hypot(...x.subarray(i * D, i * D + D));
      const yd = dot(y, i, dy, i, D);
      for (let c = 0; c < D; c++) {
        expect(y[i * D + c]).toBeCloseTo(x[i * D + c]! / r, 6);
        expect(dx[i * D + c]).toBeCloseTo((dy[i * D + c]! - y[i * D + c]! * yd) / r, 5);
      }
    }
    norm.dispose();
  });
});

describe('MemoryBank', () => {
  it('starts as unit rows from its Philox stream; enqueue wraps FIFO; state under its checkpoint names', () => {
    const K = 5, D = 3;
    const a = new MemoryBank(K, D, { init: { seed: 9, offset: 64 } });
    const b = new MemoryBank(K, D, { init: { seed: 9, offset: 64 } });
    const c = new MemoryBank(K, D, { init: { seed: 9, offset: 80 } });
    const rows = a.keys.toArray();
    for (let i = 0; i < K; i++) expect(Math.hypot(...rows.subarray(i * D, i * D + D))).toBeCloseTo(1, 6);
    expect(b.keys.toArray()).toEqual(rows);
    expect(c.keys.toArray()).not.toEqual(rows);
    // 3 rows at 0, then 3 more: rows 3, 4 and (wrapping) 0.
    const k1 = Float32Array.from({ length: 3 * D }, (_, i) => 1 + i), k2 = Float32Array.from({ length: 3 * D }, (_, i) => 100 + i);
    a.enqueue(t(k1, [3, D]));
    expect(a.ptr).toBe(3);
    a.enqueue(t(k2, [3, D]));
    expect(a.ptr).toBe(1);
    const after = a.keys.toArray();
    expect([...after.subarray(0, D)]).toEqual([...k2.subarray(2 * D)]);
    expect([...after.subarray(D, 3 * D)]).toEqual([...k1.subarray(D)]);
    expect([...after.subarray(3 * D)]).toEqual([...k2.subarray(0, 2 * D)]);
    expect(Object.keys(a.stateTensors())).toEqual(['queue']);
    expect(a.stateTensors().queue).toBe(a.keys);
    expect(a.stateScalars()).toEqual({ queuePtr: 1 });
    b.loadScalars({ queuePtr: 4 });
    expect(b.ptr).toBe(4);
    expect(() => b.loadScalars({ queuePtr: 5 })).toThrow(/queuePtr: 5 does not fit a queue of 5/);
    expect(() => b.loadScalars({})).toThrow(ShapeError);
    expect(b.ptr).toBe(4);
    expect(() => new MemoryBank(0, D, { init: { seed: 0, offset: 0 } })).toThrow(/size: expected a positive integer/);
    for (const m of [a, b, c]) m.dispose();
  });
});
