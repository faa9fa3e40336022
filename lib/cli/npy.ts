/**
 * Writing feature matrices: NPY v1.0 (float32, C order) and CSV, both
 * atomically. `npyBytes` is the one place that knows the NPY format; it can
 * be swapped for the library's writer (lib/data/npy.ts) when that lands.
 * @module
 */
import * as os from 'node:os';
import { writeFileAtomic } from '../io/atomic';

/**
 * NPY v1.0 bytes of a row-major float32 [rows, cols] matrix: the magic
 * `\x93NUMPY`, version 1.0, a little-endian u16 header length, an ASCII
 * Python dict padded with spaces to a 64-byte boundary and ended by '\n',
 * then the data as little-endian float32.
 */
export function npyBytes(values: Float32Array, rows: number, cols: number): Uint8Array[] {
  if (values.length !== rows * cols) throw new Error(`npy: ${values.length} values for [${rows}, ${cols}]`);
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  const pre = 10; // magic (6) + version (2) + header length (2)
  const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  dict = dict.padEnd(total - pre - 1, ' ') + '\n';
  const head = new Uint8Array(pre + dict.length);
  head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]); // \x93NUMPY 1.0
  head[8] = dict.length & 0xff;
  head[9] = dict.length >> 8;
  for (let i = 0; i < dict.length; i++) head[pre + i] = dict.charCodeAt(i);
  let body = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (os.endianness() === 'BE') {
    const le = new Uint8Array(values.byteLength);
    const dv = new DataView(le.buffer);
    values.forEach((v, i) => dv.setFloat32(4 * i, v, true));
    body = le;
  }
  return [head, body];
}

/** Shortest decimal that reads back as the same float32. */
function f32String(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  for (let p = 6; p < 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return String(Number(s));
  }
  return String(Number(v.toPrecision(9)));
}

/** CSV text chunks of a [rows, cols] matrix: one row per line, no header. */
export function csvChunks(values: Float32Array, rows: number, cols: number): string[] {
  const chunks: string[] = [];
  let buf: string[] = [];
  const line = new Array<string>(cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) line[c] = f32String(values[r * cols + c]!);
    buf.push(line.join(',') + '\n');
    if (buf.length === 1024) {
      chunks.push(buf.join(''));
      buf = [];
    }
  }
  if (buf.length) chunks.push(buf.join(''));
  return chunks;
}

/** Writes a [rows, cols] matrix to `file` (.npy or .csv by extension), atomically. */
export function writeMatrix(file: string, values: Float32Array, rows: number, cols: number): 'npy' | 'csv' {
  if (/\.npy$/i.test(file)) {
    writeFileAtomic(file, npyBytes(values, rows, cols));
    return 'npy';
  }
  writeFileAtomic(file, csvChunks(values, rows, cols));
  return 'csv';
}
