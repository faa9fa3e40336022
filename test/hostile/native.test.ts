// Hostile input against the native addon (issue 11): every call ends in a
// result or a typed error (an ImixError naming the argument), never a crash,
// a hang, an unbounded allocation or a write outside a tensor's view. The
// work runs in child processes (test/hostile/fuzz-child.cjs, over the
// compiled dist/: compiled here first when older than lib/), so a crash is a
// signal the test sees rather than the end of the test run.
//
// IMIX_FUZZ_MS (default 18000) sets the fuzzing time, IMIX_FUZZ_SEED the seed
// (default 11). A failure prints the case; `node test/hostile/fuzz-child.cjs
// replay <mode.name> <h> <state>` re-runs it alone.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureDist, ROOT } from './cli-helpers';

const CHILD = path.join(__dirname, 'fuzz-child.cjs');
const FUZZ_MS = Number(process.env.IMIX_FUZZ_MS ?? 18_000);

beforeAll(() => ensureDist(), 120_000);

function child(args: string[], timeoutMs: number): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CHILD, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 << 20,
    env: { ...process.env },
  });
}

/** The child ended normally (no signal, exit 0); its last stdout line as JSON. */
function finished(r: SpawnSyncReturns<string>, context = ''): any {
  const why = `status ${r.status}, signal ${r.signal}${context}\nstderr: ${r.stderr.slice(-3000)}\nstdout: ${r.stdout.slice(-2000)}`;
  expect(r.signal, why).toBeNull();
  expect(r.status, why).toBe(0);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!);
}

describe('hostile input to the native addon', () => {
  it("issue 11's reproducer: a view whose (shape - 1)·stride overflows int64 is a ShapeError, not a SIGSEGV", () => {
    // Tensor.zeros([4]).view(0, [2**24 + 1], [2**39]).fill(1): (2^24)·2^39 = 2^63 wrapped negative
    // and passed the bound check, and fill wrote 2^24 elements 2 TiB apart.
    const out = finished(child(['view-overflow'], 30_000));
    expect(out).toEqual({
      outcome: 'typed',
      name: 'ShapeError',
      message: "strides: the view's last element index overflows int64 (dimension 0: 16777217 x stride 549755813888)",
    });
  });

  it('fuzzing every native entry point and TS wrapper: results or typed errors only', () => {
    const last = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'imix-fuzz-')), 'case.txt');
    const seed = process.env.IMIX_FUZZ_SEED ?? '11';
    const r = child(['fuzz', '--seed', seed, '--ms', String(FUZZ_MS), '--last', last], FUZZ_MS + 90_000);
    const running = fs.existsSync(last) ? fs.readFileSync(last, 'utf8').trim() : '?';
    const out = finished(r, `; the case running: ${running} (seed ${seed})`);
    const { failures, known, ...counts } = out;
    console.log(`fuzz: ${JSON.stringify(counts)}`);
    if (Object.keys(known).length) console.warn(`fuzz: known defects outside the addon (lib/ops): ${JSON.stringify(known)}`);
    expect(failures, JSON.stringify(failures, null, 1)).toEqual([]);
    // Enough cases, both outcomes, every entry point reached.
    expect(counts.cases).toBeGreaterThan(10_000);
    expect(counts.results).toBeGreaterThan(2_000);
    expect(counts.typed).toBeGreaterThan(2_000);
    expect(counts.opsSeen).toBe(counts.opsTotal);
    for (const kind of ['ArgumentError', 'ShapeError', 'DTypeError', 'DeviceError', 'ValueError', 'DisposedError'])
      expect(counts.byKind[kind], kind).toBeGreaterThan(0);
  }, FUZZ_MS + 120_000);

  it('empty operands with huge other dimensions cost nothing: every op answers at once', () => {
    const out: Array<{ name: string; ms: number; outcome: string }> = finished(child(['empty'], 60_000));
    expect(out.length).toBeGreaterThan(30);
    for (const c of out) {
      expect(c.outcome, c.name).not.toMatch(/^UNTYPED/);
      expect(c.ms, c.name).toBeLessThan(2_000);
    }
    // Rows without features have no cosine (and a per-row loss nothing bounds).
    expect(out.find((c) => c.name === 'mixedCosine31')!.outcome).toMatch(/^ShapeError: p: rows have no features/);
  });

  it('the GC is told about native memory: 2000 forgotten 4 MB tensors keep RSS bounded without gc()', () => {
    // Without napi_adjust_external_memory each tensor looks like a few bytes
    // to V8, which then never collects: RSS passed 600 MB after ~140 tensors.
    const out = finished(child(['gc', '--count', '2000', '--mb', '4', '--limit', '600'], 120_000));
    expect(out, JSON.stringify(out)).toMatchObject({ ok: true, created: 2000 });
  }, 150_000);

  it('works in a worker thread, and in the main thread after the worker exits', () => {
    // The Tensor constructor and the error classes were process-wide: the
    // worker's replaced the main thread's, and the main thread crashed after
    // the worker's environment was gone.
    const out = finished(child(['worker'], 60_000));
    expect(out).toEqual({ code: 0, fromWorker: { sum: 2, typed: true }, mainSum: 6, mainTyped: true });
  });
});
