/**
 * Training-state kernels: EMA of a flat parameter buffer, and MoCo's FIFO key queue.
 * @module
 */
import { native } from '../native';
import type { Tensor } from '../tensor';
import { h } from './util';

/**
 * Exponential moving average over a whole buffer, in place:
 * `target ← m·target + (1−m)·source`.
 */
export function ema(target: Tensor<'float32'>, source: Tensor<'float32'>, momentum: number): void {
  native.ema(h(target, 'target'), h(source, 'source'), momentum);
}

/**
 * Copies `keys` [N, D] into the ring `queue` [K, D] at row `ptr`, wrapping
 * past the end. Returns the new pointer `(ptr + N) mod K`.
 */
export function queueEnqueue(queue: Tensor<'float32'>, keys: Tensor<'float32'>, ptr: number): number {
  return native.queueEnqueue(h(queue, 'queue'), h(keys, 'keys'), ptr);
}
