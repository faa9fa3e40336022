/**
 * CSV / TSV tables (RFC 4180) as datasets.
 *
 * The tokenizing is csv-parse's (the csv project's parser, csv.js.org),
 * driven through {@link CsvTokenizer}: it takes the text in chunks of any
 * size and emits one record (an array of field strings) at a time, with the
 * physical line the record starts on. Quoted fields (`"a, b"`), escaped
 * quotes (`""`), delimiters and line breaks inside quotes, CRLF, LF and
 * lone-CR line ends, a byte order mark (UTF-8, or UTF-16LE, which switches
 * the decoding), blank lines skipped. {@link loadCsv} reads the file in
 * 1 MiB chunks through it, so only the parsed numbers are held in memory.
 *
 * {@link loadCsv} turns the table into a {@link Dataset}: every column is a
 * float feature except the label column, the ignored columns and the
 * categorical columns, which are one-hot encoded over the categories found in
 * the file (sorted). Everything it decided — columns, categories, label
 * classes, feature means — is returned as a JSON-serializable
 * {@link CsvSchema}; pass it back (`{ schema }`) to encode a second file (the
 * test split) exactly the same way.
 *
 * Column indices are 0-based everywhere (options and messages); line
 * numbers are 1-based physical lines of the file.
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CsvError, Parser, type Options as CsvParseOptions } from 'csv-parse';
import { ArgumentError, DataError } from '../errors';
import { writeFileAtomic } from '../io/atomic';
import { didYouMean, guessColumn, listColumns } from './columns';
import type { Dataset } from './dataset';
import { MAX_GZIP_CSV_BYTES, MAX_VALUES, clip, inflateAtMost, isGzip, quote } from './limits';

// ---------------------------------------------------------------------------
// Tokenizer
// ---------------------------------------------------------------------------

const SPACE = 0x20;
/**
 * The longest field the tokenizer accepts: 16 MiB (2²⁴ bytes of UTF-8; an
 * ASCII character is one byte). Checked while the field is read, so a
 * hostile field is refused before it is held whole.
 */
export const MAX_FIELD_BYTES = 2 ** 24;
/** The most fields one record may have: 2²⁰. */
export const MAX_FIELDS = 2 ** 20;
/** The longest record the tokenizer accepts: 256 MiB of field text (csv-parse's `max_record_size`). */
export const MAX_RECORD_BYTES = 2 ** 28;
/**
 * The most bytes handed to csv-parse at once. The bounds on a field's
 * length and on a record's number of fields are checked between pieces, so
 * a hostile record goes past them by at most this much before it is refused.
 */
const PIECE = 64 * 1024;

/**
 * csv-parse's options for imix's dialect (RFC 4180 and the lenient cases the
 * hand-written tokenizer before it accepted):
 * - line ends: CRLF, LF and a lone CR, each of them anywhere (csv-parse would
 *   otherwise take the first one it meets as the only one);
 * - `relax_quotes`: a quote inside an unquoted field is text (`5'11"`);
 * - `rtrim`: spaces between a closing quote and the delimiter are skipped
 *   (`"tail" ,4`). It also trims the end of unquoted fields, which the table
 *   reads trimmed anyway. Together with `relax_quotes`, other text after a
 *   closing quote (`"x"y`) stays an error;
 * - `relax_column_count`: ragged rows reach the table builder, whose message
 *   names the line, the count and the fix;
 * - `skip_empty_lines`, `bom`, and the record bound {@link MAX_RECORD_BYTES}.
 */
function parserOptions(delimiter: string): CsvParseOptions {
  return {
    delimiter,
    quote: '"',
    escape: '"',
    record_delimiter: ['\r\n', '\n', '\r'],
    bom: true,
    relax_quotes: true,
    rtrim: true,
    relax_column_count: true,
    skip_empty_lines: true,
    max_record_size: MAX_RECORD_BYTES,
  };
}

/**
 * What csv-parse holds of the record it is reading (its parser's `state`):
 * the fields read so far and the bytes of the current field. Read between
 * pieces for the bounds and for the line of a parse error; optional, so a
 * csv-parse without it still parses (then only {@link MAX_RECORD_BYTES}
 * bounds a record while it is read, and test/hostile/data.test.ts says so).
 */
interface PartialRecord {
  record: unknown[];
  field: { length: number; toString(encoding: BufferEncoding): string };
}

/** csv-parse's stream parser run synchronously: `_transform`/`_flush` called directly, each record handed to `sink` as it is parsed. */
class RecordParser extends Parser {
  constructor(
    options: CsvParseOptions,
    private readonly sink: (record: string[]) => void,
  ) {
    super(options);
  }

  /** The parser pushes each record here (Transform's readable side is not used). */
  override push(record: unknown): boolean {
    if (record !== null) this.sink(record as string[]);
    return true;
  }

  /** Parses `piece` (`end`: the input ends after it); returns csv-parse's error, if any. */
  feed(piece: Buffer | undefined, end: boolean): Error | undefined {
    let err: Error | undefined;
    const done = (e?: Error | null) => {
      if (e) err = e;
    };
    if (piece) this._transform(piece, 'utf8', done);
    if (end && !err) this._flush(done);
    return err;
  }

  /** The record being read, when this csv-parse exposes it. */
  get partial(): PartialRecord | undefined {
    const s = (this as unknown as { state?: Partial<PartialRecord> }).state;
    return s && Array.isArray(s.record) && s.field && typeof s.field.length === 'number' ? (s as PartialRecord) : undefined;
  }
}

/** The line breaks in `fields` (CRLF, LF or a lone CR, each one). */
function lineBreaks(fields: readonly unknown[]): number {
  let n = 0;
  for (const f of fields) if (typeof f === 'string' && (f.includes('\n') || f.includes('\r'))) n += f.match(/\r\n|\r|\n/g)!.length;
  return n;
}

/** `s`'s UTF-8 length when it may exceed {@link MAX_FIELD_BYTES} (a UTF-16 unit is at most 3 bytes), else a lower bound. */
function fieldBytes(s: string): number {
  return s.length * 3 > MAX_FIELD_BYTES ? Buffer.byteLength(s, 'utf8') : s.length;
}

/**
 * Streaming CSV tokenizer (csv-parse underneath, see the module comment).
 * Feed text or bytes with {@link push} (chunks may cut anywhere, even inside
 * a quoted field, a UTF-8 sequence or between CR and LF), then call
 * {@link end}. `onRecord(fields, line)` receives each record's fields and
 * the 1-based physical line it starts on; the array is not reused.
 *
 * Lenient where it is harmless: a quote inside an unquoted field is taken
 * literally, and spaces between a closing quote and the delimiter are
 * skipped (as is trailing white space of an unquoted field). Malformed input
 * — any other text after a closing quote, or a quoted field still open at
 * the end — is a {@link DataError} naming `source`, the line and the column,
 * and so is a field longer than 16 MiB (2²⁴ bytes of UTF-8), a record of
 * more than 2²⁰ fields or of more than 256 MiB.
 */
export class CsvTokenizer {
  private readonly parser: RecordParser;
  /** The physical line after the last record (where blank lines, then the next record, begin). */
  private nextLine = 1;
  /** csv-parse's line and blank-line counts at the last record: their changes locate the next one. */
  private linesSeen = 1;
  private emptySeen = 0;
  private records = 0;
  /** A high surrogate that ended the last string chunk, held for the low one. */
  private pendingHigh = '';
  private ended = false;

  constructor(
    delimiter: string,
    private readonly onRecord: (fields: string[], line: number) => void,
    private readonly source = 'csv',
  ) {
    if (
      typeof delimiter !== 'string' ||
      delimiter.length !== 1 ||
      delimiter === '"' ||
      delimiter === '\n' ||
      delimiter === '\r' ||
      (delimiter >= '\ud800' && delimiter <= '\udfff')
    )
      throw new ArgumentError(`delimiter: expected one character other than a quote or a line break, got ${typeof delimiter === 'string' ? quote(delimiter) : clip(String(JSON.stringify(delimiter)))}`);
    this.parser = new RecordParser(parserOptions(delimiter), this.record);
  }

  /** The line the tokenizer has reached (1-based). */
  get currentLine(): number {
    const info = this.parser.info;
    return this.nextLine + Math.max(0, info.lines - this.linesSeen - (this.records > 0 ? 1 : 0));
  }

  /** The line the record being read starts on (after the blank lines csv-parse skipped since the last record). */
  private recordLine(): number {
    return this.nextLine + (this.parser.info.empty_lines - this.emptySeen);
  }

  /**
   * A record from csv-parse. Its line: csv-parse counts every CR and every
   * LF (so a CRLF inside a quoted field counts twice) and the blank lines it
   * skips; the record starts after the blank lines since the last one, and
   * ends as many lines further as its fields hold line breaks (counted in
   * the fields, only when csv-parse's count says there are some).
   */
  private record = (fields: string[]): void => {
    const info = this.parser.info;
    const blank = info.empty_lines - this.emptySeen;
    const inside = info.lines - this.linesSeen - (this.records > 0 ? 1 : 0) - blank;
    const line = this.nextLine + blank;
    this.nextLine = line + 1 + (inside > 0 ? lineBreaks(fields) : 0);
    this.linesSeen = info.lines;
    this.emptySeen = info.empty_lines;
    this.records++;
    if (fields.length > MAX_FIELDS) throw this.tooManyFields(line);
    for (let j = 0; j < fields.length; j++) {
      const bytes = fieldBytes(fields[j]!);
      if (bytes > MAX_FIELD_BYTES) throw new DataError(`${this.source}:${line}: column ${j}: a field of ${bytes} bytes, more than the ${MAX_FIELD_BYTES} (16 MiB) imix reads`);
    }
    this.onRecord(fields, line);
  };

  private tooManyFields(line: number): DataError {
    return new DataError(`${this.source}:${line}: more than ${MAX_FIELDS} fields in one record (the most imix reads)`);
  }

  /** Feeds the next piece of text, or of UTF-8 bytes (copied where kept: the caller may reuse its buffer). */
  push(chunk: string | Uint8Array): void {
    if (this.ended) throw new ArgumentError('push: the tokenizer has ended');
    let bytes: Buffer;
    if (typeof chunk === 'string') {
      let text = this.pendingHigh + chunk;
      this.pendingHigh = '';
      const last = text.charCodeAt(text.length - 1);
      if (last >= 0xd800 && last <= 0xdbff) {
        // The chunk cut a surrogate pair: its first half waits for the second (alone it would encode as U+FFFD).
        this.pendingHigh = text.slice(-1);
        text = text.slice(0, -1);
      }
      bytes = Buffer.from(text, 'utf8');
    } else if (chunk instanceof Uint8Array) bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    else throw new ArgumentError(`push: expected a string or a Uint8Array, got ${chunk === null ? 'null' : typeof chunk}`);
    for (let off = 0; off < bytes.length; off += PIECE) {
      const end = Math.min(off + PIECE, bytes.length);
      // csv-parse keeps the unparsed tail of a piece (a few bytes) as a view: the last piece is copied, so the caller may reuse its buffer.
      const piece = end === bytes.length && typeof chunk !== 'string' ? Buffer.from(bytes.subarray(off, end)) : bytes.subarray(off, end);
      this.check(this.parser.feed(piece, false));
    }
  }

  /** Flushes the last record (a file need not end with a line break). */
  end(): void {
    if (this.ended) return;
    if (this.pendingHigh) {
      const high = this.pendingHigh;
      this.pendingHigh = '';
      this.check(this.parser.feed(Buffer.from(high, 'utf8'), false));
    }
    this.ended = true;
    this.check(this.parser.feed(undefined, true));
  }

  /** After a piece: csv-parse's error as a DataError, and the bounds on the record being read. */
  private check(err: Error | undefined): void {
    const p = this.parser.partial;
    if (err) throw this.parseError(err, p);
    if (!p) return;
    if (p.record.length >= MAX_FIELDS) throw this.tooManyFields(this.recordLine());
    if (p.field.length > MAX_FIELD_BYTES)
      throw new DataError(`${this.source}:${this.recordLine()}: column ${p.record.length}: a field of more than ${MAX_FIELD_BYTES} bytes (16 MiB, the most imix reads)`);
  }

  /** csv-parse's error, with imix's wording, the physical line and the 0-based column. */
  private parseError(err: Error, p: PartialRecord | undefined): Error {
    if (!(err instanceof CsvError)) return err;
    const start = this.recordLine();
    const column = p ? p.record.length : typeof err.column === 'number' ? err.column : 0;
    const before = p ? lineBreaks(p.record) : 0;
    switch (err.code) {
      case 'CSV_QUOTE_NOT_CLOSED':
        return new DataError(`${this.source}:${start + before}: column ${column}: quoted field is never closed (unbalanced ")`);
      case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
      case 'CSV_INVALID_CLOSING_QUOTE': {
        const line = start + before + (p ? lineBreaks([p.field.toString('utf8')]) : 0);
        return new DataError(`${this.source}:${line}: column ${column}: unexpected text after the closing quote of a quoted field (a quote inside a quoted field is written "")`);
      }
      case 'CSV_MAX_RECORD_SIZE':
        return new DataError(`${this.source}:${start}: a record of more than ${MAX_RECORD_BYTES} bytes (256 MiB, the most imix reads)`);
      default:
        return new DataError(`${this.source}:${start}: ${clip(err.message, 200)}`);
    }
  }
}

/** Tokenizes a whole string; returns the records with their start lines. */
export function tokenizeCsv(text: string, delimiter = ',', source = 'csv'): Array<{ fields: string[]; line: number }> {
  const out: Array<{ fields: string[]; line: number }> = [];
  const t = new CsvTokenizer(delimiter, (fields, line) => out.push({ fields, line }), source);
  t.push(text);
  t.end();
  return out;
}

// ---------------------------------------------------------------------------
// Tables → datasets
// ---------------------------------------------------------------------------

/** What to do with missing cells (see {@link CsvOptions.missing}). */
export type MissingPolicy = 'error' | 'mean' | 'zero';

/** A column: its name (with a header row) or its 0-based index (negative counts from the end). */
export type ColumnRef = string | number;

/** Options of {@link loadCsv} / {@link parseCsv}. */
export interface CsvOptions {
  /** Whether the first record is a header: `'auto'` (default) guesses from the first two records. */
  header?: boolean | 'auto';
  /** Field delimiter, one character; default `','` (`'\t'` for `.tsv` in loadDataset). */
  delimiter?: string;
  /** The label column (excluded from the features). Default: none. */
  label?: ColumnRef;
  /** Columns to one-hot encode over the categories found in the file (sorted). */
  categorical?: ColumnRef[];
  /** Columns to drop (e.g. row ids). */
  ignore?: ColumnRef[];
  /**
   * Missing cells: `'error'` (default) reports every column's count of
   * missing cells with the first lines; `'mean'` fills the feature's mean
   * (for a one-hot column: the category frequencies); `'zero'` fills 0
   * (all-zero one-hot). A missing label is always an error.
   */
  missing?: MissingPolicy;
  /** Cells (after trimming spaces) that count as missing; default `['', 'NA', 'N/A', '?']` (or the schema's). */
  naValues?: string[];
  /**
   * Encode this file exactly as an earlier one: the schema returned by that
   * load (same columns, categories, label classes, delimiter, header and,
   * unless given here, missing policy and NA values; `'mean'` fills the
   * earlier file's means). Excludes `label`, `categorical`, `ignore`.
   */
  schema?: CsvSchema;
  /** With a schema, a category it does not know: `'error'` (default) or `'ignore'` (an all-zero one-hot). An unknown label class is always an error. */
  unknownCategory?: 'error' | 'ignore';
  /**
   * With a schema that has a label column: read new, unlabelled rows (e.g. to
   * embed them). The label column may be left out of the file (one column
   * fewer than the schema), or its cells may be empty or hold classes the
   * schema does not know; they are not read, and the dataset has no labels.
   * The returned schema describes the file as read (no label column).
   */
  ignoreLabel?: boolean;
  /** Dataset name; default the file's base name. */
  name?: string;
}

/** Every key of CsvOptions (the compiler keeps the list complete). */
const CSV_OPTION_KEYS: { [K in keyof Required<CsvOptions>]: true } = {
  header: true,
  delimiter: true,
  label: true,
  categorical: true,
  ignore: true,
  missing: true,
  naValues: true,
  schema: true,
  unknownCategory: true,
  name: true,
  ignoreLabel: true,
};

/**
 * An options key that is not in `known` (a misspelling, or an option of
 * another function) is an ArgumentError naming it: ignoring it would load
 * the data differently from what was asked, without a word.
 */
export function checkOptionKeys(o: object, known: readonly string[]): void {
  const unknown = Object.keys(o).filter((k) => !known.includes(k));
  if (unknown.length)
    throw new ArgumentError(`options: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.slice(0, 10).map((k) => quote(k)).join(', ')}${unknown.length > 10 ? ', …' : ''}; expected some of ${known.join(', ')}`);
}

/** The keys of CsvOptions, and `extra` ones the caller takes. */
export function csvOptionKeys(...extra: string[]): string[] {
  return [...Object.keys(CSV_OPTION_KEYS), ...extra];
}

/** Everything {@link loadCsv} decided, so a second file can be encoded the same way. JSON-serializable. */
export interface CsvSchema {
  format: 'imix-csv-schema';
  version: 1;
  delimiter: string;
  header: boolean;
  /** Every column of the file: header names, or `column <j>` without a header. */
  columns: string[];
  /** Index of the label column, or null. */
  label: number | null;
  /** String labels: class k is `labelClasses[k]`. Null when labels are the non-negative integers of the file. */
  labelClasses: string[] | null;
  /** Number of classes (null without labels). */
  numClasses: number | null;
  /** One-hot columns and their sorted categories. */
  categorical: Array<{ column: number; categories: string[] }>;
  /** Dropped columns. */
  ignored: number[];
  /** Name of each output feature in order: the column name, or `name=category` for one-hot features. */
  features: string[];
  /** Mean of each output feature over the file's present cells (the `'mean'` fill). */
  means: number[];
  /** The missing policy the file was loaded with. */
  missing: MissingPolicy;
  naValues: string[];
}

/** A loaded table: the dataset and the schema to encode further files with. */
export interface CsvResult {
  dataset: Dataset;
  schema: CsvSchema;
}

const DEFAULT_NA = ['', 'NA', 'N/A', '?'];
const MAX_REPORT_LINES = 5;
const NONFINITE = /^[+-]?(nan|inf|infinity)$/i;

/** Number(s), except that the hex/binary/octal forms Number() accepts are NaN (not decimal data). */
function parseNumber(s: string): number {
  const v = Number(s);
  if (v === v && s.length > 1 && s.charCodeAt(0) === 0x30) {
    const c = s.charCodeAt(1) | 0x20;
    if (c === 0x78 || c === 0x62 || c === 0x6f) return NaN;
  }
  return v;
}

/** Numeric sort when every value is a number, else code-unit order. */
function sortCategories(values: Iterable<string>): string[] {
  const a = [...values];
  if (a.every((v) => Number.isFinite(parseNumber(v)))) return a.sort((p, q) => Number(p) - Number(q) || (p < q ? -1 : p > q ? 1 : 0));
  return a.sort((p, q) => (p < q ? -1 : p > q ? 1 : 0));
}

/** Growable float32 buffer. */
/** A growable typed array: values pushed one at a time, doubling the buffer when full. */
class ArrayBuilder<A extends Float32Array | Int32Array> {
  length = 0;
  constructor(public buf: A) {}
  push(v: number): void {
    if (this.length === this.buf.length) {
      const b = new (this.buf.constructor as new (n: number) => A)(this.buf.length * 2);
      b.set(this.buf);
      this.buf = b;
    }
    this.buf[this.length++] = v;
  }
}

const enum Role {
  Numeric,
  Categorical,
  Label,
  Ignore,
}

interface MissingReport {
  count: number;
  lines: number[];
}

/** Up to 20 values (column names, categories, classes) for a message, each cut to a short prefix. */
function listValues(values: readonly string[], max = 20): string {
  return values.slice(0, max).map((v) => clip(v)).join(', ') + (values.length > max ? ', ...' : '');
}

/** Column spec → index, given the header names (or null). */
function resolveColumn(ref: ColumnRef, names: string[] | null, ncol: number, source: string, what: string): number {
  if (typeof ref === 'number') {
    if (!Number.isInteger(ref)) throw new ArgumentError(`${what}: column index must be an integer, got ${ref}`);
    const j = ref < 0 ? ncol + ref : ref;
    if (j < 0 || j >= ncol) throw new DataError(`${source}: ${what}: column ${ref} does not exist (the file has ${ncol} columns)`);
    return j;
  }
  if (typeof ref !== 'string') throw new ArgumentError(`${what}: expected a column name or index, got ${typeof ref}`);
  if (!names) throw new DataError(`${source}: ${what}: column ${quote(ref)} named, but the file has no header row`);
  const j = names.indexOf(ref);
  if (j < 0) {
    const guess = guessColumn(ref, names);
    throw new DataError(`${source}: ${what}: no column ${quote(ref)}${didYouMean(ref, names)} (columns: ${listColumns(names, guess >= 0 ? [guess] : [])})`);
  }
  return j;
}

/**
 * Which columns differ between a file of header `names` (null: no header)
 * and the schema `s0` when their counts do: the schema's columns the file
 * lacks and the file's the schema lacks (the label column may be left out
 * under `ignoreLabel`), each with its index and, for a name the schema
 * lacks, the one it most likely meant. Without names, the schema's columns.
 */
function columnCountDiff(names: string[] | null, s0: CsvSchema, ignoreLabel: boolean): string {
  if (!names) return `${listColumns(s0.columns)}`;
  const inFile = new Set(names), inSchema = new Set(s0.columns);
  const lacks = s0.columns.map((c, j) => j).filter((j) => !inFile.has(s0.columns[j]!) && !(ignoreLabel && j === s0.label));
  const adds = names.map((c, k) => k).filter((k) => !inSchema.has(names[k]!));
  const lacked = lacks.map((j) => s0.columns[j]!);
  const some = (idx: number[], show: (i: number) => string) => idx.slice(0, 5).map(show).join(', ') + (idx.length > 5 ? `, and ${idx.length - 5} more` : '');
  const parts: string[] = [];
  if (lacks.length) parts.push(`the file has no column ${some(lacks, (j) => `${quote(s0.columns[j])} (schema column ${j})`)}`);
  if (adds.length)
    parts.push(
      `the schema has no column ${some(adds, (k) => {
        const g = guessColumn(names[k]!, lacked);
        return `${quote(names[k])} (file column ${k}${g >= 0 ? `; did you mean ${quote(lacked[g])}?` : ''})`;
      })}`,
    );
  return parts.length ? parts.join('; ') : `schema columns ${listColumns(s0.columns)}`;
}

/** For a header cell `a` where the schema has `b`: where the file has `b` instead, or that names differ in case only. */
function headerHint(a: string, b: string, names: readonly string[]): string {
  const k = names.indexOf(b);
  if (k >= 0) return ` (the file has it as column ${k})`;
  return a.toLowerCase() === b.toLowerCase() ? ' (names are case-sensitive)' : '';
}

/** How a table's columns become output features (see TableBuilder.layout). */
interface FeatureLayout {
  /** Per categorical column: its categories, in the order of its one-hot features. */
  cats: string[][];
  /** Per categorical column: each category id's index in `cats` (ids in the order the file showed the categories, or the schema's). */
  remap: Int32Array[];
  /** Name of each output feature. */
  features: string[];
  /** Per column: its first output feature. */
  featOf: number[];
}

/** A table's labels: class indices, the classes' names (null for integer labels) and their count; all absent without a label column. */
interface LabelColumn {
  labels: Int32Array | undefined;
  labelClasses: string[] | null;
  numClasses: number | undefined;
}

/** A label cell as a non-negative integer, or -1 when it is not one. */
function labelInt(s: string): number {
  return /^\+?\d+$/.test(s) ? Number(s) : -1;
}

/**
 * The table builder behind {@link loadCsv}/{@link parseCsv}: receives
 * records from the tokenizer, resolves the header and the column roles at
 * the first records, then parses each row straight into typed buffers.
 */
class TableBuilder {
  private readonly na: Set<string>;
  private pending: Array<{ fields: string[]; line: number }> = [];
  private headerNames: string[] | null = null;
  private hasHeader = false;
  private ncol = -1;
  private roles: Role[] = [];
  private slot: number[] = []; // per column: index among numeric / categorical columns
  private numericCols: number[] = [];
  private catCols: number[] = [];
  private labelCol = -1;
  private ignored: number[] = [];
  private numeric = new ArrayBuilder(new Float32Array(1024));
  private catIds: Array<ArrayBuilder<Int32Array>> = [];
  private catMaps: Array<Map<string, number>> = [];
  private labelRaw: string[] = [];
  private missing = new Map<number, MissingReport>();
  private rows = 0;
  private firstLine = 1;
  private readonly numericNA: boolean;
  /** The schema the file is encoded with: `o.schema`, or with `ignoreLabel` its variant without a label (from setup()). */
  private schema: CsvSchema | undefined;

  constructor(
    private readonly source: string,
    private readonly o: CsvOptions,
  ) {
    const na = o.naValues ?? o.schema?.naValues ?? DEFAULT_NA;
    if (!Array.isArray(na) || na.some((v) => typeof v !== 'string')) throw new ArgumentError('naValues: expected an array of strings');
    this.na = new Set(na.map((v) => v.trim()));
    this.numericNA = [...this.na].some((v) => v !== '' && Number.isFinite(parseNumber(v)));
  }

  record = (fields: string[], line: number): void => {
    if (this.ncol < 0) {
      this.pending.push({ fields, line });
      if (this.pending.length >= 2) this.setup();
      return;
    }
    this.row(fields, line);
  };

  private isNumericCell(s: string): boolean {
    const t = s.trim();
    return !this.na.has(t) && Number.isFinite(parseNumber(t));
  }

  /** Decides the header and the column roles from the first (up to) two records. */
  private setup(): void {
    const o = this.o, src = this.source;
    const first = this.pending[0]!, second = this.pending[1];
    // ignoreLabel: the schema without its label, the column left out when the file has one column fewer.
    const schema = o.schema && o.ignoreLabel && o.schema.label !== null ? withoutLabel(o.schema, first.fields.length === o.schema.columns.length - 1) : o.schema;
    this.schema = schema;
    let header = schema ? (o.header === undefined || o.header === 'auto' ? schema.header : o.header) : (o.header ?? 'auto');
    if (header !== true && header !== false && header !== 'auto') throw new ArgumentError(`header: expected true, false or 'auto', got ${clip(header)}`);
    if (header === 'auto') {
      const named = [o.label, ...(o.categorical ?? []), ...(o.ignore ?? [])].some((r) => typeof r === 'string');
      if (named) header = true;
      else if (second) {
        // A header: some column holds text in the first record and a number in the second.
        header = first.fields.some((f, j) => {
          const t = f.trim();
          return !this.na.has(t) && !this.isNumericCell(t) && second.fields[j] !== undefined && this.isNumericCell(second.fields[j]!);
        });
      } else header = first.fields.some((f) => !this.na.has(f.trim()) && !this.isNumericCell(f));
    }
    this.hasHeader = header;
    this.ncol = first.fields.length;
    this.firstLine = first.line;
    const names = header ? first.fields.map((f) => f.trim()) : null;
    this.headerNames = names;
    const ncol = this.ncol;
    const roles: Role[] = new Array<Role>(ncol).fill(Role.Numeric);

    if (schema) {
      if (schema.columns.length !== ncol) {
        const s0 = o.schema!, label = s0.label !== null && o.ignoreLabel ? ` (${s0.columns.length - 1} without the label column ${quote(s0.columns[s0.label])})` : '';
        throw new DataError(`${src}:${first.line}: ${ncol} columns, but the schema (from the training file) has ${s0.columns.length}${label}: ${columnCountDiff(s0.header ? names : null, s0, o.ignoreLabel === true)}`);
      }
      if (schema.header && names) {
        const bad = names.map((nm, j) => [nm, schema.columns[j]!, j] as const).filter(([a, b]) => a !== b);
        if (bad.length)
          throw new DataError(
            `${src}:${first.line}: header does not match the schema: ` +
              bad
                .slice(0, 5)
                .map(([a, b, j]) => `column ${j} is ${quote(a)}, expected ${quote(b)}${headerHint(a, b, names)}`)
                .join('; ') +
              (bad.length > 5 ? `; and ${bad.length - 5} more` : ''),
          );
      }
      if (schema.label !== null) roles[schema.label] = Role.Label;
      for (const c of schema.categorical) roles[c.column] = Role.Categorical;
      for (const j of schema.ignored) roles[j] = Role.Ignore;
    } else {
      const claim = (j: number, r: Role, what: string) => {
        if (roles[j] !== Role.Numeric) throw new ArgumentError(`${what}: column ${j} is already used as ${['', 'categorical', 'the label', 'ignored'][roles[j]!]}`);
        roles[j] = r;
      };
      if (o.label !== undefined && o.label !== null) claim(resolveColumn(o.label, names, ncol, src, 'label'), Role.Label, 'label');
      if (o.categorical !== undefined && !Array.isArray(o.categorical)) throw new ArgumentError('categorical: expected an array of column names or indices');
      if (o.ignore !== undefined && !Array.isArray(o.ignore)) throw new ArgumentError('ignore: expected an array of column names or indices');
      for (const r of o.categorical ?? []) claim(resolveColumn(r, names, ncol, src, 'categorical'), Role.Categorical, 'categorical');
      for (const r of o.ignore ?? []) claim(resolveColumn(r, names, ncol, src, 'ignore'), Role.Ignore, 'ignore');
    }
    this.roles = roles;
    for (let j = 0; j < ncol; j++) {
      const r = roles[j]!;
      if (r === Role.Numeric) {
        this.slot[j] = this.numericCols.length;
        this.numericCols.push(j);
      } else if (r === Role.Categorical) {
        this.slot[j] = this.catCols.length;
        this.catCols.push(j);
        this.catIds.push(new ArrayBuilder(new Int32Array(1024)));
        const known = schema?.categorical.find((c) => c.column === j)?.categories;
        this.catMaps.push(new Map(known ? known.map((c, k) => [c, k]) : []));
      } else if (r === Role.Label) this.labelCol = j;
      else this.ignored.push(j);
    }
    if (this.numericCols.length + this.catCols.length === 0)
      throw new DataError(`${src}: no feature columns (every column is the label or ignored)`);
    const pend = this.pending;
    this.pending = [];
    for (let k = header ? 1 : 0; k < pend.length; k++) this.row(pend[k]!.fields, pend[k]!.line);
  }

  colName(j: number): string {
    const nm = this.headerNames?.[j];
    return nm ? `column ${j} (${quote(nm)})` : `column ${j}`;
  }

  private noteMissing(j: number, line: number): void {
    let r = this.missing.get(j);
    if (!r) this.missing.set(j, (r = { count: 0, lines: [] }));
    r.count++;
    if (r.lines.length < MAX_REPORT_LINES) r.lines.push(line);
  }

  private row(fields: string[], line: number): void {
    const ncol = this.ncol;
    if (fields.length !== ncol)
      throw new DataError(`${this.source}:${line}: ${fields.length} fields, expected ${ncol} (as in line ${this.firstLine}); a field containing the delimiter or a line break must be quoted`);
    if ((this.rows + 1) * (this.numericCols.length + this.catCols.length) > MAX_VALUES)
      throw new DataError(`${this.source}:${line}: more than ${MAX_VALUES} cells (2^31 - 1), the most imix reads from one file`);
    const roles = this.roles, num = this.numeric, na = this.na;
    for (let j = 0; j < ncol; j++) {
      const role = roles[j]!;
      if (role === Role.Ignore) continue;
      let s = fields[j]!;
      if (role === Role.Numeric) {
        let v = parseNumber(s);
        if (v !== v) {
          s = s.trim();
          if (!na.has(s)) {
            if (NONFINITE.test(s))
              throw new DataError(`${this.source}:${line}: ${this.colName(j)}: ${quote(s)} is not a finite number (NaN/Inf cells are not allowed; add the text to naValues to treat it as missing)`);
            throw new DataError(`${this.source}:${line}: ${this.colName(j)}: ${quote(s)} is not a number (declare the column categorical to one-hot encode it)`);
          }
          this.noteMissing(j, line);
        } else if (s.length === 0 || s.charCodeAt(0) <= SPACE || (this.numericNA && na.has(s))) {
          // Number('') and Number('  ') are 0, so blank cells land here; so do numeric NA tokens such as '-999'.
          if (na.has(s.trim())) {
            this.noteMissing(j, line);
            v = NaN;
          }
        }
        if (v === v && !Number.isFinite(Math.fround(v))) {
          const t = s.trim();
          throw new DataError(
            NONFINITE.test(t)
              ? `${this.source}:${line}: ${this.colName(j)}: ${quote(t)} is not a finite number (NaN/Inf cells are not allowed; add the text to naValues to treat it as missing)`
              : `${this.source}:${line}: ${this.colName(j)}: ${clip(t)} does not fit a float32`,
          );
        }
        num.push(v);
      } else if (role === Role.Categorical) {
        s = s.trim();
        const k = this.slot[j]!;
        if (na.has(s)) {
          this.noteMissing(j, line);
          this.catIds[k]!.push(-1);
          continue;
        }
        const m = this.catMaps[k]!;
        let id = m.get(s);
        if (id === undefined) {
          if (this.o.schema) {
            if ((this.o.unknownCategory ?? 'error') === 'error')
              throw new DataError(`${this.source}:${line}: ${this.colName(j)}: category ${quote(s)} does not occur in the training file (known: ${listValues([...m.keys()])}); pass unknownCategory: 'ignore' to encode it as all zeros`);
            id = -2;
          } else {
            id = m.size;
            m.set(s, id);
          }
        }
        this.catIds[k]!.push(id);
      } else {
        s = s.trim();
        if (na.has(s)) this.noteMissing(j, line);
        this.labelRaw.push(s);
      }
    }
    this.rows++;
  }

  /** The dataset and its schema, from the rows read; `policy` says what to do with missing cells. */
  finish(policy: MissingPolicy): CsvResult {
    if (this.ncol < 0) {
      if (this.pending.length === 0) throw new DataError(`${this.source}: empty file (no records)`);
      this.setup();
    }
    if (this.rows === 0) throw new DataError(`${this.source}: no data rows${this.hasHeader ? ' (only a header)' : ''}`);
    this.checkMissing(policy);
    const layout = this.layout();
    const x = this.matrix(layout);
    const means = this.means(x, layout);
    this.fillMissing(x, layout, policy, means);
    const label = this.labels();
    const name = this.o.name ?? path.basename(this.source);
    const dataset: Dataset = { x, n: this.rows, sampleShape: [layout.features.length], labels: label.labels, numClasses: label.numClasses, name };
    return { dataset, schema: this.outSchema(policy, layout, means, label) };
  }

  /** Missing cells: a missing label is always an error; missing features are one under the `'error'` policy. */
  private checkMissing(policy: MissingPolicy): void {
    const labelMissing = this.labelCol >= 0 ? this.missing.get(this.labelCol) : undefined;
    if (labelMissing) throw new DataError(`${this.source}: missing labels: ${this.describeMissing([this.labelCol])}`);
    const missCols = this.missingColumns();
    if (missCols.length && policy === 'error') {
      const total = missCols.reduce((a, j) => a + this.missing.get(j)!.count, 0);
      throw new DataError(`${this.source}: ${total} missing cells: ${this.describeMissing(missCols)}. Pass missing: 'mean' or 'zero' to fill them.`);
    }
  }

  /** The columns that have missing cells, in column order. */
  private missingColumns(): number[] {
    return [...this.missing.keys()].sort((a, b) => a - b);
  }

  /** Each column's count of missing cells and the first lines that have one. */
  private describeMissing(cols: number[]): string {
    return cols
      .map((j) => {
        const r = this.missing.get(j)!;
        return `${this.colName(j)}: ${r.count} missing (lines ${r.lines.join(', ')}${r.count > r.lines.length ? ', ...' : ''})`;
      })
      .join('; ');
  }

  /** The output features, in column order: a numeric column's one, a categorical column's one per category. */
  private layout(): FeatureLayout {
    const { cats, remap } = this.categories();
    const features: string[] = [];
    const featOf: number[] = [];
    for (let j = 0; j < this.ncol; j++) {
      featOf[j] = features.length;
      const nm = this.headerNames?.[j] || (this.schema?.columns[j] ?? `column ${j}`);
      if (this.roles[j] === Role.Numeric) features.push(nm);
      else if (this.roles[j] === Role.Categorical) for (const c of cats[this.slot[j]!]!) features.push(`${nm}=${c}`);
    }
    this.checkSize(features.length, cats);
    return { cats, remap, features, featOf };
  }

  /** Each categorical column's categories, sorted (or the schema's), and the remap from its discovery ids to them. */
  private categories(): Pick<FeatureLayout, 'cats' | 'remap'> {
    const cats: string[][] = [];
    const remap: Int32Array[] = [];
    for (let k = 0; k < this.catCols.length; k++) {
      const m = this.catMaps[k]!;
      if (this.schema) {
        cats.push(this.schema.categorical.find((c) => c.column === this.catCols[k])!.categories);
        remap.push(Int32Array.from({ length: m.size }, (_, i) => i));
      } else {
        const sorted = sortCategories(m.keys());
        const pos = new Map(sorted.map((c, i) => [c, i]));
        cats.push(sorted);
        remap.push(Int32Array.from([...m.keys()], (c) => pos.get(c)!));
      }
    }
    return { cats, remap };
  }

  /** `F` features: none, or more values than imix reads from one file, is an error. */
  private checkSize(F: number, cats: string[][]): void {
    const n = this.rows;
    if (F === 0) throw new DataError(`${this.source}: no features (the categorical columns have no categories)`);
    if (n * F > MAX_VALUES) {
      const widest = cats.reduce((w, c, k) => (c.length > (cats[w]?.length ?? -1) ? k : w), 0);
      const hint = cats.length ? `; ${this.colName(this.catCols[widest]!)} alone has ${cats[widest]!.length} categories` : '';
      throw new DataError(`${this.source}: ${n} rows of ${F} features are ${n * F} values, more than the ${MAX_VALUES} (2^31 - 1) imix reads from one file${hint}`);
    }
  }

  /** The `[n, F]` features: numeric values and one-hot categories; a missing category is a NaN in its first feature until fillMissing. */
  private matrix({ features, featOf, remap, cats }: FeatureLayout): Float32Array {
    const n = this.rows, F = features.length;
    const x = new Float32Array(n * F);
    const nNum = this.numericCols.length, numBuf = this.numeric.buf;
    const numFeat = this.numericCols.map((j) => featOf[j]!);
    for (let i = 0; i < n; i++) {
      const row = i * F, src0 = i * nNum;
      for (let k = 0; k < nNum; k++) x[row + numFeat[k]!] = numBuf[src0 + k]!;
    }
    for (let k = 0; k < this.catCols.length; k++) {
      const base = featOf[this.catCols[k]!]!, ids = this.catIds[k]!.buf, rm = remap[k]!;
      // A column with no category (every cell missing) has no features: nothing to mark.
      const marks = cats[k]!.length > 0;
      for (let i = 0; i < n; i++) {
        const id = ids[i]!;
        if (id >= 0) x[i * F + base + rm[id]!] = 1;
        else if (id === -1 && marks) x[i * F + base] = NaN; // missing: filled by fillMissing
      }
    }
    return x;
  }

  /** Each feature's mean over its present cells (a one-hot feature's: its category's frequency). */
  private means(x: Float32Array, { features, featOf, cats }: FeatureLayout): number[] {
    const n = this.rows, F = features.length;
    const present = new Float64Array(F), sums = new Float64Array(F);
    for (const j of this.numericCols) {
      const f = featOf[j]!;
      for (let i = 0; i < n; i++) {
        const v = x[i * F + f]!;
        if (v === v) {
          sums[f]! += v;
          present[f]!++;
        }
      }
    }
    for (let k = 0; k < this.catCols.length; k++) {
      const base = featOf[this.catCols[k]!]!, w = cats[k]!.length, ids = this.catIds[k]!.buf;
      let cnt = 0;
      for (let i = 0; i < n; i++) if (ids[i]! !== -1) cnt++;
      for (let c = 0; c < w; c++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += x[i * F + base + c] === 1 ? 1 : 0;
        sums[base + c] = s;
        present[base + c] = cnt;
      }
    }
    return Array.from(sums, (s, f) => (present[f]! > 0 ? s / present[f]! : 0));
  }

  /** Fills the missing cells: with 0 under `'zero'`, else with the schema's means or, without a schema, `means`. */
  private fillMissing(x: Float32Array, { features, featOf, cats }: FeatureLayout, policy: MissingPolicy, means: number[]): void {
    const missCols = this.missingColumns();
    if (!missCols.length) return;
    const n = this.rows, F = features.length;
    const fill = policy === 'zero' ? null : (this.schema?.means ?? means);
    for (const j of missCols) {
      if (this.roles[j] === Role.Numeric) {
        const f = featOf[j]!, v = fill ? fill[f]! : 0;
        for (let i = 0; i < n; i++) if (x[i * F + f] !== x[i * F + f]) x[i * F + f] = v;
      } else {
        const k = this.slot[j]!, base = featOf[j]!, w = cats[k]!.length, ids = this.catIds[k]!.buf;
        for (let i = 0; i < n; i++)
          if (ids[i] === -1) for (let c = 0; c < w; c++) x[i * F + base + c] = fill ? fill[base + c]! : 0;
      }
    }
  }

  /**
   * The labels as class indices: non-negative integers as given (with a
   * schema, only if its labels were such integers), anything else as the
   * index of its class among the sorted classes (or the schema's).
   */
  private labels(): LabelColumn {
    if (this.labelCol < 0) return { labels: undefined, labelClasses: null, numClasses: undefined };
    const raw = this.labelRaw, schema = this.schema;
    const known = schema ? schema.labelClasses : null;
    if (schema && !known) return this.integerLabelsAsSchema(raw, schema);
    if (!known && raw.every((s) => labelInt(s) >= 0 && labelInt(s) <= 2 ** 31 - 1)) return this.integerLabels(raw);
    return this.classLabels(raw, known ?? sortCategories(new Set(raw)));
  }

  /** Integer labels, as the schema's were: anything else is an error. */
  private integerLabelsAsSchema(raw: string[], schema: CsvSchema): LabelColumn {
    const n = this.rows, labels = new Int32Array(n);
    let max = -1;
    for (let i = 0; i < n; i++) {
      const v = labelInt(raw[i]!);
      if (v < 0 || v > 2 ** 31 - 1) throw new DataError(`${this.source}: ${this.colName(this.labelCol)}: label ${quote(raw[i])} (row ${i}) is not a non-negative integer, as the training file's labels were`);
      labels[i] = v;
      max = Math.max(max, v);
    }
    return { labels, labelClasses: null, numClasses: Math.max(max + 1, schema.numClasses ?? 0) };
  }

  /** Labels that are all non-negative integers: used as given. */
  private integerLabels(raw: string[]): LabelColumn {
    const n = this.rows, labels = new Int32Array(n);
    let max = -1;
    for (let i = 0; i < n; i++) {
      labels[i] = Number(raw[i]);
      if (labels[i]! > max) max = labels[i]!;
    }
    return { labels, labelClasses: null, numClasses: max + 1 };
  }

  /** Labels as the index of each row's class in `classes`; a class not in it is an error. */
  private classLabels(raw: string[], classes: string[]): LabelColumn {
    const n = this.rows, labels = new Int32Array(n);
    const pos = new Map(classes.map((c, i) => [c, i]));
    for (let i = 0; i < n; i++) {
      const id = pos.get(raw[i]!);
      if (id === undefined)
        throw new DataError(`${this.source}: ${this.colName(this.labelCol)}: class ${quote(raw[i])} (row ${i}) does not occur in the training file (classes: ${listValues(classes)})`);
      labels[i] = id;
    }
    return { labels, labelClasses: classes, numClasses: classes.length };
  }

  /** The schema to return: the one given (with this load's missing policy), or everything this load decided. */
  private outSchema(policy: MissingPolicy, { cats, features }: FeatureLayout, means: number[], label: LabelColumn): CsvSchema {
    if (this.schema) return { ...this.schema, missing: policy };
    return {
      format: 'imix-csv-schema',
      version: 1,
      delimiter: this.o.delimiter ?? ',',
      header: this.hasHeader,
      columns: Array.from({ length: this.ncol }, (_, j) => this.headerNames?.[j] || `column ${j}`),
      label: this.labelCol >= 0 ? this.labelCol : null,
      labelClasses: label.labelClasses,
      numClasses: label.numClasses ?? null,
      categorical: this.catCols.map((column, k) => ({ column, categories: cats[k]! })),
      ignored: [...this.ignored],
      features,
      means,
      missing: policy,
      naValues: [...this.na],
    };
  }
}

/**
 * `s` without its label: the label column ignored (`dropped` false) or, for
 * a file that leaves it out, removed and the later column indices shifted
 * down. Features and means stay: the label was never a feature.
 */
function withoutLabel(s: CsvSchema, dropped: boolean): CsvSchema {
  const L = s.label!;
  const unlabelled = { ...s, label: null, labelClasses: null, numClasses: null };
  if (!dropped) return { ...unlabelled, ignored: [...s.ignored, L].sort((a, b) => a - b) };
  const shift = (j: number) => (j > L ? j - 1 : j);
  return {
    ...unlabelled,
    columns: s.columns.filter((_, j) => j !== L),
    categorical: s.categorical.map((c) => ({ ...c, column: shift(c.column) })),
    ignored: s.ignored.map(shift),
  };
}

function checkOptions(o: CsvOptions, extraKeys: string[] = []): { delimiter: string; policy: MissingPolicy } {
  if (o === null || typeof o !== 'object') throw new ArgumentError('options: expected an object');
  checkOptionKeys(o, csvOptionKeys(...extraKeys));
  const policy = o.missing ?? o.schema?.missing ?? 'error';
  if (policy !== 'error' && policy !== 'mean' && policy !== 'zero') throw new ArgumentError(`missing: expected 'error', 'mean' or 'zero', got ${clip(policy)}`);
  if (o.unknownCategory !== undefined && o.unknownCategory !== 'error' && o.unknownCategory !== 'ignore')
    throw new ArgumentError(`unknownCategory: expected 'error' or 'ignore', got ${clip(o.unknownCategory)}`);
  if (o.schema !== undefined) {
    const s = o.schema;
    if (s === null || typeof s !== 'object' || s.format !== 'imix-csv-schema' || s.version !== 1 || !Array.isArray(s.columns) || !Array.isArray(s.means))
      throw new ArgumentError('schema: expected the schema returned by an earlier loadCsv');
    for (const k of ['label', 'categorical', 'ignore'] as const)
      if (o[k] !== undefined) throw new ArgumentError(`${k}: give either a schema or label/categorical/ignore, not both (the schema fixes the columns)`);
  }
  if (o.ignoreLabel !== undefined && typeof o.ignoreLabel !== 'boolean') throw new ArgumentError(`ignoreLabel: expected a boolean, got ${clip(o.ignoreLabel)}`);
  if (o.ignoreLabel && o.schema === undefined) throw new ArgumentError('ignoreLabel: only with a schema (without one, leave out the label option)');
  const delimiter = o.delimiter ?? o.schema?.delimiter ?? ',';
  return { delimiter, policy };
}

/**
 * Parses CSV text already in memory (`source` names it in errors). See {@link loadCsv}.
 */
export function parseCsv(text: string, options: CsvOptions & { source?: string } = {}): CsvResult {
  if (typeof text !== 'string') throw new ArgumentError('text: expected a string');
  const { delimiter, policy } = checkOptions(options, ['source']);
  const source = options.source ?? 'csv';
  const b = new TableBuilder(source, { ...options, delimiter });
  const t = new CsvTokenizer(delimiter, b.record, source);
  t.push(text);
  t.end();
  return b.finish(policy);
}

const CHUNK = 1 << 20;

/**
 * Loads a CSV/TSV file (gzip detected from the content) as a dataset of
 * `[F]` float32 samples, and the schema that encodes further files the same
 * way. Every column is a numeric feature unless it is the `label`, listed in
 * `categorical` (one-hot, categories sorted) or in `ignore`.
 *
 * Labels: non-negative integers are used as given; anything else (strings,
 * negative or fractional numbers) is mapped to the index of the class in the
 * sorted list of classes (`schema.labelClasses`).
 *
 * Errors — all {@link DataError}s naming the file, the line and the column:
 * a missing file, an empty file or one with only a header, a row with the
 * wrong number of fields, text or NaN/Inf in a numeric column, a value out
 * of float32 range, an unclosed quote, a label or categorical column that
 * does not exist (with the column a miscased or misspelled name most likely
 * meant), missing cells under `missing: 'error'` (one error listing
 * every column's count and first lines), a category or class the schema
 * does not know. Bounds (hostile files): a gzip file may inflate to at most
 * 256 MiB, a field hold at most 16 MiB, a record at most 2²⁰ fields and
 * 256 MiB, the table at most 2³¹ − 1 values (one-hot features included).
 * Values quoted in messages are cut to their first 40 characters, and lists
 * of a wide table's columns keep the columns a message is about.
 *
 * @example
 * const { dataset: train, schema } = loadCsv('train.csv', { label: 'species', categorical: ['island'] });
 * const { dataset: test } = loadCsv('test.csv', { schema });
 */
export function loadCsv(file: string, options: CsvOptions = {}): CsvResult {
  if (typeof file !== 'string') throw new ArgumentError('file: expected a path string');
  const { delimiter, policy } = checkOptions(options);
  const b = new TableBuilder(file, { ...options, delimiter });
  const t = new CsvTokenizer(delimiter, b.record, file);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new DataError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const head = Buffer.alloc(2);
    const hn = fs.readSync(fd, head, 0, 2, 0);
    if (isGzip(head.subarray(0, hn))) {
      let compressed: Buffer;
      try {
        compressed = fs.readFileSync(file);
      } catch (e) {
        throw new DataError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
      // A CSV has no header announcing its size: a gzip one is inflated in memory up to a fixed bound.
      const raw = inflateAtMost(compressed, MAX_GZIP_CSV_BYTES, file, () =>
        new DataError(`${file}: inflates to more than ${MAX_GZIP_CSV_BYTES} bytes (256 MiB), the most imix inflates a gzip CSV to; decompress it first (an uncompressed CSV is read in 1 MiB pieces, any size)`),
      );
      // Bytes go to the tokenizer as they are: csv-parse decodes each field (a UTF-8 sequence may straddle two chunks).
      for (let off = 0; off < raw.length; off += CHUNK) t.push(raw.subarray(off, Math.min(off + CHUNK, raw.length)));
    } else {
      const buf = Buffer.allocUnsafe(CHUNK);
      let pos = 0;
      for (;;) {
        const got = fs.readSync(fd, buf, 0, CHUNK, pos);
        if (got <= 0) break;
        pos += got;
        t.push(buf.subarray(0, got));
      }
    }
    t.end();
  } finally {
    fs.closeSync(fd);
  }
  return b.finish(policy);
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

/**
 * The shortest decimal that reads back as the same float32 (at most 9
 * significant digits), e.g. `0.1` for `Math.fround(0.1)`.
 */
export function formatFloat32(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const f = Math.fround(v);
  for (let p = 6; p <= 9; p++) {
    const s = f.toPrecision(p);
    if (Math.fround(Number(s)) === f) {
      if (p > 6) return String(Number(s));
      // Fewer digits may do.
      for (let q = 1; q < 6; q++) {
        const t = f.toPrecision(q);
        if (Math.fround(Number(t)) === f) return String(Number(t));
      }
      return String(Number(s));
    }
  }
  return String(f);
}

function quoteField(s: string, delimiter: string): string {
  return s.includes(delimiter) || s.includes('"') || s.includes('\n') || s.includes('\r') ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Options of {@link writeCsv}. */
export interface WriteCsvOptions {
  /** Column names (one per column), `true` for `f0, f1, ...`, or false/absent for no header. */
  header?: string[] | boolean;
  /** A label per row, written as the last column `label`. */
  labels?: Int32Array | number[];
  /** Default `','`. */
  delimiter?: string;
}

/**
 * Writes a float32 matrix `[rows, cols]` (e.g. embeddings) as CSV, atomically
 * (a temporary file renamed over `file`: a reader never sees half a file).
 * Values are written with the fewest digits that read back as the same
 * float32.
 */
export function writeCsv(file: string, data: Float32Array, cols: number, options: WriteCsvOptions = {}): void {
  if (!(data instanceof Float32Array)) throw new ArgumentError('data: expected a Float32Array');
  if (!Number.isInteger(cols) || cols < 1 || data.length % cols !== 0)
    throw new ArgumentError(`cols: ${cols} does not divide the ${data.length} values into rows`);
  const rows = data.length / cols;
  const d = options.delimiter ?? ',';
  if (typeof d !== 'string' || d.length !== 1 || d === '"' || d === '\n' || d === '\r') throw new ArgumentError(`delimiter: expected one character other than a quote or a line break`);
  const labels = options.labels;
  if (labels !== undefined && labels.length !== rows) throw new ArgumentError(`labels: ${labels.length} labels for ${rows} rows`);
  const chunks: string[] = [];
  const h = options.header;
  if (h) {
    const names = h === true ? Array.from({ length: cols }, (_, j) => `f${j}`) : h;
    if (!Array.isArray(names) || names.length !== cols) throw new ArgumentError(`header: expected ${cols} column names`);
    chunks.push([...names, ...(labels ? ['label'] : [])].map((s) => quoteField(String(s), d)).join(d) + '\n');
  }
  let part: string[] = [];
  for (let i = 0; i < rows; i++) {
    const cells: string[] = new Array<string>(cols);
    for (let j = 0; j < cols; j++) cells[j] = formatFloat32(data[i * cols + j]!);
    if (labels) cells.push(String(labels[i]));
    part.push(cells.join(d));
    if (part.length === 4096) {
      chunks.push(part.join('\n') + '\n');
      part = [];
    }
  }
  if (part.length) chunks.push(part.join('\n') + '\n');
  writeFileAtomic(file, chunks);
}
