/**
 * `imix train`: trains a method on the data, writing a run folder
 * (lib/cli/run-folder.ts). `--resume <run>` rebuilds the method from the
 * checkpoint's configuration, loads the checkpoint and continues to the
 * configured number of epochs.
 *
 * Nothing in the folder is written (or, with --force, removed) before the
 * first training step: every check comes first, so a mistyped command never
 * costs the run it would have replaced.
 * @module
 */
import * as path from 'node:path';
import { type ContrastiveMethod, type data, type FitOptions, type FitResult, setNumThreads } from '../../index';
import type { MethodEntry } from '../../methods/registry';
import { resolveData, type DataSpec, type ResolvedData, BUNDLED, isBundled } from '../data';
import { CliError, EXIT_OK, UsageError, flagMessage } from '../errors';
import { checkDevice, checkPrecision, checkViews, createMethod, entryOf, type MethodSettings, settingsFromConfig } from '../method';
import { type ColumnRefData, formatEncoder, formatViews, type EncoderSpecData, METHOD_OPTION_FLAGS, type MixName, type OptimizerName, type ViewStep } from '../options';
import { checkOutputDir } from '../paths';
import { type StandardizeMode, fitStandardizer, resolveRunData, standardizeData, wantsStandardize } from '../preprocess';
import { Progress, formatDuration, formatLoss } from '../progress';
import { TrainingReporter, divergedRun } from '../reporter';
import { lockRun, metricsUpTo, readRunConfig, readRunFile, refreshConfigCopy, refuseHeldRun, runStandardizes, startRun, writePlot } from '../run-folder';
import type { RunFile, SavedStandardizer } from '../schemas';
import { StopSignals } from '../signals';
import type { Precision } from '../../util/options';

/** Parsed `imix train` options (commander's camelCase keys). */
export interface TrainOptions {
  method: string;
  mix?: MixName;
  alpha: number;
  epochs: number;
  batch: number;
  lr?: number;
  optimizer: OptimizerName;
  weightDecay?: number;
  warmup?: number;
  temperature?: number;
  /** The flags of the methods' own options (METHOD_OPTION_FLAGS). */
  queue?: number;
  momentum?: number;
  encoder: EncoderSpecData;
  projection: [number, number];
  views: ViewStep[];
  device: string;
  /** The Linear layers' gemm arithmetic (`--precision`). */
  precision: Precision;
  threads?: number | 'auto';
  seed: number;
  data?: string;
  labels?: string;
  labelColumn?: ColumnRefData;
  categorical?: ColumnRefData[];
  missing?: DataSpec['missing'];
  imageSize?: [number, number];
  channels?: 1 | 3;
  limit?: number;
  test?: string;
  testLabels?: string;
  holdout?: number;
  standardize: StandardizeMode;
  out: string;
  force?: boolean;
  knnEvery?: number;
  maxSteps?: number;
  logEvery: number;
  resume?: string;
  quiet?: boolean;
}

/** What --resume may change in run.json; everything else comes from the run folder. */
const MAY_CHANGE = ['epochs', 'knnEvery', 'logEvery'] as const;
/**
 * Options that may be given together with --resume: those, and the ones that only concern this invocation
 * (where and how it computes: --precision, like --device, is not part of the run's configuration).
 */
const RESUMABLE = new Set<string>(['resume', ...MAY_CHANGE, 'maxSteps', 'device', 'precision', 'threads', 'quiet']);

/** A run about to train: new, or resumed from its folder. */
interface Job {
  dir: string;
  method: ContrastiveMethod;
  entry: MethodEntry;
  /** run.json as this invocation writes it (a new run's `standardize` is set with its data). */
  run: RunFile;
  resumed: boolean;
  /** Image views on non-image data: a message in the CLI's spelling of --views (or naming the run's config.json). */
  checkViews: (sampleShape: number[]) => void;
}

/** Prints progress and messages on stderr. */
interface Output {
  progress: Progress;
  /** Prints a line unless --quiet. */
  say: (line: string) => void;
}

export async function train(o: TrainOptions, given: Set<string>): Promise<number> {
  let unlock = () => {};
  const locked = (u: () => void) => (unlock = u);
  try {
    const progress = new Progress(process.stderr, { quiet: o.quiet, interval: Number(process.env.IMIX_PROGRESS_INTERVAL) || 10 });
    const say = (line: string) => {
      if (!o.quiet) progress.log(line);
    };
    const out: Output = { progress, say };
    if (o.threads !== undefined) setNumThreads(o.threads);
    const job = o.resume !== undefined ? await resumeJob(o.resume, o, given, locked, out) : await newJob(o, locked);
    try {
      return await runJob(job, o, out);
    } finally {
      job.method.dispose();
    }
  } finally {
    unlock();
  }
}

/** A new run in --out, taking the folder's writer lock through `locked` once the folder is known to be usable. */
async function newJob(o: TrainOptions, locked: (unlock: () => void) => void): Promise<Job> {
  const dir = o.out;
  checkOutputDir('--out', dir);
  locked(lockRun('--out', dir));
  refuseHeldRun(dir, o.force); // with --force the old run's files stay until the new run's first step
  checkDevice(o.device);
  checkPrecision(o.precision, o.device);
  const entry = entryOf(o.method);
  const settings = settingsFromOptions(o, entry);
  const method = await createMethod(settings, o.device, { precision: o.precision });
  return { dir, method, entry, run: newRunFile(o, settings), resumed: false, checkViews: (shape) => checkViews(settings.views, shape) };
}

/** The method's settings from the command line: the registry entry says which of the method flags apply. */
function settingsFromOptions(o: TrainOptions, entry: MethodEntry): MethodSettings {
  const given = o as unknown as Record<string, unknown>;
  const own: Record<string, unknown> = {};
  for (const key of Object.keys(entry.options.shape)) {
    const flag = METHOD_OPTION_FLAGS[key];
    if (flag && given[flag.attr] !== undefined) own[key] = given[flag.attr];
  }
  return {
    method: entry.name,
    encoder: o.encoder,
    projection: o.projection,
    mix: { kind: o.mix ?? entry.defaultMix, alpha: o.alpha },
    temperature: o.temperature,
    views: o.views,
    optimizer: {
      kind: o.optimizer,
      lr: o.lr ?? (o.optimizer === 'adamw' ? 1e-3 : 0.05),
      ...(o.weightDecay !== undefined ? { weightDecay: o.weightDecay } : {}),
      ...(o.warmup !== undefined ? { warmupEpochs: o.warmup } : {}),
    },
    seed: o.seed,
    own,
  };
}

/** run.json of a new run (`standardize` is added once the data is known). */
function newRunFile(o: TrainOptions, s: MethodSettings): RunFile {
  // The method's own options in their flags' spelling (`queue`, `momentum`).
  const own = Object.entries(METHOD_OPTION_FLAGS).flatMap(([key, flag]) => (key in s.own ? [[flag.attr, s.own[key]]] : []));
  return {
    format: 'imix-run/1',
    created: new Date().toISOString(),
    command: ['imix', ...process.argv.slice(2)].join(' '),
    data: {
      // The bundled data (and its :train/:test splits) by name, anything else by absolute path.
      data: o.data === undefined ? BUNDLED : isBundled(o.data) ? o.data : path.resolve(o.data),
      ...(o.labels ? { labels: path.resolve(o.labels) } : {}),
      ...(o.labelColumn !== undefined ? { labelColumn: o.labelColumn } : {}),
      ...(o.categorical?.length ? { categorical: o.categorical } : {}),
      ...(o.missing !== undefined ? { missing: o.missing } : {}),
      ...(o.imageSize !== undefined ? { imageSize: o.imageSize } : {}),
      ...(o.channels !== undefined ? { channels: o.channels } : {}),
      ...(o.limit !== undefined ? { limit: o.limit } : {}),
      ...(o.test !== undefined ? { test: path.resolve(o.test) } : {}),
      ...(o.testLabels !== undefined ? { testLabels: path.resolve(o.testLabels) } : {}),
      // The split is drawn with the run's seed, recorded so --resume, eval and embed draw the same one.
      ...(o.holdout !== undefined ? { holdout: o.holdout, holdoutSeed: o.seed } : {}),
    },
    epochs: o.epochs,
    batch: o.batch,
    ...(o.knnEvery !== undefined ? { knnEvery: o.knnEvery } : {}),
    logEvery: o.logEvery,
    settings: {
      method: s.method,
      mix: s.mix.kind,
      alpha: s.mix.alpha,
      encoder: formatEncoder(s.encoder),
      projection: s.projection.join(','),
      views: formatViews(o.views),
      optimizer: s.optimizer,
      temperature: o.temperature,
      ...Object.fromEntries(own),
      seed: o.seed,
    },
  };
}

/** The run in `dir`, to go on: its method rebuilt from the checkpoint's configuration and loaded. */
async function resumeJob(dir: string, o: TrainOptions, given: Set<string>, locked: (unlock: () => void) => void, out: Output): Promise<Job> {
  const fixed = [...given].find((k) => !RESUMABLE.has(k));
  if (fixed) {
    const flag = '--' + fixed.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
    throw new UsageError(`${flag} cannot be given with --resume (the run's settings come from its config.json; only --epochs, --max-steps, --knn-every, --log-every, --device, --precision, --threads and --quiet may change)`);
  }
  const cfg = readRunConfig(dir);
  locked(lockRun('--resume', dir));
  refreshConfigCopy(dir); // a kill between the checkpoint's write and config.json's
  checkDevice(o.device);
  checkPrecision(o.precision, o.device);
  const settings = settingsFromConfig(cfg, dir, true);
  const method = await createMethod(settings, o.device, { fromConfig: dir, precision: o.precision });
  try {
    await method.load(dir);
    const run = continuedRun(dir, method, o, given);
    out.say(`imix: resuming ${dir} (${settings.method}) after step ${method.step} (${method.epoch} epochs done)`);
    return { dir, method, entry: entryOf(settings.method), run, resumed: true, checkViews: (shape) => checkViews(settings.views, shape, dir) };
  } catch (e) {
    method.dispose();
    throw e;
  }
}

/**
 * run.json of a resumed run: the saved one (a folder without one: the
 * bundled data and the command line's settings) with what the command line
 * may change (MAY_CHANGE), compared with the checkpoint it continues.
 */
function continuedRun(dir: string, method: ContrastiveMethod, o: TrainOptions, given: Set<string>): RunFile {
  if (given.has('epochs') && o.epochs < method.epoch)
    throw new UsageError(`--epochs ${o.epochs}: ${dir} has already run ${method.epoch} epochs (step ${method.step}); --epochs must be more than ${method.epoch} to train longer`);
  const saved = readRunFile(dir) ?? {
    format: 'imix-run/1',
    created: new Date().toISOString(),
    command: 'imix train (resumed from a folder without run.json)',
    data: { data: BUNDLED },
    epochs: o.epochs,
    batch: o.batch,
    logEvery: o.logEvery,
    settings: { method: method.name },
  };
  const changes = Object.fromEntries(MAY_CHANGE.filter((k) => given.has(k)).map((k) => [k, o[k]]));
  return { ...saved, ...changes };
}

/** The training data: a resumed run reads it through its saved CSV schema and standardizer; a new run fits them. */
async function trainingData(job: Job, o: TrainOptions): Promise<{ ds: ResolvedData; standardizer?: SavedStandardizer }> {
  const { run, dir } = job;
  if (job.resumed) return { ds: await resolveRunData(dir, run.data, runStandardizes(dir, run.standardize)) };
  const ds = await resolveData(run.data);
  // Images are recorded at the size and channels they were read at (the first image's size by default), so later reads match.
  if (ds.image) run.data = { ...run.data, imageSize: ds.image.size, channels: ds.image.channels };
  run.standardize = wantsStandardize(o.standardize, ds.train.sampleShape) ? 'on' : 'off';
  if (run.standardize === 'off') return { ds };
  const standardizer = fitStandardizer(ds.train); // the training split after --limit only
  return { ds: standardizeData(ds, standardizer, run.data.data ?? BUNDLED), standardizer };
}

/** Checks the method against the data and builds it; returns the kNN monitor's settings. */
function prepareModel(job: Job, ds: ResolvedData): { knn: FitOptions['knn']; knnEvery: number } {
  const { run, method } = job;
  const train = ds.train;
  if (run.batch > train.n) throw new CliError(`--batch ${run.batch} is larger than the training data (${train.n} rows)`);
  try {
    job.entry.checkBatch?.(method, run.batch, train.n); // MoCo: the queue against the batch and the rows
  } catch (e) {
    throw new UsageError(flagMessage((e as Error).message));
  }
  try {
    job.checkViews(train.sampleShape);
    method.build(train.sampleShape);
  } catch (e) {
    throw new CliError(flagMessage((e as Error).message));
  }
  // kNN monitor: every epoch by default when a labelled test split exists.
  const canKnn = Boolean(ds.test?.labels && train.labels);
  if (run.knnEvery && run.knnEvery > 0 && !canKnn)
    throw new CliError(`--knn-every: the kNN monitor needs labelled training data and a labelled test split (${ds.description} has none; a single file gets one with --test FILE or --holdout FRACTION)`);
  const knnEvery = run.knnEvery ?? (canKnn ? 1 : 0);
  return { knn: knnEvery > 0 && canKnn ? { train, test: ds.test!, every: knnEvery } : undefined, knnEvery };
}

async function runJob(job: Job, o: TrainOptions, out: Output): Promise<number> {
  const { run, method, dir } = job;
  const { ds, standardizer } = await trainingData(job, o);
  const { knn, knnEvery } = prepareModel(job, ds);
  const stepsPerEpoch = Math.floor(ds.train.n / run.batch);
  const totalSteps = run.epochs * stepsPerEpoch;
  if (method.step >= totalSteps) {
    out.say(`imix: nothing to do: ${dir} already finished its ${method.epoch} epochs (step ${method.step}); train longer with --resume ${dir} --epochs N`);
    return EXIT_OK;
  }
  const from = { step: method.step, epoch: method.epoch };
  const mix = method.mix.kind !== 'none';
  const reporter = new TrainingReporter({
    ...out,
    epochs: run.epochs,
    batch: run.batch,
    logEvery: run.logEvery,
    stepsPerEpoch,
    endStep: o.maxSteps !== undefined ? Math.min(totalSteps, method.step + o.maxSteps) : totalSteps,
    from,
    history: job.resumed ? metricsUpTo(dir, from) : [],
    title: `imix ${method.name}${mix ? ` + ${method.mix.kind}` : ''} on ${path.basename(run.data.data ?? BUNDLED)}`,
    // The run's files are written (and, with --force, the old run's removed) at the first step: fit can still
    // fail before it (uploading the data to the device, its own checks), and the run --force replaces must
    // survive that. No signal is handled and no checkpoint saved before the first step either.
    start: () => startRun(dir, job.resumed ? { run, from } : { run, fresh: { standardizer, csvSchema: ds.schema } }),
    writePlot: (svg) => writePlot(dir, svg),
    embeddingDim: method.projection[1],
  });
  out.say(
    `imix: training ${method.name} (mix ${method.mix.kind}${mix ? `, alpha ${method.mix.alpha}` : ''}) on ${ds.description}${run.standardize === 'on' ? ', standardized' : ''}; ` +
      `${run.epochs} epochs of ${stepsPerEpoch} steps (batch ${run.batch}), device ${method.device}${method.precision === 'fp32' ? '' : `, ${method.precision} gemms`}${knn ? `, kNN every ${knnEvery} epoch(s)` : ''} -> ${dir}`,
  );
  // A new run's folder was checked by refuseHeldRun (with --force, the old run's files go at the first step); a resumed one is the model's own.
  return fitAndReport(job, o, out, reporter, ds.train, { epochs: run.epochs, batchSize: run.batch, checkpointDir: dir, overwrite: !job.resumed, maxSteps: o.maxSteps, knn, collapseEvery: run.logEvery });
}

/** Runs the fit, stoppable by SIGINT/SIGTERM, and reports how it ended; returns the exit code. */
async function fitAndReport(job: Job, o: TrainOptions, out: Output, reporter: TrainingReporter, train: data.Dataset, fit: FitOptions): Promise<number> {
  const { method, dir } = job;
  const stop = new StopSignals((line) => out.progress.log(line));
  let result: FitResult;
  const t0 = performance.now();
  try {
    result = await method.fit(train, { ...fit, signal: stop.signal, onStep: reporter.onStep, onEpoch: reporter.onEpoch });
  } catch (e) {
    throw divergedRun(e, dir); // a diverged run says which checkpoint it kept
  } finally {
    stop.fitEnded();
    reporter.close();
  }
  if (reporter.started) reporter.writePlot();
  const secs = (performance.now() - t0) / 1000;
  if (result.stopped === 'aborted') {
    out.progress.log(`imix: stopped at step ${method.step} (${method.epoch} epochs done); checkpoint saved in ${dir}. Continue with: imix train --resume ${dir}`);
    return stop.exitCode;
  }
  if (result.stopped === 'maxSteps') out.say(`imix: stopped after --max-steps ${o.maxSteps} at step ${method.step} (${method.epoch} epochs done); checkpoint saved in ${dir}`);
  else {
    const lastLoss = result.losses.length ? result.losses[result.losses.length - 1]! : NaN;
    const acc = result.knnAccuracy.length ? `, kNN accuracy ${result.knnAccuracy[result.knnAccuracy.length - 1]!.toFixed(4)}` : '';
    out.say(`imix: done: ${method.epoch} epochs, ${method.step} steps in ${formatDuration(secs)}, last loss ${formatLoss(lastLoss)}${acc}; run saved in ${dir}`);
  }
  return EXIT_OK;
}
