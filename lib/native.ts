/**
 * Loads the native addon (node-gyp-build finds build/Release/imix.node or a
 * prebuild) and declares its whole interface, {@link NativeAddon}, once.
 * Nothing outside lib/ should call it directly: lib/ops/* wraps every kernel
 * entry point with typed arguments.
 * @internal
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import nodeGypBuild from 'node-gyp-build';
import { BackendError, ValueError, errorClasses } from './errors';
import { type BlasCoreSource, pinOpenblasCore } from './util/openblas-core';
import { pinOpenmpWait, type ThreadWaitSource } from './util/openmp-wait';

/** The addon's tensor handle (native/addon/tensor.cpp). */
export interface NativeTensor {
  readonly dtype: 'float32' | 'int32';
  readonly shape: number[];
  readonly strides: number[];
  readonly offset: number;
  readonly device: string;
  readonly disposed: boolean;
  readonly numel: number;
  readonly contiguous: boolean;
  readonly storageSize: number;
  view(offset: number, shape: number[], strides?: number[]): NativeTensor;
  copyFromArray(src: Float32Array | Int32Array): NativeTensor;
  copyToArray<T extends Float32Array | Int32Array>(dst: T): T;
  copyFrom(src: NativeTensor): NativeTensor;
  fill(value: number): NativeTensor;
  sameStorage(other: NativeTensor): boolean;
  dispose(): void;
}

/** What `info()` returns (native/addon/addon.cpp; `cuda` from ops_cuda.cpp's cuda_info). */
export interface NativeInfo {
  version: string;
  backend: string;
  blas: 'openblas' | 'cblas' | 'fallback';
  /** The kernel set OpenBLAS picked for this CPU at load time (e.g. `'Cooperlake'`, `'Zen'`); `''` for another BLAS or the built-in gemm. Summation orders differ between kernel sets. */
  blasCore: string;
  threads: number;
  openmp: boolean;
  /** The CPU kernel set in use (native/addon/cpu_dispatch.cpp): `'avx512'`, `'avx2'`, `'baseline'`; `'native'` or `'default'` for a build with one set. `IMIX_CPU_KERNELS` forces one. */
  cpuKernels: string;
  /** The kernel sets of this build that this CPU can run, best first. */
  cpuKernelSets: string[];
  /** The instruction-set extensions the kernel set in use was compiled for. */
  simd: string[];
  /**
   * Whether `precision: 'bf16'` (bfloat16 gemm products, native/cpu/gemm_bf16.cpp) runs here: the
   * kernel set has the bf16 gemm (the avx512 set) and the CPU has AVX512_BF16; `reason` says why not.
   */
  bf16: { available: boolean; reason?: string };
  buildType: string;
  cxxFlags: string;
  cuda: {
    compiled: boolean;
    devices: Array<{ index: number; name: string; memory: number; capability: string; supported?: boolean }>;
    reason?: string;
    runtime?: string;
    driver?: string;
    gemm?: string;
    gemmDetail?: string;
    emulated?: boolean;
    debug?: string[];
  };
}

/** A CUDA device's host synchronizations and host copies (`cudaStats`, native/addon/ops_cuda.cpp). */
export interface NativeCudaStats {
  syncs: number;
  downloads: number;
  downloadBytes: number;
  uploads: number;
  uploadBytes: number;
}

/** The caching allocator's counters (`cudaMemoryStats`, native/addon/ops_cuda.cpp). */
export interface NativeCudaMemoryStats {
  inUse: number;
  cached: number;
  mallocs: number;
  frees: number;
  reuses: number;
}

/** A CutMix box as `cutmixBox` returns it and `cutmix` reads it (native/addon/ops_mix.cpp). */
export interface NativeBox {
  y0: number;
  x0: number;
  y1: number;
  x1: number;
}

type T = NativeTensor;
/** An optional tensor operand: null or undefined is "not given" (Args::optional_tensor). */
type OptT = NativeTensor | null;
/** Optimizer segments (read_segments in ops_optim.cpp): both or neither. */
type SegOffsets = Int32Array | Float64Array | null;
type SegFlags = Uint8Array | null;

/**
 * The addon's whole surface: every export, with its arguments in the order
 * the binding reads them (native/addon/*.cpp). There is no index signature:
 * calling a binding that is not declared here, or with its arguments out of
 * order, does not compile; {@link nativeBindings} lists the same keys at run
 * time, and test/native-surface.test.ts checks them against the loaded addon
 * in both directions. A binding added in native/addon is declared here and
 * in {@link nativeBindings}.
 *
 * The bindings validate every argument themselves (types, finiteness, ranges,
 * shapes, dtypes, devices, aliasing) and throw the typed errors of
 * lib/errors.ts; the wrappers in lib/ops check only what the addon cannot
 * see or would name differently (see lib/ops/util.ts).
 */
export interface NativeAddon {
  // addon.cpp
  Tensor: new (dtype: string, shape: number[], device?: string) => NativeTensor;
  info(): NativeInfo;
  setNumThreads(threads: number): number;
  setErrorClasses(classes: typeof errorClasses): void;

  // ops_gemm.cpp (precision: 'fp32' or 'bf16', default 'fp32')
  gemm(A: T, B: T, C: T, transA?: boolean, transB?: boolean, alpha?: number, beta?: number, precision?: string): void;
  linearForward(x: T, W: T, b: OptT, y: T, precision?: string): void;
  linearBackward(x: T, W: T, dy: T, dx: OptT, dW: T, db: OptT, accumulate?: boolean, precision?: string): void;
  /** Throws the error a gemm at `precision` on `device` (default 'cpu') would. */
  checkPrecision(precision: string, device?: string): void;
  biasAdd(y: T, b: T): void;
  biasGrad(dy: T, db: T, accumulate?: boolean): void;
  reluForward(x: T, y: T): void;
  reluBackward(dy: T, y: T, dx: T): void;

  // ops_loss.cpp
  l2normalizeForward(x: T, y: T, norms: T, eps: number): void;
  l2normalizeBackward(dy: T, y: T, norms: T, dx: T): void;
  mixedCrossEntropy(logits: T, targets: OptT, perm: OptT, lam: OptT, colOffset: number, scale: number, losses: OptT): number;
  mixedCosine(p: T, k: T, perm: OptT, lam: OptT, scale: number, dp: OptT, losses: OptT): number;

  // ops_state.cpp
  ema(target: T, source: T, momentum: number): void;
  queueEnqueue(queue: T, keys: T, ptr: number): number;

  // ops_mix.cpp (lamScalar is read only when lam is null)
  mixup(x: T, out: T, perm: T, lam: OptT, lamScalar?: number): void;
  cutmixBox(lam: number, H: number, W: number, seed: number, offset: number): NativeBox & { lam: number };
  cutmix(x: T, out: T, perm: T, box: NativeBox): void;

  // ops_batchnorm.cpp
  batchnorm1dForwardTrain(
    x: T, y: T, gamma: OptT, beta: OptT, eps: number, momentum: number,
    runningMean: OptT, runningVar: OptT, saveMean: T, saveInvstd: T,
  ): void;
  batchnorm1dForwardEval(x: T, y: T, gamma: OptT, beta: OptT, runningMean: T, runningVar: T, eps: number): void;
  batchnorm1dBackward(
    dy: T, x: T, gamma: OptT, saveMean: T, saveInvstd: T, dx: T, dgamma: OptT, dbeta: OptT, accumulate: boolean,
  ): void;
  batchnorm2dForwardTrain(
    x: T, y: T, gamma: OptT, beta: OptT, eps: number, momentum: number,
    runningMean: OptT, runningVar: OptT, saveMean: T, saveInvstd: T, relu: boolean,
  ): void;
  batchnorm2dForwardEval(
    x: T, y: T, gamma: OptT, beta: OptT, runningMean: T, runningVar: T, eps: number, relu: boolean,
  ): void;
  batchnorm2dBackward(
    dy: T, x: T, y: OptT, gamma: OptT, saveMean: T, saveInvstd: T, dx: T, dgamma: OptT, dbeta: OptT,
    accumulate: boolean,
  ): void;

  // ops_optim.cpp
  sgdStep(
    param: T, grad: T, buf: OptT, lr: number, momentum: number, weightDecay: number, nesterov: boolean,
    segOffsets?: SegOffsets, segFlags?: SegFlags,
  ): void;
  larsStep(
    param: T, grad: T, buf: T, lr: number, momentum: number, weightDecay: number, eta: number, nesterov: boolean,
    segOffsets?: SegOffsets, segFlags?: SegFlags,
  ): void;
  adamwStep(
    param: T, grad: T, m: T, v: T, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number,
    step: number, segOffsets?: SegOffsets, segFlags?: SegFlags,
  ): void;

  // ops_random.cpp
  randUniform(out: T, seed: number, offset: number): void;
  randNormal(out: T, seed: number, offset: number, mean: number, std: number): void;
  inputDrop(x: T, out: T, p: number, seed: number, offset: number): void;
  gaussianNoise(x: T, out: T, std: number, seed: number, offset: number): void;

  // ops_elementwise.cpp
  axpby(a: number, x: T, b: number, y: T): void;
  rowdot(a: T, b: T, out: T, alpha: number): void;
  rowScaleAdd(y: T, s: T, x: T, alpha: number): void;
  maxoutForward(x: T, y: T, argmax: T, k: number): void;
  maxoutBackward(dy: T, argmax: T, dx: T, k: number): void;
  gatherRows(src: T, idx: T, out: T): void;
  sum(x: T): number;
  addReluForward(a: T, b: T, y: T): void;

  // ops_conv.cpp (stride, padding, dilation along H then W; conv1d: along L)
  conv2dWorkspaceFloats(x: T, w: T, sh: number, sw: number, ph: number, pw: number, dh: number, dw: number): number;
  conv2dForward(
    x: T, w: T, b: OptT, y: T, ws: OptT, sh: number, sw: number, ph: number, pw: number, dh: number, dw: number,
  ): void;
  conv2dBackwardData(
    dy: T, w: T, dx: T, ws: OptT, sh: number, sw: number, ph: number, pw: number, dh: number, dw: number,
  ): void;
  conv2dBackwardWeight(
    dy: T, x: T, dw: T, db: OptT, ws: OptT, sh: number, sw: number, ph: number, pw: number, dh: number,
    dilw: number, accumulate: boolean,
  ): void;
  conv1dWorkspaceFloats(x: T, w: T, s: number, p: number, d: number): number;
  conv1dForward(x: T, w: T, b: OptT, y: T, ws: OptT, s: number, p: number, d: number): void;
  conv1dBackwardData(dy: T, w: T, dx: T, ws: OptT, s: number, p: number, d: number): void;
  conv1dBackwardWeight(dy: T, x: T, dw: T, db: OptT, ws: OptT, s: number, p: number, d: number, accumulate: boolean): void;

  // ops_pool.cpp
  maxpool2dForward(x: T, y: T, argmax: T, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number): void;
  maxpool2dBackward(dy: T, argmax: T, dx: T, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number): void;
  avgpoolGlobalForward(x: T, y: T): void;
  avgpoolGlobalBackward(dy: T, dx: T): void;

  // ops_augment.cpp
  randomCropFlip(x: T, out: T, pad: number, flipP: number, seed: number, offset: number): void;
  randomResizedCrop(
    x: T, out: T, scaleLo: number, scaleHi: number, ratioLo: number, ratioHi: number, flipP: number, seed: number,
    offset: number,
  ): void;
  resizedCrop(x: T, out: T, top: number, left: number, height: number, width: number, flip: boolean): void;

  // ops_color.cpp
  colorJitter(
    x: T, out: T, brightness: number, contrast: number, saturation: number, hue: number, p: number, seed: number,
    offset: number,
  ): void;
  colorAdjust(x: T, out: T, params: T): void;
  randomGrayscale(x: T, out: T, p: number, seed: number, offset: number): void;

  // ops_signal.cpp
  timeShift(x: T, out: T, maxShift: number, seed: number, offset: number): void;
  randomTimeCrop(x: T, out: T, minScale: number, maxScale: number, seed: number, offset: number): void;
  amplitudeScale(x: T, out: T, lo: number, hi: number, seed: number, offset: number): void;

  // ops_resample.cpp
  resampleFeatures(x: T, pool: T, out: T, p: number, seed: number, offset: number): void;

  // ops_cuda.cpp (device: a CUDA device index, default 0; a DeviceError in a build without CUDA)
  cudaSynchronize(device?: number): void;
  cudaMemoryStats(device?: number): NativeCudaMemoryStats;
  cudaEmptyCache(device?: number): void;
  /** Forces imix's tiled sgemm (true) or cuBLAS where loaded (false); returns the gemm now in use. */
  cudaSetTiledGemm(on: boolean): string;
  /** Host synchronizations and host copies of a device so far (native/cuda/runtime.h SyncStats); `reset` zeroes them after reading. */
  cudaStats(device?: number, reset?: boolean): NativeCudaStats;

  // ops_readback.cpp: a device→host copy issued now, read later (one pending per device)
  readbackStart(t: T): number;
  /** Copies the staged elements into `target`; returns whether the host had to wait for the device. */
  readbackFinish(ticket: number, target: Float32Array | Int32Array): boolean;

  // fs_lock.cpp: an exclusive, non-blocking flock on the run folder's lock file; false if another process holds it
  tryLockFile(fd: number): boolean;
}

/**
 * Every key of {@link NativeAddon} with the native/addon file that registers
 * it. `satisfies` holds this object to exactly the interface's keys (a
 * missing or an extra key does not compile), so it is the interface's key
 * list at run time: test/native-surface.test.ts compares it with
 * `Object.keys(native)`.
 * @internal
 */
export const nativeBindings = {
  Tensor: 'addon.cpp',
  info: 'addon.cpp',
  setNumThreads: 'addon.cpp',
  setErrorClasses: 'addon.cpp',
  gemm: 'ops_gemm.cpp',
  linearForward: 'ops_gemm.cpp',
  linearBackward: 'ops_gemm.cpp',
  biasAdd: 'ops_gemm.cpp',
  biasGrad: 'ops_gemm.cpp',
  reluForward: 'ops_gemm.cpp',
  reluBackward: 'ops_gemm.cpp',
  checkPrecision: 'ops_gemm.cpp',
  l2normalizeForward: 'ops_loss.cpp',
  l2normalizeBackward: 'ops_loss.cpp',
  mixedCrossEntropy: 'ops_loss.cpp',
  mixedCosine: 'ops_loss.cpp',
  ema: 'ops_state.cpp',
  queueEnqueue: 'ops_state.cpp',
  mixup: 'ops_mix.cpp',
  cutmixBox: 'ops_mix.cpp',
  cutmix: 'ops_mix.cpp',
  batchnorm1dForwardTrain: 'ops_batchnorm.cpp',
  batchnorm1dForwardEval: 'ops_batchnorm.cpp',
  batchnorm1dBackward: 'ops_batchnorm.cpp',
  batchnorm2dForwardTrain: 'ops_batchnorm.cpp',
  batchnorm2dForwardEval: 'ops_batchnorm.cpp',
  batchnorm2dBackward: 'ops_batchnorm.cpp',
  sgdStep: 'ops_optim.cpp',
  larsStep: 'ops_optim.cpp',
  adamwStep: 'ops_optim.cpp',
  randUniform: 'ops_random.cpp',
  randNormal: 'ops_random.cpp',
  inputDrop: 'ops_random.cpp',
  gaussianNoise: 'ops_random.cpp',
  axpby: 'ops_elementwise.cpp',
  rowdot: 'ops_elementwise.cpp',
  rowScaleAdd: 'ops_elementwise.cpp',
  maxoutForward: 'ops_elementwise.cpp',
  maxoutBackward: 'ops_elementwise.cpp',
  gatherRows: 'ops_elementwise.cpp',
  sum: 'ops_elementwise.cpp',
  addReluForward: 'ops_elementwise.cpp',
  conv2dWorkspaceFloats: 'ops_conv.cpp',
  conv2dForward: 'ops_conv.cpp',
  conv2dBackwardData: 'ops_conv.cpp',
  conv2dBackwardWeight: 'ops_conv.cpp',
  conv1dWorkspaceFloats: 'ops_conv.cpp',
  conv1dForward: 'ops_conv.cpp',
  conv1dBackwardData: 'ops_conv.cpp',
  conv1dBackwardWeight: 'ops_conv.cpp',
  maxpool2dForward: 'ops_pool.cpp',
  maxpool2dBackward: 'ops_pool.cpp',
  avgpoolGlobalForward: 'ops_pool.cpp',
  avgpoolGlobalBackward: 'ops_pool.cpp',
  randomCropFlip: 'ops_augment.cpp',
  randomResizedCrop: 'ops_augment.cpp',
  resizedCrop: 'ops_augment.cpp',
  colorJitter: 'ops_color.cpp',
  colorAdjust: 'ops_color.cpp',
  randomGrayscale: 'ops_color.cpp',
  timeShift: 'ops_signal.cpp',
  randomTimeCrop: 'ops_signal.cpp',
  amplitudeScale: 'ops_signal.cpp',
  resampleFeatures: 'ops_resample.cpp',
  cudaSynchronize: 'ops_cuda.cpp',
  cudaMemoryStats: 'ops_cuda.cpp',
  cudaEmptyCache: 'ops_cuda.cpp',
  cudaSetTiledGemm: 'ops_cuda.cpp',
  cudaStats: 'ops_cuda.cpp',
  readbackStart: 'ops_readback.cpp',
  readbackFinish: 'ops_readback.cpp',
  tryLockFile: 'fs_lock.cpp',
} as const satisfies { readonly [K in keyof NativeAddon]: string };

/** The folder holding imix's package.json (source checkout or installed package). */
export function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj) && JSON.parse(fs.readFileSync(pj, 'utf8')).name === 'imix') return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('imix: cannot find the package root to load the native addon from');
    dir = up;
  }
}

/** Who chose OpenBLAS's kernel set (lib/util/openblas-core.ts); set once, right before the addon loads. */
export let blasCoreSource: BlasCoreSource = 'openblas';

/** How OpenMP threads wait (lib/util/openmp-wait.ts); set once, right before the addon loads. */
export let threadWait: { policy: string; source: ThreadWaitSource } = { policy: '', source: 'environment' };

function load(): NativeAddon {
  const root = packageRoot();
  blasCoreSource = pinOpenblasCore();
  threadWait = pinOpenmpWait();
  let addon: NativeAddon;
  // IMIX_BUILD_DIR lets a second build (e.g. without BLAS) be loaded side by side.
  const dir = process.env.IMIX_BUILD_DIR;
  try {
    addon = (dir ? require(path.resolve(root, dir, 'Release', 'imix.node')) : nodeGypBuild(root)) as NativeAddon;
  } catch (e) {
    throw loadError(e as Error, dir);
  }
  addon.setErrorClasses(errorClasses);
  return addon;
}

/**
 * The error a failed load reports. The addon's own refusals at load (the CPU
 * kernel set, native/addon/cpu_dispatch.cpp) keep their message, typed: a bad
 * `IMIX_CPU_KERNELS` is a ValueError naming the variable, a missing or stale
 * kernel library a BackendError. Anything else means no addon was found.
 */
function loadError(e: Error, dir: string | undefined): Error {
  const msg = e.message;
  if (msg.startsWith('IMIX_CPU_KERNELS:')) return new ValueError(msg);
  if (msg.startsWith('imix:')) return new BackendError(msg);
  if (dir) return e;
  return new Error(
    `imix: the native addon is not built (${msg}). Run \`npm run build:native\`; it needs cmake >= 3.18 and a C++17 compiler.`,
  );
}

/** The loaded addon (loaded once, on first import). */
export const native: NativeAddon = load();
