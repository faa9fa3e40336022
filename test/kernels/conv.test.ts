import { describe, expect, it } from 'vitest';
import {
  ArgumentError, DTypeError, DisposedError, ShapeError, Tensor, ValueError, info, ops, setNumThreads,
} from '../../lib/index';
import { native } from '../../lib/native';
import { expectClose, fixture, randn } from '../helpers';

// ---- float64 references (plain loops over the contract's formulas) ----------------
interface Geom {
  N: number; C: number; H: number; W: number; K: number; kh: number; kw: number;
  sh: number; sw: number; ph: number; pw: number; dh: number; dw: number; Ho: number; Wo: number;
}

function geom(
  [N, C, H, W]: number[], [K, kh, kw]: number[],
  o: { s?: [number, number]; p?: [number, number]; d?: [number, number] } = {},
): Geom {
  const [sh, sw] = o.s ?? [1, 1], [ph, pw] = o.p ?? [0, 0], [dh, dw] = o.d ?? [1, 1];
  const Ho = Math.floor((H + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
  const Wo = Math.floor((W + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  return { N, C, H, W, K, kh, kw, sh, sw, ph, pw, dh, dw, Ho, Wo };
}

/** Calls f(n, k, i, j, c, u, v, xIndex, wIndex) for every product term of the convolution. */
function forTerms(g: Geom, f: (yi: number, xi: number, wi: number, n: number, k: number) => void): void {
  for (let n = 0; n < g.N; n++)
    for (let k = 0; k < g.K; k++)
      for (let i = 0; i < g.Ho; i++)
        for (let j = 0; j < g.Wo; j++) {
          const yi = ((n * g.K + k) * g.Ho + i) * g.Wo + j;
          for (let c = 0; c < g.C; c++)
            for (let u = 0; u < g.kh; u++) {
              const yy = i * g.sh - g.ph + u * g.dh;
              if (yy < 0 || yy >= g.H) continue;
              for (let v = 0; v < g.kw; v++) {
                const xx = j * g.sw - g.pw + v * g.dw;
                if (xx < 0 || xx >= g.W) continue;
                f(yi, ((n * g.C + c) * g.H + yy) * g.W + xx, ((k * g.C + c) * g.kh + u) * g.kw + v, n, k);
              }
            }
        }
}

function refForward(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, g: Geom): Float64Array {
  const y = new Float64Array(g.N * g.K * g.Ho * g.Wo);
  if (b) for (let e = 0; e < y.length; e++) y[e] = b[Math.floor(e / (g.Ho * g.Wo)) % g.K]!;
  forTerms(g, (yi, xi, wi) => (y[yi] += w[wi]! * x[xi]!));
  return y;
}

function refBackwardData(dy: ArrayLike<number>, w: ArrayLike<number>, g: Geom): Float64Array {
  const dx = new Float64Array(g.N * g.C * g.H * g.W);
  forTerms(g, (yi, xi, wi) => (dx[xi] += w[wi]! * dy[yi]!));
  return dx;
}

function refBackwardWeight(dy: ArrayLike<number>, x: ArrayLike<number>, g: Geom): { dw: Float64Array; db: Float64Array } {
  const dw = new Float64Array(g.K * g.C * g.kh * g.kw), db = new Float64Array(g.K);
  forTerms(g, (yi, xi, wi) => (dw[wi] += dy[yi]! * x[xi]!));
  for (let e = 0; e < g.N * g.K * g.Ho * g.Wo; e++) db[Math.floor(e / (g.Ho * g.Wo)) % g.K] += dy[e]!;
  return { dw, db };
}

// ---- running the kernels ----------------------------------------------------------
const xShape = (g: Geom, d: 1 | 2) => (d === 2 ? [g.N, g.C, g.H, g.W] : [g.N, g.C, g.W]);
const wShape = (g: Geom, d: 1 | 2) => (d === 2 ? [g.K, g.C, g.kh, g.kw] : [g.K, g.C, g.kw]);
const yShape = (g: Geom, d: 1 | 2) => (d === 2 ? [g.N, g.K, g.Ho, g.Wo] : [g.N, g.K, g.Wo]);
const opts2 = (g: Geom): ops.Conv2dOptions => ({ stride: [g.sh, g.sw], padding: [g.ph, g.pw], dilation: [g.dh, g.dw] });
const opts1 = (g: Geom): ops.Conv1dOptions => ({ stride: g.sw, padding: g.pw, dilation: g.dw });

const CANARY = 64, CANARY_VALUE = 1234.5;

/**
 * A workspace of the size the kernels ask for, filled with NaN (the kernels must not read what they
 * did not write): a view of a buffer whose CANARY floats past it hold CANARY_VALUE, so that a kernel
 * writing past the size it asked for is seen (checkCanary).
 */
function workspace(x: Tensor<'float32'>, w: Tensor<'float32'>, g: Geom, d: 1 | 2): { ws: Tensor<'float32'> | null; buf: Tensor<'float32'> | null } {
  const n = d === 2 ? ops.conv2dWorkspaceFloats(x, w, opts2(g)) : ops.conv1dWorkspaceFloats(x, w, opts1(g));
  if (n === 0) return { ws: null, buf: null };
  const buf = Tensor.full([n + CANARY], CANARY_VALUE);
  const ws = buf.view(0, [n]);
  ws.fill(NaN);
  return { ws, buf };
}

function checkCanary(buf: Tensor<'float32'> | null): void {
  if (!buf) return;
  const a = buf.toArray(), tail = a.subarray(a.length - CANARY);
  expect(tail.every((v) => v === CANARY_VALUE), 'a kernel wrote past the workspace it asked for').toBe(true);
}

interface Run { y: Float32Array; dx: Float32Array; dw: Float32Array; db: Float32Array }

function run(
  g: Geom, d: 1 | 2, x: Float32Array, w: Float32Array, b: Float32Array | null, dy: Float32Array,
  o: { dw0?: Float32Array; db0?: Float32Array; accumulate?: boolean } = {},
): Run {
  const xt = Tensor.from(x, xShape(g, d)), wt = Tensor.from(w, wShape(g, d)), bt = b ? Tensor.from(b) : null;
  const y = Tensor.full(yShape(g, d), NaN), dx = Tensor.full(xShape(g, d), NaN);
  const dwt = o.dw0 ? Tensor.from(o.dw0, wShape(g, d)) : Tensor.full(wShape(g, d), NaN);
  const dbt = o.db0 ? Tensor.from(o.db0) : Tensor.full([g.K], NaN);
  const dyt = Tensor.from(dy, yShape(g, d));
  const { ws, buf } = workspace(xt, wt, g, d);
  if (d === 2) {
    ops.conv2dForward(xt, wt, bt, y, ws, opts2(g));
    ops.conv2dBackwardData(dyt, wt, dx, ws, opts2(g));
    ops.conv2dBackwardWeight(dyt, xt, dwt, dbt, ws, { ...opts2(g), accumulate: o.accumulate });
  } else {
    ops.conv1dForward(xt, wt, bt, y, ws, opts1(g));
    ops.conv1dBackwardData(dyt, wt, dx, ws, opts1(g));
    ops.conv1dBackwardWeight(dyt, xt, dwt, dbt, ws, { ...opts1(g), accumulate: o.accumulate });
  }
  checkCanary(buf);
  return { y: y.toArray(), dx: dx.toArray(), dw: dwt.toArray(), db: dbt.toArray() };
}

function inputs(g: Geom, seed: number) {
  const x = randn(g.N * g.C * g.H * g.W, seed);
  const w = randn(g.K * g.C * g.kh * g.kw, seed + 1, 1 / Math.sqrt(g.C * g.kh * g.kw));
  const b = randn(g.K, seed + 2);
  const dy = randn(g.N * g.K * g.Ho * g.Wo, seed + 3);
  return { x, w, b, dy };
}

/** Compares all four outputs with the float64 references (tolerances scaled by the number of summed terms). */
function checkAll(g: Geom, d: 1 | 2, seed: number, withBias = true): void {
  const { x, w, b, dy } = inputs(g, seed);
  const got = run(g, d, x, w, withBias ? b : null, dy);
  const R = g.C * g.kh * g.kw, M = g.N * g.Ho * g.Wo;
  expectClose(got.y, refForward(x, w, withBias ? b : null, g), { rtol: 1e-4, atol: 1e-5 * Math.sqrt(R), label: 'y' });
  expectClose(got.dx, refBackwardData(dy, w, g), { rtol: 1e-4, atol: 1e-5 * Math.sqrt(g.K * g.kh * g.kw), label: 'dx' });
  const ref = refBackwardWeight(dy, x, g);
  expectClose(got.dw, ref.dw, { rtol: 1e-4, atol: 1e-5 * Math.sqrt(M), label: 'dw' });
  expectClose(got.db, ref.db, { rtol: 1e-5, atol: 1e-5 * Math.sqrt(M), label: 'db' });
}

// [x shape, [K, kh, kw], options, why]
type Case = [number[], number[], { s?: [number, number]; p?: [number, number]; d?: [number, number] }, string];
const CASES2D: Case[] = [
  [[2, 3, 7, 7], [4, 3, 3], { p: [1, 1] }, '3×3 same padding'],
  [[2, 3, 9, 8], [5, 3, 3], { s: [2, 2], p: [1, 1] }, 'stride 2'],
  [[3, 2, 11, 10], [3, 3, 3], { s: [3, 3], p: [2, 2] }, 'stride 3, padding 2'],
  [[2, 2, 9, 9], [3, 3, 3], { p: [2, 2], d: [2, 2] }, 'dilation 2'],
  [[2, 3, 8, 11], [4, 3, 5], { s: [1, 2], p: [2, 0], d: [2, 1] }, 'non-square kernel, per-axis stride/padding/dilation'],
  [[2, 3, 16, 16], [5, 1, 1], {}, '1×1, stride 1, large plane (no im2col)'],
  [[3, 4, 5, 5], [6, 1, 1], {}, '1×1, stride 1, small plane (samples unrolled side by side)'],
  [[2, 4, 9, 9], [6, 1, 1], { s: [2, 2] }, '1×1, stride 2 (a ResNet shortcut)'],
  [[2, 16, 6, 37], [8, 1, 1], { s: [2, 2] }, '1×1, stride 2, rows of 37 (subsampled in vectors of 16 with tails)'],
  [[2, 8, 5, 34], [40, 1, 1], { s: [2, 2] }, '1×1, stride 2, rows of 34, 8 → 40'],
  [[3, 5, 6, 37], [7, 1, 1], { s: [2, 3] }, '1×1, per-axis stride (2, 3)'],
  [[70, 4, 8, 8], [6, 1, 1], { s: [2, 2] }, '1×1, stride 2, more samples than a chunk of subsampled planes (64 + 6 of 4×4)'],
  [[3, 56, 6, 6], [20, 1, 1], { s: [2, 2] }, '1×1, stride 2, 56 → 20 (blocked weight gradient: input blocks 3 + 1, output channels 8 + 8 + 4)'],
  [[240, 512, 4, 4], [40, 1, 1], { s: [2, 2] }, '1×1, stride 2, 512 → 40: more samples than a chunk of the blocked weight gradient (58 + 58 + 4 in each of two slices)'],
  [[260, 16, 4, 4], [16, 3, 3], { p: [1, 1] }, 'blocked 3×3 weight gradient over more samples than a chunk (128 + 2 of 4×4 in each of two slices)'],
  [[5, 100, 6, 6], [12, 1, 1], { s: [2, 2] }, '1×1, stride 2, 100 → 12 on 3×3 planes: channel blocks 64 + 36 of the flat chunk, output tiles 8 + 4, tiles across samples'],
  [[3, 20, 10, 10], [130, 1, 1], { s: [2, 2] }, '1×1, stride 2, 20 → 130: the input gradient in channel blocks 64 + 64 + 2'],
  [[2, 2, 3, 3], [3, 5, 5], { p: [1, 1] }, 'kernel larger than the unpadded input'],
  [[2, 2, 2, 3], [2, 4, 5], { p: [1, 1] }, 'kernel larger than the input, output 1×1'],
  [[1, 3, 6, 6], [4, 3, 3], { p: [1, 1] }, 'N = 1'],
  [[3, 2, 4, 4], [3, 4, 4], {}, 'Ho = Wo = 1 (a fully connected layer)'],
  [[37, 3, 4, 4], [5, 3, 3], { p: [1, 1] }, 'small planes, odd N (uneven slices and chunks)'],
  [[5, 2, 3, 2], [3, 3, 2], { p: [1, 0], s: [1, 2] }, 'tiny plane with stride'],
  [[4, 1, 6, 5], [1, 2, 2], { s: [2, 2], p: [1, 1] }, 'C = K = 1, even kernel with padding'],
  [[3, 16, 32, 32], [8, 3, 3], { p: [1, 1] }, 'a ResNet-20 layer shape (32×32, P ≥ one chunk)'],
  [[3, 1, 28, 28], [16, 3, 3], { p: [1, 1] }, 'a stem, 1 → 16 on 28×28 (output rows of 16 + 12, one per tile)'],
  [[2, 3, 9, 21], [12, 3, 3], { p: [1, 1] }, 'a stem, 3 → 12, rows of 21 (16 + 5), output channels 8 + 4'],
  [[2, 3, 20, 1], [2, 3, 1], { s: [2, 1], p: [1, 0] }, 'width 1'],
  // From 2 vectors of output channels the kernels vectorize over channels
  // (K ≥ 32 with AVX-512, ≥ 16 with AVX2): the same geometries again there.
  [[3, 32, 6, 6], [32, 3, 3], { p: [1, 1] }, 'channel-vectorized, 32 → 32'],
  [[2, 33, 5, 7], [40, 3, 2], { p: [1, 0], d: [2, 1] }, 'channel-vectorized with channel tails (33 → 40), dilation'],
  [[5, 8, 9, 9], [64, 3, 3], { s: [2, 2], p: [1, 1] }, 'channel-vectorized, stride 2 (8 → 64)'],
  [[3, 48, 4, 4], [70, 3, 3], { p: [1, 1] }, 'channel-vectorized on a 4×4 plane, 48 → 70 (two channel blocks)'],
  [[17, 32, 3, 3], [32, 3, 3], { p: [1, 1] }, 'channel-vectorized, 3×3 planes, odd N (chunks of samples)'],
  [[2, 32, 7, 7], [36, 1, 1], { s: [3, 3] }, 'channel-vectorized 1×1, stride 3'],
  [[2, 35, 10, 3], [36, 5, 3], { p: [2, 1], s: [1, 2] }, 'channel-vectorized, 5×3 kernel, stride (1, 2)'],
  [[2, 32, 9, 9], [32, 3, 3], { p: [2, 2], d: [2, 2] }, 'channel-vectorized, dilation 2'],
  [[2, 40, 3, 3], [48, 5, 5], { p: [1, 1] }, 'channel-vectorized, kernel larger than the input'],
  [[1, 64, 2, 2], [128, 2, 2], {}, 'channel-vectorized, Ho = Wo = 1, N = 1'],
  [[2, 24, 16, 16], [24, 1, 1], {}, '1×1 on a large plane with 24 channels'],
  // The input gradient of a strided convolution, vectorized over its (≥ 2 vectors of) channels.
  [[3, 32, 9, 9], [16, 3, 3], { s: [2, 2], p: [1, 1] }, 'strided input gradient, 32 channels'],
  [[2, 40, 10, 11], [24, 3, 5], { s: [2, 3], p: [1, 2], d: [2, 1] }, 'strided input gradient, per-axis stride, dilation'],
  [[2, 32, 7, 7], [8, 1, 1], { p: [1, 1] }, '1×1 with padding (the input gradient reads past dy)'],
  [[2, 48, 5, 5], [16, 2, 2], { s: [3, 3] }, 'stride larger than the kernel (inputs no output reads)'],
  [[1, 32, 12, 12], [64, 3, 3], { s: [2, 2], p: [1, 1] }, 'a ResNet downsampling conv, 32 → 64'],
  [[3, 16, 9, 9], [32, 3, 3], { s: [2, 2], p: [1, 1] }, 'strided input gradient from one vector of channels, 16 → 32'],
  [[2, 20, 7, 8], [8, 3, 3], { s: [2, 3], p: [1, 1] }, 'strided input gradient, 20 channels (a partial vector)'],
  [[2, 16, 6, 6], [4, 1, 1], { p: [2, 2] }, 'stride 1 with padding beyond the kernel, 16 channels'],
  // Channel-blocked 3×3 kernels (AVX-512; ≥ 16 input and output channels): tiles of up to 16
  // (one vector of output channels) or 8 (two) positions of a row, the last tile narrower.
  [[2, 16, 5, 28], [16, 3, 3], { p: [1, 1] }, 'blocked, 16 → 16, rows of 28 (two tiles of 14)'],
  [[3, 17, 6, 19], [20, 3, 3], { p: [1, 1] }, 'blocked with channel tails, 17 → 20, rows of 19 (7 + 7 + 5)'],
  [[2, 16, 9, 30], [32, 3, 3], { s: [2, 2], p: [1, 1] }, 'blocked, stride 2, 16 → 32, rows of 15 (8 + 7)'],
  [[2, 40, 7, 15], [48, 3, 3], { s: [2, 2], p: [1, 1] }, 'blocked, stride 2, 40 → 48 (three input blocks)'],
  [[2, 32, 6, 31], [16, 3, 3], { p: [1, 1] }, 'blocked, 32 → 16, rows of 31 (16 + 15)'],
  [[2, 16, 8, 16], [24, 3, 3], {}, 'blocked without padding, 16 → 24'],
  [[2, 16, 9, 31], [16, 3, 3], { s: [2, 2] }, 'blocked input gradient of a stride-2 conv, no padding, odd width'],
  [[2, 20, 8, 32], [24, 3, 3], { s: [2, 2], p: [1, 1] }, 'blocked input gradient of a stride-2 conv with channel tails, 20 → 24'],
  [[2, 48, 5, 5], [64, 3, 3], { p: [1, 1] }, '3×3 on rows too narrow for the blocked tiles, 48 → 64'],
  // Rows of ≤ 6 outputs with ≥ 4 vectors of output channels: tiles of 4 vectors × 4 positions.
  [[2, 24, 4, 4], [70, 3, 3], { p: [1, 1] }, 'blocked, four vectors of output channels on rows of 4, 24 → 70 (a partial block)'],
  [[2, 64, 4, 4], [32, 3, 3], { p: [1, 1] }, 'blocked input gradient with four vectors of input channels, 64 → 32 on 4×4'],
  [[2, 16, 7, 7], [64, 3, 3], { s: [2, 2], p: [1, 1] }, 'blocked, stride 2, 7×7 → 4×4, four vectors of output channels'],
  [[2, 64, 7, 7], [16, 3, 3], { s: [2, 2], p: [1, 1] }, 'blocked stride-2 input gradient, four vectors, odd width (phases of 4 and 3)'],
  [[22, 64, 7, 7], [256, 3, 3], { s: [2, 2], p: [1, 1] }, 'blocked stride-2 input gradient over more samples than one chunk of blocked dy (20 + 2)'],
  // Weights beyond kBlockedWeightsL2 (128 Ki floats): taken block by block over the chunk's rows.
  [[2, 128, 4, 4], [128, 3, 3], { p: [1, 1] }, 'blocked with the weights taken block by block, 128 → 128 on 4×4'],
  [[3, 128, 8, 8], [130, 3, 3], { s: [2, 2], p: [1, 1] }, 'blocked, stride 2, weights block by block, 128 → 130 on 8×8 → 4×4'],
];

describe('conv2d against float64 loops (forward, backward data, backward weight)', () => {
  for (const [xs, ks, o, why] of CASES2D) {
    const g = geom(xs, ks, o);
    it(`${why}: x [${xs}], w [${ks[0]}, ${xs[1]}, ${ks[1]}, ${ks[2]}] → y [${g.N}, ${g.K}, ${g.Ho}, ${g.Wo}]`, () => {
      checkAll(g, 2, xs.reduce((a, v) => a * 7 + v, 3));
    });
  }

  it('without a bias', () => {
    checkAll(geom([2, 3, 7, 6], [4, 3, 3], { p: [1, 1], s: [2, 1] }), 2, 5, false);
  });

  it('one thread gives the same results as all of them, with the same workspace size', () => {
    const g = geom([6, 4, 8, 8], [5, 3, 3], { p: [1, 1] });
    const { x, w, b, dy } = inputs(g, 42);
    const xt = Tensor.from(x, xShape(g, 2)), wt = Tensor.from(w, wShape(g, 2));
    const n = ops.conv2dWorkspaceFloats(xt, wt, opts2(g));
    const threads = info().threads;
    const all = run(g, 2, x, w, b, dy);
    setNumThreads(1);
    let one: Run;
    try {
      expect(ops.conv2dWorkspaceFloats(xt, wt, opts2(g))).toBe(n);
      one = run(g, 2, x, w, b, dy);
    } finally {
      setNumThreads(threads);
    }
    // y and dx do not depend on the split; dw adds per-thread partials in another order.
    expect(Array.from(one.y)).toEqual(Array.from(all.y));
    expect(Array.from(one.dx)).toEqual(Array.from(all.dx));
    expectClose(one.dw, all.dw, { rtol: 1e-5, atol: 1e-5 });
    expect(Array.from(one.db)).toEqual(Array.from(all.db));
  });

  it('more threads than the machine has still fits the workspace the kernels asked for', () => {
    const g = geom([9, 3, 6, 6], [4, 3, 3], { p: [1, 1] });
    const threads = info().threads;
    setNumThreads(64);
    try {
      checkAll(g, 2, 17);
    } finally {
      setNumThreads(threads);
    }
  });

  it('an empty batch: y and dx untouched, dw and db zero (or unchanged when accumulating)', () => {
    const g = geom([0, 3, 5, 5], [2, 3, 3], { p: [1, 1] });
    const dw0 = Float32Array.from({ length: 2 * 27 }, (_, i) => i), db0 = Float32Array.from([1, 2]);
    const r = run(g, 2, new Float32Array(0), randn(54, 1), null, new Float32Array(0), { dw0, db0 });
    expect(r.y.length).toBe(0);
    expect(Array.from(r.dw)).toEqual(new Array(54).fill(0));
    expect(Array.from(r.db)).toEqual([0, 0]);
    const a = run(g, 2, new Float32Array(0), randn(54, 1), null, new Float32Array(0), { dw0, db0, accumulate: true });
    expect(a.dw).toEqual(dw0);
    expect(a.db).toEqual(db0);
  });

  it('a huge padding with a huge stride (legal, few outputs) needs a small workspace and reads only zeros', () => {
    // Padded planes of (3 + 2^32)² would overflow int64: such geometries take im2col.
    for (const K of [4, 40]) {
      const stride = 2 ** 31 - 1, padding = 2 ** 31 - 1;
      const x = Tensor.from(randn(2 * 3 * 9, 1), [2, 3, 3, 3]), w = Tensor.from(randn(K * 3, 2), [K, 3, 1, 1]);
      const b = Tensor.from(randn(K, 3)), o = { stride, padding };
      const Ho = ops.convOutSize(3, 1, stride, padding);
      expect(Ho).toBe(3);
      const n = ops.conv2dWorkspaceFloats(x, w, o);
      expect(n).toBeLessThan(1e6);
      const ws = n ? Tensor.full([n], NaN) : null;
      const y = Tensor.full([2, K, Ho, Ho], NaN), dy = Tensor.from(randn(2 * K * 9, 4), [2, K, Ho, Ho]);
      ops.conv2dForward(x, w, b, y, ws, o);
      // Output (1, 1) reads x̃ at 2^31 − 1 − padding = 0: x[0, 0]; every other output reads padding.
      const yv = y.toArray(), bv = b.toArray(), xv = x.toArray(), wv = w.toArray();
      for (let n0 = 0; n0 < 2; n0++)
        for (let k = 0; k < K; k++)
          for (let q = 0; q < 9; q++) {
            let want = bv[k]!;
            if (q === 4) for (let c = 0; c < 3; c++) want += wv[k * 3 + c]! * xv[(n0 * 3 + c) * 9]!;
            expect(yv[(n0 * K + k) * 9 + q]).toBeCloseTo(want, 5);
          }
      const dx = Tensor.full([2, 3, 3, 3], NaN), dw = Tensor.full([K, 3, 1, 1], NaN);
      ops.conv2dBackwardData(dy, w, dx, ws, o);
      ops.conv2dBackwardWeight(dy, x, dw, null, ws, o);
      const g = geom([2, 3, 3, 3], [K, 1, 1], { s: [stride, stride], p: [padding, padding] });
      expectClose(dx.toArray(), refBackwardData(dy.toArray(), wv, g), { rtol: 1e-5, atol: 1e-6 });
      expectClose(dw.toArray(), refBackwardWeight(dy.toArray(), xv, g).dw, { rtol: 1e-5, atol: 1e-6 });
    }
  });

  it('K = 0 output channels: dx = 0', () => {
    const g = geom([2, 3, 4, 4], [0, 3, 3], { p: [1, 1] });
    const r = run(g, 2, randn(96, 1), new Float32Array(0), null, new Float32Array(0));
    expect(r.y.length).toBe(0);
    expect(Array.from(r.dx)).toEqual(new Array(96).fill(0));
  });
});

describe('conv2d with non-finite values', () => {
  // Every kernel path (per-position vectors, per-channel vectors, im2col) must
  // let an infinite input reach exactly the outputs whose sums read it: a
  // padded or dropped position may never multiply it by 0 (NaN).
  const cases: Case[] = [
    [[2, 3, 7, 7], [8, 3, 3], { p: [1, 1] }, 'vectors of positions'],
    [[2, 32, 6, 6], [32, 3, 3], { p: [1, 1] }, 'vectors of channels'],
    [[2, 3, 7, 7], [8, 3, 3], { s: [2, 2], p: [1, 1] }, 'im2col'],
    [[2, 3, 16, 16], [4, 1, 1], {}, '1×1'],
  ];
  const finite = (a: ArrayLike<number>) => Array.from(a, (v) => Number.isFinite(v));
  for (const [xs, ks, o, why] of cases) {
    it(why, () => {
      const g = geom(xs, ks, o);
      const { x, w, b, dy } = inputs(g, 3);
      // Infinities at the corners and the middle of a plane, and one NaN.
      const nx = g.H * g.W;
      x[0] = Infinity;
      x[nx - 1] = -Infinity;
      x[nx + Math.floor(nx / 2)] = NaN;
      const dyInf = Float32Array.from(dy);
      dyInf[g.Ho * g.Wo - 1] = Infinity;
      dyInf[1] = -Infinity;
      const got = run(g, 2, x, w, b, dy);
      expect(finite(got.y)).toEqual(finite(refForward(x, w, b, g)));
      expect(finite(got.dw)).toEqual(finite(refBackwardWeight(dy, x, g).dw));
      const gotD = run(g, 2, x, w, b, dyInf);
      expect(finite(gotD.dx)).toEqual(finite(refBackwardData(dyInf, w, g)));
    });
  }
});

describe('conv2d gradients against central finite differences of L = Σ dy·y', () => {
  it('dx, dw and db of a strided, padded, dilated case', () => {
    const g = geom([2, 2, 6, 5], [3, 3, 2], { s: [2, 1], p: [1, 1], d: [2, 1] });
    const { x, w, b, dy } = inputs(g, 5);
    const loss = (xs: ArrayLike<number>, ws: ArrayLike<number>, bs: ArrayLike<number>) => {
      const y = refForward(xs, ws, bs, g);
      let s = 0;
      for (let i = 0; i < y.length; i++) s += dy[i]! * y[i]!;
      return s;
    };
    const eps = 1e-4;
    const fd = (arr: Float32Array, f: (a: Float64Array) => number) =>
      Float64Array.from(arr, (_, i) => {
        const p = Float64Array.from(arr), m = Float64Array.from(arr);
        p[i] = p[i]! + eps;
        m[i] = m[i]! - eps;
        return (f(p) - f(m)) / (2 * eps);
      });
    const got = run(g, 2, x, w, b, dy);
    expectClose(got.dx, fd(x, (a) => loss(a, w, b)), { rtol: 1e-4, atol: 1e-5, label: 'dx' });
    expectClose(got.dw, fd(w, (a) => loss(x, a, b)), { rtol: 1e-4, atol: 1e-5, label: 'dw' });
    expectClose(got.db, fd(b, (a) => loss(x, w, a)), { rtol: 1e-4, atol: 1e-5, label: 'db' });
  });
});

describe('conv2dBackwardWeight: accumulate', () => {
  it('adds into dw and db; false overwrites; db may be null', () => {
    const g = geom([3, 2, 5, 5], [3, 3, 3], { p: [1, 1] });
    const { x, w, b, dy } = inputs(g, 9);
    const base = run(g, 2, x, w, b, dy);
    const dw0 = randn(base.dw.length, 10), db0 = randn(3, 11);
    const acc = run(g, 2, x, w, b, dy, { dw0, db0, accumulate: true });
    expectClose(acc.dw, base.dw.map((v, i) => v + dw0[i]!), { rtol: 1e-6, atol: 1e-6 });
    expectClose(acc.db, base.db.map((v, i) => v + db0[i]!), { rtol: 1e-6, atol: 1e-6 });
    const over = run(g, 2, x, w, b, dy, { dw0, db0, accumulate: false });
    expect(Array.from(over.dw)).toEqual(Array.from(base.dw));
    expect(Array.from(over.db)).toEqual(Array.from(base.db));
    // db null: dw alone
    const xt = Tensor.from(x, xShape(g, 2)), wt = Tensor.from(w, wShape(g, 2)), dwt = Tensor.zeros(wShape(g, 2));
    ops.conv2dBackwardWeight(Tensor.from(dy, yShape(g, 2)), xt, dwt, null, workspace(xt, wt, g, 2).ws, opts2(g));
    expect(Array.from(dwt.toArray())).toEqual(Array.from(base.dw));
  });

  it('accumulates over calls on the 1×1 and the unrolled paths alike', () => {
    for (const [xs, ks] of [[[2, 3, 16, 16], [4, 1, 1]], [[5, 3, 3, 3], [4, 1, 1]], [[3, 2, 5, 5], [2, 3, 3]]]) {
      const g = geom(xs!, ks!);
      const { x, w, b, dy } = inputs(g, 13);
      const once = run(g, 2, x, w, b, dy);
      const twice = run(g, 2, x, w, b, dy, { dw0: once.dw, db0: once.db, accumulate: true });
      expectClose(twice.dw, once.dw.map((v) => 2 * v), { rtol: 1e-6, atol: 1e-6 });
      expectClose(twice.db, once.db.map((v) => 2 * v), { rtol: 1e-6, atol: 1e-6 });
    }
  });
});

describe('conv1d against float64 loops', () => {
  // [x [N, C, L], [K, k], s, p, d]
  const cases: Array<[number[], number[], number, number, number]> = [
    [[2, 3, 17], [4, 3], 1, 1, 1],
    [[3, 2, 40], [5, 5], 2, 2, 1],
    [[2, 4, 33], [3, 3], 3, 0, 2],
    [[1, 1, 9], [1, 9], 1, 0, 1],
    [[2, 2, 4], [3, 7], 1, 2, 1],
    [[4, 3, 300], [6, 1], 1, 0, 1],
    [[9, 5, 20], [7, 1], 2, 0, 1],
    [[2, 3, 64], [4, 5], 1, 4, 2],
    [[3, 32, 50], [48, 5], 2, 2, 1],
    [[2, 40, 31], [33, 3], 1, 1, 3],
  ];
  for (const [[N, C, L], [K, k], s, p, d] of cases) {
    const g = geom([N!, C!, 1, L!], [K!, 1, k!], { s: [1, s], p: [0, p], d: [1, d] });
    it(`x [${N}, ${C}, ${L}], w [${K}, ${C}, ${k}], stride ${s}, padding ${p}, dilation ${d} → Lo = ${g.Wo}`, () => {
      checkAll(g, 1, N! * 100 + L!);
    });
  }

  it('is conv2d with H = 1', () => {
    const g = geom([3, 2, 1, 19], [4, 1, 3], { s: [1, 2], p: [0, 1], d: [1, 2] });
    const { x, w, b, dy } = inputs(g, 77);
    const one = run(g, 1, x, w, b, dy), two = run(g, 2, x, w, b, dy);
    expect(Array.from(one.y)).toEqual(Array.from(two.y));
    expect(Array.from(one.dx)).toEqual(Array.from(two.dx));
    expect(Array.from(one.dw)).toEqual(Array.from(two.dw));
  });
});

describe('convOutSize', () => {
  it('is PyTorch\'s formula', () => {
    expect(ops.convOutSize(32, 3, 1, 1)).toBe(32);
    expect(ops.convOutSize(32, 3, 2, 1)).toBe(16);
    expect(ops.convOutSize(7, 3, 2, 0)).toBe(3);
    expect(ops.convOutSize(9, 3, 1, 2, 2)).toBe(9);
    expect(ops.convOutSize(3, 5, 1, 1)).toBe(1);
    expect(ops.convOutSize(10, 1)).toBe(10);
    expect(() => ops.convOutSize(3, 5)).toThrow(ShapeError);
    expect(() => ops.convOutSize(3, 5)).toThrow(/^kernel: 5 \(dilated 5\) is larger than the padded input 3/);
    expect(() => ops.convOutSize(8, 3, 0)).toThrow(/^stride/);
    expect(() => ops.convOutSize(8, 3, 1, -1)).toThrow(/^padding/);
  });
});

describe('conv vs PyTorch (torch.nn.functional, float64)', () => {
  interface ConvCase {
    name: string; dims: 1 | 2; x: number[]; xShape: number[]; w: number[]; wShape: number[]; b: number[] | null;
    stride: number[]; padding: number[]; dilation: number[]; dy: number[]; y: number[]; yShape: number[];
    dx: number[]; dw: number[]; db: number[] | null;
  }
  const cases = fixture<{ conv: ConvCase[] }>('conv').conv;
  for (const k of cases) {
    it(`${k.name}: y, dx, dw, db`, () => {
      const x = Tensor.from(k.x, k.xShape), w = Tensor.from(k.w, k.wShape), b = k.b ? Tensor.from(k.b) : null;
      const y = Tensor.zeros(k.yShape), dy = Tensor.from(k.dy, k.yShape);
      const dx = Tensor.zeros(k.xShape), dw = Tensor.zeros(k.wShape), db = b ? Tensor.zeros([k.wShape[0]!]) : null;
      if (k.dims === 2) {
        const o: ops.Conv2dOptions = {
          stride: k.stride as [number, number], padding: k.padding as [number, number], dilation: k.dilation as [number, number],
        };
        const n = ops.conv2dWorkspaceFloats(x, w, o), ws = n ? Tensor.zeros([n]) : null;
        ops.conv2dForward(x, w, b, y, ws, o);
        ops.conv2dBackwardData(dy, w, dx, ws, o);
        ops.conv2dBackwardWeight(dy, x, dw, db, ws, o);
      } else {
        const o: ops.Conv1dOptions = { stride: k.stride[0], padding: k.padding[0], dilation: k.dilation[0] };
        const n = ops.conv1dWorkspaceFloats(x, w, o), ws = n ? Tensor.zeros([n]) : null;
        ops.conv1dForward(x, w, b, y, ws, o);
        ops.conv1dBackwardData(dy, w, dx, ws, o);
        ops.conv1dBackwardWeight(dy, x, dw, db, ws, o);
      }
      expectClose(y.toArray(), k.y, { rtol: 1e-5, atol: 1e-5, label: 'y' });
      expectClose(dx.toArray(), k.dx, { rtol: 1e-5, atol: 1e-5, label: 'dx' });
      expectClose(dw.toArray(), k.dw, { rtol: 1e-5, atol: 1e-4, label: 'dw' });
      if (db) expectClose(db.toArray(), k.db!, { rtol: 1e-5, atol: 1e-5, label: 'db' });
    });
  }
});

describe('conv bad input', () => {
  const X = () => Tensor.from(randn(2 * 3 * 5 * 5, 1), [2, 3, 5, 5]);
  const Wt = () => Tensor.from(randn(4 * 3 * 3 * 3, 2), [4, 3, 3, 3]);
  const ws = () => Tensor.zeros([100000]);
  type Args = Partial<Record<'x' | 'w' | 'b' | 'y' | 'ws' | 'opts', unknown>>;
  const fwd = (o: Args = {}) =>
    ops.conv2dForward(
      (o.x ?? X()) as Tensor<'float32'>, (o.w ?? Wt()) as Tensor<'float32'>, (o.b === undefined ? null : o.b) as Tensor<'float32'> | null,
      (o.y ?? Tensor.zeros([2, 4, 5, 5])) as Tensor<'float32'>, (o.ws === undefined ? ws() : o.ws) as Tensor<'float32'> | null,
      (o.opts ?? { padding: 1 }) as ops.Conv2dOptions,
    );

  it('conv2dForward: shapes', () => {
    fwd(); // valid as given
    expect(() => fwd({ x: Tensor.zeros([2, 3, 25]) })).toThrow(ShapeError);
    expect(() => fwd({ x: Tensor.zeros([2, 3, 25]) })).toThrow(/^x: expected 4 dimensions/);
    expect(() => fwd({ w: Tensor.zeros([4, 2, 3, 3]) })).toThrow(ShapeError);
    expect(() => fwd({ w: Tensor.zeros([4, 2, 3, 3]) })).toThrow(
      /^w: expected \[K, C, kh, kw\] with C = 3 \(x's channels\), got \[4, 2, 3, 3\]/,
    );
    expect(() => fwd({ w: Tensor.zeros([4, 3, 9]) })).toThrow(/^w: expected 4 dimensions/);
    expect(() => fwd({ w: Tensor.zeros([4, 3, 0, 3]) })).toThrow(/^w: expected a non-empty kernel/);
    expect(() => fwd({ x: Tensor.zeros([2, 0, 5, 5]) })).toThrow(/^x: expected at least one channel and a non-empty image/);
    expect(() => fwd({ x: Tensor.zeros([2, 3, 0, 5]) })).toThrow(/^x: expected at least one channel/);
    expect(() => fwd({ w: Tensor.zeros([4, 3, 9, 9]), opts: { padding: 1 } })).toThrow(
      /^w: kernel 9×9 \(dilated 9×9\) is larger than the padded input 7×7/,
    );
    expect(() => fwd({ opts: { padding: 0, dilation: 3 } })).toThrow(/^w: kernel 3×3 \(dilated 7×7\) is larger than the padded input 5×5/);
    expect(() => fwd({ y: Tensor.zeros([2, 4, 4, 4]) })).toThrow(ShapeError);
    expect(() => fwd({ y: Tensor.zeros([2, 4, 4, 4]) })).toThrow(/^y: expected shape \[2, 4, 5, 5\], got \[2, 4, 4, 4\]/);
    expect(() => fwd({ y: Tensor.zeros([2, 4, 25]) })).toThrow(/^y: expected shape \[2, 4, 5, 5\]/);
    expect(() => fwd({ b: Tensor.zeros([3]) })).toThrow(/^b: expected shape \[4\]/);
    expect(() => fwd({ y: Tensor.zeros([2, 4, 5, 6]).view(0, [2, 4, 5, 5], [120, 30, 6, 1]) })).toThrow(
      /^y: expected a contiguous tensor/,
    );
  });

  it('conv2dForward: hyper-parameters', () => {
    expect(() => fwd({ opts: { stride: 0 } })).toThrow(ValueError);
    expect(() => fwd({ opts: { stride: 0 } })).toThrow(/^stride: expected a positive integer, got 0/);
    expect(() => fwd({ opts: { stride: [1, -2] } })).toThrow(/^stride: expected a positive integer, got -2/);
    expect(() => fwd({ opts: { stride: 1.5 } })).toThrow(/^stride: expected an integer/);
    expect(() => fwd({ opts: { stride: NaN } })).toThrow(/^stride: expected a finite number/);
    expect(() => fwd({ opts: { stride: 2 ** 31 } })).toThrow(/^stride: 2147483648 is more than 2\^31 - 1/);
    expect(() => fwd({ opts: { padding: -1 } })).toThrow(/^padding: expected a non-negative integer, got -1/);
    expect(() => fwd({ opts: { dilation: 0 } })).toThrow(/^dilation: expected a positive integer, got 0/);
    expect(() => fwd({ opts: { stride: '2' as unknown as number } })).toThrow(ArgumentError);
    expect(() => fwd({ opts: { stride: '2' as unknown as number } })).toThrow(/^stride: expected a number/);
    expect(() => fwd({ opts: { stride: [1, 2, 3] as unknown as number } })).toThrow(/^stride: expected a number or an \[h, w\] pair/);
    expect(() => ops.conv2dForward(X(), Wt(), null, Tensor.zeros([2, 4, 3, 3]), ws(), null as unknown as ops.Conv2dOptions))
      .toThrow(/^opts: expected an options object/);
    // A huge padding: the output plane no longer fits int32 indexing.
    expect(() => fwd({ opts: { padding: 2 ** 30 }, y: Tensor.zeros([1]) })).toThrow(/^x: the output plane .* has more than 2\^31 - 1 positions/);
  });

  it('conv2dForward: dtypes, workspace, aliasing, disposal', () => {
    expect(() => fwd({ x: Tensor.zeros([2, 3, 5, 5], { dtype: 'int32' }) })).toThrow(DTypeError);
    expect(() => fwd({ w: Tensor.zeros([4, 3, 3, 3], { dtype: 'int32' }) })).toThrow(/^w: expected float32/);
    expect(() => fwd({ ws: Tensor.zeros([100000], { dtype: 'int32' }) })).toThrow(/^ws: expected float32/);
    const x = X(), w = Wt();
    const need = ops.conv2dWorkspaceFloats(x, w, { padding: 1 });
    expect(need).toBeGreaterThan(0);
    expect(() => fwd({ x, w, ws: Tensor.zeros([need - 1]) })).toThrow(ShapeError);
    expect(() => fwd({ x, w, ws: Tensor.zeros([need - 1]) })).toThrow(new RegExp(`^ws: expected at least ${need} float32 elements, got shape \\[${need - 1}\\]`));
    expect(() => fwd({ x, w, ws: null })).toThrow(ArgumentError);
    expect(() => fwd({ x, w, ws: null })).toThrow(new RegExp(`^ws: expected at least ${need} float32 elements, got null`));
    fwd({ x, w, ws: Tensor.zeros([need]) });
    // Outputs may not overlap anything.
    const xy = Tensor.zeros([200]);
    expect(() => fwd({ x: xy.view(0, [2, 3, 5, 5]), y: xy.view(0, [2, 4, 5, 5]) })).toThrow(/^x and y overlap/);
    const buf = Tensor.zeros([200 + 100000]);
    expect(() => fwd({ y: buf.view(0, [2, 4, 5, 5]), ws: buf.view(100, [100000]) })).toThrow(/^y and ws overlap/);
    const wbuf = Tensor.zeros([108 + 100000]);
    expect(() => fwd({ w: wbuf.view(0, [4, 3, 3, 3]), ws: wbuf.view(50, [100000]) })).toThrow(/^w and ws overlap/);
    const by = Tensor.zeros([200]);
    expect(() => fwd({ b: by.view(196, [4]), y: by.view(0, [2, 4, 5, 5]) })).toThrow(/^b and y overlap/);
    const d = X();
    d.dispose();
    expect(() => fwd({ x: d })).toThrow(DisposedError);
    expect(() => fwd({ x: d })).toThrow(/^x: tensor has been disposed/);
    expect(() => fwd({ x: 'nope' })).toThrow(/^x: expected a Tensor/);
  });

  it('conv2dBackwardData and conv2dBackwardWeight', () => {
    const dy = () => Tensor.zeros([2, 4, 5, 5]);
    const bd = (o: Partial<Record<'dy' | 'w' | 'dx' | 'ws', unknown>> = {}) =>
      ops.conv2dBackwardData(
        (o.dy ?? dy()) as Tensor<'float32'>, (o.w ?? Wt()) as Tensor<'float32'>, (o.dx ?? Tensor.zeros([2, 3, 5, 5])) as Tensor<'float32'>,
        (o.ws === undefined ? ws() : o.ws) as Tensor<'float32'> | null, { padding: 1 },
      );
    bd();
    expect(() => bd({ dy: Tensor.zeros([2, 4, 5, 4]) })).toThrow(/^dy: expected shape \[2, 4, 5, 5\]/);
    expect(() => bd({ dx: Tensor.zeros([2, 2, 5, 5]) })).toThrow(/^w: expected \[K, C, kh, kw\] with C = 2 \(dx's channels\)/);
    expect(() => bd({ dx: Tensor.zeros([2, 3, 25]) })).toThrow(/^dx: expected 4 dimensions/);
    expect(() => bd({ ws: Tensor.zeros([1]) })).toThrow(/^ws: expected at least/);
    const g = dy();
    expect(() => bd({ dy: g, dx: g.view(0, [2, 3, 5, 5]) })).toThrow(/^dy and dx overlap/);
    expect(() => bd({ dy: Tensor.zeros([2, 4, 5, 5], { dtype: 'int32' }) })).toThrow(DTypeError);

    const bw = (o: Partial<Record<'dy' | 'x' | 'dw' | 'db' | 'ws' | 'acc', unknown>> = {}) =>
      ops.conv2dBackwardWeight(
        (o.dy ?? dy()) as Tensor<'float32'>, (o.x ?? X()) as Tensor<'float32'>, (o.dw ?? Tensor.zeros([4, 3, 3, 3])) as Tensor<'float32'>,
        (o.db === undefined ? null : o.db) as Tensor<'float32'> | null, (o.ws === undefined ? ws() : o.ws) as Tensor<'float32'> | null,
        { padding: 1, accumulate: o.acc as boolean | undefined },
      );
    bw();
    expect(() => bw({ dw: Tensor.zeros([4, 2, 3, 3]) })).toThrow(/^dw: expected \[K, C, kh, kw\] with C = 3 \(x's channels\)/);
    expect(() => bw({ db: Tensor.zeros([5]) })).toThrow(/^db: expected shape \[4\]/);
    expect(() => bw({ dy: Tensor.zeros([2, 5, 5, 5]) })).toThrow(/^dy: expected shape \[2, 4, 5, 5\]/);
    expect(() => bw({ acc: 'yes' })).toThrow(ArgumentError);
    expect(() => bw({ acc: 'yes' })).toThrow(/^accumulate: expected a boolean/);
    const dwb = Tensor.zeros([4 * 27 + 4]);
    expect(() => bw({ dw: dwb.view(0, [4, 3, 3, 3]), db: dwb.view(4 * 27 - 1, [4]) })).toThrow(/^dw and db overlap/);
    const xbuf = Tensor.zeros([150 + 100000]);
    expect(() => bw({ x: xbuf.view(0, [2, 3, 5, 5]), ws: xbuf.view(149, [100000]) })).toThrow(/^x and ws overlap/);
  });

  it('conv1d', () => {
    const x = Tensor.zeros([2, 3, 10]), w = Tensor.zeros([4, 3, 3]);
    const f = (o: Partial<Record<'x' | 'w' | 'y' | 'opts', unknown>> = {}) =>
      ops.conv1dForward(
        (o.x ?? x) as Tensor<'float32'>, (o.w ?? w) as Tensor<'float32'>, null, (o.y ?? Tensor.zeros([2, 4, 10])) as Tensor<'float32'>,
        ws(), (o.opts ?? { padding: 1 }) as ops.Conv1dOptions,
      );
    f();
    expect(() => f({ x: Tensor.zeros([2, 3, 10, 1]) })).toThrow(/^x: expected 3 dimensions/);
    expect(() => f({ w: Tensor.zeros([4, 2, 3]) })).toThrow(/^w: expected \[K, C, k\] with C = 3 \(x's channels\), got \[4, 2, 3\]/);
    expect(() => f({ w: Tensor.zeros([4, 3, 13]) })).toThrow(/^w: kernel 13 \(dilated 13\) is larger than the padded input 12/);
    expect(() => f({ opts: { padding: 1, stride: 0 } })).toThrow(/^stride: expected a positive integer/);
    expect(() => f({ y: Tensor.zeros([2, 4, 9]) })).toThrow(/^y: expected shape \[2, 4, 10\]/);
    expect(() => ops.conv1dBackwardWeight(Tensor.zeros([2, 4, 10]), x, Tensor.zeros([4, 3, 3]), null, ws(), { padding: 1, accumulate: 1 as unknown as boolean }))
      .toThrow(/^accumulate: expected a boolean/);
  });

  it('the native side checks its arguments itself (not only the TS wrapper)', () => {
    const nat = native as unknown as Record<string, (...a: unknown[]) => unknown>;
    const x = X().handle, w = Wt().handle, y = Tensor.zeros([2, 4, 5, 5]).handle, s = ws().handle;
    expect(nat.conv2dWorkspaceFloats!(x, w, 1, 1, 1, 1, 1, 1)).toBeTypeOf('number');
    expect(() => nat.conv2dForward!(x, w, null, y, s, 1, 1, 1, 1, 1)).toThrow(/^dilation: expected a number/);
    expect(() => nat.conv2dForward!(x, w, null, y, s, 1, 1, 1, 1, 1, -1)).toThrow(/^dilation: expected a positive integer/);
    expect(() => nat.conv2dForward!(x, w, null, y, s, 1, 0, 1, 1, 1, 1)).toThrow(/^stride/);
    expect(() => nat.conv2dForward!(x, w, null, y, s, 1, 1, 1, 1.5, 1, 1)).toThrow(/^padding: expected an integer/);
    expect(() => nat.conv2dBackwardWeight!(y, x, Tensor.zeros([4, 3, 3, 3]).handle, null, s, 1, 1, 1, 1, 1, 1)).toThrow(/^accumulate/);
    expect(() => nat.conv1dForward!(x, w, null, y, s, 1, 0, 1)).toThrow(/^x: expected 3 dimensions/);
    expect(() => nat.conv1dWorkspaceFloats!(Tensor.zeros([1, 3, 4]).handle, Tensor.zeros([2, 3, 2]).handle, 1, 0)).toThrow(/^dilation/);
    expect(() => nat.conv2dForward!(x, w, 7, y, s, 1, 1, 1, 1, 1, 1)).toThrow(/^b: expected a Tensor/);
  });
});
