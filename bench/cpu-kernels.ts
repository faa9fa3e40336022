/**
 * `npm run bench`: every CPU benchmark in one run — gemm at the shapes of an
 * MLP training step, the fused mixed cross-entropy, and a whole NPair + i-Mix
 * training step — each against its reference (OpenBLAS through numpy,
 * PyTorch) on the same machine, printed as tables. `--markdown` prints the
 * tables as Markdown (what bench/README.md records).
 * @module
 */
import { benchCrossEntropy } from './cross-entropy';
import { type BenchRow, formatTable, header } from './common';
import { benchGemm } from './gemm';
import { benchTrainStep } from './train-step';

function markdown(rows: BenchRow[]): string {
  const f = (v: number | null, d: number) => (v == null ? '–' : v.toFixed(d));
  const lines = ['| case | shape | imix ms | imix rate | reference | ref ms | ref ms / imix ms |', '|---|---|---:|---:|---|---:|---:|'];
  for (const r of rows)
    lines.push(`| ${r.name} | ${r.shape} | ${f(r.imixMs, 3)} | ${f(r.imixRate, 1)} ${r.rateUnit} | ${r.refName ?? 'unavailable'} | ${f(r.refMs, 3)} | ${f(r.ratio, 2)} |`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const md = process.argv.includes('--markdown');
  const out = (title: string, rows: BenchRow[]) => console.log(`\n${md ? '### ' : '== '}${title}\n${md ? markdown(rows) : formatTable(rows)}`);
  console.log(md ? '```\n' + header() + '\n```' : header());
  out('gemm: the 8 gemms of a 784-512-512-128 MLP training step at batch 512', await benchGemm());
  out('fused mixed cross-entropy (loss + in-place dlogits)', await benchCrossEntropy());
  out('one NPair + i-Mix training step', await benchTrainStep());
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
