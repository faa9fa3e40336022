/**
 * Folders of images in torchvision's `ImageFolder` layout — one subfolder
 * per class, `dir/<class>/<image>` — decoded with sharp (libvips) into a
 * {@link Dataset} of planar `[C, H, W]` float32 samples in [0, 1].
 *
 * The layout, the order and the pixel values follow torchvision so that a
 * dataset reads the same in both:
 *
 * - classes are the subfolders sorted by name (Unicode code points, as
 *   Python's `sorted`), labelled 0..K−1; the files of a class are sorted by
 *   name, and rows are class by class;
 * - a pixel value v (0–255) becomes `v / 255` in float32, which is
 *   `ToTensor()`'s value; RGB drops the alpha channel (PIL's
 *   `convert('RGB')`), grayscale is PIL's `convert('L')` luma
 *   `(19595·R + 38470·G + 7471·B + 2¹⁵) >> 16` of the RGB pixel;
 * - EXIF orientation and embedded ICC profiles are ignored, as PIL ignores
 *   them.
 *
 * Every problem is a {@link DataError} naming the file or folder; sizes are
 * bounded before anything is allocated from them (see {@link loadImageFolder}).
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type sharpConstructor from 'sharp';
import { ArgumentError, BackendError, DataError, ValueError } from '../errors';
import { checkOptionKeys } from './csv';
import type { LoadedDataset } from './load';
import { MAX_VALUES, clip, formatDims } from './limits';

/** The file extensions read as images (case-insensitive); other files in a class folder are ignored, as torchvision ignores them. */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff', '.avif'];
/** Image extensions torchvision reads but sharp's prebuilt libvips does not: a file with one is an error, not skipped. */
const UNSUPPORTED_EXTENSIONS = new Set(['.bmp', '.ppm', '.pgm', '.pbm', '.pnm', '.heic', '.heif']);
/** The largest `size` side (and `--image-size`): 16384 pixels. */
export const MAX_IMAGE_SIDE = 16384;
/** The default `maxPixels`: the most pixels (width × height) decoded from one image, 2²⁶ (8192 × 8192). */
export const MAX_IMAGE_PIXELS = 2 ** 26;
/** The most bytes of one image file: 256 MiB (the file is read into memory, then decoded). */
export const MAX_IMAGE_FILE_BYTES = 2 ** 28;
/** The default number of files read and decoded at once (sharp decodes on libuv's pool of 4 threads). */
export const DEFAULT_IMAGE_CONCURRENCY = 4;

/** Options of {@link loadImageFolder}. */
export interface ImageFolderOptions {
  /**
   * `'train'` (default) or `'test'`. A folder whose `train/` subfolder holds
   * class subfolders (and no images of its own) has splits: `dir/train/<class>/…`
   * and `dir/test/<class>/…` (or `dir/val/<class>/…`). Any other folder is one
   * split, `'train'`.
   */
  split?: 'train' | 'test';
  /**
   * `[H, W]` (or one number for a square) to resize every image to: scaled to
   * cover H × W, keeping its aspect ratio (Lanczos-3), then cropped at the
   * centre — for a square size torchvision's `Resize(size)` followed by
   * `CenterCrop(size)`. An image already H × W is left as decoded. Default:
   * the size of the first image; then every image must have that size.
   */
  size?: number | [number, number];
  /** 3 (RGB, the default, as torchvision's loader) or 1 (grayscale luma). */
  channels?: 1 | 3;
  /** Read only the first `limit` images (in the dataset's order: class by class). */
  limit?: number;
  /** Files read and decoded at once (default {@link DEFAULT_IMAGE_CONCURRENCY}, at most 64). */
  concurrency?: number;
  /** The most pixels (width × height) an image may have (default {@link MAX_IMAGE_PIXELS}); sharp's `limitInputPixels`. */
  maxPixels?: number;
  /** The dataset's name (default: the folder's name, with `-train`/`-test` for a folder with splits). */
  name?: string;
}

/** The keys of ImageFolderOptions (the compiler keeps the list complete). */
const IMAGE_OPTION_KEYS: { [K in keyof ImageFolderOptions]-?: true } = { split: true, size: true, channels: true, limit: true, concurrency: true, maxPixels: true, name: true };
/** The option names of {@link ImageFolderOptions}. */
export const imageFolderOptionKeys: readonly string[] = Object.keys(IMAGE_OPTION_KEYS);

/** What {@link listImageFolder} finds: the classes and the image files of one split, in the dataset's order. */
export interface ImageFolderListing {
  /** The folder whose subfolders are the classes: `dir`, or `dir/train`, `dir/test` (`dir/val`) for a folder with splits. */
  root: string;
  /** Whether `dir` has `train/` and `test/` splits. */
  hasSplits: boolean;
  /** Class names, sorted; class k is label k. For the test split these are the training split's classes. */
  classes: string[];
  /** The image files (paths under `root`), class by class, each class's sorted by name. */
  files: string[];
  /** The label of each file. */
  labels: Int32Array;
}

/** Code-point order (Python's `sorted` on str), not JavaScript's UTF-16 order. */
function byCodePoint(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function cannotRead(what: string, e: unknown): DataError {
  return new DataError(`${what}: cannot read (${(e as NodeJS.ErrnoException).code ?? clip((e as Error).message, 200)})`);
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Whether a directory entry is a directory (a symbolic link is followed). */
function entryIsDirectory(dir: string, e: fs.Dirent): boolean {
  if (e.isDirectory()) return true;
  return e.isSymbolicLink() && isDirectory(path.join(dir, e.name));
}

function readEntries(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw cannotRead(dir, e);
  }
}

/** The non-hidden subdirectories of `dir`, sorted (hidden ones, such as `.ipynb_checkpoints`, are skipped). */
function subfolders(dir: string): string[] {
  return readEntries(dir)
    .filter((e) => !e.name.startsWith('.') && entryIsDirectory(dir, e))
    .map((e) => e.name)
    .sort(byCodePoint);
}

function isImageName(name: string): boolean {
  return !name.startsWith('.') && IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

/** The IDX file names of an MNIST-style directory (lib/data/load.ts idxSplitFiles reads them). */
const IDX_IMAGES = /^(train|t10k|test)[-.]images[-.]idx3[-.]ubyte(\.gz)?$/;

/** `dir/train` and `dir/test` (or `dir/val`) when `dir` has splits: `train/` holds class subfolders and no images of its own. */
function splitFolders(dir: string): { train: string; test: string | undefined } | undefined {
  const train = path.join(dir, 'train');
  if (!isDirectory(train)) return undefined;
  const entries = readEntries(train);
  // A class named "train" holds images; a split holds class folders.
  if (entries.some((e) => isImageName(e.name)) || !entries.some((e) => !e.name.startsWith('.') && entryIsDirectory(train, e))) return undefined;
  const test = ['test', 'val'].map((s) => path.join(dir, s)).find(isDirectory);
  return { train, test };
}

/**
 * Whether `dir` is read as an image folder: a directory with at least one
 * (non-hidden) subfolder and no IDX images file (`train-images-idx3-ubyte`,
 * `t10k-…`, `test-…`, gzip or not), which makes it an IDX directory.
 */
export function isImageFolder(dir: string): boolean {
  if (typeof dir !== 'string' || !isDirectory(dir)) return false;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  if (entries.some((e) => IDX_IMAGES.test(e.name))) return false;
  return entries.some((e) => !e.name.startsWith('.') && entryIsDirectory(dir, e));
}

/** The image files of one class folder, sorted; a nested folder or an unsupported image format is an error. */
function classFiles(folder: string, root: string): string[] {
  const files: string[] = [];
  for (const e of readEntries(folder)) {
    if (e.name.startsWith('.')) continue;
    const p = path.join(folder, e.name);
    const ext = path.extname(e.name).toLowerCase();
    if (entryIsDirectory(folder, e))
      throw new DataError(`${p}: a folder inside the class folder ${clip(path.basename(folder))}; images must sit directly in ${root}/<class>/`);
    if (UNSUPPORTED_EXTENSIONS.has(ext))
      throw new DataError(`${p}: ${ext} images are not read (sharp reads PNG, JPEG, WebP, GIF, TIFF and AVIF); convert it, e.g. to PNG`);
    if (IMAGE_EXTENSIONS.includes(ext)) files.push(e.name);
  }
  if (files.length === 0) throw new DataError(`${folder}: no images in this class folder (expected ${IMAGE_EXTENSIONS.join(', ')} files)`);
  return files.sort(byCodePoint).map((f) => path.join(folder, f));
}

function checkSplit(split: unknown): 'train' | 'test' {
  if (split === undefined) return 'train';
  if (split !== 'train' && split !== 'test') throw new ArgumentError(`split: expected 'train' or 'test', got ${clip(split)}`);
  return split;
}

/**
 * Lists the classes and image files of a split of the image folder `dir`
 * (see {@link loadImageFolder} for the layout), without decoding anything.
 * The test split is labelled with the training split's classes (a class
 * folder the training split lacks is an error); it may lack some of them.
 */
export function listImageFolder(dir: string, options: { split?: 'train' | 'test' } = {}): ImageFolderListing {
  if (typeof dir !== 'string' || dir.length === 0) throw new ArgumentError('dir: expected a folder path');
  if (options === null || typeof options !== 'object') throw new ArgumentError('options: expected an object');
  checkOptionKeys(options, ['split']);
  const split = checkSplit(options.split);
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    throw cannotRead(dir, e);
  }
  if (!st.isDirectory()) throw new DataError(`${dir}: not a folder (an image folder holds one subfolder of images per class)`);
  const splits = splitFolders(dir);
  let root = dir;
  if (splits) {
    if (split === 'test') {
      if (!splits.test) throw new DataError(`${dir}: no test split (expected ${path.join(dir, 'test')}/<class>/<images> beside ${splits.train})`);
      root = splits.test;
    } else root = splits.train;
  } else if (split === 'test')
    throw new DataError(`${dir}: no test split (its subfolders are the classes; a folder with splits holds train/<class>/… and test/<class>/…)`);
  const names = subfolders(root);
  if (names.length === 0) throw new DataError(`${root}: no class subfolders (expected ${root}/<class>/<images>, as torchvision's ImageFolder)`);
  const classes = split === 'test' && splits ? subfolders(splits.train) : names;
  const index = new Map(classes.map((c, k) => [c, k]));
  const files: string[] = [];
  const labels: number[] = [];
  for (const name of names) {
    const k = index.get(name);
    if (k === undefined)
      throw new DataError(`${path.join(root, name)}: class ${JSON.stringify(clip(name))} is not among the training split's classes (${clip(classes.join(', '), 200)})`);
    for (const f of classFiles(path.join(root, name), root)) {
      files.push(f);
      labels.push(k);
    }
  }
  return { root, hasSplits: splits !== undefined, classes, files, labels: Int32Array.from(labels) };
}

function positiveInt(v: unknown, what: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ArgumentError(`${what}: expected an integer, got ${clip(typeof v === 'number' ? v : JSON.stringify(v) ?? String(v))}`);
  if (v < 1 || v > max) throw new ValueError(`${what}: expected an integer from 1 to ${max}, got ${v}`);
  return v;
}

/** `size` as [H, W], checked. */
function checkSize(size: unknown): [number, number] | undefined {
  if (size === undefined) return undefined;
  if (typeof size === 'number') {
    const s = positiveInt(size, 'size', MAX_IMAGE_SIDE);
    return [s, s];
  }
  if (!Array.isArray(size) || size.length !== 2) throw new ArgumentError(`size: expected [H, W] or one number, got ${clip(JSON.stringify(size) ?? String(size))}`);
  return [positiveInt(size[0], 'size[0] (H)', MAX_IMAGE_SIDE), positiveInt(size[1], 'size[1] (W)', MAX_IMAGE_SIDE)];
}

/** sharp's default export, the constructor function (typed as such under CommonJS and ESM resolution alike). */
type SharpModule = typeof sharpConstructor;
let sharpModule: SharpModule | undefined;

/** sharp, loaded on first use: the rest of the library works where its prebuilt binary does not. */
function loadSharp(): SharpModule {
  if (!sharpModule) {
    try {
      sharpModule = require('sharp') as SharpModule;
    } catch (e) {
      throw new BackendError(`image folders are decoded with the sharp package, which did not load (${clip((e as Error).message, 300)}); reinstall it: npm install sharp`);
    }
  }
  return sharpModule;
}

/** The image formats read, told from the first bytes (not the name): undefined for anything else. */
function sniffImage(b: Buffer): string | undefined {
  const ascii = (start: number, end: number) => b.toString('latin1', start, end);
  if (b.length >= 8 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a) return 'PNG';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'JPEG';
  if (b.length >= 6 && (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a')) return 'GIF';
  if (b.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'WebP';
  if (b.length >= 4 && ['II*\0', 'MM\0*', 'II+\0', 'MM\0+'].includes(ascii(0, 4))) return 'TIFF'; // (and BigTIFF)
  if (b.length >= 12 && ascii(4, 8) === 'ftyp') {
    // An ISO-BMFF file: AVIF when 'avif' or 'avis' is its major or a compatible brand.
    const box = Math.min(b.readUInt32BE(0), b.length, 256);
    for (let o = 8; o + 4 <= box; o += 4) if (o !== 12 && (ascii(o, o + 4) === 'avif' || ascii(o, o + 4) === 'avis')) return 'AVIF';
  }
  return undefined;
}

/** All of `file`, a regular file of at most MAX_IMAGE_FILE_BYTES (a FIFO or device is refused before it is opened). */
async function readImageFile(file: string): Promise<Buffer> {
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(file);
  } catch (e) {
    throw cannotRead(file, e);
  }
  if (!st.isFile()) throw new DataError(`${file}: not a regular file`);
  if (st.size === 0) throw new DataError(`${file}: empty file`);
  if (st.size > MAX_IMAGE_FILE_BYTES) throw new DataError(`${file}: ${st.size} bytes, more than the ${MAX_IMAGE_FILE_BYTES} bytes imix reads from one image file`);
  let fh: fs.promises.FileHandle;
  try {
    // O_NONBLOCK: should the file have been replaced by a FIFO since the stat, the open does not wait for a writer.
    fh = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    throw cannotRead(file, e);
  }
  try {
    if (!(await fh.stat()).isFile()) throw new DataError(`${file}: not a regular file`);
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await fh.read(buf, got, buf.length - got, got);
      if (bytesRead <= 0) break;
      got += bytesRead;
    }
    return got === buf.length ? buf : buf.subarray(0, got);
  } catch (e) {
    throw e instanceof DataError ? e : cannotRead(file, e);
  } finally {
    await fh.close();
  }
}

/** An image decoded to 8-bit sRGB, interleaved (3 bytes a pixel), `height × width`. */
interface Decoded {
  data: Buffer;
  width: number;
  height: number;
}

function decodeError(file: string, e: unknown): DataError {
  // libvips's messages can span lines; with failOn it may report only that a
  // warning (a truncated or damaged stream) was treated as an error, the
  // warning's own text having gone to another thread's error buffer.
  const msg = String((e as Error).message ?? e).trim().replace(/\s*\n\s*/g, '; ');
  const what = /failOn/.test(msg) ? `damaged or truncated image data: ${msg}` : msg;
  return new DataError(`${file}: cannot decode the image (${clip(what, 200)})`);
}

/**
 * Decodes `file` to 8-bit sRGB: alpha dropped, grayscale replicated, 16-bit
 * scaled to 8, CMYK converted (its ICC profile ignored, as every embedded
 * profile is). `target` [H, W]: resized to cover it and cropped at the
 * centre, unless it is that size already; `check(h, w)` may refuse the
 * decoded size first (the default-size rule).
 */
async function decodeImage(file: string, maxPixels: number, target: [number, number] | undefined, check?: (h: number, w: number) => void): Promise<Decoded> {
  const buf = await readImageFile(file);
  if (!sniffImage(buf)) {
    const head = Array.from(buf.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new DataError(`${file}: not a PNG, JPEG, WebP, GIF, TIFF or AVIF image (it starts with bytes ${head})`);
  }
  const sharp = loadSharp();
  // failOn 'warning': a truncated or damaged image is an error, not an image with grey rows.
  const input = { failOn: 'warning', ignoreIcc: true, autoOrient: false, pages: 1 } as const;
  let meta: Awaited<ReturnType<ReturnType<SharpModule>['metadata']>>;
  try {
    // The header only (no pixel limit here, so that a huge image is reported with its size below).
    meta = await sharp(buf, { ...input, limitInputPixels: false }).metadata();
  } catch (e) {
    throw decodeError(file, e);
  }
  const w = meta.width, h = meta.height; // of the first page (pages: 1) of a GIF, WebP or TIFF
  if (!(Number.isSafeInteger(w) && Number.isSafeInteger(h) && w > 0 && h > 0)) throw new DataError(`${file}: the image has no size (${w}×${h})`);
  if (w * h > maxPixels)
    throw new DataError(`${file}: ${h}×${w} (H×W) is ${w * h} pixels, more than the ${maxPixels} imix decodes from one image (the maxPixels option)`);
  check?.(h, w);
  let pipeline = sharp(buf, { ...input, limitInputPixels: maxPixels }).removeAlpha().toColourspace('srgb');
  const [H, W] = target ?? [h, w];
  if (H !== h || W !== w) pipeline = pipeline.resize(W, H, { fit: 'cover', position: 'centre', kernel: 'lanczos3' });
  let out: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    out = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw decodeError(file, e);
  }
  const { info, data } = out;
  if (info.width !== W || info.height !== H || info.channels !== 3 || data.length !== W * H * 3)
    throw new DataError(`${file}: decoded to ${info.height}×${info.width}×${info.channels} (H×W×C), expected ${H}×${W}×3`);
  return { data, width: W, height: H };
}

/** float32(v / 255) for each byte: ToTensor's value. */
const BYTE_TO_UNIT = Float32Array.from({ length: 256 }, (_, v) => v / 255);

/**
 * Writes the interleaved 8-bit sRGB pixels `rgb` as planar float32 `[C, H, W]` at `x[offset...]`:
 * RGB as v/255, or (channels 1) PIL's `convert('L')` luma (19595·R + 38470·G + 7471·B + 2¹⁵) >> 16, /255.
 */
function writePlanar(rgb: Buffer, hw: number, channels: 1 | 3, x: Float32Array, offset: number): void {
  if (channels === 3) {
    for (let p = 0; p < hw; p++) {
      x[offset + p] = BYTE_TO_UNIT[rgb[3 * p]!]!;
      x[offset + hw + p] = BYTE_TO_UNIT[rgb[3 * p + 1]!]!;
      x[offset + 2 * hw + p] = BYTE_TO_UNIT[rgb[3 * p + 2]!]!;
    }
  } else {
    for (let p = 0; p < hw; p++) x[offset + p] = BYTE_TO_UNIT[(rgb[3 * p]! * 19595 + rgb[3 * p + 1]! * 38470 + rgb[3 * p + 2]! * 7471 + 0x8000) >>> 16]!;
  }
}

/**
 * Runs `fn(i)` for i in [0, n), at most `k` at a time. After a failure no new
 * index starts; the error of the smallest failed index is thrown once the
 * running ones have ended (with one bad file, always that file's error).
 */
async function boundedForEach(n: number, k: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failedAt = Infinity;
  let failure: unknown;
  const worker = async () => {
    while (failedAt === Infinity && next < n) {
      const i = next++;
      try {
        await fn(i);
      } catch (e) {
        if (i < failedAt) [failedAt, failure] = [i, e];
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(k, n) }, worker));
  if (failedAt !== Infinity) throw failure;
}

/**
 * Loads a split of the image folder `dir` (torchvision's `ImageFolder`
 * layout) as a dataset of planar `[C, H, W]` float32 samples in [0, 1],
 * labelled by class, with `classes` naming the labels:
 *
 * - `dir/<class>/<image>`: one subfolder per class (classes sorted by name
 *   are labels 0..K−1; hidden folders are skipped), the images directly in
 *   it (sorted by name; `.png`, `.jpg`, `.jpeg`, `.webp`, `.gif`, `.tif`,
 *   `.tiff`, `.avif`, any case; other files are ignored). Such a folder is
 *   the `'train'` split.
 * - `dir/train/<class>/<image>` and `dir/test/<class>/<image>` (or
 *   `dir/val/…`): a folder with splits, chosen when `dir/train` holds class
 *   subfolders and no images of its own. The test split is labelled with the
 *   training split's classes.
 *
 * Each image is decoded with sharp to 8-bit sRGB (alpha dropped, as PIL's
 * `convert('RGB')`; grayscale replicated), optionally resized (`size`),
 * then converted to `channels` and to `v / 255`; see {@link ImageFolderOptions}.
 * The content decides the format, not the name.
 *
 * Hostile folders end in a {@link DataError} naming the file or folder: a
 * missing or empty folder, no class subfolders, a class folder without
 * images or with a folder inside, a corrupt, truncated or non-image file
 * (sharp's `failOn: 'warning'`), an image of more than `maxPixels` pixels
 * (checked from its header before decoding), a file over
 * {@link MAX_IMAGE_FILE_BYTES}, a FIFO or device, or a dataset of more than
 * 2³¹ − 1 values: N·C·H·W is checked before the dataset is allocated (with
 * `size`, before anything is decoded). At most `concurrency` files are read
 * and decoded at a time.
 *
 * ```ts
 * const train = await data.loadImageFolder('photos', { size: 64 });          // [3, 64, 64]
 * const test = await data.loadImageFolder('photos', { split: 'test', size: 64 });
 * console.log(train.classes, train.n, train.sampleShape);
 * ```
 */
export async function loadImageFolder(dir: string, options: ImageFolderOptions = {}): Promise<LoadedDataset & { classes: string[] }> {
  if (options === null || typeof options !== 'object') throw new ArgumentError('options: expected an object');
  checkOptionKeys(options, imageFolderOptionKeys);
  const size = checkSize(options.size);
  const channels = options.channels ?? 3;
  if (channels !== 1 && channels !== 3) throw new ArgumentError(`channels: expected 1 (grayscale) or 3 (RGB), got ${clip(channels)}`);
  const limit = options.limit === undefined ? undefined : positiveInt(options.limit, 'limit', Number.MAX_SAFE_INTEGER);
  const concurrency = options.concurrency === undefined ? DEFAULT_IMAGE_CONCURRENCY : positiveInt(options.concurrency, 'concurrency', 64);
  const maxPixels = options.maxPixels === undefined ? MAX_IMAGE_PIXELS : positiveInt(options.maxPixels, 'maxPixels', 2 ** 32);
  if (options.name !== undefined && typeof options.name !== 'string') throw new ArgumentError('name: expected a string');
  const split = checkSplit(options.split);
  const listing = listImageFolder(dir, { split });
  const n = limit === undefined ? listing.files.length : Math.min(limit, listing.files.length);
  const files = listing.files.slice(0, n);

  // The sample size: `size`, or the first image's (decoded first, by itself).
  let first: Decoded | undefined;
  if (!size) first = await decodeImage(files[0]!, maxPixels, undefined);
  const [H, W] = size ?? [first!.height, first!.width];
  const hw = H * W, f = channels * hw;
  if (n * f > MAX_VALUES)
    throw new DataError(
      `${listing.root}: ${n} images of ${formatDims([channels, H, W])} are ${n * f} values, more than the ${MAX_VALUES} (2^31 - 1) imix holds in one dataset; ` +
        `${size ? 'give a smaller size' : 'resize them (size)'} or load fewer (limit)`,
    );
  let x: Float32Array;
  try {
    x = new Float32Array(n * f);
  } catch (e) {
    throw new DataError(`${listing.root}: cannot allocate ${n} images of ${formatDims([channels, H, W])} (${clip((e as Error).message)})`);
  }
  if (first) writePlanar(first.data, hw, channels, x, 0);
  const sameSize = (file: string) => (h: number, w: number) => {
    if (h !== H || w !== W)
      throw new DataError(`${file}: the image is ${h}×${w} (H×W) and the first one (${files[0]}) ${H}×${W}; give a size (--image-size) to resize every image to one size`);
  };
  const start = first ? 1 : 0;
  await boundedForEach(n - start, concurrency, async (k) => {
    const i = start + k;
    const img = await decodeImage(files[i]!, maxPixels, size, size ? undefined : sameSize(files[i]!));
    writePlanar(img.data, hw, channels, x, i * f);
  });
  const base = path.basename(path.resolve(dir));
  return {
    x,
    n,
    sampleShape: [channels, H, W],
    labels: listing.labels.slice(0, n),
    numClasses: listing.classes.length,
    classes: listing.classes,
    name: options.name ?? (listing.hasSplits ? `${base}-${split}` : base),
    format: 'images',
    source: dir,
  };
}
