// The CPU kernel set chosen at load (native/addon/cpu_dispatch.cpp): every
// set this CPU can run loads when forced with IMIX_CPU_KERNELS, says what it
// is, and trains to the same numbers as the set chosen by default (a
// ResNet and an MLP through every kernel family a step uses); a set that is
// not in the build is a ValueError naming the variable. The kernel suites
// themselves run once per set in CI (.ci/run).
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { info } from '../lib';

const entry = JSON.stringify(path.resolve(__dirname, '../dist/lib/index.js'));

// Two short fits on one thread (N-pair + MixUp on resnet20:0.25 images,
// MoCo + MixUp on an MLP over the same pixels as rows), so the only
// difference between two runs is the kernel set's arithmetic.
const workload = `
const imix = require(${entry});
imix.setNumThreads(1);
const { fashionMnist, fromArray, subset } = require(${JSON.stringify(path.resolve(__dirname, '../dist/lib/data/dataset.js'))});
const { randomCropFlip, inputDrop } = require(${JSON.stringify(path.resolve(__dirname, '../dist/lib/methods/views.js'))});
(async () => {
  const images = subset(fashionMnist('train'), 0, 128);
  const conv = new imix.NPair({ encoder: { kind: 'resnet20', width: 0.25 }, projection: [32, 16], views: randomCropFlip(2),
    mix: { kind: 'mixup' }, optimizer: { lr: 0.03 }, seed: 3 });
  conv.build(images.sampleShape);
  const features = Array.from(conv.embed(subset(images, 0, 16)));
  const a = await conv.fit(images, { epochs: 1, batchSize: 64 });
  const mlp = new imix.MoCo({ encoder: { kind: 'mlp', hidden: [64, 64] }, projection: [64, 16], views: inputDrop(0.2),
    mix: { kind: 'mixup' }, queueSize: 64, optimizer: { lr: 0.05 }, seed: 3 });
  const rows = fromArray(images.x, [784]);
  mlp.build(rows.sampleShape);
  const b = await mlp.fit(rows, { epochs: 1, batchSize: 32 });
  const i = imix.info();
  process.stdout.write(JSON.stringify({ set: i.cpuKernels, simd: i.simd, losses: [...a.losses, ...b.losses],
    features }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

interface Run { set: string; simd: string[]; losses: number[]; features: number[] }
const run = (set: string): Run =>
  JSON.parse(execFileSync(process.execPath, ['-e', workload], { env: { ...process.env, IMIX_CPU_KERNELS: set }, encoding: 'utf8' })) as Run;

describe('CPU kernel sets', () => {
  const i = info();

  it('the set in use is one this CPU runs, named with its extensions', () => {
    expect(i.cpuKernelSets.length).toBeGreaterThan(0);
    expect(i.cpuKernelSets).toContain(i.cpuKernels);
    if (process.env.IMIX_CPU_KERNELS === undefined || process.env.IMIX_CPU_KERNELS === 'auto') {
      expect(i.cpuKernels).toBe(i.cpuKernelSets[0]); // the best one, by default
    }
    const needs: Record<string, string[]> = { avx512: ['avx512f', 'avx512bw', 'avx512vl', 'avx2', 'fma'], avx2: ['avx2', 'fma'], baseline: ['sse4.2'] };
    for (const f of needs[i.cpuKernels] ?? []) expect(i.simd).toContain(f);
    if (i.cpuKernels === 'baseline') expect(i.simd).not.toContain('avx');
  });

  const reference = (() => {
    let r: Run | undefined;
    return () => (r ??= run(i.cpuKernelSets[0]!));
  })();
  for (const set of ['avx512', 'avx2', 'baseline']) {
    it.runIf(i.cpuKernelSets.includes(set) && set !== i.cpuKernelSets[0])(`'${set}' trains to the numbers of the best set`, () => {
      const r = run(set), ref = reference();
      expect(r.set).toBe(set);
      expect(ref.set).toBe(i.cpuKernelSets[0]);
      expect(r.losses.length).toBe(ref.losses.length);
      expect(r.losses.every(Number.isFinite)).toBe(true);
      // Vector widths change summation orders only: the untrained ResNet's
      // features agree to float rounding, and the losses of a few training
      // steps (BatchNorm over 64 images amplifies rounding) to 1e-3.
      for (let k = 0; k < r.losses.length; ++k) expect(Math.abs(r.losses[k]! - ref.losses[k]!)).toBeLessThan(1e-3 * (1 + Math.abs(ref.losses[k]!)));
      let err = 0, scale = 0;
      for (let k = 0; k < r.features.length; ++k) {
        err = Math.max(err, Math.abs(r.features[k]! - ref.features[k]!));
        scale = Math.max(scale, Math.abs(ref.features[k]!));
      }
      expect(err).toBeLessThan(1e-5 * scale);
    }, 120_000);
  }

  it('a set not in the build is a ValueError naming IMIX_CPU_KERNELS and the sets there are', () => {
    const r = spawnSync(process.execPath, ['-e', `try { require(${entry}) } catch (e) { console.log(e.name + ': ' + e.message); process.exit(3) }`],
      { env: { ...process.env, IMIX_CPU_KERNELS: 'avx1024' }, encoding: 'utf8' });
    expect(r.status).toBe(3);
    expect(r.stdout).toContain("ValueError: IMIX_CPU_KERNELS: 'avx1024' is not a kernel set of this build");
    for (const s of i.cpuKernelSets) expect(r.stdout).toContain(s);
  });
});
