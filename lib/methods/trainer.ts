/**
 * The training loop every method shares: epochs of shuffled batches, the
 * learning-rate schedule, progress events, cancellation, the kNN monitor and
 * checkpoints; and where a method stands inside an unfinished epoch.
 *
 * Reproducibility: each epoch's data order comes from the Philox stream
 * (seed, EPOCH_STREAM + epoch), and every draw inside a step from streams
 * indexed by the global step (see `streamOffset`), so the whole random state
 * is the step and epoch count, and a resumed run continues exactly.
 * @module
 */
import { ArgumentError, DataError, ValueError } from '../errors';
import { type Dataset, checkDataset, featureCount } from '../data/dataset';
import { checkKnnMonitor, knnMonitor, type KnnMonitorOptions } from '../eval/knn';
import { lockRunDir } from '../io/lock';
import { warmupCosine } from '../optim/index';
import { Generator } from '../random';
import { MAX_STEPS, checkKeys } from '../util/options';
import type { ContrastiveMethod } from './base';
import { prepareCheckpointDir, refuseOtherRun } from './checkpoint';

export interface StepEvent {
  /** Optimizer steps taken so far in the run, counting this one (the first step is 1). */
  step: number;
  /** The epoch this step belongs to, counted from 1 (as the CLI prints it and metrics.jsonl records it). */
  epoch: number;
  loss: number;
  lr: number;
  /** Samples per second over the last step. */
  throughput: number;
  /**
   * Embedding collapse of this step's batch ({@link evaluation.stdOfL2Normalized} of the
   * unmixed view's embeddings: about 1/√d when spread, 0 when collapsed), on
   * the steps FitOptions.collapseEvery picks.
   */
  collapse?: number;
}
export interface EpochEvent {
  /**
   * The epoch just finished, counted from 1: the epochs the model has
   * completed (`model.epoch` after it), as the CLI prints it and
   * metrics.jsonl records it.
   */
  epoch: number;
  /** Optimizer steps taken so far in the run (a resumed run counts the saved ones). */
  step: number;
  /** Mean training loss over the epoch's steps. */
  loss: number;
  /** Wall-clock seconds the epoch took. */
  seconds: number;
  /** kNN accuracy on the monitor split, when a monitor is configured. */
  knnAccuracy?: number;
  /** Mean of the epoch's StepEvent.collapse values (of this fit's steps), when any was measured. */
  collapse?: number;
}

export interface FitOptions {
  /**
   * The epoch count to reach, counting the epochs this model has already
   * trained (a second fit, or one after load(), continues from `model.epoch`).
   */
  epochs: number;
  /**
   * Rows per step; default 256. A fit may change it (and the data) at an
   * epoch boundary; an epoch left unfinished by an abort or maxSteps can only
   * be continued with the batch size and row count it was started with.
   */
  batchSize?: number;
  /** Stop cleanly (after a checkpoint, when checkpointDir is set) when this aborts. */
  signal?: AbortSignal;
  /**
   * Write a checkpoint here at the end of every epoch and on abort. A folder
   * that holds another run (a checkpoint, config.json, or the command
   * line's run.json or metrics.jsonl) is refused before the first step unless
   * `overwrite` is set; the model's own run (the folder it was loaded from or
   * last saved to) is continued.
   */
  checkpointDir?: string;
  /** Let `checkpointDir` replace another run's checkpoint (as the CLI's `--force`). */
  overwrite?: boolean;
  /** Stop after this many steps of this fit call (for tests and time-boxed runs). */
  maxSteps?: number;
  /**
   * Measure StepEvent.collapse every this many steps (counted as
   * StepEvent.step), on the first step of the fit and on the last step of
   * every epoch; 0: never.
   * Default 1: it reads the embeddings the step computed (one device-to-host
   * copy of a [batch, projection[1]] block), no extra forward pass. On a CUDA
   * device the step issues that copy before its loss, whose read-back then
   * brings it along: the monitor adds no host synchronization.
   */
  collapseEvery?: number;
  /**
   * Stop with a DivergenceError when a step's loss is above this (or not
   * finite). Default: the method's `lossBound(batchSize)`, the largest loss
   * it can reach with finite weights (2/τ + ln(2·batch + queue) for the
   * InfoNCE methods, 8 for BYOL and SimSiam). No checkpoint is written
   * after a diverged step: checkpointDir keeps its last one.
   */
  maxLoss?: number;
  /** Per-epoch kNN monitor on labelled data. */
  knn?: KnnMonitorOptions;
  /** Called after every step (listeners of the method's 'step' event are called too). */
  onStep?: (e: StepEvent) => void;
  /** Called after every epoch, before that epoch's checkpoint is written. */
  onEpoch?: (e: EpochEvent) => void;
}

const FIT_OPTION_KEYS: { [K in keyof Required<FitOptions>]: true } = {
  epochs: true,
  batchSize: true,
  signal: true,
  checkpointDir: true,
  overwrite: true,
  maxSteps: true,
  knn: true,
  collapseEvery: true,
  maxLoss: true,
  onStep: true,
  onEpoch: true,
};

export interface FitResult {
  steps: number;
  epochs: number;
  stopped: 'completed' | 'aborted' | 'maxSteps';
  losses: number[];
  epochLosses: number[];
  knnAccuracy: number[];
}

/** Epoch e's data order is the permutation drawn from (seed, EPOCH_STREAM + e). */
const EPOCH_STREAM = 2 ** 50;

/** An epoch left unfinished: the steps taken in it and the batch size and row count its order was cut with. */
export interface PartialEpoch {
  steps: number;
  batchSize: number;
  rows: number;
}

/**
 * Where a model stands inside its current epoch: the loss sum of the steps
 * taken in it and, when an abort or maxSteps left it unfinished, how it was
 * cut. Its remaining batches are the rest of that cut, so only the same
 * batch size and row count can continue it. Kept in checkpoints.
 */
export class EpochProgress {
  lossSum = 0;
  lossCount = 0;
  partial: PartialEpoch | null = null;
  /**
   * Set by loading a checkpoint of an imix that did not record the partial
   * epoch: it is inferred from the step count at the next fit.
   */
  legacy = false;

  /** The counters a checkpoint records (0s at an epoch boundary). */
  scalars(): Record<string, number> {
    const p = this.partial;
    return { epochLossSum: this.lossSum, epochLossCount: this.lossCount, epochSteps: p?.steps ?? 0, epochBatchSize: p?.batchSize ?? 0, epochRows: p?.rows ?? 0 };
  }

  /**
   * Checks the counters of a checkpoint (`dir` names it) and returns the
   * state to restore with {@link restore}: the unfinished epoch (null at a
   * boundary, undefined for a checkpoint of an imix that did not record it).
   */
  static parse(sc: Record<string, number>, dir: string): { partial: PartialEpoch | null | undefined; lossSum: number; lossCount: number } {
    const lossSum = sc.epochLossSum ?? 0, lossCount = sc.epochLossCount ?? 0;
    if (sc.epochSteps === undefined) return { partial: undefined, lossSum, lossCount };
    const steps = sc.epochSteps, batchSize = sc.epochBatchSize!, rows = sc.epochRows!;
    if (!Number.isSafeInteger(steps) || steps < 0) throw new DataError(`${dir}: damaged counter 'epochSteps'`);
    if (steps === 0) return { partial: null, lossSum, lossCount };
    if (!Number.isSafeInteger(batchSize) || !Number.isSafeInteger(rows) || batchSize < 2 || steps >= Math.floor(rows / batchSize))
      throw new DataError(`${dir}: damaged counters 'epochSteps', 'epochBatchSize', 'epochRows'`);
    return { partial: { steps, batchSize, rows }, lossSum, lossCount };
  }

  restore(p: ReturnType<typeof EpochProgress.parse>): void {
    this.lossSum = p.lossSum;
    this.lossCount = p.lossCount;
    this.partial = p.partial ?? null;
    this.legacy = p.partial === undefined;
  }

  /**
   * Steps already taken in the current epoch (`epoch`, at global `step`),
   * checked against this fit's batch size `B` and row count `n`: another
   * batch size or row count would skip or repeat rows of the unfinished epoch.
   */
  stepsDone(step: number, epoch: number, B: number, n: number): number {
    const spe = Math.floor(n / B);
    if (this.legacy) {
      // An older checkpoint recorded no partial epoch; its run had epoch·spe steps at the boundary.
      const first = step - epoch * spe;
      if (first < 0 || first >= spe)
        throw new ArgumentError(
          `batchSize: the loaded checkpoint (step ${step}, epoch ${epoch}) does not fit ${spe} steps per epoch (${n} rows, batchSize ${B}); continue it with the batch size and data it was trained with`,
        );
      this.partial = first > 0 ? { steps: first, batchSize: B, rows: n } : null;
      this.legacy = false;
    }
    const p = this.partial;
    if (!p) return 0;
    const where = `epoch ${epoch} was stopped after ${p.steps} of its ${Math.floor(p.rows / p.batchSize)} steps`;
    if (B !== p.batchSize)
      throw new ArgumentError(`batchSize: ${where} with batchSize ${p.batchSize}; continue it with batchSize ${p.batchSize} (another batch size can start at the next epoch)`);
    if (n !== p.rows)
      throw new ArgumentError(`data: ${where} on a dataset of ${p.rows} rows, this one has ${n}; continue it on the same data (other data can start at the next epoch)`);
    return p.steps;
  }
}

/** Checks `fit`'s data and options; returns the batch size. */
function checkFitOptions(data: Dataset, options: FitOptions): number {
  checkDataset(data, 'data');
  if (!options || typeof options !== 'object' || Array.isArray(options)) throw new ArgumentError('options: expected an object with epochs');
  checkKeys(options, Object.keys(FIT_OPTION_KEYS), '', 'fit options');
  const epochs = options.epochs;
  if (!Number.isInteger(epochs) || epochs < 0) throw new ValueError(`epochs: expected a non-negative integer, got ${epochs}`);
  const B = options.batchSize ?? 256;
  if (!Number.isInteger(B) || B < 2) throw new ValueError(`batchSize: expected an integer >= 2, got ${B}`);
  if (B > data.n) throw new ValueError(`batchSize: ${B} is larger than the dataset (${data.n} rows)`);
  // The run's random streams are kept apart for MAX_STEPS steps (and step counts stay exact).
  if (epochs * Math.floor(data.n / B) > MAX_STEPS)
    throw new ValueError(`epochs: ${epochs} epochs of ${Math.floor(data.n / B)} steps are more than ${MAX_STEPS} (2^38) steps, the most a run can take`);
  for (const cb of ['onStep', 'onEpoch'] as const)
    if (options[cb] !== undefined && typeof options[cb] !== 'function') throw new ArgumentError(`${cb}: expected a function, got ${typeof options[cb]}`);
  if (options.maxSteps !== undefined && (!Number.isSafeInteger(options.maxSteps) || options.maxSteps < 0))
    throw new ValueError(`maxSteps: expected a non-negative integer, got ${options.maxSteps}`);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw new ArgumentError('signal: expected an AbortSignal');
  if (options.knn !== undefined) checkKnnMonitor(options.knn, featureCount(data));
  if (options.collapseEvery !== undefined && (!Number.isSafeInteger(options.collapseEvery) || options.collapseEvery < 0))
    throw new ValueError(`collapseEvery: expected a non-negative integer, got ${options.collapseEvery}`);
  if (options.maxLoss !== undefined && (typeof options.maxLoss !== 'number' || !(options.maxLoss > 0)))
    throw new ValueError(`maxLoss: expected a positive number, got ${String(options.maxLoss)}`);
  if (options.overwrite !== undefined && typeof options.overwrite !== 'boolean') throw new ArgumentError(`overwrite: expected a boolean, got ${typeof options.overwrite}`);
  if (options.checkpointDir !== undefined) prepareCheckpointDir(options.checkpointDir, 'checkpointDir');
  return B;
}

/**
 * Trains `m` for `options.epochs` epochs over `data` (rows shuffled each
 * epoch, the last partial batch dropped). The caller (the method's `fit`)
 * makes sure only one runs at a time. Holds the writer's lock on the
 * checkpoint folder while it runs.
 */
export async function fit(m: ContrastiveMethod, data: Dataset, options: FitOptions): Promise<FitResult> {
  const B = checkFitOptions(data, options);
  const unlock = options.checkpointDir !== undefined ? lockRunDir(options.checkpointDir, 'checkpointDir') : undefined; // one writer per folder
  try {
    if (options.checkpointDir !== undefined) refuseOtherRun(options.checkpointDir, m.runDir, options.overwrite ?? false);
    m.prepareFit(data.sampleShape, B, data.n);
    return await epochs(m, data, options, B);
  } finally {
    unlock?.();
  }
}

/** The epochs of a fit, from the model's current position. */
async function epochs(m: ContrastiveMethod, data: Dataset, options: FitOptions, B: number): Promise<FitResult> {
  const { epochs } = options;
  const progress = m.epochProgress;
  let first = m.epoch < epochs ? progress.stepsDone(m.step, m.epoch, B, data.n) : 0;
  const stepsPerEpoch = Math.floor(data.n / B);
  const totalSteps = epochs * stepsPerEpoch;
  const sched = warmupCosine({
    baseLr: m.optimizerOptions.lr,
    totalSteps: Math.max(totalSteps, 1),
    warmupSteps: Math.min(Math.round(m.optimizerOptions.warmupEpochs * stepsPerEpoch), Math.max(totalSteps, 1)),
  });
  const limit =
    options.maxLoss !== undefined
      ? { maxLoss: options.maxLoss, why: 'maxLoss' }
      : { maxLoss: m.lossBound(B) * (1 + 1e-3), why: 'the most this loss can be with finite weights' }; // (float32 rounding may touch the exact bound)
  const collapseEvery = options.collapseEvery ?? 1;
  const dataT = m.uploadData(data);
  m.prepareViews(dataT); // views that draw from the training set (SCARF's resample) get its rows, every fit (and resume)
  const result: FitResult = { steps: 0, epochs: 0, stopped: 'completed', losses: [], epochLosses: [], knnAccuracy: [] };
  m.setTraining(true);
  for (; m.epoch < epochs; first = 0) {
    const order = new Generator(m.seed, EPOCH_STREAM + m.epoch).permutation(data.n);
    const t0 = performance.now();
    if (first === 0) progress.lossSum = progress.lossCount = 0;
    let collapseSum = 0, collapseCount = 0;
    // Resume mid-epoch: skip the steps already taken in this epoch.
    for (let s = first; s < stepsPerEpoch; s++) {
      m.checkLive('fit');
      if (options.signal?.aborted) return stop(m, result, 'aborted', options);
      if (options.maxSteps !== undefined && result.steps >= options.maxSteps) return stop(m, result, 'maxSteps', options);
      const ts = performance.now();
      // Schedules follow the position in this fit's epochs (equal to the global step unless an
      // earlier fit used another batch size or data size, whose epochs had another step count).
      const at = m.epoch * stepsPerEpoch + s;
      const lr = sched(at);
      // Collapse measured on every collapseEvery-th step (counted from 1, as StepEvent.step), the
      // first of this fit and the last of each epoch. Told before the step, so that on CUDA the
      // step stages the embeddings' read-back and the loss's read-back brings them (no extra sync).
      const measure = collapseEvery > 0 && ((m.step + 1) % collapseEvery === 0 || s === stepsPerEpoch - 1 || result.steps === 0);
      m.measureCollapse = measure;
      // A non-finite loss, or one above the limit, is a DivergenceError before the step's update.
      let loss: number;
      try {
        loss = m.stepOn(dataT, order.subarray(s * B, (s + 1) * B), lr, totalSteps, at, limit);
      } finally {
        m.measureCollapse = false;
      }
      progress.partial = { steps: s + 1, batchSize: B, rows: data.n };
      result.losses.push(loss);
      result.steps++;
      progress.lossSum += loss;
      progress.lossCount++;
      const se: StepEvent = { step: m.step, epoch: m.epoch + 1, loss, lr, throughput: (B * 1000) / (performance.now() - ts) };
      if (measure) {
        se.collapse = m.collapseStatistic();
        if (se.collapse !== undefined) (collapseSum += se.collapse, collapseCount++);
      }
      m.emit('step', se);
      options.onStep?.(se);
      // Yield to the event loop once per step: progress, signals and timers keep running.
      await new Promise<void>((r) => setImmediate(r));
    }
    await endEpoch(m, result, options, performance.now() - t0, collapseCount ? collapseSum / collapseCount : undefined);
  }
  return result;
}

/** Closes the epoch just run: counters, the kNN monitor, events, then the checkpoint. */
async function endEpoch(m: ContrastiveMethod, result: FitResult, options: FitOptions, ms: number, collapse?: number): Promise<void> {
  const progress = m.epochProgress;
  const ev: EpochEvent = { epoch: m.epoch + 1, step: m.step, loss: progress.lossCount ? progress.lossSum / progress.lossCount : NaN, seconds: ms / 1000 };
  if (collapse !== undefined) ev.collapse = collapse;
  m.epoch++;
  progress.partial = null;
  if (options.knn && (m.epoch % (options.knn.every ?? 1) === 0 || m.epoch === options.epochs)) {
    ev.knnAccuracy = knnMonitor(m, options.knn);
    result.knnAccuracy.push(ev.knnAccuracy);
    m.setTraining(true);
  }
  result.epochLosses.push(ev.loss);
  result.epochs++;
  // Listeners first, then the checkpoint: whatever they record of this epoch (the CLI's
  // metrics.jsonl line) is on disk before the checkpoint that makes the epoch final, so a
  // kill in between loses nothing (a resumed run drops records past its checkpoint).
  m.emit('epoch', ev);
  options.onEpoch?.(ev);
  if (options.checkpointDir) await m.save(options.checkpointDir);
}

async function stop(m: ContrastiveMethod, result: FitResult, why: FitResult['stopped'], options: FitOptions): Promise<FitResult> {
  result.stopped = why;
  if (options.checkpointDir) await m.save(options.checkpointDir);
  return result;
}
