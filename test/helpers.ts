// Shared test utilities: a seeded PRNG for inputs, closeness checks, fixtures.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';

/** mulberry32: a tiny seeded PRNG so test inputs are fixed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n standard-normal floats from a seed (Box–Muller over rng). */
export function randn(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = 1 - r(), u2 = r();
    const m = Math.sqrt(-2 * Math.log(u1));
    out[i] = scale * m * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = scale * m * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/** n uniform floats in [lo, hi). */
export function randu(n: number, seed: number, lo = 0, hi = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

/** A random permutation of 0..n-1 (Fisher–Yates). */
export function randperm(n: number, seed: number): Int32Array {
  const r = rng(seed);
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

/** Elementwise |a − b| ≤ atol + rtol·|b|, reporting the worst element. */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { rtol = 1e-5, atol = 1e-6, label = '' }: { rtol?: number; atol?: number; label?: string } = {},
): void {
  expect(actual.length, `${label} length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!, b = expected[i]!;
    const excess = Math.abs(a - b) - (atol + rtol * Math.abs(b));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0)
    expect.fail(
      `${label} element ${worst}: got ${actual[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${atol})`,
    );
}

/** Bitwise equality of two float arrays, reporting the first difference. */
export function expectSame(a: Float32Array, b: Float32Array, label = ''): void {
  expect(a.length, label).toBe(b.length);
  if (Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))) return;
  const i = a.findIndex((v, k) => !Object.is(v, b[k]));
  expect.fail(`${label} element ${i}: got ${a[i]}, expected ${b[i]}`);
}

/**
 * u(w) = (w >>> 8)·2⁻²⁴: the 24-bit uniform in [0, 1) the kernels draw from a
 * Philox word (u32_to_unit in native/common/philox.h, exact in float32).
 */
export const unit = (w: number): number => (w >>> 8) / 2 ** 24;

/** Loads test/fixtures/<name>.json (made by test/fixtures/gen_*.py with python3-torch). */
export function fixture<T = any>(name: string): T {
  return JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', `${name}.json`), 'utf8')) as T;
}

/** The error `fn` throws (failing the test if it throws none). */
export function caught(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, none was thrown');
}
