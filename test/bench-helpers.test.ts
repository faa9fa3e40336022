// Pure helpers of bench/common.ts that bench/train-step.ts and bench/scaling.ts
// rest on (FLOP counts, the FMA peak's output, cache sizes, tables), and the
// CPU-bound competitor process of train-step's contention part: it must
// never outlive the benchmark.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cacheSizes,
  formatBytes,
  logitsGemmFlops,
  mlpGemmFlops,
  mlpLayers,
  parseCacheSize,
  bf16PeakFor,
  parsePeakFma,
  peakFor,
  startCompetitor,
  textTable,
} from '../bench/common';

describe('FLOP counts', () => {
  it('mlpLayers: the encoder widths, then the projection head', () => {
    expect(mlpLayers([784, 512, 512], [512, 128])).toEqual([
      [784, 512],
      [512, 512],
      [512, 512],
      [512, 128],
    ]);
    expect(mlpLayers([10], [4, 2])).toEqual([
      [10, 4],
      [4, 2],
    ]);
  });

  it("the NPair step of bench/README.md and issue 17: 2.634 GFLOP over 2N = 512 rows", () => {
    const layers = mlpLayers([784, 512, 512], [512, 128]);
    const fwd = 2 * 512 * (784 * 512 + 512 * 512 + 512 * 512 + 512 * 128);
    expect(mlpGemmFlops(512, layers, false)).toBe(fwd);
    // backward: every weight gradient, every input gradient but the first layer's
    expect(mlpGemmFlops(512, layers)).toBe(2 * fwd + 2 * 512 * (512 * 512 + 512 * 512 + 512 * 128));
    expect(mlpGemmFlops(512, layers)).toBe(2_634_022_912);
  });

  it('a single layer needs no input gradient', () => {
    expect(mlpGemmFlops(3, [[5, 7]])).toBe(2 * (2 * 3 * 5 * 7));
  });

  it('logits: q·keysᵀ and dq, plus dk over the batch keys when asked', () => {
    expect(logitsGemmFlops(256, 256, 128, true)).toBe(6 * 256 * 256 * 128);
    expect(logitsGemmFlops(256, 256 + 65536, 128, false)).toBe(4 * 256 * (256 + 65536) * 128);
  });
});

describe('FMA peak', () => {
  it('parses bench/peak-fma.c output', () => {
    const p = parsePeakFma('peak fp32 FMA, 16-wide vectors: 1 thread 195.3 GFLOP/s, 2 threads 394.1 GFLOP/s\n');
    expect(p).toEqual({ lanes: 16, oneThread: 195.3, threads: 2, allThreads: 394.1 });
    expect(peakFor(p!, 1)).toBe(195.3);
    expect(peakFor(p!, 2)).toBe(394.1);
    expect(parsePeakFma('error: needs FMA')).toBeNull();
    expect(bf16PeakFor(p!, 1)).toBeNull();
  });

  it('parses the bf16 dot-product line where the machine has one', () => {
    const p = parsePeakFma(
      'peak fp32 FMA, 16-wide vectors: 1 thread 170.2 GFLOP/s, 2 threads 340.0 GFLOP/s\n' +
        'peak bf16 dot (vdpbf16ps), 16-wide vectors: 1 thread 85.1 GFLOP/s, 2 threads 170.3 GFLOP/s\n',
    );
    expect(p).toEqual({ lanes: 16, oneThread: 170.2, threads: 2, allThreads: 340, bf16: { oneThread: 85.1, allThreads: 170.3 } });
    expect(bf16PeakFor(p!, 1)).toBe(85.1);
    expect(bf16PeakFor(p!, 2)).toBe(170.3);
    expect(peakFor(p!, 2)).toBe(340);
  });
});

describe('caches', () => {
  it('parses sysfs sizes', () => {
    expect(parseCacheSize('48K')).toBe(48 * 1024);
    expect(parseCacheSize('2048K\n')).toBe(2 << 20);
    expect(parseCacheSize('260M')).toBe(260 << 20);
    expect(parseCacheSize('1G')).toBe(1 << 30);
    expect(parseCacheSize('512')).toBe(512);
    expect(parseCacheSize('n/a')).toBeNull();
  });

  it.skipIf(!fs.existsSync('/sys/devices/system/cpu/cpu0/cache'))('reads the data caches, smallest first, no instruction cache', () => {
    const c = cacheSizes();
    expect(c.length).toBeGreaterThan(0);
    for (let i = 1; i < c.length; i++) expect(c[i]!.bytes).toBeGreaterThanOrEqual(c[i - 1]!.bytes);
    for (const l of c) expect(l.name).toMatch(/^L\d+d?$/);
  });

  it('formats bytes', () => {
    expect(formatBytes(80 * 1024)).toBe('80 KiB');
    expect(formatBytes(256 * 65792 * 4)).toBe('64.3 MiB');
    expect(formatBytes(3 * 1024 ** 3)).toBe('3 GiB');
  });
});

describe('textTable', () => {
  const head = ['name', 'ms'];
  const rows = [
    ['a', '1.5'],
    ['longer', '12.25'],
  ];
  it('aligns plain text: left columns padded right, numbers padded left', () => {
    expect(textTable(head, rows, false).split('\n')).toEqual(['name       ms', 'a         1.5', 'longer  12.25']);
  });
  it('writes Markdown with right-aligned number columns', () => {
    expect(textTable(head, rows, true).split('\n')).toEqual(['| name | ms |', '|---|---:|', '| a | 1.5 |', '| longer | 12.25 |']);
  });
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const until = async (cond: () => boolean, ms: number) => {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return cond();
};

describe('startCompetitor', () => {
  it('runs a busy process until stopped', async () => {
    const c = startCompetitor();
    try {
      await new Promise((r) => setTimeout(r, 200));
      expect(c.alive()).toBe(true);
      expect(alive(c.pid)).toBe(true);
    } finally {
      await c.stop();
    }
    expect(c.alive()).toBe(false);
    expect(alive(c.pid)).toBe(false);
    await c.stop(); // twice is fine
  });

  // The benchmark is a separate process here: dist/bench/common.js, which `npm test` compiles first.
  const common = path.join(__dirname, '..', 'dist', 'bench', 'common.js');
  const orphan = async (end: string) => {
    const parent = spawn(process.execPath, ['-e', `const c = require(${JSON.stringify(common)}).startCompetitor(); console.log(c.pid); setTimeout(() => { ${end} }, 100);`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      parent.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
      parent.once('error', reject);
    });
    await new Promise((r) => parent.once('exit', r));
    return pid;
  };

  it.skipIf(!fs.existsSync(common))('is killed when the benchmark exits without stopping it', async () => {
    const pid = await orphan('process.exit(0)');
    expect(await until(() => !alive(pid), 3000)).toBe(true);
  });

  it.skipIf(!fs.existsSync(common))('is killed when the benchmark is interrupted (SIGINT)', async () => {
    const pid = await orphan("process.kill(process.pid, 'SIGINT')");
    expect(await until(() => !alive(pid), 3000)).toBe(true);
  });

  it.skipIf(!fs.existsSync(common))('exits by itself when the benchmark is killed outright (SIGKILL)', async () => {
    const pid = await orphan("process.kill(process.pid, 'SIGKILL')");
    expect(await until(() => !alive(pid), 5000)).toBe(true);
  });
});

// `npm test` compiles first (tsc), so dist/bench/scaling.js is the current bench/scaling.ts.
const scalingBench = path.join(__dirname, '..', 'dist', 'bench', 'scaling.js');

describe.skipIf(!fs.existsSync(scalingBench))('bench/scaling.ts (IMIX_BENCH_SMOKE=1)', () => {
  it('runs both parts at tiny sizes and prints the cache sizes', () => {
    const r = spawnSync(process.execPath, [scalingBench], { env: { ...process.env, IMIX_BENCH_SMOKE: '1' }, encoding: 'utf8', timeout: 240_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/run: smoke/);
    expect(r.stdout).toMatch(/^caches/m);
    expect(r.stdout).toMatch(/NPair \+ i-Mix step over the batch size/);
    expect(r.stdout).toMatch(/^64 +\d+\.\d+ +\d+\.\d/m);
    expect(r.stdout).toMatch(/MoCo \+ i-Mix over the queue size K/);
    expect(r.stdout).toMatch(/^512 +64x576 /m);
    expect(r.stdout).toMatch(/ns per logit at best/);
  }, 300_000);
});
