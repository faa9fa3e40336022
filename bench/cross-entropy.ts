/**
 * Benchmark: imix's fused mixed cross-entropy (i-Mix targets: permutation +
 * per-row λ; loss and in-place dlogits in one pass per row) against the same
 * work in PyTorch (log_softmax + gather of the two target columns + λ-weighted
 * loss + backward to the logits), for N ∈ {256, 512, 1024} and
 * M ∈ {N, N+1024, N+4096} (the N-pair and MoCo-i-Mix logit shapes).
 *
 * Run: `node dist/bench/cross-entropy.js` (after `npx tsc -p .`).
 * The PyTorch side runs bench/cross_entropy_ref.py on /usr/bin/python3
 * (override with IMIX_PYTHON); without python/torch it prints
 * "reference: unavailable".
 * @module
 */
import { Tensor, ops } from '../lib/index';
import { type BenchRow, benchFile, fill, formatTable, header, median, pythonRef } from './common';

// ---- the benchmark ----------------------------------------------------------

interface RefOut {
  torch: string;
  threads: number;
  results: Array<{ N: number; M: number; ms: number }>;
}

function sizes(): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const N of [256, 512, 1024]) for (const M of [N, N + 1024, N + 4096]) out.push([N, M]);
  return out;
}

function imixPermLam(N: number): { perm: Tensor<'int32'>; lam: Tensor<'float32'> } {
  const u = fill(N, 7 + N, 1).map((v) => (v + 1) / 2); // [0, 1)
  const p = Int32Array.from({ length: N }, (_, i) => i);
  for (let i = N - 1; i > 0; i--) {
    const j = Math.floor(u[i]! * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  const lam = u.map((v) => Math.max(v, 1 - v)); // i-Mix: λ = max(λ, 1 − λ)
  return { perm: Tensor.from(p), lam: Tensor.from(lam) };
}

/** Times imix and (when available) PyTorch on every size; returns one row per size. */
export async function benchCrossEntropy(): Promise<BenchRow[]> {
  const all = sizes();
  const r = pythonRef<RefOut>(benchFile('cross_entropy_ref.py'), [JSON.stringify({ sizes: all, warmup: 3, reps: 15 })]);
  const ref = r.ok ? r.value : null;
  const rows: BenchRow[] = [];
  for (const [N, M] of all) {
    const logits = Tensor.from(fill(N * M, N * 31 + M, 6), [N, M]);
    const { perm, lam } = imixPermLam(N);
    // In place: after the first call the tensor holds dlogits (values in
    // [−1, 1]), which are as good logits as any for timing: the work does
    // not depend on the values.
    const reps = N * M > 2_000_000 ? 30 : 60;
    const ms = median(() => {
      ops.mixedCrossEntropy(logits, { perm, lam, scale: 1 / N });
    }, reps);
    logits.dispose();
    perm.dispose();
    lam.dispose();
    const bytes = 2 * N * M * 4; // read + write of the logits
    const refMs = ref?.results.find((r) => r.N === N && r.M === M)?.ms ?? null;
    rows.push({
      name: 'mixed cross-entropy (i-Mix)',
      shape: `${N}x${M}`,
      imixMs: ms,
      imixRate: bytes / (ms * 1e6),
      rateUnit: 'GB/s',
      refName: ref ? `torch ${ref.torch} log_softmax+gather+backward (${ref.threads} threads)` : null,
      refMs,
      ratio: refMs != null ? refMs / ms : null,
    });
  }
  return rows;
}

async function main(): Promise<void> {
  console.log(header());
  const rows = await benchCrossEntropy();
  if (rows.every((r) => r.refMs == null)) console.log('reference: unavailable');
  console.log('fused mixed cross-entropy, loss + in-place dlogits (times are medians; imix/ref > 1: imix faster)');
  console.log(formatTable(rows));
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
