/**
 * The training loop shared by every method: batching, views, i-Mix mixing
 * draws, schedules, progress events, cancellation and checkpoints. A method
 * supplies its networks and one `trainStep` (forward, loss, backward).
 *
 * Reproducibility: every random draw comes from Philox streams keyed by the
 * run's seed and indexed by (global step, purpose), and each epoch's data
 * order from (seed, epoch). The whole RNG state is therefore the step count,
 * and a resumed run continues exactly as the uninterrupted one.
 * @module
 */
import { EventEmitter } from 'node:events';
import { ArgumentError, DataError, DisposedError, ShapeError, ValueError } from '../errors';
import { type Dataset, checkDataset, featureCount } from '../data/dataset';
import { Module, ParameterStore } from '../nn/module';
import { Sequential } from '../nn/layers';
import { mlp, projectionHead, tabularEncoder } from '../nn/presets';
import * as ops from '../ops/index';
import { AdamW, LARS, type Optimizer, SGD, adamwHyperparameters, larsHyperparameters, sgdHyperparameters, warmupCosine } from '../optim/index';
import { Generator, sampleLambda } from '../random';
import { Tensor, type Device } from '../tensor';
import { checkKnnMonitor, knnMonitor, type KnnMonitorOptions } from '../eval/knn';
import { lockRunDir } from '../io/lock';
import { loadCheckpoint, prepareCheckpointDir, saveCheckpoint } from './checkpoint';
import { compose, inputDrop, type View } from './views';
import {
  FLOAT32_MAX,
  MAX_MIX_ALPHA,
  MAX_PARAMETERS,
  MAX_STEPS,
  MAX_TABULAR_SCALE,
  MAX_WIDTH,
  MIN_MIX_ALPHA,
  MIN_TEMPERATURE,
  checkKeys,
  checkOptions,
} from '../util/options';

/** How the query view is mixed (i-Mix). */
export interface MixOptions {
  /** 'none' (the baseline), 'mixup', or 'cutmix' (spatial [C, H, W] data only). */
  kind: 'none' | 'mixup' | 'cutmix';
  /** Beta(α, α) concentration; default 1. */
  alpha?: number;
  /** One λ for the whole batch instead of one per row (CutMix always uses one). */
  perBatchLambda?: boolean;
}

/** An encoder described as data (so checkpoints can rebuild it). */
export type EncoderSpec =
  | { kind: 'mlp'; hidden: number[]; batchNorm?: boolean }
  | { kind: 'tabular'; scale?: number };

export interface OptimizerOptions {
  kind?: 'sgd' | 'lars' | 'adamw';
  lr?: number;
  momentum?: number;
  weightDecay?: number;
  nesterov?: boolean;
  eta?: number;
  betas?: [number, number];
  /** Linear warmup length, in epochs; then cosine decay to 0. */
  warmupEpochs?: number;
}

export interface MethodOptions {
  /** The encoder f: a spec, or a Module (its first layer must take the data's feature count). */
  encoder: EncoderSpec | Module;
  /** Projection head g: [hidden, out] widths; default [512, 128]. */
  projection?: [number, number];
  mix?: MixOptions;
  /** Softmax temperature τ (contrastive methods); default 0.2. */
  temperature?: number;
  /** The two views t, t′; default inputDrop(0.2) for both. */
  views?: View | [View, View];
  optimizer?: OptimizerOptions;
  seed?: number;
  device?: Device;
}

/** The keys of each options object (the compiler keeps the lists complete): any other key is an ArgumentError. */
const METHOD_OPTION_KEYS: { [K in keyof Required<MethodOptions>]: true } = {
  encoder: true,
  projection: true,
  mix: true,
  temperature: true,
  views: true,
  optimizer: true,
  seed: true,
  device: true,
};
const MIX_OPTION_KEYS: { [K in keyof Required<MixOptions>]: true } = { kind: true, alpha: true, perBatchLambda: true };
const OPTIMIZER_OPTION_KEYS: { [K in keyof Required<OptimizerOptions>]: true } = {
  kind: true,
  lr: true,
  momentum: true,
  weightDecay: true,
  nesterov: true,
  eta: true,
  betas: true,
  warmupEpochs: true,
};
/** Optimizer options only some kinds take: given to another kind they would be ignored. */
const OPTIMIZER_KINDS_OF: Partial<Record<keyof OptimizerOptions, Array<'sgd' | 'lars' | 'adamw'>>> = {
  eta: ['lars'],
  betas: ['adamw'],
  nesterov: ['sgd', 'lars'],
};
const FIT_OPTION_KEYS: { [K in keyof Required<FitOptions>]: true } = {
  epochs: true,
  batchSize: true,
  signal: true,
  checkpointDir: true,
  maxSteps: true,
  knn: true,
  onStep: true,
  onEpoch: true,
};
/** Options of {@link ContrastiveMethod.embed}. */
export interface EmbedOptions {
  /** Rows per forward pass (a positive integer); default 1024. Only memory use depends on it. */
  batchSize?: number;
}
const EMBED_OPTION_KEYS: { [K in keyof Required<EmbedOptions>]: true } = { batchSize: true };

/**
 * One training step's inputs, as the training loop hands them to a method's
 * `trainStep`: the [2N, F] batch `x` = [xq; xk] and views of its halves.
 */
export interface Batch {
  /** Rows per view, N. */
  n: number;
  /** [2N, F]: the (mixed) query view over the clean key view. */
  x: Tensor<'float32'>;
  /** [N, F]: the query view t(x), mixed when i-Mix is on (rows 0..N of `x`). */
  xq: Tensor<'float32'>;
  /** [N, F]: the key view t′(x), never mixed (rows N..2N of `x`). */
  xk: Tensor<'float32'>;
  /** [N, F]: the query view before mixing (BYOL's symmetric loss uses it as a target input). */
  x1: Tensor<'float32'>;
  /** The i-Mix draw the query view was mixed with; null without mixing. */
  mix: MixDraw | null;
}

/** One step's i-Mix draw: a permutation and per-row λ (host and device copies). */
export interface MixDraw {
  perm: Tensor<'int32'>;
  lam: Tensor<'float32'>;
  permHost: Int32Array;
  lamHost: Float32Array;
}

export interface StepEvent {
  step: number;
  epoch: number;
  loss: number;
  lr: number;
  /** Samples per second over the last step. */
  throughput: number;
}
export interface EpochEvent {
  /** The epoch just finished, counted from 0. */
  epoch: number;
  /** Optimizer steps taken so far in the run (a resumed run counts the saved ones). */
  step: number;
  /** Mean training loss over the epoch's steps. */
  loss: number;
  /** Wall-clock seconds the epoch took. */
  seconds: number;
  /** kNN accuracy on the monitor split, when a monitor is configured. */
  knnAccuracy?: number;
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
  /** Write a checkpoint here at the end of every epoch and on abort. */
  checkpointDir?: string;
  /** Stop after this many steps of this fit call (for tests and time-boxed runs). */
  maxSteps?: number;
  /** Per-epoch kNN monitor on labelled data. */
  knn?: KnnMonitorOptions;
  onStep?: (e: StepEvent) => void;
  onEpoch?: (e: EpochEvent) => void;
}

export interface FitResult {
  steps: number;
  epochs: number;
  stopped: 'completed' | 'aborted' | 'maxSteps';
  losses: number[];
  epochLosses: number[];
  knnAccuracy: number[];
}

/** Stream purposes: offset = (step·16 + purpose)·16 (+ view component). */
export const enum Purpose {
  View1 = 0,
  View2 = 1,
  Mix = 2,
  CutMixBox = 3,
  Queue = 4,
}
const EPOCH_STREAM = 2 ** 50;

export function streamOffset(step: number, purpose: Purpose): number {
  return (step * 16 + purpose) * 16;
}

export function buildEncoder(spec: EncoderSpec | Module, inFeatures: number): Module {
  if (spec instanceof Module) {
    spec.outFeatures(inFeatures); // throws a ShapeError naming the mismatch
    return spec;
  }
  if (spec.kind === 'mlp') return mlp([inFeatures, ...spec.hidden], { batchNorm: spec.batchNorm ?? true, lastActivation: true });
  if (spec.kind === 'tabular') return tabularEncoder(inFeatures, { scale: spec.scale });
  throw new ArgumentError(`encoder: unknown kind '${(spec as { kind: string }).kind}'`);
}

/** Checks an EncoderSpec when the method is constructed, before any data is seen. */
function checkEncoderSpec(spec: EncoderSpec): void {
  if (spec.kind === 'mlp') {
    checkKeys(spec, ['kind', 'hidden', 'batchNorm'], 'encoder.', "an 'mlp' encoder's options");
    if (!Array.isArray(spec.hidden) || spec.hidden.length === 0 || !spec.hidden.every((w) => Number.isSafeInteger(w) && w > 0))
      throw new ValueError(`encoder.hidden: expected a non-empty list of positive integer widths, got ${JSON.stringify(spec.hidden)}`);
    const wide = spec.hidden.find((w) => w > MAX_WIDTH);
    if (wide !== undefined) throw new ValueError(`encoder.hidden: a layer of width ${wide} is wider than ${MAX_WIDTH} (2^24)`);
    if (spec.batchNorm !== undefined && typeof spec.batchNorm !== 'boolean')
      throw new ValueError(`encoder.batchNorm: expected a boolean, got ${JSON.stringify(spec.batchNorm)}`);
  } else if (spec.kind === 'tabular') {
    checkKeys(spec, ['kind', 'scale'], 'encoder.', "a 'tabular' encoder's options");
    if (spec.scale !== undefined) positiveNumber(spec.scale, 'encoder.scale');
    if (spec.scale !== undefined && spec.scale > MAX_TABULAR_SCALE)
      throw new ValueError(`encoder.scale: expected at most ${MAX_TABULAR_SCALE} (the widest layer is 8192 × scale), got ${spec.scale}`);
  } else {
    throw new ArgumentError(`encoder.kind: expected 'mlp' or 'tabular' (or pass a Module), got ${JSON.stringify((spec as { kind: unknown }).kind)}`);
  }
}

/**
 * The parameters the encoder (beyond its first layer, whose size depends on
 * the data) and the projection head will hold, counted from the layer
 * declarations (which allocate nothing), must stay within MAX_PARAMETERS.
 */
function checkNetworkSize(spec: EncoderSpec, projection: [number, number]): void {
  const count = (m: Module) => m.namedParameters().reduce((s, [, p]) => s + p.numel, 0);
  const enc = buildEncoder(spec, 1);
  const encoder = count(enc), head = count(projectionHead(enc.outFeatures(1), projection[0], projection[1]));
  if (encoder + head <= MAX_PARAMETERS) return;
  const arg = encoder > head ? (spec.kind === 'tabular' ? 'encoder.scale' : 'encoder.hidden') : 'projection';
  throw new ValueError(
    `${arg}: the encoder and projection head would hold ${encoder + head} parameters besides the first layer's, more than ${MAX_PARAMETERS} (2^31, 8 GiB of float32)`,
  );
}

function positiveNumber(v: unknown, arg: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ValueError(`${arg}: expected a positive number, got ${String(v)}`);
  return v;
}

/** A positive number the kernels can take as a float32 (a larger one would become Infinity there). */
function float32Positive(v: unknown, arg: string): number {
  const x = positiveNumber(v, arg);
  if (x > FLOAT32_MAX) throw new ValueError(`${arg}: expected at most ${FLOAT32_MAX} (the largest float32), got ${x}`);
  return x;
}

/**
 * The settings a checkpoint's state continues exactly only under, by option
 * name, read from a config() record (the architecture is compared on its
 * own): the optimizer's kind and effective hyperparameters (its defaults
 * filled in), the mixing, temperature, seed (data order and every random
 * draw), the views and the method's own options (`extraKeys`).
 */
function continuationSettings(cfg: Record<string, any>, extraKeys: string[]): Map<string, unknown> {
  const out = new Map<string, unknown>([
    ['seed', cfg.seed],
    ['temperature', cfg.temperature],
    ['mix.kind', cfg.mix?.kind],
    ['mix.alpha', cfg.mix?.alpha],
    ['mix.perBatchLambda', cfg.mix?.perBatchLambda],
    ['views', cfg.views],
  ]);
  const o = cfg.optimizer;
  if (o && typeof o === 'object' && typeof o.lr === 'number') {
    out.set('optimizer.kind', o.kind ?? 'sgd');
    const hp = o.kind === 'adamw' ? adamwHyperparameters(o, 'optimizer.') : o.kind === 'lars' ? larsHyperparameters(o, 'optimizer.') : sgdHyperparameters(o, 'optimizer.');
    for (const [k, v] of Object.entries(hp)) out.set(`optimizer.${({ beta1: 'betas[0]', beta2: 'betas[1]' } as Record<string, string>)[k] ?? k}`, v);
    out.set('optimizer.warmupEpochs', o.warmupEpochs ?? 0);
  }
  for (const k of extraKeys) out.set(k, cfg[k]);
  return out;
}

/**
 * Throws an ArgumentError naming the first setting in which the model's
 * config `mine` differs from the checkpoint's `ck` (settings an older
 * checkpoint did not record, and views made by custom functions, which
 * config() can only call 'custom', are not compared).
 */
function checkSameSettings(ck: Record<string, unknown>, mine: Record<string, unknown>, extraKeys: string[], dir: string): void {
  const theirs = continuationSettings(ck, extraKeys);
  for (const [name, v] of continuationSettings(mine, extraKeys)) {
    const c = theirs.get(name);
    if (c === undefined) continue;
    if (name === 'views' && [c, v].some((vs) => Array.isArray(vs) && vs.includes('custom'))) continue;
    if (JSON.stringify(c) !== JSON.stringify(v))
      throw new ArgumentError(
        `${name}: the checkpoint in ${dir} was trained with ${JSON.stringify(c)}, this model has ${JSON.stringify(v)}; construct the model with the checkpoint's settings (its config.json lists them) to continue it`,
      );
  }
}

/**
 * The unfinished epoch a checkpoint recorded (null at an epoch boundary),
 * or undefined for a checkpoint of an imix that did not record it.
 */
function partialEpochOf(sc: Record<string, number>, dir: string): { steps: number; batchSize: number; rows: number } | null | undefined {
  if (sc.epochSteps === undefined) return undefined;
  const steps = sc.epochSteps, batchSize = sc.epochBatchSize!, rows = sc.epochRows!;
  if (!Number.isSafeInteger(steps) || steps < 0) throw new DataError(`${dir}: damaged counter 'epochSteps'`);
  if (steps === 0) return null;
  if (!Number.isSafeInteger(batchSize) || !Number.isSafeInteger(rows) || batchSize < 2 || steps >= Math.floor(rows / batchSize))
    throw new DataError(`${dir}: damaged counters 'epochSteps', 'epochBatchSize', 'epochRows'`);
  return { steps, batchSize, rows };
}

/** A state tensor's least size for a model, known before it is built, and the error when a checkpoint's is smaller. */
export interface PlannedSize {
  name: string;
  need: number;
  error: (have: number) => Error;
}

/** Events a method emits while fitting. */
export interface MethodEvents {
  step: [StepEvent];
  epoch: [EpochEvent];
}

/**
 * Base of NPair, SimCLR, MoCo and BYOL. Networks are built on the first
 * `fit` (or `build`) call, when the data's feature count is known.
 * Progress is emitted as `'step'` and `'epoch'` events (and passed to the
 * `onStep`/`onEpoch` callbacks of {@link FitOptions}).
 */
export abstract class ContrastiveMethod extends EventEmitter<MethodEvents> {
  readonly mix: Required<MixOptions>;
  readonly temperature: number;
  readonly seed: number;
  readonly device: Device;
  readonly projection: [number, number];
  readonly optimizerOptions: Required<Omit<OptimizerOptions, 'betas' | 'eta' | 'nesterov'>> & OptimizerOptions;
  readonly views: [View, View];
  /** Global step (optimizer updates taken) and epoch counters. */
  step = 0;
  epoch = 0;
  /** Loss sum and step count of the epoch in progress (kept across a mid-epoch resume). */
  private epochLossSum = 0;
  private epochLossCount = 0;
  /**
   * The epoch left unfinished by an abort or maxSteps: the steps taken in it
   * and the batch size and row count its order was cut with. Its remaining
   * batches are the rest of that cut, so only the same batch size and row
   * count can continue it. null at an epoch boundary.
   */
  private partialEpoch: { steps: number; batchSize: number; rows: number } | null = null;
  /**
   * Set by loading a checkpoint of an imix that did not record the partial
   * epoch: it is inferred from the step count at the next fit (see epochInProgress).
   */
  private legacyCounters = false;
  protected encoderSpec: EncoderSpec | Module;
  protected sampleShape: number[] | null = null;
  /** The trained network (encoder first) and its optimizer, set by build(). */
  protected online!: ParameterStore;
  protected optimizer!: Optimizer;
  encoder!: Module;
  private batchBuf = new Map<
    number,
    {
      idx: Tensor<'int32'>;
      /** The [2N, F] batch [xq; xk], and views of its two halves. */
      x: Tensor<'float32'>;
      xq: Tensor<'float32'>;
      xk: Tensor<'float32'>;
      v1: Tensor<'float32'>;
      perm: Tensor<'int32'>;
      lam: Tensor<'float32'>;
    }
  >();
  private dataTensor: Tensor<'float32'> | null = null;
  private fitting = false;
  private disposed = false;

  /** Short name of the method ('npair', 'simclr', 'moco', 'byol'). */
  abstract readonly name: string;

  /**
   * Checks every option (unknown keys included) before anything is built.
   * A subclass with options of its own passes their keys as `ownKeys`.
   */
  constructor(o: MethodOptions, ownKeys: readonly string[] = []) {
    super();
    if (!o || typeof o !== 'object' || Array.isArray(o)) throw new ArgumentError('options: expected an object');
    checkKeys(o, [...Object.keys(METHOD_OPTION_KEYS), ...ownKeys], '', `${new.target.name} options`);
    if (!o.encoder || typeof o.encoder !== 'object') throw new ArgumentError('encoder: required (an EncoderSpec or a Module)');
    if (!(o.encoder instanceof Module)) checkEncoderSpec(o.encoder);
    this.encoderSpec = o.encoder;
    checkOptions(o.mix, Object.keys(MIX_OPTION_KEYS), 'mix');
    const mix = o.mix ?? { kind: 'none' };
    if (!['none', 'mixup', 'cutmix'].includes(mix.kind)) throw new ValueError(`mix.kind: expected 'none', 'mixup' or 'cutmix', got '${mix.kind}'`);
    const alpha = mix.alpha ?? 1;
    if (typeof alpha !== 'number' || !(alpha > 0) || !Number.isFinite(alpha)) throw new ValueError(`mix.alpha: expected a positive number, got ${alpha}`);
    // Outside these bounds the Beta(α, α) draws of λ come out wrong (see MIN_MIX_ALPHA).
    if (alpha < MIN_MIX_ALPHA || alpha > MAX_MIX_ALPHA)
      throw new ValueError(`mix.alpha: expected a number from ${MIN_MIX_ALPHA} to ${MAX_MIX_ALPHA}, got ${alpha}`);
    const perBatchLambda = mix.perBatchLambda ?? mix.kind === 'cutmix';
    if (typeof perBatchLambda !== 'boolean') throw new ValueError(`mix.perBatchLambda: expected a boolean, got ${JSON.stringify(perBatchLambda)}`);
    this.mix = { kind: mix.kind, alpha, perBatchLambda };
    this.temperature = positiveNumber(o.temperature ?? 0.2, 'temperature');
    // Logits are cosines / τ: a smaller τ makes them float32 rounding noise (see MIN_TEMPERATURE).
    if (this.temperature < MIN_TEMPERATURE)
      throw new ValueError(`temperature: expected at least ${MIN_TEMPERATURE} (logits are cosine similarities / temperature), got ${this.temperature}`);
    const seed = o.seed ?? 0;
    if (!Number.isSafeInteger(seed) || seed < 0) throw new ValueError(`seed: expected a non-negative integer, got ${seed}`);
    this.seed = seed;
    this.device = o.device ?? 'cpu';
    Tensor.zeros([1], { device: this.device }).dispose(); // a DeviceError now, not at the first step
    const proj = o.projection ?? [512, 128];
    if (!Array.isArray(proj) || proj.length !== 2 || !proj.every((w) => Number.isInteger(w) && w > 0))
      throw new ValueError(`projection: expected [hidden, out] positive integers, got ${JSON.stringify(proj)}`);
    if (proj.some((w) => w > MAX_WIDTH)) throw new ValueError(`projection: a layer of width ${Math.max(...proj)} is wider than ${MAX_WIDTH} (2^24)`);
    if (!(o.encoder instanceof Module)) checkNetworkSize(o.encoder, proj);
    this.projection = proj;
    checkOptions(o.optimizer, Object.keys(OPTIMIZER_OPTION_KEYS), 'optimizer');
    const opt = o.optimizer ?? {};
    this.optimizerOptions = {
      ...opt,
      kind: opt.kind ?? 'sgd',
      lr: float32Positive(opt.lr ?? 0.05, 'optimizer.lr'),
      momentum: opt.momentum ?? 0.9,
      weightDecay: opt.weightDecay ?? 5e-4,
      warmupEpochs: opt.warmupEpochs ?? 0,
    };
    // Checked now with the optimizer's own rules (it is created when the data's shape is known).
    const oo = this.optimizerOptions;
    if (oo.kind === 'sgd') sgdHyperparameters(oo, 'optimizer.');
    else if (oo.kind === 'lars') larsHyperparameters(oo, 'optimizer.');
    else if (oo.kind === 'adamw') adamwHyperparameters(oo, 'optimizer.');
    else throw new ValueError(`optimizer.kind: expected 'sgd', 'lars' or 'adamw', got ${JSON.stringify(oo.kind)}`);
    if (typeof oo.warmupEpochs !== 'number' || !(oo.warmupEpochs >= 0) || !Number.isFinite(oo.warmupEpochs))
      throw new ValueError(`optimizer.warmupEpochs: expected a non-negative number, got ${oo.warmupEpochs}`);
    for (const [key, kinds] of Object.entries(OPTIMIZER_KINDS_OF))
      if (opt[key as keyof OptimizerOptions] !== undefined && !kinds.includes(oo.kind))
        throw new ArgumentError(`optimizer.${key}: only for optimizer.kind ${kinds.map((k) => `'${k}'`).join(' or ')}; this optimizer is '${oo.kind}'`);
    if (typeof oo.weightDecay === 'number' && oo.weightDecay > FLOAT32_MAX)
      throw new ValueError(`optimizer.weightDecay: expected at most ${FLOAT32_MAX} (the largest float32), got ${oo.weightDecay}`);
    const v = o.views ?? compose(inputDrop(0.2));
    this.views = Array.isArray(v) ? (v as [View, View]) : [v, v];
    if (this.views.length !== 2 || !this.views.every((f) => typeof f === 'function'))
      throw new ArgumentError('views: expected a view function (see views.*) or a pair [query view, key view]');
  }

  /** Builds the networks for samples of `sampleShape` (done by fit on first use). */
  build(sampleShape: number[]): this {
    this.checkLive('build');
    if (this.sampleShape) {
      if (featureCount({ sampleShape }) !== featureCount({ sampleShape: this.sampleShape }))
        throw new ShapeError(`data: samples of shape [${sampleShape.join(', ')}] do not fit a model built for [${this.sampleShape.join(', ')}]`);
      return this;
    }
    if (this.mix.kind === 'cutmix' && sampleShape.length !== 3)
      throw new ShapeError(`mix: CutMix needs spatial [C, H, W] samples, got [${sampleShape.join(', ')}]; use mixup for non-image data`);
    for (const v of this.views)
      if (v.spatial && sampleShape.length !== 3)
        throw new ShapeError(
          `views: ${v.describe ?? 'an image view'} needs image samples [C, H, W], got [${sampleShape.join(', ')}]; use inputDrop or gaussianNoise for non-image data`,
        );
    try {
      this.buildNetworks(featureCount({ sampleShape }));
      const o = this.optimizerOptions;
      this.optimizer =
        o.kind === 'adamw' ? new AdamW(this.online, { lr: o.lr, betas: o.betas, weightDecay: o.weightDecay })
        : o.kind === 'lars' ? new LARS(this.online, { lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay, eta: o.eta, nesterov: o.nesterov })
        : new SGD(this.online, { lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay, nesterov: o.nesterov });
    } catch (e) {
      // e.g. a Module encoder that does not take this many features: stay unbuilt, not half-built.
      this.releaseNetworks();
      throw e;
    }
    this.sampleShape = [...sampleShape];
    return this;
  }

  /** Undoes build() (load() does when the checkpoint turns out not to fit). */
  private unbuild(): void {
    this.releaseNetworks();
    this.sampleShape = null;
  }

  /** Creates the networks and `this.online` (the trained store, encoder first). */
  protected abstract buildNetworks(inFeatures: number): void;
  /** Sets `this.encoder` and returns `Sequential(encoder, head)` with the projection head g on top. */
  protected encoderWithHead(inFeatures: number): Sequential {
    this.encoder = buildEncoder(this.encoderSpec, inFeatures);
    return Sequential.named([
      ['encoder', this.encoder],
      ['head', projectionHead(this.encoder.outFeatures(inFeatures), this.projection[0], this.projection[1])],
    ]);
  }
  /** One forward/backward on `batch`, accumulating gradients into `this.online.grads`; returns the loss. */
  protected abstract trainStep(batch: Batch): number;
  /** Work after the optimizer step (enqueue keys, ...). */
  protected afterStep(): void {}
  /**
   * Work before the forward pass (EMA updates, ...), given the schedule
   * position: `step` of `total` steps (as the learning-rate schedule's).
   */
  protected beforeStep(_schedule: { step: number; total: number }): void {}

  /** Draws π and λ for a step (host side, Philox stream (seed, step, Mix)). */
  protected drawMix(n: number, buf: { perm: Tensor<'int32'>; lam: Tensor<'float32'> }): MixDraw {
    const gen = new Generator(this.seed, streamOffset(this.step, Purpose.Mix));
    const permHost = gen.permutation(n);
    const lamHost = sampleLambda(gen, n, this.mix.alpha, this.mix.perBatchLambda);
    buf.perm.set(permHost);
    buf.lam.set(lamHost);
    return { perm: buf.perm, lam: buf.lam, permHost, lamHost };
  }

  protected buffers(n: number) {
    let b = this.batchBuf.get(n);
    if (!b) {
      const F = featureCount({ sampleShape: this.sampleShape! });
      const x = Tensor.zeros([2 * n, F], { device: this.device });
      b = {
        idx: Tensor.zeros([n], { dtype: 'int32', device: this.device }),
        x,
        xq: x.rows(0, n),
        xk: x.rows(n, 2 * n),
        v1: Tensor.zeros([n, F], { device: this.device }),
        perm: Tensor.zeros([n], { dtype: 'int32', device: this.device }),
        lam: Tensor.zeros([n], { device: this.device }),
      };
      this.batchBuf.set(n, b);
    }
    return b;
  }

  /**
   * Runs one training step on the rows `rows` of `data`: views, mixing,
   * forward/backward, optimizer update. Returns the loss. `scheduleStep` of
   * `totalSteps` is the position on the schedules (BYOL's EMA momentum);
   * fit passes the position within its epochs.
   */
  stepOn(data: Tensor<'float32'>, rows: Int32Array, lr: number, totalSteps: number, scheduleStep = this.step): number {
    const n = rows.length;
    if (n < 2) throw new ValueError(`batchSize: a contrastive batch needs at least 2 rows, got ${n}`);
    const b = this.buffers(n);
    b.idx.set(rows);
    // Batch layout: x = [query view (mixed) ; key view], N rows each.
    const { xq, xk } = b;
    const clean = b.v1;
    ops.gatherRows(data, b.idx, clean);
    this.views[1](clean, xk, { seed: this.seed, offset: streamOffset(this.step, Purpose.View2) }, this.sampleShape ?? undefined);
    let mix: MixDraw | null = null;
    this.views[0](clean, clean, { seed: this.seed, offset: streamOffset(this.step, Purpose.View1) }, this.sampleShape ?? undefined);
    if (this.mix.kind === 'none') {
      xq.copyFrom(clean);
    } else {
      mix = this.drawMix(n, b);
      if (this.mix.kind === 'mixup') {
        ops.mixup(clean, xq, mix.perm, mix.lam);
      } else {
        const [C, H, W] = this.sampleShape as [number, number, number];
        const r = ops.cutmixBatch(clean.reshape([n, C, H, W]), xq.reshape([n, C, H, W]), mix.perm, mix.lamHost[0]!, {
          seed: this.seed,
          offset: streamOffset(this.step, Purpose.CutMixBox),
        });
        mix.lamHost.fill(r.lam);
        mix.lam.set(mix.lamHost);
      }
    }
    this.beforeStep({ step: scheduleStep, total: totalSteps });
    this.online.zeroGrad();
    const loss = this.trainStep({ n, x: b.x, xq, xk, x1: clean, mix });
    // Named as progress events and metrics count steps, from 1. (Datasets hold only finite features, so it diverged.)
    if (!Number.isFinite(loss)) throw new ValueError(`loss: became ${loss} at step ${this.step + 1}; ${this.divergenceSettings()}`);
    this.optimizer.step(lr);
    this.afterStep();
    this.step++;
    return loss;
  }

  /**
   * The settings that can make training diverge, with their values, as
   * `name=value` (the CLI rewrites the names to its flags). Which one did is
   * not known here, so none is singled out.
   */
  private divergenceSettings(): string {
    const o = this.optimizerOptions;
    const s = [`learning rate (optimizer.lr=${o.lr})`, `warmup (optimizer.warmupEpochs=${o.warmupEpochs})`];
    if (this.usesTemperature) s.push(`temperature (temperature=${this.temperature})`);
    s.push(`weight decay (optimizer.weightDecay=${o.weightDecay})`);
    return `settings that can make training diverge: ${s.join(', ')}`;
  }
  /** Whether the loss uses `temperature` (BYOL's does not). */
  protected readonly usesTemperature: boolean = true;

  /**
   * The training rows on the device. Copied at every fit, not cached by
   * dataset object: rows edited in place between two fits must be seen.
   */
  private uploadData(ds: Dataset): Tensor<'float32'> {
    const F = featureCount(ds), t = this.dataTensor;
    if (t && t.shape[0] === ds.n && t.shape[1] === F) return t.set(ds.x);
    t?.dispose();
    this.dataTensor = Tensor.from(ds.x, [ds.n, F], { device: this.device });
    return this.dataTensor;
  }

  /**
   * Steps already taken in the current epoch, checked against this fit's
   * batch size and rows: an unfinished epoch's remaining batches are the
   * rest of its order cut into its batch size, so another batch size or row
   * count would skip or repeat rows (or slice outside the order).
   */
  private epochInProgress(B: number, n: number): number {
    const spe = Math.floor(n / B);
    if (this.legacyCounters) {
      // An older checkpoint recorded no partial epoch; its run had epoch·spe steps at the boundary.
      const first = this.step - this.epoch * spe;
      if (first < 0 || first >= spe)
        throw new ArgumentError(
          `batchSize: the loaded checkpoint (step ${this.step}, epoch ${this.epoch}) does not fit ${spe} steps per epoch (${n} rows, batchSize ${B}); continue it with the batch size and data it was trained with`,
        );
      this.partialEpoch = first > 0 ? { steps: first, batchSize: B, rows: n } : null;
      this.legacyCounters = false;
    }
    const p = this.partialEpoch;
    if (!p) return 0;
    const where = `epoch ${this.epoch} was stopped after ${p.steps} of its ${Math.floor(p.rows / p.batchSize)} steps`;
    if (B !== p.batchSize)
      throw new ArgumentError(`batchSize: ${where} with batchSize ${p.batchSize}; continue it with batchSize ${p.batchSize} (another batch size can start at the next epoch)`);
    if (n !== p.rows)
      throw new ArgumentError(`data: ${where} on a dataset of ${p.rows} rows, this one has ${n}; continue it on the same data (other data can start at the next epoch)`);
    return p.steps;
  }

  /**
   * Trains for `epochs` epochs over `data` (rows are shuffled each epoch, the
   * last partial batch dropped). One fit at a time per model.
   */
  async fit(data: Dataset, options: FitOptions): Promise<FitResult> {
    this.checkLive('fit');
    if (this.fitting) throw new ArgumentError(`fit: this ${this.name} model is already training; await the running fit (or abort it) first`);
    this.fitting = true;
    try {
      return await this.fitLoop(data, options);
    } finally {
      this.unlockDir?.();
      this.unlockDir = null;
      this.fitting = false;
    }
  }
  /** Releases the writer's lock on the fit's checkpointDir (taken by fitLoop). */
  private unlockDir: (() => void) | null = null;

  private async fitLoop(data: Dataset, options: FitOptions): Promise<FitResult> {
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
    if (options.checkpointDir !== undefined) {
      prepareCheckpointDir(options.checkpointDir, 'checkpointDir');
      this.unlockDir = lockRunDir(options.checkpointDir, 'checkpointDir'); // one writer per folder
    }
    this.build(data.sampleShape);
    this.checkBatch(B);
    let first = this.epoch < epochs ? this.epochInProgress(B, data.n) : 0;
    const stepsPerEpoch = Math.floor(data.n / B);
    const totalSteps = epochs * stepsPerEpoch;
    const sched = warmupCosine({
      baseLr: this.optimizerOptions.lr,
      totalSteps: Math.max(totalSteps, 1),
      warmupSteps: Math.min(Math.round(this.optimizerOptions.warmupEpochs * stepsPerEpoch), Math.max(totalSteps, 1)),
    });
    const dataT = this.uploadData(data);
    const result: FitResult = { steps: 0, epochs: 0, stopped: 'completed', losses: [], epochLosses: [], knnAccuracy: [] };
    this.online.module.train();
    for (; this.epoch < epochs; first = 0) {
      const order = new Generator(this.seed, EPOCH_STREAM + this.epoch).permutation(data.n);
      const t0 = performance.now();
      if (first === 0) this.epochLossSum = this.epochLossCount = 0;
      // Resume mid-epoch: skip the steps already taken in this epoch.
      for (let s = first; s < stepsPerEpoch; s++) {
        this.checkLive('fit');
        if (options.signal?.aborted) return this.stop(result, 'aborted', options);
        if (options.maxSteps !== undefined && result.steps >= options.maxSteps) return this.stop(result, 'maxSteps', options);
        const ts = performance.now();
        // Schedules follow the position in this fit's epochs (equal to the global step unless an
        // earlier fit used another batch size or data size, whose epochs had another step count).
        const at = this.epoch * stepsPerEpoch + s;
        const lr = sched(at);
        const loss = this.stepOn(dataT, order.subarray(s * B, (s + 1) * B), lr, totalSteps, at);
        this.partialEpoch = { steps: s + 1, batchSize: B, rows: data.n };
        result.losses.push(loss);
        result.steps++;
        this.epochLossSum += loss;
        this.epochLossCount++;
        const se: StepEvent = { step: this.step, epoch: this.epoch, loss, lr, throughput: (B * 1000) / (performance.now() - ts) };
        this.emit('step', se);
        options.onStep?.(se);
        // Yield to the event loop once per step: progress, signals and timers keep running.
        await new Promise<void>((r) => setImmediate(r));
      }
      const ev: EpochEvent = {
        epoch: this.epoch,
        step: this.step,
        loss: this.epochLossCount ? this.epochLossSum / this.epochLossCount : NaN,
        seconds: (performance.now() - t0) / 1000,
      };
      this.epoch++;
      this.partialEpoch = null;
      if (options.knn && (this.epoch % (options.knn.every ?? 1) === 0 || this.epoch === epochs)) {
        ev.knnAccuracy = knnMonitor(this, options.knn);
        result.knnAccuracy.push(ev.knnAccuracy);
        this.online.module.train();
      }
      result.epochLosses.push(ev.loss);
      result.epochs++;
      // Listeners first, then the checkpoint: whatever they record of this epoch (the CLI's
      // metrics.jsonl line) is on disk before the checkpoint that makes the epoch final, so a
      // kill in between loses nothing (a resumed run drops records past its checkpoint).
      this.emit('epoch', ev);
      options.onEpoch?.(ev);
      if (options.checkpointDir) await this.save(options.checkpointDir);
    }
    return result;
  }

  private async stop(result: FitResult, why: FitResult['stopped'], options: FitOptions): Promise<FitResult> {
    result.stopped = why;
    if (options.checkpointDir) await this.save(options.checkpointDir);
    return result;
  }

  /**
   * Sizes (in values) the state tensors that build() allocates for samples
   * of `sampleShape` will have at least, computed from the module
   * declarations alone (declaring a layer allocates nothing). load() checks
   * them against the checkpoint's tensors before building, so a crafted
   * sample shape or width cannot make it allocate more than the file holds.
   */
  protected plannedStateSizes(sampleShape: number[], dir: string): PlannedSize[] {
    const F = featureCount({ sampleShape });
    const enc = buildEncoder(this.encoderSpec, F);
    const head = projectionHead(enc.outFeatures(F), this.projection[0], this.projection[1]);
    const count = (m: Module) => m.namedParameters().reduce((s, [, p]) => s + p.numel, 0);
    const need = count(enc) + count(head);
    return [
      {
        name: 'online.params',
        need,
        error: (have) =>
          new ShapeError(`${dir}: checkpoint architecture does not fit this model: its parameters hold ${have} values, this ${this.name} model for samples of shape [${sampleShape.join(', ')}] has more than ${need}`),
      },
    ];
  }

  private checkPlannedSizes(sampleShape: number[], stored: Record<string, { data: { length: number } }>, dir: string): void {
    for (const p of this.plannedStateSizes(sampleShape, dir)) {
      const have = stored[p.name]?.data.length ?? 0;
      if (p.need > have) throw p.error(have);
    }
  }

  /** Method-specific batch checks (e.g. MoCo's queue must hold a batch). */
  protected checkBatch(_batchSize: number): void {}

  /**
   * Encoder features f(x) of every row (BatchNorm in eval mode), row-major
   * [n, features]. Restores the previous train/eval mode.
   */
  embed(data: Dataset, options: EmbedOptions = {}): Float32Array {
    this.checkLive('embed');
    checkOptions(options, Object.keys(EMBED_OPTION_KEYS), 'options', 'embed options');
    const bs = options.batchSize ?? 1024;
    // A batch of 0 rows would never advance (and a fraction would cut rows apart).
    if (typeof bs !== 'number' || !Number.isSafeInteger(bs) || bs < 1) throw new ValueError(`batchSize: expected a positive integer, got ${String(bs)}`);
    checkDataset(data, 'data');
    if (!this.sampleShape) throw new ArgumentError('embed: the model is not built yet (fit or load it first)');
    const F = featureCount(data);
    if (F !== featureCount({ sampleShape: this.sampleShape }))
      throw new ShapeError(`data: ${F} features per row, the model takes ${featureCount({ sampleShape: this.sampleShape })}`);
    const wasTraining = this.encoder.training;
    this.encoder.eval();
    const D = this.encoder.outFeatures(F);
    const out = new Float32Array(data.n * D);
    const full = Tensor.zeros([Math.min(bs, data.n), F], { device: this.device });
    try {
      for (let s = 0; s < data.n; s += bs) {
        const e = Math.min(s + bs, data.n);
        const xb = e - s === full.shape[0] ? full : full.rows(0, e - s);
        xb.set(data.x.subarray(s * F, e * F));
        const y = this.encoder.forward(xb);
        out.set(y.toArray(), s * D);
      }
    } finally {
      full.dispose();
      this.encoder.train(wasTraining);
    }
    return out;
  }

  /** Feature count of the encoder output. */
  get features(): number {
    this.checkLive('features');
    if (!this.sampleShape) throw new ArgumentError('features: the model is not built yet');
    return this.encoder.outFeatures(featureCount({ sampleShape: this.sampleShape }));
  }

  /** Serializable configuration (checkpoints store it as JSON). */
  config(): Record<string, unknown> {
    return {
      method: this.name,
      encoder: this.encoderSpec instanceof Module ? { kind: 'module', describe: this.encoderSpec.describe() } : this.encoderSpec,
      projection: this.projection,
      mix: this.mix,
      temperature: this.temperature,
      seed: this.seed,
      optimizer: this.optimizerOptions,
      views: this.views.map((v) => v.describe ?? 'custom'),
      sampleShape: this.sampleShape,
      ...this.extraConfig(),
    };
  }
  protected extraConfig(): Record<string, unknown> {
    return {};
  }

  /** Named state tensors for checkpoints (stores, optimizer, queue...). */
  protected stateTensors(): Record<string, Tensor<'float32'>> {
    const s: Record<string, Tensor<'float32'>> = { 'online.params': this.online.params, 'online.buffers': this.online.buffers };
    for (const [k, t] of Object.entries(this.optimizer.state())) s[`optim.${k}`] = t;
    return s;
  }
  protected stateScalars(): Record<string, number> {
    return {};
  }
  protected loadScalars(_s: Record<string, number>): void {}

  /** Writes a checkpoint (safetensors + JSON) into `dir`, atomically. */
  async save(dir: string): Promise<void> {
    this.checkLive('save');
    if (!this.sampleShape) throw new ArgumentError('save: the model is not built yet (fit or load it first)');
    const p = this.partialEpoch;
    saveCheckpoint(dir, {
      config: this.config(),
      architecture: this.online.module.describe(),
      step: this.step,
      epoch: this.epoch,
      optimizerSteps: this.optimizer.steps,
      scalars: {
        ...this.stateScalars(),
        epochLossSum: this.epochLossSum,
        epochLossCount: this.epochLossCount,
        // The unfinished epoch (0s at a boundary), so a resumed fit can check its batch size and data.
        epochSteps: p?.steps ?? 0,
        epochBatchSize: p?.batchSize ?? 0,
        epochRows: p?.rows ?? 0,
      },
      tensors: this.stateTensors(),
    });
  }

  /**
   * Restores a checkpoint written by save() into this method, which must be
   * constructed with the checkpoint's settings (its config.json lists them):
   * the method, architecture, optimizer, mixing, temperature, seed, views and
   * the method's own options, so that fit() continues the run exactly.
   * Everything is checked before anything changes: a checkpoint that does
   * not fit is an error and leaves the model as it was (unbuilt if it was).
   */
  async load(dir: string): Promise<this> {
    this.checkLive('load');
    if (this.fitting) throw new ArgumentError(`load: this ${this.name} model is training; await the running fit (or abort it) first`);
    const ck = loadCheckpoint(dir);
    if (ck.config.method !== this.name)
      throw new ArgumentError(`${dir}: checkpoint is of method '${String(ck.config.method)}', not '${this.name}'`);
    const shape = ck.config.sampleShape; // checked by the checkpoint schema
    this.checkPlannedSizes(shape, ck.tensors, dir);
    const wasBuilt = this.sampleShape !== null;
    this.build(shape);
    const targets = this.stateTensors();
    let partial: ReturnType<typeof partialEpochOf>;
    try {
      if (ck.architecture !== this.online.module.describe())
        throw new ShapeError(`${dir}: checkpoint architecture ${ck.architecture} does not match this model's ${this.online.module.describe()}`);
      checkSameSettings(ck.config, this.config(), Object.keys(this.extraConfig()), dir);
      for (const [name, t] of Object.entries(targets)) {
        const src = ck.tensors[name];
        if (!src) throw new ShapeError(`${dir}: checkpoint lacks tensor '${name}'`);
        if (src.data.length !== t.numel)
          throw new ShapeError(`${dir}: tensor '${name}' has ${src.data.length} values, the model needs ${t.numel}`);
      }
      partial = partialEpochOf(ck.scalars, dir);
      this.loadScalars(ck.scalars); // the last check: it changes nothing unless its values fit
    } catch (e) {
      if (!wasBuilt) this.unbuild();
      throw e;
    }
    for (const [name, t] of Object.entries(targets)) t.set(ck.tensors[name]!.data as Float32Array);
    this.step = ck.step;
    this.epoch = ck.epoch;
    this.optimizer.steps = ck.optimizerSteps;
    this.epochLossSum = ck.scalars.epochLossSum ?? 0;
    this.epochLossCount = ck.scalars.epochLossCount ?? 0;
    this.partialEpoch = partial ?? null;
    this.legacyCounters = partial === undefined;
    return this;
  }

  /**
   * Sets the trained network's parameters from a flat array (in
   * `namedParameters()` order) and re-synchronizes EMA copies to them.
   */
  setParameters(values: Float32Array): void {
    this.checkLive('setParameters');
    if (!this.sampleShape) throw new ArgumentError('setParameters: build the model first');
    if (values.length !== this.online.numel) throw new ShapeError(`values: ${values.length} values for ${this.online.numel} parameters`);
    this.online.params.set(values);
    this.syncCopies();
  }
  /** Makes EMA copies (MoCo key, BYOL target) equal to the trained network. */
  protected syncCopies(): void {}

  /**
   * Loss and parameter gradients of one step on given views, without
   * updating anything but BatchNorm running statistics. `xq` is the
   * already-mixed query batch; `mix` the (π, λ) it was mixed with.
   */
  lossAndGradients(xq: Float32Array, xk: Float32Array, mix?: { perm: Int32Array; lam: Float32Array }): { loss: number; grads: Float32Array } {
    this.checkLive('lossAndGradients');
    if (!this.sampleShape) throw new ArgumentError('lossAndGradients: build the model first');
    const F = featureCount({ sampleShape: this.sampleShape });
    const n = xq.length / F;
    if (!Number.isInteger(n) || xk.length !== xq.length) throw new ShapeError(`xq, xk: expected equal [N, ${F}] batches`);
    const b = this.buffers(n);
    b.xq.set(xq);
    b.xk.set(xk);
    let draw: MixDraw | null = null;
    if (mix) {
      b.perm.set(mix.perm);
      b.lam.set(mix.lam);
      draw = { perm: b.perm, lam: b.lam, permHost: mix.perm, lamHost: mix.lam };
    }
    b.v1.set(xq);
    this.online.zeroGrad();
    const loss = this.trainStep({ n, x: b.x, xq: b.xq, xk: b.xk, x1: b.v1, mix: draw });
    return { loss, grads: this.online.grads.toArray() };
  }

  /** Throws DisposedError once dispose() has run (the tensors are gone). */
  protected checkLive(what: string): void {
    if (this.disposed) throw new DisposedError(`${what}: this ${this.name} model was disposed`);
  }

  /** Frees what build() made: the networks (subclasses add their own) and the optimizer. */
  protected releaseNetworks(): void {
    this.optimizer?.dispose();
    this.online?.dispose();
  }

  /** Frees every tensor the method holds; the model cannot be used afterwards. A fit in progress stops with DisposedError. */
  dispose(): void {
    this.disposed = true;
    for (const b of this.batchBuf.values()) for (const t of Object.values(b)) t.dispose();
    this.batchBuf.clear();
    this.dataTensor?.dispose();
    this.dataTensor = null;
    this.releaseNetworks();
  }
}
