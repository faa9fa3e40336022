/**
 * Classic SimCLR (NT-Xent) as a baseline: the 2N normalized projections of
 * both views against each other, logits = z·zᵀ/τ (2N×2N) with the
 * self-similarity diagonal masked, and the other view of the same row as
 * the target. i-Mix uses the N-pair form instead (see NPair).
 * @module
 */
import { ValueError } from '../errors';
import * as ops from '../ops/index';
import { Tensor } from '../tensor';
import type { Batch, MethodOptions } from './base';
import { SingleNetworkMethod } from './npair';

/** A logit low enough that exp() underflows to exactly 0 (masks self-similarity). */
const MASKED = -1e9;

export class SimCLR extends SingleNetworkMethod {
  readonly name = 'simclr';
  private targets: Tensor<'int32'> | null = null;

  constructor(options: MethodOptions) {
    super(options);
    if (this.mix.kind !== 'none')
      throw new ValueError(`mix: SimCLR's NT-Xent loss is the no-mixing baseline; use NPair for i-Mix (got mix.kind '${this.mix.kind}')`);
  }

  protected trainStep({ n, x }: Batch): number {
    const n2 = 2 * n;
    const inv = 1 / this.temperature;
    if (!this.targets || this.targets.numel !== n2) {
      this.targets?.dispose();
      this.targets = Tensor.from(Int32Array.from({ length: n2 }, (_, i) => (i + n) % n2), [n2], { device: this.device });
    }
    const { zn, norms } = this.embedNormalized(x);
    const logits = this.ws.get('logits', [n2, n2]);
    ops.gemm(zn, zn, logits, { transB: true, alpha: inv });
    logits.view(0, [n2], [n2 + 1]).fill(MASKED);
    const sum = ops.mixedCrossEntropy(logits, { targets: this.targets, scale: 1 / n2 });
    // logits = Z·Zᵀ/τ is symmetric in Z: dZ = (G + Gᵀ)·Z/τ with G = dL/dlogits.
    const dzn = this.ws.get('dzn', zn.shape);
    ops.gemm(logits, zn, dzn, { alpha: inv });
    ops.gemm(logits, zn, dzn, { transA: true, alpha: inv, beta: 1 });
    this.backwardNormalized(dzn, zn, norms);
    return sum / n2;
  }

  override dispose(): void {
    this.targets?.dispose();
    super.dispose();
  }
}
