/**
 * Classic SimCLR (NT-Xent) as a baseline: the 2N normalized projections of
 * both views against each other, logits = z·zᵀ/τ (2N×2N) with the
 * self-similarity diagonal masked, and the other view of the same row as
 * the target. i-Mix uses the N-pair form instead (see NPair).
 * @module
 */
import { ValueError } from '../errors';
import type { Batch, MethodOptions } from './base';
import { SingleNetworkMethod } from './npair';

export class SimCLR extends SingleNetworkMethod {
  readonly name = 'simclr';

  constructor(options: MethodOptions) {
    super(options);
    if (this.mix.kind !== 'none')
      throw new ValueError(`mix: SimCLR's NT-Xent loss is the no-mixing baseline; use NPair for i-Mix (got mix.kind '${this.mix.kind}')`);
  }

  protected trainStep({ x }: Batch): number {
    const { z, dz } = this.embedNormalized(x);
    const loss = this.nce.ntXent(z, dz);
    this.backwardNormalized(dz);
    return loss;
  }
}
