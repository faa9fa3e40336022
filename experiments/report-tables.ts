/**
 * Turns the pieces of experiments/tables.ts (one JSON each) into the tables
 * of docs/results.md ("Tables"): per data set and views, each method without
 * and with i-Mix, mean ± std over the seeds of the linear probe on all
 * training labels and of the few-label probe, with the same probes on the
 * raw standardized features beside them. Prints Markdown.
 *
 *   node dist/experiments/report-tables.js [experiments/results-tables]
 * @module
 */
import { METHOD_NAMES, METHODS, pct, readResults, stat } from './common';

interface Result {
  piece: string;
  table: string;
  method: string;
  mix: string;
  views: string;
  seed: number;
  /** MixUp's α (absent in results written before the ablation: 1). */
  alpha?: number;
  trainSeconds: number;
  epochs: Array<{ epoch: number; loss: number; knn?: number; collapse?: number }>;
  linear: { encoder: number; raw: number };
  fewLabel: { fraction: number; rows: number; encoder: number; encoderStd: number; raw: number; rawStd: number };
}

const TITLES: Record<string, string> = {
  fmnist: 'Fashion-MNIST as rows (784 pixels; pretrained on 10,000 rows, probed on 60,000 / 10,000)',
  dna: 'DNA (mlbench; 3,186 rows × 180 binary features, 3 classes; stratified 20% holdout per seed)',
};

const all = readResults<Result>(process.argv[2] ?? 'experiments/results-tables');
const results = all.filter((r) => (r.alpha ?? 1) === 1);
const ablation = all.filter((r) => (r.alpha ?? 1) !== 1);
const groups = [...new Set(results.map((r) => `${r.table}|${r.views}`))].sort();

for (const g of groups) {
  const [table, views] = g.split('|') as [string, string];
  const rs = results.filter((r) => r.table === table && r.views === views);
  const frac = `${100 * rs[0]!.fewLabel.fraction}%`;
  console.log(`### ${TITLES[table] ?? table}, views \`${views}\`\n`);
  console.log(`| method | linear: baseline | linear: i-Mix | ${frac} labels: baseline | ${frac} labels: i-Mix |`);
  console.log('|---|---:|---:|---:|---:|');
  for (const m of METHODS) {
    const of = (mix: string) => rs.filter((r) => r.method === m && r.mix === mix);
    const b = of('none'), x = of('mixup');
    console.log(`| ${METHOD_NAMES[m]} | ${stat(b.map((r) => r.linear.encoder))} | ${stat(x.map((r) => r.linear.encoder))} | ${stat(b.map((r) => r.fewLabel.encoder))} | ${stat(x.map((r) => r.fewLabel.encoder))} |`);
  }
  // The raw features' probes depend only on the split (the seed), not on the method: one per seed.
  const perSeed = [...new Map(rs.map((r) => [r.seed, r])).values()];
  console.log(`| raw standardized features | ${stat(perSeed.map((r) => r.linear.raw))} | | ${stat(perSeed.map((r) => r.fewLabel.raw))} | |`);
  console.log(`\n(${frac} labels = ${rs[0]!.fewLabel.rows} training rows, 5 stratified draws per run.)\n`);
}

if (ablation.length) {
  console.log('### Ablation: N-pair i-Mix with a smaller α\n');
  console.log('| table, views | α | linear | few-label |');
  console.log('|---|---:|---:|---:|');
  for (const g of [...new Set(ablation.map((r) => `${r.table}|${r.views}|${r.alpha}`))].sort()) {
    const [table, views, alpha] = g.split('|') as [string, string, string];
    const base = results.filter((r) => r.table === table && r.views === views && r.method === 'npair' && r.mix === 'mixup');
    const rs = ablation.filter((r) => r.table === table && r.views === views && String(r.alpha) === alpha);
    console.log(`| ${table}, \`${views}\` | 1 | ${stat(base.map((r) => r.linear.encoder))} | ${stat(base.map((r) => r.fewLabel.encoder))} |`);
    console.log(`| ${table}, \`${views}\` | ${alpha} | ${stat(rs.map((r) => r.linear.encoder))} | ${stat(rs.map((r) => r.fewLabel.encoder))} |`);
  }
  console.log('');
}

console.log('### Every run\n');
console.log('| run | train s | final loss | kNN (last) | collapse (last) | linear | raw linear | few-label | raw few-label |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of all.sort((a, b) => a.piece.localeCompare(b.piece))) {
  const last = r.epochs.at(-1);
  const knn = [...r.epochs].reverse().find((e) => e.knn !== undefined)?.knn;
  console.log(
    `| ${r.piece} | ${r.trainSeconds.toFixed(0)} | ${last ? last.loss.toFixed(4) : '—'} | ${pct(knn)} | ${last?.collapse?.toFixed(4) ?? '—'} | ${pct(r.linear.encoder)} | ${pct(r.linear.raw)} | ${pct(r.fewLabel.encoder)} ± ${pct(r.fewLabel.encoderStd)} | ${pct(r.fewLabel.raw)} ± ${pct(r.fewLabel.rawStd)} |`,
  );
}
