// Hostile data files (issue 11): gzip bombs, headers announcing absurd
// sizes, and megabyte-long cells must end in a short DataError naming the
// file, fast and with bounded memory — never a crash, a hang or gigabytes
// of allocation. Peak memory is measured in a child process
// (process.resourceUsage().maxRSS), for the library and for `imix train`.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError } from '../../lib/errors';
import { loadCsv, loadDataset, parseCsv, parseIdx, readIdx, readNpy } from '../../lib/data';
import { MAX_GZIP_CSV_BYTES, MAX_VALUES } from '../../lib/data/limits';
import { BIN, ensureDist, ROOT } from './cli-helpers';
import { caught } from '../helpers';

const DIST = path.join(ROOT, 'dist', 'lib', 'index.js');
let tmp: string;

/** Peak memory a bomb may cost a child process, in KiB: node and imix take about 60 MB; the bombs inflate to 256 MiB or more. */
const PEAK_LIMIT_KB = 150 * 1024;

beforeAll(() => {
  ensureDist(); // the children run the compiled library (dist/), as the CLI does
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'imix-hostile-data-'));
}, 120_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function write(name: string, bytes: Uint8Array | string): string {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, bytes);
  return f;
}

function idxHeader(type: number, dims: number[]): Buffer {
  const h = Buffer.alloc(4 + 4 * dims.length);
  h[2] = type;
  h[3] = dims.length;
  dims.forEach((d, i) => h.writeUInt32BE(d, 4 + 4 * i));
  return h;
}

/** A .npy file (format 1.0) whose header dict is `dict`, followed by `payload`. */
function npy(dict: string, payload: Uint8Array = new Uint8Array(0)): Buffer {
  let text = dict;
  text += ' '.repeat((64 - ((10 + text.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head);
  head.writeUInt16LE(text.length, 8);
  return Buffer.concat([head, Buffer.from(text, 'latin1'), payload]);
}

let zeros16: Buffer | undefined;
/**
 * A gzip file that inflates to `head` followed by `mib` MiB of zeros, while
 * staying small (~1 KB per MiB): gzip members, one of the header and one
 * per 16 MiB of zeros, concatenated (gzip readers inflate every member).
 */
function gzipBomb(head: Uint8Array, mib: number): Buffer {
  zeros16 ??= zlib.gzipSync(Buffer.alloc(16 * 2 ** 20), { level: 9 });
  return Buffer.concat([zlib.gzipSync(head), ...Array.from({ length: Math.ceil(mib / 16) }, () => zeros16!)]);
}

/** Runs `body` (JS, with `data` the compiled imix data module and `file` the argument) in a child; its error and peak memory. */
function inChild(body: string, file: string, extra = ''): { name: string; message: string; maxRSS: number } {
  const script = `const { data } = require(${JSON.stringify(DIST)});
const file = process.argv[1], extra = process.argv[2];
let out = { name: 'none', message: '' };
try { ${body} } catch (e) { out = { name: e.name, message: e.message }; }
process.stdout.write(JSON.stringify({ ...out, maxRSS: process.resourceUsage().maxRSS }));`;
  const r = spawnSync(process.execPath, ['-e', script, file, extra], { encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { name: string; message: string; maxRSS: number };
}

/** Runs `imix ...args` with a preload that records the process's peak memory (KiB). */
function imixPeak(args: string[]): { code: number | null; stderr: string; maxRSS: number } {
  const preload = write('peak.cjs', `process.on('exit', () => require('fs').writeFileSync(process.env.IMIX_TEST_PEAK_FILE, String(process.resourceUsage().maxRSS)));`);
  const peakFile = path.join(tmp, `peak-${process.hrtime.bigint()}.txt`);
  const r = spawnSync(process.execPath, ['--require', preload, BIN, ...args], {
    cwd: tmp,
    env: { ...process.env, IMIX_DEBUG: '', IMIX_TEST_PEAK_FILE: peakFile },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stderr: r.stderr, maxRSS: Number(fs.readFileSync(peakFile, 'utf8')) };
}

// ---------------------------------------------------------------------------
describe('a gzip IDX bomb (header 10×28×28, 256 MiB of zeros after it)', () => {
  const need = 16 + 10 * 28 * 28; // 7856 bytes announced
  const bombMessage = /bomb-idx3-ubyte\.gz: inflates to more than the 7856 bytes its header announces/;
  let bomb: string, labels: string;
  beforeAll(() => {
    bomb = write('bomb-idx3-ubyte.gz', gzipBomb(idxHeader(0x08, [10, 28, 28]), 256));
    labels = write('bomb-labels-idx1-ubyte', Buffer.concat([idxHeader(0x08, [10]), Buffer.alloc(10)]));
    expect(fs.statSync(bomb).size).toBeLessThan(1 << 20);
    expect(need).toBe(7856);
  });

  it('is a DataError naming the file from every loader, fast', () => {
    const t0 = Date.now();
    for (const load of [() => readIdx(bomb), () => loadDataset(bomb, { labels }), () => loadDataset(bomb, { format: 'idx' })]) {
      const e = caught(load);
      expect(e).toBeInstanceOf(DataError);
      expect(e.message).toMatch(bombMessage);
    }
    // Without a telling name the content is sniffed (inflating only its first bytes), then read as IDX.
    const anon = write('bomb.bin', fs.readFileSync(bomb));
    expect(caught(() => loadDataset(anon)).message).toMatch(/bomb\.bin: inflates to more than the 7856 bytes its header announces/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('stays within a small peak memory in the library (child process)', () => {
    const r = inChild('data.loadDataset(file, { labels: extra });', bomb, labels);
    expect(r.name).toBe('DataError');
    expect(r.message).toMatch(bombMessage);
    expect(r.maxRSS).toBeLessThan(PEAK_LIMIT_KB);
  });

  it('`imix train --data bomb --labels ...` exits 1 with one line naming the file, within a small peak memory', () => {
    const r = imixPeak(['train', '--data', bomb, '--labels', labels, '--epochs', '1', '--out', path.join(tmp, 'bomb-run')]);
    expect(r.code, r.stderr).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^imix: error: /);
    expect(lines[0]).toMatch(bombMessage);
    expect(r.maxRSS).toBeLessThan(PEAK_LIMIT_KB);
  });

  it('a file that inflates to less than its header announces, or is cut, is a DataError too', () => {
    const short = write('short-idx3-ubyte.gz', zlib.gzipSync(Buffer.concat([idxHeader(0x08, [10, 28, 28]), Buffer.alloc(100)])));
    expect(caught(() => readIdx(short)).message).toMatch(/short-idx3-ubyte\.gz: truncated IDX data: dims \[10, 28, 28\] need 7856 bytes, file has 116/);
    const cut = write('cut-idx3-ubyte.gz', fs.readFileSync(bomb).subarray(0, 40));
    expect(caught(() => readIdx(cut))).toBeInstanceOf(DataError);
    // A header announcing more than the compressed bytes can possibly hold fails before inflating.
    const tiny = write('tiny-idx3-ubyte.gz', zlib.gzipSync(idxHeader(0x08, [100000, 28, 28])));
    expect(caught(() => readIdx(tiny)).message).toMatch(/tiny-idx3-ubyte\.gz: its header announces 78400016 bytes, more than \d+ bytes of gzip can inflate to/);
    // The good ones still load.
    const good = write('good-idx3-ubyte.gz', zlib.gzipSync(Buffer.concat([idxHeader(0x08, [10, 28, 28]), Buffer.alloc(7840, 7)])));
    const a = readIdx(good);
    expect(a.dims).toEqual([10, 28, 28]);
    expect(a.data.length).toBe(7840);
    expect(a.data[7839]).toBe(7);
  });
});

// ---------------------------------------------------------------------------
describe('IDX and NPY headers announcing huge or overflowing sizes', () => {
  it('IDX dims whose product passes 2^31 - 1 (or 2^53) fail before any allocation', () => {
    const t0 = Date.now();
    for (const [name, dims] of [
      ['cube-idx3-ubyte', [65536, 65536, 65536]],
      ['deep-idx3-ubyte', Array.from({ length: 40 }, () => 0xffffffff)],
    ] as Array<[string, number[]]>) {
      const f = write(name, Buffer.concat([idxHeader(0x08, dims), Buffer.alloc(16)]));
      const e = caught(() => readIdx(f));
      expect(e).toBeInstanceOf(DataError);
      expect(e.message).toMatch(new RegExp(`${name}: IDX dims \\[.*\\] hold more than ${MAX_VALUES} values`));
      expect(e.message.length).toBeLessThan(300);
      expect(() => loadDataset(f)).toThrow(DataError);
      // Compressed: the same, from the inflated header.
      expect(caught(() => readIdx(write(`${name}.gz`, zlib.gzipSync(fs.readFileSync(f))))).message).toMatch(/hold more than/);
      // In memory too.
      expect(() => parseIdx(fs.readFileSync(f), name)).toThrow(/hold more than/);
    }
    // Within the cap but not the file's size: the size mismatch, without reading (or allocating) 1.6 GB.
    const big = write('big-idx2-ubyte', Buffer.concat([idxHeader(0x08, [40000, 40000]), Buffer.alloc(4)]));
    expect(caught(() => readIdx(big)).message).toMatch(/big-idx2-ubyte: truncated IDX data: dims \[40000, 40000\] need 1600000012 bytes, file has 16/);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('a .npy shape of [2^40] rows, or one whose product overflows, fails fast with a DataError', () => {
    const t0 = Date.now();
    const cases: Array<[string, string, RegExp]> = [
      ['rows.npy', "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }", /rows\.npy: shape \(1099511627776\) holds more than 2147483647 values/],
      ['rows2d.npy', "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 4), }", /holds more than 2147483647 values/],
      ['overflow.npy', "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }", /holds more than 2147483647 values/],
      ['unsafe.npy', "{'descr': '<f4', 'fortran_order': False, 'shape': (18446744073709551616,), }", /malformed \.npy header \(shape entry '18446744073709551616'\)/],
      ['justbig.npy', "{'descr': '<f4', 'fortran_order': False, 'shape': (400000000,), }", /justbig\.npy: truncated \.npy data: shape \(400000000\) of '<f4' needs 1600000000 bytes, the file has 0/],
    ];
    for (const [name, dict, re] of cases) {
      const f = write(name, npy(dict));
      const e = caught(() => readNpy(f));
      expect(e, name).toBeInstanceOf(DataError);
      expect(e.message, name).toMatch(re);
      expect(e.message.length, name).toBeLessThan(300);
      expect(() => loadDataset(f), name).toThrow(DataError);
    }
    // A version 2.0 header announcing a 4 GiB header.
    const v2 = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 0xff, 0xff, 0xff, 0xff, 0x7b]);
    expect(caught(() => readNpy(write('hlen.npy', v2))).message).toMatch(/hlen\.npy: \.npy header of 4294967295 bytes, more than the 65536 imix reads/);
    // A header at the cap built to make a backtracking parser rescan it from every key: still fast.
    const keys = ("{'descr': '<f4', 'fortran_order': False, " + "'shape': (".repeat(8000)).slice(0, 65000) + '}';
    expect(caught(() => readNpy(write('keys.npy', npy(keys)))).message).toMatch(/keys\.npy: malformed \.npy header \(no 'shape'\)/);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('a [2^40]-row .npy header costs a child process no memory to refuse', () => {
    const f = write('rows-child.npy', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }"));
    const r = inChild('data.loadDataset(file);', f);
    expect(r.name).toBe('DataError');
    expect(r.message).toMatch(/holds more than 2147483647 values/);
    expect(r.maxRSS).toBeLessThan(PEAK_LIMIT_KB);
  });

  it('a gzip .npy bomb stops at the size its header announces', () => {
    const head = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (10, 4), }");
    const f = write('bomb.npy.gz', gzipBomb(head, 256));
    const e = caught(() => readNpy(f));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toMatch(new RegExp(`bomb\\.npy\\.gz: inflates to more than the ${head.length + 160} bytes its header announces`));
    const r = inChild('data.loadDataset(file);', f);
    expect(r.message).toMatch(/inflates to more than/);
    expect(r.maxRSS).toBeLessThan(PEAK_LIMIT_KB);
    // And a good .npy.gz reads.
    const payload = Buffer.alloc(160);
    for (let i = 0; i < 40; i++) payload.writeFloatLE(i / 2, 4 * i);
    const good = readNpy(write('good.npy.gz', zlib.gzipSync(Buffer.concat([head, payload]))));
    expect(good.shape).toEqual([10, 4]);
    expect(good.data[39]).toBe(19.5);
  });
});

// ---------------------------------------------------------------------------
describe('CSV: long cells, many fields, many cells, gzip bombs', () => {
  const MB5 = 5 * 2 ** 20;

  it('a 5 MB cell is quoted as a short prefix with its length, naming the line and the column', () => {
    const cell = 'x'.repeat(MB5);
    const f = write('big.csv', `a,b\n1,2\n3,${cell}\n`);
    const e = caught(() => loadCsv(f));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message.length).toBeLessThan(300);
    expect(e.message).toMatch(/big\.csv:3: column 1 \("b"\): "x{40}…" \(5242880 characters\) is not a number/);
    expect(e.message).not.toContain('\n');
    // The same through loadDataset and through the CLI (one line, short).
    expect(caught(() => loadDataset(f)).message.length).toBeLessThan(300);
    const r = imixPeak(['train', '--data', f, '--epochs', '1', '--out', path.join(tmp, 'csv-run')]);
    expect(r.code, r.stderr).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.length).toBeLessThan(300 + f.length);
    expect(lines[0]).toMatch(/big\.csv:3: column 1 \("b"\): "x{40}…" \(5242880 characters\) is not a number/);
  });

  it('long header names, categories and classes are cut in every message', () => {
    const name = 'n'.repeat(MB5), value = 'v'.repeat(MB5);
    const short = (fn: () => unknown, re: RegExp) => {
      const e = caught(fn);
      expect(e.message.length, e.message.slice(0, 300)).toBeLessThan(300);
      expect(e.message).toMatch(re);
    };
    // A column name in a message about another cell.
    short(() => parseCsv(`a,${name}\n1,2\n3,abc\n`, { source: 'h.csv' }), /h\.csv:3: column 1 \("n{40}…" \(5242880 characters\)\): "abc" is not a number/);
    // The list of columns when the label column is not there.
    short(() => parseCsv(`a,${name}\n1,2\n`, { source: 'h.csv', label: 'zz' }), /h\.csv: label: no column "zz" \(columns: a, n{40}… \(5242880 characters\)\)/);
    // A label column named by a long option value.
    short(() => parseCsv(`a,b\n1,2\n`, { source: 'h.csv', label: name }), /no column "n{40}…" \(5242880 characters\)/);
    // A category the schema does not know, and the known ones.
    const { schema } = parseCsv(`c,x\n${value},1\nred,2\n`, { categorical: ['c'] });
    short(() => parseCsv(`c,x\n${value}w,1\n`, { schema, source: 't.csv' }), /t\.csv:2: column 0 \("c"\): category "v{40}…" \(5242881 characters\) does not occur in the training file \(known: red, v{40}… \(5242880 characters\)\)/);
    // A class the schema does not know.
    const { schema: s2 } = parseCsv(`x,y\n1,cat\n2,dog\n`, { label: 'y' });
    short(() => parseCsv(`x,y\n1,${value}\n`, { schema: s2, source: 't.csv' }), /class "v{40}…" \(5242880 characters\) \(row 0\) does not occur/);
    // A header that does not match the schema's.
    short(() => parseCsv(`${name},y\n1,cat\n`, { schema: s2, source: 't.csv' }), /column 0 is "n{40}…" \(5242880 characters\), expected "x"/);
    // A number too long for float32, and control characters, stay on one line.
    short(() => parseCsv(`a\n1\n1${'0'.repeat(MB5)}\n`, { source: 'n.csv' }), /n\.csv:3: column 0 \("a"\): 10{39}… \(5242881 characters\) does not fit a float32/);
    const e = caught(() => parseCsv(`a\n1\n"x\ny"\n`, { source: 'c.csv' }));
    expect(e.message).toMatch(/"x\\ny" is not a number/);
    expect(e.message).not.toContain('\n');
  });

  it('a field longer than 16 MiB, or a record of more than 2^20 fields, is a DataError, not a crash', () => {
    const huge = 'y'.repeat(2 ** 24 + 10);
    // The bound holds while the field is read (csv-parse's partial record, checked every 64 KiB): an
    // unclosed field that runs to the end of the file is refused for its length, not read whole.
    const f = write('field.csv', `a,b\n1,"${huge}`);
    expect(caught(() => loadCsv(f)).message).toMatch(/field\.csv:2: column 1: a field of more than 16777216 bytes \(16 MiB, the most imix reads\)/);
    expect(caught(() => parseCsv(`a,b\n1,${huge}\n`, { source: 'mem.csv' })).message).toMatch(/mem\.csv:2: column 1: a field of more than 16777216 bytes/);
    // Counted in UTF-8 bytes: 2^23 + 8 two-byte characters are too long.
    expect(caught(() => parseCsv(`a,b\n1,"${'é'.repeat(2 ** 23 + 8)}"\n`, { source: 'utf.csv' })).message).toMatch(/utf\.csv:2: column 1: a field of (more than )?1677\d+ bytes/);
    const wide = write('wide.csv', ','.repeat(2 ** 20) + '\n');
    expect(caught(() => loadCsv(wide)).message).toMatch(/wide\.csv:1: more than 1048576 fields in one record/);
    // A record of exactly 2^20 fields reads (bounds are "more than").
    expect(parseCsv('0,'.repeat(2 ** 20 - 1) + '0\n' + '1,'.repeat(2 ** 20 - 1) + '1\n', { header: false }).dataset.sampleShape).toEqual([2 ** 20]);
  });

  it('rows × one-hot features beyond 2^31 - 1 values fail before the table is allocated', () => {
    // 50,000 rows with a distinct category each: 50,000 one-hot features, 2.5e9 values.
    const rows = Array.from({ length: 50_000 }, (_, i) => `id${i},${i % 7}`);
    const f = write('ids.csv', `id,x\n${rows.join('\n')}\n`);
    const t0 = Date.now();
    const e = caught(() => loadCsv(f, { categorical: ['id'] }));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toMatch(/ids\.csv: 50000 rows of 50001 features are 2500050000 values, more than the 2147483647 \(2\^31 - 1\) imix reads from one file; column 0 \("id"\) alone has 50000 categories/);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('a gzip CSV bomb stops at the documented bound (256 MiB), within bounded memory', () => {
    const f = write('bomb.csv.gz', gzipBomb(Buffer.from('a,b\n1,2\n'), 512));
    expect(MAX_GZIP_CSV_BYTES).toBe(256 * 2 ** 20);
    const r = inChild('data.loadDataset(file);', f);
    expect(r.name).toBe('DataError');
    expect(r.message).toMatch(/bomb\.csv\.gz: inflates to more than 268435456 bytes \(256 MiB\), the most imix inflates a gzip CSV to; decompress it first/);
    // Bounded by the cap (plus node and imix), not by the 512 MiB the file inflates to.
    expect(r.maxRSS).toBeLessThan(PEAK_LIMIT_KB + 256 * 1024);
  });
});

describe('a silently wrong number', () => {
  it('a categorical column whose every cell is missing adds no feature and never writes into its neighbours', () => {
    for (const missing of ['mean', 'zero'] as const) {
      const { dataset } = parseCsv('a,b,c\nNA,1,2\nNA,3,4\n', { categorical: ['a'], missing });
      expect(Array.from(dataset.x), missing).toEqual([1, 2, 3, 4]);
      expect(dataset.sampleShape).toEqual([2]);
    }
  });
});
