/**
 * i-Mix on Fashion-MNIST as images (docs/results.md, "Convolutional
 * encoders"): a ResNet-20 encoder on [1, 28, 28] images with domain-specific
 * views (random resized crop + flip), N-pair, MoCo and BYOL, each without and
 * with i-Mix (MixUp), three seeds; on one seed also CutMix, and the
 * domain-agnostic recipe (input drop only) for the ResNet and for the MLP, so
 * the table separates what the convolutional encoder and what the
 * augmentation each add. Evaluation: a linear probe on the frozen encoder,
 * trained on the full 60,000-image training set, and kNN (k = 200) with the
 * full training set as memory, both on the full 10,000-image test set.
 *
 *   node dist/experiments/fashion-mnist-conv.js [--out experiments/results-conv] [--only REGEX] [--list] [--threads N]
 *
 * The experiment is a list of pieces (one pretraining run each, a few
 * minutes); a piece whose result file exists is skipped, and a piece that was
 * stopped (Ctrl-C, SIGTERM, a killed process) resumes from the checkpoint it
 * writes at the end of every epoch and on a signal. So the command can be
 * stopped and rerun at will, and `--only` runs a subset (e.g. `--only s1`).
 * Needs the full dataset (Debian: apt-get install dataset-fashion-mnist).
 * Writes `<piece>.json` per piece; `experiments/report-conv.js` makes the
 * tables and plots.
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setNumThreads } from '../lib/index';
import { type Dataset, loadIdxDataset } from '../lib/data/dataset';
import { accuracy, knnPredict } from '../lib/eval/knn';
import { linearProbe } from '../lib/eval/probe';
import { writeFileAtomic } from '../lib/io/atomic';
import { createMethod, type MethodSettings } from '../lib/cli/method';
import { type MixName, parseEncoder, parseViews } from '../lib/cli/options';
import { arg } from './common';

const SRC = process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
const OUT = arg('out', 'experiments/results-conv');
const ONLY = new RegExp(arg('only', '.'));
const THREADS = arg('threads', '');

/** The protocol every piece shares (recorded in each result file). */
export const PROTOCOL = {
  /** Pretraining rows: the full training set (labels unused). */
  pretrainRows: 60_000,
  epochs: 3,
  batchSize: 256,
  encoder: 'resnet20:0.5',
  mlpEncoder: 'mlp:512,512',
  projection: [512, 128] as [number, number],
  temperature: 0.2,
  optimizer: { kind: 'sgd' as const, lr: 0.1, momentum: 0.9, weightDecay: 5e-4, warmupEpochs: 0 },
  /** Domain-specific views: SimCLR's crop for small images (scale 0.2–1) and flip. */
  imageViews: 'rrc:0.2+flip',
  /** Domain-agnostic views: the i-Mix paper's input drop. */
  agnosticViews: 'drop:0.2',
  moco: { queueSize: 4096, momentum: 0.99 },
  byol: { momentum: 0.99 },
  probe: { epochs: 30, lr: 1e-3 },
  knn: { k: 200, temperature: 0.1 },
  /** kNN monitor after every epoch: memory = training rows 0–9,999, queries = test rows 0–1,999. */
  monitor: { memory: 10_000, queries: 2_000 },
};

export interface Piece {
  name: string;
  method: 'npair' | 'moco' | 'byol';
  mix: MixName;
  seed: number;
  encoder: string;
  views: string;
  /** The data as the encoder sees it: images [1, 28, 28] or flat pixels [784]. */
  flat: boolean;
  /** No pretraining: the randomly initialized encoder, evaluated as is (a baseline for scale). */
  untrained?: boolean;
  /** Epochs when not the protocol's (the longer BYOL pieces). */
  epochs?: number;
}

const METHODS = ['npair', 'moco', 'byol'] as const;

/** Every piece of the experiment, in the order they run (seed 1 first, so a partial run already has one full row). */
export function pieces(): Piece[] {
  const P = PROTOCOL;
  const out: Piece[] = [];
  const add = (tag: string, p: Omit<Piece, 'name'>) => out.push({ name: `${tag}-${p.method}-${p.mix}-s${p.seed}`, ...p });
  for (const seed of [1, 2, 3])
    for (const method of METHODS)
      for (const mix of ['none', 'mixup'] as const) {
        add('conv-aug', { method, mix, seed, encoder: P.encoder, views: P.imageViews, flat: false });
        if (seed === 1 && mix === 'mixup') add('conv-aug', { method, mix: 'cutmix', seed, encoder: P.encoder, views: P.imageViews, flat: false });
      }
  out.push({ name: 'conv-untrained-s1', method: 'npair', mix: 'none', seed: 1, encoder: P.encoder, views: P.imageViews, flat: false, untrained: true });
  for (const method of METHODS)
    for (const mix of ['none', 'mixup'] as const) {
      add('conv-drop', { method, mix, seed: 1, encoder: P.encoder, views: P.agnosticViews, flat: false });
      add('mlp-drop', { method, mix, seed: 1, encoder: P.mlpEncoder, views: P.agnosticViews, flat: true });
    }
  // BYOL showed no MixUp gain at 3 epochs while its baseline was still at the
  // random encoder's level: the same pair trained 10 epochs.
  for (const mix of ['none', 'mixup'] as const)
    out.push({ name: `conv-aug-byol-${mix}-e10-s1`, method: 'byol', mix, seed: 1, encoder: P.encoder, views: P.imageViews, flat: false, epochs: 10 });
  return out;
}

function load(split: 'train' | 't10k', flat: boolean): Dataset {
  const ds = loadIdxDataset(path.join(SRC, `${split}-images-idx3-ubyte.gz`), path.join(SRC, `${split}-labels-idx1-ubyte.gz`));
  return flat ? { ...ds, sampleShape: [784] } : ds;
}

function firstRows(ds: Dataset, n: number): Dataset {
  const F = ds.x.length / ds.n;
  return { ...ds, n, x: ds.x.subarray(0, n * F), labels: ds.labels?.subarray(0, n) };
}

function settings(p: Piece): MethodSettings {
  const P = PROTOCOL;
  return {
    method: p.method,
    encoder: parseEncoder(p.encoder),
    projection: P.projection,
    mix: { kind: p.mix, alpha: 1 },
    temperature: P.temperature,
    views: parseViews(p.views),
    optimizer: P.optimizer,
    seed: p.seed,
    own: p.method === 'moco' ? P.moco : p.method === 'byol' ? P.byol : {},
  };
}

interface EpochRecord {
  epoch: number;
  loss: number;
  knn?: number;
  seconds: number;
}

async function runPiece(p: Piece, train: Dataset, test: Dataset): Promise<void> {
  const P = PROTOCOL;
  const ckpt = path.join(OUT, 'checkpoints', p.name);
  const log = path.join(OUT, `${p.name}.epochs.jsonl`);
  const m = await createMethod(settings(p), 'cpu');
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    if (fs.existsSync(ckpt)) {
      try {
        await m.load(ckpt);
        process.stderr.write(`${p.name}: resuming at epoch ${m.epoch}\n`);
      } catch {
        /* no checkpoint written yet: start over */
      }
    }
    // Epoch records of earlier processes stay; an epoch redone after a kill replaces its line.
    const records = new Map<number, EpochRecord>();
    if (fs.existsSync(log))
      for (const line of fs.readFileSync(log, 'utf8').split('\n').filter(Boolean)) {
        const r = JSON.parse(line) as EpochRecord;
        records.set(r.epoch, r);
      }
    if (p.untrained) m.build(train.sampleShape);
    let t0 = performance.now();
    const r = p.untrained ? { stopped: 'completed' } : await m.fit(firstRows(train, P.pretrainRows), {
      epochs: p.epochs ?? P.epochs,
      batchSize: P.batchSize,
      checkpointDir: ckpt,
      signal: stop.signal,
      knn: { train: firstRows(train, P.monitor.memory), test: firstRows(test, P.monitor.queries), k: P.knn.k, temperature: P.knn.temperature },
      onEpoch: (e) => {
        const rec: EpochRecord = { epoch: e.epoch, loss: e.loss, knn: e.knnAccuracy, seconds: (performance.now() - t0) / 1000 };
        t0 = performance.now();
        records.set(rec.epoch, rec);
        fs.appendFileSync(log, JSON.stringify(rec) + '\n');
        process.stderr.write(`${p.name} epoch ${rec.epoch}/${p.epochs ?? P.epochs}: loss ${rec.loss.toFixed(4)} kNN ${rec.knn !== undefined ? (100 * rec.knn).toFixed(2) + '%' : '-'} (${rec.seconds.toFixed(0)} s)\n`);
      },
    });
    if (r.stopped !== 'completed') {
      process.stderr.write(`${p.name}: stopped at epoch ${m.epoch}; rerun to resume\n`);
      process.exitCode = 130;
      return;
    }
    const e0 = performance.now();
    const fTrain = m.embed(train), fTest = m.embed(test);
    const probe = linearProbe({ trainFeatures: fTrain, trainLabels: train.labels!, testFeatures: fTest, testLabels: test.labels!, D: m.features, numClasses: 10 }, { ...P.probe, seed: p.seed });
    const knn = accuracy(knnPredict(fTrain, train.labels!, fTest, m.features, 10, P.knn), test.labels!);
    const epochs = [...records.values()].sort((a, b) => a.epoch - b.epoch);
    const result = {
      piece: p,
      protocol: P,
      features: m.features,
      pretrainSeconds: epochs.reduce((s, e) => s + e.seconds, 0),
      evalSeconds: (performance.now() - e0) / 1000,
      epochs,
      probe: { trainAccuracy: probe.trainAccuracy, testAccuracy: probe.testAccuracy },
      knnAccuracy: knn,
    };
    writeFileAtomic(path.join(OUT, `${p.name}.json`), JSON.stringify(result, null, 2) + '\n');
    fs.rmSync(ckpt, { recursive: true, force: true });
    console.log(`${p.name.padEnd(28)} probe ${(100 * probe.testAccuracy).toFixed(2)}%  kNN ${(100 * knn).toFixed(2)}%  (pretrain ${result.pretrainSeconds.toFixed(0)} s)`);
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    m.dispose();
  }
}

async function main(): Promise<void> {
  if (THREADS) setNumThreads(Number(THREADS));
  const todo = pieces().filter((p) => ONLY.test(p.name));
  if (process.argv.includes('--list')) {
    for (const p of todo) console.log(`${fs.existsSync(path.join(OUT, `${p.name}.json`)) ? 'done' : 'todo'}  ${p.name}`);
    return;
  }
  fs.mkdirSync(OUT, { recursive: true });
  const data = { images: { train: load('train', false), test: load('t10k', false) }, flat: { train: load('train', true), test: load('t10k', true) } };
  for (const p of todo) {
    if (fs.existsSync(path.join(OUT, `${p.name}.json`))) continue;
    const d = p.flat ? data.flat : data.images;
    await runPiece(p, d.train, d.test);
    if (process.exitCode) return;
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
