/**
 * i-Mix on tables, trained and evaluated from the CLI as a user would
 * (docs/results.md, "Tables"): N-pair, MoCo and BYOL, each without and with
 * i-Mix (MixUp), three seeds, on
 *   - `fmnist`: Fashion-MNIST as rows (784 pixels, the protocol at the top of
 *     docs/results.md: the first 10,000 training images, input drop 0.2,
 *     50 epochs; probes on the full 60,000/10,000 split);
 *   - `dna`: mlbench's DNA (3,186 rows × 180 binary features, 3 classes;
 *     a stratified 20% holdout drawn by the seed), with input drop 0.2 and
 *     with SCARF's resample corruption 0.6.
 * Each run is then probed with `imix eval`: the linear probe on all training
 * labels, and the few-label probe (`--label-fraction`, 5 draws); every eval
 * also runs the same probe on the raw standardized features.
 *
 *   node dist/experiments/tables.js [--out experiments/results-tables] [--only REGEX] [--list] [--threads N]
 *
 * Data: Debian's dataset-fashion-mnist, and DNA written as CSV by
 * `scripts/mlbench-csv.sh DNA experiments/data` (r-cran-mlbench). A piece
 * whose result file exists is skipped; a piece that was stopped resumes its
 * run folder (`imix train --resume`). Writes `<piece>.json`;
 * `experiments/report-tables.js` makes the tables.
 * @module
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../lib/io/atomic';
import { arg } from './common';

const OUT = arg('out', 'experiments/results-tables');
const ONLY = new RegExp(arg('only', '.'));
const THREADS = arg('threads', '');
const FMNIST = process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
const DATA = arg('data', 'experiments/data');

/** One dataset's training command line and its evaluation settings. */
export interface Table {
  name: string;
  /** `imix train` options for the data and its split. */
  data: string[];
  /** `imix eval --data …` options, when the probes use more rows than pretraining did. */
  evalData: string[];
  views: string[];
  train: string[];
  /** The few-label probe's fraction of each class's training labels. */
  labelFraction: number;
}

const COMMON = ['--batch', '256', '--lr', '0.1', '--warmup', '5', '--weight-decay', '5e-4', '--temperature', '0.2', '--encoder', 'mlp:512,512', '--projection', '512,128'];

export const TABLES: Table[] = [
  {
    name: 'fmnist',
    data: ['--data', FMNIST, '--limit', '10000'],
    evalData: ['--data', FMNIST],
    views: ['drop:0.2'],
    train: [...COMMON, '--epochs', '50', '--queue', '4096', '--momentum', '0.99', '--knn-every', '10'],
    labelFraction: 0.01,
  },
  {
    name: 'dna',
    data: ['--data', path.join(DATA, 'dna.csv'), '--label-column', 'Class', '--holdout', '0.2'],
    evalData: [],
    views: ['drop:0.2', 'resample:0.6'],
    // 2,548 training rows: 10 steps an epoch; a queue of 1,024 stays clear of the batch's own keys
    train: [...COMMON, '--epochs', '100', '--warmup', '10', '--queue', '1024', '--momentum', '0.99', '--knn-every', '20'],
    labelFraction: 0.05,
  },
];

export interface Piece {
  name: string;
  table: Table;
  method: 'npair' | 'moco' | 'byol';
  mix: 'none' | 'mixup';
  views: string;
  seed: number;
  /** Beta(α, α) for MixUp's λ when not the default 1 (the ablation pieces). */
  alpha?: number;
}

export function pieces(): Piece[] {
  const out: Piece[] = [];
  // DNA first: its pieces take about a minute each, Fashion-MNIST's several
  for (const table of [...TABLES].reverse())
    for (const seed of [1, 2, 3])
      for (const views of table.views)
        for (const method of ['npair', 'moco', 'byol'] as const)
          for (const mix of ['none', 'mixup'] as const)
            out.push({ name: `${table.name}-${views.split(':')[0]}-${method}-${mix}-s${seed}`, table, method, mix, views, seed });
  // Ablation, after i-Mix did not help on DNA: a smaller α (λ nearer 0 or 1, milder mixing).
  const dna = TABLES.find((t) => t.name === 'dna')!;
  for (const seed of [1, 2, 3])
    for (const views of dna.views)
      out.push({ name: `dna-${views.split(':')[0]}-npair-mixup-a0.2-s${seed}`, table: dna, method: 'npair', mix: 'mixup', views, seed, alpha: 0.2 });
  return out;
}

const imix = (args: string[]): string => {
  const cli = path.join(__dirname, '..', '..', 'bin', 'imix.js');
  const threads = THREADS ? ['--threads', THREADS] : [];
  return execFileSync(process.execPath, [cli, ...args, ...threads], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
};

function runPiece(p: Piece): void {
  const dir = path.join(OUT, 'runs', p.name);
  const t0 = performance.now();
  if (fs.existsSync(path.join(dir, 'config.json'))) {
    imix(['train', '--resume', dir, '-q']);
  } else {
    imix(['train', ...p.table.data, ...p.table.train, '--method', p.method, '--mix', p.mix, '--views', p.views, ...(p.alpha === undefined ? [] : ['--alpha', String(p.alpha)]), '--seed', String(p.seed), '--out', dir, '--force', '-q']);
  }
  const trainSeconds = (performance.now() - t0) / 1000;
  const evalArgs = ['eval', dir, ...p.table.evalData, '--probe', 'linear', '--json'];
  const full = JSON.parse(imix(evalArgs));
  const few = JSON.parse(imix([...evalArgs, '--label-fraction', String(p.table.labelFraction), '--label-draws', '5']));
  const metrics = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const epochs = metrics.filter((m) => m.type === 'epoch');
  const result = {
    piece: p.name,
    table: p.table.name,
    method: p.method,
    mix: p.mix,
    views: p.views,
    seed: p.seed,
    alpha: p.alpha ?? 1,
    trainSeconds,
    epochs: epochs.map((e) => ({ epoch: e.epoch, loss: e.loss, knn: e.knnAccuracy, collapse: e.collapse })),
    linear: { encoder: full.linearProbe.testAccuracy, raw: full.raw.linearProbe.testAccuracy },
    fewLabel: {
      fraction: p.table.labelFraction,
      rows: few.labels.rows,
      encoder: few.linearProbe.testAccuracy,
      encoderStd: few.linearProbe.testAccuracyStd,
      raw: few.raw.linearProbe.testAccuracy,
      rawStd: few.raw.linearProbe.testAccuracyStd,
    },
    eval: { full, few },
  };
  writeFileAtomic(path.join(OUT, `${p.name}.json`), JSON.stringify(result, null, 2) + '\n');
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  console.log(`${p.name}: linear ${pct(result.linear.encoder)} (raw ${pct(result.linear.raw)}), ${p.table.labelFraction * 100}% labels ${pct(result.fewLabel.encoder)} (raw ${pct(result.fewLabel.raw)}), ${trainSeconds.toFixed(0)} s`);
}

function main(): void {
  const todo = pieces().filter((p) => ONLY.test(p.name));
  if (process.argv.includes('--list')) {
    for (const p of todo) console.log(`${fs.existsSync(path.join(OUT, `${p.name}.json`)) ? 'done' : 'todo'}  ${p.name}`);
    return;
  }
  fs.mkdirSync(OUT, { recursive: true });
  for (const p of todo) if (!fs.existsSync(path.join(OUT, `${p.name}.json`))) runPiece(p);
}

if (require.main === module) main();
