/**
 * Benchmark: one full training step of NPair + i-Mix — input-drop views,
 * MixUp of the query view, MLP encoder 784-512-512 (Linear+BatchNorm+ReLU),
 * projection head 512-512-128, N-pair soft-target loss, backward, SGD with
 * momentum and weight decay — at batch 256 (a 512-row forward), against the
 * same step in PyTorch (bench/train_step_ref.py) on the same machine.
 *
 * Run: `node dist/bench/train-step.js` (after `npx tsc -p .`).
 * @module
 */
import { NPair, Tensor, setNumThreads, views } from '../lib/index';
import { type BenchRow, benchFile, fill, formatTable, header, median, pythonRef } from './common';

const BATCH = 256;
const WIDTHS = [784, 512, 512];
const HEAD: [number, number] = [512, 128];

interface RefOut {
  ms: number;
  torch: string;
  threads: number;
}

/** Times the imix step and the PyTorch step; one row. */
export async function benchTrainStep(threads = 2, reps = 20): Promise<BenchRow[]> {
  setNumThreads(threads);
  const m = new NPair({
    encoder: { kind: 'mlp', hidden: WIDTHS.slice(1) },
    projection: HEAD,
    mix: { kind: 'mixup', alpha: 1 },
    views: views.inputDrop(0.2),
    optimizer: { kind: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 5e-4 },
    seed: 1,
  });
  m.build([WIDTHS[0]!]);
  const rowsInData = 4096;
  const data = Tensor.from(fill(rowsInData * WIDTHS[0]!, 5, 0.5).map((v) => v + 0.5), [rowsInData, WIDTHS[0]!]);
  let step = 0;
  const ms = median(() => {
    const rows = Int32Array.from({ length: BATCH }, (_, i) => (step * BATCH + i * 7) % rowsInData);
    m.stepOn(data, rows, 0.05, 1000);
    step++;
  }, reps, 3);
  data.dispose();
  m.dispose();
  const r = pythonRef<RefOut>(benchFile('train_step_ref.py'), [JSON.stringify({ batch: BATCH, widths: WIDTHS, head: HEAD, reps, threads })]);
  const ref = r.ok ? r.value : null;
  // Forward + backward FLOPs of the gemms (2N rows; the first layer needs no input gradient).
  const layers = [[784, 512], [512, 512], [512, 512], [512, 128]] as const;
  const fwd = layers.reduce((s, [i, o]) => s + 2 * 2 * BATCH * i * o, 0);
  const bwd = fwd + layers.slice(1).reduce((s, [i, o]) => s + 2 * 2 * BATCH * i * o, 0);
  return [
    {
      name: 'NPair + i-Mix training step',
      shape: `batch ${BATCH}, MLP ${WIDTHS.join('-')}, head ${HEAD.join('-')}`,
      imixMs: ms,
      imixRate: (fwd + bwd) / (ms * 1e6),
      rateUnit: 'GFLOP/s',
      refName: ref ? `torch ${ref.torch} (${ref.threads} threads)` : null,
      refMs: ref?.ms ?? null,
      ratio: ref ? ref.ms / ms : null,
    },
  ];
}

async function main(): Promise<void> {
  console.log(header());
  const rows = await benchTrainStep();
  if (rows.every((r) => r.refMs == null)) console.log('reference: unavailable');
  console.log('one training step (median; imix/ref > 1: imix faster)');
  console.log(formatTable(rows));
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
