import { describe, expect, it } from 'vitest';
import {
  ArgumentError,
  DTypeError,
  DisposedError,
  ShapeError,
  Tensor,
  ValueError,
  ops,
  setNumThreads,
  info,
} from '../../lib/index';
import { expectClose, fixture, randn, randperm, randu } from '../helpers';

// ---------------------------------------------------------------------------
// float64 references: plain loops, written from the formulas.
// ---------------------------------------------------------------------------

function refNormalize(x: ArrayLike<number>, N: number, D: number, eps: number) {
  const y = new Float64Array(N * D), norms = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    let ss = 0;
    for (let j = 0; j < D; j++) ss += x[i * D + j]! ** 2;
    const n = Math.max(Math.sqrt(ss), eps);
    norms[i] = n;
    for (let j = 0; j < D; j++) y[i * D + j] = x[i * D + j]! / n;
  }
  return { y, norms };
}

function refNormalizeBackward(dy: ArrayLike<number>, y: ArrayLike<number>, norms: ArrayLike<number>, N: number, D: number) {
  const dx = new Float64Array(N * D);
  for (let i = 0; i < N; i++) {
    let dot = 0;
    for (let j = 0; j < D; j++) dot += y[i * D + j]! * dy[i * D + j]!;
    for (let j = 0; j < D; j++) dx[i * D + j] = (dy[i * D + j]! - y[i * D + j]! * dot) / norms[i]!;
  }
  return dx;
}

interface CeOpts {
  targets?: ArrayLike<number> | null;
  perm?: ArrayLike<number> | null;
  lam?: ArrayLike<number> | null;
  colOffset?: number;
  scale?: number;
}

/** Per-row losses and scale·(softmax − soft target), in float64. */
function refCE(s: ArrayLike<number>, N: number, M: number, o: CeOpts = {}) {
  const off = o.colOffset ?? 0, scale = o.scale ?? 1;
  const losses = new Float64Array(N), grad = new Float64Array(N * M);
  for (let i = 0; i < N; i++) {
    const c = (r: number) => (o.targets ? o.targets[r]! : r);
    const a = off + c(i), b = off + c(o.perm ? o.perm[i]! : i);
    const lam = o.lam ? o.lam[i]! : 1;
    let m = -Infinity;
    for (let j = 0; j < M; j++) m = Math.max(m, s[i * M + j]!);
    let S = 0;
    for (let j = 0; j < M; j++) S += Math.exp(s[i * M + j]! - m);
    const lse = m + Math.log(S);
    losses[i] = lse - lam * s[i * M + a]! - (1 - lam) * s[i * M + b]!;
    for (let j = 0; j < M; j++) grad[i * M + j] = scale * Math.exp(s[i * M + j]! - lse);
    grad[i * M + a] -= scale * lam;
    grad[i * M + b] -= scale * (1 - lam);
  }
  return { losses, grad, sum: losses.reduce((x, y) => x + y, 0) };
}

function refCosine(
  p: ArrayLike<number>,
  k: ArrayLike<number>,
  N: number,
  D: number,
  perm: ArrayLike<number> | null,
  lam: ArrayLike<number> | null,
  scale = 1,
) {
  const losses = new Float64Array(N), dp = new Float64Array(N * D);
  for (let i = 0; i < N; i++) {
    const pi = perm ? perm[i]! : i, l = lam ? lam[i]! : 1;
    let d1 = 0, d2 = 0;
    for (let c = 0; c < D; c++) {
      d1 += p[i * D + c]! * k[i * D + c]!;
      d2 += p[i * D + c]! * k[pi * D + c]!;
    }
    losses[i] = 2 - 2 * (l * d1 + (1 - l) * d2);
    for (let c = 0; c < D; c++) dp[i * D + c] = -2 * scale * (l * k[i * D + c]! + (1 - l) * k[pi * D + c]!);
  }
  return { losses, dp, sum: losses.reduce((x, y) => x + y, 0) };
}

/** Central differences of f at x (float64) for the listed coordinates. */
function numGrad(f: (x: Float64Array) => number, x0: ArrayLike<number>, coords: number[], h = 1e-5): number[] {
  const x = Float64Array.from(x0);
  return coords.map((j) => {
    const v = x[j]!;
    x[j] = v + h;
    const fp = f(x);
    x[j] = v - h;
    const fm = f(x);
    x[j] = v;
    return (fp - fm) / (2 * h);
  });
}

/** Asserts `fn` throws an instance of `cls` whose message matches `msg` (the argument's name). */
function expectErr(fn: () => unknown, cls: new (...a: never[]) => Error, msg: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${cls.name} matching ${msg}`).toBeInstanceOf(cls);
  expect((err as Error).message).toMatch(msg);
}

const f32 = (a: ArrayLike<number>) => Float32Array.from(a);
const i32 = (a: ArrayLike<number>) => Int32Array.from(a);

/** i-Mix's λ: max(u, 1−u) for u uniform, as float32 values. */
function randLam(n: number, seed: number): Float32Array {
  return randu(n, seed).map((u) => Math.max(u, 1 - u));
}

// ---------------------------------------------------------------------------
// l2 normalize
// ---------------------------------------------------------------------------

describe('l2Normalize / l2NormalizeBackward', () => {
  function run(N: number, D: number, seed: number, eps = 1e-12, xscale = 1) {
    const x = randn(N * D, seed, xscale), dy = randn(N * D, seed + 1);
    const xt = Tensor.from(x, [N, D]), yt = Tensor.zeros([N, D]), nt = Tensor.zeros([N]);
    ops.l2Normalize(xt, yt, nt, { eps });
    const ref = refNormalize(x, N, D, eps);
    expectClose(yt.toArray(), ref.y, { rtol: 2e-6, atol: 1e-7, label: 'y' });
    expectClose(nt.toArray(), ref.norms, { rtol: 1e-6, atol: 0, label: 'norms' });
    const y = yt.toArray(), norms = nt.toArray();
    const dxt = Tensor.zeros([N, D]);
    ops.l2NormalizeBackward(Tensor.from(dy, [N, D]), yt, nt, dxt);
    // Reference on the kernel's own (float32) y and norms: checks the backward alone.
    expectClose(dxt.toArray(), refNormalizeBackward(dy, y, norms, N, D), { rtol: 1e-5, atol: 1e-6 / xscale, label: 'dx' });
  }

  it('matches the reference on odd sizes, N = 1 and D = 1', () => {
    run(37, 129, 1);
    run(1, 33, 2);
    run(5, 1, 3);
    run(3, 17, 4, 1e-6, 100);
  });

  it('matches the reference on a size that takes the parallel path', () => {
    run(2048, 96, 5);
  });

  it('clamps the norm at eps and uses the design formula for the backward of clamped rows', () => {
    const D = 8, eps = 1e-3;
    // Row 0: zero; row 1: norm 5e-4 < eps; row 2: norm ≫ eps.
    const x = new Float32Array(3 * D);
    const u = randn(D, 11);
    const un = Math.hypot(...u);
    for (let j = 0; j < D; j++) {
      x[D + j] = (u[j]! / un) * 5e-4;
      x[2 * D + j] = u[j]! * 3;
    }
    const xt = Tensor.from(x, [3, D]), yt = Tensor.zeros([3, D]), nt = Tensor.zeros([3]);
    ops.l2Normalize(xt, yt, nt, { eps });
    const norms = nt.toArray();
    expect(norms[0]).toBeCloseTo(eps, 9);
    expect(norms[1]).toBeCloseTo(eps, 9);
    expectClose(yt.toArray(), refNormalize(x, 3, D, eps).y, { rtol: 1e-6, atol: 1e-7 });
    // Row 1's y = x/eps has norm 0.5: the projection term is not negligible,
    // so the formula visibly differs from PyTorch's dy/eps there.
    const dy = randn(3 * D, 12);
    const dxt = Tensor.zeros([3, D]);
    ops.l2NormalizeBackward(Tensor.from(dy, [3, D]), yt, nt, dxt);
    const dx = dxt.toArray();
    const ref = refNormalizeBackward(dy, yt.toArray(), norms, 3, D);
    expectClose(dx, ref, { rtol: 1e-5, atol: 1e-3 });
    let diffTorch = 0;
    for (let j = 0; j < D; j++) diffTorch = Math.max(diffTorch, Math.abs(dx[D + j]! - dy[D + j]! / eps));
    expect(diffTorch).toBeGreaterThan(1);
    // The zero row: y = 0, so the formula and PyTorch agree: dx = dy/eps.
    expectClose(dx.subarray(0, D), Array.from(dy.subarray(0, D), (v) => v / eps), { rtol: 1e-6, atol: 0 });
  });

  it('forward works in place (y = x)', () => {
    const N = 33, D = 70;
    const x = randn(N * D, 41, 5);
    const t = Tensor.from(x, [N, D]), nt = Tensor.zeros([N]);
    ops.l2Normalize(t, t, nt);
    const ref = refNormalize(x, N, D, 1e-12);
    expectClose(t.toArray(), ref.y, { rtol: 2e-6, atol: 1e-7 });
    expectClose(nt.toArray(), ref.norms, { rtol: 1e-6, atol: 0 });
  });

  it('backward works in place (dx = dy)', () => {
    const N = 9, D = 23;
    const x = randn(N * D, 21), dy = randn(N * D, 22);
    const yt = Tensor.zeros([N, D]), nt = Tensor.zeros([N]);
    ops.l2Normalize(Tensor.from(x, [N, D]), yt, nt);
    const out = Tensor.zeros([N, D]);
    ops.l2NormalizeBackward(Tensor.from(dy, [N, D]), yt, nt, out);
    const g = Tensor.from(dy, [N, D]);
    ops.l2NormalizeBackward(g, yt, nt, g);
    expect(Array.from(g.toArray())).toEqual(Array.from(out.toArray()));
  });

  it('backward is the derivative of the forward (finite differences through a random linear functional)', () => {
    const N = 4, D = 6, eps = 1e-12;
    const x = randn(N * D, 31), w = randn(N * D, 32);
    const yt = Tensor.zeros([N, D]), nt = Tensor.zeros([N]);
    ops.l2Normalize(Tensor.from(x, [N, D]), yt, nt, { eps });
    const dxt = Tensor.zeros([N, D]);
    ops.l2NormalizeBackward(Tensor.from(w, [N, D]), yt, nt, dxt);
    // L(x) = Σ w ⊙ normalize(x), in float64.
    const L = (xx: Float64Array) => refNormalize(xx, N, D, eps).y.reduce((acc, v, j) => acc + v * w[j]!, 0);
    const coords = Array.from({ length: N * D }, (_, j) => j);
    expectClose(dxt.toArray(), numGrad(L, x, coords, 1e-6), { rtol: 1e-4, atol: 1e-5 });
  });

  it('matches PyTorch F.normalize and its backward (fixture)', () => {
    const fx = fixture<{ normalize: Array<{ N: number; D: number; eps: number; x: number[]; dy: number[]; y: number[]; norms: number[]; dx: number[] }> }>('loss');
    for (const c of fx.normalize) {
      const yt = Tensor.zeros([c.N, c.D]), nt = Tensor.zeros([c.N]), dxt = Tensor.zeros([c.N, c.D]);
      ops.l2Normalize(Tensor.from(f32(c.x), [c.N, c.D]), yt, nt, { eps: c.eps });
      expectClose(yt.toArray(), c.y, { rtol: 2e-6, atol: 1e-7, label: 'y' });
      expectClose(nt.toArray(), c.norms, { rtol: 1e-6, atol: 0, label: 'norms' });
      ops.l2NormalizeBackward(Tensor.from(f32(c.dy), [c.N, c.D]), yt, nt, dxt);
      const tol = 1e-6 * Math.max(...c.dx.map(Math.abs));
      expectClose(dxt.toArray(), c.dx, { rtol: 1e-5, atol: tol, label: 'dx' });
    }
  });

  it('rejects bad input', () => {
    const x = Tensor.zeros([3, 4]), y = Tensor.zeros([3, 4]), n = Tensor.zeros([3]);
    expectErr(() => ops.l2Normalize(Tensor.zeros([12]), y, n), ShapeError, /^x: expected 2 dimensions/);
    expectErr(() => ops.l2Normalize(x, Tensor.zeros([3, 5]), n), ShapeError, /^y: expected shape \[3, 4\]/);
    expectErr(() => ops.l2Normalize(x, y, Tensor.zeros([4])), ShapeError, /^norms: expected shape \[3\]/);
    expectErr(() => ops.l2Normalize(Tensor.zeros([3, 4], { dtype: 'int32' }) as never, y, n), DTypeError, /^x: expected float32/);
    expectErr(() => ops.l2Normalize(x, y, n, { eps: NaN }), ValueError, /^eps/);
    expectErr(() => ops.l2Normalize(x, y, n, { eps: 0 }), ValueError, /^eps/);
    expectErr(() => ops.l2Normalize(x, y, n, { eps: -1 }), ValueError, /^eps/);
    const b5 = Tensor.zeros([4, 4]);
    expectErr(() => ops.l2Normalize(b5.rows(0, 3), b5.rows(1, 4), n), ValueError, /^y and x overlap/);
    expectErr(() => ops.l2Normalize(x, y, x.view(0, [3])), ValueError, /^x and norms overlap/);
    const d = Tensor.zeros([3]);
    d.dispose();
    expectErr(() => ops.l2Normalize(x, y, d), DisposedError, /^norms: tensor has been disposed/);

    const dy = Tensor.zeros([3, 4]), dx = Tensor.zeros([3, 4]);
    expectErr(() => ops.l2NormalizeBackward(Tensor.zeros([3, 5]), y, n, dx), ShapeError, /^dy: expected shape/);
    expectErr(() => ops.l2NormalizeBackward(dy, y, Tensor.zeros([2]), dx), ShapeError, /^norms: expected shape/);
    expectErr(() => ops.l2NormalizeBackward(dy, y, n, Tensor.zeros([4, 3])), ShapeError, /^dx: expected shape/);
    expectErr(() => ops.l2NormalizeBackward(dy, Tensor.zeros([3, 4], { dtype: 'int32' }) as never, n, dx), DTypeError, /^y: expected float32/);
    expectErr(() => ops.l2NormalizeBackward(dy, y, n, y), ValueError, /^dx and y overlap/);
    const big = Tensor.zeros([4, 4]);
    expectErr(() => ops.l2NormalizeBackward(big.rows(0, 3), y, n, big.rows(1, 4)), ValueError, /^dx and dy overlap/);
    expectErr(() => ops.l2NormalizeBackward(dy, y, n, d), DisposedError, /^dx: tensor has been disposed/);
  });
});

// ---------------------------------------------------------------------------
// mixed cross-entropy
// ---------------------------------------------------------------------------

describe('mixedCrossEntropy', () => {
  /** Runs the kernel on `s` and compares losses, sum and in-place gradient with the reference. */
  function check(s: Float32Array, N: number, M: number, o: CeOpts, label: string) {
    const logits = Tensor.from(s, [N, M]);
    const losses = Tensor.zeros([N]);
    const sum = ops.mixedCrossEntropy(logits, {
      targets: o.targets ? Tensor.from(i32(o.targets)) : undefined,
      perm: o.perm ? Tensor.from(i32(o.perm)) : undefined,
      lam: o.lam ? Tensor.from(f32(o.lam)) : undefined,
      colOffset: o.colOffset,
      scale: o.scale,
      losses,
    });
    const ref = refCE(s, N, M, o);
    const scale = Math.abs(o.scale ?? 1);
    expectClose(losses.toArray(), ref.losses, { rtol: 1e-6, atol: 2e-5, label: `${label} losses` });
    expect(Math.abs(sum - ref.sum), `${label} sum`).toBeLessThanOrEqual(1e-6 * Math.abs(ref.sum) + 2e-5 * N);
    expectClose(logits.toArray(), ref.grad, { rtol: 1e-5, atol: 1e-6 * scale, label: `${label} grad` });
    return { sum, grad: logits.toArray(), losses: losses.toArray() };
  }

  it('N-pair layout with i-Mix targets (N×N), odd N and M', () => {
    const N = 37;
    check(randn(N * N, 1, 3), N, N, { perm: randperm(N, 2), lam: randLam(N, 3), scale: 1 / N }, 'npair');
  });

  it('N = 1, hard label', () => {
    check(randn(5, 4, 2), 1, 5, {}, 'N=1');
    check(randn(1, 5, 2), 1, 1, {}, 'M=1');
  });

  it('π = identity gives the hard-label loss for any λ', () => {
    const N = 11, M = 11;
    const s = randn(N * M, 6, 2);
    const id = Int32Array.from({ length: N }, (_, i) => i);
    const a = check(s, N, M, { perm: id, lam: randLam(N, 7) }, 'identity');
    const b = check(s, N, M, {}, 'hard');
    expectClose(a.grad, b.grad, { rtol: 1e-6, atol: 1e-7 });
    expect(a.sum).toBeCloseTo(b.sum, 5);
  });

  it('λ = 0.5, λ = 1 (equals hard labels despite the permutation) and λ = 0 (all weight on π(i))', () => {
    const N = 16, M = 16;
    const s = randn(N * M, 8, 2), perm = randperm(N, 9);
    check(s, N, M, { perm, lam: new Float32Array(N).fill(0.5) }, 'λ=0.5');
    const one = check(s, N, M, { perm, lam: new Float32Array(N).fill(1) }, 'λ=1');
    const hard = check(s, N, M, {}, 'hard');
    expect(Array.from(one.grad)).toEqual(Array.from(hard.grad));
    const zero = check(s, N, M, { perm, lam: new Float32Array(N).fill(0) }, 'λ=0');
    // λ = 0: row i's target is column π(i).
    const tgt = check(s, N, M, { targets: perm }, 'targets=π');
    expect(Array.from(zero.grad)).toEqual(Array.from(tgt.grad));
  });

  it('MoCo i-Mix layout N×(N+K) and a column offset with class targets', () => {
    const N = 13, K = 50;
    check(randn(N * (N + K), 10, 3), N, N + K, { perm: randperm(N, 11), lam: randLam(N, 12), scale: 1 / N }, 'moco-imix');
    // Targets behind colOffset > 0: columns [off, off + C).
    const off = 7, C = 20, M = off + C;
    const targets = Int32Array.from(randu(N, 13), (u) => Math.floor(u * C));
    targets[0] = C - 1; // the last column
    check(randn(N * M, 14, 3), N, M, { targets, perm: randperm(N, 15), lam: randLam(N, 16), colOffset: off }, 'offset');
    // No targets, colOffset > 0: a_i = off + i.
    check(randn(N * (N + 4), 17, 3), N, N + 4, { colOffset: 4, perm: randperm(N, 18), lam: randLam(N, 19) }, 'offset-diag');
  });

  it('MoCo baseline layout N×(1+K): every target is column 0', () => {
    const N = 8, K = 1000;
    check(randn(N * (1 + K), 20, 3), N, 1 + K, { targets: new Int32Array(N), scale: 1 / N }, 'moco-baseline');
  });

  it('big rows take the parallel path: 256 × (256 + 4096), and threads do not change the result', () => {
    const N = 256, M = 256 + 4096;
    const s = randn(N * M, 21, 4), perm = randperm(N, 22), lam = randLam(N, 23);
    const r2 = check(s, N, M, { perm, lam, scale: 1 / N }, 'big');
    const threads = info().threads;
    try {
      setNumThreads(1);
      const r1 = check(s, N, M, { perm, lam, scale: 1 / N }, 'big-1thread');
      expect(r1.sum).toBe(r2.sum);
      expect(Array.from(r1.grad)).toEqual(Array.from(r2.grad));
    } finally {
      setNumThreads(threads);
    }
  });

  it('is stable for large-magnitude logits (±80 and beyond)', () => {
    const N = 6, M = 3000;
    const s = randn(N * M, 24, 60); // |s| up to ~250
    for (let i = 0; i < N; i++) s[i * M + (i % M)] = 80; // some targets at +80
    s[1 * M + 5] = -80;
    const r = check(s, N, M, { perm: randperm(N, 25), lam: randLam(N, 26), scale: 0.5 }, 'large');
    for (const v of r.losses) expect(Number.isFinite(v)).toBe(true);
    // All equal logits: loss = log M exactly (up to rounding), gradient 1/M − target.
    const eq = new Float32Array(2 * 7).fill(80);
    const lt = Tensor.from(eq, [2, 7]);
    const sum = ops.mixedCrossEntropy(lt);
    expect(sum).toBeCloseTo(2 * Math.log(7), 6);
  });

  it('softmax keeps ~1e-7 relative accuracy across the exp range (vectorized exp vs float64)', () => {
    // One row whose logits sweep [−85, 0] (the max is 0, so s − max is exact):
    // every gradient entry is softmax_j = exp(s_j)/S, down to ~1e-37.
    const M = 4099;
    const s = Float32Array.from({ length: M }, (_, j) => -85 * (j / (M - 1)));
    const logits = Tensor.from(s, [1, M]);
    ops.mixedCrossEntropy(logits, { targets: Tensor.from(i32([M - 1])) });
    const ref = refCE(s, 1, M, { targets: [M - 1] });
    expectClose(logits.toArray(), ref.grad, { rtol: 5e-7, atol: 0 });
  });

  it('−inf logits get probability 0; a NaN logit gives a NaN loss for its row only', () => {
    const N = 3, M = 40;
    const s = randn(N * M, 27, 2);
    s[0 * M + 10] = -Infinity;
    s[2 * M + 33] = NaN;
    const logits = Tensor.from(s, [N, M]), losses = Tensor.zeros([N]);
    const sum = ops.mixedCrossEntropy(logits, { losses });
    const l = losses.toArray(), g = logits.toArray();
    const clean = Float32Array.from(s);
    clean[10] = -1e30; // −inf behaves as a logit with probability 0
    const ref = refCE(clean, N, M);
    expect(l[0]).toBeCloseTo(ref.losses[0]!, 5);
    expect(g[10]).toBe(0);
    expect(l[1]).toBeCloseTo(ref.losses[1]!, 5);
    expect(Number.isNaN(l[2])).toBe(true);
    expect(Number.isNaN(sum)).toBe(true);
    expect(Number.isNaN(g[2 * M + 1]!)).toBe(true);
    expect(Number.isFinite(g[M + 1]!)).toBe(true);
  });

  it('the gradient written in place is the derivative of the summed loss (finite differences)', () => {
    const N = 4, M = 9;
    const s = randn(N * M, 28, 2), perm = randperm(N, 29), lam = randLam(N, 30);
    const logits = Tensor.from(s, [N, M]);
    ops.mixedCrossEntropy(logits, { perm: Tensor.from(perm), lam: Tensor.from(lam) });
    const L = (x: Float64Array) => refCE(x, N, M, { perm, lam }).sum;
    const coords = Array.from({ length: N * M }, (_, j) => j);
    expectClose(logits.toArray(), numGrad(L, s, coords), { rtol: 1e-4, atol: 1e-6 });
  });

  it('matches PyTorch soft-target cross-entropy and its gradient (fixture)', () => {
    const fx = fixture<{
      ce: Array<{
        name: string; N: number; M: number; colOffset: number; logits: number[];
        targets: number[] | null; perm: number[] | null; lam: number[] | null;
        losses: number[]; mean: number; grad: number[];
      }>;
    }>('loss');
    expect(fx.ce.length).toBeGreaterThanOrEqual(8);
    for (const c of fx.ce) {
      const logits = Tensor.from(f32(c.logits), [c.N, c.M]), losses = Tensor.zeros([c.N]);
      const sum = ops.mixedCrossEntropy(logits, {
        targets: c.targets ? Tensor.from(i32(c.targets)) : undefined,
        perm: c.perm ? Tensor.from(i32(c.perm)) : undefined,
        lam: c.lam ? Tensor.from(f32(c.lam)) : undefined,
        colOffset: c.colOffset,
        scale: 1 / c.N,
        losses,
      });
      expectClose(losses.toArray(), c.losses, { rtol: 1e-6, atol: 2e-5, label: `${c.name} losses` });
      expect(Math.abs(sum / c.N - c.mean), `${c.name} mean`).toBeLessThan(1e-5 + 1e-6 * Math.abs(c.mean));
      expectClose(logits.toArray(), c.grad, { rtol: 1e-5, atol: 1e-7, label: `${c.name} grad` });
    }
  });

  it('row-strided logits (row stride ld > M, as MoCo pads its rows to a multiple of 4): the padding is never read or written', () => {
    // [N, M, ld, offset]: M of every residue mod 4, one block and several blocks a row, the view off the start too
    for (const [N, M, ld, off] of [[5, 11, 12, 0], [7, 1, 4, 0], [4, 1001, 1004, 0], [3, 2050, 2055, 3], [1, 6, 8, 0], [16, 16 + 1001, 1020, 4]] as const) {
      const s = randn(N * M, N + M, 3), perm = randperm(N, M), lam = randLam(N, N * M);
      const co = M > 1 ? 1 : 0, targets = Int32Array.from({ length: N }, (_, i) => (i * 5) % (M - co));
      const o: CeOpts = { targets, perm, lam, colOffset: co, scale: 1 / N };
      // NaN everywhere outside the rows: a kernel that read a padding float would make its row's loss NaN.
      const buf = new Float32Array(off + (N - 1) * ld + M + 2).fill(NaN);
      for (let i = 0; i < N; i++) buf.set(s.subarray(i * M, (i + 1) * M), off + i * ld);
      const base = Tensor.from(buf), losses = Tensor.zeros([N]);
      const sum = ops.mixedCrossEntropy(base.view(off, [N, M], [ld, 1]), {
        targets: Tensor.from(targets),
        perm: Tensor.from(perm),
        lam: Tensor.from(lam),
        colOffset: co,
        scale: 1 / N,
        losses,
      });
      const ref = refCE(s, N, M, o), all = base.toArray();
      const label = `N=${N} M=${M} ld=${ld} offset=${off}`;
      expectClose(losses.toArray(), ref.losses, { rtol: 1e-6, atol: 2e-5, label: `${label} losses` });
      expect(Math.abs(sum - ref.sum), `${label} sum`).toBeLessThanOrEqual(1e-6 * Math.abs(ref.sum) + 2e-5 * N);
      const grad = new Float32Array(N * M);
      for (let i = 0; i < N; i++) grad.set(all.subarray(off + i * ld, off + i * ld + M), i * M);
      expectClose(grad, ref.grad, { rtol: 1e-5, atol: 1e-6 / N, label: `${label} grad` });
      for (let e = 0; e < all.length; e++) {
        const j = (e - off) % ld;
        if (e < off || e >= off + (N - 1) * ld + M || j >= M) expect(Number.isNaN(all[e]), `${label}: float ${e} outside the rows`).toBe(true);
      }
      // The same rows contiguous give the same bits: the stride changes where rows lie, not the arithmetic.
      const dense = Tensor.from(s, [N, M]);
      const sumDense = ops.mixedCrossEntropy(dense, { targets: Tensor.from(targets), perm: Tensor.from(perm), lam: Tensor.from(lam), colOffset: co, scale: 1 / N });
      expect(sum, `${label} sum vs contiguous`).toBe(sumDense);
      expect(Array.from(grad), `${label} grad vs contiguous`).toEqual(Array.from(dense.toArray()));
    }
  });

  it('losses is optional and N = 0 returns 0', () => {
    const s = randn(3 * 4, 31);
    const a = Tensor.from(s, [3, 4]), b = Tensor.from(s, [3, 4]);
    const sa = ops.mixedCrossEntropy(a), sb = ops.mixedCrossEntropy(b, { losses: Tensor.zeros([3]) });
    expect(sa).toBe(sb);
    expect(ops.mixedCrossEntropy(Tensor.zeros([0, 4]))).toBe(0);
  });

  it('rejects bad input', () => {
    const N = 4, M = 6;
    const L = () => Tensor.zeros([N, M]);
    const perm = Tensor.from(i32([1, 0, 3, 2])), lam = Tensor.from(f32([1, 0.5, 0.7, 0.9]));
    // shapes and dtypes
    expectErr(() => ops.mixedCrossEntropy(Tensor.zeros([24])), ShapeError, /^logits: expected 2 dimensions/);
    expectErr(() => ops.mixedCrossEntropy(Tensor.zeros([N, M], { dtype: 'int32' }) as never), DTypeError, /^logits: expected float32/);
    expectErr(() => ops.mixedCrossEntropy(L(), { targets: Tensor.zeros([N]) as never }), DTypeError, /^targets: expected int32/);
    expectErr(() => ops.mixedCrossEntropy(L(), { targets: Tensor.zeros([N + 1], { dtype: 'int32' }) }), ShapeError, /^targets: expected shape \[4\]/);
    expectErr(() => ops.mixedCrossEntropy(L(), { perm: Tensor.zeros([N], { dtype: 'float32' }) as never }), DTypeError, /^perm: expected int32/);
    expectErr(() => ops.mixedCrossEntropy(L(), { perm: Tensor.from(i32([0, 1, 2])) }), ShapeError, /^perm: expected shape/);
    expectErr(() => ops.mixedCrossEntropy(L(), { lam: Tensor.zeros([N], { dtype: 'int32' }) as never }), DTypeError, /^lam: expected float32/);
    expectErr(() => ops.mixedCrossEntropy(L(), { lam: Tensor.zeros([N, 1]) }), ShapeError, /^lam: expected shape/);
    expectErr(() => ops.mixedCrossEntropy(L(), { losses: Tensor.zeros([N - 1]) }), ShapeError, /^losses: expected shape/);
    expectErr(() => ops.mixedCrossEntropy(L(), { losses: Tensor.zeros([N], { dtype: 'int32' }) as never }), DTypeError, /^losses: expected float32/);
    // value ranges
    expectErr(() => ops.mixedCrossEntropy(L(), { perm, lam: Tensor.from(f32([1, 1.5, 0.5, 0.5])) }), ValueError, /^lam: entry 1/);
    expectErr(() => ops.mixedCrossEntropy(L(), { perm, lam: Tensor.from(f32([1, -0.1, 0.5, 0.5])) }), ValueError, /^lam: entry 1/);
    expectErr(() => ops.mixedCrossEntropy(L(), { perm, lam: Tensor.from(f32([1, NaN, 0.5, 0.5])) }), ValueError, /^lam: entry 1/);
    expectErr(() => ops.mixedCrossEntropy(L(), { perm: Tensor.from(i32([0, 0, 1, 2])), lam }), ValueError, /^perm: value 0 appears twice/);
    expectErr(() => ops.mixedCrossEntropy(L(), { perm: Tensor.from(i32([0, 1, 2, 4])), lam }), ValueError, /^perm: entry 3 is 4/);
    expectErr(() => ops.mixedCrossEntropy(L(), { perm: Tensor.from(i32([0, 1, 2, -1])), lam }), ValueError, /^perm: entry 3 is -1/);
    expectErr(() => ops.mixedCrossEntropy(L(), { targets: Tensor.from(i32([0, 1, 6, 2])) }), ValueError, /^targets: entry 2 is 6, outside \[0, 6\)/);
    expectErr(() => ops.mixedCrossEntropy(L(), { targets: Tensor.from(i32([0, -1, 2, 2])) }), ValueError, /^targets: entry 1 is -1/);
    // in range without the offset, out of range after it
    expectErr(() => ops.mixedCrossEntropy(L(), { targets: Tensor.from(i32([0, 1, 4, 2])), colOffset: 2 }), ValueError, /^targets: entry 2 is 4, outside \[0, 4\).*colOffset 2/);
    expectErr(() => ops.mixedCrossEntropy(L(), { colOffset: 3 }), ValueError, /^colOffset: target columns/);
    expectErr(() => ops.mixedCrossEntropy(L(), { targets: Tensor.from(new Int32Array(N)), colOffset: 6 }), ValueError, /^colOffset: 6 leaves no target column/);
    expectErr(() => ops.mixedCrossEntropy(L(), { colOffset: -1 }), ValueError, /^colOffset/);
    expectErr(() => ops.mixedCrossEntropy(L(), { colOffset: 1.5 }), ValueError, /^colOffset: expected an integer/);
    expectErr(() => ops.mixedCrossEntropy(Tensor.zeros([N, 0])), ValueError, /^colOffset: 0 leaves no target column in logits of 0 columns/);
    expectErr(() => ops.mixedCrossEntropy(L(), { scale: NaN }), ValueError, /^scale/);
    expectErr(() => ops.mixedCrossEntropy(L(), { scale: Infinity }), ValueError, /^scale/);
    expectErr(() => ops.mixedCrossEntropy(L(), { scale: 1e300 }), ValueError, /^scale: .* overflows float32/);
    expectErr(() => ops.mixedCrossEntropy(L(), { scale: '1' as never }), ArgumentError, /^scale/);
    expectErr(() => ops.mixedCrossEntropy(L(), null as never), ArgumentError, /^options/);
    // row-strided views: rows must not overlap, and a row's floats must be adjacent
    const wide = Tensor.zeros([N, 2 * M]);
    expectErr(() => ops.mixedCrossEntropy(wide.view(0, [N, M], [M - 1, 1])), ShapeError, /^logits: rows overlap \(row stride 5 < width 6\)/);
    expectErr(() => ops.mixedCrossEntropy(wide.view(0, [N, M], [2 * M, 2])), ShapeError, /^logits: expected unit stride along the last dimension/);
    // a strided view spans its padding: outputs there overlap it (conservatively)
    expectErr(() => ops.mixedCrossEntropy(wide.view(0, [N, M], [2 * M, 1]), { losses: wide.view(M, [N]) }), ValueError, /^losses and logits overlap/);
    expectErr(() => ops.mixedCrossEntropy(wide.view(0, [N - 1, M], [2 * M, 1]), { lam: wide.view(M, [N - 1]).fill(0.5) }), ValueError, /^lam and logits overlap/);
    // aliasing
    const big = Tensor.zeros([N + 1, M]);
    expectErr(() => ops.mixedCrossEntropy(big.rows(0, N), { losses: big.view(0, [N]) }), ValueError, /^losses and logits overlap/);
    expectErr(() => ops.mixedCrossEntropy(big.rows(1, N + 1), { perm, lam: big.view(M + 1, [N]).fill(0.5) }), ValueError, /^lam and logits overlap/);
    // disposed
    const d = Tensor.from(i32([1, 0, 3, 2]));
    d.dispose();
    expectErr(() => ops.mixedCrossEntropy(L(), { perm: d }), DisposedError, /^perm: tensor has been disposed/);
    const dl = L();
    dl.dispose();
    expectErr(() => ops.mixedCrossEntropy(dl), DisposedError, /^logits: tensor has been disposed/);
  });

  it('the native binding validates on its own (bypassing the TS wrapper)', async () => {
    const { native } = await import('../../lib/native');
    const raw = native as unknown as Record<string, (...a: unknown[]) => unknown>;
    const l = Tensor.zeros([2, 3]);
    expectErr(() => raw.mixedCrossEntropy!(l.handle, null, null, null, 0, NaN, null), ValueError, /^scale/);
    expectErr(() => raw.mixedCrossEntropy!(l.handle, null, null, null, -2, 1, null), ValueError, /^colOffset/);
    expectErr(() => raw.mixedCrossEntropy!(l.handle, null, null, null, 0.5, 1, null), ValueError, /^colOffset/);
    expectErr(() => raw.mixedCrossEntropy!({}, null, null, null, 0, 1, null), ArgumentError, /^logits: expected a Tensor/);
    expectErr(() => raw.mixedCosine!(l.handle, l.handle, null, null, NaN, null, null), ValueError, /^scale/);
    expectErr(() => raw.l2normalizeForward!(l.handle, Tensor.zeros([2, 3]).handle, Tensor.zeros([2]).handle, 0), ValueError, /^eps/);
    expectErr(() => raw.l2normalizeForward!(l.handle, Tensor.zeros([2, 3]).handle, Tensor.zeros([2]).handle, 1e-60), ValueError, /^eps/);
  });
});

// ---------------------------------------------------------------------------
// mixed cosine (BYOL)
// ---------------------------------------------------------------------------

describe('mixedCosine', () => {
  function unitRows(N: number, D: number, seed: number): Float32Array {
    return f32(refNormalize(randn(N * D, seed), N, D, 1e-12).y);
  }

  function check(N: number, D: number, seed: number, mix: boolean, scale = 1) {
    const p = unitRows(N, D, seed), k = unitRows(N, D, seed + 1);
    const perm = mix ? randperm(N, seed + 2) : null, lam = mix ? randLam(N, seed + 3) : null;
    const dp = Tensor.zeros([N, D]), losses = Tensor.zeros([N]);
    const sum = ops.mixedCosine(Tensor.from(p, [N, D]), Tensor.from(k, [N, D]), {
      perm: perm ? Tensor.from(perm) : undefined,
      lam: lam ? Tensor.from(lam) : undefined,
      scale,
      dp,
      losses,
    });
    const ref = refCosine(p, k, N, D, perm, lam, scale);
    expectClose(losses.toArray(), ref.losses, { rtol: 1e-6, atol: 1e-6 });
    expect(Math.abs(sum - ref.sum)).toBeLessThan(1e-6 * N);
    expectClose(dp.toArray(), ref.dp, { rtol: 1e-6, atol: 1e-7 });
  }

  it('matches the reference: odd sizes, N = 1, identity, and the parallel path', () => {
    check(13, 37, 1, true, 1 / 13);
    check(1, 9, 2, false);
    check(1, 9, 3, true);
    check(7, 5, 4, false, 0.25);
    check(1024, 256, 5, true, 1 / 1024);
  });

  it('λ = 1 ignores the permutation; λ = 0 uses only k_π(i)', () => {
    const N = 8, D = 16;
    const p = Tensor.from(unitRows(N, D, 11), [N, D]), k = Tensor.from(unitRows(N, D, 12), [N, D]);
    const perm = Tensor.from(randperm(N, 13));
    const base = Tensor.zeros([N, D]), one = Tensor.zeros([N, D]);
    const s0 = ops.mixedCosine(p, k, { dp: base });
    const s1 = ops.mixedCosine(p, k, { perm, lam: Tensor.full([N], 1), dp: one });
    expect(s1).toBe(s0);
    expect(Array.from(one.toArray())).toEqual(Array.from(base.toArray()));
    const ref = refCosine(p.toArray(), k.toArray(), N, D, perm.toArray(), new Float32Array(N), 1);
    const z = Tensor.zeros([N, D]);
    const sz = ops.mixedCosine(p, k, { perm, lam: Tensor.zeros([N]), dp: z });
    expect(sz).toBeCloseTo(ref.sum, 5);
    expectClose(z.toArray(), ref.dp, { rtol: 1e-6, atol: 1e-7 });
    // No outputs requested: still returns the sum.
    expect(ops.mixedCosine(p, k)).toBe(s0);
  });

  it('dp is the derivative of the summed loss (finite differences)', () => {
    const N = 5, D = 6;
    const p = unitRows(N, D, 21), k = unitRows(N, D, 22), perm = randperm(N, 23), lam = randLam(N, 24);
    const dp = Tensor.zeros([N, D]);
    ops.mixedCosine(Tensor.from(p, [N, D]), Tensor.from(k, [N, D]), { perm: Tensor.from(perm), lam: Tensor.from(lam), dp });
    const L = (x: Float64Array) => refCosine(x, k, N, D, perm, lam).sum;
    const coords = Array.from({ length: N * D }, (_, j) => j);
    expectClose(dp.toArray(), numGrad(L, p, coords), { rtol: 1e-5, atol: 1e-6 });
  });

  it('matches PyTorch (fixture), also chained through l2NormalizeBackward from the raw prediction', () => {
    const fx = fixture<{
      cosine: Array<{
        N: number; D: number; p: number[]; k: number[]; praw: number[]; perm: number[] | null; lam: number[] | null;
        losses: number[]; mean: number; dp: number[]; rawMean: number; dpraw: number[];
      }>;
    }>('loss');
    for (const c of fx.cosine) {
      const { N, D } = c;
      const opts = {
        perm: c.perm ? Tensor.from(i32(c.perm)) : undefined,
        lam: c.lam ? Tensor.from(f32(c.lam)) : undefined,
        scale: 1 / N,
      };
      const dp = Tensor.zeros([N, D]), losses = Tensor.zeros([N]);
      const sum = ops.mixedCosine(Tensor.from(f32(c.p), [N, D]), Tensor.from(f32(c.k), [N, D]), { ...opts, dp, losses });
      expectClose(losses.toArray(), c.losses, { rtol: 1e-6, atol: 1e-6 });
      expect(sum / N).toBeCloseTo(c.mean, 6);
      expectClose(dp.toArray(), c.dp, { rtol: 1e-6, atol: 1e-8 });
      // Raw prediction → l2Normalize → mixedCosine → l2NormalizeBackward.
      const pn = Tensor.zeros([N, D]), norms = Tensor.zeros([N]), g = Tensor.zeros([N, D]);
      ops.l2Normalize(Tensor.from(f32(c.praw), [N, D]), pn, norms);
      const s2 = ops.mixedCosine(pn, Tensor.from(f32(c.k), [N, D]), { ...opts, dp: g });
      expect(s2 / N).toBeCloseTo(c.rawMean, 6);
      ops.l2NormalizeBackward(g, pn, norms, g);
      expectClose(g.toArray(), c.dpraw, { rtol: 1e-5, atol: 1e-7 });
    }
  });

  it('rejects bad input', () => {
    const N = 3, D = 4;
    const p = Tensor.zeros([N, D]), k = Tensor.zeros([N, D]);
    const perm = Tensor.from(i32([2, 0, 1]));
    expectErr(() => ops.mixedCosine(Tensor.zeros([N * D]), k), ShapeError, /^p: expected 2 dimensions/);
    expectErr(() => ops.mixedCosine(p, Tensor.zeros([N, D + 1])), ShapeError, /^k: expected shape \[3, 4\]/);
    expectErr(() => ops.mixedCosine(p, Tensor.zeros([N, D], { dtype: 'int32' }) as never), DTypeError, /^k: expected float32/);
    expectErr(() => ops.mixedCosine(p, k, { perm: Tensor.from(i32([0, 1])) }), ShapeError, /^perm: expected shape \[3\]/);
    expectErr(() => ops.mixedCosine(p, k, { perm: Tensor.zeros([N]) as never }), DTypeError, /^perm: expected int32/);
    expectErr(() => ops.mixedCosine(p, k, { perm: Tensor.from(i32([0, 1, 1])) }), ValueError, /^perm: value 1 appears twice/);
    expectErr(() => ops.mixedCosine(p, k, { perm: Tensor.from(i32([0, 1, 3])) }), ValueError, /^perm: entry 2 is 3/);
    expectErr(() => ops.mixedCosine(p, k, { perm, lam: Tensor.from(f32([0.5, 2, 0.5])) }), ValueError, /^lam: entry 1/);
    expectErr(() => ops.mixedCosine(p, k, { perm, lam: Tensor.from(f32([0.5, 0.5, NaN])) }), ValueError, /^lam: entry 2/);
    expectErr(() => ops.mixedCosine(p, k, { lam: Tensor.from(i32([1, 1, 1])) as never }), DTypeError, /^lam: expected float32/);
    expectErr(() => ops.mixedCosine(p, k, { lam: Tensor.zeros([N + 1]) }), ShapeError, /^lam: expected shape/);
    expectErr(() => ops.mixedCosine(p, k, { dp: Tensor.zeros([N, D - 1]) }), ShapeError, /^dp: expected shape/);
    expectErr(() => ops.mixedCosine(p, k, { losses: Tensor.zeros([N + 1]) }), ShapeError, /^losses: expected shape/);
    expectErr(() => ops.mixedCosine(p, k, { scale: NaN }), ValueError, /^scale/);
    expectErr(() => ops.mixedCosine(p, k, { dp: p }), ValueError, /^dp and p overlap/);
    expectErr(() => ops.mixedCosine(p, k, { dp: k }), ValueError, /^dp and k overlap/);
    expectErr(() => ops.mixedCosine(p, k, { losses: p.view(0, [N]) }), ValueError, /^losses and p overlap/);
    const d = Tensor.zeros([N, D]);
    d.dispose();
    expectErr(() => ops.mixedCosine(p, d), DisposedError, /^k: tensor has been disposed/);
    expectErr(() => ops.mixedCosine(p, k, { dp: d }), DisposedError, /^dp: tensor has been disposed/);
  });
});
