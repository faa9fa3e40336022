import { describe, expect, it } from 'vitest';
import { ArgumentError, ShapeError, Tensor, ValueError, nn, optim } from '../lib/index';
import { expectClose, randn } from './helpers';

describe('ParameterStore', () => {
  it('a module used before a store gives its parameters memory is a clear error', () => {
    const x = Tensor.zeros([4, 3]);
    expect(() => new nn.Linear(3, 2).forward(x)).toThrow(/Linear: its parameters have no memory yet; create a store/);
    expect(() => new nn.BatchNorm1d(3).forward(x)).toThrow(ArgumentError);
    const net = nn.mlp([3, 2]);
    expect(() => net.forward(x)).toThrow(ArgumentError);
    new nn.ParameterStore(net);
    expect(net.forward(x).shape).toEqual([4, 2]);
  });
  it('lays every parameter out in one flat buffer with optimizer flags per segment', () => {
    const net = nn.mlp([6, 8, 4]); // Linear(6,8,nobias) BN(8) ReLU Linear(8,4)
    const store = new nn.ParameterStore(net, { seed: 3 });
    const names = store.named.map(([n]) => n);
    expect(names).toEqual(['0.weight', '1.weight', '1.bias', '3.weight', '3.bias']);
    expect(store.numel).toBe(48 + 8 + 8 + 32 + 4);
    expect(Array.from(store.segments.offsets)).toEqual([0, 48, 56, 64, 96, 100]);
    // weights: decay + LARS; BN and biases: neither
    expect(Array.from(store.segments.flags)).toEqual([3, 0, 0, 3, 0]);
    const [, w] = store.named[0]!;
    expect(w.data.sharesStorage(store.params)).toBe(true);
    expect(w.grad.sharesStorage(store.grads)).toBe(true);
    // PyTorch's init: U(±1/√in) for Linear, ones/zeros for BN
    const p = store.params.toArray();
    for (let i = 0; i < 48; i++) expect(Math.abs(p[i]!)).toBeLessThanOrEqual(1 / Math.sqrt(6));
    expect(Array.from(p.subarray(48, 56))).toEqual(new Array(8).fill(1));
    expect(Array.from(p.subarray(56, 64))).toEqual(new Array(8).fill(0));
    // running_var starts at 1, running_mean at 0
    expect(Array.from(store.buffers.toArray())).toEqual([...new Array(8).fill(0), ...new Array(8).fill(1)]);
    // the same seed gives the same init
    const again = new nn.ParameterStore(nn.mlp([6, 8, 4]), { seed: 3 });
    expect(Array.from(again.params.toArray())).toEqual(Array.from(p));
    store.dispose();
    again.dispose();
  });

  it('Linear forward/backward match a loop, gradients accumulate, activations are reused', () => {
    const lin = new nn.Linear(5, 3);
    const store = new nn.ParameterStore(lin, { seed: 1 });
    const x = Tensor.from(randn(4 * 5, 2), [4, 5]);
    const y1 = lin.forward(x);
    const y2 = lin.forward(x);
    expect(y1).toBe(y2); // same workspace tensor for the same shape
    const W = lin.weight.data.toArray(), b = lin.bias!.data.toArray(), xv = x.toArray();
    const ref = new Float32Array(12);
    for (let i = 0; i < 4; i++) for (let o = 0; o < 3; o++) {
      let s = b[o]!;
      for (let k = 0; k < 5; k++) s += xv[i * 5 + k]! * W[o * 5 + k]!;
      ref[i * 3 + o] = s;
    }
    expectClose(y1.toArray(), ref, { rtol: 1e-5 });
    store.zeroGrad();
    const dy = Tensor.full([4, 3], 1);
    lin.backward(dy, false);
    lin.backward(dy, false);
    // db = 2 · Σ_rows dy = 8 per output
    expect(Array.from(lin.bias!.grad.toArray())).toEqual([8, 8, 8]);
    store.dispose();
  });

  it('Sequential.named, clone and describe keep the architecture', () => {
    const a = nn.Sequential.named([['encoder', nn.mlp([4, 8], { lastActivation: true })], ['head', new nn.Linear(8, 2)]]);
    const b = a.clone();
    expect(b.describe()).toBe(a.describe());
    expect(a.describe()).toMatch(/^Sequential\(encoder=Sequential\(Linear\(4, 8, bias=false\), BatchNorm1d\(8\), ReLU\), head=Linear\(8, 2\)\)$/);
    expect(a.namedParameters().map(([n]) => n)).toEqual(['encoder.0.weight', 'encoder.1.weight', 'encoder.1.bias', 'head.weight', 'head.bias']);
    expect(() => a.get('nope')).toThrow(ValueError);
  });

  it('the tabular encoder preset is the paper\'s 5 layers + maxout 4', () => {
    const enc = nn.tabularEncoder(20);
    expect(enc.outFeatures(20)).toBe(2048);
    expect(enc.describe()).toContain('Linear(4096, 8192, bias=false)');
    expect(enc.describe()).toContain('Maxout(4)');
    expect(nn.tabularEncoder(20, { scale: 0.125 }).outFeatures(20)).toBe(256);
  });

  it('rejects mismatched inputs and bad widths', () => {
    const lin = new nn.Linear(5, 3);
    const store = new nn.ParameterStore(lin);
    expect(() => lin.forward(Tensor.zeros([2, 4]))).toThrow(/x: expected 5 features, got 4/);
    expect(() => nn.mlp([4])).toThrow(/widths/);
    expect(() => new nn.Linear(0, 3)).toThrow(/inFeatures/);
    const bn = new nn.BatchNorm1d(3);
    const s2 = new nn.ParameterStore(bn);
    expect(() => bn.forward(Tensor.zeros([1, 3]))).toThrow(/more than 1 value per channel in training mode/);
    expect(() => nn.tabularEncoder(4).outFeatures(5)).toThrow(ShapeError);
    store.dispose();
    s2.dispose();
  });
});

describe('sample shapes', () => {
  const C = 2, H = 3, W = 4, L = 5;
  it('outShape flows through Sequential for [F], [C, L] and [C, H, W] samples', () => {
    const net = nn.mlp([C * H * W, 16, 8]);
    expect(net.outShape([C * H * W])).toEqual([8]);
    // Linear flattens its samples: an MLP built for F = C·H·W takes images as they are
    expect(net.outShape([C, H, W])).toEqual([8]);
    expect(net.outFeatures(C * H * W)).toBe(8);
    const signal = new nn.Sequential(new nn.ReLU(), new nn.Flatten(), new nn.Linear(C * L, 8), new nn.BatchNorm1d(8), new nn.ReLU(), new nn.Maxout(2));
    expect(signal.outShape([C, L])).toEqual([4]);
    // each layer's own shape map
    expect(new nn.ReLU().outShape([C, H, W])).toEqual([C, H, W]);
    expect(new nn.ReLU().outShape([C, L])).toEqual([C, L]);
    expect(new nn.Flatten().outShape([C, H, W])).toEqual([C * H * W]);
    expect(new nn.Flatten().outShape([7])).toEqual([7]);
    expect(new nn.Maxout(4).outShape([12])).toEqual([3]);
    expect(new nn.BatchNorm1d(6).outShape([6])).toEqual([6]);
    expect(new nn.Linear(C * L, 3).outShape([C, L])).toEqual([3]);
    const named = nn.Sequential.named([
      ['encoder', new nn.Sequential(new nn.ReLU(), new nn.Flatten(), new nn.Linear(C * H * W, 8))],
      ['head', new nn.Linear(8, 2)],
    ]);
    expect(named.outShape([C, H, W])).toEqual([2]);
    expect(nn.tabularEncoder(20, { scale: 0.125 }).outShape([4, 5])).toEqual([256]);
    // outShape does not keep or alter its argument
    const s = [C, H, W];
    expect(new nn.ReLU().outShape(s)).not.toBe(s);
    expect(s).toEqual([C, H, W]);
  });

  it('outFeatures(F) is the element count of outShape([F]) for every layer', () => {
    const layers: Array<[nn.Module, number]> = [
      [new nn.Linear(6, 3), 6],
      [new nn.BatchNorm1d(5), 5],
      [new nn.ReLU(), 9],
      [new nn.Maxout(3), 9],
      [new nn.Flatten(), 9],
      [nn.mlp([6, 8, 4]), 6],
      [nn.tabularEncoder(10, { scale: 0.125 }), 10],
    ];
    for (const [m, f] of layers) expect(m.outFeatures(f)).toBe(m.outShape([f]).reduce((a, b) => a * b, 1));
  });

  it('a layer that does not take its input shape throws a ShapeError naming the layer and the shapes', () => {
    const net = nn.mlp([C * H * W, 16, 8]);
    expect(() => net.outShape([3, H, W])).toThrow(ShapeError);
    expect(() => net.outShape([3, H, W])).toThrow(/^layer 0: Linear\(24, 16, bias=false\): expected 24 input features, got \[3, 3, 4\] \(36 values\)$/);
    expect(() => new nn.Linear(784, 10).outShape([1, 28, 29])).toThrow(/^Linear\(784, 10\): expected 784 input features, got \[1, 28, 29\] \(812 values\)$/);
    expect(() => new nn.Linear(5, 2).outFeatures(4)).toThrow(/^Linear\(5, 2\): expected 5 input features, got \[4\]$/);
    expect(() => new nn.Sequential(new nn.Linear(6, 8), new nn.BatchNorm1d(4)).outShape([6])).toThrow(/^layer 1: BatchNorm1d\(4\): expected samples \[4\] or \[4, L\], got \[8\]$/);
    // BatchNorm1d over [C, L]: per-channel statistics, as PyTorch; images are BatchNorm2d's
    expect(new nn.BatchNorm1d(C).outShape([C, L])).toEqual([C, L]);
    expect(() => new nn.BatchNorm1d(C).outShape([C, H, W])).toThrow(/^BatchNorm1d\(2\): expected samples \[2\] or \[2, L\], got \[2, 3, 4\] \(BatchNorm2d takes \[C, H, W\] images\)$/);
    expect(() => new nn.Maxout(2).outShape([C, L])).toThrow(/^Maxout\(2\): expected flat samples \[F\], got \[2, 5\] \(Flatten first\)$/);
    expect(() => new nn.Maxout(4).outShape([6])).toThrow(/^Maxout\(4\): 6 features do not split into groups of 4/);
    // nested Sequentials give the qualified name, as parameter names do
    const named = nn.Sequential.named([
      ['encoder', new nn.Sequential(new nn.Flatten(), new nn.Linear(C * H * W, 8), new nn.ReLU())],
      ['head', nn.mlp([6, 2])],
    ]);
    expect(() => named.outShape([C, H, W])).toThrow(/^layer head\.0: Linear\(6, 2\): expected 6 input features, got \[8\]$/);
    expect(() => named.outShape([C, H, 5])).toThrow(/^layer encoder\.1: Linear\(24, 8\): expected 24 input features, got \[30\]$/);
    // not a sample shape at all
    for (const bad of [[], [2.5], [-1, 3], 'x' as never])
      expect(() => new nn.ReLU().outShape(bad)).toThrow(/^ReLU: expected a sample shape \(a non-empty list of non-negative integers, no batch dimension\)/);
    expect(() => new nn.Linear(3, 2).outShape([])).toThrow(ShapeError);
  });

  it('Flatten forward/backward match a plain loop and reuse their views', () => {
    const N = 3, F = C * H * W;
    const flat = new nn.Flatten();
    const xv = randn(N * F, 11);
    const x = Tensor.from(xv, [N, C, H, W]);
    const y = flat.forward(x);
    expect(y.shape).toEqual([N, F]);
    const want = new Float32Array(N * F);
    for (let n = 0; n < N; n++)
      for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) want[n * F + (c * H + h) * W + w] = xv[((n * C + c) * H + h) * W + w]!;
    expect(Array.from(y.toArray())).toEqual(Array.from(want));
    expect(flat.forward(x)).toBe(y); // the same view for the same batch
    const dyv = randn(N * F, 12);
    const dy = Tensor.from(dyv, [N, F]);
    const dx = flat.backward(dy)!;
    expect(dx.shape).toEqual([N, C, H, W]);
    const wantDx = new Float32Array(N * F);
    for (let n = 0; n < N; n++)
      for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) wantDx[((n * C + c) * H + h) * W + w] = dyv[n * F + (c * H + h) * W + w]!;
    expect(Array.from(dx.toArray())).toEqual(Array.from(wantDx));
    expect(flat.backward(dy)).toBe(dx);
    expect(flat.backward(dy, false)).toBeNull();
    expect(() => flat.backward(Tensor.zeros([N, F + 1]))).toThrow(/^dy: expected \[3, 24\] \(the last forward's output\), got \[3, 25\]$/);
    // flat batches pass through
    const x2 = Tensor.zeros([N, 5]);
    expect(flat.forward(x2)).toBe(x2);
    expect(flat.backward(x2)).toBe(x2);
    expect(() => flat.forward(Tensor.zeros([5]))).toThrow(/^x: expected a batch \[N, \.\.\.sample\], got \[5\]$/);
    expect(() => new nn.Flatten().backward(dy)).toThrow(/called before forward/);
    expect(flat.describe()).toBe('Flatten');
    expect(flat.clone().describe()).toBe('Flatten');
    flat.releaseActivations();
    expect(y.disposed).toBe(true);
    expect(x.disposed).toBe(false);
  });

  it('Linear on [N, C, H, W] batches is Linear on their flat view; dx comes back in the input shape', () => {
    const N = 4, F = C * H * W;
    const a = new nn.Linear(F, 3), b = new nn.Sequential(new nn.Flatten(), new nn.Linear(F, 3));
    const sa = new nn.ParameterStore(a, { seed: 5 }), sb = new nn.ParameterStore(b, { seed: 5 });
    const xv = randn(N * F, 13), dyv = randn(N * 3, 14);
    const x4 = Tensor.from(xv, [N, C, H, W]), x2 = Tensor.from(xv, [N, F]), dy = Tensor.from(dyv, [N, 3]);
    const ref = new nn.Linear(F, 3);
    const sr = new nn.ParameterStore(ref, { seed: 5 });
    const want = ref.forward(x2).toArray();
    sr.zeroGrad();
    const wantDx = ref.backward(dy)!.toArray();
    const wantGrad = sr.grads.toArray();
    for (const [m, s] of [[a, sa], [b, sb]] as const) {
      const y = m.forward(x4);
      expect(y.shape).toEqual([N, 3]);
      expect(Array.from(y.toArray())).toEqual(Array.from(want));
      s.zeroGrad();
      const dx = m.backward(dy)!;
      expect(dx.shape).toEqual([N, C, H, W]);
      expect(Array.from(dx.toArray())).toEqual(Array.from(wantDx));
      expect(Array.from(s.grads.toArray())).toEqual(Array.from(wantGrad));
      expect(m.forward(x4)).toBe(y);
    }
    expect(() => a.forward(Tensor.zeros([N, C, H, 5]))).toThrow(/^x: expected 24 features, got 30 per sample \(shape \[4, 2, 3, 5\]\)$/);
    // a [N, C, L] batch through ReLU (shape kept) and an MLP
    const net = new nn.Sequential(new nn.ReLU(), nn.mlp([C * L, 6, 2]));
    const sn = new nn.ParameterStore(net, { seed: 1 });
    const xs = Tensor.from(randn(N * C * L, 15), [N, C, L]);
    expect(net.forward(xs).shape).toEqual([N, ...net.outShape([C, L])]);
    expect(net.backward(Tensor.full([N, 2], 1))!.shape).toEqual([N, C, L]);
    for (const s of [sa, sb, sr, sn]) s.dispose();
  });

  it('Flatten adds no parameters and keeps existing architectures\' descriptions', () => {
    expect(nn.mlp([4, 8, 2]).describe()).toBe('Sequential(Linear(4, 8, bias=false), BatchNorm1d(8), ReLU, Linear(8, 2))');
    const withFlatten = new nn.Sequential(new nn.Flatten(), new nn.Linear(4, 2));
    expect(withFlatten.describe()).toBe('Sequential(Flatten, Linear(4, 2))');
    expect(withFlatten.namedParameters().map(([n]) => n)).toEqual(['1.weight', '1.bias']);
  });
});

describe('optimizers and schedules', () => {
  it('warmupCosine ramps linearly then decays to the final value', () => {
    const f = optim.warmupCosine({ baseLr: 1, totalSteps: 110, warmupSteps: 10, finalLr: 0.1 });
    expect(f(0)).toBeCloseTo(0.1);
    expect(f(9)).toBeCloseTo(1);
    expect(f(10)).toBeCloseTo(1);
    expect(f(60)).toBeCloseTo(0.55);
    expect(f(110)).toBeCloseTo(0.1);
    expect(() => optim.warmupCosine({ baseLr: 1, totalSteps: 0 })).toThrow(/totalSteps/);
  });
  it('emaMomentum rises from m0 to 1 on a cosine', () => {
    expect(optim.emaMomentum(0.996, 0, 100)).toBeCloseTo(0.996);
    expect(optim.emaMomentum(0.996, 50, 100)).toBeCloseTo(0.998);
    expect(optim.emaMomentum(0.996, 100, 100)).toBe(1);
  });
  it('SGD over a store applies the segment flags (no decay on BN/bias)', () => {
    const net = nn.mlp([3, 4, 2]);
    const store = new nn.ParameterStore(net, { seed: 2 });
    const before = store.params.toArray();
    store.zeroGrad();
    const opt = new optim.SGD(store, { lr: 0.1, momentum: 0, weightDecay: 0.5 });
    opt.step();
    const after = store.params.toArray();
    // zero gradient: weights shrink by (1 − lr·wd), BN/bias parameters stay
    for (const [i, [, p]] of store.named.entries()) {
      const off = store.segments.offsets[i]!;
      for (let j = 0; j < p.numel; j++) {
        const want = p.decay ? before[off + j]! * (1 - 0.05) : before[off + j]!;
        expect(after[off + j]).toBeCloseTo(want, 6);
      }
    }
    expect(() => new optim.SGD(store, { lr: -1 })).toThrow(/lr/);
    expect(() => new optim.SGD(store, { lr: 0.1, momentum: 0, nesterov: true })).toThrow(/nesterov/);
    store.dispose();
  });
});
