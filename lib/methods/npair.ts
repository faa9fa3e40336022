/**
 * N-pair / SimCLR in the i-Mix paper's form: one encoder; the (mixed) query
 * batch and the clean key batch go through it together as one 2N batch
 * (shared BatchNorm statistics);
 *   logits = q·kᵀ/τ  (N×N, cross-view only), target of row i is column i,
 * and with i-Mix the soft target λ_i·e_i + (1−λ_i)·e_π(i).
 * @module
 */
import type { Module } from '../nn/module';
import type { Sequential } from '../nn/layers';
import { InfoNCE } from '../losses/infonce';
import { L2Normalize } from '../losses/normalize';
import type { Tensor } from '../tensor';
import { type Batch, ContrastiveMethod, type MethodOptions } from './base';

/** Shared by NPair and SimCLR: encoder + projection head over the 2N batch, L2 normalize, InfoNCE. */
export abstract class SingleNetworkMethod extends ContrastiveMethod {
  protected net!: Sequential;
  protected readonly norm = new L2Normalize(() => this.device);
  protected readonly nce: InfoNCE;

  constructor(options: MethodOptions) {
    super(options);
    this.nce = new InfoNCE({ temperature: this.temperature, device: () => this.device });
  }

  protected buildNetworks(sampleShape: readonly number[]): void {
    this.net = this.encoderWithHead(sampleShape);
    this.online = this.newStore(this.net);
  }

  /** z = normalize(g(f(x))) for the whole [2N, F] batch, and the buffer for dL/dz. */
  protected embedNormalized(x: Tensor<'float32'>): { z: Tensor<'float32'>; dz: Tensor<'float32'> } {
    const z = this.norm.forward(this.net.forward(x));
    const n = z.shape[0]! / 2;
    this.stepEmbeddings = z.rows(n, 2 * n); // the clean key view's, for the collapse monitor
    return { z, dz: this.norm.gradOutput() };
  }

  /** Backward from dL/dz (the buffer embedNormalized gave) through the normalization, head and encoder. */
  protected backwardNormalized(dz: Tensor<'float32'>): void {
    this.net.backward(this.norm.backward(dz), false);
  }

  override dispose(): void {
    this.norm.dispose();
    this.nce.dispose();
    super.dispose();
  }
}

export class NPair extends SingleNetworkMethod {
  readonly name = 'npair';

  constructor(options: MethodOptions) {
    super(options);
  }

  protected trainStep({ n, x, mix }: Batch): number {
    const { z, dz } = this.embedNormalized(x);
    const loss = this.nce.forwardBackward({ q: z.rows(0, n), k: z.rows(n, 2 * n), mix, dq: dz.rows(0, n), dk: dz.rows(n, 2 * n) });
    this.backwardNormalized(dz);
    return loss;
  }
}

export type { Module };
