/**
 * Batch normalization (`torch.nn.BatchNorm1d` / `BatchNorm2d`): per channel,
 * batch statistics in training (running statistics updated with `momentum`,
 * the unbiased variance, as PyTorch), running statistics in eval mode.
 *
 * - BatchNorm1d takes flat samples `[C]` (statistics over the N rows) and
 *   signals `[C, L]` (statistics over N·L values per channel);
 * - BatchNorm2d takes images `[C, H, W]` (statistics over N·H·W per channel).
 *
 * `relu: true` fuses the ReLU that usually follows (y = max(BN(x), 0)) into
 * the kernel, forward and backward: one pass over the activations instead of
 * two. It adds no parameters, so names and checkpoints are those of
 * `BatchNorm2d` followed by `ReLU` in PyTorch.
 * @module
 */
import { ShapeError, ValueError } from '../errors';
import * as ops from '../ops/index';
import type { Tensor } from '../tensor';
import { Module, ViewCache, Workspace, checkInto, checkSampleShape, shapeStr, type Buffer, type Parameter } from './module';

/** Options of BatchNorm1d and BatchNorm2d. */
export interface BatchNormOptions {
  /** Added to the variance; default 1e-5. */
  eps?: number;
  /** Running-statistics momentum; default 0.1. */
  momentum?: number;
  /** Learnable γ and β; default true. */
  affine?: boolean;
  /** Fuse the following ReLU: y = max(BN(x), 0). Default false. */
  relu?: boolean;
}

abstract class BatchNormBase extends Module {
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;
  readonly runningMean: Buffer;
  readonly runningVar: Buffer;
  /** @internal Scratch and views shared with BatchNorm2d, which reuses this forward. */
  protected readonly ws = new Workspace(() => this.device);
  /** @internal */
  protected readonly views = new ViewCache();
  /** The last training forward's input (as the kernel saw it) and output; null after an eval forward. */
  private x: Tensor<'float32'> | null = null;
  private y: Tensor<'float32'> | null = null;
  private spatial = false;

  constructor(
    readonly numFeatures: number,
    readonly options: BatchNormOptions,
  ) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures < 1) throw new ValueError(`numFeatures: expected a positive integer, got ${numFeatures}`);
    const affine = options.affine ?? true;
    this.weight = affine ? this.parameter('weight', [numFeatures], { kind: 'ones' }, { decay: false, lars: false }) : null;
    this.bias = affine ? this.parameter('bias', [numFeatures], { kind: 'zeros' }, { decay: false, lars: false }) : null;
    this.runningMean = this.buffer('running_mean', [numFeatures], 0);
    this.runningVar = this.buffer('running_var', [numFeatures], 1);
  }

  get eps(): number {
    return this.options.eps ?? 1e-5;
  }
  get momentum(): number {
    return this.options.momentum ?? 0.1;
  }
  get relu(): boolean {
    return this.options.relu ?? false;
  }

  /** The batch shapes this layer takes, for messages: `[N, C, H, W]`. */
  protected abstract batchShapes(): string;
  /** Whether a batch of this rank is taken (2: flat rows, 3: signals, 4: images). */
  protected abstract takesRank(ndim: number): boolean;

  /**
   * The input as the kernels take it: per-channel kernels (any spatial
   * extent) for [N, C, ...], and for flat rows with a fused ReLU the [N, C, 1]
   * view; plain flat rows use the 1-d kernels.
   */
  private asKernelInput(x: Tensor<'float32'>): { x: Tensor<'float32'>; spatial: boolean } {
    if (!this.takesRank(x.ndim)) throw new ShapeError(`x: ${this.describe()} expects ${this.batchShapes()}, got ${shapeStr(x.shape)}`);
    if (x.shape[1] !== this.numFeatures)
      throw new ShapeError(`x: ${this.describe()} expects ${this.numFeatures} channels (dimension 1), got ${shapeStr(x.shape)}`);
    if (x.ndim > 2) return { x, spatial: true };
    return this.relu ? { x: this.views.of(x, [x.shape[0]!, this.numFeatures, 1]), spatial: true } : { x, spatial: false };
  }

  forward(input: Tensor<'float32'>): Tensor<'float32'> {
    this.requireBound();
    const { x, spatial } = this.asKernelInput(input);
    const y = this.ws.get('y', x.shape);
    const C = this.numFeatures;
    const affine = { gamma: this.weight?.data, beta: this.bias?.data };
    if (this.training) {
      const values = x.numel / C;
      if (values < 2) throw new ValueError(`x: ${this.describe()} needs more than 1 value per channel in training mode, got input shape ${shapeStr(input.shape)}`);
      const stats = {
        ...affine,
        eps: this.eps,
        momentum: this.momentum,
        runningMean: this.runningMean.data,
        runningVar: this.runningVar.data,
      };
      const mean = this.ws.get('mean', [C]), invstd = this.ws.get('invstd', [C]);
      if (spatial) ops.batchnorm2dForwardTrain(x, y, mean, invstd, { ...stats, relu: this.relu });
      else ops.batchnorm1dForwardTrain(x, y, mean, invstd, stats);
      this.x = x;
      this.y = y;
    } else {
      const stats = { ...affine, eps: this.eps };
      if (spatial) ops.batchnorm2dForwardEval(x, y, this.runningMean.data, this.runningVar.data, { ...stats, relu: this.relu });
      else ops.batchnorm1dForwardEval(x, y, this.runningMean.data, this.runningVar.data, stats);
      this.x = null;
    }
    this.spatial = spatial;
    return x === input ? y : this.views.of(y, input.shape);
  }

  /** As Module.backward; `into`, when given, receives dL/dx instead of the layer's own buffer (x's shape). */
  backward(dyIn: Tensor<'float32'>, needInputGrad = true, into?: Tensor<'float32'>): Tensor<'float32'> | null {
    const x = this.x;
    if (!x) throw new ShapeError(`backward: ${this.describe()} needs a training-mode forward first`);
    const dy = dyIn.ndim === x.ndim ? dyIn : this.views.of(dyIn, x.shape);
    const C = this.numFeatures;
    // dx is needed to get dgamma/dbeta anyway: the kernel computes all three in one pass.
    const dx = into ? checkInto(into, x, this) : this.ws.get('dx', x.shape);
    const grads = { gamma: this.weight?.data, dgamma: this.weight?.grad, dbeta: this.bias?.grad, accumulate: true };
    const mean = this.ws.get('mean', [C]), invstd = this.ws.get('invstd', [C]);
    if (this.spatial) ops.batchnorm2dBackward(dy, x, mean, invstd, dx, { ...grads, y: this.relu ? this.y : null });
    else ops.batchnorm1dBackward(dy, x, mean, invstd, dx, grads);
    if (!needInputGrad) return null;
    return dyIn.ndim === x.ndim ? dx : this.views.of(dx, dyIn.shape);
  }

  protected override dropCache(): void {
    this.ws.clear();
    this.views.clear();
    this.x = null;
    this.y = null;
  }
  protected describeArgs(): string {
    return `${this.numFeatures}${this.weight ? '' : ', affine=false'}${this.relu ? ', relu' : ''}`;
  }
}

/**
 * BatchNorm1d: samples `[C]` (statistics per feature over the batch) or
 * `[C, L]` (per channel over the batch and L), as `torch.nn.BatchNorm1d`.
 */
export class BatchNorm1d extends BatchNormBase {
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super(numFeatures, options);
  }
  protected batchShapes(): string {
    return `[N, ${this.numFeatures}] or [N, ${this.numFeatures}, L]`;
  }
  protected takesRank(ndim: number): boolean {
    return ndim === 2 || ndim === 3;
  }
  outShape(inShape: readonly number[]): number[] {
    checkSampleShape(inShape, this.describe());
    if (inShape.length > 2 || inShape[0] !== this.numFeatures)
      throw new ShapeError(
        `${this.describe()}: expected samples [${this.numFeatures}] or [${this.numFeatures}, L], got ${shapeStr(inShape)}` +
          (inShape.length > 2 ? ' (BatchNorm2d takes [C, H, W] images)' : ''),
      );
    return [...inShape];
  }
  describe(): string {
    return `BatchNorm1d(${this.describeArgs()})`;
  }
  clone(): BatchNorm1d {
    return new BatchNorm1d(this.numFeatures, { ...this.options });
  }
}

/** BatchNorm2d: image samples `[C, H, W]`, statistics per channel over N·H·W, as `torch.nn.BatchNorm2d`. */
export class BatchNorm2d extends BatchNormBase {
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super(numFeatures, options);
  }
  protected batchShapes(): string {
    return `image batches [N, ${this.numFeatures}, H, W]`;
  }
  protected takesRank(ndim: number): boolean {
    return ndim === 4;
  }
  outShape(inShape: readonly number[]): number[] {
    checkSampleShape(inShape, this.describe());
    if (inShape.length !== 3 || inShape[0] !== this.numFeatures)
      throw new ShapeError(`${this.describe()}: expected image samples [${this.numFeatures}, H, W], got ${shapeStr(inShape)}`);
    return [...inShape];
  }
  describe(): string {
    return `BatchNorm2d(${this.describeArgs()})`;
  }
  clone(): BatchNorm2d {
    return new BatchNorm2d(this.numFeatures, { ...this.options });
  }
}
