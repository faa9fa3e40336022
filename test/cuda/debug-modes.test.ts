// The CUDA backend's two debugging modes (native/cuda/device.cu), which
// scripts/device-check.sh turns on for its compute-sanitizer stage:
//   IMIX_CUDA_NO_CACHE=1     every allocation an exact-size cudaMalloc, every
//                            free a cudaFree (no caching allocator)
//   IMIX_CUDA_SYNC_LAUNCH=1  a stream sync after every kernel launch, so a
//                            kernel that faults is the one the error names
// The modes are read once per process, so every case runs child processes
// with and without them. On the emulated device (CMake IMIX_CUDA_EMULATE) a
// fault is injected with IMIX_FAKE_FAULT_LAUNCH=N (test/cuda/emulate/
// cuda_fake.cpp: the Nth launch fails when the stream runs it, like a kernel
// that makes an illegal access); on a GPU that case is skipped.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cudaAvailable, info } from '../../lib/index';

const HAVE_CUDA = cudaAvailable();
const EMULATED = info().cuda.emulated === true;
const dist = (f: string) => JSON.stringify(path.resolve(__dirname, '../../dist/lib', f));

/** Runs `body` (CommonJS, with `imix` and `native` in scope) in a child process; returns the JSON it prints last. */
function child(body: string, env: Record<string, string>): any {
  const script = `
    const imix = require(${dist('index.js')});
    const { native } = require(${dist('native.js')});
    const out = (v) => console.log(JSON.stringify(v));
    (async () => { ${body} })().catch((e) => { console.error(e); process.exit(1); });`;
  const clean = { ...process.env };
  for (const k of ['IMIX_CUDA_NO_CACHE', 'IMIX_CUDA_SYNC_LAUNCH', 'IMIX_FAKE_FAULT_LAUNCH']) delete clean[k];
  const r = spawnSync(process.execPath, ['-e', script], { env: { ...clean, ...env }, encoding: 'utf8', timeout: 120_000 });
  expect(r.status, `child failed: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

// A few MoCo + MixUp steps on the device (allocations, frees, many kernels)
// and a 250-float tensor's bookkeeping: what each mode must change and keep.
const workload = `
  const { Tensor, MoCo } = imix;
  const stats = () => native.cudaMemoryStats(0);
  const syncs = () => native.cudaStats(0, false).syncs;
  const y0 = syncs();
  const s0 = stats();
  const t = Tensor.zeros([250], { device: 'cuda' }); // 1000 bytes
  const s1 = stats();
  t.dispose();
  const s2 = stats();
  const x = new Float32Array(48 * 12).map((_, i) => Math.sin(i * 0.37));
  const m = new MoCo({ encoder: { kind: 'mlp', hidden: [16] }, projection: [16, 8], queueSize: 20, mix: { kind: 'mixup' }, seed: 5, device: 'cuda' });
  const r = await m.fit(imix.data.fromArray(x, [12]), { epochs: 1, batchSize: 8, maxSteps: 3 });
  m.dispose();
  const s3 = stats();
  const y3 = syncs();
  out({ syncs: y3 - y0, debug: imix.info().cuda.debug ?? [], held: s1.inUse - s0.inUse, cachedAfterFree: s2.cached - s0.cached,
        freesAfterFree: s2.frees - s1.frees, losses: r.losses, mallocs: s3.mallocs - s0.mallocs, frees: s3.frees - s0.frees,
        reuses: s3.reuses - s0.reuses, inUseAtEnd: s3.inUse - s0.inUse, cachedAtEnd: s3.cached - s0.cached });`;

describe.skipIf(!HAVE_CUDA)('CUDA debugging modes (IMIX_CUDA_NO_CACHE, IMIX_CUDA_SYNC_LAUNCH)', () => {
  it('IMIX_CUDA_NO_CACHE: exact-size blocks, every free goes to the driver, the same losses as with the cache', () => {
    const cached = child(workload, {});
    const exact = child(workload, { IMIX_CUDA_NO_CACHE: '1' });
    expect(cached.debug).toEqual([]);
    expect(exact.debug).toEqual(['IMIX_CUDA_NO_CACHE']);
    // With the cache: a 512-byte size class step, kept after the free.
    expect(cached.held).toBe(1024);
    expect(cached.cachedAfterFree).toBe(1024);
    expect(cached.freesAfterFree).toBe(0);
    expect(cached.reuses).toBeGreaterThan(0);
    // Without: exactly the bytes asked for, back to the driver at once, never reused.
    expect(exact.held).toBe(1000);
    expect(exact.cachedAfterFree).toBe(0);
    expect(exact.freesAfterFree).toBe(1);
    expect(exact.reuses).toBe(0);
    expect(exact.mallocs).toBeGreaterThan(cached.mallocs);
    // Every block the run freed went back to the driver at once: none is
    // cached at the end, and what is still held (the same undisposed objects
    // in both runs) is counted in exact bytes, at most its size classes.
    expect(cached.cachedAtEnd).toBeGreaterThan(0);
    expect(exact.cachedAtEnd).toBe(0);
    expect(exact.frees).toBeGreaterThan(exact.mallocs / 2);
    expect(exact.inUseAtEnd).toBeLessThanOrEqual(cached.inUseAtEnd);
    // cudaStats counts the mode's waits too: each free to the driver waits for the stream.
    expect(exact.syncs).toBeGreaterThanOrEqual(cached.syncs + exact.frees);
    expect(exact.losses).toHaveLength(3);
    if (EMULATED) expect(exact.losses).toEqual(cached.losses);
    else exact.losses.forEach((l: number, i: number) => expect(l).toBeCloseTo(cached.losses[i], 5));
  });

  it('IMIX_CUDA_SYNC_LAUNCH: the same losses, and both modes together', () => {
    const plain = child(workload, {});
    const synced = child(workload, { IMIX_CUDA_SYNC_LAUNCH: '1' });
    const both = child(workload, { IMIX_CUDA_SYNC_LAUNCH: '1', IMIX_CUDA_NO_CACHE: '1' });
    expect(synced.debug).toEqual(['IMIX_CUDA_SYNC_LAUNCH']);
    expect(both.debug).toEqual(['IMIX_CUDA_NO_CACHE', 'IMIX_CUDA_SYNC_LAUNCH']);
    // cudaStats counts the wait after every launch: three training steps launch
    // dozens of kernels, the plain run waits once per step or so.
    expect(synced.syncs).toBeGreaterThan(plain.syncs + 30);
    expect(both.syncs).toBeGreaterThan(synced.syncs);
    for (const r of [synced, both]) {
      if (EMULATED) expect(r.losses).toEqual(plain.losses);
      else r.losses.forEach((l: number, i: number) => expect(l).toBeCloseTo(plain.losses[i], 5));
    }
  });

  // Launch 1 (axpby) runs; launch 2 (relu) faults when the stream runs it.
  const faulting = `
    const { Tensor, ops } = imix;
    const x = Tensor.from(new Float32Array(32).fill(-1), [4, 8], { device: 'cuda' }), y = Tensor.zeros([4, 8], { device: 'cuda' });
    const r = {};
    try { ops.axpby(1, x, 1, y); r.first = 'ok'; } catch (e) { r.first = e.message; }
    try { ops.reluForward(x, y); r.op = 'ok'; } catch (e) { r.op = e.name + ': ' + e.message; }
    try { y.toArray(); r.read = 'ok'; } catch (e) { r.read = e.name + ': ' + e.message; }
    out(r);`;
  it.skipIf(!EMULATED)('a kernel that faults while running: named by IMIX_CUDA_SYNC_LAUNCH, blamed on the next wait without it', () => {
    const late = child(faulting, { IMIX_FAKE_FAULT_LAUNCH: '2' });
    expect(late.first).toBe('ok');
    expect(late.op).toBe('ok'); // the launch itself succeeds: the kernel has not run yet
    expect(late.read).toMatch(/^BackendError: CUDA error: an illegal memory access was encountered/);
    expect(late.read).not.toMatch(/relu/);

    const named = child(faulting, { IMIX_FAKE_FAULT_LAUNCH: '2', IMIX_CUDA_SYNC_LAUNCH: '1' });
    expect(named.first).toBe('ok');
    expect(named.op).toMatch(/^BackendError: CUDA error: an illegal memory access was encountered \(cudaErrorIllegalAddress\) in relu_forward \(the kernel failed while running: IMIX_CUDA_SYNC_LAUNCH=1/);
    expect(named.op).toMatch(/restart the process/); // an illegal address is fatal to the context
    expect(named.read).toMatch(/illegal memory access/); // and stays so
  });
});
