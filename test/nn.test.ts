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
    expect(() => bn.forward(Tensor.zeros([1, 3]))).toThrow(/more than 1 row/);
    expect(() => nn.tabularEncoder(4).outFeatures(5)).toThrow(ShapeError);
    store.dispose();
    s2.dispose();
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
