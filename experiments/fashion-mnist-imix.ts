/**
 * The i-Mix experiment on Fashion-MNIST as domain-agnostic data (docs/results.md):
 * flattened pixels, input-drop views, an MLP encoder; pretrain NPair, MoCo and
 * BYOL on a 10k-image subset, each with and without i-Mix (same seed, epochs,
 * learning rate), then a linear probe on the frozen encoder over the full
 * 60k training set, accuracy on the 10k test set.
 *
 *   node dist/experiments/fashion-mnist-imix.js [--epochs 100] [--out experiments/results] [--only npair,moco] [--threads N]
 *
 * Needs the full dataset (Debian: apt-get install dataset-fashion-mnist).
 * Writes one JSON per run and results.json; prints the table.
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BYOL, MoCo, NPair, type ContrastiveMethod, type MethodOptions, setNumThreads, views } from '../lib/index';
import { loadIdxDataset, subset, type Dataset } from '../lib/data/dataset';
import { linearProbe } from '../lib/eval/probe';
import { writeFileAtomic } from '../lib/io/atomic';
import { arg } from './common';

const SRC = process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
const EPOCHS = Number(arg('epochs', '100'));
const OUT = arg('out', 'experiments/results');
const ONLY = arg('only', '');
const THREADS = arg('threads', '');

function load(split: 'train' | 't10k'): Dataset {
  const ds = loadIdxDataset(path.join(SRC, `${split}-images-idx3-ubyte.gz`), path.join(SRC, `${split}-labels-idx1-ubyte.gz`));
  return { ...ds, sampleShape: [784] }; // domain-agnostic: flattened pixels
}

interface Run {
  method: string;
  mix: string;
  pretrainSeconds: number;
  finalLoss: number;
  epochLosses: number[];
  knnAccuracy: number[];
  probe: { trainAccuracy: number; testAccuracy: number };
}

async function main(): Promise<void> {
  if (THREADS) setNumThreads(Number(THREADS));
  const train = load('train'), test = load('t10k');
  const pre = subset(train, 0, 10_000);
  const monitor = { train: subset(train, 10_000, 20_000), test: subset(test, 0, 2_000), k: 200, every: 10 };
  fs.mkdirSync(OUT, { recursive: true });
  const common = (mix: 'none' | 'mixup'): MethodOptions => ({
    encoder: { kind: 'mlp', hidden: [512, 512] },
    projection: [512, 128],
    mix: { kind: mix, alpha: 1 },
    temperature: 0.2,
    views: views.inputDrop(0.2),
    optimizer: { kind: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 5e-4, warmupEpochs: 5 },
    seed: 7,
  });
  const makers: Record<string, (mix: 'none' | 'mixup') => ContrastiveMethod> = {
    npair: (mix) => new NPair(common(mix)),
    moco: (mix) => new MoCo({ ...common(mix), queueSize: 4096, momentum: 0.99 }),
    byol: (mix) => new BYOL({ ...common(mix), momentum: 0.99 }),
  };
  const runs: Run[] = [];
  for (const [name, make] of Object.entries(makers)) {
    if (ONLY && !ONLY.split(',').includes(name)) continue;
    for (const mix of ['none', 'mixup'] as const) {
      const m = make(mix);
      const t0 = performance.now();
      const r = await m.fit(pre, {
        epochs: EPOCHS,
        batchSize: 256,
        knn: monitor,
        onEpoch: (e) => {
          if (e.epoch % 10 === 0 || e.knnAccuracy !== undefined) // epochs count from 1
            process.stderr.write(`${name}/${mix} epoch ${e.epoch}: loss ${e.loss.toFixed(4)}${e.knnAccuracy !== undefined ? ` knn ${(100 * e.knnAccuracy).toFixed(2)}%` : ''}\n`);
        },
      });
      const seconds = (performance.now() - t0) / 1000;
      const probe = linearProbe({ trainFeatures: m.embed(train), trainLabels: train.labels!, testFeatures: m.embed(test), testLabels: test.labels!, D: m.features, numClasses: 10 }, { epochs: 30, lr: 1e-3, seed: 7 });
      const run: Run = {
        method: name,
        mix,
        pretrainSeconds: seconds,
        finalLoss: r.epochLosses.at(-1)!,
        epochLosses: r.epochLosses,
        knnAccuracy: r.knnAccuracy,
        probe: { trainAccuracy: probe.trainAccuracy, testAccuracy: probe.testAccuracy },
      };
      runs.push(run);
      writeFileAtomic(path.join(OUT, `${name}-${mix}.json`), JSON.stringify(run, null, 2) + '\n');
      console.log(`${name.padEnd(6)} ${mix.padEnd(6)} linear probe test accuracy ${(100 * probe.testAccuracy).toFixed(2)}%  (pretrain ${seconds.toFixed(0)} s)`);
      m.dispose();
    }
  }
  writeFileAtomic(path.join(OUT, 'results.json'), JSON.stringify({ epochs: EPOCHS, runs }, null, 2) + '\n');
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
