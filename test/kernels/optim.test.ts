import { afterEach, describe, expect, it } from 'vitest';
import { ArgumentError, DTypeError, DisposedError, ShapeError, Tensor, ValueError, info, ops, setNumThreads } from '../../lib/index';
import { native } from '../../lib/native';
import { expectClose, fixture, randn } from '../helpers';

const { WEIGHT_DECAY, LARS_ADAPT } = ops;
const ALL = WEIGHT_DECAY | LARS_ADAPT;

// ---- float64 references (plain loops over segments) ------------------------------
type Pieces = Array<{ b: number; e: number; f: number }>;
function pieces(n: number, seg: ops.Segments | null): Pieces {
  if (!seg) return [{ b: 0, e: n, f: ALL }];
  return Array.from(seg.flags, (f, s) => ({ b: seg.offsets[s]!, e: seg.offsets[s + 1]!, f }));
}

function refSgd(
  p: Float64Array, g: ArrayLike<number>, buf: Float64Array, n: number,
  o: { lr: number; momentum: number; weightDecay: number; nesterov: boolean }, seg: ops.Segments | null,
): void {
  for (const { b, e, f } of pieces(n, seg)) {
    const wd = f & WEIGHT_DECAY ? o.weightDecay : 0;
    for (let i = b; i < e; i++) {
      const gp = g[i]! + wd * p[i]!;
      if (o.momentum === 0) {
        p[i] = p[i]! - o.lr * gp;
        continue;
      }
      buf[i] = o.momentum * buf[i]! + gp;
      p[i] = p[i]! - o.lr * (o.nesterov ? gp + o.momentum * buf[i]! : buf[i]!);
    }
  }
}

function refLars(
  p: Float64Array, g: ArrayLike<number>, buf: Float64Array, n: number,
  o: { lr: number; momentum: number; weightDecay: number; eta: number; nesterov: boolean }, seg: ops.Segments | null,
): void {
  for (const { b, e, f } of pieces(n, seg)) {
    const wd = f & WEIGHT_DECAY ? o.weightDecay : 0;
    let pp = 0, gg = 0;
    for (let i = b; i < e; i++) {
      pp += p[i]! ** 2;
      gg += (g[i]! + wd * p[i]!) ** 2;
    }
    const pn = Math.sqrt(pp), gn = Math.sqrt(gg);
    const t = f & LARS_ADAPT && pn > 0 && gn > 0 ? (o.eta * pn) / gn : 1;
    for (let i = b; i < e; i++) {
      const gs = t * (g[i]! + wd * p[i]!);
      buf[i] = o.momentum * buf[i]! + gs;
      p[i] = p[i]! - o.lr * (o.nesterov ? gs + o.momentum * buf[i]! : buf[i]!);
    }
  }
}

function refAdamw(
  p: Float64Array, g: ArrayLike<number>, m: Float64Array, v: Float64Array, n: number,
  o: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; step: number }, seg: ops.Segments | null,
): void {
  const bc1 = 1 - o.beta1 ** o.step, bc2 = 1 - o.beta2 ** o.step;
  for (const { b, e, f } of pieces(n, seg)) {
    const wd = f & WEIGHT_DECAY ? o.weightDecay : 0;
    for (let i = b; i < e; i++) {
      p[i] = p[i]! * (1 - o.lr * wd);
      m[i] = o.beta1 * m[i]! + (1 - o.beta1) * g[i]!;
      v[i] = o.beta2 * v[i]! + (1 - o.beta2) * g[i]! ** 2;
      p[i] = p[i]! - ((o.lr / bc1) * m[i]!) / (Math.sqrt(v[i]!) / Math.sqrt(bc2) + o.eps);
    }
  }
}

// 100 003 elements in five segments: one straddles the middle (where two
// threads split the buffer), one is empty; every flag combination appears.
const N_BIG = 100_003;
const BIG_SEGMENTS = ops.makeSegments([40_000, 20_000, 7, 0, 39_996], [ALL, 0, WEIGHT_DECAY, LARS_ADAPT, LARS_ADAPT]);
const STEPS = 5;

describe('segments', () => {
  it('makeSegments builds offsets and flags', () => {
    const s = ops.makeSegments([3, 0, 5], [ALL, 0, WEIGHT_DECAY]);
    expect(Array.from(s.offsets)).toEqual([0, 3, 3, 8]);
    expect(Array.from(s.flags)).toEqual([3, 0, 1]);
    expect(() => ops.makeSegments([3], [4])).toThrow(/^flags\[0\]: 4 is outside/);
    expect(() => ops.makeSegments([-1], [0])).toThrow(/^sizes\[0\]/);
    expect(() => ops.makeSegments([1, 2], [0])).toThrow(/^flags: expected 2 flags/);
    expect(BIG_SEGMENTS.offsets[5]).toBe(N_BIG);
  });
});

describe('sgdStep', () => {
  const configs = [
    { momentum: 0, weightDecay: 0.01, nesterov: false },
    { momentum: 0.9, weightDecay: 0.05, nesterov: false },
    { momentum: 0.9, weightDecay: 0.05, nesterov: true },
    { momentum: 0.5, weightDecay: 0, nesterov: true },
  ];
  for (const c of configs) {
    for (const seg of [BIG_SEGMENTS, null]) {
      it(`${STEPS} steps match the reference: μ=${c.momentum} wd=${c.weightDecay} nesterov=${c.nesterov} ${seg ? 'with' : 'without'} segments`, () => {
        const n = N_BIG, lr = 0.1;
        const p0 = randn(n, 1);
        const param = Tensor.from(p0), buf = c.momentum > 0 ? Tensor.zeros([n]) : null, grad = Tensor.zeros([n]);
        const rp = Float64Array.from(p0), rb = new Float64Array(n);
        for (let k = 0; k < STEPS; k++) {
          const g = randn(n, 100 + k, 0.5);
          grad.set(g);
          ops.sgdStep(param, grad, buf, { lr, ...c, segments: seg });
          refSgd(rp, g, rb, n, { lr, ...c }, seg);
          expectClose(param.toArray(), rp, { rtol: 1e-5, atol: 1e-6, label: `step ${k} param` });
          if (buf) expectClose(buf.toArray(), rb, { rtol: 1e-5, atol: 1e-6, label: `step ${k} buf` });
        }
      });
    }
  }

  it('small sizes (n = 1, 13) and defaults (momentum 0, no weight decay)', () => {
    for (const n of [1, 13]) {
      const p0 = randn(n, n), g = randn(n, n + 1);
      const param = Tensor.from(p0);
      ops.sgdStep(param, Tensor.from(g), null, { lr: 0.5 });
      expectClose(param.toArray(), Float64Array.from(p0, (v, i) => v - 0.5 * g[i]!), { rtol: 1e-6, atol: 1e-7 });
    }
  });

  it('no segments is the same as one segment with every flag; Int32Array offsets = Float64Array', () => {
    const n = 1001, p0 = randn(n, 3), g = Tensor.from(randn(n, 4));
    const run = (seg: ops.Segments | null) => {
      const p = Tensor.from(p0), b = Tensor.zeros([n]);
      for (let k = 0; k < 3; k++) ops.sgdStep(p, g, b, { lr: 0.1, momentum: 0.9, weightDecay: 0.1, nesterov: true, segments: seg });
      return Array.from(p.toArray());
    };
    const none = run(null);
    expect(run({ offsets: Float64Array.from([0, n]), flags: Uint8Array.from([ALL]) })).toEqual(none);
    expect(run({ offsets: Int32Array.from([0, 500, n]), flags: Uint8Array.from([ALL, WEIGHT_DECAY]) })).toEqual(none);
    const i32 = run({ offsets: Int32Array.from([0, 10, 600, n]), flags: Uint8Array.from([0, ALL, 0]) });
    const f64 = run({ offsets: Float64Array.from([0, 10, 600, n]), flags: Uint8Array.from([0, ALL, 0]) });
    expect(i32).toEqual(f64);
    expect(i32).not.toEqual(none); // weight decay off on two segments changes the result
  });

  it('lr = 0 leaves the parameters unchanged but still moves the momentum buffer', () => {
    const p0 = randn(9, 5), g = randn(9, 6);
    const p = Tensor.from(p0), b = Tensor.zeros([9]);
    ops.sgdStep(p, Tensor.from(g), b, { lr: 0, momentum: 0.9 });
    expect(Array.from(p.toArray())).toEqual(Array.from(p0));
    expect(Array.from(b.toArray())).toEqual(Array.from(g));
  });
});

describe('larsStep', () => {
  const configs = [
    { momentum: 0.9, weightDecay: 1e-2, eta: 0.02, nesterov: false },
    { momentum: 0.9, weightDecay: 1e-2, eta: 0.02, nesterov: true },
    { momentum: 0, weightDecay: 0.1, eta: 0.001, nesterov: false },
  ];
  for (const c of configs) {
    for (const seg of [BIG_SEGMENTS, null]) {
      it(`${STEPS} steps match the reference: μ=${c.momentum} nesterov=${c.nesterov} ${seg ? 'with' : 'without'} segments`, () => {
        const n = N_BIG, lr = 1.0;
        const p0 = randn(n, 11);
        const param = Tensor.from(p0), buf = Tensor.zeros([n]), grad = Tensor.zeros([n]);
        const rp = Float64Array.from(p0), rb = new Float64Array(n);
        for (let k = 0; k < STEPS; k++) {
          const g = randn(n, 200 + k, 0.5);
          grad.set(g);
          ops.larsStep(param, grad, buf, { lr, ...c, segments: seg });
          refLars(rp, g, rb, n, { lr, ...c }, seg);
          expectClose(param.toArray(), rp, { rtol: 1e-5, atol: 1e-6, label: `step ${k} param` });
          expectClose(buf.toArray(), rb, { rtol: 1e-5, atol: 1e-6, label: `step ${k} buf` });
        }
      });
    }
  }

  it('the trust ratio falls back to 1 when ‖p‖ or ‖g′‖ is 0, and is η·‖p‖/‖g′‖ otherwise', () => {
    // seg 0: p = 0; seg 1: g = 0 (no weight decay); seg 2: regular.
    const p0 = Float32Array.from([0, 0, 1, 2, 3, 4]);
    const g = Float32Array.from([1, 2, 0, 0, 6, 8]);
    const seg = { offsets: Int32Array.from([0, 2, 4, 6]), flags: Uint8Array.from([LARS_ADAPT, LARS_ADAPT, LARS_ADAPT]) };
    const p = Tensor.from(p0), b = Tensor.zeros([6]);
    ops.larsStep(p, Tensor.from(g), b, { lr: 1, momentum: 0, eta: 0.5, segments: seg });
    // seg 2: trust = 0.5·5/10 = 0.25.
    expectClose(p.toArray(), [-1, -2, 1, 2, 3 - 1.5, 4 - 2], { rtol: 1e-6, atol: 1e-7 });
    expectClose(b.toArray(), [1, 2, 0, 0, 1.5, 2], { rtol: 1e-6, atol: 1e-7 });
  });

  it('a segment without LARS_ADAPT is plain SGD with momentum', () => {
    const n = 77, p0 = randn(n, 1), g = Tensor.from(randn(n, 2));
    const seg = { offsets: Float64Array.from([0, n]), flags: Uint8Array.from([WEIGHT_DECAY]) };
    const p1 = Tensor.from(p0), b1 = Tensor.zeros([n]), p2 = Tensor.from(p0), b2 = Tensor.zeros([n]);
    for (let k = 0; k < 3; k++) {
      ops.larsStep(p1, g, b1, { lr: 0.1, momentum: 0.9, weightDecay: 0.1, segments: seg });
      ops.sgdStep(p2, g, b2, { lr: 0.1, momentum: 0.9, weightDecay: 0.1 });
    }
    expectClose(p1.toArray(), p2.toArray(), { rtol: 1e-6, atol: 1e-7 });
    expectClose(b1.toArray(), b2.toArray(), { rtol: 1e-6, atol: 1e-7 });
  });
});

describe('adamwStep', () => {
  const configs = [
    { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 },
    { beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0 },
    { beta1: 0, beta2: 0, eps: 1e-3, weightDecay: 0.5 },
  ];
  for (const c of configs) {
    for (const seg of [BIG_SEGMENTS, null]) {
      it(`${STEPS} steps match the reference: β=(${c.beta1}, ${c.beta2}) wd=${c.weightDecay} ${seg ? 'with' : 'without'} segments`, () => {
        const n = N_BIG, lr = 0.01;
        const p0 = randn(n, 21);
        const param = Tensor.from(p0), m = Tensor.zeros([n]), v = Tensor.zeros([n]), grad = Tensor.zeros([n]);
        const rp = Float64Array.from(p0), rm = new Float64Array(n), rv = new Float64Array(n);
        for (let k = 0; k < STEPS; k++) {
          const g = randn(n, 300 + k, 0.5);
          grad.set(g);
          ops.adamwStep(param, grad, m, v, { lr, ...c, step: k + 1, segments: seg });
          refAdamw(rp, g, rm, rv, n, { lr, ...c, step: k + 1 }, seg);
          expectClose(param.toArray(), rp, { rtol: 1e-5, atol: 1e-6, label: `step ${k} param` });
          expectClose(m.toArray(), rm, { rtol: 1e-5, atol: 1e-7, label: `step ${k} m` });
          expectClose(v.toArray(), rv, { rtol: 1e-5, atol: 1e-8, label: `step ${k} v` });
        }
      });
    }
  }

  it('the first step moves each weight by about lr·sign(g) (bias correction)', () => {
    const n = 11, p0 = randn(n, 4), g = randn(n, 5);
    const p = Tensor.from(p0);
    ops.adamwStep(p, Tensor.from(g), Tensor.zeros([n]), Tensor.zeros([n]), { lr: 0.01, weightDecay: 0, step: 1 });
    expectClose(p.toArray(), Float64Array.from(p0, (v, i) => v - 0.01 * Math.sign(g[i]!)), { rtol: 1e-5, atol: 1e-6 });
  });
});

describe('optimizers vs PyTorch (torch.optim.SGD / AdamW; LARS written out in gen_bnoptim.py)', () => {
  interface Case {
    lr: number; momentum?: number; weightDecay: number; nesterov?: boolean; eta?: number;
    beta1?: number; beta2?: number; eps?: number; segmented: boolean; params: number[][];
  }
  interface Fix {
    sizes: number[]; flags: number[]; offsets: number[]; param0: number[]; grads: number[][];
    sgd: Case[]; adamw: Case[]; lars: Case[];
  }
  const f = fixture<{ optim: Fix }>('bnoptim').optim;
  const n = f.param0.length;
  // segmented=false: every flag on. SGD/AdamW are elementwise, so that is "no
  // segments"; LARS's reference still takes norms per parameter tensor.
  const seg = (c: Case) => (c.segmented ? { offsets: Int32Array.from(f.offsets), flags: Uint8Array.from(f.flags) } : null);
  const larsSeg = (c: Case) => ({
    offsets: Int32Array.from(f.offsets),
    flags: c.segmented ? Uint8Array.from(f.flags) : new Uint8Array(f.flags.length).fill(ALL),
  });
  const run = (c: Case, step: (p: Tensor<'float32'>, g: Tensor<'float32'>, k: number) => void) => {
    const p = Tensor.from(f.param0), g = Tensor.zeros([n]);
    c.params.forEach((want, k) => {
      g.set(Float32Array.from(f.grads[k]!));
      step(p, g, k);
      expectClose(p.toArray(), want, { rtol: 1e-5, atol: 1e-6, label: `step ${k}` });
    });
  };

  for (const c of f.sgd)
    it(`SGD lr=${c.lr} μ=${c.momentum} wd=${c.weightDecay} nesterov=${c.nesterov} segmented=${c.segmented}`, () => {
      const buf = c.momentum! > 0 ? Tensor.zeros([n]) : null;
      run(c, (p, g) => ops.sgdStep(p, g, buf, { lr: c.lr, momentum: c.momentum, weightDecay: c.weightDecay, nesterov: c.nesterov, segments: seg(c) }));
    });
  for (const c of f.adamw)
    it(`AdamW lr=${c.lr} β=(${c.beta1}, ${c.beta2}) wd=${c.weightDecay} segmented=${c.segmented}`, () => {
      const m = Tensor.zeros([n]), v = Tensor.zeros([n]);
      run(c, (p, g, k) =>
        ops.adamwStep(p, g, m, v, { lr: c.lr, beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: c.weightDecay, step: k + 1, segments: seg(c) }),
      );
    });
  for (const c of f.lars)
    it(`LARS lr=${c.lr} μ=${c.momentum} η=${c.eta} nesterov=${c.nesterov} segmented=${c.segmented}`, () => {
      const buf = Tensor.zeros([n]);
      run(c, (p, g) =>
        ops.larsStep(p, g, buf, { lr: c.lr, momentum: c.momentum, weightDecay: c.weightDecay, eta: c.eta, nesterov: c.nesterov, segments: larsSeg(c) }),
      );
    });
});

describe('thread count', () => {
  const initial = info().threads;
  afterEach(() => {
    setNumThreads(initial);
  });

  it('LARS and BatchNorm give the same results with 1 thread and with 2', () => {
    const n = N_BIG, p0 = randn(n, 1), g = Tensor.from(randn(n, 2));
    const lars = () => {
      const p = Tensor.from(p0), b = Tensor.zeros([n]);
      for (let k = 0; k < 3; k++) ops.larsStep(p, g, b, { lr: 1, weightDecay: 0.01, eta: 0.02, segments: BIG_SEGMENTS });
      return p.toArray();
    };
    const bn = () => {
      const x = Tensor.from(p0.subarray(0, 100 * 1000), [100, 1000]), y = Tensor.zeros([100, 1000]);
      ops.batchnorm1dForwardTrain(x, y, Tensor.zeros([1000]), Tensor.zeros([1000]));
      return y.toArray();
    };
    setNumThreads(1);
    const l1 = lars(), b1 = bn();
    setNumThreads(2);
    expectClose(lars(), l1, { rtol: 1e-6, atol: 1e-7 });
    expectClose(bn(), b1, { rtol: 1e-6, atol: 1e-6 });
  });
});

describe('optimizers bad input', () => {
  const n = 10;
  const zf = (k = n) => Tensor.zeros([k]);
  const disposed = () => {
    const t = zf();
    t.dispose();
    return t;
  };

  it('sgdStep', () => {
    const p = zf(), g = zf(), b = zf();
    const sgd = (o: Partial<ops.SgdOptions>, pp = p, gg = g, bb: Tensor<'float32'> | null = b) =>
      ops.sgdStep(pp, gg, bb, { lr: 0.1, momentum: 0.9, ...o } as ops.SgdOptions);
    sgd({}); // valid
    expect(() => sgd({}, p, zf(11))).toThrow(ShapeError);
    expect(() => sgd({}, p, zf(11))).toThrow(/^grad: expected 10 elements/);
    expect(() => sgd({}, p, g, zf(9))).toThrow(/^buf: expected 10 elements/);
    expect(() => sgd({}, p, Tensor.zeros([n], { dtype: 'int32' }) as never)).toThrow(DTypeError);
    expect(() => sgd({}, p, Tensor.zeros([n], { dtype: 'int32' }) as never)).toThrow(/^grad: expected float32/);
    expect(() => sgd({}, Tensor.zeros([n], { dtype: 'int32' }) as never)).toThrow(/^param: expected float32/);
    expect(() => sgd({}, disposed())).toThrow(DisposedError);
    expect(() => sgd({}, p, g, disposed())).toThrow(/^buf: tensor has been disposed/);
    expect(() => sgd({ lr: NaN })).toThrow(ValueError);
    expect(() => sgd({ lr: NaN })).toThrow(/^lr/);
    expect(() => sgd({ lr: -1 })).toThrow(/^lr/);
    expect(() => sgd({ lr: Infinity })).toThrow(/^lr/);
    expect(() => sgd({ momentum: 1 })).toThrow(/^momentum: 1 is outside \[0, 1\)/);
    expect(() => sgd({ momentum: -0.1 })).toThrow(/^momentum/);
    expect(() => sgd({ weightDecay: -0.1 })).toThrow(/^weightDecay/);
    expect(() => sgd({ momentum: 0, nesterov: true })).toThrow(/^nesterov: requires momentum > 0/);
    expect(() => sgd({ nesterov: 1 as never })).toThrow(ArgumentError);
    expect(() => sgd({}, p, g, null)).toThrow(ArgumentError);
    expect(() => sgd({}, p, g, null)).toThrow(/^buf: a momentum buffer is required/);
    expect(() => sgd({}, p, p)).toThrow(/^param and grad overlap/);
    expect(() => sgd({}, p, g, g)).toThrow(/^grad and buf overlap/);
    const big = zf(20);
    expect(() => sgd({}, big.view(0, [n]), big.view(5, [n]))).toThrow(/overlap/);
  });

  it('larsStep', () => {
    const p = zf(), g = zf(), b = zf();
    const lars = (o: Partial<ops.LarsOptions>, pp = p, gg = g, bb = b) =>
      ops.larsStep(pp, gg, bb, { lr: 0.1, ...o } as ops.LarsOptions);
    lars({}); // valid
    expect(() => lars({}, p, g, zf(3))).toThrow(ShapeError);
    expect(() => lars({}, p, g, zf(3))).toThrow(/^buf: expected 10 elements/);
    expect(() => lars({}, p, zf(3))).toThrow(/^grad: expected 10 elements/);
    expect(() => lars({}, p, g, Tensor.zeros([n], { dtype: 'int32' }) as never)).toThrow(/^buf: expected float32/);
    expect(() => lars({}, p, g, disposed())).toThrow(DisposedError);
    expect(() => lars({}, p, g, null as never)).toThrow(/^buf: expected a Tensor/);
    expect(() => lars({ lr: NaN })).toThrow(/^lr/);
    expect(() => lars({ eta: 0 })).toThrow(ValueError);
    expect(() => lars({ eta: 0 })).toThrow(/^eta: expected a positive number/);
    expect(() => lars({ eta: NaN })).toThrow(/^eta/);
    expect(() => lars({ momentum: 1.5 })).toThrow(/^momentum/);
    expect(() => lars({ weightDecay: NaN })).toThrow(/^weightDecay/);
    expect(() => lars({ momentum: 0, nesterov: true })).toThrow(/^nesterov/);
    expect(() => lars({}, p, g, p)).toThrow(/^param and buf overlap/);
  });

  it('adamwStep', () => {
    const p = zf(), g = zf(), m = zf(), v = zf();
    const adam = (o: Partial<ops.AdamWOptions>, mm = m, vv = v) =>
      ops.adamwStep(p, g, mm, vv, { step: 1, ...o } as ops.AdamWOptions);
    adam({}); // valid
    expect(() => adam({}, zf(3))).toThrow(ShapeError);
    expect(() => adam({}, zf(3))).toThrow(/^m: expected 10 elements/);
    expect(() => adam({}, m, zf(11))).toThrow(/^v: expected 10 elements/);
    expect(() => adam({}, m, Tensor.zeros([n], { dtype: 'int32' }) as never)).toThrow(DTypeError);
    expect(() => adam({}, disposed())).toThrow(/^m: tensor has been disposed/);
    expect(() => adam({ step: 0 })).toThrow(ValueError);
    expect(() => adam({ step: 0 })).toThrow(/^step/);
    expect(() => adam({ step: 1.5 })).toThrow(/^step: expected an integer/);
    expect(() => adam({ step: undefined })).toThrow(/^step/);
    expect(() => adam({ beta1: 1 })).toThrow(/^beta1: 1 is outside \[0, 1\)/);
    expect(() => adam({ beta2: -0.5 })).toThrow(/^beta2/);
    expect(() => adam({ beta2: NaN })).toThrow(/^beta2/);
    expect(() => adam({ eps: 0 })).toThrow(/^eps: expected a positive number/);
    expect(() => adam({ lr: -0.1 })).toThrow(/^lr/);
    expect(() => adam({ weightDecay: -1 })).toThrow(/^weightDecay/);
    expect(() => adam({}, m, m)).toThrow(/^m and v overlap/);
  });

  it('segments (contents checked natively, for every optimizer)', () => {
    const p = zf(), g = zf(), b = zf(), m = zf(), v = zf();
    const steps: Array<[string, (s: unknown) => void]> = [
      ['sgdStep', (s) => ops.sgdStep(p, g, b, { lr: 0.1, momentum: 0.9, segments: s as ops.Segments })],
      ['larsStep', (s) => ops.larsStep(p, g, b, { lr: 0.1, segments: s as ops.Segments })],
      ['adamwStep', (s) => ops.adamwStep(p, g, m, v, { step: 1, segments: s as ops.Segments })],
    ];
    const f = (k: number, x = ALL) => new Uint8Array(k).fill(x);
    for (const [name, step] of steps) {
      const bad = (s: unknown, cls: new (...a: never[]) => Error, re: RegExp) => {
        expect(() => step(s), name).toThrow(cls);
        expect(() => step(s), name).toThrow(re);
      };
      step({ offsets: Int32Array.from([0, 4, 4, n]), flags: Uint8Array.from([0, 1, 3]) }); // valid, with an empty segment
      bad({ offsets: Int32Array.from([1, n]), flags: f(1) }, ValueError, /^segOffsets: entry 0 is 1, expected 0/);
      bad({ offsets: Int32Array.from([0, 6, 5, n]), flags: f(3) }, ValueError, /^segOffsets: entry 2 \(5\) is less than entry 1/);
      bad({ offsets: Int32Array.from([0, n - 1]), flags: f(1) }, ValueError, /^segOffsets: last entry is 9, expected param.numel 10/);
      bad({ offsets: Float64Array.from([0, 11]), flags: f(1) }, ValueError, /^segOffsets: last entry is 11/);
      bad({ offsets: Float64Array.from([0, 2.5, n]), flags: f(2) }, ValueError, /^segOffsets: entry 1 is 2.5/);
      bad({ offsets: Float64Array.from([0, NaN, n]), flags: f(2) }, ValueError, /^segOffsets: entry 1/);
      bad({ offsets: Int32Array.from([0]), flags: f(0) }, ValueError, /^segOffsets: expected at least 2 offsets/);
      bad({ offsets: Int32Array.from([0, 5, n]), flags: f(3) }, ValueError, /^segFlags: expected 2 flags/);
      bad({ offsets: Int32Array.from([0, n]), flags: Uint8Array.from([4]) }, ValueError, /^segFlags: entry 0 is 4/);
      bad({ offsets: [0, n], flags: f(1) }, ArgumentError, /^segOffsets: expected an Int32Array or Float64Array/);
      bad({ offsets: Uint32Array.from([0, n]), flags: f(1) }, ArgumentError, /^segOffsets: expected an Int32Array/);
      bad({ offsets: Int32Array.from([0, n]), flags: [3] }, ArgumentError, /^segFlags: expected a Uint8Array/);
      bad({ offsets: Int32Array.from([0, n]), flags: Int8Array.from([3]) }, ArgumentError, /^segFlags: expected a Uint8Array/);
    }
  });

  it('the native side checks scalars and segments itself (not only the TS wrapper)', () => {
    const nat = native as unknown as Record<string, (...a: unknown[]) => void>;
    const p = zf().handle, g = zf().handle, b = zf().handle, m = zf().handle, v = zf().handle;
    const off = Int32Array.from([0, n]), fl = Uint8Array.from([3]);
    expect(() => nat.sgdStep!(p, g, b, NaN, 0.9, 0, false, null, null)).toThrow(/^lr/);
    expect(() => nat.sgdStep!(p, g, b, 0.1, 1, 0, false, null, null)).toThrow(/^momentum/);
    expect(() => nat.sgdStep!(p, g, b, 0.1, 0, 0, true, null, null)).toThrow(/^nesterov: requires momentum > 0/);
    expect(() => nat.sgdStep!(p, g, null, 0.1, 0.5, 0, false, null, null)).toThrow(/^buf: a momentum buffer is required/);
    expect(() => nat.sgdStep!(p, g, b, 0.1, 0.5, -1, false, null, null)).toThrow(/^weightDecay/);
    expect(() => nat.sgdStep!(p, g, b, 0.1, 0.5, 0, 'no', null, null)).toThrow(/^nesterov: expected a boolean/);
    expect(() => nat.sgdStep!(p, g, b, 0.1, 0.5, 0, false, off, null)).toThrow(/^segFlags: required when segOffsets/);
    expect(() => nat.sgdStep!(p, g, b, 0.1, 0.5, 0, false, null, fl)).toThrow(/^segOffsets: required when segFlags/);
    expect(() => nat.larsStep!(p, g, b, 0.1, 0.9, 0, -1, false, off, fl)).toThrow(/^eta/);
    expect(() => nat.larsStep!(p, g, null, 0.1, 0.9, 0, 0.001, false, off, fl)).toThrow(/^buf: expected a Tensor/);
    expect(() => nat.adamwStep!(p, g, m, v, 0.1, 0.9, 0.999, 1e-8, 0, 0, off, fl)).toThrow(/^step/);
    expect(() => nat.adamwStep!(p, g, m, v, 0.1, 0.9, 1, 1e-8, 0, 1, off, fl)).toThrow(/^beta2/);
    expect(() => nat.adamwStep!(p, g, m, v, 0.1, 0.9, 0.999, -1, 0, 1, off, fl)).toThrow(/^eps/);
  });
});
