import { describe, expect, it } from 'vitest';
import { DisposedError, ShapeError, Tensor, ValueError, ops } from '../../lib/index';
import { expectClose, randn } from '../helpers';

describe('ema', () => {
  it('matches t = m·t + (1−m)·s over the whole buffer', () => {
    const n = 100_003; // odd size: exercises the tail past any vector width
    const t0 = randn(n, 1), s = randn(n, 2);
    const t = Tensor.from(t0), src = Tensor.from(s);
    ops.ema(t, src, 0.99);
    const ref = t0.map((v, i) => 0.99 * v + 0.01 * s[i]!);
    expectClose(t.toArray(), ref, { rtol: 1e-6, atol: 1e-7 });
  });

  it('m = 1 keeps the target, m = 0 copies the source', () => {
    const t = Tensor.from([1, 2, 3]), s = Tensor.from([4, 5, 6]);
    ops.ema(t, s, 1);
    expect(Array.from(t.toArray())).toEqual([1, 2, 3]);
    ops.ema(t, s, 0);
    expect(Array.from(t.toArray())).toEqual([4, 5, 6]);
  });

  it('rejects bad input', () => {
    const t = Tensor.zeros([3]);
    expect(() => ops.ema(t, Tensor.zeros([4]), 0.9)).toThrow(/source: shape \[4\]/);
    expect(() => ops.ema(t, Tensor.zeros([3]), NaN)).toThrow(ValueError);
    // target = source is a no-op; a partial overlap would race on CUDA
    const w = Tensor.from([1, 2, 3, 4]);
    ops.ema(w, w, 0.5);
    expect(Array.from(w.toArray())).toEqual([1, 2, 3, 4]);
    expect(() => ops.ema(w.view(1, [3]), w.view(0, [3]), 0.5)).toThrow(/^target and source overlap/);
    expect(() => ops.ema(t, Tensor.zeros([3]), 1.5)).toThrow(/momentum/);
    expect(() => ops.ema(t, Tensor.zeros([3], { dtype: 'int32' }) as never, 0.5)).toThrow(/source: expected float32/);
    const d = Tensor.zeros([3]);
    d.dispose();
    expect(() => ops.ema(t, d, 0.5)).toThrow(DisposedError);
  });
});

describe('queueEnqueue', () => {
  // Plain reference: row-by-row ring write.
  function refEnqueue(q: Float32Array, K: number, D: number, keys: Float32Array, N: number, ptr: number) {
    for (let i = 0; i < N; i++) for (let d = 0; d < D; d++) q[((ptr + i) % K) * D + d] = keys[i * D + d]!;
    return (ptr + N) % K;
  }

  it('writes rows in FIFO order and wraps when K is not a multiple of N', () => {
    const K = 10, D = 3, N = 4;
    const q = Tensor.zeros([K, D]);
    const ref = new Float32Array(K * D);
    let ptr = 0, refPtr = 0;
    for (let step = 0; step < 7; step++) {
      const keys = randn(N * D, 100 + step);
      ptr = ops.queueEnqueue(q, Tensor.from(keys, [N, D]), ptr);
      refPtr = refEnqueue(ref, K, D, keys, N, refPtr);
      expect(ptr).toBe(refPtr);
      expect(Array.from(q.toArray())).toEqual(Array.from(ref));
    }
  });

  it('N == K replaces the whole queue', () => {
    const q = Tensor.zeros([3, 2]);
    expect(ops.queueEnqueue(q, Tensor.from([1, 2, 3, 4, 5, 6], [3, 2]), 2)).toBe(2);
    expect(Array.from(q.toArray())).toEqual([3, 4, 5, 6, 1, 2]);
  });

  it('rejects bad input', () => {
    const q = Tensor.zeros([4, 2]);
    expect(() => ops.queueEnqueue(q, Tensor.zeros([5, 2]), 0)).toThrow(/keys: 5 rows do not fit/);
    expect(() => ops.queueEnqueue(q, Tensor.zeros([2, 3]), 0)).toThrow(ShapeError);
    expect(() => ops.queueEnqueue(q, Tensor.zeros([2, 2]), 4)).toThrow(/ptr: 4 is outside/);
    expect(() => ops.queueEnqueue(q, Tensor.zeros([2, 2]), 1.5)).toThrow(/ptr: expected an integer/);
    expect(() => ops.queueEnqueue(q, q.rows(0, 2), 0)).toThrow(/overlap/);
  });
});
