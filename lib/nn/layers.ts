/**
 * Layers: Linear, BatchNorm1d, ReLU, Maxout, Sequential — the building blocks
 * of the encoders, projection heads and predictors.
 * @module
 */
import { ShapeError, ValueError } from '../errors';
import * as ops from '../ops/index';
import type { Tensor } from '../tensor';
import { Module, Workspace, check2d, type Parameter, type Buffer } from './module';

/** y = x·Wᵀ + b, initialized as PyTorch does: U(±1/√in) for W and b. */
export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  private readonly ws = new Workspace(() => this.device);
  private x: Tensor<'float32'> | null = null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures_: number,
    options: { bias?: boolean } = {},
  ) {
    super();
    if (!Number.isInteger(inFeatures) || inFeatures < 1) throw new ValueError(`inFeatures: expected a positive integer, got ${inFeatures}`);
    if (!Number.isInteger(outFeatures_) || outFeatures_ < 1) throw new ValueError(`outFeatures: expected a positive integer, got ${outFeatures_}`);
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = this.parameter('weight', [outFeatures_, inFeatures], { kind: 'uniform', bound });
    this.bias = options.bias === false ? null : this.parameter('bias', [outFeatures_], { kind: 'uniform', bound }, { decay: false, lars: false });
  }

  forward(x: Tensor<'float32'>): Tensor<'float32'> {
    this.requireBound();
    const n = check2d(x, this.inFeatures, 'x');
    const y = this.ws.get('y', [n, this.outFeatures_]);
    ops.linearForward(x, this.weight.data, this.bias?.data ?? null, y);
    this.x = x;
    return y;
  }

  backward(dy: Tensor<'float32'>, needInputGrad = true): Tensor<'float32'> | null {
    if (!this.x) throw new ShapeError('backward: called before forward');
    const n = this.x.shape[0]!;
    const dx = needInputGrad ? this.ws.get('dx', [n, this.inFeatures]) : null;
    ops.linearBackward(this.x, this.weight.data, dy, dx, this.weight.grad, this.bias?.grad ?? null, true);
    return dx;
  }

  outFeatures(inFeatures: number): number {
    if (inFeatures !== this.inFeatures) throw new ShapeError(`Linear: expects ${this.inFeatures} input features, got ${inFeatures}`);
    return this.outFeatures_;
  }
  protected override dropCache(): void {
    this.ws.clear();
    this.x = null;
  }
  describe(): string {
    return `Linear(${this.inFeatures}, ${this.outFeatures_}${this.bias ? '' : ', bias=false'})`;
  }
  clone(): Linear {
    return new Linear(this.inFeatures, this.outFeatures_, { bias: this.bias !== null });
  }
}

/**
 * BatchNorm1d over [N, C]: batch statistics in training (running statistics
 * updated with `momentum`, unbiased variance, as PyTorch), running
 * statistics in eval mode.
 */
export class BatchNorm1d extends Module {
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;
  readonly runningMean: Buffer;
  readonly runningVar: Buffer;
  private readonly ws = new Workspace(() => this.device);
  private x: Tensor<'float32'> | null = null;

  constructor(
    readonly numFeatures: number,
    readonly options: { eps?: number; momentum?: number; affine?: boolean } = {},
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

  forward(x: Tensor<'float32'>): Tensor<'float32'> {
    this.requireBound();
    const n = check2d(x, this.numFeatures, 'x');
    const y = this.ws.get('y', [n, this.numFeatures]);
    if (this.training) {
      if (n < 2) throw new ValueError(`x: BatchNorm1d needs more than 1 row per batch in training mode, got ${n}`);
      ops.batchnorm1dForwardTrain(x, y, this.ws.get('mean', [this.numFeatures]), this.ws.get('invstd', [this.numFeatures]), {
        gamma: this.weight?.data,
        beta: this.bias?.data,
        eps: this.eps,
        momentum: this.momentum,
        runningMean: this.runningMean.data,
        runningVar: this.runningVar.data,
      });
      this.x = x;
    } else {
      ops.batchnorm1dForwardEval(x, y, this.runningMean.data, this.runningVar.data, {
        gamma: this.weight?.data,
        beta: this.bias?.data,
        eps: this.eps,
      });
      this.x = null;
    }
    return y;
  }

  backward(dy: Tensor<'float32'>, needInputGrad = true): Tensor<'float32'> | null {
    if (!this.x) throw new ShapeError('backward: BatchNorm1d needs a training-mode forward first');
    const n = this.x.shape[0]!;
    // dx is needed to get dgamma/dbeta anyway: the kernel computes all three in one pass.
    const dx = this.ws.get('dx', [n, this.numFeatures]);
    ops.batchnorm1dBackward(dy, this.x, this.ws.get('mean', [this.numFeatures]), this.ws.get('invstd', [this.numFeatures]), dx, {
      gamma: this.weight?.data,
      dgamma: this.weight?.grad,
      dbeta: this.bias?.grad,
      accumulate: true,
    });
    return needInputGrad ? dx : null;
  }

  outFeatures(inFeatures: number): number {
    if (inFeatures !== this.numFeatures) throw new ShapeError(`BatchNorm1d: expects ${this.numFeatures} features, got ${inFeatures}`);
    return inFeatures;
  }
  protected override dropCache(): void {
    this.ws.clear();
    this.x = null;
  }
  describe(): string {
    return `BatchNorm1d(${this.numFeatures}${this.weight ? '' : ', affine=false'})`;
  }
  clone(): BatchNorm1d {
    return new BatchNorm1d(this.numFeatures, { ...this.options });
  }
}

/** y = max(x, 0). */
export class ReLU extends Module {
  private readonly ws = new Workspace(() => this.device);
  private y: Tensor<'float32'> | null = null;

  forward(x: Tensor<'float32'>): Tensor<'float32'> {
    const y = this.ws.get('y', x.shape);
    ops.reluForward(x, y);
    this.y = y;
    return y;
  }
  backward(dy: Tensor<'float32'>, needInputGrad = true): Tensor<'float32'> | null {
    if (!this.y) throw new ShapeError('backward: called before forward');
    if (!needInputGrad) return null;
    const dx = this.ws.get('dx', dy.shape);
    ops.reluBackward(dy, this.y, dx);
    return dx;
  }
  outFeatures(inFeatures: number): number {
    return inFeatures;
  }
  protected override dropCache(): void {
    this.ws.clear();
    this.y = null;
  }
  describe(): string {
    return 'ReLU';
  }
  clone(): ReLU {
    return new ReLU();
  }
}

/** Maxout over groups of `k` adjacent features: [N, F·k] → [N, F]. */
export class Maxout extends Module {
  private readonly ws = new Workspace(() => this.device);
  private argmax: Tensor<'int32'> | null = null;

  constructor(readonly k: number) {
    super();
    if (!Number.isInteger(k) || k < 1) throw new ValueError(`k: expected a positive integer, got ${k}`);
  }
  forward(x: Tensor<'float32'>): Tensor<'float32'> {
    if (x.ndim !== 2 || x.shape[1]! % this.k !== 0)
      throw new ShapeError(`x: expected [N, F·${this.k}] features, got [${x.shape.join(', ')}]`);
    const shape = [x.shape[0]!, x.shape[1]! / this.k];
    const y = this.ws.get('y', shape);
    this.argmax = this.ws.get('argmax', shape, 'int32');
    ops.maxoutForward(x, y, this.argmax, this.k);
    return y;
  }
  backward(dy: Tensor<'float32'>, needInputGrad = true): Tensor<'float32'> | null {
    if (!this.argmax) throw new ShapeError('backward: called before forward');
    if (!needInputGrad) return null;
    const dx = this.ws.get('dx', [dy.shape[0]!, dy.shape[1]! * this.k]);
    ops.maxoutBackward(dy, this.argmax, dx, this.k);
    return dx;
  }
  outFeatures(inFeatures: number): number {
    if (inFeatures % this.k !== 0) throw new ShapeError(`Maxout(${this.k}): ${inFeatures} features do not split into groups of ${this.k}`);
    return inFeatures / this.k;
  }
  protected override dropCache(): void {
    this.ws.clear();
    this.argmax = null;
  }
  describe(): string {
    return `Maxout(${this.k})`;
  }
  clone(): Maxout {
    return new Maxout(this.k);
  }
}

/** Modules applied in order; backward runs them in reverse. */
export class Sequential extends Module {
  readonly layers: Module[];
  private readonly names: string[];
  constructor(...layers: Module[]) {
    super();
    if (layers.length === 0) throw new ValueError('layers: Sequential needs at least one module');
    this.names = layers.map((_, i) => String(i));
    this.layers = layers.map((m, i) => this.child(this.names[i]!, m));
  }
  /** A Sequential whose children have names (`encoder`, `head`, ...) instead of indices. */
  static named(pairs: Array<[string, Module]>): Sequential {
    const s = new Sequential(...pairs.map(([, m]) => m));
    pairs.forEach(([n], i) => {
      s.names[i] = n;
      s._children[i]![0] = n;
    });
    return s;
  }
  /** The child called `name`. */
  get(name: string): Module {
    const i = this.names.indexOf(name);
    if (i < 0) throw new ValueError(`name: no child '${name}' in ${this.describe()}`);
    return this.layers[i]!;
  }
  clone(): Sequential {
    return Sequential.named(this.layers.map((m, i) => [this.names[i]!, m.clone()]));
  }
  forward(x: Tensor<'float32'>): Tensor<'float32'> {
    let h = x;
    for (const m of this.layers) h = m.forward(h);
    return h;
  }
  backward(dy: Tensor<'float32'>, needInputGrad = true): Tensor<'float32'> | null {
    let g: Tensor<'float32'> | null = dy;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      g = this.layers[i]!.backward(g!, i > 0 || needInputGrad);
    }
    return g;
  }
  outFeatures(inFeatures: number): number {
    return this.layers.reduce((f, m) => m.outFeatures(f), inFeatures);
  }
  describe(): string {
    const named = this.names.some((n, i) => n !== String(i));
    return `Sequential(${this.layers.map((m, i) => (named ? `${this.names[i]}=` : '') + m.describe()).join(', ')})`;
  }
}
