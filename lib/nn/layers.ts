/**
 * Layers: Linear, ReLU, Maxout, Flatten, Sequential — the building blocks of
 * the encoders, projection heads and predictors (BatchNorm in ./batchnorm,
 * convolutions and pooling in ./conv and ./pooling).
 * @module
 */
import { ShapeError, ValueError } from '../errors';
import * as ops from '../ops/index';
import type { Tensor } from '../tensor';
import { Module, ViewCache, Workspace, check2d, checkSampleShape, numelOf, shapeStr, type Parameter } from './module';
export { BatchNorm1d } from './batchnorm';

/**
 * y = x·Wᵀ + b, initialized as PyTorch does: U(±1/√in) for W and b.
 *
 * Takes samples of any shape holding `inFeatures` values and flattens them
 * (row-major, as `Flatten`): `[F]`, or `[C, H, W]` with C·H·W = F, gives
 * `[outFeatures]`. So an MLP built for F = C·H·W features takes image
 * batches `[N, C, H, W]` and their flat view `[N, F]` alike; backward
 * returns dx in the input's shape. Its gemms run at the module's
 * `precision` (`setPrecision`: float32, or bfloat16 products).
 */
export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  private readonly ws = new Workspace(() => this.device);
  private readonly views = new ViewCache();
  /** The last forward's input as [N, inFeatures], and its shape. */
  private x: Tensor<'float32'> | null = null;
  private xShape: readonly number[] = [];

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
    const flat = x.ndim > 2 ? this.flatten(x) : x;
    const n = check2d(flat, this.inFeatures, 'x');
    const y = this.ws.get('y', [n, this.outFeatures_]);
    ops.linearForward(flat, this.weight.data, this.bias?.data ?? null, y, this.precision);
    this.x = flat;
    this.xShape = x.shape;
    return y;
  }
  /** [N, ...sample] → its [N, inFeatures] view. */
  private flatten(x: Tensor<'float32'>): Tensor<'float32'> {
    const f = numelOf(x.shape.slice(1));
    if (f !== this.inFeatures)
      throw new ShapeError(`x: expected ${this.inFeatures} features, got ${f} per sample (shape ${shapeStr(x.shape)})`);
    if (!x.isContiguous) throw new ShapeError(`x: ${this.describe()} flattens its samples and needs a contiguous batch, got a strided view of shape ${shapeStr(x.shape)}`);
    return this.views.of(x, [x.shape[0]!, f]);
  }

  backward(dy: Tensor<'float32'>, needInputGrad = true): Tensor<'float32'> | null {
    if (!this.x) throw new ShapeError('backward: called before forward');
    const n = this.x.shape[0]!;
    const dx = needInputGrad ? this.ws.get('dx', [n, this.inFeatures]) : null;
    ops.linearBackward(this.x, this.weight.data, dy, dx, this.weight.grad, this.bias?.grad ?? null, true, this.precision);
    return dx && this.xShape.length > 2 ? this.views.of(dx, this.xShape) : dx;
  }

  outShape(inShape: readonly number[]): number[] {
    checkSampleShape(inShape, this.describe());
    const f = numelOf(inShape);
    if (f !== this.inFeatures)
      throw new ShapeError(
        `${this.describe()}: expected ${this.inFeatures} input features, got ${shapeStr(inShape)}${inShape.length > 1 ? ` (${f} values)` : ''}`,
      );
    return [this.outFeatures_];
  }
  protected override dropCache(): void {
    this.ws.clear();
    this.views.clear();
    this.x = null;
    this.xShape = [];
  }
  describe(): string {
    return `Linear(${this.inFeatures}, ${this.outFeatures_}${this.bias ? '' : ', bias=false'})`;
  }
  clone(): Linear {
    return new Linear(this.inFeatures, this.outFeatures_, { bias: this.bias !== null });
  }
}

/** y = max(x, 0), elementwise: samples of any shape keep it. */
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
  outShape(inShape: readonly number[]): number[] {
    checkSampleShape(inShape, 'ReLU');
    return [...inShape];
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

/** Maxout over groups of `k` adjacent features: [N, F·k] → [N, F] (flat samples only). */
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
  outShape(inShape: readonly number[]): number[] {
    checkSampleShape(inShape, this.describe());
    if (inShape.length !== 1)
      throw new ShapeError(`${this.describe()}: expected flat samples [F], got ${shapeStr(inShape)} (Flatten first)`);
    const f = inShape[0]!;
    if (f % this.k !== 0) throw new ShapeError(`${this.describe()}: ${f} features do not split into groups of ${this.k}, got ${shapeStr(inShape)}`);
    return [f / this.k];
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

/**
 * Flattens every sample to one dimension: `[N, d1, …, dk]` → `[N, d1·…·dk]`
 * (`torch.nn.Flatten()` with its defaults). Row-major, so it only
 * reinterprets memory: forward returns a view of x (x itself when already
 * 2-D) and backward a view of dy in x's shape; no copies.
 */
export class Flatten extends Module {
  private readonly views = new ViewCache();
  private inShape: readonly number[] | null = null;

  forward(x: Tensor<'float32'>): Tensor<'float32'> {
    if (x.ndim < 2) throw new ShapeError(`x: expected a batch [N, ...sample], got ${shapeStr(x.shape)}`);
    if (x.ndim > 2 && !x.isContiguous) throw new ShapeError(`x: Flatten needs a contiguous batch, got a strided view of shape ${shapeStr(x.shape)}`);
    this.inShape = x.shape;
    return x.ndim === 2 ? x : this.views.of(x, [x.shape[0]!, numelOf(x.shape.slice(1))]);
  }
  backward(dy: Tensor<'float32'>, needInputGrad = true): Tensor<'float32'> | null {
    const s = this.inShape;
    if (!s) throw new ShapeError('backward: called before forward');
    const f = numelOf(s.slice(1));
    if (dy.ndim !== 2 || dy.shape[0] !== s[0] || dy.shape[1] !== f)
      throw new ShapeError(`dy: expected [${s[0]}, ${f}] (the last forward's output), got ${shapeStr(dy.shape)}`);
    if (!needInputGrad) return null;
    if (s.length > 2 && !dy.isContiguous) throw new ShapeError(`dy: Flatten needs a contiguous gradient, got a strided view of shape ${shapeStr(dy.shape)}`);
    return s.length === 2 ? dy : this.views.of(dy, s);
  }
  outShape(inShape: readonly number[]): number[] {
    checkSampleShape(inShape, 'Flatten');
    return [numelOf(inShape)];
  }
  protected override dropCache(): void {
    this.views.clear();
    this.inShape = null;
  }
  describe(): string {
    return 'Flatten';
  }
  clone(): Flatten {
    return new Flatten();
  }
}

/** Which layer of a Sequential (a qualified name, `encoder.3`) a shape error came from, and what it said. */
const layerOfError = new WeakMap<Error, { path: string; detail: string }>();

/**
 * Modules applied in order; backward runs them in reverse. Its sample
 * shape flows through the layers: `outShape` is the last layer's.
 */
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
  /**
   * Each layer's outShape applied to the previous one's. A layer that does
   * not take its input is named in the ShapeError by its qualified name (as
   * in parameter names: `layer encoder.3: Linear(512, 128): ...`).
   */
  outShape(inShape: readonly number[]): number[] {
    let s = inShape;
    for (let i = 0; i < this.layers.length; i++) {
      try {
        s = this.layers[i]!.outShape(s);
      } catch (e) {
        if (!(e instanceof ShapeError)) throw e;
        const inner = layerOfError.get(e);
        const path = inner ? `${this.names[i]}.${inner.path}` : this.names[i]!;
        const detail = inner ? inner.detail : e.message;
        const err = new ShapeError(`layer ${path}: ${detail}`);
        layerOfError.set(err, { path, detail });
        throw err;
      }
    }
    return [...s];
  }
  describe(): string {
    const named = this.names.some((n, i) => n !== String(i));
    return `Sequential(${this.layers.map((m, i) => (named ? `${this.names[i]}=` : '') + m.describe()).join(', ')})`;
  }
}
