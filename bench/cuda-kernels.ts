/**
 * CUDA kernel benchmark (`npm run bench:cuda`): for each kernel family, the
 * time per call on the GPU, the achieved bandwidth (GB/s of the minimum
 * traffic the kernel must move) or TFLOP/s (gemm), that bandwidth as a
 * fraction of a measured device-to-device copy, and the same work in
 * PyTorch on the same GPU (bench/cuda_kernels_ref.py on /usr/bin/python3 or
 * $IMIX_PYTHON) when torch has CUDA; otherwise "reference unavailable".
 *
 * Without a usable CUDA device it prints why and exits 0.
 * IMIX_BENCH_SMOKE=1 divides every size by ~64 and takes one sample: a quick
 * check that every case runs (CI runs it on the emulated CUDA build).
 * IMIX_BENCH_FILTER=<regex> runs only the cases whose name matches (e.g.
 * `conv|batchnorm2d|pool` for the convolutional families).
 * IMIX_BENCH_OUT=<folder> also writes the results there as cuda-kernels.json
 * and cuda-kernels.md (scripts/device-check.sh: $OUT): once imix's rows are
 * measured, before PyTorch starts (so a run cut short still has them), and
 * again with PyTorch's times. IMIX_BENCH_REF_TIMEOUT_S bounds the PyTorch
 * run (default 900 s), and so does IMIX_BENCH_DEADLINE (Unix seconds: the
 * PyTorch run ends 10 s before it; scripts/device-check.sh sets it to the end
 * of its bench stage).
 *
 * imix runs first, PyTorch second (a child process, after imix's cached
 * device memory went back to the driver). A case that throws is reported
 * with its error and the others still run.
 *
 * Timing: each sample issues `inner` calls back to back and then waits for
 * the stream (cudaSynchronize), so launch overhead is amortized as in a
 * training step; the median over samples is reported. Ops that return a
 * host number (mixed CE, sum) synchronize on every call, by design.
 * @module
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tensor, cudaAvailable, info, ops } from '../lib/index';
import { native } from '../lib/native';
import { benchFile, fill, medianOf } from './common';

interface CudaUtils {
  cudaSynchronize(device?: number): void;
  cudaEmptyCache(device?: number): void;
  cudaSetTiledGemm(on: boolean): string;
}
const nu = native as unknown as CudaUtils;

/** A benchmark case: what to run, how much it moves or computes, and its PyTorch twin. */
interface Case {
  name: string;
  shape: string;
  /** Minimum bytes moved (read + write) per call, or flops for gemm. */
  bytes?: number;
  flops?: number;
  /** Calls per timed sample. */
  inner: number;
  setup: () => { run: () => void; dispose: () => void };
  /** Key and parameters for bench/cuda_kernels_ref.py. */
  ref?: { op: string; [k: string]: unknown };
}

interface Row {
  name: string;
  shape: string;
  ms: number;
  rate: string;
  ofCopy: string;
  refMs: number | null;
  /** Why the case could not be measured (then ms is NaN). */
  error?: string;
}

const dev = 'cuda' as const;
const SMOKE = process.env.IMIX_BENCH_SMOKE === '1';
/** A size, or a small stand-in for it in smoke mode. */
const sz = (v: number, min = 4) => (SMOKE ? Math.max(min, Math.ceil(v / 64)) : v);
const F = (n: number, seed: number, scale = 1, shape?: number[]) => Tensor.from(fill(n, seed, scale), shape ?? [n], { device: dev });
const Zc = (shape: number[]) => Tensor.zeros(shape, { device: dev });
function perm(N: number): Tensor<'int32'> {
  const p = Int32Array.from({ length: N }, (_, i) => (i * 7919) % N);
  // 7919 is prime; for N not a multiple of it this is a permutation
  return Tensor.from(p, [N], { device: dev });
}
const disposeAll = (...ts: Tensor[]) => () => ts.forEach((t) => t.dispose());

function median(run: () => void, inner: number, samples: number): number {
  if (SMOKE) [inner, samples] = [1, 1];
  for (let i = 0; i < 2; i++) {
    run();
    nu.cudaSynchronize(0);
  }
  const t: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < inner; i++) run();
    nu.cudaSynchronize(0);
    t.push(Number(process.hrtime.bigint() - t0) / 1e6 / inner);
  }
  return medianOf(t);
}

function cases(): Case[] {
  const out: Case[] = [];
  // gemm: the encoder's big matmuls and a square one; cuBLAS (if loaded) and the tiled kernel.
  for (const tiled of [false, true])
    for (const [M, N, K] of [[sz(4096), sz(4096), sz(4096)], [sz(512), sz(2048), sz(784)], [sz(512), sz(512), sz(2048)]])
      out.push({
        name: `gemm NT${tiled ? ' (tiled kernel)' : ''}`,
        shape: `${M}x${N}x${K}`,
        flops: 2 * M * N * K,
        inner: M * N * K > 1e10 ? 5 : 20,
        setup: () => {
          nu.cudaSetTiledGemm(tiled);
          const A = F(M * K, 1, 1, [M, K]), B = F(N * K, 2, 1, [N, K]), C = Zc([M, N]);
          return {
            run: () => ops.gemm(A, B, C, { transB: true }),
            dispose: () => {
              nu.cudaSetTiledGemm(false);
              disposeAll(A, B, C)();
            },
          };
        },
        ref: tiled ? undefined : { op: 'gemm_nt', M, N, K },
      });
  for (const [N, M] of [[sz(256), sz(256 + 4096)], [sz(512), sz(512 + 16384)], [sz(256), SMOKE ? 9000 : 256 + 65536]])
    out.push({
      name: 'mixed cross-entropy (i-Mix)',
      shape: `${N}x${M}`,
      bytes: 2 * N * M * 4,
      inner: 20,
      setup: () => {
        const L = F(N * M, 3, 6, [N, M]), p = perm(N), lam = Tensor.from(fill(N, 4).map((v) => 0.75 + 0.25 * v), [N], { device: dev });
        return { run: () => void ops.mixedCrossEntropy(L, { perm: p, lam, scale: 1 / N }), dispose: disposeAll(L, p, lam) };
      },
      ref: { op: 'mixed_ce', N, M },
    });
  {
    const [N, D] = [sz(4096), sz(256)];
    out.push({
      name: 'l2 normalize forward',
      shape: `${N}x${D}`,
      bytes: 2 * N * D * 4,
      inner: 50,
      setup: () => {
        const x = F(N * D, 5, 1, [N, D]), y = Zc([N, D]), nr = Zc([N]);
        return { run: () => ops.l2Normalize(x, y, nr), dispose: disposeAll(x, y, nr) };
      },
      ref: { op: 'normalize', N, D },
    });
  }
  const n = sz(25_000_000); // ~ a ResNet-50's parameter count
  out.push({
    name: 'EMA (flat buffer)',
    shape: `${n}`,
    bytes: 3 * n * 4,
    inner: 20,
    setup: () => {
      const t = F(n, 6), s = F(n, 7);
      return { run: () => ops.ema(t, s, 0.996), dispose: disposeAll(t, s) };
    },
    ref: { op: 'ema', n },
  });
  {
    const [N, Fd] = [sz(512), 3 * 32 * 32];
    out.push({
      name: 'mixup (per-row λ)',
      shape: `${N}x${Fd}`,
      bytes: 3 * N * Fd * 4,
      inner: 50,
      setup: () => {
        const x = F(N * Fd, 8, 1, [N, Fd]), o = Zc([N, Fd]), p = perm(N), lam = Tensor.from(fill(N, 9).map((v) => 0.75 + 0.25 * v), [N], { device: dev });
        return { run: () => ops.mixup(x, o, p, lam), dispose: disposeAll(x, o, p, lam) };
      },
      ref: { op: 'mixup', N, F: Fd },
    });
    out.push({
      name: 'cutmix',
      shape: `${N}x3x32x32`,
      bytes: 2 * N * Fd * 4,
      inner: 50,
      setup: () => {
        const x = F(N * Fd, 10, 1, [N, 3, 32, 32]), o = Zc([N, 3, 32, 32]), p = perm(N);
        return { run: () => ops.cutmix(x, o, p, { y0: 8, x0: 4, y1: 24, x1: 28 }), dispose: disposeAll(x, o, p) };
      },
    });
  }
  {
    const [N, C] = [sz(4096), sz(2048)];
    out.push({
      name: 'batchnorm1d forward (train)',
      shape: `${N}x${C}`,
      bytes: 2 * N * C * 4,
      inner: 20,
      setup: () => {
        const x = F(N * C, 11, 1, [N, C]), y = Zc([N, C]), sm = Zc([C]), si = Zc([C]);
        const g = Tensor.full([C], 1, { device: dev }), b = Zc([C]), rm = Zc([C]), rv = Tensor.full([C], 1, { device: dev });
        return {
          run: () => ops.batchnorm1dForwardTrain(x, y, sm, si, { gamma: g, beta: b, runningMean: rm, runningVar: rv }),
          dispose: disposeAll(x, y, sm, si, g, b, rm, rv),
        };
      },
      ref: { op: 'batchnorm', N, C },
    });
    out.push({
      name: 'batchnorm1d backward',
      shape: `${N}x${C}`,
      bytes: 3 * N * C * 4,
      inner: 20,
      setup: () => {
        const x = F(N * C, 12, 1, [N, C]), dy = F(N * C, 13, 1, [N, C]), dx = Zc([N, C]);
        const sm = Zc([C]), si = Tensor.full([C], 1, { device: dev }), g = Tensor.full([C], 1, { device: dev });
        const dg = Zc([C]), db = Zc([C]);
        return {
          run: () => ops.batchnorm1dBackward(dy, x, sm, si, dx, { gamma: g, dgamma: dg, dbeta: db }),
          dispose: disposeAll(x, dy, dx, sm, si, g, dg, db),
        };
      },
    });
  }
  const half = Math.floor(n / 2), mid = Math.min(1000, Math.floor(n / 4));
  const segs = ops.makeSegments([half, mid, n - half - mid], [3, 0, 3]);
  out.push({
    name: 'SGD momentum (segmented)',
    shape: `${n}`,
    bytes: 5 * n * 4,
    inner: 20,
    setup: () => {
      const p = F(n, 14), g = F(n, 15, 0.01), b = Zc([n]);
      return { run: () => ops.sgdStep(p, g, b, { lr: 0.1, momentum: 0.9, weightDecay: 1e-4, segments: segs }), dispose: disposeAll(p, g, b) };
    },
    ref: { op: 'sgd', n },
  });
  out.push({
    name: 'LARS (segmented)',
    shape: `${n}`,
    bytes: 7 * n * 4, // norms pass reads p, g; update reads p, g, buf, writes p, buf
    inner: 20,
    setup: () => {
      const p = F(n, 16), g = F(n, 17, 0.01), b = Zc([n]);
      return { run: () => ops.larsStep(p, g, b, { lr: 0.1, momentum: 0.9, weightDecay: 1e-6, segments: segs }), dispose: disposeAll(p, g, b) };
    },
  });
  out.push({
    name: 'AdamW (segmented)',
    shape: `${n}`,
    bytes: 7 * n * 4,
    inner: 20,
    setup: () => {
      const p = F(n, 18), g = F(n, 19, 0.01), m = Zc([n]), v = Zc([n]);
      let step = 0;
      return {
        run: () => ops.adamwStep(p, g, m, v, { lr: 1e-3, weightDecay: 0.05, step: ++step, segments: segs }),
        dispose: disposeAll(p, g, m, v),
      };
    },
    ref: { op: 'adamw', n },
  });
  out.push({
    name: 'randNormal (Philox)',
    shape: `${n}`,
    bytes: n * 4,
    inner: 20,
    setup: () => {
      const o = Zc([n]);
      return { run: () => ops.randNormal(o, { seed: 1, offset: 2 }), dispose: disposeAll(o) };
    },
    ref: { op: 'randn', n },
  });
  out.push({
    name: 'inputDrop (Philox)',
    shape: `${n}`,
    bytes: 2 * n * 4,
    inner: 20,
    setup: () => {
      const x = F(n, 20), o = Zc([n]);
      return { run: () => ops.inputDrop(x, o, 0.2, { seed: 1, offset: 3 }), dispose: disposeAll(x, o) };
    },
    ref: { op: 'input_drop', n },
  });
  out.push({
    name: 'sum (double accumulation)',
    shape: `${n}`,
    bytes: n * 4,
    inner: 10,
    setup: () => {
      const x = F(n, 21);
      return { run: () => void ops.sum(x), dispose: disposeAll(x) };
    },
    ref: { op: 'sum', n },
  });
  {
    const [R, B, Fd] = [sz(60000), sz(512), 784];
    out.push({
      name: 'gatherRows (batching)',
      shape: `${B} of ${R}x${Fd}`,
      bytes: 2 * B * Fd * 4,
      inner: 50,
      setup: () => {
        const src = F(R * Fd, 22, 1, [R, Fd]), o = Zc([B, Fd]);
        const idx = Tensor.from(Int32Array.from({ length: B }, (_, i) => (i * 104729) % R), [B], { device: dev });
        return { run: () => ops.gatherRows(src, idx, o), dispose: disposeAll(src, o, idx) };
      },
      ref: { op: 'gather', R, B, F: Fd },
    });
  }
  {
    const [K, D, N] = [sz(65536), 128, sz(256)];
    out.push({
      name: 'queue enqueue (wrapping)',
      shape: `${N}x${D} into ${K}`,
      bytes: 2 * N * D * 4,
      inner: 50,
      setup: () => {
        const q = Zc([K, D]), k = F(N * D, 23, 1, [N, D]);
        let ptr = K - N / 2;
        return { run: () => void (ptr = ops.queueEnqueue(q, k, ptr)), dispose: disposeAll(q, k) };
      },
    });
  }
  convCases(out);
  return out;
}

/**
 * The convolutional families at CIFAR ResNet-18 sizes (stage 1 and stage 4
 * 3×3 convs, a 1-d conv), BatchNorm2d with the fused ReLU, max-pool 3×3/2
 * with padding (a ResNet stem's) and the global average pool.
 */
function convCases(out: Case[]): void {
  const N = sz(128, 2);
  for (const [C, K, H] of [[sz(64, 4), sz(64, 4), sz(32, 8)], [sz(512, 8), sz(512, 8), 4]] as const) {
    const opts = { padding: 1 };
    const shape = `${N}x${C}x${H}x${H} K${K} 3x3 p1`;
    const flops = 2 * N * K * H * H * C * 9;
    const ref = { N, C, K, H, W: H, k: 3, stride: 1, padding: 1 };
    const make = () => {
      const x = F(N * C * H * H, 30, 1, [N, C, H, H]), w = F(K * C * 9, 31, 0.05, [K, C, 3, 3]), b = F(K, 32, 0.1);
      const y = Zc([N, K, H, H]), dy = F(N * K * H * H, 33, 1, [N, K, H, H]), dx = Zc([N, C, H, H]);
      const dw = Zc([K, C, 3, 3]), db = Zc([K]);
      const nws = ops.conv2dWorkspaceFloats(x, w, opts);
      const ws = nws > 0 ? Zc([nws]) : null;
      const all = [x, w, b, y, dy, dx, dw, db, ...(ws ? [ws] : [])];
      return { x, w, b, y, dy, dx, dw, db, ws, dispose: disposeAll(...all) };
    };
    out.push({
      name: 'conv2d forward (+bias)',
      shape,
      flops,
      inner: 10,
      setup: () => {
        const t = make();
        return { run: () => ops.conv2dForward(t.x, t.w, t.b, t.y, t.ws, opts), dispose: t.dispose };
      },
      ref: { op: 'conv2d_fwd', ...ref },
    });
    out.push({
      name: 'conv2d backward data',
      shape,
      flops,
      inner: 10,
      setup: () => {
        const t = make();
        return { run: () => ops.conv2dBackwardData(t.dy, t.w, t.dx, t.ws, opts), dispose: t.dispose };
      },
      ref: { op: 'conv2d_bwd_data', ...ref },
    });
    out.push({
      name: 'conv2d backward weight (+db)',
      shape,
      flops,
      inner: 10,
      setup: () => {
        const t = make();
        return { run: () => ops.conv2dBackwardWeight(t.dy, t.x, t.dw, t.db, t.ws, opts), dispose: t.dispose };
      },
      ref: { op: 'conv2d_bwd_weight', ...ref },
    });
  }
  {
    const [C, K, L, k] = [sz(64, 4), sz(64, 4), sz(1024, 16), 7];
    const opts = { padding: 3 };
    out.push({
      name: 'conv1d forward (+bias)',
      shape: `${N}x${C}x${L} K${K} k${k} p3`,
      flops: 2 * N * K * L * C * k,
      inner: 10,
      setup: () => {
        const x = F(N * C * L, 34, 1, [N, C, L]), w = F(K * C * k, 35, 0.05, [K, C, k]), b = F(K, 36, 0.1);
        const y = Zc([N, K, L]);
        const nws = ops.conv1dWorkspaceFloats(x, w, opts);
        const ws = nws > 0 ? Zc([nws]) : null;
        return {
          run: () => ops.conv1dForward(x, w, b, y, ws, opts),
          dispose: disposeAll(x, w, b, y, ...(ws ? [ws] : [])),
        };
      },
      ref: { op: 'conv1d_fwd', N, C, K, L, k, padding: 3 },
    });
  }
  {
    const [C, H] = [sz(64, 4), sz(32, 8)];
    const n = N * C * H * H, shape = [N, C, H, H];
    const bnSetup = () => {
      const x = F(n, 37, 1, shape), y = Zc(shape), sm = Zc([C]), si = Zc([C]);
      const g = Tensor.full([C], 1, { device: dev }), b = Zc([C]), rm = Zc([C]), rv = Tensor.full([C], 1, { device: dev });
      return { x, y, sm, si, g, b, rm, rv };
    };
    out.push({
      name: 'batchnorm2d forward (train, +ReLU)',
      shape: shape.join('x'),
      bytes: 2 * n * 4,
      inner: 20,
      setup: () => {
        const t = bnSetup();
        const o = { gamma: t.g, beta: t.b, runningMean: t.rm, runningVar: t.rv, relu: true };
        return {
          run: () => ops.batchnorm2dForwardTrain(t.x, t.y, t.sm, t.si, o),
          dispose: disposeAll(t.x, t.y, t.sm, t.si, t.g, t.b, t.rm, t.rv),
        };
      },
      ref: { op: 'batchnorm2d_fwd', N, C, H },
    });
    out.push({
      name: 'batchnorm2d backward (+ReLU mask)',
      shape: shape.join('x'),
      bytes: 4 * n * 4,
      inner: 20,
      setup: () => {
        const t = bnSetup();
        ops.batchnorm2dForwardTrain(t.x, t.y, t.sm, t.si, { gamma: t.g, beta: t.b, relu: true });
        const dy = F(n, 38, 1, shape), dx = Zc(shape), dg = Zc([C]), db = Zc([C]);
        return {
          run: () => ops.batchnorm2dBackward(dy, t.x, t.sm, t.si, dx, { gamma: t.g, dgamma: dg, dbeta: db, y: t.y }),
          dispose: disposeAll(t.x, t.y, t.sm, t.si, t.g, t.b, t.rm, t.rv, dy, dx, dg, db),
        };
      },
      ref: { op: 'batchnorm2d_bwd', N, C, H },
    });
  }
  {
    const [C, H] = [sz(64, 4), sz(56, 8)];
    const opts = { kernelSize: 3, stride: 2, padding: 1 };
    const Ho = ops.convOutSize(H, 3, 2, 1);
    const nx = N * C * H * H, ny = N * C * Ho * Ho;
    const poolSetup = () => {
      const x = F(nx, 39, 1, [N, C, H, H]), y = Zc([N, C, Ho, Ho]);
      const am = Tensor.zeros([N, C, Ho, Ho], { dtype: 'int32', device: dev });
      return { x, y, am };
    };
    out.push({
      name: 'maxpool2d forward',
      shape: `${N}x${C}x${H}x${H} 3x3/2 p1`,
      bytes: (nx + 2 * ny) * 4,
      inner: 20,
      setup: () => {
        const t = poolSetup();
        return { run: () => ops.maxpool2dForward(t.x, t.y, t.am, opts), dispose: disposeAll(t.x, t.y, t.am) };
      },
      ref: { op: 'maxpool_fwd', N, C, H },
    });
    out.push({
      name: 'maxpool2d backward',
      shape: `${N}x${C}x${H}x${H} 3x3/2 p1`,
      bytes: (nx + 2 * ny) * 4,
      inner: 20,
      setup: () => {
        const t = poolSetup();
        ops.maxpool2dForward(t.x, t.y, t.am, opts);
        const dy = F(ny, 40, 1, [N, C, Ho, Ho]), dx = Zc([N, C, H, H]);
        return { run: () => ops.maxpool2dBackward(dy, t.am, dx, opts), dispose: disposeAll(t.x, t.y, t.am, dy, dx) };
      },
      ref: { op: 'maxpool_bwd', N, C, H },
    });
  }
  {
    const [C, H] = [sz(512, 8), 4];
    const n = N * C * H * H;
    out.push({
      name: 'avgpool global forward',
      shape: `${N}x${C}x${H}x${H}`,
      bytes: (n + N * C) * 4,
      inner: 50,
      setup: () => {
        const x = F(n, 41, 1, [N, C, H, H]), y = Zc([N, C]);
        return { run: () => ops.avgpoolGlobalForward(x, y), dispose: disposeAll(x, y) };
      },
      ref: { op: 'avgpool', N, C, H },
    });
  }
}

interface RefOut {
  available: boolean;
  reason?: string;
  torch?: string;
  device?: string;
  results?: Record<string, number>;
}

function torchReference(all: Case[]): RefOut {
  const python = process.env.IMIX_PYTHON ?? '/usr/bin/python3';
  const file = benchFile('cuda_kernels_ref.py');
  const jobs = all.filter((c) => c.ref).map((c) => ({ key: `${c.name}|${c.shape}`, ...c.ref }));
  let timeoutS = Number(process.env.IMIX_BENCH_REF_TIMEOUT_S ?? 900);
  if (!(timeoutS > 0)) timeoutS = 900;
  const deadline = Number(process.env.IMIX_BENCH_DEADLINE);
  if (Number.isFinite(deadline)) timeoutS = Math.min(timeoutS, deadline - 10 - Date.now() / 1000);
  if (timeoutS < 5) return { available: false, reason: 'no time left for PyTorch before IMIX_BENCH_DEADLINE' };
  const r = spawnSync(python, [file, JSON.stringify({ jobs, reps: 20 })], { encoding: 'utf8', timeout: Math.round(timeoutS * 1000) });
  if (r.error) return { available: false, reason: `${python}: ${r.error.message}` };
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as RefOut;
  } catch {
    return { available: false, reason: (r.stderr || 'no output').trim().split('\n').pop() };
  }
}

function table(head: string[], lines: string[][]): string {
  const w = head.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c]!.length)));
  const fmt = (l: string[]) => l.map((s, c) => (c < 2 ? s.padEnd(w[c]!) : s.padStart(w[c]!))).join('  ');
  return [fmt(head), ...lines.map(fmt)].join('\n');
}

function main(): void {
  const i = info();
  if (!cudaAvailable()) {
    console.log(`bench:cuda: no usable CUDA device, nothing to measure (${i.cuda.reason ?? 'unknown reason'})`);
    return;
  }
  const d = i.cuda.devices[0]!;
  console.log(`device: cuda:0 ${d.name}, ${(d.memory / 2 ** 30).toFixed(1)} GiB, capability ${d.capability}; CUDA runtime ${i.cuda.runtime}, driver ${i.cuda.driver}`);
  console.log(`gemm: ${i.cuda.gemmDetail ?? i.cuda.gemm}`);
  if (i.cuda.emulated) console.log('NOTE: this is the CPU emulation of CUDA (a test build): the numbers mean nothing');
  if (SMOKE) console.log('smoke run (IMIX_BENCH_SMOKE=1): tiny sizes, one sample');

  // Device-to-device copy bandwidth: the roof the streaming kernels are held against.
  const copyN = sz(64 << 20); // 256 MiB
  const a = Zc([copyN]), b = Zc([copyN]);
  const copyMs = median(() => void b.copyFrom(a), 10, 7);
  a.dispose();
  b.dispose();
  const copyGBs = (2 * copyN * 4) / (copyMs * 1e6);
  console.log(`device-to-device copy: ${copyGBs.toFixed(0)} GB/s (read + write of ${(copyN * 4) / 2 ** 20} MiB)`);

  const filter = process.env.IMIX_BENCH_FILTER ? new RegExp(process.env.IMIX_BENCH_FILTER, 'i') : null;
  const all = cases().filter((c) => !filter || filter.test(c.name));
  if (filter) console.log(`IMIX_BENCH_FILTER=${process.env.IMIX_BENCH_FILTER}: ${all.length} cases`);

  // imix first: its rows are on disk before PyTorch starts.
  const rows: Row[] = [];
  for (const c of all) {
    let ms = NaN, error: string | undefined;
    try {
      const { run, dispose } = c.setup();
      try {
        ms = median(run, c.inner, 7);
      } finally {
        dispose();
      }
    } catch (e) {
      error = (e as Error).message;
      console.log(`${c.name} ${c.shape}: FAILED: ${error}`);
    }
    let rate = '-', ofCopy = '-';
    if (error === undefined && c.flops) rate = `${(c.flops / (ms * 1e9)).toFixed(2)} TFLOP/s`;
    if (error === undefined && c.bytes) {
      const gbs = c.bytes / (ms * 1e6);
      rate = `${gbs.toFixed(0)} GB/s`;
      ofCopy = `${((100 * gbs) / copyGBs).toFixed(0)}%`;
    }
    rows.push({ name: c.name, shape: c.shape, ms, rate, ofCopy, refMs: null, ...(error !== undefined ? { error } : {}) });
  }
  const outDir = process.env.IMIX_BENCH_OUT;
  const write = (ref: RefOut | null) => {
    if (!outDir) return;
    fs.mkdirSync(outDir, { recursive: true });
    const when = new Date().toISOString();
    const refLine = ref === null ? 'PyTorch: not run yet' : ref.available ? `PyTorch: torch ${ref.torch} on ${ref.device}` : `PyTorch: unavailable (${ref.reason ?? 'torch has no CUDA'})`;
    const json = { date: when, device: d, cuda: { runtime: i.cuda.runtime, driver: i.cuda.driver, gemm: i.cuda.gemmDetail ?? i.cuda.gemm, emulated: !!i.cuda.emulated }, smoke: SMOKE, filter: process.env.IMIX_BENCH_FILTER ?? null, copyGBs, reference: ref, rows };
    fs.writeFileSync(path.join(outDir, 'cuda-kernels.json'), JSON.stringify(json, null, 1) + '\n');
    const md = [
      `# bench/cuda-kernels.ts, ${when}`,
      '',
      `${d.name} (capability ${d.capability}), CUDA runtime ${i.cuda.runtime}, driver ${i.cuda.driver}; gemm: ${i.cuda.gemmDetail ?? i.cuda.gemm}${i.cuda.emulated ? '; THE CPU EMULATION (numbers mean nothing)' : ''}${SMOKE ? '; smoke run' : ''}`,
      `device-to-device copy: ${copyGBs.toFixed(0)} GB/s; ${refLine}`,
      '',
      '| kernel | shape | ms | achieved | of copy | torch ms | torch/imix |',
      '|---|---|---:|---:|---:|---:|---:|',
      ...rows.map((r) => `| ${r.name} | ${r.shape} | ${r.error !== undefined ? `FAILED: ${r.error.replace(/\|/g, '/')}` : r.ms.toFixed(4)} | ${r.rate} | ${r.ofCopy} | ${r.refMs != null ? r.refMs.toFixed(4) : '-'} | ${r.refMs != null ? `${(r.refMs / r.ms).toFixed(2)}x` : '-'} |`),
      '',
    ];
    fs.writeFileSync(path.join(outDir, 'cuda-kernels.md'), md.join('\n'));
  };
  write(null);

  // Then PyTorch, in a child process, with imix's cached blocks given back.
  nu.cudaEmptyCache(0);
  const ref: RefOut = SMOKE ? { available: false, reason: 'smoke run' } : torchReference(all);
  console.log(ref.available ? `reference: torch ${ref.torch} on ${ref.device}` : `reference unavailable (${ref.reason ?? 'torch has no CUDA'})`);
  for (const r of rows) r.refMs = ref.available ? (ref.results?.[`${r.name}|${r.shape}`] ?? null) : null;
  write(ref);
  console.log(
    table(
      ['kernel', 'shape', 'ms', 'achieved', 'of copy', 'torch ms', 'torch/imix'],
      rows.map((r) => [
        r.name,
        r.shape,
        r.error !== undefined ? 'FAILED' : r.ms.toFixed(4),
        r.rate,
        r.ofCopy,
        r.refMs != null ? r.refMs.toFixed(4) : '-',
        r.refMs != null && r.error === undefined ? `${(r.refMs / r.ms).toFixed(2)}x` : '-',
      ]),
    ),
  );
  if (outDir) console.log(`results: ${path.join(outDir, 'cuda-kernels.json')} and cuda-kernels.md`);
  if (rows.some((r) => r.error !== undefined)) process.exitCode = 1;
}

if (require.main === module) {
  try {
    main();
  } catch (e) {
    console.error(e);
    process.exit(1);
  }
}
