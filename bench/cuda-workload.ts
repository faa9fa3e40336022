/**
 * Every CUDA kernel family once, on small inputs: the program
 * scripts/device-check.sh runs under compute-sanitizer (memcheck, then
 * racecheck) with IMIX_CUDA_NO_CACHE=1 (each tensor and scratch buffer an
 * exact-size cudaMalloc, so an access past its end is an error) and
 * IMIX_CUDA_SYNC_LAUNCH=1 (a fault is reported naming its kernel). Running
 * the parity suite under the sanitizer instead takes many minutes; this takes
 * seconds on a GPU and covers the same launches: each kernel's code paths
 * (e.g. cross-entropy's register and streaming rows, gemm through cuBLAS and
 * the tiled kernel, in-place and strided operands), then short training runs
 * of every method, encoder kind, mix and view on `device: 'cuda'`.
 *
 *   node dist/bench/cuda-workload.js             # every step
 *   IMIX_WORKLOAD_FILTER='conv|pool' node ...    # the steps whose name matches
 *
 * Each step's CUDA work is synchronized before the next starts; a step that
 * throws is reported and the others still run (exit status 1 then). At the
 * end it lists the addon entry points that no step called with a CUDA tensor:
 * a kernel family added since this list was written, which should join it.
 * Without a usable CUDA device it says why and exits 2.
 * @module
 */
import { BYOL, MoCo, NPair, SimCLR, SimSiam, Tensor, cudaAvailable, info, nn, ops, views } from '../lib/index';
import { fromArray } from '../lib/data/dataset';
import { type NativeTensor, native, nativeBindings } from '../lib/native';
import { fill } from './common';

interface CudaUtils {
  cudaSynchronize(device?: number): void;
  cudaMemoryStats(device?: number): { inUse: number; cached: number; mallocs: number; frees: number; reuses: number };
  cudaSetTiledGemm(on: boolean): string;
}
const nu = native as unknown as CudaUtils;
const dev = 'cuda' as const;

// ---- which addon entry points ran on the device ---------------------------------

const called = new Set<string>();
const isCudaTensor = (v: unknown) => typeof v === 'object' && v !== null && typeof (v as NativeTensor).device === 'string' && (v as NativeTensor).device.startsWith('cuda');
/** Wraps every addon function so that a call with a CUDA tensor operand is recorded (lib/ops looks `native.x` up at each call). */
function recordCalls(): void {
  const n = native as unknown as Record<string, unknown>;
  for (const name of Object.keys(nativeBindings)) {
    const f = n[name];
    if (typeof f !== 'function' || name === 'Tensor') continue;
    n[name] = function (this: unknown, ...args: unknown[]) {
      if (args.some(isCudaTensor)) called.add(name);
      return (f as (...a: unknown[]) => unknown).apply(this, args);
    };
  }
}
/** Entry points that launch nothing (queries, host-side draws, utilities). */
const NOT_KERNELS = new Set(['Tensor', 'info', 'setNumThreads', 'setErrorClasses', 'tryLockFile', 'cutmixBox', 'conv2dWorkspaceFloats', 'conv1dWorkspaceFloats', 'readbackFinish']);

// ---- inputs ----------------------------------------------------------------------

let seed = 1;
const F = (shape: readonly number[], scale = 1) => Tensor.from(fill(shape.reduce((a, b) => a * b, 1), seed++, scale), shape, { device: dev });
/** Values in [0, 1) (images). */
const U = (shape: readonly number[]) => Tensor.from(fill(shape.reduce((a, b) => a * b, 1), seed++).map((v) => 0.5 + 0.5 * v), shape, { device: dev });
const Z = (shape: readonly number[]) => Tensor.zeros(shape, { device: dev });
const I = (values: number[]) => Tensor.from(Int32Array.from(values), [values.length], { device: dev });
const perm = (n: number) => I(Array.from({ length: n }, (_, i) => (i * 5 + 3) % n)); // a permutation for n not a multiple of 5
const lam = (n: number) => Tensor.from(Float32Array.from({ length: n }, (_, i) => 0.5 + (0.5 * i) / n), [n], { device: dev });

// ---- the steps -----------------------------------------------------------------

type Step = [name: string, run: () => void | Promise<void>];

const kernelSteps: Step[] = [
  ['tensor: upload, fill, strided fill, copy, download', () => {
    const t = F([37, 19]);
    t.fill(2);
    t.view(3, [5, 4], [19, 2]).fill(-1);
    Z([37, 19]).copyFrom(t).toArray();
    Tensor.from(Int32Array.from({ length: 1000 }, (_, i) => i), [1000], { device: dev }).toArray();
  }],
  ['gemm: cuBLAS and the tiled kernel, every transpose, K = 0, strided', () => {
    for (const tiled of [false, true]) {
      nu.cudaSetTiledGemm(tiled);
      try {
        for (const [M, N, K, ta, tb] of [[33, 17, 65, false, false], [7, 5, 3, false, true], [130, 129, 257, true, false], [64, 64, 9, true, true], [8, 8, 0, false, false]] as const)
          ops.gemm(F(ta ? [K, M] : [M, K]), F(tb ? [N, K] : [K, N]), F([M, N]), { transA: ta, transB: tb, alpha: 0.5, beta: 0.25 });
        const big = F([40, 24]);
        ops.gemm(big.view(4, [40, 16], [24, 1]), big.view(4, [40, 16], [24, 1]), Z([40, 40]), { transB: true });
      } finally {
        nu.cudaSetTiledGemm(false);
      }
    }
  }],
  ['linear, bias, relu', () => {
    const x = F([64, 100]), W = F([33, 100], 0.1), b = F([33]), y = Z([64, 33]), dy = F([64, 33]);
    ops.linearForward(x, W, b, y);
    ops.linearForward(x, W, null, y);
    ops.reluForward(y, y);
    ops.reluBackward(dy, y, dy);
    ops.linearBackward(x, W, dy, Z([64, 100]), Z([33, 100]), Z([33]), true);
    ops.linearBackward(x, W, dy, null, Z([33, 100]), null, false);
    ops.biasAdd(y, b);
    ops.biasGrad(dy, Z([33]), true);
  }],
  ['l2 normalize: warp and block rows, in place', () => {
    for (const [N, D] of [[5, 3], [64, 128], [3, 4096]] as const) {
      const x = F([N, D]), y = Z([N, D]), norms = Z([N]), dy = F([N, D]);
      ops.l2Normalize(x, y, norms, { eps: 1e-8 });
      ops.l2NormalizeBackward(dy, y, norms, Z([N, D]));
      ops.l2NormalizeBackward(dy, y, norms, dy);
      ops.l2Normalize(x, x, Z([N]));
    }
  }],
  ['mixed cross-entropy: register and streaming rows, targets, column offset', () => {
    for (const [N, M] of [[1, 1], [8, 8], [16, 1016], [4, 9001], [6, 4102]] as const)
      ops.mixedCrossEntropy(F([N, M], 3), { perm: perm(N), lam: lam(N), scale: 1 / N, losses: Z([N]) });
    ops.mixedCrossEntropy(F([5, 33]), { targets: I([0, 7, 14, 21, 28]), colOffset: 3, losses: Z([5]) });
    ops.mixedCrossEntropy(F([3, 40]));
  }],
  ['mixed cosine (BYOL)', () => {
    for (const [N, D] of [[1, 4], [33, 64], [8, 300]] as const) {
      ops.mixedCosine(F([N, D]), F([N, D]), { perm: perm(N), lam: lam(N), scale: 0.5, dp: Z([N, D]), losses: Z([N]) });
      ops.mixedCosine(F([N, D]), F([N, D]));
    }
  }],
  ['EMA (aligned and offset views) and the queue (wrap-around)', () => {
    for (const [n, off] of [[1023, 0], [100_003, 0], [1001, 1]] as const) {
      const t = F([n + off]), s = F([n + off]);
      ops.ema(t.view(off, [n]), s.view(off, [n]), 0.996);
    }
    const q = F([10, 3]);
    ops.queueEnqueue(q, F([4, 3]), 8);
    ops.queueEnqueue(q, F([4, 3]), 0);
  }],
  ['mixup and cutmix', () => {
    for (const [N, Fe] of [[1, 5], [9, 784]] as const) {
      ops.mixup(F([N, Fe]), Z([N, Fe]), perm(N), lam(N));
      ops.mixup(F([N, Fe]), Z([N, Fe]), perm(N), 0.7);
    }
    const x = F([6, 3, 7, 9]);
    for (const box of [{ y0: 1, x0: 2, y1: 5, x1: 8 }, { y0: 3, x0: 3, y1: 3, x1: 7 }, { y0: 0, x0: 0, y1: 7, x1: 9 }]) ops.cutmix(x, Z([6, 3, 7, 9]), perm(6), box);
    ops.cutmixBatch(x, Z([6, 3, 7, 9]), perm(6), 0.6, { seed: 3, offset: 1 });
  }],
  ['BatchNorm1d: train, eval, backward', () => {
    for (const shape of [[300, 70], [2, 1]]) {
      const C = shape[1]!;
      const x = F(shape), y = Z(shape), sm = Z([C]), si = Z([C]), rm = Z([C]), rv = F([C]).fill(1);
      const gamma = F([C]), beta = F([C]);
      ops.batchnorm1dForwardTrain(x, y, sm, si, { gamma, beta, eps: 1e-5, momentum: 0.1, runningMean: rm, runningVar: rv });
      ops.batchnorm1dForwardTrain(x, y, sm, si);
      ops.batchnorm1dForwardEval(x, Z(shape), rm, rv, { gamma, beta, eps: 1e-5 });
      ops.batchnorm1dBackward(F(shape), x, sm, si, Z(shape), { gamma, dgamma: Z([C]), dbeta: Z([C]), accumulate: true });
    }
  }],
  ['BatchNorm2d ± ReLU ([N, C, H, W] and [N, C, L]): train, eval, backward', () => {
    for (const [shape, relu] of [[[4, 6, 5, 7], false], [[4, 6, 5, 7], true], [[3, 6, 33], true]] as const) {
      const C = shape[1];
      const x = F(shape), y = Z(shape), sm = Z([C]), si = Z([C]), rm = Z([C]), rv = F([C]).fill(1), gamma = F([C]), beta = F([C]);
      ops.batchnorm2dForwardTrain(x, y, sm, si, { gamma, beta, eps: 1e-5, momentum: 0.1, runningMean: rm, runningVar: rv, relu });
      ops.batchnorm2dForwardEval(x, Z(shape), rm, rv, { gamma, beta, eps: 1e-5, relu });
      ops.batchnorm2dBackward(F(shape), x, sm, si, Z(shape), { gamma, dgamma: Z([C]), dbeta: Z([C]), y: relu ? y : null, accumulate: relu });
    }
  }],
  ['conv2d and conv1d: forward, backward data, backward weight (cuBLAS and tiled gemm)', () => {
    for (const tiled of [false, true]) {
      nu.cudaSetTiledGemm(tiled);
      try {
        for (const [N, C, H, W, K, k, s, p] of [[2, 3, 9, 8, 5, 3, 1, 1], [2, 4, 8, 8, 6, 3, 2, 1], [3, 5, 6, 6, 4, 1, 1, 0], [1, 2, 4, 5, 3, 7, 1, 3]] as const) {
          const opts = { stride: s, padding: p };
          const Ho = ops.convOutSize(H, k, s, p), Wo = ops.convOutSize(W, k, s, p);
          const x = F([N, C, H, W]), w = F([K, C, k, k], 0.3), dy = F([N, K, Ho, Wo]);
          const n = ops.conv2dWorkspaceFloats(x, w, opts);
          const ws = n > 0 ? Z([n]) : null;
          ops.conv2dForward(x, w, F([K]), Z([N, K, Ho, Wo]), ws, opts);
          ops.conv2dBackwardData(dy, w, Z([N, C, H, W]), ws, opts);
          ops.conv2dBackwardWeight(dy, x, Z([K, C, k, k]), Z([K]), ws, opts);
          ops.conv2dBackwardWeight(dy, x, Z([K, C, k, k]), null, ws, { ...opts, accumulate: true });
        }
        const [N, C, L, K, k] = [3, 4, 37, 5, 5];
        const opts = { stride: 2, padding: 2, dilation: 1 };
        const Lo = ops.convOutSize(L, k, 2, 2, 1);
        const x = F([N, C, L]), w = F([K, C, k], 0.3), dy = F([N, K, Lo]);
        const n = ops.conv1dWorkspaceFloats(x, w, opts);
        const ws = n > 0 ? Z([n]) : null;
        ops.conv1dForward(x, w, F([K]), Z([N, K, Lo]), ws, opts);
        ops.conv1dBackwardData(dy, w, Z([N, C, L]), ws, opts);
        ops.conv1dBackwardWeight(dy, x, Z([K, C, k]), Z([K]), ws, opts);
      } finally {
        nu.cudaSetTiledGemm(false);
      }
    }
  }],
  ['max-pool, global average pool, add+ReLU', () => {
    for (const [N, C, H, W, k, s, p] of [[2, 3, 8, 8, 3, 2, 1], [1, 2, 5, 5, 2, 2, 0], [2, 1, 6, 9, 3, 1, 1]] as const) {
      const opts = { kernelSize: k, stride: s, padding: p };
      const Ho = ops.convOutSize(H, k, s, p), Wo = ops.convOutSize(W, k, s, p);
      const am = Tensor.zeros([N, C, Ho, Wo], { dtype: 'int32', device: dev });
      ops.maxpool2dForward(F([N, C, H, W]), Z([N, C, Ho, Wo]), am, opts);
      ops.maxpool2dBackward(F([N, C, Ho, Wo]), am, Z([N, C, H, W]), opts);
      const anywhere = Tensor.from(Int32Array.from({ length: N * C * Ho * Wo }, (_, i) => (i * 7) % (H * W)), [N, C, Ho, Wo], { device: dev });
      ops.maxpool2dBackward(F([N, C, Ho, Wo]), anywhere, Z([N, C, H, W]), opts);
    }
    for (const shape of [[3, 5, 4, 6], [2, 3, 17]]) {
      ops.avgpoolGlobalForward(F(shape), Z(shape.slice(0, 2)));
      ops.avgpoolGlobalBackward(F(shape.slice(0, 2)), Z(shape));
    }
    const a = F([4, 6, 5, 5]);
    ops.addReluForward(a, F([4, 6, 5, 5]), Z([4, 6, 5, 5]));
    ops.addReluForward(a, F([4, 6, 5, 5]), a);
  }],
  ['SGD, LARS, AdamW over segments', () => {
    const sizes = [30, 7, 100, 1, 33], n = sizes.reduce((a, b) => a + b, 0);
    const segments = ops.makeSegments(sizes, [3, 3, 3, 0, 1]);
    for (const seg of [undefined, segments]) {
      ops.sgdStep(F([n]), F([n]), Z([n]), { lr: 0.1, momentum: 0.9, weightDecay: 1e-4, nesterov: true, segments: seg });
      ops.sgdStep(F([n]), F([n]), null, { lr: 0.1, momentum: 0, weightDecay: 1e-4, segments: seg });
      ops.larsStep(F([n]), F([n]), Z([n]), { lr: 0.3, momentum: 0.9, weightDecay: 1e-6, eta: 0.001, segments: seg });
      ops.adamwStep(F([n]), F([n]), Z([n]), Z([n]), { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05, step: 3, segments: seg });
    }
  }],
  ['Philox: uniform, normal, input drop, Gaussian noise', () => {
    for (const n of [1, 1001, 65_537]) {
      ops.randUniform(Z([n]), { seed: 7, offset: 2 ** 40 + 1 });
      ops.randNormal(Z([n]), { seed: 7, offset: 3, mean: 1, std: 2 });
      const x = F([n]);
      ops.inputDrop(x, Z([n]), 0.3, { seed: 7, offset: 4 });
      ops.inputDrop(x, x, 0.3, { seed: 7, offset: 5 });
      ops.gaussianNoise(x, Z([n]), 0.5, { seed: 7, offset: 6 });
    }
  }],
  ['elementwise: axpby, rowdot, rowScaleAdd, maxout, gatherRows, sum', () => {
    const [N, D, k, Fo] = [37, 130, 3, 11];
    const y = F([N, D]);
    ops.axpby(0.5, F([N, D]), -2, y);
    ops.axpby(3, F([N, D]), 0, y);
    const logits = Z([N, 5]);
    ops.rowdot(F([N, D]), F([N, D]), logits.view(0, [N, 1], [5, 1]), 5);
    ops.rowScaleAdd(y, logits.view(0, [N, 1], [5, 1]), F([N, D]), -0.5);
    const am = Tensor.zeros([N, Fo], { dtype: 'int32', device: dev });
    ops.maxoutForward(F([N, Fo * k]), Z([N, Fo]), am, k);
    ops.maxoutBackward(F([N, Fo]), am, Z([N, Fo * k]), k);
    ops.gatherRows(F([N, D]), I(Array.from({ length: 50 }, (_, i) => (i * 13) % N)), Z([50, D]));
    ops.sum(F([1_000_003]));
    ops.sum(F([1]));
  }],
  ['image views: crop/flip, random resized crop, resized crop', () => {
    for (const shape of [[1, 1, 1, 1], [3, 2, 5, 7], [4, 3, 32, 32]]) {
      const x = F(shape);
      ops.randomCropFlip(x, Z(shape), { pad: 2, flipP: 0.5, seed: 7, offset: 2 ** 40 + 3 });
      ops.randomCrop(x, Z(shape), 3, { seed: 1, offset: 2 });
      ops.horizontalFlip(x, Z(shape), 0.5, { seed: 1, offset: 2 });
      ops.randomResizedCrop(x, Z(shape), { scale: [0.08, 1], ratio: [3 / 4, 4 / 3], flipP: 0.5, seed: 5, offset: 1 });
      ops.randomResizedCrop(x, Z(shape), { scale: [0.9, 1], ratio: [20, 30], seed: 5, offset: 2 }); // the centre-crop fallback
      ops.resizedCrop(x, Z(shape), { top: 0, left: 0, height: shape[2]!, width: shape[3]! });
    }
  }],
  ['colour views: jitter (RGB, gray, in place), adjust, grayscale', () => {
    const J = { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1, p: 0.8 };
    for (const shape of [[8, 3, 5, 7], [5, 1, 6, 6], [2, 3, 40, 40]]) {
      const x = U(shape);
      ops.colorJitter(x, Z(shape), { ...J, seed: 42, offset: 7 });
      ops.colorJitter(x, x, { ...J, seed: 42, offset: 8 });
      ops.randomGrayscale(U(shape), Z(shape), { p: 0.5, seed: 3, offset: 9 });
    }
    const N = 24, params = new Float32Array(N * 8);
    for (let i = 0; i < N; i++) params.set([0.5 + 0.05 * i, 0.3, 1.2, 0.1, ...[[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, -1, 2]][i % 3]!], i * 8);
    ops.colorAdjust(U([N, 3, 4, 4]), Z([N, 3, 4, 4]), Tensor.from(params, [N, 8], { device: dev }));
  }],
  ['signal views: time shift, random time crop, amplitude scale', () => {
    for (const [N, C, L] of [[1, 1, 1], [5, 3, 300], [3, 2, 4097]] as const) {
      const x = F([N, C, L]);
      ops.timeShift(x, Z([N, C, L]), { maxShift: 5, seed: 3, offset: 1 });
      ops.randomTimeCrop(x, Z([N, C, L]), { scale: [0.5, 1], seed: 3, offset: 2 });
      ops.amplitudeScale(x, Z([N, C, L]), { range: [-0.5, 2], seed: 3, offset: 3 });
      ops.amplitudeScale(x, x, { range: [0.8, 1.2], seed: 3, offset: 4 });
    }
  }],
  ['SCARF resample', () => {
    for (const [N, Fe, M] of [[1, 1, 1], [64, 33, 500], [3, 5000, 7]] as const) {
      const x = F([N, Fe]), pool = F([M, Fe]);
      ops.resampleFeatures(x, pool, Z([N, Fe]), { p: 0.6, seed: 42, offset: 3 });
      ops.resampleFeatures(x, pool, x, { p: 1, seed: 42, offset: 4 });
    }
  }],
];

/** A short run on the device: `steps` training steps of 8 rows, then embeddings (eval-mode layers). */
async function train(make: () => { fit: NPair['fit']; embed: NPair['embed']; dispose(): void }, shape: number[], steps = 2, image = false): Promise<void> {
  const n = shape.reduce((a, b) => a * b, 1), rows = 24;
  const x = fill(rows * n, seed++);
  if (image) for (let i = 0; i < x.length; i++) x[i] = 0.5 + 0.5 * x[i]!;
  const data = fromArray(x, shape);
  const m = make();
  try {
    await m.fit(data, { epochs: 1, batchSize: 8, maxSteps: steps });
    m.embed(data, { batchSize: 16 });
  } finally {
    m.dispose();
  }
}
const tiny = { projection: [16, 8] as [number, number], seed: 3, device: dev };
const mlp = { kind: 'mlp' as const, hidden: [32], batchNorm: true };
const smallResNet = () =>
  new nn.Sequential(new nn.Conv2d(3, 4, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(4, { relu: true }), new nn.BasicBlock(4, 8, 2), new nn.AdaptiveAvgPool2d(1), new nn.Flatten());

const trainingSteps: Step[] = [
  ['training: NPair + MixUp, MLP with BatchNorm, input drop + noise, SGD', () =>
    train(() => new NPair({ ...tiny, encoder: mlp, mix: { kind: 'mixup' }, views: views.compose(views.inputDrop(0.2), views.gaussianNoise(0.1)), optimizer: { kind: 'sgd' } }), [20])],
  ['training: SimCLR, tabular (maxout) encoder, SCARF resample, LARS', () =>
    train(() => new SimCLR({ ...tiny, encoder: { kind: 'tabular', scale: 1 / 128 }, views: views.resample(0.6), optimizer: { kind: 'lars' } }), [12])],
  ['training: MoCo + MixUp (queue wraps), MLP, AdamW', () =>
    train(() => new MoCo({ ...tiny, encoder: mlp, mix: { kind: 'mixup' }, queueSize: 12, optimizer: { kind: 'adamw', lr: 1e-3 } }), [20], 4)],
  ['training: BYOL + CutMix, conv encoder, crop/flip, resized crop, colour jitter, grayscale', () =>
    train(
      () =>
        new BYOL({
          ...tiny,
          encoder: smallResNet(),
          mix: { kind: 'cutmix' },
          predictorHidden: 8,
          views: views.compose(views.randomResizedCrop([0.3, 1]), views.randomCropFlip(1), views.colorJitter({ brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1, p: 0.8 }), views.randomGrayscale(0.2)),
        }),
      [3, 8, 8],
      2,
      true,
    )],
  ['training: SimSiam + MixUp, resnet20 (width 0.25)', () =>
    train(() => new SimSiam({ ...tiny, encoder: { kind: 'resnet20', width: 0.25 }, mix: { kind: 'mixup' }, predictorHidden: 4, views: views.randomCropFlip(1) }), [3, 8, 8], 1, true)],
  ['training: NPair, resnet1d (width 0.25) on signals, time shift, time crop, amplitude', () =>
    train(() => new NPair({ ...tiny, encoder: { kind: 'resnet1d', width: 0.25 }, views: views.compose(views.timeShift(3), views.randomTimeCrop([0.5, 1]), views.amplitudeScale()) }), [2, 32], 1)],
];

async function main(): Promise<number> {
  const i = info();
  if (!cudaAvailable()) {
    console.log(`cuda-workload: no usable CUDA device: ${i.cuda.reason ?? 'unknown reason'}`);
    return 2;
  }
  const d = i.cuda.devices[0]!;
  console.log(`cuda-workload: ${d.name}; gemm: ${i.cuda.gemmDetail ?? i.cuda.gemm}; debug modes: ${(i.cuda.debug ?? []).join(', ') || 'none'}${i.cuda.emulated ? ' (the CPU emulation)' : ''}`);
  recordCalls();
  const filter = process.env.IMIX_WORKLOAD_FILTER ? new RegExp(process.env.IMIX_WORKLOAD_FILTER, 'i') : null;
  const failed: string[] = [];
  let ran = 0;
  for (const [name, run] of [...kernelSteps, ...trainingSteps]) {
    if (filter && !filter.test(name)) continue;
    const t0 = process.hrtime.bigint();
    try {
      await run();
      nu.cudaSynchronize(0);
      ran++;
      console.log(`ok    ${name} (${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(2)} s)`);
    } catch (e) {
      failed.push(name);
      console.log(`FAIL  ${name}: ${(e as Error).stack ?? String(e)}`);
    }
  }
  const s = nu.cudaMemoryStats(0);
  console.log(`cuda-workload: ${ran} steps ok, ${failed.length} failed; cudaMalloc ${s.mallocs}, cudaFree ${s.frees}, pool reuses ${s.reuses}`);
  if (!filter) {
    const missed = Object.keys(nativeBindings).filter((k) => !NOT_KERNELS.has(k) && !k.startsWith('cuda') && !called.has(k));
    if (missed.length) console.log(`cuda-workload: NOTE: never called with a CUDA tensor (add them to bench/cuda-workload.ts): ${missed.join(', ')}`);
    else console.log('cuda-workload: every kernel entry point of the addon ran on the device');
  }
  return failed.length ? 1 : 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
