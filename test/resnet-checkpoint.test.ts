// An imix ResNet checkpoint loads into the PyTorch network and gives the
// same features. test/fixtures/resnet-run is a run folder `imix train
// --encoder resnet20:0.25` wrote; test/fixtures/gen_resnet_run.py loaded its
// encoder.safetensors into scripts/imix_resnet.py's resnet20 with PyTorch's
// load_state_dict and stored the features of the first 16 bundled test
// images. `imix embed` on the same folder and images must match them.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNpy } from '../lib/data/npy';
import { loadSafetensors } from '../lib/io/safetensors';
import { ensureDist, imix } from './hostile/cli-helpers';
import { expectClose } from './helpers';

const RUN = path.join(__dirname, 'fixtures', 'resnet-run');
let tmp: string;
beforeAll(() => {
  ensureDist();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'imix-resnet-run-'));
}, 120_000);
afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('an imix resnet20 checkpoint in PyTorch', () => {
  it('encoder.safetensors holds torchvision names, and PyTorch computes the features imix embed writes (1e-4)', () => {
    const enc = loadSafetensors(path.join(RUN, 'encoder.safetensors'));
    expect(enc.tensors['layer3.2.bn2.running_var']!.shape).toEqual([16]);
    expect(enc.tensors['layer2.0.downsample.0.weight']!.shape).toEqual([8, 4, 1, 1]);
    const ref = JSON.parse(fs.readFileSync(path.join(RUN, 'torch-features.json'), 'utf8')) as { rows: number; shape: number[]; features: number[] };
    // Copied: embed reads the run folder, and a run folder is never written in place by a test.
    const run = path.join(tmp, 'run');
    fs.cpSync(RUN, run, { recursive: true });
    const out = path.join(tmp, 'features.npy');
    const r = imix(['embed', run, '--split', 'test', '--limit', String(ref.rows), '--out', out, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const y = readNpy(out);
    expect(y.shape).toEqual(ref.shape);
    const scale = Math.max(...ref.features.map(Math.abs));
    expectClose(y.data, Float32Array.from(ref.features), { rtol: 1e-4, atol: 1e-4 * scale, label: 'features' });
  }, 120_000);
});
