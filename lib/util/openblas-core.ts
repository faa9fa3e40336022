/**
 * Which kernel set OpenBLAS runs, chosen from the CPU's features before the
 * addon (and with it libopenblas) is loaded.
 *
 * Why: a DYNAMIC_ARCH OpenBLAS picks its kernels at load time from the CPU
 * model number, and a model newer than the library falls back to "Prescott"
 * (SSE3). Debian's OpenBLAS 0.3.21 does this on an Emerald Rapids Xeon
 * (family 6, model 207, AVX-512 + BF16): every sgemm ran at 57 GFLOP/s where
 * the AVX-512 kernels run at 273 (bench/gemm.ts, the training step's eight
 * gemms, 6.7 vs 32.3 ms). OpenBLAS reads `OPENBLAS_CORETYPE` once, when it is
 * loaded, so imix sets it from the feature flags, which is the rule OpenBLAS
 * itself applies to the models it knows: AVX-512 with BF16 → Cooperlake,
 * AVX-512 (F/CD/BW/DQ/VL) → SkylakeX, AVX2 + FMA → Haswell (Zen on AMD and
 * Hygon), anything older → OpenBLAS's own pick. A value the user set is kept.
 * `info().blasCore` reports the kernel set in effect, `info().blasCoreSource`
 * who chose it.
 * @internal
 * @module
 */
import * as fs from 'node:fs';

/** Who chose the OpenBLAS kernel set: the user's environment, imix from the CPU flags, or OpenBLAS itself. */
export type BlasCoreSource = 'OPENBLAS_CORETYPE' | 'cpu flags' | 'openblas';

const AVX512 = ['avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl'];

/**
 * The OpenBLAS core name for a CPU described by /proc/cpuinfo text (its first
 * processor's `vendor_id` and `flags`), or undefined to leave the pick to OpenBLAS.
 */
export function openblasCoreFor(cpuinfo: string): string | undefined {
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(cpuinfo)?.[1]?.trim() ?? '';
  const flags = new Set(field('flags').split(/\s+/));
  const vendor = field('vendor_id');
  if (AVX512.every((f) => flags.has(f))) return flags.has('avx512_bf16') ? 'Cooperlake' : 'SkylakeX';
  if (flags.has('avx2') && flags.has('fma')) return vendor === 'AuthenticAMD' || vendor === 'HygonGenuine' ? 'Zen' : 'Haswell';
  return undefined;
}

/**
 * Sets `OPENBLAS_CORETYPE` in `env` from the CPU flags unless it is set
 * already; x86-64 Linux only (elsewhere OpenBLAS's pick stands). Returns who
 * chose. Must run before the addon is loaded to have any effect.
 */
export function pinOpenblasCore(
  env: NodeJS.ProcessEnv = process.env,
  readCpuinfo: () => string = () => fs.readFileSync('/proc/cpuinfo', 'utf8'),
  platform: string = process.platform,
  arch: string = process.arch,
): BlasCoreSource {
  if (env.OPENBLAS_CORETYPE) return 'OPENBLAS_CORETYPE';
  if (platform !== 'linux' || arch !== 'x64') return 'openblas';
  let core: string | undefined;
  try {
    core = openblasCoreFor(readCpuinfo());
  } catch {
    return 'openblas'; // no /proc (a sandbox): OpenBLAS's pick stands
  }
  if (!core) return 'openblas';
  env.OPENBLAS_CORETYPE = core;
  return 'cpu flags';
}
