/**
 * `imix embed <run> --out <file.npy|file.csv>`: encoder features f(x) of
 * every row (BatchNorm in eval mode), written atomically as a float32
 * [rows, features] NPY array or as CSV (one row per line, no header).
 * @module
 */
import * as path from 'node:path';
import { data, setNumThreads } from '../../index';
import { CliError, EXIT_OK, UsageError } from '../errors';
import { checkDevice, loadRun } from '../method';
import { writeMatrix } from '../npy';
import type { ColumnRefData } from '../options';
import { checkOutputFile, outputError } from '../paths';
import { resolveRunData } from '../preprocess';
import { readRunFile, runStandardizes } from '../run-folder';
import { runDataSpec } from './eval';

export interface EmbedOptions {
  out: string;
  data?: string;
  labels?: string;
  labelColumn?: ColumnRefData;
  categorical?: ColumnRefData[];
  imageSize?: [number, number];
  channels?: 1 | 3;
  split: 'train' | 'test';
  limit?: number;
  test?: string;
  testLabels?: string;
  holdout?: number;
  device: string;
  threads?: number | 'auto';
  quiet?: boolean;
}

export async function embed(dir: string, o: EmbedOptions): Promise<number> {
  if (!/\.(npy|csv)$/i.test(o.out)) throw new UsageError(`--out ${o.out}: expected a file name ending in .npy or .csv`);
  checkOutputFile('--out', o.out); // before the work, not at the write
  if (o.threads !== undefined) setNumThreads(o.threads);
  checkDevice(o.device);
  const { method } = await loadRun(dir, o.device);
  try {
    // Labels are never written: CSV rows without (or with new) labels embed too.
    const ds = await resolveRunData(dir, runDataSpec(dir, o), runStandardizes(dir, readRunFile(dir)?.standardize), { ignoreLabel: true });
    const rows = o.split === 'test' ? ds.test : ds.train;
    if (!rows) throw new CliError(`--split test: ${ds.description} has no test split (a run trained with --test FILE or --holdout FRACTION has one)`);
    // resolveData limits the training split; --limit applies to the test split here.
    const lim = o.split === 'test' && o.limit !== undefined ? data.subset(rows, 0, Math.min(o.limit, rows.n)) : rows;
    const D = method.features;
    const feats = method.embed(lim);
    let kind: 'npy' | 'csv';
    try {
      kind = writeMatrix(o.out, feats, lim.n, D);
    } catch (e) {
      throw outputError('--out', o.out, e);
    }
    if (!o.quiet) process.stderr.write(`imix: wrote ${lim.n} x ${D} features (${kind}) to ${path.normalize(o.out)}\n`);
    return EXIT_OK;
  } finally {
    method.dispose();
  }
}
