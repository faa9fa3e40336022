// Hostile options (issue 11): every options object of the public API rejects
// unknown keys with an ArgumentError naming the key (and the key it most
// likely meant); embed's batchSize is validated; absurd hyperparameters are
// rejected before anything is allocated; a diverged loss states the fact and
// the settings that can cause it, in the CLI's flags when it comes through
// the CLI; every numeric CLI flag is a one-line usage error naming the flag.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArgumentError, BYOL, MoCo, NPair, SimCLR, ValueError, evaluation } from '../../lib/index';
import { type Dataset, fromArray } from '../../lib/data/dataset';
import { flagMessage } from '../../lib/cli/errors';
import { checkKeys, closestKey } from '../../lib/util/options';
import { caught } from '../helpers';

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'imix.js');
const tiny = { encoder: { kind: 'mlp' as const, hidden: [8] }, projection: [8, 4] as [number, number], seed: 1 };
const rows = (n: number, F = 6): Dataset => fromArray(new Float32Array(n * F).map((_, i) => Math.sin(i * 0.7)), [F]);
const labelled = (n: number): Dataset =>
  fromArray(new Float32Array(n * 6).map((_, i) => Math.cos(i * 0.3)), [6], { labels: Int32Array.from({ length: n }, (_, i) => i % 3) });

async function rejected(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection, the promise resolved');
}

let tmp: string;
beforeAll(() => {
  // The CLI runs from dist/: compile it when it is missing or older than lib/.
  const newest = (dir: string): number =>
    fs.readdirSync(dir, { withFileTypes: true }).reduce((t, e) => {
      const p = path.join(dir, e.name);
      return Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
    }, 0);
  const main = path.join(ROOT, 'dist', 'lib', 'cli', 'main.js');
  if (!fs.existsSync(main) || fs.statSync(main).mtimeMs < newest(path.join(ROOT, 'lib')))
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', ROOT], { stdio: 'inherit' });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'imix-options-'));
}, 180_000);
afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('the key helper', () => {
  it('suggests the key a misspelling meant, and nothing for an unrelated key', () => {
    const keys = ['epochs', 'batchSize', 'queueSize', 'momentum', 'warmupEpochs', 'k'];
    expect(closestKey('batchsize', keys)).toBe('batchSize');
    expect(closestKey('batch_size', keys)).toBe('batchSize');
    expect(closestKey('queue', keys)).toBe('queueSize');
    expect(closestKey('momentm', keys)).toBe('momentum');
    expect(closestKey('mometnum', keys)).toBe('momentum');
    expect(closestKey('warmup', keys)).toBe('warmupEpochs');
    expect(closestKey('kk', keys)).toBe('k');
    expect(closestKey('device', keys)).toBeUndefined();
    expect(closestKey('', keys)).toBeUndefined();
  });

  it('names the first unknown key with its argument path, lists the others and the accepted keys', () => {
    const e = caught(() => checkKeys({ epochs: 1, epoch: 2, zzz: 3 }, ['epochs', 'batchSize'], 'fit.', 'fit options'));
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e.message).toBe("fit.epoch: unknown option; did you mean 'fit.epochs'? (also unknown: fit.zzz) (fit options: epochs, batchSize)");
    expect(() => checkKeys({ epochs: 1 }, ['epochs'])).not.toThrow();
    // Symbol keys are not options.
    expect(() => checkKeys({ epochs: 1, [Symbol('s')]: 1 }, ['epochs'])).not.toThrow();
  });
});

describe('defect 10: unknown option keys are an ArgumentError naming the key', () => {
  it("new MoCo({ ..., queuesize: 10 }) names 'queuesize' and suggests 'queueSize'", () => {
    const e = caught(() => new MoCo({ ...tiny, queuesize: 10 } as never));
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e.message).toMatch(/^queuesize: unknown option; did you mean 'queueSize'\?/);
    expect(e.message).toMatch(/MoCo options: encoder, projection, .*queueSize, momentum\)$/);
  });

  it("each method's own keys, and only its own, are accepted", () => {
    expect(caught(() => new NPair({ ...tiny, temprature: 0.1 } as never)).message).toMatch(/^temprature: unknown option; did you mean 'temperature'\?/);
    expect(caught(() => new BYOL({ ...tiny, momentm: 0.9 } as never)).message).toMatch(/^momentm: unknown option; did you mean 'momentum'\?.*BYOL options/);
    expect(caught(() => new BYOL({ ...tiny, symetric: true } as never)).message).toMatch(/^symetric: .*did you mean 'symmetric'\?/);
    // A MoCo option given to another method would be ignored.
    const e = caught(() => new NPair({ ...tiny, queueSize: 64 } as never));
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e.message).toMatch(/^queueSize: unknown option \(NPair options: /);
    expect(caught(() => new SimCLR({ ...tiny, momentum: 0.9 } as never))).toBeInstanceOf(ArgumentError);
    expect(() => new MoCo({ ...tiny, queueSize: 64, momentum: 0.9 }).dispose()).not.toThrow();
    expect(() => new BYOL({ ...tiny, predictorHidden: 8, momentum: 0.99, symmetric: true }).dispose()).not.toThrow();
  });

  it('nested options: optimizer, mix and encoder specs', () => {
    const cases: Array<[() => unknown, RegExp]> = [
      [() => new NPair({ ...tiny, optimizer: { LR: 0.1 } } as never), /^optimizer\.LR: unknown option; did you mean 'optimizer\.lr'\?/],
      [() => new NPair({ ...tiny, optimizer: { warmup: 2 } } as never), /^optimizer\.warmup: unknown option; did you mean 'optimizer\.warmupEpochs'\?/],
      [() => new NPair({ ...tiny, optimizer: { kind: 'adamw', eps: 1e-6 } } as never), /^optimizer\.eps: unknown option/],
      [() => new NPair({ ...tiny, mix: { kind: 'mixup', alpah: 0.5 } } as never), /^mix\.alpah: unknown option; did you mean 'mix\.alpha'\?/],
      [() => new NPair({ ...tiny, encoder: { kind: 'mlp', hidden: [8], batchnorm: false } } as never), /^encoder\.batchnorm: .*did you mean 'encoder\.batchNorm'\?/],
      [() => new NPair({ ...tiny, encoder: { kind: 'tabular', hidden: [8] } } as never), /^encoder\.hidden: unknown option \(a 'tabular' encoder's options: kind, scale\)/],
    ];
    for (const [f, re] of cases) {
      const e = caught(f);
      expect(e, re.source).toBeInstanceOf(ArgumentError);
      expect(e.message).toMatch(re);
    }
    // Options of another optimizer kind would be ignored just the same.
    expect(caught(() => new NPair({ ...tiny, optimizer: { lr: 1e-3, betas: [0.9, 0.99] } })).message).toBe(
      "optimizer.betas: only for optimizer.kind 'adamw'; this optimizer is 'sgd'",
    );
    expect(caught(() => new NPair({ ...tiny, optimizer: { kind: 'sgd', eta: 0.01 } }))).toBeInstanceOf(ArgumentError);
    expect(caught(() => new NPair({ ...tiny, optimizer: { kind: 'adamw', nesterov: true } }))).toBeInstanceOf(ArgumentError);
    expect(caught(() => new NPair({ ...tiny, mix: 'mixup' } as never)).message).toMatch(/^mix: expected an options object/);
    // The keys each kind takes are accepted.
    for (const optimizer of [{ kind: 'lars' as const, eta: 0.01, nesterov: true }, { kind: 'adamw' as const, betas: [0.9, 0.99] as [number, number] }])
      expect(() => new NPair({ ...tiny, optimizer }).dispose()).not.toThrow();
  });

  it('fit(ds, { epochs: 1, batchsize: 8 }) names batchsize and trains nothing', async () => {
    const m = new NPair(tiny);
    const e = await rejected(m.fit(rows(32), { epochs: 1, batchsize: 8 } as never));
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e.message).toMatch(/^batchsize: unknown option; did you mean 'batchSize'\? \(fit options: epochs, batchSize, /);
    expect(m.step).toBe(0);
    // The kNN monitor's options, and callbacks that are not functions.
    const knn = await rejected(m.fit(rows(32), { epochs: 1, batchSize: 8, knn: { train: labelled(16), test: labelled(16), evry: 1 } } as never));
    expect(knn).toBeInstanceOf(ArgumentError);
    expect(knn.message).toMatch(/^knn\.evry: unknown option; did you mean 'knn\.every'\?/);
    const cb = await rejected(m.fit(rows(32), { epochs: 1, batchSize: 8, onStep: 'log' } as never));
    expect(cb).toBeInstanceOf(ArgumentError);
    expect(cb.message).toMatch(/^onStep: expected a function/);
    expect(m.step).toBe(0);
    m.dispose();
  });

  it('embed, knnPredict and linearProbe options', async () => {
    const m = new NPair(tiny);
    await m.fit(rows(32), { epochs: 1, batchSize: 8 });
    const e = caught(() => m.embed(rows(4), { batchsize: 2 } as never));
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e.message).toMatch(/^batchsize: unknown option; did you mean 'batchSize'\? \(embed options: batchSize\)/);
    expect(m.embed(rows(5), { batchSize: 2 })).toEqual(m.embed(rows(5)));
    m.dispose();
    const x = new Float32Array(12 * 2).map((_, i) => Math.sin(i)), y = Int32Array.from({ length: 12 }, (_, i) => i % 2);
    const k = caught(() => evaluation.knnPredict(x, y, x, 2, 2, { kk: 3 } as never));
    expect(k).toBeInstanceOf(ArgumentError);
    expect(k.message).toMatch(/^kk: unknown option; did you mean 'k'\? \(knnPredict options: /);
    const p = caught(() => evaluation.linearProbe({ trainFeatures: x, trainLabels: y, testFeatures: x, testLabels: y, D: 2, numClasses: 2 }, { epoch: 3 } as never));
    expect(p).toBeInstanceOf(ArgumentError);
    expect(p.message).toMatch(/^epoch: unknown option; did you mean 'epochs'\? \(linearProbe options: /);
    expect(caught(() => evaluation.knnPredict(x, y, x, 2, 2, null as never))).toBeInstanceOf(ArgumentError);
  });
});

describe('defect 8: embed validates batchSize', () => {
  it('batchSize 0, -1 and 1.5 are each a ValueError naming batchSize, returned promptly', () => {
    // In a child process: a regression to the endless loop must fail this test, not hang the suite.
    const script = `
      const { NPair, data } = require(${JSON.stringify(path.join(ROOT, 'dist', 'lib', 'index.js'))});
      (async () => {
        const ds = data.fromArray(new Float32Array(32 * 6).map((_, i) => Math.sin(i)), [6]);
        const m = new NPair({ encoder: { kind: 'mlp', hidden: [8] }, projection: [8, 4] });
        await m.fit(ds, { epochs: 1, batchSize: 8 });
        const out = [];
        for (const batchSize of [0, -1, 1.5, NaN, Infinity, '4']) {
          try { m.embed(ds, { batchSize }); out.push('no error'); } catch (e) { out.push(e.name + ': ' + e.message); }
        }
        console.log(JSON.stringify(out));
      })();`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(r.signal, 'embed did not return (killed by the timeout)').toBeNull();
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as string[];
    expect(out).toEqual([
      'ValueError: batchSize: expected a positive integer, got 0',
      'ValueError: batchSize: expected a positive integer, got -1',
      'ValueError: batchSize: expected a positive integer, got 1.5',
      'ValueError: batchSize: expected a positive integer, got NaN',
      'ValueError: batchSize: expected a positive integer, got Infinity',
      'ValueError: batchSize: expected a positive integer, got 4',
    ]);
  }, 90_000);
});

describe('defect 12: absurd hyperparameters are rejected up front, a diverged loss names no culprit', () => {
  it('a MoCo queue too long for memory is a ValueError naming queueSize, before any allocation', () => {
    for (const [o, re] of [
      [{ queueSize: 1e12 }, /^queueSize: expected at most 16777216 \(2\^24\) keys, got 1000000000000$/],
      [{ queueSize: 2 ** 24, projection: [8, 4096] }, /^queueSize: a queue of 16777216 keys of 4096 values .* at most 262144 keys of this width$/],
    ] as const) {
      const e = caught(() => new MoCo({ ...tiny, ...o } as never));
      expect(e).toBeInstanceOf(ValueError);
      expect(e.message).toMatch(re);
    }
  });

  it('temperature, learning rate, mixing α and network widths have bounds', () => {
    const cases: Array<[object, RegExp]> = [
      [{ temperature: 1e-30 }, /^temperature: expected at least 0\.0001/],
      [{ temperature: Infinity }, /^temperature: expected a positive number/],
      [{ optimizer: { lr: 1e39 } }, /^optimizer\.lr: expected at most 3\.40\d*e\+38 \(the largest float32\)/],
      [{ optimizer: { weightDecay: 1e39 } }, /^optimizer\.weightDecay: expected at most 3\.40\d*e\+38/],
      [{ mix: { kind: 'mixup', alpha: 1e-5 } }, /^mix\.alpha: expected a number from 0\.01 to 1000000000000, got 0\.00001/],
      [{ mix: { kind: 'mixup', alpha: 1e308 } }, /^mix\.alpha: expected a number from 0\.01/],
      [{ encoder: { kind: 'mlp', hidden: [1e8] } }, /^encoder\.hidden: a layer of width 100000000 is wider than 16777216/],
      [{ encoder: { kind: 'tabular', scale: 1e308 } }, /^encoder\.scale: expected at most 2048/],
      [{ encoder: { kind: 'tabular', scale: 6 } }, /^encoder\.scale: the encoder and projection head would hold \d+ parameters/],
      [{ projection: [100000, 100000] }, /^projection: the encoder and projection head would hold \d+ parameters/],
    ];
    for (const [o, re] of cases) {
      const e = caught(() => new NPair({ ...tiny, ...o } as never));
      expect(e, re.source).toBeInstanceOf(ValueError);
      expect(e.message).toMatch(re);
    }
    expect(caught(() => new BYOL({ ...tiny, predictorHidden: 2 ** 25 }))).toBeInstanceOf(ValueError);
    // The bounds leave every practical setting alone.
    expect(() => new NPair({ ...tiny, temperature: 0.01, mix: { kind: 'mixup', alpha: 0.1 }, optimizer: { lr: 10 } }).dispose()).not.toThrow();
  });

  it('the diverged-loss error states the fact and the settings that can cause it, without claiming which', async () => {
    const m = new NPair({ ...tiny, optimizer: { lr: 1e30 } });
    const e = await rejected(m.fit(rows(64), { epochs: 3, batchSize: 8 }));
    expect(e).toBeInstanceOf(ValueError);
    expect(e.message).toMatch(/^loss: became NaN at step \d+; settings that can make training diverge: /);
    for (const s of ['optimizer.lr=1e+30', 'optimizer.warmupEpochs=0', 'temperature=0.2', 'optimizer.weightDecay=0.0005']) expect(e.message).toContain(s);
    expect(e.message).not.toMatch(/lower|raise|increase/i);
    m.dispose();
    // BYOL's loss has no temperature: it is not offered as a cause.
    const b = new BYOL({ ...tiny, optimizer: { lr: 1e30 } });
    const be = await rejected(b.fit(rows(64), { epochs: 3, batchSize: 8 }));
    expect(be.message).toMatch(/^loss: became NaN at step \d+; .*optimizer\.lr=1e\+30/);
    expect(be.message).not.toContain('temperature');
    b.dispose();
  });

  it("the CLI's error mapping names its flags for the library's settings", () => {
    expect(flagMessage('loss: became NaN at step 2; settings that can make training diverge: learning rate (optimizer.lr=1e+30), warmup (optimizer.warmupEpochs=0), temperature (temperature=0.2), weight decay (optimizer.weightDecay=0.0005)')).toBe(
      'loss: became NaN at step 2; settings that can make training diverge: learning rate (--lr 1e+30), warmup (--warmup 0), temperature (--temperature 0.2), weight decay (--weight-decay 0.0005)',
    );
    expect(flagMessage('optimizer.warmupEpochs: expected a non-negative number, got -1')).toBe('--warmup: expected a non-negative number, got -1');
    expect(flagMessage('encoder.hidden: a layer of width 100000000 is wider than 16777216 (2^24)')).toMatch(/^--encoder: /);
    // Words that only look like settings are left alone.
    expect(flagMessage('x: the temperature is fine')).toBe('x: the temperature is fine');
  });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}
function imix(args: string[]): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: tmp, env: { ...process.env, IMIX_DEBUG: '' }, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
function oneLineError(r: Run, code: number, pattern: RegExp): string {
  expect(r.code, r.stderr).toBe(code);
  const lines = r.stderr.split('\n').filter(Boolean);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^imix: error: /);
  expect(lines[0]).toMatch(pattern);
  return lines[0]!;
}
const SMALL = ['--encoder', 'mlp:16', '--projection', '16,8', '--batch', '32', '--limit', '128', '--queue', '64', '--epochs', '1', '--knn-every', '0', '-q'];

describe('the command line: hostile numbers are one-line errors naming the flag', () => {
  it('imix train --queue 1e12 is a usage error naming --queue, before any work', () => {
    const out = path.join(tmp, 'q');
    const line = oneLineError(imix(['train', ...SMALL, '--out', out, '--queue', '1e12']), 2, /^imix: error: --queue: expected an integer from 1 to 16777216, got 1e12$/);
    expect(line).not.toMatch(/shape|tensor/);
    expect(fs.existsSync(out)).toBe(false);
    // A queue that fits the flag's bound but not memory at this projection width: the constructor's check, named the same way.
    oneLineError(imix(['train', ...SMALL, '--out', out, '--projection', '64,256', '--queue', '8388608']), 2, /^imix: error: --queue: a queue of 8388608 keys of 256 values/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('imix train --lr 1e30 ends naming --lr, --temperature and --warmup, without guessing which', () => {
    const line = oneLineError(imix(['train', ...SMALL, '--out', path.join(tmp, 'lr'), '--lr', '1e30']), 1, /^imix: error: loss: became NaN at step \d+; /);
    for (const flag of ['--lr 1e+30', '--temperature 0.2', '--warmup 0', '--weight-decay']) expect(line).toContain(flag);
    expect(line).not.toMatch(/optimizer\.|warmupEpochs|lower/);
  });

  it('every numeric flag rejects Infinity, huge, negative and fractional values as a usage error naming it', () => {
    const cases: Array<[string[], RegExp]> = [
      [['train', '--lr', 'Infinity'], /^--lr: expected a number, got 'Infinity'$/],
      [['train', '--lr', '1e400'], /^--lr: expected a number, got '1e400'$/],
      [['train', '--lr', '1e39'], /^--lr: expected a number <= 3\.40\d*e\+38 \(the largest float32\), got 1e39$/],
      [['train', '--lr', '-0.1'], /^--lr: expected a positive number, got -0\.1$/],
      [['train', '--temperature', '1e-30'], /^--temperature: expected a number >= 0\.0001 .*got 1e-30$/],
      [['train', '--temperature', '0'], /^--temperature: expected a positive number, got 0$/],
      [['train', '--alpha', '1e-5'], /^--alpha: expected a number from 0\.01 to 1000000000000 .*got 1e-5$/],
      [['train', '--alpha', '1e308'], /^--alpha: expected a number from 0\.01 .*got 1e308$/],
      [['train', '--weight-decay', '1e308'], /^--weight-decay: expected a number <= 3\.40\d*e\+38 .*got 1e308$/],
      [['train', '--weight-decay', '-1'], /^--weight-decay: expected a number >= 0, got -1$/],
      [['train', '--warmup', '-1'], /^--warmup: expected a number >= 0, got -1$/],
      [['train', '--warmup', 'NaN'], /^--warmup: expected a number, got 'NaN'$/],
      [['train', '--momentum', '1e308'], /^--momentum: expected a number in \[0, 1\], got 1e308$/],
      [['train', '--queue', '0'], /^--queue: expected an integer >= 1, got 0$/],
      [['train', '--queue', '16777217'], /^--queue: expected an integer from 1 to 16777216, got 16777217$/],
      [['train', '--epochs', '1.5'], /^--epochs: expected an integer >= 1, got 1\.5$/],
      [['train', '--epochs', '9007199254740993'], /^--epochs: expected an integer from 1 to 2\^53 - 1/],
      [['train', '--batch', '-8'], /^--batch: expected an integer >= 2, got -8$/],
      [['train', '--batch', '1e20'], /^--batch: expected an integer from 2 to 2\^53 - 1/],
      [['train', '--seed', '-1'], /^--seed: expected an integer >= 0, got -1$/],
      [['train', '--seed', '0.5'], /^--seed: expected an integer >= 0, got 0\.5$/],
      [['train', '--knn-every', '-1'], /^--knn-every: expected an integer >= 0, got -1$/],
      [['train', '--max-steps', '1e300'], /^--max-steps: expected an integer from 1 to 2\^53 - 1/],
      [['train', '--log-every', '0'], /^--log-every: expected an integer >= 1, got 0$/],
      [['train', '--limit', '1.5'], /^--limit: expected an integer >= 2, got 1\.5$/],
      [['train', '--threads', '5000'], /^--threads: expected an integer from 1 to 1024, got 5000$/],
      [['train', '--encoder', 'mlp:99999999999999999999'], /^--encoder: a layer of width 99999999999999999999 is wider than 16777216/],
      [['train', '--encoder', 'tabular:1e308'], /^--encoder: tabular scale must be at most 2048/],
      [['train', '--projection', '512,1e3'], /^--projection: expected comma-separated positive integers/],
      [['train', '--projection', '100000,100000'], /^--projection: the encoder and projection head would hold/],
      [['train', '--views', 'crop:1e300'], /^--views: crop padding must be a non-negative integer/],
      [['train', '--views', 'noise:1e39'], /^--views: noise std must be at most 3\.40\d*e\+38/],
      [['eval', 'run', '--k', '0'], /^--k: expected an integer >= 1, got 0$/],
      [['eval', 'run', '--probe-epochs', '1e300'], /^--probe-epochs: expected an integer from 1 to 2\^53 - 1/],
      [['eval', 'run', '--threads', '0'], /^--threads: expected an integer >= 1, got 0$/],
      [['embed', 'run', '--out', 'x.npy', '--limit', '-5'], /^--limit: expected an integer >= 1, got -5$/],
    ];
    for (const [args, re] of cases) oneLineError(imix(args), 2, new RegExp(`^imix: error: ${re.source.slice(1)}`));
  }, 120_000);
});
