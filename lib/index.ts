/**
 * imix: contrastive representation learning with i-Mix, on native kernels.
 * @module
 */
import { native, type NativeInfo } from './native';
import { checkInt } from './ops/util';

export * from './errors';
export { Tensor, type DType, type Device } from './tensor';
export * as ops from './ops/index';

/** What the loaded addon is: backend, BLAS, threads, SIMD, CUDA devices. */
export type Info = NativeInfo;

/** Reports the backend, BLAS, thread count, build flags and CUDA devices in use. */
export function info(): Info {
  return native.info();
}

/** Sets the number of CPU threads the kernels (and the BLAS) use. Returns it. */
export function setNumThreads(n: number): number {
  checkInt(n, 'threads', 1, 1024);
  return native.setNumThreads(n);
}
