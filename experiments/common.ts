/**
 * What the experiments and their reports share: command-line options,
 * percentages and `mean ± std` cells.
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { meanStd } from '../lib/eval/few-label';

/** The value after `--name` on the command line, or `dflt`. */
export function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
}

/** `mean ± std` (sample std) in percent, with the number of seeds when not 3. */
export function stat(vals: number[]): string {
  if (vals.length === 0) return '—';
  const { mean, std } = meanStd(vals);
  const n = vals.length === 3 ? '' : ` (n=${vals.length})`;
  return `${(100 * mean).toFixed(2)}${vals.length > 1 ? ` ± ${(100 * std).toFixed(2)}` : ''}${n}`;
}

/** A fraction in percent with two decimals, or — when absent. */
export const pct = (v: number | undefined): string => (v === undefined ? '—' : (100 * v).toFixed(2));

/** The display names of the methods, in table order. */
export const METHOD_NAMES: Record<string, string> = { npair: 'N-pair (SimCLR)', moco: 'MoCo v2', byol: 'BYOL' };
export const METHODS = ['npair', 'moco', 'byol'];

/** Every `<piece>.json` result file in `dir`, parsed. */
export function readResults<T>(dir: string): T[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as T);
}
