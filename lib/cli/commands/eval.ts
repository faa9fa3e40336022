/**
 * `imix eval <run>`: rebuilds the run's method, loads its checkpoint, embeds
 * the training and test splits with the frozen encoder and reports the
 * linear-probe and/or kNN accuracy on the test split.
 * @module
 */
import { evaluation, setNumThreads } from '../../index';
import { type DataSpec, BUNDLED, isImageData } from '../data';
import { CliError, EXIT_OK, UsageError } from '../errors';
import { checkDevice, loadRun } from '../method';
import type { ColumnRefData } from '../options';
import { resolveRunData } from '../preprocess';
import { readRunFile, runStandardizes } from '../run-folder';

export interface EvalOptions {
  probe?: 'linear';
  knn?: boolean;
  k: number;
  probeEpochs: number;
  data?: string;
  labels?: string;
  labelColumn?: ColumnRefData;
  categorical?: ColumnRefData[];
  imageSize?: [number, number];
  channels?: 1 | 3;
  limit?: number;
  device: string;
  threads?: number;
  json?: boolean;
}

export interface EvalReport {
  run: string;
  method: string;
  step: number;
  epoch: number;
  data: string;
  features: number;
  train: number;
  test: number;
  linearProbe?: { testAccuracy: number; trainAccuracy: number; epochs: number; steps: number };
  knn?: { k: number; accuracy: number };
  seconds: number;
}

/**
 * Which data the run was trained on (its run.json, with its labels, CSV
 * columns and image size), unless --data overrides it; the full splits by
 * default. An image folder given with --data is read at the run's image size
 * and channels (the encoder's input), unless --image-size or --channels say
 * otherwise.
 */
export function runDataSpec(dir: string, o: Omit<DataSpec, 'data'> & { data?: string }): DataSpec {
  if (o.data !== undefined) {
    const d = readRunFile(dir)?.data;
    const images = d?.imageSize !== undefined && isImageData(o.data);
    const imageSize = o.imageSize ?? (images ? d.imageSize : undefined), channels = o.channels ?? (images ? d.channels : undefined);
    return { data: o.data, labels: o.labels, labelColumn: o.labelColumn, categorical: o.categorical, imageSize, channels, limit: o.limit };
  }
  const flag =
    o.labels !== undefined ? '--labels'
    : o.labelColumn !== undefined ? '--label-column'
    : o.categorical !== undefined ? '--categorical'
    : o.imageSize !== undefined ? '--image-size'
    : o.channels !== undefined ? '--channels'
    : undefined;
  if (flag) throw new UsageError(`${flag}: only with --data (the run's own data is read as it was for training)`);
  const run = readRunFile(dir);
  const d = run?.data ?? { data: BUNDLED };
  return { data: d.data, labels: d.labels, labelColumn: d.labelColumn, categorical: d.categorical, missing: d.missing, imageSize: d.imageSize, channels: d.channels, limit: o.limit };
}

export async function evaluate(dir: string, o: EvalOptions): Promise<number> {
  const t0 = performance.now();
  if (o.threads !== undefined) setNumThreads(o.threads);
  const doProbe = o.probe === 'linear' || (!o.probe && !o.knn);
  const doKnn = o.knn || (!o.probe && !o.knn);
  checkDevice(o.device);
  const { method } = await loadRun(dir, o.device);
  try {
    const ds = await resolveRunData(dir, runDataSpec(dir, o), runStandardizes(dir, readRunFile(dir)?.standardize));
    const { train, test } = ds;
    if (!train.labels) throw new CliError(`eval: the training data (${ds.description}) has no labels`);
    if (!test?.labels) throw new CliError(`eval: needs a labelled test split, and ${ds.description} has none (give --data a directory with train- and test- IDX files)`);
    const D = method.features;
    const ftr = method.embed(train), fte = method.embed(test);
    const numClasses = Math.max(train.numClasses ?? 0, test.numClasses ?? 0);
    const report: EvalReport = { run: dir, method: method.name, step: method.step, epoch: method.epoch, data: ds.description, features: D, train: train.n, test: test.n, seconds: 0 };
    if (doProbe) {
      const r = evaluation.linearProbe(ftr, train.labels, fte, test.labels, D, numClasses, { epochs: o.probeEpochs, device: method.device, seed: method.seed });
      report.linearProbe = { testAccuracy: r.testAccuracy, trainAccuracy: r.trainAccuracy, epochs: r.epochs, steps: r.steps };
    }
    if (doKnn) {
      const pred = evaluation.knnPredict(ftr, train.labels, fte, D, numClasses, { k: o.k, device: method.device });
      report.knn = { k: o.k, accuracy: evaluation.accuracy(pred, test.labels) };
    }
    report.seconds = Math.round((performance.now() - t0) / 10) / 100;
    if (o.json) {
      process.stdout.write(JSON.stringify(report) + '\n');
    } else {
      const lines = [
        `run:           ${dir} (${method.name}, epoch ${method.epoch}, step ${method.step})`,
        `data:          ${ds.description}`,
        `features:      ${D}`,
      ];
      if (report.linearProbe)
        lines.push(`linear probe:  test accuracy ${report.linearProbe.testAccuracy.toFixed(4)}  (train ${report.linearProbe.trainAccuracy.toFixed(4)}, ${report.linearProbe.epochs} epochs, ${report.linearProbe.steps} steps)`);
      if (report.knn) lines.push(`${`kNN (k=${o.k}):`.padEnd(14)} test accuracy ${report.knn.accuracy.toFixed(4)}`);
      process.stdout.write(lines.join('\n') + '\n');
    }
    return EXIT_OK;
  } finally {
    method.dispose();
  }
}
