// CPU ↔ CUDA parity: every kernel family runs on the same inputs on 'cpu'
// and 'cuda', and the results are compared within the tolerances below
// (docs/cuda.md explains them). Without a usable CUDA device the parity
// suite is skipped with a message saying why; the availability tests at the
// end always run.
//
// Tolerances (relative rtol, absolute atol):
//   bit-exact      relu, bias_add, queue, cutmix, gather, maxout, Philox
//                  uniforms, input drop, the optimizers' plain SGD path is
//                  compared at 1 ulp-ish (FMA contraction may differ)
//   ~1 ulp         elementwise mixes (mixup, EMA, axpby, SGD/LARS/AdamW):
//                  rtol 2e-6 (compilers may contract a·x + b·y into an FMA
//                  differently)
//   reductions     double-accumulated ones (norms, BN statistics, cosine,
//                  bias_grad, sum) rtol 1e-5; float-accumulated rowdot and
//                  gemm (summation order differs from OpenBLAS / cuBLAS)
//                  rtol 1e-4
//   exp/log        mixed cross-entropy: CUDA expf/log vs the CPU's vectorized
//                  expf: rtol 1e-5 on gradients and losses
//   normals        Box–Muller through CUDA logf/sinf/cosf: rtol 1e-5, atol 1e-6
//   convolutions   conv2d/conv1d forward, backward data and backward weight are
//                  im2col + gemm on both devices, so they carry gemm's float
//                  accumulation in another order (and, on the GPU, chunks of
//                  samples instead of the CPU's per-thread slices for dW):
//                  rtol 1e-4, atol 2e-4 on y, dx, dw; db is accumulated in
//                  double: rtol 1e-5
//   BatchNorm2d    double statistics as BatchNorm1d: rtol 1e-5, atol 1e-5 (the
//                  backward's ReLU mask comes from one fixed array, so a value
//                  that rounds to ±0 differently cannot flip it between devices)
//   colour views   colorJitter / colorAdjust: the same draws and float
//                  expressions (native/common/color.h); FMA contraction and
//                  the contrast mean's double summation order may move a
//                  pixel by an ulp, which the hue step amplifies (its
//                  (h/6 + 1) mod 1 rounds h to ulp(1), then ×6): atol 5e-6;
//                  randomGrayscale atol 2e-7; brightness-only draws bit-exact
//   image views    randomCropFlip, randomResizedCrop and resizedCrop bit-exact
//                  (the same draws, boxes and correctly rounded operations:
//                  native/common/resized_crop.h)
//   pooling        max-pool y, argmax and dx bit-exact (the CUDA gather adds
//                  the same terms in the same order as the CPU's scatter;
//                  argmax entries outside their window, which only a caller
//                  can write, are added in a second pass: rtol 1e-6);
//                  global average pool: double sums, rtol 1e-6; its backward
//                  and add+ReLU bit-exact
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BYOL,
  DeviceError,
  MoCo,
  NPair,
  SimCLR,
  SimSiam,
  Tensor,
  ValueError,
  cudaAvailable,
  cudaStats,
  resetCudaStats,
  info,
  nn,
  ops,
  type Device,
  views,
} from '../../lib/index';
import { fromArray } from '../../lib/data/dataset';
import * as viewsLib from '../../lib/methods/views';
import type { ContrastiveMethod } from '../../lib/methods/base';
import { native } from '../../lib/native';
import { expectClose, randn, randperm, randu } from '../helpers';

const HAVE_CUDA = cudaAvailable();
if (info().cuda.emulated)
  console.log('test/cuda/parity: running against the CPU emulation of CUDA (IMIX_CUDA_EMULATE build), not a GPU');
if (!HAVE_CUDA)
  console.log(`test/cuda/parity: no usable CUDA device, the CPU/CUDA parity suite is skipped: ${info().cuda.reason}`);

interface CudaUtils {
  cudaSynchronize(device?: number): void;
  cudaMemoryStats(device?: number): { inUse: number; cached: number; mallocs: number; frees: number; reuses: number };
  cudaSetTiledGemm(on: boolean): string;
}
const nu = native as unknown as CudaUtils;

type Arr = Float32Array | Int32Array;
const DEVICES: Device[] = ['cpu', 'cuda'];

/** Runs f on 'cpu' and on 'cuda'; returns [cpu result, cuda result]. */
function both<R>(f: (dev: Device) => R): [R, R] {
  return [f(DEVICES[0]!), f(DEVICES[1]!)];
}
function T(dev: Device, data: Float32Array, shape?: number[]): Tensor<'float32'>;
function T(dev: Device, data: Int32Array, shape?: number[]): Tensor<'int32'>;
function T(dev: Device, data: Arr, shape?: number[]): Tensor {
  return data instanceof Float32Array ? Tensor.from(data, shape, { device: dev }) : Tensor.from(data, shape, { device: dev });
}
const Z = (dev: Device, shape: number[]) => Tensor.zeros(shape, { device: dev });

/** Like expectClose, but NaN matches NaN and ±Inf must match exactly. */
function expectParity(gpu: ArrayLike<number>, cpu: ArrayLike<number>, rtol: number, atol: number, label: string): void {
  expect(gpu.length, `${label} length`).toBe(cpu.length);
  const a: number[] = [], b: number[] = [];
  for (let i = 0; i < cpu.length; i++) {
    const x = gpu[i]!, y = cpu[i]!;
    if (Number.isNaN(y) || !Number.isFinite(y)) {
      expect(Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y)), `${label}[${i}]: got ${x}, cpu ${y}`).toBe(true);
      continue;
    }
    a.push(x);
    b.push(y);
  }
  expectClose(a, b, { rtol, atol, label });
}
function expectBitExact(gpu: Arr, cpu: Arr, label: string): void {
  expect(gpu.length, `${label} length`).toBe(cpu.length);
  for (let i = 0; i < cpu.length; i++)
    if (!Object.is(gpu[i], cpu[i]) && !(Number.isNaN(gpu[i]) && Number.isNaN(cpu[i])))
      expect.fail(`${label}[${i}]: cuda ${gpu[i]} != cpu ${cpu[i]}`);
}

describe.skipIf(!HAVE_CUDA)('CPU ↔ CUDA parity', () => {
  describe('tensors on the device', () => {
    it('copyFromArray / copyToArray round-trip, including several staging chunks', () => {
      for (const n of [0, 1, 7, 1 << 20, 3_000_001]) {
        const x = randn(n, n + 1);
        const t = T('cuda', x);
        expect(t.device).toBe('cuda:0');
        expectBitExact(t.toArray(), x, `round trip n=${n}`);
        const i = Int32Array.from({ length: Math.min(n, 1000) }, (_, k) => k * 7 - 3);
        expectBitExact(T('cuda', i).toArray(), i, 'int32 round trip');
      }
    });

    it('zeros, fill (contiguous and a strided diagonal), views, copyFrom (overlapping too)', () => {
      const [c, g] = both((dev) => {
        const z = Z(dev, [5, 5]);
        const zeros = z.toArray();
        z.fill(2.5);
        z.view(0, [5], [6]).fill(-1); // the diagonal
        const filled = z.toArray();
        const v = z.view(10, [2, 5]); // rows 2..3
        const src = T(dev, randn(10, 3));
        v.copyFrom(src);
        const copied = z.toArray();
        // overlapping copy within one storage: rows 0..2 ← rows 1..3
        z.view(0, [3, 5]).copyFrom(z.view(5, [3, 5]));
        const shifted = z.toArray();
        const iz = Tensor.zeros([4, 3], { dtype: 'int32', device: dev });
        iz.view(1, [4], [3]).fill(9);
        return { zeros, filled, copied, shifted, ints: iz.toArray() };
      });
      expect(Array.from(g.zeros).every((x) => x === 0)).toBe(true);
      for (const k of ['filled', 'copied', 'shifted', 'ints'] as const) expectBitExact(g[k], c[k], k);
    });

    it('rejects operands on different devices and cross-device copies', () => {
      const a = Z('cuda', [2, 3]), b = Z('cpu', [2, 3]);
      expect(() => ops.reluForward(a, b)).toThrow(DeviceError);
      expect(() => ops.reluForward(a, b)).toThrow(/y: on cpu but x is on cuda:0/);
      expect(() => a.copyFrom(b)).toThrow(DeviceError);
    });

    it('the caching allocator reuses freed blocks (no cudaMalloc per step)', () => {
      const shapes = [[256, 512], [256], [1000, 3], [7]];
      for (const s of shapes) Z('cuda', s).dispose();
      const before = nu.cudaMemoryStats(0);
      for (let step = 0; step < 20; step++) for (const s of shapes) Z('cuda', s).dispose();
      const after = nu.cudaMemoryStats(0);
      expect(after.mallocs).toBe(before.mallocs);
      expect(after.reuses - before.reuses).toBe(20 * shapes.length);
    });

    it('value checks read CUDA tensors (perm, λ, indices) and name the argument', () => {
      const x = T('cuda', randn(12, 1), [4, 3]), out = Z('cuda', [4, 3]);
      expect(() => ops.mixup(x, out, T('cuda', Int32Array.from([0, 1, 1, 3])), 0.5)).toThrow(ValueError);
      expect(() => ops.mixup(x, out, T('cuda', Int32Array.from([0, 1, 1, 3])), 0.5)).toThrow(/perm: value 1 appears twice/);
      expect(() => ops.mixup(x, out, randpermT('cuda', 4), T('cuda', Float32Array.from([0.5, 1.5, 0, 1])))).toThrow(
        /lam: entry 1 is 1\.5/,
      );
      expect(() => ops.gatherRows(x, T('cuda', Int32Array.from([0, 4])), Z('cuda', [2, 3]))).toThrow(/idx: entry 1 is 4/);
      const logits = T('cuda', randn(8, 2), [2, 4]);
      expect(() => ops.mixedCrossEntropy(logits, { targets: T('cuda', Int32Array.from([0, 4])) })).toThrow(
        /targets: entry 1 is 4/,
      );
    });
  });

  describe('gemm family', () => {
    const cases: Array<[number, number, number, boolean, boolean, number, number]> = [
      [1, 1, 1, false, false, 1, 0],
      [7, 5, 3, false, true, 1, 0],
      [33, 17, 65, true, false, 0.5, 1],
      [130, 129, 257, true, true, -1, 0.25],
      [256, 300, 128, false, true, 1, 0],
      [64, 64, 0, false, false, 1, 0.5], // K = 0: C = beta·C
    ];
    for (const tiled of [false, true]) {
      it(`gemm, all transposes and edge tiles (${tiled ? 'tiled kernel' : 'default: cuBLAS if loaded'})`, () => {
        nu.cudaSetTiledGemm(tiled);
        try {
          for (const [M, N, K, ta, tb, alpha, beta] of cases) {
            const A = randn(M * K, M + K), B = randn(K * N, N + K + 1), C0 = randn(M * N, M * N);
            const [c, g] = both((dev) => {
              const C = T(dev, C0, [M, N]);
              ops.gemm(T(dev, A, ta ? [K, M] : [M, K]), T(dev, B, tb ? [N, K] : [K, N]), C, {
                transA: ta, transB: tb, alpha, beta,
              });
              return C.toArray();
            });
            expectParity(g, c, 1e-4, 2e-4, `gemm ${M}x${N}x${K} ${ta}${tb}`);
          }
          // A column block of a bigger matrix (leading dimension > width).
          const big = randn(40 * 24, 9);
          const [c, g] = both((dev) => {
            const Abig = T(dev, big, [40, 24]);
            const C = Z(dev, [40, 40]);
            ops.gemm(Abig.view(4, [40, 16], [24, 1]), Abig.view(4, [40, 16], [24, 1]), C, { transB: true });
            return C.toArray();
          });
          expectParity(g, c, 1e-4, 2e-4, 'gemm strided');
        } finally {
          nu.cudaSetTiledGemm(false);
        }
      });
    }

    it('linear forward/backward, bias, relu', () => {
      for (const [N, inF, outF] of [[1, 3, 2], [64, 100, 33], [300, 128, 256]] as const) {
        const x = randn(N * inF, 1), W = randn(outF * inF, 2, 0.1), b = randn(outF, 3), dy = randn(N * outF, 4);
        const dW0 = randn(outF * inF, 5), db0 = randn(outF, 6);
        const pre = randn(N * outF, 7);
        pre[0] = 0;
        pre[1] = -0;
        if (pre.length > 2) pre[2] = NaN;
        const [c, g] = both((dev) => {
          const tx = T(dev, x, [N, inF]), tW = T(dev, W, [outF, inF]), tb = T(dev, b, [outF]);
          const y = Z(dev, [N, outF]);
          ops.linearForward(tx, tW, tb, y);
          const yv = y.toArray();
          // relu and the backward pass on fixed inputs (a gemm output near 0
          // could flip a relu mask between devices)
          const r = T(dev, pre, [N, outF]);
          ops.reluForward(r, r);
          const tdy = T(dev, dy, [N, outF]);
          ops.reluBackward(tdy, r, tdy);
          const dx = Z(dev, [N, inF]), dW = T(dev, dW0, [outF, inF]), db = T(dev, db0, [outF]);
          ops.linearBackward(tx, tW, tdy, dx, dW, db, true);
          const dWo = Z(dev, [outF, inF]), dbo = Z(dev, [outF]);
          ops.linearBackward(tx, tW, tdy, null, dWo, dbo, false);
          const yb = T(dev, pre, [N, outF]);
          ops.biasAdd(yb, tb);
          ops.biasGrad(tdy, dbo, true);
          return { yv, r: r.toArray(), drelu: tdy.toArray(), dx: dx.toArray(), dW: dW.toArray(), db: db.toArray(), dWo: dWo.toArray(), dbo: dbo.toArray(), yb: yb.toArray() };
        });
        for (const k of ['yv', 'dx', 'dW', 'dWo'] as const) expectParity(g[k], c[k], 1e-4, 2e-4, `${k} N=${N}`);
        for (const k of ['db', 'dbo'] as const) expectParity(g[k], c[k], 1e-5, 1e-5, `${k} N=${N}`);
        for (const k of ['r', 'drelu', 'yb'] as const) expectBitExact(g[k], c[k], `${k} N=${N}`);
      }
    });
  });

  describe('loss family', () => {
    it('l2 normalize forward/backward (warp and block rows, in place)', () => {
      for (const [N, D] of [[1, 1], [5, 3], [64, 128], [3, 4096]] as const) {
        const x = randn(N * D, N + D), dy = randn(N * D, D);
        if (N === 5) x.fill(0, 0, D); // a zero row: norm = eps
        const [c, g] = both((dev) => {
          const tx = T(dev, x, [N, D]), y = Z(dev, [N, D]), norms = Z(dev, [N]);
          ops.l2Normalize(tx, y, norms, { eps: 1e-8 });
          const tdy = T(dev, dy, [N, D]), dx = Z(dev, [N, D]);
          ops.l2NormalizeBackward(tdy, y, norms, dx);
          ops.l2Normalize(tx, tx, Z(dev, [N])); // in place
          ops.l2NormalizeBackward(tdy, y, norms, tdy);
          return { y: y.toArray(), norms: norms.toArray(), dx: dx.toArray(), inplace: tx.toArray(), dxi: tdy.toArray() };
        });
        for (const k of ['y', 'norms', 'dx', 'inplace', 'dxi'] as const) expectParity(g[k], c[k], 1e-5, 1e-6, `${k} ${N}x${D}`);
      }
    });

    it('fused mixed cross-entropy: register rows, split rows, π = identity, λ ∈ {0.5, 1, per-row}, targets/colOffset, every M mod 4, rows off the 16-byte boundary, padded row strides', () => {
      // offset: the logits are a view that many floats into a bigger tensor (its spare floats before and after
      // must stay untouched), so rows start off the 16-byte boundary; with M mod 4 ≠ 0 every row starts elsewhere.
      // ld: the row stride (default M); ld > M pads each row (MoCo's layout: ld a multiple of 4), and the padding
      // holds NaN, which must be neither read (the losses would be NaN) nor written.
      const cases: Array<{ N: number; M: number; perm: 'rand' | 'id' | 'none'; lam: 'row' | 0.5 | 1 | 'none'; targets?: boolean; colOffset?: number; offset?: number; ld?: number }> = [
        { N: 1, M: 1, perm: 'none', lam: 'none' },
        { N: 1, M: 5, perm: 'id', lam: 0.5 },
        { N: 8, M: 8, perm: 'rand', lam: 'row' },
        { N: 16, M: 16 + 1000, perm: 'rand', lam: 0.5 }, // MoCo-i-Mix shape, K not a multiple of N
        { N: 6, M: 6 + 4096, perm: 'id', lam: 1 },
        { N: 4, M: 9001, perm: 'rand', lam: 'row' }, // > 8192 and few rows: split over blocks
        { N: 5, M: 33, perm: 'rand', lam: 'row', targets: true, colOffset: 3 },
        { N: 7, M: 1, perm: 'rand', lam: 'row', targets: true, offset: 1 }, // edge floats only
        { N: 7, M: 3, perm: 'rand', lam: 'row', targets: true, offset: 2 },
        { N: 7, M: 4, perm: 'rand', lam: 0.5, targets: true, colOffset: 1, offset: 3 },
        { N: 7, M: 5, perm: 'rand', lam: 'row', targets: true, colOffset: 2, offset: 1 },
        { N: 6, M: 1023, perm: 'rand', lam: 'row', offset: 3 },
        { N: 5, M: 4097, perm: 'rand', lam: 'row', targets: true, colOffset: 7, offset: 2 },
        { N: 256, M: 9001, perm: 'rand', lam: 'row', offset: 1 }, // rows enough for one wide block per row
        { N: 8, M: 65600, perm: 'rand', lam: 'row', colOffset: 65592, offset: 1 }, // MoCo's N + K: split; a target in the tail
        { N: 8, M: 65601, perm: 'rand', lam: 0.5, targets: true, colOffset: 1 },
        { N: 5, M: 33, perm: 'rand', lam: 'row', ld: 36 }, // MoCo's padding: every row on the 16-byte boundary
        { N: 7, M: 5, perm: 'rand', lam: 'row', targets: true, colOffset: 2, ld: 8 },
        { N: 16, M: 16 + 1001, perm: 'rand', lam: 0.5, ld: 1020 }, // MoCo-i-Mix shape, padded
        { N: 8, M: 1 + 1001, perm: 'none', lam: 'none', targets: true, ld: 1004, offset: 1 }, // MoCo baseline, off the boundary
        { N: 4, M: 9001, perm: 'rand', lam: 'row', targets: true, colOffset: 3, ld: 9004 }, // split rows, padded
      ];
      for (const cs of cases) {
        const { N, M } = cs;
        const off = cs.offset ?? 0, ld = cs.ld ?? M;
        const logits = randn(N * M, N * 31 + M, 3);
        const perm = cs.perm === 'id' ? Int32Array.from({ length: N }, (_, i) => i) : randperm(N, M);
        const lamv = cs.lam === 'row' ? randu(N, 7, 0.5, 1) : new Float32Array(N).fill(cs.lam === 'none' ? 1 : cs.lam);
        const targets = cs.targets ? Int32Array.from({ length: N }, (_, i) => (i * 7) % (M - (cs.colOffset ?? 0))) : undefined;
        const buf = new Float32Array(off + (N - 1) * ld + M + 3).fill(7);
        for (let i = 0; i < N; i++) {
          if (i > 0) buf.fill(NaN, off + (i - 1) * ld + M, off + i * ld); // the padding after row i − 1
          buf.set(logits.subarray(i * M, (i + 1) * M), off + i * ld);
        }
        const inRows = (e: number) => e >= off && e < off + (N - 1) * ld + M && (e - off) % ld < M;
        const [c, g] = both((dev) => {
          const base = T(dev, buf), L = base.view(off, [N, M], [ld, 1]), losses = Z(dev, [N]);
          const sum = ops.mixedCrossEntropy(L, {
            perm: cs.perm === 'none' ? undefined : T(dev, perm),
            lam: cs.lam === 'none' ? undefined : T(dev, lamv),
            targets: targets ? T(dev, targets) : undefined,
            colOffset: cs.colOffset ?? 0,
            scale: 1 / N,
            losses,
          });
          const all = base.toArray();
          return { sum, all, grad: all.filter((_, e) => inRows(e)), losses: losses.toArray() };
        });
        const label = `CE N=${N} M=${M} ld=${ld} perm=${cs.perm} lam=${cs.lam} offset=${off}`;
        expectParity(g.grad, c.grad, 1e-5, 1e-7, `${label} dlogits`);
        expectParity(g.losses, c.losses, 1e-5, 1e-6, `${label} losses`);
        expectParity([g.sum], [c.sum], 1e-5, 1e-6, `${label} sum`);
        if (ld > M) expect(Array.from(c.losses).every(Number.isFinite), `${label}: the padding was read`).toBe(true);
        const spare = (a: Float32Array) => a.filter((_, e) => !inRows(e));
        for (const [dev, r] of [['cpu', c], ['cuda', g]] as const)
          expect(Array.from(spare(r.all)), `${label}: floats outside the view (${dev})`).toEqual(Array.from(spare(buf)));
      }
    });

    it('mixed cross-entropy with non-finite logits matches the CPU (NaN row, −inf entries, an all −inf row, +inf), one block a row and split rows', () => {
      for (const [M, off] of [[40, 0], [4097, 1], [65600, 3], [65602, 2]] as const) {
        const N = 4;
        const logits = randn(N * M, 99 + M);
        logits[5] = NaN; // row 0: NaN
        logits[M + 1] = -Infinity; // row 1: −inf entries get probability 0 (one is row 1's target, λ = 1)
        logits[M + 7] = -Infinity;
        logits[M + M - 1] = -Infinity;
        logits.fill(-Infinity, 2 * M, 3 * M); // row 2: all −inf
        logits[3 * M + (M >> 1)] = Infinity; // row 3: +inf
        const buf = new Float32Array(off + N * M);
        buf.set(logits, off);
        const [c, g] = both((dev) => {
          const L = T(dev, buf).view(off, [N, M]), losses = Z(dev, [N]);
          ops.mixedCrossEntropy(L, { losses, perm: T(dev, Int32Array.from([2, 0, 3, 1])), lam: T(dev, Float32Array.from([0.7, 1, 0.6, 0.5])) });
          return { grad: L.toArray(), losses: losses.toArray() };
        });
        expectParity(g.grad, c.grad, 1e-5, 1e-7, `non-finite dlogits M=${M}`);
        expectParity(g.losses, c.losses, 1e-5, 1e-6, `non-finite losses M=${M}`);
        expect(Number.isNaN(c.losses[0]) && Number.isNaN(c.losses[2]) && Number.isNaN(c.losses[3])).toBe(true);
      }
    });

    it('BYOL mixed cosine: loss, dp, per-row losses (π = identity, λ = 1 too)', () => {
      for (const [N, D, mode] of [[1, 4, 'plain'], [33, 64, 'mix'], [8, 300, 'id']] as const) {
        const p = randn(N * D, 1), k = randn(N * D, 2);
        const perm = mode === 'id' ? Int32Array.from({ length: N }, (_, i) => i) : randperm(N, 3);
        const lam = randu(N, 4, 0.5, 1);
        const [c, g] = both((dev) => {
          const tp = T(dev, p, [N, D]), tk = T(dev, k, [N, D]);
          const dp = Z(dev, [N, D]), losses = Z(dev, [N]);
          const sum = ops.mixedCosine(tp, tk, {
            perm: mode === 'plain' ? undefined : T(dev, perm),
            lam: mode === 'plain' ? undefined : T(dev, lam),
            scale: 0.5,
            dp,
            losses,
          });
          return { sum, dp: dp.toArray(), losses: losses.toArray() };
        });
        expectParity(g.dp, c.dp, 2e-6, 1e-7, `cosine dp ${N}x${D}`);
        expectParity(g.losses, c.losses, 1e-5, 1e-6, `cosine losses ${N}x${D}`);
        expectParity([g.sum], [c.sum], 1e-6, 1e-6, `cosine sum ${N}x${D}`);
      }
    });
  });

  describe('state family', () => {
    it('EMA over a flat buffer: aligned (float4) and offset (scalar) views, n not a multiple of 4', () => {
      for (const [n, off] of [[1, 0], [1023, 0], [100_003, 0], [1001, 1]] as const) {
        const t = randn(n + off, 1), s = randn(n + off, 2);
        const [c, g] = both((dev) => {
          const tt = T(dev, t), ts = T(dev, s);
          ops.ema(tt.view(off, [n]), ts.view(off, [n]), 0.996);
          return tt.toArray();
        });
        expectParity(g, c, 2e-6, 1e-7, `ema n=${n} offset=${off}`);
      }
    });

    it('queue enqueue: plain, wrap-around, K not a multiple of N, N = K', () => {
      for (const [K, D, N, ptr] of [[10, 3, 4, 0], [10, 3, 4, 8], [7, 2, 3, 6], [5, 4, 5, 2], [1, 3, 1, 0]] as const) {
        const q0 = randn(K * D, K), keys = randn(N * D, N);
        const [c, g] = both((dev) => {
          const q = T(dev, q0, [K, D]);
          const next = ops.queueEnqueue(q, T(dev, keys, [N, D]), ptr);
          return { next, q: q.toArray() };
        });
        expect(g.next).toBe(c.next);
        expectBitExact(g.q, c.q, `queue K=${K} N=${N} ptr=${ptr}`);
      }
    });
  });

  describe('mix family', () => {
    it('mixup (per-row λ, λ = 0.5, λ = 1, π = identity, N = 1) and cutmix (boxes incl. empty and full)', () => {
      for (const [N, F] of [[1, 5], [9, 784], [16, 3 * 32 * 32]] as const) {
        const x = randn(N * F, F);
        const perm = randperm(N, 2), id = Int32Array.from({ length: N }, (_, i) => i);
        const lam = randu(N, 3, 0.5, 1);
        for (const [pv, lv] of [[perm, 'row'], [perm, 0.5], [perm, 1], [id, 0.7]] as const) {
          const [c, g] = both((dev) => {
            const out = Z(dev, [N, F]);
            ops.mixup(T(dev, x, [N, F]), out, T(dev, pv), lv === 'row' ? T(dev, lam) : lv);
            return out.toArray();
          });
          expectParity(g, c, 2e-6, 1e-7, `mixup N=${N} F=${F} lam=${lv}`);
        }
      }
      const [N, C, H, W] = [6, 3, 7, 9];
      const x = randn(N * C * H * W, 11), perm = randperm(N, 12);
      for (const box of [{ y0: 1, x0: 2, y1: 5, x1: 8 }, { y0: 3, x0: 3, y1: 3, x1: 7 }, { y0: 0, x0: 0, y1: H, x1: W }]) {
        const [c, g] = both((dev) => {
          const out = Z(dev, [N, C, H, W]);
          ops.cutmix(T(dev, x, [N, C, H, W]), out, T(dev, perm), box);
          return out.toArray();
        });
        expectBitExact(g, c, `cutmix ${JSON.stringify(box)}`);
      }
    });
  });

  describe('augment family', () => {
    // Bit-exact: the crop offsets, resized-crop boxes and flips are the same
    // draws (philox.h, resized_crop.h: doubles from basic operations only,
    // imix's own log/exp), the crop/flip only moves floats, and the bilinear
    // resampling is the same correctly rounded operations (explicit fmaf,
    // products rounded on their own) on both devices.
    const shapes = [[1, 1, 1, 1], [3, 2, 5, 7], [64, 3, 32, 32], [2, 3, 40, 300]] as const;

    it('randomCropFlip (and randomCrop, horizontalFlip) are bit-identical', () => {
      for (const [N, C, H, W] of shapes) {
        const shape = [N, C, H, W];
        const x = randn(N * C * H * W, 21);
        const [c, g] = both((dev) => {
          const tx = T(dev, x, shape);
          const r: Record<string, Float32Array> = {};
          for (const [pad, flipP] of [[0, 1], [4, 0.5], [H + 2, 0.5]] as const) {
            const o = Tensor.full(shape, NaN, { device: dev }); // every element must be written
            ops.randomCropFlip(tx, o, { pad, flipP, seed: 7, offset: 2 ** 40 + 3 });
            r[`randomCropFlip(${pad}, ${flipP})`] = o.toArray();
          }
          const o = Tensor.full(shape, NaN, { device: dev });
          ops.randomCrop(tx, o, 3, { seed: 1, offset: 2 });
          r['randomCrop(3)'] = o.toArray();
          ops.horizontalFlip(tx, o, 0.5, { seed: 1, offset: 2 });
          r['horizontalFlip(0.5)'] = o.toArray();
          return r;
        });
        for (const k of Object.keys(c)) expectBitExact(g[k]!, c[k]!, `${k} [${shape.join(', ')}]`);
      }
    });

    it('randomResizedCrop and resizedCrop are bit-identical (fallback boxes, extreme ratios, flips)', () => {
      for (const [N, C, H, W] of shapes) {
        const shape = [N, C, H, W];
        const x = randu(N * C * H * W, 22, -1, 2);
        const [c, g] = both((dev) => {
          const tx = T(dev, x, shape);
          const r: Record<string, Float32Array> = {};
          for (const [scale, ratio, flipP] of [
            [[0.08, 1], [3 / 4, 4 / 3], 0.5], [[1, 1], [1, 1], 1], [[0.001, 0.002], [1, 1], 0], [[0.5, 1], [8, 9], 0.5],
            [[0.2, 0.9], [1e-300, 1e300], 0.5],
          ] as const) {
            const o = Tensor.full(shape, NaN, { device: dev });
            ops.randomResizedCrop(tx, o, { scale, ratio, flipP, seed: 5, offset: 2 ** 45 + 1 });
            r[`randomResizedCrop([${scale}], [${ratio}], ${flipP})`] = o.toArray();
          }
          for (const box of [
            { top: 0, left: 0, height: H, width: W }, { top: H - 1, left: W - 1, height: 1, width: 1, flip: true },
            { top: Math.floor(H / 3), left: Math.floor(W / 4), height: Math.ceil(H / 2), width: Math.ceil(W / 3), flip: true },
          ]) {
            const o = Tensor.full(shape, NaN, { device: dev });
            ops.resizedCrop(tx, o, box);
            r[`resizedCrop(${JSON.stringify(box)})`] = o.toArray();
          }
          return r;
        });
        for (const k of Object.keys(c)) {
          expectBitExact(g[k]!, c[k]!, `${k} [${shape.join(', ')}]`);
          expect(c[k]!.some(Number.isNaN), k).toBe(false);
        }
      }
    });

    it('same seed gives the same views on both devices (library views on [N, F] rows, in place too)', () => {
      const N = 16, C = 3, H = 32, W = 32, F = C * H * W;
      const x = randu(N * F, 23);
      const list = [
        views.randomResizedCrop(),
        views.randomResizedCrop([0.2, 1], [3 / 4, 4 / 3], 0.5),
        views.randomCropFlip(4, 0.5),
        views.compose(views.randomResizedCrop([0.08, 1], [3 / 4, 4 / 3], 0.5), views.randomCrop(2), views.inputDrop(0.1)),
      ];
      for (const v of list) {
        const [c, g] = both((dev) => {
          const out = Z(dev, [N, F]);
          v(T(dev, x, [N, F]), out, { seed: 3, offset: 2 ** 33 + 7 }, [C, H, W]);
          const inPlace = T(dev, x, [N, F]);
          v(inPlace, inPlace, { seed: 3, offset: 2 ** 33 + 7 }, [C, H, W]);
          return { out: out.toArray(), inPlace: inPlace.toArray() };
        });
        expectBitExact(g.out, c.out, `${v.describe}`);
        expectBitExact(g.inPlace, c.inPlace, `${v.describe} in place`);
        expectBitExact(c.inPlace, c.out, `${v.describe}: in place = out of place`);
      }
    });

    it('validates CUDA tensors as CPU ones (devices, aliasing, shapes)', () => {
      const x = Z('cuda', [2, 1, 4, 4]), out = Z('cuda', [2, 1, 4, 4]), cpuOut = Z('cpu', [2, 1, 4, 4]);
      const s = { seed: 1, offset: 0 };
      expect(() => ops.randomResizedCrop(x, cpuOut, s)).toThrow(DeviceError);
      expect(() => ops.randomCropFlip(x, cpuOut, { ...s, pad: 1 })).toThrow(DeviceError);
      expect(() => ops.resizedCrop(x, cpuOut, { top: 0, left: 0, height: 2, width: 2 })).toThrow(DeviceError);
      expect(() => ops.randomResizedCrop(x, x, s)).toThrow(/x and out overlap/);
      expect(() => ops.randomCropFlip(x, x, s)).toThrow(/x and out overlap/);
      expect(() => ops.resizedCrop(x, out, { top: 3, left: 0, height: 2, width: 2 })).toThrow(ValueError);
      expect(() => ops.randomResizedCrop(x, Z('cuda', [2, 1, 4, 5]), s)).toThrow(/out: expected shape/);
      expect(() => ops.randomResizedCrop(x, out, { ...s, scale: [0.5, 2] })).toThrow(ValueError);
    });
  });

  describe('batchnorm family', () => {
    it('BatchNorm1d train/eval forward and backward (affine and not, large mean/std ratio, many rows)', () => {
      for (const [N, Cn, shift, affine] of [[2, 1, 0, true], [32, 33, 0, false], [4096, 64, 1000, true], [300, 700, 3, true]] as const) {
        const x = randn(N * Cn, N + Cn).map((v) => v + shift);
        const gamma = randu(Cn, 1, 0.5, 1.5), beta = randn(Cn, 2), dy = randn(N * Cn, 3);
        const rm0 = randn(Cn, 4), rv0 = randu(Cn, 5, 0.5, 2);
        const [c, g] = both((dev) => {
          const tx = T(dev, x, [N, Cn]), y = Z(dev, [N, Cn]), sm = Z(dev, [Cn]), si = Z(dev, [Cn]);
          const rm = T(dev, rm0), rv = T(dev, rv0);
          const gb = affine ? { gamma: T(dev, gamma), beta: T(dev, beta) } : {};
          ops.batchnorm1dForwardTrain(tx, y, sm, si, { ...gb, eps: 1e-5, momentum: 0.1, runningMean: rm, runningVar: rv });
          const ye = Z(dev, [N, Cn]);
          ops.batchnorm1dForwardEval(tx, ye, rm, rv, { ...gb, eps: 1e-5 });
          const dx = Z(dev, [N, Cn]), dgamma = T(dev, randn(Cn, 6)), dbeta = T(dev, randn(Cn, 7));
          ops.batchnorm1dBackward(T(dev, dy, [N, Cn]), tx, sm, si, dx, {
            gamma: affine ? T(dev, gamma) : null,
            dgamma: affine ? dgamma : null,
            dbeta: affine ? dbeta : null,
            accumulate: true,
          });
          return { y: y.toArray(), sm: sm.toArray(), si: si.toArray(), rm: rm.toArray(), rv: rv.toArray(), ye: ye.toArray(), dx: dx.toArray(), dg: dgamma.toArray(), db: dbeta.toArray() };
        });
        for (const k of ['y', 'sm', 'si', 'rm', 'rv', 'ye', 'dx', 'dg', 'db'] as const)
          expectParity(g[k], c[k], 1e-5, 1e-5, `bn ${k} N=${N} C=${Cn}`);
      }
    });
  });

  describe('conv family', () => {
    // [N, C, H, W, K, kh, kw, stride, padding, dilation] (stride/padding/dilation as [h, w] pairs)
    type C2 = [number, number, number, number, number, number, number, [number, number], [number, number], [number, number]];
    const cases2d: C2[] = [
      [2, 3, 7, 6, 4, 3, 3, [1, 1], [1, 1], [1, 1]], // 3×3, padding 1
      [3, 4, 9, 8, 5, 3, 3, [2, 2], [1, 1], [1, 1]], // stride 2 (a ResNet downsampling conv)
      [2, 2, 9, 10, 3, 3, 2, [2, 1], [1, 0], [2, 1]], // dilation, non-square kernel, stride and image
      [1, 8, 16, 17, 6, 1, 1, [1, 1], [0, 0], [1, 1]], // 1×1 on a large plane (no im2col), N = 1
      [6, 8, 4, 4, 16, 1, 1, [1, 1], [0, 0], [1, 1]], // 1×1 on a small plane (chunked)
      [4, 8, 8, 8, 16, 1, 1, [2, 2], [0, 0], [1, 1]], // 1×1 stride 2 (a shortcut)
      [2, 3, 2, 3, 4, 5, 5, [1, 1], [2, 2], [1, 1]], // kernel larger than the unpadded input
      [3, 5, 13, 21, 7, 1, 1, [1, 1], [0, 0], [1, 1]], // 1×1 direct path over several samples: a plane of 273 and 7 channels (the bias walk wraps planes and channels)
      [5, 16, 32, 32, 16, 3, 3, [1, 1], [1, 1], [1, 1]], // CIFAR-sized stage
    ];
    const ws = (dev: Device, n: number) => (n > 0 ? Z(dev, [n]) : null);

    // conv runs on the backend's gemm: cuBLAS when it loads, and the tiled
    // kernel (forced; the CIFAR-sized case is left out there to keep it short).
    for (const tiled of [false, true]) {
      it(`conv2d forward ± bias, backward data, backward weight ± accumulate (${tiled ? 'tiled gemm' : 'default gemm: cuBLAS if loaded'})`, () => {
        nu.cudaSetTiledGemm(tiled);
        try {
          let seed = 100;
          for (const [N, C, H, W, K, kh, kw, stride, padding, dilation] of tiled ? cases2d.slice(0, -1) : cases2d) {
            const opts = { stride, padding, dilation };
            const Ho = ops.convOutSize(H, kh, stride[0], padding[0], dilation[0]);
            const Wo = ops.convOutSize(W, kw, stride[1], padding[1], dilation[1]);
            const x = randn(N * C * H * W, ++seed), w = randn(K * C * kh * kw, ++seed, 0.3), b = randn(K, ++seed);
            const dy = randn(N * K * Ho * Wo, ++seed), dw0 = randn(K * C * kh * kw, ++seed), db0 = randn(K, ++seed);
            const [c, g] = both((dev) => {
              const tx = T(dev, x, [N, C, H, W]), tw = T(dev, w, [K, C, kh, kw]), tb = T(dev, b, [K]);
              const tdy = T(dev, dy, [N, K, Ho, Wo]);
              const wsp = ws(dev, ops.conv2dWorkspaceFloats(tx, tw, opts));
              const y = Z(dev, [N, K, Ho, Wo]), yb = Z(dev, [N, K, Ho, Wo]);
              ops.conv2dForward(tx, tw, null, y, wsp, opts);
              ops.conv2dForward(tx, tw, tb, yb, wsp, opts);
              const dx = T(dev, new Float32Array(N * C * H * W).fill(NaN), [N, C, H, W]);
              ops.conv2dBackwardData(tdy, tw, dx, wsp, opts);
              const dw = Z(dev, [K, C, kh, kw]), db = Z(dev, [K]);
              ops.conv2dBackwardWeight(tdy, tx, dw, db, wsp, opts);
              const dwa = T(dev, dw0, [K, C, kh, kw]), dba = T(dev, db0, [K]);
              ops.conv2dBackwardWeight(tdy, tx, dwa, dba, wsp, { ...opts, accumulate: true });
              const dwn = Z(dev, [K, C, kh, kw]);
              ops.conv2dBackwardWeight(tdy, tx, dwn, null, wsp, opts);
              return {
                y: y.toArray(), yb: yb.toArray(), dx: dx.toArray(), dw: dw.toArray(), dwa: dwa.toArray(), dwn: dwn.toArray(),
                db: db.toArray(), dba: dba.toArray(),
              };
            });
            const tag = `conv2d ${N}x${C}x${H}x${W} K${K} k${kh}x${kw} s${stride} p${padding} d${dilation}`;
            for (const k of ['y', 'yb', 'dx', 'dw', 'dwa', 'dwn'] as const) expectParity(g[k], c[k], 1e-4, 2e-4, `${tag} ${k}`);
            for (const k of ['db', 'dba'] as const) expectParity(g[k], c[k], 1e-5, 1e-5, `${tag} ${k}`);
          }
        } finally {
          nu.cudaSetTiledGemm(false);
        }
      });
    }

    it('conv2d with infinities and NaN in x and dy: the same outputs are non-finite, alike, on both devices', () => {
      let seed = 150;
      // [N, C, H, W, K, k, stride, padding]: the CPU's per-position, per-channel, im2col and 1×1 paths
      for (const [N, C, H, W, K, k, s, p] of [
        [2, 3, 7, 7, 8, 3, 1, 1], [2, 32, 6, 6, 32, 3, 1, 1], [2, 3, 7, 7, 8, 3, 2, 1], [2, 3, 16, 16, 4, 1, 1, 0],
      ] as const) {
        const opts = { stride: s, padding: p };
        const Ho = ops.convOutSize(H, k, s, p), Wo = ops.convOutSize(W, k, s, p);
        const x = randn(N * C * H * W, ++seed), w = randn(K * C * k * k, ++seed, 0.3), dy = randn(N * K * Ho * Wo, ++seed);
        x[0] = Infinity;
        x[H * W - 1] = -Infinity;
        x[H * W + Math.floor((H * W) / 2)] = NaN;
        const dyi = Float32Array.from(dy);
        dyi[Ho * Wo - 1] = Infinity;
        dyi[1] = -Infinity;
        const [c, g] = both((dev) => {
          const tx = T(dev, x, [N, C, H, W]), tw = T(dev, w, [K, C, k, k]);
          const n = ops.conv2dWorkspaceFloats(tx, tw, opts);
          const wsp = n > 0 ? T(dev, new Float32Array(n).fill(NaN)) : null;
          const y = Z(dev, [N, K, Ho, Wo]), dx = Z(dev, [N, C, H, W]), dw = Z(dev, [K, C, k, k]);
          ops.conv2dForward(tx, tw, null, y, wsp, opts);
          ops.conv2dBackwardWeight(T(dev, dy, [N, K, Ho, Wo]), tx, dw, null, wsp, opts);
          ops.conv2dBackwardData(T(dev, dyi, [N, K, Ho, Wo]), tw, dx, wsp, opts);
          return { y: y.toArray(), dw: dw.toArray(), dx: dx.toArray() };
        });
        for (const key of ['y', 'dw', 'dx'] as const)
          expectParity(g[key], c[key], 1e-4, 2e-4, `conv2d non-finite ${N}x${C}x${H}x${W} k${k} s${s} p${p} ${key}`);
      }
    });

    it('conv1d (the H = 1 case): stride, padding, dilation, kernel 1, N = 1', () => {
      let seed = 200;
      // [N, C, L, K, k, stride, padding, dilation]
      for (const [N, C, L, K, k, s, p, d] of [
        [3, 2, 20, 3, 5, 2, 2, 2], [2, 4, 33, 5, 3, 1, 1, 1], [1, 3, 300, 4, 1, 1, 0, 1], [4, 6, 17, 8, 7, 3, 3, 1],
      ] as const) {
        const opts = { stride: s, padding: p, dilation: d };
        const Lo = ops.convOutSize(L, k, s, p, d);
        const x = randn(N * C * L, ++seed), w = randn(K * C * k, ++seed, 0.3), b = randn(K, ++seed), dy = randn(N * K * Lo, ++seed);
        const [c, g] = both((dev) => {
          const tx = T(dev, x, [N, C, L]), tw = T(dev, w, [K, C, k]), tdy = T(dev, dy, [N, K, Lo]);
          const wsp = ws(dev, ops.conv1dWorkspaceFloats(tx, tw, opts));
          const y = Z(dev, [N, K, Lo]);
          ops.conv1dForward(tx, tw, T(dev, b, [K]), y, wsp, opts);
          const dx = Z(dev, [N, C, L]);
          ops.conv1dBackwardData(tdy, tw, dx, wsp, opts);
          const dw = Z(dev, [K, C, k]), db = Z(dev, [K]);
          ops.conv1dBackwardWeight(tdy, tx, dw, db, wsp, opts);
          return { y: y.toArray(), dx: dx.toArray(), dw: dw.toArray(), db: db.toArray() };
        });
        const tag = `conv1d ${N}x${C}x${L} K${K} k${k} s${s} p${p} d${d}`;
        for (const key of ['y', 'dx', 'dw'] as const) expectParity(g[key], c[key], 1e-4, 2e-4, `${tag} ${key}`);
        expectParity(g.db, c.db, 1e-5, 1e-5, `${tag} db`);
      }
    });
  });

  describe('BatchNorm2d and pooling', () => {
    it('BatchNorm2d train/eval forward and backward, with and without the fused ReLU, [N,C,H,W] and [N,C,L]', () => {
      let seed = 300;
      // [shape, shift, affine, relu]
      for (const [shape, shift, affine, relu] of [
        [[2, 3, 4, 5], 0, true, false], [[8, 16, 8, 8], 0, true, true], [[4, 5, 300], 1000, true, false],
        [[3, 70, 3, 3], 0, false, true], [[16, 4, 32], 3, false, false],
        [[6, 7, 5, 7], 0, true, true], [[40, 3, 7], 0, true, false], // planes of 35 and 7, 7 and 3 channels: no powers of two
      ] as Array<[number[], number, boolean, boolean]>) {
        const Cn = shape[1]!, n = shape.reduce((a, v) => a * v, 1);
        const x = randn(n, ++seed).map((v) => v + shift);
        const gamma = randu(Cn, ++seed, 0.5, 1.5), beta = randn(Cn, ++seed), dy = randn(n, ++seed);
        const rm0 = randn(Cn, ++seed), rv0 = randu(Cn, ++seed, 0.5, 2);
        const mask = randn(n, ++seed); // the backward's y: a fixed array, zeros and negatives masked
        for (let i = 0; i < n; i += 7) mask[i] = 0;
        const dg0 = randn(Cn, ++seed), db0 = randn(Cn, ++seed);
        const [c, g] = both((dev) => {
          const tx = T(dev, x, shape), y = Z(dev, shape), sm = Z(dev, [Cn]), si = Z(dev, [Cn]);
          const rm = T(dev, rm0), rv = T(dev, rv0);
          const gb = affine ? { gamma: T(dev, gamma), beta: T(dev, beta) } : {};
          ops.batchnorm2dForwardTrain(tx, y, sm, si, { ...gb, eps: 1e-5, momentum: 0.1, runningMean: rm, runningVar: rv, relu });
          const ye = Z(dev, shape);
          ops.batchnorm2dForwardEval(tx, ye, rm, rv, { ...gb, eps: 1e-5, relu });
          const out: Record<string, Float32Array> = {
            y: y.toArray(), sm: sm.toArray(), si: si.toArray(), rm: rm.toArray(), rv: rv.toArray(), ye: ye.toArray(),
          };
          // The backward from each device's own saved statistics, with and without accumulation.
          for (const accumulate of [false, true]) {
            const dx = Z(dev, shape), dgamma = T(dev, dg0), dbeta = T(dev, db0);
            ops.batchnorm2dBackward(T(dev, dy, shape), tx, sm, si, dx, {
              gamma: affine ? T(dev, gamma) : null,
              dgamma: affine ? dgamma : null,
              dbeta: affine ? dbeta : null,
              y: relu ? T(dev, mask, shape) : null,
              accumulate,
            });
            out[`dx${accumulate}`] = dx.toArray();
            out[`dg${accumulate}`] = dgamma.toArray();
            out[`db${accumulate}`] = dbeta.toArray();
          }
          return out;
        });
        for (const k of Object.keys(c)) expectParity(g[k]!, c[k]!, 1e-5, 1e-5, `bn2d ${k} [${shape}]${relu ? ' relu' : ''}`);
      }
    });

    it('max-pool (padding, overlapping windows, ties, NaN, a plane of −∞), global average pool, add+ReLU', () => {
      let seed = 400;
      // [N, C, H, W, kernel, stride, padding]
      for (const [N, C, H, W, k, s, p] of [
        [2, 3, 8, 8, 3, 2, 1], [1, 2, 5, 5, 2, 2, 0], [2, 1, 6, 9, 3, 1, 1], [2, 2, 7, 7, 3, 3, 1], [3, 4, 16, 16, 2, 2, 0],
      ] as const) {
        const opts = { kernelSize: k, stride: s, padding: p };
        const Ho = ops.convOutSize(H, k, s, p), Wo = ops.convOutSize(W, k, s, p), plane = H * W;
        const x = randn(N * C * plane, ++seed).map((v) => Math.round(2 * v)); // many ties
        x[1] = NaN;
        x[2] = NaN;
        x.fill(-Infinity, x.length - plane);
        const dy = randn(N * C * Ho * Wo, ++seed);
        const anywhere = Int32Array.from(randu(N * C * Ho * Wo, ++seed), (u) => Math.floor(u * plane));
        const [c, g] = both((dev) => {
          const y = Z(dev, [N, C, Ho, Wo]), am = Tensor.zeros([N, C, Ho, Wo], { dtype: 'int32', device: dev });
          ops.maxpool2dForward(T(dev, x, [N, C, H, W]), y, am, opts);
          const dx = T(dev, new Float32Array(N * C * plane).fill(NaN), [N, C, H, W]);
          ops.maxpool2dBackward(T(dev, dy, [N, C, Ho, Wo]), am, dx, opts);
          // argmax entries anywhere in the plane, as the binding allows (the
          // forward never writes one outside its window; CUDA adds those in a
          // second pass, so a sum may round differently)
          const dxr = Z(dev, [N, C, H, W]);
          ops.maxpool2dBackward(T(dev, dy, [N, C, Ho, Wo]), T(dev, anywhere, [N, C, Ho, Wo]), dxr, opts);
          return { y: y.toArray(), am: am.toArray(), dx: dx.toArray(), dxr: dxr.toArray() };
        });
        const tag = `maxpool ${N}x${C}x${H}x${W} k${k} s${s} p${p}`;
        for (const key of ['y', 'am', 'dx'] as const) expectBitExact(g[key], c[key], `${tag} ${key}`);
        expectParity(g.dxr, c.dxr, 1e-6, 1e-6, `${tag} dx (argmax anywhere)`);
      }
      for (const shape of [[4, 8, 7, 7], [3, 5, 1, 1], [2, 3, 1000], [64, 16, 4, 4]]) {
        const n = shape.reduce((a, v) => a * v, 1), P = shape[0]! * shape[1]!;
        const x = randn(n, ++seed), dy = randn(P, ++seed);
        const [c, g] = both((dev) => {
          const y = Z(dev, [shape[0]!, shape[1]!]), dx = Z(dev, shape);
          ops.avgpoolGlobalForward(T(dev, x, shape), y);
          ops.avgpoolGlobalBackward(T(dev, dy, [shape[0]!, shape[1]!]), dx);
          return { y: y.toArray(), dx: dx.toArray() };
        });
        expectParity(g.y, c.y, 1e-6, 1e-7, `avgpool [${shape}] y`);
        expectBitExact(g.dx, c.dx, `avgpool [${shape}] dx`);
      }
      const n = 10_001, a = randn(n, ++seed), b = randn(n, ++seed);
      a[3] = NaN;
      b[4] = NaN;
      a[5] = -0;
      b[5] = 0;
      const [c, g] = both((dev) => {
        const y = Z(dev, [n]), ta = T(dev, a);
        ops.addReluForward(ta, T(dev, b), y);
        ops.addReluForward(ta, T(dev, b), ta); // in place (y = a)
        return { y: y.toArray(), inplace: ta.toArray() };
      });
      expectBitExact(g.y, c.y, 'addRelu');
      expectBitExact(g.inplace, c.y, 'addRelu in place');
    });
  });

  describe('optim family', () => {
    const n = 50_000;
    const sizes = [1000, 0, 30_000, 7, 18_993];
    const segs = ops.makeSegments(sizes, [3, 3, 3, 0, 1]);
    const p0 = randn(n, 1), g0 = randn(n, 2, 0.1), b0 = randn(n, 3, 0.01), m0 = randn(n, 4, 0.01), v0 = randu(n, 5, 0, 0.01);
    for (const seg of [null, segs]) {
      const tag = seg ? 'segmented' : 'one segment';
      it(`SGD (plain, momentum, Nesterov), LARS, AdamW over a flat buffer (${tag})`, () => {
        const [c, g] = both((dev) => {
          const out: Record<string, Float32Array> = {};
          for (const [name, mom, nest] of [['sgd0', 0, false], ['sgd', 0.9, false], ['nesterov', 0.9, true]] as const) {
            const p = T(dev, p0), buf = T(dev, b0);
            for (let s = 0; s < 3; s++)
              ops.sgdStep(p, T(dev, g0), mom > 0 ? buf : null, { lr: 0.1, momentum: mom, weightDecay: 1e-4, nesterov: nest, segments: seg });
            out[name] = p.toArray();
            out[`${name}Buf`] = buf.toArray();
          }
          for (const nest of [false, true]) {
            const p = T(dev, p0), buf = T(dev, b0);
            for (let s = 0; s < 3; s++)
              ops.larsStep(p, T(dev, g0), buf, { lr: 0.3, momentum: 0.9, weightDecay: 1e-6, eta: 0.001, nesterov: nest, segments: seg });
            out[`lars${nest}`] = p.toArray();
            out[`lars${nest}Buf`] = buf.toArray();
          }
          const p = T(dev, p0), m = T(dev, m0), v = T(dev, v0);
          for (let s = 1; s <= 3; s++)
            ops.adamwStep(p, T(dev, g0), m, v, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05, step: s, segments: seg });
          out.adamw = p.toArray();
          out.adamwM = m.toArray();
          out.adamwV = v.toArray();
          return out;
        });
        for (const k of Object.keys(c)) expectParity(g[k]!, c[k]!, 1e-5, 1e-7, `${tag} ${k}`);
      });
    }
  });

  describe('random family', () => {
    it('Philox uniforms and input drop are bit-identical; normals and noise agree to an ulp or two', () => {
      for (const [n, seed, offset] of [[1, 0, 0], [7, 42, 3], [100_001, 2 ** 40 + 5, 2 ** 33 + 1]] as const) {
        const x = randn(n, 9);
        const [c, g] = both((dev) => {
          const u = Z(dev, [n]);
          ops.randUniform(u, { seed, offset });
          const z = Z(dev, [n]);
          ops.randNormal(z, { seed, offset, mean: 1, std: 2 });
          const tx = T(dev, x), d = Z(dev, [n]);
          ops.inputDrop(tx, d, 0.3, { seed, offset });
          ops.inputDrop(tx, tx, 0.3, { seed, offset: offset + 1 }); // in place
          const nz = Z(dev, [n]);
          ops.gaussianNoise(T(dev, x), nz, 0.5, { seed, offset });
          return { u: u.toArray(), z: z.toArray(), d: d.toArray(), dIn: tx.toArray(), nz: nz.toArray() };
        });
        for (const k of ['u', 'd', 'dIn'] as const) expectBitExact(g[k], c[k], `${k} n=${n}`);
        for (const k of ['z', 'nz'] as const) expectParity(g[k], c[k], 1e-5, 1e-6, `${k} n=${n}`);
      }
    });
  });

  describe('signal family', () => {
    // Bit-exact: the draws (Philox block i per signal) and the per-sample
    // expressions are the same functions (native/common/signal_views.h),
    // written so that no FMA contraction can change them.
    it('time shift, random time crop and amplitude scaling are bit-identical', () => {
      for (const [N, C, L, seed, offset] of [[1, 1, 1, 0, 0], [5, 3, 300, 42, 3], [64, 12, 1000, 2 ** 40 + 5, 2 ** 33 + 1], [3, 2, 4097, 7, 9]] as const) {
        const x = randn(N * C * L, 11);
        const [c, g] = both((dev) => {
          const tx = T(dev, x, [N, C, L]);
          const r: Record<string, Float32Array> = {};
          const fresh = () => Tensor.full([N, C, L], NaN, { device: dev }); // every sample must be written
          for (const maxShift of [0, 5, L + 2]) {
            const o = fresh();
            ops.timeShift(tx, o, { maxShift, seed, offset });
            r[`timeShift(${maxShift})`] = o.toArray();
          }
          for (const scale of [[0.5, 1], [0.05, 0.3], [1, 1], [0.001, 0.001]] as const) {
            const o = fresh();
            ops.randomTimeCrop(tx, o, { scale, seed, offset });
            r[`randomTimeCrop(${scale.join(', ')})`] = o.toArray();
          }
          const a = fresh();
          ops.amplitudeScale(tx, a, { range: [-0.5, 2], seed, offset });
          r['amplitudeScale(-0.5, 2)'] = a.toArray();
          const ai = T(dev, x, [N, C, L]);
          ops.amplitudeScale(ai, ai, { range: [-0.5, 2], seed, offset }); // in place
          r['amplitudeScale in place'] = ai.toArray();
          return r;
        });
        for (const k of Object.keys(c)) expectBitExact(g[k]!, c[k]!, `${k} [${N}, ${C}, ${L}]`);
        expect(c['timeShift(5)']!.some(Number.isNaN)).toBe(false);
      }
    });

    it('same seed gives the same views on both devices (library views on [N, F] rows, in place too)', () => {
      const N = 16, C = 2, L = 128;
      const x = randn(N * C * L, 12);
      const list = [
        viewsLib.timeShift(10),
        viewsLib.randomTimeCrop(),
        viewsLib.amplitudeScale(),
        viewsLib.compose(viewsLib.randomTimeCrop([0.3, 0.9]), viewsLib.timeShift(4), viewsLib.amplitudeScale(0.5, 1.5), viewsLib.inputDrop(0.1)),
      ];
      for (const v of list) {
        const [c, g] = both((dev) => {
          const out = Z(dev, [N, C * L]);
          v(T(dev, x, [N, C * L]), out, { seed: 3, offset: 2 ** 33 + 7 }, [C, L]);
          const inPlace = T(dev, x, [N, C * L]);
          v(inPlace, inPlace, { seed: 3, offset: 2 ** 33 + 7 }, [C, L]);
          return { out: out.toArray(), inPlace: inPlace.toArray() };
        });
        expectBitExact(g.out, c.out, v.describe!);
        expectBitExact(g.inPlace, c.out, `${v.describe} in place`);
        expectBitExact(c.inPlace, c.out, `${v.describe} in place (cpu)`);
      }
    });

    it('signal kernels check CUDA operands like CPU ones (device, shape, aliasing)', () => {
      const x = Z('cuda', [2, 3, 8]);
      expect(() => ops.timeShift(x, Z('cpu', [2, 3, 8]), { maxShift: 1, seed: 1 })).toThrow(DeviceError);
      expect(() => ops.randomTimeCrop(x, Z('cpu', [2, 3, 8]), { seed: 1 })).toThrow(/out: on cpu but x is on cuda/);
      expect(() => ops.amplitudeScale(Z('cpu', [2, 3, 8]), x, { seed: 1 })).toThrow(DeviceError);
      expect(() => ops.timeShift(x, Z('cuda', [2, 3, 9]), { maxShift: 1, seed: 1 })).toThrow(/out: expected shape \[2, 3, 8\]/);
      expect(() => ops.randomTimeCrop(x, x, { seed: 1 })).toThrow(/x and out overlap in memory/);
      expect(() => ops.randomTimeCrop(x, Z('cuda', [2, 3, 8]), { scale: [0, 1], seed: 1 })).toThrow(ValueError);
    });
  });

  describe('resample family', () => {
    // Bit-exact: element (i, j) draws Philox block i·F + j on both devices and
    // picks its pool row with the same integer multiply-high
    // (native/common/resample.h); the output is a copied float.
    it('SCARF resampling is bit-identical (one pool row and many, p = 0 and 1, in place)', () => {
      for (const [N, F, M, seed, offset] of [[1, 1, 1, 0, 0], [5, 7, 1, 42, 3], [64, 33, 500, 2 ** 40 + 5, 2 ** 33 + 1], [3, 5000, 7, 7, 9], [4096, 3, 100_000, 2 ** 53 - 1, 2 ** 53 - 1]] as const) {
        const x = randn(N * F, 13), pool = randn(M * F, 14, 3);
        const [c, g] = both((dev) => {
          const tx = T(dev, x, [N, F]), tp = T(dev, pool, [M, F]);
          const r: Record<string, Float32Array> = {};
          for (const p of [0, 0.6, 1]) {
            const o = Tensor.full([N, F], NaN, { device: dev }); // every element must be written
            ops.resampleFeatures(tx, tp, o, { p, seed, offset });
            r[`p ${p}`] = o.toArray();
            const io = T(dev, x, [N, F]);
            ops.resampleFeatures(io, tp, io, { p, seed, offset }); // in place
            r[`p ${p} in place`] = io.toArray();
          }
          return r;
        });
        for (const k of Object.keys(c)) expectBitExact(g[k]!, c[k]!, `${k} x [${N}, ${F}] pool [${M}, ${F}]`);
        expectBitExact(c['p 0.6 in place']!, c['p 0.6']!, 'in place (cpu)');
      }
    });

    it('same seed gives the same views on both devices (prepared library views on [N, F] rows, composed, in place too)', () => {
      const N = 32, F = 24, M = 300;
      const x = randn(N * F, 15), train = randn(M * F, 16);
      const list = [() => viewsLib.resample(0.6), () => viewsLib.compose(viewsLib.inputDrop(0.1), viewsLib.resample(0.3), viewsLib.gaussianNoise(0))];
      for (const make of list) {
        const [c, g] = both((dev) => {
          const v = make();
          v.prepare!(T(dev, train, [M, F]));
          const out = Z(dev, [N, F]);
          v(T(dev, x, [N, F]), out, { seed: 3, offset: 2 ** 33 + 7 });
          const inPlace = T(dev, x, [N, F]);
          v(inPlace, inPlace, { seed: 3, offset: 2 ** 33 + 7 });
          return { out: out.toArray(), inPlace: inPlace.toArray(), describe: v.describe! };
        });
        expectBitExact(g.out, c.out, c.describe);
        expectBitExact(g.inPlace, c.out, `${c.describe} in place`);
        expectBitExact(c.inPlace, c.out, `${c.describe} in place (cpu)`);
      }
    });

    it('checks CUDA operands like CPU ones (devices, shapes, aliasing)', () => {
      const x = Z('cuda', [4, 5]), pool = Z('cuda', [3, 5]), out = Z('cuda', [4, 5]);
      const s = { p: 0.6, seed: 1 };
      expect(() => ops.resampleFeatures(x, Z('cpu', [3, 5]), out, s)).toThrow(/pool: on cpu but x is on cuda/);
      expect(() => ops.resampleFeatures(x, pool, Z('cpu', [4, 5]), s)).toThrow(DeviceError);
      expect(() => ops.resampleFeatures(Z('cpu', [4, 5]), pool, out, s)).toThrow(DeviceError);
      expect(() => ops.resampleFeatures(x, Z('cuda', [3, 4]), out, s)).toThrow(/pool: expected shape \[\*, 5\], got \[3, 4\]/);
      expect(() => ops.resampleFeatures(x, Z('cuda', [0, 5]), out, s)).toThrow(/pool: expected at least one row/);
      const buf = Z('cuda', [60]);
      expect(() => ops.resampleFeatures(x, buf.view(0, [3, 5]), buf.view(10, [4, 5]), s)).toThrow(/pool and out overlap in memory/);
      // A view prepared with CPU rows, applied to CUDA rows: the kernel's device check.
      const v = viewsLib.resample(0.6);
      v.prepare!(Z('cpu', [3, 5]));
      expect(() => v(x, out, { seed: 1, offset: 0 })).toThrow(DeviceError);
    });
  });

  describe('color family', () => {
    // The draws are identical (same Philox words, same double-then-float
    // factor formula); the per-pixel float expressions are the same source
    // (native/common/color.h), but nvcc and the host compiler may contract
    // a·x + b into an FMA differently and the contrast mean is a double sum in
    // another order, so a pixel may differ by an ulp, which the hue step can
    // amplify to ~1e-6 (its (h/6 + 1) mod 1 rounds h to ulp(1), then ×6): atol 5e-6.
    const J = { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1, p: 0.8 };
    it('colorJitter (C = 3 and 1, clipped ranges, in place), colorAdjust over every order, randomGrayscale', () => {
      for (const [shape, j] of [
        [[8, 3, 5, 7], J],
        [[40, 3, 16, 16], { brightness: 1.5, contrast: 0.9, saturation: 2, hue: 0.5 }],
        [[5, 1, 6, 6], J],
        [[3, 3, 70, 70], { contrast: 0.8, hue: 0.3 }],
      ] as const) {
        const n = shape.reduce((a, b) => a * b, 1), N = shape[0];
        const x = randu(n, n);
        // Row i: the (i mod 24)-th of the 24 orders (contrast at every position), some with gaps.
        const perms: number[][] = [];
        const grow = (p: number[]) => (p.length === 4 ? perms.push(p) : [0, 1, 2, 3].filter((v) => !p.includes(v)).forEach((v) => grow([...p, v])));
        grow([]);
        const params = new Float32Array(N * 8);
        for (let i = 0; i < N; i++) {
          const steps = perms[i % 24]!.map((v, k) => (i % 5 === 3 && k === 2 ? -1 : v));
          params.set([0.5 + 0.1 * (i % 9), 0.3 * (i % 7), 1.9 - 0.2 * (i % 5), -0.5 + 0.07 * (i % 15), ...steps], i * 8);
        }
        const [c, g] = both((dev) => {
          const tx = T(dev, x, [...shape]), o = Z(dev, [...shape]);
          ops.colorJitter(tx, o, { ...j, seed: 42, offset: 7 });
          ops.colorJitter(tx, tx, { ...j, seed: 42, offset: 8 }); // in place
          const a = Z(dev, [...shape]);
          ops.colorAdjust(T(dev, x, [...shape]), a, T(dev, params, [N, 8]));
          const gr = Z(dev, [...shape]);
          ops.randomGrayscale(T(dev, x, [...shape]), gr, { p: 0.5, seed: 3, offset: 9 });
          return { o: o.toArray(), inPlace: tx.toArray(), a: a.toArray(), gr: gr.toArray() };
        });
        for (const k of ['o', 'inPlace', 'a'] as const) expectParity(g[k], c[k], 0, 5e-6, `${k} [${shape.join(', ')}]`);
        expectParity(g.gr, c.gr, 0, 2e-7, `grayscale [${shape.join(', ')}]`);
      }
    });

    it('same seed gives the same views on both devices: applied, factors, order, grayscale choice', () => {
      // 1×1 images of 0.5 with brightness only: out = 0.5·b (exact), or 0.5 when not applied.
      const N = 512, half = new Float32Array(N).fill(0.5);
      const [cb, gb] = both((dev) => {
        const o = Z(dev, [N, 1, 1, 1]);
        ops.colorJitter(T(dev, half, [N, 1, 1, 1]), o, { brightness: 0.5, p: 0.5, seed: 11, offset: 2 ** 33 + 1 });
        return o.toArray();
      });
      expectBitExact(gb, cb, 'brightness factors');
      expect(cb.some((v) => v === 0.5) && cb.some((v) => v !== 0.5)).toBe(true);
      // Full jitter on small RGB images: each image follows the same order on both devices
      // (another order would differ by far more than the tolerance).
      const x = randu(N * 12, 5);
      const [cj, gj] = both((dev) => {
        const o = Z(dev, [N, 3, 2, 2]);
        ops.colorJitter(T(dev, x, [N, 3, 2, 2]), o, { ...J, seed: 11, offset: 3 });
        return o.toArray();
      });
      expectParity(gj, cj, 0, 5e-6, 'jitter');
      // Grayscale: the same images turn gray (r = g = b) on both devices.
      const [cg, gg] = both((dev) => {
        const o = Z(dev, [N, 3, 2, 2]);
        ops.randomGrayscale(T(dev, x, [N, 3, 2, 2]), o, { p: 0.3, seed: 11, offset: 4 });
        return o.toArray();
      });
      const grayed = (a: Float32Array) => Array.from({ length: N }, (_, i) => a[i * 12] === a[i * 12 + 4] && a[i * 12] === a[i * 12 + 8]);
      expect(grayed(gg)).toEqual(grayed(cg));
      expectParity(gg, cg, 0, 2e-7, 'grayscale');
      // params on the device are validated through a host copy; operands on two devices are refused.
      const bad = Float32Array.from([1, 1, 1, 0.7, 3, -1, -1, -1]);
      expect(() => ops.colorAdjust(Z('cuda', [1, 3, 2, 2]), Z('cuda', [1, 3, 2, 2]), T('cuda', bad, [1, 8]))).toThrow(/params: row 0: hue shift .* is outside \[-0.5, 0.5\]/);
      expect(() => ops.colorJitter(Z('cpu', [1, 3, 2, 2]), Z('cuda', [1, 3, 2, 2]), { seed: 1 })).toThrow(DeviceError);
      expect(() => ops.colorAdjust(Z('cuda', [1, 3, 2, 2]), Z('cuda', [1, 3, 2, 2]), Z('cpu', [1, 8]))).toThrow(/params: on cpu but x is on cuda:0/);
    });
  });

  describe('elementwise family', () => {
    it('axpby, rowdot (into a strided column), rowScaleAdd, maxout, gatherRows, sum', () => {
      const N = 37, D = 130, k = 3, F = 11;
      const x = randn(N * D, 1), y0 = randn(N * D, 2), b = randn(N * D, 3);
      const mx = randn(N * F * k, 4);
      mx[5] = mx[4]!; // a tie: the first maximum wins
      const idx = Int32Array.from({ length: 50 }, (_, i) => (i * 13) % N);
      const big = randn(1_000_003, 5);
      const [c, g] = both((dev) => {
        const ty = T(dev, y0, [N, D]);
        ops.axpby(0.5, T(dev, x, [N, D]), -2, ty);
        const y1 = ty.toArray();
        ops.axpby(3, T(dev, x, [N, D]), 0, ty);
        const y2 = ty.toArray();
        const logits = Z(dev, [N, 5]);
        ops.rowdot(T(dev, x, [N, D]), T(dev, b, [N, D]), logits.view(0, [N, 1], [5, 1]), 1 / 0.2);
        const ry = T(dev, y0, [N, D]);
        ops.rowScaleAdd(ry, logits.view(0, [N, 1], [5, 1]), T(dev, b, [N, D]), -0.5);
        const my = Z(dev, [N, F]), am = Tensor.zeros([N, F], { dtype: 'int32', device: dev });
        ops.maxoutForward(T(dev, mx, [N, F * k]), my, am, k);
        const mdx = T(dev, randn(N * F * k, 6), [N, F * k]);
        ops.maxoutBackward(T(dev, randn(N * F, 7), [N, F]), am, mdx, k);
        const gat = Z(dev, [50, D]);
        ops.gatherRows(T(dev, x, [N, D]), T(dev, idx), gat);
        return {
          y1, y2, logits: logits.toArray(), rsa: ry.toArray(), my: my.toArray(), am: am.toArray(),
          mdx: mdx.toArray(), gat: gat.toArray(), sum: ops.sum(T(dev, big)), sum1: ops.sum(T(dev, Float32Array.of(2.5))),
        };
      });
      for (const key of ['y1', 'y2'] as const) expectParity(g[key], c[key], 2e-6, 1e-7, key);
      expectParity(g.logits, c.logits, 1e-4, 1e-4, 'rowdot');
      expectParity(g.rsa, c.rsa, 1e-4, 1e-4, 'rowScaleAdd');
      for (const key of ['my', 'am', 'mdx', 'gat'] as const) expectBitExact(g[key], c[key], key);
      // sum: the GPU accumulates in double (error ~1e-12); the CPU adds float
      // blocks of 4096 (error ~1e-3 absolute at n = 1e6): hold the GPU to
      // the exact sum and the CPU to its own accuracy.
      let exact = 0;
      for (const v of big) exact += v;
      expect(Math.abs(g.sum - exact)).toBeLessThan(1e-9 * (1 + Math.abs(exact)));
      expectParity([g.sum], [c.sum], 1e-6, 5e-3, 'sum');
      expect(g.sum1).toBe(2.5);
    });
  });

  describe('training on the device', () => {
    const tiny = { encoder: { kind: 'mlp' as const, hidden: [32] }, projection: [32, 16] as [number, number], seed: 3 };
    const makers: Array<[string, (device: Device) => ContrastiveMethod]> = [
      ['npair + mixup', (device) => new NPair({ ...tiny, device, mix: { kind: 'mixup' } })],
      ['simclr', (device) => new SimCLR({ ...tiny, device })],
      ['moco + mixup (queue 100, batch 32: wraps)', (device) => new MoCo({ ...tiny, device, mix: { kind: 'mixup' }, queueSize: 100 })],
      ['byol + mixup', (device) => new BYOL({ ...tiny, device, mix: { kind: 'mixup' }, predictorHidden: 16 })],
      ['npair + mixup, SCARF resample views (the pool on the device)', (device) => new NPair({ ...tiny, device, mix: { kind: 'mixup' }, views: views.resample(0.6) })],
    ];
    // Convolutional encoders on [1, 6, 6] images: a stem and one downsampling
    // BasicBlock, the layers of the ResNet presets (which test/resnet.test.ts
    // holds to PyTorch) with few enough launches for the emulation (a whole
    // resnet20 case takes it over a minute).
    const smallResNet = () =>
      new nn.Sequential(new nn.Conv2d(1, 4, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(4, { relu: true }), new nn.BasicBlock(4, 8, 2), new nn.AdaptiveAvgPool2d(1), new nn.Flatten());
    const conv = { projection: [16, 8] as [number, number], seed: 3 };
    const convMakers: Array<[string, (device: Device) => ContrastiveMethod]> = [
      ['conv encoder, npair + cutmix', (device) => new NPair({ ...conv, encoder: smallResNet(), device, mix: { kind: 'cutmix' } })],
      ['conv encoder, byol + mixup', (device) => new BYOL({ ...conv, encoder: smallResNet(), device, mix: { kind: 'mixup' }, predictorHidden: 8 })],
    ];
    const withShape = (shape: number[]) => ([n, m]: [string, (device: Device) => ContrastiveMethod]): [string, (device: Device) => ContrastiveMethod, number[]] => [n, m, shape];
    for (const [name, make, shape] of [...makers.map(withShape([20])), ...convMakers.map(withShape([1, 6, 6]))]) {
      const F = shape.reduce((a, b) => a * b, 1);
      const data = fromArray(randn(256 * F, 21), shape);
      it(`${name}: one step's loss and gradients, then 6 training steps, match the CPU`, async () => {
        const xq = randn(32 * F, 1), xk = randn(32 * F, 2);
        const mix = { perm: randperm(32, 3), lam: randu(32, 4, 0.5, 1) };
        const [c, g] = [await run('cpu'), await run('cuda')];
        expectParity([g.loss], [c.loss], 1e-4, 1e-6, `${name} loss`);
        const scale = Math.max(...Array.from(c.grads, Math.abs));
        expectParity(g.grads, c.grads, 1e-3, 1e-5 * scale, `${name} grads`);
        expectParity(g.losses, c.losses, 1e-3, 1e-5, `${name} fit losses`);
        // The collapse monitor (every step): on CUDA from the staged read-back that rides on the loss's.
        expect(g.collapses.length, `${name} collapse measured every step`).toBe(6);
        expectParity(g.collapses, c.collapses, 1e-3, 1e-5, `${name} collapse`);

        async function run(device: Device) {
          const m = make(device);
          m.build(shape);
          const { loss, grads } = m.lossAndGradients(xq, xk, name.includes('mix') ? mix : undefined);
          m.dispose();
          const f = make(device);
          // Steady state: once the first steps have sized the workspaces and
          // warmed the pool's size classes (the second step can still meet a
          // size the first one took from blocks cached at build time), later
          // steps reuse them and never call cudaMalloc.
          let mallocs = -1, steps = 0;
          const collapses: number[] = [];
          const r = await f.fit(data, {
            epochs: 1,
            batchSize: 32,
            maxSteps: 6,
            onStep: (e) => {
              if (device === 'cuda' && ++steps === 2) mallocs = nu.cudaMemoryStats(0).mallocs;
              if (e.collapse !== undefined) collapses.push(e.collapse);
            },
          });
          if (device === 'cuda') expect(nu.cudaMemoryStats(0).mallocs, `${name}: cudaMalloc after the second step`).toBe(mallocs);
          f.dispose();
          return { loss, grads: Float32Array.from(grads), losses: r.losses, collapses };
        }
      }, 300_000); // a conv case takes the emulation ~50 s on 2 Zen 5 cores (many small launches)
    }
  });

  describe('host synchronizations (cudaStats)', () => {
    it('value checks: tensors the addon uploaded cost no synchronization; others are read back (one each) and still checked', () => {
      const dev: Device = 'cuda';
      const x = T(dev, randn(8 * 3, 5), [8, 3]), out = Z(dev, [8, 3]);
      const perm = T(dev, randperm(8, 6)), lam = T(dev, randu(8, 7));
      const logits = T(dev, randn(8 * 12, 8), [8, 12]);
      resetCudaStats();
      ops.mixup(x, out, perm, lam);
      ops.gatherRows(x, T(dev, Int32Array.from([7, 0, 3])), Z(dev, [3, 3]));
      const am = Tensor.zeros([8, 3], { dtype: 'int32', device: dev });
      ops.maxoutForward(T(dev, randn(8 * 6, 9), [8, 6]), Z(dev, [8, 3]), am, 2);
      ops.maxoutBackward(T(dev, randn(8 * 3, 10), [8, 3]), am, Z(dev, [8, 6]), 2);
      expect(cudaStats().syncs, 'uploads, kernels and checks settled by content facts').toBe(0);
      ops.mixedCrossEntropy(logits, { perm, lam, scale: 1 / 8 });
      ops.mixedCrossEntropy(logits, { targets: Tensor.zeros([8], { dtype: 'int32', device: dev }), colOffset: 4 });
      expect(cudaStats().syncs, 'two losses: their two read-backs').toBe(2);
      // Written by a kernel (maxout's argmax, all 0 here): no facts, so the check reads it, and rejects it.
      ops.maxoutForward(Z(dev, [1, 16]), Z(dev, [1, 8]), perm.reshape([1, 8]), 2);
      resetCudaStats();
      expect(() => ops.mixup(x, out, perm, lam)).toThrow(/perm: value 0 appears twice/);
      expect(cudaStats().syncs, 'the check read perm back').toBe(1);
      const st = resetCudaStats();
      expect(st.downloads).toBe(1);
      expect(st.downloadBytes).toBe(32);
    });

    // Every method and kind of encoder trained through fit on the device:
    // each step makes exactly one host synchronization, its loss's
    // read-back. The value checks are settled by content facts, uploads take
    // free staging slots, and the collapse monitor's embeddings (read every
    // step by default) ride on the loss's read-back. Steps counted from the
    // first (fit's set-up: data upload, parameters, views, is in it too).
    const F = 20;
    const mlp = { encoder: { kind: 'mlp' as const, hidden: [32] }, projection: [32, 16] as [number, number], seed: 5 };
    const tab = { encoder: { kind: 'tabular' as const, scale: 1 / 128 }, projection: [16, 8] as [number, number], seed: 5 };
    const r20 = { encoder: { kind: 'resnet20' as const, width: 1 / 16 }, projection: [8, 8] as [number, number], seed: 5 };
    const r1d = { encoder: { kind: 'resnet1d' as const, width: 1 / 16 }, projection: [8, 8] as [number, number], seed: 5 };
    const signalViews = viewsLib.compose(viewsLib.randomTimeCrop([0.6, 1]), viewsLib.timeShift(2), viewsLib.amplitudeScale(0.8, 1.2));
    const imageViews = viewsLib.compose(
      viewsLib.randomResizedCrop([0.3, 1], [3 / 4, 4 / 3], 0.5),
      viewsLib.colorJitter({ brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1, p: 0.8 }),
      viewsLib.randomGrayscale(0.2),
    );
    const syncCases: Array<[string, (device: Device) => ContrastiveMethod, number[], number]> = [
      ['npair + mixup, mlp, input-drop views', (device) => new NPair({ ...mlp, device, mix: { kind: 'mixup' }, views: views.inputDrop(0.2) }), [F], 3],
      ['simclr, mlp, gaussian-noise views, LARS', (device) => new SimCLR({ ...mlp, device, views: views.gaussianNoise(0.1), optimizer: { kind: 'lars', lr: 0.1 } }), [F], 3],
      ['moco + mixup, mlp (queue 32)', (device) => new MoCo({ ...mlp, device, mix: { kind: 'mixup' }, queueSize: 32 }), [F], 3],
      ['moco baseline, mlp (pair logits, constant targets)', (device) => new MoCo({ ...mlp, device, queueSize: 32 }), [F], 3],
      ['byol + mixup, mlp, AdamW', (device) => new BYOL({ ...mlp, device, mix: { kind: 'mixup' }, predictorHidden: 16, optimizer: { kind: 'adamw', lr: 1e-3 } }), [F], 3],
      ['simsiam + mixup (symmetric), mlp', (device) => new SimSiam({ ...mlp, device, mix: { kind: 'mixup' }, predictorHidden: 8 }), [F], 3],
      ['npair + mixup, tabular (maxout), SCARF resample views', (device) => new NPair({ ...tab, device, mix: { kind: 'mixup' }, views: views.resample(0.6) }), [F], 3],
      ['npair + cutmix, resnet20, image views', (device) => new NPair({ ...r20, device, mix: { kind: 'cutmix' }, views: imageViews }), [3, 8, 8], 2],
      ['byol + mixup, resnet20, crop + flip', (device) => new BYOL({ ...r20, device, mix: { kind: 'mixup' }, predictorHidden: 8, views: views.randomCropFlip(1) }), [3, 8, 8], 2],
      ['moco + mixup, resnet1d, signal views', (device) => new MoCo({ ...r1d, device, mix: { kind: 'mixup' }, queueSize: 32, views: signalViews }), [2, 16], 2],
    ];
    for (const [name, make, shape, steps] of syncCases) {
      it(`${name}: one host synchronization per step (the loss)`, async () => {
        const n = shape.reduce((a, b) => a * b, 1);
        const data = fromArray(randu(64 * n, 31), shape);
        const m = make('cuda');
        const perStep: number[] = [];
        const losses: number[] = [];
        resetCudaStats();
        let last = 0;
        const r = await m.fit(data, {
          epochs: 1,
          batchSize: 16,
          maxSteps: steps,
          onStep: (e) => {
            const now = cudaStats().syncs;
            perStep.push(now - last);
            last = now;
            losses.push(e.loss);
            expect(e.collapse, `${name}: the collapse monitor ran`).toBeGreaterThan(0);
          },
        });
        m.dispose();
        expect(r.steps).toBe(steps);
        expect(losses.every(Number.isFinite)).toBe(true);
        expect(perStep, `${name}: host synchronizations per step`).toEqual(Array<number>(steps).fill(1));
      }, 300_000);
    }
  });

  it('GPU work is asynchronous until a host read: many launches, then one toArray', () => {
    const t = Z('cuda', [1 << 16]);
    for (let i = 0; i < 200; i++) ops.axpby(1, T('cuda', new Float32Array(1 << 16).fill(1)), 1, t);
    nu.cudaSynchronize(0);
    expect(t.toArray().every((v) => v === 200)).toBe(true);
  });
});

// These run everywhere: they are the contract for machines without a GPU.
describe('CUDA availability (always runs)', () => {
  it('info().cuda describes the build and the devices; creating a cuda tensor works or throws a helpful DeviceError', () => {
    const c = info().cuda;
    expect(typeof c.compiled).toBe('boolean');
    expect(Array.isArray(c.devices)).toBe(true);
    if (cudaAvailable()) {
      expect(c.reason).toBeUndefined();
      const t = Tensor.zeros([3], { device: 'cuda' });
      expect(t.device).toBe('cuda:0');
      expect(Array.from(t.toArray())).toEqual([0, 0, 0]);
      return;
    }
    expect(typeof c.reason).toBe('string');
    expect(c.reason!.length).toBeGreaterThan(10);
    if (!c.compiled) expect(c.reason).toMatch(/no CUDA backend/);
    let err: unknown;
    try {
      Tensor.zeros([3], { device: 'cuda' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DeviceError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/^device: 'cuda:0' is not available: /);
    expect(msg).toContain(c.reason!);
    expect(() => Tensor.from(Float32Array.of(1, 2), [2], { device: 'cuda:1' })).toThrow(DeviceError);
  });

  // cuBLAS allocates outside imix's pool; when that fails (ALLOC_FAILED) imix
  // gives its cache back and retries once. Only the fake cuBLAS of the
  // emulated build can be made to fail: each case is a fresh process, since
  // the handle is made once per process.
  const fakeCublas = info().cuda.emulated && /fakecublas/.test(process.env.IMIX_CUBLAS ?? '');
  it.skipIf(!fakeCublas)('gemm through cuBLAS: an ALLOC_FAILED from cublasCreate or cublasSgemm frees the cache and retries once', () => {
    const script = `
      const imix = require(${JSON.stringify(path.resolve(__dirname, '../../dist/lib/index.js'))});
      const { native } = require(${JSON.stringify(path.resolve(__dirname, '../../dist/lib/native.js'))});
      const a = Float32Array.from({ length: 12 }, (_, i) => i - 5), b = Float32Array.from({ length: 12 }, (_, i) => 2 * i - 7);
      imix.Tensor.zeros([1 << 16], { device: 'cuda' }).dispose(); // something in the cache
      const run = (device) => {
        const c = imix.Tensor.zeros([3, 3], { device });
        imix.ops.gemm(imix.Tensor.from(a, [3, 4], { device }), imix.Tensor.from(b, [3, 4], { device }), c, { transB: true });
        return Array.from(c.toArray());
      };
      const gpu = run('cuda'), cpu = run('cpu');
      imix.Tensor.zeros([1 << 16], { device: 'cuda' }).dispose();
      const again = run('cuda');
      console.log(JSON.stringify({ gpu, cpu, again, gemm: imix.info().cuda.gemm, detail: imix.info().cuda.gemmDetail, frees: native.cudaMemoryStats(0).frees }));`;
    const once = (failures: number) => {
      const r = spawnSync(process.execPath, ['-e', script], {
        env: { ...process.env, IMIX_FAKE_CUBLAS_ALLOC_FAILURES: String(failures) },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout.trim().split('\n').pop()!);
    };
    // One failure of each: both retries succeed, cuBLAS stays in use.
    const one = once(1);
    expect(one.gpu).toEqual(one.cpu);
    expect(one.again).toEqual(one.cpu);
    expect(one.gemm).toBe('cublas');
    expect(one.frees).toBeGreaterThanOrEqual(1); // the cached block went back to the driver
    // cublasCreate fails twice: the device falls back to the tiled kernel, and says why.
    const two = once(2);
    expect(two.gpu).toEqual(two.cpu);
    expect(two.gemm).toBe('tiled');
    expect(two.detail).toMatch(/cublasCreate failed: CUBLAS_STATUS_ALLOC_FAILED/);
  });

  it('a device index past the last device is a DeviceError naming the device', () => {
    expect(() => Tensor.zeros([1], { device: 'cuda:7' })).toThrow(DeviceError);
    expect(() => Tensor.zeros([1], { device: 'cuda:7' })).toThrow(/device: 'cuda:7' is not available/);
    expect(() => Tensor.zeros([1], { device: 'cuda:x' as Device })).toThrow(/malformed device/);
  });
});

function randpermT(dev: Device, n: number): Tensor<'int32'> {
  return T(dev, randperm(n, n + 100));
}
