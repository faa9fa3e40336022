/**
 * How imix's OpenMP threads wait between parallel loops, set before the
 * addon (and with it the OpenMP runtime) is loaded.
 *
 * Why: a training step runs hundreds of short parallel loops. Between them
 * GCC's libgomp spins (300,000 `pause` iterations when OMP_WAIT_POLICY is
 * unset: milliseconds on recent CPUs, where one `pause` costs ~140 cycles)
 * before it sleeps. On a machine with another CPU-bound process the thread
 * that finished first spins away the time slice its late partner needs, and
 * the default thread count ran 2.6-10x slower than one thread. A shorter spin
 * then a sleep keeps the fork/join fast on an idle machine (the partner is
 * almost always back within the spin) and yields the core when it is not.
 * Measured on 2 Emerald Rapids cores (NPair step, bench/README.md): 100,000
 * spins run the step as fast as libgomp's default (14-16 ms), 10,000 are
 * 5-15% slower and a passive wait 40% slower; no spin count makes two threads
 * as fast as one beside a competitor, which is the thread governor's job
 * (lib/util/thread-governor.ts). So the spin is cut to a third of the
 * default, which wastes less of a shared core, and no further.
 * The user's own OMP_WAIT_POLICY / GOMP_SPINCOUNT (or, for LLVM's libomp,
 * KMP_BLOCKTIME) is kept. `info().threadWait` reports the policy in effect.
 * @internal
 * @module
 */

/** Spin iterations before a waiting libgomp thread sleeps (bench/README.md: "Thread waiting"). */
export const IMIX_SPINCOUNT = 100000;

/** Who set the OpenMP wait policy: the user's environment, or imix. */
export type ThreadWaitSource = 'environment' | 'imix';

/**
 * Sets GOMP_SPINCOUNT (libgomp) and KMP_BLOCKTIME (libomp) in `env` unless the
 * user set a wait policy. Must run before the addon is loaded. Returns a
 * description of the policy and who chose it.
 */
export function pinOpenmpWait(env: NodeJS.ProcessEnv = process.env): { policy: string; source: ThreadWaitSource } {
  const user = ['OMP_WAIT_POLICY', 'GOMP_SPINCOUNT', 'KMP_BLOCKTIME'].filter((k) => env[k] !== undefined && env[k] !== '');
  if (user.length) return { policy: user.map((k) => `${k}=${env[k]}`).join(' '), source: 'environment' };
  env.GOMP_SPINCOUNT = String(IMIX_SPINCOUNT);
  env.KMP_BLOCKTIME = '5'; // libomp's unit is milliseconds (default 200): about the same spin
  return { policy: `GOMP_SPINCOUNT=${IMIX_SPINCOUNT} KMP_BLOCKTIME=5`, source: 'imix' };
}
