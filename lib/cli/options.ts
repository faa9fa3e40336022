/**
 * Parsers for command-line values. Each returns plain data (no library
 * objects, so `imix --help` works without loading the native addon) and
 * throws a UsageError naming the flag on a malformed or out-of-range value.
 * @module
 */
import { UsageError } from './errors';
import { FLOAT32_MAX, MAX_QUEUE_SIZE, MAX_RESNET_WIDTH, MAX_TABULAR_SCALE, MAX_WIDTH, RESNET_KINDS, isResNetKind, type ResNetKind } from '../util/options';

function num(flag: string, s: string): number {
  const t = s.trim();
  const v = t === '' ? NaN : Number(t);
  // Infinity, and literals beyond the double range (1e400), are not numbers a setting can take.
  if (!Number.isFinite(v)) throw new UsageError(`${flag}: expected a number, got '${s}'`);
  return v + 0; // -0 as 0
}

/**
 * Bounds beyond the sign: `min` and `max` (inclusive), and `why`, said after
 * the bound (`(the largest float32)`). The library's own bounds
 * (lib/util/options.ts) are repeated here so that a value out of range is a
 * usage error before any data is read or anything allocated.
 */
export interface Bounds {
  min?: number;
  max?: number;
  why?: string;
}

function bounded(flag: string, s: string, v: number, b: Bounds): number {
  const why = b.why ? ` ${b.why}` : '';
  if (b.min !== undefined && b.max !== undefined && (v < b.min || v > b.max))
    throw new UsageError(`${flag}: expected a number from ${b.min} to ${b.max}${why}, got ${s}`);
  if (b.min !== undefined && v < b.min) throw new UsageError(`${flag}: expected a number >= ${b.min}${why}, got ${s}`);
  if (b.max !== undefined && v > b.max) throw new UsageError(`${flag}: expected a number <= ${b.max}${why}, got ${s}`);
  return v;
}

/** A number > 0 (within `bounds`). */
export const positiveNumber = (flag: string, bounds: Bounds = {}) => (s: string): number => {
  const v = num(flag, s);
  if (!(v > 0)) throw new UsageError(`${flag}: expected a positive number, got ${s}`);
  return bounded(flag, s, v, bounds);
};

/** A number >= 0 (within `bounds`). */
export const nonNegativeNumber = (flag: string, bounds: Bounds = {}) => (s: string): number => {
  const v = num(flag, s);
  if (!(v >= 0)) throw new UsageError(`${flag}: expected a number >= 0, got ${s}`);
  return bounded(flag, s, v, bounds);
};

/** A number in [0, 1]. */
export const unitInterval = (flag: string) => (s: string): number => {
  const v = num(flag, s);
  if (!(v >= 0 && v <= 1)) throw new UsageError(`${flag}: expected a number in [0, 1], got ${s}`);
  return v;
};

/** A fraction strictly between 0 and 1 (`--holdout 0.2`). */
export const openFraction = (flag: string) => (s: string): number => {
  const v = num(flag, s);
  if (!(v > 0 && v < 1)) throw new UsageError(`${flag}: expected a fraction between 0 and 1 (exclusive), e.g. 0.2, got ${s}`);
  return v;
};

/** An integer >= min, and at most `max` (by default 2^53 - 1, the largest a double holds exactly). */
export const integer = (flag: string, min: number, max = Number.MAX_SAFE_INTEGER, why = '') => (s: string): number => {
  const v = num(flag, s);
  // Above 2^53 - 1 a double no longer holds every integer: 99999999999999999999 would silently become another number.
  if (Number.isInteger(v) && v > max) {
    const top = max === Number.MAX_SAFE_INTEGER ? `2^53 - 1 (${max})` : `${max}`;
    throw new UsageError(`${flag}: expected an integer from ${min} to ${top}${why ? ` ${why}` : ''}, got ${s}`);
  }
  if (!Number.isSafeInteger(v) || v < min) throw new UsageError(`${flag}: expected an integer >= ${min}, got ${s}`);
  return v;
};

/** `--threads`: an integer from 1 to 1024, or `auto` (setNumThreads). */
export const threadsArg = (s: string): number | 'auto' => (s === 'auto' ? 'auto' : integer('--threads', 1, 1024)(s));

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
export type EncoderSpecData =
  | { kind: 'mlp'; hidden: number[]; batchNorm?: boolean }
  | { kind: 'tabular'; scale?: number }
  | { kind: ResNetKind; width?: number };

function widthList(flag: string, s: string): number[] {
  const parts = s.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => !/^\d+$/.test(p) || Number(p) < 1))
    throw new UsageError(`${flag}: expected comma-separated positive integers, got '${s}'`);
  const wide = parts.find((p) => Number(p) > MAX_WIDTH);
  if (wide !== undefined) throw new UsageError(`${flag}: a layer of width ${wide} is wider than ${MAX_WIDTH} (2^24)`);
  return parts.map(Number);
}

/**
 * `mlp:512,512` (Linear+BatchNorm+ReLU layers of those widths),
 * `mlp-nobn:512,512` (without BatchNorm), `tabular` or `tabular:0.25`
 * (the i-Mix paper's tabular encoder, widths scaled), `resnet18`,
 * `resnet20`, `resnet1d`, each with an optional width multiplier
 * (`resnet18:0.5`).
 */
export function parseEncoder(s: string): EncoderSpecData {
  const m = /^([a-z][a-z0-9-]*)(?::(.*))?$/.exec(s.trim());
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
    if (scale > MAX_TABULAR_SCALE) throw new UsageError(`--encoder: tabular scale must be at most ${MAX_TABULAR_SCALE} (the widest layer is 8192 × scale), got '${arg}'`);
    return { kind: 'tabular', scale };
  }
  if (isResNetKind(kind)) {
    if (arg === undefined || arg === '') return { kind };
    const width = num('--encoder', arg);
    if (!(width > 0)) throw new UsageError(`--encoder: ${kind} width must be a positive number, got '${arg}'`);
    if (width > MAX_RESNET_WIDTH) throw new UsageError(`--encoder: ${kind} width must be at most ${MAX_RESNET_WIDTH}, got '${arg}'`);
    return { kind, width };
  }
  throw new UsageError(`--encoder: expected ${ENCODER_SPELLINGS}, got '${s}'`);
}

/** The --encoder spellings, for help and messages. */
export const ENCODER_SPELLINGS = ["'mlp:W1,W2,...'", "'mlp-nobn:W1,...'", "'tabular[:scale]'", ...RESNET_KINDS.slice(0, -1).map((k) => `'${k}[:width]'`)].join(', ') + ` or '${RESNET_KINDS.at(-1)}[:width]'`;

/** The CLI spelling of an encoder spec (inverse of parseEncoder). */
export function formatEncoder(e: EncoderSpecData): string {
  if (e.kind === 'mlp') return `${e.batchNorm === false ? 'mlp-nobn' : 'mlp'}:${e.hidden.join(',')}`;
  if (e.kind === 'tabular') return e.scale === undefined ? 'tabular' : `tabular:${e.scale}`;
  return e.width === undefined ? e.kind : `${e.kind}:${e.width}`;
}

/** `512,128`: the projection head's hidden and output widths. */
export function parseProjection(s: string): [number, number] {
  const w = widthList('--projection', s);
  if (w.length !== 2) throw new UsageError(`--projection: expected two widths 'hidden,out', e.g. '512,128', got '${s}'`);
  return [w[0]!, w[1]!];
}

// The --views language lives in ./views (one table of every view).
export { type ViewStep, VIEW_SPELLINGS, formatViews, isImageView, parseViews, viewsFromDescribe } from './views';

/** `cpu`, `cuda` or `cuda:N`. Availability is checked when the library is loaded. */
export function parseDevice(s: string): string {
  if (!/^(cpu|cuda|cuda:\d+)$/.test(s)) throw new UsageError(`--device: expected 'cpu', 'cuda' or 'cuda:N', got '${s}'`);
  return s;
}

export const MIXES = ['none', 'mixup', 'cutmix'] as const;
export type MixName = (typeof MIXES)[number];
export const OPTIMIZERS = ['sgd', 'lars', 'adamw'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

/** A command-line flag that sets one of a method's own options. */
export interface MethodOptionFlag {
  /** Commander's flags, e.g. `--queue <k>`. */
  flags: string;
  /** The parsed options' key (commander's camelCase of the flag). */
  attr: string;
  parse: (s: string) => number;
}

/**
 * The flags that set a method's own options, by option key (a key of a
 * registry entry's `options`, lib/methods/registry.ts): a flag applies to
 * the methods whose entry has its key, and its help is their descriptions.
 */
export const METHOD_OPTION_FLAGS: Readonly<Record<string, MethodOptionFlag>> = {
  queueSize: { flags: '--queue <k>', attr: 'queue', parse: integer('--queue', 1, MAX_QUEUE_SIZE) },
  momentum: { flags: '--momentum <m>', attr: 'momentum', parse: unitInterval('--momentum') },
};
