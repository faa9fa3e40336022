/**
 * Benchmark: one full training step of NPair + i-Mix — input-drop views,
 * MixUp of the query view, MLP encoder 784-512-512 (Linear+BatchNorm+ReLU),
 * projection head 512-512-128, N-pair soft-target loss, backward, SGD with
 * momentum and weight decay — at batch 256 (a 512-row forward), against the
 * same step in PyTorch (bench/train_step_ref.py) on the same machine. In the
 * same run: the machine's fp32 FMA peak (bench/peak-fma.c, compiled with the
 * system C compiler) and the step's fraction of it over its gemm FLOPs; and
 * the step at 1 thread and at imix's default thread count, each alone and
 * with one CPU-bound competitor process running (issue 17: with a
 * competitor, the default must be at most 10% slower than 1 thread). And
 * the same step with `precision: 'bf16'` (bfloat16 gemm inputs, fp32
 * accumulation) against fp32, with the step's gemms alone at both, as
 * fractions of the fp32 FMA peak and of the bf16 dot-product peak (the
 * second line of bench/peak-fma.c, where the CPU has AVX512_BF16).
 *
 * Run: `imix bench train-step` or `node dist/bench/train-step.js [--markdown]`
 * (after `npx tsc -p .`). IMIX_BENCH_QUICK=1: fewer rounds and steps.
 * @module
 */
import { NPair, type Precision, Tensor, info, ops, setNumThreads, views } from '../lib/index';
import {
  type BenchRow,
  type FmaPeak,
  RefServer,
  alternateRounds,
  benchFile,
  bf16PeakFor,
  cpuDetails,
  defaultThreads,
  fill,
  formatTable,
  header,
  markdownTable,
  medianOf,
  mlpGemmFlops,
  mlpLayers,
  peakFma,
  peakFor,
  peakLine,
  startCompetitor,
  textTable,
  timeEach,
  type TimedStep,
  stepLoop,
} from './common';
import { mlpStepCases } from './gemm';

const BATCH = 256;
const WIDTHS = [784, 512, 512];
const HEAD: [number, number] = [512, 128];
const QUICK = !!process.env.IMIX_BENCH_QUICK && process.env.IMIX_BENCH_QUICK !== '0';

/**
 * Gemm FLOPs of one step at batch `batch` (the network runs both views, 2N
 * rows; see {@link mlpGemmFlops}): the Linear layers only, 2.634 GFLOP at
 * batch 256. The N-pair logits gemms (6·N²·D, 0.05 GFLOP at N = 256, D =
 * 128) are left out, as in the numbers bench/README.md and issue 17 quote.
 */
export function trainStepFlops(batch = BATCH): number {
  return mlpGemmFlops(2 * batch, mlpLayers(WIDTHS, HEAD));
}

interface RefInfo {
  torch: string;
  threads: number;
}

/**
 * The PyTorch configurations timed. Debian's python3-torch links the
 * pthreads OpenBLAS, whose own thread pool runs every matmul on all cores.
 * `torch.set_num_threads(T)` (as many threads as imix) adds an OpenMP pool
 * that spin-waits on the same cores, and every matmul after an elementwise
 * op then competes with it: on the dev machine that step is ~2.5× slower
 * than PyTorch's own default. Both are timed; the headline ratio is against
 * the faster, so imix is compared with PyTorch at its best on the machine,
 * not with a contended configuration.
 */
export const TORCH_CONFIGS: Array<{ label: string; threads: number | null }> = [
  { label: 'default threads', threads: null },
  { label: `set_num_threads(${defaultThreads})`, threads: defaultThreads },
];

/**
 * A built NPair + i-Mix model of this benchmark at `batch`, with 4096 rows of
 * data, its Linear layers' gemms at `precision`: `step()` runs one training
 * step (`stepOn`), `dispose()` frees it. Batch rows are chosen outside the
 * timed step, as fit() does (one shuffle per epoch, then a subarray per step).
 */
export function npairStep(batch = BATCH, precision: Precision = 'fp32'): TimedStep {
  const m = new NPair({ ...MLP_STEP, precision });
  m.build([WIDTHS[0]!]);
  return stepLoop(m, mlpData(), batch);
}

/** The options of this benchmark's method but its kind (MLP 784-512-512, head 512-128, MixUp, input drop, SGD). */
export const MLP_STEP = {
  encoder: { kind: 'mlp' as const, hidden: WIDTHS.slice(1) },
  projection: HEAD,
  mix: { kind: 'mixup' as const, alpha: 1 },
  views: views.inputDrop(0.2),
  optimizer: { kind: 'sgd' as const, lr: 0.05, momentum: 0.9, weightDecay: 5e-4 },
  seed: 1,
};

/** 4096 rows of 784 values in [0, 1) for the MLP steps. */
export function mlpData(): Tensor<'float32'> {
  const rowsInData = 4096;
  return Tensor.from(fill(rowsInData * WIDTHS[0]!, 5, 0.5).map((v) => v + 0.5), [rowsInData, WIDTHS[0]!]);
}

/** Extra output of the last {@link benchTrainStep}: per-round ratios against the fastest PyTorch. */
export let lastTrainStep: { rounds: number; reps: number; ratios: number[]; note: string } = { rounds: 0, reps: 0, ratios: [], note: '' };

const settle = () => new Promise<void>((r) => setTimeout(r, 300));

/**
 * Times the imix step and the PyTorch step in alternating rounds (`rounds`
 * rounds of `reps` steps each, imix then every PyTorch configuration), so
 * that load from other processes falls on both; medians over all steps.
 * One row per PyTorch configuration. imix runs at `threads` (default: its
 * own default thread count).
 */
export async function benchTrainStep(threads = defaultThreads, reps = 20, rounds = 10): Promise<BenchRow[]> {
  setNumThreads(threads);
  const s = npairStep();
  for (let i = 0; i < 3; i++) s.step();

  const cfg = { batch: BATCH, widths: WIDTHS, head: HEAD };
  const refs: Array<{ label: string; server: RefServer<RefInfo, { ms: number[] }> | null; ms: number[]; rounds: number[] }> = [];
  let note = '';
  let timed: Awaited<ReturnType<typeof alternateRounds<(typeof refs)[number]>>>;
  try {
    for (const c of TORCH_CONFIGS) {
      const server = await RefServer.start<RefInfo, { ms: number[] }>(benchFile('train_step_ref.py'), [JSON.stringify({ ...cfg, threads: c.threads })]);
      if (!server) note = RefServer.lastError;
      refs.push({ label: c.label, server, ms: [], rounds: [] });
    }
    timed = await alternateRounds(s.step, refs, rounds, reps, settle);
  } finally {
    for (const ref of refs) ref.server?.close();
    s.dispose();
  }
  const ms = medianOf(timed.ms);
  note = timed.note || note;
  const flops = trainStepFlops();
  lastTrainStep = { rounds, reps, ratios: timed.ratios, note: note ? `reference: ${note}` : '' };
  const info = refs.map((r) => r.server?.info);
  return refs.map((ref, i) => ({
    name: 'NPair + i-Mix training step',
    shape: `batch ${BATCH}, MLP ${WIDTHS.join('-')}, head ${WIDTHS[2]}-${HEAD.join('-')}`,
    imixMs: ms,
    imixRate: flops / (ms * 1e6),
    rateUnit: 'GFLOP/s',
    refName: ref.ms.length ? `torch ${info[i]?.torch ?? ''}, ${ref.label} (${info[i]?.threads ?? '?'})${ref === timed.best ? ' [fastest]' : ''}` : null,
    refMs: ref.ms.length ? medianOf(ref.ms) : null,
    ratio: ref.ms.length ? medianOf(ref.ms) / ms : null,
  }));
}

/** One setting of {@link benchContention}: imix's thread count (`'auto'`: the governor's choice), whether the competitor ran, and the step times. */
export interface ContentionRow {
  threads: number | 'auto';
  competitor: boolean;
  /** Every timed step, in milliseconds. */
  ms: number[];
  /** Each round's median. */
  rounds: number[];
}

/** Untimed steps before each timed burst at `'auto'`: the governor's reaction to the change of load (a slowdown probe: ~10 steps). */
const AUTO_SETTLE_STEPS = 30;

/**
 * The same step at 1 thread, at `threads` fixed, and at `'auto'` (imix's
 * default: the thread governor, lib/threads.ts), each alone and with one
 * CPU-bound competitor process (bench/common.ts's startCompetitor) running:
 * `rounds` rounds, each timing `reps` steps of every setting (alone first;
 * then the competitor is started, given 300 ms to spin up, every setting
 * timed, and killed). A 300 ms pause and one untimed step precede every
 * timed burst, so that idle pools have gone to sleep and a changed thread
 * count has its threads; at `'auto'`, {@link AUTO_SETTLE_STEPS} untimed
 * steps let the governor see the load first (a lasting competitor is what
 * is measured, not the first steps after it starts).
 */
export async function benchContention(threads = defaultThreads, reps = 10, rounds = 4): Promise<ContentionRow[]> {
  const counts: Array<number | 'auto'> = threads === 1 ? [1] : [1, threads, 'auto'];
  const rows: ContentionRow[] = [];
  for (const competitor of [false, true]) for (const t of counts) rows.push({ threads: t, competitor, ms: [], rounds: [] });
  const s = npairStep();
  try {
    setNumThreads(threads);
    for (let i = 0; i < 3; i++) s.step();
    for (let r = 0; r < rounds; r++) {
      for (const competitor of [false, true]) {
        const c = competitor ? startCompetitor() : null;
        try {
          if (c) await settle();
          if (c && !c.alive()) throw new Error('the competitor process did not start');
          for (const row of rows.filter((x) => x.competitor === competitor)) {
            setNumThreads(row.threads);
            await settle();
            for (let i = 0; i < (row.threads === 'auto' ? AUTO_SETTLE_STEPS : 1); i++) s.step();
            const t = timeEach(s.step, reps);
            row.ms.push(...t);
            row.rounds.push(medianOf(t));
          }
        } finally {
          await c?.stop();
        }
      }
    }
  } finally {
    setNumThreads('auto');
    s.dispose();
  }
  return rows;
}

/**
 * The gemms of one step alone (bench/gemm.ts's mlpStepCases over the step's
 * 2N rows: the {@link trainStepFlops}), on random operands, as one `step()`
 * at `precision`.
 */
function stepGemms(precision: Precision): TimedStep {
  const cases = mlpStepCases([...WIDTHS, ...HEAD], 2 * BATCH).map((c, i) => ({
    ...c,
    A: Tensor.from(fill(c.M * c.K, 2 * i + 1), c.transA ? [c.K, c.M] : [c.M, c.K]),
    B: Tensor.from(fill(c.K * c.N, 2 * i + 2), c.transB ? [c.N, c.K] : [c.K, c.N]),
    C: Tensor.zeros([c.M, c.N]),
  }));
  return {
    step: () => {
      for (const c of cases) ops.gemm(c.A, c.B, c.C, { transA: c.transA, transB: c.transB, precision });
      return 0;
    },
    dispose: () => {
      for (const c of cases) for (const t of [c.A, c.B, c.C]) t.dispose();
    },
  };
}

/** One setting of {@link benchPrecision}: the whole step or its gemms alone, at one precision, and every timed call. */
export interface PrecisionRow {
  work: 'step' | 'gemms';
  precision: Precision;
  ms: number[];
}

/**
 * The training step and its gemms alone, each at fp32 and at bf16, at
 * `threads` threads: `rounds` rounds, each timing `reps` calls of every
 * setting in turn after one untimed call (so load from other processes falls
 * on all of them). Empty where bf16 cannot run (`info().bf16.reason`).
 */
export async function benchPrecision(threads = defaultThreads, reps = 10, rounds = 5): Promise<PrecisionRow[]> {
  if (!info().bf16.available) return [];
  const precisions: Precision[] = ['fp32', 'bf16'];
  const runs = [
    ...precisions.map((p) => ({ row: { work: 'step' as const, precision: p, ms: [] as number[] }, run: npairStep(BATCH, p) })),
    ...precisions.map((p) => ({ row: { work: 'gemms' as const, precision: p, ms: [] as number[] }, run: stepGemms(p) })),
  ];
  try {
    setNumThreads(threads);
    for (const r of runs) for (let i = 0; i < 3; i++) r.run.step();
    for (let k = 0; k < rounds; k++)
      for (const r of runs) {
        await settle();
        r.run.step();
        r.row.ms.push(...timeEach(r.run.step, reps));
      }
  } finally {
    setNumThreads('auto');
    for (const r of runs) r.run.dispose();
  }
  return runs.map((r) => r.row);
}

/** The precision section of the report: the table, the speed ratios and what bounds them. */
export function precisionReport(rows: PrecisionRow[], peak: FmaPeak | null, threads: number, md: boolean): string {
  const flops = trainStepFlops();
  const ms = (w: PrecisionRow['work'], p: Precision) => medianOf(rows.find((r) => r.work === w && r.precision === p)!.ms);
  const pct = (rate: number, of: number | null) => (of ? `${((100 * rate) / of).toFixed(0)}%` : '-');
  const fp32Peak = peak ? peakFor(peak, threads) : null, bf16Peak = peak ? bf16PeakFor(peak, threads) : null;
  const table = textTable(
    ['work', 'precision', 'ms', 'GFLOP/s', 'of fp32 FMA peak', 'of bf16 dot peak'],
    rows.map((r) => {
      const t = medianOf(r.ms), rate = flops / (t * 1e6);
      const gemm = r.precision === 'bf16' ? "imix's bf16 kernel" : `${info().blas} sgemm`;
      return [r.work === 'step' ? 'training step' : 'its gemms alone', `${r.precision} (${gemm})`, t.toFixed(2), rate.toFixed(1), pct(rate, fp32Peak), pct(rate, bf16Peak)];
    }),
    md,
    [0, 1],
  );
  const lines = [
    table,
    `fp32 ms / bf16 ms (> 1: bf16 faster): step ${(ms('step', 'fp32') / ms('step', 'bf16')).toFixed(2)}, gemms alone ${(ms('gemms', 'fp32') / ms('gemms', 'bf16')).toFixed(2)}`,
  ];
  if (fp32Peak && bf16Peak)
    lines.push(
      `bf16 dot peak / fp32 FMA peak here: ${(bf16Peak / fp32Peak).toFixed(2)}, the most a bf16 gemm can gain over fp32 on this CPU ` +
        '(2 where vdpbf16ps issues as often as a 512-bit FMA, as expected on AMD Zen 4/5; 0.5 on an Intel Emerald Rapids Xeon, which issues it once per 2 cycles against two FMAs per cycle)',
    );
  else lines.push('bf16 dot peak: not measured (bench/peak-fma.c was not compiled for AVX512_BF16)');
  return lines.join('\n');
}

/** Set when a measured rate came out above the measured FMA peak (the peak run met load from elsewhere). */
let abovePeak = false;

/** The fraction of peak of `ms` per step for `flops` at `threads` threads, as `43%`, or `-` without a peak. */
function ofPeak(flops: number, ms: number, peak: FmaPeak | null, threads: number): string {
  if (!peak) return '-';
  const f = flops / (ms * 1e6) / peakFor(peak, threads);
  if (f > 1) abovePeak = true;
  return `${(100 * f).toFixed(0)}%`;
}

async function main(): Promise<void> {
  const md = process.argv.includes('--markdown');
  const out = (title: string, body: string) => console.log(`\n${md ? '### ' : '== '}${title}\n${body}`);
  const p = peakFma();
  const peak = p.ok ? p.value : null;
  const head = [header(), cpuDetails(), peakLine(p)];
  console.log(md ? '```\n' + head.join('\n') + '\n```' : head.join('\n'));
  await settle();

  const [reps, rounds] = QUICK ? [10, 3] : [20, 10];
  const rows = await benchTrainStep(defaultThreads, reps, rounds);
  out(
    `one training step (median of ${lastTrainStep.rounds} alternating rounds × ${lastTrainStep.reps} steps; ref ms / imix ms > 1: imix faster)`,
    md ? markdownTable(rows) : formatTable(rows),
  );
  if (lastTrainStep.note) console.log(lastTrainStep.note);
  if (lastTrainStep.ratios.length)
    console.log(`per-round ratio against the fastest PyTorch: ${lastTrainStep.ratios.map((r) => r.toFixed(2)).join(' ')}`);
  const flops = trainStepFlops();
  const ms = rows[0]!.imixMs;
  console.log(
    `step gemm FLOPs: ${(flops / 1e9).toFixed(3)} GFLOP (Linear layers ${mlpLayers(WIDTHS, HEAD)
      .map(([i, o]) => `${i}x${o}`)
      .join(', ')} over 2N = ${2 * BATCH} rows: forward + weight gradient + input gradient but the first layer's)`,
  );
  if (peak) {
    const pk = peakFor(peak, defaultThreads);
    const frac = flops / (ms * 1e6) / pk;
    if (frac > 1) abovePeak = true;
    console.log(
      `imix step ${ms.toFixed(2)} ms = ${(flops / (ms * 1e6)).toFixed(1)} GFLOP/s = ${(100 * frac).toFixed(0)}% of the ${defaultThreads}-thread FMA peak (${pk.toFixed(1)} GFLOP/s); ` +
        `target >= 70%: ${frac >= 0.7 ? 'met' : 'not met'} (70% is ${(flops / (0.7 * pk * 1e6)).toFixed(2)} ms)`,
    );
  }

  const [cReps, cRounds] = QUICK ? [5, 2] : [10, 4];
  const cont = await benchContention(defaultThreads, cReps, cRounds);
  const alone1 = cont.find((r) => r.threads === 1 && !r.competitor)!;
  const busy1 = cont.find((r) => r.threads === 1 && r.competitor)!;
  const table = textTable(
    ['imix threads', 'competitor', 'step ms', 'GFLOP/s', 'of FMA peak (at that thread count)', 'ms / 1-thread ms (same load)'],
    cont.map((r) => {
      const m = medianOf(r.ms);
      const one = medianOf((r.competitor ? busy1 : alone1).ms);
      return [
        r.threads === 'auto' ? `auto (default; ${defaultThreads} or 1)` : `${r.threads}${r.threads === defaultThreads ? ' fixed' : ''}`,
        r.competitor ? '1 busy process' : 'none',
        m.toFixed(2),
        (flops / (m * 1e6)).toFixed(1),
        r.threads === 'auto' ? '-' : ofPeak(flops, m, peak, r.threads),
        (m / one).toFixed(2),
      ];
    }),
    md,
    [0, 1],
  );
  out(`the same step with a CPU-bound competitor process (median of ${cRounds} rounds × ${cReps} steps per setting)`, table);
  if (defaultThreads === 1) console.log('imix defaults to 1 thread on this machine: nothing to compare');
  else {
    for (const t of [defaultThreads, 'auto'] as const) {
      const busy = cont.find((r) => r.threads === t && r.competitor)!;
      const ratio = medianOf(busy.ms) / medianOf(busy1.ms);
      const perRound = busy.rounds.map((x, i) => (x / busy1.rounds[i]!).toFixed(2)).join(' ');
      console.log(
        `with a competitor, ${t === 'auto' ? 'auto (the default)' : `${t} threads fixed`} / 1 thread = ${ratio.toFixed(2)}x the step time (per round: ${perRound})` +
          (t === 'auto' ? `; target <= 1.10: ${ratio <= 1.1 ? 'met' : 'not met'}` : ''),
      );
    }
    const quietAuto = cont.find((r) => r.threads === 'auto' && !r.competitor)!;
    const quietFixed = cont.find((r) => r.threads === defaultThreads && !r.competitor)!;
    console.log(`alone, auto / ${defaultThreads} threads fixed = ${(medianOf(quietAuto.ms) / medianOf(quietFixed.ms)).toFixed(2)}x (the governor's probes)`);
  }

  const [pReps, pRounds] = QUICK ? [5, 2] : [10, 5];
  const precision = await benchPrecision(defaultThreads, pReps, pRounds);
  const title = `precision 'bf16' (bfloat16 gemm inputs, fp32 accumulation) against fp32: the same step, and its ${(flops / 1e9).toFixed(3)} GFLOP of gemms alone, at ${defaultThreads} threads (median of ${pRounds} rounds × ${pReps} calls)`;
  if (precision.length) out(title, precisionReport(precision, peak, defaultThreads, md));
  else out(title, `not available here: ${info().bf16.reason ?? 'unknown'}`);
  if (abovePeak) console.log('note: a rate above the measured FMA peak: other processes loaded the cores while the peak was measured, so it is low (rerun on a quiet machine)');
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
