/**
 * The safetensors format (tensors) for checkpoints:
 *   8 bytes little-endian u64 N | N bytes JSON header | raw little-endian data.
 * The header maps each name to {dtype, shape, data_offsets: [begin, end]}
 * (offsets relative to the data section) plus an optional string map
 * "__metadata__". Files written here load in Python's `safetensors`.
 *
 * Reading follows the format's own rules, which make a damaged or crafted
 * file detectable: the header is at most 100 MB, and the tensors' byte
 * ranges tile the data section exactly, in order, with no gap and no
 * overlap, each as long as its dtype and shape say. Every size is checked
 * against the file's real length before anything is allocated.
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
/** The format's limit on the JSON header (the reference implementation's). */
const MAX_HEADER = 100_000_000;

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

interface Entry {
  name: string;
  dtype: 'F32' | 'I32';
  shape: number[];
  begin: number;
  end: number;
}
interface Header {
  entries: Entry[];
  metadata: Record<string, string>;
  /** Byte offset of the data section in the file. */
  dataStart: number;
}

/** Reads up to `length` bytes at `position` into a fresh ArrayBuffer (so typed arrays over it are aligned). */
function readExactly(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.from(new ArrayBuffer(length));
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/** Parses and checks the header of an open file of `size` bytes. */
function readHeader(file: string, fd: number, size: number): Header {
  if (size < 8) throw new DataError(`${file}: truncated (${size} bytes, no header)`);
  const hlen = readExactly(fd, 8, 0).readBigUInt64LE(0);
  if (hlen > BigInt(Math.min(MAX_HEADER, size - 8)))
    throw new DataError(`${file}: truncated or not a safetensors file (header length ${hlen}, file ${size} bytes)`);
  const dataStart = 8 + Number(hlen);
  let header: unknown;
  try {
    header = JSON.parse(readExactly(fd, Number(hlen), 8).toString('utf8'));
  } catch {
    throw new DataError(`${file}: damaged header (not JSON)`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new DataError(`${file}: damaged header`);
  const { __metadata__: meta = {}, ...rest } = header as Record<string, unknown>;
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta) || !Object.values(meta).every((v) => typeof v === 'string'))
    throw new DataError(`${file}: damaged header (__metadata__ must map names to strings)`);
  const entries = Object.entries(rest).map(([name, info]) => checkEntry(file, name, info));
  checkTiling(file, entries, size - dataStart);
  return { entries, metadata: meta as Record<string, string>, dataStart };
}

function checkEntry(file: string, name: string, info: unknown): Entry {
  const bad = (what: string) => new DataError(`${file}: tensor ${JSON.stringify(name.slice(0, 80))} ${what}`);
  if (typeof info !== 'object' || info === null) throw bad('has a damaged entry');
  const { dtype, shape, data_offsets: offs } = info as Record<string, unknown>;
  if (dtype !== 'F32' && dtype !== 'I32') throw bad(`has unsupported dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape) || shape.length > 8 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad('has a damaged shape');
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) throw bad('has damaged data_offsets');
  const [begin, end] = offs as [number, number];
  // The byte count its shape needs, saturating: a product past 2^53 cannot match any offsets.
  const bytes = (shape as number[]).reduce((a, d) => Math.min(a * d, Number.MAX_SAFE_INTEGER), 4);
  if (end < begin || end - begin !== bytes) throw bad(`has ${end - begin} bytes of data, its shape [${(shape as number[]).join(', ')}] needs ${bytes}`);
  return { name, dtype, shape: shape as number[], begin, end };
}

/** The byte ranges must cover [0, dataLen) in order, without gaps or overlaps. */
function checkTiling(file: string, entries: Entry[], dataLen: number): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of sorted) {
    if (e.begin !== at)
      throw new DataError(`${file}: tensor ${JSON.stringify(e.name.slice(0, 80))} starts at byte ${e.begin} of the data, expected ${at} (overlapping or shifted data_offsets)`);
    at = e.end;
  }
  if (at !== dataLen) throw new DataError(`${file}: the tensors cover ${at} bytes of data, the file holds ${dataLen} (truncated or padded)`);
}

function openForReading<R>(file: string, body: (fd: number, size: number) => R): R {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new DataError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new DataError(`${file}: not a regular file`);
    return body(fd, st.size);
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads only the metadata of a safetensors file (the header is checked whole). */
export function readSafetensorsMetadata(file: string): Record<string, string> {
  return openForReading(file, (fd, size) => readHeader(file, fd, size).metadata);
}

/** Reads a safetensors file; every malformation is a DataError naming the file. */
export function loadSafetensors(file: string): { tensors: Record<string, StoredTensor>; metadata: Record<string, string> } {
  return openForReading(file, (fd, size) => {
    const h = readHeader(file, fd, size);
    const tensors: Record<string, StoredTensor> = {};
    for (const e of h.entries) {
      const bytes = readExactly(fd, e.end - e.begin, h.dataStart + e.begin);
      if (bytes.length !== e.end - e.begin) throw new DataError(`${file}: truncated while reading tensor ${JSON.stringify(e.name)}`);
      const ab = bytes.buffer as ArrayBuffer; // all of it: readExactly's own, offset 0
      tensors[e.name] = { shape: e.shape, data: e.dtype === 'F32' ? new Float32Array(ab) : new Int32Array(ab) };
    }
    return { tensors, metadata: h.metadata };
  });
}
