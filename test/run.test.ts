// Issue 15: test splits in the library (a stratified, seeded trainTestSplit), runs from code
// (loadRun against `imix embed`), fit's checkpointDir guard, MoCo's queue on small tables,
// and one epoch numbering in events, the CLI and metrics.jsonl.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArgumentError, DataError, Generator, MoCo, NPair, ValueError, data, loadRun } from '../lib/index';
import { ensureDist, imix } from './hostile/cli-helpers';

let tmp: string;
beforeAll(() => {
  ensureDist();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'imix-run-'));
}, 120_000);
afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const CLASSES = ['Rad.Flow', 'High', 'Bypass', 'Fpv.Close', 'Fpv.Open'];
/** Class frequencies of the table: imbalanced, as mlbench's Shuttle (80% one class). */
const FREQ = [0.6, 0.2, 0.1, 0.06, 0.04];

/**
 * An mlbench-like table (Shuttle's layout, smaller): nine numeric columns V1..V9 of integer
 * readings, a categorical `sensor`, and an imbalanced string label `Class`; each class
 * shifts two of the columns. Deterministic (an LCG from `seed`).
 */
function shuttleLike(file: string, rows: number, seed = 11): { classes: number[] } {
  let s = seed;
  const r = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 8) / 2 ** 24;
  const header = ['V1', 'V2', 'V3', 'V4', 'V5', 'V6', 'V7', 'V8', 'V9', 'sensor', 'Class'];
  const lines = [header.join(',')];
  const classes: number[] = [];
  for (let i = 0; i < rows; i++) {
    let c = 0;
    for (let u = r(), acc = FREQ[0]!; u > acc && c < FREQ.length - 1; ) acc += FREQ[++c]!;
    classes.push(c);
    const v = Array.from({ length: 9 }, (_, j) => Math.round(40 * r() + (j === c || j === c + 4 ? 30 : 0)));
    lines.push([...v, ['a', 'b', 'c'][Math.floor(3 * r())], CLASSES[c]].join(','));
  }
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return { classes };
}

/** The rows of a CSV file as arrays of its cells (no quoting in these files). */
function csvRows(file: string): string[][] {
  return fs.readFileSync(file, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
}

function readNpy(file: string): { shape: number[]; data: Float32Array } {
  const a = data.readNpy(file);
  return { shape: a.shape, data: a.data as Float32Array };
}

describe('trainTestSplit: stratified by the labels, seeded', () => {
  /** n rows with labels drawn from `counts` (class c has counts[c] rows), interleaved. */
  function labelled(counts: number[]): data.Dataset {
    const labels: number[] = [];
    for (let c = 0; c < counts.length; c++) for (let k = 0; k < counts[c]!; k++) labels.push(c);
    // Interleave deterministically so that classes are spread over the file.
    const order = new Generator(99).permutation(labels.length);
    const l = Int32Array.from(order, (i) => labels[i]!);
    return data.fromArray(Float32Array.from({ length: l.length }, (_, i) => i), [1], { labels: l });
  }

  it('each class gives floor(n_c·nTest/n) test rows plus one for the largest remainders; rows keep the file order', () => {
    const ds = labelled([50, 30, 13, 5, 2]); // n = 100
    const { train, test } = data.trainTestSplit(ds, 0.25, 4);
    expect(test.n).toBe(25);
    expect(train.n).toBe(75);
    const per = (d: data.Dataset) => Array.from({ length: 5 }, (_, c) => d.labels!.filter((l) => l === c).length);
    // Shares 12.5, 7.5, 3.25, 1.25, 0.5: floors 12, 7, 3, 1, 0 (23), the two rows left go to the
    // largest remainders 0.5 (classes 0, 1, 4: ties by class index → 0 and 1).
    expect(per(test)).toEqual([13, 8, 3, 1, 0]);
    expect(per(train)).toEqual([37, 22, 10, 4, 2]);
    // A plain reference: the test rows are, per class, the first of its rows in the permutation (seed, 0).
    const perm = new Generator(4).permutation(100);
    const want = [13, 8, 3, 1, 0];
    const ref: number[] = [];
    for (const i of perm) if (want[ds.labels![i]!]! > 0) want[ds.labels![i]!]!--, ref.push(i);
    expect(Array.from(test.x)).toEqual(ref.sort((a, b) => a - b)); // x holds the row index
    expect(Array.from(train.x).every((v, k, a) => k === 0 || v > a[k - 1]!)).toBe(true);
    expect(new Set([...train.x, ...test.x]).size).toBe(100);
  });

  it('the same seed gives the same split, another seed another one (same counts)', () => {
    const ds = labelled([40, 40, 20]);
    const a = data.trainTestSplit(ds, 0.3, 1), b = data.trainTestSplit(ds, 0.3, 1), c = data.trainTestSplit(ds, 0.3, 2);
    expect(Array.from(a.test.x)).toEqual(Array.from(b.test.x));
    expect(Array.from(c.test.x)).not.toEqual(Array.from(a.test.x));
    const counts = (d: data.Dataset) => [0, 1, 2].map((k) => d.labels!.filter((l) => l === k).length);
    expect(counts(a.test)).toEqual([12, 12, 6]);
    expect(counts(c.test)).toEqual([12, 12, 6]);
  });

  it('without labels (or stratify: false) the test rows are the first nTest of the permutation', () => {
    const ds = data.fromArray(Float32Array.from({ length: 50 }, (_, i) => i), [1]);
    const { test } = data.trainTestSplit(ds, 0.2, 7);
    const perm = new Generator(7).permutation(50);
    expect(Array.from(test.x)).toEqual(Array.from(perm.slice(0, 10)).sort((a, b) => a - b));
    const lab = labelled([45, 5]);
    const plain = data.trainTestSplit(lab, 0.2, 7, { stratify: false });
    expect(Array.from(plain.test.x)).toEqual(Array.from(new Generator(7).permutation(50).slice(0, 10)).map((i) => lab.x[i]!).sort((a, b) => a - b));
    expect(() => data.trainTestSplit(ds, 0.2, 7, { stratify: true })).toThrow(/stratify: the dataset has no labels/);
    expect(() => data.trainTestSplit(ds, 0.2, 7, { stratfy: true } as never)).toThrow(ArgumentError);
  });
});

describe('MoCo on small tables: a queue that reaches the batch’s own keys is refused', () => {
  const rows = (n: number) => data.fromArray(Float32Array.from({ length: n * 4 }, (_, i) => Math.sin(i * 0.3)), [4]);
  const tiny = { encoder: { kind: 'mlp' as const, hidden: [8] }, projection: [8, 4] as [number, number], seed: 1 };

  it('K ≥ rows − batch is a ValueError naming queueSize with the largest queue that fits', async () => {
    const m = new MoCo({ ...tiny, queueSize: 48 });
    const e = await m.fit(rows(64), { epochs: 1, batchSize: 16 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ValueError);
    expect((e as Error).message).toBe(
      "queueSize: a queue of 48 keys on 64 rows reaches the batch's own keys of the previous epoch (it must be shorter than the rows minus a batch, 64 - 16 = 48); use queueSize=47 or less",
    );
    expect(m.step).toBe(0); // refused before the first step
    m.dispose();
    // One key fewer trains.
    const ok = new MoCo({ ...tiny, queueSize: 47 });
    await ok.fit(rows(64), { epochs: 1, batchSize: 16 });
    expect(ok.step).toBe(4);
    ok.dispose();
  });

  it('when no queue can both hold a batch and stay below rows − batch, the message says to use a smaller batch', async () => {
    const m = new MoCo({ ...tiny, queueSize: 32 });
    await expect(m.fit(rows(64), { epochs: 1, batchSize: 32 })).rejects.toThrow(
      /^queueSize: a queue of 32 keys on 64 rows .*, and no queue both holds a batch of 32 and stays below that; use batchSize=31 or less .*method without a queue \(npair, byol\)$/,
    );
    m.dispose();
  });
});

describe('fit with checkpointDir refuses another run unless overwrite', () => {
  const ds = data.fromArray(Float32Array.from({ length: 64 * 6 }, (_, i) => Math.cos(i * 0.7)), [6]);
  const tiny = { encoder: { kind: 'mlp' as const, hidden: [8] }, projection: [8, 4] as [number, number], seed: 1 };

  it("a fresh model is refused a folder holding another run's checkpoint; overwrite: true replaces it; its own run goes on", async () => {
    const dir = path.join(tmp, 'guard');
    const a = new NPair(tiny);
    await a.fit(ds, { epochs: 1, batchSize: 16, checkpointDir: dir });
    const before = fs.readFileSync(path.join(dir, 'checkpoint.safetensors'));
    const b = new NPair({ ...tiny, seed: 2 });
    const e = await b.fit(ds, { epochs: 1, batchSize: 16, checkpointDir: dir }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ArgumentError);
    expect((e as Error).message).toMatch(/^checkpointDir: .*guard already holds another run \(checkpoint\.safetensors, config\.json\); load it first to continue it .*pass overwrite: true to replace it, or choose another checkpointDir$/);
    expect(b.step).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'checkpoint.safetensors')).equals(before)).toBe(true); // untouched
    // The model that wrote it continues (a second fit), as does one that loaded it (through another spelling of the path).
    await a.fit(ds, { epochs: 2, batchSize: 16, checkpointDir: dir });
    const c = await new NPair(tiny).load(dir);
    await c.fit(ds, { epochs: 3, batchSize: 16, checkpointDir: path.join(dir, '..', 'guard') + path.sep });
    expect(c.epoch).toBe(3);
    // overwrite: true replaces it.
    await b.fit(ds, { epochs: 1, batchSize: 16, checkpointDir: dir, overwrite: true });
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'))).toMatchObject({ seed: 2, epoch: 1 });
    await expect(b.fit(ds, { epochs: 2, batchSize: 16, overwrite: 'yes' as never })).rejects.toThrow(/^overwrite: expected a boolean/);
    for (const m of [a, b, c]) m.dispose();
  });

  it('a CLI run stopped before its first checkpoint (run.json, metrics.jsonl) is another run too, as `imix train --out` says', async () => {
    const dir = path.join(tmp, 'guard-cli');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'metrics.jsonl'), '');
    const m = new NPair(tiny);
    await expect(m.fit(ds, { epochs: 1, batchSize: 16, checkpointDir: dir })).rejects.toThrow(/already holds another run \(metrics\.jsonl\)/);
    // An empty folder, or one with other files, is not a run.
    const free = path.join(tmp, 'guard-free');
    fs.mkdirSync(free);
    fs.writeFileSync(path.join(free, 'notes.txt'), 'mine');
    await m.fit(ds, { epochs: 1, batchSize: 16, checkpointDir: free });
    expect(fs.existsSync(path.join(free, 'checkpoint.safetensors'))).toBe(true);
    m.dispose();
  });
});

describe('epochs are counted from 1 in events, as the CLI prints them and metrics.jsonl records them', () => {
  it('step events carry the epoch they belong to, epoch events the epoch just finished (= model.epoch)', async () => {
    const ds = data.fromArray(Float32Array.from({ length: 48 * 4 }, (_, i) => Math.sin(i)), [4]);
    const m = new NPair({ encoder: { kind: 'mlp', hidden: [8] }, projection: [8, 4], seed: 1 });
    const steps: Array<[number, number]> = [], epochs: Array<[number, number]> = [];
    await m.fit(ds, {
      epochs: 2,
      batchSize: 16,
      onStep: (e) => steps.push([e.step, e.epoch]),
      onEpoch: (e) => epochs.push([e.epoch, m.epoch]),
    });
    expect(steps).toEqual([[1, 1], [2, 1], [3, 1], [4, 2], [5, 2], [6, 2]]);
    expect(epochs).toEqual([[1, 1], [2, 2]]);
    m.dispose();
  });
});

describe('loadRun: a CLI run folder from code', () => {
  let csv: string, run: string;
  const tiny = ['--encoder', 'mlp:16', '--projection', '16,8', '--batch', '40', '--queue', '80', '--epochs', '2', '--seed', '3', '--quiet'];

  beforeAll(() => {
    csv = path.join(tmp, 'shuttle.csv');
    shuttleLike(csv, 300);
    run = path.join(tmp, 'run-holdout');
    const r = imix(['train', '--data', csv, '--label-column', 'Class', '--categorical', 'sensor', '--holdout', '0.2', ...tiny, '--out', run]);
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);

  it("embeds raw CSV rows (arrays with or without the label, objects) exactly as `imix embed` writes them", async () => {
    const all = path.join(tmp, 'all.npy');
    const e = imix(['embed', run, '--data', csv, '--out', all, '--quiet']);
    expect(e.code, e.stderr).toBe(0);
    const want = readNpy(all);
    const r = await loadRun(run);
    try {
      expect(r.features).toBe(16);
      expect(r.sampleShape).toEqual([12]); // 9 numeric + 3 one-hot sensor columns
      expect(r.csvSchema?.columns).toContain('Class');
      expect(r.standardizer).not.toBeNull();
      expect(r.method.epoch).toBe(2);
      const rows = csvRows(csv);
      expect(want.shape).toEqual([rows.length, 16]);
      expect(Array.from(r.embed(rows))).toEqual(Array.from(want.data));
      // Without the label column, and as objects keyed by column (numbers as numbers).
      const noLabel = rows.map((c) => c.slice(0, -1));
      expect(Array.from(r.embed(noLabel))).toEqual(Array.from(want.data));
      const header = fs.readFileSync(csv, 'utf8').split('\n')[0]!.split(',');
      const objects = rows.slice(0, 7).map((c) => Object.fromEntries(c.map((v, j) => [header[j]!, j < 9 ? Number(v) : v])));
      expect(Array.from(r.embed(objects))).toEqual(Array.from(want.data.subarray(0, 7 * 16)));
      // Encoded features (a Dataset or a Float32Array, as data.loadDataset reads the file) take the same path from there.
      const ds = data.loadDataset(csv, { schema: r.csvSchema! });
      expect(Array.from(r.embed(ds))).toEqual(Array.from(want.data));
      expect(Array.from(r.embed(ds.x.subarray(0, 3 * 12)))).toEqual(Array.from(want.data.subarray(0, 3 * 16)));
      // encode: the model's input rows (standardized with the run's standardizer.json).
      const saved = JSON.parse(fs.readFileSync(path.join(run, 'standardizer.json'), 'utf8'));
      const x = r.encode([rows[0]!]).x;
      for (let j = 0; j < 12; j++) expect(x[j]).toBe(Math.fround((ds.x[j]! - Math.fround(saved.mean[j])) / Math.fround(saved.std[j])));
    } finally {
      r.dispose();
    }
  });

  it("the test split of a --holdout run is data.trainTestSplit's with the run's seed: `embed --split test` equals loadRun on those rows", async () => {
    const out = path.join(tmp, 'test.npy');
    const e = imix(['embed', run, '--split', 'test', '--out', out, '--quiet']);
    expect(e.code, e.stderr).toBe(0);
    const r = await loadRun(run);
    try {
      const ds = data.loadDataset(csv, { schema: r.csvSchema! });
      const { test } = data.trainTestSplit(ds, 0.2, 3);
      expect(test.n).toBe(60);
      const got = readNpy(out);
      expect(got.shape).toEqual([60, 16]);
      expect(Array.from(r.embed(test))).toEqual(Array.from(got.data));
    } finally {
      r.dispose();
    }
  });

  it('bad rows are errors naming the row and the column', async () => {
    const r = await loadRun(run);
    try {
      const rows = csvRows(csv).slice(0, 3);
      expect(() => r.embed([{ V1: 1, V2: 2, Sensor: 'a' }])).toThrow(/^rows\[0\]: no column "Sensor" in the run's CSV schema; did you mean "sensor"\?/);
      expect(() => r.embed([rows[0]!.slice(0, 5)])).toThrow(/^rows\[0\]: 5 cells, the run's CSV schema has 11 columns \(10 without the label column "Class"\)/);
      expect(() => r.embed([rows[0]!, rows[1]!.slice(0, -1)])).toThrow(/^rows\[1\]: 10 cells, rows\[0\] has 11$/);
      const purple = rows.map((c, i) => (i === 2 ? c.map((v, j) => (j === 9 ? 'purple' : v)) : c));
      expect(() => r.embed(purple)).toThrow(DataError);
      expect(() => r.embed(purple)).toThrow(/^rows\[2\]: column 9 \("sensor"\): category "purple" does not occur in the training file/);
      expect(r.embed(purple, { unknownCategory: 'ignore' })).toHaveLength(3 * 16);
      const missing = rows.map((c, i) => (i === 1 ? c.map((v, j) => (j === 3 ? '' : v)) : c));
      expect(() => r.embed(missing)).toThrow(/^rows: 1 missing cells: column 3 \("V4"\): 1 missing \(rows 1\)\. The run's csv-schema\.json fills none/);
      expect(() => r.embed([[1, 2, 3]] as never, { batchSize: 0 })).toThrow(/3 cells/);
      expect(() => r.embed(new Float32Array(13))).toThrow(/13 values are not rows of 12 features/);
      expect(() => r.embed([], {})).not.toThrow();
    } finally {
      r.dispose();
    }
  });

  it('a missing or damaged run is a DataError naming the file', async () => {
    await expect(loadRun(path.join(tmp, 'nope'))).rejects.toThrow(/nope: no such run folder/);
    const bad = path.join(tmp, 'run-damaged');
    fs.cpSync(run, bad, { recursive: true });
    fs.writeFileSync(path.join(bad, 'standardizer.json'), '{"format":"imix-standardizer/1","features":12,"mean":[],"std":[]}');
    const e = await loadRun(bad).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DataError);
    expect((e as Error).message).toMatch(/standardizer\.json: damaged: 'mean' should be 12 values \('features'\)/);
    fs.rmSync(path.join(bad, 'standardizer.json'));
    await expect(loadRun(bad)).rejects.toThrow(/standardizer\.json: missing \(run\.json says the run standardizes its input\)/);
    await expect(loadRun(run, { devise: 'cpu' } as never)).rejects.toThrow(/^devise: unknown option/);
  });

  it('a run trained from code (no run.json, no CSV) embeds Float32Array features and number rows', async () => {
    const dir = path.join(tmp, 'run-code');
    const ds = data.fromArray(Float32Array.from({ length: 64 * 5 }, (_, i) => Math.sin(i * 0.2)), [5]);
    const m = new NPair({ encoder: { kind: 'mlp', hidden: [8] }, projection: [8, 4], seed: 5 });
    await m.fit(ds, { epochs: 1, batchSize: 16, checkpointDir: dir });
    const want = m.embed(ds);
    m.dispose();
    const r = await loadRun(dir);
    try {
      expect(r.standardizer).toBeNull();
      expect(r.csvSchema).toBeNull();
      expect(Array.from(r.embed(ds.x))).toEqual(Array.from(want));
      expect(Array.from(r.embed([Array.from(ds.x.subarray(0, 5))]))).toEqual(Array.from(want.subarray(0, 8)));
      expect(() => r.embed([[1, 2]])).toThrow(/rows\[0\]: expected an array of 5 numbers/);
    } finally {
      r.dispose();
    }
  });
});
