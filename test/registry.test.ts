// The method registry (lib/methods/registry.ts): every entry builds its
// method, names it as the class does, and its own options are exactly the
// keys the method's config() adds, so the CLI rebuilds a checkpoint's
// configuration into the same method.
import { describe, expect, it } from 'vitest';
import { ContrastiveMethod } from '../lib/index';
import { METHOD_REGISTRY, methodEntry } from '../lib/methods/registry';
import { createMethod, settingsFromConfig } from '../lib/cli/method';

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
