/**
 * The base every method shares: its networks are built on the first `fit`
 * (or `build`) when the data's shape is known; one training step makes the
 * two views of a batch, mixes the query view (i-Mix) and hands the batch to
 * the method's `trainStep` (forward, loss, backward), then updates the
 * parameters. The training loop is in trainer.ts, option checks in
 * options.ts, checkpoint files and continuation checks in checkpoint.ts.
 *
 * Reproducibility: every random draw of a step comes from Philox streams
 * keyed by the run's seed and indexed by (global step, purpose); see
 * trainer.ts for the data order.
 * @module
 */
import { EventEmitter } from 'node:events';
import { ArgumentError, DisposedError, DivergenceError, ShapeError, ValueError } from '../errors';
import { type Dataset, checkDataset, featureCount, firstNonFinite } from '../data/dataset';
import { stdOfL2Normalized } from '../eval/monitors';
import { Module, ParameterStore } from '../nn/module';
import { Sequential } from '../nn/layers';
import { projectionHead } from '../nn/presets';
import * as ops from '../ops/index';
import type { Optimizer } from '../optim/index';
import { Generator, sampleLambda } from '../random';
import { Tensor, type Device } from '../tensor';
import { type Precision, checkOptions } from '../util/options';
import { canonicalDir, checkSameSettings, loadCheckpoint, saveCheckpoint } from './checkpoint';
import {
  type EmbedOptions,
  EMBED_OPTION_KEYS,
  type EncoderSpec,
  type MethodOptions,
  type MixOptions,
  type ResolvedOptimizerOptions,
  buildEncoder,
  createOptimizer,
  encoderFeatures,
  isResNetKind,
  resolveMethodOptions,
} from './options';
import { EpochProgress, type EpochEvent, type FitOptions, type FitResult, type StepEvent, fit } from './trainer';
import { governedStep } from '../threads';
import type { View } from './views';

export type { EmbedOptions, EncoderSpec, MethodOptions, MixOptions, OptimizerOptions, ResolvedOptimizerOptions } from './options';
export { buildEncoder, encoderFeatures } from './options';
export type { EpochEvent, FitOptions, FitResult, StepEvent } from './trainer';

/**
 * One training step's inputs, as the training loop hands them to a method's
 * `trainStep`: the [2N, F] batch `x` = [xq; xk] and views of its halves.
 */
export interface Batch {
  /** Rows per view, N. */
  n: number;
  /** `[2N, ...sampleShape]`: the (mixed) query view over the clean key view. */
  x: Tensor<'float32'>;
  /** `[N, ...sampleShape]`: the query view t(x), mixed when i-Mix is on (rows 0..N of `x`). */
  xq: Tensor<'float32'>;
  /** `[N, ...sampleShape]`: the key view t′(x), never mixed (rows N..2N of `x`). */
  xk: Tensor<'float32'>;
  /** `[N, ...sampleShape]`: the query view before mixing (BYOL's symmetric loss uses it as a target input). */
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


/** Stream purposes: offset = (step·16 + purpose)·16 (+ view component). */
export const enum Purpose {
  View1 = 0,
  View2 = 1,
  Mix = 2,
  CutMixBox = 3,
  Queue = 4,
}

export function streamOffset(step: number, purpose: Purpose): number {
  return (step * 16 + purpose) * 16;
}



/** The largest loss a step may have (stepOn refuses a larger one with a DivergenceError), and what the bound is, for its message. */
export interface LossLimit {
  maxLoss: number;
  why: string;
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
 * Base of every method (NPair, SimCLR, MoCo, BYOL, SimSiam). Networks are built on the first
 * `fit` (or `build`) call, when the data's feature count is known.
 * Progress is emitted as `'step'` and `'epoch'` events (and passed to the
 * `onStep`/`onEpoch` callbacks of {@link FitOptions}).
 */
export abstract class ContrastiveMethod extends EventEmitter<MethodEvents> {
  readonly mix: Required<MixOptions>;
  readonly temperature: number;
  readonly seed: number;
  readonly device: Device;
  /** The Linear layers' gemm arithmetic (MethodOptions.precision). */
  readonly precision: Precision;
  readonly projection: [number, number];
  readonly optimizerOptions: ResolvedOptimizerOptions;
  readonly views: [View, View];
  /** Global step (optimizer updates taken) and epoch counters. */
  step = 0;
  epoch = 0;
  /** Where the model stands inside its current epoch (kept in checkpoints). @internal */
  readonly epochProgress = new EpochProgress();
  /**
   * The folder (canonical path) this model last loaded from or saved to:
   * its own run, which `fit`'s checkpointDir may write on (another run's
   * folder needs `overwrite: true`). @internal
   */
  runDir: string | null = null;
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
      /** The [2N, F] batch [xq; xk], and views of its two halves (flat rows: gather, views and mixing work on them). */
      x: Tensor<'float32'>;
      xq: Tensor<'float32'>;
      xk: Tensor<'float32'>;
      v1: Tensor<'float32'>;
      /** The same memory as [2N, ...sampleShape] and its halves, and v1 as [N, ...sampleShape]: what the networks take. */
      xS: Tensor<'float32'>;
      xqS: Tensor<'float32'>;
      xkS: Tensor<'float32'>;
      v1S: Tensor<'float32'>;
      perm: Tensor<'int32'>;
      lam: Tensor<'float32'>;
    }
  >();
  private dataTensor: Tensor<'float32'> | null = null;
  /**
   * The last step's embeddings of the unmixed view, as its loss saw them
   * ([rows, projection[1]]; set by trainStep, before it computes the loss):
   * the collapse monitor reads them, so it costs no forward pass. Null for a
   * method that sets none. On a CUDA device, on a step whose collapse the
   * training loop reads (`measureCollapse`), setting them issues their
   * device→host copy at once (a staged read-back, `Tensor.startRead`):
   * the loss's read-back, which waits for the stream after it, brings them
   * along, so the monitor costs no synchronization of its own.
   */
  protected get stepEmbeddings(): Tensor<'float32'> | null {
    return this.stepZ;
  }
  protected set stepEmbeddings(z: Tensor<'float32'> | null) {
    this.stepZ = z;
    this.stagedZ = null;
    if (z && this.measureCollapse && this.device !== 'cpu' && !z.disposed && z.isContiguous)
      this.stagedZ = { ticket: z.startRead(), z };
  }
  private stepZ: Tensor<'float32'> | null = null;
  /** The staged read-back of stepZ (Tensor.startRead), if one was issued. */
  private stagedZ: { ticket: number; z: Tensor<'float32'> } | null = null;
  /**
   * Set by the training loop before a step whose collapse statistic it will
   * read (collapseStatistic), so that the step stages its embeddings'
   * read-back. @internal
   */
  measureCollapse = false;
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
    const r = resolveMethodOptions(o, ownKeys, new.target.name);
    this.encoderSpec = r.encoderSpec;
    this.mix = r.mix;
    this.temperature = r.temperature;
    this.seed = r.seed;
    this.device = r.device;
    this.precision = r.precision;
    this.projection = r.projection;
    this.optimizerOptions = r.optimizerOptions;
    this.views = r.views;
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
    for (const v of this.views)
      if (v.signal && sampleShape.length !== 2)
        throw new ShapeError(
          `views: ${v.describe ?? 'a signal view'} needs signal samples [C, L], got [${sampleShape.join(', ')}]; use inputDrop or gaussianNoise for non-signal data`,
        );
    try {
      this.buildNetworks(sampleShape);
      this.optimizer = createOptimizer(this.online, this.optimizerOptions);
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
  protected abstract buildNetworks(sampleShape: readonly number[]): void;
  /** A network's store: on the method's device, initialized from its seed, its gemms at its precision. */
  protected newStore(module: Module): ParameterStore {
    return new ParameterStore(module, { seed: this.seed, device: this.device, precision: this.precision });
  }
  /** Sets `this.encoder` and returns `Sequential(encoder, head)` with the projection head g on top. */
  protected encoderWithHead(sampleShape: readonly number[]): Sequential {
    this.encoder = buildEncoder(this.encoderSpec, sampleShape);
    return Sequential.named([
      ['encoder', this.encoder],
      ['head', projectionHead(encoderFeatures(this.encoder, sampleShape), this.projection[0], this.projection[1])],
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
      const shape = this.sampleShape!;
      const F = featureCount({ sampleShape: shape });
      const x = Tensor.zeros([2 * n, F], { device: this.device });
      const v1 = Tensor.zeros([n, F], { device: this.device });
      const xS = x.reshape([2 * n, ...shape]);
      b = {
        idx: Tensor.zeros([n], { dtype: 'int32', device: this.device }),
        x,
        xq: x.rows(0, n),
        xk: x.rows(n, 2 * n),
        v1,
        xS,
        xqS: xS.rows(0, n),
        xkS: xS.rows(n, 2 * n),
        v1S: v1.reshape([n, ...shape]),
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
   * fit passes the position within its epochs. A loss that is not finite,
   * or above `limit.maxLoss`, is a DivergenceError before the update (the
   * model stays as it was, its step count included).
   */
  stepOn(data: Tensor<'float32'>, rows: Int32Array, lr: number, totalSteps: number, scheduleStep = this.step, limit?: LossLimit): number {
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
    const batch = { n, x: b.xS, xq: b.xqS, xk: b.xkS, x1: b.v1S, mix };
    // On the CPU, at the thread count the governor measures fastest (lib/threads.ts).
    const loss = this.device === 'cpu' ? governedStep(n, () => this.trainStep(batch)) : this.trainStep(batch);
    // Named as progress events and metrics count steps, from 1. (Datasets hold only finite features, so it diverged.)
    if (!Number.isFinite(loss)) throw new DivergenceError(`loss: became ${loss} at step ${this.step + 1}; ${this.divergenceSettings()}`, this.step + 1);
    // Above the limit (fit's maxLoss, by default lossBound): refused before the update too, so the model stays at the last good step.
    if (limit && loss > limit.maxLoss)
      throw new DivergenceError(`loss: ${loss} at step ${this.step + 1} is above ${+limit.maxLoss.toPrecision(6)}, ${limit.why}; ${this.divergenceSettings()}`, this.step + 1);
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
  /** @internal */
  divergenceSettings(): string {
    const o = this.optimizerOptions;
    const s = [`learning rate (optimizer.lr=${o.lr})`, `warmup (optimizer.warmupEpochs=${o.warmupEpochs})`];
    if (this.usesTemperature) s.push(`temperature (temperature=${this.temperature})`);
    s.push(`weight decay (optimizer.weightDecay=${o.weightDecay})`);
    return `settings that can make training diverge: ${s.join(', ')}`;
  }
  /** Whether the loss uses `temperature` (BYOL's does not). */
  protected readonly usesTemperature: boolean = true;

  /**
   * The largest loss a step of `batchSize` rows can have while the weights
   * are finite, so a larger one means training broke down (fit stops there,
   * see FitOptions.maxLoss). The embeddings are unit vectors, so
   *   InfoNCE (N-pair, SimCLR, MoCo): logits lie in [−1/τ, 1/τ] and a
   *     cross-entropy over M columns is at most 2/τ + ln M, with M at most
   *     2·batchSize + the MoCo queue;
   *   BYOL, SimSiam: 2 − 2·cos ≤ 4 per loss, 8 for the symmetric sum.
   */
  lossBound(batchSize: number): number {
    if (!this.usesTemperature) return 8;
    const queue = (this.extraConfig() as { queueSize?: unknown }).queueSize;
    return 2 / this.temperature + Math.log(2 * batchSize + (typeof queue === 'number' ? queue : 0));
  }

  /**
   * The collapse statistic ({@link stdOfL2Normalized}) of the last step's
   * unmixed-view embeddings; undefined when the method records none.
   * @internal
   */
  collapseStatistic(): number | undefined {
    const z = this.stepZ;
    if (!z || z.shape.length !== 2 || z.shape[0]! < 2) return undefined;
    return stdOfL2Normalized(this.embeddingValues(z), z.shape[1]!);
  }

  /** z's values: from its staged read-back when the step issued one (no wait after the loss's read-back), else read now. */
  private embeddingValues(z: Tensor<'float32'>): Float32Array {
    const staged = this.stagedZ;
    this.stagedZ = null;
    if (staged?.z === z) {
      try {
        return z.finishRead(staged.ticket);
      } catch (e) {
        // Replaced by a later read-back on the same device (another model's): read z itself.
        if (!(e instanceof ValueError)) throw e;
      }
    }
    return z.toArray();
  }

  /**
   * The training rows on the device. Copied at every fit, not cached by
   * dataset object: rows edited in place between two fits must be seen.
   * @internal
   */
  uploadData(ds: Dataset): Tensor<'float32'> {
    const F = featureCount(ds), t = this.dataTensor;
    if (t && t.shape[0] === ds.n && t.shape[1] === F) return t.set(ds.x);
    t?.dispose();
    this.dataTensor = Tensor.from(ds.x, [ds.n, F], { device: this.device });
    return this.dataTensor;
  }

  /**
   * Hands both views the training rows on the device (`View.prepare`), before
   * the first step of a fit: views that draw from the training set keep the
   * tensor by reference (no copy, nothing allocated per step). A view used
   * for both the query and the key is prepared once.
   * @internal
   */
  prepareViews(train: Tensor<'float32'>): void {
    for (const v of new Set(this.views)) v.prepare?.(train);
  }


  /**
   * Sizes (in values) the state tensors that build() allocates for samples
   * of `sampleShape` will have at least, computed from the module
   * declarations alone (declaring a layer allocates nothing). load() checks
   * them against the checkpoint's tensors before building, so a crafted
   * sample shape or width cannot make it allocate more than the file holds.
   */
  protected plannedStateSizes(sampleShape: number[], dir: string): PlannedSize[] {
    const enc = buildEncoder(this.encoderSpec, sampleShape);
    const head = projectionHead(encoderFeatures(enc, sampleShape), this.projection[0], this.projection[1]);
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

  /** Method-specific checks of the batch size and the data's row count (e.g. MoCo's queue must hold a batch, and be shorter than the rows minus a batch). */
  protected checkBatch(_batchSize: number, _rows?: number): void {}

  /** Builds the model for `sampleShape` and checks batches of `batchSize` from `rows` rows fit it (the trainer, before the first step). @internal */
  prepareFit(sampleShape: number[], batchSize: number, rows?: number): void {
    this.build(sampleShape);
    this.checkBatch(batchSize, rows);
  }

  /** Train (or evaluation) mode for the trained network's BatchNorm layers. @internal */
  setTraining(on: boolean): void {
    this.online.module.train(on);
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
      return await fit(this, data, options);
    } finally {
      this.fitting = false;
    }
  }

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
    const shape = this.sampleShape;
    const D = encoderFeatures(this.encoder, shape);
    const out = new Float32Array(data.n * D);
    const full = Tensor.zeros([Math.min(bs, data.n), ...shape], { device: this.device });
    let last: Tensor<'float32'> | null = null; // the shorter last batch's view
    try {
      for (let s = 0; s < data.n; s += bs) {
        const e = Math.min(s + bs, data.n);
        const xb = e - s === full.shape[0] ? full : (last = full.rows(0, e - s));
        xb.set(data.x.subarray(s * F, e * F));
        const y = this.encoder.forward(xb);
        out.set(y.toArray(), s * D);
      }
    } finally {
      last?.dispose();
      full.dispose();
      this.encoder.train(wasTraining);
    }
    return out;
  }

  /** Feature count of the encoder output. */
  get features(): number {
    this.checkLive('features');
    if (!this.sampleShape) throw new ArgumentError('features: the model is not built yet');
    return encoderFeatures(this.encoder, this.sampleShape);
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

  /**
   * A checkpoint of non-finite weights would be a run that can only produce
   * NaN: refused (a DivergenceError), so the folder keeps its last good one.
   */
  private checkFiniteState(dir: string): void {
    for (const [name, t] of Object.entries(this.stateTensors())) {
      const i = firstNonFinite(t.toArray());
      if (i >= 0)
        throw new DivergenceError(
          `save: the model's state is not finite at step ${this.step} ('${name}' value ${i} is ${t.toArray()[i]}): training diverged, and ${dir} keeps its last checkpoint; ${this.divergenceSettings()}`,
          this.step,
        );
    }
  }

  /**
   * Writes a checkpoint (safetensors + JSON) into `dir`, atomically. A model
   * whose weights or optimizer state are not finite (training diverged) is
   * refused with a DivergenceError and `dir` is left as it was.
   */
  async save(dir: string): Promise<void> {
    this.checkLive('save');
    if (!this.sampleShape) throw new ArgumentError('save: the model is not built yet (fit or load it first)');
    this.checkFiniteState(dir);
    saveCheckpoint(dir, {
      config: this.config(),
      architecture: this.online.module.describe(),
      step: this.step,
      epoch: this.epoch,
      optimizerSteps: this.optimizer.steps,
      // With the unfinished epoch (0s at a boundary), so a resumed fit can check its batch size and data.
      scalars: { ...this.stateScalars(), ...this.epochProgress.scalars() },
      tensors: this.stateTensors(),
      // A ResNet's parameters and statistics under torchvision's names, for PyTorch (scripts/imix_resnet.py).
      encoder: this.encoderSpec instanceof Module || !isResNetKind(this.encoderSpec.kind) ? undefined : [
        ...this.encoder.namedParameters().map(([k, p]): [string, Tensor<'float32'>] => [k, p.data]),
        ...this.encoder.namedBuffers().map(([k, b]): [string, Tensor<'float32'>] => [k, b.data]),
      ],
    });
    this.runDir = canonicalDir(dir);
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
    let progress: ReturnType<typeof EpochProgress.parse>;
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
      progress = EpochProgress.parse(ck.scalars, dir);
      this.loadScalars(ck.scalars); // the last check: it changes nothing unless its values fit
    } catch (e) {
      if (!wasBuilt) this.unbuild();
      throw e;
    }
    for (const [name, t] of Object.entries(targets)) t.set(ck.tensors[name]!.data as Float32Array);
    this.step = ck.step;
    this.epoch = ck.epoch;
    this.optimizer.steps = ck.optimizerSteps;
    this.epochProgress.restore(progress);
    this.runDir = canonicalDir(dir);
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
    const loss = this.trainStep({ n, x: b.xS, xq: b.xqS, xk: b.xkS, x1: b.v1S, mix: draw });
    return { loss, grads: this.online.grads.toArray() };
  }

  /** Throws DisposedError once dispose() has run (the tensors are gone). */
  /** @internal */
  checkLive(what: string): void {
    if (this.disposed) throw new DisposedError(`${what}: this ${this.name} model was disposed`);
  }

  /** Frees what build() made: the networks (subclasses add their own) and the optimizer. */
  protected releaseNetworks(): void {
    this.stepEmbeddings = null;
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
