/**
 * Argument checks shared by the op wrappers. The native side checks again
 * (it must: it is the last line before raw memory); these give the same
 * typed errors before crossing into C++.
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

/** Validated `[seed, offset]` of a Philox stream options object `{seed, offset?}`. */
export function streamArgs(opts: { seed: number; offset?: number } | undefined, arg = 'opts'): [number, number] {
  if (opts === null || typeof opts !== 'object') throw new ArgumentError(`${arg}: expected an object {seed, offset?}`);
  const seed = checkInt(opts.seed, 'seed', 0, Number.MAX_SAFE_INTEGER);
  const offset = checkInt(opts.offset ?? 0, 'offset', 0, Number.MAX_SAFE_INTEGER);
  return [seed, offset];
}

export { Tensor };
