/**
 * BYOL with i-Mix. Online network: encoder f, projector g, predictor h,
 * p = normalize(h(g(f(x̃1)))); target network: an EMA copy of f and g,
 * k = normalize(g′(f′(x2))), no gradient. Loss
 *   mean_i 2 − 2·(λ_i·p_i·k_i + (1−λ_i)·p_i·k_π(i)).
 * The symmetric form adds the same loss with the views swapped (mixed x̃2
 * online, clean x1 as target). The EMA momentum follows the cosine schedule
 * m = 1 − (1 − m0)·(cos(π·t/T) + 1)/2. The target's parameters are the
 * prefix of the online flat buffer, so the EMA is one kernel.
 * @module
 */
import { ValueError } from '../errors';
import { Sequential } from '../nn/layers';
import { MixedCosine } from '../losses/mixed-cosine';
import { L2Normalize } from '../losses/normalize';
import type { Module, ParameterStore } from '../nn/module';
import { mlp, projectionHead } from '../nn/presets';
import * as ops from '../ops/index';
import { emaMomentum } from '../optim/index';
import type { Tensor } from '../tensor';
import { ContrastiveMethod, buildEncoder, encoderFeatures, type Batch, type MethodOptions } from './base';
import { MAX_WIDTH } from '../util/options';

export interface BYOLOptions extends MethodOptions {
  /** Predictor h hidden width; default the projection's hidden width. */
  predictorHidden?: number;
  /** Base EMA momentum m0 (rises to 1 over training); default 0.996. */
  momentum?: number;
  /** Add the view-swapped loss; default false. */
  symmetric?: boolean;
}

/** BYOL's own option keys (the compiler keeps the list complete). */
const BYOL_OPTION_KEYS: { [K in Exclude<keyof BYOLOptions, keyof MethodOptions>]-?: true } = { predictorHidden: true, momentum: true, symmetric: true };

/**
 * The methods that train a predictor h on the online branch against a
 * target branch with the mixed cosine loss (BYOL, SimSiam). A subclass
 * builds `onlineNet` (encoder, projector, predictor: the trained store's
 * module) and `targetNet` (an encoder and projector that get no gradient).
 */
export abstract class PredictorMethod extends ContrastiveMethod {
  /** The mixed cosine loss has no temperature (the option is accepted and unused). */
  protected override readonly usesTemperature = false;
  readonly symmetric: boolean;
  readonly predictorHidden: number;
  protected onlineNet!: Sequential;
  protected targetNet!: Sequential;
  private readonly onlineNorm = new L2Normalize(() => this.device);
  private readonly targetNorm = new L2Normalize(() => this.device);
  private readonly loss: MixedCosine;

  constructor(
    options: MethodOptions & { predictorHidden?: number; symmetric?: boolean },
    ownKeys: readonly string[],
    defaults: { symmetric: boolean; predictorHidden: (projection: [number, number]) => number },
  ) {
    super(options, ownKeys);
    this.symmetric = options.symmetric ?? defaults.symmetric;
    if (typeof this.symmetric !== 'boolean') throw new ValueError(`symmetric: expected a boolean, got ${JSON.stringify(this.symmetric)}`);
    this.predictorHidden = options.predictorHidden ?? defaults.predictorHidden(this.projection);
    if (!Number.isSafeInteger(this.predictorHidden) || this.predictorHidden < 1)
      throw new ValueError(`predictorHidden: expected a positive integer, got ${this.predictorHidden}`);
    if (this.predictorHidden > MAX_WIDTH) throw new ValueError(`predictorHidden: a layer of width ${this.predictorHidden} is wider than ${MAX_WIDTH} (2^24)`);
    this.loss = new MixedCosine({ symmetric: this.symmetric, device: () => this.device });
  }

  /** The predictor h: mlp([D, predictorHidden, D]). */
  protected predictor(): Sequential {
    const D = this.projection[1];
    return mlp([D, this.predictorHidden, D]);
  }

  protected trainStep(batch: Batch): number {
    const { online, target, mix } = this.loss.pairs(batch);
    // The target branch first: it may be the online branch's own modules (SimSiam), and
    // backward must see the activations of the online pass.
    const k = this.targetNorm.forward(this.targetNet.forward(target)); // no gradient
    this.stepEmbeddings = k; // the unmixed target views', for the collapse monitor
    const p = this.onlineNorm.forward(this.onlineNet.forward(online));
    const dp = this.onlineNorm.gradOutput();
    const loss = this.loss.forwardBackward({ p, k, mix, dp, n: batch.n });
    this.onlineNet.backward(this.onlineNorm.backward(dp), false);
    return loss;
  }

  protected override extraConfig(): Record<string, unknown> {
    return { symmetric: this.symmetric, predictorHidden: this.predictorHidden };
  }

  override dispose(): void {
    this.onlineNorm.dispose();
    this.targetNorm.dispose();
    this.loss.dispose();
    super.dispose();
  }
}

export class BYOL extends PredictorMethod {
  readonly name = 'byol';
  readonly baseMomentum: number;
  private target!: ParameterStore;

  constructor(options: BYOLOptions) {
    super(options, Object.keys(BYOL_OPTION_KEYS), { symmetric: false, predictorHidden: (projection) => projection[0] });
    const m = options.momentum ?? 0.996;
    if (typeof m !== 'number' || !(m >= 0 && m <= 1)) throw new ValueError(`momentum: expected a number in [0, 1], got ${m}`);
    this.baseMomentum = m;
  }

  protected buildNetworks(sampleShape: readonly number[]): void {
    this.encoder = buildEncoder(this.encoderSpec, sampleShape);
    const f = encoderFeatures(this.encoder, sampleShape);
    const encoderAndProjector: Array<[string, Module]> = [
      ['encoder', this.encoder],
      ['projector', projectionHead(f, this.projection[0], this.projection[1])],
    ];
    this.onlineNet = Sequential.named([...encoderAndProjector, ['predictor', this.predictor()]]);
    this.targetNet = Sequential.named(encoderAndProjector.map(([n, m]) => [n, m.clone()]));
    this.online = this.newStore(this.onlineNet);
    this.target = this.newStore(this.targetNet);
    this.syncTarget(0);
  }

  /** θ′ ← m·θ′ + (1−m)·θ over the target's prefix of the online buffer; BN statistics copied. */
  private syncTarget(m: number): void {
    ops.ema(this.target.params, this.online.params.view(0, [this.target.params.numel]), m);
    this.target.buffers.copyFrom(this.online.buffers.view(0, [this.target.buffers.numel]));
  }

  protected override syncCopies(): void {
    this.syncTarget(0);
  }

  protected override beforeStep(schedule: { step: number; total: number }): void {
    this.syncTarget(emaMomentum(this.baseMomentum, schedule.step, schedule.total));
  }

  protected override stateTensors(): Record<string, Tensor<'float32'>> {
    return { ...super.stateTensors(), 'target.params': this.target.params, 'target.buffers': this.target.buffers };
  }
  protected override extraConfig(): Record<string, unknown> {
    return { momentum: this.baseMomentum, ...super.extraConfig() };
  }

  protected override releaseNetworks(): void {
    this.target?.dispose();
    super.releaseNetworks();
  }
}
