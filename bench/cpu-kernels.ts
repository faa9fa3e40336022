/**
 * `npm run bench`: every CPU benchmark in one run — gemm at the shapes of an
 * MLP training step, the fused mixed cross-entropy, and a whole NPair + i-Mix
 * training step — each against its reference (OpenBLAS through numpy,
 * PyTorch) on the same machine, printed as tables. `--markdown` prints the
 * tables as Markdown (what bench/README.md records).
 * @module
 */
import { benchCrossEntropy } from './cross-entropy';
import { type BenchRow, formatTable, header, markdownTable } from './common';
import { benchGemm } from './gemm';
import { benchTrainStep } from './train-step';

async function main(): Promise<void> {
  const md = process.argv.includes('--markdown');
  const out = (title: string, rows: BenchRow[]) => console.log(`\n${md ? '### ' : '== '}${title}\n${md ? markdownTable(rows) : formatTable(rows)}`);
  console.log(md ? '```\n' + header() + '\n```' : header());
  out('gemm: the 8 gemms of a 784-512-512-128 MLP training step at batch 512', await benchGemm());
  out('fused mixed cross-entropy (loss + in-place dlogits)', await benchCrossEntropy());
  out('one NPair + i-Mix training step', await benchTrainStep());
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
