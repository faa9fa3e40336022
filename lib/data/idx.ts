/**
 * IDX files (the MNIST / Fashion-MNIST format), gzip-compressed or not.
 * Header: two zero bytes, a type code, the number of dimensions, then each
 * dimension as a big-endian u32; the data follows, big-endian.
 * @module
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { DataError } from '../errors';

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

/** Parses IDX bytes (already decompressed). `source` names the file in errors. */
export function parseIdx(buf: Uint8Array, source: string): IdxArray {
  if (buf.length < 4) throw new DataError(`${source}: truncated IDX file (${buf.length} bytes)`);
  if (buf[0] !== 0 || buf[1] !== 0) throw new DataError(`${source}: not an IDX file (bad magic ${Array.from(buf.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join('')})`);
  const type = TYPES[buf[2]!];
  if (!type) throw new DataError(`${source}: unknown IDX element type 0x${buf[2]!.toString(16)}`);
  const nd = buf[3]!;
  if (nd === 0) throw new DataError(`${source}: IDX file declares no dimensions`);
  const hdr = 4 + 4 * nd;
  if (buf.length < hdr) throw new DataError(`${source}: truncated IDX header`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < nd; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const need = hdr + count * type.size;
  if (buf.length < need) throw new DataError(`${source}: truncated IDX data: dims [${dims.join(', ')}] need ${need} bytes, file has ${buf.length}`);
  if (buf.length > need) throw new DataError(`${source}: ${buf.length - need} unexpected bytes after the IDX data`);
  let data: IdxArray['data'];
  switch (type.name) {
    case 'ubyte':
      data = buf.slice(hdr, need);
      break;
    case 'byte':
      data = new Int8Array(buf.slice(hdr, need).buffer);
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

/** Reads an IDX file; gzip is detected from the content, not the name. */
export function readIdx(file: string): IdxArray {
  let raw: Buffer;
  try {
    raw = fs.readFileSync(file);
  } catch (e) {
    throw new DataError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let buf: Uint8Array = raw;
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      buf = zlib.gunzipSync(raw);
    } catch (e) {
      throw new DataError(`${file}: damaged gzip stream (${(e as Error).message})`);
    }
  }
  return parseIdx(buf, file);
}
