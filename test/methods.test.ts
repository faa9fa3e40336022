import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArgumentError, BYOL, DisposedError, MoCo, NPair, ShapeError, SimCLR, SimSiam, ValueError, type ContrastiveMethod } from '../lib/index';
import { fashionMnist, fromArray, subset } from '../lib/data/dataset';
import { inputDrop } from '../lib/methods/views';
import { expectClose, fixture } from './helpers';

interface Case {
  method: 'npair' | 'simclr' | 'moco' | 'byol' | 'simsiam';
  mixed: boolean;
  symmetric?: boolean;
  N: number;
  F: number;
  temperature: number;
  xq: number[];
  xk: number[];
  perm: number[];
  lam: number[];
  params: number[];
  queue?: number[];
  K?: number;
  loss: number;
  grads: number[];
}

const tiny = { encoder: { kind: 'mlp' as const, hidden: [8] }, projection: [8, 4] as [number, number], seed: 1 };

function make(c: Case): ContrastiveMethod {
  const mix = { kind: c.mixed ? ('mixup' as const) : ('none' as const) };
  const opts = { ...tiny, temperature: c.temperature, mix };
  switch (c.method) {
    case 'npair':
      return new NPair(opts);
    case 'simclr':
      return new SimCLR(opts);
    case 'moco':
      return new MoCo({ ...opts, queueSize: c.K });
    case 'byol':
      return new BYOL({ ...opts, predictorHidden: 8 });
    case 'simsiam':
      return new SimSiam({ ...opts, predictorHidden: 8, symmetric: c.symmetric });
  }
}

describe('one step of each method matches PyTorch autograd (fixtures from gen_methods.py)', () => {
  const { cases } = fixture<{ cases: Case[] }>('methods');
  for (const c of cases) {
    it(`${c.method}${c.mixed ? ' + i-Mix' : ''}${c.symmetric ? ' (symmetric)' : ''}: loss and every parameter gradient`, () => {
      const m = make(c);
      m.build([c.F]);
      m.setParameters(Float32Array.from(c.params));
      if (c.queue) (m as MoCo).queue.set(Float32Array.from(c.queue));
      const mix = c.mixed ? { perm: Int32Array.from(c.perm), lam: Float32Array.from(c.lam) } : undefined;
      const { loss, grads } = m.lossAndGradients(Float32Array.from(c.xq), Float32Array.from(c.xk), mix);
      expect(Math.abs(loss - c.loss) / Math.abs(c.loss)).toBeLessThan(1e-5);
      // fp32 kernels vs a float64 reference: 1e-4 relative, with an absolute floor of
      // 1e-6 of the largest gradient for entries that are nearly zero.
      const scale = Math.max(...c.grads.map(Math.abs));
      expectClose(grads, c.grads, { rtol: 1e-4, atol: 1e-6 * scale, label: `${c.method} grads` });
      m.dispose();
    });
  }
});

describe('misuse is a clear error before any work', () => {
  const data = fromArray(new Float32Array(64 * 6).map((_, i) => Math.sin(i)), [6]);
  it('rejects bad hyperparameters at construction', () => {
    expect(() => new NPair({ ...tiny, temperature: 0 })).toThrow(/temperature: expected a positive number/);
    expect(() => new NPair({ ...tiny, temperature: -1 })).toThrow(ValueError);
    expect(() => new NPair({ ...tiny, mix: { kind: 'mixup', alpha: 0 } })).toThrow(/mix.alpha/);
    expect(() => new NPair({ ...tiny, mix: { kind: 'mixup', alpha: -2 } })).toThrow(/mix.alpha/);
    expect(() => new SimCLR({ ...tiny, mix: { kind: 'mixup' } })).toThrow(/SimCLR/);
    expect(() => new MoCo({ ...tiny, queueSize: 0 })).toThrow(/queueSize/);
    expect(() => new NPair({ ...tiny, device: 'tpu' as 'cpu' })).toThrow(/device/);
    // Optimizer options are checked at construction too, named as optimizer.* (MoCo has its own momentum).
    expect(() => new NPair({ ...tiny, optimizer: { kind: 'adam' as 'adamw' } })).toThrow(/optimizer.kind: expected 'sgd', 'lars' or 'adamw', got "adam"/);
    expect(() => new MoCo({ ...tiny, optimizer: { momentum: 1.5 } })).toThrow(/optimizer.momentum: expected a number in \[0, 1\)/);
    expect(() => new NPair({ ...tiny, optimizer: { kind: 'lars', eta: 0 } })).toThrow(/optimizer.eta/);
    expect(() => new NPair({ ...tiny, optimizer: { kind: 'adamw', betas: [0.9, 1] } })).toThrow(/optimizer.betas\[1\]/);
    expect(() => new NPair({ ...tiny, optimizer: { weightDecay: -1 } })).toThrow(/optimizer.weightDecay/);
    expect(() => new NPair({ ...tiny, optimizer: { nesterov: true, momentum: 0 } })).toThrow(/optimizer.nesterov: needs momentum > 0/);
    expect(() => new NPair({ ...tiny, optimizer: { warmupEpochs: -1 } })).toThrow(/optimizer.warmupEpochs/);
    expect(() => new NPair({ ...tiny, views: [inputDrop(0.1)] as never })).toThrow(/views: expected a view function/);
    expect(() => new NPair({ ...tiny, views: 'drop' as never })).toThrow(ArgumentError);
    // Options that must be booleans are (a string would be truthy and silently on).
    expect(() => new NPair({ ...tiny, mix: { kind: 'mixup', perBatchLambda: 'yes' as never } })).toThrow(/mix.perBatchLambda: expected a boolean, got "yes"/);
    expect(() => new BYOL({ ...tiny, symmetric: 'yes' as never })).toThrow(/symmetric: expected a boolean, got "yes"/);
    expect(() => new BYOL({ ...tiny, symmetric: 1 as never })).toThrow(ValueError);
  });
  it('rejects a batch of 1, a queue smaller than a batch, CutMix on flat data, mismatched features', async () => {
    await expect(new NPair(tiny).fit(data, { epochs: 1, batchSize: 1 })).rejects.toThrow(/batchSize/);
    await expect(new MoCo({ ...tiny, queueSize: 8 }).fit(data, { epochs: 1, batchSize: 16 })).rejects.toThrow(/queueSize: the queue \(8 keys\) must hold at least one batch/);
    await expect(new NPair({ ...tiny, mix: { kind: 'cutmix' } }).fit(data, { epochs: 1, batchSize: 8 })).rejects.toThrow(/CutMix needs spatial/);
    const m = new NPair(tiny);
    await m.fit(data, { epochs: 1, batchSize: 8, maxSteps: 1 });
    await expect(m.fit(fromArray(new Float32Array(70), [7]), { epochs: 1, batchSize: 2 })).rejects.toThrow(ShapeError);
    await expect(new NPair(tiny).fit(data, { epochs: 1, batchSize: 1000 })).rejects.toThrow(/larger than the dataset/);
  });
  it('rejects a bad encoder spec at construction', () => {
    expect(() => new NPair({ encoder: { kind: 'mlp', hidden: [] } })).toThrow(/encoder.hidden: expected a non-empty list/);
    expect(() => new NPair({ encoder: { kind: 'mlp', hidden: [8, 0] } })).toThrow(/encoder.hidden/);
    expect(() => new NPair({ encoder: { kind: 'mlp', hidden: [1.5] } })).toThrow(ValueError);
    expect(() => new NPair({ encoder: { kind: 'tabular', scale: 0 } })).toThrow(/encoder.scale/);
    expect(() => new NPair({ encoder: { kind: 'resnet' } as never })).toThrow(/encoder.kind/);
  });
  it('checks the data, the kNN monitor, maxSteps and checkpointDir before the first step', async () => {
    const steps: number[] = [];
    const m = new NPair(tiny);
    m.on('step', (e) => steps.push(e.step));
    const bad = { x: new Float32Array(60), n: 64, sampleShape: [6], name: 'hand-made' };
    await expect(m.fit(bad, { epochs: 1, batchSize: 8 })).rejects.toThrow(/data: 64 rows of \[6\] need 384 values, x has 60/);
    await expect(m.fit({ ...data, labels: new Int32Array(3) }, { epochs: 1, batchSize: 8 })).rejects.toThrow(/data.labels: 3 labels for 64 rows/);
    const labelled = { ...data, labels: new Int32Array(64).map((_, i) => i % 3) };
    const knn = (o: object) => m.fit(data, { epochs: 1, batchSize: 8, knn: { train: labelled, test: labelled, ...o } });
    await expect(knn({ train: data })).rejects.toThrow(/knn.train: the monitor needs labelled data/);
    await expect(knn({ test: fromArray(new Float32Array(14), [7], { labels: new Int32Array(2) }) })).rejects.toThrow(/knn.test: 7 features per row, the training data has 6/);
    await expect(knn({ k: 0 })).rejects.toThrow(/knn.k/);
    await expect(knn({ every: 0 })).rejects.toThrow(/knn.every/);
    await expect(knn({ temperature: -1 })).rejects.toThrow(/knn.temperature/);
    await expect(m.fit(data, { epochs: 1, batchSize: 8, maxSteps: -1 })).rejects.toThrow(/maxSteps/);
    const file = path.join(os.tmpdir(), `imix-not-a-dir-${process.pid}`);
    fs.writeFileSync(file, 'x');
    try {
      await expect(m.fit(data, { epochs: 1, batchSize: 8, checkpointDir: file })).rejects.toThrow(/checkpointDir: .* exists and is not a folder/);
      await expect(m.fit(data, { epochs: 1, batchSize: 8, checkpointDir: path.join(file, 'sub') })).rejects.toThrow(/checkpointDir: cannot write checkpoints/);
    } finally {
      fs.rmSync(file);
    }
    expect(steps).toEqual([]);
    // Labels without numClasses (a hand-made dataset) still give the monitor every class.
    const { numClasses: _, ...noCount } = labelled;
    const r = await m.fit(data, { epochs: 1, batchSize: 8, knn: { train: noCount, test: noCount, k: 5 } });
    expect(r.knnAccuracy).toHaveLength(1);
    expect(r.knnAccuracy[0]).toBeGreaterThan(0);
    m.dispose();
  });
  it('one fit at a time per model; a disposed model is a DisposedError', async () => {
    const m = new NPair(tiny);
    const first = m.fit(data, { epochs: 2, batchSize: 8 });
    await expect(m.fit(data, { epochs: 1, batchSize: 8 })).rejects.toThrow(/already training/);
    expect((await first).steps).toBe(16);
    // After the first fit ends, the model trains again.
    expect((await m.fit(data, { epochs: 3, batchSize: 8 })).steps).toBe(8);
    m.dispose();
    expect(() => m.embed(data)).toThrow(DisposedError);
    expect(() => m.features).toThrow(/features: this npair model was disposed/);
    await expect(m.fit(data, { epochs: 4, batchSize: 8 })).rejects.toThrow(/fit: this npair model was disposed/);
    await expect(m.save(os.tmpdir())).rejects.toThrow(DisposedError);
    m.dispose(); // twice is harmless
    // Disposing during a fit stops it at the next step, with the same error.
    const n = new NPair(tiny);
    const running = n.fit(data, { epochs: 5, batchSize: 8, onStep: (e) => e.step === 3 && n.dispose() });
    await expect(running).rejects.toThrow(DisposedError);
  });
});

describe('fit again with another batch size or data', () => {
  const rows = (n: number, seed = 1) => fromArray(new Float32Array(n * 6).map((_, i) => Math.sin(seed * 1.7 + i * 0.37)), [6]);
  const data = rows(128);

  it('at an epoch boundary any batch size or row count continues, with whole epochs', async () => {
    const m = new NPair(tiny);
    await m.fit(data, { epochs: 1, batchSize: 16 }); // 8 steps
    // A larger batch: epoch 1 has 2 steps (it ran 0 and reported the old epoch's loss).
    const larger = await m.fit(data, { epochs: 2, batchSize: 64 });
    expect(larger.steps).toBe(2);
    expect(larger.epochLosses[0]).toBeCloseTo((larger.losses[0]! + larger.losses[1]!) / 2, 12);
    // A smaller batch: 8 steps (it sliced the order at negative offsets and threw).
    const smaller = await m.fit(data, { epochs: 3, batchSize: 16 });
    expect(smaller.steps).toBe(8);
    // More rows: 512 / 32 = 16 steps.
    expect((await m.fit(rows(512, 2), { epochs: 4, batchSize: 32 })).steps).toBe(16);
    expect([m.epoch, m.step]).toEqual([4, 34]);
    m.dispose();
  });

  it("the schedules follow the position in this fit's epochs", async () => {
    const m = new NPair({ ...tiny, optimizer: { lr: 0.1 } });
    await m.fit(data, { epochs: 1, batchSize: 32 }); // 4 steps of 32
    const lrs: number[] = [];
    await m.fit(data, { epochs: 2, batchSize: 16, onStep: (e) => lrs.push(e.lr) });
    // Epoch 1 of 2 at 8 steps an epoch starts halfway down the cosine: lr/2, not at step 4 of 16.
    expect(lrs[0]).toBeCloseTo(0.05, 12);
    expect(lrs).toHaveLength(8);
    m.dispose();
  });

  it('an unfinished epoch continues only with its batch size and row count, in memory and from a checkpoint', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imix-partial-'));
    const m = new NPair(tiny);
    await m.fit(data, { epochs: 2, batchSize: 16, maxSteps: 5, checkpointDir: dir });
    await expect(m.fit(data, { epochs: 2, batchSize: 64 })).rejects.toThrow(
      /batchSize: epoch 0 was stopped after 5 of its 8 steps with batchSize 16; continue it with batchSize 16/,
    );
    await expect(m.fit(data, { epochs: 2, batchSize: 8 })).rejects.toThrow(ArgumentError);
    await expect(m.fit(rows(200), { epochs: 2, batchSize: 16 })).rejects.toThrow(/data: epoch 0 was stopped after 5 of its 8 steps on a dataset of 128 rows, this one has 200/);
    expect(m.step).toBe(5);
    // The same checks after load (the checkpoint records the unfinished epoch).
    const b = await new NPair(tiny).load(dir);
    await expect(b.fit(data, { epochs: 2, batchSize: 32 })).rejects.toThrow(/batchSize: epoch 0 was stopped after 5/);
    const rest = await b.fit(data, { epochs: 2, batchSize: 16 });
    const rest0 = await m.fit(data, { epochs: 2, batchSize: 16 });
    expect(rest.steps).toBe(11);
    expect(rest.losses).toEqual(rest0.losses);
    // Once the epoch is finished, anything goes again.
    expect((await b.fit(data, { epochs: 3, batchSize: 64 })).steps).toBe(2);
    for (const x of [m, b]) x.dispose();
    fs.rmSync(dir, { recursive: true });
  });

  it('rows edited in place between two fits are trained on', async () => {
    const x = rows(64), zeros = fromArray(new Float32Array(64 * 6), [6]);
    const a = new NPair(tiny), b = new NPair(tiny);
    await a.fit(x, { epochs: 1, batchSize: 16 });
    await b.fit(rows(64), { epochs: 1, batchSize: 16 });
    x.x.fill(0);
    const ra = await a.fit(x, { epochs: 2, batchSize: 16 });
    const rb = await b.fit(zeros, { epochs: 2, batchSize: 16 });
    expect(ra.losses).toEqual(rb.losses);
    for (const m of [a, b]) m.dispose();
  });

  it('a diverged loss names the step as progress events count it (from 1)', async () => {
    const steps: number[] = [];
    const m = new NPair({ ...tiny, optimizer: { lr: 1e30 } });
    await expect(m.fit(data, { epochs: 3, batchSize: 8, onStep: (e) => steps.push(e.step) })).rejects.toThrow(/loss: became NaN at step 2;/);
    expect(steps).toEqual([1]);
    m.dispose();
  });
});

describe('save and load check the model', () => {
  const data = fromArray(new Float32Array(64 * 6).map((_, i) => Math.cos(i * 0.3)), [6]);
  const moco = { ...tiny, queueSize: 32, mix: { kind: 'mixup' as const } };

  it('save before the model is built is an ArgumentError', async () => {
    await expect(new NPair(tiny).save(os.tmpdir())).rejects.toThrow(/save: the model is not built yet \(fit or load it first\)/);
    await expect(new NPair(tiny).save(os.tmpdir())).rejects.toThrow(ArgumentError);
  });

  it('a checkpoint that does not fit leaves the model as it was', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imix-load-'));
    const src = new MoCo(moco);
    await src.fit(data, { epochs: 1, batchSize: 16, checkpointDir: dir });
    // Unbuilt: stays unbuilt, so it can still be fitted on other data.
    const n = new NPair(tiny);
    await expect(n.load(dir)).rejects.toThrow(/checkpoint is of method 'moco', not 'npair'/);
    const m = new MoCo({ ...moco, optimizer: { kind: 'lars' } });
    await expect(m.load(dir)).rejects.toThrow(/optimizer.kind/);
    expect(() => m.features).toThrow(/not built/);
    await m.fit(fromArray(new Float32Array(64 * 5).map((_, i) => Math.sin(i)), [5]), { epochs: 1, batchSize: 16 });
    // Built and trained: its state is untouched.
    const w = new MoCo({ ...moco, queueSize: 40 }); // below 64 rows − 16 (a queue of 48 would reach the batch's own keys)
    await w.fit(data, { epochs: 1, batchSize: 16 });
    const before = w.embed(data), step = w.step;
    await expect(w.load(dir)).rejects.toThrow(/queueSize: the checkpoint in .* was trained with 32, this model has 40/);
    expect(w.embed(data)).toEqual(before);
    expect(w.step).toBe(step);
    for (const x of [src, n, m, w]) x.dispose();
    fs.rmSync(dir, { recursive: true });
  });

  it('settings that change how training continues must match, named', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imix-load-'));
    const src = new MoCo(moco);
    await src.fit(data, { epochs: 1, batchSize: 16, checkpointDir: dir });
    const cases: Array<[object, RegExp]> = [
      [{ optimizer: { kind: 'lars' } }, /optimizer.kind: the checkpoint in .* was trained with "sgd", this model has "lars"/],
      [{ optimizer: { kind: 'adamw' } }, /optimizer.kind/],
      [{ optimizer: { lr: 0.1 } }, /optimizer.lr: .* trained with 0.05, this model has 0.1/],
      [{ optimizer: { nesterov: true } }, /optimizer.nesterov/],
      [{ optimizer: { warmupEpochs: 2 } }, /optimizer.warmupEpochs/],
      [{ mix: { kind: 'none' } }, /mix.kind/],
      [{ mix: { kind: 'mixup', alpha: 0.5 } }, /mix.alpha/],
      [{ temperature: 0.5 }, /temperature/],
      [{ seed: 7 }, /seed: .* trained with 1, this model has 7/],
      [{ momentum: 0.9 }, /momentum/],
      [{ views: inputDrop(0.5) }, /views/],
    ];
    for (const [o, err] of cases) {
      const m = new MoCo({ ...moco, ...o });
      await expect(m.load(dir), JSON.stringify(o)).rejects.toThrow(err);
      await expect(m.load(dir)).rejects.toThrow(ArgumentError);
      m.dispose();
    }
    // Defaults spelled out are the same settings; a custom view cannot be compared and is not.
    const same = new MoCo({ ...moco, optimizer: { kind: 'sgd', lr: 0.05, momentum: 0.9, nesterov: false }, temperature: 0.2 });
    await same.load(dir);
    const custom = new MoCo({ ...moco, views: Object.assign(() => {}, {}) as never });
    await custom.load(dir);
    expect([same.step, custom.step]).toEqual([4, 4]);
    for (const x of [src, same, custom]) x.dispose();
    fs.rmSync(dir, { recursive: true });
  });
});

describe('training on real data (bundled Fashion-MNIST)', () => {
  const all = fashionMnist('train');
  const train = subset(all, 0, 2048), memory = subset(all, 2048, 4048), test = subset(all, 4048, 5048);
  const common = { encoder: { kind: 'mlp' as const, hidden: [256] }, projection: [128, 64] as [number, number], seed: 3 };
  const knn = { train: memory, test, k: 50 };
  const methods: Array<[string, () => ContrastiveMethod]> = [
    ['npair + mixup', () => new NPair({ ...common, mix: { kind: 'mixup' }, optimizer: { lr: 0.1 } })],
    ['moco + mixup', () => new MoCo({ ...common, mix: { kind: 'mixup' }, queueSize: 1024, optimizer: { lr: 0.1 } })],
    ['byol + mixup', () => new BYOL({ ...common, mix: { kind: 'mixup' }, optimizer: { lr: 0.1 } })],
    ['npair + cutmix', () => new NPair({ ...common, mix: { kind: 'cutmix' }, optimizer: { lr: 0.1 } })],
    ['simclr (NT-Xent)', () => new SimCLR({ ...common, optimizer: { lr: 0.1 } })],
    ['moco baseline', () => new MoCo({ ...common, queueSize: 1024, optimizer: { lr: 0.1 } })],
    // SimSiam (no momentum target) overshoots at lr 0.1 on this short run: its kNN peaks after epoch 1.
    ['simsiam + mixup', () => new SimSiam({ ...common, mix: { kind: 'mixup' }, optimizer: { lr: 0.05 } })],
  ];
  for (const [name, build] of methods) {
    it(`${name}: loss falls and kNN accuracy beats the untrained encoder`, async () => {
      const m = build();
      m.build(train.sampleShape);
      const { knnMonitor } = await import('../lib/eval/knn');
      const before = knnMonitor(m, knn);
      const events: number[] = [];
      m.on('epoch', (e) => events.push(e.epoch));
      const r = await m.fit(train, { epochs: 4, batchSize: 128, knn });
      expect(events).toEqual([1, 2, 3, 4]); // the epoch just finished, counted from 1
      const first = r.losses.slice(0, 4).reduce((a, b) => a + b) / 4;
      const last = r.losses.slice(-4).reduce((a, b) => a + b) / 4;
      expect(last).toBeLessThan(first);
      expect(r.knnAccuracy.at(-1)!).toBeGreaterThan(before);
      m.dispose();
    });
  }

  it('stop-and-resume equals the uninterrupted run, and abort saves a checkpoint', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imix-resume-'));
    const cfg = () => new MoCo({ ...common, mix: { kind: 'mixup' }, queueSize: 256, optimizer: { lr: 0.05 } });
    const small = subset(all, 0, 512);
    const full = cfg();
    const ref = await full.fit(small, { epochs: 2, batchSize: 128 });
    // Interrupt after 3 steps via AbortSignal, then resume from the checkpoint.
    const ac = new AbortController();
    const a = cfg();
    const partial = await a.fit(small, {
      epochs: 2,
      batchSize: 128,
      signal: ac.signal,
      checkpointDir: dir,
      onStep: (e) => {
        if (e.step === 3) ac.abort();
      },
    });
    expect(partial.stopped).toBe('aborted');
    expect(partial.losses).toEqual(ref.losses.slice(0, 3));
    const b = await cfg().load(dir);
    expect(b.step).toBe(3);
    const rest = await b.fit(small, { epochs: 2, batchSize: 128 });
    expect([...partial.losses, ...rest.losses]).toEqual(ref.losses);
    // the resumed epoch's mean covers the steps before the interruption too
    expect(rest.epochLosses).toEqual(ref.epochLosses);
    // A checkpoint of another architecture is a clear error.
    const other = new MoCo({ ...common, encoder: { kind: 'mlp', hidden: [128] }, queueSize: 256 });
    await expect(other.load(dir)).rejects.toThrow(/architecture/);
    fs.writeFileSync(path.join(dir, 'checkpoint.safetensors'), 'damaged');
    await expect(cfg().load(dir)).rejects.toThrow(/truncated|damaged|safetensors/);
    for (const m of [full, a, b, other]) m.dispose();
  });
});

describe('views', () => {
  it('compose checks its arguments at once, not at the first training step', async () => {
    const { views: V } = await import('../lib/index');
    expect(() => V.compose(42 as never)).toThrow(/views\[0\]: expected a view function \(see views\.\*\), got number/);
    expect(() => V.compose(V.inputDrop(0.1), null as never)).toThrow(ArgumentError);
    expect(V.compose(V.inputDrop(0.1), V.gaussianNoise(0.1)).describe).toBe('inputDrop(0.1) ∘ gaussianNoise(0.1)');
  });
  it('an image view on flat data is a ShapeError when the model is built', async () => {
    const { views: V } = await import('../lib/index');
    const m = new NPair({ ...tiny, views: V.compose(V.randomCrop(2), V.inputDrop(0.1)) });
    expect(() => m.build([6])).toThrow(/views: randomCrop\(2\) ∘ inputDrop\(0.1\) needs image samples/);
    expect(() => new NPair({ ...tiny, views: V.horizontalFlip() }).build([1, 4, 4])).not.toThrow();
  });
});
