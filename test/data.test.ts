import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ArgumentError, DataError, ShapeError } from '../lib/errors';
import { Standardizer, checkDataset, fashionMnist, fromArray, subset } from '../lib/data/dataset';
import { parseIdx, readIdx } from '../lib/data/idx';
import { loadSafetensors, saveSafetensors } from '../lib/io/safetensors';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'imix-test-'));

function idx(type: number, dims: number[], body: Uint8Array): Uint8Array {
  const h = new Uint8Array(4 + 4 * dims.length);
  h[2] = type;
  h[3] = dims.length;
  const v = new DataView(h.buffer);
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  return Buffer.concat([h, body]);
}

describe('IDX', () => {
  it('loads the bundled Fashion-MNIST subset', () => {
    const tr = fashionMnist('train');
    expect(tr.n).toBe(10000);
    expect(tr.sampleShape).toEqual([1, 28, 28]);
    expect(tr.numClasses).toBe(10);
    let lo = Infinity, hi = -Infinity;
    for (const v of tr.x) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    expect(lo).toBe(0);
    expect(hi).toBe(1);
    const te = fashionMnist('test');
    expect(te.n).toBe(2000);
  });

  it('parses big-endian types and rejects malformed files', () => {
    const body = new Uint8Array(8);
    new DataView(body.buffer).setInt32(0, -5, false);
    new DataView(body.buffer).setInt32(4, 70000, false);
    expect(Array.from(parseIdx(idx(0x0c, [2], body), 'x').data)).toEqual([-5, 70000]);
    expect(() => parseIdx(new Uint8Array([1, 2, 8, 1]), 'f')).toThrow(/f: not an IDX file/);
    expect(() => parseIdx(idx(0x08, [10], new Uint8Array(9)), 'f')).toThrow(/truncated IDX data/);
    expect(() => parseIdx(idx(0x07, [1], new Uint8Array(1)), 'f')).toThrow(/unknown IDX element type/);
    expect(() => parseIdx(idx(0x08, [2], new Uint8Array(3)), 'f')).toThrow(/unexpected bytes/);
    const d = tmp();
    const gz = path.join(d, 'a.gz');
    fs.writeFileSync(gz, zlib.gzipSync(idx(0x08, [3], new Uint8Array([1, 2, 3]))).subarray(0, 15));
    expect(() => readIdx(gz)).toThrow(DataError);
    expect(() => readIdx(path.join(d, 'missing'))).toThrow(/cannot read \(ENOENT\)/);
  });
});

describe('Standardizer', () => {
  it('fits on one split and maps it to zero mean, unit variance', () => {
    const ds = fromArray(Float32Array.from([1, 10, 3, 10, 5, 10]), [2]);
    const s = Standardizer.fit(ds);
    const out = s.apply(ds.x);
    expect(out[0]).toBeCloseTo(-Math.sqrt(1.5), 5);
    expect(out[2]).toBeCloseTo(0, 6);
    expect(out[1]).toBe(0); // constant feature
  });
  it('gives a feature constant in the fitted split scale 1, so other data is not blown up', () => {
    // Column 1 is constant (5) in training; column 2 is constant up to float32 rounding of a large value.
    const big = Math.fround(1e6), bigger = Math.fround(1e6 + 0.0625); // one float32 step apart
    const s = Standardizer.fit(fromArray(Float32Array.from([1, 5, big, 2, 5, bigger, 3, 5, big, 4, 5, big]), [3]));
    expect(s.std[1]).toBe(1);
    expect(s.std[2]).toBe(1);
    expect(s.std[0]).toBeCloseTo(Math.sqrt(1.25), 6);
    // A test row off the training value by 1 stays 1 away, not 1e6.
    const out = s.apply(Float32Array.from([2.5, 6, big + 1]));
    expect(out[0]).toBeCloseTo(0, 6);
    expect(out[1]).toBeCloseTo(1, 6);
    expect(Math.abs(out[2]!)).toBeLessThan(2);
    // Small but genuinely varying values are still standardized (only the scale relative to the values counts).
    const tiny = Standardizer.fit(fromArray(Float32Array.from([1e-9, 2e-9, 3e-9]), [1]));
    expect(tiny.std[0]).toBeCloseTo(Math.sqrt(2 / 3) * 1e-9, 15);
    // An all-zero column too.
    expect(Standardizer.fit(fromArray(new Float32Array(4), [2])).std).toEqual(Float32Array.from([1, 1]));
    // Saved statistics from before (σ = 1e-6 for constant features) still load, as they were.
    expect(Standardizer.from([5], [1e-6]).std[0]).toBe(Math.fround(1e-6));
  });
  it('rejects data that disagrees with its own shape, and no rows', () => {
    expect(() => Standardizer.fit({ x: new Float32Array(5), n: 3, sampleShape: [2] })).toThrow(/ds: 3 rows of \[2\] need 6 values, x has 5/);
    expect(() => Standardizer.fit({ x: new Float32Array(0), n: 0, sampleShape: [2] })).toThrow(/no rows/);
  });
});

describe('Dataset checks', () => {
  const ds = fromArray(new Float32Array(12).map((_, i) => i), [3], { labels: Int32Array.from([0, 1, 2, 1]) });
  it('fromArray rejects non-finite features and labels that are not class indices, naming the first', () => {
    const x = new Float32Array(12).map((_, i) => i);
    x[7] = NaN;
    expect(() => fromArray(x, [3])).toThrow(/x: row 2, feature 1 is NaN; features must be finite/);
    x[7] = 0;
    x[11] = -Infinity;
    expect(() => fromArray(x, [3])).toThrow(DataError);
    x[11] = 0;
    expect(() => fromArray(x, [3], { labels: [0, 1, 0.5, 1] })).toThrow(/labels: entry 2 is 0.5; labels must be class indices/);
    expect(() => fromArray(x, [3], { labels: Int32Array.from([0, -1, 0, 1]) })).toThrow(/labels: entry 1 is -1/);
    expect(() => fromArray(x, [3], { labels: [0, 1, NaN, 1] })).toThrow(DataError);
    expect(() => fromArray(x, [3], { labels: 3 as never })).toThrow(ArgumentError);
    // Plain arrays of class indices become an Int32Array.
    const ok = fromArray(x, [3], { labels: [0, 2, 1, 2] });
    expect(ok.labels).toEqual(Int32Array.from([0, 2, 1, 2]));
    expect(ok.numClasses).toBe(3);
    // A hand-made dataset is checked the same way where it is used (fit, embed, ...).
    expect(() => checkDataset({ ...ok, x: Float32Array.from([...ok.x.slice(0, 11), Infinity]) }, 'train')).toThrow(/train: row 3, feature 2 is Infinity/);
    expect(() => checkDataset({ ...ok, labels: Int32Array.from([0, 0, -2, 0]) }, 'train')).toThrow(/train.labels: entry 2 is -2/);
  });
  it('fromArray rejects non-positive or fractional sample dimensions', () => {
    expect(() => fromArray(new Float32Array(12), [-2, -3])).toThrow(/sampleShape: expected a non-empty list of positive integers/);
    expect(() => fromArray(new Float32Array(12), [])).toThrow(ShapeError);
    expect(() => fromArray(new Float32Array(12), [1.5, 8])).toThrow(ShapeError);
  });
  it('subset takes rows [start, end) inside the dataset and nothing else', () => {
    const s = subset(ds, 1, 3);
    expect(s.n).toBe(2);
    expect([...s.x]).toEqual([3, 4, 5, 6, 7, 8]);
    expect([...s.labels!]).toEqual([1, 2]);
    expect(subset(ds, 4, 4).n).toBe(0);
    expect(() => subset(ds, 0, 5)).toThrow(/end: expected an integer in \[0, 4\], got 5/);
    expect(() => subset(ds, 3, 2)).toThrow(/end/);
    expect(() => subset(ds, -1, 2)).toThrow(/start/);
    expect(() => subset(ds, 0.5, 2)).toThrow(/start/);
  });
  it('checkDataset names the inconsistent field', () => {
    expect(() => checkDataset({ ...ds, n: 5 }, 'train')).toThrow(/train: 5 rows of \[3\] need 15 values, x has 12/);
    expect(() => checkDataset({ ...ds, labels: new Int32Array(2) }, 'train')).toThrow(/train.labels: 2 labels for 4 rows/);
    expect(() => checkDataset({ ...ds, x: [1, 2] as never }, 'train')).toThrow(/train: expected a Dataset/);
    expect(() => checkDataset({ ...ds, n: -1 }, 'train')).toThrow(/train.n/);
    expect(() => checkDataset(ds, 'train')).not.toThrow();
  });
});

describe('safetensors', () => {
  it('round-trips tensors and metadata; damaged files are DataErrors', () => {
    const d = tmp();
    const f = path.join(d, 'ck.safetensors');
    const a = Float32Array.from([1.5, -2, 3]);
    const b = Int32Array.from([7, 8]);
    saveSafetensors(f, { a: { shape: [3], data: a }, b: { shape: [1, 2], data: b } }, { step: '12' });
    const r = loadSafetensors(f);
    expect(Array.from(r.tensors.a!.data)).toEqual([1.5, -2, 3]);
    expect(r.tensors.b!.shape).toEqual([1, 2]);
    expect(r.tensors.b!.data).toBeInstanceOf(Int32Array);
    expect(r.metadata.step).toBe('12');
    const bytes = fs.readFileSync(f);
    expect(Number(bytes.readBigUInt64LE(0)) % 8).toBe(0);
    fs.writeFileSync(f, bytes.subarray(0, bytes.length - 4));
    expect(() => loadSafetensors(f)).toThrow(/truncated/);
    fs.writeFileSync(f, Buffer.from('garbage!garbage!'));
    expect(() => loadSafetensors(f)).toThrow(DataError);
    expect(fs.readdirSync(d)).toEqual(['ck.safetensors']); // no temp files left behind
  });
});

describe('Standardizer.from', () => {
  it('rebuilds a fitted standardizer from its statistics, and rejects bad ones', () => {
    const ds = fromArray(Float32Array.from([1, 10, 3, 12, 5, 17]), [2]);
    const s = Standardizer.fit(ds);
    const t = Standardizer.from(Array.from(s.mean), Array.from(s.std));
    expect(Array.from(t.apply(ds.x))).toEqual(Array.from(s.apply(ds.x)));
    expect(() => Standardizer.from([0, 1], [1])).toThrow(/std/);
    expect(() => Standardizer.from([0], [0])).toThrow(/positive std/);
  });
});
