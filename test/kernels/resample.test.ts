// SCARF feature resampling: the kernel against a plain reference loop that
// reproduces the documented Philox draws (lib/ops/resample.ts) with
// lib/random.ts philoxBlock, bit for bit; its statistics (replacement rate p,
// replaced values from the same column of the pool, rows uniform); in place;
// thread-count independence; hostile arguments in the wrapper and the addon;
// and the library view: prepare, compose, the error before it is prepared,
// training on a small table (loss falls) and resuming from a checkpoint
// (the same losses as the uninterrupted run).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArgumentError, DisposedError, DTypeError, NPair, MoCo, ShapeError, Tensor, ValueError, info, ops, setNumThreads, views } from '../../lib/index';
import { fromArray } from '../../lib/data/dataset';
import { native } from '../../lib/native';
import type { NativeTensor } from '../../lib/native';
import { philoxBlock } from '../../lib/random';
import { expectSame, randn, rng, unit } from '../helpers';

type NT = NativeTensor;
const raw = native as unknown as { resampleFeatures(x: NT, pool: NT, out: NT, p: unknown, seed: unknown, offset: unknown): void };

// ---- the documented draws, reproduced ----

/** Element e's draw: whether it is replaced, and by which pool row (⌊(w1·2³² + w2)·M / 2⁶⁴⌋, exactly). */
function draw(e: number, M: number, p: number, seed: number, offset: number): { replace: boolean; row: number } {
  const [w0, w1, w2] = philoxBlock(seed, e, offset);
  const x64 = (BigInt(w1 >>> 0) << 32n) | BigInt(w2 >>> 0);
  return { replace: unit(w0) < p, row: Number((x64 * BigInt(M)) >> 64n) };
}

/** The plain loop of the kernel's formula. */
function ref(x: Float32Array, pool: Float32Array, N: number, F: number, p: number, seed: number, offset: number): Float32Array {
  const M = pool.length / F;
  const out = new Float32Array(N * F);
  for (let i = 0; i < N; i++)
    for (let j = 0; j < F; j++) {
      const e = i * F + j;
      const d = draw(e, M, p, seed, offset);
      out[e] = d.replace ? pool[d.row * F + j]! : x[e]!;
    }
  return out;
}

/** Runs the kernel into an output prefilled with NaN (every element must be written). */
function run(x: Float32Array, pool: Float32Array, N: number, F: number, p: number, seed: number, offset: number): Float32Array {
  using xt = Tensor.from(x, [N, F]);
  using pt = Tensor.from(pool, [pool.length / F, F]);
  using out = Tensor.full([N, F], NaN);
  ops.resampleFeatures(xt, pt, out, { p, seed, offset });
  return out.toArray();
}

const STREAMS = [[7, 0], [123456789, 2 ** 40 + 5], [2 ** 53 - 1, 2 ** 53 - 1]] as const;

describe('resampleFeatures', () => {
  const cases: Array<[number, number, number, number]> = [
    // N, F, M, p
    [1, 1, 1, 0.6],
    [4, 3, 1, 1], // one pool row: every element becomes that row's feature
    [5, 7, 13, 0.6],
    [8, 5, 3, 0], // p = 0: a copy
    [6, 4, 50, 1], // p = 1: every element from the pool
    [3, 9, 1000, 0.3],
    [200, 37, 64, 0.6], // parallel path (several chunks of 4096 elements, chunks start mid-row)
    [1, 10000, 3, 0.5], // one long row across chunks
  ];
  for (const [N, F, M, p] of cases) {
    it(`matches the reference loop bit for bit on x [${N}, ${F}], pool [${M}, ${F}], p ${p}, out of place and in place`, () => {
      const x = randn(N * F, N * F + 1), pool = randn(M * F, M * F + 2, 3);
      for (const [seed, offset] of STREAMS) {
        const want = ref(x, pool, N, F, p, seed, offset);
        expectSame(run(x, pool, N, F, p, seed, offset), want, `seed ${seed} offset ${offset}`);
        using xt = Tensor.from(x, [N, F]);
        using pt = Tensor.from(pool, [M, F]);
        ops.resampleFeatures(xt, pt, xt, { p, seed, offset });
        expectSame(xt.toArray(), want, 'in place');
      }
      if (p === 0) expectSame(run(x, pool, N, F, p, 1, 2), x, 'p = 0 copies');
    });
  }

  it('replaces elements at rate p, each from the same column of the pool, with uniform rows', () => {
    // x < 0 everywhere; pool[r, j] = 1000·r + j + 1 names its row and column.
    const N = 400, F = 25, M = 37, p = 0.6;
    const x = new Float32Array(N * F).fill(-1);
    const pool = Float32Array.from({ length: M * F }, (_, k) => 1000 * Math.floor(k / F) + (k % F) + 1);
    const out = run(x, pool, N, F, p, 99, 17);
    let replaced = 0;
    const rows = new Array(M).fill(0);
    const bad: string[] = [];
    for (let e = 0; e < N * F; e++) {
      const v = out[e]!;
      if (v === -1) continue;
      replaced++;
      const r = Math.floor(v / 1000), j = (v % 1000) - 1;
      if (j !== e % F) bad.push(`element ${e} (column ${e % F}) took column ${j}`);
      if (!(r >= 0 && r < M)) bad.push(`element ${e} took row ${r}`);
      rows[r]++;
    }
    expect(bad.slice(0, 5)).toEqual([]);
    const n = N * F;
    expect(Math.abs(replaced / n - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
    for (const c of rows) expect(Math.abs(c - replaced / M)).toBeLessThan(5 * Math.sqrt((replaced * (M - 1)) / M ** 2));
  });

  it('is deterministic, thread-count independent, and advances with the seed and the offset', () => {
    const N = 300, F = 41, M = 97;
    const x = randn(N * F, 4), pool = randn(M * F, 5);
    const threads = info().threads;
    const a = run(x, pool, N, F, 0.6, 1, 2);
    setNumThreads(1);
    const b = run(x, pool, N, F, 0.6, 1, 2);
    setNumThreads(threads);
    expectSame(b, a, 'one thread');
    expectSame(run(x, pool, N, F, 0.6, 1, 2), a, 'again');
    expect(run(x, pool, N, F, 0.6, 1, 3)).not.toEqual(a);
    expect(run(x, pool, N, F, 0.6, 2, 2)).not.toEqual(a);
  });

  it('takes empty batches and rows, and NaN/inf values as data', () => {
    expect(run(new Float32Array(0), randn(6, 1), 0, 3, 0.6, 1, 0)).toEqual(new Float32Array(0));
    using empty = Tensor.zeros([4, 0]);
    ops.resampleFeatures(empty, Tensor.zeros([2, 0]), empty, { p: 0.6, seed: 1 }); // rows of no features
    expect(empty.shape).toEqual([4, 0]);
    const x = Float32Array.from([NaN, Infinity, -Infinity, 1]), pool = Float32Array.from([NaN, 2, 3, -Infinity]);
    expectSame(run(x, pool, 1, 4, 0.5, 3, 4), ref(x, pool, 1, 4, 0.5, 3, 4));
  });

  it('reads a pool that shares memory with x (both are inputs)', () => {
    const N = 6, F = 5;
    const data = randn(20 * F, 8);
    using pool = Tensor.from(data, [20, F]);
    using out = Tensor.zeros([N, F]);
    ops.resampleFeatures(pool.rows(3, 3 + N), pool, out, { p: 0.5, seed: 9 });
    expectSame(out.toArray(), ref(data.subarray(3 * F, (3 + N) * F), data, N, F, 0.5, 9, 0));
  });

  it('rejects bad tensors with typed errors naming the argument', () => {
    const x = Tensor.zeros([4, 5]), pool = Tensor.zeros([3, 5]), out = Tensor.zeros([4, 5]);
    const s = { p: 0.6, seed: 1 };
    const d = Tensor.zeros([4, 5]);
    d.dispose();
    const f = (a: Tensor<'float32'>, b: Tensor<'float32'>, c: Tensor<'float32'>) => ops.resampleFeatures(a, b, c, s);
    expect(() => f(Tensor.zeros([4, 5, 1]), pool, Tensor.zeros([4, 5, 1]))).toThrow(/x: SCARF resampling needs rows \[N, F\], got shape \[4, 5, 1\]/);
    expect(() => f(Tensor.zeros([20]), pool, Tensor.zeros([20]))).toThrow(ShapeError);
    expect(() => f(x, Tensor.zeros([3, 4]), out)).toThrow(/pool: expected shape \[\*, 5\], got \[3, 4\]/);
    expect(() => f(x, Tensor.zeros([15]), out)).toThrow(ShapeError);
    expect(() => f(x, Tensor.zeros([0, 5]), out)).toThrow(/pool: expected at least one row to draw features from, got shape \[0, 5\]/);
    expect(() => f(x, pool, Tensor.zeros([4, 6]))).toThrow(/out: expected shape \[4, 5\], got \[4, 6\]/);
    expect(() => f(x, pool, Tensor.zeros([20]))).toThrow(ShapeError);
    expect(() => f(Tensor.zeros([4, 5], { dtype: 'int32' }) as never, pool, out)).toThrow(DTypeError);
    expect(() => f(x, Tensor.zeros([3, 5], { dtype: 'int32' }) as never, out)).toThrow(/pool: expected float32/);
    expect(() => f(x, pool, Tensor.zeros([4, 5], { dtype: 'int32' }) as never)).toThrow(/out: expected float32/);
    expect(() => f(d, pool, out)).toThrow(DisposedError);
    expect(() => f(x, d, out)).toThrow(/pool: tensor has been disposed/);
    expect(() => f(x, pool, d)).toThrow(/out: tensor has been disposed/);
    expect(() => f(Tensor.zeros([40]).view(0, [4, 5], [10, 1]), pool, out)).toThrow(/x: expected a contiguous/);
    expect(() => f(x, Tensor.zeros([30]).view(0, [3, 5], [10, 1]), out)).toThrow(/pool: expected a contiguous/);
    // Aliasing: out may be x itself, not a part of it; the pool may not overlap out.
    const buf = Tensor.zeros([60]);
    expect(() => f(buf.view(0, [4, 5]), pool, buf.view(5, [4, 5]))).toThrow(/x and out overlap in memory/);
    expect(() => f(x, buf.view(0, [3, 5]), buf.view(10, [4, 5]))).toThrow(/pool and out overlap in memory; out may be x itself, but the pool must stay apart from it/);
    expect(() => f(buf.view(0, [4, 5]), buf.view(0, [3, 5]), buf.view(0, [4, 5]))).toThrow(ValueError); // in place over the pool
    expect(() => f(buf.view(0, [4, 5]), buf.view(20, [3, 5]), buf.view(0, [4, 5]))).not.toThrow(); // in place, pool apart
    expect(() => f(x, x, out)).not.toThrow(); // x as its own pool
  });

  it('rejects bad scalars and options, in the wrapper and again in the addon', () => {
    const x = Tensor.zeros([4, 5]), pool = Tensor.zeros([3, 5]), out = Tensor.zeros([4, 5]);
    for (const p of [-0.1, 1.5]) expect(() => ops.resampleFeatures(x, pool, out, { p, seed: 1 })).toThrow(new RegExp(`p: ${p} is outside \\[0, 1\\]`));
    expect(() => ops.resampleFeatures(x, pool, out, { p: NaN, seed: 1 })).toThrow(/p: expected a finite number/);
    expect(() => ops.resampleFeatures(x, pool, out, { p: '0.5' as never, seed: 1 })).toThrow(ArgumentError);
    expect(() => ops.resampleFeatures(x, pool, out, { seed: 1 } as never)).toThrow(/p: expected a number, got undefined/);
    expect(() => ops.resampleFeatures(x, pool, out, { p: 0.5, seed: -1 })).toThrow(/seed: -1 is outside/);
    expect(() => ops.resampleFeatures(x, pool, out, { p: 0.5, seed: 1, offset: 0.5 })).toThrow(/offset: expected an integer/);
    expect(() => ops.resampleFeatures(x, pool, out, null as never)).toThrow(/opts: expected an object/);
    expect(() => ops.resampleFeatures(x, null as never, out, { p: 0.5, seed: 1 })).toThrow(ArgumentError);
    const [xh, ph, oh] = [x.handle, pool.handle, out.handle];
    expect(() => raw.resampleFeatures(xh, ph, oh, 1.5, 1, 0)).toThrow(/p: .* is outside/);
    expect(() => raw.resampleFeatures(xh, ph, oh, NaN, 1, 0)).toThrow(/p: expected a finite number/);
    expect(() => raw.resampleFeatures(xh, ph, oh, '0.5', 1, 0)).toThrow(ArgumentError);
    expect(() => raw.resampleFeatures(xh, ph, oh, 0.5, -3, 0)).toThrow(/seed: expected a non-negative integer/);
    expect(() => raw.resampleFeatures(xh, ph, oh, 0.5, 1, 2 ** 53)).toThrow(/offset: expected an integer/);
    expect(() => raw.resampleFeatures(xh, ph, oh, 0.5, 1, undefined)).toThrow(/offset: expected a number/);
    expect(() => raw.resampleFeatures(xh, {} as NT, oh, 0.5, 1, 0)).toThrow(/pool: expected a Tensor/);
    expect(() => raw.resampleFeatures(xh, ph, undefined as never, 0.5, 1, 0)).toThrow(/out: expected a Tensor, got nothing/);
    expect(() => raw.resampleFeatures(Tensor.zeros([2, 2, 5]).handle, ph, Tensor.zeros([2, 2, 5]).handle, 0.5, 1, 0)).toThrow(/x: SCARF resampling needs rows/);
    expect(() => raw.resampleFeatures(xh, Tensor.zeros([0, 5]).handle, oh, 0.5, 1, 0)).toThrow(ShapeError);
    expect(() => raw.resampleFeatures(xh, ph, ph, 0.5, 1, 0)).toThrow(ShapeError); // out of the pool's shape
  });
});

describe('views.resample', () => {
  const N = 6, F = 8, M = 30;
  const x = randn(N * F, 21), train = randn(M * F, 22, 2);

  it('describes itself as resample(p), needs no sample shape, and checks p', () => {
    expect(views.resample(0.6).describe).toBe('resample(0.6)');
    expect(views.resample(0).describe).toBe('resample(0)');
    const v = views.resample(1);
    expect(v.spatial).toBeUndefined();
    expect(v.signal).toBeUndefined();
    expect(typeof v.prepare).toBe('function');
    expect(views.compose(views.inputDrop(0.1), views.resample(0.6)).describe).toBe('inputDrop(0.1) ∘ resample(0.6)');
    expect(views.compose(views.inputDrop(0.1), views.gaussianNoise(0.1)).prepare).toBeUndefined();
    for (const p of [-0.1, 1.5, NaN, '0.5']) expect(() => views.resample(p as never)).toThrow(/p: expected a probability in \[0, 1\]/);
  });

  it('throws a clear error until it is prepared, and after its rows were disposed', () => {
    const v = views.resample(0.6);
    const xt = Tensor.from(x, [N, F]), out = Tensor.zeros([N, F]);
    expect(() => v(xt, out, { seed: 1, offset: 0 })).toThrow(ArgumentError);
    expect(() => v(xt, out, { seed: 1, offset: 0 })).toThrow(/resample\(0\.6\): no training rows to draw from; the view gets them from fit\(\) \(View\.prepare\) before the first step/);
    expect(() => views.compose(views.inputDrop(0.1), v)(xt, out, { seed: 1, offset: 0 })).toThrow(/resample\(0\.6\): no training rows/);
    expect(() => v.prepare!(Tensor.zeros([0, F]))).toThrow(/train: resample\(0\.6\) needs at least one training row/);
    expect(() => v.prepare!({} as never)).toThrow(/train: expected the training rows as a Tensor/);
    const rows = Tensor.from(train, [M, F]);
    v.prepare!(rows);
    v(xt, out, { seed: 1, offset: 0 });
    rows.dispose();
    expect(() => v(xt, out, { seed: 1, offset: 0 })).toThrow(DisposedError);
    expect(() => v(xt, out, { seed: 1, offset: 0 })).toThrow(/the training rows it was prepared with were disposed/);
  });

  it('runs the kernel on [N, F] rows (and rows of any sample shape), out of place and in place, reading the prepared rows by reference', () => {
    const s = { seed: 11, offset: 5 };
    const v = views.resample(0.6);
    const rows = Tensor.from(train, [M, F]);
    v.prepare!(rows);
    const want = ref(x, train, N, F, 0.6, s.seed, s.offset);
    const out = Tensor.zeros([N, F]);
    v(Tensor.from(x, [N, F]), out, s);
    expectSame(out.toArray(), want);
    const inPlace = Tensor.from(x, [N, F]);
    v(inPlace, inPlace, s);
    expectSame(inPlace.toArray(), want, 'in place');
    const img = Tensor.from(x, [N, 2, 2, 2]), imgOut = Tensor.zeros([N, 2, 2, 2]);
    v(img, imgOut, s, [2, 2, 2]);
    expectSame(imgOut.toArray(), want, '[N, C, H, W]');
    expect(() => v(Tensor.from(x, [N, F]), Tensor.zeros([N, F + 1]), s)).toThrow(/out: expected shape \[6, 8\], got \[6, 9\]/);
    expect(() => v(Tensor.zeros([N, F + 1]), Tensor.zeros([N, F + 1]), s)).toThrow(/pool: expected shape \[\*, 9\], got \[30, 8\]/);
    // By reference: new values in the same tensor are what the next call draws from.
    rows.set(new Float32Array(M * F).fill(7));
    const o2 = Tensor.zeros([N, F]);
    views.compose(v)(Tensor.from(x, [N, F]), o2, { seed: 2, offset: 0 });
    const wantSeven = ref(x, new Float32Array(M * F).fill(7), N, F, 0.6, 2, 0 * 16);
    expectSame(o2.toArray(), wantSeven, 'after rows.set');
  });

  it('compose prepares the views it holds and gives the k-th offset·16 + k', () => {
    const v = views.compose(views.inputDrop(0.2), views.resample(0.6));
    v.prepare!(Tensor.from(train, [M, F]));
    const out = Tensor.zeros([N, F]);
    v(Tensor.from(x, [N, F]), out, { seed: 4, offset: 9 });
    using xd = Tensor.from(x, [N, F]);
    ops.inputDrop(xd, xd, 0.2, { seed: 4, offset: 9 * 16 });
    expectSame(out.toArray(), ref(xd.toArray(), train, N, F, 0.6, 4, 9 * 16 + 1));
  });
});

describe('resample in training', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'imix-resample-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** A small table: 3 clusters in 10 columns of different scales and offsets. */
  function table(n: number, seed: number) {
    const r = rng(seed);
    const F = 10, x = new Float32Array(n * F), labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const k = i % 3;
      labels[i] = k;
      for (let j = 0; j < F; j++) x[i * F + j] = (j % 3 === k ? 2 : 0) * (1 + j) + (r() - 0.5) * (1 + j / 2) + j;
    }
    return fromArray(x, [F], { labels });
  }
  const opts = { encoder: { kind: 'mlp' as const, hidden: [32] }, projection: [32, 16] as [number, number], seed: 5 };

  it('fit prepares the views once per fit with the training rows on the device, by reference', async () => {
    const data = table(96, 1);
    const seen: Tensor<'float32'>[] = [];
    const spy = views.compose(views.resample(0.6));
    const inner = spy.prepare!;
    spy.prepare = (t) => {
      seen.push(t);
      inner(t);
    };
    const m = new NPair({ ...opts, views: spy });
    await m.fit(data, { epochs: 1, batchSize: 32 });
    expect(seen).toHaveLength(1); // the same view for the query and the key: prepared once
    expect(seen[0]!.shape).toEqual([96, 10]);
    expect(seen[0]!.device).toBe('cpu');
    expectSame(seen[0]!.toArray(), data.x);
    await m.fit(data, { epochs: 2, batchSize: 32 });
    expect(seen).toHaveLength(2);
    expect(seen[1]!.sharesStorage(seen[0]!)).toBe(true); // the same device rows, refreshed, no new copy
    m.dispose();
    // A view pair: each prepared.
    const a = views.resample(0.6), b = views.inputDrop(0.1);
    let count = 0;
    const pa = a.prepare!;
    a.prepare = (t) => (count++, pa(t));
    const m2 = new NPair({ ...opts, views: [a, views.compose(b, a)] });
    await m2.fit(data, { epochs: 1, batchSize: 32, maxSteps: 1 });
    expect(count).toBe(2);
    m2.dispose();
  });

  it('a method trains on a small table with resample(0.6): the loss falls', async () => {
    const data = table(192, 2);
    for (const make of [
      () => new NPair({ ...opts, views: views.resample(0.6) }),
      () => new MoCo({ ...opts, views: views.compose(views.resample(0.6), views.gaussianNoise(0.05)), queueSize: 64, mix: { kind: 'mixup' } }),
    ]) {
      const m = make();
      const r = await m.fit(data, { epochs: 12, batchSize: 32 });
      expect(r.losses.every(Number.isFinite)).toBe(true);
      expect(r.epochLosses.at(-1)!, `${m.name}: ${r.epochLosses.map((l) => l.toFixed(3)).join(' ')}`).toBeLessThan(r.epochLosses[0]! - 0.1);
      m.dispose();
    }
  }, 60_000);

  it('resumes from a checkpoint with the same losses as the uninterrupted run (the new view is prepared again)', async () => {
    const data = table(128, 3);
    const make = () => new NPair({ ...opts, views: views.compose(views.resample(0.6), views.inputDrop(0.1)) });
    const full = make();
    const ref = await full.fit(data, { epochs: 3, batchSize: 32 });
    full.dispose();
    const dir = path.join(tmp, 'run');
    const a = make();
    const first = await a.fit(data, { epochs: 3, batchSize: 32, maxSteps: 5, checkpointDir: dir });
    a.dispose();
    const b = make();
    await b.load(dir);
    const rest = await b.fit(data, { epochs: 3, batchSize: 32 });
    b.dispose();
    expect(first.losses.length + rest.losses.length).toBe(12);
    expect([...first.losses, ...rest.losses]).toEqual(ref.losses);
  });
});
