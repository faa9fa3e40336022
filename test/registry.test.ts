// The method registry (lib/methods/registry.ts): every entry builds its
// method, names it as the class does, and its own options are exactly the
// keys the method's config() adds, so the CLI rebuilds a checkpoint's
// configuration into the same method.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ContrastiveMethod } from '../lib/index';
import { METHOD_REGISTRY, methodEntry } from '../lib/methods/registry';
import { createMethod, settingsFromConfig } from '../lib/cli/method';
import { ensureDist, imix, SMALL } from './hostile/cli-helpers';

/** The keys every method's config() records (lib/methods/base.ts). */
const COMMON = ['method', 'encoder', 'projection', 'mix', 'temperature', 'seed', 'optimizer', 'views', 'sampleShape'];
const tiny = { encoder: { kind: 'mlp' as const, hidden: [8] }, projection: [8, 4] as [number, number], seed: 1 };

describe('the method registry', () => {
  it('lists each method once, in the order of --method', () => {
    const names = METHOD_REGISTRY.map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.slice(0, 4)).toEqual(['npair', 'simclr', 'moco', 'byol']);
    expect(methodEntry('nope')).toBeUndefined();
  });

  for (const entry of METHOD_REGISTRY) {
    it(`${entry.name}: create builds the class of that name; its own options are the keys config() adds; the CLI rebuilds its configuration`, async () => {
      const m = await entry.create({ ...tiny, mix: { kind: entry.defaultMix } });
      try {
        expect(m).toBeInstanceOf(ContrastiveMethod);
        expect(m.name).toBe(entry.name);
        m.build([6]);
        const config = m.config();
        expect(Object.keys(config).filter((k) => !COMMON.includes(k)).sort()).toEqual(Object.keys(entry.options.shape).sort());
        const again = await createMethod(settingsFromConfig(config, 'run', true), 'cpu', { fromConfig: 'run' });
        try {
          again.build([6]);
          expect(again.config()).toEqual(config);
        } finally {
          again.dispose();
        }
      } finally {
        m.dispose();
      }
    });
  }
});

describe('every registered method trains, resumes and evaluates from the command line', () => {
  for (const entry of METHOD_REGISTRY) {
    it(`imix train --method ${entry.name} --mix ${entry.defaultMix}, then --resume and eval --knn`, () => {
      ensureDist();
      const out = fs.mkdtempSync(path.join(os.tmpdir(), `imix-registry-${entry.name}-`));
      try {
        const args = ['--method', entry.name, '--mix', entry.defaultMix, ...SMALL, '--epochs', '2', '--knn-every', '0', '--quiet', '--out', out, '--force'];
        const a = imix(['train', ...args, '--max-steps', '5']);
        expect(a.code, a.stderr).toBe(0);
        const b = imix(['train', '--resume', out, '--quiet']);
        expect(b.code, b.stderr).toBe(0);
        const steps = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"type":"step"'));
        expect(steps.map((l) => JSON.parse(l).step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
        const e = imix(['eval', out, '--knn', '--k', '20']);
        expect(e.code, e.stderr).toBe(0);
        expect(e.stdout).toMatch(/kNN/);
        expect(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'))).toMatchObject({ method: entry.name, step: 8, epoch: 2 });
      } finally {
        fs.rmSync(out, { recursive: true, force: true });
      }
    }, 120_000);
  }
});
