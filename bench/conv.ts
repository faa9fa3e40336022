/**
 * Benchmark: the convolutional encoders on the CPU, against PyTorch
 * (oneDNN/mkldnn convolutions) on the same machine (bench/conv_ref.py).
 *
 * 1. Every distinct convolution layer of ResNet-18 (CIFAR form) and
 *    ResNet-20 on 28×28×1 (Fashion-MNIST) and 32×32×3 (CIFAR) images at
 *    batch 256: forward, weight gradient and input gradient (the stem takes
 *    no input gradient, as in training), through imix's `nn.Conv2d`
 *    (bias false, a `ParameterStore`): the layer a training step runs. The
 *    PyTorch twin is `nn.Conv2d(...)(x).backward(dy)`.
 * 2. One whole NPair + i-Mix training step with a `resnet20` encoder on
 *    28×28×1 inputs at batch 256 (random crop with 2 pixels of padding and
 *    flip for both views, MixUp of the query view, projection head 512-128,
 *    SGD with momentum and weight decay), against the same step in PyTorch
 *    (scripts/imix_resnet.py's resnet20).
 * 3. Peak RSS of that step, each side in its own fresh process.
 *
 * PyTorch runs at each of: its default thread count and set_num_threads(2),
 * contiguous (NCHW) and channels_last tensors; mkldnn on. A layer is
 * compared with PyTorch's fastest setting for that layer (a calibration of
 * every setting, best of CALIBRATION_REPS calls, picks it), the step is timed at every
 * setting and the headline ratio is against the fastest. imix and PyTorch
 * are timed in alternating rounds (bench/common.ts's RefServer), medians
 * (5 rounds per layer and 8 per step setting in the full run: on a VM whose
 * speed swings by 1.5× within seconds, 3 and 4 left single runs' step ratio
 * anywhere in 1.10–1.38), and then imix against the fastest setting alone
 * in adjacent pairs of one step each (16 in the full run; the target's
 * verdict is on these: in a round, seconds of the other settings' steps
 * pass between imix and the fastest, enough for the VM's speed to swing);
 * in each round a layer first runs LAYER_WARMUP untimed calls on both sides
 * (one is not enough: a fresh layer's second and third calls still run up
 * to 1.5× its steady time, on small layers most).
 *
 * Run: `imix bench conv` or `node dist/bench/conv.js [--markdown]` (after
 * `npx tsc -p .`). Environment: IMIX_BENCH_QUICK=1 (full sizes, fewer
 * repetitions), IMIX_BENCH_SMOKE=1 (tiny networks and batches: proves the
 * benchmark runs, measures nothing), IMIX_BENCH_FILTER=text (only the parts
 * whose name contains it: `resnet18`, `28x28`, `step`, `rss`, ...).
 * @module
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { NPair, Tensor, nn, setNumThreads, views } from '../lib/index';
import { type BenchRow, RefServer, type TimedStep, alternatePairs, alternateRounds, benchFile, cpuDetails, envFlag, fill, formatTable, header, markdownTable, medianOf, pythonRef, stepLoop, timeEach } from './common';

const SMOKE = envFlag('IMIX_BENCH_SMOKE');
const QUICK = !SMOKE && envFlag('IMIX_BENCH_QUICK');
const FILTER = process.env.IMIX_BENCH_FILTER ?? '';
const wanted = (name: string) => !FILTER || name.includes(FILTER);

/** How much is run: the full default, the quick variant, or the smoke test. */
/** Untimed calls of a layer before its timed ones, on each side. */
const LAYER_WARMUP = SMOKE ? 1 : 3;
/**
 * PyTorch's setting per layer is the fastest of this many calls (after a
 * warm-up) under each setting: with one call, a slow moment of the VM could
 * pick a setting 2× slower than the best (seen: 33.6 against 13.6 ms), and
 * the ratio then flattered imix.
 */
const CALIBRATION_REPS = SMOKE || QUICK ? 1 : 3;

const PLAN = SMOKE
  ? { mode: 'smoke (IMIX_BENCH_SMOKE)', batch: 4, r18Width: 0.125, r20Width: 0.25, hw: 8, layerRounds: 1, layerReps: 1, stepBatch: 8, stepWidth: 0.25, stepHw: 8, head: [16, 8] as [number, number], stepRounds: 1, stepReps: 1, stepPairs: 1, rssSteps: 1 }
  : QUICK
    ? { mode: 'quick (IMIX_BENCH_QUICK)', batch: 256, r18Width: 1, r20Width: 1, hw: 0, layerRounds: 1, layerReps: 1, stepBatch: 256, stepWidth: 1, stepHw: 0, head: [512, 128] as [number, number], stepRounds: 2, stepReps: 2, stepPairs: 2, rssSteps: 2 }
    : { mode: 'full', batch: 256, r18Width: 1, r20Width: 1, hw: 0, layerRounds: 5, layerReps: 2, stepBatch: 256, stepWidth: 1, stepHw: 0, head: [512, 128] as [number, number], stepRounds: 8, stepReps: 3, stepPairs: 16, rssSteps: 3 };

/** One convolution of a network, with how many times the network has it. */
export interface ConvLayer {
  /** torchvision name of its first occurrence, e.g. `layer2.0.downsample.0`. */
  name: string;
  cin: number;
  cout: number;
  k: number;
  stride: number;
  h: number;
  w: number;
  /** Occurrences in the network. */
  count: number;
  /** Whether training computes its input gradient (not for the stem). */
  inputGrad: boolean;
}

const scaled = (c: number, w: number) => Math.max(1, Math.round(c * w));
const outSize = (n: number, k: number, s: number) => Math.floor((n + 2 * ((k - 1) >> 1) - k) / s) + 1;

/**
 * The distinct convolutions of `resnet18` / `resnet20` (lib/nn/resnet.ts's
 * layouts) on samples `[C, H, W]`, in network order, each with its count.
 */
export function resnetConvs(kind: 'resnet18' | 'resnet20', [C, H, W]: readonly number[], width = 1): ConvLayer[] {
  const s = (c: number) => scaled(c, width);
  const stages: Array<[number, number, number]> =
    kind === 'resnet18' ? [[s(64), 2, 1], [s(128), 2, 2], [s(256), 2, 2], [s(512), 2, 2]] : [[s(16), 3, 1], [s(32), 3, 2], [s(64), 3, 2]];
  const stem = kind === 'resnet18' ? s(64) : s(16);
  const all: Array<Omit<ConvLayer, 'count'>> = [{ name: 'conv1', cin: C!, cout: stem, k: 3, stride: 1, h: H!, w: W!, inputGrad: false }];
  let planes = stem, h = H!, w = W!;
  stages.forEach(([width, blocks, stride], i) => {
    for (let b = 0; b < blocks; b++) {
      const st = b === 0 ? stride : 1;
      const p = `layer${i + 1}.${b}.`;
      all.push({ name: `${p}conv1`, cin: planes, cout: width, k: 3, stride: st, h, w, inputGrad: true });
      const ho = outSize(h, 3, st), wo = outSize(w, 3, st);
      all.push({ name: `${p}conv2`, cin: width, cout: width, k: 3, stride: 1, h: ho, w: wo, inputGrad: true });
      if (st !== 1 || planes !== width) all.push({ name: `${p}downsample.0`, cin: planes, cout: width, k: 1, stride: st, h, w, inputGrad: true });
      planes = width;
      h = ho;
      w = wo;
    }
  });
  const out: ConvLayer[] = [];
  for (const l of all) {
    const same = out.find((o) => o.cin === l.cin && o.cout === l.cout && o.k === l.k && o.stride === l.stride && o.h === l.h && o.w === l.w && o.inputGrad === l.inputGrad);
    if (same) same.count++;
    else out.push({ ...l, count: 1 });
  }
  return out;
}

/** Floating-point operations of one forward + weight gradient (+ input gradient) of `l` at `batch`. */
export function convFlops(l: ConvLayer, batch: number): number {
  const pass = 2 * batch * l.cout * outSize(l.h, l.k, l.stride) * outSize(l.w, l.k, l.stride) * l.cin * l.k * l.k;
  return pass * (l.inputGrad ? 3 : 2);
}

/** A PyTorch setting: thread count (null: its default) and memory format. */
interface TorchConfig {
  threads: number | null;
  channelsLast: boolean;
}
const TORCH_CONFIGS: TorchConfig[] = [
  { threads: null, channelsLast: false },
  { threads: null, channelsLast: true },
  { threads: 2, channelsLast: false },
  { threads: 2, channelsLast: true },
];
interface TorchInfo {
  torch: string;
  defaultThreads: number;
  mkldnn: boolean;
  threads?: number;
}
function configLabel(c: TorchConfig, info: TorchInfo | undefined): string {
  const t = c.threads == null ? `default threads (${info?.defaultThreads ?? '?'})` : `set_num_threads(${c.threads})`;
  return `${t}, ${c.channelsLast ? 'channels_last' : 'contiguous'}`;
}
/** The settings worth timing: set_num_threads(T) is left out where T is the default anyway. */
function torchConfigs(info: TorchInfo): TorchConfig[] {
  return TORCH_CONFIGS.filter((c) => c.threads == null || c.threads !== info.defaultThreads);
}

/** Idle OpenMP / OpenBLAS pools spin-wait for a while: a pause before each contender's turn lets them sleep. */
const settle = (ms = 300) => new Promise<void>((r) => setTimeout(r, SMOKE ? 10 : ms));

/** imix: `reps` timed forward + backward calls of one Conv2d layer after `warmup` untimed ones. */
function imixLayerTimes(l: ConvLayer, batch: number, reps: number, warmup: number): number[] {
  const conv = new nn.Conv2d(l.cin, l.cout, l.k, { stride: l.stride, padding: (l.k - 1) >> 1, bias: false });
  const store = new nn.ParameterStore(conv, { seed: 1 });
  const ho = outSize(l.h, l.k, l.stride), wo = outSize(l.w, l.k, l.stride);
  const x = Tensor.from(fill(batch * l.cin * l.h * l.w, 3, 1), [batch, l.cin, l.h, l.w]);
  const dy = Tensor.from(fill(batch * l.cout * ho * wo, 7, 0.5), [batch, l.cout, ho, wo]);
  try {
    const once = () => {
      conv.forward(x);
      conv.backward(dy, l.inputGrad);
    };
    for (let i = 0; i < warmup; i++) once();
    return timeEach(once, reps);
  } finally {
    x.dispose();
    dy.dispose();
    store.dispose();
  }
}

interface NetCase {
  name: string;
  layers: ConvLayer[];
}

function netCases(): NetCase[] {
  const hw = (n: number) => (PLAN.hw || n);
  const shapes: Array<[string, number[]]> = [
    [`${hw(28)}x${hw(28)}x1`, [1, hw(28), hw(28)]],
    [`${hw(32)}x${hw(32)}x3`, [3, hw(32), hw(32)]],
  ];
  const cases: NetCase[] = [];
  for (const kind of ['resnet18', 'resnet20'] as const)
    for (const [label, shape] of shapes) {
      const width = kind === 'resnet18' ? PLAN.r18Width : PLAN.r20Width;
      const name = `${kind}${width !== 1 ? ` w${width}` : ''} ${label}`;
      if (wanted(name)) cases.push({ name, layers: resnetConvs(kind, shape, width) });
    }
  return cases;
}

/** Extra output of the last {@link benchConvLayers}. */
export let lastLayers: { note: string; calibration: string[]; torch: TorchInfo | null } = { note: '', calibration: [], torch: null };

/**
 * Part 1: every distinct convolution of the networks, imix against PyTorch
 * at its fastest setting per layer; one row per layer, and per network one
 * row for all its convolutions (each layer's median × its count).
 */
export async function benchConvLayers(batch = PLAN.batch, rounds = PLAN.layerRounds, reps = PLAN.layerReps): Promise<BenchRow[]> {
  setNumThreads(2);
  const cases = netCases();
  const server = cases.length ? await RefServer.start<TorchInfo, { ms: number[][] }>(benchFile('conv_ref.py'), [JSON.stringify({ mode: 'layers' })]) : null;
  let note = server || !cases.length ? '' : `reference: ${RefServer.lastError}`;
  const info = server?.info;
  const calibration: string[] = [];
  // Per case and layer: PyTorch's fastest setting (the fastest of CALIBRATION_REPS calls after a warm-up, every setting).
  const chosen: TorchConfig[][] = cases.map((c) => c.layers.map(() => TORCH_CONFIGS[0]!));
  const imix = cases.map((c) => c.layers.map((): number[] => []));
  const ref = cases.map((c) => c.layers.map((): number[] => []));
  let live = server;
  const ask = async (req: unknown): Promise<number[][] | null> => {
    if (!live) return null;
    const out = await live.request(req);
    if (!out) {
      note = `reference: ${RefServer.lastError}`;
      live.close();
      live = null;
    }
    return out?.ms ?? null;
  };
  try {
    if (live && info) {
      const configs = torchConfigs(info);
      for (const [ci, c] of cases.entries()) {
        const t: number[][] = [];
        for (const cfg of configs) {
          await settle();
          const ms = await ask({ batch, layers: c.layers, configs: c.layers.map(() => cfg), reps: CALIBRATION_REPS, warmup: 1 });
          if (!ms) break;
          t.push(ms.map((v) => Math.min(...v)));
        }
        if (t.length !== configs.length) break;
        c.layers.forEach((l, li) => {
          const best = t.reduce((b, row, i) => (row[li]! < t[b]![li]! ? i : b), 0);
          chosen[ci]![li] = configs[best]!;
          calibration.push(`${c.name} ${l.name}: ${t.map((row, i) => `${row[li]!.toFixed(1)}${i === best ? '*' : ''}`).join(' / ')}`);
        });
      }
      if (live) calibration.unshift(`PyTorch calibration, ms of the fastest of ${CALIBRATION_REPS} call(s) after a warm-up (${configs.map((c) => configLabel(c, info)).join(' / ')}; * = chosen):`);
    }
    for (let r = 0; r < rounds; r++)
      for (const [ci, c] of cases.entries()) {
        await settle();
        c.layers.forEach((l, li) => imix[ci]![li]!.push(...imixLayerTimes(l, batch, reps, LAYER_WARMUP)));
        nn.releaseScratch();
        await settle();
        const ms = await ask({ batch, layers: c.layers, configs: chosen[ci], reps, warmup: LAYER_WARMUP });
        if (ms) ms.forEach((t, li) => ref[ci]![li]!.push(...t));
      }
  } finally {
    live?.close();
  }
  lastLayers = { note, calibration, torch: info ?? null };
  const rows: BenchRow[] = [];
  const torchName = (cfg: TorchConfig) => `torch ${info?.torch ?? ''}, ${configLabel(cfg, info)}`;
  for (const [ci, c] of cases.entries()) {
    let imixSum = 0, refSum = 0, flops = 0;
    c.layers.forEach((l, li) => {
      const ms = medianOf(imix[ci]![li]!);
      const refMs = ref[ci]![li]!.length ? medianOf(ref[ci]![li]!) : null;
      imixSum += ms * l.count;
      refSum += (refMs ?? NaN) * l.count;
      flops += convFlops(l, batch) * l.count;
      const ho = outSize(l.h, l.k, l.stride), wo = outSize(l.w, l.k, l.stride);
      rows.push({
        name: `${c.name} ${l.name}${l.inputGrad ? '' : ' (no dx)'}`,
        shape: `${l.cin}->${l.cout} ${l.k}x${l.k}${l.stride !== 1 ? ` s${l.stride}` : ''} ${l.h}x${l.w}->${ho}x${wo}, N ${batch}${l.count > 1 ? `, x${l.count}` : ''}`,
        imixMs: ms,
        imixRate: convFlops(l, batch) / (ms * 1e6),
        rateUnit: 'GFLOP/s',
        refName: refMs == null ? null : torchName(chosen[ci]![li]!),
        refMs,
        ratio: refMs == null ? null : refMs / ms,
      });
    });
    const n = c.layers.reduce((s, l) => s + l.count, 0);
    rows.push({
      name: `${c.name} all ${n} convs`,
      shape: `sum of median x count, N ${batch}`,
      imixMs: imixSum,
      imixRate: flops / (imixSum * 1e6),
      rateUnit: 'GFLOP/s',
      refName: Number.isFinite(refSum) ? `torch ${info?.torch ?? ''}, fastest setting per layer` : null,
      refMs: Number.isFinite(refSum) ? refSum : null,
      ratio: Number.isFinite(refSum) ? refSum / imixSum : null,
    });
  }
  return rows;
}

/** The training step's configuration, shared with the PyTorch twin and the RSS child. */
export interface StepConfig {
  batch: number;
  shape: [number, number, number];
  width: number;
  head: [number, number];
  pad: number;
  rows: number;
}
export function stepConfig(): StepConfig {
  const hw = PLAN.stepHw || 28;
  return { batch: PLAN.stepBatch, shape: [1, hw, hw], width: PLAN.stepWidth, head: PLAN.head, pad: 2, rows: SMOKE ? 64 : 4096 };
}

/** The imix step of `cfg` (built, data made): call `step()` to run one; `dispose()` frees it. */
export function imixStep(cfg: StepConfig): TimedStep {
  setNumThreads(2);
  const m = new NPair({
    encoder: { kind: 'resnet20', width: cfg.width },
    projection: cfg.head,
    mix: { kind: 'mixup', alpha: 1 },
    views: views.randomCropFlip(cfg.pad),
    optimizer: { kind: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 5e-4 },
    seed: 1,
  });
  m.build([...cfg.shape]);
  const F = cfg.shape[0] * cfg.shape[1] * cfg.shape[2];
  const data = Tensor.zeros([cfg.rows, F]);
  // Filled in slices, so that no whole-dataset JavaScript array adds to the peak RSS.
  for (let s = 0; s < cfg.rows; s += 256) {
    const e = Math.min(s + 256, cfg.rows);
    const v = data.rows(s, e);
    v.set(fill((e - s) * F, 5 + s, 0.5).map((x) => x + 0.5));
    v.dispose();
  }
  return stepLoop(m, data, cfg.batch);
}

/** Floating-point operations of one training step's convolutions and head gemms (2N rows). */
export function stepFlops(cfg: StepConfig): number {
  const rows = 2 * cfg.batch;
  const convs = resnetConvs('resnet20', cfg.shape, cfg.width).reduce((s, l) => s + convFlops(l, rows) * l.count, 0);
  const feats = scaled(64, cfg.width);
  const head = 3 * 2 * rows * (feats * cfg.head[0] + cfg.head[0] * cfg.head[1]);
  return convs + head;
}

/** Extra output of the last {@link benchStep}. */
export let lastStep: { rounds: number; reps: number; ratios: number[]; note: string; paired: { ms: number[]; refMs: number[]; ratios: number[] } | null } = {
  rounds: 0,
  reps: 0,
  ratios: [],
  note: '',
  paired: null,
};

/** Part 2: the whole training step, imix and every PyTorch setting in alternating rounds; one row per setting. */
export async function benchStep(rounds = PLAN.stepRounds, reps = PLAN.stepReps, pairs = PLAN.stepPairs): Promise<BenchRow[]> {
  const cfg = stepConfig();
  const s = imixStep(cfg);
  const refs: Array<{ cfg: TorchConfig; server: RefServer<TorchInfo, { ms: number[] }> | null; ms: number[]; rounds: number[]; info?: TorchInfo }> = [];
  let note = '';
  let timed: Awaited<ReturnType<typeof alternateRounds<(typeof refs)[number]>>>;
  let paired: Awaited<ReturnType<typeof alternatePairs>> | null = null;
  try {
    for (let i = 0; i < 3; i++) s.step();
    for (const c of TORCH_CONFIGS) {
      const server = await RefServer.start<TorchInfo, { ms: number[] }>(benchFile('conv_ref.py'), [JSON.stringify({ mode: 'step', ...cfg, ...c })]);
      if (!server) {
        note = RefServer.lastError;
        break; // the next settings would fail the same way
      }
      // set_num_threads(T) where T is the default: the same setting twice.
      if (c.threads != null && c.threads === server.info.defaultThreads) {
        server.close();
        continue;
      }
      refs.push({ cfg: c, server, ms: [], rounds: [], info: server.info });
    }
    timed = await alternateRounds(s.step, refs, rounds, reps, settle);
    // Then imix against the fastest setting alone, step by step (see alternatePairs).
    if (timed.best?.server && pairs > 0) paired = await alternatePairs(s.step, timed.best, pairs, settle);
  } finally {
    for (const ref of refs) ref.server?.close();
    s.dispose();
  }
  const ms = medianOf(timed.ms);
  note = timed.note || paired?.note || note;
  lastStep = { rounds, reps, ratios: timed.ratios, note: note ? `reference: ${note}` : '', paired: paired?.ratios.length ? paired : null };
  const name = 'NPair + i-Mix step, resnet20';
  const shape = `batch ${cfg.batch} (2N = ${2 * cfg.batch} rows) of ${cfg.shape.join('x')}, width ${cfg.width}, head ${cfg.head.join('-')}, crop+flip pad ${cfg.pad}, MixUp, SGD`;
  const rate = stepFlops(cfg) / (ms * 1e6);
  if (!refs.length) return [{ name, shape, imixMs: ms, imixRate: rate, rateUnit: 'GFLOP/s', refName: null, refMs: null, ratio: null }];
  return refs.map((ref) => ({
    name,
    shape,
    imixMs: ms,
    imixRate: rate,
    rateUnit: 'GFLOP/s',
    refName: ref.ms.length ? `torch ${ref.info?.torch ?? ''}, ${configLabel(ref.cfg, ref.info)}${ref === timed.best ? ' [fastest]' : ''}` : null,
    refMs: ref.ms.length ? medianOf(ref.ms) : null,
    ratio: ref.ms.length ? medianOf(ref.ms) / ms : null,
  }));
}

/** One process's memory: peak RSS after the steps and after the imports, in KiB. */
export interface RssRow {
  who: string;
  peakKb: number | null;
  baselineKb: number | null;
  note?: string;
}

/** Part 3: peak RSS of the step, imix and each PyTorch setting in its own fresh process. */
export function benchRss(steps = PLAN.rssSteps): RssRow[] {
  const cfg = stepConfig();
  const rows: RssRow[] = [];
  const r = spawnSync(process.execPath, [__filename, '--rss-child', JSON.stringify(cfg), String(steps)], { encoding: 'utf8', timeout: 600_000 });
  try {
    const o = JSON.parse(r.stdout) as { maxrss_kb: number; baseline_kb: number };
    rows.push({ who: 'imix (2 threads)', peakKb: o.maxrss_kb, baselineKb: o.baseline_kb });
  } catch {
    rows.push({ who: 'imix', peakKb: null, baselineKb: null, note: `child failed: ${r.error?.message ?? (r.stderr || '').trim().split('\n').slice(-1)[0]}` });
  }
  for (const c of TORCH_CONFIGS) {
    const o = pythonRef<TorchInfo & { maxrss_kb: number; baseline_kb: number }>(benchFile('conv_ref.py'), ['--rss', JSON.stringify({ ...cfg, ...c }), String(steps)]);
    if (!o.ok) {
      rows.push({ who: 'torch', peakKb: null, baselineKb: null, note: `reference: ${o.reason}` });
      break;
    }
    if (c.threads != null && c.threads === o.value.defaultThreads) continue;
    rows.push({ who: `torch ${o.value.torch}, ${configLabel(c, o.value)}`, peakKb: o.value.maxrss_kb, baselineKb: o.value.baseline_kb });
  }
  return rows;
}

/**
 * This process's peak RSS in KiB: VmHWM, the high-water mark of its own
 * address space. Not getrusage's maxrss: Linux carries that across fork and
 * exec, so a child of a parent that had grown to 1.5 GB reports 1.5 GB.
 */
function peakRssKb(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    // no /proc: fall through
  }
  return process.resourceUsage().maxRSS;
}

function rssChild(cfg: StepConfig, steps: number): void {
  const baseline = peakRssKb();
  const s = imixStep(cfg);
  for (let i = 0; i < 3 + steps; i++) s.step();
  process.stdout.write(JSON.stringify({ maxrss_kb: peakRssKb(), baseline_kb: baseline }) + '\n');
  s.dispose();
}

function rssTable(rows: RssRow[], md: boolean): string {
  const mib = (kb: number | null) => (kb == null ? '-' : (kb / 1024).toFixed(0));
  const cells = [
    ['process', 'peak RSS MiB', 'after imports MiB', 'step adds MiB'],
    ...rows.map((r) => [r.who + (r.note ? ` (${r.note})` : ''), mib(r.peakKb), mib(r.baselineKb), r.peakKb == null || r.baselineKb == null ? '-' : mib(r.peakKb - r.baselineKb)]),
  ];
  if (md) return [`| ${cells[0]!.join(' | ')} |`, '|---|---:|---:|---:|', ...cells.slice(1).map((c) => `| ${c.join(' | ')} |`)].join('\n');
  const w = cells[0]!.map((_, i) => Math.max(...cells.map((c) => c[i]!.length)));
  return cells.map((c) => c.map((s, i) => (i ? s.padStart(w[i]!) : s.padEnd(w[i]!))).join('  ')).join('\n');
}

const load = () => os.loadavg().map((v) => v.toFixed(2)).join(' ');

async function main(): Promise<void> {
  const md = process.argv.includes('--markdown');
  const out = (title: string, body: string) => console.log(`\n${md ? '### ' : '== '}${title}\n${body}`);
  const table = (rows: BenchRow[]) => (md ? markdownTable(rows, 1) : formatTable(rows));
  const head = [header(), cpuDetails(), `run: ${PLAN.mode}${FILTER ? `, IMIX_BENCH_FILTER=${FILTER}` : ''}; load average at start ${load()}`];
  console.log(md ? '```\n' + head.join('\n') + '\n```' : head.join('\n'));
  const t0 = Date.now();

  if (netCases().length) {
    const rows = await benchConvLayers();
    const torch = lastLayers.torch;
    out(
      `conv layers: forward + weight gradient + input gradient, batch ${PLAN.batch} (median of ${PLAN.layerRounds} alternating rounds x ${PLAN.layerReps}, each after ${LAYER_WARMUP} warm-up calls; ref ms / imix ms > 1: imix faster)`,
      table(rows),
    );
    if (lastLayers.note) console.log(lastLayers.note);
    if (torch) console.log(`torch ${torch.torch}: default threads ${torch.defaultThreads}, mkldnn ${torch.mkldnn ? 'on' : 'off'}`);
    if (lastLayers.calibration.length) console.log(lastLayers.calibration.join('\n'));
    const per = rows.filter((r) => r.ratio != null && !r.name.includes(' all '));
    if (per.length && !SMOKE) {
      const slow = per.filter((r) => r.ratio! < 0.8);
      console.log(
        `target each layer >= 0.8x PyTorch: ${slow.length ? `not met by ${slow.length} of ${per.length} (${slow.map((r) => `${r.name} ${r.ratio!.toFixed(2)}`).join('; ')})` : `met by all ${per.length}`}`,
      );
    }
  }

  if (wanted('step')) {
    const rows = await benchStep();
    out(`one training step (median of ${lastStep.rounds} alternating rounds x ${lastStep.reps} steps)`, table(rows));
    if (lastStep.note) console.log(lastStep.note);
    if (lastStep.ratios.length) {
      const best = rows.find((r) => r.refName?.includes('[fastest]'));
      console.log(`per-round ratio against the fastest PyTorch: ${lastStep.ratios.map((r) => r.toFixed(2)).join(' ')}`);
      const pr = lastStep.paired;
      const pairedRatio = pr ? medianOf(pr.refMs) / medianOf(pr.ms) : null;
      if (pr && pairedRatio != null) {
        const q = [...pr.ratios].sort((a, b) => a - b);
        const at = (f: number) => q[Math.min(q.length - 1, Math.floor(f * q.length))]!;
        console.log(
          `adjacent steps against the fastest PyTorch (${pr.ratios.length} pairs, one step each, first alternating): imix ${medianOf(pr.ms).toFixed(1)} ms, PyTorch ${medianOf(pr.refMs).toFixed(1)} ms, ratio of medians ${pairedRatio.toFixed(2)}; per pair: median ${medianOf(pr.ratios).toFixed(2)}, quartiles ${at(0.25).toFixed(2)}–${at(0.75).toFixed(2)}`,
        );
      }
      // The verdict on the adjacent pairs where they ran (a swing of the VM falls on both sides of a pair), else on the rounds.
      const verdict = pairedRatio ?? best?.ratio ?? null;
      if (verdict != null && !SMOKE)
        console.log(
          `target step >= 1.3x PyTorch: ${verdict >= 1.3 ? 'met' : 'not met'} (${verdict.toFixed(2)}x ${pairedRatio != null ? 'over adjacent pairs' : 'over rounds'}${pairedRatio != null && best?.ratio != null ? `; ${best.ratio.toFixed(2)}x over rounds` : ''})`,
        );
    }
  }

  if (wanted('rss')) {
    const rows = benchRss();
    out(`peak RSS of the training step (${PLAN.rssSteps + 3} steps, each in a fresh process)`, rssTable(rows, md));
    const imix = rows[0]?.peakKb;
    const torch = rows.slice(1).filter((r) => r.peakKb != null);
    if (imix != null && torch.length && !SMOKE) {
      const least = Math.min(...torch.map((r) => r.peakKb!));
      console.log(`target peak RSS <= PyTorch's: ${imix <= least ? 'met' : 'not met'} (imix ${(imix / 1024).toFixed(0)} MiB, PyTorch's smallest ${(least / 1024).toFixed(0)} MiB)`);
    }
  }
  if (SMOKE) console.log('\nsmoke run (IMIX_BENCH_SMOKE): tiny networks and batches, no targets checked; the times measure nothing');
  console.log(`\nload average at end ${load()}; ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

if (require.main === module) {
  if (process.argv[2] === '--rss-child') {
    rssChild(JSON.parse(process.argv[3]!) as StepConfig, Number(process.argv[4] ?? 3));
  } else {
    main().catch((e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    });
  }
}
