/**
 * Loads the native addon (node-gyp-build finds build/Release/imix.node or a
 * prebuild) and declares its raw interface. Nothing outside lib/ should call
 * it directly: lib/ops/* wraps every entry point with typed arguments.
 * @internal
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import nodeGypBuild from 'node-gyp-build';
import { errorClasses } from './errors';

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

export interface NativeInfo {
  version: string;
  backend: string;
  blas: 'openblas' | 'cblas' | 'fallback';
  threads: number;
  openmp: boolean;
  simd: string[];
  buildType: string;
  cxxFlags: string;
  cuda: { compiled: boolean; devices: Array<{ index: number; name: string; memory: number; capability: string }>; reason?: string };
}

type T = NativeTensor;
type OptT = NativeTensor | null | undefined;

/** Raw addon surface. Argument order follows native/addon/ops_*.cpp. */
export interface NativeAddon {
  Tensor: new (dtype: string, shape: number[], device?: string) => NativeTensor;
  info(): NativeInfo;
  setNumThreads(n: number): number;
  setErrorClasses(classes: typeof errorClasses): void;
  // state
  ema(target: T, source: T, momentum: number): void;
  queueEnqueue(queue: T, keys: T, ptr: number): number;
  // run-folder lock (fs_lock.cpp): an exclusive, non-blocking flock; false if another process holds it
  tryLockFile(fd: number): boolean;
  // Families below are bound by their ops_*.cpp files.
  [name: string]: unknown;
}

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

function load(): NativeAddon {
  const root = packageRoot();
  let addon: NativeAddon;
  // IMIX_BUILD_DIR lets a second build (e.g. without BLAS) be loaded side by side.
  const dir = process.env.IMIX_BUILD_DIR;
  if (dir) {
    addon = require(path.resolve(root, dir, 'Release', 'imix.node')) as NativeAddon;
  } else {
    try {
      addon = nodeGypBuild(root) as NativeAddon;
    } catch (e) {
      throw new Error(
        `imix: the native addon is not built (${(e as Error).message}). Run \`npm run build:native\`; ` +
          'it needs cmake >= 3.18 and a C++17 compiler.',
      );
    }
  }
  addon.setErrorClasses(errorClasses);
  return addon;
}

/** The loaded addon (loaded once, on first import). */
export const native: NativeAddon = load();
