/**
 * IDX files (the MNIST / Fashion-MNIST format), gzip-compressed or not.
 * Header: two zero bytes, a type code, the number of dimensions, then each
 * dimension as a big-endian u32; the data follows, big-endian.
 * @module
 */
import { DataError } from '../errors';
import { type MeasureHeader, countValues, formatDims, readAnnounced } from './limits';

export interface IdxArray {
  dims: number[];
  /** The values, converted to float64-safe JS numbers in a typed array of the file's type. */
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const TYPES: Record<number, { size: number; name: string }> = {
  0x08: { size: 1, name: 'ubyte' },
  0x09: { size: 1, name: 'byte' },
  0x0b: { size: 2, name: 'short' },
  0x0c: { size: 4, name: 'int' },
  0x0d: { size: 4, name: 'float' },
  0x0e: { size: 8, name: 'double' },
};

/**
 * Reads an IDX header from the first bytes of a file (`final`: they are all
 * of it) and the size it announces. The dimensions are checked before
 * anything is allocated from them: their product at most MAX_VALUES.
 */
function idxHeader(buf: Uint8Array, source: string, final: boolean): { more: number } | { type: { size: number; name: string }; hdr: number; dims: number[]; count: number; need: number } {
  if (buf.length < 4) {
    if (!final) return { more: 4 };
    throw new DataError(`${source}: truncated IDX file (${buf.length} bytes)`);
  }
  if (buf[0] !== 0 || buf[1] !== 0) throw new DataError(`${source}: not an IDX file (bad magic ${Array.from(buf.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join('')})`);
  const type = TYPES[buf[2]!];
  if (!type) throw new DataError(`${source}: unknown IDX element type 0x${buf[2]!.toString(16)}`);
  const nd = buf[3]!;
  if (nd === 0) throw new DataError(`${source}: IDX file declares no dimensions`);
  const hdr = 4 + 4 * nd; // at most 1024 bytes
  if (buf.length < hdr) {
    if (!final) return { more: hdr };
    throw new DataError(`${source}: truncated IDX header`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < nd; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = countValues(dims, source, `IDX dims ${formatDims(dims)}`);
  return { type, hdr, dims, count, need: hdr + count * type.size };
}

/** The size an IDX file announces, for {@link readAnnounced}. */
function measureIdx(source: string): MeasureHeader {
  return (head, final) => {
    const h = idxHeader(head, source, final);
    if ('more' in h) return h;
    return { total: h.need, mismatch: (have) => sizeMismatch(source, h.dims, h.need, have) };
  };
}

function sizeMismatch(source: string, dims: number[], need: number, have: number): DataError {
  return have < need
    ? new DataError(`${source}: truncated IDX data: dims ${formatDims(dims)} need ${need} bytes, file has ${have}`)
    : new DataError(`${source}: ${have - need} unexpected bytes after the IDX data`);
}

/** Parses IDX bytes (already decompressed). `source` names the file in errors. */
export function parseIdx(buf: Uint8Array, source: string): IdxArray {
  const h = idxHeader(buf, source, true);
  if ('more' in h) throw new DataError(`${source}: truncated IDX header`); // (not reached: final)
  const { type, hdr, dims, count, need } = h;
  if (buf.length !== need) throw sizeMismatch(source, dims, need, buf.length);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let data: IdxArray['data'];
  switch (type.name) {
    case 'ubyte':
      data = new Uint8Array(buf.buffer, buf.byteOffset + hdr, count).slice();
      break;
    case 'byte':
      data = new Int8Array(buf.buffer, buf.byteOffset + hdr, count).slice();
      break;
    default: {
      const Ctor = { short: Int16Array, int: Int32Array, float: Float32Array, double: Float64Array }[type.name as 'short'];
      const out = new Ctor(count);
      for (let i = 0; i < count; i++) {
        const o = hdr + i * type.size;
        out[i] =
          type.name === 'short' ? view.getInt16(o, false)
          : type.name === 'int' ? view.getInt32(o, false)
          : type.name === 'float' ? view.getFloat32(o, false)
          : view.getFloat64(o, false);
      }
      data = out;
    }
  }
  return { dims, data };
}

/**
 * Reads an IDX file; gzip is detected from the content, not the name. The
 * header is read first and bounds everything after it: an uncompressed
 * file must be the size its dimensions announce, a gzip file is inflated
 * to at most that size (a file that inflates to more is a DataError as
 * soon as it passes it, not after inflating all of it).
 */
export function readIdx(file: string): IdxArray {
  return parseIdx(readAnnounced(file, measureIdx(file)), file);
}
