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
import { type ContrastiveMethod, type EpochEvent, type FitOptions, type FitResult, type StepEvent, setNumThreads } from '../../index';
import { resolveData, type DataSpec, type ResolvedData, BUNDLED, isBundled } from '../data';
import { CliError, EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED, UsageError, flagMessage } from '../errors';
import type { MethodEntry } from '../../methods/registry';
import { checkDevice, checkViews, createMethod, entryOf, type MethodSettings, settingsFromConfig } from '../method';
import type { MetricsLog } from '../metrics';
import { type ColumnRefData, formatEncoder, formatViews, type EncoderSpecData, METHOD_OPTION_FLAGS, type MixName, type OptimizerName, type ViewStep } from '../options';
import { checkOutputDir } from '../paths';
import { renderPlot } from '../plot';
import { type StandardizeMode, fitStandardizer, resolveRunData, standardizeData, wantsStandardize } from '../preprocess';
import { Progress, formatDuration, formatLoss } from '../progress';
import { lockRun, metricsUpTo, readRunConfig, readRunFile, refreshConfigCopy, refuseHeldRun, runStandardizes, startRun, writePlot } from '../run-folder';
import type { RunFile, SavedStandardizer } from '../schemas';

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
  threads?: number;
  seed: number;
  data?: string;
  labels?: string;
  labelColumn?: ColumnRefData;
  categorical?: ColumnRefData[];
  missing?: DataSpec['missing'];
  limit?: number;
  standardize: StandardizeMode;
  out: string;
  force?: boolean;
  knnEvery?: number;
  maxSteps?: number;
  logEvery: number;
  resume?: string;
  quiet?: boolean;
}

/** Options that may be given together with --resume (everything else comes from the run folder). */
const RESUMABLE = new Set(['resume', 'epochs', 'maxSteps', 'knnEvery', 'logEvery', 'device', 'threads', 'quiet']);

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

export async function train(o: TrainOptions, given: Set<string>): Promise<number> {
  let unlock = () => {};
  try {
    return await trainLocked(o, given, (u) => (unlock = u));
  } finally {
    unlock();
  }
}

/** `train`, taking the run folder's writer lock through `locked` once the folder is known to be usable. */
async function trainLocked(o: TrainOptions, given: Set<string>, locked: (unlock: () => void) => void): Promise<number> {
  const progress = new Progress(process.stderr, { quiet: o.quiet, interval: Number(process.env.IMIX_PROGRESS_INTERVAL) || 10 });
  const say = (s: string) => {
    if (!o.quiet) progress.log(s);
  };
  let method: ContrastiveMethod;
  let entry: MethodEntry;
  let run: RunFile;
  let dir: string;
  let resumed = false;
  // Image views on non-image data: a message in the CLI's spelling of --views.
  let checkRunViews: (sampleShape: number[]) => void = () => {};

  if (o.threads !== undefined) setNumThreads(o.threads);

  if (o.resume !== undefined) {
    const fixed = [...given].filter((k) => !RESUMABLE.has(k));
    if (fixed.length) {
      const flag = '--' + fixed[0]!.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
      throw new UsageError(`${flag} cannot be given with --resume (the run's settings come from its config.json; only --epochs, --max-steps, --knn-every, --log-every, --device, --threads and --quiet may change)`);
    }
    dir = o.resume;
    const cfg = readRunConfig(dir);
    locked(lockRun('--resume', dir));
    refreshConfigCopy(dir); // a kill between the checkpoint's write and config.json's
    checkDevice(o.device);
    const settings = settingsFromConfig(cfg, dir, true);
    entry = entryOf(settings.method);
    method = await createMethod(settings, o.device, { fromConfig: dir });
    checkRunViews = (shape) => checkViews(settings.views, shape, dir);
    await method.load(dir);
    if (given.has('epochs') && o.epochs < method.epoch)
      throw new UsageError(`--epochs ${o.epochs}: ${dir} has already run ${method.epoch} epochs (step ${method.step}); --epochs must be more than ${method.epoch} to train longer`);
    resumed = true;
    const prev = readRunFile(dir);
    run = prev ?? {
      format: 'imix-run/1',
      created: new Date().toISOString(),
      command: 'imix train (resumed from a folder without run.json)',
      data: { data: BUNDLED },
      epochs: o.epochs,
      batch: o.batch,
      logEvery: o.logEvery,
      settings: { method: settings.method },
    };
    if (given.has('epochs')) run.epochs = o.epochs;
    if (given.has('knnEvery')) run.knnEvery = o.knnEvery;
    if (given.has('logEvery')) run.logEvery = o.logEvery;
    say(`imix: resuming ${dir} (${settings.method}) at epoch ${method.epoch}, step ${method.step}`);
  } else {
    dir = o.out;
    checkOutputDir('--out', dir);
    locked(lockRun('--out', dir));
    refuseHeldRun(dir, o.force); // with --force the old run's files stay until the new run's first step (begin() below)
    checkDevice(o.device);
    entry = entryOf(o.method);
    const settings = settingsFromOptions(o, entry);
    method = await createMethod(settings, o.device);
    checkRunViews = (shape) => checkViews(settings.views, shape);
    run = {
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
        ...(o.limit !== undefined ? { limit: o.limit } : {}),
      },
      epochs: o.epochs,
      batch: o.batch,
      ...(o.knnEvery !== undefined ? { knnEvery: o.knnEvery } : {}),
      logEvery: o.logEvery,
      settings: {
        method: settings.method,
        mix: settings.mix.kind,
        alpha: settings.mix.alpha,
        encoder: formatEncoder(settings.encoder),
        projection: settings.projection.join(','),
        views: formatViews(o.views),
        optimizer: settings.optimizer,
        temperature: o.temperature,
        // The method's own options in their flags' spelling (`queue`, `momentum`).
        ...Object.fromEntries(Object.entries(METHOD_OPTION_FLAGS).flatMap(([key, flag]) => (key in settings.own ? [[flag.attr, settings.own[key]]] : []))),
        seed: o.seed,
      },
    };
  }

  try {
    // A resumed run reads its data through its saved CSV schema and standardizer; a new run fits them.
    let ds: ResolvedData;
    let fitted: SavedStandardizer | undefined;
    if (resumed) {
      ds = resolveRunData(dir, run.data, runStandardizes(dir, run.standardize));
    } else {
      ds = resolveData(run.data);
      run.standardize = wantsStandardize(o.standardize, ds.train.sampleShape) ? 'on' : 'off';
      if (run.standardize === 'on') {
        fitted = fitStandardizer(ds.train); // the training split after --limit only
        ds = standardizeData(ds, fitted, run.data.data ?? BUNDLED);
      }
    }
    const train = ds.train;
    if (run.batch > train.n) throw new CliError(`--batch ${run.batch} is larger than the training data (${train.n} rows)`);
    try {
      entry.checkBatch?.(method, run.batch);
    } catch (e) {
      throw new UsageError(flagMessage((e as Error).message));
    }
    try {
      checkRunViews(train.sampleShape);
      method.build(train.sampleShape);
    } catch (e) {
      throw new CliError(flagMessage((e as Error).message));
    }
    // kNN monitor: every epoch by default when a labelled test split exists.
    const canKnn = Boolean(ds.test?.labels && train.labels);
    if (run.knnEvery && run.knnEvery > 0 && !canKnn)
      throw new CliError(`--knn-every: the kNN monitor needs labelled training data and a labelled test split (${ds.description} has none)`);
    const knnEvery = run.knnEvery ?? (canKnn ? 1 : 0);
    const knn: FitOptions['knn'] = knnEvery > 0 && canKnn ? { train, test: ds.test!, every: knnEvery } : undefined;

    const stepsPerEpoch = Math.floor(train.n / run.batch);
    const totalSteps = run.epochs * stepsPerEpoch;
    const endStep = o.maxSteps !== undefined ? Math.min(totalSteps, method.step + o.maxSteps) : totalSteps;
    if (method.step >= totalSteps) {
      say(`imix: nothing to do: ${dir} already finished its ${method.epoch} epochs (step ${method.step}); train longer with --resume ${dir} --epochs N`);
      return EXIT_OK;
    }

    // The run's files are written (and, with --force, the old run's removed) by begin(), at the
    // first step: fit can still fail before it (uploading the data to the device, its own checks),
    // and the run --force replaces must survive that. No signal is handled and no checkpoint saved
    // before the first step (fit runs synchronously up to it), so nothing is written before begin().
    const from = { step: method.step, epoch: method.epoch };
    let metrics: MetricsLog | undefined;
    const begin = () => {
      metrics = startRun(dir, resumed ? { run, from } : { run, fresh: { standardizer: fitted, csvSchema: ds.schema } });
    };
    // Plot history: a resumed run's records up to its checkpoint; a new run starts empty.
    const history = resumed ? metricsUpTo(dir, from) : [];
    const plotSteps = history.filter((r) => r.type === 'step').map((r) => ({ x: r.step / stepsPerEpoch, loss: r.loss }));
    const plotEpochs = history.flatMap((r) => (r.type === 'epoch' ? [{ epoch: r.epoch, loss: r.loss, knn: r.knnAccuracy }] : []));
    const title = `imix ${method.name}${method.mix.kind !== 'none' ? ` + ${method.mix.kind}` : ''} on ${path.basename(run.data.data ?? BUNDLED)}`;
    const plot = () => writePlot(dir, renderPlot({ title, epochs: plotEpochs, steps: plotSteps }));

    say(
      `imix: training ${method.name} (mix ${method.mix.kind}${method.mix.kind !== 'none' ? `, alpha ${method.mix.alpha}` : ''}) on ${ds.description}${run.standardize === 'on' ? ', standardized' : ''}; ` +
        `${run.epochs} epochs of ${stepsPerEpoch} steps (batch ${run.batch}), device ${method.device}${knn ? `, kNN every ${knnEvery} epoch(s)` : ''} -> ${dir}`,
    );

    // Ctrl-C: the first aborts the fit (a checkpoint is saved), the second exits at once.
    // SIGTERM (kill, docker stop, a job scheduler's time limit) saves the same way:
    // those send SIGKILL only after a grace period, and one step is short.
    const controller = new AbortController();
    let interrupts = 0;
    let fitDone = false;
    let exitCode = EXIT_INTERRUPTED;
    const onSignal = (signal: NodeJS.Signals) => {
      interrupts++;
      if (interrupts === 1 && !fitDone) {
        if (signal === 'SIGTERM') exitCode = EXIT_TERMINATED;
        progress.log(
          signal === 'SIGTERM'
            ? 'imix: terminated (SIGTERM): saving a checkpoint after this step'
            : 'imix: interrupted: saving a checkpoint after this step (Ctrl-C again to quit without saving)',
        );
        controller.abort();
      } else {
        if (!fitDone) progress.log('imix: quitting without saving');
        process.exit(signal === 'SIGTERM' ? EXIT_TERMINATED : exitCode);
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    // Losses of the epoch in progress (a resumed run starts with those metrics.jsonl recorded).
    const epochStart = method.epoch * stepsPerEpoch;
    let epochLosses = history.flatMap((r) => (r.type === 'step' && r.step > epochStart && r.step <= method.step ? [r.loss] : []));
    let haveAllLosses = epochLosses.length === method.step - epochStart; // not with gaps (--log-every > 1)
    let secPerStep = NaN;
    let last = performance.now();
    const onStep = (e: StepEvent) => {
      if (!metrics) begin();
      const now = performance.now();
      const dt = (now - last) / 1000;
      last = now;
      secPerStep = Number.isNaN(secPerStep) ? dt : 0.9 * secPerStep + 0.1 * dt;
      const epoch = e.epoch + 1;
      if (e.step % run.logEvery === 0 || e.step === endStep)
        metrics!.write({ type: 'step', step: e.step, epoch, loss: e.loss, lr: e.lr, throughput: Math.round(e.throughput * 10) / 10 });
      plotSteps.push({ x: e.step / stepsPerEpoch, loss: e.loss });
      epochLosses.push(e.loss);
      progress.update({
        epoch,
        epochs: run.epochs,
        stepInEpoch: e.step - e.epoch * stepsPerEpoch,
        stepsPerEpoch,
        step: e.step,
        loss: e.loss,
        lr: e.lr,
        throughput: run.batch / secPerStep,
        etaSeconds: (endStep - e.step) * secPerStep,
      });
    };
    const onEpoch = (e: EpochEvent) => {
      const epoch = e.epoch + 1;
      // After a mid-epoch resume the library's epoch mean covers only the steps since the
      // resume; with every step of the epoch at hand, report the mean over all of them.
      const loss = haveAllLosses && epochLosses.length === stepsPerEpoch ? epochLosses.reduce((a, b) => a + b, 0) / stepsPerEpoch : e.loss;
      epochLosses = [];
      haveAllLosses = true;
      e = { ...e, loss };
      metrics!.write({ type: 'epoch', epoch, step: e.step, loss: e.loss, seconds: Math.round(e.seconds * 1000) / 1000, ...(e.knnAccuracy !== undefined ? { knnAccuracy: e.knnAccuracy } : {}) });
      plotEpochs.push({ epoch, loss: e.loss, knn: e.knnAccuracy });
      plot();
      say(`epoch ${epoch}/${run.epochs}  loss ${formatLoss(e.loss)}${e.knnAccuracy !== undefined ? `  kNN ${e.knnAccuracy.toFixed(4)}` : ''}  ${formatDuration(e.seconds)}`);
      last = performance.now(); // the kNN monitor and checkpoint are not step time
    };

    let result: FitResult;
    const t0 = performance.now();
    try {
      result = await method.fit(train, {
        epochs: run.epochs,
        batchSize: run.batch,
        signal: controller.signal,
        checkpointDir: dir,
        maxSteps: o.maxSteps,
        knn,
        onStep,
        onEpoch,
      });
    } finally {
      fitDone = true;
      // The SIGINT listener stays until the process exits: a late second Ctrl-C
      // then still exits with 130 instead of the default signal death.
      metrics?.close();
      progress.end();
    }
    if (metrics) plot();
    const secs = (performance.now() - t0) / 1000;
    const lastLoss = result.losses.length ? result.losses[result.losses.length - 1]! : NaN;
    if (result.stopped === 'aborted') {
      progress.log(`imix: stopped at step ${method.step} (${method.epoch} epochs done); checkpoint saved in ${dir}. Continue with: imix train --resume ${dir}`);
      return exitCode;
    }
    if (result.stopped === 'maxSteps') say(`imix: stopped after --max-steps ${o.maxSteps} at step ${method.step} (${method.epoch} epochs done); checkpoint saved in ${dir}`);
    else {
      const acc = result.knnAccuracy.length ? `, kNN accuracy ${result.knnAccuracy[result.knnAccuracy.length - 1]!.toFixed(4)}` : '';
      say(`imix: done: ${method.epoch} epochs, ${method.step} steps in ${formatDuration(secs)}, last loss ${formatLoss(lastLoss)}${acc}; run saved in ${dir}`);
    }
    return EXIT_OK;
  } finally {
    method.dispose();
  }
}
