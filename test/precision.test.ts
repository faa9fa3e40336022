// precision: 'bf16' above the kernels (test/kernels/gemm-bf16.test.ts):
// Module.setPrecision and a Linear layer, a ParameterStore and the method
// option, training (an MLP's loss falls, close to float32's), checkpoints
// (float32, continued at either precision), and the typed error where bf16
// cannot run: forced here by loading the avx2 kernel set in a subprocess
// (IMIX_CPU_KERNELS=avx2, as test/cpu-kernel-sets.test.ts does).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeviceError, MoCo, NPair, Tensor, ValueError, info, nn, ops } from '../lib/index';
import { fashionMnist, subset } from '../lib/data/dataset';
import { loadCheckpoint } from '../lib/methods/checkpoint';
import { inputDrop } from '../lib/methods/views';
import { caught, randn } from './helpers';
import { ensureDist } from './hostile/cli-helpers';

const bf16 = info().bf16.available;

describe('Module.setPrecision', () => {
  it('sets every module of the tree; an unknown precision is a ValueError', () => {
    const m = nn.mlp([6, 5, 4]);
    expect(m.modules().every((x) => x.precision === 'fp32')).toBe(true);
    expect(m.setPrecision('bf16')).toBe(m);
    expect(m.modules().every((x) => x.precision === 'bf16')).toBe(true);
    expect(() => m.setPrecision('fp16' as never)).toThrow(ValueError);
    expect(() => m.setPrecision('fp16' as never)).toThrow(/^precision: expected 'fp32' or 'bf16', got "fp16"/);
  });

  it("a store refuses a precision its device cannot run, naming precision", () => {
    const e = caught(() => new nn.ParameterStore(nn.mlp([4, 3]), { device: 'cuda', precision: 'bf16' }));
    expect(e).toBeInstanceOf(DeviceError);
    expect(e.message).toMatch(/^precision: 'bf16' gemms run on the CPU only/);
  });
});

describe.runIf(bf16)('Linear with precision bf16', () => {
  it('runs the bf16 linear ops, forward and backward; the rest of the layer is float32', () => {
    const N = 33, I = 40, O = 21;
    const x = Tensor.from(randn(N * I, 1), [N, I]), dy = Tensor.from(randn(N * O, 2), [N, O]);
    const layer = new nn.Linear(I, O);
    const store = new nn.ParameterStore(layer, { seed: 4, precision: 'bf16' });
    expect(layer.precision).toBe('bf16');
    const y = layer.forward(x).toArray();
    const dx = layer.backward(dy)!.toArray();
    // The same ops by hand.
    const W = layer.weight.data, b = layer.bias!.data;
    const y2 = Tensor.zeros([N, O]), dx2 = Tensor.zeros([N, I]), dW2 = Tensor.zeros([O, I]), db2 = Tensor.zeros([O]);
    ops.linearForward(x, W, b, y2, 'bf16');
    ops.linearBackward(x, W, dy, dx2, dW2, db2, true, 'bf16');
    expect(y).toEqual(y2.toArray());
    expect(dx).toEqual(dx2.toArray());
    expect(layer.weight.grad.toArray()).toEqual(dW2.toArray());
    expect(layer.bias!.grad.toArray()).toEqual(db2.toArray());
    // ... and not the float32 ones.
    ops.linearForward(x, W, b, y2);
    expect(y).not.toEqual(y2.toArray());
    layer.setPrecision('fp32');
    expect(layer.forward(x).toArray()).toEqual(y2.toArray());
    store.dispose();
  });
});

describe.runIf(bf16)('training with precision bf16', () => {
  const all = fashionMnist('train');
  const train = subset(all, 0, 1024);
  const options = {
    encoder: { kind: 'mlp' as const, hidden: [128] },
    projection: [64, 32] as [number, number],
    mix: { kind: 'mixup' as const },
    views: inputDrop(0.2),
    optimizer: { lr: 0.1 },
    seed: 5,
  };

  it('an MLP (NPair + i-Mix) lowers its loss, as in float32, with float32 weights and checkpoints', async () => {
    const m16 = new NPair({ ...options, precision: 'bf16' });
    const m32 = new NPair(options);
    expect(m16.precision).toBe('bf16');
    expect(m32.precision).toBe('fp32');
    const r16 = await m16.fit(train, { epochs: 3, batchSize: 128 });
    const r32 = await m32.fit(train, { epochs: 3, batchSize: 128 });
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    expect(mean(r16.losses.slice(-4))).toBeLessThan(mean(r16.losses.slice(0, 4)));
    // The same run but for the rounding of the gemm inputs: the first loss
    // (same weights, same batch) agrees closely, the curves roughly.
    expect(Math.abs(r16.losses[0]! - r32.losses[0]!)).toBeLessThan(1e-2 * r32.losses[0]!);
    expect(r16.losses[0]).not.toBe(r32.losses[0]);
    expect(Math.abs(mean(r16.losses.slice(-4)) - mean(r32.losses.slice(-4)))).toBeLessThan(0.05 * mean(r32.losses.slice(-4)));
    // Checkpoints are float32 and not tied to a precision: a float32 model continues one.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imix-bf16-'));
    try {
      await m16.save(dir);
      expect(m16.config()).not.toHaveProperty('precision');
      expect(loadCheckpoint(dir).tensors['online.params']!.data).toBeInstanceOf(Float32Array);
      const back = await new NPair(options).load(dir);
      expect(back.precision).toBe('fp32');
      // The float32 weights, saved exactly: the same features once both embed in float32.
      const rows = subset(train, 0, 64);
      m16.encoder.setPrecision('fp32');
      expect(back.embed(rows)).toEqual(m16.embed(rows));
      const more = await back.fit(train, { epochs: 4, batchSize: 128 });
      expect(more.losses.length).toBe(8);
      expect(more.losses.every(Number.isFinite)).toBe(true);
      back.dispose();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      m16.dispose();
      m32.dispose();
    }
  }, 120_000);

  it('every network of a method runs at its precision (MoCo: the query and the key encoder)', () => {
    const m = new MoCo({ ...options, queueSize: 256, precision: 'bf16' });
    m.build([784]);
    expect(m.encoder.modules().every((x) => x.precision === 'bf16')).toBe(true);
    const key = (m as unknown as { knet: nn.Module }).knet;
    expect(key.modules().every((x) => x.precision === 'bf16')).toBe(true);
    m.dispose();
  });
});

describe('precision option errors', () => {
  it("'fp16' is a ValueError; 'bf16' on a device that cannot run it a DeviceError, both naming precision", () => {
    const opts = { encoder: { kind: 'mlp' as const, hidden: [8] } };
    expect(() => new NPair({ ...opts, precision: 'fp16' as never })).toThrow(ValueError);
    expect(() => new NPair({ ...opts, precision: 'fp16' as never })).toThrow(/^precision: expected 'fp32' or 'bf16', got 'fp16'/);
    expect(() => new NPair({ ...opts, precision: 'bf16', device: 'cuda' })).toThrow(DeviceError);
    if (!bf16) expect(() => new NPair({ ...opts, precision: 'bf16' })).toThrow(/^precision: 'bf16' is not available here: /);
  });

  // The avx2 set has no bf16 gemm: every way in says so, and float32 still runs.
  it.runIf(info().cpuKernelSets.includes('avx2'))("with the avx2 kernel set (IMIX_CPU_KERNELS=avx2), 'bf16' is a DeviceError naming precision and the set", () => {
    ensureDist();
    const entry = JSON.stringify(path.resolve(__dirname, '../dist/lib/index.js'));
    const script = `
      const imix = require(${entry});
      const say = (f) => { try { f(); return 'ok'; } catch (e) { return e.name + ': ' + e.message; } };
      const A = imix.Tensor.zeros([3, 4]), B = imix.Tensor.zeros([4, 5]), C = imix.Tensor.zeros([3, 5]);
      const W = imix.Tensor.zeros([5, 4]);
      const layer = imix.nn.mlp([4, 5]);
      console.log(JSON.stringify({
        info: imix.info().bf16,
        set: imix.info().cpuKernels,
        gemm: say(() => imix.ops.gemm(A, B, C, { precision: 'bf16' })),
        fp32: say(() => imix.ops.gemm(A, B, C)),
        linear: say(() => imix.ops.linearForward(A, W, null, C, 'bf16')),
        method: say(() => new imix.NPair({ encoder: { kind: 'mlp', hidden: [8] }, precision: 'bf16' })),
        store: say(() => new imix.nn.ParameterStore(layer, { precision: 'bf16' })),
      }));`;
    const r = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, IMIX_CPU_KERNELS: 'avx2' }, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, any>;
    expect(out.set).toBe('avx2');
    expect(out.info.available).toBe(false);
    const why = "the 'avx2' CPU kernel set has no bf16 gemm (only a set compiled for AVX-512 has one)";
    expect(out.info.reason).toBe(why);
    const error = `DeviceError: precision: 'bf16' is not available here: ${why}; use 'fp32'`;
    for (const k of ['gemm', 'linear', 'method', 'store']) expect(out[k], k).toBe(error);
    expect(out.fp32).toBe('ok');
  }, 120_000);
});
