/**
 * SimSiam (Chen & He, "Exploring Simple Siamese Representation Learning",
 * CVPR 2021) with i-Mix: BYOL without the momentum encoder. One network,
 * encoder f, projector g (the projection head with BatchNorm on its
 * output, as the paper's), predictor h;
 *   p = normalize(h(g(f(x̃1)))),   k = normalize(g(f(x2))) with stop-gradient
 * (the same f and g, no EMA copy), and BYOL's mixed cosine loss
 *   mean_i 2 − 2·(λ_i·p_i·k_i + (1−λ_i)·p_i·k_π(i)),
 * symmetrized by default as in the paper (mixed x̃2 online, clean x1 as
 * target added). Without i-Mix, λ = 1: 2 − 2·cos(p_i, k_i), the paper's
 * D(p, stopgrad(z)) = −cos up to the affine map 2 + 2·D.
 * @module
 */
import { Sequential } from '../nn/layers';
import { mlp } from '../nn/presets';
import { buildEncoder, encoderFeatures, type MethodOptions } from './base';
import { PredictorMethod } from './byol';

export interface SimSiamOptions extends MethodOptions {
  /** Predictor h hidden width; default projection[1] / 4 (the paper's bottleneck, 512 for 2048). */
  predictorHidden?: number;
  /** Add the view-swapped loss (the paper's symmetrized loss); default true. */
  symmetric?: boolean;
}

/** SimSiam's own option keys (the compiler keeps the list complete). */
const SIMSIAM_OPTION_KEYS: { [K in Exclude<keyof SimSiamOptions, keyof MethodOptions>]-?: true } = { predictorHidden: true, symmetric: true };

export class SimSiam extends PredictorMethod {
  readonly name = 'simsiam';

  constructor(options: SimSiamOptions) {
    super(options, Object.keys(SIMSIAM_OPTION_KEYS), { symmetric: true, predictorHidden: (projection) => Math.max(1, Math.round(projection[1] / 4)) });
  }

  /**
   * Online: encoder, projector, predictor (the trained store). Target: the
   * same encoder and projector, run forward only (stop-gradient), before the
   * online pass. The projector is Linear → BN → ReLU → Linear → BN without
   * affine parameters (BatchNorm on its output, as the paper's).
   */
  protected buildNetworks(sampleShape: readonly number[]): void {
    this.encoder = buildEncoder(this.encoderSpec, sampleShape);
    const projector = mlp([encoderFeatures(this.encoder, sampleShape), this.projection[0], this.projection[1]], { lastBatchNorm: true });
    this.targetNet = Sequential.named([
      ['encoder', this.encoder],
      ['projector', projector],
    ]);
    this.onlineNet = Sequential.named([
      ['encoder', this.encoder],
      ['projector', projector],
      ['predictor', this.predictor()],
    ]);
    this.online = this.newStore(this.onlineNet);
  }
}
