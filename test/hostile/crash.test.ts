// Crash consistency of the run folder: `imix train` is SIGKILLed right after
// each file-system step of a run (every removal, temporary creation, write,
// fsync and rename of every run file, every metrics line; the
// IMIX_TEST_KILL_AT_FS_STEP hook in lib/io/atomic.ts; of a run of steps alike,
// such as the chunks of one file or consecutive metrics lines, the first),
// then recovered the way
// docs/troubleshooting.md says (`--resume` when a checkpoint exists, else the
// same command with --force). Each time the run must end with exactly the
// losses of an uninterrupted run, the same files, and no temporaries.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDist, imix, SMALL } from './cli-helpers';

let tmp: string;
beforeAll(() => {
  ensureDist();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'imix-crash-'));
}, 120_000);
afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const train = (args: string[], env: Record<string, string> = {}) => imix(['train', ...args], { env, cwd: tmp, timeout: 60_000 });

const RUN = [...SMALL, '--epochs', '2', '--knn-every', '0', '--quiet'];

/** The records of metrics.jsonl without their wall-clock fields. */
function records(dir: string): Array<Record<string, unknown>> {
  return fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const { time: _t, throughput: _p, seconds: _s, ...r } = JSON.parse(l) as Record<string, unknown>;
      return r;
    });
}

describe('a run killed at any file-system step resumes to the uninterrupted run', () => {
  it('every step of a 2-epoch run, each with its own kill', () => {
    const ref = path.join(tmp, 'ref');
    const traced = train([...RUN, '--out', ref], { IMIX_TEST_TRACE_FS_STEPS: '1' });
    expect(traced.code, traced.stderr).toBe(0);
    const steps = traced.stderr.split('\n').filter((l) => l.startsWith('fs-step '));
    // Removals of an old run, run.json, 8 step + 2 epoch lines, 3 plots, 2 checkpoints with config.json.
    expect(steps.length).toBeGreaterThan(50);
    const want = records(ref);
    expect(want.filter((r) => r.type === 'step').map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const files = fs.readdirSync(ref).sort();
    expect(files).toEqual(['checkpoint.safetensors', 'config.json', 'loss.svg', 'metrics.jsonl', 'run.json']);

    // Each kind of step: consecutive steps with the same description leave the same state.
    const kills = steps.flatMap((s, i) => (i > 0 && s.split(' ').slice(2).join(' ') === steps[i - 1]!.split(' ').slice(2).join(' ') ? [] : [i + 1]));
    expect(kills.length).toBeGreaterThan(30);
    let resumed = 0;
    for (const n of kills) {
      const dir = path.join(tmp, `kill-${n}`);
      const killed = train([...RUN, '--out', dir], { IMIX_TEST_KILL_AT_FS_STEP: String(n) });
      expect(killed.signal, `kill after ${steps[n - 1]}`).toBe('SIGKILL');
      const hasCheckpoint = fs.existsSync(path.join(dir, 'checkpoint.safetensors'));
      const again = hasCheckpoint ? train(['--resume', dir, '--quiet']) : train([...RUN, '--out', dir, '--force']);
      if (hasCheckpoint) resumed++;
      expect(again.code, `after ${steps[n - 1]}: ${again.stderr}`).toBe(0);
      expect(records(dir), `after ${steps[n - 1]}`).toEqual(want);
      expect(fs.readdirSync(dir).sort(), `after ${steps[n - 1]}`).toEqual(files);
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'))).toMatchObject({ step: 8, epoch: 2 });
      fs.rmSync(dir, { recursive: true });
    }
    expect(resumed).toBeGreaterThan(15); // most kills fall after the first checkpoint
  }, 600_000);

  it('a kill between the checkpoint and config.json leaves a run that resumes (the checkpoint holds the configuration)', () => {
    const dir = path.join(tmp, 'between');
    const traced = train([...RUN, '--out', path.join(tmp, 'trace2')], { IMIX_TEST_TRACE_FS_STEPS: '1' });
    const n = traced.stderr.split('\n').filter((l) => l.startsWith('fs-step ')).findIndex((l) => l.endsWith('rename checkpoint.safetensors')) + 1;
    expect(n).toBeGreaterThan(0);
    expect(train([...RUN, '--out', dir], { IMIX_TEST_KILL_AT_FS_STEP: String(n) }).signal).toBe('SIGKILL');
    expect(fs.existsSync(path.join(dir, 'config.json'))).toBe(false); // the first config.json was never written
    const temps = fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'));
    const r = train(['--resume', dir, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(records(dir)).toEqual(records(path.join(tmp, 'trace2')));
    // Temporaries of the killed writer are removed by the next one.
    for (const t of temps) expect(fs.existsSync(path.join(dir, t))).toBe(false);
  }, 120_000);
});
