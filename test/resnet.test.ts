// Whole ResNets against PyTorch autograd (test/fixtures/gen_resnet.py wrote
// the reference from scripts/imix_resnet.py's networks): the same parameter
// names and shapes as torch's state_dict, and, from the same state and
// input, the same train-mode features, input and parameter gradients,
// running statistics, and eval-mode features.
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ShapeError, Tensor, ValueError, nn } from '../lib/index';
import { loadSafetensors } from '../lib/io/safetensors';
import { expectClose } from './helpers';

const fx = loadSafetensors(path.join(__dirname, 'fixtures', 'resnet.safetensors'));
const get = (k: string): Float32Array => {
  const t = fx.tensors[k];
  if (!t) throw new Error(`fixture lacks ${k}`);
  return t.data as Float32Array;
};

const CASES: Array<[string, () => nn.Module]> = [
  ['resnet20', () => nn.resnet20(3)],
  ['resnet18', () => nn.resnet18(3, { width: 0.125 })],
  ['resnet1d', () => nn.resnet1d(2, { width: 0.5 })],
];

describe.each(CASES)('%s against PyTorch', (name, build) => {
  it('has torch\'s state_dict names and shapes', () => {
    const net = build();
    const torchNames = JSON.parse(fx.metadata[`${name}.names`]!) as Array<[string, number[]]>;
    const mine = [...net.namedParameters().map(([k, p]) => [k, p.shape]), ...net.namedBuffers().map(([k, b]) => [k, b.shape])];
    const sort = (a: Array<[string, number[]] | (string | number[])[]>) => [...a].map((e) => JSON.stringify(e)).sort();
    expect(sort(mine)).toEqual(sort(torchNames));
    // Parameters in torch's named_parameters() order (the flat buffer's order).
    const torchParams = torchNames.map(([k]) => k).filter((k) => fx.tensors[`${name}.param.${k}`]);
    expect(net.namedParameters().map(([k]) => k)).toEqual(torchParams);
  });

  it('forward, backward and running statistics match autograd; eval features match', () => {
    const net = build();
    const store = new nn.ParameterStore(net);
    try {
      for (const [k, p] of store.named) p.data.set(get(`${name}.param.${k}`));
      for (const [k, b] of store.namedBuffers) b.data.set(get(`${name}.buffer.${k}`));
      const xShape = fx.tensors[`${name}.input`]!.shape;
      const x = Tensor.from(get(`${name}.input`), xShape);
      const y = net.forward(x);
      expect(y.shape).toEqual(fx.tensors[`${name}.train.y`]!.shape);
      expectClose(y.toArray(), get(`${name}.train.y`), { rtol: 1e-4, atol: 1e-5, label: 'train y' });
      const dy = Tensor.from(get(`${name}.dy`), y.shape);
      const dx = net.backward(dy, true)!;
      expect(dx.shape).toEqual(xShape);
      expectClose(dx.toArray(), get(`${name}.train.dx`), { rtol: 1e-3, atol: 1e-5, label: 'dx' });
      for (const [k, p] of store.named) {
        const ref = get(`${name}.grad.${k}`);
        const scale = Math.max(...ref.map(Math.abs));
        expectClose(p.grad.toArray(), ref, { rtol: 1e-3, atol: 1e-4 * scale, label: `grad ${k}` });
      }
      for (const [k, b] of store.namedBuffers) expectClose(b.data.toArray(), get(`${name}.after.${k}`), { rtol: 1e-4, atol: 1e-6, label: `buffer ${k}` });
      net.eval();
      expectClose(net.forward(x).toArray(), get(`${name}.eval.y`), { rtol: 1e-4, atol: 1e-5, label: 'eval y' });
      x.dispose();
      dy.dispose();
    } finally {
      store.dispose();
    }
  });
});

describe('ResNet shapes and bad input', () => {
  it('resnet18 and resnet20 give 512·w and 64·w features; widths scale', () => {
    expect(nn.resnet18(3).outShape([3, 32, 32])).toEqual([512]);
    expect(nn.resnet18(3, { width: 0.5 }).outShape([3, 32, 32])).toEqual([256]);
    expect(nn.resnet20(1).outShape([1, 28, 28])).toEqual([64]);
    expect(nn.resnet20(1, { width: 2 }).outShape([1, 28, 28])).toEqual([128]);
    expect(nn.resnet1d(4).outShape([4, 100])).toEqual([64]);
    const count = (m: nn.Module) => m.namedParameters().reduce((s, [, p]) => s + p.numel, 0);
    // He et al.: ResNet-20 has 0.27 M parameters (ours: 1x1 projection shortcuts add 3.3 k).
    expect(count(nn.resnet20(3))).toBeGreaterThan(0.27e6);
    expect(count(nn.resnet20(3))).toBeLessThan(0.28e6);
    expect(count(nn.resnet18(3))).toBeGreaterThan(11.1e6);
    expect(count(nn.resnet18(3))).toBeLessThan(11.2e6);
  });

  it('a sample shape the network cannot take is a ShapeError naming the layer', () => {
    expect(() => nn.resnet20(3).outShape([784])).toThrow(ShapeError);
    expect(() => nn.resnet20(3).outShape([1, 28, 28])).toThrow(/layer conv1: Conv2d\(3, 16.*expected image samples \[3, H, W\], got \[1, 28, 28\]/);
    expect(() => nn.resnet1d(2).outShape([2, 8, 8])).toThrow(/signal samples \[2, L\]/);
    expect(() => new nn.Conv2d(1, 4, 5).outShape([1, 3, 3])).toThrow(/kernel \(5×5 with dilation\) is larger than the padded input \(3×3\)/);
    expect(() => new nn.MaxPool2d(3).outShape([1, 2, 2])).toThrow(ShapeError);
  });

  it('bad constructor arguments are ValueErrors naming the argument', () => {
    expect(() => new nn.Conv2d(1, 4, 3, { stride: 0 })).toThrow(/stride: expected a positive integer/);
    expect(() => new nn.Conv2d(1, 4, 3, { padding: -1 })).toThrow(/padding: expected a non-negative integer/);
    expect(() => new nn.Conv2d(0, 4, 3)).toThrow(/inChannels/);
    expect(() => new nn.Conv1d(1, 4, 2.5)).toThrow(/kernelSize/);
    expect(() => new nn.MaxPool2d(2, { padding: 2 })).toThrow(/padding: should be at most half/);
    expect(() => new nn.AdaptiveAvgPool2d(2)).toThrow(ValueError);
    expect(() => nn.resnet18(3, { width: 0 })).toThrow(/width/);
  });

  it('a 2-d tensor into a Conv2d, and channel mismatches, are ShapeErrors naming x', () => {
    const conv = new nn.Conv2d(3, 4, 3, { padding: 1 });
    const store = new nn.ParameterStore(conv);
    const flat = Tensor.zeros([2, 27]);
    const wrongC = Tensor.zeros([2, 1, 5, 5]);
    try {
      expect(() => conv.forward(flat)).toThrow(/x: Conv2d\(3, 4.*expects \[N, C, H, W\] images, got \[2, 27\]/);
      expect(() => conv.forward(wrongC)).toThrow(/expected image samples \[3, H, W\], got \[1, 5, 5\]/);
    } finally {
      flat.dispose();
      wrongC.dispose();
      store.dispose();
    }
  });

  it('a backward buffer of the wrong shape is a ShapeError naming into', () => {
    const conv = new nn.Conv2d(2, 4, 3, { padding: 1 });
    const bn = new nn.BatchNorm2d(4);
    const store = new nn.ParameterStore(new nn.Sequential(conv, bn));
    const x = Tensor.zeros([2, 2, 5, 5]), wrong = Tensor.zeros([2, 4, 5, 4]);
    try {
      const y = bn.forward(conv.forward(x));
      expect(() => bn.backward(y, true, wrong)).toThrow(/into: BatchNorm2d\(4.*writes dL\/dx of shape \[2, 4, 5, 5\], got a buffer of \[2, 4, 5, 4\]/);
      expect(() => conv.backward(y, true, wrong)).toThrow(/into: Conv2d\(2, 4.*\[2, 2, 5, 5\], got a buffer of \[2, 4, 5, 4\]/);
    } finally {
      x.dispose();
      wrong.dispose();
      store.dispose();
    }
  });

  it('blocks sharing their gradient buffers give the gradients of blocks with their own', () => {
    // Two stacked blocks of one shape: the second's returned dL/dx is the
    // buffer the first writes its own into (after reading it).
    const make = (shared: boolean) => {
      const g = new nn.BlockGradients();
      return new nn.Sequential(new nn.BasicBlock(4, 4, 1, 2, shared ? g : undefined), new nn.BasicBlock(4, 8, 2, 2, shared ? g : undefined), new nn.BasicBlock(8, 8, 1, 2, shared ? g : undefined));
    };
    const run = (net: nn.Module) => {
      const store = new nn.ParameterStore(net, { seed: 4 });
      const x = Tensor.from(Float32Array.from({ length: 3 * 4 * 6 * 6 }, (_, i) => Math.sin(i * 0.37)), [3, 4, 6, 6]);
      try {
        const y = net.forward(x);
        const dy = Tensor.from(Float32Array.from({ length: y.numel }, (_, i) => Math.cos(i * 0.11)), y.shape);
        const dx = net.backward(dy, true)!.toArray();
        dy.dispose();
        return { dx, grads: store.grads.toArray() };
      } finally {
        x.dispose();
        store.dispose();
      }
    };
    const a = run(make(true)), b = run(make(false));
    expect(a.dx).toEqual(b.dx);
    expect(a.grads).toEqual(b.grads);
    expect(Math.max(...Array.from(a.dx, Math.abs))).toBeGreaterThan(0);
  });
});
