/**
 * `imix eval <run>`: rebuilds the run's method, loads its checkpoint, embeds
 * the training and test splits with the frozen encoder and reports the
 * test accuracy of its probes (linear, least-squares pinv, kNN; on every
 * training label or, with --label-fraction, on seeded stratified subsets),
 * each next to the same probe on the raw standardized input (eval-probes.ts).
 * @module
 */
import { setNumThreads } from '../../index';
import { type DataSpec, BUNDLED, isImageData } from '../data';
import { CliError, EXIT_OK, UsageError } from '../errors';
import { checkDevice, loadRun } from '../method';
import type { ColumnRefData } from '../options';
import { type EvalProbes, type ProbeReports, probeLines, runEvalProbes } from '../eval-probes';
import { resolveRunData } from '../preprocess';
import { readRunConfig, readRunFile, runStandardizes } from '../run-folder';

export interface EvalOptions {
  probe?: 'linear' | 'pinv' | 'knn';
  knn?: boolean;
  k: number;
  probeEpochs: number;
  /** The few-label protocol: this fraction of each class's training labels, over labelDraws seeded draws. */
  labelFraction?: number;
  labelDraws: number;
  /** false with --no-raw: no raw-input baseline. */
  raw?: boolean;
  data?: string;
  labels?: string;
  labelColumn?: ColumnRefData;
  categorical?: ColumnRefData[];
  imageSize?: [number, number];
  channels?: 1 | 3;
  limit?: number;
  test?: string;
  testLabels?: string;
  holdout?: number;
  device: string;
  threads?: number | 'auto';
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
  /** The encoder's probes (ProbeReports' fields), the raw input's, and the few-label subsets. */
  linearProbe?: ProbeReports['linearProbe'];
  pinvProbe?: ProbeReports['pinvProbe'];
  knn?: ProbeReports['knn'];
  raw?: EvalProbes['raw'];
  labels?: EvalProbes['labels'];
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
    // --holdout on other data: drawn with the run's holdout seed (its --seed), or the checkpoint's seed.
    const holdoutSeed = o.holdout !== undefined ? (d?.holdoutSeed ?? Number(readRunConfig(dir).seed ?? 0)) : undefined;
    return { data: o.data, labels: o.labels, labelColumn: o.labelColumn, categorical: o.categorical, imageSize, channels, limit: o.limit, test: o.test, testLabels: o.testLabels, holdout: o.holdout, holdoutSeed };
  }
  const flag =
    o.labels !== undefined ? '--labels'
    : o.labelColumn !== undefined ? '--label-column'
    : o.categorical !== undefined ? '--categorical'
    : o.imageSize !== undefined ? '--image-size'
    : o.channels !== undefined ? '--channels'
    : o.test !== undefined ? '--test'
    : o.testLabels !== undefined ? '--test-labels'
    : o.holdout !== undefined ? '--holdout'
    : undefined;
  if (flag) throw new UsageError(`${flag}: only with --data (the run's own data is read as it was for training)`);
  const run = readRunFile(dir);
  const d = run?.data ?? { data: BUNDLED };
  // The run's test split as training had it: its --test file, or the same --holdout split (fraction and seed).
  return {
    data: d.data, labels: d.labels, labelColumn: d.labelColumn, categorical: d.categorical, missing: d.missing, imageSize: d.imageSize, channels: d.channels, limit: o.limit,
    test: d.test, testLabels: d.testLabels, holdout: d.holdout, holdoutSeed: d.holdoutSeed,
  };
}

export async function evaluate(dir: string, o: EvalOptions): Promise<number> {
  const t0 = performance.now();
  if (o.threads !== undefined) setNumThreads(o.threads);
  // Neither --probe nor --knn: the linear probe and kNN.
  const plan = {
    linear: o.probe === 'linear' || (!o.probe && !o.knn),
    pinv: o.probe === 'pinv',
    knn: o.knn === true || o.probe === 'knn' || (!o.probe && !o.knn),
    k: o.k,
    probeEpochs: o.probeEpochs,
    labelFraction: o.labelFraction,
    labelDraws: o.labelDraws ?? 5,
    raw: o.raw !== false,
  };
  checkDevice(o.device);
  const { method } = await loadRun(dir, o.device);
  try {
    const ds = await resolveRunData(dir, runDataSpec(dir, o), runStandardizes(dir, readRunFile(dir)?.standardize));
    const { train, test } = ds;
    if (!train.labels) throw new CliError(`eval: the training data (${ds.description}) has no labels`);
    if (!test?.labels) throw new CliError(`eval: needs a labelled test split, and ${ds.description} has none (train with --test FILE or --holdout FRACTION, or give --data with its test split: --test, --holdout, or a directory with train- and test- files)`);
    const D = method.features;
    const ftr = method.embed(train), fte = method.embed(test);
    const numClasses = Math.max(train.numClasses ?? 0, test.numClasses ?? 0);
    const report: EvalReport = { run: dir, method: method.name, step: method.step, epoch: method.epoch, data: ds.description, features: D, train: train.n, test: test.n, seconds: 0 };
    const probes = runEvalProbes({ ...plan, seed: method.seed, device: method.device }, { train: ftr, test: fte, D }, { ...train, labels: train.labels }, { ...test, labels: test.labels }, numClasses);
    Object.assign(report, probes.encoder, probes.raw ? { raw: probes.raw } : {}, probes.labels ? { labels: probes.labels } : {});
    report.seconds = Math.round((performance.now() - t0) / 10) / 100;
    if (o.json) {
      process.stdout.write(JSON.stringify(report) + '\n');
    } else {
      const lines = [
        `run:           ${dir} (${method.name}, epoch ${method.epoch}, step ${method.step})`,
        `data:          ${ds.description}`,
        `features:      ${D}${probes.raw ? ` (raw input: ${probes.raw.features}, standardized)` : ''}`,
        ...probeLines(probes),
      ];
      process.stdout.write(lines.join('\n') + '\n');
    }
    return EXIT_OK;
  } finally {
    method.dispose();
  }
}
