/**
 * Parsers for command-line values. Each returns plain data (no library
 * objects, so `imix --help` works without loading the native addon) and
 * throws a UsageError naming the flag on a malformed or out-of-range value.
 * @module
 */
import { UsageError } from './errors';

function num(flag: string, s: string): number {
  const t = s.trim();
  const v = t === '' ? NaN : Number(t);
  if (!Number.isFinite(v)) throw new UsageError(`${flag}: expected a number, got '${s}'`);
  return v;
}

/** A number > 0. */
export const positiveNumber = (flag: string) => (s: string): number => {
  const v = num(flag, s);
  if (!(v > 0)) throw new UsageError(`${flag}: expected a positive number, got ${s}`);
  return v;
};

/** A number >= 0. */
export const nonNegativeNumber = (flag: string) => (s: string): number => {
  const v = num(flag, s);
  if (!(v >= 0)) throw new UsageError(`${flag}: expected a number >= 0, got ${s}`);
  return v;
};

/** A number in [0, 1]. */
export const unitInterval = (flag: string) => (s: string): number => {
  const v = num(flag, s);
  if (!(v >= 0 && v <= 1)) throw new UsageError(`${flag}: expected a number in [0, 1], got ${s}`);
  return v;
};

/** An integer >= min. */
export const integer = (flag: string, min: number) => (s: string): number => {
  const v = num(flag, s);
  if (!Number.isSafeInteger(v) || v < min) throw new UsageError(`${flag}: expected an integer >= ${min}, got ${s}`);
  return v;
};

/** A column of a CSV file (lib/data/csv.ts ColumnRef): a header name, or an integer (0-based index; negative counts from the end). */
export type ColumnRefData = string | number;

function column(flag: string, s: string): ColumnRefData {
  const t = s.trim();
  if (t === '') throw new UsageError(`${flag}: expected a column name or a 0-based index, got '${s}'`);
  return /^-?\d+$/.test(t) ? Number(t) : t;
}

/** `--label-column species` or `--label-column -1`: a column name, or an integer index. */
export const columnRef = (flag: string) => (s: string): ColumnRefData => column(flag, s);

/** `--categorical island,sex` or `--categorical 2,5`: comma-separated column names or indices. */
export const columnList = (flag: string) => (s: string): ColumnRefData[] => s.split(',').map((p) => column(flag, p));

/** Encoder spec as the library takes it (lib/methods/base.ts EncoderSpec). */
export type EncoderSpecData = { kind: 'mlp'; hidden: number[]; batchNorm?: boolean } | { kind: 'tabular'; scale?: number };

function widthList(flag: string, s: string): number[] {
  const parts = s.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => !/^\d+$/.test(p) || Number(p) < 1))
    throw new UsageError(`${flag}: expected comma-separated positive integers, got '${s}'`);
  return parts.map(Number);
}

/**
 * `mlp:512,512` (Linear+BatchNorm+ReLU layers of those widths),
 * `mlp-nobn:512,512` (without BatchNorm), `tabular` or `tabular:0.25`
 * (the i-Mix paper's tabular encoder, widths scaled).
 */
export function parseEncoder(s: string): EncoderSpecData {
  const m = /^([a-z-]+)(?::(.*))?$/.exec(s.trim());
  const kind = m?.[1], arg = m?.[2];
  if (kind === 'mlp' || kind === 'mlp-nobn') {
    if (arg === undefined || arg === '') throw new UsageError(`--encoder: '${kind}' needs hidden widths, e.g. '${kind}:512,512'`);
    const hidden = widthList('--encoder', arg);
    return kind === 'mlp' ? { kind: 'mlp', hidden } : { kind: 'mlp', hidden, batchNorm: false };
  }
  if (kind === 'tabular') {
    if (arg === undefined || arg === '') return { kind: 'tabular' };
    const scale = num('--encoder', arg);
    if (!(scale > 0)) throw new UsageError(`--encoder: tabular scale must be a positive number, got '${arg}'`);
    return { kind: 'tabular', scale };
  }
  throw new UsageError(`--encoder: expected 'mlp:W1,W2,...', 'mlp-nobn:W1,...' or 'tabular[:scale]', got '${s}'`);
}

/** The CLI spelling of an encoder spec (inverse of parseEncoder). */
export function formatEncoder(e: EncoderSpecData): string {
  if (e.kind === 'mlp') return `${e.batchNorm === false ? 'mlp-nobn' : 'mlp'}:${e.hidden.join(',')}`;
  return e.scale === undefined ? 'tabular' : `tabular:${e.scale}`;
}

/** `512,128`: the projection head's hidden and output widths. */
export function parseProjection(s: string): [number, number] {
  const w = widthList('--projection', s);
  if (w.length !== 2) throw new UsageError(`--projection: expected two widths 'hidden,out', e.g. '512,128', got '${s}'`);
  return [w[0]!, w[1]!];
}

/** One view transformation. */
export type ViewStep = { kind: 'drop'; p: number } | { kind: 'noise'; std: number } | { kind: 'identity' };

/**
 * `drop:0.2` (input drop, probability p), `noise:0.1` (Gaussian noise, std),
 * `none`, joined with `+` and applied in order: `drop:0.2+noise:0.1`.
 */
export function parseViews(s: string): ViewStep[] {
  const parts = s.split('+').map((p) => p.trim());
  if (parts.some((p) => p === '')) throw new UsageError(`--views: empty view in '${s}'`);
  if (parts.length > 16) throw new UsageError('--views: at most 16 views can be composed');
  return parts.map((p): ViewStep => {
    const [k, a, ...rest] = p.split(':');
    if (rest.length) throw new UsageError(`--views: malformed view '${p}'`);
    if ((k === 'none' || k === 'identity') && a === undefined) return { kind: 'identity' };
    if (k === 'drop' && a !== undefined) {
      const v = num('--views', a);
      if (!(v >= 0 && v <= 1)) throw new UsageError(`--views: drop probability must be in [0, 1], got ${a}`);
      return { kind: 'drop', p: v };
    }
    if (k === 'noise' && a !== undefined) {
      const v = num('--views', a);
      if (!(v >= 0)) throw new UsageError(`--views: noise std must be >= 0, got ${a}`);
      return { kind: 'noise', std: v };
    }
    throw new UsageError(`--views: expected 'drop:P', 'noise:STD' or 'none' joined with '+', got '${p}'`);
  });
}

/** The CLI spelling of a view list (inverse of parseViews). */
export function formatViews(v: ViewStep[]): string {
  if (v.length === 0) return 'none';
  return v.map((s) => (s.kind === 'drop' ? `drop:${s.p}` : s.kind === 'noise' ? `noise:${s.std}` : 'none')).join('+');
}

/**
 * Parses a view as the library describes it in a checkpoint's config
 * (`inputDrop(0.2) ∘ gaussianNoise(0.1)`, `identity`). Returns null for a
 * view the CLI cannot rebuild ('custom').
 */
export function viewsFromDescribe(d: unknown): ViewStep[] | null {
  if (typeof d !== 'string') return null;
  const out: ViewStep[] = [];
  for (const part of d.split('∘').map((p) => p.trim())) {
    let m: RegExpExecArray | null;
    if (part === 'identity') continue;
    else if ((m = /^inputDrop\(([^)]+)\)$/.exec(part))) out.push({ kind: 'drop', p: Number(m[1]) });
    else if ((m = /^gaussianNoise\(([^)]+)\)$/.exec(part))) out.push({ kind: 'noise', std: Number(m[1]) });
    else return null;
  }
  return out;
}

/** `cpu`, `cuda` or `cuda:N`. Availability is checked when the library is loaded. */
export function parseDevice(s: string): string {
  if (!/^(cpu|cuda|cuda:\d+)$/.test(s)) throw new UsageError(`--device: expected 'cpu', 'cuda' or 'cuda:N', got '${s}'`);
  return s;
}

export const METHODS = ['npair', 'simclr', 'moco', 'byol'] as const;
export type MethodName = (typeof METHODS)[number];
export const MIXES = ['none', 'mixup', 'cutmix'] as const;
export type MixName = (typeof MIXES)[number];
export const OPTIMIZERS = ['sgd', 'lars', 'adamw'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];
