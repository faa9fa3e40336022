/**
 * Turns the pieces of experiments/fashion-mnist-conv.ts (one JSON each) into
 * the tables of docs/results.md ("Convolutional encoders") and the loss/kNN
 * plots under docs/results/ (seed 1 of every conv-aug run). Prints Markdown.
 *
 *   node dist/experiments/report-conv.js [experiments/results-conv]
 * @module
 */
import * as path from 'node:path';
import { renderPlot } from '../lib/cli/plot';
import { writeFileAtomic } from '../lib/io/atomic';
import { METHOD_NAMES as NAMES, METHODS, pct, readResults, stat } from './common';

interface Result {
  piece: { name: string; method: string; mix: string; seed: number; encoder: string; views: string; untrained?: boolean; epochs?: number };
  features: number;
  pretrainSeconds: number;
  epochs: Array<{ epoch: number; loss: number; knn?: number }>;
  probe: { trainAccuracy: number; testAccuracy: number };
  knnAccuracy: number;
}

const dir = process.argv[2] ?? 'experiments/results-conv';
const results = readResults<Result>(dir);
// The protocol's pieces (3 epochs); the longer BYOL pieces are reported apart.
const by = (tag: string, method: string, mix: string) =>
  results.filter((r) => r.piece.epochs === undefined && r.piece.name.startsWith(`${tag}-${method}-${mix}-`));

console.log('### Linear probe and kNN, ResNet-20 (width 0.5), domain-specific views, three seeds\n');
console.log('| method | probe: baseline | probe: i-Mix | kNN: baseline | kNN: i-Mix |');
console.log('|---|---:|---:|---:|---:|');
for (const m of METHODS) {
  const b = by('conv-aug', m, 'none'), x = by('conv-aug', m, 'mixup');
  console.log(
    `| ${NAMES[m]} | ${stat(b.map((r) => r.probe.testAccuracy))} | ${stat(x.map((r) => r.probe.testAccuracy))} | ${stat(b.map((r) => r.knnAccuracy))} | ${stat(x.map((r) => r.knnAccuracy))} |`,
  );
}

console.log('\n### Seed 1: encoder × views × mixing (linear probe / kNN, %)\n');
console.log('| encoder, views | method | none | MixUp | CutMix |');
console.log('|---|---|---:|---:|---:|');
const rows: Array<[string, string]> = [
  ['conv-aug', 'ResNet-20, rrc + flip'],
  ['conv-drop', 'ResNet-20, input drop'],
  ['mlp-drop', 'MLP, input drop'],
];
for (const [tag, label] of rows)
  for (const m of METHODS) {
    const cell = (mix: string) => {
      const r = by(tag, m, mix).find((x) => x.piece.seed === 1);
      return r ? `${pct(r.probe.testAccuracy)} / ${pct(r.knnAccuracy)}` : '—';
    };
    console.log(`| ${label} | ${NAMES[m]} | ${cell('none')} | ${cell('mixup')} | ${cell('cutmix')} |`);
  }
const untrained = results.find((r) => r.piece.untrained);
if (untrained) console.log(`\nUntrained ResNet-20 (random initialization): probe ${pct(untrained.probe.testAccuracy)}%, kNN ${pct(untrained.knnAccuracy)}%.`);

const longer = results.filter((r) => r.piece.epochs !== undefined);
if (longer.length) {
  console.log('\n### BYOL, ResNet-20, crop + flip, seed 1: 3 vs 10 epochs (linear probe / kNN, %)\n');
  console.log('| epochs | none | MixUp |');
  console.log('|---:|---:|---:|');
  const cell = (r: Result | undefined) => (r ? `${pct(r.probe.testAccuracy)} / ${pct(r.knnAccuracy)}` : '—');
  const three = (mix: string) => by('conv-aug', 'byol', mix).find((r) => r.piece.seed === 1);
  const more = (mix: string) => longer.find((r) => r.piece.method === 'byol' && r.piece.mix === mix);
  console.log(`| 3 | ${cell(three('none'))} | ${cell(three('mixup'))} |`);
  console.log(`| ${longer[0]!.piece.epochs} | ${cell(more('none'))} | ${cell(more('mixup'))} |`);
}

console.log('\n### Every run\n');
console.log('| run | features | pretrain s | final loss | kNN monitor (last) | probe train | probe test | kNN (60k memory) |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of results.sort((a, b) => a.piece.name.localeCompare(b.piece.name))) {
  const last = r.epochs.at(-1);
  console.log(
    `| ${r.piece.name} | ${r.features} | ${r.pretrainSeconds.toFixed(0)} | ${last ? last.loss.toFixed(4) : '—'} | ${pct(last?.knn)} | ${pct(r.probe.trainAccuracy)} | ${pct(r.probe.testAccuracy)} | ${pct(r.knnAccuracy)} |`,
  );
}

// Curves: seed 1 of every trained run.
for (const r of results) {
  if (r.piece.seed !== 1 || r.piece.untrained) continue;
  const svg = renderPlot({
    title: `${NAMES[r.piece.method] ?? r.piece.method}, ${r.piece.encoder}, ${r.piece.views}, ${r.piece.mix === 'none' ? 'baseline' : `i-Mix (${r.piece.mix})`}`,
    epochs: r.epochs.map((e) => ({ epoch: e.epoch, loss: e.loss, knn: e.knn })),
  });
  writeFileAtomic(path.join('docs', 'results', `${r.piece.name}.svg`), svg);
}
