/**
 * Shared pieces of the micro-benchmarks: the row every benchmark returns, a
 * median timer, a runner for Python reference scripts, the machine line and
 * a plain-text table.
 * @module
 */
import { type ChildProcess, type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Tensor, info } from '../lib/index';

/** One measured case of a benchmark, with its reference when there is one. */
export interface BenchRow {
  /** What was measured, e.g. `'fc1 forward y = x·Wᵀ'`. */
  name: string;
  /** Problem size, free-form, e.g. `'512x512x784 NT'`. */
  shape: string;
  /** imix time in milliseconds (median over repetitions, after warm-up). */
  imixMs: number;
  /** imix throughput in {@link BenchRow.rateUnit}. */
  imixRate: number;
  /** Unit of the rate, e.g. `'GFLOP/s'` or `'GB/s'`. */
  rateUnit: string;
  /** The reference implementation, or null when none could be run. */
  refName: string | null;
  /** Reference time in milliseconds, or null. */
  refMs: number | null;
  /** imix speed relative to the reference, `refMs / imixMs` (> 1: imix is faster), or null. */
  ratio: number | null;
}

/** The median of `values` (the upper one of the middle two for an even count); `values` is not changed. */
export function medianOf(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Wall time of each of `reps` calls of `fn`, in milliseconds. */
export function timeEach(fn: () => void, reps: number): number[] {
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return t;
}

/** A PyTorch reference timed by {@link alternateRounds}: its server (null once it failed), every time and each round's median. */
export interface RefTimes {
  server: RefServer<unknown, { ms: number[] }> | null;
  ms: number[];
  rounds: number[];
}

/**
 * Times `step` (`reps` calls a round) and each reference (the same `reps`,
 * run by its server) in `rounds` alternating rounds, pausing with `settle`
 * before each contender: idle thread pools spin-wait for a while after their
 * last job (OpenMP, and OpenBLAS's pthreads much longer) and would steal the
 * cores from whoever runs next. A reference that stops answering is dropped
 * (its server set to null) and its error returned as `note`. `ratios`: each
 * round's median time of the fastest reference (`best`) over imix's.
 * `request`: more fields of every request to the references (e.g. the
 * batch size), besides `reps`.
 */
export async function alternateRounds<R extends RefTimes>(
  step: () => void,
  refs: R[],
  rounds: number,
  reps: number,
  settle: () => Promise<void>,
  request: Record<string, unknown> = {},
): Promise<{ ms: number[]; best: R | null; ratios: number[]; note: string }> {
  const ms: number[] = [], medians: number[] = [];
  let note = '';
  for (let r = 0; r < rounds; r++) {
    await settle();
    const t = timeEach(step, reps);
    ms.push(...t);
    medians.push(medianOf(t));
    for (const ref of refs) {
      await settle();
      const out = ref.server ? await ref.server.request({ ...request, reps }) : null;
      if (!out) {
        if (ref.server) note = RefServer.lastError;
        ref.server = null;
        continue;
      }
      ref.ms.push(...out.ms);
      ref.rounds.push(medianOf(out.ms));
    }
  }
  const measured = refs.filter((r) => r.ms.length);
  const best = measured.length ? measured.reduce((a, b) => (medianOf(a.ms) <= medianOf(b.ms) ? a : b)) : null;
  return { ms, best, ratios: best ? best.rounds.map((t, i) => t / medians[i]!) : [], note };
}

/**
 * Times `step` and one reference one call each, in turn, `pairs` times (the
 * first of a pair alternating, so that a drift in speed favours neither),
 * pausing with `settle` before each. Where {@link alternateRounds} lets
 * seconds pass between imix and a given reference (every other setting runs
 * in between), the two calls of a pair are adjacent, so a swing of the
 * machine's speed falls on both: `ratios` are each pair's reference time
 * over imix's. Empty arrays if the reference stops answering at once; its
 * error in `note`.
 */
export async function alternatePairs(
  step: () => void,
  ref: { server: RefServer<unknown, { ms: number[] }> | null },
  pairs: number,
  settle: () => Promise<void>,
  request: Record<string, unknown> = {},
): Promise<{ ms: number[]; refMs: number[]; ratios: number[]; note: string }> {
  const ms: number[] = [], refMs: number[] = [], ratios: number[] = [];
  const timeRef = async (): Promise<number | null> => {
    await settle();
    const out = ref.server ? await ref.server.request({ ...request, reps: 1 }) : null;
    return out?.ms.length ? out.ms[0]! : null;
  };
  for (let p = 0; p < pairs; p++) {
    const refFirst = p % 2 === 1;
    const r0 = refFirst ? await timeRef() : 0;
    if (r0 == null) return { ms, refMs, ratios, note: RefServer.lastError };
    await settle();
    const t = timeEach(step, 1)[0]!;
    const r = refFirst ? r0 : await timeRef();
    if (r == null) return { ms, refMs, ratios, note: RefServer.lastError };
    ms.push(t);
    refMs.push(r);
    ratios.push(r / t);
  }
  return { ms, refMs, ratios, note: '' };
}

/** Median wall time of `fn` in milliseconds over `reps` calls, after `warmup` untimed calls. */
export function median(fn: () => void, reps = 10, warmup = 2): number {
  for (let i = 0; i < warmup; i++) fn();
  return medianOf(timeEach(fn, reps));
}

/** What {@link pythonRef} returns: the parsed JSON, or why there is none. */
export type PythonResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** The interpreter that has the system numpy and python3-torch (Debian), not the `python3` on PATH. */
export const PYTHON = '/usr/bin/python3';

/** Why `script` cannot run on {@link PYTHON} (interpreter or script missing), or null. */
function cannotRun(script: string): string | null {
  if (!fs.existsSync(PYTHON)) return `${PYTHON} not found`;
  if (!fs.existsSync(script)) return `${script} not found`;
  return null;
}

/**
 * Runs `/usr/bin/python3 script ...args` and parses its stdout as JSON.
 * Never throws: a missing interpreter, a failing script or bad output come
 * back as `{ ok: false, reason }`.
 */
export function pythonRef<T = unknown>(script: string, args: string[], timeoutMs = 600_000): PythonResult<T> {
  const missing = cannotRun(script);
  if (missing) return { ok: false, reason: missing };
  const r = spawnSync(PYTHON, [script, ...args], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 << 20 });
  if (r.error) return { ok: false, reason: r.error.message };
  if (r.status !== 0) return { ok: false, reason: `exit ${r.status}: ${(r.stderr || '').trim().split('\n').slice(-1)[0] ?? ''}` };
  try {
    return { ok: true, value: JSON.parse(r.stdout) as T };
  } catch {
    return { ok: false, reason: `output is not JSON: ${r.stdout.slice(0, 200)}` };
  }
}

/**
 * A Python reference kept running between measurements, so that imix and the
 * reference can be timed in alternating rounds (a burst of load from other
 * processes then lands on both sides, not on one). Protocol, one JSON object
 * per line: the script is started with `--serve` and its arguments, prints a
 * first line describing itself, then answers every request line with one
 * result line. Never throws: {@link RefServer.start} returns null (with the
 * reason in `lastError`) when the interpreter or the script is missing or
 * fails.
 */
export class RefServer<Info = unknown, Result = unknown> {
  private buf = '';
  private waiters: Array<(line: string | null) => void> = [];
  private lines: string[] = [];
  private closed = false;
  private stderr = '';
  /** The script's first line. */
  info!: Info;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        const w = this.waiters.shift();
        if (w) w(line);
        else this.lines.push(line);
      }
    });
    // A script that died leaves a broken pipe: the write fails, the read answers null.
    child.stdin.on('error', () => {});
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (this.stderr = (this.stderr + d).slice(-2000)));
    const end = () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w(null);
    };
    child.on('close', end);
    child.on('error', end);
  }

  /** Why the last start or request failed. */
  static lastError = '';

  /** Starts `/usr/bin/python3 script --serve ...args` and waits for its first line. */
  static async start<I, R>(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<RefServer<I, R> | null> {
    const missing = cannotRun(script);
    if (missing) return RefServer.fail(missing);
    const s = new RefServer<I, R>(spawn(PYTHON, [script, '--serve', ...args], { env: { ...process.env, ...env } }));
    const first = await s.next();
    if (first == null) return RefServer.fail(`exit: ${s.stderr.trim().split('\n').slice(-1)[0] ?? ''}`);
    try {
      s.info = JSON.parse(first) as I;
    } catch {
      s.close();
      return RefServer.fail(`output is not JSON: ${first.slice(0, 200)}`);
    }
    return s;
  }

  private static fail(reason: string): null {
    RefServer.lastError = reason;
    return null;
  }

  private next(): Promise<string | null> {
    const l = this.lines.shift();
    if (l != null) return Promise.resolve(l);
    if (this.closed) return Promise.resolve(null);
    return new Promise((r) => this.waiters.push(r));
  }

  /** Sends one request and waits for its result; null when the script died. */
  async request(req: unknown): Promise<Result | null> {
    if (this.closed) return null;
    this.child.stdin.write(JSON.stringify(req) + '\n');
    const line = await this.next();
    if (line == null) {
      RefServer.lastError = `exit: ${this.stderr.trim().split('\n').slice(-1)[0] ?? ''}`;
      return null;
    }
    return JSON.parse(line) as Result;
  }

  /** Ends the script. */
  close(): void {
    if (!this.closed) this.child.stdin.end();
  }
}

/** CPU model (from /proc/cpuinfo where there is one) and logical core count. */
export function machine(): { cpu: string; cores: number } {
  let cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1]!.trim();
  } catch {
    // not Linux: keep os.cpus()
  }
  return { cpu, cores: os.availableParallelism?.() ?? os.cpus().length };
}

/** Rows as an aligned plain-text table. */
export function formatTable(rows: BenchRow[]): string {
  const f = (v: number | null, d: number) => (v == null ? '-' : v.toFixed(d));
  const cells = [
    ['case', 'shape', 'imix ms', 'imix rate', 'reference', 'ref ms', 'imix/ref'],
    ...rows.map((r) => [
      r.name,
      r.shape,
      f(r.imixMs, 3),
      `${f(r.imixRate, 1)} ${r.rateUnit}`,
      r.refName ?? 'reference: unavailable',
      f(r.refMs, 3),
      f(r.ratio, 2),
    ]),
  ];
  const w = cells[0]!.map((_, c) => Math.max(...cells.map((row) => row[c]!.length)));
  return cells.map((row) => row.map((s, c) => (c >= 2 && c !== 4 ? s.padStart(w[c]!) : s.padEnd(w[c]!))).join('  ')).join('\n');
}

/** The rows as a Markdown table (bench/README.md), times with `msDigits` decimals. */
export function markdownTable(rows: BenchRow[], msDigits = 3): string {
  const f = (v: number | null, d: number) => (v == null ? '–' : v.toFixed(d));
  const lines = ['| case | shape | imix ms | imix rate | reference | ref ms | ref ms / imix ms |', '|---|---|---:|---:|---|---:|---:|'];
  for (const r of rows)
    lines.push(`| ${r.name} | ${r.shape} | ${f(r.imixMs, msDigits)} | ${f(r.imixRate, 1)} ${r.rateUnit} | ${r.refName ?? 'unavailable'} | ${f(r.refMs, msDigits)} | ${f(r.ratio, 2)} |`);
  return lines.join('\n');
}

/** Path of a reference script in bench/, from the sources or from dist/bench. */
export function benchFile(name: string): string {
  for (const p of [path.join(__dirname, name), path.join(__dirname, '..', '..', 'bench', name)]) if (fs.existsSync(p)) return p;
  return path.join(__dirname, name);
}

/** The header every benchmark prints: the machine and the imix build it measured. */
export function header(): string {
  const m = machine();
  const i = info();
  return [
    `machine: ${m.cpu}, ${m.cores} cores`,
    `imix ${i.version}: backend=${i.backend}, blas=${i.blas}, threads=${i.threads}, simd=${i.simd.join(',') || 'none'}, build=${i.buildType}`,
  ].join('\n');
}

/** Deterministic pseudo-random floats in [−scale, scale) (an LCG: benchmarks need data, not statistics). */
export function fill(n: number, seed: number, scale = 1): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    out[i] = ((a / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/** CPU family/model and the SIMD flags that matter for fp32 kernels, from /proc/cpuinfo. */
export function cpuDetails(): string {
  try {
    const t = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const get = (k: string) => new RegExp(`^${k}\\s*:\\s*(.+)$`, 'm').exec(t)?.[1]?.trim() ?? '?';
    const flags = new Set(get('flags').split(/\s+/));
    const isa = ['sse4_2', 'avx', 'avx2', 'fma', 'f16c', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx512_bf16', 'avx_vnni', 'amx_tile'].filter((f) => flags.has(f));
    return `/proc/cpuinfo: vendor ${get('vendor_id')}, family ${get('cpu family')} model ${get('model')}, flags ${isa.join(' ')}`;
  } catch {
    return '/proc/cpuinfo: unavailable';
  }
}

/**
 * imix's default thread count (`info().threads` when this module was first
 * loaded, before any benchmark called `setNumThreads`): what a user gets
 * without `--threads`.
 */
export const defaultThreads: number = info().threads;

/** The machine's peak fp32 FMA rate, as bench/peak-fma.c measures it (GFLOP/s; one FMA counts 2 flops). */
export interface FmaPeak {
  /** Vector width in fp32 lanes (16: AVX-512, 8: AVX2). */
  lanes: number;
  /** Best rate on one thread. */
  oneThread: number;
  /** Thread count of {@link FmaPeak.allThreads} (every logical CPU). */
  threads: number;
  /** Best rate with every logical CPU running chains. */
  allThreads: number;
  /**
   * The same for the bf16 dot product vdpbf16ps (4 flops per 32-bit lane: the
   * instruction of `precision: 'bf16'` gemms), where the compiler and the CPU
   * have AVX512_BF16; absent elsewhere.
   */
  bf16?: { oneThread: number; allThreads: number };
}

const RATES = /(\d+)-wide vectors: 1 thread ([\d.]+) GFLOP\/s, (\d+) threads ([\d.]+) GFLOP\/s/;

/** Parses bench/peak-fma.c's output (its fp32 line, and its bf16 line if any); null without the fp32 line. */
export function parsePeakFma(text: string): FmaPeak | null {
  const m = new RegExp(`peak fp32 FMA, ${RATES.source}`).exec(text);
  if (!m) return null;
  const p: FmaPeak = { lanes: Number(m[1]), oneThread: Number(m[2]), threads: Number(m[3]), allThreads: Number(m[4]) };
  const b = new RegExp(`peak bf16 dot \\(vdpbf16ps\\), ${RATES.source}`).exec(text);
  if (b) p.bf16 = { oneThread: Number(b[2]), allThreads: Number(b[4]) };
  return p;
}

/** The peak that applies to `threads` threads: the one-thread rate for 1, the all-CPU rate otherwise. */
export function peakFor(peak: FmaPeak, threads: number): number {
  return threads <= 1 ? peak.oneThread : peak.allThreads;
}

/** {@link peakFor} of the bf16 dot-product peak; null where it was not measured. */
export function bf16PeakFor(peak: FmaPeak, threads: number): number | null {
  if (!peak.bf16) return null;
  return threads <= 1 ? peak.bf16.oneThread : peak.bf16.allThreads;
}

/**
 * Compiles bench/peak-fma.c with the system C compiler (`$CC`, default `cc`;
 * `-O2 -march=native -fopenmp`) into a temporary folder, runs it and parses
 * its line. Never throws: no compiler, no source or a failed run come back
 * as `{ ok: false, reason }`. Takes a second or two (5 runs per setting).
 */
export function peakFma(): PythonResult<FmaPeak> {
  const src = benchFile('peak-fma.c');
  if (!fs.existsSync(src)) return { ok: false, reason: `${src} not found` };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imix-peak-fma-'));
  try {
    const exe = path.join(dir, 'peak-fma');
    const cc = process.env.CC || 'cc';
    const c = spawnSync(cc, ['-O2', '-march=native', '-fopenmp', src, '-o', exe], { encoding: 'utf8', timeout: 120_000 });
    if (c.error) return { ok: false, reason: `${cc}: ${c.error.message}` };
    if (c.status !== 0) return { ok: false, reason: `${cc} failed: ${(c.stderr || '').trim().split('\n').slice(-1)[0] ?? ''}` };
    const r = spawnSync(exe, [], { encoding: 'utf8', timeout: 300_000 });
    if (r.error) return { ok: false, reason: r.error.message };
    const p = parsePeakFma(r.stdout);
    return p ? { ok: true, value: p } : { ok: false, reason: `unexpected output: ${r.stdout.slice(0, 200)}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The fp32 FMA peak as one line, or why it is unknown; the bf16 dot-product peak on a second line where measured. */
export function peakLine(p: PythonResult<FmaPeak>): string {
  if (!p.ok) return `peak fp32 FMA: unavailable (${p.reason})`;
  const { lanes, oneThread, threads, allThreads, bf16 } = p.value;
  const fp32 = `peak fp32 FMA (bench/peak-fma.c, cc -O2 -march=native -fopenmp, ${lanes}-wide vectors): 1 thread ${oneThread.toFixed(1)} GFLOP/s, ${threads} threads ${allThreads.toFixed(1)} GFLOP/s`;
  if (!bf16) return fp32;
  return `${fp32}\npeak bf16 dot (vdpbf16ps, the same chains): 1 thread ${bf16.oneThread.toFixed(1)} GFLOP/s, ${threads} threads ${bf16.allThreads.toFixed(1)} GFLOP/s (${(bf16.oneThread / oneThread).toFixed(2)}x the fp32 peak)`;
}

/** A Linear layer of an MLP, `[in, out]` features. */
export type LinearShape = readonly [number, number];

/**
 * The Linear layers of the MLP encoder `widths` (`[in, h1, h2, ...]`) followed
 * by the projection head `head` (`[hidden, out]`): e.g. widths 784-512-512 and
 * head 512-128 give 784→512, 512→512, 512→512, 512→128.
 */
export function mlpLayers(widths: readonly number[], head: readonly [number, number]): LinearShape[] {
  const dims = [...widths, ...head];
  return dims.slice(1).map((o, i) => [dims[i]!, o] as const);
}

/**
 * Gemm FLOPs of one forward (and, with `backward`, one backward) of `layers`
 * over `rows` rows (one multiply-add counts 2):
 *
 *     forward      Σ_l 2·rows·in_l·out_l         y = x·Wᵀ
 *     weight grad  Σ_l 2·rows·in_l·out_l         dW = dyᵀ·x
 *     input grad   Σ_{l≥2} 2·rows·in_l·out_l     dx = dy·W (the data needs no gradient)
 *
 * For NPair at batch N the network sees rows = 2N (both views); MLP
 * 784-512-512, head 512-128, N = 256: 2·1.015 + 0.604 = 2.634 GFLOP.
 */
export function mlpGemmFlops(rows: number, layers: readonly LinearShape[], backward = true): number {
  const pass = (ls: readonly LinearShape[]) => ls.reduce((s, [i, o]) => s + 2 * rows * i * o, 0);
  return backward ? 2 * pass(layers) + pass(layers.slice(1)) : pass(layers);
}

/**
 * Gemm FLOPs of the InfoNCE logits of N queries of D features against
 * `cols` keys, forward and backward: s = q·keysᵀ (2·N·cols·D), dq = G·keys
 * (2·N·cols·D), and with `keyGrad` dk = Gᵀ·q over the batch keys (2·N·N·D).
 * N-pair: cols = N, keyGrad; MoCo + i-Mix: cols = N + K, no key gradient.
 */
export function logitsGemmFlops(n: number, cols: number, d: number, keyGrad: boolean): number {
  return 4 * n * cols * d + (keyGrad ? 2 * n * n * d : 0);
}

/** One level of the CPU cache, from /sys/devices/system/cpu/cpu0/cache. */
export interface CacheLevel {
  /** e.g. `'L1d'`, `'L2'`, `'L3'`. */
  name: string;
  /** Bytes, as seen by one core (a shared level's whole size). */
  bytes: number;
  /** The CPUs that share it, as the kernel lists them (e.g. `'0-1'`). */
  sharedBy: string;
}

/** Parses a sysfs cache size such as `48K`, `2048K` or `260M` into bytes. */
export function parseCacheSize(s: string): number | null {
  const m = /^\s*(\d+)\s*([KMG]?)/i.exec(s);
  if (!m) return null;
  return Number(m[1]) * ({ '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 } as Record<string, number>)[m[2]!.toUpperCase()]!;
}

/** The data and unified caches of CPU 0 (L1d, L2, L3...), smallest first; empty where sysfs has none. */
export function cacheSizes(): CacheLevel[] {
  const base = '/sys/devices/system/cpu/cpu0/cache';
  const out: CacheLevel[] = [];
  let entries: string[];
  try {
    entries = fs.readdirSync(base).filter((e) => /^index\d+$/.test(e));
  } catch {
    return out;
  }
  for (const e of entries) {
    try {
      const read = (f: string) => fs.readFileSync(path.join(base, e, f), 'utf8').trim();
      const type = read('type');
      if (type === 'Instruction') continue;
      const bytes = parseCacheSize(read('size'));
      if (bytes == null) continue;
      let shared = '';
      try {
        shared = read('shared_cpu_list');
      } catch {
        // older kernels
      }
      out.push({ name: `L${read('level')}${type === 'Data' ? 'd' : ''}`, bytes, sharedBy: shared });
    } catch {
      // an unreadable entry: skip it
    }
  }
  return out.sort((a, b) => a.bytes - b.bytes);
}

/** Bytes as KiB/MiB/GiB with 3 significant digits or so. */
export function formatBytes(b: number): string {
  if (b < 1024 ** 2) return `${+(b / 1024).toFixed(1)} KiB`;
  if (b < 1024 ** 3) return `${+(b / 1024 ** 2).toFixed(1)} MiB`;
  return `${+(b / 1024 ** 3).toFixed(2)} GiB`;
}

/**
 * A table of strings: aligned plain text, or Markdown with `md`. Columns in
 * `left` (by index) are left-aligned, the others right-aligned (numbers).
 */
export function textTable(head: readonly string[], rows: ReadonlyArray<readonly string[]>, md: boolean, left: readonly number[] = [0]): string {
  if (md)
    return [
      `| ${head.join(' | ')} |`,
      `|${head.map((_, i) => (left.includes(i) ? '---' : '---:')).join('|')}|`,
      ...rows.map((r) => `| ${r.join(' | ')} |`),
    ].join('\n');
  const cells = [head, ...rows];
  const w = head.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  return cells.map((r) => r.map((s, c) => (left.includes(c) ? s.padEnd(w[c]!) : s.padStart(w[c]!))).join('  ').trimEnd()).join('\n');
}

/** A CPU-bound competitor process, see {@link startCompetitor}. */
export interface Competitor {
  /** Its process id. */
  pid: number;
  /** Whether it is running (started and not exited). */
  alive(): boolean;
  /** Kills it (SIGKILL) and resolves once it has exited; safe to call twice. */
  stop(): Promise<void>;
}

/** Competitors not yet stopped, killed on exit or a fatal signal of this process. */
const liveCompetitors = new Set<ChildProcess>();
let competitorHooks = false;

function killCompetitors(): void {
  for (const c of liveCompetitors) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  liveCompetitors.clear();
}

/**
 * Starts one competing process that keeps one CPU busy with all-but-zero
 * work (a tight integer loop in a second Node.js), as another program on a
 * shared laptop or CI box would. It is killed by {@link Competitor.stop}, and
 * in any case when this process exits or gets SIGINT/SIGTERM/SIGHUP; should
 * this process die without running any handler (SIGKILL), the competitor
 * notices within ~0.1 s that its parent changed and exits by itself.
 */
export function startCompetitor(): Competitor {
  const script = `const parent = ${process.pid}; let x = 0; for (;;) { for (let i = 0; i < 2e7; i++) x = (x + i) | 0; if (process.ppid !== parent) process.exit(x & 0); }`;
  const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  liveCompetitors.add(child);
  if (!competitorHooks) {
    competitorHooks = true;
    process.on('exit', killCompetitors);
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
      process.once(sig, () => {
        killCompetitors();
        process.kill(process.pid, sig); // the default action, now that the handler is gone
      });
  }
  let failed = false;
  child.once('error', () => (failed = true));
  const exited = new Promise<void>((r) => {
    if (child.exitCode != null || child.signalCode != null) r();
    else {
      child.once('exit', () => r());
      child.once('error', () => r()); // it could not start: nothing to wait for
    }
  });
  return {
    pid: child.pid ?? -1,
    alive: () => !failed && child.pid != null && child.exitCode == null && child.signalCode == null,
    async stop() {
      liveCompetitors.delete(child);
      if (child.exitCode == null && child.signalCode == null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Whether the environment variable `name` is set, to anything but `''` or `'0'` (IMIX_BENCH_SMOKE, IMIX_BENCH_QUICK). */
export function envFlag(name: string): boolean {
  const v = process.env[name];
  return v != null && v !== '' && v !== '0';
}

/** A built method's training step over `data`, ready to time: `step()` runs one, `dispose()` frees the method and the data. */
export interface TimedStep {
  step: () => number;
  dispose: () => void;
}

/**
 * One training step of `m` per `step()` call on `data` (its first dimension
 * the rows), at `batch` rows a step. The batches' row indices are chosen
 * here, outside the timed step, as fit() does (one shuffle per epoch, then a
 * subarray per step): 16 batches of rows 7 apart, in turn.
 */
export function stepLoop(
  m: { stepOn(data: Tensor<'float32'>, rows: Int32Array, lr: number, totalSteps: number): number; dispose(): void },
  data: Tensor<'float32'>,
  batch: number,
): TimedStep {
  const rows = data.shape[0]!;
  const batches = Array.from({ length: 16 }, (_, s) => Int32Array.from({ length: batch }, (_, i) => (s * batch + i * 7) % rows));
  let k = 0;
  return {
    step: () => m.stepOn(data, batches[k++ % batches.length]!, 0.05, 1000),
    dispose: () => {
      data.dispose();
      m.dispose();
    },
  };
}
