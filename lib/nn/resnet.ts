/**
 * Residual networks: the `BasicBlock` of He et al. (2016) and the encoders
 * built from it — `resnet18` in the CIFAR form, `resnet20` (He et al.'s
 * CIFAR ResNet) and `resnet1d` for signals.
 *
 * Parameter names are torchvision's (`conv1.weight`, `bn1.running_mean`,
 * `layer1.0.conv1.weight`, `layer2.0.downsample.0.weight`), so an encoder's
 * tensors map one-to-one onto `torchvision.models.resnet18()` with its stem
 * replaced by a 3×3 stride-1 convolution, its max-pool and `fc` by
 * `Identity` (scripts/imix_resnet.py defines them and loads an imix run's encoder.safetensors).
 * @module
 */
import { ShapeError, ValueError } from '../errors';
import * as ops from '../ops/index';
import type { Device, Tensor } from '../tensor';
import { BatchNorm1d, BatchNorm2d } from './batchnorm';
import { Conv1d, Conv2d } from './conv';
import { Flatten, Sequential } from './layers';
import { Module, Workspace, checkSampleShape, shapeStr } from './module';
import { AdaptiveAvgPool1d, AdaptiveAvgPool2d } from './pooling';

/** 1: signals `[C, L]` (Conv1d, BatchNorm1d); 2: images `[C, H, W]` (Conv2d, BatchNorm2d). */
export type SpatialDims = 1 | 2;

function conv(dims: SpatialDims, cin: number, cout: number, k: number, stride: number): Conv1d | Conv2d {
  const o = { stride, padding: (k - 1) >> 1, bias: false };
  return dims === 2 ? new Conv2d(cin, cout, k, o) : new Conv1d(cin, cout, k, o);
}
function norm(dims: SpatialDims, c: number, relu: boolean): BatchNorm1d | BatchNorm2d {
  return dims === 2 ? new BatchNorm2d(c, { relu }) : new BatchNorm1d(c, { relu });
}

/**
 * The input-gradient buffers of BasicBlock backward passes, by role and
 * shape: G (dL/d(h + s)), A and B (alternating along the residual branch; B
 * also holds the block's returned dL/dx). A network's blocks run their
 * backward one after another and each consumes the dL/dy it is given (the
 * next block's B) before writing its own B, so all of them can share one set:
 * three buffers per shape instead of five per block (a resnet20 step at
 * batch 256 keeps ~500 MB less). Sharing is safe between any blocks, so
 * clones share too.
 */
export class BlockGradients {
  private ws: Workspace | null = null;
  private device: Device | null = null;
  /** The buffers on `device` (switching devices frees those of the last one). */
  at(device: Device): Workspace {
    if (!this.ws || this.device !== device) {
      this.ws?.clear();
      this.device = device;
      this.ws = new Workspace(() => device);
    }
    return this.ws;
  }
  clear(): void {
    this.ws?.clear();
  }
}

/**
 * `y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`, 3×3 convolutions
 * (the first with `stride`), the shortcut the identity or, where the shape
 * changes, a 1×1 convolution with `stride` and BatchNorm (`downsample`,
 * He et al.'s option B). The ReLUs are fused into bn1 and into the residual add.
 */
export class BasicBlock extends Module {
  readonly conv1: Conv1d | Conv2d;
  readonly bn1: BatchNorm1d | BatchNorm2d;
  readonly conv2: Conv1d | Conv2d;
  readonly bn2: BatchNorm1d | BatchNorm2d;
  readonly downsample: Sequential | null;
  private readonly ws = new Workspace(() => this.device);
  /** The last forward's output, and its input (conv1's and the shortcut's). */
  private y: Tensor<'float32'> | null = null;
  private x: Tensor<'float32'> | null = null;

  /**
   * `gradients`: the buffers of the backward pass (see {@link BlockGradients});
   * the blocks of one network share one, so that its backward holds three
   * gradient buffers per shape instead of five per block.
   */
  constructor(
    readonly inPlanes: number,
    readonly planes: number,
    readonly stride = 1,
    readonly dims: SpatialDims = 2,
    private readonly gradients = new BlockGradients(),
  ) {
    super();
    if (!Number.isSafeInteger(stride) || stride < 1) throw new ValueError(`stride: expected a positive integer, got ${stride}`);
    this.conv1 = this.child('conv1', conv(dims, inPlanes, planes, 3, stride));
    this.bn1 = this.child('bn1', norm(dims, planes, true));
    this.conv2 = this.child('conv2', conv(dims, planes, planes, 3, 1));
    this.bn2 = this.child('bn2', norm(dims, planes, false));
    this.downsample =
      stride !== 1 || inPlanes !== planes ? this.child('downsample', new Sequential(conv(dims, inPlanes, planes, 1, stride), norm(dims, planes, false))) : null;
  }

  outShape(inShape: readonly number[]): number[] {
    checkSampleShape(inShape, this.describe());
    const main = this.bn2.outShape(this.conv2.outShape(this.bn1.outShape(this.conv1.outShape(inShape))));
    const short = this.downsample ? this.downsample.outShape(inShape) : [...inShape];
    if (main.length !== short.length || main.some((d, i) => d !== short[i]))
      throw new ShapeError(`${this.describe()}: the residual branch gives ${shapeStr(main)} but the shortcut ${shapeStr(short)} for samples ${shapeStr(inShape)}`);
    return main;
  }

  forward(x: Tensor<'float32'>): Tensor<'float32'> {
    const h = this.bn2.forward(this.conv2.forward(this.bn1.forward(this.conv1.forward(x))));
    const s = this.downsample ? this.downsample.forward(x) : x;
    if (s.numel !== h.numel) throw new ShapeError(`x: ${this.describe()} got samples ${shapeStr(x.shape.slice(1))} whose shortcut does not match the residual branch`);
    const y = this.ws.get('y', h.shape);
    ops.addReluForward(h, s, y);
    this.y = y;
    this.x = x;
    return y;
  }

  /**
   * As Module.backward, but the returned dL/dx is one of the buffers the
   * blocks sharing `gradients` reuse: valid until the next backward of any
   * of them (a network's backward consumes it before that).
   */
  backward(dy: Tensor<'float32'>, needInputGrad = true): Tensor<'float32'> | null {
    const y = this.y, x = this.x;
    if (!y || !x) throw new ShapeError('backward: called before forward');
    // The buffers by role (see BlockGradients): G = dL/d(h + s), the join's
    // ReLU, which both branches read; A and B alternate along the residual
    // branch, each written once the layer reading it is done. dy is dead
    // once G holds it, so B may be the buffer dy came in (the next block's B).
    const shared = this.gradients.at(this.device);
    const g = shared.get('G', y.shape);
    ops.reluBackward(dy, y, g);
    const a = shared.get('A', y.shape), b = shared.get('B', y.shape);
    this.bn2.backward(g, true, a);
    this.conv2.backward(a, true, b);
    this.bn1.backward(b, true, a);
    const dx = needInputGrad ? shared.get('B', x.shape) : null;
    this.conv1.backward(a, needInputGrad, dx ?? undefined);
    const ds = this.downsample ? this.downsample.backward(g, needInputGrad) : g;
    if (!dx || !ds) return null;
    ops.axpby(1, ds, 1, dx); // dx += ds
    return dx;
  }

  protected override dropCache(): void {
    this.ws.clear();
    this.gradients.clear();
    this.y = null;
    this.x = null;
  }
  describe(): string {
    return `BasicBlock${this.dims === 1 ? '1d' : ''}(${this.inPlanes}, ${this.planes}${this.stride !== 1 ? `, stride=${this.stride}` : ''})`;
  }
  clone(): BasicBlock {
    return new BasicBlock(this.inPlanes, this.planes, this.stride, this.dims, this.gradients);
  }
}

/** A ResNet layout: stem width and, per stage, (width, blocks, stride). */
interface Layout {
  stem: number;
  stages: Array<[width: number, blocks: number, stride: number]>;
}

/** Channels of a layer of base width `c` at width multiplier `w` (at least 1). */
function scaled(c: number, w: number): number {
  return Math.max(1, Math.round(c * w));
}

function checkResnetArgs(inChannels: number, width: number): void {
  if (!Number.isSafeInteger(inChannels) || inChannels < 1) throw new ValueError(`inChannels: expected a positive integer, got ${inChannels}`);
  if (typeof width !== 'number' || !(width > 0) || !Number.isFinite(width)) throw new ValueError(`width: expected a positive number, got ${width}`);
}

/**
 * stem (3×3 convolution, BatchNorm, ReLU), the stages of BasicBlocks
 * (`layer1`, `layer2`, ...), global average pooling, flatten: samples
 * `[C, H, W]` (or `[C, L]`) → `[features]`, features = the last stage's width.
 */
function resnet(dims: SpatialDims, inChannels: number, layout: Layout): Sequential {
  const parts: Array<[string, Module]> = [
    ['conv1', conv(dims, inChannels, layout.stem, 3, 1)],
    ['bn1', norm(dims, layout.stem, true)],
  ];
  let planes = layout.stem;
  const gradients = new BlockGradients();
  layout.stages.forEach(([w, blocks, stride], i) => {
    const layer: Module[] = [];
    for (let b = 0; b < blocks; b++) {
      layer.push(new BasicBlock(planes, w, b === 0 ? stride : 1, dims, gradients));
      planes = w;
    }
    parts.push([`layer${i + 1}`, new Sequential(...layer)]);
  });
  parts.push(['avgpool', dims === 2 ? new AdaptiveAvgPool2d(1) : new AdaptiveAvgPool1d(1)], ['flatten', new Flatten()]);
  return Sequential.named(parts);
}

/**
 * ResNet-18 in the CIFAR form (3×3 stem, no max-pool): stages of two
 * BasicBlocks at widths 64·w, 128·w, 256·w, 512·w (strides 1, 2, 2, 2);
 * `[C, H, W]` → `[512·w]`. 11.2 M parameters at w = 1 and C = 3.
 */
export function resnet18(inChannels: number, options: { width?: number } = {}): Sequential {
  const w = options.width ?? 1;
  checkResnetArgs(inChannels, w);
  return resnet(2, inChannels, {
    stem: scaled(64, w),
    stages: [[scaled(64, w), 2, 1], [scaled(128, w), 2, 2], [scaled(256, w), 2, 2], [scaled(512, w), 2, 2]],
  });
}

/**
 * ResNet-20 (He et al. 2016, section 4.2): a 16·w stem, three stages of
 * three BasicBlocks at 16·w, 32·w, 64·w (strides 1, 2, 2), 1×1 projection
 * shortcuts where the shape changes; `[C, H, W]` → `[64·w]`. 0.27 M
 * parameters at w = 1: the CPU-sized convolutional encoder.
 */
export function resnet20(inChannels: number, options: { width?: number } = {}): Sequential {
  const w = options.width ?? 1;
  checkResnetArgs(inChannels, w);
  const stages: Layout['stages'] = [[scaled(16, w), 3, 1], [scaled(32, w), 3, 2], [scaled(64, w), 3, 2]];
  return resnet(2, inChannels, { stem: scaled(16, w), stages });
}

/**
 * ResNet-20's layout in one dimension, for signals `[C, L]`: Conv1d and
 * BatchNorm1d, kernel 3, three stages of three blocks at 16·w, 32·w, 64·w
 * (strides 1, 2, 2) → `[64·w]`.
 */
export function resnet1d(inChannels: number, options: { width?: number } = {}): Sequential {
  const w = options.width ?? 1;
  checkResnetArgs(inChannels, w);
  const stages: Layout['stages'] = [[scaled(16, w), 3, 1], [scaled(32, w), 3, 2], [scaled(64, w), 3, 2]];
  return resnet(1, inChannels, { stem: scaled(16, w), stages });
}
