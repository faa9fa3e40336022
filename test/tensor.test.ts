import { describe, expect, it } from 'vitest';
import { ArgumentError, DeviceError, DisposedError, DTypeError, ShapeError, Tensor, info, ops } from '../lib/index';
import { native } from '../lib/native';

describe('Tensor', () => {
  it('round-trips data through a copy', () => {
    const data = Float32Array.from({ length: 12 }, (_, i) => i * 0.5 - 3);
    const t = Tensor.from(data, [3, 4]);
    expect(t.shape).toEqual([3, 4]);
    expect(t.strides).toEqual([4, 1]);
    expect(t.dtype).toBe('float32');
    expect(t.device).toBe('cpu');
    expect(Array.from(t.toArray())).toEqual(Array.from(data));
    data[0] = 99; // the tensor holds a copy
    expect(t.toArray()[0]).toBe(-3);
  });

  it('from(number[]) rejects entries that are not numbers (they would become NaN)', () => {
    expect(() => Tensor.from([1, 'a', 3] as never)).toThrow(/data\[1\]: expected a number, got string/);
    expect(() => Tensor.from([1, undefined, 3] as never)).toThrow(ArgumentError);
    expect(Array.from(Tensor.from([1, NaN, 3]).toArray())).toEqual([1, NaN, 3]); // NaN is a number
  });

  it('zeros and int32', () => {
    const z = Tensor.zeros([2, 3]);
    expect(Array.from(z.toArray())).toEqual([0, 0, 0, 0, 0, 0]);
    const i = Tensor.from(Int32Array.from([3, 1, 2]));
    expect(i.dtype).toBe('int32');
    expect(Array.from(i.toArray())).toEqual([3, 1, 2]);
  });

  it('views share storage and see writes', () => {
    const flat = Tensor.zeros([10]);
    const a = flat.view(2, [2, 2]);
    a.fill(7);
    expect(Array.from(flat.toArray())).toEqual([0, 0, 7, 7, 7, 7, 0, 0, 0, 0]);
    expect(a.offset).toBe(2);
    expect(a.sharesStorage(flat)).toBe(true);
    const r = Tensor.from(Float32Array.from([1, 2, 3, 4, 5, 6]), [3, 2]).rows(1, 3);
    expect(Array.from(r.toArray())).toEqual([3, 4, 5, 6]);
    // a transposed view is strided, not contiguous
    const tr = Tensor.zeros([2, 3]).view(0, [3, 2], [1, 3]);
    expect(tr.isContiguous).toBe(false);
    expect(() => tr.toArray()).toThrow(ShapeError);
  });

  it('rejects views past the storage', () => {
    const flat = Tensor.zeros([10]);
    expect(() => flat.view(8, [3])).toThrow(ShapeError);
    expect(() => flat.view(-1, [3])).toThrow(/offset/);
    expect(() => flat.view(0, [2, 2], [9, 1])).toThrow(/reaches element 10/);
    expect(flat.view(0, [2, 2], [8, 1]).numel).toBe(4);
  });

  it('throws typed errors naming the argument', () => {
    expect(() => Tensor.zeros([2, -1])).toThrow(ShapeError);
    expect(() => Tensor.zeros([2, 1.5])).toThrow(/shape\[1\]/);
    expect(() => Tensor.from(new Float32Array(5), [2, 2])).toThrow(ShapeError);
    expect(() => Tensor.from('abc' as unknown as Float32Array)).toThrow(ArgumentError);
    expect(() => Tensor.zeros([2], { dtype: 'float64' as 'float32' })).toThrow(DTypeError);
    expect(() => Tensor.zeros([2], { device: 'tpu' as 'cpu' })).toThrow(DeviceError);
    const f = Tensor.zeros([4]);
    expect(() => f.set(new Int32Array(4) as unknown as Float32Array)).toThrow(DTypeError);
    expect(() => f.set(new Float32Array(3))).toThrow(/source: has 3 elements/);
  });

  it('errors after dispose, and dispose is idempotent', () => {
    const t = Tensor.zeros([3]);
    const v = t.view(0, [2]);
    t.dispose();
    t.dispose();
    expect(t.disposed).toBe(true);
    expect(() => t.toArray()).toThrow(DisposedError);
    expect(String(t)).toBe('Tensor(disposed)');
    // the view keeps the storage alive
    expect(Array.from(v.toArray())).toEqual([0, 0]);
  });

  it('supports using-declarations', () => {
    let outer: Tensor;
    {
      using t = Tensor.zeros([2]);
      outer = t;
      expect(outer.disposed).toBe(false);
    }
    expect(outer.disposed).toBe(true);
  });

  it('reports the backend', () => {
    const i = info();
    expect(i.backend).toBe('cpu');
    expect(['openblas', 'cblas', 'fallback']).toContain(i.blas);
    expect(i.threads).toBeGreaterThanOrEqual(1);
  });
});

describe('Tensor.fill on strided views', () => {
  it('fills a matrix diagonal through a strided view', () => {
    const m = Tensor.zeros([3, 3]);
    m.view(0, [3], [4]).fill(-Infinity);
    expect(Array.from(m.toArray())).toEqual([-Infinity, 0, 0, 0, -Infinity, 0, 0, 0, -Infinity]);
    const c = Tensor.zeros([2, 3]);
    c.view(1, [2, 1], [3, 1]).fill(5);
    expect(Array.from(c.toArray())).toEqual([0, 5, 0, 0, 5, 0]);
  });
});

describe('sizes and views are overflow-checked (issue 11)', () => {
  const raw = native as unknown as Record<string, (...a: unknown[]) => unknown>;

  it('a view whose last index overflows int64 is a ShapeError naming strides', () => {
    // (2^24)·2^39 = 2^63 wrapped negative and passed the bound check before.
    expect(() => Tensor.zeros([4]).view(0, [2 ** 24 + 1], [2 ** 39])).toThrow(ShapeError);
    expect(() => Tensor.zeros([4]).view(0, [2 ** 24 + 1], [2 ** 39])).toThrow(/^strides: the view's last element index overflows int64/);
    expect(() => Tensor.zeros([4]).view(0, [2 ** 31, 2 ** 9], [2 ** 32, 2 ** 31])).toThrow(ShapeError);
    // offsets near 2^53 with large strides: no wrap-around either
    expect(() => Tensor.zeros([4]).view(2 ** 53 - 1, [2, 2], [2 ** 39, 2 ** 39])).toThrow(ShapeError);
  });

  it('strides are non-negative integers below 2^40, and their product no longer matters', () => {
    const t = Tensor.zeros([8]);
    expect(() => t.view(0, [2], [-1])).toThrow(ShapeError);
    expect(() => t.view(0, [1], [2 ** 40])).toThrow(/^strides\[0\]: expected a non-negative integer below 2\^40/);
    // a size-1 dimension may have any stride below 2^40 (the old check multiplied strides as if they were a shape)
    expect(t.view(3, [1, 1, 2], [2 ** 30, 2 ** 30, 1]).numel).toBe(2);
  });

  it('a view addresses at most as many elements as its storage holds (zero or overlapping strides)', () => {
    const t = Tensor.zeros([4]);
    // a broadcast of 2^39 elements over 4 would make fill() loop for an hour
    expect(() => t.view(0, [2 ** 39], [0])).toThrow(/^strides: view \[549755813888\] with strides \[0\] addresses 549755813888 elements, more than its storage holds \(4\)/);
    expect(() => t.view(0, [2, 3], [1, 1])).toThrow(ShapeError);
    // as many as the storage holds is fine, overlapping or not
    const b = t.view(0, [4], [0]);
    b.fill(2);
    expect(Array.from(t.toArray())).toEqual([2, 0, 0, 0]);
    expect(t.view(0, [2, 2], [1, 1]).numel).toBe(4);
    // empty views have any dimensions (nothing is addressed)
    expect(t.view(0, [2 ** 39, 0], [1, 1]).numel).toBe(0);
  });

  it('shapes: every dimension and the extent (0 counted as 1) below 2^40', () => {
    expect(() => Tensor.zeros([2 ** 20, 2 ** 20])).toThrow(/^shape: tensor too large/);
    expect(() => Tensor.zeros([2 ** 20, 0, 2 ** 20])).toThrow(ShapeError);
    expect(() => Tensor.zeros([2 ** 40])).toThrow(/^shape\[0\]: expected a non-negative integer below 2\^40/);
    expect(Tensor.zeros([2 ** 39, 0]).numel).toBe(0);
  });

  it("maxoutBackward: F·k that overflows int64 is a ShapeError (it wrapped to dx's width and wrote out of bounds)", () => {
    const dy = Tensor.zeros([1, 2048]);
    const am = Tensor.zeros([1, 2048], { dtype: 'int32' });
    // 2048·2^52 = 2^63
    expect(() => ops.maxoutBackward(dy, am, Tensor.zeros([1, 0]), 2 ** 52)).toThrow(ShapeError);
    expect(() => raw.maxoutBackward!(dy.handle, am.handle, Tensor.zeros([1, 0]).handle, 2 ** 52)).toThrow(/^k: size overflows/);
  });

  it('mixedCosine: rows without features are a ShapeError (a per-row loss for [2^31, 0] was 16 GiB)', () => {
    expect(() => ops.mixedCosine(Tensor.zeros([2 ** 31, 0]), Tensor.zeros([2 ** 31, 0]))).toThrow(/^p: rows have no features/);
    expect(ops.mixedCosine(Tensor.zeros([0, 0]), Tensor.zeros([0, 0]))).toBe(0);
  });

  it('a getter that disposes an operand mid-call is a DisposedError, not a use after free', () => {
    const x = Tensor.zeros([1, 1, 2, 2]), out = Tensor.zeros([1, 1, 2, 2]), perm = Tensor.from(Int32Array.from([0]));
    const box = { x0: 0, y1: 1, x1: 1, get y0() { x.dispose(); return 0; } };
    expect(() => ops.cutmix(x, out, perm, box)).toThrow(/^x: tensor has been disposed/);
    const t = Tensor.zeros([4]);
    const shape = [2];
    Object.defineProperty(shape, 0, { get: () => { t.dispose(); return 2; } });
    expect(() => t.view(0, shape)).toThrow(DisposedError);
  });

  it('a shape array that grows while the addon reads it is read to its first length (it wrote past its copy)', () => {
    const s: number[] = [2, 3];
    Object.defineProperty(s, 0, { get: () => { for (let i = 0; i < 100; i++) s.push(1); return 2; } });
    expect(Tensor.zeros([6]).handle.view(0, s).shape).toEqual([2, 3]);
  });

  it('setErrorClasses checks every class before replacing any', () => {
    expect(() => raw.setErrorClasses!(null)).toThrow(ArgumentError);
    expect(() => raw.setErrorClasses!({ ArgumentError: class Fake {} })).toThrow(/^classes\.ShapeError: expected a constructor/);
    // nothing was replaced: the addon still throws imix's classes
    expect(() => Tensor.zeros([4]).handle.view(0, [9])).toThrow(ShapeError);
    expect(() => raw.sum!(1)).toThrow(ArgumentError);
  });

  it('copies to and from typed arrays over SharedArrayBuffers', () => {
    const t = Tensor.zeros([3]);
    t.set(new Float32Array(new SharedArrayBuffer(12)).fill(4));
    const out = new Float32Array(new SharedArrayBuffer(12));
    t.handle.copyToArray(out);
    expect(Array.from(out)).toEqual([4, 4, 4]);
  });

  it('options and tensor arguments of the Tensor API are checked (no TypeError from a null)', () => {
    expect(() => Tensor.zeros([2], null as never)).toThrow(/^options: expected an options object/);
    expect(() => Tensor.full([2], 1, null as never)).toThrow(ArgumentError);
    expect(() => Tensor.from(new Float32Array(2), [2], null as never)).toThrow(ArgumentError);
    const t = Tensor.zeros([2]);
    expect(() => t.copyFrom(null as never)).toThrow(/^source: expected a Tensor/);
    expect(() => t.sharesStorage({} as never)).toThrow(/^other: expected a Tensor/);
    expect(() => ops.sum(Object.create(Tensor.prototype))).toThrow(/^x: expected a Tensor/);
    expect(() => t.rows(Symbol('s') as never, 1)).toThrow(ShapeError);
  });
});
