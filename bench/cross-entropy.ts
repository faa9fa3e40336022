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
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Tensor, info, ops } from '../lib/index';

// ---- local stand-ins for bench/common.ts (same names and fields) ----------

/** One benchmark result line. */
export interface BenchRow {
  name: string;
  shape: string;
  imixMs: number;
  imixRate: number;
  rateUnit: string;
  refName: string;
  refMs: number | null;
  /** refMs / imixMs (> 1: imix is faster). */
  ratio: number | null;
}

/** Median wall time of `fn` in milliseconds over `reps` timed calls, after 3 warm-up calls. */
export function median(fn: () => void, reps: number): number {
  for (let i = 0; i < 3; i++) fn();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)]!;
}

function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'bench'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

/**
 * Runs bench/<script> on the reference Python (/usr/bin/python3, or
 * $IMIX_PYTHON) with `args` as JSON in argv[1]; returns its JSON stdout, or
 * null when python, torch or the script is unavailable or fails.
 */
export function pythonRef<T = unknown>(script: string, args: unknown): T | null {
  const python = process.env.IMIX_PYTHON ?? '/usr/bin/python3';
  const file = path.join(packageRoot(), 'bench', script);
  if (!fs.existsSync(file)) return null;
  const r = spawnSync(python, [file, JSON.stringify(args)], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0 || !r.stdout) return null;
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
  } catch {
    return null;
  }
}

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

/** Deterministic test data without pulling in the test helpers. */
function fill(n: number, seed: number, scale: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    out[i] = ((a / 4294967296) * 2 - 1) * scale;
  }
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
  const ref = pythonRef<RefOut>('cross_entropy_ref.py', { sizes: all, warmup: 3, reps: 15 });
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
      refName: ref ? `torch ${ref.torch} log_softmax+gather+backward (${ref.threads} threads)` : 'reference: unavailable',
      refMs,
      ratio: refMs != null ? refMs / ms : null,
    });
  }
  return rows;
}

function machine(): string {
  const cpus = os.cpus();
  const i = info();
  return `${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores; imix ${i.version}, ${i.threads} threads, simd ${i.simd.join('/') || 'none'}`;
}

async function main(): Promise<void> {
  console.log(`machine: ${machine()}`);
  const rows = await benchCrossEntropy();
  if (rows.every((r) => r.refMs == null)) console.log('reference: unavailable');
  else console.log(`reference: ${rows[0]!.refName}`);
  const head = ['shape', 'imix ms', 'GB/s', 'torch ms', 'torch/imix'];
  const lines = rows.map((r) => [
    r.shape,
    r.imixMs.toFixed(3),
    r.imixRate.toFixed(1),
    r.refMs != null ? r.refMs.toFixed(3) : '-',
    r.ratio != null ? `${r.ratio.toFixed(1)}x` : '-',
  ]);
  const w = head.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c]!.length)));
  const fmt = (l: string[]) => l.map((s, c) => (c === 0 ? s.padEnd(w[c]!) : s.padStart(w[c]!))).join('  ');
  console.log(fmt(head));
  for (const l of lines) console.log(fmt(l));
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
