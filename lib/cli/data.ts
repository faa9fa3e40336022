/**
 * Where the CLI's data comes from. ONE function, `resolveData`, turns the
 * `--data` / `--labels` / `--limit` options into a training split and, where
 * there is one, a labelled test split. When the library's general loader
 * (`data.loadDataset(path, options)`, CSV/NPY/IDX) is available it is used
 * for single files; until then single files are read as IDX.
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { data } from '../index';

type Dataset = data.Dataset;
import { CliError } from './errors';

/** How the user named the data. */
export interface DataSpec {
  /** 'fashion-mnist' (default), an IDX images file, a directory of IDX files, or another file the library loads. */
  data?: string;
  /** Labels file for a single data file. */
  labels?: string;
  /** Use only the first N training rows. */
  limit?: number;
}

export interface ResolvedData {
  train: Dataset;
  /** A labelled test split, when the data has one (the bundled data does). */
  test?: Dataset;
  /** One line for humans: where the data came from. */
  description: string;
}

export const BUNDLED = 'fashion-mnist';

type LoadDataset = (file: string, options?: { labels?: string }) => Dataset;

/** IDX files in a directory: train/test images and labels, MNIST naming (`train-images-idx3-ubyte[.gz]`, `t10k-…`). */
function idxDirectory(dir: string): { trainImages: string; trainLabels?: string; testImages?: string; testLabels?: string } {
  const files = fs.readdirSync(dir).filter((f) => /idx\d/i.test(f) || /\.idx(\.gz)?$/i.test(f));
  const find = (split: RegExp, kind: RegExp) => {
    const f = files.find((n) => split.test(n) && kind.test(n));
    return f ? path.join(dir, f) : undefined;
  };
  const TRAIN = /^train/i, TEST = /^(test|t10k)/i, IMG = /image/i, LAB = /label/i;
  let trainImages = find(TRAIN, IMG);
  const trainLabels = find(TRAIN, LAB), testImages = find(TEST, IMG), testLabels = find(TEST, LAB);
  if (!trainImages) {
    // A lone images file without a split name is the training data.
    const imgs = files.filter((n) => IMG.test(n) && !TEST.test(n));
    if (imgs.length === 1) trainImages = path.join(dir, imgs[0]!);
  }
  if (!trainImages)
    throw new CliError(`${dir}: no IDX training images here (expected e.g. train-images-idx3-ubyte[.gz], with train-labels-, test-images-, test-labels- beside it)`);
  return { trainImages, trainLabels, testImages, testLabels };
}

function limitRows(ds: Dataset, limit: number | undefined): Dataset {
  if (limit === undefined || limit >= ds.n) return ds;
  return data.subset(ds, 0, limit);
}

/**
 * Resolves the data options into datasets. Throws a CliError (exit 1) for a
 * missing or unreadable path; the library's DataError messages (truncated
 * or malformed files) pass through.
 */
export function resolveData(spec: DataSpec): ResolvedData {
  const src = spec.data ?? BUNDLED;
  if (src === BUNDLED) {
    if (spec.labels) throw new CliError(`--labels: the bundled ${BUNDLED} data has its own labels`);
    const train = data.fashionMnist('train'), test = data.fashionMnist('test');
    const t = limitRows(train, spec.limit);
    return { train: t, test, description: `${BUNDLED} (bundled; train ${t.n}${t.n < train.n ? ` of ${train.n}` : ''}, test ${test.n})` };
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(src);
  } catch {
    throw new CliError(`--data ${src}: no such file or directory`);
  }
  if (st.isDirectory()) {
    if (spec.labels) throw new CliError(`--labels: not used with a data directory (labels are found in ${src})`);
    const f = idxDirectory(src);
    const train = data.loadIdxDataset(f.trainImages, f.trainLabels, { name: path.basename(f.trainImages) });
    const test = f.testImages ? data.loadIdxDataset(f.testImages, f.testLabels, { name: path.basename(f.testImages) }) : undefined;
    if (test && data.featureCount(test) !== data.featureCount(train))
      throw new CliError(`${f.testImages}: ${data.featureCount(test)} features per row, the training images have ${data.featureCount(train)}`);
    const t = limitRows(train, spec.limit);
    return { train: t, test, description: `${src} (train ${t.n}${t.n < train.n ? ` of ${train.n}` : ''}${test ? `, test ${test.n}` : ''})` };
  }
  if (spec.labels && !fs.existsSync(spec.labels)) throw new CliError(`--labels ${spec.labels}: no such file`);
  const load = (data as unknown as { loadDataset?: LoadDataset }).loadDataset;
  let train: Dataset;
  if (typeof load === 'function') {
    train = load(src, spec.labels ? { labels: spec.labels } : {});
    if (!train || !(train.x instanceof Float32Array)) throw new CliError(`--data ${src}: the loader returned no dataset`);
  } else {
    if (/\.(csv|tsv|npy|npz|json)$/i.test(src))
      throw new CliError(`--data ${src}: this build of imix reads IDX files only (CSV/NPY loading is not available yet)`);
    train = data.loadIdxDataset(src, spec.labels);
  }
  const t = limitRows(train, spec.limit);
  return { train: t, description: `${src} (${t.n}${t.n < train.n ? ` of ${train.n}` : ''} rows${t.labels ? ', labelled' : ''})` };
}
