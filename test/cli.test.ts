// The `imix` command line, run as a real process: node bin/imix.js ...
// (compiles with `tsc -p .` first if dist/ is missing or older than lib/cli).
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeError, flagMessage } from '../lib/cli/errors';
import { writeMatrix } from '../lib/cli/npy';
import { Standardizer, fromArray, loadDataset, parseNpyHeader, readNpy as libReadNpy, trainTestSplit, writeNpy } from '../lib/data';
import { loadRun } from '../lib/cli/method';
import { formatEncoder, formatViews, parseEncoder, parseViews, viewsFromDescribe } from '../lib/cli/options';
import { niceTicks, renderPlot } from '../lib/cli/plot';
import { formatDuration } from '../lib/cli/progress';
import { ensureDist } from './hostile/cli-helpers';
import { fashionMnist } from '../lib/data/dataset';
import { evaluation } from '../lib/index';
import { loadCheckpoint } from '../lib/methods/checkpoint';

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'imix.js');
let tmp: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function imix(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? tmp,
    env: { ...process.env, IMIX_DEBUG: '', ...options.env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Small, fast training settings on the bundled data. */
const SMALL = ['--encoder', 'mlp:64', '--projection', '64,32', '--batch', '64', '--limit', '256', '--queue', '128'];

beforeAll(() => {
  ensureDist();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'imix-cli-'));
}, 120_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function readJsonl(file: string): Array<Record<string, any>> {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, any>);
}

/** Checks that `s` is well-formed XML (balanced tags, escaped text); returns the element names seen. */
function xmlElements(s: string): string[] {
  const body = s.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  const seen: string[] = [];
  const re = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(body))) {
    const text = body.slice(last, m.index);
    expect(text, 'raw < or & in text').not.toMatch(/<|&(?!(amp|lt|gt|quot|apos|#\d+);)/);
    last = re.lastIndex;
    const [, close, name, , selfClose] = m;
    if (close) expect(stack.pop(), `closing </${name}>`).toBe(name);
    else {
      seen.push(name!);
      if (!selfClose) stack.push(name!);
    }
  }
  expect(body.slice(last).trim()).toBe('');
  expect(stack).toEqual([]);
  expect(seen[0]).toBe('svg');
  return seen;
}

/** Parses an NPY v1.0 float32 file. */
function readNpy(file: string): { shape: number[]; data: Float32Array } {
  const b = fs.readFileSync(file);
  expect(b.subarray(0, 6).equals(Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]))).toBe(true);
  expect([b[6], b[7]]).toEqual([1, 0]);
  const hlen = b.readUInt16LE(8);
  expect((10 + hlen) % 64).toBe(0);
  const header = b.subarray(10, 10 + hlen).toString('latin1');
  expect(header.endsWith('\n')).toBe(true);
  expect(header).toContain("'descr': '<f4'");
  expect(header).toContain("'fortran_order': False");
  const shape = /'shape': \((\d+), (\d+)\)/.exec(header)!.slice(1).map(Number);
  const bytes = b.subarray(10 + hlen);
  expect(bytes.length).toBe(shape[0]! * shape[1]! * 4);
  const data = new Float32Array(bytes.length / 4);
  for (let i = 0; i < data.length; i++) data[i] = bytes.readFloatLE(4 * i);
  return { shape, data };
}

/** An IDX file: ubyte data with the given dims. */
function writeIdx(file: string, dims: number[], data: Uint8Array): void {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = 0x08;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(data)]));
}

/** A tiny labelled image set: class c has a bright c-th quadrant. */
function tinyImages(n: number, seed: number): { x: Uint8Array; y: Uint8Array } {
  const x = new Uint8Array(n * 16), y = new Uint8Array(n);
  let s = seed;
  const r = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  for (let i = 0; i < n; i++) {
    const c = i % 4;
    y[i] = c;
    for (let p = 0; p < 16; p++) {
      const quad = ((p >> 3) << 1) | ((p & 3) >> 1);
      x[i * 16 + p] = quad === c ? 200 + (r() % 56) : r() % 60;
    }
  }
  return { x, y };
}

function expectOneLineError(r: Run, code: number, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  const lines = r.stderr.split('\n').filter(Boolean);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^imix: error: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('imix info and help', () => {
  it('info prints the backend table, and JSON with --json', () => {
    const t = imix(['info']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/^backend\s+cpu/m);
    expect(t.stdout).toMatch(/^blas\s+(openblas|cblas|fallback)/m);
    expect(t.stdout).toMatch(/^threads\s+\d+/m);
    const j = imix(['info', '--json']);
    expect(j.code).toBe(0);
    const info = JSON.parse(j.stdout);
    expect(info.backend).toBe('cpu');
    expect(Number.isInteger(info.threads)).toBe(true);
    expect(Array.isArray(info.cuda.devices)).toBe(true);
  });

  it('--help lists the commands (exit 0); no command is a usage error (exit 2)', () => {
    const h = imix(['--help']);
    expect(h.code).toBe(0);
    for (const c of ['train', 'eval', 'embed', 'bench', 'info']) expect(h.stdout).toContain(c);
    const th = imix(['train', '--help']);
    expect(th.code).toBe(0);
    expect(th.stdout).toContain('--knn-every');
    const none = imix([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage: imix');
  });

  it('without a loadable native addon, --help still works and commands fail with one line', () => {
    const env = { IMIX_BUILD_DIR: path.join(tmp, 'no-such-build') };
    const h = imix(['train', '--help'], { env });
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('--method');
    expectOneLineError(imix(['info'], { env }), 1, /cannot load the native addon: .*no-such-build.*npm run build:native/);
  });

  it('--version prints the package version', () => {
    const v = imix(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  });
});

describe('imix train, eval, embed', () => {
  let runA: string;

  it('--encoder resnet20:0.25 trains a convolutional encoder on the bundled images, resumes, evaluates, exports the encoder', () => {
    const out = path.join(tmp, 'run-resnet');
    const args = ['--encoder', 'resnet20:0.25', '--projection', '32,16', '--views', 'crop:2+flip', '--mix', 'cutmix', '--batch', '32', '--limit', '128', '--queue', '64'];
    const r = imix(['train', ...args, '--epochs', '2', '--max-steps', '3', '--knn-every', '0', '--quiet', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const resumed = imix(['train', '--resume', out, '--quiet']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ encoder: { kind: 'resnet20', width: 0.25 }, sampleShape: [1, 28, 28], step: 8 });
    expect(fs.existsSync(path.join(out, 'encoder.safetensors'))).toBe(true);
    const e = imix(['eval', out, '--knn', '--k', '10']);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/kNN/);
  }, 120_000);

  it('trains on the bundled data and writes the run folder', () => {
    runA = path.join(tmp, 'runA');
    const r = imix(['train', ...SMALL, '--epochs', '2', '--out', runA]);
    expect(r.code, r.stderr).toBe(0);
    // Non-TTY progress: plain lines with epoch, step, loss, lr, throughput, ETA.
    expect(r.stderr).toMatch(/epoch 1\/2 {2}step 1\/4 {2}loss \d+\.\d{4} {2}lr [\d.e-]+ {2}\d+ samples\/s {2}ETA \S+/);
    expect(r.stderr).toMatch(/epoch 2\/2 {2}loss \d+\.\d+ {2}kNN 0\.\d+/);
    expect(r.stderr).not.toContain('\x1b['); // no terminal escapes when stderr is not a TTY
    for (const f of ['config.json', 'checkpoint.safetensors', 'metrics.jsonl', 'loss.svg', 'run.json'])
      expect(fs.existsSync(path.join(runA, f)), f).toBe(true);
    // Images ([1, 28, 28]) are not standardized by default; no CSV schema either.
    expect(JSON.parse(fs.readFileSync(path.join(runA, 'run.json'), 'utf8')).standardize).toBe('off');
    expect(fs.existsSync(path.join(runA, 'standardizer.json'))).toBe(false);
    expect(fs.existsSync(path.join(runA, 'csv-schema.json'))).toBe(false);
    const cfg = JSON.parse(fs.readFileSync(path.join(runA, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ method: 'moco', encoder: { kind: 'mlp', hidden: [64] }, projection: [64, 32], queueSize: 128, step: 8, epoch: 2 });
    expect(cfg.mix).toMatchObject({ kind: 'mixup', alpha: 1 });
    expect(cfg.views).toEqual(['inputDrop(0.2)', 'inputDrop(0.2)']);
    const m = readJsonl(path.join(runA, 'metrics.jsonl'));
    const steps = m.filter((r) => r.type === 'step');
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(steps.map((s) => s.epoch)).toEqual([1, 1, 1, 1, 2, 2, 2, 2]);
    for (const s of steps) {
      expect(Number.isFinite(s.loss)).toBe(true);
      expect(s.lr).toBeGreaterThan(0);
      expect(s.throughput).toBeGreaterThan(0);
    }
    const epochs = m.filter((r) => r.type === 'epoch');
    expect(epochs.map((e) => [e.epoch, e.step])).toEqual([
      [1, 4],
      [2, 8],
    ]);
    for (const e of epochs) {
      expect(e.knnAccuracy).toBeGreaterThanOrEqual(0);
      expect(e.knnAccuracy).toBeLessThanOrEqual(1);
    }
    const svg = fs.readFileSync(path.join(runA, 'loss.svg'), 'utf8');
    const els = xmlElements(svg);
    expect(els).toContain('polyline');
    expect(svg).toContain('kNN accuracy');
    expect(svg).toContain('epoch');
    // No temporary files left behind by the atomic writes.
    expect(fs.readdirSync(runA).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a run stopped by --max-steps and resumed continues the step count and reproduces the losses', () => {
    const runB = path.join(tmp, 'runB');
    const a = imix(['train', ...SMALL, '--epochs', '2', '--out', runB, '--max-steps', '3']);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stderr).toContain('--max-steps 3');
    expect(JSON.parse(fs.readFileSync(path.join(runB, 'config.json'), 'utf8'))).toMatchObject({ step: 3, epoch: 0 });
    const b = imix(['train', '--resume', runB]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toContain('resuming');
    expect(JSON.parse(fs.readFileSync(path.join(runB, 'config.json'), 'utf8'))).toMatchObject({ step: 8, epoch: 2 });
    const stepsA = readJsonl(path.join(runA, 'metrics.jsonl')).filter((r) => r.type === 'step');
    const stepsB = readJsonl(path.join(runB, 'metrics.jsonl')).filter((r) => r.type === 'step');
    expect(stepsB.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // Exact continuation: the resumed run draws what the uninterrupted one drew.
    for (let i = 0; i < 8; i++) expect(stepsB[i]!.loss).toBeCloseTo(stepsA[i]!.loss, 5);
    // The epoch means agree too (epoch 1 was split across the two invocations).
    const meansA = readJsonl(path.join(runA, 'metrics.jsonl')).filter((r) => r.type === 'epoch').map((r) => r.loss);
    const meansB = readJsonl(path.join(runB, 'metrics.jsonl')).filter((r) => r.type === 'epoch').map((r) => r.loss);
    expect(meansB).toHaveLength(2);
    for (let i = 0; i < 2; i++) expect(meansB[i]).toBeCloseTo(meansA[i]!, 5);
    // Extending a finished run with --epochs.
    const c = imix(['train', '--resume', runB, '--epochs', '3', '--knn-every', '0']);
    expect(c.code, c.stderr).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(runB, 'config.json'), 'utf8'))).toMatchObject({ step: 12, epoch: 3 });
    const epochs = readJsonl(path.join(runB, 'metrics.jsonl')).filter((r) => r.type === 'epoch');
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(epochs[2]!.knnAccuracy).toBeUndefined();
    // A finished run has nothing left to do.
    const d = imix(['train', '--resume', runB]);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stderr).toMatch(/nothing to do: .* already finished its 3 epochs \(step 12\)/);
    // Fewer --epochs than the run has done: a usage error that says how many it has done.
    expectOneLineError(imix(['train', '--resume', runB, '--epochs', '2']), 2, /--epochs 2: .*runB has already run 3 epochs \(step 12\); --epochs must be more than 3/);
    expect(JSON.parse(fs.readFileSync(path.join(runB, 'run.json'), 'utf8')).epochs).toBe(3);
  });

  it('eval prints linear-probe and kNN accuracies in [0, 1]', () => {
    const j = imix(['eval', runA, '--probe', 'linear', '--knn', '--probe-epochs', '2', '--json']);
    expect(j.code, j.stderr).toBe(0);
    const r = JSON.parse(j.stdout);
    expect(r).toMatchObject({ method: 'moco', step: 8, epoch: 2, features: 64, train: 10000, test: 2000 });
    for (const acc of [r.linearProbe.testAccuracy, r.linearProbe.trainAccuracy, r.knn.accuracy]) {
      expect(acc).toBeGreaterThanOrEqual(0);
      expect(acc).toBeLessThanOrEqual(1);
    }
    // Much better than chance (10 classes) even after 8 steps: the encoder is not broken.
    expect(r.knn.accuracy).toBeGreaterThan(0.3);
    const t = imix(['eval', runA, '--knn', '--k', '20']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/kNN \(k=20\):\s+test accuracy (0|1)\.\d{4}/);
    expect(t.stdout).not.toContain('linear probe');
  });

  it('embed writes NPY [rows, features] and CSV with the same values', () => {
    const npy = path.join(tmp, 'out', 'f.npy'), csv = path.join(tmp, 'out', 'f.csv');
    const a = imix(['embed', runA, '--out', npy, '--limit', '100']);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stderr).toContain('100 x 64');
    const { shape, data } = readNpy(npy);
    expect(shape).toEqual([100, 64]);
    expect(data.some((v) => v !== 0)).toBe(true);
    const b = imix(['embed', runA, '--out', csv, '--limit', '100']);
    expect(b.code, b.stderr).toBe(0);
    const rows = fs.readFileSync(csv, 'utf8').trim().split('\n');
    expect(rows).toHaveLength(100);
    const vals = rows.flatMap((l) => l.split(',').map(Number));
    expect(vals).toHaveLength(6400);
    for (let i = 0; i < vals.length; i++) expect(Math.fround(vals[i]!)).toBe(data[i]);
    const t = imix(['embed', runA, '--out', npy, '--split', 'test']);
    expect(t.code, t.stderr).toBe(0);
    expect(readNpy(npy).shape).toEqual([2000, 64]);
    expect(fs.readdirSync(path.dirname(npy)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('other methods and options train: npair+cutmix, byol, simclr (no mix), adamw, noise views', () => {
    const cases: string[][] = [
      ['--method', 'npair', '--mix', 'cutmix', '--alpha', '0.5'],
      ['--method', 'byol', '--optimizer', 'lars', '--momentum', '0.99'],
      ['--method', 'simclr', '--optimizer', 'adamw', '--views', 'drop:0.1+noise:0.05'],
      ['--method', 'moco', '--mix', 'none', '--encoder', 'mlp-nobn:32', '--temperature', '0.5'],
    ];
    for (const [i, extra] of cases.entries()) {
      const out = path.join(tmp, `m${i}`);
      const r = imix(['train', ...SMALL, '--epochs', '1', '--knn-every', '0', '--out', out, ...extra]);
      expect(r.code, `${extra.join(' ')}: ${r.stderr}`).toBe(0);
      const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
      expect(cfg.method).toBe(extra[1]);
      expect(cfg.step).toBe(4);
      // Each can be evaluated (the method is rebuilt from config.json).
      const e = imix(['eval', out, '--knn', '--json', '--limit', '1000']);
      expect(e.code, e.stderr).toBe(0);
      expect(JSON.parse(e.stdout).train).toBe(1000);
    }
    expect(JSON.parse(fs.readFileSync(path.join(tmp, 'm0', 'config.json'), 'utf8')).mix).toMatchObject({ kind: 'cutmix', alpha: 0.5 });
    expect(JSON.parse(fs.readFileSync(path.join(tmp, 'm2', 'config.json'), 'utf8'))).toMatchObject({
      mix: { kind: 'none' },
      optimizer: { kind: 'adamw', lr: 0.001 },
      views: ['inputDrop(0.1) ∘ gaussianNoise(0.05)', 'inputDrop(0.1) ∘ gaussianNoise(0.05)'],
    });
  });

  it('image views: crop+flip+drop with npair+cutmix train, and a resumed run continues them exactly', () => {
    const views = ['--views', 'crop:2+flip+drop:0.1', '--mix', 'cutmix', '--method', 'npair', '--knn-every', '0', '--epochs', '1'];
    const full = path.join(tmp, 'runViewsFull'), part = path.join(tmp, 'runViews');
    const f = imix(['train', ...SMALL, ...views, '--out', full]);
    expect(f.code, f.stderr).toBe(0);
    const a = imix(['train', ...SMALL, ...views, '--max-steps', '2', '--out', part]);
    expect(a.code, a.stderr).toBe(0);
    const cfg = JSON.parse(fs.readFileSync(path.join(part, 'config.json'), 'utf8'));
    // crop directly followed by flip is the fused randomCropFlip, then input drop.
    expect(cfg).toMatchObject({ method: 'npair', mix: { kind: 'cutmix' }, sampleShape: [1, 28, 28], step: 2 });
    expect(cfg.views).toEqual(['randomCropFlip(2, 0.5) ∘ inputDrop(0.1)', 'randomCropFlip(2, 0.5) ∘ inputDrop(0.1)']);
    expect(JSON.parse(fs.readFileSync(path.join(part, 'run.json'), 'utf8')).settings.views).toBe('crop:2+flip:0.5+drop:0.1');
    // --resume rebuilds the same views from config.json: the losses match the uninterrupted run.
    const b = imix(['train', '--resume', part]);
    expect(b.code, b.stderr).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(part, 'config.json'), 'utf8'))).toMatchObject({ step: 4, views: cfg.views });
    const lossesFull = readJsonl(path.join(full, 'metrics.jsonl')).filter((r) => r.type === 'step').map((r) => r.loss);
    const lossesPart = readJsonl(path.join(part, 'metrics.jsonl')).filter((r) => r.type === 'step').map((r) => r.loss);
    expect(lossesPart).toHaveLength(4);
    for (let i = 0; i < 4; i++) expect(lossesPart[i]).toBeCloseTo(lossesFull[i]!, 5);
    // Unfused image views (flip before crop) and a flip probability train too.
    const c = imix(['train', ...SMALL, '--views', 'flip:0.3+crop:1', '--knn-every', '0', '--max-steps', '1', '--out', path.join(tmp, 'runViews2')]);
    expect(c.code, c.stderr).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(tmp, 'runViews2', 'config.json'), 'utf8')).views[0]).toBe('horizontalFlip(0.3) ∘ randomCrop(1)');
  });

  it("SimCLR's image recipe (rrc+flip+jitter+gray) and signal views (shift+tcrop+scale) train, record their views and resume exactly", () => {
    // Images: the bundled data, an MLP for speed (the views act on [1, 28, 28] whatever the encoder).
    const img = ['--views', 'rrc:0.2+flip+jitter:0.4:0.8+gray:0.2', '--mix', 'mixup', '--knn-every', '0', '--epochs', '1'];
    const full = path.join(tmp, 'runRrcFull'), part = path.join(tmp, 'runRrc');
    expect(imix(['train', ...SMALL, ...img, '--out', full]).code).toBe(0);
    const a = imix(['train', ...SMALL, ...img, '--max-steps', '2', '--out', part]);
    expect(a.code, a.stderr).toBe(0);
    const cfg = JSON.parse(fs.readFileSync(path.join(part, 'config.json'), 'utf8'));
    expect(cfg.views[0]).toBe(`randomResizedCrop(0.2, 1, 0.75, ${4 / 3}, 0.5) ∘ colorJitter(0.4, 0.4, 0.4, 0.1, 0.8) ∘ randomGrayscale(0.2)`);
    expect(JSON.parse(fs.readFileSync(path.join(part, 'run.json'), 'utf8')).settings.views).toBe('rrc:0.2:1+flip:0.5+jitter:0.4:0.8+gray:0.2');
    expect(imix(['train', '--resume', part]).code).toBe(0);
    const losses = (dir: string) => readJsonl(path.join(dir, 'metrics.jsonl')).filter((r) => r.type === 'step').map((r) => r.loss as number);
    expect(losses(part)).toHaveLength(4);
    losses(part).forEach((l, i) => expect(l).toBeCloseTo(losses(full)[i]!, 5));
    // Signals [N, C, L] (an NPY of 2-channel sines) with a 1-d ResNet and the signal views.
    const sig = path.join(tmp, 'signals.npy');
    writeNpy(sig, new Float32Array(128 * 2 * 64).map((_, i) => Math.sin(i / (3 + ((i >> 7) % 5)))), [128, 2, 64]);
    const sv = ['--data', sig, '--encoder', 'resnet1d:0.25', '--projection', '32,16', '--batch', '32', '--queue', '64', '--views', 'shift:6+tcrop:0.6+scale:0.8:1.2+noise:0.05', '--max-steps', '2'];
    const r = imix(['train', ...sv, '--out', path.join(tmp, 'runSignals')]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(tmp, 'runSignals', 'config.json'), 'utf8')).views[0]).toBe('timeShift(6) ∘ randomTimeCrop(0.6, 1) ∘ amplitudeScale(0.8, 1.2) ∘ gaussianNoise(0.05)');
    expect(imix(['train', '--resume', path.join(tmp, 'runSignals'), '--max-steps', '1']).code).toBe(0);
    // Each family on the other's data: one line naming --views, before training.
    expectOneLineError(imix(['train', ...sv.slice(0, 10), '--views', 'rrc:0.2', '--out', path.join(tmp, 'runSignalsBad')]), 1, /--views: rrc:0\.2:1 needs image samples \[C, H, W\], got samples of shape \[2, 64\]/);
    expectOneLineError(imix(['train', ...SMALL, '--views', 'shift:3', '--out', path.join(tmp, 'runImgBad')]), 1, /--views: shift:3 needs signal samples \[C, L\], got samples of shape \[1, 28, 28\]/);
  });

  it("SCARF's resample view trains on a table, records its views and resumes exactly", () => {
    // A CSV of 3 clusters in 6 columns of different scales (standardized by the CLI): 192 rows, 6 steps an epoch.
    const csv = path.join(tmp, 'scarf.csv');
    const lines = ['a,b,c,d,e,f,label'];
    for (let i = 0; i < 192; i++) {
      const k = i % 3;
      lines.push([...[0, 1, 2, 3, 4, 5].map((j) => ((j % 3 === k ? 3 : 0) + Math.sin(i * 7.1 + j * 1.3)) * (1 + j)), k].map((v) => (typeof v === 'number' ? v.toFixed(4) : v)).join(','));
    }
    fs.writeFileSync(csv, lines.join('\n') + '\n');
    const args = ['--data', csv, '--label-column', 'label', '--encoder', 'mlp:32', '--projection', '32,16', '--batch', '32', '--views', 'resample:0.6+noise:0.05', '--mix', 'mixup', '--epochs', '2', '--queue', '128'];
    const full = path.join(tmp, 'runScarfFull'), part = path.join(tmp, 'runScarf');
    const f = imix(['train', ...args, '--out', full]);
    expect(f.code, f.stderr).toBe(0);
    const a = imix(['train', ...args, '--max-steps', '4', '--out', part]);
    expect(a.code, a.stderr).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(part, 'config.json'), 'utf8')).views).toEqual(['resample(0.6) ∘ gaussianNoise(0.05)', 'resample(0.6) ∘ gaussianNoise(0.05)']);
    expect(JSON.parse(fs.readFileSync(path.join(part, 'run.json'), 'utf8')).settings.views).toBe('resample:0.6+noise:0.05');
    // --resume rebuilds the view from the checkpoint's description; fit hands it the training rows again.
    const r = imix(['train', '--resume', part]);
    expect(r.code, r.stderr).toBe(0);
    const losses = (dir: string) => readJsonl(path.join(dir, 'metrics.jsonl')).filter((m) => m.type === 'step').map((m) => m.loss as number);
    expect(losses(full)).toHaveLength(12);
    expect(losses(part)).toHaveLength(12);
    losses(part).forEach((l, i) => expect(l).toBeCloseTo(losses(full)[i]!, 5));
    // The default rate is SCARF's 0.6; a bad rate is a usage error naming --views.
    expect(parseViews('resample')).toEqual([{ kind: 'resample', args: [0.6] }]);
    expectOneLineError(imix(['train', ...args.slice(0, 10), '--views', 'resample:1.5', '--out', path.join(tmp, 'runScarfBad')]), 2, /--views: resample probability must be in \[0, 1\], got 1\.5/);
  });

  it('trains on the bundled splits named fashion-mnist:test and fashion-mnist:train', () => {
    const t = imix(['train', ...SMALL, '--data', 'fashion-mnist:test', '--max-steps', '1', '--out', path.join(tmp, 'runFmTest')]);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stderr).toContain('fashion-mnist:test (bundled test split as training data; 256 of 2000 rows)');
    expect(t.stderr).not.toContain('kNN every'); // the test split is the training data: no other one to monitor on
    expect(JSON.parse(fs.readFileSync(path.join(tmp, 'runFmTest', 'run.json'), 'utf8')).data).toEqual({ data: 'fashion-mnist:test', limit: 256 });
    const r = imix(['train', '--resume', path.join(tmp, 'runFmTest'), '--max-steps', '1']);
    expect(r.code, r.stderr).toBe(0);
    const e = imix(['embed', path.join(tmp, 'runFmTest'), '--limit', '5', '--out', path.join(tmp, 'out', 'fm-test.npy')]);
    expect(e.code, e.stderr).toBe(0);
    const tr = imix(['train', ...SMALL, '--data', 'fashion-mnist:train', '--knn-every', '0', '--max-steps', '1', '--out', path.join(tmp, 'runFmTrain')]);
    expect(tr.code, tr.stderr).toBe(0);
    expect(tr.stderr).toContain('fashion-mnist (bundled; train 256 of 10000, test 2000)');
  });

  it('trains and evaluates on a directory of IDX files, and on one IDX file with --labels', () => {
    const dir = path.join(tmp, 'idx');
    fs.mkdirSync(dir);
    const tr = tinyImages(96, 1), te = tinyImages(40, 2);
    writeIdx(path.join(dir, 'train-images-idx3-ubyte'), [96, 4, 4], tr.x);
    writeIdx(path.join(dir, 'train-labels-idx1-ubyte'), [96], tr.y);
    writeIdx(path.join(dir, 't10k-images-idx3-ubyte'), [40, 4, 4], te.x);
    writeIdx(path.join(dir, 't10k-labels-idx1-ubyte'), [40], te.y);
    const out = path.join(tmp, 'runIdx');
    const tiny = ['--encoder', 'mlp:16', '--projection', '16,8', '--batch', '16', '--queue', '64'];
    const r = imix(['train', '--data', dir, ...tiny, '--epochs', '2', '--mix', 'cutmix', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('train 96, test 40');
    expect(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'))).toMatchObject({ sampleShape: [1, 4, 4], step: 12 });
    expect(readJsonl(path.join(out, 'metrics.jsonl')).filter((m) => m.type === 'epoch' && typeof m.knnAccuracy === 'number')).toHaveLength(2);
    const e = imix(['eval', out, '--json', '--k', '10', '--probe-epochs', '5']);
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout)).toMatchObject({ train: 96, test: 40, features: 16 });
    // `dir:test` names the directory's test split; --split test picks it from the run's data.
    const emb = path.join(tmp, 'out', 'idx-test.npy');
    const t = imix(['embed', out, '--data', `${dir}:test`, '--out', emb]);
    expect(t.code, t.stderr).toBe(0);
    expect(readNpy(emb).shape).toEqual([40, 16]);
    const t2 = imix(['embed', out, '--split', 'test', '--out', emb.replace('.npy', '2.npy')]);
    expect(t2.code, t2.stderr).toBe(0);
    expect(readNpy(emb.replace('.npy', '2.npy')).data).toEqual(readNpy(emb).data);
    // One flat IDX file ([N, 16] rows) with its labels: no test split, so no kNN monitor.
    const flat = path.join(tmp, 'flat-idx2');
    writeIdx(flat, [96, 16], tr.x);
    writeIdx(flat + '-labels', [96], tr.y);
    const f = imix(['train', '--data', flat, '--labels', flat + '-labels', ...tiny, '--epochs', '1', '--out', path.join(tmp, 'runFlat')]);
    expect(f.code, f.stderr).toBe(0);
    expect(f.stderr).not.toContain('kNN every');
    // CutMix needs spatial data: a clear runtime error.
    expectOneLineError(imix(['train', '--data', flat, ...tiny, '--mix', 'cutmix', '--out', path.join(tmp, 'runCut')]), 1, /--mix: CutMix needs spatial/);
    // The kNN monitor needs a labelled test split.
    expectOneLineError(imix(['train', '--data', flat, ...tiny, '--knn-every', '1', '--out', path.join(tmp, 'runK')]), 1, /--knn-every: .*needs labelled/);
    // eval needs a test split.
    expectOneLineError(imix(['eval', path.join(tmp, 'runFlat')]), 1, /test split/);
  });
});

describe('imix on tables: CSV and NPY', () => {
  const tiny = ['--encoder', 'mlp:16', '--projection', '16,8', '--batch', '50', '--queue', '100', '--epochs', '1'];

  /** 300 rows: four numeric columns, a categorical `color`, a string label `kind`; one cluster per kind. */
  function writeTable(file: string): void {
    const kinds = ['cat', 'dog', 'eel'], colors = ['red', 'green', 'blue'];
    let s = 7;
    const r = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 8) / 2 ** 24;
    const lines = ['x0,x1,color,x2,x3,kind'];
    for (let i = 0; i < 300; i++) {
      const k = i % 3;
      const x = [0, 1, 2, 3].map((j) => (j === k ? 3 : 0) + r() - 0.5);
      lines.push([x[0]!.toFixed(4), x[1]!.toFixed(4), colors[(i + (r() < 0.2 ? 1 : 0)) % 3], x[2]!.toFixed(4), x[3]!.toFixed(4), kinds[k]].join(','));
    }
    fs.writeFileSync(file, lines.join('\n') + '\n');
  }

  it('trains on a CSV with --label-column and --categorical, and embeds it to .csv', () => {
    const csv = path.join(tmp, 'table.csv');
    writeTable(csv);
    const out = path.join(tmp, 'runCsv');
    const r = imix(['train', '--data', csv, '--label-column', 'kind', '--categorical', 'color', ...tiny, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/table\.csv \(CSV; 300 rows, 7 features, labelled, 3 classes\)/);
    expect(r.stderr).not.toContain('kNN every'); // a single file has no test split
    // 4 numeric columns + 3 one-hot categories; the label is not a feature.
    expect(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'))).toMatchObject({ sampleShape: [7], step: 6 });
    expect(JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8')).data).toEqual({ data: csv, labelColumn: 'kind', categorical: ['color'] });
    // embed re-reads the run's CSV with the run's columns (run.json).
    const f = path.join(tmp, 'out', 'table-features.csv');
    const e = imix(['embed', out, '--out', f]);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stderr).toContain('300 x 16');
    const rows = fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => l.split(',').map(Number));
    expect(rows).toHaveLength(300);
    for (const row of rows) {
      expect(row).toHaveLength(16);
      for (const v of row) expect(Number.isFinite(v)).toBe(true);
    }
    // Column indices work too (label last: -1; color is column 2), with --limit.
    const n = path.join(tmp, 'out', 'table-features.npy');
    const e2 = imix(['embed', out, '--data', csv, '--label-column', '-1', '--categorical', '2', '--limit', '10', '--out', n]);
    expect(e2.code, e2.stderr).toBe(0);
    const emb = readNpy(n);
    expect(emb.shape).toEqual([10, 16]);
    for (let i = 0; i < 160; i++) expect(emb.data[i]).toBe(Math.fround(rows[Math.floor(i / 16)]![i % 16]!));
    // eval needs a test split, which a single CSV file does not have.
    expectOneLineError(imix(['eval', out]), 1, /test split/);
  });

  it('standardizes table data with the training split only, saves it with the CSV schema, and eval/embed/--resume reuse both', async () => {
    const csv = path.join(tmp, 'table.csv');
    const out = path.join(tmp, 'runStd');
    const r = imix(['train', '--data', csv, '--label-column', 'kind', '--categorical', 'color', ...tiny, '--limit', '200', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('standardized');
    const run = JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8'));
    expect(run.standardize).toBe('on');
    // Fitted on the first 200 rows (--limit), exactly as data.Standardizer.
    const loaded = loadDataset(csv, { label: 'kind', categorical: ['color'] });
    const first = { ...loaded, n: 200, x: loaded.x.subarray(0, 200 * 7) };
    const ref = Standardizer.fit(first);
    const saved = JSON.parse(fs.readFileSync(path.join(out, 'standardizer.json'), 'utf8'));
    expect(saved).toMatchObject({ format: 'imix-standardizer/1', features: 7 });
    expect(saved.mean).toEqual(Array.from(ref.mean));
    expect(saved.std).toEqual(Array.from(ref.std));
    expect(Standardizer.fit(loaded).mean).not.toEqual(ref.mean); // the full file would give other means
    const schema = JSON.parse(fs.readFileSync(path.join(out, 'csv-schema.json'), 'utf8'));
    expect(schema).toEqual(JSON.parse(JSON.stringify(loaded.schema)));
    expect(schema.categorical).toEqual([{ column: 2, categories: ['blue', 'green', 'red'] }]);

    // embed feeds the encoder the standardized rows (all 300, with the 200-row fit).
    const f = path.join(tmp, 'out', 'std-emb.npy');
    const e = imix(['embed', out, '--out', f]);
    expect(e.code, e.stderr).toBe(0);
    const emb = readNpy(f);
    expect(emb.shape).toEqual([300, 16]);
    const { method } = await loadRun(out, 'cpu');
    try {
      const std = ref.apply(loaded.x);
      const want = method.embed({ ...loaded, x: std });
      const raw = method.embed(loaded);
      let dStd = 0, dRaw = 0;
      for (let i = 0; i < want.length; i++) {
        dStd = Math.max(dStd, Math.abs(emb.data[i]! - want[i]!));
        dRaw = Math.max(dRaw, Math.abs(emb.data[i]! - raw[i]!));
      }
      expect(dStd).toBeLessThan(1e-4);
      expect(dRaw).toBeGreaterThan(1e-2);
    } finally {
      method.dispose();
    }

    // A second CSV: rows reordered, no 'green' rows and no 'dog' class. Through the saved schema
    // its one-hot columns and features match the training file's, row for row.
    const lines = fs.readFileSync(csv, 'utf8').trim().split('\n');
    const keep = lines.slice(1).map((l, i) => [l, i] as const).filter(([l]) => !l.includes(',green,') && !l.endsWith(',dog')).reverse();
    expect(keep.length).toBeGreaterThan(20);
    const csv2 = path.join(tmp, 'table2.csv');
    fs.writeFileSync(csv2, [lines[0], ...keep.map(([l]) => l)].join('\n') + '\n');
    const f2 = path.join(tmp, 'out', 'std-emb2.npy');
    const e2 = imix(['embed', out, '--data', csv2, '--out', f2]);
    expect(e2.code, e2.stderr).toBe(0);
    const emb2 = readNpy(f2);
    expect(emb2.shape).toEqual([keep.length, 16]);
    keep.forEach(([, i], k) => {
      for (let j = 0; j < 16; j++) expect(emb2.data[k * 16 + j]).toBeCloseTo(emb.data[i * 16 + j]!, 4);
    });
    // Options that agree with the schema are accepted; others, and unseen categories, are errors.
    expect(imix(['embed', out, '--data', csv2, '--label-column', '-1', '--categorical', 'color', '--out', f2]).code).toBe(0);
    expectOneLineError(imix(['embed', out, '--data', csv2, '--categorical', 'x0', '--out', f2]), 2, /--categorical x0: the run's csv-schema\.json fixes the CSV columns \(categorical: color\)/);
    expectOneLineError(imix(['embed', out, '--data', csv2, '--categorical', 'Colour', '--out', f2]), 2, /--categorical Colour: .*\(categorical: color\); leave the option out \(no column "Colour" in the run's CSV; did you mean "color"\?\)$/);
    const csv3 = path.join(tmp, 'table3.csv');
    fs.writeFileSync(csv3, [lines[0], lines[1], lines[2]!.replace(/,(red|green|blue),/, ',purple,')].join('\n') + '\n');
    expectOneLineError(imix(['embed', out, '--data', csv3, '--out', f2]), 1, /table3\.csv:3: column 2 \("color"\): category "purple" does not occur in the training file .*\(the run's csv-schema\.json\)$/);
    // A feature-count mismatch with the saved standardizer is one line.
    const six = path.join(tmp, 'six.npy');
    writeNpy(six, new Float32Array(60).map((_, i) => i), [10, 6]);
    expectOneLineError(imix(['embed', out, '--data', six, '--out', f2]), 1, /six\.npy: 6 features per row, but the run's standardizer\.json was fitted on 7/);

    // --resume reads through the same files and never refits them.
    const before = fs.readFileSync(path.join(out, 'standardizer.json'), 'utf8');
    const rs = imix(['train', '--resume', out, '--epochs', '2']);
    expect(rs.code, rs.stderr).toBe(0);
    expect(rs.stderr).toContain('standardized');
    expect(fs.readFileSync(path.join(out, 'standardizer.json'), 'utf8')).toBe(before);
    expectOneLineError(imix(['train', '--resume', out, '--standardize', 'off']), 2, /--standardize cannot be given with --resume/);

    // --standardize off: no standardizer.json, raw features; a bad value is a usage error.
    const off = path.join(tmp, 'runStdOff');
    const r2 = imix(['train', '--data', csv, '--label-column', 'kind', '--categorical', 'color', ...tiny, '--standardize', 'off', '--out', off]);
    expect(r2.code, r2.stderr).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(off, 'run.json'), 'utf8')).standardize).toBe('off');
    expect(fs.existsSync(path.join(off, 'standardizer.json'))).toBe(false);
    expect(fs.existsSync(path.join(off, 'csv-schema.json'))).toBe(true);
    expectOneLineError(imix(['train', '--data', csv, '--standardize', 'maybe', '--out', path.join(tmp, 'runX')]), 2, /--standardize.*'maybe' is invalid.*auto, on, off/);
  });

  it('trains on an NPY features file with --labels file.npy', () => {
    const x = new Float32Array(200 * 6), y = new Int32Array(200);
    for (let i = 0; i < 200; i++) {
      y[i] = i % 2;
      for (let j = 0; j < 6; j++) x[i * 6 + j] = (j % 2 === y[i] ? 1 : 0) + Math.sin(i * 7 + j);
    }
    const xf = path.join(tmp, 'feat.npy'), yf = path.join(tmp, 'feat-labels.npy');
    writeNpy(xf, x, [200, 6]);
    writeNpy(yf, y, [200]);
    const out = path.join(tmp, 'runNpy');
    const r = imix(['train', '--data', xf, '--labels', yf, ...tiny, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('feat.npy (200 rows, labelled, 2 classes)');
    expect(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'))).toMatchObject({ sampleShape: [6], step: 4 });
    const e = imix(['embed', out, '--out', path.join(tmp, 'out', 'feat-emb.npy')]);
    expect(e.code, e.stderr).toBe(0);
    expect(readNpy(path.join(tmp, 'out', 'feat-emb.npy')).shape).toEqual([200, 16]);
  });

  it('table errors: one line naming the file and line, or the flag', () => {
    const bad = path.join(tmp, 'ragged.csv');
    fs.writeFileSync(bad, 'a,b,c,label\n1,2,3,0\n4,5,6,1\n7,8,1\n');
    expectOneLineError(imix(['train', '--data', bad, '--label-column', 'label', ...tiny, '--out', path.join(tmp, 'runRag')]), 1, /ragged\.csv:4: 3 fields, expected 4/);
    const ok = path.join(tmp, 'table.csv');
    expectOneLineError(imix(['train', '--data', ok, '--label-column', 'species', ...tiny, '--out', path.join(tmp, 'runX')]), 1, /table\.csv: --label-column: no column "species"/);
    // A miscased or misspelled column: the one it most likely meant.
    expectOneLineError(imix(['train', '--data', ok, '--label-column', 'KIND', ...tiny, '--out', path.join(tmp, 'runX')]), 1, /table\.csv: --label-column: no column "KIND"; did you mean "kind"\? \(columns: .*kind.*\)$/);
    expectOneLineError(imix(['train', '--data', ok, '--label-column', 'kind', '--categorical', 'colour', ...tiny, '--out', path.join(tmp, 'runX')]), 1, /table\.csv: --categorical: no column "colour"; did you mean "color"\?/);
    expectOneLineError(imix(['train', '--data', ok, '--labels', path.join(tmp, 'feat-labels.npy'), ...tiny, '--out', path.join(tmp, 'runX')]), 2, /--labels: not used with CSV\/TSV data/);
    expectOneLineError(imix(['train', '--label-column', 'kind', ...tiny, '--out', path.join(tmp, 'runX')]), 2, /--label-column: only for CSV\/TSV data/);
    expectOneLineError(imix(['train', '--data', path.join(tmp, 'feat.npy'), '--categorical', 'a', ...tiny, '--out', path.join(tmp, 'runX')]), 2, /--categorical: only for CSV\/TSV data, and .*feat\.npy is an NPY file/);
    expectOneLineError(imix(['train', '--categorical', 'a,,b']), 2, /--categorical: expected a column name/);
    expectOneLineError(imix(['embed', path.join(tmp, 'runCsv'), '--label-column', 'kind', '--out', 'x.csv']), 2, /--label-column: only with --data/);
    expect(fs.existsSync(path.join(tmp, 'runX'))).toBe(false);
  });

  it('embed reads new CSV rows without labels: the label column left out, empty, or of an unseen class', () => {
    const run = path.join(tmp, 'runCsv'); // --label-column kind (the last column), --categorical color
    const lines = fs.readFileSync(path.join(tmp, 'table.csv'), 'utf8').trim().split('\n').slice(0, 21);
    const variants: Record<string, string[]> = {
      labelled: lines,
      nolabel: lines.map((l) => l.slice(0, l.lastIndexOf(','))),
      empty: lines.map((l, i) => (i === 0 ? l : l.slice(0, l.lastIndexOf(',') + 1))),
      unseen: lines.map((l, i) => (i === 0 ? l : l.slice(0, l.lastIndexOf(',') + 1) + 'wolf')),
    };
    const feats: Record<string, Float32Array> = {};
    for (const [name, rows] of Object.entries(variants)) {
      const csv = path.join(tmp, `rows-${name}.csv`), out = path.join(tmp, 'out', `rows-${name}.npy`);
      fs.writeFileSync(csv, rows.join('\n') + '\n');
      const e = imix(['embed', run, '--data', csv, '--out', out]);
      expect(e.code, `${name}: ${e.stderr}`).toBe(0);
      expect(e.stderr).toContain('20 x 16');
      feats[name] = readNpy(out).data;
    }
    // The label never reaches the encoder: every variant has the labelled rows' features.
    for (const name of ['nolabel', 'empty', 'unseen']) expect(feats[name], name).toEqual(feats.labelled);
    // The feature columns still follow the run's schema.
    const short = path.join(tmp, 'rows-short.csv');
    fs.writeFileSync(short, variants.nolabel!.map((l) => l.slice(0, l.lastIndexOf(','))).join('\n') + '\n');
    expectOneLineError(imix(['embed', run, '--data', short, '--out', path.join(tmp, 'out', 'rows-short.npy')]), 1, /rows-short\.csv:1: 4 columns, but the schema \(from the training file\) has 6 \(5 without the label column "kind"\)/);
    const renamed = path.join(tmp, 'rows-renamed.csv');
    fs.writeFileSync(renamed, ['x0,x1,colour,x2,x3', ...variants.nolabel!.slice(1)].join('\n') + '\n');
    expectOneLineError(imix(['embed', run, '--data', renamed, '--out', path.join(tmp, 'out', 'rows-renamed.npy')]), 1, /header does not match the schema: column 2 is "colour", expected "color"/);
  });

  it('--missing mean|zero fills missing CSV cells with the training means, saved for eval, embed and --resume', () => {
    // table.csv with x1 missing in every 7th row.
    const lines = fs.readFileSync(path.join(tmp, 'table.csv'), 'utf8').trim().split('\n');
    const withNA = (rows: string[]) => rows.map((l, i) => (i > 0 && i % 7 === 0 ? l.split(',').map((c, j) => (j === 1 ? 'NA' : c)).join(',') : l));
    const na = path.join(tmp, 'table-na.csv');
    fs.writeFileSync(na, withNA(lines).join('\n') + '\n');
    const out = path.join(tmp, 'runNA');
    const args = ['train', '--data', na, '--label-column', 'kind', '--categorical', 'color', ...tiny, '--out', out];
    expectOneLineError(imix(args), 1, /table-na\.csv: 42 missing cells: column 1 \("x1"\): 42 missing \(lines 8, 15, .*\)\. Pass --missing mean or --missing zero to fill them\.$/);
    expect(fs.existsSync(out)).toBe(false);
    const r = imix([...args, '--missing', 'mean']);
    expect(r.code, r.stderr).toBe(0);
    const schema = JSON.parse(fs.readFileSync(path.join(out, 'csv-schema.json'), 'utf8'));
    expect(schema.missing).toBe('mean');
    expect(JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8')).data.missing).toBe('mean');
    // Other rows with missing cells get the training mean of x1, not their own: rows of one
    // kind only (x1 near 3 for 'dog', near 0 otherwise) with x1 missing, and the same rows
    // with the training mean written in.
    const dogs = lines.filter((l, i) => i > 0 && l.endsWith(',dog')).slice(0, 20);
    const dogNA = path.join(tmp, 'dogs-na.csv'), dogMean = path.join(tmp, 'dogs-mean.csv');
    fs.writeFileSync(dogNA, [lines[0], ...dogs.map((l) => l.split(',').map((c, j) => (j === 1 ? '' : c)).join(','))].join('\n') + '\n');
    fs.writeFileSync(dogMean, [lines[0], ...dogs.map((l) => l.split(',').map((c, j) => (j === 1 ? String(schema.means[1]) : c)).join(','))].join('\n') + '\n');
    const fa = path.join(tmp, 'out', 'dogs-na.npy'), fb = path.join(tmp, 'out', 'dogs-mean.npy');
    for (const [data, f] of [[dogNA, fa], [dogMean, fb]] as const) {
      const e = imix(['embed', out, '--data', data, '--out', f]);
      expect(e.code, e.stderr).toBe(0);
    }
    expect(readNpy(fa).data).toEqual(readNpy(fb).data);
    // embed of the run's own data and --resume read with the saved policy.
    expect(imix(['embed', out, '--out', path.join(tmp, 'out', 'na-own.npy')]).code).toBe(0);
    const rs = imix(['train', '--resume', out, '--epochs', '2']);
    expect(rs.code, rs.stderr).toBe(0);
    expectOneLineError(imix(['train', '--resume', out, '--missing', 'zero']), 2, /--missing cannot be given with --resume/);
    // zero, the choices, and non-CSV data.
    const z = imix([...args.slice(0, -1), path.join(tmp, 'runNA0'), '--missing', 'zero']);
    expect(z.code, z.stderr).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(tmp, 'runNA0', 'csv-schema.json'), 'utf8')).missing).toBe('zero');
    expectOneLineError(imix([...args, '--missing', 'median']), 2, /--missing <policy>.*'median' is invalid.*error, mean, zero/);
    expectOneLineError(imix(['train', '--missing', 'mean', ...tiny, '--out', path.join(tmp, 'runX')]), 2, /--missing: only for CSV\/TSV data/);
    // A run trained without --missing keeps refusing missing cells, and says how to change that.
    expectOneLineError(imix(['embed', path.join(tmp, 'runCsv'), '--data', dogNA, '--out', fa]), 1, /dogs-na\.csv: 20 missing cells: .*The run's csv-schema\.json says --missing error; train with --missing mean or zero to fill them\.$/);
  });

  it('image views on table data: one line naming --views, before training', () => {
    const out = path.join(tmp, 'runImgCsv');
    expectOneLineError(
      imix(['train', '--data', path.join(tmp, 'table.csv'), '--label-column', 'kind', '--categorical', 'color', ...tiny, '--views', 'crop:2+flip+drop:0.1', '--out', out]),
      1,
      /--views: crop:2\+flip:0\.5 needs image samples \[C, H, W\], got samples of shape \[7\]; use drop:P or noise:STD/,
    );
    expectOneLineError(imix(['train', '--data', path.join(tmp, 'feat.npy'), ...tiny, '--views', 'drop:0.1+flip', '--out', out]), 1, /--views: flip:0\.5 needs image samples .*\[6\]/);
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('imix errors: one line, exit 2 for usage, 1 at run time, no stack', () => {
  it('usage errors exit 2', () => {
    expectOneLineError(imix(['train', '--bogus']), 2, /unknown option '--bogus'/);
    expectOneLineError(imix(['train', '--alph', '1']), 2, /unknown option '--alph'.*Did you mean --alpha\?/);
    expectOneLineError(imix(['train', '--alpha', '-1']), 2, /--alpha: expected a positive number, got -1/);
    expectOneLineError(imix(['train', '--alpha', 'abc']), 2, /--alpha: expected a number, got 'abc'/);
    expectOneLineError(imix(['train', '--method', 'swav']), 2, /'--method <name>' argument 'swav' is invalid.*npair, simclr, moco, byol/);
    expectOneLineError(imix(['train', '--epochs', '0']), 2, /--epochs: expected an integer >= 1, got 0/);
    expectOneLineError(imix(['train', '--batch', '1']), 2, /--batch: expected an integer >= 2/);
    expectOneLineError(imix(['train', '--encoder', 'cnn:3']), 2, /--encoder: expected 'mlp:/);
    expectOneLineError(imix(['train', '--encoder', 'resnet18:0']), 2, /--encoder: resnet18 width must be a positive number, got '0'/);
    expectOneLineError(imix(['train', '--encoder', 'resnet20:x']), 2, /--encoder: expected a number, got 'x'/);
    expectOneLineError(imix(['train', '--encoder', 'resnet20:1000']), 2, /--encoder: resnet20 width must be at most 64/);
    expectOneLineError(imix(['train', '--projection', '512']), 2, /--projection: expected two widths/);
    expectOneLineError(imix(['train', '--views', 'blur:1']), 2, /--views: expected views among 'none', 'drop:P'/);
    expectOneLineError(imix(['train', '--views', 'crop:1.5']), 2, /--views: crop padding must be a non-negative integer, got 1\.5/);
    expectOneLineError(imix(['train', '--views', 'crop:-1+flip']), 2, /--views: crop padding must be a non-negative integer, got -1/);
    expectOneLineError(imix(['train', '--views', 'crop']), 2, /--views: 'crop' needs the padding in pixels/);
    expectOneLineError(imix(['train', '--views', 'flip:1.5']), 2, /--views: flip probability must be in \[0, 1\], got 1\.5/);
    expectOneLineError(imix(['train', '--views', 'flip:x']), 2, /--views: expected a number in 'flip:x', got 'x'/);
    expectOneLineError(imix(['train', '--momentum', '1.5']), 2, /--momentum: expected a number in \[0, 1\]/);
    expectOneLineError(imix(['train', '--device', 'gpu']), 2, /--device: expected 'cpu', 'cuda' or 'cuda:N', got 'gpu'/);
    expectOneLineError(imix(['train', '--method', 'simclr', '--mix', 'mixup']), 2, /--mix: SimCLR/);
    expectOneLineError(imix(['trian']), 2, /unknown command 'trian'.*Did you mean train\?/);
    expectOneLineError(imix(['embed', 'x']), 2, /required option '--out <file>'/);
    expectOneLineError(imix(['embed', 'x', '--out', 'f.txt']), 2, /--out f\.txt: expected a file name ending in \.npy or \.csv/);
    expectOneLineError(imix(['embed']), 2, /missing required argument 'run'/);
    expectOneLineError(imix(['embed', '--out', 'f.npy']), 2, /missing required argument 'run'/);
    expectOneLineError(imix(['train', '--seed', '99999999999999999999']), 2, /--seed: expected an integer from 0 to 2\^53 - 1 \(9007199254740991\), got 99999999999999999999/);
    expectOneLineError(imix(['train', '--epochs', '1e300']), 2, /--epochs: expected an integer from 1 to 2\^53 - 1/);
    expectOneLineError(imix(['eval']), 2, /missing required argument 'run'/);
    expectOneLineError(imix(['train', '--resume', 'r', '--lr', '0.1']), 2, /--lr cannot be given with --resume/);
    expectOneLineError(imix(['train', '--queue', '32', '--batch', '64', '--limit', '128', '--out', path.join(tmp, 'runQ')]), 2, /--queue: the queue \(32 keys\) must hold at least one batch \(--batch 64\)/);
  });

  it('runtime errors exit 1', () => {
    expectOneLineError(imix(['train', '--data', path.join(tmp, 'nope.idx')]), 1, /--data .*nope\.idx: no such file or directory/);
    const junk = path.join(tmp, 'junk.idx');
    fs.writeFileSync(junk, 'this is not an IDX file');
    expectOneLineError(imix(['train', '--data', junk]), 1, /junk\.idx: not an IDX file/);
    fs.writeFileSync(junk, Buffer.from([0, 0, 8, 2, 0, 0, 0, 10, 0, 0, 0, 10, 1, 2, 3]));
    expectOneLineError(imix(['train', '--data', junk]), 1, /junk\.idx: truncated IDX data/);
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty, { recursive: true });
    expectOneLineError(imix(['eval', empty]), 1, /no checkpoint\.safetensors in this folder/);
    expectOneLineError(imix(['embed', empty, '--out', 'x.npy']), 1, /no checkpoint\.safetensors/);
    expectOneLineError(imix(['train', '--resume', empty]), 1, /no checkpoint\.safetensors/);
    expectOneLineError(imix(['eval', path.join(tmp, 'missing-run')]), 1, /no such run folder/);
    expectOneLineError(imix(['train', ...SMALL, '--limit', '100', '--batch', '128', '--out', path.join(tmp, 'runBig')]), 1, /--batch 128 is larger than the training data \(100 rows\)/);
  });

  it("--precision: fp32 or bf16; bf16 trains where the CPU runs it and is a runtime error naming the flag where not", () => {
    expectOneLineError(imix(['train', '--precision', 'fp16']), 2, /--precision <p>' argument 'fp16' is invalid\. Allowed choices are fp32, bf16/);
    const info = JSON.parse(imix(['info', '--json']).stdout);
    const out = path.join(tmp, 'runBf16');
    if (info.cpuKernelSets.includes('avx2')) {
      const r = imix(['train', ...SMALL, '--precision', 'bf16', '--out', out], { env: { IMIX_CPU_KERNELS: 'avx2' } });
      expectOneLineError(r, 1, /^imix: error: --precision bf16: 'bf16' is not available here: the 'avx2' CPU kernel set has no bf16 gemm .*; use 'fp32'$/);
      expect(fs.existsSync(out)).toBe(false);
    }
    if (!info.bf16.available) return;
    const r = imix(['train', ...SMALL, '--epochs', '1', '--precision', 'bf16', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/device cpu, bf16 gemms/);
    // Like --device, --precision is how this invocation computes: --resume may change it.
    const r2 = imix(['train', '--resume', out, '--epochs', '2', '--precision', 'fp32']);
    expect(r2.code, r2.stderr).toBe(0);
    expect(r2.stderr).not.toMatch(/bf16 gemms/);
  });

  it('--device cuda without a CUDA device is a clear runtime error', () => {
    const info = JSON.parse(imix(['info', '--json']).stdout);
    if (info.cuda.devices.length > 0) return; // a CUDA machine: nothing to test here
    const out = path.join(tmp, 'runCuda');
    expectOneLineError(imix(['train', '--device', 'cuda', '--out', out]), 1, /--device cuda: .*not available/);
    expect(fs.existsSync(out)).toBe(false);
    expectOneLineError(imix(['train', '--device', 'cuda:1', '--out', out]), 1, /--device cuda:1: /);
  });

  it('a run folder is not overwritten without --force', () => {
    const out = path.join(tmp, 'runF');
    expect(imix(['train', ...SMALL, '--epochs', '1', '--knn-every', '0', '--out', out]).code).toBe(0);
    expectOneLineError(imix(['train', ...SMALL, '--out', out]), 1, /already holds a run.*--resume/);
    const f = imix(['train', ...SMALL, '--epochs', '1', '--knn-every', '0', '--out', out, '--force', '--seed', '3']);
    expect(f.code, f.stderr).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).seed).toBe(3);
    expect(readJsonl(path.join(out, 'metrics.jsonl')).filter((m) => m.type === 'epoch')).toHaveLength(1);
  });

  it('a hand-edited run.json that no longer describes a run is one line naming the field', () => {
    const out = path.join(tmp, 'runEdited');
    expect(imix(['train', ...SMALL, '--epochs', '1', '--knn-every', '0', '--out', out]).code).toBe(0);
    const file = path.join(out, 'run.json');
    const good = JSON.parse(fs.readFileSync(file, 'utf8'));
    const edits: Array<[Record<string, unknown>, RegExp]> = [
      [{ epochs: 'ten' }, /run\.json: damaged: 'epochs' should be an integer >= 1, got "ten"/],
      [{ batch: 1 }, /'batch' should be an integer >= 2, got 1/],
      [{ logEvery: 0 }, /'logEvery' should be an integer >= 1/],
      [{ data: null }, /'data' should be an object, got null/],
      [{ standardize: 'yes' }, /'standardize' should be 'on' or 'off', got "yes"/],
      [{ format: 'other' }, /run\.json: damaged \(not an imix run\.json\)/],
    ];
    for (const [edit, message] of edits) {
      fs.writeFileSync(file, JSON.stringify({ ...good, ...edit }));
      expectOneLineError(imix(['train', '--resume', out]), 1, message);
      expectOneLineError(imix(['eval', out]), 1, message);
    }
    fs.writeFileSync(file, '{ not json');
    expectOneLineError(imix(['train', '--resume', out, '--epochs', '2']), 1, /run\.json: damaged \(not an imix run\.json\)/);
    fs.writeFileSync(file, JSON.stringify(good));
    const r = imix(['train', '--resume', out, '--epochs', '2', '--knn-every', '0']);
    expect(r.code, r.stderr).toBe(0);
  });

  it('--force keeps the old run until the new one has taken its first step: a failing command leaves it intact', () => {
    const out = path.join(tmp, 'runKeep');
    expect(imix(['train', ...SMALL, '--epochs', '1', '--knn-every', '0', '--out', out]).code).toBe(0);
    const snapshot = () => Object.fromEntries(fs.readdirSync(out).sort().map((f) => [f, fs.readFileSync(path.join(out, f)).toString('base64')]));
    const before = snapshot();
    expect(Object.keys(before)).toEqual(['checkpoint.safetensors', 'config.json', 'loss.svg', 'metrics.jsonl', 'run.json']);
    const ragged = path.join(tmp, 'keep-ragged.csv'), flat = path.join(tmp, 'keep-flat.npy');
    fs.writeFileSync(ragged, 'a,b,c,label\n1,2,3,0\n4,5,6,1\n7,8,1\n');
    writeNpy(flat, new Float32Array(300 * 6).map((_, i) => Math.sin(i)), [300, 6]);
    const failing: Array<[string[], number, RegExp]> = [
      [['--batch', '512'], 1, /--batch 512 is larger than the training data \(256 rows\)/],
      [['--data', path.join(tmp, 'no-such.csv')], 1, /--data .*no-such\.csv: no such file or directory/],
      [['--data', ragged, '--label-column', 'label'], 1, /keep-ragged\.csv:4: 3 fields/],
      [['--method', 'simclr', '--mix', 'mixup'], 2, /--mix: SimCLR/],
      [['--queue', '10'], 2, /--queue: the queue \(10 keys\) must hold at least one batch/],
      [['--views', 'crop:2', '--data', flat], 1, /--views: crop:2 needs image samples/],
    ];
    const info = JSON.parse(imix(['info', '--json']).stdout);
    if (info.cuda.devices.length === 0) failing.push([['--device', 'cuda'], 1, /--device cuda: .*not available/]);
    for (const [extra, code, message] of failing) {
      expectOneLineError(imix(['train', ...SMALL, '--epochs', '1', '--knn-every', '0', '--out', out, '--force', ...extra]), code, message);
      expect(snapshot(), extra.join(' ')).toEqual(before);
    }
    // The old run is still a run: it resumes.
    const r = imix(['train', '--resume', out, '--epochs', '2', '--knn-every', '0']);
    expect(r.code, r.stderr).toBe(0);
  });

  it('a folder with run.json or metrics.jsonl but no checkpoint holds a run: refused without --force, replaced (not appended to) with it', () => {
    const src = path.join(tmp, 'runStaleSrc');
    expect(imix(['train', ...SMALL, '--epochs', '1', '--knn-every', '0', '--out', src]).code).toBe(0);
    for (const files of [['run.json', 'metrics.jsonl'], ['metrics.jsonl']]) {
      const out = path.join(tmp, `runStale-${files.length}`);
      fs.mkdirSync(out);
      for (const f of files) fs.copyFileSync(path.join(src, f), path.join(out, f));
      fs.writeFileSync(path.join(out, 'notes.txt'), 'mine');
      expectOneLineError(imix(['train', ...SMALL, '--epochs', '1', '--knn-every', '0', '--out', out]), 1, new RegExp(`runStale-${files.length} already holds a run that stopped before its first checkpoint \\(${files.join(', ')}\\); pass --force`));
      const f = imix(['train', ...SMALL, '--epochs', '1', '--knn-every', '0', '--out', out, '--force']);
      expect(f.code, f.stderr).toBe(0);
      const steps = readJsonl(path.join(out, 'metrics.jsonl')).filter((m) => m.type === 'step');
      expect(steps.map((m) => m.step)).toEqual([1, 2, 3, 4]);
      expect(fs.readFileSync(path.join(out, 'notes.txt'), 'utf8')).toBe('mine'); // only imix's own files are replaced
    }
  });

  it('output paths that cannot be written are one line naming the flag, before any work and without temporary files', () => {
    const run = path.join(tmp, 'runKeep');
    fs.mkdirSync(path.join(tmp, 'adir.npy'));
    fs.writeFileSync(path.join(tmp, 'afile'), 'a file');
    expectOneLineError(imix(['embed', run, '--out', 'adir.npy']), 1, /^imix: error: --out adir\.npy: is a directory$/);
    expectOneLineError(imix(['embed', run, '--out', 'afile/f.csv']), 1, /^imix: error: --out afile\/f\.csv: afile is not a directory$/);
    expectOneLineError(imix(['embed', run, '--out', 'afile/sub/f.npy']), 1, /--out afile\/sub\/f\.npy: afile is not a directory/);
    expectOneLineError(imix(['train', ...SMALL, '--out', 'afile/run']), 1, /^imix: error: --out afile\/run: afile is not a directory$/);
    expectOneLineError(imix(['train', ...SMALL, '--out', 'afile']), 1, /--out afile: exists and is not a directory/);
    expect(fs.readdirSync(path.join(tmp, 'adir.npy'))).toEqual([]);
    expect(fs.readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(fs.readFileSync(path.join(tmp, 'afile'), 'utf8')).toBe('a file');
  });

  it('IMIX_DEBUG=1 adds the stack trace', () => {
    const r = imix(['eval', path.join(tmp, 'missing-run')], { env: { IMIX_DEBUG: '1' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^imix: error: .*no such run folder\n/);
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});

describe('imix bench', () => {
  it('lists the compiled benchmarks, and rejects an unknown one', () => {
    const l = imix(['bench', '--list']);
    const compiled = fs.existsSync(path.join(ROOT, 'dist', 'bench'))
      ? fs.readdirSync(path.join(ROOT, 'dist', 'bench')).filter((f) => f.endsWith('.js') && f !== 'common.js')
      : [];
    if (compiled.length === 0) {
      expectOneLineError(l, 1, /benchmarks/);
      return;
    }
    expect(l.code, l.stderr).toBe(0);
    expect(l.stdout.trim().split('\n').sort()).toEqual(compiled.map((f) => f.slice(0, -3)).sort());
    expectOneLineError(imix(['bench', 'no-such-bench']), 1, /no benchmark 'no-such-bench' \(available: /);
  });
});

describe('imix train: Ctrl-C', () => {
  /** Starts a training process; resolves once stderr matches `ready`. */
  function startTraining(args: string[], ready: RegExp): { child: ChildProcess; stderr: () => string; ready: Promise<void>; exit: Promise<number | null> } {
    const child = spawn(process.execPath, [BIN, 'train', ...args], { cwd: tmp, env: { ...process.env, IMIX_DEBUG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let onReady: () => void = () => {};
    const readyP = new Promise<void>((r) => (onReady = r));
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (ready.test(err)) onReady();
    });
    const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    return { child, stderr: () => err, ready: readyP, exit };
  }

  it('the first Ctrl-C saves a checkpoint and exits 130; --resume continues from it', async () => {
    const out = path.join(tmp, 'runSig');
    const t = startTraining(['--encoder', 'mlp:256', '--projection', '64,32', '--batch', '64', '--epochs', '50', '--knn-every', '0', '--out', out], /step 1\//);
    await t.ready;
    t.child.kill('SIGINT');
    const code = await t.exit;
    expect(code, t.stderr()).toBe(130);
    expect(t.stderr()).toMatch(/interrupted: saving a checkpoint/);
    expect(t.stderr()).toMatch(/checkpoint saved in .*Continue with: imix train --resume/);
    expect(fs.existsSync(path.join(out, 'checkpoint.safetensors'))).toBe(true);
    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(cfg.step).toBeGreaterThanOrEqual(1);
    expect(cfg.epoch).toBe(0);
    const steps = readJsonl(path.join(out, 'metrics.jsonl')).filter((m) => m.type === 'step');
    expect(steps[steps.length - 1]!.step).toBe(cfg.step);
    // Records written after the checkpoint by a hard-killed process are dropped on resume.
    fs.appendFileSync(path.join(out, 'metrics.jsonl'), JSON.stringify({ type: 'step', step: cfg.step + 1, epoch: 1, loss: 1, lr: 1, throughput: 1 }) + '\n{"type":"st');
    const r = imix(['train', '--resume', out, '--max-steps', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).step).toBe(cfg.step + 2);
    const after = readJsonl(path.join(out, 'metrics.jsonl')).filter((m) => m.type === 'step').map((m) => m.step);
    expect(after).toEqual(Array.from({ length: cfg.step + 2 }, (_, i) => i + 1));
  });

  it('SIGTERM saves a checkpoint like Ctrl-C and exits 143', async () => {
    const out = path.join(tmp, 'runTerm');
    const t = startTraining(['--encoder', 'mlp:256', '--projection', '64,32', '--batch', '64', '--epochs', '50', '--knn-every', '0', '--out', out], /step 1\//);
    await t.ready;
    t.child.kill('SIGTERM');
    const code = await t.exit;
    expect(code, t.stderr()).toBe(143);
    expect(t.stderr()).toMatch(/terminated \(SIGTERM\): saving a checkpoint/);
    expect(t.stderr()).toMatch(/checkpoint saved in .*Continue with: imix train --resume/);
    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(cfg.step).toBeGreaterThanOrEqual(1);
    expect(imix(['train', '--resume', out, '--max-steps', '1']).code).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).step).toBe(cfg.step + 1);
  });

  it('a second Ctrl-C exits at once, never leaving a half-written checkpoint', async () => {
    const out = path.join(tmp, 'runSig2');
    // Big steps (~1 s). Signals that arrive during one native step can reach the
    // process as one, so the second is sent after the first was acknowledged;
    // whether the save had started by then depends on timing, so both outcomes
    // are accepted — what may never happen is a partial file.
    const t = startTraining(['--encoder', 'mlp:2048', '--batch', '1024', '--queue', '1024', '--epochs', '50', '--knn-every', '0', '--out', out], /step 1\//);
    await t.ready;
    t.child.kill('SIGINT');
    await waitFor(() => /interrupted: saving a checkpoint/.test(t.stderr()));
    t.child.kill('SIGINT');
    const code = await t.exit;
    expect(code, t.stderr()).toBe(130);
    const saved = fs.existsSync(path.join(out, 'checkpoint.safetensors'));
    if (saved) expect(t.stderr()).toMatch(/checkpoint saved/);
    else expect(t.stderr()).toContain('quitting without saving');
    expect(fs.readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('CLI building blocks', () => {
  it('loss.svg is well-formed for empty, one-point, flat and NaN histories', () => {
    const cases = [
      { title: 'empty <&>', epochs: [] },
      { title: 'one', epochs: [{ epoch: 1, loss: 2.5, knn: 0.7 }] },
      { title: 'flat', epochs: [1, 2, 3].map((e) => ({ epoch: e, loss: 1 })), steps: [{ x: 0.5, loss: 1 }, { x: 1, loss: 1 }] },
      { title: 'nan', epochs: [{ epoch: 1, loss: NaN }, { epoch: 2, loss: 3 }], steps: Array.from({ length: 5000 }, (_, i) => ({ x: i / 2500, loss: 5 - i / 5000 })) },
    ];
    for (const c of cases) {
      const svg = renderPlot(c);
      xmlElements(svg);
      expect(svg).not.toMatch(/NaN|Infinity|undefined/);
    }
    expect(renderPlot(cases[0]!)).toContain('empty &lt;&amp;&gt;');
    // Long step histories are downsampled.
    const big = renderPlot(cases[3]!);
    const pts = /<polyline[^>]*stroke="#9ecae1"[^>]*points="([^"]*)"/.exec(big)![1]!.split(' ');
    expect(pts.length).toBeLessThanOrEqual(600);
  });

  it('niceTicks covers the range with round steps', () => {
    const t = niceTicks(0.63, 0.81);
    expect(t.lo).toBeLessThanOrEqual(0.63);
    expect(t.hi).toBeGreaterThanOrEqual(0.81);
    expect(t.ticks[0]).toBe(t.lo);
    expect(t.ticks[t.ticks.length - 1]).toBeCloseTo(t.hi, 12);
    expect([0.01, 0.02, 0.025, 0.05, 0.1]).toContain(t.step);
    expect(niceTicks(3, 3).ticks.length).toBeGreaterThan(1);
  });

  it('writeMatrix writes NPY (64-byte aligned header) and CSV through the library writers', () => {
    for (const [r, c] of [[1, 1], [100, 64], [3, 1000], [0, 5]] as const) {
      const v = Float32Array.from({ length: r * c }, (_, i) => (i % 7) - 3.25);
      const npy = path.join(tmp, `wm-${r}x${c}.npy`), csv = path.join(tmp, `wm-${r}x${c}.csv`);
      expect(writeMatrix(npy, v, r, c)).toBe('npy');
      const h = parseNpyHeader(fs.readFileSync(npy), npy);
      expect(h).toMatchObject({ descr: '<f4', fortranOrder: false, shape: [r, c], version: [1, 0] });
      expect(h.dataOffset % 64).toBe(0);
      expect(Array.from(libReadNpy(npy).data)).toEqual(Array.from(v));
      expect(writeMatrix(csv, v, r, c)).toBe('csv');
      const lines = fs.readFileSync(csv, 'utf8').split('\n').filter(Boolean);
      expect(lines).toHaveLength(r);
      expect(lines.flatMap((l) => l.split(',').map(Number))).toEqual(Array.from(v));
    }
    expect(() => writeMatrix(path.join(tmp, 'bad.npy'), new Float32Array(5), 2, 3)).toThrow(/5 values for \[2, 3\]/);
    expect(fs.readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('encoder and view specs round-trip, and checkpoint view descriptions parse back', () => {
    for (const e of ['mlp:512,512', 'mlp-nobn:64', 'tabular', 'tabular:0.25', 'resnet18', 'resnet18:0.5', 'resnet20', 'resnet20:2', 'resnet1d:0.25'])
      expect(formatEncoder(parseEncoder(e))).toBe(e);
    expect(parseEncoder('resnet18:0.5')).toEqual({ kind: 'resnet18', width: 0.5 });
    for (const v of ['drop:0.2', 'drop:0.2+noise:0.1', 'noise:0']) expect(formatViews(parseViews(v))).toBe(v);
    expect(viewsFromDescribe('inputDrop(0.2) ∘ gaussianNoise(0.1)')).toEqual(parseViews('drop:0.2+noise:0.1'));
    expect(viewsFromDescribe('identity')).toEqual([]);
    // Image views: crop directly followed by flip is one fused step; flip's P defaults to 0.5 and is always written.
    for (const v of ['crop:4', 'flip:0.3', 'crop:4+flip:0.5+drop:0.1', 'flip:1+crop:0', 'crop:2+noise:0.1+flip:0.5', 'none+crop:3'])
      expect(formatViews(parseViews(v))).toBe(v);
    expect(parseViews('crop:4+flip+drop:0.1')).toEqual([{ kind: 'cropFlip', args: [4, 0.5] }, { kind: 'drop', args: [0.1] }]);
    expect(parseViews(' flip ')).toEqual([{ kind: 'flip', args: [0.5] }]);
    expect(parseViews('flip+crop:4')).toEqual([{ kind: 'flip', args: [0.5] }, { kind: 'crop', args: [4] }]);
    expect(formatViews(parseViews('crop:4+flip'))).toBe('crop:4+flip:0.5');
    // The library's descriptions of the image views (lib/methods/views.ts) parse back to what the CLI built.
    expect(viewsFromDescribe('randomCropFlip(4, 0.5) ∘ inputDrop(0.1)')).toEqual(parseViews('crop:4+flip+drop:0.1'));
    expect(viewsFromDescribe('horizontalFlip(0.3) ∘ randomCrop(2)')).toEqual(parseViews('flip:0.3+crop:2'));
    // Composed separately in code, crop and flip stay two steps (the same random draws on rebuild).
    expect(viewsFromDescribe('randomCrop(4) ∘ horizontalFlip(0.5)')).toEqual([{ kind: 'crop', args: [4] }, { kind: 'flip', args: [0.5] }]);
    expect(viewsFromDescribe('randomCropFlip(4)')).toBeNull();
    expect(viewsFromDescribe('randomCrop(x)')).toBeNull();
    expect(viewsFromDescribe('blur(1)')).toBeNull();
    expect(viewsFromDescribe('custom')).toBeNull();
  });

  it('the image and signal views of --views: spellings, defaults, fusion, round trips and errors', () => {
    // SimCLR's recipe for small images: a random resized crop fused with the flip, colour jitter, grayscale.
    const simclr = parseViews('rrc:0.2+flip+jitter:0.4:0.8+gray:0.2');
    expect(simclr).toEqual([
      { kind: 'rrc', args: [0.2, 1, 3 / 4, 4 / 3, 0.5] },
      { kind: 'jitter', args: [0.4, 0.4, 0.4, 0.1, 0.8] },
      { kind: 'gray', args: [0.2] },
    ]);
    expect(formatViews(simclr)).toBe('rrc:0.2:1+flip:0.5+jitter:0.4:0.8+gray:0.2');
    // Defaults: torchvision's scale 0.08–1, jitter applied with p 0.8, grayscale 0.2, a time crop of 0.5–1.
    expect(parseViews('rrc')).toEqual([{ kind: 'rrc', args: [0.08, 1, 3 / 4, 4 / 3, 0] }]);
    expect(parseViews('jitter:0.8')[0]!.args).toEqual([0.8, 0.8, 0.8, 0.2, 0.8]);
    expect(parseViews('jitter:0.4,0.3,0.2,0.1:1')[0]!.args).toEqual([0.4, 0.3, 0.2, 0.1, 1]);
    expect(parseViews('gray')[0]!.args).toEqual([0.2]);
    expect(parseViews('shift:8+tcrop+scale:0.8:1.2+noise:0.05')).toEqual([
      { kind: 'shift', args: [8] },
      { kind: 'tcrop', args: [0.5, 1] },
      { kind: 'scale', args: [0.8, 1.2] },
      { kind: 'noise', args: [0.05] },
    ]);
    // A flip after an rrc that already flips is a second, separate flip.
    expect(parseViews('rrc:0.2+flip+flip:0.1').map((s) => s.kind)).toEqual(['rrc', 'flip']);
    for (const v of ['rrc:0.2:1', 'rrc:0.3:0.9+flip:0.5+gray:0.1', 'jitter:0.4:0.8', 'jitter:0.4,0.3,0.2,0.1:1', 'shift:3+tcrop:0.5:1+scale:0.9:1.1'])
      expect(formatViews(parseViews(v))).toBe(v);
    // The library's descriptions of the new views parse back to what the CLI built.
    expect(viewsFromDescribe(`randomResizedCrop(0.2, 1, 0.75, ${4 / 3}, 0.5) ∘ colorJitter(0.4, 0.4, 0.4, 0.1, 0.8) ∘ randomGrayscale(0.2)`)).toEqual(simclr);
    expect(viewsFromDescribe('timeShift(8) ∘ randomTimeCrop(0.5, 1) ∘ amplitudeScale(0.8, 1.2)')).toEqual(parseViews('shift:8+tcrop+scale:0.8:1.2'));
    expect(viewsFromDescribe('resample(0.6) ∘ inputDrop(0.1)')).toEqual(parseViews('resample:0.6+drop:0.1'));
    expect(formatViews(parseViews('resample+noise:0.05'))).toBe('resample:0.6+noise:0.05');
    expect(viewsFromDescribe('randomResizedCrop(0.2, 1)')).toBeNull();
    expect(viewsFromDescribe('colorJitter(0.4)')).toBeNull();
    // Usage errors name --views and the bad part.
    const bad: Array<[string, RegExp]> = [
      ['rrc:0', /rrc scale must be > 0, got 0/],
      ['rrc:0.5:1.5', /rrc scale must be at most 1, got 1.5/],
      ['rrc:0.9:0.2', /lower end 0.9 is above the upper end 0.2/],
      ['rrc:0.2:1:3', /'rrc:0.2:1:3': expected 'rrc', 'rrc:MIN' or 'rrc:MIN:MAX'/],
      ['jitter', /'jitter': expected 'jitter:S\[:P\]'/],
      ['jitter:0.4,0.4', /expected one strength S or four 'B,C,S,H'/],
      ['jitter:2.4', /jitter hue must be in \[0, 0.5\], got 0.6/],
      ['jitter:-1', /jitter brightness must be >= 0/],
      ['jitter:0.4:1.2', /jitter probability must be in \[0, 1\], got 1.2/],
      ['gray:x', /expected a number in 'gray:x', got 'x'/],
      ['shift:1.5', /shift must be a non-negative integer, got 1.5/],
      ['tcrop:0:1', /tcrop scale must be > 0, got 0/],
      ['scale:1.2:0.8', /lower end 1.2 is above the upper end 0.8/],
      ['scale:1', /'scale:1': expected 'scale:LO:HI'/],
      ['resample:0.5:1', /'resample:0.5:1': expected 'resample' or 'resample:P'/],
      ['resample:-0.1', /resample probability must be in \[0, 1\], got -0.1/],
      ['blur:1', /--views: expected views among 'none', 'drop:P'.*'rrc\[:MIN\[:MAX\]\]' \(images\).*joined with '\+', got 'blur:1'/],
    ];
    for (const [v, re] of bad) expect(() => parseViews(v), v).toThrow(re);
  });

  it('library errors become one line naming the CLI flag', () => {
    expect(flagMessage('mix.alpha: expected a positive number, got -1')).toBe('--alpha: expected a positive number, got -1');
    expect(flagMessage('queueSize: too small')).toBe('--queue: too small');
    expect(flagMessage('data: something')).toBe('data: something');
    const e = Object.assign(new Error('optimizer.lr: expected a positive number, got 0'), { code: 'IMIX_VALUE' });
    expect(describeError(e)).toEqual({ message: '--lr: expected a positive number, got 0', exitCode: 1 });
    expect(describeError(Object.assign(new Error('x: out of memory'), { code: 'IMIX_BACKEND' })).message).toBe('backend failure: x: out of memory');
    expect(describeError(Object.assign(new Error("error: unknown option '--x'\n(Did you mean --y?)"), { code: 'commander.unknownOption' }))).toEqual({
      message: "unknown option '--x' (Did you mean --y?)",
      exitCode: 2,
    });
    expect(describeError(new Error('imix: the native addon is not built')).message).toBe('the native addon is not built');
  });

  it('durations read well', () => {
    expect(formatDuration(3.21)).toBe('3.2s');
    expect(formatDuration(75)).toBe('1m15s');
    expect(formatDuration(3725)).toBe('1h02m');
    expect(formatDuration(NaN)).toBe('?');
  });
});

describe('test splits for a single file: --test and --holdout (issue 15)', () => {
  const tiny = ['--encoder', 'mlp:16', '--projection', '16,8', '--batch', '40', '--queue', '80', '--epochs', '2'];
  const CLASSES = ['Rad.Flow', 'High', 'Bypass', 'Fpv.Close', 'Fpv.Open'];

  /**
   * An mlbench-like table (the layout of Shuttle, smaller): nine integer readings V1..V9, a
   * categorical `sensor` and an imbalanced string label `Class` (60/20/10/6/4%), each class
   * shifting two readings. Returns the data lines (after the header).
   */
  function writeShuttle(file: string, rows: number, seed = 11): string[] {
    let s = seed;
    const r = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 8) / 2 ** 24;
    const freq = [0.6, 0.2, 0.1, 0.06, 0.04];
    const lines: string[] = [];
    for (let i = 0; i < rows; i++) {
      let c = 0;
      for (let u = r(), acc = freq[0]!; u > acc && c < freq.length - 1; ) acc += freq[++c]!;
      const v = Array.from({ length: 9 }, (_, j) => Math.round(40 * r() + (j === c || j === c + 4 ? 30 : 0)));
      lines.push([...v, ['a', 'b', 'c'][Math.floor(3 * r())], CLASSES[c]].join(','));
    }
    fs.writeFileSync(file, ['V1,V2,V3,V4,V5,V6,V7,V8,V9,sensor,Class', ...lines].join('\n') + '\n');
    return lines;
  }
  const csvArgs = (csv: string) => ['--data', csv, '--label-column', 'Class', '--categorical', 'sensor'];
  const losses = (dir: string) => readJsonl(path.join(dir, 'metrics.jsonl')).filter((m) => m.type === 'step').map((m) => m.loss as number);
  const knn = (dir: string) => readJsonl(path.join(dir, 'metrics.jsonl')).filter((m) => m.type === 'epoch').map((m) => m.knnAccuracy as number);

  it('--holdout: a seeded, stratified split recorded in run.json, used by the kNN monitor, eval, embed --split test and --resume', () => {
    const csv = path.join(tmp, 'shuttle.csv');
    writeShuttle(csv, 300);
    const full = path.join(tmp, 'runHold');
    const args = [...csvArgs(csv), '--holdout', '0.2', '--seed', '5', ...tiny];
    const r = imix(['train', ...args, '--out', full]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/shuttle\.csv \(CSV; 240 rows, 12 features, labelled, 5 classes; test: 60 rows held out \(--holdout 0\.2, stratified, seed 5\)\), standardized; 2 epochs of 6 steps .*kNN every 1 epoch/);
    expect(JSON.parse(fs.readFileSync(path.join(full, 'run.json'), 'utf8')).data).toEqual({ data: csv, labelColumn: 'Class', categorical: ['sensor'], holdout: 0.2, holdoutSeed: 5 });
    const accs = knn(full);
    expect(accs).toHaveLength(2);
    for (const a of accs) expect(a).toBeGreaterThanOrEqual(0), expect(a).toBeLessThanOrEqual(1);
    // The split is data.trainTestSplit's: every class keeps its share of the test rows. The split depends on the
    // labels, the row count and the seed only, so rows numbered 0..n-1 with the file's labels show which ones.
    const ds = loadDataset(csv, { label: 'Class', categorical: ['sensor'] });
    const { train: trainIdx, test: testIdx } = trainTestSplit(fromArray(Float32Array.from({ length: ds.n }, (_, i) => i), [1], { labels: ds.labels! }), 0.2, 5);
    const perClass = (l: Int32Array) => Array.from({ length: 5 }, (_, c) => l.filter((v) => v === c).length);
    const all = perClass(ds.labels!), held = perClass(testIdx.labels!);
    for (let c = 0; c < 5; c++) expect(Math.abs(held[c]! - 0.2 * all[c]!), `class ${c}`).toBeLessThan(1);
    // eval: the same split (240 training rows, 60 test rows).
    const e = imix(['eval', full, '--knn', '--json', '--k', '20']);
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout)).toMatchObject({ train: 240, test: 60 });
    expect(JSON.parse(e.stdout).data).toMatch(/60 rows held out/);
    // embed --split test/train: the held-out rows and the others, as `embed --data` of the whole file has them.
    const outAll = path.join(tmp, 'out', 'hold-all.npy'), outTest = path.join(tmp, 'out', 'hold-test.npy'), outTrain = path.join(tmp, 'out', 'hold-train.npy');
    for (const [extra, out] of [[['--data', csv], outAll], [['--split', 'test'], outTest], [[], outTrain]] as const) {
      const x = imix(['embed', full, ...extra, '--out', out, '--quiet']);
      expect(x.code, x.stderr).toBe(0);
    }
    const whole = readNpy(outAll), test = readNpy(outTest), train = readNpy(outTrain);
    expect([whole.shape, test.shape, train.shape]).toEqual([[300, 16], [60, 16], [240, 16]]);
    const rowsOf = (idx: Float32Array) => Array.from(idx).flatMap((i) => Array.from(whole.data.subarray(i * 16, (i + 1) * 16)));
    expect(Array.from(test.data)).toEqual(rowsOf(testIdx.x));
    expect(Array.from(train.data)).toEqual(rowsOf(trainIdx.x));
    // --resume draws the same split: a run stopped after 3 steps and resumed trains on the same rows and
    // monitors the same test rows as the uninterrupted run.
    const part = path.join(tmp, 'runHoldPart');
    const a = imix(['train', ...args, '--max-steps', '3', '--out', part]);
    expect(a.code, a.stderr).toBe(0);
    const b = imix(['train', '--resume', part]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toMatch(/test: 60 rows held out \(--holdout 0\.2, stratified, seed 5\)/);
    expect(losses(part)).toHaveLength(12);
    losses(part).forEach((l, i) => expect(l).toBeCloseTo(losses(full)[i]!, 5));
    expect(knn(part)).toEqual(accs);
    // Another seed holds out other rows.
    const other = path.join(tmp, 'runHoldSeed');
    expect(imix(['train', ...csvArgs(csv), '--holdout', '0.2', '--seed', '6', ...tiny, '--max-steps', '1', '--quiet', '--out', other]).code).toBe(0);
    const o = path.join(tmp, 'out', 'hold-test6.npy');
    expect(imix(['embed', other, '--split', 'test', '--out', o, '--quiet']).code).toBe(0);
    expect(readNpy(o).shape).toEqual([60, 16]);
  });

  it("--test: a second CSV encoded with the training file's schema, used by the kNN monitor, eval, embed --split test and --resume", () => {
    const lines = writeShuttle(path.join(tmp, 'shuttle-all.csv'), 300, 23);
    const header = 'V1,V2,V3,V4,V5,V6,V7,V8,V9,sensor,Class';
    const trainCsv = path.join(tmp, 'shuttle-train.csv'), testCsv = path.join(tmp, 'shuttle-test.csv');
    fs.writeFileSync(trainCsv, [header, ...lines.slice(0, 240)].join('\n') + '\n');
    // The test file lists its rows in another order: categories and classes are numbered by the training file.
    fs.writeFileSync(testCsv, [header, ...lines.slice(240).reverse()].join('\n') + '\n');
    const out = path.join(tmp, 'runTest');
    const args = [...csvArgs(trainCsv), '--test', testCsv, ...tiny];
    const r = imix(['train', ...args, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/shuttle-train\.csv \(CSV; 240 rows, 12 features, labelled, 5 classes; test: .*shuttle-test\.csv, 60 rows, labelled\).*kNN every 1 epoch/);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8')).data).toEqual({ data: trainCsv, labelColumn: 'Class', categorical: ['sensor'], test: testCsv });
    expect(knn(out)).toHaveLength(2);
    const e = imix(['eval', out, '--knn', '--json', '--k', '20']);
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout)).toMatchObject({ train: 240, test: 60 });
    // embed --split test is the test file, read through the run's csv-schema.json.
    const t1 = path.join(tmp, 'out', 'test-split.npy'), t2 = path.join(tmp, 'out', 'test-data.npy');
    expect(imix(['embed', out, '--split', 'test', '--out', t1, '--quiet']).code).toBe(0);
    expect(imix(['embed', out, '--data', testCsv, '--out', t2, '--quiet']).code).toBe(0);
    expect(readNpy(t1).shape).toEqual([60, 16]);
    expect(Array.from(readNpy(t1).data)).toEqual(Array.from(readNpy(t2).data));
    // --resume reads the same test file.
    const part = path.join(tmp, 'runTestPart');
    expect(imix(['train', ...args, '--max-steps', '2', '--quiet', '--out', part]).code).toBe(0);
    const b = imix(['train', '--resume', part, '--quiet']);
    expect(b.code, b.stderr).toBe(0);
    losses(part).forEach((l, i) => expect(l).toBeCloseTo(losses(out)[i]!, 5));
    expect(knn(part)).toEqual(knn(out));
    // A test file that does not fit the training file's schema: one line naming the test file, line and column.
    const bad = (name: string, text: string[]) => {
      const f = path.join(tmp, name);
      fs.writeFileSync(f, text.join('\n') + '\n');
      return f;
    };
    const renamed = bad('test-renamed.csv', [header.replace('sensor', 'sensr'), ...lines.slice(240, 250)]);
    expectOneLineError(imix(['train', ...csvArgs(trainCsv), '--test', renamed, ...tiny, '--out', path.join(tmp, 'runX')]), 1, /test-renamed\.csv:1: header does not match the schema: column 9 is "sensr", expected "sensor"/);
    const purple = bad('test-purple.csv', [header, lines[240]!, lines[241]!.replace(/,[abc],/, ',purple,')]);
    expectOneLineError(imix(['train', ...csvArgs(trainCsv), '--test', purple, ...tiny, '--out', path.join(tmp, 'runX')]), 1, /test-purple\.csv:3: column 9 \("sensor"\): category "purple" does not occur in the training file/);
    const narrow = bad('test-narrow.csv', [header.replace(',sensor', ''), ...lines.slice(240, 245).map((l) => l.replace(/,[abc],/, ','))]);
    expectOneLineError(imix(['train', ...csvArgs(trainCsv), '--test', narrow, ...tiny, '--out', path.join(tmp, 'runX')]), 1, /test-narrow\.csv:1: 10 columns, but the schema \(from the training file\) has 11/);
    expect(fs.existsSync(path.join(tmp, 'runX'))).toBe(false);
  });

  it('--test with NPY files: the same sample shape, labels from --test-labels', () => {
    const F = 6, rowsOf = (n: number, off: number) => Float32Array.from({ length: n * F }, (_, i) => Math.sin((i + off) * 0.37) + (Math.floor(i / F) % 2) * 2);
    const npy = (name: string, a: Float32Array | Int32Array, shape: number[]) => {
      const f = path.join(tmp, name);
      writeNpy(f, a, shape);
      return f;
    };
    const labels = (n: number) => Int32Array.from({ length: n }, (_, i) => i % 2);
    const x = npy('split-x.npy', rowsOf(200, 0), [200, F]), y = npy('split-y.npy', labels(200), [200]);
    const tx = npy('split-tx.npy', rowsOf(50, 1000), [50, F]), ty = npy('split-ty.npy', labels(50), [50]);
    const out = path.join(tmp, 'runNpyTest');
    const r = imix(['train', '--data', x, '--labels', y, '--test', tx, '--test-labels', ty, ...tiny, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/split-x\.npy \(200 rows, labelled, 2 classes; test: .*split-tx\.npy, 50 rows, labelled\).*kNN every 1 epoch/);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8')).data).toMatchObject({ test: tx, testLabels: ty });
    const e = imix(['eval', out, '--knn', '--json', '--k', '10']);
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout)).toMatchObject({ train: 200, test: 50 });
    const wide = npy('split-wide.npy', rowsOf(50, 0).subarray(0, 50 * 5), [50, 5]);
    expectOneLineError(imix(['train', '--data', x, '--test', wide, ...tiny, '--out', path.join(tmp, 'runX')]), 1, /--test .*split-wide\.npy: samples of shape \[5\], the training data's are \[6\]/);
    expectOneLineError(imix(['train', '--data', x, '--test', path.join(tmp, 'shuttle.csv'), ...tiny, '--out', path.join(tmp, 'runX')]), 2, /--test .*shuttle\.csv: a CSV file, and the training data is an NPY file/);
    expectOneLineError(imix(['train', ...csvArgs(path.join(tmp, 'shuttle.csv')), '--test', tx, ...tiny, '--out', path.join(tmp, 'runX')]), 2, /--test .*split-tx\.npy: an NPY file, and the training data is a CSV file/);
  });

  it('refused cases: one line naming the flag, with the fix', () => {
    const csv = path.join(tmp, 'shuttle.csv');
    const runX = path.join(tmp, 'runX');
    const cases: Array<[string[], number, RegExp]> = [
      [[...csvArgs(csv), '--test', csv, '--holdout', '0.2'], 2, /^imix: error: --holdout: give either --test \(a test file\) or --holdout \(a split of the data\), not both$/],
      [[...csvArgs(csv), '--test-labels', csv], 2, /^imix: error: --test-labels: labels of a --test file; give --test too$/],
      [['--holdout', '0.2'], 2, /^imix: error: --holdout: the bundled fashion-mnist data has its own test split/],
      [['--test', csv], 2, /^imix: error: --test: the bundled fashion-mnist data has its own test split; leave --test out$/],
      [[...csvArgs(csv), '--holdout', '1'], 2, /^imix: error: --holdout: expected a fraction between 0 and 1 \(exclusive\), e\.g\. 0\.2, got 1$/],
      [[...csvArgs(csv), '--holdout', 'half'], 2, /^imix: error: --holdout: expected a number, got 'half'$/],
      [[...csvArgs(csv), '--test', path.join(tmp, 'no-such.csv')], 1, /^imix: error: --test .*no-such\.csv: no such file or directory$/],
      [[...csvArgs(csv), '--test', tmp], 2, /^imix: error: --test .*: a directory; --test takes one CSV\/NPY\/IDX file/],
      [[...csvArgs(csv), '--test', csv, '--test-labels', csv], 2, /^imix: error: --test-labels: not used with a CSV test file \(its labels are in the training file's label column, "Class"\)$/],
      // MoCo on a small table: a queue reaching the batch's own keys of the previous epoch.
      [[...csvArgs(csv), '--batch', '40', '--epochs', '1'], 2, /^imix: error: --queue: a queue of 4096 keys on 300 rows reaches the batch's own keys of the previous epoch \(it must be shorter than the rows minus a batch, 300 - 40 = 260\); use --queue 259 or less$/],
      [[...csvArgs(csv), '--batch', '40', '--queue', '260', '--holdout', '0.2'], 2, /^imix: error: --queue: a queue of 260 keys on 240 rows .*; use --queue 199 or less$/],
      [[...csvArgs(csv), '--batch', '128', '--queue', '128', '--limit', '200'], 2, /^imix: error: --queue: .*no queue both holds a batch of 128 and stays below that; use --batch 99 or less .*method without a queue \(npair, byol\)$/],
    ];
    for (const [args, code, re] of cases) expectOneLineError(imix(['train', ...args, '--out', runX]), code, re);
    expect(fs.existsSync(runX)).toBe(false);
    // The split comes from the run folder: not given again with --resume, eval or embed (but with other --data).
    const run = path.join(tmp, 'runHold');
    expectOneLineError(imix(['train', '--resume', run, '--holdout', '0.3']), 2, /^imix: error: --holdout cannot be given with --resume/);
    expectOneLineError(imix(['eval', run, '--holdout', '0.3']), 2, /^imix: error: --holdout: only with --data \(the run's own data is read as it was for training\)$/);
    expectOneLineError(imix(['embed', run, '--test', csv, '--out', path.join(tmp, 'out', 'x.npy')]), 2, /^imix: error: --test: only with --data/);
    const e = imix(['eval', run, '--data', csv, '--holdout', '0.5', '--knn', '--json', '--k', '10']);
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout)).toMatchObject({ train: 150, test: 150 });
    // A single file without --test or --holdout: no test split, and the messages say how to get one.
    const plain = path.join(tmp, 'runPlain');
    expect(imix(['train', ...csvArgs(csv), ...tiny, '--max-steps', '1', '--quiet', '--out', plain]).code).toBe(0);
    expectOneLineError(imix(['eval', plain]), 1, /needs a labelled test split, and .* has none \(train with --test FILE or --holdout FRACTION/);
    expectOneLineError(imix(['embed', plain, '--split', 'test', '--out', path.join(tmp, 'out', 'x.npy')]), 1, /--split test: .* has no test split \(a run trained with --test FILE or --holdout FRACTION has one\)$/);
    expectOneLineError(imix(['train', ...csvArgs(csv), ...tiny, '--knn-every', '1', '--out', runX]), 1, /--knn-every: .*a single file gets one with --test FILE or --holdout FRACTION/);
  });
});

describe('imix eval: probes beside the raw input, few labels; training monitors', () => {
  let run: string;
  const probeLine = (label: string) => new RegExp(`^${label} +test accuracy [01]\\.\\d{4}`, 'm');
  const rawLine = /^ {2}raw input: +test accuracy [01]\.\d{4}/m;

  it('metrics.jsonl, the progress line, the epoch lines and loss.svg carry the collapse monitor', () => {
    run = path.join(tmp, 'runProbes');
    const r = imix(['train', ...SMALL, '--epochs', '2', '--knn-every', '0', '--log-every', '3', '--out', run]);
    expect(r.code, r.stderr).toBe(0);
    // The progress line and the epoch summary: d = 32 (--projection 64,32).
    expect(r.stderr).toMatch(/ETA \S+ {2}collapse 0\.\d+/);
    expect(r.stderr).toMatch(/epoch 2\/2 {2}loss \d+\.\d+ {2}collapse 0\.\d+ \(spread 1\/√32 = 0\.1768\)/);
    const records = readJsonl(path.join(run, 'metrics.jsonl'));
    // Step lines every --log-every 3 steps (and the last); the monitor runs on the same steps (and each epoch's last).
    const steps = records.filter((m) => m.type === 'step');
    expect(steps.map((m) => m.step)).toEqual([3, 6, 8]);
    for (const m of records) {
      expect(m.collapse, JSON.stringify(m)).toBeGreaterThan(0);
      expect(m.collapse).toBeLessThanOrEqual(Math.sqrt(64 / 63) / Math.sqrt(32) + 1e-6);
    }
    const svg = fs.readFileSync(path.join(run, 'loss.svg'), 'utf8');
    xmlElements(svg);
    expect(svg).toContain('spread std·√d (right)');
    // The plot of epochs with a spread of exactly 1/√d (std·√d = 1) and a collapsed one (0).
    const plot = renderPlot({ title: 't', epochs: [{ epoch: 1, loss: 2, collapse: 1 / Math.sqrt(16) }, { epoch: 2, loss: 1, collapse: 0 }], collapseScale: 4 });
    expect(plot).toMatch(/stroke="#31a354"[^>]*points="[\d.]+,[\d.]+ [\d.]+,[\d.]+"/);
    expect(plot).toContain('spread (std·√d)');
  });

  it('eval prints the encoder line and the raw-input line for --probe linear, pinv and knn', () => {
    const cases: Array<[string[], string]> = [
      [['--probe', 'linear', '--probe-epochs', '1'], 'linear probe:'],
      [['--probe', 'pinv'], 'pinv probe:'],
      [['--probe', 'knn', '--k', '20'], 'kNN \\(k=20\\):'],
    ];
    for (const [args, label] of cases) {
      const e = imix(['eval', run, '--limit', '600', ...args]);
      expect(e.code, e.stderr).toBe(0);
      expect(e.stdout).toMatch(/^features: +64 \(raw input: 784, standardized\)$/m);
      expect(e.stdout, label).toMatch(probeLine(label));
      expect(e.stdout, label).toMatch(rawLine);
      // The raw line comes right under its probe's line, and the other probes are not run.
      const lines = e.stdout.trim().split('\n');
      expect(lines.slice(-2)[0]).toMatch(probeLine(label));
      expect(lines).toHaveLength(5);
    }
    const j = imix(['eval', run, '--limit', '600', '--probe', 'pinv', '--json']);
    expect(j.code, j.stderr).toBe(0);
    const r = JSON.parse(j.stdout);
    // 600 rows: [X, 1] of 65 columns for the encoder, 785 (some pixels constant) for the raw input.
    expect(r.pinvProbe.rank).toBeLessThanOrEqual(65);
    expect(r.raw.features).toBe(784);
    expect(r.raw.pinvProbe.rank).toBeLessThanOrEqual(600);
    for (const a of [r.pinvProbe.testAccuracy, r.pinvProbe.trainAccuracy, r.raw.pinvProbe.testAccuracy]) expect(a).toBeGreaterThan(0.3);
    expect(r.linearProbe).toBeUndefined();
    expect(r.knn).toBeUndefined();
    // --no-raw: the encoder's probe alone.
    const n = imix(['eval', run, '--limit', '600', '--probe', 'pinv', '--no-raw']);
    expect(n.code, n.stderr).toBe(0);
    expect(n.stdout).toMatch(/^features: +64$/m);
    expect(n.stdout).toMatch(probeLine('pinv probe:'));
    expect(n.stdout).not.toContain('raw input');
  });

  it('eval --label-fraction: the same seeded stratified subsets for the encoder and the raw input, mean ± std over the draws', () => {
    const e = imix(['eval', run, '--limit', '1000', '--probe', 'pinv', '--label-fraction', '0.02', '--label-draws', '3', '--json']);
    expect(e.code, e.stderr).toBe(0);
    const r = JSON.parse(e.stdout);
    // The subsets are stratifiedSubset(labels of the 1000 rows, 0.02, the run's seed 0, draw).
    const labels = fashionMnist('train').labels!.subarray(0, 1000);
    expect(r.labels).toEqual({ fraction: 0.02, draws: 3, rows: evaluation.stratifiedSubset(labels, 0.02, 0, 0).length });
    for (const p of [r.pinvProbe, r.raw.pinvProbe]) {
      expect(p.testAccuracies).toHaveLength(3);
      const { mean, std } = evaluation.meanStd(p.testAccuracies);
      expect(p.testAccuracy).toBeCloseTo(mean, 12);
      expect(p.testAccuracyStd).toBeCloseTo(std, 12);
      expect(p.testAccuracy).toBeGreaterThan(0.2);
    }
    const t = imix(['eval', run, '--limit', '1000', '--probe', 'knn', '--k', '10', '--label-fraction', '0.02', '--label-draws', '3']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/^labels: +2% of each class's training labels \(at least 1\): \d+ rows, 3 seeded draws \(mean ± std\)$/m);
    expect(t.stdout).toMatch(/^kNN \(k=10\): +test accuracy [01]\.\d{4} ± 0\.\d{4}$/m);
    expect(t.stdout).toMatch(/^ {2}raw input: +test accuracy [01]\.\d{4} ± 0\.\d{4}$/m);
    const l = imix(['eval', run, '--limit', '1000', '--probe', 'linear', '--probe-epochs', '1', '--label-fraction', '0.02', '--label-draws', '2']);
    expect(l.code, l.stderr).toBe(0);
    expect(l.stdout).toMatch(/^linear probe: +test accuracy [01]\.\d{4} ± 0\.\d{4}$/m);
    expect(l.stdout).toMatch(rawLine);
    expectOneLineError(imix(['eval', run, '--label-fraction', '0']), 2, /^imix: error: --label-fraction: expected a positive number, got 0$/);
    expectOneLineError(imix(['eval', run, '--label-fraction', '1.5']), 2, /^imix: error: --label-fraction: expected a number <= 1, got 1\.5$/);
    expectOneLineError(imix(['eval', run, '--label-draws', '0']), 2, /^imix: error: --label-draws: expected an integer >= 1, got 0$/);
  });

  it('an absurd learning rate stops the run naming the step, and the checkpoint kept has finite weights', () => {
    // One step an epoch: the first epoch's checkpoint is written, and the second step's loss is NaN.
    const out = path.join(tmp, 'runDiverged');
    const r = imix(['train', '--method', 'npair', '--encoder', 'mlp:16', '--projection', '16,8', '--batch', '32', '--limit', '32', '--epochs', '3', '--knn-every', '0', '--lr', '1e30', '-q', '--out', out]);
    expectOneLineError(r, 1, /^imix: error: loss: became NaN at step 2; settings that can make training diverge: learning rate \(--lr 1e\+30\).*; .*runDiverged keeps the last good checkpoint, of epoch 1 \(step 1\)$/);
    expect(r.stderr).not.toMatch(/optimizer\.lr/);
    const ck = loadCheckpoint(out);
    expect(ck.step).toBe(1);
    for (const [name, t] of Object.entries(ck.tensors)) expect(Array.from(t.data as Float32Array).every(Number.isFinite), name).toBe(true);
    // Before any epoch finished: nothing is written, and the message says so.
    const early = path.join(tmp, 'runDivergedEarly');
    const e = imix(['train', '--method', 'npair', '--encoder', 'mlp:16', '--projection', '16,8', '--batch', '32', '--limit', '128', '--epochs', '1', '--knn-every', '0', '--lr', '1e30', '-q', '--out', early]);
    expectOneLineError(e, 1, /^imix: error: loss: became NaN at step 2; .*; no checkpoint was written in .*runDivergedEarly \(no epoch finished before it\)$/);
    expect(fs.existsSync(path.join(early, 'checkpoint.safetensors'))).toBe(false);
  });
});
