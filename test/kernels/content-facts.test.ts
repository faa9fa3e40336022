// The value checks of λ, π, index and target tensors skip reading a tensor
// whose contents the addon wrote itself and scanned (content facts,
// native/addon/tensor.h: an upload from a host array, a fill, a zero-filled
// allocation, maxout's and max-pool's argmax). On CUDA that saves a host
// synchronization per check (test/cuda/parity.test.ts counts them); here, on
// the CPU, the same code runs, and these tests hold it to the rule that
// makes it safe: any other write (a kernel output, copyFrom, a strided fill,
// a write through another view of the storage) forgets the facts, so the
// check reads the tensor again and a bad value is still a ValueError naming
// the argument, never an out-of-bounds read.
import { describe, expect, it } from 'vitest';
import { Tensor, ValueError, ops } from '../../lib/index';

const perm4 = () => Tensor.from(Int32Array.from([2, 0, 3, 1]));
const mixupWith = (perm: Tensor<'int32'>, lam: Tensor<'float32'> | number = 0.5) =>
  ops.mixup(Tensor.from(Float32Array.from({ length: 8 }, (_, i) => i), [4, 2]), Tensor.zeros([4, 2]), perm, lam);

describe('content facts: checks trust only what the addon wrote and scanned', () => {
  it('an uploaded permutation, λ in [0, 1] and in-range indices pass; uploaded bad ones fail as before', () => {
    expect(() => mixupWith(perm4(), Tensor.from([0, 0.25, 1, 0.5]))).not.toThrow();
    expect(() => mixupWith(Tensor.from(Int32Array.from([0, 0, 3, 1])))).toThrow(/perm: value 0 appears twice/);
    expect(() => mixupWith(Tensor.from(Int32Array.from([0, 4, 3, 1])))).toThrow(/perm: entry 1 is 4/);
    expect(() => mixupWith(perm4(), Tensor.from([0, 1.5, 1, 0.5]))).toThrow(/lam: entry 1 is 1\.5/);
    expect(() => mixupWith(perm4(), Tensor.from([0, NaN, 1, 0.5]))).toThrow(/lam: entry 1 is nan/);
    const src = Tensor.from(Float32Array.from({ length: 12 }, (_, i) => i), [6, 2]);
    const out = Tensor.zeros([3, 2]);
    ops.gatherRows(src, Tensor.from(Int32Array.from([5, 0, 2])), out);
    expect(Array.from(out.toArray())).toEqual([10, 11, 0, 1, 4, 5]);
    expect(() => ops.gatherRows(src, Tensor.from(Int32Array.from([5, 6, 2])), out)).toThrow(/idx: entry 1 is 6, outside \[0, 6\)/);
    expect(() => ops.gatherRows(src, Tensor.from(Int32Array.from([-1, 0, 2])), out)).toThrow(/idx: entry 0 is -1/);
  });

  it('a permutation overwritten by a kernel is read and checked again', () => {
    const perm = perm4();
    mixupWith(perm);
    // maxout's argmax written into perm's memory: all 0 (x is 0), not a permutation.
    ops.maxoutForward(Tensor.zeros([1, 12]), Tensor.zeros([1, 4]), perm.reshape([1, 4]), 3);
    expect(Array.from(perm.toArray())).toEqual([0, 0, 0, 0]);
    expect(() => mixupWith(perm)).toThrow(ValueError);
    expect(() => mixupWith(perm)).toThrow(/perm: value 0 appears twice/);
  });

  it('copyFrom, strided fills and writes through another view forget the facts', () => {
    const perm = perm4();
    perm.copyFrom(Tensor.from(Int32Array.from([1, 1, 1, 1])));
    expect(() => mixupWith(perm)).toThrow(/perm: value 1 appears twice/);

    const big = Tensor.zeros([8], { dtype: 'int32' });
    const p = big.rows(0, 4).set(Int32Array.from([3, 2, 1, 0]));
    mixupWith(p); // facts of exactly this view
    big.view(1, [2], [2]).fill(7); // a strided fill over part of it
    expect(Array.from(p.toArray())).toEqual([3, 7, 1, 7]);
    expect(() => mixupWith(p)).toThrow(/perm: entry 1 is 7/);

    const q = big.rows(4, 8).set(Int32Array.from([0, 1, 2, 3]));
    mixupWith(q);
    ops.maxoutForward(Tensor.full([1, 40], 1), Tensor.zeros([1, 4]), big.rows(0, 4).reshape([1, 4]), 10); // another view of the storage
    q.copyFrom(big.rows(0, 4)); // (a write into q itself; the maxout above already made the storage unknown)
    expect(() => mixupWith(q)).toThrow(/perm: value 0 appears twice/);
  });

  it('λ overwritten by a float kernel is checked again; a fill records its value', () => {
    const lam = Tensor.from([0.5, 0.5, 0.5, 0.5]);
    mixupWith(perm4(), lam);
    ops.axpby(0, lam, 3, lam); // λ ← 3·λ = 1.5
    expect(() => mixupWith(perm4(), lam)).toThrow(/lam: entry 0 is 1\.5/);
    lam.fill(0.25);
    expect(() => mixupWith(perm4(), lam)).not.toThrow();
    lam.fill(-1);
    expect(() => mixupWith(perm4(), lam)).toThrow(/lam: entry 0 is -1/);
    lam.fill(NaN);
    expect(() => mixupWith(perm4(), lam)).toThrow(/lam: entry 0 is nan/);
  });

  it('constant targets (a zero-filled or filled int32 tensor) pass or fail on their value', () => {
    const logits = () => Tensor.from(Float32Array.from({ length: 12 }, (_, i) => i % 5), [4, 3]);
    const zeros = Tensor.zeros([4], { dtype: 'int32' });
    expect(Number.isFinite(ops.mixedCrossEntropy(logits(), { targets: zeros }))).toBe(true);
    const twos = Tensor.zeros([4], { dtype: 'int32' }).fill(2);
    expect(Number.isFinite(ops.mixedCrossEntropy(logits(), { targets: twos }))).toBe(true);
    twos.fill(3);
    expect(() => ops.mixedCrossEntropy(logits(), { targets: twos })).toThrow(/targets: entry 0 is 3, outside \[0, 3\)/);
    expect(() => ops.mixedCrossEntropy(logits(), { targets: Tensor.zeros([4], { dtype: 'int32' }), colOffset: 3 })).toThrow(/colOffset: 3 leaves no target column/);
  });

  it("maxout's argmax: trusted by the backward of its own k, checked for a smaller one", () => {
    const x = Tensor.from(Float32Array.from({ length: 16 }, (_, i) => (i * 7) % 16), [2, 8]);
    const am = Tensor.zeros([2, 2], { dtype: 'int32' });
    ops.maxoutForward(x, Tensor.zeros([2, 2]), am, 4);
    const amv = am.toArray();
    expect(amv.every((v) => v >= 0 && v < 4)).toBe(true);
    const dx = Tensor.zeros([2, 8]);
    ops.maxoutBackward(Tensor.full([2, 2], 1), am, dx, 4);
    expect(dx.toArray().reduce((a, b) => a + b, 0)).toBe(4);
    if (amv.some((v) => v >= 2))
      expect(() => ops.maxoutBackward(Tensor.full([2, 2], 1), am, Tensor.zeros([2, 4]), 2)).toThrow(/argmax: entry \d is [23], outside \[0, 2\)/);
    else expect.fail('the input should put some argmax at 2 or 3');
    // Written by the caller after the forward: checked again.
    am.set(Int32Array.from([0, 1, 2, 9]));
    expect(() => ops.maxoutBackward(Tensor.full([2, 2], 1), am, dx, 4)).toThrow(/argmax: entry 3 is 9/);
  });

  it("max-pool's argmax: trusted by its backward; a caller's write is checked", () => {
    const x = Tensor.from(Float32Array.from({ length: 16 }, (_, i) => (i * 5) % 16), [1, 1, 4, 4]);
    const y = Tensor.zeros([1, 1, 2, 2]), am = Tensor.zeros([1, 1, 2, 2], { dtype: 'int32' });
    ops.maxpool2dForward(x, y, am, { kernelSize: 2 });
    const dx = Tensor.zeros([1, 1, 4, 4]);
    ops.maxpool2dBackward(Tensor.full([1, 1, 2, 2], 1), am, dx, { kernelSize: 2 });
    expect(dx.toArray().reduce((a, b) => a + b, 0)).toBe(4);
    am.fill(16);
    expect(() => ops.maxpool2dBackward(Tensor.full([1, 1, 2, 2], 1), am, dx, { kernelSize: 2 })).toThrow(/argmax: entry 0 is 16/);
  });
});
