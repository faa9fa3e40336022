/**
 * A memory bank of past keys (MoCo's queue): a FIFO ring of K rows of D
 * values on the device and its write pointer.
 * @module
 */
import { ShapeError, ValueError } from '../errors';
import * as ops from '../ops/index';
import { Tensor, type Device } from '../tensor';

/** Where the bank's initial random rows come from: a Philox stream. */
export interface BankInit {
  seed: number;
  offset: number;
}

/**
 * K past keys [K, D], oldest overwritten first. It starts as K random unit
 * rows (standard normal draws from the Philox stream `init`, L2-normalized,
 * as MoCo initializes its queue); {@link enqueue} writes a batch of keys at
 * the pointer, wrapping around the end, and advances it. A loss reads
 * {@link keys} as negatives (they take no gradient).
 *
 * It is state, not math: it belongs with the networks (a checkpoint saves
 * it, {@link stateTensors} / {@link stateScalars}), and any loss can take
 * its keys.
 */
export class MemoryBank {
  /** The keys, [size, dim]. Row order is the ring's, not age. */
  readonly keys: Tensor<'float32'>;
  /** The checkpoint name of the keys; the pointer's is `${name}Ptr`. Default 'queue'. */
  readonly name: string;
  private ptr_ = 0;

  constructor(
    readonly size: number,
    readonly dim: number,
    options: { device?: Device; init: BankInit; name?: string },
  ) {
    for (const [v, arg] of [
      [size, 'size'],
      [dim, 'dim'],
    ] as const)
      if (!Number.isSafeInteger(v) || v < 1) throw new ValueError(`${arg}: expected a positive integer, got ${String(v)}`);
    this.name = options.name ?? 'queue';
    this.keys = Tensor.zeros([size, dim], { device: options.device ?? 'cpu' });
    const norms = Tensor.zeros([size], { device: options.device ?? 'cpu' });
    try {
      ops.randNormal(this.keys, { seed: options.init.seed, offset: options.init.offset });
      ops.l2Normalize(this.keys, this.keys, norms);
    } catch (e) {
      this.keys.dispose();
      throw e;
    } finally {
      norms.dispose();
    }
  }

  /** The row the next enqueue writes first. */
  get ptr(): number {
    return this.ptr_;
  }

  /** Writes the rows of `batch` [N, dim] (N ≤ size) at the pointer, wrapping, and advances it by N (mod size). */
  enqueue(batch: Tensor<'float32'>): void {
    this.ptr_ = ops.queueEnqueue(this.keys, batch, this.ptr_);
  }

  /** The tensors a checkpoint saves: `{ [name]: keys }`. */
  stateTensors(): Record<string, Tensor<'float32'>> {
    return { [this.name]: this.keys };
  }
  /** The scalars a checkpoint saves: `{ [name + 'Ptr']: ptr }`. */
  stateScalars(): Record<string, number> {
    return { [`${this.name}Ptr`]: this.ptr_ };
  }
  /**
   * Restores the pointer from a checkpoint's scalars (the keys are restored
   * with the other state tensors). A pointer outside the bank is a
   * ShapeError and changes nothing.
   */
  loadScalars(scalars: Record<string, number>): void {
    const key = `${this.name}Ptr`, p = scalars[key];
    if (!Number.isInteger(p) || p! < 0 || p! >= this.size) throw new ShapeError(`${key}: ${p} does not fit a ${this.name} of ${this.size}`);
    this.ptr_ = p!;
  }

  dispose(): void {
    this.keys.dispose();
  }
}
