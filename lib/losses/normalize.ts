/**
 * Row-wise L2 normalization as a piece with a forward and a backward, the
 * step between a network's output and every loss here (they take unit
 * rows): y_i = x_i / max(‖x_i‖, ε) and dx_i = (dy_i − y_i·(y_i·dy_i)) / max(‖x_i‖, ε).
 * @module
 */
import { ShapeError } from '../errors';
import { Workspace } from '../nn/module';
import * as ops from '../ops/index';
import type { Device, Tensor } from '../tensor';

/**
 * Normalizes the rows of a [N, D] matrix and takes the gradient back
 * through the normalization. It owns its output, the norms the backward
 * needs, a buffer for dL/dy and dL/dx: allocated for the first batch of a
 * shape and reused by every later one (nothing is allocated per step).
 *
 * ```ts
 * import { nn, losses, Tensor } from 'imix';
 * const net = nn.mlp([6, 16, 4]);
 * new nn.ParameterStore(net);
 * const norm = new losses.L2Normalize(() => 'cpu');
 * const z = norm.forward(net.forward(Tensor.from(Array.from({ length: 8 * 6 }, Math.random), [8, 6]))); // unit rows
 * const dz = norm.gradOutput(); // a loss writes dL/dz here
 * dz.fill(0.1);
 * net.backward(norm.backward(dz), false);
 * ```
 */
export class L2Normalize {
  private readonly ws: Workspace;
  private y: Tensor<'float32'> | null = null;
  private norms: Tensor<'float32'> | null = null;

  constructor(device: () => Device) {
    this.ws = new Workspace(device);
  }

  /** y = x / max(‖x‖, ε) per row. The result belongs to this piece; the next forward overwrites it. */
  forward(x: Tensor<'float32'>): Tensor<'float32'> {
    if (x.ndim !== 2) throw new ShapeError(`x: expected a [rows, features] matrix, got [${x.shape.join(', ')}]`);
    this.y = this.ws.get('y', x.shape);
    this.norms = this.ws.get('norms', [x.shape[0]!]);
    ops.l2Normalize(x, this.y, this.norms);
    return this.y;
  }

  /** A buffer shaped like the last output, for a loss to write dL/dy into (owned by this piece). */
  gradOutput(): Tensor<'float32'> {
    return this.ws.get('dy', this.output().shape);
  }

  /** dL/dx for the last forward, given dL/dy. The result belongs to this piece. */
  backward(dy: Tensor<'float32'>): Tensor<'float32'> {
    const y = this.output();
    const dx = this.ws.get('dx', y.shape);
    ops.l2NormalizeBackward(dy, y, this.norms!, dx);
    return dx;
  }

  private output(): Tensor<'float32'> {
    if (!this.y) throw new ShapeError('backward: L2Normalize needs a forward first');
    return this.y;
  }

  /** Frees the buffers (a later forward allocates them again). */
  dispose(): void {
    this.ws.clear();
    this.y = this.norms = null;
  }
}
