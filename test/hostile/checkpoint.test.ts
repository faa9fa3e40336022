// Crafted and damaged checkpoints (issue 11, defects 2, 6 and 9): every size
// in a checkpoint is checked before anything is allocated, the metadata is
// checked by its schema, the tensors' byte ranges must tile the file, and a
// failed load leaves the model as it was. Writes never follow planted symlinks.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError, MoCo, NPair } from '../../lib/index';
import { fromArray } from '../../lib/data/dataset';
import { ensureDist, imix, ROOT } from './cli-helpers';

let tmp: string;
const data = fromArray(new Float32Array(64 * 6).map((_, i) => Math.sin(i * 0.7)), [6]);
const tiny = { encoder: { kind: 'mlp' as const, hidden: [8] }, projection: [8, 4] as [number, number], seed: 1 };

beforeAll(() => {
  ensureDist();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'imix-ckpt-'));
}, 120_000);
afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** A checkpoint file split into its header (parsed) and data section. */
function readParts(file: string): { header: Record<string, any>; data: Buffer } {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  return { header: JSON.parse(buf.subarray(8, 8 + n).toString('utf8')), data: buf.subarray(8 + n) };
}
function writeParts(file: string, header: Record<string, any>, data: Buffer): void {
  const h = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  fs.writeFileSync(file, Buffer.concat([len, h, data]));
}
/** Copies the trained run in `src` to a new folder and applies `edit` to its checkpoint's header and metadata. */
function crafted(src: string, name: string, edit: (header: Record<string, any>, meta: Record<string, any>) => Buffer | void): string {
  const dir = path.join(tmp, name);
  fs.cpSync(src, dir, { recursive: true });
  const file = path.join(dir, 'checkpoint.safetensors');
  const { header, data: d } = readParts(file);
  const meta = JSON.parse(header.__metadata__.imix);
  const newData = edit(header, meta) ?? d;
  header.__metadata__.imix = JSON.stringify(meta);
  writeParts(file, header, newData);
  return dir;
}

let good: string;
async function trained(): Promise<string> {
  if (good) return good;
  good = path.join(tmp, 'good');
  const m = new NPair(tiny);
  await m.fit(data, { epochs: 1, batchSize: 16, checkpointDir: good });
  m.dispose();
  return good;
}

/** loadRun (the CLI's rebuild of a run folder) in a child process: its one-line outcome, time and peak memory. */
function loadRunInChild(dir: string): { line: string; ms: number; maxRssMB: number } {
  const script = `const t=Date.now();require(${JSON.stringify(path.join(ROOT, 'dist/lib/cli/method.js'))}).loadRun(${JSON.stringify(dir)},'cpu')
    .then(()=>console.log('loaded'),e=>console.log(e.constructor.name+': '+e.message))
    .finally(()=>console.log(JSON.stringify({ms:Date.now()-t,maxRssMB:process.resourceUsage().maxRSS/1024})))`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  expect(r.signal, r.stderr).toBeNull();
  const [line, stats] = r.stdout.trim().split('\n');
  return { line: line!, ...JSON.parse(stats!) };
}

/** Loading `dir` into a fresh NPair fails with `message` and leaves the model unbuilt. */
async function expectRefused(dir: string, message: RegExp): Promise<void> {
  const m = new NPair(tiny);
  await expect(m.load(dir)).rejects.toThrow(message);
  expect(() => m.features).toThrow(/not built/);
  // And a good checkpoint still loads into the same model afterwards.
  await m.load(await trained());
  expect(m.features).toBe(8);
  m.dispose();
}

describe('checkpoint metadata is checked by its schema before anything is built', () => {
  it('defect 9: metadata without config, a non-numeric epochLossSum, a sampleShape that is not a shape', async () => {
    const src = await trained();
    const noConfig = crafted(src, 'no-config', (_h, m) => void delete m.config);
    await expectRefused(noConfig, /checkpoint\.safetensors: damaged checkpoint metadata: config: /);
    const lossSum = crafted(src, 'loss-sum', (_h, m) => void (m.scalars.epochLossSum = 'x'));
    await expectRefused(lossSum, /damaged checkpoint metadata: scalars\.epochLossSum: /);
    for (const [name, shape] of [['abc', 'abc'], ['neg', [-3]], ['frac', [2.5]], ['empty', []], ['nan', [null]]] as const) {
      const dir = crafted(src, `shape-${name}`, (_h, m) => void (m.config.sampleShape = shape));
      await expectRefused(dir, /damaged checkpoint metadata: config\.sampleShape/);
    }
    const inf = crafted(src, 'step-inf', (_h, m) => void (m.step = 1e300));
    await expectRefused(inf, /damaged checkpoint metadata: step: /);
    const extra = crafted(src, 'unknown-key', (_h, m) => void (m.surprise = 1));
    await expectRefused(extra, /damaged checkpoint metadata: metadata: Unrecognized key: "surprise"/);
    // A damaged counter is still a DataError, a typed error.
    await expect(new NPair(tiny).load(lossSum)).rejects.toBeInstanceOf(DataError);
  });

  it('defect 9: overlapping, shifted, gapped or oversized data_offsets are refused, not read as garbage weights', async () => {
    const src = await trained();
    const names = (h: Record<string, any>) => Object.keys(h).filter((k) => k !== '__metadata__').sort((a, b) => h[a].data_offsets[0] - h[b].data_offsets[0]);
    // Two tensors over the same bytes (the second moved onto the first), the file padded to keep its length.
    const overlap = crafted(src, 'overlap', (h) => {
      const [a, b] = names(h);
      const len = h[b!].data_offsets[1] - h[b!].data_offsets[0];
      h[b!].data_offsets = [h[a!].data_offsets[0], h[a!].data_offsets[0] + len];
    });
    await expectRefused(overlap, /overlapping or shifted data_offsets/);
    // Every tensor shifted by 4 bytes (one float), with 4 bytes appended so all stay inside the file.
    const shifted = crafted(src, 'shifted', (h, _m) => {
      for (const n of names(h)) h[n].data_offsets = h[n].data_offsets.map((o: number) => o + 4);
      return Buffer.concat([Buffer.alloc(4), readParts(path.join(src, 'checkpoint.safetensors')).data]);
    });
    await expectRefused(shifted, /starts at byte 4 of the data, expected 0/);
    // A shape that does not match its byte range.
    const wrongShape = crafted(src, 'wrong-shape', (h) => {
      const n = names(h)[0]!;
      h[n].shape = [h[n].shape[0] * 2];
    });
    await expectRefused(wrongShape, /bytes of data, its shape \[\d+\] needs/);
    // A header length past the file, and one past the format's 100 MB limit.
    const file = path.join(tmp, 'hlen', 'checkpoint.safetensors');
    fs.cpSync(src, path.dirname(file), { recursive: true });
    const buf = fs.readFileSync(file);
    buf.writeBigUInt64LE(2n ** 62n, 0);
    fs.writeFileSync(file, buf);
    await expectRefused(path.dirname(file), /truncated or not a safetensors file \(header length 4611686018427387904/);
  });

  it('defect 2: a 6 KB checkpoint claiming sampleShape [20000000] is refused at once, with bounded memory, in the library and `imix embed`', async () => {
    const src = await trained();
    const big = crafted(src, 'big-shape', (_h, m) => void (m.config.sampleShape = [20_000_000]));
    expect(fs.statSync(path.join(big, 'checkpoint.safetensors')).size).toBeLessThan(16_000);
    await expectRefused(big, /checkpoint architecture does not fit this model: its parameters hold \d+ values, this npair model for samples of shape \[20000000\] has more than 160000\d+/);
    // Wide hidden layers or a huge queue recorded in the configuration, through the CLI (which builds the model from it).
    const wide = crafted(src, 'wide', (_h, m) => void (m.config.encoder.hidden = [16_000_000]));
    for (const dir of [big, wide]) {
      const { line, ms, maxRssMB } = loadRunInChild(dir);
      expect(line).toMatch(/checkpoint architecture does not fit/);
      expect(maxRssMB, line).toBeLessThan(300); // the unfixed load took 5 GB
      expect(ms).toBeLessThan(10_000);
    }
    const r = imix(['embed', big, '--data', path.join(ROOT, 'data', 'fashion-mnist'), '--out', path.join(tmp, 'e.npy')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/checkpoint architecture does not fit/);
  });

  it('defect 2: a MoCo checkpoint whose queue is smaller than its configured queueSize is refused before the queue is allocated', async () => {
    const dir = path.join(tmp, 'moco');
    const m = new MoCo({ ...tiny, queueSize: 32 });
    await m.fit(data, { epochs: 1, batchSize: 16, checkpointDir: dir });
    m.dispose();
    for (const K of [2 ** 24, 2 ** 40]) {
      const huge = crafted(dir, `moco-queue-${K}`, (_h, meta) => void (meta.config.queueSize = K));
      const { line, maxRssMB } = loadRunInChild(huge);
      expect(line).toMatch(/queueSize/);
      expect(maxRssMB, line).toBeLessThan(300);
    }
  });
});

describe('writes never follow planted files or symlinks (defect 6)', () => {
  it('save() replaces a symlink at config.json instead of writing through it; a planted temporary is removed, not written to', async () => {
    const dir = path.join(tmp, 'planted');
    fs.mkdirSync(dir);
    const victim = path.join(tmp, 'victim.txt');
    fs.writeFileSync(victim, 'precious');
    fs.symlinkSync(victim, path.join(dir, 'config.json'));
    // The pre-0.2 temporary name pattern (pid and counter), as an attacker would predict it.
    for (let i = 0; i < 4; i++) fs.symlinkSync(victim, path.join(dir, `.checkpoint.safetensors.${process.pid}.${i}.tmp`));
    const m = new NPair(tiny);
    // A config.json makes the folder hold a run, which fit replaces only when told to.
    await expect(m.fit(data, { epochs: 1, batchSize: 16, checkpointDir: dir })).rejects.toThrow(/already holds another run \(config\.json\)/);
    await m.fit(data, { epochs: 1, batchSize: 16, checkpointDir: dir, overwrite: true });
    m.dispose();
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
    expect(fs.lstatSync(path.join(dir, 'config.json')).isSymbolicLink()).toBe(false);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    await new NPair(tiny).load(dir); // and the checkpoint is whole
  });

  it('metrics.jsonl is appended to without following a symlink', () => {
    const dir = path.join(tmp, 'planted-cli');
    const victim = path.join(tmp, 'victim2.txt');
    fs.writeFileSync(victim, 'precious');
    const small = ['--encoder', 'mlp:16', '--projection', '16,8', '--batch', '16', '--limit', '64', '--queue', '32', '--knn-every', '0'];
    expect(imix(['train', ...small, '--epochs', '1', '--out', dir, '--max-steps', '1']).code).toBe(0);
    fs.rmSync(path.join(dir, 'metrics.jsonl'));
    fs.symlinkSync(victim, path.join(dir, 'metrics.jsonl'));
    const r = imix(['train', '--resume', dir, '--epochs', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
    expect(fs.lstatSync(path.join(dir, 'metrics.jsonl')).isSymbolicLink()).toBe(false);
  });
});
