/**
 * Does `precision: 'bf16'` cost accuracy? The Fashion-MNIST i-Mix experiment
 * (fashion-mnist-imix.ts: flattened pixels, input-drop views, MLP 784-512-512,
 * head 512-128; pretraining on a 10k-image subset, a linear probe on the
 * frozen encoder over the 60k training images, accuracy on the 10k test
 * images) run with MoCo + i-Mix at fp32 and at bf16, three seeds each, in
 * alternation, so both precisions see the same seeds and the same machine.
 * The baseline for scale is the fp32 column; the same pretraining without
 * i-Mix is docs/results.md's.
 *
 *   node dist/experiments/fashion-mnist-bf16.js [--epochs 20] [--seeds 1,2,3] [--out experiments/results-bf16]
 *
 * Needs the full dataset (Debian: dataset-fashion-mnist) and a CPU with
 * AVX512_BF16 (`imix info`: bf16 gemm). Writes one JSON per run and
 * results.json; prints the table.
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MoCo, type Precision, views } from '../lib/index';
import { loadIdxDataset, subset, type Dataset } from '../lib/data/dataset';
import { linearProbe } from '../lib/eval/probe';
import { writeFileAtomic } from '../lib/io/atomic';
import { arg, stat } from './common';

const SRC = process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
const EPOCHS = Number(arg('epochs', '20'));
const SEEDS = arg('seeds', '1,2,3').split(',').map(Number);
const OUT = arg('out', 'experiments/results-bf16');
const PRECISIONS: Precision[] = ['fp32', 'bf16'];

function load(split: 'train' | 't10k'): Dataset {
  const ds = loadIdxDataset(path.join(SRC, `${split}-images-idx3-ubyte.gz`), path.join(SRC, `${split}-labels-idx1-ubyte.gz`));
  return { ...ds, sampleShape: [784] };
}

interface Run {
  precision: Precision;
  seed: number;
  epochs: number;
  pretrainSeconds: number;
  finalLoss: number;
  testAccuracy: number;
}

async function main(): Promise<void> {
  const train = load('train'), test = load('t10k');
  const pre = subset(train, 0, 10_000);
  fs.mkdirSync(OUT, { recursive: true });
  const runs: Run[] = [];
  for (const seed of SEEDS) {
    for (const precision of PRECISIONS) {
      const m = new MoCo({
        encoder: { kind: 'mlp', hidden: [512, 512] },
        projection: [512, 128],
        mix: { kind: 'mixup', alpha: 1 },
        temperature: 0.2,
        views: views.inputDrop(0.2),
        optimizer: { kind: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 5e-4, warmupEpochs: Math.min(5, EPOCHS) },
        queueSize: 4096,
        momentum: 0.99,
        seed,
        precision,
      });
      const t0 = performance.now();
      const r = await m.fit(pre, { epochs: EPOCHS, batchSize: 256 });
      const seconds = (performance.now() - t0) / 1000;
      // The probe reads fp32 features of the encoder as trained (embedding runs at the method's precision).
      const probe = linearProbe({ trainFeatures: m.embed(train), trainLabels: train.labels!, testFeatures: m.embed(test), testLabels: test.labels!, D: m.features, numClasses: 10 }, { epochs: 30, lr: 1e-3, seed: 7 });
      const run: Run = { precision, seed, epochs: EPOCHS, pretrainSeconds: seconds, finalLoss: r.epochLosses.at(-1)!, testAccuracy: probe.testAccuracy };
      runs.push(run);
      writeFileAtomic(path.join(OUT, `moco-mixup-${precision}-seed${seed}.json`), JSON.stringify(run, null, 2) + '\n');
      console.log(`seed ${seed} ${precision}: linear probe test accuracy ${(100 * probe.testAccuracy).toFixed(2)}%, final loss ${run.finalLoss.toFixed(4)} (pretrain ${seconds.toFixed(0)} s)`);
      m.dispose();
    }
  }
  writeFileAtomic(path.join(OUT, 'results.json'), JSON.stringify({ epochs: EPOCHS, runs }, null, 2) + '\n');
  const acc = (p: Precision) => runs.filter((r) => r.precision === p).map((r) => r.testAccuracy);
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  console.log(`\nMoCo + i-Mix, ${EPOCHS} epochs, seeds ${SEEDS.join(', ')}: linear probe test accuracy (%)`);
  console.log('| precision | accuracy | pretrain s (mean) |\n|---|---:|---:|');
  for (const p of PRECISIONS) console.log(`| ${p} | ${stat(acc(p))} | ${mean(runs.filter((r) => r.precision === p).map((r) => r.pretrainSeconds)).toFixed(0)} |`);
  console.log(`bf16 − fp32: ${(100 * (mean(acc('bf16')) - mean(acc('fp32')))).toFixed(2)} points`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
