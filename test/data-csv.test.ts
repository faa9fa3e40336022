// The CSV tokenizer on csv-parse held to a plain reference: random tables in
// imix's dialect (quoted fields with delimiters, quotes and line breaks,
// CRLF/LF/CR line ends, blank lines, a BOM, multi-byte characters) whose
// records and physical start lines are known by construction, cut into
// chunks anywhere (strings and bytes); the dialect's lenient cases; and the
// messages that name columns: the case-insensitive "did you mean" and lists
// of a wide table's columns that keep the column the user meant.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CsvTokenizer, loadCsv, parseCsv, tokenizeCsv } from '../lib/data/index';
import { didYouMean, guessColumn, listColumns } from '../lib/data/columns';
import { DataError } from '../lib/errors';
import { caught, rng } from './helpers';

type Rec = { fields: string[]; line: number };

/**
 * A random table in imix's dialect, with the records it must parse to and
 * the physical line each starts on (counted here, a CRLF as one line).
 */
function randomTable(r: () => number, delimiter: string): { text: string; want: Rec[] } {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const ends = ['\n', '\r\n', '\r'];
  // Unquoted text: no delimiter, quote at the start or line break; a quote later is text (5'11").
  const plain = ['a', 'b', 'Z', '1', '-', '.', ' ', 'é', '😀', '"', "'"];
  // Quoted text: anything, a quote written twice.
  const quoted = [...plain.filter((c) => c !== '"'), delimiter, '""', '\n', '\r\n', '\r', ','];
  let text = r() < 0.3 ? '\ufeff' : '';
  let line = 1;
  const want: Rec[] = [];
  const breaks = (s: string) => (s.match(/\r\n|\r|\n/g) ?? []).length;
  const nrec = 1 + Math.floor(r() * 12);
  const width = 1 + Math.floor(r() * 4);
  for (let k = 0; k < nrec; k++) {
    while (r() < 0.2) {
      const e = pick(ends);
      // A blank line: a lone CR before an LF would make one CRLF, so blank lines after a CR are CR too.
      const blank = text.endsWith('\r') && e === '\n' ? '\r' : e;
      text += blank;
      line++;
    }
    const fields: string[] = [];
    const cells: string[] = [];
    const n = r() < 0.1 ? width + 1 : width; // some ragged records
    for (let j = 0; j < n; j++) {
      if (r() < 0.4) {
        let raw = '';
        const len = Math.floor(r() * 6);
        for (let c = 0; c < len; c++) raw += pick(quoted);
        cells.push(`"${raw}"${r() < 0.2 ? '  ' : ''}`); // spaces after a closing quote are skipped
        fields.push(raw.replace(/""/g, '"'));
      } else {
        let raw = '';
        const len = Math.floor(r() * 6);
        for (let c = 0; c < len; c++) {
          const ch = pick(plain);
          raw += c === 0 && ch === '"' ? 'q' : ch;
        }
        cells.push(raw);
        fields.push(raw.replace(/\s+$/, '')); // the end of an unquoted field is trimmed
      }
    }
    // One empty unquoted field is a blank line: quote it.
    if (cells.length === 1 && cells[0] === '') (cells[0] = '""'), (fields[0] = '');
    const body = cells.join(delimiter);
    want.push({ fields, line });
    line += breaks(body);
    text += body;
    if (k < nrec - 1 || r() < 0.5) {
      const e = pick(ends);
      text += e;
      line++;
    }
  }
  return { text, want };
}

/** Pushes `text` cut at `cuts` (string pieces, or UTF-8 byte pieces that may split a character). */
function chunked(text: string, cuts: number[], delimiter: string, bytes: boolean): Rec[] {
  const got: Rec[] = [];
  const t = new CsvTokenizer(delimiter, (fields, line) => got.push({ fields, line }));
  const src: string | Buffer = bytes ? Buffer.from(text, 'utf8') : text;
  let at = 0;
  for (const c of [...cuts, src.length]) {
    if (bytes) {
      // A reused buffer: the tokenizer must not keep a view of it.
      const piece = Buffer.from((src as Buffer).subarray(at, c));
      t.push(piece);
      piece.fill(0x41);
    } else t.push((src as string).slice(at, c));
    at = c;
  }
  t.end();
  return got;
}

describe('CSV tokenizer (csv-parse) against a reference', () => {
  it('random tables: records and physical start lines, whole and cut into chunks anywhere', () => {
    const r = rng(20260915);
    for (let trial = 0; trial < 400; trial++) {
      const delimiter = [',', ';', '\t', '|'][trial % 4]!;
      const { text, want } = randomTable(r, delimiter);
      let whole: Rec[] | string;
      try {
        whole = tokenizeCsv(text, delimiter);
      } catch (e) {
        whole = `${(e as Error).message} in ${JSON.stringify(text)}`;
      }
      expect(whole, `trial ${trial}: ${JSON.stringify(text)}`).toEqual(want);
      const n = Buffer.byteLength(text);
      const cuts = Array.from({ length: 3 }, () => Math.floor(r() * n)).sort((a, b) => a - b);
      expect(chunked(text, cuts, delimiter, true), `trial ${trial} bytes cut at ${cuts}`).toEqual(want);
      const sc = cuts.map((c) => Math.min(c, text.length));
      expect(chunked(text, sc, delimiter, false), `trial ${trial} text cut at ${sc}`).toEqual(want);
    }
  });

  it('one byte at a time, through multi-byte characters and a BOM', () => {
    const text = '\ufeffnamé,"😀, ""q""",n\r\n"two\r\nlines",x,1\n\n"é\rr",😀,2';
    const want = [
      { fields: ['namé', '😀, "q"', 'n'], line: 1 },
      { fields: ['two\r\nlines', 'x', '1'], line: 2 },
      { fields: ['é\rr', '😀', '2'], line: 5 },
    ];
    expect(tokenizeCsv(text)).toEqual(want);
    const n = Buffer.byteLength(text);
    expect(chunked(text, Array.from({ length: n - 1 }, (_, i) => i + 1), ',', true)).toEqual(want);
    // A string chunk that ends between the two halves of a surrogate pair.
    const cut = text.indexOf('😀') + 1;
    expect(chunked(text, [cut], ',', false)).toEqual(want);
  });

  it('the lenient cases: a quote inside an unquoted field, spaces around fields, a UTF-16LE file with its BOM', () => {
    expect(tokenizeCsv('h,w\n5\'11",x"y\n').map((r) => r.fields)).toEqual([
      ['h', 'w'],
      ['5\'11"', 'x"y'],
    ]);
    expect(tokenizeCsv(' a ,"b" ,  "c"\n').map((r) => r.fields)).toEqual([[' a', 'b', '  "c"']]);
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'imix-csv-'));
    const f = path.join(d, 'utf16.csv');
    fs.writeFileSync(f, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('tür,n\r\n1,2\r\n3,4\r\n', 'utf16le')]));
    const { dataset, schema } = loadCsv(f, { label: 'n' });
    expect(schema.columns).toEqual(['tür', 'n']);
    expect(Array.from(dataset.x)).toEqual([1, 3]);
    expect(Array.from(dataset.labels!)).toEqual([2, 4]);
  });

  it('line numbers in the table errors count lines inside quoted fields and blank lines', () => {
    const e = caught(() => parseCsv('a,b\r\n"x\r\ny",1\r\n\r\n\r\n2,oops\r\n', { categorical: ['a'], source: 'l.csv' }));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toMatch(/^l\.csv:6: column 1 \("b"\): "oops" is not a number/);
    expect(caught(() => parseCsv('a,b\n"1\n\n",2\n3\n', { header: true, source: 'r.csv' })).message).toMatch(/^r\.csv:5: 1 fields, expected 2 \(as in line 1\)/);
  });
});

describe('column names in messages', () => {
  const wide = Array.from({ length: 300 }, (_, j) => `x${j}`);
  wide[200] = 'petal_width';
  const table = (names: string[]) => names.join(',') + '\n' + names.map((_, j) => j).join(',') + '\n';

  it('guesses the column a miscased or misspelled name meant, and lists long tables around it', () => {
    expect(guessColumn('Species', ['a', 'species'])).toBe(1);
    expect(guessColumn('PETAL WIDTH', wide)).toBe(200);
    expect(guessColumn('petal_widht', wide)).toBe(200);
    expect(guessColumn('zzz', wide)).toBe(-1);
    expect(didYouMean('Species', ['a', 'species'])).toBe('; did you mean "species"?');
    expect(didYouMean('zzz', ['a'])).toBe('');
    expect(listColumns(['a', 'b'])).toBe('a, b');
    expect(listColumns(wide.slice(0, 20))).toBe(wide.slice(0, 20).join(', '));
    expect(listColumns(wide, [200])).toBe('x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, …, x198, x199, petal_width (column 200), x201, x202, … (300 columns)');
    expect(listColumns(wide, [299, 5])).toBe('x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, …, x297, x298, x299 (column 299) (300 columns)');
    // Long names are cut, and compared on their first 64 characters (no 5 MB edit distance).
    const long = 'n'.repeat(5 * 2 ** 20);
    const t0 = Date.now();
    expect(guessColumn(long + 'x', ['a', long])).toBe(1);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(listColumns(['a', long])).toBe(`a, ${'n'.repeat(40)}… (5242880 characters)`);
  });

  it('an unknown label, categorical or ignored column: did you mean, and the list keeps it in a wide table', () => {
    expect(caught(() => parseCsv('species,b\n1,2\n', { label: 'Species', source: 'h.csv' })).message).toBe('h.csv: label: no column "Species"; did you mean "species"? (columns: species, b)');
    const e = caught(() => parseCsv(table(wide), { label: 'Petal Width', source: 'w.csv' }));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toBe('w.csv: label: no column "Petal Width"; did you mean "petal_width"? (columns: x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, …, x198, x199, petal_width (column 200), x201, x202, … (300 columns))');
    expect(caught(() => parseCsv(table(wide), { categorical: ['X250'], source: 'w.csv' })).message).toMatch(/^w\.csv: categorical: no column "X250"; did you mean "x250"\? \(columns: x0, .*, x11, …, x248, x249, x250 \(column 250\), x251, x252, … \(300 columns\)\)$/);
    expect(caught(() => parseCsv(table(wide), { ignore: ['nothing like it'], source: 'w.csv' })).message).toMatch(/^w\.csv: ignore: no column "nothing like it" \(columns: x0, .*, x11, … \(300 columns\)\)$/);
  });

  it('schema mismatches name the columns that differ, however wide the table', () => {
    const { schema } = parseCsv(table(wide), { label: 'petal_width' });
    const lacks = wide.filter((_, j) => j !== 37);
    expect(caught(() => parseCsv(table(lacks), { schema, source: 't.csv' })).message).toBe(
      't.csv:1: 299 columns, but the schema (from the training file) has 300: the file has no column "x37" (schema column 37)',
    );
    const renamed = [...wide, 'extra'];
    renamed[37] = 'X37';
    expect(caught(() => parseCsv(table(renamed), { schema, source: 't.csv' })).message).toBe(
      't.csv:1: 301 columns, but the schema (from the training file) has 300: the file has no column "x37" (schema column 37); the schema has no column "X37" (file column 37; did you mean "x37"?), "extra" (file column 300)',
    );
    const cased = [...wide];
    cased[37] = 'X37';
    expect(caught(() => parseCsv(table(cased), { schema, source: 't.csv' })).message).toBe('t.csv:1: header does not match the schema: column 37 is "X37", expected "x37" (names are case-sensitive)');
    const swapped = [...wide];
    [swapped[3], swapped[4]] = [swapped[4]!, swapped[3]!];
    expect(caught(() => parseCsv(table(swapped), { schema, source: 't.csv' })).message).toBe(
      't.csv:1: header does not match the schema: column 3 is "x4", expected "x3" (the file has it as column 4); column 4 is "x3", expected "x4" (the file has it as column 3)',
    );
    // ignoreLabel: the label column may be left out; another missing one is named.
    const unl = wide.filter((_, j) => j !== 200 && j !== 9);
    expect(caught(() => parseCsv(table(unl), { schema, ignoreLabel: true, source: 'u.csv' })).message).toMatch(
      /^u\.csv:1: 298 columns, but the schema \(from the training file\) has 300 \(299 without the label column "petal_width"\): the file has no column "x9" \(schema column 9\)$/,
    );
    // Without a header, the schema's columns (shortened).
    const { schema: s2 } = parseCsv(wide.map((_, j) => j).join(',') + '\n', { header: false });
    expect(caught(() => parseCsv('1,2\n', { schema: s2, source: 'n.csv' })).message).toBe('n.csv:1: 2 columns, but the schema (from the training file) has 300: column 0, column 1, column 2, column 3, column 4, column 5, column 6, column 7, column 8, column 9, column 10, column 11, … (300 columns)');
  });
});
