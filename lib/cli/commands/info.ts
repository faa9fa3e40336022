/**
 * `imix info`: what the loaded addon is (backend, BLAS, threads, CPU kernel set, SIMD,
 * bf16 gemm, build, CUDA devices) as a table, or `--json`.
 * @module
 */
import { info } from '../../index';
import { EXIT_OK } from '../errors';

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

/** The kernel set in use, who chose it, and the others this CPU could run. */
function cpuKernelsRow(i: ReturnType<typeof info>): string {
  const forced = process.env.IMIX_CPU_KERNELS && process.env.IMIX_CPU_KERNELS !== 'auto';
  const others = i.cpuKernelSets.filter((s) => s !== i.cpuKernels);
  return `${i.cpuKernels} (${forced ? 'forced by IMIX_CPU_KERNELS' : 'chosen by the CPU features'})` +
    (others.length ? `; also runs here: ${others.join(', ')}` : '');
}

/** Rows of the info table. */
export function infoRows(i = info()): Array<[string, string]> {
  const rows: Array<[string, string]> = [
    ['version', i.version],
    ['backend', i.backend],
    ['blas', i.blasCore ? `${i.blas} (${i.blasCore} kernels, chosen by ${i.blasCoreSource})` : i.blas],
    ['threads', String(i.threads)],
    ['openmp', i.openmp ? `yes (threads wait: ${i.threadWait.policy}, set by ${i.threadWait.source === 'imix' ? 'imix' : 'the environment'})` : 'no'],
    ['cpu kernels', cpuKernelsRow(i)],
    ['simd', i.simd.length ? i.simd.join(' ') : 'none'],
    ['bf16 gemm', i.bf16.available ? "yes (train --precision bf16)" : `no (${i.bf16.reason ?? 'unknown'})`],
    ['build', i.buildType],
    ['cxx flags', i.cxxFlags],
    ['cuda', i.cuda.compiled ? `compiled, ${i.cuda.devices.length} device(s)` : `not available${i.cuda.reason ? ` (${i.cuda.reason})` : ''}`],
  ];
  for (const d of i.cuda.devices) rows.push([`cuda:${d.index}`, `${d.name}, ${gib(d.memory)}, compute ${d.capability}`]);
  rows.push(['node', `${process.version} (${process.platform}-${process.arch})`]);
  return rows;
}

export function showInfo(o: { json?: boolean }): number {
  const i = info();
  if (o.json) {
    process.stdout.write(JSON.stringify(i, null, 2) + '\n');
    return EXIT_OK;
  }
  const rows = infoRows(i);
  const w = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n');
  return EXIT_OK;
}
