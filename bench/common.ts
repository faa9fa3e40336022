/**
 * Shared pieces of the micro-benchmarks: the row every benchmark returns, a
 * median timer, a runner for Python reference scripts, the machine line and
 * a plain-text table.
 * @module
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { info } from '../lib/index';

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
 */
export async function alternateRounds<R extends RefTimes>(
  step: () => void,
  refs: R[],
  rounds: number,
  reps: number,
  settle: () => Promise<void>,
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
      const out = ref.server ? await ref.server.request({ reps }) : null;
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
