/**
 * Reading untrusted data files with bounded memory, and quoting their
 * values in messages.
 *
 * Every size a file announces (IDX dimensions, a .npy shape and header
 * length) is checked before anything is allocated from it: each a
 * non-negative safe integer, their product at most {@link MAX_VALUES}, and
 * the byte count it implies equal to the size of an uncompressed file. A
 * gzip file is inflated in two bounded steps: first just enough of it to
 * read the header (never more than that plus {@link GZIP_HEAD_SLACK} bytes),
 * then the whole of it with `maxOutputLength` set to the size the header
 * announced, so a file that inflates to more (a gzip bomb) stops there with
 * a {@link DataError} naming the file. A gzip CSV has no header; it may
 * inflate to at most {@link MAX_GZIP_CSV_BYTES}.
 * @module
 */
import { constants as bufferConstants } from 'node:buffer';
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { DataError } from '../errors';

/** The most values (array elements, table cells) imix reads from one file: 2³¹ − 1. */
export const MAX_VALUES = 2 ** 31 - 1;
/** The most bytes one file (uncompressed, or after inflating) may hold: Node's largest Buffer (4 GiB on Node 20). */
export const MAX_BYTES: number = bufferConstants.MAX_LENGTH;
/** The most bytes a gzip CSV may inflate to (it is inflated in memory; an uncompressed CSV is read in 1 MiB pieces, any size). */
export const MAX_GZIP_CSV_BYTES = 256 * 2 ** 20;
/** What inflating a gzip file's header may produce beyond the bytes asked for. */
export const GZIP_HEAD_SLACK = 64 * 1024;
/** Characters of a value from a file (a cell, a column name, a category) quoted in a message. */
export const QUOTE_CHARS = 40;
/**
 * The most output one byte of a deflate stream can produce is 1032 bytes
 * (four 258-byte matches of two bits each); a gzip file of `c` bytes cannot
 * inflate to more than about 1032·c.
 */
const DEFLATE_MAX_RATIO = 1032;

function cut(s: string, max: number): string {
  let k = max;
  const c = s.charCodeAt(k - 1);
  if (c >= 0xd800 && c <= 0xdbff) k--; // do not split a surrogate pair
  return s.slice(0, k);
}

/**
 * `s` as a JSON string literal, cut to its first `max` characters followed
 * by `…` and the full length when it is longer: `"abcd…" (5242880
 * characters)`. Every value from a file (or a user's option value) that a
 * message quotes goes through this, so a 5 MB cell makes a short, one-line
 * message.
 */
export function quote(value: unknown, max = QUOTE_CHARS): string {
  const s = String(value);
  if (s.length <= max) return JSON.stringify(s);
  return `${JSON.stringify(cut(s, max) + '…')} (${s.length} characters)`;
}

/** Control characters and line separators, written as JSON escapes so that a message stays on one line. */
function oneLine(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * `s` unquoted, cut like {@link quote}, control characters escaped (for
 * names and numbers in messages that print them bare).
 */
export function clip(value: unknown, max = QUOTE_CHARS): string {
  const s = String(value);
  if (s.length <= max) return oneLine(s);
  return `${oneLine(cut(s, max))}… (${s.length} characters)`;
}

/** A list of dimensions for a message: `[2000, 28, 28]`, at most 8 shown. */
export function formatDims(dims: readonly number[], open = '[', close = ']'): string {
  const shown = dims.length > 8 ? `${dims.slice(0, 8).join(', ')}, … (${dims.length} dimensions)` : dims.join(', ');
  return `${open}${shown}${close}`;
}

/**
 * The number of values in an array of shape `dims` (`what` describes the
 * shape in the message, e.g. `IDX dims [..]`): each dimension must be a
 * non-negative safe integer and the product at most {@link MAX_VALUES},
 * checked as it is multiplied, so no overflow goes unseen.
 */
export function countValues(dims: readonly number[], source: string, what: string, verb = 'hold'): number {
  for (const d of dims)
    if (!Number.isSafeInteger(d) || d < 0) throw new DataError(`${source}: ${what}: dimension ${clip(d)} is not a non-negative integer`);
  if (dims.includes(0)) return 0;
  let n = 1;
  for (const d of dims) {
    n *= d;
    if (n > MAX_VALUES) throw new DataError(`${source}: ${what} ${verb} more than ${MAX_VALUES} values (2^31 - 1), the most imix reads from one file`);
  }
  return n;
}

/** What a format learns from the first bytes of a file (its header). */
export type HeaderSize =
  /** The header needs this many bytes (more than were given). */
  | { more: number }
  /** The header announces a file of `total` bytes; `mismatch(have)` is the error for a file of `have` bytes instead. */
  | { total: number; mismatch: (have: number) => DataError };

/**
 * Reads a format's header from the first bytes of a file. `final` is true
 * when `head` is the whole file: then a header that needs more bytes is an
 * error (a truncated file), never `{ more }`. A `{ more }` answer must ask
 * for more than `head.length` bytes and for a bounded number (the format's
 * header cap).
 */
export type MeasureHeader = (head: Uint8Array, final: boolean) => HeaderSize;

function cannotRead(file: string, e: unknown): DataError {
  return new DataError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
}

function tooLarge(file: string, bytes: number): DataError {
  return new DataError(`${file}: ${bytes} bytes is more than the ${MAX_BYTES} bytes imix reads from one file`);
}

/** `len` bytes of `fd` from offset 0 (fewer if the file is shorter). */
function readPrefix(fd: number, len: number, file: string): Buffer {
  if (len > MAX_BYTES) throw tooLarge(file, len);
  const buf = Buffer.allocUnsafe(len);
  let got = 0;
  try {
    while (got < len) {
      const n = fs.readSync(fd, buf, got, len - got, got);
      if (n <= 0) break;
      got += n;
    }
  } catch (e) {
    throw cannotRead(file, e);
  }
  return got === len ? buf : buf.subarray(0, got);
}

function openFile(file: string): { fd: number; size: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw cannotRead(file, e);
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    return { fd, size: st.size };
  } catch (e) {
    fs.closeSync(fd);
    throw cannotRead(file, e);
  }
}

/** Whether `head` starts with the gzip magic bytes. */
export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

function damaged(file: string, e: unknown): DataError {
  return new DataError(`${file}: damaged gzip stream (${(e as Error).message})`);
}

/**
 * The first bytes of the gzip stream `raw`: at least `want` of them (all
 * there are if it inflates to fewer) and at most `want` +
 * {@link GZIP_HEAD_SLACK}, whatever the stream holds. Compressed prefixes
 * of growing length are inflated with `Z_SYNC_FLUSH` and `maxOutputLength`;
 * a prefix that inflates to too much is halved until one fits (one
 * compressed byte inflates to at most 1032). `complete` is true when the
 * output is all the stream holds.
 */
export function inflateHead(raw: Uint8Array, want: number, file: string): { head: Buffer; complete: boolean } {
  const limit = want + GZIP_HEAD_SLACK;
  const attempt = (k: number): Buffer | undefined => {
    try {
      return zlib.gunzipSync(raw.subarray(0, k), { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: limit });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return undefined;
      throw damaged(file, e);
    }
  };
  let lo = 0;
  let k = Math.min(raw.length, 1024);
  let hi = -1;
  for (;;) {
    const out = attempt(k);
    if (out === undefined) {
      hi = k;
      break;
    }
    if (out.length >= want || k === raw.length) return { head: out, complete: out.length < want };
    lo = k;
    k = Math.min(raw.length, 2 * k);
  }
  // The prefix of `lo` bytes inflates to fewer than `want`, the one of `hi` to more than `limit`.
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const out = attempt(mid);
    if (out === undefined) hi = mid;
    else if (out.length >= want) return { head: out, complete: false };
    else lo = mid;
  }
  throw new DataError(`${file}: damaged gzip stream (one byte inflates to more than ${GZIP_HEAD_SLACK} bytes)`);
}

/**
 * Inflates all of the gzip stream `raw`, stopping with a DataError as soon
 * as the output passes `limit` bytes (`over()` makes it).
 */
export function inflateAtMost(raw: Uint8Array, limit: number, file: string, over: () => DataError): Buffer {
  if (limit > MAX_BYTES) throw tooLarge(file, limit);
  try {
    // Output chunks of up to 1 MiB (zlib's default 16 KiB makes a large file slow), never much larger than the bound.
    const chunkSize = Math.min(2 ** 20, Math.max(zlib.constants.Z_MIN_CHUNK, limit + 1));
    return zlib.gunzipSync(raw, { maxOutputLength: Math.max(1, limit), chunkSize });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw over();
    throw damaged(file, e);
  }
}

/**
 * Reads all of `file` (gzip or not, told from the content) — after its
 * header, read from the first bytes by `measure`, announced how many bytes
 * the file holds; nothing is allocated from that number alone:
 *
 * - uncompressed, the file's size must be the announced size (else
 *   `mismatch(size)`), and only then is it read;
 * - gzip, the header is inflated first (at most its length plus
 *   {@link GZIP_HEAD_SLACK}), the announced size must be one the compressed
 *   bytes can hold, and the whole is inflated with that size as the bound:
 *   more is "inflates to more than the N bytes its header announces",
 *   fewer is `mismatch(inflated)`.
 */
export function readAnnounced(file: string, measure: MeasureHeader): Buffer {
  const { fd, size } = openFile(file);
  try {
    let len = Math.min(size, 4096);
    let head = readPrefix(fd, len, file);
    if (isGzip(head)) {
      if (size > MAX_BYTES) throw tooLarge(file, size);
      const raw = len === size ? head : readPrefix(fd, size, file);
      return readAnnouncedGzip(file, raw, measure);
    }
    for (;;) {
      const h = measure(head, len === size);
      if ('total' in h) {
        if (h.total !== size) throw h.mismatch(size);
        return len === size ? head : readPrefix(fd, size, file);
      }
      if (len === size || !(h.more > len)) throw new DataError(`${file}: truncated header`);
      len = Math.min(size, h.more);
      head = readPrefix(fd, len, file);
    }
  } finally {
    fs.closeSync(fd);
  }
}

function readAnnouncedGzip(file: string, raw: Buffer, measure: MeasureHeader): Buffer {
  let want = 4096;
  for (;;) {
    let { head, complete } = inflateHead(raw, want, file);
    // All of it is fewer than `want` bytes: inflate it to the end, which checks the stream's end and CRC.
    if (complete) head = inflateAtMost(raw, want, file, () => damaged(file, new Error('inflates to more on a second pass')));
    const h = measure(head, complete);
    if ('more' in h) {
      if (complete || !(h.more > head.length)) throw new DataError(`${file}: truncated header`);
      want = h.more;
      continue;
    }
    const over = () => new DataError(`${file}: inflates to more than the ${h.total} bytes its header announces (a damaged or hostile gzip file)`);
    if (head.length > h.total) throw over();
    if (h.total > DEFLATE_MAX_RATIO * raw.length + 1024)
      throw new DataError(`${file}: its header announces ${h.total} bytes, more than ${raw.length} bytes of gzip can inflate to (a truncated or hostile file)`);
    if (h.total > MAX_BYTES) throw tooLarge(file, h.total);
    const all = complete ? head : inflateAtMost(raw, h.total, file, over);
    // (inflateAtMost checked the end and CRC of the stream, and that it holds at most `total` bytes.)
    if (all.length !== h.total) throw h.mismatch(all.length);
    return all;
  }
}

/**
 * The first `len` bytes of `file`, gzip looked through (for sniffing the
 * format): at most `len` + {@link GZIP_HEAD_SLACK} bytes are inflated.
 */
export function readHead(file: string, len: number): Buffer {
  const { fd, size } = openFile(file);
  try {
    const head = readPrefix(fd, Math.min(size, len), file);
    if (!isGzip(head)) return head;
    // A compressed prefix of 1 MiB holds the first `len` bytes of any sane gzip file.
    const raw = readPrefix(fd, Math.min(size, Math.max(len, 2 ** 20)), file);
    return inflateHead(raw, len, file).head.subarray(0, len);
  } finally {
    fs.closeSync(fd);
  }
}
