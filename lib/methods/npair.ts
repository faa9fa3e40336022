/**
 * N-pair / SimCLR in the i-Mix paper's form: one encoder; the (mixed) query
 * batch and the clean key batch go through it together as one 2N batch
 * (shared BatchNorm statistics);
 *   logits = q·kᵀ/τ  (N×N, cross-view only), target of row i is column i,
 * and with i-Mix the soft target λ_i·e_i + (1−λ_i)·e_π(i).
 * @module
 */
import { Workspace, ParameterStore, type Module } from '../nn/module';
import type { Sequential } from '../nn/layers';
import * as ops from '../ops/index';
import type { Tensor } from '../tensor';
import { type Batch, ContrastiveMethod, type MethodOptions } from './base';

/** Shared by NPair and SimCLR: encoder + projection head over the 2N batch, then L2 normalize. */
export abstract class SingleNetworkMethod extends ContrastiveMethod {
  protected net!: Sequential;
  protected readonly ws = new Workspace(() => this.device);

  protected buildNetworks(inFeatures: number): void {
    this.net = this.encoderWithHead(inFeatures);
    this.online = new ParameterStore(this.net, { seed: this.seed, device: this.device });
  }

  /** z = normalize(g(f(x))) for the whole [2N, F] batch; returns (zn, norms). */
  protected embedNormalized(x: Tensor<'float32'>): { zn: Tensor<'float32'>; norms: Tensor<'float32'> } {
    const z = this.net.forward(x);
    const zn = this.ws.get('zn', z.shape), norms = this.ws.get('norms', [z.shape[0]!]);
    ops.l2Normalize(z, zn, norms);
    return { zn, norms };
  }

  /** Backward from dL/dzn through the normalization, head and encoder. */
  protected backwardNormalized(dzn: Tensor<'float32'>, zn: Tensor<'float32'>, norms: Tensor<'float32'>): void {
    const dz = this.ws.get('dz', zn.shape);
    ops.l2NormalizeBackward(dzn, zn, norms, dz);
    this.net.backward(dz, false);
  }

  override dispose(): void {
    this.ws.clear();
    super.dispose();
  }
}

export class NPair extends SingleNetworkMethod {
  readonly name = 'npair';

  constructor(options: MethodOptions) {
    super(options);
  }

  protected trainStep({ n, x, mix }: Batch): number {
    const inv = 1 / this.temperature;
    const { zn, norms } = this.embedNormalized(x);
    const q = zn.rows(0, n), k = zn.rows(n, 2 * n);
    const logits = this.ws.get('logits', [n, n]);
    ops.gemm(q, k, logits, { transB: true, alpha: inv });
    // Fused soft-target cross-entropy; logits now hold dL/dlogits (mean over rows).
    const sum = ops.mixedCrossEntropy(logits, { perm: mix?.perm, lam: mix?.lam, scale: 1 / n });
    const dzn = this.ws.get('dzn', zn.shape);
    ops.gemm(logits, k, dzn.rows(0, n), { alpha: inv }); // dq = dlogits·k/τ
    ops.gemm(logits, q, dzn.rows(n, 2 * n), { transA: true, alpha: inv }); // dk = dlogitsᵀ·q/τ
    this.backwardNormalized(dzn, zn, norms);
    return sum / n;
  }
}

export type { Module };
