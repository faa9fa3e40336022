import { describe, expect, it } from 'vitest';
import { DTypeError, ShapeError, Tensor, ValueError, ops } from '../../lib/index';
import { expectClose, randn, rng } from '../helpers';

describe('axpby', () => {
  it('computes a·x + b·y, and b = 0 ignores NaN in y', () => {
    const x = randn(1001, 1), y0 = randn(1001, 2);
    const y = Tensor.from(y0);
    ops.axpby(2, Tensor.from(x), -0.5, y);
    expectClose(y.toArray(), x.map((v, i) => 2 * v - 0.5 * y0[i]!));
    const yn = Tensor.full([3], NaN);
    ops.axpby(3, Tensor.from([1, 2, 3]), 0, yn);
    expect(Array.from(yn.toArray())).toEqual([3, 6, 9]);
  });
  it('rejects mismatched sizes and NaN scalars', () => {
    expect(() => ops.axpby(1, Tensor.zeros([3]), 1, Tensor.zeros([4]))).toThrow(/x: shape \[3\] does not match y/);
    expect(() => ops.axpby(NaN, Tensor.zeros([3]), 1, Tensor.zeros([3]))).toThrow(ValueError);
    // in place is allowed (y = (a + b)·y); a partial overlap is a race on CUDA
    const v = Tensor.from([1, 2, 3, 4]);
    ops.axpby(2, v, 1, v);
    expect(Array.from(v.toArray())).toEqual([3, 6, 9, 12]);
    expect(() => ops.axpby(1, v.view(0, [3]), 1, v.view(1, [3]))).toThrow(/^y and x overlap/);
    expect(() => ops.axpby(1, v.view(0, [3]), 1, v.view(1, [3]))).toThrow(ValueError);
  });
});

describe('rowdot / rowScaleAdd', () => {
  const N = 37, D = 19;
  const a = randn(N * D, 3), b = randn(N * D, 4);
  const ref = Array.from({ length: N }, (_, i) => {
    let s = 0;
    for (let d = 0; d < D; d++) s += a[i * D + d]! * b[i * D + d]!;
    return s / 0.2;
  });

  it('matches a loop, into a vector and into a strided column of a matrix', () => {
    const out = Tensor.zeros([N]);
    ops.rowdot(Tensor.from(a, [N, D]), Tensor.from(b, [N, D]), out, 5);
    expectClose(out.toArray(), ref, { rtol: 1e-5 });
    // column 0 of an N×(1+K) logits matrix; the other columns stay untouched
    const K = 6;
    const logits = Tensor.full([N, 1 + K], 7);
    ops.rowdot(Tensor.from(a, [N, D]), Tensor.from(b, [N, D]), logits.view(0, [N, 1], [1 + K, 1]), 5);
    const l = logits.toArray();
    for (let i = 0; i < N; i++) {
      expect(l[i * (1 + K)]).toBeCloseTo(ref[i]!, 3);
      for (let j = 1; j <= K; j++) expect(l[i * (1 + K) + j]).toBe(7);
    }
  });

  it('rowScaleAdd is the adjoint of rowdot', () => {
    const s = randn(N, 5);
    const y0 = randn(N * D, 6);
    const y = Tensor.from(y0, [N, D]);
    ops.rowScaleAdd(y, Tensor.from(s), Tensor.from(b, [N, D]), 0.5);
    const refY = y0.map((v, idx) => v + 0.5 * s[Math.floor(idx / D)]! * b[idx]!);
    expectClose(y.toArray(), refY, { rtol: 1e-6, atol: 1e-6 });
    // strided s: column 0 of a [N, 3] matrix
    const S = Tensor.from(Float32Array.from({ length: N * 3 }, (_, i) => (i % 3 === 0 ? s[i / 3]! : 99)), [N, 3]);
    const y2 = Tensor.from(y0, [N, D]);
    ops.rowScaleAdd(y2, S.view(0, [N, 1], [3, 1]), Tensor.from(b, [N, D]), 0.5);
    expectClose(y2.toArray(), refY, { rtol: 1e-6, atol: 1e-6 });
  });

  it('rejects bad shapes', () => {
    expect(() => ops.rowdot(Tensor.zeros([3, 2]), Tensor.zeros([3, 3]), Tensor.zeros([3]))).toThrow(/b: expected shape \[3, 2\]/);
    expect(() => ops.rowdot(Tensor.zeros([3, 2]), Tensor.zeros([3, 2]), Tensor.zeros([4]))).toThrow(/out: expected shape/);
    expect(() => ops.rowScaleAdd(Tensor.zeros([3, 2]), Tensor.zeros([2]), Tensor.zeros([3, 2]))).toThrow(/s: expected shape/);
    // s inside y (a column of y): rows would read s while it is written
    const y = Tensor.zeros([3, 2]);
    expect(() => ops.rowScaleAdd(y, y.view(0, [3, 1], [2, 1]), Tensor.zeros([3, 2]))).toThrow(/^s: overlaps y/);
  });
});

describe('maxout', () => {
  it('forward picks the group max; backward routes to it', () => {
    const N = 5, F = 7, k = 4;
    const x = randn(N * F * k, 7);
    const y = Tensor.zeros([N, F]), am = Tensor.zeros([N, F], { dtype: 'int32' });
    ops.maxoutForward(Tensor.from(x, [N, F * k]), y, am, k);
    const yy = y.toArray(), aa = am.toArray();
    for (let i = 0; i < N * F; i++) {
      const g = Array.from(x.subarray(i * k, i * k + k));
      expect(yy[i]).toBe(Math.max(...g));
      expect(aa[i]).toBe(g.indexOf(Math.max(...g)));
    }
    const dy = randn(N * F, 8);
    const dx = Tensor.full([N, F * k], 5);
    ops.maxoutBackward(Tensor.from(dy, [N, F]), am, dx, k);
    const d = dx.toArray();
    for (let i = 0; i < N * F; i++)
      for (let j = 0; j < k; j++) expect(d[i * k + j]).toBe(j === aa[i] ? dy[i] : 0);
  });
  it('rejects features that do not split into groups, bad argmax', () => {
    expect(() => ops.maxoutForward(Tensor.zeros([2, 6]), Tensor.zeros([2, 1]), Tensor.zeros([2, 1], { dtype: 'int32' }), 4)).toThrow(
      /x: 6 features are not a multiple of k = 4/,
    );
    expect(() => ops.maxoutForward(Tensor.zeros([2, 8]), Tensor.zeros([2, 2]), Tensor.zeros([2, 2]) as never, 4)).toThrow(DTypeError);
    const bad = Tensor.from(Int32Array.from([0, 9]), [1, 2]);
    expect(() => ops.maxoutBackward(Tensor.zeros([1, 2]), bad, Tensor.zeros([1, 8]), 4)).toThrow(/argmax: entry 1 is 9/);
    expect(() => ops.maxoutForward(Tensor.zeros([2, 8]), Tensor.zeros([2, 2]), Tensor.zeros([2, 2], { dtype: 'int32' }), 0)).toThrow(/k: 0/);
  });
});

describe('gatherRows / sum', () => {
  it('gathers rows by index', () => {
    const src = Tensor.from(Float32Array.from({ length: 12 }, (_, i) => i), [4, 3]);
    const out = Tensor.zeros([3, 3]);
    ops.gatherRows(src, Tensor.from(Int32Array.from([3, 0, 3])), out);
    expect(Array.from(out.toArray())).toEqual([9, 10, 11, 0, 1, 2, 9, 10, 11]);
    expect(() => ops.gatherRows(src, Tensor.from(Int32Array.from([4])), Tensor.zeros([1, 3]))).toThrow(/idx: entry 0 is 4, outside \[0, 4\)/);
    expect(() => ops.gatherRows(src, Tensor.from(Int32Array.from([1])), Tensor.zeros([1, 2]))).toThrow(ShapeError);
  });
  it('sums in double', () => {
    const r = rng(9);
    const x = Float32Array.from({ length: 100_000 }, () => r());
    let ref = 0;
    for (const v of x) ref += v;
    expect(Math.abs(ops.sum(Tensor.from(x)) - ref)).toBeLessThan(1e-6 * ref);
  });
});
