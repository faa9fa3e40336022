import { describe, expect, it } from 'vitest';
import { ArgumentError, DisposedError, DTypeError, ShapeError, Tensor, ValueError, ops, setNumThreads, info } from '../../lib/index';
import { native } from '../../lib/native';
import type { NativeTensor } from '../../lib/native';
import { mulhilo, philox4x32_10 } from '../../lib/random';
import { expectClose, randn, unit } from '../helpers';

// The TS Philox4x32-10 (lib/random.ts) is an implementation independent of the
// C++; it is checked against the Random123 known answers below, then the
// native streams are checked against it.
const lo32 = (v: number) => v >>> 0; // ToUint32 is mod 2^32, exact for safe integers
const hi32 = (v: number) => Math.floor(v / 2 ** 32) >>> 0;

/** Word i of stream (seed, offset): counter {lo(i/4), hi(i/4), lo(offset), hi(offset)}, key {lo(seed), hi(seed)}. */
function word(seed: number, offset: number, i: number): number {
  const b = Math.floor(i / 4);
  return philox4x32_10([lo32(b), hi32(b), lo32(offset), hi32(offset)], [lo32(seed), hi32(seed)])[i % 4]!;
}
const unitOpen0 = (w: number) => ((w >>> 8) + 1) / 2 ** 24;

/** philox_normal_at, with float32 rounding where the C++ rounds (libm calls in double). */
function normalAt(seed: number, offset: number, i: number): number {
  const j = i & ~1;
  const u1 = unitOpen0(word(seed, offset, j)), u2 = unit(word(seed, offset, j + 1));
  const f = Math.fround;
  const r = f(Math.sqrt(f(-2 * f(Math.log(u1)))));
  const t = f(f(6.28318530717958647692) * u2);
  return f(r * (i & 1 ? Math.sin(t) : Math.cos(t)));
}

// The addon's raw entry points, to check the C++ validation behind the TS checks.
type NT = NativeTensor;
const raw = native as unknown as {
  randUniform(out: NT, seed: number, offset: number): void;
  randNormal(out: NT, seed: number, offset: number, mean: number, std?: number): void;
  inputDrop(x: NT, out: NT, p: number, seed: number, offset: number): void;
  gaussianNoise(x: NT, out: NT, std: number, seed: number, offset: number): void;
};

const hex = (ws: number[]) => ws.map((w) => w.toString(16).padStart(8, '0')).join(' ');

describe('Philox4x32-10 reference (TS)', () => {
  it('reproduces the Random123 known-answer vectors', () => {
    expect(hex(philox4x32_10([0, 0, 0, 0], [0, 0]))).toBe('6627e8d5 e169c58d bc57ac4c 9b00dbd8');
    const f = 0xffffffff;
    expect(hex(philox4x32_10([f, f, f, f], [f, f]))).toBe('408f276d 41c83b0e a20bc7c6 6d5451fd');
    expect(hex(philox4x32_10([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]))).toBe(
      'd16cfe09 94fdcceb 5001e420 24126ea1',
    );
  });

  it('mulhilo matches BigInt', () => {
    const vals = [0, 1, 0xffff, 0x10000, 0xd2511f53, 0xcd9e8d57, 0xffffffff, 0x80000000, 0x12345678, 0x9abcdef1];
    for (const a of vals)
      for (const b of vals) {
        const p = BigInt(a) * BigInt(b);
        expect(mulhilo(a, b)).toEqual([Number(p >> 32n), Number(p & 0xffffffffn)]);
      }
  });
});

describe('randUniform', () => {
  it('is the native Philox stream: KAT through the stream mapping', () => {
    // counter = {lo(block), hi(block), lo(offset), hi(offset)}, key = {lo(seed), hi(seed)}:
    // the all-zero KAT is block 0 of (seed 0, offset 0); the third KAT is block
    // 0x85a308d3_243f6a88 of offset 0x03707344_13198a2e, which no tensor
    // reaches (offsets stop at 2^53), so it is checked on the TS reference above.
    const out = Tensor.zeros([4]);
    ops.randUniform(out, { seed: 0, offset: 0 });
    const kat = [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8];
    expect(Array.from(out.toArray())).toEqual(kat.map(unit));
    expect([0, 1, 2, 3].map((i) => word(0, 0, i))).toEqual(kat);
  });

  it('matches the TS Philox word for word (offsets, big seeds, n not a multiple of 4)', () => {
    const cases: Array<[number, number, number]> = [
      [0, 0, 1],
      [1, 0, 2],
      [42, 7, 3],
      [42, 7, 5],
      [123456789, 2 ** 40 + 5, 333], // offset > 2^32 exercises hi(offset)
      [2 ** 45 + 123, 99, 257], // seed > 2^32 exercises the second key word
      [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 101],
    ];
    for (const [seed, offset, n] of cases) {
      const out = Tensor.zeros([n]);
      ops.randUniform(out, { seed, offset });
      const ref = Array.from({ length: n }, (_, i) => unit(word(seed, offset, i)));
      expect(Array.from(out.toArray()), `seed ${seed} offset ${offset} n ${n}`).toEqual(ref);
    }
  });

  it('large n (parallel path) keeps the per-element stream, any shape', () => {
    const n = 4 * 50_000 + 3;
    const out = Tensor.zeros([1, n]);
    ops.randUniform(out, { seed: 9, offset: 11 });
    const got = out.toArray();
    for (let i = 0; i < n; i += i < 20 ? 1 : 997) expect(got[i], `element ${i}`).toBe(unit(word(9, 11, i)));
    for (let i = n - 8; i < n; i++) expect(got[i], `element ${i}`).toBe(unit(word(9, 11, i)));
  });

  it('does not depend on the thread count', () => {
    const threads = info().threads;
    const a = Tensor.zeros([100_001]), b = Tensor.zeros([100_001]);
    try {
      setNumThreads(1);
      ops.randUniform(a, { seed: 5, offset: 1 });
      setNumThreads(Math.max(2, threads));
      ops.randUniform(b, { seed: 5, offset: 1 });
    } finally {
      setNumThreads(threads);
    }
    expect(a.toArray()).toEqual(b.toArray());
  });

  it('is deterministic in (seed, offset); other offsets and seeds differ', () => {
    const draw = (seed: number, offset: number) => {
      const t = Tensor.zeros([1000]);
      ops.randUniform(t, { seed, offset });
      return t.toArray();
    };
    expect(draw(3, 4)).toEqual(draw(3, 4));
    const base = draw(3, 4);
    for (const other of [draw(3, 5), draw(4, 4), draw(3, 4 + 2 ** 32)]) {
      let same = 0;
      for (let i = 0; i < 1000; i++) if (other[i] === base[i]) same++;
      expect(same).toBeLessThan(5);
    }
    // offset defaults to 0
    const t = Tensor.zeros([8]);
    ops.randUniform(t, { seed: 3 });
    expect(t.toArray()).toEqual(draw(3, 0).slice(0, 8));
  });

  it('statistics of 1e6 draws: in [0,1), mean 1/2, variance 1/12', () => {
    const t = Tensor.zeros([1_000_000]);
    ops.randUniform(t, { seed: 2024, offset: 1 });
    const u = t.toArray();
    let s = 0, s2 = 0, min = 1, max = 0;
    for (const v of u) {
      s += v;
      s2 += v * v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const mean = s / u.length, variance = s2 / u.length - mean * mean;
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(Math.abs(mean - 0.5)).toBeLessThan(1.5e-3); // σ(mean) ≈ 2.9e-4
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(4e-4); // σ ≈ 7.5e-5
    // 10 equal bins: each within 5σ of 1e5
    const bins = new Array<number>(10).fill(0);
    for (const v of u) bins[Math.floor(v * 10)]!++;
    for (const c of bins) expect(Math.abs(c - 1e5)).toBeLessThan(1500);
  });
});

describe('randNormal', () => {
  it('matches Box–Muller on the TS Philox words (cos for even i, sin for odd i)', () => {
    for (const [seed, offset, n] of [
      [7, 0, 1],
      [7, 3, 6],
      [2 ** 33 + 1, 2 ** 41 + 17, 299],
    ] as const) {
      const out = Tensor.zeros([n]);
      ops.randNormal(out, { seed, offset });
      const ref = Array.from({ length: n }, (_, i) => normalAt(seed, offset, i));
      expectClose(out.toArray(), ref, { rtol: 2e-6, atol: 2e-6, label: `seed ${seed} n ${n}` });
    }
  });

  it('applies mean and std; std = 0 gives the mean exactly', () => {
    const z = Tensor.zeros([1001]), y = Tensor.zeros([1001]);
    ops.randNormal(z, { seed: 1, offset: 2 });
    ops.randNormal(y, { seed: 1, offset: 2, mean: -3, std: 2.5 });
    expectClose(y.toArray(), z.toArray().map((v) => -3 + 2.5 * v), { rtol: 1e-6, atol: 1e-6 });
    ops.randNormal(y, { seed: 1, offset: 2, mean: 4.25, std: 0 });
    expect(y.toArray().every((v) => v === 4.25)).toBe(true);
  });

  it('a prefix of a long draw equals a short draw (odd n, tail blocks)', () => {
    const long = Tensor.zeros([100_003]);
    ops.randNormal(long, { seed: 8, offset: 8 });
    const l = long.toArray();
    for (const n of [1, 2, 3, 5, 7, 9]) {
      const s = Tensor.zeros([n]);
      ops.randNormal(s, { seed: 8, offset: 8 });
      expect(Array.from(s.toArray())).toEqual(Array.from(l.subarray(0, n)));
    }
    // and the far end (parallel chunks) against the reference
    for (let i = l.length - 5; i < l.length; i++) expect(Math.abs(l[i]! - normalAt(8, 8, i))).toBeLessThan(1e-5);
  });

  it('does not depend on the thread count', () => {
    const threads = info().threads;
    const a = Tensor.zeros([100_001]), b = Tensor.zeros([100_001]);
    try {
      setNumThreads(1);
      ops.randNormal(a, { seed: 5, offset: 1 });
      setNumThreads(Math.max(2, threads));
      ops.randNormal(b, { seed: 5, offset: 1 });
    } finally {
      setNumThreads(threads);
    }
    expect(a.toArray()).toEqual(b.toArray());
  });

  it('statistics of 1e6 draws: mean 0, variance 1, skew 0, kurtosis 3, tails', () => {
    const t = Tensor.zeros([1_000_000]);
    ops.randNormal(t, { seed: 77, offset: 5 });
    const z = t.toArray();
    let s1 = 0, s2 = 0, s3 = 0, s4 = 0, beyond2 = 0;
    for (const v of z) {
      s1 += v;
      s2 += v * v;
      s3 += v * v * v;
      s4 += v * v * v * v;
      if (Math.abs(v) > 2) beyond2++;
    }
    const n = z.length;
    expect(z.every(Number.isFinite)).toBe(true);
    expect(Math.abs(s1 / n)).toBeLessThan(5e-3); // σ = 1e-3
    expect(Math.abs(s2 / n - 1)).toBeLessThan(7e-3); // σ ≈ 1.4e-3
    expect(Math.abs(s3 / n)).toBeLessThan(1.5e-2); // σ ≈ 2.4e-3
    expect(Math.abs(s4 / n - 3)).toBeLessThan(5e-2); // σ ≈ 9.8e-3
    expect(Math.abs(beyond2 / n - 0.0455003)).toBeLessThan(1.1e-3); // σ ≈ 2.1e-4
    // even (cos) and odd (sin) halves are each standard normal and uncorrelated
    let se = 0, so = 0, sp = 0;
    for (let i = 0; i < n; i += 2) {
      se += z[i]! ** 2;
      so += z[i + 1]! ** 2;
      sp += z[i]! * z[i + 1]!;
    }
    expect(Math.abs(se / (n / 2) - 1)).toBeLessThan(1e-2);
    expect(Math.abs(so / (n / 2) - 1)).toBeLessThan(1e-2);
    expect(Math.abs(sp / (n / 2))).toBeLessThan(1e-2);
  });
});

describe('inputDrop', () => {
  it('zeroes exactly the elements whose uniform is below p, leaves the rest untouched', () => {
    for (const [n, p, seed, offset] of [
      [1, 0.5, 1, 0],
      [7, 0.5, 1, 1],
      [333, 0.3, 2 ** 36 + 3, 2 ** 35 + 1],
      [40_001, 0.1, 4, 4],
    ] as const) {
      const xs = randn(n, n).map((v) => (v === 0 ? 1 : v));
      const x = Tensor.from(xs), out = Tensor.full([n], 12345); // every element gets written
      ops.inputDrop(x, out, p, { seed, offset });
      const pf = Math.fround(p);
      const ref = Array.from(xs, (v, i) => (unit(word(seed, offset, i)) < pf ? 0 : v));
      expect(Array.from(out.toArray()), `n ${n}`).toEqual(ref);
      expect(Array.from(x.toArray())).toEqual(Array.from(xs)); // input unchanged
    }
  });

  it('drops at rate p over 1e6 elements, no rescaling', () => {
    const n = 1_000_000;
    const x = Tensor.full([n], 2), out = Tensor.zeros([n]);
    for (const p of [0.05, 0.3, 0.9]) {
      ops.inputDrop(x, out, p, { seed: 31, offset: Math.round(p * 100) });
      let zeros = 0, twos = 0;
      for (const v of out.toArray()) v === 0 ? zeros++ : v === 2 ? twos++ : 0;
      expect(zeros + twos).toBe(n);
      expect(Math.abs(zeros / n - p)).toBeLessThan(2.5e-3); // σ ≤ 5e-4
    }
  });

  it('p = 0 copies, p = 1 zeroes everything', () => {
    const xs = randn(1003, 3);
    const x = Tensor.from(xs), out = Tensor.zeros([1003]);
    ops.inputDrop(x, out, 0, { seed: 1 });
    expect(out.toArray()).toEqual(xs);
    ops.inputDrop(x, out, 1, { seed: 1 });
    expect(out.toArray().every((v) => v === 0)).toBe(true);
  });

  it('runs in place with the same result; same seed+offset repeats, another offset differs', () => {
    const xs = randn(5001, 4);
    const a = Tensor.from(xs), b = Tensor.zeros([5001]), c = Tensor.zeros([5001]);
    ops.inputDrop(Tensor.from(xs), b, 0.4, { seed: 6, offset: 6 });
    ops.inputDrop(a, a, 0.4, { seed: 6, offset: 6 });
    expect(a.toArray()).toEqual(b.toArray());
    ops.inputDrop(Tensor.from(xs), c, 0.4, { seed: 6, offset: 7 });
    expect(c.toArray()).not.toEqual(b.toArray());
  });

  it('accepts any shape with the same element count', () => {
    const x = Tensor.from(randn(24, 5), [2, 3, 4]), out = Tensor.zeros([24]);
    ops.inputDrop(x, out, 0.5, { seed: 1 });
    const ref = Array.from(x.toArray(), (v, i) => (unit(word(1, 0, i)) < 0.5 ? 0 : v));
    expect(Array.from(out.toArray())).toEqual(ref);
  });
});

describe('gaussianNoise', () => {
  it('adds std·z with z the randNormal stream', () => {
    for (const n of [1, 6, 1001, 50_003]) {
      const xs = randn(n, 10 + n);
      const x = Tensor.from(xs), out = Tensor.zeros([n]), z = Tensor.zeros([n]);
      ops.gaussianNoise(x, out, 0.3, { seed: 12, offset: 34 });
      ops.randNormal(z, { seed: 12, offset: 34 });
      const zs = z.toArray();
      expectClose(out.toArray(), Array.from(xs, (v, i) => v + 0.3 * zs[i]!), { rtol: 1e-6, atol: 1e-6, label: `n ${n}` });
      if (n <= 1001)
        expectClose(out.toArray(), Array.from(xs, (v, i) => v + 0.3 * normalAt(12, 34, i)), { rtol: 1e-5, atol: 4e-6 });
    }
  });

  it('std = 0 copies exactly; in place equals out of place', () => {
    const xs = randn(777, 1);
    const out = Tensor.zeros([777]);
    ops.gaussianNoise(Tensor.from(xs), out, 0, { seed: 1 });
    expect(out.toArray()).toEqual(xs);
    const a = Tensor.from(xs);
    ops.gaussianNoise(Tensor.from(xs), out, 1.5, { seed: 2, offset: 3 });
    ops.gaussianNoise(a, a, 1.5, { seed: 2, offset: 3 });
    expect(a.toArray()).toEqual(out.toArray());
  });

  it('noise statistics: mean 0, std as asked', () => {
    const n = 1_000_000;
    const x = Tensor.full([n], 1), out = Tensor.zeros([n]);
    ops.gaussianNoise(x, out, 0.5, { seed: 99, offset: 1 });
    let s = 0, s2 = 0;
    for (const v of out.toArray()) {
      s += v - 1;
      s2 += (v - 1) ** 2;
    }
    expect(Math.abs(s / n)).toBeLessThan(2.5e-3);
    expect(Math.abs(Math.sqrt(s2 / n) - 0.5)).toBeLessThan(2e-3);
  });
});

describe('random ops reject bad input', () => {
  const out = Tensor.zeros([8]);
  const x = Tensor.zeros([8]);
  const disposed = () => {
    const d = Tensor.zeros([8]);
    d.dispose();
    return d;
  };
  const strided = Tensor.zeros([4, 4]).view(0, [4, 2], [4, 1]) as Tensor<'float32'>;
  const int = Tensor.zeros([8], { dtype: 'int32' }) as unknown as Tensor<'float32'>;

  it('randUniform', () => {
    expect(() => ops.randUniform(out, { seed: -1 })).toThrow(ValueError);
    expect(() => ops.randUniform(out, { seed: -1 })).toThrow(/seed/);
    expect(() => ops.randUniform(out, { seed: 1.5 })).toThrow(/seed: expected an integer/);
    expect(() => ops.randUniform(out, { seed: NaN })).toThrow(ValueError);
    expect(() => ops.randUniform(out, { seed: 2 ** 53 })).toThrow(/seed/);
    expect(() => ops.randUniform(out, { seed: 1, offset: -3 })).toThrow(/offset/);
    expect(() => ops.randUniform(out, { seed: 1, offset: 0.5 })).toThrow(ValueError);
    expect(() => ops.randUniform(out, { seed: '1' as unknown as number })).toThrow(ArgumentError);
    expect(() => ops.randUniform(out, undefined as never)).toThrow(/opts/);
    expect(() => ops.randUniform(int, { seed: 1 })).toThrow(DTypeError);
    expect(() => ops.randUniform(int, { seed: 1 })).toThrow(/out: expected float32/);
    expect(() => ops.randUniform(strided, { seed: 1 })).toThrow(ShapeError);
    expect(() => ops.randUniform(strided, { seed: 1 })).toThrow(/out: expected a contiguous/);
    expect(() => ops.randUniform(disposed(), { seed: 1 })).toThrow(DisposedError);
    // the native layer checks on its own
    expect(() => raw.randUniform(out.handle, -1, 0)).toThrow(/seed: expected a non-negative integer/);
    expect(() => raw.randUniform(out.handle, 1, 2 ** 53)).toThrow(/offset: expected an integer/);
    expect(() => raw.randUniform(out.handle, 1, NaN)).toThrow(ValueError);
    expect(() => raw.randUniform({} as never, 1, 0)).toThrow(ArgumentError);
  });

  it('randNormal', () => {
    expect(() => ops.randNormal(out, { seed: 1, std: -1 })).toThrow(ValueError);
    expect(() => ops.randNormal(out, { seed: 1, std: -1 })).toThrow(/std/);
    expect(() => ops.randNormal(out, { seed: 1, mean: NaN })).toThrow(/mean: expected a finite number/);
    expect(() => ops.randNormal(out, { seed: 1, mean: Infinity })).toThrow(ValueError);
    expect(() => ops.randNormal(out, { seed: -2 })).toThrow(/seed/);
    expect(() => ops.randNormal(int, { seed: 1 })).toThrow(DTypeError);
    expect(() => ops.randNormal(disposed(), { seed: 1 })).toThrow(DisposedError);
    expect(() => raw.randNormal(out.handle, 1, 0, 0, -0.5)).toThrow(/std: .* is below/);
    expect(() => raw.randNormal(out.handle, 1, 0, 1e300, 1)).toThrow(/mean: .* does not fit a float32/);
    expect(() => raw.randNormal(out.handle, 1, 0, 0, NaN)).toThrow(ValueError);
    expect(() => raw.randNormal(out.handle, 1, 0, 0)).toThrow(/std: expected a number/);
  });

  it('inputDrop', () => {
    expect(() => ops.inputDrop(x, out, 1.5, { seed: 1 })).toThrow(ValueError);
    expect(() => ops.inputDrop(x, out, -0.1, { seed: 1 })).toThrow(/p: -0.1 is outside/);
    expect(() => ops.inputDrop(x, out, NaN, { seed: 1 })).toThrow(/p: expected a finite number/);
    expect(() => ops.inputDrop(x, Tensor.zeros([9]), 0.5, { seed: 1 })).toThrow(ShapeError);
    expect(() => ops.inputDrop(x, Tensor.zeros([9]), 0.5, { seed: 1 })).toThrow(/out: shape \[9\] does not match x \[8\]/);
    expect(() => ops.inputDrop(int, out, 0.5, { seed: 1 })).toThrow(/x: expected float32/);
    expect(() => ops.inputDrop(x, int, 0.5, { seed: 1 })).toThrow(/out: expected float32/);
    expect(() => ops.inputDrop(disposed(), out, 0.5, { seed: 1 })).toThrow(DisposedError);
    expect(() => ops.inputDrop(x, disposed(), 0.5, { seed: 1 })).toThrow(/out: tensor has been disposed/);
    expect(() => ops.inputDrop(x, out, 0.5, { seed: -1 })).toThrow(/seed/);
    const buf = Tensor.zeros([10]);
    expect(() => ops.inputDrop(buf.view(0, [8]), buf.view(1, [8]), 0.5, { seed: 1 })).toThrow(/overlap/);
    expect(() => raw.inputDrop(x.handle, out.handle, 2, 1, 0)).toThrow(/p: .* is outside \[0/);
    expect(() => raw.inputDrop(x.handle, out.handle, 0.5, 1, -1)).toThrow(/offset/);
  });

  it('gaussianNoise', () => {
    expect(() => ops.gaussianNoise(x, out, -1, { seed: 1 })).toThrow(ValueError);
    expect(() => ops.gaussianNoise(x, out, -1, { seed: 1 })).toThrow(/std/);
    expect(() => ops.gaussianNoise(x, out, NaN, { seed: 1 })).toThrow(/std: expected a finite number/);
    expect(() => ops.gaussianNoise(x, Tensor.zeros([2, 3]), 1, { seed: 1 })).toThrow(/out: shape \[2, 3\]/);
    expect(() => ops.gaussianNoise(int, out, 1, { seed: 1 })).toThrow(DTypeError);
    expect(() => ops.gaussianNoise(x, disposed(), 1, { seed: 1 })).toThrow(DisposedError);
    expect(() => ops.gaussianNoise(x, out, 1, { seed: 1, offset: -1 })).toThrow(/offset/);
    const buf = Tensor.zeros([10]);
    expect(() => ops.gaussianNoise(buf.view(2, [8]), buf.view(0, [8]), 1, { seed: 1 })).toThrow(ValueError);
    expect(() => raw.gaussianNoise(x.handle, out.handle, -2, 1, 0)).toThrow(/std: .* is below/);
    expect(() => raw.gaussianNoise(x.handle, out.handle, 1e39, 1, 0)).toThrow(/std: .* does not fit/);
  });
});
