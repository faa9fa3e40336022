/**
 * imix: contrastive representation learning (SimCLR/N-pair, MoCo, BYOL) with
 * the i-Mix regularizer, on native C++ kernels.
 *
 * ```ts
 * import { MoCo, data } from 'imix';
 * const train = data.fashionMnist('train');
 * const moco = new MoCo({ encoder: { kind: 'mlp', hidden: [512, 512] }, mix: { kind: 'mixup', alpha: 1 } });
 * await moco.fit(train, { epochs: 10, batchSize: 256 });
 * const features = moco.embed(train);
 * ```
 * @module
 */
import { blasCoreSource, native, type NativeInfo, threadWait } from './native';
import type { BlasCoreSource } from './util/openblas-core';
export type { BlasCoreSource } from './util/openblas-core';
import type { ThreadWaitSource } from './util/openmp-wait';
export type { ThreadWaitSource } from './util/openmp-wait';
export type { NativeInfo } from './native';
import { checkInt } from './ops/util';
import { threadsAuto } from './threads';

export * from './errors';
export { Tensor, type DType, type Device, type ArrayFor } from './tensor';
export * as ops from './ops/index';
export * as nn from './nn/index';
export * as losses from './losses/index';
export * as optim from './optim/index';
export * as data from './data/index';
export * as evaluation from './eval/index';
export * as views from './methods/views';
export { Generator, sampleLambda, type GeneratorState } from './random';
export {
  ContrastiveMethod,
  type MethodOptions,
  type MixOptions,
  type EncoderSpec,
  type OptimizerOptions,
  type FitOptions,
  type FitResult,
  type StepEvent,
  type EpochEvent,
  type MixDraw,
  type MethodEvents,
  type Batch,
  type PlannedSize,
  type LossLimit,
  type EmbedOptions,
} from './methods/base';
export type { ResolvedOptimizerOptions, ResNetKind } from './methods/options';
export type { Precision } from './util/options';
export { NPair } from './methods/npair';
export { SimCLR } from './methods/simclr';
export { MoCo, type MoCoOptions } from './methods/moco';
export { BYOL, type BYOLOptions } from './methods/byol';
export { SimSiam, type SimSiamOptions } from './methods/simsiam';
export { loadRun, LoadedRun, type LoadRunOptions, type RunInput, type CsvRow, type CsvCell, type EncodeOptions } from './run';

/** The CUDA part of {@link info}. */
export interface CudaInfo {
  /** Whether this build of the addon has the CUDA backend. */
  compiled: boolean;
  /** CUDA devices (`supported`: compute capability 8.0 or newer, which this build has code for). */
  devices: Array<{ index: number; name: string; memory: number; capability: string; supported?: boolean }>;
  /** Why no CUDA device can be used (no CUDA build, no driver, no device); absent when one can. */
  reason?: string;
  /** The CUDA runtime the addon was built with, and the driver's CUDA version (`'none'` without a driver). */
  runtime?: string;
  driver?: string;
  /** The CUDA gemm: cuBLAS (loaded at run time) or imix's tiled kernel; `gemmDetail` says which library or why not. */
  gemm?: 'cublas' | 'tiled';
  gemmDetail?: string;
  /** Only in test builds (CMake IMIX_CUDA_EMULATE=ON): the "device" is a CPU emulation of CUDA. */
  emulated?: boolean;
  /**
   * The debugging modes in effect, by their environment variable; absent when none is
   * (docs/cuda.md): `'IMIX_CUDA_NO_CACHE'` (every allocation an exact-size cudaMalloc, every
   * free a cudaFree) and `'IMIX_CUDA_SYNC_LAUNCH'` (a stream sync after each kernel launch, so
   * a kernel that faults is the one the error names). Both are for compute-sanitizer runs.
   */
  debug?: Array<'IMIX_CUDA_NO_CACHE' | 'IMIX_CUDA_SYNC_LAUNCH'>;
}

/** What the loaded addon is: backend, BLAS, threads, SIMD, CUDA devices. */
export type Info = Omit<NativeInfo, 'cuda'> & {
  cuda: CudaInfo;
  /**
   * Who chose OpenBLAS's kernel set (`blasCore`): the user's `OPENBLAS_CORETYPE`, imix from
   * the CPU's feature flags (so a CPU newer than the OpenBLAS build still gets its AVX2 or
   * AVX-512 kernels rather than the SSE3 fallback), or OpenBLAS itself (other platforms).
   */
  blasCoreSource: BlasCoreSource;
  /**
   * How the CPU kernels' OpenMP threads wait between parallel loops: `policy` (the variables in
   * effect) and who set it, the user's environment or imix (a short spin then a sleep, so a
   * second CPU-bound process on the machine does not slow imix's default thread count below
   * one thread's speed; bench/README.md, "Thread waiting").
   */
  threadWait: { policy: string; source: ThreadWaitSource };
  /** Whether training steps choose their thread count by measuring (`setNumThreads('auto')`, the default) or run at a fixed `threads`. */
  threadsAuto: boolean;
};

/** Reports the backend, BLAS, thread count, build flags and CUDA devices in use. */
export function info(): Info {
  return {
    ...(native.info() as Omit<Info, 'blasCoreSource' | 'threadWait' | 'threadsAuto'>),
    blasCoreSource,
    threadWait: { ...threadWait },
    threadsAuto: threadsAuto(),
  };
}

/**
 * True when this addon has the CUDA backend and a usable CUDA device, i.e.
 * tensors can be created with `device: 'cuda'`. Otherwise `info().cuda.reason`
 * says why not.
 */
export function cudaAvailable(): boolean {
  const c = info().cuda;
  return c.compiled && c.reason === undefined && c.devices.some((d) => d.supported !== false);
}

/**
 * How often the host waited for a CUDA device, and the host copies it made
 * ({@link cudaStats}; docs/cuda.md, "Host synchronizations").
 */
export interface CudaStats {
  /**
   * Calls after which the host had waited for the device's stream: stream
   * syncs (a loss's or `ops.sum`'s read-back, `cudaSynchronize`), downloads
   * (`toArray`, and the value checks of an op given a λ, π or index tensor
   * whose contents the addon did not write itself), and event waits that
   * found the device behind (an upload whose staging buffer was still in
   * use). A training step makes one: its loss's read-back.
   */
  syncs: number;
  /** Device→host copies and their bytes (staged read-backs, which do not wait, included). */
  downloads: number;
  downloadBytes: number;
  /** Host→device copies and their bytes. */
  uploads: number;
  uploadBytes: number;
}

/**
 * The host synchronizations and host copies of CUDA device `device` (an
 * index, default 0) since the process started or the last
 * {@link resetCudaStats}. A DeviceError when the device cannot be used (no
 * CUDA build, driver or device).
 *
 * ```ts
 * import { NPair, cudaStats, data, resetCudaStats } from 'imix';
 * const model = new NPair({ encoder: { kind: 'mlp', hidden: [512] }, device: 'cuda', mix: { kind: 'mixup' } });
 * resetCudaStats();
 * await model.fit(data.fashionMnist('train'), { epochs: 1, batchSize: 256, onStep: () => console.log(cudaStats().syncs) }); // one more each step
 * ```
 */
export function cudaStats(device = 0): CudaStats {
  checkInt(device, 'device', 0, 1023);
  return native.cudaStats(device, false);
}

/** Zeroes {@link cudaStats}'s counters of `device` (default 0); returns the counts it cleared. */
export function resetCudaStats(device = 0): CudaStats {
  checkInt(device, 'device', 0, 1023);
  return native.cudaStats(device, true);
}

export { setNumThreads, threadsAuto } from './threads';
