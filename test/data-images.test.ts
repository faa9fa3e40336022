// Image folders (lib/data/images.ts): real PNG/JPEG folders written with sharp in a temp dir, read back
// through loadImageFolder / loadDatasetAsync, held to the raw pixels they were written from; hostile
// folders end in a DataError naming the file or folder; `imix train` / `embed` / `eval` on an image folder.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArgumentError, DataError, ValueError } from '../lib/errors';
import { isImageFolder, listImageFolder, loadDataset, loadDatasetAsync, loadImageFolder, readNpy } from '../lib/data';
import { parseChannels, parseImageSize } from '../lib/cli/main';
import { parseFile, runFileSchema } from '../lib/cli/schemas';
import { rng } from './helpers';
import { BIN, ensureDist } from './hostile/cli-helpers';

let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'imix-images-'));
});

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** A fresh folder under the test's temp dir. */
function folder(name: string): string {
  const d = path.join(tmp, name);
  fs.mkdirSync(d, { recursive: true });
  return d;
}

/** `h × w` interleaved pixels of `c` channels (bytes), from a seed. */
function pixels(h: number, w: number, c: number, seed: number): Uint8Array {
  const r = rng(seed);
  return Uint8Array.from({ length: h * w * c }, () => Math.floor(r() * 256));
}

/** Writes interleaved pixels as a PNG (`c` 1: a true grayscale PNG; 4: RGBA). */
async function writePng(file: string, px: Uint8Array, h: number, w: number, c: 1 | 2 | 3 | 4): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let img = sharp(Buffer.from(px), { raw: { width: w, height: h, channels: c } });
  if (c <= 2) img = img.toColourspace('b-w');
  await img.png().toFile(file);
}

async function writeJpeg(file: string, px: Uint8Array, h: number, w: number, c: 1 | 3): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let img = sharp(Buffer.from(px), { raw: { width: w, height: h, channels: c } });
  if (c === 1) img = img.toColourspace('b-w');
  await img.jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toFile(file);
}

/** The reference: interleaved `c`-channel bytes as planar [C, H, W] float32 v/255, RGB from gray by replication, alpha dropped. */
function planarRgb(px: Uint8Array, h: number, w: number, c: number): number[] {
  const out: number[] = new Array(3 * h * w);
  for (let ch = 0; ch < 3; ch++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const p = y * w + x;
        const v = c <= 2 ? px[p * c]! : px[p * c + ch]!;
        out[ch * h * w + p] = Math.fround(v / 255);
      }
  return out;
}

/** PIL's convert('L') of RGB bytes: (19595 R + 38470 G + 7471 B + 2^15) >> 16, then /255. */
function luma(px: Uint8Array, h: number, w: number, c: number): number[] {
  const out: number[] = [];
  for (let p = 0; p < h * w; p++) {
    const [r, g, b] = c <= 2 ? [px[p * c]!, px[p * c]!, px[p * c]!] : [px[p * c]!, px[p * c + 1]!, px[p * c + 2]!];
    out.push(Math.fround(Math.floor((r * 19595 + g * 38470 + b * 7471 + 32768) / 65536) / 255));
  }
  return out;
}

/** Row i of a dataset. */
function row(ds: { x: Float32Array; sampleShape: number[] }, i: number): number[] {
  const f = ds.sampleShape.reduce((a, b) => a * b, 1);
  return Array.from(ds.x.subarray(i * f, (i + 1) * f));
}

/** CRC-32 (PNG's, the zlib polynomial) of `b`. */
function crc32(b: Uint8Array): number {
  let c = ~0;
  for (const byte of b) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A PNG of a valid signature and IHDR (8-bit RGB, `w × h`), then 64 zero bytes of pixel data and IEND. */
function pngHeaderOnly(w: number, h: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const len = Buffer.alloc(4), crc = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(Buffer.alloc(64))), chunk('IEND', Buffer.alloc(0))]);
}

async function rejects(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('loadImageFolder: layout, order and exact pixels', () => {
  const H = 4, W = 5;
  let dir: string;
  // class → [file, channels, seed] in the order the loader must return them.
  const files: Array<[string, string, 1 | 2 | 3 | 4, number]> = [
    ['ant', 'b10.png', 3, 1], // "b10" < "b2": names sort as strings
    ['ant', 'b2.png', 4, 2], // RGBA: alpha dropped
    ['cat', 'A.PNG', 1, 3], // grayscale, upper-case extension
    ['cat', 'z.png', 2, 4], // grayscale + alpha
    ['dog', 'only.png', 3, 5],
  ];

  beforeAll(async () => {
    dir = folder('layout');
    for (const [cls, name, c, seed] of files) await writePng(path.join(dir, cls, name), pixels(H, W, c, seed), H, W, c);
    // Ignored: other files, hidden files and hidden folders; files beside the class folders.
    fs.writeFileSync(path.join(dir, 'cat', 'notes.txt'), 'not an image');
    fs.writeFileSync(path.join(dir, 'cat', '.hidden.png'), 'not an image either');
    fs.mkdirSync(path.join(dir, '.ipynb_checkpoints'));
    fs.writeFileSync(path.join(dir, 'README.md'), '# photos');
  });

  it('writes true grayscale PNGs (the test is about what it claims)', async () => {
    expect((await sharp(path.join(dir, 'cat', 'A.PNG')).metadata()).channels).toBe(1);
    expect((await sharp(path.join(dir, 'cat', 'z.png')).metadata()).channels).toBe(2);
    expect((await sharp(path.join(dir, 'ant', 'b2.png')).metadata()).channels).toBe(4);
  });

  it('RGB: classes sorted → labels, files sorted, planar [3, H, W] = raw bytes / 255 exactly', async () => {
    const ds = await loadImageFolder(dir);
    expect(ds.classes).toEqual(['ant', 'cat', 'dog']);
    expect(ds.numClasses).toBe(3);
    expect(Array.from(ds.labels!)).toEqual([0, 0, 1, 1, 2]);
    expect(ds.sampleShape).toEqual([3, H, W]);
    expect(ds.n).toBe(5);
    expect(ds.format).toBe('images');
    expect(ds.name).toBe('layout');
    files.forEach(([, , c, seed], i) => expect(row(ds, i), `row ${i}`).toEqual(planarRgb(pixels(H, W, c, seed), H, W, c)));
    expect(listImageFolder(dir).files.map((f) => path.relative(dir, f))).toEqual(files.map(([cls, name]) => path.join(cls, name)));
  });

  it("grayscale (channels 1) is PIL's convert('L') luma of the RGB pixels; gray images keep their values", async () => {
    const ds = await loadImageFolder(dir, { channels: 1 });
    expect(ds.sampleShape).toEqual([1, H, W]);
    files.forEach(([, , c, seed], i) => expect(row(ds, i), `row ${i}`).toEqual(luma(pixels(H, W, c, seed), H, W, c)));
    // A gray pixel v gives exactly v/255.
    const gray = pixels(H, W, 1, 3);
    expect(row(ds, 2)).toEqual(Array.from(gray, (v) => Math.fround(v / 255)));
  });

  it('limit decodes only the first images; concurrency does not change the result', async () => {
    const all = await loadImageFolder(dir, { concurrency: 1 });
    const four = await loadImageFolder(dir, { concurrency: 4 });
    expect(four.x).toEqual(all.x);
    const two = await loadImageFolder(dir, { limit: 2 });
    expect(two.n).toBe(2);
    expect(Array.from(two.labels!)).toEqual([0, 0]);
    expect(two.numClasses).toBe(3); // every class is still named
    expect(two.x).toEqual(all.x.subarray(0, 2 * 3 * H * W));
    // A broken file past the limit is never read.
    const d = folder('limit-broken');
    await writePng(path.join(d, 'a', '1.png'), pixels(2, 2, 3, 9), 2, 2, 3);
    fs.mkdirSync(path.join(d, 'b'));
    fs.writeFileSync(path.join(d, 'b', 'broken.png'), 'garbage');
    expect((await loadImageFolder(d, { limit: 1 })).n).toBe(1);
    expect((await rejects(loadImageFolder(d))).message).toMatch(/broken\.png: not a PNG/);
  });

  it('classes and files sort by code point, as Python sorts them (not by UTF-16 unit)', async () => {
    const d = folder('unicode');
    const names = ['😀', 'ｚ', 'é', 'a', 'Z'];
    for (const n of names) await writePng(path.join(d, n, 'x.png'), pixels(2, 2, 3, 1), 2, 2, 3);
    expect(listImageFolder(d).classes).toEqual(['Z', 'a', 'é', 'ｚ', '😀']);
    expect([...names].sort()).not.toEqual(['Z', 'a', 'é', 'ｚ', '😀']); // JavaScript's default order differs
  });
});

describe('loadImageFolder: sizes, JPEG, splits', () => {
  it('without size every image must have the first one\'s size: an error naming the file', async () => {
    const d = folder('sizes');
    await writePng(path.join(d, 'a', '1.png'), pixels(4, 4, 3, 1), 4, 4, 3);
    await writePng(path.join(d, 'b', '2.png'), pixels(6, 4, 3, 2), 6, 4, 3);
    const e = await rejects(loadImageFolder(d));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toMatch(/b[/\\]2\.png: the image is 6×4 \(H×W\) and the first one \(.*1\.png\) 4×4; give a size/);
  });

  it('size resizes to cover H × W and crops the centre; an image already H × W keeps its exact pixels', async () => {
    const d = folder('resize');
    const same = pixels(6, 6, 3, 7);
    await writePng(path.join(d, 'a', 'same.png'), same, 6, 6, 3);
    // 6 × 12: three columns of blue, six of a colour ramp, three of blue. Covering 6 × 6 needs no scaling (H is 6
    // already): the centre crop is exactly the middle six columns; squashing it would mix the blue in.
    const wide = new Uint8Array(6 * 12 * 3);
    for (let y = 0; y < 6; y++)
      for (let x = 0; x < 12; x++) {
        const o = (y * 12 + x) * 3;
        const mid = x >= 3 && x < 9;
        wide.set(mid ? [40 * y, 20 * x, 200] : [0, 0, 255], o);
      }
    await writePng(path.join(d, 'b', 'wide.png'), wide, 6, 12, 3);
    // 12 × 12 of one colour, downscaled by 2: still that colour.
    await writePng(path.join(d, 'c', 'flat.png'), new Uint8Array(12 * 12 * 3).fill(0).map((_, i) => [17, 130, 250][i % 3]!), 12, 12, 3);
    const ds = await loadImageFolder(d, { size: 6 });
    expect(ds.sampleShape).toEqual([3, 6, 6]);
    expect(row(ds, 0)).toEqual(planarRgb(same, 6, 6, 3));
    const middle = new Uint8Array(6 * 6 * 3);
    for (let y = 0; y < 6; y++) for (let x = 0; x < 6; x++) middle.set(wide.subarray((y * 12 + x + 3) * 3, (y * 12 + x + 4) * 3), (y * 6 + x) * 3);
    expect(row(ds, 1)).toEqual(planarRgb(middle, 6, 6, 3));
    const flat = row(ds, 2);
    [17, 130, 250].forEach((v, ch) => flat.slice(ch * 36, (ch + 1) * 36).forEach((u) => expect(Math.abs(u - v / 255)).toBeLessThanOrEqual(1 / 255 + 1e-7)));
    // [H, W] sizes: not square.
    const r = await loadImageFolder(d, { size: [3, 5] });
    expect(r.sampleShape).toEqual([3, 3, 5]);
    expect(r.x.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('JPEG, RGB and grayscale, decodes close to the pixels it was written from', async () => {
    const d = folder('jpeg');
    // Smooth images: JPEG at quality 95 stays within a few levels of them.
    const smooth = (c: number) => Uint8Array.from({ length: 16 * 16 * c }, (_, i) => 40 + ((Math.floor(i / c) % 16) * 7 + Math.floor(i / c / 16) * 5 + (i % c) * 30));
    await writeJpeg(path.join(d, 'a', 'rgb.jpg'), smooth(3), 16, 16, 3);
    await writeJpeg(path.join(d, 'b', 'gray.JPEG'), smooth(1), 16, 16, 1);
    const ds = await loadImageFolder(d);
    expect(ds.sampleShape).toEqual([3, 16, 16]);
    const err = (a: number[], b: number[]) => a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0) / a.length;
    expect(err(row(ds, 0), planarRgb(smooth(3), 16, 16, 3))).toBeLessThan(3 / 255);
    expect(err(row(ds, 1), planarRgb(smooth(1), 16, 16, 1))).toBeLessThan(3 / 255);
    const g = await loadImageFolder(d, { channels: 1 });
    expect(err(row(g, 1), luma(smooth(1), 16, 16, 1))).toBeLessThan(3 / 255);
  });

  it('WebP (lossless) and TIFF read back exactly; AVIF closely; a GIF\'s first frame', async () => {
    const d = folder('formats');
    const px = pixels(6, 7, 3, 11);
    const raw = () => sharp(Buffer.from(px), { raw: { width: 7, height: 6, channels: 3 } });
    fs.mkdirSync(path.join(d, 'a'));
    await raw().webp({ lossless: true }).toFile(path.join(d, 'a', '1.webp'));
    await raw().tiff({ compression: 'lzw' }).toFile(path.join(d, 'a', '2.tif')); // (sharp's default TIFF compression is JPEG)
    await raw().avif({ quality: 100, chromaSubsampling: '4:4:4' }).toFile(path.join(d, 'a', '3.avif'));
    // Two frames of a flat colour each: the first frame is read.
    const frames = new Uint8Array(7 * 12 * 3).map((_, i) => (i < 7 * 6 * 3 ? [200, 10, 10] : [10, 10, 200])[i % 3]!);
    await sharp(Buffer.from(frames), { raw: { width: 7, height: 12, channels: 3, pageHeight: 6 } } as never).gif().toFile(path.join(d, 'a', '4.gif'));
    const ds = await loadImageFolder(d);
    expect(ds.sampleShape).toEqual([3, 6, 7]);
    expect(row(ds, 0)).toEqual(planarRgb(px, 6, 7, 3));
    expect(row(ds, 1)).toEqual(planarRgb(px, 6, 7, 3));
    const err = row(ds, 2).reduce((s, v, i) => s + Math.abs(v - planarRgb(px, 6, 7, 3)[i]!), 0) / (3 * 6 * 7);
    expect(err).toBeLessThan(8 / 255);
    const gif = row(ds, 3);
    [200, 10, 10].forEach((v, ch) => gif.slice(ch * 42, (ch + 1) * 42).forEach((u) => expect(Math.abs(u - v / 255)).toBeLessThanOrEqual(4 / 255)));
  });

  it('train/ and test/ splits: the test split is labelled with the training classes; val/ stands for test/', async () => {
    const d = folder('splits');
    for (const [split, cls, seed] of [['train', 'cat', 1], ['train', 'dog', 2], ['train', 'emu', 3], ['test', 'dog', 4], ['test', 'emu', 5]] as const)
      await writePng(path.join(d, split, cls, `${seed}.png`), pixels(3, 3, 3, seed), 3, 3, 3);
    expect(isImageFolder(d)).toBe(true);
    const train = await loadImageFolder(d);
    expect(train.name).toBe('splits-train');
    expect(train.classes).toEqual(['cat', 'dog', 'emu']);
    expect(Array.from(train.labels!)).toEqual([0, 1, 2]);
    const test = await loadImageFolder(d, { split: 'test' });
    expect(test.name).toBe('splits-test');
    expect(test.classes).toEqual(['cat', 'dog', 'emu']);
    expect(Array.from(test.labels!)).toEqual([1, 2]);
    expect(row(test, 0)).toEqual(planarRgb(pixels(3, 3, 3, 4), 3, 3, 3));
    // `dir:test` through loadDatasetAsync.
    expect((await loadDatasetAsync(`${d}:test`)).x).toEqual(test.x);
    // A test class the training split lacks.
    await writePng(path.join(d, 'test', 'yak', '9.png'), pixels(3, 3, 3, 9), 3, 3, 3);
    expect((await rejects(loadImageFolder(d, { split: 'test' }))).message).toMatch(/test[/\\]yak: class "yak" is not among the training split's classes \(cat, dog, emu\)/);
    // val/ when there is no test/.
    const v = folder('splits-val');
    await writePng(path.join(v, 'train', 'a', '1.png'), pixels(3, 3, 3, 1), 3, 3, 3);
    await writePng(path.join(v, 'val', 'a', '2.png'), pixels(3, 3, 3, 2), 3, 3, 3);
    expect(row(await loadImageFolder(v, { split: 'test' }), 0)).toEqual(planarRgb(pixels(3, 3, 3, 2), 3, 3, 3));
  });

  it('a class named "train" (images directly in it) is a class, not a split; no splits: no test split', async () => {
    const d = folder('train-class');
    await writePng(path.join(d, 'train', '1.png'), pixels(2, 2, 3, 1), 2, 2, 3);
    await writePng(path.join(d, 'test', '2.png'), pixels(2, 2, 3, 2), 2, 2, 3);
    const ds = await loadImageFolder(d);
    expect(ds.classes).toEqual(['test', 'train']);
    expect(listImageFolder(d).hasSplits).toBe(false);
    const e = await rejects(loadImageFolder(d, { split: 'test' }));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toMatch(/train-class: no test split \(its subfolders are the classes/);
  });
});

describe('loadDatasetAsync, loadDataset and isImageFolder', () => {
  it('tell image folders from IDX directories; the sync loader points to the async one', async () => {
    const d = folder('detect');
    await writePng(path.join(d, 'a', '1.png'), pixels(2, 2, 3, 1), 2, 2, 3);
    const fmnist = path.resolve(__dirname, '..', 'data', 'fashion-mnist');
    expect(isImageFolder(d)).toBe(true);
    expect(isImageFolder(fmnist)).toBe(false);
    expect(isImageFolder(path.join(d, 'a', '1.png'))).toBe(false);
    expect(isImageFolder(path.join(d, 'nothing'))).toBe(false);
    expect(() => loadDataset(d)).toThrow(/detect: an image folder; images decode asynchronously: read it with loadDatasetAsync or loadImageFolder/);
    const ds = await loadDatasetAsync(d, { channels: 1 });
    expect(ds.sampleShape).toEqual([1, 2, 2]);
    // Everything else is loadDataset.
    expect((await loadDatasetAsync(fmnist, { split: 'test' })).n).toBe(2000);
    expect((await loadDatasetAsync('fashion-mnist')).format).toBe('bundled');
    // Options that do not fit the data.
    const e1 = await rejects(loadDatasetAsync('fashion-mnist', { size: 8 }));
    expect(e1).toBeInstanceOf(ArgumentError);
    expect(e1.message).toMatch(/^size: only for image folders, and fashion-mnist is not one/);
    const e2 = await rejects(loadDatasetAsync(d, { labels: 'y.npy' }));
    expect(e2).toBeInstanceOf(ArgumentError);
    expect(e2.message).toMatch(/^labels: not an option for an image folder/);
    expect((await rejects(loadDatasetAsync(d, { sizes: 8 } as never))).message).toMatch(/unknown option "sizes"/);
  });
});

describe('hostile image folders: a DataError naming the file or folder', () => {
  it('missing, empty, without class folders, an empty class folder, a folder inside a class', async () => {
    const missing = path.join(tmp, 'no-such-folder');
    expect((await rejects(loadImageFolder(missing))).message).toMatch(/no-such-folder: cannot read \(ENOENT\)/);
    const empty = folder('empty');
    const e = await rejects(loadImageFolder(empty));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toMatch(/empty: no class subfolders \(expected .*empty\/<class>\/<images>/);
    const flat = folder('flat');
    await writePng(path.join(flat, 'x.png'), pixels(2, 2, 3, 1), 2, 2, 3);
    expect((await rejects(loadImageFolder(flat))).message).toMatch(/flat: no class subfolders/);
    expect((await rejects(loadImageFolder(path.join(flat, 'x.png')))).message).toMatch(/x\.png: not a folder/);
    const emptyClass = folder('empty-class');
    await writePng(path.join(emptyClass, 'a', '1.png'), pixels(2, 2, 3, 1), 2, 2, 3);
    fs.mkdirSync(path.join(emptyClass, 'b'));
    fs.writeFileSync(path.join(emptyClass, 'b', 'readme.txt'), 'x');
    const ec = await rejects(loadImageFolder(emptyClass));
    expect(ec).toBeInstanceOf(DataError);
    expect(ec.message).toMatch(/empty-class[/\\]b: no images in this class folder \(expected \.png, \.jpg/);
    const nested = folder('nested');
    await writePng(path.join(nested, 'a', 'sub', '1.png'), pixels(2, 2, 3, 1), 2, 2, 3);
    expect((await rejects(loadImageFolder(nested))).message).toMatch(/nested[/\\]a[/\\]sub: a folder inside the class folder a; images must sit directly in/);
    const bmp = folder('bmp');
    fs.mkdirSync(path.join(bmp, 'a'));
    fs.writeFileSync(path.join(bmp, 'a', 'old.bmp'), 'BM');
    expect((await rejects(loadImageFolder(bmp))).message).toMatch(/old\.bmp: \.bmp images are not read/);
  });

  it('a text file named x.png, a truncated PNG, a truncated JPEG, an empty file: the file, never a crash', async () => {
    const d = folder('corrupt');
    await writePng(path.join(d, 'a', '0.png'), pixels(32, 32, 3, 1), 32, 32, 3);
    const good = fs.readFileSync(path.join(d, 'a', '0.png'));
    const cases: Array<[string, Buffer | string, RegExp]> = [
      ['x.png', 'hello, I am text\n', /x\.png: not a PNG, JPEG, WebP, GIF, TIFF or AVIF image \(it starts with bytes 68 65 6c 6c 6f 2c 20 49\)/],
      ['cut.png', good.subarray(0, good.length - 30), /cut\.png: cannot decode the image \(/],
      ['empty.png', Buffer.alloc(0), /empty\.png: empty file/],
    ];
    const jpg = await sharp(Buffer.from(pixels(32, 32, 3, 2)), { raw: { width: 32, height: 32, channels: 3 } }).jpeg().toBuffer();
    cases.push(['cut.jpg', jpg.subarray(0, Math.floor(jpg.length * 0.6)), /cut\.jpg: cannot decode the image \(.*(premature end|truncated|JPEG)/i]);
    for (const [name, bytes, pattern] of cases) {
      const c = folder(`corrupt-${name}`);
      fs.cpSync(path.join(d, 'a'), path.join(c, 'a'), { recursive: true });
      fs.mkdirSync(path.join(c, 'b'));
      fs.writeFileSync(path.join(c, 'b', name), bytes);
      for (const size of [undefined, 4] as const) {
        const e = await rejects(loadImageFolder(c, size ? { size } : {}));
        expect(e, name).toBeInstanceOf(DataError);
        expect(e.message, name).toMatch(pattern);
        expect(e.message).toContain(path.join(c, 'b', name));
      }
    }
  });

  it('of two bad files, the first in the dataset order is reported (whatever finishes first)', async () => {
    const d = folder('two-bad');
    for (let i = 0; i < 6; i++) await writePng(path.join(d, 'a', `${i}.png`), pixels(4, 4, 3, i), 4, 4, 3);
    fs.writeFileSync(path.join(d, 'a', '3b.png'), 'bad one');
    fs.writeFileSync(path.join(d, 'a', '5b.png'), 'bad two');
    for (const concurrency of [1, 2, 4]) expect((await rejects(loadImageFolder(d, { concurrency, size: 4 }))).message).toMatch(/3b\.png: not a PNG/);
  });

  it('a huge image is refused from its header (maxPixels); a huge dataset before it is allocated', async () => {
    const d = folder('huge');
    await writePng(path.join(d, 'a', 'big.png'), new Uint8Array(100 * 120 * 3), 100, 120, 3);
    const e = await rejects(loadImageFolder(d, { maxPixels: 5000 }));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toMatch(/big\.png: 100×120 \(H×W\) is 12000 pixels, more than the 5000 imix decodes from one image/);
    // A PNG whose header claims 30000 × 30000 in under 100 bytes: refused by the default bound without decoding.
    fs.rmSync(path.join(d, 'a', 'big.png'));
    fs.writeFileSync(path.join(d, 'a', 'bomb.png'), pngHeaderOnly(30000, 30000));
    const b = await rejects(loadImageFolder(d));
    expect(b).toBeInstanceOf(DataError);
    expect(b.message).toMatch(/bomb\.png: 30000×30000 \(H×W\) is 900000000 pixels, more than the 67108864 imix decodes/);
    // 3 images at 16384 × 16384 × 3 are 2.4e9 values: refused before any image is decoded (the files are not images).
    const many = folder('many');
    for (let i = 0; i < 3; i++) {
      fs.mkdirSync(path.join(many, `c${i}`));
      fs.writeFileSync(path.join(many, `c${i}`, 'x.png'), 'not decoded');
    }
    const t = await rejects(loadImageFolder(many, { size: 16384 }));
    expect(t).toBeInstanceOf(DataError);
    expect(t.message).toMatch(/many: 3 images of \[3, 16384, 16384\] are 2415919104 values, more than the 2147483647 \(2\^31 - 1\) imix holds in one dataset/);
  });

  it('a FIFO or a device named like an image is refused without opening it (no hang)', async () => {
    const d = folder('special');
    await writePng(path.join(d, 'a', '1.png'), pixels(2, 2, 3, 1), 2, 2, 3);
    fs.mkdirSync(path.join(d, 'b'));
    fs.symlinkSync('/dev/zero', path.join(d, 'b', 'zero.png'));
    expect((await rejects(loadImageFolder(d))).message).toMatch(/zero\.png: not a regular file/);
    fs.rmSync(path.join(d, 'b', 'zero.png'));
    if (spawnSync('mkfifo', [path.join(d, 'b', 'fifo.png')]).status === 0)
      expect((await rejects(loadImageFolder(d))).message).toMatch(/fifo\.png: not a regular file/);
  });

  it('bad options are typed errors naming the option', async () => {
    const d = folder('opts');
    await writePng(path.join(d, 'a', '1.png'), pixels(2, 2, 3, 1), 2, 2, 3);
    const cases: Array<[object, typeof ArgumentError | typeof ValueError, RegExp]> = [
      [{ channels: 2 }, ArgumentError, /^channels: expected 1 \(grayscale\) or 3 \(RGB\), got 2/],
      [{ size: 0 }, ValueError, /^size: expected an integer from 1 to 16384, got 0/],
      [{ size: [4, 1.5] }, ArgumentError, /^size\[1\] \(W\): expected an integer, got 1\.5/],
      [{ size: [4] }, ArgumentError, /^size: expected \[H, W\] or one number/],
      [{ size: NaN }, ArgumentError, /^size: expected an integer, got NaN/],
      [{ limit: 0 }, ValueError, /^limit: expected an integer from 1/],
      [{ concurrency: 1000 }, ValueError, /^concurrency: expected an integer from 1 to 64/],
      [{ split: 'val' }, ArgumentError, /^split: expected 'train' or 'test', got val/],
      [{ chanels: 3 }, ArgumentError, /^options: unknown option "chanels"/],
    ];
    for (const [o, cls, pattern] of cases) {
      const e = await rejects(loadImageFolder(d, o as never));
      expect(e, JSON.stringify(o)).toBeInstanceOf(cls);
      expect(e.message).toMatch(pattern);
    }
  });
});

describe('imix on an image folder', () => {
  beforeAll(() => ensureDist(), 120_000);

  function imix(args: string[]) {
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd: tmp, env: { ...process.env, IMIX_DEBUG: '' }, encoding: 'utf8', timeout: 120_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it('--image-size and --channels parse H, HxW and 1|3; anything else is a usage error', () => {
    expect(parseImageSize('32')).toEqual([32, 32]);
    expect(parseImageSize('64x48')).toEqual([64, 48]);
    expect(parseImageSize('64X48')).toEqual([64, 48]);
    for (const bad of ['0', '8x', 'x8', '8x0', '-8', '8.5', '16385', 'big', '8x8x8']) expect(() => parseImageSize(bad), bad).toThrow(/^--image-size: expected H or HxW/);
    expect(parseChannels('1')).toBe(1);
    expect(parseChannels('3')).toBe(3);
    for (const bad of ['2', '4', 'rgb', '']) expect(() => parseChannels(bad), bad).toThrow(/^--channels: expected 1 \(grayscale\) or 3 \(RGB\)/);
  });

  it("run.json's imageSize and channels are checked like every field", () => {
    const run = { format: 'imix-run/1', created: 'now', command: 'imix train', epochs: 1, batch: 8, logEvery: 1, settings: {} };
    expect(parseFile(runFileSchema, { ...run, data: { data: '/x', imageSize: [8, 6], channels: 1 } }, 'run.json').data).toEqual({ data: '/x', imageSize: [8, 6], channels: 1 });
    expect(() => parseFile(runFileSchema, { ...run, data: { imageSize: [0, 8] } }, 'run.json')).toThrow(/^run\.json: damaged: 'data\.imageSize\[0\]' should be an integer >= 1, got 0$/);
    expect(() => parseFile(runFileSchema, { ...run, data: { imageSize: [8, 16385] } }, 'run.json')).toThrow(/'data\.imageSize\[1\]' should be an integer <= 16384/);
    expect(() => parseFile(runFileSchema, { ...run, data: { imageSize: 8 } }, 'run.json')).toThrow(/'data\.imageSize' should be two sizes \[H, W\]/);
    expect(() => parseFile(runFileSchema, { ...run, data: { channels: 2 } }, 'run.json')).toThrow(/'data\.channels' should be 1 or 3, got 2/);
  });

  it('trains on train/ + test/ images (kNN monitor), records the image spec, resumes, evaluates and embeds them', async () => {
    const d = folder('cli-images');
    // Two classes told apart by brightness, 12 + 12 training and 4 + 4 test images of 10 × 12 (resized to 8 × 8).
    for (const [split, count] of [['train', 12], ['test', 4]] as const)
      for (const [k, cls] of ['dark', 'light'].entries())
        for (let i = 0; i < count; i++) {
          const px = pixels(10, 12, 3, 100 * k + i + (split === 'test' ? 50 : 0)).map((v) => (k === 0 ? v >> 2 : 192 + (v >> 2)));
          await writePng(path.join(d, split, cls, `${i}.png`), px, 10, 12, 3);
        }
    const out = path.join(tmp, 'run-images');
    const tiny = ['--method', 'npair', '--encoder', 'mlp:16', '--projection', '16,8', '--batch', '8'];
    const r = imix(['train', '--data', d, '--image-size', '8', '--channels', '1', '--limit', '16', ...tiny, '--epochs', '2', '--max-steps', '2', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/images; train 16 of 24, test 8; \[1, 8, 8\], 2 classes/);
    expect(r.stderr).toContain('kNN every');
    const run = JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8'));
    expect(run.data).toMatchObject({ data: d, imageSize: [8, 8], channels: 1, limit: 16 });
    expect(run.standardize).toBe('off'); // [C, H, W] images
    expect(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'))).toMatchObject({ sampleShape: [1, 8, 8] });
    const resumed = imix(['train', '--resume', out, '--max-steps', '1']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming .* after step 2 \(1 epochs done\)/);
    const e = imix(['eval', out, '--json', '--knn', '--k', '3']);
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout)).toMatchObject({ train: 24, test: 8, features: 16 });
    // embed reads the run's images back (the training split, no --limit: all 24), and the test split.
    const emb = path.join(tmp, 'img-train.npy');
    const t = imix(['embed', out, '--out', emb]);
    expect(t.code, t.stderr).toBe(0);
    expect(readNpy(emb).shape).toEqual([24, 16]);
    const embTest = path.join(tmp, 'img-test.npy');
    const t2 = imix(['embed', out, '--split', 'test', '--out', embTest]);
    expect(t2.code, t2.stderr).toBe(0);
    expect(readNpy(embTest).shape).toEqual([8, 16]);
    // Another folder given with --data is read at the run's size and channels: `dir:test` is the same test split.
    const embTest2 = path.join(tmp, 'img-test2.npy');
    const t3 = imix(['embed', out, '--data', `${d}:test`, '--out', embTest2]);
    expect(t3.code, t3.stderr).toBe(0);
    expect(readNpy(embTest2).data).toEqual(readNpy(embTest).data);
  });

  it('image options on other data, and bad image folders, are one-line errors', async () => {
    const usage = (args: string[], pattern: RegExp, code: number) => {
      const r = imix(args);
      expect(r.code, r.stderr).toBe(code);
      const lines = r.stderr.split('\n').filter(Boolean);
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(pattern);
    };
    const out = path.join(tmp, 'run-bad');
    usage(['train', '--image-size', '8', '--out', out], /--image-size: only for image folders .*fashion-mnist is the bundled IDX data/, 2);
    usage(['train', '--image-size', '8x', '--out', out], /--image-size: expected H or HxW/, 2);
    usage(['train', '--channels', '2', '--out', out], /--channels: expected 1 \(grayscale\) or 3 \(RGB\)/, 2);
    const d = folder('cli-bad');
    await writePng(path.join(d, 'a', '1.png'), pixels(4, 4, 3, 1), 4, 4, 3);
    fs.mkdirSync(path.join(d, 'b'));
    fs.writeFileSync(path.join(d, 'b', 'x.png'), 'text');
    usage(['train', '--data', d, '--out', out], /^imix: error: .*cli-bad[/\\]b[/\\]x\.png: not a PNG, JPEG, WebP, GIF, TIFF or AVIF image/, 1);
    usage(['train', '--data', d, '--labels', 'y.npy', '--out', out], /--labels/, 1);
    expect(fs.existsSync(path.join(out, 'run.json'))).toBe(false);
  });
});
