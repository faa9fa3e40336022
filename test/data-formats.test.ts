// Data loaders on real files written into a temp dir, the bundled
// Fashion-MNIST IDX files, numpy-written .npy fixtures (test/fixtures/gen_npy.py),
// and malformed inputs of every kind.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ArgumentError, DataError, ValueError } from '../lib/errors';
import { fashionMnist } from '../lib/data/dataset';
import {
  CsvTokenizer,
  formatFloat32,
  loadCsv,
  parseCsv,
  tokenizeCsv,
  writeCsv,
  encodeNpy,
  loadDataset,
  parseNpy,
  readNpy,
  readNpyLabels,
  trainTestSplit,
  writeNpy,
} from '../lib/data/index';
import { writeFileAtomic } from '../lib/io/atomic';
import { caught, randn, rng } from './helpers';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'imix-data-'));
const write = (dir: string, name: string, text: string | Uint8Array) => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
};
const FIX = path.join(__dirname, 'fixtures', 'npy');
const FMNIST = path.join(__dirname, '..', 'data', 'fashion-mnist');

// ---------------------------------------------------------------------------
describe('CSV tokenizer (RFC 4180)', () => {
  const tricky =
    '\ufeffname,"note, with comma",n\r\n' +
    '"a ""quoted"" word","two\r\nlines",1\r\n' +
    '\r\n' + // blank line: skipped
    'plain,"",2\n' +
    '"x","multi\nline\nfield",3\r' + // lone CR ends a record too
    'last,"tail" ,4'; // no final newline; space after a closing quote is skipped
  const want = [
    { fields: ['name', 'note, with comma', 'n'], line: 1 },
    { fields: ['a "quoted" word', 'two\r\nlines', '1'], line: 2 },
    { fields: ['plain', '', '2'], line: 5 },
    { fields: ['x', 'multi\nline\nfield', '3'], line: 6 },
    { fields: ['last', 'tail', '4'], line: 9 },
  ];

  it('parses quoted fields, escaped quotes, embedded delimiters and line breaks, CRLF/LF/CR, BOM', () => {
    expect(tokenizeCsv(tricky)).toEqual(want);
  });

  it('gives the same records however the text is cut into chunks', () => {
    for (let cut = 0; cut <= tricky.length; cut++) {
      const got: Array<{ fields: string[]; line: number }> = [];
      const t = new CsvTokenizer(',', (fields, line) => got.push({ fields, line }));
      t.push(tricky.slice(0, cut));
      t.push(tricky.slice(cut));
      t.end();
      expect(got, `cut at ${cut}`).toEqual(want);
    }
    // One character at a time.
    const got: Array<{ fields: string[]; line: number }> = [];
    const t = new CsvTokenizer(',', (fields, line) => got.push({ fields, line }));
    for (const ch of tricky) t.push(ch);
    t.end();
    expect(got).toEqual(want);
  });

  it('takes other delimiters and keeps empty trailing fields', () => {
    expect(tokenizeCsv('a\tb\t\n1\t"x\ty"\t', '\t').map((r) => r.fields)).toEqual([
      ['a', 'b', ''],
      ['1', 'x\ty', ''],
    ]);
    expect(tokenizeCsv('a;b\n', ';')[0]!.fields).toEqual(['a', 'b']);
  });

  it('rejects an unclosed quote, text after a closing quote, and bad delimiters', () => {
    expect(() => tokenizeCsv('a,b\n1,"open\n2,3\n', ',', 'f.csv')).toThrow(/f\.csv:2: column 1: quoted field is never closed/);
    // csv-parse does not say which character followed the quote: the message names the line and the column.
    expect(() => tokenizeCsv('a,b\n"x"y,2\n', ',', 'f.csv')).toThrow(/f\.csv:2: column 0: unexpected text after the closing quote/);
    expect(() => tokenizeCsv('a,b\n1,"x" y\n', ',', 'f.csv')).toThrow(/f\.csv:2: column 1: unexpected text after the closing quote/);
    // The line of the text after the quote, past line breaks inside the field; the line the open quote starts on.
    expect(() => tokenizeCsv('a,b\n1,2\n\n"p\r\nq\nr"s,2\n', ',', 'f.csv')).toThrow(/f\.csv:6: column 0: unexpected text/);
    expect(() => tokenizeCsv('a,b\r\n\r\n"two\r\nlines",\r\n"open\n', ',', 'f.csv')).toThrow(/f\.csv:5: column 0: quoted field is never closed/);
    expect(() => tokenizeCsv('a,b\r\n\r\n"two\r\nlines","open\n', ',', 'f.csv')).toThrow(/f\.csv:4: column 1: quoted field is never closed/);
    expect(() => tokenizeCsv('a', '"')).toThrow(ArgumentError);
    expect(() => tokenizeCsv('a', ',,')).toThrow(/delimiter: expected one character/);
  });
});

// ---------------------------------------------------------------------------
describe('loadCsv', () => {
  it('loads numeric tables with and without a header, labels by name, index or negative index', () => {
    const d = tmp();
    const f = write(d, 'iris.csv', 'sepal,petal,class\n5.1,1.4,0\n4.9,1.5,2\n6.3,6.0,1\n');
    const { dataset: ds, schema } = loadCsv(f, { label: 'class' });
    expect(ds.n).toBe(3);
    expect(ds.sampleShape).toEqual([2]);
    expect(Array.from(ds.x)).toEqual([5.1, 1.4, 4.9, 1.5, 6.3, 6.0].map(Math.fround));
    expect(Array.from(ds.labels!)).toEqual([0, 2, 1]);
    expect(ds.numClasses).toBe(3);
    expect(ds.name).toBe('iris.csv');
    expect(schema.header).toBe(true);
    expect(schema.features).toEqual(['sepal', 'petal']);
    expect(schema.labelClasses).toBeNull();
    // The header is detected without a name to hint it, and column -1 is the last one.
    const r2 = loadCsv(f, { label: -1 });
    expect(r2.schema.header).toBe(true);
    expect(Array.from(r2.dataset.labels!)).toEqual([0, 2, 1]);
    // No header.
    const g = write(d, 'nohead.csv', '1,2,3\n4,5,6\n');
    const r3 = loadCsv(g, { label: 0 });
    expect(r3.schema.header).toBe(false);
    expect(Array.from(r3.dataset.x)).toEqual([2, 3, 5, 6]);
    expect(Array.from(r3.dataset.labels!)).toEqual([1, 4]);
    expect(r3.schema.columns).toEqual(['column 0', 'column 1', 'column 2']);
    // header: true forces the first row to be names even if numeric.
    expect(loadCsv(g, { header: true }).dataset.n).toBe(1);
    // No label: every column is a feature, no labels.
    const r4 = loadCsv(g);
    expect(r4.dataset.labels).toBeUndefined();
    expect(r4.dataset.sampleShape).toEqual([3]);
  });

  it('maps string (and negative/fractional) labels to sorted class indices', () => {
    const { dataset, schema } = parseCsv('x,y\n1,setosa\n2,virginica\n3,versicolor\n4,setosa\n', { label: 'y' });
    expect(schema.labelClasses).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(Array.from(dataset.labels!)).toEqual([0, 2, 1, 0]);
    expect(dataset.numClasses).toBe(3);
    const svm = parseCsv('1,-1\n2,1\n3,-1\n', { label: 1 });
    expect(svm.schema.labelClasses).toEqual(['-1', '1']); // numeric order
    expect(Array.from(svm.dataset.labels!)).toEqual([0, 1, 0]);
  });

  it('one-hot encodes categorical columns; the schema encodes a second file identically', () => {
    const d = tmp();
    const train = write(d, 'train.csv', 'id,color,size,shape,label\n1,red,1.5,square,yes\n2,blue,2.5,circle,no\n3,green,0.5,circle,yes\n4,blue,1.0,square,no\n');
    const { dataset, schema } = loadCsv(train, { label: 'label', categorical: ['color', 3], ignore: ['id'] });
    expect(schema.features).toEqual(['color=blue', 'color=green', 'color=red', 'size', 'shape=circle', 'shape=square']);
    expect(schema.categorical).toEqual([
      { column: 1, categories: ['blue', 'green', 'red'] },
      { column: 3, categories: ['circle', 'square'] },
    ]);
    expect(schema.ignored).toEqual([0]);
    expect(Array.from(dataset.x)).toEqual([
      0, 0, 1, 1.5, 0, 1, //
      1, 0, 0, 2.5, 1, 0,
      0, 1, 0, 0.5, 1, 0,
      1, 0, 0, 1.0, 0, 1,
    ]);
    expect(Array.from(dataset.labels!)).toEqual([1, 0, 1, 0]);
    // The schema survives JSON (the CLI stores it next to a run).
    const saved = JSON.parse(JSON.stringify(schema));
    // The test file has the categories in another order and only some of them.
    const test = write(d, 'test.csv', 'id,color,size,shape,label\n9,red,3,circle,no\n8,red,4,circle,yes\n');
    const t = loadCsv(test, { schema: saved });
    expect(t.dataset.sampleShape).toEqual([6]);
    expect(Array.from(t.dataset.x)).toEqual([0, 0, 1, 3, 1, 0, 0, 0, 1, 4, 1, 0]);
    expect(Array.from(t.dataset.labels!)).toEqual([0, 1]);
    expect(t.dataset.numClasses).toBe(2);
    // A category the training file did not have.
    const odd = write(d, 'odd.csv', 'id,color,size,shape,label\n9,purple,3,circle,no\n');
    expect(() => loadCsv(odd, { schema })).toThrow(/odd\.csv:2: column 1 \("color"\): category "purple" does not occur in the training file/);
    expect(Array.from(loadCsv(odd, { schema, unknownCategory: 'ignore' }).dataset.x)).toEqual([0, 0, 0, 3, 1, 0]);
    // An unknown label class, a renamed column, a column too few.
    const badLabel = write(d, 'bl.csv', 'id,color,size,shape,label\n9,red,3,circle,maybe\n');
    expect(() => loadCsv(badLabel, { schema })).toThrow(/class "maybe" .* does not occur in the training file/);
    const renamed = write(d, 'rn.csv', 'id,colour,size,shape,label\n9,red,3,circle,no\n');
    expect(() => loadCsv(renamed, { schema })).toThrow(/header does not match the schema: column 1 is "colour", expected "color"/);
    const short = write(d, 'sh.csv', 'id,color,size,label\n9,red,3,no\n');
    expect(() => loadCsv(short, { schema })).toThrow(/4 columns, but the schema .* has 5/);
    expect(() => loadCsv(test, { schema, label: 'label' })).toThrow(ArgumentError);
    expect(() => loadCsv(test, { schema: { bogus: 1 } as never })).toThrow(/schema: expected the schema returned by an earlier loadCsv/);
  });

  it("missing cells: 'error' reports every column's count and first lines", () => {
    const d = tmp();
    const rows = ['a,b,c,k'];
    for (let i = 0; i < 12; i++) rows.push(`${i % 3 === 0 ? '' : i},${i % 5 === 1 ? 'NA' : i * 2},${i},${i % 2 ? 'u' : 'v'}`);
    const f = write(d, 'miss.csv', rows.join('\n') + '\n');
    const e = caught(() => loadCsv(f, { label: 'k' }));
    expect(e).toBeInstanceOf(DataError);
    // column a: rows 0,3,6,9 → lines 2,5,8,11; column b: rows 1,6,11 → lines 3,8,13.
    expect(e.message).toContain('miss.csv: 7 missing cells');
    expect(e.message).toContain('column 0 ("a"): 4 missing (lines 2, 5, 8, 11)');
    expect(e.message).toContain('column 1 ("b"): 3 missing (lines 3, 8, 13)');
    expect(e.message).not.toContain('column 2');
    // More than five: the first five and an ellipsis.
    const many = write(d, 'many.csv', 'a,b\n' + Array.from({ length: 8 }, (_, i) => `,${i}`).join('\n'));
    expect(() => loadCsv(many)).toThrow(/column 0 \("a"\): 8 missing \(lines 2, 3, 4, 5, 6, \.\.\.\)/);
  });

  it("missing cells: 'mean' and 'zero' fill; a schema fills with the training means", () => {
    const text = 'a,b,c\n1,,x\n3,4,\n,8,y\n';
    const mean = parseCsv(text, { categorical: ['c'], missing: 'mean' });
    // a: mean of 1, 3 = 2; b: mean of 4, 8 = 6; c one-hot: frequencies of x, y among present = 0.5, 0.5
    expect(Array.from(mean.dataset.x)).toEqual([1, 6, 1, 0, 3, 4, 0.5, 0.5, 2, 8, 0, 1]);
    expect(mean.schema.means).toEqual([2, 6, 0.5, 0.5]);
    const zero = parseCsv(text, { categorical: ['c'], missing: 'zero' });
    expect(Array.from(zero.dataset.x)).toEqual([1, 0, 1, 0, 3, 4, 0, 0, 0, 8, 0, 1]);
    // Test file: the training means fill, not the test file's own.
    const t = parseCsv('a,b,c\n100,,y\n', { schema: mean.schema });
    expect(Array.from(t.dataset.x)).toEqual([100, 6, 0, 1]);
    expect(() => parseCsv('a,b,c\n100,,y\n', { schema: mean.schema, missing: 'error' })).toThrow(/1 missing cells/);
    // Custom NA tokens (numeric ones too).
    const na = parseCsv('a,b\n-999,1\n5,NaN\n', { naValues: ['-999', 'NaN'], missing: 'zero' });
    expect(Array.from(na.dataset.x)).toEqual([0, 1, 5, 0]);
    // A missing label is an error under every policy.
    expect(() => parseCsv('a,k\n1,\n2,1\n', { label: 'k', missing: 'mean' })).toThrow(/missing labels: column 1 \("k"\): 1 missing \(lines 2\)/);
  });

  it('names the file, line and column for every malformed table', () => {
    const d = tmp();
    const cases: Array<[string, string, RegExp, Parameters<typeof loadCsv>[1]?]> = [
      ['ragged.csv', 'a,b,c\n1,2,3\n4,5\n6,7,8\n', /ragged\.csv:3: 2 fields, expected 3/],
      ['ragged2.csv', 'a,b\n1,2\n3,4,5\n', /ragged2\.csv:3: 3 fields, expected 2/],
      ['nan.csv', 'a,b\n1,2\n3,NaN\n', /nan\.csv:3: column 1 \("b"\): "NaN" is not a finite number/],
      ['inf.csv', 'a,b\n1,-Infinity\n', /inf\.csv:2: column 1 \("b"\): "-Infinity" is not a finite number/],
      ['inf2.csv', 'a,b\n1,inf\n', /inf2\.csv:2: column 1 \("b"\): "inf" is not a finite number/],
      ['big.csv', 'a,b\n1,1e39\n', /big\.csv:2: column 1 \("b"\): 1e39 does not fit a float32/],
      ['text.csv', 'a,b\n1,2\n3,abc\n', /text\.csv:3: column 1 \("b"\): "abc" is not a number \(declare the column categorical/],
      ['hex.csv', 'a,b\n1,0x10\n', /hex\.csv:2: column 1 \("b"\): "0x10" is not a number/],
      ['empty.csv', '', /empty\.csv: empty file/],
      ['blank.csv', '\n\r\n\n', /blank\.csv: empty file/],
      ['header.csv', 'a,b,label\n', /header\.csv: no data rows \(only a header\)/, { label: 'label' }],
      ['nolabel.csv', 'a,b\n1,2\n', /nolabel\.csv: label: no column "label" \(columns: a, b\)/, { label: 'label' }],
      ['nolabel2.csv', '1,2\n3,4\n', /nolabel2\.csv: label: column 5 does not exist \(the file has 2 columns\)/, { label: 5 }],
      ['nohead.csv', '1,2\n3,4\n', /nohead\.csv: label: column "y" named, but the file has no header row/, { label: 'y', header: false }],
      ['onlylabel.csv', 'y\n1\n', /onlylabel\.csv: no feature columns/, { label: 'y' }],
      ['quote.csv', 'a,b\n1,"2\n3,4\n', /quote\.csv:2: column 1: quoted field is never closed/],
      ['badcat.csv', 'a,b\n1,2\n', /badcat\.csv: categorical: no column "c"/, { categorical: ['c'] }],
    ];
    for (const [name, text, re, opts] of cases) {
      const e = caught(() => loadCsv(write(d, name, text), opts));
      expect(e, name).toBeInstanceOf(DataError);
      expect(e.message, name).toMatch(re);
    }
    expect(() => loadCsv(path.join(d, 'absent.csv'))).toThrow(/absent\.csv: cannot read \(ENOENT\)/);
    expect(() => loadCsv(write(d, 'x.csv', '1\n'), { missing: 'drop' as never })).toThrow(ArgumentError);
    expect(() => loadCsv(write(d, 'y.csv', 'a,b\n1,2\n'), { label: 'a', categorical: ['a'] })).toThrow(/categorical: column 0 is already used as the label/);
  });

  it('reads gzip, a file much larger than one read chunk, and quoted fields across chunk boundaries', () => {
    const d = tmp();
    const r = rng(7);
    const lines = ['id,"value, raw",label'];
    for (let i = 0; i < 80000; i++) {
      const note = i % 7 === 0 ? `"multi\r\nline ""${i}"""` : `"${i},${i}"`;
      lines.push(`${(r() * 1000).toFixed(5)},${note},${i % 4}`);
    }
    const text = lines.join('\r\n') + '\r\n';
    expect(text.length).toBeGreaterThan(2 << 20);
    const f = write(d, 'big.csv', text);
    const opts = { label: 'label', ignore: [1] };
    const a = loadCsv(f, opts);
    const b = parseCsv(text, opts);
    expect(a.dataset.n).toBe(80000);
    expect(Array.from(a.dataset.x)).toEqual(Array.from(b.dataset.x));
    expect(Array.from(a.dataset.labels!)).toEqual(Array.from(b.dataset.labels!));
    // A ragged row deep in the file reports its physical line (multi-line fields counted).
    const bad = lines.slice();
    bad[30001] = '1,2';
    const lineOf = 1 + bad.slice(0, 30001).reduce((n, l) => n + 1 + (l.match(/\r\n/g)?.length ?? 0), 0);
    expect(() => loadCsv(write(d, 'bad.csv', bad.join('\r\n')), opts)).toThrow(new RegExp(`bad\\.csv:${lineOf}: 2 fields, expected 3`));
    const gz = write(d, 'big.csv.gz', zlib.gzipSync(Buffer.from(text)));
    expect(Array.from(loadCsv(gz, opts).dataset.x)).toEqual(Array.from(a.dataset.x));
    expect(() => loadCsv(write(d, 'broken.csv.gz', zlib.gzipSync(Buffer.from(text)).subarray(0, 1000)), opts)).toThrow(/damaged gzip stream/);
  });

  it('loads a CSV made from a slice of the bundled Fashion-MNIST as the same images', () => {
    const d = tmp();
    const fm = fashionMnist('test');
    const n = 150;
    const rows = ['label,' + Array.from({ length: 784 }, (_, j) => `pixel${j + 1}`).join(',')];
    for (let i = 0; i < n; i++) {
      const px = Array.from(fm.x.subarray(i * 784, (i + 1) * 784), (v) => Math.round(v * 255));
      rows.push(`${fm.labels![i]},${px.join(',')}`);
    }
    const f = write(d, 'fashion-mnist_test.csv', rows.join('\n') + '\n');
    const ds = loadDataset(f, { label: 'label', sampleShape: [1, 28, 28] });
    expect(ds.format).toBe('csv');
    expect(ds.n).toBe(n);
    expect(ds.sampleShape).toEqual([1, 28, 28]);
    expect(Array.from(ds.labels!)).toEqual(Array.from(fm.labels!.subarray(0, n)));
    for (let i = 0; i < n * 784; i++) if (Math.fround(ds.x[i]! * (1 / 255)) !== fm.x[i]) expect.fail(`pixel ${i}`);
    expect(ds.schema!.features[0]).toBe('pixel1');
    expect(() => loadDataset(f, { label: 'label', sampleShape: [1, 28, 27] })).toThrow(/sampleShape \[1, 28, 27\] holds 756 values, but each row has 784 features/);
  });
});

// ---------------------------------------------------------------------------
describe('CSV writer', () => {
  it('writes the shortest decimals that read back as the same float32', () => {
    expect(formatFloat32(Math.fround(0.1))).toBe('0.1');
    expect(formatFloat32(0.5)).toBe('0.5');
    expect(formatFloat32(-3)).toBe('-3');
    expect(formatFloat32(0)).toBe('0');
    expect(formatFloat32(Math.fround(1e-8))).toBe('1e-8');
    expect(formatFloat32(Math.fround(16777217))).toBe('16777216');
    const x = randn(2000, 3, 10);
    for (let i = 0; i < x.length; i++) expect(Math.fround(Number(formatFloat32(x[i]!)))).toBe(x[i]);
    x[5] = 3.4028234663852886e38; // float32 max
    expect(Math.fround(Number(formatFloat32(x[5]!)))).toBe(x[5]);
  });

  it('round-trips embeddings with labels through loadCsv', () => {
    const d = tmp();
    const emb = randn(7 * 5, 11);
    const f = path.join(d, 'sub', 'emb.csv');
    writeCsv(f, emb, 5, { header: true, labels: Int32Array.from([0, 1, 2, 0, 1, 2, 3]) });
    expect(fs.readFileSync(f, 'utf8').split('\n')[0]).toBe('f0,f1,f2,f3,f4,label');
    const back = loadCsv(f, { label: 'label' });
    expect(Array.from(back.dataset.x)).toEqual(Array.from(emb));
    expect(Array.from(back.dataset.labels!)).toEqual([0, 1, 2, 0, 1, 2, 3]);
    writeCsv(f, emb, 7, { header: ['a', 'b,c', 'd"e', 'f', 'g', 'h', 'i'], delimiter: ';' });
    expect(tokenizeCsv(fs.readFileSync(f, 'utf8'), ';')[0]!.fields).toEqual(['a', 'b,c', 'd"e', 'f', 'g', 'h', 'i']);
    expect(() => writeCsv(f, emb, 4)).toThrow(/cols: 4 does not divide the 35 values/);
    expect(() => writeCsv(f, emb, 5, { labels: [1] })).toThrow(/labels: 1 labels for 7 rows/);
    expect(() => writeCsv(f, [1, 2] as never, 1)).toThrow(ArgumentError);
  });
});

// ---------------------------------------------------------------------------
describe('NPY', () => {
  const expected = JSON.parse(fs.readFileSync(path.join(FIX, 'expected.json'), 'utf8')) as Record<
    string,
    { shape?: number[]; dtype?: string; values?: number[]; error?: string }
  >;

  it('reads every numpy-written fixture exactly (dtypes, byte orders, format versions 1–3)', () => {
    let checked = 0;
    for (const [name, e] of Object.entries(expected)) {
      const f = path.join(FIX, name);
      if (e.error) {
        const err = caught(() => readNpy(f));
        expect(err, name).toBeInstanceOf(DataError);
        expect(err.message, name).toContain(e.error);
        expect(err.message, name).toContain(name);
        continue;
      }
      const a = readNpy(f);
      expect(a.shape, name).toEqual(e.shape);
      expect(a.dtype, name).toBe(e.dtype);
      expect(Array.from(a.data), name).toEqual(e.values);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(15);
    expect(readNpy(path.join(FIX, 'v3_f4_2x2.npy')).shape).toEqual([2, 2]);
  });

  it('reads integer label files; rejects non-integral or negative labels', () => {
    expect(Array.from(readNpyLabels(path.join(FIX, 'i8_labels.npy')).data)).toEqual([3, 0, 1, 2, 9, 4]);
    expect(() => readNpyLabels(path.join(FIX, 'i4_5.npy'))).toThrow(/label 1 is -3/);
    expect(() => readNpyLabels(path.join(FIX, 'f4_4x3.npy'))).toThrow(/labels must be a 1-D array/);
    const d = tmp();
    const f = path.join(d, 'l.npy');
    writeNpy(f, Float32Array.from([1, 2.5]), [2]);
    expect(() => readNpyLabels(f)).toThrow(/label 1 is 2\.5/);
  });

  it('writes the bytes np.save writes (checked by numpy in gen_npy.py) and round-trips', () => {
    const e = expected['imix_f4.npy']!;
    const bytes = Buffer.concat(encodeNpy(Float32Array.from(e.values!), e.shape!));
    expect(bytes.equals(fs.readFileSync(path.join(FIX, 'imix_f4.npy')))).toBe(true);
    const ei = expected['imix_i4.npy']!;
    const ib = Buffer.concat(encodeNpy(Int32Array.from((ei as { written?: number[] }).written!), ei.shape!));
    expect(ib.equals(fs.readFileSync(path.join(FIX, 'imix_i4.npy')))).toBe(true);
    const d = tmp();
    for (const shape of [[1], [7], [3, 5], [2, 3, 4], [2, 1, 28, 28], [0, 4]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = randn(n, n + 1);
      const f = path.join(d, `r${shape.join('x')}.npy`);
      writeNpy(f, x, shape);
      const raw = fs.readFileSync(f);
      expect(raw.readUInt16LE(8) + 10, 'data offset').toBe(raw.length - 4 * n);
      expect((raw.readUInt16LE(8) + 10) % 64).toBe(0);
      const back = readNpy(f);
      expect(back.shape).toEqual(shape);
      expect(Array.from(back.data)).toEqual(Array.from(x));
    }
    expect(() => writeNpy(path.join(d, 'bad.npy'), new Float32Array(5), [2, 3])).toThrow(/shape: \(2, 3\) holds 6 values, data has 5/);
    expect(() => writeNpy(path.join(d, 'bad.npy'), [1] as never, [1])).toThrow(ArgumentError);
    expect(fs.existsSync(path.join(d, 'bad.npy'))).toBe(false);
  });

  it('rejects truncated data, bad magic, Fortran order, versions and malformed headers', () => {
    const good = fs.readFileSync(path.join(FIX, 'f4_4x3.npy'));
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['truncated data', good.subarray(0, good.length - 3), /t\.npy: truncated \.npy data: shape \(4, 3\) of '<f4' needs 48 bytes, the file has 45/],
      ['truncated header', good.subarray(0, 40), /truncated \.npy header/],
      ['trailing bytes', Buffer.concat([good, Buffer.from([0, 0])]), /2 unexpected bytes after the \.npy data/],
      ['bad magic', Buffer.concat([Buffer.from('PK\x03\x04'), good.subarray(4)]), /t\.npy: not a \.npy file \(bad magic 504b0304/],
      ['empty', new Uint8Array(0), /not a \.npy file/],
      ['version 9', Buffer.concat([good.subarray(0, 6), Buffer.from([9, 0]), good.subarray(8)]), /unsupported \.npy format version 9\.0/],
      ['fortran', fs.readFileSync(path.join(FIX, 'fortran_3x2.npy')), /Fortran-ordered .* shape \(3, 2\)/],
      ['complex', Buffer.from(good.toString('latin1').replace("'<f4'", "'<c8'"), 'latin1'), /unsupported dtype '<c8'/],
      ['object', Buffer.from(good.toString('latin1').replace("'<f4'", "'|O4'"), 'latin1'), /unsupported dtype '\|O4'/],
      ['no shape', Buffer.from(good.toString('latin1').replace("'shape'", "'shap_'"), 'latin1'), /malformed \.npy header \(no 'shape'\)/],
    ];
    for (const [what, bytes, re] of cases) {
      const e = caught(() => parseNpy(bytes, 't.npy'));
      expect(e, what).toBeInstanceOf(DataError);
      expect(e.message, what).toMatch(re);
    }
    const d = tmp();
    expect(() => readNpy(write(d, 'cut.npy', good.subarray(0, 70)))).toThrow(/cut\.npy: truncated/);
    expect(() => readNpy(path.join(d, 'none.npy'))).toThrow(/none\.npy: cannot read \(ENOENT\)/);
    // float64 beyond float32's range.
    const big = Buffer.concat(encodeNpy(new Float32Array(2), [2]));
    const f8 = Buffer.concat([Buffer.from(big.subarray(0, 128).toString('latin1').replace("'<f4'", "'<f8'"), 'latin1'), Buffer.alloc(16)]);
    f8.writeDoubleLE(1e300, 128 + 8);
    expect(() => parseNpy(f8, 'w.npy')).toThrow(/w\.npy: element 1 does not fit a float32/);
  });
});

// ---------------------------------------------------------------------------
describe('loadDataset', () => {
  it('loads the bundled Fashion-MNIST by name', () => {
    const tr = loadDataset('fashion-mnist');
    expect(tr.format).toBe('bundled');
    expect(tr.n).toBe(10000);
    expect(tr.sampleShape).toEqual([1, 28, 28]);
    const te = loadDataset('fashion-mnist:test');
    expect(te.n).toBe(2000);
    expect(te.numClasses).toBe(10);
    expect(loadDataset('fashion-mnist', { split: 'test' }).n).toBe(2000);
  });

  it('loads IDX directories (train/test, MNIST t10k naming, gzip or not) and single IDX files', () => {
    const ref = fashionMnist('test');
    const a = loadDataset(FMNIST, { split: 'test' });
    expect(a.format).toBe('idx');
    expect(Array.from(a.x.subarray(0, 1000))).toEqual(Array.from(ref.x.subarray(0, 1000)));
    expect(Array.from(a.labels!)).toEqual(Array.from(ref.labels!));
    expect(loadDataset(`${FMNIST}:test`).n).toBe(2000);
    expect(loadDataset(FMNIST).n).toBe(10000);
    // MNIST naming, uncompressed.
    const d = tmp();
    fs.writeFileSync(path.join(d, 't10k-images-idx3-ubyte'), zlib.gunzipSync(fs.readFileSync(path.join(FMNIST, 'test-images-idx3-ubyte.gz'))));
    fs.writeFileSync(path.join(d, 't10k-labels-idx1-ubyte'), zlib.gunzipSync(fs.readFileSync(path.join(FMNIST, 'test-labels-idx1-ubyte.gz'))));
    const b = loadDataset(d, { split: 'test' });
    expect(b.n).toBe(2000);
    expect(Array.from(b.labels!)).toEqual(Array.from(ref.labels!));
    expect(() => loadDataset(d)).toThrow(/no train images in this directory .*found: t10k-images-idx3-ubyte/);
    // A single IDX file with its labels file.
    const c = loadDataset(path.join(d, 't10k-images-idx3-ubyte'), { labels: path.join(d, 't10k-labels-idx1-ubyte') });
    expect(c.n).toBe(2000);
    expect(c.numClasses).toBe(10);
    expect(Array.from(c.labels!.subarray(0, 50))).toEqual(Array.from(ref.labels!.subarray(0, 50)));
  });

  it('rejects truncated and wrong-magic IDX files and mismatched label files', () => {
    const d = tmp();
    const img = zlib.gunzipSync(fs.readFileSync(path.join(FMNIST, 'test-images-idx3-ubyte.gz')));
    const lab = zlib.gunzipSync(fs.readFileSync(path.join(FMNIST, 'test-labels-idx1-ubyte.gz')));
    const cut = write(d, 'train-images-idx3-ubyte', img.subarray(0, 5000));
    write(d, 'train-labels-idx1-ubyte', lab);
    expect(() => loadDataset(d)).toThrow(/train-images-idx3-ubyte: truncated IDX data: dims \[2000, 28, 28\] need 1568016 bytes, file has 5000/);
    expect(() => loadDataset(cut)).toThrow(DataError);
    const gzCut = write(d, 'cut-images-idx3-ubyte.gz', zlib.gzipSync(img).subarray(0, 3000));
    expect(() => loadDataset(gzCut)).toThrow(/damaged gzip stream/);
    const magic = Buffer.from(img);
    magic[0] = 0x50;
    expect(() => loadDataset(write(d, 'bad-images-idx3-ubyte', magic))).toThrow(/bad-images-idx3-ubyte: not an IDX file \(bad magic 50000803\)/);
    const imgFile = write(d, 'ok-images-idx3-ubyte', img);
    const short = write(d, 'short-labels-idx1-ubyte', Buffer.concat([Buffer.from([0, 0, 8, 1, 0, 0, 0, 3]), Buffer.from([1, 2, 3])]));
    expect(() => loadDataset(imgFile, { labels: short })).toThrow(/expected 2000 labels/);
  });

  it('loads .npy features with a .npy labels file, sniffs extensionless files, and rejects bad pairs', () => {
    const d = tmp();
    const x = randn(6 * 4, 5);
    const fx = path.join(d, 'x.npy');
    writeNpy(fx, x, [6, 2, 2]);
    const fy = path.join(d, 'y.npy');
    writeNpy(fy, Int32Array.from([0, 1, 2, 1, 0, 4]), [6]);
    const ds = loadDataset(fx, { labels: fy });
    expect(ds.format).toBe('npy');
    expect(ds.sampleShape).toEqual([2, 2]);
    expect(Array.from(ds.x)).toEqual(Array.from(x));
    expect(Array.from(ds.labels!)).toEqual([0, 1, 2, 1, 0, 4]);
    expect(ds.numClasses).toBe(5);
    // The numpy-written int64 labels work too, and 1-D features are one feature per row.
    const one = loadDataset(path.join(FIX, 'i8_labels.npy'), { labels: path.join(FIX, 'i8_labels.npy') });
    expect(one.sampleShape).toEqual([1]);
    // Sniffing: no extension.
    fs.copyFileSync(fx, path.join(d, 'features'));
    expect(loadDataset(path.join(d, 'features')).format).toBe('npy');
    write(d, 'table', 'a,b\n1,2\n');
    expect(loadDataset(path.join(d, 'table')).format).toBe('csv');
    write(d, 'table.tsv', 'a\tb\n1\t2\n');
    expect(Array.from(loadDataset(path.join(d, 'table.tsv')).x)).toEqual([1, 2]);
    // Mismatches.
    writeNpy(path.join(d, 'y5.npy'), Int32Array.from([0, 1, 2, 1, 0]), [5]);
    expect(() => loadDataset(fx, { labels: path.join(d, 'y5.npy') })).toThrow(/y5\.npy: 5 labels, but x\.npy has 6 rows/);
    const nan = Float32Array.from([1, 2, NaN, 4]);
    writeNpy(path.join(d, 'nan.npy'), nan, [2, 2]);
    expect(() => loadDataset(path.join(d, 'nan.npy'))).toThrow(/nan\.npy: row 1, feature 0 is NaN; features must be finite/);
    expect(() => loadDataset(path.join(FIX, 'fortran_3x2.npy'))).toThrow(/Fortran-ordered/);
    expect(() => loadDataset(path.join(d, 'nothing-here.csv'))).toThrow(/nothing-here\.csv: cannot read \(ENOENT\)/);
    expect(() => loadDataset(write(d, 'bin.dat', Buffer.from([1, 0, 2, 3, 4])))).toThrow(/unrecognized binary file/);
    expect(() => loadDataset('')).toThrow(ArgumentError);
    expect(() => loadDataset(fx, { split: 'val' as never })).toThrow(ArgumentError);
  });
  it('rejects unknown options by name instead of ignoring them', () => {
    const d = tmp();
    const fx = path.join(d, 'x.npy');
    writeNpy(fx, randn(4, 5), [2, 2]);
    writeNpy(path.join(d, 'y.npy'), Int32Array.from([0, 1]), [2]);
    // A misspelled 'labels' would otherwise load the features without labels.
    expect(() => loadDataset(fx, { lables: path.join(d, 'y.npy') } as never)).toThrow(/options: unknown option "lables"; expected some of .*labels/);
    expect(() => loadDataset(fx, { lables: 'y', sep: ';' } as never)).toThrow(/unknown options "lables", "sep"/);
    const csv = write(d, 't.csv', 'a,y\n1,0\n2,1\n');
    expect(() => loadDataset(csv, { labelColumn: 'y' } as never)).toThrow(ArgumentError);
    expect(() => loadCsv(csv, { lable: 'y' } as never)).toThrow(/unknown option "lable"/);
    expect(() => parseCsv('a\n1\n', { delim: ';' } as never)).toThrow(/unknown option "delim"/);
    // Every real option is accepted.
    expect(loadDataset(csv, { label: 'y', name: 't', format: 'csv', missing: 'error', header: true }).labels).toEqual(Int32Array.from([0, 1]));
    expect(parseCsv('a\n1\n', { source: 'mem' }).dataset.n).toBe(1);
  });
});

// ---------------------------------------------------------------------------
describe('trainTestSplit', () => {
  it('splits reproducibly into disjoint parts covering every row', () => {
    const ds = loadDataset('fashion-mnist:test');
    const { train, test } = trainTestSplit(ds, 0.25, 42);
    expect(test.n).toBe(500);
    expect(train.n).toBe(1500);
    expect(train.numClasses).toBe(10);
    expect(test.sampleShape).toEqual([1, 28, 28]);
    // Identify rows by their pixels: the parts are disjoint and cover the set.
    const key = (d: typeof ds, i: number) => Buffer.from(d.x.buffer, d.x.byteOffset + i * 784 * 4, 784 * 4).toString('base64');
    const all = new Map<string, number>();
    for (let i = 0; i < ds.n; i++) all.set(key(ds, i), i);
    const seen = new Set<number>();
    let prev = -1;
    for (const part of [test, train]) {
      prev = -1;
      for (let i = 0; i < part.n; i++) {
        const j = all.get(key(part, i))!;
        expect(j).toBeGreaterThan(prev); // file order kept
        prev = j;
        expect(part.labels![i]).toBe(ds.labels![j]);
        seen.add(j);
      }
    }
    expect(seen.size).toBe(all.size);
    const again = trainTestSplit(ds, 0.25, 42);
    expect(Array.from(again.test.x.subarray(0, 2000))).toEqual(Array.from(test.x.subarray(0, 2000)));
    const other = trainTestSplit(ds, 0.25, 43);
    expect(Array.from(other.test.labels!)).not.toEqual(Array.from(test.labels!));
    expect(trainTestSplit(ds, 0.0001, 1).test.n).toBe(1);
  });

  it('rejects bad fractions and tiny datasets', () => {
    const ds = parseCsv('1\n2\n3\n').dataset;
    expect(() => trainTestSplit(ds, 0, 1)).toThrow(ValueError);
    expect(() => trainTestSplit(ds, 1, 1)).toThrow(/testFraction: expected a number in \(0, 1\), got 1/);
    expect(() => trainTestSplit(ds, NaN, 1)).toThrow(ValueError);
    expect(() => trainTestSplit(parseCsv('1\n').dataset, 0.5, 1)).toThrow(/cannot be split/);
    expect(() => trainTestSplit(ds, 0.5, -1)).toThrow(/seed/);
  });
});

// ---------------------------------------------------------------------------
describe('nothing half-written', () => {
  const listing = (d: string) => fs.readdirSync(d).sort();

  it('a failed write leaves no temporary file and keeps the old file intact', () => {
    const d = tmp();
    const target = path.join(d, 'emb.npy');
    writeNpy(target, Float32Array.from([1, 2, 3]), [3]);
    const before = fs.readFileSync(target);
    // The target is a non-empty directory: the final rename fails.
    const dirTarget = path.join(d, 'taken');
    fs.mkdirSync(dirTarget);
    fs.writeFileSync(path.join(dirTarget, 'keep'), 'x');
    expect(() => writeNpy(dirTarget, Float32Array.from([1]), [1])).toThrow();
    expect(() => writeCsv(dirTarget, Float32Array.from([1]), 1)).toThrow();
    expect(listing(d)).toEqual(['emb.npy', 'taken']);
    expect(listing(dirTarget)).toEqual(['keep']);
    // The parent is a file: nothing can be created.
    expect(() => writeNpy(path.join(target, 'x.npy'), Float32Array.from([1]), [1])).toThrow();
    expect(() => writeCsv(path.join(target, 'x.csv'), Float32Array.from([1]), 1)).toThrow();
    // A write that fails halfway (the second chunk throws when read): the temp file is removed.
    const poisoned = {
      get length(): number {
        throw new Error('disk on fire');
      },
    };
    expect(() => writeFileAtomic(target, [Buffer.from('partial'), poisoned as never])).toThrow(/disk on fire/);
    expect(listing(d)).toEqual(['emb.npy', 'taken']);
    expect(fs.readFileSync(target).equals(before)).toBe(true);
    expect(Array.from(readNpy(target).data)).toEqual([1, 2, 3]);
  });
});
