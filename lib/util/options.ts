/**
 * Checks shared by every options object of the public API, and the bounds
 * of hyperparameters the library and the command line both enforce. Plain
 * TypeScript (no native addon), so the CLI's option parsers can use it
 * before the library is loaded.
 * @module
 */
import { ArgumentError } from '../errors';

/** A key spelled for comparison: lower case, without `_`, `-` or spaces (`batch_size` ~ `batchSize`). */
function loose(s: string): string {
  return s.toLowerCase().replace(/[-_\s]/g, '');
}

/** Edit distance counting a swap of two neighbours as one edit (`alpah` ~ `alpha`), stopping once it exceeds `max`. */
function distance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(rows[i - 1]![j]! + 1, cur[j - 1]! + 1, rows[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      cur[j] = d;
      best = Math.min(best, d);
    }
    if (best > max) return max + 1;
    rows.push(cur);
  }
  return rows[a.length]![b.length]!;
}

/**
 * The accepted key `key` was most likely meant as: the same key in another
 * case or with `_`/`-` (`queuesize`, `batch_size`), a near misspelling
 * (`momentm`, `temprature`), or the start of a longer key (`queue` for
 * `queueSize`, `warmup` for `warmupEpochs`). Undefined when none is close.
 */
export function closestKey(key: string, allowed: readonly string[]): string | undefined {
  const k = loose(key);
  if (k === '') return undefined;
  let best: string | undefined, bestScore = Infinity;
  for (const a of allowed) {
    const l = loose(a);
    let score: number;
    if (l === k) score = 0;
    else if (k.length >= 3 && (l.startsWith(k) || k.startsWith(l))) score = 1;
    else {
      // One edit per 4 characters (at least one): `momentm` -> momentum, not `lr` -> `k`.
      const max = Math.max(1, Math.floor(Math.min(k.length, l.length) / 4));
      const d = distance(k, l, max);
      score = d <= max ? 1 + d : Infinity;
    }
    if (score < bestScore) (best = a), (bestScore = score);
  }
  return best;
}

/**
 * An options object may hold only the keys in `allowed`: any other key (a
 * misspelling, or an option of another function or method) is an
 * ArgumentError naming it — ignoring it would run with the default while
 * the caller believes the option took effect. The message starts with the
 * key as an argument path (`argPrefix` + key, e.g. `optimizer.learningRate`),
 * suggests the accepted key it most likely meant, and lists the accepted
 * ones (`what` names the list, e.g. `MoCo options`). Symbol keys and
 * inherited properties are not options and are not checked. Checks only the
 * keys: `obj` must already be known to be an object.
 */
export function checkKeys(obj: object, allowed: readonly string[], argPrefix = '', what?: string): void {
  const unknown = Object.keys(obj).filter((k) => !allowed.includes(k));
  if (unknown.length === 0) return;
  const key = unknown[0]!;
  const guess = closestKey(key, allowed);
  const others = unknown.slice(1).map((k) => argPrefix + k);
  const list = what ?? (argPrefix ? `${argPrefix.replace(/\.$/, '')} options` : 'options');
  throw new ArgumentError(
    `${argPrefix}${key}: unknown option` +
      (guess !== undefined ? `; did you mean '${argPrefix}${guess}'?` : '') +
      (others.length ? ` (also unknown: ${others.join(', ')})` : '') +
      ` (${list}: ${allowed.join(', ')})`,
  );
}

/** An options argument of an op or tensor method: absent, or an object (null and other values are an ArgumentError). */
export function checkOptionsObject(options: unknown, arg = 'options'): void {
  if (options !== undefined && (options === null || typeof options !== 'object'))
    throw new ArgumentError(`${arg}: expected an options object`);
}

/**
 * `obj` is an options object (a non-null, non-array object) with only the
 * `allowed` keys; `undefined` passes (the defaults). `arg` names it in the
 * error (`options`, `knn`, `optimizer`, ...); nested keys are named `arg.key`
 * unless `arg` is `options` (a function's options argument: its keys are
 * named by themselves, as the rest of its errors name them).
 */
export function checkOptions(obj: unknown, allowed: readonly string[], arg = 'options', what?: string): void {
  if (obj === undefined) return;
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
    throw new ArgumentError(`${arg}: expected an options object { ${allowed.join(', ')} }, got ${obj === null ? 'null' : Array.isArray(obj) ? 'an array' : typeof obj}`);
  checkKeys(obj, allowed, arg === 'options' ? '' : `${arg}.`, what);
}

/** The largest finite float32 (kernels take their scalars as float32: a larger value becomes Infinity). */
export const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * The smallest softmax temperature τ. Logits are cosine similarities / τ,
 * and a float32 cosine carries a rounding error of up to ~1.2e-7 (2^-23):
 * at τ = 1e-4 that is ~1e-3 in a logit, but toward τ ≈ 1e-7 the rounding
 * noise reaches a whole logit unit and decides the softmax, and the
 * gradients (∝ 1/τ) overflow the parameters within a step or two (a
 * τ of 1e-30 ends in a NaN loss at the second step). Practical values are
 * 0.05–1.
 */
export const MIN_TEMPERATURE = 1e-4;

/**
 * Bounds of the i-Mix Beta(α, α) concentration for which the λ sampler
 * (Gamma draws in float64) is right. Below ~0.01 both Gamma draws of a
 * Beta draw underflow to 0 (with probability e^(-1488α) for the pair), and
 * λ then comes out as 0.5 instead of near 1 — at α = 0.001 in a fifth of
 * the draws; at 0.01 in ~3e-7 of them. Above ~1e307 the draws overflow
 * and λ comes out as 1 instead of 0.5. Beta(α, α) has standard deviation
 * 1/(2√(2α + 1)), 3.5e-7 at α = 1e12, so nothing beyond that changes λ.
 */
export const MIN_MIX_ALPHA = 0.01;
export const MAX_MIX_ALPHA = 1e12;

/**
 * The longest MoCo queue (keys). 2^24 keys is 64× MoCo's 65536; the queue
 * and the [N, N + K] logits are allocated with the model, so an absurd K
 * must fail with a message naming it, not exhaust memory.
 */
export const MAX_QUEUE_SIZE = 2 ** 24;
/** The most values (queue length × projection width) a MoCo queue holds: 2^30 float32, 4 GiB. */
export const MAX_QUEUE_VALUES = 2 ** 30;

/**
 * Why a MoCo queue of `K` keys cannot train batches of `B` rows (of `rows`
 * rows, when the data is known), or undefined when it can; the message
 * starts with `queueSize:` and quotes settings as `queueSize=N` and
 * `batchSize=N` (the command line names its flags).
 *
 * The queue must hold a batch (K ≥ B), and on data of n rows it must stay
 * shorter than the rest of an epoch (K < n − B): the queue holds the keys of
 * the last K rows trained on, and once it spans n − B of them it reaches
 * back past every other row of the epoch to the current batch's own rows of
 * the previous epoch, so each query meets its positive's earlier copy as a
 * "negative" (on small tables, at every step).
 */
export function mocoQueueProblem(K: number, B: number, rows?: number): string | undefined {
  if (B > K) return `queueSize: the queue (${K} keys) must hold at least one batch (batchSize=${B})`;
  if (rows === undefined || K < rows - B) return undefined;
  const why = `queueSize: a queue of ${K} keys on ${rows} rows reaches the batch's own keys of the previous epoch (it must be shorter than the rows minus a batch, ${rows} - ${B} = ${rows - B})`;
  if (rows - B - 1 >= B) return `${why}; use queueSize=${rows - B - 1} or less`;
  const maxB = Math.floor((rows - 1) / 2);
  return `${why}, and no queue both holds a batch of ${B} and stays below that; use ${maxB >= 2 ? `batchSize=${maxB} or less (with a queue of at least the batch size and below the rows minus the batch size), ` : ''}more rows, or a method without a queue (npair, byol)`;
}

/**
 * The most optimizer steps one run can take (epochs × steps per epoch).
 * Each step's random streams sit at offset (step·16 + purpose)·16, and a
 * composed view reads offset·16 + k of that: below 2^38 steps they stay
 * under the epoch-order streams at 2^50 (and every offset is an exact
 * double), so no two draws of a run share a stream.
 */
export const MAX_STEPS = 2 ** 38;

/**
 * The widest layer a method builds (encoder, projection head, BYOL's
 * predictor). Declared widths are checked before anything is allocated: a
 * typo such as `hidden: [51200000]` must be an error naming it, not an
 * attempt to allocate hundreds of gigabytes.
 */
export const MAX_WIDTH = 2 ** 24;
/** The largest scale of the tabular encoder (its widest layer is 8192·scale wide, at most MAX_WIDTH). */
export const MAX_TABULAR_SCALE = MAX_WIDTH / 8192;
/**
 * The most parameters a method's networks may hold besides the encoder's
 * first layer (whose size grows with the data's features, known only at
 * fit): 2^31 float32 values, 8 GiB — before gradients, optimizer state and
 * MoCo's/BYOL's EMA copy, which take as much again or more. The i-Mix
 * paper's tabular encoder at scale 4 holds ~1.0e9.
 */
export const MAX_PARAMETERS = 2 ** 31;
/** The largest ResNet width multiplier (resnet18 at 64 has 32768-channel layers, 46 G parameters: MAX_PARAMETERS stops it before). */
export const MAX_RESNET_WIDTH = 64;

/** The ResNet encoders (lib/nn/resnet.ts): resnet18 and resnet20 take images `[C, H, W]`, resnet1d signals `[C, L]`. */
export type ResNetKind = 'resnet18' | 'resnet20' | 'resnet1d';
/** @internal Every ResNetKind, for schemas and messages. */
export const RESNET_KINDS = ['resnet18', 'resnet20', 'resnet1d'] as const satisfies readonly ResNetKind[];
/** Whether `kind` names a ResNet encoder. */
export function isResNetKind(kind: unknown): kind is ResNetKind {
  return (RESNET_KINDS as readonly unknown[]).includes(kind);
}

/**
 * The arithmetic of a gemm's products:
 * - `'fp32'` (the default): float32 throughout;
 * - `'bf16'`: every element of both inputs rounded to bfloat16 (to nearest,
 *   ties to even, as PyTorch's `x.bfloat16()`), the products accumulated in
 *   float32; alpha, beta, C and everything outside the gemm stay float32.
 *   Inputs and partial sums below 2^-126 in magnitude count as 0 (the
 *   instruction's flush to zero). CPU only, where `info().bf16.available`
 *   (the avx512 kernel set on a CPU with AVX512_BF16); elsewhere a
 *   DeviceError naming `precision` (`ops.checkPrecision`).
 *
 * bf16 is not faster everywhere: its dot-product instruction (vdpbf16ps)
 * does twice an FMA's work per vector, so it doubles the peak where it issues
 * as often as an FMA (expected on AMD Zen 4/5), but an Intel Emerald Rapids
 * Xeon issues it once per 2 cycles against two FMAs per cycle: there a bf16
 * gemm peaks at half the fp32 rate (docs/architecture.md, "Precision").
 */
export type Precision = 'fp32' | 'bf16';
/** Every {@link Precision} (plain data: the CLI's `--precision` choices). */
export const PRECISIONS = ['fp32', 'bf16'] as const satisfies readonly Precision[];
