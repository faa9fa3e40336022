// The run folder under hostile use (issue 11, defects 5, 11 and 12): one
// writer at a time, paths where mkdir misbehaves, and errors that name the flag.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArgumentError, NPair } from '../../lib/index';
import { fromArray } from '../../lib/data/dataset';
import { BIN, ensureDist, imix, SMALL } from './cli-helpers';

let tmp: string;
beforeAll(() => {
  ensureDist();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'imix-folder-'));
}, 120_000);
afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const data = fromArray(new Float32Array(64 * 6).map((_, i) => Math.cos(i * 0.3)), [6]);
const tiny = { encoder: { kind: 'mlp' as const, hidden: [8] }, projection: [8, 4] as [number, number] };

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('one writer per run folder (defect 5)', () => {
  it('a second imix train on the same --out (new, --force or --resume) and a library fit are refused while the first runs', async () => {
    const dir = path.join(tmp, 'busy');
    const first = spawn(process.execPath, [BIN, 'train', ...SMALL, '--epochs', '500', '--knn-every', '0', '--quiet', '--out', dir], { env: { ...process.env, IMIX_DEBUG: '' } });
    const exited = new Promise<number | null>((r) => first.on('exit', (code) => r(code)));
    try {
      await waitFor(() => fs.existsSync(path.join(dir, 'checkpoint.safetensors')), 60_000);
      const busy = new RegExp(`${dir.replace(/[/\\]/g, '.')} is in use by another imix process \\(pid ${first.pid}\\)`);
      for (const args of [
        ['train', ...SMALL, '--epochs', '1', '--out', dir],
        ['train', ...SMALL, '--epochs', '1', '--out', dir, '--force'],
        ['train', '--resume', dir, '--epochs', '600'],
      ]) {
        const r = imix(args);
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toMatch(busy);
        expect(r.stderr).toMatch(/^imix: error: --(out|resume): /);
      }
      const m = new NPair(tiny);
      const e = await m.fit(data, { epochs: 1, batchSize: 16, checkpointDir: dir }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ArgumentError);
      expect((e as Error).message).toMatch(/^checkpointDir: .* is in use by another imix process/);
      m.build([6]);
      await expect(m.save(dir)).rejects.toThrow(/^dir: .* is in use by another imix process/);
      m.dispose();
    } finally {
      first.kill('SIGTERM'); // saves a checkpoint and exits 143
    }
    expect(await exited).toBe(143);
    // The first run's folder is whole and resumes; nothing of the refused writers is in it.
    const r = imix(['train', '--resume', dir, '--max-steps', '2', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual(['checkpoint.safetensors', 'config.json', 'loss.svg', 'metrics.jsonl', 'run.json']);
  }, 120_000);

  it('the lock dies with its holder: after kill -9 the next writer takes the folder at once', async () => {
    const dir = path.join(tmp, 'killed');
    const first = spawn(process.execPath, [BIN, 'train', ...SMALL, '--epochs', '500', '--knn-every', '0', '--quiet', '--out', dir]);
    const exited = new Promise<NodeJS.Signals | null>((r) => first.on('exit', (_c, sig) => r(sig)));
    await waitFor(() => fs.existsSync(path.join(dir, 'checkpoint.safetensors')), 60_000);
    first.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const r = imix(['train', '--resume', dir, '--max-steps', '1', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);

  it('one process may hold its own folder twice (the CLI holds it, its fit takes it again)', async () => {
    const dir = path.join(tmp, 'twice');
    const m = new NPair(tiny);
    await m.fit(data, { epochs: 1, batchSize: 16, checkpointDir: dir });
    await m.save(dir); // the fit's lock was released
    await m.fit(data, { epochs: 2, batchSize: 16, checkpointDir: dir });
    expect(m.epoch).toBe(2);
    m.dispose();
  });
});

describe('paths where mkdir misbehaves, and errors that name the flag (defects 11, 12)', () => {
  it('--out /proc/x fails at once with one line naming --out (it used to hang in a recursive mkdir)', () => {
    for (const out of ['/proc/imix-x', '/proc/imix-x/y/z']) {
      const t = Date.now();
      const r = imix(['train', ...SMALL, '--epochs', '1', '--out', out], { timeout: 30_000 });
      expect(r.signal, 'hung').toBeNull();
      expect(Date.now() - t).toBeLessThan(20_000);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`^imix: error: --out: cannot write checkpoints to ${out.replace(/\//g, '.')} \\(ENOENT\\)`));
      expect(r.stderr).not.toMatch(/checkpointDir/);
    }
  });

  it('the library: checkpointDir under /proc is an ArgumentError naming checkpointDir, at once', async () => {
    const m = new NPair(tiny);
    const e = await m.fit(data, { epochs: 1, batchSize: 16, checkpointDir: '/proc/imix-y/z' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ArgumentError);
    expect((e as Error).message).toMatch(/^checkpointDir: cannot write checkpoints to \/proc\/imix-y\/z \(ENOENT\)/);
    expect(m.step).toBe(0);
    m.dispose();
  });

  it('a failed command leaves no empty folder behind', () => {
    const out = path.join(tmp, 'never', 'made');
    const r = imix(['train', ...SMALL, '--epochs', '1', '--batch', '100000', '--out', out]);
    expect(r.code).toBe(1);
    expect(fs.existsSync(out)).toBe(false);
  });
});
