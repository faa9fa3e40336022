// The thread count of CPU training steps: the governor on simulated step
// times (a quiet machine keeps every thread and probes ever more rarely; a
// competitor makes it fall back to one thread within a probe, and its
// departure brings the threads back), the wait policy set before the addon
// loads, setNumThreads fixing or freeing the count, and runs that are the
// same to the bit at any thread count (so the governor's switches change the
// speed of a run, never its numbers).
import { describe, expect, it, vi } from 'vitest';
import { info, MoCo, NPair, setNumThreads, Tensor, threadsAuto, ValueError } from '../lib';
import { fashionMnist, fromArray, subset } from '../lib/data/dataset';
import { inputDrop, randomCropFlip } from '../lib/methods/views';
import { governor } from '../lib/threads';
import { pinOpenmpWait } from '../lib/util/openmp-wait';
import { ThreadGovernor } from '../lib/util/thread-governor';
import { caught } from './helpers';

/** Drives a governor over `steps` steps whose time per sample at t threads is cost(t, step). */
function simulate(g: ThreadGovernor, steps: number, cost: (threads: number, step: number) => number, applied: { t: number }): number[] {
  const used: number[] = [];
  for (let s = 0; s < steps; s++) {
    g.begin();
    used.push(applied.t);
    g.end(256, 256 * cost(applied.t, s));
  }
  return used;
}

function governorOf(max: number) {
  const applied = { t: max };
  return { g: new ThreadGovernor(max, (t) => { applied.t = t; }), applied };
}

// 2 cores: quiet, two threads take 0.06 ms a sample and one 0.11; beside a
// competitor, two take 0.135 and one 0.11 (bench/README.md, "Thread waiting").
const quiet = (t: number) => (t === 1 ? 0.11 : 0.06);
const busy = (t: number) => (t === 1 ? 0.11 : 0.135);
const jitter = (f: (t: number) => number) => (t: number, s: number) => f(t) * (1 + 0.04 * Math.sin(s * 12.9898));

describe('ThreadGovernor', () => {
  it('keeps every thread on a quiet machine, and its probes fall below 1% of steps', () => {
    const { g, applied } = governorOf(2);
    const used = simulate(g, 20000, jitter(quiet), applied);
    expect(g.threads).toBe(2);
    const late = used.slice(10000);
    expect(late.filter((t) => t === 1).length / late.length).toBeLessThan(0.01);
    expect(g.events.every((e) => e.kept === 2)).toBe(true);
  });

  it('falls back to one thread beside a competitor, within the first probe', () => {
    const { g, applied } = governorOf(2);
    const used = simulate(g, 400, jitter(busy), applied);
    expect(g.threads).toBe(1);
    expect(used.slice(80).filter((t) => t === 2).length).toBeLessThan(12); // a re-probe or two
    expect(g.events[0]).toMatchObject({ from: 2, probed: 1, kept: 1 });
  });

  it('notices a competitor that starts late at once, and gets the threads back when it leaves', () => {
    const { g, applied } = governorOf(2);
    // quiet for 6000 steps (probes 2048 apart by then), busy for 3000, quiet again
    const phase = (s: number) => (s < 6000 || s >= 9000 ? quiet : busy);
    const used = simulate(g, 12000, (t, s) => jitter(phase(s))(t, s), applied);
    const firstOne = used.findIndex((t, s) => s >= 6000 && t === 1 && used[s + 20] === 1);
    expect(firstOne).toBeGreaterThanOrEqual(6000);
    expect(firstOne).toBeLessThan(6010); // the slowdown triggers a probe, not the 2048-step period
    expect(used.slice(6100, 9000).filter((t) => t === 1).length).toBeGreaterThan(2700);
    expect(g.threads).toBe(2);
    const back = used.findIndex((t, s) => s >= 9000 && t === 2 && used[s + 20] === 2);
    expect(back - 9000).toBeLessThan(256 + 10); // at one thread, probes stay 256 steps apart at most
    expect(used.slice(back + 100).filter((t) => t === 1).length).toBeLessThan(30);
  });

  it('does nothing with one core', () => {
    const { g, applied } = governorOf(1);
    expect(simulate(g, 500, busy, applied).every((t) => t === 1)).toBe(true);
    expect(g.events).toEqual([]);
  });
});

describe('setNumThreads', () => {
  it("fixes the count with a number and hands it back to the governor with 'auto'", () => {
    expect(threadsAuto()).toBe(true);
    try {
      expect(setNumThreads(1)).toBe(1);
      expect(threadsAuto()).toBe(false);
      expect(info()).toMatchObject({ threads: 1, threadsAuto: false });
      expect(setNumThreads('auto')).toBe(governor.threads);
      expect(threadsAuto()).toBe(true);
    } finally {
      setNumThreads('auto');
    }
  });

  it('CPU training steps run under the governor unless the count is fixed', () => {
    const m = new NPair({ encoder: { kind: 'mlp', hidden: [16] }, projection: [16, 8], mix: { kind: 'mixup' }, seed: 1 });
    m.build([12]);
    const data = Tensor.from(Float32Array.from({ length: 64 * 12 }, (_, i) => Math.sin(i)), [64, 12]);
    const rows = Int32Array.from({ length: 16 }, (_, i) => i);
    const begin = vi.spyOn(governor, 'begin'), end = vi.spyOn(governor, 'end');
    try {
      for (let s = 0; s < 3; s++) m.stepOn(data, rows, 0.01, 10);
      expect(begin).toHaveBeenCalledTimes(3);
      expect(end).toHaveBeenCalledTimes(3);
      expect(end.mock.calls[0]![0]).toBe(16); // samples of the step
      setNumThreads(2);
      m.stepOn(data, rows, 0.01, 10);
      expect(begin).toHaveBeenCalledTimes(3);
    } finally {
      setNumThreads('auto');
      begin.mockRestore();
      end.mockRestore();
      data.dispose();
      m.dispose();
    }
  });

  it('refuses what is not a thread count, naming the argument', () => {
    for (const bad of [0, 1.5, 2000, 'all', NaN] as unknown[]) {
      const e = caught(() => setNumThreads(bad as number));
      expect(e).toBeInstanceOf(ValueError);
      expect(e.message).toMatch(/^threads: /);
    }
    expect(threadsAuto()).toBe(true);
  });
});

describe('results at any thread count', () => {
  // Reductions split by the machine's thread count, not the current one
  // (native/cpu/parallel.h machine_threads): BatchNorm statistics, the conv
  // weight gradient's per-slice partials, LARS's norms.
  const images = subset(fashionMnist('train'), 0, 256);
  const fits = async (threads: number) => {
    setNumThreads(threads);
    try {
      const conv = new NPair({ encoder: { kind: 'resnet20', width: 0.25 }, projection: [32, 16], views: randomCropFlip(2),
        mix: { kind: 'cutmix' }, optimizer: { lr: 0.03 }, seed: 4 });
      conv.build(images.sampleShape);
      const a = await conv.fit(images, { epochs: 1, batchSize: 64 });
      const features = conv.embed(subset(images, 0, 32));
      const mlp = new MoCo({ encoder: { kind: 'mlp', hidden: [128, 128] }, projection: [64, 32], views: inputDrop(0.2),
        mix: { kind: 'mixup' }, queueSize: 64, optimizer: { kind: 'lars', lr: 0.3 }, seed: 4 });
      mlp.build([784]);
      const b = await mlp.fit(fromArray(images.x, [784]), { epochs: 1, batchSize: 32 });
      conv.dispose();
      mlp.dispose();
      return { losses: [...a.losses, ...b.losses], features };
    } finally {
      setNumThreads('auto');
    }
  };

  it.runIf(governor.max > 1)('a ResNet (N-pair + CutMix, SGD) and an MLP (MoCo + MixUp, LARS) train to the same bits on one thread and on every core', async () => {
    const one = await fits(1), all = await fits(governor.max);
    expect(one.losses.length).toBe(4 + 8);
    expect(all.losses).toEqual(one.losses);
    expect(Buffer.from(all.features.buffer).equals(Buffer.from(one.features.buffer))).toBe(true);
  }, 60_000);
});

describe('pinOpenmpWait', () => {
  it('sets a spin-then-sleep policy when the user set none, and keeps theirs', () => {
    const env: NodeJS.ProcessEnv = {};
    expect(pinOpenmpWait(env)).toEqual({ policy: 'GOMP_SPINCOUNT=100000 KMP_BLOCKTIME=5', source: 'imix' });
    expect(env).toEqual({ GOMP_SPINCOUNT: '100000', KMP_BLOCKTIME: '5' });
    const mine: NodeJS.ProcessEnv = { OMP_WAIT_POLICY: 'passive' };
    expect(pinOpenmpWait(mine)).toEqual({ policy: 'OMP_WAIT_POLICY=passive', source: 'environment' });
    expect(mine).toEqual({ OMP_WAIT_POLICY: 'passive' });
  });

  it('is in effect in this process', () => {
    const w = info().threadWait;
    if (w.source === 'imix') expect(process.env.GOMP_SPINCOUNT).toBe('100000');
    else expect(w.policy).toMatch(/OMP_WAIT_POLICY|GOMP_SPINCOUNT|KMP_BLOCKTIME/);
  });
});
