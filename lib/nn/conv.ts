/**
 * Convolutions (`torch.nn.Conv1d`, `torch.nn.Conv2d`): NCL / NCHW batches,
 * PyTorch's weight layout `[Cout, Cin, k]` / `[Cout, Cin, kh, kw]` and
 * initialization (weight and bias U(±1/√fan_in), fan_in = Cin·kh·kw), zero
 * padding, stride and dilation. The kernels are lib/ops/conv.ts.
 * @module
 */
import { ShapeError, ValueError } from '../errors';
import * as ops from '../ops/index';
import type { Tensor } from '../tensor';
import { Module, Workspace, checkInto, checkSampleShape, shapeStr, type Parameter } from './module';
import { scratch } from './scratch';

/** A size per spatial axis: one number for all, or one per axis (`[h, w]`). */
export type Size2 = number | [number, number];

/** Options of Conv1d and Conv2d (`torch.nn` names and defaults). */
export interface ConvOptions<S = Size2> {
  /** Default 1. */
  stride?: S;
  /** Zero padding on each side; default 0. */
  padding?: S;
  /** Default 1. */
  dilation?: S;
  /** Learnable bias; default true. */
  bias?: boolean;
}

/** `[v, v]` for a number, the pair as given otherwise, each checked: an integer ≥ min. */
function pair(v: Size2, arg: string, min: number): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : Array.isArray(v) && v.length === 2 ? [v[0], v[1]] : [NaN, NaN];
  if (!p.every((d) => Number.isSafeInteger(d) && d >= min))
    throw new ValueError(`${arg}: expected ${min === 0 ? 'a non-negative' : 'a positive'} integer or a pair of them, got ${JSON.stringify(v)}`);
  return p;
}

/**
 * What Conv1d and Conv2d share: the parameters, shape inference and the
 * forward/backward calls; `dims` says which kernels (1: signals, 2: images).
 */
abstract class ConvNd extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  /** Per spatial axis ([h, w]; a 1-d convolution uses index 1 only, index 0 is the unit axis). */
  protected readonly k: [number, number];
  protected readonly s: [number, number];
  protected readonly p: [number, number];
  protected readonly d: [number, number];
  private readonly ws = new Workspace(() => this.device);
  private x: Tensor<'float32'> | null = null;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernel: [number, number],
    stride: [number, number],
    padding: [number, number],
    dilation: [number, number],
    bias: boolean,
  ) {
    super();
    for (const [v, arg] of [[inChannels, 'inChannels'], [outChannels, 'outChannels']] as const)
      if (!Number.isSafeInteger(v) || v < 1) throw new ValueError(`${arg}: expected a positive integer, got ${v}`);
    [this.k, this.s, this.p, this.d] = [kernel, stride, padding, dilation];
    const fanIn = inChannels * kernel[0] * kernel[1];
    const bound = 1 / Math.sqrt(fanIn);
    this.weight = this.parameter('weight', [outChannels, inChannels, ...this.kernelShape()], { kind: 'uniform', bound });
    this.bias = bias ? this.parameter('bias', [outChannels], { kind: 'uniform', bound }, { decay: false, lars: false }) : null;
  }

  /** The weight's trailing dimensions: `[k]` or `[kh, kw]`. */
  protected abstract kernelShape(): number[];
  protected abstract readonly dims: 1 | 2;
  /** The kernels' options for this layer. */
  protected abstract opts(): { stride: Size2; padding: Size2; dilation: Size2 };

  /** Output extent along spatial axis `a` (0: H, 1: W / L) for input extent `n`; < 1 when the kernel does not fit. */
  private outSize(n: number, a: 0 | 1): number {
    const span = this.d[a] * (this.k[a] - 1) + 1;
    return span > n + 2 * this.p[a] ? 0 : ops.convOutSize(n, this.k[a], this.s[a], this.p[a], this.d[a]);
  }

  /** Output sample shape for `[C, ...spatial]`; throws a ShapeError naming the layer and the shape. */
  outShape(inShape: readonly number[]): number[] {
    checkSampleShape(inShape, this.describe());
    const what = this.dims === 2 ? `image samples [${this.inChannels}, H, W]` : `signal samples [${this.inChannels}, L]`;
    if (inShape.length !== this.dims + 1 || inShape[0] !== this.inChannels)
      throw new ShapeError(`${this.describe()}: expected ${what}, got ${shapeStr(inShape)}`);
    const spatial = this.dims === 2 ? ([inShape[1]!, inShape[2]!] as const) : ([1, inShape[1]!] as const);
    const out = [this.outSize(spatial[0], 0), this.outSize(spatial[1], 1)];
    if (out[0]! < 1 || out[1]! < 1) {
      const ext = (a: 0 | 1) => this.d[a] * (this.k[a] - 1) + 1;
      const padded = (a: 0 | 1) => spatial[a] + 2 * this.p[a];
      const [kd, pd] = this.dims === 2 ? [`${ext(0)}×${ext(1)}`, `${padded(0)}×${padded(1)}`] : [`${ext(1)}`, `${padded(1)}`];
      throw new ShapeError(`${this.describe()}: the kernel (${kd} with dilation) is larger than the padded input (${pd}) of samples ${shapeStr(inShape)}`);
    }
    return this.dims === 2 ? [this.outChannels, out[0]!, out[1]!] : [this.outChannels, out[1]!];
  }

  forward(x: Tensor<'float32'>): Tensor<'float32'> {
    this.requireBound();
    if (x.ndim !== this.dims + 2)
      throw new ShapeError(`x: ${this.describe()} expects ${this.dims === 2 ? '[N, C, H, W] images' : '[N, C, L] signals'}, got ${shapeStr(x.shape)}`);
    const outShape = this.outShape(x.shape.slice(1));
    const y = this.ws.get('y', [x.shape[0]!, ...outShape]);
    const o = this.opts();
    if (this.dims === 2) ops.conv2dForward(x, this.weight.data, this.bias?.data ?? null, y, this.scratch(x), o);
    else ops.conv1dForward(x, this.weight.data, this.bias?.data ?? null, y, this.scratch(x), o as ConvOptions<number>);
    this.x = x;
    return y;
  }

  /** As Module.backward; `into`, when given, receives dL/dx instead of the layer's own buffer (x's shape). */
  backward(dy: Tensor<'float32'>, needInputGrad = true, into?: Tensor<'float32'>): Tensor<'float32'> | null {
    const x = this.x;
    if (!x) throw new ShapeError('backward: called before forward');
    const o = this.opts();
    const ws = this.scratch(x);
    const b = this.bias?.grad ?? null;
    if (this.dims === 2) ops.conv2dBackwardWeight(dy, x, this.weight.grad, b, ws, { ...o, accumulate: true });
    else ops.conv1dBackwardWeight(dy, x, this.weight.grad, b, ws, { ...(o as ConvOptions<number>), accumulate: true });
    if (!needInputGrad) return null;
    const dx = into ? checkInto(into, x, this) : this.ws.get('dx', x.shape);
    if (this.dims === 2) ops.conv2dBackwardData(dy, this.weight.data, dx, ws, o);
    else ops.conv1dBackwardData(dy, this.weight.data, dx, ws, o as ConvOptions<number>);
    return dx;
  }

  /** The shared scratch this layer's kernels need for batches like `x`. */
  private scratch(x: Tensor<'float32'>): Tensor<'float32'> | null {
    const o = this.opts();
    const n = this.dims === 2 ? ops.conv2dWorkspaceFloats(x, this.weight.data, o) : ops.conv1dWorkspaceFloats(x, this.weight.data, o as ConvOptions<number>);
    return scratch(this.device, n);
  }

  protected override dropCache(): void {
    this.ws.clear();
    this.x = null;
  }

  /** `3, 16, kernel_size=3, stride=2, padding=1` in PyTorch's repr style (defaults left out). */
  protected describeArgs(axes: Array<0 | 1>): string {
    const f = (v: [number, number]) => (axes.length === 1 ? String(v[axes[0]!]) : `(${v[0]}, ${v[1]})`);
    const parts = [`${this.inChannels}, ${this.outChannels}, kernel_size=${f(this.k)}`];
    if (this.s.some((v) => v !== 1)) parts.push(`stride=${f(this.s)}`);
    if (this.p.some((v) => v !== 0)) parts.push(`padding=${f(this.p)}`);
    if (this.d.some((v) => v !== 1)) parts.push(`dilation=${f(this.d)}`);
    if (!this.bias) parts.push('bias=False');
    return parts.join(', ');
  }
}

/** 2-d convolution over `[N, C, H, W]` images: weight `[outChannels, inChannels, kh, kw]`. */
export class Conv2d extends ConvNd {
  protected readonly dims = 2;
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: Size2,
    readonly options: ConvOptions = {},
  ) {
    super(
      inChannels,
      outChannels,
      pair(kernelSize, 'kernelSize', 1),
      pair(options.stride ?? 1, 'stride', 1),
      pair(options.padding ?? 0, 'padding', 0),
      pair(options.dilation ?? 1, 'dilation', 1),
      options.bias ?? true,
    );
  }
  protected kernelShape(): number[] {
    return [this.k[0], this.k[1]];
  }
  protected opts(): { stride: Size2; padding: Size2; dilation: Size2 } {
    return { stride: this.s, padding: this.p, dilation: this.d };
  }
  describe(): string {
    return `Conv2d(${this.describeArgs([0, 1])})`;
  }
  clone(): Conv2d {
    return new Conv2d(this.inChannels, this.outChannels, [this.k[0], this.k[1]], { ...this.options });
  }
}

/** 1-d convolution over `[N, C, L]` signals: weight `[outChannels, inChannels, k]`. */
export class Conv1d extends ConvNd {
  protected readonly dims = 1;
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: number,
    readonly options: ConvOptions<number> = {},
  ) {
    const one = (v: number, arg: string, min: number): [number, number] => [1, pair(v, arg, min)[0]];
    super(
      inChannels,
      outChannels,
      one(kernelSize, 'kernelSize', 1),
      one(options.stride ?? 1, 'stride', 1),
      [0, pair(options.padding ?? 0, 'padding', 0)[0]],
      one(options.dilation ?? 1, 'dilation', 1),
      options.bias ?? true,
    );
  }
  protected kernelShape(): number[] {
    return [this.k[1]];
  }
  protected opts(): { stride: number; padding: number; dilation: number } {
    return { stride: this.s[1], padding: this.p[1], dilation: this.d[1] };
  }
  describe(): string {
    return `Conv1d(${this.describeArgs([1])})`;
  }
  clone(): Conv1d {
    return new Conv1d(this.inChannels, this.outChannels, this.k[1], { ...this.options });
  }
}
