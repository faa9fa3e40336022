// The addon's surface, declared once in lib/native.ts (NativeAddon, with its
// run-time key list nativeBindings), against what the loaded addon exports.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { native, nativeBindings, packageRoot } from '../lib/native';

const declared = Object.keys(nativeBindings).sort();
const exported = Object.keys(native).sort();

describe('the native surface', () => {
  it('declares every export of the addon (nothing exported is undeclared)', () => {
    expect(exported.filter((k) => !(k in nativeBindings))).toEqual([]);
  });

  it('exports everything it declares (nothing declared is missing from the addon)', () => {
    expect(declared.filter((k) => !Object.prototype.hasOwnProperty.call(native, k))).toEqual([]);
    expect(declared).toEqual(exported);
  });

  it('every binding is a function', () => {
    for (const k of declared) expect(typeof (native as unknown as Record<string, unknown>)[k], k).toBe('function');
  });

  it('names the native/addon file that registers each binding', () => {
    const dir = path.join(packageRoot(), 'native', 'addon');
    if (!fs.existsSync(dir)) return; // an installed package without sources
    for (const [name, file] of Object.entries(nativeBindings)) {
      const src = fs.readFileSync(path.join(dir, file), 'utf8');
      expect(src.includes(`"${name}"`), `${name} in native/addon/${file}`).toBe(true);
    }
  });
});
