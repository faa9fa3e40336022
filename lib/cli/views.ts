/**
 * The `--views` language: one table, {@link VIEW_KINDS}, says for every view
 * how it is spelled on the command line, how the library names it in a
 * checkpoint's description (`randomResizedCrop(0.2, 1, 0.75, 1.3333333333333333, 0.5)`),
 * which data it needs and which library view it builds. Parsing, formatting,
 * rebuilding from a checkpoint and checking against the data all read that
 * table, so a new view is one entry. Plain data only at load time (the
 * library module is passed to `build`), so `imix --help` does not load the
 * native addon.
 * @module
 */
import type { View } from '../methods/views';
import { FLOAT32_MAX } from '../util/options';
import { UsageError } from './errors';

/** The library's view constructors the CLI builds from (lib/methods/views.ts, `views.*`). */
export interface ViewLibrary {
  identity(): View;
  inputDrop(p: number): View;
  gaussianNoise(std: number): View;
  randomCrop(pad: number): View;
  horizontalFlip(p: number): View;
  randomCropFlip(pad: number, p: number): View;
  randomResizedCrop(scale: [number, number], ratio: [number, number], flipP: number): View;
  colorJitter(o: { brightness: number; contrast: number; saturation: number; hue: number; p: number }): View;
  randomGrayscale(p: number): View;
  timeShift(maxShift: number): View;
  randomTimeCrop(scale: [number, number]): View;
  amplitudeScale(lo: number, hi: number): View;
  resample(p: number): View;
  compose(...views: View[]): View;
}

/** One view of a `--views` list: its kind and its numeric arguments, in the library view's order. */
export interface ViewStep {
  kind: ViewKindName;
  args: number[];
}

/** What a view needs of the samples: any shape, images `[C, H, W]`, or signals `[C, L]`. */
export type ViewNeeds = 'any' | 'image' | 'signal';

interface ViewKind {
  /** The command-line spelling of the view's name. */
  cli: string;
  /** The library view's name, as its `describe` starts. */
  lib: string;
  needs: ViewNeeds;
  /** The spelling in the usage message. */
  usage: string;
  /** How many numbers the library view takes (and its description shows). */
  arity: number;
  /** Command-line arguments (the strings after the name, split on `:`) → library arguments. */
  parse: (a: string[], spec: string) => number[];
  /** Library arguments → the command-line spelling (every argument written). */
  format: (a: number[]) => string;
  /** The library view. */
  build: (V: ViewLibrary, a: number[]) => View;
}

const bad = (msg: string): never => {
  throw new UsageError(`--views: ${msg}`);
};

function num(s: string, spec: string): number {
  const t = s.trim();
  const v = t === '' ? NaN : Number(t);
  if (!Number.isFinite(v)) bad(`expected a number in '${spec}', got '${s}'`);
  return v + 0; // -0 as 0
}

function arity(a: string[], spec: string, min: number, max: number, usage: string): void {
  if (a.length < min || a.length > max) bad(`'${spec}': expected ${usage}`);
}

function probability(what: string, s: string, spec: string): number {
  const v = num(s, spec);
  if (!(v >= 0 && v <= 1)) bad(`${what} probability must be in [0, 1], got ${s}`);
  return v;
}

/** A `lo:hi` range with `min ≤ lo ≤ hi ≤ max` (and lo > 0 where `positive`). */
function range(what: string, lo: number, hi: number, b: { min: number; max: number; positive?: boolean }): [number, number] {
  if (b.positive ? !(lo > b.min) : !(lo >= b.min)) bad(`${what} must be ${b.positive ? '>' : '>='} ${b.min}, got ${lo}`);
  if (!(hi <= b.max)) bad(`${what} must be at most ${b.max}, got ${hi}`);
  if (!(lo <= hi)) bad(`${what}: the lower end ${lo} is above the upper end ${hi}`);
  return [lo, hi];
}

/** Largest crop padding and time shift (the library's bound). */
const MAX_SHIFT = 2 ** 31 - 1;

function count(what: string, s: string, spec: string): number {
  const v = num(s, spec);
  if (!Number.isInteger(v) || v < 0 || v > MAX_SHIFT) bad(`${what} must be a non-negative integer, got ${s}`);
  return v;
}

/** torchvision's default aspect-ratio range of RandomResizedCrop. */
const RATIO: [number, number] = [3 / 4, 4 / 3];

/**
 * Every view the CLI knows. `cropFlip` and `rrcFlip` are a crop directly
 * followed by a flip (`crop:4+flip`, `rrc:0.2+flip`), fused into one kernel
 * pass and one random stream; they have no spelling of their own.
 */
export const VIEW_KINDS = {
  identity: { cli: 'none', lib: 'identity', needs: 'any', usage: "'none'", arity: 0, parse: (a, s) => (arity(a, s, 0, 0, "'none'"), []), format: () => 'none', build: (V) => V.identity() },
  drop: {
    cli: 'drop',
    lib: 'inputDrop',
    needs: 'any',
    usage: "'drop:P'",
    arity: 1,
    parse: (a, s) => (arity(a, s, 1, 1, "'drop:P' (zero each element with probability P)"), [probability('drop', a[0]!, s)]),
    format: ([p]) => `drop:${p}`,
    build: (V, [p]) => V.inputDrop(p!),
  },
  noise: {
    cli: 'noise',
    lib: 'gaussianNoise',
    needs: 'any',
    usage: "'noise:STD'",
    arity: 1,
    parse: (a, s) => {
      arity(a, s, 1, 1, "'noise:STD' (add Gaussian noise of that standard deviation)");
      const v = num(a[0]!, s);
      if (!(v >= 0)) bad(`noise std must be >= 0, got ${a[0]}`);
      if (v > FLOAT32_MAX) bad(`noise std must be at most ${FLOAT32_MAX} (the largest float32), got ${a[0]}`);
      return [v];
    },
    format: ([sd]) => `noise:${sd}`,
    build: (V, [sd]) => V.gaussianNoise(sd!),
  },
  resample: {
    cli: 'resample',
    lib: 'resample',
    needs: 'any',
    usage: "'resample[:P]'",
    arity: 1,
    // SCARF (Bahri et al., ICLR 2022): their corruption rate 0.6 by default.
    parse: (a, s) => (arity(a, s, 0, 1, "'resample' or 'resample:P' (replace each feature with probability P by the same feature of a random training row, default 0.6)"), [a.length ? probability('resample', a[0]!, s) : 0.6]),
    format: ([p]) => `resample:${p}`,
    build: (V, [p]) => V.resample(p!),
  },
  crop: {
    cli: 'crop',
    lib: 'randomCrop',
    needs: 'image',
    usage: "'crop:PAD'",
    arity: 1,
    parse: (a, s) => {
      if (a.length === 0) bad(`'crop' needs the padding in pixels, e.g. 'crop:4'`);
      arity(a, s, 1, 1, "'crop:PAD' (zero padding in pixels)");
      return [count('crop padding', a[0]!, s)];
    },
    format: ([pad]) => `crop:${pad}`,
    build: (V, [pad]) => V.randomCrop(pad!),
  },
  flip: {
    cli: 'flip',
    lib: 'horizontalFlip',
    needs: 'image',
    usage: "'flip[:P]'",
    arity: 1,
    parse: (a, s) => (arity(a, s, 0, 1, "'flip' or 'flip:P'"), [a.length ? probability('flip', a[0]!, s) : 0.5]),
    format: ([p]) => `flip:${p}`,
    build: (V, [p]) => V.horizontalFlip(p!),
  },
  cropFlip: {
    cli: '',
    lib: 'randomCropFlip',
    needs: 'image',
    usage: '',
    arity: 2,
    parse: () => bad('cropFlip has no spelling of its own: write crop:PAD+flip'),
    format: ([pad, p]) => `crop:${pad}+flip:${p}`,
    build: (V, [pad, p]) => V.randomCropFlip(pad!, p!),
  },
  rrc: {
    cli: 'rrc',
    lib: 'randomResizedCrop',
    needs: 'image',
    usage: "'rrc[:MIN[:MAX]]'",
    arity: 5,
    // Library order: scale lo, scale hi, ratio lo, ratio hi, flip probability.
    parse: (a, s) => {
      arity(a, s, 0, 2, "'rrc', 'rrc:MIN' or 'rrc:MIN:MAX' (random resized crop of MIN–MAX of the area, default 0.08–1)");
      const lo = a.length ? num(a[0]!, s) : 0.08, hi = a.length > 1 ? num(a[1]!, s) : 1;
      return [...range('rrc scale', lo, hi, { min: 0, max: 1, positive: true }), ...RATIO, 0];
    },
    format: ([lo, hi, rlo, rhi, p]) => {
      if (rlo !== RATIO[0] || rhi !== RATIO[1]) bad(`a random resized crop with aspect ratios ${rlo}–${rhi} (not 3/4–4/3) has no --views spelling`);
      return `rrc:${lo}:${hi}` + (p ? `+flip:${p}` : '');
    },
    build: (V, [lo, hi, rlo, rhi, p]) => V.randomResizedCrop([lo!, hi!], [rlo!, rhi!], p!),
  },
  jitter: {
    cli: 'jitter',
    lib: 'colorJitter',
    needs: 'image',
    usage: "'jitter:S[:P]'",
    arity: 5,
    // `jitter:S` is SimCLR's colour distortion of strength S (brightness,
    // contrast, saturation S, hue S/4; the i-Mix paper's CIFAR recipe is
    // jitter:0.4:0.8); `jitter:B,C,S,H` sets each. Library order: b, c, s, h, p.
    parse: (a, s) => {
      arity(a, s, 1, 2, "'jitter:S[:P]' or 'jitter:B,C,S,H[:P]' (colour jitter of strength S, applied with probability P, default 0.8)");
      const w = a[0]!.split(',').map((x) => num(x, s));
      if (w.length !== 1 && w.length !== 4) bad(`'${s}': expected one strength S or four 'B,C,S,H'`);
      const [b, c, sat, hue] = w.length === 1 ? [w[0]!, w[0]!, w[0]!, w[0]! / 4] : (w as [number, number, number, number]);
      for (const [what, v] of [['brightness', b], ['contrast', c], ['saturation', sat]] as const) if (!(v >= 0)) bad(`jitter ${what} must be >= 0, got ${v}`);
      if (!(hue >= 0 && hue <= 0.5)) bad(`jitter hue must be in [0, 0.5], got ${hue}`);
      return [b, c, sat, hue, a.length > 1 ? probability('jitter', a[1]!, s) : 0.8];
    },
    format: ([b, c, sat, hue, p]) => (b === c && c === sat && hue === b! / 4 ? `jitter:${b}:${p}` : `jitter:${b},${c},${sat},${hue}:${p}`),
    build: (V, [b, c, sat, hue, p]) => V.colorJitter({ brightness: b!, contrast: c!, saturation: sat!, hue: hue!, p: p! }),
  },
  gray: {
    cli: 'gray',
    lib: 'randomGrayscale',
    needs: 'image',
    usage: "'gray[:P]'",
    arity: 1,
    parse: (a, s) => (arity(a, s, 0, 1, "'gray' or 'gray:P' (grayscale with probability P, default 0.2)"), [a.length ? probability('gray', a[0]!, s) : 0.2]),
    format: ([p]) => `gray:${p}`,
    build: (V, [p]) => V.randomGrayscale(p!),
  },
  shift: {
    cli: 'shift',
    lib: 'timeShift',
    needs: 'signal',
    usage: "'shift:S'",
    arity: 1,
    parse: (a, s) => (arity(a, s, 1, 1, "'shift:S' (shift each signal by up to S samples, zero-filled)"), [count('shift', a[0]!, s)]),
    format: ([n]) => `shift:${n}`,
    build: (V, [n]) => V.timeShift(n!),
  },
  tcrop: {
    cli: 'tcrop',
    lib: 'randomTimeCrop',
    needs: 'signal',
    usage: "'tcrop[:MIN[:MAX]]'",
    arity: 2,
    parse: (a, s) => {
      arity(a, s, 0, 2, "'tcrop', 'tcrop:MIN' or 'tcrop:MIN:MAX' (random window of MIN–MAX of the length, resampled; default 0.5–1)");
      const lo = a.length ? num(a[0]!, s) : 0.5, hi = a.length > 1 ? num(a[1]!, s) : 1;
      return range('tcrop scale', lo, hi, { min: 0, max: 1, positive: true });
    },
    format: ([lo, hi]) => `tcrop:${lo}:${hi}`,
    build: (V, [lo, hi]) => V.randomTimeCrop([lo!, hi!]),
  },
  scale: {
    cli: 'scale',
    lib: 'amplitudeScale',
    needs: 'signal',
    usage: "'scale:LO:HI'",
    arity: 2,
    parse: (a, s) => {
      arity(a, s, 2, 2, "'scale:LO:HI' (multiply each signal by a factor drawn from [LO, HI])");
      const lo = num(a[0]!, s), hi = num(a[1]!, s);
      if (Math.max(Math.abs(lo), Math.abs(hi)) > FLOAT32_MAX) bad(`scale factors must fit a float32, got ${a.join(':')}`);
      return range('scale', lo, hi, { min: -FLOAT32_MAX, max: FLOAT32_MAX });
    },
    format: ([lo, hi]) => `scale:${lo}:${hi}`,
    build: (V, [lo, hi]) => V.amplitudeScale(lo!, hi!),
  },
} satisfies Record<string, ViewKind>;

/** The name of a view kind of {@link VIEW_KINDS}. */
export type ViewKindName = keyof typeof VIEW_KINDS;

const KINDS = Object.entries(VIEW_KINDS) as Array<[ViewKindName, ViewKind]>;
const kind = (k: ViewKindName): ViewKind => VIEW_KINDS[k];

/** A crop kind directly followed by a flip fuses into: (crop kind, fused kind, where the flip's probability goes). */
const FUSIONS: Array<{ crop: ViewKindName; fused: ViewKindName; at: number }> = [
  { crop: 'crop', fused: 'cropFlip', at: 1 },
  { crop: 'rrc', fused: 'rrc', at: 4 },
];

/** Every view's spelling, for the usage message and `--help`. */
export const VIEW_SPELLINGS: string = KINDS.filter(([, k]) => k.usage)
  .map(([, k]) => k.usage + (k.needs === 'any' ? '' : ` (${k.needs}s)`))
  .join(', ');

/** What a view step needs of the samples. */
export function viewNeeds(s: ViewStep): ViewNeeds {
  return kind(s.kind).needs;
}

/** Whether a view step needs image samples `[C, H, W]`. */
export function isImageView(s: ViewStep): boolean {
  return viewNeeds(s) === 'image';
}

/**
 * Parses a `--views` list: views joined with `+`, applied in order, each
 * `name` or `name:arg[:arg]` (VIEW_KINDS). A crop (`crop:PAD`, `rrc:…`)
 * directly followed by a flip becomes one fused step.
 */
export function parseViews(s: string): ViewStep[] {
  const parts = s.split('+').map((p) => p.trim());
  if (parts.some((p) => p === '')) bad(`empty view in '${s}'`);
  if (parts.length > 16) bad('at most 16 views can be composed');
  const steps = parts.map((p): ViewStep => {
    const [name, ...a] = p.split(':');
    const found = KINDS.find(([, k]) => k.cli !== '' && (k.cli === name || (k.cli === 'none' && name === 'identity')));
    if (!found) bad(`expected views among ${VIEW_SPELLINGS} joined with '+', got '${p}'`);
    const [k, entry] = found!;
    return { kind: k, args: entry.parse(a, p) };
  });
  const out: ViewStep[] = [];
  for (const st of steps) {
    const prev = out[out.length - 1];
    const f = st.kind === 'flip' && prev ? FUSIONS.find((x) => x.crop === prev.kind && (x.crop !== 'rrc' || prev.args[4] === 0)) : undefined;
    if (f && prev) out[out.length - 1] = { kind: f.fused, args: [...prev.args.slice(0, f.at), st.args[0]!] };
    else out.push(st);
  }
  return out;
}

/** The CLI spelling of a view list (inverse of parseViews; every argument is written: `crop:4+flip:0.5`). */
export function formatViews(v: ViewStep[]): string {
  if (v.length === 0) return 'none';
  return v.map((s) => kind(s.kind).format(s.args)).join('+');
}

/** A finite number from a describe string, or null. */
function describedNumber(s: string | undefined): number | null {
  const t = (s ?? '').trim();
  const v = t === '' ? NaN : Number(t);
  return Number.isFinite(v) ? v : null;
}

/**
 * Parses a view as the library describes it in a checkpoint's config
 * (`inputDrop(0.2) ∘ gaussianNoise(0.1)`, `randomCropFlip(4, 0.5)`,
 * `randomResizedCrop(0.2, 1, 0.75, 1.3333333333333333, 0.5)`, `identity`).
 * Returns null for a view the CLI cannot rebuild ('custom', another arity).
 * Separate `randomCrop(4) ∘ horizontalFlip(0.5)` (composed in code) stays
 * two steps, so the rebuilt view draws the same random numbers.
 */
export function viewsFromDescribe(d: unknown): ViewStep[] | null {
  if (typeof d !== 'string') return null;
  const out: ViewStep[] = [];
  for (const part of d.split('∘').map((p) => p.trim())) {
    if (part === 'identity') continue;
    const m = /^(\w+)\(([^)]*)\)$/.exec(part);
    if (!m) return null;
    const args = m[2]!.split(',').map(describedNumber);
    if (args.some((a) => a === null)) return null;
    const found = KINDS.find(([, k]) => k.lib === m[1]);
    if (!found) return null;
    if (args.length !== found[1].arity) return null;
    out.push({ kind: found[0], args: args as number[] });
  }
  return out;
}

/** The library view of a step list: `compose` of the steps in order (the k-th reads stream slot k), `none` dropped. */
export function buildViews(V: ViewLibrary, steps: ViewStep[]): View {
  return V.compose(...steps.filter((s) => s.kind !== 'identity').map((s) => kind(s.kind).build(V, s.args)));
}
