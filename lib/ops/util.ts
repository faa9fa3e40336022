/**
 * Argument checks shared by the op wrappers.
 *
 * Scalars are validated on one side of N-API: the native one. Every binding
 * checks its own arguments (type, finiteness, range, integrality) and throws
 * the typed error naming the argument — it must, it is the last line before
 * raw memory, and it is fuzzed without these wrappers. A wrapper checks a
 * scalar itself only where the binding cannot see or would name it
 * differently:
 *
 * - what only the wrapper has: option objects (`{seed, offset}`, a CutMix
 *   box, optimizer segments), a number the binding receives under another
 *   name (mixup's `lam` is the binding's `lamScalar`, horizontalFlip's `p`
 *   its `flipP`), a null the binding would read as "not given";
 * - where the wrapper's message is the better one (it prints the value as
 *   given, `1.5 is outside [0, 1]`, where the binding prints
 *   `1.500000 is outside [0.000000, 1.000000]`), which callers and tests
 *   rely on.
 * @internal
 * @module
 */
import { ArgumentError, ValueError } from '../errors';
import type { NativeTensor } from '../native';
import { Tensor, requireLive } from '../tensor';

/** The native handle of a live tensor argument. */
export function h(t: Tensor, arg: string): NativeTensor {
  requireLive(t, arg);
  return t.handle;
}

/** The native handle of an optional tensor argument, or null. */
export function hOpt(t: Tensor | null | undefined, arg: string): NativeTensor | null {
  return t == null ? null : h(t, arg);
}

/** An options argument: absent, or an object (null and other values are an ArgumentError). */
export { checkOptionsObject as checkOptions } from '../util/options';

/** A boolean. */
export function checkBool(v: unknown, arg: string): boolean {
  if (typeof v !== 'boolean') throw new ArgumentError(`${arg}: expected a boolean, got ${typeof v}`);
  return v;
}

/** A finite number, optionally within [lo, hi]. */
export function checkNumber(v: unknown, arg: string, lo = -Infinity, hi = Infinity): number {
  if (typeof v !== 'number') throw new ArgumentError(`${arg}: expected a number, got ${typeof v}`);
  if (!Number.isFinite(v)) throw new ValueError(`${arg}: expected a finite number, got ${v}`);
  if (v < lo || v > hi) throw new ValueError(`${arg}: ${v} is outside [${lo}, ${hi}]`);
  return v;
}

/** An integer, optionally within [lo, hi]. */
export function checkInt(v: unknown, arg: string, lo = -Infinity, hi = Infinity): number {
  checkNumber(v, arg);
  if (!Number.isInteger(v)) throw new ValueError(`${arg}: expected an integer, got ${v}`);
  return checkNumber(v, arg, lo, hi);
}

/**
 * `[seed, offset]` of a Philox stream options object `{seed, offset?}`: the
 * object and the seed are checked here (the seed's range message is the one
 * callers know), the offset by the binding (a non-negative integer below 2⁵³).
 */
export function streamArgs(opts: { seed: number; offset?: number } | undefined, arg = 'opts'): [number, number] {
  if (opts === null || typeof opts !== 'object') throw new ArgumentError(`${arg}: expected an object {seed, offset?}`);
  const seed = checkInt(opts.seed, 'seed', 0, Number.MAX_SAFE_INTEGER);
  return [seed, opts.offset ?? 0];
}

/**
 * `[h, w]` of a 2-d size option (a number for both axes or an `[h, w]` pair;
 * `dflt` for both when absent). The values themselves are checked by the binding.
 */
export function pair(v: number | readonly [number, number] | undefined, dflt: number, arg: string): [number, number] {
  if (v === undefined) return [dflt, dflt];
  if (Array.isArray(v)) {
    if (v.length !== 2) throw new ArgumentError(`${arg}: expected a number or an [h, w] pair, got ${v.length} values`);
    return [v[0] as number, v[1] as number];
  }
  return [v as number, v as number];
}

export { Tensor };
