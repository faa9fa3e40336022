/**
 * NumPy `.npy` files (format versions 1.0, 2.0 and 3.0).
 *
 * Layout: the magic `\x93NUMPY`, a major and a minor version byte, the
 * header length (little-endian u16 in 1.0, u32 in 2.0/3.0), then the header
 * — a Python dict literal `{'descr': '<f4', 'fortran_order': False,
 * 'shape': (3, 4), }` in latin-1 (UTF-8 in 3.0), padded with spaces and a
 * newline — then the raw array data.
 *
 * The reader accepts the numeric dtypes (floats `f2 f4 f8`, signed and
 * unsigned integers of 1, 2, 4 and 8 bytes, bool) in either byte order and
 * converts them to float32 (or, for labels, to int32). It requires C order:
 * a Fortran-ordered array of two or more dimensions is a DataError (save it
 * with `np.ascontiguousarray`). The writer writes float32 or int32, format
 * 1.0, header padded so the data starts at a multiple of 64 bytes, as
 * `numpy.save` does; it writes atomically. Reading is bounded: see
 * lib/data/limits.ts.
 * @module
 */
import { ArgumentError, DataError } from '../errors';
import { writeFileAtomic } from '../io/atomic';
import { type MeasureHeader, clip, countValues, formatDims, readAnnounced } from './limits';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/**
 * The longest header imix reads: 64 KiB, the most format 1.0 can hold
 * (numpy writes a few hundred bytes for the dtypes imix reads, and itself
 * refuses headers over 10,000 bytes unless told otherwise). The bound also
 * keeps the header's regular expressions fast on hostile text.
 */
export const NPY_MAX_HEADER = 2 ** 16;

/** A parsed .npy header. */
export interface NpyHeader {
  /** The dtype string, e.g. `<f4`. */
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  /** Format version `[major, minor]`. */
  version: [number, number];
  /** Byte offset of the data. */
  dataOffset: number;
}

/** An array read from a .npy file, converted to float32 or int32. */
export interface NpyArray<T extends Float32Array | Int32Array = Float32Array> {
  shape: number[];
  /** The file's dtype string, e.g. `<f8`. */
  dtype: string;
  data: T;
}

interface DType {
  kind: 'f' | 'i' | 'u' | 'b';
  size: number;
  little: boolean;
}

function parseDescr(descr: string, source: string): DType {
  const m = /^([<>|=])([fiub])(\d+)$/.exec(descr);
  const bad = () => new DataError(`${source}: unsupported dtype '${clip(descr)}' (imix reads float16/32/64, int8–64, uint8–64 and bool arrays)`);
  if (!m) throw bad();
  const [, order, kind, sz] = m as unknown as [string, string, DType['kind'], string];
  const size = Number(sz);
  const ok = kind === 'f' ? [2, 4, 8].includes(size) : kind === 'b' ? size === 1 : [1, 2, 4, 8].includes(size);
  if (!ok) throw bad();
  // '=' is native order; every platform Node runs imix on is little-endian.
  return { kind, size, little: order !== '>' };
}

/** Parses the Python dict literal of a .npy header (only the three keys numpy writes). */
function parseHeaderDict(text: string, source: string): { descr: string; fortranOrder: boolean; shape: number[] } {
  const bad = (why: string) => new DataError(`${source}: malformed .npy header (${why}): ${clip(text.trim(), 120)}`);
  const t = text.trim();
  if (!t.startsWith('{') || !t.endsWith('}')) throw bad('not a dict');
  const descr = /['"]descr['"]\s*:\s*(['"])([^'"]*)\1/.exec(t);
  if (!descr) {
    if (/['"]descr['"]\s*:\s*\[/.test(t)) throw new DataError(`${source}: structured dtypes are not supported; save a plain numeric array`);
    throw bad("no 'descr'");
  }
  const fo = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(t);
  if (!fo) throw bad("no 'fortran_order'");
  // The key, then the first ')' after it (one scan; a regular expression with [^)]* would rescan from every 'shape' key).
  const key = /['"]shape['"]\s*:\s*\(/.exec(t);
  const close = key ? t.indexOf(')', key.index + key[0].length) : -1;
  if (!key || close < 0) throw bad("no 'shape'");
  const parts = t.slice(key.index + key[0].length, close).split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const shape = parts.map((p) => {
    const v = /^\d+L?$/.test(p) ? Number(p.replace('L', '')) : NaN;
    if (!Number.isSafeInteger(v)) throw bad(`shape entry '${clip(p)}'`);
    return v;
  });
  return { descr: descr[2]!, fortranOrder: fo[1] === 'True', shape };
}

/** Parses the header of .npy bytes. */
export function parseNpyHeader(buf: Uint8Array, source: string): NpyHeader {
  const h = npyHeader(buf, source, true);
  if ('more' in h) throw new DataError(`${source}: truncated .npy header`); // (not reached: final)
  return h;
}

/**
 * The header from the first bytes of a file (`final`: all of it), or how
 * many bytes it needs (at most NPY_MAX_HEADER + 12).
 */
function npyHeader(buf: Uint8Array, source: string, final: boolean): NpyHeader | { more: number } {
  if (buf.length < 10 && !final) return { more: 12 };
  if (buf.length < 10 || MAGIC.some((b, i) => buf[i] !== b)) {
    const head = Array.from(buf.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join('');
    throw new DataError(`${source}: not a .npy file (bad magic ${head || '(empty)'}, expected 934e554d5059 "\\x93NUMPY")`);
  }
  const major = buf[6]!, minor = buf[7]!;
  if (major < 1 || major > 3) throw new DataError(`${source}: unsupported .npy format version ${major}.${minor}`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let hlen: number, start: number;
  if (major === 1) {
    hlen = view.getUint16(8, true);
    start = 10;
  } else {
    if (buf.length < 12) {
      if (!final) return { more: 12 };
      throw new DataError(`${source}: truncated .npy header`);
    }
    hlen = view.getUint32(8, true);
    start = 12;
  }
  if (hlen > NPY_MAX_HEADER) throw new DataError(`${source}: .npy header of ${hlen} bytes, more than the ${NPY_MAX_HEADER} imix reads`);
  if (buf.length < start + hlen) {
    if (!final) return { more: start + hlen };
    throw new DataError(`${source}: truncated .npy header (${hlen} bytes declared, ${buf.length - start} present)`);
  }
  const bytes = buf.subarray(start, start + hlen);
  const text = major === 3 ? Buffer.from(bytes).toString('utf8') : Buffer.from(bytes).toString('latin1');
  const h = parseHeaderDict(text, source);
  return { ...h, version: [major, minor], dataOffset: start + hlen };
}

/**
 * The header's dtype and value count, checked (count at most MAX_VALUES),
 * and the file size they imply.
 */
function layout(h: NpyHeader, source: string): { dt: DType; count: number; need: number } {
  const dt = parseDescr(h.descr, source);
  if (h.fortranOrder && h.shape.filter((d) => d !== 1).length > 1)
    throw new DataError(`${source}: Fortran-ordered (column-major) array of shape ${formatDims(h.shape, '(', ')')}; imix reads C order — save np.ascontiguousarray(a)`);
  const count = countValues(h.shape, source, `shape ${formatDims(h.shape, '(', ')')}`, 'holds');
  return { dt, count, need: h.dataOffset + count * dt.size };
}

function sizeMismatch(h: NpyHeader, count: number, dt: DType, have: number, source: string): DataError {
  const need = h.dataOffset + count * dt.size;
  return have < need
    ? new DataError(`${source}: truncated .npy data: shape ${formatDims(h.shape, '(', ')')} of '${h.descr}' needs ${count * dt.size} bytes, the file has ${Math.max(0, have - h.dataOffset)}`)
    : new DataError(`${source}: ${have - need} unexpected bytes after the .npy data`);
}

/** The size a .npy file announces, for {@link readAnnounced}. */
function measureNpy(source: string): MeasureHeader {
  return (head, final) => {
    const h = npyHeader(head, source, final);
    if ('more' in h) return h;
    const { dt, count, need } = layout(h, source);
    return { total: need, mismatch: (have) => sizeMismatch(h, count, dt, have, source) };
  };
}

/** The bytes of a .npy file (gzip looked through), read only after its header announced their number. */
function readBytes(file: string): Buffer {
  return readAnnounced(file, measureNpy(file));
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** Decodes `count` elements of `dt` at `off` into `out` (float32 or int32). */
function decode(buf: Uint8Array, off: number, count: number, dt: DType, out: Float32Array | Int32Array): void {
  const view = new DataView(buf.buffer, buf.byteOffset + off, count * dt.size);
  const { kind, size, little } = dt;
  // Fast paths: little-endian f4 (aligned copy) and u1.
  if (kind === 'f' && size === 4 && little && out instanceof Float32Array) {
    new Uint8Array(out.buffer, out.byteOffset, count * 4).set(buf.subarray(off, off + count * 4));
    return;
  }
  if ((kind === 'u' || kind === 'b') && size === 1) {
    for (let i = 0; i < count; i++) out[i] = buf[off + i]!;
    return;
  }
  for (let i = 0, o = 0; i < count; i++, o += size) {
    let v: number;
    if (kind === 'f') v = size === 4 ? view.getFloat32(o, little) : size === 8 ? view.getFloat64(o, little) : halfToFloat(view.getUint16(o, little));
    else if (kind === 'i')
      v = size === 1 ? view.getInt8(o) : size === 2 ? view.getInt16(o, little) : size === 4 ? view.getInt32(o, little) : Number(view.getBigInt64(o, little));
    else v = size === 2 ? view.getUint16(o, little) : size === 4 ? view.getUint32(o, little) : Number(view.getBigUint64(o, little));
    out[i] = v;
  }
}

function parse(buf: Uint8Array, source: string): { h: NpyHeader; dt: DType; count: number } {
  const h = parseNpyHeader(buf, source);
  const { dt, count, need } = layout(h, source);
  if (buf.length !== need) throw sizeMismatch(h, count, dt, buf.length, source);
  return { h, dt, count };
}

/** Parses .npy bytes into float32 (`source` names them in errors). */
export function parseNpy(buf: Uint8Array, source = 'npy'): NpyArray {
  const { h, dt, count } = parse(buf, source);
  const data = new Float32Array(count);
  decode(buf, h.dataOffset, count, dt, data);
  if (dt.kind === 'f' && dt.size === 8) {
    for (let i = 0; i < count; i++)
      if (!Number.isFinite(data[i]!) && Number.isFinite(new DataView(buf.buffer, buf.byteOffset + h.dataOffset + 8 * i, 8).getFloat64(0, dt.little)))
        throw new DataError(`${source}: element ${i} does not fit a float32`);
  }
  return { shape: h.shape, dtype: h.descr, data };
}

/**
 * Reads a .npy file as float32, whatever its numeric dtype (gzip-compressed
 * too, told from the content). Errors ({@link DataError}, naming the file):
 * unreadable file, bad magic, unsupported version or dtype, malformed
 * header, Fortran order (2-D and up), truncated data or trailing bytes, a
 * float64 value beyond float32, a shape of more than 2³¹ − 1 values, a gzip
 * file that inflates to more than its header announces. The header is read
 * and checked before the data: nothing is allocated from its numbers alone.
 */
export function readNpy(file: string): NpyArray {
  return parseNpy(readBytes(file), file);
}

/**
 * Reads a .npy file of class labels: a 1-D array of integers (any integer
 * dtype, or floats with integral values), each in [0, 2³¹). Returns int32.
 */
export function readNpyLabels(file: string): NpyArray<Int32Array> {
  const buf = readBytes(file);
  const { h, dt, count } = parse(buf, file);
  if (h.shape.length !== 1) throw new DataError(`${file}: labels must be a 1-D array, got shape (${h.shape.join(', ')})`);
  const wide = new Float64Array(count);
  const view = new DataView(buf.buffer, buf.byteOffset + h.dataOffset, count * dt.size);
  for (let i = 0, o = 0; i < count; i++, o += dt.size) {
    const { kind, size, little } = dt;
    wide[i] =
      kind === 'f' ? (size === 4 ? view.getFloat32(o, little) : size === 8 ? view.getFloat64(o, little) : halfToFloat(view.getUint16(o, little)))
      : kind === 'i' ? (size === 1 ? view.getInt8(o) : size === 2 ? view.getInt16(o, little) : size === 4 ? view.getInt32(o, little) : Number(view.getBigInt64(o, little)))
      : size === 1 ? view.getUint8(o) : size === 2 ? view.getUint16(o, little) : size === 4 ? view.getUint32(o, little) : Number(view.getBigUint64(o, little));
  }
  const data = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const v = wide[i]!;
    if (!(Number.isInteger(v) && v >= 0 && v < 2 ** 31)) throw new DataError(`${file}: label ${i} is ${v}; labels must be integers in [0, 2^31)`);
    data[i] = v;
  }
  return { shape: h.shape, dtype: h.descr, data };
}

/** The bytes of a .npy file (format 1.0; 2.0 only if the header needs it) holding `data` with `shape`. */
export function encodeNpy(data: Float32Array | Int32Array, shape: readonly number[]): Uint8Array[] {
  if (!(data instanceof Float32Array || data instanceof Int32Array)) throw new ArgumentError('data: expected a Float32Array or an Int32Array');
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new ArgumentError('shape: expected an array of non-negative integers');
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new ArgumentError(`shape: (${shape.join(', ')}) holds ${count} values, data has ${data.length}`);
  const descr = data instanceof Float32Array ? '<f4' : '<i4';
  const shp = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shp}, }`;
  // Pad with spaces so magic + version + length + header (ending in '\n') is a multiple of 64.
  let pre = 10;
  let total = pre + dict.length + 1;
  if (total + ((64 - (total % 64)) % 64) - pre > 0xffff) pre = 12;
  total = pre + dict.length + 1;
  dict += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(pre);
  MAGIC.forEach((b, i) => (head[i] = b));
  head[6] = pre === 10 ? 1 : 2;
  head[7] = 0;
  if (pre === 10) head.writeUInt16LE(dict.length, 8);
  else head.writeUInt32LE(dict.length, 8);
  return [head, Buffer.from(dict, 'latin1'), new Uint8Array(data.buffer, data.byteOffset, data.byteLength)];
}

/**
 * Writes a float32 (or int32) array as a .npy file that `numpy.load` reads,
 * atomically: the data goes to a temporary file in the same directory that
 * is renamed over `file`, so a reader never sees a partial file and a failed
 * write leaves nothing behind.
 */
export function writeNpy(file: string, data: Float32Array | Int32Array, shape: readonly number[]): void {
  if (typeof file !== 'string') throw new ArgumentError('file: expected a path string');
  writeFileAtomic(file, encodeNpy(data, shape));
}
