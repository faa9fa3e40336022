/**
 * The safetensors format (tensors) for checkpoints:
 *   8 bytes little-endian u64 N | N bytes JSON header | raw little-endian data.
 * The header maps each name to {dtype, shape, data_offsets: [begin, end]}
 * (offsets relative to the data section) plus an optional string map
 * "__metadata__". Files written here load in Python's `safetensors`.
 * @module
 */
import * as fs from 'node:fs';
import { DataError } from '../errors';
import { writeFileAtomic } from './atomic';

export type StoredArray = Float32Array | Int32Array;
export interface StoredTensor {
  shape: number[];
  data: StoredArray;
}

const DTYPE = (a: StoredArray) => (a instanceof Float32Array ? 'F32' : 'I32');

/** Writes tensors (and string metadata) to `file`, atomically. */
export function saveSafetensors(file: string, tensors: Record<string, StoredTensor>, metadata: Record<string, string> = {}): void {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let off = 0;
  const names = Object.keys(tensors).sort();
  for (const name of names) {
    const t = tensors[name]!;
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel !== t.data.length) throw new DataError(`${name}: shape [${t.shape.join(', ')}] does not match ${t.data.length} values`);
    header[name] = { dtype: DTYPE(t.data), shape: t.shape, data_offsets: [off, off + t.data.byteLength] };
    off += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces to 8 bytes so the data section stays aligned.
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const hbuf = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hbuf.length));
  const chunks: Uint8Array[] = [len, hbuf];
  for (const name of names) {
    const d = tensors[name]!.data;
    chunks.push(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  writeFileAtomic(file, chunks);
}

/** Reads a safetensors file; every malformation is a DataError naming the file. */
export function loadSafetensors(file: string): { tensors: Record<string, StoredTensor>; metadata: Record<string, string> } {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new DataError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (buf.length < 8) throw new DataError(`${file}: truncated (${buf.length} bytes, no header)`);
  const hlen = Number(buf.readBigUInt64LE(0));
  if (hlen > buf.length - 8) throw new DataError(`${file}: truncated or not a safetensors file (header length ${hlen})`);
  let header: Record<string, any>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + hlen).toString('utf8'));
  } catch {
    throw new DataError(`${file}: damaged header (not JSON)`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new DataError(`${file}: damaged header`);
  const dataStart = 8 + hlen;
  const dataLen = buf.length - dataStart;
  const tensors: Record<string, StoredTensor> = {};
  const metadata: Record<string, string> = header.__metadata__ ?? {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: offs } = info as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (dtype !== 'F32' && dtype !== 'I32') throw new DataError(`${file}: tensor ${name} has unsupported dtype ${dtype}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0) || !Array.isArray(offs) || offs.length !== 2)
      throw new DataError(`${file}: tensor ${name} has a damaged entry`);
    const [b, e] = offs;
    const numel = shape.reduce((a, c) => a * c, 1);
    if (!(Number.isInteger(b) && Number.isInteger(e) && b >= 0 && e >= b && e <= dataLen) || e - b !== numel * 4)
      throw new DataError(`${file}: tensor ${name} lies outside the file or has the wrong size (truncated?)`);
    const bytes = buf.subarray(dataStart + b, dataStart + e);
    const copy = new Uint8Array(bytes); // aligned copy
    tensors[name] = { shape, data: dtype === 'F32' ? new Float32Array(copy.buffer) : new Int32Array(copy.buffer) };
  }
  return { tensors, metadata };
}
