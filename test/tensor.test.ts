import { describe, expect, it } from 'vitest';
import { ArgumentError, DeviceError, DisposedError, DTypeError, ShapeError, Tensor, info } from '../lib/index';

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
