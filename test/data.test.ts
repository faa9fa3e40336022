import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DataError } from '../lib/errors';
import { Standardizer, fashionMnist, fromArray } from '../lib/data/dataset';
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
