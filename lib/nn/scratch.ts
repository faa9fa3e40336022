/**
 * Scratch memory the convolution kernels need (im2col columns, per-thread
 * partial weight gradients), shared by every convolution on a device.
 *
 * Kernels run one after another (synchronously on the CPU, in stream order
 * on CUDA), and none keeps its scratch between calls, so one buffer per
 * device serves all layers: a ResNet needs the largest layer's scratch, not
 * the sum over layers. It grows to the largest request and then stays, so
 * training allocates nothing per step.
 * @internal
 * @module
 */
import { Tensor, type Device } from '../tensor';

const buffers = new Map<string, Tensor<'float32'>>();

/** A float32 tensor of at least `floats` elements on `device`, or null when none are needed. */
export function scratch(device: Device, floats: number): Tensor<'float32'> | null {
  if (floats <= 0) return null;
  const key = String(device);
  const have = buffers.get(key);
  if (have && !have.disposed && have.numel >= floats) return have;
  have?.dispose();
  const t = Tensor.zeros([floats], { device });
  buffers.set(key, t);
  return t;
}

/** Frees the scratch of every device (the next convolution allocates again). */
export function releaseScratch(): void {
  for (const t of buffers.values()) t.dispose();
  buffers.clear();
}
