// The benchmark harness's persistent reference runner (bench/common.ts):
// what the alternating imix/PyTorch rounds of bench/train-step.ts rely on.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PYTHON, RefServer } from '../bench/common';

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
