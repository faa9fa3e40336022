/**
 * Benchmark: how cost grows (issue 17).
 *
 * 1. The NPair + i-Mix training step of bench/train-step.ts (MLP
 *    784-512-512, head 512-512-128, input-drop views, MixUp, SGD) over batch
 *    64 … 4096: time per sample, GFLOP/s over the step's gemm FLOPs (the
 *    Linear layers over 2N rows and the N-pair logits, 6·N²·D, which grow
 *    as N per sample) and the fraction of the machine's FMA peak; against
 *    the same step in PyTorch (bench/train_step_ref.py) at its fastest
 *    setting for each batch.
 * 2. MoCo + i-Mix over the queue size K = 1,024 … 65,536 at batch 256: the
 *    whole step (`MoCo.stepOn`) per sample, and the loss part alone —
 *    `losses.InfoNCE.forwardBackward`: the N×(N+K) logits q·[k; queue]ᵀ/τ,
 *    the fused soft-target cross-entropy and dL/dq — with the bytes the
 *    logits matrix occupies, its time per logit, against the same loss part
 *    in PyTorch (bench/scaling_ref.py). The CPU's cache sizes are printed,
 *    so that where the time per logit rises can be set against them.
 *
 * imix and PyTorch are timed in alternating rounds (bench/common.ts).
 *
 * Run: `imix bench scaling` or `node dist/bench/scaling.js [--markdown]`
 * (after `npx tsc -p .`). Environment: IMIX_BENCH_QUICK=1 (fewer rounds
 * and steps), IMIX_BENCH_SMOKE=1 (tiny batches and queues, one step each:
 * proves the benchmark runs, measures nothing), IMIX_BENCH_FILTER=batch or
 * =queue (one part only).
 * @module
 */
import { MoCo, Tensor, losses, nn, setNumThreads, views } from '../lib/index';
import {
  type CacheLevel,
  type FmaPeak,
  RefServer,
  type RefTimes,
  alternateRounds,
  benchFile,
  cacheSizes,
  cpuDetails,
  defaultThreads,
  fill,
  formatBytes,
  header,
  logitsGemmFlops,
  medianOf,
  mlpGemmFlops,
  mlpLayers,
  peakFma,
  peakFor,
  peakLine,
  textTable,
  timeEach,
  type TimedStep,
  envFlag,
  stepLoop,
} from './common';
import { MLP_STEP, TORCH_CONFIGS, mlpData, npairStep } from './train-step';

const SMOKE = envFlag('IMIX_BENCH_SMOKE');
const QUICK = !SMOKE && envFlag('IMIX_BENCH_QUICK');
const FILTER = process.env.IMIX_BENCH_FILTER ?? '';

const WIDTHS = [784, 512, 512];
const HEAD: [number, number] = [512, 128];
const D = HEAD[1];
const LAYERS = mlpLayers(WIDTHS, HEAD);

/** What is run: batch sizes, queue sizes, and how many steps. */
const PLAN = SMOKE
  ? { mode: 'smoke (IMIX_BENCH_SMOKE)', batches: [64, 128], samples: 64, rounds: 1, mocoBatch: 64, queues: [256, 512], lossReps: 1, stepReps: 1 }
  : QUICK
    ? { mode: 'quick (IMIX_BENCH_QUICK)', batches: [64, 128, 256, 512, 1024, 2048, 4096], samples: 1024, rounds: 2, mocoBatch: 256, queues: [1024, 4096, 16384, 65536], lossReps: 10, stepReps: 3 }
    : { mode: 'full', batches: [64, 128, 256, 512, 1024, 2048, 4096], samples: 4096, rounds: 3, mocoBatch: 256, queues: [1024, 2048, 4096, 8192, 16384, 32768, 65536], lossReps: 40, stepReps: 10 };

/**
 * Gemm FLOPs of one NPair + i-Mix step at batch `n`: the Linear layers over
 * both views (2N rows, {@link mlpGemmFlops}) plus the N×N logits forward and
 * backward with the key gradient (6·N²·D, {@link logitsGemmFlops}).
 */
export function npairStepFlops(n: number): { layers: number; logits: number } {
  return { layers: mlpGemmFlops(2 * n, LAYERS), logits: logitsGemmFlops(n, n, D, true) };
}

/**
 * Gemm FLOPs of one MoCo + i-Mix step at batch `n` with a queue of `k`
 * keys: the query network forward and backward over N rows, the key network
 * forward only, and the N×(N+K) logits forward and dL/dq (4·N·(N+K)·D; the
 * key network takes no gradient).
 */
export function mocoStepFlops(n: number, k: number): { layers: number; logits: number } {
  return { layers: mlpGemmFlops(n, LAYERS) + mlpGemmFlops(n, LAYERS, false), logits: logitsGemmFlops(n, n + k, D, false) };
}

const settle = (ms = 300) => new Promise<void>((r) => setTimeout(r, SMOKE ? 10 : ms));

interface RefInfo {
  torch: string;
  threads: number;
}
type Server = RefServer<RefInfo, { ms: number[] }>;

/** One PyTorch setting's server, kept across rows; null once it failed. */
interface TorchSide {
  label: string;
  server: Server | null;
}

/** Starts one server of `script` per PyTorch setting; `why` gets the last failure. */
async function startServers(script: string, args: (threads: number | null) => string[]): Promise<{ sides: TorchSide[]; why: string }> {
  const sides: TorchSide[] = [];
  let why = '';
  for (const c of TORCH_CONFIGS) {
    const server = await RefServer.start<RefInfo, { ms: number[] }>(benchFile(script), args(c.threads));
    if (!server) why = RefServer.lastError;
    sides.push({ label: c.label, server });
  }
  return { sides, why };
}

/** The imix time and the fastest PyTorch setting's, medians, for one row. */
interface Timed {
  imixMs: number;
  ref: { label: string; ms: number } | null;
}

/** {@link alternateRounds} over the live servers of `sides`, for one row; a server that dies is dropped from `sides` too. */
async function timeRow(step: () => void, sides: TorchSide[], reps: number, request: Record<string, unknown>, notes: string[]): Promise<Timed> {
  const refs: Array<RefTimes & { side: TorchSide }> = sides.filter((s) => s.server).map((s) => ({ side: s, server: s.server as RefTimes['server'], ms: [], rounds: [] }));
  const t = await alternateRounds(step, refs, PLAN.rounds, reps, () => settle(), request);
  for (const r of refs) if (!r.server) r.side.server = null;
  if (t.note) notes.push(t.note);
  const best = t.best;
  const info = best?.side.server?.info;
  return {
    imixMs: medianOf(t.ms),
    ref: best ? { label: best.side.label.startsWith('default') ? `${best.side.label} (${info?.threads ?? '?'})` : best.side.label, ms: medianOf(best.ms) } : null,
  };
}

/** One row of part 1. */
export interface BatchRow {
  batch: number;
  imixMs: number;
  flops: { layers: number; logits: number };
  /** The fastest PyTorch setting at this batch and its median step time. */
  ref: { label: string; ms: number } | null;
}

/** Part 1: the NPair + i-Mix step at each batch of the plan. */
async function benchBatches(notes: string[]): Promise<{ rows: BatchRow[]; torch: string | null }> {
  const { sides, why } = await startServers('train_step_ref.py', (threads) => [JSON.stringify({ batch: PLAN.batches[0], widths: WIDTHS, head: HEAD, threads })]);
  if (why) notes.push(why);
  const torch = sides.find((s) => s.server)?.server?.info.torch ?? null;
  const rows: BatchRow[] = [];
  try {
    for (const batch of PLAN.batches) {
      const s = npairStep(batch);
      try {
        for (let i = 0; i < (SMOKE ? 1 : 2); i++) s.step();
        const reps = Math.max(SMOKE ? 1 : 2, Math.round(PLAN.samples / batch));
        const t = await timeRow(s.step, sides, reps, { batch }, notes);
        rows.push({ batch, imixMs: t.imixMs, flops: npairStepFlops(batch), ref: t.ref });
      } finally {
        s.dispose();
      }
    }
  } finally {
    for (const s of sides) s.server?.close();
  }
  return { rows, torch };
}

/** One row of part 2. */
export interface QueueRow {
  k: number;
  /** The whole MoCo + i-Mix step (imix only). */
  stepMs: number;
  /** The loss part: logits, fused cross-entropy, dL/dq. */
  lossMs: number;
  /** The fastest PyTorch setting's loss part. */
  ref: { label: string; ms: number } | null;
}

/** A MoCo + i-Mix model with a queue of `k` keys, built on 4096 rows of data: `step()` runs one training step. */
function mocoStep(batch: number, k: number): TimedStep {
  const m = new MoCo({ ...MLP_STEP, queueSize: k });
  m.build([WIDTHS[0]!]);
  return stepLoop(m, mlpData(), batch);
}

/** The loss part of a MoCo + i-Mix step alone, on unit-norm random q, k [N, D] and queue [K, D], with an i-Mix draw. */
function mocoLoss(n: number, k: number): { step: () => void; dispose: () => void } {
  const bank = (rows: number, seed: number) => new nn.MemoryBank(rows, D, { init: { seed, offset: 0 } });
  const qb = bank(n, 2), kb = bank(n, 3), queue = bank(k, 4);
  const dq = Tensor.zeros([n, D]);
  // A fixed permutation (a rotation by one) and λ in [0.5, 1), as i-Mix draws them.
  const perm = Tensor.from(Int32Array.from({ length: n }, (_, i) => (i + 1) % n), [n]);
  const lam = Tensor.from(fill(n, 7, 0.25).map((v) => 0.75 + v), [n]);
  const nce = new losses.InfoNCE({ temperature: 0.2, device: () => 'cpu' });
  return {
    step: () => void nce.forwardBackward({ q: qb.keys, k: kb.keys, negatives: queue.keys, mix: { perm, lam }, dq }),
    dispose: () => {
      nce.dispose();
      for (const t of [dq, perm, lam]) t.dispose();
      for (const b of [qb, kb, queue]) b.dispose();
    },
  };
}

/** Part 2: MoCo + i-Mix at each queue size of the plan. */
async function benchQueues(notes: string[]): Promise<{ rows: QueueRow[]; torch: string | null }> {
  const n = PLAN.mocoBatch;
  const { sides, why } = await startServers('scaling_ref.py', (threads) => [JSON.stringify({ threads })]);
  if (why) notes.push(why);
  const torch = sides.find((s) => s.server)?.server?.info.torch ?? null;
  const rows: QueueRow[] = [];
  try {
    for (const k of PLAN.queues) {
      // Repetitions scaled so that each burst does about the same work at every K.
      const scale = Math.max(1, (PLAN.queues[0]! + n) / (k + n));
      const loss = mocoLoss(n, k);
      let t: Timed;
      try {
        loss.step();
        t = await timeRow(loss.step, sides, Math.max(SMOKE ? 1 : 3, Math.round(PLAN.lossReps * scale)), { N: n, K: k, D }, notes);
      } finally {
        loss.dispose();
      }
      const s = mocoStep(n, k);
      let stepMs: number;
      try {
        for (let i = 0; i < (SMOKE ? 1 : 2); i++) s.step();
        // As many bursts as the loss part's rounds, a pause before each, so that a burst of load from elsewhere is one of several.
        const all: number[] = [];
        for (let r = 0; r < PLAN.rounds; r++) {
          await settle();
          all.push(...timeEach(s.step, Math.max(SMOKE ? 1 : 5, Math.round(PLAN.stepReps * Math.sqrt(scale)))));
        }
        stepMs = medianOf(all);
      } finally {
        s.dispose();
      }
      rows.push({ k, stepMs, lossMs: t.imixMs, ref: t.ref });
    }
  } finally {
    for (const s of sides) s.server?.close();
  }
  return { rows, torch };
}

/**
 * The smallest cache level that holds `bytes`, counting a private level
 * (shared by one CPU) once per thread (`threads` cores each hold their share);
 * `'memory'` when none does.
 */
export function fitsIn(bytes: number, caches: readonly CacheLevel[], threads: number): string {
  for (const c of caches) {
    const privateLevel = !/[-,]/.test(c.sharedBy);
    if (bytes <= c.bytes * (privateLevel ? threads : 1)) return c.name;
  }
  return caches.length ? 'memory' : '?';
}

function cacheLine(caches: CacheLevel[]): string {
  if (!caches.length) return 'caches: unknown (no /sys/devices/system/cpu/cpu0/cache)';
  return `caches (cpu0, /sys/devices/system/cpu/cpu0/cache): ${caches
    .map((c) => `${c.name} ${formatBytes(c.bytes)}${/[-,]/.test(c.sharedBy) ? ` shared by CPUs ${c.sharedBy}` : ' per core'}`)
    .join(', ')}`;
}

const pct = (v: number) => `${(100 * v).toFixed(0)}%`;

async function main(): Promise<void> {
  const md = process.argv.includes('--markdown');
  const out = (title: string, body: string) => console.log(`\n${md ? '### ' : '== '}${title}\n${body}`);
  const p = SMOKE ? ({ ok: false, reason: 'not measured in a smoke run' } as const) : peakFma();
  const peak: FmaPeak | null = p.ok ? p.value : null;
  const caches = cacheSizes();
  const head = [header(), cpuDetails(), peakLine(p), cacheLine(caches), `run: ${PLAN.mode}${FILTER ? `, IMIX_BENCH_FILTER=${FILTER}` : ''}; imix at ${defaultThreads} threads (its default)`];
  console.log(md ? '```\n' + head.join('\n') + '\n```' : head.join('\n'));
  setNumThreads(defaultThreads);
  const T = defaultThreads;
  const rateOf = (flops: number, ms: number) => flops / (ms * 1e6);
  const notes: string[] = [];
  const ABOVE_PEAK =
    'a rate above the measured FMA peak: other processes loaded the cores while the peak was measured, so it is low (rerun on a quiet machine)';
  const ofPeak = (flops: number, ms: number) => {
    if (!peak) return '-';
    const f = rateOf(flops, ms) / peakFor(peak, T);
    if (f > 1) notes.push(ABOVE_PEAK);
    return pct(f);
  };

  if (!FILTER || 'batch'.includes(FILTER)) {
    await settle();
    const { rows, torch } = await benchBatches(notes);
    const body = textTable(
      ['batch', 'step ms', 'µs/sample', 'gemm MFLOP/sample (layers + logits)', 'GFLOP/s', 'of FMA peak', 'one [2N, 512] activation', 'PyTorch µs/sample (fastest setting)', 'PyTorch / imix'],
      rows.map((r) => {
        const f = r.flops.layers + r.flops.logits;
        return [
          String(r.batch),
          r.imixMs.toFixed(2),
          ((1000 * r.imixMs) / r.batch).toFixed(1),
          `${(f / r.batch / 1e6).toFixed(2)} (${(r.flops.layers / r.batch / 1e6).toFixed(2)} + ${(r.flops.logits / r.batch / 1e6).toFixed(2)})`,
          rateOf(f, r.imixMs).toFixed(1),
          ofPeak(f, r.imixMs),
          `${formatBytes(2 * r.batch * 512 * 4)} (${fitsIn(2 * r.batch * 512 * 4, caches, T)})`,
          r.ref ? `${((1000 * r.ref.ms) / r.batch).toFixed(1)} (${r.ref.label})` : 'unavailable',
          r.ref ? (r.ref.ms / r.imixMs).toFixed(2) : '-',
        ];
      }),
      md,
      [0, 7],
    );
    out(
      `NPair + i-Mix step over the batch size (MLP ${WIDTHS.join('-')}, head ${WIDTHS[2]}-${HEAD.join('-')}; median of ${PLAN.rounds} alternating rounds of ~${PLAN.samples} samples; ${torch ? `torch ${torch}` : 'PyTorch unavailable'})`,
      body,
    );
    if (rows.length > 1) {
      const perSample = (r: BatchRow) => r.imixMs / r.batch;
      const flopsPer = (r: BatchRow) => (r.flops.layers + r.flops.logits) / r.batch;
      const rate = (r: BatchRow) => rateOf(r.flops.layers + r.flops.logits, r.imixMs);
      const best = rows.reduce((a, b) => (perSample(b) < perSample(a) ? b : a));
      const first = rows[0]!, last = rows[rows.length - 1]!;
      const parts = [`µs/sample is lowest at batch ${best.batch} (${(1000 * perSample(best)).toFixed(1)}, ${rate(best).toFixed(0)} GFLOP/s)`];
      if (first !== best)
        parts.push(`batch ${first.batch}: ${(perSample(first) / perSample(best)).toFixed(2)}x that, at ${rate(first).toFixed(0)} GFLOP/s`);
      if (last !== best)
        parts.push(
          `batch ${last.batch}: ${(perSample(last) / perSample(best)).toFixed(2)}x = ${(flopsPer(last) / flopsPer(best)).toFixed(2)}x the gemm work per sample ` +
            `(the N-pair logits, 6·N·D FLOP per sample) × ${(rate(best) / rate(last)).toFixed(2)}x the time per FLOP (${rate(last).toFixed(0)} GFLOP/s)`,
        );
      console.log(parts.join('; '));
    }
  }

  if (!FILTER || 'queue'.includes(FILTER)) {
    await settle();
    const n = PLAN.mocoBatch;
    const { rows, torch } = await benchQueues(notes);
    const body = textTable(
      ['K', 'logits N×(N+K)', 'logits bytes (fits in)', 'step ms', 'step µs/sample', 'step GFLOP/s', 'loss part ms', 'loss share of step', 'ns per logit', 'loss gemm GFLOP/s', 'PyTorch loss ms (fastest setting)', 'PyTorch / imix'],
      rows.map((r) => {
        const f = mocoStepFlops(n, r.k);
        const bytes = n * (n + r.k) * 4;
        return [
          String(r.k),
          `${n}x${n + r.k}`,
          `${formatBytes(bytes)} (${fitsIn(bytes, caches, T)})`,
          r.stepMs.toFixed(2),
          ((1000 * r.stepMs) / n).toFixed(1),
          rateOf(f.layers + f.logits, r.stepMs).toFixed(1),
          r.lossMs.toFixed(3),
          pct(r.lossMs / r.stepMs),
          ((1e6 * r.lossMs) / (n * (n + r.k))).toFixed(3),
          rateOf(f.logits, r.lossMs).toFixed(1),
          r.ref ? `${r.ref.ms.toFixed(3)} (${r.ref.label})` : 'unavailable',
          r.ref ? (r.ref.ms / r.lossMs).toFixed(2) : '-',
        ];
      }),
      md,
      [0, 1, 2, 10],
    );
    out(
      `MoCo + i-Mix over the queue size K (batch ${n}, D = ${D}; loss part = losses.InfoNCE.forwardBackward: logits q·[k; queue]ᵀ/τ, fused cross-entropy, dL/dq; median of ${PLAN.rounds} alternating rounds; ${torch ? `torch ${torch}` : 'PyTorch unavailable'})`,
      body,
    );
    if (rows.length > 1) {
      const perLogit = (r: QueueRow) => r.lossMs / (n * (n + r.k));
      const best = rows.reduce((a, b) => (perLogit(b) < perLogit(a) ? b : a));
      let lastFlat = best;
      for (const r of rows.filter((x) => x.k > best.k)) {
        if (perLogit(r) > 1.2 * perLogit(best)) break;
        lastFlat = r;
      }
      const after = rows.find((r) => r.k > lastFlat.k);
      const bytes = (k: number) => n * (n + k) * 4;
      console.log(
        `loss part: ${(1e6 * perLogit(best)).toFixed(3)} ns per logit at best (K = ${best.k}); within 20% of that up to K = ${lastFlat.k} (logits ${formatBytes(bytes(lastFlat.k))}, in ${fitsIn(bytes(lastFlat.k), caches, T)})` +
          (after
            ? `; ${(perLogit(after) / perLogit(best)).toFixed(2)}x at K = ${after.k} (logits ${formatBytes(bytes(after.k))}, in ${fitsIn(bytes(after.k), caches, T)})` +
              (after !== rows[rows.length - 1] ? `, ${(perLogit(rows[rows.length - 1]!) / perLogit(best)).toFixed(2)}x at K = ${rows[rows.length - 1]!.k}` : '')
            : `; no rise after it up to the largest K`),
      );
    }
  }
  const refNotes = notes.filter((x) => x !== ABOVE_PEAK);
  if (refNotes.length) console.log(`reference: ${[...new Set(refNotes)].join('; ')}`);
  if (notes.includes(ABOVE_PEAK)) console.log(`note: ${ABOVE_PEAK}`);
  if (SMOKE) console.log('\nsmoke run (IMIX_BENCH_SMOKE): tiny batches and queues; the times measure nothing');
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
