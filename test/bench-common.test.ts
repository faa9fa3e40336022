// The benchmark harness's persistent reference runner (bench/common.ts):
// what the alternating imix/PyTorch rounds of bench/train-step.ts rely on;
// and a smoke run of the compiled bench/conv.ts, with and without torch.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PYTHON, RefServer, alternatePairs } from '../bench/common';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imix-refserver-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, body);
  return p;
}

describe.skipIf(!fs.existsSync(PYTHON))('RefServer', () => {
  it('starts a --serve script, reads its first line, and answers requests in order', async () => {
    const p = script(
      'echo.py',
      [
        'import json, sys',
        'assert sys.argv[1] == "--serve"',
        'print(json.dumps({"args": sys.argv[2:]}), flush=True)',
        'for line in sys.stdin:',
        '    print(json.dumps({"twice": json.loads(line)["n"] * 2}), flush=True)',
      ].join('\n'),
    );
    const s = await RefServer.start<{ args: string[] }, { twice: number }>(p, ['a', 'b']);
    expect(s).not.toBeNull();
    expect(s!.info.args).toEqual(['a', 'b']);
    expect(await s!.request({ n: 4 })).toEqual({ twice: 8 });
    expect(await s!.request({ n: -1.5 })).toEqual({ twice: -3 });
    s!.close();
  });

  it('returns null with the reason when the script is missing or fails', async () => {
    expect(await RefServer.start(path.join(dir, 'nope.py'), [])).toBeNull();
    expect(RefServer.lastError).toMatch(/not found/);
    const bad = script('bad.py', 'raise SystemExit("no torch here")\n');
    expect(await RefServer.start(bad, [])).toBeNull();
    expect(RefServer.lastError).toMatch(/no torch here/);
  });

  it('a script that dies mid-run answers null instead of hanging', async () => {
    const p = script('dies.py', ['import json, sys', 'print("{}", flush=True)', 'sys.stdin.readline()', 'sys.exit(3)'].join('\n'));
    const s = await RefServer.start(p, []);
    expect(s).not.toBeNull();
    expect(await s!.request({})).toBeNull();
    expect(await s!.request({})).toBeNull();
  });
});

describe('alternatePairs', () => {
  // A reference whose step "takes" the time it is told, logging the order of the calls.
  function fake(times: Array<number | null>, log: string[]) {
    let i = 0;
    const server = {
      request: async (req: { reps: number }) => {
        log.push(`ref x${req.reps}`);
        const t = times[i++];
        return t == null ? null : { ms: [t] };
      },
    };
    return { server: server as unknown as RefServer<unknown, { ms: number[] }> };
  }
  const settle = async () => {};

  it('times one step each, adjacent, the first of a pair alternating, and gives each pair its ratio', async () => {
    const log: string[] = [];
    const out = await alternatePairs(() => void log.push('imix'), fake([10, 20, 30, 40], log), 4, settle);
    expect(log).toEqual(['imix', 'ref x1', 'ref x1', 'imix', 'imix', 'ref x1', 'ref x1', 'imix']);
    expect(out.refMs).toEqual([10, 20, 30, 40]);
    expect(out.ms).toHaveLength(4);
    out.ratios.forEach((r, i) => expect(r).toBeCloseTo(out.refMs[i]! / out.ms[i]!, 12));
    expect(out.note).toBe('');
  });

  it('stops at the first pair the reference does not answer, keeping the pairs before it', async () => {
    const log: string[] = [];
    const out = await alternatePairs(() => void log.push('imix'), fake([10, null, 30], log), 5, settle);
    expect(out.refMs).toEqual([10]);
    expect(out.ratios).toHaveLength(1);
    // The second pair starts with the reference, which fails: imix does not run for it.
    expect(log).toEqual(['imix', 'ref x1', 'ref x1']);
  });
});

// `npm test` compiles first (tsc), so dist/bench/conv.js is the current bench/conv.ts.
const convBench = path.join(__dirname, '..', 'dist', 'bench', 'conv.js');

describe.skipIf(!fs.existsSync(convBench))('bench/conv.ts (IMIX_BENCH_SMOKE=1)', () => {
  const run = (env: NodeJS.ProcessEnv) =>
    spawnSync(process.execPath, [convBench], { env: { ...process.env, IMIX_BENCH_SMOKE: '1', ...env }, encoding: 'utf8', timeout: 240_000 });

  it('runs every part at tiny sizes: conv layers, the training step, peak RSS', () => {
    const r = run({});
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/run: smoke/);
    for (const net of ['resnet18 w0.125 8x8x1', 'resnet18 w0.125 8x8x3', 'resnet20 w0.25 8x8x1', 'resnet20 w0.25 8x8x3']) {
      expect(r.stdout).toContain(`${net} conv1 (no dx)`);
      expect(r.stdout).toContain(`${net} layer2.0.downsample.0`);
    }
    expect(r.stdout).toContain('resnet18 w0.125 8x8x3 all 20 convs');
    expect(r.stdout).toContain('resnet20 w0.25 8x8x1 all 21 convs');
    expect(r.stdout).toMatch(/NPair \+ i-Mix step, resnet20/);
    expect(r.stdout).toMatch(/imix \(2 threads\)\s+\d+/);
  }, 300_000);

  it('without torch it still times imix and says why the reference is missing', () => {
    // A torch module that fails to import, ahead of the real one on the path.
    const fake = path.join(dir, 'no-torch');
    fs.mkdirSync(fake, { recursive: true });
    fs.writeFileSync(path.join(fake, 'torch.py'), 'raise ModuleNotFoundError("No module named \'torch\' (hidden by the test)")\n');
    const r = run({ PYTHONPATH: fake });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('resnet20 w0.25 8x8x1 layer1.0.conv1');
    expect(r.stdout).toContain('reference: unavailable');
    if (fs.existsSync(PYTHON)) expect(r.stdout).toMatch(/reference: .*No module named 'torch'/);
    expect(r.stdout).toMatch(/imix \(2 threads\)\s+\d+/);
    expect(r.stdout).not.toMatch(/torch 1\./);
  }, 300_000);
});
