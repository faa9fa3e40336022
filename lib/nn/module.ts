/**
 * Modules in the style of `torch.nn`, with explicit forward and backward.
 *
 * A module declares its parameters (shape, initializer, optimizer flags) and
 * buffers (BatchNorm running statistics) when it is constructed. A
 * {@link ParameterStore} then lays every parameter of a module tree out in
 * ONE flat buffer, every gradient in another and every buffer in a third,
 * and hands each module views into them. That is what makes an optimizer
 * step or an EMA update a single kernel over the whole model.
 *
 * Activations are allocated on the first forward for a batch shape and
 * reused by every later step with that shape.
 *
 * Shapes: a module maps a *sample shape* (`[F]` features, `[C, L]` signals,
 * `[C, H, W]` images) to a sample shape ({@link Module.outShape}); the batch
 * dimension is always first and never part of it. `forward` takes a batch
 * `[N, ...sampleShape]` and returns `[N, ...outShape(sampleShape)]`;
 * `backward` takes dL/dy of that output shape and returns dL/dx of the
 * input's shape.
 * @module
 */
import { ArgumentError, ShapeError, ValueError } from '../errors';
import { checkPrecision } from '../ops/gemm';
import { PRECISIONS, type Precision } from '../util/options';
import { Generator } from '../random';
import { Tensor, type Device } from '../tensor';

/** How a parameter is initialized. */
export type Init =
  | { kind: 'zeros' }
  | { kind: 'ones' }
  /** U(−bound, bound) */
  | { kind: 'uniform'; bound: number };

/** A trainable tensor: a view into the store's flat parameter buffer, and its gradient view. */
export class Parameter {
  /** Set by the ParameterStore. */
  data!: Tensor<'float32'>;
  grad!: Tensor<'float32'>;
  constructor(
    readonly name: string,
    readonly shape: number[],
    readonly init: Init,
    /** Weight decay applies (off for biases and BatchNorm affine parameters, as is customary). */
    readonly decay: boolean,
    /** LARS trust-ratio adaptation applies (off for biases and BatchNorm, as in SimCLR/BYOL). */
    readonly lars: boolean,
  ) {}
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
}

/** A non-trainable state tensor (BatchNorm running statistics). */
export class Buffer {
  data!: Tensor<'float32'>;
  constructor(
    readonly name: string,
    readonly shape: number[],
    readonly initValue: number,
  ) {}
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
}

export abstract class Module {
  /** Train mode (batch statistics, running-stat updates) or eval mode. */
  training = true;
  protected readonly _params: Parameter[] = [];
  protected readonly _buffers: Buffer[] = [];
  protected readonly _children: Array<[string, Module]> = [];
  /** Device of the store this module was bound to. */
  device: Device = 'cpu';
  /**
   * The arithmetic of this module's gemm products (`Linear` layers; other
   * layers compute in float32 whatever it says): see {@link setPrecision}.
   */
  precision: Precision = 'fp32';

  /** y = f(x). The returned tensor belongs to the module and is overwritten by the next forward. */
  abstract forward(x: Tensor<'float32'>): Tensor<'float32'>;
  /**
   * Given dL/dy for the last forward, accumulates parameter gradients into
   * their `.grad` views and returns dL/dx (owned by the module), or null
   * when `needInputGrad` is false.
   */
  abstract backward(dy: Tensor<'float32'>, needInputGrad?: boolean): Tensor<'float32'> | null;
  /**
   * Shape inference: the sample shape this module outputs for samples of
   * `inShape` (`[F]`, `[C, L]`, `[C, H, W]`; no batch dimension). Throws a
   * ShapeError naming the module and both shapes when it does not take
   * such samples. Allocates nothing and needs no ParameterStore.
   */
  abstract outShape(inShape: readonly number[]): number[];
  /**
   * Output feature count for samples of `inFeatures` features: the element
   * count of `outShape([inFeatures])` (a convenience for flat rows).
   */
  outFeatures(inFeatures: number): number {
    return numelOf(this.outShape([inFeatures]));
  }

  protected parameter(name: string, shape: number[], init: Init, opts: { decay?: boolean; lars?: boolean } = {}): Parameter {
    const p = new Parameter(name, shape, init, opts.decay ?? true, opts.lars ?? true);
    this._params.push(p);
    return p;
  }
  protected buffer(name: string, shape: number[], initValue: number): Buffer {
    const b = new Buffer(name, shape, initValue);
    this._buffers.push(b);
    return b;
  }
  /** Throws unless a ParameterStore has given this module's parameters and buffers their memory. */
  protected requireBound(): void {
    if (this._params.some((p) => !p.data) || this._buffers.some((b) => !b.data))
      throw new ArgumentError(
        `${this.constructor.name}: its parameters have no memory yet; create a store for the model first (new nn.ParameterStore(model))`,
      );
  }
  protected child<M extends Module>(name: string, m: M): M {
    this._children.push([name, m]);
    return m;
  }

  /** Every (qualified name, parameter) of this module tree, in a fixed order. */
  namedParameters(prefix = ''): Array<[string, Parameter]> {
    const out: Array<[string, Parameter]> = this._params.map((p) => [prefix + p.name, p]);
    for (const [n, c] of this._children) out.push(...c.namedParameters(`${prefix}${n}.`));
    return out;
  }
  namedBuffers(prefix = ''): Array<[string, Buffer]> {
    const out: Array<[string, Buffer]> = this._buffers.map((b) => [prefix + b.name, b]);
    for (const [n, c] of this._children) out.push(...c.namedBuffers(`${prefix}${n}.`));
    return out;
  }
  modules(): Module[] {
    return [this, ...this._children.flatMap(([, c]) => c.modules())];
  }

  /**
   * Sets the gemm precision of every module of this tree: `'bf16'` runs the
   * products of its `Linear` layers (forward, and both backward gemms) with
   * bfloat16 inputs and float32 accumulation ({@link Precision}); the
   * parameters, gradients, activations and every other layer stay float32.
   * Whether the device runs it is checked when the store binds the module
   * (`ParameterStore`'s `precision` option) or at the first forward.
   */
  setPrecision(precision: Precision): this {
    if (!PRECISIONS.includes(precision)) throw new ValueError(`precision: expected ${PRECISIONS.map((p) => `'${p}'`).join(' or ')}, got ${JSON.stringify(precision)}`);
    for (const m of this.modules()) m.precision = precision;
    return this;
  }

  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  /** Releases cached activations (they are re-created on the next forward). */
  releaseActivations(): void {
    for (const m of this.modules()) m.dropCache();
  }
  protected dropCache(): void {}

  /** A short description of the architecture (used to check checkpoints). */
  abstract describe(): string;
  /** A fresh, unbound module of the same architecture (for EMA key/target networks). */
  abstract clone(): Module;
}

/**
 * Allocates a tensor once per requested shape and returns the same one
 * while the shape stays the same (activation reuse).
 */
export class Workspace {
  /** Per key, the tensors allocated so far (one per distinct shape and dtype). */
  private readonly slots = new Map<string, Tensor[]>();
  constructor(private readonly device: () => Device) {}
  get(key: string, shape: number[], dtype: 'float32'): Tensor<'float32'>;
  get(key: string, shape: number[], dtype: 'int32'): Tensor<'int32'>;
  get(key: string, shape: number[]): Tensor<'float32'>;
  get(key: string, shape: number[], dtype: 'float32' | 'int32' = 'float32'): Tensor {
    // One slot per (key, shape): training and evaluation batch sizes each
    // keep their own activations instead of reallocating on every switch.
    let list = this.slots.get(key);
    if (!list) this.slots.set(key, (list = []));
    for (const t of list) {
      const s = t.shape;
      if (t.dtype === dtype && s.length === shape.length && s.every((d, i) => d === shape[i]) && !t.disposed) return t;
    }
    const fresh = Tensor.zeros(shape, { dtype, device: this.device() });
    list.push(fresh);
    return fresh;
  }
  clear(): void {
    for (const list of this.slots.values()) for (const t of list) t.dispose();
    this.slots.clear();
  }
}

/** `into`, checked to have `x`'s shape: the caller's buffer a layer's backward writes dL/dx into. */
export function checkInto(into: Tensor<'float32'>, x: Tensor<'float32'>, layer: Module): Tensor<'float32'> {
  if (into.ndim !== x.ndim || into.shape.some((d, i) => d !== x.shape[i]))
    throw new ShapeError(`into: ${layer.describe()} writes dL/dx of shape ${shapeStr(x.shape)}, got a buffer of ${shapeStr(into.shape)}`);
  return into;
}

/** The element count of a shape (1 for `[]`). */
export function numelOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** `[1, 28, 28]`. */
export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Throws a ShapeError naming `who` unless `shape` is a sample shape: a
 * non-empty array of non-negative integers. Every `outShape` checks its
 * argument with it first.
 */
export function checkSampleShape(shape: readonly number[], who: string): void {
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    throw new ShapeError(
      `${who}: expected a sample shape (a non-empty list of non-negative integers, no batch dimension), got ${Array.isArray(shape) ? shapeStr(shape) : String(shape)}`,
    );
}

/**
 * Reshaped views of tensors, made once per (tensor, shape) and reused while
 * the tensor stays the same (a training step feeds a layer the same
 * workspace tensor every time, so it creates no new handles). Holds at most
 * a few; an evicted view is disposed, as are all on `clear()`.
 */
export class ViewCache {
  private readonly entries: Array<{ base: Tensor; view: Tensor }> = [];
  constructor(private readonly capacity = 4) {}
  /** `base.reshape(shape)` (contiguous `base` only). */
  of<D extends 'float32' | 'int32'>(base: Tensor<D>, shape: readonly number[]): Tensor<D> {
    for (const e of this.entries) {
      const s = e.view.shape;
      if (e.base === base && !e.view.disposed && s.length === shape.length && s.every((d, i) => d === shape[i])) return e.view as Tensor<D>;
    }
    const view = base.reshape(shape);
    this.entries.push({ base, view });
    if (this.entries.length > this.capacity) this.entries.shift()!.view.dispose();
    return view;
  }
  clear(): void {
    for (const e of this.entries) e.view.dispose();
    this.entries.length = 0;
  }
}

export function check2d(x: Tensor, features: number, arg: string): number {
  if (x.ndim !== 2) throw new ShapeError(`${arg}: expected a [batch, ${features}] matrix, got [${x.shape.join(', ')}]`);
  if (x.shape[1] !== features)
    throw new ShapeError(`${arg}: expected ${features} features, got ${x.shape[1]} (shape [${x.shape.join(', ')}])`);
  return x.shape[0]!;
}

import type { Segments } from '../ops/optim';

/**
 * The flat buffers of one model: parameters, gradients, buffers. Construct it
 * over a module tree; it binds every Parameter and Buffer to views and runs
 * the initializers from a seeded Philox stream.
 */
export class ParameterStore {
  readonly params: Tensor<'float32'>;
  readonly grads: Tensor<'float32'>;
  readonly buffers: Tensor<'float32'>;
  readonly segments: Segments;
  readonly named: Array<[string, Parameter]>;
  readonly namedBuffers: Array<[string, Buffer]>;

  /**
   * `precision`, when given, sets the module tree's gemm precision
   * (`Module.setPrecision`) once `device` is known to run it (a DeviceError
   * naming `precision` otherwise).
   */
  constructor(
    readonly module: Module,
    options: { seed?: number; device?: Device; precision?: Precision } = {},
  ) {
    const device = options.device ?? 'cpu';
    if (options.precision !== undefined) {
      checkPrecision(options.precision, device);
      module.setPrecision(options.precision);
    }
    this.named = module.namedParameters();
    this.namedBuffers = module.namedBuffers();
    if (this.named.length === 0) throw new ArgumentError('module: has no parameters');
    const total = this.named.reduce((s, [, p]) => s + p.numel, 0);
    const btotal = this.namedBuffers.reduce((s, [, b]) => s + b.numel, 0);
    this.params = Tensor.zeros([total], { device });
    this.grads = Tensor.zeros([total], { device });
    this.buffers = Tensor.zeros([Math.max(btotal, 1)], { device });
    const offsets = new Float64Array(this.named.length + 1);
    const flags = new Uint8Array(this.named.length);
    let off = 0;
    const gen = new Generator(options.seed ?? 0, 0x1417);
    const host = new Float32Array(total);
    this.named.forEach(([, p], i) => {
      offsets[i] = off;
      flags[i] = (p.decay ? 1 : 0) | (p.lars ? 2 : 0);
      p.data = this.params.view(off, p.shape);
      p.grad = this.grads.view(off, p.shape);
      const init = p.init;
      for (let j = 0; j < p.numel; j++)
        host[off + j] = init.kind === 'zeros' ? 0 : init.kind === 'ones' ? 1 : (2 * gen.uniform() - 1) * init.bound;
      off += p.numel;
    });
    offsets[this.named.length] = off;
    this.params.set(host);
    this.segments = { offsets, flags };
    let boff = 0;
    const bhost = new Float32Array(Math.max(btotal, 1));
    for (const [, b] of this.namedBuffers) {
      b.data = this.buffers.view(boff, b.shape);
      bhost.fill(b.initValue, boff, boff + b.numel);
      boff += b.numel;
    }
    this.buffers.set(bhost);
    for (const m of module.modules()) m.device = device;
  }

  get numel(): number {
    return this.params.numel;
  }

  zeroGrad(): void {
    this.grads.fill(0);
  }

  /**
   * Frees the flat buffers now. Every parameter's and buffer's view goes
   * too: a view holds its storage alive, and undisposed views would leave
   * the memory to the garbage collector.
   */
  dispose(): void {
    for (const [, p] of this.named) {
      p.data?.dispose();
      p.grad?.dispose();
    }
    for (const [, b] of this.namedBuffers) b.data?.dispose();
    this.params.dispose();
    this.grads.dispose();
    this.buffers.dispose();
    this.module.releaseActivations();
  }
}
