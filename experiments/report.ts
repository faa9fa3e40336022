/**
 * Turns experiments/results/results.json (from fashion-mnist-imix.ts) into
 * the loss/kNN plots under docs/results/ and the Markdown table of
 * docs/results.md (printed).
 *
 *   node dist/experiments/report.js [experiments/results]
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { renderPlot } from '../lib/cli/plot';
import { writeFileAtomic } from '../lib/io/atomic';

interface Run {
  method: string;
  mix: string;
  pretrainSeconds: number;
  epochLosses: number[];
  knnAccuracy: number[];
  probe: { trainAccuracy: number; testAccuracy: number };
}

const dir = process.argv[2] ?? 'experiments/results';
const { epochs, runs } = JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')) as { epochs: number; runs: Run[] };
const every = 10;
const names: Record<string, string> = { npair: 'N-pair (SimCLR)', moco: 'MoCo v2', byol: 'BYOL' };

for (const r of runs) {
  // kNN was measured every `every` epochs and at the last one.
  const knnAt = new Map<number, number>();
  const marks = Array.from({ length: Math.floor(epochs / every) }, (_, i) => (i + 1) * every);
  if (marks.at(-1) !== epochs) marks.push(epochs);
  marks.forEach((e, i) => r.knnAccuracy[i] !== undefined && knnAt.set(e, r.knnAccuracy[i]!));
  const svg = renderPlot({
    title: `${names[r.method] ?? r.method}, ${r.mix === 'none' ? 'baseline' : 'i-Mix (MixUp)'}: loss and kNN accuracy`,
    epochs: r.epochLosses.map((loss, i) => ({ epoch: i + 1, loss, knn: knnAt.get(i + 1) })),
  });
  writeFileAtomic(path.join('docs', 'results', `${r.method}-${r.mix}.svg`), svg);
}

const pct = (v: number) => (100 * v).toFixed(2);
console.log('| method | baseline | i-Mix | Δ |');
console.log('|---|---:|---:|---:|');
for (const m of ['npair', 'moco', 'byol']) {
  const b = runs.find((r) => r.method === m && r.mix === 'none'), x = runs.find((r) => r.method === m && r.mix !== 'none');
  if (!b || !x) continue;
  const d = 100 * (x.probe.testAccuracy - b.probe.testAccuracy);
  console.log(`| ${names[m]} | ${pct(b.probe.testAccuracy)}% | ${pct(x.probe.testAccuracy)}% | ${d >= 0 ? '+' : ''}${d.toFixed(2)} |`);
}
console.log('\n| run | pretrain s | final loss | kNN (last) | probe train acc | probe test acc |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const r of runs)
  console.log(`| ${r.method} ${r.mix} | ${r.pretrainSeconds.toFixed(0)} | ${r.epochLosses.at(-1)!.toFixed(4)} | ${pct(r.knnAccuracy.at(-1) ?? NaN)}% | ${pct(r.probe.trainAccuracy)}% | ${pct(r.probe.testAccuracy)}% |`);
