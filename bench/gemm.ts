/**
 * gemm benchmark: the matrix products of one training step of a
 * 784-512-512-128 MLP at batch 512 (forward `y = x·Wᵀ` per layer, backward
 * `dW = dyᵀ·x` per layer and `dx = dy·W` for the layers whose input needs a
 * gradient), timed in imix and, as references, in OpenBLAS sgemm through
 * numpy and in `torch.matmul`, both on /usr/bin/python3 (bench/gemm_ref.py).
 *
 * Run directly: `node dist/bench/gemm.js` (after `npx tsc -p .`).
 * @module
 */
import { Tensor, ops } from '../lib/index';
import { type BenchRow, type PythonResult, benchFile, formatTable, header, median, pythonRef } from './common';

interface GemmCase {
  name: string;
  transA: boolean;
  transB: boolean;
  M: number;
  N: number;
  K: number;
}

interface RefImpl {
  name: string;
  blas?: string[];
  threads?: number | string;
  ms: number[];
}
type RefOut = Record<'numpy' | 'torch', RefImpl | { error: string }>;

/** The gemms of one MLP training step: layer sizes `dims`, batch `batch`. */
export function mlpStepCases(dims: number[] = [784, 512, 512, 128], batch = 512): GemmCase[] {
  const cases: GemmCase[] = [];
  const L = dims.length - 1;
  for (let l = 0; l < L; l++) {
    const [i, o] = [dims[l]!, dims[l + 1]!];
    cases.push({ name: `fc${l + 1} forward y = x·Wᵀ`, transA: false, transB: true, M: batch, N: o, K: i });
  }
  for (let l = L - 1; l >= 0; l--) {
    const [i, o] = [dims[l]!, dims[l + 1]!];
    cases.push({ name: `fc${l + 1} backward dW = dyᵀ·x`, transA: true, transB: false, M: o, N: i, K: batch });
    // the first layer's input is data: no dx
    if (l > 0) cases.push({ name: `fc${l + 1} backward dx = dy·W`, transA: false, transB: false, M: batch, N: i, K: o });
  }
  return cases;
}

const flops = (c: GemmCase) => 2 * c.M * c.N * c.K;
const shapeOf = (c: GemmCase) => `${c.M}x${c.N}x${c.K} ${c.transA ? 'T' : 'N'}${c.transB ? 'T' : 'N'}`;


/** Times one case in imix (median over `reps` after warm-up). */
function timeImix(c: GemmCase, reps: number): number {
  const randn = (n: number) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
  const A = Tensor.from(randn(c.M * c.K), c.transA ? [c.K, c.M] : [c.M, c.K]);
  const B = Tensor.from(randn(c.K * c.N), c.transB ? [c.N, c.K] : [c.K, c.N]);
  const C = Tensor.zeros([c.M, c.N]);
  try {
    return median(() => ops.gemm(A, B, C, { transA: c.transA, transB: c.transB }), reps, 3);
  } finally {
    A.dispose();
    B.dispose();
    C.dispose();
  }
}

/** Last reference run's details (interpreter output or the reason it failed), for the report header. */
export let lastReference: { numpy: string; torch: string } = { numpy: '', torch: '' };

/**
 * Runs the benchmark. Returns two rows per case: imix against OpenBLAS
 * sgemm (numpy) and against torch.matmul; a reference that cannot run has
 * `refName: null`. imix and the references are timed in alternating rounds
 * (default 2) and each keeps its best median per case, so a burst of load
 * from other processes does not land on one side only.
 */
export async function benchGemm(
  options: { reps?: number; rounds?: number; dims?: number[]; batch?: number } = {},
): Promise<BenchRow[]> {
  const reps = options.reps ?? 15;
  const rounds = Math.max(1, options.rounds ?? 2);
  const cases = mlpStepCases(options.dims, options.batch);
  const shapes = cases.map(({ transA, transB, M, N, K }) => ({ transA, transB, M, N, K }));
  const best = (a: number[] | null, b: number[]) => (a ? a.map((v, i) => Math.min(v, b[i]!)) : b);

  let imixMs: number[] | null = null;
  let ref: PythonResult<RefOut> = { ok: false, reason: 'not run' };
  const refMs: Record<'numpy' | 'torch', number[] | null> = { numpy: null, torch: null };
  for (let round = 0; round < rounds; round++) {
    imixMs = best(imixMs, cases.map((c) => timeImix(c, reps)));
    const r = pythonRef<RefOut>(benchFile('gemm_ref.py'), [JSON.stringify(shapes), String(reps)]);
    if (r.ok || !ref.ok) ref = r;
    if (!r.ok) continue;
    for (const key of ['numpy', 'torch'] as const) {
      const v = r.value[key];
      if (v && !('error' in v)) refMs[key] = best(refMs[key], v.ms);
    }
  }
  const impl = (key: 'numpy' | 'torch'): { impl: RefImpl | null; note: string } => {
    if (!ref.ok) return { impl: null, note: `unavailable (${ref.reason})` };
    const r = ref.value[key];
    if (!r || 'error' in r || !refMs[key]) return { impl: null, note: `unavailable (${r && 'error' in r ? r.error : 'no output'})` };
    const extra = r.blas?.length ? ` → ${r.blas.join(', ')}` : '';
    return { impl: { ...r, ms: refMs[key]! }, note: `${r.name}, ${r.threads} threads${extra}` };
  };
  const np = impl('numpy'), th = impl('torch');
  lastReference = { numpy: np.note, torch: th.note };
  const ims = imixMs!;

  const rows: BenchRow[] = [];
  const push = (name: string, shape: string, ms: number, fl: number, refName: string, refMs: number | null) =>
    rows.push({
      name,
      shape,
      imixMs: ms,
      imixRate: fl / ms / 1e6,
      rateUnit: 'GFLOP/s',
      refName: refMs == null ? null : refName,
      refMs,
      ratio: refMs == null ? null : refMs / ms,
    });
  const refs = [
    { label: 'OpenBLAS sgemm (numpy)', r: np.impl },
    { label: 'torch.matmul', r: th.impl },
  ];
  cases.forEach((c, i) => {
    for (const { label, r } of refs) push(c.name, shapeOf(c), ims[i]!, flops(c), label, r ? r.ms[i]! : null);
  });
  const total = ims.reduce((a, b) => a + b, 0);
  const totalFlops = cases.reduce((a, c) => a + flops(c), 0);
  for (const { label, r } of refs)
    push('training step (all gemms)', `${cases.length} gemms`, total, totalFlops, label, r ? r.ms.reduce((a, b) => a + b, 0) : null);
  return rows;
}

async function main(): Promise<void> {
  console.log(header());
  const rows = await benchGemm();
  console.log(`reference (a): ${lastReference.numpy}`);
  console.log(`reference (b): ${lastReference.torch}`);
  if (rows.every((r) => r.refName == null)) console.log('reference: unavailable');
  console.log('MLP 784-512-512-128, batch 512: the gemms of one training step (median of 15 after warm-up; best of 2 alternating rounds)');
  console.log(formatTable(rows));
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
