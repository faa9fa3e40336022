/**
 * Pooling (`torch.nn.MaxPool2d`, `AdaptiveAvgPool2d(1)`, `AdaptiveAvgPool1d(1)`).
 * Pooling layers have no parameters. The kernels are lib/ops/pool.ts.
 * @module
 */
import { ShapeError, ValueError } from '../errors';
import * as ops from '../ops/index';
import type { Tensor } from '../tensor';
import { Module, ViewCache, Workspace, checkSampleShape, shapeStr } from './module';

function positiveInt(v: number, arg: string, min = 1): number {
  if (!Number.isSafeInteger(v) || v < min) throw new ValueError(`${arg}: expected ${min === 0 ? 'a non-negative' : 'a positive'} integer, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * Max over k×k windows of `[N, C, H, W]` images, stride s (default k),
 * padding p ≤ k/2 (padded cells never win), floor mode:
 * `Ho = ⌊(H + 2p − k)/s⌋ + 1`. Backward routes dy to each window's first
 * maximum.
 */
export class MaxPool2d extends Module {
  readonly stride: number;
  readonly padding: number;
  private readonly ws = new Workspace(() => this.device);
  private argmax: Tensor<'int32'> | null = null;
  private xShape: readonly number[] = [];

  constructor(
    readonly kernelSize: number,
    options: { stride?: number; padding?: number } = {},
  ) {
    super();
    positiveInt(kernelSize, 'kernelSize');
    this.padding = positiveInt(options.padding ?? 0, 'padding', 0);
    this.stride = positiveInt(options.stride ?? kernelSize, 'stride');
    if (2 * this.padding > kernelSize) throw new ValueError(`padding: should be at most half the kernel size (${kernelSize}), got ${this.padding}`);
  }
  private get opts() {
    return { kernelSize: this.kernelSize, stride: this.stride, padding: this.padding };
  }
  outShape(inShape: readonly number[]): number[] {
    checkSampleShape(inShape, this.describe());
    if (inShape.length !== 3) throw new ShapeError(`${this.describe()}: expected image samples [C, H, W], got ${shapeStr(inShape)}`);
    const [C, H, W] = inShape as [number, number, number];
    const out = (n: number) => Math.floor((n + 2 * this.padding - this.kernelSize) / this.stride) + 1;
    if (out(H) < 1 || out(W) < 1)
      throw new ShapeError(`${this.describe()}: the ${this.kernelSize}×${this.kernelSize} window is larger than the padded input (${H + 2 * this.padding}×${W + 2 * this.padding}) of samples ${shapeStr(inShape)}`);
    return [C, out(H), out(W)];
  }
  forward(x: Tensor<'float32'>): Tensor<'float32'> {
    if (x.ndim !== 4) throw new ShapeError(`x: ${this.describe()} expects [N, C, H, W] images, got ${shapeStr(x.shape)}`);
    const shape = [x.shape[0]!, ...this.outShape(x.shape.slice(1))];
    const y = this.ws.get('y', shape);
    this.argmax = this.ws.get('argmax', shape, 'int32');
    ops.maxpool2dForward(x, y, this.argmax, this.opts);
    this.xShape = x.shape;
    return y;
  }
  backward(dy: Tensor<'float32'>, needInputGrad = true): Tensor<'float32'> | null {
    if (!this.argmax) throw new ShapeError('backward: called before forward');
    if (!needInputGrad) return null;
    const dx = this.ws.get('dx', [...this.xShape]);
    ops.maxpool2dBackward(dy, this.argmax, dx, this.opts);
    return dx;
  }
  protected override dropCache(): void {
    this.ws.clear();
    this.argmax = null;
  }
  describe(): string {
    return `MaxPool2d(kernel_size=${this.kernelSize}, stride=${this.stride}${this.padding ? `, padding=${this.padding}` : ''})`;
  }
  clone(): MaxPool2d {
    return new MaxPool2d(this.kernelSize, { stride: this.stride, padding: this.padding });
  }
}

/**
 * Global average pooling: the mean over every spatial position, `[C, ...spatial]`
 * → `[C, 1, ...]` (the adaptive pool of output size 1, as ResNets end with).
 */
abstract class GlobalAvgPool extends Module {
  private readonly ws = new Workspace(() => this.device);
  private readonly views = new ViewCache();
  private xShape: readonly number[] | null = null;
  protected abstract readonly dims: 1 | 2;

  constructor(outputSize: number | [number, number]) {
    super();
    const ones = typeof outputSize === 'number' ? outputSize === 1 : Array.isArray(outputSize) && outputSize.every((v) => v === 1);
    if (!ones) throw new ValueError(`outputSize: only 1 (global average pooling) is implemented, got ${JSON.stringify(outputSize)}`);
  }
  outShape(inShape: readonly number[]): number[] {
    checkSampleShape(inShape, this.describe());
    if (inShape.length !== this.dims + 1) throw new ShapeError(`${this.describe()}: expected samples [C, ${this.dims === 2 ? 'H, W' : 'L'}], got ${shapeStr(inShape)}`);
    if (inShape.slice(1).some((d) => d < 1)) throw new ShapeError(`${this.describe()}: samples ${shapeStr(inShape)} have no positions to average`);
    return [inShape[0]!, ...Array<number>(this.dims).fill(1)];
  }
  forward(x: Tensor<'float32'>): Tensor<'float32'> {
    if (x.ndim !== this.dims + 2) throw new ShapeError(`x: ${this.describe()} expects [N, C, ${this.dims === 2 ? 'H, W' : 'L'}], got ${shapeStr(x.shape)}`);
    const outShape = [x.shape[0]!, ...this.outShape(x.shape.slice(1))];
    const y = this.ws.get('y', [x.shape[0]!, x.shape[1]!]);
    ops.avgpoolGlobalForward(x, y);
    this.xShape = x.shape;
    return this.views.of(y, outShape);
  }
  backward(dy: Tensor<'float32'>, needInputGrad = true): Tensor<'float32'> | null {
    const s = this.xShape;
    if (!s) throw new ShapeError('backward: called before forward');
    if (!needInputGrad) return null;
    if (dy.numel !== s[0]! * s[1]!) throw new ShapeError(`dy: expected [${s[0]}, ${s[1]}, ...1] (the last forward's output), got ${shapeStr(dy.shape)}`);
    const dx = this.ws.get('dx', [...s]);
    ops.avgpoolGlobalBackward(this.views.of(dy, [s[0]!, s[1]!]), dx);
    return dx;
  }
  protected override dropCache(): void {
    this.ws.clear();
    this.views.clear();
    this.xShape = null;
  }
}

/** `torch.nn.AdaptiveAvgPool2d(1)`: `[C, H, W]` → `[C, 1, 1]`. */
export class AdaptiveAvgPool2d extends GlobalAvgPool {
  protected readonly dims = 2;
  constructor(outputSize: number | [number, number] = 1) {
    super(outputSize);
  }
  describe(): string {
    return 'AdaptiveAvgPool2d(1)';
  }
  clone(): AdaptiveAvgPool2d {
    return new AdaptiveAvgPool2d(1);
  }
}

/** `torch.nn.AdaptiveAvgPool1d(1)`: `[C, L]` → `[C, 1]`. */
export class AdaptiveAvgPool1d extends GlobalAvgPool {
  protected readonly dims = 1;
  constructor(outputSize = 1) {
    super(outputSize);
  }
  describe(): string {
    return 'AdaptiveAvgPool1d(1)';
  }
  clone(): AdaptiveAvgPool1d {
    return new AdaptiveAvgPool1d(1);
  }
}
