/**
 * The CPU kernels' thread count: fixed by the user, or chosen per training
 * step by measuring (lib/util/thread-governor.ts).
 * @module
 */
import { ValueError } from './errors';
import { native } from './native';
import { checkInt } from './ops/util';
import { ThreadGovernor } from './util/thread-governor';

/**
 * Chooses the thread count of CPU training steps while the user has not fixed
 * one. Its maximum is the count the addon starts with (one per core, OpenMP's
 * default), read on first use: info() also probes CUDA devices, which an
 * import must not do.
 */
export const governor = new ThreadGovernor(
  () => native.info().threads,
  (t) => {
    native.setNumThreads(t);
  },
);
let auto = true;

/**
 * Sets the number of CPU threads the kernels (and the BLAS) use, and returns
 * it. `'auto'` (the default) runs training steps at one thread per core and
 * measures now and then whether one thread is faster (another CPU-bound
 * process on the machine makes it so); a number fixes the count.
 */
export function setNumThreads(n: number | 'auto'): number {
  if (n === 'auto') {
    auto = true;
    return native.setNumThreads(governor.threads);
  }
  if (typeof n !== 'number') throw new ValueError(`threads: expected an integer in [1, 1024] or 'auto', got ${String(n)}`);
  checkInt(n, 'threads', 1, 1024);
  void governor.max; // read the default count before it is changed
  auto = false;
  return native.setNumThreads(n);
}

/** Whether the thread count is chosen by measuring (`setNumThreads('auto')`, the default). */
export function threadsAuto(): boolean {
  return auto;
}

/**
 * Runs one CPU training step of `n` samples under the governor: at the
 * thread count it chooses, timed. With a fixed thread count, just runs it.
 */
export function governedStep<T>(n: number, step: () => T): T {
  if (!auto) return step();
  governor.begin();
  const t0 = performance.now();
  const r = step();
  governor.end(n, performance.now() - t0);
  return r;
}
